//! [`Feeds`] written once for every backend ([`Backend`]).

use crate::feeds::{FeedNotification, FeedRunRecord, Feeds};
use crate::ops::{audit, insert_delivery, require_threat, Backend, Chain};
use crate::record::{actions, canonical_json, parse_time, time_text};
use crate::sql::{self, query_json, Row};
use crate::{AuditCtx, Result};
use serde_json::json;
use tocsin_core::{Threat, Timestamp};

/// Audit actions of feeds.
const CONSTITUENCY_REPLACE: &str = "feed.constituency";
const FEED_RUN: &str = "feed.run";

fn text_pair(r: &Row, kind: &'static str) -> Result<(String, String)> {
    let first = sql::text(r, 0, kind, "?")?;
    let second = sql::text(r, 1, kind, &first)?;
    Ok((first, second))
}

impl<B: Backend> Feeds for B {
    fn replace_constituency(&self, orgs: &[(String, String)], ctx: &AuditCtx) -> Result<usize> {
        self.write_tx(&mut |tx| {
            tx.exec("DELETE FROM feed_orgs", &[])?;
            for (id, json) in orgs {
                tx.exec(
                    "INSERT INTO feed_orgs (id, json) VALUES (?1, ?2)",
                    &[id.into(), json.into()],
                )
                .map_err(|f| f.on_insert("feed organisation", id.clone()))?;
            }
            // The payload is the whole constituency: its digest pins exactly what was loaded.
            audit(
                tx,
                ctx,
                CONSTITUENCY_REPLACE,
                &format!("feed_orgs:{}", orgs.len()),
                orgs,
            )?;
            Ok(orgs.len())
        })
    }

    fn constituency(&self) -> Result<Vec<(String, String)>> {
        self.read_conn(&|c| {
            c.rows("SELECT id, json FROM feed_orgs ORDER BY id", &[])?
                .iter()
                .map(|r| text_pair(r, "feed organisation"))
                .collect()
        })
    }

    fn feed_notified(&self) -> Result<Vec<(String, Timestamp)>> {
        self.read_conn(&|c| {
            c.rows("SELECT org_id, at FROM feed_notified ORDER BY org_id", &[])?
                .iter()
                .map(|r| {
                    let (org, at) = text_pair(r, "feed notification")?;
                    let at = parse_time("feed notification", &org, &at)?;
                    Ok((org, at))
                })
                .collect()
        })
    }

    fn queue_feed_notifications(
        &self,
        threat: Option<&Threat>,
        notifications: &[FeedNotification],
        ctx: &AuditCtx,
    ) -> Result<usize> {
        let due = time_text(&ctx.at);
        self.write_tx(&mut |tx| {
            let mut chain = Chain::start(tx)?;
            if let Some(threat) = threat {
                tx.exec(
                    "INSERT INTO threats (id, received_at, json) VALUES (?1, ?2, ?3)",
                    &[
                        threat.id.as_str().into(),
                        time_text(&threat.received).as_str().into(),
                        canonical_json(threat)?.as_str().into(),
                    ],
                )
                .map_err(|f| f.on_insert("threat", threat.id.to_string()))?;
                chain.append(
                    tx,
                    ctx,
                    actions::THREAT_CREATE,
                    &format!("threat:{}", threat.id),
                    threat,
                )?;
            }
            let mut count = 0;
            for n in notifications {
                let w = &n.warning;
                if threat.is_none() {
                    require_threat(tx, &w.threat_id)?;
                }
                // The audit events of insert_warning + queue_warning (create, then queue with its
                // deliveries) in one transaction. The warning is created already queued and was
                // serialised once (FeedNotification::new): the largest cost of a run, as its text
                // carries the events CSV; that one JSON is both the row and the create payload.
                let wjson = n.json();
                chain.append_canonical(
                    tx,
                    ctx,
                    actions::WARNING_CREATE,
                    &format!("warning:{}", w.id),
                    wjson,
                )?;
                tx.exec(
                    "INSERT INTO warnings (id, threat_id, audience_id, version, state, created_at, json) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                    &[
                        w.id.as_str().into(),
                        w.threat_id.as_str().into(),
                        w.audience_id.as_str().into(),
                        i64::from(w.version).into(),
                        w.state.as_str().into(),
                        time_text(&w.created_at).as_str().into(),
                        wjson.into(),
                    ],
                )
                .map_err(|f| f.on_insert("warning", w.id.to_string()))?;
                let ids = n
                    .deliveries
                    .iter()
                    .map(|d| insert_delivery(tx, &w.id, d, &due))
                    .collect::<Result<Vec<i64>>>()?;
                chain.append(
                    tx,
                    ctx,
                    actions::WARNING_QUEUE,
                    &format!("warning:{}", w.id),
                    &json!({"warning_id": w.id, "state": w.state, "deliveries": ids}),
                )?;
                tx.exec(
                    "INSERT INTO feed_notified (org_id, at, threat_id) VALUES (?1, ?2, ?3)
                     ON CONFLICT (org_id) DO UPDATE SET at = excluded.at, threat_id = excluded.threat_id",
                    &[n.org_id.as_str().into(), due.as_str().into(), w.threat_id.as_str().into()],
                )?;
                count += 1;
            }
            Ok(count)
        })
    }

    fn insert_feed_run(&self, run: &FeedRunRecord, ctx: &AuditCtx) -> Result<()> {
        let json = canonical_json(run)?;
        self.write_tx(&mut |tx| {
            tx.exec(
                "INSERT INTO feed_runs (id, at, json) VALUES (?1, ?2, ?3)",
                &[
                    run.id.as_str().into(),
                    time_text(&run.at).as_str().into(),
                    json.as_str().into(),
                ],
            )
            .map_err(|f| f.on_insert("feed run", run.id.clone()))?;
            audit(tx, ctx, FEED_RUN, &format!("feed_run:{}", run.id), run)?;
            Ok(())
        })
    }

    fn feed_runs(&self) -> Result<Vec<FeedRunRecord>> {
        self.read_conn(&|c| {
            query_json(
                c,
                "feed run",
                "SELECT id, json FROM feed_runs ORDER BY seq",
                &[],
            )
        })
    }

    fn feed_run(&self, id: &str) -> Result<Option<FeedRunRecord>> {
        self.read_conn(&|c| {
            sql::query_one_json(
                c,
                "feed run",
                "SELECT id, json FROM feed_runs WHERE id = ?1",
                &[id.into()],
            )
        })
    }
}
