//! Who is calling and what they may do: roles, scopes, the clearance a principal carries, and the
//! principal itself (docs/security.md).
//!
//! Rights are the minimum of what every layer grants: a token's role and scopes, and the role of
//! the user who owns it. The two-person rule compares [`Principal::actor`], which names the user
//! when there is one, so one person with two tokens (or a token and a session) is still one person.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use tocsin_core::{Classification, CountryCode};
use tocsin_store::accounts::UserRecord;

/// Roles, ordered: each includes the rights of those below it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
