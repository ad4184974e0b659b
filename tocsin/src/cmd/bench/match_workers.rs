//! `tocsin bench match --workers W`: matching through a shared store, as W Tocsin processes do it.
//!
//! The seeded registry of `bench match` is loaded into the store (global `--db`: a PostgreSQL URL
//! naming an empty database, or a scratch SQLite file otherwise). Then W engines open on their own
//! connections, each building its match index from the store, and take threats from one shared
//! queue: ingest (audited write), match in memory, store the matches (audited write, one
//! transaction per threat). Matching is parallel; the store's writes are serialised by the audit
//! chain, so the figures show where several processes stop helping.
//!
//! Prints `workers`, `entities`, `threats`, `matches`, `load_s` (registry into the store),
//! `index_s` (the slowest engine's open), `seconds` (the threat queue), `threats_per_s`,
//! `matches_per_s`.

use super::super::DbLocation;
use super::matching::{entity, threat, MatchArgs, World};
use anyhow::{ensure, Context, Result};
use serde_json::json;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;
use tocsin_core::{Entity, Threat};
use tocsin_engine::{Engine, EngineConfig};
use tocsin_match::Gazetteer;
use tocsin_store::AuditCtx;

pub fn run(a: &MatchArgs, workers: usize, db: &DbLocation) -> Result<()> {
    ensure!(
        (1..=64).contains(&workers),
        "--workers must be from 1 to 64 (got {workers})"
    );
    ensure!(
        !a.verify,
        "--verify checks the in-memory matcher; run it without --workers"
    );
    ensure!(
        a.entities > 0 && a.threats > 0,
        "--entities and --threats must be at least 1"
    );
    let dir = tempfile::tempdir().context("creating a temporary directory")?;
    let location = match db {
        DbLocation::Postgres(_) => db.clone(),
        DbLocation::Sqlite(_) => DbLocation::Sqlite(dir.path().join("bench.db")),
    };
    let store = location.open().context("opening the bench store")?;
    ensure!(
        store.threats()?.is_empty() && store.entities()?.is_empty(),
        "{location} is not empty: bench match --workers writes a synthetic registry and threats, give it an empty database"
    );
    let gazetteer = Gazetteer::builtin();
    let world = World::new(&gazetteer);
    let seed = a.seed;
    let at = chrono::Utc::now();
    let ctx = AuditCtx::new("bench", at);

    let t0 = Instant::now();
    let mut i = 0;
    while i < a.entities {
        let end = (i + 8192).min(a.entities);
        let chunk: Vec<Entity> = (i..end).map(|k| entity(seed, &world, k)).collect();
        store.upsert_entities(&chunk, &ctx)?;
        i = end;
    }
    let load_s = t0.elapsed().as_secs_f64();

    let t1 = Instant::now();
    let engines: Vec<Engine> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                let (location, outbox) = (&location, dir.path().join("outbox"));
                s.spawn(move || -> Result<Engine> {
                    Ok(Engine::open(location.open()?, EngineConfig::new(outbox))?)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(anyhow::anyhow!("an engine panicked while opening")))
            })
            .collect::<Result<_>>()
    })?;
    let index_s = t1.elapsed().as_secs_f64();
    for e in &engines {
        ensure!(
            e.registry_len() as u64 == a.entities,
            "an engine indexed {} of {} entities",
            e.registry_len(),
            a.entities
        );
    }

    let threats: Vec<Threat> = (0..a.threats)
        .map(|k| threat(seed, &world, a.entities, k).0)
        .collect();
    let (next, matches) = (AtomicUsize::new(0), AtomicUsize::new(0));
    let t2 = Instant::now();
    std::thread::scope(|s| {
        let handles: Vec<_> = engines
            .iter()
            .map(|e| {
                let (next, matches, threats, ctx) = (&next, &matches, &threats, &ctx);
                s.spawn(move || -> Result<()> {
                    loop {
                        let k = next.fetch_add(1, Ordering::SeqCst);
                        let Some(t) = threats.get(k) else {
                            return Ok(());
                        };
                        e.ingest_threat(t, ctx)
                            .with_context(|| format!("ingesting {}", t.id))?;
                        let found = e
                            .compute_matches(&t.id, ctx)
                            .with_context(|| format!("matching {}", t.id))?;
                        matches.fetch_add(found.len(), Ordering::SeqCst);
                    }
                })
            })
            .collect();
        handles.into_iter().try_for_each(|h| {
            h.join()
                .unwrap_or_else(|_| Err(anyhow::anyhow!("a worker panicked")))
        })
    })?;
    let seconds = t2.elapsed().as_secs_f64();
    let matches = matches.into_inner();

    // Every threat's matches are in the store, as the engines found them.
    let stored: usize = threats
        .iter()
        .map(|t| store.matches(&t.id).map(|m| m.len()))
        .sum::<std::result::Result<usize, _>>()?;
    ensure!(
        stored == matches,
        "{stored} matches stored, {matches} found"
    );

    let out = json!({
        "workers": workers,
        "store": location.to_string(),
        "entities": a.entities,
        "threats": a.threats,
        "matches": matches,
        "load_s": load_s,
        "index_s": index_s,
        "seconds": seconds,
        "threats_per_s": a.threats as f64 / seconds,
        "matches_per_s": matches as f64 / seconds,
    });
    if a.json {
        println!("{out}");
    } else {
        println!("tocsin bench match --workers {workers}: {} entities, {} threats, seed {seed}, store {location}", a.entities, a.threats);
        println!("  registry into the store  {load_s:.2} s");
        println!("  {workers} engine(s) indexed    {index_s:.2} s (each from the store)");
        println!("  threats ingested+matched {seconds:.2} s: {:.0} threats/s, {:.0} matches/s ({matches} matches stored)", a.threats as f64 / seconds, matches as f64 / seconds);
    }
    Ok(())
}
