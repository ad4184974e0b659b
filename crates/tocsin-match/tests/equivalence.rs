//! Property: on random registries (built by inserts, then replaced and removed entity by entity)
//! and random threats, the indexed `Registry::match_threat` returns exactly what the brute-force
//! `reference_match` returns — same (entity, target) pairs, same scores, same reasons, same order.

mod common;
use common::*;
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, TestRunner};
use tocsin_core::{Area, Entity, EntityId, EntityKind, Match, TargetSpec, Threat, ThreatWindow};
use tocsin_match::{reference_match, Gazetteer, MatchConfig, MatchError, Registry};

const PIECES: &[&str] = &[
    "Golzar-e",
    "Shohada",
    "al-Aqsa",
    "(Golzar Shohada)",
    "Martyrs'",
    "Crocus",
    "Krokus",
    "Крокус",
    "City",
    "Сити",
    "Hall",
    "Холл",
    "Arena",
    "Арена",
    "Stadium",
    "Piknik",
    "Пикник",
    "Synagogue",
    "Синагога",
    "Grand",
    "Moscow",
    "Москва",
    "Kazan",
    "Luzhniki",
    "Лужники",
    "Olympic",
    "Bolshoi",
    "Большой",
    "Teatr",
    "Театр",
    "Café",
    "Cafe",
    "Zal",
    "Mir",
];
const CATS: &[&str] = &[
    "venue",
    "venue/entertainment",
    "venue/entertainment/concert_hall",
    "venue/entertainment/theatre",
    "venue/sports/stadium",
    "place_of_worship",
    "place_of_worship/synagogue",
    "event",
    "event/concert",
    "event/sports",
    "organisation/ngo",
];
/// Moscow, Krasnogorsk, Kazan, Saint Petersburg, Kerman, the antimeridian, Sydney, near the pole.
const CENTERS: &[(f64, f64)] = &[
    (55.7558, 37.6173),
    (55.826, 37.39),
    (55.7963, 49.1088),
    (59.9386, 30.3141),
    (30.2839, 57.0834),
    (0.0, 179.7),
    (-33.9, 151.2),
    (88.5, 20.0),
];
const CITIES: &[&str] = &[
    "Moscow",
    "Москва",
    "moskva",
    "Kazan",
    "Krasnogorsk",
    "Tver",
    "MOSCOW",
    "Санкт-Петербург",
];
const PLACES: &[&str] = &[
    "Moscow",
    "Москва",
    "Kazan",
    "Krasnogorsk",
    "Kerman",
    "Saint Petersburg",
    "St. Petersburg",
    "Lemuria",
];
const ID_SPACE: usize = 320;
/// Overlapping IPv4 and IPv6 prefixes of several lengths, and host addresses.
const NETS: &[&str] = &[
    "10.0.0.0/8",
    "10.1.0.0/16",
    "10.1.2.0/24",
    "10.1.2.3",
    "10.1.3.0/24",
    "10.2.0.0/16",
    "192.0.2.0/24",
    "192.0.2.77",
    "0.0.0.0/0",
    "2001:db8::/32",
    "2001:db8:1::/48",
    "2001:db8:1::5",
    "2001:db9::/32",
];
/// Domains under one another and under public suffixes (`co.uk`, `github.io`, `com`).
const DOMAINS: &[&str] = &[
    "example.com",
    "mail.example.com",
    "a.mail.example.com",
    "badexample.com",
    "com",
    "co.uk",
    "example.co.uk",
    "www.example.co.uk",
    "uk",
    "github.io",
    "tocsin.github.io",
    "пример.рф",
];
const SECTORS: &[&str] = &["energy", "Energy", "health", "finance", "water"];
const ASNS: &[u32] = &[64500, 64501, 64502, 13335];

fn footprint() -> impl Strategy<Value = tocsin_core::entity::Footprint> {
    use tocsin_core::entity::{DomainName, IpNet};
    (
        prop::collection::vec(0..NETS.len(), 0..=2),
        prop::collection::vec(0..ASNS.len(), 0..=1),
        prop::collection::vec(0..DOMAINS.len(), 0..=2),
        prop::collection::vec(0..SECTORS.len(), 0..=1),
    )
        .prop_map(|(n, a, d, s)| tocsin_core::entity::Footprint {
            networks: n
                .into_iter()
                .map(|i| IpNet::parse(NETS[i]).unwrap())
                .collect(),
            asns: a.into_iter().map(|i| ASNS[i]).collect(),
            domains: d
                .into_iter()
                .map(|i| DomainName::parse(DOMAINS[i]).unwrap())
                .collect(),
            sectors: s.into_iter().map(|i| SECTORS[i].to_owned()).collect(),
        })
}

fn point(center: usize, dlat: f64, dlon: f64) -> tocsin_core::GeoPoint {
    let (lat, lon) = CENTERS[center];
    let lat = (lat + dlat).clamp(-90.0, 90.0);
    let mut lon = lon + dlon;
    if lon > 180.0 {
        lon -= 360.0;
    }
    if lon < -180.0 {
        lon += 360.0;
    }
    gp(lat, lon)
}

/// Apply a typo: op 4 delete, 5 insert, 6 substitute, 7 transpose, else nothing.
fn mutate(s: &str, op: u8, pos: u16, ch: usize) -> String {
    let mut c: Vec<char> = s.chars().collect();
    let p = pos as usize % c.len().max(1);
    let letter = ['a', 'e', 'o', 'k', 'r', 's', 'и', 'x'][ch % 8];
    match op {
        4 if !c.is_empty() => {
            c.remove(p);
        }
        5 => c.insert(p.min(c.len()), letter),
        6 if !c.is_empty() => c[p] = letter,
        7 if p + 1 < c.len() => c.swap(p, p + 1),
        _ => {}
    }
    let s: String = c.into_iter().collect();
    if s.trim().is_empty() {
        "Mir".to_owned()
    } else {
        s
    }
}

/// A name of 1–3 pieces with an optional typo.
fn name() -> impl Strategy<Value = String> {
    (
        prop::collection::vec(0..PIECES.len(), 1..=3),
        0u8..8,
        any::<u16>(),
        0usize..8,
    )
        .prop_map(|(pieces, op, pos, ch)| {
            let s: String = pieces
                .iter()
                .map(|&i| PIECES[i])
                .collect::<Vec<_>>()
                .join(" ");
            mutate(&s, op, pos, ch)
        })
}

/// A name for a target: random, or one of the registry's names with an optional typo and maybe
/// its words swapped.
fn target_name(known: Vec<String>) -> impl Strategy<Value = String> {
    prop_oneof![
        1 => name(),
        2 => (0..known.len(), 0u8..8, any::<u16>(), 0usize..8, any::<bool>()).prop_map(move |(i, op, pos, ch, swap)| {
            let mut words: Vec<&str> = known[i].split(' ').collect();
            if swap {
                words.reverse();
            }
            mutate(&words.join(" "), op, pos, ch)
        }),
    ]
}

fn span() -> impl Strategy<Value = ThreatWindow> {
    (0i64..30 * 24, 1i64..96).prop_map(|(start, dur)| {
        let from = t(1, 0) + chrono::Duration::hours(start);
        window(from, from + chrono::Duration::hours(dur))
    })
}

#[allow(clippy::type_complexity)]
fn entity_with_id(id: usize) -> impl Strategy<Value = Entity> {
    (
        name(),
        prop::collection::vec(name(), 0..=2),
        0..CATS.len(),
        prop::option::weighted(0.7, (0..CENTERS.len(), -0.8f64..0.8, -0.8f64..0.8)),
        prop::option::weighted(0.7, 0u32..20_000),
        prop::option::weighted(0.5, span()),
        prop::option::weighted(0.5, 0..ID_SPACE),
        prop::option::weighted(0.4, 0..CITIES.len()),
        prop::option::weighted(0.6, footprint()),
    )
        .prop_map(
            move |(name, aliases, c, loc, capacity, span, venue, city, fp)| {
                let category = CATS[c];
                let kind = if category.starts_with("event") {
                    EntityKind::Event
                } else {
                    EntityKind::Venue
                };
                Entity {
                    aliases,
                    // Events at a venue mostly take the venue's location.
                    location: loc
                        .filter(|_| {
                            !(kind == EntityKind::Event
                                && venue.is_some()
                                && capacity.is_some_and(|c| c % 3 != 0))
                        })
                        .map(|(ci, a, b)| point(ci, a, b)),
                    capacity,
                    span,
                    venue: venue.map(|v| EntityId::new(format!("e{v:03}"))),
                    city: city.map(|i| CITIES[i].to_owned()),
                    footprint: fp.unwrap_or_default(),
                    ..entity(&format!("e{id:03}"), kind, &name, category)
                }
            },
        )
}

#[derive(Debug, Clone)]
enum Op {
    Upsert(Box<Entity>),
    Remove(usize),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0..ID_SPACE).prop_flat_map(entity_with_id).prop_map(|e| Op::Upsert(Box::new(e))),
        1 => (0..ID_SPACE).prop_map(Op::Remove),
    ]
}

fn area() -> impl Strategy<Value = Area> {
    prop_oneof![
        (
            0..CENTERS.len(),
            -1.0f64..1.0,
            -1.0f64..1.0,
            prop_oneof![0.0f64..150.0, 0.0f64..4000.0]
        )
            .prop_map(|(c, a, b, r)| Area::Circle {
                center: point(c, a, b),
                radius_km: r
            }),
        (
            0..CENTERS.len(),
            prop::collection::vec((-1.0f64..1.0, -1.0f64..1.0), 3..7)
        )
            .prop_map(|(c, offs)| {
                // A star-shaped ring around the centre (vertices sorted by angle): simple, maybe concave.
                let mut offs = offs;
                offs.sort_by(|x, y| x.1.atan2(x.0).total_cmp(&y.1.atan2(y.0)));
                Area::Polygon {
                    ring: offs.into_iter().map(|(a, b)| point(c, a, b)).collect(),
                }
            }),
        (0..PLACES.len()).prop_map(|i| Area::Named {
            name: PLACES[i].to_owned()
        }),
    ]
}

fn target(known: Vec<String>) -> impl Strategy<Value = TargetSpec> {
    (
        prop::option::weighted(0.4, target_name(known)),
        prop::option::weighted(0.5, prop::collection::vec(0..CATS.len(), 1..=2)),
        prop::option::weighted(0.3, 0u32..15_000),
        prop::option::weighted(0.5, area()),
        prop::option::weighted(0.3, span()),
    )
        .prop_map(|(name, cats, min_size, area, window)| TargetSpec {
            name,
            categories: cats
                .unwrap_or_default()
                .into_iter()
                .map(|i| cat(CATS[i]))
                .collect(),
            min_size,
            area,
            window,
            ..spec("random target")
        })
}

/// A network target: one to three of networks, ASNs, domains, sectors; sometimes a name or area.
fn network_target(known: Vec<String>) -> impl Strategy<Value = TargetSpec> {
    (
        footprint(),
        prop::option::weighted(0.1, target_name(known)),
        prop::option::weighted(0.1, area()),
    )
        .prop_filter("states something", |(f, _, _)| !f.is_empty())
        .prop_map(|(footprint, name, area)| TargetSpec {
            footprint,
            name,
            area,
            ..spec("network target")
        })
}

/// A target naming something, sometimes also in a place: exercises the name index.
fn name_target(known: Vec<String>) -> impl Strategy<Value = TargetSpec> {
    (target_name(known), prop::option::weighted(0.2, area())).prop_map(|(name, area)| TargetSpec {
        name: Some(name),
        area,
        ..spec("named target")
    })
}

fn threat_strategy(known: Vec<String>) -> impl Strategy<Value = Threat> {
    let any_target = prop_oneof![2 => target(known.clone()), 1 => name_target(known.clone()), 2 => network_target(known)];
    (prop::collection::vec(any_target, 1..=3), span()).prop_map(|(targets, w)| {
        let mut th = threat(targets);
        th.window = w;
        th
    })
}

#[derive(Debug, Clone)]
struct Case {
    initial: Vec<Entity>,
    ops: Vec<Op>,
    threat: Threat,
}

fn case() -> impl Strategy<Value = Case> {
    (50usize..300)
        .prop_flat_map(|n| (0..n).map(entity_with_id).collect::<Vec<_>>())
        .prop_flat_map(|initial| {
            let known: Vec<String> = initial
                .iter()
                .flat_map(|e| std::iter::once(e.name.clone()).chain(e.aliases.iter().cloned()))
                .collect();
            (
                Just(initial),
                prop::collection::vec(op(), 0..60),
                threat_strategy(known),
            )
        })
        .prop_map(|(initial, ops, threat)| Case {
            initial,
            ops,
            threat,
        })
}

/// Apply the case to a registry and to a plain model; return both results.
fn run(
    case: &Case,
) -> (
    Result<Vec<Match>, MatchError>,
    Result<Vec<Match>, MatchError>,
) {
    let config = MatchConfig::default();
    let mut reg = Registry::new(config.clone(), Gazetteer::builtin());
    let mut model: Vec<Option<Entity>> = vec![None; ID_SPACE];
    let slot = |id: &EntityId| id.as_str()[1..].parse::<usize>().unwrap();
    for e in &case.initial {
        model[slot(&e.id)] = Some(e.clone());
        reg.upsert(e.clone());
    }
    for op in &case.ops {
        match op {
            Op::Upsert(e) => {
                model[slot(&e.id)] = Some((**e).clone());
                reg.upsert((**e).clone());
            }
            Op::Remove(i) => {
                let id = EntityId::new(format!("e{i:03}"));
                let was = model[*i].take();
                assert_eq!(reg.remove(&id), was);
            }
        }
    }
    let entities: Vec<Entity> = model.into_iter().flatten().collect();
    assert_eq!(reg.len(), entities.len());
    (
        reg.match_threat(&case.threat),
        reference_match(&entities, &case.threat, &config, &Gazetteer::builtin()),
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 160, ..ProptestConfig::default() })]

    #[test]
    fn indexed_registry_equals_reference(case in case()) {
        let (indexed, reference) = run(&case);
        prop_assert_eq!(indexed, reference);
    }
}

/// The generator is worth something only if the random cases actually produce matches of every
/// kind: count them over a fixed-seed run.
#[test]
fn generated_cases_exercise_every_descriptor() {
    let mut runner = TestRunner::new_with_rng(
        Config::default(),
        proptest::test_runner::TestRng::deterministic_rng(
            proptest::test_runner::RngAlgorithm::ChaCha,
        ),
    );
    let strategy = case();
    let (mut matches, mut errors) = (0usize, 0usize);
    let mut seen = std::collections::BTreeMap::<String, usize>::new();
    for _ in 0..60 {
        let c = strategy.new_tree(&mut runner).unwrap().current();
        let (indexed, reference) = run(&c);
        assert_eq!(indexed, reference);
        match indexed {
            Err(_) => errors += 1,
            Ok(ms) => {
                matches += ms.len();
                for m in &ms {
                    for r in &m.reasons {
                        let key = match r.descriptor.as_str() {
                            "name" if r.detail.starts_with("held at") => "name held at",
                            "name" if r.detail.contains("contained") => "name contained",
                            "name" if r.detail.ends_with("(exact)") => "name exact",
                            "name" => "name fuzzy",
                            "area" if r.detail.starts_with("city") => "area by city",
                            "area" if r.detail.contains("polygon") => "area polygon",
                            "area" if r.detail.contains("location of venue") => "area via venue",
                            "area" => "area",
                            "network" if r.detail.contains("lies within the targeted") => {
                                "network inside target"
                            }
                            "network" if r.detail.starts_with("the targeted") => {
                                "network holding target"
                            }
                            "domain" if r.detail.contains("lies within the targeted") => {
                                "domain below target"
                            }
                            "domain" if r.detail.starts_with("the targeted") => {
                                "domain above target"
                            }
                            _ => "other",
                        };
                        *seen.entry(key.to_owned()).or_default() += 1;
                        *seen.entry(r.descriptor.clone()).or_default() += 1;
                    }
                }
            }
        }
    }
    eprintln!("matches {matches}, errors {errors}, by reason {seen:?}");
    assert!(matches > 100, "{matches}");
    for k in [
        "name exact",
        "name fuzzy",
        "name contained",
        "name held at",
        "category",
        "size",
        "area",
        "area by city",
        "area polygon",
        "area via venue",
        "time",
        "network inside target",
        "network holding target",
        "asn",
        "domain below target",
        "domain above target",
        "sector",
    ] {
        assert!(
            seen.get(k).copied().unwrap_or(0) > 0,
            "no {k} reasons in the generated cases: {seen:?}"
        );
    }
    assert!(errors > 0, "unknown places and empty specs should occur");
}
