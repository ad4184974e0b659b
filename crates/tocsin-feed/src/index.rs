//! A flat IPv4 look-up derived from the constituency's `PrefixTable` (the source of truth): the
//! nested prefixes become disjoint address ranges (each owned by its most specific prefix), with
//! a directory on the top 16 address bits. A look-up is one directory read and a binary search
//! over the few ranges of that /16 — the feed hot path does a million per second, where probing
//! the table's prefix lengths one by one costs ~20 hash look-ups. IPv6 uses the table itself.
//! A test checks both agree on random and edge addresses.

use tocsin_core::entity::IpNet;
use tocsin_match::net::PrefixTable;

const NONE: u32 = u32::MAX;

#[derive(Debug, Clone)]
pub struct V4Index {
    /// Start of each range, ascending; `starts[0] == 0`.
    starts: Vec<u32>,
    /// Owner of each range (`NONE`: nobody).
    owners: Vec<u32>,
    /// The prefix each range belongs to (index into `nets`; `NONE`: none). Ranges split on it, not
    /// on the owner, so that a notification can say which prefix made an event the owner's.
    prefix: Vec<u32>,
    nets: Vec<IpNet>,
    /// `dir[b]`: the range holding address `b << 16` (65,537 entries; the last is the end).
    dir: Vec<u32>,
}

impl V4Index {
    pub fn build(table: &PrefixTable<u32>) -> Self {
        let nets: Vec<(IpNet, u32)> = table
            .iter()
            .filter(|(n, _)| n.is_ipv4())
            .map(|(n, &v)| (n, v))
            .collect();
        // (start, end, length, index into `nets`)
        let mut pfx: Vec<(u64, u64, u8, u32)> = nets
            .iter()
            .enumerate()
            .map(|(i, (n, _))| {
                let start = n.bits() as u64;
                let size = 1u64 << (32 - u32::from(n.prefix_len()));
                (start, start + size - 1, n.prefix_len(), i as u32)
            })
            .collect();
        // Outer prefixes before the ones they contain.
        pfx.sort_by_key(|&(s, _, len, _)| (s, len));
        let mut starts: Vec<u64> = vec![0];
        let mut owners: Vec<u32> = vec![NONE];
        let emit = |pos: u64, owner: u32, starts: &mut Vec<u64>, owners: &mut Vec<u32>| {
            if pos > u64::from(u32::MAX) {
                return;
            }
            if *starts.last().expect("non-empty") == pos {
                *owners.last_mut().expect("non-empty") = owner;
                // The replaced range may now equal its predecessor.
                let n = owners.len();
                if n >= 2 && owners[n - 2] == owner {
                    starts.pop();
                    owners.pop();
                }
            } else if *owners.last().expect("non-empty") != owner {
                starts.push(pos);
                owners.push(owner);
            }
        };
        let mut stack: Vec<(u64, u32)> = Vec::new();
        for &(s, e, _, v) in &pfx {
            while let Some(&(end, _)) = stack.last() {
                if end >= s {
                    break;
                }
                stack.pop();
                let owner = stack.last().map(|t| t.1).unwrap_or(NONE);
                emit(end + 1, owner, &mut starts, &mut owners);
            }
            emit(s, v, &mut starts, &mut owners);
            stack.push((e, v));
        }
        while let Some((end, _)) = stack.pop() {
            let owner = stack.last().map(|t| t.1).unwrap_or(NONE);
            emit(end + 1, owner, &mut starts, &mut owners);
        }
        let starts: Vec<u32> = starts.into_iter().map(|s| s as u32).collect();
        // `owners` holds prefix indices so far: split them into the owner and the prefix.
        let prefix = owners;
        let owners: Vec<u32> = prefix
            .iter()
            .map(|&p| if p == NONE { NONE } else { nets[p as usize].1 })
            .collect();
        let nets: Vec<IpNet> = nets.into_iter().map(|(n, _)| n).collect();
        let mut dir = Vec::with_capacity(65_537);
        let mut i = 0usize;
        for b in 0u64..65_536 {
            let addr = (b << 16) as u32;
            while i + 1 < starts.len() && starts[i + 1] <= addr {
                i += 1;
            }
            dir.push(i as u32);
        }
        dir.push((starts.len() - 1) as u32);
        Self {
            starts,
            owners,
            prefix,
            nets,
            dir,
        }
    }

    #[inline]
    fn range(&self, addr: u32) -> usize {
        let b = (addr >> 16) as usize;
        let (lo, hi) = (self.dir[b] as usize, self.dir[b + 1] as usize);
        if lo == hi {
            lo
        } else {
            lo + self.starts[lo..=hi].partition_point(|&s| s <= addr) - 1
        }
    }

    /// The owner of the most specific prefix holding `addr`.
    #[inline]
    pub fn lookup(&self, addr: u32) -> Option<u32> {
        let o = self.owners[self.range(addr)];
        (o != NONE).then_some(o)
    }

    /// The most specific prefix holding `addr`, and its owner.
    #[inline]
    pub fn lookup_net(&self, addr: u32) -> Option<(&IpNet, u32)> {
        let i = self.range(addr);
        let p = self.prefix[i];
        (p != NONE).then(|| (&self.nets[p as usize], self.owners[i]))
    }

    /// Number of disjoint ranges.
    pub fn ranges(&self) -> usize {
        self.starts.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gen;
    use tocsin_core::entity::IpNet;

    #[test]
    fn agrees_with_the_prefix_table() {
        let mut t = PrefixTable::new();
        for (i, p) in gen::prefixes(500, 5_000, 7).iter().enumerate() {
            t.insert(
                IpNet::parse(&format!("{}/{}", gen::ip_text(p.bits), p.len)).unwrap(),
                i as u32,
            );
        }
        for (n, v) in [
            ("0.0.0.0/1", 900_001u32),
            ("255.255.255.255/32", 900_002),
            ("10.0.0.0/8", 900_003),
            ("10.0.0.0/32", 900_004),
            ("10.0.0.1/32", 900_005),
        ] {
            t.insert(IpNet::parse(n).unwrap(), v);
        }
        let idx = V4Index::build(&t);
        let mut rng = gen::Rng::new(3);
        let mut probes: Vec<u32> = (0..200_000).map(|_| rng.next_u64() as u32).collect();
        for (n, _) in t.iter() {
            let s = n.bits() as u32;
            let size = 1u64 << (32 - u32::from(n.prefix_len()));
            probes.extend([
                s,
                s.wrapping_sub(1),
                (u64::from(s) + size - 1) as u32,
                (u64::from(s) + size) as u32,
            ]);
        }
        probes.extend([
            0,
            u32::MAX,
            0x0A00_0000,
            0x0A00_0001,
            0x0A00_0002,
            0x7FFF_FFFF,
            0x8000_0000,
        ]);
        for a in probes {
            let want = t.longest_match(std::net::IpAddr::V4(a.into()));
            assert_eq!(idx.lookup(a), want.map(|(_, v)| *v), "{}", gen::ip_text(a));
            assert_eq!(
                idx.lookup_net(a).map(|(n, o)| (*n, o)),
                want.map(|(n, v)| (n, *v)),
                "{}",
                gen::ip_text(a)
            );
        }
    }
}
