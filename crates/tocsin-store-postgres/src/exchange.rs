//! PostgreSQL implementation of [`Exchange`] (mirrors SQLite's `sqlite/exchange.rs`).

use crate::sql::Sql;
use crate::{audit, Db, PgStore};
use serde_json::json;
use tocsin_core::AudienceId;
use tocsin_store::exchange::{actions, Exchange, NewSharedObject, SharedObject};
use tocsin_store::record::{parse_time, time_text};
use tocsin_store::{AuditCtx, Result, StoreError};

impl Exchange for PgStore {
    fn set_token_audience(
        &self,
        token_id: i64,
        audience: Option<&AudienceId>,
        ctx: &AuditCtx,
    ) -> Result<()> {
        let aud = audience.map(AudienceId::as_str);
        self.write(|tx| {
            let n = tx
                .execute(
                    "UPDATE api_tokens SET audience_id = $2 WHERE id = $1",
                    &[&token_id, &aud],
                )
                .db()?;
            if n == 0 {
                return Err(StoreError::NotFound {
                    kind: "token",
                    id: token_id.to_string(),
                });
            }
            audit(
                tx,
                ctx,
                actions::TOKEN_AUDIENCE,
                &format!("token:{token_id}"),
                &json!({ "id": token_id, "audience_id": audience }),
            )?;
            Ok(())
        })
    }

    fn token_audience(&self, token_id: i64) -> Result<Option<AudienceId>> {
        self.read(|c| {
            let a: Option<Option<String>> = c
                .query_opt(
                    "SELECT audience_id FROM api_tokens WHERE id = $1",
                    &[&token_id],
                )
                .db()?
                .map(|r| r.try_get(0))
                .transpose()
                .db()?;
            Ok(a.flatten().map(AudienceId::new))
        })
    }

    fn add_shared_objects(
        &self,
        collection: &str,
        objects: &[NewSharedObject],
        status_id: &str,
        status_json: &str,
        ctx: &AuditCtx,
    ) -> Result<Vec<bool>> {
        self.write(|tx| {
            let at = time_text(&ctx.at);
            let stmt = tx
                .prepare(
                    "INSERT INTO taxii_objects (collection, object_id, version, added_at, json) VALUES ($1, $2, $3, $4, $5)
                     ON CONFLICT (collection, object_id, version) DO NOTHING",
                )
                .db()?;
            let mut out = Vec::with_capacity(objects.len());
            for o in objects {
                let n = tx.execute(&stmt, &[&collection, &o.object_id, &o.version, &at, &o.json]).db()?;
                out.push(n == 1);
            }
            tx.execute("INSERT INTO taxii_status (id, at, json) VALUES ($1, $2, $3)", &[&status_id, &at, &status_json]).db()?;
            let ids: Vec<(&str, &str)> = objects.iter().map(|o| (o.object_id.as_str(), o.version.as_str())).collect();
            audit(tx, ctx, actions::TAXII_ADD, &format!("collection:{collection}"), &json!({ "status": status_id, "objects": ids, "added": out }))?;
            Ok(out)
        })
    }

    fn shared_objects(&self, collection: &str) -> Result<Vec<SharedObject>> {
        self.read(|c| {
            let rows = c.query("SELECT seq, object_id, version, added_at, json FROM taxii_objects WHERE collection = $1 ORDER BY added_at, seq", &[&collection]).db()?;
            rows.iter()
                .map(|r| {
                    let seq: i64 = r.try_get(0).db()?;
                    let added: String = r.try_get(3).db()?;
                    Ok(SharedObject {
                        collection: collection.to_owned(),
                        object_id: r.try_get(1).db()?,
                        version: r.try_get(2).db()?,
                        added_at: parse_time("taxii object", &seq.to_string(), &added)?,
                        json: r.try_get(4).db()?,
                    })
                })
                .collect()
        })
    }

    fn taxii_status(&self, id: &str) -> Result<Option<String>> {
        self.read(|c| {
            c.query_opt("SELECT json FROM taxii_status WHERE id = $1", &[&id])
                .db()?
                .map(|r| r.try_get(0))
                .transpose()
                .db()
        })
    }
}
