//! `tocsin ingest …`: turn outside material (free text, STIX, CAP) into threats.
//! One module per source format; each owns its `Args` and `run`.

use super::Globals;
use anyhow::Result;

pub mod text;

#[derive(clap::Subcommand, Debug)]
pub enum IngestCommand {
    /// Propose a threat from free text (targets, categories, areas, windows, actors, harms,
    /// indicators) for review; with --commit, store the reviewed proposal as a threat.
    Text(text::TextArgs),
}

pub fn run(cmd: IngestCommand, _g: &Globals) -> Result<()> {
    match cmd {
        IngestCommand::Text(a) => text::run(a, _g),
    }
}
