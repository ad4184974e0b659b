//! The SQLite backend of Tocsin's store: one embedded database file (WAL), one connection behind a
//! mutex.
//!
//! The operations of the contract are written once in `tocsin_store` (`ops` and its siblings);
//! this crate is the driver they run on ([`tocsin_store::ops::Backend`] and
//! [`tocsin_store::sql::Conn`] over rusqlite), the migrations at open, `Coordination` (leadership
//! as a lease row) and `Dump`. Every audited write runs in one `BEGIN IMMEDIATE` transaction that
//! also appends its audit event, so a write and its record commit or roll back together.

mod accounts;
mod coordination;
mod dump;
mod followup;
mod migrate;
#[cfg(test)]
mod outbox_tests;
mod portable;
#[cfg(test)]
mod tests;

use portable::Lite;
use rusqlite::{Connection, Transaction, TransactionBehavior};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;
use tocsin_store::ops::Backend;
use tocsin_store::sql::Conn;
use tocsin_store::{Result, StoreError};

/// How long a writer waits for another process's lock before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// `?` for driver results (`From` cannot be implemented here: both types are foreign).
pub(crate) trait Db<T> {
    fn db(self) -> Result<T>;
}

impl<T> Db<T> for rusqlite::Result<T> {
    fn db(self) -> Result<T> {
        self.map_err(|e| StoreError::Db(e.to_string()))
    }
}

/// The default store: an embedded SQLite database.
pub struct SqliteStore {
    conn: Mutex<Connection>,
    path: Option<PathBuf>,
    /// The registry change head `wait_registry_change` last reported (-1: not waited yet).
    registry_seen: std::sync::atomic::AtomicI64,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl SqliteStore {
    /// Open (or create) the database file and bring its schema up to date.
    pub fn open(path: &Path) -> Result<Self> {
        let conn = Connection::open(path)
            .map_err(|e| StoreError::Db(format!("cannot open {}: {e}", path.display())))?;
        Self::init(conn, Some(path.to_owned()), migrate::MIGRATIONS)
    }

    /// A private, empty database that lives as long as the store (tests, `demo`).
    pub fn open_in_memory() -> Result<Self> {
        Self::init(
            Connection::open_in_memory().db()?,
            None,
            migrate::MIGRATIONS,
        )
    }

    fn init(
        mut conn: Connection,
        path: Option<PathBuf>,
        migrations: &[migrate::Migration],
    ) -> Result<Self> {
        conn.busy_timeout(BUSY_TIMEOUT).db()?;
        conn.pragma_update(None, "foreign_keys", "ON").db()?;
        // In-memory databases answer "memory"; files switch to WAL (readers never block the writer).
        let _mode: String = conn
            .pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))
            .db()?;
        conn.pragma_update(None, "synchronous", "NORMAL").db()?;
        // A feed run writes ~100 MB of notifications and a fan-out a million rows: with the
        // defaults (2 MiB of page cache, a checkpoint every 4 MiB of WAL) the B-tree's inner pages
        // fall out of the cache and every few milliseconds a checkpoint copies and syncs the file.
        // 32 MiB and 32 MiB make both rare; a commit is as durable as before (the WAL is
        // unchanged, a checkpoint only moves committed pages into the main file).
        conn.pragma_update(None, "cache_size", -32768).db()?;
        conn.pragma_update(None, "wal_autocheckpoint", 8192).db()?;
        migrate::apply(&mut conn, migrations)?;
        Ok(Self {
            conn: Mutex::new(conn),
            path,
            registry_seen: std::sync::atomic::AtomicI64::new(-1),
        })
    }

    /// The database file, or `None` in memory.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// The highest migration version applied.
    pub fn schema_version(&self) -> Result<u32> {
        let conn = self.lock();
        Ok(migrate::recorded(&conn)?
            .keys()
            .next_back()
            .copied()
            .unwrap_or(0))
    }

    fn lock(&self) -> MutexGuard<'_, Connection> {
        // A panic mid-call dropped its transaction, which rolled back: the connection is sound.
        self.conn
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Run `f` in one write transaction; commit on `Ok`, roll back on `Err`.
    fn write<T>(&self, f: impl FnOnce(&Transaction<'_>) -> Result<T>) -> Result<T> {
        let mut conn = self.lock();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .db()?;
        let out = f(&tx)?;
        tx.commit().db()?;
        Ok(out)
    }

    fn read<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        let conn = self.lock();
        f(&conn)
    }
}

impl Backend for SqliteStore {
    fn write_tx<T: Send>(
        &self,
        f: &mut (dyn FnMut(&mut dyn Conn) -> Result<T> + Send),
    ) -> Result<T> {
        self.write(|tx| f(&mut Lite(tx)))
    }

    fn read_conn<T: Send>(&self, f: &(dyn Fn(&mut dyn Conn) -> Result<T> + Sync)) -> Result<T> {
        self.read(|c| f(&mut Lite(c)))
    }
}
