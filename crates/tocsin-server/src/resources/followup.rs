//! What recipients answered, recorded by an analyst: acknowledgements, posture reports, feedback.

use super::{with_engine, Reply};
use crate::auth::Principal;
use crate::problem::ApiJson;
use crate::problem::Problem;
use crate::AppState;
use axum::extract::{Path, State};
use axum::Extension;
use serde::Deserialize;
use serde::Serialize;
use tocsin_core::followup::FeedbackKind;
use tocsin_core::tracking::Measure;
use tocsin_core::WarningId;
use utoipa::ToSchema;

/// What an acknowledgement or a posture report recorded.
#[derive(Serialize, ToSchema)]
pub struct Recorded {
    pub warning: String,
    /// `acknowledgement` or `posture_report`.
    pub recorded: String,
}

/// What feedback recorded, and the analysts' task it opened.
#[derive(Serialize, ToSchema)]
pub struct FeedbackRecorded {
    pub warning: String,
    /// Always `feedback`.
    pub recorded: String,
    /// The task it opened, if any.
    pub task: Option<i64>,
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
    responses((status = 200, description = "Recorded", body = Recorded)))]
pub async fn acknowledge(
    State(st): State<AppState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<AckBody>,
) -> Result<Reply<Recorded>, Problem> {
    with_engine(&st, Some(p.clone()), move |e, now| {
        e.acknowledge(
            &WarningId::new(id.clone()),
            &format!("{} (recorded by {})", b.by, p.actor()),
            now,
        )?;
        Ok(Recorded {
            warning: id,
            recorded: "acknowledgement".into(),
        })
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
    responses((status = 200, description = "Recorded", body = Recorded)))]
pub async fn posture(
    State(st): State<AppState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<PostureBody>,
) -> Result<Reply<Recorded>, Problem> {
    with_engine(&st, Some(p.clone()), move |e, now| {
        let by = format!(
            "{} (recorded by {})",
            b.by.as_deref().unwrap_or("recipient"),
            p.actor()
        );
        e.report_posture(&WarningId::new(id.clone()), &by, b.measures, &b.note, now)?;
        Ok(Recorded {
            warning: id,
            recorded: "posture_report".into(),
        })
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
    responses((status = 200, description = "Recorded (and the task it opened)", body = FeedbackRecorded)))]
pub async fn feedback(
    State(st): State<AppState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<FeedbackBody>,
) -> Result<Reply<FeedbackRecorded>, Problem> {
    with_engine(&st, Some(p.clone()), move |e, now| {
        let task = e.feedback(
            &WarningId::new(id.clone()),
            &p.actor(),
            b.kind,
            &b.text,
            now,
        )?;
        Ok(FeedbackRecorded {
            warning: id,
            recorded: "feedback".into(),
            task,
        })
    })
    .await
}
