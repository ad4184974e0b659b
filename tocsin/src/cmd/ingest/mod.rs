//! `tocsin ingest …`: turn outside material (free text, STIX, CAP) into threats.
//! One module per source format; each owns its `Args` and `run`.

use super::{Globals, Settings};
use anyhow::Result;

pub mod cap;
pub mod stix;
pub mod text;

#[derive(clap::Subcommand, Debug)]
pub enum IngestCommand {
    /// Propose a threat from free text (targets, categories, areas, windows, actors, harms,
    /// indicators) for review; with --commit, store the reviewed proposal as a threat.
    Text(text::TextArgs),
    /// Store a threat from a STIX 2.1 bundle and compute its matches.
    Stix(stix::StixArgs),
    /// Store a threat from a CAP 1.2 alert of another authority and compute its matches.
    Cap(cap::CapArgs),
}

pub fn run(cmd: IngestCommand, g: &Globals, settings: &Settings) -> Result<()> {
    match cmd {
        IngestCommand::Text(a) => text::run(a, g, settings),
        IngestCommand::Stix(a) => stix::run(a, g, settings),
        IngestCommand::Cap(a) => cap::run(a, g, settings),
    }
}
