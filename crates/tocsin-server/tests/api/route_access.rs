//! The access rule, proved for every operation rather than a sample ("every route refuses
//! a missing, expired, revoked or under-scoped token").
//!
//! The operations come from the generated OpenAPI document (which a unit test in `openapi` keeps
//! equal to the router), and each one's requirement from `auth::ROUTE_RULES`, the table the
//! server's `authorize` layer enforces. For every staff operation: no credential, malformed and
//! unknown tokens, an expired and a revoked admin token → 401; the highest role still below the
//! requirement, an admin token lacking exactly the needed scope, and an admin token owned by a user
//! whose role is too low → 403; a console session without its CSRF token on an unsafe method → 403;
//! every one of those answers problem+json. A token holding exactly the required role and scope is
//! let through (so the table is not stricter than the routes, and a route missing from the table,
//! which the server refuses to everyone, fails here too).
//!
//! Also: the warning routes that change or release a warning (edit, queue, update, cancel) refuse
//! a caller who may not read all of it, as approving does (`redact::check_release`).

use crate::common::{call, new_token, new_user, reference_engine, t0, Auth, Resp, PASSWORD};
use axum::http::{header, Method, StatusCode};
use axum::Router;
use chrono::Duration;
use serde_json::{json, Value};
use std::sync::Arc;
use tocsin_core::{Classification, Timestamp};
use tocsin_server::auth::{required_role, ROUTE_RULES};
use tocsin_server::{router, AppState, Role, Scope};
use tocsin_store::{AuditCtx, Store};
use tocsin_store_sqlite::SqliteStore;

struct Api {
    app: Router,
    store: Arc<dyn Store>,
    _dir: tempfile::TempDir,
}

fn api() -> Api {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open_in_memory().unwrap());
    let engine = reference_engine(store.clone(), dir.path(), t0(), true);
    let state = AppState::new(store.clone())
        .with_clock(t0)
        .with_engine(Arc::new(engine));
    Api {
        app: router(state),
        store,
        _dir: dir,
    }
}

impl Api {
    fn ctx(&self) -> AuditCtx {
        AuditCtx::new("test", t0())
    }

    fn user(&self, name: &str, role: Role) -> i64 {
        self.cleared_user(name, role, Classification::TS)
    }

    fn cleared_user(&self, name: &str, role: Role, clearance: Classification) -> i64 {
        new_user(self.store.as_ref(), name, role, clearance, "USA", t0())
    }

    /// A full-rights token of a new user.
    fn person(&self, name: &str, role: Role, clearance: Classification) -> String {
        let uid = self.cleared_user(name, role, clearance);
        self.token(role, Scope::up_to(role), Some(uid), None).0
    }

    fn token(
        &self,
        role: Role,
        scopes: Vec<Scope>,
        user_id: Option<i64>,
        expires_at: Option<Timestamp>,
    ) -> (String, i64) {
        new_token(self.store.as_ref(), role, scopes, user_id, expires_at, t0())
    }

    async fn call(
        &self,
        method: &Method,
        uri: &str,
        auth: &Auth<'_>,
        body: Option<&Value>,
    ) -> Resp {
        let mut c = call(method.clone(), uri).client_ip("192.0.2.7").auth(auth);
        if uri.starts_with("/taxii2/") {
            c = c.header(header::ACCEPT, "application/taxii+json;version=2.1");
        }
        c.json_opt(body).send(&self.app).await.into()
    }

    /// A console session for a full-rights admin: (cookie secret, CSRF token).
    async fn session(&self) -> (String, String) {
        self.user("route.admin", Role::Admin);
        let r = self
            .call(
                &Method::POST,
                "/auth/login",
                &Auth::None,
                Some(&json!({"username": "route.admin", "password": PASSWORD})),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "login: {}", r.body);
        let secret = r
            .session_secret()
            .expect("the login answer sets the session cookie");
        (secret, r.body["csrf_token"].as_str().unwrap().to_owned())
    }
}

/// Every (METHOD, path template) of the generated document.
fn operations() -> Vec<(Method, String)> {
    let doc: Value =
        serde_json::from_str(&tocsin_server::openapi::document().to_json().unwrap()).unwrap();
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for m in ["get", "post", "put", "patch", "delete"] {
            if item.get(m).is_some() {
                out.push((m.to_uppercase().parse().unwrap(), path.clone()));
            }
        }
    }
    out
}

/// The staff operations: all of `/api/v1/` but the (public) document itself.
fn staff_operations() -> Vec<(Method, String)> {
    operations()
        .into_iter()
        .filter(|(_, p)| p.starts_with("/api/v1/") && p != tocsin_server::openapi::OPENAPI_PATH)
        .collect()
}

/// A path with its parameters filled with plausible values of the reference case. (Refused
/// requests never reach a handler, so these matter only for the let-through check.)
fn fill(path: &str) -> String {
    let collection = path
        .trim_start_matches("/api/v1/")
        .split('/')
        .next()
        .unwrap_or("");
    let id = match collection {
        "threats" => "moscow-2024-03",
        "warnings" => "moscow-2024-03.op-crocus.v1",
        "entities" => "route-access-no-such-entity",
        "audiences" => "op-crocus",
        // Numeric ids that do not exist: a let-through DELETE must not revoke a real token.
        _ => "987654",
    };
    path.replace("{id}", id)
}

fn assert_problem(r: &Resp, status: StatusCode, what: &str) {
    assert_eq!(
        r.status, status,
        "{what}: expected {status}, got {} {}",
        r.status, r.body
    );
    let ct = r
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    assert!(
        ct.starts_with("application/problem+json"),
        "{what}: content type {ct:?}, not problem+json"
    );
    assert_eq!(
        r.body["status"],
        status.as_u16(),
        "{what}: problem body {}",
        r.body
    );
}

fn below(role: Role) -> Option<Role> {
    Role::ALL.into_iter().filter(|r| *r < role).max()
}

#[test]
fn the_rule_table_and_the_document_list_the_same_operations() {
    let ops = staff_operations();
    assert!(
        ops.len() >= 55,
        "the document lists only {} staff operations",
        ops.len()
    );
    let missing: Vec<_> = ops
        .iter()
        .filter(|(m, p)| required_role(m.as_str(), p).is_none())
        .collect();
    assert!(missing.is_empty(), "operations without an access rule in auth::ROUTE_RULES (the server refuses them to everyone): {missing:?}");
    for (m, p, _) in ROUTE_RULES {
        let templ = p
            .split('/')
            .map(|s| {
                s.strip_prefix(':')
                    .map_or(s.to_owned(), |n| format!("{{{n}}}"))
            })
            .collect::<Vec<_>>()
            .join("/");
        assert!(
            ops.iter().any(|(om, op)| om.as_str() == *m && *op == templ),
            "ROUTE_RULES names {m} {p}, which the API does not serve"
        );
    }
}

#[test]
fn the_document_states_each_operations_required_scope() {
    let doc: Value =
        serde_json::from_str(&tocsin_server::openapi::document().to_json().unwrap()).unwrap();
    for (m, p) in staff_operations() {
        let op = &doc["paths"][&p][m.as_str().to_lowercase()];
        let role = required_role(m.as_str(), &p).unwrap();
        assert_eq!(op["x-required-role"], role.as_str(), "{m} {p}");
        assert_eq!(
            op["security"][0]["bearer"],
            json!([Scope::for_role(role).as_str()]),
            "{m} {p}"
        );
    }
}

#[tokio::test]
async fn every_operation_refuses_missing_bad_expired_revoked_and_insufficient_credentials() {
    let api = api();
    let (expired, _) = api.token(
        Role::Admin,
        Scope::ALL.to_vec(),
        None,
        Some(t0() - Duration::seconds(1)),
    );
    let (revoked, revoked_id) = api.token(Role::Admin, Scope::ALL.to_vec(), None, None);
    assert!(api.store.revoke_token(revoked_id, &api.ctx()).unwrap());
    let unknown = format!("tcn_{}", "0".repeat(64));
    let (session, csrf) = api.session().await;

    // Per role: a token with every scope the role can use; an admin token without one scope; an
    // admin token owned by a user of that role (rights are the minimum of token and owner).
    let mut by_role = std::collections::HashMap::new();
    let mut owned_by = std::collections::HashMap::new();
    for role in Role::ALL {
        by_role.insert(role, api.token(role, Scope::up_to(role), None, None).0);
        let uid = api.user(&format!("owner.{}", role.as_str()), role);
        owned_by.insert(
            role,
            api.token(Role::Admin, Scope::ALL.to_vec(), Some(uid), None)
                .0,
        );
    }
    let mut lacking = std::collections::HashMap::new();
    let mut exact = std::collections::HashMap::new();
    for scope in Scope::ALL {
        let others: Vec<Scope> = Scope::ALL.into_iter().filter(|s| *s != scope).collect();
        lacking.insert(scope, api.token(Role::Admin, others, None, None).0);
    }
    for role in Role::ALL {
        exact.insert(
            role,
            api.token(role, vec![Scope::for_role(role)], None, None).0,
        );
    }

    let ops = staff_operations();
    let mut checked = 0;
    for (method, path) in &ops {
        let uri = fill(path);
        let what = |case: &str| format!("{method} {path} ({case})");
        let role = required_role(method.as_str(), path)
            .unwrap_or_else(|| panic!("{method} {path} has no rule in auth::ROUTE_RULES"));
        let scope = Scope::for_role(role);
        // Refused requests do nothing, so a body is not needed; an unsafe method gets one anyway,
        // so a refusal cannot hide behind a body error that would come first.
        let body = (*method != Method::GET).then(|| json!({}));
        let body = body.as_ref();

        let unauthenticated: [(&str, Auth); 7] = [
            ("no credential", Auth::None),
            ("scheme only", Auth::Raw("Bearer")),
            ("other scheme", Auth::Raw("Basic dXNlcjpwYXNzd29yZA==")),
            ("two words", Auth::Raw("Bearer tcn_a tcn_b")),
            ("unknown token", Auth::Bearer(&unknown)),
            ("expired token", Auth::Bearer(&expired)),
            ("revoked token", Auth::Bearer(&revoked)),
        ];
        for (case, auth) in &unauthenticated {
            assert_problem(
                &api.call(method, &uri, auth, body).await,
                StatusCode::UNAUTHORIZED,
                &what(case),
            );
        }
        let bogus_session = Auth::Cookie {
            secret: &"ab".repeat(32),
            csrf: Some("x"),
        };
        assert_problem(
            &api.call(method, &uri, &bogus_session, body).await,
            StatusCode::UNAUTHORIZED,
            &what("unknown session"),
        );

        if let Some(lower) = below(role) {
            assert_problem(
                &api.call(method, &uri, &Auth::Bearer(&by_role[&lower]), body)
                    .await,
                StatusCode::FORBIDDEN,
                &what(&format!("{lower} token")),
            );
            assert_problem(
                &api.call(method, &uri, &Auth::Bearer(&owned_by[&lower]), body)
                    .await,
                StatusCode::FORBIDDEN,
                &what(&format!("admin token of a {lower} user")),
            );
        }
        assert_problem(
            &api.call(method, &uri, &Auth::Bearer(&lacking[&scope]), body)
                .await,
            StatusCode::FORBIDDEN,
            &what(&format!("admin token without the {scope} scope")),
        );
        if *method != Method::GET {
            let no_csrf = Auth::Cookie {
                secret: &session,
                csrf: None,
            };
            assert_problem(
                &api.call(method, &uri, &no_csrf, body).await,
                StatusCode::FORBIDDEN,
                &what("session without X-CSRF-Token"),
            );
            let wrong_csrf = Auth::Cookie {
                secret: &session,
                csrf: Some(&"0".repeat(64)),
            };
            assert_problem(
                &api.call(method, &uri, &wrong_csrf, body).await,
                StatusCode::FORBIDDEN,
                &what("session with a wrong X-CSRF-Token"),
            );
        }
        checked += 1;
    }
    assert_eq!(checked, ops.len());

    // Let through: exactly the required role and scope gets past authentication and authorization
    // (the handler may still answer 404, 409, 422 for this input; never 401 or 403). Last, because
    // these reach the handlers.
    for (method, path) in &ops {
        let role = required_role(method.as_str(), path).unwrap();
        let body = (*method != Method::GET).then(|| json!({}));
        let r = api
            .call(
                method,
                &fill(path),
                &Auth::Bearer(&exact[&role]),
                body.as_ref(),
            )
            .await;
        assert!(
            r.status != StatusCode::UNAUTHORIZED && r.status != StatusCode::FORBIDDEN,
            "{method} {path}: a {role} token with scope {} was refused: {} {}",
            Scope::for_role(role),
            r.status,
            r.body
        );
        assert!(
            !r.status.is_server_error(),
            "{method} {path}: {} {}",
            r.status,
            r.body
        );
    }
    // And the session, with its CSRF token, works on an unsafe method.
    let with_csrf = Auth::Cookie {
        secret: &session,
        csrf: Some(&csrf),
    };
    let r = api
        .call(
            &Method::POST,
            "/api/v1/threats/moscow-2024-03/matches",
            &with_csrf,
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
}

#[tokio::test]
async fn the_account_routes_need_a_credential_and_logout_its_csrf_token() {
    let api = api();
    let (expired, _) = api.token(
        Role::Admin,
        Scope::ALL.to_vec(),
        None,
        Some(t0() - Duration::seconds(1)),
    );
    let (revoked, id) = api.token(Role::Viewer, vec![Scope::Read], None, None);
    api.store.revoke_token(id, &api.ctx()).unwrap();
    let (session, csrf) = api.session().await;
    let account_ops: Vec<_> = operations()
        .into_iter()
        .filter(|(_, p)| p.starts_with("/auth/") && p != "/auth/login")
        .collect();
    assert_eq!(account_ops.len(), 2, "{account_ops:?}");
    for (method, path) in &account_ops {
        for (case, auth) in [
            ("none", Auth::None),
            ("malformed", Auth::Raw("Bearer")),
            ("expired", Auth::Bearer(&expired)),
            ("revoked", Auth::Bearer(&revoked)),
        ] {
            assert_problem(
                &api.call(method, path, &auth, None).await,
                StatusCode::UNAUTHORIZED,
                &format!("{method} {path} ({case})"),
            );
        }
    }
    assert_problem(
        &api.call(
            &Method::POST,
            "/auth/logout",
            &Auth::Cookie {
                secret: &session,
                csrf: None,
            },
            None,
        )
        .await,
        StatusCode::FORBIDDEN,
        "logout without CSRF",
    );
    let me = api
        .call(
            &Method::GET,
            "/auth/me",
            &Auth::Cookie {
                secret: &session,
                csrf: None,
            },
            None,
        )
        .await;
    assert_eq!(
        me.status,
        StatusCode::OK,
        "a safe method needs no CSRF token: {}",
        me.body
    );
    let out = api
        .call(
            &Method::POST,
            "/auth/logout",
            &Auth::Cookie {
                secret: &session,
                csrf: Some(&csrf),
            },
            None,
        )
        .await;
    assert_eq!(out.status, StatusCode::NO_CONTENT);
    assert_problem(
        &api.call(
            &Method::GET,
            "/auth/me",
            &Auth::Cookie {
                secret: &session,
                csrf: None,
            },
            None,
        )
        .await,
        StatusCode::UNAUTHORIZED,
        "me after logout",
    );
}

#[tokio::test]
async fn taxii_routes_refuse_missing_bad_expired_and_revoked_tokens() {
    let api = api();
    let (expired, _) = api.token(
        Role::Admin,
        Scope::ALL.to_vec(),
        None,
        Some(t0() - Duration::seconds(1)),
    );
    let (revoked, id) = api.token(Role::Admin, Scope::ALL.to_vec(), None, None);
    api.store.revoke_token(id, &api.ctx()).unwrap();
    let (good, _) = api.token(Role::Viewer, vec![Scope::Read], None, None);
    let c = "/taxii2/api/collections/00000000-0000-0000-0000-000000000000";
    let routes = [
        "/taxii2/".to_owned(),
        "/taxii2/api/".to_owned(),
        "/taxii2/api/collections/".to_owned(),
        format!("{c}/"),
        format!("{c}/objects/"),
        format!("{c}/objects/indicator--00000000-0000-0000-0000-000000000000/"),
        format!("{c}/objects/indicator--00000000-0000-0000-0000-000000000000/versions/"),
        format!("{c}/manifest/"),
        "/taxii2/api/status/00000000-0000-0000-0000-000000000000/".to_owned(),
    ];
    for uri in &routes {
        for (case, auth) in [
            ("none", Auth::None),
            ("malformed", Auth::Raw("Bearer")),
            ("expired", Auth::Bearer(&expired)),
            ("revoked", Auth::Bearer(&revoked)),
        ] {
            let r = api.call(&Method::GET, uri, &auth, None).await;
            // TAXII 2.1 answers its errors in its own media type (docs/standards.md), not problem+json.
            assert_eq!(
                r.status,
                StatusCode::UNAUTHORIZED,
                "GET {uri} ({case}): {}",
                r.body
            );
            assert!(
                r.headers.get(header::WWW_AUTHENTICATE).is_some(),
                "GET {uri} ({case}) has no WWW-Authenticate"
            );
        }
        let r = api
            .call(&Method::GET, uri, &Auth::Bearer(&good), None)
            .await;
        assert_ne!(
            r.status,
            StatusCode::UNAUTHORIZED,
            "GET {uri} with a valid token: {}",
            r.body
        );
    }
}

#[tokio::test]
async fn a_confidential_user_cannot_change_or_release_a_secret_warning_and_sees_it_withheld() {
    let api = api();
    let t = "/api/v1/threats/moscow-2024-03";
    let ann = api.person("ann", Role::Approver, Classification::TS);
    let bob = api.person("bob", Role::Approver, Classification::TS);
    let sue = api.person("sue", Role::Approver, Classification::S);
    let cal = api.person("cal", Role::Approver, Classification::C);
    let post = |tok: &str, uri: String, body: Option<Value>| {
        let api = &api;
        let tok = tok.to_owned();
        async move {
            api.call(&Method::POST, &uri, &Auth::Bearer(&tok), body.as_ref())
                .await
        }
    };
    assert_eq!(
        post(&ann, format!("{t}/determinations"), None).await.status,
        StatusCode::OK
    );
    assert_eq!(
        post(&bob, format!("{t}/determinations/approve"), None)
            .await
            .status,
        StatusCode::OK
    );
    let r = post(&ann, format!("{t}/warnings"), None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let items = r.body["items"].as_array().unwrap().clone();
    let secret = items
        .iter()
        .find(|w| w["banner"].as_str().unwrap().starts_with("SECRET"))
        .expect("a SECRET warning");
    let wid = secret["id"].as_str().unwrap().to_owned();
    let w = format!("/api/v1/warnings/{wid}");
    let state = || async {
        api.call(&Method::GET, &w, &Auth::Bearer(&ann), None)
            .await
            .body
    };
    let before = state().await;
    assert_eq!(before["state"], "draft", "{before}");

    // Editing the draft: refused, and the draft is untouched.
    let r = api
        .call(
            &Method::PATCH,
            &w,
            &Auth::Bearer(&cal),
            Some(&json!({"headline": "changed by someone who cannot read it"})),
        )
        .await;
    assert_problem(&r, StatusCode::FORBIDDEN, "PATCH by a CONFIDENTIAL user");
    assert!(
        r.body["detail"]
            .as_str()
            .unwrap()
            .contains("above what you may read"),
        "{}",
        r.body
    );
    assert!(
        !r.body
            .to_string()
            .contains(before["text"].as_str().unwrap()),
        "the refusal carries no warning text"
    );
    assert_eq!(state().await, before);

    // Approved by someone cleared for it; then queuing, updating and cancelling are refused to cal.
    assert_eq!(
        post(&sue, format!("{w}/approve"), None).await.status,
        StatusCode::OK
    );
    let approved = state().await;
    assert_eq!(approved["state"], "approved");
    for (op, body) in [
        ("queue", None),
        ("update", None),
        ("cancel", Some(json!({"reason": "no"}))),
    ] {
        let r = post(&cal, format!("{w}/{op}"), body).await;
        assert_problem(
            &r,
            StatusCode::FORBIDDEN,
            &format!("{op} by a CONFIDENTIAL user"),
        );
        assert_eq!(
            r.body["type"], "urn:tocsin:problem:need-to-know",
            "{op}: {}",
            r.body
        );
        assert_eq!(state().await, approved, "{op} changed nothing");
    }
    let versions = api
        .call(
            &Method::GET,
            "/api/v1/warnings?threat=moscow-2024-03",
            &Auth::Bearer(&ann),
            None,
        )
        .await
        .body;
    assert_eq!(
        versions["count"],
        items.len(),
        "no update version was composed: {versions}"
    );
    // What cal reads of it is withheld.
    let seen = api
        .call(&Method::GET, &w, &Auth::Bearer(&cal), None)
        .await
        .body;
    assert_eq!(
        seen["text"],
        json!({"withheld": true, "marking": secret["banner"]}),
        "{seen}"
    );

    // Someone cleared for it may queue, and the answer is shaped for them (a SECRET user reads a
    // SECRET warning whole).
    let r = post(&sue, format!("{w}/queue"), None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["state"], "queued");
    assert!(r.body["text"].is_string(), "{}", r.body);
}
