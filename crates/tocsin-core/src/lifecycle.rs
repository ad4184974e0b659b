//! The warning lifecycle and the delivery lifecycle as explicit state machines. Invalid
//! transitions are refused, never silently applied.
//!
//! Architecture invariant: these are the only places a warning's state or a delivery's status is
//! chosen; stores and the engine ask [`transition`] / [`delivery_transition`] for the state an
//! event leads to.

use crate::tracking::DeliveryStatus;
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

/// The states from which `event` is allowed (for messages that say what was expected).
pub fn sources(event: WarningEvent) -> Vec<WarningState> {
    WarningState::ALL
        .into_iter()
        .filter(|s| transition(*s, event).is_ok())
        .collect()
}

/// What happens to a delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeliveryEvent {
    /// An attempt succeeded.
    Deliver,
    /// An attempt failed: `retry` later, or give up (the dead letters).
    Fail { retry: bool },
    /// The receiver unsubscribed (HTTP 410), or the delivery's warning was withdrawn: no attempt
    /// is made any more.
    Stop,
    /// An analyst gives a dead delivery a fresh set of attempts.
    Retry,
}

impl DeliveryEvent {
    pub const ALL: [DeliveryEvent; 5] = [
        DeliveryEvent::Deliver,
        DeliveryEvent::Fail { retry: true },
        DeliveryEvent::Fail { retry: false },
        DeliveryEvent::Stop,
        DeliveryEvent::Retry,
    ];
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("delivery in status '{}' cannot take event {event:?}", from.as_str())]
pub struct DeliveryTransitionError {
    pub from: DeliveryStatus,
    pub event: DeliveryEvent,
}

/// The status a new delivery is written in: pending, or dead at once when its channel had
/// unsubscribed (so the analyst sees it among the dead letters).
pub fn delivery_created(channel_disabled: bool) -> DeliveryStatus {
    if channel_disabled {
        DeliveryStatus::Dead
    } else {
        DeliveryStatus::Pending
    }
}

/// The one place where the delivery lifecycle is defined. Only an open delivery (pending or
/// retrying) takes attempts or is stopped; only a dead one is retried; a delivered one is final.
pub fn delivery_transition(
    from: DeliveryStatus,
    event: DeliveryEvent,
) -> Result<DeliveryStatus, DeliveryTransitionError> {
    use DeliveryEvent as E;
    use DeliveryStatus as S;
    let open = matches!(from, S::Pending | S::Retrying);
    let to = match event {
        E::Deliver if open => S::Delivered,
        E::Fail { retry: true } if open => S::Retrying,
        E::Fail { retry: false } | E::Stop if open => S::Dead,
        E::Retry if from == S::Dead => S::Pending,
        _ => return Err(DeliveryTransitionError { from, event }),
    };
    Ok(to)
}

/// The statuses from which `event` is allowed (for messages, and for the `status IN (…)` of
/// statements that apply an event to many deliveries at once).
pub fn delivery_sources(event: DeliveryEvent) -> Vec<DeliveryStatus> {
    [
        DeliveryStatus::Pending,
        DeliveryStatus::Retrying,
        DeliveryStatus::Delivered,
        DeliveryStatus::Dead,
    ]
    .into_iter()
    .filter(|s| delivery_transition(*s, event).is_ok())
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use WarningEvent as E;
    use WarningState as S;

    #[test]
    fn sources_list_the_states_an_event_may_leave() {
        assert_eq!(sources(E::Queue), vec![S::Approved]);
        assert_eq!(sources(E::Approve), vec![S::Draft]);
        assert!(!sources(E::RecordOutcome).contains(&S::Closed));
    }

    /// Every (status, event) pair of a delivery: the allowed ones are listed, all others refused.
    #[test]
    fn every_delivery_transition_allowed_or_refused() {
        use DeliveryEvent as DE;
        use DeliveryStatus as DS;
        let allowed: &[(DS, DE, DS)] = &[
            (DS::Pending, DE::Deliver, DS::Delivered),
            (DS::Retrying, DE::Deliver, DS::Delivered),
            (DS::Pending, DE::Fail { retry: true }, DS::Retrying),
            (DS::Retrying, DE::Fail { retry: true }, DS::Retrying),
            (DS::Pending, DE::Fail { retry: false }, DS::Dead),
            (DS::Retrying, DE::Fail { retry: false }, DS::Dead),
            (DS::Pending, DE::Stop, DS::Dead),
            (DS::Retrying, DE::Stop, DS::Dead),
            (DS::Dead, DE::Retry, DS::Pending),
        ];
        for from in [DS::Pending, DS::Retrying, DS::Delivered, DS::Dead] {
            for ev in DE::ALL {
                let expected = allowed
                    .iter()
                    .find(|(f, e, _)| *f == from && *e == ev)
                    .map(|t| t.2);
                match (delivery_transition(from, ev), expected) {
                    (Ok(to), Some(exp)) => assert_eq!(to, exp, "{from:?} --{ev:?}"),
                    (Err(err), None) => {
                        assert_eq!(err.from, from);
                        assert!(err.to_string().contains(from.as_str()));
                    }
                    (got, exp) => panic!("{from:?} --{ev:?}: got {got:?}, expected {exp:?}"),
                }
            }
        }
        // A delivered delivery is final: nothing moves it again.
        for ev in DE::ALL {
            assert!(delivery_transition(DS::Delivered, ev).is_err(), "{ev:?}");
        }
        assert_eq!(
            delivery_sources(DE::Deliver),
            vec![DS::Pending, DS::Retrying]
        );
        assert_eq!(delivery_sources(DE::Retry), vec![DS::Dead]);
        assert_eq!(delivery_created(false), DS::Pending);
        assert_eq!(delivery_created(true), DS::Dead);
    }

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
