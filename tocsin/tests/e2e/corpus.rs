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
        &["sydney-opera-house", "sydney-royal-harbour"],
        "Greater Sydney",
    ),
    (
        "jma-tokyo-quake.cap.xml",
        "open",
        false,
        &["tokyo-nippon-budokan"],
        "2 info blocks (ja-JP, en-US) read as one threat; text from info[1] (en-US)",
    ),
    (
        "phivolcs-tsunami-multi-area.cap.xml",
        "open",
        false,
        &["manila-rizal-coliseum"],
        "PSGC=030800000",
    ),
    (
        "bmkg-tsunami-padang.cap.xml",
        "open",
        false,
        &["padang-agus-salim-stadium"],
        "2 info blocks (id, en)",
    ),
    (
        "sasmex-cdmx-seismic.cap.xml",
        "open",
        false,
        &["mexico-estadio-azteca"],
        "\"Guerrero\" not in the gazetteer",
    ),
    (
        "nl-alert-amsterdam.cap.xml",
        "open",
        false,
        &["amsterdam-water-scada", "amsterdam-westerpark-hall"],
        "\"Amsterdam-Westpoort\", \"Zaandam-Zuid\" not in the gazetteer",
    ),
    (
        "uk-emergency-alert-london.cap.xml",
        "open",
        false,
        &["london-westminster-hall"],
        "",
    ),
    (
        "it-alert-roma.cap.xml",
        "open",
        false,
        &["rome-stadio-olimpico"],
        "ISTAT=058091",
    ),
    // "São Paulo/SP": the city before the state's code.
    (
        "defesa-civil-sao-paulo.cap.xml",
        "open",
        false,
        &["saopaulo-allianz-parque", "saopaulo-santa-clara"],
        "IBGE=3550308",
    ),
    (
        "ndma-delhi-heatwave.cap.xml",
        "open",
        false,
        &["delhi-nehru-stadium"],
        "2 info blocks (hi, en-IN)",
    ),
    // "תל אביב - יפו": the city before its district, in Hebrew.
    (
        "hfc-tel-aviv-rockets.cap.xml",
        "open",
        false,
        &["telaviv-menora-arena"],
        "2 info blocks (he-IL, en-US)",
    ),
    (
        "meteofrance-paris-heat.cap.xml",
        "open",
        false,
        &["paris-accor-arena", "paris-lariboisiere"],
        "EMMA_ID=FR75",
    ),
    (
        "meteofrance-paris-heat-update.cap.xml",
        "update",
        false,
        &["paris-accor-arena", "paris-lariboisiere"],
        "",
    ),
    (
        "meteofrance-paris-heat-update2.cap.xml",
        "update",
        false,
        &["paris-accor-arena", "paris-lariboisiere"],
        "",
    ),
    // "Metro Manila" is no gazetteer place (Philippine regions are not shipped); its derefUri
    // resource is ignored.
    (
        "pagasa-typhoon-resource.cap.xml",
        "open",
        false,
        &[],
        "\"Metro Manila\" not in the gazetteer; the parts it knows are used",
    ),
    (
        "gdacs-empty-area.cap.xml",
        "open",
        false,
        &[],
        "alert/info[0]/area[0]: empty (no areaDesc, polygon, circle or geocode); ignored",
    ),
];

/// CAP messages that open no threat (CAP 1.2 §3.2.1: Test and Exercise are to be disregarded by
/// recipients; Ack and Error answer another message): refused, exit 1, naming the element.
const CAP_REFUSED: &[(&str, &str)] = &[
    (
        "ipaws-ack.cap.xml",
        "CAP alert/msgType: an Ack message opens no threat",
    ),
    (
        "ipaws-error.cap.xml",
        "CAP alert/msgType: an Error message opens no threat",
    ),
    (
        "nws-required-weekly-test.cap.xml",
        "CAP alert/status: a Test message opens no threat (only Actual alerts do)",
    ),
    (
        "nl-alert-exercise.cap.xml",
        "CAP alert/status: an Exercise message opens no threat (only Actual alerts do)",
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
    (
        "opencti-export-custom-props.stix.json",
        &["tokyo-nippon-budokan"],
        &[],
        "",
    ),
    (
        "isac-grouping-note-opinion.stix.json",
        &["saopaulo-santa-clara"],
        &[],
        "",
    ),
    (
        "report-dangling-object-refs.stix.json",
        &["amsterdam-westerpark-hall"],
        &[],
        "",
    ),
    (
        "stix20-bundle-spec-version.stix.json",
        &["mexico-estadio-azteca"],
        &[],
        "the bundle declares spec_version \"2.0\"",
    ),
    // Sectors outside the STIX vocabulary are compared as written: no hospital is "santé".
    (
        "cert-fr-sectors-in-french.stix.json",
        &[],
        &[],
        "sector \"santé\" is not in the STIX 2.1 industry-sector vocabulary",
    ),
    (
        "vendor-ipv6-indicators.stix.json",
        &["london-thames-general"],
        &[],
        "",
    ),
    // url:value hosts: a subdomain of the hospital's domain, an address in its network.
    (
        "vendor-url-indicators.stix.json",
        &["oslo-university-hospital"],
        &[],
        "",
    ),
    (
        "national-cert-vulnerability.stix.json",
        &["oslo-university-hospital"],
        &[],
        "",
    ),
    (
        "csirt-infrastructure-target.stix.json",
        &["amsterdam-water-scada"],
        &[],
        "",
    ),
];

/// (file, areas that must be proposed, named places proposed as not in registry, registry
/// names recognised with their entity, indicators)
type Advisory = (
    &'static str,
    &'static [&'static str],
    &'static [&'static str],
    &'static [(&'static str, &'static str)],
    &'static [&'static str],
);
const ADVISORIES: &[Advisory] = &[
    (
        "us-worldwide-caution.txt",
        &["Spain", "Uzbekistan", "Sri Lanka"],
        &[],
        &[],
        &[],
    ),
    (
        "uk-fcdo-spain.txt",
        &["Spain", "Barcelona"],
        &["Santiago Bernabeu Stadium"],
        &[],
        &[],
    ),
    (
        "au-smartraveller-uzbekistan.txt",
        &["Uzbekistan", "Tashkent"],
        &["Minor Mosque", "Tashkent International Airport"],
        &[],
        &[],
    ),
    (
        "ca-travel-sri-lanka.txt",
        &["Sri Lanka", "Colombo"],
        &["Shangri-La Hotel"],
        &[],
        &[],
    ),
    (
        "de-auswaertiges-amt-frankreich.txt",
        &["Paris", "Marseille"],
        &[],
        &[],
        &[],
    ),
    (
        "fr-conseils-aux-voyageurs-belgique.txt",
        &["Belgium", "Brussels"],
        &[],
        &[],
        &[],
    ),
    (
        "jp-mofa-philippines.txt",
        &["Philippines", "Manila"],
        &["Greenbelt Mall", "Quiapo Church"],
        &[],
        &[],
    ),
    (
        "nz-safetravel-indonesia.txt",
        &["Indonesia", "Jakarta"],
        &[],
        &[],
        &[],
    ),
    (
        "ie-dfa-kenya.txt",
        &["Kenya", "Nairobi", "Mombasa"],
        &["Westgate Mall"],
        &[],
        &[],
    ),
    (
        "us-state-travel-advisory-mali.txt",
        &["Mali", "Bamako"],
        &["Radisson Blu Hotel"],
        &[],
        &[],
    ),
    (
        "ca-travel-france.txt",
        &["France", "Paris", "Nice"],
        &[],
        &[("Accor Arena", "paris-accor-arena")],
        &[],
    ),
    (
        "au-smartraveller-israel.txt",
        &["Israel", "Jerusalem", "Tel Aviv"],
        &[],
        &[],
        &[],
    ),
    (
        "uk-fcdo-turkey.txt",
        &["Istanbul", "Ankara"],
        &["Istanbul Ataturk Airport"],
        &[("Vodafone Park Stadium", "istanbul-vodafone-park")],
        &[],
    ),
    // Russian place names in oblique cases: "в Турцию", "в Стамбуле", "Анкаре".
    (
        "ru-mid-turkey.txt",
        &["Türkiye", "Istanbul", "Ankara"],
        &[],
        &[],
        &[],
    ),
    (
        "ncsc-pre-ransomware-notification.txt",
        &[],
        &[],
        &[("Oslo University Hospital", "oslo-university-hospital")],
        &[
            "203.0.113.45",
            "203.0.113.46",
            "198.51.100.0/24",
            "https://cdn-sync.example/update",
            "2001:db8:9f::12",
            "vpn.ous-hospital.example",
        ],
    ),
    (
        "au-acsc-notification-healthcare.txt",
        &["Sydney", "Melbourne"],
        &[],
        &[("Royal Harbour Hospital", "sydney-royal-harbour")],
        &["192.0.2.144", "192.0.2.145", "files-share.example"],
    ),
];

/// Places the extractor once proposed from words that name no place here: (file, area value).
const NOT_AREAS: &[(&str, &str)] = &[
    ("ncsc-pre-ransomware-notification.txt", "Prato"), // "Pre-ransomware"
    ("ncsc-pre-ransomware-notification.txt", "Siirt"), // "CERT"
    ("us-state-travel-advisory-mali.txt", "Jahrom"),   // "Do not travel"
    ("ca-travel-france.txt", "Hansestadt Stade"),      // "Stade de France"
    ("uk-fcdo-turkey.txt", "Commonwealth"), // "Foreign, Commonwealth & Development Office"
];

/// Relative times the extractor reads as a window: (file, basis).
const WINDOWS: &[(&str, &str)] = &[
    ("ru-mid-turkey.txt", "coming_days"), // "В ближайшие дни"
];

#[test]
fn every_corpus_document_ingests_with_the_expected_result() {
    let dir = tempfile::tempdir().unwrap();
    let db = TestDb::new(dir.path());
    let reg = corpus().join("registry");
    run_ok(bin().args(["--db", db.arg(), "import", reg.to_str().unwrap()]));

    let mut threat_ids: Vec<(&str, Value)> = Vec::new();
    for (file, action, needs_area, matched, note) in CAP {
        let v = ingest(&db, "cap", file);
        threat_ids.push((file, v["threat"]["id"].clone()));
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

    for (file, expected) in CAP_REFUSED {
        let path = corpus().join("cap").join(file);
        let out = bin()
            .args([
                "--db",
                db.arg(),
                "ingest",
                "cap",
                path.to_str().unwrap(),
                "--json",
            ])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{file}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(expected), "{file}: {err}");
    }
    // The Météo-France chain of three: both Updates are versions of the first alert's threat.
    let chain: Vec<&Value> = threat_ids
        .iter()
        .filter(|(f, _)| f.starts_with("meteofrance-paris-heat"))
        .map(|(_, id)| id)
        .collect();
    assert_eq!(chain.len(), 3);
    for id in chain {
        assert_eq!(id, "cap-2.49.0.0.250.0.FR.20250811060000.75.1");
    }

    for (file, areas, unregistered, registered, indicators) in ADVISORIES {
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
        for (f, wrong) in NOT_AREAS {
            if f == file {
                assert!(!got.contains(wrong), "{file}: {wrong} proposed: {got:?}");
            }
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
        for (name, entity) in *registered {
            let t = p["targets"]
                .as_array()
                .unwrap()
                .iter()
                .find(|t| t["value"] == *name)
                .unwrap_or_else(|| panic!("{file}: {name} not recognised"));
            assert_eq!(t["entities"], serde_json::json!([entity]), "{file}");
        }
        let got: Vec<&str> = p["indicators"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["value"].as_str().unwrap())
            .collect();
        for i in *indicators {
            assert!(got.contains(i), "{file}: {i} not in {got:?}");
        }
        for (f, basis) in WINDOWS {
            if f == file {
                let windows = p["windows"].to_string();
                assert!(
                    windows.contains(&format!("\"{basis}\"")),
                    "{file}: no {basis} window in {windows}"
                );
            }
        }
    }
}
