//! CAP 1.2 (OASIS Common Alerting Protocol): alerts out ([`write_alert`], [`alert_for_warning`])
//! and in ([`parse_alert`], [`threat_from_alert`]).
//!
//! Known pitfalls (docs/domain.md, "Standards"): the elements of `alert`, `info` and `area` are an ordered
//! `xs:sequence`, so the writer emits them in schema order; date-times carry an explicit offset
//! (`+00:00`, never `Z`) and no fractions. The reader is tolerant of real-world feeds: `Z` times,
//! fractions, a missing namespace or a prefixed one, missing optional elements.

mod intake;
mod read;
mod write;

pub use intake::{decode_xml, parse_alert_bytes, read_alert, threat_id_for, CapAction, CapReading};
pub use read::{parse_alert, threat_from_alert, CapIntakeOptions};
pub use write::{alert_for_warning, identifier, sent_at, write_alert, CapInput, WarningArea};

use chrono::SecondsFormat;
use thiserror::Error;
use tocsin_core::{GeoPoint, Timestamp};

/// The CAP 1.2 XML namespace.
pub const CAP_NS: &str = "urn:oasis:names:tc:emergency:cap:1.2";

/// A CAP date-time: `2024-03-07T10:00:00+00:00` (seconds, explicit offset, never `Z`).
pub fn cap_time(t: &Timestamp) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, false)
}

macro_rules! cap_enum {
    ($(#[$doc:meta])* $name:ident { $($variant:ident),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
        pub enum $name { $($variant),+ }
        impl $name {
            pub fn as_str(&self) -> &'static str {
                match self { $($name::$variant => stringify!($variant)),+ }
            }
            /// Case-insensitive, as real feeds vary.
            pub fn parse(s: &str) -> Option<Self> {
                let s = s.trim();
                $(if s.eq_ignore_ascii_case(stringify!($variant)) { return Some($name::$variant); })+
                None
            }
        }
    };
}

cap_enum!(Status {
    Actual,
    Exercise,
    System,
    Test,
    Draft
});
cap_enum!(MsgType {
    Alert,
    Update,
    Cancel,
    Ack,
    Error
});
cap_enum!(Scope {
    Public,
    Restricted,
    Private
});
cap_enum!(Urgency {
    Immediate,
    Expected,
    Future,
    Past,
    Unknown
});
cap_enum!(Severity {
    Extreme,
    Severe,
    Moderate,
    Minor,
    Unknown
});
cap_enum!(Certainty {
    Observed,
    Likely,
    Possible,
    Unlikely,
    Unknown
});

/// `sender,identifier,sent` of an earlier message.
#[derive(Debug, Clone, PartialEq)]
pub struct Reference {
    pub sender: String,
    pub identifier: String,
    pub sent: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct CapArea {
    pub desc: String,
    /// Closed rings (first point repeated last), at least four points each.
    pub polygons: Vec<Vec<GeoPoint>>,
    /// Centre and radius in km.
    pub circles: Vec<(GeoPoint, f64)>,
    pub geocodes: Vec<(String, String)>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Info {
    pub language: String,
    pub categories: Vec<String>,
    pub event: String,
    pub response_types: Vec<String>,
    pub urgency: Urgency,
    pub severity: Severity,
    pub certainty: Certainty,
    pub audience: Option<String>,
    pub effective: Option<Timestamp>,
    pub onset: Option<Timestamp>,
    pub expires: Option<Timestamp>,
    pub sender_name: Option<String>,
    pub headline: Option<String>,
    pub description: Option<String>,
    pub instruction: Option<String>,
    pub web: Option<String>,
    pub contact: Option<String>,
    pub parameters: Vec<(String, String)>,
    pub areas: Vec<CapArea>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Alert {
    pub identifier: String,
    pub sender: String,
    pub sent: Timestamp,
    pub status: Status,
    pub msg_type: MsgType,
    pub source: Option<String>,
    pub scope: Scope,
    pub restriction: Option<String>,
    pub addresses: Option<String>,
    pub codes: Vec<String>,
    pub note: Option<String>,
    pub references: Vec<Reference>,
    pub incidents: Option<String>,
    pub infos: Vec<Info>,
}

/// Why a CAP document was refused: the element path and what was wrong.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("CAP {path}: {message}")]
pub struct CapError {
    /// `alert/info[1]/area[0]/circle[0]`, or `(document)` for XML syntax errors.
    pub path: String,
    pub message: String,
}

/// CAP identifiers and senders must not contain spaces, commas or the XML-restricted `<` and `&`.
pub fn is_cap_token(s: &str) -> bool {
    !s.is_empty()
        && !s
            .chars()
            .any(|c| c.is_whitespace() || c == ',' || c == '<' || c == '&')
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn times_have_an_offset_and_no_fraction() {
        let t = chrono::Utc.with_ymd_and_hms(2024, 3, 7, 10, 0, 0).unwrap()
            + chrono::Duration::milliseconds(250);
        assert_eq!(cap_time(&t), "2024-03-07T10:00:00+00:00");
    }

    #[test]
    fn enums_parse_case_insensitively() {
        assert_eq!(MsgType::parse("update"), Some(MsgType::Update));
        assert_eq!(Scope::parse(" Public "), Some(Scope::Public));
        assert_eq!(Urgency::parse("soon"), None);
        assert!(is_cap_token("a.b-c@d"));
        assert!(!is_cap_token("a b") && !is_cap_token("a,b") && !is_cap_token(""));
    }
}
