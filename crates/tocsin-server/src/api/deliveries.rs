//! Deliveries an analyst acts on (dead letters, retry) and the audit chain export.

use crate::auth::Principal;
use crate::problem::Problem;
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::Serialize;
use serde_json::Value;
use tocsin_core::audit::GENESIS_HASH;
use tocsin_core::tracking::Delivery;
use tocsin_store::AuditCtx;
use utoipa::ToSchema;

#[derive(Serialize, ToSchema)]
pub struct DeliveryList {
    pub count: usize,
    pub items: Vec<Delivery>,
}

#[utoipa::path(get, path = "/api/v1/dead-letters", tag = "deliveries",
    responses((status = 200, description = "Every dead-lettered delivery, oldest first", body = DeliveryList)))]
pub async fn dead_letters(
    State(st): State<AppState>,
    Extension(p): Extension<Principal>,
) -> Result<Json<Value>, Problem> {
    st.read(p, |store| {
        let items = store.dead_letters()?;
        serde_json::to_value(DeliveryList {
            count: items.len(),
            items,
        })
        .map_err(|e| Problem::internal(&e))
    })
    .await
}

#[utoipa::path(post, path = "/api/v1/deliveries/{id}/retry", tag = "deliveries",
    params(("id" = i64, Path, description = "Delivery id (dead)")),
    responses((status = 200, description = "A fresh set of attempts, due now (its channel is enabled again)", body = Delivery)))]
pub async fn retry(
    State(st): State<AppState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<i64>,
) -> Result<Json<Delivery>, Problem> {
    let store = st.store.clone();
    let now = st.now();
    tokio::task::spawn_blocking(move || {
        Ok(Json(
            store.retry_delivery(id, &AuditCtx::new(p.actor(), now))?,
        ))
    })
    .await
    .map_err(|e| Problem::internal(&e))?
}

/// Header carrying the hash of the last exported event.
pub const AUDIT_HEAD_HEADER: &str = "tocsin-audit-head";

#[derive(Serialize)]
struct ExportTail<'a> {
    head_hash: &'a str,
    count: usize,
    verified: bool,
}

#[utoipa::path(get, path = "/api/v1/audit/export", tag = "audit",
    responses((status = 200, description = "The whole chain as JSON lines, one event per line in sequence order, then one line `{\"head_hash\", \"count\", \"verified\"}`; the head hash is also in the `Tocsin-Audit-Head` header",
        content_type = "application/x-ndjson", body = String,
        headers(("Tocsin-Audit-Head" = String, description = "Hash of the last event (the genesis hash when empty)")))))]
pub async fn audit_export(
    State(st): State<AppState>,
    Extension(_p): Extension<Principal>,
) -> Result<Response, Problem> {
    let store = st.store.clone();
    let (body, head) = tokio::task::spawn_blocking(move || -> Result<(String, String), Problem> {
        let events = store.audit_events()?;
        let verified = store.verify_audit()?.is_ok();
        let head = events
            .last()
            .map(|e| e.hash.clone())
            .unwrap_or_else(|| GENESIS_HASH.to_owned());
        let mut out = String::new();
        for e in &events {
            out.push_str(&serde_json::to_string(e).map_err(|e| Problem::internal(&e))?);
            out.push('\n');
        }
        out.push_str(
            &serde_json::to_string(&ExportTail {
                head_hash: &head,
                count: events.len(),
                verified,
            })
            .map_err(|e| Problem::internal(&e))?,
        );
        out.push('\n');
        Ok((out, head))
    })
    .await
    .map_err(|e| Problem::internal(&e))??;
    let mut resp = body.into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/x-ndjson"),
    );
    if let Ok(v) = HeaderValue::from_str(&head) {
        resp.headers_mut().insert(AUDIT_HEAD_HEADER, v);
    }
    Ok(resp)
}
