//! The corpus of the world (`tests/corpus/`, SOURCES.md says what each document imitates): every
//! document is ingested by `tocsin ingest` (exit 0) and gives the expected action, areas, matches,
//! notes and skipped objects. CAP chains (Update, Cancel) run in order against one store.

use crate::common::{bin, run_ok, TestDb};
use serde_json::Value;
use std::path::{Path, PathBuf};

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/corpus")
}

fn ingest(db: &TestDb, kind: &str, file: &str) -> Value {
    let path = corpus().join(kind).join(file);
    let sub = if kind == "cap" { "cap" } else { "stix" };
    let out = run_ok(bin().args([
        "--db",
        db.arg(),
        "ingest",
        sub,
        path.to_str().unwrap(),
        "--json",
    ]));
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{file}: {e}"))
}

fn entities(v: &Value) -> Vec<String> {
    let mut ids: Vec<String> = v["matches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["entity_id"].as_str().unwrap().to_owned())
        .collect();
    ids.sort();
    ids.dedup();
    ids
}

fn notes(v: &Value) -> String {
    v["notes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap())
        .collect::<Vec<_>>()
        .join("\n")
}

/// (file, action, needs_area, matched entities, a note that must be there)
const CAP: &[(&str, &str, bool, &[&str], &str)] = &[
    (
        "nws-la-red-flag.cap.xml",
        "open",
        false,
        &["la-memorial-coliseum"],
        "UGC=CAZ547",
    ),
    (
        "nws-la-red-flag-update.cap.xml",
        "update",
        false,
        &["la-memorial-coliseum"],
        "San Fernando Valley",
    ),
    (
        "nws-la-red-flag-cancel.cap.xml",
        "cancel",
        false,
        &[],
        "not stored here",
    ),
    (
        "nws-clark-heat.cap.xml",
        "open",
        false,
        &["las-vegas-arena"],
        "Las Vegas Valley",
    ),
    (
        "nws-nw-oregon-flood.cap.xml",
        "open",
        false,
        &["oregon-city-hall"],
        "\"Clark County\"",
    ),
    (
        "fema-ipaws-michigan-cem.cap.xml",
        "open",
        false,
        &["detroit-ford-field"],
        "SAME=026000",
    ),
    (
        "state-dept-worldwide-caution.cap.xml",
        "open",
        true,
        &[],
        "needs_area",
    ),
    (
        "eccc-ontario-snow.cap.xml",
        "open",
        false,
        &["toronto-scotiabank-arena"],
        "2 info blocks (en-CA, fr-CA)",
    ),
    (
        "eccc-cancel-unknown.cap.xml",
        "cancel",
        false,
        &[],
        "not stored here",
    ),
    (
        "aea-calgary-civil.cap.xml",
        "open",
        false,
        &["calgary-saddledome"],
        "2 info blocks",
    ),
    (
        "met-norway-wind.cap.xml",
        "open",
        false,
        &["bergen-grieghallen"],
        "text from info[1] (en-GB)",
    ),
    (
        "met-norway-wind-update.cap.xml",
        "update",
        false,
        &["bergen-grieghallen"],
        "",
    ),
    (
        "dwd-berlin-storm.cap.xml",
        "open",
        false,
        &["berlin-olympiastadion"],
        "WARNCELLID",
    ),
    (
        "bom-sydney-fire.cap.xml",
        "open",
        false,
        &["sydney-opera-house"],
        "Greater Sydney",
    ),
];

/// (file, matched entities, skipped object ids, a note that must be there)
const STIX: &[(&str, &[&str], &[&str], &str)] = &[
    (
        "national-cert-pap.stix.json",
        &["oslo-university-hospital"],
        &[],
        "PAP:GREEN",
    ),
    (
        "vendor-defanged-indicator.stix.json",
        &["oslo-university-hospital"],
        &["indicator--0a9b8c7d-6e5f-4a3b-9c2d-000000000003"],
        "",
    ),
    (
        "misp-export-custom-marking.stix.json",
        &["madrid-synagogue"],
        &["observed-data--5e4d3c2b-1a09-4f8e-b7d6-000000000003"],
        "releasable to nobody",
    ),
    // A class target in Norway: the country is its area (centroid + radius, which does not
    // reach Oslo: a country's circle is coarse), so nothing in the registry matches.
    ("isac-sector-class.stix.json", &[], &[], ""),
    (
        "taxii-envelope-broken-location.stix.json",
        &["detroit-ford-field"],
        &["location--8e7f6a5b-4c3d-4e2f-9a1b-000000000003"],
        "",
    ),
];

/// (file, areas that must be proposed, named places proposed as not in registry)
const ADVISORIES: &[(&str, &[&str], &[&str])] = &[
    (
        "us-worldwide-caution.txt",
        &["Spain", "Uzbekistan", "Sri Lanka"],
        &[],
    ),
    (
        "uk-fcdo-spain.txt",
        &["Spain", "Barcelona"],
        &["Santiago Bernabeu Stadium"],
    ),
    (
        "au-smartraveller-uzbekistan.txt",
        &["Uzbekistan", "Tashkent"],
        &["Minor Mosque", "Tashkent International Airport"],
    ),
    (
        "ca-travel-sri-lanka.txt",
        &["Sri Lanka", "Colombo"],
        &["Shangri-La Hotel"],
    ),
];

#[test]
fn every_corpus_document_ingests_with_the_expected_result() {
    let dir = tempfile::tempdir().unwrap();
    let db = TestDb::new(dir.path());
    let reg = corpus().join("registry");
    run_ok(bin().args(["--db", db.arg(), "import", reg.to_str().unwrap()]));

    for (file, action, needs_area, matched, note) in CAP {
        let v = ingest(&db, "cap", file);
        assert_eq!(v["action"], *action, "{file}");
        assert_eq!(v["needs_area"], *needs_area, "{file}");
        assert_eq!(entities(&v), *matched, "{file}");
        assert!(notes(&v).contains(note), "{file}: {}", notes(&v));
        assert_eq!(v["skipped"], serde_json::json!([]), "{file}");
    }
    // The LA chain: the Update is a new version of the first alert's threat, the Cancel closes it.
    let cancel = ingest(&db, "cap", "nws-la-red-flag-cancel.cap.xml");
    assert_eq!(
        cancel["closed"],
        serde_json::json!(["cap-urn-oid-2.49.0.1.840.0.7c1e0f2a9b3d4e5f.001.1"])
    );

    for (file, matched, skipped, note) in STIX {
        let v = ingest(&db, "stix", file);
        assert_eq!(entities(&v), *matched, "{file}");
        let ids: Vec<&str> = v["skipped"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["id"].as_str().unwrap())
            .collect();
        assert_eq!(ids, *skipped, "{file}");
        assert!(notes(&v).contains(note), "{file}: {}", notes(&v));
    }

    for (file, areas, unregistered) in ADVISORIES {
        let path = corpus().join("advisories").join(file);
        let out = run_ok(bin().args([
            "ingest",
            "text",
            path.to_str().unwrap(),
            "--date",
            "2025-02-03",
            "--registry",
            reg.to_str().unwrap(),
            "--json",
        ]));
        let p: Value = serde_json::from_slice(&out.stdout).unwrap();
        let got: Vec<&str> = p["areas"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["value"].as_str().unwrap())
            .collect();
        for a in *areas {
            assert!(got.contains(a), "{file}: {a} not in {got:?}");
        }
        for name in *unregistered {
            let t = p["targets"]
                .as_array()
                .unwrap()
                .iter()
                .find(|t| t["value"] == *name)
                .unwrap_or_else(|| panic!("{file}: {name} not proposed"));
            assert_eq!(t["entities"], serde_json::json!([]), "{file}");
            assert!(t["notes"][0]
                .as_str()
                .unwrap()
                .starts_with("not in registry"));
        }
    }
}
