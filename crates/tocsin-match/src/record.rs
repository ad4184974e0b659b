//! The compact byte record of an entity's variable-length fields, kept in the registry's arena.
//!
//! Layout (lengths and counts as LEB128 varints, strings as length + UTF-8):
//! `id, name, n_aliases, aliases…, presence, [venue], [country], n_audiences, audiences…,
//! [span sub-second nanos: from, until], [footprint]` where `presence` has bit 1 venue, 2 country,
//! 4 nanos, 8 footprint. The footprint is `n, (family 4|6, address bytes, prefix length)…,
//! n, asns…, n, domains…, n, sectors…`.
//!
//! Fixed-size fields (kind, category, capacity, location, span seconds, city) live in columns.

use tocsin_core::entity::{DomainName, Footprint, IpNet};

const P_VENUE: u8 = 1;
const P_COUNTRY: u8 = 2;
const P_NANOS: u8 = 4;
const P_FOOTPRINT: u8 = 8;

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    put_varint(out, s.len() as u64);
    out.extend_from_slice(s.as_bytes());
}

/// The variable-length fields of an entity, borrowed.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Rec<'a> {
    pub id: &'a str,
    pub name: &'a str,
    pub aliases: Vec<&'a str>,
    pub venue: Option<&'a str>,
    pub country: Option<&'a str>,
    pub audiences: Vec<&'a str>,
    pub nanos: Option<(u32, u32)>,
    /// Only decoded by [`decode_full`].
    pub footprint: Option<Footprint>,
}

pub(crate) fn encode(out: &mut Vec<u8>, r: &Rec<'_>, footprint: &Footprint) {
    put_str(out, r.id);
    put_str(out, r.name);
    put_varint(out, r.aliases.len() as u64);
    for a in &r.aliases {
        put_str(out, a);
    }
    let mut p = 0;
    if r.venue.is_some() {
        p |= P_VENUE;
    }
    if r.country.is_some() {
        p |= P_COUNTRY;
    }
    if r.nanos.is_some() {
        p |= P_NANOS;
    }
    if !footprint.is_empty() {
        p |= P_FOOTPRINT;
    }
    out.push(p);
    if let Some(v) = r.venue {
        put_str(out, v);
    }
    if let Some(c) = r.country {
        put_str(out, c);
    }
    put_varint(out, r.audiences.len() as u64);
    for a in &r.audiences {
        put_str(out, a);
    }
    if let Some((a, b)) = r.nanos {
        put_varint(out, u64::from(a));
        put_varint(out, u64::from(b));
    }
    if !footprint.is_empty() {
        put_varint(out, footprint.networks.len() as u64);
        for n in &footprint.networks {
            if n.is_ipv4() {
                out.push(4);
                out.extend_from_slice(&(n.bits() as u32).to_be_bytes());
            } else {
                out.push(6);
                out.extend_from_slice(&n.bits().to_be_bytes());
            }
            out.push(n.prefix_len());
        }
        put_varint(out, footprint.asns.len() as u64);
        for a in &footprint.asns {
            put_varint(out, u64::from(*a));
        }
        put_varint(out, footprint.domains.len() as u64);
        for d in &footprint.domains {
            put_str(out, d.as_str());
        }
        put_varint(out, footprint.sectors.len() as u64);
        for s in &footprint.sectors {
            put_str(out, s);
        }
    }
}

struct Cursor<'a> {
    b: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    fn byte(&mut self) -> u8 {
        let v = self.b[self.at];
        self.at += 1;
        v
    }

    fn varint(&mut self) -> u64 {
        let mut v = 0u64;
        let mut shift = 0;
        loop {
            let b = self.byte();
            v |= u64::from(b & 0x7f) << shift;
            if b < 0x80 {
                return v;
            }
            shift += 7;
        }
    }

    fn str(&mut self) -> &'a str {
        let n = self.varint() as usize;
        let s = &self.b[self.at..self.at + n];
        self.at += n;
        // Written by `encode` from `&str`s only.
        std::str::from_utf8(s).expect("registry records hold UTF-8")
    }

    fn bytes<const N: usize>(&mut self) -> [u8; N] {
        let mut a = [0u8; N];
        a.copy_from_slice(&self.b[self.at..self.at + N]);
        self.at += N;
        a
    }
}

/// The id alone (the first field).
pub(crate) fn id_of(b: &[u8]) -> &str {
    Cursor { b, at: 0 }.str()
}

/// Everything but the footprint; the footprint's presence is returned with the end offset of the
/// decoded part.
fn decode_head(b: &[u8]) -> (Rec<'_>, Option<usize>) {
    let mut c = Cursor { b, at: 0 };
    let id = c.str();
    let name = c.str();
    let n = c.varint() as usize;
    let aliases = (0..n).map(|_| c.str()).collect();
    let p = c.byte();
    let venue = (p & P_VENUE != 0).then(|| c.str());
    let country = (p & P_COUNTRY != 0).then(|| c.str());
    let n = c.varint() as usize;
    let audiences = (0..n).map(|_| c.str()).collect();
    let nanos = (p & P_NANOS != 0).then(|| (c.varint() as u32, c.varint() as u32));
    let fp_at = (p & P_FOOTPRINT != 0).then_some(c.at);
    (
        Rec {
            id,
            name,
            aliases,
            venue,
            country,
            audiences,
            nanos,
            footprint: None,
        },
        fp_at,
    )
}

/// Everything but the footprint.
pub(crate) fn decode(b: &[u8]) -> Rec<'_> {
    decode_head(b).0
}

/// Everything, the footprint included (`None` when empty).
pub(crate) fn decode_full(b: &[u8]) -> Rec<'_> {
    let (mut r, fp_at) = decode_head(b);
    if let Some(at) = fp_at {
        let mut c = Cursor { b, at };
        let n = c.varint() as usize;
        let networks = (0..n)
            .map(|_| {
                let (v4, bits) = if c.byte() == 4 {
                    (true, u128::from(u32::from_be_bytes(c.bytes::<4>())))
                } else {
                    (false, u128::from_be_bytes(c.bytes::<16>()))
                };
                IpNet::from_bits(v4, bits, c.byte())
            })
            .collect();
        let n = c.varint() as usize;
        let asns = (0..n).map(|_| c.varint() as u32).collect();
        let n = c.varint() as usize;
        // Written from valid `DomainName`s, so parsing gives them back unchanged.
        let domains = (0..n)
            .map(|_| DomainName::parse(c.str()).expect("stored domains are valid"))
            .collect();
        let n = c.varint() as usize;
        let sectors = (0..n).map(|_| c.str().to_owned()).collect();
        r.footprint = Some(Footprint {
            networks,
            asns,
            domains,
            sectors,
        });
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let fp = Footprint {
            networks: vec![
                IpNet::parse("10.1.0.0/16").unwrap(),
                IpNet::parse("2001:db8::1").unwrap(),
            ],
            asns: vec![64500, 4_200_000_000],
            domains: vec![DomainName::parse("пример.рф").unwrap()],
            sectors: vec!["Energy".into()],
        };
        let r = Rec {
            id: "v1",
            name: "Крокус Сити Холл",
            aliases: vec!["Crocus", ""],
            venue: Some("v0"),
            country: None,
            audiences: vec!["a", "b"],
            nanos: Some((1, 999_999_999)),
            footprint: None,
        };
        let mut buf = Vec::new();
        encode(&mut buf, &r, &fp);
        assert_eq!(id_of(&buf), "v1");
        assert_eq!(decode(&buf), r);
        let full = decode_full(&buf);
        assert_eq!(full.footprint.as_ref(), Some(&fp));
        let mut plain = Vec::new();
        encode(
            &mut plain,
            &Rec {
                nanos: None,
                venue: None,
                ..r.clone()
            },
            &Footprint::default(),
        );
        assert_eq!(decode_full(&plain).footprint, None);
    }
}
