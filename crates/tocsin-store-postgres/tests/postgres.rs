//! What only PostgreSQL does: several stores ("processes") on one database, the sync bridge inside
//! tokio, concurrent migration, copying from and to SQLite, leadership and registry notification.

mod common;

use chrono::{Duration, TimeZone, Utc};
use common::Pg;
use std::collections::HashSet;
use std::sync::{Arc, Barrier};
use tocsin_core::entity::{Category, EntityKind};
use tocsin_core::tracking::DeliveryStatus;
use tocsin_core::{Entity, EntityId, Timestamp};
use tocsin_store::conformance::{copy_store, dump_all, fill_busy, fill_more};
use tocsin_store::migrations::MIGRATIONS;
use tocsin_store::{Accounts, AuditCtx, Coordination, Dump, Review, Store, StoreError};
use tocsin_store_postgres::testing::TempDb;
use tocsin_store_postgres::PgStore;
use tocsin_store_sqlite::SqliteStore;

fn t(min: i64) -> Timestamp {
    Utc.with_ymd_and_hms(2024, 3, 7, 12, 0, 0).unwrap() + Duration::minutes(min)
}

fn ctx(min: i64) -> AuditCtx {
    AuditCtx::new("test", t(min))
}

fn entity(id: &str) -> Entity {
    Entity {
        id: EntityId::new(id),
        kind: EntityKind::Venue,
        name: id.into(),
        aliases: vec![],
        category: Category::parse("venue/entertainment/concert_hall").unwrap(),
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

/// One approved-then-queued warning with `n` deliveries; their ids.
fn queue(s: &dyn Store, n: usize) -> Vec<i64> {
    tocsin_store::conformance::fill(s, n)
}

// ---- Several workers, several processes -----------------------------------------------------

#[test]
fn workers_in_several_processes_never_claim_the_same_delivery() {
    let pg = Pg::new();
    let all = queue(&pg.store, 240);
    let stores: Vec<Arc<PgStore>> = (0..4).map(|_| Arc::new(pg.another())).collect();
    let start = Arc::new(Barrier::new(stores.len() * 2));
    let handles: Vec<_> = stores
        .iter()
        .enumerate()
        .flat_map(|(p, s)| (0..2).map(move |th| (format!("p{p}-t{th}"), Arc::clone(s))))
        .map(|(worker, s)| {
            let start = Arc::clone(&start);
            std::thread::spawn(move || {
                start.wait();
                let mut mine = Vec::new();
                loop {
                    let got = s
                        .claim_deliveries(
                            t(1),
                            &worker,
                            Duration::minutes(5),
                            7,
                            &AuditCtx::new(worker.clone(), t(1)),
                        )
                        .unwrap();
                    if got.is_empty() {
                        break;
                    }
                    let ids: Vec<i64> = got.iter().map(|d| d.id).collect();
                    assert!(got.iter().all(|d| d.status == DeliveryStatus::Pending));
                    assert_eq!(
                        s.mark_delivered_batch(&ids, &AuditCtx::new(worker.clone(), t(2)))
                            .unwrap(),
                        ids,
                        "{worker} holds what it claimed"
                    );
                    mine.extend(ids);
                }
                mine
            })
        })
        .collect();
    let mut seen = HashSet::new();
    let mut total = 0;
    for h in handles {
        for id in h.join().unwrap() {
            assert!(seen.insert(id), "delivery {id} was claimed twice");
            total += 1;
        }
    }
    assert_eq!(total, all.len());
    assert_eq!(seen, all.iter().copied().collect::<HashSet<_>>());
    assert!(pg
        .store
        .deliveries(None)
        .unwrap()
        .iter()
        .all(|d| d.status == DeliveryStatus::Delivered && d.attempts == 1));
    let events = pg.store.audit_events().unwrap();
    assert!(
        events
            .iter()
            .enumerate()
            .all(|(i, e)| e.seq == i as u64 + 1),
        "seq has no gaps"
    );
    assert!(
        pg.store.verify_audit().unwrap().is_ok(),
        "one chain, never forked"
    );
}

#[test]
fn an_upsert_batch_naming_an_entity_twice_keeps_its_last_version() {
    // The batch is one INSERT … ON CONFLICT, which may not touch a row twice: the store must
    // collapse repeats itself, keeping the last one as row-by-row upserts did.
    let pg = Pg::new();
    let mut second = entity("a");
    second.name = "a, renamed".into();
    pg.store
        .upsert_entities(&[entity("a"), entity("b"), second.clone()], &ctx(0))
        .unwrap();
    let stored = pg.store.entities().unwrap();
    assert_eq!(stored.len(), 2);
    assert_eq!(
        pg.store.entity(&EntityId::new("a")).unwrap().unwrap().name,
        "a, renamed"
    );
    // Every change is still recorded, in input order: the last one names "a".
    assert_eq!(
        pg.store.registry_changes_since(0).unwrap(),
        (3, vec![EntityId::new("b"), EntityId::new("a")])
    );
    assert_eq!(pg.store.audit_events().unwrap().len(), 1);
}

#[test]
fn concurrent_writers_in_several_processes_keep_one_chain() {
    let pg = Pg::new();
    let start = Arc::new(Barrier::new(4));
    let handles: Vec<_> = (0..4)
        .map(|n| {
            let s = pg.another();
            let start = Arc::clone(&start);
            std::thread::spawn(move || {
                start.wait();
                for i in 0..25 {
                    s.upsert_entities(
                        &[entity(&format!("e{n}-{i}"))],
                        &AuditCtx::new(format!("w{n}"), t(0)),
                    )
                    .unwrap();
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    let events = pg.store.audit_events().unwrap();
    assert_eq!(events.len(), 100);
    assert!(pg.store.verify_audit().unwrap().is_ok());
    assert_eq!(pg.store.entities().unwrap().len(), 100);
    assert_eq!(pg.store.registry_change_head().unwrap(), 100);
}

#[test]
fn a_claim_skips_rows_another_transaction_holds_instead_of_waiting() {
    let pg = Pg::new();
    let all = queue(&pg.store, 3);
    // Another session holds the oldest delivery's row lock (a worker mid-update).
    let mut other = pg.client();
    let mut tx = other.transaction().unwrap();
    tx.execute(
        "SELECT id FROM deliveries WHERE id = $1 FOR UPDATE",
        &[&all[0]],
    )
    .unwrap();
    let started = std::time::Instant::now();
    let got: Vec<i64> = pg
        .store
        .claim_deliveries(t(1), "A", Duration::minutes(5), 10, &ctx(1))
        .unwrap()
        .iter()
        .map(|d| d.id)
        .collect();
    assert_eq!(
        got,
        all[1..].to_vec(),
        "the locked row is skipped, the others claimed"
    );
    assert!(
        started.elapsed() < std::time::Duration::from_secs(5),
        "did not wait for the lock"
    );
    tx.rollback().unwrap();
    let got: Vec<i64> = pg
        .store
        .claim_deliveries(t(1), "B", Duration::minutes(5), 10, &ctx(1))
        .unwrap()
        .iter()
        .map(|d| d.id)
        .collect();
    assert_eq!(got, vec![all[0]]);
}

// ---- The sync bridge inside tokio -----------------------------------------------------------

async fn use_inside_runtime(s: &PgStore) {
    s.upsert_entities(&[entity("a")], &ctx(0)).unwrap();
    assert_eq!(s.entities().unwrap().len(), 1);
    // The sync call does not stall the runtime's other tasks for good.
    let task = tokio::spawn(async { 7 });
    assert_eq!(task.await.unwrap(), 7);
    assert!(s.verify_audit().unwrap().is_ok());
    assert!(!s
        .wait_registry_change(std::time::Duration::from_millis(50))
        .unwrap());
}

/// Callers that already moved the work off the async threads (`spawn_blocking`) work too.
async fn use_from_spawn_blocking(s: Arc<PgStore>) {
    let n = tokio::task::spawn_blocking(move || {
        s.upsert_entities(&[entity("b")], &ctx(1)).unwrap();
        s.entities().unwrap().len()
    })
    .await
    .unwrap();
    assert_eq!(n, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn works_inside_a_multi_thread_runtime() {
    let db = TempDb::create().expect("PostgreSQL for tests");
    let s = PgStore::connect(db.url()).unwrap();
    use_inside_runtime(&s).await;
    let s = Arc::new(s);
    use_from_spawn_blocking(Arc::clone(&s)).await;
    // And from a spawned task on a worker thread (where axum handlers run).
    let s2 = Arc::clone(&s);
    tokio::spawn(async move { assert_eq!(s2.entities().unwrap().len(), 2) })
        .await
        .unwrap();
    let s = Arc::try_unwrap(s).unwrap();
    drop(s); // closing connections on a worker thread must not panic either
}

#[tokio::test(flavor = "current_thread")]
async fn works_inside_a_current_thread_runtime() {
    let db = TempDb::create().expect("PostgreSQL for tests");
    let s = PgStore::connect(db.url()).unwrap();
    use_inside_runtime(&s).await;
    let s = Arc::new(s);
    use_from_spawn_blocking(Arc::clone(&s)).await;
    drop(s);
}

// ---- Connecting and migrating ---------------------------------------------------------------

#[test]
fn processes_starting_at_once_migrate_once() {
    let db = TempDb::create().unwrap();
    let start = Arc::new(Barrier::new(4));
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let url = db.url().to_owned();
            let start = Arc::clone(&start);
            std::thread::spawn(move || {
                start.wait();
                PgStore::connect(&url).map(|s| s.schema_version().unwrap())
            })
        })
        .collect();
    for h in handles {
        assert_eq!(
            h.join().unwrap().unwrap(),
            MIGRATIONS.last().unwrap().version
        );
    }
    let mut c = postgres::Client::connect(db.url(), postgres::NoTls).unwrap();
    let n: i64 = c
        .query_one("SELECT COUNT(*) FROM schema_migrations", &[])
        .unwrap()
        .get(0);
    assert_eq!(n, MIGRATIONS.len() as i64);
}

#[test]
fn a_database_from_a_newer_build_is_refused() {
    let pg = Pg::new();
    pg.client()
        .execute(
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, 'future', 'x')",
            &[],
        )
        .unwrap();
    match PgStore::connect(pg.db.url()) {
        Err(StoreError::Migration {
            version: 999,
            reason,
        }) => assert!(reason.contains("newer Tocsin"), "{reason}"),
        other => panic!("expected a migration error for 999, got {other:?}"),
    }
}

#[test]
fn both_backends_have_the_same_tables_and_columns() {
    let pg = Pg::new();
    let lite = SqliteStore::open_in_memory().unwrap();
    let tables = lite.tables().unwrap();
    assert_eq!(
        pg.store.tables().unwrap(),
        tables,
        "same tables, same load order"
    );
    for t in &tables {
        assert_eq!(
            pg.store.table_columns(t).unwrap(),
            lite.table_columns(t).unwrap(),
            "columns of {t}"
        );
    }
}

#[test]
fn bad_urls_and_unreachable_servers_are_clear_errors_without_passwords() {
    let e = PgStore::connect("postgres://tocsin:hunter2@127.0.0.1:1/tocsin")
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("cannot connect to postgres://tocsin:***@127.0.0.1:1/tocsin"),
        "{e}"
    );
    assert!(!e.contains("hunter2"), "{e}");
    let e = PgStore::connect("postgres://u@h/db?pool_size=none")
        .unwrap_err()
        .to_string();
    assert!(e.contains("pool_size"), "{e}");
    let e = PgStore::connect("postgres://u@h/db?no_such_option=1")
        .unwrap_err()
        .to_string();
    assert!(e.contains("PostgreSQL URL"), "{e}");
}

#[test]
fn the_pool_opens_at_most_pool_size_connections() {
    let pg = Pg::new();
    let s = Arc::new(PgStore::connect(&format!("{}?pool_size=2", pg.db.url())).unwrap());
    assert_eq!(s.pool_size(), 2);
    let handles: Vec<_> = (0..6)
        .map(|n| {
            let s = Arc::clone(&s);
            std::thread::spawn(move || {
                for i in 0..5 {
                    s.upsert_entities(&[entity(&format!("p{n}-{i}"))], &ctx(0))
                        .unwrap();
                    s.entities().unwrap();
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    let mut c = pg.client();
    let n: i64 = c
        .query_one("SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()", &[])
        .unwrap()
        .get(0);
    // Two pooled connections of `s`, four of `pg.store` at most (it was idle): never one per thread.
    assert!(n <= 2 + 4, "{n} sessions open");
    assert_eq!(s.entities().unwrap().len(), 30);
}

#[test]
fn connections_killed_under_the_pool_are_replaced_without_errors() {
    let pg = Pg::new();
    let s = Arc::new(PgStore::connect(&format!("{}?pool_size=3", pg.db.url())).unwrap());
    // Warm the pool: three connections in use at once, then idle.
    let handles: Vec<_> = (0..3)
        .map(|i| {
            let s = Arc::clone(&s);
            std::thread::spawn(move || {
                s.upsert_entities(&[entity(&format!("w{i}"))], &ctx(0))
                    .unwrap()
            })
        })
        .collect();
    handles.into_iter().for_each(|h| h.join().unwrap());
    // A server restart, as far as these sessions are concerned.
    let killed: i64 = pg
        .client()
        .query_one(
            "SELECT COUNT(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()",
            &[],
        )
        .unwrap()
        .get(0);
    assert!(killed >= 3, "{killed}");
    std::thread::sleep(std::time::Duration::from_millis(100));
    assert_eq!(
        s.entities().unwrap().len(),
        3,
        "a read retries on a live connection"
    );
    s.upsert_entities(&[entity("after")], &ctx(1)).unwrap();
    for _ in 0..5 {
        s.upsert_entities(&[entity("again")], &ctx(1)).unwrap();
        s.audit_events().unwrap();
    }
    assert!(s.verify_audit().unwrap().is_ok());
}

// ---- Copying between backends ---------------------------------------------------------------

#[test]
fn sqlite_to_postgres_to_sqlite_keeps_every_row_and_the_chain() {
    let lite = SqliteStore::open_in_memory().unwrap();
    fill_busy(&lite);
    fill_more(&lite);
    let head = lite.verify_audit().unwrap().expect("a valid chain");
    let before = dump_all(&lite);

    let pg = Pg::new();
    copy_store(&lite, &pg.store);
    assert_eq!(
        pg.store.table_counts().unwrap(),
        lite.table_counts().unwrap()
    );
    assert_eq!(dump_all(&pg.store), before, "Pg holds the same cells");
    assert_eq!(pg.store.verify_audit().unwrap(), Ok(head.clone()));
    assert_eq!(
        pg.store.deliveries(None).unwrap(),
        lite.deliveries(None).unwrap()
    );
    assert_eq!(pg.store.tokens().unwrap(), lite.tokens().unwrap());

    let back = SqliteStore::open_in_memory().unwrap();
    copy_store(&pg.store, &back);
    assert_eq!(dump_all(&back), before, "and back, byte for byte");
    assert_eq!(back.verify_audit().unwrap(), Ok(head));

    // Both copies go on writing after the copied keys and chain head.
    for s in [&pg.store as &dyn Store, &back as &dyn Store] {
        let id = s
            .insert_token(&"99".repeat(32), "viewer", "after copy", None, &ctx(99))
            .unwrap();
        assert!(id > lite.tokens().unwrap().iter().map(|t| t.id).max().unwrap());
        assert!(s.verify_audit().unwrap().is_ok());
    }
}

// ---- Coordination ---------------------------------------------------------------------------

#[test]
fn leadership_fails_over_when_the_leader_process_dies() {
    let pg = Pg::new();
    let lease = Duration::seconds(30);
    let a = pg.another();
    let b = pg.another();
    assert!(a.try_lead("scheduler", "a", lease, t(0)).unwrap());
    assert!(
        !b.try_lead("scheduler", "b", lease, t(0)).unwrap(),
        "one leader at a time"
    );
    assert!(
        a.try_lead("scheduler", "a", lease, t(1)).unwrap(),
        "the leader keeps leading"
    );
    assert!(
        !a.try_lead("scheduler", "other-holder", lease, t(1))
            .unwrap(),
        "only the holder that obtained it is told true"
    );
    assert_eq!(b.leader("scheduler", t(1)).unwrap().as_deref(), Some("a"));
    assert!(
        b.try_lead("reports", "b", lease, t(1)).unwrap(),
        "roles are independent"
    );
    assert_eq!(a.leader("reports", t(1)).unwrap().as_deref(), Some("b"));

    drop(a); // the process dies: its session, and the lock, go with it — no lease to wait out
             // The server ends the session asynchronously: b wins within moments, far inside the lease.
    let started = std::time::Instant::now();
    while !b.try_lead("scheduler", "b", lease, t(1)).unwrap() {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(5),
            "no failover 5 s after the leader died"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert_eq!(
        pg.store.leader("scheduler", t(1)).unwrap().as_deref(),
        Some("b")
    );
    b.resign("scheduler", "b").unwrap();
    assert_eq!(pg.store.leader("scheduler", t(1)).unwrap(), None);
    assert!(pg.store.try_lead("scheduler", "c", lease, t(2)).unwrap());
}

#[test]
fn a_killed_leader_session_is_noticed_at_the_next_call() {
    let pg = Pg::new();
    let lease = Duration::seconds(30);
    assert!(pg.store.try_lead("scheduler", "a", lease, t(0)).unwrap());
    // An operator (or a network cut) ends the leader's session.
    let killed: i64 = pg
        .client()
        .query_one(
            "SELECT COUNT(pg_terminate_backend(pid)) FROM pg_locks WHERE locktype = 'advisory' AND objsubid = 2 AND granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(killed, 1);
    let other = pg.another();
    let started = std::time::Instant::now();
    while !other.try_lead("scheduler", "b", lease, t(1)).unwrap() {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(5),
            "the lock did not go with the session"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert!(
        !pg.store.try_lead("scheduler", "a", lease, t(2)).unwrap(),
        "a learns it lost"
    );
}

#[test]
fn registry_changes_wake_other_processes() {
    let pg = Pg::new();
    let reader = pg.another();
    let head = reader.registry_change_head().unwrap();
    assert_eq!(head, 0);
    assert!(
        !reader
            .wait_registry_change(std::time::Duration::from_millis(100))
            .unwrap(),
        "nothing changed"
    );
    let writer = pg.another();
    let waiting = std::thread::spawn(move || {
        let started = std::time::Instant::now();
        let woke = reader
            .wait_registry_change(std::time::Duration::from_secs(20))
            .unwrap();
        (woke, started.elapsed(), reader)
    });
    std::thread::sleep(std::time::Duration::from_millis(300));
    writer
        .upsert_entities(&[entity("x"), entity("y")], &ctx(0))
        .unwrap();
    writer.upsert_entities(&[entity("x")], &ctx(1)).unwrap();
    let (woke, waited, reader) = waiting.join().unwrap();
    assert!(
        woke && waited < std::time::Duration::from_secs(10),
        "woken by NOTIFY, not the timeout ({waited:?})"
    );
    let (high, ids) = reader.registry_changes_since(head).unwrap();
    assert_eq!(high, 3);
    assert_eq!(
        ids,
        vec![EntityId::new("y"), EntityId::new("x")],
        "each once, in order of its last change"
    );
    writer.delete_entity(&EntityId::new("y"), &ctx(3)).unwrap();
    assert!(reader
        .wait_registry_change(std::time::Duration::from_secs(10))
        .unwrap());
    assert_eq!(
        reader.registry_changes_since(high).unwrap().1.last(),
        Some(&EntityId::new("y"))
    );
}
