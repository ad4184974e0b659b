//! The full API over a real engine and (in-memory SQLite) store: every new route
//! group's happy path, invalid input as problem+json naming the field, and the role boundaries
//! (no token 401, role too low 403).

use crate::common::{call, reference_engine};
use axum::http::{Method, StatusCode};
use axum::Router;
use chrono::{TimeZone, Utc};
use serde_json::{json, Value};
use std::path::Path;
use std::sync::Arc;
use tocsin_core::Timestamp;
use tocsin_server::{issue_token, router, AppState, Role};
use tocsin_store::{AuditCtx, Store};
use tocsin_store_sqlite::SqliteStore;

fn now() -> Timestamp {
    Utc.with_ymd_and_hms(2024, 3, 6, 9, 0, 0).unwrap()
}

fn examples() -> &'static Path {
    tocsin_testkit::examples_dir()
}

struct Api {
    app: Router,
    store: Arc<dyn Store>,
    _dir: tempfile::TempDir,
}

/// The reference registry and audiences; with `report`, the reference report stored and matched.
fn api(report: bool) -> Api {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open_in_memory().unwrap());
    let engine = reference_engine(store.clone(), dir.path(), now(), report);
    let app = router(
        AppState::new(store.clone())
            .with_clock(now)
            .with_engine(Arc::new(engine)),
    );
    Api {
        app,
        store,
        _dir: dir,
    }
}

struct Resp {
    status: StatusCode,
    content_type: String,
    headers: axum::http::HeaderMap,
    text: String,
}

impl Resp {
    fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or(Value::Null)
    }
    /// A problem+json with this status whose `field` is `field`.
    fn problem_at(&self, status: StatusCode, field: &str) {
        assert_eq!(self.status, status, "{}", self.text);
        assert_eq!(
            self.content_type, "application/problem+json",
            "{}",
            self.text
        );
        assert_eq!(self.json()["field"], field, "{}", self.text);
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

    async fn raw(
        &self,
        method: Method,
        uri: &str,
        token: Option<&str>,
        content_type: Option<&str>,
        body: Vec<u8>,
    ) -> Resp {
        let mut c = call(method, uri).bearer_opt(token);
        c = match content_type {
            Some(ct) => c.body(ct, body),
            None => c,
        };
        let sent = c.send(&self.app).await;
        Resp {
            status: sent.status,
            content_type: sent.content_type(),
            text: sent.text(),
            headers: sent.headers,
        }
    }

    async fn call(
        &self,
        method: Method,
        uri: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Resp {
        match body {
            Some(b) => {
                self.raw(
                    method,
                    uri,
                    token,
                    Some("application/json"),
                    b.to_string().into_bytes(),
                )
                .await
            }
            None => self.raw(method, uri, token, None, Vec::new()).await,
        }
    }

    /// No token: 401; `low` token: 403.
    async fn guarded(&self, method: Method, uri: &str, low: &str, body: Option<Value>) {
        let r = self.call(method.clone(), uri, None, body.clone()).await;
        assert_eq!(
            r.status,
            StatusCode::UNAUTHORIZED,
            "{method} {uri} without a token: {}",
            r.text
        );
        assert_eq!(r.content_type, "application/problem+json");
        let r = self.call(method.clone(), uri, Some(low), body).await;
        assert_eq!(
            r.status,
            StatusCode::FORBIDDEN,
            "{method} {uri} with a lower role: {}",
            r.text
        );
    }
}

#[tokio::test]
async fn the_document_is_public_and_describes_every_route() {
    let api = api(false);
    let r = api
        .call(Method::GET, "/api/v1/openapi.json", None, None)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let doc = r.json();
    assert_eq!(doc["openapi"], "3.1.0");
    for path in [
        "/api/v1/threats",
        "/api/v1/entities/import",
        "/api/v1/jobs/{id}",
        "/api/v1/warnings/{id}/cancel",
        "/api/v1/audit/export",
    ] {
        assert!(doc["paths"][path].is_object(), "{path} missing");
    }
    assert!(doc["paths"]["/api/v1/warnings/{id}"]["patch"]["responses"]["422"].is_object());
    // Nothing else is public.
    let r = api.call(Method::GET, "/api/v1/entities", None, None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn registry_crud_with_filters_and_roles() {
    let api = api(false);
    let viewer = api.token(Role::Viewer, "v");
    let analyst = api.token(Role::Analyst, "a");
    // Filtered, paged list.
    let r = api
        .call(
            Method::GET,
            "/api/v1/entities?q=crocus",
            Some(&viewer),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json()["items"][0]["id"], "crocus-city-hall");
    let r = api
        .call(
            Method::GET,
            "/api/v1/entities?category=place_of_worship&limit=1",
            Some(&viewer),
            None,
        )
        .await;
    let page = r.json();
    assert_eq!(page["count"], 1, "{page}");
    assert!(page["items"][0]["category"]
        .as_str()
        .unwrap()
        .starts_with("place_of_worship"));
    let cursor = page["next_cursor"]
        .as_str()
        .expect("more than one place of worship")
        .to_owned();
    let r = api
        .call(
            Method::GET,
            &format!("/api/v1/entities?category=place_of_worship&limit=1&cursor={cursor}"),
            Some(&viewer),
            None,
        )
        .await;
    assert!(r.json()["items"][0]["id"].as_str().unwrap() > cursor.as_str());
    api.call(Method::GET, "/api/v1/entities?limit=0", Some(&viewer), None)
        .await
        .problem_at(StatusCode::BAD_REQUEST, "query.limit");
    api.call(
        Method::GET,
        "/api/v1/entities?kind=castle",
        Some(&viewer),
        None,
    )
    .await
    .problem_at(StatusCode::BAD_REQUEST, "query.kind");

    // Create, read, replace, delete.
    let mut e = api
        .call(
            Method::GET,
            "/api/v1/entities/crocus-city-hall",
            Some(&viewer),
            None,
        )
        .await
        .json();
    e["id"] = json!("test-hall");
    e["name"] = json!("Test Hall");
    api.guarded(Method::POST, "/api/v1/entities", &viewer, Some(e.clone()))
        .await;
    let r = api
        .call(
            Method::POST,
            "/api/v1/entities",
            Some(&analyst),
            Some(e.clone()),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let r = api
        .call(
            Method::POST,
            "/api/v1/entities",
            Some(&analyst),
            Some(e.clone()),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text);
    let mut bad = e.clone();
    bad.as_object_mut().unwrap().remove("name");
    api.call(Method::POST, "/api/v1/entities", Some(&analyst), Some(bad))
        .await
        .problem_at(StatusCode::UNPROCESSABLE_ENTITY, "/name");
    let mut bad = e.clone();
    bad["capacity"] = json!("many");
    api.call(Method::POST, "/api/v1/entities", Some(&analyst), Some(bad))
        .await
        .problem_at(StatusCode::UNPROCESSABLE_ENTITY, "/capacity");
    api.call(
        Method::PUT,
        "/api/v1/entities/other-id",
        Some(&analyst),
        Some(e.clone()),
    )
    .await
    .problem_at(StatusCode::UNPROCESSABLE_ENTITY, "/id");
    e["name"] = json!("Test Hall Renamed");
    api.guarded(
        Method::PUT,
        "/api/v1/entities/test-hall",
        &viewer,
        Some(e.clone()),
    )
    .await;
    let r = api
        .call(
            Method::PUT,
            "/api/v1/entities/test-hall",
            Some(&analyst),
            Some(e.clone()),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(
        api.store.entity(&"test-hall".into()).unwrap().unwrap().name,
        "Test Hall Renamed"
    );
    api.guarded(Method::DELETE, "/api/v1/entities/test-hall", &viewer, None)
        .await;
    let r = api
        .call(
            Method::DELETE,
            "/api/v1/entities/test-hall",
            Some(&analyst),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    assert!(api.store.entity(&"test-hall".into()).unwrap().is_none());
    let r = api
        .call(
            Method::DELETE,
            "/api/v1/entities/test-hall",
            Some(&analyst),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let last = api.store.audit_events().unwrap().pop().unwrap();
    assert_eq!(last.action, "entity.delete");
    assert!(
        last.actor.contains(":a"),
        "the token is the actor: {}",
        last.actor
    );
    assert!(api.store.verify_audit().unwrap().is_ok());

    // Audiences.
    let mut a = api
        .call(
            Method::GET,
            "/api/v1/audiences/op-crocus",
            Some(&viewer),
            None,
        )
        .await
        .json();
    a["name"] = json!("Crocus security desk");
    api.guarded(
        Method::PUT,
        "/api/v1/audiences/op-crocus",
        &viewer,
        Some(a.clone()),
    )
    .await;
    let r = api
        .call(
            Method::PUT,
            "/api/v1/audiences/op-crocus",
            Some(&analyst),
            Some(a.clone()),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(
        api.call(Method::GET, "/api/v1/audiences", Some(&viewer), None)
            .await
            .json()["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|x| x["name"] == "Crocus security desk")
            .count(),
        1
    );
    let mut escaping = a.clone();
    escaping["channels"] = json!([{ "kind": "file", "address": "../../etc" }]);
    api.call(
        Method::PUT,
        "/api/v1/audiences/op-crocus",
        Some(&analyst),
        Some(escaping),
    )
    .await
    .problem_at(StatusCode::UNPROCESSABLE_ENTITY, "/channels/0/address");
    let mut zoned = a.clone();
    zoned["timezone"] = json!("Moscow Time");
    api.call(
        Method::PUT,
        "/api/v1/audiences/op-crocus",
        Some(&analyst),
        Some(zoned),
    )
    .await
    .problem_at(StatusCode::UNPROCESSABLE_ENTITY, "/timezone");
    a["clearance"] = json!("TOP-ULTRA");
    api.call(
        Method::PUT,
        "/api/v1/audiences/op-crocus",
        Some(&analyst),
        Some(a),
    )
    .await
    .problem_at(StatusCode::UNPROCESSABLE_ENTITY, "/clearance");
}

async fn wait_job(api: &Api, token: &str, id: &str) -> Value {
    for _ in 0..200 {
        let j = api
            .call(
                Method::GET,
                &format!("/api/v1/jobs/{id}"),
                Some(token),
                None,
            )
            .await
            .json();
        if j["state"] == "succeeded" || j["state"] == "failed" {
            return j;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!("job {id} did not finish");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bulk_import_is_a_job_with_progress_and_line_errors() {
    let api = api(false);
    let viewer = api.token(Role::Viewer, "v");
    let analyst = api.token(Role::Analyst, "a");
    let csv = "id,name,aliases,category,lat,lon,capacity,city,country,operator\n\
               hall-a,Hall A,,venue/entertainment/concert_hall,55.1,37.1,100,Moscow,RUS,\n\
               hall-b,Hall B,,venue/entertainment/concert_hall,55.2,37.2,200,Moscow,RUS,\n";
    let r = api
        .raw(
            Method::POST,
            "/api/v1/entities/import?kind=venues",
            None,
            Some("text/csv"),
            csv.into(),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let r = api
        .raw(
            Method::POST,
            "/api/v1/entities/import?kind=venues",
            Some(&viewer),
            Some("text/csv"),
            csv.into(),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = api
        .raw(
            Method::POST,
            "/api/v1/entities/import?kind=venues",
            Some(&analyst),
            Some("text/csv"),
            csv.into(),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    let job = wait_job(&api, &viewer, r.json()["id"].as_str().unwrap()).await;
    assert_eq!(job["state"], "succeeded", "{job}");
    assert_eq!(
        (job["done"].as_u64(), job["total"].as_u64()),
        (Some(2), Some(2))
    );
    assert!(api.store.entity(&"hall-b".into()).unwrap().is_some());

    let bad = "id,name,aliases,category,lat,lon,capacity,city,country,operator\n\
               hall-c,Hall C,,venue/entertainment/concert_hall,55.1,37.1,100,Moscow,RUS,\n\
               hall-d,Hall D,,venue/entertainment/concert_hall,north,37.2,200,Moscow,RUS,\n";
    let r = api
        .raw(
            Method::POST,
            "/api/v1/entities/import?kind=venues",
            Some(&analyst),
            Some("text/csv"),
            bad.into(),
        )
        .await;
    r.problem_at(StatusCode::UNPROCESSABLE_ENTITY, "line 3, field lat");
    assert!(
        api.store.entity(&"hall-c".into()).unwrap().is_none(),
        "a bad file stores nothing"
    );
    let toml = "[[audience]]\nid = \"x\"\nclearance = \"TOP-ULTRA\"\n";
    let r = api
        .raw(
            Method::POST,
            "/api/v1/entities/import?kind=audiences",
            Some(&analyst),
            Some("application/toml"),
            toml.into(),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert!(
        r.json()["field"].as_str().unwrap().contains("audience"),
        "{}",
        r.text
    );
    // Audiences import as a job too.
    let good = std::fs::read(examples().join("audiences.toml")).unwrap();
    let r = api
        .raw(
            Method::POST,
            "/api/v1/entities/import?kind=audiences",
            Some(&analyst),
            Some("application/toml"),
            good,
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    let job = wait_job(&api, &analyst, r.json()["id"].as_str().unwrap()).await;
    assert_eq!(job["state"], "succeeded", "{job}");
    assert_eq!(job["done"], job["total"]);
    assert!(job["total"].as_u64().unwrap() >= 3, "{job}");
    // Larger than the 2 MB default body limit: read whole, refused at the right line.
    let mut big = String::from("id,name,aliases,category,lat,lon,capacity,city,country,operator\n");
    let rows = 30_000;
    for i in 0..rows {
        big.push_str(&format!(
            "v{i:06},Venue {i},,venue/entertainment/concert_hall,55.1,37.1,100,Moscow,RUS,\n"
        ));
    }
    big.push_str("bad,Bad,,venue/entertainment/concert_hall,55.1,37.1,lots,Moscow,RUS,\n");
    assert!(big.len() > 2 * 1024 * 1024);
    let r = api
        .raw(
            Method::POST,
            "/api/v1/entities/import?kind=venues",
            Some(&analyst),
            Some("text/csv"),
            big.into(),
        )
        .await;
    r.problem_at(
        StatusCode::UNPROCESSABLE_ENTITY,
        &format!("line {}, field capacity", rows + 2),
    );
    let r = api
        .call(Method::GET, "/api/v1/jobs/no-such-job", Some(&viewer), None)
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn threats_from_documents_and_filters() {
    let api = api(false);
    let viewer = api.token(Role::Viewer, "v");
    let analyst = api.token(Role::Analyst, "a");
    let report = std::fs::read(examples().join("report.txt")).unwrap();
    let r = api
        .raw(
            Method::POST,
            "/api/v1/threats",
            Some(&viewer),
            Some("text/plain"),
            report.clone(),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = api
        .raw(
            Method::POST,
            "/api/v1/threats",
            None,
            Some("text/plain"),
            report.clone(),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let r = api
        .raw(
            Method::POST,
            "/api/v1/threats",
            Some(&analyst),
            Some("text/plain"),
            report.clone(),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.json()["threat"]["id"], "moscow-2024-03");
    assert!(r.json()["matches"].as_u64().unwrap() > 0);
    let r = api
        .raw(
            Method::POST,
            "/api/v1/threats",
            Some(&analyst),
            Some("text/plain"),
            report,
        )
        .await;
    assert_eq!(
        r.status,
        StatusCode::CONFLICT,
        "the same id twice: {}",
        r.text
    );
    // The form: a structured threat (JSON), here the stored one under a new id.
    let mut t = api
        .call(
            Method::GET,
            "/api/v1/threats/moscow-2024-03",
            Some(&analyst),
            None,
        )
        .await
        .json();
    t["id"] = json!("form-threat");
    t["title"] = json!("Entered through the form");
    let r = api
        .call(
            Method::POST,
            "/api/v1/threats",
            Some(&analyst),
            Some(t.clone()),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    t["credibility"] = json!("certain-ish");
    api.call(Method::POST, "/api/v1/threats", Some(&analyst), Some(t))
        .await
        .problem_at(StatusCode::UNPROCESSABLE_ENTITY, "/credibility");
    let r = api
        .raw(
            Method::POST,
            "/api/v1/threats",
            Some(&analyst),
            Some("application/stix+json"),
            b"{\"type\": \"bundle\"}".to_vec(),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert!(r.json()["field"].is_string());
    let r = api
        .raw(
            Method::POST,
            "/api/v1/threats",
            Some(&analyst),
            Some("application/cap+xml"),
            b"<alert/>".to_vec(),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    let r = api
        .raw(
            Method::POST,
            "/api/v1/threats",
            Some(&analyst),
            Some("image/png"),
            b"x".to_vec(),
        )
        .await;
    r.problem_at(StatusCode::UNSUPPORTED_MEDIA_TYPE, "header.content-type");

    let r = api
        .call(Method::GET, "/api/v1/threats?q=FORM", Some(&viewer), None)
        .await;
    assert_eq!(r.json()["count"], 1, "{}", r.text);
    assert_eq!(r.json()["items"][0]["state"], "open");
    // The search folds as the leak gate does: accents, fullwidth and look-alikes do not matter.
    for q in [
        "ENT%C3%89RED",
        "%EF%BC%A6%EF%BC%AF%EF%BC%B2%EF%BC%AD",
        "f%D0%BErm",
    ] {
        let r = api
            .call(
                Method::GET,
                &format!("/api/v1/threats?q={q}"),
                Some(&viewer),
                None,
            )
            .await;
        assert_eq!(r.json()["count"], 1, "q={q}: {}", r.text);
    }
    let r = api
        .call(
            Method::GET,
            "/api/v1/threats?state=expired",
            Some(&viewer),
            None,
        )
        .await;
    assert_eq!(r.json()["count"], 0, "{}", r.text);
    let r = api
        .call(
            Method::GET,
            "/api/v1/threats?since=2030-01-01T00:00:00Z",
            Some(&viewer),
            None,
        )
        .await;
    assert_eq!(r.json()["count"], 0, "{}", r.text);
    api.call(
        Method::GET,
        "/api/v1/threats?since=yesterday",
        Some(&viewer),
        None,
    )
    .await
    .problem_at(StatusCode::BAD_REQUEST, "query.since");
    api.call(
        Method::GET,
        "/api/v1/threats?state=burning",
        Some(&viewer),
        None,
    )
    .await
    .problem_at(StatusCode::BAD_REQUEST, "query.state");
}

#[tokio::test]
async fn matches_are_recomputed_and_reviewed() {
    let api = api(true);
    let viewer = api.token(Role::Viewer, "v");
    let analyst = api.token(Role::Analyst, "a");
    const T: &str = "/api/v1/threats/moscow-2024-03";
    api.guarded(Method::POST, &format!("{T}/matches"), &viewer, None)
        .await;
    let r = api
        .call(Method::POST, &format!("{T}/matches"), Some(&analyst), None)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(r.json()["matches"].as_u64().unwrap() > 0);
    let m = api
        .call(Method::GET, &format!("{T}/matches"), Some(&viewer), None)
        .await
        .json();
    let first = &m["items"][0];
    let body = json!({ "entity_id": first["entity_id"], "target": first["target"], "decision": "reject", "note": "closed for works" });
    api.guarded(
        Method::POST,
        &format!("{T}/matches/reviews"),
        &viewer,
        Some(body.clone()),
    )
    .await;
    let r = api
        .call(
            Method::POST,
            &format!("{T}/matches/reviews"),
            Some(&analyst),
            Some(body),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json()["decision"], "reject");
    let r = api.call(Method::POST, &format!("{T}/matches/reviews"), Some(&analyst), Some(json!({ "entity_id": first["entity_id"], "target": first["target"], "decision": "accept" }))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let reviews = api
        .call(
            Method::GET,
            &format!("{T}/matches/reviews"),
            Some(&viewer),
            None,
        )
        .await
        .json();
    assert_eq!(
        reviews["count"], 1,
        "a later review replaces the earlier: {reviews}"
    );
    assert_eq!(reviews["items"][0]["decision"], "accept");
    api.call(
        Method::POST,
        &format!("{T}/matches/reviews"),
        Some(&analyst),
        Some(json!({ "entity_id": "x", "target": 0, "decision": "maybe" })),
    )
    .await
    .problem_at(StatusCode::UNPROCESSABLE_ENTITY, "/decision");
    let r = api
        .call(
            Method::POST,
            &format!("{T}/matches/reviews"),
            Some(&analyst),
            Some(json!({ "entity_id": "no-such", "target": 0, "decision": "accept" })),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);
}

/// A draft edit that adds any spelling of a restricted term is refused: 422 at the field, naming
/// the rule and the byte span of what was typed.
#[tokio::test]
async fn a_draft_edit_adding_a_spelling_variant_of_a_term_is_refused() {
    let api = api(true);
    let analyst = api.token(Role::Analyst, "a");
    let a1 = api.token(Role::Approver, "a1");
    let a2 = api.token(Role::Approver, "a2");
    const T: &str = "/api/v1/threats/moscow-2024-03";
    for step in ["determinations", "determinations/approve"] {
        let who = if step == "determinations" { &a1 } else { &a2 };
        let r = api
            .call(Method::POST, &format!("{T}/{step}"), Some(who), None)
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    }
    let drafts = api
        .call(Method::POST, &format!("{T}/warnings"), Some(&analyst), None)
        .await
        .json();
    let w = drafts["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["audience_id"] == "op-crocus")
        .unwrap()
        .clone();
    let uri = format!("/api/v1/warnings/{}", w["id"].as_str().unwrap());
    let base = w["text"].as_str().unwrap();
    // One per spelling class: case, accents added, NFD, Cyrillic look-alikes, invisible
    // characters, fullwidth, letter expansions, transliteration into Cyrillic.
    for (class, written) in [
        ("case", "cardinal sparrow"),
        ("accents", "CÁRDINAL SPÁRROW"),
        ("nfd", "CA\u{301}RDINAL SPA\u{301}RROW"),
        ("look_alikes", "CАRDINАL SPАRRОW"),
        ("invisible", "CARD\u{200B}INAL SPAR\u{AD}ROW"),
        ("fullwidth", "ＣＡＲＤＩＮＡＬ ＳＰＡＲＲＯＷ"),
        ("expansions", "LANTERN GLAẞ"),
        ("o_slash", "CARDINAL SPARRØW"),
        ("transliterated", "ЛАНТЕРН ГЛАСС"),
    ] {
        let text = format!("{base}\nSource: {written}.");
        let start = base.len() + "\nSource: ".len();
        let end = start + written.len();
        let r = api
            .call(
                Method::PATCH,
                &uri,
                Some(&analyst),
                Some(json!({ "text": text })),
            )
            .await;
        r.problem_at(StatusCode::UNPROCESSABLE_ENTITY, "/text");
        let detail = r.json()["detail"].as_str().unwrap_or_default().to_owned();
        assert!(
            detail.contains("rule restricted_term")
                && detail.contains(&format!("at bytes {start}..{end}")),
            "{class}: {written:?} → {}",
            r.text
        );
        let m = format!("Brief staff on {written}");
        api.call(
            Method::PATCH,
            &uri,
            Some(&analyst),
            Some(json!({ "measures": ["Screen bags", m] })),
        )
        .await
        .problem_at(StatusCode::UNPROCESSABLE_ENTITY, "/measures/1");
    }
}

#[tokio::test]
async fn warning_lifecycle_edit_queue_update_cancel() {
    let api = api(true);
    let viewer = api.token(Role::Viewer, "v");
    let analyst = api.token(Role::Analyst, "a");
    let a1 = api.token(Role::Approver, "a1");
    let a2 = api.token(Role::Approver, "a2");
    const T: &str = "/api/v1/threats/moscow-2024-03";
    assert_eq!(
        api.call(
            Method::POST,
            &format!("{T}/determinations"),
            Some(&a1),
            None
        )
        .await
        .status,
        StatusCode::OK
    );
    assert_eq!(
        api.call(
            Method::POST,
            &format!("{T}/determinations/approve"),
            Some(&a2),
            None
        )
        .await
        .status,
        StatusCode::OK
    );
    let drafts = api
        .call(Method::POST, &format!("{T}/warnings"), Some(&analyst), None)
        .await
        .json();
    let w = drafts["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["audience_id"] == "op-crocus")
        .unwrap()
        .clone();
    let id = w["id"].as_str().unwrap().to_owned();
    let uri = format!("/api/v1/warnings/{id}");

    // Edit the draft: the leak gate re-runs and names the field.
    api.guarded(
        Method::PATCH,
        &uri,
        &viewer,
        Some(json!({ "headline": "x" })),
    )
    .await;
    let leaking = format!("{}\nSource: CARDINAL SPARROW.", w["text"].as_str().unwrap());
    api.call(
        Method::PATCH,
        &uri,
        Some(&analyst),
        Some(json!({ "text": leaking })),
    )
    .await
    .problem_at(StatusCode::UNPROCESSABLE_ENTITY, "/text");
    api.call(
        Method::PATCH,
        &uri,
        Some(&analyst),
        Some(json!({ "measures": ["Brief staff", "Ask LANTERN GLASS"] })),
    )
    .await
    .problem_at(StatusCode::UNPROCESSABLE_ENTITY, "/measures/1");
    api.call(
        Method::PATCH,
        &uri,
        Some(&analyst),
        Some(json!({ "headline": 7 })),
    )
    .await
    .problem_at(StatusCode::UNPROCESSABLE_ENTITY, "/headline");
    let r = api
        .call(
            Method::PATCH,
            &uri,
            Some(&analyst),
            Some(json!({ "headline": "Heightened threat to your venue: act now" })),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(
        api.store
            .warning(&id.as_str().into())
            .unwrap()
            .unwrap()
            .headline,
        "Heightened threat to your venue: act now"
    );
    assert!(!api
        .store
        .warning(&id.as_str().into())
        .unwrap()
        .unwrap()
        .text
        .contains("CARDINAL"));

    // Queue: approvers only, approved warnings only.
    api.guarded(Method::POST, &format!("{uri}/queue"), &analyst, None)
        .await;
    let r = api
        .call(Method::POST, &format!("{uri}/queue"), Some(&a1), None)
        .await;
    assert_eq!(
        r.status,
        StatusCode::CONFLICT,
        "a draft cannot be queued: {}",
        r.text
    );
    assert_eq!(
        api.call(Method::POST, &format!("{uri}/approve"), Some(&a2), None)
            .await
            .status,
        StatusCode::OK
    );
    let r = api
        .call(
            Method::PATCH,
            &uri,
            Some(&analyst),
            Some(json!({ "headline": "late" })),
        )
        .await;
    assert_eq!(
        r.status,
        StatusCode::CONFLICT,
        "only drafts are edited: {}",
        r.text
    );
    let r = api
        .call(Method::POST, &format!("{uri}/queue"), Some(&a1), None)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json()["state"], "queued");
    let ds = api
        .call(
            Method::GET,
            "/api/v1/deliveries?status=pending",
            Some(&viewer),
            None,
        )
        .await
        .json();
    assert!(
        ds["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["warning_id"] == id.as_str()),
        "{ds}"
    );

    // Update: a new draft version.
    api.guarded(Method::POST, &format!("{uri}/update"), &viewer, None)
        .await;
    let r = api
        .call(Method::POST, &format!("{uri}/update"), Some(&analyst), None)
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.json()["version"], 2);
    assert_eq!(r.json()["supersedes"], id.as_str());

    // Cancel: approvers; then the lifecycle refuses a second cancel.
    api.guarded(
        Method::POST,
        &format!("{uri}/cancel"),
        &analyst,
        Some(json!({ "reason": "x" })),
    )
    .await;
    let r = api
        .call(
            Method::POST,
            &format!("{uri}/cancel"),
            Some(&a1),
            Some(json!({ "reason": "the threat was withdrawn" })),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json()["cap_msg_type"], "Cancel");
    assert_eq!(r.json()["warning"]["state"], "superseded");
    // It had been queued (released) to an operator: the CAP Cancel references it.
    let cap = r.json()["cap"]
        .as_str()
        .expect("a CAP Cancel alert")
        .to_owned();
    assert!(cap.contains("<msgType>Cancel</msgType>"), "{cap}");
    assert!(cap.contains("<references>"), "{cap}");
    // A draft that never left is withdrawn without a CAP message.
    let public = drafts["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["audience_kind"] == "public")
        .expect("a public draft");
    let r = api
        .call(
            Method::POST,
            &format!("/api/v1/warnings/{}/cancel", public["id"].as_str().unwrap()),
            Some(&a1),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(r.json()["cap"].is_null(), "{}", r.text);
    let r = api
        .call(
            Method::POST,
            &format!("{uri}/cancel"),
            Some(&a1),
            Some(json!({ "reason": "again" })),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text);
    api.call(
        Method::POST,
        &format!("{uri}/cancel"),
        Some(&a1),
        Some(json!({ "why": "x" })),
    )
    .await
    .problem_at(StatusCode::UNPROCESSABLE_ENTITY, "/why");
    let actions: Vec<String> = api
        .store
        .audit_events()
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .collect();
    for a in ["warning.edit", "warning.queue", "warning.cancel"] {
        assert!(actions.iter().any(|x| x == a), "{a} not audited");
    }
}

#[tokio::test]
async fn dead_letters_retry_and_audit_export() {
    let api = api(true);
    let viewer = api.token(Role::Viewer, "v");
    let analyst = api.token(Role::Analyst, "a");
    let admin = api.token(Role::Admin, "root");
    let r = api
        .call(Method::GET, "/api/v1/dead-letters", Some(&viewer), None)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json()["count"], 0);
    api.guarded(Method::POST, "/api/v1/deliveries/1/retry", &viewer, None)
        .await;
    let r = api
        .call(
            Method::POST,
            "/api/v1/deliveries/999/retry",
            Some(&analyst),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);
    let r = api
        .call(
            Method::POST,
            "/api/v1/deliveries/abc/retry",
            Some(&analyst),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert_eq!(r.content_type, "application/problem+json");

    api.guarded(Method::GET, "/api/v1/audit/export", &analyst, None)
        .await;
    let r = api
        .call(Method::GET, "/api/v1/audit/export", Some(&admin), None)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.content_type, "application/x-ndjson");
    let lines: Vec<Value> = r
        .text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let events = api.store.audit_events().unwrap();
    assert_eq!(lines.len(), events.len() + 1);
    assert_eq!(lines[0]["seq"], 1);
    let tail = lines.last().unwrap();
    assert_eq!(tail["head_hash"], events.last().unwrap().hash.as_str());
    assert_eq!(tail["verified"], true);
    assert_eq!(
        r.headers["tocsin-audit-head"],
        events.last().unwrap().hash.as_str()
    );
}

#[tokio::test]
async fn expired_revoked_and_under_scoped_tokens_are_refused_on_the_new_routes() {
    use tocsin_server::{issue_scoped_token, Scope, TokenSpec};
    let api = api(true);
    let admin = api.token(Role::Admin, "root");
    let spec = |label: &str, expires_at, scopes: Vec<Scope>| TokenSpec {
        role: Role::Approver,
        label: label.into(),
        expires_at,
        scopes,
        user_id: None,
    };
    let ctx = AuditCtx::new("test", now());
    let (expired, _) = issue_scoped_token(
        api.store.as_ref(),
        &spec(
            "old",
            Some(now() - chrono::Duration::hours(1)),
            Scope::up_to(Role::Approver).to_vec(),
        ),
        &ctx,
    )
    .unwrap();
    let (revoked, revoked_id) = issue_scoped_token(
        api.store.as_ref(),
        &spec("gone", None, Scope::up_to(Role::Approver).to_vec()),
        &ctx,
    )
    .unwrap();
    let (read_only, _) = issue_scoped_token(
        api.store.as_ref(),
        &spec("reader", None, vec![Scope::Read]),
        &ctx,
    )
    .unwrap();
    let routes = [
        (Method::POST, "/api/v1/threats/moscow-2024-03/matches"),
        (Method::DELETE, "/api/v1/entities/crocus-city-hall"),
        (Method::POST, "/api/v1/warnings/w/queue"),
    ];
    let r = api
        .call(
            Method::DELETE,
            &format!("/api/v1/tokens/{revoked_id}"),
            Some(&admin),
            None,
        )
        .await;
    assert!(r.status.is_success(), "revoking: {}", r.text);
    for (m, uri) in &routes {
        for (who, token) in [("expired", &expired), ("revoked", &revoked)] {
            let r = api.call(m.clone(), uri, Some(token), None).await;
            assert_eq!(
                r.status,
                StatusCode::UNAUTHORIZED,
                "{who} token on {m} {uri}: {}",
                r.text
            );
        }
        let r = api.call(m.clone(), uri, Some(&read_only), None).await;
        assert_eq!(
            r.status,
            StatusCode::FORBIDDEN,
            "read-only token on {m} {uri}: {}",
            r.text
        );
    }
    // The read-only token still reads.
    let r = api
        .call(
            Method::GET,
            "/api/v1/threats/moscow-2024-03/matches/reviews",
            Some(&read_only),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(
        api.store
            .entity(&"crocus-city-hall".into())
            .unwrap()
            .is_some(),
        "nothing was deleted"
    );
}

/// Threat, entity and audience ids follow one grammar (docs/formats.md, "Identifiers"), checked
/// when the record is created: an id that could leave a folder (`../../x`) is refused with 422
/// naming `/id`, and nothing is stored.
#[tokio::test]
async fn ids_that_break_the_grammar_are_refused_at_creation() {
    let api = api(false);
    let analyst = api.token(Role::Analyst, "a");
    let mut threat = serde_json::to_value(tocsin_testkit::threat("t")).unwrap();
    for bad in ["../../x", "a/b", ".hidden", "a b"] {
        threat["id"] = json!(bad);
        let r = api
            .call(
                Method::POST,
                "/api/v1/threats",
                Some(&analyst),
                Some(threat.clone()),
            )
            .await;
        r.problem_at(StatusCode::UNPROCESSABLE_ENTITY, "/id");
        assert!(r.text.contains("threat id"), "{}", r.text);
        assert!(api.store.threat(&bad.into()).unwrap().is_none());
    }
    threat["id"] = json!("t".repeat(65));
    api.call(
        Method::POST,
        "/api/v1/threats",
        Some(&analyst),
        Some(threat.clone()),
    )
    .await
    .problem_at(StatusCode::UNPROCESSABLE_ENTITY, "/id");
    threat["id"] = json!("feed-org:uni-a.t_1");
    let r = api
        .call(
            Method::POST,
            "/api/v1/threats",
            Some(&analyst),
            Some(threat),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);

    let mut entity = serde_json::to_value(tocsin_testkit::entity("x", "X Hall")).unwrap();
    entity["id"] = json!("../x");
    api.call(
        Method::POST,
        "/api/v1/entities",
        Some(&analyst),
        Some(entity),
    )
    .await
    .problem_at(StatusCode::UNPROCESSABLE_ENTITY, "/id");
    let mut aud = serde_json::to_value(tocsin_testkit::audience(
        "x",
        tocsin_core::AudienceKind::Operator,
        tocsin_core::Classification::U,
    ))
    .unwrap();
    aud["id"] = json!("..");
    api.call(
        Method::PUT,
        "/api/v1/audiences/..",
        Some(&analyst),
        Some(aud),
    )
    .await
    .problem_at(StatusCode::UNPROCESSABLE_ENTITY, "/id");
}
