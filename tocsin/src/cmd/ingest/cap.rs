//! `tocsin ingest cap FILE`: a CAP 1.2 alert from another authority opens a threat, stored
//! through the engine and matched against the registry. Prints a summary (or `--json`).

use crate::cmd::{open_engine, Globals, Settings};
use anyhow::{Context, Result};
use serde_json::json;
use std::path::PathBuf;
use tocsin_core::CountryCode;
use tocsin_formats::cap::{parse_alert, threat_from_alert, CapIntakeOptions};
use tocsin_store::AuditCtx;

#[derive(clap::Args, Debug)]
pub struct CapArgs {
    /// The alert (CAP 1.2 XML).
    file: PathBuf,
    /// Country of the issuing authority (ISO 3166-1 alpha-3).
    #[arg(long, default_value = "USA")]
    originator: String,
    /// Hours the threat lasts when the alert has no `expires`.
    #[arg(long, default_value_t = 48)]
    hours: i64,
    /// Print one JSON object: threat and matches.
    #[arg(long)]
    json: bool,
}

pub fn run(a: CapArgs, g: &Globals, settings: &Settings) -> Result<()> {
    let text = std::fs::read_to_string(&a.file)
        .with_context(|| format!("reading {}", a.file.display()))?;
    let alert = parse_alert(&text).with_context(|| format!("in {}", a.file.display()))?;
    let opts = CapIntakeOptions {
        originator: CountryCode::parse(&a.originator)?,
        default_window_hours: a.hours.max(1),
    };
    let threat =
        threat_from_alert(&alert, &opts).with_context(|| format!("in {}", a.file.display()))?;
    let engine = open_engine(&g.db, g.outbox.clone(), settings)?;
    let ctx = AuditCtx::new("cli:ingest-cap", chrono::Utc::now());
    engine.ingest_threat(&threat, &ctx)?;
    let matches = engine.compute_matches(&threat.id, &ctx)?;
    if a.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({ "threat": threat, "matches": matches }))?
        );
        return Ok(());
    }
    println!(
        "stored threat {} ({}) from CAP alert {} of {}",
        threat.id, threat.title, alert.identifier, alert.sender
    );
    println!(
        "  window: {} to {}; credibility: {:?}",
        threat.window.from.to_rfc3339(),
        threat.window.until.to_rfc3339(),
        threat.credibility
    );
    for (i, s) in threat.targets.iter().enumerate() {
        println!(
            "  area {}: {} — {} match(es)",
            i + 1,
            s.label,
            matches.iter().filter(|m| m.target == i).count()
        );
    }
    println!("  {} match(es) in all", matches.len());
    Ok(())
}
