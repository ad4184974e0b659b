//! The deterministic, seeded generator of the bench's inputs: organisations, prefixes (nested
//! ones included: about a fifth of the prefixes are more-specifics of another organisation's
//! prefix) and events (about 90% inside some prefix), in the simple CSV layouts.

use std::io::{self, Write};

/// Deterministic across platforms and releases (unlike `rand`'s std RNG).
pub use tocsin_core::seeded::SplitMix64 as Rng;

/// A generated prefix: first address, length, owning organisation index.
#[derive(Debug, Clone, Copy)]
pub struct GenPrefix {
    pub bits: u32,
    pub len: u8,
    pub org: usize,
}

/// Organisations `org00001…` and `prefixes` IPv4 prefixes among them.
pub fn prefixes(orgs: usize, prefixes: usize, seed: u64) -> Vec<GenPrefix> {
    let mut rng = Rng::new(seed);
    let mut out: Vec<GenPrefix> = Vec::with_capacity(prefixes);
    let mut seen = std::collections::HashSet::new();
    while out.len() < prefixes {
        let org = if out.len() < orgs {
            out.len()
        } else {
            rng.below(orgs as u64) as usize
        };
        let p = if !out.is_empty() && rng.below(5) == 0 {
            // A more-specific inside an existing prefix (a customer of a provider).
            let parent = out[rng.below(out.len() as u64) as usize];
            if parent.len >= 28 {
                continue;
            }
            let len = parent.len + 1 + rng.below(u64::from(28 - parent.len)) as u8;
            let host = 32 - u32::from(len);
            let span = 32 - u32::from(parent.len);
            let offset = (rng.next_u64() as u32) & ((1u32 << span) - 1) & !((1u32 << host) - 1);
            GenPrefix {
                bits: parent.bits | offset,
                len,
                org,
            }
        } else {
            // Top-level prefixes in 1.0.0.0–223.255.255.255, /12 to /24.
            let len = 12 + rng.below(13) as u8;
            let host = 32 - u32::from(len);
            let addr = (1u32 << 24) + (rng.next_u64() as u32) % (222u32 << 24);
            GenPrefix {
                bits: addr & !((1u32 << host) - 1),
                len,
                org,
            }
        };
        if seen.insert((p.bits, p.len)) {
            out.push(p);
        }
    }
    out
}

pub fn org_id(i: usize) -> String {
    format!("org{:05}", i + 1)
}

pub fn ip_text(a: u32) -> String {
    std::net::Ipv4Addr::from(a).to_string()
}

pub fn write_orgs(w: &mut impl Write, orgs: usize) -> io::Result<()> {
    writeln!(w, "org_id,name")?;
    for i in 0..orgs {
        writeln!(w, "{},Organisation {}", org_id(i), i + 1)?;
    }
    Ok(())
}

pub fn write_prefixes(w: &mut impl Write, p: &[GenPrefix]) -> io::Result<()> {
    writeln!(w, "prefix,org_id")?;
    for x in p {
        writeln!(w, "{}/{},{}", ip_text(x.bits), x.len, org_id(x.org))?;
    }
    Ok(())
}

pub const TYPES: &[&str] = &[
    "scan_ssh",
    "scan_rdp",
    "botnet_drone",
    "open_resolver",
    "sinkhole_http",
    "scan_smb",
    "vulnerable_exchange",
];
const PROTOS: &[&str] = &["tcp", "udp"];

/// `events` events (`timestamp,ip,port,protocol,type,asn`), ~90% inside some prefix.
pub fn write_events(w: &mut impl Write, p: &[GenPrefix], events: u64, seed: u64) -> io::Result<()> {
    let mut rng = Rng::new(seed ^ 0x5EED_F00D);
    writeln!(w, "timestamp,ip,port,protocol,type,asn")?;
    let mut line = String::with_capacity(96);
    for i in 0..events {
        let addr = if rng.below(10) == 0 || p.is_empty() {
            rng.next_u64() as u32
        } else {
            let x = p[rng.below(p.len() as u64) as usize];
            let host = 32 - u32::from(x.len);
            x.bits | ((rng.next_u64() as u32) & ((1u64 << host) - 1) as u32)
        };
        line.clear();
        use std::fmt::Write as _;
        let secs = i % 86_400;
        let _ = writeln!(
            line,
            "2026-11-27T{:02}:{:02}:{:02}Z,{},{},{},{},{}",
            secs / 3600,
            secs / 60 % 60,
            secs % 60,
            ip_text(addr),
            1 + rng.below(65_535),
            PROTOS[rng.below(2) as usize],
            TYPES[rng.below(TYPES.len() as u64) as usize],
            64_496 + rng.below(1_000)
        );
        w.write_all(line.as_bytes())?;
    }
    Ok(())
}

/// The brute-force reference: for each address, the longest prefix containing it by a plain loop.
pub fn brute_force_owner(p: &[GenPrefix], addr: u32) -> Option<usize> {
    let mut best: Option<GenPrefix> = None;
    for x in p {
        let mask = if x.len == 0 {
            0
        } else {
            u32::MAX << (32 - u32::from(x.len))
        };
        if addr & mask == x.bits && best.is_none_or(|b| x.len > b.len) {
            best = Some(*x);
        }
    }
    best.map(|b| b.org)
}
