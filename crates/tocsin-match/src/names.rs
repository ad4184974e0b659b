//! Name index: folded token → entities, and a deletion neighbourhood (SymSpell) over the token
//! vocabulary to find the tokens within edit budget of a query token without scanning.

use crate::fuzzy::{allowed_edits, deletion_neighbourhood, token_distance};
use crate::normalize::NameKey;
use std::collections::hash_map::DefaultHasher;
use std::collections::{HashMap, HashSet};
use std::hash::{Hash, Hasher};

#[derive(Debug, Clone)]
struct Token {
    text: String,
    postings: HashSet<u32>,
}

#[derive(Debug, Clone)]
pub struct NameIndex {
    ratio: f64,
    vocab: HashMap<String, u32>,
    tokens: Vec<Option<Token>>,
    free: Vec<u32>,
    /// Hash of a deletion variant → tokens having it. Hash collisions only add candidates, which
    /// are verified by edit distance.
    deletions: HashMap<u64, Vec<u32>>,
}

fn variant_hash(s: &str) -> u64 {
    let mut h = DefaultHasher::new();
    s.hash(&mut h);
    h.finish()
}

/// Distinct folded tokens over a set of names.
pub fn distinct_tokens(names: &[NameKey]) -> HashSet<&str> {
    names.iter().flat_map(|n| n.folded.iter().map(String::as_str)).collect()
}

impl NameIndex {
    pub fn new(ratio: f64) -> Self {
        Self { ratio, vocab: HashMap::new(), tokens: Vec::new(), free: Vec::new(), deletions: HashMap::new() }
    }

    fn depth(&self, token: &str) -> u32 {
        allowed_edits(token.chars().count(), self.ratio)
    }

    pub fn insert(&mut self, names: &[NameKey], id: u32) {
        for t in distinct_tokens(names) {
            let tid = match self.vocab.get(t) {
                Some(&tid) => tid,
                None => self.add_token(t),
            };
            if let Some(tok) = self.tokens[tid as usize].as_mut() {
                tok.postings.insert(id);
            }
        }
    }

    pub fn remove(&mut self, names: &[NameKey], id: u32) {
        for t in distinct_tokens(names) {
            let Some(&tid) = self.vocab.get(t) else { continue };
            let empty = match self.tokens[tid as usize].as_mut() {
                Some(tok) => {
                    tok.postings.remove(&id);
                    tok.postings.is_empty()
                }
                None => false,
            };
            if empty {
                self.drop_token(tid);
            }
        }
    }

    fn add_token(&mut self, t: &str) -> u32 {
        let tid = match self.free.pop() {
            Some(tid) => tid,
            None => {
                self.tokens.push(None);
                (self.tokens.len() - 1) as u32
            }
        };
        self.tokens[tid as usize] = Some(Token { text: t.to_owned(), postings: HashSet::new() });
        self.vocab.insert(t.to_owned(), tid);
        for v in deletion_neighbourhood(t, self.depth(t)) {
            self.deletions.entry(variant_hash(&v)).or_default().push(tid);
        }
        tid
    }

    fn drop_token(&mut self, tid: u32) {
        let Some(tok) = self.tokens[tid as usize].take() else { return };
        self.vocab.remove(&tok.text);
        for v in deletion_neighbourhood(&tok.text, self.depth(&tok.text)) {
            let h = variant_hash(&v);
            if let Some(list) = self.deletions.get_mut(&h) {
                list.retain(|&x| x != tid);
                if list.is_empty() {
                    self.deletions.remove(&h);
                }
            }
        }
        self.free.push(tid);
    }

    /// Vocabulary tokens within the pair budget of the folded query token `q`.
    fn similar(&self, q: &str) -> Vec<u32> {
        let mut seen = HashSet::new();
        let mut out = Vec::new();
        for v in deletion_neighbourhood(q, self.depth(q)) {
            let Some(list) = self.deletions.get(&variant_hash(&v)) else { continue };
            for &tid in list {
                if !seen.insert(tid) {
                    continue;
                }
                if let Some(tok) = &self.tokens[tid as usize] {
                    if token_distance(q, &tok.text, self.ratio).is_some() {
                        out.push(tid);
                    }
                }
            }
        }
        out
    }

    /// Entities that may carry a name matching `query`: every matching name has, for each query
    /// token, a token within budget, so the entities of the most selective query token suffice.
    /// Exact matches are covered too (equal normalised tokens fold to equal tokens).
    pub fn candidates(&self, query: &NameKey, out: &mut Vec<u32>) {
        let mut best: Option<(usize, Vec<u32>)> = None;
        let distinct: HashSet<&str> = query.folded.iter().map(String::as_str).collect();
        for q in distinct {
            let tids = self.similar(q);
            let n: usize = tids.iter().filter_map(|&t| self.tokens[t as usize].as_ref()).map(|t| t.postings.len()).sum();
            let better = match &best {
                None => true,
                Some((bn, _)) => n < *bn,
            };
            if better {
                best = Some((n, tids));
            }
            if n == 0 {
                break;
            }
        }
        if let Some((_, tids)) = best {
            for tid in tids {
                if let Some(tok) = &self.tokens[tid as usize] {
                    out.extend(tok.postings.iter().copied());
                }
            }
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

    #[test]
    fn finds_fuzzy_tokens_and_forgets_removed_ones() {
        let mut ix = NameIndex::new(0.25);
        let crocus = vec![NameKey::new("Crocus City Hall"), NameKey::new("Крокус Сити Холл")];
        let luzh = vec![NameKey::new("Luzhniki Stadium")];
        ix.insert(&crocus, 1);
        ix.insert(&luzh, 2);
        let mut out = Vec::new();
        ix.candidates(&NameKey::new("Krokos Siti Holl"), &mut out);
        out.sort();
        out.dedup();
        assert_eq!(out, [1]);
        assert_eq!(ix.vocabulary_len(), 6); // krokus siti hall holl luzhniki stadium
        ix.remove(&crocus, 1);
        assert_eq!(ix.vocabulary_len(), 2);
        out.clear();
        ix.candidates(&NameKey::new("Crocus City Hall"), &mut out);
        assert!(out.is_empty());
        assert!(ix.deletions.values().all(|l| l.iter().all(|t| ix.tokens[*t as usize].is_some())));
    }
}
