//! PostgreSQL implementation of [`FollowUps`] (mirrors SQLite's `sqlite/followup.rs`).

use crate::rows::{query_json, query_one_json};
use crate::sql::Sql;
use crate::{audit, conflict, require_threat, require_warning, Db, PgStore};
use serde_json::json;
use tocsin_core::followup::{Feedback, Resolution, Task, TaskKind};
use tocsin_core::{Threat, ThreatId, WarningId};
use tocsin_store::record::{actions, canonical_json, time_text};
use tocsin_store::{AuditCtx, FollowUps, Result, StoreError};

fn stored_secret(c: &mut impl Sql, name: &str) -> Result<Option<Vec<u8>>> {
    let hex: Option<String> = c
        .query_opt("SELECT value_hex FROM secrets WHERE name = $1", &[&name])
        .db()?
        .map(|r| r.try_get(0))
        .transpose()
        .db()?;
    hex.map(|h| {
        hex_decode(&h).ok_or_else(|| StoreError::Corrupt {
            kind: "secret",
            id: name.into(),
            reason: "not hex".into(),
        })
    })
    .transpose()
}

impl FollowUps for PgStore {
    fn insert_feedback(&self, f: &Feedback, ctx: &AuditCtx) -> Result<()> {
        self.write(|tx| {
            require_warning(tx, &f.warning_id)?;
            tx.execute(
                "INSERT INTO feedback (warning_id, at, json) VALUES ($1, $2, $3)",
                &[
                    &f.warning_id.as_str(),
                    &time_text(&f.at),
                    &canonical_json(f)?,
                ],
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
        let filter = warning_id.map(WarningId::as_str);
        self.read(|c| query_json(c, "feedback", "SELECT id, json FROM feedback WHERE ($1::TEXT IS NULL OR warning_id = $1) ORDER BY at, id", &[&filter]))
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
            let id: i64 = tx
                .query_one(
                    "INSERT INTO tasks (kind, threat_id, open, opened_at, json) VALUES ($1, $2, TRUE, $3, '{}') RETURNING id",
                    &[&kind.as_str(), &threat_id.as_str(), &time_text(&ctx.at)],
                )
                .db()?
                .try_get(0)
                .db()?;
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
            tx.execute("UPDATE tasks SET json = $2 WHERE id = $1", &[&id, &canonical_json(&task)?]).db()?;
            audit(tx, ctx, actions::TASK_OPEN, &format!("task:{id}"), &task)?;
            Ok(id)
        })
    }

    fn close_task(&self, id: i64, resolution: &Resolution, ctx: &AuditCtx) -> Result<Task> {
        self.write(|tx| {
            let mut task: Task = query_one_json(
                tx,
                "task",
                "SELECT id, json FROM tasks WHERE id = $1",
                &[&id],
            )?
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
                "UPDATE tasks SET open = FALSE, json = $2 WHERE id = $1",
                &[&id, &canonical_json(&task)?],
            )
            .db()?;
            audit(tx, ctx, actions::TASK_CLOSE, &format!("task:{id}"), &task)?;
            Ok(task)
        })
    }

    fn tasks(&self, open_only: bool) -> Result<Vec<Task>> {
        self.read(|c| query_json(c, "task", "SELECT id, json FROM tasks WHERE ($1 = FALSE OR open = TRUE) ORDER BY opened_at, id", &[&open_only]))
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
            let due = time_text(&ctx.at);
            let stmt = tx
                .prepare(
                    "INSERT INTO deliveries (warning_id, audience_id, channel_kind, channel_address, idempotency_key, status, attempts, next_attempt_at, notice)
                     VALUES ($1, $2, $3, $4, $5, 'pending', 0, $6, $7) RETURNING id",
                )
                .db()?;
            let mut ids = Vec::with_capacity(deliveries.len());
            for d in deliveries {
                let id: i64 = tx
                    .query_one(&stmt, &[&warning_id.as_str(), &d.audience_id.as_str(), &d.channel.kind.as_str(), &d.channel.address, &d.idempotency_key, &due, &json])
                    .map_err(conflict("delivery", d.idempotency_key.clone()))?
                    .try_get(0)
                    .db()?;
                ids.push(id);
            }
            audit(tx, ctx, actions::NOTICE_QUEUE, &format!("warning:{warning_id}"), &json!({"warning_id": warning_id, "notice": notice, "deliveries": ids}))?;
            Ok(ids)
        })
    }

    fn link_nonce_used(&self, nonce: &str) -> Result<bool> {
        self.read(|c| {
            Ok(
                c.query_opt("SELECT 1 FROM link_uses WHERE nonce = $1", &[&nonce])
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
            let inserted = tx
                .execute(
                    "INSERT INTO link_uses (nonce, warning_id, purpose, used_at) VALUES ($1, $2, $3, $4) ON CONFLICT (nonce) DO NOTHING",
                    &[&nonce, &warning_id.as_str(), &purpose, &time_text(&ctx.at)],
                )
                .db()?;
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
        // `generate` may not cross threads (the sync bridge may run the work on another one), so
        // it runs here, between a read and a write that re-checks under the chain lock.
        if let Some(v) = self.read(|c| stored_secret(c, name))? {
            return Ok(v);
        }
        let value = generate();
        self.write(|tx| {
            if let Some(v) = stored_secret(tx, name)? {
                return Ok(v); // another process created it meanwhile: theirs is the secret
            }
            tx.execute(
                "INSERT INTO secrets (name, value_hex, created_at) VALUES ($1, $2, $3)",
                &[&name, &hex_encode(&value), &time_text(&ctx.at)],
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
            Ok(value.clone())
        })
    }

    fn update_threat(&self, threat: &Threat, ctx: &AuditCtx) -> Result<()> {
        self.write(|tx| {
            require_threat(tx, &threat.id)?;
            tx.execute(
                "UPDATE threats SET json = $2 WHERE id = $1",
                &[&threat.id.as_str(), &canonical_json(threat)?],
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
