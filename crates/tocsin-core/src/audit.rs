//! The audit chain: every step appends an event whose hash covers the previous hash, so an edited,
//! removed or reordered row breaks verification from that row on.

use crate::time::Timestamp;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Hash of the (virtual) event before the first one.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditEvent {
    pub seq: u64,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub at: Timestamp,
    pub actor: String,
    pub action: String,
    pub subject: String,
    /// SHA-256 of the canonical JSON payload the event refers to.
    pub payload_digest: String,
    pub prev_hash: String,
    pub hash: String,
}

/// SHA-256 hex of arbitrary bytes (used for payload digests).
pub fn digest(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

fn event_hash(
    seq: u64,
    at: &Timestamp,
    actor: &str,
    action: &str,
    subject: &str,
    payload_digest: &str,
    prev: &str,
) -> String {
    // Length-prefixed fields: no two different events serialise to the same bytes.
    let mut h = Sha256::new();
    for field in [
        seq.to_string().as_str(),
        at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
            .as_str(),
        actor,
        action,
        subject,
        payload_digest,
        prev,
    ] {
        h.update((field.len() as u64).to_be_bytes());
        h.update(field.as_bytes());
    }
    hex::encode(h.finalize())
}

impl AuditEvent {
    /// Build the event that follows `prev` (or the genesis when `prev` is `None`).
    pub fn next(
        prev: Option<&AuditEvent>,
        at: Timestamp,
        actor: &str,
        action: &str,
        subject: &str,
        payload: &[u8],
    ) -> Self {
        let (seq, prev_hash) = match prev {
            Some(p) => (p.seq + 1, p.hash.clone()),
            None => (1, GENESIS_HASH.to_owned()),
        };
        let payload_digest = digest(payload);
        let hash = event_hash(
            seq,
            &at,
            actor,
            action,
            subject,
            &payload_digest,
            &prev_hash,
        );
        Self {
            seq,
            at,
            actor: actor.into(),
            action: action.into(),
            subject: subject.into(),
            payload_digest,
            prev_hash,
            hash,
        }
    }

    pub fn recompute_hash(&self) -> String {
        event_hash(
            self.seq,
            &self.at,
            &self.actor,
            &self.action,
            &self.subject,
            &self.payload_digest,
            &self.prev_hash,
        )
    }
}

/// Where and why a chain fails to verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[error("audit chain broken at seq {seq}: {reason}")]
pub struct ChainBreak {
    pub seq: u64,
    pub reason: String,
}

/// Verify a whole chain in order. Returns the head hash (or the genesis hash when empty).
pub fn verify_chain<'a>(
    events: impl IntoIterator<Item = &'a AuditEvent>,
) -> Result<String, ChainBreak> {
    let mut expected_prev = GENESIS_HASH.to_owned();
    for (expected_seq, e) in (1u64..).zip(events) {
        if e.seq != expected_seq {
            return Err(ChainBreak {
                seq: e.seq,
                reason: format!("expected seq {expected_seq} (a row is missing or reordered)"),
            });
        }
        if e.prev_hash != expected_prev {
            return Err(ChainBreak {
                seq: e.seq,
                reason: "prev_hash does not match the previous event's hash".into(),
            });
        }
        if e.recompute_hash() != e.hash {
            return Err(ChainBreak {
                seq: e.seq,
                reason: "hash does not match the event's content (the row was edited)".into(),
            });
        }
        expected_prev = e.hash.clone();
    }
    Ok(expected_prev)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};

    fn chain(n: usize) -> Vec<AuditEvent> {
        let mut v: Vec<AuditEvent> = Vec::new();
        for i in 0..n {
            let at = Utc.with_ymd_and_hms(2024, 3, 6, 0, i as u32, 0).unwrap();
            let e = AuditEvent::next(v.last(), at, "analyst", "test", &format!("s{i}"), b"{}");
            v.push(e);
        }
        v
    }

    #[test]
    fn intact_chain_verifies() {
        let c = chain(5);
        assert_eq!(verify_chain(&c).unwrap(), c[4].hash);
        assert_eq!(verify_chain(&[]).unwrap(), GENESIS_HASH);
    }

    #[test]
    fn edited_row_is_detected() {
        let mut c = chain(5);
        c[2].subject = "tampered".into();
        assert_eq!(verify_chain(&c).unwrap_err().seq, 3);
    }

    #[test]
    fn removed_row_is_detected() {
        let mut c = chain(5);
        c.remove(1);
        assert_eq!(verify_chain(&c).unwrap_err().seq, 3);
    }

    #[test]
    fn rehashed_edit_breaks_the_next_link() {
        let mut c = chain(5);
        c[2].actor = "mallory".into();
        c[2].hash = c[2].recompute_hash();
        assert_eq!(verify_chain(&c).unwrap_err().seq, 4);
    }
}
