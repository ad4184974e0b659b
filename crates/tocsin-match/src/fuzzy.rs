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
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NameComparison {
    /// Normalised tokens equal, in order.
    pub exact: bool,
    /// Sum of the token edit distances (over folded tokens) in the best assignment.
    pub cost: u32,
    /// The best assignment is not the in-order one.
    pub reordered: bool,
}

impl NameComparison {
    /// Name score: 1.0 exact, else `0.65 + 0.30 / (1 + cost + 0.5·reordered)` — in (0.65, 0.95].
    pub fn score(&self) -> f64 {
        if self.exact {
            1.0
        } else {
            0.65 + 0.30 / (1.0 + f64::from(self.cost) + if self.reordered { 0.5 } else { 0.0 })
        }
    }

    /// "exact", "spelling variant", "edit cost 2", "word order, edit cost 1".
    pub fn describe(&self) -> String {
        match (self.exact, self.reordered, self.cost) {
            (true, _, _) => "exact".to_owned(),
            (false, false, 0) => "spelling variant".to_owned(),
            (false, true, 0) => "word order".to_owned(),
            (false, false, c) => format!("edit cost {c}"),
            (false, true, c) => format!("word order, edit cost {c}"),
        }
    }
}

/// Compare a query name with a candidate: exact on normalised tokens, else the cheapest one-to-one
/// assignment of folded tokens in which every pair is within its budget. Names with different
/// numbers of tokens never match (aliases cover short forms).
pub fn compare_names(query: &NameKey, cand: &NameKey, ratio: f64) -> Option<NameComparison> {
    if query.norm.is_empty() || cand.norm.is_empty() {
        return None;
    }
    if query.norm == cand.norm {
        return Some(NameComparison {
            exact: true,
            cost: 0,
            reordered: false,
        });
    }
    let n = query.folded.len();
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
        assert!(cmp("Crocus", "Crocus City Hall").is_none());
        assert!(cmp("Cat", "Bat").is_none());
        assert!(cmp("Crocodile Hall", "Crocus Hall").is_none());
    }

    #[test]
    fn scores_order() {
        let exact = NameComparison {
            exact: true,
            cost: 0,
            reordered: false,
        }
        .score();
        let variant = NameComparison {
            exact: false,
            cost: 0,
            reordered: false,
        }
        .score();
        let reordered = NameComparison {
            exact: false,
            cost: 0,
            reordered: true,
        }
        .score();
        let one = NameComparison {
            exact: false,
            cost: 1,
            reordered: false,
        }
        .score();
        let two = NameComparison {
            exact: false,
            cost: 2,
            reordered: false,
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
