//! The OpenAPI 3.1 document of the HTTP API, generated from the handlers' `#[utoipa::path]`
//! attributes and the request/response types (`ToSchema`), served at `GET /api/v1/openapi.json`.
//!
//! The document is readable without a token, as is conventional: it describes the API and holds
//! no data. Every other `/api/v1/` route needs one. The responses every operation can give (400,
//! 401, 403, 404, 422 and a problem+json default) are added here once, so no handler forgets them.
//!
//! A test checks that every route the router serves is in the document and every operation of the
//! document is served, so the two cannot drift.

use crate::api;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::Value;
use std::sync::OnceLock;
use tocsin_core::audit::{AuditEvent, ChainBreak};
use tocsin_core::duty::Determination;
use tocsin_core::followup::Task;
use tocsin_core::tracking::{Delivery, TimelineEntry, Warning};
use tocsin_core::{MatchReason, Threat};
use utoipa::openapi::path::Operation;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{ContentBuilder, OpenApi as Doc, Ref, ResponseBuilder};
use utoipa::{OpenApi, ToSchema};

/// Path of the document itself (no token needed).
pub const OPENAPI_PATH: &str = "/api/v1/openapi.json";

// ---- Response shapes of handlers that build their JSON by hand (documented here). ----

#[derive(Serialize, ToSchema)]
pub struct Health {
    pub status: String,
    pub version: String,
}

#[derive(Serialize, ToSchema)]
pub struct ThreatWithCount {
    #[serde(flatten)]
    pub threat: Threat,
    pub target_count: usize,
}

#[derive(Serialize, ToSchema)]
pub struct MatchItem {
    pub entity_id: String,
    pub entity_name: Option<String>,
    pub entity_kind: Option<String>,
    pub target: usize,
    pub target_label: Option<String>,
    pub score: f64,
    pub reasons: Vec<MatchReason>,
}

#[derive(Serialize, ToSchema)]
pub struct MatchList {
    pub threat_id: String,
    pub count: usize,
    pub items: Vec<MatchItem>,
}

#[derive(Serialize, ToSchema)]
pub struct DeterminationList {
    pub threat_id: String,
    pub count: usize,
    pub items: Vec<Determination>,
}

#[derive(Serialize, ToSchema)]
pub struct WarningList {
    pub count: usize,
    pub items: Vec<Warning>,
}

#[derive(Serialize, ToSchema)]
pub struct WarningDeliveries {
    pub warning_id: String,
    pub count: usize,
    pub items: Vec<Delivery>,
}

#[derive(Serialize, ToSchema)]
pub struct TimelineList {
    pub count: usize,
    pub items: Vec<TimelineEntry>,
}

#[derive(Serialize, ToSchema)]
pub struct AuditEventList {
    pub count: usize,
    pub items: Vec<AuditEvent>,
}

#[derive(Serialize, ToSchema)]
pub struct AuditSummary {
    pub count: usize,
    pub head_hash: String,
    pub verified: bool,
    /// Where the chain breaks, when it does.
    #[serde(rename = "break")]
    pub chain_break: Option<ChainBreak>,
}

/// What a follow-through write recorded.
#[derive(Serialize, ToSchema)]
pub struct Recorded {
    /// The warning it concerns (acknowledgements, posture reports, feedback).
    pub warning: Option<String>,
    /// The threat it concerns (outcomes).
    pub threat: Option<String>,
    /// `acknowledgement`, `posture_report`, `feedback` or `outcome`.
    pub recorded: String,
    /// The analysts' task feedback opened, if any.
    pub task: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct WindowExtended {
    pub threat: String,
    #[schema(format = DateTime)]
    pub window_until: String,
    pub determination: String,
}

#[derive(Serialize, ToSchema)]
pub struct WarningStateChange {
    pub warning: String,
    pub state: String,
}

#[derive(Serialize, ToSchema)]
pub struct TaskList {
    pub count: usize,
    pub items: Vec<Task>,
}

#[derive(Serialize, ToSchema)]
pub struct LinkInfo {
    /// `acknowledge`, `posture` or `feedback`.
    pub purpose: String,
    pub method: String,
    pub example_body: Value,
}

#[derive(Serialize, ToSchema)]
pub struct Committed {
    pub threat: Threat,
    pub matches: usize,
}

#[derive(Serialize, ToSchema)]
pub struct FeedRunList {
    pub count: usize,
    pub items: Vec<Value>,
}

// ---- Routes whose handlers live in modules documented here (feeds: issue 9). ----

#[utoipa::path(get, path = "/api/v1/feeds/runs", tag = "feeds",
    responses((status = 200, description = "CERT feed runs (docs/feeds.md)", body = FeedRunList)))]
#[allow(dead_code)]
fn feed_runs_doc() {}

#[utoipa::path(get, path = "/api/v1/feeds/runs/{id}", tag = "feeds",
    params(("id" = String, Path, description = "Feed run id")),
    responses((status = 200, description = "One feed run with its notifications", body = Object)))]
#[allow(dead_code)]
fn feed_run_doc() {}

// ---- Accounts (issue 10 part D, handlers in `accounts`): documented here until they carry
// their own `#[utoipa::path]`; shapes are in docs/security.md. ----

#[utoipa::path(get, path = "/api/v1/users", tag = "accounts",
    responses((status = 200, description = "Users (admin)", body = Object)))]
#[allow(dead_code)]
fn users_list_doc() {}

#[utoipa::path(post, path = "/api/v1/users", tag = "accounts",
    request_body(content = Object, content_type = "application/json"),
    responses((status = 201, description = "User created (admin)", body = Object)))]
#[allow(dead_code)]
fn users_post_doc() {}

#[utoipa::path(patch, path = "/api/v1/users/{id}", tag = "accounts",
    params(("id" = String, Path, description = "User id")),
    request_body(content = Object, content_type = "application/json"),
    responses((status = 200, description = "User changed (admin)", body = Object)))]
#[allow(dead_code)]
fn users_patch_doc() {}

#[utoipa::path(get, path = "/api/v1/tokens", tag = "accounts",
    responses((status = 200, description = "API tokens, never their secrets (admin)", body = Object)))]
#[allow(dead_code)]
fn tokens_list_doc() {}

#[utoipa::path(post, path = "/api/v1/tokens", tag = "accounts",
    request_body(content = Object, content_type = "application/json"),
    responses((status = 201, description = "Token created; the secret is shown once (admin)", body = Object)))]
#[allow(dead_code)]
fn tokens_post_doc() {}

#[utoipa::path(delete, path = "/api/v1/tokens/{id}", tag = "accounts",
    params(("id" = i64, Path, description = "Token id")),
    responses((status = 200, description = "Token revoked (admin)", body = Object)))]
#[allow(dead_code)]
fn tokens_delete_doc() {}

#[utoipa::path(get, path = "/api/v1/openapi.json", tag = "meta",
    responses((status = 200, description = "This document (OpenAPI 3.1); readable without a token", body = Object)))]
pub async fn openapi_json() -> Response {
    static DOC: OnceLock<String> = OnceLock::new();
    let body = DOC.get_or_init(|| document().to_json().unwrap_or_else(|_| "{}".into())).clone();
    let mut resp = body.into_response();
    resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    resp
}

#[derive(OpenApi)]
#[openapi(
    info(title = "Tocsin API", description = "The duty-to-warn engine's HTTP API. docs/api.md explains roles and flows; this document is the reference."),
    paths(
        crate::routes::health,
        openapi_json,
        api::threats::threats, api::threats::create, crate::routes::threat, crate::routes::threat_matches,
        api::threats::recompute, api::threats::review, api::threats::reviews,
        crate::routes::threat_determinations, crate::actions::propose, crate::actions::waive, crate::actions::approve_determination,
        crate::actions::compose, crate::actions::outcome, crate::actions::extend_window,
        crate::intake::propose, crate::intake::commit,
        api::registry::entities, api::registry::create_entity, api::registry::entity, api::registry::put_entity, api::registry::delete_entity,
        api::registry::import, api::jobs::job,
        api::registry::audiences, api::registry::audience, api::registry::put_audience,
        crate::routes::warnings, crate::routes::warning, api::warnings::edit, crate::actions::approve_warning,
        api::warnings::queue, api::warnings::update, api::warnings::cancel,
        crate::routes::warning_deliveries, crate::routes::deliveries, api::deliveries::dead_letters, api::deliveries::retry,
        crate::actions::acknowledge, crate::actions::posture, crate::actions::feedback,
        crate::actions::tasks, crate::actions::close_task, crate::actions::effectiveness,
        crate::routes::timeline, crate::routes::audit, crate::routes::audit_events, api::deliveries::audit_export,
        feed_runs_doc, feed_run_doc,
        users_list_doc, users_post_doc, users_patch_doc, tokens_list_doc, tokens_post_doc, tokens_delete_doc,
        crate::actions::link_info, crate::actions::link_use,
    ),
    components(schemas(crate::problem::ProblemDoc, api::registry::ImportKind, api::threats::ThreatState, tocsin_core::EntityKind, tocsin_core::tracking::DeliveryStatus)),
)]
struct ApiDoc;

/// The document, with the shared error responses and security added to every operation.
pub fn document() -> Doc {
    let mut doc = ApiDoc::openapi();
    let components = doc.components.get_or_insert_with(Default::default);
    components.add_security_scheme("bearer", SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)));
    for (path, item) in doc.paths.paths.iter_mut() {
        let staff = path.starts_with("/api/v1/") && path != OPENAPI_PATH;
        let recipient = path.starts_with("/r/");
        let ops: [&mut Option<Operation>; 5] = [&mut item.get, &mut item.post, &mut item.put, &mut item.patch, &mut item.delete];
        for op in ops.into_iter().flatten() {
            let mut add = |code: &str, why: &str| {
                if !op.responses.responses.contains_key(code) {
                    op.responses.responses.insert(code.to_owned(), problem(why).into());
                }
            };
            if staff {
                add("401", "No token, or a malformed, unknown, revoked or expired one");
                add("403", "The token's role is too low for this route (or it is bound to a partner's audience)");
                op.security = Some(vec![SecurityRequirement::new("bearer", Vec::<String>::new())]);
            }
            if recipient {
                add("403", "The link is invalid, expired or already used");
            }
            if staff || recipient {
                add("400", "Malformed request (JSON syntax, query parameter): `field` says where");
                add("404", "What the path names does not exist");
                add("422", "The input is well-formed but not acceptable: `field` names the member");
                add("default", "Any other error (409 conflict, 415 media type, 503 no engine, 500 with a log reference)");
            }
        }
    }
    doc
}

fn problem(description: &str) -> utoipa::openapi::Response {
    ResponseBuilder::new()
        .description(description)
        .content("application/problem+json", ContentBuilder::new().schema(Some(Ref::from_schema_name("Problem"))).build())
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    /// (method, path) of every operation in the document.
    fn documented() -> BTreeSet<(String, String)> {
        let v: Value = serde_json::from_str(&document().to_json().unwrap()).unwrap();
        let mut out = BTreeSet::new();
        for (path, item) in v["paths"].as_object().unwrap() {
            for m in ["get", "post", "put", "patch", "delete"] {
                if item.get(m).is_some() {
                    out.insert((m.to_owned(), path.clone()));
                }
            }
        }
        out
    }

    /// (method, path) of every `.route(...)` in the router source (lib.rs): `/api/v1/` routes from
    /// the role groups, plus `/health` and `/r/:token`. Axum cannot list its routes, so the source
    /// is the list; a route added to lib.rs without a `#[utoipa::path]` fails here.
    fn routed() -> BTreeSet<(String, String)> {
        let src = include_str!("lib.rs");
        let body = src.split("pub fn router(").nth(1).expect("router fn");
        let body = body.split("\n}\n").next().unwrap();
        let mut out = BTreeSet::new();
        for chunk in body.split(".route(\"").skip(1) {
            let (path, rest) = chunk.split_once('"').unwrap();
            let call = rest.split(")\n").next().unwrap();
            if path.starts_with("/auth/") || path.starts_with("/console") || path == "/" {
                continue; // console sessions and static files (docs/console.md, docs/security.md)
            }
            let full = if path == "/health" || path.starts_with("/r/") || path.starts_with("/api/v1/") {
                path.to_owned()
            } else {
                format!("/api/v1{path}")
            };
            if full.starts_with("/console") || full == "/" {
                continue; // the web console's static files: not API operations
            }
            let openapi_path = full.split('/').map(|seg| match seg.strip_prefix(':') {
                Some(name) => format!("{{{name}}}"),
                None => seg.to_owned(),
            }).collect::<Vec<_>>().join("/");
            for m in ["get", "post", "put", "patch", "delete"] {
                if call.contains(&format!("{m}(")) {
                    out.insert((m.to_owned(), openapi_path.clone()));
                }
            }
        }
        out
    }

    #[test]
    fn document_and_router_agree() {
        let doc = documented();
        let routes = routed();
        assert!(routes.len() > 40, "the router source parse found only {} routes", routes.len());
        let undocumented: Vec<_> = routes.difference(&doc).collect();
        let unrouted: Vec<_> = doc.difference(&routes).collect();
        assert!(undocumented.is_empty(), "routes missing from the OpenAPI document: {undocumented:?}");
        assert!(unrouted.is_empty(), "documented operations the router does not serve: {unrouted:?}");
    }

    #[test]
    fn every_staff_operation_lists_its_errors_and_needs_the_bearer() {
        let v: Value = serde_json::from_str(&document().to_json().unwrap()).unwrap();
        assert_eq!(v["openapi"].as_str().unwrap(), "3.1.0");
        assert_eq!(v["components"]["securitySchemes"]["bearer"]["scheme"], "bearer");
        for (path, item) in v["paths"].as_object().unwrap() {
            if !path.starts_with("/api/v1/") || path == OPENAPI_PATH {
                continue;
            }
            for (m, op) in item.as_object().unwrap() {
                for code in ["401", "403", "404", "422"] {
                    let r = &op["responses"][code];
                    assert!(r["content"]["application/problem+json"].is_object(), "{m} {path} lacks a problem+json {code}");
                }
                assert!(op["security"].to_string().contains("bearer"), "{m} {path} has no bearer security");
            }
        }
    }
}
