//! The PostgreSQL backend of Tocsin's store: the same [`Store`] contract as SQLite, statement for
//! statement, for several Tocsin processes sharing one database (docs/storage.md).
//!
//! * **One schema source.** Migrations are `tocsin_store::migrations::MIGRATIONS` in their
//!   PostgreSQL spelling ([`tocsin_store::migrations::postgres_sql`]), recorded in
//!   `schema_migrations`; a session advisory lock lets one of several starting processes migrate.
//! * **One audit chain.** Every write transaction first takes a transaction-level advisory lock on
//!   the chain (`pg_advisory_xact_lock`), then reads the head, appends its event and commits. Writers
//!   in any number of processes are therefore serialised exactly as SQLite's `BEGIN IMMEDIATE`
//!   serialises them: the chain never forks and `seq` order is commit order.
//! * **A shared outbox.** Claims pick due rows with `FOR UPDATE SKIP LOCKED`, so workers never wait
//!   on each other's rows and never receive the same delivery while its lease holds.
//! * **Same bytes.** Times are RFC 3339 text, records canonical JSON, booleans real booleans but
//!   dumped as 0/1 ([`tocsin_store::Dump`]): a dump reads the same from either backend.
//! * **Sync from async.** The trait is sync and is called from axum handlers; every call goes
//!   through a bridge that keeps the sync driver off tokio's worker threads (`pool::blocking`).

mod accounts;
mod coordination;
mod dump;
mod exchange;
mod feeds;
mod followup;
mod migrate;
mod outbox;
mod pool;
mod review;
mod rows;
mod sql;
pub mod testing;
mod url;

pub use url::{redact, DEFAULT_POOL_SIZE};

use pool::{blocking, Pool};
use postgres::error::SqlState;
use postgres::Client;
use rows::{
    audit_row, deliveries, delivery_row, query_json, query_one_json, Params, AUDIT_COLS,
    DELIVERY_COLS,
};
use serde::Serialize;
use serde_json::json;
use sql::{Cx, Sql, Tx};
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
use tocsin_store::record::{
    actions, bulk_subject, canonical_json, insert_error, parse_time, time_text,
};
use tocsin_store::{AuditCtx, NewDelivery, Result, Store, StoreError, TokenRecord};

/// Advisory lock key of the audit chain: every write transaction holds it until commit (shown in
/// `pg_locks` as `objid`/`classid` halves of this number while a write is in progress).
pub const CHAIN_LOCK: i64 = 0x746f_6373_696e_6368;
/// Taking it, as simple-protocol text (one round trip, nothing to prepare).
const CHAIN_LOCK_SQL: &str = "SELECT pg_advisory_xact_lock(8390033978155754344)";

/// A driver error as text, with the server's message and SQLSTATE when there is one (the driver's
/// own `Display` says only "db error").
pub(crate) fn describe(e: &postgres::Error) -> String {
    match e.as_db_error() {
        Some(d) => {
            let mut s = format!("{} (SQLSTATE {})", d.message(), d.code().code());
            if let Some(detail) = d.detail() {
                s.push_str(": ");
                s.push_str(detail);
            }
            s
        }
        None => {
            let mut s = e.to_string();
            let mut src = std::error::Error::source(e);
            while let Some(inner) = src {
                s.push_str(": ");
                s.push_str(&inner.to_string());
                src = inner.source();
            }
            s
        }
    }
}

/// `?` for driver results (`From` cannot be implemented here: both types are foreign).
pub(crate) trait Db<T> {
    fn db(self) -> Result<T>;
}

impl<T> Db<T> for std::result::Result<T, postgres::Error> {
    fn db(self) -> Result<T> {
        self.map_err(|e| StoreError::Db(describe(&e)))
    }
}

/// A UNIQUE or PRIMARY KEY constraint failed.
pub(crate) fn is_unique_violation(e: &postgres::Error) -> bool {
    e.code() == Some(&SqlState::UNIQUE_VIOLATION)
}

/// Map a unique violation to [`StoreError::Conflict`], anything else to [`StoreError::Db`].
pub(crate) fn conflict(
    kind: &'static str,
    id: impl Into<String>,
) -> impl FnOnce(postgres::Error) -> StoreError {
    let id = id.into();
    move |e| insert_error(kind, id, is_unique_violation(&e), describe(&e))
}

/// The PostgreSQL store: a pool of connections to one database.
pub struct PgStore {
    pool: Pool,
    url: String,
    /// Connection and registry state of `Coordination` (leadership sessions, LISTEN).
    coord: coordination::CoordState,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore")
            .field("url", &self.url)
            .field("pool_size", &self.pool.size())
            .finish_non_exhaustive()
    }
}

impl PgStore {
    /// Connect to `url` (`postgres://user[:password]@host[:port]/db[?pool_size=N&…]`) and bring the
    /// schema up to date. The database must exist; connections open lazily up to `pool_size`
    /// (default [`DEFAULT_POOL_SIZE`]).
    pub fn connect(url: &str) -> Result<Self> {
        let parsed = url::parse(url)?;
        let shown = redact(url);
        let config: postgres::Config =
            parsed
                .driver
                .parse()
                .map_err(|e: postgres::Error| StoreError::Invalid {
                    kind: "PostgreSQL URL",
                    id: shown.clone(),
                    reason: describe(&e),
                })?;
        let pool = Pool::new(config, shown.clone(), parsed.pool_size);
        blocking(|| -> Result<()> {
            let mut c = pool.connect()?;
            migrate::apply(&mut c, tocsin_store::migrations::MIGRATIONS)?;
            Ok(())
        })?;
        Ok(Self {
            pool,
            url: shown,
            coord: coordination::CoordState::default(),
        })
    }

    /// The URL connected to, without its password.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Connections this store may open at once.
    pub fn pool_size(&self) -> usize {
        self.pool.size()
    }

    /// The highest migration version applied.
    pub fn schema_version(&self) -> Result<u32> {
        self.read(|c| {
            Ok(migrate::recorded(c.client)?
                .keys()
                .next_back()
                .copied()
                .unwrap_or(0))
        })
    }

    /// Run `f` in one write transaction holding the chain lock; commit on `Ok`, roll back on `Err`.
    /// A pooled connection whose session died meanwhile (server restart, terminated backend)
    /// fails at `BEGIN`, before anything was written: it is discarded and the next one tried.
    pub(crate) fn write<T: Send>(
        &self,
        f: impl FnOnce(&mut Tx<'_>) -> Result<T> + Send,
    ) -> Result<T> {
        blocking(|| {
            let mut dead = 0;
            loop {
                let mut conn = self.pool.get()?;
                let (client, cache) = conn.parts();
                // The chain lock is taken first, before any row lock: writers queue there, so they
                // cannot deadlock on rows, and the chain head read later is the head at commit.
                let begun = match Tx::begin(client, cache, CHAIN_LOCK_SQL) {
                    Ok(mut tx) => {
                        let out = f(&mut tx)?;
                        tx.commit().db()?;
                        return Ok(out);
                    }
                    Err(e) => e,
                };
                if !(conn.parts().0.is_closed() && dead < self.pool.size()) {
                    return Err(StoreError::Db(describe(&begun)));
                }
                dead += 1;
            }
        })
    }

    /// Run `f` on a pooled connection. A read that failed because its connection had died is run
    /// again on another one (reads are safe to repeat), so a server restart costs no errors.
    pub(crate) fn read<T: Send>(
        &self,
        f: impl Fn(&mut Cx<'_>) -> Result<T> + Send + Sync,
    ) -> Result<T> {
        blocking(|| {
            let mut dead = 0;
            loop {
                let mut conn = self.pool.get()?;
                let (client, cache) = conn.parts();
                match f(&mut Cx { client, cache }) {
                    Err(_) if conn.parts().0.is_closed() && dead < self.pool.size() => dead += 1,
                    other => return other,
                }
            }
        })
    }

    /// A dedicated connection outside the pool (leadership sessions, LISTEN).
    pub(crate) fn dedicated(&self) -> Result<Client> {
        self.pool.connect()
    }
}

impl Drop for PgStore {
    fn drop(&mut self) {
        // Clients own a small runtime each; dropping one on a tokio worker would panic.
        let pool = &self.pool;
        let coord = &self.coord;
        blocking(|| {
            coord.close();
            pool.close_idle();
        });
    }
}

/// The head of the chain (inside a write transaction, which holds the chain lock).
pub(crate) fn chain_head(tx: &mut Tx<'_>) -> Result<Option<AuditEvent>> {
    tx.query_opt(
        &format!("SELECT {AUDIT_COLS} FROM audit_events ORDER BY seq DESC LIMIT 1"),
        &[],
    )
    .db()?
    .as_ref()
    .map(audit_row)
    .transpose()
}

pub(crate) fn insert_event(tx: &mut Tx<'_>, ev: &AuditEvent) -> Result<()> {
    let seq =
        i64::try_from(ev.seq).map_err(|_| StoreError::Db("audit sequence overflow".into()))?;
    tx.execute(
        "INSERT INTO audit_events (seq, at, actor, action, subject, payload_digest, prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        &[&seq, &time_text(&ev.at), &ev.actor, &ev.action, &ev.subject, &ev.payload_digest, &ev.prev_hash, &ev.hash],
    )
    .db()?;
    Ok(())
}

/// Append the audit event of a write, inside the write's transaction.
pub(crate) fn audit<P: Serialize + ?Sized>(
    tx: &mut Tx<'_>,
    ctx: &AuditCtx,
    action: &str,
    subject: &str,
    payload: &P,
) -> Result<AuditEvent> {
    let payload = canonical_json(payload)?;
    let prev = chain_head(tx)?;
    let ev = AuditEvent::next(
        prev.as_ref(),
        ctx.at,
        &ctx.actor,
        action,
        subject,
        payload.as_bytes(),
    );
    insert_event(tx, &ev)?;
    Ok(ev)
}

fn exists(c: &mut impl Sql, sql: &str, id: &str) -> Result<bool> {
    Ok(c.query_opt(sql, &[&id]).db()?.is_some())
}

pub(crate) fn require_threat(c: &mut impl Sql, id: &ThreatId) -> Result<()> {
    if exists(c, "SELECT 1 FROM threats WHERE id = $1", id.as_str())? {
        Ok(())
    } else {
        Err(StoreError::NotFound {
            kind: "threat",
            id: id.to_string(),
        })
    }
}

pub(crate) fn require_warning(c: &mut impl Sql, id: &WarningId) -> Result<()> {
    if exists(c, "SELECT 1 FROM warnings WHERE id = $1", id.as_str())? {
        Ok(())
    } else {
        Err(StoreError::NotFound {
            kind: "warning",
            id: id.to_string(),
        })
    }
}

pub(crate) fn load_warning(c: &mut impl Sql, id: &WarningId) -> Result<Option<Warning>> {
    query_one_json(
        c,
        "warning",
        "SELECT id, json FROM warnings WHERE id = $1",
        &[&id.as_str()],
    )
}

/// Rewrite a warning's state (both the JSON record and its `state` key column).
fn write_warning_state(tx: &mut Tx<'_>, w: &Warning) -> Result<()> {
    tx.execute(
        "UPDATE warnings SET state = $2, json = $3 WHERE id = $1",
        &[&w.id.as_str(), &w.state.as_str(), &canonical_json(w)?],
    )
    .db()?;
    Ok(())
}

pub(crate) fn load_delivery(c: &mut impl Sql, id: i64) -> Result<Option<Delivery>> {
    c.query_opt(
        &format!("SELECT {DELIVERY_COLS} FROM deliveries WHERE id = $1"),
        &[&id],
    )
    .db()?
    .as_ref()
    .map(delivery_row)
    .transpose()
}

fn query_deliveries(c: &mut impl Sql, sql: &str, params: Params<'_>) -> Result<Vec<Delivery>> {
    deliveries(&c.query(sql, params).db()?)
}

/// A delivery that may still take an attempt (pending or retrying), or why not.
fn open_delivery(tx: &mut Tx<'_>, id: i64) -> Result<Delivery> {
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

/// Insert one new delivery of a warning (dead at once when its channel is disabled); its id.
/// Shared by queue_warning and queue_feed_notifications, as in SQLite.
pub(crate) const INSERT_DELIVERY: &str = "INSERT INTO deliveries (warning_id, audience_id, channel_kind, channel_address, idempotency_key, status, attempts, next_attempt_at, last_error)
     SELECT $1, $2, $3, $4, $5, CASE WHEN dc.reason IS NULL THEN 'pending' ELSE 'dead' END, 0, $6,
            CASE WHEN dc.reason IS NULL THEN NULL ELSE 'channel unsubscribed: ' || dc.reason END
     FROM (SELECT 1) AS one LEFT JOIN disabled_channels dc ON dc.channel_kind = $3 AND dc.channel_address = $4
     RETURNING id";

impl Store for PgStore {
    // ---- Registry -----------------------------------------------------------------------------

    fn upsert_entities(&self, entities: &[Entity], ctx: &AuditCtx) -> Result<()> {
        self.write(|tx| {
            // One statement per batch rather than a round trip per entity. One INSERT … ON CONFLICT
            // may not touch a row twice, so an id given twice keeps its last version, as
            // row-by-row upserts would.
            let mut last: std::collections::HashMap<&str, usize> = std::collections::HashMap::with_capacity(entities.len());
            for (i, e) in entities.iter().enumerate() {
                last.insert(e.id.as_str(), i);
            }
            let kept: Vec<&Entity> = entities.iter().enumerate().filter(|(i, e)| last[e.id.as_str()] == *i).map(|(_, e)| e).collect();
            let ids: Vec<&str> = kept.iter().map(|e| e.id.as_str()).collect();
            let kinds: Vec<&str> = kept.iter().map(|e| e.kind.as_str()).collect();
            let names: Vec<&str> = kept.iter().map(|e| e.name.as_str()).collect();
            let jsons: Vec<String> = kept.iter().map(|e| canonical_json(*e)).collect::<Result<_>>()?;
            tx.execute(
                "INSERT INTO entities (id, kind, name, json)
                 SELECT * FROM UNNEST($1::TEXT[], $2::TEXT[], $3::TEXT[], $4::TEXT[])
                 ON CONFLICT (id) DO UPDATE SET kind = excluded.kind, name = excluded.name, json = excluded.json",
                &[&ids, &kinds, &names, &jsons],
            )
            .db()?;
            coordination::record_registry_changes(tx, entities.iter().map(|e| e.id.as_str()), tocsin_store::coordination::change::UPSERT, ctx)?;
            let ids: Vec<&str> = entities.iter().map(|e| e.id.as_str()).collect();
            audit(tx, ctx, actions::ENTITY_UPSERT, &bulk_subject("entity", "entities", &ids), entities)?;
            Ok(())
        })
    }

    fn entities(&self) -> Result<Vec<Entity>> {
        self.read(|c| {
            query_json(
                c,
                "entity",
                "SELECT id, json FROM entities ORDER BY id",
                &[],
            )
        })
    }

    fn entity(&self, id: &EntityId) -> Result<Option<Entity>> {
        self.read(|c| {
            query_one_json(
                c,
                "entity",
                "SELECT id, json FROM entities WHERE id = $1",
                &[&id.as_str()],
            )
        })
    }

    fn upsert_audiences(&self, audiences: &[Audience], ctx: &AuditCtx) -> Result<()> {
        self.write(|tx| {
            let stmt = tx
                .prepare(
                    "INSERT INTO audiences (id, kind, name, json) VALUES ($1, $2, $3, $4)
                     ON CONFLICT (id) DO UPDATE SET kind = excluded.kind, name = excluded.name, json = excluded.json",
                )
                .db()?;
            for a in audiences {
                tx.execute(&stmt, &[&a.id.as_str(), &a.kind.as_str(), &a.name, &canonical_json(a)?]).db()?;
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
                &[],
            )
        })
    }

    fn audience(&self, id: &AudienceId) -> Result<Option<Audience>> {
        self.read(|c| {
            query_one_json(
                c,
                "audience",
                "SELECT id, json FROM audiences WHERE id = $1",
                &[&id.as_str()],
            )
        })
    }

    // ---- Threats and matches ------------------------------------------------------------------

    fn insert_threat(&self, threat: &Threat, ctx: &AuditCtx) -> Result<()> {
        self.write(|tx| {
            let json = canonical_json(threat)?;
            tx.execute(
                "INSERT INTO threats (id, received_at, json) VALUES ($1, $2, $3)",
                &[&threat.id.as_str(), &time_text(&threat.received), &json],
            )
            .map_err(conflict("threat", threat.id.to_string()))?;
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
        self.read(|c| {
            query_json(
                c,
                "threat",
                "SELECT id, json FROM threats ORDER BY seq",
                &[],
            )
        })
    }

    fn threat(&self, id: &ThreatId) -> Result<Option<Threat>> {
        self.read(|c| {
            query_one_json(
                c,
                "threat",
                "SELECT id, json FROM threats WHERE id = $1",
                &[&id.as_str()],
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
            tx.execute("DELETE FROM matches WHERE threat_id = $1", &[&threat_id.as_str()]).db()?;
            if !matches.is_empty() {
                // All rows in one statement: one round trip however many entities match.
                let ords: Vec<i64> = (0..matches.len() as i64).collect();
                let entity_ids: Vec<&str> = matches.iter().map(|m| m.entity_id.as_str()).collect();
                let targets: Vec<i64> = matches
                    .iter()
                    .map(|m| i64::try_from(m.target).map_err(|_| StoreError::Db(format!("match target index {} too large", m.target))))
                    .collect::<Result<_>>()?;
                let scores: Vec<f64> = matches.iter().map(|m| m.score).collect();
                let jsons: Vec<String> = matches.iter().map(canonical_json).collect::<Result<_>>()?;
                tx.execute(
                    "INSERT INTO matches (threat_id, ord, entity_id, target, score, json)
                     SELECT $1, u.* FROM UNNEST($2::BIGINT[], $3::TEXT[], $4::BIGINT[], $5::DOUBLE PRECISION[], $6::TEXT[]) AS u",
                    &[&threat_id.as_str(), &ords, &entity_ids, &targets, &scores, &jsons],
                )
                .db()?;
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
                "SELECT threat_id || '/' || CAST(ord AS TEXT), json FROM matches WHERE threat_id = $1 ORDER BY ord",
                &[&threat_id.as_str()],
            )
        })
    }

    // ---- Duty ---------------------------------------------------------------------------------

    fn insert_determination(&self, d: &Determination, ctx: &AuditCtx) -> Result<i64> {
        self.write(|tx| {
            require_threat(tx, &d.threat_id)?;
            let id: i64 = tx
                .query_one(
                    "INSERT INTO determinations (threat_id, decision, proposed_at, json) VALUES ($1, $2, $3, $4) RETURNING id",
                    &[&d.threat_id.as_str(), &d.decision.label(), &time_text(&d.proposed_at), &canonical_json(d)?],
                )
                .db()?
                .try_get(0)
                .db()?;
            audit(tx, ctx, actions::DETERMINATION_RECORD, &format!("determination:{id}"), d)?;
            Ok(id)
        })
    }

    fn determinations(&self, threat_id: &ThreatId) -> Result<Vec<Determination>> {
        self.read(|c| {
            query_json(
                c,
                "determination",
                "SELECT id, json FROM determinations WHERE threat_id = $1 ORDER BY id",
                &[&threat_id.as_str()],
            )
        })
    }

    // ---- Warnings and the outbox --------------------------------------------------------------

    fn insert_warning(&self, w: &Warning, ctx: &AuditCtx) -> Result<()> {
        self.write(|tx| {
            require_threat(tx, &w.threat_id)?;
            tx.execute(
                "INSERT INTO warnings (id, threat_id, audience_id, version, state, created_at, json) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                &[
                    &w.id.as_str(),
                    &w.threat_id.as_str(),
                    &w.audience_id.as_str(),
                    &i64::from(w.version),
                    &w.state.as_str(),
                    &time_text(&w.created_at),
                    &canonical_json(w)?,
                ],
            )
            .map_err(conflict("warning", w.id.to_string()))?;
            audit(tx, ctx, actions::WARNING_CREATE, &format!("warning:{}", w.id), w)?;
            Ok(())
        })
    }

    fn warning(&self, id: &WarningId) -> Result<Option<Warning>> {
        self.read(|c| load_warning(c, id))
    }

    fn warnings(&self, threat_id: Option<&ThreatId>) -> Result<Vec<Warning>> {
        let filter = threat_id.map(ThreatId::as_str);
        self.read(|c| query_json(c, "warning", "SELECT id, json FROM warnings WHERE ($1::TEXT IS NULL OR threat_id = $1) ORDER BY seq", &[&filter]))
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
        new: &[NewDelivery],
        ctx: &AuditCtx,
    ) -> Result<Vec<Delivery>> {
        self.write(|tx| {
            let mut w = load_warning(tx, id)?.ok_or_else(|| StoreError::NotFound {
                kind: "warning",
                id: id.to_string(),
            })?;
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
            let stmt = tx.prepare(INSERT_DELIVERY).db()?;
            let mut ids = Vec::with_capacity(new.len());
            for d in new {
                let did: i64 = tx
                    .query_one(
                        &stmt,
                        &[
                            &id.as_str(),
                            &d.audience_id.as_str(),
                            &d.channel.kind.as_str(),
                            &d.channel.address,
                            &d.idempotency_key,
                            &due,
                        ],
                    )
                    .map_err(conflict("delivery", d.idempotency_key.clone()))?
                    .try_get(0)
                    .db()?;
                ids.push(did);
            }
            let created = query_deliveries(
                tx,
                &format!("SELECT {DELIVERY_COLS} FROM deliveries WHERE id = ANY($1) ORDER BY id"),
                &[&ids],
            )?;
            if created.len() != ids.len() {
                return Err(StoreError::Db(
                    "a delivery vanished inside its transaction".into(),
                ));
            }
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
                     WHERE status IN ('pending', 'retrying') AND next_attempt_at <= $1
                     ORDER BY next_attempt_at, id LIMIT $2"
                ),
                &[&time_text(&now), &limit],
            )
        })
    }

    fn mark_delivered(&self, delivery_id: i64, ctx: &AuditCtx) -> Result<()> {
        self.write(|tx| {
            open_delivery(tx, delivery_id)?;
            tx.execute(
                "UPDATE deliveries SET status = 'delivered', attempts = attempts + 1, delivered_at = $2, lease_owner = NULL, lease_until = NULL WHERE id = $1",
                &[&delivery_id, &time_text(&ctx.at)],
            )
            .db()?;
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
                "UPDATE deliveries SET status = $2, attempts = attempts + 1, last_error = $3, next_attempt_at = $4, lease_owner = NULL, lease_until = NULL WHERE id = $1",
                &[&delivery_id, &status.as_str(), &error, &time_text(&next)],
            )
            .db()?;
            let d = load_delivery(tx, delivery_id)?.ok_or_else(|| StoreError::NotFound { kind: "delivery", id: delivery_id.to_string() })?;
            audit(tx, ctx, action, &format!("delivery:{delivery_id}"), &d)?;
            Ok(())
        })
    }

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
        self.read(|c| query_deliveries(c, &format!("SELECT {DELIVERY_COLS} FROM deliveries WHERE status = 'dead' ORDER BY next_attempt_at, id"), &[]))
    }
    fn retry_delivery(&self, delivery_id: i64, ctx: &AuditCtx) -> Result<Delivery> {
        outbox::retry(self, delivery_id, ctx)
    }

    fn deliveries(&self, warning_id: Option<&WarningId>) -> Result<Vec<Delivery>> {
        let filter = warning_id.map(WarningId::as_str);
        self.read(|c| query_deliveries(c, &format!("SELECT {DELIVERY_COLS} FROM deliveries WHERE ($1::TEXT IS NULL OR warning_id = $1) ORDER BY id"), &[&filter]))
    }

    // ---- Follow-through -----------------------------------------------------------------------

    fn insert_acknowledgement(&self, a: &Acknowledgement, ctx: &AuditCtx) -> Result<()> {
        self.write(|tx| {
            require_warning(tx, &a.warning_id)?;
            tx.execute(
                "INSERT INTO acknowledgements (warning_id, at, json) VALUES ($1, $2, $3)",
                &[
                    &a.warning_id.as_str(),
                    &time_text(&a.at),
                    &canonical_json(a)?,
                ],
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
        let filter = warning_id.map(WarningId::as_str);
        self.read(|c| {
            query_json(c, "acknowledgement", "SELECT id, json FROM acknowledgements WHERE ($1::TEXT IS NULL OR warning_id = $1) ORDER BY at, id", &[&filter])
        })
    }

    fn insert_posture_report(&self, r: &PostureReport, ctx: &AuditCtx) -> Result<()> {
        self.write(|tx| {
            require_warning(tx, &r.warning_id)?;
            tx.execute(
                "INSERT INTO posture_reports (warning_id, at, json) VALUES ($1, $2, $3)",
                &[
                    &r.warning_id.as_str(),
                    &time_text(&r.at),
                    &canonical_json(r)?,
                ],
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
        let filter = warning_id.map(WarningId::as_str);
        self.read(|c| {
            query_json(c, "posture_report", "SELECT id, json FROM posture_reports WHERE ($1::TEXT IS NULL OR warning_id = $1) ORDER BY at, id", &[&filter])
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
                "INSERT INTO posture_tracks (warning_id, json) VALUES ($1, $2) ON CONFLICT (warning_id) DO UPDATE SET json = excluded.json",
                &[&warning_id.as_str(), &canonical_json(track)?],
            )
            .db()?;
            audit(tx, ctx, actions::POSTURE_TRACK, &format!("warning:{warning_id}"), &json!({"warning_id": warning_id, "track": track}))?;
            Ok(())
        })
    }

    fn posture_tracks(&self) -> Result<Vec<(WarningId, PostureTrack)>> {
        self.read(|c| {
            let rows = c
                .query(
                    "SELECT warning_id, json FROM posture_tracks ORDER BY warning_id",
                    &[],
                )
                .db()?;
            rows.iter()
                .map(|row| {
                    let id: String = row.try_get(0).db()?;
                    let track = rows::json_cell(row, 1, "posture_track", &id)?;
                    Ok((WarningId::new(id), track))
                })
                .collect()
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
                "INSERT INTO outcomes (threat_id, kind, at, json) VALUES ($1, $2, $3, $4)",
                &[
                    &o.threat_id.as_str(),
                    &kind,
                    &time_text(&o.at),
                    &canonical_json(o)?,
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
        let filter = threat_id.map(ThreatId::as_str);
        self.read(|c| query_json(c, "outcome", "SELECT id, json FROM outcomes WHERE ($1::TEXT IS NULL OR threat_id = $1) ORDER BY at, id", &[&filter]))
    }

    fn append_timeline(&self, entry: &TimelineEntry) -> Result<()> {
        // Not audited (see the trait), so no chain lock: a plain insert.
        let json = canonical_json(entry)?;
        self.read(|c| {
            c.execute(
                "INSERT INTO timeline (threat_id, at, event, json) VALUES ($1, $2, $3, $4)",
                &[
                    &entry.threat_id.as_str(),
                    &time_text(&entry.at),
                    &entry.event,
                    &json,
                ],
            )
            .db()?;
            Ok(())
        })
    }

    fn timeline(&self, threat_id: Option<&ThreatId>) -> Result<Vec<TimelineEntry>> {
        let filter = threat_id.map(ThreatId::as_str);
        self.read(|c| query_json(c, "timeline_entry", "SELECT id, json FROM timeline WHERE ($1::TEXT IS NULL OR threat_id = $1) ORDER BY at, id", &[&filter]))
    }

    // ---- Audit chain --------------------------------------------------------------------------

    fn audit_events(&self) -> Result<Vec<AuditEvent>> {
        self.read(|c| {
            c.query(
                &format!("SELECT {AUDIT_COLS} FROM audit_events ORDER BY seq"),
                &[],
            )
            .db()?
            .iter()
            .map(audit_row)
            .collect()
        })
    }

    fn verify_audit(&self) -> Result<std::result::Result<String, ChainBreak>> {
        self.read(|c| {
            let rows = c
                .query(
                    &format!("SELECT {AUDIT_COLS} FROM audit_events ORDER BY seq"),
                    &[],
                )
                .db()?;
            let mut events = Vec::with_capacity(rows.len());
            for row in &rows {
                match audit_row(row) {
                    Ok(e) => events.push(e),
                    // An unreadable row is a break, not a failure to verify: report the earliest.
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
            let expires = expires_at.as_ref().map(time_text);
            let id: i64 = tx
                .query_one(
                    "INSERT INTO api_tokens (token_hash, role, label, created_at, expires_at, revoked) VALUES ($1, $2, $3, $4, $5, FALSE) RETURNING id",
                    &[&token_hash, &role, &label, &time_text(&ctx.at), &expires],
                )
                .map_err(conflict("token", label))?
                .try_get(0)
                .db()?;
            let payload = json!({
                "id": id,
                "token_hash": token_hash,
                "role": role,
                "label": label,
                "created_at": time_text(&ctx.at),
                "expires_at": expires,
                "revoked": false,
            });
            audit(tx, ctx, actions::TOKEN_CREATE, &format!("token:{id}"), &payload)?;
            Ok(id)
        })
    }

    fn token_by_hash(&self, token_hash: &str) -> Result<Option<TokenRecord>> {
        self.read(|c| {
            let Some(row) = c
                .query_opt("SELECT id, token_hash, role, label, created_at, expires_at, revoked FROM api_tokens WHERE token_hash = $1", &[&token_hash])
                .db()?
            else {
                return Ok(None);
            };
            let id: i64 = row.try_get(0).db()?;
            let sid = id.to_string();
            let created: String = row.try_get(4).db()?;
            let expires: Option<String> = row.try_get(5).db()?;
            Ok(Some(TokenRecord {
                id,
                token_hash: row.try_get(1).db()?,
                role: row.try_get(2).db()?,
                label: row.try_get(3).db()?,
                created_at: parse_time("token", &sid, &created)?,
                expires_at: expires.map(|s| parse_time("token", &sid, &s)).transpose()?,
                revoked: row.try_get(6).db()?,
            }))
        })
    }

    fn token_count(&self) -> Result<usize> {
        self.read(|c| {
            let n: i64 = c
                .query_one("SELECT COUNT(*) FROM api_tokens", &[])
                .db()?
                .try_get(0)
                .db()?;
            Ok(usize::try_from(n).unwrap_or(0))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_chain_lock_text_names_the_chain_key() {
        assert_eq!(
            CHAIN_LOCK_SQL,
            format!("SELECT pg_advisory_xact_lock({CHAIN_LOCK})")
        );
    }
}
