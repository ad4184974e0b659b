//! Fixtures every test of the workspace may share: the reference case's instants, its example
//! files, and builders of the domain records with sensible values that a test changes with struct
//! update syntax (`Threat { restricted_terms: vec![], ..threat("t1") }`).
//!
//! Only ever a dev-dependency: nothing here is meant to be shipped, and it depends on the core
//! alone, so any crate's tests can use it.

use chrono::{TimeZone, Utc};
use std::path::{Path, PathBuf};
use tocsin_core::lifecycle::WarningState;
use tocsin_core::tracking::{GatedWarning, Specificity, Warning};
use tocsin_core::{
    Area, Audience, AudienceKind, Category, ChannelKind, ChannelSpec, Classification, CountryCode,
    Credibility, Entity, EntityKind, GeoPoint, Harm, Portion, PortionMark, TargetSpec, Threat,
    ThreatWindow, Timestamp, TlpLevel,
};

/// The restricted term of [`threat`]: a source's code word that no warning may carry.
pub const RESTRICTED: &str = "NIGHTJAR";

/// `day` March 2024 at `hour`:00 UTC: the month of the reference case.
pub fn march(day: u32, hour: u32) -> Timestamp {
    march_at(day, hour, 0)
}

/// `day` March 2024 at `hour`:`min` UTC.
pub fn march_at(day: u32, hour: u32, min: u32) -> Timestamp {
    Utc.with_ymd_and_hms(2024, 3, day, hour, min, 0)
        .single()
        .unwrap_or_else(|| panic!("2024-03-{day} {hour}:{min} is not an instant"))
}

/// The reference case's files (`examples/moscow-2024`: registry, audiences, report).
pub fn examples_dir() -> &'static Path {
    Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/moscow-2024"
    ))
}

/// A file of the reference case.
pub fn example(name: &str) -> PathBuf {
    examples_dir().join(name)
}

/// An ISO 3166-1 alpha-3 code.
pub fn country(code: &str) -> CountryCode {
    CountryCode::parse(code).unwrap_or_else(|e| panic!("country {code:?}: {e}"))
}

/// A portion mark of `classification`, otherwise unclassified's (no caveats).
pub fn mark(classification: Classification) -> PortionMark {
    PortionMark {
        classification,
        ..PortionMark::unclassified()
    }
}

/// An audience of `kind` in Russia, cleared to `clearance`, TLP:RED ceiling, a daily posture
/// check-in and a file channel at `outbox/<id>`.
pub fn audience(id: &str, kind: AudienceKind, clearance: Classification) -> Audience {
    Audience {
        id: id.into(),
        name: format!("{id} name"),
        kind,
        country: Some(country("RUS")),
        clearance,
        tlp_ceiling: TlpLevel::Red,
        orcon_approved: false,
        channels: vec![ChannelSpec {
            kind: ChannelKind::File,
            address: format!("outbox/{id}"),
        }],
        escalation_contact: None,
        language: "en".into(),
        posture_interval_hours: Some(24),
        timezone: None,
    }
}

/// A venue in Moscow named `name`, routed to no audience.
pub fn entity(id: &str, name: &str) -> Entity {
    Entity {
        id: id.into(),
        kind: EntityKind::Venue,
        name: name.into(),
        aliases: vec![],
        category: Category::parse("venue/entertainment/concert_hall")
            .unwrap_or_else(|e| panic!("category: {e}")),
        location: None,
        capacity: None,
        span: None,
        venue: None,
        city: Some("Moscow".into()),
        country: Some(country("RUS")),
        audiences: vec![],
        footprint: Default::default(),
    }
}

/// The reference case's venue: Crocus City Hall, with its location, capacity and an alias.
pub fn crocus() -> Entity {
    Entity {
        aliases: vec!["Crocus".into()],
        location: Some(GeoPoint::new(55.826, 37.390).unwrap_or_else(|e| panic!("point: {e}"))),
        capacity: Some(7500),
        ..entity("crocus-city-hall", "Crocus City Hall")
    }
}

/// A threat shaped like the reference case's: a SECRET target (Crocus City Hall in Moscow), one
/// SECRET portion naming the [`RESTRICTED`] source, a window of 6–23 March 2024.
pub fn threat(id: &str) -> Threat {
    let secret = mark(Classification::S);
    Threat {
        id: id.into(),
        title: "Planned attack on large gatherings in Moscow".into(),
        originator: country("USA"),
        received: march(6, 9),
        actor: Some("ISIS-K".into()),
        actor_mark: secret.clone(),
        harms: vec![Harm::Killing],
        credibility: Credibility::Probable,
        window: window(march(6, 9), march(23, 0)),
        public_advice_hours: 48,
        targets: vec![TargetSpec {
            label: "Crocus City Hall".into(),
            mark: secret.clone(),
            name: Some("Crocus City Hall".into()),
            categories: vec![],
            min_size: None,
            area: Some(Area::Named {
                name: "Moscow".into(),
            }),
            window: None,
            footprint: Default::default(),
        }],
        portions: vec![Portion {
            mark: secret,
            text: format!(
                "Per {RESTRICTED} reporting, extremists plan to attack Crocus City Hall."
            ),
            tearline: false,
            lang: None,
            line: 1,
        }],
        restricted_terms: vec![RESTRICTED.into()],
        tlp: None,
        measures: vec!["Screen visitors".into()],
    }
}

/// A threat with nothing to withhold, for tests of what happens after composing (the outbox,
/// delivery): one unclassified tearline portion, no targets, actor or restricted terms.
pub fn plain_threat(id: &str, window: ThreatWindow) -> Threat {
    Threat {
        id: id.into(),
        title: "Plain threat".into(),
        originator: country("USA"),
        received: window.from,
        actor: None,
        actor_mark: PortionMark::unclassified(),
        harms: vec![Harm::Killing],
        credibility: Credibility::Probable,
        window,
        public_advice_hours: 48,
        targets: vec![],
        portions: vec![Portion {
            mark: PortionMark::unclassified(),
            text: "Large gatherings may be attacked.".into(),
            tearline: true,
            lang: None,
            line: 1,
        }],
        restricted_terms: vec![],
        tlp: None,
        measures: vec![],
    }
}

/// A window from `from` to `until`.
pub fn window(from: Timestamp, until: Timestamp) -> ThreatWindow {
    ThreatWindow::new(from, until).unwrap_or_else(|e| panic!("window: {e}"))
}

/// Version 1 of a draft warning of `threat_id` for `audience`, id `<threat>.<audience>.v1`,
/// valid 6–23 March 2024.
pub fn warning(threat_id: &str, audience: &Audience) -> Warning {
    Warning {
        id: format!("{threat_id}.{}.v1", audience.id).as_str().into(),
        threat_id: threat_id.into(),
        audience_id: audience.id.clone(),
        audience_kind: audience.kind,
        version: 1,
        supersedes: None,
        tlp: if audience.kind == AudienceKind::Public {
            TlpLevel::Clear
        } else {
            TlpLevel::Amber
        },
        banner: "UNCLASSIFIED".into(),
        specificity: Specificity::CategoryAndArea,
        headline: format!("Warning for {}", audience.id),
        text: "Avoid large gatherings in Moscow.\n".into(),
        measures: vec!["Screen visitors".into()],
        valid: window(march(6, 9), march(23, 0)),
        state: WarningState::Draft,
        created_at: march(6, 10),
        language: "en".into(),
        translations: Vec::new(),
    }
}

/// `w` as the engine stores it: through the leak gate against `threat`, read by an audience with
/// `w`'s id and kind cleared for unclassified text. Panics when the gate blocks the fixture.
pub fn gated(w: Warning, threat: &Threat) -> GatedWarning {
    let reader = audience(w.audience_id.as_str(), w.audience_kind, Classification::U);
    GatedWarning::gate(w, threat, &reader, &[])
        .unwrap_or_else(|e| panic!("the fixture warning does not pass the leak gate: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_builders_make_consistent_records() {
        let a = audience("fsb", AudienceKind::PartnerService, Classification::S);
        let w = warning("t1", &a);
        assert_eq!(w.id.as_str(), "t1.fsb.v1");
        assert_eq!((w.audience_id, w.audience_kind), (a.id, a.kind));
        let t = threat("t1");
        assert!(t.portions[0].text.contains(RESTRICTED));
        assert_eq!(t.window.from, march(6, 9));
        assert_eq!(crocus().name, "Crocus City Hall");
        assert!(example("report.txt").is_file());
    }
}
