//! The recipient's side as the engine composes it: an audience without a `timezone` in a country
//! of several zones takes the zone of its matched site; an audience reading another language
//! gets English beside its own (CAP's second `<info>`), the same links in both.

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
fn a_russian_operator_without_a_zone_reads_moscow_times_in_russian_with_english_beside() {
    let dir = tempfile::tempdir().unwrap();
    let case = dir.path().join("case");
    std::fs::create_dir_all(&case).unwrap();
    for f in ["venues.csv", "events.csv", "report.txt"] {
        std::fs::copy(examples().join(f), case.join(f)).unwrap();
    }
    // Russia keeps eleven zones: without its own `timezone`, only the site can say which.
    let audiences = std::fs::read_to_string(examples().join("audiences.toml")).unwrap();
    let crocus = "id = \"op-crocus\"";
    let (before, after) = audiences.split_once(crocus).unwrap();
    let after = after.replacen("timezone = \"Europe/Moscow\"\n", "", 1);
    std::fs::write(
        case.join("audiences.toml"),
        format!("{before}{crocus}{after}"),
    )
    .unwrap();

    let store = Arc::new(SqliteStore::open_in_memory().unwrap());
    let engine = Engine::open(store, EngineConfig::new(dir.path().join("outbox"))).unwrap();
    let at = Utc.with_ymd_and_hms(2024, 3, 6, 8, 30, 0).unwrap();
    let ctx = AuditCtx::new("import", at);
    engine.import_dir(&case, &ctx).unwrap();
    let aud = engine
        .store()
        .audience(&"op-crocus".into())
        .unwrap()
        .unwrap();
    assert_eq!(aud.timezone, None, "the test removed it");
    let tid = "moscow-2024-03".into();
    engine.propose_determination(&tid, "analyst", at).unwrap();
    engine.approve_determination(&tid, "approver", at).unwrap();
    let drafts = engine.compose_warnings(&tid, "analyst", at).unwrap();
    let w = drafts
        .iter()
        .find(|w| w.audience_id.as_str() == "op-crocus")
        .unwrap_or_else(|| {
            let timeline = engine
                .store()
                .timeline(Some(&"moscow-2024-03".into()))
                .unwrap();
            panic!(
                "the Crocus operator is not warned: {:?}",
                timeline
                    .iter()
                    .map(|e| format!("{}: {}", e.event, e.detail))
                    .collect::<Vec<_>>()
            )
        });
    // Crocus City Hall (Krasnogorsk) keeps Moscow time: MSK with UTC beside it, not UTC alone.
    assert!(w.text.contains(" MSK ("), "{}", w.text);
    assert_eq!(w.language, "ru");
    assert!(w.text.contains("КОМУ:"), "{}", w.text);
    // English beside it, gated with it, the same times and the same one-time links.
    assert_eq!(w.translations.len(), 1, "{:?}", w.translations);
    let en = &w.translations[0];
    assert_eq!(en.language, "en");
    assert!(
        en.text.contains("TO: ") && en.text.contains(" MSK ("),
        "{}",
        en.text
    );
    let links = |t: &str| -> Vec<String> {
        t.split_whitespace()
            .filter(|s| s.contains("/r/"))
            .map(str::to_owned)
            .collect()
    };
    assert_eq!(links(&w.text).len(), 2, "{}", w.text);
    assert_eq!(links(&w.text), links(&en.text));
    // An English-reading audience has nothing beside its text.
    let partner = drafts
        .iter()
        .find(|w| w.audience_id.as_str() == "fsb-liaison")
        .expect("the partner is warned");
    assert_eq!(partner.language, "en");
    assert!(partner.translations.is_empty());
}
