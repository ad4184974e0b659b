//! Beyond the reference case: four scenarios, each from `tocsin ingest` to a composed warning or
//! to a recorded `not_applicable` naming the criterion that failed.
//!
//! 1. Pre-ransomware by network: a STIX bundle whose only target facts are IP addresses and a
//!    domain matches a hospital's network; under the CERT policy the duty holds (the networks
//!    and the domain are specific) and the hospital's operator gets a warning.
//! 2. A transliterated named venue with its event: "Golzar-e Shohada" matches the venue
//!    registered as "Kerman Martyrs' Cemetery (Golzar-e Shohada)" and the commemoration held
//!    there inside the window (`held at …`); its operator is warned.
//! 3. Countries in free text: "synagogues in Sri Lanka, Uzbekistan and Spain" gives three country
//!    areas; the Madrid synagogue matches and is warned.
//! 4. A named place without a registry: "Crocus City Hall" is proposed as `not in registry`;
//!    committed into an empty store it matches nothing and the determination is
//!    `not_applicable` because `identifiable_victims` fails, and only that.

use crate::common::{bin, run_ok, TestDb};
use chrono::{TimeZone, Utc};
use serde_json::Value;
use std::path::Path;
use tocsin_core::duty::Decision;
use tocsin_engine::{Engine, EngineConfig};

fn t(y: i32, mo: u32, d: u32, h: u32) -> tocsin_core::Timestamp {
    Utc.with_ymd_and_hms(y, mo, d, h, 0, 0).unwrap()
}

const VENUES: &str = "\
id,name,aliases,category,lat,lon,capacity,city,country,operator,networks,domains
st-olaf-hospital,St Olaf Regional Hospital,,venue/healthcare/hospital,44.0121,-92.4802,400,Rochester,USA,op-st-olaf,203.0.113.0/24,st-olaf-hospital.example
kerman-martyrs-cemetery,Kerman Martyrs' Cemetery (Golzar-e Shohada),Golzar Shohada,venue/cemetery,30.2906,57.0850,20000,Kerman,IRN,op-kerman-cemetery,,
madrid-synagogue,Madrid Central Synagogue,Sinagoga de Madrid,place_of_worship/synagogue,40.4290,-3.6960,600,Madrid,ESP,op-madrid-synagogue,,
berlin-synagogue,Berlin New Synagogue,,place_of_worship/synagogue,52.5247,13.3946,1200,Berlin,DEU,op-berlin-synagogue,,
";

const EVENTS: &str = "\
id,name,aliases,category,venue_id,starts,ends,expected_attendance,operator
soleimani-commemoration-2024,Commemoration of the fourth anniversary,,event/commemoration,kerman-martyrs-cemetery,2024-01-03T10:00:00+03:30,2024-01-03T18:00:00+03:30,100000,op-kerman-cemetery
";

fn audiences() -> String {
    let op = |id: &str, name: &str, country: &str| {
        format!(
            "[[audience]]\nid = \"{id}\"\nname = \"{name}\"\nkind = \"operator\"\ncountry = \"{country}\"\nclearance = \"U\"\ntlp_ceiling = \"AMBER\"\nchannels = [{{ kind = \"file\", address = \"operators/{id}\" }}]\nescalation_contact = \"Duty officer\"\nlanguage = \"en\"\nposture_interval_hours = 24\n\n"
        )
    };
    [
        op("op-st-olaf", "St Olaf Regional Hospital IT security", "USA"),
        op(
            "op-kerman-cemetery",
            "Golzar-e Shohada site security",
            "IRN",
        ),
        op("op-madrid-synagogue", "Madrid synagogue security", "ESP"),
        op("op-berlin-synagogue", "Berlin synagogue security", "DEU"),
    ]
    .concat()
}

fn registry(dir: &Path) -> std::path::PathBuf {
    let reg = dir.join("registry");
    std::fs::create_dir_all(&reg).unwrap();
    std::fs::write(reg.join("venues.csv"), VENUES).unwrap();
    std::fs::write(reg.join("events.csv"), EVENTS).unwrap();
    std::fs::write(reg.join("audiences.toml"), audiences()).unwrap();
    reg
}

fn engine(db: &TestDb, dir: &Path, policy: Option<&str>) -> Engine {
    let mut config = EngineConfig::new(dir.join("outbox"));
    if let Some(p) = policy {
        let text = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../policy")
                .join(p),
        )
        .unwrap();
        config.policy = tocsin_formats::policy::parse_policy(&text).unwrap();
    }
    Engine::open(db.open(), config).unwrap()
}

fn json_of(out: std::process::Output) -> Value {
    serde_json::from_slice(&out.stdout).expect("one JSON object")
}

fn matched(v: &Value) -> Vec<String> {
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

/// Propose, approve and compose at `at`; the audiences warned.
fn warn_through(engine: &Engine, threat: &str, at: tocsin_core::Timestamp) -> Vec<String> {
    let id = tocsin_core::ThreatId::new(threat);
    let d = engine.propose_determination(&id, "analyst:a", at).unwrap();
    assert_eq!(d.decision, Decision::Warn, "{:?}", d.criteria);
    engine
        .approve_determination(&id, "approver:b", at + chrono::Duration::minutes(5))
        .unwrap();
    let mut got: Vec<String> = engine
        .compose_warnings(&id, "analyst:a", at + chrono::Duration::minutes(10))
        .unwrap()
        .into_iter()
        .map(|w| w.audience_id.as_str().to_owned())
        .collect();
    got.sort();
    got
}

const PRE_RANSOMWARE: &str = r#"{
  "type": "bundle", "id": "bundle--0b3f4e1a-57c1-4b7e-9d55-2f0c1e9a7a01",
  "objects": [
    { "type": "report", "spec_version": "2.1", "id": "report--0b3f4e1a-57c1-4b7e-9d55-2f0c1e9a7a02",
      "created": "2024-05-01T08:00:00.000Z", "modified": "2024-05-01T08:00:00.000Z",
      "published": "2024-05-01T08:00:00.000Z", "name": "Pre-ransomware activity against a regional hospital",
      "description": "Initial access and reconnaissance typical of ransomware operators were observed from the hosts below. Encryption is likely within days.",
      "confidence": 70, "report_types": ["threat-report"],
      "object_refs": ["indicator--0b3f4e1a-57c1-4b7e-9d55-2f0c1e9a7a03", "indicator--0b3f4e1a-57c1-4b7e-9d55-2f0c1e9a7a04"] },
    { "type": "indicator", "spec_version": "2.1", "id": "indicator--0b3f4e1a-57c1-4b7e-9d55-2f0c1e9a7a03",
      "created": "2024-05-01T08:00:00.000Z", "modified": "2024-05-01T08:00:00.000Z",
      "name": "Victim hosts beaconing", "pattern_type": "stix", "valid_from": "2024-05-01T08:00:00Z", "valid_until": "2024-05-04T08:00:00Z",
      "pattern": "[ipv4-addr:value = '203.0.113.17'] OR [ipv4-addr:value = '203.0.113.18']" },
    { "type": "indicator", "spec_version": "2.1", "id": "indicator--0b3f4e1a-57c1-4b7e-9d55-2f0c1e9a7a04",
      "created": "2024-05-01T08:00:00.000Z", "modified": "2024-05-01T08:00:00.000Z",
      "name": "Victim domain in the operators' notes", "pattern_type": "stix", "valid_from": "2024-05-01T08:00:00Z",
      "pattern": "[domain-name:value = 'vpn.st-olaf-hospital.example']" }
  ]
}"#;

#[test]
fn pre_ransomware_by_network_is_specific_and_warns_the_hospital() {
    let dir = tempfile::tempdir().unwrap();
    let db = TestDb::new(dir.path());
    let reg = registry(dir.path());
    run_ok(bin().args(["--db", db.arg(), "import", reg.to_str().unwrap()]));
    let file = dir.path().join("pre-ransomware.stix.json");
    std::fs::write(&file, PRE_RANSOMWARE).unwrap();
    let v = json_of(run_ok(bin().args([
        "--db",
        db.arg(),
        "ingest",
        "stix",
        file.to_str().unwrap(),
        "--json",
    ])));
    assert_eq!(matched(&v), ["st-olaf-hospital"]);
    assert_eq!(v["skipped"], serde_json::json!([]));
    let threat = v["threat"]["id"].as_str().unwrap().to_owned();

    // Under ICD 191 a ransomware threat is no duty (network harms do not count) — but it is
    // specific: the criterion that fails is the harm, not specificity.
    let e = engine(&db, dir.path(), None);
    let d = e
        .propose_determination(&threat.as_str().into(), "analyst:a", t(2024, 5, 1, 9))
        .unwrap();
    let failed: Vec<&str> = d
        .criteria
        .iter()
        .filter(|c| !c.held)
        .map(|c| c.name.as_str())
        .collect();
    assert_eq!(failed, ["intentional_harm"]);
    drop(e);

    let e = engine(&db, dir.path(), Some("cert.toml"));
    assert_eq!(warn_through(&e, &threat, t(2024, 5, 1, 10)), ["op-st-olaf"]);
}

const GOLZAR: &str = r#"{
  "type": "bundle", "id": "bundle--1c3f4e1a-57c1-4b7e-9d55-2f0c1e9a7b01",
  "objects": [
    { "type": "report", "spec_version": "2.1", "id": "report--1c3f4e1a-57c1-4b7e-9d55-2f0c1e9a7b02",
      "created": "2024-01-02T06:00:00.000Z", "modified": "2024-01-02T06:00:00.000Z",
      "published": "2024-01-02T06:00:00.000Z", "name": "Planned bombing at Golzar-e Shohada",
      "description": "A cell plans to detonate explosive devices among the crowds at Golzar-e Shohada during the commemoration.",
      "confidence": 70, "report_types": ["threat-report"],
      "object_refs": ["identity--1c3f4e1a-57c1-4b7e-9d55-2f0c1e9a7b03"] },
    { "type": "identity", "spec_version": "2.1", "id": "identity--1c3f4e1a-57c1-4b7e-9d55-2f0c1e9a7b03",
      "created": "2024-01-02T06:00:00.000Z", "modified": "2024-01-02T06:00:00.000Z",
      "name": "Golzar-e Shohada", "identity_class": "organization" },
    { "type": "campaign", "spec_version": "2.1", "id": "campaign--1c3f4e1a-57c1-4b7e-9d55-2f0c1e9a7b05",
      "created": "2024-01-02T06:00:00.000Z", "modified": "2024-01-02T06:00:00.000Z",
      "name": "Kerman plot", "first_seen": "2024-01-02T06:00:00Z", "last_seen": "2024-01-04T00:00:00Z" },
    { "type": "relationship", "spec_version": "2.1", "id": "relationship--1c3f4e1a-57c1-4b7e-9d55-2f0c1e9a7b04",
      "created": "2024-01-02T06:00:00.000Z", "modified": "2024-01-02T06:00:00.000Z",
      "relationship_type": "targets", "source_ref": "campaign--1c3f4e1a-57c1-4b7e-9d55-2f0c1e9a7b05",
      "target_ref": "identity--1c3f4e1a-57c1-4b7e-9d55-2f0c1e9a7b03" }
  ]
}"#;

#[test]
fn a_transliterated_venue_and_the_event_held_there_are_warned() {
    let dir = tempfile::tempdir().unwrap();
    let db = TestDb::new(dir.path());
    let reg = registry(dir.path());
    run_ok(bin().args(["--db", db.arg(), "import", reg.to_str().unwrap()]));
    let file = dir.path().join("golzar.stix.json");
    std::fs::write(&file, GOLZAR).unwrap();
    let v = json_of(run_ok(bin().args([
        "--db",
        db.arg(),
        "ingest",
        "stix",
        file.to_str().unwrap(),
        "--json",
    ])));
    assert_eq!(
        matched(&v),
        ["kerman-martyrs-cemetery", "soleimani-commemoration-2024"]
    );
    let held = v["matches"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["entity_id"] == "soleimani-commemoration-2024")
        .unwrap();
    assert!(held["reasons"][0]["detail"]
        .as_str()
        .unwrap()
        .starts_with("held at \"Kerman Martyrs' Cemetery (Golzar-e Shohada)\""));
    let threat = v["threat"]["id"].as_str().unwrap().to_owned();
    let e = engine(&db, dir.path(), None);
    assert_eq!(
        warn_through(&e, &threat, t(2024, 1, 2, 8)),
        ["op-kerman-cemetery"]
    );
}

fn propose_and_commit(
    dir: &Path,
    db: &TestDb,
    text: &str,
    date: &str,
    registry: Option<&Path>,
) -> (Value, Value) {
    let file = dir.join("report.txt");
    std::fs::write(&file, text).unwrap();
    let mut args = vec![
        "--db".to_owned(),
        db.arg().to_owned(),
        "ingest".into(),
        "text".into(),
        file.to_str().unwrap().into(),
        "--date".into(),
        date.into(),
        "--json".into(),
        "--accept-all".into(),
    ];
    if let Some(r) = registry {
        args.extend(["--registry".into(), r.to_str().unwrap().into()]);
    }
    let proposal = json_of(run_ok(bin().args(&args)));
    let pfile = dir.join("proposal.json");
    std::fs::write(&pfile, proposal.to_string()).unwrap();
    let stored = json_of(run_ok(bin().args([
        "--db",
        db.arg(),
        "ingest",
        "text",
        file.to_str().unwrap(),
        "--date",
        date,
        "--credibility",
        "probable",
        "--commit",
        pfile.to_str().unwrap(),
        "--json",
    ])));
    (proposal, stored)
}

#[test]
fn countries_in_free_text_are_areas_and_the_synagogue_there_is_warned() {
    let dir = tempfile::tempdir().unwrap();
    let db = TestDb::new(dir.path());
    let reg = registry(dir.path());
    run_ok(bin().args(["--db", db.arg(), "import", reg.to_str().unwrap()]));
    let (proposal, stored) = propose_and_commit(
        dir.path(),
        &db,
        "Extremists plan to kill worshippers at synagogues in Sri Lanka, Uzbekistan and Spain \
         in the next 48 hours.\n",
        "2024-04-10",
        Some(&reg),
    );
    let areas: Vec<&str> = proposal["areas"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["value"].as_str().unwrap())
        .collect();
    for c in ["Sri Lanka", "Uzbekistan", "Spain"] {
        assert!(areas.contains(&c), "{c} not in {areas:?}");
    }
    // The synagogue in Spain, not the one in Berlin.
    assert_eq!(matched(&stored), ["madrid-synagogue"]);
    let threat = stored["threat"]["id"].as_str().unwrap().to_owned();
    let e = engine(&db, dir.path(), None);
    assert_eq!(
        warn_through(&e, &threat, t(2024, 4, 10, 9)),
        ["op-madrid-synagogue"]
    );
}

#[test]
fn a_named_place_without_a_registry_is_proposed_and_fails_only_identifiable_victims() {
    let dir = tempfile::tempdir().unwrap();
    let db = TestDb::new(dir.path());
    let (proposal, stored) = propose_and_commit(
        dir.path(),
        &db,
        "Crocus City Hall was named as a possible target of an armed attack in the next 48 hours.\n",
        "2024-03-07",
        None,
    );
    let target = &proposal["targets"][0];
    assert_eq!(target["value"], "Crocus City Hall");
    assert_eq!(target["entities"], serde_json::json!([]));
    assert_eq!(target["category"], "venue/entertainment/concert_hall");
    assert!(target["notes"][0]
        .as_str()
        .unwrap()
        .starts_with("not in registry"));
    assert_eq!(matched(&stored), Vec::<String>::new());
    let threat = stored["threat"]["id"].as_str().unwrap().to_owned();
    let e = engine(&db, dir.path(), None);
    let d = e
        .propose_determination(&threat.as_str().into(), "analyst:a", t(2024, 3, 7, 9))
        .unwrap();
    assert_eq!(d.decision, Decision::NotApplicable);
    let failed: Vec<&str> = d
        .criteria
        .iter()
        .filter(|c| !c.held)
        .map(|c| c.name.as_str())
        .collect();
    assert_eq!(failed, ["identifiable_victims"]);
}
