//! The SQLite backend: one embedded database file (WAL), one connection behind a mutex.
//!
//! Every write runs in one `BEGIN IMMEDIATE` transaction that also appends its audit event (read the
//! chain head, [`AuditEvent::next`], insert), so a write and its record commit or roll back together.
//! The SQL is kept portable (`ON CONFLICT … DO UPDATE`, `RETURNING`, `CAST`) so the PostgreSQL twin
//! can mirror it statement for statement.

mod accounts;
mod coordination;
mod dump;
mod exchange;
mod feeds;
mod followup;
mod migrate;
mod outbox;
mod review;
mod rows;
#[cfg(test)]
mod tests;

use rows::{
    audit_row, delivery_row, is_unique_violation, query_json, query_one_json, AUDIT_COLS,
    DELIVERY_COLS,
};
use rusqlite::{params, Connection, OptionalExtension, Transaction, TransactionBehavior};
use serde::Serialize;
use serde_json::json;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;
use tocsin_core::audit::{verify_chain, AuditEvent, ChainBreak};
use tocsin_core::duty::Determination;
use tocsin_core::lifecycle::WarningState;
use tocsin_core::posture::PostureTrack;
use tocsin_core::tracking::{
    Acknowledgement, Delivery, DeliveryStatus, Outcome, PostureReport, TimelineEntry, Warning,
};
use tocsin_core::{
    Audience, AudienceId, Entity, EntityId, Match, Threat, ThreatId, Timestamp, WarningId,
};
use tocsin_store::record::{actions, bulk_subject, canonical_json, insert_error, time_text};
use tocsin_store::{AuditCtx, NewDelivery, Result, Store, StoreError, TokenRecord};

/// How long a writer waits for another process's lock before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// `?` for driver results (`From` cannot be implemented here: both types are foreign).
pub(crate) trait Db<T> {
    fn db(self) -> Result<T>;
}

impl<T> Db<T> for rusqlite::Result<T> {
    fn db(self) -> Result<T> {
        self.map_err(|e| StoreError::Db(e.to_string()))
    }
}

/// The error of an insert that may collide with a stored `kind` named `id` (the mapping itself is
/// [`tocsin_store::record::insert_error`], shared by every backend).
pub(crate) fn conflict(
    kind: &'static str,
    id: impl Into<String>,
) -> impl FnOnce(rusqlite::Error) -> StoreError {
    let id = id.into();
    move |e| insert_error(kind, id, is_unique_violation(&e), e.to_string())
}

/// The default store: an embedded SQLite database.
pub struct SqliteStore {
    conn: Mutex<Connection>,
    path: Option<PathBuf>,
    /// The registry change head `wait_registry_change` last reported (-1: not waited yet).
    registry_seen: std::sync::atomic::AtomicI64,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl SqliteStore {
    /// Open (or create) the database file and bring its schema up to date.
    pub fn open(path: &Path) -> Result<Self> {
        let conn = Connection::open(path)
            .map_err(|e| StoreError::Db(format!("cannot open {}: {e}", path.display())))?;
        Self::init(conn, Some(path.to_owned()), migrate::MIGRATIONS)
    }

    /// A private, empty database that lives as long as the store (tests, `demo`).
    pub fn open_in_memory() -> Result<Self> {
        Self::init(
            Connection::open_in_memory().db()?,
            None,
            migrate::MIGRATIONS,
        )
    }

    fn init(
        mut conn: Connection,
        path: Option<PathBuf>,
        migrations: &[migrate::Migration],
    ) -> Result<Self> {
        conn.busy_timeout(BUSY_TIMEOUT).db()?;
        conn.pragma_update(None, "foreign_keys", "ON").db()?;
        // In-memory databases answer "memory"; files switch to WAL (readers never block the writer).
        let _mode: String = conn
            .pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))
            .db()?;
        conn.pragma_update(None, "synchronous", "NORMAL").db()?;
        migrate::apply(&mut conn, migrations)?;
        Ok(Self {
            conn: Mutex::new(conn),
            path,
            registry_seen: std::sync::atomic::AtomicI64::new(-1),
        })
    }

    /// The database file, or `None` in memory.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// The highest migration version applied.
    pub fn schema_version(&self) -> Result<u32> {
        let conn = self.lock();
        Ok(migrate::recorded(&conn)?
            .keys()
            .next_back()
            .copied()
            .unwrap_or(0))
    }

    fn lock(&self) -> MutexGuard<'_, Connection> {
        // A panic mid-call dropped its transaction, which rolled back: the connection is sound.
        self.conn
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Run `f` in one write transaction; commit on `Ok`, roll back on `Err`.
    fn write<T>(&self, f: impl FnOnce(&Transaction<'_>) -> Result<T>) -> Result<T> {
        let mut conn = self.lock();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .db()?;
        let out = f(&tx)?;
        tx.commit().db()?;
        Ok(out)
    }

    fn read<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        let conn = self.lock();
        f(&conn)
    }
}

/// Append the audit event of a write, inside the write's transaction.
fn audit<P: Serialize + ?Sized>(
    tx: &Connection,
    ctx: &AuditCtx,
    action: &str,
    subject: &str,
    payload: &P,
) -> Result<AuditEvent> {
    let payload = canonical_json(payload)?;
    let prev = tx
        .query_row(
            &format!("SELECT {AUDIT_COLS} FROM audit_events ORDER BY seq DESC LIMIT 1"),
            [],
            |r| Ok(audit_row(r)),
        )
        .optional()
        .db()?
        .transpose()?;
    let ev = AuditEvent::next(
        prev.as_ref(),
        ctx.at,
        &ctx.actor,
        action,
        subject,
        payload.as_bytes(),
    );
    let seq =
        i64::try_from(ev.seq).map_err(|_| StoreError::Db("audit sequence overflow".into()))?;
    tx.execute(
        "INSERT INTO audit_events (seq, at, actor, action, subject, payload_digest, prev_hash, hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![seq, time_text(&ev.at), ev.actor, ev.action, ev.subject, ev.payload_digest, ev.prev_hash, ev.hash],
    ).db()?;
    Ok(ev)
}

fn exists(tx: &Connection, sql: &str, id: &str) -> Result<bool> {
    Ok(tx
        .query_row(sql, [id], |_| Ok(()))
        .optional()
        .db()?
        .is_some())
}

fn require_threat(tx: &Connection, id: &ThreatId) -> Result<()> {
    if exists(tx, "SELECT 1 FROM threats WHERE id = ?1", id.as_str())? {
        Ok(())
    } else {
        Err(StoreError::NotFound {
            kind: "threat",
            id: id.to_string(),
        })
    }
}

fn require_warning(tx: &Connection, id: &WarningId) -> Result<()> {
    if exists(tx, "SELECT 1 FROM warnings WHERE id = ?1", id.as_str())? {
        Ok(())
    } else {
        Err(StoreError::NotFound {
            kind: "warning",
            id: id.to_string(),
        })
    }
}

fn load_warning(conn: &Connection, id: &WarningId) -> Result<Option<Warning>> {
    query_one_json(
        conn,
        "warning",
        "SELECT id, json FROM warnings WHERE id = ?1",
        [id.as_str()],
    )
}

/// Rewrite a warning's state (both the JSON record and its `state` key column).
fn write_warning_state(tx: &Connection, w: &Warning) -> Result<()> {
    tx.execute(
        "UPDATE warnings SET state = ?2, json = ?3 WHERE id = ?1",
        params![w.id.as_str(), w.state.as_str(), canonical_json(w)?],
    )
    .db()?;
    Ok(())
}

fn load_delivery(conn: &Connection, id: i64) -> Result<Option<Delivery>> {
    let mut stmt = conn
        .prepare_cached(&format!(
            "SELECT {DELIVERY_COLS} FROM deliveries WHERE id = ?1"
        ))
        .db()?;
    let mut rows = stmt.query([id]).db()?;
    match rows.next().db()? {
        Some(row) => Ok(Some(delivery_row(row)?)),
        None => Ok(None),
    }
}

fn query_deliveries(
    conn: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
) -> Result<Vec<Delivery>> {
    let mut stmt = conn.prepare_cached(sql).db()?;
    let mut rows = stmt.query(params).db()?;
    let mut out = Vec::new();
    while let Some(row) = rows.next().db()? {
        out.push(delivery_row(row)?);
    }
    Ok(out)
}

/// A delivery that may still take an attempt (pending or retrying), or why not.
fn open_delivery(tx: &Connection, id: i64) -> Result<Delivery> {
    let d = load_delivery(tx, id)?.ok_or_else(|| StoreError::NotFound {
        kind: "delivery",
        id: id.to_string(),
    })?;
    match d.status {
        DeliveryStatus::Pending | DeliveryStatus::Retrying => Ok(d),
        other => Err(StoreError::InvalidState {
            kind: "delivery",
            id: id.to_string(),
            state: other.as_str().to_owned(),
            expected: "pending or retrying".into(),
        }),
    }
}

fn opt_filter(id: Option<&str>) -> Option<String> {
    id.map(str::to_owned)
}

impl Store for SqliteStore {
    // ---- Registry -----------------------------------------------------------------------------

    fn upsert_entities(&self, entities: &[Entity], ctx: &AuditCtx) -> Result<()> {
        self.write(|tx| {
            let mut stmt = tx.prepare_cached(
                "INSERT INTO entities (id, kind, name, json) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (id) DO UPDATE SET kind = excluded.kind, name = excluded.name, json = excluded.json",
            ).db()?;
            for e in entities {
                stmt.execute(params![e.id.as_str(), e.kind.as_str(), e.name, canonical_json(e)?]).db()?;
            }
            let ids: Vec<&str> = entities.iter().map(|e| e.id.as_str()).collect();
            coordination::record_changes(tx, &ids, tocsin_store::coordination::change::UPSERT, ctx.at)?;
            audit(tx, ctx, actions::ENTITY_UPSERT, &bulk_subject("entity", "entities", &ids), entities)?;
            Ok(())
        })
    }

    fn entities(&self) -> Result<Vec<Entity>> {
        self.read(|c| query_json(c, "entity", "SELECT id, json FROM entities ORDER BY id", []))
    }

    fn entity(&self, id: &EntityId) -> Result<Option<Entity>> {
        self.read(|c| {
            query_one_json(
                c,
                "entity",
                "SELECT id, json FROM entities WHERE id = ?1",
                [id.as_str()],
            )
        })
    }

    fn upsert_audiences(&self, audiences: &[Audience], ctx: &AuditCtx) -> Result<()> {
        self.write(|tx| {
            let mut stmt = tx.prepare_cached(
                "INSERT INTO audiences (id, kind, name, json) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (id) DO UPDATE SET kind = excluded.kind, name = excluded.name, json = excluded.json",
            ).db()?;
            for a in audiences {
                stmt.execute(params![a.id.as_str(), a.kind.as_str(), a.name, canonical_json(a)?]).db()?;
            }
            let ids: Vec<&str> = audiences.iter().map(|a| a.id.as_str()).collect();
            audit(tx, ctx, actions::AUDIENCE_UPSERT, &bulk_subject("audience", "audiences", &ids), audiences)?;
            Ok(())
        })
    }

    fn audiences(&self) -> Result<Vec<Audience>> {
        self.read(|c| {
            query_json(
                c,
                "audience",
                "SELECT id, json FROM audiences ORDER BY id",
                [],
            )
        })
    }

    fn audience(&self, id: &AudienceId) -> Result<Option<Audience>> {
        self.read(|c| {
            query_one_json(
                c,
                "audience",
                "SELECT id, json FROM audiences WHERE id = ?1",
                [id.as_str()],
            )
        })
    }

    // ---- Threats and matches ------------------------------------------------------------------

    fn insert_threat(&self, threat: &Threat, ctx: &AuditCtx) -> Result<()> {
        self.write(|tx| {
            let json = canonical_json(threat)?;
            tx.execute(
                "INSERT INTO threats (id, received_at, json) VALUES (?1, ?2, ?3)",
                params![threat.id.as_str(), time_text(&threat.received), json],
            )
            .map_err(crate::conflict("threat", threat.id.to_string()))?;
            audit(
                tx,
                ctx,
                actions::THREAT_CREATE,
                &format!("threat:{}", threat.id),
                threat,
            )?;
            Ok(())
        })
    }

    fn threats(&self) -> Result<Vec<Threat>> {
        self.read(|c| query_json(c, "threat", "SELECT id, json FROM threats ORDER BY seq", []))
    }

    fn threat(&self, id: &ThreatId) -> Result<Option<Threat>> {
        self.read(|c| {
            query_one_json(
                c,
                "threat",
                "SELECT id, json FROM threats WHERE id = ?1",
                [id.as_str()],
            )
        })
    }

    fn replace_matches(
        &self,
        threat_id: &ThreatId,
        matches: &[Match],
        ctx: &AuditCtx,
    ) -> Result<()> {
        if let Some(m) = matches.iter().find(|m| &m.threat_id != threat_id) {
            return Err(StoreError::Invalid {
                kind: "match",
                id: format!("{}/{}", m.threat_id, m.entity_id),
                reason: format!(
                    "belongs to threat {:?}, not {:?}",
                    m.threat_id.as_str(),
                    threat_id.as_str()
                ),
            });
        }
        self.write(|tx| {
            require_threat(tx, threat_id)?;
            tx.execute("DELETE FROM matches WHERE threat_id = ?1", [threat_id.as_str()]).db()?;
            let mut stmt = tx.prepare_cached(
                "INSERT INTO matches (threat_id, ord, entity_id, target, score, json) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            ).db()?;
            for (ord, m) in matches.iter().enumerate() {
                let target = i64::try_from(m.target).map_err(|_| StoreError::Db(format!("match target index {} too large", m.target)))?;
                stmt.execute(params![threat_id.as_str(), ord as i64, m.entity_id.as_str(), target, m.score, canonical_json(m)?]).db()?;
            }
            audit(tx, ctx, actions::MATCHES_REPLACE, &format!("threat:{threat_id}"), matches)?;
            Ok(())
        })
    }

    fn matches(&self, threat_id: &ThreatId) -> Result<Vec<Match>> {
        self.read(|c| {
            query_json(
                c,
                "match",
                "SELECT threat_id || '/' || CAST(ord AS TEXT), json FROM matches WHERE threat_id = ?1 ORDER BY ord",
                [threat_id.as_str()],
            )
        })
    }

    // ---- Duty ---------------------------------------------------------------------------------

    fn insert_determination(&self, d: &Determination, ctx: &AuditCtx) -> Result<i64> {
        self.write(|tx| {
            require_threat(tx, &d.threat_id)?;
            let id: i64 = tx.query_row(
                "INSERT INTO determinations (threat_id, decision, proposed_at, json) VALUES (?1, ?2, ?3, ?4) RETURNING id",
                params![d.threat_id.as_str(), d.decision.label(), time_text(&d.proposed_at), canonical_json(d)?],
                |r| r.get(0),
            ).db()?;
            audit(tx, ctx, actions::DETERMINATION_RECORD, &format!("determination:{id}"), d)?;
            Ok(id)
        })
    }

    fn determinations(&self, threat_id: &ThreatId) -> Result<Vec<Determination>> {
        self.read(|c| {
            query_json(
                c,
                "determination",
                "SELECT id, json FROM determinations WHERE threat_id = ?1 ORDER BY id",
                [threat_id.as_str()],
            )
        })
    }

    // ---- Warnings and the outbox --------------------------------------------------------------

    fn insert_warning(&self, w: &Warning, ctx: &AuditCtx) -> Result<()> {
        self.write(|tx| {
            require_threat(tx, &w.threat_id)?;
            tx.execute(
                "INSERT INTO warnings (id, threat_id, audience_id, version, state, created_at, json) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![w.id.as_str(), w.threat_id.as_str(), w.audience_id.as_str(), w.version, w.state.as_str(), time_text(&w.created_at), canonical_json(w)?],
            )
            .map_err(crate::conflict("warning", w.id.to_string()))?;
            audit(tx, ctx, actions::WARNING_CREATE, &format!("warning:{}", w.id), w)?;
            Ok(())
        })
    }

    fn warning(&self, id: &WarningId) -> Result<Option<Warning>> {
        self.read(|c| load_warning(c, id))
    }

    fn warnings(&self, threat_id: Option<&ThreatId>) -> Result<Vec<Warning>> {
        self.read(|c| {
            query_json(
                c,
                "warning",
                "SELECT id, json FROM warnings WHERE (?1 IS NULL OR threat_id = ?1) ORDER BY seq",
                [opt_filter(threat_id.map(ThreatId::as_str))],
            )
        })
    }

    fn set_warning_state(&self, id: &WarningId, state: WarningState, ctx: &AuditCtx) -> Result<()> {
        self.write(|tx| {
            let mut w = load_warning(tx, id)?.ok_or_else(|| StoreError::NotFound {
                kind: "warning",
                id: id.to_string(),
            })?;
            let from = w.state;
            w.state = state;
            write_warning_state(tx, &w)?;
            audit(
                tx,
                ctx,
                actions::WARNING_STATE,
                &format!("warning:{id}"),
                &json!({"warning_id": id, "from": from, "to": state}),
            )?;
            Ok(())
        })
    }

    fn set_warning_validity(
        &self,
        id: &WarningId,
        valid: tocsin_core::ThreatWindow,
        ctx: &AuditCtx,
    ) -> Result<()> {
        self.write(|tx| {
            let mut w = load_warning(tx, id)?.ok_or_else(|| StoreError::NotFound {
                kind: "warning",
                id: id.to_string(),
            })?;
            w.valid = valid;
            write_warning_state(tx, &w)?;
            audit(
                tx,
                ctx,
                actions::WARNING_VALIDITY,
                &format!("warning:{id}"),
                &json!({"warning_id": id, "valid": valid}),
            )?;
            Ok(())
        })
    }

    fn queue_warning(
        &self,
        id: &WarningId,
        deliveries: &[NewDelivery],
        ctx: &AuditCtx,
    ) -> Result<Vec<Delivery>> {
        self.write(|tx| {
            let mut w = load_warning(tx, id)?.ok_or_else(|| StoreError::NotFound { kind: "warning", id: id.to_string() })?;
            if w.state != WarningState::Approved {
                return Err(StoreError::InvalidState {
                    kind: "warning",
                    id: id.to_string(),
                    state: w.state.as_str().to_owned(),
                    expected: WarningState::Approved.as_str().to_owned(),
                });
            }
            w.state = WarningState::Queued;
            write_warning_state(tx, &w)?;

            let due = time_text(&ctx.at);
            let mut created = Vec::with_capacity(deliveries.len());
            {
                let mut stmt = tx.prepare_cached(
                    // A delivery to an unsubscribed channel is written dead at once, with the
                    // reason, so the analyst sees it among the dead letters (migration 2).
                    "INSERT INTO deliveries (warning_id, audience_id, channel_kind, channel_address, idempotency_key, status, attempts, next_attempt_at, last_error)
                     SELECT ?1, ?2, ?3, ?4, ?5, CASE WHEN dc.reason IS NULL THEN 'pending' ELSE 'dead' END, 0, ?6,
                            CASE WHEN dc.reason IS NULL THEN NULL ELSE 'channel unsubscribed: ' || dc.reason END
                     FROM (SELECT 1) LEFT JOIN disabled_channels dc ON dc.channel_kind = ?3 AND dc.channel_address = ?4
                     RETURNING id",
                ).db()?;
                for d in deliveries {
                    let did: i64 = stmt
                        .query_row(
                            params![id.as_str(), d.audience_id.as_str(), d.channel.kind.as_str(), d.channel.address, d.idempotency_key, due],
                            |r| r.get(0),
                        )
                        .map_err(crate::conflict("delivery", d.idempotency_key.clone()))?;
                    created.push(did);
                }
            }
            let created: Vec<Delivery> = created
                .into_iter()
                .map(|did| load_delivery(tx, did)?.ok_or_else(|| StoreError::Db(format!("delivery {did} vanished inside its transaction"))))
                .collect::<Result<_>>()?;
            audit(
                tx,
                ctx,
                actions::WARNING_QUEUE,
                &format!("warning:{id}"),
                &json!({"warning_id": id, "state": WarningState::Queued, "deliveries": created}),
            )?;
            Ok(created)
        })
    }

    fn due_deliveries(&self, now: Timestamp, limit: usize) -> Result<Vec<Delivery>> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.read(|c| {
            query_deliveries(
                c,
                &format!(
                    "SELECT {DELIVERY_COLS} FROM deliveries
                     WHERE status IN ('pending', 'retrying') AND next_attempt_at <= ?1
                     ORDER BY next_attempt_at, id LIMIT ?2"
                ),
                params![time_text(&now), limit],
            )
        })
    }

    fn mark_delivered(&self, delivery_id: i64, ctx: &AuditCtx) -> Result<()> {
        self.write(|tx| {
            open_delivery(tx, delivery_id)?;
            tx.execute(
                "UPDATE deliveries SET status = 'delivered', attempts = attempts + 1, delivered_at = ?2, lease_owner = NULL, lease_until = NULL WHERE id = ?1",
                params![delivery_id, time_text(&ctx.at)],
            ).db()?;
            let d = load_delivery(tx, delivery_id)?.ok_or_else(|| StoreError::NotFound { kind: "delivery", id: delivery_id.to_string() })?;
            audit(tx, ctx, actions::DELIVERY_DELIVERED, &format!("delivery:{delivery_id}"), &d)?;
            Ok(())
        })
    }

    fn mark_failed(
        &self,
        delivery_id: i64,
        error: &str,
        retry_at: Option<Timestamp>,
        ctx: &AuditCtx,
    ) -> Result<()> {
        self.write(|tx| {
            let before = open_delivery(tx, delivery_id)?;
            let (status, next, action) = match retry_at {
                Some(t) => (DeliveryStatus::Retrying, t, actions::DELIVERY_FAILED),
                None => (DeliveryStatus::Dead, before.next_attempt_at, actions::DELIVERY_DEAD),
            };
            tx.execute(
                "UPDATE deliveries SET status = ?2, attempts = attempts + 1, last_error = ?3, next_attempt_at = ?4, lease_owner = NULL, lease_until = NULL WHERE id = ?1",
                params![delivery_id, status.as_str(), error, time_text(&next)],
            ).db()?;
            let d = load_delivery(tx, delivery_id)?.ok_or_else(|| StoreError::NotFound { kind: "delivery", id: delivery_id.to_string() })?;
            audit(tx, ctx, action, &format!("delivery:{delivery_id}"), &d)?;
            Ok(())
        })
    }

    // The leased outbox lives in `sqlite/outbox.rs`.
    fn claim_deliveries(
        &self,
        now: Timestamp,
        worker_id: &str,
        lease: chrono::Duration,
        limit: usize,
        ctx: &AuditCtx,
    ) -> Result<Vec<Delivery>> {
        outbox::claim(self, now, worker_id, lease, limit, ctx)
    }
    fn renew_leases(
        &self,
        ids: &[i64],
        worker_id: &str,
        until: Timestamp,
        ctx: &AuditCtx,
    ) -> Result<Vec<i64>> {
        outbox::renew(self, ids, worker_id, until, ctx)
    }
    fn mark_delivered_batch(&self, ids: &[i64], ctx: &AuditCtx) -> Result<Vec<i64>> {
        outbox::delivered_batch(self, ids, ctx)
    }
    fn fail_claimed(
        &self,
        delivery_id: i64,
        worker_id: &str,
        error: &str,
        retry_at: Option<Timestamp>,
        ctx: &AuditCtx,
    ) -> Result<bool> {
        outbox::fail_claimed(self, delivery_id, worker_id, error, retry_at, ctx)
    }
    fn unsubscribe_channel(
        &self,
        delivery_id: i64,
        reason: &str,
        ctx: &AuditCtx,
    ) -> Result<Vec<i64>> {
        outbox::unsubscribe(self, delivery_id, reason, ctx)
    }
    fn disabled_channels(&self) -> Result<Vec<tocsin_store::DisabledChannel>> {
        outbox::disabled_channels(self)
    }
    fn dead_letters(&self) -> Result<Vec<Delivery>> {
        self.read(|c| {
            query_deliveries(c, &format!("SELECT {DELIVERY_COLS} FROM deliveries WHERE status = 'dead' ORDER BY next_attempt_at, id"), [])
        })
    }
    fn retry_delivery(&self, delivery_id: i64, ctx: &AuditCtx) -> Result<Delivery> {
        outbox::retry(self, delivery_id, ctx)
    }

    fn deliveries(&self, warning_id: Option<&WarningId>) -> Result<Vec<Delivery>> {
        self.read(|c| {
            query_deliveries(
                c,
                &format!("SELECT {DELIVERY_COLS} FROM deliveries WHERE (?1 IS NULL OR warning_id = ?1) ORDER BY id"),
                [opt_filter(warning_id.map(WarningId::as_str))],
            )
        })
    }

    // ---- Follow-through -----------------------------------------------------------------------

    fn insert_acknowledgement(&self, a: &Acknowledgement, ctx: &AuditCtx) -> Result<()> {
        self.write(|tx| {
            require_warning(tx, &a.warning_id)?;
            tx.execute(
                "INSERT INTO acknowledgements (warning_id, at, json) VALUES (?1, ?2, ?3)",
                params![a.warning_id.as_str(), time_text(&a.at), canonical_json(a)?],
            )
            .db()?;
            audit(
                tx,
                ctx,
                actions::ACK_RECORD,
                &format!("warning:{}", a.warning_id),
                a,
            )?;
            Ok(())
        })
    }

    fn acknowledgements(&self, warning_id: Option<&WarningId>) -> Result<Vec<Acknowledgement>> {
        self.read(|c| {
            query_json(
                c,
                "acknowledgement",
                "SELECT id, json FROM acknowledgements WHERE (?1 IS NULL OR warning_id = ?1) ORDER BY at, id",
                [opt_filter(warning_id.map(WarningId::as_str))],
            )
        })
    }

    fn insert_posture_report(&self, r: &PostureReport, ctx: &AuditCtx) -> Result<()> {
        self.write(|tx| {
            require_warning(tx, &r.warning_id)?;
            tx.execute(
                "INSERT INTO posture_reports (warning_id, at, json) VALUES (?1, ?2, ?3)",
                params![r.warning_id.as_str(), time_text(&r.at), canonical_json(r)?],
            )
            .db()?;
            audit(
                tx,
                ctx,
                actions::POSTURE_REPORT,
                &format!("warning:{}", r.warning_id),
                r,
            )?;
            Ok(())
        })
    }

    fn posture_reports(&self, warning_id: Option<&WarningId>) -> Result<Vec<PostureReport>> {
        self.read(|c| {
            query_json(
                c,
                "posture_report",
                "SELECT id, json FROM posture_reports WHERE (?1 IS NULL OR warning_id = ?1) ORDER BY at, id",
                [opt_filter(warning_id.map(WarningId::as_str))],
            )
        })
    }

    fn upsert_posture_track(
        &self,
        warning_id: &WarningId,
        track: &PostureTrack,
        ctx: &AuditCtx,
    ) -> Result<()> {
        self.write(|tx| {
            require_warning(tx, warning_id)?;
            tx.execute(
                "INSERT INTO posture_tracks (warning_id, json) VALUES (?1, ?2)
                 ON CONFLICT (warning_id) DO UPDATE SET json = excluded.json",
                params![warning_id.as_str(), canonical_json(track)?],
            )
            .db()?;
            audit(
                tx,
                ctx,
                actions::POSTURE_TRACK,
                &format!("warning:{warning_id}"),
                &json!({"warning_id": warning_id, "track": track}),
            )?;
            Ok(())
        })
    }

    fn posture_tracks(&self) -> Result<Vec<(WarningId, PostureTrack)>> {
        self.read(|c| {
            let mut stmt = c
                .prepare_cached("SELECT warning_id, json FROM posture_tracks ORDER BY warning_id")
                .db()?;
            let mut rows = stmt.query([]).db()?;
            let mut out = Vec::new();
            while let Some(row) = rows.next().db()? {
                let id: String = row.get(0).db()?;
                let track = rows::json_cell(row, 1, "posture_track", &id)?;
                out.push((WarningId::new(id), track));
            }
            Ok(out)
        })
    }

    fn insert_outcome(&self, o: &Outcome, ctx: &AuditCtx) -> Result<()> {
        self.write(|tx| {
            require_threat(tx, &o.threat_id)?;
            let kind = serde_json::to_value(o.kind)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default();
            tx.execute(
                "INSERT INTO outcomes (threat_id, kind, at, json) VALUES (?1, ?2, ?3, ?4)",
                params![
                    o.threat_id.as_str(),
                    kind,
                    time_text(&o.at),
                    canonical_json(o)?
                ],
            )
            .db()?;
            audit(
                tx,
                ctx,
                actions::OUTCOME_RECORD,
                &format!("threat:{}", o.threat_id),
                o,
            )?;
            Ok(())
        })
    }

    fn outcomes(&self, threat_id: Option<&ThreatId>) -> Result<Vec<Outcome>> {
        self.read(|c| {
            query_json(
                c,
                "outcome",
                "SELECT id, json FROM outcomes WHERE (?1 IS NULL OR threat_id = ?1) ORDER BY at, id",
                [opt_filter(threat_id.map(ThreatId::as_str))],
            )
        })
    }

    fn append_timeline(&self, entry: &TimelineEntry) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                "INSERT INTO timeline (threat_id, at, event, json) VALUES (?1, ?2, ?3, ?4)",
                params![
                    entry.threat_id.as_str(),
                    time_text(&entry.at),
                    entry.event,
                    canonical_json(entry)?
                ],
            )
            .db()?;
            Ok(())
        })
    }

    fn timeline(&self, threat_id: Option<&ThreatId>) -> Result<Vec<TimelineEntry>> {
        self.read(|c| {
            query_json(
                c,
                "timeline_entry",
                "SELECT id, json FROM timeline WHERE (?1 IS NULL OR threat_id = ?1) ORDER BY at, id",
                [opt_filter(threat_id.map(ThreatId::as_str))],
            )
        })
    }

    // ---- Audit chain --------------------------------------------------------------------------

    fn audit_events(&self) -> Result<Vec<AuditEvent>> {
        self.read(|c| {
            let mut stmt = c
                .prepare_cached(&format!(
                    "SELECT {AUDIT_COLS} FROM audit_events ORDER BY seq"
                ))
                .db()?;
            let mut rows = stmt.query([]).db()?;
            let mut out = Vec::new();
            while let Some(row) = rows.next().db()? {
                out.push(audit_row(row)?);
            }
            Ok(out)
        })
    }

    fn verify_audit(&self) -> Result<std::result::Result<String, ChainBreak>> {
        self.read(|c| {
            let mut stmt = c
                .prepare_cached(&format!(
                    "SELECT {AUDIT_COLS} FROM audit_events ORDER BY seq"
                ))
                .db()?;
            let mut rows = stmt.query([]).db()?;
            let mut events = Vec::new();
            while let Some(row) = rows.next().db()? {
                match audit_row(row) {
                    Ok(e) => events.push(e),
                    // An unreadable row is a break in the chain, not a failure to verify: report
                    // the earliest break (a readable prefix may already be broken).
                    Err(StoreError::Corrupt { id, reason, .. }) => {
                        if let Err(earlier) = verify_chain(&events) {
                            return Ok(Err(earlier));
                        }
                        return Ok(Err(ChainBreak {
                            seq: id.parse().unwrap_or(0),
                            reason: format!("unreadable row: {reason}"),
                        }));
                    }
                    Err(e) => return Err(e),
                }
            }
            Ok(verify_chain(&events))
        })
    }

    // ---- API tokens ---------------------------------------------------------------------------

    fn insert_token(
        &self,
        token_hash: &str,
        role: &str,
        label: &str,
        expires_at: Option<Timestamp>,
        ctx: &AuditCtx,
    ) -> Result<i64> {
        self.write(|tx| {
            let id: i64 = tx
                .query_row(
                    "INSERT INTO api_tokens (token_hash, role, label, created_at, expires_at, revoked) VALUES (?1, ?2, ?3, ?4, ?5, FALSE) RETURNING id",
                    params![token_hash, role, label, time_text(&ctx.at), expires_at.as_ref().map(time_text)],
                    |r| r.get(0),
                )
                .map_err(crate::conflict("token", label.to_owned()))?;
            // The hash is not a secret (the store never sees secrets); recording it binds the event to the row.
            let payload = json!({
                "id": id,
                "token_hash": token_hash,
                "role": role,
                "label": label,
                "created_at": time_text(&ctx.at),
                "expires_at": expires_at.as_ref().map(time_text),
                "revoked": false,
            });
            audit(tx, ctx, actions::TOKEN_CREATE, &format!("token:{id}"), &payload)?;
            Ok(id)
        })
    }

    fn token_by_hash(&self, token_hash: &str) -> Result<Option<TokenRecord>> {
        self.read(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT id, token_hash, role, label, created_at, expires_at, revoked FROM api_tokens WHERE token_hash = ?1",
            ).db()?;
            let mut rows = stmt.query([token_hash]).db()?;
            let Some(row) = rows.next().db()? else { return Ok(None) };
            let id: i64 = row.get(0).db()?;
            let sid = id.to_string();
            let created: String = row.get(4).db()?;
            let expires: Option<String> = row.get(5).db()?;
            Ok(Some(TokenRecord {
                id,
                token_hash: row.get(1).db()?,
                role: row.get(2).db()?,
                label: row.get(3).db()?,
                created_at: tocsin_store::record::parse_time("token", &sid, &created)?,
                expires_at: expires.map(|s| tocsin_store::record::parse_time("token", &sid, &s)).transpose()?,
                revoked: row.get(6).db()?,
            }))
        })
    }

    fn token_count(&self) -> Result<usize> {
        self.read(|c| {
            let n: i64 = c
                .query_row("SELECT COUNT(*) FROM api_tokens", [], |r| r.get(0))
                .db()?;
            Ok(usize::try_from(n).unwrap_or(0))
        })
    }
}
