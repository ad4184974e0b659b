//! People and access (docs/security.md): users with a role, a clearance and a
//! nationality; scoped, revocable API tokens (hashes only); console sessions (hashes only); login
//! attempts for rate limiting. Part of the `Store` contract, in its own trait so that each backend
//! implements it in its own file.
//!
//! The store keeps what it is given and checks nothing about passwords or secrets: it never sees
//! a password, a token or a session secret, only their hashes. Roles and scopes are kept as the
//! text the server validated (as `api_tokens.role` always was), so a build that does not know a
//! stored value refuses it instead of failing to read the table.

use crate::{AuditCtx, Result};
use tocsin_core::marking::Classification;
use tocsin_core::{AudienceId, CountryCode, Timestamp};

/// Audit action names of this part of the store.
pub mod actions {
    pub const USER_CREATE: &str = "user.create";
    pub const USER_UPDATE: &str = "user.update";
    pub const TOKEN_CREATE: &str = "token.create";
    pub const TOKEN_REVOKE: &str = "token.revoke";
    pub const SESSION_CREATE: &str = "session.create";
    pub const SESSION_TOUCH: &str = "session.touch";
    pub const SESSION_REVOKE: &str = "session.revoke";
    pub const LOGIN_FAILED: &str = "login.failed";
    pub const LOGIN_SUCCEEDED: &str = "login.succeeded";
    pub const LOGIN_ATTEMPT: &str = "login.attempt";
}

/// A user to create. `username` is already normalised (lower case) by the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewUser {
    pub username: String,
    pub role: String,
    pub clearance: Classification,
    pub nationality: CountryCode,
    /// The Argon2id PHC string; `None` for a user who signs in only through tokens.
    pub password_hash: Option<String>,
}

/// A stored user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRecord {
    pub id: i64,
    pub username: String,
    pub role: String,
    pub clearance: Classification,
    pub nationality: CountryCode,
    pub password_hash: Option<String>,
    pub disabled: bool,
    pub created_at: Timestamp,
}

/// A change to a user; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserPatch {
    pub role: Option<String>,
    pub clearance: Option<Classification>,
    pub nationality: Option<CountryCode>,
    pub password_hash: Option<String>,
    pub disabled: Option<bool>,
}

/// A token to create (the secret stays with the caller; only its hash comes here).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewToken {
    pub token_hash: String,
    pub role: String,
    pub label: String,
    pub expires_at: Option<Timestamp>,
    pub scopes: Vec<String>,
    pub user_id: Option<i64>,
}

/// What may be shown about a token: everything but its hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenInfo {
    pub id: i64,
    pub role: String,
    pub label: String,
    pub created_at: Timestamp,
    pub expires_at: Option<Timestamp>,
    pub revoked: bool,
    /// `None`: a token created before scopes existed (every scope its role allows).
    pub scopes: Option<Vec<String>>,
    pub user_id: Option<i64>,
    pub audience_id: Option<AudienceId>,
}

/// A console session to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSession {
    pub session_hash: String,
    pub user_id: i64,
    pub csrf_hash: String,
    /// The absolute expiry (the idle one is computed from `last_seen_at`).
    pub expires_at: Timestamp,
    /// The client address of the login that opened it: recorded as a successful login attempt
    /// in the same transaction.
    pub client: String,
}

/// A stored console session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRecord {
    pub id: i64,
    pub session_hash: String,
    pub user_id: i64,
    pub csrf_hash: String,
    pub created_at: Timestamp,
    pub last_seen_at: Timestamp,
    pub expires_at: Timestamp,
    pub revoked: bool,
}

/// One login attempt, as kept for rate limiting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginAttempt {
    pub username: String,
    pub client: String,
    pub at: Timestamp,
    pub success: bool,
}

pub trait Accounts {
    /// Create a user ([`crate::StoreError::Conflict`] when the username is taken).
    fn insert_user(&self, user: &NewUser, audit: &AuditCtx) -> Result<i64>;
    fn user(&self, id: i64) -> Result<Option<UserRecord>>;
    fn user_by_name(&self, username: &str) -> Result<Option<UserRecord>>;
    /// Every user, by id.
    fn users(&self) -> Result<Vec<UserRecord>>;
    /// Change a user and return it as stored. Disabling a user (or changing the password) also
    /// revokes every session of the user, in the same transaction.
    fn update_user(&self, id: i64, patch: &UserPatch, audit: &AuditCtx) -> Result<UserRecord>;

    /// Create a token with scopes and an optional owner; returns its id.
    fn insert_scoped_token(&self, token: &NewToken, audit: &AuditCtx) -> Result<i64>;
    fn token_info(&self, id: i64) -> Result<Option<TokenInfo>>;
    /// Every token, by id (revoked and expired ones too: the list is the inventory).
    fn tokens(&self) -> Result<Vec<TokenInfo>>;
    /// Revoke a token ([`crate::StoreError::NotFound`] when there is none). Returns `false` when it
    /// was already revoked (nothing is written then).
    fn revoke_token(&self, id: i64, audit: &AuditCtx) -> Result<bool>;

    fn insert_session(&self, session: &NewSession, audit: &AuditCtx) -> Result<i64>;
    fn session_by_hash(&self, session_hash: &str) -> Result<Option<SessionRecord>>;
    /// Record activity on a session at `audit.at` (the idle expiry counts from there).
    fn touch_session(&self, id: i64, audit: &AuditCtx) -> Result<()>;
    /// Revoke a session (logout). Revoking a revoked session writes nothing.
    fn revoke_session(&self, id: i64, audit: &AuditCtx) -> Result<()>;

    /// Record a login attempt at `audit.at` (audited: `login.failed`, or `login.succeeded` for a
    /// success recorded without a session; [`Accounts::insert_session`] records its own).
    fn record_login_attempt(
        &self,
        username: &str,
        client: &str,
        success: bool,
        audit: &AuditCtx,
    ) -> Result<()>;
    /// Atomically decide and count one login attempt: in one write transaction (serialised with
    /// every other writer, in any process), read the attempts for this username or client at or
    /// after `since`; when `allow` accepts them, record this attempt as a failure (until
    /// [`Accounts::settle_login_attempt`] says it succeeded; audited `login.attempt`) and return its
    /// id; else write nothing and return `None`. So N parallel attempts are N counted attempts.
    fn claim_login_attempt(
        &self,
        username: &str,
        client: &str,
        since: Timestamp,
        allow: &(dyn Fn(&[LoginAttempt]) -> bool + Sync),
        audit: &AuditCtx,
    ) -> Result<Option<i64>>;
    /// The outcome of a claimed attempt: a success turns its row into one (audited
    /// `login.succeeded`); a failure leaves it counted (audited `login.failed`).
    fn settle_login_attempt(&self, id: i64, success: bool, audit: &AuditCtx) -> Result<()>;
    /// Attempts for this username or from this client at or after `since`, oldest first.
    fn login_attempts(
        &self,
        username: &str,
        client: &str,
        since: Timestamp,
    ) -> Result<Vec<LoginAttempt>>;
}

/// The contract of [`Accounts`], run against an empty store of any backend (the SQLite tests call
/// it; the PostgreSQL backend's tests should too). Panics on the first broken promise.
#[doc(hidden)]
pub fn check_contract(s: &dyn crate::Store) {
    use crate::StoreError;
    use chrono::TimeZone;
    let t = |min: i64| {
        chrono::Utc.with_ymd_and_hms(2026, 3, 1, 9, 0, 0).unwrap() + chrono::Duration::minutes(min)
    };
    let ctx = |min: i64| AuditCtx::new("test", t(min));
    let usa = CountryCode::parse("USA").unwrap();
    let gbr = CountryCode::parse("GBR").unwrap();
    let events0 = s.audit_events().unwrap().len();

    // Users.
    let new = NewUser {
        username: "ana".into(),
        role: "analyst".into(),
        clearance: Classification::C,
        nationality: usa,
        password_hash: Some("$argon2id$x".into()),
    };
    let ana = s.insert_user(&new, &ctx(0)).unwrap();
    assert!(
        matches!(
            s.insert_user(&new, &ctx(0)),
            Err(StoreError::Conflict { kind: "user", .. })
        ),
        "usernames are unique"
    );
    let bob = s
        .insert_user(
            &NewUser {
                username: "bob".into(),
                role: "approver".into(),
                clearance: Classification::TS,
                nationality: gbr,
                password_hash: None,
            },
            &ctx(1),
        )
        .unwrap();
    let u = s.user(ana).unwrap().unwrap();
    assert_eq!(
        (
            u.username.as_str(),
            u.role.as_str(),
            u.clearance,
            u.nationality,
            u.disabled,
            u.created_at
        ),
        ("ana", "analyst", Classification::C, usa, false, t(0))
    );
    assert_eq!(u.password_hash.as_deref(), Some("$argon2id$x"));
    assert_eq!(s.user_by_name("bob").unwrap().unwrap().id, bob);
    assert_eq!(s.user_by_name("nobody").unwrap(), None);
    assert_eq!(
        s.users().unwrap().iter().map(|u| u.id).collect::<Vec<_>>(),
        vec![ana, bob]
    );
    assert!(matches!(
        s.update_user(9999, &UserPatch::default(), &ctx(2)),
        Err(StoreError::NotFound { .. })
    ));

    // Tokens: scoped, owned, listed, revoked.
    let tid = s
        .insert_scoped_token(
            &NewToken {
                token_hash: "h1".into(),
                role: "analyst".into(),
                label: "ana laptop".into(),
                expires_at: Some(t(60)),
                scopes: vec!["read".into(), "write".into()],
                user_id: Some(ana),
            },
            &ctx(3),
        )
        .unwrap();
    assert!(matches!(
        s.insert_scoped_token(
            &NewToken {
                token_hash: "h2".into(),
                role: "viewer".into(),
                label: "x".into(),
                expires_at: None,
                scopes: vec!["read".into()],
                user_id: Some(9999)
            },
            &ctx(3)
        ),
        Err(StoreError::NotFound { kind: "user", .. })
    ));
    let legacy = s
        .insert_token("h3", "viewer", "legacy", None, &ctx(3))
        .unwrap();
    let info = s.token_info(tid).unwrap().unwrap();
    assert_eq!(
        info.scopes,
        Some(vec!["read".to_owned(), "write".to_owned()])
    );
    assert_eq!(
        (
            info.user_id,
            info.expires_at,
            info.revoked,
            info.label.as_str()
        ),
        (Some(ana), Some(t(60)), false, "ana laptop")
    );
    assert_eq!(
        s.token_info(legacy).unwrap().unwrap().scopes,
        None,
        "a token from before scopes has none stored"
    );
    assert_eq!(s.tokens().unwrap().len(), 2);
    assert!(s.revoke_token(tid, &ctx(4)).unwrap());
    assert!(
        !s.revoke_token(tid, &ctx(4)).unwrap(),
        "revoking twice changes nothing"
    );
    assert!(s.token_by_hash("h1").unwrap().unwrap().revoked);
    assert!(matches!(
        s.revoke_token(9999, &ctx(4)),
        Err(StoreError::NotFound { .. })
    ));

    // Sessions and login attempts.
    let sid = s
        .insert_session(
            &NewSession {
                session_hash: "sh".into(),
                user_id: ana,
                csrf_hash: "ch".into(),
                expires_at: t(600),
                client: "10.0.0.1".into(),
            },
            &ctx(5),
        )
        .unwrap();
    let sess = s.session_by_hash("sh").unwrap().unwrap();
    assert_eq!(
        (
            sess.id,
            sess.user_id,
            sess.csrf_hash.as_str(),
            sess.created_at,
            sess.last_seen_at,
            sess.expires_at,
            sess.revoked
        ),
        (sid, ana, "ch", t(5), t(5), t(600), false)
    );
    s.touch_session(sid, &ctx(7)).unwrap();
    assert_eq!(s.session_by_hash("sh").unwrap().unwrap().last_seen_at, t(7));
    s.record_login_attempt("ana", "10.0.0.2", false, &ctx(8))
        .unwrap();
    s.record_login_attempt("eve", "10.0.0.1", false, &ctx(9))
        .unwrap();
    s.record_login_attempt("zed", "10.0.0.9", false, &ctx(9))
        .unwrap();
    let seen = s.login_attempts("ana", "10.0.0.1", t(0)).unwrap();
    let summary: Vec<(&str, &str, bool)> = seen
        .iter()
        .map(|a| (a.username.as_str(), a.client.as_str(), a.success))
        .collect();
    assert_eq!(
        summary,
        vec![
            ("ana", "10.0.0.1", true),
            ("ana", "10.0.0.2", false),
            ("eve", "10.0.0.1", false)
        ],
        "the session's login counts as a success"
    );
    assert_eq!(
        s.login_attempts("ana", "10.0.0.1", t(6)).unwrap().len(),
        2,
        "older attempts are left out"
    );
    // Claiming decides on the attempts seen in the same transaction, and counts only when allowed.
    let refused = s
        .claim_login_attempt("kim", "10.0.0.7", t(0), &|_| false, &ctx(10))
        .unwrap();
    assert_eq!(refused, None);
    let id = s
        .claim_login_attempt("kim", "10.0.0.7", t(0), &|seen| seen.is_empty(), &ctx(10))
        .unwrap()
        .expect("allowed: nothing seen before");
    assert!(
        s.claim_login_attempt("kim", "10.0.0.8", t(0), &|seen| seen.is_empty(), &ctx(10))
            .unwrap()
            .is_none(),
        "the first claim is seen by the next"
    );
    let kim = |s: &dyn crate::Store| -> Vec<bool> {
        s.login_attempts("kim", "none", t(0))
            .unwrap()
            .iter()
            .map(|a| a.success)
            .collect()
    };
    assert_eq!(kim(s), vec![false], "a claimed attempt counts as a failure");
    s.settle_login_attempt(id, true, &ctx(10)).unwrap();
    assert_eq!(kim(s), vec![true], "until it succeeds");
    assert!(matches!(
        s.settle_login_attempt(id + 1000, false, &ctx(10)),
        Err(StoreError::NotFound { .. })
    ));

    // Disabling a user (or changing the password) ends their sessions in the same transaction.
    let patched = s
        .update_user(
            ana,
            &UserPatch {
                clearance: Some(Classification::S),
                disabled: Some(true),
                ..UserPatch::default()
            },
            &ctx(10),
        )
        .unwrap();
    assert_eq!(
        (patched.clearance, patched.disabled, patched.role.as_str()),
        (Classification::S, true, "analyst")
    );
    assert_eq!(
        patched.password_hash.as_deref(),
        Some("$argon2id$x"),
        "a patch without a password keeps it"
    );
    assert!(s.session_by_hash("sh").unwrap().unwrap().revoked);
    s.revoke_session(sid, &ctx(11)).unwrap();
    assert!(matches!(
        s.revoke_session(9999, &ctx(11)),
        Err(StoreError::NotFound { .. })
    ));

    // Every write was audited, and the chain holds; no password hash reached the chain's payloads
    // (only digests are stored, so check the actions instead).
    let events = s.audit_events().unwrap();
    let new_actions: Vec<&str> = events[events0..]
        .iter()
        .map(|e| e.action.as_str())
        .collect();
    assert_eq!(
        new_actions,
        vec![
            actions::USER_CREATE,
            actions::USER_CREATE,
            actions::TOKEN_CREATE,
            actions::TOKEN_CREATE,
            actions::TOKEN_REVOKE,
            actions::SESSION_CREATE,
            actions::SESSION_TOUCH,
            actions::LOGIN_FAILED,
            actions::LOGIN_FAILED,
            actions::LOGIN_FAILED,
            actions::LOGIN_ATTEMPT,
            actions::LOGIN_SUCCEEDED,
            actions::USER_UPDATE,
        ]
    );
    assert!(s.verify_audit().unwrap().is_ok());
}
