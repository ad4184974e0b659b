//! `tocsin ingest text`: the proposal from the reworded news copy and the embassy advisory, review
//! refusals, and the commit that stores the reference case's threat and matches it.

use crate::common::{bin, examples_dir, run_ok, TestDb};
use serde_json::Value;
use std::path::{Path, PathBuf};

const ADVISORY: &str = "The U.S. Embassy is monitoring reports that extremists have imminent plans to target large gatherings in Moscow, to include concerts. U.S. citizens should avoid large gatherings over the next 48 hours.\n";

/// The repository's machine-reworded news copy of the reference case (`examples/intake/`).
fn news_copies() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    vec![root.join("examples/intake/crocus-news-reworded.txt")]
}

fn propose(file: &Path, date: &str, extra: &[&str]) -> Value {
    let mut c = bin();
    c.args(["ingest", "text"])
        .arg(file)
        .args(["--date", date, "--json", "--registry"])
        .arg(examples_dir())
        .args(extra);
    let out = run_ok(&mut c);
    serde_json::from_slice(&out.stdout).expect("--json prints one JSON object")
}

fn find<'a>(p: &'a Value, list: &str, value: &str) -> Option<&'a Value> {
    p[list].as_array()?.iter().find(|i| i["value"] == value)
}

#[test]
fn news_copy_proposal_has_the_reference_case() {
    for news in news_copies() {
        proposal_has_the_reference_case(&news);
    }
}

fn proposal_has_the_reference_case(news: &Path) {
    let text =
        std::fs::read_to_string(news).unwrap_or_else(|e| panic!("reading {}: {e}", news.display()));
    let p = propose(news, "2024-04-02", &[]);
    let keys: Vec<&str> = p.as_object().unwrap().keys().map(String::as_str).collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(
        sorted,
        [
            "actors",
            "areas",
            "categories",
            "harms",
            "indicators",
            "targets",
            "windows"
        ]
    );
    for list in sorted {
        for item in p[list].as_array().unwrap() {
            let (s, e) = (
                item["span"][0].as_u64().unwrap() as usize,
                item["span"][1].as_u64().unwrap() as usize,
            );
            assert_eq!(
                &text[s..e],
                item["text"].as_str().unwrap(),
                "{list}: {item}"
            );
            assert!(item["confidence"]
                .as_f64()
                .is_some_and(|c| (0.0..=1.0).contains(&c)));
            assert_eq!(item["decision"], "pending");
        }
    }
    let at = news.display();
    assert_eq!(
        find(&p, "targets", "Crocus City Hall").unwrap()["entities"][0],
        "crocus-city-hall",
        "{at}"
    );
    assert!(find(&p, "areas", "Moscow").is_some(), "{at}");
    for c in ["concerts", "large gatherings", "synagogues"] {
        assert!(find(&p, "categories", c).is_some(), "{at}: {c}");
    }
    assert_eq!(
        find(&p, "actors", "ISIS-K").unwrap()["text"],
        "ISIS-Okay",
        "{at}"
    );
    let w = p["windows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["text"] == "over the next 48 hours")
        .unwrap_or_else(|| panic!("{at}: no 48-hour window"));
    assert_eq!(
        (w["from"].as_str().unwrap(), w["until"].as_str().unwrap()),
        ("2024-03-07T00:00:00Z", "2024-03-09T00:00:00Z")
    );

    // The readable form names the items and how to commit.
    let out = run_ok(
        bin()
            .args(["ingest", "text"])
            .arg(news)
            .args(["--date", "2024-04-02", "--registry"])
            .arg(examples_dir()),
    );
    let s = String::from_utf8_lossy(&out.stdout);
    assert!(
        s.contains("Crocus City Hall") && s.contains("ISIS-Okay") && s.contains("--commit"),
        "{at}: {s}"
    );
}

#[test]
fn commit_stores_the_threat_only_after_review() {
    let dir = tempfile::tempdir().unwrap();
    let db = TestDb::new(dir.path());
    run_ok(
        bin()
            .arg("--db")
            .arg(db.arg())
            .arg("import")
            .arg(examples_dir()),
    );
    let adv = dir.path().join("advisory.txt");
    std::fs::write(&adv, ADVISORY).unwrap();

    // Proposing reads the registry from the store.
    let mut c = bin();
    c.arg("--db")
        .arg(db.arg())
        .args(["ingest", "text"])
        .arg(&adv)
        .args(["--date", "2024-03-07", "--json"]);
    let p: Value = serde_json::from_slice(&run_ok(&mut c).stdout).unwrap();
    let proposal = dir.path().join("proposal.json");
    std::fs::write(&proposal, serde_json::to_string_pretty(&p).unwrap()).unwrap();

    // Pending items: refused, naming them.
    let out = bin()
        .arg("--db")
        .arg(db.arg())
        .args(["ingest", "text"])
        .arg(&adv)
        .args(["--date", "2024-03-07", "--commit"])
        .arg(&proposal)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("pending") && err.contains("c1") && err.contains("a1"),
        "{err}"
    );

    // Unknown ids in review flags are refused too.
    let out = bin()
        .arg("--db")
        .arg(db.arg())
        .args(["ingest", "text"])
        .arg(&adv)
        .args(["--date", "2024-03-07", "--accept", "zz1", "--commit"])
        .arg(&proposal)
        .output()
        .unwrap();
    assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("zz1"));

    let mut c = bin();
    c.arg("--db")
        .arg(db.arg())
        .args(["ingest", "text"])
        .arg(&adv)
        .args([
            "--date",
            "2024-03-07",
            "--accept-all",
            "--json",
            "--id",
            "advisory-2024-03-07",
            "--commit",
        ])
        .arg(&proposal);
    let r: Value = serde_json::from_slice(&run_ok(&mut c).stdout).unwrap();
    let t = &r["threat"];
    assert_eq!(t["id"], "advisory-2024-03-07");
    assert_eq!(
        (
            t["window"]["from"].as_str().unwrap(),
            t["window"]["until"].as_str().unwrap()
        ),
        ("2024-03-07T00:00:00Z", "2024-03-09T00:00:00Z")
    );
    assert_eq!(t["public_advice_hours"], 48);
    let labels: Vec<&str> = t["targets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["label"].as_str().unwrap())
        .collect();
    assert_eq!(labels, ["large gatherings in Moscow", "concerts in Moscow"]);
    assert!(
        t["targets"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["mark"]["classification"] == "U"),
        "{}",
        t["targets"]
    );
    let matched: Vec<&str> = r["matches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["entity_id"].as_str().unwrap())
        .collect();
    assert!(matched.contains(&"crocus-city-hall"), "{matched:?}");
    // The store has it: committing again under the same id is refused.
    let out = bin()
        .arg("--db")
        .arg(db.arg())
        .args(["ingest", "text"])
        .arg(&adv)
        .args([
            "--date",
            "2024-03-07",
            "--accept-all",
            "--id",
            "advisory-2024-03-07",
            "--commit",
        ])
        .arg(&proposal)
        .output()
        .unwrap();
    assert!(
        !out.status.success() && String::from_utf8_lossy(&out.stderr).contains("already stored")
    );
}

#[test]
fn news_copy_commit_names_crocus_and_the_synagogue() {
    for news in news_copies() {
        commit_names_crocus_and_the_synagogue(&news);
    }
}

fn commit_names_crocus_and_the_synagogue(news: &Path) {
    let dir = tempfile::tempdir().unwrap();
    let db = TestDb::new(dir.path());
    run_ok(
        bin()
            .arg("--db")
            .arg(db.arg())
            .arg("import")
            .arg(examples_dir()),
    );
    let mut p = propose(news, "2024-04-02", &[]);
    // The analyst's review, by editing the JSON.
    for list in [
        "targets",
        "areas",
        "categories",
        "actors",
        "harms",
        "windows",
        "indicators",
    ] {
        for item in p[list].as_array_mut().unwrap() {
            let v = item["value"].as_str().unwrap().to_owned();
            let keep = match list {
                "targets" => v == "Crocus City Hall",
                "areas" => v == "Moscow",
                "categories" => {
                    ["large gatherings", "concerts", "synagogues"].contains(&v.as_str())
                }
                "actors" => v == "ISIS-K",
                "harms" => ["shooting", "arson"].contains(&v.as_str()),
                "windows" => item["text"] == "over the next 48 hours",
                _ => false,
            };
            item["decision"] = Value::from(if keep { "accepted" } else { "rejected" });
        }
    }
    let proposal = dir.path().join("news.json");
    std::fs::write(&proposal, serde_json::to_string(&p).unwrap()).unwrap();
    let mut c = bin();
    c.arg("--db")
        .arg(db.arg())
        .args(["ingest", "text"])
        .arg(news)
        .args(["--date", "2024-04-02", "--json", "--commit"])
        .arg(&proposal);
    let r: Value = serde_json::from_slice(&run_ok(&mut c).stdout).unwrap();
    assert_eq!(r["threat"]["actor"], "ISIS-K");
    assert_eq!(
        r["threat"]["harms"],
        serde_json::json!(["killing", "arson_bombing"])
    );
    let matched: Vec<&str> = r["matches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["entity_id"].as_str().unwrap())
        .collect();
    for e in ["crocus-city-hall", "moscow-choral-synagogue"] {
        assert!(
            matched.contains(&e),
            "{}: {e} not in {matched:?}",
            news.display()
        );
    }
}
