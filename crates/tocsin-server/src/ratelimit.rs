//! Login rate limiting (docs/security.md): at most [`LoginLimits::max_failures`] failed logins per
//! username and per client address within [`LoginLimits::window`]; then `429 Too Many Requests`
//! with `Retry-After` until the oldest counted failure leaves the window.
//!
//! Attempts are kept in the store (so several servers share the count); this module only decides.
//! A successful login clears the username's count, not the client's: otherwise an attacker who owns
//! one account could reset their address's count between guesses at other accounts'.

use chrono::Duration;
use tocsin_core::Timestamp;
use tocsin_store::accounts::LoginAttempt;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoginLimits {
    pub max_failures: usize,
    pub window: Duration,
}

impl Default for LoginLimits {
    fn default() -> Self {
        Self {
            max_failures: 5,
            window: Duration::minutes(15),
        }
    }
}

/// Which count was exceeded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LimitedBy {
    Username,
    Client,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Allowed,
    /// Refuse without checking the password; try again after `retry_after_secs` (≥ 1).
    Limited {
        by: LimitedBy,
        retry_after_secs: i64,
    },
}

/// Decide from the attempts of the last window (any order) whether a login may be tried now.
pub fn decide(
    attempts: &[LoginAttempt],
    username: &str,
    client: &str,
    now: Timestamp,
    limits: &LoginLimits,
) -> Verdict {
    let since = now - limits.window;
    // Attempts stamped after `now` count too: a concurrent login that read the clock a moment
    // later has already been counted, and must not be missed (that would let parallel guesses
    // through).
    let mut recent: Vec<&LoginAttempt> = attempts.iter().filter(|a| a.at > since).collect();
    recent.sort_by_key(|a| a.at);
    let last_user_success = recent
        .iter()
        .filter(|a| a.success && a.username == username)
        .map(|a| a.at)
        .max();
    let by_user: Vec<Timestamp> = recent
        .iter()
        .filter(|a| {
            !a.success && a.username == username && last_user_success.is_none_or(|s| a.at > s)
        })
        .map(|a| a.at)
        .collect();
    let by_client: Vec<Timestamp> = recent
        .iter()
        .filter(|a| !a.success && a.client == client)
        .map(|a| a.at)
        .collect();
    let over = |fails: &[Timestamp]| -> Option<i64> {
        if fails.len() < limits.max_failures || limits.max_failures == 0 {
            return None;
        }
        // Once this failure leaves the window, fewer than `max_failures` remain.
        let freeing = fails[fails.len() - limits.max_failures];
        let secs = (freeing + limits.window - now).num_milliseconds();
        Some(((secs + 999) / 1000).max(1))
    };
    match (over(&by_user), over(&by_client)) {
        (None, None) => Verdict::Allowed,
        (Some(u), Some(c)) if c > u => Verdict::Limited {
            by: LimitedBy::Client,
            retry_after_secs: c,
        },
        (Some(u), _) => Verdict::Limited {
            by: LimitedBy::Username,
            retry_after_secs: u,
        },
        (None, Some(c)) => Verdict::Limited {
            by: LimitedBy::Client,
            retry_after_secs: c,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t(min: i64) -> Timestamp {
        chrono::Utc.with_ymd_and_hms(2026, 1, 1, 12, 0, 0).unwrap() + Duration::minutes(min)
    }

    fn att(user: &str, client: &str, min: i64, success: bool) -> LoginAttempt {
        LoginAttempt {
            username: user.into(),
            client: client.into(),
            at: t(min),
            success,
        }
    }

    #[test]
    fn five_failures_lock_the_username_until_the_oldest_leaves_the_window() {
        let l = LoginLimits::default();
        let a: Vec<_> = (0..5)
            .map(|i| att("ana", &format!("10.0.0.{i}"), i, false))
            .collect();
        assert_eq!(decide(&a[..4], "ana", "x", t(5), &l), Verdict::Allowed);
        // The 1st failure (minute 0) leaves the window at minute 15: 10 minutes from minute 5.
        assert_eq!(
            decide(&a, "ana", "x", t(5), &l),
            Verdict::Limited {
                by: LimitedBy::Username,
                retry_after_secs: 600
            }
        );
        assert_eq!(decide(&a, "ana", "x", t(15), &l), Verdict::Allowed);
        // Another username from another address is not affected.
        assert_eq!(decide(&a, "bob", "y", t(5), &l), Verdict::Allowed);
        // Attempts stamped a moment after this one's clock (a concurrent login) still count.
        assert!(matches!(
            decide(&a, "ana", "x", t(0) - Duration::seconds(1), &l),
            Verdict::Limited { .. }
        ));
    }

    #[test]
    fn a_client_spraying_usernames_is_limited() {
        let l = LoginLimits::default();
        let a: Vec<_> = (0..5)
            .map(|i| att(&format!("u{i}"), "10.0.0.9", i, false))
            .collect();
        assert_eq!(
            decide(&a, "fresh", "10.0.0.9", t(6), &l),
            Verdict::Limited {
                by: LimitedBy::Client,
                retry_after_secs: 540
            }
        );
        assert_eq!(decide(&a, "fresh", "10.0.0.8", t(6), &l), Verdict::Allowed);
    }

    #[test]
    fn success_clears_the_username_but_not_the_client() {
        let l = LoginLimits::default();
        let mut a: Vec<_> = (0..4).map(|i| att("ana", "c", i, false)).collect();
        a.push(att("ana", "c", 4, true));
        a.push(att("ana", "c", 5, false));
        assert_eq!(decide(&a, "ana", "other", t(6), &l), Verdict::Allowed);
        assert!(matches!(
            decide(&a, "ana", "c", t(6), &l),
            Verdict::Limited {
                by: LimitedBy::Client,
                ..
            }
        ));
    }
}
