//! A reference webhook receiver: what a recipient's endpoint must do, runnable on 127.0.0.1.
//! It verifies every request's Standard Webhooks signature, counts each `webhook-id` (so
//! duplicates are visible), and answers 2xx — or, per path, a scripted sequence of answers
//! (e.g. `503, 429 Retry-After: 7, 200`, or `410`) for tests. Used by `tocsin bench deliver` and
//! the end-to-end tests. It speaks just enough HTTP/1.1 for a webhook sender (request line,
//! headers, a `Content-Length` or chunked body, keep-alive) on plain `std::net` threads: one that
//! accepts, one per connection.

use crate::webhook::{verify, WebhookSecret};
use std::collections::{HashMap, VecDeque};
use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Largest request head or body accepted; a webhook is far smaller.
const MAX_REQUEST: usize = 16 * 1024 * 1024;
/// How often a connection thread looks whether the receiver has stopped.
const POLL: Duration = Duration::from_millis(200);

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
    /// Verified requests whose `webhook-id` was seen before, counted by a receiver started with
    /// [`Receiver::start_counting`] (which leaves `ids` and `paths` empty).
    pub repeated: u64,
}

impl Received {
    pub fn duplicates(&self) -> u64 {
        self.repeated
            + self
                .ids
                .values()
                .map(|n| u64::from(n.saturating_sub(1)))
                .sum::<u64>()
    }
}

struct Shared {
    secrets: Vec<WebhookSecret>,
    tolerance_s: i64,
    keep_bodies: AtomicBool,
    stop: AtomicBool,
    script: Mutex<HashMap<String, VecDeque<Answer>>>,
    received: Mutex<Received>,
    /// Counting mode: the ids seen, as 64-bit hashes (not strings, and no per-path counts).
    seen: Option<Mutex<std::collections::HashSet<u64>>>,
}

/// A running receiver; stops when dropped.
pub struct Receiver {
    addr: SocketAddr,
    shared: Arc<Shared>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Receiver {
    /// Listen on 127.0.0.1 (a free port) and verify with `secrets` (any one may match).
    pub fn start(secrets: Vec<WebhookSecret>) -> std::io::Result<Self> {
        Self::start_with(secrets, None)
    }

    /// A receiver for a fan-out to a million recipients: it verifies every request as
    /// [`Receiver::start`] does, but keeps per request only a 64-bit hash of its `webhook-id`
    /// (8 bytes and the set's slack, instead of the id and path strings), so a repeated id still
    /// counts in [`Received::repeated`] while [`Received::ids`] and [`Received::paths`] stay
    /// empty. Two different ids sharing a hash (odds about N²/2⁶⁵) would count as a repeat: an
    /// over-count, never a duplicate hidden.
    pub fn start_counting(secrets: Vec<WebhookSecret>) -> std::io::Result<Self> {
        Self::start_with(secrets, Some(Mutex::new(std::collections::HashSet::new())))
    }

    fn start_with(
        secrets: Vec<WebhookSecret>,
        seen: Option<Mutex<std::collections::HashSet<u64>>>,
    ) -> std::io::Result<Self> {
        let shared = Arc::new(Shared {
            secrets,
            tolerance_s: 300,
            keep_bodies: AtomicBool::new(false),
            stop: AtomicBool::new(false),
            script: Mutex::new(HashMap::new()),
            received: Mutex::new(Received::default()),
            seen,
        });
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let state = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("webhook-receiver".into())
            .spawn(move || accept_loop(listener, state))?;
        Ok(Self {
            addr,
            shared,
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
        self.shared.keep_bodies.store(keep, Ordering::SeqCst);
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
        self.shared.stop.store(true, Ordering::SeqCst);
        // The accept loop blocks in `accept`: one connection of our own wakes it to see `stop`.
        let _ = TcpStream::connect(self.addr);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    for conn in listener.incoming() {
        if shared.stop.load(Ordering::SeqCst) {
            break;
        }
        let Ok(stream) = conn else { continue };
        let shared = Arc::clone(&shared);
        let _ = std::thread::Builder::new()
            .name("webhook-receiver-conn".into())
            .spawn(move || serve_connection(stream, &shared));
    }
}

/// One parsed request.
struct Request {
    path: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    close: bool,
}

impl Request {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Serve requests on one connection until the client closes it, asks to, sends something this
/// receiver cannot parse, or the receiver stops.
fn serve_connection(mut stream: TcpStream, shared: &Shared) {
    if stream.set_read_timeout(Some(POLL)).is_err() {
        return;
    }
    let mut buf: Vec<u8> = Vec::new();
    loop {
        let req = match read_request(&mut stream, &mut buf, shared) {
            Ok(Some(r)) => r,
            Ok(None) => return,
            Err(reason) => {
                let _ = write_response(&mut stream, 400, None, reason.as_bytes(), true);
                return;
            }
        };
        let (status, retry_after, body) = handle(shared, &req);
        if write_response(
            &mut stream,
            status,
            retry_after.as_deref(),
            body.as_bytes(),
            req.close,
        )
        .is_err()
            || req.close
        {
            return;
        }
    }
}

/// Read one request from `stream`, keeping bytes past its end in `buf` for the next one.
/// `Ok(None)`: the connection ended (or the receiver stopped) between requests.
fn read_request(
    stream: &mut TcpStream,
    buf: &mut Vec<u8>,
    shared: &Shared,
) -> Result<Option<Request>, String> {
    let head_end = loop {
        if let Some(i) = find(buf, b"\r\n\r\n") {
            break i;
        }
        if buf.len() > MAX_REQUEST {
            return Err("request head too large".into());
        }
        if !fill(stream, buf, shared)? {
            return if buf.is_empty() {
                Ok(None)
            } else {
                Err("connection closed inside a request head".into())
            };
        }
    };
    let head = std::str::from_utf8(&buf[..head_end])
        .map_err(|_| "request head is not UTF-8")?
        .to_owned();
    let mut lines = head.split("\r\n");
    let request_line = lines.next().unwrap_or_default();
    let mut parts = request_line.split(' ');
    let (Some(_method), Some(target), Some(version)) = (parts.next(), parts.next(), parts.next())
    else {
        return Err(format!("malformed request line {request_line:?}"));
    };
    let path = target.split('?').next().unwrap_or(target).to_owned();
    let mut headers = Vec::new();
    for line in lines {
        let (name, value) = line
            .split_once(':')
            .ok_or_else(|| format!("malformed header line {line:?}"))?;
        headers.push((name.trim().to_owned(), value.trim().to_owned()));
    }
    buf.drain(..head_end + 4);
    let mut req = Request {
        path,
        headers,
        body: Vec::new(),
        close: false,
    };
    let connection = req.header("connection").map(str::to_ascii_lowercase);
    req.close = match connection.as_deref() {
        Some(c) if c.contains("close") => true,
        Some(c) if c.contains("keep-alive") => false,
        _ => version != "HTTP/1.1",
    };
    let chunked = req
        .header("transfer-encoding")
        .is_some_and(|v| v.to_ascii_lowercase().contains("chunked"));
    if chunked {
        req.body = read_chunked(stream, buf, shared)?;
    } else {
        let len: usize = match req.header("content-length") {
            Some(v) => v.parse().map_err(|_| format!("bad Content-Length {v:?}"))?,
            None => 0,
        };
        if len > MAX_REQUEST {
            return Err("request body too large".into());
        }
        while buf.len() < len {
            if !fill(stream, buf, shared)? {
                return Err("connection closed inside a request body".into());
            }
        }
        req.body = buf.drain(..len).collect();
    }
    Ok(Some(req))
}

/// A chunked body (RFC 9112 §7.1), trailers skipped.
fn read_chunked(
    stream: &mut TcpStream,
    buf: &mut Vec<u8>,
    shared: &Shared,
) -> Result<Vec<u8>, String> {
    let mut body = Vec::new();
    loop {
        let line_end = loop {
            if let Some(i) = find(buf, b"\r\n") {
                break i;
            }
            if !fill(stream, buf, shared)? {
                return Err("connection closed inside a chunk size".into());
            }
        };
        let line = String::from_utf8_lossy(&buf[..line_end]).into_owned();
        let size_text = line.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size_text, 16)
            .map_err(|_| format!("bad chunk size {size_text:?}"))?;
        buf.drain(..line_end + 2);
        if size == 0 {
            // Trailers end with an empty line.
            loop {
                let end = loop {
                    if let Some(i) = find(buf, b"\r\n") {
                        break i;
                    }
                    if !fill(stream, buf, shared)? {
                        return Err("connection closed inside chunk trailers".into());
                    }
                };
                buf.drain(..end + 2);
                if end == 0 {
                    return Ok(body);
                }
            }
        }
        if body.len() + size > MAX_REQUEST {
            return Err("request body too large".into());
        }
        while buf.len() < size + 2 {
            if !fill(stream, buf, shared)? {
                return Err("connection closed inside a chunk".into());
            }
        }
        body.extend_from_slice(&buf[..size]);
        buf.drain(..size + 2);
    }
}

/// Read more bytes into `buf`. `Ok(false)`: the peer closed, or the receiver stopped.
fn fill(stream: &mut TcpStream, buf: &mut Vec<u8>, shared: &Shared) -> Result<bool, String> {
    let mut chunk = [0u8; 16 * 1024];
    loop {
        if shared.stop.load(Ordering::SeqCst) {
            return Ok(false);
        }
        match stream.read(&mut chunk) {
            Ok(0) => return Ok(false),
            Ok(n) => {
                buf.extend_from_slice(&chunk[..n]);
                return Ok(true);
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(_) => return Ok(false),
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn write_response(
    stream: &mut TcpStream,
    status: u16,
    retry_after: Option<&str>,
    body: &[u8],
    close: bool,
) -> std::io::Result<()> {
    let mut head = format!(
        "HTTP/1.1 {status} {}\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: {}\r\n",
        reason(status),
        body.len()
    );
    if let Some(v) = retry_after {
        head.push_str(&format!("retry-after: {v}\r\n"));
    }
    if close {
        head.push_str("connection: close\r\n");
    }
    head.push_str("\r\n");
    let mut out = head.into_bytes();
    out.extend_from_slice(body);
    stream.write_all(&out)?;
    stream.flush()
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        202 => "Accepted",
        204 => "No Content",
        400 => "Bad Request",
        401 => "Unauthorized",
        404 => "Not Found",
        410 => "Gone",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        _ => "Status",
    }
}

/// Verify, count, and pick the answer: (status, `Retry-After`, body).
fn handle(s: &Shared, req: &Request) -> (u16, Option<String>, String) {
    let h = |name: &str| req.header(name).map(str::to_owned);
    let path = req.path.clone();
    let now = chrono::Utc::now().timestamp();
    let checked = match (
        h("webhook-id"),
        h("webhook-timestamp"),
        h("webhook-signature"),
    ) {
        (Some(id), Some(ts), Some(sig)) => {
            verify(&s.secrets, &id, &ts, &sig, &req.body, now, s.tolerance_s)
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
            return (401, None, reason);
        }
    };
    r.verified += 1;
    match &s.seen {
        Some(seen) => {
            use std::hash::{BuildHasher, BuildHasherDefault};
            // A fixed hasher: the set only needs ids to land apart, not DoS resistance.
            let h = BuildHasherDefault::<std::collections::hash_map::DefaultHasher>::default()
                .hash_one(&id);
            if !seen.lock().unwrap_or_else(|p| p.into_inner()).insert(h) {
                r.repeated += 1;
            }
        }
        None => {
            *r.ids.entry(id).or_default() += 1;
            *r.paths.entry(path.clone()).or_default() += 1;
        }
    }
    if s.keep_bodies.load(Ordering::Relaxed) {
        r.last_body.insert(path.clone(), req.body.clone());
    }
    drop(r);
    let answer = s
        .script
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .get_mut(&path)
        .and_then(VecDeque::pop_front);
    match answer {
        None => (204, None, String::new()),
        Some(a) => {
            let status = if (100..1000).contains(&a.status) {
                a.status
            } else {
                500
            };
            (status, a.retry_after, format!("scripted {}", a.status))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::BufRead;

    fn status_line(r: &mut std::io::BufReader<TcpStream>) -> String {
        let mut line = String::new();
        r.read_line(&mut line).unwrap();
        let mut len = 0;
        loop {
            let mut h = String::new();
            r.read_line(&mut h).unwrap();
            if h == "\r\n" {
                break;
            }
            if let Some(v) = h.to_ascii_lowercase().strip_prefix("content-length:") {
                len = v.trim().parse().unwrap();
            }
        }
        let mut body = vec![0; len];
        r.read_exact(&mut body).unwrap();
        line.trim_end().to_owned()
    }

    #[test]
    fn a_counting_receiver_counts_a_repeated_id_without_keeping_ids() {
        let secret = WebhookSecret::generate();
        let rx = Receiver::start_counting(vec![secret.clone()]).unwrap();
        let now = chrono::Utc::now().timestamp();
        let mut s = TcpStream::connect(rx.addr()).unwrap();
        let mut r = std::io::BufReader::new(s.try_clone().unwrap());
        for id in ["a", "b", "a"] {
            let sig = crate::webhook::sign(std::slice::from_ref(&secret), id, now, b"{}");
            s.write_all(
                format!(
                    "POST /x HTTP/1.1\r\nwebhook-id: {id}\r\nwebhook-timestamp: {now}\r\nwebhook-signature: {sig}\r\nContent-Length: 2\r\n\r\n{{}}"
                )
                .as_bytes(),
            )
            .unwrap();
            assert_eq!(status_line(&mut r), "HTTP/1.1 204 No Content");
        }
        let got = rx.received();
        assert_eq!((got.verified, got.repeated, got.duplicates()), (3, 1, 1));
        assert!(got.ids.is_empty() && got.paths.is_empty());
    }

    #[test]
    fn keep_alive_and_chunked_requests_are_read_and_unsigned_ones_refused() {
        let rx = Receiver::start(vec![WebhookSecret::generate()]).unwrap();
        let mut s = TcpStream::connect(rx.addr()).unwrap();
        let mut r = std::io::BufReader::new(s.try_clone().unwrap());
        s.write_all(b"POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc")
            .unwrap();
        assert_eq!(status_line(&mut r), "HTTP/1.1 401 Unauthorized");
        // The same connection carries a second, chunked request.
        s.write_all(
            b"POST /b?q=1 HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n",
        )
        .unwrap();
        assert_eq!(status_line(&mut r), "HTTP/1.1 401 Unauthorized");
        let got = rx.received();
        assert_eq!((got.requests, got.verified), (2, 0));
        assert!(
            got.invalid[0].starts_with("/a: missing"),
            "{:?}",
            got.invalid
        );
        assert!(
            got.invalid[1].starts_with("/b: missing"),
            "{:?}",
            got.invalid
        );
        s.write_all(b"garbage\r\n\r\n").unwrap();
        assert_eq!(status_line(&mut r), "HTTP/1.1 400 Bad Request");
    }
}
