//! The routes of the full API beyond the first read endpoints and the follow-through
//! chain: threat intake by form or document, the registry (CRUD, bulk import as a job), match
//! reviews, the warning lifecycle an analyst drives, deliveries and the audit export.
//! Every handler carries its `#[utoipa::path]`, from which `openapi` builds the document.

pub mod deliveries;
pub mod jobs;
pub mod leak;
pub mod posture;
pub mod registry;
pub mod threats;
pub mod warnings;

use crate::problem::Problem;
use std::collections::HashMap;

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
pub fn shaped<T: serde::Serialize>(
    store: &dyn tocsin_store::Store,
    principal: &crate::auth::Principal,
    v: &T,
) -> Result<axum::Json<serde_json::Value>, Problem> {
    let mut v = serde_json::to_value(v).map_err(|e| Problem::internal(&e))?;
    crate::redact::for_principal(&mut v, principal, store)?;
    Ok(axum::Json(v))
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
