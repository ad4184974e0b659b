//! What a role may not see.
//!
//! Restricted terms (names of sources, methods, platforms, code words) are shown only to analysts
//! and above. For a viewer every response is shaped here, in one place, so no route can forget it:
//! `restricted_terms` members are removed (the object gets `"withheld": ["restricted_terms"]`), and
//! every occurrence of any stored threat's restricted term in any string is replaced by
//! [`WITHHELD`] (compared as the leak gate compares, after `tocsin_core::fold`: case, accents,
//! look-alike letters, zero-width characters and script do not matter; fail closed: also inside
//! longer words).
//!
//! Need to know (docs/security.md): a principal with a clearance and a nationality (a user, or a
//! user's token) is judged like an audience by `tocsin_core::marking::releasable_to`. Every portion,
//! target description, actor and warning text they may not read is replaced by a marker object
//! `{"withheld": true, "marking": "(S//NF)"}` naming the marking, never the content. Routes call
//! [`for_principal`] (through `AppState::read`) on every response that can carry portions.

use crate::auth::{NeedToKnow, Principal, Role};
use serde_json::{json, Map, Value};
use std::collections::HashMap;
use tocsin_core::marking::{format_mark, parse_mark, releasable_to, Denial};
use tocsin_core::{
    Audience, AudienceKind, Classification, CountryCode, PortionMark, Threat, TlpLevel,
};
use tocsin_store::{Store, StoreError};

/// What a redacted term is replaced with.
pub const WITHHELD: &str = "[withheld]";

/// What a viewer reads in place of a delivery's error (it may quote a webhook receiver's answer).
const DELIVERY_ERROR_NOTE: &str = "[withheld: delivery errors are shown to analysts and above]";

/// The member removed from objects for viewers.
const TERMS_KEY: &str = "restricted_terms";

/// Matcher for a set of terms, folded (`tocsin_core::fold`) so every spelling of a term is hidden;
/// overlapping occurrences are hidden as one.
pub struct Redactor {
    terms: Vec<String>,
}

impl Redactor {
    pub fn new<'a>(terms: impl IntoIterator<Item = &'a str>) -> Self {
        let mut terms: Vec<String> = terms
            .into_iter()
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_owned)
            .collect();
        terms.sort();
        terms.dedup();
        Self { terms }
    }

    /// Redact a whole JSON value in place.
    pub fn apply(&self, v: &mut Value) {
        match v {
            Value::String(s) => {
                if let Some(r) = self.redact_str(s) {
                    *s = r;
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|i| self.apply(i)),
            Value::Object(map) => {
                if map.remove(TERMS_KEY).is_some() {
                    map.insert(
                        "withheld".into(),
                        Value::Array(vec![Value::String(TERMS_KEY.into())]),
                    );
                }
                map.values_mut().for_each(|i| self.apply(i));
            }
            _ => {}
        }
    }

    /// `Some(redacted)` when `s` contains a term, else `None`.
    pub fn redact_str(&self, s: &str) -> Option<String> {
        if self.terms.is_empty() {
            return None;
        }
        let spans = tocsin_core::fold::find_all(s, self.terms.iter().map(String::as_str));
        if spans.is_empty() {
            return None;
        }
        let mut out = String::with_capacity(s.len());
        let mut at = 0;
        for (start, end) in spans {
            out.push_str(&s[at..start]);
            out.push_str(WITHHELD);
            at = end;
        }
        out.push_str(&s[at..]);
        Some(out)
    }
}

/// Shape a response for `principal`: the one place that decides what a principal may read
/// (docs/security.md, "Need to know"). Every route whose response can carry threat, warning, match,
/// delivery, task, determination or feedback content calls this (or `AppState::read`, which does).
pub fn for_principal(
    v: &mut Value,
    principal: &Principal,
    store: &dyn Store,
) -> Result<(), StoreError> {
    Reader::load(principal, store)?.apply(v);
    Ok(())
}

/// What one principal may read, loaded once per response: the stored threats (their markings),
/// the warnings (their banners and threats) and the restricted terms hidden from the principal.
pub struct Reader {
    ntk: NeedToKnow,
    role: Role,
    threats: HashMap<String, Threat>,
    /// Warning id → (threat id, banner).
    warnings: HashMap<String, (String, String)>,
    /// Per threat: `Err(marking)` unless the principal may read all of it (portions, targets,
    /// actor rolled up).
    whole: HashMap<String, Result<(), String>>,
    /// Threats whose restricted terms the principal may see.
    terms_visible: std::collections::HashSet<String>,
    hidden_terms: Redactor,
}

/// Keys of free text written about a threat (feedback, rationales, task details, criteria,
/// refusal reasons): shown only to a principal who may read the whole threat the object belongs
/// to, since they cannot be traced to one marking.
const FREE_TEXT: &[&str] = &[
    "title",
    "detail",
    "text",
    "headline",
    "rationale",
    "considerations",
    "why",
    "note",
    "notes",
    "comment",
    "reason",
    "summary",
    "excerpt",
];

impl Reader {
    pub fn load(principal: &Principal, store: &dyn Store) -> Result<Self, StoreError> {
        Ok(Self::new(
            principal.need_to_know,
            principal.role,
            store.threats()?,
            store
                .warnings(None)?
                .into_iter()
                .map(|w| {
                    (
                        w.id.as_str().to_owned(),
                        w.threat_id.as_str().to_owned(),
                        w.banner,
                    )
                })
                .collect(),
        ))
    }

    /// What `ntk` with `role` may read of these threats and warnings (id, threat id, banner).
    pub fn new(
        ntk: NeedToKnow,
        role: Role,
        threats: Vec<Threat>,
        warnings: Vec<(String, String, String)>,
    ) -> Self {
        let threats: HashMap<String, Threat> = threats
            .into_iter()
            .map(|t| (t.id.as_str().to_owned(), t))
            .collect();
        let warnings = warnings
            .into_iter()
            .map(|(id, threat, banner)| (id, (threat, banner)))
            .collect();
        let whole: HashMap<String, Result<(), String>> = threats
            .iter()
            .map(|(id, t)| {
                let m = threat_mark(t);
                let verdict = may_read(&ntk, &m, Some(t.originator)).map_err(|_| format_mark(&m));
                (id.clone(), verdict)
            })
            .collect();
        // Restricted terms are as sensitive as the most restrictive portion they protect: only an
        // analyst (or above) who may read the whole threat sees them (for a foreign principal that
        // means every portion is releasable to them).
        let terms_visible: std::collections::HashSet<String> = whole
            .iter()
            .filter(|(_, v)| role >= Role::Analyst && v.is_ok())
            .map(|(id, _)| id.clone())
            .collect();
        let shown: std::collections::HashSet<&str> = threats
            .values()
            .filter(|t| terms_visible.contains(t.id.as_str()))
            .flat_map(|t| t.restricted_terms.iter().map(String::as_str))
            .collect();
        let hidden_terms = Redactor::new(
            threats
                .values()
                .filter(|t| !terms_visible.contains(t.id.as_str()))
                .flat_map(|t| t.restricted_terms.iter().map(String::as_str))
                .filter(|term| !shown.contains(term)),
        );
        Self {
            ntk,
            role,
            threats,
            warnings,
            whole,
            terms_visible,
            hidden_terms,
        }
    }

    /// Withhold from `v` whatever this principal may not read.
    pub fn apply(&self, v: &mut Value) {
        self.visit(v, Ctx::None);
        self.strings(v);
    }

    /// May the principal read the whole of `threat_id` (`Err(marking)` otherwise; an unknown
    /// threat is withheld: fail closed)?
    pub fn whole(&self, threat_id: &str) -> Result<(), String> {
        self.whole
            .get(threat_id)
            .cloned()
            .unwrap_or_else(|| Err("(unknown threat)".into()))
    }

    /// `s` as this principal sees it when searching: `None` when withheld whole, else the parts
    /// around the restricted terms hidden from them (a search never matches hidden text).
    pub fn visible_parts(&self, s: &str) -> Vec<String> {
        match self.hidden_terms.redact_str(s) {
            None => vec![s.to_owned()],
            Some(r) => r.split(WITHHELD).map(str::to_owned).collect(),
        }
    }

    fn threat(&self, id: &str) -> Option<&Threat> {
        self.threats.get(id)
    }

    /// Hide restricted terms and recipients' link tokens in every string.
    fn strings(&self, v: &mut Value) {
        match v {
            Value::String(s) => {
                if let Some(r) = self.hidden_terms.redact_str(s) {
                    *s = r;
                }
                if let Some(r) = strip_link_tokens(s) {
                    *s = r;
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|i| self.strings(i)),
            Value::Object(map) => map.values_mut().for_each(|i| self.strings(i)),
            _ => {}
        }
    }

    fn visit(&self, v: &mut Value, ctx: Ctx) {
        match v {
            Value::Array(items) => items.iter_mut().for_each(|i| self.visit(i, ctx.clone())),
            Value::Object(map) => {
                let ctx = self.object_ctx(map).unwrap_or(ctx);
                let skip = self.withhold_in(map, &ctx);
                for (k, i) in map.iter_mut() {
                    if skip != Some(k.as_str()) {
                        self.visit(i, ctx.clone());
                    }
                }
            }
            _ => {}
        }
    }

    /// The threat (and warning) an object belongs to: itself (a threat has `portions` and
    /// `originator`), the one its `threat_id` names, or its `warning_id`'s.
    fn object_ctx(&self, map: &Map<String, Value>) -> Option<Ctx> {
        let s = |k: &str| map.get(k).and_then(Value::as_str).map(str::to_owned);
        if map.contains_key("portions") && map.contains_key("originator") {
            return s("id").map(|id| Ctx::Threat { id, banner: None });
        }
        if let Some(tid) = s("threat_id") {
            let banner = map
                .get("banner")
                .and_then(Value::as_str)
                .map(str::to_owned)
                .or_else(|| {
                    s("warning_id").and_then(|w| self.warnings.get(&w).map(|(_, b)| b.clone()))
                });
            return Some(Ctx::Threat { id: tid, banner });
        }
        if let Some(wid) = s("warning_id") {
            return Some(match self.warnings.get(&wid) {
                Some((tid, banner)) => Ctx::Threat {
                    id: tid.clone(),
                    banner: Some(banner.clone()),
                },
                None => Ctx::Unknown,
            });
        }
        None
    }

    fn readable(&self, mark: &Value, threat: Option<&Threat>) -> Result<(), String> {
        // A mark that does not decode is withheld: fail closed.
        let Ok(m) = serde_json::from_value::<PortionMark>(mark.clone()) else {
            return Err("(unreadable marking)".into());
        };
        may_read(&self.ntk, &m, threat.map(|t| t.originator)).map_err(|_| format_mark(&m))
    }

    /// `Err(marking)` unless the principal may read all of the context's threat.
    fn whole_ctx(&self, ctx: &Ctx) -> Result<(), String> {
        match ctx {
            Ctx::Threat { id, .. } => self.whole(id),
            Ctx::Unknown => Err("(unknown threat)".into()),
            Ctx::None => Ok(()),
        }
    }

    /// `Err(marking)` unless the principal may read the context's warning (its banner).
    fn banner_ctx(&self, ctx: &Ctx) -> Result<(), String> {
        match ctx {
            Ctx::Threat {
                id,
                banner: Some(banner),
            } => match banner_mark(banner) {
                Some(m) => may_read(&self.ntk, &m, self.threat(id).map(|t| t.originator))
                    .map_err(|_| banner.clone()),
                None => Err(banner.clone()),
            },
            Ctx::None => Ok(()),
            _ => Err("(unknown warning)".into()),
        }
    }

    /// Withhold in one object; returns the member not to walk into (already judged).
    fn withhold_in(&self, map: &mut Map<String, Value>, ctx: &Ctx) -> Option<&'static str> {
        let threat = match ctx {
            Ctx::Threat { id, .. } => self.threat(id),
            _ => None,
        };
        // Restricted terms: only to those who may see them (see `load`).
        if map.contains_key(TERMS_KEY) {
            let visible = matches!(ctx, Ctx::Threat { id, .. } if self.terms_visible.contains(id));
            if !visible {
                map.remove(TERMS_KEY);
                map.insert(
                    "withheld".into(),
                    Value::Array(vec![Value::String(TERMS_KEY.into())]),
                );
            }
        }
        // A webhook receiver's answer (in a delivery's `last_error`) is for analysts.
        if self.role < Role::Analyst && map.contains_key("idempotency_key") {
            if let Some(e) = map.get_mut("last_error").filter(|e| e.is_string()) {
                *e = Value::String(DELIVERY_ERROR_NOTE.into());
            }
        }
        // A timeline entry: its detail is free text written from the whole case.
        if map.contains_key("event") && map.get("detail").is_some_and(Value::is_string) {
            if let Err(marking) = self.whole_ctx(&ctx.or_unknown()) {
                map.insert("detail".into(), withheld_marker(&marking));
            } else if self.role < Role::Analyst
                && map
                    .get("event")
                    .and_then(Value::as_str)
                    .is_some_and(|e| e.starts_with("delivery_"))
            {
                // A failed delivery's entry quotes the receiver's answer: analysts only.
                map.insert("detail".into(), Value::String(DELIVERY_ERROR_NOTE.into()));
            }
            return None;
        }
        let mark = map.get("mark").filter(|m| m.is_object()).cloned();
        // A portion: replace its text.
        if let (Some(mark), true) = (&mark, map.get("text").is_some_and(Value::is_string)) {
            if let Err(marking) = self.readable(mark, threat) {
                map.insert("text".into(), withheld_marker(&marking));
            }
            return None;
        }
        // A target description: keep only its mark.
        if let (Some(mark), true) = (&mark, map.contains_key("label")) {
            if let Err(marking) = self.readable(mark, threat) {
                map.retain(|k, _| k == "mark");
                map.insert("label".into(), withheld_marker(&marking));
            }
            return None;
        }
        // A threat's actor.
        if let Some(actor_mark) = map.get("actor_mark").cloned() {
            if map.get("actor").is_some_and(|a| !a.is_null()) {
                if let Err(marking) = self.readable(&actor_mark, threat) {
                    map.insert("actor".into(), withheld_marker(&marking));
                }
            }
        }
        // A warning (or a draft): judged by its banner.
        if map.get("banner").is_some_and(Value::is_string)
            && (map.contains_key("text") || map.contains_key("headline"))
        {
            if let Err(marking) = self.banner_ctx(ctx) {
                // `translations` hold the same headline and text in another language.
                for key in ["headline", "text", "measures", "translations"] {
                    if map.contains_key(key) {
                        map.insert(key.into(), withheld_marker(&marking));
                    }
                }
            }
            return None;
        }
        // A delivery's notice (reminder, escalation, cancel) says what its warning says: judged by
        // the warning's banner.
        if let Some(Value::Object(notice)) = map.get_mut("notice") {
            if let Err(marking) = self.banner_ctx(ctx) {
                for key in ["headline", "text"] {
                    if notice.contains_key(key) {
                        notice.insert(key.into(), withheld_marker(&marking));
                    }
                }
            }
            return Some("notice");
        }
        // The leak gate's block: its excerpt and the rule's term or label name what the warning
        // must not say, so only those who may see the threat's restricted terms read them.
        if map.contains_key("excerpt") && map.get("rule").is_some_and(Value::is_object) {
            let verdict = match ctx {
                Ctx::Threat { id, .. } if self.terms_visible.contains(id) => Ok(()),
                Ctx::Threat { id, .. } => Err(self
                    .whole(id)
                    .err()
                    .unwrap_or_else(|| "(restricted terms)".into())),
                _ => Err("(unknown threat)".into()),
            };
            if let Err(marking) = verdict {
                map.insert("excerpt".into(), withheld_marker(&marking));
                if let Some(Value::Object(rule)) = map.get_mut("rule") {
                    for key in ["term", "label"] {
                        if rule.contains_key(key) {
                            rule.insert(key.into(), withheld_marker(&marking));
                        }
                    }
                }
            }
            return None;
        }
        // A match: withheld with the target description it came from.
        if let (Some(i), Some(t), true) = (
            map.get("target").and_then(Value::as_u64),
            threat,
            map.contains_key("entity_id"),
        ) {
            let verdict = match t.targets.get(i as usize) {
                Some(spec) => may_read(&self.ntk, &spec.mark, Some(t.originator))
                    .map_err(|_| format_mark(&spec.mark)),
                None => Err("(unknown target)".into()),
            };
            if let Err(marking) = verdict {
                map.retain(|k, _| k == "target");
                map.insert("withheld".into(), Value::Bool(true));
                map.insert("marking".into(), Value::String(marking));
            }
            return None;
        }
        // Anything else written about a threat (feedback, a waiver's rationale, a task's detail,
        // a criterion's reasons, a posture report's note, the threat's title): cannot be traced to
        // one marking, so shown only to those who may read the whole threat.
        if matches!(ctx, Ctx::None) {
            return None;
        }
        if let Err(marking) = self.whole_ctx(ctx) {
            for key in FREE_TEXT {
                if map.get(*key).is_some_and(|v| v.is_string() || v.is_array()) {
                    map.insert((*key).into(), withheld_marker(&marking));
                }
            }
        }
        None
    }
}

/// The threat context of an object while walking a response.
#[derive(Clone)]
enum Ctx {
    /// Not about a threat (registry entities, audiences, feed runs).
    None,
    /// About a threat (and, for a warning, a delivery or a notice, the warning's banner).
    Threat { id: String, banner: Option<String> },
    /// About a threat or warning that is not stored: withheld (fail closed).
    Unknown,
}

impl Ctx {
    /// A timeline entry with no threat is judged as about an unknown one.
    fn or_unknown(&self) -> Ctx {
        match self {
            Ctx::None => Ctx::Unknown,
            c => c.clone(),
        }
    }
}

/// `s` with each recipient link's token (`/r/<payload>.<signature>`, both base64url) replaced by
/// `[withheld]`: a link is a credential for its recipient, never for a reader of the API. Other
/// `/r/` paths (a webhook receiver's URL) are left alone. `None` when there is none.
pub fn strip_link_tokens(s: &str) -> Option<String> {
    if !s.contains("/r/") {
        return None;
    }
    let b64 = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_');
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    let mut changed = false;
    while let Some(i) = rest.find("/r/") {
        out.push_str(&rest[..i + 3]);
        let after = &rest[i + 3..];
        let run = after
            .find(|c: char| !(b64(c) || c == '.'))
            .unwrap_or(after.len());
        // A full stop after the link ends the sentence, not the token.
        let token = after[..run].trim_end_matches('.');
        let n = token.len();
        let signed = token.split_once('.').is_some_and(|(p, sig)| {
            p.len() >= 16 && sig.len() >= 16 && p.chars().all(b64) && sig.chars().all(b64)
        });
        if signed {
            out.push_str(WITHHELD);
            changed = true;
        } else {
            out.push_str(token);
        }
        rest = &after[n..];
    }
    out.push_str(rest);
    changed.then_some(out)
}

/// The signed link tokens in `s`, in order (what [`strip_link_tokens`] withholds).
fn link_tokens(s: &str) -> Vec<String> {
    let b64 = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_');
    let mut out = Vec::new();
    let mut rest = s;
    while let Some(i) = rest.find("/r/") {
        let after = &rest[i + 3..];
        let run = after
            .find(|c: char| !(b64(c) || c == '.'))
            .unwrap_or(after.len());
        let token = after[..run].trim_end_matches('.');
        if token.split_once('.').is_some_and(|(p, sig)| {
            p.len() >= 16 && sig.len() >= 16 && p.chars().all(b64) && sig.chars().all(b64)
        }) {
            out.push(token.to_owned());
        }
        rest = &after[token.len()..];
    }
    out
}

/// An edit sent back by an API reader carries `/r/[withheld]` where the stored text had a
/// recipient's link: put the stored links back, in order, so editing a draft keeps its links
/// (a link beyond the stored ones stays withheld, and no reader ever supplies one).
pub fn restore_link_tokens(edited: &str, stored: &str) -> String {
    restore_link_tokens_mapped(edited, stored).0
}

/// [`restore_link_tokens`], and for each restored link the byte offset where it ends in the
/// result with the total growth so far, so that an offset into the result can be told as an
/// offset into the text the reader sent ([`LinkShifts::as_sent`]).
pub fn restore_link_tokens_mapped(edited: &str, stored: &str) -> (String, LinkShifts) {
    let placeholder = format!("/r/{WITHHELD}");
    let mut shifts = Vec::new();
    if !edited.contains(&placeholder) {
        return (edited.to_owned(), LinkShifts(shifts));
    }
    let mut tokens = link_tokens(stored).into_iter();
    let mut out = String::with_capacity(edited.len());
    let mut rest = edited;
    let mut growth = 0usize;
    while let Some(i) = rest.find(&placeholder) {
        out.push_str(&rest[..i]);
        match tokens.next() {
            Some(t) => {
                out.push_str("/r/");
                out.push_str(&t);
                growth += t.len().saturating_sub(WITHHELD.len());
                shifts.push((out.len(), growth));
            }
            None => out.push_str(&placeholder),
        }
        rest = &rest[i + placeholder.len()..];
    }
    out.push_str(rest);
    (out, LinkShifts(shifts))
}

/// Where restored links made a text longer than the reader's (see
/// [`restore_link_tokens_mapped`]).
#[derive(Debug, Clone, Default)]
pub struct LinkShifts(Vec<(usize, usize)>);

impl LinkShifts {
    /// An offset into the restored text as an offset into the text the reader sent.
    pub fn as_sent(&self, at: usize) -> usize {
        let growth = self
            .0
            .iter()
            .take_while(|(end, _)| *end <= at)
            .last()
            .map_or(0, |(_, g)| *g);
        at.saturating_sub(growth)
    }

    /// `detail` with each `at bytes A..B` told in the reader's offsets.
    pub fn in_detail(&self, detail: &str) -> String {
        const AT: &str = "at bytes ";
        if self.0.is_empty() || !detail.contains(AT) {
            return detail.to_owned();
        }
        let mut out = String::with_capacity(detail.len());
        let mut rest = detail;
        while let Some(i) = rest.find(AT) {
            out.push_str(&rest[..i + AT.len()]);
            let after = &rest[i + AT.len()..];
            let n = after
                .find(|c: char| !(c.is_ascii_digit() || c == '.'))
                .unwrap_or(after.len());
            match after[..n].split_once("..").and_then(|(a, b)| {
                Some((
                    a.parse::<usize>().ok()?,
                    b.trim_end_matches('.').parse::<usize>().ok()?,
                ))
            }) {
                Some((a, b)) => {
                    let tail = &after[..n][after[..n].find("..").map_or(n, |j| j + 2)..];
                    let dots = tail.len() - tail.trim_end_matches('.').len();
                    out.push_str(&format!("{}..{}", self.as_sent(a), self.as_sent(b)));
                    out.push_str(&".".repeat(dots));
                }
                None => out.push_str(&after[..n]),
            }
            rest = &after[n..];
        }
        out.push_str(rest);
        out
    }
}

/// The audience a cleared user is judged as: an agency of their own country, cleared to their
/// level. Staff may read ORCON and any TLP (they work for the originator); what differs between
/// them is classification, SCI (TS only) and nationality (NOFORN, REL TO).
pub fn user_audience(clearance: Classification, nationality: CountryCode) -> Audience {
    Audience {
        id: "user".into(),
        name: "user".into(),
        kind: AudienceKind::DomesticAgency,
        country: Some(nationality),
        clearance,
        tlp_ceiling: TlpLevel::Red,
        orcon_approved: true,
        channels: Vec::new(),
        escalation_contact: None,
        language: "en".into(),
        posture_interval_hours: None,
        timezone: None,
    }
}

/// May `ntk` read a portion with `mark` of a report from `originator`? `None` originator (not
/// known): judged as foreign, so NOFORN and unlisted REL TO are withheld (fail closed).
pub fn may_read(
    ntk: &NeedToKnow,
    mark: &PortionMark,
    originator: Option<CountryCode>,
) -> Result<(), Denial> {
    match ntk {
        NeedToKnow::Unrestricted => Ok(()),
        NeedToKnow::Cleared {
            clearance,
            nationality,
        } => {
            let aud = user_audience(*clearance, *nationality);
            match originator {
                Some(o) => releasable_to(mark, &aud, o),
                // Judged as foreign to an originator that is not the user's country (fail closed).
                None => match CountryCode::parse("ZZZ") {
                    Ok(nobody) if nobody != *nationality => releasable_to(mark, &aud, nobody),
                    _ => Err(Denial::Noforn),
                },
            }
        }
    }
}

/// The portion mark of a warning's banner (`SECRET//REL TO USA, RUS`, `TLP:AMBER`), so a whole
/// warning can be judged; `None` when the banner is not one Tocsin writes.
pub fn banner_mark(banner: &str) -> Option<PortionMark> {
    let b = banner.trim();
    if b.starts_with("TLP:") {
        return parse_mark(&format!("({b})")).ok();
    }
    for (name, abbrev) in [
        ("TOP SECRET", "TS"),
        ("UNCLASSIFIED", "U"),
        ("CONFIDENTIAL", "C"),
        ("SECRET", "S"),
    ] {
        if let Some(rest) = b.strip_prefix(name) {
            if rest.is_empty() || rest.starts_with("//") {
                return parse_mark(&format!("({abbrev}{rest})")).ok();
            }
        }
    }
    None
}

/// The whole content of a threat as one mark (its portions, targets and actor rolled up): what a
/// principal must be cleared for to approve a determination about it.
pub fn threat_mark(t: &Threat) -> PortionMark {
    let mut marks: Vec<&PortionMark> = t.portions.iter().map(|p| &p.mark).collect();
    marks.extend(t.targets.iter().map(|s| &s.mark));
    if t.actor.is_some() {
        marks.push(&t.actor_mark);
    }
    tocsin_core::marking::banner(&marks).to_mark()
}

/// Refuse (403) a principal who would approve or release content they may not read: a
/// determination is about its whole threat; a warning is its banner. `Ok` when the record does not
/// exist (the engine then answers 404).
pub fn check_release(
    store: &dyn Store,
    principal: &Principal,
    what: Release<'_>,
) -> Result<(), crate::Problem> {
    if matches!(principal.need_to_know, NeedToKnow::Unrestricted) {
        return Ok(());
    }
    let (kind, id, threat_id, mark) = match what {
        Release::Determination(tid) => match store.threat(tid)? {
            Some(t) => (
                "the determination of threat",
                tid.as_str().to_owned(),
                t.id.clone(),
                Some(threat_mark(&t)),
            ),
            None => return Ok(()),
        },
        Release::Warning(wid) => match store.warning(wid)? {
            Some(w) => (
                "warning",
                wid.as_str().to_owned(),
                w.threat_id.clone(),
                banner_mark(&w.banner),
            ),
            None => return Ok(()),
        },
    };
    let originator = store.threat(&threat_id)?.map(|t| t.originator);
    let verdict = match &mark {
        Some(m) => may_read(&principal.need_to_know, m, originator)
            .map_err(|d| format!("{} ({d})", format_mark(m))),
        None => Err("an unreadable marking".to_owned()),
    };
    verdict.map_err(|why| {
        tracing::info!(actor = %principal.actor(), kind, id = %id, "release refused: above clearance");
        crate::Problem::new(
            axum::http::StatusCode::FORBIDDEN,
            "need-to-know",
            "Forbidden",
            format!("{kind} {id:?} includes content marked {why}, which is above what you may read; you cannot approve what you cannot see"),
        )
    })
}

/// May `principal` read this whole warning (its banner)? For channels that serve warnings whole
/// (CAP alerts), where there is nothing to withhold piecemeal.
pub fn may_read_warning(
    store: &dyn Store,
    principal: &Principal,
    w: &tocsin_core::tracking::Warning,
) -> Result<bool, StoreError> {
    if matches!(principal.need_to_know, NeedToKnow::Unrestricted) {
        return Ok(true);
    }
    let originator = store.threat(&w.threat_id)?.map(|t| t.originator);
    Ok(banner_mark(&w.banner)
        .is_some_and(|m| may_read(&principal.need_to_know, &m, originator).is_ok()))
}

/// What is about to be approved.
#[derive(Debug, Clone, Copy)]
pub enum Release<'a> {
    Determination(&'a tocsin_core::ThreatId),
    Warning(&'a tocsin_core::WarningId),
}

/// The marker that replaces withheld content.
pub fn withheld_marker(marking: &str) -> Value {
    json!({ "withheld": true, "marking": marking })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terms_are_hidden_case_insensitively() {
        let r = Redactor::new(["SPECTRE-7", "Крокус", " "]);
        assert_eq!(
            r.redact_str("source spectre-7 said"),
            Some("source [withheld] said".into())
        );
        assert_eq!(r.redact_str("КРОКУС сити"), Some("[withheld] сити".into()));
        assert_eq!(r.redact_str("nothing here"), None);
    }

    #[test]
    fn every_spelling_of_a_term_is_hidden() {
        let r = Redactor::new(["CANOPÉE"]);
        for (text, hidden) in [
            ("Per operation Canopee, go", "Canopee"),
            ("Per operation canope\u{301}e, go", "canope\u{301}e"),
            ("Per operation Cano\u{AD}pée, go", "Cano\u{AD}pée"),
            ("Per operation Сanopee, go", "Сanopee"),
            ("Per operation ＣＡＮＯＰＥＥ, go", "ＣＡＮＯＰＥＥ"),
        ] {
            assert_eq!(
                r.redact_str(text),
                Some(text.replace(hidden, WITHHELD)),
                "{text:?}"
            );
        }
        let r = Redactor::new(["ЛАНТЕРН", "Straße Sieben"]);
        assert_eq!(
            r.redact_str("via Lantern at STRASSE SIEBEN").unwrap(),
            "via [withheld] at [withheld]"
        );
        assert_eq!(r.redact_str("via Canopy"), None);
    }

    #[test]
    fn longest_term_wins() {
        let r = Redactor::new(["ALPHA", "ALPHA BRAVO"]);
        assert_eq!(r.redact_str("x ALPHA BRAVO y").unwrap(), "x [withheld] y");
    }

    fn cleared(c: Classification, n: &str) -> NeedToKnow {
        NeedToKnow::Cleared {
            clearance: c,
            nationality: CountryCode::parse(n).unwrap(),
        }
    }

    fn mark(s: &str) -> PortionMark {
        parse_mark(s).unwrap()
    }

    #[test]
    fn banners_read_back_as_marks() {
        assert_eq!(
            banner_mark("SECRET//REL TO USA, RUS").unwrap(),
            mark("(S//REL TO USA, RUS)")
        );
        assert_eq!(
            banner_mark("TOP SECRET//SI//NOFORN").unwrap(),
            mark("(TS//SI//NF)")
        );
        assert_eq!(banner_mark("UNCLASSIFIED").unwrap(), mark("(U)"));
        assert_eq!(
            banner_mark("UNCLASSIFIED//FOUO").unwrap(),
            mark("(U//FOUO)")
        );
        assert_eq!(banner_mark("TLP:AMBER").unwrap(), mark("(TLP:AMBER)"));
        assert_eq!(
            banner_mark("SECRET//ORCON/NOFORN//TLP:AMBER").unwrap(),
            mark("(S//OC/NF//TLP:AMBER)")
        );
        // Every banner the roll-up writes reads back to its own mark.
        for m in [
            "(S//REL TO USA, GBR)",
            "(C//NF)",
            "(TS//SI/TK//NF)",
            "(U//CUI)",
        ] {
            let b = tocsin_core::marking::banner(&[&mark(m)]);
            assert_eq!(banner_mark(&b.to_string()).unwrap(), b.to_mark(), "{b}");
        }
        for bad in ["", "SECRETIVE", "COSMIC TOP SECRET", "SECRET//BOGUS"] {
            assert_eq!(banner_mark(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn users_are_judged_like_audiences() {
        let usa = CountryCode::parse("USA").unwrap();
        let s_usa = cleared(Classification::S, "USA");
        assert!(may_read(&s_usa, &mark("(S//NF)"), Some(usa)).is_ok());
        assert!(may_read(&s_usa, &mark("(TS//NF)"), Some(usa)).is_err());
        assert!(may_read(
            &cleared(Classification::TS, "USA"),
            &mark("(TS//SI//NF)"),
            Some(usa)
        )
        .is_ok());
        // Nationality: NOFORN is for the originator's nationals; REL TO names who else may read.
        let ts_gbr = cleared(Classification::TS, "GBR");
        assert!(matches!(
            may_read(&ts_gbr, &mark("(S//NF)"), Some(usa)),
            Err(Denial::Noforn)
        ));
        assert!(may_read(&ts_gbr, &mark("(S//REL TO USA, GBR)"), Some(usa)).is_ok());
        assert!(may_read(&ts_gbr, &mark("(S//REL TO USA, RUS)"), Some(usa)).is_err());
        // Unknown originator: judged as foreign (fail closed), even for the originator's nationals.
        assert!(may_read(&s_usa, &mark("(S//NF)"), None).is_err());
        assert!(may_read(&s_usa, &mark("(U)"), None).is_ok());
        assert!(may_read(&NeedToKnow::Unrestricted, &mark("(TS//SI//NF)"), None).is_ok());
    }

    #[test]
    fn the_filter_withholds_text_targets_actor_and_warnings() {
        let mut v = json!({
            "id": "t1", "originator": "USA", "actor": "X", "actor_mark": mark("(S//NF)"),
            "portions": [{"mark": mark("(S//NF)"), "text": "secret text", "line": 3}, {"mark": mark("(U)"), "text": "open text"}],
            "targets": [{"label": "named venue", "mark": mark("(S//NF)"), "name": "Venue", "asns": [1]}],
            "warnings": [{"threat_id": "t1", "banner": "SECRET//NOFORN", "headline": "h", "text": "t", "measures": ["m"],
                          "language": "ru", "translations": [{"language": "en", "headline": "english h", "text": "english t"}]},
                         {"threat_id": "t1", "banner": "UNCLASSIFIED", "headline": "h", "text": "t"}],
        });
        let ntk = cleared(Classification::C, "USA");
        // No stored threat: the originator is unknown (judged foreign); the C clearance alone
        // withholds every S portion here, so the outcome does not depend on it.
        Reader::new(ntk, Role::Analyst, vec![], vec![]).apply(&mut v);
        let w = |m: &str| withheld_marker(m);
        assert_eq!(v["portions"][0]["text"], w("(S//NF)"));
        assert_eq!(
            v["portions"][0]["line"], 3,
            "where the portion is stays visible"
        );
        assert_eq!(v["portions"][1]["text"], "open text");
        assert_eq!(
            v["targets"][0],
            json!({"mark": mark("(S//NF)"), "label": w("(S//NF)")})
        );
        assert_eq!(v["actor"], w("(S//NF)"));
        assert_eq!(v["warnings"][0]["text"], w("SECRET//NOFORN"));
        assert_eq!(v["warnings"][0]["measures"], w("SECRET//NOFORN"));
        // The same text in another language is withheld with it.
        assert_eq!(v["warnings"][0]["translations"], w("SECRET//NOFORN"));
        assert!(!v.to_string().contains("english"));
        assert_eq!(v["warnings"][1]["text"], "t");
        assert!(!v.to_string().contains("secret text") && !v.to_string().contains("Venue"));
    }

    #[test]
    fn timeline_details_are_shown_only_to_those_cleared_for_the_whole_threat() {
        let t = |id: &str, m: &str| Threat {
            id: tocsin_core::ThreatId::new(id),
            title: "t".into(),
            originator: CountryCode::parse("USA").unwrap(),
            received: chrono::Utc::now(),
            actor: None,
            actor_mark: PortionMark::unclassified(),
            harms: vec![],
            credibility: tocsin_core::Credibility::Probable,
            window: tocsin_core::ThreatWindow::new(
                chrono::Utc::now(),
                chrono::Utc::now() + chrono::Duration::hours(1),
            )
            .unwrap(),
            public_advice_hours: 48,
            targets: vec![],
            portions: vec![tocsin_core::Portion {
                mark: mark(m),
                text: "x".into(),
                tearline: false,
                lang: None,
                line: 1,
            }],
            restricted_terms: vec![],
            tlp: None,
            measures: vec![],
        };
        let threats = vec![t("secret", "(S//NF)"), t("open", "(U)")];
        let entry = |threat: &str| json!({"at": "2024-03-07T00:00:00Z", "event": "matches_computed", "detail": "Crocus City Hall: 1", "threat_id": threat});
        let mut v = json!({"items": [entry("secret"), entry("open"), entry("gone")]});
        Reader::new(
            cleared(Classification::C, "USA"),
            Role::Analyst,
            threats.clone(),
            vec![],
        )
        .apply(&mut v);
        assert_eq!(v["items"][0]["detail"], withheld_marker("(S//NF)"));
        assert_eq!(v["items"][1]["detail"], "Crocus City Hall: 1");
        assert_eq!(
            v["items"][2]["detail"],
            withheld_marker("(unknown threat)"),
            "fail closed"
        );
        assert_eq!(
            v["items"][0]["event"], "matches_computed",
            "what happened and when stay visible"
        );
        let mut v = json!({"items": [entry("secret")]});
        Reader::new(
            cleared(Classification::S, "USA"),
            Role::Analyst,
            threats,
            vec![],
        )
        .apply(&mut v);
        assert_eq!(v["items"][0]["detail"], "Crocus City Hall: 1");
    }

    fn threat_with(id: &str, portion: &str, terms: &[&str]) -> Threat {
        Threat {
            id: tocsin_core::ThreatId::new(id),
            title: "the title".into(),
            originator: CountryCode::parse("USA").unwrap(),
            received: chrono::Utc::now(),
            actor: None,
            actor_mark: PortionMark::unclassified(),
            harms: vec![],
            credibility: tocsin_core::Credibility::Probable,
            window: tocsin_core::ThreatWindow::new(
                chrono::Utc::now(),
                chrono::Utc::now() + chrono::Duration::hours(1),
            )
            .unwrap(),
            public_advice_hours: 48,
            targets: vec![],
            portions: vec![tocsin_core::Portion {
                mark: mark(portion),
                text: "x".into(),
                tearline: false,
                lang: None,
                line: 1,
            }],
            restricted_terms: terms.iter().map(|t| (*t).to_owned()).collect(),
            tlp: None,
            measures: vec![],
        }
    }

    #[test]
    fn notices_tasks_rationales_and_feedback_follow_their_threat() {
        let threats = vec![threat_with("t", "(S//NF)", &["NIGHTJAR"])];
        let warnings = vec![(
            "t.a.v1".to_owned(),
            "t".to_owned(),
            "SECRET//NOFORN".to_owned(),
        )];
        let body = json!({
            "deliveries": [{"id": 1, "warning_id": "t.a.v1", "idempotency_key": "k", "last_error": "HTTP 500: receiver said NIGHTJAR",
                            "notice": {"kind": "reminder", "headline": "Reminder", "text": "the warning text, ack at https://x/r/eyJ3YXJuaW5nX2lkIjoi.c2lnbmF0dXJlX2J5dGVz"}}],
            "tasks": [{"id": 1, "kind": "feedback_follow_up", "threat_id": "t", "detail": "they asked about the venue"}],
            "determination": {"threat_id": "t", "decision": "waive", "justification": "already_aware", "rationale": "why",
                              "criteria": [{"name": "specific", "held": true, "why": "the venue is named"}], "considerations": ["c"]},
            "feedback": {"warning_id": "t.a.v1", "by": "r", "kind": "other", "text": "free text"},
            "blocked": {"threat_id": "t", "leak": {"rule": {"rule": "restricted_term", "term": "NIGHTJAR"}, "field": "/text", "excerpt": "As NIGHTJAR"}},
            "unknown": {"threat_id": "gone", "detail": "about a threat that is not stored"},
        });
        let c = cleared(Classification::C, "USA");
        let mut v = body.clone();
        Reader::new(c, Role::Analyst, threats.clone(), warnings.clone()).apply(&mut v);
        let w = withheld_marker;
        let d = &v["deliveries"][0];
        assert_eq!(d["notice"]["text"], w("SECRET//NOFORN"), "{v}");
        assert_eq!(d["notice"]["kind"], "reminder");
        assert_eq!(v["tasks"][0]["detail"], w("(S//NF)"));
        assert_eq!(v["determination"]["rationale"], w("(S//NF)"));
        assert_eq!(v["determination"]["considerations"], w("(S//NF)"));
        assert_eq!(v["determination"]["criteria"][0]["why"], w("(S//NF)"));
        assert_eq!(v["determination"]["justification"], "already_aware");
        assert_eq!(v["feedback"]["text"], w("(S//NF)"));
        assert_eq!(v["blocked"]["leak"]["excerpt"], w("(S//NF)"));
        assert_eq!(v["blocked"]["leak"]["rule"]["term"], w("(S//NF)"));
        assert_eq!(v["unknown"]["detail"], w("(unknown threat)"), "fail closed");
        assert!(!v.to_string().contains("NIGHTJAR"), "{v}");
        // Cleared for all of it: an analyst reads everything but the link token, which no API
        // reader ever gets; a viewer never gets the receiver's answer or the terms.
        let mut v = body.clone();
        let s = cleared(Classification::S, "USA");
        Reader::new(s, Role::Analyst, threats.clone(), warnings.clone()).apply(&mut v);
        assert_eq!(v["tasks"][0]["detail"], "they asked about the venue");
        assert_eq!(v["blocked"]["leak"]["rule"]["term"], "NIGHTJAR");
        assert_eq!(
            v["deliveries"][0]["notice"]["text"],
            "the warning text, ack at https://x/r/[withheld]"
        );
        let mut v = body;
        v["timeline"] = json!([{"event": "delivery_dead", "threat_id": "t", "at": "2024-03-07T00:00:00Z",
                                "detail": "t.a.v1 to a: HTTP 500: the receiver said so"}]);
        Reader::new(s, Role::Viewer, threats, warnings).apply(&mut v);
        assert!(!v.to_string().contains("NIGHTJAR"), "{v}");
        assert!(!v.to_string().contains("HTTP 500"), "{v}");
        assert!(!v.to_string().contains("receiver said"), "{v}");
        assert_eq!(v["tasks"][0]["detail"], "they asked about the venue");
    }

    #[test]
    fn link_tokens_are_cut_from_any_text() {
        let token = "eyJ3YXJuaW5nX2lkIjoi-_x.c2lnbmF0dXJlX2J5dGVz";
        assert_eq!(
            strip_link_tokens(&format!(
                "go to https://t.example/r/{token} now, or /r/{token}."
            )),
            Some("go to https://t.example/r/[withheld] now, or /r/[withheld].".into())
        );
        // A receiver's path is no link token.
        assert_eq!(strip_link_tokens("http://127.0.0.1:9/r/0"), None);
        assert_eq!(strip_link_tokens("see /r/ and /rx /r/abc.def"), None);
        assert_eq!(strip_link_tokens("nothing"), None);
        // An edit read back through the API gets the stored links again, in order.
        let stored = format!("ack /r/{token} or /r/{token}Z.");
        let read = strip_link_tokens(&stored).unwrap();
        assert_eq!(
            restore_link_tokens(&format!("{read} More."), &stored),
            format!("{stored} More.")
        );
        assert_eq!(restore_link_tokens("no links", &stored), "no links");
        // Offsets into the restored text are told as offsets into the text as sent.
        let sent = format!("{read} NIGHTJAR");
        let (restored, shifts) = restore_link_tokens_mapped(&sent, &stored);
        let at = restored.find("NIGHTJAR").unwrap();
        assert_eq!(shifts.as_sent(at), sent.find("NIGHTJAR").unwrap());
        assert_eq!(
            shifts.in_detail(&format!("term at bytes {at}..{}.", at + 8)),
            format!(
                "term at bytes {}..{}.",
                sent.find("NIGHTJAR").unwrap(),
                sent.find("NIGHTJAR").unwrap() + 8
            )
        );
    }

    #[test]
    fn terms_are_shown_only_to_analysts_cleared_for_the_whole_threat() {
        let threats = vec![
            threat_with("ts", "(TS//NF)", &["NIGHTJAR"]),
            threat_with("u", "(U)", &["KESTREL"]),
        ];
        let body = json!({"items": [
            {"id": "ts", "originator": "USA", "portions": [], "restricted_terms": ["NIGHTJAR"], "title": "via NIGHTJAR"},
            {"id": "u", "originator": "USA", "portions": [], "restricted_terms": ["KESTREL"], "title": "via KESTREL"},
        ]});
        let mut v = body.clone();
        let s = cleared(Classification::S, "USA");
        Reader::new(s, Role::Analyst, threats.clone(), vec![]).apply(&mut v);
        assert_eq!(v["items"][0]["withheld"], json!(["restricted_terms"]));
        assert_eq!(v["items"][0]["title"], withheld_marker("(TS//NF)"));
        assert_eq!(v["items"][1]["restricted_terms"], json!(["KESTREL"]));
        assert_eq!(v["items"][1]["title"], "via KESTREL");
        let mut v = body;
        Reader::new(s, Role::Viewer, threats, vec![]).apply(&mut v);
        assert_eq!(v["items"][1]["title"], "via [withheld]");
        assert_eq!(v["items"][1]["withheld"], json!(["restricted_terms"]));
    }

    #[test]
    fn json_is_walked_and_terms_member_withheld() {
        let r = Redactor::new(["NIGHTJAR"]);
        let mut v =
            json!({"items": [{"title": "via nightjar", "restricted_terms": ["NIGHTJAR"], "n": 3}]});
        r.apply(&mut v);
        assert_eq!(
            v,
            json!({"items": [{"title": "via [withheld]", "withheld": ["restricted_terms"], "n": 3}]})
        );
    }
}
