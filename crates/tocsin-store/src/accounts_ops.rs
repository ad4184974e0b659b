//! [`Accounts`] written once for every backend ([`Backend`]).

use crate::accounts::{
    actions, Accounts, LoginAttempt, NewSession, NewToken, NewUser, SessionRecord, TokenInfo,
    UserPatch, UserRecord,
};
use crate::ops::{audit, not_found, Backend};
use crate::record::{parse_time, time_text};
use crate::sql::{self, Arg, Conn, Row};
use crate::{AuditCtx, Result, StoreError};
use serde_json::json;
use tocsin_core::marking::Classification;
use tocsin_core::{AudienceId, CountryCode, Timestamp};

const USER_COLS: &str =
    "id, username, role, clearance, nationality, password_hash, disabled, created_at";
const TOKEN_COLS: &str =
    "id, role, label, created_at, expires_at, revoked, scopes, user_id, audience_id";
const SESSION_COLS: &str =
    "id, session_hash, user_id, csrf_hash, created_at, last_seen_at, expires_at, revoked";

/// The stored spelling of a clearance: the portion-mark abbreviation (`U`, `C`, `S`, `TS`).
fn clearance_text(c: Classification) -> &'static str {
    c.abbrev()
}

fn parse_clearance(id: &str, s: &str) -> Result<Classification> {
    Ok(match s {
        "U" => Classification::U,
        "C" => Classification::C,
        "S" => Classification::S,
        "TS" => Classification::TS,
        other => {
            return Err(StoreError::Corrupt {
                kind: "user",
                id: id.to_owned(),
                reason: format!("bad clearance {other:?}"),
            })
        }
    })
}

fn user_row(r: &Row) -> Result<UserRecord> {
    const KIND: &str = "user";
    let id = sql::int(r, 0, KIND, "?")?;
    let sid = id.to_string();
    let nationality = sql::text(r, 4, KIND, &sid)?;
    Ok(UserRecord {
        id,
        username: sql::text(r, 1, KIND, &sid)?,
        role: sql::text(r, 2, KIND, &sid)?,
        clearance: parse_clearance(&sid, &sql::text(r, 3, KIND, &sid)?)?,
        nationality: CountryCode::parse(&nationality).map_err(|e| StoreError::Corrupt {
            kind: KIND,
            id: sid.clone(),
            reason: e.to_string(),
        })?,
        password_hash: sql::opt_text(r, 5, KIND, &sid)?,
        disabled: sql::boolean(r, 6, KIND, &sid)?,
        created_at: parse_time(KIND, &sid, &sql::text(r, 7, KIND, &sid)?)?,
    })
}

/// Scopes are stored comma-separated (no scope name contains a comma: the server validates them).
fn scopes_text(scopes: &[String]) -> String {
    scopes.join(",")
}

fn parse_scopes(s: Option<String>) -> Option<Vec<String>> {
    s.map(|s| {
        s.split(',')
            .filter(|x| !x.is_empty())
            .map(str::to_owned)
            .collect()
    })
}

fn token_row(r: &Row) -> Result<TokenInfo> {
    const KIND: &str = "token";
    let id = sql::int(r, 0, KIND, "?")?;
    let sid = id.to_string();
    Ok(TokenInfo {
        id,
        role: sql::text(r, 1, KIND, &sid)?,
        label: sql::text(r, 2, KIND, &sid)?,
        created_at: parse_time(KIND, &sid, &sql::text(r, 3, KIND, &sid)?)?,
        expires_at: sql::opt_text(r, 4, KIND, &sid)?
            .map(|s| parse_time(KIND, &sid, &s))
            .transpose()?,
        revoked: sql::boolean(r, 5, KIND, &sid)?,
        scopes: parse_scopes(sql::opt_text(r, 6, KIND, &sid)?),
        user_id: sql::opt_int(r, 7, KIND, &sid)?,
        audience_id: sql::opt_text(r, 8, KIND, &sid)?.map(AudienceId::new),
    })
}

fn session_row(r: &Row) -> Result<SessionRecord> {
    const KIND: &str = "session";
    let id = sql::int(r, 0, KIND, "?")?;
    let sid = id.to_string();
    let t =
        |i: usize| -> Result<Timestamp> { parse_time(KIND, &sid, &sql::text(r, i, KIND, &sid)?) };
    Ok(SessionRecord {
        id,
        session_hash: sql::text(r, 1, KIND, &sid)?,
        user_id: sql::int(r, 2, KIND, &sid)?,
        csrf_hash: sql::text(r, 3, KIND, &sid)?,
        created_at: t(4)?,
        last_seen_at: t(5)?,
        expires_at: t(6)?,
        revoked: sql::boolean(r, 7, KIND, &sid)?,
    })
}

fn one<T>(
    c: &mut dyn Conn,
    sql_text: &str,
    args: &[Arg<'_>],
    decode: fn(&Row) -> Result<T>,
) -> Result<Option<T>> {
    c.row(sql_text, args)?.as_ref().map(decode).transpose()
}

fn all<T>(c: &mut dyn Conn, sql_text: &str, decode: fn(&Row) -> Result<T>) -> Result<Vec<T>> {
    c.rows(sql_text, &[])?.iter().map(decode).collect()
}

fn load_user(c: &mut dyn Conn, id: i64) -> Result<Option<UserRecord>> {
    one(
        c,
        &format!("SELECT {USER_COLS} FROM users WHERE id = ?1"),
        &[id.into()],
        user_row,
    )
}

/// The id an `INSERT … RETURNING id` gave, or the insert's error (a collision is a conflict on
/// `kind` named `name`).
fn insert_returning_id(
    tx: &mut dyn Conn,
    sql_text: &str,
    args: &[Arg<'_>],
    kind: &'static str,
    name: &str,
) -> Result<i64> {
    let row = tx
        .row(sql_text, args)
        .map_err(|f| f.on_insert(kind, name))?
        .ok_or_else(|| StoreError::Db("INSERT … RETURNING id returned no row".into()))?;
    sql::int(&row, 0, kind, name)
}

/// Attempts for this username or from this client at or after `since`, oldest first.
fn attempts_in(
    c: &mut dyn Conn,
    username: &str,
    client: &str,
    since: Timestamp,
) -> Result<Vec<LoginAttempt>> {
    const KIND: &str = "login attempt";
    let since = time_text(&since);
    c.rows(
        "SELECT username, client, at, success FROM login_attempts WHERE (username = ?1 OR client = ?2) AND at >= ?3 ORDER BY at, id",
        &[username.into(), client.into(), since.as_str().into()],
    )?
    .iter()
    .map(|r| {
        Ok(LoginAttempt {
            username: sql::text(r, 0, KIND, username)?,
            client: sql::text(r, 1, KIND, username)?,
            at: parse_time(KIND, username, &sql::text(r, 2, KIND, username)?)?,
            success: sql::boolean(r, 3, KIND, username)?,
        })
    })
    .collect()
}

/// What the audit chain records of a user: never the password hash, only whether there is one.
fn user_payload(u: &UserRecord) -> serde_json::Value {
    json!({
        "id": u.id,
        "username": u.username,
        "role": u.role,
        "clearance": clearance_text(u.clearance),
        "nationality": u.nationality.as_str(),
        "password_set": u.password_hash.is_some(),
        "disabled": u.disabled,
        "created_at": time_text(&u.created_at),
    })
}

/// Set `revoked` on the row `id` of `table` (`api_tokens` or `sessions`); `false` when it already
/// was, [`StoreError::NotFound`] when there is no such row.
fn revoke(
    tx: &mut dyn Conn,
    table: &str,
    kind: &'static str,
    id: i64,
    ctx: &AuditCtx,
    action: &str,
) -> Result<bool> {
    let row = tx.row(
        &format!("SELECT revoked FROM {table} WHERE id = ?1"),
        &[id.into()],
    )?;
    let Some(row) = row else {
        return Err(not_found(kind, id));
    };
    if sql::boolean(&row, 0, kind, &id.to_string())? {
        return Ok(false);
    }
    tx.exec(
        &format!("UPDATE {table} SET revoked = TRUE WHERE id = ?1"),
        &[id.into()],
    )?;
    audit(
        tx,
        ctx,
        action,
        &format!("{kind}:{id}"),
        &json!({ "id": id, "revoked": true }),
    )?;
    Ok(true)
}

impl<B: Backend> Accounts for B {
    fn insert_user(&self, u: &NewUser, ctx: &AuditCtx) -> Result<i64> {
        let at = time_text(&ctx.at);
        self.write_tx(&mut |tx| {
            let id = insert_returning_id(
                tx,
                "INSERT INTO users (username, role, clearance, nationality, password_hash, disabled, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, FALSE, ?6) RETURNING id",
                &[
                    u.username.as_str().into(),
                    u.role.as_str().into(),
                    clearance_text(u.clearance).into(),
                    u.nationality.as_str().into(),
                    u.password_hash.as_deref().into(),
                    at.as_str().into(),
                ],
                "user",
                &u.username,
            )?;
            let rec = load_user(tx, id)?.ok_or_else(|| not_found("user", id))?;
            audit(
                tx,
                ctx,
                actions::USER_CREATE,
                &format!("user:{id}"),
                &user_payload(&rec),
            )?;
            Ok(id)
        })
    }

    fn user(&self, id: i64) -> Result<Option<UserRecord>> {
        self.read_conn(&|c| load_user(c, id))
    }

    fn user_by_name(&self, username: &str) -> Result<Option<UserRecord>> {
        self.read_conn(&|c| {
            one(
                c,
                &format!("SELECT {USER_COLS} FROM users WHERE username = ?1"),
                &[username.into()],
                user_row,
            )
        })
    }

    fn users(&self) -> Result<Vec<UserRecord>> {
        self.read_conn(&|c| {
            all(
                c,
                &format!("SELECT {USER_COLS} FROM users ORDER BY id"),
                user_row,
            )
        })
    }

    fn update_user(&self, id: i64, p: &UserPatch, ctx: &AuditCtx) -> Result<UserRecord> {
        self.write_tx(&mut |tx| {
            let old = load_user(tx, id)?.ok_or_else(|| not_found("user", id))?;
            tx.exec(
                "UPDATE users SET role = ?2, clearance = ?3, nationality = ?4, password_hash = ?5, disabled = ?6 WHERE id = ?1",
                &[
                    id.into(),
                    p.role.as_deref().unwrap_or(&old.role).into(),
                    clearance_text(p.clearance.unwrap_or(old.clearance)).into(),
                    p.nationality.unwrap_or(old.nationality).as_str().into(),
                    p.password_hash
                        .as_deref()
                        .or(old.password_hash.as_deref())
                        .into(),
                    p.disabled.unwrap_or(old.disabled).into(),
                ],
            )?;
            // A disabled user, or one whose password changed, keeps no open console session.
            let ended = if p.disabled == Some(true) || p.password_hash.is_some() {
                tx.exec(
                    "UPDATE sessions SET revoked = TRUE WHERE user_id = ?1 AND revoked = FALSE",
                    &[id.into()],
                )?
            } else {
                0
            };
            let new = load_user(tx, id)?.ok_or_else(|| not_found("user", id))?;
            let mut payload = user_payload(&new);
            payload["password_changed"] = json!(p.password_hash.is_some());
            payload["sessions_revoked"] = json!(ended);
            audit(tx, ctx, actions::USER_UPDATE, &format!("user:{id}"), &payload)?;
            Ok(new)
        })
    }

    fn insert_scoped_token(&self, t: &NewToken, ctx: &AuditCtx) -> Result<i64> {
        let created = time_text(&ctx.at);
        let expires = t.expires_at.as_ref().map(time_text);
        let scopes = scopes_text(&t.scopes);
        self.write_tx(&mut |tx| {
            if let Some(uid) = t.user_id {
                if load_user(tx, uid)?.is_none() {
                    return Err(not_found("user", uid));
                }
            }
            let id = insert_returning_id(
                tx,
                "INSERT INTO api_tokens (token_hash, role, label, created_at, expires_at, revoked, scopes, user_id)
                 VALUES (?1, ?2, ?3, ?4, ?5, FALSE, ?6, ?7) RETURNING id",
                &[
                    t.token_hash.as_str().into(),
                    t.role.as_str().into(),
                    t.label.as_str().into(),
                    created.as_str().into(),
                    expires.as_deref().into(),
                    scopes.as_str().into(),
                    t.user_id.into(),
                ],
                "token",
                &t.label,
            )?;
            // The hash is not a secret (the store never sees secrets); recording it binds the
            // event to the row.
            let payload = json!({
                "id": id,
                "token_hash": t.token_hash,
                "role": t.role,
                "label": t.label,
                "created_at": created,
                "expires_at": expires,
                "revoked": false,
                "scopes": t.scopes,
                "user_id": t.user_id,
            });
            audit(tx, ctx, actions::TOKEN_CREATE, &format!("token:{id}"), &payload)?;
            Ok(id)
        })
    }

    fn token_info(&self, id: i64) -> Result<Option<TokenInfo>> {
        self.read_conn(&|c| {
            one(
                c,
                &format!("SELECT {TOKEN_COLS} FROM api_tokens WHERE id = ?1"),
                &[id.into()],
                token_row,
            )
        })
    }

    fn tokens(&self) -> Result<Vec<TokenInfo>> {
        self.read_conn(&|c| {
            all(
                c,
                &format!("SELECT {TOKEN_COLS} FROM api_tokens ORDER BY id"),
                token_row,
            )
        })
    }

    fn revoke_token(&self, id: i64, ctx: &AuditCtx) -> Result<bool> {
        self.write_tx(&mut |tx| revoke(tx, "api_tokens", "token", id, ctx, actions::TOKEN_REVOKE))
    }

    fn insert_session(&self, s: &NewSession, ctx: &AuditCtx) -> Result<i64> {
        let now = time_text(&ctx.at);
        let expires = time_text(&s.expires_at);
        self.write_tx(&mut |tx| {
            let id = insert_returning_id(
                tx,
                "INSERT INTO sessions (session_hash, user_id, csrf_hash, created_at, last_seen_at, expires_at, revoked)
                 VALUES (?1, ?2, ?3, ?4, ?4, ?5, FALSE) RETURNING id",
                &[
                    s.session_hash.as_str().into(),
                    s.user_id.into(),
                    s.csrf_hash.as_str().into(),
                    now.as_str().into(),
                    expires.as_str().into(),
                ],
                "session",
                "(hash)",
            )?;
            let username = match tx.row("SELECT username FROM users WHERE id = ?1", &[s.user_id.into()])? {
                Some(row) => sql::text(&row, 0, "user", &s.user_id.to_string())?,
                None => String::new(),
            };
            tx.exec(
                "INSERT INTO login_attempts (username, client, at, success) VALUES (?1, ?2, ?3, TRUE)",
                &[username.as_str().into(), s.client.as_str().into(), now.as_str().into()],
            )?;
            let payload = json!({ "id": id, "session_hash": s.session_hash, "user_id": s.user_id, "client": s.client, "expires_at": expires });
            audit(tx, ctx, actions::SESSION_CREATE, &format!("session:{id}"), &payload)?;
            Ok(id)
        })
    }

    fn session_by_hash(&self, hash: &str) -> Result<Option<SessionRecord>> {
        self.read_conn(&|c| {
            one(
                c,
                &format!("SELECT {SESSION_COLS} FROM sessions WHERE session_hash = ?1"),
                &[hash.into()],
                session_row,
            )
        })
    }

    fn touch_session(&self, id: i64, ctx: &AuditCtx) -> Result<()> {
        let at = time_text(&ctx.at);
        self.write_tx(&mut |tx| {
            let n = tx.exec(
                "UPDATE sessions SET last_seen_at = ?2 WHERE id = ?1",
                &[id.into(), at.as_str().into()],
            )?;
            if n == 0 {
                return Err(not_found("session", id));
            }
            audit(
                tx,
                ctx,
                actions::SESSION_TOUCH,
                &format!("session:{id}"),
                &json!({ "id": id, "last_seen_at": at }),
            )?;
            Ok(())
        })
    }

    fn revoke_session(&self, id: i64, ctx: &AuditCtx) -> Result<()> {
        self.write_tx(&mut |tx| {
            revoke(tx, "sessions", "session", id, ctx, actions::SESSION_REVOKE).map(|_| ())
        })
    }

    fn record_login_attempt(
        &self,
        username: &str,
        client: &str,
        success: bool,
        ctx: &AuditCtx,
    ) -> Result<()> {
        let at = time_text(&ctx.at);
        self.write_tx(&mut |tx| {
            tx.exec(
                "INSERT INTO login_attempts (username, client, at, success) VALUES (?1, ?2, ?3, ?4)",
                &[username.into(), client.into(), at.as_str().into(), success.into()],
            )?;
            let action = if success {
                actions::LOGIN_SUCCEEDED
            } else {
                actions::LOGIN_FAILED
            };
            audit(
                tx,
                ctx,
                action,
                &format!("login:{username}"),
                &json!({ "username": username, "client": client, "at": at, "success": success }),
            )?;
            Ok(())
        })
    }

    fn claim_login_attempt(
        &self,
        username: &str,
        client: &str,
        since: Timestamp,
        allow: &(dyn Fn(&[LoginAttempt]) -> bool + Sync),
        ctx: &AuditCtx,
    ) -> Result<Option<i64>> {
        let at = time_text(&ctx.at);
        self.write_tx(&mut |tx| {
            let seen = attempts_in(tx, username, client, since)?;
            if !allow(&seen) {
                return Ok(None);
            }
            let id = insert_returning_id(
                tx,
                "INSERT INTO login_attempts (username, client, at, success) VALUES (?1, ?2, ?3, FALSE) RETURNING id",
                &[username.into(), client.into(), at.as_str().into()],
                "login attempt",
                username,
            )?;
            audit(
                tx,
                ctx,
                actions::LOGIN_ATTEMPT,
                &format!("login:{username}"),
                &json!({ "id": id, "username": username, "client": client, "at": at }),
            )?;
            Ok(Some(id))
        })
    }

    fn settle_login_attempt(&self, id: i64, success: bool, ctx: &AuditCtx) -> Result<()> {
        self.write_tx(&mut |tx| {
            let row = tx
                .row(
                    "SELECT username, client, at FROM login_attempts WHERE id = ?1",
                    &[id.into()],
                )?
                .ok_or_else(|| StoreError::NotFound {
                    kind: "login attempt",
                    id: id.to_string(),
                })?;
            let name = id.to_string();
            let username = sql::text(&row, 0, "login attempt", &name)?;
            let client = sql::text(&row, 1, "login attempt", &name)?;
            let at = sql::text(&row, 2, "login attempt", &name)?;
            if success {
                tx.exec(
                    "UPDATE login_attempts SET success = TRUE WHERE id = ?1",
                    &[id.into()],
                )?;
            }
            let action = if success {
                actions::LOGIN_SUCCEEDED
            } else {
                actions::LOGIN_FAILED
            };
            audit(
                tx,
                ctx,
                action,
                &format!("login:{username}"),
                &json!({ "id": id, "username": username, "client": client, "at": at, "success": success }),
            )?;
            Ok(())
        })
    }

    fn login_attempts(
        &self,
        username: &str,
        client: &str,
        since: Timestamp,
    ) -> Result<Vec<LoginAttempt>> {
        self.read_conn(&|c| attempts_in(c, username, client, since))
    }
}
