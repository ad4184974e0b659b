//! Rough outbox throughput: `claim_deliveries` + `mark_delivered_batch` until the outbox is empty,
//! on SQLite (a file) and on PostgreSQL (a throwaway database on TOCSIN_TEST_PG), with one worker
//! and with several workers in separate stores (as separate processes would be).
//!
//! ```text
//! cargo run -p tocsin-store-postgres --example outbox_throughput [--release] -- [DELIVERIES] [BATCH] [WORKERS]
//! ```

use chrono::{Duration, TimeZone, Utc};
use std::sync::Arc;
use std::time::Instant;
use tocsin_core::lifecycle::WarningState;
use tocsin_core::tracking::{Specificity, Warning};
use tocsin_core::{
    AudienceId, AudienceKind, ChannelKind, ChannelSpec, ThreatId, ThreatWindow, TlpLevel, WarningId,
};
use tocsin_store::{AuditCtx, NewDelivery, Store};
use tocsin_store_postgres::testing::TempDb;
use tocsin_store_postgres::PgStore;
use tocsin_store_sqlite::SqliteStore;

fn fill(s: &dyn Store, n: usize) {
    let t0 = Utc.with_ymd_and_hms(2024, 3, 7, 12, 0, 0).unwrap();
    let ctx = AuditCtx::new("bench", t0);
    let window = ThreatWindow::new(t0, t0 + Duration::hours(48)).unwrap();
    let threat = tocsin_testkit::plain_threat("T1", window);
    s.insert_threat(&threat, &ctx).unwrap();
    for (w, chunk) in (0..n).collect::<Vec<_>>().chunks(1000).enumerate() {
        let warning = Warning {
            id: WarningId::new(format!("W{w}")),
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
            valid: window,
            state: WarningState::Approved,
            created_at: t0,
            language: "en".into(),
            translations: Vec::new(),
        };
        let warning = tocsin_testkit::gated(warning, &threat);
        s.insert_warning(&warning, &ctx).unwrap();
        let ds: Vec<NewDelivery> = chunk
            .iter()
            .map(|i| NewDelivery {
                audience_id: AudienceId::new(format!("r{i}")),
                channel: ChannelSpec {
                    kind: ChannelKind::Webhook,
                    address: format!("https://r{i}.example/hook"),
                },
                idempotency_key: format!("k{i}"),
            })
            .collect();
        s.queue_warning(&warning.id, &ds, &ctx).unwrap();
    }
}

/// Drain the outbox with `stores.len()` workers; deliveries per second.
fn drain(stores: Vec<Arc<dyn Store>>, batch: usize) -> (usize, f64) {
    let now = Utc.with_ymd_and_hms(2024, 3, 7, 13, 0, 0).unwrap();
    let started = Instant::now();
    let handles: Vec<_> = stores
        .into_iter()
        .enumerate()
        .map(|(i, s)| {
            std::thread::spawn(move || {
                let worker = format!("w{i}");
                let ctx = AuditCtx::new(worker.clone(), now);
                let mut n = 0;
                loop {
                    let ids: Vec<i64> = s
                        .claim_deliveries(now, &worker, Duration::minutes(5), batch, &ctx)
                        .unwrap()
                        .iter()
                        .map(|d| d.id)
                        .collect();
                    if ids.is_empty() {
                        return n;
                    }
                    n += s.mark_delivered_batch(&ids, &ctx).unwrap().len();
                }
            })
        })
        .collect();
    let n: usize = handles.into_iter().map(|h| h.join().unwrap()).sum();
    (n, n as f64 / started.elapsed().as_secs_f64())
}

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .map(|a| a.parse().expect("numbers: DELIVERIES BATCH WORKERS"))
        .collect();
    let n = args.first().copied().unwrap_or(5000);
    let batch = args.get(1).copied().unwrap_or(100);
    let workers = args.get(2).copied().unwrap_or(4);

    let dir = tempfile::tempdir().unwrap();
    for w in [1, workers] {
        let path = dir.path().join(format!("bench-{w}.db"));
        let s = SqliteStore::open(&path).unwrap();
        fill(&s, n);
        let stores: Vec<Arc<dyn Store>> = (0..w)
            .map(|_| Arc::new(SqliteStore::open(&path).unwrap()) as Arc<dyn Store>)
            .collect();
        let (done, rate) = drain(stores, batch);
        assert!(s.verify_audit().unwrap().is_ok());
        println!("sqlite     workers={w} deliveries={done} batch={batch}: {rate:.0} deliveries/s");
    }
    for w in [1, workers] {
        let db = TempDb::create().expect("PostgreSQL (TOCSIN_TEST_PG)");
        let s = PgStore::connect(db.url()).unwrap();
        fill(&s, n);
        let stores: Vec<Arc<dyn Store>> = (0..w)
            .map(|_| {
                Arc::new(PgStore::connect(&format!("{}?pool_size=2", db.url())).unwrap())
                    as Arc<dyn Store>
            })
            .collect();
        let (done, rate) = drain(stores, batch);
        assert!(s.verify_audit().unwrap().is_ok());
        println!("postgresql workers={w} deliveries={done} batch={batch}: {rate:.0} deliveries/s");
    }
}
