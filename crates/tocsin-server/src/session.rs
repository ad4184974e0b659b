//! Console sessions (docs/security.md): `POST /auth/login`, `GET /auth/me`, `POST /auth/logout`.
//!
//! A session is a random 32-byte secret in the cookie `tocsin_session` (HttpOnly, SameSite=Strict,
//! Path=/, Secure unless the server listens on loopback over plain HTTP). The store keeps only its
//! SHA-256. Its CSRF token is derived from the secret (SHA-256 of a fixed label and the secret), so
//! the console can ask for it again after a reload (`GET /auth/me`) and the store keeps only its
//! hash too; a page of another site can neither read the cookie nor compute the token. Requests
//! authenticated by the cookie must send `X-CSRF-Token` on POST, PUT, PATCH and DELETE.
//!
//! A session ends when the user logs out, after [`IDLE_TIMEOUT`] without a request, after
//! [`ABSOLUTE_TIMEOUT`] in any case, or when the user is disabled or their password changes.

use crate::auth::{
    user_need_to_know, AuthFailure, Credential, NeedToKnow, Principal, Role, Scope, UserRef,
};
use crate::problem::Problem;
use crate::ratelimit::{decide, LimitedBy, LoginLimits, Verdict};
use crate::resources::accounts::{normalize_username, verify_dummy, verify_password};
use crate::AppState;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use chrono::Duration;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::net::SocketAddr;
use tocsin_core::{Classification, CountryCode, Timestamp};
use tocsin_store::accounts::{NewSession, SessionRecord, UserRecord};
use tocsin_store::{AuditCtx, StoreError};
use utoipa::ToSchema;

/// The session cookie's name.
pub const COOKIE_NAME: &str = "tocsin_session";
/// The header that carries the CSRF token on unsafe requests made with the cookie.
pub const CSRF_HEADER: &str = "x-csrf-token";
/// A session unused for this long is over.
pub const IDLE_TIMEOUT: Duration = Duration::minutes(30);
/// A session is over this long after login, however active.
pub const ABSOLUTE_TIMEOUT: Duration = Duration::hours(12);
/// Activity is written at most this often (each write is an audited store call).
const TOUCH_EVERY: Duration = Duration::minutes(1);

/// The session secret in the request's `Cookie` header(s), if one is there and well formed.
pub fn cookie_secret(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE_NAME)
        .map(|(_, value)| value.trim().to_owned())
}

fn well_formed(secret: &str) -> bool {
    secret.len() == 64 && secret.bytes().all(|b| b.is_ascii_hexdigit())
}

fn sha256_hex(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}

/// The CSRF token of a session secret.
pub fn csrf_token(secret: &str) -> String {
    sha256_hex(&format!("tocsin csrf v1\0{secret}"))
}

fn equal_ct(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// Is a stored session usable at `now`? (Pure.)
pub fn session_live(s: &SessionRecord, now: Timestamp) -> bool {
    !s.revoked && now < s.expires_at && now < s.last_seen_at + IDLE_TIMEOUT
}

fn session_principal(s: &SessionRecord, u: &UserRecord) -> Result<Principal, AuthFailure> {
    if u.disabled {
        return Err(AuthFailure::Disabled);
    }
    let role: Role = u.role.parse().map_err(|_| AuthFailure::SessionInvalid)?;
    Ok(Principal {
        credential: Credential::Session { id: s.id },
        label: u.username.clone(),
        role,
        scopes: Scope::up_to(role),
        user: Some(UserRef {
            id: u.id,
            username: u.username.clone(),
        }),
        need_to_know: user_need_to_know(u),
    })
}

fn csrf_refused(detail: &str) -> Response {
    Problem::new(StatusCode::FORBIDDEN, "csrf", "Forbidden", detail).into_response()
}

/// Authenticate a request by its session cookie (the caller saw one), checking the CSRF token on
/// unsafe methods. `Err` is the response to send.
pub(crate) fn authenticate_session<'a>(
    state: &'a AppState,
    req: &Request,
    now: Timestamp,
) -> impl std::future::Future<Output = Result<Principal, Response>> + Send + 'a {
    // Nothing borrowed from the request lives across an await (its body is not Sync).
    let secret = cookie_secret(req.headers()).unwrap_or_default();
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let presented_csrf = req
        .headers()
        .get(CSRF_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    check_session(state, secret, method, path, presented_csrf, now)
}

async fn check_session(
    state: &AppState,
    secret: String,
    method: Method,
    path: String,
    presented_csrf: Option<String>,
    now: Timestamp,
) -> Result<Principal, Response> {
    let reject = |f: AuthFailure| {
        tracing::info!(%method, %path, reason = ?f, "authentication failed");
        Problem::from(f).into_response()
    };
    if !well_formed(&secret) {
        return Err(reject(AuthFailure::SessionInvalid));
    }
    let unsafe_method = !matches!(method, Method::GET | Method::HEAD | Method::OPTIONS);
    let store = state.store.clone();
    let hash = sha256_hex(&secret);
    let found = tokio::task::spawn_blocking(
        move || -> Result<Result<(SessionRecord, Principal), AuthFailure>, StoreError> {
            let Some(s) = store.session_by_hash(&hash)? else {
                return Ok(Err(AuthFailure::SessionInvalid));
            };
            if !equal_ct(&s.session_hash, &hash) || !session_live(&s, now) {
                return Ok(Err(AuthFailure::SessionInvalid));
            }
            let Some(u) = store.user(s.user_id)? else {
                return Ok(Err(AuthFailure::SessionInvalid));
            };
            let p = match session_principal(&s, &u) {
                Ok(p) => p,
                Err(f) => return Ok(Err(f)),
            };
            Ok(Ok((s, p)))
        },
    )
    .await;
    let (session, principal) = match found {
        Ok(Ok(Ok(x))) => x,
        Ok(Ok(Err(f))) => return Err(reject(f)),
        Ok(Err(e)) => return Err(Problem::from(e).into_response()),
        Err(e) => return Err(Problem::internal(&e).into_response()),
    };
    if unsafe_method {
        match presented_csrf {
            None => {
                tracing::info!(%path, "CSRF token missing");
                return Err(csrf_refused("this request is authenticated by the session cookie and changes state: it needs the X-CSRF-Token header (the csrf_token of /auth/login or /auth/me)"));
            }
            Some(t) if !equal_ct(&sha256_hex(&t), &session.csrf_hash) => {
                tracing::info!(%path, "CSRF token wrong");
                return Err(csrf_refused(
                    "the X-CSRF-Token header does not match this session",
                ));
            }
            Some(_) => {}
        }
    }
    if now - session.last_seen_at >= TOUCH_EVERY {
        let store = state.store.clone();
        let ctx = AuditCtx::new(principal.actor(), now);
        let id = session.id;
        match tokio::task::spawn_blocking(move || store.touch_session(id, &ctx)).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(Problem::from(e).into_response()),
            Err(e) => return Err(Problem::internal(&e).into_response()),
        }
    }
    Ok(principal)
}

/// The `Set-Cookie` value that opens a session.
pub fn session_cookie(secret: &str, secure: bool) -> String {
    let mut c = format!(
        "{COOKIE_NAME}={secret}; HttpOnly; SameSite=Strict; Path=/; Max-Age={}",
        ABSOLUTE_TIMEOUT.num_seconds()
    );
    if secure {
        c.push_str("; Secure");
    }
    c
}

/// The `Set-Cookie` value that ends it in the browser.
pub fn clear_cookie(secure: bool) -> String {
    let mut c = format!("{COOKIE_NAME}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0");
    if secure {
        c.push_str("; Secure");
    }
    c
}

/// The user a session or token acts as.
#[derive(Serialize, ToSchema)]
pub struct SessionUser {
    pub id: i64,
    pub username: String,
    pub role: String,
    pub clearance: Classification,
    #[schema(value_type = String, pattern = "^[A-Z]{3}$")]
    pub nationality: CountryCode,
}

impl From<&UserRecord> for SessionUser {
    fn from(u: &UserRecord) -> Self {
        SessionUser {
            id: u.id,
            username: u.username.clone(),
            role: u.role.clone(),
            clearance: u.clearance,
            nationality: u.nationality,
        }
    }
}

/// A session opened: the cookie is in `Set-Cookie` (HttpOnly, SameSite=Strict); send
/// `csrf_token` as `X-CSRF-Token` on every POST, PUT, PATCH and DELETE.
#[derive(Serialize, ToSchema)]
pub struct LoginAnswer {
    pub user: SessionUser,
    pub csrf_token: String,
}

/// What the credential may read (docs/security.md, "need to know").
#[derive(Serialize, ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum NeedToKnowView {
    /// A staff token that belongs to no user: reads everything.
    Unrestricted,
    /// A user or a user's token: cleared to `clearance`, a national of `nationality`.
    Cleared {
        clearance: Classification,
        #[schema(value_type = String, pattern = "^[A-Z]{3}$")]
        nationality: CountryCode,
    },
}

impl From<NeedToKnow> for NeedToKnowView {
    fn from(n: NeedToKnow) -> Self {
        match n {
            NeedToKnow::Unrestricted => NeedToKnowView::Unrestricted,
            NeedToKnow::Cleared {
                clearance,
                nationality,
            } => NeedToKnowView::Cleared {
                clearance,
                nationality,
            },
        }
    }
}

/// Who the credential is.
#[derive(Serialize, ToSchema)]
pub struct Me {
    /// The user behind the credential (`null` for a token that belongs to no user).
    pub user: Option<SessionUser>,
    /// The effective role (the token's, capped by its user's).
    pub role: Role,
    pub scopes: Vec<Scope>,
    /// `token` or `session`.
    pub credential: String,
    pub need_to_know: NeedToKnowView,
    /// The session's CSRF token (sessions only).
    pub csrf_token: Option<String>,
}

impl Me {
    fn new(p: &Principal, user: Option<&UserRecord>, csrf: Option<String>) -> Self {
        Me {
            user: user.map(SessionUser::from),
            role: p.role,
            scopes: p.scopes.clone(),
            credential: match p.credential {
                Credential::Token { .. } => "token",
                Credential::Session { .. } => "session",
            }
            .to_owned(),
            need_to_know: p.need_to_know.into(),
            csrf_token: csrf,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginBody {
    username: String,
    password: String,
}

fn client_of(ci: Option<&ConnectInfo<SocketAddr>>) -> String {
    // Behind a proxy every client shares the proxy's address: the per-username limit still holds.
    ci.map(|ConnectInfo(a)| a.ip().to_string())
        .unwrap_or_else(|| "unknown".to_owned())
}

fn invalid_login() -> Response {
    // One answer for an unknown user, a wrong password, a disabled user: nothing to enumerate.
    let mut p = Problem::unauthorized("the username or password is wrong", None);
    p.www_authenticate = None;
    p.into_response()
}

/// `POST /auth/login` with `{"username", "password"}`: opens a session.
pub async fn login(
    State(st): State<AppState>,
    ci: Option<ConnectInfo<SocketAddr>>,
    Json(b): Json<LoginBody>,
) -> Response {
    let now = st.credential_now();
    let client = client_of(ci.as_ref());
    // An invalid username is still counted and hashed against, like an unknown one.
    let username = normalize_username(&b.username).unwrap_or_else(|_| {
        b.username
            .chars()
            .take(64)
            .collect::<String>()
            .to_lowercase()
    });
    let store = st.store.clone();
    let secure = st.secure_cookies();
    let limits = LoginLimits::default();
    // Argon2 costs 19 MiB and real CPU per check: at most `password_checks` run at once; a login
    // beyond that is answered 429 at once, without queueing (memory stays bounded under a flood)
    // and without counting as an attempt.
    let Ok(permit) = st.password_checks.clone().try_acquire_owned() else {
        tracing::warn!("login refused: too many password checks in progress");
        let mut resp = Problem::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate-limited",
            "Too Many Requests",
            "too many logins are being checked right now: try again in a second",
        )
        .into_response();
        resp.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(1));
        return resp;
    };
    let outcome = tokio::task::spawn_blocking(move || -> Result<LoginOutcome, StoreError> {
        let _permit = permit;
        // Decide and count in one store transaction: N parallel attempts are N counted attempts,
        // and the one past the limit is refused (docs/security.md).
        let verdict = std::sync::Mutex::new(Verdict::Allowed);
        let claimed = store.claim_login_attempt(
            &username,
            &client,
            now - limits.window,
            &|attempts| {
                let v = decide(attempts, &username, &client, now, &limits);
                let allowed = v == Verdict::Allowed;
                *verdict.lock().unwrap_or_else(|p| p.into_inner()) = v;
                allowed
            },
            &AuditCtx::new(format!("login:{username}"), now),
        )?;
        let Some(attempt) = claimed else {
            return Ok(
                match verdict.into_inner().unwrap_or_else(|p| p.into_inner()) {
                    Verdict::Limited {
                        by,
                        retry_after_secs,
                    } => LoginOutcome::Limited {
                        by,
                        retry_after_secs,
                    },
                    Verdict::Allowed => LoginOutcome::Refused,
                },
            );
        };
        let user = store.user_by_name(&username)?;
        let ok = match user.as_ref() {
            Some(u) if !u.disabled => match &u.password_hash {
                Some(h) => verify_password(h, &b.password),
                None => {
                    verify_dummy(&b.password);
                    false
                }
            },
            _ => {
                verify_dummy(&b.password);
                false
            }
        };
        let ctx = AuditCtx::new(format!("login:{username}"), now);
        store.settle_login_attempt(attempt, ok, &ctx)?;
        let Some(u) = user.filter(|_| ok) else {
            return Ok(LoginOutcome::Refused);
        };
        let mut bytes = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        let secret = hex::encode(bytes);
        let csrf = csrf_token(&secret);
        let ctx = AuditCtx::new(format!("user:{}:{}", u.id, u.username), now);
        store.insert_session(
            &NewSession {
                session_hash: sha256_hex(&secret),
                user_id: u.id,
                csrf_hash: sha256_hex(&csrf),
                expires_at: now + ABSOLUTE_TIMEOUT,
                client,
            },
            &ctx,
        )?;
        Ok(LoginOutcome::Opened {
            secret,
            csrf,
            user: u,
        })
    })
    .await;
    match outcome {
        Ok(Ok(LoginOutcome::Opened { secret, csrf, user })) => {
            tracing::info!(user_id = user.id, "login");
            let body = LoginAnswer {
                user: SessionUser::from(&user),
                csrf_token: csrf,
            };
            let mut resp = Json(body).into_response();
            if let Ok(v) = HeaderValue::from_str(&session_cookie(&secret, secure)) {
                resp.headers_mut().insert(header::SET_COOKIE, v);
            }
            resp
        }
        Ok(Ok(LoginOutcome::Refused)) => invalid_login(),
        Ok(Ok(LoginOutcome::Limited {
            by,
            retry_after_secs,
        })) => {
            tracing::warn!(?by, "login rate limited");
            let what = match by {
                LimitedBy::Username => "this username",
                LimitedBy::Client => "this address",
            };
            let detail = format!(
                "too many failed logins for {what}: try again in {retry_after_secs} seconds"
            );
            let mut resp = Problem::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate-limited",
                "Too Many Requests",
                detail,
            )
            .into_response();
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
            resp
        }
        Ok(Err(e)) => Problem::from(e).into_response(),
        Err(e) => Problem::internal(&e).into_response(),
    }
}

enum LoginOutcome {
    Opened {
        secret: String,
        csrf: String,
        user: UserRecord,
    },
    Refused,
    Limited {
        by: LimitedBy,
        retry_after_secs: i64,
    },
}

/// `GET /auth/me`: who the credential is, and the session's CSRF token (sessions only).
pub async fn me(
    State(st): State<AppState>,
    Extension(p): Extension<Principal>,
    headers: HeaderMap,
) -> Result<Json<Me>, Problem> {
    let csrf = match p.credential {
        Credential::Session { .. } => cookie_secret(&headers).map(|s| csrf_token(&s)),
        Credential::Token { .. } => None,
    };
    let store = st.store.clone();
    let uid = p.user.as_ref().map(|u| u.id);
    let user = tokio::task::spawn_blocking(move || uid.map(|id| store.user(id)).transpose())
        .await
        .map_err(|e| Problem::internal(&e))??
        .flatten();
    Ok(Json(Me::new(&p, user.as_ref(), csrf)))
}

/// `POST /auth/logout`: ends the session (a token caller has none: nothing to end).
pub async fn logout(
    State(st): State<AppState>,
    Extension(p): Extension<Principal>,
) -> Result<Response, Problem> {
    let secure = st.secure_cookies();
    if let Credential::Session { id } = p.credential {
        let store = st.store.clone();
        let ctx = AuditCtx::new(p.actor(), st.credential_now());
        tokio::task::spawn_blocking(move || store.revoke_session(id, &ctx))
            .await
            .map_err(|e| Problem::internal(&e))??;
    }
    let mut resp = StatusCode::NO_CONTENT.into_response();
    if let Ok(v) = HeaderValue::from_str(&clear_cookie(secure)) {
        resp.headers_mut().insert(header::SET_COOKIE, v);
    }
    Ok(resp)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn cookie_is_found_among_others() {
        let mut h = HeaderMap::new();
        h.append(
            header::COOKIE,
            HeaderValue::from_static("a=1; tocsin_session=abc ; b=2"),
        );
        assert_eq!(cookie_secret(&h).as_deref(), Some("abc"));
        assert_eq!(cookie_secret(&HeaderMap::new()), None);
        assert!(!well_formed("abc") && well_formed(&"a1".repeat(32)));
    }

    #[test]
    fn cookie_attributes() {
        let c = session_cookie("s", true);
        for part in [
            "tocsin_session=s",
            "HttpOnly",
            "SameSite=Strict",
            "Path=/",
            "Secure",
            "Max-Age=43200",
        ] {
            assert!(c.split("; ").any(|p| p == part), "{part} missing in {c}");
        }
        assert!(!session_cookie("s", false).contains("Secure"));
        assert!(clear_cookie(true).contains("Max-Age=0"));
    }

    #[test]
    fn csrf_is_bound_to_the_session() {
        let a = csrf_token(&"a".repeat(64));
        assert_eq!(a, csrf_token(&"a".repeat(64)));
        assert_ne!(a, csrf_token(&"b".repeat(64)));
        assert!(!a.contains(&"a".repeat(64)));
    }

    #[test]
    fn idle_and_absolute_expiry() {
        let t0 = chrono::Utc.with_ymd_and_hms(2026, 1, 1, 8, 0, 0).unwrap();
        let s = SessionRecord {
            id: 1,
            session_hash: "h".into(),
            user_id: 1,
            csrf_hash: "c".into(),
            created_at: t0,
            last_seen_at: t0,
            expires_at: t0 + ABSOLUTE_TIMEOUT,
            revoked: false,
        };
        assert!(session_live(&s, t0 + Duration::minutes(29)));
        assert!(!session_live(&s, t0 + IDLE_TIMEOUT), "idle");
        let active = SessionRecord {
            last_seen_at: t0 + Duration::hours(12) - Duration::minutes(1),
            ..s.clone()
        };
        assert!(
            !session_live(&active, t0 + ABSOLUTE_TIMEOUT),
            "absolute, even when active"
        );
        assert!(!session_live(&SessionRecord { revoked: true, ..s }, t0));
    }
}
