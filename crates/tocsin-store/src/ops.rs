//! Every store operation, written once: its checks before the write, its statements, its audit
//! payload and its error mapping. A backend implements [`Backend`] (how to open a write
//! transaction and a read connection, as [`Conn`]s) and gets the contract's operations from here;
//! where the best statement differs between the databases, the operation picks its text by
//! [`Conn::dialect`], so the SQL is the only thing a backend writes twice.
//!
//! Architecture invariant: an operation never chooses a warning's or a delivery's lifecycle state
//! itself; it asks [`tocsin_core::lifecycle`] for the state an event leads to.

use crate::record::{actions, bulk_subject, canonical_json, time_text};
use crate::sql::{
    self, audit_row, json_cell, query_deliveries, query_json, query_one_json, Arg, Conn, Dialect,
    AUDIT_COLS, DELIVERY_COLS,
};
use crate::{
    Accounts, AuditCtx, Coordination, DisabledChannel, Exchange, Feeds, FollowUps, NewDelivery,
    Result, Review, Store, StoreError, TokenRecord,
};
use serde::Serialize;
use serde_json::json;
use tocsin_core::audit::{verify_chain, AuditEvent, ChainBreak};
use tocsin_core::duty::Determination;
use tocsin_core::lifecycle::{self, DeliveryEvent, WarningEvent, WarningState};
use tocsin_core::posture::PostureTrack;
use tocsin_core::tracking::{
    Acknowledgement, Delivery, GatedWarning, Outcome, PostureReport, TimelineEntry, Warning,
};
use tocsin_core::{
    Audience, AudienceId, Entity, EntityId, Match, Threat, ThreatId, ThreatWindow, Timestamp,
    WarningId,
};

/// How a backend runs the operations: one write transaction per call (every audited write), or a
/// connection for reads.
pub trait Backend: Send + Sync {
    /// Run `f` once in one write transaction that serialises with every other audited write (so
    /// the audit chain never forks); commit on `Ok`, roll back on `Err`.
    fn write_tx<T: Send>(
        &self,
        f: &mut (dyn FnMut(&mut dyn Conn) -> Result<T> + Send),
    ) -> Result<T>;
    /// Run `f` on a connection that sees committed data. It may be run again (on another
    /// connection) when its connection broke, so it must be safe to repeat.
    fn read_conn<T: Send>(&self, f: &(dyn Fn(&mut dyn Conn) -> Result<T> + Sync)) -> Result<T>;
    /// Run a single unaudited insert (the timeline); by default in a write transaction.
    fn write_unaudited<T: Send>(
        &self,
        f: &(dyn Fn(&mut dyn Conn) -> Result<T> + Sync),
    ) -> Result<T> {
        self.write_tx(&mut |c| f(c))
    }
    /// Registry changes were written in the current transaction (PostgreSQL notifies listeners).
    fn registry_changed(&self, _tx: &mut dyn Conn) -> Result<()> {
        Ok(())
    }
}

/// Append the audit event of a write, inside the write's transaction.
pub fn audit<P: Serialize + ?Sized>(
    tx: &mut dyn Conn,
    ctx: &AuditCtx,
    action: &str,
    subject: &str,
    payload: &P,
) -> Result<()> {
    Chain::start(tx)?.append(tx, ctx, action, subject, payload)
}

/// The audit chain inside one write transaction: the head is read once (the transaction
/// serialises with every other audited write, so it cannot move underneath), then each event is
/// appended after the previous one. A feed batch appends thousands this way.
pub struct Chain {
    prev: Option<AuditEvent>,
}

impl Chain {
    pub fn start(tx: &mut dyn Conn) -> Result<Self> {
        let prev = tx
            .row(
                &format!("SELECT {AUDIT_COLS} FROM audit_events ORDER BY seq DESC LIMIT 1"),
                &[],
            )?
            .as_ref()
            .map(audit_row)
            .transpose()?;
        Ok(Self { prev })
    }

    pub fn append<P: Serialize + ?Sized>(
        &mut self,
        tx: &mut dyn Conn,
        ctx: &AuditCtx,
        action: &str,
        subject: &str,
        payload: &P,
    ) -> Result<()> {
        self.append_canonical(tx, ctx, action, subject, &canonical_json(payload)?)
    }

    /// `payload` already in canonical JSON (a large record serialised once for row and digest).
    pub fn append_canonical(
        &mut self,
        tx: &mut dyn Conn,
        ctx: &AuditCtx,
        action: &str,
        subject: &str,
        payload: &str,
    ) -> Result<()> {
        let ev = AuditEvent::next(
            self.prev.as_ref(),
            ctx.at,
            &ctx.actor,
            action,
            subject,
            payload.as_bytes(),
        );
        let seq =
            i64::try_from(ev.seq).map_err(|_| StoreError::Db("audit sequence overflow".into()))?;
        tx.exec(
            "INSERT INTO audit_events (seq, at, actor, action, subject, payload_digest, prev_hash, hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            &[
                seq.into(),
                time_text(&ev.at).as_str().into(),
                ev.actor.as_str().into(),
                ev.action.as_str().into(),
                ev.subject.as_str().into(),
                ev.payload_digest.as_str().into(),
                ev.prev_hash.as_str().into(),
                ev.hash.as_str().into(),
            ],
        )?;
        self.prev = Some(ev);
        Ok(())
    }
}

/// [`StoreError::NotFound`] of a `kind` named `id`.
pub fn not_found(kind: &'static str, id: impl ToString) -> StoreError {
    StoreError::NotFound {
        kind,
        id: id.to_string(),
    }
}

pub fn require_threat(tx: &mut dyn Conn, id: &ThreatId) -> Result<()> {
    if sql::exists(
        tx,
        "SELECT 1 FROM threats WHERE id = ?1",
        &[id.as_str().into()],
    )? {
        Ok(())
    } else {
        Err(not_found("threat", id))
    }
}

pub fn require_warning(tx: &mut dyn Conn, id: &WarningId) -> Result<()> {
    if sql::exists(
        tx,
        "SELECT 1 FROM warnings WHERE id = ?1",
        &[id.as_str().into()],
    )? {
        Ok(())
    } else {
        Err(not_found("warning", id))
    }
}

pub fn load_warning(c: &mut dyn Conn, id: &WarningId) -> Result<Option<Warning>> {
    query_one_json(
        c,
        "warning",
        "SELECT id, json FROM warnings WHERE id = ?1",
        &[id.as_str().into()],
    )
}

/// A stored warning, or [`StoreError::NotFound`].
pub fn stored_warning(c: &mut dyn Conn, id: &WarningId) -> Result<Warning> {
    load_warning(c, id)?.ok_or_else(|| not_found("warning", id))
}

/// Rewrite a warning's record and its `state` key column.
pub fn write_warning(tx: &mut dyn Conn, w: &Warning) -> Result<()> {
    tx.exec(
        "UPDATE warnings SET state = ?2, json = ?3 WHERE id = ?1",
        &[
            w.id.as_str().into(),
            w.state.as_str().into(),
            canonical_json(w)?.as_str().into(),
        ],
    )?;
    Ok(())
}

/// The state `event` moves a warning to, or [`StoreError::InvalidState`] naming the states it may
/// be in.
pub fn warning_transition(w: &Warning, event: WarningEvent) -> Result<WarningState> {
    lifecycle::transition(w.state, event).map_err(|e| StoreError::InvalidState {
        kind: "warning",
        id: w.id.to_string(),
        state: e.from.as_str().to_owned(),
        expected: lifecycle::sources(event)
            .iter()
            .map(WarningState::as_str)
            .collect::<Vec<_>>()
            .join(" or "),
    })
}

pub fn load_delivery(c: &mut dyn Conn, id: i64) -> Result<Option<Delivery>> {
    Ok(query_deliveries(
        c,
        &format!("SELECT {DELIVERY_COLS} FROM deliveries WHERE id = ?1"),
        &[id.into()],
    )?
    .pop())
}

/// A stored delivery, or [`StoreError::NotFound`].
pub fn stored_delivery(c: &mut dyn Conn, id: i64) -> Result<Delivery> {
    load_delivery(c, id)?.ok_or_else(|| not_found("delivery", id))
}

/// A delivery that can take `event`, or [`StoreError::InvalidState`] naming the states it may be
/// in; with the status the event leads to.
pub fn delivery_for(
    c: &mut dyn Conn,
    id: i64,
    event: DeliveryEvent,
) -> Result<(Delivery, tocsin_core::tracking::DeliveryStatus)> {
    let d = stored_delivery(c, id)?;
    let to =
        lifecycle::delivery_transition(d.status, event).map_err(|e| StoreError::InvalidState {
            kind: "delivery",
            id: id.to_string(),
            state: e.from.as_str().to_owned(),
            expected: lifecycle::delivery_sources(event)
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(" or "),
        })?;
    Ok((d, to))
}

/// Text of a status list for `status IN (…)`: the statuses `event` may leave (never user input).
pub fn status_list(event: DeliveryEvent) -> String {
    lifecycle::delivery_sources(event)
        .iter()
        .map(|s| format!("'{}'", s.as_str()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Append one `registry_changes` row per entity (in input order), inside the write.
pub fn record_registry_changes(
    b: &impl Backend,
    tx: &mut dyn Conn,
    ids: &[&str],
    change: &str,
    at: &Timestamp,
) -> Result<()> {
    if ids.is_empty() {
        return Ok(());
    }
    let at = time_text(at);
    match tx.dialect() {
        // One statement for the whole batch: a round trip per row would make bulk loads slow.
        Dialect::Postgres => {
            tx.exec(
                "INSERT INTO registry_changes (entity_id, change, at)
                 SELECT u.id, ?2, ?3 FROM UNNEST(?1::TEXT[]) WITH ORDINALITY AS u(id, n) ORDER BY u.n",
                &[Arg::Texts(ids), change.into(), at.as_str().into()],
            )?;
        }
        Dialect::Sqlite => {
            for id in ids {
                tx.exec(
                    "INSERT INTO registry_changes (entity_id, change, at) VALUES (?1, ?2, ?3)",
                    &[(*id).into(), change.into(), at.as_str().into()],
                )?;
            }
        }
    }
    b.registry_changed(tx)
}

/// Insert one new delivery of a warning (written dead at once when its channel was disabled, with
/// the reason, so the analyst sees it among the dead letters); its id.
pub fn insert_delivery(
    tx: &mut dyn Conn,
    warning_id: &WarningId,
    d: &NewDelivery,
    due: &str,
) -> Result<i64> {
    let row = tx
        .row(
            "INSERT INTO deliveries (warning_id, audience_id, channel_kind, channel_address, idempotency_key, status, attempts, next_attempt_at, last_error)
             SELECT ?1, ?2, ?3, ?4, ?5, CASE WHEN dc.reason IS NULL THEN ?7 ELSE ?8 END, 0, ?6,
                    CASE WHEN dc.reason IS NULL THEN NULL ELSE 'channel unsubscribed: ' || dc.reason END
             FROM (SELECT 1) AS one LEFT JOIN disabled_channels dc ON dc.channel_kind = ?3 AND dc.channel_address = ?4
             RETURNING id",
            &[
                warning_id.as_str().into(),
                d.audience_id.as_str().into(),
                d.channel.kind.as_str().into(),
                d.channel.address.as_str().into(),
                d.idempotency_key.as_str().into(),
                due.into(),
                lifecycle::delivery_created(false).as_str().into(),
                lifecycle::delivery_created(true).as_str().into(),
            ],
        )
        .map_err(|f| f.on_insert("delivery", d.idempotency_key.clone()))?
        .ok_or_else(|| StoreError::Db("INSERT … RETURNING id returned no row".into()))?;
    sql::int(&row, 0, "delivery", &d.idempotency_key)
}

/// Insert `batch` (at most [`crate::FANOUT_BATCH`] rows) in one statement; the deliveries as
/// created, in id order. A key already taken, by an earlier row or within the batch, is a
/// [`StoreError::Conflict`] naming it: the statement skips it (`ON CONFLICT DO NOTHING`) and the
/// missing row tells which one, so the error is exact without a statement per row, and the
/// caller's transaction (rolled back on the error) writes nothing.
pub fn insert_deliveries(
    tx: &mut dyn Conn,
    warning_id: &WarningId,
    batch: &[NewDelivery],
    due: &str,
) -> Result<Vec<Delivery>> {
    if batch.is_empty() {
        return Ok(Vec::new());
    }
    let pending = lifecycle::delivery_created(false).as_str();
    let dead = lifecycle::delivery_created(true).as_str();
    let common: [Arg<'_>; 4] = [
        warning_id.as_str().into(),
        due.into(),
        pending.into(),
        dead.into(),
    ];
    let columns = "INSERT INTO deliveries (warning_id, audience_id, channel_kind, channel_address, idempotency_key, status, attempts, next_attempt_at, last_error)
             SELECT ?1, v.a, v.k, v.u, v.i, CASE WHEN dc.reason IS NULL THEN ?3 ELSE ?4 END, 0, ?2,
                    CASE WHEN dc.reason IS NULL THEN NULL ELSE 'channel unsubscribed: ' || dc.reason END";
    let join =
        "LEFT JOIN disabled_channels dc ON dc.channel_kind = v.k AND dc.channel_address = v.u";
    let rows = match tx.dialect() {
        Dialect::Postgres => {
            let audiences: Vec<&str> = batch.iter().map(|d| d.audience_id.as_str()).collect();
            let kinds: Vec<&str> = batch.iter().map(|d| d.channel.kind.as_str()).collect();
            let urls: Vec<&str> = batch.iter().map(|d| d.channel.address.as_str()).collect();
            let keys: Vec<&str> = batch.iter().map(|d| d.idempotency_key.as_str()).collect();
            let mut args = common.to_vec();
            args.extend([
                Arg::Texts(&audiences),
                Arg::Texts(&kinds),
                Arg::Texts(&urls),
                Arg::Texts(&keys),
            ]);
            tx.rows(
                &format!(
                    "{columns}
                     FROM UNNEST(?5::TEXT[], ?6::TEXT[], ?7::TEXT[], ?8::TEXT[]) WITH ORDINALITY AS v(a, k, u, i, n)
                     {join} ORDER BY v.n
                     ON CONFLICT (idempotency_key) DO NOTHING RETURNING {DELIVERY_COLS}"
                ),
                &args,
            )?
        }
        Dialect::Sqlite => {
            let mut values = String::with_capacity(batch.len() * 24);
            let mut args = common.to_vec();
            for (i, d) in batch.iter().enumerate() {
                let n = 5 + i * 4;
                if i > 0 {
                    values.push_str(", ");
                }
                values.push_str(&format!("(?{n}, ?{}, ?{}, ?{})", n + 1, n + 2, n + 3));
                args.extend([
                    Arg::Text(d.audience_id.as_str()),
                    Arg::Text(d.channel.kind.as_str()),
                    Arg::Text(d.channel.address.as_str()),
                    Arg::Text(d.idempotency_key.as_str()),
                ]);
            }
            // `WHERE true`: without it SQLite would read `ON CONFLICT` as the join's `ON`.
            tx.rows(
                &format!(
                    "WITH v(a, k, u, i) AS (VALUES {values})
                     {columns} FROM v {join} WHERE true
                     ON CONFLICT (idempotency_key) DO NOTHING RETURNING {DELIVERY_COLS}"
                ),
                &args,
            )?
        }
    };
    let mut created = rows
        .iter()
        .map(sql::delivery_row)
        .collect::<Result<Vec<Delivery>>>()?;
    if created.len() != batch.len() {
        let mut written: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
        for d in &created {
            *written.entry(d.idempotency_key.as_str()).or_default() += 1;
        }
        let taken = batch
            .iter()
            .find(|d| match written.get_mut(d.idempotency_key.as_str()) {
                Some(n) if *n > 0 => {
                    *n -= 1;
                    false
                }
                _ => true,
            })
            .map_or_else(String::new, |d| d.idempotency_key.clone());
        return Err(StoreError::Conflict {
            kind: "delivery",
            id: taken,
        });
    }
    created.sort_by_key(|d| d.id);
    Ok(created)
}

/// The deliveries `ids` as stored now, in `ids` order.
pub fn load_deliveries(tx: &mut dyn Conn, ids: &[i64]) -> Result<Vec<Delivery>> {
    let found = match tx.dialect() {
        Dialect::Postgres => query_deliveries(
            tx,
            &format!("SELECT {DELIVERY_COLS} FROM deliveries WHERE id = ANY(?1) ORDER BY id"),
            &[Arg::Ints(ids)],
        )?,
        Dialect::Sqlite => ids
            .iter()
            .map(|id| load_delivery(tx, *id))
            .filter_map(Result::transpose)
            .collect::<Result<_>>()?,
    };
    if found.len() != ids.len() {
        return Err(StoreError::Db(
            "a delivery vanished inside its transaction".into(),
        ));
    }
    let mut by_id: std::collections::HashMap<i64, Delivery> =
        found.into_iter().map(|d| (d.id, d)).collect();
    ids.iter()
        .map(|id| {
            by_id
                .remove(id)
                .ok_or_else(|| StoreError::Db(format!("delivery {id} read twice")))
        })
        .collect()
}

fn upsert_keyed(tx: &mut dyn Conn, table: &str, rows: &[(&str, &str, &str, String)]) -> Result<()> {
    match tx.dialect() {
        // One statement per batch. One INSERT … ON CONFLICT may not touch a row twice, so an id
        // given twice keeps its last version, as row-by-row upserts would.
        Dialect::Postgres if rows.len() > 1 => {
            let mut last = std::collections::HashMap::with_capacity(rows.len());
            for (i, r) in rows.iter().enumerate() {
                last.insert(r.0, i);
            }
            let kept: Vec<&(&str, &str, &str, String)> = rows
                .iter()
                .enumerate()
                .filter(|(i, r)| last[r.0] == *i)
                .map(|(_, r)| r)
                .collect();
            let ids: Vec<&str> = kept.iter().map(|r| r.0).collect();
            let kinds: Vec<&str> = kept.iter().map(|r| r.1).collect();
            let names: Vec<&str> = kept.iter().map(|r| r.2).collect();
            let jsons: Vec<&str> = kept.iter().map(|r| r.3.as_str()).collect();
            tx.exec(
                &format!(
                    "INSERT INTO {table} (id, kind, name, json)
                     SELECT * FROM UNNEST(?1::TEXT[], ?2::TEXT[], ?3::TEXT[], ?4::TEXT[])
                     ON CONFLICT (id) DO UPDATE SET kind = excluded.kind, name = excluded.name, json = excluded.json"
                ),
                &[
                    Arg::Texts(&ids),
                    Arg::Texts(&kinds),
                    Arg::Texts(&names),
                    Arg::Texts(&jsons),
                ],
            )?;
        }
        _ => {
            let sql = format!(
                "INSERT INTO {table} (id, kind, name, json) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (id) DO UPDATE SET kind = excluded.kind, name = excluded.name, json = excluded.json"
            );
            for r in rows {
                tx.exec(
                    &sql,
                    &[r.0.into(), r.1.into(), r.2.into(), r.3.as_str().into()],
                )?;
            }
        }
    }
    Ok(())
}

/// An optional key filter: `(CAST(?1 AS TEXT) IS NULL OR col = ?1)` takes this.
/// What a recipient sends back about one warning (an acknowledgement, a posture report,
/// feedback): each kind has its own table, record kind and audit action, and is otherwise written
/// and read the same way, so the rule lives in [`insert_warning_record`] and [`warning_records`].
#[derive(Clone, Copy)]
pub(crate) struct RecipientRecord {
    /// Table with columns `(id, warning_id, at, json)`; a constant, never user input.
    table: &'static str,
    /// The record kind named in decoding errors.
    kind: &'static str,
    action: &'static str,
}

impl RecipientRecord {
    pub(crate) const ACK: Self = Self {
        table: "acknowledgements",
        kind: "acknowledgement",
        action: actions::ACK_RECORD,
    };
    pub(crate) const POSTURE: Self = Self {
        table: "posture_reports",
        kind: "posture_report",
        action: actions::POSTURE_REPORT,
    };
    pub(crate) const FEEDBACK: Self = Self {
        table: "feedback",
        kind: "feedback",
        action: actions::FEEDBACK_RECORD,
    };
}

/// Store one [`RecipientRecord`] of an existing warning, audited with the record as payload.
pub(crate) fn insert_warning_record<B: Backend + ?Sized, T: Serialize + Sync>(
    backend: &B,
    what: RecipientRecord,
    warning_id: &WarningId,
    at: &Timestamp,
    record: &T,
    ctx: &AuditCtx,
) -> Result<()> {
    let json = canonical_json(record)?;
    let at = time_text(at);
    let insert = format!(
        "INSERT INTO {} (warning_id, at, json) VALUES (?1, ?2, ?3)",
        what.table
    );
    backend.write_tx(&mut |tx| {
        require_warning(tx, warning_id)?;
        tx.exec(
            &insert,
            &[
                warning_id.as_str().into(),
                at.as_str().into(),
                json.as_str().into(),
            ],
        )?;
        audit(
            tx,
            ctx,
            what.action,
            &format!("warning:{warning_id}"),
            record,
        )
    })
}

/// Every [`RecipientRecord`] of one warning (or of all), oldest first.
pub(crate) fn warning_records<B: Backend + ?Sized, T: serde::de::DeserializeOwned + Send>(
    backend: &B,
    what: RecipientRecord,
    warning_id: Option<&WarningId>,
) -> Result<Vec<T>> {
    let select = format!(
        "SELECT id, json FROM {} WHERE (CAST(?1 AS TEXT) IS NULL OR warning_id = ?1) ORDER BY at, id",
        what.table
    );
    backend.read_conn(&|c| {
        query_json(
            c,
            what.kind,
            &select,
            &filter(warning_id.map(WarningId::as_str)),
        )
    })
}

fn filter(id: Option<&str>) -> [Arg<'_>; 1] {
    [id.into()]
}

/// The `Store` contract, for every backend.
impl<B> Store for B
where
    B: Backend + FollowUps + Exchange + Feeds + Coordination + Accounts + Review,
{
    fn upsert_entities(&self, entities: &[Entity], ctx: &AuditCtx) -> Result<()> {
        self.write_tx(&mut |tx| {
            let rows = entities
                .iter()
                .map(|e| {
                    Ok((
                        e.id.as_str(),
                        e.kind.as_str(),
                        e.name.as_str(),
                        canonical_json(e)?,
                    ))
                })
                .collect::<Result<Vec<_>>>()?;
            upsert_keyed(tx, "entities", &rows)?;
            let ids: Vec<&str> = entities.iter().map(|e| e.id.as_str()).collect();
            record_registry_changes(self, tx, &ids, crate::coordination::change::UPSERT, &ctx.at)?;
            audit(
                tx,
                ctx,
                actions::ENTITY_UPSERT,
                &bulk_subject("entity", "entities", &ids),
                entities,
            )?;
            Ok(())
        })
    }

    fn entities(&self) -> Result<Vec<Entity>> {
        self.read_conn(&|c| {
            query_json(
                c,
                "entity",
                "SELECT id, json FROM entities ORDER BY id",
                &[],
            )
        })
    }

    fn entity(&self, id: &EntityId) -> Result<Option<Entity>> {
        self.read_conn(&|c| {
            query_one_json(
                c,
                "entity",
                "SELECT id, json FROM entities WHERE id = ?1",
                &[id.as_str().into()],
            )
        })
    }

    fn upsert_audiences(&self, audiences: &[Audience], ctx: &AuditCtx) -> Result<()> {
        self.write_tx(&mut |tx| {
            let rows = audiences
                .iter()
                .map(|a| {
                    Ok((
                        a.id.as_str(),
                        a.kind.as_str(),
                        a.name.as_str(),
                        canonical_json(a)?,
                    ))
                })
                .collect::<Result<Vec<_>>>()?;
            // Row by row on every backend: audiences are few.
            for r in &rows {
                upsert_keyed(tx, "audiences", std::slice::from_ref(r))?;
            }
            let ids: Vec<&str> = audiences.iter().map(|a| a.id.as_str()).collect();
            audit(
                tx,
                ctx,
                actions::AUDIENCE_UPSERT,
                &bulk_subject("audience", "audiences", &ids),
                audiences,
            )?;
            Ok(())
        })
    }

    fn audiences(&self) -> Result<Vec<Audience>> {
        self.read_conn(&|c| {
            query_json(
                c,
                "audience",
                "SELECT id, json FROM audiences ORDER BY id",
                &[],
            )
        })
    }

    fn audience(&self, id: &AudienceId) -> Result<Option<Audience>> {
        self.read_conn(&|c| {
            query_one_json(
                c,
                "audience",
                "SELECT id, json FROM audiences WHERE id = ?1",
                &[id.as_str().into()],
            )
        })
    }

    fn insert_threat(&self, threat: &Threat, ctx: &AuditCtx) -> Result<()> {
        let json = canonical_json(threat)?;
        self.write_tx(&mut |tx| {
            tx.exec(
                "INSERT INTO threats (id, received_at, json) VALUES (?1, ?2, ?3)",
                &[
                    threat.id.as_str().into(),
                    time_text(&threat.received).as_str().into(),
                    json.as_str().into(),
                ],
            )
            .map_err(|f| f.on_insert("threat", threat.id.to_string()))?;
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
        self.read_conn(&|c| {
            query_json(
                c,
                "threat",
                "SELECT id, json FROM threats ORDER BY seq",
                &[],
            )
        })
    }

    fn threat(&self, id: &ThreatId) -> Result<Option<Threat>> {
        self.read_conn(&|c| {
            query_one_json(
                c,
                "threat",
                "SELECT id, json FROM threats WHERE id = ?1",
                &[id.as_str().into()],
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
        let targets: Vec<i64> = matches
            .iter()
            .map(|m| {
                i64::try_from(m.target).map_err(|_| {
                    StoreError::Db(format!("match target index {} too large", m.target))
                })
            })
            .collect::<Result<_>>()?;
        let jsons: Vec<String> = matches.iter().map(canonical_json).collect::<Result<_>>()?;
        self.write_tx(&mut |tx| {
            require_threat(tx, threat_id)?;
            tx.exec(
                "DELETE FROM matches WHERE threat_id = ?1",
                &[threat_id.as_str().into()],
            )?;
            match tx.dialect() {
                // All rows in one statement: one round trip however many entities match.
                Dialect::Postgres if !matches.is_empty() => {
                    let ords: Vec<i64> = (0..matches.len() as i64).collect();
                    let entity_ids: Vec<&str> =
                        matches.iter().map(|m| m.entity_id.as_str()).collect();
                    let scores: Vec<f64> = matches.iter().map(|m| m.score).collect();
                    let json_refs: Vec<&str> = jsons.iter().map(String::as_str).collect();
                    tx.exec(
                        "INSERT INTO matches (threat_id, ord, entity_id, target, score, json)
                         SELECT ?1, u.* FROM UNNEST(?2::BIGINT[], ?3::TEXT[], ?4::BIGINT[], ?5::DOUBLE PRECISION[], ?6::TEXT[]) AS u",
                        &[
                            threat_id.as_str().into(),
                            Arg::Ints(&ords),
                            Arg::Texts(&entity_ids),
                            Arg::Ints(&targets),
                            Arg::Reals(&scores),
                            Arg::Texts(&json_refs),
                        ],
                    )?;
                }
                _ => {
                    for (ord, m) in matches.iter().enumerate() {
                        tx.exec(
                            "INSERT INTO matches (threat_id, ord, entity_id, target, score, json) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                            &[
                                threat_id.as_str().into(),
                                (ord as i64).into(),
                                m.entity_id.as_str().into(),
                                targets[ord].into(),
                                m.score.into(),
                                jsons[ord].as_str().into(),
                            ],
                        )?;
                    }
                }
            }
            audit(
                tx,
                ctx,
                actions::MATCHES_REPLACE,
                &format!("threat:{threat_id}"),
                matches,
            )?;
            Ok(())
        })
    }

    fn matches(&self, threat_id: &ThreatId) -> Result<Vec<Match>> {
        self.read_conn(&|c| {
            query_json(
                c,
                "match",
                "SELECT threat_id || '/' || CAST(ord AS TEXT), json FROM matches WHERE threat_id = ?1 ORDER BY ord",
                &[threat_id.as_str().into()],
            )
        })
    }

    fn insert_determination(&self, d: &Determination, ctx: &AuditCtx) -> Result<i64> {
        let json = canonical_json(d)?;
        self.write_tx(&mut |tx| {
            require_threat(tx, &d.threat_id)?;
            let id = sql::scalar_int(
                tx,
                "INSERT INTO determinations (threat_id, decision, proposed_at, json) VALUES (?1, ?2, ?3, ?4) RETURNING id",
                &[
                    d.threat_id.as_str().into(),
                    d.decision.label().into(),
                    time_text(&d.proposed_at).as_str().into(),
                    json.as_str().into(),
                ],
            )?;
            audit(
                tx,
                ctx,
                actions::DETERMINATION_RECORD,
                &format!("determination:{id}"),
                d,
            )?;
            Ok(id)
        })
    }

    fn determinations(&self, threat_id: &ThreatId) -> Result<Vec<Determination>> {
        self.read_conn(&|c| {
            query_json(
                c,
                "determination",
                "SELECT id, json FROM determinations WHERE threat_id = ?1 ORDER BY id",
                &[threat_id.as_str().into()],
            )
        })
    }

    fn insert_warning(&self, w: &GatedWarning, ctx: &AuditCtx) -> Result<()> {
        let w = w.warning();
        let json = canonical_json(w)?;
        self.write_tx(&mut |tx| {
            require_threat(tx, &w.threat_id)?;
            tx.exec(
                "INSERT INTO warnings (id, threat_id, audience_id, version, state, created_at, json) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                &[
                    w.id.as_str().into(),
                    w.threat_id.as_str().into(),
                    w.audience_id.as_str().into(),
                    i64::from(w.version).into(),
                    w.state.as_str().into(),
                    time_text(&w.created_at).as_str().into(),
                    json.as_str().into(),
                ],
            )
            .map_err(|f| f.on_insert("warning", w.id.to_string()))?;
            audit(
                tx,
                ctx,
                actions::WARNING_CREATE,
                &format!("warning:{}", w.id),
                w,
            )?;
            Ok(())
        })
    }

    fn warning(&self, id: &WarningId) -> Result<Option<Warning>> {
        self.read_conn(&|c| load_warning(c, id))
    }

    fn warnings(&self, threat_id: Option<&ThreatId>) -> Result<Vec<Warning>> {
        self.read_conn(&|c| {
            query_json(
                c,
                "warning",
                "SELECT id, json FROM warnings WHERE (CAST(?1 AS TEXT) IS NULL OR threat_id = ?1) ORDER BY seq",
                &filter(threat_id.map(ThreatId::as_str)),
            )
        })
    }

    fn advance_warning(
        &self,
        id: &WarningId,
        event: WarningEvent,
        ctx: &AuditCtx,
    ) -> Result<WarningState> {
        self.write_tx(&mut |tx| {
            let mut w = stored_warning(tx, id)?;
            let from = w.state;
            let state = warning_transition(&w, event)?;
            w.state = state;
            write_warning(tx, &w)?;
            audit(
                tx,
                ctx,
                actions::WARNING_STATE,
                &format!("warning:{id}"),
                &json!({"warning_id": id, "from": from, "to": state}),
            )?;
            Ok(state)
        })
    }

    fn set_warning_validity(
        &self,
        id: &WarningId,
        valid: ThreatWindow,
        ctx: &AuditCtx,
    ) -> Result<()> {
        self.write_tx(&mut |tx| {
            let mut w = stored_warning(tx, id)?;
            w.valid = valid;
            write_warning(tx, &w)?;
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
        self.write_tx(&mut |tx| {
            let mut w = stored_warning(tx, id)?;
            w.state = warning_transition(&w, WarningEvent::Queue)?;
            write_warning(tx, &w)?;
            let due = time_text(&ctx.at);
            let ids = deliveries
                .iter()
                .map(|d| insert_delivery(tx, id, d, &due))
                .collect::<Result<Vec<i64>>>()?;
            let created = load_deliveries(tx, &ids)?;
            audit(
                tx,
                ctx,
                actions::WARNING_QUEUE,
                &format!("warning:{id}"),
                &json!({"warning_id": id, "state": w.state, "deliveries": created}),
            )?;
            Ok(created)
        })
    }

    fn queue_warning_fanout(
        &self,
        id: &WarningId,
        count: usize,
        delivery: &(dyn Fn(usize) -> NewDelivery + Sync),
        ctx: &AuditCtx,
    ) -> Result<crate::QueuedFanout> {
        use sha2::{Digest, Sha256};
        self.write_tx(&mut |tx| {
            let mut w = stored_warning(tx, id)?;
            w.state = warning_transition(&w, WarningEvent::Queue)?;
            write_warning(tx, &w)?;
            let due = time_text(&ctx.at);
            let mut sha = Sha256::new();
            let (mut first_id, mut last_id) = (None, None);
            let mut batch = Vec::with_capacity(crate::FANOUT_BATCH.min(count));
            let mut start = 0;
            while start < count {
                let end = (start + crate::FANOUT_BATCH).min(count);
                batch.clear();
                batch.extend((start..end).map(delivery));
                for d in insert_deliveries(tx, id, &batch, &due)? {
                    first_id.get_or_insert(d.id);
                    last_id = Some(d.id);
                    sha.update(canonical_json(&d)?.as_bytes());
                    sha.update(b"\n");
                }
                start = end;
            }
            let queued = crate::QueuedFanout {
                count,
                first_id,
                last_id,
                sha256: hex::encode(sha.clone().finalize()),
            };
            audit(
                tx,
                ctx,
                actions::WARNING_QUEUE,
                &format!("warning:{id}"),
                &json!({"warning_id": id, "state": w.state, "deliveries": queued}),
            )?;
            Ok(queued)
        })
    }

    fn due_deliveries(&self, now: Timestamp, limit: usize) -> Result<Vec<Delivery>> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let now = time_text(&now);
        self.read_conn(&|c| {
            query_deliveries(
                c,
                &format!(
                    "SELECT {DELIVERY_COLS} FROM deliveries
                     WHERE status IN ('pending', 'retrying') AND next_attempt_at <= ?1
                     ORDER BY next_attempt_at, id LIMIT ?2"
                ),
                &[now.as_str().into(), limit.into()],
            )
        })
    }

    fn mark_delivered(&self, delivery_id: i64, ctx: &AuditCtx) -> Result<()> {
        self.write_tx(&mut |tx| {
            let (_, to) = delivery_for(tx, delivery_id, DeliveryEvent::Deliver)?;
            tx.exec(
                "UPDATE deliveries SET status = ?3, attempts = attempts + 1, delivered_at = ?2, lease_owner = NULL, lease_until = NULL WHERE id = ?1",
                &[
                    delivery_id.into(),
                    time_text(&ctx.at).as_str().into(),
                    to.as_str().into(),
                ],
            )?;
            let d = stored_delivery(tx, delivery_id)?;
            audit(
                tx,
                ctx,
                actions::DELIVERY_DELIVERED,
                &format!("delivery:{delivery_id}"),
                &d,
            )?;
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
        self.write_tx(&mut |tx| {
            let event = DeliveryEvent::Fail {
                retry: retry_at.is_some(),
            };
            let (before, to) = delivery_for(tx, delivery_id, event)?;
            let next = retry_at.unwrap_or(before.next_attempt_at);
            tx.exec(
                "UPDATE deliveries SET status = ?2, attempts = attempts + 1, last_error = ?3, next_attempt_at = ?4, lease_owner = NULL, lease_until = NULL WHERE id = ?1",
                &[
                    delivery_id.into(),
                    to.as_str().into(),
                    error.into(),
                    time_text(&next).as_str().into(),
                ],
            )?;
            let d = stored_delivery(tx, delivery_id)?;
            audit(
                tx,
                ctx,
                failure_action(retry_at.is_some()),
                &format!("delivery:{delivery_id}"),
                &d,
            )?;
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
        crate::outbox_ops::claim(
            self,
            now,
            worker_id,
            lease,
            limit,
            &crate::ClaimScope::all(),
            ctx,
        )
    }

    fn claim_deliveries_within(
        &self,
        now: Timestamp,
        worker_id: &str,
        lease: chrono::Duration,
        limit: usize,
        scope: &crate::ClaimScope,
        ctx: &AuditCtx,
    ) -> Result<Vec<Delivery>> {
        crate::outbox_ops::claim(self, now, worker_id, lease, limit, scope, ctx)
    }

    fn renew_leases(
        &self,
        ids: &[i64],
        worker_id: &str,
        until: Timestamp,
        ctx: &AuditCtx,
    ) -> Result<Vec<i64>> {
        crate::outbox_ops::renew(self, ids, worker_id, until, ctx)
    }

    fn mark_delivered_batch(&self, ids: &[i64], ctx: &AuditCtx) -> Result<Vec<i64>> {
        crate::outbox_ops::delivered_batch(self, ids, ctx)
    }

    fn fail_claimed(
        &self,
        delivery_id: i64,
        worker_id: &str,
        error: &str,
        retry_at: Option<Timestamp>,
        ctx: &AuditCtx,
    ) -> Result<bool> {
        crate::outbox_ops::fail_claimed(self, delivery_id, worker_id, error, retry_at, ctx)
    }

    fn unsubscribe_channel(
        &self,
        delivery_id: i64,
        reason: &str,
        ctx: &AuditCtx,
    ) -> Result<Vec<i64>> {
        crate::outbox_ops::unsubscribe(self, delivery_id, reason, ctx)
    }

    fn disabled_channels(&self) -> Result<Vec<DisabledChannel>> {
        crate::outbox_ops::disabled_channels(self)
    }

    fn dead_letters(&self) -> Result<Vec<Delivery>> {
        self.read_conn(&|c| {
            query_deliveries(
                c,
                &format!("SELECT {DELIVERY_COLS} FROM deliveries WHERE status = 'dead' ORDER BY next_attempt_at, id"),
                &[],
            )
        })
    }

    fn retry_delivery(&self, delivery_id: i64, ctx: &AuditCtx) -> Result<Delivery> {
        crate::outbox_ops::retry(self, delivery_id, ctx)
    }

    fn deliveries(&self, warning_id: Option<&WarningId>) -> Result<Vec<Delivery>> {
        self.read_conn(&|c| {
            query_deliveries(
                c,
                &format!("SELECT {DELIVERY_COLS} FROM deliveries WHERE (CAST(?1 AS TEXT) IS NULL OR warning_id = ?1) ORDER BY id"),
                &filter(warning_id.map(WarningId::as_str)),
            )
        })
    }

    fn insert_acknowledgement(&self, a: &Acknowledgement, ctx: &AuditCtx) -> Result<()> {
        insert_warning_record(self, RecipientRecord::ACK, &a.warning_id, &a.at, a, ctx)
    }

    fn acknowledgements(&self, warning_id: Option<&WarningId>) -> Result<Vec<Acknowledgement>> {
        warning_records(self, RecipientRecord::ACK, warning_id)
    }

    fn insert_posture_report(&self, r: &PostureReport, ctx: &AuditCtx) -> Result<()> {
        insert_warning_record(self, RecipientRecord::POSTURE, &r.warning_id, &r.at, r, ctx)
    }

    fn posture_reports(&self, warning_id: Option<&WarningId>) -> Result<Vec<PostureReport>> {
        warning_records(self, RecipientRecord::POSTURE, warning_id)
    }

    fn upsert_posture_track(
        &self,
        warning_id: &WarningId,
        track: &PostureTrack,
        ctx: &AuditCtx,
    ) -> Result<()> {
        let json = canonical_json(track)?;
        self.write_tx(&mut |tx| {
            require_warning(tx, warning_id)?;
            tx.exec(
                "INSERT INTO posture_tracks (warning_id, json) VALUES (?1, ?2)
                 ON CONFLICT (warning_id) DO UPDATE SET json = excluded.json",
                &[warning_id.as_str().into(), json.as_str().into()],
            )?;
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
        self.read_conn(&|c| {
            c.rows(
                "SELECT warning_id, json FROM posture_tracks ORDER BY warning_id",
                &[],
            )?
            .iter()
            .map(|row| {
                let id = sql::text(row, 0, "posture_track", "?")?;
                let track = json_cell(row, 1, "posture_track", &id)?;
                Ok((WarningId::new(id), track))
            })
            .collect()
        })
    }

    fn insert_outcome(&self, o: &Outcome, ctx: &AuditCtx) -> Result<()> {
        let kind = serde_json::to_value(o.kind)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        let json = canonical_json(o)?;
        self.write_tx(&mut |tx| {
            require_threat(tx, &o.threat_id)?;
            tx.exec(
                "INSERT INTO outcomes (threat_id, kind, at, json) VALUES (?1, ?2, ?3, ?4)",
                &[
                    o.threat_id.as_str().into(),
                    kind.as_str().into(),
                    time_text(&o.at).as_str().into(),
                    json.as_str().into(),
                ],
            )?;
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
        self.read_conn(&|c| {
            query_json(
                c,
                "outcome",
                "SELECT id, json FROM outcomes WHERE (CAST(?1 AS TEXT) IS NULL OR threat_id = ?1) ORDER BY at, id",
                &filter(threat_id.map(ThreatId::as_str)),
            )
        })
    }

    fn append_timeline(&self, entry: &TimelineEntry) -> Result<()> {
        let json = canonical_json(entry)?;
        let at = time_text(&entry.at);
        self.write_unaudited(&|c| {
            c.exec(
                "INSERT INTO timeline (threat_id, at, event, json) VALUES (?1, ?2, ?3, ?4)",
                &[
                    entry.threat_id.as_str().into(),
                    at.as_str().into(),
                    entry.event.as_str().into(),
                    json.as_str().into(),
                ],
            )?;
            Ok(())
        })
    }

    fn timeline(&self, threat_id: Option<&ThreatId>) -> Result<Vec<TimelineEntry>> {
        self.read_conn(&|c| {
            query_json(
                c,
                "timeline_entry",
                "SELECT id, json FROM timeline WHERE (CAST(?1 AS TEXT) IS NULL OR threat_id = ?1) ORDER BY at, id",
                &filter(threat_id.map(ThreatId::as_str)),
            )
        })
    }

    fn audit_events(&self) -> Result<Vec<AuditEvent>> {
        self.read_conn(&|c| {
            c.rows(
                &format!("SELECT {AUDIT_COLS} FROM audit_events ORDER BY seq"),
                &[],
            )?
            .iter()
            .map(audit_row)
            .collect()
        })
    }

    fn audit_head(&self) -> Result<i64> {
        self.read_conn(&|c| {
            sql::scalar_int(c, "SELECT COALESCE(MAX(seq), 0) FROM audit_events", &[])
        })
    }

    fn audit_events_about(&self, subject: &str) -> Result<Vec<AuditEvent>> {
        self.read_conn(&|c| {
            c.rows(
                &format!("SELECT {AUDIT_COLS} FROM audit_events WHERE subject = ?1 ORDER BY seq"),
                &[subject.into()],
            )?
            .iter()
            .map(audit_row)
            .collect()
        })
    }

    fn verify_audit(&self) -> Result<std::result::Result<String, ChainBreak>> {
        self.read_conn(&|c| {
            let rows = c.rows(
                &format!("SELECT {AUDIT_COLS} FROM audit_events ORDER BY seq"),
                &[],
            )?;
            let mut events = Vec::with_capacity(rows.len());
            for row in &rows {
                match audit_row(row) {
                    Ok(e) => events.push(e),
                    // An unreadable row is a break in the chain, not a failure to verify: report
                    // the earliest break (a readable prefix may already be broken).
                    Err(StoreError::Corrupt { id, reason, .. }) => {
                        if let Err(earlier) = verify_chain(&events) {
                            return Ok(Err(earlier));
                        }
                        let seq = match row.first() {
                            Some(crate::SqlValue::Integer(n)) => u64::try_from(*n).unwrap_or(0),
                            _ => id.parse().unwrap_or(0),
                        };
                        return Ok(Err(ChainBreak {
                            seq,
                            reason: format!("unreadable row: {reason}"),
                        }));
                    }
                    Err(e) => return Err(e),
                }
            }
            Ok(verify_chain(&events))
        })
    }

    fn insert_token(
        &self,
        token_hash: &str,
        role: &str,
        label: &str,
        expires_at: Option<Timestamp>,
        ctx: &AuditCtx,
    ) -> Result<i64> {
        let created = time_text(&ctx.at);
        let expires = expires_at.as_ref().map(time_text);
        self.write_tx(&mut |tx| {
            let row = tx
                .row(
                    "INSERT INTO api_tokens (token_hash, role, label, created_at, expires_at, revoked) VALUES (?1, ?2, ?3, ?4, ?5, FALSE) RETURNING id",
                    &[
                        token_hash.into(),
                        role.into(),
                        label.into(),
                        created.as_str().into(),
                        expires.as_deref().into(),
                    ],
                )
                .map_err(|f| f.on_insert("token", label))?
                .ok_or_else(|| StoreError::Db("INSERT … RETURNING id returned no row".into()))?;
            let id = sql::int(&row, 0, "token", label)?;
            // The hash is not a secret (the store never sees secrets); recording it binds the
            // event to the row.
            let payload = json!({
                "id": id,
                "token_hash": token_hash,
                "role": role,
                "label": label,
                "created_at": created,
                "expires_at": expires,
                "revoked": false,
            });
            audit(tx, ctx, actions::TOKEN_CREATE, &format!("token:{id}"), &payload)?;
            Ok(id)
        })
    }

    fn token_by_hash(&self, token_hash: &str) -> Result<Option<TokenRecord>> {
        self.read_conn(&|c| {
            let Some(row) = c.row(
                "SELECT id, token_hash, role, label, created_at, expires_at, revoked FROM api_tokens WHERE token_hash = ?1",
                &[token_hash.into()],
            )?
            else {
                return Ok(None);
            };
            const KIND: &str = "token";
            let id = sql::int(&row, 0, KIND, "?")?;
            let sid = id.to_string();
            let created = sql::text(&row, 4, KIND, &sid)?;
            Ok(Some(TokenRecord {
                id,
                token_hash: sql::text(&row, 1, KIND, &sid)?,
                role: sql::text(&row, 2, KIND, &sid)?,
                label: sql::text(&row, 3, KIND, &sid)?,
                created_at: crate::record::parse_time(KIND, &sid, &created)?,
                expires_at: sql::opt_text(&row, 5, KIND, &sid)?
                    .map(|s| crate::record::parse_time(KIND, &sid, &s))
                    .transpose()?,
                revoked: sql::boolean(&row, 6, KIND, &sid)?,
            }))
        })
    }

    fn token_count(&self) -> Result<usize> {
        self.read_conn(&|c| {
            let n = sql::scalar_int(c, "SELECT COUNT(*) FROM api_tokens", &[])?;
            Ok(usize::try_from(n).unwrap_or(0))
        })
    }
}

/// The audit action of a failed attempt: retried later, or dead-lettered.
pub fn failure_action(retry: bool) -> &'static str {
    if retry {
        actions::DELIVERY_FAILED
    } else {
        actions::DELIVERY_DEAD
    }
}
