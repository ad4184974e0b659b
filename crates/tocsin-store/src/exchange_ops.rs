//! [`Exchange`] written once for every backend ([`Backend`]).

use crate::exchange::{actions, Exchange, NewSharedObject, SharedObject};
use crate::ops::{audit, not_found, Backend};
use crate::record::{parse_time, time_text};
use crate::sql;
use crate::{AuditCtx, Result};
use serde_json::json;
use tocsin_core::AudienceId;

impl<B: Backend> Exchange for B {
    fn set_token_audience(
        &self,
        token_id: i64,
        audience: Option<&AudienceId>,
        ctx: &AuditCtx,
    ) -> Result<()> {
        self.write_tx(&mut |tx| {
            let n = tx.exec(
                "UPDATE api_tokens SET audience_id = ?2 WHERE id = ?1",
                &[token_id.into(), audience.map(AudienceId::as_str).into()],
            )?;
            if n == 0 {
                return Err(not_found("token", token_id));
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
        self.read_conn(&|c| {
            let Some(row) = c.row(
                "SELECT audience_id FROM api_tokens WHERE id = ?1",
                &[token_id.into()],
            )?
            else {
                return Ok(None);
            };
            Ok(sql::opt_text(&row, 0, "token", &token_id.to_string())?.map(AudienceId::new))
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
        let at = time_text(&ctx.at);
        self.write_tx(&mut |tx| {
            let mut out = Vec::with_capacity(objects.len());
            for o in objects {
                let n = tx.exec(
                    "INSERT INTO taxii_objects (collection, object_id, version, added_at, json) VALUES (?1, ?2, ?3, ?4, ?5)
                     ON CONFLICT (collection, object_id, version) DO NOTHING",
                    &[
                        collection.into(),
                        o.object_id.as_str().into(),
                        o.version.as_str().into(),
                        at.as_str().into(),
                        o.json.as_str().into(),
                    ],
                )?;
                out.push(n == 1);
            }
            tx.exec(
                "INSERT INTO taxii_status (id, at, json) VALUES (?1, ?2, ?3)",
                &[status_id.into(), at.as_str().into(), status_json.into()],
            )?;
            let ids: Vec<(&str, &str)> = objects
                .iter()
                .map(|o| (o.object_id.as_str(), o.version.as_str()))
                .collect();
            audit(
                tx,
                ctx,
                actions::TAXII_ADD,
                &format!("collection:{collection}"),
                &json!({ "status": status_id, "objects": ids, "added": out }),
            )?;
            Ok(out)
        })
    }

    fn shared_objects(&self, collection: &str) -> Result<Vec<SharedObject>> {
        const KIND: &str = "taxii object";
        self.read_conn(&|c| {
            c.rows(
                "SELECT seq, object_id, version, added_at, json FROM taxii_objects WHERE collection = ?1 ORDER BY added_at, seq",
                &[collection.into()],
            )?
            .iter()
            .map(|r| {
                let seq = sql::int(r, 0, KIND, "?")?.to_string();
                Ok(SharedObject {
                    collection: collection.to_owned(),
                    object_id: sql::text(r, 1, KIND, &seq)?,
                    version: sql::text(r, 2, KIND, &seq)?,
                    added_at: parse_time(KIND, &seq, &sql::text(r, 3, KIND, &seq)?)?,
                    json: sql::text(r, 4, KIND, &seq)?,
                })
            })
            .collect()
        })
    }

    fn taxii_status(&self, id: &str) -> Result<Option<String>> {
        self.read_conn(&|c| {
            c.row("SELECT json FROM taxii_status WHERE id = ?1", &[id.into()])?
                .map(|row| sql::text(&row, 0, "taxii status", id))
                .transpose()
        })
    }
}
