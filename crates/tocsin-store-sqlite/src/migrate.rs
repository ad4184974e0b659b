//! Schema migrations: SQL files embedded at build time, applied in order at open, each in its own
//! transaction and recorded in `schema_migrations`.

use crate::Db;
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use std::collections::BTreeMap;
use tocsin_store::record::time_text;
use tocsin_store::{Result, StoreError};

pub(crate) use tocsin_store::migrations::{check_recorded, Migration, MIGRATIONS};

const CREATE_LEDGER: &str = "CREATE TABLE IF NOT EXISTS schema_migrations (
    version    INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    applied_at TEXT NOT NULL
)";

/// Apply every migration not yet recorded. Returns the versions applied now (empty when the schema
/// was already current).
pub(crate) fn apply(conn: &mut Connection, migrations: &[Migration]) -> Result<Vec<u32>> {
    conn.execute_batch(CREATE_LEDGER).db()?;
    let applied = recorded(conn)?;
    check_recorded(&applied, migrations)?;

    let mut done = Vec::new();
    for m in migrations {
        if applied.contains_key(&m.version) {
            continue;
        }
        let fail = |e: rusqlite::Error| StoreError::Migration {
            version: m.version,
            reason: format!("{} ({}): {e}", m.name, m.file_name()),
        };
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(fail)?;
        // Another process may have applied it while we waited for the write lock.
        let raced: Option<i64> = tx
            .query_row(
                "SELECT version FROM schema_migrations WHERE version = ?1",
                [m.version],
                |r| r.get(0),
            )
            .optional()
            .map_err(fail)?;
        if raced.is_some() {
            continue;
        }
        tx.execute_batch(m.sql).map_err(fail)?;
        // Migration bookkeeping is the one place the store reads the clock: it is metadata about the
        // database file, not part of any case, so replays stay deterministic.
        tx.execute(
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?1, ?2, ?3)",
            params![m.version, m.name, time_text(&chrono::Utc::now())],
        )
        .map_err(fail)?;
        tx.commit().map_err(fail)?;
        done.push(m.version);
    }
    Ok(done)
}

/// The migrations recorded in the database, by version.
pub(crate) fn recorded(conn: &Connection) -> Result<BTreeMap<u32, String>> {
    let mut stmt = conn
        .prepare("SELECT version, name FROM schema_migrations ORDER BY version")
        .db()?;
    let rows = stmt
        .query_map([], |r| Ok((r.get::<_, u32>(0)?, r.get::<_, String>(1)?)))
        .db()?;
    rows.collect::<rusqlite::Result<_>>().db()
}
