//! The leased outbox on PostgreSQL (mirrors SQLite's `sqlite/outbox.rs`).
//!
//! Claims select due rows `FOR UPDATE SKIP LOCKED`: a row another transaction is claiming or
//! recording is skipped, never waited for, so workers in several processes share the outbox. A
//! lease that has expired makes its delivery claimable again (a killed worker's deliveries come
//! back). Batched marks and renewals are one statement each (`id = ANY($1)`), answered in the
//! caller's id order as SQLite answers them.

use crate::rows::{deliveries, DELIVERY_COLS};
use crate::sql::Sql;
use crate::{audit, load_delivery, Db, PgStore};
use serde_json::json;
use std::collections::HashSet;
use tocsin_core::tracking::{Delivery, DeliveryStatus};
use tocsin_core::{ChannelKind, ChannelSpec, Timestamp};
use tocsin_store::record::{actions, bulk_subject, parse_time, time_text};
use tocsin_store::{AuditCtx, DisabledChannel, Result, StoreError};

/// Planner settings (transaction-local) for the outbox's hot statements: see [`claim`].
const PLAN_BY_INDEX_ORDER: &str = "SET LOCAL enable_sort = off; SET LOCAL enable_bitmapscan = off";
/// Marks by id: without statistics the planner also intersected the primary key with the whole
/// claimable index (a bitmap AND over every open delivery); the primary key alone is enough.
const PLAN_BY_KEY: &str = "SET LOCAL enable_bitmapscan = off";

fn subject(ids: &[i64]) -> String {
    let texts: Vec<String> = ids.iter().map(i64::to_string).collect();
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    bulk_subject("delivery", "deliveries", &refs)
}

/// `ids` (first occurrence each) that are in `hit`, in the caller's order.
fn in_order(ids: &[i64], hit: &HashSet<i64>) -> Vec<i64> {
    let mut seen = HashSet::new();
    ids.iter()
        .copied()
        .filter(|id| hit.contains(id) && seen.insert(*id))
        .collect()
}

pub(crate) fn claim(
    s: &PgStore,
    now: Timestamp,
    worker_id: &str,
    lease: chrono::Duration,
    limit: usize,
    ctx: &AuditCtx,
) -> Result<Vec<Delivery>> {
    if limit == 0 {
        return Ok(Vec::new());
    }
    let until = now + lease;
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    s.write(|tx| {
        // For this transaction only. Right after a fan-out the outbox has no statistics yet
        // (autoanalyze lags behind a bulk insert, or is off) and the planner guesses a handful of
        // due rows: it then gathered *every* due row through a bitmap and sorted them all on each
        // claim, O(outbox) per claim. `deliveries_claimable` is already in claim order; reading
        // it in order and stopping at the LIMIT is the right plan whatever the statistics say.
        tx.batch(PLAN_BY_INDEX_ORDER).db()?;
        let rows = tx
            .query(
                &format!(
                    "UPDATE deliveries SET lease_owner = $1, lease_until = $2, claims = claims + 1
                     WHERE id IN (
                         SELECT id FROM deliveries
                         WHERE status IN ('pending', 'retrying') AND next_attempt_at <= $3
                           AND (lease_until IS NULL OR lease_until <= $3)
                         ORDER BY next_attempt_at, id LIMIT $4
                         FOR UPDATE SKIP LOCKED)
                     RETURNING {DELIVERY_COLS}"
                ),
                &[&worker_id, &time_text(&until), &time_text(&now), &limit],
            )
            .db()?;
        let mut claimed = deliveries(&rows)?;
        // RETURNING gives no order: restore the claim order (oldest due first).
        claimed.sort_by_key(|d| (d.next_attempt_at, d.id));
        if !claimed.is_empty() {
            let ids: Vec<i64> = claimed.iter().map(|d| d.id).collect();
            audit(
                tx,
                ctx,
                actions::DELIVERY_CLAIM,
                &subject(&ids),
                &json!({"worker": worker_id, "lease_until": time_text(&until), "ids": ids}),
            )?;
        }
        Ok(claimed)
    })
}

pub(crate) fn renew(
    s: &PgStore,
    ids: &[i64],
    worker_id: &str,
    until: Timestamp,
    ctx: &AuditCtx,
) -> Result<Vec<i64>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    s.write(|tx| {
        tx.batch(PLAN_BY_KEY).db()?;
        let rows = tx
            .query(
                "UPDATE deliveries SET lease_until = $3 WHERE id = ANY($1) AND lease_owner = $2 AND status IN ('pending', 'retrying') RETURNING id",
                &[&ids, &worker_id, &time_text(&until)],
            )
            .db()?;
        let hit: HashSet<i64> = rows.iter().map(|r| r.try_get(0)).collect::<std::result::Result<_, _>>().db()?;
        let renewed = in_order(ids, &hit);
        if !renewed.is_empty() {
            audit(tx, ctx, actions::DELIVERY_LEASE, &subject(&renewed), &json!({"worker": worker_id, "lease_until": time_text(&until), "ids": renewed}))?;
        }
        Ok(renewed)
    })
}

pub(crate) fn delivered_batch(s: &PgStore, ids: &[i64], ctx: &AuditCtx) -> Result<Vec<i64>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let at = time_text(&ctx.at);
    s.write(|tx| {
        tx.batch(PLAN_BY_KEY).db()?;
        let rows = tx
            .query(
                "UPDATE deliveries SET status = 'delivered', attempts = attempts + 1, delivered_at = $2, lease_owner = NULL, lease_until = NULL
                 WHERE id = ANY($1) AND status IN ('pending', 'retrying') RETURNING id",
                &[&ids, &at],
            )
            .db()?;
        let hit: HashSet<i64> = rows.iter().map(|r| r.try_get(0)).collect::<std::result::Result<_, _>>().db()?;
        let marked = in_order(ids, &hit);
        if !marked.is_empty() {
            audit(tx, ctx, actions::DELIVERY_DELIVERED, &subject(&marked), &json!({"delivered_at": at, "ids": marked}))?;
        }
        Ok(marked)
    })
}

pub(crate) fn fail_claimed(
    s: &PgStore,
    id: i64,
    worker_id: &str,
    error: &str,
    retry_at: Option<Timestamp>,
    ctx: &AuditCtx,
) -> Result<bool> {
    s.write(|tx| {
        let (status, action) = match retry_at {
            Some(_) => (DeliveryStatus::Retrying, actions::DELIVERY_FAILED),
            None => (DeliveryStatus::Dead, actions::DELIVERY_DEAD),
        };
        let retry = retry_at.as_ref().map(time_text);
        let changed = tx
            .execute(
                "UPDATE deliveries SET status = $3, attempts = attempts + 1, last_error = $4,
                        next_attempt_at = COALESCE($5, next_attempt_at), lease_owner = NULL, lease_until = NULL
                 WHERE id = $1 AND lease_owner = $2 AND status IN ('pending', 'retrying')",
                &[&id, &worker_id, &status.as_str(), &error, &retry],
            )
            .db()?;
        if changed == 0 {
            return Ok(false);
        }
        let d = load_delivery(tx, id)?.ok_or_else(|| StoreError::NotFound { kind: "delivery", id: id.to_string() })?;
        audit(tx, ctx, action, &format!("delivery:{id}"), &d)?;
        Ok(true)
    })
}

pub(crate) fn unsubscribe(s: &PgStore, id: i64, reason: &str, ctx: &AuditCtx) -> Result<Vec<i64>> {
    s.write(|tx| {
        let d = load_delivery(tx, id)?.ok_or_else(|| StoreError::NotFound { kind: "delivery", id: id.to_string() })?;
        let kind = d.channel.kind.as_str();
        let at = time_text(&ctx.at);
        tx.execute(
            "INSERT INTO disabled_channels (channel_kind, channel_address, reason, disabled_at, delivery_id) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (channel_kind, channel_address) DO UPDATE SET reason = excluded.reason, disabled_at = excluded.disabled_at, delivery_id = excluded.delivery_id",
            &[&kind, &d.channel.address, &reason, &at, &id],
        )
        .db()?;
        let error = format!("channel unsubscribed: {reason}");
        let mut dead = Vec::new();
        if tx
            .execute(
                "UPDATE deliveries SET status = 'dead', attempts = attempts + 1, last_error = $2, lease_owner = NULL, lease_until = NULL
                 WHERE id = $1 AND status IN ('pending', 'retrying')",
                &[&id, &error],
            )
            .db()?
            == 1
        {
            dead.push(id);
        }
        // Others to the same channel: only those no live worker is sending right now.
        let rows = tx
            .query(
                "UPDATE deliveries SET status = 'dead', last_error = $4
                 WHERE channel_kind = $1 AND channel_address = $2 AND id <> $3 AND status IN ('pending', 'retrying')
                   AND (lease_until IS NULL OR lease_until <= $5)
                 RETURNING id",
                &[&kind, &d.channel.address, &id, &error, &at],
            )
            .db()?;
        for r in &rows {
            dead.push(r.try_get(0).db()?);
        }
        dead.sort_unstable();
        audit(tx, ctx, actions::DELIVERY_UNSUBSCRIBED, &format!("delivery:{id}"), &json!({"delivery_id": id, "channel": d.channel, "reason": reason, "dead": dead}))?;
        Ok(dead)
    })
}

pub(crate) fn disabled_channels(s: &PgStore) -> Result<Vec<DisabledChannel>> {
    s.read(|c| {
        let rows = c
            .query(
                "SELECT channel_kind, channel_address, reason, disabled_at, delivery_id FROM disabled_channels ORDER BY disabled_at, channel_kind, channel_address",
                &[],
            )
            .db()?;
        rows.iter()
            .map(|row| {
                let kind_text: String = row.try_get(0).db()?;
                let address: String = row.try_get(1).db()?;
                let key = format!("{kind_text}:{address}");
                let kind: ChannelKind = serde_json::from_value(serde_json::Value::String(kind_text.clone()))
                    .map_err(|_| StoreError::Corrupt { kind: "disabled_channel", id: key.clone(), reason: format!("unknown channel kind {kind_text:?}") })?;
                let at: String = row.try_get(3).db()?;
                Ok(DisabledChannel {
                    channel: ChannelSpec { kind, address },
                    reason: row.try_get(2).db()?,
                    disabled_at: parse_time("disabled_channel", &key, &at)?,
                    delivery_id: row.try_get(4).db()?,
                })
            })
            .collect()
    })
}

pub(crate) fn retry(s: &PgStore, id: i64, ctx: &AuditCtx) -> Result<Delivery> {
    s.write(|tx| {
        let before = load_delivery(tx, id)?.ok_or_else(|| StoreError::NotFound { kind: "delivery", id: id.to_string() })?;
        if before.status != DeliveryStatus::Dead {
            return Err(StoreError::InvalidState {
                kind: "delivery",
                id: id.to_string(),
                state: before.status.as_str().to_owned(),
                expected: DeliveryStatus::Dead.as_str().to_owned(),
            });
        }
        // A withdrawn warning stays withdrawn (see the SQLite twin).
        if before.notice.is_none()
            && tx.query_opt("SELECT 1 FROM warning_cancellations WHERE warning_id = $1", &[&before.warning_id.as_str()]).db()?.is_some()
        {
            return Err(StoreError::InvalidState { kind: "delivery", id: id.to_string(), state: "withdrawn (its warning was cancelled)".into(), expected: "a delivery of a warning in force".into() });
        }
        let enabled = tx
            .execute("DELETE FROM disabled_channels WHERE channel_kind = $1 AND channel_address = $2", &[&before.channel.kind.as_str(), &before.channel.address])
            .db()?
            > 0;
        tx.execute(
            "UPDATE deliveries SET status = 'pending', attempts = 0, next_attempt_at = $2, lease_owner = NULL, lease_until = NULL WHERE id = $1",
            &[&id, &time_text(&ctx.at)],
        )
        .db()?;
        let after = load_delivery(tx, id)?.ok_or_else(|| StoreError::NotFound { kind: "delivery", id: id.to_string() })?;
        audit(tx, ctx, actions::DELIVERY_RETRY, &format!("delivery:{id}"), &json!({"before": before, "after": after, "channel_enabled": enabled}))?;
        Ok(after)
    })
}
