//! The result of matching a threat against the registry.

use crate::ids::{EntityId, ThreatId};
use serde::{Deserialize, Serialize};

/// Why an entity matched one descriptor of a target spec.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MatchReason {
    /// `name`, `category`, `size`, `area`, `time`, `network`, `sector`.
    pub descriptor: String,
    /// What matched what, with distance or edit cost: "name 'Crocus City Hall' = alias 'Crocus'".
    pub detail: String,
}

/// One entity that fits one target spec of a threat.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Match {
    pub threat_id: ThreatId,
    pub entity_id: EntityId,
    /// Index into `Threat::targets` of the spec that matched.
    pub target: usize,
    /// In (0, 1]; exact names beat fuzzy ones, nearer beats farther.
    pub score: f64,
    pub reasons: Vec<MatchReason>,
}
