//! PostgreSQL implementation of [`Feeds`] (mirrors SQLite's `sqlite/feeds.rs`).

use crate::rows::query_json;
use crate::sql::{Sql, Tx};
use crate::{
    audit, chain_head, conflict, insert_event, require_threat, Db, PgStore, INSERT_DELIVERY,
};
use serde::Serialize;
use serde_json::json;
use tocsin_core::audit::AuditEvent;
use tocsin_core::Threat;
use tocsin_store::feeds::{FeedNotification, FeedRunRecord, Feeds};
use tocsin_store::record::{actions, canonical_json, parse_time, time_text};
use tocsin_store::{AuditCtx, Result};

/// Audit actions of feeds (the same names the SQLite backend writes).
const CONSTITUENCY_REPLACE: &str = "feed.constituency";
const FEED_RUN: &str = "feed.run";

/// The audit chain inside one batch transaction: the head is read once (the transaction holds the
/// chain lock, so it cannot move underneath).
struct Chain {
    prev: Option<AuditEvent>,
}

impl Chain {
    fn start(tx: &mut Tx<'_>) -> Result<Self> {
        Ok(Self {
            prev: chain_head(tx)?,
        })
    }

    fn append<P: Serialize + ?Sized>(
        &mut self,
        tx: &mut Tx<'_>,
        ctx: &AuditCtx,
        action: &str,
        subject: &str,
        payload: &P,
    ) -> Result<()> {
        self.append_canonical(tx, ctx, action, subject, &canonical_json(payload)?)
    }

    fn append_canonical(
        &mut self,
        tx: &mut Tx<'_>,
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
        insert_event(tx, &ev)?;
        self.prev = Some(ev);
        Ok(())
    }
}

impl Feeds for PgStore {
    fn replace_constituency(&self, orgs: &[(String, String)], ctx: &AuditCtx) -> Result<usize> {
        self.write(|tx| {
            tx.execute("DELETE FROM feed_orgs", &[]).db()?;
            let stmt = tx
                .prepare("INSERT INTO feed_orgs (id, json) VALUES ($1, $2)")
                .db()?;
            for (id, json) in orgs {
                tx.execute(&stmt, &[id, json])
                    .map_err(conflict("feed organisation", id.clone()))?;
            }
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
            let rows = c
                .query("SELECT id, json FROM feed_orgs ORDER BY id", &[])
                .db()?;
            rows.iter()
                .map(|r| Ok((r.try_get(0).db()?, r.try_get(1).db()?)))
                .collect()
        })
    }

    fn feed_notified(&self) -> Result<Vec<(String, tocsin_core::Timestamp)>> {
        self.read(|c| {
            let rows = c
                .query("SELECT org_id, at FROM feed_notified ORDER BY org_id", &[])
                .db()?;
            rows.iter()
                .map(|r| {
                    let org: String = r.try_get(0).db()?;
                    let at: String = r.try_get(1).db()?;
                    let at = parse_time("feed notification", &org, &at)?;
                    Ok((org, at))
                })
                .collect()
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
                    "INSERT INTO threats (id, received_at, json) VALUES ($1, $2, $3)",
                    &[&threat.id.as_str(), &time_text(&threat.received), &canonical_json(threat)?],
                )
                .map_err(conflict("threat", threat.id.to_string()))?;
                chain.append(tx, ctx, actions::THREAT_CREATE, &format!("threat:{}", threat.id), threat)?;
            }
            let due = time_text(&ctx.at);
            let insert_warning = tx
                .prepare("INSERT INTO warnings (id, threat_id, audience_id, version, state, created_at, json) VALUES ($1, $2, $3, $4, $5, $6, $7)")
                .db()?;
            let insert_delivery = tx.prepare(INSERT_DELIVERY).db()?;
            let notified = tx
                .prepare(
                    "INSERT INTO feed_notified (org_id, at, threat_id) VALUES ($1, $2, $3)
                     ON CONFLICT (org_id) DO UPDATE SET at = excluded.at, threat_id = excluded.threat_id",
                )
                .db()?;
            let mut count = 0;
            for n in notifications {
                let w = &n.warning;
                if threat.is_none() {
                    require_threat(tx, &w.threat_id)?;
                }
                // The events of insert_warning + queue_warning, in one transaction (see SQLite).
                let wjson = n.json();
                chain.append_canonical(tx, ctx, actions::WARNING_CREATE, &format!("warning:{}", w.id), wjson)?;
                tx.execute(
                    &insert_warning,
                    &[&w.id.as_str(), &w.threat_id.as_str(), &w.audience_id.as_str(), &i64::from(w.version), &w.state.as_str(), &time_text(&w.created_at), &wjson],
                )
                .map_err(conflict("warning", w.id.to_string()))?;
                let mut ids: Vec<i64> = Vec::with_capacity(n.deliveries.len());
                for d in &n.deliveries {
                    let id: i64 = tx
                        .query_one(&insert_delivery, &[&w.id.as_str(), &d.audience_id.as_str(), &d.channel.kind.as_str(), &d.channel.address, &d.idempotency_key, &due])
                        .map_err(conflict("delivery", d.idempotency_key.clone()))?
                        .try_get(0)
                        .db()?;
                    ids.push(id);
                }
                chain.append(tx, ctx, actions::WARNING_QUEUE, &format!("warning:{}", w.id), &json!({"warning_id": w.id, "state": w.state, "deliveries": ids}))?;
                tx.execute(&notified, &[&n.org_id, &due, &w.threat_id.as_str()]).db()?;
                count += 1;
            }
            Ok(count)
        })
    }

    fn insert_feed_run(&self, run: &FeedRunRecord, ctx: &AuditCtx) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                "INSERT INTO feed_runs (id, at, json) VALUES ($1, $2, $3)",
                &[&run.id, &time_text(&run.at), &canonical_json(run)?],
            )
            .map_err(conflict("feed run", run.id.clone()))?;
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
                &[],
            )
        })
    }

    fn feed_run(&self, id: &str) -> Result<Option<FeedRunRecord>> {
        self.read(|c| {
            Ok(query_json(
                c,
                "feed run",
                "SELECT id, json FROM feed_runs WHERE id = $1",
                &[&id],
            )?
            .into_iter()
            .next())
        })
    }
}
