//! SQLite implementation of [`FollowUps`].

use super::rows::{query_json, query_one_json};
use super::{audit, require_threat, require_warning, SqliteStore};
#[allow(unused_imports)]
use crate::Db;
use rusqlite::{params, OptionalExtension};
use serde_json::json;
use tocsin_core::followup::{Feedback, Resolution, Task, TaskKind};
use tocsin_core::{Threat, ThreatId, WarningId};
use tocsin_store::followup::FollowUps;
use tocsin_store::record::{actions, canonical_json, time_text};
use tocsin_store::{AuditCtx, Result, StoreError};

impl FollowUps for SqliteStore {
    fn insert_feedback(&self, f: &Feedback, ctx: &AuditCtx) -> Result<()> {
        self.write(|tx| {
            require_warning(tx, &f.warning_id)?;
            tx.execute(
                "INSERT INTO feedback (warning_id, at, json) VALUES (?1, ?2, ?3)",
                params![f.warning_id.as_str(), time_text(&f.at), canonical_json(f)?],
            )
            .db()?;
            audit(
                tx,
                ctx,
                actions::FEEDBACK_RECORD,
                &format!("warning:{}", f.warning_id),
                f,
            )?;
            Ok(())
        })
    }

    fn feedback(&self, warning_id: Option<&WarningId>) -> Result<Vec<Feedback>> {
        self.read(|c| {
            query_json(
                c,
                "feedback",
                "SELECT id, json FROM feedback WHERE (?1 IS NULL OR warning_id = ?1) ORDER BY at, id",
                [warning_id.map(WarningId::as_str)],
            )
        })
    }

    fn open_task(
        &self,
        kind: TaskKind,
        threat_id: &ThreatId,
        warning_id: Option<&WarningId>,
        detail: &str,
        ctx: &AuditCtx,
    ) -> Result<i64> {
        self.write(|tx| {
            require_threat(tx, threat_id)?;
            let id: i64 = tx.query_row(
                "INSERT INTO tasks (kind, threat_id, open, opened_at, json) VALUES (?1, ?2, TRUE, ?3, '{}') RETURNING id",
                params![kind.as_str(), threat_id.as_str(), time_text(&ctx.at)],
                |r| r.get(0),
            ).db()?;
            let task = Task {
                id,
                kind,
                threat_id: threat_id.clone(),
                warning_id: warning_id.cloned(),
                detail: detail.into(),
                opened_at: ctx.at,
                closed_at: None,
                closed_by: None,
                resolution: None,
            };
            tx.execute("UPDATE tasks SET json = ?2 WHERE id = ?1", params![id, canonical_json(&task)?]).db()?;
            audit(tx, ctx, actions::TASK_OPEN, &format!("task:{id}"), &task)?;
            Ok(id)
        })
    }

    fn close_task(&self, id: i64, resolution: &Resolution, ctx: &AuditCtx) -> Result<Task> {
        self.write(|tx| {
            let mut task: Task =
                query_one_json(tx, "task", "SELECT id, json FROM tasks WHERE id = ?1", [id])?
                    .ok_or_else(|| StoreError::NotFound {
                        kind: "task",
                        id: id.to_string(),
                    })?;
            if !task.is_open() {
                return Err(StoreError::InvalidState {
                    kind: "task",
                    id: id.to_string(),
                    state: "closed".into(),
                    expected: "open".into(),
                });
            }
            task.closed_at = Some(ctx.at);
            task.closed_by = Some(ctx.actor.clone());
            task.resolution = Some(resolution.clone());
            tx.execute(
                "UPDATE tasks SET open = FALSE, json = ?2 WHERE id = ?1",
                params![id, canonical_json(&task)?],
            )
            .db()?;
            audit(tx, ctx, actions::TASK_CLOSE, &format!("task:{id}"), &task)?;
            Ok(task)
        })
    }

    fn tasks(&self, open_only: bool) -> Result<Vec<Task>> {
        self.read(|c| query_json(c, "task", "SELECT id, json FROM tasks WHERE (?1 = FALSE OR open = TRUE) ORDER BY opened_at, id", [open_only]))
    }

    fn enqueue_notice(
        &self,
        warning_id: &WarningId,
        deliveries: &[tocsin_store::NewDelivery],
        notice: &tocsin_core::tracking::Notice,
        ctx: &AuditCtx,
    ) -> Result<Vec<i64>> {
        self.write(|tx| {
            require_warning(tx, warning_id)?;
            let json = canonical_json(notice)?;
            let mut ids = Vec::with_capacity(deliveries.len());
            for d in deliveries {
                let id: i64 = tx
                    .query_row(
                        "INSERT INTO deliveries (warning_id, audience_id, channel_kind, channel_address, idempotency_key, status, attempts, next_attempt_at, notice)
                         VALUES (?1, ?2, ?3, ?4, ?5, 'pending', 0, ?6, ?7) RETURNING id",
                        params![warning_id.as_str(), d.audience_id.as_str(), d.channel.kind.as_str(), d.channel.address, d.idempotency_key, time_text(&ctx.at), json],
                        |r| r.get(0),
                    )
                    .map_err(crate::conflict("delivery", d.idempotency_key.clone()))?;
                ids.push(id);
            }
            audit(tx, ctx, actions::NOTICE_QUEUE, &format!("warning:{warning_id}"), &json!({"warning_id": warning_id, "notice": notice, "deliveries": ids}))?;
            Ok(ids)
        })
    }

    fn link_nonce_used(&self, nonce: &str) -> Result<bool> {
        self.read(|c| {
            Ok(
                c.query_row("SELECT 1 FROM link_uses WHERE nonce = ?1", [nonce], |_| {
                    Ok(())
                })
                .optional()
                .db()?
                .is_some(),
            )
        })
    }

    fn use_link_nonce(
        &self,
        nonce: &str,
        warning_id: &WarningId,
        purpose: &str,
        ctx: &AuditCtx,
    ) -> Result<bool> {
        self.write(|tx| {
            require_warning(tx, warning_id)?;
            let inserted = tx.execute(
                "INSERT INTO link_uses (nonce, warning_id, purpose, used_at) VALUES (?1, ?2, ?3, ?4) ON CONFLICT (nonce) DO NOTHING",
                params![nonce, warning_id.as_str(), purpose, time_text(&ctx.at)],
            ).db()?;
            if inserted == 1 {
                audit(tx, ctx, actions::LINK_USE, &format!("warning:{warning_id}"), &json!({"nonce": nonce, "purpose": purpose}))?;
            }
            Ok(inserted == 1)
        })
    }

    fn secret(
        &self,
        name: &str,
        generate: &dyn Fn() -> Vec<u8>,
        ctx: &AuditCtx,
    ) -> Result<Vec<u8>> {
        self.write(|tx| {
            let existing: Option<String> = tx
                .query_row(
                    "SELECT value_hex FROM secrets WHERE name = ?1",
                    [name],
                    |r| r.get(0),
                )
                .optional()
                .db()?;
            if let Some(h) = existing {
                return hex_decode(&h).ok_or_else(|| StoreError::Corrupt {
                    kind: "secret",
                    id: name.into(),
                    reason: "not hex".into(),
                });
            }
            let value = generate();
            tx.execute(
                "INSERT INTO secrets (name, value_hex, created_at) VALUES (?1, ?2, ?3)",
                params![name, hex_encode(&value), time_text(&ctx.at)],
            )
            .db()?;
            // Only the fact of creation is audited: the value never leaves the secrets table.
            audit(
                tx,
                ctx,
                actions::SECRET_CREATE,
                &format!("secret:{name}"),
                &json!({"name": name, "bytes": value.len()}),
            )?;
            Ok(value)
        })
    }

    fn update_threat(&self, threat: &Threat, ctx: &AuditCtx) -> Result<()> {
        self.write(|tx| {
            require_threat(tx, &threat.id)?;
            tx.execute(
                "UPDATE threats SET json = ?2 WHERE id = ?1",
                params![threat.id.as_str(), canonical_json(threat)?],
            )
            .db()?;
            audit(
                tx,
                ctx,
                actions::THREAT_UPDATE,
                &format!("threat:{}", threat.id),
                threat,
            )?;
            Ok(())
        })
    }
}

fn hex_encode(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn hex_decode(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};
    use tocsin_store::Store;

    fn ctx(h: u32) -> AuditCtx {
        AuditCtx::new("t", Utc.with_ymd_and_hms(2024, 3, 6, h, 0, 0).unwrap())
    }

    #[test]
    fn secret_is_created_once_and_never_audited() {
        let s = SqliteStore::open_in_memory().unwrap();
        let a = s.secret("link", &|| vec![0xab; 32], &ctx(1)).unwrap();
        let b = s.secret("link", &|| vec![0xcd; 32], &ctx(2)).unwrap();
        assert_eq!(a, b);
        let events = s.audit_events().unwrap();
        assert_eq!(events.len(), 1);
        assert!(!format!("{events:?}").contains("abab"));
    }

    #[test]
    fn tasks_and_nonces_need_their_parents() {
        let s = SqliteStore::open_in_memory().unwrap();
        assert!(matches!(
            s.open_task(TaskKind::SlaBreach, &"nope".into(), None, "x", &ctx(1)),
            Err(StoreError::NotFound { .. })
        ));
        assert!(matches!(
            s.use_link_nonce("n", &"nope".into(), "acknowledge", &ctx(1)),
            Err(StoreError::NotFound { .. })
        ));
        assert!(s.tasks(false).unwrap().is_empty());
    }
}
