//! The leak gate's verdict on every warning the API returns: `leak_gate` is computed by the real
//! gate (`tocsin_core::compose::leak_gate`, through `tocsin_engine::leak_verdicts`) against the
//! threat's restricted terms and withheld portions as they are now, so a term added to the threat
//! after composing shows up as a failed verdict on the text already written. It is derived once
//! per store state (`crate::read_cache`): after the warning or one of its inputs changes, not on
//! every read.

use crate::problem::Problem;
use crate::read_cache::ReadCache;
use crate::AppState;
use serde::Serialize;
use tocsin_core::compose::LeakError;
use tocsin_core::tracking::Warning;
use tocsin_store::Store;
use utoipa::ToSchema;

/// `leak_gate` of a warning (the shape of `tocsin_engine::LeakVerdict`).
#[derive(Serialize, ToSchema)]
pub struct LeakGate {
    pub passed: bool,
    /// Restricted terms the gate looked for: the threat's own plus the server's global list.
    pub checked_terms: usize,
    /// Portions of the threat withheld from the warning's audience (checked verbatim and by n-gram).
    pub withheld_portions: usize,
    /// Fields checked: the headline, the text and each measure.
    pub checked_fields: usize,
    /// The first block when it did not pass: the rule, the field (`/text`, `/measures/1`) and the span.
    pub blocked: Option<LeakError>,
}

/// A warning as the read routes return it.
#[derive(Serialize, ToSchema)]
pub struct WarningRead {
    #[serde(flatten)]
    pub warning: Warning,
    /// The gate's verdict now; `null` only when the warning's threat or audience no longer exists.
    pub leak_gate: Option<LeakGate>,
}

#[derive(Serialize, ToSchema)]
pub struct WarningReadList {
    pub count: usize,
    pub items: Vec<WarningRead>,
}

/// The global restricted terms the gate checks besides each threat's own (the engine's list; none
/// when the server runs without the engine).
pub fn global_terms(st: &AppState) -> Vec<String> {
    st.engine
        .as_ref()
        .map(|e| e.config.global_restricted.clone())
        .unwrap_or_default()
}

impl From<tocsin_engine::LeakVerdict> for LeakGate {
    fn from(v: tocsin_engine::LeakVerdict) -> Self {
        Self {
            passed: v.passed,
            checked_terms: v.checked_terms,
            withheld_portions: v.withheld_portions,
            checked_fields: v.checked_fields,
            blocked: v.blocked,
        }
    }
}

/// `w` with its `leak_gate` verdict (`head`: the audit head read before `w` was).
pub fn warning_read(
    cache: &ReadCache,
    store: &dyn Store,
    head: i64,
    w: Warning,
    global: &[String],
) -> Result<WarningRead, Problem> {
    let mut reads = warning_reads(cache, store, head, vec![w], global)?;
    reads
        .pop()
        .ok_or_else(|| Problem::internal(&"the leak gate gave no verdict"))
}

/// Each of `ws` with its `leak_gate` verdict (`head`: the audit head read before `ws` were).
pub fn warning_reads(
    cache: &ReadCache,
    store: &dyn Store,
    head: i64,
    ws: Vec<Warning>,
    global: &[String],
) -> Result<Vec<WarningRead>, Problem> {
    let verdicts = cache.verdicts(store, head, &ws, global)?;
    Ok(ws
        .into_iter()
        .zip(verdicts)
        .map(|(warning, verdict)| WarningRead {
            warning,
            leak_gate: verdict.map(LeakGate::from),
        })
        .collect())
}
