//! TAXII 2.1 and CAP routes against an in-memory store: collections per audience, partner
//! scoping, media types, paging headers, versions, restricted CAP alerts.

use crate::common;
use axum::http::{header, Method, StatusCode};
use axum::Router;
use chrono::{Duration, TimeZone, Utc};
use serde_json::Value;
use std::sync::Arc;
use tocsin_core::audience::{Audience, AudienceKind};
use tocsin_core::entity::Footprint;
use tocsin_core::lifecycle::WarningState;
use tocsin_core::marking::{Classification, PortionMark};
use tocsin_core::tracking::{GatedWarning, Warning};
use tocsin_core::{
    Area, CountryCode, Credibility, GeoPoint, Harm, Portion, TargetSpec, Threat, ThreatWindow,
    Timestamp,
};
use tocsin_server::taxii::collection_id;
use tocsin_server::{issue_token, router, AppState, Role};
use tocsin_store::{AuditCtx, Exchange, Store};
use tocsin_store_sqlite::SqliteStore;

const TAXII: &str = "application/taxii+json;version=2.1";

fn t(day: u32, hour: u32) -> Timestamp {
    Utc.with_ymd_and_hms(2024, 3, day, hour, 0, 0).unwrap()
}

fn aud(id: &str, kind: AudienceKind, clearance: Classification) -> Audience {
    Audience {
        channels: vec![],
        escalation_contact: Some("duty desk".into()),
        ..tocsin_testkit::audience(id, kind, clearance)
    }
}

/// A warning to `aud` as the engine stores it: through the leak gate against `threat`.
fn warning(threat: &Threat, aud: &Audience, version: u32, state: WarningState) -> GatedWarning {
    let w = Warning {
        id: format!("th.{}.v{version}", aud.id).as_str().into(),
        version,
        supersedes: (version > 1)
            .then(|| format!("th.{}.v{}", aud.id, version - 1).as_str().into()),
        headline: format!("Warning for {} v{version}", aud.id),
        valid: ThreatWindow::new(t(6, 9), t(9, 9)).unwrap(),
        state,
        created_at: t(6, 9) + Duration::hours(version as i64),
        language: "en".into(),
        translations: Vec::new(),
        ..tocsin_testkit::warning("th", aud)
    };
    GatedWarning::gate(w, threat, aud, &[]).expect("the fixture warning passes the leak gate")
}

struct Fixture {
    app: Router,
    store: Arc<SqliteStore>,
    admin: String,
    partner: String,
    operator: String,
}

fn fixture() -> Fixture {
    let store = Arc::new(SqliteStore::open_in_memory().unwrap());
    let ctx = AuditCtx::new("test", t(6, 8));
    let fsb = aud("fsb", AudienceKind::PartnerService, Classification::S);
    let op = aud("op", AudienceKind::Operator, Classification::U);
    let public = Audience {
        country: None,
        ..aud("public", AudienceKind::Public, Classification::U)
    };
    store
        .upsert_audiences(&[fsb.clone(), op.clone(), public.clone()], &ctx)
        .unwrap();
    let threat = Threat {
        id: "th".into(),
        title: "t".into(),
        originator: CountryCode::parse("USA").unwrap(),
        received: t(6, 8),
        actor: Some("ISIS-K".into()),
        actor_mark: PortionMark {
            classification: Classification::S,
            ..PortionMark::unclassified()
        },
        harms: vec![Harm::Killing],
        credibility: Credibility::Probable,
        window: ThreatWindow::new(t(6, 8), t(20, 0)).unwrap(),
        public_advice_hours: 48,
        targets: vec![TargetSpec {
            label: "large gatherings in Moscow".into(),
            mark: PortionMark::unclassified(),
            name: None,
            categories: vec![],
            min_size: Some(1000),
            area: Some(Area::Circle {
                center: GeoPoint::new(55.75, 37.61).unwrap(),
                radius_km: 30.0,
            }),
            window: None,
            footprint: Footprint::EMPTY,
        }],
        portions: vec![Portion {
            mark: PortionMark::unclassified(),
            text: "x".into(),
            tearline: true,
            lang: None,
            line: 1,
        }],
        restricted_terms: vec![],
        tlp: None,
        measures: vec![],
    };
    store.insert_threat(&threat, &ctx).unwrap();
    for w in [
        warning(&threat, &fsb, 1, WarningState::Superseded),
        warning(&threat, &fsb, 2, WarningState::Delivered),
        warning(&threat, &op, 1, WarningState::Delivered),
        warning(&threat, &public, 1, WarningState::Delivered),
        warning(&threat, &public, 2, WarningState::Draft),
    ] {
        store.insert_warning(&w, &ctx).unwrap();
    }
    let admin = issue_token(store.as_ref(), Role::Admin, "admin", None, &ctx).unwrap();
    let partner = issue_token(store.as_ref(), Role::Viewer, "fsb", None, &ctx).unwrap();
    let operator = issue_token(store.as_ref(), Role::Viewer, "op", None, &ctx).unwrap();
    for (secret, a) in [(&partner, "fsb"), (&operator, "op")] {
        let rec = store
            .token_by_hash(&tocsin_server::hash_token(secret))
            .unwrap()
            .unwrap();
        store
            .set_token_audience(rec.id, Some(&a.into()), &ctx)
            .unwrap();
    }
    let state = AppState::new(store.clone()).with_clock(|| t(7, 0));
    Fixture {
        app: router(state),
        store,
        admin,
        partner,
        operator,
    }
}

async fn call(
    app: &Router,
    method: &str,
    uri: &str,
    token: Option<&str>,
    accept: Option<&str>,
    body: Option<(&str, &str)>,
) -> (StatusCode, axum::http::HeaderMap, String) {
    let method: Method = method
        .parse()
        .unwrap_or_else(|e| panic!("method {method:?}: {e}"));
    let mut c = common::call(method, uri).bearer_opt(token);
    if let Some(a) = accept {
        c = c.header(header::ACCEPT, a);
    }
    if let Some((ct, text)) = body {
        c = c.body(ct, text.as_bytes().to_vec());
    }
    let sent = c.send(app).await;
    let text = sent.text();
    (sent.status, sent.headers, text)
}

fn json(s: &str) -> Value {
    serde_json::from_str(s).unwrap_or_else(|e| panic!("{e}: {s}"))
}

#[tokio::test]
async fn a_partner_sees_only_its_collection_and_may_share() {
    let f = fixture();
    let (s, h, body) = call(
        &f.app,
        "GET",
        "/taxii2/api/collections/",
        Some(&f.partner),
        Some(TAXII),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(h.get(header::CONTENT_TYPE).unwrap(), TAXII);
    let cols = json(&body)["collections"].as_array().unwrap().clone();
    assert_eq!(cols.len(), 1, "{body}");
    assert_eq!(cols[0]["id"], collection_id(&"fsb".into()));
    assert_eq!(cols[0]["can_write"], true);
    // The operator's collection does not exist for the partner.
    let op_objects = format!(
        "/taxii2/api/collections/{}/objects/",
        collection_id(&"op".into())
    );
    assert_eq!(
        call(
            &f.app,
            "GET",
            &op_objects,
            Some(&f.partner),
            Some(TAXII),
            None
        )
        .await
        .0,
        StatusCode::NOT_FOUND
    );
    // A staff token sees every STIX-capable audience (partner, operator), never the public.
    let (_, _, body) = call(
        &f.app,
        "GET",
        "/taxii2/api/collections/",
        Some(&f.admin),
        Some(TAXII),
        None,
    )
    .await;
    assert_eq!(
        json(&body)["collections"].as_array().unwrap().len(),
        2,
        "{body}"
    );
    // An operator may read its own collection but not add to it.
    let env = r#"{"objects":[{"type":"note","spec_version":"2.1","id":"note--5d0092c5-5f74-4287-9642-33f4c354e56d","created":"2024-03-07T00:00:00.000Z","modified":"2024-03-07T00:00:00.000Z","content":"x","object_refs":["report--5d0092c5-5f74-4287-9642-33f4c354e56d"]}]}"#;
    let (s, _, body) = call(
        &f.app,
        "POST",
        &op_objects,
        Some(&f.operator),
        Some(TAXII),
        Some((TAXII, env)),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{body}");
    let fsb_objects = format!(
        "/taxii2/api/collections/{}/objects/",
        collection_id(&"fsb".into())
    );
    let (s, _, body) = call(
        &f.app,
        "POST",
        &fsb_objects,
        Some(&f.partner),
        Some(TAXII),
        Some((TAXII, env)),
    )
    .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{body}");
    let st = json(&body);
    assert_eq!(st["success_count"], 1);
    let (s, _, body) = call(
        &f.app,
        "GET",
        &format!("/taxii2/api/status/{}/", st["id"].as_str().unwrap()),
        Some(&f.partner),
        Some(TAXII),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(json(&body)["status"], "complete");
    assert_eq!(
        f.store
            .shared_objects(&collection_id(&"fsb".into()))
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn media_types_paging_headers_and_versions() {
    let f = fixture();
    let base = format!("/taxii2/api/collections/{}", collection_id(&"fsb".into()));
    assert_eq!(
        call(
            &f.app,
            "GET",
            "/taxii2/",
            Some(&f.admin),
            Some("application/json"),
            None
        )
        .await
        .0,
        StatusCode::NOT_ACCEPTABLE
    );
    assert_eq!(
        call(&f.app, "GET", "/taxii2/", None, Some(TAXII), None)
            .await
            .0,
        StatusCode::UNAUTHORIZED
    );
    let (s, h, _) = call(
        &f.app,
        "POST",
        &format!("{base}/objects/"),
        Some(&f.admin),
        Some(TAXII),
        Some(("application/json", "{}")),
    )
    .await;
    assert_eq!(s, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(
        h.get(header::CONTENT_TYPE).unwrap(),
        TAXII,
        "errors are TAXII error messages"
    );
    // Paging: 3 per page, `next` until `more` is false; headers name the page's first/last addition.
    let mut seen = Vec::new();
    let mut next: Option<String> = None;
    loop {
        let uri = match &next {
            Some(n) => format!("{base}/objects/?limit=3&next={n}"),
            None => format!("{base}/objects/?limit=3"),
        };
        let (s, h, body) = call(&f.app, "GET", &uri, Some(&f.partner), Some(TAXII), None).await;
        assert_eq!(s, StatusCode::OK, "{body}");
        assert!(
            h.get("x-taxii-date-added-first").is_some()
                && h.get("x-taxii-date-added-last").is_some()
        );
        let v = json(&body);
        let objs = v["objects"].as_array().unwrap();
        assert!(objs.len() <= 3);
        seen.extend(objs.iter().map(|o| o["id"].as_str().unwrap().to_owned()));
        if v["more"] == true {
            next = Some(v["next"].as_str().unwrap().to_owned());
        } else {
            break;
        }
    }
    let unique: std::collections::BTreeSet<&String> = seen.iter().collect();
    assert_eq!(unique.len(), seen.len());
    assert!(seen.len() > 3);
    // Two warning versions → the report has two versions; `last` (default) gives one.
    let (_, _, body) = call(
        &f.app,
        "GET",
        &format!("{base}/objects/?match[type]=report"),
        Some(&f.partner),
        Some(TAXII),
        None,
    )
    .await;
    let reports = json(&body)["objects"].as_array().unwrap().clone();
    assert_eq!(reports.len(), 1);
    assert!(
        reports[0]["name"].as_str().unwrap().ends_with("v2"),
        "the last version: {}",
        reports[0]
    );
    let rid = reports[0]["id"].as_str().unwrap();
    let (_, _, body) = call(
        &f.app,
        "GET",
        &format!("{base}/objects/{rid}/versions/"),
        Some(&f.partner),
        Some(TAXII),
        None,
    )
    .await;
    assert_eq!(
        json(&body)["versions"].as_array().unwrap().len(),
        2,
        "{body}"
    );
    let (_, _, body) = call(
        &f.app,
        "GET",
        &format!("{base}/objects/?match[id]={rid}&match[version]=all"),
        Some(&f.partner),
        Some(TAXII),
        None,
    )
    .await;
    assert_eq!(json(&body)["objects"].as_array().unwrap().len(), 2);
    let (_, _, body) = call(
        &f.app,
        "GET",
        &format!("{base}/manifest/?match[id]={rid}&match[version]=first"),
        Some(&f.partner),
        Some(TAXII),
        None,
    )
    .await;
    let m = json(&body);
    assert_eq!(m["objects"].as_array().unwrap().len(), 1);
    assert_eq!(
        m["objects"][0]["media_type"],
        "application/stix+json;version=2.1"
    );
    // added_after in the future of every addition → nothing.
    let (_, _, body) = call(
        &f.app,
        "GET",
        &format!("{base}/objects/?added_after=2030-01-01T00:00:00Z"),
        Some(&f.partner),
        Some(TAXII),
        None,
    )
    .await;
    assert_eq!(json(&body)["objects"].as_array().unwrap().len(), 0);
    assert_eq!(
        call(
            &f.app,
            "GET",
            &format!("{base}/objects/?limit=zero"),
            Some(&f.partner),
            Some(TAXII),
            None
        )
        .await
        .0,
        StatusCode::BAD_REQUEST
    );
}

#[tokio::test]
async fn cap_feed_is_public_and_restricted_alerts_need_their_audience() {
    let f = fixture();
    let (s, _, feed) = call(&f.app, "GET", "/cap/feed.atom", None, None, None).await;
    assert_eq!(s, StatusCode::OK);
    assert!(feed.contains("/cap/alerts/th.public.v1.xml"), "{feed}");
    assert!(
        !feed.contains("th.public.v2"),
        "drafts are not published: {feed}"
    );
    assert!(
        !feed.contains("th.op.v1"),
        "operator alerts are not in the public feed"
    );
    let (s, _, xml) = call(
        &f.app,
        "GET",
        "/cap/alerts/th.public.v1.xml",
        None,
        None,
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        xml.contains("<scope>Public</scope>") && xml.contains("<circle>55.75,37.61 30</circle>"),
        "{xml}"
    );
    assert_eq!(
        call(&f.app, "GET", "/cap/alerts/th.op.v1.xml", None, None, None)
            .await
            .0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        call(
            &f.app,
            "GET",
            "/cap/alerts/th.op.v1.xml",
            Some(&f.partner),
            None,
            None
        )
        .await
        .0,
        StatusCode::NOT_FOUND
    );
    let (s, _, xml) = call(
        &f.app,
        "GET",
        "/cap/alerts/th.op.v1.xml",
        Some(&f.operator),
        None,
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        xml.contains("<scope>Restricted</scope>") && xml.contains("<restriction>TLP:AMBER"),
        "{xml}"
    );
    assert_eq!(
        call(
            &f.app,
            "GET",
            "/cap/alerts/th.public.v2.xml",
            None,
            None,
            None
        )
        .await
        .0,
        StatusCode::UNAUTHORIZED,
        "a draft is not public"
    );
}
