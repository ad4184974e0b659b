//! The scheduler's leadership across two engines (two processes' worth) on one SQLite file.

use std::sync::Arc;
use std::time::{Duration, Instant};
use tocsin_engine::scheduler::{self, SchedulerSettings};
use tocsin_engine::{Engine, EngineConfig};
use tocsin_store::Store;
use tocsin_store_sqlite::SqliteStore;

fn engine_on(db: &std::path::Path, dir: &std::path::Path, name: &str) -> Arc<Engine> {
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(db).unwrap());
    Arc::new(Engine::open(store, EngineConfig::new(dir.join(name))).unwrap())
}

#[test]
fn one_leader_runs_and_resigning_hands_over_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("shared.db");
    let a = engine_on(&db, dir.path(), "a");
    let b = engine_on(&db, dir.path(), "b");
    let settings = SchedulerSettings::every(Duration::from_secs(1));
    let lease = settings.lease;
    let running = scheduler::spawn(a, settings, chrono::Utc::now).unwrap();
    assert_ne!(running.holder(), "b");
    // A's first pass runs at once; until it has taken leadership B may win, so wait for B to lose.
    let deadline = Instant::now() + Duration::from_secs(10);
    while scheduler::pass(&b, "b", lease, false, chrono::Utc::now()) {
        b.store()
            .resign(tocsin_store::coordination::SCHEDULER_ROLE, "b")
            .unwrap();
        assert!(Instant::now() < deadline, "A never took leadership");
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(
        !scheduler::pass(&b, "b", lease, false, chrono::Utc::now()),
        "A leads, so B follows"
    );
    running.resign();
    assert!(
        scheduler::pass(&b, "b", lease, false, chrono::Utc::now()),
        "B leads as soon as A resigned, without waiting for A's lease"
    );
}
