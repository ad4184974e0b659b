//! The constituency: organisations a CERT warns, with what identifies their networks and how they
//! want to hear about it. Imported from CSV (`docs/feeds.md`), stored as JSON per organisation.

use crate::{FeedError, Result};
use serde::{Deserialize, Serialize};
use std::io::Read;
use std::net::IpAddr;
use tocsin_core::entity::{parse_asn, IpNet};
use tocsin_core::TlpLevel;
use tocsin_match::net::PrefixTable;

/// How often an organisation may be notified.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Interval {
    /// `-1`: never notify (events are counted as suppressed).
    Never,
    /// At most one notification per this many seconds (`0`: every run).
    Every(u64),
}

impl Interval {
    /// `-1`/`never`, `0`, `hourly`, `daily`, `weekly`, or a number with unit `s`, `m`, `h`, `d`.
    pub fn parse(s: &str) -> std::result::Result<Self, String> {
        let s = s.trim().to_ascii_lowercase();
        let secs = match s.as_str() {
            "-1" | "never" => return Ok(Interval::Never),
            "" | "daily" => 86_400,
            "0" | "always" => 0,
            "hourly" => 3_600,
            "weekly" => 7 * 86_400,
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
            "type" | "event_type" => Ok(InhibitionKind::EventType(v.to_owned())),
            other => Err(format!(
                "inhibition {s:?}: unknown kind {other:?} (prefix, asn, domain, type, org)"
            )),
        }
    }

    /// Whether this inhibition suppresses an event.
    pub fn applies(
        &self,
        addr: IpAddr,
        asn: Option<u32>,
        domain: &[u8],
        event_type: &[u8],
    ) -> bool {
        match self {
            InhibitionKind::Organisation => true,
            InhibitionKind::Prefix(net) => net.contains(&IpNet::host(addr)),
            InhibitionKind::Asn(a) => asn == Some(*a),
            InhibitionKind::EventType(t) => t.as_bytes() == event_type,
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
    pub interval: Interval,
    #[serde(default)]
    pub inhibitions: Vec<InhibitionKind>,
    pub tlp: TlpLevel,
}

/// The constituency with its network index: prefix → organisation (index into `orgs`).
#[derive(Debug)]
pub struct Constituency {
    pub orgs: Vec<Org>,
    /// Inhibitions for every organisation (the `*` row of the CSV).
    pub global_inhibitions: Vec<InhibitionKind>,
    pub table: PrefixTable<u32>,
    /// IPv4 look-ups of the hot path, derived from `table`.
    pub v4: crate::index::V4Index,
}

/// The header of the constituency CSV.
pub const CONSTITUENCY_COLUMNS: &[&str] = &[
    "org_id", "name", "prefixes", "asns", "domains", "emails", "webhooks", "interval", "tlp",
    "inhibit",
];

/// The pseudo-organisation whose row holds inhibitions for everyone.
pub const GLOBAL_ROW: &str = "*";

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
        for (i, o) in orgs.iter().enumerate() {
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
                table,
                v4,
            },
            conflicts,
        )
    }

    /// Read the constituency CSV (`CONSTITUENCY_COLUMNS`; only `org_id` is required, other
    /// columns may be missing or empty). `progress(rows, bytes_read)` is called every 10,000 rows.
    /// Any bad cell fails the import with its line and column: a half-loaded constituency would
    /// send warnings to the wrong owner.
    pub fn read_csv<R: Read>(
        input: R,
        file: &str,
        mut progress: impl FnMut(u64, u64),
    ) -> Result<(Vec<Org>, Vec<InhibitionKind>)> {
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
        let mut global = Vec::new();
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
            if id == GLOBAL_ROW {
                global.extend(inhibitions);
                continue;
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
            let domains = list(get(4))
                .map(|d| d.trim_end_matches('.').to_ascii_lowercase())
                .collect();
            let emails: Vec<String> = list(get(5)).map(str::to_owned).collect();
            if let Some(bad) = emails.iter().find(|e| !e.contains('@')) {
                return Err(cell_err(5, format!("{bad:?} is not an e-mail address")));
            }
            let webhooks: Vec<String> = list(get(6)).map(str::to_owned).collect();
            if let Some(bad) = webhooks
                .iter()
                .find(|w| !(w.starts_with("https://") || w.starts_with("http://")))
            {
                return Err(cell_err(6, format!("{bad:?} is not an http(s) URL")));
            }
            let interval = Interval::parse(get(7)).map_err(|e| cell_err(7, e))?;
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
            orgs.push(Org {
                id,
                name,
                networks,
                asns,
                domains,
                emails,
                webhooks,
                interval,
                inhibitions,
                tlp,
            });
            rows += 1;
            if rows.is_multiple_of(10_000) {
                progress(rows, rec.position().map(|p| p.byte()).unwrap_or(0));
            }
        }
        progress(rows, rdr.position().byte());
        Ok((orgs, global))
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
                interval: Interval::Every(86_400),
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

    #[test]
    fn intervals_parse() {
        assert_eq!(Interval::parse("-1").unwrap(), Interval::Never);
        assert_eq!(Interval::parse("daily").unwrap(), Interval::Every(86_400));
        assert_eq!(Interval::parse("24h").unwrap(), Interval::Every(86_400));
        assert_eq!(Interval::parse("90m").unwrap(), Interval::Every(5_400));
        assert!(Interval::parse("soon").is_err());
        assert!(Interval::parse("xh").is_err());
    }

    #[test]
    fn inhibitions_parse_and_apply() {
        let ip: IpAddr = "10.1.2.3".parse().unwrap();
        assert!(InhibitionKind::parse("prefix:10.1.0.0/16")
            .unwrap()
            .applies(ip, None, b"", b""));
        assert!(!InhibitionKind::parse("prefix:10.2.0.0/16")
            .unwrap()
            .applies(ip, None, b"", b""));
        assert!(InhibitionKind::parse("asn:AS64500")
            .unwrap()
            .applies(ip, Some(64500), b"", b""));
        let d = InhibitionKind::parse("domain:example.org").unwrap();
        assert!(
            d.applies(ip, None, b"mail.Example.org", b"")
                && d.applies(ip, None, b"example.org.", b"")
        );
        assert!(!d.applies(ip, None, b"badexample.org", b""));
        assert!(InhibitionKind::parse("type:scan_ssh").unwrap().applies(
            ip,
            None,
            b"",
            b"scan_ssh"
        ));
        assert!(
            InhibitionKind::parse("bogus:1").is_err()
                && InhibitionKind::parse("prefix:1.2.3").is_err()
        );
    }

    #[test]
    fn csv_import_reports_bad_cells_with_line_and_column() {
        let ok = "org_id,name,prefixes,asns,emails,interval,tlp,inhibit\n\
                  a,Alpha,10.0.0.0/8;2001:db8::/32,AS64500,abuse@a.example,daily,GREEN,type:scan_ssh\n\
                  *,,,,,,,asn:64511\n";
        let (orgs, global) = Constituency::read_csv(ok.as_bytes(), "c.csv", |_, _| {}).unwrap();
        assert_eq!(orgs.len(), 1);
        assert_eq!(orgs[0].networks.len(), 2);
        assert_eq!(orgs[0].tlp, TlpLevel::Green);
        assert_eq!(global, vec![InhibitionKind::Asn(64511)]);
        let bad = "org_id,prefixes\na,10.0.0.0/8\nb,10.0.0/8\n";
        let e = Constituency::read_csv(bad.as_bytes(), "c.csv", |_, _| {})
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("c.csv:3: column prefixes"), "{e}");
    }
}
