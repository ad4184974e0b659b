//! Reading rows back: JSON records, deliveries, audit events. Mirrors the SQLite backend's
//! `rows.rs`: anything that does not decode is [`StoreError::Corrupt`] naming its kind and id.

use crate::sql::Sql;
use crate::Db;
use postgres::types::Type;
use postgres::Row;
use serde::de::DeserializeOwned;
use tocsin_core::audit::AuditEvent;
use tocsin_store::record::{decode, parse_time};
use tocsin_store::{Result, StoreError};

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
