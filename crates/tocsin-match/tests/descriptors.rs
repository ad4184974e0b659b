//! One test (or a few) per descriptor; every check runs through both the indexed registry and the
//! reference matcher (`common::both` asserts they agree).

mod common;
use common::*;
use tocsin_core::{Area, Entity, EntityId, EntityKind};
use tocsin_match::MatchError;

fn crocus() -> Entity {
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
    }
}

fn moscow_registry() -> Vec<Entity> {
    vec![
        crocus(),
        Entity {
            city: Some("Moscow".into()),
            ..venue(
                "choral-synagogue",
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
        event(
            "piknik-2024-03-22",
            "Piknik concert",
            "event/concert",
            "crocus-city-hall",
            window(t(22, 16), t(22, 22)),
            Some(6200),
        ),
        event(
            "piknik-2024-03-08",
            "Piknik concert",
            "event/concert",
            "crocus-city-hall",
            window(t(8, 16), t(8, 22)),
            Some(6000),
        ),
    ]
}

// ---- name ----------------------------------------------------------------------------------

#[test]
fn name_exact_scores_one() {
    let m = both(&moscow_registry(), &threat(vec![named("Crocus City Hall")])).unwrap();
    // The hall, and the concert held there inside the window (not the one of 22 March).
    assert_eq!(ids(&m), ["crocus-city-hall", "piknik-2024-03-08"]);
    assert_eq!(m[0].score, 1.0);
    assert_eq!(m[0].target, 0);
    assert_eq!(
        detail(&m, "crocus-city-hall", "name"),
        "name \"Crocus City Hall\" = \"Crocus City Hall\" (exact)"
    );
    assert_eq!(
        detail(&m, "piknik-2024-03-08", "name"),
        "held at \"Crocus City Hall\": name \"Crocus City Hall\" = \"Crocus City Hall\" (exact)"
    );
    assert!(m[1].score < 1.0);
}

#[test]
fn name_cyrillic_and_latin_meet() {
    let m = both(&moscow_registry(), &threat(vec![named("Krokus Siti Holl")])).unwrap();
    assert_eq!(ids(&m), ["crocus-city-hall", "piknik-2024-03-08"]);
    assert_eq!(m[0].score, 1.0);
    assert_eq!(
        detail(&m, "crocus-city-hall", "name"),
        "name \"Krokus Siti Holl\" = alias \"Крокус Сити Холл\" (exact)"
    );

    // Without the Cyrillic alias, the Cyrillic query still finds the Latin name (hall/holl: 1 edit).
    let latin_only = Entity {
        aliases: vec![],
        ..crocus()
    };
    let m = both(&[latin_only], &threat(vec![named("Крокус Сити Холл")])).unwrap();
    assert_eq!(ids(&m), ["crocus-city-hall"]);
    assert_eq!(
        detail(&m, "crocus-city-hall", "name"),
        "name \"Крокус Сити Холл\" ~ \"Crocus City Hall\" (edit cost 1)"
    );
    assert!(m[0].score < 1.0 && m[0].score > 0.65);
}

#[test]
fn name_krokus_is_a_spelling_variant_of_crocus() {
    let m = both(&moscow_registry(), &threat(vec![named("Krokus")])).unwrap();
    assert_eq!(ids(&m), ["crocus-city-hall", "piknik-2024-03-08"]);
    assert_eq!(
        detail(&m, "crocus-city-hall", "name"),
        "name \"Krokus\" ~ alias \"Crocus\" (spelling variant)"
    );
    assert_eq!(m[0].score, 0.95);
}

#[test]
fn name_word_order_and_typos() {
    let reg = moscow_registry();
    let m = both(&reg, &threat(vec![named("City Hall Crocus")])).unwrap();
    assert_eq!(ids(&m), ["crocus-city-hall", "piknik-2024-03-08"]);
    assert_eq!(
        detail(&m, "crocus-city-hall", "name"),
        "name \"City Hall Crocus\" ~ \"Crocus City Hall\" (word order)"
    );

    let typo = both(&reg, &threat(vec![named("Crocsu City Hall")])).unwrap();
    assert_eq!(
        detail(&typo, "crocus-city-hall", "name"),
        "name \"Crocsu City Hall\" ~ \"Crocus City Hall\" (edit cost 1)"
    );
    let two = both(&reg, &threat(vec![named("Luzhnikki Stadiun")])).unwrap();
    assert_eq!(ids(&two), ["luzhniki"]);
    assert_eq!(
        detail(&two, "luzhniki", "name"),
        "name \"Luzhnikki Stadiun\" ~ \"Luzhniki Stadium\" (edit cost 2)"
    );
    assert!(typo[0].score > two[0].score, "fewer edits score higher");
    assert!(m[0].score > typo[0].score, "word order alone beats a typo");

    // Part of the name, covering most of it by rarity: a contained match, scored lower.
    let part = both(&reg, &threat(vec![named("Crocus Hall")])).unwrap();
    assert_eq!(part[0].entity_id.as_str(), "crocus-city-hall");
    assert!(detail(&part, "crocus-city-hall", "name").contains("contained"));
    assert!(part[0].score < typo[0].score);

    // Too far, or words the name does not have: no match.
    for q in [
        "Crocodile City Hall",
        "Crocus Citx Hxll",
        "City Hall",
        "Bolshoy Theatre Moscow",
    ] {
        assert!(
            both(&reg, &threat(vec![named(q)])).unwrap().is_empty(),
            "{q}"
        );
    }
    // Short tokens must be exact (after folding): "Cat" is not "Bat".
    let cafe = [venue("cat", "Cat Cafe", "venue", (55.75, 37.6), None)];
    assert!(both(&cafe, &threat(vec![named("Bat Cafe")]))
        .unwrap()
        .is_empty());
}

#[test]
fn name_ignores_case_and_accents() {
    let reg = [venue(
        "cafe",
        "Café Müller",
        "venue",
        (52.52, 13.40),
        Some(80),
    )];
    let m = both(&reg, &threat(vec![named("CAFE MULLER")])).unwrap();
    assert_eq!(ids(&m), ["cafe"]);
    assert_eq!(m[0].score, 1.0);
    assert_eq!(
        detail(&m, "cafe", "name"),
        "name \"CAFE MULLER\" = \"Café Müller\" (exact)"
    );
}

#[test]
fn exact_name_outranks_fuzzy_name() {
    let reg = [
        venue("a-exact", "Arena Moskva", "venue", (55.7, 37.6), None),
        venue("b-fuzzy", "Arena Moskwa", "venue", (55.7, 37.6), None),
        venue("c-typo", "Arena Mosvka", "venue", (55.7, 37.6), None),
    ];
    let m = both(&reg, &threat(vec![named("Arena Moskva")])).unwrap();
    assert_eq!(ids(&m), ["a-exact", "b-fuzzy", "c-typo"]);
    assert!(m[0].score > m[1].score && m[1].score > m[2].score);
}

// ---- categories ------------------------------------------------------------------------------

#[test]
fn categories_include_their_children() {
    let reg = moscow_registry();
    let mut s = spec("entertainment venues");
    s.categories = vec![cat("venue/entertainment")];
    let m = both(&reg, &threat(vec![s])).unwrap();
    let mut got = ids(&m);
    got.sort();
    assert_eq!(got, ["bolshoi", "crocus-city-hall"]);
    assert_eq!(
        detail(&m, "bolshoi", "category"),
        "category venue/entertainment/theatre is within venue/entertainment"
    );

    let mut s = spec("synagogues");
    s.categories = vec![cat("place_of_worship")];
    let m = both(&reg, &threat(vec![s])).unwrap();
    assert_eq!(ids(&m), ["choral-synagogue"]);

    // "Concerts": concert halls and concert events (within the threat window: only the 8 March one).
    let mut s = spec("concerts");
    s.categories = vec![
        cat("venue/entertainment/concert_hall"),
        cat("event/concert"),
    ];
    let m = both(&reg, &threat(vec![s])).unwrap();
    let mut got = ids(&m);
    got.sort();
    assert_eq!(got, ["crocus-city-hall", "piknik-2024-03-08"]);
    assert_eq!(
        detail(&m, "piknik-2024-03-08", "category"),
        "category event/concert"
    );
    assert!(
        m.iter().all(|m| m.score == 0.5),
        "category-only matches score 0.5"
    );
}

// ---- size ------------------------------------------------------------------------------------

#[test]
fn min_size_is_inclusive_and_needs_a_capacity() {
    let reg = [
        venue("small", "Small Hall", "venue", (55.75, 37.6), Some(999)),
        venue("exact", "Exact Hall", "venue", (55.75, 37.6), Some(1000)),
        venue("unknown", "Unknown Hall", "venue", (55.75, 37.6), None),
        event(
            "big-event",
            "Big Event",
            "event/concert",
            "exact",
            window(t(7, 18), t(7, 22)),
            Some(5000),
        ),
    ];
    let mut s = spec("large gatherings");
    s.min_size = Some(1000);
    let m = both(&reg, &threat(vec![s])).unwrap();
    let mut got = ids(&m);
    got.sort();
    assert_eq!(got, ["big-event", "exact"]);
    assert_eq!(detail(&m, "exact", "size"), "capacity 1000 >= 1000");
    assert_eq!(
        detail(&m, "big-event", "size"),
        "expected attendance 5000 >= 1000"
    );
    assert!(m.iter().all(|m| m.score == 0.45));
}

// ---- area ------------------------------------------------------------------------------------

#[test]
fn named_city_covers_the_ring_road_and_matches_cities() {
    let mut reg = moscow_registry();
    // A population entity without coordinates, registered by its city in Cyrillic.
    reg.push(Entity {
        city: Some("Москва".into()),
        ..entity(
            "us-citizens-moscow",
            EntityKind::Population,
            "US citizens in Moscow",
            "population/citizens_abroad",
        )
    });
    let mut s = spec("anything in Moscow");
    s.area = in_place("Москва");
    let m = both(&reg, &threat(vec![s])).unwrap();
    let mut got = ids(&m);
    got.sort();
    assert_eq!(
        got,
        [
            "bolshoi",
            "choral-synagogue",
            "crocus-city-hall",
            "luzhniki",
            "piknik-2024-03-08",
            "us-citizens-moscow"
        ]
    );
    assert!(
        detail(&m, "crocus-city-hall", "area")
            .starts_with("in Москва (Moscow): 16.2 km from its centre (centroid + radius 40 km)"),
        "{}",
        detail(&m, "crocus-city-hall", "area")
    );
    assert_eq!(
        detail(&m, "us-citizens-moscow", "area"),
        "city \"Москва\" is Москва (Moscow)"
    );
    // The event has no coordinates: its venue's are used, and the reason says so.
    assert!(
        detail(&m, "piknik-2024-03-08", "area").ends_with("(location of venue crocus-city-hall)")
    );
    // Nearer the centre scores higher; the city-only match scores the edge factor.
    let score = |id: &str| m.iter().find(|x| x.entity_id.as_str() == id).unwrap().score;
    assert!(score("bolshoi") > score("crocus-city-hall"));
    assert_eq!(score("us-citizens-moscow"), 0.45 * 0.8);
}

#[test]
fn entity_city_counts_even_outside_the_circle() {
    // Registered in Moscow's city list but with coordinates outside the 40 km circle.
    let reg = [Entity {
        city: Some("moscow".into()),
        ..venue("far", "Far Depot", "venue", (56.5, 38.5), None)
    }];
    let mut s = spec("Moscow");
    s.area = in_place("Moscow");
    let m = both(&reg, &threat(vec![s])).unwrap();
    assert_eq!(detail(&m, "far", "area"), "city \"moscow\" is Moscow");
}

#[test]
fn circle_radius_edge_is_inclusive() {
    let center = gp(55.7558, 37.6173);
    let d = center.distance_km(&gp(55.826, 37.390));
    let reg = [crocus()];
    let circle = |r: f64| {
        let mut s = spec("circle");
        s.area = Some(Area::Circle {
            center,
            radius_km: r,
        });
        threat(vec![s])
    };
    let m = both(&reg, &circle(d + 0.001)).unwrap();
    assert_eq!(ids(&m), ["crocus-city-hall"]);
    assert!(
        (m[0].score - 0.45 * 0.8).abs() < 1e-3,
        "at the edge the area factor is 0.8: {}",
        m[0].score
    );
    assert!(detail(&m, "crocus-city-hall", "area").starts_with("16.2 km from 55.7558, 37.6173"));
    assert!(both(&reg, &circle(d - 0.001)).unwrap().is_empty());
    // Radius 0 at the very point.
    let mut s = spec("point");
    s.area = Some(Area::Circle {
        center: gp(55.826, 37.390),
        radius_km: 0.0,
    });
    assert_eq!(
        ids(&both(&reg, &threat(vec![s])).unwrap()),
        ["crocus-city-hall"]
    );
}

#[test]
fn polygon_area() {
    let reg = moscow_registry();
    // A box around central Moscow (not reaching Krasnogorsk).
    let ring = vec![
        gp(55.70, 37.50),
        gp(55.70, 37.70),
        gp(55.80, 37.70),
        gp(55.80, 37.50),
        gp(55.70, 37.50),
    ];
    let mut s = spec("central Moscow");
    s.area = Some(Area::Polygon { ring });
    s.categories = vec![cat("venue"), cat("place_of_worship")];
    let m = both(&reg, &threat(vec![s])).unwrap();
    let mut got = ids(&m);
    got.sort();
    assert_eq!(got, ["bolshoi", "choral-synagogue", "luzhniki"]);
    assert!(detail(&m, "bolshoi", "area").starts_with("inside the polygon"));

    let mut bad = spec("line");
    bad.area = Some(Area::Polygon {
        ring: vec![gp(55.7, 37.5), gp(55.8, 37.6), gp(55.7, 37.5)],
    });
    assert!(matches!(
        both(&reg, &threat(vec![bad])),
        Err(MatchError::InvalidArea {
            target_index: 0,
            ..
        })
    ));
}

#[test]
fn unknown_place_is_an_error_not_an_empty_result() {
    let reg = moscow_registry();
    let mut ok = spec("Moscow");
    ok.area = in_place("Moscow");
    let mut unknown = spec("Lemuria");
    unknown.area = in_place("Lemuria");
    let err = both(&reg, &threat(vec![ok, unknown])).unwrap_err();
    assert_eq!(
        err,
        MatchError::UnknownPlace {
            name: "Lemuria".into(),
            target_index: 1
        }
    );
    assert!(err.to_string().contains("Lemuria"));
}

#[test]
fn empty_spec_and_empty_name_are_errors() {
    let reg = moscow_registry();
    assert_eq!(
        both(
            &reg,
            &threat(vec![named("Bolshoi Theatre"), spec("nothing")])
        )
        .unwrap_err(),
        MatchError::EmptySpec { target_index: 1 }
    );
    assert_eq!(
        both(&reg, &threat(vec![named(" - ")])).unwrap_err(),
        MatchError::EmptyName {
            target_index: 0,
            name: " - ".into()
        }
    );
}

// ---- time ------------------------------------------------------------------------------------

#[test]
fn time_window_intersection() {
    let reg = moscow_registry();
    let concerts = || {
        let mut s = spec("concerts");
        s.categories = vec![cat("event/concert")];
        s
    };
    // The threat window (7–9 March) holds the 8 March concert, not the 22 March one.
    let m = both(&reg, &threat(vec![concerts()])).unwrap();
    assert_eq!(ids(&m), ["piknik-2024-03-08"]);
    assert!(detail(&m, "piknik-2024-03-08", "time")
        .contains("intersects the threat window 2024-03-07 00:00 – 2024-03-09 00:00 UTC"));

    // A target window overrides the threat's.
    let mut s = concerts();
    s.window = Some(window(t(20, 0), t(23, 0)));
    let m = both(&reg, &threat(vec![s])).unwrap();
    assert_eq!(ids(&m), ["piknik-2024-03-22"]);
    assert!(detail(&m, "piknik-2024-03-22", "time").contains("target window"));

    // Half-open: a window ending when the event starts does not intersect it.
    let mut s = concerts();
    s.window = Some(window(t(22, 10), t(22, 16)));
    assert!(both(&reg, &threat(vec![s])).unwrap().is_empty());

    // Venues have no span: always present.
    let m = both(&reg, &threat(vec![named("Bolshoi Theatre")])).unwrap();
    assert!(detail(&m, "bolshoi", "time").starts_with("always present"));

    // A window alone is a descriptor: everything present then.
    let mut s = spec("anything on 22 March");
    s.window = Some(window(t(22, 0), t(23, 0)));
    let m = both(&reg, &threat(vec![s])).unwrap();
    assert_eq!(m.len(), 6);
}

// ---- combinations, ranking -------------------------------------------------------------------

#[test]
fn every_descriptor_must_hold_and_reasons_list_them() {
    let reg = moscow_registry();
    let mut s = spec("large concert halls in Moscow");
    s.name = Some("Крокус Сити Холл".into());
    s.categories = vec![cat("venue/entertainment")];
    s.min_size = Some(1000);
    s.area = in_place("Moscow");
    let m = both(&reg, &threat(vec![s.clone()])).unwrap();
    assert_eq!(ids(&m), ["crocus-city-hall"]);
    let descriptors: Vec<&str> = m[0].reasons.iter().map(|r| r.descriptor.as_str()).collect();
    assert_eq!(descriptors, ["name", "category", "size", "area", "time"]);

    for broken in [
        TargetSpecEdit::Size(8000),
        TargetSpecEdit::Area("Kazan"),
        TargetSpecEdit::Category("place_of_worship"),
    ] {
        let mut b = s.clone();
        match broken {
            TargetSpecEdit::Size(n) => b.min_size = Some(n),
            TargetSpecEdit::Area(p) => b.area = in_place(p),
            TargetSpecEdit::Category(c) => b.categories = vec![cat(c)],
        }
        assert!(
            both(&reg, &threat(vec![b])).unwrap().is_empty(),
            "{broken:?}"
        );
    }
}

#[derive(Debug)]
enum TargetSpecEdit {
    Size(u32),
    Area(&'static str),
    Category(&'static str),
}

#[test]
fn one_match_per_entity_and_spec_ranked() {
    let reg = moscow_registry();
    let mut gatherings = spec("large gatherings in Moscow");
    gatherings.categories = vec![cat("venue"), cat("event")];
    gatherings.min_size = Some(1000);
    gatherings.area = in_place("Moscow");
    let m = both(&reg, &threat(vec![gatherings, named("Crocus City Hall")])).unwrap();
    // Crocus matches both specs; the named one ranks first.
    assert_eq!(m[0].entity_id.as_str(), "crocus-city-hall");
    assert_eq!(m[0].target, 1);
    assert_eq!(
        m.iter()
            .filter(|x| x.entity_id.as_str() == "crocus-city-hall")
            .count(),
        2
    );
    assert!(m.windows(2).all(|w| w[0].score >= w[1].score));
    // Below the named hall (and the concert held there), only the unnamed gatherings.
    assert!(m[1..]
        .iter()
        .filter(|x| !(x.target == 1 && x.reasons[0].detail.starts_with("held at")))
        .all(|x| x.score <= 0.5));
}

// ---- index maintenance -----------------------------------------------------------------------

#[test]
fn upsert_replaces_and_remove_removes_from_every_index() {
    let mut r = registry(&moscow_registry());
    assert_eq!(r.len(), 7);
    let by_name = |n: &str| threat(vec![named(n)]);
    let in_city = |p: &str| {
        let mut s = spec(p);
        s.area = in_place(p);
        threat(vec![s])
    };
    let by_cat = |c: &str| {
        let mut s = spec(c);
        s.categories = vec![cat(c)];
        threat(vec![s])
    };
    let by_size = |n: u32| {
        let mut s = spec("size");
        s.min_size = Some(n);
        threat(vec![s])
    };
    let has = |r: &tocsin_match::Registry, th: &tocsin_core::Threat, id: &str| {
        r.match_threat(th)
            .unwrap()
            .iter()
            .any(|m| m.entity_id.as_str() == id)
    };

    // Replace Bolshoi with a renamed, recategorised, relocated, resized entity.
    let moved = Entity {
        city: Some("Kazan".into()),
        ..venue(
            "bolshoi",
            "Kazan Opera House",
            "venue/entertainment/opera",
            (55.79, 49.12),
            Some(90_000),
        )
    };
    r.upsert(moved.clone());
    assert_eq!(r.len(), 7);
    assert_eq!(r.get(&EntityId::new("bolshoi")), Some(moved.clone()));
    assert!(!has(&r, &by_name("Bolshoi Theatre"), "bolshoi"));
    assert!(has(&r, &by_name("Kazan Opera House"), "bolshoi"));
    assert!(!has(&r, &by_cat("venue/entertainment/theatre"), "bolshoi"));
    assert!(has(&r, &by_cat("venue/entertainment/opera"), "bolshoi"));
    assert!(!has(&r, &in_city("Moscow"), "bolshoi"));
    assert!(has(&r, &in_city("Kazan"), "bolshoi"));
    assert!(has(&r, &by_size(85_000), "bolshoi"));

    // Moving the venue moves its events (their location is the venue's).
    assert!(has(&r, &in_city("Moscow"), "piknik-2024-03-08"));
    r.upsert(venue(
        "crocus-city-hall",
        "Crocus City Hall",
        "venue/entertainment/concert_hall",
        (55.80, 49.10),
        Some(7500),
    ));
    assert!(!has(&r, &in_city("Moscow"), "piknik-2024-03-08"));
    assert!(has(&r, &in_city("Kazan"), "piknik-2024-03-08"));

    // Remove: gone from the name, category, geo, city and size indexes.
    assert_eq!(r.remove(&EntityId::new("bolshoi")), Some(moved));
    assert_eq!(r.remove(&EntityId::new("bolshoi")), None);
    assert_eq!(r.len(), 6);
    assert!(r.get(&EntityId::new("bolshoi")).is_none());
    assert!(!has(&r, &by_name("Kazan Opera House"), "bolshoi"));
    assert!(!has(&r, &by_cat("venue/entertainment/opera"), "bolshoi"));
    assert!(!has(&r, &in_city("Kazan"), "bolshoi"));
    assert!(!has(&r, &by_size(85_000), "bolshoi"));

    // Removing a venue leaves its events without a location; re-adding it restores them.
    r.remove(&EntityId::new("crocus-city-hall"));
    assert!(!has(&r, &in_city("Kazan"), "piknik-2024-03-08"));
    r.upsert(crocus());
    assert!(has(&r, &in_city("Moscow"), "piknik-2024-03-08"));

    // After all that, the registry still agrees with the reference over its current contents.
    let now: Vec<Entity> = r.iter().collect();
    let th = in_city("Moscow");
    assert_eq!(
        r.match_threat(&th),
        tocsin_match::reference_match(&now, &th, r.config(), r.gazetteer())
    );
}

#[test]
fn an_event_inserted_before_its_venue_gets_the_venue_location() {
    let mut r = registry(&[]);
    r.upsert(event(
        "ev",
        "Evening Show",
        "event/concert",
        "hall",
        window(t(7, 18), t(7, 22)),
        Some(3000),
    ));
    let mut s = spec("Moscow");
    s.area = in_place("Moscow");
    let th = threat(vec![s]);
    assert!(r.match_threat(&th).unwrap().is_empty());
    r.upsert(venue("hall", "Hall", "venue", (55.75, 37.6), None));
    // Same place, same score: ranked by id.
    assert_eq!(ids(&r.match_threat(&th).unwrap()), ["ev", "hall"]);
}
