//! `GET /api/v1/posture`: the scheduler's own posture tracks (`Store::posture_tracks`, the clocks
//! `Engine::check_posture` reminds and escalates from) joined with their warnings and audiences,
//! so the console's posture board shows what the scheduler will act on rather than a guess
//! rebuilt from the timeline.

use super::Reply;
use crate::auth::Principal;
use crate::problem::Problem;
use crate::AppState;
use axum::extract::State;
use axum::Extension;
use serde::Serialize;
use std::collections::HashMap;
use tocsin_core::posture::PostureTrack;
use tocsin_core::tracking::Warning;
use tocsin_core::{AudienceKind, Timestamp};
use tocsin_store::Store;
use utoipa::ToSchema;

/// Where one recipient's posture stands, worst last.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PostureState {
    /// Confirmed (or delivered) within the check-in interval.
    OnGuard,
    /// The check-in is overdue and the scheduler has not acted on it yet.
    Lapsed,
    /// A reminder went out for the current lapse.
    Reminded,
    /// A second check-in was missed: escalated to the contact and the analysts.
    Escalated,
    /// The threat window ended or the warning is expired, superseded (cancelled) or closed.
    Closed,
}

/// One tracked (warning, audience).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PostureItem {
    pub warning_id: String,
    pub threat_id: String,
    pub audience_id: String,
    /// The audience's name (`null` when it was deleted from the registry).
    pub audience_name: Option<String>,
    pub audience_kind: AudienceKind,
    /// The warning's lifecycle state (`delivered`, `acknowledged`, `posture_confirmed`…).
    pub warning_state: String,
    pub state: PostureState,
    /// The last posture confirmation, or the delivery before any: the check-in clock starts here.
    #[schema(value_type = String, format = DateTime)]
    pub last_check_in: Timestamp,
    /// When the scheduler next acts (the reminder, then the escalation); `null` when nothing more
    /// can fall due (escalated, closed, or past the window).
    #[schema(value_type = Option<String>, format = DateTime)]
    pub next_due: Option<Timestamp>,
    /// The check-in interval has passed without a confirmation while the window is open.
    pub overdue: bool,
    pub interval_hours: i64,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub reminded_at: Option<Timestamp>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub escalated_at: Option<Timestamp>,
    /// End of the threat window: no check-ins are due after it.
    #[schema(value_type = String, format = DateTime)]
    pub window_until: Timestamp,
}

#[derive(Debug, Default, Clone, Serialize, ToSchema)]
pub struct PostureCounts {
    pub on_guard: usize,
    pub lapsed: usize,
    pub reminded: usize,
    pub escalated: usize,
    pub closed: usize,
    pub overdue: usize,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PostureBoard {
    /// The server's "now" the states were judged at (a replayed case runs in the past).
    #[schema(value_type = String, format = DateTime)]
    pub at: Timestamp,
    pub count: usize,
    pub counts: PostureCounts,
    /// Worst first (escalated, reminded, lapsed, on guard, closed), then by audience.
    pub items: Vec<PostureItem>,
}

/// The state of `track` for `w` at `now`.
pub fn state_of(w: &Warning, track: &PostureTrack, now: Timestamp) -> PostureState {
    if w.state.is_terminal() || now >= track.window_until {
        PostureState::Closed
    } else if track.escalated_at.is_some() {
        PostureState::Escalated
    } else if track.reminded_at.is_some() {
        PostureState::Reminded
    } else if track.is_lapsed(now) {
        PostureState::Lapsed
    } else {
        PostureState::OnGuard
    }
}

/// The board at `now`, from the store.
pub fn board(store: &dyn Store, now: Timestamp) -> Result<PostureBoard, Problem> {
    let warnings: HashMap<String, Warning> = store
        .warnings(None)?
        .into_iter()
        .map(|w| (w.id.to_string(), w))
        .collect();
    let mut names: HashMap<String, Option<String>> = HashMap::new();
    let mut items = Vec::new();
    let mut counts = PostureCounts::default();
    for (wid, track) in store.posture_tracks()? {
        // A track outlives nothing: a warning is never deleted, but skip rather than fail if one is.
        let Some(w) = warnings.get(wid.as_str()) else {
            continue;
        };
        let state = state_of(w, &track, now);
        let closed = state == PostureState::Closed;
        let overdue = !closed && track.is_lapsed(now);
        let aid = w.audience_id.to_string();
        if !names.contains_key(&aid) {
            let name = store.audience(&w.audience_id)?.map(|a| a.name);
            names.insert(aid.clone(), name);
        }
        match state {
            PostureState::OnGuard => counts.on_guard += 1,
            PostureState::Lapsed => counts.lapsed += 1,
            PostureState::Reminded => counts.reminded += 1,
            PostureState::Escalated => counts.escalated += 1,
            PostureState::Closed => counts.closed += 1,
        }
        counts.overdue += usize::from(overdue);
        items.push(PostureItem {
            warning_id: w.id.to_string(),
            threat_id: w.threat_id.to_string(),
            audience_name: names.get(&aid).cloned().flatten(),
            audience_id: aid,
            audience_kind: w.audience_kind,
            warning_state: w.state.to_string(),
            state,
            last_check_in: track.last_confirmed_at,
            next_due: if closed { None } else { track.next_due() },
            overdue,
            interval_hours: track.interval_hours,
            reminded_at: track.reminded_at,
            escalated_at: track.escalated_at,
            window_until: track.window_until,
        });
    }
    let rank = |s: PostureState| match s {
        PostureState::Escalated => 0,
        PostureState::Reminded => 1,
        PostureState::Lapsed => 2,
        PostureState::OnGuard => 3,
        PostureState::Closed => 4,
    };
    items.sort_by(|a, b| {
        rank(a.state)
            .cmp(&rank(b.state))
            .then_with(|| a.audience_id.cmp(&b.audience_id))
            .then_with(|| a.warning_id.cmp(&b.warning_id))
    });
    Ok(PostureBoard {
        at: now,
        count: items.len(),
        counts,
        items,
    })
}

#[utoipa::path(get, path = "/api/v1/posture", tag = "warnings",
    responses((status = 200, description = "Every tracked recipient's posture, from the scheduler's own check-in clocks", body = PostureBoard)))]
pub async fn posture(
    State(st): State<AppState>,
    Extension(p): Extension<Principal>,
) -> Result<Reply<PostureBoard>, Problem> {
    let now = st.now();
    st.read(p, move |store| board(store, now)).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};

    fn t(d: u32, h: u32) -> Timestamp {
        Utc.with_ymd_and_hms(2024, 3, d, h, 0, 0).unwrap()
    }

    fn warning(state: tocsin_core::lifecycle::WarningState) -> Warning {
        let v = serde_json::json!({
            "id": "w1", "threat_id": "t1", "audience_id": "a1", "audience_kind": "operator", "version": 1,
            "tlp": "AMBER", "banner": "UNCLASSIFIED", "specificity": "named_target", "headline": "h", "text": "x",
            "measures": [], "valid": {"from": "2024-03-07T00:00:00Z", "until": "2024-03-31T00:00:00Z"},
            "state": state, "created_at": "2024-03-07T00:00:00Z"
        });
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn states_follow_the_track_and_the_warning() {
        use tocsin_core::lifecycle::WarningState as S;
        let w = warning(S::Delivered);
        let mut track = PostureTrack::new(t(9, 10), 24, t(20, 0));
        assert_eq!(state_of(&w, &track, t(9, 12)), PostureState::OnGuard);
        assert_eq!(
            state_of(&w, &track, t(10, 10)),
            PostureState::Lapsed,
            "due, scheduler not yet run"
        );
        track.reminded_at = Some(t(10, 10));
        assert_eq!(state_of(&w, &track, t(10, 11)), PostureState::Reminded);
        track.escalated_at = Some(t(11, 10));
        assert_eq!(state_of(&w, &track, t(11, 11)), PostureState::Escalated);
        assert_eq!(
            state_of(&w, &track, t(20, 0)),
            PostureState::Closed,
            "window over"
        );
        track.confirm(t(12, 0));
        assert_eq!(state_of(&w, &track, t(12, 1)), PostureState::OnGuard);
        assert_eq!(
            state_of(&warning(S::Superseded), &track, t(12, 1)),
            PostureState::Closed,
            "cancelled"
        );
    }
}
