//! The result of matching a threat against the registry.

use crate::ids::{EntityId, ThreatId};
use serde::{Deserialize, Serialize};

/// Why an entity matched one descriptor of a target spec.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MatchReason {
    /// `name`, `category`, `size`, `area`, `time`, `network`, `sector`.
    pub descriptor: String,
    /// What matched what, with distance or edit cost: "name 'Crocus City Hall' = alias 'Crocus'".
    pub detail: String,
}

/// One entity that fits one target spec of a threat.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Match {
    pub threat_id: ThreatId,
    pub entity_id: EntityId,
    /// Index into `Threat::targets` of the spec that matched.
    pub target: usize,
    /// In (0, 1]; exact names beat fuzzy ones, nearer beats farther.
    pub score: f64,
    pub reasons: Vec<MatchReason>,
}

/// An analyst's verdict on one match: a confirmed target, or a false positive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ReviewDecision {
    Accept,
    Reject,
}

impl ReviewDecision {
    pub fn as_str(&self) -> &'static str {
        match self {
            ReviewDecision::Accept => "accept",
            ReviewDecision::Reject => "reject",
        }
    }
}

/// The latest review of one (threat, entity, target spec) match. A later review replaces it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MatchReview {
    pub threat_id: ThreatId,
    pub entity_id: EntityId,
    /// Index into `Threat::targets` of the spec the match is for.
    pub target: usize,
    pub decision: ReviewDecision,
    #[serde(default)]
    pub note: String,
    pub by: String,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub at: crate::Timestamp,
}
