//! The reference case over the project's example registry (`examples/moscow-2024/*.csv`) and the
//! three target specs of `examples/moscow-2024/report.txt`, through the registry and the
//! reference matcher.

mod common;
use chrono::{DateTime, Utc};
use common::*;
use std::collections::BTreeSet;
use tocsin_core::{Entity, EntityId, EntityKind, TargetSpec, ThreatWindow};
use tocsin_match::MatchConfig;

fn example(file: &str) -> csv::Reader<std::fs::File> {
    let path = format!(
        "{}/../../examples/moscow-2024/{file}",
        env!("CARGO_MANIFEST_DIR")
    );
    csv::Reader::from_path(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn time(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn aliases(s: &str) -> Vec<String> {
    s.split(';')
        .map(str::trim)
        .filter(|a| !a.is_empty())
        .map(str::to_owned)
        .collect()
}

fn load() -> Vec<Entity> {
    let mut out = Vec::new();
    let mut venues = example("venues.csv");
    let h = venues.headers().unwrap().clone();
    for rec in venues.records() {
        let r = rec.unwrap();
        let f = |k: &str| r.get(h.iter().position(|x| x == k).unwrap()).unwrap();
        out.push(Entity {
            aliases: aliases(f("aliases")),
            city: Some(f("city").to_owned()),
            ..venue(
                f("id"),
                f("name"),
                f("category"),
                (f("lat").parse().unwrap(), f("lon").parse().unwrap()),
                Some(f("capacity").parse().unwrap()),
            )
        });
    }
    let mut events = example("events.csv");
    let h = events.headers().unwrap().clone();
    for rec in events.records() {
        let r = rec.unwrap();
        let f = |k: &str| r.get(h.iter().position(|x| x == k).unwrap()).unwrap();
        let span = ThreatWindow::new(time(f("starts")), time(f("ends"))).unwrap();
        out.push(Entity {
            aliases: aliases(f("aliases")),
            ..event(
                f("id"),
                f("name"),
                f("category"),
                f("venue_id"),
                span,
                Some(f("expected_attendance").parse().unwrap()),
            )
        });
    }
    out
}

/// The targets of report.txt, in its order.
fn report() -> tocsin_core::Threat {
    let crocus = TargetSpec {
        name: Some("Crocus City Hall".into()),
        ..spec("Crocus City Hall")
    };
    let synagogue = TargetSpec {
        categories: vec![cat("place_of_worship/synagogue")],
        area: in_place("Moscow"),
        ..spec("a synagogue in Moscow")
    };
    let gatherings = TargetSpec {
        categories: [
            "venue/entertainment/concert_hall",
            "event/concert",
            "venue/sports",
            "event/sports_match",
            "venue/entertainment/theatre",
            "event/theatre_performance",
        ]
        .into_iter()
        .map(cat)
        .collect(),
        min_size: Some(MatchConfig::default().large_gathering_min),
        area: in_place("Moscow"),
        ..spec("large gatherings in Moscow, including concerts")
    };
    let mut th = threat(vec![crocus, synagogue, gatherings]);
    th.window = ThreatWindow::new(
        time("2024-03-06T08:00:00+00:00"),
        time("2024-04-05T21:00:00+00:00"),
    )
    .unwrap();
    th
}

#[test]
fn the_example_registry_and_report() {
    let entities = load();
    assert!(entities.len() > 90, "{}", entities.len());
    let m = both(&entities, &report()).unwrap();
    let by_target = |t: usize| {
        m.iter()
            .filter(|x| x.target == t)
            .map(|x| x.entity_id.as_str())
            .collect::<BTreeSet<_>>()
    };

    // The named target: the concert hall (not Crocus Expo, not Vegas Crocus City) and the events
    // held there inside the window.
    assert_eq!(
        by_target(0),
        BTreeSet::from([
            "crocus-city-hall",
            "crocus-concert-2024-03-08",
            "piknik-2024-03-22"
        ])
    );
    assert!(m
        .iter()
        .filter(|x| x.target == 0 && x.entity_id.as_str() != "crocus-city-hall")
        .all(|x| x.reasons[0]
            .detail
            .starts_with("held at \"Crocus City Hall\"")));
    assert_eq!(m[0].entity_id.as_str(), "crocus-city-hall");
    assert_eq!(m[0].score, 1.0);

    // A synagogue in Moscow: the four Moscow synagogues, whatever their size; not Saint Petersburg's.
    assert_eq!(
        by_target(1),
        BTreeSet::from([
            "bolshaya-bronnaya-synagogue",
            "marina-roshcha-synagogue",
            "moscow-choral-synagogue",
            "poklonnaya-memorial-synagogue"
        ])
    );

    // Large gatherings in Moscow: Crocus City Hall (Krasnogorsk, inside the 40 km area), the
    // 22 March Piknik concert there, and the 8 March concert; nothing outside Moscow, nothing
    // under 1,000 people, nothing outside the window.
    let g = by_target(2);
    for id in [
        "crocus-city-hall",
        "piknik-2024-03-22",
        "crocus-concert-2024-03-08",
        "luzhniki-stadium",
        "bolshoi-theatre",
    ] {
        assert!(g.contains(id), "{id} missing from {g:?}");
    }
    for id in [
        "mariinsky-theatre",
        "gazprom-arena",
        "kazan-arena",
        "electrotheatre-stanislavsky",
        "maly-theatre",
        "crocus-gala-2024-02-23",
        "aviapark",
    ] {
        assert!(!g.contains(id), "{id} should not match");
    }
    let piknik = m
        .iter()
        .find(|x| x.entity_id.as_str() == "piknik-2024-03-22" && x.target != 0)
        .unwrap();
    let reasons: Vec<&str> = piknik
        .reasons
        .iter()
        .map(|r| r.descriptor.as_str())
        .collect();
    assert_eq!(reasons, ["category", "size", "area", "time"]);
    assert!(
        piknik.reasons[2]
            .detail
            .ends_with("(location of venue crocus-city-hall)"),
        "{}",
        piknik.reasons[2].detail
    );

    // Every matched entity of the gatherings spec holds at least 1,000 people and lies in Moscow.
    let gaz = tocsin_match::Gazetteer::builtin();
    let tocsin_match::PlaceShape::Circle { center, radius_km } =
        gaz.resolve("Moscow").unwrap().shape.clone()
    else {
        panic!()
    };
    for x in m.iter().filter(|x| x.target == 2) {
        let e = entities.iter().find(|e| e.id == x.entity_id).unwrap();
        assert!(e.capacity.unwrap() >= 1000);
        let loc = e.location.or_else(|| {
            let v = e.venue.as_ref().unwrap();
            entities.iter().find(|w| &w.id == v).unwrap().location
        });
        assert!(loc.unwrap().distance_km(&center) <= radius_km);
    }

    // The same, in Russian.
    let mut ru = report();
    ru.targets[0].name = Some("Крокус Сити Холл".into());
    ru.targets[1].area = in_place("Москва");
    ru.targets[2].area = in_place("Москва");
    let m_ru = both(&entities, &ru).unwrap();
    let pairs = |m: &[tocsin_core::Match]| {
        m.iter()
            .map(|x| (x.entity_id.clone(), x.target))
            .collect::<BTreeSet<(EntityId, usize)>>()
    };
    assert_eq!(pairs(&m_ru), pairs(&m));
    assert!(entities.iter().any(|e| e.kind == EntityKind::Event));
}

#[test]
#[ignore]
fn print_example_matches() {
    for x in both(&load(), &report()).unwrap() {
        println!("{:.3} t{} {}", x.score, x.target, x.entity_id);
        for r in &x.reasons {
            println!("      {}: {}", r.descriptor, r.detail);
        }
    }
}
