//! End-to-end tests: the `tocsin` binary as a user runs it. One test binary, a module per area.

mod common;

mod architecture;
mod audit;
mod cluster;
mod compose;
mod corpus;
mod day;
mod delivery;
mod demo;
mod feed;
mod follow;
mod intake;
mod matching;
mod progress;
mod replay;
mod serve;
mod standards;
mod world;
