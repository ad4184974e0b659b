//! The registry over the API: entities (filtered list, CRUD, bulk import as a job) and audiences
//! (the recipients: who is told, over which channels).

use super::jobs::{Job, JobError, JobState};
use super::{page, QueryMap, Reply};
use crate::auth::Principal;
use crate::problem::{ApiJson, Problem};
use crate::AppState;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use serde::Serialize;
use std::collections::HashMap;
use tocsin_core::{Audience, AudienceId, Entity, EntityId};
use tocsin_store::AuditCtx;
use utoipa::ToSchema;

/// Records written per transaction by an import job (progress advances by this much).
const IMPORT_CHUNK: usize = 500;

/// Largest import file accepted.
const MAX_IMPORT_BYTES: usize = 64 * 1024 * 1024;

/// One page of entities.
#[derive(Serialize, ToSchema)]
pub struct EntityPage {
    pub count: usize,
    pub items: Vec<Entity>,
    /// Pass as `cursor` for the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct AudienceList {
    pub count: usize,
    pub items: Vec<Audience>,
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

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, Problem> + Send + 'static,
) -> Result<T, Problem> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Problem::internal(&e))?
}

#[utoipa::path(get, path = "/api/v1/entities", tag = "registry",
    params(
        ("q" = Option<String>, Query, description = "Case-insensitive text in the id, name or an alias"),
        ("category" = Option<String>, Query, description = "Category or a parent of it, e.g. `venue/entertainment`", pattern = "^/?[a-z0-9_]+(/[a-z0-9_]+)*/?$"),
        ("kind" = Option<tocsin_core::EntityKind>, Query, description = "Only entities of this kind"),
        ("limit" = Option<usize>, Query, description = "Page size, 1 to 1000 (default 100)", minimum = 1, maximum = 1000),
        ("cursor" = Option<String>, Query, description = "`next_cursor` of the previous page"),
    ),
    responses((status = 200, description = "Entities sorted by id", body = EntityPage)))]
pub async fn entities(
    State(st): State<AppState>,
    Extension(p): Extension<Principal>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Reply<EntityPage>, Problem> {
    let q = QueryMap(q);
    let limit = q.limit()?;
    let kind = q.choice(
        "kind",
        &[
            "venue",
            "event",
            "organisation",
            "person",
            "network_asset",
            "population",
        ],
    )?;
    let text = q.text("q").map(str::to_lowercase);
    let category = match q.text("category") {
        None => None,
        Some(c) => {
            // Exactly the documented pattern: segments of [a-z0-9_], optional outer slashes.
            let inner = c.strip_prefix('/').unwrap_or(c);
            let inner = inner.strip_suffix('/').unwrap_or(inner);
            let ok = inner.split('/').all(|seg| {
                !seg.is_empty()
                    && seg
                        .bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
            });
            if !ok {
                return Err(Problem::bad_request(format!(
                    "category must be a path such as venue/entertainment, not {c:?}"
                ))
                .at("query.category"));
            }
            Some(inner.to_owned())
        }
    };
    let cursor = q.text("cursor").map(str::to_owned);
    st.read(p, move |store| {
        let mut all = store.entities()?;
        all.retain(|e| {
            kind.is_none_or(|k| e.kind.as_str() == k)
                && category.as_deref().is_none_or(|c| {
                    let own = e.category.as_str();
                    own == c || own.starts_with(&format!("{c}/"))
                })
                && text.as_deref().is_none_or(|t| {
                    e.id.as_str().to_lowercase().contains(t)
                        || e.name.to_lowercase().contains(t)
                        || e.aliases.iter().any(|a| a.to_lowercase().contains(t))
                })
        });
        let (items, next_cursor) = page(all, |e| e.id.to_string(), cursor.as_deref(), limit);
        Ok(EntityPage {
            count: items.len(),
            items,
            next_cursor,
        })
    })
    .await
}

#[utoipa::path(get, path = "/api/v1/entities/{id}", tag = "registry",
    params(("id" = String, Path, description = "Entity id")),
    responses((status = 200, description = "The entity", body = Entity)))]
pub async fn entity(
    State(st): State<AppState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<Reply<Entity>, Problem> {
    st.read(p, move |store| {
        store
            .entity(&EntityId::new(id.clone()))?
            .ok_or_else(|| Problem::not_found("entity", &id))
    })
    .await
}

fn check_entity(e: &Entity) -> Result<(), Problem> {
    if e.id.as_str().trim().is_empty() {
        return Err(Problem::invalid("/id", "an entity needs a non-empty id"));
    }
    if e.name.trim().is_empty() {
        return Err(Problem::invalid(
            "/name",
            "an entity needs a non-empty name",
        ));
    }
    Ok(())
}

#[utoipa::path(post, path = "/api/v1/entities", tag = "registry",
    request_body(content = Entity, description = "The new entity", content_type = "application/json"),
    responses((status = 201, description = "Created; the match index includes it", body = Entity)))]
pub async fn create_entity(
    State(st): State<AppState>,
    Extension(p): Extension<Principal>,
    ApiJson(e): ApiJson<Entity>,
) -> Result<(StatusCode, Json<Entity>), Problem> {
    check_entity(&e)?;
    let engine = engine(&st)?;
    let now = st.now();
    blocking(move || {
        if engine.store().entity(&e.id)?.is_some() {
            return Err(Problem::new(
                StatusCode::CONFLICT,
                "conflict",
                "Conflict",
                format!(
                    "entity {:?} already exists: PUT /api/v1/entities/{} replaces it",
                    e.id.as_str(),
                    e.id
                ),
            )
            .at("/id"));
        }
        engine.upsert_entities(std::slice::from_ref(&e), &AuditCtx::new(p.actor(), now))?;
        Ok((StatusCode::CREATED, Json(e)))
    })
    .await
}

#[utoipa::path(put, path = "/api/v1/entities/{id}", tag = "registry",
    params(("id" = String, Path, description = "Entity id (must equal the body's `id`)")),
    request_body(content = Entity, content_type = "application/json"),
    responses((status = 200, description = "Stored (created or replaced)", body = Entity)))]
pub async fn put_entity(
    State(st): State<AppState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
    ApiJson(e): ApiJson<Entity>,
) -> Result<Json<Entity>, Problem> {
    if e.id.as_str() != id {
        return Err(Problem::invalid(
            "/id",
            format!(
                "the body's id {:?} differs from the path's {id:?}",
                e.id.as_str()
            ),
        ));
    }
    check_entity(&e)?;
    let engine = engine(&st)?;
    let now = st.now();
    blocking(move || {
        engine.upsert_entities(std::slice::from_ref(&e), &AuditCtx::new(p.actor(), now))?;
        Ok(Json(e))
    })
    .await
}

#[utoipa::path(delete, path = "/api/v1/entities/{id}", tag = "registry",
    params(("id" = String, Path, description = "Entity id")),
    responses((status = 204, description = "Deleted, with its stored matches")))]
pub async fn delete_entity(
    State(st): State<AppState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<StatusCode, Problem> {
    let engine = engine(&st)?;
    let now = st.now();
    blocking(move || {
        engine.delete_entity(&EntityId::new(id), &p.actor(), now)?;
        Ok(StatusCode::NO_CONTENT)
    })
    .await
}

/// What an import body holds.
#[derive(Debug, Clone, Copy, serde::Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ImportKind {
    /// `venues.csv` (docs/formats.md).
    Venues,
    /// `events.csv`; its venue references resolve against the stored registry.
    Events,
    /// `audiences.toml`.
    Audiences,
}

#[derive(serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ImportQuery {
    /// What the body holds: venues (CSV), events (CSV) or audiences (TOML).
    #[param(inline)]
    kind: ImportKind,
}

/// Where in the uploaded file a registry error is, for the problem's `field`.
fn file_position(e: &tocsin_formats::RegistryError) -> String {
    let mut parts = Vec::new();
    if let Some(l) = e.line {
        parts.push(format!("line {l}"));
    }
    if let Some(c) = e.column {
        parts.push(format!("column {c}"));
    }
    if let Some(f) = &e.field {
        parts.push(format!("field {f}"));
    }
    if parts.is_empty() {
        "body".to_owned()
    } else {
        parts.join(", ")
    }
}

/// What an import parsed, before anything is written.
enum Parsed {
    Entities(Vec<Entity>),
    Audiences(Vec<Audience>),
}

#[utoipa::path(post, path = "/api/v1/entities/import", tag = "registry",
    params(ImportQuery),
    request_body(description = "The file, as `tocsin import` reads it: venues.csv, events.csv or audiences.toml",
        content((String = "text/csv"), (String = "application/toml"), (String = "text/plain"))),
    responses(
        (status = 202, description = "Parsed and accepted: the records are written by a job, `GET /api/v1/jobs/{id}`", body = Job,
            headers(("Location" = String, description = "`/api/v1/jobs/{id}`: the job writing the records"))),
        (status = 422, description = "The file does not parse: nothing is written; `field` is the line and column (or TOML field path)", body = crate::problem::ProblemDoc, content_type = "application/problem+json"),
    ))]
pub async fn import(
    State(st): State<AppState>,
    Extension(p): Extension<Principal>,
    Query(q): Query<ImportQuery>,
    body: axum::body::Body,
) -> Result<
    (
        StatusCode,
        [(axum::http::HeaderName, axum::http::HeaderValue); 1],
        Json<Job>,
    ),
    Problem,
> {
    let engine = engine(&st)?;
    // A registry file may be far larger than a request body elsewhere (the default limit is 2 MB).
    let bytes = axum::body::to_bytes(body, MAX_IMPORT_BYTES)
        .await
        .map_err(|_| {
            Problem::from_status(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("an import file is at most {MAX_IMPORT_BYTES} bytes"),
            )
        })?;
    let body = String::from_utf8(bytes.to_vec())
        .map_err(|e| Problem::invalid("body", format!("the file is not UTF-8: {e}")))?;
    let kind = q.kind;
    // Parse first (fast, and a bad file must store nothing): a parse error is the answer.
    let parse_engine = engine.clone();
    let parsed = blocking(move || {
        let r = match kind {
            ImportKind::Venues => tocsin_formats::parse_venues_csv(&body).map(Parsed::Entities),
            ImportKind::Events => {
                tocsin_formats::parse_events_csv(&body, &parse_engine.store().entities()?)
                    .map(Parsed::Entities)
            }
            ImportKind::Audiences => {
                tocsin_formats::parse_audiences_toml(&body).map(Parsed::Audiences)
            }
        };
        let parsed = r.map_err(|e| Problem::invalid(file_position(&e), e.to_string()))?;
        // Accepted but suspicious rows are told in the answer, not only by the CLI.
        let notes = match (&parsed, kind) {
            (Parsed::Entities(list), ImportKind::Venues) => {
                parse_engine.registry_notes("venues.csv", list, &[])?
            }
            (Parsed::Entities(list), _) => parse_engine.registry_notes("events.csv", list, &[])?,
            (Parsed::Audiences(_), _) => Vec::new(),
        };
        Ok((parsed, notes))
    })
    .await?;
    let (parsed, notes) = parsed;
    let name = match kind {
        ImportKind::Venues => "import:venues",
        ImportKind::Events => "import:events",
        ImportKind::Audiences => "import:audiences",
    };
    let jobs = super::jobs::jobs();
    let mut job = jobs.start(name, p.actor());
    let id = job.id.clone();
    jobs.update(&id, |j| j.notes = notes.clone());
    job.notes = notes;
    let now = st.now();
    // The writes run as the job, in chunks, so `done` advances while a large registry loads.
    tokio::task::spawn_blocking(move || {
        let ctx = AuditCtx::new(p.actor(), now);
        let fail = |message: String| {
            jobs.update(&id, |j| {
                j.state = JobState::Failed;
                j.errors.push(JobError {
                    line: None,
                    column: None,
                    field: None,
                    message,
                });
            })
        };
        match parsed {
            Parsed::Audiences(auds) => {
                jobs.update(&id, |j| {
                    j.state = JobState::Running;
                    j.total = auds.len();
                });
                if let Err(e) = auds.iter().try_for_each(|a| a.id.check()) {
                    return fail(e.to_string());
                }
                match engine.store().upsert_audiences(&auds, &ctx) {
                    Ok(()) => jobs.update(&id, |j| {
                        j.done = auds.len();
                        j.state = JobState::Succeeded;
                    }),
                    Err(e) => fail(Problem::from(e).detail),
                }
            }
            Parsed::Entities(all) => {
                jobs.update(&id, |j| {
                    j.state = JobState::Running;
                    j.total = all.len();
                });
                for chunk in all.chunks(IMPORT_CHUNK) {
                    if let Err(e) = engine.upsert_entities(chunk, &ctx) {
                        return fail(Problem::from(e).detail);
                    }
                    jobs.update(&id, |j| j.done += chunk.len());
                }
                jobs.update(&id, |j| j.state = JobState::Succeeded);
            }
        }
    });
    // Where to follow the job, as a 202 conventionally says (RFC 9110 §15.3.3).
    let location = axum::http::HeaderValue::from_str(&format!("/api/v1/jobs/{}", job.id))
        .map_err(|e| Problem::internal(&e))?;
    Ok((
        StatusCode::ACCEPTED,
        [(axum::http::header::LOCATION, location)],
        Json(job),
    ))
}

#[utoipa::path(get, path = "/api/v1/audiences", tag = "registry",
    responses((status = 200, description = "Every audience", body = AudienceList)))]
pub async fn audiences(
    State(st): State<AppState>,
    Extension(p): Extension<Principal>,
) -> Result<Reply<AudienceList>, Problem> {
    st.read(p, |store| {
        let items = store.audiences()?;
        Ok(AudienceList {
            count: items.len(),
            items,
        })
    })
    .await
}

#[utoipa::path(get, path = "/api/v1/audiences/{id}", tag = "registry",
    params(("id" = String, Path, description = "Audience id")),
    responses((status = 200, description = "The audience and its channels", body = Audience)))]
pub async fn audience(
    State(st): State<AppState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<Reply<Audience>, Problem> {
    st.read(p, move |store| {
        store
            .audience(&AudienceId::new(id.clone()))?
            .ok_or_else(|| Problem::not_found("audience", &id))
    })
    .await
}

/// Refuse an address its channel could never deliver to, when it is entered rather than at the
/// first send (the file channel checks again: nothing outside its root is ever written).
fn check_channel(c: &tocsin_core::ChannelSpec) -> Result<(), String> {
    use tocsin_core::ChannelKind;
    let a = c.address.trim();
    if a.is_empty() || a != c.address {
        return Err("a channel needs an address without surrounding spaces".into());
    }
    match c.kind {
        ChannelKind::File => {
            let rel = std::path::Path::new(a);
            if rel.is_absolute()
                || rel
                    .components()
                    .any(|p| !matches!(p, std::path::Component::Normal(_)))
            {
                return Err(format!("a file channel's address is a relative folder below the outbox, without '..': {a:?}"));
            }
        }
        ChannelKind::Webhook => {
            if !(a.starts_with("https://") || a.starts_with("http://"))
                || a.contains(char::is_whitespace)
            {
                return Err(format!("a webhook address is an http(s) URL: {a:?}"));
            }
        }
        ChannelKind::Email => {
            let ok = a
                .split_once('@')
                .is_some_and(|(l, d)| !l.is_empty() && d.contains('.') && !d.contains('@'))
                && !a.contains(char::is_whitespace);
            if !ok {
                return Err(format!(
                    "an e-mail address looks like name@example.org: {a:?}"
                ));
            }
        }
    }
    Ok(())
}

#[utoipa::path(put, path = "/api/v1/audiences/{id}", tag = "registry",
    params(("id" = String, Path, description = "Audience id (must equal the body's `id`)")),
    request_body(content = Audience, content_type = "application/json"),
    responses((status = 200, description = "Stored (created or replaced)", body = Audience)))]
pub async fn put_audience(
    State(st): State<AppState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
    ApiJson(a): ApiJson<Audience>,
) -> Result<Json<Audience>, Problem> {
    if a.id.as_str() != id {
        return Err(Problem::invalid(
            "/id",
            format!(
                "the body's id {:?} differs from the path's {id:?}",
                a.id.as_str()
            ),
        ));
    }
    a.id.check()
        .map_err(|e| Problem::invalid("/id", e.to_string()))?;
    if a.name.trim().is_empty() {
        return Err(Problem::invalid(
            "/name",
            "an audience needs a non-empty name",
        ));
    }
    for (i, c) in a.channels.iter().enumerate() {
        check_channel(c).map_err(|why| Problem::invalid(format!("/channels/{i}/address"), why))?;
    }
    if let Some(z) = &a.timezone {
        tocsin_core::i18n::parse_zone(z).map_err(|why| Problem::invalid("/timezone", why))?;
    }
    let store = st.store.clone();
    let now = st.now();
    blocking(move || {
        store.upsert_audiences(std::slice::from_ref(&a), &AuditCtx::new(p.actor(), now))?;
        Ok(Json(a))
    })
    .await
}
