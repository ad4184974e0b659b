//! The leased outbox (migration 2): claims with a lease, batched success marks, failures recorded
//! only by the lease holder, unsubscribed channels and the dead letters.
//!
//! Why leases: a worker killed between claiming and recording must not strand its deliveries. An
//! expired lease makes a delivery claimable again, so another worker (or the restarted one) sends
//! it; receivers drop the duplicate by its idempotency key.

use super::rows::{delivery_row, DELIVERY_COLS};
use super::{audit, load_delivery, SqliteStore};
#[allow(unused_imports)]
use crate::Db;
use rusqlite::{params, Connection, OptionalExtension};
use serde_json::json;
use tocsin_core::tracking::{Delivery, DeliveryStatus};
use tocsin_core::{ChannelKind, ChannelSpec, Timestamp};
use tocsin_store::record::{actions, bulk_subject, parse_time, time_text};
use tocsin_store::{AuditCtx, DisabledChannel, Result, StoreError};

fn id_texts(ids: &[i64]) -> Vec<String> {
    ids.iter().map(i64::to_string).collect()
}

fn subject(ids: &[i64]) -> String {
    let texts = id_texts(ids);
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    bulk_subject("delivery", "deliveries", &refs)
}

fn limit_i64(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}

pub(super) fn claim(
    s: &SqliteStore,
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
    s.write(|tx| {
        let mut claimed = Vec::new();
        {
            let mut stmt = tx
                .prepare_cached(&format!(
                    "UPDATE deliveries SET lease_owner = ?1, lease_until = ?2, claims = claims + 1
                 WHERE id IN (
                     SELECT id FROM deliveries
                     WHERE status IN ('pending', 'retrying') AND next_attempt_at <= ?3
                       AND (lease_until IS NULL OR lease_until <= ?3)
                     ORDER BY next_attempt_at, id LIMIT ?4)
                 RETURNING {DELIVERY_COLS}"
                ))
                .db()?;
            let mut rows = stmt
                .query(params![
                    worker_id,
                    time_text(&until),
                    time_text(&now),
                    limit_i64(limit)
                ])
                .db()?;
            while let Some(row) = rows.next().db()? {
                claimed.push(delivery_row(row)?);
            }
        }
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

pub(super) fn renew(
    s: &SqliteStore,
    ids: &[i64],
    worker_id: &str,
    until: Timestamp,
    ctx: &AuditCtx,
) -> Result<Vec<i64>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    s.write(|tx| {
        let mut renewed = Vec::new();
        {
            let mut stmt = tx.prepare_cached(
                "UPDATE deliveries SET lease_until = ?3 WHERE id = ?1 AND lease_owner = ?2 AND status IN ('pending', 'retrying')",
            ).db()?;
            for id in ids {
                if stmt.execute(params![id, worker_id, time_text(&until)]).db()? == 1 {
                    renewed.push(*id);
                }
            }
        }
        if !renewed.is_empty() {
            audit(tx, ctx, actions::DELIVERY_LEASE, &subject(&renewed), &json!({"worker": worker_id, "lease_until": time_text(&until), "ids": renewed}))?;
        }
        Ok(renewed)
    })
}

pub(super) fn delivered_batch(s: &SqliteStore, ids: &[i64], ctx: &AuditCtx) -> Result<Vec<i64>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let at = time_text(&ctx.at);
    s.write(|tx| {
        let mut marked = Vec::with_capacity(ids.len());
        {
            let mut stmt = tx.prepare_cached(
                "UPDATE deliveries SET status = 'delivered', attempts = attempts + 1, delivered_at = ?2, lease_owner = NULL, lease_until = NULL
                 WHERE id = ?1 AND status IN ('pending', 'retrying')",
            ).db()?;
            for id in ids {
                if stmt.execute(params![id, at]).db()? == 1 {
                    marked.push(*id);
                }
            }
        }
        if !marked.is_empty() {
            // One event per batch keeps the chain meaningful (it names every delivery) without
            // one hash-chained row per recipient.
            audit(tx, ctx, actions::DELIVERY_DELIVERED, &subject(&marked), &json!({"delivered_at": at, "ids": marked}))?;
        }
        Ok(marked)
    })
}

pub(super) fn fail_claimed(
    s: &SqliteStore,
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
        let changed = tx.execute(
            "UPDATE deliveries SET status = ?3, attempts = attempts + 1, last_error = ?4,
                    next_attempt_at = COALESCE(?5, next_attempt_at), lease_owner = NULL, lease_until = NULL
             WHERE id = ?1 AND lease_owner = ?2 AND status IN ('pending', 'retrying')",
            params![id, worker_id, status.as_str(), error, retry_at.as_ref().map(time_text)],
        ).db()?;
        if changed == 0 {
            return Ok(false);
        }
        let d = load_delivery(tx, id)?.ok_or_else(|| StoreError::NotFound { kind: "delivery", id: id.to_string() })?;
        audit(tx, ctx, action, &format!("delivery:{id}"), &d)?;
        Ok(true)
    })
}

pub(super) fn unsubscribe(
    s: &SqliteStore,
    id: i64,
    reason: &str,
    ctx: &AuditCtx,
) -> Result<Vec<i64>> {
    s.write(|tx| {
        let d = load_delivery(tx, id)?.ok_or_else(|| StoreError::NotFound { kind: "delivery", id: id.to_string() })?;
        let kind = d.channel.kind.as_str();
        let at = time_text(&ctx.at);
        tx.execute(
            "INSERT INTO disabled_channels (channel_kind, channel_address, reason, disabled_at, delivery_id) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (channel_kind, channel_address) DO UPDATE SET reason = excluded.reason, disabled_at = excluded.disabled_at, delivery_id = excluded.delivery_id",
            params![kind, d.channel.address, reason, at, id],
        ).db()?;
        let error = format!("channel unsubscribed: {reason}");
        let mut dead = Vec::new();
        if tx.execute(
            "UPDATE deliveries SET status = 'dead', attempts = attempts + 1, last_error = ?2, lease_owner = NULL, lease_until = NULL
             WHERE id = ?1 AND status IN ('pending', 'retrying')",
            params![id, error],
        ).db()? == 1
        {
            dead.push(id);
        }
        {
            // Others to the same channel: only those no live worker is sending right now (a
            // leased one is recorded by its holder, who will meet the same answer).
            let mut stmt = tx.prepare_cached(
                "UPDATE deliveries SET status = 'dead', last_error = ?4
                 WHERE channel_kind = ?1 AND channel_address = ?2 AND id <> ?3 AND status IN ('pending', 'retrying')
                   AND (lease_until IS NULL OR lease_until <= ?5)
                 RETURNING id",
            ).db()?;
            let mut rows = stmt.query(params![kind, d.channel.address, id, error, at]).db()?;
            while let Some(row) = rows.next().db()? {
                dead.push(row.get(0).db()?);
            }
        }
        dead.sort_unstable();
        audit(
            tx,
            ctx,
            actions::DELIVERY_UNSUBSCRIBED,
            &format!("delivery:{id}"),
            &json!({"delivery_id": id, "channel": d.channel, "reason": reason, "dead": dead}),
        )?;
        Ok(dead)
    })
}

pub(super) fn disabled_channels(s: &SqliteStore) -> Result<Vec<DisabledChannel>> {
    s.read(|c: &Connection| {
        let mut stmt = c.prepare_cached(
            "SELECT channel_kind, channel_address, reason, disabled_at, delivery_id FROM disabled_channels ORDER BY disabled_at, channel_kind, channel_address",
        ).db()?;
        let mut rows = stmt.query([]).db()?;
        let mut out = Vec::new();
        while let Some(row) = rows.next().db()? {
            let kind_text: String = row.get(0).db()?;
            let address: String = row.get(1).db()?;
            let key = format!("{kind_text}:{address}");
            let kind: ChannelKind = serde_json::from_value(serde_json::Value::String(kind_text.clone()))
                .map_err(|_| StoreError::Corrupt { kind: "disabled_channel", id: key.clone(), reason: format!("unknown channel kind {kind_text:?}") })?;
            let at: String = row.get(3).db()?;
            out.push(DisabledChannel {
                channel: ChannelSpec { kind, address },
                reason: row.get(2).db()?,
                disabled_at: parse_time("disabled_channel", &key, &at)?,
                delivery_id: row.get(4).db()?,
            });
        }
        Ok(out)
    })
}

pub(super) fn retry(s: &SqliteStore, id: i64, ctx: &AuditCtx) -> Result<Delivery> {
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
        // A withdrawn warning stays withdrawn: its own deliveries are not sent again (its notices,
        // such as the cancel notice itself, may be).
        if before.notice.is_none() {
            let cancelled: Option<i64> = tx
                .query_row("SELECT 1 FROM warning_cancellations WHERE warning_id = ?1", [before.warning_id.as_str()], |r| r.get(0))
                .optional().db()?;
            if cancelled.is_some() {
                return Err(StoreError::InvalidState { kind: "delivery", id: id.to_string(), state: "withdrawn (its warning was cancelled)".into(), expected: "a delivery of a warning in force".into() });
            }
        }
        let enabled = tx.execute(
            "DELETE FROM disabled_channels WHERE channel_kind = ?1 AND channel_address = ?2",
            params![before.channel.kind.as_str(), before.channel.address],
        ).db()? > 0;
        tx.execute(
            "UPDATE deliveries SET status = 'pending', attempts = 0, next_attempt_at = ?2, lease_owner = NULL, lease_until = NULL WHERE id = ?1",
            params![id, time_text(&ctx.at)],
        ).db()?;
        let after = load_delivery(tx, id)?.ok_or_else(|| StoreError::NotFound { kind: "delivery", id: id.to_string() })?;
        audit(tx, ctx, actions::DELIVERY_RETRY, &format!("delivery:{id}"), &json!({"before": before, "after": after, "channel_enabled": enabled}))?;
        Ok(after)
    })
}

#[cfg(test)]
mod tests;
