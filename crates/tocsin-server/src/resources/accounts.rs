//! The admin routes of users and tokens: `GET/POST /api/v1/users`, `PATCH /api/v1/users/{id}`, `GET/POST /api/v1/tokens`
//! and `DELETE /api/v1/tokens/{id}` (docs/security.md). What a user or token may be, and how
//! passwords are hashed, is `tocsin_auth`'s; this module maps it to HTTP.

use crate::auth::{issue_scoped_token, NeedToKnow, Principal, Role, Scope, TokenError, TokenSpec};
use crate::problem::{ApiJson, Problem};
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::{Deserialize, Serialize};

pub use tocsin_auth::accounts::{
    create_user, hash_password, normalize_username, parse_clearance, parse_duration, verify_dummy,
    verify_password, AccountError, CreateUserError, MAX_PASSWORD_LEN, MAX_USERNAME_LEN,
    MIN_PASSWORD_LEN,
};
use tocsin_core::{Classification, CountryCode, Timestamp};
use tocsin_store::accounts::{TokenInfo, UserPatch, UserRecord};
use tocsin_store::AuditCtx;
use utoipa::ToSchema;

/// A user as the API shows it (no password hash).
#[derive(Debug, Serialize, ToSchema)]
pub struct UserView {
    pub id: i64,
    pub username: String,
    /// `viewer`, `analyst`, `approver` or `admin`.
    pub role: String,
    pub clearance: Classification,
    /// ISO 3166-1 alpha-3.
    #[schema(value_type = String, pattern = "^[A-Z]{3}$")]
    pub nationality: CountryCode,
    pub disabled: bool,
    /// Whether the user can log in to the console (the hash itself is never shown).
    pub has_password: bool,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UserList {
    pub count: usize,
    pub items: Vec<UserView>,
}

pub fn user_view(u: &UserRecord) -> UserView {
    UserView {
        id: u.id,
        username: u.username.clone(),
        role: u.role.clone(),
        clearance: u.clearance,
        nationality: u.nationality,
        disabled: u.disabled,
        has_password: u.password_hash.is_some(),
        created_at: u.created_at,
    }
}

/// A token as the API shows it (never its secret or hash).
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenView {
    pub id: i64,
    pub label: String,
    /// `viewer`, `analyst`, `approver` or `admin`.
    pub role: String,
    /// `read`, `write`, `approve`, `admin`.
    pub scopes: Vec<String>,
    /// The user it acts as, if any.
    pub user_id: Option<i64>,
    /// The partner audience it is bound to (TAXII/CAP), if any.
    pub audience_id: Option<String>,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub expires_at: Option<Timestamp>,
    pub revoked: bool,
    /// `active`, `expired` or `revoked`.
    pub status: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TokenList {
    pub count: usize,
    pub items: Vec<TokenView>,
}

/// A token just created: the one time its secret is shown.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedToken {
    #[serde(flatten)]
    pub view: TokenView,
    /// The secret (`tcn_` + 64 hex digits). Shown once; only its SHA-256 is stored.
    pub token: String,
}

/// The answer of `DELETE /api/v1/tokens/{id}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Revoked {
    pub id: i64,
    pub revoked: bool,
    /// False when it was already revoked (revoking is idempotent).
    pub changed: bool,
}

pub fn token_view(t: &TokenInfo, now: Timestamp) -> TokenView {
    TokenView {
        id: t.id,
        label: t.label.clone(),
        role: t.role.clone(),
        scopes: tocsin_auth::token::token_scopes(t),
        user_id: t.user_id,
        audience_id: t.audience_id.as_ref().map(|a| a.as_str().to_owned()),
        created_at: t.created_at,
        expires_at: t.expires_at,
        revoked: t.revoked,
        status: tocsin_auth::token::token_status(t, now).to_owned(),
    }
}

fn unprocessable(e: impl std::fmt::Display) -> Problem {
    Problem::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "unprocessable",
        "Unprocessable Content",
        e.to_string(),
    )
}

impl From<AccountError> for Problem {
    fn from(e: AccountError) -> Self {
        match e {
            AccountError::Hash(_) => Problem::internal(&e),
            other => unprocessable(other),
        }
    }
}

impl From<TokenError> for Problem {
    fn from(e: TokenError) -> Self {
        match e {
            TokenError::Store(s) => s.into(),
            other => unprocessable(other),
        }
    }
}

impl From<CreateUserError> for Problem {
    fn from(e: CreateUserError) -> Self {
        match e {
            CreateUserError::Account(a) => a.into(),
            CreateUserError::Store(s) => s.into(),
        }
    }
}

// ---- admin routes --------------------------------------------------------------------------------

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, Problem> + Send + 'static,
) -> Result<T, Problem> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Problem::internal(&e))?
}

#[utoipa::path(get, path = "/api/v1/users", tag = "accounts",
    responses((status = 200, description = "Every user (never a password or its hash)", body = UserList)))]
pub async fn list_users(State(st): State<AppState>) -> Result<Json<UserList>, Problem> {
    let store = st.store.clone();
    blocking(move || {
        let items: Vec<UserView> = store.users()?.iter().map(user_view).collect();
        Ok(Json(UserList {
            count: items.len(),
            items,
        }))
    })
    .await
}

/// No admin grants more than they hold (docs/security.md, "Admins and need to know"): an admin who
/// is a cleared user may give a user at most their own clearance and only their own nationality,
/// may not change their own clearance upward or their own nationality, and may not mint a token
/// with no owner (which reads everything). Another admin cleared for it must, or the operator
/// with the server's own unrestricted credential (`tocsin user`/`tocsin token`, the bootstrap
/// token). `Err` is a 403 naming what was refused.
fn may_grant(
    p: &Principal,
    clearance: Option<Classification>,
    nationality: Option<CountryCode>,
) -> Result<(), Problem> {
    let NeedToKnow::Cleared {
        clearance: own,
        nationality: own_nat,
    } = p.need_to_know
    else {
        return Ok(());
    };
    let refuse = |what: String| {
        Err(Problem::new(
            StatusCode::FORBIDDEN,
            "need-to-know",
            "Forbidden",
            format!("{what}; ask another admin cleared for it"),
        ))
    };
    if let Some(c) = clearance.filter(|c| *c > own) {
        return refuse(format!(
            "you are cleared to {own:?} and cannot grant the clearance {c:?}"
        ));
    }
    if let Some(n) = nationality.filter(|n| *n != own_nat) {
        return refuse(format!(
            "you are a national of {own_nat} and cannot grant the nationality {n}"
        ));
    }
    Ok(())
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUserBody {
    /// 1 to 64 characters a-z, 0-9, `.`, `_`, `-`, starting with a letter or digit (upper case is folded).
    #[schema(pattern = "^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$", example = "ana.smith")]
    username: String,
    role: Role,
    /// `U`, `C`, `S`, `TS` or `UNCLASSIFIED`, `CONFIDENTIAL`, `SECRET`, `TOP SECRET` (any case).
    #[schema(example = "SECRET")]
    clearance: String,
    /// ISO 3166-1 alpha-3.
    #[schema(pattern = "^[A-Z]{3}$", example = "USA")]
    nationality: String,
    /// At least 12 characters; without one, the user cannot log in to the console (tokens only).
    #[serde(default)]
    #[schema(min_length = 12, max_length = 1024)]
    password: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/users", tag = "accounts",
    request_body(content = CreateUserBody, content_type = "application/json"),
    responses(
        (status = 201, description = "User created", body = UserView),
        (status = 409, description = "The username is taken", body = crate::problem::ProblemDoc, content_type = "application/problem+json"),
    ))]
pub async fn post_user(
    State(st): State<AppState>,
    Extension(p): Extension<Principal>,
    ApiJson(b): ApiJson<CreateUserBody>,
) -> Result<Response, Problem> {
    let clearance = parse_clearance(&b.clearance)?;
    let nationality = CountryCode::parse(&b.nationality).map_err(unprocessable)?;
    may_grant(&p, Some(clearance), Some(nationality))?;
    let (store, now) = (st.store.clone(), st.credential_now());
    let u = blocking(move || {
        Ok(create_user(
            store.as_ref(),
            &b.username,
            b.role,
            clearance,
            nationality,
            b.password.as_deref(),
            &AuditCtx::new(p.actor(), now),
        )?)
    })
    .await?;
    Ok((StatusCode::CREATED, Json(user_view(&u))).into_response())
}

/// Fields to change; those left out keep their value.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchUserBody {
    #[serde(default)]
    role: Option<Role>,
    /// As in `CreateUserBody`.
    #[serde(default)]
    #[schema(example = "SECRET")]
    clearance: Option<String>,
    #[serde(default)]
    #[schema(pattern = "^[A-Z]{3}$", example = "USA")]
    nationality: Option<String>,
    #[serde(default)]
    #[schema(min_length = 12, max_length = 1024)]
    password: Option<String>,
    #[serde(default)]
    disabled: Option<bool>,
}

#[utoipa::path(patch, path = "/api/v1/users/{id}", tag = "accounts",
    params(("id" = i64, Path, description = "User id")),
    request_body(content = PatchUserBody, content_type = "application/json"),
    responses(
        (status = 200, description = "The user as changed", body = UserView),
        (status = 409, description = "An admin may not disable or demote themselves", body = crate::problem::ProblemDoc, content_type = "application/problem+json"),
    ))]
pub async fn patch_user(
    State(st): State<AppState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<i64>,
    ApiJson(b): ApiJson<PatchUserBody>,
) -> Result<Json<UserView>, Problem> {
    // An admin who disabled or demoted themselves could lock everyone out: another admin must.
    if p.user.as_ref().is_some_and(|u| u.id == id)
        && (b.disabled == Some(true) || b.role.is_some_and(|r| r < Role::Admin))
    {
        return Err(Problem::new(
            StatusCode::CONFLICT,
            "conflict",
            "Conflict",
            "an admin cannot disable or demote themselves; ask another admin",
        ));
    }
    let patch = UserPatch {
        role: b.role.map(|r| r.as_str().to_owned()),
        clearance: b.clearance.as_deref().map(parse_clearance).transpose()?,
        nationality: b
            .nationality
            .as_deref()
            .map(CountryCode::parse)
            .transpose()
            .map_err(unprocessable)?,
        password_hash: None,
        disabled: b.disabled,
    };
    // Raising one's own clearance or changing one's own nationality needs another admin, as does
    // granting anyone more than the caller holds.
    if p.user.as_ref().is_some_and(|u| u.id == id) && patch.nationality.is_some() {
        if let NeedToKnow::Cleared { nationality, .. } = p.need_to_know {
            if patch.nationality != Some(nationality) {
                return Err(Problem::new(
                    StatusCode::FORBIDDEN,
                    "need-to-know",
                    "Forbidden",
                    "an admin cannot change their own nationality; ask another admin",
                ));
            }
        }
    }
    may_grant(&p, patch.clearance, patch.nationality)?;
    let (store, now) = (st.store.clone(), st.credential_now());
    blocking(move || {
        let mut patch = patch;
        patch.password_hash = b.password.as_deref().map(hash_password).transpose()?;
        let u = store.update_user(id, &patch, &AuditCtx::new(p.actor(), now))?;
        Ok(Json(user_view(&u)))
    })
    .await
}

#[utoipa::path(get, path = "/api/v1/tokens", tag = "accounts",
    responses((status = 200, description = "Every token (never its secret or hash)", body = TokenList)))]
pub async fn list_tokens(State(st): State<AppState>) -> Result<Json<TokenList>, Problem> {
    let (store, now) = (st.store.clone(), st.credential_now());
    blocking(move || {
        let items: Vec<TokenView> = store.tokens()?.iter().map(|t| token_view(t, now)).collect();
        Ok(Json(TokenList {
            count: items.len(),
            items,
        }))
    })
    .await
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTokenBody {
    #[schema(min_length = 1, max_length = 200, example = "ci pipeline")]
    label: String,
    role: Role,
    /// Default: every scope the role can use.
    #[serde(default)]
    scopes: Option<Vec<Scope>>,
    /// `30d`, `12h`, `90m`; default: never.
    #[serde(default)]
    #[schema(pattern = "^[1-9][0-9]{0,4}[mhd]$", example = "30d")]
    expires_in: Option<String>,
    /// The owner, by id or username.
    #[serde(default)]
    user_id: Option<i64>,
    #[serde(default)]
    username: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/tokens", tag = "accounts",
    request_body(content = CreateTokenBody, content_type = "application/json"),
    responses((status = 201, description = "Token created; `token` is the secret, shown this once", body = CreatedToken)))]
pub async fn post_token(
    State(st): State<AppState>,
    Extension(p): Extension<Principal>,
    ApiJson(b): ApiJson<CreateTokenBody>,
) -> Result<Response, Problem> {
    let now = st.credential_now();
    let expires_at = b
        .expires_in
        .as_deref()
        .map(parse_duration)
        .transpose()?
        .map(|d| now + d);
    let store = st.store.clone();
    let out = blocking(move || {
        let user_id = match (b.user_id, b.username.as_deref()) {
            (Some(_), Some(_)) => return Err(unprocessable("give user_id or username, not both")),
            (Some(id), None) => Some(
                store
                    .user(id)?
                    .ok_or_else(|| Problem::not_found("user", &id.to_string()))?
                    .id,
            ),
            (None, Some(name)) => {
                let name = normalize_username(name)?;
                Some(
                    store
                        .user_by_name(&name)?
                        .ok_or_else(|| Problem::not_found("user", &name))?
                        .id,
                )
            }
            (None, None) => {
                // A token with no owner reads everything: a cleared admin cannot mint one.
                if matches!(p.need_to_know, NeedToKnow::Cleared { .. }) {
                    return Err(Problem::new(
                        StatusCode::FORBIDDEN,
                        "need-to-know",
                        "Forbidden",
                        "a token with no owner is unrestricted (it reads everything) and you are a cleared user: give it an owner (user_id or username), or ask an admin with the server's unrestricted credential",
                    ));
                }
                None
            }
        };
        if let Some(owner) = user_id.map(|id| store.user(id)).transpose()?.flatten() {
            may_grant(&p, Some(owner.clearance), Some(owner.nationality))?;
        }
        let mut scopes = b.scopes.unwrap_or_else(|| Scope::up_to(b.role));
        scopes.sort();
        scopes.dedup();
        let spec = TokenSpec {
            role: b.role,
            label: b.label,
            expires_at,
            scopes,
            user_id,
        };
        let (secret, id) =
            issue_scoped_token(store.as_ref(), &spec, &AuditCtx::new(p.actor(), now))?;
        let info = store
            .token_info(id)?
            .ok_or_else(|| Problem::not_found("token", &id.to_string()))?;
        // The only time the secret is ever shown.
        Ok(CreatedToken {
            view: token_view(&info, now),
            token: secret,
        })
    })
    .await?;
    Ok((StatusCode::CREATED, Json(out)).into_response())
}

#[utoipa::path(delete, path = "/api/v1/tokens/{id}", tag = "accounts",
    params(("id" = i64, Path, description = "Token id")),
    responses(
        (status = 200, description = "Revoked (idempotent: `changed` is false when it already was)", body = Revoked),
        (status = 409, description = "Cannot revoke the token in use: the request's own token (use another admin token)", body = crate::problem::ProblemDoc, content_type = "application/problem+json"),
    ))]
pub async fn delete_token(
    State(st): State<AppState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<i64>,
) -> Result<Json<Revoked>, Problem> {
    // An admin who revokes the token they are calling with locks themselves out mid-session (and
    // an automated client, such as the API fuzzer, out of the rest of its run).
    if p.token_id() == Some(id) {
        return Err(Problem::new(
            StatusCode::CONFLICT,
            "conflict",
            "Conflict",
            format!(
                "cannot revoke the token in use (token {id}); revoke it with another admin token"
            ),
        ));
    }
    let (store, now) = (st.store.clone(), st.credential_now());
    blocking(move || {
        let changed = store.revoke_token(id, &AuditCtx::new(p.actor(), now))?;
        Ok(Json(Revoked {
            id,
            revoked: true,
            changed,
        }))
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_must_be_objects() {
        let p = crate::problem::parse_json::<PatchUserBody>(b"[null, null]")
            .err()
            .unwrap();
        assert_eq!(p.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            crate::problem::parse_json::<PatchUserBody>(br#"{"disabled": true}"#)
                .unwrap()
                .disabled
                == Some(true)
        );
        let p = crate::problem::parse_json::<PatchUserBody>(br#"{"role": "root"}"#)
            .err()
            .unwrap();
        assert_eq!(
            p.field.as_deref(),
            Some("/role"),
            "the member is still named"
        );
    }
}
