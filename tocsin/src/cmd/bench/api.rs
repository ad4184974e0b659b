//! `tocsin bench api [--clients C] [--requests N] [--json]`: read every GET operation of the API
//! with C concurrent keep-alive clients.
//!
//! It starts this binary as `tocsin serve --demo` (or `--seed-reference`) on a scratch SQLite store
//! in a temporary directory and a free port on 127.0.0.1, with a generated admin token, reads the
//! served OpenAPI document (`/api/v1/openapi.json`) and times every `GET` operation it lists: path
//! parameters are filled from the reference case (the first threat, warning, entity, audience, user,
//! token; a recipient's link token from the file channel's outbox), query parameters are left out.
//! Each route gets a warm-up of C requests, then N requests spread over C client threads, each with
//! one HTTP/1.1 keep-alive connection (a plain blocking client: no extra tool, little CPU).
//!
//! Per route: `req_per_s` (N over the wall time), `p50_ms`/`p99_ms` (per request, from writing the
//! request to reading the whole body), `statuses` (count per HTTP status: a route the case has no
//! id for, such as `/jobs/{id}`, measures its 404), `bytes` (one response body) and
//! `server_cpu_ms_per_req` (the server process's user+system CPU over N: comparable between a busy
//! and an idle machine when wall figures are not). `load_average` is /proc/loadavg at the start.

use anyhow::{bail, ensure, Context, Result};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(clap::Args, Debug)]
pub struct ApiArgs {
    /// Concurrent clients (threads, one keep-alive connection each).
    #[arg(long, default_value_t = 50)]
    clients: usize,
    /// Timed requests per route.
    #[arg(long, default_value_t = 5_000)]
    requests: usize,
    /// Serve the reference case matched but not yet worked (`serve --seed-reference`) instead of
    /// worked end to end (`serve --demo`).
    #[arg(long)]
    seed_reference: bool,
    /// Only routes whose OpenAPI path contains this text.
    #[arg(long)]
    only: Option<String>,
    /// One JSON object instead of a table.
    #[arg(long)]
    json: bool,
    /// Serve with this `tocsin` binary instead of this one (the same flags): times another
    /// build, such as the one before a change, with the same client.
    #[arg(long)]
    server_bin: Option<std::path::PathBuf>,
}

/// The server under test; killed when dropped.
struct Server {
    child: Child,
    addr: SocketAddr,
    dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    fn start(seed_reference: bool, token: &str, bin: Option<&Path>) -> Result<Self> {
        let dir = tempfile::tempdir().context("creating a temporary directory")?;
        // A free port: bind to :0, note it, release it for the server.
        let addr = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .context("finding a free port on 127.0.0.1")?;
        let exe = match bin {
            Some(b) => b.to_path_buf(),
            None => std::env::current_exe().context("locating this binary")?,
        };
        let child = Command::new(exe)
            .arg("--db")
            .arg(dir.path().join("bench.db"))
            .arg("--outbox")
            .arg(dir.path().join("outbox"))
            .arg("serve")
            .arg(if seed_reference {
                "--seed-reference"
            } else {
                "--demo"
            })
            .arg("--listen")
            .arg(addr.to_string())
            // No scheduler pass during the run: it would write (and so invalidate) while we read.
            .args(["--tick-secs", "86400"])
            .env("TOCSIN_ADMIN_TOKEN", token)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            // The server's own log (one line per request, as in production) goes to a file,
            // shown if it fails to start.
            .stderr(Stdio::from(
                std::fs::File::create(dir.path().join("serve.log"))
                    .context("creating the server's log file")?,
            ))
            .spawn()
            .context("starting `tocsin serve`")?;
        let mut server = Self { child, addr, dir };
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            if let Some(status) = server.child.try_wait()? {
                let log = std::fs::read_to_string(server.dir.path().join("serve.log"))
                    .unwrap_or_default();
                bail!("`tocsin serve` exited before answering: {status}\n{log}");
            }
            if let Ok(mut c) = Client::connect(addr, None) {
                if c.get("/health").map(|r| r.status == 200).unwrap_or(false) {
                    return Ok(server);
                }
            }
            ensure!(
                Instant::now() < deadline,
                "`tocsin serve` did not answer /health on {addr} within 120 s"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn outbox(&self) -> std::path::PathBuf {
        self.dir.path().join("outbox")
    }

    /// User + system CPU time of the server process so far.
    fn cpu(&self) -> Duration {
        process_cpu(self.child.id()).unwrap_or_default()
    }
}

/// utime + stime of `pid` from /proc (fields 14 and 15 of `stat`, after the command's parentheses).
fn process_cpu(pid: u32) -> Option<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split(' ').collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    // CLK_TCK is 100 on Linux.
    Some(Duration::from_millis(ticks * 10))
}

struct Response {
    status: u16,
    body: Vec<u8>,
}

/// A minimal HTTP/1.1 keep-alive client: enough for our own server's answers (Content-Length or
/// chunked bodies).
struct Client {
    addr: SocketAddr,
    reader: BufReader<TcpStream>,
    auth: Option<String>,
}

impl Client {
    fn connect(addr: SocketAddr, token: Option<&str>) -> Result<Self> {
        let s = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
        s.set_nodelay(true)?;
        s.set_read_timeout(Some(Duration::from_secs(60)))?;
        Ok(Self {
            addr,
            reader: BufReader::new(s),
            auth: token.map(|t| format!("Authorization: Bearer {t}\r\n")),
        })
    }

    fn get(&mut self, path: &str) -> Result<Response> {
        let req = format!(
            "GET {path} HTTP/1.1\r\nHost: {}\r\n{}Accept: application/json\r\n\r\n",
            self.addr,
            self.auth.as_deref().unwrap_or("")
        );
        self.reader.get_mut().write_all(req.as_bytes())?;
        let mut line = String::new();
        self.reader.read_line(&mut line)?;
        let status: u16 = line
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .with_context(|| format!("GET {path}: not an HTTP status line: {line:?}"))?;
        let mut length = None;
        let mut chunked = false;
        let mut close = false;
        loop {
            line.clear();
            if self.reader.read_line(&mut line)? == 0 {
                bail!("GET {path}: the connection closed inside the headers");
            }
            let l = line.trim_end();
            if l.is_empty() {
                break;
            }
            if let Some((k, v)) = l.split_once(':') {
                let v = v.trim();
                match k.to_ascii_lowercase().as_str() {
                    "content-length" => length = v.parse::<usize>().ok(),
                    "transfer-encoding" => chunked = v.eq_ignore_ascii_case("chunked"),
                    "connection" => close = v.eq_ignore_ascii_case("close"),
                    _ => {}
                }
            }
        }
        let mut body = Vec::new();
        if chunked {
            loop {
                line.clear();
                self.reader.read_line(&mut line)?;
                let size = usize::from_str_radix(line.trim().split(';').next().unwrap_or(""), 16)
                    .with_context(|| format!("GET {path}: bad chunk size {line:?}"))?;
                let start = body.len();
                body.resize(start + size, 0);
                self.reader.read_exact(&mut body[start..])?;
                line.clear();
                self.reader.read_line(&mut line)?;
                if size == 0 {
                    break;
                }
            }
        } else if let Some(n) = length {
            body.resize(n, 0);
            self.reader.read_exact(&mut body)?;
        } else {
            self.reader.read_to_end(&mut body)?;
            close = true;
        }
        if close {
            let s = TcpStream::connect_timeout(&self.addr, Duration::from_secs(5))?;
            s.set_nodelay(true)?;
            self.reader = BufReader::new(s);
        }
        Ok(Response { status, body })
    }
}

/// The first `id` of the list a GET of `path` returns (`items`, or a bare array).
fn first_id(c: &mut Client, path: &str) -> Option<String> {
    let r = c.get(path).ok()?;
    let v: Value = serde_json::from_slice(&r.body).ok()?;
    let items = v.get("items").unwrap_or(&v).as_array()?;
    items.iter().find_map(|i| match i.get("id")? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    })
}

/// A recipient's link token from the files the demo delivered (`…/r/TOKEN`).
fn link_token(outbox: &Path) -> Option<String> {
    let mut stack = vec![outbox.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).ok()?.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
                continue;
            }
            let Ok(text) = std::fs::read_to_string(&p) else {
                continue;
            };
            for (i, _) in text.match_indices("/r/") {
                // `PAYLOAD.SIGNATURE`, both base64url; a full stop after it ends the sentence.
                let run: String = text[i + 3..]
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
                    .collect();
                let tok = run.trim_end_matches('.');
                if tok
                    .split_once('.')
                    .is_some_and(|(p, s)| p.len() >= 16 && s.len() >= 16)
                {
                    return Some(tok.to_owned());
                }
            }
        }
    }
    None
}

struct RouteFigures {
    path: String,
    url: String,
    req_per_s: f64,
    p50_ms: f64,
    p99_ms: f64,
    statuses: BTreeMap<u16, usize>,
    bytes: usize,
    server_cpu_ms_per_req: f64,
}

fn percentile(sorted: &[Duration], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * q).round() as usize;
    sorted[i.min(sorted.len() - 1)].as_secs_f64() * 1e3
}

/// One route's timed run.
struct Timed {
    wall_s: f64,
    /// Per-request latencies, sorted.
    latencies: Vec<Duration>,
    statuses: BTreeMap<u16, usize>,
    server_cpu_ms_per_req: f64,
}

fn time_route(
    server: &Server,
    token: &str,
    url: &str,
    clients: usize,
    requests: usize,
) -> Result<Timed> {
    let mut conns = (0..clients)
        .map(|_| Client::connect(server.addr, Some(token)))
        .collect::<Result<Vec<_>>>()
        .context("connecting the clients")?;
    for c in &mut conns {
        c.get(url)?;
    }
    let next = Arc::new(AtomicUsize::new(0));
    let cpu0 = server.cpu();
    let start = Instant::now();
    let handles: Vec<_> = conns
        .into_iter()
        .map(|mut c| {
            let next = next.clone();
            let url = url.to_owned();
            std::thread::spawn(move || -> Result<(Vec<Duration>, Vec<u16>)> {
                let mut lat = Vec::new();
                let mut st = Vec::new();
                while next.fetch_add(1, Ordering::Relaxed) < requests {
                    let t = Instant::now();
                    let r = c.get(&url)?;
                    lat.push(t.elapsed());
                    st.push(r.status);
                }
                Ok((lat, st))
            })
        })
        .collect();
    let mut lat = Vec::with_capacity(requests);
    let mut statuses = BTreeMap::new();
    for h in handles {
        let (l, s) = h
            .join()
            .map_err(|_| anyhow::anyhow!("a client thread panicked"))??;
        lat.extend(l);
        for code in s {
            *statuses.entry(code).or_insert(0) += 1;
        }
    }
    let wall = start.elapsed().as_secs_f64();
    let cpu = server.cpu().saturating_sub(cpu0).as_secs_f64() * 1e3;
    lat.sort_unstable();
    Ok(Timed {
        wall_s: wall,
        latencies: lat,
        statuses,
        server_cpu_ms_per_req: cpu / requests.max(1) as f64,
    })
}

pub fn run(args: ApiArgs) -> Result<()> {
    ensure!(args.clients >= 1, "--clients must be at least 1");
    ensure!(args.requests >= 1, "--requests must be at least 1");
    let load = std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split(' ').take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default();
    let token = format!(
        "bench-api-{:016x}{:016x}",
        rand_u64(),
        rand_u64().rotate_left(17)
    );
    let server = Server::start(args.seed_reference, &token, args.server_bin.as_deref())?;
    let mut c = Client::connect(server.addr, Some(&token))?;
    let doc: Value = serde_json::from_slice(&c.get("/api/v1/openapi.json")?.body)
        .context("reading the served OpenAPI document")?;
    let paths = doc
        .get("paths")
        .and_then(Value::as_object)
        .context("the OpenAPI document has no `paths`")?;

    let mut ids: BTreeMap<&str, Option<String>> = BTreeMap::new();
    ids.insert("/api/v1/threats/", first_id(&mut c, "/api/v1/threats"));
    ids.insert("/api/v1/warnings/", first_id(&mut c, "/api/v1/warnings"));
    ids.insert("/api/v1/entities/", first_id(&mut c, "/api/v1/entities"));
    ids.insert("/api/v1/audiences/", first_id(&mut c, "/api/v1/audiences"));
    ids.insert(
        "/api/v1/feeds/runs/",
        first_id(&mut c, "/api/v1/feeds/runs"),
    );
    ids.insert("/api/v1/users/", first_id(&mut c, "/api/v1/users"));
    ids.insert("/api/v1/tokens/", first_id(&mut c, "/api/v1/tokens"));
    ids.insert("/r/", link_token(&server.outbox()));

    let mut routes = Vec::new();
    for (path, ops) in paths {
        if ops.get("get").is_none() {
            continue;
        }
        if let Some(only) = &args.only {
            if !path.contains(only.as_str()) {
                continue;
            }
        }
        let url = match path.find('{') {
            None => path.clone(),
            Some(open) => {
                let close = path[open..].find('}').map_or(path.len(), |c| open + c + 1);
                let id = ids
                    .get(&path[..open])
                    .cloned()
                    .flatten()
                    .unwrap_or_else(|| "bench-none".into());
                format!("{}{}{}", &path[..open], id, &path[close..])
            }
        };
        let bytes = c.get(&url)?.body.len();
        let t = time_route(&server, &token, &url, args.clients, args.requests)?;
        let r = RouteFigures {
            path: path.clone(),
            url,
            req_per_s: args.requests as f64 / t.wall_s,
            p50_ms: percentile(&t.latencies, 0.50),
            p99_ms: percentile(&t.latencies, 0.99),
            statuses: t.statuses,
            bytes,
            server_cpu_ms_per_req: t.server_cpu_ms_per_req,
        };
        if !args.json {
            println!(
                "{:<46} {:>9.0} req/s  p50 {:>7.2} ms  p99 {:>7.2} ms  cpu {:>6.3} ms/req  {:>7} B  {:?}",
                r.path, r.req_per_s, r.p50_ms, r.p99_ms, r.server_cpu_ms_per_req, r.bytes, r.statuses
            );
        }
        routes.push(r);
    }
    ensure!(!routes.is_empty(), "no GET operation to time");
    let slowest = routes
        .iter()
        .min_by(|a, b| a.req_per_s.total_cmp(&b.req_per_s))
        .map(|r| r.path.clone());
    let worst_p99 = routes.iter().map(|r| r.p99_ms).fold(0.0, f64::max);
    if args.json {
        let out = json!({
            "clients": args.clients,
            "requests_per_route": args.requests,
            "case": if args.seed_reference { "seed-reference" } else { "demo" },
            "load_average": load,
            "routes": routes.iter().map(|r| json!({
                "path": r.path,
                "url": r.url,
                "req_per_s": (r.req_per_s * 10.0).round() / 10.0,
                "p50_ms": (r.p50_ms * 1000.0).round() / 1000.0,
                "p99_ms": (r.p99_ms * 1000.0).round() / 1000.0,
                "statuses": r.statuses.iter().map(|(k, v)| (k.to_string(), json!(v))).collect::<serde_json::Map<_, _>>(),
                "bytes": r.bytes,
                "server_cpu_ms_per_req": (r.server_cpu_ms_per_req * 1000.0).round() / 1000.0,
            })).collect::<Vec<_>>(),
            "slowest_route": slowest,
            "min_req_per_s": routes.iter().map(|r| r.req_per_s).fold(f64::INFINITY, f64::min).round(),
            "max_p99_ms": (worst_p99 * 1000.0).round() / 1000.0,
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        println!(
            "{} routes, {} clients, {} requests each, load average {load}; slowest: {}",
            routes.len(),
            args.clients,
            args.requests,
            slowest.unwrap_or_default()
        );
    }
    Ok(())
}

/// Entropy for the bench's admin token (not a secret worth more: the server is ours and local).
fn rand_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default(),
    );
    h.finish()
}
