//! The category taxonomy (`data/taxonomy.toml`, extensible with a deployment's own file of the
//! same form): which categories exist, so a misspelt one can be named instead of silently
//! matching nothing.

use crate::toml_util;
use serde::Deserialize;
use std::collections::BTreeSet;
use tocsin_core::Category;

const BUILTIN: &str = include_str!("../../../data/taxonomy.toml");

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TaxonomyFile {
    categories: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
#[error("taxonomy: {0}")]
pub struct TaxonomyError(pub String);

/// The known categories and all their ancestors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Taxonomy {
    known: BTreeSet<String>,
}

impl Default for Taxonomy {
    fn default() -> Self {
        Self::builtin()
    }
}

impl Taxonomy {
    /// The shipped taxonomy.
    pub fn builtin() -> Self {
        let mut t = Self {
            known: BTreeSet::new(),
        };
        // The shipped file is tested to parse (below); a broken build falls back to accepting
        // every category silently rather than panicking.
        let _ = t.extend_from_toml(BUILTIN);
        t
    }

    /// Add the categories of a taxonomy file's text (`categories = [...]`). Errors name the line
    /// and the category.
    pub fn extend_from_toml(&mut self, text: &str) -> Result<usize, TaxonomyError> {
        let f: TaxonomyFile = toml_util::from_toml(text, 1).map_err(|e| {
            TaxonomyError(format!(
                "{}{}{}",
                e.line.map(|l| format!("line {l}: ")).unwrap_or_default(),
                e.field.map(|f| format!("{f}: ")).unwrap_or_default(),
                e.message
            ))
        })?;
        let mut added = 0;
        for (i, c) in f.categories.iter().enumerate() {
            let cat =
                Category::parse(c).map_err(|e| TaxonomyError(format!("categories[{i}]: {e}")))?;
            let parts: Vec<&str> = cat.as_str().split('/').collect();
            for n in 1..=parts.len() {
                if self.known.insert(parts[..n].join("/")) {
                    added += 1;
                }
            }
        }
        Ok(added)
    }

    /// Whether `c` is a known category (a listed one or an ancestor of one).
    pub fn knows(&self, c: &Category) -> bool {
        self.known.contains(c.as_str())
    }

    /// A note for an unknown category, naming the closest known one; `None` when it is known.
    pub fn note(&self, c: &Category, whose: &str) -> Option<String> {
        if self.knows(c) {
            return None;
        }
        let closest = self
            .known
            .iter()
            .min_by_key(|k| edit_distance(k, c.as_str()))
            .filter(|k| edit_distance(k, c.as_str()) <= 3);
        Some(format!(
            "{whose}: category {:?} is not in the taxonomy (data/taxonomy.toml and --taxonomy), so it matches only entities with exactly that category{}",
            c.as_str(),
            closest
                .map(|k| format!("; did you mean {k:?}?"))
                .unwrap_or_default()
        ))
    }
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur.push(sub.min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cat(s: &str) -> Category {
        Category::parse(s).unwrap()
    }

    #[test]
    fn the_shipped_taxonomy_parses_and_knows_ancestors() {
        let mut t = Taxonomy {
            known: BTreeSet::new(),
        };
        assert!(t.extend_from_toml(BUILTIN).unwrap() > 40);
        assert_eq!(t, Taxonomy::builtin());
        for c in [
            "venue",
            "venue/sports",
            "venue/sports/stadium",
            "event/concert",
        ] {
            assert!(t.knows(&cat(c)), "{c}");
        }
    }

    #[test]
    fn a_misspelt_category_gets_a_note_with_the_closest_and_a_user_file_extends() {
        let mut t = Taxonomy::builtin();
        let n = t.note(&cat("venue/sport"), "target 2").unwrap();
        assert!(
            n.starts_with("target 2: category \"venue/sport\"") && n.contains("\"venue/sports\""),
            "{n}"
        );
        assert!(t.note(&cat("venue/sports"), "x").is_none());
        assert!(t.note(&cat("venue/zoo"), "x").is_some());
        t.extend_from_toml("categories = [\"venue/zoo\"]").unwrap();
        assert!(t.note(&cat("venue/zoo"), "x").is_none());
        let e = t
            .extend_from_toml("categories = [\"Venue/Zoo\"]")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("categories[0]") && e.contains("Venue/Zoo"),
            "{e}"
        );
        let e = t
            .extend_from_toml("categorys = []")
            .unwrap_err()
            .to_string();
        assert!(e.contains("line 1") && e.contains("categorys"), "{e}");
    }
}
