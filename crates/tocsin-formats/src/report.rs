//! Report files: TOML front matter between two `+++` lines, then the portion-marked body.
//!
//! ```text
//! +++
//! id = "moscow-2024-03"
//! title = "Planned attack on large gatherings in Moscow"
//! originator = "USA"
//! received = "2024-03-06T09:00:00+03:00"
//! harms = ["killing"]
//! credibility = "probable"
//! window = "imminent"
//!
//! [[targets]]
//! label = "large gatherings in Moscow, including concerts"
//! mark = "(U)"
//! area = { city = "Moscow" }
//! +++
//! (S//NF) Reporting from a sensitive source ...
//! (U) Extremists have imminent plans to target large gatherings in Moscow, to include concerts.
//! ```
//!
//! The full field list is in docs/formats.md. Validation happens while deserializing, so that toml
//! can attach the span (and `serde_path_to_error` the field path) to every error.

use crate::toml_util::{from_toml, location, TlpField, TomlTime};
use serde::de::{self, Deserializer};
use serde::Deserialize;
use thiserror::Error;
use tocsin_core::entity::{DomainName, Footprint, IpNet};
use tocsin_core::marking::{parse_mark, parse_portions, ReportError};
use tocsin_core::time::IMMINENT_HOURS;
use tocsin_core::{
    Area, Category, CountryCode, Credibility, GeoPoint, Harm, PortionMark, TargetSpec, Threat,
    ThreatId, ThreatWindow, Timestamp,
};

/// Why a report file was refused, with the file line (and column, field) where that is known.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ReportFileError {
    #[error("line 1: a report file must begin with a line `+++` that opens the TOML front matter")]
    NoFrontMatter,
    #[error("line {open_line}: the front matter opened here is not closed by a line `+++`")]
    UnclosedFrontMatter { open_line: usize },
    /// A front-matter field is missing, has the wrong type or an invalid value.
    #[error("{}", front_matter_message(.line, .column, .field, .message))]
    FrontMatter {
        line: Option<usize>,
        column: Option<usize>,
        field: Option<String>,
        message: String,
    },
    /// The portion-marked body is malformed (unmarked text, a bad mark, …).
    #[error(transparent)]
    Body(#[from] ReportError),
    #[error("line {line}: the report body has no portions; it needs at least one marked portion such as \"(U) text\"")]
    EmptyBody { line: usize },
}

fn front_matter_message(
    line: &Option<usize>,
    column: &Option<usize>,
    field: &Option<String>,
    message: &str,
) -> String {
    let mut out = location(*line, *column);
    if !out.is_empty() {
        out.push_str(": ");
    }
    out.push_str("front matter");
    if let Some(f) = field {
        out.push_str(&format!(" field `{f}`"));
    }
    out.push_str(": ");
    out.push_str(message);
    out
}

/// Parse a report file into a [`Threat`].
pub fn parse_report(text: &str) -> Result<Threat, ReportFileError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let (front, body, body_line) = split_front_matter(text)?;

    let fm: FrontMatter = from_toml(front, 2).map_err(|l| ReportFileError::FrontMatter {
        line: l.line,
        column: l.column,
        field: l.field,
        message: l.message,
    })?;
    let portions = parse_portions(body, body_line)?;
    if portions.is_empty() {
        return Err(ReportFileError::EmptyBody { line: body_line });
    }
    if fm.targets.is_empty() {
        return Err(ReportFileError::FrontMatter {
            line: None,
            column: None,
            field: Some("targets".into()),
            message: "a report needs at least one [[targets]] table saying what may be hit".into(),
        });
    }

    let received = fm.received.0;
    let window = fm.window.resolve(received);
    let targets = fm
        .targets
        .into_iter()
        .map(|t| TargetSpec {
            label: t.label.0,
            mark: t.mark.0,
            name: t.name,
            categories: t.categories,
            min_size: t.min_size,
            area: t.area.map(|a| a.0),
            window: t.window.map(|w| w.resolve(received)),
            footprint: Footprint {
                networks: t.networks,
                asns: t.asns.into_iter().map(|a| a.0).collect(),
                domains: t.domains,
                sectors: t.sectors,
            },
        })
        .collect();

    Ok(Threat {
        id: ThreatId::new(fm.id.0),
        title: fm.title.0,
        originator: fm.originator,
        received,
        actor: fm.actor,
        actor_mark: fm
            .actor_mark
            .map_or_else(PortionMark::unclassified, |m| m.0),
        harms: fm.harms.0,
        credibility: fm.credibility,
        window,
        public_advice_hours: fm.public_advice_hours.0,
        targets,
        portions,
        restricted_terms: fm.restricted_terms,
        tlp: fm.tlp.map(|t| t.0),
        measures: fm.measures,
    })
}

/// Split into (front matter, body, file line of the body's first line).
fn split_front_matter(text: &str) -> Result<(&str, &str, usize), ReportFileError> {
    let is_fence = |l: &str| l.trim_end() == "+++";
    let first_end = text.find('\n').unwrap_or(text.len());
    if !is_fence(&text[..first_end]) {
        return Err(ReportFileError::NoFrontMatter);
    }
    let front_start = (first_end + 1).min(text.len());
    let mut pos = front_start;
    let mut line_no = 2;
    while pos < text.len() {
        let end = text[pos..].find('\n').map_or(text.len(), |i| pos + i);
        if is_fence(&text[pos..end]) {
            let body_start = (end + 1).min(text.len());
            return Ok((&text[front_start..pos], &text[body_start..], line_no + 1));
        }
        pos = end + 1;
        line_no += 1;
    }
    Err(ReportFileError::UnclosedFrontMatter { open_line: 1 })
}

// ---------------------------------------------------------------------------------------------
// Front matter: the serde shape of the file, validated field by field.
// ---------------------------------------------------------------------------------------------

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FrontMatter {
    id: NonEmpty,
    title: NonEmpty,
    originator: CountryCode,
    received: TomlTime,
    #[serde(default)]
    actor: Option<String>,
    #[serde(default)]
    actor_mark: Option<MarkField>,
    harms: Harms,
    credibility: Credibility,
    window: WindowSpec,
    #[serde(default)]
    public_advice_hours: AdviceHours,
    #[serde(default)]
    restricted_terms: Vec<String>,
    #[serde(default)]
    tlp: Option<TlpField>,
    #[serde(default)]
    measures: Vec<String>,
    #[serde(default)]
    targets: Vec<TargetFm>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TargetFm {
    label: NonEmpty,
    /// Required: a target without a mark would be unmarked knowledge.
    mark: MarkField,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    categories: Vec<Category>,
    #[serde(default)]
    min_size: Option<u32>,
    #[serde(default)]
    area: Option<AreaField>,
    #[serde(default)]
    window: Option<WindowSpec>,
    /// IPv4/IPv6 addresses and CIDR prefixes.
    #[serde(default)]
    networks: Vec<IpNet>,
    /// AS numbers: `64500` or `"AS64500"`.
    #[serde(default)]
    asns: Vec<AsnField>,
    #[serde(default)]
    domains: Vec<DomainName>,
    #[serde(default)]
    sectors: Vec<String>,
}

/// An AS number written as an integer (`64500`) or a string (`"AS64500"`, `"64500"`).
struct AsnField(u32);

impl<'de> Deserialize<'de> for AsnField {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match toml::Value::deserialize(d)? {
            toml::Value::Integer(i) => u32::try_from(i)
                .map(AsnField)
                .map_err(|_| de::Error::custom(format!("AS number {i} is not in 0..=4294967295"))),
            toml::Value::String(s) => tocsin_core::entity::parse_asn(&s)
                .map(AsnField)
                .map_err(de::Error::custom),
            other => Err(de::Error::custom(format!(
                "expected an AS number such as 64500 or \"AS64500\" but found a {}",
                other.type_str()
            ))),
        }
    }
}

/// A string that must contain something.
struct NonEmpty(String);

impl<'de> Deserialize<'de> for NonEmpty {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        if s.trim().is_empty() {
            return Err(de::Error::custom("must not be empty"));
        }
        Ok(NonEmpty(s))
    }
}

/// A portion-mark string such as "(S//NF)", parsed with `parse_mark`.
struct MarkField(PortionMark);

impl<'de> Deserialize<'de> for MarkField {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        parse_mark(&s)
            .map(MarkField)
            .map_err(|e| de::Error::custom(format!("invalid portion mark {s:?}: {e}")))
    }
}

/// At least one harm: a threat of nothing in particular cannot be weighed against the duty.
struct Harms(Vec<Harm>);

impl<'de> Deserialize<'de> for Harms {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = Vec::<Harm>::deserialize(d)?;
        if v.is_empty() {
            return Err(de::Error::custom(
                "name at least one harm, e.g. [\"killing\"]",
            ));
        }
        Ok(Harms(v))
    }
}

struct AdviceHours(i64);

impl Default for AdviceHours {
    fn default() -> Self {
        AdviceHours(IMMINENT_HOURS)
    }
}

impl<'de> Deserialize<'de> for AdviceHours {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let h = i64::deserialize(d)?;
        if !(1..=24 * 366).contains(&h) {
            return Err(de::Error::custom(format!(
                "expected a number of hours between 1 and 8784 but found {h}"
            )));
        }
        Ok(AdviceHours(h))
    }
}

/// `window = "imminent"` (48 h from `received`) or `window = { from = "...", until = "..." }`.
enum WindowSpec {
    Imminent,
    Range(ThreatWindow),
}

impl WindowSpec {
    fn resolve(self, received: Timestamp) -> ThreatWindow {
        match self {
            WindowSpec::Imminent => ThreatWindow::imminent(received, IMMINENT_HOURS),
            WindowSpec::Range(w) => w,
        }
    }
}

const WINDOW_FORMS: &str =
    "expected \"imminent\" or a table { from = \"<RFC 3339>\", until = \"<RFC 3339>\" }";

impl<'de> Deserialize<'de> for WindowSpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Range {
            from: TomlTime,
            until: TomlTime,
        }
        match toml::Value::deserialize(d)? {
            toml::Value::String(s) if s == "imminent" => Ok(WindowSpec::Imminent),
            toml::Value::String(s) => {
                Err(de::Error::custom(format!("{WINDOW_FORMS} but found {s:?}")))
            }
            toml::Value::Table(t) => {
                let r = Range::deserialize(toml::Value::Table(t))
                    .map_err(|e| de::Error::custom(e.message().to_owned()))?;
                ThreatWindow::new(r.from.0, r.until.0)
                    .map(WindowSpec::Range)
                    .map_err(de::Error::custom)
            }
            other => Err(de::Error::custom(format!(
                "{WINDOW_FORMS} but found a {}",
                other.type_str()
            ))),
        }
    }
}

/// `{ city = "Moscow" }` | `{ region = "Moscow Oblast" }` | `{ lat, lon, radius_km }` |
/// `{ polygon = [[lon, lat], ...] }` (GeoJSON order).
struct AreaField(Area);

impl<'de> Deserialize<'de> for AreaField {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Raw {
            city: Option<String>,
            region: Option<String>,
            lat: Option<f64>,
            lon: Option<f64>,
            radius_km: Option<f64>,
            polygon: Option<Vec<[f64; 2]>>,
        }
        const FORMS: &str = "an area is one of { city = \"...\" }, { region = \"...\" }, \
                             { lat = .., lon = .., radius_km = .. } or { polygon = [[lon, lat], ...] }";
        let r = Raw::deserialize(d)?;
        let area = match r {
            Raw {
                city: Some(name),
                region: None,
                lat: None,
                lon: None,
                radius_km: None,
                polygon: None,
            }
            | Raw {
                city: None,
                region: Some(name),
                lat: None,
                lon: None,
                radius_km: None,
                polygon: None,
            } => {
                if name.trim().is_empty() {
                    return Err(de::Error::custom("the area's name must not be empty"));
                }
                Area::Named { name }
            }
            Raw {
                city: None,
                region: None,
                lat: Some(lat),
                lon: Some(lon),
                radius_km: Some(radius_km),
                polygon: None,
            } => {
                let center = GeoPoint::new(lat, lon).map_err(de::Error::custom)?;
                if !(radius_km.is_finite() && radius_km > 0.0 && radius_km <= 20_100.0) {
                    return Err(de::Error::custom(format!(
                        "radius_km must be a positive number of kilometres (at most 20100) but is {radius_km}"
                    )));
                }
                Area::Circle { center, radius_km }
            }
            Raw {
                city: None,
                region: None,
                lat: None,
                lon: None,
                radius_km: None,
                polygon: Some(points),
            } => {
                if points.len() < 3 {
                    return Err(de::Error::custom(format!(
                        "a polygon needs at least 3 points [lon, lat] but has {}",
                        points.len()
                    )));
                }
                let ring = points
                    .iter()
                    .enumerate()
                    .map(|(i, [lon, lat])| {
                        GeoPoint::new(*lat, *lon).map_err(|e| {
                            de::Error::custom(format!("polygon point {i} ([lon, lat]): {e}"))
                        })
                    })
                    .collect::<Result<Vec<_>, D::Error>>()?;
                Area::Polygon { ring }
            }
            _ => return Err(de::Error::custom(FORMS)),
        };
        Ok(AreaField(area))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tocsin_core::marking::Classification;

    const GOOD: &str = r#"+++
id = "moscow-2024-03"
title = "Planned attack on large gatherings in Moscow"
originator = "USA"
received = "2024-03-06T09:00:00+03:00"
actor = "ISIS-K"
actor_mark = "(S//REL TO USA, RUS)"
harms = ["killing", "serious_injury"]
credibility = "probable"
window = "imminent"
restricted_terms = ["SOURCE-X"]
tlp = "AMBER"
measures = ["Brief staff on evacuation routes"]

[[targets]]
label = "large gatherings in Moscow, including concerts"
mark = "(U)"
categories = ["venue/entertainment", "event/concert"]
min_size = 1000
area = { city = "Moscow" }

[[targets]]
label = "Crocus City Hall"
mark = "(S//REL TO USA, RUS)"
name = "Crocus City Hall"
area = { lat = 55.826, lon = 37.390, radius_km = 2 }
window = { from = "2024-03-06T00:00:00+03:00", until = 2024-03-30T00:00:00+03:00 }

[[targets]]
label = "synagogue"
mark = "(S//NF)"
area = { polygon = [[37.3, 55.6], [37.9, 55.6], [37.9, 55.9]] }
+++
(S//NF) Reporting from a sensitive source
says an attack is planned.
(U) Extremists have imminent plans to target large gatherings in Moscow, to include concerts.

TEARLINE (U): Extremists plan to attack large gatherings in Moscow.
"#;

    fn with(front_replace: &str, by: &str) -> String {
        assert!(GOOD.contains(front_replace), "{front_replace}");
        GOOD.replacen(front_replace, by, 1)
    }

    fn err(text: &str) -> String {
        parse_report(text).unwrap_err().to_string()
    }

    #[test]
    fn parses_the_reference_report() {
        let t = parse_report(GOOD).unwrap();
        assert_eq!(t.id.as_str(), "moscow-2024-03");
        assert_eq!(t.originator.as_str(), "USA");
        assert_eq!(t.received.to_rfc3339(), "2024-03-06T06:00:00+00:00");
        assert_eq!(t.window.duration().num_hours(), 48);
        assert_eq!(t.window.from, t.received);
        assert_eq!(t.actor.as_deref(), Some("ISIS-K"));
        assert_eq!(t.actor_mark.classification, Classification::S);
        assert_eq!(t.harms, vec![Harm::Killing, Harm::SeriousInjury]);
        assert_eq!(t.credibility, Credibility::Probable);
        assert_eq!(t.public_advice_hours, 48);
        assert_eq!(t.tlp, Some(tocsin_core::TlpLevel::Amber));
        assert_eq!(t.targets.len(), 3);
        assert_eq!(
            t.targets[0].area,
            Some(Area::Named {
                name: "Moscow".into()
            })
        );
        assert_eq!(t.targets[0].min_size, Some(1000));
        assert!(
            matches!(t.targets[1].area, Some(Area::Circle { radius_km, .. }) if radius_km == 2.0)
        );
        assert_eq!(t.targets[1].window.unwrap().duration().num_days(), 24);
        assert!(
            matches!(&t.targets[2].area, Some(Area::Polygon { ring }) if ring.len() == 3 && ring[0].lat == 55.6)
        );
        assert_eq!(t.portions.len(), 3);
        assert_eq!(t.portions[0].line, 34);
        assert_eq!(t.portions[1].line, 36);
        assert!(t.portions[2].tearline);
        assert_eq!(t.portions[2].line, 38);
    }

    #[test]
    fn network_targets_parse_and_bad_ones_name_the_field() {
        let net = "[[targets]]\nlabel = \"Acme networks\"\nmark = \"(U)\"\nnetworks = [\"10.0.0.0/8\", \"2001:db8::1\"]\n\
                   asns = [64500, \"AS64501\"]\ndomains = [\"Acme.example\"]\nsectors = [\"energy\"]\n\n[[targets]]\nlabel = \"large";
        let t = parse_report(&with("[[targets]]\nlabel = \"large", net)).unwrap();
        let f = &t.targets[0].footprint;
        assert_eq!(
            f.networks.iter().map(|n| n.to_string()).collect::<Vec<_>>(),
            ["10.0.0.0/8", "2001:db8::1"]
        );
        assert_eq!(f.asns, [64500, 64501]);
        assert_eq!(f.domains[0].as_str(), "acme.example");
        assert_eq!(f.sectors, ["energy"]);
        assert!(t.targets[1].footprint.is_empty());
        let bad = err(&with(
            "min_size = 1000",
            "min_size = 1000\nnetworks = [\"10.0.0.0/40\"]",
        ));
        assert!(
            bad.contains("networks") && bad.contains("prefix length 40"),
            "{bad}"
        );
        let bad = err(&with(
            "min_size = 1000",
            "min_size = 1000\nasns = [\"ASX\"]",
        ));
        assert!(bad.contains("asns") && bad.contains("AS number"), "{bad}");
        let bad = err(&with(
            "min_size = 1000",
            "min_size = 1000\ndomains = [\"a..b\"]",
        ));
        assert!(
            bad.contains("domains") && bad.contains("empty label"),
            "{bad}"
        );
    }

    #[test]
    fn defaults_apply() {
        let text = "+++\nid = \"x\"\ntitle = \"t\"\noriginator = \"usa\"\nreceived = 2024-03-06T09:00:00Z\n\
                    harms = [\"kidnapping\"]\ncredibility = \"possible\"\n\
                    window = { from = \"2024-03-06T00:00:00Z\", until = \"2024-03-07T00:00:00Z\" }\n\
                    [[targets]]\nlabel = \"l\"\nmark = \"(U)\"\n+++\n(U) text\n";
        let t = parse_report(text).unwrap();
        assert_eq!(t.actor_mark, PortionMark::unclassified());
        assert_eq!(t.public_advice_hours, 48);
        assert!(t.restricted_terms.is_empty() && t.measures.is_empty() && t.tlp.is_none());
        assert_eq!(t.portions[0].line, 13);
        assert_eq!(t.window.duration().num_hours(), 24);
    }

    #[test]
    fn bad_mark_in_a_target_names_line_and_field() {
        let e = err(&with("mark = \"(S//NF)\"", "mark = \"(S//XX)\""));
        assert!(e.starts_with("line 31, column 8: front matter field `targets[2].mark`: invalid portion mark \"(S//XX)\": column 5: expected"), "{e}");
    }

    #[test]
    fn missing_target_mark_is_refused() {
        let e = err(&with("mark = \"(S//NF)\"\n", ""));
        assert!(
            e.contains("`targets[2]`") && e.contains("missing field `mark`"),
            "{e}"
        );
    }

    #[test]
    fn unknown_harm_names_line_and_field() {
        let e = err(&with("\"serious_injury\"", "\"shooting\""));
        assert!(
            e.starts_with(
                "line 8, column 21: front matter field `harms[1]`: unknown variant `shooting`"
            ),
            "{e}"
        );
        let e = err(&with("[\"killing\", \"serious_injury\"]", "[]"));
        assert!(e.contains("`harms`: name at least one harm"), "{e}");
    }

    #[test]
    fn reversed_window_is_refused() {
        let e = err(&with(
            "until = 2024-03-30T00:00:00+03:00",
            "until = 2024-03-01T00:00:00+03:00",
        ));
        assert!(
            e.starts_with(
                "line 27, column 10: front matter field `targets[1].window`: time window is empty or reversed"
            ),
            "{e}"
        );
        let e = err(&with("window = \"imminent\"", "window = \"soon\""));
        assert!(
            e.contains("line 10") && e.contains("`window`: expected \"imminent\""),
            "{e}"
        );
        let e = err(&with(
            "window = \"imminent\"",
            "window = { from = \"2024-03-06T00:00:00\", until = \"2024-03-07T00:00:00Z\" }",
        ));
        assert!(e.contains("line 10") && e.contains("with an offset"), "{e}");
    }

    #[test]
    fn bad_coordinates_are_refused() {
        let e = err(&with("lat = 55.826", "lat = 155.826"));
        assert!(
            e.starts_with(
                "line 26, column 8: front matter field `targets[1].area`: coordinates out of range"
            ),
            "{e}"
        );
        let e = err(&with("[37.9, 55.9]", "[37.9, 95.9]"));
        assert!(e.contains("`targets[2].area`: polygon point 2"), "{e}");
        let e = err(&with("radius_km = 2", "radius_km = -2"));
        assert!(e.contains("radius_km must be a positive"), "{e}");
        let e = err(&with(
            "{ city = \"Moscow\" }",
            "{ city = \"Moscow\", lat = 1.0 }",
        ));
        assert!(e.contains("an area is one of"), "{e}");
        let e = err(&with("{ city = \"Moscow\" }", "{ town = \"Moscow\" }"));
        assert!(e.contains("unknown field `town`"), "{e}");
    }

    #[test]
    fn other_front_matter_errors() {
        let e = err(&with("originator = \"USA\"", "originator = \"US\""));
        assert!(
            e.starts_with(
                "line 4, column 14: front matter field `originator`: not an ISO 3166-1 alpha-3"
            ),
            "{e}"
        );
        let e = err(&with(
            "received = \"2024-03-06T09:00:00+03:00\"",
            "received = \"yesterday\"",
        ));
        assert!(e.contains("line 5") && e.contains("`received`"), "{e}");
        let e = err(&with(
            "credibility = \"probable\"",
            "credibilty = \"probable\"",
        ));
        assert!(e.contains("unknown field `credibilty`"), "{e}");
        let e = err(&with("id = \"moscow-2024-03\"\n", ""));
        assert_eq!(e, "front matter: missing field `id`");
        let e = err(&with("tlp = \"AMBER\"", "tlp = \"WHITE\""));
        assert!(e.contains("`tlp`: expected a TLP 2.0 level"), "{e}");
        assert!(parse_report(&with("tlp = \"AMBER\"", "tlp = \"TLP:AMBER+STRICT\"")).is_ok());
        let e = err(&with(
            "categories = [\"venue/entertainment\", ",
            "categories = [\"Venue\", ",
        ));
        assert!(
            e.contains("`targets[0].categories[0]`: invalid category"),
            "{e}"
        );
        let e = err(&with(
            "title = \"Planned attack on large gatherings in Moscow\"",
            "title = \"  \"",
        ));
        assert!(e.contains("`title`: must not be empty"), "{e}");
        let e = err(&with(
            "window = \"imminent\"",
            "window = \"imminent\"\npublic_advice_hours = 0",
        ));
        assert!(
            e.contains("`public_advice_hours`: expected a number of hours"),
            "{e}"
        );
        let e = err(&with("actor = \"ISIS-K\"", "actor = \"ISIS-K\n"));
        assert!(e.starts_with("line 6"), "{e}");
    }

    #[test]
    fn frame_errors() {
        assert_eq!(
            err("id = 1\n"),
            "line 1: a report file must begin with a line `+++` that opens the TOML front matter"
        );
        assert_eq!(err(""), ReportFileError::NoFrontMatter.to_string());
        assert_eq!(
            err("+++\nid = 1\n(U) x\n"),
            "line 1: the front matter opened here is not closed by a line `+++`"
        );
        let no_body = GOOD.split_inclusive("+++\n").take(2).collect::<String>();
        assert_eq!(
            err(&no_body),
            "line 34: the report body has no portions; it needs at least one marked portion such as \"(U) text\""
        );
        let no_targets = "+++\nid = \"x\"\ntitle = \"t\"\noriginator = \"USA\"\nreceived = 2024-03-06T09:00:00Z\n\
                          harms = [\"killing\"]\ncredibility = \"possible\"\nwindow = \"imminent\"\n+++\n(U) t\n";
        assert!(err(no_targets).contains("`targets`: a report needs at least one [[targets]]"));
        // A BOM and CRLF line ends are fine.
        let crlf = format!("\u{feff}{}", GOOD.replace('\n', "\r\n"));
        assert_eq!(parse_report(&crlf).unwrap().portions.len(), 3);
    }

    #[test]
    fn body_errors_point_at_file_lines() {
        let e = parse_report(&with("(U) Extremists", "(U//XX) Extremists")).unwrap_err();
        assert!(
            matches!(
                e,
                ReportFileError::Body(ReportError {
                    line: 36,
                    column: 5,
                    ..
                })
            ),
            "{e}"
        );
        let e = err(&with("\nTEARLINE", "\nloose text\nTEARLINE"));
        assert!(e.starts_with("line 38, column 1: unmarked text"), "{e}");
    }
}
