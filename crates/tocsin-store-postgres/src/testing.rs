//! Throwaway PostgreSQL databases for tests (this crate's, and the end-to-end tests of the binary).
//!
//! ```no_run
//! let db = tocsin_store_postgres::testing::TempDb::create().expect("PostgreSQL for tests");
//! let store = tocsin_store_postgres::PgStore::connect(db.url()).unwrap();
//! // … the database is dropped (even with open connections) when `db` goes out of scope.
//! ```
//!
//! The server is `TOCSIN_TEST_PG` (default [`DEFAULT_SERVER`]): a URL of any database on it, as a
//! user allowed to create databases. Each `TempDb` is `tocsin_test_<pid>_<counter>_<random>`, so
//! parallel tests and parallel test binaries never share one. Databases left behind by test
//! processes that died are dropped by the next `create` in any process (when the server is on this
//! machine, where the creating process can be looked up). An unreachable server is
//! an error naming the URL and the variable: tests must fail, not skip, when it is missing.

use crate::pool::blocking;
use crate::{describe, redact};
use postgres::{Client, NoTls};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Once;
use tocsin_store::{Result, StoreError};

/// The server tests use when `TOCSIN_TEST_PG` is not set.
pub const DEFAULT_SERVER: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// The environment variable naming the test server.
pub const SERVER_VAR: &str = "TOCSIN_TEST_PG";

const PREFIX: &str = "tocsin_test_";

static COUNTER: AtomicU64 = AtomicU64::new(0);
static SWEEP: Once = Once::new();

/// The test server's admin URL.
pub fn server_url() -> String {
    std::env::var(SERVER_VAR)
        .ok()
        .filter(|s| !s.trim().is_empty())
        .unwrap_or_else(|| DEFAULT_SERVER.to_owned())
}

/// `url` with its database name replaced by `db`.
fn with_database(url: &str, db: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let after_scheme = base.find("://").map_or(0, |i| i + 3);
    let host_end = base[after_scheme..]
        .find('/')
        .map_or(base.len(), |i| after_scheme + i);
    let mut out = format!("{}/{db}", &base[..host_end]);
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
}

fn admin(url: &str) -> Result<Client> {
    Client::connect(url, NoTls).map_err(|e| {
        StoreError::Db(format!(
            "PostgreSQL for tests is unreachable at {} (set {SERVER_VAR} to another server): {}",
            redact(url),
            describe(&e)
        ))
    })
}

/// A database created for one test and dropped when this value is dropped.
#[derive(Debug)]
pub struct TempDb {
    admin_url: String,
    name: String,
    url: String,
}

impl TempDb {
    /// Create a fresh, empty database on the test server.
    pub fn create() -> Result<Self> {
        let admin_url = server_url();
        let name = format!(
            "{PREFIX}{}_{}_{:08x}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed),
            rand::random::<u32>()
        );
        let url = with_database(&admin_url, &name);
        blocking(|| -> Result<()> {
            let mut c = admin(&admin_url)?;
            if is_local(&admin_url) {
                SWEEP.call_once(|| sweep_orphans(&mut c));
            }
            c.batch_execute(&format!("CREATE DATABASE \"{name}\""))
                .map_err(|e| {
                    StoreError::Db(format!(
                        "cannot create test database {name} on {}: {}",
                        redact(&admin_url),
                        describe(&e)
                    ))
                })
        })?;
        Ok(Self {
            admin_url,
            name,
            url,
        })
    }

    /// The URL of the database (append `?pool_size=N` to size a store's pool).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The database name.
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl Drop for TempDb {
    fn drop(&mut self) {
        let (admin_url, name) = (&self.admin_url, &self.name);
        blocking(|| {
            // FORCE ends sessions a test left open (a leaked store, a LISTEN connection).
            if let Ok(mut c) = admin(admin_url) {
                if let Err(e) =
                    c.batch_execute(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                {
                    eprintln!(
                        "warning: could not drop test database {name}: {}",
                        describe(&e)
                    );
                }
            }
        });
    }
}

/// Whether the server runs on this machine: only then can a database's creating process be
/// looked up (`/proc/<pid>`), so only then are orphans swept.
fn is_local(url: &str) -> bool {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split(['/', '?']).next().unwrap_or("");
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = if host_port.starts_with('[') {
        host_port.split(']').next().map(|h| &h[1..]).unwrap_or("")
    } else {
        host_port.split(':').next().unwrap_or("")
    };
    matches!(host, "127.0.0.1" | "localhost" | "::1")
}

/// Drop test databases whose creating process is gone (a killed `cargo test`).
fn sweep_orphans(c: &mut Client) {
    let Ok(rows) = c.query(
        "SELECT datname::TEXT FROM pg_database WHERE datname LIKE 'tocsin\\_test\\_%'",
        &[],
    ) else {
        return;
    };
    for row in rows {
        let Ok(name) = row.try_get::<_, String>(0) else {
            continue;
        };
        let pid = name
            .strip_prefix(PREFIX)
            .and_then(|rest| rest.split('_').next())
            .and_then(|p| p.parse::<u32>().ok());
        let alive = match pid {
            Some(pid) => {
                pid == std::process::id() || std::path::Path::new(&format!("/proc/{pid}")).exists()
            }
            None => true,
        };
        if !alive {
            let _ = c.batch_execute(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_name_is_replaced() {
        assert_eq!(
            with_database("postgres://postgres@127.0.0.1:5432/postgres", "x"),
            "postgres://postgres@127.0.0.1:5432/x"
        );
        assert_eq!(
            with_database("postgres://u:p@h/db?sslmode=disable", "x"),
            "postgres://u:p@h/x?sslmode=disable"
        );
        assert_eq!(with_database("postgres://h", "x"), "postgres://h/x");
    }

    #[test]
    fn orphans_are_swept_only_on_this_machine() {
        assert!(is_local("postgres://postgres@127.0.0.1:5432/postgres"));
        assert!(is_local("postgres://u:p@localhost/db?sslmode=disable"));
        assert!(is_local("postgres://u@[::1]:5432/db"));
        assert!(!is_local("postgres://u@db.example:5432/db"));
        assert!(!is_local("postgres://u@10.0.0.5/db"));
    }

    #[test]
    fn an_unreachable_server_is_a_clear_error() {
        let Err(e) = admin("postgres://postgres:pw@127.0.0.1:1/postgres") else {
            panic!("connected to port 1?")
        };
        let e = e.to_string();
        assert!(e.contains("PostgreSQL for tests is unreachable at postgres://postgres:***@127.0.0.1:1/postgres"), "{e}");
        assert!(e.contains(SERVER_VAR), "{e}");
    }

    #[test]
    fn a_temp_db_exists_until_dropped() {
        let db = TempDb::create().expect("PostgreSQL for tests");
        let name = db.name().to_owned();
        assert!(name.starts_with(PREFIX));
        let mut c = Client::connect(db.url(), NoTls).unwrap();
        let n: i64 = c
            .query_one(
                "SELECT COUNT(*) FROM pg_database WHERE datname = $1",
                &[&name],
            )
            .unwrap()
            .get(0);
        assert_eq!(n, 1);
        drop(db); // with `c` still connected: FORCE
        let mut a = Client::connect(&server_url(), NoTls).unwrap();
        let n: i64 = a
            .query_one(
                "SELECT COUNT(*) FROM pg_database WHERE datname = $1",
                &[&name],
            )
            .unwrap()
            .get(0);
        assert_eq!(n, 0);
    }
}
