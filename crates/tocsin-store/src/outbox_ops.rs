//! The leased outbox, written once for every backend: claims with a lease, batched success
//! marks, failures recorded only by the lease holder, unsubscribed channels and the dead letters.
//! See docs/delivery.md.
//!
//! Why leases: a worker killed between claiming and recording must not strand its deliveries. An
//! expired lease makes a delivery claimable again, so another worker (or the restarted one) sends
//! it; receivers drop the duplicate by its idempotency key.
//!
//! On PostgreSQL, claims select due rows `FOR UPDATE SKIP LOCKED` (a row another transaction is
//! claiming or recording is skipped, never waited for, so workers in several processes share the
//! outbox) and batched marks and renewals are one statement each (`id = ANY(…)`).

use crate::ops::{audit, delivery_for, failure_action, not_found, status_list, Backend};
use crate::record::{actions, bulk_subject, parse_time, time_text};
use crate::sql::{self, query_deliveries, Arg, Conn, Dialect, DELIVERY_COLS};
use crate::{Addresses, AuditCtx, ClaimScope, DisabledChannel, Result, StoreError};
use serde_json::json;
use std::collections::HashSet;
use tocsin_core::lifecycle::{delivery_transition, DeliveryEvent};
use tocsin_core::tracking::{Delivery, DeliveryStatus};
use tocsin_core::{ChannelKind, ChannelSpec, Timestamp};

/// Planner settings (PostgreSQL, transaction-local) for the claim: see [`claim`].
const PLAN_BY_INDEX_ORDER: &str = "SET LOCAL enable_sort = off; SET LOCAL enable_bitmapscan = off";
/// Marks by id: without statistics the planner also intersected the primary key with the whole
/// claimable index (a bitmap AND over every open delivery); the primary key alone is enough.
const PLAN_BY_KEY: &str = "SET LOCAL enable_bitmapscan = off";

fn plan(tx: &mut dyn Conn, settings: &str) -> Result<()> {
    if tx.dialect() == Dialect::Postgres {
        tx.batch(settings)?;
    }
    Ok(())
}

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

/// Run `update` (whose `?1` is one id, or on PostgreSQL the array of ids) for `ids`; the ids it
/// changed, in the caller's order.
fn update_each(tx: &mut dyn Conn, update: &str, ids: &[i64], rest: &[Arg<'_>]) -> Result<Vec<i64>> {
    let mut hit = HashSet::new();
    match tx.dialect() {
        Dialect::Postgres => {
            let mut args = vec![Arg::Ints(ids)];
            args.extend_from_slice(rest);
            for row in tx.rows(&format!("{update} RETURNING id"), &args)? {
                hit.insert(sql::int(&row, 0, "delivery", "?")?);
            }
        }
        Dialect::Sqlite => {
            for id in ids {
                let mut args = vec![Arg::Int(*id)];
                args.extend_from_slice(rest);
                if tx.exec(update, &args)? == 1 {
                    hit.insert(*id);
                }
            }
        }
    }
    Ok(in_order(ids, &hit))
}

/// `id = ?1` on SQLite (one id a statement), `id = ANY(?1)` on PostgreSQL (all at once).
fn id_match(tx: &dyn Conn) -> &'static str {
    match tx.dialect() {
        Dialect::Postgres => "id = ANY(?1)",
        Dialect::Sqlite => "id = ?1",
    }
}

pub(crate) fn claim(
    b: &impl Backend,
    now: Timestamp,
    worker_id: &str,
    lease: chrono::Duration,
    limit: usize,
    scope: &ClaimScope,
    ctx: &AuditCtx,
) -> Result<Vec<Delivery>> {
    if limit == 0 {
        return Ok(Vec::new());
    }
    // The deliveries this process can send, as a condition over (channel_kind, channel_address)
    // whose parameters follow the claim's own four.
    let mut texts: Vec<String> = Vec::new();
    let mut alternatives: Vec<String> = Vec::new();
    for (kind, addresses) in &scope.channels {
        if matches!(addresses, Addresses::Only(list) if list.is_empty()) {
            continue;
        }
        texts.push(kind.as_str().to_string());
        let k = format!("channel_kind = ?{}", 4 + texts.len());
        match addresses {
            Addresses::Any => alternatives.push(k),
            Addresses::Only(list) => {
                let mut marks = Vec::new();
                for a in list {
                    texts.push(a.clone());
                    marks.push(format!("?{}", 4 + texts.len()));
                }
                alternatives.push(format!(
                    "({k} AND channel_address IN ({}))",
                    marks.join(", ")
                ));
            }
        }
    }
    if alternatives.is_empty() {
        return Ok(Vec::new());
    }
    let within = alternatives.join(" OR ");
    let until = time_text(&(now + lease));
    let now = time_text(&now);
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let open = status_list(DeliveryEvent::Deliver);
    b.write_tx(&mut |tx| {
        // For this transaction only. Right after a fan-out the outbox has no statistics yet
        // (autoanalyze lags behind a bulk insert, or is off) and PostgreSQL's planner guesses a
        // handful of due rows: it then gathered *every* due row through a bitmap and sorted them
        // all on each claim, O(outbox) per claim. `deliveries_claimable` is already in claim
        // order; reading it in order and stopping at the LIMIT is the right plan whatever the
        // statistics say.
        plan(tx, PLAN_BY_INDEX_ORDER)?;
        let skip_locked = match tx.dialect() {
            Dialect::Postgres => "FOR UPDATE SKIP LOCKED",
            Dialect::Sqlite => "",
        };
        let mut args: Vec<Arg<'_>> = vec![
            worker_id.into(),
            until.as_str().into(),
            now.as_str().into(),
            limit.into(),
        ];
        args.extend(texts.iter().map(|t| Arg::Text(t.as_str())));
        let mut claimed = query_deliveries(
            tx,
            &format!(
                "UPDATE deliveries SET lease_owner = ?1, lease_until = ?2, claims = claims + 1
                 WHERE id IN (
                     SELECT id FROM deliveries
                     WHERE status IN ({open}) AND next_attempt_at <= ?3
                       AND (lease_until IS NULL OR lease_until <= ?3)
                     AND ({within})
                     ORDER BY next_attempt_at, id LIMIT ?4
                     {skip_locked})
                 RETURNING {DELIVERY_COLS}"
            ),
            &args,
        )?;
        // RETURNING gives no order: restore the claim order (oldest due first).
        claimed.sort_by_key(|d| (d.next_attempt_at, d.id));
        if !claimed.is_empty() {
            let ids: Vec<i64> = claimed.iter().map(|d| d.id).collect();
            audit(
                tx,
                ctx,
                actions::DELIVERY_CLAIM,
                &subject(&ids),
                &json!({"worker": worker_id, "lease_until": until, "ids": ids}),
            )?;
        }
        Ok(claimed)
    })
}

pub(crate) fn renew(
    b: &impl Backend,
    ids: &[i64],
    worker_id: &str,
    until: Timestamp,
    ctx: &AuditCtx,
) -> Result<Vec<i64>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let until = time_text(&until);
    let open = status_list(DeliveryEvent::Deliver);
    b.write_tx(&mut |tx| {
        plan(tx, PLAN_BY_KEY)?;
        let update = format!(
            "UPDATE deliveries SET lease_until = ?3 WHERE {} AND lease_owner = ?2 AND status IN ({open})",
            id_match(tx)
        );
        let renewed = update_each(tx, &update, ids, &[worker_id.into(), until.as_str().into()])?;
        if !renewed.is_empty() {
            audit(
                tx,
                ctx,
                actions::DELIVERY_LEASE,
                &subject(&renewed),
                &json!({"worker": worker_id, "lease_until": until, "ids": renewed}),
            )?;
        }
        Ok(renewed)
    })
}

pub(crate) fn delivered_batch(b: &impl Backend, ids: &[i64], ctx: &AuditCtx) -> Result<Vec<i64>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let at = time_text(&ctx.at);
    let open = status_list(DeliveryEvent::Deliver);
    let delivered = delivery_transition(DeliveryStatus::Pending, DeliveryEvent::Deliver)
        .map_err(|e| StoreError::Db(e.to_string()))?;
    b.write_tx(&mut |tx| {
        plan(tx, PLAN_BY_KEY)?;
        let update = format!(
            "UPDATE deliveries SET status = ?3, attempts = attempts + 1, delivered_at = ?2, lease_owner = NULL, lease_until = NULL
             WHERE {} AND status IN ({open})",
            id_match(tx)
        );
        let marked = update_each(tx, &update, ids, &[at.as_str().into(), delivered.as_str().into()])?;
        if !marked.is_empty() {
            // One event per batch keeps the chain meaningful (it names every delivery) without
            // one hash-chained row per recipient.
            audit(
                tx,
                ctx,
                actions::DELIVERY_DELIVERED,
                &subject(&marked),
                &json!({"delivered_at": at, "ids": marked}),
            )?;
        }
        Ok(marked)
    })
}

pub(crate) fn fail_claimed(
    b: &impl Backend,
    id: i64,
    worker_id: &str,
    error: &str,
    retry_at: Option<Timestamp>,
    ctx: &AuditCtx,
) -> Result<bool> {
    let event = DeliveryEvent::Fail {
        retry: retry_at.is_some(),
    };
    let open = status_list(event);
    // Every status the event may leave leads to the same one.
    let to = delivery_transition(DeliveryStatus::Pending, event)
        .map_err(|e| StoreError::Db(e.to_string()))?;
    let retry = retry_at.as_ref().map(time_text);
    b.write_tx(&mut |tx| {
        let changed = tx.exec(
            &format!(
                "UPDATE deliveries SET status = ?3, attempts = attempts + 1, last_error = ?4,
                        next_attempt_at = COALESCE(?5, next_attempt_at), lease_owner = NULL, lease_until = NULL
                 WHERE id = ?1 AND lease_owner = ?2 AND status IN ({open})"
            ),
            &[
                id.into(),
                worker_id.into(),
                to.as_str().into(),
                error.into(),
                retry.as_deref().into(),
            ],
        )?;
        if changed == 0 {
            return Ok(false);
        }
        let d = crate::ops::stored_delivery(tx, id)?;
        audit(
            tx,
            ctx,
            failure_action(retry_at.is_some()),
            &format!("delivery:{id}"),
            &d,
        )?;
        Ok(true)
    })
}

pub(crate) fn unsubscribe(
    b: &impl Backend,
    id: i64,
    reason: &str,
    ctx: &AuditCtx,
) -> Result<Vec<i64>> {
    let at = time_text(&ctx.at);
    let error = format!("channel unsubscribed: {reason}");
    let open = status_list(DeliveryEvent::Stop);
    let dead_status = delivery_transition(DeliveryStatus::Pending, DeliveryEvent::Stop)
        .map_err(|e| StoreError::Db(e.to_string()))?;
    b.write_tx(&mut |tx| {
        let d = crate::ops::stored_delivery(tx, id)?;
        let kind = d.channel.kind.as_str();
        tx.exec(
            "INSERT INTO disabled_channels (channel_kind, channel_address, reason, disabled_at, delivery_id) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (channel_kind, channel_address) DO UPDATE SET reason = excluded.reason, disabled_at = excluded.disabled_at, delivery_id = excluded.delivery_id",
            &[kind.into(), d.channel.address.as_str().into(), reason.into(), at.as_str().into(), id.into()],
        )?;
        let mut dead = Vec::new();
        if tx.exec(
            &format!(
                "UPDATE deliveries SET status = ?3, attempts = attempts + 1, last_error = ?2, lease_owner = NULL, lease_until = NULL
                 WHERE id = ?1 AND status IN ({open})"
            ),
            &[id.into(), error.as_str().into(), dead_status.as_str().into()],
        )? == 1
        {
            dead.push(id);
        }
        // Others to the same channel: only those no live worker is sending right now (a leased
        // one is recorded by its holder, who will meet the same answer).
        for row in tx.rows(
            &format!(
                "UPDATE deliveries SET status = ?6, last_error = ?4
                 WHERE channel_kind = ?1 AND channel_address = ?2 AND id <> ?3 AND status IN ({open})
                   AND (lease_until IS NULL OR lease_until <= ?5)
                 RETURNING id"
            ),
            &[
                kind.into(),
                d.channel.address.as_str().into(),
                id.into(),
                error.as_str().into(),
                at.as_str().into(),
                dead_status.as_str().into(),
            ],
        )? {
            dead.push(sql::int(&row, 0, "delivery", "?")?);
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

pub(crate) fn disabled_channels(b: &impl Backend) -> Result<Vec<DisabledChannel>> {
    const KIND: &str = "disabled_channel";
    b.read_conn(&|c| {
        c.rows(
            "SELECT channel_kind, channel_address, reason, disabled_at, delivery_id FROM disabled_channels ORDER BY disabled_at, channel_kind, channel_address",
            &[],
        )?
        .iter()
        .map(|row| {
            let kind_text = sql::text(row, 0, KIND, "?")?;
            let address = sql::text(row, 1, KIND, &kind_text)?;
            let key = format!("{kind_text}:{address}");
            let kind: ChannelKind =
                serde_json::from_value(serde_json::Value::String(kind_text.clone())).map_err(
                    |_| StoreError::Corrupt {
                        kind: KIND,
                        id: key.clone(),
                        reason: format!("unknown channel kind {kind_text:?}"),
                    },
                )?;
            Ok(DisabledChannel {
                channel: ChannelSpec { kind, address },
                reason: sql::text(row, 2, KIND, &key)?,
                disabled_at: parse_time(KIND, &key, &sql::text(row, 3, KIND, &key)?)?,
                delivery_id: sql::opt_int(row, 4, KIND, &key)?,
            })
        })
        .collect()
    })
}

pub(crate) fn retry(b: &impl Backend, id: i64, ctx: &AuditCtx) -> Result<Delivery> {
    let due = time_text(&ctx.at);
    b.write_tx(&mut |tx| {
        let (before, to) = delivery_for(tx, id, DeliveryEvent::Retry)?;
        // A withdrawn warning stays withdrawn: its own deliveries are not sent again (its notices,
        // such as the cancel notice itself, may be).
        if before.notice.is_none()
            && sql::exists(
                tx,
                "SELECT 1 FROM warning_cancellations WHERE warning_id = ?1",
                &[before.warning_id.as_str().into()],
            )?
        {
            return Err(StoreError::InvalidState {
                kind: "delivery",
                id: id.to_string(),
                state: "withdrawn (its warning was cancelled)".into(),
                expected: "a delivery of a warning in force".into(),
            });
        }
        let enabled = tx.exec(
            "DELETE FROM disabled_channels WHERE channel_kind = ?1 AND channel_address = ?2",
            &[
                before.channel.kind.as_str().into(),
                before.channel.address.as_str().into(),
            ],
        )? > 0;
        tx.exec(
            "UPDATE deliveries SET status = ?3, attempts = 0, next_attempt_at = ?2, lease_owner = NULL, lease_until = NULL WHERE id = ?1",
            &[id.into(), due.as_str().into(), to.as_str().into()],
        )?;
        let after = crate::ops::load_delivery(tx, id)?.ok_or_else(|| not_found("delivery", id))?;
        audit(
            tx,
            ctx,
            actions::DELIVERY_RETRY,
            &format!("delivery:{id}"),
            &json!({"before": before, "after": after, "channel_enabled": enabled}),
        )?;
        Ok(after)
    })
}
