//! Several Tocsin processes on one database: who runs the scheduler, and how each
//! process keeps its in-memory match index in step with a registry others may change.
//!
//! # Contract (every backend)
//!
//! **Leadership.** [`Coordination::try_lead`] is called by a process on every scheduler pass; it
//! answers whether `holder` leads `role` *now*. At most one holder leads a role at any moment
//! (within the lease, see below). A leader keeps leading by calling again; a follower becomes
//! leader when the current leader resigns, dies, or (SQLite) lets its lease run out.
//! * Each call must re-check: a leader that lost leadership (lease taken over, database session
//!   gone) learns it at its next call, which returns `false` (or an error: callers treat an error
//!   as "not leading").
//! * `holder` names one process (`hostname:pid:random`); it is stored for operators to read.
//!   Through one store object, only the holder that obtained leadership is told `true`.
//! * `lease` is how long leadership survives without a call. SQLite: a row in `leaders` with
//!   `lease_until = now + lease`, taken over by another holder once `now >= lease_until` (so a
//!   dead leader is replaced within `lease`; callers call at least every `lease / 3`). PostgreSQL:
//!   a session advisory lock on a connection kept for that purpose (`pg_try_advisory_lock`); the
//!   lock dies with the session, so a killed process loses leadership at once and `lease` only
//!   bounds how long a call may wait. It also writes the `leaders` row, for operators.
//! * `now` is the caller's clock (the store never reads one). All processes must use the wall
//!   clock for leadership, even when replaying a case on an injected clock.
//! * Leadership is coordination, not case data: it is **not** audited (a renewal per pass would
//!   flood the chain) and not part of a store copy's meaning.
//!
//! [`Coordination::resign`] gives leadership up at once (graceful shutdown); a no-op when
//! `holder` does not lead.
//!
//! **Registry changes.** Every write to the registry's entities (`Store::upsert_entities`, and
//! deletes when they exist) appends one row per entity to `registry_changes` *in the same
//! transaction*. `seq` is assigned in commit order: a reader that saw `seq = n` committed never
//! later sees a new row with `seq < n` (SQLite: writers are serialised; PostgreSQL: writers of
//! `registry_changes` must serialise, e.g. take `pg_advisory_xact_lock(<registry key>)` before
//! inserting, so sequence order equals commit order).
//! * [`Coordination::registry_changes_since`]`(seq)` returns the new high-water mark (the largest
//!   `seq` stored, or `seq` itself when nothing is newer) and the ids changed after `seq`, each
//!   once, in order of their last change. The caller re-reads those entities (`Store::entity`):
//!   present → upsert into its index, absent → remove.
//! * [`Coordination::registry_change_head`] is the current high-water mark. A process reads it
//!   *before* loading the registry, so a change committed during the load is applied again
//!   (applying is idempotent) rather than lost.
//! * [`Coordination::wait_registry_change`]`(timeout)` blocks up to `timeout` and returns `true`
//!   when a registry change may have been committed since the previous call (PostgreSQL:
//!   `LISTEN tocsin_registry`, with `NOTIFY` sent by the writing transaction; notifications that
//!   arrived between calls count), `false` on timeout. SQLite polls the head. Spurious `true` is
//!   allowed; callers still sync on every scheduler pass, so a missed wake-up only delays.
//!   It must not block other calls on the same store while it waits.

use crate::Result;
use tocsin_core::{EntityId, Timestamp};

/// The role whose holder runs the scheduler (release, posture check-ins, SLA checks).
pub const SCHEDULER_ROLE: &str = "scheduler";

/// Coordination between processes sharing one database. See the module documentation for the
/// contract every backend keeps.
pub trait Coordination {
    /// Take or keep leadership of `role` for `holder`; `true` while `holder` leads.
    fn try_lead(
        &self,
        role: &str,
        holder: &str,
        lease: chrono::Duration,
        now: Timestamp,
    ) -> Result<bool>;
    /// Give up leadership of `role` if `holder` has it.
    fn resign(&self, role: &str, holder: &str) -> Result<()>;
    /// Who leads `role` at `now` according to the store, if anyone (for status and tests).
    fn leader(&self, role: &str, now: Timestamp) -> Result<Option<String>>;

    /// The highest registry change sequence number committed (0 when none).
    fn registry_change_head(&self) -> Result<i64>;
    /// The registry changes after `seq`: the new high-water mark and the entity ids changed.
    fn registry_changes_since(&self, seq: i64) -> Result<(i64, Vec<EntityId>)>;
    /// Wait up to `timeout` for a registry change; `false` on timeout.
    fn wait_registry_change(&self, timeout: std::time::Duration) -> Result<bool>;
}

/// The kinds of registry change recorded in `registry_changes.change`.
pub mod change {
    pub const UPSERT: &str = "upsert";
    pub const DELETE: &str = "delete";
}
