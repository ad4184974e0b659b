//! The warning lifecycle as an explicit state machine. Invalid transitions are refused, never
//! silently applied.

use serde::{Deserialize, Serialize};
use std::fmt;
use thiserror::Error;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum WarningState {
    Draft,
    Approved,
    Queued,
    Delivered,
    Acknowledged,
    /// The recipient has confirmed its protective posture (repeats while the window is open).
    PostureConfirmed,
    Expired,
    Superseded,
    /// The threat's outcome was recorded; nothing further happens to this warning.
    Closed,
}

impl WarningState {
    pub const ALL: [WarningState; 9] = [
        WarningState::Draft,
        WarningState::Approved,
        WarningState::Queued,
        WarningState::Delivered,
        WarningState::Acknowledged,
        WarningState::PostureConfirmed,
        WarningState::Expired,
        WarningState::Superseded,
        WarningState::Closed,
    ];

    pub fn as_str(&self) -> &'static str {
        match self {
            WarningState::Draft => "draft",
            WarningState::Approved => "approved",
            WarningState::Queued => "queued",
            WarningState::Delivered => "delivered",
            WarningState::Acknowledged => "acknowledged",
            WarningState::PostureConfirmed => "posture_confirmed",
            WarningState::Expired => "expired",
            WarningState::Superseded => "superseded",
            WarningState::Closed => "closed",
        }
    }

    pub fn is_terminal(&self) -> bool {
        matches!(
            self,
            WarningState::Expired | WarningState::Superseded | WarningState::Closed
        )
    }

    /// True once the recipient has the warning (posture is tracked from here on).
    pub fn is_received(&self) -> bool {
        matches!(
            self,
            WarningState::Delivered | WarningState::Acknowledged | WarningState::PostureConfirmed
        )
    }
}

impl fmt::Display for WarningState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum WarningEvent {
    Approve,
    Queue,
    Deliver,
    Acknowledge,
    ConfirmPosture,
    Expire,
    Supersede,
    RecordOutcome,
}

impl WarningEvent {
    pub const ALL: [WarningEvent; 8] = [
        WarningEvent::Approve,
        WarningEvent::Queue,
        WarningEvent::Deliver,
        WarningEvent::Acknowledge,
        WarningEvent::ConfirmPosture,
        WarningEvent::Expire,
        WarningEvent::Supersede,
        WarningEvent::RecordOutcome,
    ];
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("warning in state '{from}' cannot take event {event:?}")]
pub struct TransitionError {
    pub from: WarningState,
    pub event: WarningEvent,
}

/// The one place where the lifecycle is defined.
pub fn transition(
    from: WarningState,
    event: WarningEvent,
) -> Result<WarningState, TransitionError> {
    use WarningEvent as E;
    use WarningState as S;
    let to = match (from, event) {
        (S::Draft, E::Approve) => S::Approved,
        (S::Approved, E::Queue) => S::Queued,
        (S::Queued, E::Deliver) => S::Delivered,
        // A posture report implies receipt, so it may come before an explicit acknowledgement.
        (S::Delivered, E::Acknowledge) => S::Acknowledged,
        (S::Delivered | S::Acknowledged | S::PostureConfirmed, E::ConfirmPosture) => {
            S::PostureConfirmed
        }
        (S::Queued | S::Delivered | S::Acknowledged | S::PostureConfirmed, E::Expire) => S::Expired,
        (s, E::Supersede) if !s.is_terminal() => S::Superseded,
        (s, E::RecordOutcome) if !matches!(s, S::Superseded | S::Closed) => S::Closed,
        _ => return Err(TransitionError { from, event }),
    };
    Ok(to)
}

#[cfg(test)]
mod tests {
    use super::*;
    use WarningEvent as E;
    use WarningState as S;

    /// Every (state, event) pair: the allowed ones are listed, all others must be refused.
    #[test]
    fn every_transition_allowed_or_refused() {
        let allowed: &[(S, E, S)] = &[
            (S::Draft, E::Approve, S::Approved),
            (S::Approved, E::Queue, S::Queued),
            (S::Queued, E::Deliver, S::Delivered),
            (S::Delivered, E::Acknowledge, S::Acknowledged),
            (S::Delivered, E::ConfirmPosture, S::PostureConfirmed),
            (S::Acknowledged, E::ConfirmPosture, S::PostureConfirmed),
            (S::PostureConfirmed, E::ConfirmPosture, S::PostureConfirmed),
            (S::Queued, E::Expire, S::Expired),
            (S::Delivered, E::Expire, S::Expired),
            (S::Acknowledged, E::Expire, S::Expired),
            (S::PostureConfirmed, E::Expire, S::Expired),
            (S::Draft, E::Supersede, S::Superseded),
            (S::Approved, E::Supersede, S::Superseded),
            (S::Queued, E::Supersede, S::Superseded),
            (S::Delivered, E::Supersede, S::Superseded),
            (S::Acknowledged, E::Supersede, S::Superseded),
            (S::PostureConfirmed, E::Supersede, S::Superseded),
            (S::Draft, E::RecordOutcome, S::Closed),
            (S::Approved, E::RecordOutcome, S::Closed),
            (S::Queued, E::RecordOutcome, S::Closed),
            (S::Delivered, E::RecordOutcome, S::Closed),
            (S::Acknowledged, E::RecordOutcome, S::Closed),
            (S::PostureConfirmed, E::RecordOutcome, S::Closed),
            (S::Expired, E::RecordOutcome, S::Closed),
        ];
        for from in S::ALL {
            for ev in E::ALL {
                let expected = allowed
                    .iter()
                    .find(|(f, e, _)| *f == from && *e == ev)
                    .map(|t| t.2);
                match (transition(from, ev), expected) {
                    (Ok(to), Some(exp)) => assert_eq!(to, exp, "{from:?} --{ev:?}"),
                    (Err(err), None) => {
                        assert_eq!(err.from, from);
                        assert!(err.to_string().contains(from.as_str()));
                    }
                    (got, exp) => panic!("{from:?} --{ev:?}: got {got:?}, expected {exp:?}"),
                }
            }
        }
    }
}
