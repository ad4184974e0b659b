//! Persistence behind one trait. This crate holds the contract (the [`Store`] trait and its parts),
//! the records, the logic every backend shares (checks before a write, audit payloads, error
//! mapping: [`record`]), the migrations and the conformance suite. The backends are their own
//! crates: `tocsin-store-sqlite` (embedded, the default) and `tocsin-store-postgres`; both pass the
//! same conformance suite.
//!
//! Architecture invariant: every write appends its audit event in the same transaction, so there is
//! no state change without its record and no record without its change. Callers pass an
//! [`AuditCtx`] (who, when); the store derives the action, subject and payload digest itself.
//!
//! Architecture invariant: the store never reads the clock; every time comes from the caller.

pub mod accounts;
mod accounts_ops;
#[doc(hidden)]
pub mod conformance;
pub mod coordination;
pub mod dump;
pub mod exchange;
mod exchange_ops;
pub mod feeds;
mod feeds_ops;
pub mod followup;
mod followup_ops;
pub mod migrations;
pub mod ops;
mod outbox_ops;
pub mod record;
pub mod review;
mod review_ops;
pub mod sql;

pub use accounts::Accounts;
pub use coordination::Coordination;
pub use dump::{Dump, SqlValue};
pub use exchange::Exchange;
pub use feeds::Feeds;
pub use followup::FollowUps;
pub use record::actions;
pub use review::Review;

use tocsin_core::audit::{AuditEvent, ChainBreak};
use tocsin_core::duty::Determination;
use tocsin_core::lifecycle::{WarningEvent, WarningState};
use tocsin_core::posture::PostureTrack;
use tocsin_core::tracking::{
    Acknowledgement, Delivery, GatedWarning, Outcome, PostureReport, TimelineEntry, Warning,
};
use tocsin_core::{
    Audience, AudienceId, ChannelSpec, Entity, EntityId, Match, Threat, ThreatId, Timestamp,
    WarningId,
};

/// Who is writing, and when (the caller's clock, so replays are deterministic).
#[derive(Debug, Clone)]
pub struct AuditCtx {
    pub actor: String,
    pub at: Timestamp,
}

impl AuditCtx {
    pub fn new(actor: impl Into<String>, at: Timestamp) -> Self {
        Self {
            actor: actor.into(),
            at,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Db(String),
    #[error("{kind} {id:?} not found")]
    NotFound { kind: &'static str, id: String },
    #[error("{kind} {id:?} already exists")]
    Conflict { kind: &'static str, id: String },
    #[error("stored {kind} {id:?} is corrupt: {reason}")]
    Corrupt {
        kind: &'static str,
        id: String,
        reason: String,
    },
    #[error("migration {version} failed: {reason}")]
    Migration { version: u32, reason: String },
    /// The record exists but is in the wrong state for the operation (e.g. queueing a warning
    /// that is not `approved`, or marking a delivery that is already `delivered`).
    #[error("{kind} {id:?} is {state}, expected {expected}")]
    InvalidState {
        kind: &'static str,
        id: String,
        state: String,
        expected: String,
    },
    /// The caller passed records that contradict each other (e.g. a match of another threat).
    #[error("invalid {kind} {id:?}: {reason}")]
    Invalid {
        kind: &'static str,
        id: String,
        reason: String,
    },
}

pub type Result<T> = std::result::Result<T, StoreError>;

/// A delivery to create when a warning is queued (one per recipient × channel).
#[derive(Debug, Clone)]
pub struct NewDelivery {
    pub audience_id: AudienceId,
    pub channel: ChannelSpec,
    pub idempotency_key: String,
}

/// Rows per statement when [`Store::queue_warning_fanout`] writes deliveries (on SQLite five
/// parameters a row stay far below its 32,766).
pub const FANOUT_BATCH: usize = 1000;

/// What [`Store::queue_warning_fanout`] wrote: the payload of its `warning.queue` event.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct QueuedFanout {
    pub count: usize,
    pub first_id: Option<i64>,
    pub last_id: Option<i64>,
    /// SHA-256 (hex) of the deliveries as created, each its canonical JSON followed by `\n`,
    /// in id order.
    pub sha256: String,
}

/// The deployment's clock as the store records it: at wall time `wall` it read `clock`, and it
/// advances with the wall clock from there (a replay of a past case). Every process computes the
/// same time from it; the store itself never reads a clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct ClockAnchor {
    pub clock: Timestamp,
    pub wall: Timestamp,
}

impl ClockAnchor {
    /// The deployment's time when the wall clock reads `wall_now`.
    pub fn at(&self, wall_now: Timestamp) -> Timestamp {
        self.clock + (wall_now - self.wall)
    }

    /// How far the deployment's clock is from the wall clock (negative: a replay of the past).
    pub fn offset(&self) -> chrono::Duration {
        self.clock - self.wall
    }
}

/// Which deliveries a process can send: per channel kind, any address or only some. A process
/// claims only deliveries inside its scope, so a channel it cannot send (no SMTP server, no
/// signing secret for a URL) is left for a process that can, without spending an attempt.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClaimScope {
    pub channels: Vec<(tocsin_core::ChannelKind, Addresses)>,
}

/// The addresses of one channel kind a process can send to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Addresses {
    Any,
    /// Exactly these addresses (a webhook URL with a signing secret); empty: none.
    Only(Vec<String>),
}

impl ClaimScope {
    /// Every channel kind, any address (the store's own view: tests, tools).
    pub fn all() -> Self {
        Self {
            channels: [
                tocsin_core::ChannelKind::File,
                tocsin_core::ChannelKind::Webhook,
                tocsin_core::ChannelKind::Email,
            ]
            .into_iter()
            .map(|k| (k, Addresses::Any))
            .collect(),
        }
    }

    /// Whether a delivery on `kind` to `address` is inside the scope.
    pub fn covers(&self, kind: tocsin_core::ChannelKind, address: &str) -> bool {
        self.channels.iter().any(|(k, a)| {
            *k == kind
                && match a {
                    Addresses::Any => true,
                    Addresses::Only(list) => list.iter().any(|x| x == address),
                }
        })
    }
}

/// A channel that takes no deliveries any more: its receiver unsubscribed (HTTP 410 Gone).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DisabledChannel {
    pub channel: ChannelSpec,
    pub reason: String,
    pub disabled_at: Timestamp,
    /// The delivery whose answer disabled it.
    pub delivery_id: Option<i64>,
}

/// An API token as stored: only the SHA-256 of the secret, never the secret itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRecord {
    pub id: i64,
    pub token_hash: String,
    pub role: String,
    pub label: String,
    pub created_at: Timestamp,
    pub expires_at: Option<Timestamp>,
    pub revoked: bool,
}

/// Everything Tocsin keeps. All methods take `&self`: implementations synchronise internally, so a
/// store is shared as `Arc<dyn Store>` between the HTTP server, workers and the CLI.
pub trait Store:
    FollowUps + Exchange + Feeds + Coordination + Accounts + Review + Send + Sync
{
    // Registry.
    fn upsert_entities(&self, entities: &[Entity], audit: &AuditCtx) -> Result<()>;
    fn entities(&self) -> Result<Vec<Entity>>;
    fn entity(&self, id: &EntityId) -> Result<Option<Entity>>;
    fn upsert_audiences(&self, audiences: &[Audience], audit: &AuditCtx) -> Result<()>;
    fn audiences(&self) -> Result<Vec<Audience>>;
    fn audience(&self, id: &AudienceId) -> Result<Option<Audience>>;

    // Threats and matches.
    fn insert_threat(&self, threat: &Threat, audit: &AuditCtx) -> Result<()>;
    fn threats(&self) -> Result<Vec<Threat>>;
    fn threat(&self, id: &ThreatId) -> Result<Option<Threat>>;
    /// Replace the stored matches of a threat (a recompute).
    fn replace_matches(
        &self,
        threat_id: &ThreatId,
        matches: &[Match],
        audit: &AuditCtx,
    ) -> Result<()>;
    fn matches(&self, threat_id: &ThreatId) -> Result<Vec<Match>>;

    // Duty: every determination is kept (history); the latest is current.
    fn insert_determination(&self, d: &Determination, audit: &AuditCtx) -> Result<i64>;
    fn determinations(&self, threat_id: &ThreatId) -> Result<Vec<Determination>>;

    // Warnings and the outbox.
    /// Store a new warning; only one that passed the leak gate can be passed
    /// ([`tocsin_core::tracking::GatedWarning`]).
    fn insert_warning(&self, w: &GatedWarning, audit: &AuditCtx) -> Result<()>;
    fn warning(&self, id: &WarningId) -> Result<Option<Warning>>;
    /// All warnings, or those of one threat, in creation order.
    fn warnings(&self, threat_id: Option<&ThreatId>) -> Result<Vec<Warning>>;
    /// Apply a lifecycle event to a warning: the state it leads to comes from
    /// [`tocsin_core::lifecycle::transition`], checked in the write's transaction (so two
    /// concurrent events cannot both pass); [`StoreError::InvalidState`] when the event does not
    /// apply to the stored state. Returns the new state.
    fn advance_warning(
        &self,
        id: &WarningId,
        event: WarningEvent,
        audit: &AuditCtx,
    ) -> Result<WarningState>;
    /// Fix when a warning's advice applies (a public advisory's 48 hours start at its release).
    fn set_warning_validity(
        &self,
        id: &WarningId,
        valid: tocsin_core::ThreatWindow,
        audit: &AuditCtx,
    ) -> Result<()>;
    /// Mark the warning `queued` and write its deliveries in the same transaction (the outbox).
    /// Deliveries are due at `audit.at`. The warning must be `approved` ([`StoreError::InvalidState`]
    /// otherwise); a duplicate idempotency key is a [`StoreError::Conflict`] and nothing is written.
    fn queue_warning(
        &self,
        id: &WarningId,
        deliveries: &[NewDelivery],
        audit: &AuditCtx,
    ) -> Result<Vec<Delivery>>;
    /// [`Store::queue_warning`] for a fan-out too large to hold in memory (a public advisory to a
    /// million people): `count` deliveries, the `i`th made by `delivery(i)`, written in batches of
    /// [`FANOUT_BATCH`] rows inside the one transaction, so memory does not grow with `count`.
    /// The same checks and the same atomicity (a duplicate idempotency key is a
    /// [`StoreError::Conflict`] naming it, and nothing is written). The `warning.queue` event does
    /// not list the deliveries: it names them by `count`, the first and last id, and the SHA-256
    /// of their canonical JSON, one per line in id order ([`QueuedFanout`]).
    fn queue_warning_fanout(
        &self,
        id: &WarningId,
        count: usize,
        delivery: &(dyn Fn(usize) -> NewDelivery + Sync),
        audit: &AuditCtx,
    ) -> Result<QueuedFanout>;
    /// Deliveries pending or retrying whose `next_attempt_at <= now`, oldest first.
    fn due_deliveries(&self, now: Timestamp, limit: usize) -> Result<Vec<Delivery>>;
    /// Record a successful attempt (counted in `attempts`), delivered at `audit.at`. Only a
    /// pending or retrying delivery can take an attempt ([`StoreError::InvalidState`] otherwise).
    fn mark_delivered(&self, delivery_id: i64, audit: &AuditCtx) -> Result<()>;
    /// Record a failed attempt: retry at `retry_at`, or `None` to move it to the dead letters.
    /// Only a pending or retrying delivery can take an attempt.
    fn mark_failed(
        &self,
        delivery_id: i64,
        error: &str,
        retry_at: Option<Timestamp>,
        audit: &AuditCtx,
    ) -> Result<()>;
    fn deliveries(&self, warning_id: Option<&WarningId>) -> Result<Vec<Delivery>>;

    // The outbox with leases (several workers, crash recovery). See docs/delivery.md.
    /// Claim up to `limit` due deliveries for `worker_id` until `now + lease`: pending or retrying,
    /// `next_attempt_at <= now`, and not leased by a live lease (an expired lease is claimable
    /// again: that is how a killed worker's deliveries come back). Oldest first. One audit event
    /// (`delivery.claim`) lists the ids; nothing is written when nothing is due.
    fn claim_deliveries(
        &self,
        now: Timestamp,
        worker_id: &str,
        lease: chrono::Duration,
        limit: usize,
        audit: &AuditCtx,
    ) -> Result<Vec<Delivery>>;
    /// [`Store::claim_deliveries`] limited to the deliveries `scope` covers: what this process can
    /// send. Deliveries outside it stay unclaimed (no attempt, no lease, no error written).
    fn claim_deliveries_within(
        &self,
        now: Timestamp,
        worker_id: &str,
        lease: chrono::Duration,
        limit: usize,
        scope: &ClaimScope,
        audit: &AuditCtx,
    ) -> Result<Vec<Delivery>>;
    /// Extend the leases `worker_id` still holds on `ids` to `until`; returns the ids renewed
    /// (a lease another worker took over, or an outcome already recorded, is not renewed).
    fn renew_leases(
        &self,
        ids: &[i64],
        worker_id: &str,
        until: Timestamp,
        audit: &AuditCtx,
    ) -> Result<Vec<i64>>;
    /// Record successful attempts in one transaction with one `delivery.delivered` event whose
    /// payload lists the ids. Deliveries no longer open (recorded meanwhile, e.g. by a worker that
    /// outlived its lease) are skipped; returns the ids marked.
    fn mark_delivered_batch(&self, ids: &[i64], audit: &AuditCtx) -> Result<Vec<i64>>;
    /// Record a failed attempt of a delivery `worker_id` holds the lease of: retry at `retry_at`,
    /// or `None` for the dead letters. Returns `false` (and writes nothing) when the lease was lost
    /// or the delivery is no longer open: the current holder records the outcome.
    fn fail_claimed(
        &self,
        delivery_id: i64,
        worker_id: &str,
        error: &str,
        retry_at: Option<Timestamp>,
        audit: &AuditCtx,
    ) -> Result<bool>;
    /// The receiver unsubscribed (HTTP 410): dead-letter this delivery with `reason`, disable its
    /// channel, and dead-letter every other open, unleased delivery to the same channel.
    /// Returns the ids dead-lettered.
    fn unsubscribe_channel(
        &self,
        delivery_id: i64,
        reason: &str,
        audit: &AuditCtx,
    ) -> Result<Vec<i64>>;
    /// Channels that accept no deliveries (new deliveries to them are written dead).
    fn disabled_channels(&self) -> Result<Vec<DisabledChannel>>;
    /// Every dead-lettered delivery, oldest first: what an analyst must look at.
    fn dead_letters(&self) -> Result<Vec<Delivery>>;
    /// Give a dead delivery a fresh set of attempts, due at `audit.at`. If its channel was disabled
    /// it is enabled again (the analyst decided the receiver is back). Only a dead delivery can be
    /// retried ([`StoreError::InvalidState`] otherwise).
    fn retry_delivery(&self, delivery_id: i64, audit: &AuditCtx) -> Result<Delivery>;

    // Follow-through.
    fn insert_acknowledgement(&self, a: &Acknowledgement, audit: &AuditCtx) -> Result<()>;
    fn acknowledgements(&self, warning_id: Option<&WarningId>) -> Result<Vec<Acknowledgement>>;
    fn insert_posture_report(&self, r: &PostureReport, audit: &AuditCtx) -> Result<()>;
    fn posture_reports(&self, warning_id: Option<&WarningId>) -> Result<Vec<PostureReport>>;
    fn upsert_posture_track(
        &self,
        warning_id: &WarningId,
        track: &PostureTrack,
        audit: &AuditCtx,
    ) -> Result<()>;
    fn posture_tracks(&self) -> Result<Vec<(WarningId, PostureTrack)>>;
    fn insert_outcome(&self, o: &Outcome, audit: &AuditCtx) -> Result<()>;
    fn outcomes(&self, threat_id: Option<&ThreatId>) -> Result<Vec<Outcome>>;

    /// The human timeline (not audited by itself: each entry accompanies an audited write).
    fn append_timeline(&self, entry: &TimelineEntry) -> Result<()>;
    fn timeline(&self, threat_id: Option<&ThreatId>) -> Result<Vec<TimelineEntry>>;

    // Audit chain.
    fn audit_events(&self) -> Result<Vec<AuditEvent>>;
    /// The audit events about one subject (e.g. `warning:<id>`), in chain order.
    fn audit_events_about(&self, subject: &str) -> Result<Vec<AuditEvent>>;
    /// Verify the whole chain; `Ok(head_hash)` or where it breaks.
    fn verify_audit(&self) -> Result<std::result::Result<String, ChainBreak>>;
    /// The sequence number of the last audit event (0 for an empty chain). Every mutating call
    /// appends one in its own transaction, so two reads that see the same head saw the same
    /// records: readers key what they derive from the store (the API's leak-gate verdicts) on it.
    fn audit_head(&self) -> Result<i64>;

    // API tokens.
    fn insert_token(
        &self,
        token_hash: &str,
        role: &str,
        label: &str,
        expires_at: Option<Timestamp>,
        audit: &AuditCtx,
    ) -> Result<i64>;
    fn token_by_hash(&self, token_hash: &str) -> Result<Option<TokenRecord>>;
    fn token_count(&self) -> Result<usize>;
}
