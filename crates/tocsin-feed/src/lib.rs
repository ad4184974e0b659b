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

pub use constituency::{Constituency, Inhibition, InhibitionKind, Interval, Org};
pub use mapping::{Format, Mapping};
pub use pipeline::{Malformed, Pipeline, RunCounts};

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
    pub counts: RunCounts,
    pub queued: notify::Queued,
    /// Wall time of the intake (read, match, spill) and of composing and queueing, in seconds
    /// (measurement only; the domain clock is `opts.now`).
    pub intake_seconds: f64,
    pub queue_seconds: f64,
}

/// Run `input` through the pipeline against `c` and queue the notifications in `store`.
pub fn run_feed<R: std::io::Read>(
    store: &dyn tocsin_store::Store,
    c: &Constituency,
    input: R,
    mapping: &Mapping,
    opts: &notify::NotifyOptions,
    unmatched: Option<Box<dyn std::io::Write + '_>>,
    progress: impl FnMut(u64, u64),
) -> Result<RunReport> {
    let last: std::collections::HashMap<String, tocsin_core::Timestamp> =
        store.feed_notified()?.into_iter().collect();
    let mut p = Pipeline::new(c, &last, opts.now)?;
    if let Some(u) = unmatched {
        p.unmatched_to(u)?;
    }
    let t0 = std::time::Instant::now();
    p.ingest(input, mapping, &opts.source, progress)?;
    let (counts, spill) = p.finish()?;
    let intake_seconds = t0.elapsed().as_secs_f64();
    let t1 = std::time::Instant::now();
    let queued = notify::queue(store, c, &spill, opts)?;
    let mut summary = serde_json::to_value(&counts).map_err(|e| FeedError::Mapping {
        name: "run summary".into(),
        reason: e.to_string(),
    })?;
    summary["source"] = opts.source.clone().into();
    summary["mapping"] = mapping.name.clone().into();
    summary["notifications"] = queued.notifications.into();
    summary["deliveries"] = queued.deliveries.into();
    summary["threat_id"] = if queued.notifications > 0 {
        format!("feed-{}", opts.run_id).into()
    } else {
        serde_json::Value::Null
    };
    let run = tocsin_store::feeds::FeedRunRecord {
        id: opts.run_id.clone(),
        at: opts.now,
        summary,
    };
    store.insert_feed_run(
        &run,
        &tocsin_store::AuditCtx::new(opts.actor.clone(), opts.now),
    )?;
    let queue_seconds = t1.elapsed().as_secs_f64();
    Ok(RunReport {
        run_id: opts.run_id.clone(),
        counts,
        queued,
        intake_seconds,
        queue_seconds,
    })
}
