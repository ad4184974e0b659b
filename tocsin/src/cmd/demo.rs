//! `tocsin demo`: the reference case in a fresh temporary store.

use super::{open_engine, Settings};
use anyhow::{Context, Result};
use std::path::{Path, PathBuf};
use tocsin_engine::demo::{self, DemoReport};
use tocsin_engine::Engine;

/// The reference case ships inside the binary so `tocsin demo` works from any directory.
const REFERENCE_CASE: &[(&str, &str)] = &[
    (
        "venues.csv",
        include_str!("../../../examples/moscow-2024/venues.csv"),
    ),
    (
        "events.csv",
        include_str!("../../../examples/moscow-2024/events.csv"),
    ),
    (
        "audiences.toml",
        include_str!("../../../examples/moscow-2024/audiences.toml"),
    ),
    (
        "report.txt",
        include_str!("../../../examples/moscow-2024/report.txt"),
    ),
];

#[derive(clap::Args, Debug)]
pub struct DemoArgs {
    /// Print one JSON object instead of the readable timeline.
    #[arg(long)]
    json: bool,
    /// Use the case files from this directory instead of the built-in copy.
    #[arg(long)]
    examples: Option<PathBuf>,
    /// Keep the replayed store in this SQLite file (it must not exist yet), e.g. for
    /// `tocsin --db FILE report effectiveness --from 2024-03-01 --to 2024-03-31`.
    #[arg(long)]
    store: Option<PathBuf>,
}

pub fn write_reference_case(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir)?;
    for (name, text) in REFERENCE_CASE {
        std::fs::write(dir.join(name), text)
            .with_context(|| format!("writing {}", dir.join(name).display()))?;
    }
    Ok(())
}

/// Load the reference case into `engine` (used by `serve --demo` too).
pub fn load_into(engine: &Engine, examples: Option<PathBuf>) -> Result<DemoReport> {
    let work = tempfile::tempdir()?;
    let dir = match examples {
        Some(e) => e,
        None => {
            let dir = work.path().join("moscow-2024");
            write_reference_case(&dir)?;
            dir
        }
    };
    Ok(demo::run(engine, &dir)?)
}

/// Load the reference case as it stood when the report came in: registry, audiences, the report
/// ingested and matched, nothing decided yet (`serve --seed-reference`, the console's browser test).
pub fn seed_reference(
    engine: &Engine,
    at: chrono::DateTime<chrono::Utc>,
) -> Result<tocsin_engine::ImportSummary> {
    let work = tempfile::tempdir()?;
    let dir = work.path().join("moscow-2024");
    write_reference_case(&dir)?;
    Ok(engine.import_dir(
        &dir,
        &tocsin_store::AuditCtx::new("admin:seed-reference", at),
    )?)
}

pub fn run(args: DemoArgs, settings: &Settings) -> Result<()> {
    // Always a fresh store: the demo must never touch the user's database.
    let work = tempfile::tempdir()?;
    let db = match &args.store {
        Some(p) => {
            anyhow::ensure!(
                !p.exists(),
                "--store {} exists already: the demo needs a fresh store",
                p.display()
            );
            p.clone()
        }
        None => work.path().join("tocsin.db"),
    };
    let outbox = db
        .parent()
        .map(|d| d.join("outbox"))
        .filter(|_| args.store.is_some())
        .unwrap_or_else(|| work.path().join("outbox"));
    let engine = open_engine(&super::DbLocation::Sqlite(db), Some(outbox), settings)?;
    let report = load_into(&engine, args.examples)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_human(&report);
    }
    Ok(())
}

fn print_human(r: &DemoReport) {
    println!(
        "Tocsin demo — the reference case \"Moscow, March 2024\" replayed on a simulated clock\n"
    );
    println!("MATCHES ({}):", r.matches.len());
    for m in &r.matches {
        println!(
            "  {:.2}  {:<40} [{}]  {}",
            m.score,
            m.entity_name,
            m.target,
            m.reasons.join("; ")
        );
    }
    println!(
        "\nDETERMINATION: {} (proposed by {}, approved by {}; deliver by {})",
        r.determination.decision.label(),
        r.determination.proposer,
        r.determination.approver.as_deref().unwrap_or("-"),
        r.determination.deadline.to_rfc3339()
    );
    for c in &r.determination.criteria {
        println!(
            "  [{}] {} — {}",
            if c.held { "x" } else { " " },
            c.name,
            c.why
        );
    }
    for c in &r.determination.considerations {
        println!("  note: {c}");
    }
    println!("\nWARNINGS ({}):", r.warnings.len());
    for w in &r.warnings {
        println!(
            "  --- {} → {} ({}, TLP:{}, {}, state {}) ---",
            w.id, w.audience, w.audience_kind, w.tlp, w.specificity, w.state
        );
        for line in w.text.lines() {
            println!("  | {line}");
        }
    }
    println!("\nTIMELINE:");
    for e in &r.timeline {
        println!(
            "  {}  {:<24} {}",
            e.at.format("%Y-%m-%d %H:%M"),
            e.event,
            e.detail
        );
    }
    println!(
        "\nAUDIT: {} events, head {}, chain {}",
        r.audit.count,
        r.audit.head_hash,
        if r.audit.verified {
            "verified"
        } else {
            "BROKEN"
        }
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_reference_loads_the_case_matched_but_not_worked() {
        let dir = tempfile::tempdir().unwrap();
        let db = super::super::DbLocation::Sqlite(dir.path().join("t.db"));
        let settings = Settings {
            policy: tocsin_core::duty::DutyPolicy::icd191(),
            public_url: "http://127.0.0.1:8080".into(),
            taxonomy: tocsin_formats::taxonomy::Taxonomy::builtin(),
            webhook_destinations: Default::default(),
        };
        let engine = open_engine(&db, Some(dir.path().join("outbox")), &settings).unwrap();
        let at = chrono::DateTime::parse_from_rfc3339("2024-03-06T08:30:00Z")
            .unwrap()
            .to_utc();
        let s = seed_reference(&engine, at).unwrap();
        assert_eq!((s.threats, s.audiences), (1, 4));
        assert!(s.venues > 0 && s.events > 0);
        let tid = "moscow-2024-03".into();
        let matches = engine.store().matches(&tid).unwrap();
        assert_eq!(matches.len(), s.matches);
        assert!(matches.len() > 1, "the report matches the registry");
        // Not worked yet: the console's users do that.
        assert!(engine.store().determinations(&tid).unwrap().is_empty());
        assert!(engine.store().warnings(None).unwrap().is_empty());
    }
}
