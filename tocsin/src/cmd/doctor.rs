//! `tocsin doctor`: what this process, with these settings, would do: the store, the deployment's
//! clock and which delivery channels it can send (and how many open deliveries it could not).

use super::channels::{describe, ChannelArgs};
use super::Globals;
use anyhow::Result;
use std::collections::BTreeMap;

#[derive(clap::Args, Debug)]
pub struct DoctorArgs {
    /// The channel settings to check (the same as `serve` and `worker` take).
    #[command(flatten)]
    channels: ChannelArgs,
}

pub fn run(args: DoctorArgs, g: &Globals) -> Result<()> {
    let delivery = args.channels.config()?;
    let outbox = g.outbox.clone().unwrap_or_else(|| g.db.default_outbox());
    let store = g.db.open()?;
    println!("store: {}", g.db);
    let clock = super::clock::DeploymentClock::load(store.as_ref())?;
    println!("clock: {}", clock.describe());
    println!("delivery channels of a process with these settings:");
    for line in describe(&delivery, &outbox) {
        println!("  {line}");
    }
    let worker = delivery.worker(&outbox)?;
    let far = clock.now() + chrono::Duration::days(365 * 100);
    let mut left: BTreeMap<&'static str, usize> = BTreeMap::new();
    let open = store.due_deliveries(far, 1_000_000)?;
    for d in &open {
        if !worker.scope().covers(d.channel.kind, &d.channel.address) {
            *left.entry(d.channel.kind.as_str()).or_default() += 1;
        }
    }
    if left.is_empty() {
        println!(
            "open deliveries: {} (all sendable with these settings)",
            open.len()
        );
    } else {
        let parts: Vec<String> = left.iter().map(|(k, n)| format!("{k}: {n}")).collect();
        println!(
            "open deliveries: {}; NOT sendable with these settings: {} (they wait for a process configured for them)",
            open.len(),
            parts.join(", ")
        );
    }
    Ok(())
}
