//! Import checks: an operator that names no audience is a note; an event without a venue can say
//! where it is, and then matches like any other.

use chrono::{TimeZone, Utc};
use std::path::Path;
use std::sync::Arc;
use tocsin_engine::{Engine, EngineConfig};
use tocsin_store::AuditCtx;
use tocsin_store_sqlite::SqliteStore;

fn examples() -> &'static Path {
    Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/moscow-2024"
    ))
}

#[test]
fn an_unknown_operator_is_a_note_and_a_venueless_event_with_a_location_matches() {
    let dir = tempfile::tempdir().unwrap();
    let case = dir.path().join("case");
    std::fs::create_dir_all(&case).unwrap();
    for f in ["audiences.toml", "report.txt"] {
        std::fs::copy(examples().join(f), case.join(f)).unwrap();
    }
    let venues = std::fs::read_to_string(examples().join("venues.csv")).unwrap();
    let (header, rows) = venues.split_once('\n').unwrap();
    std::fs::write(
        case.join("venues.csv"),
        format!(
            "{header}\nvegas-city-hall,Vegas City Hall,,venue/entertainment/concert_hall,55.58,37.72,6000,Moscow,RUS,op-vegas\n\
             sport-palace,Sport Palace,,venue/sport,55.70,37.60,8000,Moscow,RUS,op-crocus\n{rows}"
        ),
    )
    .unwrap();
    std::fs::write(
        case.join("events.csv"),
        "id,name,aliases,category,venue_id,starts,ends,expected_attendance,operator,lat,lon,city,country\n\
         maslenitsa-2024,Maslenitsa open-air concert,,event/concert,,2024-03-16T12:00:00Z,2024-03-16T18:00:00Z,20000,,55.7539,37.6208,Moscow,RUS\n",
    )
    .unwrap();
    let store = Arc::new(SqliteStore::open_in_memory().unwrap());
    let engine = Engine::open(store, EngineConfig::new(dir.path().join("outbox"))).unwrap();
    let at = Utc.with_ymd_and_hms(2024, 3, 6, 8, 30, 0).unwrap();
    let s = engine
        .import_dir(&case, &AuditCtx::new("import", at))
        .unwrap();
    // The reference registry names operators of its own that have no audience (56 of them).
    assert_eq!(s.notes.len(), 2, "{:?}", s.notes);
    assert!(
        s.notes[0].starts_with("venues.csv: 57 row(s)")
            && s.notes[0].contains("vegas-city-hall (op-vegas)")
            && s.notes[0].ends_with("and 37 more"),
        "{}",
        s.notes[0]
    );
    assert!(!s.notes[0].contains("crocus-city-hall"), "op-crocus exists");
    // A misspelt category is named, with the closest known one.
    assert!(
        s.notes[1].starts_with("venues.csv: sport-palace: category \"venue/sport\"")
            && s.notes[1].contains("did you mean \"venue/sports\""),
        "{}",
        s.notes[1]
    );
    // The same in a target spec.
    let mut threat = engine
        .store()
        .threat(&"moscow-2024-03".into())
        .unwrap()
        .unwrap();
    assert!(
        engine.category_notes(&threat).is_empty(),
        "the reference report is clean"
    );
    threat.targets[2].categories[2] = tocsin_core::Category::parse("venue/sport").unwrap();
    let notes = engine.category_notes(&threat);
    assert_eq!(notes.len(), 1);
    assert!(
        notes[0].starts_with("target 3 (large gatherings"),
        "{}",
        notes[0]
    );
    let matches = engine.store().matches(&"moscow-2024-03".into()).unwrap();
    let m = matches
        .iter()
        .find(|m| m.entity_id.as_str() == "maslenitsa-2024")
        .expect("the venue-less event at its own location matches the Moscow concerts target");
    assert!(!m.reasons.is_empty());
}
