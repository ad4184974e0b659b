//! Copying a store to another backend (`tocsin migrate --from sqlite:PATH --to postgres://…`).
//!
//! A store is copied table by table, as raw cells: the JSON records, key columns and the audit
//! chain travel byte for byte, so the copy's chain verifies with the same head hash. Every
//! backend lists its tables from its own schema (the ledger `schema_migrations` is not data: each
//! target writes its own when it is opened), so a table added by a new migration is copied without
//! touching this code.
//!
//! Order: load the tables in [`Dump::tables`] order (parents before the tables whose foreign keys
//! point at them) into a freshly migrated, empty target.

use crate::Result;
use std::collections::BTreeMap;

/// One cell, in the four storage classes the portable schema uses. Booleans are `Integer` 0/1 (as
/// SQLite stores them), so a dump reads the same from either backend.
#[derive(Debug, Clone, PartialEq)]
pub enum SqlValue {
    Null,
    Integer(i64),
    Real(f64),
    Text(String),
}

/// Raw, schema-driven access to every data table of a store.
pub trait Dump: Send + Sync {
    /// Every data table (not `schema_migrations`), parents before children (foreign keys), ties by
    /// name.
    fn tables(&self) -> Result<Vec<String>>;
    /// Row count of every data table.
    fn table_counts(&self) -> Result<BTreeMap<String, u64>>;
    /// Column names of `table`, in schema order ([`crate::StoreError::NotFound`] for an unknown table).
    fn table_columns(&self, table: &str) -> Result<Vec<String>>;
    /// Every row of `table` (cells in [`Dump::table_columns`] order), in primary-key order.
    fn dump_table(
        &self,
        table: &str,
        sink: &mut dyn FnMut(Vec<SqlValue>) -> Result<()>,
    ) -> Result<()>;
    /// Insert `rows` (cells in `columns` order) into the empty `table`, in one transaction; returns
    /// the number of rows. Surrogate key counters continue after the largest key loaded.
    /// [`crate::StoreError::Conflict`] when the table already holds rows.
    fn load_table(
        &self,
        table: &str,
        columns: &[String],
        rows: &mut dyn Iterator<Item = Vec<SqlValue>>,
    ) -> Result<u64>;
}

/// Order tables so that every table comes after the tables it references (`refs[t]`); ties and
/// cycles (none in the schema) fall back to name order.
#[doc(hidden)]
pub fn dependency_order(
    mut tables: Vec<String>,
    refs: &BTreeMap<String, Vec<String>>,
) -> Vec<String> {
    tables.sort();
    let mut out: Vec<String> = Vec::with_capacity(tables.len());
    let mut left = tables;
    while !left.is_empty() {
        let ready: Vec<String> = left
            .iter()
            .filter(|t| {
                refs.get(*t).is_none_or(|rs| {
                    rs.iter()
                        .all(|r| r == *t || out.contains(r) || !left.contains(r))
                })
            })
            .cloned()
            .collect();
        if ready.is_empty() {
            // A cycle: keep name order for the rest rather than loop.
            out.append(&mut left);
            break;
        }
        left.retain(|t| !ready.contains(t));
        out.extend(ready);
    }
    out
}

/// The primary-key order clause for a table: its key columns, or every column when it has none.
#[doc(hidden)]
pub fn order_clause(keys: &[String], columns: &[String]) -> String {
    let cols = if keys.is_empty() { columns } else { keys };
    cols.iter()
        .map(|c| quote_ident(c))
        .collect::<Vec<_>>()
        .join(", ")
}

/// An identifier quoted for SQL (both backends accept double quotes).
#[doc(hidden)]
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parents_come_first() {
        let refs: BTreeMap<String, Vec<String>> = [
            ("deliveries".to_string(), vec!["warnings".to_string()]),
            ("warnings".to_string(), vec!["threats".to_string()]),
            ("acks".to_string(), vec!["warnings".to_string()]),
        ]
        .into_iter()
        .collect();
        let order = dependency_order(
            vec![
                "deliveries".into(),
                "acks".into(),
                "warnings".into(),
                "threats".into(),
                "entities".into(),
            ],
            &refs,
        );
        assert_eq!(
            order,
            ["entities", "threats", "warnings", "acks", "deliveries"]
        );
    }

    #[test]
    fn quoting() {
        assert_eq!(quote_ident("a\"b"), "\"a\"\"b\"");
        assert_eq!(order_clause(&[], &["x".into(), "y".into()]), "\"x\", \"y\"");
    }
}
