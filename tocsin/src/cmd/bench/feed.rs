//! `tocsin bench feed`: the whole feed path — CSV file to queued notifications in a temporary
//! SQLite store — over simple inputs, and `tocsin bench feed-gen`, the seeded generator of those
//! inputs (nested prefixes included). Figures: `events`, `matched`, `unmatched`,
//! `notifications`, `seconds`, `events_per_s`, `peak_rss_mb` (VmHWM).

use crate::progress::{Mode, Progress};
use anyhow::{Context, Result};
use serde_json::json;
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::time::Instant;
use tocsin_feed::notify::NotifyOptions;
use tocsin_feed::{gen, Constituency, Mapping};
use tocsin_store_sqlite::SqliteStore;

#[derive(clap::Args, Debug)]
pub struct FeedArgs {
    /// Events CSV: `timestamp,ip,port,protocol,type[,asn]` with a header.
    #[arg(long)]
    pub events: PathBuf,
    /// Prefixes CSV: `prefix,org_id` with a header.
    #[arg(long)]
    pub prefixes: PathBuf,
    /// Organisations CSV: `org_id,name` with a header.
    #[arg(long)]
    pub orgs: PathBuf,
    /// Write `{org_id: event_count}` (matched events per organisation) here.
    #[arg(long)]
    pub per_org: Option<PathBuf>,
    #[arg(long)]
    pub json: bool,
}

#[derive(clap::Args, Debug)]
pub struct FeedGenArgs {
    #[arg(long, default_value_t = 1_000_000)]
    pub events: u64,
    #[arg(long, default_value_t = 50_000)]
    pub prefixes: usize,
    #[arg(long, default_value_t = 10_000)]
    pub orgs: usize,
    /// Directory for `events.csv`, `prefixes.csv`, `orgs.csv`.
    #[arg(long)]
    pub out: PathBuf,
    #[arg(long, default_value_t = 9)]
    pub seed: u64,
}

pub fn peak_rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map(|kb| kb / 1024.0)
        .unwrap_or(f64::NAN)
}

pub fn run(a: FeedArgs) -> Result<()> {
    let open =
        |p: &PathBuf| std::fs::File::open(p).with_context(|| format!("opening {}", p.display()));
    let start = Instant::now();
    let (c, _conflicts) = Constituency::from_simple_csv(
        std::io::BufReader::new(open(&a.orgs)?),
        std::io::BufReader::new(open(&a.prefixes)?),
    )?;
    let dir = tempfile::tempdir()?;
    let store = SqliteStore::open(&dir.path().join("bench.db"))?;
    let opts = NotifyOptions {
        run_id: Some("bench".into()),
        report_type: "bench".into(),
        source: a
            .events
            .file_name()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default(),
        now: chrono::Utc::now(),
        attach_limit: 10_000,
        originator: "ZZZ".into(),
        actor: "bench".into(),
    };
    let events = open(&a.events)?;
    let size = events.metadata().map(|m| m.len()).ok();
    let progress = Progress::new(Mode::detect(a.json), "feed", "bytes", size);
    let report = tocsin_feed::run_feed(
        &store,
        &c,
        events,
        &Mapping::simple(),
        &opts,
        tocsin_feed::Exports::default(),
        |_, bytes| progress.set(bytes, None),
    )?;
    let seconds = start.elapsed().as_secs_f64();
    progress.finish(&format!("{} events", report.counts.events));
    let k = &report.counts;
    if let Some(p) = &a.per_org {
        let map: serde_json::Map<String, serde_json::Value> = c
            .orgs
            .iter()
            .zip(&k.per_org_matched)
            .filter(|(_, n)| **n > 0)
            .map(|(o, n)| (o.id.clone(), json!(n)))
            .collect();
        std::fs::write(p, serde_json::to_vec_pretty(&map)?)
            .with_context(|| format!("writing {}", p.display()))?;
    }
    let out = json!({
        "events": k.events,
        "matched": k.matched,
        "unmatched": k.unmatched,
        "malformed": k.malformed,
        "notifications": report.queued.notifications,
        "deliveries": report.queued.deliveries,
        "prefixes": c.table.len(),
        "orgs": c.orgs.len(),
        "seconds": seconds,
        "intake_seconds": report.intake_seconds,
        "queue_seconds": report.queue_seconds,
        "events_per_s": k.events as f64 / seconds,
        "peak_rss_mb": peak_rss_mb(),
    });
    if a.json {
        println!("{out}");
    } else {
        for (key, v) in out.as_object().expect("object") {
            println!("{key:>14}  {v}");
        }
    }
    Ok(())
}

pub fn run_gen(a: FeedGenArgs) -> Result<()> {
    std::fs::create_dir_all(&a.out).with_context(|| format!("creating {}", a.out.display()))?;
    let create = |name: &str| -> Result<BufWriter<std::fs::File>> {
        let p = a.out.join(name);
        Ok(BufWriter::with_capacity(
            1 << 20,
            std::fs::File::create(&p).with_context(|| format!("creating {}", p.display()))?,
        ))
    };
    let p = gen::prefixes(a.orgs, a.prefixes, a.seed);
    let mut w = create("orgs.csv")?;
    gen::write_orgs(&mut w, a.orgs)?;
    w.flush()?;
    let mut w = create("prefixes.csv")?;
    gen::write_prefixes(&mut w, &p)?;
    w.flush()?;
    let mut w = create("events.csv")?;
    gen::write_events(&mut w, &p, a.events, a.seed)?;
    w.flush()?;
    println!(
        "wrote {} organisations, {} prefixes, {} events to {}",
        a.orgs,
        p.len(),
        a.events,
        a.out.display()
    );
    Ok(())
}
