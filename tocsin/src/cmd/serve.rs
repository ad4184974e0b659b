//! `tocsin serve`: the HTTP API over the store.

use super::{open_engine, Globals};
use anyhow::Result;
use std::net::SocketAddr;
use std::sync::Arc;
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
}

pub async fn run(args: ServeArgs, g: &Globals) -> Result<()> {
    let engine = open_engine(&g.db, g.outbox.clone())?;
    if args.demo && engine.store().threat(&"moscow-2024-03".into())?.is_none() {
        super::demo::load_into(&engine, None)?;
        tracing::info!("reference case loaded into {}", g.db.display());
    }
    let store: Arc<dyn Store> = engine.store().clone();
    let given = std::env::var("TOCSIN_ADMIN_TOKEN").ok().filter(|s| !s.is_empty());
    if let Some(secret) = tocsin_server::bootstrap_admin_token(store.as_ref(), given.as_deref(), chrono::Utc::now())? {
        // Printed once, on stdout only; the store keeps nothing but its hash.
        println!("admin token (shown once, store it now): {secret}");
    }
    let engine = Arc::new(engine);
    spawn_scheduler(engine.clone(), args.tick_secs.max(1));
    tracing::info!("listening on http://{}", args.listen);
    let server = tocsin_server::serve(tocsin_server::AppState::new(store).with_engine(engine), args.listen);
    // Graceful shutdown waits for open connections; a client that keeps one open must not keep
    // the process alive after SIGTERM: it gets a grace period, then the process exits.
    let deadline = async {
        tocsin_server::shutdown_signal().await;
        tokio::time::sleep(std::time::Duration::from_secs(SHUTDOWN_GRACE_SECS)).await;
    };
    tokio::select! {
        r = server => r?,
        () = deadline => tracing::warn!("connections still open {SHUTDOWN_GRACE_SECS} s after the shutdown signal: exiting"),
    }
    Ok(())
}

/// The scheduler: the same rules the demo replays, on the wall clock.
fn spawn_scheduler(engine: Arc<tocsin_engine::Engine>, every: u64) {
    tokio::spawn(async move {
        let mut interval = tokio::time::interval(std::time::Duration::from_secs(every));
        loop {
            interval.tick().await;
            let e = engine.clone();
            match tokio::task::spawn_blocking(move || e.tick(chrono::Utc::now())).await {
                Ok(Ok(())) => {}
                Ok(Err(err)) => tracing::error!(error = %err, "scheduler pass failed"),
                Err(err) => tracing::error!(error = %err, "scheduler pass panicked"),
            }
        }
    });
}
