//! `tocsin report effectiveness` over a replayed case kept with `demo --store`.
//!
//! `demo --store` always writes a SQLite file; on the PostgreSQL run the case is moved there with
//! `tocsin migrate` first and the report reads it from PostgreSQL.

use crate::common::{backend, bin, run_ok, Backend, TestDb};

#[test]
fn effectiveness_report_of_the_reference_case() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("case.db");
    let db_s = db.to_str().unwrap();
    run_ok(bin().args(["demo", "--store", db_s]));
    let again = bin().args(["demo", "--store", db_s]).output().unwrap();
    assert!(
        !again.status.success(),
        "demo refuses to reuse an existing store"
    );
    let pg = (backend() == Backend::Postgres).then(TestDb::postgres);
    if let Some(pg) = &pg {
        run_ok(bin().args([
            "migrate",
            "--from",
            &format!("sqlite:{db_s}"),
            "--to",
            pg.arg(),
        ]));
    }
    let db_s = pg.as_ref().map_or(db_s, TestDb::arg);

    let out = run_ok(bin().args([
        "--db",
        db_s,
        "report",
        "effectiveness",
        "--from",
        "2024-03-01",
        "--to",
        "2024-03-31",
        "--json",
    ]));
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["threats"], 1);
    assert_eq!(r["warnings_sent"], 3);
    assert_eq!(r["acknowledged"], 2);
    assert_eq!(r["posture_tracked"], 2);
    assert_eq!(r["posture_lapsed"], 2);
    assert_eq!(r["outcomes"]["attack_occurred"], 1);
    assert_eq!(r["intake_to_delivery_minutes"]["count"], 3);

    let human = run_ok(bin().args([
        "--db",
        db_s,
        "report",
        "effectiveness",
        "--from",
        "2024-03-01",
        "--to",
        "2024-03-31",
    ]));
    let text = String::from_utf8_lossy(&human.stdout);
    assert!(
        text.contains("acknowledged") && text.contains("2 of 3"),
        "{text}"
    );

    let bad = bin()
        .args([
            "--db",
            db_s,
            "report",
            "effectiveness",
            "--from",
            "2024-04-01",
            "--to",
            "2024-03-01",
        ])
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("after"));

    let policy = bin()
        .args(["--policy", "/nonexistent/policy.toml", "demo"])
        .output()
        .unwrap();
    assert!(
        !policy.status.success(),
        "a missing policy file is an error, not a silent default"
    );
}
