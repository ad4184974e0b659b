//! `tocsin`: the command-line entry point. Thin: parsing arguments, choosing the store, printing.

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tocsin_engine::demo::{self, DemoReport};
use tocsin_engine::{Engine, EngineConfig};
use tocsin_store::{AuditCtx, SqliteStore, Store};

/// The reference case ships inside the binary so `tocsin demo` works from any directory.
const REFERENCE_CASE: &[(&str, &str)] = &[
    ("venues.csv", include_str!("../../examples/moscow-2024/venues.csv")),
    ("events.csv", include_str!("../../examples/moscow-2024/events.csv")),
    ("audiences.toml", include_str!("../../examples/moscow-2024/audiences.toml")),
    ("report.txt", include_str!("../../examples/moscow-2024/report.txt")),
];

#[derive(Parser, Debug)]
#[command(name = "tocsin", version, about = "Tocsin: a duty-to-warn engine — from threat intelligence to warnings that reach the right people, reveal no sources, and keep them on guard.")]
struct Cli {
    /// The store: a SQLite file path (created and migrated on first use).
    #[arg(long, global = true, env = "TOCSIN_DB", default_value = "./tocsin.db")]
    db: PathBuf,
    /// Root directory of the file delivery channel (default: `outbox/` beside the database).
    #[arg(long, global = true, env = "TOCSIN_OUTBOX")]
    outbox: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Load venues.csv, events.csv, audiences.toml and *.txt reports from a directory.
    Import { dir: PathBuf },
    /// Replay the reference case "Moscow, March 2024" in a fresh temporary store.
    Demo {
        /// Print one JSON object instead of the readable timeline.
        #[arg(long)]
        json: bool,
        /// Use the case files from this directory instead of the built-in copy.
        #[arg(long)]
        examples: Option<PathBuf>,
    },
    /// Serve the HTTP API over the store.
    Serve {
        #[arg(long, default_value = "127.0.0.1:8080", env = "TOCSIN_LISTEN")]
        listen: SocketAddr,
        /// Load the reference case into the store at start (skipped if it is already there).
        #[arg(long)]
        demo: bool,
    },
    /// Verify the audit chain of the store.
    Verify,
}

fn open_engine(db: &Path, outbox: Option<PathBuf>) -> Result<Engine> {
    let store = SqliteStore::open(db).with_context(|| format!("opening store {}", db.display()))?;
    let outbox = outbox.unwrap_or_else(|| db.parent().map(|p| p.join("outbox")).unwrap_or_else(|| PathBuf::from("outbox")));
    Ok(Engine::open(Arc::new(store), EngineConfig::new(outbox))?)
}

fn write_reference_case(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir)?;
    for (name, text) in REFERENCE_CASE {
        std::fs::write(dir.join(name), text).with_context(|| format!("writing {}", dir.join(name).display()))?;
    }
    Ok(())
}

/// Run the demo in `work` (a fresh directory): its store, outbox and case files live there.
fn run_demo_in(work: &Path, examples: Option<PathBuf>, db: Option<&Path>) -> Result<(Engine, DemoReport)> {
    let examples = match examples {
        Some(e) => e,
        None => {
            let dir = work.join("moscow-2024");
            write_reference_case(&dir)?;
            dir
        }
    };
    let db_path = db.map(Path::to_owned).unwrap_or_else(|| work.join("tocsin.db"));
    let engine = open_engine(&db_path, Some(work.join("outbox")))?;
    let report = demo::run(&engine, &examples)?;
    Ok((engine, report))
}

fn print_human(r: &DemoReport) {
    println!("Tocsin demo — the reference case \"Moscow, March 2024\" replayed on a simulated clock\n");
    println!("MATCHES ({}):", r.matches.len());
    for m in &r.matches {
        println!("  {:.2}  {:<40} [{}]  {}", m.score, m.entity_name, m.target, m.reasons.join("; "));
    }
    println!("\nDETERMINATION: {} (proposed by {}, approved by {}; deliver by {})", r.determination.decision.label(), r.determination.proposer, r.determination.approver.as_deref().unwrap_or("-"), r.determination.deadline.to_rfc3339());
    for c in &r.determination.criteria {
        println!("  [{}] {} — {}", if c.held { "x" } else { " " }, c.name, c.why);
    }
    for c in &r.determination.considerations {
        println!("  note: {c}");
    }
    println!("\nWARNINGS ({}):", r.warnings.len());
    for w in &r.warnings {
        println!("  --- {} → {} ({}, TLP:{}, {}, state {}) ---", w.id, w.audience, w.audience_kind, w.tlp, w.specificity, w.state);
        for line in w.text.lines() {
            println!("  | {line}");
        }
    }
    println!("\nTIMELINE:");
    for e in &r.timeline {
        println!("  {}  {:<24} {}", e.at.format("%Y-%m-%d %H:%M"), e.event, e.detail);
    }
    println!(
        "\nAUDIT: {} events, head {}, chain {}",
        r.audit.count,
        r.audit.head_hash,
        if r.audit.verified { "verified" } else { "BROKEN" }
    );
}

#[tokio::main]
async fn main() -> Result<()> {
    tracing_subscriber::fmt().with_env_filter(tracing_subscriber::EnvFilter::try_from_env("TOCSIN_LOG").unwrap_or_else(|_| "info".into())).with_writer(std::io::stderr).init();
    let cli = Cli::parse();
    let now = chrono::Utc::now();
    match cli.command {
        Command::Import { dir } => {
            let engine = open_engine(&cli.db, cli.outbox)?;
            let s = engine.import_dir(&dir, &AuditCtx::new("cli:import", now))?;
            println!("imported {} venues, {} events, {} audiences, {} reports ({} matches) into {}", s.venues, s.events, s.audiences, s.threats, s.matches, cli.db.display());
        }
        Command::Demo { json, examples } => {
            let work = tempfile::tempdir()?;
            let (_engine, report) = run_demo_in(work.path(), examples, None)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                print_human(&report);
            }
        }
        Command::Verify => {
            let store = SqliteStore::open(&cli.db)?;
            match store.verify_audit()? {
                Ok(head) => println!("audit chain verified: {} events, head {head}", store.audit_events()?.len()),
                Err(b) => bail!("{b}"),
            }
        }
        Command::Serve { listen, demo } => {
            let engine = open_engine(&cli.db, cli.outbox.clone())?;
            if demo && engine.store().threat(&"moscow-2024-03".into())?.is_none() {
                let work = tempfile::tempdir()?;
                let dir = work.path().join("moscow-2024");
                write_reference_case(&dir)?;
                demo::run(&engine, &dir)?;
                tracing::info!("reference case loaded into {}", cli.db.display());
            }
            let store: Arc<dyn Store> = engine.store().clone();
            let given = std::env::var("TOCSIN_ADMIN_TOKEN").ok().filter(|s| !s.is_empty());
            if let Some(secret) = tocsin_server::bootstrap_admin_token(store.as_ref(), given.as_deref(), now)? {
                // Printed once, on stdout only; the store keeps nothing but its hash.
                println!("admin token (shown once, store it now): {secret}");
            }
            tracing::info!("listening on http://{listen}");
            tocsin_server::serve(tocsin_server::AppState::new(store), listen).await?;
        }
    }
    Ok(())
}
