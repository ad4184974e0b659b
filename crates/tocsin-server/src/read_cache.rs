//! What the read routes derive from the store, kept until the store changes.
//!
//! Two things used to be recomputed on every read: the leak gate's verdict on each warning returned
//! (the real gate over headline, text and measures against the threat's restricted terms, withheld
//! portions and the audience's own names) and the [`Reader`] that shapes a response for a principal
//! (every threat's markings and every warning's banner). Both are pure functions of stored records,
//! and every mutating store call appends one audit event in its own transaction, so the audit
//! chain's head ([`Store::audit_head`]) names the state of everything they read: a value derived
//! at head H is valid exactly as long as the head is still H. A write by this process, by another
//! server or by a worker on the same database moves the head, and the next read drops every value
//! and derives it again from the records as they are now. So the verdict is computed once after a
//! warning is written or an input of it changes (its threat's terms or portions, its audience, the
//! matched entities' names), not on every read; and need to know is exactly as strict as before,
//! since the values are the ones the uncached code computed over the same records.
//!
//! A value is only ever stored under the head read *before* the records it was derived from, and
//! only while that head is still current: a value derived from records newer than its key is
//! dropped with the key at the next read that sees the newer head, never served in its place.

use crate::auth::{NeedToKnow, Principal, Role};
use crate::redact::Reader;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex, MutexGuard};
use tocsin_core::tracking::Warning;
use tocsin_engine::LeakVerdict;
use tocsin_store::{Store, StoreError};

/// The values derived at one audit head (shared by every handler through `AppState`).
#[derive(Default)]
pub struct ReadCache {
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// The audit head the values below were derived at; `None` before the first read.
    head: Option<i64>,
    /// One reader per (need to know, role): a deployment has few distinct ones.
    readers: Vec<((NeedToKnow, Role), Arc<Reader>)>,
    /// Warning id → (digest of the warning fields the gate reads, verdict; `None` when its threat
    /// or audience is gone).
    verdicts: HashMap<String, (u64, Option<LeakVerdict>)>,
}

impl std::fmt::Debug for ReadCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReadCache").finish_non_exhaustive()
    }
}

/// The fields of `w` its verdict depends on (besides the records the audit head covers).
fn gate_inputs(w: &Warning) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    w.threat_id.as_str().hash(&mut h);
    w.audience_id.as_str().hash(&mut h);
    w.headline.hash(&mut h);
    w.text.hash(&mut h);
    w.measures.hash(&mut h);
    h.finish()
}

impl ReadCache {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves at worst a partial map of correct values.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Read the audit head; if the store moved since the values were derived, drop them all.
    pub fn sync(&self, store: &dyn Store) -> Result<i64, StoreError> {
        let head = store.audit_head()?;
        let mut s = self.lock();
        if s.head != Some(head) {
            s.head = Some(head);
            s.readers.clear();
            s.verdicts.clear();
        }
        Ok(head)
    }

    /// The reader for `principal` at the store's current state.
    pub fn reader(
        &self,
        store: &dyn Store,
        principal: &Principal,
    ) -> Result<Arc<Reader>, StoreError> {
        let head = self.sync(store)?;
        let key = (principal.need_to_know, principal.role);
        if let Some((_, r)) = self.lock().readers.iter().find(|(k, _)| *k == key) {
            return Ok(r.clone());
        }
        let reader = Arc::new(Reader::load(principal, store)?);
        let mut s = self.lock();
        if s.head == Some(head) && !s.readers.iter().any(|(k, _)| *k == key) {
            s.readers.push((key, reader.clone()));
        }
        Ok(reader)
    }

    /// The leak gate's verdict on each of `ws` at `head` (read by [`ReadCache::sync`] before `ws`
    /// were), derived for those not yet known.
    pub fn verdicts(
        &self,
        store: &dyn Store,
        head: i64,
        ws: &[Warning],
        global_restricted: &[String],
    ) -> Result<Vec<Option<LeakVerdict>>, tocsin_engine::EngineError> {
        let digests: Vec<u64> = ws.iter().map(gate_inputs).collect();
        let mut out: Vec<Option<Option<LeakVerdict>>> = {
            let s = self.lock();
            ws.iter()
                .zip(&digests)
                .map(|(w, d)| {
                    s.verdicts
                        .get(w.id.as_str())
                        .filter(|_| s.head == Some(head))
                        .filter(|(known, _)| known == d)
                        .map(|(_, v)| v.clone())
                })
                .collect()
        };
        let missing: Vec<Warning> = ws
            .iter()
            .zip(&out)
            .filter(|(_, v)| v.is_none())
            .map(|(w, _)| w.clone())
            .collect();
        if !missing.is_empty() {
            let fresh = tocsin_engine::leak_verdicts(store, &missing, global_restricted)?;
            let mut s = self.lock();
            let keep = s.head == Some(head);
            let mut fresh = missing.iter().zip(fresh);
            for (slot, d) in out.iter_mut().zip(&digests) {
                if slot.is_some() {
                    continue;
                }
                if let Some((w, v)) = fresh.next() {
                    if keep {
                        s.verdicts.insert(w.id.as_str().to_owned(), (*d, v.clone()));
                    }
                    *slot = Some(v);
                }
            }
        }
        Ok(out.into_iter().map(Option::flatten).collect())
    }
}
