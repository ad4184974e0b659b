//! Arbitrary UTF-8 into the STIX reader, lenient and strict: strict never skips, lenient never
//! refuses a bundle only for what it could skip.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tocsin_formats::stix::{parse_bundle, StixOptions};

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else { return };
    let usa = tocsin_core::CountryCode::parse("USA").unwrap();
    let lenient = parse_bundle(s, &StixOptions::new(usa));
    let strict = parse_bundle(s, &StixOptions { strict: true, ..StixOptions::new(usa) });
    if let Ok(i) = &strict {
        assert!(i.skipped.is_empty());
        assert!(lenient.is_ok(), "a bundle strict mode accepts is accepted leniently");
    }
    if let Err(e) = lenient {
        let _ = e.to_string();
    }
});
