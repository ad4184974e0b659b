//! Statements through a per-connection cache of prepared statements.
//!
//! The driver prepares a statement given as text on every call (one extra round trip each); the
//! store's statements are a fixed set, so each connection prepares each once and reuses it. The
//! same trait covers a pooled connection (reads) and a write transaction, so helpers serve both.

use postgres::types::ToSql;
use postgres::{Client, Row, Statement};
use std::collections::HashMap;

type PgResult<T> = std::result::Result<T, postgres::Error>;
pub(crate) type Params<'a> = &'a [&'a (dyn ToSql + Sync)];

/// Prepared statements of one connection, by SQL text.
pub(crate) type Cache = HashMap<String, Statement>;

/// Statements kept per connection before the cache starts over (only a store bug or a long
/// series of distinct copy batches would get near it).
const CACHE_LIMIT: usize = 512;

/// A statement: SQL text (prepared once per connection) or already prepared.
pub(crate) enum Q<'s> {
    Text(&'s str),
    Prepared(&'s Statement),
}

impl<'s> From<&'s str> for Q<'s> {
    fn from(s: &'s str) -> Self {
        Q::Text(s)
    }
}

impl<'s> From<&'s String> for Q<'s> {
    fn from(s: &'s String) -> Self {
        Q::Text(s)
    }
}

impl<'s> From<&'s Statement> for Q<'s> {
    fn from(s: &'s Statement) -> Self {
        Q::Prepared(s)
    }
}

pub(crate) trait Sql {
    fn cache(&mut self) -> &mut Cache;
    fn raw_prepare(&mut self, sql: &str) -> PgResult<Statement>;
    fn raw_query(&mut self, st: &Statement, p: Params<'_>) -> PgResult<Vec<Row>>;
    fn raw_query_one(&mut self, st: &Statement, p: Params<'_>) -> PgResult<Row>;
    fn raw_query_opt(&mut self, st: &Statement, p: Params<'_>) -> PgResult<Option<Row>>;
    fn raw_execute(&mut self, st: &Statement, p: Params<'_>) -> PgResult<u64>;
    /// Simple-protocol statements, no parameters (`SET LOCAL` planner settings).
    fn raw_batch(&mut self, sql: &str) -> PgResult<()>;

    /// The prepared statement of `sql` on this connection.
    fn prepare(&mut self, sql: &str) -> PgResult<Statement> {
        if let Some(st) = self.cache().get(sql) {
            return Ok(st.clone());
        }
        let st = self.raw_prepare(sql)?;
        self.remember(sql, st.clone());
        Ok(st)
    }

    /// Keep `st` as the prepared statement of `sql` on this connection.
    fn remember(&mut self, sql: &str, st: Statement) {
        let cache = self.cache();
        if cache.len() >= CACHE_LIMIT {
            cache.clear();
        }
        cache.insert(sql.to_owned(), st);
    }

    fn resolve(&mut self, q: Q<'_>) -> PgResult<Statement> {
        match q {
            Q::Text(sql) => self.prepare(sql),
            Q::Prepared(st) => Ok(st.clone()),
        }
    }

    fn query<'q>(&mut self, q: impl Into<Q<'q>>, p: Params<'_>) -> PgResult<Vec<Row>> {
        let st = self.resolve(q.into())?;
        self.raw_query(&st, p)
    }

    fn query_one<'q>(&mut self, q: impl Into<Q<'q>>, p: Params<'_>) -> PgResult<Row> {
        let st = self.resolve(q.into())?;
        self.raw_query_one(&st, p)
    }

    fn query_opt<'q>(&mut self, q: impl Into<Q<'q>>, p: Params<'_>) -> PgResult<Option<Row>> {
        let st = self.resolve(q.into())?;
        self.raw_query_opt(&st, p)
    }

    fn execute<'q>(&mut self, q: impl Into<Q<'q>>, p: Params<'_>) -> PgResult<u64> {
        let st = self.resolve(q.into())?;
        self.raw_execute(&st, p)
    }
}

/// A pooled connection, for reads and unaudited writes.
pub(crate) struct Cx<'a> {
    pub(crate) client: &'a mut Client,
    pub(crate) cache: &'a mut Cache,
}

/// A write transaction. Opened with its first statements in one round trip (`BEGIN` and the
/// chain lock, see [`Tx::begin`]); rolled back when dropped without [`Tx::commit`].
pub(crate) struct Tx<'a> {
    client: &'a mut Client,
    cache: &'a mut Cache,
    open: bool,
}

impl<'a> Tx<'a> {
    /// `BEGIN` followed by `first` (simple-protocol text), sent together.
    pub(crate) fn begin(
        client: &'a mut Client,
        cache: &'a mut Cache,
        first: &str,
    ) -> PgResult<Self> {
        // Constructed before sending, so that a failure in `first` still rolls back.
        let tx = Tx {
            client,
            cache,
            open: true,
        };
        tx.client.batch_execute(&format!("BEGIN; {first}"))?;
        Ok(tx)
    }

    pub(crate) fn commit(mut self) -> PgResult<()> {
        self.open = false;
        self.client.batch_execute("COMMIT")
    }
}

impl Drop for Tx<'_> {
    fn drop(&mut self) {
        if self.open && !self.client.is_closed() {
            // An error here means the session is gone, and the transaction with it.
            let _ = self.client.batch_execute("ROLLBACK");
        }
    }
}

macro_rules! delegate {
    ($ty:ident, $field:ident) => {
        impl Sql for $ty<'_> {
            fn cache(&mut self) -> &mut Cache {
                self.cache
            }
            fn raw_prepare(&mut self, sql: &str) -> PgResult<Statement> {
                self.$field.prepare(sql)
            }
            fn raw_query(&mut self, st: &Statement, p: Params<'_>) -> PgResult<Vec<Row>> {
                self.$field.query(st, p)
            }
            fn raw_query_one(&mut self, st: &Statement, p: Params<'_>) -> PgResult<Row> {
                self.$field.query_one(st, p)
            }
            fn raw_query_opt(&mut self, st: &Statement, p: Params<'_>) -> PgResult<Option<Row>> {
                self.$field.query_opt(st, p)
            }
            fn raw_execute(&mut self, st: &Statement, p: Params<'_>) -> PgResult<u64> {
                self.$field.execute(st, p)
            }
            fn raw_batch(&mut self, sql: &str) -> PgResult<()> {
                self.$field.batch_execute(sql)
            }
        }
    };
}

delegate!(Cx, client);
delegate!(Tx, client);
