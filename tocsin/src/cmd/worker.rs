//! `tocsin worker`: the outbox loop against the store, until SIGTERM or SIGINT.
//!
//! Several workers may run against one store: each claims deliveries with a lease, so none is
//! sent twice by design, and a killed worker's deliveries are taken over when its leases expire.

use super::channels::ChannelArgs;
use super::Globals;
use anyhow::{Context, Result};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use tocsin_core::ChannelKind;
use tocsin_deliver::{ChannelLimits, DeliveryConfig};

/// Channel and worker settings (shared by `worker` and `bench deliver`).
#[derive(clap::Args, Debug, Clone)]
pub struct DeliveryArgs {
    #[command(flatten)]
    pub channels: ChannelArgs,
    /// Deliveries sent but not yet recorded, at most (bounds the duplicates a crash causes).
    #[arg(long, default_value_t = 64)]
    pub max_in_flight: usize,
    /// Concurrent webhook requests.
    #[arg(long, default_value_t = 64)]
    pub webhook_concurrency: usize,
    /// Webhook requests per second (default: unlimited).
    #[arg(long)]
    pub webhook_rate: Option<f64>,
    /// Concurrent SMTP sessions.
    #[arg(long, default_value_t = 4)]
    pub email_concurrency: usize,
    /// E-mails per second (default: unlimited).
    #[arg(long)]
    pub email_rate: Option<f64>,
    /// Seconds a claim holds before another worker may take the delivery over.
    #[arg(long, default_value_t = 60)]
    pub lease_secs: i64,
    /// Attempts before a delivery goes to the dead letters.
    #[arg(long, default_value_t = 8)]
    pub max_attempts: u32,
    /// Seconds of the first retry delay (doubling, capped at one hour, with jitter).
    #[arg(long, default_value_t = 30)]
    pub retry_base_secs: i64,
}

impl DeliveryArgs {
    pub fn config(&self) -> Result<DeliveryConfig> {
        let mut c = self.channels.config()?;
        let w = &mut c.worker;
        w.max_in_flight = self.max_in_flight.max(1);
        w.lease = chrono::Duration::seconds(self.lease_secs.max(1));
        w.retry.max_attempts = self.max_attempts.max(1);
        w.retry.base = chrono::Duration::seconds(self.retry_base_secs.max(1));
        w.limits = HashMap::from([
            (
                ChannelKind::File,
                ChannelLimits {
                    concurrency: 4,
                    per_second: None,
                },
            ),
            (
                ChannelKind::Webhook,
                ChannelLimits {
                    concurrency: self.webhook_concurrency.max(1),
                    per_second: self.webhook_rate,
                },
            ),
            (
                ChannelKind::Email,
                ChannelLimits {
                    concurrency: self.email_concurrency.max(1),
                    per_second: self.email_rate,
                },
            ),
        ]);
        Ok(c)
    }
}

#[derive(clap::Args, Debug)]
pub struct WorkerArgs {
    #[command(flatten)]
    delivery: DeliveryArgs,
    /// This worker's id in leases and the audit chain (default: worker-<pid>-<random>).
    #[arg(long)]
    worker_id: Option<String>,
}

pub async fn run(args: WorkerArgs, g: &Globals) -> Result<()> {
    let store = g.db.open()?;
    let outbox = g.outbox.clone().unwrap_or_else(|| g.db.default_outbox());
    let mut config = args.delivery.config()?;
    config.webhook.destinations = g.webhook_destinations()?;
    if let Some(id) = args.worker_id {
        config.worker.worker_id = id;
    }
    for line in super::channels::describe(&config, &outbox) {
        if line.contains("NOT configured") {
            tracing::warn!("delivery channel {line}");
        } else {
            tracing::info!("delivery channel {line}");
        }
    }
    let clock = super::clock::DeploymentClock::live(store.clone())?;
    tracing::info!(
        "clock: {}",
        super::clock::DeploymentClock::load(store.as_ref())?.describe()
    );
    let worker = config.worker(outbox)?.with_clock(clock);
    let id = worker.config.worker_id.clone();
    tracing::info!(worker = %id, db = %g.db, max_in_flight = worker.config.max_in_flight, "outbox worker started");

    let stop = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&stop);
    // The loop blocks (SQLite, blocking HTTP): it runs off the async threads, which only wait for
    // the signals.
    let mut handle = tokio::task::spawn_blocking(move || {
        let (mut delivered, mut retrying, mut dead) = (0u64, 0u64, 0u64);
        loop {
            let res = worker.run(store.as_ref(), &flag, &mut |r| {
                delivered += r.delivered.len() as u64;
                retrying += r.retrying.len() as u64;
                dead += r.dead.len() as u64;
            });
            match res {
                Ok(()) => break,
                // A busy or briefly unavailable store must not end the worker: what it had in
                // flight is re-sent after the lease, and it carries on.
                Err(e) => {
                    tracing::error!("outbox worker: {e}; retrying in 1 s");
                    std::thread::sleep(std::time::Duration::from_secs(1));
                    if flag.load(Ordering::SeqCst) {
                        break;
                    }
                }
            }
        }
        (delivered, retrying, dead)
    });

    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .context("installing the SIGTERM handler")?;
    let finished_early = tokio::select! {
        _ = tokio::signal::ctrl_c() => None,
        _ = term.recv() => None,
        r = &mut handle => Some(r),
    };
    let (delivered, retrying, dead) = match finished_early {
        Some(r) => r?,
        None => {
            tracing::info!(worker = %id, "stopping: finishing the deliveries in flight");
            stop.store(true, Ordering::SeqCst);
            handle.await?
        }
    };
    tracing::info!(worker = %id, delivered, retrying, dead, "outbox worker stopped");
    Ok(())
}
