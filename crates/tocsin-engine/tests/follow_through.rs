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

#[test]
fn an_escalation_says_what_was_done_and_asks_a_person_to_call_the_contact() {
    let c = delivered_case();
    let w = crocus(&c);
    // Nobody checks in: one reminder, then the escalation (24-hour check-ins).
    let mut at = t(6, 10);
    while at < t(8, 12) {
        at += Duration::hours(1);
        c.engine.tick(at).unwrap();
    }
    let store = c.engine.store();
    let tasks: Vec<_> = store
        .tasks(false)
        .unwrap()
        .into_iter()
        .filter(|t| t.warning_id.as_ref() == Some(&w))
        .collect();
    assert_eq!(tasks.len(), 1, "{tasks:?}");
    assert_eq!(tasks[0].kind, TaskKind::CallContact);
    assert!(
        tasks[0].detail.contains("+7 495 000 00 00") && tasks[0].detail.contains("telephone"),
        "{}",
        tasks[0].detail
    );
    let notices: Vec<_> = store
        .deliveries(Some(&w))
        .unwrap()
        .into_iter()
        .filter_map(|d| d.notice)
        .collect();
    let kinds: Vec<&str> = notices.iter().map(|n| n.kind.as_str()).collect();
    assert!(
        kinds.contains(&"reminder") && kinds.contains(&"escalation"),
        "{kinds:?}"
    );
    let esc = notices
        .iter()
        .find(|n| n.kind.as_str() == "escalation")
        .unwrap();
    // The Crocus operator reads Russian: the notice says a person was asked to call, naming the
    // number, and claims no one was alerted.
    assert!(!esc.text.contains("оповещены"), "{}", esc.text);
    assert!(
        esc.text.contains("аналитику поручено позвонить") && esc.text.contains("+7 495 000 00 00"),
        "{}",
        esc.text
    );
    for n in &notices {
        let link = n.posture_url.as_deref().expect("posture link as a field");
        assert!(n.text.contains(link), "the field is the link in the text");
    }
}

#[test]
fn releasing_to_partners_and_the_public_needs_a_second_person() {
    let c = case_until_determination();
    c.engine
        .propose_determination(&c.tid, ANALYST, t(6, 9))
        .unwrap();
    c.engine
        .approve_determination(&c.tid, APPROVER, t(6, 9))
        .unwrap();
    let drafts = c.engine.compose_warnings(&c.tid, ANALYST, t(6, 9)).unwrap();
    let of = |kind: tocsin_core::AudienceKind| {
        drafts
            .iter()
            .find(|w| w.audience_kind == kind)
            .unwrap()
            .id
            .clone()
    };
    let partner = of(tocsin_core::AudienceKind::PartnerService);
    let public = of(tocsin_core::AudienceKind::Public);
    let operator = of(tocsin_core::AudienceKind::Operator);
    // The composer cannot release to a partner or the public…
    for w in [&partner, &public] {
        let e = c.engine.approve_warning(w, ANALYST, t(6, 9)).unwrap_err();
        assert!(
            matches!(e, EngineError::Duty(DutyError::SelfRelease { .. })),
            "{e}"
        );
        assert_eq!(
            c.engine.store().warning(w).unwrap().unwrap().state,
            WarningState::Draft
        );
    }
    // …an operator's warning is not under the rule by default.
    c.engine
        .approve_warning(&operator, ANALYST, t(6, 9))
        .unwrap();
    // An approver who edited the public draft became an author of it: a third person releases.
    let w = c.engine.store().warning(&public).unwrap().unwrap();
    c.engine
        .edit_draft(
            &public,
            &tocsin_store::review::DraftEdit {
                headline: w.headline.clone(),
                text: format!("{} Stay alert.", w.text),
                measures: w.measures.clone(),
            },
            APPROVER,
            t(6, 9),
        )
        .unwrap();
    assert!(c
        .engine
        .approve_warning(&public, APPROVER, t(6, 9))
        .is_err());
    c.engine
        .approve_warning(&public, "approver:c", t(6, 9))
        .unwrap();
    c.engine
        .approve_warning(&partner, APPROVER, t(6, 9))
        .unwrap();
    assert_eq!(
        c.engine.draft_authors(&public).unwrap(),
        vec![ANALYST.to_string(), APPROVER.to_string()]
    );
    // Each release is on the timeline, with who approved it.
    let approved: Vec<String> = c
        .engine
        .store()
        .timeline(Some(&c.tid))
        .unwrap()
        .into_iter()
        .filter(|e| e.event == "warning_approved")
        .map(|e| e.detail)
        .collect();
    assert_eq!(approved.len(), 3, "{approved:?}");
    assert!(approved
        .iter()
        .any(|d| d.contains("public") && d.contains("approved for release by approver:c")));
}

#[test]
fn a_retried_link_gets_the_same_answer_within_the_grace_and_get_says_spent_or_expired() {
    let c = delivered_case();
    let w = crocus(&c);
    let ack = link_in(&c, &w, "Подтвердить получение: ");
    let status = c.engine.link_status(&ack, t(6, 11)).unwrap();
    assert_eq!(status.state, "valid");
    let at = t(6, 11);
    let first = c.engine.acknowledge_via_link(&ack, at).unwrap();
    // The client timed out and sends the same request again: same answer, same next link.
    let again = c
        .engine
        .acknowledge_via_link(&ack, at + Duration::minutes(5))
        .unwrap();
    assert_eq!(again, first);
    assert!(first.next_posture_link.is_some());
    assert_eq!(
        c.engine.store().acknowledgements(Some(&w)).unwrap().len(),
        1,
        "recorded once"
    );
    let s = c
        .engine
        .link_status(&ack, at + Duration::minutes(5))
        .unwrap();
    assert_eq!((s.state, s.used_at), ("spent", Some(at)));
    assert_eq!(s.replay_until, Some(at + Duration::minutes(15)));
    // After the grace period: refused, and GET still says spent.
    let late = c
        .engine
        .acknowledge_via_link(&ack, at + Duration::minutes(16))
        .unwrap_err()
        .to_string();
    assert!(late.contains("already used"), "{late}");
    let s = c
        .engine
        .link_status(&ack, at + Duration::minutes(16))
        .unwrap();
    assert_eq!((s.state, s.replay_until), ("spent", None));
    // A posture link: the same report again is the same answer, another report is refused.
    let posture = first
        .next_posture_link
        .unwrap()
        .rsplit("/r/")
        .next()
        .unwrap()
        .to_owned();
    let report = |note: &str, at| {
        c.engine
            .posture_via_link(&posture, vec![Measure::StaffBriefed], note, at)
    };
    let p1 = report("briefed", t(6, 12)).unwrap();
    let p2 = report("briefed", t(6, 12) + Duration::minutes(1)).unwrap();
    assert_eq!(p1, p2);
    let other = report("something else", t(6, 12) + Duration::minutes(2))
        .unwrap_err()
        .to_string();
    assert!(other.contains("another request"), "{other}");
    assert_eq!(c.engine.store().posture_reports(Some(&w)).unwrap().len(), 1);
    // An unused link past its expiry says expired.
    let feedback = link_in(&c, &w, "Напишите нам: ");
    let s = c
        .engine
        .link_status(&feedback, t(6, 12) + Duration::days(400))
        .unwrap();
    assert_eq!(s.state, "expired");
    // A forged link is refused, not described.
    let mut forged = ack.clone();
    forged.insert(3, 'x');
    assert!(c.engine.link_status(&forged, t(6, 12)).is_err());
}

#[test]
fn a_vaguer_warning_says_which_marks_withhold_what_and_offers_a_release_request() {
    let c = case_until_determination();
    c.engine
        .propose_determination(&c.tid, ANALYST, t(6, 9))
        .unwrap();
    c.engine
        .approve_determination(&c.tid, APPROVER, t(6, 9))
        .unwrap();
    let drafts = c.engine.compose_warnings(&c.tid, ANALYST, t(6, 9)).unwrap();
    let op = crocus(&c);
    let op_draft = drafts.iter().find(|w| w.id == op).unwrap();
    assert_ne!(
        op_draft.specificity,
        tocsin_core::tracking::Specificity::NamedTarget
    );
    let advice = c.engine.specificity_advice(&op).unwrap();
    assert_eq!(advice.len(), 1, "{advice:?}");
    assert!(
        advice[0].contains("\"Crocus City Hall\"") && advice[0].contains("(S//REL TO USA, RUS)"),
        "{}",
        advice[0]
    );
    let timeline = c.engine.store().timeline(Some(&c.tid)).unwrap();
    let said = timeline
        .iter()
        .find(|e| e.event == "specificity_advice" && e.detail.contains("op-crocus"))
        .expect("the draft says why it is vague");
    assert!(said.detail.contains("release request"), "{}", said.detail);
    // The partner's warning names the target: nothing to advise or request.
    let fsb = drafts
        .iter()
        .find(|w| w.audience_kind == tocsin_core::AudienceKind::PartnerService)
        .unwrap();
    assert!(c.engine.specificity_advice(&fsb.id).unwrap().is_empty());
    assert!(c
        .engine
        .request_release(&fsb.id, ANALYST, t(6, 10))
        .is_err());
    // The analyst asks the originator: a recorded task with the marks and the audience.
    let id = c.engine.request_release(&op, ANALYST, t(6, 10)).unwrap();
    let task = c
        .engine
        .store()
        .tasks(true)
        .unwrap()
        .into_iter()
        .find(|t| t.id == id)
        .unwrap();
    assert_eq!(task.kind, TaskKind::ReleaseRequest);
    assert!(
        task.detail
            .starts_with("Ask USA for a tearline or a REL TO for audience op-crocus"),
        "{}",
        task.detail
    );
}
