//! `tocsin feed …`: a CERT's constituency and its daily feeds (docs/feeds.md).

use super::Globals;
use crate::progress::{Mode, Progress};
use anyhow::{Context, Result};
use serde_json::json;
use std::path::PathBuf;
use tocsin_feed::notify::NotifyOptions;
use tocsin_feed::{Constituency, Mapping};
use tocsin_store::Store;

#[derive(clap::Subcommand, Debug)]
pub enum FeedCommand {
    /// Replace the constituency with a CSV file (org_id,name,prefixes,asns,domains,emails,webhooks,interval,tlp,inhibit,timezone).
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
    /// Write the inhibited events here (CSV: the feed's columns, then org_id and inhibited_by).
    #[arg(long)]
    pub inhibited: Option<PathBuf>,
    /// The report type (e.g. `scan_rdp`): intervals are kept per organisation and report type.
    /// Default: from a Shadowserver file name (`2026-11-27-scan_rdp-de-geo.csv`), else the
    /// file's name without extension.
    #[arg(long)]
    pub report_type: Option<String>,
    /// Most events attached to one notification (all are counted).
    #[arg(long, default_value_t = 10_000)]
    pub attach_limit: usize,
    /// The CERT's country (ISO 3166-1 alpha-3), recorded as the originator of the run.
    #[arg(long, default_value = "ZZZ")]
    pub originator: String,
    /// Run id (default: the time to the microsecond and the file's SHA-256,
    /// `YYYYMMDDTHHMMSS.ffffffZ-<12 hex>`); must be unused.
    #[arg(long)]
    pub run_id: Option<String>,
    /// The run's time (RFC 3339), for intervals and the record; default now. For replaying
    /// a backlog of files in the order they arrived.
    #[arg(long)]
    pub at: Option<String>,
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
    let total = f.metadata().map(|m| m.len()).ok();
    let progress = Progress::new(Mode::detect(false), "import-constituency", "bytes", total);
    let last_rows = std::cell::Cell::new(0u64);
    let name = a.file.display().to_string();
    let file = Constituency::read_csv(std::io::BufReader::new(f), &name, |rows, bytes| {
        last_rows.set(rows);
        progress.set(bytes, None);
    })?;
    progress.finish(&format!("{} organisations", last_rows.get()));
    for w in &file.warnings {
        eprintln!("warning: {w}");
    }
    let rows = Constituency::records(&file.orgs, &file.settings)?;
    let no_contact = file.orgs.iter().filter(|o| !o.has_contact()).count();
    let (c, conflicts) = Constituency::with_settings(file.orgs, file.settings)?;
    for w in &conflicts {
        eprintln!("warning: {w}");
    }
    let store = g.db.open()?;
    let n = store.replace_constituency(
        &rows,
        &tocsin_store::AuditCtx::new("cli", super::clock::now(store.as_ref())?),
    )?;
    println!(
        "constituency: {} organisations ({no_contact} without a contact), {} prefixes, {} ASNs, {} domains, {} global inhibitions, time zone {} ({n} records stored)",
        c.orgs.len(),
        c.table.len(),
        c.asns.len(),
        c.domains.len(),
        c.global_inhibitions.len(),
        c.timezone
    );
    Ok(())
}

/// The stored constituency (the `*` record holds the settings for everyone).
pub fn load_constituency(store: &dyn Store) -> Result<Constituency> {
    Ok(Constituency::from_records(store.constituency()?)?)
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
            let mut m = if matches!(ext, "jsonl" | "ndjson") {
                Mapping::jsonl()
            } else {
                Mapping::simple()
            };
            m.guessed = true;
            m
        }
    };
    let now = match &a.at {
        Some(t) => chrono::DateTime::parse_from_rfc3339(t)
            .with_context(|| {
                format!("--at {t:?}: expected an RFC 3339 time such as 2026-12-04T06:00:00Z")
            })?
            .with_timezone(&chrono::Utc),
        None => super::clock::now(store.as_ref())?,
    };
    let source = a
        .file
        .file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let opts = NotifyOptions {
        run_id: a.run_id.clone(),
        report_type: a
            .report_type
            .clone()
            .unwrap_or_else(|| tocsin_feed::vocabulary::report_type_from_file_name(&source)),
        source,
        now,
        attach_limit: a.attach_limit,
        originator: a.originator.clone(),
        actor: "cli".into(),
    };
    let f =
        std::fs::File::open(&a.file).with_context(|| format!("opening {}", a.file.display()))?;
    let total = f.metadata().map(|m| m.len()).ok();
    let progress = Progress::new(Mode::detect(a.json), "feed ingest", "bytes", total);
    let last_rows = std::cell::Cell::new(0u64);
    let create = |p: &Option<PathBuf>| -> Result<Option<Box<dyn std::io::Write>>> {
        Ok(match p {
            Some(p) => Some(Box::new(std::io::BufWriter::new(
                std::fs::File::create(p).with_context(|| format!("creating {}", p.display()))?,
            ))),
            None => None,
        })
    };
    let exports = tocsin_feed::Exports {
        unmatched: create(&a.unmatched)?,
        inhibited: create(&a.inhibited)?,
    };
    let r = tocsin_feed::run_feed(
        store.as_ref(),
        &c,
        std::io::BufReader::with_capacity(1 << 20, f),
        &mapping,
        &opts,
        exports,
        |rows, bytes| {
            last_rows.set(rows);
            progress.set(bytes, None);
        },
    )?;
    progress.finish(&format!("{} rows", last_rows.get()));
    let k = &r.counts;
    let out = json!({
        "run_id": r.run_id,
        "report_type": k.report_type,
        "sha256": r.sha256,
        "events": k.events,
        "matched": k.matched,
        "matched_by_prefix": k.matched_by_prefix,
        "matched_by_domain": k.matched_by_domain,
        "matched_by_asn": k.matched_by_asn,
        "unmatched": k.unmatched,
        "malformed": k.malformed,
        "malformed_examples": k.malformed_examples,
        "inhibited": k.inhibited,
        "not_due": k.not_due,
        "never": k.never,
        "no_contact": k.no_contact,
        "notifications": r.queued.notifications,
        "deliveries": r.queued.deliveries,
        "organisations": k.organisations,
    });
    if a.json {
        println!("{out}");
    } else {
        println!(
            "run {} ({}): {} events, {} matched ({} by prefix, {} by domain, {} by ASN), {} unmatched, {} malformed; {} inhibited, {} not due, {} never, {} no contact; {} notifications queued ({} deliveries)",
            r.run_id, k.report_type, k.events, k.matched, k.matched_by_prefix, k.matched_by_domain, k.matched_by_asn, k.unmatched, k.malformed, k.inhibited, k.not_due, k.never, k.no_contact, r.queued.notifications, r.queued.deliveries
        );
        for o in k.organisations.iter().filter(|o| o.status != "queued") {
            match (&o.next_due, o.status) {
                (Some(t), _) => println!(
                    "  {}: {} events held back (interval) until {t}",
                    o.org_id, o.matched
                ),
                (None, "no_contact") => {
                    println!("  {}: {} events, no contact", o.org_id, o.matched)
                }
                (None, s) => println!("  {}: {} events, {s}", o.org_id, o.matched),
            }
        }
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
