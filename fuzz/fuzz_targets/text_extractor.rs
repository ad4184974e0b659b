//! Arbitrary UTF-8 into the free-text extractor: every item's span reads its text.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;
use tocsin_intake::{Extractor, Gazetteer};

fuzz_target!(|data: &[u8]| {
    static X: OnceLock<Extractor> = OnceLock::new();
    let Ok(text) = std::str::from_utf8(data) else { return };
    let x = X.get_or_init(|| Extractor::with_builtin(&[], &Gazetteer::builtin()).unwrap());
    let p = x.extract(text, chrono::NaiveDate::from_ymd_opt(2024, 3, 7).unwrap());
    for i in p.items() {
        let [s, e] = i.span;
        assert_eq!(text.get(s..e), Some(i.text));
    }
});
