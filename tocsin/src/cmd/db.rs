//! Where the store lives: the global `--db` / `TOCSIN_DB`, one opener for every subcommand.
//!
//! Accepted forms: a SQLite file path (`./tocsin.db`), the same with a scheme (`sqlite:PATH`), or a
//! PostgreSQL URL (`postgres://user@host:5432/tocsin`, `postgresql://…`). Any other `scheme://` is
//! refused, so a mistyped URL is never taken for a file name.

use anyhow::{Context, Result};
use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;
use tocsin_store::{Dump, Store};
use tocsin_store_sqlite::SqliteStore;

#[derive(Clone, PartialEq, Eq)]
pub enum DbLocation {
    Sqlite(PathBuf),
    /// The URL as given (it may carry a password: print it only through `Display`).
    Postgres(String),
}

impl FromStr for DbLocation {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Self, String> {
        let s = s.trim();
        if s.is_empty() {
            return Err("the database location is empty: give a SQLite file path, sqlite:PATH or postgres://…".into());
        }
        if s.starts_with("postgres://") || s.starts_with("postgresql://") {
            return Ok(Self::Postgres(s.to_owned()));
        }
        if let Some(path) = s
            .strip_prefix("sqlite://")
            .or_else(|| s.strip_prefix("sqlite:"))
        {
            if path.is_empty() {
                return Err(format!(
                    "{s:?} names no file: write sqlite:PATH, e.g. sqlite:./tocsin.db"
                ));
            }
            return Ok(Self::Sqlite(PathBuf::from(path)));
        }
        if let Some((scheme, _)) = s.split_once("://") {
            return Err(format!(
                "unknown database scheme {scheme:?} in {:?}: use a SQLite file path, sqlite:PATH, postgres:// or postgresql://",
                redact(s)
            ));
        }
        Ok(Self::Sqlite(PathBuf::from(s)))
    }
}

impl fmt::Display for DbLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Sqlite(p) => write!(f, "{}", p.display()),
            Self::Postgres(url) => f.write_str(&redact(url)),
        }
    }
}

impl fmt::Debug for DbLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DbLocation({self})")
    }
}

/// The URL with its password replaced by `***` (locations end up in logs and errors).
fn redact(url: &str) -> String {
    tocsin_store_postgres::redact(url)
}

impl DbLocation {
    /// Whether a store is there already (a server database is taken to exist; opening says).
    pub fn exists(&self) -> bool {
        match self {
            Self::Sqlite(p) => p.exists(),
            Self::Postgres(_) => true,
        }
    }

    /// The `file` channel's default root: `outbox/` beside a SQLite file, `./outbox` otherwise.
    pub fn default_outbox(&self) -> PathBuf {
        match self {
            Self::Sqlite(p) => p
                .parent()
                .map(|d| d.join("outbox"))
                .unwrap_or_else(|| PathBuf::from("outbox")),
            Self::Postgres(_) => PathBuf::from("outbox"),
        }
    }

    /// The store and its raw table access, for `tocsin migrate`.
    pub fn open_for_copy(&self) -> Result<(Arc<dyn Store>, Arc<dyn Dump>)> {
        Ok(match self {
            Self::Sqlite(p) => {
                let s = Arc::new(
                    SqliteStore::open(p)
                        .with_context(|| format!("opening store {}", p.display()))?,
                );
                (s.clone(), s)
            }
            Self::Postgres(url) => {
                let s = Arc::new(
                    tocsin_store_postgres::PgStore::connect(url)
                        .with_context(|| format!("opening store {self}"))?,
                );
                (s.clone(), s)
            }
        })
    }

    /// Open the store (creating a SQLite file) and bring its schema up to date.
    pub fn open(&self) -> Result<Arc<dyn Store>> {
        Ok(match self {
            Self::Sqlite(p) => Arc::new(
                SqliteStore::open(p).with_context(|| format!("opening store {}", p.display()))?,
            ),
            Self::Postgres(url) => Arc::new(
                tocsin_store_postgres::PgStore::connect(url)
                    .with_context(|| format!("opening store {self}"))?,
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms() {
        assert_eq!(
            "./tocsin.db".parse::<DbLocation>().unwrap(),
            DbLocation::Sqlite("./tocsin.db".into())
        );
        assert_eq!(
            "sqlite:/tmp/x.db".parse::<DbLocation>().unwrap(),
            DbLocation::Sqlite("/tmp/x.db".into())
        );
        assert_eq!(
            "sqlite:///tmp/x.db".parse::<DbLocation>().unwrap(),
            DbLocation::Sqlite("/tmp/x.db".into())
        );
        assert!(matches!(
            "postgres://u@h/db".parse::<DbLocation>().unwrap(),
            DbLocation::Postgres(_)
        ));
        assert!(matches!(
            "postgresql://u@h/db".parse::<DbLocation>().unwrap(),
            DbLocation::Postgres(_)
        ));
    }

    #[test]
    fn bad_forms_say_what_is_wrong() {
        let e = "mysql://root:hunter2@h/db"
            .parse::<DbLocation>()
            .unwrap_err();
        assert!(e.contains("unknown database scheme \"mysql\""), "{e}");
        assert!(!e.contains("hunter2"), "the password leaked: {e}");
        assert!("sqlite:"
            .parse::<DbLocation>()
            .unwrap_err()
            .contains("names no file"));
        assert!("  ".parse::<DbLocation>().unwrap_err().contains("empty"));
    }

    #[test]
    fn display_hides_the_password() {
        let d: DbLocation = "postgres://tocsin:s3cret@db.example:5432/tocsin"
            .parse()
            .unwrap();
        assert!(!d.to_string().contains("s3cret"), "{d}");
        assert!(!format!("{d:?}").contains("s3cret"));
    }
}
