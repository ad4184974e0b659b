//! Time: timestamps are always UTC and always passed in (no system clock in the core).

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use thiserror::Error;

pub type Timestamp = DateTime<Utc>;

/// The default window of an "imminent" threat (docs/domain.md, "Vocabulary"): 48 hours.
pub const IMMINENT_HOURS: i64 = 48;

/// A closed-open time interval `[from, until)` during which a threat (or an event) is live.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ThreatWindow {
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub from: Timestamp,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub until: Timestamp,
}

#[derive(Debug, Error, PartialEq, Eq)]
#[error("time window is empty or reversed: from {from} is not before until {until}")]
pub struct WindowError {
    pub from: Timestamp,
    pub until: Timestamp,
}

impl ThreatWindow {
    /// Parse rather than validate: a `ThreatWindow` always has `from < until`.
    pub fn new(from: Timestamp, until: Timestamp) -> Result<Self, WindowError> {
        if from < until {
            Ok(Self { from, until })
        } else {
            Err(WindowError { from, until })
        }
    }

    /// "Imminent": from `start` for the configured number of hours.
    pub fn imminent(start: Timestamp, hours: i64) -> Self {
        Self {
            from: start,
            until: start + Duration::hours(hours.max(1)),
        }
    }

    pub fn contains(&self, t: Timestamp) -> bool {
        self.from <= t && t < self.until
    }

    pub fn intersects(&self, other: &ThreatWindow) -> bool {
        self.from < other.until && other.from < self.until
    }

    pub fn duration(&self) -> Duration {
        self.until - self.from
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t(d: u32, h: u32) -> Timestamp {
        Utc.with_ymd_and_hms(2024, 3, d, h, 0, 0).unwrap()
    }

    #[test]
    fn reversed_window_is_refused() {
        assert!(ThreatWindow::new(t(7, 0), t(6, 0)).is_err());
        assert!(ThreatWindow::new(t(6, 0), t(6, 0)).is_err());
    }

    #[test]
    fn intersection_is_half_open() {
        let a = ThreatWindow::new(t(6, 0), t(8, 0)).unwrap();
        let b = ThreatWindow::new(t(8, 0), t(9, 0)).unwrap();
        let c = ThreatWindow::new(t(7, 23), t(9, 0)).unwrap();
        assert!(!a.intersects(&b));
        assert!(a.intersects(&c));
        assert!(a.contains(t(6, 0)) && !a.contains(t(8, 0)));
    }

    #[test]
    fn imminent_is_48h_by_default() {
        let w = ThreatWindow::imminent(t(7, 0), IMMINENT_HOURS);
        assert_eq!(w.until, t(9, 0));
    }
}
