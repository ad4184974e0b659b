//! The reference case, "Moscow, March 2024" (docs/domain.md, "The reference case"), replayed on a simulated clock.
//!
//! The script supplies only what people outside Tocsin did (the report arriving, analysts
//! deciding, recipients answering, the attack). Everything else — the public hold, deliveries,
//! reminders, escalations, expiry — comes from the engine's rules as the clock advances hourly.

use crate::{Engine, Result};
use chrono::{Duration, TimeZone, Timelike, Utc};
use serde::Serialize;
use std::path::Path;
use tocsin_core::duty::Determination;
use tocsin_core::tracking::{Measure, OutcomeKind, TimelineEntry};
use tocsin_core::{ThreatId, Timestamp, WarningId};
use tocsin_store::AuditCtx;

pub const ANALYST: &str = "analyst:a.rivera";
pub const APPROVER: &str = "approver:j.chen";

#[derive(Debug, Clone, Serialize)]
pub struct MatchView {
    pub entity: String,
    pub entity_name: String,
    pub target: String,
    pub score: f64,
    pub reasons: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct WarningView {
    pub id: String,
    pub audience: String,
    pub audience_kind: String,
    pub tlp: String,
    pub banner: String,
    pub specificity: String,
    pub state: String,
    pub headline: String,
    pub text: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct DeliveryView {
    pub warning: String,
    /// `warning`, or the follow-up notice it carries: `reminder`, `escalation`.
    pub kind: String,
    pub audience: String,
    pub channel: String,
    pub address: String,
    pub status: String,
    pub attempts: u32,
    pub delivered_at: Option<Timestamp>,
    pub idempotency_key: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct TimelineView {
    pub at: Timestamp,
    pub event: String,
    pub detail: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct AuditView {
    pub count: usize,
    pub head_hash: String,
    pub verified: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct DemoReport {
    pub threat: String,
    pub matches: Vec<MatchView>,
    pub determination: Determination,
    pub warnings: Vec<WarningView>,
    pub deliveries: Vec<DeliveryView>,
    pub timeline: Vec<TimelineView>,
    pub audit: AuditView,
}

fn t(day: u32, hour: u32, min: u32) -> Timestamp {
    Utc.with_ymd_and_hms(2024, 3, day, hour, min, 0)
        .single()
        .expect("valid demo time")
}

enum Step {
    Acknowledge(&'static str),
    Posture(&'static str, Vec<Measure>, &'static str),
    Outcome,
}

/// Run the case over `engine` (a fresh store) with data from `examples` (examples/moscow-2024).
pub fn run(engine: &Engine, examples: &Path) -> Result<DemoReport> {
    engine.import_registry(examples, &AuditCtx::new("admin:import", t(6, 7, 0)))?;
    let threat = Engine::parse_report_file(&examples.join("report.txt"))?;
    let tid = threat.id.clone();

    // 6 March: the report arrives, is matched, the duty is determined and warnings composed.
    let received = threat.received;
    engine.ingest_threat(&threat, &AuditCtx::new(ANALYST, received))?;
    engine.compute_matches(
        &tid,
        &AuditCtx::new(ANALYST, received + Duration::minutes(5)),
    )?;
    engine.propose_determination(&tid, ANALYST, t(6, 8, 30))?;
    engine.approve_determination(&tid, APPROVER, t(6, 9, 0))?;
    let drafts = engine.compose_warnings(&tid, ANALYST, t(6, 9, 5))?;
    for w in &drafts {
        engine.approve_warning(&w.id, APPROVER, t(6, 9, 10))?;
    }

    let wid = |aud: &str| -> WarningId { WarningId::new(format!("{tid}.{aud}.v1")) };
    let mut script: Vec<(Timestamp, Step)> = vec![
        (t(6, 11, 0), Step::Acknowledge("fsb-liaison")),
        (
            t(7, 10, 0),
            Step::Posture(
                "fsb-liaison",
                vec![Measure::PoliceLiaison, Measure::Other("cell disrupted".into())],
                "An ISIS-K cell planning to attack a Moscow synagogue was stopped in the Kaluga region.",
            ),
        ),
        (t(8, 10, 0), Step::Acknowledge("op-crocus")),
        (
            t(9, 10, 0),
            Step::Posture(
                "op-crocus",
                vec![Measure::ExtraScreening, Measure::DetectionDogs, Measure::StaffBriefed, Measure::EvacuationRoutes],
                "Stricter entrance checks with dogs; staff briefed on what to do and where to take people.",
            ),
        ),
        (t(22, 17, 0), Step::Outcome),
    ];
    script.reverse();

    // The clock advances hourly to 23 March; scripted outside actions happen at their times.
    let mut now = t(6, 9, 10);
    let end = t(23, 0, 0);
    while now <= end {
        while script.last().is_some_and(|(at, _)| *at <= now) {
            let (at, step) = script.pop().expect("checked");
            match step {
                Step::Acknowledge(aud) => engine.acknowledge(&wid(aud), &format!("recipient:{aud}"), at)?,
                Step::Posture(aud, measures, note) => engine.report_posture(&wid(aud), &format!("recipient:{aud}"), measures, note, at)?,
                Step::Outcome => engine.record_outcome(
                    &tid,
                    OutcomeKind::AttackOccurred,
                    vec!["ISIS-K claim of responsibility, 22 March 2024".into()],
                    "Gunmen attacked Crocus City Hall during a sold-out Piknik concert; more than 140 killed, the building set on fire.",
                    ANALYST,
                    at,
                )?,
            }
        }
        engine.tick(now)?;
        now = (now + Duration::hours(1))
            .with_minute(0)
            .expect("minute 0 exists");
    }
    report(engine, &tid)
}

/// Collect the case's state from the store.
pub fn report(engine: &Engine, tid: &ThreatId) -> Result<DemoReport> {
    let store = engine.store();
    let threat = store
        .threat(tid)?
        .ok_or_else(|| crate::not_found("threat", tid))?;
    let mut matches = Vec::new();
    for m in store.matches(tid)? {
        let name = store
            .entity(&m.entity_id)?
            .map(|e| e.name)
            .unwrap_or_default();
        matches.push(MatchView {
            entity: m.entity_id.to_string(),
            entity_name: name,
            target: threat
                .targets
                .get(m.target)
                .map(|t| t.label.clone())
                .unwrap_or_default(),
            score: m.score,
            reasons: m
                .reasons
                .iter()
                .map(|r| format!("{}: {}", r.descriptor, r.detail))
                .collect(),
        });
    }
    let determination = store.determinations(tid)?.pop().ok_or_else(|| {
        crate::EngineError::Precondition(format!("threat {tid} has no determination"))
    })?;
    let warnings = store.warnings(Some(tid))?;
    let mut deliveries = Vec::new();
    for w in &warnings {
        for d in store.deliveries(Some(&w.id))? {
            deliveries.push(DeliveryView {
                warning: w.id.to_string(),
                kind: d
                    .notice
                    .as_ref()
                    .map_or("warning", |n| n.kind.as_str())
                    .into(),
                audience: d.audience_id.to_string(),
                channel: d.channel.kind.as_str().into(),
                address: d.channel.address.clone(),
                status: d.status.as_str().into(),
                attempts: d.attempts,
                delivered_at: d.delivered_at,
                idempotency_key: d.idempotency_key.clone(),
            });
        }
    }
    let warnings = warnings
        .into_iter()
        .map(|w| WarningView {
            id: w.id.to_string(),
            audience: w.audience_id.to_string(),
            audience_kind: w.audience_kind.as_str().into(),
            tlp: w.tlp.label().trim_start_matches("TLP:").into(),
            banner: w.banner,
            specificity: w.specificity.as_str().into(),
            state: w.state.as_str().into(),
            headline: w.headline,
            text: w.text,
        })
        .collect();
    let timeline = store
        .timeline(Some(tid))?
        .into_iter()
        .map(
            |TimelineEntry {
                 at, event, detail, ..
             }| TimelineView { at, event, detail },
        )
        .collect();
    let events = store.audit_events()?;
    let verified = store.verify_audit()?;
    Ok(DemoReport {
        threat: tid.to_string(),
        matches,
        determination,
        warnings,
        deliveries,
        timeline,
        audit: AuditView {
            count: events.len(),
            head_hash: verified
                .clone()
                .unwrap_or_else(|_| events.last().map(|e| e.hash.clone()).unwrap_or_default()),
            verified: verified.is_ok(),
        },
    })
}
