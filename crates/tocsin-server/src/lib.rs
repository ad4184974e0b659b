//! Tocsin's HTTP API (axum 0.7): `GET /health`, the whole API under `/api/v1/` behind bearer
//! tokens or console sessions with roles (viewer < analyst < approver < admin), TAXII 2.1, the CAP
//! feed, the web console and recipients' one-time links. docs/api.md documents every route.
//!
//! Architecture invariants:
//! - Every `/api/v1/` path, including unknown ones, passes [`auth::authenticate`] first; every
//!   route belongs to a group whose minimum role [`auth::authorize`] enforces, raised to the route's
//!   entry in [`auth::ROUTE_RULES`] (a route without one is refused to everyone).
//! - Tokens exist in the store only as SHA-256 hashes; neither tokens nor the `Authorization`
//!   header are ever logged.
//! - Every error is RFC 9457 `application/problem+json`; a 500 shows a reference, never internals.
//! - The server reads the clock only through [`AppState::now`] (injectable for tests and replays).
//! - Responses for roles below analyst pass through [`redact`]: no restricted term reaches them.
//! - Responses pass through [`redact::for_principal`]: portions above the caller's clearance are
//!   withheld (docs/security.md). `/api/v1` also accepts the console's session cookie (with its
//!   CSRF token on unsafe methods); `/auth/login` is the only unauthenticated account route.

pub mod auth;
pub mod cap_feed;
pub mod console;
pub mod openapi;
pub mod problem;
pub mod ratelimit;
pub mod read_cache;
pub mod recipient_page;
pub mod redact;
pub mod resources;
pub mod session;
pub mod taxii;

pub use auth::{
    bootstrap_admin_token, generate_token, hash_token, issue_scoped_token, issue_token,
    resolve_token, NeedToKnow, Principal, Role, Scope, TokenError, TokenSpec, TOKEN_PREFIX,
};
pub use problem::Problem;
pub use resources::accounts::{
    create_user, hash_password, normalize_username, parse_clearance, parse_duration,
};

use auth::{authenticate, authorize, MinRole};
use axum::extract::Request;
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::{from_fn, from_fn_with_state, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, patch, post, put};
use axum::Router;
use resources::{
    accounts, audit, deliveries, determinations, feeds, followup, intake, jobs, links, meta,
    posture, registry, reports, tasks, threats, warnings,
};
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;
use tocsin_core::Timestamp;
use tocsin_store::Store;

/// Where the server gets "now" (token expiry). Injectable so tests and replays control time.
pub type Clock = Arc<dyn Fn() -> Timestamp + Send + Sync>;

/// Everything the handlers share.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    /// The deployment's clock: the case's time (warnings, links, timeline, reports), replayed
    /// under `serve --clock-start`.
    pub clock: Clock,
    /// The clock of credentials: token and session expiry, idle timeouts and login limits. The
    /// wall clock in a deployment (ARCHITECTURE.md, "Clocks"): a replayed case must never revive
    /// an expired token or keep a session alive past its real end.
    pub credential_clock: Clock,
    /// The pipeline, for write routes and recipient links (reads go to the store directly).
    pub engine: Option<Arc<tocsin_engine::Engine>>,
    /// Mark the session cookie `Secure`? `None`: decided when serving (not on a loopback address,
    /// where the console is plain http), and `Secure` when there is no address (tests).
    pub cookie_secure: Option<bool>,
    /// Password checks (Argon2) that may run at once; a login beyond them answers 429.
    pub password_checks: Arc<tokio::sync::Semaphore>,
    /// Leak-gate verdicts and response shapers derived at the store's current audit head
    /// ([`read_cache`]): recomputed when the store changes, not on every read.
    pub reads: Arc<read_cache::ReadCache>,
}

/// Default bound on concurrent password checks: the machine's parallelism, 2 to 8.
pub fn default_password_checks() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2)
        .clamp(2, 8)
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState").finish_non_exhaustive()
    }
}

impl AppState {
    /// State over `store`, using the system clock.
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self {
            store,
            clock: Arc::new(chrono::Utc::now),
            credential_clock: Arc::new(chrono::Utc::now),
            engine: None,
            cookie_secure: None,
            password_checks: Arc::new(tokio::sync::Semaphore::new(default_password_checks())),
            reads: Arc::default(),
        }
    }

    /// Bound the password checks (Argon2) that may run at once (docs/security.md).
    pub fn with_password_checks(mut self, n: usize) -> Self {
        self.password_checks = Arc::new(tokio::sync::Semaphore::new(n));
        self
    }

    /// Serve the write routes and recipient links through `engine` (over the same store).
    pub fn with_engine(mut self, engine: Arc<tocsin_engine::Engine>) -> Self {
        self.engine = Some(engine);
        self
    }

    /// Replace both clocks, the case's and the credentials' (tests, simulated time).
    pub fn with_clock(mut self, clock: impl Fn() -> Timestamp + Send + Sync + 'static) -> Self {
        let clock: Clock = Arc::new(clock);
        self.clock = clock.clone();
        self.credential_clock = clock;
        self
    }

    /// Replace the case's clock only (`serve` with the deployment clock): credentials stay on the
    /// wall clock.
    pub fn with_deployment_clock(
        mut self,
        clock: impl Fn() -> Timestamp + Send + Sync + 'static,
    ) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// The case's time now (the deployment clock).
    pub fn now(&self) -> Timestamp {
        (self.clock)()
    }

    /// The time credentials are judged at (token and session expiry): the wall clock unless a
    /// test replaced it.
    pub fn credential_now(&self) -> Timestamp {
        (self.credential_clock)()
    }

    /// Force the session cookie's `Secure` attribute on or off (docs/security.md).
    pub fn with_secure_cookies(mut self, secure: bool) -> Self {
        self.cookie_secure = Some(secure);
        self
    }

    pub fn secure_cookies(&self) -> bool {
        self.cookie_secure.unwrap_or(true)
    }

    /// Run a read on the blocking pool and shape the result for the caller's role.
    pub(crate) async fn read<T, F>(
        &self,
        principal: Principal,
        f: F,
    ) -> Result<resources::Reply<T>, Problem>
    where
        T: serde::Serialize + 'static,
        F: FnOnce(&dyn Store) -> Result<T, Problem> + Send + 'static,
    {
        let store = self.store.clone();
        let reads = self.reads.clone();
        tokio::task::spawn_blocking(move || {
            let mut v =
                serde_json::to_value(f(store.as_ref())?).map_err(|e| Problem::internal(&e))?;
            // The same shaping as `redact::for_principal`, with the reader derived once per
            // store state rather than once per response.
            reads.reader(store.as_ref(), &principal)?.apply(&mut v);
            Ok(resources::Reply::shaped(v))
        })
        .await
        .map_err(|e| Problem::internal(&e))?
    }
}

/// The whole HTTP API.
pub fn router(state: AppState) -> Router {
    let viewer = Router::new()
        .route("/threats", get(threats::threats))
        .route("/threats/:id/matches/reviews", get(threats::reviews))
        .route("/threats/:id", get(threats::threat))
        .route("/threats/:id/matches", get(threats::threat_matches))
        .route(
            "/threats/:id/determinations",
            get(determinations::threat_determinations),
        )
        .route("/warnings", get(warnings::warnings))
        .route("/warnings/:id", get(warnings::warning))
        .route("/warnings/:id/specificity", get(warnings::specificity))
        .route(
            "/warnings/:id/deliveries",
            get(deliveries::warning_deliveries),
        )
        .route("/deliveries", get(deliveries::deliveries))
        .route("/posture", get(posture::posture))
        .route("/timeline", get(audit::timeline))
        .route("/audit", get(audit::audit))
        .route("/entities", get(registry::entities))
        .route("/entities/:id", get(registry::entity))
        .route("/audiences", get(registry::audiences))
        .route("/audiences/:id", get(registry::audience))
        .route("/dead-letters", get(deliveries::dead_letters))
        .route("/jobs/:id", get(jobs::job))
        .route("/tasks", get(tasks::tasks))
        .route("/reports/effectiveness", get(reports::effectiveness))
        .route("/feeds/runs", get(feeds::runs))
        .route("/feeds/runs/:id", get(feeds::run))
        .route("/feeds/constituency", get(feeds::constituency))
        .route_layer(from_fn_with_state(MinRole(Role::Viewer), authorize));
    let analyst = Router::new()
        .route("/threats/:id/determinations", post(determinations::propose))
        .route(
            "/threats/:id/determinations/waive",
            post(determinations::waive),
        )
        .route("/threats/:id/warnings", post(warnings::compose))
        .route("/threats/:id/outcome", post(threats::outcome))
        .route("/threats/:id/window", post(threats::extend_window))
        .route(
            "/warnings/:id/acknowledgements",
            post(followup::acknowledge),
        )
        .route("/warnings/:id/posture-reports", post(followup::posture))
        .route("/warnings/:id/feedback", post(followup::feedback))
        .route("/tasks/:id/close", post(tasks::close_task))
        .route("/intake/text", post(intake::propose))
        .route("/intake/commit", post(intake::commit))
        .route("/threats", post(threats::create))
        .route("/threats/:id/matches", post(threats::recompute))
        .route("/threats/:id/matches/reviews", post(threats::review))
        .route("/entities", post(registry::create_entity))
        .route("/entities/import", post(registry::import))
        .route(
            "/entities/:id",
            put(registry::put_entity).delete(registry::delete_entity),
        )
        .route("/audiences/:id", put(registry::put_audience))
        .route("/warnings/:id", patch(warnings::edit))
        .route("/warnings/:id/update", post(warnings::update))
        .route(
            "/warnings/:id/release-request",
            post(warnings::release_request),
        )
        .route("/deliveries/:id/retry", post(deliveries::retry))
        .route_layer(from_fn_with_state(MinRole(Role::Analyst), authorize));
    let approver = Router::new()
        .route(
            "/threats/:id/determinations/approve",
            post(determinations::approve_determination),
        )
        .route("/warnings/:id/approve", post(warnings::approve_warning))
        .route("/warnings/:id/queue", post(warnings::queue))
        .route("/warnings/:id/cancel", post(warnings::cancel))
        .route_layer(from_fn_with_state(MinRole(Role::Approver), authorize));
    let admin = Router::new()
        .route("/audit/events", get(audit::audit_events))
        .route("/audit/export", get(audit::audit_export))
        .route(
            "/users",
            get(accounts::list_users).post(accounts::post_user),
        )
        .route("/users/:id", patch(accounts::patch_user))
        .route(
            "/tokens",
            get(accounts::list_tokens).post(accounts::post_token),
        )
        .route("/tokens/:id", delete(accounts::delete_token))
        .route_layer(from_fn_with_state(MinRole(Role::Admin), authorize));
    let api = viewer
        .merge(analyst)
        .merge(approver)
        .merge(admin)
        .route_layer(from_fn(record_route))
        .fallback(not_found)
        .layer(from_fn_with_state(state.clone(), authenticate));
    Router::new()
        .route("/health", get(meta::health))
        .route("/r/:token", get(links::link_info).post(links::link_use))
        // The API document describes the API and holds no data: readable without a token.
        .route("/api/v1/openapi.json", get(openapi::openapi_json))
        .nest("/api/v1", api)
        // Console sessions (docs/security.md): login is open (rate limited); me/logout need a credential.
        .route("/auth/login", post(session::login))
        .merge(
            Router::new()
                .route("/auth/me", get(session::me))
                .route("/auth/logout", post(session::logout))
                .layer(from_fn_with_state(state.clone(), authenticate)),
        )
        // The web console: `/` and `/console/{file}` (docs/console.md).
        .merge(console::router())
        .route_layer(from_fn(record_route))
        .fallback(not_found)
        .layer(from_fn(finish))
        // Standards (docs/standards.md); after `finish`, which would rewrite TAXII error bodies.
        .merge(taxii::router(state.clone()))
        .merge(cap_feed::router())
        .with_state(state)
}

async fn not_found(req: Request) -> Problem {
    Problem::from_status(
        StatusCode::NOT_FOUND,
        format!("no route for {} {}", req.method(), req.uri().path()),
    )
}

/// The route template a request matched (`/r/:token`, `/api/v1/threats/:id`), carried on the
/// response to the access log: paths can hold credentials (a recipient's link token), templates
/// cannot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteTemplate(pub String);

/// Copy the matched route's template onto the response (the innermost router's wins: the
/// nested API's full template, not the outer router's catch-all).
async fn record_route(req: Request, next: Next) -> Response {
    let template = req
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map(|m| m.as_str().to_owned());
    let mut resp = next.run(req).await;
    if let Some(t) = template {
        if resp.extensions().get::<RouteTemplate>().is_none() {
            resp.extensions_mut().insert(RouteTemplate(t));
        }
    }
    resp
}

/// Outermost layer: access log (method, route template, status, time — never the path, a query
/// or headers), problem+json for framework errors (405, extractor rejections), and headers that
/// keep responses out of caches.
async fn finish(req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = req.method().clone();
    let mut resp = next.run(req).await;
    let route = resp
        .extensions()
        .get::<RouteTemplate>()
        .map(|r| r.0.clone())
        .unwrap_or_else(|| "(no route)".to_owned());
    let status = resp.status();
    if (status.is_client_error() || status.is_server_error())
        && !is_problem(&resp)
        && !is_html(&resp)
    {
        resp = into_problem(resp).await;
    }
    let h = resp.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    tracing::info!(%method, %route, status = status.as_u16(), ms = started.elapsed().as_millis() as u64, "request");
    resp
}

fn is_problem(resp: &Response) -> bool {
    resp.headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(problem::PROBLEM_JSON.as_bytes()))
}

/// The recipient's pages (`/r/{token}` for a browser) say what went wrong in HTML, not problem+json.
fn is_html(resp: &Response) -> bool {
    resp.headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"text/html"))
}

/// Re-wrap an error response (plain text from an extractor rejection, or empty) as problem+json.
async fn into_problem(resp: Response) -> Response {
    let (parts, body) = resp.into_parts();
    let plain = parts
        .headers
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"text/plain"));
    let text = match axum::body::to_bytes(body, 16 * 1024).await {
        Ok(b) if plain => String::from_utf8_lossy(&b).into_owned(),
        _ => String::new(),
    };
    let detail = if text.trim().is_empty() {
        match parts.status {
            StatusCode::METHOD_NOT_ALLOWED => "this route does not support that method".to_owned(),
            s => s.canonical_reason().unwrap_or("error").to_owned(),
        }
    } else {
        text
    };
    let mut out = Problem::from_status(parts.status, detail).into_response();
    // Keep headers such as `Allow` on a 405.
    for (name, value) in parts.headers.iter() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            out.headers_mut().insert(name.clone(), value.clone());
        }
    }
    out
}

/// Bind `listen` and serve until ctrl-c (or SIGTERM), then finish in-flight requests.
pub async fn serve(state: AppState, listen: SocketAddr) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(listen).await?;
    serve_on(state, listener, shutdown_signal()).await
}

/// Serve on an already bound listener until `shutdown` completes (tests bind port 0).
pub async fn serve_on(
    state: AppState,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let addr = listener.local_addr()?;
    tracing::info!(addr = %addr, "tocsin API listening");
    let mut state = state;
    // Plain http on loopback (a developer's console) cannot keep a Secure cookie; anywhere else the
    // server is meant to sit behind TLS (docs/security.md).
    state.cookie_secure.get_or_insert(!addr.ip().is_loopback());
    let app = router(state).into_make_service_with_connect_info::<SocketAddr>();
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
}

/// Completes on ctrl-c, or on SIGTERM where there are signals.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutting down");
}

#[cfg(test)]
mod tests {
    use super::*;
    use tower::ServiceExt;

    async fn template_of(uri: &str) -> Option<String> {
        let store: Arc<dyn Store> =
            Arc::new(tocsin_store_sqlite::SqliteStore::open_in_memory().unwrap());
        let app = router(AppState::new(store));
        let req = Request::builder()
            .uri(uri)
            .body(axum::body::Body::empty())
            .unwrap();
        let resp = app.oneshot(req).await.unwrap_or_else(|e| match e {});
        resp.extensions()
            .get::<RouteTemplate>()
            .map(|r| r.0.clone())
    }

    /// The access log records the route's template: a recipient's link token (a credential) never
    /// reaches it, and an API path gives its nested template, not the outer catch-all.
    #[tokio::test]
    async fn the_access_log_sees_route_templates_not_paths() {
        assert_eq!(
            template_of("/r/eyJzZWNyZXQiOjF9.c2ln").await.as_deref(),
            Some("/r/:token")
        );
        assert_eq!(
            template_of("/api/v1/threats/moscow-2024-03")
                .await
                .as_deref(),
            Some("/api/v1/threats/:id")
        );
        assert_eq!(template_of("/health").await.as_deref(), Some("/health"));
        assert_eq!(template_of("/no/such/eyJ0b2tlbg").await, None);
    }
}
