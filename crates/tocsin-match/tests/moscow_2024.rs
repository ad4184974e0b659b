//! The reference case (docs/domain.md, "The reference case"): Moscow, March 2024, and the parallel Kerman case.
//! Registry facts are public and approximate; events other than the 22 March concert are
//! illustrative.

mod common;
use chrono::{TimeZone, Utc};
use common::*;
use tocsin_core::{Entity, EntityKind, TargetSpec};
use tocsin_match::MatchConfig;

fn registry_2024() -> Vec<Entity> {
    vec![
        Entity {
            aliases: vec!["Крокус Сити Холл".into(), "Crocus".into()],
            city: Some("Krasnogorsk".into()),
            ..venue(
                "crocus-city-hall",
                "Crocus City Hall",
                "venue/entertainment/concert_hall",
                (55.826, 37.390),
                Some(7500),
            )
        },
        event(
            "piknik-2024-03-22",
            "Piknik concert",
            "event/concert",
            "crocus-city-hall",
            window(t(22, 15), t(22, 20)),
            Some(6200),
        ),
        event(
            "gala-2024-03-08",
            "8 March gala concert",
            "event/concert",
            "bolshoi",
            window(t(8, 16), t(8, 19)),
            Some(1700),
        ),
        Entity {
            aliases: vec!["Московская хоральная синагога".into()],
            city: Some("Москва".into()),
            ..venue(
                "moscow-choral-synagogue",
                "Moscow Choral Synagogue",
                "place_of_worship/synagogue",
                (55.7553, 37.6367),
                Some(1000),
            )
        },
        venue(
            "bolshoi",
            "Bolshoi Theatre",
            "venue/entertainment/theatre",
            (55.7601, 37.6186),
            Some(1700),
        ),
        venue(
            "luzhniki",
            "Luzhniki Stadium",
            "venue/sports/stadium",
            (55.7158, 37.5537),
            Some(81000),
        ),
        Entity {
            city: Some("Kazan".into()),
            ..venue(
                "kazan-arena",
                "Kazan Arena",
                "venue/sports/stadium",
                (55.8207, 49.1608),
                Some(45000),
            )
        },
        venue(
            "small-club",
            "Small Club",
            "venue/entertainment/concert_hall",
            (55.76, 37.62),
            Some(300),
        ),
    ]
}

/// The 6 March report as the matcher sees it: three target specs.
fn report(window_until_day: Option<u32>) -> tocsin_core::Threat {
    let config = MatchConfig::default();
    let large_gatherings = TargetSpec {
        categories: vec![
            cat("venue/entertainment/concert_hall"),
            cat("event/concert"),
        ],
        min_size: Some(config.large_gathering_min),
        area: in_place("Moscow"),
        ..spec("large gatherings in Moscow, to include concerts")
    };
    let crocus = named("Crocus City Hall");
    let synagogue = TargetSpec {
        categories: vec![cat("place_of_worship/synagogue")],
        area: in_place("Moscow"),
        ..spec("a synagogue in Moscow")
    };
    let mut th = threat(vec![large_gatherings, crocus, synagogue]);
    if let Some(d) = window_until_day {
        th.window = window(t(7, 0), t(d, 0));
    }
    th
}

#[test]
fn the_march_2024_report_reaches_crocus_city_hall_and_the_synagogue() {
    let m = both(&registry_2024(), &report(None)).unwrap();
    let pairs: Vec<(&str, usize)> = m.iter().map(|m| (m.entity_id.as_str(), m.target)).collect();
    // Named first (exact, 1.0), then the unnamed ones, nearer the centre of Moscow first.
    assert_eq!(
        pairs,
        [
            ("crocus-city-hall", 1),
            ("gala-2024-03-08", 0),
            ("moscow-choral-synagogue", 2),
            ("crocus-city-hall", 0)
        ]
    );
    assert_eq!(m[0].score, 1.0);
    assert!(m[1..].iter().all(|m| m.score <= 0.5));

    // Crocus, as a large gathering in Moscow: every descriptor explained.
    let crocus = m
        .iter()
        .find(|m| m.entity_id.as_str() == "crocus-city-hall" && m.target == 0)
        .unwrap();
    let details: Vec<String> = crocus
        .reasons
        .iter()
        .map(|r| format!("{}: {}", r.descriptor, r.detail))
        .collect();
    assert_eq!(
        details,
        [
            "category: category venue/entertainment/concert_hall",
            "size: capacity 7500 >= 1000",
            "area: in Moscow: 16.2 km from its centre (centroid + radius 40 km)",
            "time: always present (no time span) during the threat window 2024-03-07 00:00 – 2024-03-09 00:00 UTC",
        ]
    );
    // Not matched: the small club (300 seats), the stadium and the theatre (not concert venues), Kazan.
    for id in ["small-club", "luzhniki", "bolshoi", "kazan-arena"] {
        assert!(m.iter().all(|x| x.entity_id.as_str() != id), "{id}");
    }
    // The 22 March concert lies outside the 48-hour window: only the venue carries the warning.
    assert!(m
        .iter()
        .all(|x| x.entity_id.as_str() != "piknik-2024-03-22"));
}

#[test]
fn a_window_kept_open_covers_the_22_march_concert() {
    let m = both(&registry_2024(), &report(Some(31))).unwrap();
    let piknik = m
        .iter()
        .find(|m| m.entity_id.as_str() == "piknik-2024-03-22" && m.target == 0)
        .expect("the Piknik concert matches");
    assert_eq!(piknik.target, 0);
    let area = &piknik
        .reasons
        .iter()
        .find(|r| r.descriptor == "area")
        .unwrap()
        .detail;
    assert!(
        area.ends_with("(location of venue crocus-city-hall)"),
        "{area}"
    );
}

#[test]
fn a_russian_language_report_finds_the_same_targets() {
    let mut th = report(None);
    th.targets[1].name = Some("Крокус Сити Холл".into());
    th.targets[2].area = in_place("Москва");
    let m = both(&registry_2024(), &th).unwrap();
    assert_eq!(m[0].entity_id.as_str(), "crocus-city-hall");
    assert_eq!(
        m[0].reasons[0].detail,
        "name \"Крокус Сити Холл\" = alias \"Крокус Сити Холл\" (exact)"
    );
    assert!(m
        .iter()
        .any(|x| x.entity_id.as_str() == "moscow-choral-synagogue" && x.target == 2));
}

#[test]
fn kerman_january_2024() {
    let cemetery = Entity {
        city: Some("Kerman".into()),
        ..venue(
            "golzar-shohada-kerman",
            "Golzar-e Shohada cemetery",
            "venue",
            (30.2655, 57.0877),
            None,
        )
    };
    let commemoration = Entity {
        span: Some(
            tocsin_core::ThreatWindow::new(
                Utc.with_ymd_and_hms(2024, 1, 3, 5, 0, 0).unwrap(),
                Utc.with_ymd_and_hms(2024, 1, 3, 15, 0, 0).unwrap(),
            )
            .unwrap(),
        ),
        ..event(
            "soleimani-commemoration-2024",
            "Commemoration of Qasem Soleimani",
            "event/commemoration",
            "golzar-shohada-kerman",
            window(t(1, 0), t(1, 1)),
            Some(100_000),
        )
    };
    let elsewhere = Entity {
        kind: EntityKind::Event,
        ..commemoration.clone()
    };
    let elsewhere = Entity {
        id: "tehran-gathering".into(),
        venue: None,
        location: Some(gp(35.6892, 51.3890)),
        ..elsewhere
    };
    let mut s = spec("large gatherings in Kerman");
    s.categories = vec![cat("event")];
    s.min_size = Some(1000);
    s.area = in_place("Kerman");
    let mut th = threat(vec![s]);
    th.window = tocsin_core::ThreatWindow::new(
        Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap(),
        Utc.with_ymd_and_hms(2024, 1, 5, 0, 0, 0).unwrap(),
    )
    .unwrap();
    let m = both(&[cemetery, commemoration, elsewhere], &th).unwrap();
    assert_eq!(ids(&m), ["soleimani-commemoration-2024"]);
}
