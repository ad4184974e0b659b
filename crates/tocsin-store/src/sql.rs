//! The statement layer every backend implements, so that each store operation ([`crate::ops`]) is
//! written once, above it.
//!
//! A backend supplies a [`Conn`]: run a statement with [`Arg`]s, get rows of [`SqlValue`] cells.
//! Statements are written in the portable subset both databases accept, with numbered
//! placeholders `?1`, `?2`, … (PostgreSQL's driver rewrites them to `$1`, `$2`, … before
//! preparing). Where the best statement differs (PostgreSQL's `FOR UPDATE SKIP LOCKED`, array
//! parameters, `UNNEST` batches), the operation asks [`Conn::dialect`] and picks its text: the SQL
//! is then the only thing written twice.
//!
//! Rows come back as cells in the storage classes of the portable schema ([`SqlValue`]); booleans
//! as `Integer` 0/1 on both backends. Decoding a row into a record is done here, once
//! ([`delivery_row`], [`audit_row`], [`json_record`]): anything that does not decode is
//! [`StoreError::Corrupt`] naming its kind and id, never skipped.

use crate::dump::SqlValue;
use crate::record::{decode, parse_time};
use crate::{Result, StoreError};
use serde::de::DeserializeOwned;
use tocsin_core::audit::AuditEvent;
use tocsin_core::tracking::{Delivery, DeliveryStatus};
use tocsin_core::{AudienceId, ChannelKind, ChannelSpec, WarningId};

/// Which database a [`Conn`] talks to, for the few statements whose best text differs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

/// A statement parameter.
#[derive(Debug, Clone, Copy)]
pub enum Arg<'a> {
    Null,
    Int(i64),
    Real(f64),
    Text(&'a str),
    Bool(bool),
    /// An array of integers (PostgreSQL only: `= ANY(?1)`, `UNNEST(?1)`).
    Ints(&'a [i64]),
    /// An array of texts (PostgreSQL only).
    Texts(&'a [&'a str]),
    /// An array of floats (PostgreSQL only).
    Reals(&'a [f64]),
}

impl<'a> From<&'a str> for Arg<'a> {
    fn from(s: &'a str) -> Self {
        Arg::Text(s)
    }
}

impl<'a> From<&'a String> for Arg<'a> {
    fn from(s: &'a String) -> Self {
        Arg::Text(s)
    }
}

impl From<i64> for Arg<'_> {
    fn from(n: i64) -> Self {
        Arg::Int(n)
    }
}

impl From<f64> for Arg<'_> {
    fn from(f: f64) -> Self {
        Arg::Real(f)
    }
}

impl From<bool> for Arg<'_> {
    fn from(b: bool) -> Self {
        Arg::Bool(b)
    }
}

impl<'a, T: Into<Arg<'a>>> From<Option<T>> for Arg<'a> {
    fn from(v: Option<T>) -> Self {
        v.map_or(Arg::Null, Into::into)
    }
}

/// A failed statement, as the driver reported it.
#[derive(Debug, Clone)]
pub struct DbFailure {
    /// A UNIQUE or PRIMARY KEY constraint failed.
    pub unique_violation: bool,
    /// The driver's message (with the server's SQLSTATE where there is one).
    pub text: String,
}

impl DbFailure {
    /// The failure of an insert that may collide with a stored `kind` named `id`.
    pub fn on_insert(self, kind: &'static str, id: impl Into<String>) -> StoreError {
        crate::record::insert_error(kind, id.into(), self.unique_violation, self.text)
    }
}

impl From<DbFailure> for StoreError {
    fn from(f: DbFailure) -> Self {
        StoreError::Db(f.text)
    }
}

pub type DbResult<T> = std::result::Result<T, DbFailure>;

/// One row: its cells in the order the statement selected them.
pub type Row = Vec<SqlValue>;

/// A connection or a transaction of one backend. Inside a write, everything runs in the write's
/// transaction (and, on PostgreSQL, under the chain lock).
pub trait Conn {
    fn dialect(&self) -> Dialect;
    /// Run a statement; the number of rows it changed.
    fn exec(&mut self, sql: &str, args: &[Arg<'_>]) -> DbResult<u64>;
    /// Run a statement; every row it returns.
    fn rows(&mut self, sql: &str, args: &[Arg<'_>]) -> DbResult<Vec<Row>>;

    /// Run statements given as one text, without parameters or results (PostgreSQL's
    /// transaction-local planner settings).
    fn batch(&mut self, sql: &str) -> DbResult<()>;

    /// The first row, if any.
    fn row(&mut self, sql: &str, args: &[Arg<'_>]) -> DbResult<Option<Row>> {
        Ok(self.rows(sql, args)?.into_iter().next())
    }
}

/// Whether a statement returns a row.
pub fn exists(c: &mut dyn Conn, sql: &str, args: &[Arg<'_>]) -> Result<bool> {
    Ok(c.row(sql, args)?.is_some())
}

fn corrupt(kind: &'static str, id: &str, reason: String) -> StoreError {
    StoreError::Corrupt {
        kind,
        id: id.to_owned(),
        reason,
    }
}

/// A key cell (text or integer) as text, for error messages.
pub fn key_text(v: &SqlValue) -> String {
    match v {
        SqlValue::Integer(n) => n.to_string(),
        SqlValue::Text(t) => t.clone(),
        SqlValue::Real(f) => f.to_string(),
        SqlValue::Null => "NULL".to_owned(),
    }
}

fn cell<'r>(row: &'r Row, i: usize, kind: &'static str, id: &str) -> Result<&'r SqlValue> {
    row.get(i)
        .ok_or_else(|| corrupt(kind, id, format!("row has no column {i}")))
}

/// Text in column `i` (`NULL` or another class is corrupt).
pub fn text(row: &Row, i: usize, kind: &'static str, id: &str) -> Result<String> {
    match cell(row, i, kind, id)? {
        SqlValue::Text(t) => Ok(t.clone()),
        other => Err(corrupt(
            kind,
            id,
            format!("column {i} holds {other:?}, not text"),
        )),
    }
}

/// Text or `NULL` in column `i`.
pub fn opt_text(row: &Row, i: usize, kind: &'static str, id: &str) -> Result<Option<String>> {
    match cell(row, i, kind, id)? {
        SqlValue::Null => Ok(None),
        _ => text(row, i, kind, id).map(Some),
    }
}

/// An integer in column `i`.
pub fn int(row: &Row, i: usize, kind: &'static str, id: &str) -> Result<i64> {
    match cell(row, i, kind, id)? {
        SqlValue::Integer(n) => Ok(*n),
        other => Err(corrupt(
            kind,
            id,
            format!("column {i} holds {other:?}, not an integer"),
        )),
    }
}

/// An integer or `NULL` in column `i`.
pub fn opt_int(row: &Row, i: usize, kind: &'static str, id: &str) -> Result<Option<i64>> {
    match cell(row, i, kind, id)? {
        SqlValue::Null => Ok(None),
        _ => int(row, i, kind, id).map(Some),
    }
}

/// A boolean (stored 0/1) in column `i`.
pub fn boolean(row: &Row, i: usize, kind: &'static str, id: &str) -> Result<bool> {
    Ok(int(row, i, kind, id)? != 0)
}

/// The integer in the first column of the first row (`COUNT(*)`, `RETURNING id`).
pub fn scalar_int(c: &mut dyn Conn, sql: &str, args: &[Arg<'_>]) -> Result<i64> {
    let row = c
        .row(sql, args)?
        .ok_or_else(|| StoreError::Db(format!("no row from {sql:?}")))?;
    int(&row, 0, "value", "0")
}

/// Decode the JSON record in column `i` of a row whose id is `id`.
pub fn json_cell<T: DeserializeOwned>(
    row: &Row,
    i: usize,
    kind: &'static str,
    id: &str,
) -> Result<T> {
    match cell(row, i, kind, id)? {
        SqlValue::Text(s) => decode(kind, id, s),
        SqlValue::Null => Err(corrupt(kind, id, "JSON column is NULL".into())),
        other => Err(corrupt(
            kind,
            id,
            format!("JSON column holds {other:?}, not text"),
        )),
    }
}

/// A row `(id, json)` decoded into its record.
pub fn json_record<T: DeserializeOwned>(row: &Row, kind: &'static str) -> Result<T> {
    let id = row.first().map(key_text).unwrap_or_default();
    json_cell(row, 1, kind, &id)
}

/// Run a query whose rows are `(id, json)` and decode every record.
pub fn query_json<T: DeserializeOwned>(
    c: &mut dyn Conn,
    kind: &'static str,
    sql: &str,
    args: &[Arg<'_>],
) -> Result<Vec<T>> {
    c.rows(sql, args)?
        .iter()
        .map(|row| json_record(row, kind))
        .collect()
}

/// Like [`query_json`] for at most one row.
pub fn query_one_json<T: DeserializeOwned>(
    c: &mut dyn Conn,
    kind: &'static str,
    sql: &str,
    args: &[Arg<'_>],
) -> Result<Option<T>> {
    c.row(sql, args)?
        .map(|row| json_record(&row, kind))
        .transpose()
}

/// The columns [`delivery_row`] reads, in its order.
pub const DELIVERY_COLS: &str =
    "id, warning_id, audience_id, channel_kind, channel_address, idempotency_key, status, attempts, next_attempt_at, last_error, delivered_at, notice";

/// The columns [`audit_row`] reads, in its order.
pub const AUDIT_COLS: &str = "seq, at, actor, action, subject, payload_digest, prev_hash, hash";

/// A row selected with [`DELIVERY_COLS`].
pub fn delivery_row(row: &Row) -> Result<Delivery> {
    const KIND: &str = "delivery";
    let id = int(row, 0, KIND, "?")?;
    let sid = id.to_string();
    let sid = sid.as_str();
    let channel_kind = text(row, 3, KIND, sid)?;
    let kind: ChannelKind = serde_json::from_value(serde_json::Value::String(channel_kind.clone()))
        .map_err(|_| corrupt(KIND, sid, format!("unknown channel kind {channel_kind:?}")))?;
    let status = text(row, 6, KIND, sid)?;
    let status = DeliveryStatus::parse(&status)
        .ok_or_else(|| corrupt(KIND, sid, format!("unknown status {status:?}")))?;
    let attempts = int(row, 7, KIND, sid)?;
    let attempts = u32::try_from(attempts)
        .map_err(|_| corrupt(KIND, sid, format!("attempts out of range: {attempts}")))?;
    let notice = opt_text(row, 11, KIND, sid)?
        .map(|n| {
            serde_json::from_str(&n)
                .map_err(|e| corrupt(KIND, sid, format!("notice is not valid JSON: {e}")))
        })
        .transpose()?;
    Ok(Delivery {
        id,
        warning_id: WarningId::new(text(row, 1, KIND, sid)?),
        audience_id: AudienceId::new(text(row, 2, KIND, sid)?),
        channel: ChannelSpec {
            kind,
            address: text(row, 4, KIND, sid)?,
        },
        idempotency_key: text(row, 5, KIND, sid)?,
        status,
        attempts,
        next_attempt_at: parse_time(KIND, sid, &text(row, 8, KIND, sid)?)?,
        last_error: opt_text(row, 9, KIND, sid)?,
        delivered_at: opt_text(row, 10, KIND, sid)?
            .map(|s| parse_time(KIND, sid, &s))
            .transpose()?,
        notice,
    })
}

/// Rows selected with [`DELIVERY_COLS`].
pub fn query_deliveries(c: &mut dyn Conn, sql: &str, args: &[Arg<'_>]) -> Result<Vec<Delivery>> {
    c.rows(sql, args)?.iter().map(delivery_row).collect()
}

/// A row selected with [`AUDIT_COLS`].
pub fn audit_row(row: &Row) -> Result<AuditEvent> {
    const KIND: &str = "audit_event";
    let seq = int(row, 0, KIND, "?")?;
    let sid = seq.to_string();
    let sid = sid.as_str();
    let seq = u64::try_from(seq).map_err(|_| corrupt(KIND, sid, "negative seq".into()))?;
    Ok(AuditEvent {
        seq,
        at: parse_time(KIND, sid, &text(row, 1, KIND, sid)?)?,
        actor: text(row, 2, KIND, sid)?,
        action: text(row, 3, KIND, sid)?,
        subject: text(row, 4, KIND, sid)?,
        payload_digest: text(row, 5, KIND, sid)?,
        prev_hash: text(row, 6, KIND, sid)?,
        hash: text(row, 7, KIND, sid)?,
    })
}

/// Rewrite `?N` placeholders to PostgreSQL's `$N` (outside quoted text).
pub fn numbered_to_dollar(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut quoted = false;
    let mut chars = sql.chars().peekable();
    while let Some(ch) = chars.next() {
        match ch {
            '\'' => {
                quoted = !quoted;
                out.push(ch);
            }
            '?' if !quoted && chars.peek().is_some_and(char::is_ascii_digit) => out.push('$'),
            _ => out.push(ch),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_become_dollars_outside_quotes() {
        assert_eq!(
            numbered_to_dollar("SELECT '?1', x FROM t WHERE a = ?1 AND b = ?12 AND c ? 'k'"),
            "SELECT '?1', x FROM t WHERE a = $1 AND b = $12 AND c ? 'k'"
        );
    }

    #[test]
    fn a_bad_cell_is_corrupt_naming_its_record() {
        let row = vec![SqlValue::Text("T1".into()), SqlValue::Integer(3)];
        match json_record::<serde_json::Value>(&row, "threat") {
            Err(StoreError::Corrupt { kind, id, .. }) => {
                assert_eq!((kind, id.as_str()), ("threat", "T1"));
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            text(&row, 1, "x", "1"),
            Err(StoreError::Corrupt { .. })
        ));
        assert!(matches!(
            int(&row, 5, "x", "1"),
            Err(StoreError::Corrupt { .. })
        ));
        assert_eq!(opt_int(&row, 1, "x", "1").unwrap(), Some(3));
    }
}
