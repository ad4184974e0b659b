//! `tocsin ingest …`: turn outside material (free text, STIX, CAP) into threats.
//! One module per source format; each owns its `Args` and `run`.

use super::Globals;
use anyhow::Result;

#[derive(clap::Subcommand, Debug)]
pub enum IngestCommand {}

pub fn run(cmd: IngestCommand, _g: &Globals) -> Result<()> {
    match cmd {}
}
