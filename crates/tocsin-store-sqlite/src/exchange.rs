//! The exchange contract on SQLite (the operations themselves are written once, in
//! `tocsin_store`).

#[cfg(test)]
mod tests {
    use crate::SqliteStore;
    use chrono::TimeZone;
    use tocsin_store::exchange::{actions, Exchange, NewSharedObject};
    use tocsin_store::Store;
    use tocsin_store::{AuditCtx, StoreError};

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
