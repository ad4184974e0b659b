//! Fuzzy name comparison: per-token edit distance with a budget scaled to the token's length, and
//! word order free (optimal one-to-one assignment of tokens).

use crate::normalize::NameKey;
use std::collections::HashSet;

/// Never more than this many edits on one token, whatever `max_edit_ratio` says: beyond two the
/// deletion neighbourhoods of the index grow fast and names stop meaning anything.
pub const MAX_TOKEN_EDITS: u32 = 2;

/// Assignments are searched exhaustively up to this many tokens; longer names compare in order.
const MAX_ASSIGN_TOKENS: usize = 8;

/// Edits allowed on a token of `len` characters: `min(2, floor(len × ratio))`. With the default
/// ratio 0.25: 0 for 1–3 characters, 1 for 4–7, 2 for 8 and more.
pub fn allowed_edits(len: usize, ratio: f64) -> u32 {
    let r = if ratio.is_finite() {
        ratio.clamp(0.0, 1.0)
    } else {
        0.0
    };
    ((len as f64 * r).floor() as u32).min(MAX_TOKEN_EDITS)
}

/// Edits allowed between two tokens: the budget of the shorter one.
pub fn pair_budget(a_len: usize, b_len: usize, ratio: f64) -> u32 {
    allowed_edits(a_len.min(b_len), ratio)
}

/// Optimal string alignment distance (Damerau–Levenshtein restricted: insertions, deletions,
/// substitutions, adjacent transpositions), `None` if it exceeds `max`.
pub fn osa_within(a: &[char], b: &[char], max: u32) -> Option<u32> {
    let (n, m) = (a.len(), b.len());
    if n.abs_diff(m) as u32 > max {
        return None;
    }
    if a == b {
        return Some(0);
    }
    let w = m + 1;
    let mut d = vec![0u32; (n + 1) * w];
    for i in 0..=n {
        d[i * w] = i as u32;
    }
    for (j, cell) in d.iter_mut().enumerate().take(m + 1) {
        *cell = j as u32;
    }
    for i in 1..=n {
        let mut row_min = u32::MAX;
        for j in 1..=m {
            let cost = u32::from(a[i - 1] != b[j - 1]);
            let mut v = (d[(i - 1) * w + j] + 1)
                .min(d[i * w + j - 1] + 1)
                .min(d[(i - 1) * w + j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(d[(i - 2) * w + j - 2] + 1);
            }
            d[i * w + j] = v;
            row_min = row_min.min(v);
        }
        // Row minima never decrease (every cell derives from a cell of the previous row that is
        // no larger, the transposition cell included), so a row above `max` ends the search.
        if row_min > max {
            return None;
        }
    }
    let v = d[n * w + m];
    (v <= max).then_some(v)
}

/// Distance between two folded tokens if within their pair budget.
pub fn token_distance(a: &str, b: &str, ratio: f64) -> Option<u32> {
    if a == b {
        return Some(0);
    }
    let ac: Vec<char> = a.chars().collect();
    let bc: Vec<char> = b.chars().collect();
    osa_within(&ac, &bc, pair_budget(ac.len(), bc.len(), ratio))
}

/// Every string obtained from `token` by deleting at most `k` characters (the token itself
/// included): the deletion neighbourhood used by the name index (SymSpell). Two tokens within
/// OSA distance `k` always share a string of their `k`-neighbourhoods.
pub fn deletion_neighbourhood(token: &str, k: u32) -> HashSet<String> {
    let mut all = HashSet::new();
    let start: Vec<char> = token.chars().collect();
    let mut level = vec![start];
    all.insert(token.to_owned());
    for _ in 0..k {
        let mut next = Vec::new();
        for s in &level {
            for i in 0..s.len() {
                let mut v = s.clone();
                v.remove(i);
                let st: String = v.iter().collect();
                if all.insert(st) {
                    next.push(v);
                }
            }
        }
        level = next;
    }
    all
}

/// How a query name compared to one candidate name.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NameComparison {
    /// Normalised tokens equal, in order.
    pub exact: bool,
    /// Sum of the token edit distances (over folded tokens) in the best assignment.
    pub cost: u32,
    /// The best assignment is not the in-order one.
    pub reordered: bool,
    /// `Some(share)` when the query names only part of the candidate (fewer tokens, each found in
    /// it): the rarity-weighted share of the candidate's tokens it covers, in [0.6, 1).
    pub contained: Option<f64>,
}

/// Words so common in names of places and organisations that they say little about which one
/// is meant ("City", "Hall", "Cemetery"): a token's rarity weight is 0.25 for these, 1 otherwise.
pub const COMMON_NAME_WORDS: &[&str] = &[
    "the",
    "of",
    "and",
    "de",
    "la",
    "le",
    "du",
    "des",
    "del",
    "city",
    "hall",
    "centre",
    "center",
    "arena",
    "stadium",
    "theatre",
    "theater",
    "club",
    "house",
    "park",
    "square",
    "street",
    "cemetery",
    "mosque",
    "masjid",
    "church",
    "cathedral",
    "synagogue",
    "temple",
    "shrine",
    "hospital",
    "clinic",
    "school",
    "university",
    "college",
    "airport",
    "station",
    "market",
    "mall",
    "hotel",
    "museum",
    "palace",
    "tower",
    "bridge",
    "port",
    "national",
    "central",
    "new",
    "saint",
    "st",
    "international",
    "memorial",
    "martyrs",
    "grand",
    "great",
    "main",
    "north",
    "south",
    "east",
    "west",
    "upper",
    "lower",
    "old",
];

/// The rarity weight of a folded token (see [`COMMON_NAME_WORDS`]).
pub fn token_weight(folded: &str) -> f64 {
    use crate::normalize::fold_token;
    use std::sync::OnceLock;
    static COMMON: OnceLock<HashSet<String>> = OnceLock::new();
    let common = COMMON.get_or_init(|| COMMON_NAME_WORDS.iter().map(|w| fold_token(w)).collect());
    if common.contains(folded) {
        0.25
    } else {
        1.0
    }
}

/// Least rarity-weighted share of a candidate a contained query must cover.
pub const MIN_CONTAINED_SHARE: f64 = 0.6;

impl NameComparison {
    /// Name score: 1.0 exact, else `0.65 + 0.30 / (1 + cost + 0.5·reordered)` — in (0.65, 0.95];
    /// a contained name scales that by its covered share (so at least 0.39).
    pub fn score(&self) -> f64 {
        if self.exact {
            1.0
        } else {
            let s =
                0.65 + 0.30 / (1.0 + f64::from(self.cost) + if self.reordered { 0.5 } else { 0.0 });
            match self.contained {
                Some(share) => s * share,
                None => s,
            }
        }
    }

    /// "exact", "spelling variant", "edit cost 2", "word order, edit cost 1", "contained, 71%
    /// of the name by rarity".
    pub fn describe(&self) -> String {
        let base = match (self.exact, self.reordered, self.cost) {
            (true, _, _) => "exact".to_owned(),
            (false, false, 0) => "spelling variant".to_owned(),
            (false, true, 0) => "word order".to_owned(),
            (false, false, c) => format!("edit cost {c}"),
            (false, true, c) => format!("word order, edit cost {c}"),
        };
        match self.contained {
            Some(share) if self.cost == 0 => {
                format!("contained, {:.0}% of the name by rarity", share * 100.0)
            }
            Some(share) => format!(
                "contained with edit cost {}, {:.0}% of the name by rarity",
                self.cost,
                share * 100.0
            ),
            None => base,
        }
    }
}

/// Compare a query name with a candidate: exact on normalised tokens, else the cheapest one-to-one
/// assignment of folded tokens (transliteration particles dropped, see [`NameKey`]) in which
/// every pair is within its budget, word order free. A query with fewer tokens than the candidate
/// matches when each of its tokens is found in the candidate and what it covers is at least
/// [`MIN_CONTAINED_SHARE`] of the candidate by rarity weight ([`token_weight`]), with at least one
/// rare token: "Crocus" is most of "Crocus City Hall", "City Hall" is not.
pub fn compare_names(query: &NameKey, cand: &NameKey, ratio: f64) -> Option<NameComparison> {
    if query.norm.is_empty() || cand.norm.is_empty() {
        return None;
    }
    if query.norm == cand.norm {
        return Some(NameComparison {
            exact: true,
            cost: 0,
            reordered: false,
            contained: None,
        });
    }
    let n = query.folded.len();
    if cand.folded.len() > n && n <= MAX_ASSIGN_TOKENS && cand.folded.len() <= 16 {
        return contained(query, cand, ratio);
    }
    if cand.folded.len() != n {
        return None;
    }
    let cost: Vec<Vec<Option<u32>>> = query
        .folded
        .iter()
        .map(|q| {
            cand.folded
                .iter()
                .map(|c| token_distance(q, c, ratio))
                .collect()
        })
        .collect();
    let identity: Option<u32> = (0..n).map(|i| cost[i][i]).sum();
    let best = if n <= MAX_ASSIGN_TOKENS {
        best_assignment(&cost)
    } else {
        identity
    };
    let best = best?;
    Some(NameComparison {
        exact: false,
        cost: best,
        reordered: identity != Some(best),
        contained: None,
    })
}

/// The query's tokens each assigned to a distinct candidate token (cheapest assignment, ties to
/// the rarer candidate tokens), judged by the rarity-weighted share covered.
fn contained(query: &NameKey, cand: &NameKey, ratio: f64) -> Option<NameComparison> {
    if !query.folded.iter().any(|q| token_weight(q) >= 1.0) {
        return None;
    }
    let m = cand.folded.len();
    let cost: Vec<Vec<Option<u32>>> = query
        .folded
        .iter()
        .map(|q| {
            cand.folded
                .iter()
                .map(|c| token_distance(q, c, ratio))
                .collect()
        })
        .collect();
    let weights: Vec<f64> = cand.folded.iter().map(|c| token_weight(c)).collect();
    let total: f64 = weights.iter().sum();
    // Search (cost, -covered weight) lexicographically over injective assignments.
    let mut best: Option<(u32, f64, bool)> = None;
    let mut used = vec![false; m];
    let mut order = Vec::with_capacity(query.folded.len());
    fn search(
        i: usize,
        cost: &[Vec<Option<u32>>],
        weights: &[f64],
        used: &mut [bool],
        order: &mut Vec<usize>,
        acc: (u32, f64),
        best: &mut Option<(u32, f64, bool)>,
    ) {
        if i == cost.len() {
            let in_order = order.windows(2).all(|w| w[0] < w[1]);
            let better = match best {
                None => true,
                Some((c, w, _)) => acc.0 < *c || (acc.0 == *c && acc.1 > *w + 1e-12),
            };
            if better {
                *best = Some((acc.0, acc.1, !in_order));
            }
            return;
        }
        for j in 0..cost[i].len() {
            if used[j] {
                continue;
            }
            if let Some(c) = cost[i][j] {
                used[j] = true;
                order.push(j);
                search(
                    i + 1,
                    cost,
                    weights,
                    used,
                    order,
                    (acc.0 + c, acc.1 + weights[j]),
                    best,
                );
                order.pop();
                used[j] = false;
            }
        }
    }
    search(
        0,
        &cost,
        &weights,
        &mut used,
        &mut order,
        (0, 0.0),
        &mut best,
    );
    let (c, w, reordered) = best?;
    let share = w / total;
    (share >= MIN_CONTAINED_SHARE).then_some(NameComparison {
        exact: false,
        cost: c,
        reordered,
        contained: Some(share),
    })
}

/// Minimum-cost perfect assignment over a square matrix of optional costs (bitmask DP).
fn best_assignment(cost: &[Vec<Option<u32>>]) -> Option<u32> {
    let n = cost.len();
    let full = 1usize << n;
    let mut dp: Vec<Option<u32>> = vec![None; full];
    dp[0] = Some(0);
    for mask in 0..full {
        let Some(base) = dp[mask] else { continue };
        let i = mask.count_ones() as usize;
        if i == n {
            continue;
        }
        for (j, c) in cost[i].iter().enumerate() {
            if mask & (1 << j) != 0 {
                continue;
            }
            if let Some(c) = c {
                let next = mask | (1 << j);
                let v = base + c;
                match dp[next] {
                    Some(old) if old <= v => {}
                    _ => dp[next] = Some(v),
                }
            }
        }
    }
    dp[full - 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmp(a: &str, b: &str) -> Option<NameComparison> {
        compare_names(&NameKey::new(a), &NameKey::new(b), 0.25)
    }

    #[test]
    fn budgets_scale_with_length() {
        assert_eq!(allowed_edits(3, 0.25), 0);
        assert_eq!(allowed_edits(4, 0.25), 1);
        assert_eq!(allowed_edits(7, 0.25), 1);
        assert_eq!(allowed_edits(8, 0.25), 2);
        assert_eq!(allowed_edits(40, 0.25), 2);
        assert_eq!(allowed_edits(40, f64::NAN), 0);
    }

    #[test]
    fn osa_counts_transpositions_once() {
        let a: Vec<char> = "synagogue".chars().collect();
        let b: Vec<char> = "synagouge".chars().collect();
        assert_eq!(osa_within(&a, &b, 2), Some(1));
        let c: Vec<char> = "kitten".chars().collect();
        let d: Vec<char> = "sitting".chars().collect();
        assert_eq!(osa_within(&c, &d, 3), Some(3));
        assert_eq!(osa_within(&c, &d, 2), None);
    }

    #[test]
    fn names_compare() {
        assert!(cmp("Crocus City Hall", "crocus  city HALL").unwrap().exact);
        assert!(cmp("Krokus Siti Holl", "Крокус Сити Холл").unwrap().exact);
        let v = cmp("Krokus", "Crocus").unwrap();
        assert_eq!((v.exact, v.cost, v.reordered), (false, 0, false));
        let c = cmp("Crocus City Hall", "Крокус Сити Холл").unwrap();
        assert_eq!((c.cost, c.reordered), (1, false));
        let w = cmp("City Hall Crocus", "Crocus City Hall").unwrap();
        assert_eq!((w.cost, w.reordered), (0, true));
        assert_eq!(cmp("Crocsu City Hall", "Crocus City Hall").unwrap().cost, 1);
        let c = cmp("Crocus", "Crocus City Hall").unwrap();
        assert!(c.contained.is_some_and(|s| s > 0.6 && s < 1.0), "{c:?}");
        assert!(c.score() < cmp("Crocus City Hall", "Crocus City Hall").unwrap().score());
        assert!(
            cmp("City Hall", "Crocus City Hall").is_none(),
            "common words only"
        );
        assert!(cmp("Crocus Moscow", "Crocus City Hall").is_none());
        assert!(cmp("Cat", "Bat").is_none());
        assert!(cmp("Crocodile Hall", "Crocus Hall").is_none());
    }

    #[test]
    fn transliteration_variants_compare() {
        assert!(cmp("Golzar-e Shohada", "Golzar Shohada").is_some());
        assert!(cmp("Golzar-e Shohada", "Golzar-i-Shohada").is_some());
        assert!(cmp("al-Aqsa Mosque", "El Aqsa Mosque").is_some());
        assert!(cmp("Masjid al-Haram", "Masjid Haram").is_some());
        assert!(cmp("Martyrs' Cemetery", "Martyrs Cemetery").unwrap().exact);
        assert!(cmp("Shohada Golzar", "Golzar-e Shohada").unwrap().reordered);
        assert!(cmp("Golzar-e Shohada", "Kerman Martyrs' Cemetery").is_none());
    }

    #[test]
    fn scores_order() {
        let exact = NameComparison {
            exact: true,
            cost: 0,
            reordered: false,
            contained: None,
        }
        .score();
        let variant = NameComparison {
            exact: false,
            cost: 0,
            reordered: false,
            contained: None,
        }
        .score();
        let reordered = NameComparison {
            exact: false,
            cost: 0,
            reordered: true,
            contained: None,
        }
        .score();
        let one = NameComparison {
            exact: false,
            cost: 1,
            reordered: false,
            contained: None,
        }
        .score();
        let two = NameComparison {
            exact: false,
            cost: 2,
            reordered: false,
            contained: None,
        }
        .score();
        assert!(
            exact > variant && variant > reordered && reordered > one && one > two && two > 0.65
        );
    }

    #[test]
    fn neighbourhood_sizes() {
        assert_eq!(deletion_neighbourhood("abc", 0).len(), 1);
        assert_eq!(deletion_neighbourhood("abc", 1).len(), 4);
        assert!(deletion_neighbourhood("hall", 1).contains("hll"));
    }
}
