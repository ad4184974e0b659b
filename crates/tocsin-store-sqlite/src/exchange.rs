//! SQLite implementation of [`Exchange`].

use super::{audit, SqliteStore};
#[allow(unused_imports)]
use crate::Db;
use rusqlite::{params, OptionalExtension};
use serde_json::json;
use tocsin_core::AudienceId;
use tocsin_store::exchange::{actions, Exchange, NewSharedObject, SharedObject};
use tocsin_store::record::{parse_time, time_text};
use tocsin_store::{AuditCtx, Result, StoreError};

impl Exchange for SqliteStore {
    fn set_token_audience(
        &self,
        token_id: i64,
        audience: Option<&AudienceId>,
        ctx: &AuditCtx,
    ) -> Result<()> {
        self.write(|tx| {
            let n = tx
                .execute(
                    "UPDATE api_tokens SET audience_id = ?2 WHERE id = ?1",
                    params![token_id, audience.map(AudienceId::as_str)],
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
                .query_row(
                    "SELECT audience_id FROM api_tokens WHERE id = ?1",
                    [token_id],
                    |r| r.get(0),
                )
                .optional()
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
            let mut out = Vec::with_capacity(objects.len());
            for o in objects {
                let n = tx.execute(
                    "INSERT INTO taxii_objects (collection, object_id, version, added_at, json) VALUES (?1, ?2, ?3, ?4, ?5)
                     ON CONFLICT (collection, object_id, version) DO NOTHING",
                    params![collection, o.object_id, o.version, time_text(&ctx.at), o.json],
                ).db()?;
                out.push(n == 1);
            }
            tx.execute("INSERT INTO taxii_status (id, at, json) VALUES (?1, ?2, ?3)", params![status_id, time_text(&ctx.at), status_json]).db()?;
            let ids: Vec<(&str, &str)> = objects.iter().map(|o| (o.object_id.as_str(), o.version.as_str())).collect();
            audit(tx, ctx, actions::TAXII_ADD, &format!("collection:{collection}"), &json!({ "status": status_id, "objects": ids, "added": out }))?;
            Ok(out)
        })
    }

    fn shared_objects(&self, collection: &str) -> Result<Vec<SharedObject>> {
        self.read(|c| {
            let mut stmt = c.prepare_cached("SELECT seq, object_id, version, added_at, json FROM taxii_objects WHERE collection = ?1 ORDER BY added_at, seq").db()?;
            let mut rows = stmt.query([collection]).db()?;
            let mut out = Vec::new();
            while let Some(r) = rows.next().db()? {
                let seq: i64 = r.get(0).db()?;
                let added: String = r.get(3).db()?;
                out.push(SharedObject {
                    collection: collection.to_owned(),
                    object_id: r.get(1).db()?,
                    version: r.get(2).db()?,
                    added_at: parse_time("taxii object", &seq.to_string(), &added)?,
                    json: r.get(4).db()?,
                });
            }
            Ok(out)
        })
    }

    fn taxii_status(&self, id: &str) -> Result<Option<String>> {
        self.read(|c| {
            Ok(
                c.query_row("SELECT json FROM taxii_status WHERE id = ?1", [id], |r| {
                    r.get(0)
                })
                .optional()
                .db()?,
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use tocsin_store::Store;

    #[test]
    fn token_audience_shared_objects_and_status() {
        let s = SqliteStore::open_in_memory().unwrap();
        let ctx = AuditCtx::new(
            "t",
            chrono::Utc.with_ymd_and_hms(2024, 3, 6, 0, 0, 0).unwrap(),
        );
        let id = s
            .insert_token("h", "viewer", "partner", None, &ctx)
            .unwrap();
        assert_eq!(s.token_audience(id).unwrap(), None);
        s.set_token_audience(id, Some(&"fsb-liaison".into()), &ctx)
            .unwrap();
        assert_eq!(s.token_audience(id).unwrap(), Some("fsb-liaison".into()));
        assert!(matches!(
            s.set_token_audience(id + 1, None, &ctx),
            Err(StoreError::NotFound { .. })
        ));
        let o = NewSharedObject {
            object_id: "indicator--1".into(),
            version: "2024-03-06T00:00:00.000Z".into(),
            json: "{}".into(),
        };
        assert_eq!(
            s.add_shared_objects(
                "c1",
                std::slice::from_ref(&o),
                "s1",
                "{\"id\":\"s1\"}",
                &ctx
            )
            .unwrap(),
            vec![true]
        );
        assert_eq!(
            s.add_shared_objects("c1", &[o], "s2", "{}", &ctx).unwrap(),
            vec![false],
            "same version twice is not new"
        );
        assert_eq!(s.shared_objects("c1").unwrap().len(), 1);
        assert!(s.shared_objects("c2").unwrap().is_empty());
        assert_eq!(
            s.taxii_status("s1").unwrap().as_deref(),
            Some("{\"id\":\"s1\"}")
        );
        assert!(s.verify_audit().unwrap().is_ok());
        assert!(s
            .audit_events()
            .unwrap()
            .iter()
            .any(|e| e.action == actions::TAXII_ADD));
    }
}
