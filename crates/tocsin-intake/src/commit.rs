//! From a reviewed proposal to a [`Threat`]: only accepted (or edited) items count, and nothing is
//! built while any item is still pending.
//!
//! * each accepted **target** → a spec naming it (`value`, the registry's name);
//! * each accepted **category** → one spec per accepted **area** (or one without an area when none
//!   was accepted) with the category's paths and minimum size; an area accepted with neither
//!   targets nor categories becomes a spec of its own;
//! * "in X" is the named place; "near X" a circle around it, its radius plus `near_margin_km`;
//! * the threat **window** spans the accepted windows (earliest start, latest end); with none,
//!   "imminent" from the text's date; `public_advice_hours` is the length of an accepted
//!   "next N hours" window, else the imminent default;
//! * the **actor** is the accepted actors' names (by confidence) joined with " / ";
//! * **harms** are the accepted harms' core values, deduplicated;
//! * accepted **indicators** form one spec with a network footprint (addresses and CIDR blocks as
//!   networks, domains and URL hosts as domains) and are listed in a portion of their own;
//! * every spec and portion is marked `(U)`: the source is open text. Portions are the paragraphs
//!   holding accepted items.

use crate::proposal::{Decision, Proposal, Relation};
use chrono::{NaiveDate, TimeZone, Utc};
use sha2::{Digest, Sha256};
use std::collections::BTreeSet;
use thiserror::Error;
use tocsin_core::entity::{DomainName, Footprint, IpNet};
use tocsin_core::{
    Area, CountryCode, Credibility, Harm, Portion, PortionMark, TargetSpec, Threat, ThreatId,
    ThreatWindow,
};
use tocsin_match::{Gazetteer, PlaceShape};

#[derive(Debug, Clone)]
pub struct CommitOptions {
    /// Threat id; default `text-` and the first 12 hex digits of the text's SHA-256.
    pub id: Option<String>,
    /// Title; default built from the actor and the targets.
    pub title: Option<String>,
    pub originator: CountryCode,
    pub credibility: Credibility,
    /// The text's date: `received` (00:00 UTC) and the anchor of the default window.
    pub date: NaiveDate,
    pub imminent_hours: i64,
    /// "near X": X's radius plus this many kilometres.
    pub near_margin_km: f64,
}

#[derive(Debug, Error, PartialEq)]
pub enum CommitError {
    #[error("cannot commit: {} item(s) still pending, accept, edit or reject each first: {}", .0.len(), .0.join(", "))]
    Pending(Vec<String>),
    #[error("item {id}: span [{start}, {end}] of the text reads {found:?}, the proposal says {expected:?}: the proposal was made from another text")]
    SpanMismatch {
        id: String,
        start: usize,
        end: usize,
        expected: String,
        found: String,
    },
    #[error("item {id}: {message}")]
    Invalid { id: String, message: String },
    #[error("nothing to target: no target, category or area is accepted")]
    NothingToTarget,
}

/// Default threat id for a text: `text-` + 12 hex digits of its SHA-256.
pub fn default_threat_id(text: &str) -> String {
    let d = Sha256::digest(text.as_bytes());
    format!("text-{}", &hex::encode(d)[..12])
}

fn midnight(d: NaiveDate) -> tocsin_core::Timestamp {
    Utc.from_utc_datetime(&d.and_hms_opt(0, 0, 0).unwrap_or_default())
}

/// The host of a URL: between `://` and the next `/`, `?`, `#` or port colon (IPv6 in brackets).
fn url_host(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let rest = rest.rsplit_once('@').map_or(rest, |(_, r)| r);
    if let Some(v6) = rest.strip_prefix('[') {
        return v6.split(']').next().unwrap_or(v6);
    }
    rest.split(['/', '?', '#', ':']).next().unwrap_or(rest)
}

/// Build the threat the accepted items describe. `text` is the text the proposal was made from:
/// every item's span must still read its `text`.
pub fn build_threat(
    p: &Proposal,
    text: &str,
    opts: &CommitOptions,
    gazetteer: &Gazetteer,
) -> Result<Threat, CommitError> {
    let pending = p.pending();
    if !pending.is_empty() {
        let named: Vec<String> = p
            .items()
            .into_iter()
            .filter(|i| i.decision == Decision::Pending)
            .map(|i| format!("{} ({:?})", i.id, i.value))
            .collect();
        return Err(CommitError::Pending(named));
    }
    for i in p.items() {
        let [s, e] = i.span;
        let found = text.get(s..e);
        if found != Some(i.text) {
            return Err(CommitError::SpanMismatch {
                id: i.id.to_owned(),
                start: s,
                end: e,
                expected: i.text.to_owned(),
                found: found
                    .unwrap_or("<outside the text or not on a character boundary>")
                    .to_owned(),
            });
        }
    }
    let u = PortionMark::unclassified;
    let invalid = |id: &str, m: String| CommitError::Invalid {
        id: id.to_owned(),
        message: m,
    };

    // Areas.
    let mut areas: Vec<(String, Area)> = Vec::new();
    for a in p.areas.iter().filter(|a| a.decision.is_accepted()) {
        let place = if a.detail.place.trim().is_empty() {
            a.value.as_str()
        } else {
            a.detail.place.as_str()
        };
        let Some(pl) = gazetteer
            .resolve(place)
            .or_else(|| gazetteer.resolve(&a.value))
        else {
            return Err(invalid(
                &a.id,
                format!("place {place:?} is not in the gazetteer"),
            ));
        };
        let area = match a.detail.relation {
            Relation::Near => {
                let r = match &pl.shape {
                    PlaceShape::Circle { radius_km, .. } => *radius_km,
                    PlaceShape::Polygon { ring } => ring
                        .iter()
                        .map(|q| pl.center.distance_km(q))
                        .fold(0.0, f64::max),
                };
                (
                    format!("near {}", pl.name),
                    Area::Circle {
                        center: pl.center,
                        radius_km: r + opts.near_margin_km,
                    },
                )
            }
            _ => (
                pl.name.clone(),
                Area::Named {
                    name: pl.name.clone(),
                },
            ),
        };
        if !areas.iter().any(|(l, _)| *l == area.0) {
            areas.push(area);
        }
    }

    let mut targets: Vec<TargetSpec> = Vec::new();
    for t in p.targets.iter().filter(|t| t.decision.is_accepted()) {
        if tocsin_match::normalize::normalize(&t.value).is_empty() {
            return Err(invalid(
                &t.id,
                format!("name {:?} has no letters or digits", t.value),
            ));
        }
        if targets
            .iter()
            .any(|s| s.name.as_deref() == Some(t.value.as_str()))
        {
            continue;
        }
        targets.push(TargetSpec {
            label: t.value.clone(),
            mark: u(),
            name: Some(t.value.clone()),
            categories: vec![],
            min_size: None,
            area: None,
            window: None,
            footprint: Footprint::default(),
        });
    }
    for c in p.categories.iter().filter(|c| c.decision.is_accepted()) {
        if c.detail.paths.is_empty() {
            return Err(invalid(&c.id, "no category paths".into()));
        }
        let with_area: Vec<(Option<&String>, Option<Area>)> = if areas.is_empty() {
            vec![(None, None)]
        } else {
            areas
                .iter()
                .map(|(l, a)| (Some(l), Some(a.clone())))
                .collect()
        };
        for (label, area) in with_area {
            let label = match label {
                Some(l) if l.starts_with("near ") => format!("{} {l}", c.value),
                Some(l) => format!("{} in {l}", c.value),
                None => c.value.clone(),
            };
            if targets.iter().any(|s| s.label == label) {
                continue;
            }
            targets.push(TargetSpec {
                label,
                mark: u(),
                name: None,
                categories: c.detail.paths.clone(),
                min_size: c.detail.min_size,
                area,
                window: None,
                footprint: Footprint::default(),
            });
        }
    }
    let mut footprint = Footprint::default();
    for i in p.indicators.iter().filter(|i| i.decision.is_accepted()) {
        let host = match i.detail.kind {
            crate::indicators::IndicatorKind::Url => url_host(&i.value).to_owned(),
            _ => i.value.clone(),
        };
        if let Ok(net) = IpNet::parse(&host) {
            if !footprint.networks.contains(&net) {
                footprint.networks.push(net);
            }
        } else if let Ok(d) = DomainName::parse(&host) {
            if !footprint.domains.contains(&d) {
                footprint.domains.push(d);
            }
        } else {
            return Err(invalid(
                &i.id,
                format!(
                    "{:?} is neither an IP address, a CIDR block nor a domain",
                    i.value
                ),
            ));
        }
    }
    if !footprint.is_empty() {
        targets.push(TargetSpec {
            label: "networks and domains named in the text".into(),
            mark: u(),
            name: None,
            categories: vec![],
            min_size: None,
            area: None,
            window: None,
            footprint,
        });
    }
    if targets.is_empty() {
        for (l, a) in &areas {
            targets.push(TargetSpec {
                label: format!("anything in {l}"),
                mark: u(),
                name: None,
                categories: vec![],
                min_size: None,
                area: Some(a.clone()),
                window: None,
                footprint: Footprint::default(),
            });
        }
    }
    if targets.is_empty() {
        return Err(CommitError::NothingToTarget);
    }

    // Window.
    let mut window: Option<ThreatWindow> = None;
    let (mut next_hours, mut imminent): (Option<i64>, Option<i64>) = (None, None);
    for w in p.windows.iter().filter(|w| w.decision.is_accepted()) {
        let ww = ThreatWindow::new(w.detail.from, w.detail.until)
            .map_err(|e| invalid(&w.id, e.to_string()))?;
        window = Some(match window {
            None => ww,
            Some(cur) => ThreatWindow {
                from: cur.from.min(ww.from),
                until: cur.until.max(ww.until),
            },
        });
        let h = ww.duration().num_hours();
        match w.detail.basis {
            crate::when::Basis::NextHours => next_hours = next_hours.or(Some(h)),
            crate::when::Basis::Imminent => imminent = imminent.or(Some(h)),
            _ => {}
        }
    }
    let received = midnight(opts.date);
    let window = window.unwrap_or_else(|| ThreatWindow::imminent(received, opts.imminent_hours));

    // Actor.
    let mut actors: Vec<&crate::proposal::Item<crate::proposal::ActorDetail>> = p
        .actors
        .iter()
        .filter(|a| a.decision.is_accepted())
        .collect();
    actors.sort_by(|a, b| b.confidence.total_cmp(&a.confidence));
    let mut names: Vec<&str> = Vec::new();
    for a in &actors {
        if !names.contains(&a.value.as_str()) {
            names.push(&a.value);
        }
    }
    let actor = (!names.is_empty()).then(|| names.join(" / "));

    let harms: Vec<Harm> = p
        .harms
        .iter()
        .filter(|h| h.decision.is_accepted())
        .map(|h| h.detail.harm)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();

    // Portions: the paragraphs holding accepted items, in text order.
    let mut spans: Vec<[usize; 2]> = p
        .items()
        .into_iter()
        .filter(|i| i.decision.is_accepted())
        .map(|i| i.span)
        .collect();
    spans.sort();
    let mut portions: Vec<Portion> = Vec::new();
    let mut line_start = 0usize;
    for (n, line) in text.split('\n').enumerate() {
        let line_end = line_start + line.len();
        if spans
            .iter()
            .any(|[s, _]| *s >= line_start && *s < line_end.max(line_start + 1))
            && !line.trim().is_empty()
        {
            portions.push(Portion {
                mark: u(),
                text: line.trim().to_owned(),
                tearline: false,
                lang: None,
                line: n + 1,
            });
        }
        line_start = line_end + 1;
    }
    let indicators: Vec<String> = p
        .indicators
        .iter()
        .filter(|i| i.decision.is_accepted())
        .map(|i| i.value.clone())
        .collect();
    if !indicators.is_empty() {
        portions.push(Portion {
            mark: u(),
            text: format!("Network indicators: {}", indicators.join(", ")),
            tearline: false,
            lang: None,
            line: 0,
        });
    }

    let title = opts.title.clone().unwrap_or_else(|| {
        let labels: Vec<&str> = targets.iter().map(|t| t.label.as_str()).collect();
        let mut t = format!(
            "{}: threat to {} (open source, {})",
            actor.as_deref().unwrap_or("Unknown actor"),
            labels.join("; "),
            opts.date
        );
        if t.chars().count() > 200 {
            t = t.chars().take(199).collect::<String>() + "…";
        }
        t
    });
    Ok(Threat {
        id: ThreatId::new(opts.id.clone().unwrap_or_else(|| default_threat_id(text))),
        title,
        originator: opts.originator,
        received,
        actor,
        actor_mark: u(),
        harms,
        credibility: opts.credibility,
        window,
        public_advice_hours: next_hours.or(imminent).unwrap_or(opts.imminent_hours),
        targets,
        portions,
        restricted_terms: vec![],
        tlp: None,
        measures: vec![],
    })
}
