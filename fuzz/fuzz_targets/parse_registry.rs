//! Arbitrary UTF-8 into the registry parsers: venues.csv, events.csv, audiences.toml.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tocsin_formats::{parse_audiences_toml, parse_events_csv, parse_venues_csv};

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else { return };
    let venues = parse_venues_csv(s).unwrap_or_default();
    let _ = parse_events_csv(s, &venues).map_err(|e| e.to_string());
    let _ = parse_audiences_toml(s).map_err(|e| e.to_string());
});
