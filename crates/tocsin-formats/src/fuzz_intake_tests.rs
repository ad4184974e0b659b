//! No-panic properties for the intake readers of other producers' documents — the CAP reader in
//! any encoding and the STIX reader, lenient and strict — the stable-toolchain stand-ins for the
//! `cap_reader` and `stix_reader` cargo-fuzz targets in `fuzz/`.

use crate::cap::{decode_xml, parse_alert, read_alert, CapIntakeOptions};
use crate::stix::{parse_bundle, StixOptions};
use proptest::prelude::*;
use tocsin_core::CountryCode;

const CAP: &str = r#"<?xml version="1.0" encoding="ENC"?>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>X-1</identifier><sender>a@b</sender>
<sent>2024-03-07T19:00:00-05:00</sent><status>Actual</status><msgType>Update</msgType><scope>Public</scope>
<references>a@b,X-0,2024-03-07T18:00:00-05:00</references>
<info><language>fr-CA</language><event>Avertissement</event><urgency>Immediate</urgency><severity>Severe</severity>
<certainty>Likely</certainty><headline>Orages à Montréal</headline>
<area><areaDesc>Montréal, Laval; Québec</areaDesc><polygon>45.5,-73.6 45.6,-73.5 45.4,-73.4 45.5,-73.6</polygon>
<geocode><valueName>SAME</valueName><value>006037</value></geocode><circle>45.5,-73.6 10</circle></area></info>
<info><language>en-CA</language><event>Warning</event><area><areaDesc>State of MI, Clark County</areaDesc></area></info>
</alert>"#;

fn encoded(enc: &'static str, text: &str) -> Vec<u8> {
    let e = encoding_rs::Encoding::for_label(enc.as_bytes()).unwrap_or(encoding_rs::UTF_8);
    if e == encoding_rs::UTF_16LE {
        let mut v = vec![0xFF, 0xFE];
        v.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
        return v;
    }
    if e == encoding_rs::UTF_16BE {
        let mut v = vec![0xFE, 0xFF];
        v.extend(text.encode_utf16().flat_map(u16::to_be_bytes));
        return v;
    }
    e.encode(text).0.into_owned()
}

fn cap_bytes() -> impl Strategy<Value = Vec<u8>> {
    let encs = prop::sample::select(vec![
        "UTF-8",
        "ISO-8859-1",
        "ISO-8859-15",
        "windows-1252",
        "windows-1251",
        "UTF-16LE",
        "UTF-16BE",
        "KOI8-R",
    ]);
    prop_oneof![
        // The alert with one byte range replaced by random bytes, in a random encoding.
        (
            encs,
            any::<usize>(),
            0usize..40,
            prop::collection::vec(any::<u8>(), 0..24)
        )
            .prop_map(|(enc, at, len, junk)| {
                let mut b = encoded(enc, &CAP.replace("ENC", enc));
                let at = at % b.len();
                let end = (at + len).min(b.len());
                b.splice(at..end, junk);
                b
            }),
        prop::collection::vec(any::<u8>(), 0..512),
    ]
}

fn opts() -> CapIntakeOptions {
    CapIntakeOptions {
        originator: CountryCode::parse("CAN").unwrap(),
        default_window_hours: 48,
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn cap_reader_never_panics_in_any_encoding(b in cap_bytes()) {
        if let Ok(text) = decode_xml(&b) {
            if let Ok(a) = parse_alert(&text) {
                let known = |s: &str| s.contains(['a', 'S', 'C']);
                if let Ok(r) = read_alert(&a, &opts(), &known) {
                    // A reading is a threat with a window, areas or the needs_area flag.
                    prop_assert!(r.threat.window.from < r.threat.window.until);
                    let cancel = matches!(r.action, crate::cap::CapAction::Cancel { .. });
                    prop_assert!(r.needs_area || !r.threat.targets.is_empty() || cancel);
                }
            }
        }
    }

    #[test]
    fn cap_alert_reads_the_same_in_every_encoding(enc in prop::sample::select(vec!["UTF-8", "ISO-8859-1", "windows-1252", "UTF-16LE", "UTF-16BE"])) {
        let doc = CAP.replace("ENC", enc);
        let a = parse_alert(&decode_xml(&encoded(enc, &doc)).unwrap()).unwrap();
        prop_assert_eq!(a.infos[0].headline.as_deref(), Some("Orages à Montréal"));
    }

    #[test]
    fn stix_reader_never_panics(objs in prop::collection::vec(stix_object(), 0..8), strict in any::<bool>()) {
        let bundle = serde_json::json!({"type": "bundle", "id": "bundle--5d0092c5-5f74-4287-9642-33f4c354e56d", "objects": objs});
        let opts = StixOptions { strict, ..StixOptions::new(CountryCode::parse("USA").unwrap()) };
        if let Ok(i) = parse_bundle(&bundle.to_string(), &opts) {
            prop_assert!(!strict || i.skipped.is_empty());
        }
    }
}

/// Objects close to real ones, with fields dropped, retyped or garbled.
fn stix_object() -> impl Strategy<Value = serde_json::Value> {
    let ty = prop::sample::select(vec![
        "report",
        "indicator",
        "identity",
        "location",
        "relationship",
        "marking-definition",
        "observed-data",
        "campaign",
    ]);
    let pattern = prop::sample::select(vec![
        "[ipv4-addr:value = '198.51.100.7']",
        "[domain-name:value = 'evil[.]example']",
        "[ipv4-addr:value = '300.1.1.1']",
        "[domain-name:value = 'ok.example'] OR [ipv6-addr:value = '2001:db8::/32']",
        "[file:name = 'x.exe'",
        "",
    ]);
    let n = prop::sample::select(vec![1u8, 2, 3]);
    (
        ty,
        pattern,
        n,
        any::<bool>(),
        any::<bool>(),
        -200.0f64..200.0,
    )
        .prop_map(|(ty, pattern, n, drop_created, marked, lat)| {
            let id = format!("{ty}--00000000-0000-4000-8000-00000000000{n}");
            let mut o = serde_json::json!({
                "type": ty, "spec_version": "2.1", "id": id,
                "created": "2024-03-06T08:00:00Z", "modified": "2024-03-06T08:00:00Z",
                "name": "Hospital", "pattern": pattern, "pattern_type": "stix",
                "latitude": lat, "longitude": 10.0,
                "relationship_type": "targets",
                "source_ref": "campaign--00000000-0000-4000-8000-000000000001",
                "target_ref": "identity--00000000-0000-4000-8000-000000000002",
                "definition_type": "pap", "definition": { "pap": "red" },
                "description": "ransomware against the hospital"
            });
            if drop_created {
                o.as_object_mut().unwrap().remove("created");
            }
            if marked {
                o["object_marking_refs"] =
                    serde_json::json!(["marking-definition--00000000-0000-4000-8000-000000000003"]);
            }
            o
        })
}
