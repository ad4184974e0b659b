//! Bearer tokens: issue, hash, verify (docs/security.md).
//!
//! A token is `tcn_` followed by 64 hex digits (32 random bytes). The store keeps only the SHA-256
//! (hex) of the whole token string; a presented token is verified by hashing it and looking the
//! hash up. Nothing here logs a token.

use crate::principal::{
    effective_scopes, user_need_to_know, Credential, NeedToKnow, Principal, Role, Scope, UserRef,
};
use rand::RngCore;
use sha2::{Digest, Sha256};
use tocsin_core::Timestamp;
use tocsin_store::accounts::{NewToken, TokenInfo, UserRecord};
use tocsin_store::{AuditCtx, Store, StoreError, TokenRecord};

/// Prefix of every token Tocsin generates (makes leaked tokens easy to spot by secret scanners).
pub const TOKEN_PREFIX: &str = "tcn_";

/// Shortest secret accepted for a given (operator-chosen) admin token.
pub const MIN_GIVEN_TOKEN_LEN: usize = 16;

/// Longest credential anyone looks at (a presented bearer token, a given admin secret).
pub const MAX_TOKEN_LEN: usize = 512;

/// Actor recorded in the audit chain for bootstrap writes.
pub const BOOTSTRAP_ACTOR: &str = "system:bootstrap";

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

/// Why a credential does not authenticate (safe to show: it never echoes the token).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthFailure {
    /// No credential at all.
    Missing,
    /// A credential that is not in the expected form.
    Malformed,
    /// Unknown or revoked.
    Invalid,
    Expired,
    /// The user who owns the token or session is disabled.
    Disabled,
    /// The console session is unknown, revoked, or expired (idle or absolute).
    SessionInvalid,
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
pub fn token_principal(
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

/// What a token's status is at `now`: `active`, `expired` or `revoked`.
pub fn token_status(t: &TokenInfo, now: Timestamp) -> &'static str {
    if t.revoked {
        "revoked"
    } else if t.expires_at.is_some_and(|e| e <= now) {
        "expired"
    } else {
        "active"
    }
}

/// The scopes a stored token was given; a token from before scopes has every scope of its role.
pub fn token_scopes(t: &TokenInfo) -> Vec<String> {
    t.scopes.clone().unwrap_or_else(|| {
        t.role
            .parse::<Role>()
            .map(|r| {
                Scope::up_to(r)
                    .iter()
                    .map(|s| s.as_str().to_owned())
                    .collect()
            })
            .unwrap_or_default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use tocsin_core::{Classification, CountryCode};

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
