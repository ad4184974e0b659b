//! Sustained posture: while a threat window is open, recipients confirm every N hours that their
//! protective measures still stand. A missed check-in yields a reminder; a second miss escalates.
//! This is the rule whose absence let the March 2024 posture lapse unnoticed.

use crate::time::Timestamp;
use chrono::Duration;
use serde::{Deserialize, Serialize};

/// What the tracker knows about one warning's posture.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PostureTrack {
    pub interval_hours: i64,
    /// Last confirmation (or delivery, before any) — the check-in clock starts here.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub last_confirmed_at: Timestamp,
    /// Reminder sent for the current lapse, if any.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub reminded_at: Option<Timestamp>,
    /// Escalation made for the current lapse, if any.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub escalated_at: Option<Timestamp>,
    /// End of the threat window: no check-ins are due after it.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub window_until: Timestamp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum PostureAction {
    /// The first check-in was missed: remind the recipient. `due` is when it became due.
    Remind { due: Timestamp },
    /// The second check-in was missed too: escalate to the escalation contact and the analysts.
    Escalate { due: Timestamp },
}

impl PostureTrack {
    pub fn new(start: Timestamp, interval_hours: i64, window_until: Timestamp) -> Self {
        Self {
            interval_hours: interval_hours.max(1),
            last_confirmed_at: start,
            reminded_at: None,
            escalated_at: None,
            window_until,
        }
    }

    fn interval(&self) -> Duration {
        Duration::hours(self.interval_hours)
    }

    /// When the next action falls due (for schedulers), or `None` if nothing more can fall due.
    pub fn next_due(&self) -> Option<Timestamp> {
        let due = if self.reminded_at.is_none() {
            self.last_confirmed_at + self.interval()
        } else if self.escalated_at.is_none() {
            self.last_confirmed_at + self.interval() * 2
        } else {
            return None;
        };
        (due < self.window_until).then_some(due)
    }

    /// The action due at `now`, if any. Applying it is the caller's job (then call `record`).
    pub fn due(&self, now: Timestamp) -> Option<PostureAction> {
        let due = self.next_due()?;
        if now < due {
            return None;
        }
        Some(if self.reminded_at.is_none() {
            PostureAction::Remind { due }
        } else {
            PostureAction::Escalate { due }
        })
    }

    pub fn record(&mut self, action: PostureAction, at: Timestamp) {
        match action {
            PostureAction::Remind { .. } => self.reminded_at = Some(at),
            PostureAction::Escalate { .. } => self.escalated_at = Some(at),
        }
    }

    /// A posture report resets the clock and ends any lapse.
    pub fn confirm(&mut self, at: Timestamp) {
        self.last_confirmed_at = at;
        self.reminded_at = None;
        self.escalated_at = None;
    }

    pub fn is_lapsed(&self, now: Timestamp) -> bool {
        now < self.window_until && now >= self.last_confirmed_at + self.interval()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};

    fn t(d: u32, h: u32) -> Timestamp {
        Utc.with_ymd_and_hms(2024, 3, d, h, 0, 0).unwrap()
    }

    #[test]
    fn lapse_reminds_then_escalates_once() {
        let mut p = PostureTrack::new(t(9, 10), 24, t(31, 0));
        assert_eq!(p.due(t(10, 9)), None);
        let a = p.due(t(10, 10)).unwrap();
        assert_eq!(a, PostureAction::Remind { due: t(10, 10) });
        p.record(a, t(10, 10));
        assert_eq!(
            p.due(t(10, 12)),
            None,
            "no second reminder for the same lapse"
        );
        let b = p.due(t(11, 10)).unwrap();
        assert_eq!(b, PostureAction::Escalate { due: t(11, 10) });
        p.record(b, t(11, 10));
        assert_eq!(p.due(t(20, 0)), None, "one escalation per lapse");
        assert!(p.is_lapsed(t(20, 0)));
    }

    #[test]
    fn confirmation_resets_and_window_end_stops() {
        let mut p = PostureTrack::new(t(9, 10), 24, t(10, 5));
        assert_eq!(
            p.due(t(10, 10)),
            None,
            "window closed before the check-in fell due"
        );
        p.window_until = t(31, 0);
        p.record(p.due(t(10, 10)).unwrap(), t(10, 10));
        p.confirm(t(10, 12));
        assert!(!p.is_lapsed(t(10, 13)));
        assert_eq!(
            p.due(t(11, 12)),
            Some(PostureAction::Remind { due: t(11, 12) })
        );
    }
}
