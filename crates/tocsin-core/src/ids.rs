//! Identifier newtypes: a venue id can never be passed where an audience id is expected.
//!
//! Every id follows one grammar (docs/formats.md, "Identifiers"): 1 to 128 characters of ASCII
//! letters, digits, `.`, `_`, `:` and `-`, the first a letter or digit —
//! `[A-Za-z0-9][A-Za-z0-9._:-]{0,127}`. So an id is always a safe file name (no `/`, never `.` or
//! `..`) and a safe path segment. Threat ids are at most [`THREAT_ID_MAX`] and audience ids at most
//! [`AUDIENCE_ID_MAX`] characters, so that the warning id built from them
//! (`<threat>.<audience>.v<version>`) follows the grammar too. Ids are checked where records are
//! created (the engine's intake and registry import, the API's registry routes).

use serde::{Deserialize, Serialize};
use std::fmt;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        #[serde(transparent)]
        pub struct $name(pub String);

        impl $name {
            pub fn new(s: impl Into<String>) -> Self {
                Self(s.into())
            }
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                Self(s.to_owned())
            }
        }
    };
}

/// Longest id of any kind.
pub const ID_MAX: usize = 128;
/// Longest threat id (a warning id is `<threat>.<audience>.v<version>`).
pub const THREAT_ID_MAX: usize = 64;
/// Longest audience id.
pub const AUDIENCE_ID_MAX: usize = 48;

/// An id that does not follow the grammar.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind} id {id:?} is not valid: {reason} (an id is 1 to {max} ASCII letters, digits, '.', '_', ':' or '-', starting with a letter or digit)")]
pub struct IdError {
    pub kind: &'static str,
    pub id: String,
    pub reason: String,
    pub max: usize,
}

/// Check `id` (of `kind`, for the message) against the grammar with at most `max` characters.
pub fn check_id(kind: &'static str, id: &str, max: usize) -> Result<(), IdError> {
    let err = |reason: String| IdError {
        kind,
        id: id.to_owned(),
        reason,
        max,
    };
    let Some(first) = id.chars().next() else {
        return Err(err("it is empty".into()));
    };
    if !first.is_ascii_alphanumeric() {
        return Err(err(format!("it starts with {first:?}")));
    }
    if let Some((i, c)) = id
        .char_indices()
        .find(|(_, c)| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | ':' | '-')))
    {
        return Err(err(format!("character {c:?} at byte {i}")));
    }
    if id.len() > max {
        return Err(err(format!("it is {} characters long", id.len())));
    }
    Ok(())
}

impl ThreatId {
    pub fn check(&self) -> Result<(), IdError> {
        check_id("threat", &self.0, THREAT_ID_MAX)
    }
}

impl AudienceId {
    pub fn check(&self) -> Result<(), IdError> {
        check_id("audience", &self.0, AUDIENCE_ID_MAX)
    }
}

impl EntityId {
    pub fn check(&self) -> Result<(), IdError> {
        check_id("entity", &self.0, ID_MAX)
    }
}

impl WarningId {
    pub fn check(&self) -> Result<(), IdError> {
        check_id("warning", &self.0, ID_MAX)
    }

    /// `<id>.<ext>` when the id follows the grammar (so the name cannot leave its folder), else
    /// the error.
    pub fn file_name(&self, ext: &str) -> Result<String, IdError> {
        self.check()?;
        Ok(format!("{}.{ext}", self.0))
    }
}

id_type!(/// A registry entity (venue, event, organisation, person, network asset, population).
    EntityId);
id_type!(/// A threat (one intelligence report and what was derived from it).
    ThreatId);
id_type!(/// An audience: who may receive warnings (a service, an operator, the public).
    AudienceId);
id_type!(/// One composed warning for one (threat, audience, version).
    WarningId);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_follow_one_grammar() {
        for ok in [
            "moscow-2024-03",
            "feed-org:uni-a",
            "cap-2.49.0.1",
            "W_1",
            "a",
        ] {
            assert!(check_id("x", ok, ID_MAX).is_ok(), "{ok}");
        }
        let w = WarningId::new("moscow-2024-03.public-us-citizens-russia.v12");
        assert_eq!(
            w.file_name("cap.xml").unwrap(),
            "moscow-2024-03.public-us-citizens-russia.v12.cap.xml"
        );
        for (bad, why) in [
            ("", "empty"),
            ("../../x", "starts with '.'"),
            ("a/../../x", "'/'"),
            (".hidden", "starts with '.'"),
            ("-flag", "starts with '-'"),
            ("a b", "' '"),
            ("a\\b", "'\\\\'"),
            ("é", "starts with 'é'"),
            ("a\u{0}", "'\\0'"),
        ] {
            let e = check_id("threat", bad, ID_MAX).unwrap_err().to_string();
            assert!(e.contains(why) && e.contains("threat id"), "{bad:?}: {e}");
        }
        assert!(check_id("x", &"a".repeat(128), ID_MAX).is_ok());
        assert!(check_id("x", &"a".repeat(129), ID_MAX).is_err());
        assert!(ThreatId::new("t".repeat(65)).check().is_err());
        assert!(AudienceId::new("a".repeat(49)).check().is_err());
        // The longest threat and audience ids still make a valid warning id.
        let longest = format!("{}.{}.v{}", "t".repeat(64), "a".repeat(48), u32::MAX);
        assert!(WarningId::new(longest).check().is_ok());
        assert!(WarningId::new("../x").file_name("json").is_err());
    }
}
