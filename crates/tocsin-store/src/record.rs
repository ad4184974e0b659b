//! What a store writes into the audit chain, shared by every backend so that the same call yields
//! the same event (action, subject, payload digest) whichever database is underneath.
//!
//! * **action** — one of the constants in [`actions`].
//! * **subject** — `kind:id` of what was written: `threat:T-1`, `warning:W-1`, `delivery:7`,
//!   `determination:3`, `token:2`; a bulk upsert of one record names it (`entity:crocus`), of several
//!   counts them (`entities:58`). Matches and outcomes belong to their threat (`threat:T-1`);
//!   acknowledgements, posture reports and posture tracks to their warning (`warning:W-1`).
//! * **payload** — the [`canonical_json`] of what was written. For a single-record insert this is
//!   exactly the record's stored JSON, so `payload_digest == sha256(json column)` and a row can be
//!   checked against its event.

use crate::{Result, StoreError};
use chrono::SecondsFormat;
use serde::Serialize;
use serde_json::Value;
use tocsin_core::Timestamp;

/// Audit action names, one per kind of write.
pub mod actions {
    pub const ENTITY_UPSERT: &str = "entity.upsert";
    pub const AUDIENCE_UPSERT: &str = "audience.upsert";
    pub const THREAT_CREATE: &str = "threat.create";
    pub const MATCHES_REPLACE: &str = "matches.replace";
    pub const DETERMINATION_RECORD: &str = "determination.record";
    pub const WARNING_CREATE: &str = "warning.create";
    pub const WARNING_STATE: &str = "warning.state";
    pub const WARNING_VALIDITY: &str = "warning.validity";
    pub const WARNING_QUEUE: &str = "warning.queue";
    pub const DELIVERY_DELIVERED: &str = "delivery.delivered";
    pub const DELIVERY_FAILED: &str = "delivery.failed";
    pub const DELIVERY_DEAD: &str = "delivery.dead";
    pub const DELIVERY_CLAIM: &str = "delivery.claim";
    pub const DELIVERY_LEASE: &str = "delivery.lease";
    pub const DELIVERY_UNSUBSCRIBED: &str = "delivery.unsubscribed";
    pub const DELIVERY_RETRY: &str = "delivery.retry";
    pub const ACK_RECORD: &str = "ack.record";
    pub const POSTURE_REPORT: &str = "posture.report";
    pub const POSTURE_TRACK: &str = "posture.track";
    pub const OUTCOME_RECORD: &str = "outcome.record";
    pub const TOKEN_CREATE: &str = "token.create";
    pub const THREAT_UPDATE: &str = "threat.update";
    pub const FEEDBACK_RECORD: &str = "feedback.record";
    pub const TASK_OPEN: &str = "task.open";
    pub const TASK_CLOSE: &str = "task.close";
    pub const LINK_USE: &str = "link.use";
    pub const NOTICE_QUEUE: &str = "notice.queue";
    pub const SECRET_CREATE: &str = "secret.create";
    pub const CLOCK_SET: &str = "clock.set";
    pub const LINK_ANSWER: &str = "link.answer";
}

/// Canonical JSON: serde's encoding with every object's keys sorted (by code point), no whitespace.
/// Independent of serde_json's `preserve_order` feature, so digests do not change when another crate
/// in the build switches it on.
pub fn canonical_json<T: Serialize + ?Sized>(value: &T) -> Result<String> {
    let v = serde_json::to_value(value)
        .map_err(|e| StoreError::Db(format!("cannot encode record as JSON: {e}")))?;
    serde_json::to_string(&sorted(v))
        .map_err(|e| StoreError::Db(format!("cannot encode record as JSON: {e}")))
}

fn sorted(v: Value) -> Value {
    match v {
        Value::Object(map) => {
            let mut entries: Vec<(String, Value)> = map.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(entries.into_iter().map(|(k, v)| (k, sorted(v))).collect())
        }
        Value::Array(items) => Value::Array(items.into_iter().map(sorted).collect()),
        other => other,
    }
}

/// The stored form of a time: RFC 3339, UTC, microseconds, `Z` (`2024-03-07T12:00:00.000000Z`).
/// Fixed width, so text comparison is time comparison.
pub fn time_text(t: &Timestamp) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// Parse a stored time back.
#[doc(hidden)]
pub fn parse_time(kind: &'static str, id: &str, s: &str) -> Result<Timestamp> {
    chrono::DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&chrono::Utc))
        .map_err(|e| StoreError::Corrupt {
            kind,
            id: id.to_owned(),
            reason: format!("bad time {s:?}: {e}"),
        })
}

/// Decode a stored JSON record.
#[doc(hidden)]
pub fn decode<T: serde::de::DeserializeOwned>(
    kind: &'static str,
    id: &str,
    json: &str,
) -> Result<T> {
    serde_json::from_str(json).map_err(|e| StoreError::Corrupt {
        kind,
        id: id.to_owned(),
        reason: format!("bad JSON: {e}"),
    })
}

/// The error of an insert that failed: a broken UNIQUE or PRIMARY KEY constraint means the record
/// (`kind` named `id`) is already stored ([`StoreError::Conflict`]); anything else is the driver's
/// error as text.
pub fn insert_error(
    kind: &'static str,
    id: String,
    unique_violation: bool,
    driver_text: String,
) -> StoreError {
    if unique_violation {
        StoreError::Conflict { kind, id }
    } else {
        StoreError::Db(driver_text)
    }
}

/// Subject of a bulk write: `entity:<id>` for one record, `entities:<n>` otherwise.
#[doc(hidden)]
pub fn bulk_subject(singular: &str, plural: &str, ids: &[&str]) -> String {
    match ids {
        [one] => format!("{singular}:{one}"),
        _ => format!("{plural}:{}", ids.len()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_json_sorts_keys_recursively() {
        let v = serde_json::json!({"b": 1, "a": {"z": [ {"y": 1, "x": 2} ], "c": null}});
        assert_eq!(
            canonical_json(&v).unwrap(),
            r#"{"a":{"c":null,"z":[{"x":2,"y":1}]},"b":1}"#
        );
    }

    #[test]
    fn time_text_is_fixed_width_micros() {
        use chrono::TimeZone;
        let t = chrono::Utc.with_ymd_and_hms(2024, 3, 7, 12, 0, 0).unwrap();
        assert_eq!(time_text(&t), "2024-03-07T12:00:00.000000Z");
        assert_eq!(parse_time("x", "1", &time_text(&t)).unwrap(), t);
    }

    #[test]
    fn bulk_subjects() {
        assert_eq!(
            bulk_subject("entity", "entities", &["crocus"]),
            "entity:crocus"
        );
        assert_eq!(
            bulk_subject("entity", "entities", &["a", "b"]),
            "entities:2"
        );
        assert_eq!(bulk_subject("entity", "entities", &[]), "entities:0");
    }
}
