//! A PostgreSQL store on its own throwaway database, for the conformance suite and Pg-only tests.

#![allow(dead_code)]

use postgres::types::Type;
use postgres::{Client, NoTls};
use tocsin_store::conformance::TestStore;
use tocsin_store::{Dump, SqlValue, Store};
use tocsin_store_postgres::testing::TempDb;
use tocsin_store_postgres::PgStore;

/// The store first, so it is dropped (its connections closed) before its database.
pub struct Pg {
    pub store: PgStore,
    pub db: TempDb,
}

impl Pg {
    pub fn new() -> Self {
        let db = TempDb::create().expect("PostgreSQL for tests (TOCSIN_TEST_PG)");
        let store =
            PgStore::connect(&format!("{}?pool_size=4", db.url())).expect("connect and migrate");
        Self { store, db }
    }

    /// Another store (another "process": its own pool) on the same database.
    pub fn another(&self) -> PgStore {
        PgStore::connect(&format!("{}?pool_size=4", self.db.url())).expect("connect")
    }

    pub fn client(&self) -> Client {
        Client::connect(self.db.url(), NoTls).expect("raw connection")
    }
}

pub fn make() -> Box<dyn TestStore> {
    Box::new(Pg::new())
}

impl TestStore for Pg {
    fn store(&self) -> &(dyn Store + 'static) {
        &self.store
    }
    fn dump(&self) -> &(dyn Dump + 'static) {
        &self.store
    }
    fn sql(&self, sql: &str) -> Vec<Vec<SqlValue>> {
        let rows = self
            .client()
            .query(sql, &[])
            .unwrap_or_else(|e| panic!("{sql}: {e:?}"));
        rows.iter()
            .map(|r| {
                r.columns()
                    .iter()
                    .enumerate()
                    .map(|(i, c)| match *c.type_() {
                        Type::INT8 => r
                            .get::<_, Option<i64>>(i)
                            .map_or(SqlValue::Null, SqlValue::Integer),
                        Type::INT4 => r
                            .get::<_, Option<i32>>(i)
                            .map_or(SqlValue::Null, |v| SqlValue::Integer(v.into())),
                        Type::FLOAT8 => r
                            .get::<_, Option<f64>>(i)
                            .map_or(SqlValue::Null, SqlValue::Real),
                        Type::BOOL => r
                            .get::<_, Option<bool>>(i)
                            .map_or(SqlValue::Null, |b| SqlValue::Integer(b.into())),
                        Type::TEXT | Type::VARCHAR | Type::NAME => r
                            .get::<_, Option<String>>(i)
                            .map_or(SqlValue::Null, SqlValue::Text),
                        ref other => panic!("{sql}: column {i} has type {other}"),
                    })
                    .collect()
            })
            .collect()
    }
}
