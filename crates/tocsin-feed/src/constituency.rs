//! The constituency: organisations a CERT warns, with what identifies their networks and how they
//! want to hear about it. Imported from CSV (`docs/feeds.md`), stored as JSON per organisation.

use crate::{FeedError, Result};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::io::Read;
use std::net::IpAddr;
use tocsin_core::entity::{parse_asn, IpNet};
use tocsin_core::{Timestamp, TlpLevel};
use tocsin_match::net::PrefixTable;

/// How often an organisation may be notified about one report type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Interval {
    /// `-1`: never notify (events are counted as suppressed).
    Never,
    /// At most one notification per this many seconds, rolling (`0`: every run).
    Every(u64),
    /// At most one notification per calendar day in the CERT's time zone (`daily`): a report
    /// that arrives a little earlier than yesterday's is still sent.
    CalendarDay,
}

/// Whether an interval lets a notification go out now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Due {
    Now,
    /// Held back until this time.
    NotBefore(Timestamp),
    Never,
}

impl Interval {
    /// `-1`/`never`, `0`, `hourly`, `daily` (calendar day), `weekly`, or a number with unit
    /// `s`, `m`, `h`, `d` (rolling, e.g. `24h`).
    pub fn parse(s: &str) -> std::result::Result<Self, String> {
        let s = s.trim().to_ascii_lowercase();
        let secs = match s.as_str() {
            "-1" | "never" => return Ok(Interval::Never),
            "daily" => return Ok(Interval::CalendarDay),
            "0" | "always" => 0,
            "hourly" => 3_600,
            "weekly" => 7 * 86_400,
            "" => return Err("empty interval".into()),
            _ => {
                let (num, unit) = s.split_at(s.len() - 1);
                let mult = match unit {
                    "s" => 1,
                    "m" => 60,
                    "h" => 3_600,
                    "d" => 86_400,
                    _ => return Err(format!("interval {s:?}: expected -1, never, hourly, daily, weekly or a number with unit s, m, h or d (e.g. 24h)")),
                };
                num.parse::<u64>()
                    .map_err(|_| format!("interval {s:?}: {num:?} is not a whole number"))?
                    * mult
            }
        };
        Ok(Interval::Every(secs))
    }

    /// Whether a notification last sent at `last` may be followed by one at `now`.
    pub fn due(&self, last: Option<Timestamp>, now: Timestamp, tz: Tz) -> Due {
        let last = match (self, last) {
            (Interval::Never, _) => return Due::Never,
            (_, None) => return Due::Now,
            (_, Some(l)) => l,
        };
        let next = match self {
            Interval::Never => return Due::Never,
            Interval::Every(secs) => last + chrono::Duration::seconds(*secs as i64),
            Interval::CalendarDay => {
                let day = last.with_timezone(&tz).date_naive();
                let next_day = day.succ_opt().unwrap_or(day);
                match next_day
                    .and_hms_opt(0, 0, 0)
                    .and_then(|m| m.and_local_timezone(tz).earliest())
                {
                    Some(t) => t.with_timezone(&chrono::Utc),
                    // Midnight skipped by a DST change: the day starts an hour later at most.
                    None => last + chrono::Duration::hours(24),
                }
            }
        };
        if now >= next {
            Due::Now
        } else {
            Due::NotBefore(next)
        }
    }
}

/// Intervals by report type, with a default: the cell `daily;scan_ntp=weekly;event4_sinkhole=0`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Intervals {
    pub default: Option<Interval>,
    pub by_type: BTreeMap<String, Interval>,
}

impl Intervals {
    pub fn parse(cell: &str) -> std::result::Result<Self, String> {
        let mut out = Intervals::default();
        for item in cell.split(';').map(str::trim).filter(|x| !x.is_empty()) {
            match item.split_once('=') {
                Some((ty, iv)) => {
                    let ty = crate::vocabulary::report_type_name(ty);
                    if ty.is_empty() {
                        return Err(format!("interval {item:?}: empty report type before '='"));
                    }
                    out.by_type.insert(ty, Interval::parse(iv)?);
                }
                None => {
                    if out.default.is_some() {
                        return Err(format!(
                            "interval {cell:?}: two intervals without a report type"
                        ));
                    }
                    out.default = Some(Interval::parse(item)?);
                }
            }
        }
        Ok(out)
    }
}

/// Settings for the whole constituency (the `*` row): inhibitions for everyone, the default
/// intervals and the CERT's time zone. Stored as the `*` record.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Settings {
    #[serde(default)]
    pub inhibitions: Vec<InhibitionKind>,
    #[serde(default)]
    pub intervals: Intervals,
    /// IANA name (e.g. `Europe/Berlin`); UTC when absent.
    #[serde(default)]
    pub timezone: Option<String>,
}

/// A parsed constituency file.
#[derive(Debug)]
pub struct ConstituencyFile {
    pub orgs: Vec<Org>,
    pub settings: Settings,
    /// Things the CERT should fix that do not stop the import (e.g. an organisation without a
    /// contact), each naming its line.
    pub warnings: Vec<String>,
}

/// What an inhibition suppresses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub enum InhibitionKind {
    /// Events whose address lies in this prefix.
    Prefix(IpNet),
    /// Events whose ASN is this one.
    Asn(u32),
    /// Events whose domain is this one or below it.
    Domain(String),
    /// Events of this type (e.g. `scan_ssh`).
    EventType(String),
    /// Every event of the organisation.
    Organisation,
}

/// An inhibition: for one organisation, or for everyone (`org` = `None`, the `*` row).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Inhibition {
    pub org: Option<String>,
    #[serde(flatten)]
    pub kind: InhibitionKind,
}

impl InhibitionKind {
    /// `prefix:10.0.0.0/8`, `asn:64500`, `domain:example.org`, `type:scan_ssh`, `org`.
    pub fn parse(s: &str) -> std::result::Result<Self, String> {
        let s = s.trim();
        if s == "org" || s == "organisation" || s == "organization" {
            return Ok(InhibitionKind::Organisation);
        }
        let (k, v) = s.split_once(':').ok_or_else(|| {
            format!("inhibition {s:?}: expected KIND:VALUE (prefix, asn, domain, type) or org")
        })?;
        let v = v.trim();
        match k.trim() {
            "prefix" => IpNet::parse(v)
                .map(InhibitionKind::Prefix)
                .map_err(|e| format!("inhibition {s:?}: {e}")),
            "asn" => parse_asn(v)
                .map(InhibitionKind::Asn)
                .map_err(|e| format!("inhibition {s:?}: {e}")),
            "domain" => Ok(InhibitionKind::Domain(
                v.trim_end_matches('.').to_ascii_lowercase(),
            )),
            "type" | "event_type" if v.is_empty() => Err(format!("inhibition {s:?}: empty type")),
            "type" | "event_type" => Ok(InhibitionKind::EventType(v.to_owned())),
            other => Err(format!(
                "inhibition {s:?}: unknown kind {other:?} (prefix, asn, domain, type, org)"
            )),
        }
    }

    /// Whether this inhibition suppresses an event. A type inhibition names the event's type
    /// as the feed gives it (`rdp;cve-2019-0708`), one of its tags (`rdp`, `cve-2019-0708`),
    /// the run's report type (`scan_rdp`) or its normalised name (`accessible-rdp`); see
    /// [`crate::vocabulary`].
    pub fn applies(
        &self,
        addr: IpAddr,
        asn: Option<u32>,
        domain: &[u8],
        event_type: &[u8],
        report: &crate::vocabulary::ReportType,
    ) -> bool {
        match self {
            InhibitionKind::Organisation => true,
            InhibitionKind::Prefix(net) => net.contains(&IpNet::host(addr)),
            InhibitionKind::Asn(a) => asn == Some(*a),
            InhibitionKind::EventType(t) => {
                report.names(t) || crate::vocabulary::type_names(event_type, t.as_bytes())
            }
            InhibitionKind::Domain(d) => {
                let dom = domain.strip_suffix(b".").unwrap_or(domain);
                dom.len() >= d.len()
                    && dom[dom.len() - d.len()..].eq_ignore_ascii_case(d.as_bytes())
                    && (dom.len() == d.len() || dom[dom.len() - d.len() - 1] == b'.')
            }
        }
    }
}

/// An organisation of the constituency.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Org {
    pub id: String,
    pub name: String,
    pub networks: Vec<IpNet>,
    #[serde(default)]
    pub asns: Vec<u32>,
    #[serde(default)]
    pub domains: Vec<String>,
    #[serde(default)]
    pub emails: Vec<String>,
    #[serde(default)]
    pub webhooks: Vec<String>,
    /// The organisation's own interval for every report type (`None`: the constituency's).
    #[serde(default)]
    pub interval: Option<Interval>,
    /// Its intervals for particular report types (override `interval`).
    #[serde(default)]
    pub interval_by_type: BTreeMap<String, Interval>,
    #[serde(default)]
    pub inhibitions: Vec<InhibitionKind>,
    pub tlp: TlpLevel,
}

impl Org {
    /// Whether anyone can receive this organisation's notifications.
    pub fn has_contact(&self) -> bool {
        !self.emails.is_empty() || !self.webhooks.is_empty()
    }
}

/// The constituency with its network index: prefix → organisation (index into `orgs`).
#[derive(Debug)]
pub struct Constituency {
    pub orgs: Vec<Org>,
    /// Inhibitions for every organisation (the `*` row of the CSV).
    pub global_inhibitions: Vec<InhibitionKind>,
    /// Intervals for organisations that set none (the `*` row; default `daily`).
    pub intervals: Intervals,
    /// The CERT's time zone: where a `daily` interval's calendar day begins.
    pub timezone: Tz,
    pub table: PrefixTable<u32>,
    /// ASN → organisation, for events outside every prefix.
    pub asns: HashMap<u32, u32>,
    /// Domain → organisation, for events with a host name outside every prefix.
    pub domains: HashMap<String, u32>,
    /// IPv4 look-ups of the hot path, derived from `table`.
    pub v4: crate::index::V4Index,
}

/// The header of the constituency CSV.
pub const CONSTITUENCY_COLUMNS: &[&str] = &[
    "org_id", "name", "prefixes", "asns", "domains", "emails", "webhooks", "interval", "tlp",
    "inhibit", "timezone",
];

/// The pseudo-organisation whose row holds inhibitions, intervals and the time zone for everyone.
pub const GLOBAL_ROW: &str = "*";

/// An IANA time zone name (`Europe/Berlin`), or UTC when absent.
pub fn parse_timezone(name: Option<&str>) -> std::result::Result<Tz, String> {
    match name.map(str::trim) {
        None | Some("") => Ok(Tz::UTC),
        Some(n) => n
            .parse::<Tz>()
            .map_err(|_| format!("{n:?} is not an IANA time zone name (e.g. Europe/Berlin, UTC)")),
    }
}

/// `local@domain` with nothing that could end a header or an address list.
fn is_email(e: &str) -> bool {
    match e.split_once('@') {
        Some((l, d)) => {
            !l.is_empty()
                && d.contains('.')
                && !d.contains('@')
                && !e
                    .chars()
                    .any(|c| c.is_control() || c.is_whitespace() || "<>,;\"".contains(c))
        }
        None => false,
    }
}

fn list(s: &str) -> impl Iterator<Item = &str> {
    s.split([';', ' ', '|'])
        .map(str::trim)
        .filter(|x| !x.is_empty())
}

impl Constituency {
    /// Build the index over `orgs`. A prefix claimed by two organisations goes to the later one
    /// (the CSV order decides); `conflicts` reports each such prefix so the CERT can fix its data.
    pub fn new(orgs: Vec<Org>, global_inhibitions: Vec<InhibitionKind>) -> (Self, Vec<String>) {
        let mut table = PrefixTable::new();
        let mut conflicts = Vec::new();
        let mut asns: HashMap<u32, u32> = HashMap::new();
        let mut domains: HashMap<String, u32> = HashMap::new();
        for (i, o) in orgs.iter().enumerate() {
            for a in &o.asns {
                if let Some(prev) = asns.insert(*a, i as u32) {
                    if prev as usize != i {
                        conflicts.push(format!(
                            "AS{a} is listed for {} and {}; {} wins",
                            orgs[prev as usize].id, o.id, o.id
                        ));
                    }
                }
            }
            for d in &o.domains {
                if let Some(prev) = domains.insert(d.clone(), i as u32) {
                    if prev as usize != i {
                        conflicts.push(format!(
                            "domain {d} is listed for {} and {}; {} wins",
                            orgs[prev as usize].id, o.id, o.id
                        ));
                    }
                }
            }
            for n in &o.networks {
                if let Some(prev) = table.insert(*n, i as u32) {
                    if prev as usize != i {
                        conflicts.push(format!(
                            "{n} is listed for {} and {}; {} wins",
                            orgs[prev as usize].id, o.id, o.id
                        ));
                    }
                }
            }
        }
        let v4 = crate::index::V4Index::build(&table);
        (
            Self {
                orgs,
                global_inhibitions,
                intervals: Intervals::default(),
                timezone: Tz::UTC,
                table,
                asns,
                domains,
                v4,
            },
            conflicts,
        )
    }

    /// Build the constituency with its settings (the `*` row). Fails on an unknown time zone.
    pub fn with_settings(orgs: Vec<Org>, settings: Settings) -> Result<(Self, Vec<String>)> {
        let timezone =
            parse_timezone(settings.timezone.as_deref()).map_err(|reason| FeedError::Mapping {
                name: "constituency settings".into(),
                reason,
            })?;
        let (mut c, conflicts) = Self::new(orgs, settings.inhibitions);
        c.intervals = settings.intervals;
        c.timezone = timezone;
        Ok((c, conflicts))
    }

    /// The interval that applies to organisation `org` for `report_type`: the organisation's
    /// for that type, its own, the constituency's for that type, the constituency's, `daily`.
    pub fn interval(&self, org: &Org, report_type: &str) -> Interval {
        org.interval_by_type
            .get(report_type)
            .copied()
            .or(org.interval)
            .or_else(|| self.intervals.by_type.get(report_type).copied())
            .or(self.intervals.default)
            .unwrap_or(Interval::CalendarDay)
    }

    /// The organisation owning `host` (a host name) by its domains: the longest listed domain
    /// that is the name or a parent of it.
    pub fn domain_owner(&self, host: &[u8]) -> Option<(u32, usize)> {
        if self.domains.is_empty() {
            return None;
        }
        let host = host.strip_suffix(b".").unwrap_or(host);
        let host = std::str::from_utf8(host).ok()?.to_ascii_lowercase();
        let mut rest = host.as_str();
        loop {
            if let Some(&o) = self.domains.get(rest) {
                return Some((o, host.len() - rest.len()));
            }
            rest = rest.split_once('.')?.1;
        }
    }

    /// The stored form: one record per organisation (id, JSON) and the `*` record (settings).
    pub fn records(orgs: &[Org], settings: &Settings) -> Result<Vec<(String, String)>> {
        let js = |e: serde_json::Error| FeedError::Mapping {
            name: "constituency record".into(),
            reason: e.to_string(),
        };
        let mut rows: Vec<(String, String)> = orgs
            .iter()
            .map(|o| Ok((o.id.clone(), serde_json::to_string(o).map_err(js)?)))
            .collect::<Result<_>>()?;
        if *settings != Settings::default() {
            rows.push((
                GLOBAL_ROW.into(),
                serde_json::to_string(settings).map_err(js)?,
            ));
        }
        Ok(rows)
    }

    /// The constituency from its stored records ([`Constituency::records`]).
    pub fn from_records(rows: Vec<(String, String)>) -> Result<Self> {
        let mut orgs = Vec::new();
        let mut settings = Settings::default();
        for (id, js) in rows {
            let bad = |e: serde_json::Error| FeedError::Mapping {
                name: format!("stored constituency record {id:?}"),
                reason: e.to_string(),
            };
            if id == GLOBAL_ROW {
                settings = serde_json::from_str(&js).map_err(bad)?;
            } else {
                orgs.push(serde_json::from_str(&js).map_err(bad)?);
            }
        }
        Ok(Self::with_settings(orgs, settings)?.0)
    }

    /// Read the constituency CSV (`CONSTITUENCY_COLUMNS`; only `org_id` is required, other
    /// columns may be missing or empty; a column not in the list is an error naming it).
    /// `progress(rows, bytes_read)` is called every 10,000 rows. Any bad cell fails the import
    /// with its line and column: a half-loaded constituency would send warnings to the wrong
    /// owner. An organisation without a contact is loaded, with a warning.
    pub fn read_csv<R: Read>(
        input: R,
        file: &str,
        mut progress: impl FnMut(u64, u64),
    ) -> Result<ConstituencyFile> {
        let mut rdr = csv::ReaderBuilder::new()
            .flexible(true)
            .trim(csv::Trim::All)
            .from_reader(input);
        let perr = |line: u64, reason: String| FeedError::Parse {
            file: file.to_owned(),
            line,
            reason,
        };
        let headers = rdr.headers().map_err(|e| perr(1, e.to_string()))?.clone();
        for h in headers.iter() {
            if !CONSTITUENCY_COLUMNS
                .iter()
                .any(|c| c.eq_ignore_ascii_case(h))
            {
                return Err(perr(
                    1,
                    format!(
                        "unknown column {h:?}; the columns are {}",
                        CONSTITUENCY_COLUMNS.join(",")
                    ),
                ));
            }
        }
        let col = |name: &str| headers.iter().position(|h| h.eq_ignore_ascii_case(name));
        let idx: Vec<Option<usize>> = CONSTITUENCY_COLUMNS.iter().map(|c| col(c)).collect();
        if idx[0].is_none() {
            return Err(perr(
                1,
                format!(
                    "no org_id column; the header must name some of {}",
                    CONSTITUENCY_COLUMNS.join(",")
                ),
            ));
        }
        let mut orgs = Vec::new();
        let mut settings = Settings::default();
        let mut warnings = Vec::new();
        let mut seen = std::collections::HashSet::new();
        let mut rec = csv::StringRecord::new();
        let mut rows = 0u64;
        loop {
            let more = rdr
                .read_record(&mut rec)
                .map_err(|e| perr(e.position().map(|p| p.line()).unwrap_or(0), e.to_string()))?;
            if !more {
                break;
            }
            let line = rec.position().map(|p| p.line()).unwrap_or(0);
            if rec.len() > headers.len() {
                return Err(perr(
                    line,
                    format!(
                        "{} cells but the header has {} columns",
                        rec.len(),
                        headers.len()
                    ),
                ));
            }
            let get = |c: usize| idx[c].and_then(|i| rec.get(i)).unwrap_or("");
            let cell_err = |c: usize, reason: String| {
                perr(
                    line,
                    format!("column {}: {reason}", CONSTITUENCY_COLUMNS[c]),
                )
            };
            let id = get(0).to_owned();
            if id.is_empty() {
                return Err(cell_err(0, "empty organisation id".into()));
            }
            let mut inhibitions = Vec::new();
            for s in get(9).split(';').map(str::trim).filter(|x| !x.is_empty()) {
                inhibitions.push(InhibitionKind::parse(s).map_err(|e| cell_err(9, e))?);
            }
            let intervals = Intervals::parse(get(7)).map_err(|e| cell_err(7, e))?;
            if id == GLOBAL_ROW {
                for c in [1, 2, 3, 4, 5, 6, 8] {
                    if !get(c).is_empty() {
                        return Err(cell_err(
                            c,
                            "the * row holds only interval, inhibit and timezone".into(),
                        ));
                    }
                }
                parse_timezone(Some(get(10))).map_err(|e| cell_err(10, e))?;
                settings.inhibitions.extend(inhibitions);
                if intervals.default.is_some() {
                    settings.intervals.default = intervals.default;
                }
                settings.intervals.by_type.extend(intervals.by_type);
                if !get(10).is_empty() {
                    settings.timezone = Some(get(10).to_owned());
                }
                continue;
            }
            if !get(10).is_empty() {
                return Err(cell_err(
                    10,
                    "the time zone is the CERT's: set it on the * row".into(),
                ));
            }
            if !seen.insert(id.clone()) {
                return Err(cell_err(0, format!("organisation {id:?} appears twice")));
            }
            let networks = list(get(2))
                .map(|p| IpNet::parse(p).map_err(|e| cell_err(2, e.to_string())))
                .collect::<Result<Vec<_>>>()?;
            let asns = list(get(3))
                .map(|a| parse_asn(a).map_err(|e| cell_err(3, e)))
                .collect::<Result<Vec<_>>>()?;
            let domains: Vec<String> = list(get(4))
                .map(|d| d.trim_end_matches('.').to_ascii_lowercase())
                .collect();
            if let Some(bad) = domains.iter().find(|d| {
                d.is_empty()
                    || !d
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
            }) {
                return Err(cell_err(4, format!("{bad:?} is not a domain name")));
            }
            let emails: Vec<String> = list(get(5)).map(str::to_owned).collect();
            if let Some(bad) = emails.iter().find(|e| !is_email(e)) {
                return Err(cell_err(5, format!("{bad:?} is not an e-mail address")));
            }
            let webhooks: Vec<String> = list(get(6)).map(str::to_owned).collect();
            if let Some(bad) = webhooks
                .iter()
                .find(|w| !(w.starts_with("https://") || w.starts_with("http://")))
            {
                return Err(cell_err(6, format!("{bad:?} is not an http(s) URL")));
            }
            let tlp = match get(8)
                .trim_start_matches("TLP:")
                .to_ascii_uppercase()
                .as_str()
            {
                "" => TlpLevel::Amber,
                t => TlpLevel::from_level_name(t).ok_or_else(|| {
                    cell_err(
                        8,
                        format!(
                            "{t:?} is not a TLP level (CLEAR, GREEN, AMBER, AMBER+STRICT, RED)"
                        ),
                    )
                })?,
            };
            let name = match get(1) {
                "" => id.clone(),
                n => n.to_owned(),
            };
            let o = Org {
                id,
                name,
                networks,
                asns,
                domains,
                emails,
                webhooks,
                interval: intervals.default,
                interval_by_type: intervals.by_type,
                inhibitions,
                tlp,
            };
            if !o.has_contact() {
                warnings.push(format!(
                    "{file}:{line}: organisation {:?} has no contact (emails, webhooks): its events are counted as no_contact and sent to nobody",
                    o.id
                ));
            }
            orgs.push(o);
            rows += 1;
            if rows.is_multiple_of(10_000) {
                progress(rows, rec.position().map(|p| p.byte()).unwrap_or(0));
            }
        }
        progress(rows, rdr.position().byte());
        Ok(ConstituencyFile {
            orgs,
            settings,
            warnings,
        })
    }

    /// The bench's simple inputs: `org_id,name` and `prefix,org_id` (both with a header). Each
    /// organisation gets a daily interval, TLP:AMBER and the contact `abuse@<org_id>.invalid`.
    pub fn from_simple_csv<R1: Read, R2: Read>(
        orgs: R1,
        prefixes: R2,
    ) -> Result<(Self, Vec<String>)> {
        let perr = |file: &str, line: u64, reason: String| FeedError::Parse {
            file: file.to_owned(),
            line,
            reason,
        };
        let mut list = Vec::new();
        let mut by_id = std::collections::HashMap::new();
        let mut rdr = csv::ReaderBuilder::new()
            .trim(csv::Trim::All)
            .from_reader(orgs);
        for (i, rec) in rdr.records().enumerate() {
            let rec = rec.map_err(|e| perr("orgs", i as u64 + 2, e.to_string()))?;
            let id = rec.get(0).unwrap_or("").to_owned();
            if id.is_empty() {
                return Err(perr("orgs", i as u64 + 2, "empty org_id".into()));
            }
            by_id.insert(id.clone(), list.len());
            list.push(Org {
                name: rec.get(1).unwrap_or(&id).to_owned(),
                emails: vec![format!("abuse@{id}.invalid")],
                id,
                networks: vec![],
                asns: vec![],
                domains: vec![],
                webhooks: vec![],
                interval: Some(Interval::Every(86_400)),
                interval_by_type: BTreeMap::new(),
                inhibitions: vec![],
                tlp: TlpLevel::Amber,
            });
        }
        let mut rdr = csv::ReaderBuilder::new()
            .trim(csv::Trim::All)
            .from_reader(prefixes);
        for (i, rec) in rdr.records().enumerate() {
            let line = i as u64 + 2;
            let rec = rec.map_err(|e| perr("prefixes", line, e.to_string()))?;
            let net = IpNet::parse(rec.get(0).unwrap_or(""))
                .map_err(|e| perr("prefixes", line, e.to_string()))?;
            let org = rec.get(1).unwrap_or("");
            let &o = by_id
                .get(org)
                .ok_or_else(|| perr("prefixes", line, format!("unknown org_id {org:?}")))?;
            list[o].networks.push(net);
        }
        Ok(Self::new(list, vec![]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::vocabulary::ReportType;

    fn t(s: &str) -> Timestamp {
        chrono::DateTime::parse_from_rfc3339(s)
            .unwrap()
            .with_timezone(&chrono::Utc)
    }

    #[test]
    fn intervals_parse() {
        assert_eq!(Interval::parse("-1").unwrap(), Interval::Never);
        assert_eq!(Interval::parse("daily").unwrap(), Interval::CalendarDay);
        assert_eq!(Interval::parse("24h").unwrap(), Interval::Every(86_400));
        assert_eq!(Interval::parse("90m").unwrap(), Interval::Every(5_400));
        assert!(Interval::parse("soon").is_err());
        assert!(Interval::parse("xh").is_err());
        let i = Intervals::parse("24h; Scan_NTP=weekly;event4_sinkhole=0").unwrap();
        assert_eq!(i.default, Some(Interval::Every(86_400)));
        assert_eq!(i.by_type["scan_ntp"], Interval::Every(7 * 86_400));
        assert_eq!(i.by_type["event4_sinkhole"], Interval::Every(0));
        assert!(Intervals::parse("daily;hourly").is_err());
        assert!(Intervals::parse("=daily").is_err());
    }

    #[test]
    fn a_calendar_day_is_the_cert_s_and_rolling_intervals_roll() {
        let berlin: Tz = "Europe/Berlin".parse().unwrap();
        let last = t("2026-12-03T05:00:00Z"); // 06:00 in Berlin
        let d = Interval::CalendarDay;
        // The next morning's report, earlier than yesterday's, still goes out.
        assert_eq!(
            d.due(Some(last), t("2026-12-04T04:30:00Z"), berlin),
            Due::Now
        );
        // 23:30 UTC on the 3rd is already the 4th in Berlin; in UTC it is still the 3rd.
        assert_eq!(
            d.due(Some(last), t("2026-12-03T23:30:00Z"), berlin),
            Due::Now
        );
        assert_eq!(
            d.due(Some(last), t("2026-12-03T23:30:00Z"), Tz::UTC),
            Due::NotBefore(t("2026-12-04T00:00:00Z"))
        );
        let r = Interval::Every(86_400);
        assert_eq!(
            r.due(Some(last), t("2026-12-04T04:30:00Z"), berlin),
            Due::NotBefore(t("2026-12-04T05:00:00Z"))
        );
        assert_eq!(Interval::Never.due(None, last, berlin), Due::Never);
        assert_eq!(r.due(None, last, berlin), Due::Now);
    }

    #[test]
    fn inhibitions_parse_and_apply() {
        let ip: IpAddr = "10.1.2.3".parse().unwrap();
        let rt = ReportType::new("scan_rdp");
        assert!(InhibitionKind::parse("prefix:10.1.0.0/16")
            .unwrap()
            .applies(ip, None, b"", b"", &rt));
        assert!(!InhibitionKind::parse("prefix:10.2.0.0/16")
            .unwrap()
            .applies(ip, None, b"", b"", &rt));
        assert!(InhibitionKind::parse("asn:AS64500").unwrap().applies(
            ip,
            Some(64500),
            b"",
            b"",
            &rt
        ));
        let d = InhibitionKind::parse("domain:example.org").unwrap();
        assert!(
            d.applies(ip, None, b"mail.Example.org", b"", &rt)
                && d.applies(ip, None, b"example.org.", b"", &rt)
        );
        assert!(!d.applies(ip, None, b"badexample.org", b"", &rt));
        let other = ReportType::new("scan_ssh");
        for name in ["type:rdp", "type:cve-2019-0708", "type:rdp;cve-2019-0708"] {
            assert!(
                InhibitionKind::parse(name).unwrap().applies(
                    ip,
                    None,
                    b"",
                    b"rdp;cve-2019-0708",
                    &other
                ),
                "{name}"
            );
        }
        for name in ["type:scan_rdp", "type:accessible-rdp"] {
            let i = InhibitionKind::parse(name).unwrap();
            assert!(i.applies(ip, None, b"", b"rdp", &rt), "{name}");
            assert!(!i.applies(ip, None, b"", b"ssh", &other), "{name}");
        }
        assert!(
            InhibitionKind::parse("bogus:1").is_err()
                && InhibitionKind::parse("prefix:1.2.3").is_err()
                && InhibitionKind::parse("type:").is_err()
        );
    }

    #[test]
    fn csv_import_reports_bad_cells_with_line_and_column() {
        let ok = "org_id,name,prefixes,asns,emails,interval,tlp,inhibit,timezone\n\
                  a,Alpha,10.0.0.0/8;2001:db8::/32,AS64500,abuse@a.example,daily;scan_ntp=weekly,GREEN,type:scan_ssh,\n\
                  b,Beta,,AS64501,,,,,\n\
                  *,,,,,24h,,asn:64511,Europe/Berlin\n";
        let f = Constituency::read_csv(ok.as_bytes(), "c.csv", |_, _| {}).unwrap();
        assert_eq!(f.orgs.len(), 2);
        assert_eq!(f.orgs[0].networks.len(), 2);
        assert_eq!(f.orgs[0].tlp, TlpLevel::Green);
        assert_eq!(f.settings.inhibitions, vec![InhibitionKind::Asn(64511)]);
        assert_eq!(f.settings.timezone.as_deref(), Some("Europe/Berlin"));
        assert_eq!(
            f.warnings,
            ["c.csv:3: organisation \"b\" has no contact (emails, webhooks): its events are counted as no_contact and sent to nobody"]
        );
        let settings = f.settings.clone();
        let (c, _) = Constituency::with_settings(f.orgs.clone(), f.settings).unwrap();
        assert_eq!(
            c.interval(&c.orgs[0], "scan_ntp"),
            Interval::Every(7 * 86_400)
        );
        assert_eq!(c.interval(&c.orgs[0], "scan_rdp"), Interval::CalendarDay);
        assert_eq!(c.interval(&c.orgs[1], "scan_rdp"), Interval::Every(86_400));
        assert_eq!(c.asns[&64501], 1);
        // Stored and loaded back, the same constituency.
        let back =
            Constituency::from_records(Constituency::records(&f.orgs, &settings).unwrap()).unwrap();
        assert_eq!(back.orgs, f.orgs);
        assert_eq!(back.timezone, c.timezone);

        let err = |text: &str| {
            Constituency::read_csv(text.as_bytes(), "c.csv", |_, _| {})
                .unwrap_err()
                .to_string()
        };
        let e = err("org_id,prefixes\na,10.0.0.0/8\nb,10.0.0/8\n");
        assert!(e.starts_with("c.csv:3: column prefixes"), "{e}");
        let e = err("org_id,email\na,x@a.example\n");
        assert!(e.starts_with("c.csv:1: unknown column \"email\""), "{e}");
        let e = err("org_id,emails\na,x@a.example,extra\n");
        assert!(e.starts_with("c.csv:2:"), "{e}");
        let e = err("org_id,timezone\n*,Mars/Olympus\n");
        assert!(
            e.contains("column timezone") && e.contains("Mars/Olympus"),
            "{e}"
        );
        let e = err("org_id,emails\na,\"x@a.example\r\nBcc: y@b.example\"\n");
        assert!(e.contains("column emails"), "{e}");
    }
}
