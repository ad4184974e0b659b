//! The portable statement layer ([`tocsin_store::sql::Conn`]) on SQLite: statements are cached per
//! connection (`prepare_cached`), `?N` placeholders are SQLite's own, cells come back in their
//! storage class.

use rusqlite::types::{ToSqlOutput, Value, ValueRef};
use rusqlite::{params_from_iter, Connection, ToSql};
use tocsin_store::dump::SqlValue;
use tocsin_store::sql::{Arg, Conn, DbFailure, DbResult, Dialect};

/// A connection (or the transaction it is in) as a [`Conn`].
pub(crate) struct Lite<'c>(pub(crate) &'c Connection);

fn failure(e: &rusqlite::Error) -> DbFailure {
    DbFailure {
        unique_violation: is_unique_violation(e),
        text: e.to_string(),
    }
}

/// A UNIQUE or PRIMARY KEY constraint failed (a duplicate id or idempotency key).
pub(crate) fn is_unique_violation(e: &rusqlite::Error) -> bool {
    use rusqlite::ffi::{SQLITE_CONSTRAINT_PRIMARYKEY, SQLITE_CONSTRAINT_UNIQUE};
    matches!(e, rusqlite::Error::SqliteFailure(f, _) if f.extended_code == SQLITE_CONSTRAINT_UNIQUE || f.extended_code == SQLITE_CONSTRAINT_PRIMARYKEY)
}

struct Bind<'a>(Arg<'a>);

impl ToSql for Bind<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match self.0 {
            Arg::Null => ToSqlOutput::Owned(Value::Null),
            Arg::Int(n) => ToSqlOutput::Owned(Value::Integer(n)),
            Arg::Real(f) => ToSqlOutput::Owned(Value::Real(f)),
            Arg::Text(s) => ToSqlOutput::Borrowed(ValueRef::Text(s.as_bytes())),
            Arg::Bool(b) => ToSqlOutput::Owned(Value::Integer(b.into())),
            other => {
                return Err(rusqlite::Error::ToSqlConversionFailure(
                    format!("SQLite takes no array parameter ({other:?})").into(),
                ))
            }
        })
    }
}

impl Conn for Lite<'_> {
    fn dialect(&self) -> Dialect {
        Dialect::Sqlite
    }

    fn batch(&mut self, sql: &str) -> DbResult<()> {
        self.0.execute_batch(sql).map_err(|e| failure(&e))
    }

    fn exec(&mut self, sql: &str, args: &[Arg<'_>]) -> DbResult<u64> {
        let mut st = self.0.prepare_cached(sql).map_err(|e| failure(&e))?;
        let n = st
            .execute(params_from_iter(args.iter().map(|a| Bind(*a))))
            .map_err(|e| failure(&e))?;
        Ok(n as u64)
    }

    fn rows(&mut self, sql: &str, args: &[Arg<'_>]) -> DbResult<Vec<Vec<SqlValue>>> {
        let mut st = self.0.prepare_cached(sql).map_err(|e| failure(&e))?;
        let n = st.column_count();
        let mut rows = st
            .query(params_from_iter(args.iter().map(|a| Bind(*a))))
            .map_err(|e| failure(&e))?;
        let mut out = Vec::new();
        while let Some(row) = rows.next().map_err(|e| failure(&e))? {
            let mut cells = Vec::with_capacity(n);
            for i in 0..n {
                cells.push(match row.get_ref(i).map_err(|e| failure(&e))? {
                    ValueRef::Null => SqlValue::Null,
                    ValueRef::Integer(v) => SqlValue::Integer(v),
                    ValueRef::Real(v) => SqlValue::Real(v),
                    ValueRef::Text(t) => SqlValue::Text(String::from_utf8_lossy(t).into_owned()),
                    ValueRef::Blob(_) => {
                        return Err(DbFailure {
                            unique_violation: false,
                            text: format!("column {i} of {sql:?} holds a blob"),
                        })
                    }
                });
            }
            out.push(cells);
        }
        Ok(out)
    }
}
