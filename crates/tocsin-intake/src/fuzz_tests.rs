//! No-panic property for the text extractor on arbitrary text — the stable-toolchain stand-in for
//! the `text_extractor` cargo-fuzz target in `fuzz/`: every item's span lies on character
//! boundaries and reads its `text`.

use crate::{Extractor, Gazetteer};
use chrono::NaiveDate;
use proptest::prelude::*;
use std::sync::OnceLock;

fn extractor() -> &'static Extractor {
    static X: OnceLock<Extractor> = OnceLock::new();
    X.get_or_init(|| Extractor::with_builtin(&[], &Gazetteer::builtin()).unwrap())
}

fn fragment() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("Crocus City Hall ".to_owned()),
        Just("Kerman Martyrs' Cemetery ".to_owned()),
        Just("in Sri Lanka, Uzbekistan and Spain ".to_owned()),
        Just("State of MI ".to_owned()),
        Just("At The ".to_owned()),
        Just("Hall ".to_owned()),
        Just("hxxp://evil[.]example/x ".to_owned()),
        Just("198.51.100[.]7 ".to_owned()),
        Just("in the next 48 hours ".to_owned()),
        Just("on 22 March 2024 ".to_owned()),
        Just("synagogues ".to_owned()),
        Just("Москва ".to_owned()),
        Just("گلزار شهدا ".to_owned()),
        Just("\u{301}".to_owned()),
        Just(". ".to_owned()),
        Just("\n".to_owned()),
        "\\PC{0,12}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn extractor_never_panics_and_spans_read_their_text(frags in prop::collection::vec(fragment(), 0..20)) {
        let text = frags.concat();
        let p = extractor().extract(&text, NaiveDate::from_ymd_opt(2024, 3, 7).unwrap());
        for i in p.items() {
            let [s, e] = i.span;
            prop_assert_eq!(text.get(s..e), Some(i.text));
        }
    }
}
