//! Schema migrations on PostgreSQL: the same files as SQLite (`tocsin_store::migrations`), in their
//! PostgreSQL spelling, each in its own transaction and recorded in `schema_migrations`.
//!
//! Several processes may start at once against one database: the whole run holds a session
//! advisory lock, so exactly one of them migrates and the others find the ledger up to date.

use crate::{describe, Db};
use postgres::Client;
use std::collections::BTreeMap;
use tocsin_store::migrations::{check_recorded, postgres_sql, Migration};
use tocsin_store::record::time_text;
use tocsin_store::{Result, StoreError};

/// Advisory lock key of the migration run ("tocsin" + "mig" in ASCII, any fixed number would do).
const MIGRATION_LOCK: i64 = 0x746f_6373_696e_6d69;

const CREATE_LEDGER: &str = "CREATE TABLE IF NOT EXISTS schema_migrations (
    version    BIGINT PRIMARY KEY,
    name       TEXT NOT NULL,
    applied_at TEXT NOT NULL
)";

/// Apply every migration not yet recorded; returns the versions applied now.
pub(crate) fn apply(c: &mut Client, migrations: &[Migration]) -> Result<Vec<u32>> {
    c.execute("SELECT pg_advisory_lock($1)", &[&MIGRATION_LOCK])
        .db()?;
    let out = apply_locked(c, migrations);
    // Unlock even when a migration failed (the session may be reused).
    let unlocked = c
        .execute("SELECT pg_advisory_unlock($1)", &[&MIGRATION_LOCK])
        .db();
    let done = out?;
    unlocked?;
    Ok(done)
}

fn apply_locked(c: &mut Client, migrations: &[Migration]) -> Result<Vec<u32>> {
    c.batch_execute(CREATE_LEDGER).db()?;
    let applied = recorded(c)?;
    check_recorded(&applied, migrations)?;
    let mut done = Vec::new();
    for m in migrations {
        if applied.contains_key(&m.version) {
            continue;
        }
        let fail = |e: postgres::Error| StoreError::Migration {
            version: m.version,
            reason: format!("{} ({}): {}", m.name, m.file_name(), describe(&e)),
        };
        let mut tx = c.transaction().map_err(fail)?;
        tx.batch_execute(&postgres_sql(m.sql)).map_err(fail)?;
        // Bookkeeping is the one place the store reads the clock (metadata, not case data).
        tx.execute(
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
            &[
                &i64::from(m.version),
                &m.name,
                &time_text(&chrono::Utc::now()),
            ],
        )
        .map_err(fail)?;
        tx.commit().map_err(fail)?;
        done.push(m.version);
    }
    Ok(done)
}

/// The migrations recorded in the database, by version.
pub(crate) fn recorded(c: &mut Client) -> Result<BTreeMap<u32, String>> {
    let rows = c
        .query(
            "SELECT version, name FROM schema_migrations ORDER BY version",
            &[],
        )
        .db()?;
    rows.iter()
        .map(|r| {
            let v: i64 = r.try_get(0).db()?;
            let v = u32::try_from(v).map_err(|_| StoreError::Migration {
                version: 0,
                reason: format!("recorded version {v} is out of range"),
            })?;
            Ok((v, r.try_get::<_, String>(1).db()?))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::TempDb;
    use tocsin_store::migrations::MIGRATIONS;

    #[test]
    fn a_failing_migration_is_rolled_back_and_names_its_version() {
        let db = TempDb::create().expect("PostgreSQL for tests");
        let mut c = Client::connect(db.url(), postgres::NoTls).unwrap();
        let bad = [
            MIGRATIONS[0],
            Migration {
                version: 2,
                name: "broken",
                sql: "CREATE TABLE half_done (x TEXT); CREATE TABLE entities (id TEXT);",
            },
        ];
        match apply(&mut c, &bad) {
            Err(StoreError::Migration { version: 2, reason }) => assert!(
                reason.contains("broken") && reason.contains("already exists"),
                "{reason}"
            ),
            other => panic!("expected a migration error for version 2, got {other:?}"),
        }
        assert_eq!(
            recorded(&mut c)
                .unwrap()
                .keys()
                .copied()
                .collect::<Vec<_>>(),
            vec![1],
            "version 1 committed, 2 not"
        );
        let half: i64 = c
            .query_one(
                "SELECT COUNT(*) FROM information_schema.tables WHERE table_name = 'half_done'",
                &[],
            )
            .unwrap()
            .get(0);
        assert_eq!(
            half, 0,
            "DDL is transactional: the failed migration left nothing behind"
        );
        // The lock was released: a second run (the fixed build) proceeds.
        assert_eq!(
            apply(&mut c, MIGRATIONS).unwrap(),
            MIGRATIONS[1..]
                .iter()
                .map(|m| m.version)
                .collect::<Vec<_>>()
        );
        assert!(
            apply(&mut c, MIGRATIONS).unwrap().is_empty(),
            "nothing left to apply"
        );
    }
}
