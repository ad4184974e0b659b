//! `tocsin serve`: the HTTP API over the store.

use super::channels::ChannelArgs;
use super::{open_engine_with, Globals, Settings};
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
    /// Run the deployment's clock from this instant (RFC 3339) instead of now, advancing with the
    /// wall clock: replays a past case such as the reference case (`2024-03-06T08:30:00Z`) live.
    /// Recorded in the store, so `worker` and the CLI commands run on the same clock, and a later
    /// `serve` without it continues the replay.
    #[arg(long, value_parser = parse_instant, conflicts_with = "wall_clock")]
    clock_start: Option<chrono::DateTime<chrono::Utc>>,
    /// Clear a recorded replay clock: the deployment runs on the wall clock again.
    #[arg(long)]
    wall_clock: bool,
    /// Mark the console's session cookie Secure (`true`/`false`). Default: Secure unless listening
    /// on a loopback address; set `true` behind a TLS proxy on the same host (docs/security.md).
    #[arg(long, env = "TOCSIN_COOKIE_SECURE")]
    cookie_secure: Option<bool>,
    /// The delivery channels this process sends (the same settings as `tocsin worker`).
    #[command(flatten)]
    channels: ChannelArgs,
}

fn parse_instant(s: &str) -> Result<chrono::DateTime<chrono::Utc>, String> {
    chrono::DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&chrono::Utc))
        .map_err(|e| format!("{s:?} is not an RFC 3339 instant such as 2024-03-06T08:30:00Z: {e}"))
}

pub async fn run(args: ServeArgs, g: &Globals, settings: &Settings) -> Result<()> {
    let delivery = args.channels.config()?;
    let outbox = g.outbox.clone().unwrap_or_else(|| g.db.default_outbox());
    for line in super::channels::describe(&delivery, &outbox) {
        if line.contains("NOT configured") {
            tracing::warn!("delivery channel {line}");
        } else {
            tracing::info!("delivery channel {line}");
        }
    }
    let engine = open_engine_with(&g.db, Some(outbox), settings, delivery)?;
    if args.demo && engine.store().threat(&"moscow-2024-03".into())?.is_none() {
        super::demo::load_into(&engine, None)?;
        tracing::info!("reference case loaded into {}", g.db);
    }
    // The clock every request and scheduler pass reads: the deployment's, as the store records it
    // (--clock-start records a replay, --wall-clock clears it); workers read the same record.
    let store: Arc<dyn Store> = engine.store().clone();
    let wall = chrono::Utc::now();
    if let Some(start) = args.clock_start {
        let anchor = tocsin_store::ClockAnchor { clock: start, wall };
        store.set_deployment_clock(
            Some(&anchor),
            &tocsin_store::AuditCtx::new("cli:serve", start),
        )?;
    } else if args.wall_clock && store.deployment_clock()?.is_some() {
        store.set_deployment_clock(None, &tocsin_store::AuditCtx::new("cli:serve", wall))?;
    }
    tracing::info!(
        "clock: {}",
        super::clock::DeploymentClock::load(store.as_ref())?.describe()
    );
    let clock = super::clock::DeploymentClock::live(store.clone())?;
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
        {
            let clock = clock.clone();
            move || clock()
        },
    )?;
    tracing::info!("listening on http://{}", args.listen);
    let mut state = tocsin_server::AppState::new(store)
        .with_engine(engine)
        .with_deployment_clock(move || clock());
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
