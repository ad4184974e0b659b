//! The leased outbox: claims, lease expiry, batched marks, unsubscribe, dead letters, retry.

use crate::record::actions;
use crate::{AuditCtx, NewDelivery, SqliteStore, Store, StoreError};
use chrono::{Duration, TimeZone, Utc};
use tocsin_core::lifecycle::WarningState;
use tocsin_core::tracking::{DeliveryStatus, Specificity, Warning};
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

/// A store with one queued warning and `n` webhook deliveries to `https://r<i>.example/hook`.
fn store_with(n: usize) -> (SqliteStore, Vec<i64>) {
    let s = SqliteStore::open_in_memory().unwrap();
    let ids = fill(&s, n);
    (s, ids)
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
fn a_claimed_delivery_is_not_claimed_again_until_its_lease_expires() {
    let (s, all) = store_with(3);
    let a = s.claim_deliveries(t(1), "A", Duration::minutes(5), 2, &ctx(1)).unwrap();
    assert_eq!(ids(&a), all[..2].to_vec(), "oldest first, limited");
    let b = s.claim_deliveries(t(2), "B", Duration::minutes(5), 10, &ctx(2)).unwrap();
    assert_eq!(ids(&b), vec![all[2]], "B gets only what A does not hold");
    assert!(s.claim_deliveries(t(3), "C", Duration::minutes(5), 10, &ctx(3)).unwrap().is_empty());
    // A dies: at its lease's end the deliveries are claimable again.
    let c = s.claim_deliveries(t(6), "C", Duration::minutes(5), 10, &ctx(6)).unwrap();
    assert_eq!(ids(&c), all[..2].to_vec());
    let events = s.audit_events().unwrap();
    let claims: Vec<_> = events.iter().filter(|e| e.action == actions::DELIVERY_CLAIM).collect();
    assert_eq!(claims.len(), 3, "one event per non-empty claim");
    assert_eq!(claims[0].subject, "deliveries:2");
    assert!(s.verify_audit().unwrap().is_ok());
}

#[test]
fn renewal_extends_only_the_holders_leases() {
    let (s, all) = store_with(2);
    s.claim_deliveries(t(0), "A", Duration::minutes(5), 1, &ctx(0)).unwrap();
    s.claim_deliveries(t(0), "B", Duration::minutes(5), 1, &ctx(0)).unwrap();
    assert_eq!(s.renew_leases(&all, "A", t(20), &ctx(4)).unwrap(), vec![all[0]]);
    // B's lease ran out at 5, A's holds until 20.
    assert_eq!(ids(&s.claim_deliveries(t(6), "C", Duration::minutes(5), 10, &ctx(6)).unwrap()), vec![all[1]]);
}

#[test]
fn batched_marks_skip_closed_deliveries_and_write_one_event() {
    let (s, all) = store_with(3);
    s.claim_deliveries(t(0), "A", Duration::minutes(5), 3, &ctx(0)).unwrap();
    s.mark_delivered(all[1], &ctx(1)).unwrap();
    let before = s.audit_events().unwrap().len();
    assert_eq!(s.mark_delivered_batch(&all, &ctx(2)).unwrap(), vec![all[0], all[2]]);
    let events = s.audit_events().unwrap();
    assert_eq!(events.len(), before + 1);
    let last = events.last().unwrap();
    assert_eq!((last.action.as_str(), last.subject.as_str()), (actions::DELIVERY_DELIVERED, "deliveries:2"));
    let ds = s.deliveries(None).unwrap();
    assert!(ds.iter().all(|d| d.status == DeliveryStatus::Delivered && d.attempts == 1));
    assert_eq!(ds[0].delivered_at, Some(t(2)));
    // Delivered ones are never claimed again, even with their (cleared) leases long gone.
    assert!(s.claim_deliveries(t(60), "B", Duration::minutes(5), 10, &ctx(60)).unwrap().is_empty());
    assert!(s.mark_delivered_batch(&[], &ctx(3)).unwrap().is_empty());
}

#[test]
fn only_the_lease_holder_records_a_failure() {
    let (s, all) = store_with(1);
    s.claim_deliveries(t(0), "A", Duration::minutes(5), 1, &ctx(0)).unwrap();
    s.claim_deliveries(t(6), "B", Duration::minutes(5), 1, &ctx(6)).unwrap();
    assert!(!s.fail_claimed(all[0], "A", "timeout", Some(t(10)), &ctx(7)).unwrap(), "A lost its lease");
    assert!(s.fail_claimed(all[0], "B", "HTTP 503", Some(t(10)), &ctx(7)).unwrap());
    let d = s.deliveries(None).unwrap().remove(0);
    assert_eq!((d.status, d.attempts, d.next_attempt_at, d.last_error.as_deref()), (DeliveryStatus::Retrying, 1, t(10), Some("HTTP 503")));
    assert!(s.claim_deliveries(t(9), "B", Duration::minutes(5), 1, &ctx(9)).unwrap().is_empty(), "not due before its retry time");
    assert_eq!(s.claim_deliveries(t(10), "B", Duration::minutes(5), 1, &ctx(10)).unwrap().len(), 1);
    assert!(s.fail_claimed(all[0], "B", "HTTP 500", None, &ctx(11)).unwrap());
    assert_eq!(ids(&s.dead_letters().unwrap()), all);
    assert_eq!(s.audit_events().unwrap().last().unwrap().action, actions::DELIVERY_DEAD);
}

#[test]
fn unsubscribe_disables_the_channel_and_new_deliveries_to_it_are_dead() {
    let (s, all) = store_with(2);
    s.claim_deliveries(t(0), "A", Duration::minutes(5), 1, &ctx(0)).unwrap();
    let dead = s.unsubscribe_channel(all[0], "HTTP 410 Gone", &ctx(1)).unwrap();
    assert_eq!(dead, vec![all[0]]);
    let disabled = s.disabled_channels().unwrap();
    assert_eq!(disabled.len(), 1);
    assert_eq!(disabled[0].channel.address, "https://r0.example/hook");
    assert_eq!((disabled[0].reason.as_str(), disabled[0].delivery_id, disabled[0].disabled_at), ("HTTP 410 Gone", Some(all[0]), t(1)));
    assert_eq!(s.dead_letters().unwrap()[0].last_error.as_deref(), Some("channel unsubscribed: HTTP 410 Gone"));

    // A second warning to the same two channels: the unsubscribed one is written dead at once.
    let mut w2 = s.warning(&WarningId::new("W1")).unwrap().unwrap();
    w2.id = WarningId::new("W2");
    w2.state = WarningState::Approved;
    s.insert_warning(&w2, &ctx(2)).unwrap();
    let nd = |i: usize| NewDelivery {
        audience_id: AudienceId::new(format!("r{i}")),
        channel: ChannelSpec { kind: ChannelKind::Webhook, address: format!("https://r{i}.example/hook") },
        idempotency_key: format!("w2-k{i}"),
    };
    let created = s.queue_warning(&w2.id, &[nd(0), nd(1)], &ctx(2)).unwrap();
    assert_eq!(created[0].status, DeliveryStatus::Dead);
    assert_eq!(created[0].last_error.as_deref(), Some("channel unsubscribed: HTTP 410 Gone"));
    assert_eq!(created[1].status, DeliveryStatus::Pending);
}

#[test]
fn unsubscribe_dead_letters_other_open_unleased_deliveries_to_the_channel() {
    let (s, _) = store_with(0);
    let mut w2 = s.warning(&WarningId::new("W1")).unwrap().unwrap();
    w2.id = WarningId::new("W2");
    w2.state = WarningState::Approved;
    s.insert_warning(&w2, &ctx(0)).unwrap();
    let same = |k: &str| NewDelivery {
        audience_id: AudienceId::new("r"),
        channel: ChannelSpec { kind: ChannelKind::Webhook, address: "https://same.example".into() },
        idempotency_key: k.into(),
    };
    let ds = s.queue_warning(&w2.id, &[same("a"), same("b"), same("c")], &ctx(0)).unwrap();
    s.claim_deliveries(t(0), "A", Duration::minutes(5), 1, &ctx(0)).unwrap(); // a
    s.claim_deliveries(t(0), "B", Duration::minutes(5), 1, &ctx(0)).unwrap(); // b (in flight elsewhere)
    assert_eq!(s.unsubscribe_channel(ds[0].id, "gone", &ctx(1)).unwrap(), vec![ds[0].id, ds[2].id]);
    let open: Vec<_> = s.deliveries(None).unwrap().into_iter().filter(|d| d.status != DeliveryStatus::Dead).collect();
    assert_eq!(ids(&open), vec![ds[1].id], "B's leased delivery is left to B");
}

#[test]
fn retry_revives_a_dead_delivery_and_enables_its_channel() {
    let (s, all) = store_with(1);
    match s.retry_delivery(all[0], &ctx(0)) {
        Err(StoreError::InvalidState { state, .. }) => assert_eq!(state, "pending"),
        other => panic!("only a dead delivery can be retried, got {other:?}"),
    }
    s.claim_deliveries(t(0), "A", Duration::minutes(5), 1, &ctx(0)).unwrap();
    s.unsubscribe_channel(all[0], "gone", &ctx(1)).unwrap();
    let d = s.retry_delivery(all[0], &AuditCtx::new("analyst", t(30))).unwrap();
    assert_eq!((d.status, d.attempts, d.next_attempt_at), (DeliveryStatus::Pending, 0, t(30)));
    assert!(s.disabled_channels().unwrap().is_empty());
    assert!(s.dead_letters().unwrap().is_empty());
    assert_eq!(ids(&s.claim_deliveries(t(30), "A", Duration::minutes(5), 1, &ctx(30)).unwrap()), all);
    assert!(matches!(s.retry_delivery(999, &ctx(31)), Err(StoreError::NotFound { .. })));
    assert!(s.verify_audit().unwrap().is_ok());
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
