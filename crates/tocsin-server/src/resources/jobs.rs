//! Background jobs (bulk imports) and their progress, kept in memory by the serving process: a job
//! is a convenience over one request, and what it wrote is in the store and the audit chain.

use crate::auth::Principal;
use crate::problem::Problem;
use crate::AppState;
use axum::extract::{Path, State};
use axum::{Extension, Json};
use serde::Serialize;
use std::collections::HashMap;
use std::sync::Mutex;
use utoipa::ToSchema;

/// How many finished jobs are remembered (the oldest are forgotten first).
const KEEP_FINISHED: usize = 256;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    Queued,
    Running,
    Succeeded,
    Failed,
}

/// Where an input error is: file line and column (CSV column name or TOML field path).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct JobError {
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub field: Option<String>,
    pub message: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Job {
    pub id: String,
    /// What the job does, e.g. `import:venues`.
    pub kind: String,
    pub state: JobState,
    /// Records written so far, of `total` (0 until the input has been parsed).
    pub done: usize,
    pub total: usize,
    pub errors: Vec<JobError>,
    /// What was accepted but looks wrong, one sentence each naming the file and rows: a row whose
    /// `operator` names no audience, a category not in the taxonomy (as `tocsin import` prints).
    pub notes: Vec<String>,
    /// The token that started it (`token:ID:LABEL`).
    pub started_by: String,
}

/// The jobs of this process.
#[derive(Debug, Default)]
pub struct Jobs {
    inner: Mutex<(HashMap<String, Job>, Vec<String>)>,
}

impl Jobs {
    fn lock(&self) -> std::sync::MutexGuard<'_, (HashMap<String, Job>, Vec<String>)> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Register a queued job; returns its id.
    pub fn start(&self, kind: &str, started_by: String) -> Job {
        let id = uuid::Uuid::new_v4().to_string();
        let job = Job {
            id: id.clone(),
            kind: kind.into(),
            state: JobState::Queued,
            done: 0,
            total: 0,
            errors: Vec::new(),
            notes: Vec::new(),
            started_by,
        };
        let mut g = self.lock();
        g.0.insert(id.clone(), job.clone());
        g.1.push(id);
        // Forget the oldest finished jobs beyond the limit.
        while g.1.len() > KEEP_FINISHED {
            let Some(pos) = g.1.iter().position(|i| {
                g.0.get(i)
                    .is_some_and(|j| matches!(j.state, JobState::Succeeded | JobState::Failed))
            }) else {
                break;
            };
            let old = g.1.remove(pos);
            g.0.remove(&old);
        }
        job
    }

    pub fn update(&self, id: &str, f: impl FnOnce(&mut Job)) {
        if let Some(j) = self.lock().0.get_mut(id) {
            f(j);
        }
    }

    pub fn get(&self, id: &str) -> Option<Job> {
        self.lock().0.get(id).cloned()
    }
}

/// The jobs of this process (one table: job ids are random UUIDs).
pub fn jobs() -> &'static Jobs {
    static JOBS: std::sync::OnceLock<Jobs> = std::sync::OnceLock::new();
    JOBS.get_or_init(Jobs::default)
}

/// `GET /api/v1/jobs/{id}`: a job's progress.
#[utoipa::path(get, path = "/api/v1/jobs/{id}", tag = "registry",
    params(("id" = String, Path, description = "Job id from `POST /api/v1/entities/import`")),
    responses(
        (status = 200, description = "The job", body = Job),
    ))]
pub async fn job(
    State(_st): State<AppState>,
    Extension(_p): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<Json<Job>, Problem> {
    jobs()
        .get(&id)
        .map(Json)
        .ok_or_else(|| Problem::not_found("job", &id))
}
