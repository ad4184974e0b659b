//! The layering of ARCHITECTURE.md ("Which crate may depend on which"), checked against
//! `cargo metadata` and the core's source, so a change that breaks it fails here.

use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

/// Every workspace crate and its layer. A crate may depend (normal, build or dev dependency) only
/// on workspace crates of a strictly lower layer. A new crate must be placed here.
const LAYERS: &[(&str, u8)] = &[
    // The pure domain: no I/O, no clock.
    ("tocsin-core", 0),
    // Pure libraries over the domain: matching and the outside world's formats.
    ("tocsin-match", 1),
    ("tocsin-formats", 1),
    ("tocsin-testkit", 1),
    // Free-text intake (uses the matcher's tables); the store contract.
    ("tocsin-intake", 2),
    ("tocsin-store", 2),
    // The embedded store backend.
    ("tocsin-store-sqlite", 3),
    // Adapters over the store: the PostgreSQL backend (its tests copy stores to and from
    // SQLite), channels, feeds (their tests run on SQLite).
    ("tocsin-store-postgres", 4),
    ("tocsin-deliver", 4),
    ("tocsin-feed", 4),
    // Identity and accounts over the store contract.
    ("tocsin-auth", 4),
    // The pipeline over the store and channels.
    ("tocsin-engine", 5),
    // HTTP at the edge.
    ("tocsin-server", 6),
    // The binary.
    ("tocsin", 7),
];

/// What the pure layers (0 and 1) may use from crates.io: data structures, encodings, hashing,
/// Unicode tables. Anything that opens files, sockets or databases, spawns tasks or reads the
/// clock has no place there; adding a crate to this list is a design decision, not a formality.
const PURE_EXTERNAL: &[&str] = &[
    "chrono",
    // The IANA zone database, compiled in (no file is read): local times in warnings.
    "chrono-tz",
    "hex",
    "hmac",
    "sha2",
    "serde",
    "serde_json",
    "serde_path_to_error",
    "thiserror",
    "utoipa",
    "unicode-normalization",
    "unicode-security",
    "unicode-properties",
    "unicode-general-category",
    "unicode-script",
    "deunicode",
    "any_ascii",
    "encoding_rs",
    "hashbrown",
    "aho-corasick",
    "regex",
    "csv",
    "toml",
    "roxmltree",
    "uuid",
    "proptest",
];

/// Source text that means I/O or the wall clock. The core takes times as arguments.
const IMPURE_SOURCE: &[&str] = &[
    "std::fs",
    "File::open",
    "File::create",
    "TcpStream",
    "TcpListener",
    "UdpSocket",
    "std::process",
    "std::env::var",
    "Utc::now",
    "Local::now",
    "SystemTime::now",
    "Instant::now",
    "thread::spawn",
    "std::io::stdin",
    "println!",
    "eprintln!",
];

fn workspace_root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

fn metadata() -> Value {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let out = Command::new(cargo)
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .current_dir(workspace_root())
        .output()
        .expect("run cargo metadata");
    assert!(
        out.status.success(),
        "cargo metadata failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("cargo metadata prints JSON")
}

/// (crate, dependency, kind) for every dependency of every workspace crate.
fn edges(meta: &Value) -> Vec<(String, String, String)> {
    let mut all = Vec::new();
    for p in meta["packages"].as_array().expect("packages") {
        let name = p["name"].as_str().expect("name").to_owned();
        for d in p["dependencies"].as_array().expect("dependencies") {
            let kind = d["kind"].as_str().unwrap_or("normal").to_owned();
            all.push((name.clone(), d["name"].as_str().unwrap().to_owned(), kind));
        }
    }
    all
}

fn layer_table() -> BTreeMap<&'static str, u8> {
    LAYERS.iter().copied().collect()
}

/// The rules themselves, over a list of edges, so the test below can also show they bite.
fn violations(crates: &[String], edges: &[(String, String, String)]) -> Vec<String> {
    let layers = layer_table();
    let mut out = Vec::new();
    for c in crates {
        if !layers.contains_key(c.as_str()) {
            out.push(format!(
                "crate {c} has no layer: add it to LAYERS and ARCHITECTURE.md"
            ));
        }
    }
    for (from, to, kind) in edges {
        let Some(&lf) = layers.get(from.as_str()) else {
            continue;
        };
        match layers.get(to.as_str()) {
            Some(&lt) if lt >= lf => out.push(format!(
                "{from} (layer {lf}) depends on {to} (layer {lt}) as a {kind} dependency: \
                 a crate may only depend on lower layers"
            )),
            Some(_) => {}
            None if lf <= 1 && kind != "dev" && !PURE_EXTERNAL.contains(&to.as_str()) => {
                out.push(format!(
                    "{from} is a pure crate (layer {lf}) but depends on {to}: not in PURE_EXTERNAL"
                ))
            }
            None => {}
        }
    }
    out
}

#[test]
fn crates_depend_only_on_lower_layers_and_the_pure_ones_on_pure_crates() {
    let meta = metadata();
    let crates: Vec<String> = meta["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap().to_owned())
        .collect();
    assert!(crates.iter().any(|c| c == "tocsin-core"), "{crates:?}");
    let found = violations(&crates, &edges(&meta));
    assert!(found.is_empty(), "layering broken:\n{}", found.join("\n"));
}

#[test]
fn the_layer_rule_refuses_an_upward_or_impure_dependency() {
    let crates = vec!["tocsin-core".to_owned(), "tocsin-store".to_owned()];
    let upward = vec![(
        "tocsin-core".to_owned(),
        "tocsin-store".to_owned(),
        "normal".to_owned(),
    )];
    assert_eq!(violations(&crates, &upward).len(), 1);
    let io = vec![(
        "tocsin-core".to_owned(),
        "rusqlite".to_owned(),
        "normal".to_owned(),
    )];
    assert_eq!(violations(&crates, &io).len(), 1);
    let unknown = vec!["tocsin-newthing".to_owned()];
    assert_eq!(violations(&unknown, &[]).len(), 1);
    let fine = vec![(
        "tocsin-store".to_owned(),
        "tocsin-core".to_owned(),
        "normal".to_owned(),
    )];
    assert!(violations(&crates, &fine).is_empty());
}

/// Lines of `src` before its first `#[cfg(test)]` (test modules sit at the end of a file and may
/// read the clock).
fn non_test_lines(src: &str) -> impl Iterator<Item = (usize, &str)> {
    src.lines()
        .enumerate()
        .take_while(|(_, l)| !l.trim_start().starts_with("#[cfg(test)]"))
        .filter(|(_, l)| {
            let t = l.trim_start();
            !t.starts_with("//")
        })
}

fn impure_lines(path: &Path, src: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (i, line) in non_test_lines(src) {
        for bad in IMPURE_SOURCE {
            if line.contains(bad) {
                out.push(format!(
                    "{}:{}: {bad}: {}",
                    path.display(),
                    i + 1,
                    line.trim()
                ));
            }
        }
    }
    out
}

fn rust_files(dir: &Path, into: &mut Vec<std::path::PathBuf>) {
    for e in std::fs::read_dir(dir).expect("read source dir") {
        let p = e.expect("dir entry").path();
        if p.is_dir() {
            rust_files(&p, into);
        } else if p.extension().is_some_and(|x| x == "rs") {
            into.push(p);
        }
    }
}

#[test]
fn the_core_performs_no_io_and_never_reads_the_clock() {
    let mut files = Vec::new();
    rust_files(&workspace_root().join("crates/tocsin-core/src"), &mut files);
    assert!(files.len() > 5, "core sources not found: {files:?}");
    let mut found = Vec::new();
    for f in &files {
        let src = std::fs::read_to_string(f).expect("read core source");
        found.extend(impure_lines(f, &src));
    }
    assert!(
        found.is_empty(),
        "I/O or clock in tocsin-core:\n{}",
        found.join("\n")
    );
    // The scan itself bites.
    let planted =
        "fn f() -> Timestamp { Utc::now() }\n#[cfg(test)]\nmod t { fn g() { Utc::now(); } }";
    assert_eq!(impure_lines(Path::new("x.rs"), planted).len(), 1);
}
