//! `tocsin report …`: reports over the store.

use super::{open_engine, Globals, Settings};
use anyhow::{Context, Result};
use chrono::{NaiveDate, TimeZone, Utc};

#[derive(clap::Subcommand, Debug)]
pub enum ReportCommand {
    /// Warnings sent, acknowledged, posture kept, outcomes, and time from intake to delivery.
    Effectiveness(EffectivenessArgs),
}

#[derive(clap::Args, Debug)]
pub struct EffectivenessArgs {
    /// First day of the period (YYYY-MM-DD, UTC, inclusive); default: 30 days before --to.
    #[arg(long)]
    from: Option<NaiveDate>,
    /// Last day of the period (YYYY-MM-DD, UTC, inclusive); default: today.
    #[arg(long)]
    to: Option<NaiveDate>,
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
}

pub fn run(cmd: ReportCommand, g: &Globals, settings: &Settings) -> Result<()> {
    match cmd {
        ReportCommand::Effectiveness(a) => effectiveness(a, g, settings),
    }
}

fn effectiveness(a: EffectivenessArgs, g: &Globals, settings: &Settings) -> Result<()> {
    let engine = open_engine(&g.db, g.outbox.clone(), settings)?;
    let to = match a.to {
        Some(d) => d,
        None => super::clock::now(engine.store().as_ref())?.date_naive(),
    };
    let from = a.from.unwrap_or(to - chrono::Duration::days(30));
    anyhow::ensure!(from <= to, "--from {from} is after --to {to}");
    let start = Utc.from_utc_datetime(&from.and_hms_opt(0, 0, 0).context("midnight")?);
    let end = Utc.from_utc_datetime(
        &(to + chrono::Duration::days(1))
            .and_hms_opt(0, 0, 0)
            .context("midnight")?,
    );
    let r = engine.effectiveness(start, end)?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&r)?);
        return Ok(());
    }
    println!("Effectiveness {from} – {to} (UTC)");
    println!("  threats received           {}", r.threats);
    let kinds: Vec<String> = r
        .warnings_sent_by_kind
        .iter()
        .map(|(k, n)| format!("{k} {n}"))
        .collect();
    println!(
        "  warnings sent              {} ({})",
        r.warnings_sent,
        kinds.join(", ")
    );
    println!(
        "  acknowledged               {} of {}",
        r.acknowledged, r.warnings_sent
    );
    println!(
        "  posture kept to the end    {} of {} tracked ({} lapsed)",
        r.posture_kept, r.posture_tracked, r.posture_lapsed
    );
    println!("  dead deliveries            {}", r.dead_deliveries);
    let outcomes: Vec<String> = r.outcomes.iter().map(|(k, n)| format!("{k} {n}")).collect();
    println!(
        "  outcomes                   {}",
        if outcomes.is_empty() {
            "none recorded".into()
        } else {
            outcomes.join(", ")
        }
    );
    let m = &r.intake_to_delivery_minutes;
    let f = |x: Option<i64>| x.map(|v| format!("{v} min")).unwrap_or_else(|| "-".into());
    println!(
        "  intake → delivery          median {}, p90 {}, max {} (over {} warnings)",
        f(m.median),
        f(m.p90),
        f(m.max),
        m.count
    );
    Ok(())
}
