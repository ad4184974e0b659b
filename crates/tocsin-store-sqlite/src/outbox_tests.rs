//! The leased outbox on a file: leases survive the process. The backend-independent outbox tests
//! are in tocsin_store::conformance.

use crate::SqliteStore;
use chrono::{Duration, TimeZone, Utc};
use tocsin_core::Timestamp;
use tocsin_store::{AuditCtx, Store};

fn t(min: i64) -> Timestamp {
    Utc.with_ymd_and_hms(2024, 3, 7, 12, 0, 0).unwrap() + Duration::minutes(min)
}

fn ctx(min: i64) -> AuditCtx {
    AuditCtx::new("worker:test", t(min))
}

fn ids(ds: &[tocsin_core::tracking::Delivery]) -> Vec<i64> {
    ds.iter().map(|d| d.id).collect()
}

#[test]
fn a_file_store_carries_the_lease_columns_and_reopening_keeps_claims() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    let s = SqliteStore::open(&path).unwrap();
    let cols: Vec<String> = s
        .lock()
        .prepare("SELECT name FROM pragma_table_info('deliveries')")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    for c in ["lease_owner", "lease_until", "claims"] {
        assert!(cols.iter().any(|x| x == c), "{c} missing: {cols:?}");
    }
    let all = tocsin_store::conformance::fill(&s, 2);
    s.claim_deliveries(t(0), "A", Duration::minutes(5), 1, &ctx(0))
        .unwrap();
    drop(s); // worker A's process dies
    let s = SqliteStore::open(&path).unwrap();
    assert_eq!(
        ids(&s
            .claim_deliveries(t(1), "B", Duration::minutes(30), 10, &ctx(1))
            .unwrap()),
        vec![all[1]],
        "A's lease is on disk"
    );
    assert_eq!(
        ids(&s
            .claim_deliveries(t(6), "B", Duration::minutes(5), 10, &ctx(6))
            .unwrap()),
        vec![all[0]],
        "and expires"
    );
}
