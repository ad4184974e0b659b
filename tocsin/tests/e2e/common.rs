use serde_json::Value;
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Output};
use std::time::{Duration, Instant};

pub fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_tocsin"));
    c.env_remove("TOCSIN_DB")
        .env_remove("TOCSIN_ADMIN_TOKEN")
        .env("TOCSIN_LOG", "warn");
    c
}

pub fn run_ok(cmd: &mut Command) -> Output {
    let out = cmd.output().expect("run tocsin");
    assert!(
        out.status.success(),
        "tocsin failed: {}\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

pub fn demo_json() -> Value {
    let out = run_ok(bin().args(["demo", "--json"]));
    serde_json::from_slice(&out.stdout).expect("demo --json prints one JSON object")
}

pub fn examples_dir() -> &'static Path {
    tocsin_testkit::examples_dir()
}

/// The Python with the test tools (scripts/setup-test-tools.sh); a missing one fails the test.
pub fn python() -> std::path::PathBuf {
    match std::env::var_os("TOCSIN_TEST_PYTHON") {
        Some(p) => std::path::PathBuf::from(p),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../.venv/bin/python"),
    }
}

/// A real SMTP server (tests/e2e/smtp_server.py) for the life of the value.
pub struct SmtpServer {
    child: std::process::Child,
    pub port: String,
    pub inbox: std::path::PathBuf,
}

impl SmtpServer {
    /// Start it, writing messages into `dir/inbox`; `auth` = "user:password" requires AUTH.
    pub fn start(dir: &Path, auth: Option<&str>) -> Self {
        use std::io::BufRead;
        let inbox = dir.join("inbox");
        std::fs::create_dir_all(&inbox).unwrap();
        let py = python();
        let mut cmd = Command::new(&py);
        cmd.arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/e2e/smtp_server.py"
        ))
        .arg(&inbox);
        if let Some(a) = auth {
            cmd.arg(a);
        }
        let mut child = cmd
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start {} (run scripts/setup-test-tools.sh): {e}",
                    py.display()
                )
            });
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = line
            .trim()
            .strip_prefix("READY ")
            .unwrap_or_else(|| panic!("SMTP server did not start (aiosmtpd missing?): {line:?}"))
            .to_owned();
        Self { child, port, inbox }
    }

    /// Messages received so far.
    pub fn count(&self) -> usize {
        std::fs::read_dir(&self.inbox)
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .file_name()
                    .to_string_lossy()
                    .ends_with(".json")
            })
            .count()
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.wait();
    }
}

/// The store the end-to-end tests run against: `TOCSIN_TEST_BACKEND=sqlite` (the default) or
/// `postgres` (a fresh database per test on `TOCSIN_TEST_PG`, default the local server).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub fn backend() -> Backend {
    match std::env::var("TOCSIN_TEST_BACKEND").as_deref() {
        Err(_) | Ok("") | Ok("sqlite") => Backend::Sqlite,
        Ok("postgres") | Ok("postgresql") => Backend::Postgres,
        Ok(other) => panic!("TOCSIN_TEST_BACKEND={other:?}: use sqlite or postgres"),
    }
}

/// One test's store, as `--db` names it: a SQLite file in the test's directory, or a PostgreSQL
/// database created for the test and dropped with this value.
pub struct TestDb {
    arg: String,
    sqlite: Option<std::path::PathBuf>,
    _pg: Option<tocsin_store_postgres::testing::TempDb>,
}

impl TestDb {
    /// A store on the backend the run selected (`TOCSIN_TEST_BACKEND`).
    pub fn new(dir: &Path) -> Self {
        match backend() {
            Backend::Sqlite => Self::sqlite(&dir.join("tocsin.db")),
            Backend::Postgres => Self::postgres(),
        }
    }

    pub fn sqlite(path: &Path) -> Self {
        Self {
            arg: path.to_str().expect("UTF-8 temp path").to_owned(),
            sqlite: Some(path.to_owned()),
            _pg: None,
        }
    }

    /// A fresh PostgreSQL database (fails, never skips, when the server is unreachable).
    pub fn postgres() -> Self {
        let db = tocsin_store_postgres::testing::TempDb::create()
            .unwrap_or_else(|e| panic!("PostgreSQL for the e2e tests: {e}"));
        Self {
            arg: db.url().to_owned(),
            sqlite: None,
            _pg: Some(db),
        }
    }

    /// The `--db` value.
    pub fn arg(&self) -> &str {
        &self.arg
    }

    /// Open the store in the test process (a second client of the same database).
    pub fn open(&self) -> std::sync::Arc<dyn tocsin_store::Store> {
        match &self.sqlite {
            Some(p) => std::sync::Arc::new(
                tocsin_store_sqlite::SqliteStore::open(p).expect("open the test SQLite store"),
            ),
            None => std::sync::Arc::new(
                tocsin_store_postgres::PgStore::connect(&self.arg)
                    .expect("connect to the test PostgreSQL store"),
            ),
        }
    }
}

/// A process the test started (`serve`, `worker`): killed and reaped when the test ends, pass or
/// fail.
pub struct Proc(pub Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A TCP port free on 127.0.0.1 at the time of asking.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Polls `done` every 100 ms; fails naming `what` after `limit`.
pub fn wait(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < limit, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}
