//! A small pool of sync PostgreSQL connections, and the bridge that lets sync calls run from
//! inside tokio.
//!
//! Why our own pool: the store needs only "borrow a connection, give it back, open another while
//! under the limit"; a `Mutex<Vec<Client>>` with a condition variable does that without another
//! dependency. A connection that broke (server restart, killed backend) is dropped on return and
//! replaced on the next borrow.

use crate::sql::Cache;
use crate::{describe, url};
use postgres::{Client, Config, NoTls};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::Duration;
use tocsin_store::{Result, StoreError};

/// How long a caller waits for a free connection before the call fails.
const CHECKOUT_TIMEOUT: Duration = Duration::from_secs(30);

struct State {
    idle: Vec<(Client, Cache)>,
    /// Connections open: idle plus borrowed.
    open: usize,
}

pub(crate) struct Pool {
    config: Config,
    /// The URL without its password, for error messages.
    shown: String,
    max: usize,
    state: Mutex<State>,
    freed: Condvar,
}

impl Pool {
    pub(crate) fn new(config: Config, shown: String, max: usize) -> Self {
        Self {
            config,
            shown,
            max: max.max(1),
            state: Mutex::new(State {
                idle: Vec::new(),
                open: 0,
            }),
            freed: Condvar::new(),
        }
    }

    pub(crate) fn size(&self) -> usize {
        self.max
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A new connection outside the pool (migrations, leadership sessions, LISTEN).
    pub(crate) fn connect(&self) -> Result<Client> {
        self.config.connect(NoTls).map_err(|e| {
            StoreError::Db(format!(
                "cannot connect to {}: {}",
                self.shown,
                describe(&e)
            ))
        })
    }

    /// Borrow a connection. Must be called from a thread that is not driving a tokio runtime
    /// (see [`blocking`]).
    pub(crate) fn get(&self) -> Result<Conn<'_>> {
        let mut st = self.lock();
        loop {
            if let Some(c) = st.idle.pop() {
                if c.0.is_closed() {
                    st.open -= 1;
                    drop(c);
                    continue;
                }
                return Ok(Conn {
                    pool: self,
                    client: Some(c),
                });
            }
            if st.open < self.max {
                st.open += 1;
                drop(st);
                return match self.connect() {
                    Ok(c) => Ok(Conn {
                        pool: self,
                        client: Some((c, Cache::new())),
                    }),
                    Err(e) => {
                        self.lock().open -= 1;
                        self.freed.notify_one();
                        Err(e)
                    }
                };
            }
            let (guard, timeout) = self
                .freed
                .wait_timeout(st, CHECKOUT_TIMEOUT)
                .unwrap_or_else(|p| p.into_inner());
            st = guard;
            if timeout.timed_out() && st.idle.is_empty() && st.open >= self.max {
                return Err(StoreError::Db(format!(
                    "no free connection to {} within {}s (pool_size={}): raise pool_size or look for a stuck call",
                    self.shown,
                    CHECKOUT_TIMEOUT.as_secs(),
                    self.max
                )));
            }
        }
    }

    /// Close every idle connection (the store is being dropped).
    pub(crate) fn close_idle(&self) {
        let idle: Vec<(Client, Cache)> = std::mem::take(&mut self.lock().idle);
        let n = idle.len();
        drop(idle);
        self.lock().open -= n;
    }
}

/// A borrowed connection; goes back to the pool when dropped.
pub(crate) struct Conn<'a> {
    pool: &'a Pool,
    /// The connection and its prepared statements (they live and die together).
    client: Option<(Client, Cache)>,
}

impl Conn<'_> {
    pub(crate) fn parts(&mut self) -> (&mut Client, &mut Cache) {
        let (c, k) = self.client.as_mut().expect("present until drop");
        (c, k)
    }
}

impl Drop for Conn<'_> {
    fn drop(&mut self) {
        let Some(c) = self.client.take() else { return };
        let mut st = self.pool.lock();
        if c.0.is_closed() {
            st.open -= 1;
            drop(st);
            drop(c);
        } else {
            st.idle.push(c);
            drop(st);
        }
        self.pool.freed.notify_one();
    }
}

/// Run sync PostgreSQL work from any context. The sync client drives its own small runtime, which
/// panics when started on a thread that drives tokio: on a multi-thread runtime the worker hands
/// its other tasks off (`block_in_place`); on a current-thread runtime (which cannot) the work
/// runs on a scoped thread; outside tokio it runs here.
pub(crate) fn blocking<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    use tokio::runtime::{Handle, RuntimeFlavor};
    match Handle::try_current() {
        Ok(h) if h.runtime_flavor() == RuntimeFlavor::MultiThread => tokio::task::block_in_place(f),
        Ok(_) => std::thread::scope(|s| match s.spawn(f).join() {
            Ok(v) => v,
            Err(panic) => std::panic::resume_unwind(panic),
        }),
        Err(_) => f(),
    }
}

#[allow(dead_code)]
fn _assert_send_sync() {
    fn is<T: Send + Sync>() {}
    is::<Pool>();
    let _ = url::redact;
}
