//! `tocsin compose`: one report, one audience file, one warning (or a precise refusal).

use crate::common::{bin, run_ok};
use serde_json::Value;
use std::path::PathBuf;

fn root() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

fn report() -> PathBuf {
    root().join("examples/moscow-2024/report.txt")
}

fn compose_json(audience: &str, extra: &[&str]) -> Value {
    let aud = root().join(audience);
    let mut cmd = bin();
    cmd.arg("compose")
        .arg("--report")
        .arg(report())
        .arg("--audience")
        .arg(&aud)
        .args(extra)
        .arg("--json");
    serde_json::from_slice(&run_ok(&mut cmd).stdout).expect("compose --json prints one JSON object")
}

#[test]
fn one_warning_per_kind_from_the_reference_report() {
    let p = compose_json("examples/compose/partner.toml", &[]);
    let keys: Vec<&str> = p.as_object().unwrap().keys().map(String::as_str).collect();
    for k in [
        "audience",
        "audience_kind",
        "tlp",
        "banner",
        "specificity",
        "headline",
        "text",
        "withheld_portions",
    ] {
        assert!(keys.contains(&k), "missing {k} in {p}");
    }
    assert_eq!(p["audience_kind"], "partner_service");
    assert_eq!(p["banner"], "SECRET//REL TO USA, RUS");
    assert_eq!(p["specificity"], "named_target");
    assert_eq!(p["withheld_portions"], 2);
    let text = p["text"].as_str().unwrap();
    assert!(
        text.contains("Crocus City Hall")
            && !text.contains("CARDINAL SPARROW")
            && !text.contains("seating plan"),
        "{text}"
    );

    let o = compose_json("examples/compose/operator.toml", &[]);
    assert_eq!(
        (o["tlp"].as_str(), o["specificity"].as_str()),
        (Some("AMBER"), Some("category_and_area"))
    );
    let text = o["text"].as_str().unwrap();
    for needle in ["What to check:", "Where to take people:", "Whom to call:"] {
        assert!(text.contains(needle), "{needle} missing: {text}");
    }
    assert!(
        !text.contains("ISIS-K") && !text.contains("Crocus City Hall ("),
        "{text}"
    );

    let u = compose_json("examples/compose/public.toml", &[]);
    assert_eq!(u["tlp"], "CLEAR");
    assert!(u["text"]
        .as_str()
        .unwrap()
        .contains("over the next 48 hours"));

    // The domestic agency may read the NOFORN portions, but they name restricted terms (the
    // source and the collection platform), so they are never copied.
    let d = compose_json("examples/compose/domestic.toml", &[]);
    assert_eq!(d["withheld_portions"], 2);
    let text = d["text"].as_str().unwrap();
    assert!(
        !text.contains("seating plan") && !text.contains("CARDINAL SPARROW"),
        "{text}"
    );
}

#[test]
fn an_audiences_file_needs_an_id_when_it_has_several() {
    let mut cmd = bin();
    cmd.arg("compose")
        .arg("--report")
        .arg(report())
        .arg("--audience")
        .arg(root().join("examples/moscow-2024/audiences.toml"));
    let out = cmd.output().unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("pick one with --audience-id"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v = compose_json(
        "examples/moscow-2024/audiences.toml",
        &["--audience-id", "op-crocus"],
    );
    assert_eq!(v["audience"], "op-crocus");
}

#[test]
fn a_malformed_mark_is_refused_with_line_and_column() {
    let mut cmd = bin();
    cmd.arg("compose")
        .arg("--report")
        .arg(root().join("examples/compose/bad-mark.txt"))
        .arg("--audience")
        .arg(root().join("examples/compose/public.toml"));
    let out = cmd.output().unwrap();
    assert!(!out.status.success(), "a bad mark must fail");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("line 12, column 5"), "{err}");
    assert!(err.contains("but found \"XX\""), "{err}");
    assert!(out.stdout.is_empty(), "nothing may be printed as a warning");
}

#[test]
fn a_leak_is_refused_with_rule_and_span() {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(report()).unwrap().replace(
        "label = \"large gatherings in Moscow, including concerts\"",
        "label = \"large gatherings in Moscow, including LANTERN GLASS concerts\"",
    );
    let bad = dir.path().join("report.txt");
    std::fs::write(&bad, text).unwrap();
    let mut cmd = bin();
    cmd.arg("compose")
        .arg("--report")
        .arg(&bad)
        .arg("--audience")
        .arg(root().join("examples/compose/public.toml"));
    let out = cmd.output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("rule: restricted_term") && err.contains("excerpt: \"LANTERN GLASS\""),
        "{err}"
    );
    assert!(err.contains("span: bytes "), "{err}");
}
