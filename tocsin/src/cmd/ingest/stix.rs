//! `tocsin ingest stix FILE`: a STIX 2.1 bundle becomes a threat, stored through the engine and
//! matched against the registry. Prints a summary (or `--json`).

use crate::cmd::{open_engine, Globals, Settings};
use anyhow::{Context, Result};
use serde_json::json;
use std::path::PathBuf;
use tocsin_core::CountryCode;
use tocsin_formats::stix::{parse_bundle, StixOptions};
use tocsin_store::AuditCtx;

#[derive(clap::Args, Debug)]
pub struct StixArgs {
    /// The bundle (JSON): a STIX 2.1 bundle or a TAXII envelope.
    file: PathBuf,
    /// Country of the service the bundle comes from (ISO 3166-1 alpha-3).
    #[arg(long, default_value = "USA")]
    originator: String,
    /// Print one JSON object: threat, matches, indicators, unknown_objects, notes, skipped.
    #[arg(long)]
    json: bool,
    /// All or nothing: refuse the whole bundle for one invalid object or unreadable marking
    /// (by default invalid objects are skipped and listed, unreadable markings release to nobody).
    #[arg(long)]
    strict: bool,
}

pub fn run(a: StixArgs, g: &Globals, settings: &Settings) -> Result<()> {
    let text = std::fs::read_to_string(&a.file)
        .with_context(|| format!("reading {}", a.file.display()))?;
    let originator = CountryCode::parse(&a.originator)?;
    let opts = StixOptions {
        strict: a.strict,
        ..StixOptions::new(originator)
    };
    let mut intake =
        parse_bundle(&text, &opts).with_context(|| format!("in {}", a.file.display()))?;
    let engine = open_engine(&g.db, g.outbox.clone(), settings)?;
    let category_notes = engine.category_notes(&intake.threat);
    intake.notes.extend(category_notes);
    let ctx = AuditCtx::new(
        "cli:ingest-stix",
        crate::cmd::clock::now(engine.store().as_ref())?,
    );
    engine.ingest_threat(&intake.threat, &ctx)?;
    let matches = engine.compute_matches(&intake.threat.id, &ctx)?;
    if a.json {
        let v = json!({
            "threat": intake.threat,
            "matches": matches,
            "indicators": intake.indicators,
            "unknown_objects": intake.unknown_objects,
            "notes": intake.notes,
            "skipped": intake.skipped,
        });
        println!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(());
    }
    let t = &intake.threat;
    println!(
        "stored threat {} ({}) from {}",
        t.id,
        t.title,
        a.file.display()
    );
    println!(
        "  actor: {}; harms: {}; credibility: {:?}",
        t.actor.as_deref().unwrap_or("-"),
        t.harms
            .iter()
            .map(|h| h.label())
            .collect::<Vec<_>>()
            .join(", "),
        t.credibility
    );
    println!(
        "  window: {} to {}",
        t.window.from.to_rfc3339(),
        t.window.until.to_rfc3339()
    );
    for (i, s) in t.targets.iter().enumerate() {
        println!(
            "  target {}: {} {} — {} match(es)",
            i + 1,
            s.mark,
            s.label,
            matches.iter().filter(|m| m.target == i).count()
        );
    }
    println!(
        "  {} network indicator(s), {} unknown object(s) kept, {} match(es) in all",
        intake.indicators.len(),
        intake.unknown_objects.len(),
        matches.len()
    );
    for n in &intake.notes {
        println!("  note: {n}");
    }
    for s in &intake.skipped {
        println!("  skipped {}: {}", s.id, s.reason);
    }
    Ok(())
}
