//! The follow-up contract on SQLite (the operations themselves are written once, in
//! `tocsin_store`).

#[cfg(test)]
mod tests {
    use crate::SqliteStore;
    use chrono::{TimeZone, Utc};
    use tocsin_core::followup::TaskKind;
    use tocsin_store::Store;
    use tocsin_store::{AuditCtx, FollowUps, StoreError};

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
