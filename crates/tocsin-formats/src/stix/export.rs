//! One warning → one STIX 2.1 bundle.
//!
//! Only what the audience may read goes in: the warning's own (leak-gated) headline and text, the
//! target specs and actor whose marks are releasable to the audience (the same rule the composer
//! used), and the warning's measures. Ids are UUIDv5 of `(threat, audience)` plus the object's
//! role, and every timestamp comes from the warning, so the same warning always exports to the same
//! bytes; a later version of the warning is a new STIX *version* of the same report (same id and
//! `created`, later `modified`).

use super::{stix_id, stix_time, tlp_marking_id, tlp_marking_object};
use serde_json::{json, Map, Value};
use tocsin_core::marking::releasable_to;
use tocsin_core::threat::{Area, Credibility};
use tocsin_core::tracking::Warning;
use tocsin_core::{Audience, AudienceKind, GeoPoint, TargetSpec, Threat, Timestamp};

/// Audience kinds that receive STIX (the public gets CAP).
pub const STIX_CAPABLE: &[AudienceKind] = &[
    AudienceKind::PartnerService,
    AudienceKind::DomesticAgency,
    AudienceKind::Operator,
];

/// Resolves a named area ("Moscow") to a centre and radius in km (the gazetteer, at the edge).
pub type NamedAreaResolver<'a> = &'a dyn Fn(&str) -> Option<(GeoPoint, f64)>;

/// A resolved area for a STIX `location`: centre, radius (km) and a readable name.
#[derive(Debug, Clone, PartialEq)]
pub struct ResolvedArea {
    pub name: String,
    pub center: GeoPoint,
    pub radius_km: f64,
}

/// What [`warning_bundle`] needs.
pub struct ExportInput<'a> {
    pub warning: &'a Warning,
    pub threat: &'a Threat,
    pub audience: &'a Audience,
    /// `created` of the first version of this (threat, audience) warning: STIX keeps `created`
    /// across versions.
    pub first_created: Timestamp,
    /// Name of the producing organisation (the `identity` every object is `created_by_ref`).
    pub producer: &'a str,
    pub resolve: NamedAreaResolver<'a>,
}

/// The fixed `created` of the producer identity and statement markings: they do not change
/// between exports, so their content (and bytes) must not either.
const STATIC_CREATED: &str = "2024-01-01T00:00:00.000Z";

fn resolve_area(area: &Area, resolve: NamedAreaResolver<'_>) -> Option<ResolvedArea> {
    match area {
        Area::Circle { center, radius_km } => Some(ResolvedArea {
            name: area.describe(),
            center: *center,
            radius_km: *radius_km,
        }),
        Area::Polygon { ring } if !ring.is_empty() => {
            let n = ring.len() as f64;
            let center = GeoPoint {
                lat: ring.iter().map(|p| p.lat).sum::<f64>() / n,
                lon: ring.iter().map(|p| p.lon).sum::<f64>() / n,
            };
            let radius_km = ring
                .iter()
                .map(|p| center.distance_km(p))
                .fold(0.0, f64::max);
            Some(ResolvedArea {
                name: area.describe(),
                center,
                radius_km,
            })
        }
        Area::Polygon { .. } => None,
        Area::Named { name } => resolve(name).map(|(center, radius_km)| ResolvedArea {
            name: name.clone(),
            center,
            radius_km,
        }),
    }
}

fn confidence(c: Credibility) -> u8 {
    match c {
        Credibility::Confirmed => 90,
        Credibility::Probable => 70,
        Credibility::Possible => 30,
    }
}

fn round6(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}

/// Build the bundle of one warning. Returns the bundle as JSON; [`to_bytes`] gives the exact file.
pub fn warning_bundle(input: &ExportInput<'_>) -> Value {
    let w = input.warning;
    let t = input.threat;
    let aud = input.audience;
    let base = format!("{}/{}", t.id, aud.id);
    let created = stix_time(&input.first_created.min(w.created_at));
    let modified = stix_time(&w.created_at);
    let producer_id = stix_id("identity", &format!("producer/{}", input.producer));
    let tlp_id = tlp_marking_id(w.tlp);
    let banner = w.banner.trim();
    let statement_id =
        (!banner.is_empty()).then(|| stix_id("marking-definition", &format!("statement/{banner}")));
    let mut markings: Vec<Value> = vec![json!(tlp_id)];
    if let Some(s) = &statement_id {
        markings.push(json!(s));
    }

    let common = |ty: &str, id: &str| -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("type".into(), json!(ty));
        m.insert("spec_version".into(), json!("2.1"));
        m.insert("id".into(), json!(id));
        m.insert("created_by_ref".into(), json!(producer_id));
        m.insert("created".into(), json!(created));
        m.insert("modified".into(), json!(modified));
        m.insert("object_marking_refs".into(), json!(markings));
        m
    };

    let mut objects: Vec<Value> = Vec::new();
    objects.push(json!({
        "type": "identity",
        "spec_version": "2.1",
        "id": producer_id,
        "created": STATIC_CREATED,
        "modified": STATIC_CREATED,
        "name": input.producer,
        "identity_class": "organization",
        "description": "Producer of duty-to-warn warnings (Tocsin).",
    }));
    objects.push(tlp_marking_object(w.tlp));
    if let Some(s) = &statement_id {
        objects.push(json!({
            "type": "marking-definition",
            "spec_version": "2.1",
            "id": s,
            "created_by_ref": producer_id,
            "created": STATIC_CREATED,
            "name": format!("Classification: {banner}"),
            "definition_type": "statement",
            "definition": { "statement": banner },
        }));
    }

    // Attack pattern: what is planned (harms). Always present, so that targets have a source
    // even when the actor's identity is not releasable to this audience.
    let harms: Vec<&str> = t.harms.iter().map(|h| h.label()).collect();
    let ap_id = stix_id("attack-pattern", &format!("{base}/harm"));
    let mut ap = common("attack-pattern", &ap_id);
    ap.insert(
        "name".into(),
        json!(if harms.is_empty() {
            "Planned violent attack".to_owned()
        } else {
            format!("Planned {}", harms.join(", "))
        }),
    );
    let mut refs: Vec<String> = vec![ap_id.clone()];
    let mut rel_objects: Vec<Value> = Vec::new();
    let relationship = |src: &str, ty: &str, dst: &str| -> Value {
        let id = stix_id("relationship", &format!("{base}/{src}/{ty}/{dst}"));
        let mut r = common("relationship", &id);
        r.insert("relationship_type".into(), json!(ty));
        r.insert("source_ref".into(), json!(src));
        r.insert("target_ref".into(), json!(dst));
        Value::Object(r)
    };

    let actor_id = match (
        &t.actor,
        releasable_to(&t.actor_mark, aud, t.originator).is_ok(),
    ) {
        (Some(name), true) => {
            let id = stix_id("threat-actor", &format!("{base}/actor"));
            let mut a = common("threat-actor", &id);
            a.insert("name".into(), json!(name));
            if t.harms.iter().any(|h| h.is_bodily()) {
                a.insert("threat_actor_types".into(), json!(["terrorist"]));
            }
            refs.push(id.clone());
            rel_objects.push(relationship(&id, "uses", &ap_id));
            Some((id, a))
        }
        _ => None,
    };

    let mut target_objects: Vec<Value> = Vec::new();
    let targets: Vec<(usize, &TargetSpec)> = t
        .targets
        .iter()
        .enumerate()
        .filter(|(_, s)| releasable_to(&s.mark, aud, t.originator).is_ok())
        .collect();
    for (i, spec) in &targets {
        let key = format!("{base}/target/{i}");
        let mut victim_refs: Vec<String> = Vec::new();
        let identity_id = stix_id("identity", &key);
        let mut idn = common("identity", &identity_id);
        let mut desc = vec![spec.label.clone()];
        if !spec.categories.is_empty() {
            desc.push(format!(
                "Categories: {}.",
                spec.categories
                    .iter()
                    .map(|c| c.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        if let Some(n) = spec.min_size {
            desc.push(format!("Gatherings of at least {n} people."));
        }
        if let Some(area) = &spec.area {
            desc.push(format!("Area: {}.", area.describe()));
        }
        match &spec.name {
            Some(name) => {
                idn.insert("name".into(), json!(name));
                idn.insert("identity_class".into(), json!("organization"));
            }
            None => {
                idn.insert("name".into(), json!(spec.label));
                idn.insert("identity_class".into(), json!("class"));
            }
        }
        idn.insert("description".into(), json!(desc.join(" ")));
        target_objects.push(Value::Object(idn));
        refs.push(identity_id.clone());
        victim_refs.push(identity_id.clone());
        if let Some(area) = spec
            .area
            .as_ref()
            .and_then(|a| resolve_area(a, input.resolve))
        {
            let loc_id = stix_id("location", &key);
            let mut loc = common("location", &loc_id);
            loc.insert("name".into(), json!(area.name));
            loc.insert("latitude".into(), json!(round6(area.center.lat)));
            loc.insert("longitude".into(), json!(round6(area.center.lon)));
            loc.insert("precision".into(), json!((area.radius_km * 1000.0).round()));
            target_objects.push(Value::Object(loc));
            refs.push(loc_id.clone());
            rel_objects.push(relationship(&identity_id, "located-at", &loc_id));
            victim_refs.push(loc_id);
        }
        for v in &victim_refs {
            rel_objects.push(relationship(&ap_id, "targets", v));
            if let Some((aid, _)) = &actor_id {
                rel_objects.push(relationship(aid, "targets", v));
            }
        }
    }
    for r in &rel_objects {
        if let Some(id) = r["id"].as_str() {
            refs.push(id.to_owned());
        }
    }

    let report_id = stix_id("report", &base);
    let mut report = common("report", &report_id);
    report.insert("name".into(), json!(w.headline));
    report.insert("description".into(), json!(w.text));
    report.insert("report_types".into(), json!(["threat-report"]));
    report.insert("published".into(), json!(modified));
    report.insert("confidence".into(), json!(confidence(t.credibility)));
    report.insert("lang".into(), json!("en"));
    report.insert("object_refs".into(), json!(refs));
    report.insert(
        "external_references".into(),
        json!([{ "source_name": "tocsin", "external_id": w.id.as_str(), "description": format!("Tocsin warning {} (version {}) for {}", w.id, w.version, aud.name) }]),
    );
    objects.push(Value::Object(report));

    let window_id = stix_id("note", &format!("{base}/validity"));
    let mut window = common("note", &window_id);
    window.insert("abstract".into(), json!("Validity"));
    let mut wtext = format!(
        "Valid from {} until {}.",
        stix_time(&w.valid.from),
        stix_time(&w.valid.until)
    );
    if let Some(prev) = &w.supersedes {
        wtext.push_str(&format!(" Supersedes warning {prev}."));
    }
    window.insert("content".into(), json!(wtext));
    window.insert("object_refs".into(), json!([report_id]));
    objects.push(Value::Object(window));
    if !w.measures.is_empty() {
        let id = stix_id("note", &format!("{base}/measures"));
        let mut note = common("note", &id);
        note.insert("abstract".into(), json!("Recommended protective measures"));
        note.insert(
            "content".into(),
            json!(w
                .measures
                .iter()
                .map(|m| format!("- {m}"))
                .collect::<Vec<_>>()
                .join("\n")),
        );
        note.insert("object_refs".into(), json!([report_id]));
        objects.push(Value::Object(note));
    }

    objects.push(Value::Object(ap));
    if let Some((_, a)) = actor_id {
        objects.push(Value::Object(a));
    }
    objects.extend(target_objects);
    objects.extend(rel_objects);
    json!({
        "type": "bundle",
        "id": stix_id("bundle", w.id.as_str()),
        "objects": objects,
    })
}

/// The exact bytes of a bundle file: pretty JSON and a final newline.
pub fn to_bytes(bundle: &Value) -> Vec<u8> {
    let mut s = serde_json::to_string_pretty(bundle).unwrap_or_default();
    s.push('\n');
    s.into_bytes()
}
