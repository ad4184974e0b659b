//! `tocsin bench …`: benchmarks that print figures (budgets live here, not in timed tests).
//! One module per benchmark; each owns its `Args` and `run`.

use super::Globals;
use anyhow::Result;

pub mod api;
pub mod deliver;
pub mod feed;
pub mod intake;
pub mod leakproof;
pub mod match_workers;
pub mod matching;

#[derive(clap::Subcommand, Debug)]
pub enum BenchCommand {
    /// The composer's leak-proof property over N seeded random cases (violations must be 0).
    Leakproof(leakproof::LeakproofArgs),
    /// Read every GET operation of the API over `serve --demo` with C clients: req/s, p50/p99.
    Api(api::ApiArgs),
    /// Fan one warning out to N signed webhooks on a local receiver; deliveries per second.
    Deliver(deliver::DeliverArgs),
    /// Free-text intake throughput on one core over N MB of deterministic text (MB/s).
    Intake(intake::IntakeArgs),
    /// Matcher over a seeded synthetic registry: build time, memory, latency, matches.
    Match(matching::MatchArgs),
    /// A feed file to queued notifications: events/s and peak memory.
    Feed(feed::FeedArgs),
    /// Seeded inputs for `bench feed`: orgs.csv, prefixes.csv (nested), events.csv.
    FeedGen(feed::FeedGenArgs),
}

pub fn run(cmd: BenchCommand, _g: &Globals) -> Result<()> {
    match cmd {
        BenchCommand::Leakproof(a) => leakproof::run(a),
        BenchCommand::Api(a) => api::run(a),
        BenchCommand::Deliver(a) => deliver::run(a, &_g.db),
        BenchCommand::Intake(a) => intake::run(a, _g),
        BenchCommand::Match(a) => matching::run(a, &_g.db),
        BenchCommand::Feed(a) => feed::run(a),
        BenchCommand::FeedGen(a) => feed::run_gen(a),
    }
}
