//! The composer: one sanitized warning per (threat, audience), then the leak gate.
//!
//! Architecture invariant: every composed text passes [`leak_gate`] before it leaves this module;
//! the gate blocks (returns an error naming the span and the rule), it never merely warns.
//!
//! Rules (documented for users in docs/formats.md, "Composing a warning"):
//! - **Selection.** Only portions, target specs and the actor whose marks are releasable to the
//!   audience ([`releasable_to`]) are used. No releasable target spec → [`ComposeError::NothingActionable`].
//! - **Tearlines.** A report is read as sections: each tearline closes a section made of the
//!   non-tearline portions since the previous tearline (or the start). For a *non-cleared*
//!   audience (clearance U: operators, the public, an uncleared agency) a releasable tearline
//!   *replaces* the releasable detail portions of its section — they are counted as
//!   `summarised_portions` and not copied. Cleared audiences (C and above) get the tearline first
//!   and then the releasable detail. Portions after the last tearline have no summary and are used
//!   as they are when releasable.
//! - **Specificity** is the best any releasable target spec reaches: a named target (or a network,
//!   ASN or domain), else a category (or sector) in an area, else area only (also for specs with
//!   only a category or only a time).
//! - **Leak gate**: see [`leak_gate`].

use crate::audience::{Audience, AudienceKind};
use crate::entity::Entity;
use crate::marking::{banner, releasable_to, Classification, PortionMark, TlpLevel};
use crate::threat::{Portion, TargetSpec, Threat};
use crate::time::{ThreatWindow, Timestamp};
use crate::tracking::Specificity;
use chrono::SecondsFormat;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeSet, HashMap, HashSet};
use thiserror::Error;

/// What the composer needs beyond the threat and the audience.
#[derive(Debug, Clone)]
pub struct ComposeInput<'a> {
    pub threat: &'a Threat,
    pub audience: &'a Audience,
    /// For operators: their own entities that matched a target spec releasable to them.
    pub entities: &'a [&'a Entity],
    /// Restricted terms that apply to every report (source names, platforms, code words).
    pub global_restricted: &'a [String],
    pub now: Timestamp,
    pub posture_interval_hours: i64,
    /// Where recipients acknowledge and report posture (a signed link, or instructions).
    pub ack_instructions: &'a str,
}

/// A composed, gate-checked warning text and what it reached.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Composed {
    pub tlp: TlpLevel,
    pub banner: String,
    pub specificity: Specificity,
    pub headline: String,
    pub text: String,
    pub measures: Vec<String>,
    pub valid: ThreatWindow,
    /// How many report portions were withheld from this audience: not releasable to it, or naming
    /// a restricted term (such a portion is never copied, whatever its mark).
    pub withheld_portions: usize,
    /// How many releasable portions were left out because a releasable tearline summarises them
    /// (non-cleared audiences only).
    #[serde(default)]
    pub summarised_portions: usize,
    /// Labels of the target specs this audience may be told about.
    pub targets: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Error, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum ComposeError {
    #[error("nothing actionable is releasable to audience {audience}: none of the {targets} target spec(s) may be told to it ({withheld} of {portions} portions withheld); refusing to send a blank warning")]
    NothingActionable {
        audience: String,
        targets: usize,
        portions: usize,
        withheld: usize,
    },
    #[error(transparent)]
    Leak(#[from] LeakError),
}

impl ComposeError {
    /// A short, stable name of the reason: `nothing_actionable` or the leak rule's name.
    pub fn reason(&self) -> &'static str {
        match self {
            ComposeError::NothingActionable { .. } => "nothing_actionable",
            ComposeError::Leak(l) => l.rule.name(),
        }
    }
}

/// Why the leak gate blocked a text. `start..end` are byte offsets into the named `field` of the
/// composed warning (`text`, `headline`, `measures[i]`, `targets[i]`); `excerpt` is that span.
#[derive(Debug, Clone, PartialEq, Eq, Error, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[error("leak gate blocked the warning for {audience}: {rule} in {field} at bytes {start}..{end} ({excerpt:?})")]
pub struct LeakError {
    pub audience: String,
    pub rule: LeakRule,
    pub field: String,
    pub start: usize,
    pub end: usize,
    pub excerpt: String,
}

/// The rule a blocked text broke. "Withheld" material is every marked fact not releasable to the
/// audience: report portions, target specs (label and name) and the actor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "rule", rename_all = "snake_case")]
pub enum LeakRule {
    /// A restricted term (per report or global), matched as a normalised word sequence.
    RestrictedTerm { term: String },
    /// The whole text of a withheld portion (normalised words, stop words included).
    VerbatimPortion { line: usize, mark: String },
    /// Distinctive word n-grams of a withheld portion: light rewording does not hide them.
    PortionNgrams {
        line: usize,
        mark: String,
        shared: usize,
    },
    /// A withheld target spec's label or name, whole or by distinctive n-grams.
    WithheldTarget { label: String, mark: String },
    /// The actor, whose identity is not releasable to the audience.
    WithheldActor { mark: String },
}

impl LeakRule {
    pub fn name(&self) -> &'static str {
        match self {
            LeakRule::RestrictedTerm { .. } => "restricted_term",
            LeakRule::VerbatimPortion { .. } => "verbatim_portion",
            LeakRule::PortionNgrams { .. } => "portion_ngrams",
            LeakRule::WithheldTarget { .. } => "withheld_target",
            LeakRule::WithheldActor { .. } => "withheld_actor",
        }
    }
}

impl std::fmt::Display for LeakRule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LeakRule::RestrictedTerm { term } => write!(f, "rule restricted_term: restricted term {term:?}"),
            LeakRule::VerbatimPortion { line, mark } => {
                write!(f, "rule verbatim_portion: copy of the non-releasable portion {mark} on report line {line}")
            }
            LeakRule::PortionNgrams { line, mark, shared } => write!(
                f,
                "rule portion_ngrams: {shared} distinctive word sequence(s) of the non-releasable portion {mark} on report line {line}"
            ),
            LeakRule::WithheldTarget { label, mark } => {
                write!(f, "rule withheld_target: the non-releasable target {label:?} {mark}")
            }
            LeakRule::WithheldActor { mark } => write!(f, "rule withheld_actor: the non-releasable actor {mark}"),
        }
    }
}

fn fmt_time(t: Timestamp) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
        .replace('T', " ")
        .replace('Z', " UTC")
}

fn spec_specificity(t: &TargetSpec) -> Specificity {
    let fp = &t.footprint;
    // A network, ASN or domain names its target as precisely as a venue name does; a sector is a
    // kind of target, like a category.
    if t.name.is_some() || !fp.networks.is_empty() || !fp.asns.is_empty() || !fp.domains.is_empty()
    {
        Specificity::NamedTarget
    } else if (!t.categories.is_empty() || !fp.sectors.is_empty()) && t.area.is_some() {
        Specificity::CategoryAndArea
    } else {
        Specificity::AreaOnly
    }
}

/// The local emergency number named in operator warnings (112 works across Europe and Russia).
fn emergency_number(aud: &Audience) -> &'static str {
    match aud.country.as_ref().map(|c| c.as_str()) {
        Some("USA") | Some("CAN") => "911",
        Some("GBR") => "999 or 112",
        Some("AUS") => "000",
        None => "the local emergency number",
        Some(_) => "112",
    }
}

/// The body portions for an audience under the tearline rule (see the module docs): returns the
/// portions in the order they are written, and how many releasable ones a tearline summarised.
fn select_portions<'t>(
    threat: &'t Threat,
    aud: &Audience,
    usable: &dyn Fn(&Portion) -> bool,
) -> (Vec<&'t Portion>, usize) {
    let cleared = aud.clearance > Classification::U;
    let mut tearlines = Vec::new();
    let mut detail = Vec::new();
    let mut summarised = 0;
    let mut section: Vec<&Portion> = Vec::new();
    for p in &threat.portions {
        if !p.tearline {
            section.push(p);
            continue;
        }
        let rel_detail: Vec<&Portion> = section.drain(..).filter(|d| usable(d)).collect();
        if usable(p) {
            tearlines.push(p);
            if cleared {
                detail.extend(rel_detail);
            } else {
                summarised += rel_detail.len();
            }
        } else {
            detail.extend(rel_detail);
        }
    }
    detail.extend(section.into_iter().filter(|d| usable(d)));
    tearlines.extend(detail);
    (tearlines, summarised)
}

/// Compose the warning for one audience and run the leak gate on every field of it.
pub fn compose(input: &ComposeInput<'_>) -> Result<Composed, ComposeError> {
    let threat = input.threat;
    let aud = input.audience;
    let is_rel = |m: &PortionMark| releasable_to(m, aud, threat.originator).is_ok();
    let targets: Vec<&TargetSpec> = threat.targets.iter().filter(|t| is_rel(&t.mark)).collect();
    // The audience's own sites were matched by a spec it may be told about, so their names are
    // not evidence of a leak even where a withheld portion also names them; nor are the audience's
    // own name and contact, which it knows ("Crocus Group security (Crocus City Hall)").
    let own_names: Vec<&str> = input
        .entities
        .iter()
        .flat_map(|e| std::iter::once(e.name.as_str()).chain(e.aliases.iter().map(String::as_str)))
        .chain(std::iter::once(aud.name.as_str()))
        .chain(aud.escalation_contact.as_deref())
        .collect();
    let gate = Gate::new(threat, aud, input.global_restricted, &own_names);
    // Sanitize first: a portion that names a restricted term is never copied, whatever its mark.
    let usable = |p: &Portion| is_rel(&p.mark) && !gate.has_restricted(&p.text);
    let withheld = threat.portions.iter().filter(|p| !usable(p)).count();
    let Some(spec) = targets.iter().map(|t| spec_specificity(t)).max() else {
        return Err(ComposeError::NothingActionable {
            audience: aud.id.to_string(),
            targets: threat.targets.len(),
            portions: threat.portions.len(),
            withheld,
        });
    };
    let (body, summarised) = select_portions(threat, aud, &usable);
    let actor_ok = threat.actor.is_some() && is_rel(&threat.actor_mark);
    let actor_text = if actor_ok {
        threat.actor.clone().unwrap_or_default()
    } else {
        "extremists".to_owned()
    };
    let harms: Vec<&str> = threat.harms.iter().map(|h| h.label()).collect();
    let harms_text = if harms.is_empty() {
        "violence".to_owned()
    } else {
        harms.join(", ")
    };

    let mut used_marks: Vec<&PortionMark> = body
        .iter()
        .map(|p| &p.mark)
        .chain(targets.iter().map(|t| &t.mark))
        .collect();
    if actor_ok && aud.kind != AudienceKind::Public && aud.kind != AudienceKind::Operator {
        used_marks.push(&threat.actor_mark);
    }
    let banner_text = banner(&used_marks).to_string();
    let used_tlp = used_marks.iter().filter_map(|m| m.tlp).max();
    // The warning's own TLP: the kind's usual level, never above what the audience accepts, and
    // never below the most restrictive TLP of what it carries (which releasability kept within
    // the ceiling).
    let default_tlp = match aud.kind {
        AudienceKind::Public => TlpLevel::Clear,
        AudienceKind::Operator => TlpLevel::Amber,
        AudienceKind::DomesticAgency => TlpLevel::AmberStrict,
        AudienceKind::PartnerService => TlpLevel::Red,
    };
    let tlp = default_tlp
        .min(aud.tlp_ceiling)
        .max(used_tlp.unwrap_or(TlpLevel::Clear));

    let valid = match aud.kind {
        AudienceKind::Public => ThreatWindow::imminent(input.now, threat.public_advice_hours),
        _ => threat.window,
    };
    // The public is told where and how long to stay away; protective measures are for those who
    // run the sites.
    let measures: Vec<String> = if aud.kind == AudienceKind::Public {
        Vec::new()
    } else {
        threat.measures.clone()
    };
    let labels: Vec<String> = targets.iter().map(|t| t.label.clone()).collect();
    let mut text = String::new();
    let headline;
    let mut line = |s: &str| {
        text.push_str(s);
        text.push('\n');
    };
    match aud.kind {
        AudienceKind::PartnerService | AudienceKind::DomesticAgency => {
            headline = format!(
                "Threat warning: planned {} by {} against {}",
                harms_text,
                actor_text,
                labels.join("; ")
            );
            line(&banner_text);
            line(&format!("TO: {}", aud.name));
            line(&format!("SUBJECT: {headline}"));
            line("");
            line(&format!(
                "1. Threat: {} by {} ({} credibility).",
                harms_text,
                actor_text,
                format!("{:?}", threat.credibility).to_lowercase()
            ));
            line(&format!(
                "2. Window: {} to {}.",
                fmt_time(threat.window.from),
                fmt_time(threat.window.until)
            ));
            line("3. Targets:");
            for t in &targets {
                match t.window {
                    Some(w) => line(&format!(
                        "   - {} (from {} to {})",
                        t.label,
                        fmt_time(w.from),
                        fmt_time(w.until)
                    )),
                    None => line(&format!("   - {}", t.label)),
                }
            }
            if !body.is_empty() {
                line("4. Detail:");
                for p in &body {
                    line(&format!("   {}", p.text));
                }
            }
            if !measures.is_empty() {
                line("5. Recommended measures:");
                for m in &measures {
                    line(&format!("   - {m}"));
                }
            }
            line(&format!(
                "Please acknowledge receipt and confirm protective posture every {} hours until {}. {}",
                input.posture_interval_hours,
                fmt_time(threat.window.until),
                input.ack_instructions
            ));
            line(&banner_text);
        }
        AudienceKind::Operator => {
            let names: BTreeSet<&str> = input.entities.iter().map(|e| e.name.as_str()).collect();
            let names = names.into_iter().collect::<Vec<_>>().join(", ");
            headline = format!(
                "Security warning for {}: credible threat to {}",
                if names.is_empty() {
                    aud.name.as_str()
                } else {
                    names.as_str()
                },
                labels.join("; ")
            );
            line(tlp.label());
            line(&format!("TO: {}", aud.name));
            line(&format!("SUBJECT: {headline}"));
            line("");
            for p in &body {
                line(&p.text);
            }
            if !names.is_empty() {
                line(&format!(
                    "Your site(s) {names} fall within this threat. Expected harm: {harms_text}."
                ));
            } else {
                line(&format!("Expected harm: {harms_text}."));
            }
            line(&format!(
                "The threat is considered live from {} until {}.",
                fmt_time(threat.window.from),
                fmt_time(threat.window.until)
            ));
            line("What to check:");
            if measures.is_empty() {
                line("  - Screen visitors and bags at every entrance, and report reconnaissance of the site to the police");
            }
            for m in &measures {
                line(&format!("  - {m}"));
            }
            line("Where to take people: brief every steward on the evacuation routes and on assembly points away from the building and its car parks; keep all emergency exits unlocked and clear during events.");
            line(&format!(
                "Whom to call: in an emergency {}; to report suspicious activity or ask for support, {}.",
                emergency_number(aud),
                aud.escalation_contact.as_deref().unwrap_or("the police")
            ));
            line(&format!(
                "Keep these measures in place until the window closes, even if nothing happens for days, and confirm your posture every {} hours. {}",
                input.posture_interval_hours, input.ack_instructions
            ));
        }
        AudienceKind::Public => {
            let avoid = labels.join("; ");
            headline = format!(
                "Security alert: avoid {avoid} over the next {} hours",
                threat.public_advice_hours
            );
            line(tlp.label());
            line(&headline);
            line("");
            for p in &body {
                line(&p.text);
            }
            let sep = if avoid.contains(',') { "," } else { "" };
            // No absolute end time in the text: the advisory is held until partners were warned,
            // and its 48 hours count from publication (the engine fixes `valid` at release; CAP
            // carries it as `expires`).
            line(&format!(
                "Avoid {avoid}{sep} over the next {} hours. Be aware of your surroundings, monitor local media for updates and follow the instructions of local authorities.",
                threat.public_advice_hours,
            ));
            line(&format!("Updates: {}", input.ack_instructions));
        }
    }
    let text = text.trim_end().to_owned() + "\n";
    gate.check("text", &text)?;
    gate.check("headline", &headline)?;
    for (i, m) in measures.iter().enumerate() {
        gate.check(&format!("measures[{i}]"), m)?;
    }
    for (i, l) in labels.iter().enumerate() {
        gate.check(&format!("targets[{i}]"), l)?;
    }
    gate.check("banner", &banner_text)?;
    Ok(Composed {
        tlp,
        banner: banner_text,
        specificity: spec,
        headline,
        text,
        measures,
        valid,
        withheld_portions: withheld,
        summarised_portions: summarised,
        targets: labels,
    })
}

// ---- leak gate ----

/// A normalised word of a text and its byte span there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Word {
    /// Folded under [`Key::Spelling`](crate::fold::Key) and stemmed ([`stem`]).
    pub norm: String,
    /// Folded under [`Key::LookAlike`](crate::fold::Key) and stemmed.
    pub alt: String,
    pub start: usize,
    pub end: usize,
}

impl Word {
    /// The same word under either key.
    pub fn same(&self, other: &Word) -> bool {
        self.norm == other.norm
            || self.alt == other.alt
            || self.norm == other.alt
            || self.alt == other.norm
    }
}

/// Split a text into words ([`crate::fold::words`]: runs of letters and digits, folded across
/// scripts and spellings) and stem each. "Attacks," "ATTACK" and "attacked" all become `attack`,
/// "ISIS-K" becomes `isis k`, and `CANOPÉE`, `Canopee` and `Сanopee` (Cyrillic С) meet, so
/// punctuation, case, inflection and spelling do not hide a copy. Spans are in `text`.
pub fn normalized_words(text: &str) -> Vec<Word> {
    crate::fold::words(text)
        .into_iter()
        .map(|w| {
            let norm = stem(&w.spelling);
            let alt = if w.look_alike == w.spelling {
                norm.clone()
            } else {
                stem(&w.look_alike)
            };
            Word {
                norm,
                alt,
                start: w.start,
                end: w.end,
            }
        })
        .collect()
}

/// A small suffix-stripping stemmer for English (a subset of Porter's step 1): plural `-s`/`-es`/
/// `-ies`, `-ed`, `-ing`, with a doubled final consonant undone ("planned" → "plan"). Words of
/// three characters or fewer and non-ASCII words are returned unchanged. It only has to map the
/// inflections a light rewording produces onto one form, consistently; it is not a dictionary.
pub fn stem(w: &str) -> String {
    if w.len() <= 3 || !w.is_ascii() {
        return w.to_owned();
    }
    // Step 1a: plurals. Step 1b then runs on the result, so "gatherings" and "gathering" meet.
    let w = if let Some(b) = w.strip_suffix("ies") {
        format!("{b}y")
    } else if let Some(b) = w.strip_suffix("sses") {
        format!("{b}ss")
    } else if w.ends_with("ss") || w.ends_with("us") || w.ends_with("is") {
        w.to_owned()
    } else if ["xes", "ches", "shes", "zes"]
        .iter()
        .any(|es| w.ends_with(es))
    {
        w[..w.len() - 2].to_owned()
    } else if let Some(b) = w.strip_suffix('s') {
        b.to_owned()
    } else {
        w.to_owned()
    };
    for suf in ["ing", "ed"] {
        if let Some(b) = w.strip_suffix(suf) {
            if b.len() >= 3 && b.bytes().any(|c| b"aeiouy".contains(&c)) {
                let bytes = b.as_bytes();
                let n = bytes.len();
                if bytes[n - 1] == bytes[n - 2] && !b"aeioulsz".contains(&bytes[n - 1]) {
                    return b[..n - 1].to_owned();
                }
                return b.to_owned();
            }
        }
    }
    w
}

/// Function words carry no information about a source; leaving them out of the n-grams makes the
/// check survive light rewording ("the source in the city" → "a source in that city").
pub const STOPWORDS: &[&str] = &[
    "a", "an", "the", "of", "in", "on", "at", "to", "for", "and", "or", "with", "by", "from", "is",
    "are", "was", "were", "be", "been", "that", "this", "these", "those", "it", "its", "as",
    "into", "has", "have", "had", "which", "will", "would", "there", "their", "who", "whom",
    "also", "about", "than", "then", "such",
];

fn is_stopword(w: &Word) -> bool {
    STOPWORDS.contains(&w.norm.as_str())
}

/// The content words (normalised, stop words removed) of a text.
pub fn content_words(text: &str) -> Vec<Word> {
    normalized_words(text)
        .into_iter()
        .filter(|w| !is_stopword(w))
        .collect()
}

/// The n-gram length of the gate: three content words are distinctive enough that an ordinary
/// sentence rarely repeats them by chance, short enough that rewording one clause leaves some.
pub const NGRAM: usize = 3;

/// The distinctive-gram length for a withheld text of `n` content words: [`NGRAM`], or the whole
/// text when it is shorter (a two-word code name is itself distinctive).
pub fn gram_len(n: usize) -> usize {
    n.min(NGRAM)
}

fn join(ws: &[Word]) -> String {
    ws.iter()
        .map(|w| w.norm.as_str())
        .collect::<Vec<_>>()
        .join(" ")
}

fn join_alt(ws: &[Word]) -> String {
    ws.iter()
        .map(|w| w.alt.as_str())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The gram of `ws` under each key (one string when both keys agree).
fn grams_of(ws: &[Word]) -> impl Iterator<Item = String> {
    let (a, b) = (join(ws), join_alt(ws));
    let b = (a != b).then_some(b);
    std::iter::once(a).chain(b)
}

/// Where `seq` occurs in `tw` as consecutive words (each the same under either key).
fn find_seq(tw: &[Word], seq: &[Word]) -> Option<(usize, usize)> {
    if seq.is_empty() {
        return None;
    }
    tw.windows(seq.len())
        .find(|w| w.iter().zip(seq).all(|(a, b)| a.same(b)))
        .map(|w| (w[0].start, w[w.len() - 1].end))
}

/// One withheld, marked fact the gate watches for.
struct Withheld {
    rule: LeakRule,
    /// Rule reported for n-gram (not whole) matches of a portion.
    ngram_rule: Option<(usize, String)>,
    /// All normalised words, stop words included: the verbatim form.
    words: Vec<Word>,
    /// Content-word grams (under each key) that no releasable source contains.
    distinctive: Vec<String>,
}

/// The leak gate with its per-threat, per-audience tables built once.
/// A withheld fact to look for: the rule it breaks, its optional (line, mark) and its text.
type WithheldItem<'t> = (LeakRule, Option<(usize, String)>, &'t str);

struct Gate {
    audience: String,
    restricted: Vec<(String, Vec<Word>)>,
    withheld: Vec<Withheld>,
}

impl Gate {
    fn new(
        threat: &Threat,
        audience: &Audience,
        global_restricted: &[String],
        allowed_phrases: &[&str],
    ) -> Gate {
        let is_rel = |m: &PortionMark| releasable_to(m, audience, threat.originator).is_ok();
        let restricted = threat
            .restricted_terms
            .iter()
            .chain(global_restricted)
            .map(|t| (t.clone(), normalized_words(t)))
            .filter(|(_, ws)| !ws.is_empty())
            .collect();

        // Releasable sources: what the audience may be told anyway. A gram they contain is not
        // evidence of a leak, and neither is a withheld text they contain whole.
        let mut sources: Vec<&str> = Vec::new();
        let mut items: Vec<WithheldItem<'_>> = Vec::new();
        for p in &threat.portions {
            if is_rel(&p.mark) {
                sources.push(&p.text);
            } else {
                let mark = p.mark.to_string();
                items.push((
                    LeakRule::VerbatimPortion {
                        line: p.line,
                        mark: mark.clone(),
                    },
                    Some((p.line, mark)),
                    &p.text,
                ));
            }
        }
        for t in &threat.targets {
            let texts = std::iter::once(t.label.as_str()).chain(t.name.as_deref());
            if is_rel(&t.mark) {
                sources.extend(texts);
            } else {
                for x in texts {
                    items.push((
                        LeakRule::WithheldTarget {
                            label: t.label.clone(),
                            mark: t.mark.to_string(),
                        },
                        None,
                        x,
                    ));
                }
            }
        }
        if let Some(actor) = &threat.actor {
            if is_rel(&threat.actor_mark) {
                sources.push(actor);
            } else {
                items.push((
                    LeakRule::WithheldActor {
                        mark: threat.actor_mark.to_string(),
                    },
                    None,
                    actor,
                ));
            }
        }
        sources.extend(allowed_phrases.iter().copied());

        let mut allowed_grams: HashSet<String> = HashSet::new();
        let mut source_words: Vec<Vec<Word>> = Vec::new();
        for s in &sources {
            let cw = content_words(s);
            for k in 1..=NGRAM {
                for win in cw.windows(k) {
                    allowed_grams.extend(grams_of(win));
                }
            }
            source_words.push(normalized_words(s));
        }
        let withheld = items
            .into_iter()
            .filter_map(|(rule, ngram_rule, text)| {
                let words = normalized_words(text);
                if words.is_empty() {
                    return None;
                }
                if source_words.iter().any(|s| find_seq(s, &words).is_some()) {
                    // Released whole elsewhere in the report: nothing of it is secret from this audience.
                    return None;
                }
                let cw = content_words(text);
                let k = gram_len(cw.len());
                let mut distinctive: Vec<String> = Vec::new();
                if k > 0 {
                    for win in cw.windows(k) {
                        for g in grams_of(win) {
                            if !allowed_grams.contains(&g) && !distinctive.contains(&g) {
                                distinctive.push(g);
                            }
                        }
                    }
                }
                Some(Withheld {
                    rule,
                    ngram_rule,
                    words,
                    distinctive,
                })
            })
            .collect();
        Gate {
            audience: audience.id.to_string(),
            restricted,
            withheld,
        }
    }

    fn has_restricted(&self, text: &str) -> bool {
        let tw = normalized_words(text);
        self.restricted
            .iter()
            .any(|(_, seq)| find_seq(&tw, seq).is_some())
    }

    fn check(&self, field: &str, text: &str) -> Result<(), LeakError> {
        let block = |rule: LeakRule, start: usize, end: usize| LeakError {
            audience: self.audience.clone(),
            rule,
            field: field.to_owned(),
            start,
            end,
            excerpt: text.get(start..end).unwrap_or("").to_owned(),
        };
        let tw = normalized_words(text);
        for (term, seq) in &self.restricted {
            if let Some((s, e)) = find_seq(&tw, seq) {
                return Err(block(LeakRule::RestrictedTerm { term: term.clone() }, s, e));
            }
        }
        if self.withheld.is_empty() {
            return Ok(());
        }
        for w in &self.withheld {
            if let Some((s, e)) = find_seq(&tw, &w.words) {
                return Err(block(w.rule.clone(), s, e));
            }
        }
        // Every gram of the text (lengths 1..=NGRAM, under each key), with the span of its
        // first occurrence.
        let cw: Vec<Word> = tw
            .into_iter()
            .filter(|w| !is_stopword(w))
            .collect();
        let mut grams: HashMap<String, (usize, usize)> = HashMap::new();
        for k in 1..=NGRAM {
            for win in cw.windows(k) {
                for g in grams_of(win) {
                    grams.entry(g).or_insert((win[0].start, win[k - 1].end));
                }
            }
        }
        for w in &self.withheld {
            let hits: Vec<(usize, usize)> = w
                .distinctive
                .iter()
                .filter_map(|g| grams.get(g).copied())
                .collect();
            if let Some(&(s, e)) = hits.first() {
                let rule = match &w.ngram_rule {
                    Some((line, mark)) => LeakRule::PortionNgrams {
                        line: *line,
                        mark: mark.clone(),
                        shared: hits.len(),
                    },
                    None => w.rule.clone(),
                };
                return Err(block(rule, s, e));
            }
        }
        Ok(())
    }
}

/// Block `text` if it contains
/// 1. a restricted term (per report or in `global_restricted`), as a normalised word sequence
///    ([`normalized_words`]: case, punctuation and inflection do not matter) — rule `restricted_term`;
/// 2. a withheld fact — a portion, target spec (label or name) or actor whose mark is not
///    releasable to `audience` — whole, as a normalised word sequence — rules `verbatim_portion`,
///    `withheld_target`, `withheld_actor`;
/// 3. any *distinctive* n-gram of a withheld fact: a sequence of [`NGRAM`] content words (stop
///    words left out; the whole text if shorter) that no releasable source contains — rules
///    `portion_ngrams`, `withheld_target`, `withheld_actor`.
///
/// Releasable sources are the releasable portions, target labels/names and actor, and the
/// `allowed` phrases ([`compose`] passes the audience's own site names, its name and contact). A withheld fact that a releasable source
/// contains whole is not secret from this audience and is skipped. Unmarked report fields
/// (measures) are *not* sources: they are checked like any composed text.
pub fn leak_gate(
    text: &str,
    threat: &Threat,
    audience: &Audience,
    global_restricted: &[String],
    allowed_phrases: &[&str],
) -> Result<(), LeakError> {
    Gate::new(threat, audience, global_restricted, allowed_phrases).check("text", text)
}

/// The leak-proof property, shared by the property tests (`crates/tocsin-core/tests/compose_props.rs`)
/// and `tocsin bench leakproof`: a deterministic generator of random (threat, audience) cases from a
/// seed, and an oracle that checks what [`compose`] produced.
///
/// The property: for every case, `compose` either refuses (an error) or returns a warning none of
/// whose fields (text, headline, measures, target labels, banner) contains a restricted term, or
/// a withheld fact (portion, target label/name, actor not releasable to the audience) whole or by
/// a distinctive n-gram, or — checked on the raw text, without the stemmer — a withheld portion
/// verbatim; whose TLP is within the audience's ceiling (CLEAR for the public). "Distinctive" and
/// "releasable source" mean what they mean in [`leak_gate`]; the oracle re-implements the check by
/// brute-force string search rather than the gate's tables.
// `Seeded::pick` is generic: without the explicit deref, `cc(rng.pick(..))` infers `T = str`.
#[allow(clippy::explicit_auto_deref)]
pub mod proof {
    use super::*;
    use crate::country::CountryCode;
    use crate::entity::{Category, EntityKind};
    use crate::ids::{AudienceId, EntityId, ThreatId};
    use crate::marking::SciControl;
    use crate::threat::Area;
    use crate::threat::{Credibility, Harm};
    use chrono::{Duration, TimeZone, Utc};

    /// The seeded source of every case (one shared implementation for all generators).
    pub use crate::seeded::SplitMix64 as Rng;

    /// The seed of case `i` of a run seeded with `seed`: cases are independent of each other.
    pub fn case_seed(seed: u64, i: u64) -> u64 {
        Rng::new(seed ^ i.wrapping_mul(0xD1B5_4A32_D192_ED03)).next_u64()
    }

    const VOCAB: &[&str] = &[
        "operatives",
        "cell",
        "attack",
        "attacks",
        "concert",
        "hall",
        "stadium",
        "network",
        "courier",
        "safehouse",
        "explosives",
        "rifles",
        "weapons",
        "plan",
        "planned",
        "planning",
        "target",
        "gatherings",
        "crowd",
        "venue",
        "station",
        "metro",
        "airport",
        "market",
        "school",
        "embassy",
        "hotel",
        "bridge",
        "convoy",
        "border",
        "transfer",
        "money",
        "phones",
        "meeting",
        "reconnaissance",
        "drone",
        "vehicle",
        "truck",
        "team",
        "leader",
        "recruits",
        "training",
        "camp",
        "video",
        "photos",
        "entrance",
        "exits",
        "seating",
        "guards",
        "police",
        "checkpoint",
        "synagogue",
        "church",
        "festival",
        "parade",
        "square",
        "district",
        "city",
        "region",
        "river",
        "night",
        "weekend",
        "march",
        "friday",
        "evening",
        "large",
        "armed",
        "sold-out",
        "imminent",
        "several",
        "three",
        "foreign",
        "local",
        "suspected",
        "credible",
        "sensitive",
        "human",
        "source",
        "liaison",
        "signals",
        "Moscow",
        "Krasnogorsk",
        "Kerman",
        "ring",
        "road",
        "mass-casualty",
        "incendiary",
        "devices",
        "tasked",
        "discussing",
        "access",
        "external",
        "operations",
        "Zürich",
        "Straße",
        "Москва",
        "вокзал",
        "Αθήνα",
        "πλατεία",
        "القاهرة",
        "Kraków",
        "Ærø",
    ];
    const STOPS: &[&str] = &["the", "a", "of", "in", "to", "and", "with", "at", "by"];
    /// Restricted terms of the generated cases, in several scripts and spellings.
    pub const CODE_NAMES: &[&str] = &[
        "CARDINAL SPARROW",
        "LANTERN GLASS",
        "Herat facilitation network",
        "BLUE HERON",
        "KESTREL",
        "ORCHID",
        "IRON VEIL",
        "SILVER FERN",
        "CANOPÉE",
        "Zürich Relay",
        "ЛАНТЕРН",
        "Kraków Line",
        "SØNDERBORG",
        "Straße Sieben",
        "ΑΘΗΝΑ ΝΥΧΤΑ",
        "الصقر الأزرق",
        "Łódź Gate",
        "Ærøskøbing Watch",
    ];
    const COUNTRIES: &[&str] = &["USA", "RUS", "GBR", "IRN", "AUS", "CAN", "NZL"];

    fn cc(s: &str) -> CountryCode {
        CountryCode::parse(s).expect("static alpha-3 code")
    }

    fn words(rng: &mut Rng, min: usize, max: usize) -> String {
        let n = min + rng.index(max - min + 1);
        let mut out: Vec<String> = Vec::with_capacity(n);
        for i in 0..n {
            let mut w = if rng.percent(15) {
                (*rng.pick(STOPS)).to_owned()
            } else {
                (*rng.pick(VOCAB)).to_owned()
            };
            if i == 0 || rng.percent(5) {
                w = capitalise(&w);
            }
            if i + 1 < n && rng.percent(8) {
                w.push(',');
            }
            out.push(w);
        }
        out.join(" ")
    }

    fn capitalise(w: &str) -> String {
        let mut c = w.chars();
        c.next()
            .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
            .unwrap_or_default()
    }

    fn sentence(rng: &mut Rng) -> String {
        words(rng, 2, 14) + "."
    }

    fn gen_tlp(rng: &mut Rng) -> TlpLevel {
        *rng.pick(&[
            TlpLevel::Clear,
            TlpLevel::Green,
            TlpLevel::Amber,
            TlpLevel::AmberStrict,
            TlpLevel::Red,
        ])
    }

    fn gen_rel_to(rng: &mut Rng) -> BTreeSet<CountryCode> {
        let mut set: BTreeSet<CountryCode> = BTreeSet::new();
        if rng.percent(20) {
            set.extend(["USA", "AUS", "CAN", "GBR", "NZL"].iter().map(|c| cc(c)));
        }
        for _ in 0..1 + rng.index(3) {
            set.insert(cc(*rng.pick(COUNTRIES)));
        }
        set
    }

    /// A random mark the parser would accept (checked by the property tests' round trip).
    pub fn gen_mark(rng: &mut Rng, tearline: bool) -> PortionMark {
        let mut m = PortionMark::unclassified();
        let roll = rng.index(100);
        let public_bias = if tearline { 60 } else { 25 };
        if roll < public_bias {
            if rng.percent(20) {
                m.tlp = Some(TlpLevel::Clear);
            }
            return m;
        }
        if roll < public_bias + 10 {
            if rng.percent(50) {
                m.fouo = true;
            } else {
                m.cui = true;
            }
            if rng.percent(30) {
                m.tlp = Some(gen_tlp(rng));
            }
            if rng.percent(15) {
                m.rel_to = Some(gen_rel_to(rng));
            }
            return m;
        }
        if roll < public_bias + 20 {
            m.tlp = Some(gen_tlp(rng));
            return m;
        }
        m.classification = *rng.pick(&[
            Classification::U,
            Classification::C,
            Classification::S,
            Classification::S,
            Classification::TS,
        ]);
        if m.classification >= Classification::S && rng.percent(25) {
            m.sci
                .insert(*rng.pick(&[SciControl::SI, SciControl::TK, SciControl::HCS]));
            if rng.percent(30) {
                m.sci
                    .insert(*rng.pick(&[SciControl::SI, SciControl::TK, SciControl::HCS]));
            }
        }
        match rng.index(10) {
            0..=2 => m.noforn = true,
            3..=7 => m.rel_to = Some(gen_rel_to(rng)),
            _ => {}
        }
        m.orcon = rng.percent(15);
        if rng.percent(15) {
            m.tlp = Some(gen_tlp(rng));
        }
        m
    }

    /// A variant of a restricted term as an author might slip it in: other case, hyphenated,
    /// plural, or another spelling ([`spelling_variant`]).
    fn term_variant(rng: &mut Rng, term: &str) -> String {
        match rng.index(8) {
            0 => term.to_lowercase(),
            1 => term.to_uppercase(),
            2 => term.replace(' ', "-"),
            3 => format!("{term}s"),
            4 => term.to_owned(),
            _ => spelling_variant(rng, term).1,
        }
    }

    /// The spelling variant classes the gate folds (docs/formats.md, "The leak gate").
    pub const VARIANT_CLASSES: &[&str] = &[
        "case",
        "accents_removed",
        "accents_added",
        "nfd",
        "look_alikes",
        "invisible",
        "fullwidth",
        "expansions",
        "transliterated",
    ];

    /// Latin letters and their Cyrillic and Greek look-alikes (UTS #39 confusables).
    const LOOK_ALIKES: &[(char, char)] = &[
        ('A', 'А'), ('A', 'Α'), ('B', 'В'), ('B', 'Β'), ('C', 'С'), ('E', 'Е'), ('E', 'Ε'),
        ('H', 'Н'), ('H', 'Η'), ('I', 'Ι'), ('K', 'К'), ('K', 'Κ'), ('M', 'М'), ('M', 'Μ'),
        ('N', 'Ν'), ('O', 'О'), ('O', 'Ο'), ('P', 'Р'), ('P', 'Ρ'), ('T', 'Т'), ('T', 'Τ'),
        ('X', 'Х'), ('X', 'Χ'), ('Y', 'У'), ('Y', 'Υ'), ('Z', 'Ζ'), ('a', 'а'), ('c', 'с'),
        ('e', 'е'), ('o', 'о'), ('o', 'ο'), ('p', 'р'), ('x', 'х'), ('y', 'у'), ('i', 'і'),
        ('i', 'ι'), ('j', 'ј'), ('s', 'ѕ'), ('v', 'ν'), ('u', 'υ'),
    ];

    /// Latin letters written one for one in Cyrillic and in Greek (and back by [`TRANSLIT`]).
    const LATIN_TO_CYRILLIC: &[(char, char)] = &[
        ('a', 'а'), ('b', 'б'), ('v', 'в'), ('g', 'г'), ('d', 'д'), ('e', 'е'), ('z', 'з'),
        ('i', 'и'), ('k', 'к'), ('l', 'л'), ('m', 'м'), ('n', 'н'), ('o', 'о'), ('p', 'п'),
        ('r', 'р'), ('s', 'с'), ('t', 'т'), ('u', 'у'), ('f', 'ф'),
    ];
    const LATIN_TO_GREEK: &[(char, char)] = &[
        ('a', 'α'), ('v', 'β'), ('g', 'γ'), ('d', 'δ'), ('e', 'ε'), ('z', 'ζ'), ('i', 'ι'),
        ('k', 'κ'), ('l', 'λ'), ('m', 'μ'), ('n', 'ν'), ('x', 'ξ'), ('o', 'ο'), ('p', 'π'),
        ('r', 'ρ'), ('s', 'σ'), ('t', 'τ'), ('y', 'υ'), ('f', 'φ'),
    ];

    /// Lower-case letters and their Latin spelling, for the oracle's own folding and the
    /// generator's transliterations: Cyrillic, Greek and Arabic letter by letter (Arabic alef
    /// and the unwritten short vowels give nothing), and the letters that expand.
    const TRANSLIT: &[(char, &str)] = &[
        ('а', "a"), ('б', "b"), ('в', "v"), ('г', "g"), ('д', "d"), ('е', "e"), ('ё', "e"),
        ('ж', "zh"), ('з', "z"), ('и', "i"), ('й', "y"), ('к', "k"), ('л', "l"), ('м', "m"),
        ('н', "n"), ('о', "o"), ('п', "p"), ('р', "r"), ('с', "s"), ('т', "t"), ('у', "u"),
        ('ф', "f"), ('х', "kh"), ('ц', "ts"), ('ч', "ch"), ('ш', "sh"), ('щ', "shch"),
        ('ъ', ""), ('ы', "y"), ('ь', ""), ('э', "e"), ('ю', "yu"), ('я', "ya"), ('і', "i"),
        ('ј', "j"), ('ѕ', "dz"), ('α', "a"), ('β', "v"), ('γ', "g"), ('δ', "d"), ('ε', "e"),
        ('ζ', "z"), ('η', "i"), ('θ', "th"), ('ι', "i"), ('κ', "k"), ('λ', "l"), ('μ', "m"),
        ('ν', "n"), ('ξ', "x"), ('ο', "o"), ('π', "p"), ('ρ', "r"), ('σ', "s"), ('ς', "s"),
        ('τ', "t"), ('υ', "y"), ('φ', "f"), ('χ', "ch"), ('ψ', "ps"), ('ω', "o"), ('ا', ""),
        ('ب', "b"), ('ت', "t"), ('د', "d"), ('ر', "r"), ('ز', "z"), ('س', "s"), ('ص', "s"),
        ('ق', "q"), ('ك', "k"), ('ل', "l"), ('م', "m"), ('ن', "n"), ('ه', "h"), ('و', "w"),
        ('ي', "y"), ('ß', "ss"), ('æ', "ae"), ('œ', "oe"), ('ø', "o"), ('ł', "l"), ('đ', "d"),
        ('þ', "th"), ('ı', "i"),
    ];

    /// Invisible characters an author or a tool may leave inside a word.
    const INVISIBLE: &[char] = &[
        '\u{200B}', '\u{AD}', '\u{200C}', '\u{200D}', '\u{2060}', '\u{FEFF}', '\u{200E}',
        '\u{FE0F}', '\u{202C}',
    ];

    fn strip_marks(s: &str) -> String {
        use unicode_normalization::UnicodeNormalization;
        s.nfd()
            .filter(|c| !unicode_normalization::char::is_combining_mark(*c))
            .nfc()
            .collect()
    }

    fn case_like(c: char, like: char) -> String {
        if like.is_uppercase() {
            c.to_uppercase().collect()
        } else {
            c.to_string()
        }
    }

    /// `text` in a spelling of one of [`VARIANT_CLASSES`] (chosen at random; the class is
    /// returned too). Every class is one the gate folds: the result means the same text.
    pub fn spelling_variant(rng: &mut Rng, text: &str) -> (&'static str, String) {
        let class = *rng.pick(VARIANT_CLASSES);
        (class, variant_of(rng, class, text))
    }

    /// `text` spelt as the variant class `class` ([`VARIANT_CLASSES`]) has it.
    pub fn variant_of(rng: &mut Rng, class: &str, text: &str) -> String {
        use unicode_normalization::UnicodeNormalization;
        match class {
            "case" => match rng.index(3) {
                0 => text.to_uppercase(),
                1 => text.to_lowercase(),
                _ => text
                    .split(' ')
                    .map(|w| capitalise(&w.to_lowercase()))
                    .collect::<Vec<_>>()
                    .join(" "),
            },
            "accents_removed" => strip_marks(text),
            "accents_added" => {
                // Diacritics on Latin vowels, harakat on Arabic letters: marks the gate drops.
                let mut out = String::new();
                for c in text.chars() {
                    out.push(c);
                    if "aeiouAEIOU".contains(c) && rng.percent(50) {
                        out.push(*rng.pick(&['\u{301}', '\u{300}', '\u{308}', '\u{302}']));
                    } else if ('\u{620}'..='\u{64A}').contains(&c) && rng.percent(50) {
                        out.push(*rng.pick(&['\u{64E}', '\u{650}', '\u{651}', '\u{652}']));
                    }
                }
                out.nfc().collect()
            }
            "nfd" => text.nfd().collect(),
            "look_alikes" => text
                .chars()
                .map(|c| {
                    let pairs: Vec<char> = LOOK_ALIKES
                        .iter()
                        .filter_map(|&(l, o)| {
                            if l == c {
                                Some(o)
                            } else if o == c {
                                Some(l)
                            } else {
                                None
                            }
                        })
                        .collect();
                    if pairs.is_empty() || rng.percent(30) {
                        c
                    } else {
                        *rng.pick(&pairs)
                    }
                })
                .collect(),
            "invisible" => {
                let chars: Vec<char> = text.chars().collect();
                let mut out = String::new();
                for (i, &c) in chars.iter().enumerate() {
                    out.push(c);
                    let inside = c.is_alphanumeric()
                        && chars.get(i + 1).is_some_and(|n| n.is_alphanumeric());
                    if inside && rng.percent(30) {
                        // Arabic is stretched with the tatweel; any script may carry the rest.
                        if ('\u{620}'..='\u{64A}').contains(&c) && rng.percent(50) {
                            out.push('\u{640}');
                        } else {
                            out.push(*rng.pick(INVISIBLE));
                        }
                    }
                }
                out
            }
            "fullwidth" => text
                .chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() {
                        char::from_u32(c as u32 - 0x21 + 0xFF01).unwrap_or(c)
                    } else {
                        c
                    }
                })
                .collect(),
            "expansions" => {
                let had_sharp_s = text.contains('ß');
                let mut out = String::new();
                for c in text.chars() {
                    match c {
                        'ß' => out.push_str("ss"),
                        'Ø' => out.push('O'),
                        'ø' => out.push('o'),
                        'Æ' => out.push_str("AE"),
                        'æ' => out.push_str("ae"),
                        'Ł' => out.push('L'),
                        'ł' => out.push('l'),
                        'o' if rng.percent(30) => out.push('ø'),
                        'O' if rng.percent(30) => out.push('Ø'),
                        'l' if rng.percent(30) => out.push('ł'),
                        _ => out.push(c),
                    }
                }
                if had_sharp_s {
                    out
                } else {
                    out.replace("ss", "ß")
                }
            }
            _ => {
                // Transliterated: Latin letters into Cyrillic or Greek where one letter stands
                // for one; Cyrillic, Greek and Arabic letters into Latin.
                let to = if rng.percent(50) {
                    LATIN_TO_CYRILLIC
                } else {
                    LATIN_TO_GREEK
                };
                let mut out = String::new();
                for c in text.chars() {
                    let lower = c.to_lowercase().next().unwrap_or(c);
                    if let Some(&(_, o)) = to.iter().find(|(l, _)| *l == lower) {
                        out.push_str(&case_like(o, c));
                    } else if let Some(&(_, l)) = TRANSLIT.iter().find(|(o, _)| *o == lower) {
                        if c.is_uppercase() {
                            out.push_str(&l.to_uppercase());
                        } else {
                            out.push_str(l);
                        }
                    } else {
                        out.push(c);
                    }
                }
                out
            }
        }
    }

    /// A light rewording of `text`: case changes, stop words dropped or added, plurals, punctuation,
    /// or just a run of its words.
    fn reword(rng: &mut Rng, text: &str) -> String {
        let ws: Vec<&str> = text.split_whitespace().collect();
        if ws.is_empty() {
            return text.to_owned();
        }
        let (a, b) = if rng.percent(40) && ws.len() > 3 {
            let a = rng.index(ws.len() - 3);
            (a, (a + 3 + rng.index(ws.len() - a - 2)).min(ws.len()))
        } else {
            (0, ws.len())
        };
        let mut out = Vec::new();
        for w in &ws[a..b] {
            let bare = w.trim_matches(|c: char| !c.is_alphanumeric());
            if STOPS.contains(&bare.to_lowercase().as_str()) && rng.percent(50) {
                continue;
            }
            let mut w = match rng.index(6) {
                0 => bare.to_uppercase(),
                1 => bare.to_lowercase(),
                2 => format!("{bare}s"),
                3 => format!("{bare};"),
                _ => bare.to_owned(),
            };
            if rng.percent(10) {
                w = format!("the {w}");
            }
            out.push(w);
        }
        out.join(" ")
    }

    /// One generated case: what `compose` is given.
    #[derive(Debug, Clone)]
    pub struct Case {
        pub threat: Threat,
        pub audience: Audience,
        pub entities: Vec<Entity>,
        pub global_restricted: Vec<String>,
    }

    /// Build the case of `seed`: random portions (random marks incl. REL TO lists, NOFORN, ORCON,
    /// SCI, FOUO/CUI, TLP; tearlines), targets, actor, measures, restricted terms planted anywhere
    /// (also inside releasable text), copies and light rewordings of marked text planted into
    /// other fields, and a random audience of any kind, country, clearance and TLP ceiling.
    pub fn gen_case(seed: u64) -> Case {
        let rng = &mut Rng::new(seed);
        let base = Utc
            .with_ymd_and_hms(2024, 3, 6, 8, 0, 0)
            .single()
            .expect("valid date");
        let originator = cc(*rng.pick(&["USA", "USA", "GBR", "RUS"]));
        let portions: Vec<Portion> = (0..1 + rng.index(7))
            .map(|i| {
                let tearline = rng.percent(20);
                Portion {
                    mark: gen_mark(rng, tearline),
                    text: sentence(rng),
                    tearline,
                    line: 20 + i,
                }
            })
            .collect();
        // Mostly at least one target (no target is only ever NothingActionable).
        let targets: Vec<TargetSpec> = (0..(rng.index(10) > 0) as usize + rng.index(3))
            .map(|_| {
                let window = rng.percent(20).then(|| {
                    ThreatWindow::imminent(base + Duration::hours(rng.index(200) as i64), 48)
                });
                TargetSpec {
                    label: words(rng, 1, 6),
                    mark: {
                        let public_bias = rng.percent(40);
                        gen_mark(rng, public_bias)
                    },
                    name: rng.percent(35).then(|| {
                        capitalise(*rng.pick(VOCAB)) + " " + &capitalise(*rng.pick(VOCAB))
                    }),
                    categories: if rng.percent(50) {
                        vec![Category::parse("venue/entertainment/concert_hall").expect("static")]
                    } else {
                        vec![]
                    },
                    min_size: None,
                    area: rng.percent(50).then(|| Area::Named {
                        name: "Moscow".into(),
                    }),
                    window,
                    footprint: Default::default(),
                }
            })
            .collect();
        let actor = rng.percent(75).then(|| {
            if rng.percent(50) {
                "ISIS-K".to_owned()
            } else {
                words(rng, 1, 4)
            }
        });
        let mut restricted: Vec<String> = (0..rng.index(4))
            .map(|_| (*rng.pick(CODE_NAMES)).to_owned())
            .collect();
        let global: Vec<String> = (0..rng.index(3))
            .map(|_| (*rng.pick(CODE_NAMES)).to_owned())
            .collect();
        if rng.percent(10) {
            restricted.push(words(rng, 1, 2));
        }
        let kind = *rng.pick(&[
            AudienceKind::PartnerService,
            AudienceKind::DomesticAgency,
            AudienceKind::Operator,
            AudienceKind::Public,
        ]);
        let clearance = match kind {
            // Mostly as a registry would have them; sometimes misconfigured, which releasability must survive.
            AudienceKind::Operator | AudienceKind::Public if rng.percent(80) => Classification::U,
            _ => *rng.pick(&[
                Classification::U,
                Classification::C,
                Classification::S,
                Classification::TS,
            ]),
        };
        let audience = Audience {
            id: AudienceId::new(format!("aud-{}", rng.index(1000))),
            name: words(rng, 1, 4),
            kind,
            country: rng.percent(85).then(|| cc(*rng.pick(COUNTRIES))),
            clearance,
            tlp_ceiling: gen_tlp(rng),
            orcon_approved: rng.percent(30),
            channels: vec![],
            escalation_contact: rng.percent(70).then(|| words(rng, 1, 5)),
            language: "en".into(),
            posture_interval_hours: Some(24),
        };
        let entities: Vec<Entity> = if kind == AudienceKind::Operator {
            (0..rng.index(3))
                .map(|i| Entity {
                    id: EntityId::new(format!("e{i}")),
                    kind: EntityKind::Venue,
                    name: format!("{} Arena", capitalise(*rng.pick(VOCAB))),
                    aliases: vec![],
                    category: Category::parse("venue/entertainment/concert_hall").expect("static"),
                    location: None,
                    capacity: None,
                    span: None,
                    venue: None,
                    city: None,
                    country: None,
                    audiences: vec![audience.id.clone()],
                    footprint: Default::default(),
                })
                .collect()
        } else {
            vec![]
        };
        let threat = Threat {
            id: ThreatId::new(format!("case-{seed:016x}")),
            title: "generated".into(),
            originator,
            received: base,
            actor,
            actor_mark: gen_mark(rng, false),
            harms: [
                Harm::Killing,
                Harm::SeriousInjury,
                Harm::Kidnapping,
                Harm::ArsonBombing,
            ]
            .into_iter()
            .filter(|_| rng.percent(50))
            .collect(),
            credibility: *rng.pick(&[
                Credibility::Possible,
                Credibility::Probable,
                Credibility::Confirmed,
            ]),
            window: ThreatWindow::imminent(base, 24 * (1 + rng.index(30) as i64)),
            public_advice_hours: *rng.pick(&[24, 48, 72]),
            targets,
            portions,
            restricted_terms: restricted,
            tlp: None,
            measures: (0..rng.index(4)).map(|_| sentence(rng)).collect(),
        };
        let mut case = Case {
            threat,
            audience,
            entities,
            global_restricted: global,
        };
        // Plant restricted terms (possibly altered) anywhere, also inside releasable text.
        let terms: Vec<String> = case
            .threat
            .restricted_terms
            .iter()
            .chain(&case.global_restricted)
            .cloned()
            .collect();
        for _ in 0..rng.index(3) {
            if let Some(t) = (!terms.is_empty()).then(|| rng.pick(&terms).clone()) {
                let v = term_variant(rng, &t);
                plant(rng, &mut case, &v);
            }
        }
        // Plant copies and rewordings of marked facts into other fields.
        for _ in 0..rng.index(3) {
            let src = match rng.index(3) {
                0 if !case.threat.targets.is_empty() => {
                    let t = rng.pick(&case.threat.targets);
                    t.name.clone().unwrap_or_else(|| t.label.clone())
                }
                1 if case.threat.actor.is_some() => case.threat.actor.clone().unwrap_or_default(),
                _ => rng.pick(&case.threat.portions).text.clone(),
            };
            let copy = if rng.percent(40) {
                src
            } else {
                reword(rng, &src)
            };
            let copy = if rng.percent(40) {
                spelling_variant(rng, &copy).1
            } else {
                copy
            };
            plant(rng, &mut case, &copy);
        }
        case
    }

    /// Insert `s` into a random field of the case: a portion, target label, actor, measure,
    /// audience name or escalation contact.
    fn plant(rng: &mut Rng, case: &mut Case, s: &str) {
        let into = |rng: &mut Rng, dst: &mut String| {
            let ws: Vec<&str> = dst.split(' ').collect();
            let at = rng.index(ws.len() + 1);
            let mut out: Vec<&str> = ws[..at].to_vec();
            out.push(s);
            out.extend(&ws[at..]);
            *dst = out.join(" ");
        };
        match rng.index(6) {
            0 if !case.threat.targets.is_empty() => {
                let i = rng.index(case.threat.targets.len());
                into(rng, &mut case.threat.targets[i].label);
            }
            1 => match case.threat.actor.as_mut() {
                Some(a) => into(rng, a),
                None => case.threat.actor = Some(s.to_owned()),
            },
            2 => case.threat.measures.push(s.to_owned()),
            3 => into(rng, &mut case.audience.name),
            4 => match case.audience.escalation_contact.as_mut() {
                Some(c) => into(rng, c),
                None => case.audience.escalation_contact = Some(s.to_owned()),
            },
            _ => {
                let i = rng.index(case.threat.portions.len());
                into(rng, &mut case.threat.portions[i].text);
            }
        }
    }

    /// Compose the case as the engine would (fixed `now`, posture interval and instructions).
    pub fn compose_case(case: &Case) -> Result<Composed, ComposeError> {
        let own: Vec<&Entity> = case.entities.iter().collect();
        compose(&ComposeInput {
            threat: &case.threat,
            audience: &case.audience,
            entities: &own,
            global_restricted: &case.global_restricted,
            now: case.threat.received,
            posture_interval_hours: 24,
            ack_instructions: "Acknowledge quoting the reference.",
        })
    }

    /// The oracle's own folding, written apart from [`crate::fold`] so that a bug there cannot
    /// hide a leak here: the words of `s` under the spelling key and under the look-alike key.
    /// Invisible characters are dropped, look-alikes replaced by their Latin letter (look-alike
    /// key only), then compatibility decomposition, marks dropped, lower case, and the letters
    /// of [`TRANSLIT`] spelt in Latin.
    pub fn oracle_words(s: &str) -> [Vec<String>; 2] {
        use unicode_normalization::UnicodeNormalization;
        let invisible = |c: char| {
            matches!(c as u32, 0xAD | 0x34F | 0x61C | 0x640 | 0x115F | 0x1160 | 0x17B4 | 0x17B5
                | 0x180B..=0x180F | 0x200B..=0x200F | 0x202A..=0x202E | 0x2060..=0x206F
                | 0x3164 | 0xFE00..=0xFE0F | 0xFEFF | 0xFFA0 | 0xE0000..=0xE0FFF)
        };
        let visible: String = s.chars().filter(|c| !invisible(*c)).collect();
        let mut out: [Vec<String>; 2] = [Vec::new(), Vec::new()];
        for (k, slot) in out.iter_mut().enumerate() {
            let text: String = if k == 1 {
                visible
                    .chars()
                    .map(|c| {
                        LOOK_ALIKES
                            .iter()
                            .find(|(_, o)| *o == c)
                            .map(|(l, _)| *l)
                            .unwrap_or(c)
                    })
                    .collect()
            } else {
                visible.clone()
            };
            let mut latin = String::new();
            for c in text
                .nfkd()
                .filter(|c| !unicode_normalization::char::is_combining_mark(*c))
                .flat_map(char::to_lowercase)
            {
                match TRANSLIT.iter().find(|(o, _)| *o == c) {
                    Some((_, l)) => latin.push_str(l),
                    None => latin.push(c),
                }
            }
            *slot = latin
                .split(|c: char| !c.is_alphanumeric())
                .filter(|w| !w.is_empty())
                .map(str::to_owned)
                .collect();
        }
        out
    }

    /// `s` under each key as `" w1 w2 … "`: words stemmed (`stem`), optionally without stop
    /// words, or raw (no stemmer, so a bug there cannot hide a verbatim copy).
    fn seqs(s: &str, how: Seq) -> [String; 2] {
        oracle_words(s).map(|ws| {
            let ws: Vec<String> = ws
                .into_iter()
                .map(|w| if how == Seq::Raw { w } else { stem(&w) })
                .filter(|w| how != Seq::Content || !STOPWORDS.contains(&w.as_str()))
                .collect();
            format!(" {} ", ws.join(" "))
        })
    }

    #[derive(Clone, Copy, PartialEq, Eq)]
    enum Seq {
        Norm,
        Content,
        Raw,
    }

    /// Does any of `hay` (each under both keys) contain `needle` under either key?
    fn any_contains(hay: &[[String; 2]], needle: &[String; 2]) -> bool {
        hay.iter()
            .any(|h| h.iter().any(|h| needle.iter().any(|n| h.contains(n.as_str()))))
    }

    fn is_blank(s: &[String; 2]) -> bool {
        s.iter().all(|x| x.trim().is_empty())
    }

    /// The oracle: `Some(description)` if the composed warning breaks the property.
    pub fn violation(case: &Case, c: &Composed) -> Option<String> {
        let (t, a) = (&case.threat, &case.audience);
        if c.tlp > a.tlp_ceiling || (a.kind == AudienceKind::Public && c.tlp != TlpLevel::Clear) {
            return Some(format!(
                "warning is {} but the audience accepts at most {}",
                c.tlp, a.tlp_ceiling
            ));
        }
        let rel = |m: &PortionMark| releasable_to(m, a, t.originator).is_ok();
        let mut fields: Vec<&str> = vec![&c.text, &c.headline, &c.banner];
        fields.extend(c.measures.iter().map(String::as_str));
        fields.extend(c.targets.iter().map(String::as_str));
        let norm: Vec<[String; 2]> = fields.iter().map(|f| seqs(f, Seq::Norm)).collect();
        let content: Vec<[String; 2]> = fields.iter().map(|f| seqs(f, Seq::Content)).collect();
        let raw: Vec<[String; 2]> = fields.iter().map(|f| seqs(f, Seq::Raw)).collect();

        for term in t.restricted_terms.iter().chain(&case.global_restricted) {
            let tn = seqs(term, Seq::Norm);
            if is_blank(&tn) {
                continue;
            }
            if any_contains(&norm, &tn) || any_contains(&raw, &seqs(term, Seq::Raw)) {
                return Some(format!("restricted term {term:?} in the warning"));
            }
        }

        let mut sources: Vec<&str> = Vec::new();
        let mut withheld: Vec<(String, &str)> = Vec::new();
        for p in &t.portions {
            if rel(&p.mark) {
                sources.push(&p.text);
            } else {
                withheld.push((format!("portion {} on line {}", p.mark, p.line), &p.text));
            }
        }
        for tg in &t.targets {
            for x in std::iter::once(tg.label.as_str()).chain(tg.name.as_deref()) {
                if rel(&tg.mark) {
                    sources.push(x);
                } else {
                    withheld.push((format!("target {:?} {}", tg.label, tg.mark), x));
                }
            }
        }
        if let Some(actor) = &t.actor {
            if rel(&t.actor_mark) {
                sources.push(actor);
            } else {
                withheld.push((format!("actor {}", t.actor_mark), actor));
            }
        }
        for e in &case.entities {
            sources.push(&e.name);
            sources.extend(e.aliases.iter().map(String::as_str));
        }
        sources.push(&a.name);
        sources.extend(a.escalation_contact.as_deref());
        let src_norm: Vec<[String; 2]> = sources.iter().map(|s| seqs(s, Seq::Norm)).collect();
        let src_content: Vec<[String; 2]> =
            sources.iter().map(|s| seqs(s, Seq::Content)).collect();
        let src_raw: Vec<[String; 2]> = sources.iter().map(|s| seqs(s, Seq::Raw)).collect();

        for (what, text) in withheld {
            let wn = seqs(text, Seq::Norm);
            let wr = seqs(text, Seq::Raw);
            if is_blank(&wr) || any_contains(&src_norm, &wn) {
                continue;
            }
            if !any_contains(&src_raw, &wr) && any_contains(&raw, &wr) {
                return Some(format!("{what} verbatim in the warning: {text:?}"));
            }
            if is_blank(&wn) {
                continue;
            }
            if any_contains(&norm, &wn) {
                return Some(format!("{what} (normalised) in the warning: {text:?}"));
            }
            let cw = oracle_words(text).map(|ws| {
                ws.into_iter()
                    .map(|w| stem(&w))
                    .filter(|w| !STOPWORDS.contains(&w.as_str()))
                    .collect::<Vec<_>>()
            });
            let k = gram_len(cw[0].len().min(cw[1].len()));
            if k == 0 || cw[0].len() != cw[1].len() {
                continue;
            }
            for i in 0..=cw[0].len() - k {
                let g = [
                    format!(" {} ", cw[0][i..i + k].join(" ")),
                    format!(" {} ", cw[1][i..i + k].join(" ")),
                ];
                if !any_contains(&src_content, &g) && any_contains(&content, &g) {
                    return Some(format!(
                        "distinctive n-gram {:?} of {what} in the warning",
                        g[0].trim()
                    ));
                }
            }
        }
        None
    }

    /// What one case came to.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub enum Outcome {
        Composed,
        /// Refused, with [`ComposeError::reason`].
        Refused(&'static str),
        /// The property failed: a leak got through. Never expected.
        Violation(String),
    }

    /// Generate, compose and check the case of `seed`.
    pub fn run_case(seed: u64) -> Outcome {
        let case = gen_case(seed);
        match compose_case(&case) {
            Ok(c) => match violation(&case, &c) {
                Some(v) => Outcome::Violation(v),
                None => Outcome::Composed,
            },
            Err(e) => Outcome::Refused(e.reason()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::country::CountryCode;
    use crate::ids::{AudienceId, ThreatId};
    use crate::marking::parse_mark;
    use crate::threat::{Area, Credibility, Harm};
    use chrono::{TimeZone, Utc};

    fn m(s: &str) -> PortionMark {
        parse_mark(s).unwrap()
    }

    fn portion(mark: &str, text: &str, line: usize) -> Portion {
        Portion {
            mark: m(mark),
            text: text.into(),
            tearline: false,
            line,
        }
    }

    fn tearline(mark: &str, text: &str, line: usize) -> Portion {
        Portion {
            tearline: true,
            ..portion(mark, text, line)
        }
    }

    fn target(label: &str, mark: &str, name: Option<&str>) -> TargetSpec {
        TargetSpec {
            label: label.into(),
            mark: m(mark),
            name: name.map(Into::into),
            categories: vec![
                crate::entity::Category::parse("venue/entertainment/concert_hall").unwrap(),
            ],
            min_size: None,
            area: Some(Area::Named {
                name: "Moscow".into(),
            }),
            window: None,
            footprint: Default::default(),
        }
    }

    /// The reference case's report (examples/moscow-2024/report.txt), built by hand.
    fn moscow() -> Threat {
        let t0 = Utc.with_ymd_and_hms(2024, 3, 6, 8, 0, 0).unwrap();
        Threat {
            id: ThreatId::new("moscow-2024-03"),
            title: "ISIS-K plans attacks on large gatherings in Moscow".into(),
            originator: CountryCode::parse("USA").unwrap(),
            received: t0,
            actor: Some("ISIS-K".into()),
            actor_mark: m("(S//REL TO USA, RUS)"),
            harms: vec![Harm::Killing, Harm::SeriousInjury, Harm::HostageTaking, Harm::ArsonBombing],
            credibility: Credibility::Probable,
            window: ThreatWindow::imminent(t0, 30 * 24),
            public_advice_hours: 48,
            targets: vec![
                TargetSpec { categories: vec![], area: None, ..target("Crocus City Hall (concert venue, Krasnogorsk, at the Moscow Ring Road)", "(S//REL TO USA, RUS)", Some("Crocus City Hall")) },
                target("a synagogue in Moscow", "(S//REL TO USA, RUS)", None),
                target("large gatherings in Moscow, including concerts", "(U)", None),
            ],
            portions: vec![
                portion("(S//NF)", "A sensitive human source, CARDINAL SPARROW, with direct access to the external operations planning of ISIS-K reports that a cell of Central Asian operatives has been tasked to mount a mass-casualty attack in the Moscow region before the end of March.", 30),
                portion("(TS//SI//NF)", "Communications of the Herat facilitation network collected through LANTERN GLASS show the operatives discussing the seating plan and the emergency exits of a large concert hall at the ring road.", 31),
                portion("(S//REL TO USA, RUS)", "ISIS-K operatives in Russia plan an armed attack on Crocus City Hall, a concert venue in Krasnogorsk at the Moscow Ring Road, possibly during a sold-out concert, using firearms and incendiary devices.", 32),
                portion("(S//REL TO USA, RUS)", "A separate ISIS-K cell plans an attack on a synagogue in Moscow in the same period.", 33),
                tearline("(U)", "Extremists have imminent plans to target large gatherings in Moscow, to include concerts.", 34),
            ],
            restricted_terms: vec!["CARDINAL SPARROW".into(), "LANTERN GLASS".into(), "Herat facilitation network".into()],
            tlp: None,
            measures: vec![
                "Screen every visitor and bag at all entrances, including staff and service entrances".into(),
                "Report reconnaissance (filming of entrances, questions about guard rotations) to the police".into(),
            ],
        }
    }

    fn aud(
        kind: AudienceKind,
        country: &str,
        clearance: Classification,
        tlp: TlpLevel,
    ) -> Audience {
        Audience {
            id: AudienceId::new(format!("{}-{country}", kind.as_str())),
            name: format!("{} {country}", kind.as_str()),
            kind,
            country: Some(CountryCode::parse(country).unwrap()),
            clearance,
            tlp_ceiling: tlp,
            orcon_approved: false,
            channels: vec![],
            escalation_contact: Some("the duty officer".into()),
            language: "en".into(),
            posture_interval_hours: Some(24),
        }
    }

    fn fsb() -> Audience {
        aud(
            AudienceKind::PartnerService,
            "RUS",
            Classification::S,
            TlpLevel::Red,
        )
    }
    fn operator() -> Audience {
        aud(
            AudienceKind::Operator,
            "RUS",
            Classification::U,
            TlpLevel::Amber,
        )
    }
    fn public() -> Audience {
        aud(
            AudienceKind::Public,
            "RUS",
            Classification::U,
            TlpLevel::Clear,
        )
    }

    fn run(threat: &Threat, a: &Audience) -> Result<Composed, ComposeError> {
        compose(&ComposeInput {
            threat,
            audience: a,
            entities: &[],
            global_restricted: &[],
            now: threat.received,
            posture_interval_hours: 24,
            ack_instructions: "Quote the reference.",
        })
    }

    fn leak(r: Result<Composed, ComposeError>) -> LeakError {
        match r {
            Err(ComposeError::Leak(l)) => l,
            other => panic!("expected a leak error, got {other:?}"),
        }
    }

    #[test]
    fn stemmer_maps_inflections_together() {
        for (a, b) in [
            ("attacks", "attack"),
            ("attacked", "attack"),
            ("attacking", "attack"),
            ("planned", "plan"),
            ("plans", "plan"),
            ("cities", "city"),
            ("gatherings", "gathering"),
            ("churches", "church"),
            ("operatives", "operative"),
        ] {
            assert_eq!(stem(a), stem(b), "{a} vs {b}");
        }
        assert_eq!(stem("hall"), "hall");
        assert_eq!(stem("installed"), "install");
        assert_eq!(stem("was"), "was");
        assert_eq!(stem("гостиницы"), "гостиницы");
        let ws = normalized_words("ISIS-K, Attacks!");
        assert_eq!(
            ws.iter().map(|w| w.norm.as_str()).collect::<Vec<_>>(),
            ["isis", "k", "attack"]
        );
        assert_eq!((ws[2].start, ws[2].end), (8, 15));
    }

    #[test]
    fn reference_case_composes_for_all_three_kinds() {
        let t = moscow();
        let p = run(&t, &fsb()).unwrap();
        assert_eq!(p.specificity, Specificity::NamedTarget);
        assert_eq!(p.banner, "SECRET//REL TO USA, RUS");
        assert_eq!(p.withheld_portions, 2);
        assert!(
            p.text.contains("Crocus City Hall") && p.text.contains("ISIS-K"),
            "{}",
            p.text
        );
        assert!(!p.text.contains("CARDINAL") && !p.text.contains("seating plan"));

        let o = run(&t, &operator()).unwrap();
        assert_eq!(
            (o.tlp, o.specificity, o.withheld_portions),
            (TlpLevel::Amber, Specificity::CategoryAndArea, 4)
        );
        for needle in ["What to check:", "Where to take people:", "Whom to call: in an emergency 112; to report suspicious activity or ask for support, the duty officer."] {
            assert!(o.text.contains(needle), "{needle} missing from {}", o.text);
        }
        assert!(
            !o.text.contains("ISIS-K") && !o.text.contains("Crocus"),
            "{}",
            o.text
        );

        let u = run(&t, &public()).unwrap();
        assert_eq!(
            (u.tlp, u.specificity),
            (TlpLevel::Clear, Specificity::CategoryAndArea)
        );
        assert!(
            u.text.contains(
                "Avoid large gatherings in Moscow, including concerts, over the next 48 hours."
            ),
            "{}",
            u.text
        );
        assert!(
            !u.text.contains("until"),
            "the end time is fixed at release, not in the text: {}",
            u.text
        );
        assert!(u.text.contains("Updates: Quote the reference."));
        assert!(
            u.measures.is_empty(),
            "the public gets no operator measures"
        );
    }

    #[test]
    fn tearline_replaces_its_section_for_non_cleared_audiences_only() {
        let mut t = moscow();
        t.portions = vec![
            portion(
                "(U//FOUO)",
                "Stewards saw two men filming the north gate on Friday.",
                10,
            ),
            portion(
                "(S//REL TO USA, RUS)",
                "A cell plans an armed attack on the venue.",
                11,
            ),
            tearline(
                "(U)",
                "Extremists may target large gatherings in Moscow.",
                12,
            ),
            portion(
                "(U)",
                "Police presence will be increased at weekend events.",
                13,
            ),
        ];
        let o = run(&t, &operator()).unwrap();
        // The FOUO detail is releasable to the operator, but its tearline summarises it.
        assert_eq!((o.summarised_portions, o.withheld_portions), (1, 1));
        assert!(!o.text.contains("north gate"), "{}", o.text);
        assert!(
            o.text.contains("Extremists may target") && o.text.contains("Police presence"),
            "{}",
            o.text
        );
        // A cleared partner gets the tearline first, then every releasable detail.
        let p = run(&t, &fsb()).unwrap();
        assert_eq!(p.summarised_portions, 0);
        let (a, b) = (
            p.text.find("Extremists may target").unwrap(),
            p.text.find("armed attack on the venue").unwrap(),
        );
        assert!(a < b, "{}", p.text);
        // Without a releasable tearline, the operator gets the detail it may read.
        t.portions[2].mark = m("(S//REL TO USA, RUS)");
        let u = run(&t, &public()).unwrap();
        assert!(!u.text.contains("north gate") && !u.text.contains("Extremists may"));
        assert!(run(&t, &operator()).unwrap().text.contains("north gate"));
    }

    #[test]
    fn restricted_term_inside_releasable_text_is_never_sent() {
        // In a releasable portion: the portion is dropped (sanitize first), the rest goes out.
        let mut t = moscow();
        t.portions[4].text =
            "Extremists, per cardinal-sparrows, plan to target large gatherings in Moscow.".into();
        let u = run(&t, &public()).unwrap();
        assert_eq!(u.withheld_portions, 5);
        assert!(!u.text.to_lowercase().contains("sparrow"), "{}", u.text);
        // In a releasable target label, which the template must print: blocked, with the span.
        t.targets[2].label =
            "large gatherings in Moscow, including CARDINAL-SPARROWS concerts".into();
        let l = leak(run(&t, &public()));
        assert_eq!(
            l.rule,
            LeakRule::RestrictedTerm {
                term: "CARDINAL SPARROW".into()
            }
        );
        assert_eq!(l.field, "text");
        assert_eq!(l.excerpt, "CARDINAL-SPARROWS");
        assert_eq!(l.end - l.start, "CARDINAL-SPARROWS".len());
        assert!(l.to_string().contains("rule restricted_term"), "{l}");
    }

    #[test]
    fn global_restricted_terms_are_blocked() {
        let t = moscow();
        let a = public();
        let global = vec!["gatherings in Moscow".to_owned()];
        let r = compose(&ComposeInput {
            threat: &t,
            audience: &a,
            entities: &[],
            global_restricted: &global,
            now: t.received,
            posture_interval_hours: 24,
            ack_instructions: "",
        });
        assert_eq!(leak(r).rule.name(), "restricted_term");
    }

    #[test]
    fn withheld_portion_copied_verbatim_into_measures_is_blocked() {
        let mut t = moscow();
        t.measures.push(
            "A separate ISIS-K cell plans an attack on a synagogue in Moscow in the same period."
                .into(),
        );
        let l = leak(run(&t, &operator()));
        assert_eq!(
            l.rule,
            LeakRule::VerbatimPortion {
                line: 33,
                mark: "(S//REL TO USA, RUS)".into()
            }
        );
        assert_eq!(
            l.excerpt,
            "A separate ISIS-K cell plans an attack on a synagogue in Moscow in the same period"
        );
        // The partner may read that portion: no leak there.
        assert!(run(&t, &fsb()).is_ok());
    }

    #[test]
    fn light_rewording_of_a_withheld_portion_is_blocked() {
        let mut t = moscow();
        t.measures.push(
            "Operatives were seen DISCUSSING seating plans and emergency-exits of the hall.".into(),
        );
        let l = leak(run(&t, &fsb()));
        assert!(
            matches!(l.rule, LeakRule::PortionNgrams { line: 31, .. }),
            "{l}"
        );
        assert_eq!(l.field, "text");
        assert_eq!(l.excerpt, "DISCUSSING seating plans");
        assert!(
            l.to_string()
                .contains("non-releasable portion (TS//SI//NF) on report line 31"),
            "{l}"
        );
    }

    #[test]
    fn grams_the_audience_may_read_anyway_are_not_leaks() {
        // "large gatherings in Moscow" is in the withheld (S//NF) text and in the tearline.
        let mut t = moscow();
        t.portions[0]
            .text
            .push_str(" The target is large gatherings in Moscow.");
        assert!(run(&t, &public()).is_ok());
    }

    #[test]
    fn withheld_actor_and_target_are_blocked() {
        let mut t = moscow();
        t.measures.push("Watch for isis-k sympathisers.".into());
        assert_eq!(
            leak(run(&t, &operator())).rule,
            LeakRule::WithheldActor {
                mark: "(S//REL TO USA, RUS)".into()
            }
        );
        let mut t = moscow();
        t.measures
            .push("Extra patrols around Crocus City Hall.".into());
        let l = leak(run(&t, &operator()));
        assert!(matches!(l.rule, LeakRule::WithheldTarget { .. }), "{l}");
        assert_eq!(l.excerpt, "Crocus City Hall");
        // The audience's own name may carry it: the audience knows its own name.
        let mut a = operator();
        a.name = "Crocus Group security (Crocus City Hall)".into();
        assert!(run(&moscow(), &a).is_ok());
    }

    #[test]
    fn nothing_actionable_is_refused() {
        let mut t = moscow();
        t.targets.truncate(2);
        let e = run(&t, &public()).unwrap_err();
        assert_eq!(e.reason(), "nothing_actionable");
        assert!(
            e.to_string().contains("none of the 2 target spec(s)"),
            "{e}"
        );
        assert!(run(&t, &fsb()).is_ok());
    }

    #[test]
    fn warning_tlp_stays_within_the_ceiling() {
        let t = moscow();
        let mut a = operator();
        a.tlp_ceiling = TlpLevel::Green;
        assert_eq!(run(&t, &a).unwrap().tlp, TlpLevel::Green);
        let mut t = moscow();
        t.portions[4].mark = m("(TLP:AMBER+STRICT)");
        a.tlp_ceiling = TlpLevel::Red;
        assert_eq!(run(&t, &a).unwrap().tlp, TlpLevel::AmberStrict);
    }

    #[test]
    fn the_proof_generator_is_deterministic_and_finds_every_outcome() {
        assert_eq!(proof::gen_case(7).threat, proof::gen_case(7).threat);
        let mut reasons = BTreeSet::new();
        let mut composed = 0;
        for i in 0..3000 {
            match proof::run_case(proof::case_seed(1, i)) {
                proof::Outcome::Composed => composed += 1,
                proof::Outcome::Refused(r) => {
                    reasons.insert(r);
                }
                proof::Outcome::Violation(v) => panic!("case {i}: {v}"),
            }
        }
        assert!(composed > 300, "{composed}");
        for r in [
            "nothing_actionable",
            "restricted_term",
            "portion_ngrams",
            "verbatim_portion",
        ] {
            assert!(reasons.contains(r), "{r} never happened: {reasons:?}");
        }
    }

    #[test]
    fn every_spelling_variant_is_blocked_by_the_gate_and_seen_by_the_oracle() {
        let mut rng = proof::Rng::new(21);
        let mut blocked = 0;
        for term in proof::CODE_NAMES {
            for class in proof::VARIANT_CLASSES {
                for _ in 0..4 {
                    let v = proof::variant_of(&mut rng, class, term);
                    let mut t = moscow();
                    t.restricted_terms = vec![(*term).to_owned()];
                    t.portions[4].text =
                        format!("Per operation {v}, extremists may target large gatherings in Moscow.");
                    t.targets[2].label = format!("large gatherings in Moscow near {v}");
                    let l = leak(run(&t, &public()));
                    assert_eq!(l.rule.name(), "restricted_term", "{class}: {v:?}");
                    assert!(
                        crate::fold::contains(&l.excerpt, term),
                        "{class}: {v:?} → excerpt {:?}",
                        l.excerpt
                    );
                    // The oracle sees the same variant in a warning without the gate's help.
                    let case = proof::Case {
                        threat: t.clone(),
                        audience: public(),
                        entities: vec![],
                        global_restricted: vec![],
                    };
                    let mut c = run(&moscow(), &public()).unwrap();
                    c.text.push_str(&format!("Per {v} now\n"));
                    assert!(
                        proof::violation(&case, &c).is_some_and(|x| x.contains("restricted term")),
                        "oracle missed {class}: {v:?}"
                    );
                    blocked += 1;
                }
            }
        }
        assert_eq!(blocked, proof::CODE_NAMES.len() * proof::VARIANT_CLASSES.len() * 4);
    }

    #[test]
    fn the_oracle_catches_a_leak_the_gate_would_block() {
        // Feed the oracle a hand-made "composed" warning that copies a withheld portion.
        let t = moscow();
        let case = proof::Case {
            threat: t.clone(),
            audience: public(),
            entities: vec![],
            global_restricted: vec![],
        };
        let mut c = run(&t, &public()).unwrap();
        assert_eq!(proof::violation(&case, &c), None);
        c.text
            .push_str("the seating plan and the emergency exits\n");
        assert!(proof::violation(&case, &c)
            .unwrap()
            .contains("distinctive n-gram"));
        let mut c = run(&t, &public()).unwrap();
        c.headline.push_str(" lantern glass");
        assert!(proof::violation(&case, &c)
            .unwrap()
            .contains("restricted term"));
    }
}
