//! A reference webhook receiver: what a recipient's endpoint must do, runnable on 127.0.0.1.
//! It verifies every request's Standard Webhooks signature, counts each `webhook-id` (so
//! duplicates are visible), and answers 2xx — or, per path, a scripted sequence of answers
//! (e.g. `503, 429 Retry-After: 7, 200`, or `410`) for tests. Used by `tocsin bench deliver` and
//! the end-to-end tests; it runs its own small Tokio runtime on a thread of its own.

use crate::webhook::{verify, WebhookSecret};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

/// One scripted answer: a status and an optional `Retry-After` value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub status: u16,
    pub retry_after: Option<String>,
}

impl Answer {
    pub fn status(status: u16) -> Self {
        Self {
            status,
            retry_after: None,
        }
    }
}

/// What arrived so far.
#[derive(Debug, Default, Clone)]
pub struct Received {
    /// Requests of any kind.
    pub requests: u64,
    /// Requests whose signature verified.
    pub verified: u64,
    /// Requests refused for a missing header or a bad or stale signature, with the reason.
    pub invalid: Vec<String>,
    /// Verified requests per `webhook-id` (a count above 1 is a duplicate).
    pub ids: HashMap<String, u32>,
    /// Verified requests per path.
    pub paths: HashMap<String, u32>,
    /// The last verified body per path (only with [`Receiver::keep_bodies`]).
    pub last_body: HashMap<String, Vec<u8>>,
}

impl Received {
    pub fn duplicates(&self) -> u64 {
        self.ids
            .values()
            .map(|n| u64::from(n.saturating_sub(1)))
            .sum()
    }
}

struct Shared {
    secrets: Vec<WebhookSecret>,
    tolerance_s: i64,
    keep_bodies: std::sync::atomic::AtomicBool,
    script: Mutex<HashMap<String, VecDeque<Answer>>>,
    received: Mutex<Received>,
}

/// A running receiver; stops when dropped.
pub struct Receiver {
    addr: SocketAddr,
    shared: Arc<Shared>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Receiver {
    /// Listen on 127.0.0.1 (a free port) and verify with `secrets` (any one may match).
    pub fn start(secrets: Vec<WebhookSecret>) -> std::io::Result<Self> {
        let shared = Arc::new(Shared {
            secrets,
            tolerance_s: 300,
            keep_bodies: std::sync::atomic::AtomicBool::new(false),
            script: Mutex::new(HashMap::new()),
            received: Mutex::new(Received::default()),
        });
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        std_listener.set_nonblocking(true)?;
        let addr = std_listener.local_addr()?;
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let state = Arc::clone(&shared);
        let (ready_tx, ready_rx) = std::sync::mpsc::channel::<std::io::Result<()>>();
        let thread = std::thread::Builder::new()
            .name("webhook-receiver".into())
            .spawn(move || {
                let rt = match tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()
                {
                    Ok(rt) => rt,
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        return;
                    }
                };
                rt.block_on(async move {
                    let listener = match tokio::net::TcpListener::from_std(std_listener) {
                        Ok(l) => l,
                        Err(e) => {
                            let _ = ready_tx.send(Err(e));
                            return;
                        }
                    };
                    let _ = ready_tx.send(Ok(()));
                    let app = axum::Router::new().fallback(handle).with_state(state);
                    let _ = axum::serve(listener, app)
                        .with_graceful_shutdown(async {
                            let _ = rx.await;
                        })
                        .await;
                });
            })?;
        ready_rx
            .recv()
            .map_err(|_| std::io::Error::other("receiver thread died at start"))??;
        Ok(Self {
            addr,
            shared,
            shutdown: Some(tx),
            thread: Some(thread),
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:<port><path>`
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// Keep the last body of each path in [`Received::last_body`] (off by default: a fan-out to
    /// thousands of paths would hold every body).
    pub fn keep_bodies(&self, keep: bool) {
        self.shared
            .keep_bodies
            .store(keep, std::sync::atomic::Ordering::SeqCst);
    }

    /// Answer the next requests to `path` with `answers`, in order; afterwards 200.
    pub fn script(&self, path: &str, answers: Vec<Answer>) {
        self.shared
            .script
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(path.to_owned(), answers.into());
    }

    pub fn received(&self) -> Received {
        self.shared
            .received
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Verified requests so far (cheaper than [`Self::received`]).
    pub fn verified(&self) -> u64 {
        self.shared
            .received
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .verified
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

async fn handle(
    State(s): State<Arc<Shared>>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let h = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let path = uri.path().to_owned();
    let now = chrono::Utc::now().timestamp();
    let checked = match (
        h("webhook-id"),
        h("webhook-timestamp"),
        h("webhook-signature"),
    ) {
        (Some(id), Some(ts), Some(sig)) => {
            verify(&s.secrets, &id, &ts, &sig, &body, now, s.tolerance_s)
                .map(|()| id)
                .map_err(|e| e.to_string())
        }
        _ => Err("missing webhook-id, webhook-timestamp or webhook-signature".to_owned()),
    };
    let mut r = s.received.lock().unwrap_or_else(|p| p.into_inner());
    r.requests += 1;
    let id = match checked {
        Ok(id) => id,
        Err(reason) => {
            r.invalid.push(format!("{path}: {reason}"));
            return (StatusCode::UNAUTHORIZED, reason).into_response();
        }
    };
    r.verified += 1;
    *r.ids.entry(id).or_default() += 1;
    *r.paths.entry(path.clone()).or_default() += 1;
    if s.keep_bodies.load(std::sync::atomic::Ordering::Relaxed) {
        r.last_body.insert(path.clone(), body.to_vec());
    }
    drop(r);
    let answer = s
        .script
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .get_mut(&path)
        .and_then(VecDeque::pop_front);
    match answer {
        None => StatusCode::NO_CONTENT.into_response(),
        Some(a) => {
            let status =
                StatusCode::from_u16(a.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let mut resp = (status, format!("scripted {}", a.status)).into_response();
            if let Some(v) = a.retry_after.and_then(|v| v.parse().ok()) {
                resp.headers_mut().insert("retry-after", v);
            }
            resp
        }
    }
}
