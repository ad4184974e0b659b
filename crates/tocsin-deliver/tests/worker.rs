//! The outbox worker against a real SQLite store and the reference receiver on 127.0.0.1.

use chrono::{Duration, TimeZone, Utc};
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use tocsin_core::lifecycle::WarningState;
use tocsin_core::tracking::{Delivery, DeliveryStatus, Specificity, Warning};
use tocsin_core::{
    AudienceId, AudienceKind, ChannelKind, ChannelSpec, ThreatId, ThreatWindow, Timestamp,
    TlpLevel, WarningId,
};
use tocsin_deliver::receiver::{Answer, Receiver};
use tocsin_deliver::{
    Channel, ChannelLimits, OutboxWorker, RetryPolicy, SendError, WebhookChannel, WebhookConfig,
    WebhookKeys, WebhookSecret, WorkerConfig,
};
use tocsin_store::{AuditCtx, NewDelivery, Store};
use tocsin_store_sqlite::SqliteStore;

fn t(sec: i64) -> Timestamp {
    Utc.with_ymd_and_hms(2024, 3, 7, 12, 0, 0).unwrap() + Duration::seconds(sec)
}

fn warning(id: &str) -> Warning {
    Warning {
        id: WarningId::new(id),
        threat_id: ThreatId::new("T1"),
        audience_id: AudienceId::new("ops"),
        audience_kind: AudienceKind::Operator,
        version: 1,
        supersedes: None,
        tlp: TlpLevel::Amber,
        banner: "UNCLASSIFIED".into(),
        specificity: Specificity::NamedTarget,
        headline: "Attack planned on concerts".into(),
        text: "Extremists plan to attack concerts.".into(),
        measures: vec!["Screen visitors".into()],
        valid: ThreatWindow::new(t(0), t(3600 * 48)).unwrap(),
        state: WarningState::Approved,
        created_at: t(0),
        language: "en".into(),
        translations: Vec::new(),
    }
}

/// A store with warning W1 queued to the given (kind, address) channels.
fn store_with(channels: &[(ChannelKind, String)]) -> (SqliteStore, Vec<Delivery>) {
    let s = SqliteStore::open_in_memory().unwrap();
    let ctx = AuditCtx::new("test", t(0));
    let threat = tocsin_testkit::plain_threat("T1", ThreatWindow::new(t(0), t(3600 * 48)).unwrap());
    s.insert_threat(&threat, &ctx).unwrap();
    s.insert_warning(&tocsin_testkit::gated(warning("W1"), &threat), &ctx)
        .unwrap();
    let nd: Vec<NewDelivery> = channels
        .iter()
        .enumerate()
        .map(|(i, (kind, address))| NewDelivery {
            audience_id: AudienceId::new(format!("r{i}")),
            channel: ChannelSpec {
                kind: *kind,
                address: address.clone(),
            },
            idempotency_key: format!("key-{i:05}"),
        })
        .collect();
    let ds = s.queue_warning(&WarningId::new("W1"), &nd, &ctx).unwrap();
    (s, ds)
}

fn webhook_worker(secrets: Vec<WebhookSecret>, config: WorkerConfig) -> OutboxWorker {
    webhook_worker_to(secrets, config, true)
}

/// The test receivers listen on 127.0.0.1: reaching them needs the operator's allowance.
fn webhook_worker_to(
    secrets: Vec<WebhookSecret>,
    config: WorkerConfig,
    allow_private: bool,
) -> OutboxWorker {
    let ch = WebhookChannel::new(WebhookConfig {
        keys: WebhookKeys::with_default(secrets),
        ack_url: Some("https://tocsin.example/ack/{warning}?k={key}".into()),
        destinations: tocsin_deliver::Destinations {
            allow_private,
            ..Default::default()
        },
        ..Default::default()
    });
    OutboxWorker::with_config(vec![Box::new(ch)], config)
}

/// A webhook to a loopback address is refused after resolution (dead at once, the receiver never
/// reached) unless the operator allows private destinations.
#[test]
fn a_webhook_to_a_private_address_is_refused_unless_allowed() {
    let secret = WebhookSecret::generate();
    let rx = Receiver::start(vec![secret.clone()]).unwrap();
    for url in [rx.url("/x"), rx.url("/x").replace("127.0.0.1", "localhost")] {
        let (s, ds) = store_with(&[(ChannelKind::Webhook, url.clone())]);
        let worker = webhook_worker_to(vec![secret.clone()], WorkerConfig::default(), false);
        assert_eq!(
            worker.run_once(&s, t(0), 10).unwrap().dead,
            vec![ds[0].id],
            "{url}"
        );
        let err = status_of(&s, ds[0].id).last_error.unwrap();
        assert!(
            err.contains("loopback") && err.contains("--allow-private-webhooks"),
            "{err}"
        );
    }
    assert_eq!(rx.received().requests, 0);
    let (s, ds) = store_with(&[(ChannelKind::Webhook, rx.url("/x"))]);
    let worker = webhook_worker_to(vec![secret], WorkerConfig::default(), true);
    assert_eq!(
        worker.run_once(&s, t(0), 10).unwrap().delivered,
        vec![ds[0].id]
    );
}

fn status_of(s: &SqliteStore, id: i64) -> Delivery {
    s.deliveries(None)
        .unwrap()
        .into_iter()
        .find(|d| d.id == id)
        .unwrap()
}

#[test]
fn signed_webhooks_reach_every_recipient_once_and_verify() {
    let secret = WebhookSecret::generate();
    let rx = Receiver::start(vec![secret.clone()]).unwrap();
    rx.keep_bodies(true);
    let urls: Vec<(ChannelKind, String)> = (0..40)
        .map(|i| (ChannelKind::Webhook, rx.url(&format!("/r/{i}"))))
        .collect();
    let (s, ds) = store_with(&urls);
    let worker = webhook_worker(
        vec![secret],
        WorkerConfig {
            max_in_flight: 8,
            ..Default::default()
        },
    );
    let report = worker.run_once(&s, t(1), 1000).unwrap();
    assert_eq!(report.delivered.len(), 40, "{report:?}");
    let got = rx.received();
    assert!(got.invalid.is_empty(), "{:?}", got.invalid);
    assert_eq!(got.verified, 40);
    assert_eq!(got.duplicates(), 0);
    for d in &ds {
        assert_eq!(
            got.ids.get(&d.idempotency_key),
            Some(&1),
            "webhook-id is the idempotency key"
        );
    }
    let body: serde_json::Value = serde_json::from_slice(&got.last_body["/r/3"]).unwrap();
    assert_eq!(body["type"], "warning.issued");
    assert_eq!(body["data"]["reference"], "W1");
    assert_eq!(
        body["data"]["ack_url"],
        "https://tocsin.example/ack/W1?k=key-00003"
    );
    assert!(s
        .deliveries(None)
        .unwrap()
        .iter()
        .all(|d| d.status == DeliveryStatus::Delivered && d.attempts == 1));
    // Nothing left: a second pass claims nothing and sends nothing.
    assert_eq!(worker.run_once(&s, t(2), 1000).unwrap(), Default::default());
    assert_eq!(rx.received().requests, 40);
    assert!(s.verify_audit().unwrap().is_ok());
}

#[test]
fn claims_take_a_batch_beyond_the_senders_and_every_delivery_goes_once() {
    let secret = WebhookSecret::generate();
    let rx = Receiver::start_counting(vec![secret.clone()]).unwrap();
    let urls: Vec<(ChannelKind, String)> = (0..300)
        .map(|i| (ChannelKind::Webhook, rx.url(&format!("/r/{i}"))))
        .collect();
    let (s, _) = store_with(&urls);
    let worker = webhook_worker(
        vec![secret],
        WorkerConfig {
            max_in_flight: 8,
            claim_batch: 100,
            record_batch: 8,
            ..Default::default()
        },
    );
    let report = worker.run_once(&s, t(1), 1000).unwrap();
    assert_eq!(report.delivered.len(), 300, "{report:?}");
    let got = rx.received();
    assert!(got.invalid.is_empty(), "{:?}", got.invalid);
    assert_eq!((got.verified, got.duplicates()), (300, 0));
    let events = s.audit_events().unwrap();
    let claims = events
        .iter()
        .filter(|e| e.action == tocsin_store::actions::DELIVERY_CLAIM)
        .count();
    // Claims of max_in_flight would take 38; an empty claim writes no event.
    assert_eq!(claims, 3, "300 deliveries in claims of 100");
    assert!(s
        .deliveries(None)
        .unwrap()
        .iter()
        .all(|d| d.status == DeliveryStatus::Delivered && d.attempts == 1));
    assert!(s.verify_audit().unwrap().is_ok());
}

#[test]
fn a_receiver_with_another_secret_refuses_and_the_delivery_retries() {
    let rx = Receiver::start(vec![WebhookSecret::generate()]).unwrap();
    let (s, ds) = store_with(&[(ChannelKind::Webhook, rx.url("/x"))]);
    let worker = webhook_worker(vec![WebhookSecret::generate()], WorkerConfig::default());
    let report = worker.run_once(&s, t(1), 10).unwrap();
    assert_eq!(report.retrying, vec![ds[0].id]);
    assert_eq!(rx.received().invalid.len(), 1);
    assert!(status_of(&s, ds[0].id).last_error.unwrap().contains("401"));
}

#[test]
fn errors_retry_with_backoff_honour_retry_after_then_deliver() {
    let secret = WebhookSecret::generate();
    let rx = Receiver::start(vec![secret.clone()]).unwrap();
    rx.script(
        "/flaky",
        vec![
            Answer::status(503),
            Answer {
                status: 429,
                retry_after: Some("120".into()),
            },
        ],
    );
    let (s, ds) = store_with(&[(ChannelKind::Webhook, rx.url("/flaky"))]);
    let retry = RetryPolicy {
        base: Duration::seconds(10),
        jitter: 0.0,
        ..Default::default()
    };
    let worker = webhook_worker(
        vec![secret],
        WorkerConfig {
            retry,
            ..Default::default()
        },
    );
    let id = ds[0].id;

    assert_eq!(worker.run_once(&s, t(0), 10).unwrap().retrying, vec![id]);
    let d = status_of(&s, id);
    assert_eq!(
        (d.status, d.attempts, d.next_attempt_at),
        (DeliveryStatus::Retrying, 1, t(10)),
        "{:?}",
        d.last_error
    );
    assert!(d.last_error.unwrap().contains("503"));
    assert_eq!(
        worker.run_once(&s, t(9), 10).unwrap(),
        Default::default(),
        "not due yet"
    );

    assert_eq!(worker.run_once(&s, t(10), 10).unwrap().retrying, vec![id]);
    let d = status_of(&s, id);
    assert_eq!(
        (d.attempts, d.next_attempt_at),
        (2, t(130)),
        "Retry-After: 120 wins over the 20 s backoff"
    );

    assert_eq!(worker.run_once(&s, t(130), 10).unwrap().delivered, vec![id]);
    assert_eq!(
        rx.received().ids["key-00000"],
        3,
        "same webhook-id on every attempt"
    );
}

#[test]
fn gone_unsubscribes_the_channel_and_dead_letters_its_deliveries() {
    let secret = WebhookSecret::generate();
    let rx = Receiver::start(vec![secret.clone()]).unwrap();
    rx.script("/gone", vec![Answer::status(410)]);
    let (s, ds) = store_with(&[
        (ChannelKind::Webhook, rx.url("/gone")),
        (ChannelKind::Webhook, rx.url("/ok")),
    ]);
    let worker = webhook_worker(
        vec![secret],
        WorkerConfig {
            max_in_flight: 1,
            ..Default::default()
        },
    );
    let report = worker.run_once(&s, t(0), 10).unwrap();
    assert_eq!(
        (report.dead, report.delivered),
        (vec![ds[0].id], vec![ds[1].id])
    );
    let dead = s.dead_letters().unwrap();
    assert_eq!(dead.len(), 1);
    assert!(
        dead[0].last_error.as_deref().unwrap().contains("410"),
        "{:?}",
        dead[0].last_error
    );
    assert_eq!(
        s.disabled_channels().unwrap()[0].channel.address,
        rx.url("/gone")
    );
}

/// An e-mail channel whose server is always down.
struct DownChannel;

impl Channel for DownChannel {
    fn kind(&self) -> ChannelKind {
        ChannelKind::Email
    }
    fn send(&self, d: &Delivery, _: &Warning) -> Result<(), SendError> {
        Err(SendError::Transport {
            channel: "email",
            address: d.channel.address.clone(),
            reason: "connection refused".into(),
        })
    }
}

#[test]
fn after_max_attempts_a_delivery_is_dead_and_visible() {
    // The SMTP server never answers: every attempt fails, then the dead letters.
    let (s, ds) = store_with(&[(ChannelKind::Email, "security@crocus.example".into())]);
    let retry = RetryPolicy {
        base: Duration::seconds(1),
        max_attempts: 3,
        jitter: 0.0,
        ..Default::default()
    };
    let worker = OutboxWorker::with_config(
        vec![Box::new(DownChannel)],
        WorkerConfig {
            retry,
            ..Default::default()
        },
    );
    let mut now = t(0);
    let mut dead = Vec::new();
    for _ in 0..3 {
        let r = worker.run_once(&s, now, 10).unwrap();
        dead.extend(r.dead);
        now += Duration::seconds(10);
    }
    assert_eq!(dead, vec![ds[0].id]);
    let d = &s.dead_letters().unwrap()[0];
    assert_eq!((d.status, d.attempts), (DeliveryStatus::Dead, 3));
    assert!(d
        .last_error
        .as_deref()
        .unwrap()
        .contains("connection refused"));
    // An analyst retries it: it is claimable again.
    s.retry_delivery(d.id, &AuditCtx::new("analyst", now))
        .unwrap();
    assert_eq!(worker.run_once(&s, now, 10).unwrap().retrying, vec![d.id]);
}

#[test]
fn a_worker_claims_no_channel_it_cannot_send_and_leaves_it_for_one_that_can() {
    // One webhook, one e-mail; this worker has neither a signing secret nor SMTP.
    let secret = WebhookSecret::generate();
    let rx = Receiver::start(vec![secret.clone()]).unwrap();
    let (s, ds) = store_with(&[
        (ChannelKind::Webhook, rx.url("/x")),
        (ChannelKind::Email, "security@crocus.example".into()),
    ]);
    let bare = webhook_worker(vec![], WorkerConfig::default());
    for i in 0..5 {
        let r = bare.run_once(&s, t(i * 100), 10).unwrap();
        assert_eq!(r, Default::default(), "nothing claimed, nothing tried");
    }
    assert_eq!(rx.received().requests, 0);
    for d in &ds {
        let d = status_of(&s, d.id);
        assert_eq!(d.status, DeliveryStatus::Pending);
        assert_eq!(d.attempts, 0, "no attempt spent");
        assert!(
            d.last_error.is_none(),
            "no error written: {:?}",
            d.last_error
        );
    }
    // A secret for another URL only does not make this one sendable either.
    let mut keys = WebhookKeys::default();
    keys.set("https://elsewhere.example/hook", vec![secret.clone()]);
    let other = OutboxWorker::with_config(
        vec![Box::new(WebhookChannel::new(WebhookConfig {
            keys,
            ..Default::default()
        }))],
        WorkerConfig::default(),
    );
    assert!(other.run_once(&s, t(600), 10).unwrap().delivered.is_empty());
    // A process with the secret sends the webhook on its first attempt; the e-mail still waits.
    let able = webhook_worker(vec![secret], WorkerConfig::default());
    let r = able.run_once(&s, t(700), 10).unwrap();
    assert_eq!(r.delivered, vec![ds[0].id]);
    assert_eq!(status_of(&s, ds[0].id).attempts, 1);
    assert!(status_of(&s, ds[0].id).last_error.is_none());
    assert_eq!(status_of(&s, ds[1].id).status, DeliveryStatus::Pending);
}

/// A channel that records how many sends run at once.
struct Gauge {
    now: AtomicUsize,
    peak: AtomicUsize,
    total: AtomicUsize,
}

struct GaugeChannel(Arc<Gauge>);

impl Channel for GaugeChannel {
    fn kind(&self) -> ChannelKind {
        ChannelKind::File
    }
    fn send(&self, _: &Delivery, _: &Warning) -> Result<(), SendError> {
        let n = self.0.now.fetch_add(1, Ordering::SeqCst) + 1;
        self.0.peak.fetch_max(n, Ordering::SeqCst);
        std::thread::sleep(std::time::Duration::from_millis(5));
        self.0.now.fetch_sub(1, Ordering::SeqCst);
        self.0.total.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}

#[test]
fn per_channel_concurrency_and_rate_limits_hold() {
    let files: Vec<(ChannelKind, String)> = (0..75)
        .map(|i| (ChannelKind::File, format!("d{i}")))
        .collect();
    let (s, _) = store_with(&files);
    let gauge = Arc::new(Gauge {
        now: AtomicUsize::new(0),
        peak: AtomicUsize::new(0),
        total: AtomicUsize::new(0),
    });
    let limits = HashMap::from([(
        ChannelKind::File,
        ChannelLimits {
            concurrency: 3,
            per_second: Some(100.0),
        },
    )]);
    let worker = OutboxWorker::with_config(
        vec![Box::new(GaugeChannel(Arc::clone(&gauge)))],
        WorkerConfig {
            max_in_flight: 16,
            limits,
            ..Default::default()
        },
    );
    let started = std::time::Instant::now();
    let report = worker.run_once(&s, t(0), 1000).unwrap();
    assert_eq!(report.delivered.len(), 75);
    assert_eq!(gauge.total.load(Ordering::SeqCst), 75);
    assert!(
        gauge.peak.load(Ordering::SeqCst) <= 3,
        "peak concurrency {}",
        gauge.peak.load(Ordering::SeqCst)
    );
    // A one-second burst of 100 would allow all 75 at once; with 3 at a time of 5 ms each the
    // concurrency limit alone makes it take at least 25 rounds.
    assert!(started.elapsed() >= std::time::Duration::from_millis(125));

    let more: Vec<(ChannelKind, String)> = (0..30)
        .map(|i| (ChannelKind::File, format!("e{i}")))
        .collect();
    let (s2, _) = store_with(&more);
    let limits = HashMap::from([(
        ChannelKind::File,
        ChannelLimits {
            concurrency: 16,
            per_second: Some(20.0),
        },
    )]);
    let worker = OutboxWorker::with_config(
        vec![Box::new(GaugeChannel(Arc::clone(&gauge)))],
        WorkerConfig {
            max_in_flight: 16,
            limits,
            ..Default::default()
        },
    );
    let started = std::time::Instant::now();
    assert_eq!(
        worker.run_once(&s2, t(0), 1000).unwrap().delivered.len(),
        30
    );
    // Burst of 20, then 10 more at 20/s: at least half a second.
    assert!(
        started.elapsed() >= std::time::Duration::from_millis(450),
        "{:?}",
        started.elapsed()
    );
}
