//! Arbitrary UTF-8 into the portion-mark parser. Beyond "no panic", check the oracle that a mark
//! which parses prints back to text that parses to the same mark, with a column inside the text.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tocsin_core::marking::parse_mark;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else { return };
    match parse_mark(s) {
        Ok(mark) => {
            let printed = mark.to_string();
            assert_eq!(parse_mark(&printed).as_ref(), Ok(&mark), "{s:?} printed as {printed:?}");
        }
        Err(e) => {
            assert!(e.column >= 1 && e.column <= s.chars().count() + 1, "{s:?}: {e}");
            let _ = e.to_string();
        }
    }
});
