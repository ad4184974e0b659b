//! What every area of the server's tests shares: sending a request to the router in process
//! ([`Call`]), reading the answer ([`Sent`]), and a store with the reference case loaded
//! ([`reference_engine`]). Fixtures of single records come from `tocsin_testkit`.

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, Method, Request, StatusCode};
use axum::Router;
use chrono::{TimeZone, Utc};
use serde_json::Value;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use tocsin_core::{Classification, CountryCode, Timestamp};
use tocsin_engine::{Engine, EngineConfig};
use tocsin_server::{create_user, issue_scoped_token, Role, Scope, TokenSpec};
use tocsin_store::{AuditCtx, Store};
use tower::ServiceExt;

/// The password of every user the tests create.
pub const PASSWORD: &str = "correct horse battery staple";

/// The reference case's clock: the morning the embassy's warning went out (6 March 2024).
pub fn t0() -> Timestamp {
    Utc.with_ymd_and_hms(2024, 3, 6, 9, 0, 0).unwrap()
}

/// The credential a request carries.
pub enum Auth<'a> {
    None,
    /// `Authorization: <value>` as given (malformed schemes, Basic, …).
    Raw(&'a str),
    Bearer(&'a str),
    /// The console's session cookie, with or without its CSRF header.
    Cookie {
        secret: &'a str,
        csrf: Option<&'a str>,
    },
}

/// An answer with its body read as JSON.
pub struct Resp {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
}

impl From<Sent> for Resp {
    fn from(sent: Sent) -> Self {
        Resp {
            status: sent.status,
            body: sent.json(),
            headers: sent.headers,
        }
    }
}

impl Resp {
    /// The session secret a login answer set in its cookie.
    pub fn session_secret(&self) -> Option<String> {
        self.headers
            .get(header::SET_COOKIE)
            .and_then(|v| v.to_str().ok())
            .and_then(|c| c.split(';').next())
            .and_then(|kv| kv.strip_prefix("tocsin_session="))
            .map(str::to_owned)
    }
}

/// A user with [`PASSWORD`], created at `at`; its id.
pub fn new_user(
    store: &dyn Store,
    name: &str,
    role: Role,
    clearance: Classification,
    nationality: &str,
    at: Timestamp,
) -> i64 {
    let nationality = CountryCode::parse(nationality)
        .unwrap_or_else(|e| panic!("nationality {nationality:?}: {e}"));
    create_user(
        store,
        name,
        role,
        clearance,
        nationality,
        Some(PASSWORD),
        &AuditCtx::new("test", at),
    )
    .unwrap_or_else(|e| panic!("creating user {name}: {e}"))
    .id
}

/// A token issued at `at`: (secret, id).
pub fn new_token(
    store: &dyn Store,
    role: Role,
    scopes: Vec<Scope>,
    user_id: Option<i64>,
    expires_at: Option<Timestamp>,
    at: Timestamp,
) -> (String, i64) {
    let spec = TokenSpec {
        role,
        label: format!("test {role} {scopes:?}"),
        expires_at,
        scopes,
        user_id,
    };
    issue_scoped_token(store, &spec, &AuditCtx::new("test", at))
        .unwrap_or_else(|e| panic!("issuing a {role} token: {e}"))
}

/// Largest answer a test reads.
const MAX_BODY: usize = 1 << 24;

/// One request being built: method, path, headers, body, and the client address the server sees.
pub struct Call {
    method: Method,
    uri: String,
    headers: Vec<(HeaderName, HeaderValue)>,
    body: Vec<u8>,
    client: Option<SocketAddr>,
}

/// `method uri`, no credential, no body.
pub fn call(method: Method, uri: &str) -> Call {
    Call {
        method,
        uri: uri.to_owned(),
        headers: Vec::new(),
        body: Vec::new(),
        client: None,
    }
}

impl Call {
    /// Any header (its value must be valid header text).
    pub fn header(mut self, name: HeaderName, value: &str) -> Self {
        let value = HeaderValue::from_str(value)
            .unwrap_or_else(|e| panic!("header {name}: {value:?}: {e}"));
        self.headers.push((name, value));
        self
    }

    /// `Authorization: Bearer <token>`.
    pub fn bearer(self, token: &str) -> Self {
        self.header(header::AUTHORIZATION, &format!("Bearer {token}"))
    }

    /// A bearer token when there is one.
    pub fn bearer_opt(self, token: Option<&str>) -> Self {
        match token {
            Some(t) => self.bearer(t),
            None => self,
        }
    }

    /// A JSON body (`Content-Type: application/json`).
    pub fn json(self, body: &Value) -> Self {
        self.body("application/json", body.to_string().into_bytes())
    }

    /// A JSON body when there is one.
    pub fn json_opt(self, body: Option<&Value>) -> Self {
        match body {
            Some(b) => self.json(b),
            None => self,
        }
    }

    /// A body of `content_type`.
    pub fn body(mut self, content_type: &str, body: Vec<u8>) -> Self {
        self = self.header(header::CONTENT_TYPE, content_type);
        self.body = body;
        self
    }

    /// The request's credential.
    pub fn auth(self, auth: &Auth<'_>) -> Self {
        match auth {
            Auth::None => self,
            Auth::Raw(v) => self.header(header::AUTHORIZATION, v),
            Auth::Bearer(t) => self.bearer(t),
            Auth::Cookie { secret, csrf } => {
                let c = self.header(
                    header::COOKIE,
                    &format!("theme=dark; tocsin_session={secret}"),
                );
                match csrf {
                    Some(token) => c.header(HeaderName::from_static("x-csrf-token"), token),
                    None => c,
                }
            }
        }
    }

    /// The client's address as the server sees it (rate limits key on it).
    pub fn client_ip(mut self, ip: &str) -> Self {
        self.client = Some(
            format!("{ip}:40000")
                .parse()
                .unwrap_or_else(|e| panic!("client address {ip:?}: {e}")),
        );
        self
    }

    /// Send it through `app` in process and read the whole answer.
    pub async fn send(self, app: &Router) -> Sent {
        let mut req = Request::builder().method(self.method).uri(&self.uri);
        for (name, value) in self.headers {
            req = req.header(name, value);
        }
        let mut req = req
            .body(Body::from(self.body))
            .unwrap_or_else(|e| panic!("request {}: {e}", self.uri));
        if let Some(addr) = self.client {
            req.extensions_mut().insert(ConnectInfo(addr));
        }
        let resp = app
            .clone()
            .oneshot(req)
            .await
            .unwrap_or_else(|e| match e {});
        let status = resp.status();
        let headers = resp.headers().clone();
        let bytes = axum::body::to_bytes(resp.into_body(), MAX_BODY)
            .await
            .unwrap_or_else(|e| panic!("reading the answer to {}: {e}", self.uri))
            .to_vec();
        Sent {
            status,
            headers,
            bytes,
        }
    }
}

/// An answer, read whole.
pub struct Sent {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub bytes: Vec<u8>,
}

impl Sent {
    /// The body as JSON (`null` when it is not JSON).
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.bytes).unwrap_or(Value::Null)
    }

    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes).into_owned()
    }

    /// The `Content-Type` header ("" without one).
    pub fn content_type(&self) -> String {
        self.headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    }
}

/// An engine over `store` with the reference registry and audiences imported at `at`; with
/// `report`, the reference report stored and matched too. The file channel writes under `dir`.
pub fn reference_engine(store: Arc<dyn Store>, dir: &Path, at: Timestamp, report: bool) -> Engine {
    let engine = Engine::open(store, EngineConfig::new(dir.join("outbox")))
        .unwrap_or_else(|e| panic!("opening the engine: {e}"));
    let examples = tocsin_testkit::examples_dir();
    engine
        .import_registry(examples, &AuditCtx::new("import", at))
        .unwrap_or_else(|e| panic!("importing the reference registry: {e}"));
    if report {
        let threat = Engine::parse_report_file(&examples.join("report.txt"))
            .unwrap_or_else(|e| panic!("the reference report: {e}"));
        let ctx = AuditCtx::new("analyst", at);
        engine
            .ingest_threat(&threat, &ctx)
            .unwrap_or_else(|e| panic!("storing the reference report: {e}"));
        engine
            .compute_matches(&threat.id, &ctx)
            .unwrap_or_else(|e| panic!("matching the reference report: {e}"));
    }
    engine
}
