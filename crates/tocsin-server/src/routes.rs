//! Read endpoints under `/api/v1/`. Each handler runs its store calls on the blocking pool through
//! [`AppState::read`], which also shapes the response for the caller's role (see `redact`).

use crate::auth::Principal;
use crate::problem::Problem;
use crate::AppState;
use axum::extract::{Path, Query, State};
use axum::{Extension, Json};
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::HashMap;
use tocsin_core::audit::GENESIS_HASH;
use tocsin_core::tracking::DeliveryStatus;
use tocsin_core::{EntityId, ThreatId, WarningId};
use tocsin_store::Store;

type ApiResult = Result<Json<Value>, Problem>;

/// `{"count": n, "items": [...]}`, the envelope of every list.
fn list(items: Vec<Value>) -> Value {
    json!({ "count": items.len(), "items": items })
}

fn to_value<T: serde::Serialize>(v: &T) -> Result<Value, Problem> {
    serde_json::to_value(v).map_err(|e| Problem::internal(&e))
}

fn to_values<T: serde::Serialize>(vs: &[T]) -> Result<Vec<Value>, Problem> {
    vs.iter().map(to_value).collect()
}

fn require_threat(store: &dyn Store, id: &ThreatId) -> Result<tocsin_core::Threat, Problem> {
    store
        .threat(id)?
        .ok_or_else(|| Problem::not_found("threat", id.as_str()))
}

fn require_warning(
    store: &dyn Store,
    id: &WarningId,
) -> Result<tocsin_core::tracking::Warning, Problem> {
    store
        .warning(id)?
        .ok_or_else(|| Problem::not_found("warning", id.as_str()))
}

fn threat_value(t: &tocsin_core::Threat) -> Result<Value, Problem> {
    let mut v = to_value(t)?;
    if let Value::Object(m) = &mut v {
        m.insert("target_count".into(), json!(t.targets.len()));
    }
    Ok(v)
}

#[utoipa::path(get, path = "/health", tag = "meta",
    responses((status = 200, description = "The server is up", body = crate::openapi::Health)))]
#[allow(clippy::unused_async)]
pub async fn health() -> Json<Value> {
    Json(json!({ "status": "ok", "version": env!("CARGO_PKG_VERSION") }))
}

#[utoipa::path(get, path = "/api/v1/threats/{id}", tag = "threats",
    params(("id" = String, Path, description = "Threat id")),
    responses((status = 200, description = "The threat", body = crate::openapi::ThreatWithCount)))]
pub async fn threat(
    State(st): State<AppState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
) -> ApiResult {
    st.read(p, move |store| {
        threat_value(&require_threat(store, &ThreatId(id))?)
    })
    .await
}

#[utoipa::path(get, path = "/api/v1/threats/{id}/matches", tag = "threats",
    params(("id" = String, Path, description = "Threat id")),
    responses((status = 200, description = "Matches, best first", body = crate::openapi::MatchList)))]
pub async fn threat_matches(
    State(st): State<AppState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
) -> ApiResult {
    st.read(p, move |store| {
        let threat = require_threat(store, &ThreatId(id))?;
        let mut matches = store.matches(&threat.id)?;
        matches.sort_by(|a, b| {
            b.score
                .total_cmp(&a.score)
                .then_with(|| a.entity_id.cmp(&b.entity_id))
        });
        let mut names: HashMap<EntityId, Option<tocsin_core::Entity>> = HashMap::new();
        let mut items = Vec::with_capacity(matches.len());
        for m in &matches {
            if !names.contains_key(&m.entity_id) {
                let e = store.entity(&m.entity_id)?;
                names.insert(m.entity_id.clone(), e);
            }
            let entity = names.get(&m.entity_id).and_then(Option::as_ref);
            items.push(json!({
                "entity_id": m.entity_id,
                "entity_name": entity.map(|e| e.name.as_str()),
                "entity_kind": entity.map(|e| e.kind.as_str()),
                "target": m.target,
                "target_label": threat.targets.get(m.target).map(|t| t.label.as_str()),
                "score": m.score,
                "reasons": to_value(&m.reasons)?,
            }));
        }
        let mut v = list(items);
        v["threat_id"] = json!(threat.id);
        Ok(v)
    })
    .await
}

#[utoipa::path(get, path = "/api/v1/threats/{id}/determinations", tag = "threats",
    params(("id" = String, Path, description = "Threat id")),
    responses((status = 200, description = "Every determination, oldest first (the last is current)", body = crate::openapi::DeterminationList)))]
pub async fn threat_determinations(
    State(st): State<AppState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
) -> ApiResult {
    st.read(p, move |store| {
        let threat = require_threat(store, &ThreatId(id))?;
        let ds = store.determinations(&threat.id)?;
        let mut v = list(to_values(&ds)?);
        v["threat_id"] = json!(threat.id);
        Ok(v)
    })
    .await
}

#[derive(Debug, Deserialize)]
pub struct ThreatFilter {
    threat: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/warnings", tag = "warnings",
    params(("threat" = Option<String>, Query, description = "Only this threat's warnings", min_length = 1)),
    responses((status = 200, description = "Warnings in creation order, each with the leak gate's verdict now", body = crate::api::leak::WarningReadList)))]
pub async fn warnings(
    State(st): State<AppState>,
    Extension(p): Extension<Principal>,
    Query(q): Query<ThreatFilter>,
) -> ApiResult {
    let global = crate::api::leak::global_terms(&st);
    st.read(p, move |store| {
        let threat = match q.threat {
            Some(id) => Some(require_threat(store, &ThreatId(id))?.id),
            None => None,
        };
        let ws = store.warnings(threat.as_ref())?;
        Ok(list(crate::api::leak::warning_values(store, &ws, &global)?))
    })
    .await
}

#[utoipa::path(get, path = "/api/v1/warnings/{id}", tag = "warnings",
    params(("id" = String, Path, description = "Warning id")),
    responses((status = 200, description = "The warning, with the leak gate's verdict now", body = crate::api::leak::WarningRead)))]
pub async fn warning(
    State(st): State<AppState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
) -> ApiResult {
    let global = crate::api::leak::global_terms(&st);
    st.read(p, move |store| {
        crate::api::leak::warning_value(store, &require_warning(store, &WarningId(id))?, &global)
    })
    .await
}

#[utoipa::path(get, path = "/api/v1/warnings/{id}/deliveries", tag = "deliveries",
    params(("id" = String, Path, description = "Warning id")),
    responses((status = 200, description = "Its deliveries", body = crate::openapi::WarningDeliveries)))]
pub async fn warning_deliveries(
    State(st): State<AppState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
) -> ApiResult {
    st.read(p, move |store| {
        let w = require_warning(store, &WarningId(id))?;
        let mut v = list(to_values(&store.deliveries(Some(&w.id))?)?);
        v["warning_id"] = json!(w.id);
        Ok(v)
    })
    .await
}

#[derive(Debug, Deserialize)]
pub struct DeliveryFilter {
    status: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/deliveries", tag = "deliveries",
    params(("status" = Option<tocsin_core::tracking::DeliveryStatus>, Query, description = "Only deliveries in this status")),
    responses((status = 200, description = "Deliveries", body = crate::api::deliveries::DeliveryList)))]
pub async fn deliveries(
    State(st): State<AppState>,
    Extension(p): Extension<Principal>,
    Query(q): Query<DeliveryFilter>,
) -> ApiResult {
    let status = match q.status.as_deref() {
        None => None,
        Some(s) => Some(DeliveryStatus::parse(s).ok_or_else(|| {
            Problem::bad_request(format!(
                "unknown delivery status {s:?} (expected pending, delivered, retrying or dead)"
            ))
            .at("query.status")
        })?),
    };
    st.read(p, move |store| {
        let mut ds = store.deliveries(None)?;
        if let Some(status) = status {
            ds.retain(|d| d.status == status);
        }
        Ok(list(to_values(&ds)?))
    })
    .await
}

#[utoipa::path(get, path = "/api/v1/timeline", tag = "audit",
    params(("threat" = Option<String>, Query, description = "Only this threat's entries", min_length = 1)),
    responses((status = 200, description = "The human timeline", body = crate::openapi::TimelineList)))]
pub async fn timeline(
    State(st): State<AppState>,
    Extension(p): Extension<Principal>,
    Query(q): Query<ThreatFilter>,
) -> ApiResult {
    st.read(p, move |store| {
        let threat = match q.threat {
            Some(id) => Some(require_threat(store, &ThreatId(id))?.id),
            None => None,
        };
        let mut entries = store.timeline(threat.as_ref())?;
        // Stable: entries at the same instant keep the order they were recorded in.
        entries.sort_by_key(|e| e.at);
        Ok(list(to_values(&entries)?))
    })
    .await
}

#[utoipa::path(get, path = "/api/v1/audit", tag = "audit",
    responses((status = 200, description = "Chain length, head hash and verification", body = crate::openapi::AuditSummary)))]
pub async fn audit(State(st): State<AppState>, Extension(p): Extension<Principal>) -> ApiResult {
    st.read(p, |store| {
        let events = store.audit_events()?;
        let verdict = store.verify_audit()?;
        let head = events.last().map(|e| e.hash.clone()).unwrap_or_else(|| GENESIS_HASH.to_owned());
        Ok(match verdict {
            Ok(head_hash) => json!({ "count": events.len(), "head_hash": head_hash, "verified": true, "break": null }),
            Err(b) => json!({ "count": events.len(), "head_hash": head, "verified": false, "break": to_value(&b)? }),
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

#[utoipa::path(get, path = "/api/v1/audit/events", tag = "audit",
    params(("after" = Option<i64>, Query, description = "Only events with seq > after", minimum = 0), ("limit" = Option<i64>, Query, description = "At most this many", minimum = 0)),
    responses((status = 200, description = "Audit events", body = crate::openapi::AuditEventList)))]
pub async fn audit_events(
    State(st): State<AppState>,
    Extension(p): Extension<Principal>,
    Query(q): Query<AuditPage>,
) -> ApiResult {
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
        Ok(list(to_values(&page)?))
    })
    .await
}
