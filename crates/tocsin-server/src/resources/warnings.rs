//! Warnings: the list and one warning (each with the leak gate's verdict on the warning as stored now), composing drafts
//! from a threat, approving, and the lifecycle an analyst drives by hand: edit a draft (the leak
//! gate re-runs), queue an approved warning now, compose an update (a new version that
//! supersedes), cancel.
//!
//! Each of them changes or releases what recipients get, so each first checks that the caller may
//! read the whole warning (`redact::check_release`: 403 `need-to-know` otherwise), and every answer
//! is shaped for the caller (`shaped`, i.e. `redact::for_principal`).

use super::leak::{warning_read, warning_reads, WarningRead, WarningReadList};
use super::{require_threat, require_warning, shaped, Reply, ThreatFilter};
use crate::auth::Principal;
use crate::problem::{ApiJson, Problem};
use crate::AppState;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Extension;
use serde::{Deserialize, Serialize};
use tocsin_core::tracking::Warning;
use tocsin_core::{AudienceId, ThreatId, WarningId};
use tocsin_store::review::DraftEdit;
use utoipa::ToSchema;

/// 403 unless `p` may read all of warning `wid` (`Ok` when it does not exist: the engine answers 404).
fn release_check(e: &tocsin_engine::Engine, p: &Principal, wid: &WarningId) -> Result<(), Problem> {
    crate::redact::check_release(e.store().as_ref(), p, crate::redact::Release::Warning(wid))
}

fn engine(st: &AppState) -> Result<std::sync::Arc<tocsin_engine::Engine>, Problem> {
    st.engine.clone().ok_or_else(|| {
        Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "no-engine",
            "Service Unavailable",
            "this server was started without the pipeline engine",
        )
    })
}

async fn run<T: Send + 'static>(
    st: &AppState,
    f: impl FnOnce(&tocsin_engine::Engine, tocsin_core::Timestamp) -> Result<T, Problem>
        + Send
        + 'static,
) -> Result<T, Problem> {
    let engine = engine(st)?;
    let now = st.now();
    tokio::task::spawn_blocking(move || f(&engine, now))
        .await
        .map_err(|e| Problem::internal(&e))?
}

/// Fields of a draft to replace; those left out keep their text.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DraftPatch {
    pub headline: Option<String>,
    pub text: Option<String>,
    pub measures: Option<Vec<String>>,
}

#[utoipa::path(patch, path = "/api/v1/warnings/{id}", tag = "warnings",
    params(("id" = String, Path, description = "Warning id")),
    request_body(content = DraftPatch, content_type = "application/json"),
    responses(
        (status = 200, description = "The edited draft (it passed the leak gate)", body = Warning),
        (status = 422, description = "Invalid, or the leak gate refused the edit: `field` names the member (`/text`, `/measures/1`)", body = crate::problem::ProblemDoc, content_type = "application/problem+json"),
    ))]
pub async fn edit(
    State(st): State<AppState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<DraftPatch>,
) -> Result<Reply<Warning>, Problem> {
    run(&st, move |e, now| {
        let wid = WarningId::new(id.clone());
        release_check(e, &p, &wid)?;
        let w = e
            .store()
            .warning(&wid)?
            .ok_or_else(|| Problem::not_found("warning", &id))?;
        // The reader saw `/r/[withheld]` where the draft holds a recipient's link: keep the link,
        // and tell a refusal's byte offsets in the text the reader sent.
        let (text, shifts) = match b.text {
            Some(t) => crate::redact::restore_link_tokens_mapped(&t, &w.text),
            None => (w.text.clone(), Default::default()),
        };
        let edit = DraftEdit {
            headline: b
                .headline
                .map(|h| crate::redact::restore_link_tokens(&h, &w.headline))
                .unwrap_or(w.headline.clone()),
            text,
            measures: b.measures.unwrap_or(w.measures),
        };
        let w = e.edit_draft(&wid, &edit, &p.actor(), now).map_err(|err| {
            let mut problem = Problem::from(err);
            if problem.field.as_deref() == Some("/text") {
                problem.detail = shifts.in_detail(&problem.detail);
            }
            problem
        })?;
        shaped(e.store().as_ref(), &p, &w)
    })
    .await
}

#[utoipa::path(post, path = "/api/v1/warnings/{id}/queue", tag = "warnings",
    params(("id" = String, Path, description = "Warning id (approved)")),
    responses((status = 200, description = "Queued: its deliveries are in the outbox", body = Warning)))]
pub async fn queue(
    State(st): State<AppState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<Reply<Warning>, Problem> {
    run(&st, move |e, now| {
        let wid = WarningId::new(id);
        release_check(e, &p, &wid)?;
        let w = e.queue_now(&wid, &p.actor(), now)?;
        shaped(e.store().as_ref(), &p, &w)
    })
    .await
}

#[utoipa::path(post, path = "/api/v1/warnings/{id}/update", tag = "warnings",
    params(("id" = String, Path, description = "Warning id (a current version)")),
    responses((status = 201, description = "A new draft version from the current threat; it supersedes this one when queued", body = Warning)))]
pub async fn update(
    State(st): State<AppState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<(StatusCode, Reply<Warning>), Problem> {
    run(&st, move |e, now| {
        let wid = WarningId::new(id);
        release_check(e, &p, &wid)?;
        let w = e.update_warning(&wid, &p.actor(), now)?;
        // The new version may carry more than the one it replaces; what of it is above the caller
        // is withheld from this answer (`shaped`), and approving or queuing it checks again.
        Ok((StatusCode::CREATED, shaped(e.store().as_ref(), &p, &w)?))
    })
    .await
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct CancelBody {
    /// Why the warning is withdrawn (recorded and audited).
    #[serde(default)]
    pub reason: String,
}

#[derive(Serialize, ToSchema)]
pub struct Cancelled {
    pub warning: Warning,
    /// CAP `msgType` of the withdrawal: `Cancel`.
    pub cap_msg_type: String,
    /// The CAP 1.2 Cancel alert (XML) referencing every version released so far, when the
    /// warning had been released (queued or later) to an audience that receives CAP alerts.
    pub cap: Option<String>,
    pub reason: String,
    pub by: String,
}

/// The CAP Cancel alert of a warning that recipients already hold, if its audience gets CAP: the
/// same alert `/cap/feed.atom` lists (identifier `<original>.cancel`, sent at the cancellation).
fn cap_cancel(
    store: &dyn tocsin_store::Store,
    w: &Warning,
    was_released: bool,
) -> Result<Option<String>, Problem> {
    if !was_released || !crate::cap_feed::CAP_AUDIENCES.contains(&w.audience_kind) {
        return Ok(None);
    }
    Ok(crate::cap_feed::cap_cancel_alert(store, w, None)?
        .map(|a| tocsin_formats::cap::write_alert(&a)))
}

#[utoipa::path(post, path = "/api/v1/warnings/{id}/cancel", tag = "warnings",
    params(("id" = String, Path, description = "Warning id")),
    request_body(content = Option<CancelBody>, content_type = "application/json"),
    responses((status = 200, description = "Withdrawn (state `superseded`, recorded as a cancellation)", body = Cancelled)))]
pub async fn cancel(
    State(st): State<AppState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Result<Reply<Cancelled>, Problem> {
    // The body is optional; when there is one it must be a valid `CancelBody`.
    let b: CancelBody = if body.iter().all(u8::is_ascii_whitespace) || body.trim_ascii() == b"null"
    {
        CancelBody::default()
    } else {
        crate::problem::parse_json(&body)?
    };
    run(&st, move |e, now| {
        let wid = WarningId::new(id.clone());
        release_check(e, &p, &wid)?;
        let before = e
            .store()
            .warning(&wid)?
            .ok_or_else(|| Problem::not_found("warning", &id))?;
        let c = e.cancel_warning(&wid, &b.reason, &p.actor(), now)?;
        let warning = e
            .store()
            .warning(&wid)?
            .ok_or_else(|| Problem::not_found("warning", &id))?;
        let cap = cap_cancel(
            e.store().as_ref(),
            &warning,
            crate::taxii::released(before.state),
        )?;
        shaped(
            e.store().as_ref(),
            &p,
            &Cancelled {
                warning,
                cap_msg_type: "Cancel".into(),
                cap,
                reason: c.reason,
                by: c.by,
            },
        )
    })
    .await
}

#[utoipa::path(get, path = "/api/v1/warnings", tag = "warnings",
    params(("threat" = Option<String>, Query, description = "Only this threat's warnings", min_length = 1)),
    responses((status = 200, description = "Warnings in creation order, each with the leak gate's verdict now", body = WarningReadList)))]
pub async fn warnings(
    State(st): State<AppState>,
    Extension(p): Extension<Principal>,
    Query(q): Query<ThreatFilter>,
) -> Result<Reply<WarningReadList>, Problem> {
    let global = crate::resources::leak::global_terms(&st);
    let cache = st.reads.clone();
    st.read(p, move |store| {
        let head = cache.sync(store)?;
        let threat = match q.threat {
            Some(id) => Some(require_threat(store, &ThreatId(id))?.id),
            None => None,
        };
        let ws = store.warnings(threat.as_ref())?;
        let items = warning_reads(&cache, store, head, ws, &global)?;
        Ok(WarningReadList {
            count: items.len(),
            items,
        })
    })
    .await
}

#[utoipa::path(get, path = "/api/v1/warnings/{id}", tag = "warnings",
    params(("id" = String, Path, description = "Warning id")),
    responses((status = 200, description = "The warning, with the leak gate's verdict now", body = WarningRead)))]
pub async fn warning(
    State(st): State<AppState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<Reply<WarningRead>, Problem> {
    let global = crate::resources::leak::global_terms(&st);
    let cache = st.reads.clone();
    st.read(p, move |store| {
        let head = cache.sync(store)?;
        let w = require_warning(store, &WarningId(id))?;
        warning_read(&cache, store, head, w, &global)
    })
    .await
}

#[derive(Deserialize, Default, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ComposeBody {
    /// Compose only for this audience (a new version after feedback or new information).
    audience: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct WarningList {
    pub count: usize,
    pub items: Vec<Warning>,
}

#[utoipa::path(post, path = "/api/v1/threats/{id}/warnings", tag = "warnings",
    params(("id" = String, Path, description = "Threat id")),
    request_body(content = ComposeBody, content_type = "application/json"),
    responses((status = 200, description = "Drafts composed (each passed the leak gate)", body = WarningList)))]
pub async fn compose(
    State(st): State<AppState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
    body: Option<ApiJson<ComposeBody>>,
) -> Result<Reply<WarningList>, Problem> {
    let only = body.and_then(|ApiJson(b)| b.audience);
    run(&st, move |e, now| {
        let tid = ThreatId::new(id);
        let drafts = match only {
            Some(a) => vec![e.recompose(&tid, &AudienceId::new(a), &p.actor(), now)?],
            None => e.compose_warnings(&tid, &p.actor(), now)?,
        };
        // Drafts carry warning text: withheld above the composer's clearance (docs/security.md).
        shaped(
            e.store().as_ref(),
            &p,
            &WarningList {
                count: drafts.len(),
                items: drafts,
            },
        )
    })
    .await
}

#[utoipa::path(post, path = "/api/v1/warnings/{id}/approve", tag = "warnings",
    params(("id" = String, Path, description = "Warning id")),
    responses((status = 200, description = "Approved: the warning as it now stands (`state` `approved`), as the other state changes answer; the scheduler queues it at its next pass", body = Warning)))]
pub async fn approve_warning(
    State(st): State<AppState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<Reply<Warning>, Problem> {
    run(&st, move |e, now| {
        let wid = WarningId::new(id.clone());
        release_check(e, &p, &wid)?;
        e.approve_warning(&wid, &p.actor(), now)?;
        let w = e
            .store()
            .warning(&wid)?
            .ok_or_else(|| Problem::not_found("warning", &id))?;
        shaped(e.store().as_ref(), &p, &w)
    })
    .await
}

/// A named target the warning's audience may not be told (its label and name are the withheld
/// facts: a reader below `mark` gets only the mark and a `withheld` marker in `label`).
#[derive(Serialize, ToSchema)]
pub struct WithheldTarget {
    /// 1-based position of the target in the threat.
    pub target: usize,
    pub label: String,
    pub name: String,
    pub mark: tocsin_core::PortionMark,
    /// The mark as written, e.g. `(C//REL TO FRA, USA)`.
    pub marking: String,
    /// The releasability rule that withholds it from the warning's audience.
    pub denial: String,
}

/// Why a warning is vaguer than its threat, and what asking the originator would change.
#[derive(Serialize, ToSchema)]
pub struct SpecificityAdvice {
    pub warning_id: String,
    pub threat_id: String,
    pub audience_id: String,
    pub audience_kind: String,
    /// The warning's specificity (`named_target`, `category_and_area`, ...).
    pub specificity: String,
    /// Who marked the withheld facts: the release request goes to them.
    pub originator: String,
    /// Every named target withheld from this audience (empty: the warning says all it may).
    pub withheld_targets: Vec<WithheldTarget>,
    /// One sentence for the console (free text about the threat: withheld from a reader who may
    /// not read the whole threat).
    pub summary: Option<String>,
    /// Whether `POST /api/v1/warnings/{id}/release-request` would open a request (something is
    /// withheld and no release request for this warning is open).
    pub can_request_release: bool,
    /// Release requests already recorded for this warning (open and closed).
    pub release_requests: Vec<tocsin_core::followup::Task>,
}

fn specificity_advice(
    e: &tocsin_engine::Engine,
    wid: &WarningId,
) -> Result<SpecificityAdvice, Problem> {
    let w = e
        .store()
        .warning(wid)?
        .ok_or_else(|| Problem::not_found("warning", wid.as_str()))?;
    let originator = e
        .store()
        .threat(&w.threat_id)?
        .map(|t| t.originator.to_string())
        .unwrap_or_default();
    let records = e.withheld_targets(wid)?;
    let sentences: Vec<String> = records
        .iter()
        .map(tocsin_engine::WithheldTarget::sentence)
        .collect();
    let withheld_targets: Vec<WithheldTarget> = records
        .into_iter()
        .map(|t| WithheldTarget {
            target: t.target,
            label: t.label,
            name: t.name,
            mark: t.mark,
            marking: t.marking,
            denial: t.denial,
        })
        .collect();
    let release_requests: Vec<_> = e
        .tasks(false)?
        .into_iter()
        .filter(|t| {
            t.kind == tocsin_core::followup::TaskKind::ReleaseRequest
                && t.warning_id.as_ref() == Some(wid)
        })
        .collect();
    let summary = (!withheld_targets.is_empty()).then(|| {
        format!(
            "This warning is {} although the threat names its target: {}. A release request asks {} for a tearline or a REL TO for audience {}.",
            w.specificity.as_str(),
            sentences.join("; "),
            originator,
            w.audience_id
        )
    });
    Ok(SpecificityAdvice {
        can_request_release: !withheld_targets.is_empty()
            && !release_requests.iter().any(|t| t.is_open()),
        warning_id: w.id.as_str().to_owned(),
        threat_id: w.threat_id.as_str().to_owned(),
        audience_id: w.audience_id.as_str().to_owned(),
        audience_kind: w.audience_kind.as_str().to_owned(),
        specificity: w.specificity.as_str().to_owned(),
        originator,
        withheld_targets,
        summary,
        release_requests,
    })
}

#[utoipa::path(get, path = "/api/v1/warnings/{id}/specificity", tag = "warnings",
    params(("id" = String, Path, description = "Warning id")),
    responses((status = 200, description = "Why the warning is vaguer than its threat: the named targets its audience may not be told, their marks and the rules that withhold them (a reader below a mark gets the mark only)", body = SpecificityAdvice)))]
pub async fn specificity(
    State(st): State<AppState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<Reply<SpecificityAdvice>, Problem> {
    run(&st, move |e, _| {
        let advice = specificity_advice(e, &WarningId::new(id))?;
        shaped(e.store().as_ref(), &p, &advice)
    })
    .await
}

/// A release request recorded: the task that tracks it.
#[derive(Serialize, ToSchema)]
pub struct ReleaseRequested {
    /// The `release_request` task in the analysts' queue (`GET /api/v1/tasks`).
    pub task: tocsin_core::followup::Task,
    /// The advice the request was made from.
    pub advice: SpecificityAdvice,
}

#[utoipa::path(post, path = "/api/v1/warnings/{id}/release-request", tag = "warnings",
    params(("id" = String, Path, description = "Warning id")),
    responses(
        (status = 201, description = "Recorded (audit `task.open`, timeline `release_requested`) and tracked as a `release_request` task asking the originator for a tearline or a REL TO for the warning's audience", body = ReleaseRequested,
            headers(("Location" = String, description = "`/api/v1/tasks?all=true`: the queue that holds the task"))),
        (status = 409, description = "Nothing is withheld from this warning's audience, or a release request for it is already open", body = crate::problem::ProblemDoc, content_type = "application/problem+json"),
    ))]
pub async fn release_request(
    State(st): State<AppState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<
    (
        StatusCode,
        [(axum::http::HeaderName, &'static str); 1],
        Reply<ReleaseRequested>,
    ),
    Problem,
> {
    run(&st, move |e, now| {
        let wid = WarningId::new(id);
        let before = specificity_advice(e, &wid)?;
        if before.release_requests.iter().any(|t| t.is_open()) {
            return Err(Problem::new(
                StatusCode::CONFLICT,
                "conflict",
                "Conflict",
                format!(
                    "a release request for warning {wid} is already open (task {}): close it before asking again",
                    before
                        .release_requests
                        .iter()
                        .filter(|t| t.is_open())
                        .map(|t| t.id.to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ));
        }
        let task_id = e.request_release(&wid, &p.actor(), now)?;
        let advice = specificity_advice(e, &wid)?;
        let task = advice
            .release_requests
            .iter()
            .find(|t| t.id == task_id)
            .cloned()
            .ok_or_else(|| Problem::not_found("task", &task_id.to_string()))?;
        Ok((
            StatusCode::CREATED,
            [(axum::http::header::LOCATION, "/api/v1/tasks?all=true")],
            shaped(e.store().as_ref(), &p, &ReleaseRequested { task, advice })?,
        ))
    })
    .await
}
