//! People and access: tokens (missing, malformed, expired, revoked, under-scoped) on
//! every route group, console sessions (login, cookie attributes, CSRF, logout, expiry), login rate
//! limiting, the users and tokens admin routes, need to know (portions above a user's clearance
//! are withheld; approvals above it refused) and the two-person rule across credentials.

use crate::common::{call, new_token, new_user, reference_engine, t0, Auth, Resp, PASSWORD};
use axum::http::{header, Method, StatusCode};
use axum::Router;
use chrono::Duration;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use tocsin_core::{Classification, Timestamp};
use tocsin_server::{router, AppState, Role, Scope};
use tocsin_store::Store;
use tocsin_store_sqlite::SqliteStore;

const T: &str = "/api/v1/threats/moscow-2024-03";
struct Api {
    app: Router,
    store: Arc<dyn Store>,
    /// Seconds after t0 the server's clock reads.
    offset: Arc<AtomicI64>,
    _dir: tempfile::TempDir,
}

fn api() -> Api {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open_in_memory().unwrap());
    let engine = reference_engine(store.clone(), dir.path(), t0(), true);
    let offset = Arc::new(AtomicI64::new(0));
    let o = offset.clone();
    let state = AppState::new(store.clone())
        .with_clock(move || t0() + Duration::seconds(o.load(Ordering::SeqCst)))
        .with_engine(Arc::new(engine));
    Api {
        app: router(state),
        store,
        offset,
        _dir: dir,
    }
}

impl Api {
    fn now(&self) -> Timestamp {
        t0() + Duration::seconds(self.offset.load(Ordering::SeqCst))
    }

    fn advance(&self, d: Duration) {
        self.offset.fetch_add(d.num_seconds(), Ordering::SeqCst);
    }

    fn user(&self, name: &str, role: Role, clearance: Classification, nationality: &str) -> i64 {
        new_user(
            self.store.as_ref(),
            name,
            role,
            clearance,
            nationality,
            self.now(),
        )
    }

    fn token(
        &self,
        role: Role,
        scopes: &[Scope],
        user_id: Option<i64>,
        expires_in: Option<Duration>,
    ) -> (String, i64) {
        new_token(
            self.store.as_ref(),
            role,
            scopes.to_vec(),
            user_id,
            expires_in.map(|d| self.now() + d),
            self.now(),
        )
    }

    fn full(&self, role: Role, user_id: Option<i64>) -> String {
        self.token(role, &Scope::up_to(role), user_id, None).0
    }

    async fn call_from(
        &self,
        client: Option<&str>,
        method: Method,
        uri: &str,
        auth: Auth<'_>,
        body: Option<Value>,
    ) -> Resp {
        let mut c = call(method, uri).auth(&auth).json_opt(body.as_ref());
        if let Some(ip) = client {
            c = c.client_ip(ip);
        }
        c.send(&self.app).await.into()
    }

    async fn call(&self, method: Method, uri: &str, auth: Auth<'_>, body: Option<Value>) -> Resp {
        self.call_from(Some("192.0.2.1"), method, uri, auth, body)
            .await
    }

    /// Log in; returns (session secret, csrf token, response).
    async fn login(&self, client: &str, username: &str, password: &str) -> (Option<String>, Resp) {
        let r = self
            .call_from(
                Some(client),
                Method::POST,
                "/auth/login",
                Auth::None,
                Some(json!({"username": username, "password": password})),
            )
            .await;
        (r.session_secret(), r)
    }
}

/// One route per group: viewer, analyst, approver, admin.
fn samples() -> Vec<(Role, Method, String)> {
    vec![
        (Role::Viewer, Method::GET, "/api/v1/threats".into()),
        (Role::Analyst, Method::POST, format!("{T}/determinations")),
        (
            Role::Approver,
            Method::POST,
            format!("{T}/determinations/approve"),
        ),
        (Role::Admin, Method::GET, "/api/v1/users".into()),
    ]
}

#[tokio::test]
async fn every_route_group_refuses_missing_malformed_expired_revoked_and_underscoped_tokens() {
    let api = api();
    let admin = api.full(Role::Admin, None);
    let (expiring, _) = api.token(Role::Admin, &Scope::ALL, None, Some(Duration::hours(1)));
    let (revoked, revoked_id) = api.token(Role::Admin, &Scope::ALL, None, None);
    let (read_only, _) = api.token(Role::Admin, &[Scope::Read], None, None);
    let r = api
        .call(
            Method::DELETE,
            &format!("/api/v1/tokens/{revoked_id}"),
            Auth::Bearer(&admin),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    api.advance(Duration::hours(2));
    for (group, method, uri) in samples() {
        let cases: [(&str, Auth<'_>, &str); 5] = [
            ("missing", Auth::None, "header"),
            ("malformed", Auth::Raw("Token abc"), "malformed"),
            (
                "unknown",
                Auth::Bearer(
                    "tcn_0000000000000000000000000000000000000000000000000000000000000000",
                ),
                "unknown or revoked",
            ),
            ("expired", Auth::Bearer(&expiring), "expired"),
            ("revoked", Auth::Bearer(&revoked), "unknown or revoked"),
        ];
        for (case, auth, detail) in cases {
            let r = api.call(method.clone(), &uri, auth, None).await;
            assert_eq!(
                r.status,
                StatusCode::UNAUTHORIZED,
                "{case} token on {method} {uri} ({group}): {}",
                r.body
            );
            assert!(
                r.body["detail"].as_str().unwrap().contains(detail),
                "{case}: {}",
                r.body
            );
            assert!(r.headers.contains_key(header::WWW_AUTHENTICATE));
        }
        let r = api
            .call(method.clone(), &uri, Auth::Bearer(&read_only), None)
            .await;
        if group == Role::Viewer {
            assert_eq!(r.status, StatusCode::OK, "the read scope reads: {}", r.body);
        } else {
            assert_eq!(
                r.status,
                StatusCode::FORBIDDEN,
                "a read-only admin token on {method} {uri}: {}",
                r.body
            );
            assert!(
                r.body["detail"].as_str().unwrap().contains("scope"),
                "{}",
                r.body
            );
        }
    }
    // A token's role is capped by its owner's: an admin token of a viewer is a viewer token.
    let vid = api.user("vera", Role::Viewer, Classification::TS, "USA");
    let (capped, _) = api.token(Role::Admin, &Scope::ALL, Some(vid), None);
    let r = api
        .call(Method::GET, "/api/v1/users", Auth::Bearer(&capped), None)
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    assert_eq!(
        api.call(Method::GET, "/api/v1/threats", Auth::Bearer(&capped), None)
            .await
            .status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn users_and_tokens_are_managed_by_admins_and_secrets_shown_once() {
    let api = api();
    let admin = api.full(Role::Admin, None);
    let analyst = api.full(Role::Analyst, None);
    let body = json!({"username": "Olga", "role": "approver", "clearance": "SECRET", "nationality": "usa", "password": PASSWORD});
    let r = api
        .call(
            Method::POST,
            "/api/v1/users",
            Auth::Bearer(&analyst),
            Some(body.clone()),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = api
        .call(
            Method::POST,
            "/api/v1/users",
            Auth::Bearer(&admin),
            Some(body.clone()),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(
        (
            r.body["username"].as_str(),
            r.body["clearance"].as_str(),
            r.body["nationality"].as_str()
        ),
        (Some("olga"), Some("S"), Some("USA"))
    );
    assert!(
        !r.body.to_string().contains(PASSWORD) && !r.body.to_string().contains("argon2"),
        "{}",
        r.body
    );
    let olga = r.body["id"].as_i64().unwrap();
    let r = api
        .call(
            Method::POST,
            "/api/v1/users",
            Auth::Bearer(&admin),
            Some(body),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
    for (bad, what) in [
        (
            json!({"username": "x y", "role": "viewer", "clearance": "U", "nationality": "USA"}),
            "username",
        ),
        (
            json!({"username": "p", "role": "viewer", "clearance": "cosmic", "nationality": "USA"}),
            "clearance",
        ),
        (
            json!({"username": "p", "role": "viewer", "clearance": "U", "nationality": "US"}),
            "country",
        ),
        (
            json!({"username": "p", "role": "viewer", "clearance": "U", "nationality": "USA", "password": "short"}),
            "too short",
        ),
    ] {
        let r = api
            .call(
                Method::POST,
                "/api/v1/users",
                Auth::Bearer(&admin),
                Some(bad),
            )
            .await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{what}: {}",
            r.body
        );
        assert!(
            r.body["detail"].as_str().unwrap().contains(what),
            "{what}: {}",
            r.body
        );
    }
    let r = api
        .call(Method::GET, "/api/v1/users", Auth::Bearer(&admin), None)
        .await;
    assert_eq!(r.body["count"], 1);

    // A token for olga, scoped and expiring; its secret is in the answer once, never in the list.
    let r = api
        .call(Method::POST, "/api/v1/tokens", Auth::Bearer(&admin), Some(json!({"label": "olga cli", "role": "approver", "scopes": ["read", "approve"], "expires_in": "30d", "username": "olga"})))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let secret = r.body["token"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("tcn_"));
    assert_eq!(r.body["user_id"].as_i64(), Some(olga));
    assert_eq!(
        r.body["expires_at"],
        json!((api.now() + Duration::days(30)).to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true))
    );
    let id = r.body["id"].as_i64().unwrap();
    let list = api
        .call(Method::GET, "/api/v1/tokens", Auth::Bearer(&admin), None)
        .await;
    assert!(
        !list.body.to_string().contains(&secret[4..]),
        "no secret in the list"
    );
    assert!(
        !list
            .body
            .to_string()
            .contains(&tocsin_server::hash_token(&secret)),
        "no hash in the list"
    );
    let me = api
        .call(Method::GET, "/auth/me", Auth::Bearer(&secret), None)
        .await;
    assert_eq!(me.body["user"]["username"], "olga", "{}", me.body);
    assert_eq!(me.body["scopes"], json!(["read", "approve"]));
    let r = api
        .call(
            Method::POST,
            "/api/v1/tokens",
            Auth::Bearer(&admin),
            Some(json!({"label": "x", "role": "viewer", "scopes": ["admin"]})),
        )
        .await;
    assert_eq!(
        r.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "a scope above the role: {}",
        r.body
    );
    let r = api
        .call(
            Method::POST,
            "/api/v1/tokens",
            Auth::Bearer(&admin),
            Some(json!({"label": "x", "role": "viewer", "expires_in": "soon"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    let r = api
        .call(
            Method::DELETE,
            &format!("/api/v1/tokens/{id}"),
            Auth::Bearer(&admin),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        api.call(Method::GET, "/api/v1/threats", Auth::Bearer(&secret), None)
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    let r = api
        .call(
            Method::DELETE,
            "/api/v1/tokens/9999",
            Auth::Bearer(&admin),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);

    // Disabling a user ends their sessions and tokens.
    let (olga_token, _) = api.token(Role::Approver, &[Scope::Read], Some(olga), None);
    let (session, _) = api.login("192.0.2.7", "olga", PASSWORD).await;
    let session = session.unwrap();
    let r = api
        .call(
            Method::PATCH,
            &format!("/api/v1/users/{olga}"),
            Auth::Bearer(&admin),
            Some(json!({"disabled": true, "clearance": "TS"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        (r.body["disabled"].as_bool(), r.body["clearance"].as_str()),
        (Some(true), Some("TS"))
    );
    assert_eq!(
        api.call(
            Method::GET,
            "/api/v1/threats",
            Auth::Bearer(&olga_token),
            None
        )
        .await
        .status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        api.call(
            Method::GET,
            "/api/v1/threats",
            Auth::Cookie {
                secret: &session,
                csrf: None
            },
            None
        )
        .await
        .status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        api.login("192.0.2.7", "olga", PASSWORD).await.1.status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn console_sessions_use_secure_cookies_and_csrf() {
    let api = api();
    api.user("ann", Role::Analyst, Classification::TS, "USA");
    let (secret, r) = api.login("192.0.2.5", "ANN", PASSWORD).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let secret = secret.expect("a session cookie");
    let cookie = r.headers[header::SET_COOKIE].to_str().unwrap().to_owned();
    for attr in ["HttpOnly", "SameSite=Strict", "Path=/", "Secure"] {
        assert!(
            cookie.split("; ").any(|a| a == attr),
            "{attr} missing: {cookie}"
        );
    }
    assert_eq!(r.body["user"]["username"], "ann");
    assert_eq!(r.body["user"]["role"], "analyst");
    assert_eq!(r.body["user"]["clearance"], "TS");
    assert_eq!(r.body["user"]["nationality"], "USA");
    let csrf = r.body["csrf_token"].as_str().unwrap().to_owned();
    assert!(
        !r.body.to_string().contains(&secret),
        "the session secret is only in the cookie"
    );

    // The cookie authenticates reads; /auth/me gives the CSRF token back (e.g. after a reload).
    assert_eq!(
        api.call(
            Method::GET,
            "/api/v1/threats",
            Auth::Cookie {
                secret: &secret,
                csrf: None
            },
            None
        )
        .await
        .status,
        StatusCode::OK
    );
    let me = api
        .call(
            Method::GET,
            "/auth/me",
            Auth::Cookie {
                secret: &secret,
                csrf: None,
            },
            None,
        )
        .await;
    assert_eq!(me.body["csrf_token"].as_str(), Some(csrf.as_str()));
    assert_eq!(me.body["credential"], "session");

    // Unsafe methods need the CSRF header, and the right one.
    let uri = format!("{T}/determinations");
    let r = api
        .call(
            Method::POST,
            &uri,
            Auth::Cookie {
                secret: &secret,
                csrf: None,
            },
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    assert!(r.body["detail"].as_str().unwrap().contains("X-CSRF-Token"));
    let r = api
        .call(
            Method::POST,
            &uri,
            Auth::Cookie {
                secret: &secret,
                csrf: Some(&"0".repeat(64)),
            },
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    let r = api
        .call(
            Method::POST,
            &uri,
            Auth::Cookie {
                secret: &secret,
                csrf: Some(&csrf),
            },
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(
        r.body["proposer"].as_str().unwrap().starts_with("user:"),
        "{}",
        r.body
    );
    // A session's role still bounds it: an analyst cannot approve.
    let r = api
        .call(
            Method::POST,
            &format!("{uri}/approve"),
            Auth::Cookie {
                secret: &secret,
                csrf: Some(&csrf),
            },
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);

    // Idle expiry: 31 minutes without a request end the session.
    api.advance(Duration::minutes(31));
    assert_eq!(
        api.call(
            Method::GET,
            "/api/v1/threats",
            Auth::Cookie {
                secret: &secret,
                csrf: None
            },
            None
        )
        .await
        .status,
        StatusCode::UNAUTHORIZED
    );

    // Absolute expiry: a session kept busy still ends after 12 hours.
    let (secret, _) = api.login("192.0.2.5", "ann", PASSWORD).await;
    let (secret, opened) = (secret.unwrap(), api.now());
    let mut last = StatusCode::OK;
    for _ in 0..30 {
        api.advance(Duration::minutes(29));
        last = api
            .call(
                Method::GET,
                "/auth/me",
                Auth::Cookie {
                    secret: &secret,
                    csrf: None,
                },
                None,
            )
            .await
            .status;
        if last != StatusCode::OK {
            break;
        }
    }
    assert_eq!(last, StatusCode::UNAUTHORIZED, "a busy session still ends");
    let lived = api.now() - opened;
    assert!(
        lived >= Duration::hours(12) && lived < Duration::hours(12) + Duration::minutes(29),
        "ended after {lived}, not at 12 h"
    );

    // Logout needs CSRF like any POST, then the cookie is dead and cleared.
    let (secret, r) = api.login("192.0.2.5", "ann", PASSWORD).await;
    let (secret, csrf) = (
        secret.unwrap(),
        r.body["csrf_token"].as_str().unwrap().to_owned(),
    );
    assert_eq!(
        api.call(
            Method::POST,
            "/auth/logout",
            Auth::Cookie {
                secret: &secret,
                csrf: None
            },
            None
        )
        .await
        .status,
        StatusCode::FORBIDDEN
    );
    let r = api
        .call(
            Method::POST,
            "/auth/logout",
            Auth::Cookie {
                secret: &secret,
                csrf: Some(&csrf),
            },
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert!(r.headers[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .contains("Max-Age=0"));
    assert_eq!(
        api.call(
            Method::GET,
            "/api/v1/threats",
            Auth::Cookie {
                secret: &secret,
                csrf: None
            },
            None
        )
        .await
        .status,
        StatusCode::UNAUTHORIZED
    );
    // A made-up cookie is refused, not ignored.
    let r = api
        .call(
            Method::GET,
            "/api/v1/threats",
            Auth::Cookie {
                secret: &"ab".repeat(32),
                csrf: None,
            },
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn logins_fail_alike_and_are_rate_limited() {
    let api = api();
    api.user("ann", Role::Viewer, Classification::U, "USA");
    let (s, wrong) = api
        .login("198.51.100.1", "ann", "not the password at all")
        .await;
    assert!(s.is_none());
    let (_, unknown) = api
        .login("198.51.100.1", "nobody", "not the password at all")
        .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        wrong.body, unknown.body,
        "an unknown user and a wrong password look the same"
    );
    // Per username: 5 failures (from anywhere) lock it; even the right password is refused then.
    for i in 2..=5 {
        let (_, r) = api
            .login(&format!("198.51.100.{i}"), "ann", "still not the password")
            .await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    }
    let (s, r) = api.login("198.51.100.9", "ann", PASSWORD).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.body);
    assert!(s.is_none());
    let retry: i64 = r.headers[header::RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=900).contains(&retry), "{retry}");
    assert!(r.body["detail"].as_str().unwrap().contains("username"));
    api.advance(Duration::seconds(retry));
    let (s, r) = api.login("198.51.100.9", "ann", PASSWORD).await;
    assert_eq!(
        r.status,
        StatusCode::OK,
        "after Retry-After the right password works: {}",
        r.body
    );
    assert!(s.is_some());
    // Per client: one address trying many usernames is stopped too.
    for i in 0..5 {
        let (_, r) = api
            .login("203.0.113.66", &format!("guess{i}"), "whatever password")
            .await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    }
    let (_, r) = api.login("203.0.113.66", "ann", PASSWORD).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(r.body["detail"].as_str().unwrap().contains("address"));
    let (_, r) = api.login("203.0.113.67", "ann", PASSWORD).await;
    assert_eq!(r.status, StatusCode::OK, "another address is not affected");
    // Failures are in the audit chain, passwords nowhere in it.
    let events = api.store.audit_events().unwrap();
    assert!(events.iter().filter(|e| e.action == "login.failed").count() >= 10);
    assert!(events.iter().all(|e| !format!("{e:?}").contains(PASSWORD)));
}

/// Attempts are decided and counted in one store transaction: eight wrong passwords sent at once
/// cost eight attempts — five are checked (401), the rest refused (429) — and the next one, even
/// with the right password, is refused.
#[tokio::test]
async fn parallel_logins_are_counted_atomically() {
    let api = api();
    api.user("ann", Role::Viewer, Classification::U, "USA");
    // Enough password checks for all eight at once: only the attempt count may refuse them.
    let app = router(AppState::new(api.store.clone()).with_password_checks(16));
    let tries = (0..8).map(|i| {
        let app = app.clone();
        async move {
            call(Method::POST, "/auth/login")
                .client_ip(&format!("198.51.100.{i}"))
                .json(&json!({"username": "ann", "password": "not the password at all"}))
                .send(&app)
                .await
                .status
        }
    });
    let statuses = futures_join_all(tries.collect()).await;
    let checked = statuses
        .iter()
        .filter(|s| **s == StatusCode::UNAUTHORIZED)
        .count();
    let refused = statuses
        .iter()
        .filter(|s| **s == StatusCode::TOO_MANY_REQUESTS)
        .count();
    assert_eq!((checked, refused), (5, 3), "{statuses:?}");
    let r = call(Method::POST, "/auth/login")
        .client_ip("198.51.100.99")
        .json(&json!({"username": "ann", "password": PASSWORD}))
        .send(&app)
        .await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.text());
    let attempts = api
        .store
        .login_attempts("ann", "none", api.now() - Duration::hours(1))
        .unwrap();
    assert_eq!(attempts.len(), 5, "refused attempts are not counted twice");
}

/// Password checks (Argon2) beyond the bound are refused at once with 429 and `Retry-After`,
/// without queueing and without counting as an attempt.
#[tokio::test]
async fn password_checks_beyond_the_bound_are_refused() {
    let api = api();
    api.user("ann", Role::Viewer, Classification::U, "USA");
    let app = router(AppState::new(api.store.clone()).with_password_checks(1));
    let tries = (0..4).map(|i| {
        let app = app.clone();
        async move {
            call(Method::POST, "/auth/login")
                .client_ip(&format!("198.51.100.{i}"))
                .json(&json!({"username": "ann", "password": PASSWORD}))
                .send(&app)
                .await
        }
    });
    let sent = futures_join_all(tries.collect()).await;
    let ok = sent.iter().filter(|s| s.status == StatusCode::OK).count();
    let busy: Vec<_> = sent
        .iter()
        .filter(|s| s.status == StatusCode::TOO_MANY_REQUESTS)
        .collect();
    assert!(ok >= 1, "one check runs");
    assert!(!busy.is_empty(), "the others are refused, not queued");
    for b in &busy {
        assert_eq!(b.headers[header::RETRY_AFTER], "1");
        assert_eq!(b.content_type(), "application/problem+json");
    }
    assert_eq!(ok + busy.len(), 4);
}

/// Run futures concurrently on this task (no extra crate): poll all until each is done.
async fn futures_join_all<F: std::future::Future>(futs: Vec<F>) -> Vec<F::Output> {
    let mut futs: Vec<std::pin::Pin<Box<F>>> = futs.into_iter().map(Box::pin).collect();
    let mut out: Vec<Option<F::Output>> = futs.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (f, o) in futs.iter_mut().zip(out.iter_mut()) {
            if o.is_none() {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => *o = Some(v),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    out.into_iter()
        .map(|o| o.expect("polled to completion"))
        .collect()
}

/// No admin grants more than they hold: a SECRET-cleared admin cannot raise their own clearance,
/// create or promote a user above SECRET or of another nationality, mint a token for a
/// TOP SECRET user, or mint a token with no owner (which reads everything). A second admin cleared
/// for it can.
#[tokio::test]
async fn an_admin_cannot_grant_more_than_they_hold() {
    let api = api();
    let sid = api.user("sid", Role::Admin, Classification::S, "USA");
    let tina = api.user("tina", Role::Admin, Classification::TS, "USA");
    let top = api.user("top", Role::Viewer, Classification::TS, "USA");
    let sid_t = api.full(Role::Admin, Some(sid));
    let tina_t = api.full(Role::Admin, Some(tina));
    let patch = |who: i64, body: Value| {
        let t = sid_t.clone();
        let api = &api;
        async move {
            api.call(
                Method::PATCH,
                &format!("/api/v1/users/{who}"),
                Auth::Bearer(&t),
                Some(body),
            )
            .await
        }
    };
    let r = patch(sid, json!({"clearance": "TS"})).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    assert!(r.body["detail"].as_str().unwrap().contains("another admin"));
    let r = patch(sid, json!({"nationality": "RUS"})).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    let r = patch(sid, json!({"clearance": "C"})).await;
    assert_eq!(r.status, StatusCode::OK, "lowering is fine: {}", r.body);
    let r = patch(top, json!({"role": "analyst"})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    for body in [
        json!({"username": "newts", "role": "viewer", "clearance": "TS", "nationality": "USA"}),
        json!({"username": "newrus", "role": "viewer", "clearance": "U", "nationality": "RUS"}),
    ] {
        let r = api
            .call(
                Method::POST,
                "/api/v1/users",
                Auth::Bearer(&sid_t),
                Some(body),
            )
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    }
    for body in [
        json!({"label": "x", "role": "viewer"}),
        json!({"label": "x", "role": "viewer", "username": "top"}),
    ] {
        let r = api
            .call(
                Method::POST,
                "/api/v1/tokens",
                Auth::Bearer(&sid_t),
                Some(body),
            )
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    }
    assert_eq!(
        api.store.user(sid).unwrap().unwrap().clearance,
        Classification::C,
        "only the lowering went through"
    );
    // The second admin, cleared for it.
    let r = api
        .call(
            Method::PATCH,
            &format!("/api/v1/users/{sid}"),
            Auth::Bearer(&tina_t),
            Some(json!({"clearance": "TS"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = api
        .call(
            Method::POST,
            "/api/v1/tokens",
            Auth::Bearer(&tina_t),
            Some(json!({"label": "x", "role": "viewer", "username": "top"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let r = api
        .call(
            Method::POST,
            "/api/v1/tokens",
            Auth::Bearer(&tina_t),
            Some(json!({"label": "x", "role": "viewer"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "owner-less: {}", r.body);
    let r = api
        .call(
            Method::POST,
            "/api/v1/tokens",
            Auth::Bearer(&api.full(Role::Admin, None)),
            Some(json!({"label": "x", "role": "viewer"})),
        )
        .await;
    assert_eq!(
        r.status,
        StatusCode::CREATED,
        "the unrestricted operator may: {}",
        r.body
    );
}

fn portion_texts(threat: &Value) -> Vec<Value> {
    threat["portions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["text"].clone())
        .collect()
}

#[tokio::test]
async fn portions_above_a_users_clearance_are_withheld() {
    let api = api();
    let c = api.user("cora", Role::Viewer, Classification::C, "USA");
    let s = api.user("sam", Role::Analyst, Classification::S, "USA");
    let ts = api.user("tess", Role::Analyst, Classification::TS, "USA");
    let r = api.user("rus", Role::Analyst, Classification::TS, "RUS");
    let api = &api;
    let get = |tok: String| async move {
        api.call(Method::GET, T, Auth::Bearer(&tok), None)
            .await
            .body
    };

    // CONFIDENTIAL: every SECRET and TOP SECRET portion is withheld; the tearline (U) is shown.
    let v = get(api.full(Role::Viewer, Some(c))).await;
    let texts = portion_texts(&v);
    assert_eq!(
        texts[0],
        json!({"withheld": true, "marking": "(S//NF)"}),
        "{v}"
    );
    assert_eq!(texts[1]["withheld"], true);
    assert_eq!(
        texts[2],
        json!({"withheld": true, "marking": "(S//REL TO USA, RUS)"})
    );
    assert!(
        texts[4].as_str().unwrap().contains("large gatherings"),
        "the (U) tearline is readable"
    );
    assert_eq!(
        v["actor"]["withheld"], true,
        "the actor is (S//REL TO USA, RUS)"
    );
    assert_eq!(
        v["targets"][0],
        json!({"mark": v["targets"][0]["mark"], "label": {"withheld": true, "marking": "(S//REL TO USA, RUS)"}})
    );
    assert_eq!(
        v["targets"][2]["label"],
        "large gatherings in Moscow, including concerts"
    );
    assert!(
        !v.to_string().contains("Crocus"),
        "no SECRET target name reaches a CONFIDENTIAL user: {v}"
    );
    // Matches of a withheld target are withheld with it.
    let m = api
        .call(
            Method::GET,
            &format!("{T}/matches"),
            Auth::Bearer(&api.full(Role::Viewer, Some(c))),
            None,
        )
        .await
        .body;
    let items = m["items"].as_array().unwrap();
    assert!(items.iter().any(|i| i["target"] == 0), "{m}");
    assert!(items.iter().filter(|i| i["target"] == 0 || i["target"] == 1).all(|i| i == &json!({"target": i["target"], "withheld": true, "marking": "(S//REL TO USA, RUS)"})), "{m}");
    // Crocus still appears as a match of the unclassified "large gatherings" target, as it should.
    assert!(items
        .iter()
        .filter(|i| i["target"] == 2)
        .all(|i| i["entity_id"].is_string()));
    assert!(!m.to_string().contains("synagogue"), "{m}");
    // The timeline's free-text details are written from the whole case: withheld from her, with
    // what happened and when still shown; a TOP SECRET user reads them.
    let tl = |tok: String| async move {
        api.call(Method::GET, "/api/v1/timeline", Auth::Bearer(&tok), None)
            .await
            .body
    };
    let v = tl(api.full(Role::Viewer, Some(c))).await;
    let entries = v["items"].as_array().unwrap();
    assert!(
        !entries.is_empty()
            && entries
                .iter()
                .all(|e| e["detail"]["withheld"] == true && e["event"].is_string()),
        "{v}"
    );
    assert!(!v.to_string().contains("Crocus"), "{v}");
    let v = tl(api.full(Role::Analyst, Some(ts))).await;
    assert!(
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["detail"].is_string()),
        "{v}"
    );

    // SECRET: the SECRET portions are there, the TOP SECRET one is not; and the restricted terms,
    // as sensitive as the most restrictive portion (TS), are hidden from this analyst.
    let v = get(api.full(Role::Analyst, Some(s))).await;
    let texts = portion_texts(&v);
    assert!(
        texts[0]
            .as_str()
            .unwrap()
            .contains("A sensitive human source, [withheld], with"),
        "{v}"
    );
    assert!(!v.to_string().contains("CARDINAL SPARROW"), "{v}");
    assert_eq!(v["withheld"], json!(["restricted_terms"]), "{v}");
    let v = get(api.full(Role::Analyst, Some(ts))).await;
    assert!(v.to_string().contains("CARDINAL SPARROW"), "{v}");
    assert!(v["restricted_terms"].is_array(), "{v}");
    let v = get(api.full(Role::Analyst, Some(s))).await;
    assert!(texts[2].as_str().unwrap().contains("Crocus City Hall"));
    assert_eq!(
        texts[1],
        json!({"withheld": true, "marking": "(TS//SI//NF)"})
    );
    assert_eq!(v["actor"], "ISIS-K");

    // TOP SECRET US national: everything. TOP SECRET Russian national: NOFORN withheld, REL TO RUS shown.
    let v = get(api.full(Role::Analyst, Some(ts))).await;
    assert!(portion_texts(&v).iter().all(Value::is_string), "{v}");
    let v = get(api.full(Role::Analyst, Some(r))).await;
    let texts = portion_texts(&v);
    assert_eq!(
        texts[0]["withheld"], true,
        "NOFORN is withheld from a foreign national"
    );
    assert!(
        texts[2].as_str().unwrap().contains("Crocus"),
        "REL TO USA, RUS is readable by a Russian national"
    );
    // A staff token with no user has the server's default: full clearance.
    let v = get(api.full(Role::Viewer, None)).await;
    assert!(portion_texts(&v).iter().all(Value::is_string), "{v}");
}

#[tokio::test]
async fn approvals_need_the_clearance_and_a_second_person() {
    let api = api();
    let ann = api.user("ann", Role::Approver, Classification::TS, "USA");
    let bob = api.user("bob", Role::Approver, Classification::TS, "USA");
    let sue = api.user("sue", Role::Approver, Classification::S, "USA");
    let (ann1, ann2) = (
        api.full(Role::Approver, Some(ann)),
        api.full(Role::Approver, Some(ann)),
    );
    let r = api
        .call(
            Method::POST,
            &format!("{T}/determinations"),
            Auth::Bearer(&ann1),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["proposer"], format!("user:{ann}:ann"));
    // The same person through another token, or through a console session, is still the proposer.
    let r = api
        .call(
            Method::POST,
            &format!("{T}/determinations/approve"),
            Auth::Bearer(&ann2),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
    assert!(
        r.body["detail"]
            .as_str()
            .unwrap()
            .contains("two-person rule"),
        "{}",
        r.body
    );
    let (secret, login) = api.login("192.0.2.9", "ann", PASSWORD).await;
    let csrf = login.body["csrf_token"].as_str().unwrap().to_owned();
    let r = api
        .call(
            Method::POST,
            &format!("{T}/determinations/approve"),
            Auth::Cookie {
                secret: &secret.unwrap(),
                csrf: Some(&csrf),
            },
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
    // Sue may approve by role but is cleared only to SECRET, and the threat holds a TS portion.
    let r = api
        .call(
            Method::POST,
            &format!("{T}/determinations/approve"),
            Auth::Bearer(&api.full(Role::Approver, Some(sue))),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    assert!(
        r.body["detail"]
            .as_str()
            .unwrap()
            .contains("cannot approve what you cannot see"),
        "{}",
        r.body
    );
    assert!(
        r.body["detail"].as_str().unwrap().contains("(TS"),
        "the marking is named: {}",
        r.body
    );
    let r = api
        .call(
            Method::POST,
            &format!("{T}/determinations/approve"),
            Auth::Bearer(&api.full(Role::Approver, Some(bob))),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);

    // Composing returns drafts: a composer cleared only to CONFIDENTIAL gets the SECRET ones withheld.
    let cid = api.user("cal", Role::Approver, Classification::C, "USA");
    let cal = api.full(Role::Approver, Some(cid));
    let r = api
        .call(
            Method::POST,
            &format!("{T}/warnings"),
            Auth::Bearer(&cal),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let drafts = r.body["items"].as_array().unwrap();
    assert!(
        drafts
            .iter()
            .any(|w| w["banner"].as_str().unwrap().starts_with("SECRET")),
        "{}",
        r.body
    );
    for w in drafts {
        let secret = w["banner"].as_str().unwrap().starts_with("SECRET");
        assert_eq!(
            w["text"].is_object(),
            secret,
            "SECRET drafts withheld, others shown: {w}"
        );
    }
    // Warnings: a SECRET-bannered warning cannot be approved by a CONFIDENTIAL approver.
    let r = api
        .call(
            Method::POST,
            &format!("{T}/warnings"),
            Auth::Bearer(&ann1),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let items = r.body["items"].as_array().unwrap().clone();
    let secret_w = items
        .iter()
        .find(|w| w["banner"].as_str().unwrap().starts_with("SECRET"))
        .expect("a SECRET warning");
    let wid = secret_w["id"].as_str().unwrap();
    let r = api
        .call(
            Method::POST,
            &format!("/api/v1/warnings/{wid}/approve"),
            Auth::Bearer(&cal),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    // ...who also does not see its text.
    let r = api
        .call(
            Method::GET,
            &format!("/api/v1/warnings/{wid}"),
            Auth::Bearer(&cal),
            None,
        )
        .await;
    assert_eq!(r.body["text"]["withheld"], true, "{}", r.body);
    assert_eq!(r.body["text"]["marking"], secret_w["banner"]);
    let r = api
        .call(
            Method::POST,
            &format!("/api/v1/warnings/{wid}/approve"),
            Auth::Bearer(&api.full(Role::Approver, Some(sue))),
            None,
        )
        .await;
    assert_eq!(
        r.status,
        StatusCode::OK,
        "a SECRET approver may: {}",
        r.body
    );
}

#[tokio::test]
async fn taxii_collections_are_closed_to_tokens_carrying_a_clearance() {
    // TAXII serves whole STIX objects, with nothing to withhold piecemeal: a user's token reads
    // through /api/v1 (need to know applied) and sees no collection; a token with no user does.
    let api = api();
    let ts = api.user("tess", Role::Admin, Classification::TS, "USA");
    let taxii = |tok: String| {
        let app = api.app.clone();
        async move {
            let sent = call(Method::GET, "/taxii2/api/collections/")
                .bearer(&tok)
                .header(header::ACCEPT, "application/taxii+json;version=2.1")
                .send(&app)
                .await;
            (sent.status, sent.json())
        }
    };
    let (s, staff) = taxii(api.full(Role::Viewer, None)).await;
    assert_eq!(s, StatusCode::OK, "{staff}");
    assert!(
        !staff["collections"].as_array().unwrap().is_empty(),
        "{staff}"
    );
    let (s, user) = taxii(api.full(Role::Admin, Some(ts))).await;
    assert_eq!(s, StatusCode::OK, "{user}");
    assert!(user["collections"].as_array().unwrap().is_empty(), "{user}");
    // Scopes hold here too: a staff token without `read` reads no collection.
    let (s, no_read) = taxii(api.token(Role::Approver, &[Scope::Approve], None, None).0).await;
    assert_eq!(s, StatusCode::OK, "{no_read}");
    assert!(
        no_read["collections"].as_array().unwrap().is_empty(),
        "{no_read}"
    );
}
