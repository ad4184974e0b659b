//! Column mappings: which input column (CSV header name or JSON key) holds each event field.
//! Built in: `simple` (`timestamp,ip,port,protocol,type,asn`, the bench layout) and
//! `shadowserver` (the Shadowserver report layout: `timestamp`, `ip`, `protocol`, `port`,
//! `hostname`, `tag`, `asn`, `geo`, …). Any other feed: a TOML mapping file (`docs/feeds.md`).

use crate::{FeedError, Result};
use serde::Deserialize;

/// The input format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    #[default]
    Csv,
    /// One JSON object per line.
    Jsonl,
}

/// One column name or alternatives (the first present in the header wins).
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Columns {
    One(String),
    Any(Vec<String>),
}

impl Columns {
    pub fn names(&self) -> Vec<&str> {
        match self {
            Columns::One(s) => vec![s.as_str()],
            Columns::Any(v) => v.iter().map(String::as_str).collect(),
        }
    }
}

/// The event fields Tocsin reads. `ip` is required; the others may be absent.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ColumnMap {
    pub ip: Columns,
    pub timestamp: Option<Columns>,
    pub port: Option<Columns>,
    pub protocol: Option<Columns>,
    #[serde(rename = "type")]
    pub event_type: Option<Columns>,
    pub asn: Option<Columns>,
    pub domain: Option<Columns>,
}

/// Values for fields the feed lacks or leaves empty (e.g. the report type of a Shadowserver file
/// whose rows carry no tag).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Defaults {
    #[serde(rename = "type")]
    pub event_type: Option<String>,
    pub protocol: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mapping {
    pub name: String,
    #[serde(default)]
    pub format: Format,
    /// CSV delimiter (one ASCII character), default `,`.
    #[serde(default)]
    pub delimiter: Option<String>,
    pub columns: ColumnMap,
    #[serde(default)]
    pub defaults: Defaults,
    /// Chosen by Tocsin, not named by the user: a CSV header must then be the mapping's own
    /// layout (a feed in another layout would otherwise be read wrongly without a word).
    #[serde(skip)]
    pub guessed: bool,
}

/// The columns of the `simple` layout.
pub const SIMPLE_COLUMNS: &[&str] = &[
    "timestamp",
    "ip",
    "port",
    "protocol",
    "type",
    "asn",
    "domain",
];

fn one(s: &str) -> Option<Columns> {
    Some(Columns::One(s.into()))
}

impl Mapping {
    /// The bench layout: `timestamp,ip,port,protocol,type[,asn]`.
    pub fn simple() -> Self {
        Mapping {
            name: "simple".into(),
            format: Format::Csv,
            delimiter: None,
            columns: ColumnMap {
                ip: Columns::One("ip".into()),
                timestamp: one("timestamp"),
                port: one("port"),
                protocol: one("protocol"),
                event_type: one("type"),
                asn: one("asn"),
                domain: one("domain"),
            },
            defaults: Defaults::default(),
            guessed: false,
        }
    }

    /// With a guessed mapping, refuse a CSV header that is not its layout (naming what to pass).
    pub fn check_guess(&self, header: &[&str]) -> Result<()> {
        if !self.guessed || self.format != Format::Csv {
            return Ok(());
        }
        let has = |n: &str| header.iter().any(|h| h.trim().eq_ignore_ascii_case(n));
        let fits = has("ip")
            && has("type")
            && header.iter().all(|h| {
                SIMPLE_COLUMNS
                    .iter()
                    .any(|c| h.trim().eq_ignore_ascii_case(c))
            });
        if fits {
            return Ok(());
        }
        let hint = if has("tag") || has("infection") || has("src_ip") {
            "it looks like a Shadowserver report: pass --mapping shadowserver"
        } else {
            "pass --mapping shadowserver, jsonl or a mapping file (docs/feeds.md)"
        };
        Err(FeedError::Mapping {
            name: self.name.clone(),
            reason: format!(
                "the header {:?} is not the simple layout ({}; ip and type required) and no --mapping was given; {hint}",
                header.join(","),
                SIMPLE_COLUMNS.join(",")
            ),
        })
    }

    /// The Shadowserver report layout. Reports name the event in `tag` (scan reports) or
    /// `infection` (drone/sinkhole reports); the report type is the fallback.
    pub fn shadowserver() -> Self {
        Mapping {
            name: "shadowserver".into(),
            format: Format::Csv,
            delimiter: None,
            columns: ColumnMap {
                ip: Columns::Any(vec!["ip".into(), "src_ip".into()]),
                timestamp: one("timestamp"),
                port: Columns::Any(vec!["port".into(), "src_port".into()]).into(),
                protocol: one("protocol"),
                event_type: Some(Columns::Any(vec![
                    "infection".into(),
                    "tag".into(),
                    "type".into(),
                ])),
                asn: Columns::Any(vec!["asn".into(), "src_asn".into()]).into(),
                domain: Columns::Any(vec!["hostname".into(), "src_hostname".into()]).into(),
            },
            defaults: Defaults {
                event_type: Some("shadowserver".into()),
                protocol: None,
            },
            guessed: false,
        }
    }

    /// The same fields as [`simple`](Self::simple), read from JSON lines.
    pub fn jsonl() -> Self {
        Mapping {
            name: "jsonl".into(),
            format: Format::Jsonl,
            ..Self::simple()
        }
    }

    /// A built-in mapping by name, or a TOML mapping file by path.
    pub fn load(name_or_file: &str) -> Result<Self> {
        match name_or_file {
            "simple" => Ok(Self::simple()),
            "shadowserver" => Ok(Self::shadowserver()),
            "jsonl" => Ok(Self::jsonl()),
            path => {
                let text = std::fs::read_to_string(path).map_err(|e| FeedError::Mapping {
                    name: path.into(),
                    reason: format!("not a built-in mapping (simple, shadowserver, jsonl) and cannot be read as a file: {e}"),
                })?;
                Self::parse(&text, path)
            }
        }
    }

    pub fn parse(text: &str, file: &str) -> Result<Self> {
        let m: Mapping = toml::from_str(text).map_err(|e| FeedError::Mapping {
            name: file.into(),
            reason: e.to_string(),
        })?;
        m.delimiter_byte()?;
        Ok(m)
    }

    pub fn delimiter_byte(&self) -> Result<u8> {
        match self.delimiter.as_deref() {
            None => Ok(b','),
            Some("\\t") | Some("\t") => Ok(b'\t'),
            Some(d) if d.len() == 1 && d.is_ascii() => Ok(d.as_bytes()[0]),
            Some(d) => Err(FeedError::Mapping {
                name: self.name.clone(),
                reason: format!("delimiter {d:?} must be one ASCII character"),
            }),
        }
    }
}

/// Column positions of the event fields in one CSV header.
#[derive(Debug, Clone, Copy)]
pub struct Resolved {
    pub ip: usize,
    pub timestamp: Option<usize>,
    pub port: Option<usize>,
    pub protocol: Option<usize>,
    pub event_type: Option<usize>,
    pub asn: Option<usize>,
    pub domain: Option<usize>,
    /// The highest position needed: rows with fewer columns are malformed.
    pub needed: usize,
}

impl Mapping {
    /// Find each mapped column in `header` (names compared case-insensitively).
    pub fn resolve(&self, header: &[&str]) -> Result<Resolved> {
        let find = |c: &Option<Columns>| {
            c.as_ref().and_then(|c| {
                c.names()
                    .iter()
                    .find_map(|n| header.iter().position(|h| h.trim().eq_ignore_ascii_case(n)))
            })
        };
        let ip = find(&Some(self.columns.ip.clone())).ok_or_else(|| FeedError::Mapping {
            name: self.name.clone(),
            reason: format!(
                "no address column {:?} in the header {:?}",
                self.columns.ip.names(),
                header.join(",")
            ),
        })?;
        let r = Resolved {
            ip,
            timestamp: find(&self.columns.timestamp),
            port: find(&self.columns.port),
            protocol: find(&self.columns.protocol),
            event_type: find(&self.columns.event_type),
            asn: find(&self.columns.asn),
            domain: find(&self.columns.domain),
            needed: 0,
        };
        let needed = [
            Some(r.ip),
            r.timestamp,
            r.port,
            r.protocol,
            r.event_type,
            r.asn,
            r.domain,
        ]
        .into_iter()
        .flatten()
        .max()
        .unwrap_or(0);
        Ok(Resolved { needed, ..r })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shadowserver_resolves_its_header() {
        let h = [
            "timestamp",
            "ip",
            "protocol",
            "port",
            "hostname",
            "tag",
            "asn",
            "geo",
            "region",
            "city",
        ];
        let r = Mapping::shadowserver().resolve(&h).unwrap();
        assert_eq!(
            (r.ip, r.port, r.event_type, r.asn, r.domain, r.needed),
            (1, Some(3), Some(5), Some(6), Some(4), 6)
        );
    }

    #[test]
    fn mapping_file_parses_and_rejects_unknown_keys() {
        let m = Mapping::parse("name = \"x\"\ndelimiter = \";\"\n[columns]\nip = \"src\"\ntype = [\"cat\", \"kind\"]\n[defaults]\ntype = \"scan\"\n", "m.toml").unwrap();
        assert_eq!(m.delimiter_byte().unwrap(), b';');
        assert!(m.resolve(&["a", "src"]).unwrap().event_type.is_none());
        assert!(Mapping::parse(
            "name = \"x\"\n[columns]\nip = \"a\"\nipp = \"b\"\n",
            "m.toml"
        )
        .is_err());
        let e = Mapping::simple()
            .resolve(&["a", "b"])
            .unwrap_err()
            .to_string();
        assert!(e.contains("no address column"), "{e}");
    }
}
