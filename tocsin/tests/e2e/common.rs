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
