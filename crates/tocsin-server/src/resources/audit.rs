//! The record: the human timeline, the audit chain (summary, events) and its export.

use super::{require_threat, Reply, ThreatFilter};
use crate::auth::Principal;
use crate::problem::Problem;
use crate::AppState;
use axum::extract::{Query, State};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use serde::{Deserialize, Serialize};
use tocsin_core::audit::GENESIS_HASH;
use tocsin_core::audit::{AuditEvent, ChainBreak};
use tocsin_core::tracking::TimelineEntry;
use tocsin_core::ThreatId;
use utoipa::ToSchema;

/// Header carrying the hash of the last exported event.
pub const AUDIT_HEAD_HEADER: &str = "tocsin-audit-head";

#[derive(Serialize, ToSchema)]
pub struct TimelineList {
    pub count: usize,
    pub items: Vec<TimelineEntry>,
}

#[utoipa::path(get, path = "/api/v1/timeline", tag = "audit",
    params(("threat" = Option<String>, Query, description = "Only this threat's entries", min_length = 1)),
    responses((status = 200, description = "The human timeline", body = TimelineList)))]
pub async fn timeline(
    State(st): State<AppState>,
    Extension(p): Extension<Principal>,
    Query(q): Query<ThreatFilter>,
) -> Result<Reply<TimelineList>, Problem> {
    st.read(p, move |store| {
        let threat = match q.threat {
            Some(id) => Some(require_threat(store, &ThreatId(id))?.id),
            None => None,
        };
        let mut entries = store.timeline(threat.as_ref())?;
        // Stable: entries at the same instant keep the order they were recorded in.
        entries.sort_by_key(|e| e.at);
        Ok(TimelineList {
            count: entries.len(),
            items: entries,
        })
    })
    .await
}

#[derive(Serialize, ToSchema)]
pub struct AuditSummary {
    pub count: usize,
    pub head_hash: String,
    pub verified: bool,
    /// Where the chain breaks, when it does.
    #[serde(rename = "break")]
    pub chain_break: Option<ChainBreak>,
}

#[utoipa::path(get, path = "/api/v1/audit", tag = "audit",
    responses((status = 200, description = "Chain length, head hash and verification", body = AuditSummary)))]
pub async fn audit(
    State(st): State<AppState>,
    Extension(p): Extension<Principal>,
) -> Result<Reply<AuditSummary>, Problem> {
    st.read(p, |store| {
        let events = store.audit_events()?;
        let verdict = store.verify_audit()?;
        let head = events
            .last()
            .map(|e| e.hash.clone())
            .unwrap_or_else(|| GENESIS_HASH.to_owned());
        Ok(match verdict {
            Ok(head_hash) => AuditSummary {
                count: events.len(),
                head_hash,
                verified: true,
                chain_break: None,
            },
            Err(b) => AuditSummary {
                count: events.len(),
                head_hash: head,
                verified: false,
                chain_break: Some(b),
            },
        })
    })
    .await
}

#[derive(Debug, Deserialize)]
pub struct AuditPage {
    /// Only events with `seq > after`.
    after: Option<i64>,
    /// At most this many events.
    limit: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct AuditEventList {
    pub count: usize,
    pub items: Vec<AuditEvent>,
}

#[utoipa::path(get, path = "/api/v1/audit/events", tag = "audit",
    params(("after" = Option<i64>, Query, description = "Only events with seq > after", minimum = 0), ("limit" = Option<i64>, Query, description = "At most this many", minimum = 0)),
    responses((status = 200, description = "Audit events", body = AuditEventList)))]
pub async fn audit_events(
    State(st): State<AppState>,
    Extension(p): Extension<Principal>,
    Query(q): Query<AuditPage>,
) -> Result<Reply<AuditEventList>, Problem> {
    // Signed in the query so a value beyond i64 is refused rather than silently accepted.
    let after = u64::try_from(q.after.unwrap_or(0))
        .map_err(|_| Problem::bad_request("after must be 0 or more").at("query.after"))?;
    let limit = match q.limit {
        None => usize::MAX,
        Some(n) => usize::try_from(n)
            .map_err(|_| Problem::bad_request("limit must be 0 or more").at("query.limit"))?,
    };
    st.read(p, move |store| {
        let events = store.audit_events()?;
        let page: Vec<_> = events
            .into_iter()
            .filter(|e| e.seq > after)
            .take(limit)
            .collect();
        Ok(AuditEventList {
            count: page.len(),
            items: page,
        })
    })
    .await
}

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
