//! One module per subcommand; each has an `Args` struct and a `run`.

pub mod bench;
pub mod channels;
pub mod clock;
pub mod compose;
pub mod db;
pub mod demo;
pub mod doctor;
pub mod export;
pub mod feed;
pub mod import;
pub mod ingest;
pub mod migrate;
pub mod report;
pub mod serve;
pub mod token;
pub mod user;
pub mod verify;
pub mod worker;

use anyhow::{Context, Result};
pub use db::DbLocation;
use std::path::PathBuf;
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
    /// A deployment's own categories, added to the shipped taxonomy (`data/taxonomy.toml`).
    #[arg(long, global = true, env = "TOCSIN_TAXONOMY")]
    pub taxonomy: Option<PathBuf>,
    /// Let webhooks reach loopback, private, link-local and multicast addresses (tests, demos, a
    /// private deployment). Default: public addresses only (docs/delivery.md).
    #[arg(long, global = true)]
    pub allow_private_webhooks: bool,
    /// A file of host names and IP addresses (one a line, `#` comments) webhooks may reach even
    /// when they are not public.
    #[arg(long, global = true, env = "TOCSIN_WEBHOOK_ALLOW_LIST")]
    pub webhook_allow_list: Option<PathBuf>,
}

impl Globals {
    /// The webhook destinations the operator allows besides public addresses.
    pub fn webhook_destinations(&self) -> Result<tocsin_deliver::Destinations> {
        let allow = match &self.webhook_allow_list {
            Some(p) => tocsin_deliver::Destinations::load_allow_list(p)?,
            None => Vec::new(),
        };
        Ok(tocsin_deliver::Destinations {
            allow_private: self.allow_private_webhooks,
            allow,
        })
    }
}

/// What shapes every engine this process opens, read from the global options once in `main` and
/// passed by value to each subcommand that opens an engine.
#[derive(Debug, Clone)]
pub struct Settings {
    pub policy: DutyPolicy,
    pub public_url: String,
    pub taxonomy: tocsin_formats::taxonomy::Taxonomy,
    /// Where the engine's webhook channel may deliver.
    pub webhook_destinations: tocsin_deliver::Destinations,
}

impl Settings {
    /// Read the policy file (if one is named) and take the public URL.
    pub fn from_globals(g: &Globals) -> Result<Self> {
        let policy = match &g.policy {
            Some(p) => {
                let text = std::fs::read_to_string(p)
                    .with_context(|| format!("reading policy {}", p.display()))?;
                tocsin_formats::policy::parse_policy(&text)
                    .with_context(|| format!("in {}", p.display()))?
            }
            None => DutyPolicy::icd191(),
        };
        let mut taxonomy = tocsin_formats::taxonomy::Taxonomy::builtin();
        if let Some(p) = &g.taxonomy {
            let text = std::fs::read_to_string(p)
                .with_context(|| format!("reading taxonomy {}", p.display()))?;
            taxonomy
                .extend_from_toml(&text)
                .with_context(|| format!("in {}", p.display()))?;
        }
        Ok(Self {
            policy,
            public_url: g.public_url.clone(),
            taxonomy,
            webhook_destinations: g.webhook_destinations()?,
        })
    }
}

/// Open the store at `db` and an engine over it, with `settings`; the file channel writes under
/// `outbox` (default: beside the database). The engine delivers only through the file channel:
/// see [`open_engine_with`] for one that has the webhook and SMTP settings (`serve`).
pub fn open_engine(
    db: &DbLocation,
    outbox: Option<PathBuf>,
    settings: &Settings,
) -> Result<Engine> {
    open_engine_with(
        db,
        outbox,
        settings,
        tocsin_deliver::DeliveryConfig::default(),
    )
}

/// [`open_engine`] whose in-process outbox sends through `delivery`'s channels.
pub fn open_engine_with(
    db: &DbLocation,
    outbox: Option<PathBuf>,
    settings: &Settings,
    delivery: tocsin_deliver::DeliveryConfig,
) -> Result<Engine> {
    let store = db.open()?;
    let outbox = outbox.unwrap_or_else(|| db.default_outbox());
    let mut config = EngineConfig::new(outbox);
    config.delivery = delivery;
    config.policy = settings.policy.clone();
    config.public_url = settings.public_url.clone();
    config.taxonomy = settings.taxonomy.clone();
    config.delivery.webhook.destinations = settings.webhook_destinations.clone();
    Ok(Engine::open(store, config)?)
}
