//! `tocsin feed …`: a CERT's constituency and its daily feeds (docs/feeds.md).

use super::Globals;
use anyhow::{Context, Result};
use serde_json::json;
use std::path::PathBuf;
use tocsin_feed::notify::NotifyOptions;
use tocsin_feed::{Constituency, Mapping};
use tocsin_store::Store;

#[derive(clap::Subcommand, Debug)]
pub enum FeedCommand {
    /// Replace the constituency with a CSV file (org_id,name,prefixes,asns,domains,emails,webhooks,interval,tlp,inhibit).
    ImportConstituency(ImportArgs),
    /// Stream a feed file (CSV or JSON lines) through matching, inhibitions and intervals, and
    /// queue one notification per organisation through the outbox.
    Ingest(IngestArgs),
}

#[derive(clap::Args, Debug)]
pub struct ImportArgs {
    pub file: PathBuf,
}

#[derive(clap::Args, Debug)]
pub struct IngestArgs {
    pub file: PathBuf,
    /// A built-in mapping (`simple`, `shadowserver`, `jsonl`) or a TOML mapping file. Default:
    /// `jsonl` for `.jsonl`/`.ndjson` files, `simple` otherwise.
    #[arg(long)]
    pub mapping: Option<String>,
    /// Write the events that match no organisation here (CSV), e.g. to forward them.
    #[arg(long)]
    pub unmatched: Option<PathBuf>,
    /// Most events attached to one notification (all are counted).
    #[arg(long, default_value_t = 10_000)]
    pub attach_limit: usize,
    /// The CERT's country (ISO 3166-1 alpha-3), recorded as the originator of the run.
    #[arg(long, default_value = "ZZZ")]
    pub originator: String,
    /// Run id (default: the time of the run, `YYYYMMDDTHHMMSSZ`).
    #[arg(long)]
    pub run_id: Option<String>,
    #[arg(long)]
    pub json: bool,
}

pub fn run(cmd: FeedCommand, g: &Globals) -> Result<()> {
    match cmd {
        FeedCommand::ImportConstituency(a) => import(a, g),
        FeedCommand::Ingest(a) => ingest(a, g),
    }
}

fn import(a: ImportArgs, g: &Globals) -> Result<()> {
    let f =
        std::fs::File::open(&a.file).with_context(|| format!("opening {}", a.file.display()))?;
    let total = f.metadata().map(|m| m.len()).unwrap_or(0).max(1);
    let name = a.file.display().to_string();
    let (orgs, global) =
        Constituency::read_csv(std::io::BufReader::new(f), &name, |rows, bytes| {
            eprintln!(
                "import-constituency: {rows} organisations read ({:.0}%)",
                100.0 * bytes as f64 / total as f64
            );
        })?;
    let (c, conflicts) = Constituency::new(orgs, global.clone());
    for w in &conflicts {
        eprintln!("warning: {w}");
    }
    let mut rows: Vec<(String, String)> = c
        .orgs
        .iter()
        .map(|o| Ok((o.id.clone(), serde_json::to_string(o)?)))
        .collect::<Result<_>>()?;
    if !global.is_empty() {
        rows.push((
            "*".into(),
            serde_json::to_string(&json!({ "inhibitions": global }))?,
        ));
    }
    let store = g.db.open()?;
    let n = store.replace_constituency(
        &rows,
        &tocsin_store::AuditCtx::new("cli", chrono::Utc::now()),
    )?;
    println!(
        "constituency: {} organisations, {} prefixes, {} global inhibitions ({n} records stored)",
        c.orgs.len(),
        c.table.len(),
        global.len()
    );
    Ok(())
}

/// The stored constituency (the `*` record holds the global inhibitions).
pub fn load_constituency(store: &dyn Store) -> Result<Constituency> {
    let mut orgs = Vec::new();
    let mut global = Vec::new();
    for (id, js) in store.constituency()? {
        if id == "*" {
            let v: serde_json::Value =
                serde_json::from_str(&js).context("stored global inhibitions")?;
            global = serde_json::from_value(v["inhibitions"].clone())
                .context("stored global inhibitions")?;
        } else {
            orgs.push(
                serde_json::from_str(&js).with_context(|| format!("stored organisation {id}"))?,
            );
        }
    }
    Ok(Constituency::new(orgs, global).0)
}

fn ingest(a: IngestArgs, g: &Globals) -> Result<()> {
    let store = g.db.open()?;
    let c = load_constituency(store.as_ref())?;
    anyhow::ensure!(
        !c.orgs.is_empty(),
        "the constituency is empty: run `tocsin feed import-constituency FILE` first"
    );
    let mapping = match &a.mapping {
        Some(m) => Mapping::load(m)?,
        None => {
            let ext = a.file.extension().and_then(|e| e.to_str()).unwrap_or("");
            if matches!(ext, "jsonl" | "ndjson") {
                Mapping::jsonl()
            } else {
                Mapping::simple()
            }
        }
    };
    let now = chrono::Utc::now();
    let opts = NotifyOptions {
        run_id: a
            .run_id
            .clone()
            .unwrap_or_else(|| now.format("%Y%m%dT%H%M%SZ").to_string()),
        source: a
            .file
            .file_name()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default(),
        now,
        attach_limit: a.attach_limit,
        originator: a.originator.clone(),
        actor: "cli".into(),
    };
    let f =
        std::fs::File::open(&a.file).with_context(|| format!("opening {}", a.file.display()))?;
    let total = f.metadata().map(|m| m.len()).unwrap_or(0).max(1);
    let unmatched: Option<Box<dyn std::io::Write>> = match &a.unmatched {
        Some(p) => Some(Box::new(std::io::BufWriter::new(
            std::fs::File::create(p).with_context(|| format!("creating {}", p.display()))?,
        ))),
        None => None,
    };
    let r = tocsin_feed::run_feed(
        store.as_ref(),
        &c,
        f,
        &mapping,
        &opts,
        unmatched,
        |rows, bytes| {
            eprintln!(
                "feed ingest: {rows} rows ({:.0}%)",
                100.0 * bytes as f64 / total as f64
            );
        },
    )?;
    let k = &r.counts;
    let out = json!({
        "run_id": r.run_id,
        "events": k.events,
        "matched": k.matched,
        "unmatched": k.unmatched,
        "malformed": k.malformed,
        "malformed_examples": k.malformed_examples,
        "inhibited": k.inhibited,
        "not_due": k.not_due,
        "never": k.never,
        "notifications": r.queued.notifications,
        "deliveries": r.queued.deliveries,
    });
    if a.json {
        println!("{out}");
    } else {
        println!(
            "run {}: {} events, {} matched, {} unmatched, {} malformed; {} inhibited, {} not due, {} never; {} notifications queued ({} deliveries)",
            r.run_id, k.events, k.matched, k.unmatched, k.malformed, k.inhibited, k.not_due, k.never, r.queued.notifications, r.queued.deliveries
        );
        for m in &k.malformed_examples {
            println!("  line {}: {}", m.line, m.reason);
        }
        if k.malformed > k.malformed_examples.len() as u64 {
            println!(
                "  … and {} more malformed rows",
                k.malformed - k.malformed_examples.len() as u64
            );
        }
    }
    Ok(())
}
