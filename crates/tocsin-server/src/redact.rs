//! What a role may not see.
//!
//! Restricted terms (names of sources, methods, platforms, code words) are shown only to analysts
//! and above. For a viewer every response is shaped here, in one place, so no route can forget it:
//! `restricted_terms` members are removed (the object gets `"withheld": ["restricted_terms"]`), and
//! every occurrence of any stored threat's restricted term in any string is replaced by
//! [`WITHHELD`] (case-insensitive, fail closed: also inside longer words).

use serde_json::Value;

/// What a redacted term is replaced with.
pub const WITHHELD: &str = "[withheld]";

/// The member removed from objects for viewers.
const TERMS_KEY: &str = "restricted_terms";

/// Case-insensitive matcher for a set of terms (longest first, so overlapping terms are fully hidden).
pub struct Redactor {
    terms: Vec<Vec<char>>,
}

impl Redactor {
    pub fn new<'a>(terms: impl IntoIterator<Item = &'a str>) -> Self {
        let mut terms: Vec<Vec<char>> =
            terms.into_iter().map(str::trim).filter(|t| !t.is_empty()).map(|t| t.chars().collect()).collect();
        terms.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        terms.dedup();
        Self { terms }
    }

    /// Redact a whole JSON value in place.
    pub fn apply(&self, v: &mut Value) {
        match v {
            Value::String(s) => {
                if let Some(r) = self.redact_str(s) {
                    *s = r;
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|i| self.apply(i)),
            Value::Object(map) => {
                if map.remove(TERMS_KEY).is_some() {
                    map.insert("withheld".into(), Value::Array(vec![Value::String(TERMS_KEY.into())]));
                }
                map.values_mut().for_each(|i| self.apply(i));
            }
            _ => {}
        }
    }

    /// `Some(redacted)` when `s` contains a term, else `None`.
    pub fn redact_str(&self, s: &str) -> Option<String> {
        if self.terms.is_empty() {
            return None;
        }
        let chars: Vec<char> = s.chars().collect();
        let mut out = String::with_capacity(s.len());
        let mut changed = false;
        let mut i = 0;
        'outer: while i < chars.len() {
            for t in &self.terms {
                if i + t.len() <= chars.len() && chars[i..i + t.len()].iter().zip(t).all(|(a, b)| same_ci(*a, *b)) {
                    out.push_str(WITHHELD);
                    i += t.len();
                    changed = true;
                    continue 'outer;
                }
            }
            out.push(chars[i]);
            i += 1;
        }
        changed.then_some(out)
    }
}

fn same_ci(a: char, b: char) -> bool {
    a == b || a.to_lowercase().eq(b.to_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn terms_are_hidden_case_insensitively() {
        let r = Redactor::new(["SPECTRE-7", "Крокус", " "]);
        assert_eq!(r.redact_str("source spectre-7 said"), Some("source [withheld] said".into()));
        assert_eq!(r.redact_str("КРОКУС сити"), Some("[withheld] сити".into()));
        assert_eq!(r.redact_str("nothing here"), None);
    }

    #[test]
    fn longest_term_wins() {
        let r = Redactor::new(["ALPHA", "ALPHA BRAVO"]);
        assert_eq!(r.redact_str("x ALPHA BRAVO y").unwrap(), "x [withheld] y");
    }

    #[test]
    fn json_is_walked_and_terms_member_withheld() {
        let r = Redactor::new(["NIGHTJAR"]);
        let mut v = json!({"items": [{"title": "via nightjar", "restricted_terms": ["NIGHTJAR"], "n": 3}]});
        r.apply(&mut v);
        assert_eq!(v, json!({"items": [{"title": "via [withheld]", "withheld": ["restricted_terms"], "n": 3}]}));
    }
}
