use super::migrate::{self, Migration, MIGRATIONS};
use super::*;
use crate::record::actions;
use chrono::{Duration as CDuration, TimeZone, Utc};
use std::sync::Arc;
use tocsin_core::audit::{digest, GENESIS_HASH};
use tocsin_core::duty::{Criterion, Decision};
use tocsin_core::entity::{Category, EntityKind, GeoPoint};
use tocsin_core::tracking::{Measure, OutcomeKind, Specificity};
use tocsin_core::{
    AudienceKind, ChannelKind, ChannelSpec, Classification, CountryCode, Credibility, Harm, PortionMark, Portion, TargetSpec, ThreatWindow, TlpLevel,
};

fn t(d: u32, h: u32) -> Timestamp {
    Utc.with_ymd_and_hms(2024, 3, d, h, 0, 0).unwrap()
}

fn ctx(d: u32, h: u32) -> AuditCtx {
    AuditCtx::new("analyst", t(d, h))
}

fn entity(id: &str, name: &str) -> Entity {
    Entity {
        id: EntityId::new(id),
        kind: EntityKind::Venue,
        name: name.into(),
        aliases: vec!["Крокус Сити Холл".into()],
        category: Category::parse("venue/entertainment/concert_hall").unwrap(),
        location: Some(GeoPoint::new(55.826, 37.390).unwrap()),
        capacity: Some(7500),
        span: None,
        venue: None,
        city: Some("Krasnogorsk".into()),
        country: Some(CountryCode::parse("RUS").unwrap()),
        audiences: vec![AudienceId::new("crocus-security")],
        footprint: Default::default(),
    }
}

fn audience(id: &str) -> Audience {
    Audience {
        id: AudienceId::new(id),
        name: "Crocus City Hall security".into(),
        kind: AudienceKind::Operator,
        country: Some(CountryCode::parse("RUS").unwrap()),
        clearance: Classification::U,
        tlp_ceiling: TlpLevel::Amber,
        orcon_approved: false,
        channels: vec![ChannelSpec { kind: ChannelKind::Email, address: "security@crocus.example".into() }],
        escalation_contact: Some("duty-officer@crocus.example".into()),
        language: "ru".into(),
        posture_interval_hours: Some(24),
    }
}

fn threat(id: &str) -> Threat {
    Threat {
        id: ThreatId::new(id),
        title: "Extremists plan to attack large gatherings in Moscow".into(),
        originator: CountryCode::parse("USA").unwrap(),
        received: t(6, 9),
        actor: Some("ISIS-K".into()),
        actor_mark: PortionMark::unclassified(),
        harms: vec![Harm::Killing, Harm::ArsonBombing],
        credibility: Credibility::Probable,
        window: ThreatWindow::new(t(7, 0), t(9, 0)).unwrap(),
        public_advice_hours: 48,
        targets: vec![TargetSpec {
            label: "concerts in Moscow".into(),
            mark: PortionMark::unclassified(),
            name: Some("Crocus City Hall".into()),
            categories: vec![Category::parse("venue/entertainment").unwrap()],
            min_size: Some(1000),
            area: Some(tocsin_core::Area::Circle { center: GeoPoint::new(55.7558, 37.6173).unwrap(), radius_km: 30.0 }),
            window: None,
            footprint: Default::default(),
        }],
        portions: vec![Portion { mark: PortionMark::unclassified(), text: "Large gatherings in Moscow may be attacked.".into(), tearline: true, line: 1 }],
        restricted_terms: vec!["SOURCE-X".into()],
        tlp: Some(TlpLevel::Amber),
        measures: vec!["Avoid large gatherings".into()],
    }
}

fn warning(id: &str, threat_id: &str, state: WarningState, created: Timestamp) -> Warning {
    Warning {
        id: WarningId::new(id),
        threat_id: ThreatId::new(threat_id),
        audience_id: AudienceId::new("crocus-security"),
        audience_kind: AudienceKind::Operator,
        version: 1,
        supersedes: None,
        tlp: TlpLevel::Amber,
        banner: "UNCLASSIFIED".into(),
        specificity: Specificity::NamedTarget,
        headline: "Threat to Crocus City Hall".into(),
        text: "Extremists plan to attack concerts at Crocus City Hall.".into(),
        measures: vec!["Screen visitors".into()],
        valid: ThreatWindow::new(t(7, 0), t(9, 0)).unwrap(),
        state,
        created_at: created,
    }
}

fn determination(threat_id: &str, decision: Decision) -> Determination {
    Determination {
        threat_id: ThreatId::new(threat_id),
        decision,
        criteria: vec![Criterion { name: "credible".into(), held: true, why: "probable".into() }],
        considerations: vec!["tearline only".into()],
        proposer: "alice".into(),
        proposed_at: t(6, 10),
        approver: Some("bob".into()),
        approved_at: Some(t(6, 11)),
        deadline: t(7, 10),
    }
}

fn new_delivery(key: &str, address: &str) -> NewDelivery {
    NewDelivery {
        audience_id: AudienceId::new("crocus-security"),
        channel: ChannelSpec { kind: ChannelKind::Webhook, address: address.into() },
        idempotency_key: key.into(),
    }
}

/// A store with one threat and one approved warning `W1`.
fn store_with_approved_warning() -> SqliteStore {
    let s = SqliteStore::open_in_memory().unwrap();
    s.insert_threat(&threat("T1"), &ctx(6, 9)).unwrap();
    s.insert_warning(&warning("W1", "T1", WarningState::Approved, t(6, 12)), &ctx(6, 12)).unwrap();
    s
}

fn raw(s: &SqliteStore) -> MutexGuard<'_, Connection> {
    s.lock()
}

fn count(s: &SqliteStore, table: &str) -> i64 {
    raw(s).query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| r.get(0)).unwrap()
}

// ---- Migrations -----------------------------------------------------------------------------

#[test]
fn migrations_apply_on_a_fresh_file_and_reopen_is_a_no_op() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tocsin.db");
    {
        let s = SqliteStore::open(&path).unwrap();
        assert_eq!(s.schema_version().unwrap(), MIGRATIONS.last().unwrap().version);
        assert_eq!(s.path(), Some(path.as_path()));
        let mode: String = raw(&s).query_row("PRAGMA journal_mode", [], |r| r.get(0)).unwrap();
        assert_eq!(mode, "wal");
        let fk: i64 = raw(&s).query_row("PRAGMA foreign_keys", [], |r| r.get(0)).unwrap();
        assert_eq!(fk, 1);
        s.insert_threat(&threat("T1"), &ctx(6, 9)).unwrap();
    }
    let s = SqliteStore::open(&path).unwrap();
    assert_eq!(count(&s, "schema_migrations"), MIGRATIONS.len() as i64);
    assert_eq!(s.threats().unwrap().len(), 1, "data survives a re-open");
    assert!(migrate::apply(&mut raw(&s), MIGRATIONS).unwrap().is_empty(), "nothing left to apply");
    assert!(s.verify_audit().unwrap().is_ok());
}

#[test]
fn a_failing_migration_is_rolled_back_and_names_its_version() {
    let mut conn = Connection::open_in_memory().unwrap();
    let bad = [
        MIGRATIONS[0],
        Migration { version: 2, name: "broken", sql: "CREATE TABLE half_done (x TEXT); CREATE TABLE entities (id TEXT);" },
    ];
    match migrate::apply(&mut conn, &bad) {
        Err(StoreError::Migration { version: 2, reason }) => assert!(reason.contains("broken"), "{reason}"),
        other => panic!("expected a migration error for version 2, got {other:?}"),
    }
    assert_eq!(migrate::recorded(&conn).unwrap().keys().copied().collect::<Vec<_>>(), vec![1], "version 1 committed, 2 not");
    let half: Option<String> = conn
        .query_row("SELECT name FROM sqlite_master WHERE name = 'half_done'", [], |r| r.get(0))
        .optional()
        .unwrap();
    assert_eq!(half, None, "the failed migration left nothing behind");
}

#[test]
fn a_database_from_a_newer_build_is_refused() {
    let mut conn = Connection::open_in_memory().unwrap();
    migrate::apply(&mut conn, MIGRATIONS).unwrap();
    conn.execute("INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, 'future', 'x')", []).unwrap();
    match migrate::apply(&mut conn, MIGRATIONS) {
        Err(StoreError::Migration { version: 999, .. }) => {}
        other => panic!("expected a migration error for 999, got {other:?}"),
    }
}

// ---- Round trips ----------------------------------------------------------------------------

#[test]
fn registry_round_trips_and_upserts_replace_by_id() {
    let s = SqliteStore::open_in_memory().unwrap();
    let crocus = entity("crocus", "Crocus City Hall");
    let other = entity("synagogue", "Moscow Choral Synagogue");
    s.upsert_entities(&[crocus.clone(), other.clone()], &ctx(5, 0)).unwrap();
    assert_eq!(s.entities().unwrap(), vec![crocus.clone(), other.clone()]);
    assert_eq!(s.entity(&EntityId::new("crocus")).unwrap(), Some(crocus.clone()));
    assert_eq!(s.entity(&EntityId::new("nope")).unwrap(), None);

    let mut renamed = crocus.clone();
    renamed.capacity = Some(6200);
    s.upsert_entities(&[renamed.clone()], &ctx(5, 1)).unwrap();
    assert_eq!(s.entities().unwrap(), vec![renamed, other]);

    let a = audience("crocus-security");
    s.upsert_audiences(std::slice::from_ref(&a), &ctx(5, 2)).unwrap();
    let mut b = a.clone();
    b.language = "en".into();
    s.upsert_audiences(&[b.clone()], &ctx(5, 3)).unwrap();
    assert_eq!(s.audiences().unwrap(), vec![b.clone()]);
    assert_eq!(s.audience(&a.id).unwrap(), Some(b));

    let subjects: Vec<String> = s.audit_events().unwrap().into_iter().map(|e| e.subject).collect();
    assert_eq!(subjects, ["entities:2", "entity:crocus", "audience:crocus-security", "audience:crocus-security"]);
}

#[test]
fn threats_round_trip_and_a_duplicate_id_is_a_conflict() {
    let s = SqliteStore::open_in_memory().unwrap();
    let t1 = threat("T1");
    s.insert_threat(&t1, &ctx(6, 9)).unwrap();
    let mut t2 = threat("T2");
    t2.received = t(6, 8);
    s.insert_threat(&t2, &ctx(6, 10)).unwrap();
    assert_eq!(s.threats().unwrap(), vec![t1.clone(), t2], "insertion order");
    assert_eq!(s.threat(&t1.id).unwrap(), Some(t1.clone()));

    let mut again = threat("T1");
    again.title = "overwritten?".into();
    match s.insert_threat(&again, &ctx(6, 11)) {
        Err(StoreError::Conflict { kind: "threat", id }) => assert_eq!(id, "T1"),
        other => panic!("expected a conflict, got {other:?}"),
    }
    assert_eq!(s.threat(&t1.id).unwrap(), Some(t1), "nothing overwritten");
    assert_eq!(s.audit_events().unwrap().len(), 2, "a refused write leaves no audit event");
}

#[test]
fn matches_are_replaced_per_threat() {
    let s = SqliteStore::open_in_memory().unwrap();
    s.insert_threat(&threat("T1"), &ctx(6, 9)).unwrap();
    let m = |e: &str, score: f64| Match {
        threat_id: ThreatId::new("T1"),
        entity_id: EntityId::new(e),
        target: 0,
        score,
        reasons: vec![tocsin_core::MatchReason { descriptor: "name".into(), detail: "named in the report".into() }],
    };
    s.replace_matches(&ThreatId::new("T1"), &[m("crocus", 0.95), m("synagogue", 0.1 + 0.2)], &ctx(6, 10)).unwrap();
    s.replace_matches(&ThreatId::new("T1"), &[m("synagogue", 0.7), m("crocus", 0.95)], &ctx(6, 11)).unwrap();
    assert_eq!(s.matches(&ThreatId::new("T1")).unwrap(), vec![m("synagogue", 0.7), m("crocus", 0.95)]);
    assert!(s.matches(&ThreatId::new("T2")).unwrap().is_empty());

    let mut stray = m("x", 1.0);
    stray.threat_id = ThreatId::new("T2");
    assert!(matches!(s.replace_matches(&ThreatId::new("T1"), &[stray], &ctx(6, 12)), Err(StoreError::Invalid { .. })));
    assert!(matches!(
        s.replace_matches(&ThreatId::new("T9"), &[], &ctx(6, 12)),
        Err(StoreError::NotFound { kind: "threat", .. })
    ));
    assert_eq!(s.matches(&ThreatId::new("T1")).unwrap().len(), 2);
}

#[test]
fn determinations_keep_their_history() {
    let s = SqliteStore::open_in_memory().unwrap();
    s.insert_threat(&threat("T1"), &ctx(6, 9)).unwrap();
    let d1 = determination("T1", Decision::Warn);
    let d2 = determination("T1", Decision::Waive { justification: "already_aware".into(), rationale: "FSB briefed".into() });
    let id1 = s.insert_determination(&d1, &ctx(6, 10)).unwrap();
    let id2 = s.insert_determination(&d2, &ctx(6, 11)).unwrap();
    assert!(id2 > id1);
    assert_eq!(s.determinations(&ThreatId::new("T1")).unwrap(), vec![d1, d2]);
    assert_eq!(s.audit_events().unwrap().last().unwrap().subject, format!("determination:{id2}"));
    assert!(matches!(
        s.insert_determination(&determination("T9", Decision::Warn), &ctx(6, 12)),
        Err(StoreError::NotFound { kind: "threat", .. })
    ));
}

#[test]
fn warnings_round_trip_in_creation_order() {
    let s = SqliteStore::open_in_memory().unwrap();
    s.insert_threat(&threat("T1"), &ctx(6, 9)).unwrap();
    s.insert_threat(&threat("T2"), &ctx(6, 9)).unwrap();
    let w1 = warning("W-b", "T1", WarningState::Draft, t(6, 12));
    let w2 = warning("W-a", "T2", WarningState::Draft, t(6, 12));
    let w3 = warning("W-c", "T1", WarningState::Draft, t(6, 13));
    for w in [&w1, &w2, &w3] {
        s.insert_warning(w, &ctx(6, 12)).unwrap();
    }
    assert_eq!(s.warnings(None).unwrap(), vec![w1.clone(), w2.clone(), w3.clone()]);
    assert_eq!(s.warnings(Some(&ThreatId::new("T1"))).unwrap(), vec![w1.clone(), w3]);
    assert!(matches!(s.insert_warning(&w1, &ctx(6, 14)), Err(StoreError::Conflict { kind: "warning", .. })));
    assert!(matches!(
        s.insert_warning(&warning("W-x", "T9", WarningState::Draft, t(6, 12)), &ctx(6, 14)),
        Err(StoreError::NotFound { kind: "threat", .. })
    ));

    s.set_warning_state(&w1.id, WarningState::Approved, &ctx(6, 15)).unwrap();
    assert_eq!(s.warning(&w1.id).unwrap().unwrap().state, WarningState::Approved);
    assert_eq!(s.warning(&WarningId::new("nope")).unwrap(), None);
    assert!(matches!(
        s.set_warning_state(&WarningId::new("nope"), WarningState::Approved, &ctx(6, 15)),
        Err(StoreError::NotFound { kind: "warning", .. })
    ));
    let state: String = raw(&s).query_row("SELECT state FROM warnings WHERE id = 'W-b'", [], |r| r.get(0)).unwrap();
    assert_eq!(state, "approved", "key column follows the record");
}

#[test]
fn follow_through_records_round_trip() {
    let s = store_with_approved_warning();
    let w = WarningId::new("W1");
    let ack = Acknowledgement { warning_id: w.clone(), at: t(7, 12), by: "Crocus security chief".into() };
    s.insert_acknowledgement(&ack, &ctx(7, 12)).unwrap();
    assert_eq!(s.acknowledgements(Some(&w)).unwrap(), vec![ack.clone()]);
    assert_eq!(s.acknowledgements(None).unwrap(), vec![ack]);
    assert!(s.acknowledgements(Some(&WarningId::new("W2"))).unwrap().is_empty());

    let later = PostureReport { warning_id: w.clone(), at: t(8, 12), by: "security".into(), measures: vec![Measure::ExtraScreening], note: String::new() };
    let earlier = PostureReport {
        warning_id: w.clone(),
        at: t(7, 20),
        by: "security".into(),
        measures: vec![Measure::DetectionDogs, Measure::StaffBriefed, Measure::Other("metal detectors".into())],
        note: "dogs at every entrance".into(),
    };
    s.insert_posture_report(&later, &ctx(8, 12)).unwrap();
    s.insert_posture_report(&earlier, &ctx(8, 13)).unwrap();
    assert_eq!(s.posture_reports(Some(&w)).unwrap(), vec![earlier, later], "ordered by report time");

    let mut track = PostureTrack::new(t(7, 12), 24, t(9, 0));
    s.upsert_posture_track(&w, &track, &ctx(7, 12)).unwrap();
    track.reminded_at = Some(t(8, 12));
    s.upsert_posture_track(&w, &track, &ctx(8, 12)).unwrap();
    assert_eq!(s.posture_tracks().unwrap(), vec![(w.clone(), track)]);

    let o = Outcome { threat_id: ThreatId::new("T1"), kind: OutcomeKind::AttackOccurred, at: t(22, 20), references: vec!["https://example.org".into()], note: "Crocus".into() };
    s.insert_outcome(&o, &ctx(23, 0)).unwrap();
    assert_eq!(s.outcomes(Some(&ThreatId::new("T1"))).unwrap(), vec![o.clone()]);
    assert_eq!(s.outcomes(None).unwrap(), vec![o]);

    let before = s.audit_events().unwrap().len();
    let e2 = TimelineEntry { at: t(7, 12), event: "warning_delivered".into(), detail: "to Crocus".into(), threat_id: ThreatId::new("T1") };
    let e1 = TimelineEntry { at: t(6, 9), event: "report_received".into(), detail: "from USA".into(), threat_id: ThreatId::new("T1") };
    let e3 = TimelineEntry { at: t(6, 9), event: "report_received".into(), detail: "other".into(), threat_id: ThreatId::new("T2") };
    for e in [&e2, &e1, &e3] {
        s.append_timeline(e).unwrap();
    }
    assert_eq!(s.timeline(Some(&ThreatId::new("T1"))).unwrap(), vec![e1.clone(), e2.clone()]);
    assert_eq!(s.timeline(None).unwrap(), vec![e1, e3, e2]);
    assert_eq!(s.audit_events().unwrap().len(), before, "the timeline is not audited");

    let unknown = WarningId::new("W404");
    let ack = Acknowledgement { warning_id: unknown.clone(), at: t(7, 12), by: "x".into() };
    assert!(matches!(s.insert_acknowledgement(&ack, &ctx(7, 12)), Err(StoreError::NotFound { kind: "warning", .. })));
    assert!(matches!(
        s.upsert_posture_track(&unknown, &PostureTrack::new(t(7, 12), 24, t(9, 0)), &ctx(7, 12)),
        Err(StoreError::NotFound { kind: "warning", .. })
    ));
}

// ---- The outbox -----------------------------------------------------------------------------

#[test]
fn queue_warning_writes_the_state_and_the_deliveries() {
    let s = store_with_approved_warning();
    let w = WarningId::new("W1");
    let at = t(7, 8) + CDuration::nanoseconds(123_456_789);
    let created = s
        .queue_warning(&w, &[new_delivery("W1/crocus/1", "https://hooks.example/1"), new_delivery("W1/crocus/2", "https://hooks.example/2")], &AuditCtx::new("worker", at))
        .unwrap();
    assert_eq!(created.len(), 2);
    assert_eq!(s.warning(&w).unwrap().unwrap().state, WarningState::Queued);
    for d in &created {
        assert_eq!(d.status, DeliveryStatus::Pending);
        assert_eq!(d.attempts, 0);
        assert_eq!(d.warning_id, w);
        assert_eq!(d.next_attempt_at, t(7, 8) + CDuration::microseconds(123_456), "stored with microseconds");
        assert_eq!(d.last_error, None);
        assert_eq!(d.delivered_at, None);
    }
    assert_eq!(s.deliveries(Some(&w)).unwrap(), created);
    assert_eq!(s.deliveries(None).unwrap(), created);
    let last = s.audit_events().unwrap().pop().unwrap();
    assert_eq!((last.action.as_str(), last.subject.as_str(), last.actor.as_str()), (actions::WARNING_QUEUE, "warning:W1", "worker"));
    assert!(s.verify_audit().unwrap().is_ok(), "nanosecond times hash as stored");

    match s.queue_warning(&w, &[], &ctx(7, 9)) {
        Err(e @ StoreError::InvalidState { .. }) => assert!(e.to_string().contains("queued"), "{e}"),
        other => panic!("expected InvalidState, got {other:?}"),
    }
}

#[test]
fn queue_warning_refuses_an_unapproved_warning() {
    let s = SqliteStore::open_in_memory().unwrap();
    s.insert_threat(&threat("T1"), &ctx(6, 9)).unwrap();
    s.insert_warning(&warning("W1", "T1", WarningState::Draft, t(6, 12)), &ctx(6, 12)).unwrap();
    match s.queue_warning(&WarningId::new("W1"), &[new_delivery("k", "a")], &ctx(7, 8)) {
        Err(StoreError::InvalidState { kind: "warning", state, .. }) => assert_eq!(state, "draft"),
        other => panic!("expected InvalidState, got {other:?}"),
    }
    assert!(matches!(s.queue_warning(&WarningId::new("W9"), &[], &ctx(7, 8)), Err(StoreError::NotFound { kind: "warning", .. })));
    assert_eq!(count(&s, "deliveries"), 0);
}

#[test]
fn queue_warning_is_atomic_when_an_idempotency_key_conflicts() {
    let s = store_with_approved_warning();
    s.insert_warning(&warning("W2", "T1", WarningState::Approved, t(6, 12)), &ctx(6, 12)).unwrap();
    s.queue_warning(&WarningId::new("W1"), &[new_delivery("taken", "a")], &ctx(7, 8)).unwrap();
    let events = s.audit_events().unwrap().len();

    // The second delivery's key is already used by W1's delivery.
    match s.queue_warning(&WarningId::new("W2"), &[new_delivery("fresh", "a"), new_delivery("taken", "b")], &ctx(7, 9)) {
        Err(StoreError::Conflict { kind: "delivery", id }) => assert_eq!(id, "taken"),
        other => panic!("expected a conflict, got {other:?}"),
    }
    assert_eq!(s.warning(&WarningId::new("W2")).unwrap().unwrap().state, WarningState::Approved, "state change rolled back");
    assert!(s.deliveries(Some(&WarningId::new("W2"))).unwrap().is_empty(), "no delivery written");
    assert_eq!(count(&s, "deliveries"), 1);
    assert_eq!(s.audit_events().unwrap().len(), events, "no audit event");

    // The same key twice in one batch.
    assert!(matches!(
        s.queue_warning(&WarningId::new("W2"), &[new_delivery("dup", "a"), new_delivery("dup", "b")], &ctx(7, 9)),
        Err(StoreError::Conflict { kind: "delivery", .. })
    ));
    assert_eq!(s.warning(&WarningId::new("W2")).unwrap().unwrap().state, WarningState::Approved);
    assert_eq!(count(&s, "deliveries"), 1);
    assert!(s.verify_audit().unwrap().is_ok());

    // And with fresh keys it goes through.
    assert_eq!(s.queue_warning(&WarningId::new("W2"), &[new_delivery("fresh", "a")], &ctx(7, 10)).unwrap().len(), 1);
}

#[test]
fn due_deliveries_are_filtered_and_oldest_first() {
    let s = store_with_approved_warning();
    s.insert_warning(&warning("W2", "T1", WarningState::Approved, t(6, 12)), &ctx(6, 12)).unwrap();
    s.insert_warning(&warning("W3", "T1", WarningState::Approved, t(6, 12)), &ctx(6, 12)).unwrap();
    // W2 queued later (due at 10:00), W1 earlier (due at 08:00), W3 due in the future.
    let late = s.queue_warning(&WarningId::new("W2"), &[new_delivery("w2a", "a"), new_delivery("w2b", "b")], &ctx(7, 10)).unwrap();
    let early = s.queue_warning(&WarningId::new("W1"), &[new_delivery("w1a", "a")], &ctx(7, 8)).unwrap();
    let future = s.queue_warning(&WarningId::new("W3"), &[new_delivery("w3a", "a")], &ctx(8, 0)).unwrap();

    let ids = |v: Vec<Delivery>| v.into_iter().map(|d| d.id).collect::<Vec<_>>();
    assert_eq!(ids(s.due_deliveries(t(7, 7), 10).unwrap()), Vec::<i64>::new());
    assert_eq!(ids(s.due_deliveries(t(7, 8), 10).unwrap()), vec![early[0].id], "due at exactly now");
    assert_eq!(ids(s.due_deliveries(t(7, 12), 10).unwrap()), vec![early[0].id, late[0].id, late[1].id]);
    assert_eq!(ids(s.due_deliveries(t(7, 12), 2).unwrap()), vec![early[0].id, late[0].id], "limit");

    // Delivered and dead ones are not due; retrying ones are due at their retry time.
    s.mark_delivered(early[0].id, &ctx(7, 8)).unwrap();
    s.mark_failed(late[0].id, "timeout", None, &ctx(7, 10)).unwrap();
    s.mark_failed(late[1].id, "HTTP 503", Some(t(7, 11)), &ctx(7, 10)).unwrap();
    assert_eq!(ids(s.due_deliveries(t(7, 10), 10).unwrap()), Vec::<i64>::new());
    assert_eq!(ids(s.due_deliveries(t(9, 0), 10).unwrap()), vec![late[1].id, future[0].id]);
}

#[test]
fn failed_deliveries_retry_then_die() {
    let s = store_with_approved_warning();
    let d = s.queue_warning(&WarningId::new("W1"), &[new_delivery("k", "https://hooks.example")], &ctx(7, 8)).unwrap().remove(0);

    s.mark_failed(d.id, "connection refused", Some(t(7, 9)), &ctx(7, 8)).unwrap();
    let r = s.deliveries(None).unwrap().remove(0);
    assert_eq!((r.status, r.attempts, r.next_attempt_at), (DeliveryStatus::Retrying, 1, t(7, 9)));
    assert_eq!(r.last_error.as_deref(), Some("connection refused"));

    s.mark_failed(d.id, "HTTP 500", Some(t(7, 11)), &ctx(7, 9)).unwrap();
    s.mark_failed(d.id, "HTTP 500 again", None, &ctx(7, 11)).unwrap();
    let dead = s.deliveries(None).unwrap().remove(0);
    assert_eq!((dead.status, dead.attempts), (DeliveryStatus::Dead, 3));
    assert_eq!(dead.last_error.as_deref(), Some("HTTP 500 again"));
    assert_eq!(dead.next_attempt_at, t(7, 11), "a dead letter keeps its last schedule");

    let actions: Vec<String> = s.audit_events().unwrap().into_iter().rev().take(3).map(|e| e.action).collect();
    assert_eq!(actions, [actions::DELIVERY_DEAD, actions::DELIVERY_FAILED, actions::DELIVERY_FAILED]);

    match s.mark_failed(d.id, "more", Some(t(8, 0)), &ctx(8, 0)) {
        Err(StoreError::InvalidState { kind: "delivery", state, .. }) => assert_eq!(state, "dead"),
        other => panic!("expected InvalidState, got {other:?}"),
    }
    assert!(matches!(s.mark_delivered(d.id, &ctx(8, 0)), Err(StoreError::InvalidState { .. })));
    assert!(matches!(s.mark_delivered(999, &ctx(8, 0)), Err(StoreError::NotFound { kind: "delivery", .. })));
}

#[test]
fn delivered_counts_the_attempt_and_is_final() {
    let s = store_with_approved_warning();
    let d = s.queue_warning(&WarningId::new("W1"), &[new_delivery("k", "a")], &ctx(7, 8)).unwrap().remove(0);
    s.mark_failed(d.id, "timeout", Some(t(7, 9)), &ctx(7, 8)).unwrap();
    s.mark_delivered(d.id, &ctx(7, 9)).unwrap();
    let got = s.deliveries(None).unwrap().remove(0);
    assert_eq!((got.status, got.attempts, got.delivered_at), (DeliveryStatus::Delivered, 2, Some(t(7, 9))));
    assert!(matches!(s.mark_failed(d.id, "late", None, &ctx(7, 10)), Err(StoreError::InvalidState { .. })));
    assert_eq!(s.audit_events().unwrap().last().unwrap().subject, format!("delivery:{}", d.id));
}

// ---- Audit ----------------------------------------------------------------------------------

/// A store where every mutating method has been called once.
fn busy_store() -> SqliteStore {
    let s = SqliteStore::open_in_memory().unwrap();
    let w = WarningId::new("W1");
    s.upsert_entities(&[entity("crocus", "Crocus City Hall")], &ctx(5, 0)).unwrap();
    s.upsert_audiences(&[audience("crocus-security")], &ctx(5, 0)).unwrap();
    s.insert_threat(&threat("T1"), &ctx(6, 9)).unwrap();
    s.replace_matches(&ThreatId::new("T1"), &[], &ctx(6, 9)).unwrap();
    s.insert_determination(&determination("T1", Decision::Warn), &ctx(6, 10)).unwrap();
    s.insert_warning(&warning("W1", "T1", WarningState::Draft, t(6, 12)), &ctx(6, 12)).unwrap();
    s.set_warning_state(&w, WarningState::Approved, &ctx(6, 13)).unwrap();
    let ds = s.queue_warning(&w, &[new_delivery("a", "a"), new_delivery("b", "b"), new_delivery("c", "c")], &ctx(7, 8)).unwrap();
    s.mark_delivered(ds[0].id, &ctx(7, 8)).unwrap();
    s.mark_failed(ds[1].id, "x", Some(t(7, 9)), &ctx(7, 8)).unwrap();
    s.mark_failed(ds[2].id, "x", None, &ctx(7, 8)).unwrap();
    s.insert_acknowledgement(&Acknowledgement { warning_id: w.clone(), at: t(7, 9), by: "x".into() }, &ctx(7, 9)).unwrap();
    s.insert_posture_report(&PostureReport { warning_id: w.clone(), at: t(7, 9), by: "x".into(), measures: vec![], note: String::new() }, &ctx(7, 9))
        .unwrap();
    s.upsert_posture_track(&w, &PostureTrack::new(t(7, 9), 24, t(9, 0)), &ctx(7, 9)).unwrap();
    s.insert_outcome(&Outcome { threat_id: ThreatId::new("T1"), kind: OutcomeKind::NoIncident, at: t(9, 0), references: vec![], note: String::new() }, &ctx(9, 0))
        .unwrap();
    s.insert_token("ab".repeat(32).as_str(), "analyst", "cli", None, &ctx(9, 1)).unwrap();
    s
}

#[test]
fn every_write_appends_exactly_one_chained_event() {
    let s = busy_store();
    let events = s.audit_events().unwrap();
    let got: Vec<&str> = events.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(
        got,
        [
            actions::ENTITY_UPSERT,
            actions::AUDIENCE_UPSERT,
            actions::THREAT_CREATE,
            actions::MATCHES_REPLACE,
            actions::DETERMINATION_RECORD,
            actions::WARNING_CREATE,
            actions::WARNING_STATE,
            actions::WARNING_QUEUE,
            actions::DELIVERY_DELIVERED,
            actions::DELIVERY_FAILED,
            actions::DELIVERY_DEAD,
            actions::ACK_RECORD,
            actions::POSTURE_REPORT,
            actions::POSTURE_TRACK,
            actions::OUTCOME_RECORD,
            actions::TOKEN_CREATE,
        ]
    );
    assert_eq!(events[0].prev_hash, GENESIS_HASH);
    assert!(events.iter().enumerate().all(|(i, e)| e.seq == i as u64 + 1 && e.actor == "analyst"));
    assert_eq!(s.verify_audit().unwrap(), Ok(events.last().unwrap().hash.clone()));
}

#[test]
fn a_single_record_event_digests_the_stored_json() {
    let s = SqliteStore::open_in_memory().unwrap();
    s.insert_threat(&threat("T1"), &ctx(6, 9)).unwrap();
    let json: String = raw(&s).query_row("SELECT json FROM threats WHERE id = 'T1'", [], |r| r.get(0)).unwrap();
    let ev = s.audit_events().unwrap().remove(0);
    assert_eq!(ev.subject, "threat:T1");
    assert_eq!(ev.payload_digest, digest(json.as_bytes()));
}

#[test]
fn an_edited_audit_row_breaks_the_chain_at_that_row() {
    let s = busy_store();
    raw(&s).execute("UPDATE audit_events SET actor = 'mallory' WHERE seq = 2", []).unwrap();
    let brk = s.verify_audit().unwrap().unwrap_err();
    assert_eq!(brk.seq, 2);
    assert!(brk.reason.contains("edited"), "{}", brk.reason);
}

#[test]
fn a_deleted_audit_row_breaks_the_chain() {
    let s = busy_store();
    raw(&s).execute("DELETE FROM audit_events WHERE seq = 5", []).unwrap();
    let brk = s.verify_audit().unwrap().unwrap_err();
    assert_eq!(brk.seq, 6, "the row after the gap");
    assert!(brk.reason.contains("missing"), "{}", brk.reason);
}

#[test]
fn a_deleted_tail_is_invisible_to_the_chain_but_the_next_write_continues_from_the_head() {
    // Truncation of the newest rows cannot be detected from the chain alone (anchor the head hash
    // elsewhere for that); but the chain stays consistent.
    let s = busy_store();
    raw(&s).execute("DELETE FROM audit_events WHERE seq = (SELECT MAX(seq) FROM audit_events)", []).unwrap();
    assert!(s.verify_audit().unwrap().is_ok());
    s.insert_token(&"cd".repeat(32), "viewer", "tail", None, &ctx(9, 2)).unwrap();
    assert!(s.verify_audit().unwrap().is_ok());
}

#[test]
fn an_unreadable_audit_row_is_a_break_not_an_error() {
    let s = busy_store();
    raw(&s).execute("UPDATE audit_events SET at = 'yesterday' WHERE seq = 3", []).unwrap();
    assert_eq!(s.verify_audit().unwrap().unwrap_err().seq, 3);
    assert!(matches!(s.audit_events(), Err(StoreError::Corrupt { kind: "audit_event", .. })));
}

#[test]
fn the_chain_holds_under_concurrent_writers() {
    let s = Arc::new(SqliteStore::open_in_memory().unwrap());
    let handles: Vec<_> = (0..4)
        .map(|n| {
            let s = Arc::clone(&s);
            std::thread::spawn(move || {
                for i in 0..25 {
                    s.upsert_entities(&[entity(&format!("e{n}-{i}"), "x")], &AuditCtx::new(format!("w{n}"), t(5, 0))).unwrap();
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    assert_eq!(s.audit_events().unwrap().len(), 100);
    assert!(s.verify_audit().unwrap().is_ok());
    let dyn_store: Arc<dyn Store> = s;
    assert_eq!(dyn_store.entities().unwrap().len(), 100);
}

// ---- Corruption -----------------------------------------------------------------------------

#[test]
fn a_corrupt_json_row_is_reported_with_its_id() {
    let s = SqliteStore::open_in_memory().unwrap();
    s.upsert_entities(&[entity("crocus", "Crocus"), entity("synagogue", "Synagogue")], &ctx(5, 0)).unwrap();
    raw(&s).execute("UPDATE entities SET json = '{\"id\": \"synagogue\", ' WHERE id = 'synagogue'", []).unwrap();
    for result in [s.entities().map(|_| ()), s.entity(&EntityId::new("synagogue")).map(|_| ())] {
        match result {
            Err(StoreError::Corrupt { kind: "entity", id, .. }) => assert_eq!(id, "synagogue"),
            other => panic!("expected Corrupt, got {other:?}"),
        }
    }
    assert!(s.entity(&EntityId::new("crocus")).unwrap().is_some(), "other rows still read");

    s.insert_threat(&threat("T1"), &ctx(6, 9)).unwrap();
    let id = s.insert_determination(&determination("T1", Decision::Warn), &ctx(6, 10)).unwrap();
    raw(&s).execute("UPDATE determinations SET json = '{\"decision\": 42}'", []).unwrap();
    match s.determinations(&ThreatId::new("T1")) {
        Err(e @ StoreError::Corrupt { kind: "determination", .. }) => assert!(e.to_string().contains(&format!("\"{id}\"")), "{e}"),
        other => panic!("expected Corrupt, got {other:?}"),
    }
}

#[test]
fn a_corrupt_delivery_row_is_reported_with_its_id() {
    let s = store_with_approved_warning();
    let d = s.queue_warning(&WarningId::new("W1"), &[new_delivery("k", "a")], &ctx(7, 8)).unwrap().remove(0);
    raw(&s).execute("UPDATE deliveries SET next_attempt_at = 'soon'", []).unwrap();
    match s.deliveries(None) {
        Err(StoreError::Corrupt { kind: "delivery", id, .. }) => assert_eq!(id, d.id.to_string()),
        other => panic!("expected Corrupt, got {other:?}"),
    }
}

// ---- Tokens ---------------------------------------------------------------------------------

#[test]
fn tokens_are_found_by_hash() {
    let s = SqliteStore::open_in_memory().unwrap();
    assert_eq!(s.token_count().unwrap(), 0);
    let h1 = digest(b"secret-one");
    let h2 = digest(b"secret-two");
    let id1 = s.insert_token(&h1, "admin", "bootstrap", None, &ctx(1, 0)).unwrap();
    let id2 = s.insert_token(&h2, "viewer", "console", Some(t(31, 0)), &ctx(1, 1)).unwrap();
    assert_ne!(id1, id2);
    assert_eq!(s.token_count().unwrap(), 2);
    assert_eq!(
        s.token_by_hash(&h2).unwrap(),
        Some(TokenRecord { id: id2, token_hash: h2.clone(), role: "viewer".into(), label: "console".into(), created_at: t(1, 1), expires_at: Some(t(31, 0)), revoked: false })
    );
    assert_eq!(s.token_by_hash(&h1).unwrap().unwrap().expires_at, None);
    assert_eq!(s.token_by_hash(&digest(b"guess")).unwrap(), None);
    assert!(matches!(s.insert_token(&h1, "admin", "again", None, &ctx(1, 2)), Err(StoreError::Conflict { kind: "token", .. })));
    assert_eq!(s.token_count().unwrap(), 2);
    assert_eq!(s.audit_events().unwrap().last().unwrap().subject, format!("token:{id2}"));
}
