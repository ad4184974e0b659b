//! The two layers that guard `/api/v1/`: [`authenticate`] and [`authorize`].

use super::rules::{required_role, strictest_on};
use crate::problem::Problem;
use crate::AppState;
use axum::extract::{Request, State};
use axum::http::header::AUTHORIZATION;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tocsin_auth::principal::{Principal, Role, Scope};
use tocsin_auth::token::{resolve_token, AuthFailure, MAX_TOKEN_LEN};
use tocsin_store::StoreError;

impl From<AuthFailure> for Problem {
    fn from(f: AuthFailure) -> Self {
        match f {
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

/// Middleware: authenticate the bearer token, or else the console session cookie (with its CSRF
/// token on unsafe methods), and attach the [`Principal`] to the request.
pub async fn authenticate(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    // Credentials expire in real time, whatever case time the deployment replays.
    let now = state.credential_now();
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
    Problem::from(f).into_response()
}

/// State of the [`authorize`] middleware: the minimum role of a route group (its scope follows
/// from it: [`Scope::for_role`]). The group's role is a floor; `ROUTE_RULES` decides per route.
#[derive(Debug, Clone, Copy)]
pub struct MinRole(pub Role);

/// Middleware: 403 unless the authenticated principal has the route's role and scope (the higher
/// of its group's and its [`ROUTE_RULES`](super::ROUTE_RULES) entry's). A route without an entry is refused to
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
        None => Problem::from(AuthFailure::Missing).into_response(),
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
}
