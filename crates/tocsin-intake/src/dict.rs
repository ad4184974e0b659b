//! Dictionaries: categories, actors, harms and content-farm rewordings, as TOML data.
//!
//! The built-in set ships inside the crate (`data/*.toml`); an organisation adds or replaces any of
//! them with [`Dictionaries::from_toml`]. Loading checks everything an extractor relies on (valid
//! category paths, known harms, non-empty phrases) so that extraction itself cannot fail.

use serde::Deserialize;
use std::collections::BTreeMap;
use thiserror::Error;
use tocsin_core::{Category, Harm};

#[derive(Debug, Error)]
pub enum DictError {
    #[error("{file}: {message}")]
    Toml { file: String, message: String },
    #[error("{file}: {what} {index} ({label:?}): {message}")]
    Entry {
        file: String,
        what: &'static str,
        index: usize,
        label: String,
        message: String,
    },
}

/// One category entry: phrases that name it and the taxonomy paths it stands for.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CategoryEntry {
    pub label: String,
    pub paths: Vec<Category>,
    pub phrases: Vec<String>,
    /// "Large gathering": the spec gets the configured minimum size.
    #[serde(default)]
    pub large: bool,
    /// Misspellings of the phrase words count (distinctive words only).
    #[serde(default)]
    pub fuzzy: bool,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActorEntry {
    pub name: String,
    #[serde(default)]
    pub aliases: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HarmEntry {
    /// Keyword shown to the analyst: shooting, bombing, arson, …
    pub value: String,
    pub harm: Harm,
    pub phrases: Vec<String>,
    /// Weight of these phrases (default 0.8).
    #[serde(default = "default_harm_confidence")]
    pub confidence: f64,
}

fn default_harm_confidence() -> f64 {
    0.8
}

fn default_factor() -> f64 {
    0.85
}

/// Canonical phrase → the forms content farms reword it into.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rewordings {
    /// Confidence factor per substitution.
    #[serde(default = "default_factor")]
    pub factor: f64,
    #[serde(default)]
    pub rewordings: BTreeMap<String, Vec<String>>,
}

impl Default for Rewordings {
    fn default() -> Self {
        Self {
            factor: default_factor(),
            rewordings: BTreeMap::new(),
        }
    }
}

/// Every dictionary the extractor uses.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Dictionaries {
    pub categories: Vec<CategoryEntry>,
    pub actors: Vec<ActorEntry>,
    pub harms: Vec<HarmEntry>,
    pub rewordings: Rewordings,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CategoryFile {
    #[serde(default)]
    category: Vec<CategoryEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ActorFile {
    #[serde(default)]
    actor: Vec<ActorEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HarmFile {
    #[serde(default)]
    harm: Vec<HarmEntry>,
}

pub const BUILTIN_CATEGORIES: &str = include_str!("../data/categories.toml");
pub const BUILTIN_ACTORS: &str = include_str!("../data/actors.toml");
pub const BUILTIN_HARMS: &str = include_str!("../data/harms.toml");
pub const BUILTIN_REWORDINGS: &str = include_str!("../data/rewordings.toml");

fn parse<T: serde::de::DeserializeOwned>(file: &str, text: &str) -> Result<T, DictError> {
    toml::from_str(text).map_err(|e| DictError::Toml {
        file: file.to_owned(),
        message: e.to_string(),
    })
}

fn entry_err(
    file: &str,
    what: &'static str,
    index: usize,
    label: &str,
    message: impl Into<String>,
) -> DictError {
    DictError::Entry {
        file: file.to_owned(),
        what,
        index: index + 1,
        label: label.to_owned(),
        message: message.into(),
    }
}

fn has_word(s: &str) -> bool {
    !tocsin_match::normalize::normalize(s).is_empty()
}

impl Dictionaries {
    /// The dictionaries shipped in `data/`.
    pub fn builtin() -> Self {
        Self::from_toml(
            BUILTIN_CATEGORIES,
            BUILTIN_ACTORS,
            BUILTIN_HARMS,
            BUILTIN_REWORDINGS,
        )
        .expect("the built-in dictionaries are valid (checked by a unit test)")
    }

    /// Parse and check the four dictionary files (contents, not paths).
    pub fn from_toml(
        categories: &str,
        actors: &str,
        harms: &str,
        rewordings: &str,
    ) -> Result<Self, DictError> {
        let c: CategoryFile = parse("categories.toml", categories)?;
        let a: ActorFile = parse("actors.toml", actors)?;
        let h: HarmFile = parse("harms.toml", harms)?;
        let r: Rewordings = parse("rewordings.toml", rewordings)?;
        let d = Self {
            categories: c.category,
            actors: a.actor,
            harms: h.harm,
            rewordings: r,
        };
        d.check()?;
        Ok(d)
    }

    fn check(&self) -> Result<(), DictError> {
        for (i, c) in self.categories.iter().enumerate() {
            if c.paths.is_empty() {
                return Err(entry_err(
                    "categories.toml",
                    "category",
                    i,
                    &c.label,
                    "no paths",
                ));
            }
            if let Some(p) = c.phrases.iter().find(|p| !has_word(p)) {
                return Err(entry_err(
                    "categories.toml",
                    "category",
                    i,
                    &c.label,
                    format!("phrase {p:?} has no letters or digits"),
                ));
            }
        }
        for (i, a) in self.actors.iter().enumerate() {
            if !has_word(&a.name) {
                return Err(entry_err(
                    "actors.toml",
                    "actor",
                    i,
                    &a.name,
                    "name has no letters or digits",
                ));
            }
            if let Some(p) = a.aliases.iter().find(|p| !has_word(p)) {
                return Err(entry_err(
                    "actors.toml",
                    "actor",
                    i,
                    &a.name,
                    format!("alias {p:?} has no letters or digits"),
                ));
            }
        }
        for (i, h) in self.harms.iter().enumerate() {
            if !(0.0..=1.0).contains(&h.confidence) {
                return Err(entry_err(
                    "harms.toml",
                    "harm",
                    i,
                    &h.value,
                    format!("confidence {} is not in [0, 1]", h.confidence),
                ));
            }
            if let Some(p) = h.phrases.iter().find(|p| !has_word(p)) {
                return Err(entry_err(
                    "harms.toml",
                    "harm",
                    i,
                    &h.value,
                    format!("phrase {p:?} has no letters or digits"),
                ));
            }
        }
        let f = self.rewordings.factor;
        if !(f > 0.0 && f <= 1.0) {
            return Err(DictError::Toml {
                file: "rewordings.toml".into(),
                message: format!("factor {f} is not in (0, 1]"),
            });
        }
        for (k, vs) in &self.rewordings.rewordings {
            if !has_word(k) || vs.iter().any(|v| !has_word(v)) {
                return Err(DictError::Toml {
                    file: "rewordings.toml".into(),
                    message: format!("rewording {k:?}: every form needs letters or digits"),
                });
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_dictionaries_load() {
        let d = Dictionaries::builtin();
        assert!(d.categories.iter().any(
            |c| c.label == "synagogues" && c.paths[0].as_str() == "place_of_worship/synagogue"
        ));
        assert!(d
            .actors
            .iter()
            .any(|a| a.name == "ISIS-K" && a.aliases.iter().any(|x| x == "ISKP")));
        assert!(d.harms.iter().any(|h| h.harm == Harm::Ransomware));
        assert!(d.rewordings.rewordings.contains_key("concert hall"));
    }

    #[test]
    fn bad_entries_are_named() {
        let bad_path = "[[category]]\nlabel = \"x\"\npaths = [\"Venue/X\"]\nphrases = [\"x\"]\n";
        let e = Dictionaries::from_toml(bad_path, "", "", "").unwrap_err();
        assert!(e.to_string().contains("categories.toml"), "{e}");
        let empty_phrase =
            "[[category]]\nlabel = \"x\"\npaths = [\"venue\"]\nphrases = [\" - \"]\n";
        let e = Dictionaries::from_toml(empty_phrase, "", "", "").unwrap_err();
        assert!(e.to_string().contains("category 1 (\"x\")"), "{e}");
        let bad_harm = "[[harm]]\nvalue = \"x\"\nharm = \"tickling\"\nphrases = [\"x\"]\n";
        let e = Dictionaries::from_toml("", "", bad_harm, "").unwrap_err();
        assert!(e.to_string().contains("harms.toml"), "{e}");
    }
}
