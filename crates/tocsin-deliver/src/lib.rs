//! Delivery: channels that carry a warning to one recipient, and the outbox worker that drains
//! the deliveries the store wrote when the warning was queued.
//!
//! * [`file`] — a JSON envelope per delivery in a directory (named by the idempotency key).
//! * [`webhook`] — JSON POST signed the Standard Webhooks way (`webhook-id`, `webhook-timestamp`,
//!   `webhook-signature`), several signatures while a secret rotates.
//! * [`email`] — SMTP (STARTTLS or implicit TLS, AUTH), multipart text + HTML.
//! * [`worker`] — the leased outbox worker: claims, sends with per-channel concurrency and rate
//!   limits, records outcomes in batches, retries with backoff and jitter, dead-letters.
//! * [`receiver`] — a reference webhook receiver that verifies every signature (bench and tests).
//!
//! Architecture invariant: a delivery is marked delivered only after its channel reported success;
//! a crash in between re-sends it (at-least-once), and the idempotency key lets receivers drop
//! the duplicate. The worker never holds more than `max_in_flight` deliveries whose outcome is
//! not yet recorded, which bounds the duplicates one crash can cause.

pub mod destinations;
pub mod email;
pub mod file;
pub mod receiver;
pub mod webhook;
pub mod worker;

pub use destinations::Destinations;
pub use email::{EmailChannel, SmtpConfig, SmtpTls};
pub use file::FileChannel;
pub use webhook::{WebhookChannel, WebhookConfig, WebhookKeys, WebhookSecret};
pub use worker::{ChannelLimits, Clock, OutboxWorker, WorkReport, WorkerConfig, WorkerError};

use chrono::Duration;
use sha2::{Digest, Sha256};
use std::path::PathBuf;
use tocsin_core::tracking::{Delivery, Warning};
use tocsin_core::{ChannelKind, Timestamp};
pub use tocsin_store::{Addresses, ClaimScope};

#[derive(Debug, thiserror::Error)]
pub enum SendError {
    #[error("channel {0} is not configured on this worker")]
    Unsupported(&'static str),
    #[error("invalid address {address:?} for channel {channel}: {reason}")]
    BadAddress {
        channel: &'static str,
        address: String,
        reason: String,
    },
    #[error("I/O error writing to {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// No answer: connection refused or reset, TLS failure, timeout. Retried.
    #[error("{channel} to {address}: {reason}")]
    Transport {
        channel: &'static str,
        address: String,
        reason: String,
    },
    /// The receiver answered but did not accept (HTTP 429/5xx/other, SMTP 4xx). Retried, not
    /// before `retry_after` when the receiver said so.
    #[error("{channel} to {address}: rejected with {status}{}", detail.as_ref().map(|d| format!(" ({d})")).unwrap_or_default())]
    Rejected {
        channel: &'static str,
        address: String,
        status: u16,
        retry_after: Option<Duration>,
        detail: Option<String>,
    },
    /// The receiver said it never wants these again (HTTP 410 Gone).
    #[error("{channel} to {address}: unsubscribed ({status} Gone)")]
    Unsubscribed {
        channel: &'static str,
        address: String,
        status: u16,
    },
    /// A failure that retrying cannot fix (SMTP 5xx, an address the server refuses).
    #[error("{channel} to {address}: {reason}")]
    Permanent {
        channel: &'static str,
        address: String,
        reason: String,
    },
}

/// What the worker does with a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Disposition {
    /// Try again after the backoff, or not before `after` if the receiver asked for that.
    Retry { after: Option<Duration> },
    /// Straight to the dead letters.
    Dead,
    /// Dead-letter it and disable the channel (the receiver unsubscribed).
    Unsubscribe,
}

impl SendError {
    pub fn disposition(&self) -> Disposition {
        match self {
            SendError::BadAddress { .. } | SendError::Permanent { .. } => Disposition::Dead,
            SendError::Unsubscribed { .. } => Disposition::Unsubscribe,
            SendError::Rejected { retry_after, .. } => Disposition::Retry {
                after: *retry_after,
            },
            // A channel missing on this worker or a full disk may be fixed by the operator: the
            // backoff gives them time, the attempt limit still ends it in the dead letters.
            SendError::Unsupported(_) | SendError::Io { .. } | SendError::Transport { .. } => {
                Disposition::Retry { after: None }
            }
        }
    }
}

/// One way to reach a recipient. Implementations are called from several threads at once.
pub trait Channel: Send + Sync {
    fn kind(&self) -> ChannelKind;
    /// The addresses this channel can send to; the worker claims no delivery outside them.
    fn addresses(&self) -> Addresses {
        Addresses::Any
    }
    fn send(&self, delivery: &Delivery, warning: &Warning) -> Result<(), SendError>;
}

/// Retry policy: exponential backoff from `base`, capped at `max_delay`, each delay shortened by
/// up to `jitter` (a fraction) so that recipients failed together do not retry together; dead
/// letter after `max_attempts`. A `Retry-After` from the receiver wins over the backoff, up to
/// `max_retry_after`.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    pub base: Duration,
    pub max_delay: Duration,
    pub max_attempts: u32,
    /// 0.0 = exact backoff; 0.5 = each delay in (d/2, d].
    pub jitter: f64,
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            base: Duration::seconds(30),
            max_delay: Duration::hours(1),
            max_attempts: 8,
            jitter: 0.5,
            max_retry_after: Duration::hours(6),
        }
    }
}

impl RetryPolicy {
    /// The un-jittered delay after `attempts` failed attempts.
    pub fn backoff(&self, attempts: u32) -> Duration {
        let factor = 1i32
            .checked_shl(attempts.saturating_sub(1).min(20))
            .unwrap_or(i32::MAX);
        (self.base * factor).min(self.max_delay)
    }

    /// When to try again after `attempts` failed attempts, or `None` to give up. The jitter is
    /// derived from `key` (the idempotency key) and `attempts`, so it spreads recipients but a
    /// replay on a simulated clock stays deterministic.
    pub fn next_attempt(
        &self,
        attempts: u32,
        now: Timestamp,
        key: &str,
        retry_after: Option<Duration>,
    ) -> Option<Timestamp> {
        if attempts >= self.max_attempts {
            return None;
        }
        if let Some(after) = retry_after {
            return Some(now + after.max(Duration::zero()).min(self.max_retry_after));
        }
        let d = self.backoff(attempts);
        let jitter = self.jitter.clamp(0.0, 1.0) * unit_hash(key, attempts);
        let ms = d.num_milliseconds() as f64 * (1.0 - jitter);
        Some(now + Duration::milliseconds(ms.round() as i64))
    }
}

/// An error with its causes, `a: b: c` (reqwest and lettre hide the useful part in sources).
pub(crate) fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(inner) = src {
        s.push_str(": ");
        s.push_str(&inner.to_string());
        src = inner.source();
    }
    s
}

/// A number in [0, 1) from a key and a counter (stable across runs and machines).
fn unit_hash(key: &str, n: u32) -> f64 {
    let mut h = Sha256::new();
    h.update(key.as_bytes());
    h.update(n.to_be_bytes());
    let b = h.finalize();
    let x = u64::from_be_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]);
    (x >> 11) as f64 / (1u64 << 53) as f64
}

/// The reference and acknowledgement link a recipient quotes back. `ack_url` is a template with
/// `{warning}` and `{key}` placeholders (the key identifies the delivery, hence the recipient).
pub fn ack_link(template: Option<&str>, d: &Delivery) -> Option<String> {
    // A withdrawn warning cannot be acknowledged any more: a cancel notice carries no link.
    if d.is_cancel() {
        return None;
    }
    template.map(|t| {
        t.replace("{warning}", d.warning_id.as_str())
            .replace("{key}", &d.idempotency_key)
    })
}

/// Channels and worker settings, as `Engine::open` and `tocsin worker` build them.
#[derive(Debug, Clone, Default)]
pub struct DeliveryConfig {
    pub webhook: WebhookConfig,
    /// `None`: this process sends no e-mail (e-mail deliveries retry, then dead-letter).
    pub smtp: Option<SmtpConfig>,
    pub worker: WorkerConfig,
}

impl DeliveryConfig {
    /// The channels: `file` under `outbox_root`, `webhook` always (fails closed per delivery
    /// without a signing secret), `email` when SMTP is configured.
    pub fn channels(
        &self,
        outbox_root: impl Into<PathBuf>,
    ) -> Result<Vec<Box<dyn Channel>>, SendError> {
        let mut out: Vec<Box<dyn Channel>> = vec![
            Box::new(FileChannel::new(outbox_root)),
            Box::new(WebhookChannel::new(self.webhook.clone())),
        ];
        if let Some(smtp) = &self.smtp {
            out.push(Box::new(EmailChannel::new(smtp.clone())?));
        }
        Ok(out)
    }

    /// An outbox worker over [`Self::channels`].
    pub fn worker(&self, outbox_root: impl Into<PathBuf>) -> Result<OutboxWorker, SendError> {
        Ok(OutboxWorker::with_config(
            self.channels(outbox_root)?,
            self.worker.clone(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};

    #[test]
    fn backoff_grows_then_gives_up() {
        let p = RetryPolicy {
            base: Duration::seconds(10),
            max_delay: Duration::seconds(60),
            max_attempts: 4,
            jitter: 0.0,
            ..Default::default()
        };
        let now = Utc.with_ymd_and_hms(2024, 3, 6, 0, 0, 0).unwrap();
        assert_eq!(
            p.next_attempt(1, now, "k", None),
            Some(now + Duration::seconds(10))
        );
        assert_eq!(
            p.next_attempt(2, now, "k", None),
            Some(now + Duration::seconds(20))
        );
        assert_eq!(
            p.next_attempt(3, now, "k", None),
            Some(now + Duration::seconds(40))
        );
        assert_eq!(p.next_attempt(4, now, "k", None), None);
        let capped = RetryPolicy {
            max_attempts: 100,
            ..p
        };
        assert_eq!(
            capped.next_attempt(30, now, "k", None),
            Some(now + Duration::seconds(60))
        );
    }

    #[test]
    fn jitter_spreads_recipients_within_the_bound_and_is_deterministic() {
        let p = RetryPolicy {
            base: Duration::seconds(100),
            jitter: 0.5,
            ..Default::default()
        };
        let now = Utc.with_ymd_and_hms(2024, 3, 6, 0, 0, 0).unwrap();
        let times: Vec<Timestamp> = (0..50)
            .map(|i| p.next_attempt(1, now, &format!("key{i}"), None).unwrap())
            .collect();
        for t in &times {
            assert!(
                *t > now + Duration::seconds(50) && *t <= now + Duration::seconds(100),
                "{t}"
            );
        }
        let distinct: std::collections::BTreeSet<_> = times.iter().collect();
        assert!(
            distinct.len() > 40,
            "jitter spreads: {} distinct of 50",
            distinct.len()
        );
        assert_eq!(
            times[7],
            p.next_attempt(1, now, "key7", None).unwrap(),
            "same key, same time"
        );
    }

    #[test]
    fn retry_after_wins_but_is_capped_and_attempts_still_end() {
        let p = RetryPolicy {
            max_attempts: 3,
            max_retry_after: Duration::minutes(10),
            ..Default::default()
        };
        let now = Utc.with_ymd_and_hms(2024, 3, 6, 0, 0, 0).unwrap();
        assert_eq!(
            p.next_attempt(1, now, "k", Some(Duration::seconds(120))),
            Some(now + Duration::seconds(120))
        );
        assert_eq!(
            p.next_attempt(1, now, "k", Some(Duration::hours(5))),
            Some(now + Duration::minutes(10))
        );
        assert_eq!(
            p.next_attempt(3, now, "k", Some(Duration::seconds(1))),
            None
        );
    }

    #[test]
    fn dispositions() {
        let rej = |status| SendError::Rejected {
            channel: "webhook",
            address: "a".into(),
            status,
            retry_after: None,
            detail: None,
        };
        assert_eq!(rej(503).disposition(), Disposition::Retry { after: None });
        assert_eq!(
            SendError::Unsubscribed {
                channel: "webhook",
                address: "a".into(),
                status: 410
            }
            .disposition(),
            Disposition::Unsubscribe
        );
        assert_eq!(
            SendError::Permanent {
                channel: "email",
                address: "a".into(),
                reason: "550".into()
            }
            .disposition(),
            Disposition::Dead
        );
        assert_eq!(
            SendError::Unsupported("email").disposition(),
            Disposition::Retry { after: None }
        );
    }
}

/// A synthetic fan-out for `tocsin bench deliver` and the crash tests: one threat and one
/// approved warning, queued to the given channels (one recipient each).
pub mod synthetic {
    use chrono::Duration;
    use tocsin_core::lifecycle::WarningState;
    use tocsin_core::tracking::{Delivery, GatedWarning, Specificity, Warning};
    use tocsin_core::{
        Audience, AudienceId, AudienceKind, ChannelSpec, Classification, CountryCode, Credibility,
        Harm, Portion, PortionMark, Threat, ThreatId, ThreatWindow, Timestamp, TlpLevel, WarningId,
    };
    use tocsin_store::{AuditCtx, NewDelivery, QueuedFanout, Store, StoreError};

    /// Queue warning `W-SYNTH` to `channels` at `at`; recipient `i` is audience `r<i>` with
    /// idempotency key `synth-<i>`.
    pub fn queue_fanout(
        store: &dyn Store,
        channels: &[ChannelSpec],
        at: Timestamp,
    ) -> Result<Vec<Delivery>, StoreError> {
        let warning = approved_warning(store, at)?;
        let new: Vec<NewDelivery> = channels
            .iter()
            .enumerate()
            .map(|(i, c)| recipient(i, c.clone()))
            .collect();
        store.queue_warning(&warning, &new, &AuditCtx::new("bench", at))
    }

    /// [`queue_fanout`] to `count` recipients without holding them: recipient `i`'s channel is
    /// `channel(i)`, written in batches ([`Store::queue_warning_fanout`]).
    pub fn queue_fanout_streamed(
        store: &dyn Store,
        count: usize,
        channel: &(dyn Fn(usize) -> ChannelSpec + Sync),
        at: Timestamp,
    ) -> Result<QueuedFanout, StoreError> {
        let warning = approved_warning(store, at)?;
        store.queue_warning_fanout(
            &warning,
            count,
            &|i| recipient(i, channel(i)),
            &AuditCtx::new("bench", at),
        )
    }

    fn recipient(i: usize, channel: ChannelSpec) -> NewDelivery {
        NewDelivery {
            audience_id: AudienceId::new(format!("r{i}")),
            channel,
            idempotency_key: format!("synth-{i}"),
        }
    }

    /// The threat `T-SYNTH` and its approved warning `W-SYNTH`, stored.
    fn approved_warning(store: &dyn Store, at: Timestamp) -> Result<WarningId, StoreError> {
        let ctx = AuditCtx::new("bench", at);
        let window = ThreatWindow::imminent(at, 48);
        let portion = Portion {
            mark: PortionMark::unclassified(),
            text: "Extremists plan to attack large gatherings.".into(),
            tearline: true,
            lang: None,
            line: 1,
        };
        let threat = Threat {
            id: ThreatId::new("T-SYNTH"),
            title: "Synthetic fan-out".into(),
            originator: CountryCode::parse("USA").map_err(|e| StoreError::Db(e.to_string()))?,
            received: at,
            actor: None,
            actor_mark: PortionMark::unclassified(),
            harms: vec![Harm::Killing],
            credibility: Credibility::Probable,
            window,
            public_advice_hours: 48,
            targets: vec![],
            portions: vec![portion],
            restricted_terms: vec![],
            tlp: Some(TlpLevel::Amber),
            measures: vec![],
        };
        store.insert_threat(&threat, &ctx)?;
        let warning = Warning {
            id: WarningId::new("W-SYNTH"),
            threat_id: threat.id.clone(),
            audience_id: AudienceId::new("synthetic"),
            audience_kind: AudienceKind::Operator,
            version: 1,
            supersedes: None,
            tlp: TlpLevel::Amber,
            banner: "UNCLASSIFIED".into(),
            specificity: Specificity::CategoryAndArea,
            headline: "Imminent threat to large gatherings".into(),
            text: "Extremists plan to attack large gatherings in the next 48 hours. Review screening and evacuation plans.".into(),
            measures: vec!["Screen visitors".into(), "Brief staff on evacuation routes".into()],
            valid: ThreatWindow::imminent(at, 48),
            state: WarningState::Approved,
            created_at: at - Duration::seconds(1),
            language: "en".into(),
            translations: Vec::new(),
        };
        let audience = Audience {
            id: warning.audience_id.clone(),
            name: "Synthetic recipients".into(),
            kind: AudienceKind::Operator,
            country: None,
            clearance: Classification::U,
            tlp_ceiling: TlpLevel::Amber,
            orcon_approved: false,
            // The gate does not read the channels; a million of them would only take memory.
            channels: Vec::new(),
            escalation_contact: None,
            language: "en".into(),
            posture_interval_hours: None,
            timezone: None,
        };
        let warning = GatedWarning::gate(warning, &threat, &audience, &[])
            .map_err(|e| StoreError::Db(format!("the synthetic warning: {e}")))?;
        store.insert_warning(&warning, &ctx)?;
        Ok(warning.id.clone())
    }
}
