//! Specificity advice and release requests over the API (issue 22, item 5): why a warning is
//! vaguer than its threat, shaped by need to know, and the analyst's recorded request to the
//! originator. Also the approve answer's shape (the warning, as other state changes answer).

use crate::common::{call, reference_engine};
use axum::http::{header, Method, StatusCode};
use axum::Router;
use chrono::{TimeZone, Utc};
use serde_json::Value;
use std::sync::Arc;
use tocsin_core::{Classification, CountryCode, Timestamp};
use tocsin_server::{
    create_user, issue_scoped_token, issue_token, router, AppState, Role, Scope, TokenSpec,
};
use tocsin_store::{AuditCtx, Store};
use tocsin_store_sqlite::SqliteStore;

const T: &str = "/api/v1/threats/moscow-2024-03";
const OP: &str = "moscow-2024-03.op-crocus.v1";
const CROCUS: &str = "Crocus City Hall";

fn now() -> Timestamp {
    Utc.with_ymd_and_hms(2024, 3, 6, 9, 0, 0).unwrap()
}

struct Api {
    app: Router,
    store: Arc<dyn Store>,
    _dir: tempfile::TempDir,
}

impl Api {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let store: Arc<dyn Store> = Arc::new(SqliteStore::open_in_memory().unwrap());
        let engine = Arc::new(reference_engine(store.clone(), dir.path(), now(), true));
        let app = router(
            AppState::new(store.clone())
                .with_clock(now)
                .with_engine(engine),
        );
        Self {
            app,
            store,
            _dir: dir,
        }
    }

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

    /// A token of a user cleared only to `clearance`, of the originator's nationality.
    fn cleared(&self, name: &str, role: Role, clearance: Classification) -> String {
        let ctx = AuditCtx::new("test", now());
        let u = create_user(
            self.store.as_ref(),
            name,
            role,
            clearance,
            CountryCode::parse("USA").unwrap(),
            Some("correct horse battery staple"),
            &ctx,
        )
        .unwrap();
        let spec = TokenSpec {
            role,
            label: name.into(),
            expires_at: None,
            scopes: Scope::up_to(role),
            user_id: Some(u.id),
        };
        issue_scoped_token(self.store.as_ref(), &spec, &ctx)
            .unwrap()
            .0
    }

    async fn send(&self, method: Method, uri: &str, token: &str) -> crate::common::Sent {
        call(method, uri).bearer(token).send(&self.app).await
    }

    /// Determination by two people, then the drafts.
    async fn drafts(&self, a1: &str, a2: &str) {
        for (path, who) in [
            (format!("{T}/determinations"), a1),
            (format!("{T}/determinations/approve"), a2),
            (format!("{T}/warnings"), a1),
        ] {
            let r = self.send(Method::POST, &path, who).await;
            assert_eq!(r.status, StatusCode::OK, "{path}: {}", r.text());
        }
    }
}

#[tokio::test]
async fn a_vague_draft_says_why_and_the_analyst_can_request_a_release() {
    let api = Api::new();
    let (a1, a2) = (
        api.token(Role::Approver, "a1"),
        api.token(Role::Approver, "a2"),
    );
    let analyst = api.token(Role::Analyst, "an");
    let viewer = api.token(Role::Viewer, "v");
    api.drafts(&a1, &a2).await;

    // Why the operator's warning does not name its target: the mark that withholds it.
    let r = api
        .send(
            Method::GET,
            &format!("/api/v1/warnings/{OP}/specificity"),
            &viewer,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let a = r.json();
    assert_ne!(a["specificity"], "named_target", "{a}");
    assert_eq!(a["originator"], "USA");
    let w = &a["withheld_targets"];
    assert_eq!(w.as_array().map(Vec::len), Some(1), "{a}");
    assert_eq!(w[0]["name"], CROCUS);
    assert_eq!(w[0]["marking"], "(S//REL TO USA, RUS)");
    assert!(
        w[0]["denial"].as_str().unwrap().contains("SECRET"),
        "{}",
        w[0]["denial"]
    );
    assert_eq!(a["can_request_release"], true);
    assert!(a["summary"].as_str().unwrap().contains("release request"));

    // Need to know: a reader cleared below the mark learns that something is withheld and its
    // mark, never the withheld fact.
    let low = api.cleared("cal", Role::Viewer, Classification::C);
    let r = api
        .send(
            Method::GET,
            &format!("/api/v1/warnings/{OP}/specificity"),
            &low,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert!(!r.text().contains(CROCUS), "leaked: {}", r.text());
    let t = &r.json()["withheld_targets"][0];
    assert_eq!(t["label"]["withheld"], true, "{t}");
    assert_eq!(t["label"]["marking"], "(S//REL TO USA, RUS)");
    assert!(t.get("name").is_none(), "{t}");

    // The partner's warning names the target: nothing to advise, nothing to request.
    let fsb = api
        .send(
            Method::GET,
            "/api/v1/warnings?threat=moscow-2024-03",
            &viewer,
        )
        .await
        .json()["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["audience_kind"] == "partner_service")
        .map(|w| w["id"].as_str().unwrap().to_owned())
        .unwrap();
    let r = api
        .send(
            Method::GET,
            &format!("/api/v1/warnings/{fsb}/specificity"),
            &viewer,
        )
        .await;
    assert_eq!(r.json()["withheld_targets"], Value::Array(vec![]));
    assert_eq!(r.json()["can_request_release"], false);
    let r = api
        .send(
            Method::POST,
            &format!("/api/v1/warnings/{fsb}/release-request"),
            &analyst,
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text());

    // Only analysts and above request releases.
    let r = api
        .send(
            Method::POST,
            &format!("/api/v1/warnings/{OP}/release-request"),
            &viewer,
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = api
        .send(
            Method::POST,
            &format!("/api/v1/warnings/{OP}/release-request"),
            &analyst,
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    assert_eq!(
        r.headers.get(header::LOCATION).unwrap(),
        "/api/v1/tasks?all=true"
    );
    let body = r.json();
    let task = &body["task"];
    assert_eq!(task["kind"], "release_request");
    assert_eq!(task["warning_id"], OP);
    assert!(task["detail"]
        .as_str()
        .unwrap()
        .starts_with("Ask USA for a tearline or a REL TO for audience op-crocus"));
    let id = task["id"].as_i64().unwrap();
    assert_eq!(
        body["advice"]["can_request_release"], false,
        "one open request at a time"
    );

    // Tracked as a task, recorded in the audit chain and on the timeline.
    let tasks = api.send(Method::GET, "/api/v1/tasks", &viewer).await.json();
    assert!(tasks["items"]
        .as_array()
        .unwrap()
        .iter()
        .any(|t| t["id"] == id && t["kind"] == "release_request"));
    let audit = api.store.audit_events_about(&format!("task:{id}")).unwrap();
    assert!(
        audit
            .iter()
            .any(|e| e.action == "task.open" && e.actor.contains("an")),
        "{audit:?}"
    );
    let timeline = api
        .send(
            Method::GET,
            "/api/v1/timeline?threat=moscow-2024-03",
            &viewer,
        )
        .await
        .json();
    assert!(
        timeline.to_string().contains("release_requested"),
        "{timeline}"
    );
    // A second request while one is open is refused, naming the open task.
    let r = api
        .send(
            Method::POST,
            &format!("/api/v1/warnings/{OP}/release-request"),
            &analyst,
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text());
    assert!(r.json()["detail"]
        .as_str()
        .unwrap()
        .contains(&id.to_string()));
    // The request's detail names the target: withheld from the reader below its mark.
    let r = api.send(Method::GET, "/api/v1/tasks", &low).await;
    assert!(!r.text().contains(CROCUS), "leaked: {}", r.text());
}

#[tokio::test]
async fn approving_answers_the_warning_like_other_state_changes() {
    let api = Api::new();
    let (a1, a2) = (
        api.token(Role::Approver, "a1"),
        api.token(Role::Approver, "a2"),
    );
    api.drafts(&a1, &a2).await;
    let r = api
        .send(Method::POST, &format!("/api/v1/warnings/{OP}/approve"), &a2)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let w = r.json();
    assert_eq!(w["id"], OP);
    assert_eq!(w["state"], "approved");
    assert_eq!(w["audience_id"], "op-crocus");
    assert!(w["text"].is_string() && w["banner"].is_string(), "{w}");
    // The same shape as queuing it answers.
    let q = api
        .send(Method::POST, &format!("/api/v1/warnings/{OP}/queue"), &a2)
        .await;
    assert_eq!(q.status, StatusCode::OK, "{}", q.text());
    let keys = |v: &Value| {
        v.as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect::<std::collections::BTreeSet<_>>()
    };
    assert_eq!(keys(&w), keys(&q.json()));
}
