//! Builders for entities, specs and threats, and a check that the indexed registry and the
//! reference matcher agree.
#![allow(dead_code)]

use chrono::{TimeZone, Utc};
use tocsin_core::{
    Area, Category, CountryCode, Credibility, Entity, EntityId, EntityKind, GeoPoint, Harm, Match,
    PortionMark, TargetSpec, Threat, ThreatId, ThreatWindow, Timestamp,
};
use tocsin_match::{reference_match, Gazetteer, MatchConfig, MatchError, Registry};

/// 2024-03-`d` `h`:00 UTC.
pub fn t(d: u32, h: u32) -> Timestamp {
    Utc.with_ymd_and_hms(2024, 3, d, h, 0, 0).unwrap()
}

pub fn gp(lat: f64, lon: f64) -> GeoPoint {
    GeoPoint::new(lat, lon).unwrap()
}

pub fn cat(s: &str) -> Category {
    Category::parse(s).unwrap()
}

pub fn window(from: Timestamp, until: Timestamp) -> ThreatWindow {
    ThreatWindow::new(from, until).unwrap()
}

pub fn entity(id: &str, kind: EntityKind, name: &str, category: &str) -> Entity {
    Entity {
        id: EntityId::new(id),
        kind,
        name: name.to_owned(),
        aliases: vec![],
        category: cat(category),
        location: None,
        capacity: None,
        span: None,
        venue: None,
        city: None,
        country: None,
        audiences: vec![],
        footprint: Default::default(),
    }
}

pub fn venue(
    id: &str,
    name: &str,
    category: &str,
    at: (f64, f64),
    capacity: Option<u32>,
) -> Entity {
    Entity {
        location: Some(gp(at.0, at.1)),
        capacity,
        ..entity(id, EntityKind::Venue, name, category)
    }
}

pub fn event(
    id: &str,
    name: &str,
    category: &str,
    at_venue: &str,
    span: ThreatWindow,
    attendance: Option<u32>,
) -> Entity {
    Entity {
        venue: Some(EntityId::new(at_venue)),
        span: Some(span),
        capacity: attendance,
        ..entity(id, EntityKind::Event, name, category)
    }
}

pub fn spec(label: &str) -> TargetSpec {
    TargetSpec {
        label: label.to_owned(),
        mark: PortionMark::unclassified(),
        name: None,
        categories: vec![],
        min_size: None,
        area: None,
        window: None,
        footprint: Default::default(),
    }
}

pub fn named(name: &str) -> TargetSpec {
    TargetSpec {
        name: Some(name.to_owned()),
        ..spec(name)
    }
}

pub fn in_place(name: &str) -> Option<Area> {
    Some(Area::Named {
        name: name.to_owned(),
    })
}

/// A threat received 7 March 2024, imminent (48 h from 7 March 00:00 UTC).
pub fn threat(targets: Vec<TargetSpec>) -> Threat {
    Threat {
        id: ThreatId::new("threat-test"),
        title: "test threat".to_owned(),
        originator: CountryCode::parse("USA").unwrap(),
        received: t(7, 0),
        actor: None,
        actor_mark: PortionMark::unclassified(),
        harms: vec![Harm::Killing],
        credibility: Credibility::Probable,
        window: MatchConfig::default().imminent_window(t(7, 0)),
        public_advice_hours: 48,
        targets,
        portions: vec![],
        restricted_terms: vec![],
        tlp: None,
        measures: vec![],
    }
}

pub fn registry(entities: &[Entity]) -> Registry {
    let mut r = Registry::new(MatchConfig::default(), Gazetteer::builtin());
    for e in entities {
        r.upsert(e.clone());
    }
    r
}

/// Match with the registry and the reference matcher, assert they agree, return the result.
pub fn both(entities: &[Entity], threat: &Threat) -> Result<Vec<Match>, MatchError> {
    let indexed = registry(entities).match_threat(threat);
    let reference = reference_match(
        entities,
        threat,
        &MatchConfig::default(),
        &Gazetteer::builtin(),
    );
    assert_eq!(indexed, reference, "registry and reference disagree");
    indexed
}

/// Ids of the matched entities, in rank order.
pub fn ids(m: &[Match]) -> Vec<&str> {
    m.iter().map(|m| m.entity_id.as_str()).collect()
}

/// The detail of the reason for `descriptor` in the match of entity `id`.
pub fn detail<'a>(m: &'a [Match], id: &str, descriptor: &str) -> &'a str {
    let m = m
        .iter()
        .find(|m| m.entity_id.as_str() == id)
        .unwrap_or_else(|| panic!("no match for {id}"));
    m.reasons
        .iter()
        .find(|r| r.descriptor == descriptor)
        .map(|r| r.detail.as_str())
        .unwrap_or_else(|| panic!("no {descriptor} reason for {id}: {:?}", m.reasons))
}
