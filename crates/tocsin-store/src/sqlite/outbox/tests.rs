//! The leased outbox on a file: leases survive the process. The backend-independent outbox tests
//! are in crate::conformance.

use crate::{AuditCtx, NewDelivery, SqliteStore, Store};
use chrono::{Duration, TimeZone, Utc};
use tocsin_core::lifecycle::WarningState;
use tocsin_core::tracking::{Specificity, Warning};
use tocsin_core::{
    AudienceId, AudienceKind, ChannelKind, ChannelSpec, CountryCode, Credibility, Harm, Portion, PortionMark, Threat, ThreatId, ThreatWindow, Timestamp,
    TlpLevel, WarningId,
};

fn t(min: i64) -> Timestamp {
    Utc.with_ymd_and_hms(2024, 3, 7, 12, 0, 0).unwrap() + Duration::minutes(min)
}

fn ctx(min: i64) -> AuditCtx {
    AuditCtx::new("worker:test", t(min))
}

fn fill(s: &SqliteStore, n: usize) -> Vec<i64> {
    let threat = Threat {
        id: ThreatId::new("T1"),
        title: "t".into(),
        originator: CountryCode::parse("USA").unwrap(),
        received: t(0),
        actor: None,
        actor_mark: PortionMark::unclassified(),
        harms: vec![Harm::Killing],
        credibility: Credibility::Probable,
        window: ThreatWindow::new(t(0), t(60 * 48)).unwrap(),
        public_advice_hours: 48,
        targets: vec![],
        portions: vec![Portion { mark: PortionMark::unclassified(), text: "x".into(), tearline: true, line: 1 }],
        restricted_terms: vec![],
        tlp: None,
        measures: vec![],
    };
    s.insert_threat(&threat, &ctx(0)).unwrap();
    let w = Warning {
        id: WarningId::new("W1"),
        threat_id: ThreatId::new("T1"),
        audience_id: AudienceId::new("ops"),
        audience_kind: AudienceKind::Operator,
        version: 1,
        supersedes: None,
        tlp: TlpLevel::Amber,
        banner: "UNCLASSIFIED".into(),
        specificity: Specificity::NamedTarget,
        headline: "h".into(),
        text: "x".into(),
        measures: vec![],
        valid: ThreatWindow::new(t(0), t(60 * 48)).unwrap(),
        state: WarningState::Approved,
        created_at: t(0),
    };
    s.insert_warning(&w, &ctx(0)).unwrap();
    let ds: Vec<NewDelivery> = (0..n)
        .map(|i| NewDelivery {
            audience_id: AudienceId::new(format!("r{i}")),
            channel: ChannelSpec { kind: ChannelKind::Webhook, address: format!("https://r{i}.example/hook") },
            idempotency_key: format!("k{i}"),
        })
        .collect();
    s.queue_warning(&w.id, &ds, &ctx(0)).unwrap().into_iter().map(|d| d.id).collect()
}

fn ids(ds: &[tocsin_core::tracking::Delivery]) -> Vec<i64> {
    ds.iter().map(|d| d.id).collect()
}

#[test]
fn a_file_store_carries_the_lease_columns_and_reopening_keeps_claims() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    let s = SqliteStore::open(&path).unwrap();
    let cols: Vec<String> = s
        .lock()
        .prepare("SELECT name FROM pragma_table_info('deliveries')")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    for c in ["lease_owner", "lease_until", "claims"] {
        assert!(cols.iter().any(|x| x == c), "{c} missing: {cols:?}");
    }
    let all = fill(&s, 2);
    s.claim_deliveries(t(0), "A", Duration::minutes(5), 1, &ctx(0)).unwrap();
    drop(s); // worker A's process dies
    let s = SqliteStore::open(&path).unwrap();
    assert_eq!(ids(&s.claim_deliveries(t(1), "B", Duration::minutes(30), 10, &ctx(1)).unwrap()), vec![all[1]], "A's lease is on disk");
    assert_eq!(ids(&s.claim_deliveries(t(6), "B", Duration::minutes(5), 10, &ctx(6)).unwrap()), vec![all[0]], "and expires");
}
