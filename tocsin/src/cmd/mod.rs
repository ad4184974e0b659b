//! One module per subcommand; each has an `Args` struct and a `run`.

pub mod bench;
pub mod compose;
pub mod db;
pub mod demo;
pub mod export;
pub mod feed;
pub mod import;
pub mod ingest;
pub mod migrate;
pub mod report;
pub mod scheduler;
pub mod serve;
pub mod token;
pub mod user;
pub mod verify;
pub mod worker;

use anyhow::{Context, Result};
pub use db::DbLocation;
use std::path::PathBuf;
use std::sync::OnceLock;
use tocsin_core::duty::DutyPolicy;
use tocsin_engine::{Engine, EngineConfig};

/// Options every subcommand shares.
#[derive(clap::Args, Debug, Clone)]
pub struct Globals {
    /// The store: a SQLite file path or `sqlite:PATH` (created and migrated on first use), or a
    /// PostgreSQL URL `postgres://user@host:5432/dbname` (migrated on first use).
    #[arg(long, global = true, env = "TOCSIN_DB", default_value = "./tocsin.db")]
    pub db: DbLocation,
    /// Root directory of the file delivery channel (default: `outbox/` beside the database).
    #[arg(long, global = true, env = "TOCSIN_OUTBOX")]
    pub outbox: Option<PathBuf>,
    /// Duty policy file (TOML, see docs/duty.md); default: the built-in ICD 191 policy.
    #[arg(long, global = true, env = "TOCSIN_POLICY")]
    pub policy: Option<PathBuf>,
    /// Base URL recipients reach this server at; used in signed one-time links.
    #[arg(
        long,
        global = true,
        env = "TOCSIN_PUBLIC_URL",
        default_value = "http://127.0.0.1:8080"
    )]
    pub public_url: String,
}

/// Engine settings that come from the global options, fixed once at start (`configure`).
struct Settings {
    policy: DutyPolicy,
    public_url: String,
}

static SETTINGS: OnceLock<Settings> = OnceLock::new();

/// Read the global options that shape every engine (policy file, public URL). Call once in main.
pub fn configure(g: &Globals) -> Result<()> {
    let policy = match &g.policy {
        Some(p) => {
            let text = std::fs::read_to_string(p)
                .with_context(|| format!("reading policy {}", p.display()))?;
            tocsin_formats::policy::parse_policy(&text)
                .with_context(|| format!("in {}", p.display()))?
        }
        None => DutyPolicy::icd191(),
    };
    let _ = SETTINGS.set(Settings {
        policy,
        public_url: g.public_url.clone(),
    });
    Ok(())
}

pub fn open_engine(db: &DbLocation, outbox: Option<PathBuf>) -> Result<Engine> {
    let store = db.open()?;
    let outbox = outbox.unwrap_or_else(|| db.default_outbox());
    let mut config = EngineConfig::new(outbox);
    if let Some(s) = SETTINGS.get() {
        config.policy = s.policy.clone();
        config.public_url = s.public_url.clone();
    }
    Ok(Engine::open(store, config)?)
}
