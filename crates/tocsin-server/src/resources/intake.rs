//! Free-text intake over the API: propose, then commit a reviewed proposal. The same
//! library and rules as `tocsin ingest text` (docs/intake.md); nothing is stored until every item
//! was accepted or rejected.

use super::Reply;
use crate::auth::Principal;
use crate::problem::{ApiJson, Problem};
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::{Extension, Json};
use chrono::NaiveDate;
use serde::Deserialize;
use serde::Serialize;
use tocsin_core::Threat;
use tocsin_core::{CountryCode, Credibility};
use tocsin_intake::{build_threat, CommitOptions, Extractor, Gazetteer, IntakeConfig, Proposal};
use tocsin_store::AuditCtx;

fn unprocessable(e: impl std::fmt::Display) -> Problem {
    Problem::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "unprocessable",
        "Unprocessable Content",
        e.to_string(),
    )
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProposeBody {
    text: String,
    /// The text's date (relative dates count from it); default: today.
    #[serde(default)]
    date: Option<NaiveDate>,
}

/// A committed proposal: the stored threat and how many entities it matched.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Committed {
    pub threat: Threat,
    pub matches: usize,
}

/// `POST /api/v1/intake/text`: the proposal, every item pending.
#[utoipa::path(post, path = "/api/v1/intake/text", tag = "threats",
    request_body(content = ProposeBody, content_type = "application/json"),
    responses((status = 200, description = "The proposal, every item pending (docs/intake.md)", body = Object)))]
pub async fn propose(
    State(st): State<AppState>,
    ApiJson(b): ApiJson<ProposeBody>,
) -> Result<Json<Proposal>, Problem> {
    let store = st.store.clone();
    let date = b.date.unwrap_or_else(|| st.now().date_naive());
    tokio::task::spawn_blocking(move || {
        let entities = store.entities()?;
        let x = Extractor::with_builtin(&entities, &Gazetteer::builtin())
            .map_err(|e| Problem::internal(&e))?;
        Ok(Json(x.extract(&b.text, date)))
    })
    .await
    .map_err(|e| Problem::internal(&e))?
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CommitBody {
    text: String,
    date: NaiveDate,
    /// The proposal as `POST /api/v1/intake/text` returned it, with the analyst's decisions.
    #[schema(value_type = Object)]
    proposal: Proposal,
    #[serde(default)]
    accept: Vec<String>,
    #[serde(default)]
    reject: Vec<String>,
    #[serde(default)]
    accept_all: bool,
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    originator: Option<String>,
    #[serde(default)]
    credibility: Option<Credibility>,
}

/// `POST /api/v1/intake/commit`: build the threat from a fully reviewed proposal, store and match it.
#[utoipa::path(post, path = "/api/v1/intake/commit", tag = "threats",
    request_body(content = CommitBody, content_type = "application/json"),
    responses((status = 200, description = "Stored and matched", body = Committed)))]
pub async fn commit(
    State(st): State<AppState>,
    Extension(p): Extension<Principal>,
    ApiJson(b): ApiJson<CommitBody>,
) -> Result<Reply<Committed>, Problem> {
    let engine = st.engine.clone().ok_or_else(|| {
        Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "no-engine",
            "Service Unavailable",
            "this server was started without the pipeline engine",
        )
    })?;
    let now = st.now();
    tokio::task::spawn_blocking(move || {
        let mut proposal = b.proposal;
        proposal
            .review(&b.accept, &b.reject, b.accept_all)
            .map_err(unprocessable)?;
        let originator =
            CountryCode::parse(b.originator.as_deref().unwrap_or("USA")).map_err(unprocessable)?;
        let opts = CommitOptions {
            id: b.id,
            title: b.title,
            originator,
            credibility: b.credibility.unwrap_or(Credibility::Possible),
            date: b.date,
            imminent_hours: IntakeConfig::default().imminent_hours,
            near_margin_km: 10.0,
        };
        // Pending items, spans that no longer read their text: refused with the names.
        let threat =
            build_threat(&proposal, &b.text, &opts, &Gazetteer::builtin()).map_err(|e| {
                Problem::new(StatusCode::CONFLICT, "conflict", "Conflict", e.to_string())
            })?;
        if engine.store().threat(&threat.id)?.is_some() {
            return Err(Problem::new(
                StatusCode::CONFLICT,
                "conflict",
                "Conflict",
                format!("threat {} is already stored: give another `id`", threat.id),
            ));
        }
        let ctx = AuditCtx::new(p.actor(), now);
        engine.ingest_threat(&threat, &ctx)?;
        let matches = engine.compute_matches(&threat.id, &ctx)?;
        Reply::new(&Committed {
            threat,
            matches: matches.len(),
        })
    })
    .await
    .map_err(|e| Problem::internal(&e))?
}
