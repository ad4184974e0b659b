//! TAXII 2.1 (OASIS) inside `tocsin serve`.
//!
//! Discovery `/taxii2/`, one API root `/taxii2/api/`, one collection per STIX-capable audience
//! (partner services, domestic agencies, operators), whose objects are the STIX bundles of the
//! warnings released to that audience (built from the store on each request, with deterministic
//! ids, so the same warning is always the same objects) plus what partners add by POST.
//!
//! Access: every route needs a token, as `Authorization: Bearer <token>` or HTTP Basic with any
//! user name and the token as password. A token bound to an audience (see `Exchange`) sees only
//! that audience's collection — a partner reads only what was released to it — and may add
//! objects when the audience is a partner service or domestic agency. A staff token (no audience)
//! sees every collection and may add objects from the analyst role up.
//!
//! Media type `application/taxii+json;version=2.1`: a request whose `Accept` names another type
//! is answered 406, a POST with another `Content-Type` 415. Errors are TAXII error messages.

use crate::auth::{resolve_token, Principal, Role};
use crate::{AppState, Problem};
use axum::body::Bytes;
use axum::extract::{Path, Query, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::{from_fn_with_state, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Router};
use chrono::SecondsFormat;
use serde::Serialize;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::time::Instant;
use tocsin_core::lifecycle::WarningState;
use tocsin_core::tracking::Warning;
use tocsin_core::{Audience, AudienceId, AudienceKind, Timestamp};
use tocsin_formats::stix::{self, ExportInput, STIX_CAPABLE};
use tocsin_store::exchange::NewSharedObject;
use tocsin_store::{Store, StoreError};

pub const TAXII_MEDIA: &str = "application/taxii+json;version=2.1";
pub const STIX_MEDIA: &str = "application/stix+json;version=2.1";
/// Name of the producer identity in exported bundles.
pub const PRODUCER: &str = "Tocsin";
/// Largest POST body accepted (and advertised as the API root's `max_content_length`); it is
/// also axum's default body limit.
pub const MAX_CONTENT_LENGTH: usize = 2 * 1024 * 1024;
const DEFAULT_LIMIT: usize = 100;
const MAX_LIMIT: usize = 1000;

/// Released to its audience: anything past approval (superseded versions stay as STIX versions).
pub fn released(state: WarningState) -> bool {
    !matches!(state, WarningState::Draft | WarningState::Approved)
}

/// `scheme://host` of the request (for absolute links in discovery and feeds).
pub fn sender_base_url(h: &HeaderMap) -> String {
    let host = h
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .filter(|s| !s.is_empty())
        .unwrap_or("localhost");
    let proto = h
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .filter(|p| *p == "https")
        .unwrap_or("http");
    format!("{proto}://{host}")
}

fn b64_decode(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let mut buf = 0u32;
    let mut bits = 0;
    for c in s.trim().bytes().filter(|c| *c != b'=') {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            _ => return None,
        } as u32;
        buf = (buf << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((buf >> bits) as u8);
            buf &= (1 << bits) - 1;
        }
    }
    Some(out)
}

/// The token of a request: a Bearer credential, or the password of HTTP Basic (any user name).
pub fn credentials(h: &HeaderMap) -> Option<String> {
    let v = h.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, rest) = v.split_once(' ')?;
    let rest = rest.trim();
    let token = if scheme.eq_ignore_ascii_case("bearer") {
        rest.to_owned()
    } else if scheme.eq_ignore_ascii_case("basic") {
        let decoded = String::from_utf8(b64_decode(rest)?).ok()?;
        decoded.split_once(':')?.1.to_owned()
    } else {
        return None;
    };
    (!token.is_empty() && token.len() <= 512 && token.bytes().all(|b| b.is_ascii_graphic()))
        .then_some(token)
}

/// Resolve a token to its principal and the audience it is bound to; `None` when unusable.
pub fn resolve(
    store: &dyn Store,
    secret: &str,
    now: Timestamp,
) -> Result<Option<(Principal, Option<AudienceId>)>, Problem> {
    match resolve_token(store, secret, now)? {
        Ok(p) => {
            let aud = match p.token_id() {
                Some(id) => store.token_audience(id)?,
                None => None,
            };
            Ok(Some((p, aud)))
        }
        Err(_) => Ok(None),
    }
}

/// 401 inviting both schemes.
pub fn unauthorized(detail: &str) -> Problem {
    let mut p = Problem::unauthorized(detail.to_owned(), None);
    p.www_authenticate = Some("Basic realm=\"tocsin-taxii\", Bearer realm=\"tocsin\"".into());
    p
}

/// A TAXII error message (`title`, `description`, `http_status`) in the TAXII media type.
struct TaxiiError {
    status: StatusCode,
    title: String,
    description: String,
    www_authenticate: Option<String>,
}

impl TaxiiError {
    fn new(status: StatusCode, title: &str, description: impl Into<String>) -> Self {
        Self {
            status,
            title: title.into(),
            description: description.into(),
            www_authenticate: None,
        }
    }
}

impl From<StoreError> for TaxiiError {
    fn from(e: StoreError) -> Self {
        let p = Problem::from(e);
        Self::new(p.status, &p.title, p.detail)
    }
}

impl From<Problem> for TaxiiError {
    fn from(p: Problem) -> Self {
        Self {
            status: p.status,
            title: p.title,
            description: p.detail,
            www_authenticate: p.www_authenticate,
        }
    }
}

impl IntoResponse for TaxiiError {
    fn into_response(self) -> Response {
        // TAXII 2.1 §3.6.1 error message.
        #[derive(Serialize)]
        struct ErrorMessage<'a> {
            title: &'a str,
            description: &'a str,
            http_status: String,
        }
        let mut r = taxii_json(
            self.status,
            &ErrorMessage {
                title: &self.title,
                description: &self.description,
                http_status: self.status.as_u16().to_string(),
            },
        );
        if let Some(w) = self
            .www_authenticate
            .and_then(|w| HeaderValue::from_str(&w).ok())
        {
            r.headers_mut().insert(header::WWW_AUTHENTICATE, w);
        }
        r
    }
}

fn taxii_json(status: StatusCode, v: &impl Serialize) -> Response {
    let body = match serde_json::to_string(v) {
        Ok(b) => b,
        Err(e) => return TaxiiError::from(Problem::internal(&e)).into_response(),
    };
    (
        status,
        [(header::CONTENT_TYPE, HeaderValue::from_static(TAXII_MEDIA))],
        body,
    )
        .into_response()
}

// ---- TAXII 2.1 resources (§4.1.1 discovery, §4.2.1 api-root, §5.2.1 collection, §3.7 envelope,
// §5.4.1 manifest, §4.3.1 status), typed so every answer has the members the spec requires.

#[derive(Serialize)]
struct DiscoveryResource {
    title: &'static str,
    description: &'static str,
    default: String,
    api_roots: Vec<String>,
}

#[derive(Serialize)]
struct ApiRootResource {
    title: &'static str,
    description: &'static str,
    versions: [&'static str; 1],
    max_content_length: usize,
}

#[derive(Serialize)]
struct CollectionResource {
    id: String,
    title: String,
    description: String,
    alias: String,
    can_read: bool,
    can_write: bool,
    media_types: [&'static str; 1],
}

#[derive(Serialize)]
struct CollectionsResource {
    collections: Vec<CollectionResource>,
}

#[derive(Serialize)]
struct ManifestRecord {
    id: String,
    date_added: String,
    version: String,
    media_type: &'static str,
}

/// What a page lists: an envelope's `objects`, a manifest's `objects`, or `versions`.
#[derive(Serialize)]
enum PageItems {
    #[serde(rename = "objects")]
    Objects(Vec<Value>),
    #[serde(rename = "objects")]
    Manifest(Vec<ManifestRecord>),
    #[serde(rename = "versions")]
    Versions(Vec<String>),
}

impl PageItems {
    fn len(&self) -> usize {
        match self {
            PageItems::Objects(v) => v.len(),
            PageItems::Manifest(v) => v.len(),
            PageItems::Versions(v) => v.len(),
        }
    }
}

#[derive(Serialize)]
struct Page {
    more: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    next: Option<String>,
    #[serde(flatten)]
    items: PageItems,
}

/// One object of a status resource's `successes`, `failures` or `pendings`.
#[derive(Serialize)]
struct StatusDetail {
    id: String,
    version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<String>,
}

#[derive(Serialize)]
struct StatusResource {
    id: String,
    status: &'static str,
    request_timestamp: String,
    total_count: usize,
    success_count: usize,
    successes: Vec<StatusDetail>,
    failure_count: usize,
    failures: Vec<StatusDetail>,
    pending_count: usize,
    pendings: Vec<StatusDetail>,
}

/// Who is calling.
#[derive(Debug, Clone)]
struct Caller {
    principal: Principal,
    audience: Option<AudienceId>,
}

impl Caller {
    fn can_read(&self, a: &Audience) -> bool {
        match &self.audience {
            Some(own) => *own == a.id,
            None => self.principal.allows(Role::Viewer) && self.unrestricted(),
        }
    }

    fn can_write(&self, a: &Audience) -> bool {
        match &self.audience {
            Some(own) => {
                *own == a.id
                    && matches!(
                        a.kind,
                        AudienceKind::PartnerService | AudienceKind::DomesticAgency
                    )
            }
            None => self.principal.allows(Role::Analyst) && self.unrestricted(),
        }
    }

    /// Collections serve whole STIX objects with nothing to withhold piecemeal, so a staff token
    /// that carries a user's clearance reads them only through `/api/v1`, which applies need to
    /// know (docs/security.md): fail closed.
    fn unrestricted(&self) -> bool {
        matches!(
            self.principal.need_to_know,
            crate::auth::NeedToKnow::Unrestricted
        )
    }
}

/// Does a media-type list accept TAXII 2.1? Absent and `*/*` do; another type or version does not.
fn accepts_taxii(accept: Option<&str>) -> bool {
    let Some(a) = accept else { return true };
    a.split(',').any(|item| {
        let mut parts = item.split(';').map(str::trim);
        let ty = parts.next().unwrap_or("").to_ascii_lowercase();
        let version =
            parts.find_map(|p| p.strip_prefix("version=").map(str::trim).map(str::to_owned));
        match ty.as_str() {
            "*/*" | "application/*" => true,
            "application/taxii+json" => version.is_none_or(|v| v == "2.1"),
            _ => false,
        }
    })
}

fn is_taxii_content(ct: Option<&str>) -> bool {
    ct.is_some_and(|c| {
        let mut parts = c.split(';').map(str::trim);
        parts
            .next()
            .is_some_and(|t| t.eq_ignore_ascii_case("application/taxii+json"))
            && parts.all(|p| p.strip_prefix("version=").is_none_or(|v| v.trim() == "2.1"))
    })
}

/// Middleware of every TAXII route: access log, media types (406/415), authentication.
async fn guard(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let started = Instant::now();
    let (method, path) = (req.method().clone(), req.uri().path().to_owned());
    let h = req.headers();
    let resp = if !accepts_taxii(h.get(header::ACCEPT).and_then(|v| v.to_str().ok())) {
        TaxiiError::new(
            StatusCode::NOT_ACCEPTABLE,
            "Not Acceptable",
            format!("this TAXII server answers in {TAXII_MEDIA}"),
        )
        .into_response()
    } else if method == Method::POST
        && !is_taxii_content(h.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()))
    {
        TaxiiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Unsupported Media Type",
            format!("send objects as {TAXII_MEDIA}"),
        )
        .into_response()
    } else {
        let creds = credentials(h);
        // A token expires in real time (AppState::credential_clock).
        let now = state.credential_now();
        let store = state.store.clone();
        let who = match creds {
            None => Ok(None),
            Some(secret) => {
                tokio::task::spawn_blocking(move || resolve(store.as_ref(), &secret, now))
                    .await
                    .unwrap_or_else(|e| Err(Problem::internal(&e)))
            }
        };
        match who {
            Ok(Some((principal, audience))) => {
                req.extensions_mut().insert(Caller { principal, audience });
                next.run(req).await
            }
            Ok(None) => TaxiiError::from(unauthorized("TAXII needs a valid token: HTTP Basic (any user name, the token as password) or Bearer")).into_response(),
            Err(p) => TaxiiError::from(p).into_response(),
        }
    };
    let mut resp = resp;
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp.headers_mut().insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    tracing::info!(%method, %path, status = resp.status().as_u16(), ms = started.elapsed().as_millis() as u64, "taxii request");
    resp
}

pub fn router(state: AppState) -> Router<AppState> {
    Router::new()
        .route("/taxii2/", get(discovery))
        .route("/taxii2/api/", get(api_root))
        .route("/taxii2/api/collections/", get(collections))
        .route("/taxii2/api/collections/:cid/", get(collection))
        .route(
            "/taxii2/api/collections/:cid/objects/",
            get(objects).post(add_objects),
        )
        .route("/taxii2/api/collections/:cid/objects/:oid/", get(object))
        .route(
            "/taxii2/api/collections/:cid/objects/:oid/versions/",
            get(versions),
        )
        .route("/taxii2/api/collections/:cid/manifest/", get(manifest))
        .route("/taxii2/api/status/:sid/", get(status))
        .route_layer(from_fn_with_state(state, guard))
}

/// The collection id of an audience (a UUIDv5, stable across restarts).
pub fn collection_id(audience: &AudienceId) -> String {
    let id = stix::stix_id("collection", audience.as_str());
    id.split_once("--").map(|(_, u)| u.to_owned()).unwrap_or(id)
}

/// The STIX bundle of a stored warning (`None` when its threat or audience is gone).
pub fn warning_bundle(store: &dyn Store, w: &Warning) -> Result<Option<Value>, StoreError> {
    let (Some(threat), Some(aud)) = (store.threat(&w.threat_id)?, store.audience(&w.audience_id)?)
    else {
        return Ok(None);
    };
    let first_created = store
        .warnings(Some(&w.threat_id))?
        .iter()
        .filter(|e| e.audience_id == w.audience_id)
        .map(|e| e.created_at)
        .min()
        .unwrap_or(w.created_at);
    let resolve = |name: &str| crate::cap_feed::resolve_named(name);
    Ok(Some(stix::warning_bundle(&ExportInput {
        warning: w,
        threat: &threat,
        audience: &aud,
        first_created,
        producer: PRODUCER,
        resolve: &resolve,
    })))
}

fn ttime(t: &Timestamp) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// One object version in a collection.
struct Entry {
    id: String,
    version: String,
    added: Timestamp,
    object: Value,
}

fn version_of(o: &Value) -> Option<String> {
    o.get("modified")
        .or_else(|| o.get("created"))
        .and_then(Value::as_str)
        .map(str::to_owned)
}

fn parse_ts(s: &str) -> Option<Timestamp> {
    chrono::DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&chrono::Utc))
}

/// Every object version of an audience's collection, oldest addition first.
fn entries(store: &dyn Store, aud: &Audience) -> Result<Vec<Entry>, StoreError> {
    let mut by_key: BTreeMap<(String, String), Entry> = BTreeMap::new();
    for w in store
        .warnings(None)?
        .into_iter()
        .filter(|w| w.audience_id == aud.id && released(w.state))
    {
        let Some(bundle) = warning_bundle(store, &w)? else {
            continue;
        };
        // Added when released: the first delivery, else when composed.
        let added = store
            .deliveries(Some(&w.id))?
            .iter()
            .filter_map(|d| d.delivered_at)
            .min()
            .unwrap_or(w.created_at);
        for o in bundle["objects"].as_array().into_iter().flatten() {
            let (Some(id), Some(version)) = (o["id"].as_str(), version_of(o)) else {
                continue;
            };
            let e = by_key
                .entry((id.to_owned(), version.clone()))
                .or_insert_with(|| Entry {
                    id: id.to_owned(),
                    version,
                    added,
                    object: o.clone(),
                });
            if added < e.added {
                e.added = added;
            }
        }
    }
    for s in store.shared_objects(&collection_id(&aud.id))? {
        let Ok(object) = serde_json::from_str::<Value>(&s.json) else {
            continue;
        };
        by_key
            .entry((s.object_id.clone(), s.version.clone()))
            .or_insert(Entry {
                id: s.object_id,
                version: s.version,
                added: s.added_at,
                object,
            });
    }
    let mut v: Vec<Entry> = by_key.into_values().collect();
    v.sort_by(|a, b| (a.added, &a.id, &a.version).cmp(&(b.added, &b.id, &b.version)));
    Ok(v)
}

/// The TAXII filters and paging of a request.
struct Filter {
    added_after: Option<Timestamp>,
    ids: Option<Vec<String>>,
    types: Option<Vec<String>>,
    version: String,
    limit: usize,
    offset: usize,
}

fn filter(q: &HashMap<String, String>, default_version: &str) -> Result<Filter, TaxiiError> {
    let bad = |m: String| TaxiiError::new(StatusCode::BAD_REQUEST, "Bad Request", m);
    let list = |k: &str| {
        q.get(k).map(|v| {
            v.split(',')
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
                .collect::<Vec<_>>()
        })
    };
    let added_after = match q.get("added_after") {
        Some(s) => {
            Some(parse_ts(s).ok_or_else(|| bad(format!("added_after: not a timestamp: {s:?}")))?)
        }
        None => None,
    };
    let limit = match q.get("limit") {
        Some(s) => s
            .parse::<usize>()
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(|| bad(format!("limit: expected a positive integer, found {s:?}")))?
            .min(MAX_LIMIT),
        None => DEFAULT_LIMIT,
    };
    let offset = match q.get("next") {
        Some(s) => s
            .parse::<usize>()
            .map_err(|_| bad(format!("next: not a value this server gave: {s:?}")))?,
        None => 0,
    };
    Ok(Filter {
        added_after,
        ids: list("match[id]"),
        types: list("match[type]"),
        version: q
            .get("match[version]")
            .cloned()
            .unwrap_or_else(|| default_version.to_owned()),
        limit,
        offset,
    })
}

/// Apply the filters (not paging): added_after, match[id], match[type], then match[version].
fn apply<'a>(all: &'a [Entry], f: &Filter) -> Result<Vec<&'a Entry>, TaxiiError> {
    let sel: Vec<&Entry> = all
        .iter()
        .filter(|e| f.added_after.is_none_or(|t| e.added > t))
        .filter(|e| f.ids.as_ref().is_none_or(|ids| ids.contains(&e.id)))
        .filter(|e| {
            f.types.as_ref().is_none_or(|ts| {
                e.id.split_once("--")
                    .is_some_and(|(t, _)| ts.iter().any(|x| x == t))
            })
        })
        .collect();
    let mut by_id: BTreeMap<&str, Vec<&Entry>> = BTreeMap::new();
    for e in &sel {
        by_id.entry(e.id.as_str()).or_default().push(e);
    }
    let key = |e: &Entry| parse_ts(&e.version);
    let mut keep: Vec<*const Entry> = Vec::new();
    let wanted: Vec<&str> = f.version.split(',').map(str::trim).collect();
    for versions in by_id.values() {
        for w in &wanted {
            match *w {
                "all" => keep.extend(versions.iter().map(|e| *e as *const Entry)),
                "last" => keep.extend(
                    versions
                        .iter()
                        .max_by_key(|e| key(e))
                        .map(|e| *e as *const Entry),
                ),
                "first" => keep.extend(
                    versions
                        .iter()
                        .min_by_key(|e| key(e))
                        .map(|e| *e as *const Entry),
                ),
                t => {
                    let ts = parse_ts(t).ok_or_else(|| TaxiiError::new(StatusCode::BAD_REQUEST, "Bad Request", format!("match[version]: expected last, first, all or timestamps, found {t:?}")))?;
                    keep.extend(
                        versions
                            .iter()
                            .filter(|e| key(e) == Some(ts))
                            .map(|e| *e as *const Entry),
                    );
                }
            }
        }
    }
    Ok(sel
        .into_iter()
        .filter(|e| keep.contains(&(*e as *const Entry)))
        .collect())
}

/// A page and its headers: `X-TAXII-Date-Added-First/Last`.
fn paged(items: PageItems, added: &[Timestamp], f: &Filter, total: usize) -> Response {
    let end = f.offset + items.len();
    let more = end < total;
    let body = Page {
        more,
        next: more.then(|| end.to_string()),
        items,
    };
    let mut r = taxii_json(StatusCode::OK, &body);
    if let (Some(first), Some(last)) = (added.first(), added.last()) {
        for (name, t) in [
            ("x-taxii-date-added-first", first),
            ("x-taxii-date-added-last", last),
        ] {
            if let Ok(v) = HeaderValue::from_str(&ttime(t)) {
                r.headers_mut().insert(name, v);
            }
        }
    }
    r
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, TaxiiError> + Send + 'static,
) -> Result<T, TaxiiError> {
    tokio::task::spawn_blocking(f)
        .await
        .unwrap_or_else(|e| Err(TaxiiError::from(Problem::internal(&e))))
}

async fn discovery(State(_): State<AppState>, headers: HeaderMap) -> Response {
    let base = sender_base_url(&headers);
    taxii_json(
        StatusCode::OK,
        &DiscoveryResource {
            title: "Tocsin TAXII 2.1",
            description:
                "Duty-to-warn warnings as STIX 2.1, one collection per recipient audience.",
            default: format!("{base}/taxii2/api/"),
            api_roots: vec![format!("{base}/taxii2/api/")],
        },
    )
}

async fn api_root() -> Response {
    taxii_json(
        StatusCode::OK,
        &ApiRootResource {
            title: "Tocsin warnings",
            description: "Warnings released to each audience; partners may share objects into their own collection.",
            versions: [TAXII_MEDIA],
            max_content_length: MAX_CONTENT_LENGTH,
        },
    )
}

fn collection_resource(a: &Audience, c: &Caller) -> CollectionResource {
    CollectionResource {
        id: collection_id(&a.id),
        title: a.name.clone(),
        description: format!("Warnings released to {} ({}).", a.name, a.kind.as_str()),
        alias: a.id.as_str().to_owned(),
        can_read: true,
        can_write: c.can_write(a),
        media_types: [STIX_MEDIA],
    }
}

/// The audiences (collections) this caller may see.
fn visible(store: &dyn Store, c: &Caller) -> Result<Vec<Audience>, StoreError> {
    Ok(store
        .audiences()?
        .into_iter()
        .filter(|a| STIX_CAPABLE.contains(&a.kind) && c.can_read(a))
        .collect())
}

/// The collection `cid` if this caller may see it; 404 otherwise (whether or not it exists).
fn find(store: &dyn Store, c: &Caller, cid: &str) -> Result<Audience, TaxiiError> {
    visible(store, c)?
        .into_iter()
        .find(|a| collection_id(&a.id) == cid)
        .ok_or_else(|| {
            TaxiiError::new(
                StatusCode::NOT_FOUND,
                "Not Found",
                format!("no collection {cid} for this token"),
            )
        })
}

async fn collections(State(s): State<AppState>, Extension(c): Extension<Caller>) -> Response {
    let store = s.store.clone();
    match blocking(move || {
        Ok(visible(store.as_ref(), &c)?
            .iter()
            .map(|a| collection_resource(a, &c))
            .collect::<Vec<_>>())
    })
    .await
    {
        Ok(collections) => taxii_json(StatusCode::OK, &CollectionsResource { collections }),
        Err(e) => e.into_response(),
    }
}

async fn collection(
    State(s): State<AppState>,
    Extension(c): Extension<Caller>,
    Path(cid): Path<String>,
) -> Response {
    let store = s.store.clone();
    match blocking(move || Ok(collection_resource(&find(store.as_ref(), &c, &cid)?, &c))).await {
        Ok(v) => taxii_json(StatusCode::OK, &v),
        Err(e) => e.into_response(),
    }
}

async fn objects(
    State(s): State<AppState>,
    Extension(c): Extension<Caller>,
    Path(cid): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    list(s, c, cid, None, q, ListKind::Objects).await
}

async fn object(
    State(s): State<AppState>,
    Extension(c): Extension<Caller>,
    Path((cid, oid)): Path<(String, String)>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    list(s, c, cid, Some(oid), q, ListKind::Objects).await
}

async fn versions(
    State(s): State<AppState>,
    Extension(c): Extension<Caller>,
    Path((cid, oid)): Path<(String, String)>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    list(s, c, cid, Some(oid), q, ListKind::Versions).await
}

async fn manifest(
    State(s): State<AppState>,
    Extension(c): Extension<Caller>,
    Path(cid): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    list(s, c, cid, None, q, ListKind::Manifest).await
}

#[derive(Clone, Copy, PartialEq)]
enum ListKind {
    Objects,
    Manifest,
    Versions,
}

async fn list(
    s: AppState,
    c: Caller,
    cid: String,
    oid: Option<String>,
    mut q: HashMap<String, String>,
    kind: ListKind,
) -> Response {
    let store = s.store.clone();
    let res = blocking(move || {
        let aud = find(store.as_ref(), &c, &cid)?;
        if let Some(oid) = &oid {
            q.insert("match[id]".into(), oid.clone());
        }
        let f = filter(
            &q,
            if kind == ListKind::Versions {
                "all"
            } else {
                "last"
            },
        )?;
        let all = entries(store.as_ref(), &aud)?;
        let sel = apply(&all, &f)?;
        if let (Some(oid), true) = (&oid, sel.is_empty()) {
            if !all.iter().any(|e| &e.id == oid) {
                return Err(TaxiiError::new(
                    StatusCode::NOT_FOUND,
                    "Not Found",
                    format!("no object {oid} in collection {cid}"),
                ));
            }
        }
        let total = sel.len();
        let page: Vec<&Entry> = sel.into_iter().skip(f.offset).take(f.limit).collect();
        let added: Vec<Timestamp> = page.iter().map(|e| e.added).collect();
        let items = match kind {
            ListKind::Objects => {
                PageItems::Objects(page.iter().map(|e| e.object.clone()).collect())
            }
            ListKind::Versions => {
                PageItems::Versions(page.iter().map(|e| e.version.clone()).collect())
            }
            ListKind::Manifest => PageItems::Manifest(
                page.iter()
                    .map(|e| ManifestRecord {
                        id: e.id.clone(),
                        date_added: ttime(&e.added),
                        version: e.version.clone(),
                        media_type: STIX_MEDIA,
                    })
                    .collect(),
            ),
        };
        Ok(paged(items, &added, &f, total))
    })
    .await;
    res.unwrap_or_else(|e| e.into_response())
}

async fn add_objects(
    State(s): State<AppState>,
    Extension(c): Extension<Caller>,
    Path(cid): Path<String>,
    body: Bytes,
) -> Response {
    let store = s.store.clone();
    let now = s.now();
    let res = blocking(move || {
        let aud = find(store.as_ref(), &c, &cid)?;
        if !c.can_write(&aud) {
            return Err(TaxiiError::new(
                StatusCode::FORBIDDEN,
                "Forbidden",
                format!("this token may not add objects to collection {cid}"),
            ));
        }
        if body.len() > MAX_CONTENT_LENGTH {
            return Err(TaxiiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "Payload Too Large",
                format!("at most {MAX_CONTENT_LENGTH} bytes"),
            ));
        }
        let env: Value = serde_json::from_slice(&body).map_err(|e| {
            TaxiiError::new(
                StatusCode::BAD_REQUEST,
                "Bad Request",
                format!("not a JSON envelope: {e}"),
            )
        })?;
        let Some(objs) = env.get("objects").and_then(Value::as_array) else {
            return Err(TaxiiError::new(
                StatusCode::BAD_REQUEST,
                "Bad Request",
                "expected an envelope: {\"objects\": [...]}",
            ));
        };
        let mut ok = Vec::new();
        let mut failures = Vec::new();
        for (i, o) in objs.iter().enumerate() {
            let id = o.get("id").and_then(Value::as_str);
            let ty = o.get("type").and_then(Value::as_str);
            let version = version_of(o);
            let problem = match (ty, id, &version) {
                (None, _, _) => Some("type is missing".to_owned()),
                (_, None, _) => Some("id is missing".to_owned()),
                (Some(t), Some(id), _)
                    if !id
                        .strip_prefix(t)
                        .and_then(|r| r.strip_prefix("--"))
                        .is_some_and(|u| u.len() == 36 && uuid::Uuid::parse_str(u).is_ok()) =>
                {
                    Some(format!("id must be `{t}--` and a UUID"))
                }
                (_, _, None) => {
                    Some("neither modified nor created: the object has no version".to_owned())
                }
                (_, _, Some(v)) if parse_ts(v).is_none() => {
                    Some(format!("version {v:?} is not a timestamp"))
                }
                _ if o.get("spec_version").is_some_and(|v| v != "2.1") => {
                    Some("spec_version must be 2.1".to_owned())
                }
                _ => None,
            };
            match problem {
                Some(message) => failures.push(StatusDetail {
                    id: id
                        .map(str::to_owned)
                        .unwrap_or_else(|| format!("objects[{i}]")),
                    version,
                    message: Some(message),
                }),
                None => ok.push(NewSharedObject {
                    object_id: id.unwrap_or_default().to_owned(),
                    version: version.unwrap_or_default(),
                    json: o.to_string(),
                }),
            }
        }
        let status_id = uuid::Uuid::new_v4().to_string();
        let successes: Vec<StatusDetail> = ok
            .iter()
            .map(|o| StatusDetail {
                id: o.object_id.clone(),
                version: Some(o.version.clone()),
                message: None,
            })
            .collect();
        let status = StatusResource {
            id: status_id.clone(),
            status: "complete",
            request_timestamp: ttime(&now),
            total_count: objs.len(),
            success_count: successes.len(),
            successes,
            failure_count: failures.len(),
            failures,
            pending_count: 0,
            pendings: Vec::new(),
        };
        let stored =
            serde_json::to_string(&status).map_err(|e| TaxiiError::from(Problem::internal(&e)))?;
        store.add_shared_objects(
            &collection_id(&aud.id),
            &ok,
            &status_id,
            &stored,
            &tocsin_store::AuditCtx::new(c.principal.actor(), now),
        )?;
        Ok(taxii_json(StatusCode::ACCEPTED, &status))
    })
    .await;
    res.unwrap_or_else(|e| e.into_response())
}

async fn status(
    State(s): State<AppState>,
    Extension(_c): Extension<Caller>,
    Path(sid): Path<String>,
) -> Response {
    let store = s.store.clone();
    let res = blocking(move || match store.taxii_status(&sid)? {
        Some(j) => Ok(taxii_json(
            StatusCode::OK,
            &serde_json::from_str::<Value>(&j).unwrap_or(Value::Null),
        )),
        None => Err(TaxiiError::new(
            StatusCode::NOT_FOUND,
            "Not Found",
            format!("no status {sid}"),
        )),
    })
    .await;
    res.unwrap_or_else(|e| e.into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn media_types() {
        assert!(accepts_taxii(None));
        assert!(accepts_taxii(Some("application/taxii+json;version=2.1")));
        assert!(accepts_taxii(Some("application/taxii+json")));
        assert!(accepts_taxii(Some("text/html, */*")));
        assert!(!accepts_taxii(Some("application/json")));
        assert!(!accepts_taxii(Some("application/taxii+json;version=2.0")));
        assert!(is_taxii_content(Some("application/taxii+json;version=2.1")));
        assert!(is_taxii_content(Some(
            "application/taxii+json; version=2.1"
        )));
        assert!(!is_taxii_content(Some("application/json")));
        assert!(!is_taxii_content(None));
    }

    #[test]
    fn basic_and_bearer_credentials() {
        let mut h = HeaderMap::new();
        // "anyone:tcn_secret"
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Basic YW55b25lOnRjbl9zZWNyZXQ="),
        );
        assert_eq!(credentials(&h).as_deref(), Some("tcn_secret"));
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer tcn_x"),
        );
        assert_eq!(credentials(&h).as_deref(), Some("tcn_x"));
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Basic !!!"));
        assert_eq!(credentials(&h), None);
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Digest x"));
        assert_eq!(credentials(&h), None);
    }
}
