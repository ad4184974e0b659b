//! Reading rows back: JSON records, deliveries, audit events. Mirrors the SQLite backend's
//! `rows.rs`: anything that does not decode is [`StoreError::Corrupt`] naming its kind and id.

use crate::sql::Sql;
use crate::Db;
use postgres::types::Type;
use postgres::Row;
use serde::de::DeserializeOwned;
use tocsin_core::audit::AuditEvent;
use tocsin_core::tracking::{Delivery, DeliveryStatus};
use tocsin_core::{AudienceId, ChannelKind, ChannelSpec, WarningId};
use tocsin_store::record::{decode, parse_time};
use tocsin_store::{Result, StoreError};

pub(crate) const DELIVERY_COLS: &str =
    "id, warning_id, audience_id, channel_kind, channel_address, idempotency_key, status, attempts, next_attempt_at, last_error, delivered_at, notice";

pub(crate) const AUDIT_COLS: &str =
    "seq, at, actor, action, subject, payload_digest, prev_hash, hash";

pub(crate) use crate::sql::Params;

/// A key cell (text or integer) as text, for error messages.
fn key_text(row: &Row, idx: usize) -> Result<String> {
    let ty = row.columns()[idx].type_().clone();
    Ok(if ty == Type::INT8 {
        row.try_get::<_, Option<i64>>(idx)
            .db()?
            .map_or_else(|| "NULL".into(), |n| n.to_string())
    } else {
        row.try_get::<_, Option<String>>(idx)
            .db()?
            .unwrap_or_else(|| "NULL".into())
    })
}

/// Decode the JSON record in column `idx` of a row whose id is `id`.
pub(crate) fn json_cell<T: DeserializeOwned>(
    row: &Row,
    idx: usize,
    kind: &'static str,
    id: &str,
) -> Result<T> {
    let s: Option<String> = row.try_get(idx).db()?;
    match s {
        Some(s) => decode(kind, id, &s),
        None => Err(StoreError::Corrupt {
            kind,
            id: id.to_owned(),
            reason: "JSON column is NULL".into(),
        }),
    }
}

/// Run a query whose rows are `(id, json)` and decode every record.
pub(crate) fn query_json<T: DeserializeOwned>(
    c: &mut impl Sql,
    kind: &'static str,
    sql: &str,
    params: Params<'_>,
) -> Result<Vec<T>> {
    let rows = c.query(sql, params).db()?;
    rows.iter()
        .map(|row| {
            let id = key_text(row, 0)?;
            json_cell(row, 1, kind, &id)
        })
        .collect()
}

/// Like [`query_json`] for at most one row.
pub(crate) fn query_one_json<T: DeserializeOwned>(
    c: &mut impl Sql,
    kind: &'static str,
    sql: &str,
    params: Params<'_>,
) -> Result<Option<T>> {
    match c.query_opt(sql, params).db()? {
        Some(row) => {
            let id = key_text(&row, 0)?;
            Ok(Some(json_cell(&row, 1, kind, &id)?))
        }
        None => Ok(None),
    }
}

fn corrupt(kind: &'static str, id: &str, reason: String) -> StoreError {
    StoreError::Corrupt {
        kind,
        id: id.to_owned(),
        reason,
    }
}

/// A row selected with [`DELIVERY_COLS`].
pub(crate) fn delivery_row(row: &Row) -> Result<Delivery> {
    const KIND: &str = "delivery";
    let id: i64 = row.try_get(0).db()?;
    let sid = id.to_string();
    let channel_kind: String = row.try_get(3).db()?;
    let kind: ChannelKind = serde_json::from_value(serde_json::Value::String(channel_kind.clone()))
        .map_err(|_| corrupt(KIND, &sid, format!("unknown channel kind {channel_kind:?}")))?;
    let status: String = row.try_get(6).db()?;
    let status = DeliveryStatus::parse(&status)
        .ok_or_else(|| corrupt(KIND, &sid, format!("unknown status {status:?}")))?;
    let attempts: i64 = row.try_get(7).db()?;
    let attempts = u32::try_from(attempts)
        .map_err(|_| corrupt(KIND, &sid, format!("attempts out of range: {attempts}")))?;
    let next: String = row.try_get(8).db()?;
    let delivered: Option<String> = row.try_get(10).db()?;
    let notice: Option<String> = row.try_get(11).db()?;
    let notice = notice
        .map(|n| {
            serde_json::from_str(&n)
                .map_err(|e| corrupt(KIND, &sid, format!("notice is not valid JSON: {e}")))
        })
        .transpose()?;
    Ok(Delivery {
        id,
        warning_id: WarningId::new(row.try_get::<_, String>(1).db()?),
        audience_id: AudienceId::new(row.try_get::<_, String>(2).db()?),
        channel: ChannelSpec {
            kind,
            address: row.try_get(4).db()?,
        },
        idempotency_key: row.try_get(5).db()?,
        status,
        attempts,
        next_attempt_at: parse_time(KIND, &sid, &next)?,
        last_error: row.try_get(9).db()?,
        delivered_at: delivered.map(|s| parse_time(KIND, &sid, &s)).transpose()?,
        notice,
    })
}

pub(crate) fn deliveries(rows: &[Row]) -> Result<Vec<Delivery>> {
    rows.iter().map(delivery_row).collect()
}

/// A row selected with [`AUDIT_COLS`].
pub(crate) fn audit_row(row: &Row) -> Result<AuditEvent> {
    const KIND: &str = "audit_event";
    let seq: i64 = row.try_get(0).db()?;
    let sid = seq.to_string();
    let seq = u64::try_from(seq).map_err(|_| corrupt(KIND, &sid, "negative seq".into()))?;
    let text = |i: usize| -> Result<String> {
        row.try_get::<_, Option<String>>(i)
            .db()?
            .ok_or_else(|| corrupt(KIND, &sid, format!("column {i} is NULL")))
    };
    Ok(AuditEvent {
        seq,
        at: parse_time(KIND, &sid, &text(1)?)?,
        actor: text(2)?,
        action: text(3)?,
        subject: text(4)?,
        payload_digest: text(5)?,
        prev_hash: text(6)?,
        hash: text(7)?,
    })
}
