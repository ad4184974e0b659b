//! The audit chain through the CLI: an edited row is detected.
//!
//! SQLite only (whatever TOCSIN_TEST_BACKEND says): the test edits the database file with
//! rusqlite. Tampering on PostgreSQL is covered by the store conformance tests, which both
//! backends run (crates/tocsin-store/src/conformance.rs).

use crate::common::{bin, examples_dir, run_ok};

#[test]
fn edited_audit_row_is_detected() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.db");
    let db_s = db.to_str().unwrap();
    run_ok(bin().args(["--db", db_s, "import"]).arg(examples_dir()));
    let ok = run_ok(bin().args(["--db", db_s, "verify"]));
    assert!(String::from_utf8_lossy(&ok.stdout).contains("verified"));

    let conn = rusqlite::Connection::open(&db).unwrap();
    let n = conn
        .execute(
            "UPDATE audit_events SET actor = 'mallory' WHERE seq = 2",
            [],
        )
        .unwrap();
    assert_eq!(n, 1);
    drop(conn);

    let out = bin().args(["--db", db_s, "verify"]).output().unwrap();
    assert!(!out.status.success(), "verify must fail on an edited row");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("seq 2"), "the error names the row: {err}");
}
