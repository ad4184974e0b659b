//! Warnings → CAP 1.2 alerts, and alerts → XML in schema order.

use super::{
    cap_time, is_cap_token, Alert, CapArea, Certainty, Info, MsgType, Reference, Scope, Severity,
    Status, Urgency, CAP_NS,
};
use chrono::Duration;
use std::fmt::Write as _;
use tocsin_core::threat::{Credibility, Harm};
use tocsin_core::tracking::Warning;
use tocsin_core::{Audience, AudienceKind, GeoPoint, Threat, Timestamp};

/// The matched area of a warning, resolved by the caller (gazetteer, registry).
pub type WarningArea = CapArea;

/// What [`alert_for_warning`] needs.
pub struct CapInput<'a> {
    pub warning: &'a Warning,
    pub threat: &'a Threat,
    pub audience: &'a Audience,
    /// The CAP `sender` (no spaces or commas), e.g. `tocsin@embassy.example`.
    pub sender: &'a str,
    /// Human name of the sender (`senderName`).
    pub sender_name: &'a str,
    /// Earlier versions of this (threat, audience) warning, oldest first: an update references them.
    pub earlier: &'a [Warning],
    /// The area(s) the alert covers: only areas of target specs releasable to the audience.
    pub areas: Vec<CapArea>,
    /// Withdraw the warning: `msgType` Cancel referencing every version sent so far.
    pub cancel: bool,
    /// Where the alert can be read on the web (the feed's link), if any.
    pub web: Option<String>,
}

/// When a warning version was sent: its release (a public advisory's validity starts at release)
/// or, for others, its composition.
pub fn sent_at(w: &Warning) -> Timestamp {
    match w.audience_kind {
        AudienceKind::Public => w.valid.from.max(w.created_at),
        _ => w.created_at,
    }
}

/// A CAP identifier from a warning id: characters CAP forbids become `-`.
pub fn identifier(w: &Warning) -> String {
    w.id.as_str()
        .chars()
        .map(|c| {
            if c.is_whitespace() || c == ',' || c == '<' || c == '&' {
                '-'
            } else {
                c
            }
        })
        .collect()
}

fn severity(harms: &[Harm]) -> Severity {
    if harms
        .iter()
        .any(|h| matches!(h, Harm::Killing | Harm::ArsonBombing | Harm::HostageTaking))
    {
        Severity::Extreme
    } else if harms.iter().any(|h| h.is_bodily()) {
        Severity::Severe
    } else if harms.is_empty() {
        Severity::Unknown
    } else {
        Severity::Moderate
    }
}

fn certainty(c: Credibility) -> Certainty {
    match c {
        Credibility::Confirmed => Certainty::Observed,
        Credibility::Probable => Certainty::Likely,
        Credibility::Possible => Certainty::Possible,
    }
}

/// Urgency relative to the send time: the window is open → Immediate; it opens later → Future;
/// it has closed → Past.
fn urgency(w: &Warning, sent: Timestamp) -> Urgency {
    if w.valid.until <= sent {
        Urgency::Past
    } else if w.valid.from > sent + Duration::hours(1) {
        Urgency::Future
    } else {
        Urgency::Immediate
    }
}

/// Build the alert of one warning version.
pub fn alert_for_warning(input: &CapInput<'_>) -> Alert {
    let w = input.warning;
    let t = input.threat;
    let sent = sent_at(w);
    let public = w.audience_kind == AudienceKind::Public;
    let references: Vec<Reference> = if input.cancel {
        input
            .earlier
            .iter()
            .chain(std::iter::once(w))
            .map(|e| Reference {
                sender: input.sender.to_owned(),
                identifier: identifier(e),
                sent: sent_at(e),
            })
            .collect()
    } else {
        input
            .earlier
            .iter()
            .map(|e| Reference {
                sender: input.sender.to_owned(),
                identifier: identifier(e),
                sent: sent_at(e),
            })
            .collect()
    };
    let msg_type = if input.cancel {
        MsgType::Cancel
    } else if references.is_empty() {
        MsgType::Alert
    } else {
        MsgType::Update
    };
    let bodily = t.harms.iter().any(|h| h.is_bodily());
    let mut parameters = vec![
        ("TLP".to_owned(), w.tlp.label().to_owned()),
        ("tocsinWarning".to_owned(), w.id.to_string()),
        ("tocsinVersion".to_owned(), w.version.to_string()),
    ];
    if !public {
        parameters.push(("classification".to_owned(), w.banner.clone()));
    }
    // One `<info>` per language the warning was written in (CAP 1.2 §3.2.2: several info blocks
    // of one alert differ by `language`): the audience's own first, then the others (English
    // beside a Russian audience's).
    let versions = std::iter::once((w.language.as_str(), w.headline.as_str(), w.text.as_str()))
        .chain(
            w.translations
                .iter()
                .map(|v| (v.language.as_str(), v.headline.as_str(), v.text.as_str())),
        );
    let infos = versions
        .map(|(language, headline, text)| {
            let cat = tocsin_core::i18n::catalogue(language);
            let language = if language.trim().is_empty() {
                "en"
            } else {
                language
            };
            let instruction = if public {
                // The advice sentence of the public template, in this version's language: the
                // catalogue's words before its first placeable ("Avoid ", "Избегайте мест (").
                let advice = cat.get("public-advice");
                let prefix = advice.split("{ $").next().unwrap_or(advice).trim_end();
                let lines: Vec<&str> = text
                    .lines()
                    .filter(|l| !prefix.is_empty() && l.trim_start().starts_with(prefix))
                    .collect();
                (!lines.is_empty()).then(|| lines.join("\n"))
            } else {
                (!w.measures.is_empty()).then(|| w.measures.join("\n"))
            };
            Info {
                language: language.to_owned(),
                categories: vec!["Security".into()],
                event: cat
                    .get(if bodily {
                        "cap-event-violent"
                    } else {
                        "cap-event-network"
                    })
                    .to_owned(),
                response_types: if public {
                    vec!["Avoid".into(), "Monitor".into()]
                } else {
                    vec!["Prepare".into(), "Monitor".into()]
                },
                urgency: if input.cancel {
                    Urgency::Past
                } else {
                    urgency(w, sent)
                },
                severity: severity(&t.harms),
                certainty: certainty(t.credibility),
                audience: Some(input.audience.name.clone()),
                effective: Some(sent),
                onset: Some(w.valid.from),
                expires: Some(w.valid.until),
                sender_name: Some(input.sender_name.to_owned()),
                headline: Some(headline.to_owned()),
                description: Some(text.trim_end().to_owned()),
                instruction,
                web: input.web.clone(),
                contact: if public {
                    None
                } else {
                    input.audience.escalation_contact.clone()
                },
                parameters: parameters.clone(),
                areas: input.areas.clone(),
            }
        })
        .collect();
    Alert {
        identifier: identifier(w),
        sender: input.sender.to_owned(),
        sent,
        status: Status::Actual,
        msg_type,
        source: None,
        scope: if public {
            Scope::Public
        } else {
            Scope::Restricted
        },
        restriction: (!public).then(|| {
            format!(
                "{}: for {} only; do not forward outside the recipient organisation.",
                w.tlp.label(),
                input.audience.name
            )
        }),
        addresses: None,
        codes: Vec::new(),
        note: w
            .supersedes
            .as_ref()
            .map(|p| format!("Supersedes {p}."))
            .or_else(|| input.cancel.then(|| "The warning is withdrawn.".to_owned())),
        references,
        incidents: Some(t.id.to_string()).filter(|s| is_cap_token(s)),
        infos,
    }
}

fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            // XML 1.0 forbids most control characters even escaped: drop them.
            c if (c as u32) < 0x20 && !matches!(c, '\n' | '\r' | '\t') => {}
            c => o.push(c),
        }
    }
    o
}

fn el(out: &mut String, indent: usize, name: &str, value: &str) {
    let _ = writeln!(
        out,
        "{:indent$}<{name}>{}</{name}>",
        "",
        esc(value),
        indent = indent
    );
}

fn opt(out: &mut String, indent: usize, name: &str, value: &Option<String>) {
    if let Some(v) = value {
        el(out, indent, name, v);
    }
}

fn point(p: &GeoPoint) -> String {
    format!("{},{}", fmt_num(p.lat), fmt_num(p.lon))
}

fn fmt_num(x: f64) -> String {
    let s = format!("{:.6}", x);
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" {
        "0".into()
    } else {
        s.to_owned()
    }
}

/// The alert as a CAP 1.2 XML document, elements in schema order.
pub fn write_alert(a: &Alert) -> String {
    let mut o = String::new();
    o.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(o, "<alert xmlns=\"{CAP_NS}\">");
    el(&mut o, 2, "identifier", &a.identifier);
    el(&mut o, 2, "sender", &a.sender);
    el(&mut o, 2, "sent", &cap_time(&a.sent));
    el(&mut o, 2, "status", a.status.as_str());
    el(&mut o, 2, "msgType", a.msg_type.as_str());
    opt(&mut o, 2, "source", &a.source);
    el(&mut o, 2, "scope", a.scope.as_str());
    opt(&mut o, 2, "restriction", &a.restriction);
    opt(&mut o, 2, "addresses", &a.addresses);
    for c in &a.codes {
        el(&mut o, 2, "code", c);
    }
    opt(&mut o, 2, "note", &a.note);
    if !a.references.is_empty() {
        let refs: Vec<String> = a
            .references
            .iter()
            .map(|r| format!("{},{},{}", r.sender, r.identifier, cap_time(&r.sent)))
            .collect();
        el(&mut o, 2, "references", &refs.join(" "));
    }
    opt(&mut o, 2, "incidents", &a.incidents);
    for i in &a.infos {
        o.push_str("  <info>\n");
        el(&mut o, 4, "language", &i.language);
        for c in &i.categories {
            el(&mut o, 4, "category", c);
        }
        el(&mut o, 4, "event", &i.event);
        for r in &i.response_types {
            el(&mut o, 4, "responseType", r);
        }
        el(&mut o, 4, "urgency", i.urgency.as_str());
        el(&mut o, 4, "severity", i.severity.as_str());
        el(&mut o, 4, "certainty", i.certainty.as_str());
        opt(&mut o, 4, "audience", &i.audience);
        for (name, t) in [
            ("effective", &i.effective),
            ("onset", &i.onset),
            ("expires", &i.expires),
        ] {
            if let Some(t) = t {
                el(&mut o, 4, name, &cap_time(t));
            }
        }
        opt(&mut o, 4, "senderName", &i.sender_name);
        opt(&mut o, 4, "headline", &i.headline);
        opt(&mut o, 4, "description", &i.description);
        opt(&mut o, 4, "instruction", &i.instruction);
        opt(&mut o, 4, "web", &i.web);
        opt(&mut o, 4, "contact", &i.contact);
        for (k, v) in &i.parameters {
            o.push_str("    <parameter>\n");
            el(&mut o, 6, "valueName", k);
            el(&mut o, 6, "value", v);
            o.push_str("    </parameter>\n");
        }
        for area in &i.areas {
            o.push_str("    <area>\n");
            el(&mut o, 6, "areaDesc", &area.desc);
            for ring in &area.polygons {
                el(
                    &mut o,
                    6,
                    "polygon",
                    &ring.iter().map(point).collect::<Vec<_>>().join(" "),
                );
            }
            for (c, r) in &area.circles {
                el(
                    &mut o,
                    6,
                    "circle",
                    &format!("{} {}", point(c), fmt_num(*r)),
                );
            }
            for (k, v) in &area.geocodes {
                o.push_str("      <geocode>\n");
                el(&mut o, 8, "valueName", k);
                el(&mut o, 8, "value", v);
                o.push_str("      </geocode>\n");
            }
            o.push_str("    </area>\n");
        }
        o.push_str("  </info>\n");
    }
    o.push_str("</alert>\n");
    o
}
