//! CAP 1.2 alerts over HTTP: an Atom feed of current public alerts and each alert's CAP XML.
//!
//! - `GET /cap/feed.atom` — public alerts (released, not superseded), newest first, and for each
//!   released public warning that was cancelled, its CAP `msgType` Cancel message (identifier
//!   `{original}.cancel`, `references` naming every released version); no token: public alerts
//!   are public.
//! - `GET /cap/alerts/{identifier}.xml` — one alert. A public alert needs no token; a restricted
//!   (operator, partner) alert needs a staff token or a token bound to that alert's audience, and
//!   anything else is answered 404 so that the existence of restricted alerts does not leak.
//!
//! [`cap_alert`] builds the alert of a stored warning; `tocsin export cap` uses it too.

use crate::taxii::{credentials, released, sender_base_url};
use crate::{AppState, Problem};
use axum::extract::{Path, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use std::collections::BTreeSet;
use std::sync::OnceLock;
use tocsin_core::lifecycle::WarningState;
use tocsin_core::marking::releasable_to;
use tocsin_core::threat::Area;
use tocsin_core::tracking::Warning;
use tocsin_core::{AudienceKind, GeoPoint};
use tocsin_formats::cap::{alert_for_warning, write_alert, Alert, CapArea, CapInput};
use tocsin_match::{Gazetteer, PlaceShape};
use tocsin_store::{Store, StoreError};

/// Media type of a CAP document.
pub const CAP_XML: &str = "application/cap+xml; charset=utf-8";

/// The CAP `sender` when `TOCSIN_CAP_SENDER` is not set.
pub const DEFAULT_SENDER: &str = "tocsin@localhost";

/// Human name of the sender (`senderName`), `TOCSIN_CAP_SENDER_NAME` or this.
pub const DEFAULT_SENDER_NAME: &str = "Tocsin duty-to-warn service";

pub fn sender() -> String {
    std::env::var("TOCSIN_CAP_SENDER")
        .ok()
        .filter(|s| tocsin_formats::cap::is_cap_token(s))
        .unwrap_or_else(|| DEFAULT_SENDER.to_owned())
}

pub fn sender_name() -> String {
    std::env::var("TOCSIN_CAP_SENDER_NAME")
        .ok()
        .filter(|s| !s.trim().is_empty())
        .unwrap_or_else(|| DEFAULT_SENDER_NAME.to_owned())
}

/// The built-in gazetteer, parsed once.
pub fn gazetteer() -> &'static Gazetteer {
    static G: OnceLock<Gazetteer> = OnceLock::new();
    G.get_or_init(Gazetteer::builtin)
}

/// A named area's centre and radius (km) from the gazetteer (a polygon's farthest vertex).
pub fn resolve_named(name: &str) -> Option<(GeoPoint, f64)> {
    let p = gazetteer().resolve(name)?;
    Some(match &p.shape {
        PlaceShape::Circle { center, radius_km } => (*center, *radius_km),
        PlaceShape::Polygon { ring } => (
            p.center,
            ring.iter()
                .map(|q| p.center.distance_km(q))
                .fold(0.0, f64::max),
        ),
    })
}

fn closed(ring: &[GeoPoint]) -> Vec<GeoPoint> {
    let mut r = ring.to_vec();
    if let (Some(f), Some(l)) = (r.first().copied(), r.last().copied()) {
        if f != l {
            r.push(f);
        }
    }
    r
}

/// The areas an alert covers: the areas of target specs releasable to the audience (named areas
/// through the gazetteer); for an operator, also its own matched sites of specs without an area.
pub fn alert_areas(store: &dyn Store, w: &Warning) -> Result<Vec<CapArea>, StoreError> {
    let (Some(threat), Some(aud)) = (store.threat(&w.threat_id)?, store.audience(&w.audience_id)?)
    else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    let mut seen = BTreeSet::new();
    let matches = store.matches(&threat.id)?;
    for (i, spec) in threat.targets.iter().enumerate() {
        if releasable_to(&spec.mark, &aud, threat.originator).is_err() {
            continue;
        }
        match &spec.area {
            Some(area) => {
                let desc = area.describe();
                if !seen.insert(desc.clone()) {
                    continue;
                }
                let mut a = CapArea {
                    desc: desc.clone(),
                    ..Default::default()
                };
                match area {
                    Area::Circle { center, radius_km } => a.circles.push((*center, *radius_km)),
                    Area::Polygon { ring } if ring.len() >= 3 => a.polygons.push(closed(ring)),
                    Area::Polygon { .. } => {}
                    Area::Named { name } => match gazetteer().resolve(name).map(|p| &p.shape) {
                        Some(PlaceShape::Circle { center, radius_km }) => {
                            a.circles.push((*center, *radius_km))
                        }
                        Some(PlaceShape::Polygon { ring }) if ring.len() >= 3 => {
                            a.polygons.push(closed(ring))
                        }
                        _ => {}
                    },
                }
                out.push(a);
            }
            None if aud.kind == AudienceKind::Operator => {
                for m in matches.iter().filter(|m| m.target == i) {
                    let Some(e) = store.entity(&m.entity_id)? else {
                        continue;
                    };
                    if !e.audiences.contains(&aud.id) || !seen.insert(e.name.clone()) {
                        continue;
                    }
                    if let Some(loc) = e.location {
                        // The site itself, with a margin for car parks and approaches.
                        out.push(CapArea {
                            desc: e.name.clone(),
                            circles: vec![(loc, 0.5)],
                            ..Default::default()
                        });
                    }
                }
            }
            None => {}
        }
    }
    Ok(out)
}

/// The CAP alert of a stored warning (Update with references when it has earlier versions).
pub fn cap_alert(
    store: &dyn Store,
    w: &Warning,
    web: Option<String>,
) -> Result<Option<Alert>, StoreError> {
    let (Some(threat), Some(aud)) = (store.threat(&w.threat_id)?, store.audience(&w.audience_id)?)
    else {
        return Ok(None);
    };
    let earlier: Vec<Warning> = store
        .warnings(Some(&w.threat_id))?
        .into_iter()
        .filter(|e| e.audience_id == w.audience_id && e.version < w.version && released(e.state))
        .collect();
    let areas = alert_areas(store, w)?;
    let sender = sender();
    let name = sender_name();
    Ok(Some(alert_for_warning(&CapInput {
        warning: w,
        threat: &threat,
        audience: &aud,
        sender: &sender,
        sender_name: &name,
        earlier: &earlier,
        areas,
        cancel: false,
        web,
    })))
}

/// Suffix of a Cancel message's identifier: a CAP message never reuses the identifier of the
/// alert it withdraws.
pub const CANCEL_SUFFIX: &str = ".cancel";

/// Whether `w` itself went out (its deliveries were written when it was queued): only then do
/// recipients hold an alert a Cancel must withdraw.
fn was_released(store: &dyn Store, w: &Warning) -> Result<bool, StoreError> {
    Ok(store
        .deliveries(Some(&w.id))?
        .iter()
        .any(|d| d.notice.is_none()))
}

/// The CAP Cancel message of a cancelled, released warning: sent at the cancellation, referencing
/// this version and every earlier released one (`sender,identifier,sent` of each original).
/// `None` when the warning was not cancelled, never went out, or its threat or audience is gone.
pub fn cap_cancel_alert(
    store: &dyn Store,
    w: &Warning,
    web: Option<String>,
) -> Result<Option<Alert>, StoreError> {
    let Some(c) = store.cancellation(&w.id)? else {
        return Ok(None);
    };
    if !was_released(store, w)? {
        return Ok(None);
    }
    let (Some(threat), Some(aud)) = (store.threat(&w.threat_id)?, store.audience(&w.audience_id)?)
    else {
        return Ok(None);
    };
    let earlier: Vec<Warning> = store
        .warnings(Some(&w.threat_id))?
        .into_iter()
        .filter(|e| e.audience_id == w.audience_id && e.version < w.version && released(e.state))
        .collect();
    let areas = alert_areas(store, w)?;
    let sender = sender();
    let name = sender_name();
    let mut a = alert_for_warning(&CapInput {
        warning: w,
        threat: &threat,
        audience: &aud,
        sender: &sender,
        sender_name: &name,
        earlier: &earlier,
        areas,
        cancel: true,
        web,
    });
    a.identifier = format!("{}{CANCEL_SUFFIX}", a.identifier);
    a.sent = c.at;
    for i in &mut a.infos {
        i.effective = Some(c.at);
    }
    Ok(Some(a))
}

/// Audience kinds that get CAP alerts.
pub const CAP_AUDIENCES: &[AudienceKind] = &[AudienceKind::Public, AudienceKind::Operator];

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/cap/feed.atom", get(feed))
        .route("/cap/alerts/:file", get(alert))
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

async fn feed(State(state): State<AppState>, req: Request) -> Response {
    let base = sender_base_url(req.headers());
    let store = state.store.clone();
    let built = tokio::task::spawn_blocking(move || -> Result<String, StoreError> {
        let mut entries: Vec<(Warning, Alert)> = Vec::new();
        for w in store.warnings(None)? {
            if w.audience_kind == AudienceKind::Public && w.state == WarningState::Superseded {
                let web = format!("{base}/cap/alerts/{}{CANCEL_SUFFIX}.xml", tocsin_formats::cap::identifier(&w));
                if let Some(a) = cap_cancel_alert(store.as_ref(), &w, Some(web))? {
                    entries.push((w, a));
                }
                continue;
            }
            if w.audience_kind != AudienceKind::Public || !released(w.state) {
                continue;
            }
            let web = format!("{base}/cap/alerts/{}.xml", tocsin_formats::cap::identifier(&w));
            if let Some(a) = cap_alert(store.as_ref(), &w, Some(web))? {
                entries.push((w, a));
            }
        }
        entries.sort_by_key(|e| std::cmp::Reverse(e.1.sent));
        let updated = entries.first().map(|e| e.1.sent).unwrap_or(chrono::DateTime::<chrono::Utc>::UNIX_EPOCH);
        let mut x = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<feed xmlns=\"http://www.w3.org/2005/Atom\">\n");
        x.push_str("  <id>urn:tocsin:cap:feed</id>\n  <title>Tocsin public alerts (CAP 1.2)</title>\n");
        x.push_str(&format!("  <updated>{}</updated>\n", updated.to_rfc3339()));
        x.push_str(&format!("  <link rel=\"self\" type=\"application/atom+xml\" href=\"{}\"/>\n", xml_escape(&format!("{base}/cap/feed.atom"))));
        x.push_str(&format!("  <author><name>{}</name></author>\n", xml_escape(&sender_name())));
        for (w, a) in &entries {
            let href = format!("{base}/cap/alerts/{}.xml", a.identifier);
            let info = a.infos.first();
            x.push_str("  <entry>\n");
            x.push_str(&format!("    <id>urn:tocsin:cap:{}</id>\n", xml_escape(&a.identifier)));
            let cancelled = a.msg_type == tocsin_formats::cap::MsgType::Cancel;
            let title = if cancelled { format!("Cancelled: {}", w.headline) } else { w.headline.clone() };
            x.push_str(&format!("    <title>{}</title>\n", xml_escape(&title)));
            x.push_str(&format!("    <updated>{}</updated>\n", a.sent.to_rfc3339()));
            x.push_str(&format!("    <link rel=\"alternate\" type=\"application/cap+xml\" href=\"{}\"/>\n", xml_escape(&href)));
            if cancelled {
                let refs: Vec<&str> = a.references.iter().map(|r| r.identifier.as_str()).collect();
                x.push_str(&format!("    <summary>Cancel: withdraws {}</summary>\n", xml_escape(&refs.join(", "))));
            } else if let Some(i) = info {
                x.push_str(&format!(
                    "    <summary>{} (urgency {}, severity {}, certainty {}; expires {})</summary>\n",
                    xml_escape(&i.event),
                    i.urgency.as_str(),
                    i.severity.as_str(),
                    i.certainty.as_str(),
                    i.expires.map(|t| t.to_rfc3339()).unwrap_or_default()
                ));
            }
            x.push_str("  </entry>\n");
        }
        x.push_str("</feed>\n");
        Ok(x)
    })
    .await;
    match built {
        Ok(Ok(x)) => (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/atom+xml; charset=utf-8"),
            )],
            x,
        )
            .into_response(),
        Ok(Err(e)) => Problem::from(e).into_response(),
        Err(e) => Problem::internal(&e).into_response(),
    }
}

async fn alert(State(state): State<AppState>, Path(file): Path<String>, req: Request) -> Response {
    let Some(id) = file.strip_suffix(".xml").map(str::to_owned) else {
        return Problem::from_status(
            StatusCode::NOT_FOUND,
            "alerts are served as /cap/alerts/{identifier}.xml",
        )
        .into_response();
    };
    // `{original}.cancel.xml` is the Cancel message of the original's warning.
    let (id, cancel) = match id.strip_suffix(CANCEL_SUFFIX) {
        Some(orig) => (orig.to_owned(), true),
        None => (id, false),
    };
    let base = sender_base_url(req.headers());
    let creds = credentials(req.headers());
    // A token expires in real time (AppState::credential_clock).
    let cred_now = state.credential_now();
    let store = state.store.clone();
    let res = tokio::task::spawn_blocking(move || -> Result<Response, Problem> {
        let w = store.warnings(None)?.into_iter().find(|w| tocsin_formats::cap::identifier(w) == id && released(w.state) && CAP_AUDIENCES.contains(&w.audience_kind));
        let public = w.as_ref().is_some_and(|w| w.audience_kind == AudienceKind::Public);
        if !public {
            // Restricted alerts: a staff token, or one bound to the alert's audience.
            let who = match creds {
                Some(secret) => crate::taxii::resolve(store.as_ref(), &secret, cred_now)?,
                None => None,
            };
            let Some((principal, audience)) = who else {
                return Err(crate::taxii::unauthorized("restricted CAP alerts need a token (Bearer, or HTTP Basic with the token as password)"));
            };
            // Staff read a restricted alert only if cleared for its banner (docs/security.md).
            let cleared = match &w {
                Some(w) => crate::redact::may_read_warning(store.as_ref(), &principal, w)?,
                None => false,
            };
            let allowed = w.as_ref().is_some_and(|w| match &audience {
                Some(a) => *a == w.audience_id,
                None => principal.allows(crate::Role::Viewer) && cleared,
            });
            if !allowed {
                return Err(Problem::from_status(StatusCode::NOT_FOUND, format!("no CAP alert {id:?}")));
            }
        }
        let Some(w) = w else { return Err(Problem::from_status(StatusCode::NOT_FOUND, format!("no CAP alert {id:?}"))) };
        let built = if cancel {
            let web = Some(format!("{base}/cap/alerts/{}{CANCEL_SUFFIX}.xml", tocsin_formats::cap::identifier(&w)));
            cap_cancel_alert(store.as_ref(), &w, web)?
        } else {
            let web = Some(format!("{base}/cap/alerts/{}.xml", tocsin_formats::cap::identifier(&w)));
            cap_alert(store.as_ref(), &w, web)?
        };
        let Some(a) = built else {
            return Err(Problem::from_status(StatusCode::NOT_FOUND, format!("no CAP alert {id:?}")));
        };
        Ok(([(header::CONTENT_TYPE, HeaderValue::from_static(CAP_XML))], write_alert(&a)).into_response())
    })
    .await;
    match res {
        Ok(Ok(r)) => r,
        Ok(Err(p)) => p.into_response(),
        Err(e) => Problem::internal(&e).into_response(),
    }
}
