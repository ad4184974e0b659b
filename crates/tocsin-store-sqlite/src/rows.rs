//! Reading rows back: JSON records, deliveries, audit events. Anything that does not decode is
//! reported as [`StoreError::Corrupt`] naming the record kind and its id, never silently skipped.

#[allow(unused_imports)]
use crate::Db;
use rusqlite::types::ValueRef;
use rusqlite::{Connection, Row};
use serde::de::DeserializeOwned;
use tocsin_core::audit::AuditEvent;
use tocsin_store::record::{decode, parse_time};
use tocsin_store::{Result, StoreError};

pub(crate) const AUDIT_COLS: &str =
    "seq, at, actor, action, subject, payload_digest, prev_hash, hash";

/// A UNIQUE or PRIMARY KEY constraint failed (a duplicate id or idempotency key).
pub(crate) fn is_unique_violation(e: &rusqlite::Error) -> bool {
    use rusqlite::ffi::{SQLITE_CONSTRAINT_PRIMARYKEY, SQLITE_CONSTRAINT_UNIQUE};
    matches!(e, rusqlite::Error::SqliteFailure(f, _) if f.extended_code == SQLITE_CONSTRAINT_UNIQUE || f.extended_code == SQLITE_CONSTRAINT_PRIMARYKEY)
}

/// A key cell (text or integer) as text, for error messages.
fn key_text(row: &Row<'_>, idx: usize) -> Result<String> {
    Ok(match row.get_ref(idx).db()? {
        ValueRef::Integer(n) => n.to_string(),
        ValueRef::Text(t) => String::from_utf8_lossy(t).into_owned(),
        ValueRef::Real(f) => f.to_string(),
        ValueRef::Null => "NULL".to_owned(),
        ValueRef::Blob(_) => "<blob>".to_owned(),
    })
}

/// Decode the JSON record in column `idx` of a row whose id is `id`.
pub(crate) fn json_cell<T: DeserializeOwned>(
    row: &Row<'_>,
    idx: usize,
    kind: &'static str,
    id: &str,
) -> Result<T> {
    match row.get_ref(idx).db()? {
        ValueRef::Text(t) => {
            let s = std::str::from_utf8(t).map_err(|e| StoreError::Corrupt {
                kind,
                id: id.to_owned(),
                reason: format!("JSON is not UTF-8: {e}"),
            })?;
            decode(kind, id, s)
        }
        other => Err(StoreError::Corrupt {
            kind,
            id: id.to_owned(),
            reason: format!("JSON column holds {:?}, not text", other.data_type()),
        }),
    }
}

/// Run a query whose rows are `(id, json)` and decode every record.
pub(crate) fn query_json<T: DeserializeOwned>(
    conn: &Connection,
    kind: &'static str,
    sql: &str,
    params: impl rusqlite::Params,
) -> Result<Vec<T>> {
    let mut stmt = conn.prepare_cached(sql).db()?;
    let mut rows = stmt.query(params).db()?;
    let mut out = Vec::new();
    while let Some(row) = rows.next().db()? {
        let id = key_text(row, 0)?;
        out.push(json_cell(row, 1, kind, &id)?);
    }
    Ok(out)
}

/// Like [`query_json`] for at most one row.
pub(crate) fn query_one_json<T: DeserializeOwned>(
    conn: &Connection,
    kind: &'static str,
    sql: &str,
    params: impl rusqlite::Params,
) -> Result<Option<T>> {
    let mut stmt = conn.prepare_cached(sql).db()?;
    let mut rows = stmt.query(params).db()?;
    match rows.next().db()? {
        Some(row) => {
            let id = key_text(row, 0)?;
            Ok(Some(json_cell(row, 1, kind, &id)?))
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
pub(crate) fn audit_row(row: &Row<'_>) -> Result<AuditEvent> {
    const KIND: &str = "audit_event";
    let seq: i64 = row.get(0).db()?;
    let sid = seq.to_string();
    let seq = u64::try_from(seq).map_err(|_| corrupt(KIND, &sid, "negative seq".into()))?;
    let text = |i: usize| -> Result<String> {
        match row.get_ref(i).db()? {
            ValueRef::Text(t) => String::from_utf8(t.to_vec())
                .map_err(|e| corrupt(KIND, &sid, format!("column {i} is not UTF-8: {e}"))),
            other => Err(corrupt(
                KIND,
                &sid,
                format!("column {i} holds {:?}, not text", other.data_type()),
            )),
        }
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
