//! Bearer tokens and roles.
//!
//! A token is `tcn_` followed by 64 hex digits (32 random bytes). The store keeps only the SHA-256
//! (hex) of the whole token string; requests are authenticated by hashing the presented token and
//! looking the hash up. Tokens are never logged, and the `Authorization` header is never traced.
//!
//! Two layers guard `/api/v1/`: [`authenticate`] (every path, 401 on a missing, malformed, unknown,
//! revoked or expired token) puts a [`Principal`] into the request; [`authorize`] (per route group)
//! answers 403 when the principal's role is below the group's minimum.

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
use tocsin_core::Timestamp;
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
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
        Role::ALL.into_iter().find(|r| r.as_str() == s).ok_or_else(|| RoleError(s.to_owned()))
    }
}

/// Who is calling: the authenticated token (never its secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub token_id: i64,
    pub label: String,
    pub role: Role,
}

impl Principal {
    /// The name recorded as the actor of audited writes made through the API.
    pub fn actor(&self) -> String {
        format!("token:{}:{}", self.token_id, self.label)
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
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the given admin token is unusable: {0}")]
    InvalidGiven(String),
    #[error("the given admin token is already stored but {0}; choose another secret")]
    GivenConflict(String),
}

/// Generate a token with `role`, store its hash, and return the secret (shown to the user once).
pub fn issue_token(
    store: &dyn Store,
    role: Role,
    label: &str,
    expires_at: Option<Timestamp>,
    audit: &AuditCtx,
) -> Result<String, TokenError> {
    let secret = generate_token();
    store.insert_token(&hash_token(&secret), role.as_str(), label, expires_at, audit)?;
    Ok(secret)
}

/// Make sure an admin can get in.
///
/// - `given` is `Some` (e.g. `TOCSIN_ADMIN_TOKEN`): ensure a non-expiring admin token with that
///   secret's hash exists (idempotent; the secret must be at least [`MIN_GIVEN_TOKEN_LEN`] visible
///   ASCII characters). Returns `Ok(None)`: the caller already knows the secret.
/// - otherwise, if the store holds no token at all: generate one, store only its hash, and return
///   `Ok(Some(secret))` so the caller prints it once.
/// - otherwise `Ok(None)`.
pub fn bootstrap_admin_token(store: &dyn Store, given: Option<&str>, now: Timestamp) -> Result<Option<String>, TokenError> {
    let audit = AuditCtx::new(BOOTSTRAP_ACTOR, now);
    if let Some(secret) = given {
        validate_given(secret)?;
        let hash = hash_token(secret);
        return match store.token_by_hash(&hash)? {
            None => {
                store.insert_token(&hash, Role::Admin.as_str(), "bootstrap admin (given)", None, &audit)?;
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
    let secret = issue_token(store, Role::Admin, "bootstrap admin (generated)", None, &audit)?;
    tracing::info!("generated the first admin token (hash stored; the secret is shown once)");
    Ok(Some(secret))
}

fn validate_given(secret: &str) -> Result<(), TokenError> {
    if secret.len() < MIN_GIVEN_TOKEN_LEN {
        return Err(TokenError::InvalidGiven(format!("it must be at least {MIN_GIVEN_TOKEN_LEN} characters long")));
    }
    if secret.len() > MAX_TOKEN_LEN {
        return Err(TokenError::InvalidGiven(format!("it must be at most {MAX_TOKEN_LEN} characters long")));
    }
    if !secret.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(TokenError::InvalidGiven("it may contain only visible ASCII characters (no spaces)".into()));
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
        return Err(TokenError::GivenConflict(format!("has role {:?}, not admin", rec.role)));
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
}

impl AuthFailure {
    fn into_problem(self) -> Problem {
        match self {
            AuthFailure::Missing => Problem::unauthorized("this route needs an Authorization: Bearer <token> header", None),
            AuthFailure::Malformed => Problem::unauthorized(
                "the Authorization header is malformed; expected 'Bearer <token>'",
                Some("invalid_request"),
            ),
            AuthFailure::Invalid => Problem::unauthorized("the token is unknown or revoked", Some("invalid_token")),
            AuthFailure::Expired => Problem::unauthorized("the token has expired", Some("invalid_token")),
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
    if token.is_empty() || token.len() > MAX_TOKEN_LEN || !token.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(AuthFailure::Malformed);
    }
    Ok(token)
}

/// Resolve a presented secret to a principal (or why not), at time `now`.
pub fn resolve_token(store: &dyn Store, secret: &str, now: Timestamp) -> Result<Result<Principal, AuthFailure>, StoreError> {
    let hash = hash_token(secret);
    Ok(match store.token_by_hash(&hash)? {
        None => Err(AuthFailure::Invalid),
        Some(rec) => check_record(rec, &hash, now),
    })
}

/// Is a stored token record usable now? (Pure: the store lookup is done by the caller.)
fn check_record(rec: TokenRecord, hash: &str, now: Timestamp) -> Result<Principal, AuthFailure> {
    if !hashes_equal(&rec.token_hash, hash) || rec.revoked {
        return Err(AuthFailure::Invalid);
    }
    if rec.expires_at.is_some_and(|e| e <= now) {
        return Err(AuthFailure::Expired);
    }
    // A role this build does not know grants nothing (fail closed): the token is refused.
    match rec.role.parse::<Role>() {
        Ok(role) => Ok(Principal { token_id: rec.id, label: rec.label, role }),
        Err(e) => {
            tracing::warn!(token_id = rec.id, error = %e, "refusing a token with an unknown role");
            Err(AuthFailure::Invalid)
        }
    }
}

/// Middleware: authenticate the bearer token and attach the [`Principal`] to the request.
pub async fn authenticate(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let secret = match bearer(req.headers().get(AUTHORIZATION)) {
        Ok(s) => s.to_owned(),
        Err(f) => return reject(&req, f),
    };
    let now = state.now();
    let store = state.store.clone();
    // A token bound to an audience (a partner's TAXII/CAP credential) is not a staff token: it
    // must never read the analysts' API, whatever its role.
    let resolved = tokio::task::spawn_blocking(move || {
        let principal = resolve_token(store.as_ref(), &secret, now)?;
        let bound = match &principal {
            Ok(p) => store.token_audience(p.token_id)?,
            Err(_) => None,
        };
        Ok::<_, StoreError>((principal, bound))
    })
    .await;
    match resolved {
        Ok(Ok((Ok(principal), Some(audience)))) => {
            tracing::info!(token_id = principal.token_id, path = %req.uri().path(), "audience-bound token refused on the staff API");
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

fn reject(req: &Request, f: AuthFailure) -> Response {
    tracing::info!(method = %req.method(), path = %req.uri().path(), reason = ?f, "authentication failed");
    f.into_problem().into_response()
}

/// State of the [`authorize`] middleware: the minimum role of a route group.
#[derive(Debug, Clone, Copy)]
pub struct MinRole(pub Role);

/// Middleware: 403 unless the authenticated principal has at least the group's role.
pub async fn authorize(State(MinRole(min)): State<MinRole>, req: Request, next: Next) -> Response {
    match req.extensions().get::<Principal>() {
        Some(p) if p.role >= min => next.run(req).await,
        Some(p) => {
            tracing::info!(token_id = p.token_id, role = %p.role, needed = %min, path = %req.uri().path(), "forbidden");
            Problem::forbidden(format!("this route needs the {min} role; the token has {}", p.role)).into_response()
        }
        // Only reachable if a route is mounted outside the authenticate layer: fail closed.
        None => AuthFailure::Missing.into_problem().into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn roles_are_ordered() {
        assert!(Role::Viewer < Role::Analyst && Role::Analyst < Role::Approver && Role::Approver < Role::Admin);
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
        assert_eq!(bearer(Some(&hv(&format!("Bearer {}", "x".repeat(600))))), Err(AuthFailure::Malformed));
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
        assert_eq!(check_record(rec.clone(), &h, now).unwrap().role, Role::Analyst);
        assert_eq!(check_record(TokenRecord { revoked: true, ..rec.clone() }, &h, now), Err(AuthFailure::Invalid));
        assert_eq!(check_record(TokenRecord { expires_at: Some(now), ..rec.clone() }, &h, now), Err(AuthFailure::Expired));
        assert_eq!(check_record(TokenRecord { role: "root".into(), ..rec.clone() }, &h, now), Err(AuthFailure::Invalid));
        assert_eq!(check_record(rec, &hash_token("tcn_y"), now), Err(AuthFailure::Invalid));
    }

    #[test]
    fn given_tokens_must_be_strong_enough() {
        assert!(validate_given("short").is_err());
        assert!(validate_given("has a space in it, long enough").is_err());
        assert!(validate_given("a-long-enough-admin-token").is_ok());
    }
}
