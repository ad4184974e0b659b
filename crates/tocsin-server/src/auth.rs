//! Who is calling, and what they may do: bearer tokens, console sessions, roles, scopes and the
//! clearance a principal carries (docs/security.md).
//!
//! A token is `tcn_` followed by 64 hex digits (32 random bytes). The store keeps only the SHA-256
//! (hex) of the whole token string; requests are authenticated by hashing the presented token and
//! looking the hash up. Tokens are never logged, and the `Authorization` header is never traced.
//!
//! Two layers guard `/api/v1/`: [`authenticate`] (every path, 401 on a missing, malformed, unknown,
//! revoked or expired token or session; 403 on a session request without its CSRF token) puts a
//! [`Principal`] into the request; [`authorize`] (per route group) answers 403 when the principal's
//! role is below the group's minimum or its scopes do not include the group's scope.
//!
//! Rights are the minimum of what every layer grants: a token's role and scopes, and the role of
//! the user who owns it. The two-person rule compares [`Principal::actor`], which names the user
//! when there is one, so one person with two tokens (or a token and a session) is still one person.

use crate::problem::Problem;
use crate::AppState;
use axum::extract::{Request, State};
use axum::http::header::AUTHORIZATION;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fmt;
use std::str::FromStr;
use tocsin_core::{Classification, CountryCode, Timestamp};
use tocsin_store::accounts::{NewToken, UserRecord};
use tocsin_store::{AuditCtx, Store, StoreError, TokenRecord};

/// Prefix of every token Tocsin generates (makes leaked tokens easy to spot by secret scanners).
pub const TOKEN_PREFIX: &str = "tcn_";

/// Shortest secret accepted for a given (operator-chosen) admin token.
pub const MIN_GIVEN_TOKEN_LEN: usize = 16;

/// Longest `Authorization` credential we even look at.
const MAX_TOKEN_LEN: usize = 512;

/// Actor recorded in the audit chain for bootstrap writes.
pub const BOOTSTRAP_ACTOR: &str = "system:bootstrap";

/// Roles, ordered: each includes the rights of those below it.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Viewer,
    Analyst,
    Approver,
    Admin,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Viewer, Role::Analyst, Role::Approver, Role::Admin];

    pub fn as_str(&self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Analyst => "analyst",
            Role::Approver => "approver",
            Role::Admin => "admin",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown role {0:?} (expected viewer, analyst, approver or admin)")]
pub struct RoleError(pub String);

impl FromStr for Role {
    type Err = RoleError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| RoleError(s.to_owned()))
    }
}

/// What a token may be used for, one scope per route group (docs/security.md). A token's rights
/// are its role *and* its scopes: a route needs both the group's role and the group's scope.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// The viewer group: reading threats, warnings, deliveries, the timeline, the audit summary.
    Read,
    /// The analyst group: proposing, composing, recording acknowledgements, intake.
    Write,
    /// The approver group: approving determinations and warnings.
    Approve,
    /// The admin group: users, tokens, the audit events.
    Admin,
}

impl Scope {
    pub const ALL: [Scope; 4] = [Scope::Read, Scope::Write, Scope::Approve, Scope::Admin];

    pub fn as_str(&self) -> &'static str {
        match self {
            Scope::Read => "read",
            Scope::Write => "write",
            Scope::Approve => "approve",
            Scope::Admin => "admin",
        }
    }

    /// The scope of the route group whose minimum role is `role`.
    pub fn for_role(role: Role) -> Scope {
        match role {
            Role::Viewer => Scope::Read,
            Role::Analyst => Scope::Write,
            Role::Approver => Scope::Approve,
            Role::Admin => Scope::Admin,
        }
    }

    /// Every scope a role can use: the scopes of its own group and of the groups below it.
    pub fn up_to(role: Role) -> Vec<Scope> {
        Scope::ALL
            .into_iter()
            .filter(|s| {
                Role::ALL
                    .into_iter()
                    .any(|r| r <= role && Scope::for_role(r) == *s)
            })
            .collect()
    }

    /// Parse a comma-separated list (`read,write`); an empty list is an error, duplicates are merged.
    pub fn parse_list(s: &str) -> Result<Vec<Scope>, ScopeError> {
        let mut out: Vec<Scope> = Vec::new();
        for part in s.split(',').map(str::trim) {
            let scope: Scope = part.parse()?;
            if !out.contains(&scope) {
                out.push(scope);
            }
        }
        out.sort();
        Ok(out)
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown scope {0:?} (expected read, write, approve or admin)")]
pub struct ScopeError(pub String);

impl FromStr for Scope {
    type Err = ScopeError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Scope::ALL
            .into_iter()
            .find(|x| x.as_str() == s)
            .ok_or_else(|| ScopeError(s.to_owned()))
    }
}

/// What a principal may read: portions above it are withheld (docs/security.md, "need to know").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum NeedToKnow {
    /// A staff token that belongs to no user: the server's default, full clearance (it reads
    /// everything, as an unrestricted national of the originator would).
    Unrestricted,
    /// A user (or a user's token): cleared to `clearance`, a national of `nationality`, judged by
    /// the same releasability rules as an audience.
    Cleared {
        clearance: Classification,
        nationality: CountryCode,
    },
}

/// The person behind a principal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UserRef {
    pub id: i64,
    pub username: String,
}

/// How the principal proved who it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Credential {
    Token {
        id: i64,
    },
    /// A console session (cookie); unsafe methods need its CSRF token too.
    Session {
        id: i64,
    },
}

/// Who is calling (never a secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub credential: Credential,
    /// The token's label, or the username for a session.
    pub label: String,
    /// The effective role: the token's role, capped by its owner's role.
    pub role: Role,
    /// The effective scopes: the token's scopes that its effective role can use.
    pub scopes: Vec<Scope>,
    pub user: Option<UserRef>,
    pub need_to_know: NeedToKnow,
}

impl Principal {
    /// The token behind this principal, if it came with one.
    pub fn token_id(&self) -> Option<i64> {
        match self.credential {
            Credential::Token { id } => Some(id),
            Credential::Session { .. } => None,
        }
    }

    /// The name recorded as the actor of audited writes made through the API. It names the user
    /// when there is one (whatever token or session they used), so the two-person rule compares
    /// people, not credentials.
    pub fn actor(&self) -> String {
        match (&self.user, self.credential) {
            (Some(u), _) => format!("user:{}:{}", u.id, u.username),
            (None, Credential::Token { id }) => format!("token:{id}:{}", self.label),
            (None, Credential::Session { id }) => format!("session:{id}"),
        }
    }

    /// May this principal use a route group whose minimum role is `min`?
    pub fn allows(&self, min: Role) -> bool {
        self.role >= min && self.scopes.contains(&Scope::for_role(min))
    }
}

/// The effective scopes of a token: those it was given (all, for a token from before scopes) that
/// its effective role can use. Unknown stored scope names grant nothing (fail closed).
pub fn effective_scopes(stored: Option<&[String]>, role: Role) -> Vec<Scope> {
    let allowed = Scope::up_to(role);
    match stored {
        None => allowed,
        Some(list) => {
            let mut out: Vec<Scope> = list
                .iter()
                .filter_map(|s| s.parse().ok())
                .filter(|s| allowed.contains(s))
                .collect();
            out.sort();
            out.dedup();
            out
        }
    }
}

/// The clearance of a stored user.
pub fn user_need_to_know(u: &UserRecord) -> NeedToKnow {
    NeedToKnow::Cleared {
        clearance: u.clearance,
        nationality: u.nationality,
    }
}

/// SHA-256 (lower-case hex) of a token secret: the only form a token is stored in.
pub fn hash_token(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// A fresh random token: `tcn_` + 64 hex digits from the OS random generator.
pub fn generate_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    format!("{TOKEN_PREFIX}{}", hex::encode(bytes))
}

/// Constant-time equality of two hash strings.
fn hashes_equal(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the given admin token is unusable: {0}")]
    InvalidGiven(String),
    #[error("the given admin token is already stored but {0}; choose another secret")]
    GivenConflict(String),
    #[error("invalid token: {0}")]
    InvalidSpec(String),
}

/// Generate a token with `role` (and every scope the role can use), store its hash, and return
/// the secret (shown to the user once).
pub fn issue_token(
    store: &dyn Store,
    role: Role,
    label: &str,
    expires_at: Option<Timestamp>,
    audit: &AuditCtx,
) -> Result<String, TokenError> {
    issue_scoped_token(
        store,
        &TokenSpec {
            role,
            label: label.to_owned(),
            expires_at,
            scopes: Scope::up_to(role),
            user_id: None,
        },
        audit,
    )
    .map(|(secret, _)| secret)
}

/// What a new token may do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenSpec {
    pub role: Role,
    pub label: String,
    pub expires_at: Option<Timestamp>,
    pub scopes: Vec<Scope>,
    /// The owner: the token then acts as this user (identity, clearance; role capped by theirs).
    pub user_id: Option<i64>,
}

/// Generate a token as `spec` says; returns the secret (shown once) and the token's id.
pub fn issue_scoped_token(
    store: &dyn Store,
    spec: &TokenSpec,
    audit: &AuditCtx,
) -> Result<(String, i64), TokenError> {
    if spec.scopes.is_empty() {
        return Err(TokenError::InvalidSpec(
            "a token needs at least one scope".into(),
        ));
    }
    if let Some(s) = spec
        .scopes
        .iter()
        .find(|s| !Scope::up_to(spec.role).contains(s))
    {
        return Err(TokenError::InvalidSpec(format!(
            "scope {s} needs a role the token does not have ({})",
            spec.role
        )));
    }
    if spec.label.trim().is_empty() || spec.label.len() > 200 {
        return Err(TokenError::InvalidSpec(
            "a token needs a label of 1 to 200 characters".into(),
        ));
    }
    let secret = generate_token();
    let id = store.insert_scoped_token(
        &NewToken {
            token_hash: hash_token(&secret),
            role: spec.role.as_str().to_owned(),
            label: spec.label.clone(),
            expires_at: spec.expires_at,
            scopes: spec.scopes.iter().map(|s| s.as_str().to_owned()).collect(),
            user_id: spec.user_id,
        },
        audit,
    )?;
    Ok((secret, id))
}

/// Make sure an admin can get in.
///
/// - `given` is `Some` (e.g. `TOCSIN_ADMIN_TOKEN`): ensure a non-expiring admin token with that
///   secret's hash exists (idempotent; the secret must be at least [`MIN_GIVEN_TOKEN_LEN`] visible
///   ASCII characters). Returns `Ok(None)`: the caller already knows the secret.
/// - otherwise, if the store holds no token at all: generate one, store only its hash, and return
///   `Ok(Some(secret))` so the caller prints it once.
/// - otherwise `Ok(None)`.
pub fn bootstrap_admin_token(
    store: &dyn Store,
    given: Option<&str>,
    now: Timestamp,
) -> Result<Option<String>, TokenError> {
    let audit = AuditCtx::new(BOOTSTRAP_ACTOR, now);
    if let Some(secret) = given {
        validate_given(secret)?;
        let hash = hash_token(secret);
        return match store.token_by_hash(&hash)? {
            None => {
                store.insert_token(
                    &hash,
                    Role::Admin.as_str(),
                    "bootstrap admin (given)",
                    None,
                    &audit,
                )?;
                tracing::info!("stored the given admin token (hash only)");
                Ok(None)
            }
            Some(rec) => {
                check_given_record(&rec, now)?;
                Ok(None)
            }
        };
    }
    if store.token_count()? > 0 {
        return Ok(None);
    }
    let secret = issue_token(
        store,
        Role::Admin,
        "bootstrap admin (generated)",
        None,
        &audit,
    )?;
    tracing::info!("generated the first admin token (hash stored; the secret is shown once)");
    Ok(Some(secret))
}

fn validate_given(secret: &str) -> Result<(), TokenError> {
    if secret.len() < MIN_GIVEN_TOKEN_LEN {
        return Err(TokenError::InvalidGiven(format!(
            "it must be at least {MIN_GIVEN_TOKEN_LEN} characters long"
        )));
    }
    if secret.len() > MAX_TOKEN_LEN {
        return Err(TokenError::InvalidGiven(format!(
            "it must be at most {MAX_TOKEN_LEN} characters long"
        )));
    }
    if !secret.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(TokenError::InvalidGiven(
            "it may contain only visible ASCII characters (no spaces)".into(),
        ));
    }
    Ok(())
}

fn check_given_record(rec: &TokenRecord, now: Timestamp) -> Result<(), TokenError> {
    if rec.revoked {
        return Err(TokenError::GivenConflict("revoked".into()));
    }
    if rec.expires_at.is_some_and(|e| e <= now) {
        return Err(TokenError::GivenConflict("expired".into()));
    }
    if rec.role != Role::Admin.as_str() {
        return Err(TokenError::GivenConflict(format!(
            "has role {:?}, not admin",
            rec.role
        )));
    }
    Ok(())
}

/// Why a request is not authenticated (the message is safe to show: it never echoes the token).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthFailure {
    Missing,
    Malformed,
    Invalid,
    Expired,
    /// The user who owns the token or session is disabled.
    Disabled,
    /// The console session is unknown, revoked, or expired (idle or absolute).
    SessionInvalid,
}

impl AuthFailure {
    pub(crate) fn into_problem(self) -> Problem {
        match self {
            AuthFailure::Missing => Problem::unauthorized(
                "this route needs an Authorization: Bearer <token> header or a console session",
                None,
            ),
            AuthFailure::Malformed => Problem::unauthorized(
                "the Authorization header is malformed; expected 'Bearer <token>'",
                Some("invalid_request"),
            ),
            AuthFailure::Invalid => {
                Problem::unauthorized("the token is unknown or revoked", Some("invalid_token"))
            }
            AuthFailure::Expired => {
                Problem::unauthorized("the token has expired", Some("invalid_token"))
            }
            AuthFailure::Disabled => Problem::unauthorized(
                "the user this credential belongs to is disabled",
                Some("invalid_token"),
            ),
            AuthFailure::SessionInvalid => Problem::unauthorized(
                "the console session is unknown, signed out or expired; sign in again",
                Some("invalid_token"),
            ),
        }
    }
}

/// The bearer credential of an `Authorization` header value (RFC 6750 §2.1).
fn bearer(value: Option<&axum::http::HeaderValue>) -> Result<&str, AuthFailure> {
    let value = value.ok_or(AuthFailure::Missing)?;
    let value = value.to_str().map_err(|_| AuthFailure::Malformed)?;
    let (scheme, token) = value.split_once(' ').ok_or(AuthFailure::Malformed)?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(AuthFailure::Malformed);
    }
    let token = token.trim_start_matches(' ').trim_end();
    if token.is_empty()
        || token.len() > MAX_TOKEN_LEN
        || !token.bytes().all(|b| b.is_ascii_graphic())
    {
        return Err(AuthFailure::Malformed);
    }
    Ok(token)
}

/// Resolve a presented secret to a principal (or why not), at time `now`.
pub fn resolve_token(
    store: &dyn Store,
    secret: &str,
    now: Timestamp,
) -> Result<Result<Principal, AuthFailure>, StoreError> {
    let hash = hash_token(secret);
    let Some(rec) = store.token_by_hash(&hash)? else {
        return Ok(Err(AuthFailure::Invalid));
    };
    let id = rec.id;
    let role = match check_record(rec, &hash, now) {
        Ok(r) => r,
        Err(f) => return Ok(Err(f)),
    };
    // The record was just read: a token missing now was deleted in between (fail closed).
    let Some(info) = store.token_info(id)? else {
        return Ok(Err(AuthFailure::Invalid));
    };
    let owner = match info.user_id {
        Some(uid) => match store.user(uid)? {
            Some(u) => Some(u),
            None => return Ok(Err(AuthFailure::Invalid)),
        },
        None => None,
    };
    Ok(token_principal(
        id,
        info.label,
        role,
        info.scopes.as_deref(),
        owner.as_ref(),
    ))
}

/// A token's principal: its role capped by its owner's, its scopes capped by that role, and its
/// owner's identity and clearance. (Pure: the store lookups are done by the caller.)
pub(crate) fn token_principal(
    id: i64,
    label: String,
    token_role: Role,
    scopes: Option<&[String]>,
    owner: Option<&UserRecord>,
) -> Result<Principal, AuthFailure> {
    let (role, user, need_to_know) = match owner {
        None => (token_role, None, NeedToKnow::Unrestricted),
        Some(u) if u.disabled => return Err(AuthFailure::Disabled),
        Some(u) => {
            let Ok(user_role) = u.role.parse::<Role>() else {
                tracing::warn!(
                    user_id = u.id,
                    "refusing a token whose owner has an unknown role"
                );
                return Err(AuthFailure::Invalid);
            };
            (
                token_role.min(user_role),
                Some(UserRef {
                    id: u.id,
                    username: u.username.clone(),
                }),
                user_need_to_know(u),
            )
        }
    };
    Ok(Principal {
        credential: Credential::Token { id },
        label,
        role,
        scopes: effective_scopes(scopes, role),
        user,
        need_to_know,
    })
}

/// Is a stored token record usable now? Its role if so. (Pure: the store lookup is done by the caller.)
fn check_record(rec: TokenRecord, hash: &str, now: Timestamp) -> Result<Role, AuthFailure> {
    if !hashes_equal(&rec.token_hash, hash) || rec.revoked {
        return Err(AuthFailure::Invalid);
    }
    if rec.expires_at.is_some_and(|e| e <= now) {
        return Err(AuthFailure::Expired);
    }
    // A role this build does not know grants nothing (fail closed): the token is refused.
    match rec.role.parse::<Role>() {
        Ok(role) => Ok(role),
        Err(e) => {
            tracing::warn!(token_id = rec.id, error = %e, "refusing a token with an unknown role");
            Err(AuthFailure::Invalid)
        }
    }
}

/// Middleware: authenticate the bearer token, or else the console session cookie (with its CSRF
/// token on unsafe methods), and attach the [`Principal`] to the request.
pub async fn authenticate(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let now = state.now();
    let store = state.store.clone();
    // A request that names a bearer token is judged by the token alone, even if it also carries a
    // cookie: a malformed header must not fall back silently to another credential.
    if req.headers().get(AUTHORIZATION).is_none()
        && crate::session::cookie_secret(req.headers()).is_some()
    {
        return match crate::session::authenticate_session(&state, &req, now).await {
            Ok(principal) => {
                req.extensions_mut().insert(principal);
                next.run(req).await
            }
            Err(resp) => resp,
        };
    }
    let secret = match bearer(req.headers().get(AUTHORIZATION)) {
        Ok(s) => s.to_owned(),
        Err(f) => return reject(&req, f),
    };
    // A token bound to an audience (a partner's TAXII/CAP credential) is not a staff token: it
    // must never read the analysts' API, whatever its role.
    let resolved = tokio::task::spawn_blocking(move || {
        let principal = resolve_token(store.as_ref(), &secret, now)?;
        let bound = match principal.as_ref().ok().and_then(Principal::token_id) {
            Some(id) => store.token_audience(id)?,
            None => None,
        };
        Ok::<_, StoreError>((principal, bound))
    })
    .await;
    match resolved {
        Ok(Ok((Ok(principal), Some(audience)))) => {
            tracing::info!(token_id = ?principal.token_id(), path = %req.uri().path(), "audience-bound token refused on the staff API");
            Problem::forbidden(format!("this token is bound to audience {audience}: it may read only that audience's TAXII collection and alerts")).into_response()
        }
        Ok(Ok((Ok(principal), None))) => {
            req.extensions_mut().insert(principal);
            next.run(req).await
        }
        Ok(Ok((Err(f), _))) => reject(&req, f),
        Ok(Err(e)) => Problem::from(e).into_response(),
        Err(e) => Problem::internal(&e).into_response(),
    }
}

pub(crate) fn reject(req: &Request, f: AuthFailure) -> Response {
    tracing::info!(method = %req.method(), path = %req.uri().path(), reason = ?f, "authentication failed");
    f.into_problem().into_response()
}

/// The access rule of every `/api/v1/` operation: (method, route path as the router spells it,
/// minimum role). The route's scope follows from its role ([`Scope::for_role`]). This is the one
/// table the server enforces ([`authorize`] looks every request up here, and refuses a route that
/// is missing), the OpenAPI document states (each operation's `security` scope and
/// `x-required-role`), and `tests/route_access.rs` checks operation by operation.
pub const ROUTE_RULES: &[(&str, &str, Role)] = &[
    // Reading (viewer, scope `read`).
    ("GET", "/api/v1/threats", Role::Viewer),
    ("GET", "/api/v1/threats/:id", Role::Viewer),
    ("GET", "/api/v1/threats/:id/matches", Role::Viewer),
    ("GET", "/api/v1/threats/:id/matches/reviews", Role::Viewer),
    ("GET", "/api/v1/threats/:id/determinations", Role::Viewer),
    ("GET", "/api/v1/warnings", Role::Viewer),
    ("GET", "/api/v1/warnings/:id", Role::Viewer),
    ("GET", "/api/v1/warnings/:id/deliveries", Role::Viewer),
    ("GET", "/api/v1/deliveries", Role::Viewer),
    ("GET", "/api/v1/posture", Role::Viewer),
    ("GET", "/api/v1/timeline", Role::Viewer),
    ("GET", "/api/v1/audit", Role::Viewer),
    ("GET", "/api/v1/entities", Role::Viewer),
    ("GET", "/api/v1/entities/:id", Role::Viewer),
    ("GET", "/api/v1/audiences", Role::Viewer),
    ("GET", "/api/v1/audiences/:id", Role::Viewer),
    ("GET", "/api/v1/dead-letters", Role::Viewer),
    ("GET", "/api/v1/jobs/:id", Role::Viewer),
    ("GET", "/api/v1/tasks", Role::Viewer),
    ("GET", "/api/v1/reports/effectiveness", Role::Viewer),
    ("GET", "/api/v1/feeds/runs", Role::Viewer),
    ("GET", "/api/v1/feeds/runs/:id", Role::Viewer),
    // Working a case (analyst, scope `write`).
    ("POST", "/api/v1/threats", Role::Analyst),
    ("POST", "/api/v1/threats/:id/determinations", Role::Analyst),
    (
        "POST",
        "/api/v1/threats/:id/determinations/waive",
        Role::Analyst,
    ),
    ("POST", "/api/v1/threats/:id/warnings", Role::Analyst),
    ("POST", "/api/v1/threats/:id/outcome", Role::Analyst),
    ("POST", "/api/v1/threats/:id/window", Role::Analyst),
    ("POST", "/api/v1/threats/:id/matches", Role::Analyst),
    ("POST", "/api/v1/threats/:id/matches/reviews", Role::Analyst),
    (
        "POST",
        "/api/v1/warnings/:id/acknowledgements",
        Role::Analyst,
    ),
    (
        "POST",
        "/api/v1/warnings/:id/posture-reports",
        Role::Analyst,
    ),
    ("POST", "/api/v1/warnings/:id/feedback", Role::Analyst),
    ("PATCH", "/api/v1/warnings/:id", Role::Analyst),
    ("POST", "/api/v1/warnings/:id/update", Role::Analyst),
    ("POST", "/api/v1/tasks/:id/close", Role::Analyst),
    ("POST", "/api/v1/intake/text", Role::Analyst),
    ("POST", "/api/v1/intake/commit", Role::Analyst),
    ("POST", "/api/v1/entities", Role::Analyst),
    ("POST", "/api/v1/entities/import", Role::Analyst),
    ("PUT", "/api/v1/entities/:id", Role::Analyst),
    ("DELETE", "/api/v1/entities/:id", Role::Analyst),
    ("PUT", "/api/v1/audiences/:id", Role::Analyst),
    ("POST", "/api/v1/deliveries/:id/retry", Role::Analyst),
    // Releasing (approver, scope `approve`).
    (
        "POST",
        "/api/v1/threats/:id/determinations/approve",
        Role::Approver,
    ),
    ("POST", "/api/v1/warnings/:id/approve", Role::Approver),
    ("POST", "/api/v1/warnings/:id/queue", Role::Approver),
    ("POST", "/api/v1/warnings/:id/cancel", Role::Approver),
    // Administration (admin, scope `admin`).
    ("GET", "/api/v1/audit/events", Role::Admin),
    ("GET", "/api/v1/audit/export", Role::Admin),
    ("GET", "/api/v1/users", Role::Admin),
    ("POST", "/api/v1/users", Role::Admin),
    ("PATCH", "/api/v1/users/:id", Role::Admin),
    ("GET", "/api/v1/tokens", Role::Admin),
    ("POST", "/api/v1/tokens", Role::Admin),
    ("DELETE", "/api/v1/tokens/:id", Role::Admin),
];

/// The minimum role of an operation: `path` in the router's spelling (`/api/v1/threats/:id`) or
/// the OpenAPI one (`/api/v1/threats/{id}`). `None`: the operation has no rule (refused).
pub fn required_role(method: &str, path: &str) -> Option<Role> {
    let path = axum_path(path);
    ROUTE_RULES
        .iter()
        .find(|(m, p, _)| m.eq_ignore_ascii_case(method) && *p == path)
        .map(|(_, _, r)| *r)
}

/// The highest role any operation on `path` (router spelling) needs.
fn strictest_on(path: &str) -> Option<Role> {
    ROUTE_RULES
        .iter()
        .filter(|(_, p, _)| *p == path)
        .map(|(_, _, r)| *r)
        .max()
}

/// `/a/{id}/b` → `/a/:id/b`.
fn axum_path(path: &str) -> String {
    path.split('/')
        .map(
            |seg| match seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                Some(name) => format!(":{name}"),
                None => seg.to_owned(),
            },
        )
        .collect::<Vec<_>>()
        .join("/")
}

/// State of the [`authorize`] middleware: the minimum role of a route group (its scope follows
/// from it: [`Scope::for_role`]). The group's role is a floor; [`ROUTE_RULES`] decides per route.
#[derive(Debug, Clone, Copy)]
pub struct MinRole(pub Role);

/// Middleware: 403 unless the authenticated principal has the route's role and scope (the higher
/// of its group's and its [`ROUTE_RULES`] entry's). A route without an entry is refused to
/// everyone: a new route is closed until someone writes down who may use it.
pub async fn authorize(
    State(MinRole(group)): State<MinRole>,
    req: Request,
    next: Next,
) -> Response {
    let route = req
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map(|m| m.as_str().to_owned());
    // A method the path does not serve reaches here too (the router then answers 405): it is
    // judged as the strictest operation of its path, so a caller learns nothing they could not.
    let rule = route
        .as_deref()
        .and_then(|r| required_role(req.method().as_str(), r).or_else(|| strictest_on(r)));
    let Some(rule) = rule else {
        tracing::error!(method = %req.method(), route = ?route, "route has no access rule in auth::ROUTE_RULES: refused");
        return Problem::forbidden(format!(
            "{} {} has no access rule (auth::ROUTE_RULES): refused to everyone until it has one",
            req.method(),
            route.as_deref().unwrap_or(req.uri().path())
        ))
        .into_response();
    };
    let min = group.max(rule);
    match req.extensions().get::<Principal>() {
        Some(p) if p.allows(min) => next.run(req).await,
        Some(p) if p.role < min => {
            tracing::info!(actor = %p.actor(), role = %p.role, needed = %min, path = %req.uri().path(), "forbidden");
            Problem::forbidden(format!(
                "this route needs the {min} role; the caller has {}",
                p.role
            ))
            .into_response()
        }
        Some(p) => {
            let scope = Scope::for_role(min);
            tracing::info!(actor = %p.actor(), needed = %scope, path = %req.uri().path(), "forbidden: scope");
            Problem::forbidden(format!(
                "this route needs the {scope} scope; the token's scopes are {}",
                scope_list(&p.scopes)
            ))
            .into_response()
        }
        // Only reachable if a route is mounted outside the authenticate layer: fail closed.
        None => AuthFailure::Missing.into_problem().into_response(),
    }
}

fn scope_list(scopes: &[Scope]) -> String {
    if scopes.is_empty() {
        return "(none)".into();
    }
    scopes
        .iter()
        .map(Scope::as_str)
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn roles_are_ordered() {
        assert!(
            Role::Viewer < Role::Analyst
                && Role::Analyst < Role::Approver
                && Role::Approver < Role::Admin
        );
        for r in Role::ALL {
            assert_eq!(r.as_str().parse::<Role>().unwrap(), r);
        }
        assert!("root".parse::<Role>().is_err());
    }

    #[test]
    fn generated_tokens_are_prefixed_random_and_hashed() {
        let a = generate_token();
        let b = generate_token();
        assert_ne!(a, b);
        assert!(a.starts_with(TOKEN_PREFIX));
        assert_eq!(a.len(), TOKEN_PREFIX.len() + 64);
        let h = hash_token(&a);
        assert_eq!(h.len(), 64);
        assert!(!h.contains(&a[TOKEN_PREFIX.len()..]));
        assert!(hashes_equal(&h, &hash_token(&a)));
        assert!(!hashes_equal(&h, &hash_token(&b)));
    }

    #[test]
    fn bearer_header_parsing() {
        let hv = |s: &str| HeaderValue::from_str(s).unwrap();
        assert_eq!(bearer(Some(&hv("Bearer abc"))), Ok("abc"));
        assert_eq!(bearer(Some(&hv("bearer abc"))), Ok("abc"));
        assert_eq!(bearer(None), Err(AuthFailure::Missing));
        assert_eq!(bearer(Some(&hv("Basic abc"))), Err(AuthFailure::Malformed));
        assert_eq!(bearer(Some(&hv("Bearer"))), Err(AuthFailure::Malformed));
        assert_eq!(bearer(Some(&hv("Bearer "))), Err(AuthFailure::Malformed));
        assert_eq!(bearer(Some(&hv("Bearer a b"))), Err(AuthFailure::Malformed));
        assert_eq!(
            bearer(Some(&hv(&format!("Bearer {}", "x".repeat(600))))),
            Err(AuthFailure::Malformed)
        );
    }

    #[test]
    fn revoked_expired_unknown_role_and_mismatched_records_are_refused() {
        use chrono::{Duration, TimeZone, Utc};
        let now = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        let h = hash_token("tcn_x");
        let rec = TokenRecord {
            id: 7,
            token_hash: h.clone(),
            role: "analyst".into(),
            label: "l".into(),
            created_at: now,
            expires_at: Some(now + Duration::seconds(1)),
            revoked: false,
        };
        assert_eq!(check_record(rec.clone(), &h, now).unwrap(), Role::Analyst);
        assert_eq!(
            check_record(
                TokenRecord {
                    revoked: true,
                    ..rec.clone()
                },
                &h,
                now
            ),
            Err(AuthFailure::Invalid)
        );
        assert_eq!(
            check_record(
                TokenRecord {
                    expires_at: Some(now),
                    ..rec.clone()
                },
                &h,
                now
            ),
            Err(AuthFailure::Expired)
        );
        assert_eq!(
            check_record(
                TokenRecord {
                    role: "root".into(),
                    ..rec.clone()
                },
                &h,
                now
            ),
            Err(AuthFailure::Invalid)
        );
        assert_eq!(
            check_record(rec, &hash_token("tcn_y"), now),
            Err(AuthFailure::Invalid)
        );
    }

    fn user(role: &str, disabled: bool) -> UserRecord {
        use chrono::TimeZone;
        UserRecord {
            id: 3,
            username: "ana".into(),
            role: role.into(),
            clearance: Classification::C,
            nationality: CountryCode::parse("USA").unwrap(),
            password_hash: None,
            disabled,
            created_at: chrono::Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap(),
        }
    }

    #[test]
    fn scopes_parse_and_follow_roles() {
        assert_eq!(
            Scope::parse_list("write, read,read").unwrap(),
            vec![Scope::Read, Scope::Write]
        );
        assert!(Scope::parse_list("read,root")
            .unwrap_err()
            .to_string()
            .contains("\"root\""));
        assert!(Scope::parse_list("").is_err());
        assert_eq!(Scope::up_to(Role::Viewer), vec![Scope::Read]);
        assert_eq!(
            Scope::up_to(Role::Approver),
            vec![Scope::Read, Scope::Write, Scope::Approve]
        );
        assert_eq!(Scope::up_to(Role::Admin), Scope::ALL.to_vec());
        // A legacy token (no stored scopes) gets its role's; stored ones are capped by the role.
        assert_eq!(
            effective_scopes(None, Role::Analyst),
            vec![Scope::Read, Scope::Write]
        );
        let stored = vec!["admin".to_owned(), "read".to_owned(), "bogus".to_owned()];
        assert_eq!(
            effective_scopes(Some(&stored), Role::Analyst),
            vec![Scope::Read]
        );
    }

    #[test]
    fn rights_are_the_minimum_of_token_owner_and_scopes() {
        let scopes = vec!["read".to_owned(), "write".to_owned(), "approve".to_owned()];
        // An approver token owned by an analyst acts as an analyst, with the analyst's scopes.
        let p = token_principal(
            9,
            "t".into(),
            Role::Approver,
            Some(&scopes),
            Some(&user("analyst", false)),
        )
        .unwrap();
        assert_eq!(p.role, Role::Analyst);
        assert_eq!(p.scopes, vec![Scope::Read, Scope::Write]);
        assert!(p.allows(Role::Analyst) && !p.allows(Role::Approver));
        assert_eq!(p.actor(), "user:3:ana");
        assert_eq!(
            p.need_to_know,
            NeedToKnow::Cleared {
                clearance: Classification::C,
                nationality: CountryCode::parse("USA").unwrap()
            }
        );
        // A read-only admin token may not write, though its role could.
        let ro = vec!["read".to_owned()];
        let p = token_principal(9, "t".into(), Role::Admin, Some(&ro), None).unwrap();
        assert!(p.allows(Role::Viewer) && !p.allows(Role::Analyst) && !p.allows(Role::Admin));
        assert_eq!(p.actor(), "token:9:t");
        assert_eq!(p.need_to_know, NeedToKnow::Unrestricted);
        // A disabled owner, or one with a role this build does not know, disables the token.
        assert_eq!(
            token_principal(9, "t".into(), Role::Admin, None, Some(&user("admin", true))),
            Err(AuthFailure::Disabled)
        );
        assert_eq!(
            token_principal(9, "t".into(), Role::Admin, None, Some(&user("root", false))),
            Err(AuthFailure::Invalid)
        );
    }

    #[test]
    fn given_tokens_must_be_strong_enough() {
        assert!(validate_given("short").is_err());
        assert!(validate_given("has a space in it, long enough").is_err());
        assert!(validate_given("a-long-enough-admin-token").is_ok());
    }
}
