//! `tocsin bench match`: the benchmark runs, agrees with the brute-force reference (`--verify`),
//! and prints the JSON keys the issue names.

use crate::common::{bin, run_ok};
use serde_json::Value;

#[test]
fn bench_match_verifies_against_the_reference_and_prints_the_named_keys() {
    let out = run_ok(bin().args([
        "bench",
        "match",
        "--entities",
        "3000",
        "--threats",
        "300",
        "--verify",
        "--seed",
        "7",
        "--json",
    ]));
    let v: Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    for k in [
        "build_s",
        "rss_bytes_per_entity",
        "p50_ms",
        "p99_ms",
        "threats_per_s",
        "matches",
    ] {
        assert!(v[k].is_number(), "key {k} missing or not a number: {v}");
    }
    assert_eq!(v["verified"], 300, "{v}");
    assert!(
        v["matches"].as_u64().unwrap() > 50,
        "the synthetic threats should find entities: {v}"
    );
    assert!(v["threats_fuzzy"].as_u64().unwrap() > 30, "{v}");
    // The same seed gives the same registry and threats, so the same matches.
    let again = run_ok(bin().args([
        "bench",
        "match",
        "--entities",
        "3000",
        "--threats",
        "300",
        "--seed",
        "7",
        "--json",
    ]));
    let w: Value = serde_json::from_slice(&again.stdout).unwrap();
    assert_eq!(v["matches"], w["matches"]);
}

#[test]
fn bench_match_refuses_verify_beyond_its_limit() {
    let out = bin()
        .args([
            "bench",
            "match",
            "--entities",
            "100001",
            "--threats",
            "1",
            "--verify",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--verify"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
