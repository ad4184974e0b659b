//! ISO 3166-1 alpha-3 country codes and the tetragraphs used in REL TO lists.

use serde::{Deserialize, Serialize};
use std::fmt;
use thiserror::Error;

/// An ISO 3166-1 alpha-3 code (`USA`, `RUS`, `GBR`). Always three upper-case ASCII letters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CountryCode([u8; 3]);

#[derive(Debug, Error, PartialEq, Eq)]
#[error(
    "not an ISO 3166-1 alpha-3 country code: {0:?} (expected three letters such as USA, RUS, GBR)"
)]
pub struct CountryError(pub String);

impl CountryCode {
    pub fn parse(s: &str) -> Result<Self, CountryError> {
        let b = s.trim().as_bytes();
        if b.len() == 3 && b.iter().all(|c| c.is_ascii_alphabetic()) {
            Ok(Self([
                b[0].to_ascii_uppercase(),
                b[1].to_ascii_uppercase(),
                b[2].to_ascii_uppercase(),
            ]))
        } else {
            Err(CountryError(s.to_owned()))
        }
    }

    pub fn as_str(&self) -> &str {
        // Constructed only from ASCII letters.
        std::str::from_utf8(&self.0).unwrap_or("???")
    }
}

impl fmt::Display for CountryCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl TryFrom<String> for CountryCode {
    type Error = CountryError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<CountryCode> for String {
    fn from(c: CountryCode) -> String {
        c.as_str().to_owned()
    }
}

/// Tetragraphs: groups of countries that a REL TO list may name (four letters, so they never clash
/// with alpha-3 codes). Returns `None` for an unknown tetragraph.
pub fn expand_tetragraph(t: &str) -> Option<&'static [&'static str]> {
    match t {
        "FVEY" => Some(&["USA", "AUS", "CAN", "GBR", "NZL"]),
        "ACGU" => Some(&["AUS", "CAN", "GBR", "USA"]),
        "NATO" => Some(&[
            "ALB", "BEL", "BGR", "CAN", "HRV", "CZE", "DNK", "EST", "FIN", "FRA", "DEU", "GRC",
            "HUN", "ISL", "ITA", "LVA", "LTU", "LUX", "MNE", "NLD", "MKD", "NOR", "POL", "PRT",
            "ROU", "SVK", "SVN", "ESP", "SWE", "TUR", "GBR", "USA",
        ]),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_normalises() {
        assert_eq!(CountryCode::parse("rus").unwrap().as_str(), "RUS");
        assert!(CountryCode::parse("RU").is_err());
        assert!(CountryCode::parse("R1S").is_err());
        assert!(CountryCode::parse("РУС").is_err());
    }

    #[test]
    fn fvey_has_five() {
        assert_eq!(expand_tetragraph("FVEY").unwrap().len(), 5);
        assert!(expand_tetragraph("XXXX").is_none());
    }
}
