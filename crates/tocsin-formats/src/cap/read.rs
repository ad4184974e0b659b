//! CAP 1.2 XML → [`Alert`] → [`Threat`]: an alert from another authority can open a threat.
//!
//! Tolerant of real-world feeds: elements are found by local name (any namespace prefix, or none),
//! times may use `Z`, fractions or no offset at all (read as UTC), optional elements may be missing,
//! `status`/`scope` default to Actual/Public, enum values are case-insensitive. What cannot be
//! guessed — no identifier, sender, sent or msgType, a malformed circle — is an error naming the
//! element path.

use super::{
    Alert, CapArea, CapError, Certainty, Info, MsgType, Reference, Scope, Severity, Status, Urgency,
};
use chrono::{DateTime, NaiveDateTime, Utc};
use roxmltree::{Document, Node};
use tocsin_core::{CountryCode, GeoPoint, Threat, Timestamp};

fn err(path: impl Into<String>, message: impl Into<String>) -> CapError {
    CapError {
        path: path.into(),
        message: message.into(),
    }
}

fn children<'a, 'i>(n: Node<'a, 'i>, name: &'a str) -> impl Iterator<Item = Node<'a, 'i>> + 'a {
    n.children()
        .filter(move |c| c.is_element() && c.tag_name().name() == name)
}

fn text_of(n: Node<'_, '_>, name: &str) -> Option<String> {
    children(n, name)
        .next()
        .map(|c| c.text().unwrap_or("").trim().to_owned())
        .filter(|s| !s.is_empty())
}

fn parse_time(s: &str) -> Option<Timestamp> {
    let s = s.trim();
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .ok()
        .or_else(|| {
            NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f")
                .ok()
                .map(|n| n.and_utc())
        })
}

fn time_at(n: Node<'_, '_>, name: &str, path: &str) -> Result<Option<Timestamp>, CapError> {
    match text_of(n, name) {
        None => Ok(None),
        Some(s) => parse_time(&s)
            .map(Some)
            .ok_or_else(|| err(format!("{path}/{name}"), format!("not a date-time: {s:?}"))),
    }
}

fn point(s: &str, path: &str) -> Result<GeoPoint, CapError> {
    let (lat, lon) = s
        .split_once(',')
        .ok_or_else(|| err(path, format!("expected `lat,lon`, found {s:?}")))?;
    let lat: f64 = lat
        .trim()
        .parse()
        .map_err(|_| err(path, format!("bad latitude {lat:?}")))?;
    let lon: f64 = lon
        .trim()
        .parse()
        .map_err(|_| err(path, format!("bad longitude {lon:?}")))?;
    GeoPoint::new(lat, lon).map_err(|e| err(path, e.to_string()))
}

/// Parse a CAP 1.2 document (CAP 1.1 documents with the same structure are read too).
pub fn parse_alert(xml: &str) -> Result<Alert, CapError> {
    let doc =
        Document::parse(xml).map_err(|e| err("(document)", format!("not well-formed XML: {e}")))?;
    let root = doc.root_element();
    if root.tag_name().name() != "alert" {
        return Err(err(
            "(document)",
            format!(
                "the root element is <{}>, expected <alert>",
                root.tag_name().name()
            ),
        ));
    }
    let req = |name: &str| {
        text_of(root, name).ok_or_else(|| {
            err(
                format!("alert/{name}"),
                "required element is missing or empty",
            )
        })
    };
    let identifier = req("identifier")?;
    let sender = req("sender")?;
    let sent_s = req("sent")?;
    let sent = parse_time(&sent_s)
        .ok_or_else(|| err("alert/sent", format!("not a date-time: {sent_s:?}")))?;
    let msg_s = req("msgType")?;
    let msg_type = MsgType::parse(&msg_s)
        .ok_or_else(|| err("alert/msgType", format!("unknown value {msg_s:?}")))?;
    let status = match text_of(root, "status") {
        Some(s) => {
            Status::parse(&s).ok_or_else(|| err("alert/status", format!("unknown value {s:?}")))?
        }
        None => Status::Actual,
    };
    let scope = match text_of(root, "scope") {
        Some(s) => {
            Scope::parse(&s).ok_or_else(|| err("alert/scope", format!("unknown value {s:?}")))?
        }
        None => Scope::Public,
    };
    let mut references = Vec::new();
    if let Some(refs) = text_of(root, "references") {
        for (i, r) in refs.split_whitespace().enumerate() {
            let parts: Vec<&str> = r.splitn(3, ',').collect();
            let path = format!("alert/references[{i}]");
            let [s, id, t] = parts[..] else {
                return Err(err(
                    path,
                    format!("expected `sender,identifier,sent`, found {r:?}"),
                ));
            };
            let sent =
                parse_time(t).ok_or_else(|| err(&path, format!("not a date-time: {t:?}")))?;
            references.push(Reference {
                sender: s.into(),
                identifier: id.into(),
                sent,
            });
        }
    }
    let mut infos = Vec::new();
    for (i, n) in children(root, "info").enumerate() {
        let path = format!("alert/info[{i}]");
        let en = |name: &str| text_of(n, name);
        let mut areas = Vec::new();
        for (j, a) in children(n, "area").enumerate() {
            let apath = format!("{path}/area[{j}]");
            let mut area = CapArea {
                desc: text_of(a, "areaDesc").unwrap_or_default(),
                ..Default::default()
            };
            for (k, p) in children(a, "polygon").enumerate() {
                let ppath = format!("{apath}/polygon[{k}]");
                let ring = p
                    .text()
                    .unwrap_or("")
                    .split_whitespace()
                    .map(|s| point(s, &ppath))
                    .collect::<Result<Vec<_>, _>>()?;
                if ring.len() < 4 {
                    return Err(err(
                        ppath,
                        format!(
                            "a polygon needs at least 4 points (closed ring), found {}",
                            ring.len()
                        ),
                    ));
                }
                area.polygons.push(ring);
            }
            for (k, c) in children(a, "circle").enumerate() {
                let cpath = format!("{apath}/circle[{k}]");
                let t = c.text().unwrap_or("").trim();
                let (p, r) = t.split_once(char::is_whitespace).ok_or_else(|| {
                    err(&cpath, format!("expected `lat,lon radius`, found {t:?}"))
                })?;
                let r: f64 = r
                    .trim()
                    .parse()
                    .map_err(|_| err(&cpath, format!("bad radius {r:?}")))?;
                if !r.is_finite() || r < 0.0 {
                    return Err(err(
                        cpath,
                        format!("radius must be a non-negative number of km, found {r}"),
                    ));
                }
                area.circles.push((point(p, &cpath)?, r));
            }
            for g in children(a, "geocode") {
                area.geocodes.push((
                    text_of(g, "valueName").unwrap_or_default(),
                    text_of(g, "value").unwrap_or_default(),
                ));
            }
            areas.push(area);
        }
        let parameters = children(n, "parameter")
            .map(|p| {
                (
                    text_of(p, "valueName").unwrap_or_default(),
                    text_of(p, "value").unwrap_or_default(),
                )
            })
            .collect();
        infos.push(Info {
            language: en("language").unwrap_or_else(|| "en-US".into()),
            categories: children(n, "category")
                .filter_map(|c| c.text().map(|t| t.trim().to_owned()))
                .collect(),
            event: en("event").unwrap_or_default(),
            response_types: children(n, "responseType")
                .filter_map(|c| c.text().map(|t| t.trim().to_owned()))
                .collect(),
            urgency: en("urgency")
                .and_then(|s| Urgency::parse(&s))
                .unwrap_or(Urgency::Unknown),
            severity: en("severity")
                .and_then(|s| Severity::parse(&s))
                .unwrap_or(Severity::Unknown),
            certainty: en("certainty")
                .and_then(|s| Certainty::parse(&s))
                .unwrap_or(Certainty::Unknown),
            audience: en("audience"),
            effective: time_at(n, "effective", &path)?,
            onset: time_at(n, "onset", &path)?,
            expires: time_at(n, "expires", &path)?,
            sender_name: en("senderName"),
            headline: en("headline"),
            description: en("description"),
            instruction: en("instruction"),
            web: en("web"),
            contact: en("contact"),
            parameters,
            areas,
        });
    }
    Ok(Alert {
        identifier,
        sender,
        sent,
        status,
        msg_type,
        source: text_of(root, "source"),
        scope,
        restriction: text_of(root, "restriction"),
        addresses: text_of(root, "addresses"),
        codes: children(root, "code")
            .filter_map(|c| c.text().map(|t| t.trim().to_owned()))
            .collect(),
        note: text_of(root, "note"),
        references,
        incidents: text_of(root, "incidents"),
        infos,
    })
}

/// Choices the alert cannot make.
#[derive(Debug, Clone)]
pub struct CapIntakeOptions {
    /// Country of the issuing authority.
    pub originator: CountryCode,
    /// Window when the alert has no `expires`.
    pub default_window_hours: i64,
}

/// Open a threat from an alert, with every `areaDesc` taken as a place name (the caller's
/// matcher resolves it). Cancels, non-actual messages and alerts without info are refused with the
/// reason; [`super::read_alert`] is the full reading (Update/Cancel, geocodes, notes).
pub fn threat_from_alert(a: &Alert, opts: &CapIntakeOptions) -> Result<Threat, CapError> {
    if a.msg_type == MsgType::Cancel {
        return Err(err(
            "alert/msgType",
            format!(
                "a Cancel withdraws earlier alerts ({}); it opens no threat",
                a.references
                    .iter()
                    .map(|r| r.identifier.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ));
    }
    let reading = super::read_alert(a, opts, &|_| true)?;
    if reading.needs_area {
        return Err(err(
            "alert/info/area",
            "no area with a circle, polygon, geocode or description: nothing to match",
        ));
    }
    Ok(reading.threat)
}
