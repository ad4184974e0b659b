//! Identity and accounts, with no HTTP in them: principals, roles and scopes ([`principal`]),
//! bearer tokens ([`token`]: issue, hash, verify) and users ([`accounts`]: usernames, clearances,
//! Argon2id passwords). The HTTP server and the command line both use this crate; the server adds
//! only the transport (headers, cookies, middleware).

pub mod accounts;
pub mod principal;
pub mod token;

pub use accounts::{
    create_user, hash_password, normalize_username, parse_clearance, parse_duration, verify_dummy,
    verify_password, AccountError, CreateUserError,
};
pub use principal::{Credential, NeedToKnow, Principal, Role, Scope, UserRef};
pub use token::{
    bootstrap_admin_token, generate_token, hash_token, issue_scoped_token, issue_token,
    resolve_token, AuthFailure, TokenError, TokenSpec, TOKEN_PREFIX,
};
