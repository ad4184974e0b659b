//! Follow-through records beyond acknowledgements: recipients' feedback and the analysts' queue.

use crate::ids::{ThreatId, WarningId};
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum FeedbackKind {
    /// "Too general — need more": the recipient cannot act on what it was told.
    TooGeneral,
    /// The warning was useful as it was.
    Useful,
    /// Anything else, in the free text.
    Other,
}

/// What a recipient said about a warning.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Feedback {
    pub warning_id: WarningId,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub at: Timestamp,
    pub by: String,
    pub kind: FeedbackKind,
    #[serde(default)]
    pub text: String,
}

/// Why an item sits in the analysts' queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum TaskKind {
    /// A recipient missed two posture check-ins.
    PostureEscalation,
    /// A recipient asked for more detail.
    FeedbackFollowUp,
    /// Warnings were not delivered within the determination's deadline.
    SlaBreach,
    /// New information arrived: the determination must be made again.
    Redetermine,
    /// A threat was stored without any area Tocsin could resolve: an analyst must give one.
    NeedsArea,
    /// A recipient missed two posture check-ins and has an escalation contact: a person must
    /// telephone it (the detail names the number). Tocsin itself calls no one.
    CallContact,
    /// An analyst asked the originator for a tearline or a REL TO so that an audience's warning
    /// can name what the threat names (the detail says which marks withhold which facts).
    ReleaseRequest,
}

impl TaskKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            TaskKind::PostureEscalation => "posture_escalation",
            TaskKind::FeedbackFollowUp => "feedback_follow_up",
            TaskKind::SlaBreach => "sla_breach",
            TaskKind::Redetermine => "redetermine",
            TaskKind::NeedsArea => "needs_area",
            TaskKind::CallContact => "call_contact",
            TaskKind::ReleaseRequest => "release_request",
        }
    }
}

/// How an analyst closed a task.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "resolution", rename_all = "snake_case")]
pub enum Resolution {
    /// More specific detail was released in a new warning version.
    ReleasedMore { warning_id: WarningId },
    /// Recorded why no more can be said (e.g. it would expose a source).
    Declined { reason: String },
    /// Handled outside Tocsin (a call to the escalation contact, say).
    Done { note: String },
}

/// One item in the analysts' queue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Task {
    pub id: i64,
    pub kind: TaskKind,
    pub threat_id: ThreatId,
    #[serde(default)]
    pub warning_id: Option<WarningId>,
    pub detail: String,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub opened_at: Timestamp,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub closed_at: Option<Timestamp>,
    #[serde(default)]
    pub closed_by: Option<String>,
    #[serde(default)]
    pub resolution: Option<Resolution>,
}

impl Task {
    pub fn is_open(&self) -> bool {
        self.closed_at.is_none()
    }
}
