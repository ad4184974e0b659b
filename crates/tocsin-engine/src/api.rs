//! Operations the full HTTP API (issue 10) adds to the pipeline: threats created from a structured
//! form or a parsed document, registry deletes, match reviews, and the warning lifecycle steps an
//! analyst drives by hand (edit a draft, queue now, update, cancel). Each writes through the store
//! (audited) and leaves a timeline entry like the other stages.

use crate::{not_found, Engine, EngineError, Result};
use tocsin_core::compose::leak_gate;
use tocsin_core::lifecycle::{transition, WarningEvent, WarningState};
use tocsin_core::tracking::Warning;
use tocsin_core::{EntityId, Match, MatchReview, Threat, Timestamp, WarningId};
use tocsin_store::review::{Cancellation, DraftEdit};
use tocsin_store::AuditCtx;

impl Engine {
    /// Store a new threat and match it against the registry. A threat with the same id is a
    /// conflict (new information about a stored threat goes through `update_threat`).
    pub fn create_threat(&self, threat: &Threat, actor: &str, at: Timestamp) -> Result<Vec<Match>> {
        if threat.id.as_str().trim().is_empty() {
            return Err(EngineError::Input { path: "/id".into(), message: "a threat needs a non-empty id".into() });
        }
        for (i, t) in threat.targets.iter().enumerate() {
            if t.label.trim().is_empty() {
                return Err(EngineError::Input { path: format!("/targets/{i}/label"), message: "a target spec needs a label".into() });
            }
        }
        if self.store.threat(&threat.id)?.is_some() {
            return Err(tocsin_store::StoreError::Conflict { kind: "threat", id: threat.id.to_string() }.into());
        }
        let ctx = AuditCtx::new(actor, at);
        self.ingest_threat(threat, &ctx)?;
        self.compute_matches(&threat.id, &ctx)
    }

    /// Remove an entity from the registry and the match index (its stored matches go too).
    pub fn delete_entity(&self, id: &EntityId, actor: &str, at: Timestamp) -> Result<()> {
        self.store.delete_entity(id, &AuditCtx::new(actor, at))?;
        self.registry.write().unwrap_or_else(|p| p.into_inner()).remove(id);
        Ok(())
    }

    /// Accept (a confirmed target) or reject (a false positive) one stored match; `review.by`
    /// and `review.at` are who reviews and when.
    pub fn review_match(&self, review: &MatchReview) -> Result<()> {
        let threat = self.threat(&review.threat_id)?;
        self.store.review_match(review, &AuditCtx::new(&review.by, review.at))?;
        let label = threat.targets.get(review.target).map(|t| t.label.as_str()).unwrap_or("?");
        let detail = format!("{} {}s {} for {label}: {}", review.by, review.decision.as_str(), review.entity_id, review.note);
        self.timeline(&review.threat_id, review.at, "match_reviewed", detail)
    }

    /// Replace a draft's headline, text and measures. The leak gate runs on every edited field
    /// exactly as on composed text; a leaking edit is refused with the field it is in
    /// ([`EngineError::Input`] with a JSON Pointer: `/text`, `/headline`, `/measures/2`).
    pub fn edit_draft(&self, id: &WarningId, edit: &DraftEdit, actor: &str, at: Timestamp) -> Result<Warning> {
        let w = self.warning(id)?;
        if w.state != WarningState::Draft {
            return Err(EngineError::Precondition(format!("warning {id} is {}: only a draft can be edited (compose a new version instead)", w.state)));
        }
        if edit.headline.trim().is_empty() {
            return Err(EngineError::Input { path: "/headline".into(), message: "the headline must not be empty".into() });
        }
        if edit.text.trim().is_empty() {
            return Err(EngineError::Input { path: "/text".into(), message: "the text must not be empty".into() });
        }
        let threat = self.threat(&w.threat_id)?;
        let aud = self.store.audience(&w.audience_id)?.ok_or_else(|| not_found("audience", &w.audience_id))?;
        // The audience may read its own sites' names, its name and its contact, as in `compose`.
        let mut own: Vec<String> = vec![aud.name.clone()];
        own.extend(aud.escalation_contact.clone());
        for m in self.store.matches(&w.threat_id)? {
            if let Some(e) = self.store.entity(&m.entity_id)?.filter(|e| e.audiences.contains(&aud.id)) {
                own.push(e.name.clone());
                own.extend(e.aliases.iter().cloned());
            }
        }
        let allowed: Vec<&str> = own.iter().map(String::as_str).collect();
        let fields = std::iter::once(("/headline".to_owned(), edit.headline.as_str()))
            .chain(std::iter::once(("/text".to_owned(), edit.text.as_str())))
            .chain(edit.measures.iter().enumerate().map(|(i, m)| (format!("/measures/{i}"), m.as_str())));
        for (path, text) in fields {
            if let Err(leak) = leak_gate(text, &threat, &aud, &self.config.global_restricted, &allowed) {
                // The excerpt is what the analyst typed; the rule names what kind of fact leaked.
                return Err(EngineError::Input { path, message: format!("the leak gate refuses this text: {} at bytes {}..{}", leak.rule, leak.start, leak.end) });
            }
        }
        let stored = self.store.edit_draft_warning(id, edit, &AuditCtx::new(actor, at))?;
        self.timeline(&w.threat_id, at, "warning_edited", format!("{actor} edited draft {id}: {}", stored.headline))?;
        Ok(stored)
    }

    /// Queue an approved warning now (its deliveries go to the outbox in the same transaction),
    /// without waiting for the scheduler's release rule (an analyst's decision, audited as theirs).
    pub fn queue_now(&self, id: &WarningId, actor: &str, at: Timestamp) -> Result<Warning> {
        let w = self.warning(id)?;
        transition(w.state, WarningEvent::Queue)?;
        self.queue(&w, &AuditCtx::new(actor, at))?;
        self.warning(id)
    }

    /// A new draft version of a warning's (threat, audience) from the current threat; it
    /// supersedes the given version once queued.
    pub fn update_warning(&self, id: &WarningId, actor: &str, at: Timestamp) -> Result<Warning> {
        let w = self.warning(id)?;
        if w.state.is_terminal() {
            return Err(EngineError::Precondition(format!("warning {id} is {}: update the latest version instead", w.state)));
        }
        self.recompose(&w.threat_id, &w.audience_id, actor, at)
    }

    /// Withdraw a warning: recorded as a cancellation (a CAP `msgType` Cancel) and moved to
    /// `superseded`. Refused once the lifecycle has ended (expired, superseded, closed).
    pub fn cancel_warning(&self, id: &WarningId, reason: &str, actor: &str, at: Timestamp) -> Result<Cancellation> {
        let w = self.warning(id)?;
        transition(w.state, WarningEvent::Supersede)?;
        let ctx = AuditCtx::new(actor, at);
        let c = Cancellation { warning_id: id.clone(), at, by: actor.into(), reason: reason.into() };
        self.store.insert_cancellation(&c, &ctx)?;
        self.advance(&w, WarningEvent::Supersede, &ctx)?;
        self.timeline(&w.threat_id, at, "warning_cancelled", format!("{actor} cancelled {id} ({}): {reason}", w.state))?;
        Ok(c)
    }
}
