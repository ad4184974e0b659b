//! `tocsin`: the command-line entry point. Thin: each subcommand lives in `cmd/`.

mod cmd;
mod progress;

use anyhow::Result;
use clap::{Parser, Subcommand};

#[derive(Parser, Debug)]
#[command(
    name = "tocsin",
    version,
    about = "Tocsin: a duty-to-warn engine — from threat intelligence to warnings that reach the right people, reveal no sources, and keep them on guard."
)]
struct Cli {
    #[command(flatten)]
    globals: cmd::Globals,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Load venues.csv, events.csv, audiences.toml and *.txt reports from a directory.
    Import(cmd::import::ImportArgs),
    /// Replay the reference case "Moscow, March 2024" in a fresh temporary store.
    Demo(cmd::demo::DemoArgs),
    /// Serve the HTTP API over the store.
    Serve(cmd::serve::ServeArgs),
    /// Verify the audit chain of the store.
    Verify,
    /// Compose the warning one audience would get from one report (leak gate included).
    Compose(cmd::compose::ComposeArgs),
    /// Turn outside material (free text, STIX 2.1, CAP 1.2) into a proposed or stored threat.
    #[command(subcommand)]
    Ingest(cmd::ingest::IngestCommand),
    /// API tokens (`token create --role R --label L [--scopes S] [--user U] [--expires-in 30d]`,
    /// `token list`, `token revoke ID`).
    #[command(subcommand)]
    Token(cmd::token::TokenCommand),
    /// Users of the console and owners of tokens (`user create|list|disable`).
    #[command(subcommand)]
    User(cmd::user::UserCommand),
    /// Reports over the store (`report effectiveness`).
    #[command(subcommand)]
    Report(cmd::report::ReportCommand),
    /// Say what this process would do with these settings: the store, the deployment's clock and
    /// the delivery channels it can send (`doctor [--channels FILE] [--webhook-keys F] [--smtp-…]`).
    Doctor(cmd::doctor::DoctorArgs),
    /// Run the outbox worker against the store until SIGTERM/SIGINT (several may run at once).
    Worker(cmd::worker::WorkerArgs),
    /// Copy the whole store into an empty one on another backend and verify it
    /// (`migrate --from sqlite:PATH --to postgres://…`, or the reverse).
    Migrate(cmd::migrate::MigrateArgs),
    /// Benchmarks that print figures (`--json` for machines).
    #[command(subcommand)]
    Bench(cmd::bench::BenchCommand),
    /// Write the stored warnings as STIX 2.1 bundles or CAP 1.2 alerts.
    #[command(subcommand)]
    Export(cmd::export::ExportCommand),
    /// Feeds: import a constituency, ingest scan/sinkhole feeds into per-organisation notifications.
    #[command(subcommand)]
    Feed(cmd::feed::FeedCommand),
}

#[tokio::main]
async fn main() -> Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("TOCSIN_LOG")
                .unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let g = &cli.globals;
    let settings = cmd::Settings::from_globals(g)?;
    match cli.command {
        Command::Import(a) => cmd::import::run(a, g, &settings),
        Command::Demo(a) => cmd::demo::run(a, &settings),
        Command::Serve(a) => cmd::serve::run(a, g, &settings).await,
        Command::Verify => cmd::verify::run(g),
        Command::Compose(a) => cmd::compose::run(a),
        Command::Report(c) => cmd::report::run(c, g, &settings),
        Command::Token(c) => cmd::token::run(c, g),
        Command::User(c) => cmd::user::run(c, g),
        Command::Ingest(c) => cmd::ingest::run(c, g, &settings),
        Command::Doctor(a) => cmd::doctor::run(a, g),
        Command::Worker(a) => cmd::worker::run(a, g).await,
        Command::Migrate(a) => cmd::migrate::run(a),
        Command::Bench(c) => cmd::bench::run(c, g),
        Command::Export(c) => cmd::export::run(c, g),
        Command::Feed(c) => cmd::feed::run(c, g),
    }
}
