//! The composer: one sanitized warning per (threat, audience), then the leak gate.
//!
//! Architecture invariant: every composed text passes [`leak_gate`] before it leaves this module;
//! the gate blocks (returns an error naming the span and the rule), it never merely warns.

use crate::audience::{Audience, AudienceKind};
use crate::entity::Entity;
use crate::marking::{banner, releasable_to, PortionMark, TlpLevel};
use crate::threat::{Portion, TargetSpec, Threat};
use crate::time::{ThreatWindow, Timestamp};
use crate::tracking::Specificity;
use chrono::SecondsFormat;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeSet, HashSet};
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
pub struct Composed {
    pub tlp: TlpLevel,
    pub banner: String,
    pub specificity: Specificity,
    pub headline: String,
    pub text: String,
    pub measures: Vec<String>,
    pub valid: ThreatWindow,
    /// How many report portions were withheld from this audience.
    pub withheld_portions: usize,
    /// Labels of the target specs this audience may be told about.
    pub targets: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Error, Serialize, Deserialize)]
pub enum ComposeError {
    #[error("nothing actionable is releasable to audience {audience}: every target and portion is withheld; refusing to send a blank warning")]
    NothingActionable { audience: String },
    #[error(transparent)]
    Leak(#[from] LeakError),
}

/// Why the leak gate blocked a text. `start..end` are byte offsets into the composed text.
#[derive(Debug, Clone, PartialEq, Eq, Error, Serialize, Deserialize)]
#[error("leak gate blocked the warning for {audience}: {rule} at bytes {start}..{end} ({excerpt:?})")]
pub struct LeakError {
    pub audience: String,
    pub rule: LeakRule,
    pub start: usize,
    pub end: usize,
    pub excerpt: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "rule", rename_all = "snake_case")]
pub enum LeakRule {
    RestrictedTerm { term: String },
    VerbatimPortion { line: usize, mark: String },
    PortionNgrams { line: usize, mark: String, shared: usize },
}

impl std::fmt::Display for LeakRule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LeakRule::RestrictedTerm { term } => write!(f, "restricted term {term:?}"),
            LeakRule::VerbatimPortion { line, mark } => write!(f, "verbatim copy of the non-releasable portion {mark} on report line {line}"),
            LeakRule::PortionNgrams { line, mark, shared } => {
                write!(f, "{shared} distinctive word sequence(s) of the non-releasable portion {mark} on report line {line}")
            }
        }
    }
}

fn releasable(mark: &PortionMark, input: &ComposeInput<'_>) -> bool {
    releasable_to(mark, input.audience, input.threat.originator).is_ok()
}

fn fmt_time(t: Timestamp) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true).replace('T', " ").replace('Z', " UTC")
}

fn specificity(targets: &[&TargetSpec]) -> Option<Specificity> {
    targets
        .iter()
        .map(|t| {
            if t.name.is_some() {
                Specificity::NamedTarget
            } else if !t.categories.is_empty() && t.area.is_some() {
                Specificity::CategoryAndArea
            } else {
                Specificity::AreaOnly
            }
        })
        .max()
}

/// Compose the warning for one audience and run the leak gate on it.
pub fn compose(input: &ComposeInput<'_>) -> Result<Composed, ComposeError> {
    let threat = input.threat;
    let aud = input.audience;
    let targets: Vec<&TargetSpec> = threat.targets.iter().filter(|t| releasable(&t.mark, input)).collect();
    // Tearlines first: they are written for release and carry no sources or methods.
    let mut body: Vec<&Portion> = threat.portions.iter().filter(|p| releasable(&p.mark, input)).collect();
    body.sort_by_key(|p| !p.tearline);
    let withheld = threat.portions.len() - body.len();
    let Some(spec) = specificity(&targets) else {
        return Err(ComposeError::NothingActionable { audience: aud.id.to_string() });
    };
    let actor = if releasable(&threat.actor_mark, input) { threat.actor.clone() } else { None };
    let actor_text = actor.clone().unwrap_or_else(|| "extremists".to_owned());
    let harms: Vec<&str> = threat.harms.iter().map(|h| h.label()).collect();
    let harms_text = if harms.is_empty() { "violence".to_owned() } else { harms.join(", ") };

    let used_marks: Vec<&PortionMark> = body.iter().map(|p| &p.mark).chain(targets.iter().map(|t| &t.mark)).collect();
    let banner_text = banner(&used_marks).to_string();
    let tlp = match aud.kind {
        AudienceKind::Public => TlpLevel::Clear,
        AudienceKind::Operator => used_marks.iter().filter_map(|m| m.tlp).max().unwrap_or(TlpLevel::Amber).max(TlpLevel::Amber),
        AudienceKind::DomesticAgency => TlpLevel::AmberStrict,
        AudienceKind::PartnerService => TlpLevel::Red,
    };

    let valid = match aud.kind {
        AudienceKind::Public => ThreatWindow::imminent(input.now, threat.public_advice_hours),
        _ => threat.window,
    };
    let measures: Vec<String> = threat.measures.clone();
    let labels: Vec<String> = targets.iter().map(|t| t.label.clone()).collect();
    let mut text = String::new();
    let headline;
    let mut line = |s: &str| {
        text.push_str(s);
        text.push('\n');
    };
    match aud.kind {
        AudienceKind::PartnerService | AudienceKind::DomesticAgency => {
            headline = format!("Threat warning: planned {} by {} against {}", harms_text, actor_text, labels.join("; "));
            line(&banner_text);
            line(&format!("TO: {}", aud.name));
            line(&format!("SUBJECT: {headline}"));
            line("");
            line(&format!("1. Threat: {} by {} ({} credibility).", harms_text, actor_text, format!("{:?}", threat.credibility).to_lowercase()));
            line(&format!("2. Window: {} to {}.", fmt_time(threat.window.from), fmt_time(threat.window.until)));
            line("3. Targets:");
            for l in &labels {
                line(&format!("   - {l}"));
            }
            line("4. Detail:");
            for p in &body {
                line(&format!("   {}", p.text));
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
            headline = format!("Security warning for {}: credible threat to {}", if names.is_empty() { aud.name.as_str() } else { names.as_str() }, labels.join("; "));
            line(tlp.label());
            line(&format!("TO: {}", aud.name));
            line(&format!("SUBJECT: {headline}"));
            line("");
            for p in &body {
                line(&p.text);
            }
            if !names.is_empty() {
                line(&format!("Your site(s) {names} fall within this threat. Expected harm: {harms_text}."));
            }
            line(&format!("The threat is considered live from {} until {}.", fmt_time(threat.window.from), fmt_time(threat.window.until)));
            line("What to check:");
            for m in &measures {
                line(&format!("  - {m}"));
            }
            line("Where to take people: brief every steward on the evacuation routes and on assembly points away from the building and its car parks; keep all emergency exits unlocked and clear during events.");
            line(&format!(
                "Whom to call: in an emergency 112; to report suspicious activity or ask for support, {}.",
                aud.escalation_contact.as_deref().unwrap_or("the police")
            ));
            line(&format!(
                "Keep these measures in place until the window closes, even if nothing happens for days, and confirm your posture every {} hours. {}",
                input.posture_interval_hours, input.ack_instructions
            ));
        }
        AudienceKind::Public => {
            let avoid = labels.join("; ");
            headline = format!("Security alert: avoid {avoid} over the next {} hours", threat.public_advice_hours);
            line(tlp.label());
            line(&headline);
            line("");
            for p in &body {
                line(&p.text);
            }
            let sep = if avoid.contains(',') { "," } else { "" };
            line(&format!(
                "Avoid {avoid}{sep} over the next {} hours. Be aware of your surroundings, monitor local media for updates and follow the instructions of local authorities.",
                threat.public_advice_hours,
            ));
            line(&format!("Updates: {}", input.ack_instructions));
        }
    }
    let text = text.trim_end().to_owned() + "\n";
    // The audience's own sites were matched by a spec it may be told about, so their names are
    // not evidence of a leak even where a withheld portion also names them.
    let own_names: Vec<&str> = input.entities.iter().flat_map(|e| std::iter::once(e.name.as_str()).chain(e.aliases.iter().map(String::as_str))).collect();
    leak_gate(&text, input.threat, input.audience, input.global_restricted, &own_names)?;
    leak_gate(&headline, input.threat, input.audience, input.global_restricted, &own_names)?;
    Ok(Composed { tlp, banner: banner_text, specificity: spec, headline, text, measures, valid, withheld_portions: withheld, targets: labels })
}

// ---- leak gate ----

/// Lower-case word tokens with their byte spans in the original text.
fn words(text: &str) -> Vec<(String, usize, usize)> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, c) in text.char_indices() {
        if c.is_alphanumeric() {
            if start.is_none() {
                start = Some(i);
            }
        } else if let Some(s) = start.take() {
            out.push((text[s..i].to_lowercase(), s, i));
        }
    }
    if let Some(s) = start {
        out.push((text[s..].to_lowercase(), s, text.len()));
    }
    out
}

// Function words carry no information about a source; skipping them makes the n-gram check
// survive light rewording ("the source" -> "a source").
const STOPWORDS: &[&str] = &[
    "a", "an", "the", "of", "in", "on", "at", "to", "for", "and", "or", "with", "by", "from", "is", "are", "was",
    "were", "be", "been", "that", "this", "these", "those", "it", "its", "as", "into", "has", "have", "had", "which",
];

fn content_words(text: &str) -> Vec<(String, usize, usize)> {
    words(text).into_iter().filter(|(w, _, _)| !STOPWORDS.contains(&w.as_str())).collect()
}

const NGRAM: usize = 3;

fn ngrams(ws: &[(String, usize, usize)]) -> impl Iterator<Item = (String, usize, usize)> + '_ {
    ws.windows(NGRAM).map(|w| (w.iter().map(|x| x.0.as_str()).collect::<Vec<_>>().join(" "), w[0].1, w[NGRAM - 1].2))
}

fn normalise_ws(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase()
}

/// Block `text` if it contains a restricted term, or any portion not releasable to `audience`
/// (verbatim, or by word 3-grams that are distinctive to that portion). Word sequences inside
/// `allowed` phrases (e.g. the audience's own site names) are not counted as distinctive.
pub fn leak_gate(text: &str, threat: &Threat, audience: &Audience, global_restricted: &[String], allowed_phrases: &[&str]) -> Result<(), LeakError> {
    let block = |rule: LeakRule, start: usize, end: usize| LeakError {
        audience: audience.id.to_string(),
        rule,
        start,
        end,
        excerpt: text.get(start..end).unwrap_or("").to_owned(),
    };
    let tw = words(text);
    // Restricted terms: as whole-word sequences, case-insensitive.
    for term in threat.restricted_terms.iter().chain(global_restricted) {
        let tt: Vec<String> = words(term).into_iter().map(|w| w.0).collect();
        if tt.is_empty() {
            continue;
        }
        if let Some(w) = tw.windows(tt.len()).find(|w| w.iter().zip(&tt).all(|(a, b)| &a.0 == b)) {
            return Err(block(LeakRule::RestrictedTerm { term: term.clone() }, w[0].1, w[tt.len() - 1].2));
        }
    }
    let is_rel = |m: &PortionMark| releasable_to(m, audience, threat.originator).is_ok();
    let withheld: Vec<&Portion> = threat.portions.iter().filter(|p| !is_rel(&p.mark)).collect();
    if withheld.is_empty() {
        return Ok(());
    }
    // N-grams that releasable material also contains are not evidence of a leak.
    let mut allowed: HashSet<String> = HashSet::new();
    for p in threat.portions.iter().filter(|p| is_rel(&p.mark)) {
        allowed.extend(ngrams(&content_words(&p.text)).map(|g| g.0));
    }
    for t in threat.targets.iter().filter(|t| is_rel(&t.mark)) {
        allowed.extend(ngrams(&content_words(&t.label)).map(|g| g.0));
    }
    for m in threat.measures.iter().map(String::as_str).chain(allowed_phrases.iter().copied()) {
        allowed.extend(ngrams(&content_words(m)).map(|g| g.0));
    }
    let norm_text = normalise_ws(text);
    let text_grams: Vec<(String, usize, usize)> = ngrams(&content_words(text)).collect();
    for p in withheld {
        let mark = crate::marking::format_mark(&p.mark);
        let np = normalise_ws(&p.text);
        if !np.is_empty() && norm_text.contains(&np) {
            let first = words(&p.text).first().map(|w| w.0.clone()).unwrap_or_default();
            let (s, e) = tw.iter().find(|w| w.0 == first).map(|w| (w.1, w.2)).unwrap_or((0, 0));
            return Err(block(LeakRule::VerbatimPortion { line: p.line, mark }, s, e));
        }
        let distinctive: HashSet<String> = ngrams(&content_words(&p.text)).map(|g| g.0).filter(|g| !allowed.contains(g)).collect();
        let hits: Vec<&(String, usize, usize)> = text_grams.iter().filter(|g| distinctive.contains(&g.0)).collect();
        if let Some(first) = hits.first() {
            return Err(block(LeakRule::PortionNgrams { line: p.line, mark, shared: hits.len() }, first.1, first.2));
        }
    }
    Ok(())
}
