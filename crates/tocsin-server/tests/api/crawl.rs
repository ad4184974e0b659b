//! The proof of need to know (issue 16, docs/security.md "What each principal can see"): a case
//! whose every marked field holds a unique canary — portions at U, C, S, TS, REL TO, NOFORN and
//! ORCON, target labels, the actor, the title, restricted terms, notices (reminders, escalation,
//! cancel), feedback, a posture note, a waiver's rationale, tasks and a leak-gate block — read by
//! principals of every clearance × (domestic, foreign listed in REL TO, foreign not listed) × role,
//! plus staff tokens with no user, audience-bound partner tokens and the anonymous public, over
//! **every GET operation of the OpenAPI document the server serves** (path ids filled from the list
//! routes, every declared query parameter tried), TAXII 2.1, the CAP feed and the console's JSON.
//! Any canary a principal may not read fails the test, as does a search (`?q=`) for a withheld
//! canary that answers differently from a search for text that does not exist.
//!
//! The store is SQLite, or PostgreSQL with `TOCSIN_TEST_BACKEND=postgres` (a fresh database on
//! `TOCSIN_TEST_PG`), as in the end-to-end suite.

use crate::common::{call, reference_engine, t0, PASSWORD};
use axum::http::{header, Method, StatusCode};
use axum::Router;
use chrono::{Duration, TimeZone, Utc};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use tocsin_core::audience::Audience;
use tocsin_core::marking::{parse_mark, releasable_to};
use tocsin_core::{Classification, CountryCode, Portion, PortionMark, Threat, Timestamp};
use tocsin_engine::Engine;
use tocsin_server::redact::{may_read, threat_mark};
use tocsin_server::{
    create_user, issue_scoped_token, issue_token, router, AppState, NeedToKnow, Role, Scope,
    TokenSpec,
};
use tocsin_store::{AuditCtx, Store};

const CASE: &str = "canary-case";
const ORIGINATOR: &str = "USA";

/// What a canary's reader must be cleared for.
#[derive(Debug, Clone)]
enum Rule {
    /// A marked field: readable with this mark.
    Mark(PortionMark),
    /// Free text about the threat (title, feedback, rationale, notes, task details): only those
    /// who may read the whole threat.
    Whole,
    /// A restricted term: analysts (and above) who may read the whole threat.
    Term,
}

/// Who reads.
#[derive(Debug, Clone)]
enum Reader {
    /// A user-owned token (or the unrestricted staff token with no user).
    Staff { role: Role, ntk: NeedToKnow },
    /// A partner's TAXII/CAP token, judged as its audience.
    Audience(Audience),
    /// No credential at all (the public CAP feed): judged as the public audience of the case.
    Anonymous(Audience),
}

struct Principal {
    name: String,
    token: Option<String>,
    reader: Reader,
}

fn mark(s: &str) -> PortionMark {
    parse_mark(s).unwrap_or_else(|e| panic!("{s}: {e}"))
}

fn usa() -> CountryCode {
    CountryCode::parse(ORIGINATOR).unwrap()
}

/// The store the run selected: SQLite (default) or PostgreSQL (`TOCSIN_TEST_BACKEND=postgres`).
fn store() -> (
    Arc<dyn Store>,
    Option<tocsin_store_postgres::testing::TempDb>,
) {
    match std::env::var("TOCSIN_TEST_BACKEND").as_deref() {
        Err(_) | Ok("") | Ok("sqlite") => (
            Arc::new(tocsin_store_sqlite::SqliteStore::open_in_memory().unwrap()),
            None,
        ),
        Ok("postgres") | Ok("postgresql") => {
            let db = tocsin_store_postgres::testing::TempDb::create()
                .unwrap_or_else(|e| panic!("PostgreSQL for the crawl: {e}"));
            let store = tocsin_store_postgres::PgStore::connect(db.url())
                .unwrap_or_else(|e| panic!("connecting to {}: {e}", db.url()));
            (Arc::new(store), Some(db))
        }
        Ok(other) => panic!("TOCSIN_TEST_BACKEND={other:?}: use sqlite or postgres"),
    }
}

struct World {
    app: Router,
    store: Arc<dyn Store>,
    engine: Arc<Engine>,
    clock: Arc<AtomicI64>,
    canaries: std::cell::RefCell<BTreeMap<String, Rule>>,
    threat: Threat,
    _dir: tempfile::TempDir,
    _pg: Option<tocsin_store_postgres::testing::TempDb>,
}

impl World {
    fn now(&self) -> Timestamp {
        Utc.timestamp_opt(self.clock.load(Ordering::SeqCst), 0)
            .unwrap()
    }

    fn advance(&self, d: Duration) {
        self.clock.fetch_add(d.num_seconds(), Ordering::SeqCst);
    }

    async fn get(&self, uri: &str, token: Option<&str>) -> (StatusCode, String) {
        let sent = call(Method::GET, uri)
            .bearer_opt(token)
            .send(&self.app)
            .await;
        (sent.status, sent.text())
    }

    async fn ok(&self, method: Method, uri: &str, token: &str, body: Option<Value>) -> Value {
        let sent = call(method.clone(), uri)
            .bearer(token)
            .json_opt(body.as_ref())
            .send(&self.app)
            .await;
        assert!(
            sent.status.is_success(),
            "{method} {uri}: {} {}",
            sent.status,
            sent.text()
        );
        sent.json()
    }
}

/// The reference report with a canary in every marked field, and portions at every marking.
fn canary_threat(canaries: &mut BTreeMap<String, Rule>) -> Threat {
    let examples = tocsin_testkit::examples_dir();
    let mut t = Engine::parse_report_file(&examples.join("report.txt")).unwrap();
    t.id = tocsin_core::ThreatId::new(CASE);
    let mut add = |name: &str, rule: Rule| {
        let c = format!("QZX{name}QZX");
        canaries.insert(c.clone(), rule);
        c
    };
    t.title = format!("{} {}", t.title, add("TITLE", Rule::Whole));
    let actor_mark = t.actor_mark.clone();
    t.actor = Some(format!("ISIS-K {}", add("ACTOR", Rule::Mark(actor_mark))));
    let term = add("TERM", Rule::Term);
    t.restricted_terms.push(term.clone());
    for (i, spec) in t.targets.iter_mut().enumerate() {
        let c = add(&format!("LABEL{i}"), Rule::Mark(spec.mark.clone()));
        spec.label = format!("{} {c}", spec.label);
    }
    for (i, p) in t.portions.iter_mut().enumerate() {
        let c = add(&format!("PORTION{i}"), Rule::Mark(p.mark.clone()));
        p.text = format!("{} Marker {c}.", p.text);
        if p.mark == mark("(S//NF)") {
            p.text = format!("{} The programme is {term}.", p.text);
        }
    }
    let line = t.portions.iter().map(|p| p.line).max().unwrap_or(0);
    for (i, m) in [
        "(U)",
        "(C)",
        "(C//NF)",
        "(C//REL TO USA, RUS)",
        "(S)",
        "(S//OC/NF)",
        "(S//REL TO USA, GBR)",
        "(TS//NF)",
        "(U//FOUO)",
    ]
    .iter()
    .enumerate()
    {
        let pm = mark(m);
        let c = add(&format!("EXTRA{i}"), Rule::Mark(pm.clone()));
        t.portions.push(Portion {
            mark: pm,
            text: format!("Additional reporting number {i} says {c}."),
            tearline: false,
            lang: None,
            line: line + 1 + i,
        });
    }
    t
}

/// Seed the case through the API and the engine as analysts would work it.
async fn world() -> World {
    let dir = tempfile::tempdir().unwrap();
    let (store, pg) = store();
    let clock = Arc::new(AtomicI64::new(t0().timestamp()));
    let engine = Arc::new(reference_engine(store.clone(), dir.path(), t0(), false));
    let c = clock.clone();
    let state = AppState::new(store.clone())
        .with_clock(move || Utc.timestamp_opt(c.load(Ordering::SeqCst), 0).unwrap())
        .with_engine(engine.clone());
    let mut canaries = BTreeMap::new();
    let threat = canary_threat(&mut canaries);
    let w = World {
        app: router(state),
        store: store.clone(),
        engine: engine.clone(),
        clock,
        canaries: std::cell::RefCell::new(canaries),
        threat: threat.clone(),
        _dir: dir,
        _pg: pg,
    };
    let ctx = AuditCtx::new("seed", w.now());
    let admin = issue_token(store.as_ref(), Role::Admin, "seed admin", None, &ctx).unwrap();
    let a1 = issue_token(store.as_ref(), Role::Approver, "seed a1", None, &ctx).unwrap();
    let a2 = issue_token(store.as_ref(), Role::Approver, "seed a2", None, &ctx).unwrap();
    let t = format!("/api/v1/threats/{CASE}");
    w.ok(
        Method::POST,
        "/api/v1/threats",
        &admin,
        Some(serde_json::to_value(&threat).unwrap()),
    )
    .await;
    // A waiver with a rationale, then a fresh proposal to warn, approved (two people).
    w.ok(Method::POST, &format!("{t}/determinations"), &a1, None)
        .await;
    let rationale = format!("Rationale {}", add_rule(&w, "RATIONALE", Rule::Whole));
    w.ok(
        Method::POST,
        &format!("{t}/determinations/waive"),
        &a1,
        Some(json!({"justification": "already_aware", "rationale": rationale})),
    )
    .await;
    w.ok(Method::POST, &format!("{t}/determinations"), &a1, None)
        .await;
    w.ok(
        Method::POST,
        &format!("{t}/determinations/approve"),
        &a2,
        None,
    )
    .await;
    let drafts = w
        .ok(Method::POST, &format!("{t}/warnings"), &admin, None)
        .await;
    let ids: Vec<(String, String)> = drafts["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["id"].as_str().unwrap().to_owned(),
                d["audience_id"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let find = |aud: &str| {
        ids.iter()
            .find(|(_, a)| a == aud)
            .unwrap_or_else(|| panic!("no warning for {aud}: {drafts}"))
            .0
            .clone()
    };
    let (fsb, op, public) = (
        find("fsb-liaison"),
        find("op-crocus"),
        find("public-us-citizens-russia"),
    );
    for id in [&fsb, &op, &public] {
        w.ok(
            Method::POST,
            &format!("/api/v1/warnings/{id}/approve"),
            &a2,
            None,
        )
        .await;
        w.ok(
            Method::POST,
            &format!("/api/v1/warnings/{id}/queue"),
            &a1,
            None,
        )
        .await;
    }
    assert!(w.engine.deliver_due(w.now()).unwrap() >= 2);
    // Feedback and a posture note, free text about the case.
    let feedback = format!("Feedback {}", add_rule(&w, "FEEDBACK", Rule::Whole));
    w.ok(
        Method::POST,
        &format!("/api/v1/warnings/{fsb}/feedback"),
        &admin,
        Some(json!({"kind": "too_general", "text": feedback})),
    )
    .await;
    let note = format!("Note {}", add_rule(&w, "POSTURENOTE", Rule::Whole));
    w.ok(
        Method::POST,
        &format!("/api/v1/warnings/{fsb}/posture-reports"),
        &admin,
        Some(json!({"by": "duty officer", "measures": ["extra_screening"], "note": note})),
    )
    .await;
    // Missed check-ins: reminder, then escalation notices (the operator never reports).
    let interval = 24;
    w.advance(Duration::hours(interval));
    w.engine.check_posture(w.now()).unwrap();
    w.advance(Duration::hours(interval));
    w.engine.check_posture(w.now()).unwrap();
    w.engine.deliver_due(w.now()).unwrap();
    // The partner's warning withdrawn: cancel notices carry its text.
    w.ok(
        Method::POST,
        &format!("/api/v1/warnings/{fsb}/cancel"),
        &a2,
        Some(json!({"reason": "crawl"})),
    )
    .await;
    w.engine.deliver_due(w.now()).unwrap();
    // The public warning, held back for a while, goes out too (the CAP feed).
    w.engine.release_due(w.now()).unwrap();
    w.engine.deliver_due(w.now()).unwrap();
    // A draft that leaks a restricted term (written past the gate): the gate's block names it.
    let draft = w
        .ok(
            Method::POST,
            &format!("/api/v1/warnings/{op}/update"),
            &admin,
            None,
        )
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let pw = store.warning(&draft.as_str().into()).unwrap().unwrap();
    let term = w
        .canaries
        .borrow()
        .iter()
        .find(|(_, r)| matches!(r, Rule::Term))
        .unwrap()
        .0
        .clone();
    store
        .edit_draft_warning(
            &draft.as_str().into(),
            &tocsin_store::review::DraftEdit {
                headline: pw.headline.clone(),
                text: format!("{}\nAs {term} told us.", pw.text),
                measures: pw.measures.clone(),
            },
            &AuditCtx::new("seed", w.now()),
        )
        .unwrap();
    w.engine.check_sla(w.now()).unwrap();
    w
}

/// A canary for text written while the case is worked (rationale, feedback, notes).
fn add_rule(w: &World, name: &str, rule: Rule) -> String {
    let c = format!("QZX{name}QZX");
    w.canaries.borrow_mut().insert(c.clone(), rule);
    c
}

impl Principal {
    /// May this principal read a canary with `rule` of `threat`?
    fn may(&self, rule: &Rule, threat: &Threat) -> bool {
        let whole = threat_mark(threat);
        match &self.reader {
            Reader::Staff { role, ntk } => match rule {
                Rule::Mark(m) => may_read(ntk, m, Some(usa())).is_ok(),
                Rule::Whole => may_read(ntk, &whole, Some(usa())).is_ok(),
                Rule::Term => *role >= Role::Analyst && may_read(ntk, &whole, Some(usa())).is_ok(),
            },
            Reader::Audience(a) | Reader::Anonymous(a) => match rule {
                Rule::Mark(m) => releasable_to(m, a, usa()).is_ok(),
                Rule::Whole => releasable_to(&whole, a, usa()).is_ok(),
                Rule::Term => false,
            },
        }
    }
}

async fn principals(w: &World) -> Vec<Principal> {
    let ctx = AuditCtx::new("crawl", w.now());
    let mut out = Vec::new();
    let roles = [Role::Viewer, Role::Analyst, Role::Approver, Role::Admin];
    for clearance in [
        Classification::U,
        Classification::C,
        Classification::S,
        Classification::TS,
    ] {
        // Domestic (the originator's), foreign listed in REL TO, foreign not listed.
        for nationality in ["USA", "RUS", "FRA"] {
            for role in roles {
                let name = format!("{role}-{clearance:?}-{nationality}").to_lowercase();
                let n = CountryCode::parse(nationality).unwrap();
                let user = create_user(
                    w.store.as_ref(),
                    &name,
                    role,
                    clearance,
                    n,
                    Some(PASSWORD),
                    &ctx,
                )
                .unwrap();
                let (token, _) = issue_scoped_token(
                    w.store.as_ref(),
                    &TokenSpec {
                        role,
                        label: name.clone(),
                        expires_at: None,
                        scopes: Scope::up_to(role),
                        user_id: Some(user.id),
                    },
                    &ctx,
                )
                .unwrap();
                out.push(Principal {
                    name,
                    token: Some(token),
                    reader: Reader::Staff {
                        role,
                        ntk: NeedToKnow::Cleared {
                            clearance,
                            nationality: n,
                        },
                    },
                });
            }
        }
    }
    for role in roles {
        let name = format!("unrestricted-{role}");
        let token = issue_token(w.store.as_ref(), role, &name, None, &ctx).unwrap();
        out.push(Principal {
            name,
            token: Some(token),
            reader: Reader::Staff {
                role,
                ntk: NeedToKnow::Unrestricted,
            },
        });
    }
    for aud in ["fsb-liaison", "op-crocus"] {
        let a = w.store.audience(&aud.into()).unwrap().unwrap();
        let token = issue_token(w.store.as_ref(), Role::Viewer, aud, None, &ctx).unwrap();
        let rec = w
            .store
            .token_by_hash(&tocsin_server::hash_token(&token))
            .unwrap()
            .unwrap();
        w.store
            .set_token_audience(rec.id, Some(&aud.into()), &ctx)
            .unwrap();
        out.push(Principal {
            name: format!("audience-{aud}"),
            token: Some(token),
            reader: Reader::Audience(a),
        });
    }
    out.push(Principal {
        name: "anonymous".into(),
        token: None,
        reader: Reader::Anonymous(
            w.store
                .audience(&"public-us-citizens-russia".into())
                .unwrap()
                .unwrap(),
        ),
    });
    out
}

/// Values to try for a query parameter of the document.
fn query_values(name: &str, schema: &Value) -> Vec<String> {
    let s = schema.get("type").and_then(Value::as_str).unwrap_or("");
    let mut enums: Vec<String> = schema
        .get("enum")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    // `oneOf`/`$ref` enums (an Option<Enum>): look one level in.
    for alt in ["oneOf", "anyOf"] {
        if let Some(a) = schema.get(alt).and_then(Value::as_array) {
            for x in a {
                enums.extend(query_values(name, x));
            }
        }
    }
    if !enums.is_empty() {
        return enums;
    }
    match (name, s, schema.get("format").and_then(Value::as_str)) {
        ("threat", ..) => vec![CASE.into()],
        ("q", ..) => vec!["Moscow".into()],
        ("limit", ..) => vec!["1000".into()],
        (_, "boolean", _) => vec!["true".into()],
        (_, _, Some("date-time")) => vec!["2024-01-01T00:00:00Z".into()],
        (_, _, Some("date")) => vec!["2024-01-01".into()],
        (_, "integer", _) => vec!["0".into()],
        _ => vec![],
    }
}

/// Every GET of the document with its path ids filled and each query parameter tried: the URIs.
async fn api_uris(w: &World, doc: &Value, admin: &str) -> Vec<String> {
    let mut uris = BTreeSet::new();
    let paths = doc["paths"].as_object().expect("the document has paths");
    for (template, item) in paths {
        let Some(op) = item.get("get") else { continue };
        let params: Vec<&Value> = op
            .get("parameters")
            .and_then(Value::as_array)
            .map(|a| a.iter().collect())
            .unwrap_or_default();
        // Fill each `{param}` from the list route before it.
        let mut bases = vec![String::new()];
        let mut rest = template.as_str();
        while let Some(open) = rest.find('{') {
            let close = rest[open..].find('}').unwrap() + open;
            let prefix_in_template = &template[..template.len() - rest.len() + open];
            let list = prefix_in_template.trim_end_matches('/');
            let ids = list_ids(w, list, admin).await;
            let lit = &rest[..open];
            bases = bases
                .iter()
                .flat_map(|b| ids.iter().map(move |id| format!("{b}{lit}{id}")))
                .collect();
            rest = &rest[close + 1..];
        }
        for b in bases {
            let base = format!("{b}{rest}");
            uris.insert(base.clone());
            for p in &params {
                if p["in"] != "query" {
                    continue;
                }
                let name = p["name"].as_str().unwrap();
                for v in query_values(name, &p["schema"]) {
                    uris.insert(format!("{base}?{name}={}", enc(&v)));
                }
            }
        }
    }
    uris.into_iter().collect()
}

/// Ids from a list route (`items[].id`), or one that names nothing when there is no list.
async fn list_ids(w: &World, list: &str, admin: &str) -> Vec<String> {
    let (status, text) = w.get(list, Some(admin)).await;
    let mut ids: Vec<String> = if status.is_success() {
        serde_json::from_str::<Value>(&text)
            .ok()
            .and_then(|v| v["items"].as_array().cloned())
            .unwrap_or_default()
            .iter()
            .filter_map(|i| match &i["id"] {
                Value::String(s) => Some(s.clone()),
                Value::Number(n) => Some(n.to_string()),
                _ => None,
            })
            .collect()
    } else {
        Vec::new()
    };
    // The registry is large and holds no marked content: a few of its records suffice; every
    // threat and warning is read.
    if !list.ends_with("/threats") && !list.ends_with("/warnings") {
        ids.truncate(6);
    }
    ids.push("no-such-record".into());
    ids
}

fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// TAXII and CAP documents, from their own indexes (read with the unrestricted admin).
async fn standards_uris(w: &World, admin: &str) -> Vec<String> {
    let mut uris = vec![
        "/taxii2/".to_owned(),
        "/taxii2/api/".to_owned(),
        "/taxii2/api/collections/".to_owned(),
        "/cap/feed.atom".to_owned(),
        "/console/clock.json".to_owned(),
        "/auth/me".to_owned(),
        "/health".to_owned(),
    ];
    let taxii = |u: &str| {
        call(Method::GET, u)
            .bearer(admin)
            .header(header::ACCEPT, "application/taxii+json;version=2.1")
    };
    let cols = taxii("/taxii2/api/collections/").send(&w.app).await.json();
    for c in cols["collections"].as_array().cloned().unwrap_or_default() {
        let id = c["id"].as_str().unwrap().to_owned();
        let base = format!("/taxii2/api/collections/{id}/");
        uris.push(base.clone());
        uris.push(format!("{base}objects/"));
        uris.push(format!("{base}manifest/"));
        let objs = taxii(&format!("{base}objects/")).send(&w.app).await.json();
        for o in objs["objects"].as_array().cloned().unwrap_or_default() {
            if let Some(oid) = o["id"].as_str() {
                uris.push(format!("{base}objects/{oid}/"));
            }
        }
    }
    // Every alert the feed links to, for the public and for a staff token.
    for token in [None, Some(admin)] {
        let feed = w.get("/cap/feed.atom", token).await.1;
        for part in feed.split("/cap/alerts/").skip(1) {
            let file: String = part
                .chars()
                .take_while(|c| !matches!(c, '"' | '<' | '\'' | ' '))
                .collect();
            uris.push(format!("/cap/alerts/{file}"));
        }
    }
    uris.sort();
    uris.dedup();
    uris
}

async fn read_as(w: &World, p: &Principal, uri: &str) -> (StatusCode, String) {
    let mut c = call(Method::GET, uri).bearer_opt(p.token.as_deref());
    if uri.starts_with("/taxii2/") {
        c = c.header(header::ACCEPT, "application/taxii+json;version=2.1");
    }
    let sent = c.send(&w.app).await;
    (sent.status, sent.text())
}

#[tokio::test]
async fn no_principal_reads_a_canary_above_it_on_any_route() {
    let w = world().await;
    let canaries = w.canaries.borrow().clone();
    let stored = w.store.threat(&CASE.into()).unwrap().unwrap();
    assert_eq!(stored.title, w.threat.title);
    let ctx = AuditCtx::new("crawl", w.now());
    let admin = issue_token(w.store.as_ref(), Role::Admin, "crawler", None, &ctx).unwrap();
    let (status, doc) = w.get("/api/v1/openapi.json", None).await;
    assert_eq!(status, StatusCode::OK);
    let doc: Value = serde_json::from_str(&doc).unwrap();
    let mut uris = api_uris(&w, &doc, &admin).await;
    uris.extend(standards_uris(&w, &admin).await);
    assert!(
        uris.iter().any(|u| u.starts_with("/api/v1/tasks"))
            && uris.iter().any(|u| u.contains("/deliveries"))
            && uris
                .iter()
                .any(|u| u.starts_with("/taxii2/api/collections/"))
            && uris.iter().any(|u| u.starts_with("/cap/alerts/")),
        "the crawl must reach tasks, deliveries, TAXII objects and CAP alerts: {uris:#?}"
    );
    let principals = principals(&w).await;
    let mut leaks: Vec<String> = Vec::new();
    let mut seen: BTreeSet<String> = BTreeSet::new();
    let mut requests = 0usize;
    for p in &principals {
        for uri in &uris {
            let (status, body) = read_as(&w, p, uri).await;
            requests += 1;
            assert!(
                status != StatusCode::INTERNAL_SERVER_ERROR,
                "{} GET {uri}: 500 {body}",
                p.name
            );
            // A recipient's link is their credential: no API answer carries one.
            if uri.starts_with("/api/") && tocsin_server::redact::strip_link_tokens(&body).is_some()
            {
                leaks.push(format!("{} GET {uri}: a recipient link token", p.name));
            }
            for (canary, rule) in &canaries {
                if body.contains(canary.as_str()) {
                    seen.insert(canary.clone());
                    if !p.may(rule, &stored) {
                        leaks.push(format!("{} GET {uri}: {canary} ({rule:?})", p.name));
                    }
                }
            }
        }
        // Search is no oracle: a withheld canary answers as text that does not exist does.
        if matches!(p.reader, Reader::Staff { .. }) {
            let none = read_as(&w, p, "/api/v1/threats?q=QZXNOSUCHTEXTQZX").await.1;
            let none: Value = serde_json::from_str(&none).unwrap();
            for (canary, rule) in &canaries {
                let uri = format!("/api/v1/threats?q={canary}");
                let (_, body) = read_as(&w, p, &uri).await;
                requests += 1;
                let v: Value = serde_json::from_str(&body).unwrap();
                if !p.may(rule, &stored) && v["count"] != none["count"] {
                    leaks.push(format!(
                        "{} GET {uri}: found {} threats for a canary it may not read",
                        p.name, v["count"]
                    ));
                }
            }
        }
    }
    // Not hollow: every canary was served to someone, and reading was refused to no one wholesale.
    let missing: Vec<&String> = canaries.keys().filter(|c| !seen.contains(*c)).collect();
    assert!(
        missing.is_empty(),
        "canaries no principal ever read (the crawl would not see them leak): {missing:?}"
    );
    eprintln!(
        "crawl: {} principals × {} routes, {requests} requests, {} canaries",
        principals.len(),
        uris.len(),
        canaries.len()
    );
    assert!(
        leaks.is_empty(),
        "{} canaries read by principals not cleared for them; the first:\n{}",
        leaks.len(),
        leaks
            .iter()
            .take(60)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}
