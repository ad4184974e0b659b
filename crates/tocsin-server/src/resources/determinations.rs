//! A threat's duty-to-warn determinations: list, propose, waive, approve (two-person rule).

use super::{require_threat, with_engine, Reply};
use crate::auth::Principal;
use crate::problem::ApiJson;
use crate::problem::Problem;
use crate::AppState;
use axum::extract::{Path, State};
use axum::Extension;
use serde::Deserialize;
use serde::Serialize;
use tocsin_core::duty::Determination;
use tocsin_core::ThreatId;
use utoipa::ToSchema;

#[derive(Serialize, ToSchema)]
pub struct DeterminationList {
    #[schema(value_type = String)]
    pub threat_id: ThreatId,
    pub count: usize,
    pub items: Vec<Determination>,
}

#[utoipa::path(get, path = "/api/v1/threats/{id}/determinations", tag = "threats",
    params(("id" = String, Path, description = "Threat id")),
    responses((status = 200, description = "Every determination, oldest first (the last is current)", body = DeterminationList)))]
pub async fn threat_determinations(
    State(st): State<AppState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<Reply<DeterminationList>, Problem> {
    st.read(p, move |store| {
        let threat = require_threat(store, &ThreatId(id))?;
        let items = store.determinations(&threat.id)?;
        Ok(DeterminationList {
            threat_id: threat.id,
            count: items.len(),
            items,
        })
    })
    .await
}

#[utoipa::path(post, path = "/api/v1/threats/{id}/determinations", tag = "determinations",
    params(("id" = String, Path, description = "Threat id")),
    responses((status = 200, description = "The proposed determination", body = Determination)))]
pub async fn propose(
    State(st): State<AppState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<Reply<Determination>, Problem> {
    with_engine(&st, Some(p.clone()), move |e, now| {
        Ok(e.propose_determination(&ThreatId::new(id), &p.actor(), now)?)
    })
    .await
}

#[utoipa::path(post, path = "/api/v1/threats/{id}/determinations/approve", tag = "determinations",
    params(("id" = String, Path, description = "Threat id")),
    responses((status = 200, description = "Approved (two-person rule)", body = Determination)))]
pub async fn approve_determination(
    State(st): State<AppState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<Reply<Determination>, Problem> {
    with_engine(&st, Some(p.clone()), move |e, now| {
        let tid = ThreatId::new(id);
        crate::redact::check_release(
            e.store().as_ref(),
            &p,
            crate::redact::Release::Determination(&tid),
        )?;
        Ok(e.approve_determination(&tid, &p.actor(), now)?)
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
    responses((status = 200, description = "The waiver, awaiting approval", body = Determination)))]
pub async fn waive(
    State(st): State<AppState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<WaiveBody>,
) -> Result<Reply<Determination>, Problem> {
    with_engine(&st, Some(p.clone()), move |e, now| {
        Ok(e.waive(
            &ThreatId::new(id),
            &b.justification,
            &b.rationale,
            &p.actor(),
            now,
        )?)
    })
    .await
}
