//! STIX 2.1 (OASIS): bundles in ([`intake`]) and out ([`export`]).
//!
//! - [`parse_bundle`]: a bundle of reports, actors, identities, locations, indicators,
//!   relationships and marking definitions → a [`tocsin_core::Threat`] with target specs, plus the
//!   network indicators and every object Tocsin does not interpret (kept, never dropped).
//! - [`warning_bundle`]: one composed warning → a bundle (report, notes, attack pattern, actor,
//!   identities, locations, relationships, marking definitions) whose ids are UUIDv5 of the
//!   warning's threat and audience, so exporting the same warning twice gives the same bytes.
//!
//! TLP 2.0 markings use the official marking-definition objects (ids in [`tlp_marking_id`]); a
//! classification banner travels as a `statement` marking definition. docs/standards.md describes
//! the mapping both ways.

mod export;
mod intake;

pub use export::{
    to_bytes, warning_bundle, ExportInput, NamedAreaResolver, ResolvedArea, STIX_CAPABLE,
};
pub(crate) use intake::harms_from_text;
pub use intake::{parse_bundle, NetworkIndicator, NetworkKind, Skipped, StixIntake, StixOptions};

use chrono::SecondsFormat;
use thiserror::Error;
use tocsin_core::{Timestamp, TlpLevel};
use uuid::Uuid;

/// The TLP 2.0 extension definition (OASIS cti-stix-common-objects).
pub const TLP2_EXTENSION_ID: &str = "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d";

/// `created` of the official TLP 2.0 marking definitions.
pub const TLP2_CREATED: &str = "2022-10-01T00:00:00.000Z";

/// The official TLP 2.0 marking-definition id of a level (docs/domain.md, "Standards"; many public copies are wrong).
pub fn tlp_marking_id(level: TlpLevel) -> &'static str {
    match level {
        TlpLevel::Clear => "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
        TlpLevel::Green => "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
        TlpLevel::Amber => "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
        TlpLevel::AmberStrict => "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
        TlpLevel::Red => "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1",
    }
}

/// The TLP level of a well-known marking-definition id: TLP 2.0, and the TLP 1.0 ids that older
/// feeds still send (WHITE is read as CLEAR).
pub fn tlp_of_marking_id(id: &str) -> Option<TlpLevel> {
    const TLP1: &[(&str, TlpLevel)] = &[
        (
            "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9",
            TlpLevel::Clear,
        ),
        (
            "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da",
            TlpLevel::Green,
        ),
        (
            "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82",
            TlpLevel::Amber,
        ),
        (
            "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed",
            TlpLevel::Red,
        ),
    ];
    [
        TlpLevel::Clear,
        TlpLevel::Green,
        TlpLevel::Amber,
        TlpLevel::AmberStrict,
        TlpLevel::Red,
    ]
    .into_iter()
    .find(|l| tlp_marking_id(*l) == id)
    .or_else(|| TLP1.iter().find(|(i, _)| *i == id).map(|(_, l)| *l))
}

/// The official TLP 2.0 marking-definition object of a level.
pub fn tlp_marking_object(level: TlpLevel) -> serde_json::Value {
    let name = level.label();
    serde_json::json!({
        "type": "marking-definition",
        "spec_version": "2.1",
        "id": tlp_marking_id(level),
        "created": TLP2_CREATED,
        "name": name,
        "extensions": {
            TLP2_EXTENSION_ID: {
                "extension_type": "property-extension",
                "tlp_2_0": level.level_name().to_ascii_lowercase(),
            }
        }
    })
}

/// Namespace of every UUIDv5 Tocsin derives for STIX ids.
fn namespace() -> Uuid {
    Uuid::new_v5(&Uuid::NAMESPACE_URL, b"urn:tocsin:stix")
}

/// A deterministic STIX id: `type--uuid5(namespace, key)`.
pub fn stix_id(object_type: &str, key: &str) -> String {
    format!(
        "{object_type}--{}",
        Uuid::new_v5(&namespace(), format!("{object_type}/{key}").as_bytes())
    )
}

/// STIX timestamp: UTC, `Z`, milliseconds (created/modified must be precise to the millisecond).
pub fn stix_time(t: &Timestamp) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// One thing wrong with a bundle: which object, which field, what.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{object}: {field}: {message}")]
pub struct StixIssue {
    /// The object's id, or `objects[i]` when it has none (or `bundle`).
    pub object: String,
    /// The property path inside the object (`pattern`, `granular_markings[0].selectors`).
    pub field: String,
    pub message: String,
}

/// An invalid bundle: every problem found (not just the first), each naming object and field.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("invalid STIX bundle ({} problem(s)): {}", .0.len(), .0.iter().map(|i| i.to_string()).collect::<Vec<_>>().join("; "))]
pub struct StixError(pub Vec<StixIssue>);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tlp_ids_are_the_official_ones_and_round_trip() {
        // docs/domain.md, "Standards" lists the ids; a typo here would mark every export wrongly.
        assert_eq!(
            tlp_marking_id(TlpLevel::Clear),
            "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487"
        );
        assert_eq!(
            tlp_marking_id(TlpLevel::Green),
            "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"
        );
        assert_eq!(
            tlp_marking_id(TlpLevel::Amber),
            "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421"
        );
        assert_eq!(
            tlp_marking_id(TlpLevel::AmberStrict),
            "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003"
        );
        assert_eq!(
            tlp_marking_id(TlpLevel::Red),
            "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1"
        );
        for l in [
            TlpLevel::Clear,
            TlpLevel::Green,
            TlpLevel::Amber,
            TlpLevel::AmberStrict,
            TlpLevel::Red,
        ] {
            assert_eq!(tlp_of_marking_id(tlp_marking_id(l)), Some(l));
            let o = tlp_marking_object(l);
            assert_eq!(
                o["extensions"][TLP2_EXTENSION_ID]["tlp_2_0"],
                l.level_name().to_ascii_lowercase()
            );
        }
        assert_eq!(
            tlp_of_marking_id("marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da"),
            Some(TlpLevel::Green)
        );
        assert_eq!(
            tlp_of_marking_id("marking-definition--00000000-0000-4000-8000-000000000000"),
            None
        );
    }

    #[test]
    fn ids_are_deterministic_and_typed() {
        let a = stix_id("report", "t/a");
        assert_eq!(a, stix_id("report", "t/a"));
        assert_ne!(a, stix_id("report", "t/b"));
        assert_ne!(
            a.split("--").nth(1),
            stix_id("note", "t/a").split("--").nth(1)
        );
        assert!(a.starts_with("report--"));
        assert_eq!(
            Uuid::parse_str(&a["report--".len()..])
                .unwrap()
                .get_version_num(),
            5
        );
    }
}
