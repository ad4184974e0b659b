use serde_json::Value;
use std::path::Path;
use std::process::{Command, Output};

pub fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_tocsin"));
    c.env_remove("TOCSIN_DB").env_remove("TOCSIN_ADMIN_TOKEN").env("TOCSIN_LOG", "warn");
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
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/moscow-2024"))
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
        cmd.arg(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/e2e/smtp_server.py")).arg(&inbox);
        if let Some(a) = auth {
            cmd.arg(a);
        }
        let mut child = cmd
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {} (run scripts/setup-test-tools.sh): {e}", py.display()));
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        let port = line.trim().strip_prefix("READY ").unwrap_or_else(|| panic!("SMTP server did not start (aiosmtpd missing?): {line:?}")).to_owned();
        Self { child, port, inbox }
    }

    /// Messages received so far.
    pub fn count(&self) -> usize {
        std::fs::read_dir(&self.inbox).unwrap().filter(|e| e.as_ref().unwrap().file_name().to_string_lossy().ends_with(".json")).count()
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.wait();
    }
}
