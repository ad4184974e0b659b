//! Category taxonomy: well-known paths and the category index (path → entities, queried by prefix).

use std::collections::{BTreeMap, HashSet};
use tocsin_core::Category;

/// Category paths used by the reference cases and the synthetic registries. The taxonomy is open:
/// any valid [`Category`] path may be used; parents are the path prefixes.
pub const WELL_KNOWN: &[&str] = &[
    "venue",
    "venue/entertainment",
    "venue/entertainment/concert_hall",
    "venue/entertainment/theatre",
    "venue/entertainment/cinema",
    "venue/shopping/mall",
    "venue/sports/stadium",
    "venue/transport/station",
    "venue/transport/airport",
    "place_of_worship",
    "place_of_worship/synagogue",
    "place_of_worship/church",
    "place_of_worship/mosque",
    "event",
    "event/concert",
    "event/sports",
    "event/commemoration",
    "event/religious",
    "organisation",
    "organisation/government",
    "organisation/media",
    "person",
    "population/citizens_abroad",
];

/// Entities by exact category path. A query for `a/b` visits the key `a/b` and the key range
/// `a/b/`…`a/b0` (`'0'` follows `'/'` in ASCII), i.e. exactly the paths within `a/b`.
#[derive(Debug, Clone, Default)]
pub struct CategoryIndex {
    by_path: BTreeMap<String, HashSet<u32>>,
}

impl CategoryIndex {
    pub fn insert(&mut self, c: &Category, id: u32) {
        self.by_path
            .entry(c.as_str().to_owned())
            .or_default()
            .insert(id);
    }

    pub fn remove(&mut self, c: &Category, id: u32) {
        if let Some(set) = self.by_path.get_mut(c.as_str()) {
            set.remove(&id);
            if set.is_empty() {
                self.by_path.remove(c.as_str());
            }
        }
    }

    fn for_each_within<'a>(&'a self, ancestor: &Category, mut f: impl FnMut(&'a HashSet<u32>)) {
        let a = ancestor.as_str();
        if let Some(s) = self.by_path.get(a) {
            f(s);
        }
        let lo = format!("{a}/");
        let hi = format!("{a}0");
        for (_, s) in self.by_path.range(lo..hi) {
            f(s);
        }
    }

    /// Number of (entity, listed category) hits: an upper bound of the candidates.
    pub fn estimate(&self, cats: &[Category]) -> usize {
        let mut n = 0;
        for c in cats {
            self.for_each_within(c, |s| n += s.len());
        }
        n
    }

    pub fn candidates(&self, cats: &[Category], out: &mut Vec<u32>) {
        for c in cats {
            self.for_each_within(c, |s| out.extend(s.iter().copied()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cat(s: &str) -> Category {
        Category::parse(s).unwrap()
    }

    #[test]
    fn well_known_paths_are_valid() {
        for p in WELL_KNOWN {
            assert!(Category::parse(p).is_ok(), "{p}");
        }
    }

    #[test]
    fn prefix_queries_respect_segments() {
        let mut ix = CategoryIndex::default();
        ix.insert(&cat("venue/entertainment/concert_hall"), 1);
        ix.insert(&cat("venue/entertainment"), 2);
        ix.insert(&cat("venue/entertainment_district"), 3);
        ix.insert(&cat("venue/entertainment/concert_hall/small"), 4);
        ix.insert(&cat("place_of_worship/synagogue"), 5);
        let mut out = Vec::new();
        ix.candidates(&[cat("venue/entertainment")], &mut out);
        out.sort();
        assert_eq!(out, [1, 2, 4]);
        assert_eq!(ix.estimate(&[cat("venue")]), 4);
        ix.remove(&cat("venue/entertainment"), 2);
        assert_eq!(ix.estimate(&[cat("venue/entertainment")]), 2);
    }
}
