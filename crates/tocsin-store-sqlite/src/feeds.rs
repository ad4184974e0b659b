//! SQLite implementation of [`Feeds`].

use super::rows::{audit_row, query_json, AUDIT_COLS};
use super::{audit, SqliteStore};
#[allow(unused_imports)]
use crate::Db;
use rusqlite::params;
use rusqlite::{Connection, OptionalExtension};
use serde::Serialize;
use serde_json::json;
use tocsin_core::audit::AuditEvent;
use tocsin_core::Threat;
use tocsin_store::feeds::{FeedNotification, FeedRunRecord, Feeds};
use tocsin_store::record::{actions, canonical_json, parse_time, time_text};
use tocsin_store::{AuditCtx, Result, StoreError};

/// Audit actions of this module (the shared list in `record::actions` is not ours to edit).
const CONSTITUENCY_REPLACE: &str = "feed.constituency";
const FEED_RUN: &str = "feed.run";

/// The audit chain inside one batch transaction: the same events `audit()` appends, but the
/// previous event is read once and statements are cached — a run appends tens of thousands.
struct Chain {
    prev: Option<AuditEvent>,
}

impl Chain {
    fn start(tx: &Connection) -> Result<Self> {
        let prev = tx
            .prepare_cached(&format!(
                "SELECT {AUDIT_COLS} FROM audit_events ORDER BY seq DESC LIMIT 1"
            ))
            .db()?
            .query_row([], |r| Ok(audit_row(r)))
            .optional()
            .db()?
            .transpose()?;
        Ok(Self { prev })
    }

    fn append<P: Serialize + ?Sized>(
        &mut self,
        tx: &Connection,
        ctx: &AuditCtx,
        action: &str,
        subject: &str,
        payload: &P,
    ) -> Result<()> {
        self.append_canonical(tx, ctx, action, subject, &canonical_json(payload)?)
    }

    /// `payload` already in canonical JSON (a large record serialised once for row and digest).
    fn append_canonical(
        &mut self,
        tx: &Connection,
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
        tx.prepare_cached("INSERT INTO audit_events (seq, at, actor, action, subject, payload_digest, prev_hash, hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)").db()?
            .execute(params![seq, time_text(&ev.at), ev.actor, ev.action, ev.subject, ev.payload_digest, ev.prev_hash, ev.hash]).db()?;
        self.prev = Some(ev);
        Ok(())
    }
}

impl Feeds for SqliteStore {
    fn replace_constituency(&self, orgs: &[(String, String)], ctx: &AuditCtx) -> Result<usize> {
        self.write(|tx| {
            tx.execute("DELETE FROM feed_orgs", []).db()?;
            let mut stmt = tx
                .prepare_cached("INSERT INTO feed_orgs (id, json) VALUES (?1, ?2)")
                .db()?;
            for (id, json) in orgs {
                stmt.execute(params![id, json])
                    .map_err(crate::conflict("feed organisation", id.clone()))?;
            }
            // The payload is the whole constituency: its digest pins exactly what was loaded.
            audit(
                tx,
                ctx,
                CONSTITUENCY_REPLACE,
                &format!("feed_orgs:{}", orgs.len()),
                orgs,
            )?;
            Ok(orgs.len())
        })
    }

    fn constituency(&self) -> Result<Vec<(String, String)>> {
        self.read(|c| {
            let mut stmt = c
                .prepare_cached("SELECT id, json FROM feed_orgs ORDER BY id")
                .db()?;
            let rows = stmt
                .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
                .db()?;
            Ok(rows.collect::<rusqlite::Result<_>>().db()?)
        })
    }

    fn feed_notified(&self) -> Result<Vec<(String, tocsin_core::Timestamp)>> {
        self.read(|c| {
            let mut stmt = c
                .prepare_cached("SELECT org_id, at FROM feed_notified ORDER BY org_id")
                .db()?;
            let rows = stmt
                .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
                .db()?;
            let mut out = Vec::new();
            for row in rows {
                let (org, at) = row.db()?;
                let at = parse_time("feed notification", &org, &at)?;
                out.push((org, at));
            }
            Ok(out)
        })
    }

    fn queue_feed_notifications(
        &self,
        threat: Option<&Threat>,
        notifications: &[FeedNotification],
        ctx: &AuditCtx,
    ) -> Result<usize> {
        self.write(|tx| {
            let mut chain = Chain::start(tx)?;
            if let Some(threat) = threat {
                tx.execute(
                    "INSERT INTO threats (id, received_at, json) VALUES (?1, ?2, ?3)",
                    params![threat.id.as_str(), time_text(&threat.received), canonical_json(threat)?],
                )
                .map_err(crate::conflict("threat", threat.id.to_string()))?;
                chain.append(tx, ctx, actions::THREAT_CREATE, &format!("threat:{}", threat.id), threat)?;
            }
            let due = time_text(&ctx.at);
            let mut count = 0;
            for n in notifications {
                let w = &n.warning;
                if threat.is_none() {
                    super::require_threat(tx, &w.threat_id)?;
                }
                // The audit events of insert_warning + queue_warning (create, then queue with its
                // deliveries) in one transaction. The warning is created already queued and was
                // serialised once (FeedNotification::new): the largest cost of a run, as its text
                // carries the events CSV; that one JSON is both the row and the create payload.
                let wjson = n.json();
                chain.append_canonical(tx, ctx, actions::WARNING_CREATE, &format!("warning:{}", w.id), wjson)?;
                tx.prepare_cached(
                    "INSERT INTO warnings (id, threat_id, audience_id, version, state, created_at, json) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                ).db()?
                .execute(params![w.id.as_str(), w.threat_id.as_str(), w.audience_id.as_str(), w.version, w.state.as_str(), time_text(&w.created_at), wjson])
                .map_err(crate::conflict("warning", w.id.to_string()))?;
                let mut ids = Vec::with_capacity(n.deliveries.len());
                let mut stmt = tx.prepare_cached(
                    "INSERT INTO deliveries (warning_id, audience_id, channel_kind, channel_address, idempotency_key, status, attempts, next_attempt_at, last_error)
                     SELECT ?1, ?2, ?3, ?4, ?5, CASE WHEN dc.reason IS NULL THEN 'pending' ELSE 'dead' END, 0, ?6,
                            CASE WHEN dc.reason IS NULL THEN NULL ELSE 'channel unsubscribed: ' || dc.reason END
                     FROM (SELECT 1) LEFT JOIN disabled_channels dc ON dc.channel_kind = ?3 AND dc.channel_address = ?4
                     RETURNING id",
                ).db()?;
                for d in &n.deliveries {
                    let id: i64 = stmt
                        .query_row(params![w.id.as_str(), d.audience_id.as_str(), d.channel.kind.as_str(), d.channel.address, d.idempotency_key, due], |r| r.get(0))
                        .map_err(crate::conflict("delivery", d.idempotency_key.clone()))?;
                    ids.push(id);
                }
                chain.append(tx, ctx, actions::WARNING_QUEUE, &format!("warning:{}", w.id), &json!({"warning_id": w.id, "state": w.state, "deliveries": ids}))?;
                tx.prepare_cached(
                    "INSERT INTO feed_notified (org_id, at, threat_id) VALUES (?1, ?2, ?3)
                     ON CONFLICT (org_id) DO UPDATE SET at = excluded.at, threat_id = excluded.threat_id",
                ).db()?
                .execute(params![n.org_id, due, w.threat_id.as_str()]).db()?;
                count += 1;
            }
            Ok(count)
        })
    }

    fn insert_feed_run(&self, run: &FeedRunRecord, ctx: &AuditCtx) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                "INSERT INTO feed_runs (id, at, json) VALUES (?1, ?2, ?3)",
                params![run.id, time_text(&run.at), canonical_json(run)?],
            )
            .map_err(crate::conflict("feed run", run.id.clone()))?;
            audit(tx, ctx, FEED_RUN, &format!("feed_run:{}", run.id), run)?;
            Ok(())
        })
    }

    fn feed_runs(&self) -> Result<Vec<FeedRunRecord>> {
        self.read(|c| {
            query_json(
                c,
                "feed run",
                "SELECT id, json FROM feed_runs ORDER BY seq",
                [],
            )
        })
    }

    fn feed_run(&self, id: &str) -> Result<Option<FeedRunRecord>> {
        self.read(|c| {
            Ok(query_json(
                c,
                "feed run",
                "SELECT id, json FROM feed_runs WHERE id = ?1",
                [id],
            )?
            .into_iter()
            .next())
        })
    }
}
