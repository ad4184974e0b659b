//! A STIX 2.1 bundle → a [`Threat`] with target specs.
//!
//! Mapping (docs/standards.md has the full table):
//! - `report` → title, description portions, `published` → received, `confidence` → credibility;
//! - `threat-actor` / `intrusion-set` / `campaign` → the actor (first found, in that order);
//! - `attack-pattern` (and report text) → harms, by keyword;
//! - `targets` relationships → one target spec per victim: `identity` → named target (or a class
//!   target for `identity_class: class`), with the `location` it is `located-at` as its area;
//!   `location` → area (lat/lon + precision → circle, else city/region → named area);
//!   `infrastructure` → named target;
//! - `indicator` patterns comparing `ipv4-addr:value`, `ipv6-addr:value`, `domain-name:value`
//!   → [`NetworkIndicator`]s;
//! - `marking-definition` (TLP 1.0/2.0, `statement` holding a classification banner or portion
//!   mark), `object_marking_refs` and `granular_markings` → the portion mark of each fact.
//!
//! Markings fail closed: a reference to a marking Tocsin cannot read is an error, never ignored
//! (an unread marking could be the one that forbids release). Every object Tocsin does not
//! interpret is returned in [`StixIntake::unknown_objects`].

use super::{tlp_of_marking_id, StixError, StixIssue};
use chrono::{DateTime, Utc};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use tocsin_core::entity::{DomainName, Footprint, IpNet};
use tocsin_core::marking::parse_mark;
use tocsin_core::threat::{Area, Credibility, Harm, Portion};
use tocsin_core::{
    Category, CountryCode, GeoPoint, PortionMark, TargetSpec, Threat, ThreatId, ThreatWindow,
    Timestamp, TlpLevel,
};

/// Choices the bundle itself cannot make.
#[derive(Debug, Clone)]
pub struct StixOptions {
    /// Country of the service the bundle comes from (REL TO and ORCON decisions).
    pub originator: CountryCode,
    /// Window length when the bundle states none (indicator validity, campaign dates).
    pub default_window_hours: i64,
    /// `received` when the bundle has no report `published`/`created` time.
    pub received: Option<Timestamp>,
    /// All or nothing: any invalid object, or any marking Tocsin cannot read, refuses the whole
    /// bundle. Otherwise invalid objects are skipped (listed in [`StixIntake::skipped`]) and
    /// unreadable markings make what they mark releasable to nobody.
    pub strict: bool,
}

impl StixOptions {
    pub fn new(originator: CountryCode) -> Self {
        Self {
            originator,
            default_window_hours: tocsin_core::time::IMMINENT_HOURS,
            received: None,
            strict: false,
        }
    }
}

/// An object left out of the threat, and why.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Skipped {
    /// The object's id (`objects[i]` when it has none).
    pub id: String,
    pub reason: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NetworkKind {
    Ipv4,
    Ipv6,
    Domain,
}

/// A network observable from an indicator pattern: a network target (IP, CIDR or domain).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct NetworkIndicator {
    pub kind: NetworkKind,
    /// An address, a CIDR block (`192.0.2.0/24`) or a domain name, as written in the pattern.
    pub value: String,
    /// The indicator it came from.
    pub indicator_id: String,
    pub mark: PortionMark,
}

/// The result of reading a bundle.
#[derive(Debug, Clone, PartialEq)]
pub struct StixIntake {
    pub threat: Threat,
    pub indicators: Vec<NetworkIndicator>,
    /// Objects Tocsin does not interpret, kept whole (custom types, sightings, malware, …).
    pub unknown_objects: Vec<Value>,
    /// What was read loosely, for the analyst (never silent).
    pub notes: Vec<String>,
    /// Invalid objects left out (never in strict mode, which refuses the bundle instead).
    pub skipped: Vec<Skipped>,
}

#[derive(Debug, Clone, Default)]
struct MarkingDef {
    tlp: Option<TlpLevel>,
    mark: Option<PortionMark>,
    /// A marking Tocsin cannot read: what it marks is releasable to nobody.
    unreadable: bool,
}

impl MarkingDef {
    fn tlp(t: TlpLevel) -> Self {
        Self {
            tlp: Some(t),
            ..Self::default()
        }
    }
}

/// The strictest mark there is: what an unreadable marking covers goes to no audience Tocsin
/// composes for (TLP:RED, TOP SECRET with SCI, NOFORN, ORCON, REL TO nobody).
fn releasable_to_nobody() -> PortionMark {
    PortionMark {
        classification: tocsin_core::Classification::TS,
        sci: [
            tocsin_core::marking::SciControl::SI,
            tocsin_core::marking::SciControl::TK,
            tocsin_core::marking::SciControl::HCS,
        ]
        .into_iter()
        .collect(),
        fouo: false,
        cui: false,
        noforn: true,
        orcon: true,
        rel_to: Some(BTreeSet::new()),
        tlp: Some(TlpLevel::Red),
    }
}

/// PAP (Permissible Actions Protocol) level of a marking definition, if it is one: the
/// `definition_type` `pap`, a `pap` property in an extension, or a `PAP:…` name.
fn pap_level(o: &Value) -> Option<String> {
    let from_def = (str_field(o, "definition_type") == Some("pap"))
        .then(|| o.get("definition").and_then(|d| str_field(d, "pap")))
        .flatten();
    let from_ext = o
        .get("extensions")
        .and_then(Value::as_object)
        .and_then(|e| e.values().find_map(|x| str_field(x, "pap")));
    let from_name = str_field(o, "name").and_then(|n| {
        n.trim()
            .strip_prefix("PAP:")
            .or(n.trim().strip_prefix("pap:"))
    });
    from_def
        .or(from_ext)
        .or(from_name)
        .map(|l| l.trim().to_ascii_uppercase())
        .filter(|l| ["CLEAR", "WHITE", "GREEN", "AMBER", "RED"].contains(&l.as_str()))
}

struct Ctx<'a> {
    issues: Vec<StixIssue>,
    by_id: BTreeMap<&'a str, &'a Value>,
    markings: BTreeMap<&'a str, MarkingDef>,
    strict: bool,
    notes: Vec<String>,
}

impl Ctx<'_> {
    fn issue(&mut self, object: &str, field: &str, message: impl Into<String>) {
        self.issues.push(StixIssue {
            object: object.to_owned(),
            field: field.to_owned(),
            message: message.into(),
        });
    }
}

const SDO_TYPES: &[&str] = &[
    "attack-pattern",
    "campaign",
    "course-of-action",
    "grouping",
    "identity",
    "incident",
    "indicator",
    "infrastructure",
    "intrusion-set",
    "location",
    "malware",
    "malware-analysis",
    "note",
    "observed-data",
    "opinion",
    "report",
    "threat-actor",
    "tool",
    "vulnerability",
    "relationship",
    "sighting",
];

/// Types whose content becomes part of the threat.
const INTERPRETED: &[&str] = &[
    "report",
    "threat-actor",
    "intrusion-set",
    "campaign",
    "attack-pattern",
    "identity",
    "location",
    "infrastructure",
    "indicator",
    "marking-definition",
    "note",
    "course-of-action",
];

fn str_field<'v>(o: &'v Value, k: &str) -> Option<&'v str> {
    o.get(k).and_then(Value::as_str)
}

fn parse_time(s: &str) -> Option<Timestamp> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// `type--uuid` with a well-formed UUID.
fn valid_id(id: &str, ty: &str) -> bool {
    match id.split_once("--") {
        Some((t, u)) => t == ty && uuid::Uuid::parse_str(u).is_ok() && u.len() == 36,
        None => false,
    }
}

/// A statement such as `SECRET//REL TO USA, RUS` (banner form) or `(S//REL TO USA, RUS)`.
fn statement_mark(statement: &str) -> Option<PortionMark> {
    let s = statement.trim();
    if let Ok(m) = parse_mark(s) {
        return Some(m);
    }
    let mut b = s.to_owned();
    for (long, short) in [
        ("TOP SECRET", "TS"),
        ("SECRET", "S"),
        ("CONFIDENTIAL", "C"),
        ("UNCLASSIFIED", "U"),
        ("NOFORN", "NF"),
        ("ORCON", "OC"),
    ] {
        b = b.replace(long, short);
    }
    parse_mark(&format!("({b})")).ok()
}

fn combine(into: &mut PortionMark, def: &MarkingDef) {
    if def.unreadable {
        *into = releasable_to_nobody();
        return;
    }
    if let Some(t) = def.tlp {
        into.tlp = Some(into.tlp.map_or(t, |x| x.max(t)));
    }
    if let Some(m) = &def.mark {
        into.classification = into.classification.max(m.classification);
        into.sci.extend(m.sci.iter().copied());
        into.fouo |= m.fouo;
        into.cui |= m.cui && !into.fouo;
        into.noforn |= m.noforn;
        into.orcon |= m.orcon;
        into.rel_to = match (into.rel_to.take(), &m.rel_to) {
            (Some(a), Some(b)) => Some(a.intersection(b).copied().collect()),
            (a, b) => a.or_else(|| b.clone()),
        };
        if let Some(t) = m.tlp {
            into.tlp = Some(into.tlp.map_or(t, |x| x.max(t)));
        }
    }
}

/// Read a bundle (or a TAXII envelope: an object with `objects`).
pub fn parse_bundle(text: &str, opts: &StixOptions) -> Result<StixIntake, StixError> {
    let root: Value = serde_json::from_str(text).map_err(|e| {
        StixError(vec![StixIssue {
            object: "bundle".into(),
            field: "(document)".into(),
            message: format!("not JSON: line {} column {}: {e}", e.line(), e.column()),
        }])
    })?;
    if opts.strict {
        return read(&root, opts);
    }
    read_lenient(root, opts)
}

/// Skip the objects a problem names and read again, until what is left is valid. Problems of the
/// bundle itself (not JSON, no `objects`) and a bundle with nothing usable left are errors.
fn read_lenient(mut root: Value, opts: &StixOptions) -> Result<StixIntake, StixError> {
    let bundle_id = str_field(&root, "id").unwrap_or("bundle").to_owned();
    let mut skipped: Vec<Skipped> = Vec::new();
    let mut all_issues: Vec<StixIssue> = Vec::new();
    // Each round removes at least one object, so this ends; the bound only guards the cost.
    for _ in 0..64 {
        let issues = match read(&root, opts) {
            Ok(mut intake) => {
                let t = &intake.threat;
                if !skipped.is_empty()
                    && t.targets.is_empty()
                    && t.portions.is_empty()
                    && intake.indicators.is_empty()
                {
                    return Err(StixError(all_issues));
                }
                intake.skipped = skipped;
                return Ok(intake);
            }
            Err(StixError(issues)) => issues,
        };
        let Some(objects) = root.get_mut("objects").and_then(Value::as_array_mut) else {
            return Err(StixError(issues));
        };
        let mut drop_ids: BTreeSet<String> = BTreeSet::new();
        let mut drop_index: BTreeSet<usize> = BTreeSet::new();
        for i in &issues {
            if i.object == bundle_id && i.field != "id" {
                return Err(StixError(issues.clone()));
            }
            let reason = format!("{}: {}", i.field, i.message);
            match skipped.iter_mut().find(|s| s.id == i.object) {
                Some(s) => {
                    if !s.reason.contains(&reason) {
                        s.reason = format!("{}; {reason}", s.reason);
                    }
                }
                None => skipped.push(Skipped {
                    id: i.object.clone(),
                    reason,
                }),
            }
            match i
                .object
                .strip_prefix("objects[")
                .and_then(|r| r.strip_suffix(']'))
                .and_then(|n| n.parse::<usize>().ok())
            {
                Some(n) => {
                    drop_index.insert(n);
                }
                None => {
                    drop_ids.insert(i.object.clone());
                }
            }
        }
        all_issues.extend(issues);
        let before = objects.len();
        let mut n = 0;
        objects.retain(|o| {
            let keep = !drop_index.contains(&n)
                && !str_field(o, "id").is_some_and(|id| drop_ids.contains(id));
            n += 1;
            keep
        });
        if objects.len() == before || objects.is_empty() {
            return Err(StixError(all_issues));
        }
    }
    Err(StixError(all_issues))
}

fn read(root: &Value, opts: &StixOptions) -> Result<StixIntake, StixError> {
    let bundle_id = str_field(root, "id").unwrap_or("bundle").to_owned();
    let Some(objects) = root.get("objects").and_then(Value::as_array) else {
        let field = if root.is_object() {
            "objects"
        } else {
            "(document)"
        };
        return Err(StixError(vec![StixIssue {
            object: bundle_id,
            field: field.into(),
            message: "expected a bundle: a JSON object with an `objects` array".into(),
        }]));
    };
    if let Some(t) = root.get("type") {
        if t.as_str() != Some("bundle") {
            return Err(StixError(vec![StixIssue {
                object: bundle_id,
                field: "type".into(),
                message: format!("expected \"bundle\", found {t}"),
            }]));
        }
    }
    let mut cx = Ctx {
        issues: Vec::new(),
        by_id: BTreeMap::new(),
        markings: BTreeMap::new(),
        strict: opts.strict,
        notes: Vec::new(),
    };
    let mut notes = Vec::new();
    // STIX 2.1 bundles carry no `spec_version`; 2.0 bundles carry "2.0" (and their objects none,
    // which STIX 2.1 §3.2 reads as 2.0). The properties Tocsin reads mean the same in both, so
    // the bundle is read, and the analyst told.
    if let Some(v) = root.get("spec_version") {
        notes.push(format!(
            "the bundle declares spec_version {v} (a STIX 2.0 bundle; 2.1 bundles carry none): its objects are read by their STIX 2.1 meaning"
        ));
    }

    // Pass 1: the common properties of every object; index by id (latest version wins).
    let mut valid: Vec<&Value> = Vec::new();
    for (i, o) in objects.iter().enumerate() {
        let Some(map) = o.as_object() else {
            cx.issue(&format!("objects[{i}]"), "(object)", "not a JSON object");
            continue;
        };
        let Some(ty) = map.get("type").and_then(Value::as_str) else {
            let who = str_field(o, "id")
                .map(str::to_owned)
                .unwrap_or_else(|| format!("objects[{i}]"));
            cx.issue(&who, "type", "missing or not a string");
            continue;
        };
        let Some(id) = map.get("id").and_then(Value::as_str) else {
            cx.issue(
                &format!("objects[{i}]"),
                "id",
                format!("missing or not a string (object of type {ty})"),
            );
            continue;
        };
        if !valid_id(id, ty) {
            cx.issue(id, "id", format!("must be `{ty}--` followed by a UUID"));
            continue;
        }
        if let Some(v) = map.get("spec_version") {
            if v.as_str() != Some("2.1") {
                cx.issue(id, "spec_version", format!("expected \"2.1\", found {v}"));
            }
        }
        let mut ok = true;
        for f in ["created", "modified"] {
            let required =
                SDO_TYPES.contains(&ty) || (f == "created" && ty == "marking-definition");
            match map.get(f) {
                Some(Value::String(s)) if parse_time(s).is_some() => {}
                Some(v) => {
                    cx.issue(id, f, format!("not an RFC 3339 timestamp: {v}"));
                    ok = false;
                }
                None if required => {
                    cx.issue(id, f, "required property is missing");
                    ok = false;
                }
                None => {}
            }
        }
        if !ok {
            continue;
        }
        let newer = match cx.by_id.get(id) {
            Some(prev) => {
                str_field(o, "modified").and_then(parse_time)
                    > str_field(prev, "modified").and_then(parse_time)
            }
            None => true,
        };
        if newer {
            cx.by_id.insert(id, o);
        }
    }
    valid.extend(cx.by_id.values().copied());
    // Keep the bundle's order for everything that follows (first report, first actor…).
    let order: BTreeMap<*const Value, usize> = objects
        .iter()
        .enumerate()
        .map(|(i, o)| (o as *const Value, i))
        .collect();
    valid.sort_by_key(|o| {
        order
            .get(&(*o as *const Value))
            .copied()
            .unwrap_or(usize::MAX)
    });

    // Pass 2: marking definitions.
    for o in valid
        .iter()
        .filter(|o| str_field(o, "type") == Some("marking-definition"))
    {
        let id = str_field(o, "id").unwrap_or_default();
        let mut def = MarkingDef {
            tlp: tlp_of_marking_id(id),
            ..MarkingDef::default()
        };
        if let Some(level) = pap_level(o) {
            // PAP says what a recipient may do with the information, not who may receive it.
            notes.push(format!(
                "{id}: PAP:{level} (permissible actions) recorded; it restricts no release"
            ));
            cx.markings.insert(id, def);
            continue;
        }
        if let Some(exts) = o.get("extensions").and_then(Value::as_object) {
            for ext in exts.values() {
                if let Some(level) = str_field(ext, "tlp_2_0") {
                    match TlpLevel::from_level_name(&level.to_ascii_uppercase()) {
                        Some(l) => def.tlp = Some(l),
                        None => cx.issue(
                            id,
                            "extensions.tlp_2_0",
                            format!("unknown TLP 2.0 level {level:?}"),
                        ),
                    }
                }
            }
        }
        let dtype = str_field(o, "definition_type");
        let definition = o.get("definition");
        match dtype {
            Some("tlp") => {
                let level = definition
                    .and_then(|d| str_field(d, "tlp"))
                    .unwrap_or_default()
                    .to_ascii_uppercase();
                let level = if level == "WHITE" {
                    "CLEAR".to_owned()
                } else {
                    level
                };
                match TlpLevel::from_level_name(&level) {
                    Some(l) => def.tlp = Some(l),
                    None => cx.issue(id, "definition.tlp", format!("unknown TLP level {level:?}")),
                }
            }
            Some("statement") => {
                let st = definition
                    .and_then(|d| str_field(d, "statement"))
                    .unwrap_or_default();
                match statement_mark(st) {
                    Some(m) => def.mark = Some(m),
                    // A statement that is no classification (copyright, terms of use) restricts
                    // nothing Tocsin enforces; it is kept as a note for the analyst.
                    None => notes.push(format!(
                        "{id}: statement marking {st:?} is not a classification; recorded only"
                    )),
                }
            }
            _ => {}
        }
        if def.tlp.is_none() && def.mark.is_none() && dtype != Some("statement") {
            if cx.strict {
                cx.issue(id, "definition", "a marking Tocsin cannot read (neither TLP nor a statement); refusing to guess what it allows");
            } else {
                notes.push(format!(
                    "{id}: a marking Tocsin cannot read ({}); what it marks is releasable to nobody",
                    str_field(o, "name")
                        .or(dtype)
                        .unwrap_or("neither TLP nor a statement")
                ));
                def.unreadable = true;
            }
        }
        cx.markings.insert(id, def);
    }

    // Pass 3: validate marking references and granular selectors on every object, and the
    // coordinates of every location (targeted or not: a wrong bundle is wrong everywhere).
    for o in &valid {
        let id = str_field(o, "id").unwrap_or_default();
        if str_field(o, "type") == Some("location") {
            for (f, max) in [("latitude", 90.0), ("longitude", 180.0)] {
                match o.get(f) {
                    Some(v) if !v.as_f64().is_some_and(|x| (-max..=max).contains(&x)) => cx.issue(
                        id,
                        f,
                        format!("must be a number in [-{max}, {max}], found {v}"),
                    ),
                    _ => {}
                }
            }
        }
        if let Some(refs) = o.get("object_marking_refs") {
            match refs.as_array() {
                Some(list) => {
                    for (j, r) in list.iter().enumerate() {
                        check_marking_ref(&mut cx, id, &format!("object_marking_refs[{j}]"), r);
                    }
                }
                None => cx.issue(
                    id,
                    "object_marking_refs",
                    "expected a list of marking-definition ids",
                ),
            }
        }
        if let Some(g) = o.get("granular_markings") {
            let Some(list) = g.as_array() else {
                cx.issue(id, "granular_markings", "expected a list");
                continue;
            };
            for (j, gm) in list.iter().enumerate() {
                let path = format!("granular_markings[{j}]");
                match gm.get("marking_ref") {
                    Some(r) => check_marking_ref(&mut cx, id, &format!("{path}.marking_ref"), r),
                    None if gm.get("lang").is_some() => {}
                    None => cx.issue(
                        id,
                        &format!("{path}.marking_ref"),
                        "missing (a granular marking needs marking_ref or lang)",
                    ),
                }
                match gm.get("selectors").and_then(Value::as_array) {
                    Some(sel) if !sel.is_empty() => {
                        for (k, s) in sel.iter().enumerate() {
                            let root = s.as_str().map(|s| s.split(['.', '[']).next().unwrap_or(""));
                            if root.is_none_or(|r| o.get(r).is_none()) {
                                cx.issue(
                                    id,
                                    &format!("{path}.selectors[{k}]"),
                                    format!("selector {s} does not name a property of this object"),
                                );
                            }
                        }
                    }
                    _ => cx.issue(id, &format!("{path}.selectors"), "missing or empty"),
                }
            }
        }
    }

    let mark_of = |cx: &Ctx<'_>, o: &Value, field: Option<&str>| -> PortionMark {
        let mut m = PortionMark::unclassified();
        let refs = o
            .get("object_marking_refs")
            .and_then(Value::as_array)
            .into_iter()
            .flatten();
        for r in refs.filter_map(Value::as_str) {
            if let Some(def) = cx.markings.get(r) {
                combine(&mut m, def);
            } else if let Some(t) = tlp_of_marking_id(r) {
                combine(&mut m, &MarkingDef::tlp(t));
            } else {
                combine(
                    &mut m,
                    &MarkingDef {
                        unreadable: true,
                        ..MarkingDef::default()
                    },
                );
            }
        }
        if let Some(field) = field {
            for gm in o
                .get("granular_markings")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let hits = gm
                    .get("selectors")
                    .and_then(Value::as_array)
                    .is_some_and(|s| {
                        s.iter().filter_map(Value::as_str).any(|s| {
                            s == field
                                || s.starts_with(&format!("{field}."))
                                || s.starts_with(&format!("{field}["))
                        })
                    });
                if let (true, Some(r)) = (hits, str_field(gm, "marking_ref")) {
                    if let Some(def) = cx.markings.get(r) {
                        combine(&mut m, def);
                    } else if let Some(t) = tlp_of_marking_id(r) {
                        combine(&mut m, &MarkingDef::tlp(t));
                    } else {
                        combine(
                            &mut m,
                            &MarkingDef {
                                unreadable: true,
                                ..MarkingDef::default()
                            },
                        );
                    }
                }
            }
        }
        m
    };

    fn of_type_in<'s, 'v>(
        valid: &'s [&'v Value],
        ty: &'static str,
    ) -> impl Iterator<Item = &'v Value> + Clone + 's {
        valid
            .iter()
            .copied()
            .filter(move |o| str_field(o, "type") == Some(ty))
    }
    let valid_ref: Vec<&Value> = valid.clone();
    let of_type = |ty: &'static str| of_type_in(&valid_ref, ty);

    // Relationships.
    let mut rels: Vec<(&str, &str, &str)> = Vec::new();
    let mut unknown: Vec<Value> = Vec::new();
    for o in of_type("relationship") {
        let id = str_field(o, "id").unwrap_or_default();
        let (rt, src, dst) = (
            str_field(o, "relationship_type"),
            str_field(o, "source_ref"),
            str_field(o, "target_ref"),
        );
        let (Some(rt), Some(src), Some(dst)) = (rt, src, dst) else {
            for (f, v) in [
                ("relationship_type", rt),
                ("source_ref", src),
                ("target_ref", dst),
            ] {
                if v.is_none() {
                    cx.issue(id, f, "required property is missing or not a string");
                }
            }
            continue;
        };
        if matches!(rt, "targets" | "located-at") {
            for (f, r) in [("source_ref", src), ("target_ref", dst)] {
                if !cx.by_id.contains_key(r) {
                    notes.push(format!(
                        "{id}: {f} {r} is not in the bundle; relationship not used"
                    ));
                }
            }
            rels.push((src, rt, dst));
        } else {
            unknown.push((*o).clone());
        }
    }

    // Report, actor, harms.
    let report = of_type("report").next();
    if of_type("report").count() > 1 {
        notes.push("the bundle has several reports; the first one is the threat, the others are kept as unknown objects".into());
        unknown.extend(of_type("report").skip(1).cloned());
    }
    let actor_obj = of_type("threat-actor")
        .next()
        .or_else(|| of_type("intrusion-set").next())
        .or_else(|| of_type("campaign").next());
    let actor = actor_obj
        .and_then(|a| str_field(a, "name"))
        .map(str::to_owned);
    let actor_mark = actor_obj
        .map(|a| mark_of(&cx, a, Some("name")))
        .unwrap_or_else(PortionMark::unclassified);

    let mut harm_text = String::new();
    for o in of_type("attack-pattern").chain(report) {
        for f in ["name", "description"] {
            harm_text.push_str(str_field(o, f).unwrap_or_default());
            harm_text.push(' ');
        }
    }
    let harms = harms_from_text(&harm_text);

    let received = report
        .and_then(|r| str_field(r, "published").or_else(|| str_field(r, "created")))
        .and_then(parse_time)
        .or(opts.received)
        .or_else(|| {
            valid
                .iter()
                .filter_map(|o| str_field(o, "created").and_then(parse_time))
                .min()
        })
        .unwrap_or(DateTime::<Utc>::UNIX_EPOCH);

    let credibility = match report
        .and_then(|r| r.get("confidence"))
        .and_then(Value::as_i64)
    {
        Some(c) if c >= 85 => Credibility::Confirmed,
        Some(c) if c >= 50 => Credibility::Probable,
        _ => Credibility::Possible,
    };

    // Indicators → network observables.
    let mut indicators = Vec::new();
    let mut from_candidates: Vec<Timestamp> = Vec::new();
    let mut until_candidates: Vec<Timestamp> = Vec::new();
    for o in of_type("indicator") {
        let id = str_field(o, "id").unwrap_or_default();
        if let Some(t) = str_field(o, "valid_from").and_then(parse_time) {
            from_candidates.push(t);
        }
        if let Some(t) = str_field(o, "valid_until").and_then(parse_time) {
            until_candidates.push(t);
        }
        let ptype = str_field(o, "pattern_type").unwrap_or("stix");
        let Some(pattern) = str_field(o, "pattern") else {
            cx.issue(
                id,
                "pattern",
                "required property is missing or not a string",
            );
            continue;
        };
        if ptype != "stix" {
            notes.push(format!(
                "{id}: pattern_type {ptype:?} is not interpreted; indicator kept as unknown"
            ));
            unknown.push(o.clone());
            continue;
        }
        match network_observables(pattern) {
            Ok(found) if found.is_empty() => unknown.push(o.clone()),
            Ok(found) => {
                let mark = mark_of(&cx, o, Some("pattern"));
                indicators.extend(found.into_iter().map(|(kind, value)| NetworkIndicator {
                    kind,
                    value,
                    indicator_id: id.to_owned(),
                    mark: mark.clone(),
                }));
            }
            Err(msg) => cx.issue(id, "pattern", msg),
        }
    }
    for o in of_type("campaign")
        .chain(of_type("intrusion-set"))
        .chain(of_type("threat-actor"))
    {
        if let Some(t) = str_field(o, "first_seen").and_then(parse_time) {
            from_candidates.push(t);
        }
        if let Some(t) = str_field(o, "last_seen").and_then(parse_time) {
            until_candidates.push(t);
        }
    }
    let from = from_candidates
        .iter()
        .copied()
        .filter(|t| *t >= received)
        .min()
        .unwrap_or(received);
    let window = until_candidates
        .iter()
        .copied()
        .max()
        .and_then(|u| ThreatWindow::new(from, u).ok())
        .unwrap_or_else(|| ThreatWindow::imminent(from, opts.default_window_hours));

    // Targets.
    let located: BTreeMap<&str, &str> = rels
        .iter()
        .filter(|r| r.1 == "located-at")
        .map(|r| (r.0, r.2))
        .collect();
    let victims: Vec<&str> = {
        let mut seen = BTreeSet::new();
        rels.iter()
            .filter(|r| r.1 == "targets")
            .map(|r| r.2)
            .filter(|v| seen.insert(*v))
            .collect()
    };
    let mut targets = Vec::new();
    for v in victims {
        let Some(o) = cx.by_id.get(v).copied() else {
            continue;
        };
        let ty = str_field(o, "type").unwrap_or_default();
        let mark = mark_of(&cx, o, Some("name"));
        match ty {
            "identity" | "infrastructure" => {
                let Some(name) = str_field(o, "name") else {
                    cx.issue(v, "name", "required property is missing");
                    continue;
                };
                let is_class = str_field(o, "identity_class") == Some("class");
                let sectors: Vec<String> = o
                    .get("sectors")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect();
                let categories: Vec<Category> =
                    sectors.iter().filter_map(|s| sector_category(s)).collect();
                for s in sectors
                    .iter()
                    .filter(|s| !INDUSTRY_SECTORS.contains(&s.as_str()))
                {
                    notes.push(format!(
                        "{v}: sector {s:?} is not in the STIX 2.1 industry-sector vocabulary; compared as written"
                    ));
                }
                let area = match located.get(v).and_then(|l| cx.by_id.get(l).copied()) {
                    Some(loc) => location_area(&mut cx, loc),
                    None => None,
                };
                let mut mark = mark;
                if let Some(loc) = located.get(v).and_then(|l| cx.by_id.get(l).copied()) {
                    combine(
                        &mut mark,
                        &MarkingDef {
                            mark: Some(mark_of(&cx, loc, None)),
                            ..MarkingDef::default()
                        },
                    );
                }
                // Sectors Tocsin's taxonomy knows become categories; others stay sector tags (a
                // spec needs every descriptor to hold, so the two are not mixed).
                let mut footprint = Footprint::EMPTY;
                if categories.is_empty() {
                    footprint.sectors = sectors;
                }
                if is_class
                    && categories.is_empty()
                    && footprint.sectors.is_empty()
                    && area.is_none()
                {
                    notes.push(format!(
                        "{v}: class target {name:?} has no sector and no location; not matched"
                    ));
                    continue;
                }
                targets.push(TargetSpec {
                    label: name.to_owned(),
                    mark,
                    name: (!is_class).then(|| name.to_owned()),
                    categories,
                    min_size: None,
                    area,
                    window: None,
                    footprint,
                });
            }
            "location" => {
                if let Some(area) = location_area(&mut cx, o) {
                    let label = str_field(o, "name")
                        .map(str::to_owned)
                        .unwrap_or_else(|| area.describe());
                    targets.push(TargetSpec {
                        label,
                        mark,
                        name: None,
                        categories: vec![],
                        min_size: None,
                        area: Some(area),
                        window: None,
                        footprint: Footprint::EMPTY,
                    });
                }
            }
            other => notes.push(format!("{v}: a {other} as a target is not interpreted")),
        }
    }

    // Network indicators: one network target spec per indicator object.
    let mut by_indicator: BTreeMap<&str, Vec<&NetworkIndicator>> = BTreeMap::new();
    for ind in &indicators {
        by_indicator
            .entry(ind.indicator_id.as_str())
            .or_default()
            .push(ind);
    }
    for (iid, inds) in by_indicator {
        let mut footprint = Footprint::EMPTY;
        for ind in &inds {
            match ind.kind {
                NetworkKind::Ipv4 | NetworkKind::Ipv6 => match IpNet::parse(&ind.value) {
                    Ok(n) => footprint.networks.push(n),
                    Err(e) => cx.issue(iid, "pattern", e.to_string()),
                },
                NetworkKind::Domain => match DomainName::parse(&ind.value) {
                    Ok(d) => footprint.domains.push(d),
                    Err(e) => cx.issue(iid, "pattern", e.to_string()),
                },
            }
        }
        let name = cx
            .by_id
            .get(iid)
            .and_then(|o| str_field(o, "name"))
            .map(str::to_owned);
        let values: Vec<&str> = inds.iter().map(|i| i.value.as_str()).collect();
        let label = name.unwrap_or_else(|| format!("networks {}", values.join(", ")));
        targets.push(TargetSpec {
            label,
            mark: inds[0].mark.clone(),
            name: None,
            categories: vec![],
            min_size: None,
            area: None,
            window: None,
            footprint,
        });
    }

    if !cx.issues.is_empty() {
        return Err(StixError(cx.issues));
    }

    // Portions: the report's description (by paragraph), then notes.
    let mut portions = Vec::new();
    if let Some(r) = report {
        let mark = mark_of(&cx, r, Some("description"));
        for para in str_field(r, "description")
            .unwrap_or_default()
            .split("\n\n")
            .map(str::trim)
            .filter(|p| !p.is_empty())
        {
            portions.push(Portion {
                mark: mark.clone(),
                text: para.to_owned(),
                tearline: false,
                lang: None,
                line: 0,
            });
        }
    }
    for n in of_type("note") {
        if let Some(c) = str_field(n, "content") {
            portions.push(Portion {
                mark: mark_of(&cx, n, Some("content")),
                text: c.trim().to_owned(),
                tearline: false,
                lang: None,
                line: 0,
            });
        }
    }
    let measures: Vec<String> = of_type("course-of-action")
        .filter_map(|c| str_field(c, "name"))
        .map(str::to_owned)
        .collect();

    let tlp = valid
        .iter()
        .filter(|o| str_field(o, "type") != Some("marking-definition"))
        .filter_map(|o| mark_of(&cx, o, None).tlp)
        .max();
    let key = report
        .or(actor_obj)
        .and_then(|o| str_field(o, "id"))
        .unwrap_or(&bundle_id);
    let uuid = key.split_once("--").map(|(_, u)| u).unwrap_or(key);
    let title = report
        .and_then(|r| str_field(r, "name"))
        .map(str::to_owned)
        .or_else(|| actor.as_ref().map(|a| format!("Threat by {a}")))
        .unwrap_or_else(|| "Threat from a STIX bundle".to_owned());

    for o in &valid {
        let ty = str_field(o, "type").unwrap_or_default();
        if !INTERPRETED.contains(&ty) && ty != "relationship" {
            unknown.push((*o).clone());
        }
    }
    let threat = Threat {
        id: ThreatId::new(format!("stix-{uuid}")),
        title,
        originator: opts.originator,
        received,
        actor,
        actor_mark,
        harms,
        credibility,
        window,
        public_advice_hours: opts.default_window_hours,
        targets,
        portions,
        restricted_terms: Vec::new(),
        tlp,
        measures,
    };
    notes.append(&mut cx.notes);
    Ok(StixIntake {
        threat,
        indicators,
        unknown_objects: unknown,
        notes,
        skipped: Vec::new(),
    })
}

fn check_marking_ref(cx: &mut Ctx<'_>, id: &str, field: &str, r: &Value) {
    match r.as_str() {
        Some(s) if cx.markings.contains_key(s) || tlp_of_marking_id(s).is_some() => {}
        Some(s) if cx.strict => cx.issue(id, field, format!("marking definition {s} is neither in the bundle nor a TLP marking; refusing to guess what it allows")),
        Some(s) => cx.notes.push(format!("{id}: {field}: marking definition {s} is neither in the bundle nor a TLP marking; the object is releasable to nobody")),
        None => cx.issue(id, field, "expected a marking-definition id"),
    }
}

fn location_area(cx: &mut Ctx<'_>, o: &Value) -> Option<Area> {
    let id = str_field(o, "id").unwrap_or_default().to_owned();
    let (lat, lon) = (
        o.get("latitude").and_then(Value::as_f64),
        o.get("longitude").and_then(Value::as_f64),
    );
    match (lat, lon) {
        (Some(lat), Some(lon)) => match GeoPoint::new(lat, lon) {
            Ok(center) => {
                // `precision` is in metres; without it a point is taken as a 1 km circle.
                let radius_km = o
                    .get("precision")
                    .and_then(Value::as_f64)
                    .filter(|p| p.is_finite() && *p > 0.0)
                    .map(|p| p / 1000.0)
                    .unwrap_or(1.0);
                return Some(Area::Circle { center, radius_km });
            }
            // Already reported by the coordinate check of every location.
            Err(_) => return None,
        },
        (Some(_), None) | (None, Some(_)) => {
            cx.issue(
                &id,
                if lat.is_none() {
                    "latitude"
                } else {
                    "longitude"
                },
                "latitude and longitude must be given together",
            );
            return None;
        }
        (None, None) => {}
    }
    for f in ["city", "administrative_area", "name", "region", "country"] {
        if let Some(s) = str_field(o, f).filter(|s| !s.trim().is_empty()) {
            return Some(Area::Named {
                name: s.trim().to_owned(),
            });
        }
    }
    cx.issue(
        &id,
        "latitude",
        "a location needs latitude/longitude, a city, a region or a country",
    );
    None
}

/// The STIX 2.1 `industry-sector-ov` open vocabulary.
const INDUSTRY_SECTORS: &[&str] = &[
    "agriculture",
    "aerospace",
    "automotive",
    "chemical",
    "commercial",
    "communications",
    "construction",
    "defense",
    "education",
    "energy",
    "entertainment",
    "financial-services",
    "government",
    "government-emergency-services",
    "government-local",
    "government-national",
    "government-public-services",
    "government-regional",
    "healthcare",
    "hospitality-leisure",
    "infrastructure",
    "infrastructure-dams",
    "infrastructure-nuclear",
    "infrastructure-water",
    "insurance",
    "manufacturing",
    "mining",
    "non-profit",
    "pharmaceuticals",
    "retail",
    "technology",
    "telecommunications",
    "transportation",
    "utilities",
];

/// STIX industry sectors Tocsin's taxonomy knows.
fn sector_category(s: &str) -> Option<Category> {
    let c = match s {
        "entertainment" => "venue/entertainment",
        "government"
        | "government-national"
        | "government-regional"
        | "government-local"
        | "government-public-services" => "organisation/government",
        "education" => "venue/education",
        "healthcare" => "venue/healthcare",
        "transportation" | "aviation" => "venue/transport",
        "hospitality-leisure" => "venue/hospitality",
        "religion" | "religious" => "place_of_worship",
        _ => return None,
    };
    Category::parse(c).ok()
}

/// Harms by keyword in attack-pattern and report text.
pub(crate) fn harms_from_text(text: &str) -> Vec<Harm> {
    let t = text.to_lowercase();
    let rules: &[(&[&str], Harm)] = &[
        (
            &[
                "kill",
                "shoot",
                "firearm",
                "gunmen",
                "armed attack",
                "mass-casualty",
                "mass casualty",
                "assassinat",
            ],
            Harm::Killing,
        ),
        (
            &["injur", "stabbing", "vehicle ramming"],
            Harm::SeriousInjury,
        ),
        (&["kidnap", "abduct"], Harm::Kidnapping),
        (&["hostage"], Harm::HostageTaking),
        (
            &["bomb", "explosive", "incendiar", "arson", "ied"],
            Harm::ArsonBombing,
        ),
        (&["ransomware"], Harm::Ransomware),
        (&["wiper", "destructive"], Harm::DestructiveAttack),
        (
            &["denial of service", "denial-of-service", "ddos", "disrupt"],
            Harm::DisruptionOfEssentialServices,
        ),
    ];
    let words: Vec<&str> = t
        .split(|c: char| !c.is_alphanumeric() && c != '-')
        .collect();
    rules
        .iter()
        .filter(|(keys, _)| {
            keys.iter().any(|k| {
                if *k == "ied" {
                    words.contains(&"ied")
                } else {
                    t.contains(k)
                }
            })
        })
        .map(|(_, h)| *h)
        .collect()
}

/// Network observables compared for equality in a STIX pattern. Errors name what is wrong.
fn network_observables(pattern: &str) -> Result<Vec<(NetworkKind, String)>, String> {
    let p = pattern.trim();
    if !p.starts_with('[') {
        return Err("a STIX pattern starts with `[`".into());
    }
    let mut depth = 0i32;
    let mut in_str = false;
    let mut prev = '\0';
    for c in p.chars() {
        match c {
            '\'' if prev != '\\' => in_str = !in_str,
            '[' if !in_str => depth += 1,
            ']' if !in_str => {
                depth -= 1;
                if depth < 0 {
                    return Err("unbalanced `]`".into());
                }
            }
            _ => {}
        }
        prev = c;
    }
    if depth != 0 || in_str {
        return Err(if in_str {
            "unterminated string literal".into()
        } else {
            "unbalanced `[`".into()
        });
    }
    let mut out = Vec::new();
    for (prefix, kind) in [
        ("ipv4-addr:value", NetworkKind::Ipv4),
        ("ipv6-addr:value", NetworkKind::Ipv6),
        ("domain-name:value", NetworkKind::Domain),
    ] {
        let mut rest = p;
        while let Some(at) = rest.find(prefix) {
            rest = &rest[at + prefix.len()..];
            let after = rest.trim_start();
            let Some(after) = after.strip_prefix('=') else {
                // Other operators (ISSUBSET, MATCHES, !=) are not a single network target.
                continue;
            };
            let after = after.trim_start();
            let Some(lit) = after.strip_prefix('\'') else {
                return Err(format!("{prefix} must be compared with a quoted string"));
            };
            let Some(end) = lit.find('\'') else {
                return Err("unterminated string literal".into());
            };
            let value = &lit[..end];
            check_value(kind, value).map_err(|m| format!("{prefix} = '{value}': {m}"))?;
            out.push((kind, value.to_owned()));
            rest = &lit[end + 1..];
        }
    }
    // A URL's host is the network target: a domain or an address (`url:value = 'https://a.b/x'`).
    let prefix = "url:value";
    let mut rest = p;
    while let Some(at) = rest.find(prefix) {
        rest = &rest[at + prefix.len()..];
        let Some(after) = rest.trim_start().strip_prefix('=') else {
            continue;
        };
        let Some(lit) = after.trim_start().strip_prefix('\'') else {
            return Err(format!("{prefix} must be compared with a quoted string"));
        };
        let Some(end) = lit.find('\'') else {
            return Err("unterminated string literal".into());
        };
        let value = &lit[..end];
        out.push(url_host(value).map_err(|m| format!("{prefix} = '{value}': {m}"))?);
        rest = &lit[end + 1..];
    }
    Ok(out)
}

/// The host of an absolute URL (`scheme://[user@]host[:port][/…]`) as a network observable.
fn url_host(url: &str) -> Result<(NetworkKind, String), &'static str> {
    let Some((scheme, after)) = url.split_once("://") else {
        return Err("not an absolute URL (no `scheme://`)");
    };
    if scheme.is_empty()
        || !scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
    {
        return Err("not an absolute URL (bad scheme)");
    }
    let authority = after.split(['/', '?', '#']).next().unwrap_or_default();
    let hostport = authority.rsplit('@').next().unwrap_or_default();
    let host = if let Some(v6) = hostport.strip_prefix('[') {
        let Some((h, _)) = v6.split_once(']') else {
            return Err("unterminated `[` in the host");
        };
        h
    } else {
        hostport.split(':').next().unwrap_or_default()
    };
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    if host.is_empty() {
        return Err("the URL has no host");
    }
    for kind in [NetworkKind::Ipv4, NetworkKind::Ipv6] {
        if check_value(kind, &host).is_ok() && !host.contains('/') {
            return Ok((kind, host));
        }
    }
    if host.chars().all(|c| c.is_ascii_digit() || c == '.') {
        return Err("the host is not a valid IPv4 address");
    }
    check_value(NetworkKind::Domain, &host).map_err(|_| "the host is not a domain name")?;
    Ok((NetworkKind::Domain, host))
}

fn check_value(kind: NetworkKind, v: &str) -> Result<(), &'static str> {
    let (addr, prefix) = match v.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (v, None),
    };
    match kind {
        NetworkKind::Ipv4 => {
            addr.parse::<std::net::Ipv4Addr>()
                .map_err(|_| "not an IPv4 address")?;
            if prefix.is_some_and(|p| !p.parse::<u8>().is_ok_and(|n| n <= 32)) {
                return Err("CIDR prefix must be 0..=32");
            }
        }
        NetworkKind::Ipv6 => {
            addr.parse::<std::net::Ipv6Addr>()
                .map_err(|_| "not an IPv6 address")?;
            if prefix.is_some_and(|p| !p.parse::<u8>().is_ok_and(|n| n <= 128)) {
                return Err("CIDR prefix must be 0..=128");
            }
        }
        NetworkKind::Domain => {
            let ok = !v.is_empty()
                && v.len() <= 253
                && v.split('.').all(|l| {
                    !l.is_empty()
                        && l.len() <= 63
                        && l.chars()
                            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
                });
            if !ok {
                return Err("not a domain name");
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_indicators_give_their_host() {
        let got = network_observables(
            "[url:value = 'https://login.Hospital.example:8443/owa?x=1'] OR [url:value = 'http://198.51.100.77:8080/upd.bin'] OR [url:value = 'http://[2001:db8::5]/a']",
        )
        .unwrap();
        assert_eq!(
            got,
            [
                (NetworkKind::Domain, "login.hospital.example".to_owned()),
                (NetworkKind::Ipv4, "198.51.100.77".to_owned()),
                (NetworkKind::Ipv6, "2001:db8::5".to_owned()),
            ]
        );
        let e = network_observables("[url:value = 'hxxp://bad[.]example/x']").unwrap_err();
        assert!(e.contains("not a domain name"), "{e}");
        let e = network_observables("[url:value = 'just-text']").unwrap_err();
        assert!(e.contains("no `scheme://`"), "{e}");
        let e = network_observables("[url:value = 'http://999.1.1.1/']").unwrap_err();
        assert!(e.contains("not a valid IPv4"), "{e}");
    }

    const BUNDLE20: &str = r#"{"type": "bundle", "id": "bundle--0f0e0d0c-0b0a-4909-8807-060504030201", "spec_version": "2.0", "objects": [
        {"type": "identity", "id": "identity--0f0e0d0c-0b0a-4909-8807-000000000001", "created": "2025-03-10T08:00:00Z", "modified": "2025-03-10T08:00:00Z", "name": "Hôpitaux", "identity_class": "class", "sectors": ["santé", "healthcare"]},
        {"type": "intrusion-set", "id": "intrusion-set--0f0e0d0c-0b0a-4909-8807-000000000002", "created": "2025-03-10T08:00:00Z", "modified": "2025-03-10T08:00:00Z", "name": "Groupe"},
        {"type": "relationship", "id": "relationship--0f0e0d0c-0b0a-4909-8807-000000000003", "created": "2025-03-10T08:00:00Z", "modified": "2025-03-10T08:00:00Z", "relationship_type": "targets", "source_ref": "intrusion-set--0f0e0d0c-0b0a-4909-8807-000000000002", "target_ref": "identity--0f0e0d0c-0b0a-4909-8807-000000000001"}
    ]}"#;

    #[test]
    fn a_stix_20_bundle_is_read_with_a_note_and_foreign_sectors_are_noted() {
        let opts = StixOptions::new(CountryCode::parse("FRA").unwrap());
        let got = parse_bundle(BUNDLE20, &opts).unwrap();
        assert_eq!(got.threat.targets.len(), 1);
        assert!(
            got.notes
                .iter()
                .any(|n| n.starts_with("the bundle declares spec_version \"2.0\"")),
            "{:?}",
            got.notes
        );
        let sector_notes: Vec<&String> = got
            .notes
            .iter()
            .filter(|n| n.contains("industry-sector vocabulary"))
            .collect();
        assert_eq!(sector_notes.len(), 1, "{:?}", got.notes);
        assert!(sector_notes[0].contains("\"santé\""));
        assert!(INDUSTRY_SECTORS.contains(&"infrastructure-water"));
        // A 2.1 bundle (no spec_version) gets no such note.
        let v21 = BUNDLE20.replace(r#""spec_version": "2.0", "#, "");
        let got = parse_bundle(&v21, &opts).unwrap();
        assert!(!got.notes.iter().any(|n| n.contains("spec_version")));
    }

    #[test]
    fn patterns() {
        let got = network_observables("[ipv4-addr:value = '198.51.100.7'] OR [domain-name:value='evil.example'] OR [ipv6-addr:value = '2001:db8::/32']").unwrap();
        assert_eq!(got.len(), 3);
        assert!(network_observables("[ipv4-addr:value = '999.1.1.1']")
            .unwrap_err()
            .contains("IPv4"));
        assert!(network_observables("ipv4-addr:value = '1.1.1.1'").is_err());
        assert!(network_observables("[ipv4-addr:value = '1.1.1.1'").is_err());
        assert!(network_observables("[file:name = 'x.exe']")
            .unwrap()
            .is_empty());
    }

    #[test]
    fn statements_read_banners_and_marks() {
        let m = statement_mark("SECRET//REL TO USA, RUS").unwrap();
        assert_eq!(m.classification, tocsin_core::Classification::S);
        assert_eq!(m.rel_to.unwrap().len(), 2);
        assert!(statement_mark("(TS//SI//NF)").unwrap().noforn);
        assert!(statement_mark("Copyright 2024 Example Corp").is_none());
    }

    #[test]
    fn harms_by_keyword() {
        let h = harms_from_text("Armed attack with firearms and incendiary devices");
        assert!(h.contains(&Harm::Killing) && h.contains(&Harm::ArsonBombing));
        assert!(
            harms_from_text("a tied ribbon").is_empty(),
            "ied must be a whole word"
        );
    }
}
