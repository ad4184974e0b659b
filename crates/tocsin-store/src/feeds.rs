//! Feed storage: the constituency of a CERT, the last notification per organisation,
//! and feed runs with their counts. Part of the `Store` contract; kept in its own trait so each
//! backend implements it in its own file.
//!
//! The store does not know the constituency's shape (that is `tocsin-feed`'s): organisations are
//! kept as JSON under their id. Each notification is written with its deliveries (the outbox) and
//! the organisation's last-notified time in one transaction.

use crate::{AuditCtx, NewDelivery, Result};
use tocsin_core::lifecycle::WarningEvent;
use tocsin_core::tracking::{GatedWarning, Warning};
use tocsin_core::{Threat, Timestamp};

/// A feed run as recorded: its id, when it ran, and its counts (JSON object).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct FeedRunRecord {
    pub id: String,
    pub at: Timestamp,
    pub summary: serde_json::Value,
}

/// One organisation's notification of a run: the warning (written `queued`) and its deliveries.
/// Built with [`FeedNotification::new`], which serialises the warning once, up front — callers
/// compose notifications on another thread while the store writes the previous batch.
#[derive(Debug, Clone)]
pub struct FeedNotification {
    pub org_id: String,
    pub warning: Warning,
    pub deliveries: Vec<NewDelivery>,
    /// Canonical JSON of `warning` (state `queued`): the stored row and the audit payload.
    json: String,
}

impl FeedNotification {
    /// The warning must be one that may be queued (`approved`): it is stored in the state the
    /// lifecycle gives it for [`WarningEvent::Queue`] ([`crate::StoreError::InvalidState`] otherwise).
    pub fn new(
        org_id: String,
        warning: GatedWarning,
        deliveries: Vec<NewDelivery>,
    ) -> Result<Self> {
        let mut warning = warning.into_warning();
        warning.state = crate::ops::warning_transition(&warning, WarningEvent::Queue)?;
        let json = crate::record::canonical_json(&warning)?;
        Ok(Self {
            org_id,
            warning,
            deliveries,
            json,
        })
    }

    /// The canonical JSON of the (queued) warning: every backend stores and audits exactly this.
    #[doc(hidden)]
    pub fn json(&self) -> &str {
        &self.json
    }
}

pub trait Feeds {
    /// Replace the whole constituency with `orgs` (id, JSON). Returns the number stored.
    fn replace_constituency(&self, orgs: &[(String, String)], audit: &AuditCtx) -> Result<usize>;
    /// Every organisation (id, JSON), by id.
    fn constituency(&self) -> Result<Vec<(String, String)>>;
    /// When each organisation was last notified.
    fn feed_notified(&self) -> Result<Vec<(String, Timestamp)>>;
    /// Queue a batch of a run's notifications: the run's threat (pass it with the first batch),
    /// then per notification its warning (written `queued`), its deliveries (the outbox) and the
    /// organisation's last-notified time — one transaction per batch, so a warning never exists
    /// without its deliveries. Batches keep memory bounded for large runs.
    fn queue_feed_notifications(
        &self,
        threat: Option<&Threat>,
        notifications: &[FeedNotification],
        audit: &AuditCtx,
    ) -> Result<usize>;
    /// Record a finished run with its counts.
    fn insert_feed_run(&self, run: &FeedRunRecord, audit: &AuditCtx) -> Result<()>;
    /// Every run, oldest first.
    fn feed_runs(&self) -> Result<Vec<FeedRunRecord>>;
    fn feed_run(&self, id: &str) -> Result<Option<FeedRunRecord>>;
}
