//! Duty and follow-through, driven through the engine on a simulated clock.

use chrono::{Duration, TimeZone, Utc};
use std::path::Path;
use std::sync::Arc;
use tocsin_core::duty::{Decision, DutyError};
use tocsin_core::followup::{FeedbackKind, Resolution, TaskKind};
use tocsin_core::lifecycle::WarningState;
use tocsin_core::tracking::Measure;
use tocsin_core::{ThreatId, Timestamp, WarningId};
use tocsin_engine::{Engine, EngineConfig, EngineError};
use tocsin_store::AuditCtx;
use tocsin_store_sqlite::SqliteStore;

const ANALYST: &str = "analyst:a";
const APPROVER: &str = "approver:b";

fn t(day: u32, hour: u32) -> Timestamp {
    Utc.with_ymd_and_hms(2024, 3, day, hour, 0, 0).unwrap()
}

fn examples() -> &'static Path {
    Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/moscow-2024"
    ))
}

struct Case {
    engine: Engine,
    tid: ThreatId,
    _dir: tempfile::TempDir,
}

/// The reference case up to an approved "warn" determination (no warnings yet).
fn case_until_determination() -> Case {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open_in_memory().unwrap());
    let engine = Engine::open(store, EngineConfig::new(dir.path().join("outbox"))).unwrap();
    engine
        .import_registry(examples(), &AuditCtx::new("import", t(6, 7)))
        .unwrap();
    let threat = Engine::parse_report_file(&examples().join("report.txt")).unwrap();
    let tid = threat.id.clone();
    engine
        .ingest_threat(&threat, &AuditCtx::new(ANALYST, t(6, 8)))
        .unwrap();
    engine
        .compute_matches(&tid, &AuditCtx::new(ANALYST, t(6, 8)))
        .unwrap();
    Case {
        engine,
        tid,
        _dir: dir,
    }
}

/// …then warnings composed, approved and delivered (tick at 10:00).
fn delivered_case() -> Case {
    let c = case_until_determination();
    c.engine
        .propose_determination(&c.tid, ANALYST, t(6, 9))
        .unwrap();
    c.engine
        .approve_determination(&c.tid, APPROVER, t(6, 9))
        .unwrap();
    for w in c.engine.compose_warnings(&c.tid, ANALYST, t(6, 9)).unwrap() {
        c.engine.approve_warning(&w.id, APPROVER, t(6, 9)).unwrap();
    }
    c.engine.tick(t(6, 10)).unwrap();
    c
}

fn crocus(c: &Case) -> WarningId {
    WarningId::new(format!("{}.op-crocus.v1", c.tid))
}

/// The signed link of `purpose` in a warning's text.
fn link_in(c: &Case, w: &WarningId, marker: &str) -> String {
    let text = c.engine.store().warning(w).unwrap().unwrap().text;
    let at = text
        .find(marker)
        .unwrap_or_else(|| panic!("no {marker:?} in:\n{text}"));
    let url = text[at + marker.len()..].split_whitespace().next().unwrap();
    url.rsplit("/r/").next().unwrap().to_owned()
}

#[test]
fn the_proposer_cannot_approve_and_waivers_need_a_policy_code() {
    let c = case_until_determination();
    let d = c
        .engine
        .propose_determination(&c.tid, ANALYST, t(6, 9))
        .unwrap();
    assert_eq!(d.decision, Decision::Warn);
    assert!(d.criteria.iter().all(|x| x.held));
    match c.engine.approve_determination(&c.tid, ANALYST, t(6, 9)) {
        Err(EngineError::Duty(DutyError::SelfApproval { who })) => assert_eq!(who, ANALYST),
        other => panic!("self-approval must be refused, got {other:?}"),
    }
    match c.engine.waive(&c.tid, "too_busy", "no", ANALYST, t(6, 9)) {
        Err(EngineError::Duty(DutyError::UnknownWaiver(code, allowed))) => {
            assert_eq!(code, "too_busy");
            assert!(allowed.contains("already_aware"));
        }
        other => panic!("unknown waiver must be refused, got {other:?}"),
    }
    assert!(matches!(
        c.engine
            .waive(&c.tid, "already_aware", "  ", ANALYST, t(6, 9)),
        Err(EngineError::Duty(DutyError::EmptyRationale))
    ));
    let w = c
        .engine
        .waive(
            &c.tid,
            "already_aware",
            "The FSB briefed the venue on 5 March.",
            ANALYST,
            t(6, 9),
        )
        .unwrap();
    assert!(matches!(w.decision, Decision::Waive { .. }));
    c.engine
        .approve_determination(&c.tid, APPROVER, t(6, 10))
        .unwrap();
    // A waived case composes nothing.
    assert!(matches!(
        c.engine.compose_warnings(&c.tid, ANALYST, t(6, 10)),
        Err(EngineError::Precondition(_))
    ));
    // Every determination is kept: proposal, waiver proposal, approved waiver.
    assert_eq!(c.engine.store().determinations(&c.tid).unwrap().len(), 3);
}

#[test]
fn one_time_links_acknowledge_and_report_posture_once() {
    let c = delivered_case();
    let w = crocus(&c);
    let ack = link_in(&c, &w, "Подтвердить получение: ");
    let out = c.engine.acknowledge_via_link(&ack, t(6, 11)).unwrap();
    assert_eq!(out.warning_id, w);
    assert_eq!(
        c.engine.store().warning(&w).unwrap().unwrap().state,
        WarningState::Acknowledged
    );
    // The same link again: refused, nothing recorded twice.
    let again = c
        .engine
        .acknowledge_via_link(&ack, t(6, 12))
        .unwrap_err()
        .to_string();
    assert!(again.contains("already used"), "{again}");
    assert_eq!(
        c.engine.store().acknowledgements(Some(&w)).unwrap().len(),
        1
    );
    // A tampered link: refused.
    let mut forged = ack.clone();
    forged.insert(3, 'x');
    assert!(c.engine.acknowledge_via_link(&forged, t(6, 12)).is_err());
    // The acknowledgement returned the posture link; an ack link cannot be used for posture.
    let posture = out
        .next_posture_link
        .expect("window open: a posture link")
        .rsplit("/r/")
        .next()
        .unwrap()
        .to_owned();
    assert!(c
        .engine
        .posture_via_link(&ack, vec![Measure::StaffBriefed], "", t(6, 13))
        .is_err());
    let next = c
        .engine
        .posture_via_link(
            &posture,
            vec![Measure::ExtraScreening, Measure::DetectionDogs],
            "dogs at every door",
            t(6, 13),
        )
        .unwrap();
    assert!(next.next_posture_link.is_some());
    assert_eq!(
        c.engine.store().warning(&w).unwrap().unwrap().state,
        WarningState::PostureConfirmed
    );
    let reports = c.engine.store().posture_reports(Some(&w)).unwrap();
    assert_eq!(reports.len(), 1);
    assert_eq!(
        reports[0].measures,
        vec![Measure::ExtraScreening, Measure::DetectionDogs]
    );
}

#[test]
fn too_general_feedback_opens_a_follow_up_closed_by_a_new_version() {
    let c = delivered_case();
    let w = crocus(&c);
    let fb = link_in(&c, &w, "Напишите нам: ");
    c.engine
        .feedback_via_link(
            &fb,
            FeedbackKind::TooGeneral,
            "Which venue? Which days?",
            t(7, 9),
        )
        .unwrap();
    let tasks = c.engine.tasks(true).unwrap();
    let task = tasks
        .iter()
        .find(|t| t.kind == TaskKind::FeedbackFollowUp)
        .expect("follow-up task");
    assert_eq!(task.warning_id.as_ref(), Some(&w));
    // The analyst releases a new version through the composer; queued, it supersedes v1.
    let v2 = c
        .engine
        .recompose(&c.tid, &"op-crocus".into(), ANALYST, t(7, 10))
        .unwrap();
    assert_eq!(v2.version, 2);
    assert_eq!(v2.supersedes.as_ref(), Some(&w));
    c.engine
        .approve_warning(&v2.id, APPROVER, t(7, 10))
        .unwrap();
    c.engine.tick(t(7, 11)).unwrap();
    assert_eq!(
        c.engine.store().warning(&w).unwrap().unwrap().state,
        WarningState::Superseded
    );
    assert_eq!(
        c.engine.store().warning(&v2.id).unwrap().unwrap().state,
        WarningState::Delivered
    );
    let closed = c
        .engine
        .resolve_task(
            task.id,
            Resolution::ReleasedMore {
                warning_id: v2.id.clone(),
            },
            ANALYST,
            t(7, 12),
        )
        .unwrap();
    assert!(!closed.is_open());
    assert!(
        c.engine
            .resolve_task(
                task.id,
                Resolution::Done {
                    note: "again".into()
                },
                ANALYST,
                t(7, 13)
            )
            .is_err(),
        "closing twice is refused"
    );
}

#[test]
fn an_unapproved_determination_escalates_once_after_the_sla() {
    let c = case_until_determination();
    c.engine
        .propose_determination(&c.tid, ANALYST, t(6, 9))
        .unwrap();
    c.engine.tick(t(7, 8)).unwrap();
    assert!(
        c.engine
            .tasks(true)
            .unwrap()
            .iter()
            .all(|t| t.kind != TaskKind::SlaBreach),
        "not yet: the SLA is 24 h"
    );
    c.engine.tick(t(7, 9)).unwrap();
    c.engine.tick(t(7, 10)).unwrap();
    let sla: Vec<_> = c
        .engine
        .tasks(true)
        .unwrap()
        .into_iter()
        .filter(|t| t.kind == TaskKind::SlaBreach)
        .collect();
    assert_eq!(sla.len(), 1, "one escalation, not one per tick");
    assert!(sla[0].detail.contains("unapproved"), "{}", sla[0].detail);
}

#[test]
fn extending_the_window_reopens_the_determination_and_rewarns() {
    let c = delivered_case();
    let until = t(31, 0) + Duration::days(14);
    c.engine
        .extend_window(&c.tid, until, ANALYST, t(20, 9))
        .unwrap();
    assert!(c
        .engine
        .tasks(true)
        .unwrap()
        .iter()
        .any(|t| t.kind == TaskKind::Redetermine));
    assert_eq!(
        c.engine
            .store()
            .threat(&c.tid)
            .unwrap()
            .unwrap()
            .window
            .until,
        until
    );
    // Posture tracking follows the new end of the window.
    for (_, track) in c.engine.store().posture_tracks().unwrap() {
        assert_eq!(track.window_until, until);
    }
    // The determination is made again (history kept) and every recipient is re-warned with a
    // new version that supersedes the one it holds.
    c.engine
        .propose_determination(&c.tid, ANALYST, t(20, 10))
        .unwrap();
    assert!(
        c.engine
            .compose_warnings(&c.tid, ANALYST, t(20, 10))
            .is_err(),
        "an unapproved proposal composes nothing"
    );
    c.engine
        .approve_determination(&c.tid, APPROVER, t(20, 11))
        .unwrap();
    assert_eq!(c.engine.store().determinations(&c.tid).unwrap().len(), 4);
    let v2 = c
        .engine
        .compose_warnings(&c.tid, ANALYST, t(20, 11))
        .unwrap();
    assert!(!v2.is_empty() && v2.iter().all(|w| w.version == 2 && w.supersedes.is_some()));
    assert!(v2
        .iter()
        .all(|w| w.valid.until == until || w.audience_kind == tocsin_core::AudienceKind::Public));
    for w in &v2 {
        c.engine
            .approve_warning(&w.id, APPROVER, t(20, 11))
            .unwrap();
    }
    c.engine.tick(t(20, 12)).unwrap();
    let partner_v1 = c
        .engine
        .store()
        .warning(&WarningId::new(format!("{}.fsb-liaison.v1", c.tid)))
        .unwrap()
        .unwrap();
    assert_eq!(partner_v1.state, WarningState::Superseded);
    let partner_v2 = c
        .engine
        .store()
        .warning(&WarningId::new(format!("{}.fsb-liaison.v2", c.tid)))
        .unwrap()
        .unwrap();
    assert_eq!(
        partner_v2.state,
        WarningState::Delivered,
        "the re-confirmed threat re-warns the partner"
    );
}

#[test]
fn effectiveness_counts_the_replayed_case() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open_in_memory().unwrap());
    let engine = Engine::open(store, EngineConfig::new(dir.path().join("outbox"))).unwrap();
    tocsin_engine::demo::run(&engine, examples()).unwrap();
    let r = engine.effectiveness(t(1, 0), t(31, 0)).unwrap();
    assert_eq!(r.threats, 1);
    assert_eq!(r.warnings_sent, 3);
    assert_eq!(r.warnings_sent_by_kind.get("public"), Some(&1));
    assert_eq!(r.acknowledged, 2);
    assert_eq!(r.posture_tracked, 2);
    assert_eq!(
        r.posture_kept, 0,
        "both partner and operator had lapsed by 22 March"
    );
    assert_eq!(r.outcomes.get("attack_occurred"), Some(&1));
    // Partner and operator within minutes of intake; the public a day later.
    assert_eq!(r.intake_to_delivery_minutes.count, 3);
    assert!(r.intake_to_delivery_minutes.max.unwrap() >= 24 * 60);
    // A period before the case: nothing.
    let empty = engine.effectiveness(t(1, 0), t(2, 0)).unwrap();
    assert_eq!((empty.threats, empty.warnings_sent), (0, 0));
}
