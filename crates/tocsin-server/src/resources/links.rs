//! Recipients' one-time links under `/r/{token}`: no account; the signed, single-use link is
//! the credential.

use super::{with_engine, Reply};
use crate::problem::{ApiJson, Problem};
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
use serde::Serialize;
use serde_json::json;
use serde_json::Value;
use tocsin_core::followup::FeedbackKind;
use tocsin_core::links::LinkPurpose;
use tocsin_core::tracking::Measure;
use tocsin_engine::EngineError;
use tocsin_engine::LinkOutcome;
use utoipa::ToSchema;

/// What a link is for and what to send to it.
#[derive(Serialize, ToSchema)]
pub struct LinkInfo {
    /// `acknowledge`, `posture` or `feedback`.
    #[schema(value_type = String)]
    pub purpose: LinkPurpose,
    /// `valid` (usable), `spent` (used; the same request is answered again until
    /// `replay_until`) or `expired`.
    pub state: String,
    /// When the link stops working.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub expires_at: Option<tocsin_core::Timestamp>,
    /// When it was used (`spent`).
    #[schema(value_type = Option<String>, format = DateTime)]
    pub used_at: Option<tocsin_core::Timestamp>,
    /// Until when the same request gets the same answer and next link again (`spent`).
    #[schema(value_type = Option<String>, format = DateTime)]
    pub replay_until: Option<tocsin_core::Timestamp>,
    /// Always `POST`.
    pub method: String,
    #[schema(value_type = Object)]
    pub example_body: Value,
}

/// `GET /r/{token}`: what this link is for, whether it is valid, spent or expired, and what to
/// send, without spending it.
#[utoipa::path(get, path = "/r/{token}", tag = "recipients",
    params(("token" = String, Path, description = "The signed one-time link token")),
    responses((status = 200, description = "What this link is for and its state (the GET does not spend it)", body = LinkInfo)))]
pub async fn link_info(
    State(st): State<AppState>,
    Path(token): Path<String>,
) -> Result<Reply<LinkInfo>, Problem> {
    with_engine(&st, move |e, now| {
        let status = e.link_status(&token, now).map_err(|err| Problem::new(StatusCode::FORBIDDEN, "link-refused", "Forbidden", err.to_string()))?;
        let purpose = status.purpose;
        let body = match purpose {
            LinkPurpose::Acknowledge => json!({}),
            LinkPurpose::Posture => json!({ "measures": ["extra_screening", "detection_dogs", "staff_briefed"], "note": "free text" }),
            LinkPurpose::Feedback => json!({ "kind": "too_general", "text": "what you need to know to act" }),
        };
        Ok(LinkInfo {
            purpose,
            state: status.state.into(),
            expires_at: status.expires_at,
            used_at: status.used_at,
            replay_until: status.replay_until,
            method: "POST".into(),
            example_body: body,
        })
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

/// `POST /r/{token}`: acknowledge, report posture or give feedback, as the link says. Single use;
/// the same request again within 15 minutes of the use gets the same answer (and next link).
#[utoipa::path(post, path = "/r/{token}", tag = "recipients",
    params(("token" = String, Path, description = "The signed one-time link token")),
    request_body(content = LinkBody, content_type = "application/json"),
    responses((status = 200, description = "Recorded; the link is spent", body = Object)))]
pub async fn link_use(
    State(st): State<AppState>,
    Path(token): Path<String>,
    body: Option<ApiJson<LinkBody>>,
) -> Result<Reply<LinkOutcome>, Problem> {
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
        Ok(out)
    })
    .await
}
