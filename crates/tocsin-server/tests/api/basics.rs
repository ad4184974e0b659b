//! The HTTP API against a real (in-memory SQLite) store, sent in process (`common::call`).

use crate::common::call;
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::Router;
use chrono::{Duration, TimeZone, Utc};
use serde_json::Value;
use std::sync::Arc;
use tocsin_core::audience::{Audience, AudienceKind, ChannelKind, ChannelSpec};
use tocsin_core::duty::{Criterion, Decision, Determination};
use tocsin_core::lifecycle::WarningEvent;
use tocsin_core::marking::{Classification, TlpLevel};
use tocsin_core::tracking::{GatedWarning, Specificity, TimelineEntry, Warning};
use tocsin_core::{Entity, Match, MatchReason, Threat, Timestamp};
use tocsin_server::{
    bootstrap_admin_token, hash_token, issue_token, router, AppState, Role, TOKEN_PREFIX,
};
use tocsin_store::{AuditCtx, NewDelivery, Store};
use tocsin_store_sqlite::SqliteStore;

use tocsin_testkit::RESTRICTED;

fn t(day: u32, hour: u32) -> Timestamp {
    tocsin_testkit::march(day, hour)
}

fn audience() -> Audience {
    Audience {
        name: "Partner service (RUS)".into(),
        ..tocsin_testkit::audience("fsb", AudienceKind::PartnerService, Classification::S)
    }
}

fn crocus() -> Entity {
    Entity {
        audiences: vec!["fsb".into()],
        ..tocsin_testkit::crocus()
    }
}

/// The reference-shaped threat with its target and portion released to the partner (RUS), as
/// the partner's warning's banner says.
fn threat() -> Threat {
    let rel = tocsin_core::marking::parse_mark("(S//REL TO USA, RUS)").unwrap();
    let mut t = tocsin_testkit::threat("moscow-2024-03");
    t.targets[0].mark = rel.clone();
    t.portions[0].mark = rel;
    t
}

/// The partner's warning as the engine stores it: through the leak gate against [`threat`].
fn warning() -> GatedWarning {
    let w = Warning {
        id: "w-fsb-1".into(),
        tlp: TlpLevel::Red,
        banner: "SECRET//REL TO USA, RUS".into(),
        specificity: Specificity::NamedTarget,
        headline: "Planned attack on Crocus City Hall".into(),
        text: "Extremists plan to attack Crocus City Hall in the coming days.".into(),
        ..tocsin_testkit::warning("moscow-2024-03", &audience())
    };
    GatedWarning::gate(w, &threat(), &audience(), &[])
        .expect("the fixture warning passes the leak gate")
}

/// A store with one audience, one venue, one threat (matched), a determination, one queued
/// warning and two timeline entries (recorded out of order).
fn seeded_store() -> Arc<dyn Store> {
    let store = SqliteStore::open_in_memory().expect("in-memory store");
    let a = AuditCtx::new("test", t(6, 9));
    store.upsert_audiences(&[audience()], &a).unwrap();
    store.upsert_entities(&[crocus()], &a).unwrap();
    store.insert_threat(&threat(), &a).unwrap();
    let m = Match {
        threat_id: "moscow-2024-03".into(),
        entity_id: "crocus-city-hall".into(),
        target: 0,
        score: 1.0,
        reasons: vec![MatchReason {
            descriptor: "name".into(),
            detail: "name 'Crocus City Hall' = name".into(),
        }],
    };
    store
        .replace_matches(&"moscow-2024-03".into(), &[m], &a)
        .unwrap();
    let d = Determination {
        threat_id: "moscow-2024-03".into(),
        decision: Decision::Warn,
        criteria: vec![Criterion {
            name: "credible".into(),
            held: true,
            why: "probable".into(),
        }],
        considerations: vec![],
        proposer: "analyst".into(),
        proposed_at: t(6, 9),
        approver: None,
        approved_at: None,
        deadline: t(7, 9),
    };
    store.insert_determination(&d, &a).unwrap();
    store.insert_warning(&warning(), &a).unwrap();
    let nd = NewDelivery {
        audience_id: "fsb".into(),
        channel: ChannelSpec {
            kind: ChannelKind::File,
            address: "outbox/fsb".into(),
        },
        idempotency_key: "w-fsb-1:fsb:file".into(),
    };
    store
        .advance_warning(&"w-fsb-1".into(), WarningEvent::Approve, &a)
        .unwrap();
    store
        .queue_warning(&"w-fsb-1".into(), &[nd], &AuditCtx::new("test", t(6, 11)))
        .unwrap();
    for (at, event) in [(t(6, 11), "warning_queued"), (t(6, 9), "report_received")] {
        store
            .append_timeline(&TimelineEntry {
                at,
                event: event.into(),
                detail: format!("{event} detail"),
                threat_id: "moscow-2024-03".into(),
            })
            .unwrap();
    }
    Arc::new(store)
}

/// The real "now" of the tests: tokens expire relative to it.
fn now() -> Timestamp {
    Utc.with_ymd_and_hms(2026, 1, 1, 12, 0, 0).unwrap()
}

struct Api {
    app: Router,
    store: Arc<dyn Store>,
    admin: String,
}

fn api() -> Api {
    let store = seeded_store();
    let admin = bootstrap_admin_token(store.as_ref(), None, now())
        .unwrap()
        .expect("first token is generated");
    let app = router(AppState::new(store.clone()).with_clock(now));
    Api { app, store, admin }
}

impl Api {
    fn token(&self, role: Role, expires_at: Option<Timestamp>) -> String {
        issue_token(
            self.store.as_ref(),
            role,
            &format!("test {role}"),
            expires_at,
            &AuditCtx::new("test", now()),
        )
        .unwrap()
    }

    async fn raw(
        &self,
        method: Method,
        uri: &str,
        auth: Option<&str>,
    ) -> (StatusCode, HeaderMap, Value) {
        let mut c = call(method, uri);
        if let Some(a) = auth {
            c = c.header(header::AUTHORIZATION, a);
        }
        let sent = c.send(&self.app).await;
        let body = if sent.bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&sent.bytes).expect("JSON body")
        };
        let (status, headers) = (sent.status, sent.headers);
        (status, headers, body)
    }

    async fn get(&self, uri: &str, token: Option<&str>) -> (StatusCode, HeaderMap, Value) {
        let auth = token.map(|t| format!("Bearer {t}"));
        self.raw(Method::GET, uri, auth.as_deref()).await
    }
}

fn content_type(h: &HeaderMap) -> &str {
    h.get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

fn assert_problem(status: StatusCode, h: &HeaderMap, body: &Value, expected: StatusCode) {
    assert_eq!(status, expected, "{body}");
    assert_eq!(content_type(h), "application/problem+json");
    assert!(
        body["type"].as_str().is_some_and(|s| !s.is_empty()),
        "{body}"
    );
    assert!(body["title"].is_string(), "{body}");
    assert_eq!(body["status"], expected.as_u16(), "{body}");
    assert!(body["detail"].is_string(), "{body}");
}

#[tokio::test]
async fn health_needs_no_token() {
    let api = api();
    let (status, h, body) = api.get("/health", None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(content_type(&h).starts_with("application/json"));
    assert_eq!(body["status"], "ok");
    assert!(body["version"].is_string());
}

#[tokio::test]
async fn threats_without_token_is_401_with_challenge() {
    let api = api();
    let (status, h, body) = api.get("/api/v1/threats", None).await;
    assert_problem(status, &h, &body, StatusCode::UNAUTHORIZED);
    assert!(h[header::WWW_AUTHENTICATE]
        .to_str()
        .unwrap()
        .starts_with("Bearer"));
    // Unknown paths under /api/v1 are authenticated too (no route discovery without a token).
    let (status, _, _) = api.get("/api/v1/no-such-route", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn malformed_or_wrong_token_is_401() {
    let api = api();
    for auth in ["Basic dXNlcjpwYXNz", "Bearer", "Bearer a b", "Token abc"] {
        let (status, h, body) = api.raw(Method::GET, "/api/v1/threats", Some(auth)).await;
        assert_problem(status, &h, &body, StatusCode::UNAUTHORIZED);
        assert!(h.contains_key(header::WWW_AUTHENTICATE), "{auth}");
    }
    let wrong = format!("{TOKEN_PREFIX}{}", "0".repeat(64));
    let (status, h, body) = api.get("/api/v1/threats", Some(&wrong)).await;
    assert_problem(status, &h, &body, StatusCode::UNAUTHORIZED);
    assert!(h[header::WWW_AUTHENTICATE]
        .to_str()
        .unwrap()
        .contains("invalid_token"));
    assert!(
        !body.to_string().contains(&wrong),
        "the token must not be echoed"
    );
}

#[tokio::test]
async fn admin_token_lists_the_threat() {
    let api = api();
    let (status, h, body) = api.get("/api/v1/threats", Some(&api.admin)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(content_type(&h).starts_with("application/json"));
    assert_eq!(h[header::CACHE_CONTROL], "no-store");
    assert_eq!(body["count"], 1);
    let item = &body["items"][0];
    assert_eq!(item["id"], "moscow-2024-03");
    assert_eq!(
        item["title"],
        "Planned attack on large gatherings in Moscow"
    );
    assert_eq!(item["target_count"], 1);
    assert_eq!(
        item["restricted_terms"][0], RESTRICTED,
        "analysts and above see restricted terms"
    );

    let (status, _, one) = api
        .get("/api/v1/threats/moscow-2024-03", Some(&api.admin))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(one["actor"], "ISIS-K");
    assert_eq!(one["portions"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn viewer_sees_no_restricted_terms() {
    let api = api();
    let viewer = api.token(Role::Viewer, None);
    for uri in ["/api/v1/threats", "/api/v1/threats/moscow-2024-03"] {
        let (status, _, body) = api.get(uri, Some(&viewer)).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let threat = if body["items"].is_array() {
            &body["items"][0]
        } else {
            &body
        };
        assert!(threat.get("restricted_terms").is_none(), "{threat}");
        assert_eq!(threat["withheld"][0], "restricted_terms");
        let text = body.to_string();
        assert!(
            !text.to_lowercase().contains(&RESTRICTED.to_lowercase()),
            "{text}"
        );
        assert!(text.contains("[withheld]"), "{text}");
    }
    let analyst = api.token(Role::Analyst, None);
    let (_, _, body) = api
        .get("/api/v1/threats/moscow-2024-03", Some(&analyst))
        .await;
    assert_eq!(body["restricted_terms"][0], RESTRICTED);
}

#[tokio::test]
async fn roles_gate_the_audit_event_list() {
    let api = api();
    let viewer = api.token(Role::Viewer, None);
    let approver = api.token(Role::Approver, None);
    let (status, h, body) = api.get("/api/v1/audit/events", Some(&viewer)).await;
    assert_problem(status, &h, &body, StatusCode::FORBIDDEN);
    let (status, _, _) = api.get("/api/v1/audit/events", Some(&approver)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    let (status, _, summary) = api.get("/api/v1/audit", Some(&viewer)).await;
    assert_eq!(status, StatusCode::OK, "{summary}");
    assert_eq!(summary["verified"], true);
    assert!(summary["count"].as_u64().unwrap() >= 5);
    assert_eq!(summary["head_hash"].as_str().unwrap().len(), 64);
    assert!(summary["break"].is_null());

    let (status, _, events) = api.get("/api/v1/audit/events", Some(&api.admin)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(events["count"], summary["count"]);
    assert_eq!(
        events["items"].as_array().unwrap().last().unwrap()["hash"],
        summary["head_hash"]
    );
    let (_, _, page) = api
        .get("/api/v1/audit/events?after=1&limit=2", Some(&api.admin))
        .await;
    assert_eq!(page["count"], 2);
    assert_eq!(page["items"][0]["seq"], 2);
}

#[tokio::test]
async fn expired_token_is_401_and_live_one_works() {
    let api = api();
    let expired = api.token(Role::Admin, Some(now() - Duration::hours(1)));
    let (status, h, body) = api.get("/api/v1/threats", Some(&expired)).await;
    assert_problem(status, &h, &body, StatusCode::UNAUTHORIZED);
    assert!(body["detail"].as_str().unwrap().contains("expired"));
    let live = api.token(Role::Viewer, Some(now() + Duration::hours(1)));
    let (status, _, _) = api.get("/api/v1/threats", Some(&live)).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn bootstrap_generates_once_and_stores_only_a_hash() {
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open_in_memory().unwrap());
    let secret = bootstrap_admin_token(store.as_ref(), None, now())
        .unwrap()
        .expect("generated");
    assert!(secret.starts_with(TOKEN_PREFIX) && secret.len() == TOKEN_PREFIX.len() + 64);
    assert_eq!(
        bootstrap_admin_token(store.as_ref(), None, now()).unwrap(),
        None,
        "not again"
    );
    assert_eq!(store.token_count().unwrap(), 1);

    let rec = store
        .token_by_hash(&hash_token(&secret))
        .unwrap()
        .expect("stored by hash");
    assert_eq!(rec.role, "admin");
    assert!(!rec.revoked && rec.expires_at.is_none());
    let random_part = &secret[TOKEN_PREFIX.len()..];
    assert!(
        !format!("{rec:?}").contains(random_part),
        "the record holds no secret"
    );
    let audit = serde_json::to_string(&store.audit_events().unwrap()).unwrap();
    assert!(
        !audit.contains(random_part),
        "the audit chain holds no secret"
    );

    let app = router(AppState::new(store.clone()).with_clock(now));
    let sent = call(Method::GET, "/api/v1/threats")
        .bearer(&secret)
        .send(&app)
        .await;
    assert_eq!(sent.status, StatusCode::OK);
}

#[tokio::test]
async fn bootstrap_honours_a_given_token_idempotently() {
    let given = "automation-admin-token-0123456789";
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open_in_memory().unwrap());
    assert_eq!(
        bootstrap_admin_token(store.as_ref(), Some(given), now()).unwrap(),
        None
    );
    assert_eq!(
        bootstrap_admin_token(store.as_ref(), Some(given), now()).unwrap(),
        None
    );
    assert_eq!(store.token_count().unwrap(), 1, "idempotent");
    assert_eq!(
        store
            .token_by_hash(&hash_token(given))
            .unwrap()
            .unwrap()
            .role,
        "admin"
    );
    // With a token already stored, no secret is generated.
    assert_eq!(
        bootstrap_admin_token(store.as_ref(), None, now()).unwrap(),
        None
    );
    let audit = serde_json::to_string(&store.audit_events().unwrap()).unwrap();
    assert!(!audit.contains(given));

    let app = router(AppState::new(store.clone()).with_clock(now));
    let sent = call(Method::GET, "/api/v1/audit/events")
        .bearer(given)
        .send(&app)
        .await;
    assert_eq!(sent.status, StatusCode::OK);

    // Too weak, or already stored with a lower role: refused.
    assert!(bootstrap_admin_token(store.as_ref(), Some("short"), now()).is_err());
    let viewer_secret = "viewer-token-that-is-long-enough";
    store
        .insert_token(
            &hash_token(viewer_secret),
            "viewer",
            "v",
            None,
            &AuditCtx::new("test", now()),
        )
        .unwrap();
    assert!(bootstrap_admin_token(store.as_ref(), Some(viewer_secret), now()).is_err());
}

#[tokio::test]
async fn unknown_ids_are_404_naming_the_id() {
    let api = api();
    for uri in [
        "/api/v1/threats/no-such-threat",
        "/api/v1/threats/no-such-threat/matches",
        "/api/v1/threats/no-such-threat/determinations",
        "/api/v1/warnings?threat=no-such-threat",
        "/api/v1/timeline?threat=no-such-threat",
    ] {
        let (status, h, body) = api.get(uri, Some(&api.admin)).await;
        assert_problem(status, &h, &body, StatusCode::NOT_FOUND);
        assert!(
            body["detail"].as_str().unwrap().contains("no-such-threat"),
            "{uri}: {body}"
        );
    }
    for uri in [
        "/api/v1/warnings/no-such-warning",
        "/api/v1/warnings/no-such-warning/deliveries",
    ] {
        let (status, h, body) = api.get(uri, Some(&api.admin)).await;
        assert_problem(status, &h, &body, StatusCode::NOT_FOUND);
        assert!(body["detail"].as_str().unwrap().contains("no-such-warning"));
    }
    let (status, h, body) = api.get("/api/v1/no-such-route", Some(&api.admin)).await;
    assert_problem(status, &h, &body, StatusCode::NOT_FOUND);
    let (status, h, body) = api.get("/nowhere", None).await;
    assert_problem(status, &h, &body, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn wrong_method_and_bad_query_are_problems() {
    let api = api();
    let auth = format!("Bearer {}", api.admin);
    let (status, h, body) = api
        .raw(Method::DELETE, "/api/v1/threats", Some(&auth))
        .await;
    assert_problem(status, &h, &body, StatusCode::METHOD_NOT_ALLOWED);
    assert!(h.contains_key(header::ALLOW));
    let (status, h, body) = api
        .get("/api/v1/deliveries?status=bogus", Some(&api.admin))
        .await;
    assert_problem(status, &h, &body, StatusCode::BAD_REQUEST);
    let (status, h, body) = api
        .get("/api/v1/audit/events?limit=-1", Some(&api.admin))
        .await;
    assert_problem(status, &h, &body, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn matches_name_their_entities() {
    let api = api();
    let (status, _, body) = api
        .get("/api/v1/threats/moscow-2024-03/matches", Some(&api.admin))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["count"], 1);
    let m = &body["items"][0];
    assert_eq!(m["entity_id"], "crocus-city-hall");
    assert_eq!(m["entity_name"], "Crocus City Hall");
    assert_eq!(m["score"], 1.0);
    assert_eq!(m["reasons"][0]["descriptor"], "name");
}

#[tokio::test]
async fn warnings_deliveries_determinations_timeline_registry() {
    let api = api();
    let tok = Some(api.admin.as_str());
    let (_, _, dets) = api
        .get("/api/v1/threats/moscow-2024-03/determinations", tok)
        .await;
    assert_eq!(dets["count"], 1);
    assert_eq!(dets["items"][0]["decision"], "warn");

    let (_, _, ws) = api.get("/api/v1/warnings?threat=moscow-2024-03", tok).await;
    assert_eq!(ws["count"], 1);
    assert_eq!(ws["items"][0]["id"], "w-fsb-1");
    let (_, _, all) = api.get("/api/v1/warnings", tok).await;
    assert_eq!(all["count"], 1);
    let (status, _, w) = api.get("/api/v1/warnings/w-fsb-1", tok).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(w["headline"], "Planned attack on Crocus City Hall");

    let (_, _, ds) = api.get("/api/v1/warnings/w-fsb-1/deliveries", tok).await;
    assert_eq!(ds["count"], 1);
    assert_eq!(ds["items"][0]["status"], "pending");
    let (_, _, pending) = api.get("/api/v1/deliveries?status=pending", tok).await;
    assert_eq!(pending["count"], 1);
    let (_, _, dead) = api.get("/api/v1/deliveries?status=dead", tok).await;
    assert_eq!(dead["count"], 0);

    let (_, _, tl) = api.get("/api/v1/timeline?threat=moscow-2024-03", tok).await;
    let events: Vec<&str> = tl["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert_eq!(
        events,
        ["report_received", "warning_queued"],
        "ordered by time"
    );

    let (_, _, es) = api.get("/api/v1/entities", tok).await;
    assert_eq!(es["items"][0]["name"], "Crocus City Hall");
    let (_, _, aus) = api.get("/api/v1/audiences", tok).await;
    assert_eq!(aus["items"][0]["id"], "fsb");
}

#[tokio::test]
async fn serves_over_tcp_and_shuts_down_gracefully() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let state = AppState::new(seeded_store());
    let server = tokio::spawn(tocsin_server::serve_on(state, listener, async {
        let _ = stopped.await;
    }));
    let mut conn = tokio::net::TcpStream::connect(addr).await.unwrap();
    conn.write_all(b"GET /health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut resp = String::new();
    conn.read_to_string(&mut resp).await.unwrap();
    assert!(resp.starts_with("HTTP/1.1 200"), "{resp}");
    assert!(resp.contains("\"status\":\"ok\""), "{resp}");
    stop.send(()).unwrap();
    server.await.unwrap().unwrap();
}
