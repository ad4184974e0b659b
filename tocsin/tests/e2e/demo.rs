//! `tocsin demo --json`: the reference case and the rules its output must show.

use crate::common::{demo_json, examples_dir};
use serde_json::Value;
use std::sync::OnceLock;

fn demo() -> &'static Value {
    static DEMO: OnceLock<Value> = OnceLock::new();
    DEMO.get_or_init(demo_json)
}

fn warning<'a>(kind: &str, audience: &str) -> &'a Value {
    demo()["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["audience_kind"] == kind && w["audience"] == audience)
        .unwrap_or_else(|| panic!("no {kind} warning for {audience}"))
}

fn text(w: &Value) -> String {
    w["text"].as_str().unwrap().to_owned()
}

fn timeline() -> Vec<(String, String, String)> {
    demo()["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["at"].as_str().unwrap().to_owned(),
                e["event"].as_str().unwrap().to_owned(),
                e["detail"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// First timeline entry of `event` whose detail contains `needle`.
fn when(event: &str, needle: &str) -> String {
    timeline()
        .into_iter()
        .find(|(_, e, d)| e == event && d.contains(needle))
        .unwrap_or_else(|| panic!("no timeline entry {event} mentioning {needle:?}"))
        .0
}

#[test]
fn output_has_the_promised_keys() {
    let d = demo();
    for key in [
        "matches",
        "determination",
        "warnings",
        "deliveries",
        "timeline",
        "audit",
    ] {
        assert!(!d[key].is_null(), "missing key {key}");
    }
    let m = &d["matches"][0];
    for key in ["entity", "score", "reasons"] {
        assert!(!m[key].is_null(), "match lacks {key}");
    }
    for w in d["warnings"].as_array().unwrap() {
        for key in ["audience", "audience_kind", "tlp", "text"] {
            assert!(w[key].is_string(), "warning lacks {key}: {w}");
        }
    }
    for e in d["timeline"].as_array().unwrap() {
        for key in ["at", "event", "detail"] {
            assert!(e[key].is_string(), "timeline entry lacks {key}");
        }
    }
}

#[test]
fn matching_finds_the_targets_and_rejects_the_rest() {
    let ids: Vec<&str> = demo()["matches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["entity"].as_str().unwrap())
        .collect();
    for must in [
        "crocus-city-hall",
        "moscow-choral-synagogue",
        "piknik-2024-03-22",
    ] {
        assert!(ids.contains(&must), "{must} not matched: {ids:?}");
    }
    let venues = std::fs::read_to_string(examples_dir().join("venues.csv")).unwrap();
    let mut rdr = csv_rows(&venues);
    let header = rdr.remove(0);
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    let mut rejected = 0;
    for row in &rdr {
        let (id, city, cap, cat) = (
            &row[col("id")],
            &row[col("city")],
            row[col("capacity")].parse::<u32>().unwrap(),
            &row[col("category")],
        );
        let far = city != "Moscow" && city != "Krasnogorsk";
        let small_non_synagogue = cap < 1000
            && !cat.starts_with("place_of_worship/synagogue")
            && id != "crocus-city-hall";
        if far || small_non_synagogue {
            assert!(
                !ids.contains(&id.as_str()),
                "{id} ({city}, {cap}, {cat}) should not match"
            );
            rejected += 1;
        }
    }
    assert!(
        rejected >= 5,
        "the registry must give matching something to reject"
    );
    let crocus = demo()["matches"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["entity"] == "crocus-city-hall")
        .unwrap();
    assert!(crocus["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r.as_str().unwrap().starts_with("name")));
}

#[test]
fn determination_is_warn_with_sources_handled_by_sanitizing() {
    let d = &demo()["determination"];
    assert_eq!(d["decision"], "warn");
    assert!(d["approver"].is_string() && d["approver"] != d["proposer"]);
    let notes = d["considerations"].to_string().to_lowercase();
    assert!(
        notes.contains("sources and methods") && notes.contains("no waiver"),
        "{notes}"
    );
}

#[test]
fn partner_warning_names_crocus_and_the_synagogue_threat() {
    let w = warning("partner_service", "fsb-liaison");
    let t = text(w);
    assert!(t.contains("Crocus City Hall"), "{t}");
    assert!(t.to_lowercase().contains("synagogue"), "{t}");
    assert_eq!(w["specificity"], "named_target");
}

#[test]
fn public_advisory_names_no_venue_and_says_48_hours() {
    let w = warning("public", "public-us-citizens-russia");
    let t = text(w);
    let lower = t.to_lowercase();
    assert!(lower.contains("avoid large gatherings"), "{t}");
    assert!(lower.contains("concerts"), "{t}");
    assert!(lower.contains("48 hours"), "{t}");
    assert_eq!(w["tlp"], "CLEAR");
    for file in ["venues.csv", "events.csv"] {
        let data = std::fs::read_to_string(examples_dir().join(file)).unwrap();
        let rows = csv_rows(&data);
        for row in rows.iter().skip(1) {
            for name in std::iter::once(row[1].as_str())
                .chain(row[2].split(';'))
                .filter(|n| n.len() > 3)
            {
                assert!(!t.contains(name), "public advisory names {name:?}:\n{t}");
            }
        }
    }
}

#[test]
fn no_warning_carries_a_restricted_portion_or_term() {
    let report = std::fs::read_to_string(examples_dir().join("report.txt")).unwrap();
    // The restricted terms, and distinctive phrases of the NOFORN portions, straight from the file.
    let terms = [
        "CARDINAL SPARROW",
        "LANTERN GLASS",
        "Herat facilitation network",
        "human source",
        "seating plan",
        "Central Asian operatives",
    ];
    for t in terms {
        assert!(
            report.contains(t),
            "test phrase {t:?} must come from the report"
        );
    }
    for w in demo()["warnings"].as_array().unwrap() {
        let body = format!("{} {}", w["headline"], w["text"]).to_lowercase();
        for t in terms {
            assert!(!body.contains(&t.to_lowercase()), "{} leaks {t:?}", w["id"]);
        }
        if w["audience_kind"] != "partner_service" {
            // Only the partner may read the REL TO USA, RUS portions.
            assert!(
                !body.contains("incendiary"),
                "{} carries a REL TO portion",
                w["id"]
            );
        }
    }
}

#[test]
fn timeline_runs_in_the_order_of_the_case() {
    let order = [
        when("report_received", ""),
        when("matches_computed", ""),
        when("determination_proposed", ""),
        when("determination_approved", ""),
        when("warning_composed", "fsb-liaison"),
        when("warning_delivered", "fsb-liaison"),
        when("warning_delivered", "public-us-citizens-russia"),
        when("acknowledged", "op-crocus"),
        when("posture_confirmed", "op-crocus"),
        when("outcome_recorded", ""),
    ];
    for pair in order.windows(2) {
        assert!(pair[0] <= pair[1], "timeline out of order: {pair:?}");
    }
    let all = timeline();
    let times: Vec<&String> = all.iter().map(|e| &e.0).collect();
    assert!(
        times.windows(2).all(|p| p[0] <= p[1]),
        "timeline is not sorted by time"
    );
    assert!(order[0].starts_with("2024-03-06"));
    assert!(
        order[6].starts_with("2024-03-07"),
        "public advisory on 7 March, after the partner: {}",
        order[6]
    );
    assert!(order[7].starts_with("2024-03-08") && order[8].starts_with("2024-03-09"));
    assert!(order[9].starts_with("2024-03-22"));
}

#[test]
fn the_lapse_yields_a_reminder_then_an_escalation_while_the_window_is_open() {
    let crocus: Vec<(String, String, String)> = timeline()
        .into_iter()
        .filter(|(_, _, d)| d.starts_with("op-crocus"))
        .collect();
    let after_posture: Vec<&(String, String, String)> = crocus
        .iter()
        .filter(|(at, _, _)| at.as_str() >= "2024-03-10")
        .collect();
    let reminder = after_posture
        .iter()
        .find(|e| e.1 == "posture_reminder")
        .expect("reminder after the lapse");
    let escalation = after_posture
        .iter()
        .find(|e| e.1 == "posture_escalated")
        .expect("escalation after the lapse");
    assert!(
        reminder.0.starts_with("2024-03-10"),
        "reminder 24 h after the 9 March report: {}",
        reminder.0
    );
    assert!(
        escalation.0.starts_with("2024-03-11"),
        "escalation after the second miss: {}",
        escalation.0
    );
    assert!(escalation.0.as_str() < "2024-03-22");
}

#[test]
fn deliveries_went_through_the_outbox_and_audit_verifies() {
    let d = demo();
    let deliveries = d["deliveries"].as_array().unwrap();
    assert!(deliveries.len() >= 3);
    assert!(
        deliveries.iter().all(|x| x["status"] == "delivered"),
        "{deliveries:?}"
    );
    let keys: std::collections::HashSet<&str> = deliveries
        .iter()
        .map(|x| x["idempotency_key"].as_str().unwrap())
        .collect();
    assert_eq!(keys.len(), deliveries.len(), "idempotency keys are unique");
    // The lapse produced real messages, not only timeline entries: reminders and an escalation
    // went to the Crocus operator through the outbox.
    let to_crocus = |kind: &str| {
        deliveries
            .iter()
            .filter(|x| x["audience"] == "op-crocus" && x["kind"] == kind)
            .count()
    };
    assert!(to_crocus("reminder") >= 2, "{deliveries:?}");
    assert!(to_crocus("escalation") >= 1, "{deliveries:?}");
    assert_eq!(d["audit"]["verified"], true);
    assert!(d["audit"]["count"].as_u64().unwrap() > 10);
    assert_eq!(d["audit"]["head_hash"].as_str().unwrap().len(), 64);
}

fn csv_rows(text: &str) -> Vec<Vec<String>> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(text.as_bytes())
        .records()
        .map(|r| r.expect("valid CSV").iter().map(String::from).collect())
        .collect()
}
