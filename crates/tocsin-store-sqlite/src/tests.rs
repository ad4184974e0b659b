use super::migrate::{self, Migration, MIGRATIONS};
use super::*;
use rusqlite::types::ValueRef;
use rusqlite::OptionalExtension;
use tocsin_store::conformance::TestStore;
use tocsin_store::dump::SqlValue;
use tocsin_store::AuditCtx;
use tocsin_store::Store;

// The backend-independent contract: tocsin_store::conformance, run here against SQLite (in memory).
struct Sqlite(SqliteStore);

impl TestStore for Sqlite {
    fn store(&self) -> &(dyn Store + 'static) {
        &self.0
    }
    fn dump(&self) -> &(dyn tocsin_store::Dump + 'static) {
        &self.0
    }
    fn sql(&self, sql: &str) -> Vec<Vec<SqlValue>> {
        let conn = self.0.lock();
        let mut stmt = conn.prepare(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
        let n = stmt.column_count();
        let mut rows = stmt.query([]).unwrap_or_else(|e| panic!("{sql}: {e}"));
        let mut out = Vec::new();
        while let Some(row) = rows.next().unwrap() {
            out.push(
                (0..n)
                    .map(|i| match row.get_ref(i).unwrap() {
                        ValueRef::Null => SqlValue::Null,
                        ValueRef::Integer(v) => SqlValue::Integer(v),
                        ValueRef::Real(v) => SqlValue::Real(v),
                        ValueRef::Text(v) => {
                            SqlValue::Text(String::from_utf8_lossy(v).into_owned())
                        }
                        ValueRef::Blob(_) => panic!("{sql}: blob"),
                    })
                    .collect(),
            );
        }
        out
    }
}

tocsin_store::store_conformance_tests!(|| -> Box<dyn TestStore> {
    Box::new(Sqlite(SqliteStore::open_in_memory().unwrap()))
});
tocsin_store::review_conformance_tests!(|| -> Box<dyn TestStore> {
    Box::new(Sqlite(SqliteStore::open_in_memory().unwrap()))
});

fn raw(s: &SqliteStore) -> MutexGuard<'_, Connection> {
    s.lock()
}

fn count(s: &SqliteStore, table: &str) -> i64 {
    raw(s)
        .query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| r.get(0))
        .unwrap()
}

// ---- Migrations -----------------------------------------------------------------------------

#[test]
fn migrations_apply_on_a_fresh_file_and_reopen_is_a_no_op() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tocsin.db");
    {
        let s = SqliteStore::open(&path).unwrap();
        assert_eq!(
            s.schema_version().unwrap(),
            MIGRATIONS.last().unwrap().version
        );
        assert_eq!(s.path(), Some(path.as_path()));
        let mode: String = raw(&s)
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
        let fk: i64 = raw(&s)
            .query_row("PRAGMA foreign_keys", [], |r| r.get(0))
            .unwrap();
        assert_eq!(fk, 1);
        s.insert_threat(
            &tocsin_testkit::threat("T1"),
            &AuditCtx::new("analyst", tocsin_testkit::march(6, 9)),
        )
        .unwrap();
    }
    let s = SqliteStore::open(&path).unwrap();
    assert_eq!(count(&s, "schema_migrations"), MIGRATIONS.len() as i64);
    assert_eq!(s.threats().unwrap().len(), 1, "data survives a re-open");
    assert!(
        migrate::apply(&mut raw(&s), MIGRATIONS).unwrap().is_empty(),
        "nothing left to apply"
    );
    assert!(s.verify_audit().unwrap().is_ok());
}

#[test]
fn a_failing_migration_is_rolled_back_and_names_its_version() {
    let mut conn = Connection::open_in_memory().unwrap();
    let bad = [
        MIGRATIONS[0],
        Migration {
            version: 2,
            name: "broken",
            sql: "CREATE TABLE half_done (x TEXT); CREATE TABLE entities (id TEXT);",
        },
    ];
    match migrate::apply(&mut conn, &bad) {
        Err(StoreError::Migration { version: 2, reason }) => {
            assert!(reason.contains("broken"), "{reason}")
        }
        other => panic!("expected a migration error for version 2, got {other:?}"),
    }
    assert_eq!(
        migrate::recorded(&conn)
            .unwrap()
            .keys()
            .copied()
            .collect::<Vec<_>>(),
        vec![1],
        "version 1 committed, 2 not"
    );
    let half: Option<String> = conn
        .query_row(
            "SELECT name FROM sqlite_master WHERE name = 'half_done'",
            [],
            |r| r.get(0),
        )
        .optional()
        .unwrap();
    assert_eq!(half, None, "the failed migration left nothing behind");
}

#[test]
fn a_database_from_a_newer_build_is_refused() {
    let mut conn = Connection::open_in_memory().unwrap();
    migrate::apply(&mut conn, MIGRATIONS).unwrap();
    conn.execute(
        "INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, 'future', 'x')",
        [],
    )
    .unwrap();
    match migrate::apply(&mut conn, MIGRATIONS) {
        Err(StoreError::Migration { version: 999, .. }) => {}
        other => panic!("expected a migration error for 999, got {other:?}"),
    }
}
