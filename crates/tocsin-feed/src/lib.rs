//! Feeds: the network duty to warn at CERT scale.
//!
//! A CERT's **constituency** ([`constituency`]) lists organisations with their prefixes, ASNs,
//! domains, contacts, notification interval, inhibitions and TLP. A **feed** (scan or sinkhole
//! reports, CSV with a column [`mapping`] or JSON lines) streams through [`pipeline::Pipeline`]:
//! each event's address is matched to the most specific prefix of the constituency
//! (`tocsin_match::net::PrefixTable`), inhibitions and intervals apply, and matched events are
//! spilled to disk per organisation bucket so memory stays bounded whatever the file size.
//! [`notify`] then composes one notification per organisation (summary by event type plus the
//! events as CSV, with the organisation's TLP) and queues it through the store's outbox.
//!
//! Hot path: a byte-level line reader ([`reader`]) with no allocation per row, IPv4 parsed by
//! hand, per-organisation counters; only the aggregated notifications touch the store.

pub mod constituency;
pub mod gen;
pub mod index;
pub mod mapping;
pub mod notify;
pub mod pipeline;
pub mod reader;
pub mod vocabulary;

pub use constituency::{
    Constituency, ConstituencyFile, Inhibition, InhibitionKind, Interval, Intervals, Org, Settings,
};
pub use mapping::{Format, Mapping};
pub use pipeline::{interval_key, Malformed, OrgRun, Pipeline, RunCounts};

/// What can go wrong outside a single row (a bad row is counted, never an error).
#[derive(Debug, thiserror::Error)]
pub enum FeedError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{file}:{line}: {reason}")]
    Parse {
        file: String,
        line: u64,
        reason: String,
    },
    #[error("mapping {name}: {reason}")]
    Mapping { name: String, reason: String },
    /// The same file (by its SHA-256) was ingested before.
    #[error("{file} was already ingested as run {run_id} at {at} (same SHA-256 {sha256}); nothing was queued")]
    AlreadyIngested {
        file: String,
        run_id: String,
        at: String,
        sha256: String,
    },
    #[error("run {0} already exists; pick another --run-id")]
    RunExists(String),
    /// Too much of the file could not be read: a wrong mapping or a broken file, not a feed.
    #[error("{file}: {malformed} of {events} rows are malformed (more than half), so nothing was queued; wrong --mapping? first: {first}")]
    MostlyMalformed {
        file: String,
        malformed: u64,
        events: u64,
        first: String,
    },
    #[error(transparent)]
    Store(#[from] tocsin_store::StoreError),
}

impl FeedError {
    pub(crate) fn io(path: impl std::fmt::Display, source: std::io::Error) -> Self {
        FeedError::Io {
            path: path.to_string(),
            source,
        }
    }
}

pub type Result<T> = std::result::Result<T, FeedError>;

/// A whole run from a feed file to queued notifications (what `tocsin feed ingest` and
/// `tocsin bench feed` do): intake, matching, aggregation, queueing, and the run record.
pub struct RunReport {
    pub run_id: String,
    /// SHA-256 of the file, hex.
    pub sha256: String,
    pub counts: RunCounts,
    pub queued: notify::Queued,
    /// Wall time of the intake (read, match, spill) and of composing and queueing, in seconds
    /// (measurement only; the domain clock is `opts.now`).
    pub intake_seconds: f64,
    pub queue_seconds: f64,
}

/// Where a run's events go besides the notifications.
#[derive(Default)]
pub struct Exports<'a> {
    /// Events that match no organisation (the feed's columns).
    pub unmatched: Option<Box<dyn std::io::Write + 'a>>,
    /// Inhibited events (the feed's columns, `org_id`, `inhibited_by`).
    pub inhibited: Option<Box<dyn std::io::Write + 'a>>,
}

/// Hashes what passes through it.
struct Hashing<R> {
    inner: R,
    hash: sha2::Sha256,
}

impl<R: std::io::Read> std::io::Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        use sha2::Digest;
        let n = self.inner.read(buf)?;
        self.hash.update(&buf[..n]);
        Ok(n)
    }
}

/// A run id unique by construction: the time to the microsecond and the start of the file's
/// SHA-256 (`20261204T133728.123456Z-3f2a9c1b0d4e`).
pub fn default_run_id(now: tocsin_core::Timestamp, sha256: &str) -> String {
    format!(
        "{}-{}",
        now.format("%Y%m%dT%H%M%S%.6fZ"),
        &sha256[..12.min(sha256.len())]
    )
}

/// Run `input` through the pipeline against `c` and queue the notifications in `store`.
/// Refused before anything is queued: a file ingested before (same SHA-256), a run id in use, an
/// empty file, and a file of which more than half the rows are malformed.
pub fn run_feed<R: std::io::Read>(
    store: &dyn tocsin_store::Store,
    c: &Constituency,
    input: R,
    mapping: &Mapping,
    opts: &notify::NotifyOptions,
    exports: Exports<'_>,
    progress: impl FnMut(u64, u64),
) -> Result<RunReport> {
    use sha2::Digest;
    if let Some(id) = &opts.run_id {
        if store.feed_run(id)?.is_some() {
            return Err(FeedError::RunExists(id.clone()));
        }
    }
    let report_type = vocabulary::report_type_name(&opts.report_type);
    let last: std::collections::HashMap<String, tocsin_core::Timestamp> =
        store.feed_notified()?.into_iter().collect();
    let mut p = Pipeline::new(c, &last, opts.now, &report_type)?;
    if let Some(u) = exports.unmatched {
        p.unmatched_to(u)?;
    }
    if let Some(u) = exports.inhibited {
        p.inhibited_to(u)?;
    }
    let t0 = std::time::Instant::now();
    let mut hashing = Hashing {
        inner: input,
        hash: sha2::Sha256::new(),
    };
    p.ingest(&mut hashing, mapping, &opts.source, progress)?;
    let sha256 = hex::encode(hashing.hash.finalize());
    let (counts, spill) = p.finish()?;
    if counts.malformed * 2 > counts.events {
        return Err(FeedError::MostlyMalformed {
            file: opts.source.clone(),
            malformed: counts.malformed,
            events: counts.events,
            first: counts
                .malformed_examples
                .first()
                .map(|m| format!("line {}: {}", m.line, m.reason))
                .unwrap_or_default(),
        });
    }
    if let Some(prev) = store
        .feed_runs()?
        .into_iter()
        .find(|r| r.summary["sha256"] == sha256.as_str())
    {
        return Err(FeedError::AlreadyIngested {
            file: opts.source.clone(),
            run_id: prev.id,
            at: prev.at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            sha256,
        });
    }
    let run_id = opts
        .run_id
        .clone()
        .unwrap_or_else(|| default_run_id(opts.now, &sha256));
    let intake_seconds = t0.elapsed().as_secs_f64();
    let t1 = std::time::Instant::now();
    let nopts = notify::NotifyOptions {
        report_type: report_type.clone(),
        ..opts.clone()
    };
    let queued = notify::queue(store, c, &spill, &nopts, &run_id)?;
    let mut summary = serde_json::to_value(&counts).map_err(|e| FeedError::Mapping {
        name: "run summary".into(),
        reason: e.to_string(),
    })?;
    summary["source"] = opts.source.clone().into();
    summary["sha256"] = sha256.clone().into();
    summary["mapping"] = mapping.name.clone().into();
    summary["notifications"] = queued.notifications.into();
    summary["deliveries"] = queued.deliveries.into();
    summary["threat_id"] = if queued.notifications > 0 {
        format!("feed-{run_id}").into()
    } else {
        serde_json::Value::Null
    };
    let run = tocsin_store::feeds::FeedRunRecord {
        id: run_id.clone(),
        at: opts.now,
        summary,
    };
    store.insert_feed_run(
        &run,
        &tocsin_store::AuditCtx::new(opts.actor.clone(), opts.now),
    )?;
    let queue_seconds = t1.elapsed().as_secs_f64();
    Ok(RunReport {
        run_id,
        sha256,
        counts,
        queued,
        intake_seconds,
        queue_seconds,
    })
}
