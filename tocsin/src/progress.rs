//! Progress of long commands (`import`, `feed ingest`, `migrate`, the benches): a bar with its
//! rate and time left when standard error is a terminal; one summary line on standard error
//! when it is not (a log, a pipe, CI); nothing at all with `--json`, whose output is the summary.
//! docs/cli.md, "Progress".

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::time::Instant;

/// How a command shows its progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// A live bar on standard error.
    Bar,
    /// One line at the end, on standard error.
    Summary,
    /// Nothing (`--json`).
    Quiet,
}

impl Mode {
    /// The mode for this process: quiet with `--json`, a bar on a terminal, else a summary.
    /// `TOCSIN_PROGRESS=never` forces the summary line even on a terminal (screen recordings,
    /// terminals that mangle redraws).
    pub fn detect(json: bool) -> Mode {
        if json {
            Mode::Quiet
        } else if std::io::stderr().is_terminal()
            && std::env::var("TOCSIN_PROGRESS").map_or(true, |v| v != "never")
        {
            Mode::Bar
        } else {
            Mode::Summary
        }
    }
}

/// One command's progress: counts `unit`s (rows, threats, bytes) towards a total, if known.
pub struct Progress {
    mode: Mode,
    what: String,
    unit: &'static str,
    bar: Option<ProgressBar>,
    started: Instant,
    done: std::sync::atomic::AtomicU64,
}

impl Progress {
    /// `what` names the work (`importing`), `unit` what is counted (`rows`); `bytes` as unit
    /// shows sizes (`12.5 MiB/s`).
    pub fn new(mode: Mode, what: &str, unit: &'static str, total: Option<u64>) -> Progress {
        let bar = (mode == Mode::Bar).then(|| {
            let b = match total {
                Some(n) => ProgressBar::with_draw_target(Some(n), ProgressDrawTarget::stderr()),
                None => ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr()),
            };
            let counts = if unit == "bytes" {
                "{bytes}/{total_bytes} ({bytes_per_sec}, {eta} left)"
            } else if total.is_some() {
                "{human_pos}/{human_len} {msg} ({per_sec}, {eta} left)"
            } else {
                "{human_pos} {msg} ({per_sec})"
            };
            let template = if total.is_some() {
                format!("{{prefix}} [{{wide_bar}}] {counts}")
            } else {
                format!("{{spinner}} {{prefix}} {counts}")
            };
            // A template of our own making: a bad one is a bug here, and a plain bar still works.
            let style = ProgressStyle::with_template(&template)
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> ");
            b.set_style(style);
            b.set_prefix(what.to_owned());
            b.set_message(unit);
            b
        });
        Progress {
            mode,
            what: what.to_owned(),
            unit,
            bar,
            started: Instant::now(),
            done: std::sync::atomic::AtomicU64::new(0),
        }
    }

    /// `n` more done.
    pub fn inc(&self, n: u64) {
        self.done.fetch_add(n, std::sync::atomic::Ordering::Relaxed);
        if let Some(b) = &self.bar {
            b.inc(n);
        }
    }

    /// `done` so far (of `total`, which may change as the work reveals it).
    pub fn set(&self, done: u64, total: Option<u64>) {
        self.done.store(done, std::sync::atomic::Ordering::Relaxed);
        if let Some(b) = &self.bar {
            if let Some(t) = total {
                b.set_length(t);
            }
            b.set_position(done);
        }
    }

    /// Clear the bar and, unless quiet, print one line: what was done, how much, how fast, and
    /// `detail` (the command's own figures).
    pub fn finish(self, detail: &str) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
        if self.mode == Mode::Quiet {
            return;
        }
        eprintln!("{}", self.summary(detail));
    }

    fn summary(&self, detail: &str) -> String {
        let secs = self.started.elapsed().as_secs_f64();
        let done = self.done.load(std::sync::atomic::Ordering::Relaxed);
        let rate = if secs > 0.0 { done as f64 / secs } else { 0.0 };
        let (amount, per_s) = if self.unit == "bytes" {
            (
                format!("{:.1} MB", done as f64 / 1e6),
                format!("{:.1} MB/s", rate / 1e6),
            )
        } else {
            (format!("{done} {}", self.unit), format!("{rate:.0}/s"))
        };
        let detail = if detail.is_empty() {
            String::new()
        } else {
            format!("; {detail}")
        };
        format!("{}: {amount} in {secs:.1} s ({per_s}){detail}", self.what)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_summary_names_the_work_the_amount_and_the_rate() {
        let p = Progress::new(Mode::Summary, "importing", "rows", Some(10));
        p.inc(4);
        p.set(10, None);
        let s = p.summary("3 reports");
        assert!(s.starts_with("importing: 10 rows in "), "{s}");
        assert!(s.ends_with("/s); 3 reports"), "{s}");
        let b = Progress::new(Mode::Quiet, "reading", "bytes", None);
        b.inc(2_500_000);
        assert!(b.summary("").starts_with("reading: 2.5 MB in "));
        assert!(b.bar.is_none(), "no bar unless on a terminal");
    }
}
