//! `tocsin bench match`: build the matcher over a deterministic synthetic registry and time a mixed
//! threat set against it.
//!
//! The registry (N entities; entity `i` is a pure function of the seed and `i`, so nothing needs
//! to be kept to regenerate it): 40 % venues at the world's 20,000 largest cities (gazetteer),
//! 35 % events at earlier venues (location and city through the venue link), 15 % organisations
//! (sectors, domains, ASN, an IPv4 or IPv6 prefix), 10 % network assets (a prefix and a
//! subdomain of an organisation's domain). Names are made of syllable-built proper nouns plus a
//! type word, 80 % in Latin and 20 % in Cyrillic script; 10 % of venues carry an alias in the
//! other script. Threats: 25 % fuzzy names (another entity's name with a typo, in the other
//! script or with its words swapped), and for the rest: category + circle + window, "large
//! gatherings" in a named city, category + window, an address or prefix, a domain, an ASN or a
//! sector with a named city.
//!
//! Figures: index build time; resident memory per entity (VmRSS after the build minus before,
//! over N; the entities are generated in chunks while loading, so this is the registry's own
//! footprint); per-threat latency p50/p99 for the non-fuzzy specs (`p50_ms`, `p99_ms`) and for
//! the fuzzy-name specs (`p50_ms_fuzzy`, `p99_ms_fuzzy`); threats per second over the whole set;
//! matches found; and the prefix table's look-up rate (`prefix_lookups_per_s`, 50,000 prefixes).

use crate::progress::{Mode, Progress};
use anyhow::{bail, Result};
use chrono::{DateTime, Duration, TimeZone, Utc};
use serde_json::json;
use std::time::Instant;
use tocsin_core::entity::{DomainName, Footprint, IpNet};
use tocsin_core::seeded::SplitMix64;
use tocsin_core::{
    Area, Category, CountryCode, Credibility, Entity, EntityId, EntityKind, GeoPoint, Harm,
    PortionMark, TargetSpec, Threat, ThreatId, ThreatWindow,
};
use tocsin_match::net::PrefixTable;
use tocsin_match::{reference_match, Gazetteer, MatchConfig, Registry};

#[derive(clap::Args, Debug)]
pub struct MatchArgs {
    /// Number of registry entities.
    #[arg(long, default_value_t = 100_000)]
    pub entities: u64,
    /// Number of threats (one target spec each).
    #[arg(long, default_value_t = 2_000)]
    pub threats: u64,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
    /// Check every threat against the brute-force reference matcher (N ≤ 100,000).
    #[arg(long)]
    pub verify: bool,
    /// Seed of the synthetic registry and threats.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Store-backed mode: load the registry into the store (`--db`; PostgreSQL must be empty), then
    /// W engines, each on its own connection with its own index, ingest and match the threats
    /// (storing every match, audited) from one shared queue. Prints matches/s.
    #[arg(long)]
    pub workers: Option<usize>,
}

/// The generator of item `i` of `stream`: independent streams from one seed.
fn rng(seed: u64, stream: u64, i: u64) -> SplitMix64 {
    let mut r = SplitMix64::new(
        seed ^ stream.wrapping_mul(0xA076_1D64_78BD_642F) ^ i.wrapping_mul(0xE703_7ED1_A0B4_28DB),
    );
    r.next_u64();
    r
}

/// Syllables whose Cyrillic spelling transliterates back to the same Latin letters.
const SYLLABLES: &[&str] = &[
    "ba", "be", "bo", "bu", "da", "de", "do", "du", "ga", "go", "gu", "ka", "ke", "ko", "ku", "la",
    "le", "lo", "lu", "ma", "me", "mo", "mu", "na", "ne", "no", "nu", "pa", "po", "ra", "re", "ro",
    "ru", "sa", "se", "so", "su", "ta", "te", "to", "tu", "va", "ve", "vo", "za", "zo",
];

fn cyrillic(latin: &str) -> String {
    latin
        .chars()
        .map(|c| match c {
            'a' => 'а',
            'b' => 'б',
            'd' => 'д',
            'e' => 'е',
            'g' => 'г',
            'k' => 'к',
            'l' => 'л',
            'm' => 'м',
            'n' => 'н',
            'o' => 'о',
            'p' => 'п',
            'r' => 'р',
            's' => 'с',
            't' => 'т',
            'u' => 'у',
            'v' => 'в',
            'z' => 'з',
            other => other,
        })
        .collect()
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// A proper noun of 2–3 syllables (46² + 46³ ≈ 99,000 of them).
fn proper(r: &mut SplitMix64) -> String {
    let n = 2 + r.below(2);
    (0..n)
        .map(|_| SYLLABLES[r.below(SYLLABLES.len() as u64) as usize])
        .collect()
}

/// (Latin, Cyrillic) type words that transliterate into each other.
const VENUE_TYPES: &[(&str, &str, &str)] = &[
    ("Arena", "Арена", "venue/sports/arena"),
    ("Stadion", "Стадион", "venue/sports/stadium"),
    ("Teatr", "Театр", "venue/entertainment/theatre"),
    ("Holl", "Холл", "venue/entertainment/concert_hall"),
    ("Klub", "Клуб", "venue/entertainment/club"),
    ("Park", "Парк", "venue/park"),
    ("Sinagoga", "Синагога", "place_of_worship/synagogue"),
    ("Mechet", "Мечеть", "place_of_worship/mosque"),
    ("Sobor", "Собор", "place_of_worship/church"),
    ("Vokzal", "Вокзал", "venue/transport/station"),
];
const EVENT_TYPES: &[(&str, &str, &str)] = &[
    ("Festival", "Фестиваль", "event/concert"),
    ("Kontsert", "Концерт", "event/concert"),
    ("Kubok", "Кубок", "event/sports"),
    ("Miting", "Митинг", "event/rally"),
    ("Sluzhba", "Служба", "event/religious"),
];
const ORG_TYPES: &[(&str, &str, &str, &str)] = &[
    ("Energo", "Энерго", "organisation/company", "energy"),
    ("Bank", "Банк", "organisation/company", "finance"),
    ("Telekom", "Телеком", "organisation/company", "telecom"),
    ("Vodokanal", "Водоканал", "organisation/utility", "water"),
    ("Klinika", "Клиника", "organisation/health", "health"),
    ("Media", "Медиа", "organisation/media", "media"),
];
const TLDS: &[&str] = &[
    "com", "ru", "de", "co.uk", "org", "net", "io", "fr", "com.br", "in",
];
/// 2024-01-01T00:00:00Z.
const YEAR_START: i64 = 1_704_067_200;

pub(super) struct World {
    cities: Vec<(String, GeoPoint, f64)>,
}

impl World {
    pub(super) fn new(g: &Gazetteer) -> Self {
        let mut places: Vec<_> = g.places().iter().collect();
        places.sort_by(|a, b| {
            b.population
                .cmp(&a.population)
                .then_with(|| a.name.cmp(&b.name))
        });
        let cities = places
            .into_iter()
            .take(20_000)
            .map(|p| {
                (
                    p.name.clone(),
                    p.center,
                    tocsin_match::gazetteer::default_radius_km(p.population).min(25.0),
                )
            })
            .collect();
        World { cities }
    }

    fn city(&self, r: &mut SplitMix64) -> &(String, GeoPoint, f64) {
        &self.cities[r.below(self.cities.len() as u64) as usize]
    }

    fn near(r: &mut SplitMix64, c: &GeoPoint, radius_km: f64) -> GeoPoint {
        let d = radius_km * r.unit().sqrt() / 111.0;
        let a = r.unit() * std::f64::consts::TAU;
        let lat = (c.lat + d * a.sin()).clamp(-89.9, 89.9);
        let lon = c.lon + d * a.cos() / lat.to_radians().cos().max(0.05);
        GeoPoint {
            lat,
            lon: ((lon + 540.0) % 360.0) - 180.0,
        }
    }
}

const BLOCK: u64 = 20;

fn kind_of(i: u64) -> EntityKind {
    match i % BLOCK {
        0..=7 => EntityKind::Venue,
        8..=14 => EntityKind::Event,
        15..=17 => EntityKind::Organisation,
        _ => EntityKind::NetworkAsset,
    }
}

fn cat(s: &str) -> Category {
    Category::parse(s).expect("benchmark categories are valid")
}

fn org_domain(seed: u64, i: u64) -> (String, String) {
    let mut r = rng(seed, 7, i);
    let p = proper(&mut r);
    let tld = TLDS[r.below(TLDS.len() as u64) as usize];
    (p.clone(), format!("{p}.{tld}"))
}

fn prefix(r: &mut SplitMix64) -> IpNet {
    if r.chance(0.8) {
        let len = 16 + r.below(13) as u8;
        IpNet::from_bits(true, u128::from(r.next_u64() as u32), len)
    } else {
        // Global unicast (2000::/3), random below: /44 to /64.
        let len = 44 + r.below(21) as u8;
        IpNet::from_bits(
            false,
            (0x2u128 << 124) | (u128::from(r.next_u64() >> 3) << 64),
            len,
        )
    }
}

/// Entity `i` of the synthetic registry.
pub(super) fn entity(seed: u64, world: &World, i: u64) -> Entity {
    let mut r = rng(seed, 1, i);
    let kind = kind_of(i);
    let cyr = r.chance(0.2);
    let script = |latin: &str, cyrillic_word: &str, p: &str| -> String {
        if cyr {
            format!("{} {cyrillic_word}", capitalise(&cyrillic(p)))
        } else {
            format!("{} {latin}", capitalise(p))
        }
    };
    let base = Entity {
        id: EntityId::new(format!("e{i}")),
        kind,
        name: String::new(),
        aliases: vec![],
        category: cat("venue"),
        location: None,
        capacity: None,
        span: None,
        venue: None,
        city: None,
        country: None,
        audiences: vec![],
        footprint: Footprint::default(),
    };
    match kind {
        EntityKind::Venue => {
            let (lat, cy, ccy) = VENUE_TYPES[r.below(VENUE_TYPES.len() as u64) as usize];
            let p = proper(&mut r);
            let (city, centre, radius) = world.city(&mut r);
            let name = script(lat, cy, &p);
            let aliases = if r.chance(0.1) {
                vec![if cyr {
                    format!("{} {lat}", capitalise(&p))
                } else {
                    format!("{} {cy}", capitalise(&cyrillic(&p)))
                }]
            } else {
                vec![]
            };
            Entity {
                name,
                aliases,
                category: cat(ccy),
                location: Some(World::near(&mut r, centre, *radius)),
                capacity: Some((50.0 * (1600.0f64).powf(r.unit())) as u32),
                city: Some(city.clone()),
                country: CountryCode::parse("RUS").ok().filter(|_| cyr),
                ..base
            }
        }
        EntityKind::Event => {
            let (lat, cy, ccy) = EVENT_TYPES[r.below(EVENT_TYPES.len() as u64) as usize];
            let p = proper(&mut r);
            let block = i / BLOCK;
            let venue = (block > 0).then(|| {
                let back = 1 + r.below(block.min(1000));
                (block - back) * BLOCK + r.below(8)
            });
            let start = YEAR_START + r.below(365 * 24) as i64 * 3600;
            let hours = if r.chance(0.05) {
                24 * (2 + r.below(12) as i64)
            } else {
                2 + r.below(6) as i64
            };
            let from = Utc.timestamp_opt(start, 0).single().expect("valid");
            let span = ThreatWindow::new(from, from + Duration::hours(hours)).expect("positive");
            let own_place = venue.is_none().then(|| {
                let (city, centre, radius) = world.city(&mut r);
                (city.clone(), World::near(&mut r, centre, *radius))
            });
            Entity {
                name: script(lat, cy, &p),
                category: cat(ccy),
                capacity: Some((20.0 * (2500.0f64).powf(r.unit())) as u32),
                span: Some(span),
                venue: venue.map(|v| EntityId::new(format!("e{v}"))),
                location: own_place.as_ref().map(|(_, l)| *l),
                city: own_place.map(|(c, _)| c),
                ..base
            }
        }
        EntityKind::Organisation => {
            let (lat, cy, ccy, sector) = ORG_TYPES[r.below(ORG_TYPES.len() as u64) as usize];
            let (p, domain) = org_domain(seed, i);
            let (city, centre, radius) = world.city(&mut r);
            Entity {
                name: script(lat, cy, &p),
                category: cat(ccy),
                location: Some(World::near(&mut r, centre, *radius)),
                city: Some(city.clone()),
                footprint: Footprint {
                    networks: vec![prefix(&mut r)],
                    asns: vec![64_512 + r.below(60_000) as u32],
                    domains: vec![DomainName::parse(&domain).expect("valid")],
                    sectors: vec![sector.to_owned()],
                },
                ..base
            }
        }
        _ => {
            // A host of an organisation in the same block (or an earlier one).
            let block = i / BLOCK;
            let owner =
                block.saturating_sub(r.below(block.min(1000) + 1)) * BLOCK + 15 + r.below(3);
            let (p, domain) = org_domain(seed, owner);
            let host = ["mail", "vpn", "www", "scada", "portal"][r.below(5) as usize];
            Entity {
                name: format!("{} {host}", capitalise(&p)),
                category: cat("network/host"),
                footprint: Footprint {
                    networks: vec![prefix(&mut r)],
                    asns: vec![],
                    domains: vec![DomainName::parse(&format!("{host}.{domain}")).expect("valid")],
                    sectors: vec![],
                },
                ..base
            }
        }
    }
}

/// A typo on one token of four letters or more: delete, substitute or transpose.
fn typo(r: &mut SplitMix64, name: &str) -> String {
    let mut words: Vec<Vec<char>> = name.split(' ').map(|w| w.chars().collect()).collect();
    let candidates: Vec<usize> = (0..words.len()).filter(|&k| words[k].len() >= 4).collect();
    if let Some(&k) = candidates.get(r.below(candidates.len().max(1) as u64) as usize) {
        let w = &mut words[k];
        let p = 1 + r.below(w.len() as u64 - 2) as usize;
        match r.below(3) {
            0 => {
                w.remove(p);
            }
            1 => {
                w[p] = if w[p] == 'o' || w[p] == 'о' {
                    'a'
                } else {
                    'o'
                }
            }
            _ => w.swap(p, p + 1),
        }
    }
    words
        .into_iter()
        .map(|w| w.into_iter().collect::<String>())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The other script's spelling (only the letters `cyrillic` maps are involved).
fn other_script(name: &str) -> String {
    let is_cyr = name.chars().any(|c| ('\u{400}'..='\u{4ff}').contains(&c));
    if is_cyr {
        let back: String = name
            .chars()
            .map(|c| match c {
                'а' | 'А' => 'a',
                'б' | 'Б' => 'b',
                'д' | 'Д' => 'd',
                'е' | 'Е' => 'e',
                'г' | 'Г' => 'g',
                'к' | 'К' => 'k',
                'л' | 'Л' => 'l',
                'м' | 'М' => 'm',
                'н' | 'Н' => 'n',
                'о' | 'О' => 'o',
                'п' | 'П' => 'p',
                'р' | 'Р' => 'r',
                'с' | 'С' => 's',
                'т' | 'Т' => 't',
                'у' | 'У' => 'u',
                'в' | 'В' => 'v',
                'з' | 'З' => 'z',
                other => other,
            })
            .collect();
        back
    } else {
        cyrillic(&name.to_lowercase())
    }
}

fn spec(label: &str) -> TargetSpec {
    TargetSpec {
        label: label.to_owned(),
        mark: PortionMark::unclassified(),
        name: None,
        categories: vec![],
        min_size: None,
        area: None,
        window: None,
        footprint: Footprint::default(),
    }
}

/// Threat `k`: one target spec, and whether it is a fuzzy-name spec.
pub(super) fn threat(seed: u64, world: &World, n: u64, k: u64) -> (Threat, bool) {
    let mut r = rng(seed, 2, k);
    let start = YEAR_START + r.below(360 * 24) as i64 * 3600;
    let from: DateTime<Utc> = Utc.timestamp_opt(start, 0).single().expect("valid");
    let mut window = ThreatWindow::imminent(from, 48);
    let pick = |r: &mut SplitMix64, kinds: &[EntityKind]| -> Entity {
        loop {
            let i = r.below(n);
            if kinds.contains(&kind_of(i)) {
                return entity(seed, world, i);
            }
        }
    };
    let roll = r.below(100);
    let mut fuzzy = false;
    let target = match roll {
        0..=24 => {
            fuzzy = true;
            let e = pick(
                &mut r,
                &[
                    EntityKind::Venue,
                    EntityKind::Event,
                    EntityKind::Organisation,
                ],
            );
            if let Some(span) = e.span {
                window = ThreatWindow::new(
                    span.from - Duration::hours(24),
                    span.until + Duration::hours(24),
                )
                .expect("valid");
            }
            let name = match r.below(3) {
                0 => typo(&mut r, &e.name),
                1 => other_script(&e.name),
                _ => e.name.split(' ').rev().collect::<Vec<_>>().join(" "),
            };
            TargetSpec {
                name: Some(name),
                ..spec("named target")
            }
        }
        25..=44 => {
            let (_, centre, _) = world.city(&mut r);
            let c = [
                ("venue/entertainment", "event/concert"),
                ("venue/sports", "event/sports"),
                ("place_of_worship", "event/religious"),
            ][r.below(3) as usize];
            TargetSpec {
                categories: vec![cat(c.0), cat(c.1)],
                area: Some(Area::Circle {
                    center: World::near(&mut r, centre, 5.0),
                    radius_km: 5.0 + r.below(25) as f64,
                }),
                ..spec("category in a circle")
            }
        }
        45..=59 => {
            let (city, _, _) = world.city(&mut r);
            TargetSpec {
                min_size: Some(1000),
                area: Some(Area::Named { name: city.clone() }),
                ..spec("large gatherings in a city")
            }
        }
        60..=64 => {
            window = ThreatWindow::imminent(from, 6);
            let c = [
                "event/concert",
                "event/sports",
                "event/rally",
                "event/religious",
            ][r.below(4) as usize];
            TargetSpec {
                categories: vec![cat(c)],
                min_size: Some(2000),
                ..spec("category in a window")
            }
        }
        65..=79 => {
            let e = pick(
                &mut r,
                &[EntityKind::Organisation, EntityKind::NetworkAsset],
            );
            let net = e.footprint.networks[0];
            let q = if r.chance(0.5) {
                // An address inside the entity's network.
                let host_bits = u32::from(net.width() - net.prefix_len()).min(32);
                let offset = if host_bits == 0 {
                    0
                } else {
                    u128::from(r.next_u64() as u32) & ((1u128 << host_bits) - 1)
                };
                IpNet::from_bits(net.is_ipv4(), net.bits() | offset, net.width())
            } else {
                IpNet::from_bits(
                    net.is_ipv4(),
                    net.bits(),
                    net.prefix_len().saturating_sub(r.below(3) as u8),
                )
            };
            TargetSpec {
                footprint: Footprint {
                    networks: vec![q],
                    ..Footprint::default()
                },
                ..spec("network")
            }
        }
        80..=89 => {
            let e = pick(&mut r, &[EntityKind::Organisation]);
            TargetSpec {
                footprint: Footprint {
                    domains: e.footprint.domains.clone(),
                    ..Footprint::default()
                },
                ..spec("domain")
            }
        }
        90..=94 => {
            let e = pick(&mut r, &[EntityKind::Organisation]);
            TargetSpec {
                footprint: Footprint {
                    asns: e.footprint.asns.clone(),
                    ..Footprint::default()
                },
                ..spec("asn")
            }
        }
        _ => {
            let (city, _, _) = world.city(&mut r);
            let sector = ORG_TYPES[r.below(ORG_TYPES.len() as u64) as usize].3;
            TargetSpec {
                area: Some(Area::Named { name: city.clone() }),
                footprint: Footprint {
                    sectors: vec![sector.to_owned()],
                    ..Footprint::default()
                },
                ..spec("sector in a city")
            }
        }
    };
    let t = Threat {
        id: ThreatId::new(format!("t{k}")),
        title: format!("synthetic threat {k}"),
        originator: CountryCode::parse("USA").expect("valid"),
        received: from,
        actor: None,
        actor_mark: PortionMark::unclassified(),
        harms: vec![Harm::Killing],
        credibility: Credibility::Probable,
        window,
        public_advice_hours: 48,
        targets: vec![target],
        portions: vec![],
        restricted_terms: vec![],
        tlp: None,
        measures: vec![],
    };
    (t, fuzzy)
}

fn rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<u64>().ok())
        })
        .map_or(0, |kb| kb * 1024)
}

/// CPU seconds (user + system, all threads) used by this process so far.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which is in parentheses and may hold spaces).
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |k: usize| f.get(k).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    // utime and stime are fields 14 and 15 of the file, 12 and 13 after the name; USER_HZ is 100.
    (ticks(11) + ticks(12)) / 100.0
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx]
}

/// Longest-prefix look-ups per second on one core, 50,000 random prefixes.
fn prefix_rate(seed: u64) -> f64 {
    let mut r = rng(seed, 3, 0);
    let mut t = PrefixTable::new();
    for i in 0..50_000u32 {
        t.insert(prefix(&mut r), i);
    }
    let queries: Vec<std::net::IpAddr> = (0..1_000_000)
        .map(|_| std::net::IpAddr::V4((r.next_u64() as u32).into()))
        .collect();
    let start = Instant::now();
    let mut hits = 0usize;
    for q in &queries {
        hits += usize::from(t.longest_match(*q).is_some());
    }
    let secs = start.elapsed().as_secs_f64();
    std::hint::black_box(hits);
    queries.len() as f64 / secs
}

pub fn run(a: MatchArgs, db: &super::super::DbLocation) -> Result<()> {
    if let Some(w) = a.workers {
        return super::match_workers::run(&a, w, db);
    }
    if a.verify && a.entities > 100_000 {
        bail!("--verify compares every threat with a brute-force loop over all entities; use it with --entities up to 100000 (got {})", a.entities);
    }
    if a.entities == 0 || a.threats == 0 {
        bail!("--entities and --threats must be at least 1");
    }
    let gazetteer = Gazetteer::builtin();
    let world = World::new(&gazetteer);
    let seed = a.seed;
    let rss_before = rss_bytes();
    let cpu_before = cpu_seconds();
    let mode = Mode::detect(a.json);
    let building = Progress::new(mode, "building", "entities", Some(a.entities));
    let start = Instant::now();
    let mut reg = Registry::new(MatchConfig::default(), gazetteer.clone());
    reg.reserve(a.entities as usize);
    // Entities are generated on a thread of their own, in chunks, so that the build is timed
    // rather than the generator, and no more than a few chunks exist at once.
    std::thread::scope(|sc| {
        let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<Entity>>(2);
        let world = &world;
        sc.spawn(move || {
            let mut i = 0;
            while i < a.entities {
                let end = (i + 8192).min(a.entities);
                if tx
                    .send((i..end).map(|k| entity(seed, world, k)).collect())
                    .is_err()
                {
                    return;
                }
                i = end;
            }
        });
        // Counted per chunk: a count per entity would weigh on the build it times.
        reg.extend(
            rx.into_iter()
                .inspect(|chunk| building.inc(chunk.len() as u64))
                .flatten(),
        );
    });
    let build_s = start.elapsed().as_secs_f64();
    building.finish("");
    let build_cpu_s = cpu_seconds() - cpu_before;
    let rss_after = rss_bytes();
    let rss_per_entity = rss_after.saturating_sub(rss_before) as f64 / a.entities as f64;

    let threats: Vec<(Threat, bool)> = (0..a.threats)
        .map(|k| threat(seed, &world, a.entities, k))
        .collect();
    let mut lat_fuzzy = Vec::new();
    let mut lat_rest = Vec::new();
    let mut matches = 0usize;
    let mut errors = 0usize;
    let mut by_kind: std::collections::BTreeMap<&str, (Vec<f64>, usize)> =
        std::collections::BTreeMap::new();
    let matching = Progress::new(mode, "matching", "threats", Some(threats.len() as u64));
    let all_start = Instant::now();
    let mut results = Vec::with_capacity(threats.len());
    for (t, fuzzy) in &threats {
        matching.inc(1);
        let s = Instant::now();
        let res = reg.match_threat(t);
        let ms = s.elapsed().as_secs_f64() * 1000.0;
        if *fuzzy {
            lat_fuzzy.push(ms);
        } else {
            lat_rest.push(ms);
        }
        let found = res.as_ref().map_or(0, Vec::len);
        let k = by_kind.entry(t.targets[0].label.as_str()).or_default();
        k.0.push(ms);
        k.1 += found;
        match &res {
            Ok(m) => matches += m.len(),
            Err(_) => errors += 1,
        }
        if a.verify {
            results.push(res);
        }
    }
    let total_s = all_start.elapsed().as_secs_f64();
    matching.finish(&format!("{matches} matches"));
    lat_fuzzy.sort_by(f64::total_cmp);
    lat_rest.sort_by(f64::total_cmp);

    let mut verified = None;
    if a.verify {
        let entities: Vec<Entity> = (0..a.entities).map(|i| entity(seed, &world, i)).collect();
        let config = MatchConfig::default();
        for ((t, _), got) in threats.iter().zip(&results) {
            let want = reference_match(&entities, t, &config, &gazetteer);
            if &want != got {
                let show = |r: &Result<Vec<tocsin_core::Match>, tocsin_match::MatchError>| match r {
                    Ok(m) => format!(
                        "{} matches: {:?}",
                        m.len(),
                        m.iter()
                            .take(5)
                            .map(|m| (m.entity_id.as_str(), m.score))
                            .collect::<Vec<_>>()
                    ),
                    Err(e) => format!("error: {e}"),
                };
                bail!(
                    "--verify: threat {} ({}) differs from the reference matcher\n  indexed:   {}\n  reference: {}",
                    t.id,
                    t.targets[0].label,
                    show(got),
                    show(&want)
                );
            }
        }
        verified = Some(threats.len());
    }

    let prefix_lookups = prefix_rate(seed);
    let kinds: serde_json::Map<String, serde_json::Value> = by_kind
        .iter_mut()
        .map(|(k, (lat, found))| {
            lat.sort_by(f64::total_cmp);
            let v = json!({"threats": lat.len(), "p50_ms": percentile(lat, 0.5), "p99_ms": percentile(lat, 0.99), "matches_per_threat": *found as f64 / lat.len() as f64});
            ((*k).to_owned(), v)
        })
        .collect();
    let out = json!({
        "entities": a.entities,
        "threats": a.threats,
        "seed": seed,
        "build_s": build_s,
        "build_cpu_s": build_cpu_s,
        "rss_bytes_per_entity": rss_per_entity,
        "rss_bytes": rss_after,
        "p50_ms": percentile(&lat_rest, 0.5),
        "p99_ms": percentile(&lat_rest, 0.99),
        "p50_ms_fuzzy": percentile(&lat_fuzzy, 0.5),
        "p99_ms_fuzzy": percentile(&lat_fuzzy, 0.99),
        "threats_fuzzy": lat_fuzzy.len(),
        "threats_per_s": a.threats as f64 / total_s,
        "matches": matches,
        "errors": errors,
        "verified": verified,
        "prefix_lookups_per_s": prefix_lookups,
        "by_spec": kinds,
    });
    if a.json {
        println!("{out}");
    } else {
        println!(
            "tocsin bench match: {} entities, {} threats, seed {}",
            a.entities, a.threats, seed
        );
        println!(
            "  index build        {build_s:.2} s ({:.2} µs/entity; {build_cpu_s:.1} CPU-s over all threads, generator included)",
            build_s * 1e6 / a.entities as f64
        );
        println!(
            "  resident memory    {:.0} bytes/entity ({:.1} MiB in all)",
            rss_per_entity,
            rss_after as f64 / 1048576.0
        );
        println!(
            "  latency (area/category/time/network specs, {}): p50 {:.3} ms, p99 {:.3} ms",
            lat_rest.len(),
            percentile(&lat_rest, 0.5),
            percentile(&lat_rest, 0.99)
        );
        println!(
            "  latency (fuzzy-name specs, {}): p50 {:.3} ms, p99 {:.3} ms",
            lat_fuzzy.len(),
            percentile(&lat_fuzzy, 0.5),
            percentile(&lat_fuzzy, 0.99)
        );
        println!(
            "  throughput         {:.0} threats/s",
            a.threats as f64 / total_s
        );
        println!("  matches found      {matches} ({errors} threats refused)");
        if let Some(v) = verified {
            println!("  verified           {v} threats agree with the brute-force reference");
        }
        println!(
            "  prefix table       {:.2} M longest-prefix look-ups/s (50,000 prefixes, one core)",
            prefix_lookups / 1e6
        );
        println!("  by spec:");
        for (k, v) in &kinds {
            println!(
                "    {k:28} {:>6} threats  p50 {:>7.3} ms  p99 {:>7.3} ms  {:>8.1} matches/threat",
                v["threats"],
                v["p50_ms"].as_f64().unwrap_or(0.0),
                v["p99_ms"].as_f64().unwrap_or(0.0),
                v["matches_per_threat"].as_f64().unwrap_or(0.0)
            );
        }
    }
    Ok(())
}
