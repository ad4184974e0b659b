//! Credentials run on real time, whatever case time the deployment replays (ARCHITECTURE.md,
//! "Clocks, item by item"): a server replaying March 2024 must not revive a token that expired an
//! hour ago, nor refuse one that is valid now.

use crate::common::call;
use axum::http::{Method, StatusCode};
use chrono::{Duration, TimeZone, Utc};
use std::sync::Arc;
use tocsin_server::{issue_scoped_token, router, AppState, Role, Scope, TokenSpec};
use tocsin_store::{AuditCtx, Store};
use tocsin_store_sqlite::SqliteStore;

#[tokio::test]
async fn a_replayed_case_clock_neither_revives_nor_expires_tokens() {
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open_in_memory().unwrap());
    let replayed = || Utc.with_ymd_and_hms(2024, 3, 6, 9, 0, 0).unwrap();
    let app = router(AppState::new(store.clone()).with_deployment_clock(replayed));
    let token = |label: &str, expires_at| {
        issue_scoped_token(
            store.as_ref(),
            &TokenSpec {
                role: Role::Viewer,
                label: label.into(),
                expires_at: Some(expires_at),
                scopes: vec![Scope::Read],
                user_id: None,
            },
            &AuditCtx::new("test", Utc::now()),
        )
        .unwrap()
        .0
    };
    // Expired an hour ago in real time, though still in the future of the replayed case.
    let expired = token("expired", Utc::now() - Duration::hours(1));
    let r = call(Method::GET, "/api/v1/threats")
        .bearer(&expired)
        .send(&app)
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.text());
    // Valid for another hour in real time: usable, though the case's clock is years earlier.
    let valid = token("valid", Utc::now() + Duration::hours(1));
    let r = call(Method::GET, "/api/v1/threats")
        .bearer(&valid)
        .send(&app)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
}
