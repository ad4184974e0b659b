//! `tocsin bench …`: benchmarks that print figures (budgets live here, not in timed tests).
//! One module per benchmark; each owns its `Args` and `run`.

use super::Globals;
use anyhow::Result;

#[derive(clap::Subcommand, Debug)]
pub enum BenchCommand {}

pub fn run(cmd: BenchCommand, _g: &Globals) -> Result<()> {
    match cmd {}
}
