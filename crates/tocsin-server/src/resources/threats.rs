//! Threats over the API: the filtered list, creation from a structured form or a document (report
//! file, STIX 2.1 bundle, CAP 1.2 alert), one threat and its matches, the analyst's work on
//! matches (recompute, accept or reject one), extending its window and recording its outcome.

use super::{page, require_threat, with_engine, QueryMap, Reply};
use crate::auth::Principal;
use crate::problem::{parse_json, ApiJson, Problem};
use crate::AppState;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::{Extension, Json};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use tocsin_core::tracking::OutcomeKind;
use tocsin_core::{
    CountryCode, EntityId, MatchReason, MatchReview, ReviewDecision, Threat, ThreatId, Timestamp,
};
use utoipa::ToSchema;

/// A threat as listed: the stored record plus its derived state.
#[derive(Serialize, ToSchema)]
pub struct ThreatItem {
    #[serde(flatten)]
    pub threat: Threat,
    pub target_count: usize,
    pub state: ThreatState,
}

#[derive(Serialize, ToSchema)]
pub struct ThreatPage {
    pub count: usize,
    pub items: Vec<ThreatItem>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/threats", tag = "threats",
    params(
        ("q" = Option<String>, Query, description = "Text in the id, title or a target label, compared folded as the leak gate compares (case, accents, look-alike letters and script do not matter)"),
        ("state" = Option<ThreatState>, Query, description = "open, expired or closed"),
        ("since" = Option<String>, Query, format = DateTime, description = "Only threats received at or after this RFC 3339 instant"),
        ("limit" = Option<usize>, Query, description = "Page size, 1 to 1000 (default 100)", minimum = 1, maximum = 1000),
        ("cursor" = Option<String>, Query, description = "`next_cursor` of the previous page"),
    ),
    responses((status = 200, description = "Threats sorted by id", body = ThreatPage)))]
pub async fn threats(
    State(st): State<AppState>,
    Extension(p): Extension<Principal>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Reply<ThreatPage>, Problem> {
    let q = QueryMap(q);
    let limit = q.limit()?;
    let state = q
        .choice("state", &["open", "expired", "closed"])?
        .map(|s| match s {
            "open" => ThreatState::Open,
            "expired" => ThreatState::Expired,
            _ => ThreatState::Closed,
        });
    let since = q.time("since")?;
    let text = q.text("q").map(str::to_owned);
    let cursor = q.text("cursor").map(str::to_owned);
    let now = st.now();
    let reader_of = p.clone();
    st.read(p, move |store| {
        // Search only what this caller may read (docs/security.md): a withheld title or label,
        // or a restricted term hidden from them, never matches, so the answer is the one they
        // would get if that text did not exist.
        let reader = crate::redact::Reader::load(&reader_of, store)?;
        let closed: std::collections::BTreeSet<ThreatId> = store
            .outcomes(None)?
            .into_iter()
            .map(|o| o.threat_id)
            .collect();
        let mut items: Vec<ThreatItem> = store
            .threats()?
            .into_iter()
            .map(|t| {
                let state = if closed.contains(&t.id) {
                    ThreatState::Closed
                } else if t.window.until <= now {
                    ThreatState::Expired
                } else {
                    ThreatState::Open
                };
                ThreatItem {
                    target_count: t.targets.len(),
                    state,
                    threat: t,
                }
            })
            .collect();
        items.retain(|i| {
            state.is_none_or(|s| i.state == s)
                && since.is_none_or(|s| i.threat.received >= s)
                && text.as_deref().is_none_or(|q| {
                    searchable(&reader, &i.threat)
                        .iter()
                        .any(|s| tocsin_core::fold::contains(s, q))
                })
        });
        let (items, next_cursor) =
            page(items, |i| i.threat.id.to_string(), cursor.as_deref(), limit);
        Ok(ThreatPage {
            count: items.len(),
            items,
            next_cursor,
        })
    })
    .await
}

/// The id, title and target labels of `t` as `reader` sees them (withheld text left out, hidden
/// restricted terms cut out), the strings `?q=` searches.
fn searchable(reader: &crate::redact::Reader, t: &Threat) -> Vec<String> {
    let mut out = vec![t.id.as_str().to_owned()];
    let Ok(mut v) = serde_json::to_value(t) else {
        return out;
    };
    reader.apply(&mut v);
    let mut texts: Vec<&str> = v
        .get("title")
        .and_then(serde_json::Value::as_str)
        .into_iter()
        .collect();
    if let Some(targets) = v.get("targets").and_then(serde_json::Value::as_array) {
        texts.extend(
            targets
                .iter()
                .filter_map(|t| t.get("label").and_then(serde_json::Value::as_str)),
        );
    }
    for s in texts {
        out.extend(s.split(crate::redact::WITHHELD).map(str::to_owned));
    }
    out
}

/// Derived state of a threat (and the `state` filter): `open` (window not yet passed, no
/// outcome), `expired` (window passed, no outcome) or `closed` (an outcome was recorded).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ThreatState {
    Open,
    Expired,
    Closed,
}

/// What `POST /api/v1/threats` stored.
#[derive(Serialize, ToSchema)]
pub struct ThreatCreated {
    pub threat: Threat,
    /// Registry entities matched (per target spec).
    pub matches: usize,
    /// What a STIX bundle held that was read loosely or skipped, and target categories outside
    /// the taxonomy (each naming the target and the closest known category); empty otherwise.
    pub notes: Vec<String>,
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CreateQuery {
    /// Country of the originating service or authority (ISO 3166-1 alpha-3; STIX and CAP).
    #[param(pattern = "^[A-Z]{3}$")]
    originator: Option<String>,
    /// Hours a CAP alert without `expires` lasts (default 48).
    #[param(minimum = 1, maximum = 8760)]
    hours: Option<i64>,
}

fn engine(st: &AppState) -> Result<std::sync::Arc<tocsin_engine::Engine>, Problem> {
    st.engine.clone().ok_or_else(|| {
        Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "no-engine",
            "Service Unavailable",
            "this server was started without the pipeline engine",
        )
    })
}

#[utoipa::path(post, path = "/api/v1/threats", tag = "threats",
    params(CreateQuery),
    request_body(description = "By Content-Type: a structured threat (the form, `application/json`), a portion-marked report file (`text/plain`), a STIX 2.1 bundle (`application/stix+json`) or a CAP 1.2 alert (`application/cap+xml`)",
        content((Threat = "application/json"), (String = "text/plain"), (Object = "application/stix+json"), (String = "application/cap+xml"))),
    responses((status = 201, description = "Stored and matched", body = ThreatCreated)))]
pub async fn create(
    State(st): State<AppState>,
    Extension(p): Extension<Principal>,
    Query(q): Query<CreateQuery>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Reply<ThreatCreated>), Problem> {
    let engine = engine(&st)?;
    let media = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|m| m.trim().to_ascii_lowercase())
        .unwrap_or_default();
    let originator = CountryCode::parse(q.originator.as_deref().unwrap_or("USA"))
        .map_err(|e| Problem::bad_request(format!("originator: {e}")).at("query.originator"))?;
    let hours = q.hours.unwrap_or(48);
    if !(1..=8760).contains(&hours) {
        return Err(Problem::bad_request("hours must be from 1 to 8760").at("query.hours"));
    }
    let text = || {
        std::str::from_utf8(&body)
            .map_err(|e| Problem::invalid("body", format!("the body is not UTF-8: {e}")))
    };
    let (threat, notes) = match media.as_str() {
        "application/json" => (parse_json::<Threat>(&body)?, Vec::new()),
        "text/plain" => (tocsin_formats::parse_report(text()?).map_err(|e| Problem::invalid("body", e.to_string()))?, Vec::new()),
        "application/stix+json" => {
            let intake = tocsin_formats::stix::parse_bundle(text()?, &tocsin_formats::stix::StixOptions::new(originator)).map_err(|e| {
                let field = e.0.first().map(|i| format!("{}/{}", i.object, i.field)).unwrap_or_else(|| "body".into());
                Problem::invalid(field, e.to_string())
            })?;
            (intake.threat, intake.notes)
        }
        "application/cap+xml" | "application/xml" | "text/xml" => {
            let alert = tocsin_formats::cap::parse_alert(text()?).map_err(|e| Problem::invalid(e.path.clone(), e.to_string()))?;
            let opts = tocsin_formats::cap::CapIntakeOptions { originator, default_window_hours: hours };
            (tocsin_formats::cap::threat_from_alert(&alert, &opts).map_err(|e| Problem::invalid(e.path.clone(), e.to_string()))?, Vec::new())
        }
        other => {
            return Err(Problem::from_status(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                format!("unsupported Content-Type {other:?}: send application/json, text/plain (report file), application/stix+json or application/cap+xml"),
            )
            .at("header.content-type"))
        }
    };
    let now = st.now();
    let mut notes = notes;
    // A category outside the taxonomy matches only its exact spelling: say so.
    notes.extend(engine.category_notes(&threat));
    tokio::task::spawn_blocking(move || {
        let matches = engine.create_threat(&threat, &p.actor(), now)?;
        let created = ThreatCreated {
            matches: matches.len(),
            threat,
            notes,
        };
        Ok((
            StatusCode::CREATED,
            super::shaped(engine.store().as_ref(), &p, &created)?,
        ))
    })
    .await
    .map_err(|e| Problem::internal(&e))?
}

#[derive(Serialize, ToSchema)]
pub struct Recomputed {
    pub threat_id: String,
    pub matches: usize,
}

#[utoipa::path(post, path = "/api/v1/threats/{id}/matches", tag = "threats",
    params(("id" = String, Path, description = "Threat id")),
    responses((status = 200, description = "Matches recomputed against the current registry", body = Recomputed)))]
pub async fn recompute(
    State(st): State<AppState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<Json<Recomputed>, Problem> {
    let engine = engine(&st)?;
    let now = st.now();
    tokio::task::spawn_blocking(move || {
        let tid = ThreatId::new(id.clone());
        let n = engine
            .compute_matches(&tid, &tocsin_store::AuditCtx::new(p.actor(), now))?
            .len();
        Ok(Json(Recomputed {
            threat_id: id,
            matches: n,
        }))
    })
    .await
    .map_err(|e| Problem::internal(&e))?
}

/// An analyst's verdict on one match.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReviewBody {
    pub entity_id: String,
    /// Index of the target spec the match is for (`target` in the match list).
    #[schema(minimum = 0)]
    pub target: usize,
    pub decision: ReviewDecision,
    #[serde(default)]
    pub note: String,
}

#[utoipa::path(post, path = "/api/v1/threats/{id}/matches/reviews", tag = "threats",
    params(("id" = String, Path, description = "Threat id")),
    request_body(content = ReviewBody, content_type = "application/json"),
    responses((status = 200, description = "The review as recorded (it replaces an earlier one of the same match)", body = MatchReview)))]
pub async fn review(
    State(st): State<AppState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<ReviewBody>,
) -> Result<Json<MatchReview>, Problem> {
    let engine = engine(&st)?;
    let now = st.now();
    tokio::task::spawn_blocking(move || {
        let r = MatchReview {
            threat_id: ThreatId::new(id),
            entity_id: EntityId::new(b.entity_id),
            target: b.target,
            decision: b.decision,
            note: b.note,
            by: p.actor(),
            at: now,
        };
        engine.review_match(&r)?;
        Ok(Json(r))
    })
    .await
    .map_err(|e| Problem::internal(&e))?
}

#[derive(Serialize, ToSchema)]
pub struct ReviewList {
    pub count: usize,
    pub items: Vec<MatchReview>,
}

#[utoipa::path(get, path = "/api/v1/threats/{id}/matches/reviews", tag = "threats",
    params(("id" = String, Path, description = "Threat id")),
    responses((status = 200, description = "The reviews of this threat's matches", body = ReviewList)))]
pub async fn reviews(
    State(st): State<AppState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<Reply<ReviewList>, Problem> {
    st.read(p, move |store| {
        let tid = ThreatId::new(id.clone());
        store
            .threat(&tid)?
            .ok_or_else(|| Problem::not_found("threat", &id))?;
        let items = store.match_reviews(&tid)?;
        Ok(ReviewList {
            count: items.len(),
            items,
        })
    })
    .await
}

/// One threat: the stored record and how many targets it has.
#[derive(Serialize, ToSchema)]
pub struct ThreatWithCount {
    #[serde(flatten)]
    pub threat: Threat,
    pub target_count: usize,
}

#[utoipa::path(get, path = "/api/v1/threats/{id}", tag = "threats",
    params(("id" = String, Path, description = "Threat id")),
    responses((status = 200, description = "The threat", body = ThreatWithCount)))]
pub async fn threat(
    State(st): State<AppState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<Reply<ThreatWithCount>, Problem> {
    st.read(p, move |store| {
        let threat = require_threat(store, &ThreatId(id))?;
        Ok(ThreatWithCount {
            target_count: threat.targets.len(),
            threat,
        })
    })
    .await
}

/// One match, with the names a reader needs (the entity's, the target's).
#[derive(Serialize, ToSchema)]
pub struct MatchItem {
    #[schema(value_type = String)]
    pub entity_id: EntityId,
    pub entity_name: Option<String>,
    pub entity_kind: Option<String>,
    /// Index of the threat's target spec it matched.
    pub target: usize,
    pub target_label: Option<String>,
    pub score: f64,
    pub reasons: Vec<MatchReason>,
}

#[derive(Serialize, ToSchema)]
pub struct MatchList {
    #[schema(value_type = String)]
    pub threat_id: ThreatId,
    pub count: usize,
    pub items: Vec<MatchItem>,
}

#[utoipa::path(get, path = "/api/v1/threats/{id}/matches", tag = "threats",
    params(("id" = String, Path, description = "Threat id")),
    responses((status = 200, description = "Matches, best first", body = MatchList)))]
pub async fn threat_matches(
    State(st): State<AppState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<Reply<MatchList>, Problem> {
    st.read(p, move |store| {
        let threat = require_threat(store, &ThreatId(id))?;
        let mut matches = store.matches(&threat.id)?;
        matches.sort_by(|a, b| {
            b.score
                .total_cmp(&a.score)
                .then_with(|| a.entity_id.cmp(&b.entity_id))
        });
        let mut names: HashMap<EntityId, Option<tocsin_core::Entity>> = HashMap::new();
        let mut items = Vec::with_capacity(matches.len());
        for m in &matches {
            if !names.contains_key(&m.entity_id) {
                let e = store.entity(&m.entity_id)?;
                names.insert(m.entity_id.clone(), e);
            }
            let entity = names.get(&m.entity_id).and_then(Option::as_ref);
            items.push(MatchItem {
                entity_id: m.entity_id.clone(),
                entity_name: entity.map(|e| e.name.clone()),
                entity_kind: entity.map(|e| e.kind.as_str().to_owned()),
                target: m.target,
                target_label: threat.targets.get(m.target).map(|t| t.label.clone()),
                score: m.score,
                reasons: m.reasons.clone(),
            });
        }
        Ok(MatchList {
            threat_id: threat.id,
            count: items.len(),
            items,
        })
    })
    .await
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OutcomeBody {
    kind: OutcomeKind,
    #[serde(default)]
    references: Vec<String>,
    #[serde(default)]
    note: String,
}

/// What `POST /api/v1/threats/{id}/outcome` recorded.
#[derive(Serialize, ToSchema)]
pub struct OutcomeRecorded {
    pub threat: String,
    /// Always `outcome`.
    pub recorded: String,
}

#[utoipa::path(post, path = "/api/v1/threats/{id}/outcome", tag = "outcomes",
    params(("id" = String, Path, description = "Threat id")),
    request_body(content = OutcomeBody, content_type = "application/json"),
    responses((status = 200, description = "Recorded", body = OutcomeRecorded)))]
pub async fn outcome(
    State(st): State<AppState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<OutcomeBody>,
) -> Result<Reply<OutcomeRecorded>, Problem> {
    with_engine(&st, Some(p.clone()), move |e, now| {
        e.record_outcome(
            &ThreatId::new(id.clone()),
            b.kind,
            b.references,
            &b.note,
            &p.actor(),
            now,
        )?;
        Ok(OutcomeRecorded {
            threat: id,
            recorded: "outcome".into(),
        })
    })
    .await
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WindowBody {
    #[schema(value_type = String, format = DateTime)]
    until: Timestamp,
}

#[derive(Serialize, ToSchema)]
pub struct WindowExtended {
    pub threat: String,
    #[schema(value_type = String, format = DateTime)]
    pub window_until: Timestamp,
    /// Always `reopened`: a longer window needs a new determination.
    pub determination: String,
}

#[utoipa::path(post, path = "/api/v1/threats/{id}/window", tag = "threats",
    params(("id" = String, Path, description = "Threat id")),
    request_body(content = WindowBody, content_type = "application/json"),
    responses((status = 200, description = "Window extended; determination reopened", body = WindowExtended)))]
pub async fn extend_window(
    State(st): State<AppState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<WindowBody>,
) -> Result<Reply<WindowExtended>, Problem> {
    with_engine(&st, Some(p.clone()), move |e, now| {
        e.extend_window(&ThreatId::new(id.clone()), b.until, &p.actor(), now)?;
        Ok(WindowExtended {
            threat: id,
            window_until: b.until,
            determination: "reopened".into(),
        })
    })
    .await
}
