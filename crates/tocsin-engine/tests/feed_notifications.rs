//! Feed notifications (audience `feed-org:…`) are delivered by the scheduler like any warning,
//! but never posture-tracked: no check-ins, reminders or `posture_escalation` tasks, days later.

use chrono::{Duration, TimeZone, Utc};
use std::sync::Arc;
use tocsin_core::lifecycle::WarningState;
use tocsin_core::marking::parse_mark;
use tocsin_core::tracking::{Specificity, Warning};
use tocsin_core::{
    AudienceId, AudienceKind, ChannelKind, ChannelSpec, CountryCode, Credibility, Harm, Portion,
    Threat, ThreatId, ThreatWindow, TlpLevel, WarningId,
};
use tocsin_engine::{Engine, EngineConfig};
use tocsin_store::feeds::FeedNotification;
use tocsin_store::{AuditCtx, Feeds, NewDelivery};
use tocsin_store_sqlite::SqliteStore;

#[test]
fn feed_notifications_are_delivered_but_never_posture_tracked() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open_in_memory().unwrap());
    let engine = Engine::open(store.clone(), EngineConfig::new(dir.path().join("outbox"))).unwrap();
    let now = Utc.with_ymd_and_hms(2026, 12, 3, 6, 0, 0).unwrap();
    let mark = parse_mark("(TLP:AMBER)").unwrap();
    let threat = Threat {
        id: ThreatId::new("feed-run1"),
        title: "Feed run".into(),
        originator: CountryCode::parse("DEU").unwrap(),
        received: now,
        actor: None,
        actor_mark: mark.clone(),
        harms: vec![Harm::DestructiveAttack],
        credibility: Credibility::Confirmed,
        window: ThreatWindow::imminent(now, 24),
        public_advice_hours: 0,
        targets: vec![],
        portions: vec![Portion {
            mark,
            text: "Exposed hosts.".into(),
            tearline: true,
            lang: None,
            line: 1,
        }],
        restricted_terms: vec![],
        tlp: Some(TlpLevel::Amber),
        measures: vec![],
    };
    let notification = |org: &str, audience: &str| {
        let audience = AudienceId::new(audience);
        FeedNotification::new(
            format!("scan_rdp:{org}"),
            tocsin_testkit::gated(
                Warning {
                    id: WarningId::new(format!("W-FEED-run1-{org}")),
                    threat_id: threat.id.clone(),
                    audience_id: audience.clone(),
                    audience_kind: AudienceKind::Operator,
                    version: 1,
                    supersedes: None,
                    tlp: TlpLevel::Amber,
                    banner: "TLP:AMBER".into(),
                    specificity: Specificity::NamedTarget,
                    headline: "3 security events in your networks (scan_rdp)".into(),
                    text: "…".into(),
                    measures: vec![],
                    valid: ThreatWindow::imminent(now, 24 * 7),
                    state: WarningState::Approved,
                    created_at: now - Duration::seconds(1),
                    language: "en".into(),
                    translations: Vec::new(),
                },
                &threat,
            ),
            vec![NewDelivery {
                audience_id: audience,
                channel: ChannelSpec {
                    kind: ChannelKind::File,
                    address: org.into(),
                },
                idempotency_key: format!("feed:run1:{org}"),
            }],
        )
        .unwrap()
    };
    // The control: the same notice to an ordinary operator audience is tracked.
    store
        .queue_feed_notifications(
            Some(&threat),
            &[
                notification("klinik", "feed-org:klinik"),
                notification("ops", "venue-ops"),
            ],
            &AuditCtx::new("test", now),
        )
        .unwrap();
    engine.tick(now + Duration::minutes(1)).unwrap();
    let state = |id: &str| store_warning(&engine, id).state;
    assert_eq!(state("W-FEED-run1-klinik"), WarningState::Delivered);
    for day in 1..=3 {
        engine.tick(now + Duration::days(day)).unwrap();
    }
    let tracked: Vec<String> = engine
        .store()
        .posture_tracks()
        .unwrap()
        .into_iter()
        .map(|(w, _)| w.to_string())
        .collect();
    assert_eq!(tracked, ["W-FEED-run1-ops"]);
    let escalations: Vec<String> = engine
        .tasks(false)
        .unwrap()
        .into_iter()
        .filter_map(|t| t.warning_id.map(|w| w.to_string()))
        .collect();
    assert!(
        !escalations.is_empty() && escalations.iter().all(|w| w == "W-FEED-run1-ops"),
        "only the ordinary warning is escalated: {escalations:?}"
    );
    let timeline = engine.store().timeline(None).unwrap();
    assert!(
        !timeline
            .iter()
            .any(|e| e.detail.contains("feed-org:klinik") && e.event.starts_with("posture")),
        "no posture entry for the feed notification"
    );
}

fn store_warning(engine: &Engine, id: &str) -> Warning {
    engine
        .store()
        .warning(&WarningId::new(id))
        .unwrap()
        .unwrap()
}
