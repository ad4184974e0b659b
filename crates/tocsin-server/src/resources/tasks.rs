//! The analysts' queue: tasks opened by feedback and the rules, and closing them.

use super::{value, with_engine, ApiResult};
use crate::auth::Principal;
use crate::problem::ApiJson;
use crate::AppState;
use axum::extract::{Path, Query, State};
use axum::Extension;
use serde::Deserialize;
use serde_json::json;
use tocsin_core::followup::Resolution;

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
