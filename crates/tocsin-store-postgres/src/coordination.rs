//! PostgreSQL implementation of [`Coordination`] (contract: `tocsin_store::coordination`).
//!
//! * Leadership is a session advisory lock (`pg_try_advisory_lock`) held on a connection kept for
//!   that role: when the process dies its session ends and the lock is free at once. The
//!   `leaders` row is only a record for operators; [`Coordination::leader`] answers from
//!   `pg_locks`, so a dead leader's row does not make it look alive.
//! * Registry changes are rows written by `upsert_entities` in its transaction (which holds the
//!   chain lock, so `seq` order is commit order), plus `pg_notify('tocsin_registry')`, delivered at
//!   commit to every process that LISTENs.

use crate::sql::Sql;
use crate::{describe, Db, PgStore};
use postgres::fallible_iterator::FallibleIterator;
use postgres::Client;
use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;
use tocsin_core::{EntityId, Timestamp};
use tocsin_store::coordination::Coordination;
use tocsin_store::record::time_text;
use tocsin_store::Result;

/// The NOTIFY channel of registry changes.
pub const REGISTRY_CHANNEL: &str = "tocsin_registry";

/// First key of the two-key advisory lock space used for leadership ("TOCS"); the second is
/// derived from the role name. Kept apart from the one-key locks (chain, migrations).
const LEAD_CLASS: i32 = 0x544f_4353;

/// A role's dedicated session, and who leads through it.
struct Session {
    client: Client,
    leading: Option<String>,
}

#[derive(Default)]
pub(crate) struct CoordState {
    sessions: Mutex<HashMap<String, Session>>,
    listener: Mutex<Option<Client>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl CoordState {
    /// Drop every dedicated session (leadership ends with them).
    pub(crate) fn close(&self) {
        lock(&self.sessions).clear();
        lock(&self.listener).take();
    }
}

/// The role's second lock key: a stable 32-bit hash (FNV-1a) of its name.
fn role_key(role: &str) -> i32 {
    let mut h: u32 = 0x811c_9dc5;
    for b in role.bytes() {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    h as i32
}

/// The changes after a position, latest change of each entity last. The upper bound is a no-op
/// for the result, but it makes the condition a range: without it, a table never analysed
/// (autovacuum off, or just after a bulk load) is estimated at a third of its rows per `seq >`
/// and scanned whole on every sync — once per matched threat — instead of read from the key.
const REGISTRY_CHANGES_SINCE: &str = "SELECT entity_id, MAX(seq) AS last FROM registry_changes
     WHERE seq > $1 AND seq <= (SELECT MAX(seq) FROM registry_changes)
     GROUP BY entity_id ORDER BY last";

impl PgStore {
    fn write_leader_row(
        &self,
        role: &str,
        holder: &str,
        since: Option<Timestamp>,
        until: Timestamp,
    ) -> Result<()> {
        let since = since.as_ref().map(time_text);
        let until = time_text(&until);
        self.read(|c| {
            // Not audited (coordination, not case data) and so no chain lock.
            c.execute(
                "INSERT INTO leaders (role, holder, since, lease_until) VALUES ($1, $2, COALESCE($3, $4), $4)
                 ON CONFLICT (role) DO UPDATE SET
                     since = CASE WHEN leaders.holder = excluded.holder THEN leaders.since ELSE COALESCE($3, excluded.since) END,
                     holder = excluded.holder, lease_until = excluded.lease_until",
                &[&role, &holder, &since, &until],
            )
            .db()?;
            Ok(())
        })
    }
}

impl Coordination for PgStore {
    fn try_lead(
        &self,
        role: &str,
        holder: &str,
        lease: chrono::Duration,
        now: Timestamp,
    ) -> Result<bool> {
        let key = role_key(role);
        let won = crate::pool::blocking(|| -> Result<Option<bool>> {
            let mut sessions = lock(&self.coord.sessions);
            if let Some(s) = sessions.get_mut(role) {
                match &s.leading {
                    Some(h) if h != holder => return Ok(Some(false)),
                    Some(_) => {
                        // Still our session? A killed backend or a network cut ends leadership.
                        if s.client.is_closed() || s.client.simple_query("SELECT 1").is_err() {
                            sessions.remove(role);
                            return Ok(Some(false));
                        }
                        return Ok(None); // keeps leading: renew the row below
                    }
                    None => {}
                }
            }
            if !sessions.contains_key(role)
                || sessions.get(role).is_some_and(|s| s.client.is_closed())
            {
                let client = self.dedicated()?;
                sessions.insert(
                    role.to_owned(),
                    Session {
                        client,
                        leading: None,
                    },
                );
            }
            let s = sessions.get_mut(role).expect("inserted above");
            let got: bool = match s
                .client
                .query_one("SELECT pg_try_advisory_lock($1, $2)", &[&LEAD_CLASS, &key])
            {
                Ok(row) => row.try_get(0).db()?,
                Err(e) => {
                    sessions.remove(role);
                    return Err(tocsin_store::StoreError::Db(format!(
                        "leadership session for {role:?}: {}",
                        describe(&e)
                    )));
                }
            };
            if got {
                s.leading = Some(holder.to_owned());
                Ok(Some(true))
            } else {
                Ok(Some(false))
            }
        })?;
        match won {
            Some(false) => Ok(false),
            Some(true) => {
                self.write_leader_row(role, holder, Some(now), now + lease)?;
                Ok(true)
            }
            None => {
                self.write_leader_row(role, holder, None, now + lease)?;
                Ok(true)
            }
        }
    }

    fn resign(&self, role: &str, holder: &str) -> Result<()> {
        let key = role_key(role);
        let resigned = crate::pool::blocking(|| -> Result<bool> {
            let mut sessions = lock(&self.coord.sessions);
            let Some(s) = sessions.get_mut(role) else {
                return Ok(false);
            };
            if s.leading.as_deref() != Some(holder) {
                return Ok(false);
            }
            s.leading = None;
            if s.client
                .query_one("SELECT pg_advisory_unlock($1, $2)", &[&LEAD_CLASS, &key])
                .is_err()
            {
                sessions.remove(role); // the session is gone, and the lock with it
            }
            Ok(true)
        })?;
        if resigned {
            self.read(|c| {
                c.execute(
                    "DELETE FROM leaders WHERE role = $1 AND holder = $2",
                    &[&role, &holder],
                )
                .db()?;
                Ok(())
            })?;
        }
        Ok(())
    }

    fn leader(&self, role: &str, _now: Timestamp) -> Result<Option<String>> {
        let key = role_key(role);
        self.read(|c| {
            // The lock is the truth; the row names its holder. objid is the key as an oid.
            let held = c
                .query_opt(
                    "SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
                       AND classid = ($1::BIGINT & 4294967295)::OID AND objid = ($2::BIGINT & 4294967295)::OID AND objsubid = 2",
                    &[&i64::from(LEAD_CLASS), &i64::from(key)],
                )
                .db()?
                .is_some();
            if !held {
                return Ok(None);
            }
            c.query_opt("SELECT holder FROM leaders WHERE role = $1", &[&role]).db()?.map(|r| r.try_get(0)).transpose().db()
        })
    }

    fn registry_change_head(&self) -> Result<i64> {
        self.read(|c| {
            c.query_one("SELECT COALESCE(MAX(seq), 0) FROM registry_changes", &[])
                .db()?
                .try_get(0)
                .db()
        })
    }

    fn registry_changes_since(&self, seq: i64) -> Result<(i64, Vec<EntityId>)> {
        self.read(|c| {
            let rows = c.query(REGISTRY_CHANGES_SINCE, &[&seq]).db()?;
            let mut high = seq;
            let mut ids = Vec::with_capacity(rows.len());
            for r in &rows {
                ids.push(EntityId::new(r.try_get::<_, String>(0).db()?));
                high = high.max(r.try_get::<_, i64>(1).db()?);
            }
            Ok((high, ids))
        })
    }

    fn wait_registry_change(&self, timeout: Duration) -> Result<bool> {
        crate::pool::blocking(|| {
            // Its own session: waiting never holds a pooled connection.
            let mut listener = lock(&self.coord.listener);
            if listener.as_ref().is_none_or(Client::is_closed) {
                let mut c = self.dedicated()?;
                c.batch_execute(&format!("LISTEN {REGISTRY_CHANNEL}"))
                    .db()?;
                *listener = Some(c);
            }
            let c = listener.as_mut().expect("set above");
            let outcome = {
                let mut notes = c.notifications();
                let first = notes.timeout_iter(timeout).next();
                if let Ok(Some(_)) = first {
                    // Several commits may have piled up: one wake-up covers them all.
                    let mut pending = notes.iter();
                    while let Ok(Some(_)) = pending.next() {}
                }
                first.map(|n| n.is_some())
            };
            let got = match outcome {
                Ok(got) => got,
                Err(e) => {
                    *listener = None;
                    return Err(tocsin_store::StoreError::Db(format!(
                        "registry listener: {}",
                        describe(&e)
                    )));
                }
            };
            Ok(got)
        })
    }
}
