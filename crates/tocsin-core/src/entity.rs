//! Registry entities: what may be hit.

use crate::country::CountryCode;
use crate::ids::{AudienceId, EntityId};
use crate::time::ThreatWindow;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use thiserror::Error;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum EntityKind {
    Venue,
    Event,
    Organisation,
    Person,
    NetworkAsset,
    Population,
}

impl EntityKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            EntityKind::Venue => "venue",
            EntityKind::Event => "event",
            EntityKind::Organisation => "organisation",
            EntityKind::Person => "person",
            EntityKind::NetworkAsset => "network_asset",
            EntityKind::Population => "population",
        }
    }
}

/// A category in the taxonomy, as a slash path: `venue/entertainment/concert_hall`.
/// Parents are the prefixes: `venue/entertainment` contains `venue/entertainment/concert_hall`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Category(String);

#[derive(Debug, Error, PartialEq, Eq)]
#[error("invalid category {0:?}: expected a lower-case slash path such as venue/entertainment/concert_hall")]
pub struct CategoryError(pub String);

impl Category {
    pub fn parse(s: &str) -> Result<Self, CategoryError> {
        let s = s.trim().trim_matches('/');
        let ok = !s.is_empty()
            && s.split('/').all(|seg| {
                !seg.is_empty()
                    && seg
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            });
        if ok {
            Ok(Self(s.to_owned()))
        } else {
            Err(CategoryError(s.to_owned()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// True when `self` is `ancestor` or lies below it.
    pub fn is_within(&self, ancestor: &Category) -> bool {
        self.0 == ancestor.0
            || (self.0.starts_with(&ancestor.0)
                && self.0.as_bytes().get(ancestor.0.len()) == Some(&b'/'))
    }

    /// The last segment, human-readable: `concert_hall` -> `concert hall`.
    pub fn leaf_label(&self) -> String {
        self.0
            .rsplit('/')
            .next()
            .unwrap_or(&self.0)
            .replace('_', " ")
    }
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for Category {
    type Error = CategoryError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<Category> for String {
    fn from(c: Category) -> String {
        c.0
    }
}

/// WGS84 point in decimal degrees.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GeoPoint {
    pub lat: f64,
    pub lon: f64,
}

#[derive(Debug, Error, PartialEq)]
#[error("coordinates out of range: lat {lat} must be in [-90, 90] and lon {lon} in [-180, 180]")]
pub struct GeoError {
    pub lat: f64,
    pub lon: f64,
}

impl GeoPoint {
    pub fn new(lat: f64, lon: f64) -> Result<Self, GeoError> {
        if (-90.0..=90.0).contains(&lat) && (-180.0..=180.0).contains(&lon) {
            Ok(Self { lat, lon })
        } else {
            Err(GeoError { lat, lon })
        }
    }

    /// Great-circle distance in kilometres (haversine, mean Earth radius).
    pub fn distance_km(&self, other: &GeoPoint) -> f64 {
        let (p1, p2) = (self.lat.to_radians(), other.lat.to_radians());
        let dp = p2 - p1;
        let dl = (other.lon - self.lon).to_radians();
        let a = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
        2.0 * 6371.0088 * a.sqrt().min(1.0).asin()
    }
}

/// A registry entry: venue, event, organisation, protected person, network asset, population.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Entity {
    pub id: EntityId,
    pub kind: EntityKind,
    pub name: String,
    #[serde(default)]
    pub aliases: Vec<String>,
    pub category: Category,
    #[serde(default)]
    pub location: Option<GeoPoint>,
    /// Seats or standing capacity (venues) or expected attendance (events).
    #[serde(default)]
    pub capacity: Option<u32>,
    /// When the entity exists/operates; `None` = always (a venue).
    #[serde(default)]
    pub span: Option<ThreatWindow>,
    /// For an event: the venue it takes place at.
    #[serde(default)]
    pub venue: Option<EntityId>,
    #[serde(default)]
    pub city: Option<String>,
    #[serde(default)]
    pub country: Option<CountryCode>,
    /// Audiences responsible for protecting this entity (operator, security contact, liaison).
    #[serde(default)]
    pub audiences: Vec<AudienceId>,
    /// Networks, ASNs, domains and sector tags (organisations, network assets). Serialised flat
    /// (`networks`, `asns`, `domains`, `sectors`), each key omitted when empty.
    #[serde(flatten)]
    pub footprint: Footprint,
}

/// The network and organisational footprint of an entity, or what a target spec states of it.
/// Every list is "any of"; an empty list states nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Footprint {
    /// IPv4/IPv6 addresses and CIDR prefixes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub networks: Vec<IpNet>,
    /// Autonomous system numbers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub asns: Vec<u32>,
    /// DNS domains (a domain covers its subdomains).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub domains: Vec<DomainName>,
    /// Sector tags such as `energy`, `health`, `finance` (compared case-insensitively).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sectors: Vec<String>,
}

impl Footprint {
    /// The empty footprint, usable in constants.
    pub const EMPTY: Footprint = Footprint {
        networks: Vec::new(),
        asns: Vec::new(),
        domains: Vec::new(),
        sectors: Vec::new(),
    };

    pub fn is_empty(&self) -> bool {
        self.networks.is_empty()
            && self.asns.is_empty()
            && self.domains.is_empty()
            && self.sectors.is_empty()
    }
}

/// Parse an AS number: `64500`, `AS64500` or `as64500`.
pub fn parse_asn(s: &str) -> Result<u32, String> {
    let t = s.trim();
    let digits = t
        .strip_prefix("AS")
        .or_else(|| t.strip_prefix("as"))
        .unwrap_or(t);
    digits
        .parse::<u32>()
        .map_err(|_| format!("invalid AS number {s:?}: expected 64500 or AS64500"))
}

/// An IPv4 or IPv6 prefix in CIDR notation; a single address is the prefix of full length (/32 or
/// /128). Host bits are cleared on construction (`10.1.2.3/16` is `10.1.0.0/16`), so equal
/// networks compare equal. Written `10.0.0.0/8`, `2001:db8::/32`; a full-length prefix is written
/// as the bare address (`10.1.2.3`). IPv4 and IPv6 are separate spaces (an IPv4-mapped IPv6
/// address is not the IPv4 address).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct IpNet {
    addr: IpAddr,
    len: u8,
}

#[derive(Debug, Error, PartialEq, Eq)]
#[error("invalid IP network {input:?}: {reason}")]
pub struct IpNetError {
    pub input: String,
    pub reason: String,
}

impl IpNet {
    /// The prefix `addr/len` (host bits cleared); `len` at most 32 (IPv4) or 128 (IPv6).
    pub fn new(addr: IpAddr, len: u8) -> Result<Self, IpNetError> {
        let max = if addr.is_ipv4() { 32 } else { 128 };
        if len > max {
            return Err(IpNetError {
                input: format!("{addr}/{len}"),
                reason: format!("prefix length {len} exceeds {max}"),
            });
        }
        Ok(Self::from_bits(addr.is_ipv4(), Self::addr_bits(addr), len))
    }

    /// A single address (/32 or /128).
    pub fn host(addr: IpAddr) -> Self {
        let len = if addr.is_ipv4() { 32 } else { 128 };
        Self { addr, len }
    }

    /// Parse `a.b.c.d`, `a.b.c.d/n`, an IPv6 address, or `ipv6/n`.
    pub fn parse(s: &str) -> Result<Self, IpNetError> {
        let t = s.trim();
        let err = |reason: &str| IpNetError {
            input: s.to_owned(),
            reason: reason.to_owned(),
        };
        let (a, l) = match t.split_once('/') {
            Some((a, l)) => (a, Some(l)),
            None => (t, None),
        };
        let addr: IpAddr = a.parse().map_err(|_| err("not an IPv4 or IPv6 address"))?;
        match l {
            None => Ok(Self::host(addr)),
            Some(l) => {
                let len: u8 = l
                    .parse()
                    .map_err(|_| err("the prefix length after `/` is not a number"))?;
                Self::new(addr, len).map_err(|e| err(&e.reason))
            }
        }
    }

    /// The address bits, right-aligned in a `u128` (IPv4 uses the low 32 bits).
    pub fn addr_bits(addr: IpAddr) -> u128 {
        match addr {
            IpAddr::V4(a) => u128::from(u32::from(a)),
            IpAddr::V6(a) => u128::from(a),
        }
    }

    /// Build from right-aligned bits (masked to `len`).
    pub fn from_bits(v4: bool, bits: u128, len: u8) -> Self {
        let width = if v4 { 32 } else { 128 };
        let len = len.min(width);
        let masked = bits & Self::mask(width, len);
        let addr = if v4 {
            IpAddr::V4(Ipv4Addr::from(masked as u32))
        } else {
            IpAddr::V6(Ipv6Addr::from(masked))
        };
        Self { addr, len }
    }

    /// Network mask of `len` leading ones in a `width`-bit space, right-aligned.
    fn mask(width: u8, len: u8) -> u128 {
        let host = width.saturating_sub(len);
        let full: u128 = if width == 32 {
            u128::from(u32::MAX)
        } else {
            u128::MAX
        };
        if host >= 128 {
            0
        } else {
            full & !((1u128 << host) - 1)
        }
    }

    pub fn addr(&self) -> IpAddr {
        self.addr
    }

    /// Prefix length.
    pub fn prefix_len(&self) -> u8 {
        self.len
    }

    pub fn is_ipv4(&self) -> bool {
        self.addr.is_ipv4()
    }

    /// 32 for IPv4, 128 for IPv6.
    pub fn width(&self) -> u8 {
        if self.is_ipv4() {
            32
        } else {
            128
        }
    }

    /// The network's first address as right-aligned bits.
    pub fn bits(&self) -> u128 {
        Self::addr_bits(self.addr)
    }

    /// True for a single address (/32, /128).
    pub fn is_host(&self) -> bool {
        self.len == self.width()
    }

    /// `other` lies within `self` (same family, `self` no longer, same leading bits).
    pub fn contains(&self, other: &IpNet) -> bool {
        self.is_ipv4() == other.is_ipv4()
            && self.len <= other.len
            && other.bits() & Self::mask(self.width(), self.len) == self.bits()
    }

    /// One contains the other.
    pub fn overlaps(&self, other: &IpNet) -> bool {
        self.contains(other) || other.contains(self)
    }
}

impl fmt::Display for IpNet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_host() {
            write!(f, "{}", self.addr)
        } else {
            write!(f, "{}/{}", self.addr, self.len)
        }
    }
}

impl std::str::FromStr for IpNet {
    type Err = IpNetError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl TryFrom<String> for IpNet {
    type Error = IpNetError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<IpNet> for String {
    fn from(n: IpNet) -> String {
        n.to_string()
    }
}

/// A DNS domain name, lower case, without a trailing dot: `mail.example.com`. Labels are 1–63
/// characters of letters, digits, `-` and `_` (Unicode letters allowed, compared after lower
/// casing; no punycode conversion); at most 253 characters in all. A leading `*.` is dropped
/// (a domain covers its subdomains anyway).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct DomainName(String);

#[derive(Debug, Error, PartialEq, Eq)]
#[error("invalid domain name {input:?}: {reason}")]
pub struct DomainError {
    pub input: String,
    pub reason: String,
}

impl DomainName {
    pub fn parse(s: &str) -> Result<Self, DomainError> {
        let err = |reason: String| DomainError {
            input: s.to_owned(),
            reason,
        };
        let t = s.trim().trim_end_matches('.').to_lowercase();
        let t = t.strip_prefix("*.").unwrap_or(&t);
        if t.is_empty() {
            return Err(err("empty".into()));
        }
        if t.len() > 253 {
            return Err(err(format!("{} characters, at most 253 allowed", t.len())));
        }
        for label in t.split('.') {
            if label.is_empty() {
                return Err(err(
                    "empty label (two dots in a row, or a leading dot)".into()
                ));
            }
            if label.chars().count() > 63 {
                return Err(err(format!("label {label:?} is longer than 63 characters")));
            }
            if let Some(c) = label
                .chars()
                .find(|c| !(c.is_alphanumeric() || *c == '-' || *c == '_'))
            {
                return Err(err(format!("character {c:?} is not allowed in a label")));
            }
        }
        Ok(Self(t.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Labels from the right: `mail.example.com` → `com`, `example`, `mail`.
    pub fn labels_rev(&self) -> impl Iterator<Item = &str> {
        self.0.rsplit('.')
    }

    pub fn label_count(&self) -> usize {
        self.0.split('.').count()
    }

    /// `self` is `ancestor` or a subdomain of it (label-wise: `badexample.com` is not within
    /// `example.com`).
    pub fn is_within(&self, ancestor: &DomainName) -> bool {
        self.0 == ancestor.0
            || (self.0.ends_with(&ancestor.0)
                && self.0.as_bytes()[self.0.len() - ancestor.0.len() - 1] == b'.')
    }
}

impl fmt::Display for DomainName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for DomainName {
    type Error = DomainError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<DomainName> for String {
    fn from(d: DomainName) -> String {
        d.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn category_parents() {
        let hall = Category::parse("venue/entertainment/concert_hall").unwrap();
        assert!(hall.is_within(&Category::parse("venue/entertainment").unwrap()));
        assert!(hall.is_within(&Category::parse("venue").unwrap()));
        assert!(!hall.is_within(&Category::parse("venue/enter").unwrap()));
        assert!(!hall.is_within(&Category::parse("place_of_worship").unwrap()));
        assert!(Category::parse("Venue/Hall").is_err());
        assert!(Category::parse("a//b").is_err());
    }

    #[test]
    fn ip_networks_parse_mask_and_contain() {
        let n8 = IpNet::parse("10.0.0.0/8").unwrap();
        let n24 = IpNet::parse("10.1.2.77/24").unwrap();
        assert_eq!(n24.to_string(), "10.1.2.0/24");
        let host = IpNet::parse("10.1.2.3").unwrap();
        assert_eq!(host.to_string(), "10.1.2.3");
        assert!(host.is_host() && n8.contains(&n24) && n24.contains(&host) && !n24.contains(&n8));
        assert!(n24.overlaps(&n8) && !IpNet::parse("11.0.0.0/8").unwrap().overlaps(&host));
        assert!(IpNet::parse("0.0.0.0/0").unwrap().contains(&host));
        let v6 = IpNet::parse("2001:db8::/32").unwrap();
        assert!(v6.contains(&IpNet::parse("2001:db8:1::1").unwrap()));
        assert!(!v6.contains(&IpNet::parse("2001:db9::1").unwrap()));
        assert!(
            !IpNet::parse("::/0").unwrap().contains(&host),
            "families are separate"
        );
        assert_eq!(IpNet::parse("::/0").unwrap().prefix_len(), 0);
        assert!(IpNet::parse("10.0.0.0/33").is_err());
        assert!(IpNet::parse("10.0.0/8").is_err());
        assert!(IpNet::parse("10.0.0.0/x").is_err());
        let json = serde_json::to_string(&n24).unwrap();
        assert_eq!(json, "\"10.1.2.0/24\"");
        assert_eq!(serde_json::from_str::<IpNet>(&json).unwrap(), n24);
    }

    #[test]
    fn domains_are_label_wise() {
        let d = DomainName::parse("Mail.Example.COM.").unwrap();
        assert_eq!(d.as_str(), "mail.example.com");
        let e = DomainName::parse("example.com").unwrap();
        assert!(d.is_within(&e) && e.is_within(&e) && !e.is_within(&d));
        assert!(!DomainName::parse("badexample.com").unwrap().is_within(&e));
        assert_eq!(DomainName::parse("*.example.com").unwrap(), e);
        assert!(DomainName::parse("a..b").is_err());
        assert!(DomainName::parse("a b.com").is_err());
        assert_eq!(
            d.labels_rev().collect::<Vec<_>>(),
            ["com", "example", "mail"]
        );
    }

    #[test]
    fn footprint_is_flat_and_omitted_when_empty() {
        let v = serde_json::json!({"id": "x", "kind": "organisation", "name": "X", "category": "organisation",
            "networks": ["10.0.0.0/8"], "asns": [64500], "domains": ["x.example"], "sectors": ["energy"]});
        let e: Entity = serde_json::from_value(v).unwrap();
        assert_eq!(e.footprint.networks, [IpNet::parse("10.0.0.0/8").unwrap()]);
        assert_eq!(e.footprint.asns, [64500]);
        let back = serde_json::to_value(&e).unwrap();
        assert_eq!(back["domains"], serde_json::json!(["x.example"]));
        let plain = Entity {
            footprint: Footprint::default(),
            ..e
        };
        let out = serde_json::to_value(&plain).unwrap();
        assert!(out.get("networks").is_none() && out.get("sectors").is_none());
        assert_eq!(serde_json::from_value::<Entity>(out).unwrap(), plain);
    }

    #[test]
    fn distance_moscow_crocus() {
        let kremlin = GeoPoint::new(55.7520, 37.6175).unwrap();
        let crocus = GeoPoint::new(55.826, 37.390).unwrap();
        let d = kremlin.distance_km(&crocus);
        assert!((15.0..17.5).contains(&d), "{d}");
        assert!(GeoPoint::new(91.0, 0.0).is_err());
    }
}
