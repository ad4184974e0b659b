//! `tocsin ingest text FILE`: propose a threat from free text; review; commit.
//!
//! Without `--commit` it prints the proposal (readable, or `--json`: one object with the keys
//! `targets`, `areas`, `categories`, `actors`, `harms`, `windows`, `indicators`). With
//! `--commit PROPOSAL.json` it builds the threat from the reviewed proposal and stores it through
//! the engine (ingest + match). `--accept`, `--reject` and `--accept-all` apply review decisions in
//! either mode.

use super::super::{open_engine, Globals, Settings};
use anyhow::{bail, Context, Result};
use chrono::NaiveDate;
use std::path::{Path, PathBuf};
use tocsin_core::{CountryCode, Credibility, Entity};
use tocsin_intake::{build_threat, CommitOptions, Extractor, Proposal};
use tocsin_store::AuditCtx;

#[derive(clap::Args, Debug)]
pub struct TextArgs {
    /// The text file (UTF-8): a report, a cable, an advisory, a news story.
    file: PathBuf,
    /// The text's date (YYYY-MM-DD): relative expressions ("imminent", "this weekend") are read
    /// from it. Default: today (UTC).
    #[arg(long)]
    date: Option<NaiveDate>,
    /// Print JSON: the proposal, or with --commit the stored threat and its matches.
    #[arg(long)]
    json: bool,
    /// Accept these items (comma-separated ids, e.g. t1,a1,c2).
    #[arg(long, value_delimiter = ',', value_name = "ID,...")]
    accept: Vec<String>,
    /// Reject these items (comma-separated ids).
    #[arg(long, value_delimiter = ',', value_name = "ID,...")]
    reject: Vec<String>,
    /// Accept every item still pending (after the file's decisions, before --accept/--reject).
    #[arg(long)]
    accept_all: bool,
    /// Build the threat from this reviewed proposal (JSON) and store it; refused while any item
    /// is pending.
    #[arg(long, value_name = "PROPOSAL.json")]
    commit: Option<PathBuf>,
    /// Take the registry (names and aliases of targets) from venues.csv and events.csv in this
    /// directory instead of the store.
    #[arg(long, value_name = "DIR")]
    registry: Option<PathBuf>,
    /// Threat id for --commit (default: text- and 12 hex digits of the text's SHA-256).
    #[arg(long)]
    id: Option<String>,
    /// Threat title for --commit (default: built from the actor and the targets).
    #[arg(long)]
    title: Option<String>,
    /// Originating country of the threat record (ISO 3166-1 alpha-3).
    #[arg(long, default_value = "USA")]
    originator: String,
    /// Credibility: possible, probable or confirmed.
    #[arg(long, default_value = "possible")]
    credibility: String,
}

fn registry_entities(args: &TextArgs, g: &Globals, settings: &Settings) -> Result<Vec<Entity>> {
    if let Some(dir) = &args.registry {
        let read = |name: &str| -> Result<Option<String>> {
            let p = dir.join(name);
            if p.exists() {
                Ok(Some(
                    std::fs::read_to_string(&p)
                        .with_context(|| format!("reading {}", p.display()))?,
                ))
            } else {
                Ok(None)
            }
        };
        let venues_text =
            read("venues.csv")?.with_context(|| format!("{}: no venues.csv", dir.display()))?;
        let venues = tocsin_formats::parse_venues_csv(&venues_text)
            .with_context(|| format!("{}/venues.csv", dir.display()))?;
        let events = match read("events.csv")? {
            Some(t) => tocsin_formats::parse_events_csv(&t, &venues)
                .with_context(|| format!("{}/events.csv", dir.display()))?,
            None => vec![],
        };
        return Ok(venues.into_iter().chain(events).collect());
    }
    // Proposing reads the store only if there is one: it never creates a database.
    if !g.db.exists() {
        tracing::warn!(
            "no store at {} and no --registry: named targets cannot be recognised",
            g.db
        );
        return Ok(vec![]);
    }
    let engine = open_engine(&g.db, g.outbox.clone(), settings)?;
    Ok(engine.store().entities()?)
}

fn read_text(path: &Path) -> Result<String> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    String::from_utf8(bytes).map_err(|e| {
        anyhow::anyhow!(
            "{}: not UTF-8 text (invalid byte at offset {})",
            path.display(),
            e.utf8_error().valid_up_to()
        )
    })
}

pub fn run(args: TextArgs, g: &Globals, settings: &Settings) -> Result<()> {
    let text = read_text(&args.file)?;
    let date = args.date.unwrap_or_else(|| chrono::Utc::now().date_naive());
    let gazetteer = tocsin_intake::Gazetteer::builtin();
    match &args.commit {
        None => {
            let entities = registry_entities(&args, g, settings)?;
            let x = Extractor::with_builtin(&entities, &gazetteer)?;
            let mut p = x.extract(&text, date);
            p.review(&args.accept, &args.reject, args.accept_all)?;
            if args.json {
                println!("{}", serde_json::to_string_pretty(&p)?);
            } else {
                print_proposal(&args.file, date, &p, entities.len());
            }
            Ok(())
        }
        Some(path) => {
            let raw = std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?;
            // serde_json's message names the line and column of the offending value.
            let mut p: Proposal = serde_json::from_str(&raw)
                .map_err(|e| anyhow::anyhow!("{}: not a proposal: {e}", path.display()))?;
            p.review(&args.accept, &args.reject, args.accept_all)?;
            let originator = CountryCode::parse(&args.originator)?;
            let credibility: Credibility =
                serde_json::from_value(serde_json::Value::String(args.credibility.to_lowercase()))
                    .map_err(|_| {
                        anyhow::anyhow!(
                            "--credibility {:?}: expected possible, probable or confirmed",
                            args.credibility
                        )
                    })?;
            let opts = CommitOptions {
                id: args.id.clone(),
                title: args.title.clone(),
                originator,
                credibility,
                date,
                imminent_hours: tocsin_intake::IntakeConfig::default().imminent_hours,
                near_margin_km: 10.0,
            };
            let threat = build_threat(&p, &text, &opts, &gazetteer).with_context(|| {
                format!("{} (proposal {})", args.file.display(), path.display())
            })?;
            let engine = open_engine(&g.db, g.outbox.clone(), settings)?;
            if engine.store().threat(&threat.id)?.is_some() {
                bail!(
                    "threat {} is already stored in {}: pass --id to store another version",
                    threat.id,
                    g.db
                );
            }
            let ctx = AuditCtx::new(
                "cli:ingest-text",
                crate::cmd::clock::now(engine.store().as_ref())?,
            );
            engine.ingest_threat(&threat, &ctx)?;
            let matches = engine.compute_matches(&threat.id, &ctx)?;
            if args.json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(
                        &serde_json::json!({ "threat": threat, "matches": matches })
                    )?
                );
            } else {
                let entities: std::collections::BTreeSet<_> =
                    matches.iter().map(|m| &m.entity_id).collect();
                println!("stored threat {}: {}", threat.id, threat.title);
                println!(
                    "  window {} – {}, {} target spec(s), {} match(es) over {} entities",
                    threat.window.from.to_rfc3339(),
                    threat.window.until.to_rfc3339(),
                    threat.targets.len(),
                    matches.len(),
                    entities.len()
                );
                for t in &threat.targets {
                    println!("  (U) {}", t.label);
                }
            }
            Ok(())
        }
    }
}

fn print_proposal(file: &Path, date: NaiveDate, p: &Proposal, registry: usize) {
    let pending = p.pending().len();
    println!("Proposal from {} (text dated {date}; {registry} registry entities): {} items, {pending} pending", file.display(), p.len());
    fn section<D>(name: &str, items: &[tocsin_intake::Item<D>], extra: impl Fn(&D) -> String) {
        if items.is_empty() {
            return;
        }
        println!("{name}:");
        for i in items {
            let more = extra(&i.detail);
            let mentions = if i.mentions.len() > 1 {
                format!(", {} mentions", i.mentions.len())
            } else {
                String::new()
            };
            println!(
                "  {:<5} {:<9} {:.2}  {:<40} [{}, {}] {:?}{}{}",
                i.id,
                format!("{:?}", i.decision).to_lowercase(),
                i.confidence,
                i.value,
                i.span[0],
                i.span[1],
                i.text,
                if more.is_empty() {
                    String::new()
                } else {
                    format!("  {more}")
                },
                mentions
            );
            for n in &i.notes {
                println!("        {n}");
            }
        }
    }
    section("targets", &p.targets, |d| {
        format!("entities: {}", d.entities.join(", "))
    });
    section("areas", &p.areas, |_| String::new());
    section("categories", &p.categories, |d| {
        let paths: Vec<&str> = d.paths.iter().map(|c| c.as_str()).collect();
        match d.min_size {
            Some(m) => format!("{} (min size {m})", paths.join(", ")),
            None => paths.join(", "),
        }
    });
    section("actors", &p.actors, |_| String::new());
    section("harms", &p.harms, |d| format!("harm: {}", d.harm.label()));
    // The JSON names (next_hours, ipv4), not the Rust ones.
    let name = |v: serde_json::Result<serde_json::Value>| {
        v.ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default()
    };
    section("windows", &p.windows, |d| {
        name(serde_json::to_value(d.basis))
    });
    section("indicators", &p.indicators, |d| {
        format!(
            "{}{}",
            name(serde_json::to_value(d.kind)),
            if d.defanged { ", defanged" } else { "" }
        )
    });
    println!();
    println!("Review: `--json > proposal.json`, set each item's \"decision\" to accepted, edited or rejected (or use --accept/--reject/--accept-all),");
    println!(
        "then: tocsin ingest text {} --date {date} --commit proposal.json",
        file.display()
    );
}
