//! Write endpoints of the follow-through chain and the recipients' one-time links.
//!
//! API routes act as the calling principal (`Principal::actor`: the user when the token or session
//! has one), so the two-person rule compares people: nobody approves what they proposed, whichever
//! token they use. Approvals also need the clearance to read what is approved
//! (`redact::check_release`). The recipient routes under `/r/{token}` need no account: the signed,
//! single-use link is the credential.

use crate::auth::Principal;
use crate::problem::{ApiJson, Problem};
use crate::AppState;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use chrono::{NaiveDate, TimeZone, Utc};
use serde::Deserialize;
use serde_json::{json, Value};
use std::sync::Arc;
use tocsin_core::followup::{FeedbackKind, Resolution};
use tocsin_core::links::LinkPurpose;
use tocsin_core::tracking::{Measure, OutcomeKind};
use tocsin_core::{AudienceId, ThreatId, Timestamp, WarningId};
use tocsin_engine::{Engine, EngineError};

type ApiResult = Result<Json<Value>, Problem>;

impl From<EngineError> for Problem {
    fn from(e: EngineError) -> Self {
        match e {
            EngineError::Store(s) => s.into(),
            EngineError::NotFound { kind, id } => Problem::not_found(kind, &id),
            e @ (EngineError::Duty(_)
            | EngineError::Transition(_)
            | EngineError::Precondition(_)) => {
                Problem::new(StatusCode::CONFLICT, "conflict", "Conflict", e.to_string())
            }
            EngineError::Input { path, message } => Problem::invalid(path, message),
            e @ (EngineError::Match(_) | EngineError::Compose(_)) => Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "unprocessable",
                "Unprocessable Content",
                e.to_string(),
            ),
            other => Problem::internal(&other),
        }
    }
}

/// Run an engine call on the blocking pool with the request's time.
async fn with_engine<F>(st: &AppState, f: F) -> ApiResult
where
    F: FnOnce(&Engine, Timestamp) -> Result<Value, Problem> + Send + 'static,
{
    let engine: Arc<Engine> = st.engine.clone().ok_or_else(|| {
        Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "no-engine",
            "Service Unavailable",
            "this server was started without the pipeline engine",
        )
    })?;
    let now = st.now();
    tokio::task::spawn_blocking(move || f(&engine, now).map(Json))
        .await
        .map_err(|e| Problem::internal(&e))?
}

fn value<T: serde::Serialize>(v: &T) -> Result<Value, Problem> {
    serde_json::to_value(v).map_err(|e| Problem::internal(&e))
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

#[derive(Deserialize, Default, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ComposeBody {
    /// Compose only for this audience (a new version after feedback or new information).
    audience: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/threats/{id}/warnings", tag = "warnings",
    params(("id" = String, Path, description = "Threat id")),
    request_body(content = ComposeBody, content_type = "application/json"),
    responses((status = 200, description = "Drafts composed (each passed the leak gate)", body = crate::openapi::WarningList)))]
pub async fn compose(
    State(st): State<AppState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
    body: Option<ApiJson<ComposeBody>>,
) -> ApiResult {
    let only = body.and_then(|ApiJson(b)| b.audience);
    with_engine(&st, move |e, now| {
        let tid = ThreatId::new(id);
        let drafts = match only {
            Some(a) => vec![e.recompose(&tid, &AudienceId::new(a), &p.actor(), now)?],
            None => e.compose_warnings(&tid, &p.actor(), now)?,
        };
        let mut v = json!({ "count": drafts.len(), "items": value(&drafts)? });
        // Drafts carry warning text: withheld above the composer's clearance (docs/security.md).
        crate::redact::for_principal(&mut v, &p, e.store().as_ref())?;
        Ok(v)
    })
    .await
}

#[utoipa::path(post, path = "/api/v1/warnings/{id}/approve", tag = "warnings",
    params(("id" = String, Path, description = "Warning id")),
    responses((status = 200, description = "Approved", body = crate::openapi::WarningStateChange)))]
pub async fn approve_warning(
    State(st): State<AppState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
) -> ApiResult {
    with_engine(&st, move |e, now| {
        let wid = WarningId::new(id.clone());
        crate::redact::check_release(
            e.store().as_ref(),
            &p,
            crate::redact::Release::Warning(&wid),
        )?;
        e.approve_warning(&wid, &p.actor(), now)?;
        Ok(json!({ "warning": id, "state": "approved" }))
    })
    .await
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AckBody {
    /// Who acknowledged (the recipient's name, recorded by the analyst).
    by: String,
}

#[utoipa::path(post, path = "/api/v1/warnings/{id}/acknowledgements", tag = "follow-through",
    params(("id" = String, Path, description = "Warning id")),
    request_body(content = AckBody, content_type = "application/json"),
    responses((status = 200, description = "Recorded", body = crate::openapi::Recorded)))]
pub async fn acknowledge(
    State(st): State<AppState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<AckBody>,
) -> ApiResult {
    with_engine(&st, move |e, now| {
        e.acknowledge(
            &WarningId::new(id.clone()),
            &format!("{} (recorded by {})", b.by, p.actor()),
            now,
        )?;
        Ok(json!({ "warning": id, "recorded": "acknowledgement" }))
    })
    .await
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PostureBody {
    #[serde(default)]
    by: Option<String>,
    measures: Vec<Measure>,
    #[serde(default)]
    note: String,
}

#[utoipa::path(post, path = "/api/v1/warnings/{id}/posture-reports", tag = "follow-through",
    params(("id" = String, Path, description = "Warning id")),
    request_body(content = PostureBody, content_type = "application/json"),
    responses((status = 200, description = "Recorded", body = crate::openapi::Recorded)))]
pub async fn posture(
    State(st): State<AppState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<PostureBody>,
) -> ApiResult {
    with_engine(&st, move |e, now| {
        let by = format!(
            "{} (recorded by {})",
            b.by.as_deref().unwrap_or("recipient"),
            p.actor()
        );
        e.report_posture(&WarningId::new(id.clone()), &by, b.measures, &b.note, now)?;
        Ok(json!({ "warning": id, "recorded": "posture_report" }))
    })
    .await
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FeedbackBody {
    kind: FeedbackKind,
    #[serde(default)]
    text: String,
}

#[utoipa::path(post, path = "/api/v1/warnings/{id}/feedback", tag = "follow-through",
    params(("id" = String, Path, description = "Warning id")),
    request_body(content = FeedbackBody, content_type = "application/json"),
    responses((status = 200, description = "Recorded (and the task it opened)", body = crate::openapi::Recorded)))]
pub async fn feedback(
    State(st): State<AppState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<FeedbackBody>,
) -> ApiResult {
    with_engine(&st, move |e, now| {
        let task = e.feedback(
            &WarningId::new(id.clone()),
            &p.actor(),
            b.kind,
            &b.text,
            now,
        )?;
        Ok(json!({ "warning": id, "recorded": "feedback", "task": task }))
    })
    .await
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OutcomeBody {
    kind: OutcomeKind,
    #[serde(default)]
    references: Vec<String>,
    #[serde(default)]
    note: String,
}

#[utoipa::path(post, path = "/api/v1/threats/{id}/outcome", tag = "outcomes",
    params(("id" = String, Path, description = "Threat id")),
    request_body(content = OutcomeBody, content_type = "application/json"),
    responses((status = 200, description = "Recorded", body = crate::openapi::Recorded)))]
pub async fn outcome(
    State(st): State<AppState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<OutcomeBody>,
) -> ApiResult {
    with_engine(&st, move |e, now| {
        e.record_outcome(
            &ThreatId::new(id.clone()),
            b.kind,
            b.references,
            &b.note,
            &p.actor(),
            now,
        )?;
        Ok(json!({ "threat": id, "recorded": "outcome" }))
    })
    .await
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WindowBody {
    #[schema(value_type = String, format = DateTime)]
    until: Timestamp,
}

#[utoipa::path(post, path = "/api/v1/threats/{id}/window", tag = "threats",
    params(("id" = String, Path, description = "Threat id")),
    request_body(content = WindowBody, content_type = "application/json"),
    responses((status = 200, description = "Window extended; determination reopened", body = crate::openapi::WindowExtended)))]
pub async fn extend_window(
    State(st): State<AppState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<WindowBody>,
) -> ApiResult {
    with_engine(&st, move |e, now| {
        e.extend_window(&ThreatId::new(id.clone()), b.until, &p.actor(), now)?;
        Ok(json!({ "threat": id, "window_until": b.until, "determination": "reopened" }))
    })
    .await
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct TasksQuery {
    #[serde(default)]
    all: bool,
}

#[utoipa::path(get, path = "/api/v1/tasks", tag = "follow-through",
    params(("all" = Option<bool>, Query, description = "Closed tasks too")),
    responses((status = 200, description = "The analysts' queue", body = crate::openapi::TaskList)))]
pub async fn tasks(State(st): State<AppState>, Query(q): Query<TasksQuery>) -> ApiResult {
    with_engine(&st, move |e, _| {
        let items = e.tasks(!q.all)?;
        Ok(json!({ "count": items.len(), "items": value(&items)? }))
    })
    .await
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CloseBody {
    resolution: Resolution,
}

#[utoipa::path(post, path = "/api/v1/tasks/{id}/close", tag = "follow-through",
    params(("id" = i64, Path, description = "Task id")),
    request_body(content = CloseBody, content_type = "application/json"),
    responses((status = 200, description = "Closed", body = tocsin_core::followup::Task)))]
pub async fn close_task(
    State(st): State<AppState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<i64>,
    ApiJson(b): ApiJson<CloseBody>,
) -> ApiResult {
    with_engine(&st, move |e, now| {
        value(&e.resolve_task(id, b.resolution, &p.actor(), now)?)
    })
    .await
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct PeriodQuery {
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
}

#[utoipa::path(get, path = "/api/v1/reports/effectiveness", tag = "reports",
    params(("from" = Option<String>, Query, description = "First day (YYYY-MM-DD); default 30 days before `to`", format = Date), ("to" = Option<String>, Query, description = "Last day (YYYY-MM-DD); default today", format = Date)),
    responses((status = 200, description = "The effectiveness report", body = tocsin_core::effectiveness::EffectivenessReport)))]
pub async fn effectiveness(State(st): State<AppState>, Query(q): Query<PeriodQuery>) -> ApiResult {
    with_engine(&st, move |e, now| {
        let to = q.to.unwrap_or_else(|| now.date_naive());
        let from = q.from.unwrap_or(to - chrono::Duration::days(30));
        if from > to {
            // Each date is valid; the pair is not: 422, naming the parameter.
            return Err(Problem::invalid(
                "query.from",
                format!("from {from} is after to {to}"),
            ));
        }
        let day = |d: NaiveDate| {
            d.and_hms_opt(0, 0, 0)
                .map(|t| Utc.from_utc_datetime(&t))
                .ok_or_else(|| Problem::bad_request("bad date"))
        };
        let end = to.succ_opt().ok_or_else(|| {
            Problem::invalid("query.to", format!("to {to} is the last representable day"))
        })?;
        value(&e.effectiveness(day(from)?, day(end)?)?)
    })
    .await
}

// ---- recipients' one-time links (no token; the link is the credential) ----

/// `GET /r/{token}`: what this link is for and what to send, without spending it.
#[utoipa::path(get, path = "/r/{token}", tag = "recipients",
    params(("token" = String, Path, description = "The signed one-time link token")),
    responses((status = 200, description = "What this link is for (not spent)", body = crate::openapi::LinkInfo)))]
pub async fn link_info(State(st): State<AppState>, Path(token): Path<String>) -> ApiResult {
    with_engine(&st, move |e, now| {
        let purpose = e.link_purpose(&token, now).map_err(|err| Problem::new(StatusCode::FORBIDDEN, "link-refused", "Forbidden", err.to_string()))?;
        let body = match purpose {
            LinkPurpose::Acknowledge => json!({}),
            LinkPurpose::Posture => json!({ "measures": ["extra_screening", "detection_dogs", "staff_briefed"], "note": "free text" }),
            LinkPurpose::Feedback => json!({ "kind": "too_general", "text": "what you need to know to act" }),
        };
        Ok(json!({ "purpose": purpose, "method": "POST", "example_body": body }))
    })
    .await
}

#[derive(Deserialize, Default, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LinkBody {
    #[serde(default)]
    measures: Vec<Measure>,
    #[serde(default)]
    note: String,
    #[serde(default)]
    kind: Option<FeedbackKind>,
    #[serde(default)]
    text: String,
}

/// `POST /r/{token}`: acknowledge, report posture or give feedback, as the link says. Single use.
#[utoipa::path(post, path = "/r/{token}", tag = "recipients",
    params(("token" = String, Path, description = "The signed one-time link token")),
    request_body(content = LinkBody, content_type = "application/json"),
    responses((status = 200, description = "Recorded; the link is spent", body = Object)))]
pub async fn link_use(
    State(st): State<AppState>,
    Path(token): Path<String>,
    body: Option<ApiJson<LinkBody>>,
) -> ApiResult {
    let b = body.map(|ApiJson(b)| b).unwrap_or_default();
    with_engine(&st, move |e, now| {
        let refused = |err: EngineError| match err {
            EngineError::Precondition(m) if m.starts_with("recipient link refused") => {
                Problem::new(StatusCode::FORBIDDEN, "link-refused", "Forbidden", m)
            }
            other => other.into(),
        };
        let purpose = e.link_purpose(&token, now).map_err(refused)?;
        let out = match purpose {
            LinkPurpose::Acknowledge => e.acknowledge_via_link(&token, now),
            LinkPurpose::Posture => {
                if b.measures.is_empty() && b.note.trim().is_empty() {
                    return Err(Problem::bad_request(
                        "a posture report needs `measures` or a `note`",
                    ));
                }
                e.posture_via_link(&token, b.measures, &b.note, now)
            }
            LinkPurpose::Feedback => {
                e.feedback_via_link(&token, b.kind.unwrap_or(FeedbackKind::Other), &b.text, now)
            }
        }
        .map_err(refused)?;
        value(&out)
    })
    .await
}
