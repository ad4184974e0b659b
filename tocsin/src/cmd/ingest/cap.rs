//! `tocsin ingest cap FILE`: a CAP 1.2 alert from another authority opens, updates or closes a
//! threat, stored through the engine and matched against the registry. Prints a summary (or
//! `--json`). Exits non-zero only when the file is not a CAP alert or nothing in it can be used.

use crate::cmd::{open_engine, Globals, Settings};
use anyhow::{Context, Result};
use serde_json::json;
use std::path::PathBuf;
use tocsin_core::followup::TaskKind;
use tocsin_core::{CountryCode, ThreatWindow};
use tocsin_formats::cap::{parse_alert_bytes, read_alert, CapAction, CapIntakeOptions};
use tocsin_store::AuditCtx;

#[derive(clap::Args, Debug)]
pub struct CapArgs {
    /// The alert (CAP 1.2 XML, in the encoding its XML declaration names).
    file: PathBuf,
    /// Country of the issuing authority (ISO 3166-1 alpha-3).
    #[arg(long, default_value = "USA")]
    originator: String,
    /// Hours the threat lasts when the alert has no `expires`.
    #[arg(long, default_value_t = 48)]
    hours: i64,
    /// Print one JSON object: action, threat, matches, needs_area, notes, skipped.
    #[arg(long)]
    json: bool,
}

pub fn run(a: CapArgs, g: &Globals, settings: &Settings) -> Result<()> {
    let bytes = std::fs::read(&a.file).with_context(|| format!("reading {}", a.file.display()))?;
    let alert = parse_alert_bytes(&bytes).with_context(|| format!("in {}", a.file.display()))?;
    let opts = CapIntakeOptions {
        originator: CountryCode::parse(&a.originator)?,
        default_window_hours: a.hours.max(1),
    };
    let gazetteer = tocsin_intake::Gazetteer::builtin();
    let reading = read_alert(&alert, &opts, &|name| gazetteer.resolve(name).is_some())
        .with_context(|| format!("in {}", a.file.display()))?;
    let mut notes = reading.notes.clone();
    let engine = open_engine(&g.db, g.outbox.clone(), settings)?;
    notes.extend(engine.category_notes(&reading.threat));
    let now = crate::cmd::clock::now(engine.store().as_ref())?;
    let actor = "cli:ingest-cap";
    let ctx = AuditCtx::new(actor, now);
    let mut threat = reading.threat.clone();
    let mut closed = Vec::new();
    let action = match &reading.action {
        CapAction::Open | CapAction::Update { .. } => {
            let refs: &[tocsin_core::ThreatId] = match &reading.action {
                CapAction::Update { references } => references,
                _ => &[],
            };
            let mut earlier = None;
            for r in refs {
                if engine.store().threat(r)?.is_some() {
                    earlier = Some(r.clone());
                    break;
                }
            }
            if earlier.is_none() && !refs.is_empty() {
                notes.push(format!(
                    "the Update references alerts not stored here ({}); stored as a new threat",
                    refs.iter()
                        .map(|r| r.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
            if earlier.is_none() && engine.store().threat(&threat.id)?.is_some() {
                notes.push(format!(
                    "threat {} is already stored; this alert is stored as its new version",
                    threat.id
                ));
                earlier = Some(threat.id.clone());
            }
            match earlier {
                Some(id) => {
                    threat.id = id;
                    engine.update_threat(
                        &threat,
                        &format!("CAP {} {}", alert.msg_type.as_str(), alert.identifier),
                        actor,
                        now,
                    )?;
                    "update"
                }
                None => {
                    engine.ingest_threat(&threat, &ctx)?;
                    engine.compute_matches(&threat.id, &ctx)?;
                    "open"
                }
            }
        }
        CapAction::Cancel { references } => {
            for r in references {
                match engine.store().threat(r)? {
                    Some(mut t) => {
                        // Closing a threat ends its window at the cancellation (at the earliest
                        // one minute after it opened, as a window cannot be empty).
                        let until = alert.sent.max(t.window.from + chrono::Duration::minutes(1));
                        t.window = ThreatWindow::new(t.window.from, until)?;
                        engine.update_threat(
                            &t,
                            &format!("cancelled by CAP alert {}", alert.identifier),
                            actor,
                            now,
                        )?;
                        closed.push(t.id.clone());
                    }
                    None => notes.push(format!(
                        "the Cancel references {r}, which is not stored here; nothing to close"
                    )),
                }
            }
            "cancel"
        }
    };
    let matches = if action == "cancel" {
        Vec::new()
    } else {
        engine.store().matches(&threat.id)?
    };
    if reading.needs_area && action != "cancel" {
        engine.store().open_task(
            TaskKind::NeedsArea,
            &threat.id,
            None,
            &format!(
                "CAP alert {} of {}: no area could be resolved; give the threat its area",
                alert.identifier, alert.sender
            ),
            &ctx,
        )?;
    }
    if a.json {
        let skipped: Vec<serde_json::Value> = Vec::new();
        let v = json!({
            "action": action,
            "threat": if action == "cancel" { serde_json::Value::Null } else { serde_json::to_value(&threat)? },
            "closed": closed,
            "matches": matches,
            "needs_area": reading.needs_area,
            "notes": notes,
            "skipped": skipped,
        });
        println!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(());
    }
    if action == "cancel" {
        println!(
            "CAP Cancel {} of {}: closed {} threat(s){}",
            alert.identifier,
            alert.sender,
            closed.len(),
            if closed.is_empty() {
                String::new()
            } else {
                format!(
                    " ({})",
                    closed
                        .iter()
                        .map(|c| c.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            }
        );
    } else {
        println!(
            "{} threat {} ({}) from CAP alert {} of {}",
            if action == "update" {
                "updated"
            } else {
                "stored"
            },
            threat.id,
            threat.title,
            alert.identifier,
            alert.sender
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
        if reading.needs_area {
            println!("  needs_area: a task asks an analyst to give the threat its area");
        }
    }
    for n in &notes {
        println!("  note: {n}");
    }
    Ok(())
}
