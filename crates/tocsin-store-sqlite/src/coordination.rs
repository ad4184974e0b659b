//! SQLite implementation of [`Coordination`]: leadership as a lease row, registry changes read
//! from `registry_changes` (written by `upsert_entities` in its transaction).

use super::SqliteStore;
use crate::Db;
use rusqlite::{params, Connection, OptionalExtension};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};
use tocsin_core::{EntityId, Timestamp};
use tocsin_store::coordination::Coordination;
use tocsin_store::record::time_text;
use tocsin_store::Result;

/// How often `wait_registry_change` looks at the head while it waits.
const POLL: Duration = Duration::from_millis(100);

fn head(c: &Connection) -> Result<i64> {
    c.query_row(
        "SELECT COALESCE(MAX(seq), 0) FROM registry_changes",
        [],
        |r| r.get(0),
    )
    .db()
}

impl Coordination for SqliteStore {
    fn try_lead(
        &self,
        role: &str,
        holder: &str,
        lease: chrono::Duration,
        now: Timestamp,
    ) -> Result<bool> {
        let until = now + lease;
        self.write(|tx| {
            // Keep our own lease, or take over one that has run out; otherwise change nothing.
            let n = tx.execute(
                "INSERT INTO leaders (role, holder, since, lease_until) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (role) DO UPDATE SET
                     since = CASE WHEN leaders.holder = excluded.holder THEN leaders.since ELSE excluded.since END,
                     holder = excluded.holder,
                     lease_until = excluded.lease_until
                 WHERE leaders.holder = excluded.holder OR leaders.lease_until <= excluded.since",
                params![role, holder, time_text(&now), time_text(&until)],
            ).db()?;
            Ok(n == 1)
        })
    }

    fn resign(&self, role: &str, holder: &str) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                "DELETE FROM leaders WHERE role = ?1 AND holder = ?2",
                params![role, holder],
            )
            .db()?;
            Ok(())
        })
    }

    fn leader(&self, role: &str, now: Timestamp) -> Result<Option<String>> {
        self.read(|c| {
            c.query_row(
                "SELECT holder FROM leaders WHERE role = ?1 AND lease_until > ?2",
                params![role, time_text(&now)],
                |r| r.get(0),
            )
            .optional()
            .db()
        })
    }

    fn registry_change_head(&self) -> Result<i64> {
        self.read(head)
    }

    fn registry_changes_since(&self, seq: i64) -> Result<(i64, Vec<EntityId>)> {
        self.read(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT entity_id, MAX(seq) AS last FROM registry_changes WHERE seq > ?1 GROUP BY entity_id ORDER BY last",
            ).db()?;
            let mut rows = stmt.query([seq]).db()?;
            let mut ids = Vec::new();
            let mut high = seq;
            while let Some(row) = rows.next().db()? {
                ids.push(EntityId::new(row.get::<_, String>(0).db()?));
                high = high.max(row.get::<_, i64>(1).db()?);
            }
            Ok((high, ids))
        })
    }

    fn wait_registry_change(&self, timeout: Duration) -> Result<bool> {
        // Poll with the connection released between looks, so other calls are not blocked.
        let deadline = Instant::now() + timeout;
        let seen = self.registry_seen.load(Ordering::Acquire);
        loop {
            let now_head = self.read(head)?;
            if seen >= 0 && now_head > seen {
                self.registry_seen.store(now_head, Ordering::Release);
                return Ok(true);
            }
            if seen < 0 {
                // First call: nothing to compare with yet; start from the current head.
                self.registry_seen.store(now_head, Ordering::Release);
                return self
                    .wait_registry_change(deadline.saturating_duration_since(Instant::now()));
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(false);
            }
            std::thread::sleep(left.min(POLL));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};
    use std::sync::Arc;
    use tocsin_core::entity::{Category, EntityKind};
    use tocsin_core::Entity;
    use tocsin_store::{AuditCtx, Store};

    fn t(min: i64) -> Timestamp {
        Utc.with_ymd_and_hms(2024, 3, 7, 12, 0, 0).unwrap() + chrono::Duration::minutes(min)
    }

    fn entity(id: &str, name: &str) -> Entity {
        Entity {
            id: EntityId::new(id),
            kind: EntityKind::Venue,
            name: name.into(),
            aliases: vec![],
            category: Category::parse("venue/entertainment/concert_hall").unwrap(),
            location: None,
            capacity: None,
            span: None,
            venue: None,
            city: None,
            country: None,
            audiences: vec![],
            footprint: Default::default(),
        }
    }

    #[test]
    fn one_leader_until_its_lease_runs_out() {
        let s = SqliteStore::open_in_memory().unwrap();
        let lease = chrono::Duration::seconds(30);
        assert!(s.try_lead("scheduler", "a", lease, t(0)).unwrap());
        assert!(
            !s.try_lead("scheduler", "b", lease, t(0)).unwrap(),
            "b must not lead while a's lease holds"
        );
        // a renews: b is still refused after a's first lease would have ended.
        assert!(s
            .try_lead(
                "scheduler",
                "a",
                lease,
                t(0) + chrono::Duration::seconds(20)
            )
            .unwrap());
        assert!(!s
            .try_lead(
                "scheduler",
                "b",
                lease,
                t(0) + chrono::Duration::seconds(40)
            )
            .unwrap());
        assert_eq!(
            s.leader("scheduler", t(0) + chrono::Duration::seconds(40))
                .unwrap()
                .as_deref(),
            Some("a")
        );
        // a stops renewing (died): b takes over once the lease has expired, and a learns it lost.
        assert!(s
            .try_lead(
                "scheduler",
                "b",
                lease,
                t(0) + chrono::Duration::seconds(50)
            )
            .unwrap());
        assert!(!s
            .try_lead(
                "scheduler",
                "a",
                lease,
                t(0) + chrono::Duration::seconds(51)
            )
            .unwrap());
        assert_eq!(s.leader("scheduler", t(1)).unwrap().as_deref(), Some("b"));
        // Other roles are independent.
        assert!(s.try_lead("other", "a", lease, t(1)).unwrap());
        // Resigning frees the role at once; resigning a role one does not hold changes nothing.
        s.resign("scheduler", "a").unwrap();
        assert_eq!(s.leader("scheduler", t(1)).unwrap().as_deref(), Some("b"));
        s.resign("scheduler", "b").unwrap();
        assert_eq!(s.leader("scheduler", t(1)).unwrap(), None);
        assert!(s.try_lead("scheduler", "a", lease, t(1)).unwrap());
    }

    #[test]
    fn leadership_is_not_audited() {
        let s = SqliteStore::open_in_memory().unwrap();
        s.try_lead("scheduler", "a", chrono::Duration::seconds(30), t(0))
            .unwrap();
        assert!(s.audit_events().unwrap().is_empty());
    }

    #[test]
    fn registry_changes_follow_upserts() {
        let s = SqliteStore::open_in_memory().unwrap();
        assert_eq!(s.registry_change_head().unwrap(), 0);
        assert_eq!(s.registry_changes_since(0).unwrap(), (0, vec![]));
        s.upsert_entities(
            &[entity("e1", "One"), entity("e2", "Two")],
            &AuditCtx::new("a", t(0)),
        )
        .unwrap();
        let head = s.registry_change_head().unwrap();
        assert_eq!(head, 2);
        assert_eq!(
            s.registry_changes_since(0).unwrap(),
            (2, vec![EntityId::new("e1"), EntityId::new("e2")])
        );
        s.upsert_entities(
            &[entity("e2", "Two bis"), entity("e1", "One bis")],
            &AuditCtx::new("a", t(1)),
        )
        .unwrap();
        s.upsert_entities(&[entity("e2", "Two ter")], &AuditCtx::new("a", t(2)))
            .unwrap();
        // Each id once, ordered by its last change.
        assert_eq!(
            s.registry_changes_since(head).unwrap(),
            (5, vec![EntityId::new("e1"), EntityId::new("e2")])
        );
        assert_eq!(s.registry_changes_since(5).unwrap(), (5, vec![]));
    }

    #[test]
    fn wait_wakes_on_a_change_from_another_connection() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let a = Arc::new(SqliteStore::open(&path).unwrap());
        let b = SqliteStore::open(&path).unwrap();
        // Nothing happens: the wait times out.
        let started = Instant::now();
        assert!(!a.wait_registry_change(Duration::from_millis(250)).unwrap());
        assert!(started.elapsed() >= Duration::from_millis(250));
        let waiter = {
            let a = a.clone();
            std::thread::spawn(move || a.wait_registry_change(Duration::from_secs(10)).unwrap())
        };
        std::thread::sleep(Duration::from_millis(200));
        // The waiting store keeps answering other calls while it waits.
        assert_eq!(a.registry_change_head().unwrap(), 0);
        b.upsert_entities(&[entity("e1", "One")], &AuditCtx::new("b", t(0)))
            .unwrap();
        assert!(
            waiter.join().unwrap(),
            "the waiter must see the other process's change"
        );
        assert_eq!(
            a.registry_changes_since(0).unwrap(),
            (1, vec![EntityId::new("e1")])
        );
    }
}
