//! Progress of long commands when their output is piped (docs/cli.md, "Progress"): no bar, no
//! escape codes, one summary line on standard error; nothing at all with `--json`.

use crate::common::{bin, examples_dir, run_ok};
use std::process::Output;

/// What a progress bar would leave in piped output: escape sequences, carriage-return redraws,
/// the bar's own characters.
fn assert_no_bar(out: &Output) {
    for (name, bytes) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
        let text = String::from_utf8_lossy(bytes);
        assert!(!text.contains('\u{1b}'), "escape codes on {name}: {text:?}");
        assert!(!text.contains('\r'), "a redrawn line on {name}: {text:?}");
        assert!(
            !text.contains("=>") && !text.contains("left)"),
            "a bar on {name}: {text:?}"
        );
    }
}

fn stderr_lines(out: &Output, prefix: &str) -> Vec<String> {
    String::from_utf8_lossy(&out.stderr)
        .lines()
        .filter(|l| l.starts_with(prefix))
        .map(str::to_owned)
        .collect()
}

#[test]
fn piped_commands_print_one_summary_line_and_no_bar() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("a.db");
    let db = db.to_str().unwrap();
    // `Command::output` pipes both streams: neither is a terminal.
    let out = run_ok(bin().args(["--db", db, "import", examples_dir().to_str().unwrap()]));
    assert_no_bar(&out);
    let summary = stderr_lines(&out, "importing: ");
    assert_eq!(
        summary.len(),
        1,
        "{:?}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        summary[0].contains(" items in ") && summary[0].contains("/s)"),
        "{}",
        summary[0]
    );
    // The command's own report still goes to standard output.
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("imported "));

    let copy = dir.path().join("b.db");
    let out = run_ok(bin().args([
        "migrate",
        "--from",
        &format!("sqlite:{db}"),
        "--to",
        &format!("sqlite:{}", copy.to_str().unwrap()),
    ]));
    assert_no_bar(&out);
    let summary = stderr_lines(&out, "copying: ");
    assert_eq!(
        summary.len(),
        1,
        "{:?}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(summary[0].contains(" rows in "), "{}", summary[0]);

    let out = run_ok(bin().args(["bench", "leakproof", "--cases", "300"]));
    assert_no_bar(&out);
    let summary = stderr_lines(&out, "leakproof: ");
    assert_eq!(
        summary.len(),
        1,
        "{:?}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        summary[0].starts_with("leakproof: 300 cases in "),
        "{}",
        summary[0]
    );
}

#[test]
fn with_json_there_is_no_progress_at_all() {
    let out = run_ok(bin().args(["bench", "leakproof", "--cases", "300", "--json"]));
    assert_no_bar(&out);
    assert!(
        out.stderr.is_empty(),
        "{:?}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value =
        serde_json::from_slice(&out.stdout).expect("--json prints one JSON object");
    assert_eq!(v["cases"], 300);
}
