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

/// The reference report with the restricted term `term` named in a withheld (S//NF) portion and
/// `written` (another spelling of it) in the (U) tearline and, if `in_label`, in the (U) target
/// label the public advisory must print.
fn report_naming(dir: &std::path::Path, term: &str, written: &str, in_label: bool) -> PathBuf {
    let mut text = std::fs::read_to_string(report())
        .unwrap()
        .replace(
            "restricted_terms = [\"CARDINAL SPARROW\"",
            &format!("restricted_terms = [{term:?}, \"CARDINAL SPARROW\""),
        )
        .replace(
            "TEARLINE (U): Extremists have",
            &format!("(S//NF) Operation {term} reporting covers this cell.\nTEARLINE (U): Per operation {written}, extremists have"),
        );
    if in_label {
        text = text.replace(
            "label = \"large gatherings in Moscow, including concerts\"",
            &format!("label = \"large gatherings in Moscow, including {written} concerts\""),
        );
    }
    let path = dir.join("report.txt");
    std::fs::write(&path, text).unwrap();
    path
}

/// `written` never reaches the public advisory: the tearline that carries it is withheld, and a
/// target label that must be printed with it is refused with the rule and the exact span.
fn spelling_is_caught(term: &str, written: &str) {
    let dir = tempfile::tempdir().unwrap();
    let public = root().join("examples/compose/public.toml");
    let path = report_naming(dir.path(), term, written, false);
    let mut cmd = bin();
    cmd.args(["compose", "--json", "--report"])
        .arg(&path)
        .arg("--audience")
        .arg(&public);
    let v: Value = serde_json::from_slice(&run_ok(&mut cmd).stdout).unwrap();
    let text = v["text"].as_str().unwrap();
    assert!(
        !text.contains(written) && !text.contains("operation"),
        "{written:?} reached the public advisory:\n{text}"
    );
    // Four withheld before, the new (S//NF) portion, and the tearline that names the term.
    assert_eq!(v["withheld_portions"], 6, "{v}");

    let path = report_naming(dir.path(), term, written, true);
    let out = bin()
        .args(["compose", "--report"])
        .arg(&path)
        .arg("--audience")
        .arg(&public)
        .output()
        .unwrap();
    assert!(
        !out.status.success(),
        "{written:?} in the label must be refused"
    );
    assert!(out.stdout.is_empty());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("rule: restricted_term"), "{err}");
    assert!(err.contains(&format!("excerpt: {written:?}")), "{err}");
}

#[test]
fn a_term_with_its_accents_removed_is_caught() {
    spelling_is_caught("CANOPÉE", "Canopee");
    spelling_is_caught("CANOPEE", "Canopée");
    spelling_is_caught("Kraków Line", "Krakow Line");
}

#[test]
fn a_term_with_decomposed_accents_is_caught() {
    spelling_is_caught("CANOPÉE", "CANOPE\u{301}E");
    spelling_is_caught("Zürich Relay", "Zu\u{308}rich Relay");
}

#[test]
fn a_term_in_cyrillic_or_greek_look_alikes_is_caught() {
    // С, А, О, Р, Е below are Cyrillic; Ν and Ο Greek.
    spelling_is_caught("CANOPÉE", "САNОРЕЕ");
    spelling_is_caught("CANOPEE", "CAΝΟPEE");
    spelling_is_caught("LANTERN GLASS", "LANTERN GLАSS");
}

#[test]
fn a_term_with_invisible_characters_inside_is_caught() {
    spelling_is_caught("CANOPÉE", "Cano\u{200B}pee");
    spelling_is_caught("CANOPÉE", "Cano\u{AD}pée");
    spelling_is_caught("CANOPÉE", "Can\u{200D}op\u{2060}ee");
    spelling_is_caught("Zürich Relay", "Zürich Re\u{200E}lay");
}

#[test]
fn a_term_in_fullwidth_letters_is_caught() {
    spelling_is_caught("CANOPÉE", "ＣＡＮＯＰＥＥ");
}

#[test]
fn a_term_with_sharp_s_written_ss_is_caught() {
    spelling_is_caught("Straße Sieben", "Strasse Sieben");
    spelling_is_caught("Strasse Sieben", "STRAẞE SIEBEN");
}

#[test]
fn a_term_with_o_slash_written_o_is_caught() {
    spelling_is_caught("SØNDERBORG", "Sonderborg");
    spelling_is_caught("Łódź Gate", "Lodz Gate");
}

#[test]
fn a_term_transliterated_between_cyrillic_greek_and_latin_is_caught() {
    spelling_is_caught("ЛАНТЕРН", "Lantern");
    spelling_is_caught("LANTERN", "лантерн");
    spelling_is_caught("ΑΘΗΝΑ", "Athina");
}

#[test]
fn a_term_in_another_case_is_caught() {
    spelling_is_caught("CANOPÉE", "canopée");
    spelling_is_caught("canopée", "CANOPÉE");
    spelling_is_caught("ЛАНТЕРН", "лантерн");
}
