//! The analysts' queue: tasks opened by feedback and the rules, and closing them.

use super::{with_engine, Reply};
use crate::auth::Principal;
use crate::problem::ApiJson;
use crate::problem::Problem;
use crate::AppState;
use axum::extract::{Path, Query, State};
use axum::Extension;
use serde::Deserialize;
use serde::Serialize;
use tocsin_core::followup::Resolution;
use tocsin_core::followup::Task;
use utoipa::ToSchema;

#[derive(Deserialize, utoipa::ToSchema)]
pub struct TasksQuery {
    #[serde(default)]
    all: bool,
}

#[derive(Serialize, ToSchema)]
pub struct TaskList {
    pub count: usize,
    pub items: Vec<Task>,
}

#[utoipa::path(get, path = "/api/v1/tasks", tag = "follow-through",
    params(("all" = Option<bool>, Query, description = "Closed tasks too")),
    responses((status = 200, description = "The analysts' queue", body = TaskList)))]
pub async fn tasks(
    State(st): State<AppState>,
    Extension(p): Extension<Principal>,
    Query(q): Query<TasksQuery>,
) -> Result<Reply<TaskList>, Problem> {
    with_engine(&st, Some(p.clone()), move |e, _| {
        let items = e.tasks(!q.all)?;
        Ok(TaskList {
            count: items.len(),
            items,
        })
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
    responses((status = 200, description = "Closed", body = Task)))]
pub async fn close_task(
    State(st): State<AppState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<i64>,
    ApiJson(b): ApiJson<CloseBody>,
) -> Result<Reply<Task>, Problem> {
    with_engine(&st, Some(p.clone()), move |e, now| {
        Ok(e.resolve_task(id, b.resolution, &p.actor(), now)?)
    })
    .await
}
