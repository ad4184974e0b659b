//! IP prefix tables: longest-prefix match, and the covering and covered prefixes of a network,
//! for IPv4 and IPv6 alike.
//!
//! [`PrefixTable<V>`] maps CIDR prefixes ([`IpNet`]) to values. It answers:
//!
//! * [`longest_match`](PrefixTable::longest_match) — the most specific prefix holding an address
//!   (routing-table look-up; e.g. "which customer owns 192.0.2.7?");
//! * [`containing`](PrefixTable::containing) — every prefix holding a network, most specific
//!   first ("a threat to 10.1.2.3: who owns 10.1.2.0/24, 10.1.0.0/16, 10.0.0.0/8?");
//! * [`within`](PrefixTable::within) — every prefix inside a network ("a threat to 10.0.0.0/8:
//!   which registered networks lie inside it?");
//! * [`overlapping`](PrefixTable::overlapping) — both, i.e. containment either way.
//!
//! Inserts and removals are O(log n); nothing is ever rebuilt.
//!
//! ```
//! use tocsin_match::net::{IpNet, PrefixTable};
//! let mut t = PrefixTable::new();
//! t.insert(IpNet::parse("10.0.0.0/8").unwrap(), "corp");
//! t.insert(IpNet::parse("10.1.2.0/24").unwrap(), "lab");
//! let (net, owner) = t.longest_match("10.1.2.3".parse().unwrap()).unwrap();
//! assert_eq!((net.to_string().as_str(), *owner), ("10.1.2.0/24", "lab"));
//! let all: Vec<_> = t.containing(&IpNet::parse("10.1.2.3").unwrap()).map(|(_, v)| *v).collect();
//! assert_eq!(all, ["lab", "corp"]);
//! assert_eq!(t.within(&IpNet::parse("10.1.0.0/16").unwrap()).count(), 1);
//! ```
//!
//! # Representation and cost
//! Per address family, one hash map per prefix length (masked address bits → value) and an
//! ordered set of (first address, length) for range queries. A longest-prefix look-up probes the
//! lengths present in the table from the longest down (at most 33 probes for IPv4, 129 for IPv6,
//! in practice the number of distinct lengths stored), each probe one hash look-up of a `u128`
//! with a multiplicative hash. `within` is an ordered range scan over the covered address range.
//! `tocsin bench match` prints the look-up rate (50,000 prefixes).
//!
//! IPv4 and IPv6 are separate spaces: `::ffff:10.0.0.1` is not `10.0.0.1`.

use std::collections::{BTreeSet, HashMap};
use std::hash::{BuildHasherDefault, Hasher};
use std::net::IpAddr;

pub use tocsin_core::entity::IpNet;

/// A fast, deterministic hasher for integer keys (not DoS-resistant: keys here are addresses
/// from the registry and threat feeds, and a collision only costs time).
#[derive(Default, Clone, Copy)]
pub struct IntHasher(u64);

impl Hasher for IntHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        // Eight bytes at a time (strings: tokens, ids), the tail zero-padded.
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            self.write_u64(u64::from_le_bytes(c.try_into().expect("eight bytes")));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut b = [0u8; 8];
            b[..rest.len()].copy_from_slice(rest);
            self.write_u64(u64::from_le_bytes(b));
        }
    }
    fn write_u32(&mut self, i: u32) {
        self.write_u64(u64::from(i));
    }
    fn write_u64(&mut self, i: u64) {
        // Fibonacci hashing mixed with the previous state; the high bits are well spread and
        // hashbrown uses the top 7 bits for its control bytes.
        self.0 = (self.0.rotate_left(26) ^ i).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        self.0 ^= self.0 >> 29;
    }
    fn write_u128(&mut self, i: u128) {
        self.write_u64(i as u64);
        self.write_u64((i >> 64) as u64);
    }
    fn write_usize(&mut self, i: usize) {
        self.write_u64(i as u64);
    }
}

/// `BuildHasher` for [`IntHasher`].
pub type IntBuildHasher = BuildHasherDefault<IntHasher>;

#[derive(Debug, Clone)]
struct Family<V> {
    v4: bool,
    width: u8,
    /// `by_len[l]`: masked address bits of every stored prefix of length `l` → value.
    by_len: Vec<HashMap<u128, V, IntBuildHasher>>,
    /// Lengths with at least one prefix, longest first.
    lengths: Vec<u8>,
    /// (first address, length) of every stored prefix, for range queries.
    ordered: BTreeSet<(u128, u8)>,
}

impl<V> Family<V> {
    fn new(v4: bool) -> Self {
        let width = if v4 { 32 } else { 128 };
        Self {
            v4,
            width,
            by_len: (0..=width).map(|_| HashMap::default()).collect(),
            lengths: Vec::new(),
            ordered: BTreeSet::new(),
        }
    }

    fn mask(&self, len: u8) -> u128 {
        let host = self.width - len;
        let full: u128 = if self.v4 {
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

    fn net(&self, bits: u128, len: u8) -> IpNet {
        IpNet::from_bits(self.v4, bits, len)
    }

    fn insert(&mut self, bits: u128, len: u8, v: V) -> Option<V> {
        let old = self.by_len[len as usize].insert(bits, v);
        if old.is_none() {
            self.ordered.insert((bits, len));
            if self.by_len[len as usize].len() == 1 {
                let pos = self.lengths.partition_point(|&l| l > len);
                self.lengths.insert(pos, len);
            }
        }
        old
    }

    fn remove(&mut self, bits: u128, len: u8) -> Option<V> {
        let old = self.by_len[len as usize].remove(&bits)?;
        self.ordered.remove(&(bits, len));
        if self.by_len[len as usize].is_empty() {
            self.lengths.retain(|&l| l != len);
        }
        Some(old)
    }

    /// Stored prefixes of length ≤ `max_len` holding `bits`, longest first.
    fn containing(&self, bits: u128, max_len: u8) -> impl Iterator<Item = (IpNet, &V)> + '_ {
        self.lengths
            .iter()
            .filter(move |&&l| l <= max_len)
            .filter_map(move |&l| {
                let key = bits & self.mask(l);
                self.by_len[l as usize]
                    .get(&key)
                    .map(|v| (self.net(key, l), v))
            })
    }

    /// Stored prefixes inside `bits/len` (itself included), by address then length.
    fn within(&self, bits: u128, len: u8) -> impl Iterator<Item = (IpNet, &V)> + '_ {
        let last = bits
            | !self.mask(len)
                & if self.v4 {
                    u128::from(u32::MAX)
                } else {
                    u128::MAX
                };
        self.ordered
            .range((bits, len)..=(last, self.width))
            .filter(move |&&(_, l)| l >= len)
            .map(move |&(b, l)| {
                let v = self.by_len[l as usize]
                    .get(&b)
                    .expect("ordered and by_len agree");
                (self.net(b, l), v)
            })
    }
}

/// A map from IP prefixes to values with longest-prefix match and containment queries, for IPv4
/// and IPv6. See the [module docs](self).
#[derive(Debug, Clone)]
pub struct PrefixTable<V> {
    v4: Family<V>,
    v6: Family<V>,
}

impl<V> Default for PrefixTable<V> {
    fn default() -> Self {
        Self::new()
    }
}

impl<V> PrefixTable<V> {
    pub fn new() -> Self {
        Self {
            v4: Family::new(true),
            v6: Family::new(false),
        }
    }

    fn family(&self, net: &IpNet) -> &Family<V> {
        if net.is_ipv4() {
            &self.v4
        } else {
            &self.v6
        }
    }

    fn family_mut(&mut self, net: &IpNet) -> &mut Family<V> {
        if net.is_ipv4() {
            &mut self.v4
        } else {
            &mut self.v6
        }
    }

    /// Number of prefixes stored.
    pub fn len(&self) -> usize {
        self.v4.ordered.len() + self.v6.ordered.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Store `value` under `net`, returning the value it replaces.
    pub fn insert(&mut self, net: IpNet, value: V) -> Option<V> {
        self.family_mut(&net)
            .insert(net.bits(), net.prefix_len(), value)
    }

    /// Remove `net` (exactly this prefix), returning its value.
    pub fn remove(&mut self, net: &IpNet) -> Option<V> {
        self.family_mut(net).remove(net.bits(), net.prefix_len())
    }

    /// The value stored under exactly `net`.
    pub fn get(&self, net: &IpNet) -> Option<&V> {
        self.family(net).by_len[net.prefix_len() as usize].get(&net.bits())
    }

    pub fn get_mut(&mut self, net: &IpNet) -> Option<&mut V> {
        self.family_mut(net).by_len[net.prefix_len() as usize].get_mut(&net.bits())
    }

    /// The value under `net`, inserted with `make` if absent.
    pub fn get_or_insert_with(&mut self, net: IpNet, make: impl FnOnce() -> V) -> &mut V {
        if self.get(&net).is_none() {
            self.insert(net, make());
        }
        self.get_mut(&net).expect("just inserted")
    }

    /// The most specific stored prefix holding `addr`.
    pub fn longest_match(&self, addr: IpAddr) -> Option<(IpNet, &V)> {
        self.longest_match_net(&IpNet::host(addr))
    }

    /// The most specific stored prefix holding all of `net` (`net` itself if stored).
    pub fn longest_match_net(&self, net: &IpNet) -> Option<(IpNet, &V)> {
        self.containing(net).next()
    }

    /// Every stored prefix holding all of `net` (itself included), most specific first.
    pub fn containing<'a>(&'a self, net: &IpNet) -> impl Iterator<Item = (IpNet, &'a V)> + 'a {
        self.family(net).containing(net.bits(), net.prefix_len())
    }

    /// Every stored prefix inside `net` (itself included), by address, then shorter first.
    pub fn within<'a>(&'a self, net: &IpNet) -> impl Iterator<Item = (IpNet, &'a V)> + 'a {
        self.family(net).within(net.bits(), net.prefix_len())
    }

    /// Every stored prefix that holds or lies inside `net` (containment either way): first the
    /// holding ones, most specific first, then the ones strictly inside. Each prefix once.
    pub fn overlapping<'a>(&'a self, net: &IpNet) -> impl Iterator<Item = (IpNet, &'a V)> + 'a {
        let len = net.prefix_len();
        self.containing(net)
            .chain(self.within(net).filter(move |(n, _)| n.prefix_len() > len))
    }

    /// Every (prefix, value), IPv4 first, by address then length.
    pub fn iter(&self) -> impl Iterator<Item = (IpNet, &V)> + '_ {
        let all4 = IpNet::from_bits(true, 0, 0);
        let all6 = IpNet::from_bits(false, 0, 0);
        self.v4
            .within(all4.bits(), 0)
            .chain(self.v6.within(all6.bits(), 0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(s: &str) -> IpNet {
        IpNet::parse(s).unwrap()
    }

    fn table(prefixes: &[&str]) -> PrefixTable<String> {
        let mut t = PrefixTable::new();
        for p in prefixes {
            t.insert(n(p), (*p).to_owned());
        }
        t
    }

    #[test]
    fn longest_match_prefers_the_most_specific() {
        let t = table(&[
            "0.0.0.0/0",
            "10.0.0.0/8",
            "10.1.0.0/16",
            "10.1.2.0/24",
            "192.0.2.0/24",
            "2001:db8::/32",
            "2001:db8:1::/48",
        ]);
        let lm = |a: &str| {
            t.longest_match(a.parse().unwrap())
                .map(|(k, _)| k.to_string())
        };
        assert_eq!(lm("10.1.2.3").as_deref(), Some("10.1.2.0/24"));
        assert_eq!(lm("10.1.3.3").as_deref(), Some("10.1.0.0/16"));
        assert_eq!(lm("10.2.0.1").as_deref(), Some("10.0.0.0/8"));
        assert_eq!(lm("11.0.0.1").as_deref(), Some("0.0.0.0/0"));
        assert_eq!(lm("2001:db8:1::5").as_deref(), Some("2001:db8:1::/48"));
        assert_eq!(lm("2001:db8:2::5").as_deref(), Some("2001:db8::/32"));
        assert_eq!(lm("2001:db9::5"), None, "no IPv6 default route");
        let chain: Vec<String> = t
            .containing(&n("10.1.2.3"))
            .map(|(k, _)| k.to_string())
            .collect();
        assert_eq!(
            chain,
            ["10.1.2.0/24", "10.1.0.0/16", "10.0.0.0/8", "0.0.0.0/0"]
        );
    }

    #[test]
    fn within_and_overlapping() {
        let t = table(&[
            "10.0.0.0/8",
            "10.1.0.0/16",
            "10.1.2.0/24",
            "10.1.2.3",
            "10.2.0.0/16",
            "11.0.0.0/8",
            "2001:db8::/32",
        ]);
        let within: Vec<String> = t
            .within(&n("10.1.0.0/16"))
            .map(|(k, _)| k.to_string())
            .collect();
        assert_eq!(within, ["10.1.0.0/16", "10.1.2.0/24", "10.1.2.3"]);
        let over: Vec<String> = t
            .overlapping(&n("10.1.0.0/16"))
            .map(|(k, _)| k.to_string())
            .collect();
        assert_eq!(
            over,
            ["10.1.0.0/16", "10.0.0.0/8", "10.1.2.0/24", "10.1.2.3"]
        );
        assert_eq!(t.within(&n("0.0.0.0/0")).count(), 6);
        assert_eq!(t.within(&n("::/0")).count(), 1);
        assert_eq!(t.iter().count(), 7);
    }

    #[test]
    fn insert_replace_remove() {
        let mut t = table(&["10.0.0.0/8", "10.1.0.0/16"]);
        assert_eq!(
            t.insert(n("10.0.0.0/8"), "x".into()).as_deref(),
            Some("10.0.0.0/8")
        );
        assert_eq!(t.len(), 2);
        assert_eq!(t.remove(&n("10.1.0.0/16")).as_deref(), Some("10.1.0.0/16"));
        assert_eq!(t.remove(&n("10.1.0.0/16")), None);
        assert_eq!(t.longest_match("10.1.2.3".parse().unwrap()).unwrap().1, "x");
        *t.get_or_insert_with(n("10.9.0.0/16"), String::new) += "y";
        assert_eq!(t.get(&n("10.9.0.0/16")).map(String::as_str), Some("y"));
        assert!(t.remove(&n("10.0.0.0/8")).is_some() && t.remove(&n("10.9.0.0/16")).is_some());
        assert!(t.is_empty() && t.longest_match("10.1.2.3".parse().unwrap()).is_none());
    }

    /// Against a plain list: random prefixes, random queries.
    #[test]
    fn agrees_with_a_linear_scan() {
        let mut state = 0x1234_5678_9abc_def0u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let mut t = PrefixTable::new();
        let mut list = Vec::new();
        for i in 0..2000 {
            let v4 = next() % 3 != 0;
            let (bits, len) = if v4 {
                (u128::from(next() as u32 & 0x0f0f_ffff), (next() % 33) as u8)
            } else {
                (u128::from(next()) << 64, (next() % 80) as u8)
            };
            let net = IpNet::from_bits(v4, bits, len);
            if t.insert(net, i).is_none() {
                list.push(net);
            }
        }
        for _ in 0..2000 {
            let v4 = next() % 3 != 0;
            let q = if v4 {
                IpNet::from_bits(
                    true,
                    u128::from(next() as u32 & 0x0f0f_ffff),
                    16 + (next() % 17) as u8,
                )
            } else {
                IpNet::from_bits(false, u128::from(next()) << 64, (next() % 129) as u8)
            };
            let mut want: Vec<IpNet> = list.iter().copied().filter(|p| p.overlaps(&q)).collect();
            let mut got: Vec<IpNet> = t.overlapping(&q).map(|(k, _)| k).collect();
            let lpm = list
                .iter()
                .copied()
                .filter(|p| p.contains(&q))
                .max_by_key(|p| p.prefix_len());
            assert_eq!(t.longest_match_net(&q).map(|(k, _)| k), lpm);
            want.sort();
            got.sort();
            assert_eq!(got, want, "{q}");
        }
    }
}
