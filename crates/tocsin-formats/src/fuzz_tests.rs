//! No-panic properties for every parser on arbitrary text: the stable-toolchain stand-in for the
//! cargo-fuzz targets in `fuzz/` (which need nightly), so that `cargo test` always exercises it.

use crate::{parse_audiences_toml, parse_events_csv, parse_report, parse_venues_csv};
use proptest::prelude::*;
use tocsin_core::marking::{parse_mark, parse_portions};

/// Fragments that steer random text towards the interesting corners of the grammars.
fn fragment() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("+++\n".to_owned()),
        Just("(".to_owned()),
        Just(")".to_owned()),
        Just("//".to_owned()),
        Just("/".to_owned()),
        Just("(S//NF) ".to_owned()),
        Just("(U) ".to_owned()),
        Just("REL TO USA, FVEY".to_owned()),
        Just("TEARLINE (U): ".to_owned()),
        Just("TLP:AMBER+STRICT".to_owned()),
        Just("\n".to_owned()),
        Just("\r\n".to_owned()),
        Just("\n\n".to_owned()),
        Just("[[targets]]\n".to_owned()),
        Just("mark = \"(S//NF)\"\n".to_owned()),
        Just("window = \"imminent\"\n".to_owned()),
        Just("area = { lat = 91, lon = 0, radius_km = 1 }\n".to_owned()),
        Just("\"".to_owned()),
        Just(",".to_owned()),
        Just("#".to_owned()),
        Just("Ж".to_owned()),
        Just("\u{feff}".to_owned()),
        "\\PC{0,8}",
        any::<String>().prop_map(|s| s.chars().take(8).collect()),
    ]
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        proptest::collection::vec(fragment(), 0..24).prop_map(|v| v.concat()),
        proptest::collection::vec(any::<u8>(), 0..256)
            .prop_map(|b| String::from_utf8_lossy(&b).into_owned()),
    ]
}

/// A valid report with one line replaced by random text: near-misses hit the deepest code paths.
fn mutated_report() -> impl Strategy<Value = String> {
    const BASE: &str = "+++\nid = \"x\"\ntitle = \"t\"\noriginator = \"USA\"\nreceived = \"2024-03-06T09:00:00Z\"\n\
harms = [\"killing\"]\ncredibility = \"possible\"\nwindow = \"imminent\"\n[[targets]]\nlabel = \"l\"\n\
mark = \"(U)\"\narea = { polygon = [[1, 2], [3, 4], [5, 6]] }\n+++\n(S//REL TO USA, GBR) a\nb\n\nTEARLINE (U): c\n";
    (0..17usize, proptest::collection::vec(fragment(), 0..6)).prop_map(|(n, frags)| {
        let mut lines: Vec<String> = BASE.lines().map(str::to_owned).collect();
        if let Some(l) = lines.get_mut(n) {
            *l = frags.concat();
        }
        lines.join("\n")
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn parsers_never_panic(s in text()) {
        let _ = parse_mark(&s);
        let _ = parse_portions(&s, 1);
        let _ = parse_report(&s);
        let _ = parse_audiences_toml(&s);
        if let Ok(venues) = parse_venues_csv(&s) {
            let _ = parse_events_csv(&s, &venues);
        }
        let _ = parse_events_csv(&s, &[]);
    }

    #[test]
    fn near_miss_reports_never_panic(s in mutated_report()) {
        if let Err(e) = parse_report(&s) {
            // Every error renders to text (the Display impls must not panic either).
            prop_assert!(!e.to_string().is_empty());
        }
    }

    #[test]
    fn near_miss_csv_never_panics(row in proptest::collection::vec(fragment(), 0..12)) {
        let venues = format!("id,name,aliases,category,lat,lon,capacity,city,country,operator\n{}", row.concat());
        let events = format!("id,name,aliases,category,venue_id,starts,ends,expected_attendance,operator\n{}", row.concat());
        let _ = parse_venues_csv(&venues).map_err(|e| e.to_string());
        let _ = parse_events_csv(&events, &[]).map_err(|e| e.to_string());
    }
}
