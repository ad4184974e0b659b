//! `tocsin bench deliver --recipients N [--json]`: fan one warning out to N signed webhooks.
//!
//! It builds a fresh SQLite store in a temporary directory, queues one warning for N recipients
//! (each its own URL on a reference receiver it starts on 127.0.0.1, which verifies every
//! signature), then times the outbox worker from the first claim until every delivery is
//! recorded. Setup (queueing) is not timed. Prints `recipients`, `delivered`, `seconds`, `per_s`.

use anyhow::{bail, Context, Result};
use std::time::Instant;
use tocsin_core::{ChannelKind, ChannelSpec};
use tocsin_deliver::receiver::Receiver;
use tocsin_deliver::{synthetic, DeliveryConfig, WebhookKeys, WebhookSecret};
use tocsin_store::{SqliteStore, Store};

#[derive(clap::Args, Debug)]
pub struct DeliverArgs {
    /// How many webhook recipients.
    #[arg(long, default_value_t = 20_000)]
    recipients: usize,
    /// Deliveries in flight at once (the worker's `max_in_flight` and webhook concurrency).
    #[arg(long, default_value_t = 64)]
    max_in_flight: usize,
    /// One JSON object: `recipients`, `delivered`, `seconds`, `per_s`.
    #[arg(long)]
    json: bool,
}

pub fn run(args: DeliverArgs) -> Result<()> {
    let dir = tempfile::tempdir().context("creating a temporary directory")?;
    let store = SqliteStore::open(&dir.path().join("bench.db")).context("opening the bench store")?;
    let secret = WebhookSecret::generate();
    let receiver = Receiver::start(vec![secret.clone()]).context("starting the local webhook receiver")?;

    let channels: Vec<ChannelSpec> = (0..args.recipients).map(|i| ChannelSpec { kind: ChannelKind::Webhook, address: receiver.url(&format!("/r/{i}")) }).collect();
    let now = chrono::Utc::now();
    synthetic::queue_fanout(&store, &channels, now).context("queueing the warning")?;

    let mut config = DeliveryConfig::default();
    config.webhook.keys = WebhookKeys::with_default(vec![secret]);
    config.worker.max_in_flight = args.max_in_flight.max(1);
    if let Some(l) = config.worker.limits.get_mut(&ChannelKind::Webhook) {
        l.concurrency = args.max_in_flight.max(1);
    }
    let worker = config.worker(dir.path().join("outbox"))?;

    let started = Instant::now();
    let report = worker.run_once(&store, now, args.recipients)?;
    let seconds = started.elapsed().as_secs_f64();

    let delivered = report.delivered.len();
    let got = receiver.received();
    let per_s = if seconds > 0.0 { delivered as f64 / seconds } else { 0.0 };
    if args.json {
        println!("{}", serde_json::json!({"recipients": args.recipients, "delivered": delivered, "seconds": seconds, "per_s": per_s}));
    } else {
        println!("recipients  {}", args.recipients);
        println!("delivered   {delivered}");
        println!("seconds     {seconds:.3}");
        println!("per_s       {per_s:.0}");
        println!("receiver    {} verified, {} invalid, {} duplicates", got.verified, got.invalid.len(), got.duplicates());
        println!("audit       {} events", store.audit_events()?.len());
    }
    if delivered != args.recipients || !got.invalid.is_empty() {
        bail!(
            "only {delivered} of {} delivered ({} retrying, {} dead; receiver: {} invalid signatures)",
            args.recipients,
            report.retrying.len(),
            report.dead.len(),
            got.invalid.len()
        );
    }
    Ok(())
}
