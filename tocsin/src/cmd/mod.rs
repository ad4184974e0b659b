//! One module per subcommand; each has an `Args` struct and a `run`.

pub mod bench;
pub mod demo;
pub mod import;
pub mod ingest;
pub mod serve;
pub mod verify;

use anyhow::{Context, Result};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tocsin_engine::{Engine, EngineConfig};
use tocsin_store::SqliteStore;

/// Options every subcommand shares.
#[derive(clap::Args, Debug, Clone)]
pub struct Globals {
    /// The store: a SQLite file path (created and migrated on first use).
    #[arg(long, global = true, env = "TOCSIN_DB", default_value = "./tocsin.db")]
    pub db: PathBuf,
    /// Root directory of the file delivery channel (default: `outbox/` beside the database).
    #[arg(long, global = true, env = "TOCSIN_OUTBOX")]
    pub outbox: Option<PathBuf>,
}

pub fn open_engine(db: &Path, outbox: Option<PathBuf>) -> Result<Engine> {
    let store = SqliteStore::open(db).with_context(|| format!("opening store {}", db.display()))?;
    let outbox = outbox.unwrap_or_else(|| db.parent().map(|p| p.join("outbox")).unwrap_or_else(|| PathBuf::from("outbox")));
    Ok(Engine::open(Arc::new(store), EngineConfig::new(outbox))?)
}
