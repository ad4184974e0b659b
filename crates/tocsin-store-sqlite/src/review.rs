//! SQLite implementation of [`Review`].

use super::rows::{query_json, query_one_json};
use super::{audit, exists, load_warning, require_threat, require_warning, SqliteStore};
#[allow(unused_imports)]
use crate::Db;
use rusqlite::params;
use serde_json::json;
use tocsin_core::lifecycle::WarningState;
use tocsin_core::tracking::Warning;
use tocsin_core::{EntityId, MatchReview, ThreatId, WarningId};
use tocsin_store::record::{canonical_json, time_text};
use tocsin_store::review::{review_actions, Cancellation, DraftEdit, Review};
use tocsin_store::{AuditCtx, Result, StoreError};

impl Review for SqliteStore {
    fn delete_entity(&self, id: &EntityId, ctx: &AuditCtx) -> Result<()> {
        self.write(|tx| {
            if !exists(tx, "SELECT 1 FROM entities WHERE id = ?1", id.as_str())? {
                return Err(StoreError::NotFound {
                    kind: "entity",
                    id: id.to_string(),
                });
            }
            // Matches of a threat are one ordered set: renumbering is not needed, gaps are fine.
            let matches = tx
                .execute("DELETE FROM matches WHERE entity_id = ?1", [id.as_str()])
                .db()?;
            tx.execute(
                "DELETE FROM match_reviews WHERE entity_id = ?1",
                [id.as_str()],
            )
            .db()?;
            tx.execute("DELETE FROM entities WHERE id = ?1", [id.as_str()])
                .db()?;
            tx.execute(
                "INSERT INTO registry_changes (entity_id, change, at) VALUES (?1, 'delete', ?2)",
                params![id.as_str(), time_text(&ctx.at)],
            )
            .db()?;
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
        self.write(|tx| {
            require_threat(tx, &r.threat_id)?;
            let target = i64::try_from(r.target).map_err(|_| StoreError::Invalid { kind: "match review", id: r.threat_id.to_string(), reason: "target out of range".into() })?;
            let stored: Option<i64> = {
                let mut stmt = tx.prepare_cached("SELECT 1 FROM matches WHERE threat_id = ?1 AND entity_id = ?2 AND target = ?3").db()?;
                let mut rows = stmt.query(params![r.threat_id.as_str(), r.entity_id.as_str(), target]).db()?;
                rows.next().db()?.map(|row| row.get(0)).transpose().db()?
            };
            if stored.is_none() {
                return Err(StoreError::NotFound { kind: "match", id: format!("{}/{}/{}", r.threat_id, r.entity_id, r.target) });
            }
            tx.execute(
                "INSERT INTO match_reviews (threat_id, entity_id, target, decision, at, json) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT (threat_id, entity_id, target) DO UPDATE SET decision = excluded.decision, at = excluded.at, json = excluded.json",
                params![r.threat_id.as_str(), r.entity_id.as_str(), target, r.decision.as_str(), time_text(&r.at), canonical_json(r)?],
            ).db()?;
            audit(tx, ctx, review_actions::MATCH_REVIEW, &format!("threat:{}", r.threat_id), r)?;
            Ok(())
        })
    }

    fn match_reviews(&self, threat_id: &ThreatId) -> Result<Vec<MatchReview>> {
        self.read(|c| {
            query_json(
                c,
                "match review",
                "SELECT threat_id, json FROM match_reviews WHERE threat_id = ?1 ORDER BY entity_id, target",
                [threat_id.as_str()],
            )
        })
    }

    fn edit_draft_warning(
        &self,
        id: &WarningId,
        edit: &DraftEdit,
        ctx: &AuditCtx,
    ) -> Result<Warning> {
        self.write(|tx| {
            require_warning(tx, id)?;
            let mut w = load_warning(tx, id)?.ok_or_else(|| StoreError::NotFound {
                kind: "warning",
                id: id.to_string(),
            })?;
            if w.state != WarningState::Draft {
                return Err(StoreError::InvalidState {
                    kind: "warning",
                    id: id.to_string(),
                    state: w.state.as_str().into(),
                    expected: "draft".into(),
                });
            }
            w.headline.clone_from(&edit.headline);
            w.text.clone_from(&edit.text);
            w.measures.clone_from(&edit.measures);
            tx.execute(
                "UPDATE warnings SET json = ?2 WHERE id = ?1",
                params![id.as_str(), canonical_json(&w)?],
            )
            .db()?;
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
        self.write(|tx| {
            require_warning(tx, &c.warning_id)?;
            if exists(tx, "SELECT 1 FROM warning_cancellations WHERE warning_id = ?1", c.warning_id.as_str())? {
                return Err(StoreError::Conflict { kind: "cancellation of warning", id: c.warning_id.to_string() });
            }
            tx.execute(
                "INSERT INTO warning_cancellations (warning_id, at, json) VALUES (?1, ?2, ?3)",
                params![c.warning_id.as_str(), time_text(&c.at), canonical_json(c)?],
            ).db()?;
            // Deliveries of the warning not yet sent are withdrawn with it (a lease still running
            // means a worker may be sending it right now: that one goes out and gets the notice).
            tx.execute(
                "UPDATE deliveries SET status = 'dead', last_error = ?3 WHERE warning_id = ?1 AND notice IS NULL
                   AND status IN ('pending', 'retrying') AND (lease_until IS NULL OR lease_until <= ?2)",
                params![c.warning_id.as_str(), time_text(&c.at), tocsin_store::review::WITHDRAWN],
            ).db()?;
            audit(tx, ctx, review_actions::WARNING_CANCEL, &format!("warning:{}", c.warning_id), c)?;
            Ok(())
        })
    }

    fn cancellation(&self, id: &WarningId) -> Result<Option<Cancellation>> {
        self.read(|c| {
            query_one_json(
                c,
                "cancellation",
                "SELECT warning_id, json FROM warning_cancellations WHERE warning_id = ?1",
                [id.as_str()],
            )
        })
    }
}
