//! Intake from free text: propose a threat — named targets, categories, areas, time windows,
//! actors, harms and network indicators — from an analyst's report, a partner's cable, an embassy
//! advisory or a (possibly machine-reworded) news story, for an analyst to review.
//!
//! Pure library: no I/O, no network, no models. Rules and dictionaries only:
//!
//! * **names** — the registry's names and aliases, place names from the gazetteer, and the
//!   category, actor and harm dictionaries ([`Dictionaries`], `data/*.toml`) are compiled into one
//!   Aho–Corasick automaton over the text normalised as the matcher normalises names
//!   (`tocsin_match::normalize`: case, accents, Cyrillic transliterated, spelling variants folded);
//!   misspelt distinctive words (registry names, actors, a few categories) are corrected first
//!   within one edit (6–9 letters) or two (10 and more);
//! * **rewordings** — every phrase is also matched in the forms content farms reword it into
//!   ("live performance corridor" for "concert hall", "hearth" for "fire", "ISIS-Okay" for
//!   "ISIS-K"), at a lower confidence;
//! * **time** — regular expressions for dates and relative expressions ([`when`]);
//! * **indicators** — regular expressions for IPs, CIDRs, domains and URLs, defanged or not
//!   ([`indicators`]).
//!
//! [`Extractor::extract`] returns a [`Proposal`]: every item carries the span of text it came from
//! as **byte offsets** `[start, end)` into the UTF-8 input (always on character boundaries) and a
//! confidence in [0, 1]. The analyst accepts, edits or rejects each item ([`Proposal::review`] or
//! by editing the JSON); [`build_threat`] then builds the [`tocsin_core::Threat`], refusing while
//! any item is pending.

pub mod commit;
pub mod dict;
pub mod indicators;
mod lexicon;
pub mod norm;
pub mod places;
pub mod proposal;
pub mod when;

pub use commit::{build_threat, default_threat_id, CommitError, CommitOptions};
pub use dict::{DictError, Dictionaries};
pub use proposal::{Decision, Item, Proposal, Relation, ReviewError};
/// The gazetteer type the extractor and [`build_threat`] take (re-exported for callers).
pub use tocsin_match::Gazetteer;

use chrono::NaiveDate;
use indicators::IndicatorRules;
use lexicon::{Kind, Lexicon};
use proposal::{
    ActorDetail, AreaDetail, CategoryDetail, HarmDetail, IndicatorDetail, TargetDetail,
    WindowDetail,
};
use std::collections::HashMap;
use thiserror::Error;
use tocsin_core::Entity;
use tocsin_match::{MatchConfig, Registry};
use when::TimeRules;

#[derive(Debug, Error)]
pub enum IntakeError {
    #[error(transparent)]
    Dict(#[from] DictError),
    #[error("cannot compile the dictionaries into a matcher: {0}")]
    Automaton(String),
}

/// Extraction parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct IntakeConfig {
    /// Minimum size put on "large gatherings" (MatchConfig::large_gathering_min).
    pub large_gathering_min: u32,
    /// Length of an "imminent" window in hours (MatchConfig::imminent_hours).
    pub imminent_hours: i64,
    /// A place named without "in"/"near" is proposed only if it has at least this population (or
    /// a name of several words): capitalised words at the start of a sentence are often also the
    /// name of some small town.
    pub mention_min_population: u64,
    /// Confidence factor per fuzzy-corrected word.
    pub fuzzy_factor: f64,
}

impl Default for IntakeConfig {
    fn default() -> Self {
        let m = MatchConfig::default();
        Self {
            large_gathering_min: m.large_gathering_min,
            imminent_hours: m.imminent_hours,
            mention_min_population: 100_000,
            fuzzy_factor: 0.85,
        }
    }
}

/// Confidence of a named place found by its head noun but not in the registry.
pub const CONF_UNREGISTERED_PLACE: f64 = 0.6;

/// Place confidences by how the text names it.
pub const CONF_PLACE_IN: f64 = 0.85;
pub const CONF_PLACE_NEAR: f64 = 0.8;

/// Longest place name tried, in words ("Rostov on Don").
const MAX_PLACE_WORDS: usize = 3;

/// The compiled extractor: build once (dictionaries, registry names and gazetteer into automata),
/// then [`extract`](Self::extract) any number of texts.
pub struct Extractor {
    lexicon: Lexicon,
    entities: Vec<(String, String)>,
    gazetteer: Gazetteer,
    dicts: Dictionaries,
    time: TimeRules,
    indicators: IndicatorRules,
    config: IntakeConfig,
}

/// One occurrence before merging by value.
struct Raw<D> {
    value: String,
    start: usize,
    end: usize,
    conf: f64,
    notes: Vec<String>,
    detail: D,
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// One item per distinct value, in order of first mention: its strongest occurrence gives the
/// span, text, confidence, notes and details; `mentions` lists every occurrence.
fn merge<D: Clone>(text: &str, raws: Vec<Raw<D>>, prefix: &str) -> Vec<Item<D>> {
    let mut order: Vec<String> = Vec::new();
    let mut groups: HashMap<String, Vec<Raw<D>>> = HashMap::new();
    for r in raws {
        if !groups.contains_key(&r.value) {
            order.push(r.value.clone());
        }
        groups.entry(r.value.clone()).or_default().push(r);
    }
    let mut out = Vec::with_capacity(order.len());
    for (n, v) in order.into_iter().enumerate() {
        let mut g = groups.remove(&v).unwrap_or_default();
        g.sort_by_key(|r| (r.start, r.end));
        g.dedup_by(|a, b| a.start == b.start && a.end == b.end && a.conf <= b.conf);
        let Some(best) = g
            .iter()
            .enumerate()
            .max_by(|(i, a), (j, b)| a.conf.total_cmp(&b.conf).then(j.cmp(i)))
            .map(|(i, _)| i)
        else {
            continue;
        };
        let mentions = g.iter().map(|r| [r.start, r.end]).collect();
        let b = g.swap_remove(best);
        out.push(Item {
            id: format!("{prefix}{}", n + 1),
            text: text[b.start..b.end].to_owned(),
            span: [b.start, b.end],
            confidence: round3(b.conf.clamp(0.0, 1.0)),
            value: b.value,
            decision: Decision::Pending,
            mentions,
            notes: b.notes,
            detail: b.detail,
        });
    }
    out
}

fn first_letter_is_capital(s: &str) -> bool {
    s.chars()
        .find(|c| c.is_alphanumeric())
        .is_some_and(|c| c.is_uppercase() || (c.is_alphabetic() && !c.is_lowercase()))
}

impl Extractor {
    /// Compile an extractor over registry entities, a gazetteer and dictionaries.
    pub fn new(
        entities: &[Entity],
        gazetteer: &Gazetteer,
        dicts: Dictionaries,
        config: IntakeConfig,
    ) -> Result<Self, IntakeError> {
        let lexicon =
            Lexicon::build(entities, &dicts).map_err(|e| IntakeError::Automaton(e.to_string()))?;
        Ok(Self {
            lexicon,
            entities: entities
                .iter()
                .map(|e| (e.id.to_string(), e.name.clone()))
                .collect(),
            gazetteer: gazetteer.clone(),
            time: TimeRules::new(config.imminent_hours),
            indicators: IndicatorRules::new(),
            dicts,
            config,
        })
    }

    /// With the built-in dictionaries and default configuration.
    pub fn with_builtin(entities: &[Entity], gazetteer: &Gazetteer) -> Result<Self, IntakeError> {
        Self::new(
            entities,
            gazetteer,
            Dictionaries::builtin(),
            IntakeConfig::default(),
        )
    }

    /// Over the matcher's registry (its entities and gazetteer), with its size and window defaults.
    pub fn from_registry(registry: &Registry, dicts: Dictionaries) -> Result<Self, IntakeError> {
        // `to_owned` works whether the registry yields entities or references to them.
        #[allow(clippy::unnecessary_to_owned, clippy::redundant_clone)]
        let entities: Vec<Entity> = registry.iter().map(|e| e.to_owned()).collect();
        let c = registry.config();
        let config = IntakeConfig {
            large_gathering_min: c.large_gathering_min,
            imminent_hours: c.imminent_hours,
            ..IntakeConfig::default()
        };
        Self::new(&entities, registry.gazetteer(), dicts, config)
    }

    pub fn config(&self) -> &IntakeConfig {
        &self.config
    }

    /// Places: capitalised words (up to three) that the gazetteer resolves, outside named targets
    /// and actors ("Moscow Choral Synagogue" is a target, not Moscow). Looked up per word rather
    /// than compiled into the automaton: a world gazetteer has hundreds of thousands of names.
    fn find_places(
        &self,
        text: &str,
        n: &norm::Normalized,
        hits: &[lexicon::Hit],
        areas: &mut Vec<Raw<AreaDetail>>,
    ) {
        let mut covered = vec![false; n.tokens.len()];
        for h in hits {
            let named = self.lexicon.patterns[h.pattern as usize]
                .payloads
                .iter()
                .any(|p| matches!(p.kind, Kind::Entity | Kind::Actor));
            if named {
                covered[h.first..=h.last].iter_mut().for_each(|c| *c = true);
            }
        }
        let mut key = String::new();
        let mut i = 0;
        while i < n.tokens.len() {
            let t = n.tokens[i];
            if covered[i] || !first_letter_is_capital(&text[t.start..t.end]) {
                i += 1;
                continue;
            }
            let mut found = None;
            for len in (1..=MAX_PLACE_WORDS.min(n.tokens.len() - i)).rev() {
                // A name of several words ends in a capital ("Saint Petersburg", "Rostov-on-Don"):
                // this spares most look-ups, each of which normalises its key again.
                let last = n.tokens[i + len - 1];
                if covered[i..i + len].iter().any(|c| *c)
                    || (len > 1 && !first_letter_is_capital(&text[last.start..last.end]))
                {
                    continue;
                }
                key.clear();
                for j in i..i + len {
                    if j > i {
                        key.push(' ');
                    }
                    key.push_str(n.token(j));
                }
                if let Some(p) = self.gazetteer.resolve(&key) {
                    found = Some((len, p));
                    break;
                }
            }
            if found.is_none() && !covered[i] {
                found = russian_base_forms(&text[t.start..t.end])
                    .into_iter()
                    .find_map(|w| self.gazetteer.resolve(&w))
                    .map(|p| (1, p));
            }
            let Some((len, pl)) = found else {
                i += 1;
                continue;
            };
            let prev = i.checked_sub(1).map(|k| n.token(k));
            let relation = match prev {
                Some(t) if self.lexicon.prep_near.contains(t) => Relation::Near,
                Some(t) if self.lexicon.prep_in.contains(t) => Relation::In,
                _ => Relation::Mention,
            };
            let conf = match relation {
                Relation::In => CONF_PLACE_IN,
                Relation::Near => CONF_PLACE_NEAR,
                Relation::Mention => lexicon::CONF_PLACE,
            };
            // Several words as written: a one-word alias of a place with a long name ("Stade"
            // of "Hansestadt Stade") is no more distinctive than any other word.
            let multiword = len > 1;
            let (start, end) = (t.start, n.tokens[i + len - 1].end);
            if relation == Relation::Mention
                && ((pl.population < self.config.mention_min_population && !multiword)
                    || is_short_alias(&text[start..end], &pl.name)
                    || inside_organisation_name(text, n, i, len))
            {
                i += len;
                continue;
            }
            let value = if relation == Relation::Near {
                format!("near {}", pl.name)
            } else {
                pl.name.clone()
            };
            areas.push(Raw {
                value,
                start,
                end,
                conf,
                notes: vec![],
                detail: AreaDetail {
                    place: pl.name.clone(),
                    relation,
                },
            });
            i += len;
        }
    }

    /// Propose what `text` (dated `date`: the anchor of relative time expressions) says.
    pub fn extract(&self, text: &str, date: NaiveDate) -> Proposal {
        let (n, hits) = self.lexicon.scan(text);
        let mut targets = Vec::new();
        let mut areas = Vec::new();
        let mut categories = Vec::new();
        let mut actors = Vec::new();
        let mut harms = Vec::new();
        for h in &hits {
            let info = &self.lexicon.patterns[h.pattern as usize];
            let written = &text[h.start..h.end];
            let fuzzy = self.config.fuzzy_factor.powi(h.corrected as i32);
            let has_lower = written.chars().any(char::is_lowercase);
            let mut entity_ids: Vec<(u32, f64, &str, bool)> = Vec::new();
            for p in &info.payloads {
                if p.acronym
                    && (if p.reworded {
                        !first_letter_is_capital(written)
                    } else {
                        has_lower
                    })
                {
                    continue;
                }
                let conf = p.conf * fuzzy;
                let mut notes = Vec::new();
                if p.reworded {
                    notes.push(format!("reworded: {written:?} read as {:?}", p.source));
                }
                if h.corrected > 0 {
                    notes.push(format!("fuzzy: {written:?} read as {:?}", p.source));
                }
                match p.kind {
                    Kind::Entity => entity_ids.push((p.idx, conf, &p.source, p.reworded)),
                    Kind::Category => {
                        let c = &self.dicts.categories[p.idx as usize];
                        categories.push(Raw {
                            value: c.label.clone(),
                            start: h.start,
                            end: h.end,
                            conf,
                            notes,
                            detail: CategoryDetail {
                                paths: c.paths.clone(),
                                min_size: c.large.then_some(self.config.large_gathering_min),
                            },
                        });
                    }
                    Kind::Actor => {
                        let a = &self.dicts.actors[p.idx as usize];
                        actors.push(Raw {
                            value: a.name.clone(),
                            start: h.start,
                            end: h.end,
                            conf,
                            notes,
                            detail: ActorDetail {},
                        });
                    }
                    Kind::Harm => {
                        let hm = &self.dicts.harms[p.idx as usize];
                        harms.push(Raw {
                            value: hm.value.clone(),
                            start: h.start,
                            end: h.end,
                            conf,
                            notes,
                            detail: HarmDetail { harm: hm.harm },
                        });
                    }
                }
            }
            if !entity_ids.is_empty() {
                let conf = entity_ids.iter().map(|e| e.1).fold(0.0, f64::max);
                let mut ids: Vec<String> = entity_ids
                    .iter()
                    .map(|e| self.entities[e.0 as usize].0.clone())
                    .collect();
                ids.sort();
                ids.dedup();
                // One entity: its registry name; an alias several entities share: the alias.
                let value = if ids.len() == 1 {
                    self.entities[entity_ids[0].0 as usize].1.clone()
                } else {
                    entity_ids[0].2.to_owned()
                };
                let mut notes = Vec::new();
                if entity_ids.iter().all(|e| e.3) {
                    notes.push(format!(
                        "reworded: {written:?} read as {:?}",
                        entity_ids[0].2
                    ));
                }
                if h.corrected > 0 {
                    notes.push(format!("fuzzy: {written:?} read as {:?}", entity_ids[0].2));
                }
                targets.push(Raw {
                    value,
                    start: h.start,
                    end: h.end,
                    conf,
                    notes,
                    detail: TargetDetail {
                        entities: ids,
                        category: None,
                    },
                });
            }
        }
        // Named places the registry does not know, where no registry name was found.
        for np in places::find_named_places(text) {
            let overlaps = targets
                .iter()
                .any(|t: &Raw<TargetDetail>| t.start < np.end && np.start < t.end);
            if overlaps {
                continue;
            }
            targets.push(Raw {
                value: np.name.clone(),
                start: np.start,
                end: np.end,
                conf: CONF_UNREGISTERED_PLACE,
                notes: vec![format!(
                    "not in registry; category {} from the head noun {:?}",
                    np.category
                        .as_ref()
                        .map(|c| c.as_str().to_owned())
                        .unwrap_or_else(|| "unknown".into()),
                    np.head
                )],
                detail: TargetDetail {
                    entities: vec![],
                    category: np.category,
                },
            });
        }
        self.find_places(text, &n, &hits, &mut areas);
        // A place inside a proposed named target ("Kerman" in "Kerman Martyrs' Cemetery") is
        // part of its name, unless "in"/"near" introduce it.
        areas.retain(|a| {
            a.detail.relation != Relation::Mention
                || !targets.iter().any(|t| t.start <= a.start && a.end <= t.end)
        });

        let windows = self
            .time
            .find(text, date)
            .into_iter()
            .map(|w| {
                let hours = (w.until - w.from).num_hours();
                Raw {
                    value: format!(
                        "{} – {} ({hours} h)",
                        w.from.format("%Y-%m-%dT%H:%M:%SZ"),
                        w.until.format("%Y-%m-%dT%H:%M:%SZ")
                    ),
                    start: w.start,
                    end: w.end,
                    conf: w.confidence,
                    notes: w
                        .anchor_span
                        .map(|[s, e]| vec![format!("anchored on {:?}", &text[s..e])])
                        .unwrap_or_default(),
                    detail: WindowDetail {
                        from: w.from,
                        until: w.until,
                        basis: w.basis,
                        anchor: w.anchor,
                        anchor_span: w.anchor_span,
                    },
                }
            })
            .collect();
        let indicators = self
            .indicators
            .find(text)
            .into_iter()
            .map(|f| Raw {
                value: f.value,
                start: f.start,
                end: f.end,
                conf: f.confidence,
                notes: vec![],
                detail: IndicatorDetail {
                    kind: f.kind,
                    defanged: f.defanged,
                },
            })
            .collect();

        Proposal {
            targets: merge(text, targets, "t"),
            areas: merge(text, areas, "a"),
            categories: merge(text, categories, "c"),
            actors: merge(text, actors, "ac"),
            harms: merge(text, harms, "h"),
            windows: merge(text, windows, "w"),
            indicators: merge(text, indicators, "i"),
        }
    }
}

#[cfg(test)]
mod fuzz_tests;
#[cfg(test)]
mod tests;

/// A mention (no "in"/"near" before it) written as a short alias of the place, not its name:
/// "Do" (an alias of Jahrom), "Pre" (Prato), "CERT" (Sert, Siirt). Words of four letters or
/// fewer are too often ordinary words, acronyms or sentence starts to name a place unprompted.
fn is_short_alias(written: &str, name: &str) -> bool {
    use tocsin_match::normalize::normalize;
    written.chars().filter(|c| c.is_alphabetic()).count() <= 4
        && normalize(written) != normalize(name)
}

/// Words that end an organisation's name.
const ORGANISATION_HEADS: &[&str] = &[
    "office",
    "ministry",
    "department",
    "agency",
    "bureau",
    "directorate",
    "commission",
    "committee",
    "council",
    "service",
    "authority",
    "administration",
    "secretariat",
    "institute",
    "foundation",
    "corporation",
    "organisation",
    "organization",
    "association",
];

/// Whether the place words `i..i+len` sit in the middle of a capitalised organisation name:
/// after another capitalised word and before an organisation's head noun, joined only by spaces,
/// commas, hyphens and "&"/"and"/"of"/"for" ("Foreign, Commonwealth & Development Office" is no
/// mention of Commonwealth, Quezon City). A place that opens the name ("Moscow City Council")
/// still counts: it says where the organisation is.
fn inside_organisation_name(text: &str, n: &norm::Normalized, i: usize, len: usize) -> bool {
    const JOINERS: &[&str] = &["and", "of", "for"];
    let joined = |a: usize, b: usize| {
        text[n.tokens[a].end..n.tokens[b].start]
            .chars()
            .all(|c| c.is_whitespace() || matches!(c, ',' | '&' | '-'))
    };
    let capital = |k: usize| first_letter_is_capital(&text[n.tokens[k].start..n.tokens[k].end]);
    let Some(before) = i.checked_sub(1) else {
        return false;
    };
    let article = matches!(
        text[n.tokens[before].start..n.tokens[before].end]
            .to_lowercase()
            .as_str(),
        "the" | "a" | "an"
    );
    if article || !capital(before) || !joined(before, i) {
        return false;
    }
    let mut k = i + len - 1;
    for _ in 0..5 {
        let next = k + 1;
        if next >= n.tokens.len() || !joined(k, next) {
            return false;
        }
        // As written: the scan's folded spelling keys are not dictionary words.
        let word = text[n.tokens[next].start..n.tokens[next].end].to_lowercase();
        if capital(next) && ORGANISATION_HEADS.contains(&word.as_str()) {
            return true;
        }
        if !capital(next) && !JOINERS.contains(&word.as_str()) {
            return false;
        }
        k = next;
    }
    false
}

/// Nominative forms a Russian place name in an oblique case may come from: "Стамбуле" →
/// "Стамбул", "Анкаре" → "Анкара", "Турции" → "Турция", "Москвы" → "Москва". Empty for a word
/// that is not Cyrillic or too short to inflect; each candidate is then looked up as written.
fn russian_base_forms(word: &str) -> Vec<String> {
    const ENDINGS: &[(&str, &[&str])] = &[
        ("ии", &["ия"]),
        ("ию", &["ия"]),
        ("ей", &["ь", "я"]),
        ("ой", &["а", "ая"]),
        ("ом", &[""]),
        ("ем", &["", "ь"]),
        ("е", &["", "а", "я", "о", "ь"]),
        ("у", &["", "а"]),
        ("ю", &["я", "ь"]),
        ("ы", &["а"]),
        ("и", &["а", "я", "ь"]),
        ("а", &[""]),
        ("я", &["ь"]),
    ];
    let letters = word.chars().count();
    if letters < 4
        || !word
            .chars()
            .all(|c| matches!(c, 'А'..='я' | 'Ё' | 'ё' | '-'))
    {
        return Vec::new();
    }
    let mut out = Vec::new();
    for (end, bases) in ENDINGS {
        if let Some(stem) = word.strip_suffix(end) {
            if stem.chars().count() >= 3 {
                out.extend(bases.iter().map(|b| format!("{stem}{b}")));
            }
        }
    }
    out
}
