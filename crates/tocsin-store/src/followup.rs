//! Follow-through storage: feedback, the analysts' queue (tasks), single-use link nonces, server
//! secrets, and threat updates (new information). Part of the `Store` contract; kept in its own
//! trait so each backend implements it in its own file.

use crate::{AuditCtx, Result};
use tocsin_core::followup::{Feedback, Resolution, Task, TaskKind};
use tocsin_core::{Threat, ThreatId, WarningId};

/// A used one-time link, as the store keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkUse {
    pub used_at: tocsin_core::Timestamp,
    /// What was asked (a digest of the purpose and body), once the answer is recorded.
    pub request_digest: Option<String>,
    /// The answer given (JSON), once recorded.
    pub answer: Option<String>,
}

pub trait FollowUps {
    fn insert_feedback(&self, f: &Feedback, audit: &AuditCtx) -> Result<()>;
    fn feedback(&self, warning_id: Option<&WarningId>) -> Result<Vec<Feedback>>;

    /// Open a task in the analysts' queue; returns its id.
    fn open_task(
        &self,
        kind: TaskKind,
        threat_id: &ThreatId,
        warning_id: Option<&WarningId>,
        detail: &str,
        audit: &AuditCtx,
    ) -> Result<i64>;
    /// Close an open task with its resolution (`InvalidState` if it is already closed).
    fn close_task(&self, id: i64, resolution: &Resolution, audit: &AuditCtx) -> Result<Task>;
    fn tasks(&self, open_only: bool) -> Result<Vec<Task>>;

    /// Queue a follow-up message (reminder, escalation) about a delivered warning to its
    /// recipient's channels; the warning's state does not change. Due at `audit.at`.
    fn enqueue_notice(
        &self,
        warning_id: &WarningId,
        deliveries: &[crate::NewDelivery],
        notice: &tocsin_core::tracking::Notice,
        audit: &AuditCtx,
    ) -> Result<Vec<i64>>;

    /// Whether a one-time link's nonce was used already (read-only).
    fn link_nonce_used(&self, nonce: &str) -> Result<bool>;
    /// Record that a one-time link was used. `Ok(false)` when the nonce was used before.
    fn use_link_nonce(
        &self,
        nonce: &str,
        warning_id: &WarningId,
        purpose: &str,
        audit: &AuditCtx,
    ) -> Result<bool>;

    /// How a one-time link was used, if it was.
    fn link_use(&self, nonce: &str) -> Result<Option<LinkUse>>;
    /// Keep the answer a used link gave (`request_digest` names the request), so the same
    /// request can be answered again within the grace period. Audited as `link.answer` (the
    /// answer itself, which holds the next link, is not in the audit payload).
    fn record_link_answer(
        &self,
        nonce: &str,
        request_digest: &str,
        answer: &str,
        audit: &AuditCtx,
    ) -> Result<()>;

    /// A named server secret, created from `generate` on first use. The value is never audited
    /// or logged; only its creation is recorded.
    fn secret(
        &self,
        name: &str,
        generate: &dyn Fn() -> Vec<u8>,
        audit: &AuditCtx,
    ) -> Result<Vec<u8>>;

    /// The deployment's clock, if one was set (`None`: the wall clock).
    fn deployment_clock(&self) -> Result<Option<crate::ClockAnchor>>;
    /// Record the deployment's clock (`None`: back to the wall clock). Audited as `clock.set`.
    fn set_deployment_clock(
        &self,
        anchor: Option<&crate::ClockAnchor>,
        audit: &AuditCtx,
    ) -> Result<()>;

    /// Replace a threat with newer information (same id). The previous version stays in the audit
    /// payload history; determinations are re-made by the engine.
    fn update_threat(&self, threat: &Threat, audit: &AuditCtx) -> Result<()>;
}
