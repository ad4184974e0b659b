//! Delivery: channels that carry a warning to one recipient, and the outbox worker that drains
//! the deliveries the store wrote when the warning was queued (zero2prod's pattern).
//!
//! Architecture invariant: a delivery is marked delivered only after its channel reported success;
//! a crash in between re-sends it (at-least-once), and the idempotency key lets receivers drop
//! the duplicate.

use chrono::Duration;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use tocsin_core::tracking::{Delivery, Warning};
use tocsin_core::{ChannelKind, Timestamp};
use tocsin_store::{AuditCtx, Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum SendError {
    #[error("channel {0} is not configured on this server")]
    Unsupported(&'static str),
    #[error("invalid address {address:?} for channel {channel}: {reason}")]
    BadAddress { channel: &'static str, address: String, reason: String },
    #[error("I/O error writing to {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
}

/// One way to reach a recipient.
pub trait Channel: Send + Sync {
    fn kind(&self) -> ChannelKind;
    fn send(&self, delivery: &Delivery, warning: &Warning) -> Result<(), SendError>;
}

/// Writes each warning as a JSON envelope into `root/<address>/<idempotency_key>.json`. Writing to
/// a temporary name and renaming makes a half-written file impossible; re-sending overwrites the
/// same file, so duplicates collapse.
pub struct FileChannel {
    root: PathBuf,
}

impl FileChannel {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    fn dir_for(&self, address: &str) -> Result<PathBuf, SendError> {
        let bad = |reason: &str| SendError::BadAddress { channel: "file", address: address.into(), reason: reason.into() };
        let rel = Path::new(address);
        // Addresses come from audience files: never let one escape the outbox root.
        if address.is_empty() || rel.is_absolute() || rel.components().any(|c| !matches!(c, std::path::Component::Normal(_))) {
            return Err(bad("must be a relative path without '..'"));
        }
        Ok(self.root.join(rel))
    }
}

impl Channel for FileChannel {
    fn kind(&self) -> ChannelKind {
        ChannelKind::File
    }

    fn send(&self, d: &Delivery, w: &Warning) -> Result<(), SendError> {
        let dir = self.dir_for(&d.channel.address)?;
        let io = |path: &Path| {
            let path = path.to_owned();
            move |source| SendError::Io { path, source }
        };
        std::fs::create_dir_all(&dir).map_err(io(&dir))?;
        let envelope = serde_json::json!({
            "idempotency_key": d.idempotency_key,
            "warning_id": w.id,
            "version": w.version,
            "audience": w.audience_id,
            "tlp": w.tlp.label(),
            "banner": w.banner,
            "headline": w.headline,
            "valid_from": w.valid.from,
            "valid_until": w.valid.until,
            "text": w.text,
        });
        let path = dir.join(format!("{}.json", d.idempotency_key));
        let tmp = dir.join(format!(".{}.tmp", d.idempotency_key));
        std::fs::write(&tmp, serde_json::to_vec_pretty(&envelope).unwrap_or_default()).map_err(io(&tmp))?;
        std::fs::rename(&tmp, &path).map_err(io(&path))?;
        Ok(())
    }
}

/// Retry policy: exponential backoff from `base`, capped, then dead-letter after `max_attempts`.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    pub base: Duration,
    pub max_delay: Duration,
    pub max_attempts: u32,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self { base: Duration::seconds(30), max_delay: Duration::hours(1), max_attempts: 8 }
    }
}

impl RetryPolicy {
    /// When to try again after `attempts` failed attempts, or `None` to give up.
    pub fn next_attempt(&self, attempts: u32, now: Timestamp) -> Option<Timestamp> {
        if attempts >= self.max_attempts {
            return None;
        }
        let factor = 1i32.checked_shl(attempts.saturating_sub(1).min(20)).unwrap_or(i32::MAX);
        Some(now + (self.base * factor).min(self.max_delay))
    }
}

/// What one pass of the worker did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct WorkReport {
    pub delivered: Vec<i64>,
    pub retrying: Vec<i64>,
    pub dead: Vec<i64>,
}

#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("delivery {delivery} refers to warning {warning}, which is not in the store")]
    MissingWarning { delivery: i64, warning: String },
}

/// Drains due deliveries through the configured channels.
pub struct OutboxWorker {
    channels: HashMap<&'static str, Box<dyn Channel>>,
    pub retry: RetryPolicy,
    pub actor: String,
}

impl OutboxWorker {
    pub fn new(channels: Vec<Box<dyn Channel>>) -> Self {
        Self {
            channels: channels.into_iter().map(|c| (c.kind().as_str(), c)).collect(),
            retry: RetryPolicy::default(),
            actor: "worker:outbox".into(),
        }
    }

    /// Send every delivery due at `now` (up to `limit`) once.
    pub fn run_once(&self, store: &dyn Store, now: Timestamp, limit: usize) -> Result<WorkReport, WorkerError> {
        let ctx = AuditCtx::new(self.actor.clone(), now);
        let mut report = WorkReport::default();
        for d in store.due_deliveries(now, limit)? {
            let w = store
                .warning(&d.warning_id)?
                .ok_or_else(|| WorkerError::MissingWarning { delivery: d.id, warning: d.warning_id.to_string() })?;
            let result = match self.channels.get(d.channel.kind.as_str()) {
                Some(ch) => ch.send(&d, &w),
                None => Err(SendError::Unsupported(d.channel.kind.as_str())),
            };
            match result {
                Ok(()) => {
                    store.mark_delivered(d.id, &ctx)?;
                    report.delivered.push(d.id);
                }
                Err(e) => {
                    let retry_at = self.retry.next_attempt(d.attempts + 1, now);
                    store.mark_failed(d.id, &e.to_string(), retry_at, &ctx)?;
                    if retry_at.is_some() {
                        report.retrying.push(d.id);
                    } else {
                        report.dead.push(d.id);
                    }
                }
            }
        }
        Ok(report)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};

    #[test]
    fn backoff_grows_then_gives_up() {
        let p = RetryPolicy { base: Duration::seconds(10), max_delay: Duration::seconds(60), max_attempts: 4 };
        let now = Utc.with_ymd_and_hms(2024, 3, 6, 0, 0, 0).unwrap();
        assert_eq!(p.next_attempt(1, now), Some(now + Duration::seconds(10)));
        assert_eq!(p.next_attempt(2, now), Some(now + Duration::seconds(20)));
        assert_eq!(p.next_attempt(3, now), Some(now + Duration::seconds(40)));
        assert_eq!(p.next_attempt(4, now), None);
        let capped = RetryPolicy { max_attempts: 100, ..p };
        assert_eq!(capped.next_attempt(30, now), Some(now + Duration::seconds(60)));
    }

    #[test]
    fn file_channel_refuses_escaping_addresses() {
        let ch = FileChannel::new("/tmp/x");
        for bad in ["", "/etc", "../up", "a/../../b"] {
            assert!(matches!(ch.dir_for(bad), Err(SendError::BadAddress { .. })), "{bad}");
        }
        assert!(ch.dir_for("operators/crocus").is_ok());
    }
}
