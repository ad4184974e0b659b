//! The accounts contract on SQLite (the operations themselves are written once, in
//! `tocsin_store`).

#[cfg(test)]
mod tests {
    use crate::SqliteStore;
    use tocsin_core::marking::Classification;
    use tocsin_core::CountryCode;
    use tocsin_store::accounts::{Accounts, NewUser};
    use tocsin_store::AuditCtx;

    #[test]
    fn accounts_contract() {
        tocsin_store::accounts::check_contract(&SqliteStore::open_in_memory().unwrap());
    }

    #[test]
    fn a_failed_insert_writes_no_audit_event() {
        let s = SqliteStore::open_in_memory().unwrap();
        let ctx = AuditCtx::new(
            "t",
            chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap(),
        );
        let u = NewUser {
            username: "a".into(),
            role: "viewer".into(),
            clearance: Classification::U,
            nationality: CountryCode::parse("USA").unwrap(),
            password_hash: None,
        };
        s.insert_user(&u, &ctx).unwrap();
        let n = tocsin_store::Store::audit_events(&s).unwrap().len();
        assert!(s.insert_user(&u, &ctx).is_err());
        assert_eq!(tocsin_store::Store::audit_events(&s).unwrap().len(), n);
    }
}
