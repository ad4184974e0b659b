//! Two engines (two processes' worth) on one database keep their match indexes in step
//! with the registry through the store's change log.

use chrono::{TimeZone, Utc};
use std::path::Path;
use std::sync::Arc;
use tocsin_core::{EntityId, ThreatId, Timestamp};
use tocsin_engine::{Engine, EngineConfig};
use tocsin_store::{AuditCtx, Coordination, Store};
use tocsin_store_sqlite::SqliteStore;

fn t(day: u32, hour: u32) -> Timestamp {
    Utc.with_ymd_and_hms(2024, 3, day, hour, 0, 0).unwrap()
}

fn examples() -> &'static Path {
    Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/moscow-2024"
    ))
}

fn engine_on(db: &Path, dir: &Path, name: &str) -> Engine {
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(db).unwrap());
    Engine::open(store, EngineConfig::new(dir.join(name))).unwrap()
}

fn engine_on_pg(url: &str, dir: &Path, name: &str) -> Engine {
    let store: Arc<dyn Store> = Arc::new(tocsin_store_postgres::PgStore::connect(url).unwrap());
    Engine::open(store, EngineConfig::new(dir.join(name))).unwrap()
}

fn matched(e: &Engine, tid: &ThreatId, at: Timestamp) -> Vec<EntityId> {
    e.compute_matches(tid, &AuditCtx::new("analyst", at))
        .unwrap()
        .into_iter()
        .map(|m| m.entity_id)
        .collect()
}

#[test]
fn a_registry_change_in_one_process_reaches_the_other_processs_index() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("shared.db");
    // Both open on an empty registry.
    let a = engine_on(&db, dir.path(), "a");
    let b = engine_on(&db, dir.path(), "b");
    two_engines(&a, &b);
}

#[test]
fn on_postgres_too_and_the_other_process_is_woken() {
    let dir = tempfile::tempdir().unwrap();
    let pg = tocsin_store_postgres::testing::TempDb::create().unwrap();
    let a = engine_on_pg(pg.url(), dir.path(), "a");
    let b = engine_on_pg(pg.url(), dir.path(), "b");
    // B listens; A's registry write wakes it (NOTIFY), well before the timeout.
    assert!(
        !b.store()
            .wait_registry_change(std::time::Duration::from_millis(200))
            .unwrap(),
        "nothing changed yet"
    );
    let waiter = {
        let url = pg.url().to_owned();
        std::thread::spawn(move || {
            let s = tocsin_store_postgres::PgStore::connect(&url).unwrap();
            let _ = s
                .wait_registry_change(std::time::Duration::from_millis(1))
                .unwrap();
            let started = std::time::Instant::now();
            let woke = s
                .wait_registry_change(std::time::Duration::from_secs(20))
                .unwrap();
            (woke, started.elapsed())
        })
    };
    std::thread::sleep(std::time::Duration::from_millis(500));
    two_engines(&a, &b);
    let (woke, after) = waiter.join().unwrap();
    assert!(
        woke && after < std::time::Duration::from_secs(10),
        "woken {woke} after {after:?}"
    );
}

fn two_engines(a: &Engine, b: &Engine) {
    assert_eq!(b.registry_len(), 0);

    // A imports the registry; B has not been told anything.
    a.import_registry(examples(), &AuditCtx::new("import", t(6, 7)))
        .unwrap();
    let n = a.registry_len();
    assert!(n > 30, "the reference registry has {n} entities");
    assert_eq!(b.registry_len(), 0);

    // B's scheduler pass syncs its index.
    b.tick(t(6, 7)).unwrap();
    assert_eq!(b.registry_len(), n);

    // A report ingested and matched through B finds Crocus City Hall.
    let threat = Engine::parse_report_file(&examples().join("report.txt")).unwrap();
    let tid = threat.id.clone();
    b.ingest_threat(&threat, &AuditCtx::new("analyst", t(6, 8)))
        .unwrap();
    let crocus = EntityId::new("crocus-city-hall");
    assert!(matched(b, &tid, t(6, 8)).contains(&crocus));

    // A renames an entity so the report no longer names it; B matches with the new record at
    // once (matching syncs first), without a scheduler pass in between.
    let mut renamed = a.store().entity(&crocus).unwrap().unwrap();
    renamed.name = "Zzyzx Hall".into();
    renamed.aliases.clear();
    renamed.category = tocsin_core::entity::Category::parse("venue/civic/library").unwrap();
    renamed.location = None;
    renamed.city = None;
    a.upsert_entities(&[renamed], &AuditCtx::new("admin", t(6, 9)))
        .unwrap();
    assert!(
        !matched(b, &tid, t(6, 9)).contains(&crocus),
        "B still matched the old record of {crocus}"
    );
    assert_eq!(b.registry_len(), n);

    // Nothing new: a sync applies nothing.
    assert_eq!(b.sync_registry().unwrap(), 0);
}

#[test]
fn an_entity_deleted_elsewhere_leaves_the_index() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("shared.db");
    let a = engine_on(&db, dir.path(), "a");
    a.import_registry(examples(), &AuditCtx::new("import", t(6, 7)))
        .unwrap();
    let b = engine_on(&db, dir.path(), "b");
    let n = b.registry_len();
    // A delete as a backend records it: the row goes and a `delete` change is logged in the same
    // transaction (written here with SQL: the Store has no entity delete yet).
    {
        let c = rusqlite::Connection::open(&db).unwrap();
        c.execute_batch(
            "BEGIN; DELETE FROM entities WHERE id = 'crocus-city-hall';
             INSERT INTO registry_changes (entity_id, change, at) VALUES ('crocus-city-hall', 'delete', '2024-03-06T10:00:00.000000Z'); COMMIT;",
        )
        .unwrap();
    }
    assert_eq!(b.sync_registry().unwrap(), 1);
    assert_eq!(b.registry_len(), n - 1);
    let threat = Engine::parse_report_file(&examples().join("report.txt")).unwrap();
    b.ingest_threat(&threat, &AuditCtx::new("analyst", t(6, 8)))
        .unwrap();
    assert!(!matched(&b, &threat.id, t(6, 8)).contains(&EntityId::new("crocus-city-hall")));
}
