//! The HTTP API, one module per resource; each holds its routes' handlers, their request bodies
//! and the typed answers they return, from which `openapi` builds the document (every handler
//! carries its `#[utoipa::path]`). This module holds what they share: the blocking-pool helpers,
//! query parsing, paging and the list envelope.

pub mod accounts;
pub mod audit;
pub mod deliveries;
pub mod determinations;
pub mod feeds;
pub mod followup;
pub mod intake;
pub mod jobs;
pub mod leak;
pub mod links;
pub mod meta;
pub mod posture;
pub mod registry;
pub mod reports;
pub mod tasks;
pub mod threats;
pub mod warnings;

use crate::problem::Problem;
use crate::AppState;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::HashMap;
use std::marker::PhantomData;
use std::sync::Arc;
use tocsin_core::{ThreatId, Timestamp, WarningId};
use tocsin_engine::{Engine, EngineError};
use tocsin_store::Store;

/// Default and largest page of a filtered list.
pub const DEFAULT_LIMIT: usize = 100;
pub const MAX_LIMIT: usize = 1000;

/// Query parameters, parsed by hand so each error names its parameter (`field: query.limit`).
pub struct QueryMap(pub HashMap<String, String>);

impl QueryMap {
    /// A parameter as given; an empty value (`?since=`) is present, and checked like any other.
    pub fn text(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    /// `limit`: 1..=MAX_LIMIT, default DEFAULT_LIMIT.
    pub fn limit(&self) -> Result<usize, Problem> {
        match self.text("limit") {
            None => Ok(DEFAULT_LIMIT),
            Some(s) => match s.parse::<usize>() {
                Ok(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
                _ => Err(Problem::bad_request(format!(
                    "limit must be an integer from 1 to {MAX_LIMIT}, not {s:?}"
                ))
                .at("query.limit")),
            },
        }
    }

    /// An RFC 3339 instant.
    pub fn time(&self, name: &str) -> Result<Option<tocsin_core::Timestamp>, Problem> {
        self.text(name)
            .map(|s| {
                // RFC 3339 with the `T` separator, as JSON Schema's `date-time` has it.
                if !matches!(s.as_bytes().get(10), Some(b'T' | b't')) {
                    return Err(Problem::bad_request(format!(
                        "{name} must be an RFC 3339 instant such as 2024-03-06T09:00:00Z"
                    ))
                    .at(format!("query.{name}")));
                }
                chrono::DateTime::parse_from_rfc3339(s)
                    .map(|t| t.with_timezone(&chrono::Utc))
                    .map_err(|e| {
                        Problem::bad_request(format!(
                            "{name} must be an RFC 3339 instant such as 2024-03-06T09:00:00Z: {e}"
                        ))
                        .at(format!("query.{name}"))
                    })
            })
            .transpose()
    }

    /// One of a fixed set of words.
    pub fn choice<'a>(&self, name: &str, allowed: &[&'a str]) -> Result<Option<&'a str>, Problem> {
        match self.text(name) {
            None => Ok(None),
            Some(s) => allowed
                .iter()
                .find(|a| **a == s)
                .copied()
                .map(Some)
                .ok_or_else(|| {
                    Problem::bad_request(format!(
                        "{name} must be one of {}, not {s:?}",
                        allowed.join(", ")
                    ))
                    .at(format!("query.{name}"))
                }),
        }
    }
}

/// A write route's answer shaped for the caller like every read (`redact::for_principal`:
/// restricted terms below analyst, portions above the caller's clearance withheld).
pub fn shaped<T: Serialize>(
    store: &dyn tocsin_store::Store,
    principal: &crate::auth::Principal,
    v: &T,
) -> Result<Reply<T>, Problem> {
    let mut v = serde_json::to_value(v).map_err(|e| Problem::internal(&e))?;
    crate::redact::for_principal(&mut v, principal, store)?;
    Ok(Reply::shaped(v))
}

/// A handler's typed answer: `T` is the struct the handler built and the one its
/// `#[utoipa::path]` names as the body, so the document describes what is sent. The body is `T`
/// as JSON, shaped for the caller when it came through [`AppState::read`] or [`shaped`].
pub struct Reply<T> {
    body: Value,
    _t: PhantomData<fn() -> T>,
}

impl<T: Serialize> Reply<T> {
    /// `v` as it is (answers with nothing to withhold).
    pub fn new(v: &T) -> Result<Self, Problem> {
        Ok(Self::shaped(value(v)?))
    }
}

impl<T> Reply<T> {
    /// A body that is already `T` serialised and shaped (`redact`).
    pub(crate) fn shaped(body: Value) -> Self {
        Self {
            body,
            _t: PhantomData,
        }
    }
}

impl<T> IntoResponse for Reply<T> {
    fn into_response(self) -> Response {
        Json(self.body).into_response()
    }
}

/// One page of items sorted by a key: those after `cursor`, at most `limit`, and the cursor of the
/// next page (the last key returned) when more remain.
pub fn page<T>(
    mut items: Vec<T>,
    key: impl Fn(&T) -> String,
    cursor: Option<&str>,
    limit: usize,
) -> (Vec<T>, Option<String>) {
    items.sort_by_key(|a| key(a));
    if let Some(c) = cursor {
        items.retain(|i| key(i).as_str() > c);
    }
    let more = items.len() > limit;
    items.truncate(limit);
    let next = if more { items.last().map(&key) } else { None };
    (items, next)
}

pub(crate) fn require_threat(
    store: &dyn Store,
    id: &ThreatId,
) -> Result<tocsin_core::Threat, Problem> {
    store
        .threat(id)?
        .ok_or_else(|| Problem::not_found("threat", id.as_str()))
}

pub(crate) fn require_warning(
    store: &dyn Store,
    id: &WarningId,
) -> Result<tocsin_core::tracking::Warning, Problem> {
    store
        .warning(id)?
        .ok_or_else(|| Problem::not_found("warning", id.as_str()))
}

#[derive(Debug, Deserialize)]
pub struct ThreatFilter {
    pub threat: Option<String>,
}

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

/// Run an engine call on the blocking pool with the request's time; the answer is shaped for
/// `who` (`redact::for_principal`), or sent as it is for the recipients' own links (`None`).
pub(crate) async fn with_engine<T, F>(
    st: &AppState,
    who: Option<crate::auth::Principal>,
    f: F,
) -> Result<Reply<T>, Problem>
where
    T: Serialize + 'static,
    F: FnOnce(&Engine, Timestamp) -> Result<T, Problem> + Send + 'static,
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
    tokio::task::spawn_blocking(move || {
        let v = f(&engine, now)?;
        match who {
            Some(p) => shaped(engine.store().as_ref(), &p, &v),
            None => Reply::new(&v),
        }
    })
    .await
    .map_err(|e| Problem::internal(&e))?
}

pub(crate) fn value<T: serde::Serialize>(v: &T) -> Result<Value, Problem> {
    serde_json::to_value(v).map_err(|e| Problem::internal(&e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_follow_the_cursor() {
        let items: Vec<String> = ["d", "a", "c", "b", "e"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let (p1, next) = page(items.clone(), |s| s.clone(), None, 2);
        assert_eq!(p1, ["a", "b"]);
        assert_eq!(next.as_deref(), Some("b"));
        let (p2, next) = page(items.clone(), |s| s.clone(), next.as_deref(), 2);
        assert_eq!(p2, ["c", "d"]);
        let (p3, next) = page(items, |s| s.clone(), next.as_deref(), 2);
        assert_eq!(p3, ["e"]);
        assert_eq!(next, None);
    }

    #[test]
    fn bad_limit_names_the_parameter() {
        let q = QueryMap([("limit".to_owned(), "0".to_owned())].into_iter().collect());
        let p = q.limit().unwrap_err();
        assert_eq!(p.field.as_deref(), Some("query.limit"));
    }
}
