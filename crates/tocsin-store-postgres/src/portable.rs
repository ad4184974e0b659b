//! The portable statement layer ([`tocsin_store::sql::Conn`]) on PostgreSQL: `?N` placeholders
//! rewritten to `$N` once per connection (the prepared statement is cached under the portable
//! text), parameters bound by the type the server inferred, cells read back in the portable
//! storage classes (booleans as 0/1).

use crate::describe;
use crate::sql::{Cx, Sql, Tx};
use postgres::types::{to_sql_checked, IsNull, ToSql, Type};
use postgres::{Row, Statement};
use std::error::Error as StdError;
use tocsin_store::dump::SqlValue;
use tocsin_store::sql::{numbered_to_dollar, Arg, Conn, DbFailure, DbResult, Dialect};

type BoxError = Box<dyn StdError + Sync + Send>;

fn failure(e: &postgres::Error) -> DbFailure {
    DbFailure {
        unique_violation: crate::is_unique_violation(e),
        text: describe(e),
    }
}

/// The prepared statement of a portable text, cached under that text.
fn prepared(c: &mut impl Sql, sql: &str) -> DbResult<Statement> {
    if let Some(st) = c.cache().get(sql) {
        return Ok(st.clone());
    }
    let st = c
        .raw_prepare(&numbered_to_dollar(sql))
        .map_err(|e| failure(&e))?;
    c.remember(sql, st.clone());
    Ok(st)
}

#[derive(Debug)]
struct Bind<'a>(Arg<'a>);

impl ToSql for Bind<'_> {
    fn to_sql(&self, ty: &Type, out: &mut bytes::BytesMut) -> Result<IsNull, BoxError> {
        match (self.0, ty) {
            (Arg::Null, _) => Ok(IsNull::Yes),
            (Arg::Int(n), &Type::INT8) => n.to_sql(ty, out),
            (Arg::Int(n), &Type::INT4) => i32::try_from(n)?.to_sql(ty, out),
            (Arg::Int(n), &Type::INT2) => i16::try_from(n)?.to_sql(ty, out),
            (Arg::Int(n), &Type::FLOAT8) => (n as f64).to_sql(ty, out),
            (Arg::Int(n), &Type::BOOL) => (n != 0).to_sql(ty, out),
            (Arg::Real(f), &Type::FLOAT8) => f.to_sql(ty, out),
            (Arg::Text(s), _) if <&str as ToSql>::accepts(ty) => s.to_sql(ty, out),
            (Arg::Bool(b), &Type::BOOL) => b.to_sql(ty, out),
            (Arg::Bool(b), &Type::INT8) => i64::from(b).to_sql(ty, out),
            (Arg::Ints(v), &Type::INT8_ARRAY) => v.to_sql(ty, out),
            (Arg::Texts(v), _) if <&[&str] as ToSql>::accepts(ty) => v.to_sql(ty, out),
            (Arg::Reals(v), &Type::FLOAT8_ARRAY) => v.to_sql(ty, out),
            (arg, ty) => Err(format!("cannot bind {arg:?} as {ty}").into()),
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    to_sql_checked!();
}

fn cell(row: &Row, i: usize) -> std::result::Result<SqlValue, postgres::Error> {
    let ty = row.columns()[i].type_().clone();
    Ok(match ty {
        Type::INT8 => row.try_get::<_, Option<i64>>(i)?.map(SqlValue::Integer),
        Type::INT4 => row
            .try_get::<_, Option<i32>>(i)?
            .map(|n| SqlValue::Integer(n.into())),
        Type::INT2 => row
            .try_get::<_, Option<i16>>(i)?
            .map(|n| SqlValue::Integer(n.into())),
        Type::FLOAT8 => row.try_get::<_, Option<f64>>(i)?.map(SqlValue::Real),
        Type::BOOL => row
            .try_get::<_, Option<bool>>(i)?
            .map(|b| SqlValue::Integer(b.into())),
        _ => row.try_get::<_, Option<String>>(i)?.map(SqlValue::Text),
    }
    .unwrap_or(SqlValue::Null))
}

fn run(c: &mut impl Sql, sql: &str, args: &[Arg<'_>]) -> DbResult<Vec<Vec<SqlValue>>> {
    let st = prepared(c, sql)?;
    let binds: Vec<Bind<'_>> = args.iter().map(|a| Bind(*a)).collect();
    let refs: Vec<&(dyn ToSql + Sync)> = binds.iter().map(|b| b as &(dyn ToSql + Sync)).collect();
    let rows = c.raw_query(&st, &refs).map_err(|e| failure(&e))?;
    rows.iter()
        .map(|row| (0..row.len()).map(|i| cell(row, i)).collect())
        .collect::<std::result::Result<_, _>>()
        .map_err(|e| failure(&e))
}

fn exec(c: &mut impl Sql, sql: &str, args: &[Arg<'_>]) -> DbResult<u64> {
    let st = prepared(c, sql)?;
    let binds: Vec<Bind<'_>> = args.iter().map(|a| Bind(*a)).collect();
    let refs: Vec<&(dyn ToSql + Sync)> = binds.iter().map(|b| b as &(dyn ToSql + Sync)).collect();
    c.raw_execute(&st, &refs).map_err(|e| failure(&e))
}

impl Conn for Tx<'_> {
    fn dialect(&self) -> Dialect {
        Dialect::Postgres
    }
    fn exec(&mut self, sql: &str, args: &[Arg<'_>]) -> DbResult<u64> {
        exec(self, sql, args)
    }
    fn batch(&mut self, sql: &str) -> DbResult<()> {
        self.raw_batch(sql).map_err(|e| failure(&e))
    }
    fn rows(&mut self, sql: &str, args: &[Arg<'_>]) -> DbResult<Vec<Vec<SqlValue>>> {
        run(self, sql, args)
    }
}

impl Conn for Cx<'_> {
    fn dialect(&self) -> Dialect {
        Dialect::Postgres
    }
    fn exec(&mut self, sql: &str, args: &[Arg<'_>]) -> DbResult<u64> {
        exec(self, sql, args)
    }
    fn batch(&mut self, sql: &str) -> DbResult<()> {
        self.raw_batch(sql).map_err(|e| failure(&e))
    }
    fn rows(&mut self, sql: &str, args: &[Arg<'_>]) -> DbResult<Vec<Vec<SqlValue>>> {
        run(self, sql, args)
    }
}
