//! `tocsin bench deliver --recipients N [--workers W] [--json]`: fan one warning out to N signed
//! webhooks.
//!
//! It queues one warning for N recipients (each its own URL on a reference receiver it starts on
//! 127.0.0.1, which verifies every signature), then times W outbox workers from the first claim
//! until every delivery is recorded. Setup (queueing) is not timed. Prints `recipients`,
//! `delivered`, `workers`, `seconds`, `per_s`, `queue_seconds` (setup, not timed), `verified`,
//! `invalid`, `duplicates` (at the receiver) and `peak_rss_mb` (VmHWM, the whole run).
//!
//! Memory does not grow with N: the deliveries are queued in batches from a generator
//! (`Store::queue_warning_fanout`), the worker holds at most a claim batch, and the receiver keeps
//! a 64-bit hash per id (`Receiver::start_counting`).
//!
//! The store: a fresh SQLite file in a temporary directory, unless the global `--db` is a
//! PostgreSQL URL, which must name an empty database (the bench writes its synthetic warning
//! there). Each worker is a thread with its own store connection, claiming leased batches from the
//! shared outbox exactly as `tocsin worker` processes do.

use super::super::DbLocation;
use crate::progress::{Mode, Progress};
use anyhow::{bail, ensure, Context, Result};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;
use tocsin_core::{ChannelKind, ChannelSpec};
use tocsin_deliver::receiver::Receiver;
use tocsin_deliver::{synthetic, DeliveryConfig, WebhookKeys, WebhookSecret};

#[derive(clap::Args, Debug)]
pub struct DeliverArgs {
    /// How many webhook recipients.
    #[arg(long, default_value_t = 20_000)]
    recipients: usize,
    /// Deliveries in flight at once (the worker's `max_in_flight` and webhook concurrency).
    #[arg(long, default_value_t = 64)]
    max_in_flight: usize,
    /// Outbox workers sharing the outbox (each a thread with its own store connection).
    #[arg(long, default_value_t = 1)]
    workers: usize,
    /// One JSON object: `recipients`, `delivered`, `seconds`, `per_s`.
    #[arg(long)]
    json: bool,
}

pub fn run(args: DeliverArgs, db: &DbLocation) -> Result<()> {
    ensure!(args.workers >= 1, "--workers must be at least 1");
    let dir = tempfile::tempdir().context("creating a temporary directory")?;
    // SQLite: always a scratch file (the user's store is never touched). PostgreSQL: the database given.
    let location = match db {
        DbLocation::Postgres(_) => db.clone(),
        DbLocation::Sqlite(_) => DbLocation::Sqlite(dir.path().join("bench.db")),
    };
    let store = location.open().context("opening the bench store")?;
    ensure!(
        store.threats()?.is_empty() && store.deliveries(None)?.is_empty(),
        "{location} is not empty: bench deliver writes a synthetic warning and its deliveries, give it an empty database"
    );
    let secret = WebhookSecret::generate();
    // Counting, not keeping every id and path: the bench's memory must not grow with N.
    let receiver = Receiver::start_counting(vec![secret.clone()])
        .context("starting the local webhook receiver")?;

    let now = chrono::Utc::now();
    let queue_started = Instant::now();
    let base = receiver.url("/r/");
    synthetic::queue_fanout_streamed(
        store.as_ref(),
        args.recipients,
        &|i| ChannelSpec {
            kind: ChannelKind::Webhook,
            address: format!("{base}{i}"),
        },
        now,
    )
    .context("queueing the warning")?;
    let queue_seconds = queue_started.elapsed().as_secs_f64();

    let mut config = DeliveryConfig::default();
    config.webhook.keys = WebhookKeys::with_default(vec![secret]);
    // The benchmark's receiver listens on 127.0.0.1.
    config.webhook.destinations.allow_private = true;
    config.worker.max_in_flight = args.max_in_flight.max(1);
    if let Some(l) = config.worker.limits.get_mut(&ChannelKind::Webhook) {
        l.concurrency = args.max_in_flight.max(1);
    }
    // Each worker its own connection(s), as separate processes would have.
    let mut workers = Vec::with_capacity(args.workers);
    for i in 0..args.workers {
        let mut c = config.clone();
        c.worker.worker_id = format!("bench-{i}");
        let store = if i == 0 {
            store.clone()
        } else {
            location.open()?
        };
        workers.push((c.worker(dir.path().join("outbox"))?, store));
    }
    let (delivered_n, retrying_n, dead_n) = (
        AtomicUsize::new(0),
        AtomicUsize::new(0),
        AtomicUsize::new(0),
    );
    let stop = Arc::new(AtomicBool::new(false));

    let progress = Progress::new(
        Mode::detect(args.json),
        "delivering",
        "deliveries",
        Some(args.recipients as u64),
    );
    let started = Instant::now();
    let results: Vec<Result<()>> = std::thread::scope(|s| {
        let handles: Vec<_> = workers
            .iter()
            .map(|(w, st)| {
                let (stop, d, r, x) = (&stop, &delivered_n, &retrying_n, &dead_n);
                let progress = &progress;
                let total = args.recipients;
                s.spawn(move || {
                    w.run(st.as_ref(), stop, &mut |rep| {
                        r.fetch_add(rep.retrying.len(), Ordering::SeqCst);
                        x.fetch_add(rep.dead.len(), Ordering::SeqCst);
                        progress.inc((rep.delivered.len() + rep.dead.len()) as u64);
                        // Every delivery has an outcome: all workers stop.
                        if d.fetch_add(rep.delivered.len(), Ordering::SeqCst)
                            + rep.delivered.len()
                            + x.load(Ordering::SeqCst)
                            >= total
                        {
                            stop.store(true, Ordering::SeqCst);
                        }
                    })
                    .map_err(anyhow::Error::from)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(anyhow::anyhow!("a worker thread panicked")))
            })
            .collect()
    });
    let seconds = started.elapsed().as_secs_f64();
    progress.finish(&format!("{} worker(s)", args.workers));
    for r in results {
        r?;
    }

    let delivered = delivered_n.load(Ordering::SeqCst);
    let got = receiver.received();
    let per_s = if seconds > 0.0 {
        delivered as f64 / seconds
    } else {
        0.0
    };
    let peak_rss_mb = super::feed::peak_rss_mb();
    if args.json {
        println!(
            "{}",
            serde_json::json!({
                "recipients": args.recipients,
                "delivered": delivered,
                "workers": args.workers,
                "store": location.to_string(),
                "seconds": seconds,
                "per_s": per_s,
                "queue_seconds": queue_seconds,
                "verified": got.verified,
                "invalid": got.invalid.len(),
                "duplicates": got.duplicates(),
                "peak_rss_mb": peak_rss_mb,
            })
        );
    } else {
        println!("recipients  {}", args.recipients);
        println!("delivered   {delivered}");
        println!("workers     {} on {location}", args.workers);
        println!("seconds     {seconds:.3}");
        println!("per_s       {per_s:.0}");
        println!("queued in   {queue_seconds:.3} s (not timed)");
        println!("peak RSS    {peak_rss_mb:.0} MiB");
        println!(
            "receiver    {} verified, {} invalid, {} duplicates",
            got.verified,
            got.invalid.len(),
            got.duplicates()
        );
        println!("audit       {} events", store.audit_events()?.len());
    }
    // Exact: every recipient's request verified once, besides the re-sends counted as duplicates.
    let distinct = got.verified.saturating_sub(got.duplicates());
    if delivered != args.recipients || !got.invalid.is_empty() || distinct != args.recipients as u64
    {
        bail!(
            "only {delivered} of {} delivered ({} retrying, {} dead; receiver: {distinct} distinct ids verified, {} invalid signatures)",
            args.recipients,
            retrying_n.load(Ordering::SeqCst),
            dead_n.load(Ordering::SeqCst),
            got.invalid.len()
        );
    }
    Ok(())
}
