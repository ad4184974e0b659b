//! [`Review`] written once for every backend ([`Backend`]).

use crate::coordination::change;
use crate::ops::{
    audit, not_found, record_registry_changes, require_threat, require_warning, status_list,
    stored_warning, Backend,
};
use crate::record::{canonical_json, time_text};
use crate::review::{review_actions, Cancellation, DraftEdit, Review, WITHDRAWN};
use crate::sql::{self, query_json, query_one_json};
use crate::{AuditCtx, Result, StoreError};
use serde_json::json;
use tocsin_core::lifecycle::{delivery_transition, DeliveryEvent, WarningState};
use tocsin_core::tracking::{DeliveryStatus, Warning};
use tocsin_core::{EntityId, MatchReview, ThreatId, WarningId};

impl<B: Backend> Review for B {
    fn delete_entity(&self, id: &EntityId, ctx: &AuditCtx) -> Result<()> {
        self.write_tx(&mut |tx| {
            let key = [id.as_str().into()];
            if !sql::exists(tx, "SELECT 1 FROM entities WHERE id = ?1", &key)? {
                return Err(not_found("entity", id));
            }
            // Matches of a threat are one ordered set: renumbering is not needed, gaps are fine.
            let matches = tx.exec("DELETE FROM matches WHERE entity_id = ?1", &key)?;
            tx.exec("DELETE FROM match_reviews WHERE entity_id = ?1", &key)?;
            tx.exec("DELETE FROM entities WHERE id = ?1", &key)?;
            record_registry_changes(self, tx, &[id.as_str()], change::DELETE, &ctx.at)?;
            audit(
                tx,
                ctx,
                review_actions::ENTITY_DELETE,
                &format!("entity:{id}"),
                &json!({ "id": id, "matches_removed": matches }),
            )?;
            Ok(())
        })
    }

    fn review_match(&self, r: &MatchReview, ctx: &AuditCtx) -> Result<()> {
        let target = i64::try_from(r.target).map_err(|_| StoreError::Invalid {
            kind: "match review",
            id: r.threat_id.to_string(),
            reason: "target out of range".into(),
        })?;
        let json = canonical_json(r)?;
        let at = time_text(&r.at);
        self.write_tx(&mut |tx| {
            require_threat(tx, &r.threat_id)?;
            let key = [
                r.threat_id.as_str().into(),
                r.entity_id.as_str().into(),
                target.into(),
            ];
            if !sql::exists(
                tx,
                "SELECT 1 FROM matches WHERE threat_id = ?1 AND entity_id = ?2 AND target = ?3",
                &key,
            )? {
                return Err(not_found(
                    "match",
                    format!("{}/{}/{}", r.threat_id, r.entity_id, r.target),
                ));
            }
            tx.exec(
                "INSERT INTO match_reviews (threat_id, entity_id, target, decision, at, json) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT (threat_id, entity_id, target) DO UPDATE SET decision = excluded.decision, at = excluded.at, json = excluded.json",
                &[
                    key[0],
                    key[1],
                    key[2],
                    r.decision.as_str().into(),
                    at.as_str().into(),
                    json.as_str().into(),
                ],
            )?;
            audit(
                tx,
                ctx,
                review_actions::MATCH_REVIEW,
                &format!("threat:{}", r.threat_id),
                r,
            )?;
            Ok(())
        })
    }

    fn match_reviews(&self, threat_id: &ThreatId) -> Result<Vec<MatchReview>> {
        self.read_conn(&|c| {
            query_json(
                c,
                "match review",
                "SELECT threat_id, json FROM match_reviews WHERE threat_id = ?1 ORDER BY entity_id, target",
                &[threat_id.as_str().into()],
            )
        })
    }

    fn edit_draft_warning(
        &self,
        id: &WarningId,
        edit: &DraftEdit,
        ctx: &AuditCtx,
    ) -> Result<Warning> {
        self.write_tx(&mut |tx| {
            require_warning(tx, id)?;
            let mut w = stored_warning(tx, id)?;
            if w.state != WarningState::Draft {
                return Err(StoreError::InvalidState {
                    kind: "warning",
                    id: id.to_string(),
                    state: w.state.as_str().into(),
                    expected: WarningState::Draft.as_str().into(),
                });
            }
            // Other language versions said what the composed text said: after an edit they
            // would contradict it, so they go (CAP then carries the edited language alone).
            if w.headline != edit.headline || w.text != edit.text {
                w.translations.clear();
            }
            w.headline.clone_from(&edit.headline);
            w.text.clone_from(&edit.text);
            w.measures.clone_from(&edit.measures);
            tx.exec(
                "UPDATE warnings SET json = ?2 WHERE id = ?1",
                &[id.as_str().into(), canonical_json(&w)?.as_str().into()],
            )?;
            audit(
                tx,
                ctx,
                review_actions::WARNING_EDIT,
                &format!("warning:{id}"),
                edit,
            )?;
            Ok(w)
        })
    }

    fn insert_cancellation(&self, c: &Cancellation, ctx: &AuditCtx) -> Result<()> {
        let json = canonical_json(c)?;
        let at = time_text(&c.at);
        let open = status_list(DeliveryEvent::Stop);
        let withdrawn = delivery_transition(DeliveryStatus::Pending, DeliveryEvent::Stop)
            .map_err(|e| StoreError::Db(e.to_string()))?;
        self.write_tx(&mut |tx| {
            require_warning(tx, &c.warning_id)?;
            if sql::exists(
                tx,
                "SELECT 1 FROM warning_cancellations WHERE warning_id = ?1",
                &[c.warning_id.as_str().into()],
            )? {
                return Err(StoreError::Conflict {
                    kind: "cancellation of warning",
                    id: c.warning_id.to_string(),
                });
            }
            tx.exec(
                "INSERT INTO warning_cancellations (warning_id, at, json) VALUES (?1, ?2, ?3)",
                &[
                    c.warning_id.as_str().into(),
                    at.as_str().into(),
                    json.as_str().into(),
                ],
            )?;
            // Deliveries of the warning not yet sent are withdrawn with it (a lease still running
            // means a worker may be sending it right now: that one goes out and gets the notice).
            tx.exec(
                &format!(
                    "UPDATE deliveries SET status = ?4, last_error = ?3 WHERE warning_id = ?1 AND notice IS NULL
                       AND status IN ({open}) AND (lease_until IS NULL OR lease_until <= ?2)"
                ),
                &[
                    c.warning_id.as_str().into(),
                    at.as_str().into(),
                    WITHDRAWN.into(),
                    withdrawn.as_str().into(),
                ],
            )?;
            audit(
                tx,
                ctx,
                review_actions::WARNING_CANCEL,
                &format!("warning:{}", c.warning_id),
                c,
            )?;
            Ok(())
        })
    }

    fn cancellation(&self, id: &WarningId) -> Result<Option<Cancellation>> {
        self.read_conn(&|c| {
            query_one_json(
                c,
                "cancellation",
                "SELECT warning_id, json FROM warning_cancellations WHERE warning_id = ?1",
                &[id.as_str().into()],
            )
        })
    }
}
