//! The PostgreSQL backend of Tocsin's store: the same [`tocsin_store::Store`] contract as SQLite,
//! for several Tocsin processes sharing one database (docs/storage.md). The operations are written
//! once in `tocsin_store` (`ops` and its siblings); this crate is the driver they run on
//! ([`tocsin_store::ops::Backend`], [`tocsin_store::sql::Conn`]), plus what differs by nature:
//!
//! * **One schema source.** Migrations are `tocsin_store::migrations::MIGRATIONS` in their
//!   PostgreSQL spelling ([`tocsin_store::migrations::postgres_sql`]), recorded in
//!   `schema_migrations`; a session advisory lock lets one of several starting processes migrate.
//! * **One audit chain.** Every write transaction first takes a transaction-level advisory lock on
//!   the chain (`pg_advisory_xact_lock`), then reads the head, appends its event and commits. Writers
//!   in any number of processes are therefore serialised exactly as SQLite's `BEGIN IMMEDIATE`
//!   serialises them: the chain never forks and `seq` order is commit order.
//! * **A shared outbox.** Claims pick due rows with `FOR UPDATE SKIP LOCKED`, so workers never wait
//!   on each other's rows and never receive the same delivery while its lease holds.
//! * **Same bytes.** Times are RFC 3339 text, records canonical JSON, booleans real booleans but
//!   dumped as 0/1 ([`tocsin_store::Dump`]): a dump reads the same from either backend.
//! * **Sync from async.** The trait is sync and is called from axum handlers; every call goes
//!   through a bridge that keeps the sync driver off tokio's worker threads (`pool::blocking`).

mod coordination;
mod dump;
mod migrate;
mod pool;
mod portable;
mod sql;
pub mod testing;
mod url;

pub use url::{redact, DEFAULT_POOL_SIZE};

use pool::{blocking, Pool};
use postgres::error::SqlState;
use postgres::Client;
use sql::{Cx, Tx};
use tocsin_store::ops::Backend;
use tocsin_store::sql::Conn;
use tocsin_store::{Result, StoreError};

/// Advisory lock key of the audit chain: every write transaction holds it until commit (shown in
/// `pg_locks` as `objid`/`classid` halves of this number while a write is in progress).
pub const CHAIN_LOCK: i64 = 0x746f_6373_696e_6368;
/// Taking it, as simple-protocol text (one round trip, nothing to prepare).
const CHAIN_LOCK_SQL: &str = "SELECT pg_advisory_xact_lock(8390033978155754344)";

/// A driver error as text, with the server's message and SQLSTATE when there is one (the driver's
/// own `Display` says only "db error").
pub(crate) fn describe(e: &postgres::Error) -> String {
    match e.as_db_error() {
        Some(d) => {
            let mut s = format!("{} (SQLSTATE {})", d.message(), d.code().code());
            if let Some(detail) = d.detail() {
                s.push_str(": ");
                s.push_str(detail);
            }
            s
        }
        None => {
            let mut s = e.to_string();
            let mut src = std::error::Error::source(e);
            while let Some(inner) = src {
                s.push_str(": ");
                s.push_str(&inner.to_string());
                src = inner.source();
            }
            s
        }
    }
}

/// `?` for driver results (`From` cannot be implemented here: both types are foreign).
pub(crate) trait Db<T> {
    fn db(self) -> Result<T>;
}

impl<T> Db<T> for std::result::Result<T, postgres::Error> {
    fn db(self) -> Result<T> {
        self.map_err(|e| StoreError::Db(describe(&e)))
    }
}

/// A UNIQUE or PRIMARY KEY constraint failed.
pub(crate) fn is_unique_violation(e: &postgres::Error) -> bool {
    e.code() == Some(&SqlState::UNIQUE_VIOLATION)
}

/// The PostgreSQL store: a pool of connections to one database.
pub struct PgStore {
    pool: Pool,
    url: String,
    /// Connection and registry state of `Coordination` (leadership sessions, LISTEN).
    coord: coordination::CoordState,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore")
            .field("url", &self.url)
            .field("pool_size", &self.pool.size())
            .finish_non_exhaustive()
    }
}

impl PgStore {
    /// Connect to `url` (`postgres://user[:password]@host[:port]/db[?pool_size=N&…]`) and bring the
    /// schema up to date. The database must exist; connections open lazily up to `pool_size`
    /// (default [`DEFAULT_POOL_SIZE`]).
    pub fn connect(url: &str) -> Result<Self> {
        let parsed = url::parse(url)?;
        let shown = redact(url);
        let config: postgres::Config =
            parsed
                .driver
                .parse()
                .map_err(|e: postgres::Error| StoreError::Invalid {
                    kind: "PostgreSQL URL",
                    id: shown.clone(),
                    reason: describe(&e),
                })?;
        let pool = Pool::new(config, shown.clone(), parsed.pool_size);
        blocking(|| -> Result<()> {
            let mut c = pool.connect()?;
            migrate::apply(&mut c, tocsin_store::migrations::MIGRATIONS)?;
            Ok(())
        })?;
        Ok(Self {
            pool,
            url: shown,
            coord: coordination::CoordState::default(),
        })
    }

    /// The URL connected to, without its password.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Connections this store may open at once.
    pub fn pool_size(&self) -> usize {
        self.pool.size()
    }

    /// The highest migration version applied.
    pub fn schema_version(&self) -> Result<u32> {
        self.read(|c| {
            Ok(migrate::recorded(c.client)?
                .keys()
                .next_back()
                .copied()
                .unwrap_or(0))
        })
    }

    /// Run `f` in one write transaction holding the chain lock; commit on `Ok`, roll back on `Err`.
    /// A pooled connection whose session died meanwhile (server restart, terminated backend)
    /// fails at `BEGIN`, before anything was written: it is discarded and the next one tried.
    pub(crate) fn write<T: Send>(
        &self,
        f: impl FnOnce(&mut Tx<'_>) -> Result<T> + Send,
    ) -> Result<T> {
        blocking(|| {
            let mut dead = 0;
            loop {
                let mut conn = self.pool.get()?;
                let (client, cache) = conn.parts();
                // The chain lock is taken first, before any row lock: writers queue there, so they
                // cannot deadlock on rows, and the chain head read later is the head at commit.
                let begun = match Tx::begin(client, cache, CHAIN_LOCK_SQL) {
                    Ok(mut tx) => {
                        let out = f(&mut tx)?;
                        tx.commit().db()?;
                        return Ok(out);
                    }
                    Err(e) => e,
                };
                if !(conn.parts().0.is_closed() && dead < self.pool.size()) {
                    return Err(StoreError::Db(describe(&begun)));
                }
                dead += 1;
            }
        })
    }

    /// Run `f` on a pooled connection. A read that failed because its connection had died is run
    /// again on another one (reads are safe to repeat), so a server restart costs no errors.
    pub(crate) fn read<T: Send>(
        &self,
        f: impl Fn(&mut Cx<'_>) -> Result<T> + Send + Sync,
    ) -> Result<T> {
        blocking(|| {
            let mut dead = 0;
            loop {
                let mut conn = self.pool.get()?;
                let (client, cache) = conn.parts();
                match f(&mut Cx { client, cache }) {
                    Err(_) if conn.parts().0.is_closed() && dead < self.pool.size() => dead += 1,
                    other => return other,
                }
            }
        })
    }

    /// A dedicated connection outside the pool (leadership sessions, LISTEN).
    pub(crate) fn dedicated(&self) -> Result<Client> {
        self.pool.connect()
    }
}

impl Drop for PgStore {
    fn drop(&mut self) {
        // Clients own a small runtime each; dropping one on a tokio worker would panic.
        let pool = &self.pool;
        let coord = &self.coord;
        blocking(|| {
            coord.close();
            pool.close_idle();
        });
    }
}

impl Backend for PgStore {
    fn write_tx<T: Send>(
        &self,
        f: &mut (dyn FnMut(&mut dyn Conn) -> Result<T> + Send),
    ) -> Result<T> {
        self.write(|tx| f(tx))
    }

    fn read_conn<T: Send>(&self, f: &(dyn Fn(&mut dyn Conn) -> Result<T> + Sync)) -> Result<T> {
        self.read(|c| f(c))
    }

    /// Not audited, so no chain lock: a plain statement on a pooled connection.
    fn write_unaudited<T: Send>(
        &self,
        f: &(dyn Fn(&mut dyn Conn) -> Result<T> + Sync),
    ) -> Result<T> {
        self.read(|c| f(c))
    }

    /// Wake every `wait_registry_change` (delivered at commit).
    fn registry_changed(&self, tx: &mut dyn Conn) -> Result<()> {
        tx.exec(
            "SELECT pg_notify(?1, '')",
            &[coordination::REGISTRY_CHANNEL.into()],
        )?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_chain_lock_text_names_the_chain_key() {
        assert_eq!(
            CHAIN_LOCK_SQL,
            format!("SELECT pg_advisory_xact_lock({CHAIN_LOCK})")
        );
    }
}
