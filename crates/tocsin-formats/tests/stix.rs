//! STIX 2.1 intake and export: mapping, fail-closed markings, errors naming object and field,
//! deterministic export, and no panic on any JSON.

use chrono::{TimeZone, Utc};
use proptest::prelude::*;
use serde_json::{json, Value};
use tocsin_core::lifecycle::WarningState;
use tocsin_core::threat::{Area, Credibility, Harm};
use tocsin_core::tracking::{Specificity, Warning};
use tocsin_core::{Audience, AudienceKind, Classification, CountryCode, ThreatWindow, TlpLevel};
use tocsin_formats::stix::{self, parse_bundle, ExportInput, NetworkKind, StixOptions};

const BUNDLE: &str = include_str!("data/moscow-partner.stix.json");

fn opts() -> StixOptions {
    StixOptions::new(CountryCode::parse("USA").unwrap())
}

fn strict() -> StixOptions {
    StixOptions {
        strict: true,
        ..opts()
    }
}

#[test]
fn reference_bundle_becomes_a_threat_with_targets_marks_and_indicators() {
    let got = parse_bundle(BUNDLE, &opts()).expect("valid bundle");
    let t = &got.threat;
    assert_eq!(t.id.as_str(), "stix-7c2c4f0e-1111-4a8e-9f57-0d6f6a5b1a01");
    assert_eq!(
        t.title,
        "ISIS-K plans attacks on large gatherings in Moscow"
    );
    assert_eq!(t.actor.as_deref(), Some("ISIS-K"));
    assert_eq!(t.actor_mark.classification, Classification::S);
    assert_eq!(t.credibility, Credibility::Probable);
    assert!(
        t.harms.contains(&Harm::Killing) && t.harms.contains(&Harm::ArsonBombing),
        "{:?}",
        t.harms
    );
    // The campaign's last_seen closes the window.
    assert_eq!(
        t.window.until,
        Utc.with_ymd_and_hms(2024, 4, 5, 21, 0, 0).unwrap()
    );
    // Identity → named target with the location it is located at; location → named area.
    let crocus = t
        .targets
        .iter()
        .find(|s| s.name.as_deref() == Some("Crocus City Hall"))
        .expect("named target");
    assert!(
        matches!(crocus.area, Some(Area::Circle { radius_km, .. }) if (radius_km - 0.5).abs() < 1e-9)
    );
    assert_eq!(crocus.mark.classification, Classification::S);
    assert_eq!(crocus.mark.rel_to.as_ref().map(|r| r.len()), Some(2));
    let moscow = t
        .targets
        .iter()
        .find(|s| s.label == "Moscow")
        .expect("area target");
    assert_eq!(
        moscow.area,
        Some(Area::Named {
            name: "Moscow".into()
        })
    );
    // Granular marking: the description is SECRET, the report as a whole TLP:RED.
    assert!(t
        .portions
        .iter()
        .all(|p| p.mark.classification == Classification::S && p.mark.tlp == Some(TlpLevel::Red)));
    assert_eq!(t.portions.len(), 2);
    assert_eq!(t.tlp, Some(TlpLevel::Red));
    // Indicator patterns → network indicators and a network target spec.
    let kinds: Vec<NetworkKind> = got.indicators.iter().map(|i| i.kind).collect();
    assert_eq!(kinds, vec![NetworkKind::Ipv4, NetworkKind::Domain]);
    let net = t
        .targets
        .iter()
        .find(|s| s.label == "Ticketing systems of the venue")
        .expect("network target");
    assert_eq!(net.footprint.networks.len(), 1);
    assert_eq!(net.footprint.domains.len(), 1);
    // Unknown objects are kept whole.
    let unknown: Vec<&str> = got
        .unknown_objects
        .iter()
        .filter_map(|o| o["type"].as_str())
        .collect();
    assert!(
        unknown.contains(&"x-acme-sensor-hit") && unknown.contains(&"malware"),
        "{unknown:?}"
    );
}

fn with_objects(f: impl FnOnce(&mut Vec<Value>)) -> String {
    let mut b: Value = serde_json::from_str(BUNDLE).unwrap();
    f(b["objects"].as_array_mut().unwrap());
    b.to_string()
}

#[test]
fn errors_name_the_object_and_the_field() {
    let text = with_objects(|objs| {
        for o in objs.iter_mut() {
            if o["type"] == "indicator" {
                o["pattern"] = json!("[ipv4-addr:value = '300.1.1.1']");
            }
            if o["id"] == "location--4e7d5f1e-6666-4a8e-9f57-0d6f6a5b1a06" {
                o["latitude"] = json!(95.0);
            }
            if o["type"] == "campaign" {
                o.as_object_mut().unwrap().remove("created");
            }
        }
    });
    // Lenient (the default): the three objects are skipped with their reasons, the rest is read.
    let got = parse_bundle(&text, &opts()).expect("valid objects are kept");
    let skipped: Vec<&str> = got.skipped.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(skipped.len(), 3, "{:?}", got.skipped);
    for id in [
        "indicator--6a7d5f1e-8888-4a8e-9f57-0d6f6a5b1a08",
        "location--4e7d5f1e-6666-4a8e-9f57-0d6f6a5b1a06",
        "campaign--1b7d5f1e-3333-4a8e-9f57-0d6f6a5b1a03",
    ] {
        assert!(skipped.contains(&id), "{id} not in {skipped:?}");
    }
    assert!(got.skipped.iter().any(|s| s.reason.contains("IPv4")));
    assert!(got.indicators.is_empty());
    assert!(!got.threat.targets.is_empty());

    let e = parse_bundle(&text, &strict()).unwrap_err();
    let has = |obj: &str, field: &str| e.0.iter().any(|i| i.object == obj && i.field == field);
    assert!(
        has("indicator--6a7d5f1e-8888-4a8e-9f57-0d6f6a5b1a08", "pattern"),
        "{e}"
    );
    assert!(
        has("location--4e7d5f1e-6666-4a8e-9f57-0d6f6a5b1a06", "latitude"),
        "{e}"
    );
    assert!(
        has("campaign--1b7d5f1e-3333-4a8e-9f57-0d6f6a5b1a03", "created"),
        "{e}"
    );
    assert!(e.to_string().contains("IPv4"), "{e}");
}

#[test]
fn unreadable_markings_fail_closed() {
    let text = with_objects(|objs| {
        for o in objs.iter_mut() {
            if o["type"] == "identity" {
                o["object_marking_refs"] =
                    json!(["marking-definition--00000000-0000-4000-8000-000000000001"]);
                o["granular_markings"] = json!([{ "marking_ref": "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1", "selectors": ["no_such_field"] }]);
            }
        }
    });
    let e = parse_bundle(&text, &strict()).unwrap_err();
    assert!(
        e.0.iter().any(|i| i.field == "object_marking_refs[0]"),
        "{e}"
    );
    assert!(
        e.0.iter()
            .any(|i| i.field == "granular_markings[0].selectors[0]"),
        "{e}"
    );
}

#[test]
fn unknown_markings_make_their_objects_releasable_to_nobody() {
    let text = with_objects(|objs| {
        objs.push(json!({
            "type": "marking-definition", "spec_version": "2.1",
            "id": "marking-definition--00000000-0000-4000-8000-0000000000aa",
            "created": "2024-03-01T00:00:00.000Z", "name": "ACME internal handling",
            "definition_type": "acme-handling", "definition": { "handling": "internal" }
        }));
        objs.push(json!({
            "type": "marking-definition", "spec_version": "2.1",
            "id": "marking-definition--00000000-0000-4000-8000-0000000000bb",
            "created": "2024-03-01T00:00:00.000Z", "name": "PAP:AMBER",
            "extensions": { "extension-definition--f8d78575-edfd-406e-8e84-6162a8450f5b":
                { "extension_type": "property-extension", "pap": "amber" } }
        }));
        for o in objs.iter_mut() {
            if o["type"] == "identity" {
                o["object_marking_refs"] =
                    json!(["marking-definition--00000000-0000-4000-8000-0000000000aa"]);
            }
            if o["type"] == "report" {
                o["object_marking_refs"] =
                    json!(["marking-definition--00000000-0000-4000-8000-0000000000bb"]);
            }
        }
    });
    let got = parse_bundle(&text, &opts())
        .expect("an unknown marking fails closed on release, not on intake");
    assert!(got.skipped.is_empty(), "{:?}", got.skipped);
    let t = &got.threat;
    let named = t
        .targets
        .iter()
        .find(|s| s.name.is_some())
        .expect("the identity is kept");
    assert_eq!(named.mark.tlp, Some(TlpLevel::Red));
    assert!(named.mark.noforn && named.mark.orcon);
    assert_eq!(named.mark.rel_to.as_ref().map(|r| r.len()), Some(0));
    assert!(
        got.notes.iter().any(|n| n.contains("releasable to nobody")),
        "{:?}",
        got.notes
    );
    assert!(
        got.notes.iter().any(|n| n.contains("PAP:AMBER")),
        "{:?}",
        got.notes
    );
    // PAP restricts no release: the report's portions keep their own marks.
    assert!(t.portions.iter().all(|p| !p.mark.noforn));
    assert!(parse_bundle(&text, &strict()).is_err());
}

#[test]
fn not_a_bundle_is_refused_with_a_location() {
    assert!(parse_bundle("{", &opts()).unwrap_err().0[0]
        .message
        .contains("line 1"));
    assert_eq!(
        parse_bundle("[]", &opts()).unwrap_err().0[0].field,
        "(document)"
    );
    assert_eq!(
        parse_bundle(r#"{"type":"report","objects":[]}"#, &opts())
            .unwrap_err()
            .0[0]
            .field,
        "type"
    );
}

fn sample_warning(version: u32) -> (Warning, tocsin_core::Threat, Audience) {
    let threat = parse_bundle(BUNDLE, &opts()).unwrap().threat;
    let at = Utc.with_ymd_and_hms(2024, 3, 6, 9, 5, 0).unwrap();
    let audience = Audience {
        id: "fsb-liaison".into(),
        name: "FSB liaison".into(),
        kind: AudienceKind::PartnerService,
        country: Some(CountryCode::parse("RUS").unwrap()),
        clearance: Classification::S,
        tlp_ceiling: TlpLevel::Red,
        orcon_approved: false,
        channels: vec![],
        escalation_contact: None,
        language: "en".into(),
        posture_interval_hours: Some(24),
        timezone: None,
    };
    let w = Warning {
        id: format!("{}.fsb-liaison.v{version}", threat.id)
            .as_str()
            .into(),
        threat_id: threat.id.clone(),
        audience_id: audience.id.clone(),
        audience_kind: AudienceKind::PartnerService,
        version,
        supersedes: None,
        tlp: TlpLevel::Red,
        banner: "SECRET//REL TO USA, RUS".into(),
        specificity: Specificity::NamedTarget,
        headline: "Threat warning".into(),
        text: "SECRET//REL TO USA, RUS\nTargets: Crocus City Hall\n".into(),
        measures: vec!["Screen every visitor".into()],
        valid: ThreatWindow::new(at, at + chrono::Duration::days(30)).unwrap(),
        state: WarningState::Delivered,
        created_at: at + chrono::Duration::hours(version as i64),
        language: "en".into(),
        translations: Vec::new(),
    };
    (w, threat, audience)
}

#[test]
fn export_is_deterministic_versioned_and_uses_official_tlp_ids() {
    let (w, threat, audience) = sample_warning(1);
    let resolve = |_: &str| {
        Some((
            tocsin_core::GeoPoint {
                lat: 55.7558,
                lon: 37.6173,
            },
            40.0,
        ))
    };
    let input = ExportInput {
        warning: &w,
        threat: &threat,
        audience: &audience,
        first_created: w.created_at,
        producer: "Tocsin test",
        resolve: &resolve,
    };
    let a = stix::to_bytes(&stix::warning_bundle(&input));
    let b = stix::to_bytes(&stix::warning_bundle(&input));
    assert_eq!(a, b, "a re-export must be byte-stable");
    let bundle: Value = serde_json::from_slice(&a).unwrap();
    let objs = bundle["objects"].as_array().unwrap();
    let tlp = objs
        .iter()
        .find(|o| o["name"] == "TLP:RED")
        .expect("TLP marking definition");
    assert_eq!(
        tlp["id"],
        "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1"
    );
    let report = objs.iter().find(|o| o["type"] == "report").unwrap();
    assert!(report["object_marking_refs"]
        .as_array()
        .unwrap()
        .contains(&json!(
            "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1"
        )));
    // Every object_ref resolves inside the bundle.
    for r in report["object_refs"].as_array().unwrap() {
        assert!(objs.iter().any(|o| &o["id"] == r), "dangling ref {r}");
    }
    // Version 2 of the same warning: same report id and created, later modified.
    let (w2, ..) = sample_warning(2);
    let input2 = ExportInput {
        warning: &w2,
        first_created: w.created_at,
        ..input
    };
    let bundle2 = stix::warning_bundle(&input2);
    let report2 = bundle2["objects"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["type"] == "report")
        .unwrap()
        .clone();
    assert_eq!(report2["id"], report["id"]);
    assert_eq!(report2["created"], report["created"]);
    assert_ne!(report2["modified"], report["modified"]);
    // Our own export reads back: actor and named target survive.
    let back =
        parse_bundle(std::str::from_utf8(&a).unwrap(), &opts()).expect("own export is readable");
    assert_eq!(back.threat.actor.as_deref(), Some("ISIS-K"));
    assert!(back
        .threat
        .targets
        .iter()
        .any(|t| t.name.as_deref() == Some("Crocus City Hall")));
    assert_eq!(back.threat.tlp, Some(TlpLevel::Red));
}

fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<f64>().prop_map(|f| serde_json::Number::from_f64(f)
            .map(Value::Number)
            .unwrap_or(Value::Null)),
        prop_oneof![
            Just("bundle".to_owned()),
            Just("report".to_owned()),
            Just("identity".to_owned()),
            Just("location".to_owned()),
            Just("indicator".to_owned()),
            Just("relationship".to_owned()),
            Just("targets".to_owned()),
            Just("located-at".to_owned()),
            Just("marking-definition".to_owned()),
            Just("statement".to_owned()),
            Just("2.1".to_owned()),
            Just("2024-03-06T08:00:00Z".to_owned()),
            Just("identity--3d7d5f1e-5555-4a8e-9f57-0d6f6a5b1a05".to_owned()),
            Just("location--4e7d5f1e-6666-4a8e-9f57-0d6f6a5b1a06".to_owned()),
            Just("[ipv4-addr:value = '1.2.3.4/40']".to_owned()),
            Just("[domain-name:value = '".to_owned()),
            ".{0,12}",
        ]
        .prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 64, 8, |inner| {
        let key = prop_oneof![
            Just("type"),
            Just("id"),
            Just("objects"),
            Just("created"),
            Just("modified"),
            Just("name"),
            Just("pattern"),
            Just("latitude"),
            Just("longitude"),
            Just("precision"),
            Just("source_ref"),
            Just("target_ref"),
            Just("relationship_type"),
            Just("object_marking_refs"),
            Just("granular_markings"),
            Just("selectors"),
            Just("marking_ref"),
            Just("definition"),
            Just("definition_type"),
            Just("spec_version"),
            Just("city"),
        ];
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((key, inner), 0..8).prop_map(|kv| Value::Object(
                kv.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
            )),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]
    #[test]
    fn never_panics_on_random_json(v in arb_json()) {
        let _ = parse_bundle(&v.to_string(), &opts());
        let wrapped = json!({"type": "bundle", "id": "bundle--5d0092c5-5f74-4287-9642-33f4c354e56d", "objects": [v]});
        let _ = parse_bundle(&wrapped.to_string(), &opts());
    }

    #[test]
    fn never_panics_on_random_text(s in ".{0,200}") {
        let _ = parse_bundle(&s, &opts());
    }
}
