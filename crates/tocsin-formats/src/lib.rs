//! Tocsin's file formats: the edge where text from outside becomes domain types.
//!
//! - [`report`]: a report file (TOML front matter + portion-marked body) → [`tocsin_core::Threat`].
//! - [`registry`]: venues.csv, events.csv → [`tocsin_core::Entity`]; audiences.toml →
//!   [`tocsin_core::Audience`].
//!
//! Every parser here is total: any input, however broken, yields a value or an error that names
//! the line (and field or column) that was wrong, never a panic. The formats are documented in
//! `docs/formats.md`.

pub mod cap;
pub mod policy;
pub mod registry;
pub mod report;
pub mod stix;
pub mod taxonomy;
mod toml_util;

pub use registry::{parse_audiences_toml, parse_events_csv, parse_venues_csv, RegistryError};
pub use report::{parse_report, ReportFileError};

#[cfg(test)]
mod fuzz_intake_tests;
#[cfg(test)]
mod fuzz_tests;
