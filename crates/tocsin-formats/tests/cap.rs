//! CAP 1.2: schema-order output with +00:00 times, Update references, tolerant intake.

use chrono::{TimeZone, Utc};
use proptest::prelude::*;
use tocsin_core::lifecycle::WarningState;
use tocsin_core::threat::Area;
use tocsin_core::tracking::{Specificity, Warning};
use tocsin_core::{
    Audience, AudienceKind, Classification, CountryCode, GeoPoint, ThreatWindow, TlpLevel,
};
use tocsin_formats::cap::{
    self, alert_for_warning, parse_alert, threat_from_alert, write_alert, CapArea, CapInput,
    CapIntakeOptions, MsgType, Scope,
};

const ALERT: &str = include_str!("data/public-alert.cap.xml");

fn intake_opts() -> CapIntakeOptions {
    CapIntakeOptions {
        originator: CountryCode::parse("USA").unwrap(),
        default_window_hours: 48,
    }
}

#[test]
fn real_world_alert_opens_a_threat() {
    let a = parse_alert(ALERT).expect("prefixed namespace and Z times are accepted");
    assert_eq!(a.sent, Utc.with_ymd_and_hms(2024, 3, 7, 19, 0, 0).unwrap());
    let t = threat_from_alert(&a, &intake_opts()).unwrap();
    assert_eq!(t.id.as_str(), "cap-embassy-moscow-2024-03-07-01");
    assert_eq!(
        t.window.until,
        Utc.with_ymd_and_hms(2024, 3, 9, 19, 0, 0).unwrap()
    );
    assert_eq!(t.targets.len(), 1);
    assert!(matches!(t.targets[0].area, Some(Area::Circle { radius_km, .. }) if radius_km == 40.0));
    assert_eq!(t.measures.len(), 2);
    assert_eq!(t.tlp, Some(TlpLevel::Clear));
}

#[test]
fn cancels_exercises_and_broken_alerts_are_refused_with_the_path() {
    let cancel = ALERT.replace(
        "<cap:msgType>Alert</cap:msgType>",
        "<cap:msgType>Cancel</cap:msgType>",
    );
    assert_eq!(
        threat_from_alert(&parse_alert(&cancel).unwrap(), &intake_opts())
            .unwrap_err()
            .path,
        "alert/msgType"
    );
    let exercise = ALERT.replace(
        "<cap:status>Actual</cap:status>",
        "<cap:status>Exercise</cap:status>",
    );
    assert_eq!(
        threat_from_alert(&parse_alert(&exercise).unwrap(), &intake_opts())
            .unwrap_err()
            .path,
        "alert/status"
    );
    let bad_circle = ALERT.replace("55.7558,37.6173 40", "55.7558;37.6173 40");
    assert_eq!(
        parse_alert(&bad_circle).unwrap_err().path,
        "alert/info[0]/area[0]/circle[0]"
    );
    let no_sender = ALERT.replace("<cap:sender>acs@embassy.example</cap:sender>", "");
    assert_eq!(parse_alert(&no_sender).unwrap_err().path, "alert/sender");
    assert_eq!(
        parse_alert("<alert><identifier>").unwrap_err().path,
        "(document)"
    );
}

fn warning(version: u32, kind: AudienceKind) -> Warning {
    let at = Utc.with_ymd_and_hms(2024, 3, 7, 9, 0, 0).unwrap()
        + chrono::Duration::hours(version as i64);
    Warning {
        id: format!("moscow-2024-03.public.v{version}").as_str().into(),
        threat_id: "moscow-2024-03".into(),
        audience_id: "public".into(),
        audience_kind: kind,
        version,
        supersedes: (version > 1).then(|| {
            format!("moscow-2024-03.public.v{}", version - 1)
                .as_str()
                .into()
        }),
        tlp: TlpLevel::Clear,
        banner: "UNCLASSIFIED".into(),
        specificity: Specificity::CategoryAndArea,
        headline: "Security alert: avoid large gatherings & concerts <Moscow>".into(),
        text: "TLP:CLEAR\nAvoid large gatherings in Moscow over the next 48 hours.\n".into(),
        measures: vec![],
        valid: ThreatWindow::new(at, at + chrono::Duration::hours(48)).unwrap(),
        state: WarningState::Delivered,
        created_at: at,
        language: "en".into(),
        translations: Vec::new(),
    }
}

fn threat() -> tocsin_core::Threat {
    threat_from_alert(&parse_alert(ALERT).unwrap(), &intake_opts()).unwrap()
}

#[test]
fn alerts_are_in_schema_order_with_offsets_and_update_references() {
    let aud = Audience {
        id: "public".into(),
        name: "Public".into(),
        kind: AudienceKind::Public,
        country: None,
        clearance: Classification::U,
        tlp_ceiling: TlpLevel::Clear,
        orcon_approved: false,
        channels: vec![],
        escalation_contact: None,
        language: "en".into(),
        posture_interval_hours: None,
        timezone: None,
    };
    let t = threat();
    let v1 = warning(1, AudienceKind::Public);
    let v2 = warning(2, AudienceKind::Public);
    let area = CapArea {
        desc: "Moscow".into(),
        circles: vec![(
            GeoPoint {
                lat: 55.7558,
                lon: 37.6173,
            },
            40.0,
        )],
        ..Default::default()
    };
    let earlier = [v1.clone()];
    let input = CapInput {
        warning: &v2,
        threat: &t,
        audience: &aud,
        sender: "tocsin@test",
        sender_name: "Test",
        earlier: &earlier,
        areas: vec![area],
        cancel: false,
        web: None,
    };
    let a = alert_for_warning(&input);
    assert_eq!(a.msg_type, MsgType::Update);
    assert_eq!(a.scope, Scope::Public);
    let xml = write_alert(&a);
    assert!(xml.contains("<references>tocsin@test,moscow-2024-03.public.v1,2024-03-07T10:00:00+00:00</references>"), "{xml}");
    assert!(!xml.contains("Z<"), "CAP times never use Z: {xml}");
    assert!(xml.contains("&amp; concerts &lt;Moscow&gt;"));
    // Schema order of alert children and of info children.
    let pos = |s: &str| {
        xml.find(s)
            .unwrap_or_else(|| panic!("{s} missing in {xml}"))
    };
    let order = [
        "<identifier>",
        "<sender>",
        "<sent>",
        "<status>",
        "<msgType>",
        "<scope>",
        "<note>",
        "<references>",
        "<info>",
    ];
    assert!(order.windows(2).all(|w| pos(w[0]) < pos(w[1])), "{xml}");
    let order = [
        "<language>",
        "<category>",
        "<event>",
        "<responseType>",
        "<urgency>",
        "<severity>",
        "<certainty>",
        "<audience>",
        "<effective>",
        "<onset>",
        "<expires>",
        "<senderName>",
        "<headline>",
        "<description>",
        "<instruction>",
        "<parameter>",
        "<area>",
    ];
    assert!(order.windows(2).all(|w| pos(w[0]) < pos(w[1])), "{xml}");
    // What we write, we read back.
    let back = parse_alert(&xml).unwrap();
    assert_eq!(back.references.len(), 1);
    assert_eq!(back.infos[0].areas[0].circles.len(), 1);
    let cancel = alert_for_warning(&CapInput {
        cancel: true,
        earlier: &earlier,
        ..input
    });
    assert_eq!(cancel.msg_type, MsgType::Cancel);
    assert_eq!(cancel.references.len(), 2);
    assert_eq!(cap::cap_time(&a.sent), "2024-03-07T11:00:00+00:00");
}

proptest! {
    #[test]
    fn cap_reader_never_panics(s in "(<[a-z:]{0,8}>|</[a-z:]{0,8}>|alert|info|area|circle|[0-9,. ]{0,10}|.){0,40}") {
        if let Ok(a) = parse_alert(&s) {
            let _ = threat_from_alert(&a, &intake_opts());
        }
    }
}

#[test]
fn the_info_is_in_the_audience_language() {
    let aud = Audience {
        id: "public-ru".into(),
        name: "Население".into(),
        kind: AudienceKind::Public,
        country: None,
        clearance: Classification::U,
        tlp_ceiling: TlpLevel::Clear,
        orcon_approved: false,
        channels: vec![],
        escalation_contact: None,
        language: "ru".into(),
        posture_interval_hours: None,
        timezone: None,
    };
    let t = threat();
    let mut w = warning(1, AudienceKind::Public);
    w.headline = "Предупреждение о безопасности: избегайте мест (концерты) в ближайшие 48 ч".into();
    w.text = "TLP:CLEAR\nИзбегайте мест (концерты) в ближайшие 48 ч. Будьте внимательны.\nAvoid this English line\n".into();
    w.language = "ru".into();
    w.translations = vec![tocsin_core::tracking::Translation {
        language: "en".into(),
        headline: "Security warning: avoid concerts for the next 48 hours".into(),
        text: "TLP:CLEAR\nAvoid concerts for the next 48 hours. Stay alert.\nИзбегайте this line\n"
            .into(),
    }];
    let a = alert_for_warning(&CapInput {
        warning: &w,
        threat: &t,
        audience: &aud,
        sender: "tocsin@test",
        sender_name: "Test",
        earlier: &[],
        areas: vec![],
        cancel: false,
        web: None,
    });
    // One <info> per language: the audience's own first, then English.
    assert_eq!(a.infos.len(), 2);
    assert_eq!(a.infos[0].language, "ru");
    assert_eq!(a.infos[1].language, "en");
    assert_eq!(
        a.infos[0].instruction.as_deref(),
        Some("Избегайте мест (концерты) в ближайшие 48 ч. Будьте внимательны.")
    );
    assert_eq!(
        a.infos[1].instruction.as_deref(),
        Some("Avoid concerts for the next 48 hours. Stay alert.")
    );
    assert_eq!(a.infos[0].event, "Угроза атаки на сети или службы");
    assert_eq!(a.infos[1].event, "Threat of attack on networks or services");
    assert_eq!(
        a.infos[1].headline.as_deref(),
        Some("Security warning: avoid concerts for the next 48 hours")
    );
    // Everything but the words is the same in both.
    assert_eq!(a.infos[0].expires, a.infos[1].expires);
    assert_eq!(a.infos[0].parameters, a.infos[1].parameters);
    let xml = write_alert(&a);
    assert!(xml.contains("<language>ru</language>"), "{xml}");
    let back = parse_alert(&xml).unwrap();
    assert_eq!(back.infos.len(), 2);
    assert_eq!(back.infos[1].language, "en");
    assert_eq!(parse_alert(&xml).unwrap().infos[0].language, "ru");
}
