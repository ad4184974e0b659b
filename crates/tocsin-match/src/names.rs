//! Name index: folded token → sorted posting list of entities, and a deletion neighbourhood
//! (SymSpell) over the token vocabulary to find the tokens within edit budget of a query token
//! without scanning.
//!
//! A name matches only if every query token has a token within its budget in the candidate name
//! (one-to-one assignment, equal token counts), so the candidates are the *intersection* over the
//! query tokens of "entities having a token similar to this one": the rarest token's entities,
//! kept only if they also appear in the postings of every other query token's similar tokens.

use crate::fuzzy::{allowed_edits, deletion_neighbourhood, token_distance};
use crate::net::IntBuildHasher;
use crate::normalize::NameKey;
use crate::postings;
use std::collections::hash_map::DefaultHasher;
use std::collections::{HashMap, HashSet};
use std::hash::{Hash, Hasher};

/// Marks a deletion entry that points into `multi` rather than at one token.
const MULTI: u32 = 1 << 31;

#[derive(Debug, Clone)]
pub struct NameIndex {
    ratio: f64,
    vocab: HashMap<Box<str>, u32, IntBuildHasher>,
    /// Token id → text (empty when the id is free).
    texts: Vec<Box<str>>,
    /// Token id → sorted entity slots.
    postings: Vec<Vec<u32>>,
    free: Vec<u32>,
    /// Hash of a deletion variant → the one token having it, or `MULTI | i` for `multi[i]`.
    /// Hash collisions only add candidates, which are verified by edit distance.
    deletions: HashMap<u64, u32, IntBuildHasher>,
    multi: Vec<Vec<u32>>,
    multi_free: Vec<u32>,
}

fn variant_hash(s: &str) -> u64 {
    let mut h = DefaultHasher::new();
    s.hash(&mut h);
    h.finish()
}

/// Distinct folded tokens over a set of names, in first-seen order.
pub fn distinct_tokens<'a>(names: impl IntoIterator<Item = &'a NameKey>) -> Vec<&'a str> {
    let mut seen = HashSet::new();
    names
        .into_iter()
        .flat_map(|n| n.folded.iter().map(String::as_str))
        .filter(|t| seen.insert(*t))
        .collect()
}

impl NameIndex {
    pub fn new(ratio: f64) -> Self {
        Self {
            ratio,
            vocab: HashMap::default(),
            texts: Vec::new(),
            postings: Vec::new(),
            free: Vec::new(),
            deletions: HashMap::default(),
            multi: Vec::new(),
            multi_free: Vec::new(),
        }
    }

    fn depth(&self, token: &str) -> u32 {
        allowed_edits(token.chars().count(), self.ratio)
    }

    /// Index entity `id` under each of its distinct folded `tokens`.
    pub fn insert<S: AsRef<str>>(&mut self, tokens: &[S], id: u32) {
        for t in tokens {
            let t = t.as_ref();
            let tid = match self.vocab.get(t) {
                Some(&tid) => tid,
                None => self.add_token(t),
            };
            postings::insert(&mut self.postings[tid as usize], id);
        }
    }

    pub fn remove<S: AsRef<str>>(&mut self, tokens: &[S], id: u32) {
        for t in tokens {
            let Some(&tid) = self.vocab.get(t.as_ref()) else {
                continue;
            };
            let list = &mut self.postings[tid as usize];
            postings::remove(list, id);
            if list.is_empty() {
                self.drop_token(tid);
            }
        }
    }

    fn add_token(&mut self, t: &str) -> u32 {
        let tid = match self.free.pop() {
            Some(tid) => tid,
            None => {
                self.texts.push(Box::from(""));
                self.postings.push(Vec::new());
                (self.texts.len() - 1) as u32
            }
        };
        self.texts[tid as usize] = Box::from(t);
        self.vocab.insert(Box::from(t), tid);
        for v in deletion_neighbourhood(t, self.depth(t)) {
            let h = variant_hash(&v);
            match self.deletions.get(&h).copied() {
                None => {
                    self.deletions.insert(h, tid);
                }
                Some(e) if e & MULTI != 0 => self.multi[(e & !MULTI) as usize].push(tid),
                Some(one) => {
                    let list = vec![one, tid];
                    let i = match self.multi_free.pop() {
                        Some(i) => {
                            self.multi[i as usize] = list;
                            i
                        }
                        None => {
                            self.multi.push(list);
                            (self.multi.len() - 1) as u32
                        }
                    };
                    self.deletions.insert(h, MULTI | i);
                }
            }
        }
        tid
    }

    fn drop_token(&mut self, tid: u32) {
        let text = std::mem::replace(&mut self.texts[tid as usize], Box::from(""));
        self.vocab.remove(&text);
        self.postings[tid as usize] = Vec::new();
        for v in deletion_neighbourhood(&text, self.depth(&text)) {
            let h = variant_hash(&v);
            match self.deletions.get(&h).copied() {
                Some(e) if e & MULTI != 0 => {
                    let i = (e & !MULTI) as usize;
                    self.multi[i].retain(|&x| x != tid);
                    if self.multi[i].len() == 1 {
                        let last = self.multi[i][0];
                        self.multi[i] = Vec::new();
                        self.multi_free.push(i as u32);
                        self.deletions.insert(h, last);
                    }
                }
                Some(one) if one == tid => {
                    self.deletions.remove(&h);
                }
                _ => {}
            }
        }
        self.free.push(tid);
    }

    /// Vocabulary tokens within the pair budget of the folded query token `q`.
    fn similar(&self, q: &str) -> Vec<u32> {
        let mut out: Vec<u32> = Vec::new();
        let check = |tid: u32, out: &mut Vec<u32>| {
            if out.contains(&tid) {
                return;
            }
            let text = &self.texts[tid as usize];
            if !text.is_empty() && token_distance(q, text, self.ratio).is_some() {
                out.push(tid);
            }
        };
        for v in deletion_neighbourhood(q, self.depth(q)) {
            match self.deletions.get(&variant_hash(&v)).copied() {
                None => {}
                Some(e) if e & MULTI != 0 => {
                    for &tid in &self.multi[(e & !MULTI) as usize] {
                        check(tid, &mut out);
                    }
                }
                Some(tid) => check(tid, &mut out),
            }
        }
        out
    }

    /// Sorted entity slots that may carry a name matching `query`: see the module docs. Exact
    /// matches are covered too (equal normalised tokens fold to equal tokens).
    pub fn candidates(&self, query: &NameKey, out: &mut Vec<u32>) {
        let mut seen = HashSet::new();
        let mut groups: Vec<(usize, Vec<u32>)> = query
            .folded
            .iter()
            .filter(|q| seen.insert(q.as_str()))
            .map(|q| {
                let tids = self.similar(q);
                let n = tids.iter().map(|&t| self.postings[t as usize].len()).sum();
                (n, tids)
            })
            .collect();
        groups.sort_by_key(|(n, _)| *n);
        let Some(((n, first), rest)) = groups.split_first() else {
            return;
        };
        if *n == 0 {
            return;
        }
        let start = out.len();
        for &t in first {
            out.extend_from_slice(&self.postings[t as usize]);
        }
        if first.len() > 1 {
            out[start..].sort_unstable();
            let mut w = start;
            for r in start..out.len() {
                if w == start || out[r] != out[w - 1] {
                    out[w] = out[r];
                    w += 1;
                }
            }
            out.truncate(w);
        }
        for (_, tids) in rest {
            let lists: Vec<&[u32]> = tids
                .iter()
                .map(|&t| self.postings[t as usize].as_slice())
                .collect();
            let mut w = start;
            for r in start..out.len() {
                let x = out[r];
                if lists.iter().any(|l| postings::contains(l, x)) {
                    out[w] = x;
                    w += 1;
                }
            }
            out.truncate(w);
        }
    }

    /// Number of distinct tokens indexed.
    pub fn vocabulary_len(&self) -> usize {
        self.vocab.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(names: &[&str]) -> Vec<NameKey> {
        names.iter().map(|n| NameKey::new(n)).collect()
    }

    #[test]
    fn finds_fuzzy_tokens_and_forgets_removed_ones() {
        let mut ix = NameIndex::new(0.25);
        let crocus = keys(&["Crocus City Hall", "Крокус Сити Холл"]);
        let luzh = keys(&["Luzhniki Stadium"]);
        let city_hall = keys(&["Kazan City Hall"]);
        ix.insert(&distinct_tokens(&crocus), 1);
        ix.insert(&distinct_tokens(&luzh), 2);
        ix.insert(&distinct_tokens(&city_hall), 3);
        let mut out = Vec::new();
        ix.candidates(&NameKey::new("Krokos Siti Holl"), &mut out);
        assert_eq!(
            out,
            [1],
            "every query token must be present: Kazan City Hall lacks krokus"
        );
        out.clear();
        ix.candidates(&NameKey::new("City Hall"), &mut out);
        assert_eq!(out, [1, 3]);
        assert_eq!(ix.vocabulary_len(), 7); // krokus siti hall holl luzhniki stadium kazan
        ix.remove(&distinct_tokens(&crocus), 1);
        assert_eq!(ix.vocabulary_len(), 5);
        out.clear();
        ix.candidates(&NameKey::new("Crocus City Hall"), &mut out);
        assert!(out.is_empty());
        // Every deletion entry points at live tokens only.
        let live = |t: u32| !ix.texts[t as usize].is_empty();
        for &e in ix.deletions.values() {
            if e & MULTI != 0 {
                assert!(ix.multi[(e & !MULTI) as usize].iter().all(|&t| live(t)));
                assert!(ix.multi[(e & !MULTI) as usize].len() >= 2);
            } else {
                assert!(live(e));
            }
        }
        // A freed token id is reused.
        ix.insert(&["zal"], 9);
        assert_eq!(ix.vocabulary_len(), 6);
    }
}
