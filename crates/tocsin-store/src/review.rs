//! What the full HTTP API writes beyond the pipeline: deleting registry entities,
//! analysts' reviews of matches, editing a draft warning's text, and withdrawing (cancelling) a
//! warning. Part of the `Store` contract; every write is audited in its own transaction, and
//! entity deletes append to `registry_changes` like upserts do (see `coordination`).

use crate::{AuditCtx, Result};
use tocsin_core::tracking::Warning;
use tocsin_core::{EntityId, MatchReview, ThreatId, Timestamp, WarningId};

/// Audit actions of this part.
pub mod review_actions {
    pub const ENTITY_DELETE: &str = "entity.delete";
    pub const MATCH_REVIEW: &str = "match.review";
    pub const WARNING_EDIT: &str = "warning.edit";
    pub const WARNING_CANCEL: &str = "warning.cancel";
}

/// The new text of a draft warning (the caller has run the leak gate on it).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DraftEdit {
    pub headline: String,
    pub text: String,
    pub measures: Vec<String>,
}

/// A withdrawn warning.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Cancellation {
    pub warning_id: WarningId,
    pub at: Timestamp,
    pub by: String,
    pub reason: String,
}

/// The error recorded on a delivery withdrawn because its warning was cancelled.
pub const WITHDRAWN: &str = "withdrawn: the warning was cancelled";

pub trait Review {
    /// Remove an entity from the registry, with its stored matches and reviews; appends a
    /// `delete` row to `registry_changes`. [`crate::StoreError::NotFound`] if it does not exist.
    fn delete_entity(&self, id: &EntityId, audit: &AuditCtx) -> Result<()>;

    /// Record (or replace) the review of one match. The match must be stored
    /// ([`crate::StoreError::NotFound`] otherwise).
    fn review_match(&self, review: &MatchReview, audit: &AuditCtx) -> Result<()>;
    /// The reviews of a threat's matches, by entity then target.
    fn match_reviews(&self, threat_id: &ThreatId) -> Result<Vec<MatchReview>>;

    /// Replace a draft warning's headline, text and measures; only a `draft` can be edited
    /// ([`crate::StoreError::InvalidState`] otherwise). Returns the warning as stored.
    fn edit_draft_warning(
        &self,
        id: &WarningId,
        edit: &DraftEdit,
        audit: &AuditCtx,
    ) -> Result<Warning>;

    /// Record that a warning was withdrawn ([`crate::StoreError::Conflict`] if it already was).
    /// The caller moves its lifecycle state. In the same transaction, the warning's own deliveries
    /// that are still open and not leased become dead letters with the error [`WITHDRAWN`] (they
    /// must not go out after the cancel), and `retry_delivery` refuses them from then on.
    fn insert_cancellation(&self, c: &Cancellation, audit: &AuditCtx) -> Result<()>;
    fn cancellation(&self, id: &WarningId) -> Result<Option<Cancellation>>;
}

/// The [`Review`] contract as tests, for every backend (like `conformance`):
/// `tocsin_store::review_conformance_tests!(|| -> Box<dyn TestStore> { ... })`.
#[doc(hidden)]
#[allow(clippy::unwrap_used, clippy::panic)]
pub mod conformance {
    use super::{review_actions, Cancellation, DraftEdit};
    use crate::conformance::{Make, TestStore};
    use crate::dump::SqlValue;
    use crate::{AuditCtx, StoreError};
    use chrono::{TimeZone, Utc};
    use tocsin_core::entity::{Category, EntityKind};
    use tocsin_core::lifecycle::WarningState;
    use tocsin_core::tracking::{DeliveryStatus, GatedWarning, Specificity, Warning};
    use tocsin_core::{
        AudienceId, AudienceKind, CountryCode, Credibility, Entity, EntityId, Harm, Match,
        MatchReview, PortionMark, ReviewDecision, Threat, ThreatId, ThreatWindow, Timestamp,
        TlpLevel, WarningId,
    };

    fn t(h: u32) -> Timestamp {
        Utc.with_ymd_and_hms(2024, 3, 7, h, 0, 0).unwrap()
    }

    fn ctx(h: u32) -> AuditCtx {
        AuditCtx::new("analyst", t(h))
    }

    fn entity(id: &str) -> Entity {
        Entity {
            id: EntityId::new(id),
            kind: EntityKind::Venue,
            name: format!("Venue {id}"),
            aliases: vec![],
            category: Category::parse("venue/entertainment/concert_hall").unwrap(),
            location: None,
            capacity: Some(1000),
            span: None,
            venue: None,
            city: None,
            country: Some(CountryCode::parse("RUS").unwrap()),
            audiences: vec![],
            footprint: Default::default(),
        }
    }

    fn threat() -> Threat {
        Threat {
            id: ThreatId::new("T1"),
            title: "Threat".into(),
            originator: CountryCode::parse("USA").unwrap(),
            received: t(1),
            actor: None,
            actor_mark: PortionMark::unclassified(),
            harms: vec![Harm::Killing],
            credibility: Credibility::Probable,
            window: ThreatWindow::new(t(1), t(20)).unwrap(),
            public_advice_hours: 48,
            targets: vec![],
            portions: vec![],
            restricted_terms: vec![],
            tlp: None,
            measures: vec![],
        }
    }

    fn warning(id: &str, state: WarningState) -> GatedWarning {
        crate::conformance::gated(Warning {
            id: WarningId::new(id),
            threat_id: ThreatId::new("T1"),
            audience_id: AudienceId::new("a"),
            audience_kind: AudienceKind::Operator,
            version: 1,
            supersedes: None,
            tlp: TlpLevel::Amber,
            banner: "UNCLASSIFIED".into(),
            specificity: Specificity::NamedTarget,
            headline: "Old headline".into(),
            text: "Old text".into(),
            measures: vec!["Old measure".into()],
            valid: ThreatWindow::new(t(1), t(20)).unwrap(),
            state,
            created_at: t(2),
            language: "ru".into(),
            translations: vec![tocsin_core::tracking::Translation {
                language: "en".into(),
                headline: "Old headline in English".into(),
                text: "Old text in English".into(),
            }],
        })
    }

    /// A store with threat T1, entities e1 and e2, and a match of each to target 0.
    fn matched(make: Make<'_>) -> Box<dyn TestStore> {
        let s = make();
        s.upsert_entities(&[entity("e1"), entity("e2")], &ctx(1))
            .unwrap();
        s.insert_threat(&threat(), &ctx(1)).unwrap();
        let m = |e: &str| Match {
            threat_id: ThreatId::new("T1"),
            entity_id: EntityId::new(e),
            target: 0,
            score: 0.9,
            reasons: vec![],
        };
        s.replace_matches(&ThreatId::new("T1"), &[m("e1"), m("e2")], &ctx(1))
            .unwrap();
        s
    }

    fn last_action(s: &dyn TestStore) -> String {
        s.store().audit_events().unwrap().pop().unwrap().action
    }

    pub fn deleting_an_entity_removes_its_matches_and_logs_the_change(make: Make<'_>) {
        let s = matched(make);
        let head = s.registry_change_head().unwrap();
        s.delete_entity(&EntityId::new("e1"), &ctx(3)).unwrap();
        assert!(s.entity(&EntityId::new("e1")).unwrap().is_none());
        let left: Vec<String> = s
            .matches(&ThreatId::new("T1"))
            .unwrap()
            .into_iter()
            .map(|m| m.entity_id.to_string())
            .collect();
        assert_eq!(left, ["e2"]);
        assert_eq!(last_action(s.as_ref()), review_actions::ENTITY_DELETE);
        let (_, changed) = s.registry_changes_since(head).unwrap();
        assert_eq!(changed, [EntityId::new("e1")]);
        let rows = s.sql("SELECT change FROM registry_changes ORDER BY seq DESC LIMIT 1");
        assert_eq!(rows, vec![vec![SqlValue::Text("delete".into())]]);
        assert!(s.verify_audit().unwrap().is_ok());
        match s.delete_entity(&EntityId::new("e1"), &ctx(4)) {
            Err(StoreError::NotFound { kind: "entity", .. }) => {}
            other => panic!("deleting twice: {other:?}"),
        }
    }

    pub fn a_later_review_replaces_the_earlier(make: Make<'_>) {
        let s = matched(make);
        let review = |d, h| MatchReview {
            threat_id: ThreatId::new("T1"),
            entity_id: EntityId::new("e2"),
            target: 0,
            decision: d,
            note: "checked".into(),
            by: "analyst".into(),
            at: t(h),
        };
        s.review_match(&review(ReviewDecision::Reject, 3), &ctx(3))
            .unwrap();
        s.review_match(&review(ReviewDecision::Accept, 4), &ctx(4))
            .unwrap();
        assert_eq!(
            s.match_reviews(&ThreatId::new("T1")).unwrap(),
            vec![review(ReviewDecision::Accept, 4)]
        );
        assert_eq!(last_action(s.as_ref()), review_actions::MATCH_REVIEW);
        let mut missing = review(ReviewDecision::Accept, 5);
        missing.target = 7;
        assert!(matches!(
            s.review_match(&missing, &ctx(5)),
            Err(StoreError::NotFound { kind: "match", .. })
        ));
        // Deleting the entity takes its reviews along.
        s.delete_entity(&EntityId::new("e2"), &ctx(6)).unwrap();
        assert!(s.match_reviews(&ThreatId::new("T1")).unwrap().is_empty());
    }

    pub fn only_a_draft_can_be_edited(make: Make<'_>) {
        let s = matched(make);
        s.insert_warning(&warning("W1", WarningState::Draft), &ctx(2))
            .unwrap();
        s.insert_warning(&warning("W2", WarningState::Approved), &ctx(2))
            .unwrap();
        let edit = DraftEdit {
            headline: "New headline".into(),
            text: "New text".into(),
            measures: vec!["Brief staff".into()],
        };
        let w = s
            .edit_draft_warning(&WarningId::new("W1"), &edit, &ctx(3))
            .unwrap();
        assert_eq!(
            (w.headline.as_str(), w.text.as_str(), w.measures.as_slice()),
            ("New headline", "New text", &["Brief staff".to_owned()][..])
        );
        // The English version said what the old text said: it goes with it.
        assert!(w.translations.is_empty(), "{:?}", w.translations);
        assert_eq!(w.language, "ru");
        assert_eq!(s.warning(&WarningId::new("W1")).unwrap().unwrap(), w);
        assert_eq!(last_action(s.as_ref()), review_actions::WARNING_EDIT);
        assert!(matches!(
            s.edit_draft_warning(&WarningId::new("W2"), &edit, &ctx(4)),
            Err(StoreError::InvalidState { .. })
        ));
        let kept = s.warning(&WarningId::new("W2")).unwrap().unwrap();
        assert_eq!(kept.headline, "Old headline");
        assert_eq!(kept.translations.len(), 1, "a refused edit keeps them");
        assert!(matches!(
            s.edit_draft_warning(&WarningId::new("nope"), &edit, &ctx(4)),
            Err(StoreError::NotFound { .. })
        ));
    }

    pub fn a_warning_is_cancelled_once(make: Make<'_>) {
        let s = matched(make);
        s.insert_warning(&warning("W1", WarningState::Approved), &ctx(2))
            .unwrap();
        let to = |addr: &str| crate::NewDelivery {
            audience_id: AudienceId::new("a"),
            channel: tocsin_core::ChannelSpec {
                kind: tocsin_core::ChannelKind::File,
                address: addr.into(),
            },
            idempotency_key: format!("k-{addr}"),
        };
        let ds = s
            .queue_warning(
                &WarningId::new("W1"),
                &[to("sent"), to("leased"), to("open")],
                &ctx(2),
            )
            .unwrap();
        s.mark_delivered(ds[0].id, &ctx(2)).unwrap();
        let leased = s
            .claim_deliveries(t(2), "w1", chrono::Duration::hours(5), 1, &ctx(2))
            .unwrap();
        assert_eq!(leased.len(), 1);
        let c = Cancellation {
            warning_id: WarningId::new("W1"),
            at: t(3),
            by: "approver".into(),
            reason: "withdrawn".into(),
        };
        assert!(s.cancellation(&WarningId::new("W1")).unwrap().is_none());
        s.insert_cancellation(&c, &ctx(3)).unwrap();
        assert_eq!(
            s.cancellation(&WarningId::new("W1")).unwrap(),
            Some(c.clone())
        );
        assert_eq!(last_action(s.as_ref()), review_actions::WARNING_CANCEL);
        // The open, unleased delivery is withdrawn; the sent one and the one a worker holds are not.
        let after: Vec<(i64, DeliveryStatus, Option<String>)> = s
            .deliveries(Some(&WarningId::new("W1")))
            .unwrap()
            .into_iter()
            .map(|d| (d.id, d.status, d.last_error))
            .collect();
        let open = ds
            .iter()
            .map(|d| d.id)
            .find(|id| *id != ds[0].id && *id != leased[0].id)
            .unwrap();
        for (id, status, error) in &after {
            if *id == open {
                assert_eq!(
                    (*status, error.as_deref()),
                    (DeliveryStatus::Dead, Some(crate::review::WITHDRAWN))
                );
            } else {
                assert_ne!(*status, DeliveryStatus::Dead, "{after:?}");
            }
        }
        assert!(
            matches!(
                s.retry_delivery(open, &ctx(4)),
                Err(StoreError::InvalidState { .. })
            ),
            "a withdrawn delivery is not sent again"
        );
        assert!(matches!(
            s.insert_cancellation(&c, &ctx(4)),
            Err(StoreError::Conflict { .. })
        ));
        let other = Cancellation {
            warning_id: WarningId::new("nope"),
            ..c
        };
        assert!(matches!(
            s.insert_cancellation(&other, &ctx(4)),
            Err(StoreError::NotFound { .. })
        ));
        assert!(s.verify_audit().unwrap().is_ok());
    }
}

/// `#[test]` functions for the [`Review`] contract, for one backend.
#[macro_export]
macro_rules! review_conformance_tests {
    ($make:expr) => {
        $crate::review_conformance_tests!(@each $make;
            deleting_an_entity_removes_its_matches_and_logs_the_change,
            a_later_review_replaces_the_earlier,
            only_a_draft_can_be_edited,
            a_warning_is_cancelled_once);
    };
    (@each $make:expr; $($name:ident),* $(,)?) => {
        mod review_conformance {
            #[allow(unused_imports)]
            use super::*;
            $(
                #[test]
                fn $name() {
                    let make = $make;
                    $crate::review::conformance::$name(&make);
                }
            )*
        }
    };
}
