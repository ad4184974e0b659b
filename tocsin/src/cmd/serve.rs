//! `tocsin serve`: the HTTP API over the store.

use super::{open_engine, Globals, Settings};
use anyhow::Result;
use std::net::SocketAddr;
use std::sync::Arc;
use tocsin_engine::scheduler::SchedulerSettings;
use tocsin_store::Store;

const SHUTDOWN_GRACE_SECS: u64 = 10;

#[derive(clap::Args, Debug)]
pub struct ServeArgs {
    #[arg(long, default_value = "127.0.0.1:8080", env = "TOCSIN_LISTEN")]
    listen: SocketAddr,
    /// Load the reference case into the store at start (skipped if it is already there).
    #[arg(long)]
    demo: bool,
    /// Seconds between scheduler passes (release, outbox, posture check-ins, SLA).
    #[arg(long, default_value_t = 30, env = "TOCSIN_TICK_SECS")]
    tick_secs: u64,
    /// Load the reference case's registry, audiences and report, matched but not yet worked (no
    /// determination), for working it by hand in the console (skipped if it is already there).
    #[arg(long, conflicts_with = "demo")]
    seed_reference: bool,
    /// Run the server's clock from this instant (RFC 3339) instead of now, advancing with the wall
    /// clock: replays a past case such as the reference case (`2024-03-06T08:30:00Z`) live.
    #[arg(long, value_parser = parse_instant)]
    clock_start: Option<chrono::DateTime<chrono::Utc>>,
    /// Mark the console's session cookie Secure (`true`/`false`). Default: Secure unless listening
    /// on a loopback address; set `true` behind a TLS proxy on the same host (docs/security.md).
    #[arg(long, env = "TOCSIN_COOKIE_SECURE")]
    cookie_secure: Option<bool>,
}

fn parse_instant(s: &str) -> Result<chrono::DateTime<chrono::Utc>, String> {
    chrono::DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&chrono::Utc))
        .map_err(|e| format!("{s:?} is not an RFC 3339 instant such as 2024-03-06T08:30:00Z: {e}"))
}

pub async fn run(args: ServeArgs, g: &Globals, settings: &Settings) -> Result<()> {
    let engine = open_engine(&g.db, g.outbox.clone(), settings)?;
    if args.demo && engine.store().threat(&"moscow-2024-03".into())?.is_none() {
        super::demo::load_into(&engine, None)?;
        tracing::info!("reference case loaded into {}", g.db);
    }
    // The clock every request and scheduler pass reads: wall time, shifted if --clock-start.
    let offset = args
        .clock_start
        .map(|t| t - chrono::Utc::now())
        .unwrap_or_else(chrono::Duration::zero);
    let clock = move || chrono::Utc::now() + offset;
    if args.seed_reference && engine.store().threat(&"moscow-2024-03".into())?.is_none() {
        let s = super::demo::seed_reference(&engine, clock())?;
        tracing::info!(
            venues = s.venues,
            events = s.events,
            audiences = s.audiences,
            matches = s.matches,
            "reference case seeded (not yet worked)"
        );
    }
    let store: Arc<dyn Store> = engine.store().clone();
    let given = std::env::var("TOCSIN_ADMIN_TOKEN")
        .ok()
        .filter(|s| !s.is_empty());
    if let Some(secret) =
        tocsin_auth::bootstrap_admin_token(store.as_ref(), given.as_deref(), chrono::Utc::now())?
    {
        // Printed once, on stdout only; the store keeps nothing but its hash.
        println!("admin token (shown once, store it now): {secret}");
    }
    let engine = Arc::new(engine);
    // Several serve processes may share the database: only the leader runs the scheduler.
    let scheduler = tocsin_engine::scheduler::spawn(
        engine.clone(),
        SchedulerSettings::every(std::time::Duration::from_secs(args.tick_secs)),
        clock,
    )?;
    tracing::info!("listening on http://{}", args.listen);
    let mut state = tocsin_server::AppState::new(store)
        .with_engine(engine)
        .with_clock(clock);
    if let Some(secure) = args.cookie_secure {
        state = state.with_secure_cookies(secure);
    }
    let server = tocsin_server::serve(state, args.listen);
    // Graceful shutdown waits for open connections; a client that keeps one open must not keep
    // the process alive after SIGTERM: it gets a grace period, then the process exits.
    let deadline = async {
        tocsin_server::shutdown_signal().await;
        tokio::time::sleep(std::time::Duration::from_secs(SHUTDOWN_GRACE_SECS)).await;
    };
    let result = tokio::select! {
        r = server => r.map_err(anyhow::Error::from),
        () = deadline => {
            tracing::warn!("connections still open {SHUTDOWN_GRACE_SECS} s after the shutdown signal: exiting");
            Ok(())
        }
    };
    // Resigning waits for a pass in progress: off the async workers.
    tokio::task::spawn_blocking(move || scheduler.resign()).await?;
    result
}
