//! Arbitrary UTF-8 into the report parsers: `parse_mark`, `parse_portions` and `parse_report`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tocsin_core::marking::{parse_mark, parse_portions};
use tocsin_formats::parse_report;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else { return };
    let _ = parse_mark(s);
    match parse_portions(s, 1) {
        // Every portion has a mark and text, and lines only go forward.
        Ok(ps) => {
            assert!(ps.iter().all(|p| !p.text.is_empty() && p.line >= 1));
            assert!(ps.windows(2).all(|w| w[0].line < w[1].line));
        }
        Err(e) => assert!(e.line >= 1 && e.column >= 1, "{e}"),
    }
    match parse_report(s) {
        Ok(t) => assert!(!t.portions.is_empty() && !t.targets.is_empty() && t.window.from < t.window.until),
        Err(e) => {
            let _ = e.to_string();
        }
    }
});
