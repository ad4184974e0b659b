//! SQLite implementation of [`Accounts`]. Plain portable SQL (`RETURNING`, `CAST`), statement for
//! statement what the PostgreSQL twin runs.

use super::{audit, SqliteStore};
#[allow(unused_imports)]
use crate::Db;
use rusqlite::{params, Connection, OptionalExtension, Row};
use serde_json::json;
use tocsin_core::marking::Classification;
use tocsin_core::{AudienceId, CountryCode, Timestamp};
use tocsin_store::accounts::{
    actions, Accounts, LoginAttempt, NewSession, NewToken, NewUser, SessionRecord, TokenInfo,
    UserPatch, UserRecord,
};
use tocsin_store::record::{parse_time, time_text};
use tocsin_store::{AuditCtx, Result, StoreError};

const USER_COLS: &str =
    "id, username, role, clearance, nationality, password_hash, disabled, created_at";
const TOKEN_COLS: &str =
    "id, role, label, created_at, expires_at, revoked, scopes, user_id, audience_id";
const SESSION_COLS: &str =
    "id, session_hash, user_id, csrf_hash, created_at, last_seen_at, expires_at, revoked";

/// The stored spelling of a clearance: the portion-mark abbreviation (`U`, `C`, `S`, `TS`).
pub(crate) fn clearance_text(c: Classification) -> &'static str {
    c.abbrev()
}

pub(crate) fn parse_clearance(id: &str, s: &str) -> Result<Classification> {
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

fn user_row(r: &Row<'_>) -> Result<UserRecord> {
    let id: i64 = r.get(0).db()?;
    let sid = id.to_string();
    let clearance: String = r.get(3).db()?;
    let nationality: String = r.get(4).db()?;
    let created: String = r.get(7).db()?;
    Ok(UserRecord {
        id,
        username: r.get(1).db()?,
        role: r.get(2).db()?,
        clearance: parse_clearance(&sid, &clearance)?,
        nationality: CountryCode::parse(&nationality).map_err(|e| StoreError::Corrupt {
            kind: "user",
            id: sid.clone(),
            reason: e.to_string(),
        })?,
        password_hash: r.get(5).db()?,
        disabled: r.get(6).db()?,
        created_at: parse_time("user", &sid, &created)?,
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

fn token_row(r: &Row<'_>) -> Result<TokenInfo> {
    let id: i64 = r.get(0).db()?;
    let sid = id.to_string();
    let created: String = r.get(3).db()?;
    let expires: Option<String> = r.get(4).db()?;
    let audience: Option<String> = r.get(8).db()?;
    Ok(TokenInfo {
        id,
        role: r.get(1).db()?,
        label: r.get(2).db()?,
        created_at: parse_time("token", &sid, &created)?,
        expires_at: expires.map(|s| parse_time("token", &sid, &s)).transpose()?,
        revoked: r.get(5).db()?,
        scopes: parse_scopes(r.get(6).db()?),
        user_id: r.get(7).db()?,
        audience_id: audience.map(AudienceId::new),
    })
}

fn session_row(r: &Row<'_>) -> Result<SessionRecord> {
    let id: i64 = r.get(0).db()?;
    let sid = id.to_string();
    let t = |i: usize| -> Result<Timestamp> {
        let s: String = r.get(i).db()?;
        parse_time("session", &sid, &s)
    };
    Ok(SessionRecord {
        id,
        session_hash: r.get(1).db()?,
        user_id: r.get(2).db()?,
        csrf_hash: r.get(3).db()?,
        created_at: t(4)?,
        last_seen_at: t(5)?,
        expires_at: t(6)?,
        revoked: r.get(7).db()?,
    })
}

fn load_user(c: &Connection, id: i64) -> Result<Option<UserRecord>> {
    c.query_row(
        &format!("SELECT {USER_COLS} FROM users WHERE id = ?1"),
        [id],
        |r| Ok(user_row(r)),
    )
    .optional()
    .db()?
    .transpose()
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

impl Accounts for SqliteStore {
    fn insert_user(&self, u: &NewUser, ctx: &AuditCtx) -> Result<i64> {
        self.write(|tx| {
            let id: i64 = tx
                .query_row(
                    "INSERT INTO users (username, role, clearance, nationality, password_hash, disabled, created_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, FALSE, ?6) RETURNING id",
                    params![u.username, u.role, clearance_text(u.clearance), u.nationality.as_str(), u.password_hash, time_text(&ctx.at)],
                    |r| r.get(0),
                )
                .map_err(crate::conflict("user", u.username.clone()))?;
            let rec = load_user(tx, id)?.ok_or_else(|| StoreError::NotFound { kind: "user", id: id.to_string() })?;
            audit(tx, ctx, actions::USER_CREATE, &format!("user:{id}"), &user_payload(&rec))?;
            Ok(id)
        })
    }

    fn user(&self, id: i64) -> Result<Option<UserRecord>> {
        self.read(|c| load_user(c, id))
    }

    fn user_by_name(&self, username: &str) -> Result<Option<UserRecord>> {
        self.read(|c| {
            c.query_row(
                &format!("SELECT {USER_COLS} FROM users WHERE username = ?1"),
                [username],
                |r| Ok(user_row(r)),
            )
            .optional()
            .db()?
            .transpose()
        })
    }

    fn users(&self) -> Result<Vec<UserRecord>> {
        self.read(|c| {
            let mut stmt = c
                .prepare_cached(&format!("SELECT {USER_COLS} FROM users ORDER BY id"))
                .db()?;
            let mut rows = stmt.query([]).db()?;
            let mut out = Vec::new();
            while let Some(r) = rows.next().db()? {
                out.push(user_row(r)?);
            }
            Ok(out)
        })
    }

    fn update_user(&self, id: i64, p: &UserPatch, ctx: &AuditCtx) -> Result<UserRecord> {
        self.write(|tx| {
            let old = load_user(tx, id)?.ok_or_else(|| StoreError::NotFound { kind: "user", id: id.to_string() })?;
            tx.execute(
                "UPDATE users SET role = ?2, clearance = ?3, nationality = ?4, password_hash = ?5, disabled = ?6 WHERE id = ?1",
                params![
                    id,
                    p.role.as_deref().unwrap_or(&old.role),
                    clearance_text(p.clearance.unwrap_or(old.clearance)),
                    p.nationality.unwrap_or(old.nationality).as_str(),
                    p.password_hash.as_deref().or(old.password_hash.as_deref()),
                    p.disabled.unwrap_or(old.disabled),
                ],
            ).db()?;
            // A disabled user, or one whose password changed, keeps no open console session.
            let ended = if p.disabled == Some(true) || p.password_hash.is_some() {
                tx.execute("UPDATE sessions SET revoked = TRUE WHERE user_id = ?1 AND revoked = FALSE", [id]).db()?
            } else {
                0
            };
            let new = load_user(tx, id)?.ok_or_else(|| StoreError::NotFound { kind: "user", id: id.to_string() })?;
            let mut payload = user_payload(&new);
            payload["password_changed"] = json!(p.password_hash.is_some());
            payload["sessions_revoked"] = json!(ended);
            audit(tx, ctx, actions::USER_UPDATE, &format!("user:{id}"), &payload)?;
            Ok(new)
        })
    }

    fn insert_scoped_token(&self, t: &NewToken, ctx: &AuditCtx) -> Result<i64> {
        self.write(|tx| {
            if let Some(uid) = t.user_id {
                if load_user(tx, uid)?.is_none() {
                    return Err(StoreError::NotFound { kind: "user", id: uid.to_string() });
                }
            }
            let scopes = scopes_text(&t.scopes);
            let id: i64 = tx
                .query_row(
                    "INSERT INTO api_tokens (token_hash, role, label, created_at, expires_at, revoked, scopes, user_id)
                     VALUES (?1, ?2, ?3, ?4, ?5, FALSE, ?6, ?7) RETURNING id",
                    params![t.token_hash, t.role, t.label, time_text(&ctx.at), t.expires_at.as_ref().map(time_text), scopes, t.user_id],
                    |r| r.get(0),
                )
                .map_err(crate::conflict("token", t.label.clone()))?;
            // The hash is not a secret (the store never sees secrets); recording it binds the event to the row.
            let payload = json!({
                "id": id,
                "token_hash": t.token_hash,
                "role": t.role,
                "label": t.label,
                "created_at": time_text(&ctx.at),
                "expires_at": t.expires_at.as_ref().map(time_text),
                "revoked": false,
                "scopes": t.scopes,
                "user_id": t.user_id,
            });
            audit(tx, ctx, actions::TOKEN_CREATE, &format!("token:{id}"), &payload)?;
            Ok(id)
        })
    }

    fn token_info(&self, id: i64) -> Result<Option<TokenInfo>> {
        self.read(|c| {
            c.query_row(
                &format!("SELECT {TOKEN_COLS} FROM api_tokens WHERE id = ?1"),
                [id],
                |r| Ok(token_row(r)),
            )
            .optional()
            .db()?
            .transpose()
        })
    }

    fn tokens(&self) -> Result<Vec<TokenInfo>> {
        self.read(|c| {
            let mut stmt = c
                .prepare_cached(&format!("SELECT {TOKEN_COLS} FROM api_tokens ORDER BY id"))
                .db()?;
            let mut rows = stmt.query([]).db()?;
            let mut out = Vec::new();
            while let Some(r) = rows.next().db()? {
                out.push(token_row(r)?);
            }
            Ok(out)
        })
    }

    fn revoke_token(&self, id: i64, ctx: &AuditCtx) -> Result<bool> {
        self.write(|tx| {
            let revoked: Option<bool> = tx
                .query_row("SELECT revoked FROM api_tokens WHERE id = ?1", [id], |r| {
                    r.get(0)
                })
                .optional()
                .db()?;
            match revoked {
                None => Err(StoreError::NotFound {
                    kind: "token",
                    id: id.to_string(),
                }),
                Some(true) => Ok(false),
                Some(false) => {
                    tx.execute("UPDATE api_tokens SET revoked = TRUE WHERE id = ?1", [id])
                        .db()?;
                    audit(
                        tx,
                        ctx,
                        actions::TOKEN_REVOKE,
                        &format!("token:{id}"),
                        &json!({ "id": id, "revoked": true }),
                    )?;
                    Ok(true)
                }
            }
        })
    }

    fn insert_session(&self, s: &NewSession, ctx: &AuditCtx) -> Result<i64> {
        self.write(|tx| {
            let now = time_text(&ctx.at);
            let id: i64 = tx
                .query_row(
                    "INSERT INTO sessions (session_hash, user_id, csrf_hash, created_at, last_seen_at, expires_at, revoked)
                     VALUES (?1, ?2, ?3, ?4, ?4, ?5, FALSE) RETURNING id",
                    params![s.session_hash, s.user_id, s.csrf_hash, now, time_text(&s.expires_at)],
                    |r| r.get(0),
                )
                .map_err(crate::conflict("session", "(hash)"))?;
            let username: Option<String> = tx.query_row("SELECT username FROM users WHERE id = ?1", [s.user_id], |r| r.get(0)).optional().db()?;
            tx.execute(
                "INSERT INTO login_attempts (username, client, at, success) VALUES (?1, ?2, ?3, TRUE)",
                params![username.unwrap_or_default(), s.client, now],
            ).db()?;
            let payload = json!({ "id": id, "session_hash": s.session_hash, "user_id": s.user_id, "client": s.client, "expires_at": time_text(&s.expires_at) });
            audit(tx, ctx, actions::SESSION_CREATE, &format!("session:{id}"), &payload)?;
            Ok(id)
        })
    }

    fn session_by_hash(&self, hash: &str) -> Result<Option<SessionRecord>> {
        self.read(|c| {
            c.query_row(
                &format!("SELECT {SESSION_COLS} FROM sessions WHERE session_hash = ?1"),
                [hash],
                |r| Ok(session_row(r)),
            )
            .optional()
            .db()?
            .transpose()
        })
    }

    fn touch_session(&self, id: i64, ctx: &AuditCtx) -> Result<()> {
        self.write(|tx| {
            let n = tx
                .execute(
                    "UPDATE sessions SET last_seen_at = ?2 WHERE id = ?1",
                    params![id, time_text(&ctx.at)],
                )
                .db()?;
            if n == 0 {
                return Err(StoreError::NotFound {
                    kind: "session",
                    id: id.to_string(),
                });
            }
            audit(
                tx,
                ctx,
                actions::SESSION_TOUCH,
                &format!("session:{id}"),
                &json!({ "id": id, "last_seen_at": time_text(&ctx.at) }),
            )?;
            Ok(())
        })
    }

    fn revoke_session(&self, id: i64, ctx: &AuditCtx) -> Result<()> {
        self.write(|tx| {
            let revoked: Option<bool> = tx
                .query_row("SELECT revoked FROM sessions WHERE id = ?1", [id], |r| {
                    r.get(0)
                })
                .optional()
                .db()?;
            match revoked {
                None => Err(StoreError::NotFound {
                    kind: "session",
                    id: id.to_string(),
                }),
                Some(true) => Ok(()),
                Some(false) => {
                    tx.execute("UPDATE sessions SET revoked = TRUE WHERE id = ?1", [id])
                        .db()?;
                    audit(
                        tx,
                        ctx,
                        actions::SESSION_REVOKE,
                        &format!("session:{id}"),
                        &json!({ "id": id, "revoked": true }),
                    )?;
                    Ok(())
                }
            }
        })
    }

    fn record_login_attempt(
        &self,
        username: &str,
        client: &str,
        success: bool,
        ctx: &AuditCtx,
    ) -> Result<()> {
        self.write(|tx| {
            let at = time_text(&ctx.at);
            tx.execute("INSERT INTO login_attempts (username, client, at, success) VALUES (?1, ?2, ?3, ?4)", params![username, client, at, success]).db()?;
            let action = if success { actions::LOGIN_SUCCEEDED } else { actions::LOGIN_FAILED };
            audit(tx, ctx, action, &format!("login:{username}"), &json!({ "username": username, "client": client, "at": at, "success": success }))?;
            Ok(())
        })
    }

    fn login_attempts(
        &self,
        username: &str,
        client: &str,
        since: Timestamp,
    ) -> Result<Vec<LoginAttempt>> {
        self.read(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT username, client, at, success FROM login_attempts WHERE (username = ?1 OR client = ?2) AND at >= ?3 ORDER BY at, id",
            ).db()?;
            let mut rows = stmt.query(params![username, client, time_text(&since)]).db()?;
            let mut out = Vec::new();
            while let Some(r) = rows.next().db()? {
                let at: String = r.get(2).db()?;
                out.push(LoginAttempt { username: r.get(0).db()?, client: r.get(1).db()?, at: parse_time("login attempt", username, &at)?, success: r.get(3).db()? });
            }
            Ok(out)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accounts_contract() {
        tocsin_store::accounts::check_contract(&SqliteStore::open_in_memory().unwrap());
    }

    #[test]
    fn a_failed_insert_writes_no_audit_event() {
        let s = SqliteStore::open_in_memory().unwrap();
        let ctx = AuditCtx::new(
            "t",
            chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap(),
        );
        let u = NewUser {
            username: "a".into(),
            role: "viewer".into(),
            clearance: Classification::U,
            nationality: CountryCode::parse("USA").unwrap(),
            password_hash: None,
        };
        s.insert_user(&u, &ctx).unwrap();
        let n = tocsin_store::Store::audit_events(&s).unwrap().len();
        assert!(s.insert_user(&u, &ctx).is_err());
        assert_eq!(tocsin_store::Store::audit_events(&s).unwrap().len(), n);
    }
}
