//! The OpenAPI 3.1 document of the HTTP API, generated from the handlers' `#[utoipa::path]`
//! attributes and the request/response types (`ToSchema`), served at `GET /api/v1/openapi.json`.
//!
//! The document is readable without a token, as is conventional: it describes the API and holds
//! no data. Every other `/api/v1/` route needs one. The responses every operation can give (400,
//! 401, 403, 404, 422 and a problem+json default) are added here once, so no handler forgets them.
//!
//! A test checks that every route the router serves is in the document and every operation of the
//! document is served, so the two cannot drift.

use crate::resources as api;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::Value;
use std::sync::OnceLock;
use utoipa::openapi::path::Operation;
use utoipa::openapi::security::{
    ApiKey, ApiKeyValue, Http, HttpAuthScheme, SecurityRequirement, SecurityScheme,
};
use utoipa::openapi::{ContentBuilder, OpenApi as Doc, Ref, ResponseBuilder};
use utoipa::{OpenApi, ToSchema};

/// Path of the document itself (no token needed).
pub const OPENAPI_PATH: &str = "/api/v1/openapi.json";

// ---- Console sessions (docs/security.md; handlers in `session`, documented here). ----

/// `POST /auth/login` body.
#[derive(Serialize, ToSchema)]
pub struct LoginRequest {
    #[schema(example = "ana.smith")]
    pub username: String,
    pub password: String,
}

#[utoipa::path(post, path = "/auth/login", tag = "accounts",
    request_body(content = LoginRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "Signed in: the session cookie is set", body = crate::session::LoginAnswer,
            headers(("Set-Cookie" = String, description = "tocsin_session=…; HttpOnly; SameSite=Strict; Path=/ (Secure off loopback)"))),
        (status = 401, description = "The username or password is wrong (one answer for every reason)", body = crate::problem::ProblemDoc, content_type = "application/problem+json"),
        (status = 429, description = "Too many failed logins for this username or address, or too many password checks running at once (Retry-After: 1); a refused login is not checked", body = crate::problem::ProblemDoc, content_type = "application/problem+json",
            headers(("Retry-After" = i64, description = "Seconds until another attempt is allowed"))),
        (status = 400, description = "Malformed JSON", body = crate::problem::ProblemDoc, content_type = "application/problem+json"),
        (status = 422, description = "A member is missing or of the wrong type", body = crate::problem::ProblemDoc, content_type = "application/problem+json"),
        (status = "default", description = "Any other error (415 media type, 500 with a log reference)", body = crate::problem::ProblemDoc, content_type = "application/problem+json"),
    ))]
#[allow(dead_code)]
fn login_doc() {}

#[utoipa::path(get, path = "/auth/me", tag = "accounts",
    responses((status = 200, description = "Who the credential (token or session) is", body = crate::session::Me)))]
#[allow(dead_code)]
fn me_doc() {}

#[utoipa::path(post, path = "/auth/logout", tag = "accounts",
    responses((status = 204, description = "The session is ended and its cookie cleared (a token caller has no session: nothing ends)",
        headers(("Set-Cookie" = String, description = "Clears tocsin_session")))))]
#[allow(dead_code)]
fn logout_doc() {}

#[utoipa::path(get, path = "/api/v1/openapi.json", tag = "meta",
    responses((status = 200, description = "This document (OpenAPI 3.1); readable without a token", body = Object)))]
pub async fn openapi_json() -> Response {
    static DOC: OnceLock<String> = OnceLock::new();
    let body = DOC
        .get_or_init(|| document().to_json().unwrap_or_else(|_| "{}".into()))
        .clone();
    let mut resp = body.into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Tocsin API",
        description = "The duty-to-warn engine's HTTP API. docs/api.md explains roles and flows; this document is the reference."
    ),
    paths(
        api::meta::health,
        openapi_json,
        api::threats::threats,
        api::threats::create,
        api::threats::threat,
        api::threats::threat_matches,
        api::threats::recompute,
        api::threats::review,
        api::threats::reviews,
        api::determinations::threat_determinations,
        api::determinations::propose,
        api::determinations::waive,
        api::determinations::approve_determination,
        api::warnings::compose,
        api::threats::outcome,
        api::threats::extend_window,
        api::intake::propose,
        api::intake::commit,
        api::registry::entities,
        api::registry::create_entity,
        api::registry::entity,
        api::registry::put_entity,
        api::registry::delete_entity,
        api::registry::import,
        api::jobs::job,
        api::registry::audiences,
        api::registry::audience,
        api::registry::put_audience,
        api::warnings::warnings,
        api::warnings::warning,
        api::posture::posture,
        api::warnings::edit,
        api::warnings::approve_warning,
        api::warnings::queue,
        api::warnings::update,
        api::warnings::cancel,
        api::warnings::specificity,
        api::warnings::release_request,
        api::deliveries::warning_deliveries,
        api::deliveries::deliveries,
        api::deliveries::dead_letters,
        api::deliveries::retry,
        api::followup::acknowledge,
        api::followup::posture,
        api::followup::feedback,
        api::tasks::tasks,
        api::tasks::close_task,
        api::reports::effectiveness,
        api::audit::timeline,
        api::audit::audit,
        api::audit::audit_events,
        api::audit::audit_export,
        api::feeds::runs,
        api::feeds::run,
        api::feeds::constituency,
        api::accounts::list_users,
        api::accounts::post_user,
        api::accounts::patch_user,
        api::accounts::list_tokens,
        api::accounts::post_token,
        api::accounts::delete_token,
        login_doc,
        me_doc,
        logout_doc,
        api::links::link_info,
        api::links::link_use,
    ),
    components(schemas(
        crate::problem::ProblemDoc,
        crate::auth::Role,
        crate::auth::Scope,
        api::registry::ImportKind,
        api::threats::ThreatState,
        tocsin_core::EntityKind,
        tocsin_core::tracking::DeliveryStatus
    ))
)]
struct ApiDoc;

/// The document, with the shared error responses and security added to every operation.
pub fn document() -> Doc {
    let mut doc = ApiDoc::openapi();
    let components = doc.components.get_or_insert_with(Default::default);
    components.add_security_scheme(
        "bearer",
        SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
    );
    // The console's session (docs/security.md): the cookie from `POST /auth/login`; unsafe methods
    // also need the session's CSRF token in `X-CSRF-Token` (from the login answer or `/auth/me`).
    components.add_security_scheme(
        "session",
        SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
            crate::session::COOKIE_NAME,
            "Console session cookie (POST /auth/login). POST, PUT, PATCH and DELETE also need the session's CSRF token in the X-CSRF-Token header; without it: 403.",
        ))),
    );
    for (path, item) in doc.paths.paths.iter_mut() {
        let staff = path.starts_with("/api/v1/") && path != OPENAPI_PATH;
        // Any valid credential, whatever its role (the caller's own session or identity).
        let account = path == "/auth/me" || path == "/auth/logout";
        let recipient = path.starts_with("/r/");
        let ops: [(&str, &mut Option<Operation>); 5] = [
            ("GET", &mut item.get),
            ("POST", &mut item.post),
            ("PUT", &mut item.put),
            ("PATCH", &mut item.patch),
            ("DELETE", &mut item.delete),
        ];
        for (method, op) in ops {
            let Some(op) = op.as_mut() else { continue };
            let mut add = |code: &str, why: &str| {
                if !op.responses.responses.contains_key(code) {
                    op.responses
                        .responses
                        .insert(code.to_owned(), problem(why).into());
                }
            };
            if staff {
                add(
                    "401",
                    "No token, or a malformed, unknown, revoked or expired one",
                );
                add("403", "The token's role or scope is too low for this route (or it is bound to a partner's audience), a console session sent an unsafe method without its X-CSRF-Token, or need to know refuses it (approving what one may not read; an admin granting more clearance or nationality than they hold, or a cleared admin minting a token with no owner)");
                // The rule the server enforces (auth::ROUTE_RULES); a route without one is refused
                // to everyone, and the document says so rather than inventing a requirement.
                let role = crate::auth::required_role(method, path);
                let scopes: Vec<String> = role
                    .map(|r| vec![crate::auth::Scope::for_role(r).as_str().to_owned()])
                    .unwrap_or_default();
                op.security = Some(vec![
                    SecurityRequirement::new("bearer", scopes.clone()),
                    SecurityRequirement::new("session", scopes),
                ]);
                let ext = op.extensions.get_or_insert_with(Default::default);
                ext.insert(
                    "x-required-role".to_owned(),
                    role.map_or(Value::Null, |r| Value::from(r.as_str())),
                );
            }
            if account {
                add(
                    "401",
                    "No credential, or a malformed, unknown, revoked or expired token or session",
                );
                if method != "GET" {
                    add(
                        "403",
                        "A console session sent this without its X-CSRF-Token",
                    );
                }
                add("default", "Any other error (500 with a log reference)");
                op.security = Some(vec![
                    SecurityRequirement::new("bearer", Vec::<String>::new()),
                    SecurityRequirement::new("session", Vec::<String>::new()),
                ]);
            }
            if recipient {
                add("403", "The link is invalid, expired or already used");
            }
            if staff || recipient {
                add(
                    "400",
                    "Malformed request (JSON syntax, query parameter): `field` says where",
                );
                add("404", "What the path names does not exist");
                add(
                    "422",
                    "The input is well-formed but not acceptable: `field` names the member",
                );
                add("default", "Any other error (409 conflict, 415 media type, 503 no engine, 500 with a log reference)");
            }
        }
    }
    doc
}

fn problem(description: &str) -> utoipa::openapi::Response {
    ResponseBuilder::new()
        .description(description)
        .content(
            "application/problem+json",
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("Problem")))
                .build(),
        )
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
        // Without whitespace, a route reads the same however rustfmt wrapped it.
        let body: String = body.chars().filter(|c| !c.is_whitespace()).collect();
        let mut out = BTreeSet::new();
        for chunk in body.split(".route(\"").skip(1) {
            let (path, rest) = chunk.split_once('"').unwrap();
            let call = rest.split(".route").next().unwrap();
            if path.starts_with("/console") || path == "/" {
                continue; // the console's static files (docs/console.md)
            }
            let full = if path == "/health"
                || path.starts_with("/r/")
                || path.starts_with("/api/v1/")
                || path.starts_with("/auth/")
            {
                path.to_owned()
            } else {
                format!("/api/v1{path}")
            };
            if full.starts_with("/console") || full == "/" {
                continue; // the web console's static files: not API operations
            }
            let openapi_path = full
                .split('/')
                .map(|seg| match seg.strip_prefix(':') {
                    Some(name) => format!("{{{name}}}"),
                    None => seg.to_owned(),
                })
                .collect::<Vec<_>>()
                .join("/");
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
        assert!(
            routes.len() > 40,
            "the router source parse found only {} routes",
            routes.len()
        );
        let undocumented: Vec<_> = routes.difference(&doc).collect();
        let unrouted: Vec<_> = doc.difference(&routes).collect();
        assert!(
            undocumented.is_empty(),
            "routes missing from the OpenAPI document: {undocumented:?}"
        );
        assert!(
            unrouted.is_empty(),
            "documented operations the router does not serve: {unrouted:?}"
        );
    }

    #[test]
    fn every_staff_operation_lists_its_errors_and_needs_the_bearer() {
        let v: Value = serde_json::from_str(&document().to_json().unwrap()).unwrap();
        assert_eq!(v["openapi"].as_str().unwrap(), "3.1.0");
        assert_eq!(
            v["components"]["securitySchemes"]["bearer"]["scheme"],
            "bearer"
        );
        for (path, item) in v["paths"].as_object().unwrap() {
            if !path.starts_with("/api/v1/") || path == OPENAPI_PATH {
                continue;
            }
            for (m, op) in item.as_object().unwrap() {
                for code in ["401", "403", "404", "422"] {
                    let r = &op["responses"][code];
                    assert!(
                        r["content"]["application/problem+json"].is_object(),
                        "{m} {path} lacks a problem+json {code}"
                    );
                }
                assert!(
                    op["security"].to_string().contains("bearer"),
                    "{m} {path} has no bearer security"
                );
            }
        }
    }
}
