//! Schema migrations: SQL files embedded at build time, applied in order at open, each in its own
//! transaction and recorded in `schema_migrations`.

use crate::record::time_text;
use crate::{Result, StoreError};
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Copy)]
pub(crate) struct Migration {
    pub version: u32,
    pub name: &'static str,
    pub sql: &'static str,
}

/// Every migration, in version order. Files live in `migrations/sqlite/NNNN_name.sql`; a test
/// checks that this list and the directory agree.
pub(crate) const MIGRATIONS: &[Migration] = &[
    Migration { version: 1, name: "initial", sql: include_str!("../../migrations/sqlite/0001_initial.sql") },
    Migration { version: 2, name: "outbox_leases", sql: include_str!("../../migrations/sqlite/0002_outbox_leases.sql") },
    Migration { version: 3, name: "token_audience", sql: include_str!("../../migrations/sqlite/0003_token_audience.sql") },
    Migration { version: 4, name: "follow_up", sql: include_str!("../../migrations/sqlite/0004_follow_up.sql") },
    Migration { version: 5, name: "feeds", sql: include_str!("../../migrations/sqlite/0005_feeds.sql") },
    Migration { version: 6, name: "notices", sql: include_str!("../../migrations/sqlite/0006_notices.sql") },
];

const CREATE_LEDGER: &str = "CREATE TABLE IF NOT EXISTS schema_migrations (
    version    INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    applied_at TEXT NOT NULL
)";

/// Apply every migration not yet recorded. Returns the versions applied now (empty when the schema
/// was already current).
pub(crate) fn apply(conn: &mut Connection, migrations: &[Migration]) -> Result<Vec<u32>> {
    conn.execute_batch(CREATE_LEDGER)?;
    let applied = recorded(conn)?;
    let known: BTreeMap<u32, &str> = migrations.iter().map(|m| (m.version, m.name)).collect();
    for (version, name) in &applied {
        match known.get(version) {
            None => {
                return Err(StoreError::Migration {
                    version: *version,
                    reason: format!("the database has migration {version} ({name}), which this build does not know: it was written by a newer Tocsin"),
                })
            }
            Some(k) if k != name => {
                return Err(StoreError::Migration {
                    version: *version,
                    reason: format!("the database recorded migration {version} as {name:?}, this build calls it {k:?}"),
                })
            }
            Some(_) => {}
        }
    }

    let mut done = Vec::new();
    for m in migrations {
        if applied.contains_key(&m.version) {
            continue;
        }
        let fail = |e: rusqlite::Error| StoreError::Migration { version: m.version, reason: format!("{} ({}): {e}", m.name, file_name(m)) };
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(fail)?;
        // Another process may have applied it while we waited for the write lock.
        let raced: Option<i64> =
            tx.query_row("SELECT version FROM schema_migrations WHERE version = ?1", [m.version], |r| r.get(0)).optional().map_err(fail)?;
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
    let mut stmt = conn.prepare("SELECT version, name FROM schema_migrations ORDER BY version")?;
    let rows = stmt.query_map([], |r| Ok((r.get::<_, u32>(0)?, r.get::<_, String>(1)?)))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub(crate) fn file_name(m: &Migration) -> String {
    format!("{:04}_{}.sql", m.version, m.name)
}
