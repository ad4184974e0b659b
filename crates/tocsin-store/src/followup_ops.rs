//! [`FollowUps`] written once for every backend ([`Backend`]).

use crate::followup::FollowUps;
use crate::ops::{
    audit, insert_warning_record, not_found, require_threat, require_warning, warning_records,
    Backend, RecipientRecord,
};
use crate::record::{actions, canonical_json, parse_time, time_text};
use crate::sql::{self, query_json, query_one_json, Conn};
use crate::{AuditCtx, NewDelivery, Result, StoreError};
use serde_json::json;
use tocsin_core::followup::{Feedback, Resolution, Task, TaskKind};
use tocsin_core::lifecycle::delivery_created;
use tocsin_core::tracking::Notice;
use tocsin_core::{Threat, ThreatId, WarningId};

fn stored_secret(c: &mut dyn Conn, name: &str) -> Result<Option<Vec<u8>>> {
    let Some(row) = c.row(
        "SELECT value_hex FROM secrets WHERE name = ?1",
        &[name.into()],
    )?
    else {
        return Ok(None);
    };
    let hex = sql::text(&row, 0, "secret", name)?;
    hex_decode(&hex)
        .map(Some)
        .ok_or_else(|| StoreError::Corrupt {
            kind: "secret",
            id: name.into(),
            reason: "not hex".into(),
        })
}

impl<B: Backend> FollowUps for B {
    fn insert_feedback(&self, f: &Feedback, ctx: &AuditCtx) -> Result<()> {
        insert_warning_record(
            self,
            RecipientRecord::FEEDBACK,
            &f.warning_id,
            &f.at,
            f,
            ctx,
        )
    }

    fn feedback(&self, warning_id: Option<&WarningId>) -> Result<Vec<Feedback>> {
        warning_records(self, RecipientRecord::FEEDBACK, warning_id)
    }

    fn open_task(
        &self,
        kind: TaskKind,
        threat_id: &ThreatId,
        warning_id: Option<&WarningId>,
        detail: &str,
        ctx: &AuditCtx,
    ) -> Result<i64> {
        let at = time_text(&ctx.at);
        self.write_tx(&mut |tx| {
            require_threat(tx, threat_id)?;
            let id = sql::scalar_int(
                tx,
                "INSERT INTO tasks (kind, threat_id, open, opened_at, json) VALUES (?1, ?2, TRUE, ?3, '{}') RETURNING id",
                &[kind.as_str().into(), threat_id.as_str().into(), at.as_str().into()],
            )?;
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
            tx.exec(
                "UPDATE tasks SET json = ?2 WHERE id = ?1",
                &[id.into(), canonical_json(&task)?.as_str().into()],
            )?;
            audit(tx, ctx, actions::TASK_OPEN, &format!("task:{id}"), &task)?;
            Ok(id)
        })
    }

    fn close_task(&self, id: i64, resolution: &Resolution, ctx: &AuditCtx) -> Result<Task> {
        self.write_tx(&mut |tx| {
            let mut task: Task = query_one_json(
                tx,
                "task",
                "SELECT id, json FROM tasks WHERE id = ?1",
                &[id.into()],
            )?
            .ok_or_else(|| not_found("task", id))?;
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
            tx.exec(
                "UPDATE tasks SET open = FALSE, json = ?2 WHERE id = ?1",
                &[id.into(), canonical_json(&task)?.as_str().into()],
            )?;
            audit(tx, ctx, actions::TASK_CLOSE, &format!("task:{id}"), &task)?;
            Ok(task)
        })
    }

    fn tasks(&self, open_only: bool) -> Result<Vec<Task>> {
        self.read_conn(&|c| {
            query_json(
                c,
                "task",
                "SELECT id, json FROM tasks WHERE (?1 = FALSE OR open = TRUE) ORDER BY opened_at, id",
                &[open_only.into()],
            )
        })
    }

    fn enqueue_notice(
        &self,
        warning_id: &WarningId,
        deliveries: &[NewDelivery],
        notice: &Notice,
        ctx: &AuditCtx,
    ) -> Result<Vec<i64>> {
        let json = canonical_json(notice)?;
        let due = time_text(&ctx.at);
        let status = delivery_created(false);
        self.write_tx(&mut |tx| {
            require_warning(tx, warning_id)?;
            let mut ids = Vec::with_capacity(deliveries.len());
            for d in deliveries {
                let row = tx
                    .row(
                        "INSERT INTO deliveries (warning_id, audience_id, channel_kind, channel_address, idempotency_key, status, attempts, next_attempt_at, notice)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?8, 0, ?6, ?7) RETURNING id",
                        &[
                            warning_id.as_str().into(),
                            d.audience_id.as_str().into(),
                            d.channel.kind.as_str().into(),
                            d.channel.address.as_str().into(),
                            d.idempotency_key.as_str().into(),
                            due.as_str().into(),
                            json.as_str().into(),
                            status.as_str().into(),
                        ],
                    )
                    .map_err(|f| f.on_insert("delivery", d.idempotency_key.clone()))?
                    .ok_or_else(|| StoreError::Db("INSERT … RETURNING id returned no row".into()))?;
                ids.push(sql::int(&row, 0, "delivery", &d.idempotency_key)?);
            }
            audit(
                tx,
                ctx,
                actions::NOTICE_QUEUE,
                &format!("warning:{warning_id}"),
                &json!({"warning_id": warning_id, "notice": notice, "deliveries": ids}),
            )?;
            Ok(ids)
        })
    }

    fn link_nonce_used(&self, nonce: &str) -> Result<bool> {
        self.read_conn(&|c| {
            sql::exists(
                c,
                "SELECT 1 FROM link_uses WHERE nonce = ?1",
                &[nonce.into()],
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
        let at = time_text(&ctx.at);
        self.write_tx(&mut |tx| {
            require_warning(tx, warning_id)?;
            let inserted = tx.exec(
                "INSERT INTO link_uses (nonce, warning_id, purpose, used_at) VALUES (?1, ?2, ?3, ?4) ON CONFLICT (nonce) DO NOTHING",
                &[nonce.into(), warning_id.as_str().into(), purpose.into(), at.as_str().into()],
            )?;
            if inserted == 1 {
                audit(
                    tx,
                    ctx,
                    actions::LINK_USE,
                    &format!("warning:{warning_id}"),
                    &json!({"nonce": nonce, "purpose": purpose}),
                )?;
            }
            Ok(inserted == 1)
        })
    }

    fn link_use(&self, nonce: &str) -> Result<Option<crate::followup::LinkUse>> {
        self.read_conn(&|c| {
            let Some(row) = c.row(
                "SELECT used_at, request_digest, answer FROM link_uses WHERE nonce = ?1",
                &[nonce.into()],
            )?
            else {
                return Ok(None);
            };
            let used_at = sql::text(&row, 0, "link use", nonce)?;
            Ok(Some(crate::followup::LinkUse {
                used_at: parse_time("link use", nonce, &used_at)?,
                request_digest: sql::opt_text(&row, 1, "link use", nonce)?,
                answer: sql::opt_text(&row, 2, "link use", nonce)?,
            }))
        })
    }

    fn record_link_answer(
        &self,
        nonce: &str,
        request_digest: &str,
        answer: &str,
        ctx: &AuditCtx,
    ) -> Result<()> {
        self.write_tx(&mut |tx| {
            let n = tx.exec(
                "UPDATE link_uses SET request_digest = ?2, answer = ?3 WHERE nonce = ?1",
                &[nonce.into(), request_digest.into(), answer.into()],
            )?;
            if n != 1 {
                return Err(not_found("link use", nonce));
            }
            audit(
                tx,
                ctx,
                actions::LINK_ANSWER,
                &format!("link:{nonce}"),
                &json!({"nonce": nonce, "request_digest": request_digest}),
            )?;
            Ok(())
        })
    }

    fn secret(
        &self,
        name: &str,
        generate: &dyn Fn() -> Vec<u8>,
        ctx: &AuditCtx,
    ) -> Result<Vec<u8>> {
        // `generate` may not cross threads (a backend may run the transaction on another one), so
        // it runs here, between a read and a write that checks again.
        if let Some(v) = self.read_conn(&|c| stored_secret(c, name))? {
            return Ok(v);
        }
        let value = generate();
        let at = time_text(&ctx.at);
        self.write_tx(&mut |tx| {
            if let Some(v) = stored_secret(tx, name)? {
                return Ok(v); // another process created it meanwhile: theirs is the secret
            }
            tx.exec(
                "INSERT INTO secrets (name, value_hex, created_at) VALUES (?1, ?2, ?3)",
                &[
                    name.into(),
                    hex_encode(&value).as_str().into(),
                    at.as_str().into(),
                ],
            )?;
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

    fn deployment_clock(&self) -> Result<Option<crate::ClockAnchor>> {
        self.read_conn(&|c| {
            let Some(row) = c.row(
                "SELECT clock_at, wall_at FROM deployment_clock WHERE name = 'clock'",
                &[],
            )?
            else {
                return Ok(None);
            };
            let clock = sql::text(&row, 0, "deployment clock", "clock")?;
            let wall = sql::text(&row, 1, "deployment clock", "clock")?;
            Ok(Some(crate::ClockAnchor {
                clock: parse_time("deployment clock", "clock", &clock)?,
                wall: parse_time("deployment clock", "clock", &wall)?,
            }))
        })
    }

    fn set_deployment_clock(
        &self,
        anchor: Option<&crate::ClockAnchor>,
        ctx: &AuditCtx,
    ) -> Result<()> {
        let at = time_text(&ctx.at);
        let texts = anchor.map(|a| (time_text(&a.clock), time_text(&a.wall)));
        self.write_tx(&mut |tx| {
            tx.exec("DELETE FROM deployment_clock WHERE name = 'clock'", &[])?;
            if let Some((clock, wall)) = &texts {
                tx.exec(
                    "INSERT INTO deployment_clock (name, clock_at, wall_at, set_at) VALUES ('clock', ?1, ?2, ?3)",
                    &[clock.as_str().into(), wall.as_str().into(), at.as_str().into()],
                )?;
            }
            let payload = match &texts {
                Some((clock, wall)) => json!({"clock_at": clock, "wall_at": wall}),
                None => json!({"clock_at": null, "wall_at": null}),
            };
            audit(tx, ctx, actions::CLOCK_SET, "clock", &payload)?;
            Ok(())
        })
    }

    fn update_threat(&self, threat: &Threat, ctx: &AuditCtx) -> Result<()> {
        let json = canonical_json(threat)?;
        self.write_tx(&mut |tx| {
            require_threat(tx, &threat.id)?;
            tx.exec(
                "UPDATE threats SET json = ?2 WHERE id = ?1",
                &[threat.id.as_str().into(), json.as_str().into()],
            )?;
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

    #[test]
    fn hex_round_trips_and_refuses_odd_or_bad_text() {
        assert_eq!(hex_encode(&[0x00, 0xab, 0xff]), "00abff");
        assert_eq!(hex_decode("00abff"), Some(vec![0x00, 0xab, 0xff]));
        assert_eq!(hex_decode("abc"), None);
        assert_eq!(hex_decode("zz"), None);
    }
}
