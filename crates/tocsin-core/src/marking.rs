//! Markings: CAPCO-style portion marks (a documented subset), banner roll-up, TLP 2.0, and the
//! releasability of a portion to an audience (DESIGN §4).

use crate::audience::{Audience, AudienceKind};
use crate::country::CountryCode;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::fmt;

/// Classification levels, ordered U < C < S < TS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Classification {
    U,
    C,
    S,
    TS,
}

/// SCI control systems.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum SciControl {
    SI,
    TK,
    HCS,
}

/// A parsed portion mark such as `(S//REL TO USA, RUS)`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortionMark {
    pub classification: Classification,
    pub sci: BTreeSet<SciControl>,
    /// FOUO or CUI: unclassified but not for public release.
    pub fouo: bool,
    pub noforn: bool,
    pub orcon: bool,
    /// `Some(list)` for REL TO (tetragraphs already expanded); `None` when absent.
    pub rel_to: Option<BTreeSet<CountryCode>>,
    /// A TLP 2.0 designation on the portion (for text shared with non-government audiences).
    pub tlp: Option<TlpLevel>,
}

impl PortionMark {
    pub fn unclassified() -> Self {
        Self {
            classification: Classification::U,
            sci: BTreeSet::new(),
            fouo: false,
            noforn: false,
            orcon: false,
            rel_to: None,
            tlp: None,
        }
    }

    /// Unclassified with no control at all: the only thing the public may receive.
    pub fn is_public(&self) -> bool {
        self.classification == Classification::U
            && self.sci.is_empty()
            && !self.fouo
            && !self.noforn
            && !self.orcon
            && matches!(self.tlp, None | Some(TlpLevel::Clear))
    }
}

/// TLP 2.0 (FIRST), ordered from least to most restrictive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum TlpLevel {
    #[serde(rename = "CLEAR")]
    Clear,
    #[serde(rename = "GREEN")]
    Green,
    #[serde(rename = "AMBER")]
    Amber,
    #[serde(rename = "AMBER+STRICT")]
    AmberStrict,
    #[serde(rename = "RED")]
    Red,
}

impl TlpLevel {
    pub fn label(&self) -> &'static str {
        match self {
            TlpLevel::Clear => "TLP:CLEAR",
            TlpLevel::Green => "TLP:GREEN",
            TlpLevel::Amber => "TLP:AMBER",
            TlpLevel::AmberStrict => "TLP:AMBER+STRICT",
            TlpLevel::Red => "TLP:RED",
        }
    }
}

impl fmt::Display for TlpLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

// The parser, the banner roll-up and releasability live below (see `parse_mark`, `banner`,
// `releasable_to`).
