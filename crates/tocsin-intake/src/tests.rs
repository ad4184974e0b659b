//! Extractor tests over the reference case: the embassy advisory, the machine-reworded news copy,
//! Cyrillic, misspellings, and a property test over random text.

use super::*;
use chrono::{TimeZone, Utc};
use proptest::prelude::*;
use std::sync::OnceLock;
use tocsin_core::{CountryCode, Credibility, Harm};

const VENUES: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../examples/moscow-2024/venues.csv"
));
const EVENTS: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../examples/moscow-2024/events.csv"
));
/// The repository's machine-reworded news copy of the reference case, as (path, text).
fn news_copies() -> &'static [(String, String)] {
    const OWN: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/intake/crocus-news-reworded.txt"
    );
    static COPIES: OnceLock<Vec<(String, String)>> = OnceLock::new();
    COPIES.get_or_init(|| {
        vec![(
            OWN.to_owned(),
            include_str!("../../../examples/intake/crocus-news-reworded.txt").to_owned(),
        )]
    })
}
/// The US Embassy Moscow advisory of 7 March 2024.
const ADVISORY: &str = "The U.S. Embassy is monitoring reports that extremists have imminent plans to target large gatherings in Moscow, to include concerts. U.S. citizens should avoid large gatherings over the next 48 hours.";

fn extractor() -> &'static Extractor {
    static X: OnceLock<Extractor> = OnceLock::new();
    X.get_or_init(|| {
        let venues = tocsin_formats::parse_venues_csv(VENUES).expect("venues parse");
        let events = tocsin_formats::parse_events_csv(EVENTS, &venues).expect("events parse");
        let all: Vec<_> = venues.into_iter().chain(events).collect();
        Extractor::with_builtin(&all, &Gazetteer::builtin()).expect("extractor builds")
    })
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn ts(m: u32, d: u32) -> tocsin_core::Timestamp {
    Utc.with_ymd_and_hms(2024, m, d, 0, 0, 0).unwrap()
}

fn values<D>(v: &[Item<D>]) -> Vec<&str> {
    v.iter().map(|i| i.value.as_str()).collect()
}

fn check_spans(text: &str, p: &Proposal) {
    for i in p.items() {
        let [s, e] = i.span;
        assert!(s < e && e <= text.len(), "{}: span {s}..{e}", i.id);
        assert!(
            text.is_char_boundary(s) && text.is_char_boundary(e),
            "{}: span not on char boundaries",
            i.id
        );
        assert_eq!(&text[s..e], i.text, "{}", i.id);
    }
}

#[test]
fn embassy_advisory() {
    let p = extractor().extract(ADVISORY, date(2024, 3, 7));
    check_spans(ADVISORY, &p);
    let cats = values(&p.categories);
    assert!(
        cats.contains(&"large gatherings") && cats.contains(&"concerts"),
        "{cats:?}"
    );
    let large = p
        .categories
        .iter()
        .find(|c| c.value == "large gatherings")
        .unwrap();
    assert_eq!(large.detail.min_size, Some(1000));
    assert_eq!(large.mentions.len(), 2);
    assert_eq!(p.areas.len(), 1);
    assert_eq!(
        (p.areas[0].value.as_str(), p.areas[0].detail.relation),
        ("Moscow", Relation::In)
    );
    assert_eq!(p.areas[0].confidence, CONF_PLACE_IN);
    // "imminent" and "over the next 48 hours" give the same window: one item, the stronger text.
    assert_eq!(p.windows.len(), 1, "{:?}", p.windows);
    let w = &p.windows[0];
    assert_eq!((w.detail.from, w.detail.until), (ts(3, 7), ts(3, 9)));
    assert_eq!(w.text, "over the next 48 hours");
    assert_eq!(w.mentions.len(), 2);
    assert!(p.targets.is_empty() && p.actors.is_empty() && p.indicators.is_empty());
}

#[test]
fn reworded_news_copy() {
    for (path, news) in news_copies() {
        eprintln!("{path}");
        reworded_news_copy_gives_the_reference_case(news);
    }
}

fn reworded_news_copy_gives_the_reference_case(news: &str) {
    let p = extractor().extract(news, date(2024, 4, 2));
    check_spans(news, &p);
    let crocus = p
        .targets
        .iter()
        .find(|t| t.value == "Crocus City Hall")
        .expect("Crocus City Hall");
    assert_eq!(crocus.detail.entities, ["crocus-city-hall"]);
    assert_eq!(crocus.text, "Crocus City Hall");
    assert!(crocus.mentions.len() >= 5, "{:?}", crocus.mentions);
    assert!(
        values(&p.areas).contains(&"Moscow"),
        "{:?}",
        values(&p.areas)
    );
    let cats = values(&p.categories);
    for c in [
        "concerts",
        "large gatherings",
        "synagogues",
        "concert halls",
    ] {
        assert!(cats.contains(&c), "{c} missing from {cats:?}");
    }
    // "live performance corridor" is the spun "concert hall".
    let hall = p
        .categories
        .iter()
        .find(|c| c.value == "concert halls")
        .unwrap();
    assert!(
        hall.mentions
            .iter()
            .any(|[s, e]| &news[*s..*e] == "live performance corridor"),
        "{hall:?}"
    );
    let isisk = p
        .actors
        .iter()
        .find(|a| a.value == "ISIS-K")
        .expect("ISIS-K");
    assert_eq!(isisk.text, "ISIS-Okay");
    assert!(
        isisk.notes.iter().any(|n| n.starts_with("reworded")),
        "{isisk:?}"
    );
    assert!(values(&p.actors).contains(&"Islamic State"));
    // The 48-hour window of the 7 March advisory, anchored on "On March 7".
    let w = p
        .windows
        .iter()
        .find(|w| w.text == "over the next 48 hours")
        .expect("48-hour window");
    assert_eq!((w.detail.from, w.detail.until), (ts(3, 7), ts(3, 9)));
    let [s, e] = w
        .detail
        .anchor_span
        .expect("anchored on a date in the text");
    assert_eq!(&news[s..e], "On March 7");
    // Harms: gunmen (shooting), "set hearth to" (arson), killed.
    let harms: Vec<Harm> = p.harms.iter().map(|h| h.detail.harm).collect();
    assert!(
        harms.contains(&Harm::Killing) && harms.contains(&Harm::ArsonBombing),
        "{harms:?}"
    );
    let arson = p
        .harms
        .iter()
        .find(|h| h.value == "arson")
        .expect("arson from 'set hearth to'");
    assert_eq!(arson.text, "set hearth to");
    // The article's own URL, on its last line, is the only indicator.
    let url = news.trim_end().lines().last().unwrap_or_default().trim();
    assert!(url.starts_with("https://"), "last line {url:?}");
    assert_eq!(values(&p.indicators), [url]);
}

#[test]
fn cyrillic_and_transliterated_names() {
    let text =
        "Источник: ИГИЛ-К готовит нападение на Крокус Сити Холл, Москва. Also Krokus Siti Holl.";
    let p = extractor().extract(text, date(2024, 3, 6));
    check_spans(text, &p);
    assert_eq!(values(&p.targets), ["Crocus City Hall"]);
    assert_eq!(p.targets[0].text, "Крокус Сити Холл");
    assert_eq!(p.targets[0].mentions.len(), 2);
    assert_eq!(values(&p.actors), ["ISIS-K"]);
    assert_eq!(values(&p.areas), ["Moscow"]);
    assert_eq!(p.areas[0].text, "Москва");
}

#[test]
fn misspellings_are_corrected_with_lower_confidence() {
    let text = "Plans to hit the Crocsu City Hall and a synagouge near Moscow.";
    let p = extractor().extract(text, date(2024, 3, 6));
    check_spans(text, &p);
    let t = &p.targets[0];
    assert_eq!(
        (t.value.as_str(), t.text.as_str()),
        ("Crocus City Hall", "Crocsu City Hall")
    );
    assert!(
        t.confidence < lexicon::CONF_NAME && t.notes.iter().any(|n| n.starts_with("fuzzy")),
        "{t:?}"
    );
    assert_eq!(values(&p.categories), ["synagogues"]);
    assert_eq!(p.areas[0].detail.relation, Relation::Near);
    assert_eq!(p.areas[0].value, "near Moscow");
    // Common words are not "corrected" into dictionary words: "concern" is not "concert".
    let q = extractor().extract(
        "A matter of concern for the theatre-goers",
        date(2024, 3, 6),
    );
    assert!(
        values(&q.categories).iter().all(|c| *c != "concerts"),
        "{:?}",
        values(&q.categories)
    );
}

#[test]
fn acronyms_need_capitals_and_places_need_a_capital() {
    let p = extractor().extract("isis and iskp are flowers; moscow mules.", date(2024, 3, 6));
    assert!(p.actors.is_empty(), "{:?}", p.actors);
    assert!(p.areas.is_empty(), "{:?}", p.areas);
    let p = extractor().extract("ISKP and ISIS claimed it.", date(2024, 3, 6));
    assert_eq!(values(&p.actors), ["ISIS-K", "Islamic State"]);
}

#[test]
fn network_harms_and_indicators() {
    let text = "LockBit ransomware operators and a DDoS campaign by Killnet hit hxxps://portal.example[.]com/login from 203.0.113[.]7.";
    let p = extractor().extract(text, date(2024, 3, 6));
    check_spans(text, &p);
    assert_eq!(values(&p.actors), ["LockBit", "Killnet"]);
    let harms: Vec<Harm> = p.harms.iter().map(|h| h.detail.harm).collect();
    assert_eq!(
        harms,
        [Harm::Ransomware, Harm::DisruptionOfEssentialServices]
    );
    assert_eq!(
        values(&p.indicators),
        ["https://portal.example.com/login", "203.0.113.7"]
    );
    assert!(p.indicators.iter().all(|i| i.detail.defanged));
}

#[test]
fn relative_dates_in_context() {
    let p = extractor().extract("An attack on a shopping centre or the metro is expected this weekend, possibly on 8 March.", date(2024, 3, 6));
    assert_eq!(values(&p.categories), ["shopping centres", "metro"]);
    assert_eq!(
        p.categories[0].detail.paths[0].as_str(),
        "venue/retail/shopping_mall"
    );
    let bases: Vec<_> = p
        .windows
        .iter()
        .map(|w| (w.detail.basis, w.detail.from))
        .collect();
    assert_eq!(
        bases,
        [
            (when::Basis::Weekend, ts(3, 9)),
            (when::Basis::Date, ts(3, 8))
        ]
    );
    let p = extractor().extract(
        "Threats to schools over the next 48 hours",
        date(2024, 9, 1),
    );
    assert_eq!(
        p.categories[0].detail.paths[0].as_str(),
        "venue/education/school"
    );
    assert_eq!(
        p.windows[0].detail.until,
        Utc.with_ymd_and_hms(2024, 9, 3, 0, 0, 0).unwrap()
    );
}

fn options(d: NaiveDate) -> CommitOptions {
    CommitOptions {
        id: None,
        title: None,
        originator: CountryCode::parse("USA").unwrap(),
        credibility: Credibility::Possible,
        date: d,
        imminent_hours: 48,
        near_margin_km: 10.0,
    }
}

#[test]
fn commit_refuses_pending_and_builds_the_reference_threat() {
    for (path, news) in news_copies() {
        eprintln!("{path}");
        commit_builds_the_reference_threat(news);
    }
}

fn commit_builds_the_reference_threat(news: &str) {
    let g = Gazetteer::builtin();
    let mut p = extractor().extract(news, date(2024, 4, 2));
    let err = build_threat(&p, news, &options(date(2024, 4, 2)), &g).unwrap_err();
    let CommitError::Pending(ids) = &err else {
        panic!("{err}")
    };
    assert_eq!(ids.len(), p.len());
    assert!(
        err.to_string().contains("t1 (\"Crocus City Hall\")"),
        "{err}"
    );

    // The analyst keeps what the reference case needs and rejects the rest.
    let keep = |id: &str, v: &str| -> bool {
        match id.trim_end_matches(char::is_numeric) {
            "t" => v == "Crocus City Hall",
            "a" => v == "Moscow",
            "c" => ["large gatherings", "synagogues", "concerts"].contains(&v),
            "ac" => v == "ISIS-K",
            "h" => ["shooting", "arson", "killing"].contains(&v),
            "w" => v.starts_with("2024-03-07T00:00:00Z – 2024-03-09"),
            _ => false,
        }
    };
    let (accept, reject): (Vec<_>, Vec<_>) = p
        .items()
        .iter()
        .map(|i| (i.id.to_owned(), keep(i.id, i.value)))
        .partition(|(_, k)| *k);
    let accept: Vec<String> = accept.into_iter().map(|(i, _)| i).collect();
    let reject: Vec<String> = reject.into_iter().map(|(i, _)| i).collect();
    p.review(&accept, &reject, false).unwrap();
    assert!(p.pending().is_empty());
    let t = build_threat(&p, news, &options(date(2024, 4, 2)), &g).unwrap();
    assert_eq!(t.actor.as_deref(), Some("ISIS-K"));
    assert_eq!(
        (t.window.from, t.window.until, t.public_advice_hours),
        (ts(3, 7), ts(3, 9), 48)
    );
    let labels: Vec<&str> = t.targets.iter().map(|s| s.label.as_str()).collect();
    assert_eq!(
        labels,
        [
            "Crocus City Hall",
            "large gatherings in Moscow",
            "concerts in Moscow",
            "synagogues in Moscow"
        ]
    );
    assert!(t
        .targets
        .iter()
        .all(|s| s.mark == tocsin_core::PortionMark::unclassified()));
    assert_eq!(
        (t.targets[1].min_size, t.targets[2].min_size),
        (Some(1000), None)
    );
    assert!(t.harms.contains(&Harm::ArsonBombing) && t.harms.contains(&Harm::Killing));
    assert!(t.id.as_str().starts_with("text-"));
    assert!(!t.portions.is_empty() && t.portions.iter().all(|q| news.contains(&q.text)));

    // A proposal applied to another text is refused, naming the item.
    let other = news.replacen("Crocus City Hall", "Crocus City Mall", 1);
    let err = build_threat(&p, &other, &options(date(2024, 4, 2)), &g).unwrap_err();
    assert!(matches!(err, CommitError::SpanMismatch { .. }), "{err}");
}

#[test]
fn review_flags() {
    let mut p = extractor().extract(ADVISORY, date(2024, 3, 7));
    assert_eq!(
        p.review(&["zz9".into()], &[], false),
        Err(ReviewError::UnknownId("zz9".into()))
    );
    assert_eq!(
        p.review(&["c1".into()], &["c1".into()], false),
        Err(ReviewError::Conflict("c1".into()))
    );
    p.review(&[], &["c2".into()], true).unwrap();
    assert!(p.pending().is_empty());
    assert_eq!(p.categories[1].decision, Decision::Rejected);
    assert_eq!(p.categories[0].decision, Decision::Accepted);
    let t = build_threat(
        &p,
        ADVISORY,
        &options(date(2024, 3, 7)),
        &Gazetteer::builtin(),
    )
    .unwrap();
    assert_eq!(t.targets.len(), 1);
    assert_eq!(
        t.targets[0].area,
        Some(tocsin_core::Area::Named {
            name: "Moscow".into()
        })
    );
    // Nothing accepted that names a target: refused.
    let mut q = extractor().extract("over the next 48 hours", date(2024, 3, 7));
    q.review(&[], &[], true).unwrap();
    assert_eq!(
        build_threat(
            &q,
            "over the next 48 hours",
            &options(date(2024, 3, 7)),
            &Gazetteer::builtin()
        ),
        Err(CommitError::NothingToTarget)
    );
}

#[test]
fn proposal_json_has_exactly_the_seven_lists() {
    let p = extractor().extract(ADVISORY, date(2024, 3, 7));
    let v = serde_json::to_value(&p).unwrap();
    let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
    assert_eq!(keys.len(), 7);
    for k in [
        "targets",
        "areas",
        "categories",
        "actors",
        "harms",
        "windows",
        "indicators",
    ] {
        assert!(v.get(k).is_some_and(|x| x.is_array()), "{k}");
    }
    let c = &v["categories"][0];
    for k in ["id", "text", "span", "confidence", "value", "decision"] {
        assert!(c.get(k).is_some(), "{k} in {c}");
    }
    assert_eq!(c["decision"], "pending");
    let back: Proposal = serde_json::from_value(v).unwrap();
    assert_eq!(back, p);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]
    #[test]
    fn random_text_never_panics_and_spans_are_valid(
        parts in proptest::collection::vec(prop_oneof![
            "[a-zA-Z0-9 .,:/\\[\\]()'-]{0,12}",
            "[а-яА-ЯёЁ ]{0,8}",
            "[\\PC]{0,6}",
            Just("Crocus City Hall".to_string()),
            Just("ISIS-Okay".to_string()),
            Just("1.2.3[.]4".to_string()),
            Just("hxxp://x[.]com/".to_string()),
            Just("on 8 March".to_string()),
            Just("over the next 48 hours".to_string()),
            Just("Москва".to_string()),
            Just("ß\u{0301}ﬁ№Ъ".to_string()),
        ], 0..24)
    ) {
        let text: String = parts.concat();
        let p = extractor().extract(&text, date(2024, 3, 6));
        for i in p.items() {
            let [s, e] = i.span;
            prop_assert!(s <= e && e <= text.len());
            prop_assert!(text.is_char_boundary(s) && text.is_char_boundary(e));
            prop_assert_eq!(&text[s..e], i.text);
        }
        for it in p.targets.iter().map(|i| &i.mentions).chain(p.windows.iter().map(|i| &i.mentions)) {
            for [s, e] in it {
                prop_assert!(text.is_char_boundary(*s) && text.is_char_boundary(*e) && s <= e && *e <= text.len());
            }
        }
    }
}

/// Short aliases and one word of a long name are no place mentions without "in"/"near": found by
/// the corpus (a CERT's "Pre-ransomware notification" proposed Prato and Siirt, "Do not travel"
/// Jahrom, "Stade de France" Hansestadt Stade).
#[test]
fn short_aliases_and_parts_of_names_are_not_mentions() {
    let text = "Pre-ransomware notification from the national CERT. Do not travel. Security is heightened around the Stade de France. Attacks in Nice and in Kiev.";
    let p = extractor().extract(text, date(2025, 2, 3));
    check_spans(text, &p);
    let got = values(&p.areas);
    for wrong in ["Prato", "Siirt", "Jahrom", "Hansestadt Stade"] {
        assert!(!got.contains(&wrong), "{wrong} in {got:?}");
    }
    // After "in", a place's alias still counts, and its own name always does.
    assert!(got.contains(&"Nice"), "{got:?}");
    assert!(
        got.iter().any(|a| a.contains("Kyiv") || a.contains("Kiev")),
        "{got:?}"
    );
}

/// Russian place names in oblique cases are places (found by the corpus: a Russian MID advisory
/// named no place at all).
#[test]
fn russian_place_names_in_oblique_cases_are_areas() {
    let text = "Сохраняется угроза терактов в крупных городах Турции, в первую очередь в Стамбуле и Анкаре.";
    let p = extractor().extract(text, date(2025, 2, 3));
    check_spans(text, &p);
    let got: Vec<(&str, &str)> = p
        .areas
        .iter()
        .map(|a| (a.value.as_str(), a.text.as_str()))
        .collect();
    for (place, written) in [("Istanbul", "Стамбуле"), ("Ankara", "Анкаре")] {
        assert!(got.contains(&(place, written)), "{place}: {got:?}");
    }
    assert!(got.iter().any(|(_, w)| *w == "Турции"), "{got:?}");
    assert_eq!(russian_base_forms("Стамбуле")[0], "Стамбул");
    assert!(russian_base_forms("Турции").contains(&"Турция".to_owned()));
    assert!(russian_base_forms("Paris").is_empty());
    assert!(russian_base_forms("Рим").is_empty());
}

/// A place word in the middle of an organisation's name is no mention of the place (found by the
/// corpus: the UK's "Foreign, Commonwealth & Development Office" proposed Commonwealth, Quezon
/// City); a place that opens the name, or stands on its own, still is.
#[test]
fn a_place_inside_an_organisations_name_is_no_mention() {
    let text = "The Foreign, Commonwealth & Development Office advises against travel. The Moscow City Council closed parks.";
    let p = extractor().extract(text, date(2025, 2, 3));
    check_spans(text, &p);
    let got = values(&p.areas);
    assert!(!got.iter().any(|a| a.contains("Commonwealth")), "{got:?}");
    assert!(got.contains(&"Moscow"), "{got:?}");
}
