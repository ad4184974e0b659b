//! Who is calling, and what they may do, over HTTP (docs/security.md). The model (principals,
//! roles, scopes, tokens) is `tocsin_auth`'s; this module adds the transport:
//!
//! - [`middleware`]: [`authenticate`] (every `/api/v1/` path: 401 on a missing, malformed, unknown,
//!   revoked or expired token or session; 403 on a session request without its CSRF token) puts a
//!   [`Principal`] into the request; [`authorize`] (per route group) answers 403 when the
//!   principal's role or scopes fall short of the route's rule.
//! - [`rules`]: [`ROUTE_RULES`], the one table of who may call which operation.
//!
//! Tokens are never logged, and the `Authorization` header is never traced.

pub mod middleware;
pub mod rules;

pub use middleware::{authenticate, authorize, MinRole};
pub use rules::{required_role, ROUTE_RULES};
pub use tocsin_auth::principal::{
    effective_scopes, user_need_to_know, Credential, NeedToKnow, Principal, Role, RoleError, Scope,
    ScopeError, UserRef,
};
pub use tocsin_auth::token::{
    bootstrap_admin_token, generate_token, hash_token, issue_scoped_token, issue_token,
    resolve_token, token_principal, AuthFailure, TokenError, TokenSpec, BOOTSTRAP_ACTOR,
    MIN_GIVEN_TOKEN_LEN, TOKEN_PREFIX,
};
