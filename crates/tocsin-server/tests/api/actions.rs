//! Write routes and recipients' one-time links, over a real engine and store.

use crate::common::{call, reference_engine};
use axum::http::{Method, StatusCode};
use axum::Router;
use chrono::{TimeZone, Utc};
use serde_json::{json, Value};
use std::sync::Arc;
use tocsin_core::Timestamp;
use tocsin_engine::Engine;
use tocsin_server::{issue_token, router, AppState, Role};
use tocsin_store::{AuditCtx, Store};
use tocsin_store_sqlite::SqliteStore;

fn now() -> Timestamp {
    Utc.with_ymd_and_hms(2024, 3, 6, 9, 0, 0).unwrap()
}

struct Api {
    app: Router,
    store: Arc<dyn Store>,
    engine: Arc<Engine>,
    _dir: tempfile::TempDir,
}

fn api() -> Api {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open_in_memory().unwrap());
    let engine = Arc::new(reference_engine(store.clone(), dir.path(), now(), true));
    let app = router(
        AppState::new(store.clone())
            .with_clock(now)
            .with_engine(engine.clone()),
    );
    Api {
        app,
        store,
        engine,
        _dir: dir,
    }
}

impl Api {
    fn token(&self, role: Role, label: &str) -> String {
        issue_token(
            self.store.as_ref(),
            role,
            label,
            None,
            &AuditCtx::new("test", now()),
        )
        .unwrap()
    }

    async fn call(
        &self,
        method: Method,
        uri: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let sent = call(method, uri)
            .bearer_opt(token)
            .json_opt(body.as_ref())
            .send(&self.app)
            .await;
        (sent.status, sent.json())
    }
}

const T: &str = "/api/v1/threats/moscow-2024-03";

#[tokio::test]
async fn roles_and_the_two_person_rule_hold_on_write_routes() {
    let api = api();
    let viewer = api.token(Role::Viewer, "v");
    let approver1 = api.token(Role::Approver, "a1");
    let approver2 = api.token(Role::Approver, "a2");
    let (s, _) = api
        .call(Method::POST, &format!("{T}/determinations"), None, None)
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, _) = api
        .call(
            Method::POST,
            &format!("{T}/determinations"),
            Some(&viewer),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "a viewer cannot propose");
    let (s, d) = api
        .call(
            Method::POST,
            &format!("{T}/determinations"),
            Some(&approver1),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{d}");
    assert_eq!(d["decision"], "warn");
    let (s, p) = api
        .call(
            Method::POST,
            &format!("{T}/determinations/approve"),
            Some(&approver1),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "self-approval refused: {p}");
    assert!(p["detail"]
        .as_str()
        .unwrap()
        .contains("cannot also approve"));
    let (s, d) = api
        .call(
            Method::POST,
            &format!("{T}/determinations/approve"),
            Some(&approver2),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{d}");
    let (s, w) = api
        .call(
            Method::POST,
            &format!("{T}/warnings"),
            Some(&approver1),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{w}");
    assert_eq!(w["count"], 3);
    let (s, _) = api
        .call(
            Method::POST,
            "/api/v1/warnings/moscow-2024-03.op-crocus.v1/approve",
            Some(&viewer),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, b) = api
        .call(
            Method::POST,
            "/api/v1/warnings/nope/approve",
            Some(&approver2),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{b}");
    let (s, b) = api
        .call(
            Method::POST,
            &format!("{T}/determinations/waive"),
            Some(&approver1),
            Some(json!({"justification": "busy", "rationale": "x"})),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{b}");
    assert!(b["detail"].as_str().unwrap().contains("not in the policy"));
    let (s, r) = api
        .call(
            Method::GET,
            "/api/v1/reports/effectiveness?from=2024-03-01&to=2024-03-31",
            Some(&viewer),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{r}");
    assert_eq!(r["threats"], 1);
}

#[tokio::test]
async fn recipient_links_work_once_without_a_token() {
    let api = api();
    let a1 = api.token(Role::Approver, "a1");
    let a2 = api.token(Role::Approver, "a2");
    api.call(
        Method::POST,
        &format!("{T}/determinations"),
        Some(&a1),
        None,
    )
    .await;
    api.call(
        Method::POST,
        &format!("{T}/determinations/approve"),
        Some(&a2),
        None,
    )
    .await;
    let (_, w) = api
        .call(Method::POST, &format!("{T}/warnings"), Some(&a1), None)
        .await;
    let crocus = w["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["audience_id"] == "op-crocus")
        .unwrap();
    // A link is the recipient's credential: the API never shows it; the recipient's copy (the
    // stored text the channels send) has it.
    let api_text = crocus["text"].as_str().unwrap();
    assert!(
        api_text.contains("/r/[withheld]") && !api_text.contains("/r/ey"),
        "{api_text}"
    );
    let stored = api
        .store
        .warning(&crocus["id"].as_str().unwrap().into())
        .unwrap()
        .unwrap();
    // Editing the draft as read (links withheld) keeps the stored links.
    let (s, edited) = api
        .call(
            Method::PATCH,
            &format!("/api/v1/warnings/{}", crocus["id"].as_str().unwrap()),
            Some(&a1),
            Some(json!({"text": format!("{api_text}\nEdited.")})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{edited}");
    let after = api
        .store
        .warning(&crocus["id"].as_str().unwrap().into())
        .unwrap()
        .unwrap();
    assert_eq!(after.text, format!("{}\nEdited.", stored.text));
    let text = after.text.as_str();
    let marker = "Подтвердить получение: "; // op-crocus reads Russian
    let url = text[text.find(marker).unwrap() + marker.len()..]
        .split_whitespace()
        .next()
        .unwrap();
    let path = &url[url.find("/r/").unwrap()..];
    // Approve and deliver before the recipient can acknowledge.
    let id = crocus["id"].as_str().unwrap();
    let (s, _) = api
        .call(
            Method::POST,
            &format!("/api/v1/warnings/{id}/approve"),
            Some(&a2),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, info) = api.call(Method::GET, path, None, None).await;
    assert_eq!(s, StatusCode::OK, "{info}");
    assert_eq!(info["purpose"], "acknowledge");
    // Not yet delivered: the lifecycle refuses, and the refused use leaves the link usable.
    let (s, b) = api.call(Method::POST, path, None, Some(json!({}))).await;
    assert_eq!(s, StatusCode::CONFLICT, "{b}");
    api.engine.tick(now()).unwrap();
    assert_eq!(
        api.store.deliveries(None).unwrap().len(),
        1,
        "only the approved warning goes out"
    );
    let (s, out) = api.call(Method::POST, path, None, Some(json!({}))).await;
    assert_eq!(s, StatusCode::OK, "{out}");
    assert_eq!(out["recorded"], "acknowledgement");
    assert_eq!(info["state"], "valid");
    // A client that timed out sends the same request again: the same answer and next link.
    let (s, again) = api.call(Method::POST, path, None, Some(json!({}))).await;
    assert_eq!(s, StatusCode::OK, "{again}");
    assert_eq!(again, out);
    assert_eq!(api.store.acknowledgements(None).unwrap().len(), 1);
    let (s, info) = api.call(Method::GET, path, None, None).await;
    assert_eq!(s, StatusCode::OK, "{info}");
    assert_eq!(info["state"], "spent");
    assert!(info["used_at"].is_string() && info["replay_until"].is_string());
    // The returned posture link reports measures once.
    let next = out["next_posture_link"].as_str().unwrap();
    let ppath = &next[next.find("/r/").unwrap()..];
    let (s, b) = api.call(Method::POST, ppath, None, Some(json!({}))).await;
    assert_eq!(
        s,
        StatusCode::BAD_REQUEST,
        "an empty posture report is refused: {b}"
    );
    let (s, b) = api
        .call(
            Method::POST,
            ppath,
            None,
            Some(json!({"measures": ["extra_screening", {"other": "bag checks"}], "note": "dogs"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let reports = api.store.posture_reports(None).unwrap();
    assert_eq!(reports.len(), 1);
    let (s, _) = api
        .call(Method::POST, "/r/not-a-link", None, Some(json!({})))
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, tasks) = api
        .call(Method::GET, "/api/v1/tasks", Some(&a1), None)
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(tasks["count"], 0);
}

#[tokio::test]
async fn an_audience_bound_token_cannot_read_the_staff_api() {
    let api = api();
    let partner = api.token(Role::Viewer, "fsb taxii");
    let rec = api
        .store
        .token_by_hash(&tocsin_server::hash_token(&partner))
        .unwrap()
        .unwrap();
    let (s, _) = api
        .call(Method::GET, "/api/v1/threats", Some(&partner), None)
        .await;
    assert_eq!(s, StatusCode::OK, "unbound, it is a staff viewer token");
    api.store
        .set_token_audience(
            rec.id,
            Some(&"fsb-liaison".into()),
            &AuditCtx::new("admin", now()),
        )
        .unwrap();
    let (s, b) = api
        .call(Method::GET, "/api/v1/threats", Some(&partner), None)
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{b}");
    assert!(b["detail"].as_str().unwrap().contains("fsb-liaison"));
}

#[tokio::test]
async fn free_text_is_proposed_reviewed_and_committed_over_the_api() {
    let api = api();
    let analyst = api.token(Role::Analyst, "desk");
    let viewer = api.token(Role::Viewer, "v");
    let text = "The U.S. Embassy is monitoring reports that extremists have imminent plans to target large gatherings in Moscow, to include concerts, and U.S. citizens should be advised to avoid large gatherings over the next 48 hours.";
    let (s, _) = api
        .call(
            Method::POST,
            "/api/v1/intake/text",
            Some(&viewer),
            Some(json!({"text": text})),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "proposing needs the analyst role");
    let (s, p) = api
        .call(
            Method::POST,
            "/api/v1/intake/text",
            Some(&analyst),
            Some(json!({"text": text, "date": "2024-03-07"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{p}");
    assert!(p["areas"].to_string().contains("Moscow"), "{p}");
    assert!(
        p["windows"].as_array().is_some_and(|w| !w.is_empty()),
        "{p}"
    );
    let body = json!({"text": text, "date": "2024-03-07", "proposal": p.clone(), "id": "advisory-2024-03-07"});
    let (s, e) = api
        .call(
            Method::POST,
            "/api/v1/intake/commit",
            Some(&analyst),
            Some(body),
        )
        .await;
    assert_eq!(
        s,
        StatusCode::CONFLICT,
        "pending items refuse the commit: {e}"
    );
    let body = json!({"text": text, "date": "2024-03-07", "proposal": p, "accept_all": true, "id": "advisory-2024-03-07"});
    let (s, r) = api
        .call(
            Method::POST,
            "/api/v1/intake/commit",
            Some(&analyst),
            Some(body),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{r}");
    assert_eq!(r["threat"]["id"], "advisory-2024-03-07");
    assert!(
        r["matches"].as_u64().unwrap() > 0,
        "large gatherings in Moscow match the registry: {r}"
    );
    assert!(api
        .store
        .threat(&"advisory-2024-03-07".into())
        .unwrap()
        .is_some());
}
