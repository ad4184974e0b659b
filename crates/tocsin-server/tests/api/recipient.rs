//! The recipient's page at `/r/{token}`: HTML for a browser, in the audience's language, with
//! plain forms that record acknowledgement, posture and "too general"; clear pages for spent,
//! expired and forged links; JSON for API clients as before.

use crate::common::{call, reference_engine, Sent};
use axum::http::{header, Method, StatusCode};
use axum::Router;
use chrono::{TimeZone, Utc};
use serde_json::{json, Value};
use std::sync::Arc;
use tocsin_core::followup::FeedbackKind;
use tocsin_core::links::LinkPurpose;
use tocsin_core::tracking::Measure;
use tocsin_core::{AudienceId, Timestamp, WarningId};
use tocsin_engine::Engine;
use tocsin_server::recipient_page::esc;
use tocsin_server::{issue_token, router, AppState, Role};
use tocsin_store::{AuditCtx, Store};
use tocsin_store_sqlite::SqliteStore;

const BROWSER: &str = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";
const FORM: &str = "application/x-www-form-urlencoded";
const T: &str = "/api/v1/threats/moscow-2024-03";

fn now() -> Timestamp {
    Utc.with_ymd_and_hms(2024, 3, 6, 9, 0, 0).unwrap()
}

struct Api {
    app: Router,
    store: Arc<dyn Store>,
    engine: Arc<Engine>,
    _dir: tempfile::TempDir,
}

impl Api {
    async fn json(&self, method: Method, uri: &str, token: &str) -> Value {
        let sent = call(method, uri).bearer(token).send(&self.app).await;
        assert!(sent.status.is_success(), "{uri}: {}", sent.text());
        sent.json()
    }

    async fn page(&self, path: &str) -> Sent {
        call(Method::GET, path)
            .header(header::ACCEPT, BROWSER)
            .send(&self.app)
            .await
    }

    async fn post_form(&self, path: &str, form: &str) -> Sent {
        call(Method::POST, path)
            .header(header::ACCEPT, BROWSER)
            .body(FORM, form.as_bytes().to_vec())
            .send(&self.app)
            .await
    }
}

/// The reference case worked to a delivered operator warning for Crocus; returns the API and
/// that warning.
async fn delivered() -> (Api, Value) {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open_in_memory().unwrap());
    let engine = Arc::new(reference_engine(store.clone(), dir.path(), now(), true));
    let app = router(
        AppState::new(store.clone())
            .with_clock(now)
            .with_engine(engine.clone()),
    );
    let api = Api {
        app,
        store,
        engine,
        _dir: dir,
    };
    let tok = |label: &str| {
        issue_token(
            api.store.as_ref(),
            Role::Approver,
            label,
            None,
            &AuditCtx::new("test", now()),
        )
        .unwrap()
    };
    let (a1, a2) = (tok("a1"), tok("a2"));
    api.json(Method::POST, &format!("{T}/determinations"), &a1)
        .await;
    api.json(Method::POST, &format!("{T}/determinations/approve"), &a2)
        .await;
    let w = api.json(Method::POST, &format!("{T}/warnings"), &a1).await;
    let mut crocus = w["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["audience_id"] == "op-crocus")
        .unwrap()
        .clone();
    // The links are the recipient's credentials: the API withholds them (docs/security.md); the
    // recipient's copy is the stored text the channels send.
    let stored = api
        .store
        .warning(&crocus["id"].as_str().unwrap().into())
        .unwrap()
        .unwrap();
    crocus["text"] = serde_json::Value::String(stored.text);
    let id = crocus["id"].as_str().unwrap();
    api.json(Method::POST, &format!("/api/v1/warnings/{id}/approve"), &a2)
        .await;
    api.engine.tick(now()).unwrap();
    (api, crocus)
}

/// The path (`/r/…`) of the link after `marker` in a warning's text.
fn link_after(text: &str, marker: &str) -> String {
    let url = text[text.find(marker).unwrap() + marker.len()..]
        .split_whitespace()
        .next()
        .unwrap();
    url[url.find("/r/").unwrap()..].to_owned()
}

fn assert_html_page(s: &Sent, status: StatusCode) -> String {
    let body = s.text();
    assert_eq!(s.status, status, "{body}");
    assert!(
        s.content_type().starts_with("text/html"),
        "{}",
        s.content_type()
    );
    let csp = s.headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
    assert!(csp.starts_with("default-src 'self'"), "{csp}");
    assert!(!body.contains("<script"), "the page needs no script");
    assert!(
        !body.contains(" style="),
        "inline styles would break the CSP"
    );
    body
}

#[tokio::test]
async fn a_browser_acknowledges_reports_posture_and_says_too_general_in_russian() {
    let (api, crocus) = delivered().await;
    let text = crocus["text"].as_str().unwrap();
    let ack = link_after(text, "Подтвердить получение: ");
    let too_general = link_after(text, "Напишите нам: ");

    // API clients still get JSON.
    let s = call(Method::GET, &ack)
        .header(header::ACCEPT, "application/json")
        .send(&api.app)
        .await;
    assert_eq!(s.status, StatusCode::OK);
    assert_eq!(s.json()["purpose"], "acknowledge");

    // A browser gets the page: Russian (op-crocus has language = "ru"), the warning as sent.
    let page = assert_html_page(&api.page(&ack).await, StatusCode::OK);
    assert!(page.contains("<html lang=\"ru\" dir=\"ltr\">"), "{page}");
    assert!(page.contains("<meta name=\"viewport\""));
    assert!(page.contains("Подтвердить получение"), "{page}");
    assert!(page.contains("<form method=\"post\""));
    let headline = crocus["headline"].as_str().unwrap();
    assert!(
        page.contains(&esc(headline)),
        "the headline as sent: {page}"
    );
    assert!(page.contains(crocus["id"].as_str().unwrap()));
    // Nothing of the other audiences' warnings (the partner's is SECRET and names its actor).
    let all = api.store.warnings(None).unwrap();
    for w in all.iter().filter(|w| w.audience_id.as_str() != "op-crocus") {
        assert!(
            !page.contains(&esc(&w.headline)),
            "{} leaked into the page",
            w.id
        );
    }

    // Acknowledge through the form.
    let done = assert_html_page(
        &api.post_form(&ack, "action=acknowledge").await,
        StatusCode::OK,
    );
    assert!(done.contains("Спасибо: записано"), "{done}");
    assert!(done.contains("Следующее подтверждение мер"), "{done}");
    let next = done
        .split("href=\"")
        .nth(2)
        .map(|r| r[..r.find('"').unwrap()].to_owned())
        .filter(|p| p.starts_with("/r/"))
        .unwrap_or_else(|| panic!("no next posture link in {done}"));
    let acks = api
        .store
        .acknowledgements(Some(&WarningId::new(crocus["id"].as_str().unwrap())))
        .unwrap();
    assert_eq!(acks.len(), 1);

    // The spent link: a clear page, not JSON, and nothing recorded twice.
    let spent = assert_html_page(&api.page(&ack).await, StatusCode::GONE);
    assert!(spent.contains("уже воспользовались"), "{spent}");
    let again = assert_html_page(
        &api.post_form(&ack, "action=acknowledge").await,
        StatusCode::GONE,
    );
    assert!(again.contains("уже воспользовались"));

    // Posture: an empty report is refused on the page, and the link stays usable.
    let posture = assert_html_page(&api.page(&next).await, StatusCode::OK);
    assert!(posture.contains("name=\"measures\" value=\"extra_screening\""));
    assert!(posture.contains("<label for=\"m-extra_screening\">"));
    let empty = assert_html_page(
        &api.post_form(&next, "action=posture&note=").await,
        StatusCode::BAD_REQUEST,
    );
    assert!(empty.contains("Выберите хотя бы одну меру"), "{empty}");
    let bad = assert_html_page(
        &api.post_form(&next, "measures=lasers").await,
        StatusCode::BAD_REQUEST,
    );
    assert!(bad.contains("lasers"), "the refusal names the value: {bad}");
    let ok = assert_html_page(
        &api.post_form(
            &next,
            "measures=extra_screening&measures=staff_briefed&other=bag+checks&note=%D0%BA%D0%B8%D0%BD%D0%BE%D0%BB%D0%BE%D0%B3%D0%B8&action=posture",
        )
        .await,
        StatusCode::OK,
    );
    assert!(ok.contains("Усиленный досмотр посетителей и сумок"), "{ok}");
    assert!(ok.contains("bag checks") && ok.contains("кинологи"), "{ok}");
    let reports = api.store.posture_reports(None).unwrap();
    assert_eq!(reports.len(), 1);
    assert_eq!(
        reports[0].measures,
        [
            Measure::ExtraScreening,
            Measure::StaffBriefed,
            Measure::Other("bag checks".into())
        ]
    );
    assert_eq!(reports[0].note, "кинологи");

    // Too general: the feedback link's page has a text box; using it opens an analyst task.
    let fb = assert_html_page(&api.page(&too_general).await, StatusCode::OK);
    assert!(fb.contains("<textarea id=\"text\" name=\"text\""), "{fb}");
    let sent = assert_html_page(
        &api.post_form(
            &too_general,
            "kind=too_general&text=%D0%9A%D0%B0%D0%BA%D0%BE%D0%B9+%D0%B2%D1%85%D0%BE%D0%B4%3F",
        )
        .await,
        StatusCode::OK,
    );
    assert!(sent.contains("Какой вход?"), "{sent}");
    let fbs = api.store.feedback(None).unwrap();
    assert_eq!(fbs.len(), 1);
    assert_eq!(fbs[0].kind, FeedbackKind::TooGeneral);
    assert_eq!(fbs[0].text, "Какой вход?");
    assert_eq!(api.store.tasks(true).unwrap().len(), 1);
}

#[tokio::test]
async fn forged_expired_and_arabic_links_get_clear_pages() {
    let (api, crocus) = delivered().await;
    let forged = assert_html_page(&api.page("/r/not-a-link").await, StatusCode::FORBIDDEN);
    assert!(forged.contains("This link is not valid"), "{forged}");
    // API clients keep their problem+json.
    let s = call(Method::GET, "/r/not-a-link").send(&api.app).await;
    assert_eq!(s.status, StatusCode::FORBIDDEN);
    assert!(s.content_type().starts_with("application/problem+json"));

    let id = WarningId::new(crocus["id"].as_str().unwrap());
    let long_ago = Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap();
    let old = api
        .engine
        .recipient_link(&id, long_ago, LinkPurpose::Acknowledge, long_ago)
        .unwrap();
    let old = &old[old.find("/r/").unwrap()..];
    let expired = assert_html_page(&api.page(old).await, StatusCode::GONE);
    assert!(
        expired.contains("Срок действия ссылки истёк 8 января 2024"),
        "{expired}"
    );
    let posted = assert_html_page(&api.post_form(old, "").await, StatusCode::GONE);
    assert!(posted.contains("Срок действия ссылки истёк"));

    // An Arabic audience reads right to left.
    let mut aud = api
        .store
        .audience(&AudienceId::new("op-crocus"))
        .unwrap()
        .unwrap();
    aud.language = "ar".into();
    api.store
        .upsert_audiences(&[aud], &AuditCtx::new("test", now()))
        .unwrap();
    let ack = link_after(crocus["text"].as_str().unwrap(), "Подтвердить получение: ");
    let page = assert_html_page(&api.page(&ack).await, StatusCode::OK);
    assert!(page.contains("<html lang=\"ar\" dir=\"rtl\">"), "{page}");
    assert!(page.contains("تأكيد الاستلام"), "{page}");

    // A JSON POST still answers JSON.
    let s = call(Method::POST, &ack)
        .json(&json!({}))
        .send(&api.app)
        .await;
    assert_eq!(s.status, StatusCode::OK, "{}", s.text());
    assert_eq!(s.json()["recorded"], "acknowledgement");
    assert!(s.json()["next_posture_due"].is_string(), "{}", s.text());

    // An API client may post the page's form too, and gets JSON back.
    let next = s.json()["next_posture_link"].as_str().unwrap().to_owned();
    let next = &next[next.find("/r/").unwrap()..];
    let bad = call(Method::POST, next)
        .header(header::ACCEPT, "application/json")
        .body(FORM, b"measures=lasers".to_vec())
        .send(&api.app)
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.text());
    assert!(bad.content_type().starts_with("application/problem+json"));
    assert!(
        bad.json()["detail"]
            .as_str()
            .unwrap()
            .contains("\"lasers\""),
        "{}",
        bad.text()
    );
    let ok = call(Method::POST, next)
        .header(header::ACCEPT, "application/json")
        .body(FORM, b"measures=detection_dogs&note=at+the+gates".to_vec())
        .send(&api.app)
        .await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.text());
    assert_eq!(ok.json()["recorded"], "posture_report");
    let reports = api.store.posture_reports(None).unwrap();
    assert_eq!(reports.last().unwrap().measures, [Measure::DetectionDogs]);
    assert_eq!(reports.last().unwrap().note, "at the gates");
}
