//! PostgreSQL implementation of [`Dump`]: tables, columns, keys and foreign keys read from the
//! catalog, cells converted to the four portable classes (booleans as 0/1, like SQLite).

use crate::sql::Sql;
use crate::{Db, PgStore};
use postgres::types::ToSql;
use std::collections::BTreeMap;
use tocsin_store::dump::{dependency_order, order_clause, quote_ident, Dump, SqlValue};
use tocsin_store::{Result, StoreError};

/// Catalog queries run both through the statement cache and on a bare snapshot transaction.
trait Catalog {
    fn rows(
        &mut self,
        sql: &str,
        p: crate::sql::Params<'_>,
    ) -> std::result::Result<Vec<postgres::Row>, postgres::Error>;
}

impl<T: Sql> Catalog for T {
    fn rows(
        &mut self,
        sql: &str,
        p: crate::sql::Params<'_>,
    ) -> std::result::Result<Vec<postgres::Row>, postgres::Error> {
        self.query(sql, p)
    }
}

impl Catalog for postgres::Transaction<'_> {
    fn rows(
        &mut self,
        sql: &str,
        p: crate::sql::Params<'_>,
    ) -> std::result::Result<Vec<postgres::Row>, postgres::Error> {
        self.query(sql, p)
    }
}

/// Rows per INSERT when loading (well under the protocol's 65,535 parameters).
const BATCH: usize = 200;

#[derive(Debug, Clone, Copy, PartialEq)]
enum ColType {
    Int8,
    Int4,
    Float8,
    Bool,
    Text,
}

struct Column {
    name: String,
    ty: ColType,
    identity: bool,
}

fn table_names(c: &mut impl Catalog) -> Result<Vec<String>> {
    let rows = c
        .rows(
            "SELECT table_name::TEXT FROM information_schema.tables
             WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' AND table_name <> 'schema_migrations'
             ORDER BY table_name",
            &[],
        )
        .db()?;
    rows.iter().map(|r| r.try_get(0).db()).collect()
}

fn columns(c: &mut impl Catalog, table: &str) -> Result<Vec<Column>> {
    let rows = c
        .rows(
            "SELECT column_name::TEXT, data_type::TEXT, is_identity::TEXT FROM information_schema.columns
             WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position",
            &[&table],
        )
        .db()?;
    if rows.is_empty() || table == "schema_migrations" {
        return Err(StoreError::NotFound {
            kind: "table",
            id: table.to_owned(),
        });
    }
    rows.iter()
        .map(|r| {
            let name: String = r.try_get(0).db()?;
            let data_type: String = r.try_get(1).db()?;
            let ty = match data_type.as_str() {
                "bigint" => ColType::Int8,
                "integer" => ColType::Int4,
                "double precision" => ColType::Float8,
                "boolean" => ColType::Bool,
                "text" => ColType::Text,
                other => {
                    return Err(StoreError::Invalid {
                        kind: "column",
                        id: format!("{table}.{name}"),
                        reason: format!("type {other} is outside the portable schema (TEXT, INTEGER, REAL, BOOLEAN)"),
                    })
                }
            };
            Ok(Column { name, ty, identity: r.try_get::<_, String>(2).db()? == "YES" })
        })
        .collect()
}

fn primary_key(c: &mut impl Catalog, table: &str) -> Result<Vec<String>> {
    let rows = c
        .rows(
            "SELECT a.attname::TEXT FROM pg_index i
             JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
             WHERE i.indrelid = $1::TEXT::REGCLASS AND i.indisprimary
             ORDER BY array_position(i.indkey::INT2[], a.attnum)",
            &[&quote_ident(table)],
        )
        .db()?;
    rows.iter().map(|r| r.try_get(0).db()).collect()
}

fn cell(table: &str, col: &Column, row: &postgres::Row, i: usize) -> Result<SqlValue> {
    let _ = table;
    Ok(match col.ty {
        ColType::Int8 => row
            .try_get::<_, Option<i64>>(i)
            .db()?
            .map_or(SqlValue::Null, SqlValue::Integer),
        ColType::Int4 => row
            .try_get::<_, Option<i32>>(i)
            .db()?
            .map_or(SqlValue::Null, |v| SqlValue::Integer(i64::from(v))),
        ColType::Float8 => row
            .try_get::<_, Option<f64>>(i)
            .db()?
            .map_or(SqlValue::Null, SqlValue::Real),
        ColType::Bool => row
            .try_get::<_, Option<bool>>(i)
            .db()?
            .map_or(SqlValue::Null, |b| SqlValue::Integer(i64::from(b))),
        ColType::Text => row
            .try_get::<_, Option<String>>(i)
            .db()?
            .map_or(SqlValue::Null, SqlValue::Text),
    })
}

/// A cell as a parameter of the column's type, or why it does not fit.
fn param(col: &Column, v: SqlValue) -> std::result::Result<Box<dyn ToSql + Sync + Send>, String> {
    Ok(match (col.ty, v) {
        (ColType::Int8, SqlValue::Null) => Box::new(None::<i64>),
        (ColType::Int8, SqlValue::Integer(n)) => Box::new(n),
        (ColType::Int4, SqlValue::Null) => Box::new(None::<i32>),
        (ColType::Int4, SqlValue::Integer(n)) => {
            Box::new(i32::try_from(n).map_err(|_| format!("{n} does not fit a 32-bit integer"))?)
        }
        (ColType::Float8, SqlValue::Null) => Box::new(None::<f64>),
        (ColType::Float8, SqlValue::Real(f)) => Box::new(f),
        (ColType::Float8, SqlValue::Integer(n)) => Box::new(n as f64),
        (ColType::Bool, SqlValue::Null) => Box::new(None::<bool>),
        (ColType::Bool, SqlValue::Integer(n @ (0 | 1))) => Box::new(n == 1),
        (ColType::Text, SqlValue::Null) => Box::new(None::<String>),
        (ColType::Text, SqlValue::Text(s)) => Box::new(s),
        (ty, v) => return Err(format!("{v:?} cannot be stored in a {ty:?} column")),
    })
}

impl PgStore {
    /// Send the rows of `table` in key order, `PAGE` at a time, from one repeatable-read snapshot.
    fn stream_table(
        &self,
        table: &str,
        send: &std::sync::mpsc::SyncSender<Result<Vec<Vec<SqlValue>>>>,
    ) -> Result<()> {
        const PAGE: i32 = 2000;
        let mut conn = self.pool.get()?;
        let (client, _) = conn.parts();
        let mut tx = client
            .build_transaction()
            .isolation_level(postgres::IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .db()?;
        let cols = columns(&mut tx, table)?;
        let keys = primary_key(&mut tx, table)?;
        let names: Vec<String> = cols.iter().map(|c| c.name.clone()).collect();
        let list = names
            .iter()
            .map(|c| quote_ident(c))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "SELECT {list} FROM {} ORDER BY {}",
            quote_ident(table),
            order_clause(&keys, &names)
        );
        let portal = tx.bind(sql.as_str(), &[]).db()?;
        loop {
            let rows = tx.query_portal(&portal, PAGE).db()?;
            let page = rows
                .iter()
                .map(|r| {
                    cols.iter()
                        .enumerate()
                        .map(|(i, col)| cell(table, col, r, i))
                        .collect::<Result<Vec<_>>>()
                })
                .collect::<Result<Vec<_>>>()?;
            let last = rows.len() < PAGE as usize;
            if send.send(Ok(page)).is_err() || last {
                return Ok(()); // done, or the sink stopped
            }
        }
    }

    fn load_from(
        &self,
        table: &str,
        names: &[String],
        batches: std::sync::mpsc::Receiver<Vec<Vec<SqlValue>>>,
    ) -> Result<u64> {
        self.write(|tx| {
            let all = columns(tx, table)?;
            let cols: Vec<&Column> = names
                .iter()
                .map(|n| {
                    all.iter().find(|c| &c.name == n).ok_or_else(|| StoreError::Invalid {
                        kind: "column",
                        id: format!("{table}.{n}"),
                        reason: "not in the target schema".into(),
                    })
                })
                .collect::<Result<_>>()?;
            let present: i64 = tx.query_one(&format!("SELECT COUNT(*) FROM {}", quote_ident(table)), &[]).db()?.try_get(0).db()?;
            if present > 0 {
                return Err(StoreError::Conflict { kind: "table (not empty)", id: table.to_owned() });
            }
            let list = names.iter().map(|c| quote_ident(c)).collect::<Vec<_>>().join(", ");
            let mut n = 0u64;
            for batch in batches {
                if batch.is_empty() {
                    continue;
                }
                let mut params: Vec<Box<dyn ToSql + Sync + Send>> = Vec::with_capacity(batch.len() * cols.len());
                let mut tuples = Vec::with_capacity(batch.len());
                for row in batch {
                    n += 1;
                    if row.len() != cols.len() {
                        return Err(StoreError::Invalid { kind: "row", id: format!("{table}#{n}"), reason: format!("{} cells for {} columns", row.len(), cols.len()) });
                    }
                    let start = params.len();
                    for (col, v) in cols.iter().zip(row) {
                        params.push(param(col, v).map_err(|why| StoreError::Invalid { kind: "cell", id: format!("{table}#{n}.{}", col.name), reason: why })?);
                    }
                    tuples.push(format!("({})", (start + 1..=params.len()).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ")));
                }
                let sql = format!("INSERT INTO {} ({list}) VALUES {}", quote_ident(table), tuples.join(", "));
                let refs: Vec<&(dyn ToSql + Sync)> = params.iter().map(|b| b.as_ref() as &(dyn ToSql + Sync)).collect();
                tx.execute(&sql, &refs).db()?;
            }
            // Identity counters continue after the largest key loaded.
            for col in all.iter().filter(|c| c.identity) {
                tx.execute(
                    &format!(
                        "SELECT setval(pg_get_serial_sequence($1, $2), m) FROM (SELECT MAX({}) AS m FROM {}) AS t WHERE m IS NOT NULL",
                        quote_ident(&col.name),
                        quote_ident(table)
                    ),
                    &[&quote_ident(table), &col.name],
                )
                .db()?;
            }
            Ok(n)
        })
    }
}

impl Dump for PgStore {
    fn tables(&self) -> Result<Vec<String>> {
        self.read(|c| {
            let names = table_names(c)?;
            let mut refs = BTreeMap::new();
            for t in &names {
                let rows = c
                    .query(
                        "SELECT DISTINCT p.relname::TEXT FROM pg_constraint k JOIN pg_class p ON p.oid = k.confrelid
                         WHERE k.conrelid = $1::TEXT::REGCLASS AND k.contype = 'f'",
                        &[&quote_ident(t)],
                    )
                    .db()?;
                refs.insert(t.clone(), rows.iter().map(|r| r.try_get(0).db()).collect::<Result<Vec<String>>>()?);
            }
            Ok(dependency_order(names, &refs))
        })
    }

    fn table_counts(&self) -> Result<BTreeMap<String, u64>> {
        self.read(|c| {
            let mut out = BTreeMap::new();
            for t in table_names(c)? {
                let n: i64 = c
                    .query_one(&format!("SELECT COUNT(*) FROM {}", quote_ident(&t)), &[])
                    .db()?
                    .try_get(0)
                    .db()?;
                out.insert(t, u64::try_from(n).unwrap_or(0));
            }
            Ok(out)
        })
    }

    fn table_columns(&self, table: &str) -> Result<Vec<String>> {
        self.read(|c| Ok(columns(c, table)?.into_iter().map(|c| c.name).collect()))
    }

    fn dump_table(
        &self,
        table: &str,
        sink: &mut dyn FnMut(Vec<SqlValue>) -> Result<()>,
    ) -> Result<()> {
        // One read-only snapshot streamed through a portal on a plain thread (outside any
        // runtime), page by page to the sink here, where the caller's closure lives.
        let (send, recv) = std::sync::mpsc::sync_channel::<Result<Vec<Vec<SqlValue>>>>(2);
        std::thread::scope(|scope| {
            let reader = scope.spawn(move || {
                let out = self.stream_table(table, &send);
                if let Err(e) = out {
                    let _ = send.send(Err(e));
                }
            });
            let mut result = Ok(());
            for page in recv.iter() {
                match page.and_then(|rows| rows.into_iter().try_for_each(&mut *sink)) {
                    Ok(()) => {}
                    Err(e) => {
                        result = Err(e);
                        break;
                    }
                }
            }
            drop(recv); // a reader still sending stops at its next page
            if let Err(panic) = reader.join() {
                std::panic::resume_unwind(panic);
            }
            result
        })
    }

    fn load_table(
        &self,
        table: &str,
        columns: &[String],
        rows: &mut dyn Iterator<Item = Vec<SqlValue>>,
    ) -> Result<u64> {
        // One transaction on a plain thread (outside any runtime) fed batch by batch from here,
        // where the caller's iterator lives.
        let (send, recv) = std::sync::mpsc::sync_channel::<Vec<Vec<SqlValue>>>(4);
        std::thread::scope(|scope| {
            let worker = scope.spawn(move || self.load_from(table, columns, recv));
            let mut batch = Vec::with_capacity(BATCH);
            let mut open = true;
            for row in rows {
                batch.push(row);
                if batch.len() == BATCH
                    && send
                        .send(std::mem::replace(&mut batch, Vec::with_capacity(BATCH)))
                        .is_err()
                {
                    open = false; // the worker stopped on an error; it reports it
                    break;
                }
            }
            if open && !batch.is_empty() {
                let _ = send.send(batch);
            }
            drop(send);
            match worker.join() {
                Ok(r) => r,
                Err(panic) => std::panic::resume_unwind(panic),
            }
        })
    }
}
