//! Arbitrary bytes into the CAP reader: decoding by byte-order mark or declared encoding, parsing,
//! and reading the alert for intake.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tocsin_formats::cap::{decode_xml, parse_alert, read_alert, CapAction, CapIntakeOptions};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = decode_xml(data) else { return };
    let Ok(alert) = parse_alert(&text) else { return };
    let opts = CapIntakeOptions {
        originator: tocsin_core::CountryCode::parse("USA").unwrap(),
        default_window_hours: 48,
    };
    if let Ok(r) = read_alert(&alert, &opts, &|s: &str| s.len() % 2 == 0) {
        assert!(r.threat.window.from < r.threat.window.until);
        assert!(
            r.needs_area
                || !r.threat.targets.is_empty()
                || matches!(r.action, CapAction::Cancel { .. })
        );
    }
});
