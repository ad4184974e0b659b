//! The effectiveness report: per period, how many warnings went out, how many were acknowledged,
//! whether recipients stayed on guard, what happened, and how long intake-to-delivery took.

use crate::posture::PostureTrack;
use crate::threat::Threat;
use crate::time::Timestamp;
use crate::tracking::{Acknowledgement, Delivery, DeliveryStatus, Outcome, OutcomeKind, Warning};
use crate::WarningId;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

/// Everything the report reads (already loaded from the store).
pub struct ReportInput<'a> {
    pub threats: &'a [Threat],
    pub warnings: &'a [Warning],
    pub deliveries: &'a [Delivery],
    pub acknowledgements: &'a [Acknowledgement],
    pub posture_tracks: &'a [(WarningId, PostureTrack)],
    pub outcomes: &'a [Outcome],
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Minutes {
    pub count: usize,
    pub median: Option<i64>,
    pub p90: Option<i64>,
    pub max: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EffectivenessReport {
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub from: Timestamp,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub until: Timestamp,
    /// Threats received in the period.
    pub threats: usize,
    /// Warnings with at least one delivery delivered in the period, by audience kind (feed
    /// notifications apart).
    pub warnings_sent: usize,
    pub warnings_sent_by_kind: BTreeMap<String, usize>,
    /// Of those, acknowledged by the recipient (at any time up to `until`).
    pub acknowledged: usize,
    /// Recipients asked to hold a posture (operators, partners, agencies).
    pub posture_tracked: usize,
    /// …who were on guard (not lapsed) at the end: the outcome, the window's close, or `until`.
    pub posture_kept: usize,
    pub posture_lapsed: usize,
    pub dead_deliveries: usize,
    /// Feed notifications (a CERT's reports to its constituency) delivered in the period; they
    /// count in nothing else here: they ask for no acknowledgement or posture.
    #[serde(default)]
    pub feed_notifications_sent: usize,
    pub outcomes: BTreeMap<String, usize>,
    /// From a threat's receipt to each warning's first delivery.
    pub intake_to_delivery_minutes: Minutes,
}

fn percentile(sorted: &[i64], p: f64) -> Option<i64> {
    if sorted.is_empty() {
        return None;
    }
    let idx = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted.get(idx).copied()
}

fn outcome_label(k: OutcomeKind) -> &'static str {
    match k {
        OutcomeKind::Disrupted => "disrupted",
        OutcomeKind::AttackOccurred => "attack_occurred",
        OutcomeKind::NoIncident => "no_incident",
        OutcomeKind::Unknown => "unknown",
    }
}

/// Compute the report for `[from, until)`.
pub fn report(input: &ReportInput<'_>, from: Timestamp, until: Timestamp) -> EffectivenessReport {
    let in_period = |t: Timestamp| from <= t && t < until;
    let threats: HashMap<&str, &Threat> =
        input.threats.iter().map(|t| (t.id.as_str(), t)).collect();
    let mut first_delivery: HashMap<&str, Timestamp> = HashMap::new();
    for d in input.deliveries {
        if let (DeliveryStatus::Delivered, Some(at)) = (d.status, d.delivered_at) {
            let e = first_delivery.entry(d.warning_id.as_str()).or_insert(at);
            *e = (*e).min(at);
        }
    }
    let (feed_sent, sent): (Vec<&Warning>, Vec<&Warning>) = input
        .warnings
        .iter()
        .filter(|w| {
            first_delivery
                .get(w.id.as_str())
                .is_some_and(|t| in_period(*t))
        })
        .partition(|w| w.is_feed_notification());
    let feed_threats: std::collections::HashSet<&str> = input
        .warnings
        .iter()
        .filter(|w| w.is_feed_notification())
        .map(|w| w.threat_id.as_str())
        .collect();
    let mut by_kind = BTreeMap::new();
    for w in &sent {
        *by_kind
            .entry(w.audience_kind.as_str().to_owned())
            .or_insert(0) += 1;
    }
    let acknowledged = sent
        .iter()
        .filter(|w| {
            input
                .acknowledgements
                .iter()
                .any(|a| a.warning_id == w.id && a.at < until)
        })
        .count();
    let mut minutes: Vec<i64> = sent
        .iter()
        .filter_map(|w| {
            let t = threats.get(w.threat_id.as_str())?;
            Some((first_delivery[w.id.as_str()] - t.received).num_minutes())
        })
        .collect();
    minutes.sort_unstable();
    let mut tracked = 0;
    let mut kept = 0;
    for (wid, track) in input.posture_tracks {
        let Some(w) = sent.iter().find(|w| &w.id == wid) else {
            continue;
        };
        tracked += 1;
        let outcome_at = input
            .outcomes
            .iter()
            .filter(|o| o.threat_id == w.threat_id)
            .map(|o| o.at)
            .min();
        let end = [Some(until), Some(track.window_until), outcome_at]
            .into_iter()
            .flatten()
            .min()
            .unwrap_or(until);
        // Judge just before the end: at the window's close nothing is due any more.
        let probe = end - chrono::Duration::seconds(1);
        if !track.is_lapsed(probe) {
            kept += 1;
        }
    }
    let mut outcomes = BTreeMap::new();
    for o in input.outcomes.iter().filter(|o| in_period(o.at)) {
        *outcomes
            .entry(outcome_label(o.kind).to_owned())
            .or_insert(0) += 1;
    }
    EffectivenessReport {
        from,
        until,
        threats: input
            .threats
            .iter()
            .filter(|t| in_period(t.received) && !feed_threats.contains(t.id.as_str()))
            .count(),
        warnings_sent: sent.len(),
        warnings_sent_by_kind: by_kind,
        acknowledged,
        posture_tracked: tracked,
        posture_kept: kept,
        posture_lapsed: tracked - kept,
        dead_deliveries: input
            .deliveries
            .iter()
            .filter(|d| d.status == DeliveryStatus::Dead)
            .count(),
        feed_notifications_sent: feed_sent.len(),
        outcomes,
        intake_to_delivery_minutes: Minutes {
            count: minutes.len(),
            median: percentile(&minutes, 0.5),
            p90: percentile(&minutes, 0.9),
            max: minutes.last().copied(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles() {
        assert_eq!(percentile(&[], 0.5), None);
        assert_eq!(percentile(&[5], 0.9), Some(5));
        assert_eq!(percentile(&[1, 2, 3, 4, 100], 0.5), Some(3));
        assert_eq!(percentile(&[1, 2, 3, 4, 100], 0.9), Some(100));
    }

    #[test]
    fn feed_notifications_are_counted_apart() {
        use crate::audience::{AudienceKind, ChannelKind, ChannelSpec};
        use crate::lifecycle::WarningState;
        use crate::marking::TlpLevel;
        use crate::time::ThreatWindow;
        use crate::tracking::Specificity;
        use crate::{AudienceId, ThreatId};
        let at = |h: i64| {
            chrono::DateTime::parse_from_rfc3339("2026-12-01T00:00:00Z")
                .unwrap()
                .with_timezone(&chrono::Utc)
                + chrono::Duration::hours(h)
        };
        let warning = |id: &str, audience: &str| Warning {
            id: WarningId::new(id),
            threat_id: ThreatId::new("t1"),
            audience_id: AudienceId::new(audience),
            audience_kind: AudienceKind::Operator,
            version: 1,
            supersedes: None,
            tlp: TlpLevel::Amber,
            banner: "TLP:AMBER".into(),
            specificity: Specificity::NamedTarget,
            headline: "h".into(),
            text: "t".into(),
            measures: vec![],
            valid: ThreatWindow::imminent(at(0), 24 * 7),
            state: WarningState::Delivered,
            created_at: at(0),
            language: "en".into(),
            translations: Vec::new(),
        };
        let delivery = |w: &str, id: i64| Delivery {
            id,
            warning_id: WarningId::new(w),
            audience_id: AudienceId::new("x"),
            channel: ChannelSpec {
                kind: ChannelKind::Email,
                address: "a@b.example".into(),
            },
            idempotency_key: format!("k{id}"),
            status: DeliveryStatus::Delivered,
            attempts: 1,
            next_attempt_at: at(1),
            last_error: None,
            delivered_at: Some(at(1)),
            notice: None,
        };
        let warnings = [
            warning("W-1", "venue-ops"),
            warning("W-FEED-1", "feed-org:klinik"),
            warning("W-FEED-2", "feed-org:isp"),
        ];
        let deliveries = [
            delivery("W-1", 1),
            delivery("W-FEED-1", 2),
            delivery("W-FEED-2", 3),
        ];
        // Even a (stale) posture track on a feed notification is not counted as lapsed.
        let tracks: Vec<(WarningId, PostureTrack)> = warnings
            .iter()
            .map(|w| (w.id.clone(), PostureTrack::new(at(1), 1, at(100))))
            .collect();
        let r = report(
            &ReportInput {
                threats: &[],
                warnings: &warnings,
                deliveries: &deliveries,
                acknowledgements: &[],
                posture_tracks: &tracks,
                outcomes: &[],
            },
            at(0),
            at(48),
        );
        assert_eq!(
            (
                r.warnings_sent,
                r.feed_notifications_sent,
                r.posture_tracked,
                r.posture_lapsed
            ),
            (1, 2, 1, 1)
        );
        assert_eq!(r.warnings_sent_by_kind["operator"], 1);
    }
}
