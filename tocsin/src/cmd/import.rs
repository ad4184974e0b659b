//! `tocsin import DIR`.

use super::{open_engine, Globals, Settings};
use crate::progress::{Mode, Progress};
use anyhow::Result;
use std::path::PathBuf;
use tocsin_store::AuditCtx;

#[derive(clap::Args, Debug)]
pub struct ImportArgs {
    /// Directory with venues.csv, events.csv, audiences.toml and *.txt reports.
    dir: PathBuf,
}

pub fn run(args: ImportArgs, g: &Globals, settings: &Settings) -> Result<()> {
    let engine = open_engine(&g.db, g.outbox.clone(), settings)?;
    let now = super::clock::now(engine.store().as_ref())?;
    let progress = Progress::new(Mode::detect(false), "importing", "items", None);
    let s = engine.import_dir_with(
        &args.dir,
        &AuditCtx::new("cli:import", now),
        &|done, total| progress.set(done, Some(total)),
    )?;
    progress.finish("registry entities, then reports");
    println!(
        "imported {} venues, {} events, {} audiences, {} reports ({} matches) into {}",
        s.venues, s.events, s.audiences, s.threats, s.matches, g.db
    );
    for n in &s.notes {
        eprintln!("note: {n}");
    }
    Ok(())
}
