//! `tocsin bench intake`: free-text extraction throughput on one core.
//!
//! The corpus is deterministic: the embassy advisory of the reference case and synthetic paragraphs (a fixed-seed generator mixing filler prose with registry
//! names, Cyrillic, places, dates, actors, harms and defanged indicators), cut into documents of
//! about 64 KB. The extractor is built once (registry of the reference case, built-in gazetteer and
//! dictionaries); the figure is input bytes (MB = 10^6 bytes) over wall time of `extract`.

use super::super::Globals;
use crate::progress::{Mode, Progress};
use anyhow::Result;
use chrono::NaiveDate;
use std::time::Instant;
use tocsin_intake::Extractor;

const VENUES: &str = include_str!("../../../../examples/moscow-2024/venues.csv");
const EVENTS: &str = include_str!("../../../../examples/moscow-2024/events.csv");
const ADVISORY: &str = "The U.S. Embassy is monitoring reports that extremists have imminent plans to target large gatherings in Moscow, to include concerts. U.S. citizens should avoid large gatherings over the next 48 hours.";

#[derive(clap::Args, Debug)]
pub struct IntakeArgs {
    /// Megabytes (10^6 bytes) of text to extract from.
    #[arg(long, default_value_t = 8)]
    mb: usize,
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
}

const FILLER: &[&str] = &[
    "the",
    "officials",
    "said",
    "that",
    "information",
    "was",
    "shared",
    "with",
    "partners",
    "after",
    "a",
    "meeting",
    "of",
    "security",
    "services",
    "and",
    "reporters",
    "in",
    "an",
    "interview",
    "according",
    "to",
    "people",
    "familiar",
    "matter",
    "government",
    "analysts",
    "observers",
    "concern",
    "regional",
    "authorities",
    "statement",
    "published",
    "on",
    "its",
    "website",
    "earlier",
    "week",
    "spokesperson",
    "declined",
    "comment",
    "situation",
    "remains",
    "unclear",
];
const SIGNAL: &[&str] = &[
    "Crocus City Hall",
    "Крокус Сити Холл",
    "a synagogue in Moscow",
    "large gatherings",
    "concerts",
    "shopping centres",
    "the metro",
    "ISIS-K",
    "ISKP",
    "ISIS-Okay",
    "live performance corridor",
    "set hearth to the constructing",
    "gunmen",
    "hostages",
    "ransomware",
    "DDoS",
    "on 8 March",
    "over the next 48 hours",
    "this weekend",
    "imminent",
    "hxxp://bad[.]example[.]com/x",
    "198.51.100[.]7",
    "203.0.113.0/24",
    "near Kaluga",
    "in Kazan",
    "Luzhniki Stadium",
    "Synagouge",
    "Moscow Choral Synagogue",
    "On March 7, the U.S. Embassy publicly introduced",
    "Islamic State",
    "Kerman",
    "suicide bombings",
    "Maj. Gen.",
    "St. Petersburg",
    "U.S. officers",
    "https://www.example.org/news/2024/04/02/story/",
];

fn corpus(bytes: usize) -> Vec<String> {
    let mut rng = tocsin_core::seeded::SplitMix64::new(0x9e37_79b9_7f4a_7c15);
    let mut docs = Vec::new();
    let mut doc = String::with_capacity(70_000);
    let mut total = 0;
    while total < bytes {
        match rng.next_u64() % 10 {
            0 => doc.push_str(ADVISORY),
            _ => {
                for i in 0..120 {
                    if i > 0 {
                        doc.push(' ');
                    }
                    if rng.next_u64() % 12 < 1 {
                        doc.push_str(rng.pick(SIGNAL).as_ref());
                    } else {
                        doc.push_str(rng.pick(FILLER).as_ref());
                    }
                    if rng.next_u64() % 15 < 1 {
                        doc.push('.');
                    }
                }
            }
        }
        doc.push('\n');
        if doc.len() >= 64_000 {
            total += doc.len();
            docs.push(std::mem::take(&mut doc));
        }
    }
    if !doc.is_empty() {
        docs.push(doc);
    }
    docs
}

pub fn run(args: IntakeArgs, _g: &Globals) -> Result<()> {
    let venues = tocsin_formats::parse_venues_csv(VENUES)?;
    let events = tocsin_formats::parse_events_csv(EVENTS, &venues)?;
    let entities: Vec<_> = venues.into_iter().chain(events).collect();
    let t0 = Instant::now();
    let x = Extractor::with_builtin(&entities, &tocsin_intake::Gazetteer::builtin())?;
    let build_ms = t0.elapsed().as_secs_f64() * 1e3;
    let docs = corpus(args.mb.max(1) * 1_000_000);
    let bytes: usize = docs.iter().map(String::len).sum();
    let date = NaiveDate::from_ymd_opt(2024, 3, 6).expect("valid date");
    let progress = Progress::new(
        Mode::detect(args.json),
        "extracting",
        "bytes",
        Some(bytes as u64),
    );
    let t1 = Instant::now();
    let mut items = 0usize;
    for d in &docs {
        items += std::hint::black_box(x.extract(d, date)).len();
        progress.inc(d.len() as u64);
    }
    let secs = t1.elapsed().as_secs_f64();
    progress.finish(&format!("{} documents", docs.len()));
    let mbps = bytes as f64 / 1e6 / secs;
    if args.json {
        println!(
            "{}",
            serde_json::json!({ "bytes": bytes, "documents": docs.len(), "seconds": secs, "mb_per_s": mbps, "items": items, "build_ms": build_ms, "threads": 1 })
        );
    } else {
        println!("intake: {:.1} MB in {} documents, {:.3} s on one core: {:.1} MB/s ({items} proposal items; extractor built in {build_ms:.1} ms)", bytes as f64 / 1e6, docs.len(), secs, mbps);
    }
    Ok(())
}
