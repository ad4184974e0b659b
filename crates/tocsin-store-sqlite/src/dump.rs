//! SQLite implementation of [`Dump`]: tables and keys read from `sqlite_master` and
//! `pragma_table_info`, so every migration's tables are covered.

use super::SqliteStore;
use crate::Db;
use rusqlite::types::{Value, ValueRef};
use rusqlite::Connection;
use std::collections::BTreeMap;
use tocsin_store::dump::{dependency_order, order_clause, quote_ident, Dump, SqlValue};
use tocsin_store::{Result, StoreError};

fn table_names(c: &Connection) -> Result<Vec<String>> {
    let mut stmt = c.prepare(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name <> 'schema_migrations' ORDER BY name",
    ).db()?;
    let names = stmt
        .query_map([], |r| r.get(0))
        .db()?
        .collect::<rusqlite::Result<Vec<String>>>()
        .db()?;
    Ok(names)
}

fn known_table(c: &Connection, table: &str) -> Result<()> {
    if table_names(c)?.iter().any(|t| t == table) {
        Ok(())
    } else {
        Err(StoreError::NotFound {
            kind: "table",
            id: table.to_owned(),
        })
    }
}

/// (columns in schema order, primary-key columns in key order).
fn columns_and_keys(c: &Connection, table: &str) -> Result<(Vec<String>, Vec<String>)> {
    known_table(c, table)?;
    let mut stmt = c
        .prepare("SELECT name, pk FROM pragma_table_info(?1) ORDER BY cid")
        .db()?;
    let rows = stmt
        .query_map([table], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))
        })
        .db()?
        .collect::<rusqlite::Result<Vec<_>>>()
        .db()?;
    let mut keys: Vec<(i64, String)> = rows
        .iter()
        .filter(|(_, pk)| *pk > 0)
        .map(|(n, pk)| (*pk, n.clone()))
        .collect();
    keys.sort();
    Ok((
        rows.into_iter().map(|(n, _)| n).collect(),
        keys.into_iter().map(|(_, n)| n).collect(),
    ))
}

fn to_value(table: &str, v: ValueRef<'_>) -> Result<SqlValue> {
    Ok(match v {
        ValueRef::Null => SqlValue::Null,
        ValueRef::Integer(n) => SqlValue::Integer(n),
        ValueRef::Real(f) => SqlValue::Real(f),
        ValueRef::Text(t) => {
            SqlValue::Text(
                String::from_utf8(t.to_vec()).map_err(|e| StoreError::Corrupt {
                    kind: "table",
                    id: table.to_owned(),
                    reason: format!("text is not UTF-8: {e}"),
                })?,
            )
        }
        ValueRef::Blob(_) => {
            return Err(StoreError::Corrupt {
                kind: "table",
                id: table.to_owned(),
                reason: "holds a BLOB, which the schema never writes".into(),
            })
        }
    })
}

fn from_value(v: SqlValue) -> Value {
    match v {
        SqlValue::Null => Value::Null,
        SqlValue::Integer(n) => Value::Integer(n),
        SqlValue::Real(f) => Value::Real(f),
        SqlValue::Text(s) => Value::Text(s),
    }
}

impl Dump for SqliteStore {
    fn tables(&self) -> Result<Vec<String>> {
        self.read(|c| {
            let names = table_names(c)?;
            let mut refs = BTreeMap::new();
            for t in &names {
                let mut stmt = c
                    .prepare("SELECT DISTINCT \"table\" FROM pragma_foreign_key_list(?1)")
                    .db()?;
                let parents = stmt
                    .query_map([t], |r| r.get(0))
                    .db()?
                    .collect::<rusqlite::Result<Vec<String>>>()
                    .db()?;
                refs.insert(t.clone(), parents);
            }
            Ok(dependency_order(names, &refs))
        })
    }

    fn table_counts(&self) -> Result<BTreeMap<String, u64>> {
        self.read(|c| {
            let mut out = BTreeMap::new();
            for t in table_names(c)? {
                let n: i64 = c
                    .query_row(
                        &format!("SELECT COUNT(*) FROM {}", quote_ident(&t)),
                        [],
                        |r| r.get(0),
                    )
                    .db()?;
                out.insert(t, u64::try_from(n).unwrap_or(0));
            }
            Ok(out)
        })
    }

    fn table_columns(&self, table: &str) -> Result<Vec<String>> {
        self.read(|c| Ok(columns_and_keys(c, table)?.0))
    }

    fn dump_table(
        &self,
        table: &str,
        sink: &mut dyn FnMut(Vec<SqlValue>) -> Result<()>,
    ) -> Result<()> {
        self.read(|c| {
            let (cols, keys) = columns_and_keys(c, table)?;
            let list = cols
                .iter()
                .map(|c| quote_ident(c))
                .collect::<Vec<_>>()
                .join(", ");
            let mut stmt = c
                .prepare(&format!(
                    "SELECT {list} FROM {} ORDER BY {}",
                    quote_ident(table),
                    order_clause(&keys, &cols)
                ))
                .db()?;
            let mut rows = stmt.query([]).db()?;
            while let Some(row) = rows.next().db()? {
                let mut cells = Vec::with_capacity(cols.len());
                for i in 0..cols.len() {
                    cells.push(to_value(table, row.get_ref(i).db()?)?);
                }
                sink(cells)?;
            }
            Ok(())
        })
    }

    fn load_table(
        &self,
        table: &str,
        columns: &[String],
        rows: &mut dyn Iterator<Item = Vec<SqlValue>>,
    ) -> Result<u64> {
        self.write(|tx| {
            let (cols, _) = columns_and_keys(tx, table)?;
            if let Some(unknown) = columns.iter().find(|c| !cols.contains(c)) {
                return Err(StoreError::Invalid {
                    kind: "column",
                    id: format!("{table}.{unknown}"),
                    reason: "not in the target schema".into(),
                });
            }
            let present: i64 = tx
                .query_row(
                    &format!("SELECT COUNT(*) FROM {}", quote_ident(table)),
                    [],
                    |r| r.get(0),
                )
                .db()?;
            if present > 0 {
                return Err(StoreError::Conflict {
                    kind: "table (not empty)",
                    id: table.to_owned(),
                });
            }
            let list = columns
                .iter()
                .map(|c| quote_ident(c))
                .collect::<Vec<_>>()
                .join(", ");
            let marks = (1..=columns.len())
                .map(|i| format!("?{i}"))
                .collect::<Vec<_>>()
                .join(", ");
            let mut stmt = tx
                .prepare(&format!(
                    "INSERT INTO {} ({list}) VALUES ({marks})",
                    quote_ident(table)
                ))
                .db()?;
            let mut n = 0u64;
            for (i, row) in rows.enumerate() {
                if row.len() != columns.len() {
                    return Err(StoreError::Invalid {
                        kind: "row",
                        id: format!("{table}#{}", i + 1),
                        reason: format!("{} cells for {} columns", row.len(), columns.len()),
                    });
                }
                let values: Vec<Value> = row.into_iter().map(from_value).collect();
                stmt.execute(rusqlite::params_from_iter(values)).db()?;
                n += 1;
            }
            // AUTOINCREMENT counters (sqlite_sequence) follow explicit keys by themselves.
            Ok(n)
        })
    }
}
