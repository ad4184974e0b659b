//! `tocsin bench leakproof --cases N [--seed S] [--json]`: the leak-proof property of the composer
//! (`tocsin_core::compose::proof`) over N seeded random cases. Deterministic for a given seed; the
//! count of violations must be 0 (the command fails otherwise).

use crate::progress::{Mode, Progress};
use anyhow::{bail, Result};
use std::collections::BTreeMap;
use std::time::Instant;
use tocsin_core::compose::proof::{case_seed, run_case, Outcome};

#[derive(clap::Args, Debug)]
pub struct LeakproofArgs {
    /// Number of random (report, audience) cases.
    #[arg(long, default_value_t = 100_000)]
    pub cases: u64,
    /// Seed of the run; case i uses a seed derived from (seed, i).
    #[arg(long, default_value_t = 2024)]
    pub seed: u64,
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
}

#[derive(Default)]
struct Tally {
    composed: u64,
    refused: BTreeMap<&'static str, u64>,
    violations: Vec<(u64, String)>,
}

fn tally(seed: u64, range: std::ops::Range<u64>, progress: &Progress) -> Tally {
    let mut t = Tally::default();
    for i in range {
        match run_case(case_seed(seed, i)) {
            Outcome::Composed => t.composed += 1,
            Outcome::Refused(r) => *t.refused.entry(r).or_default() += 1,
            Outcome::Violation(v) => t.violations.push((i, v)),
        }
        progress.inc(1);
    }
    t
}

pub fn run(a: LeakproofArgs) -> Result<()> {
    let start = Instant::now();
    // Cases are independent: split them over the available cores; the sums do not depend on it.
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(8) as u64;
    let chunk = a.cases.div_ceil(threads.max(1));
    let progress = Progress::new(Mode::detect(a.json), "leakproof", "cases", Some(a.cases));
    let shared = &progress;
    let parts: Vec<Tally> = std::thread::scope(|s| {
        let hs: Vec<_> = (0..threads)
            .map(|k| {
                let (lo, hi) = ((k * chunk).min(a.cases), ((k + 1) * chunk).min(a.cases));
                s.spawn(move || tally(a.seed, lo..hi, shared))
            })
            .collect();
        hs.into_iter()
            .map(|h| h.join().expect("bench thread"))
            .collect()
    });
    progress.finish("");
    let mut t = Tally::default();
    for p in parts {
        t.composed += p.composed;
        for (k, v) in p.refused {
            *t.refused.entry(k).or_default() += v;
        }
        t.violations.extend(p.violations);
    }
    let secs = start.elapsed().as_secs_f64();
    let refused: u64 = t.refused.values().sum();
    if a.json {
        let v = serde_json::json!({
            "cases": a.cases,
            "seed": a.seed,
            "composed": t.composed,
            "refused": refused,
            "refused_by_reason": t.refused,
            "violations": t.violations.len(),
            "first_violations": t.violations.iter().take(5).map(|(i, v)| serde_json::json!({"case": i, "violation": v})).collect::<Vec<_>>(),
            "seconds": secs,
            "threads": threads,
        });
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        println!(
            "leakproof: {} cases (seed {}, {} thread(s)) in {:.1} s ({:.0} cases/s)",
            a.cases,
            a.seed,
            threads,
            secs,
            a.cases as f64 / secs.max(1e-9)
        );
        println!("  composed:   {}", t.composed);
        println!("  refused:    {refused}");
        for (k, v) in &t.refused {
            println!("    {k:<20} {v}");
        }
        println!("  violations: {}", t.violations.len());
        for (i, v) in t.violations.iter().take(5) {
            println!("    case {i}: {v}");
        }
    }
    if !t.violations.is_empty() {
        bail!(
            "{} violation(s) of the leak-proof property",
            t.violations.len()
        );
    }
    Ok(())
}
