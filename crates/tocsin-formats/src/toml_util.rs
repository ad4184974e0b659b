//! Shared TOML plumbing: deserialize with field paths, turn byte spans into file lines, and the
//! small value types (times, TLP levels) that both report files and registry files use.

use chrono::{DateTime, Utc};
use serde::de::{self, Deserialize, Deserializer};
use tocsin_core::{Timestamp, TlpLevel};

/// A TOML error located in the file: 1-based line and column (when toml knew a span), the field
/// path (when not the document root), and toml's message.
pub(crate) struct Located {
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub field: Option<String>,
    pub message: String,
}

/// Deserialize `text` (which starts at file line `first_line`) and locate any error.
pub(crate) fn from_toml<T: de::DeserializeOwned>(
    text: &str,
    first_line: usize,
) -> Result<T, Located> {
    serde_path_to_error::deserialize(toml::Deserializer::new(text)).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        // A missing top-level field is reported with the root table's span, which points at
        // whatever key happens to come first: better no line than a misleading one.
        let root_missing = path == "." && inner.message().starts_with("missing field");
        let span = inner.span().filter(|_| !root_missing);
        let (line, column) = match span {
            Some(s) => {
                let (l, c) = line_col(text, s.start);
                (Some(first_line + l - 1), Some(c))
            }
            None => (None, None),
        };
        Located {
            line,
            column,
            field: (path != ".").then_some(path),
            message: inner.message().trim_end().to_owned(),
        }
    })
}

/// 1-based line and character column of byte offset `at` in `text` (clamped, never panics).
pub(crate) fn line_col(text: &str, at: usize) -> (usize, usize) {
    let mut at = at.min(text.len());
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    let before = &text[..at];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

/// "line 3, column 7" / "line 3" / "" — the prefix of a located message.
pub(crate) fn location(line: Option<usize>, column: Option<usize>) -> String {
    match (line, column) {
        (Some(l), Some(c)) => format!("line {l}, column {c}"),
        (Some(l), None) => format!("line {l}"),
        _ => String::new(),
    }
}

/// Parse an RFC 3339 time that states its offset (`Z` or `+03:00`); local times are refused
/// because a threat window in an unknown zone could be off by a day at the wrong end.
pub(crate) fn parse_time(s: &str) -> Result<Timestamp, String> {
    DateTime::parse_from_rfc3339(s.trim()).map(|t| t.with_timezone(&Utc)).map_err(|e| {
        format!("expected an RFC 3339 time with an offset, e.g. 2024-03-07T12:00:00+03:00, but found {s:?} ({e})")
    })
}

/// A time in TOML: either a string or a native TOML offset date-time.
pub(crate) struct TomlTime(pub Timestamp);

impl<'de> Deserialize<'de> for TomlTime {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match toml::Value::deserialize(d)? {
            toml::Value::String(s) => parse_time(&s).map(TomlTime).map_err(de::Error::custom),
            toml::Value::Datetime(dt) => parse_time(&dt.to_string()).map(TomlTime).map_err(de::Error::custom),
            other => Err(de::Error::custom(format!(
                "expected an RFC 3339 time with an offset, e.g. 2024-03-07T12:00:00+03:00, but found a {}",
                other.type_str()
            ))),
        }
    }
}

/// A TLP level written `AMBER` or `TLP:AMBER`.
pub(crate) struct TlpField(pub TlpLevel);

impl<'de> Deserialize<'de> for TlpField {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        let name = s.trim().strip_prefix("TLP:").unwrap_or(s.trim());
        TlpLevel::from_level_name(name)
            .map(TlpField)
            .ok_or_else(|| {
                de::Error::custom(format!(
                "expected a TLP 2.0 level (CLEAR, GREEN, AMBER, AMBER+STRICT, RED) but found {s:?}"
            ))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_characters() {
        assert_eq!(line_col("ab\ncЖd", 0), (1, 1));
        assert_eq!(line_col("ab\ncЖd", 3), (2, 1));
        assert_eq!(line_col("ab\ncЖd", 6), (2, 3));
        assert_eq!(line_col("ab\ncЖd", 5), (2, 2)); // inside "Ж": clamped back
        assert_eq!(line_col("ab", 99), (1, 3));
    }

    #[test]
    fn times_need_an_offset() {
        assert!(parse_time("2024-03-07T10:00:00+03:00").is_ok());
        assert!(parse_time("2024-03-07T10:00:00Z").is_ok());
        assert!(parse_time("2024-03-07T10:00:00")
            .unwrap_err()
            .contains("with an offset"));
        assert!(parse_time("2024-03-07").is_err());
    }
}
