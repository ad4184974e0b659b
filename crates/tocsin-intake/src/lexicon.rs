//! The lexicon: every dictionary phrase (registry names and aliases, categories, actors, harms,
//! and their content-farm rewordings) compiled into one Aho–Corasick automaton over
//! the normalised, folded token stream ([`crate::norm`]), plus a deletion index (SymSpell) that
//! corrects misspelt distinctive words before the scan.
//!
//! Matching is leftmost-longest on whole tokens: "Moscow Choral Synagogue" wins over "Moscow",
//! "ISIS-K" over "ISIS".

use crate::dict::Dictionaries;
use crate::norm::{normalize_and_fold, Normalized};
use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};
use tocsin_core::Entity;
use tocsin_match::fuzzy::osa_within;
use tocsin_match::normalize::place_key;

/// FNV-1a: tokens are short, and SipHash costs more than the rest of a look-up.
#[derive(Default, Clone, Copy)]
pub(crate) struct Fnv(u64);

impl Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        let mut h = if self.0 == 0 {
            0xcbf2_9ce4_8422_2325
        } else {
            self.0
        };
        for &b in bytes {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        self.0 = h;
    }
}

pub(crate) type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<Fnv>>;
pub(crate) type FastSet<K> = HashSet<K, BuildHasherDefault<Fnv>>;

fn fnv_skip(bytes: &[u8], skip1: usize, skip2: usize) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for (i, &b) in bytes.iter().enumerate() {
        if i == skip1 || i == skip2 {
            continue;
        }
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// Shortest token that fuzzy matching corrects (shorter words have too many neighbours).
pub const FUZZY_MIN_LEN: usize = 6;
/// From this length two edits are allowed, below it one.
pub const FUZZY_TWO_EDITS_LEN: usize = 10;

fn fuzzy_budget(len: usize) -> u32 {
    if len >= FUZZY_TWO_EDITS_LEN {
        2
    } else if len >= FUZZY_MIN_LEN {
        1
    } else {
        0
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Kind {
    Entity,
    Category,
    Actor,
    Harm,
}

/// What a pattern stands for.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Payload {
    pub kind: Kind,
    /// Index into the entity list, gazetteer places, or the dictionary of the kind.
    pub idx: u32,
    /// The phrase as written in the registry or dictionary.
    pub source: String,
    pub conf: f64,
    /// Written in capitals only (ISKP): the text must be in capitals too.
    pub acronym: bool,
    /// The reworded form that produced this pattern, if any.
    pub reworded: bool,
}

#[derive(Debug, Clone, Default)]
pub(crate) struct PatternInfo {
    pub payloads: Vec<Payload>,
}

/// One pattern found in the text: tokens `first..=last`, input span `[start, end)`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Hit {
    pub pattern: u32,
    pub first: usize,
    pub last: usize,
    pub start: usize,
    pub end: usize,
    /// How many of its tokens were fuzzy corrections.
    pub corrected: u32,
}

/// Words whose misspellings are corrected, with their deletion neighbourhoods.
#[derive(Debug, Default)]
struct FuzzyIndex {
    words: Vec<String>,
    dels: FastMap<u64, Vec<u32>>,
}

impl FuzzyIndex {
    fn add(&mut self, w: &str) {
        let id = self.words.len() as u32;
        self.words.push(w.to_owned());
        let b = w.as_bytes();
        let push = |h: u64, dels: &mut FastMap<u64, Vec<u32>>| {
            let v = dels.entry(h).or_default();
            if v.last() != Some(&id) {
                v.push(id);
            }
        };
        push(fnv_skip(b, usize::MAX, usize::MAX), &mut self.dels);
        let k = fuzzy_budget(b.len());
        for i in 0..b.len() {
            push(fnv_skip(b, i, usize::MAX), &mut self.dels);
            if k >= 2 {
                for j in i + 1..b.len() {
                    push(fnv_skip(b, i, j), &mut self.dels);
                }
            }
        }
    }

    /// The closest word within the token's budget, `None` when there is none.
    fn correct(
        &self,
        tok: &str,
        cand: &mut Vec<u32>,
        ca: &mut Vec<char>,
        cb: &mut Vec<char>,
    ) -> Option<u32> {
        let b = tok.as_bytes();
        let k = fuzzy_budget(b.len());
        if k == 0 || self.words.is_empty() {
            return None;
        }
        cand.clear();
        let mut look = |h: u64| {
            if let Some(v) = self.dels.get(&h) {
                cand.extend_from_slice(v);
            }
        };
        look(fnv_skip(b, usize::MAX, usize::MAX));
        for i in 0..b.len() {
            look(fnv_skip(b, i, usize::MAX));
            if k >= 2 {
                for j in i + 1..b.len() {
                    look(fnv_skip(b, i, j));
                }
            }
        }
        if cand.is_empty() {
            return None;
        }
        cand.sort_unstable();
        cand.dedup();
        ca.clear();
        ca.extend(tok.chars());
        // Closest first; among equals the one nearest in length, then the first in order, so
        // that "synagouge" reads as "synagogue" rather than the Cyrillic inflection "sinagoge".
        let mut best: Option<(u32, usize, u32)> = None;
        #[allow(clippy::unnecessary_map_or)] // is_none_or needs Rust 1.82; the MSRV is 1.80
        for &id in cand.iter() {
            let w = &self.words[id as usize];
            cb.clear();
            cb.extend(w.chars());
            // The budget of the shorter word, as in the matcher.
            let max = fuzzy_budget(ca.len().min(cb.len()));
            if let Some(d) = osa_within(ca, cb, max) {
                let key = (d, ca.len().abs_diff(cb.len()), id);
                if best.map_or(true, |b| key < b) {
                    best = Some(key);
                }
            }
        }
        match best {
            Some((d, _, id)) if d > 0 => Some(id),
            _ => None,
        }
    }
}

/// Folded tokens of a phrase (empty if it has no letters or digits).
fn folded_tokens(phrase: &str) -> Vec<String> {
    place_key(phrase)
        .split(' ')
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .collect()
}

fn scan_key(tokens: &[String]) -> String {
    let mut s = String::with_capacity(tokens.iter().map(|t| t.len() + 2).sum::<usize>() + 1);
    s.push(' ');
    for (i, t) in tokens.iter().enumerate() {
        if i > 0 {
            s.push_str("  ");
        }
        s.push_str(t);
    }
    s.push(' ');
    s
}

fn is_acronym(s: &str) -> bool {
    let upper = s.chars().filter(|c| c.is_uppercase()).count();
    upper >= 2 && !s.chars().any(|c| c.is_lowercase())
}

/// Rewording rules over folded tokens: canonical sequence → reworded sequences.
struct Rules {
    rules: Vec<(Vec<String>, Vec<Vec<String>>)>,
    factor: f64,
}

/// At most this many forms per phrase (the phrase itself included).
const MAX_VARIANTS: usize = 24;

impl Rules {
    fn new(d: &Dictionaries) -> Self {
        let rules = d
            .rewordings
            .rewordings
            .iter()
            .map(|(k, vs)| {
                (
                    folded_tokens(k),
                    vs.iter()
                        .map(|v| folded_tokens(v))
                        .filter(|v| !v.is_empty())
                        .collect(),
                )
            })
            .filter(|(k, _): &(Vec<String>, Vec<Vec<String>>)| !k.is_empty())
            .collect();
        Self {
            rules,
            factor: d.rewordings.factor,
        }
    }

    /// The phrase and its reworded forms (up to two substitutions), with the number of
    /// substitutions each took.
    fn variants(&self, tokens: Vec<String>) -> Vec<(Vec<String>, u32)> {
        let mut out = vec![(tokens, 0u32)];
        let mut seen: HashSet<Vec<String>> = out.iter().map(|(t, _)| t.clone()).collect();
        for depth in 1..=2u32 {
            let level: Vec<Vec<String>> = out
                .iter()
                .filter(|(_, d)| *d == depth - 1)
                .map(|(t, _)| t.clone())
                .collect();
            for t in level {
                for (canon, forms) in &self.rules {
                    if canon.len() > t.len() {
                        continue;
                    }
                    for pos in 0..=t.len() - canon.len() {
                        if t[pos..pos + canon.len()] != canon[..] {
                            continue;
                        }
                        for f in forms {
                            if out.len() >= MAX_VARIANTS {
                                return out;
                            }
                            let mut v = t[..pos].to_vec();
                            v.extend(f.iter().cloned());
                            v.extend(t[pos + canon.len()..].iter().cloned());
                            if seen.insert(v.clone()) {
                                out.push((v, depth));
                            }
                        }
                    }
                }
            }
        }
        out
    }
}

/// The compiled lexicon.
pub(crate) struct Lexicon {
    ac: AhoCorasick,
    pub patterns: Vec<PatternInfo>,
    vocab: FastSet<String>,
    fuzzy: FuzzyIndex,
    /// First letters of the fuzzy words of categories: a lower-case word is only corrected if it
    /// starts with one of them (names and actors are corrected when capitalised).
    lower_firsts: Vec<u8>,
    pub prep_in: FastSet<String>,
    pub prep_near: FastSet<String>,
}

struct LexBuilder {
    keys: FastMap<String, u32>,
    patterns: Vec<PatternInfo>,
    vocab: FastSet<String>,
    fuzzy_words: FastSet<String>,
    common_words: FastSet<String>,
    lower_firsts: Vec<u8>,
}

impl LexBuilder {
    #[allow(clippy::too_many_arguments)]
    fn add(
        &mut self,
        rules: &Rules,
        phrase: &str,
        kind: Kind,
        idx: u32,
        conf: f64,
        fuzzy: bool,
        reword: bool,
    ) {
        let toks = folded_tokens(phrase);
        if toks.is_empty() {
            return;
        }
        for t in &toks {
            if fuzzy && t.is_ascii() && t.len() >= FUZZY_MIN_LEN {
                self.fuzzy_words.insert(t.clone());
                if kind == Kind::Category && !self.lower_firsts.contains(&t.as_bytes()[0]) {
                    self.lower_firsts.push(t.as_bytes()[0]);
                }
            } else if !fuzzy {
                self.common_words.insert(t.clone());
            }
        }
        let acronym = is_acronym(phrase);
        let variants = if reword {
            rules.variants(toks)
        } else {
            vec![(toks, 0)]
        };
        for (v, subs) in variants {
            for t in &v {
                self.vocab.insert(t.clone());
            }
            let key = scan_key(&v);
            let id = *self.keys.entry(key).or_insert_with(|| {
                self.patterns.push(PatternInfo::default());
                (self.patterns.len() - 1) as u32
            });
            let c = conf * rules.factor.powi(subs as i32);
            let p = Payload {
                kind,
                idx,
                source: phrase.to_owned(),
                conf: c,
                acronym,
                reworded: subs > 0,
            };
            let info = &mut self.patterns[id as usize];
            match info
                .payloads
                .iter_mut()
                .find(|q| q.kind == kind && q.idx == idx)
            {
                Some(q) if q.conf >= c => {}
                Some(q) => *q = p,
                None => info.payloads.push(p),
            }
        }
    }
}

/// Confidence of a named target by how it was named.
pub const CONF_NAME: f64 = 0.95;
pub const CONF_ALIAS: f64 = 0.9;
pub const CONF_SHORT_ALIAS: f64 = 0.8;
pub const CONF_CATEGORY: f64 = 0.8;
pub const CONF_ACTOR: f64 = 0.9;
/// Confidence of a place named without "in"/"near".
pub const CONF_PLACE: f64 = 0.55;

impl Lexicon {
    pub fn build(
        entities: &[Entity],
        dicts: &Dictionaries,
    ) -> Result<Self, aho_corasick::BuildError> {
        let rules = Rules::new(dicts);
        let mut b = LexBuilder {
            keys: FastMap::default(),
            patterns: Vec::new(),
            vocab: FastSet::default(),
            fuzzy_words: FastSet::default(),
            common_words: FastSet::default(),
            lower_firsts: Vec::new(),
        };
        for (i, e) in entities.iter().enumerate() {
            b.add(
                &rules,
                &e.name,
                Kind::Entity,
                i as u32,
                CONF_NAME,
                true,
                true,
            );
            for a in &e.aliases {
                let single = folded_tokens(a).len() < 2;
                b.add(
                    &rules,
                    a,
                    Kind::Entity,
                    i as u32,
                    if single { CONF_SHORT_ALIAS } else { CONF_ALIAS },
                    true,
                    true,
                );
            }
        }
        for (i, a) in dicts.actors.iter().enumerate() {
            b.add(
                &rules,
                &a.name,
                Kind::Actor,
                i as u32,
                CONF_ACTOR,
                true,
                true,
            );
            for al in &a.aliases {
                b.add(&rules, al, Kind::Actor, i as u32, CONF_ACTOR, true, true);
            }
        }
        for (i, c) in dicts.categories.iter().enumerate() {
            for p in &c.phrases {
                b.add(
                    &rules,
                    p,
                    Kind::Category,
                    i as u32,
                    CONF_CATEGORY,
                    c.fuzzy,
                    true,
                );
            }
        }
        for (i, h) in dicts.harms.iter().enumerate() {
            for p in &h.phrases {
                b.add(&rules, p, Kind::Harm, i as u32, h.confidence, false, true);
            }
        }
        // The words of rewording forms are common words too ("corridor", "hearth").
        for forms in dicts.rewordings.rewordings.values() {
            for f in forms {
                for t in folded_tokens(f) {
                    b.common_words.insert(t);
                }
            }
        }
        let mut fuzzy = FuzzyIndex::default();
        let mut words: Vec<&String> = b
            .fuzzy_words
            .iter()
            .filter(|w| !b.common_words.contains(*w))
            .collect();
        words.sort();
        for w in words {
            fuzzy.add(w);
        }
        let mut keyed: Vec<(&String, &u32)> = b.keys.iter().collect();
        keyed.sort_by_key(|(_, &id)| id);
        let ac = AhoCorasickBuilder::new()
            .match_kind(MatchKind::LeftmostLongest)
            .build(keyed.iter().map(|(k, _)| k.as_bytes()))?;
        let set =
            |ws: &[&str]| -> FastSet<String> { ws.iter().flat_map(|w| folded_tokens(w)).collect() };
        Ok(Self {
            ac,
            patterns: b.patterns,
            vocab: b.vocab,
            fuzzy,
            lower_firsts: b.lower_firsts,
            prep_in: set(&[
                "in",
                "at",
                "inside",
                "across",
                "throughout",
                "within",
                "в",
                "во",
            ]),
            prep_near: set(&[
                "near",
                "around",
                "outside",
                "nearby",
                "около",
                "под",
                "близ",
                "возле",
            ]),
        })
    }

    /// Normalise, correct and scan `text`.
    pub fn scan(&self, text: &str) -> (Normalized, Vec<Hit>) {
        let mut cand = Vec::new();
        let (mut ca, mut cb) = (Vec::new(), Vec::new());
        let n = normalize_and_fold(text, |tok, capital, out| {
            if tok.len() < FUZZY_MIN_LEN
                || !tok.is_ascii()
                || (!capital && !self.lower_firsts.contains(&tok.as_bytes()[0]))
                || self.vocab.contains(tok)
            {
                return false;
            }
            match self.fuzzy.correct(tok, &mut cand, &mut ca, &mut cb) {
                Some(id) => {
                    out.push_str(&self.fuzzy.words[id as usize]);
                    true
                }
                None => false,
            }
        });
        let mut hits = Vec::new();
        for m in self.ac.find_iter(n.scan.as_bytes()) {
            // Patterns are " a  b ": the token bytes lie one space inside the match.
            let (Some(first), Some(last)) =
                (n.token_at(m.start() + 1), n.token_ending(m.end() - 1))
            else {
                continue;
            };
            let corrected = n.tokens[first..=last]
                .iter()
                .filter(|t| t.corrected)
                .count() as u32;
            hits.push(Hit {
                pattern: m.pattern().as_u32(),
                first,
                last,
                start: n.tokens[first].start,
                end: n.tokens[last].end,
                corrected,
            });
        }
        (n, hits)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules() -> Rules {
        Rules::new(&Dictionaries::builtin())
    }

    #[test]
    fn rewordings_expand_phrases() {
        let v = rules().variants(folded_tokens("concert hall"));
        let keys: Vec<String> = v.iter().map(|(t, _)| t.join(" ")).collect();
        assert!(
            keys.contains(&"live performanse korridor".to_owned()),
            "{keys:?}"
        );
        let isis = rules().variants(folded_tokens("ISIS-K"));
        assert!(
            isis.iter()
                .any(|(t, d)| t.join(" ") == "isis okai" && *d == 1),
            "{isis:?}"
        );
    }

    #[test]
    fn fuzzy_corrects_only_close_distinctive_words() {
        let mut f = FuzzyIndex::default();
        for w in ["sinagogue", "krokus", "horasan"] {
            f.add(w);
        }
        let (mut c, mut a, mut b) = (Vec::new(), Vec::new(), Vec::new());
        let mut fix = |t: &str| {
            f.correct(t, &mut c, &mut a, &mut b)
                .map(|i| f.words[i as usize].clone())
        };
        assert_eq!(fix("sinagouge").as_deref(), Some("sinagogue"));
        assert_eq!(fix("kroksu").as_deref(), Some("krokus"));
        assert_eq!(fix("horasaan").as_deref(), Some("horasan"));
        assert_eq!(fix("krokus"), None, "exact words are not corrections");
        assert_eq!(fix("kroks"), None, "too short to correct");
        assert_eq!(fix("horizon"), None);
    }
}
