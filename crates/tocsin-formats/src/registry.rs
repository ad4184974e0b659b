//! Registry files: `venues.csv`, `events.csv` → [`Entity`]; `audiences.toml` → [`Audience`].
//!
//! CSV files have a header line naming the columns (any order, all required, no extras — except
//! the optional footprint columns `networks`, `asns`, `domains`, `sectors`, `;`-separated lists);
//! blank lines and lines starting with `#` are skipped; fields are trimmed. Empty optional fields mean
//! "not known". Column lists and examples are in docs/formats.md.

use crate::toml_util::{from_toml, location, TlpField};
use serde::Deserialize;
use std::collections::HashMap;
use thiserror::Error;
use tocsin_core::entity::{parse_asn, DomainName, Footprint, IpNet};
use tocsin_core::{
    Audience, AudienceId, AudienceKind, Category, ChannelKind, ChannelSpec, Classification,
    CountryCode, Entity, EntityId, EntityKind, GeoPoint, ThreatWindow, TlpLevel,
};

use crate::toml_util::parse_time;

/// A registry file was refused: the file line, the column (CSV) or field path (TOML), and what was
/// wrong.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{}", render(.line, .column, .field, .message))]
pub struct RegistryError {
    /// 1-based file line (for CSV: the line where the record starts).
    pub line: Option<usize>,
    /// 1-based character column, for TOML errors where toml knew it.
    pub column: Option<usize>,
    /// The CSV column name (`lat`) or the TOML field path (`audience[1].clearance`).
    pub field: Option<String>,
    pub message: String,
}

fn render(
    line: &Option<usize>,
    column: &Option<usize>,
    field: &Option<String>,
    message: &str,
) -> String {
    let mut parts = Vec::new();
    let loc = location(*line, *column);
    if !loc.is_empty() {
        parts.push(loc);
    }
    if let Some(f) = field {
        parts.push(format!("`{f}`"));
    }
    if parts.is_empty() {
        message.to_owned()
    } else {
        format!("{}: {message}", parts.join(", "))
    }
}

fn at(line: usize, field: &str, message: impl Into<String>) -> RegistryError {
    RegistryError {
        line: Some(line),
        column: None,
        field: Some(field.to_owned()),
        message: message.into(),
    }
}

// ---------------------------------------------------------------------------------------------
// CSV plumbing
// ---------------------------------------------------------------------------------------------

const VENUE_COLUMNS: &[&str] = &[
    "id", "name", "aliases", "category", "lat", "lon", "capacity", "city", "country", "operator",
];
const EVENT_COLUMNS: &[&str] = &[
    "id",
    "name",
    "aliases",
    "category",
    "venue_id",
    "starts",
    "ends",
    "expected_attendance",
    "operator",
];

/// Optional columns of `venues.csv` and `events.csv`: the entity's network and organisational
/// footprint, each a `;`-separated list (absent column = empty list for every row).
const FOOTPRINT_COLUMNS: &[&str] = &["networks", "asns", "domains", "sectors"];
/// Optional columns of `events.csv`: the footprint, and a location of its own for an event
/// without a venue (a festival in a park, a march).
const EVENT_OPTIONAL: &[&str] = &[
    "networks", "asns", "domains", "sectors", "lat", "lon", "city", "country",
];

/// One CSV record with its fields in the order of the expected columns, then the optional ones
/// (empty when the file lacks the column).
struct Row {
    line: usize,
    columns: &'static [&'static str],
    optional: &'static [&'static str],
    fields: Vec<String>,
}

impl Row {
    fn get(&self, column: &str) -> &str {
        self.columns
            .iter()
            .chain(self.optional.iter())
            .position(|c| *c == column)
            .and_then(|i| self.fields.get(i))
            .map_or("", |s| s.as_str())
    }

    fn list(&self, column: &str) -> impl Iterator<Item = &str> {
        self.get(column)
            .split(';')
            .map(str::trim)
            .filter(|a| !a.is_empty())
    }

    /// The optional footprint columns, each item validated.
    fn footprint(&self) -> Result<Footprint, RegistryError> {
        let networks = self
            .list("networks")
            .map(|n| IpNet::parse(n).map_err(|e| at(self.line, "networks", e.to_string())))
            .collect::<Result<_, _>>()?;
        let asns = self
            .list("asns")
            .map(|a| parse_asn(a).map_err(|e| at(self.line, "asns", e)))
            .collect::<Result<_, _>>()?;
        let domains = self
            .list("domains")
            .map(|d| DomainName::parse(d).map_err(|e| at(self.line, "domains", e.to_string())))
            .collect::<Result<_, _>>()?;
        let sectors = self.list("sectors").map(str::to_owned).collect();
        Ok(Footprint {
            networks,
            asns,
            domains,
            sectors,
        })
    }

    fn opt(&self, column: &str) -> Option<&str> {
        Some(self.get(column)).filter(|s| !s.is_empty())
    }

    fn required(&self, column: &str) -> Result<&str, RegistryError> {
        self.opt(column)
            .ok_or_else(|| at(self.line, column, "must not be empty"))
    }

    fn number<T: std::str::FromStr>(
        &self,
        column: &str,
        what: &str,
    ) -> Result<Option<T>, RegistryError> {
        self.opt(column)
            .map(|s| {
                s.parse::<T>().map_err(|_| {
                    at(
                        self.line,
                        column,
                        format!("expected {what} but found {s:?}"),
                    )
                })
            })
            .transpose()
    }

    /// `lat` and `lon`: both given (a valid point) or both empty.
    fn location(&self) -> Result<Option<GeoPoint>, RegistryError> {
        match (
            self.number::<f64>("lat", "a latitude in degrees")?,
            self.number::<f64>("lon", "a longitude in degrees")?,
        ) {
            (Some(lat), Some(lon)) => {
                let field = if (-90.0..=90.0).contains(&lat) {
                    "lon"
                } else {
                    "lat"
                };
                Ok(Some(
                    GeoPoint::new(lat, lon).map_err(|e| at(self.line, field, e.to_string()))?,
                ))
            }
            (None, None) => Ok(None),
            (Some(_), None) => Err(at(self.line, "lon", "lat is given, so lon must be too")),
            (None, Some(_)) => Err(at(self.line, "lat", "lon is given, so lat must be too")),
        }
    }

    fn country(&self) -> Result<Option<CountryCode>, RegistryError> {
        self.opt("country")
            .map(|c| CountryCode::parse(c).map_err(|e| at(self.line, "country", e.to_string())))
            .transpose()
    }

    fn category(&self) -> Result<Category, RegistryError> {
        Category::parse(self.required("category")?)
            .map_err(|e| at(self.line, "category", e.to_string()))
    }

    fn aliases(&self) -> Vec<String> {
        self.get("aliases")
            .split(';')
            .map(str::trim)
            .filter(|a| !a.is_empty())
            .map(str::to_owned)
            .collect()
    }

    fn operator(&self) -> Vec<AudienceId> {
        self.opt("operator")
            .map(AudienceId::new)
            .into_iter()
            .collect()
    }

    fn time(&self, column: &str) -> Result<tocsin_core::Timestamp, RegistryError> {
        parse_time(self.required(column)?).map_err(|e| at(self.line, column, e))
    }
}

fn read_csv(
    text: &str,
    columns: &'static [&'static str],
    optional: &'static [&'static str],
) -> Result<Vec<Row>, RegistryError> {
    let csv_err = |e: csv::Error| RegistryError {
        line: e.position().map(|p| record_line(text, p.byte())),
        column: None,
        field: None,
        message: format!("malformed CSV: {e}"),
    };
    let mut rdr = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .comment(Some(b'#'))
        .from_reader(text.as_bytes());
    let headers = rdr.headers().map_err(csv_err)?.clone();
    let header_line = headers
        .position()
        .map_or(1, |p| record_line(text, p.byte()));
    let header_err = |message: String| RegistryError {
        line: Some(header_line),
        column: None,
        field: None,
        message,
    };
    let expected = columns.join(",");

    // Map each expected column to its index in the file; refuse missing, unknown and twice-named
    // columns, since a misspelt header would otherwise silently drop a whole column of data.
    let mut index = Vec::with_capacity(columns.len());
    for col in columns {
        let found: Vec<usize> = headers
            .iter()
            .enumerate()
            .filter(|(_, h)| h == col)
            .map(|(i, _)| i)
            .collect();
        match found.as_slice() {
            [i] => index.push(*i),
            [] => {
                return Err(header_err(format!(
                    "missing column `{col}`; the header must name the columns {expected}"
                )))
            }
            _ => {
                return Err(header_err(format!(
                    "column `{col}` is named twice in the header"
                )))
            }
        }
    }
    for col in optional {
        let found: Vec<usize> = headers
            .iter()
            .enumerate()
            .filter(|(_, h)| h == col)
            .map(|(i, _)| i)
            .collect();
        match found.as_slice() {
            [i] => index.push(*i),
            [] => index.push(usize::MAX),
            _ => {
                return Err(header_err(format!(
                    "column `{col}` is named twice in the header"
                )))
            }
        }
    }
    if let Some(extra) = headers
        .iter()
        .find(|h| !columns.contains(h) && !optional.contains(h))
    {
        return Err(header_err(format!(
            "unknown column `{extra}`; the header must name the columns {expected}"
        )));
    }

    let mut rows = Vec::new();
    // Records come in file order: count line ends from the previous record on, not from the start
    // (counting from the start for every record made a 50,000-row import quadratic).
    let mut counted = LineCursor::default();
    for rec in rdr.records() {
        let rec = rec.map_err(csv_err)?;
        let line = rec
            .position()
            .map_or(0, |p| counted.line_at(text, p.byte()));
        if rec.len() != headers.len() {
            return Err(RegistryError {
                line: Some(line),
                column: None,
                field: None,
                message: format!(
                    "expected {} fields ({expected}) but found {}",
                    headers.len(),
                    rec.len()
                ),
            });
        }
        let fields = index
            .iter()
            .map(|&i| rec.get(i).unwrap_or("").to_owned())
            .collect();
        rows.push(Row {
            line,
            columns,
            optional,
            fields,
        });
    }
    Ok(rows)
}

/// Line numbers of increasing byte offsets, counted incrementally ([`record_line`] for each).
#[derive(Default)]
struct LineCursor {
    /// Line ends seen before `upto`.
    newlines: usize,
    upto: usize,
}

impl LineCursor {
    fn line_at(&mut self, text: &str, byte: u64) -> usize {
        let start = record_start(text, byte);
        if start < self.upto {
            *self = LineCursor::default();
        }
        self.newlines += text.as_bytes()[self.upto..start]
            .iter()
            .filter(|&&b| b == b'\n')
            .count();
        self.upto = start;
        self.newlines + 1
    }
}

/// The file line where the record at byte `byte` starts. The csv crate's own line counter skips
/// blank and comment lines, and its byte offset is where the previous record ended, so step over
/// line ends and `#` comment lines to reach the record's first character.
fn record_line(text: &str, byte: u64) -> usize {
    let at = record_start(text, byte);
    text.as_bytes()[..at]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// The byte where the record whose preceding record ended at `byte` really starts.
fn record_start(text: &str, byte: u64) -> usize {
    let bytes = text.as_bytes();
    let mut at = usize::try_from(byte).unwrap_or(usize::MAX).min(bytes.len());
    loop {
        match bytes.get(at) {
            Some(b'\r' | b'\n') => at += 1,
            Some(b'#') if at == 0 || bytes[at - 1] == b'\n' => {
                at = bytes[at..]
                    .iter()
                    .position(|&b| b == b'\n')
                    .map_or(bytes.len(), |i| at + i + 1);
            }
            _ => break,
        }
    }
    at
}

/// Refuse a second entity with the same id: the matcher and the audit trail key on ids.
fn check_unique(
    seen: &mut HashMap<String, usize>,
    row: &Row,
    what: &str,
) -> Result<(), RegistryError> {
    let id = row.get("id").to_owned();
    if let Some(first) = seen.insert(id.clone(), row.line) {
        return Err(at(
            row.line,
            "id",
            format!("duplicate {what} id {id:?} (first on line {first})"),
        ));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// venues.csv / events.csv
// ---------------------------------------------------------------------------------------------

/// Parse `venues.csv`: columns `id,name,aliases,category,lat,lon,capacity,city,country,operator`.
/// `aliases` are `;`-separated; `lat`/`lon` are both given or both empty; `operator` is the id of
/// the audience responsible for the venue.
pub fn parse_venues_csv(text: &str) -> Result<Vec<Entity>, RegistryError> {
    let mut seen = HashMap::new();
    let mut out = Vec::new();
    for row in read_csv(text, VENUE_COLUMNS, FOOTPRINT_COLUMNS)? {
        let id = row.required("id")?;
        check_unique(&mut seen, &row, "venue")?;
        let location = row.location()?;
        let country = row.country()?;
        out.push(Entity {
            id: EntityId::new(id),
            kind: EntityKind::Venue,
            name: row.required("name")?.to_owned(),
            aliases: row.aliases(),
            category: row.category()?,
            location,
            capacity: row.number("capacity", "a whole number of people")?,
            span: None,
            venue: None,
            city: row.opt("city").map(str::to_owned),
            country,
            audiences: row.operator(),
            footprint: row.footprint()?,
        });
    }
    Ok(out)
}

/// Parse `events.csv`: columns `id,name,aliases,category,venue_id,starts,ends,expected_attendance,operator`,
/// optionally the footprint columns and, for an event without a venue, `lat`, `lon`, `city`,
/// `country` of its own.
/// `starts`/`ends` are RFC 3339 times with an offset; `venue_id` (optional) must name one of
/// `venues`, whose location, city and country the event takes on.
pub fn parse_events_csv(text: &str, venues: &[Entity]) -> Result<Vec<Entity>, RegistryError> {
    let by_id: HashMap<&str, &Entity> = venues.iter().map(|v| (v.id.as_str(), v)).collect();
    let mut seen = HashMap::new();
    let mut out = Vec::new();
    for row in read_csv(text, EVENT_COLUMNS, EVENT_OPTIONAL)? {
        let id = row.required("id")?;
        check_unique(&mut seen, &row, "event")?;
        if by_id.contains_key(id) {
            return Err(at(
                row.line,
                "id",
                format!("event id {id:?} is already the id of a venue"),
            ));
        }
        let venue = row
            .opt("venue_id")
            .map(|v| {
                by_id.get(v).copied().ok_or_else(|| {
                    at(
                        row.line,
                        "venue_id",
                        format!("unknown venue_id {v:?}: no venue in the venues file has this id"),
                    )
                })
            })
            .transpose()?;
        let (starts, ends) = (row.time("starts")?, row.time("ends")?);
        let span =
            ThreatWindow::new(starts, ends).map_err(|e| at(row.line, "ends", e.to_string()))?;
        // An event at a venue is where the venue is; one without a venue may say where it is.
        let (own_location, own_country) = (row.location()?, row.country()?);
        if venue.is_some() {
            if let Some(col) = ["lat", "lon", "city", "country"]
                .into_iter()
                .find(|c| row.opt(c).is_some())
            {
                return Err(at(
                    row.line,
                    col,
                    "an event with a venue_id is where its venue is: leave lat, lon, city and country empty (or drop venue_id)",
                ));
            }
        }
        out.push(Entity {
            id: EntityId::new(id),
            kind: EntityKind::Event,
            name: row.required("name")?.to_owned(),
            aliases: row.aliases(),
            category: row.category()?,
            location: venue.map_or(own_location, |v| v.location),
            capacity: row.number("expected_attendance", "a whole number of people")?,
            span: Some(span),
            venue: venue.map(|v| v.id.clone()),
            city: venue.map_or_else(|| row.opt("city").map(str::to_owned), |v| v.city.clone()),
            country: venue.map_or(own_country, |v| v.country),
            audiences: row.operator(),
            footprint: row.footprint()?,
        });
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// audiences.toml
// ---------------------------------------------------------------------------------------------

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AudiencesFile {
    #[serde(default)]
    audience: Vec<AudienceFm>,
}

/// Mirrors [`Audience`] with `deny_unknown_fields`: a misspelt `orcon_aproved` must be an error,
/// not a silently ignored line.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AudienceFm {
    id: AudienceId,
    name: String,
    kind: AudienceKind,
    #[serde(default)]
    country: Option<CountryCode>,
    clearance: Classification,
    tlp_ceiling: TlpField,
    #[serde(default)]
    orcon_approved: bool,
    #[serde(default)]
    channels: Vec<ChannelFm>,
    #[serde(default)]
    escalation_contact: Option<String>,
    #[serde(default)]
    language: Option<String>,
    #[serde(default)]
    posture_interval_hours: Option<u32>,
    #[serde(default)]
    timezone: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ChannelFm {
    kind: ChannelKind,
    address: String,
}

/// Parse `audiences.toml`: a list of `[[audience]]` tables.
pub fn parse_audiences_toml(text: &str) -> Result<Vec<Audience>, RegistryError> {
    let file: AudiencesFile = from_toml(text, 1).map_err(|l| RegistryError {
        line: l.line,
        column: l.column,
        field: l.field,
        message: l.message,
    })?;
    let fail = |i: usize, field: &str, message: String| RegistryError {
        line: None,
        column: None,
        field: Some(format!("audience[{i}].{field}")),
        message,
    };
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut out = Vec::with_capacity(file.audience.len());
    for (i, a) in file.audience.into_iter().enumerate() {
        if a.id.as_str().trim().is_empty() {
            return Err(fail(i, "id", "must not be empty".into()));
        }
        if let Some(first) = seen.insert(a.id.as_str().to_owned(), i) {
            return Err(fail(
                i,
                "id",
                format!(
                    "duplicate audience id {:?} (also audience[{first}])",
                    a.id.as_str()
                ),
            ));
        }
        // The public's limits are fixed by what it is; a file that says otherwise is a mistake
        // (releasability enforces them regardless, but the mistake should surface here).
        if a.kind == AudienceKind::Public && a.clearance != Classification::U {
            return Err(fail(
                i,
                "clearance",
                format!(
                    "a public audience is cleared for U only, not {}",
                    a.clearance.abbrev()
                ),
            ));
        }
        if a.kind == AudienceKind::Public && a.tlp_ceiling.0 != TlpLevel::Clear {
            return Err(fail(
                i,
                "tlp_ceiling",
                format!(
                    "a public audience accepts TLP:CLEAR only, not {}",
                    a.tlp_ceiling.0
                ),
            ));
        }
        if let Some(z) = &a.timezone {
            tocsin_core::i18n::parse_zone(z).map_err(|m| fail(i, "timezone", m))?;
        }
        for (j, c) in a.channels.iter().enumerate() {
            if c.address.trim().is_empty() {
                return Err(fail(
                    i,
                    &format!("channels[{j}].address"),
                    "must not be empty".into(),
                ));
            }
        }
        out.push(Audience {
            id: a.id,
            name: a.name,
            kind: a.kind,
            country: a.country,
            clearance: a.clearance,
            tlp_ceiling: a.tlp_ceiling.0,
            orcon_approved: a.orcon_approved,
            channels: a
                .channels
                .into_iter()
                .map(|c| ChannelSpec {
                    kind: c.kind,
                    address: c.address,
                })
                .collect(),
            escalation_contact: a.escalation_contact,
            language: a.language.unwrap_or_else(|| "en".to_owned()),
            posture_interval_hours: a.posture_interval_hours,
            timezone: a.timezone,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn incremental_line_numbers_agree_with_counting_from_the_start() {
        let text = "id,name\n\n# comment\na,\"two\nlines\"\r\n\r\nb,x\n# c\n# d\nc,y\n";
        let rows = read_csv(text, &["id", "name"], &[]).unwrap();
        let lines: Vec<usize> = rows.iter().map(|r| r.line).collect();
        assert_eq!(lines, [4, 7, 10]);
        let mut rdr = csv::ReaderBuilder::new()
            .flexible(true)
            .comment(Some(b'#'))
            .from_reader(text.as_bytes());
        let mut cursor = LineCursor::default();
        for rec in rdr.records() {
            let byte = rec.unwrap().position().unwrap().byte();
            assert_eq!(
                cursor.line_at(text, byte),
                record_line(text, byte),
                "at byte {byte}"
            );
        }
    }

    const VENUES: &str = "\
id,name,aliases,category,lat,lon,capacity,city,country,operator
crocus,Crocus City Hall,Crocus; Крокус Сити Холл,venue/entertainment/concert_hall,55.826,37.390,7500,Krasnogorsk,RUS,crocus-ops
# a comment line
synagogue,Moscow Choral Synagogue,,place_of_worship/synagogue,55.7553,37.6370,,Moscow,RUS,
park,Somewhere,,venue/park,,,,,,
";

    const EVENTS: &str = "\
id,name,aliases,category,venue_id,starts,ends,expected_attendance,operator
piknik,Piknik concert,Пикник,event/concert,crocus,2024-03-22T20:00:00+03:00,2024-03-22T23:00:00+03:00,6200,crocus-ops
rally,Street rally,,event/rally,,2024-03-23T10:00:00Z,2024-03-23T12:00:00Z,,
";

    fn venues() -> Vec<Entity> {
        parse_venues_csv(VENUES).unwrap()
    }

    #[test]
    fn parses_venues() {
        let v = venues();
        assert_eq!(v.len(), 3);
        let c = &v[0];
        assert_eq!(c.id.as_str(), "crocus");
        assert_eq!(c.kind, EntityKind::Venue);
        assert_eq!(c.aliases, vec!["Crocus", "Крокус Сити Холл"]);
        assert_eq!(c.category.as_str(), "venue/entertainment/concert_hall");
        assert_eq!(
            c.location,
            Some(GeoPoint {
                lat: 55.826,
                lon: 37.390
            })
        );
        assert_eq!(c.capacity, Some(7500));
        assert_eq!(c.city.as_deref(), Some("Krasnogorsk"));
        assert_eq!(c.country.unwrap().as_str(), "RUS");
        assert_eq!(c.audiences, vec![AudienceId::new("crocus-ops")]);
        assert!(c.span.is_none() && c.venue.is_none());
        assert!(v[1].aliases.is_empty() && v[1].audiences.is_empty() && v[1].capacity.is_none());
        assert!(v[2].location.is_none() && v[2].country.is_none() && v[2].city.is_none());
    }

    #[test]
    fn footprint_columns_are_optional_and_validated() {
        let text = "id,name,aliases,category,lat,lon,capacity,city,country,operator,networks,domains,asns,sectors\n\
                    acme,Acme Energy,,organisation/company,,,,,,,10.0.0.0/8; 2001:db8::/32,acme.example,AS64500;64501,energy; utilities\n\
                    park,Somewhere,,venue/park,,,,,,,,,,\n";
        let v = parse_venues_csv(text).unwrap();
        let f = &v[0].footprint;
        assert_eq!(
            f.networks.iter().map(|n| n.to_string()).collect::<Vec<_>>(),
            ["10.0.0.0/8", "2001:db8::/32"]
        );
        assert_eq!(
            (f.asns.as_slice(), f.domains[0].as_str()),
            ([64500, 64501].as_slice(), "acme.example")
        );
        assert_eq!(f.sectors, ["energy", "utilities"]);
        assert!(v[1].footprint.is_empty());
        assert!(venues().iter().all(|v| v.footprint.is_empty()));
        let bad = parse_venues_csv(&text.replace("10.0.0.0/8", "10.0.0.0/99")).unwrap_err();
        assert_eq!(
            (bad.line, bad.field.as_deref()),
            (Some(2), Some("networks")),
            "{bad}"
        );
        let bad = parse_venues_csv(&text.replace("AS64500", "ASx")).unwrap_err();
        assert_eq!(bad.field.as_deref(), Some("asns"), "{bad}");
    }

    #[test]
    fn parses_events_and_copies_the_venue() {
        let e = parse_events_csv(EVENTS, &venues()).unwrap();
        assert_eq!(e.len(), 2);
        let p = &e[0];
        assert_eq!(p.kind, EntityKind::Event);
        assert_eq!(p.venue, Some(EntityId::new("crocus")));
        assert_eq!(
            p.location,
            Some(GeoPoint {
                lat: 55.826,
                lon: 37.390
            })
        );
        assert_eq!(p.city.as_deref(), Some("Krasnogorsk"));
        assert_eq!(p.capacity, Some(6200));
        assert_eq!(p.span.unwrap().duration().num_hours(), 3);
        assert_eq!(
            p.span.unwrap().from.to_rfc3339(),
            "2024-03-22T17:00:00+00:00"
        );
        assert_eq!(p.audiences, vec![AudienceId::new("crocus-ops")]);
        assert!(e[1].venue.is_none() && e[1].location.is_none());
    }

    #[test]
    fn an_event_without_a_venue_may_say_where_it_is() {
        let text = "id,name,aliases,category,venue_id,starts,ends,expected_attendance,operator,lat,lon,city,country\n\
fete,Fête de la musique,,event/festival,,2024-06-21T16:00:00Z,2024-06-21T23:00:00Z,20000,,48.8566,2.3522,Paris,FRA\n";
        let e = parse_events_csv(text, &venues()).unwrap();
        assert_eq!(
            e[0].location,
            Some(GeoPoint {
                lat: 48.8566,
                lon: 2.3522
            })
        );
        assert_eq!(e[0].city.as_deref(), Some("Paris"));
        assert_eq!(e[0].country.map(|c| c.to_string()).as_deref(), Some("FRA"));
        // Half a location, a bad country, or a location beside a venue: errors naming the field.
        let half = text.replace(",2.3522,", ",,");
        let err = parse_events_csv(&half, &venues()).unwrap_err();
        assert_eq!(err.field.as_deref(), Some("lon"), "{err}");
        let bad = text.replace(",FRA", ",France");
        let err = parse_events_csv(&bad, &venues()).unwrap_err();
        assert_eq!(err.field.as_deref(), Some("country"), "{err}");
        let both = text.replace(",event/festival,,", ",event/festival,crocus,");
        let err = parse_events_csv(&both, &venues()).unwrap_err();
        assert_eq!(err.field.as_deref(), Some("lat"), "{err}");
        assert!(err.to_string().contains("venue"), "{err}");
    }

    fn venue_err(text: &str) -> String {
        parse_venues_csv(text).unwrap_err().to_string()
    }

    const HEADER: &str = "id,name,aliases,category,lat,lon,capacity,city,country,operator\n";

    #[test]
    fn wrong_column_count_names_the_line() {
        let e = venue_err(&format!(
            "{HEADER}a,A,,venue,1,2,3,c,RUS,op\nb,B,,venue,1,2,3,c,RUS\n"
        ));
        assert_eq!(
            e,
            "line 3: expected 10 fields (id,name,aliases,category,lat,lon,capacity,city,country,operator) but found 9"
        );
    }

    #[test]
    fn bad_coordinates_name_line_and_column() {
        let e = venue_err(&format!("{HEADER}a,A,,venue,91.5,2,,,,\n"));
        assert!(
            e.starts_with("line 2, `lat`: coordinates out of range: lat 91.5"),
            "{e}"
        );
        let e = venue_err(&format!("{HEADER}a,A,,venue,1,200,,,,\n"));
        assert!(
            e.starts_with("line 2, `lon`: coordinates out of range"),
            "{e}"
        );
        let e = venue_err(&format!("{HEADER}a,A,,venue,north,2,,,,\n"));
        assert_eq!(
            e,
            "line 2, `lat`: expected a latitude in degrees but found \"north\""
        );
        let e = venue_err(&format!("{HEADER}a,A,,venue,1,,,,,\n"));
        assert_eq!(e, "line 2, `lon`: lat is given, so lon must be too");
    }

    #[test]
    fn other_venue_errors() {
        assert!(venue_err(&format!("{HEADER}a,A,,Venue,,,,,,\n"))
            .starts_with("line 2, `category`: invalid category"));
        assert!(venue_err(&format!("{HEADER}a,A,,venue,,,,,RU,\n"))
            .starts_with("line 2, `country`: not an ISO 3166-1"));
        assert!(venue_err(&format!("{HEADER}a,A,,venue,,,-5,,,\n"))
            .starts_with("line 2, `capacity`: expected a whole number"));
        assert_eq!(
            venue_err(&format!("{HEADER},A,,venue,,,,,,\n")),
            "line 2, `id`: must not be empty"
        );
        assert_eq!(
            venue_err(&format!("{HEADER}a,A,,venue,,,,,,\n\na,B,,venue,,,,,,\n")),
            "line 4, `id`: duplicate venue id \"a\" (first on line 2)"
        );
        assert!(
            venue_err("id,name,aliases,category,lat,lng,capacity,city,country,operator\n")
                .starts_with("line 1: missing column `lon`")
        );
        assert!(venue_err(&format!(
            "{}x,a\n",
            HEADER.trim_end().to_owned() + ",extra\n"
        ))
        .starts_with("line 1: unknown column `extra`"));
        assert!(venue_err("").starts_with("line 1: missing column `id`"));
        assert!(venue_err(&format!("{HEADER}a,\"A,,venue,,,,,,\n")).contains("expected 10 fields"));
        assert_eq!(parse_venues_csv(HEADER).unwrap(), vec![]);
    }

    #[test]
    fn lines_count_blank_comment_and_crlf_lines() {
        let text = format!("# venues\n\n{HEADER}a,A,,venue,,,,,,\n\n# note\n\nb,B,,venue,,,,,,,\n");
        assert!(venue_err(&text).starts_with("line 8: expected 10 fields"));
        let text = format!("{HEADER}a,\"A\nsecond line\",,venue,,,,,,\nb,B,,venue,91,,,,,\n")
            .replace('\n', "\r\n");
        assert!(
            venue_err(&text).starts_with("line 4, `lon`"),
            "{}",
            venue_err(&text)
        );
        assert!(venue_err("\n\nid,name\n").starts_with("line 3: missing column `aliases`"));
    }

    #[test]
    fn event_errors() {
        let h = "id,name,aliases,category,venue_id,starts,ends,expected_attendance,operator\n";
        let ev = |row: &str| {
            parse_events_csv(&format!("{h}{row}\n"), &venues())
                .unwrap_err()
                .to_string()
        };
        assert_eq!(
            ev("e,E,,event,nowhere,2024-03-22T20:00:00Z,2024-03-22T23:00:00Z,,"),
            "line 2, `venue_id`: unknown venue_id \"nowhere\": no venue in the venues file has this id"
        );
        assert!(
            ev("e,E,,event,,2024-03-22T23:00:00Z,2024-03-22T20:00:00Z,,")
                .starts_with("line 2, `ends`: time window is empty or reversed")
        );
        assert!(ev("e,E,,event,,2024-03-22 20:00,2024-03-22T23:00:00Z,,")
            .starts_with("line 2, `starts`: expected an RFC 3339 time"));
        assert!(
            ev("e,E,,event,,2024-03-22T20:00:00,2024-03-22T23:00:00Z,,").contains("with an offset")
        );
        assert_eq!(
            ev("e,E,,event,,,2024-03-22T23:00:00Z,,"),
            "line 2, `starts`: must not be empty"
        );
        assert!(
            ev("crocus,E,,event,,2024-03-22T20:00:00Z,2024-03-22T23:00:00Z,,")
                .contains("already the id of a venue")
        );
        assert!(
            ev("e,E,,event,,2024-03-22T20:00:00Z,2024-03-22T23:00:00Z,many,")
                .starts_with("line 2, `expected_attendance`")
        );
    }

    const AUDIENCES: &str = r#"
[[audience]]
id = "fsb"
name = "FSB liaison"
kind = "partner_service"
country = "RUS"
clearance = "S"
tlp_ceiling = "RED"
channels = [{ kind = "file", address = "outbox/fsb" }]
escalation_contact = "duty officer"
posture_interval_hours = 24

[[audience]]
id = "crocus-ops"
name = "Crocus City Hall security"
kind = "operator"
country = "RUS"
clearance = "U"
tlp_ceiling = "TLP:AMBER"
language = "ru"

[[audience]]
id = "public-ru"
name = "US Embassy Moscow public advisory"
kind = "public"
clearance = "U"
tlp_ceiling = "CLEAR"
"#;

    #[test]
    fn parses_audiences() {
        let a = parse_audiences_toml(AUDIENCES).unwrap();
        assert_eq!(a.len(), 3);
        assert_eq!(a[0].kind, AudienceKind::PartnerService);
        assert_eq!(a[0].clearance, Classification::S);
        assert_eq!(a[0].tlp_ceiling, TlpLevel::Red);
        assert_eq!(
            a[0].channels,
            vec![ChannelSpec {
                kind: ChannelKind::File,
                address: "outbox/fsb".into()
            }]
        );
        assert_eq!(a[0].posture_interval_hours, Some(24));
        assert_eq!(a[0].language, "en");
        assert!(!a[0].orcon_approved);
        assert_eq!(a[1].tlp_ceiling, TlpLevel::Amber);
        assert_eq!(a[1].language, "ru");
        assert_eq!(a[1].timezone, None);
        assert!(a[2].country.is_none());
        assert_eq!(parse_audiences_toml("").unwrap(), vec![]);
    }

    fn aud_err(from: &str, to: &str) -> String {
        assert!(AUDIENCES.contains(from), "{from}");
        parse_audiences_toml(&AUDIENCES.replacen(from, to, 1))
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn audience_errors_name_line_and_field() {
        assert_eq!(
            aud_err("clearance = \"S\"", "clearance = \"SECRET\""),
            "line 7, column 13, `audience[0].clearance`: unknown variant `SECRET`, expected one of `U`, `C`, `S`, `TS`"
        );
        assert!(aud_err("kind = \"operator\"", "kind = \"venue\"")
            .starts_with("line 16, column 8, `audience[1].kind`: unknown variant"));
        assert!(aud_err("tlp_ceiling = \"RED\"", "tlp_ceiling = \"WHITE\"")
            .contains("`audience[0].tlp_ceiling`: expected a TLP 2.0 level"));
        assert!(aud_err("country = \"RUS\"", "country = \"Russia\"")
            .starts_with("line 6, column 11, `audience[0].country`: not an ISO"));
        assert!(
            aud_err("language = \"ru\"", "langauge = \"ru\"").contains("unknown field `langauge`")
        );
        let tz = aud_err(
            "language = \"ru\"",
            "language = \"ru\"\ntimezone = \"Moscow\"",
        );
        assert!(
            tz.contains("`audience[1].timezone`")
                && tz.contains("\"Moscow\" is not an IANA time zone"),
            "{tz}"
        );
        let ok = AUDIENCES.replacen(
            "language = \"ru\"",
            "language = \"ru\"\ntimezone = \"Europe/Moscow\"",
            1,
        );
        assert_eq!(
            parse_audiences_toml(&ok).unwrap()[1].timezone.as_deref(),
            Some("Europe/Moscow")
        );
        assert!(aud_err("kind = \"file\"", "kind = \"pigeon\"")
            .contains("`audience[0].channels[0].kind`"));
        assert!(
            aud_err("name = \"FSB liaison\"\n", "").contains("`audience[0]`: missing field `name`")
        );
        assert_eq!(
            aud_err("id = \"public-ru\"", "id = \"fsb\""),
            "`audience[2].id`: duplicate audience id \"fsb\" (also audience[0])"
        );
        assert!(
            aud_err("tlp_ceiling = \"CLEAR\"", "tlp_ceiling = \"GREEN\"")
                .contains("public audience accepts TLP:CLEAR only")
        );
        assert!(aud_err(
            "[[audience]]\nid = \"public-ru\"",
            "[[audience]]\nid = \"public-ru\"\nclearance = \"S\""
        )
        .contains("duplicate key"));
        assert!(aud_err("address = \"outbox/fsb\"", "address = \" \"")
            .contains("channels[0].address`: must not be empty"));
        assert!(parse_audiences_toml("[[audiences]]\nid = \"x\"")
            .unwrap_err()
            .to_string()
            .contains("unknown field `audiences`"));
    }
}
