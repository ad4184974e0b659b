//! A threat's duty-to-warn determinations: list, propose, waive, approve (two-person rule).

use super::{list, require_threat, to_values, value, with_engine, ApiResult};
use crate::auth::Principal;
use crate::problem::ApiJson;
use crate::AppState;
use axum::extract::{Path, State};
use axum::Extension;
use serde::Deserialize;
use serde_json::json;
use tocsin_core::ThreatId;

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

#[utoipa::path(post, path = "/api/v1/threats/{id}/determinations", tag = "determinations",
    params(("id" = String, Path, description = "Threat id")),
    responses((status = 200, description = "The proposed determination", body = tocsin_core::duty::Determination)))]
pub async fn propose(
    State(st): State<AppState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
) -> ApiResult {
    with_engine(&st, move |e, now| {
        value(&e.propose_determination(&ThreatId::new(id), &p.actor(), now)?)
    })
    .await
}

#[utoipa::path(post, path = "/api/v1/threats/{id}/determinations/approve", tag = "determinations",
    params(("id" = String, Path, description = "Threat id")),
    responses((status = 200, description = "Approved (two-person rule)", body = tocsin_core::duty::Determination)))]
pub async fn approve_determination(
    State(st): State<AppState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
) -> ApiResult {
    with_engine(&st, move |e, now| {
        let tid = ThreatId::new(id);
        crate::redact::check_release(
            e.store().as_ref(),
            &p,
            crate::redact::Release::Determination(&tid),
        )?;
        value(&e.approve_determination(&tid, &p.actor(), now)?)
    })
    .await
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WaiveBody {
    justification: String,
    rationale: String,
}

#[utoipa::path(post, path = "/api/v1/threats/{id}/determinations/waive", tag = "determinations",
    params(("id" = String, Path, description = "Threat id")),
    request_body(content = WaiveBody, content_type = "application/json"),
    responses((status = 200, description = "The waiver, awaiting approval", body = tocsin_core::duty::Determination)))]
pub async fn waive(
    State(st): State<AppState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<WaiveBody>,
) -> ApiResult {
    with_engine(&st, move |e, now| {
        value(&e.waive(
            &ThreatId::new(id),
            &b.justification,
            &b.rationale,
            &p.actor(),
            now,
        )?)
    })
    .await
}
