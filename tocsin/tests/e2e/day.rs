//! A warning cell's day without traps (issue 22, "Done when"): a Paris registry and a marked
//! report, worked over the HTTP API as a duty officer would, with `serve` replaying a past morning
//! (`--clock-start`) and a separate `tocsin worker` holding the channel settings (webhook keys and
//! SMTP). Each point of the issue is asserted where it shows: the two-person determination and
//! release, delivery on the replayed clock by webhook and e-mail, acknowledgement through the
//! signed link (repeated within its grace), a posture report, a reminder and an escalation (with
//! their payload `type` and a `call_contact` task), the specificity advice and a release request,
//! the misspelt-category and unknown-operator notes, the street event without a venue, the
//! timeline and the effectiveness report.
//!
//! Time moves the way an operator would move it: `serve` is restarted with a later
//! `--clock-start`, and the worker follows the recorded clock.

use crate::common::{bin, free_port, wait, Proc, SmtpServer, TestDb};
use chrono::{DateTime, Utc};
use reqwest::blocking::Client;
use serde_json::{json, Value};
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;
use tocsin_core::tracking::DeliveryStatus;
use tocsin_core::ChannelKind;
use tocsin_deliver::receiver::Receiver;
use tocsin_deliver::WebhookSecret;

const ADMIN: &str = "tcn_test_admin_token_0123456789";
const THREAT: &str = "paris-2026-06";
const OP: &str = "op-accor-arena";
const NUMBER: &str = "+33 1 00 00 00 00";

fn at(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

/// The Paris registry: venues (one whose operator is no audience), events (one in the street,
/// with no venue), an operator with a webhook and an e-mail address, and a public audience.
fn write_registry(dir: &Path, hook: &str) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(
        dir.join("venues.csv"),
        "id,name,aliases,category,lat,lon,capacity,city,country,operator
accor-arena,Accor Arena,Bercy;Palais omnisports de Paris-Bercy,venue/sports/arena,48.8386,2.3785,20300,Paris,FRA,op-accor-arena
stade-de-france,Stade de France,,venue/sports/stadium,48.9245,2.3602,80000,Saint-Denis,FRA,op-stade-de-france
olympia,L'Olympia,,venue/entertainment/concert_hall,48.8702,2.3283,2000,Paris,FRA,
zenith-paris,Zénith Paris,,venue/entertainment/concert_hall,48.8938,2.3934,6300,Paris,FRA,
philharmonie,Philharmonie de Paris,,venue/entertainment/concert_hall,48.8918,2.3937,2400,Paris,FRA,
grande-mosquee,Grande Mosquée de Paris,,place_of_worship/mosque,48.8419,2.3551,1000,Paris,FRA,
",
    )
    .unwrap();
    std::fs::write(
        dir.join("events.csv"),
        "id,name,aliases,category,venue_id,starts,ends,expected_attendance,operator,lat,lon,city,country
accor-concert-2026-06-12,Summer arena concert,,event/concert,accor-arena,2026-06-12T20:00:00+02:00,2026-06-12T23:30:00+02:00,20000,op-accor-arena,,,,
olympia-concert-2026-06-14,Olympia concert,,event/concert,olympia,2026-06-14T20:00:00+02:00,2026-06-14T23:00:00+02:00,2000,,,,,
fete-musique-2026,Fête de la musique (place de la République),,event/festival,,2026-06-21T16:00:00+02:00,2026-06-21T23:59:00+02:00,30000,,48.8674,2.3636,Paris,FRA
",
    )
    .unwrap();
    std::fs::write(
        dir.join("audiences.toml"),
        format!(
            r#"[[audience]]
id = "op-accor-arena"
name = "Accor Arena security department"
kind = "operator"
country = "FRA"
timezone = "Europe/Paris"
clearance = "U"
tlp_ceiling = "AMBER"
channels = [{{ kind = "webhook", address = "{hook}" }}, {{ kind = "email", address = "securite@accor-arena.example" }}]
escalation_contact = "Accor Arena duty security manager, {NUMBER}"
language = "en"
posture_interval_hours = 1

[[audience]]
id = "public-paris"
name = "Paris public advisory"
kind = "public"
country = "FRA"
timezone = "Europe/Paris"
clearance = "U"
tlp_ceiling = "CLEAR"
channels = [{{ kind = "file", address = "public/paris" }}]
language = "en"
"#
        ),
    )
    .unwrap();
}

/// The marked report: the named target is releasable to France and the USA only at CONFIDENTIAL
/// (an unclassified operator may not be told it), and one category is misspelt (`venue/sport`).
const REPORT: &str = r#"+++
id = "paris-2026-06"
title = "Planned attack on a concert in Paris"
originator = "USA"
received = "2026-06-10T05:00:00+00:00"
harms = ["killing", "serious_injury"]
credibility = "probable"
window = { from = "2026-06-10T05:00:00+00:00", until = "2026-06-25T00:00:00+00:00" }
public_advice_hours = 48
measures = [
  "Screen every visitor and bag at all entrances",
  "Brief staff on evacuation routes and assembly points",
]

[[targets]]
label = "Accor Arena (arena, Paris 12e), during a concert"
mark = "(C//REL TO FRA, USA)"
name = "Accor Arena"

[[targets]]
label = "large gatherings in Paris, including concerts and street festivals"
mark = "(U)"
categories = ["venue/sport", "event/concert", "event/festival"]
min_size = 1000
area = { city = "Paris" }
+++
(C//REL TO FRA, USA) A cell plans an armed attack on the Accor Arena in Paris during a sold-out concert in June.
TEARLINE (U): Extremists plan attacks on large gatherings in Paris, including concerts and street festivals, in June.
"#;

struct Day {
    dir: tempfile::TempDir,
    db: TestDb,
    port: u16,
    http: Client,
}

impl Day {
    fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// `serve` on the replayed clock from `start`, without any channel settings: the worker
    /// delivers webhooks and e-mail, serve the file channel.
    fn serve(&self, start: &str) -> Proc {
        let log =
            std::fs::File::create(self.dir.path().join(format!("serve-{start}.log"))).unwrap();
        let p = Proc(
            bin()
                .args(["--db", self.db.arg()])
                .args(["--outbox", self.dir.path().join("outbox").to_str().unwrap()])
                .args([
                    "--policy",
                    self.dir.path().join("policy.toml").to_str().unwrap(),
                ])
                .args(["--public-url", &self.base()])
                .args(["serve", "--listen", &format!("127.0.0.1:{}", self.port)])
                .args(["--tick-secs", "1", "--clock-start", start])
                .env_remove("TOCSIN_WEBHOOK_KEYS")
                .env_remove("TOCSIN_SMTP_HOST")
                .env("TOCSIN_ADMIN_TOKEN", ADMIN)
                .stdout(Stdio::null())
                .stderr(log)
                .spawn()
                .unwrap(),
        );
        wait("serve's /health", Duration::from_secs(60), || {
            self.http
                .get(format!("{}/health", self.base()))
                .send()
                .is_ok_and(|r| r.status() == 200)
        });
        p
    }

    fn call(&self, method: &str, path: &str, token: &str, body: Option<Value>) -> (u16, Value) {
        let url = format!("{}{path}", self.base());
        let req = match method {
            "GET" => self.http.get(url),
            _ => self.http.post(url),
        }
        .bearer_auth(token);
        let req = match body {
            Some(b) => req.json(&b),
            None => req,
        };
        let r = req.send().unwrap();
        let status = r.status().as_u16();
        (status, r.json().unwrap_or(Value::Null))
    }

    fn ok(&self, method: &str, path: &str, token: &str, body: Option<Value>) -> Value {
        let (s, v) = self.call(method, path, token, body);
        assert!((200..300).contains(&s), "{method} {path}: {s} {v}");
        v
    }

    fn token(&self, label: &str, role: &str) -> String {
        let v = self.ok(
            "POST",
            "/api/v1/tokens",
            ADMIN,
            Some(json!({"label": label, "role": role})),
        );
        v["token"].as_str().unwrap().to_owned()
    }

    /// Use a recipient's signed link (an absolute URL or a `/r/…` path), as its recipient would.
    fn use_link(&self, link: &str, body: Value) -> (u16, Value) {
        let path = &link[link.find("/r/").expect("a recipient link")..];
        let r = self
            .http
            .post(format!("{}{path}", self.base()))
            .json(&body)
            .send()
            .unwrap();
        (r.status().as_u16(), r.json().unwrap_or(Value::Null))
    }
}

/// Every webhook body the receiver has kept for the operator's path, newest last (the receiver
/// keeps the last one per path, so the test samples it as it changes).
struct Bodies<'a> {
    rx: &'a Receiver,
    seen: Vec<Value>,
}

impl Bodies<'_> {
    fn poll(&mut self) {
        if let Some(b) = self.rx.received().last_body.values().next() {
            let v: Value = serde_json::from_slice(b).unwrap();
            if self.seen.last() != Some(&v) {
                self.seen.push(v);
            }
        }
    }

    fn wait_for(&mut self, kind: &str) -> Value {
        wait(
            &format!("a {kind} webhook"),
            Duration::from_secs(90),
            || {
                self.poll();
                self.seen.iter().any(|b| b["type"] == kind)
            },
        );
        self.seen
            .iter()
            .find(|b| b["type"] == kind)
            .unwrap()
            .clone()
    }
}

#[test]
fn a_warning_cells_day_in_paris_on_a_replayed_clock() {
    let dir = tempfile::tempdir().unwrap();
    let db = TestDb::new(dir.path());
    let secret = WebhookSecret::generate();
    let rx = Receiver::start(vec![secret.clone()]).unwrap();
    rx.keep_bodies(true);
    let hook = rx.url("/accor-arena");
    let smtp = SmtpServer::start(dir.path(), None);
    let registry = dir.path().join("registry");
    write_registry(&registry, &hook);
    // The shipped policy, with the public advisory held one hour after the operators' warnings.
    std::fs::write(
        dir.path().join("policy.toml"),
        std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../policy/icd191.toml"
        ))
        .unwrap()
        .replace("public_hold_hours = 24", "public_hold_hours = 1"),
    )
    .unwrap();
    let keys = dir.path().join("keys.toml");
    std::fs::write(&keys, format!("default = [\"{}\"]\n", secret.expose())).unwrap();
    let day = Day {
        port: free_port(),
        http: Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap(),
        db,
        dir,
    };
    let store = day.db.open();
    let start = at("2026-06-10T05:35:00Z");
    let serve = day.serve("2026-06-10T05:35:00Z");

    let ana = day.token("ana", "approver");
    let bob = day.token("bob", "approver");

    // The registry, imported over the API: each import answers 202 with the job's Location, and
    // the venue whose operator is no audience is a note, not silence.
    for kind in ["audiences", "venues", "events"] {
        let file = match kind {
            "audiences" => "audiences.toml",
            "venues" => "venues.csv",
            _ => "events.csv",
        };
        let r = day
            .http
            .post(format!("{}/api/v1/entities/import?kind={kind}", day.base()))
            .bearer_auth(&ana)
            .header(
                "Content-Type",
                if kind == "audiences" {
                    "application/toml"
                } else {
                    "text/csv"
                },
            )
            .body(std::fs::read(registry.join(file)).unwrap())
            .send()
            .unwrap();
        assert_eq!(r.status().as_u16(), 202, "{kind}");
        let location = r.headers()["location"].to_str().unwrap().to_owned();
        let job: Value = r.json().unwrap();
        assert_eq!(
            location,
            format!("/api/v1/jobs/{}", job["id"].as_str().unwrap())
        );
        let notes = job["notes"].to_string();
        if kind == "venues" {
            assert!(
                notes.contains("venues.csv: 1 row(s) name an operator that is no audience")
                    && notes.contains("stade-de-france (op-stade-de-france)"),
                "{notes}"
            );
        } else {
            assert_eq!(job["notes"], json!([]), "{kind}");
        }
        wait(
            &format!("the {kind} import"),
            Duration::from_secs(30),
            || day.ok("GET", &location, &ana, None)["state"] == "succeeded",
        );
    }

    // The worker holds the channel settings serve lacks (one delivery model).
    let _worker = Proc(
        bin()
            .args(["--db", day.db.arg()])
            .args(["--outbox", day.dir.path().join("outbox").to_str().unwrap()])
            .args(["worker", "--webhook-keys", keys.to_str().unwrap()])
            .args(["--smtp-host", "127.0.0.1", "--smtp-port", &smtp.port])
            .args([
                "--smtp-tls",
                "none",
                "--smtp-from",
                "CERT <cert@cert.example>",
            ])
            // The receiver listens on 127.0.0.1 (docs/delivery.md, "Webhook destinations").
            .arg("--allow-private-webhooks")
            .env_remove("TOCSIN_WEBHOOK_KEYS")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );

    // The marked report: matches (the street event too) and the misspelt category's note.
    let r = day
        .http
        .post(format!("{}/api/v1/threats", day.base()))
        .bearer_auth(&ana)
        .header("Content-Type", "text/plain")
        .body(REPORT)
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 201);
    let created: Value = r.json().unwrap();
    let notes = created["notes"].to_string();
    assert!(
        notes.contains(r#"category \"venue/sport\" is not in the taxonomy"#),
        "{notes}"
    );
    assert!(created["matches"].as_u64() >= Some(3), "{created}");
    let matched = day
        .ok(
            "GET",
            &format!("/api/v1/threats/{THREAT}/matches"),
            &ana,
            None,
        )
        .to_string();
    // The street event without a venue matches by its own location.
    for id in [
        "accor-arena",
        "fete-musique-2026",
        "olympia-concert-2026-06-14",
    ] {
        assert!(
            matched.contains(&format!("\"{id}\"")),
            "{id} not in {matched}"
        );
    }

    // The determination needs two people.
    let t = format!("/api/v1/threats/{THREAT}");
    day.ok("POST", &format!("{t}/determinations"), &ana, None);
    let (s, refused) = day.call("POST", &format!("{t}/determinations/approve"), &ana, None);
    assert_eq!(s, 409, "{refused}");
    day.ok("POST", &format!("{t}/determinations/approve"), &bob, None);

    // Drafts: the operator's is vague, and says why.
    let drafts = day.ok("POST", &format!("{t}/warnings"), &ana, None);
    let id_of = |aud: &str| {
        drafts["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|w| w["audience_id"] == aud)
            .unwrap_or_else(|| panic!("no draft for {aud}: {drafts}"))["id"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let (op, public) = (id_of(OP), id_of("public-paris"));
    let advice = day.ok(
        "GET",
        &format!("/api/v1/warnings/{op}/specificity"),
        &ana,
        None,
    );
    assert_eq!(advice["specificity"], "category_and_area", "{advice}");
    assert_eq!(advice["withheld_targets"][0]["name"], "Accor Arena");
    assert_eq!(
        advice["withheld_targets"][0]["marking"],
        "(C//REL TO USA, FRA)"
    );
    let req = day.ok(
        "POST",
        &format!("/api/v1/warnings/{op}/release-request"),
        &ana,
        None,
    );
    assert_eq!(req["task"]["kind"], "release_request");
    assert!(req["task"]["detail"]
        .as_str()
        .unwrap()
        .contains("Ask USA for a tearline or a REL TO for audience op-accor-arena"));

    // Release: the public advisory needs a second person; approving answers the warning.
    let (s, refused) = day.call(
        "POST",
        &format!("/api/v1/warnings/{public}/approve"),
        &ana,
        None,
    );
    assert_eq!(
        s, 409,
        "the composer may not release the public advisory: {refused}"
    );
    for w in [&op, &public] {
        let approved = day.ok("POST", &format!("/api/v1/warnings/{w}/approve"), &bob, None);
        assert_eq!(approved["id"], w.as_str());
        assert_eq!(approved["state"], "approved");
    }

    // Delivery by the worker, webhook and e-mail, on the replayed clock.
    let mut bodies = Bodies {
        rx: &rx,
        seen: Vec::new(),
    };
    let issued = bodies.wait_for("warning.issued");
    assert_eq!(issued["data"]["reference"], op.as_str());
    assert_eq!(issued["data"]["kind"], "warning");
    wait("the e-mail", Duration::from_secs(60), || smtp.count() >= 1);
    let opw = tocsin_core::WarningId::new(op.clone());
    let delivered = |kind: ChannelKind| {
        store
            .deliveries(Some(&opw))
            .unwrap()
            .into_iter()
            .find(|d| d.channel.kind == kind && d.notice.is_none())
            .filter(|d| d.status == DeliveryStatus::Delivered)
    };
    wait("both deliveries recorded", Duration::from_secs(30), || {
        delivered(ChannelKind::Webhook).is_some() && delivered(ChannelKind::Email).is_some()
    });
    for kind in [ChannelKind::Webhook, ChannelKind::Email] {
        let d = delivered(kind).unwrap();
        let when = d.delivered_at.unwrap();
        assert!(
            when >= start && when < start + chrono::Duration::minutes(30),
            "{kind:?} delivered_at {when} is on the replayed clock"
        );
        assert_eq!(d.attempts, 1, "{d:?}");
    }

    // Acknowledged through the signed link; the same request again within the grace gets the
    // same answer and the same next link.
    // serve's scheduler marks the warning delivered once a delivery is (the worker only sends).
    wait("the warning delivered", Duration::from_secs(30), || {
        day.ok("GET", &format!("/api/v1/warnings/{op}"), &ana, None)["state"] == "delivered"
    });
    let ack = issued["data"]["ack_url"]
        .as_str()
        .expect("ack_url")
        .to_owned();
    let (s, first) = day.use_link(&ack, json!({}));
    assert_eq!(s, 200, "{first}");
    assert_eq!(first["recorded"], "acknowledgement");
    let (s, again) = day.use_link(&ack, json!({}));
    assert_eq!(s, 200, "{again}");
    assert_eq!(
        again, first,
        "a repeat within the grace is answered the same"
    );
    let next = first["next_posture_link"]
        .as_str()
        .expect("the next posture link")
        .to_owned();
    let (s, posture) = day.use_link(
        &next,
        json!({"measures": ["extra_screening", "staff_briefed"], "note": "bag checks at every gate"}),
    );
    assert_eq!(s, 200, "{posture}");
    assert_eq!(posture["recorded"], "posture_report");

    // Two missed check-ins later: a reminder, then an escalation that says what was done and
    // leaves the phone call to a person (a call_contact task with the number).
    drop(serve);
    let serve = day.serve("2026-06-10T06:50:00Z");
    let reminder = bodies.wait_for("posture.reminder");
    assert_eq!(reminder["data"]["kind"], "reminder");
    assert!(reminder["data"]["posture_url"].is_string(), "{reminder}");
    assert!(reminder["data"]["ack_url"].is_null(), "{reminder}");
    drop(serve);
    let _serve = day.serve("2026-06-10T07:50:00Z");
    let escalation = bodies.wait_for("posture.escalation");
    assert_eq!(escalation["data"]["kind"], "escalation");
    let tasks = day.ok("GET", "/api/v1/tasks", &ana, None);
    let call = tasks["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["kind"] == "call_contact")
        .unwrap_or_else(|| panic!("no call_contact task: {tasks}"));
    assert!(call["detail"].as_str().unwrap().contains(NUMBER), "{call}");
    let said = escalation["data"]["text"].as_str().unwrap();
    assert!(
        said.contains("an analyst has been asked to telephone")
            && !said.contains("have been alerted"),
        "the notice says what was done, and no call that was not made: {said}"
    );

    // The public advisory went out after its hold, with an absolute end.
    let pw = tocsin_core::WarningId::new(public.clone());
    wait("the public advisory", Duration::from_secs(60), || {
        store
            .deliveries(Some(&pw))
            .unwrap()
            .iter()
            .any(|d| d.status == DeliveryStatus::Delivered)
    });
    let folder = day.dir.path().join("outbox/public/paris");
    let file = std::fs::read_dir(&folder)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|x| x == "json"))
        .unwrap_or_else(|| panic!("no advisory file in {}", folder.display()));
    let advisory: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    let (from, until) = (
        at(advisory["valid_from"].as_str().unwrap()),
        at(advisory["valid_until"]
            .as_str()
            .expect("an absolute end time")),
    );
    assert_eq!(
        until - from,
        chrono::Duration::hours(48),
        "the advisory holds for public_advice_hours from its release: {advisory}"
    );

    // The timeline tells the day, and the June report counts the operator's warning.
    let timeline = day
        .ok(
            "GET",
            &format!("/api/v1/timeline?threat={THREAT}"),
            &ana,
            None,
        )
        .to_string();
    for event in [
        "specificity_advice",
        "release_requested",
        "warning_approved",
        "posture_reminder",
        "posture_escalated",
    ] {
        assert!(timeline.contains(event), "{event} missing: {timeline}");
    }
    let report = day.ok(
        "GET",
        "/api/v1/reports/effectiveness?from=2026-06-01&to=2026-06-30",
        &ana,
        None,
    );
    assert!(
        report["warnings_sent_by_kind"]["operator"].as_u64() >= Some(1),
        "{report}"
    );
    assert!(report["acknowledged"].as_u64() >= Some(1), "{report}");
    let max = report["intake_to_delivery_minutes"]["max"].as_f64();
    assert!(
        max.is_some_and(|m| m < 24.0 * 60.0),
        "intake to delivery within the replayed day: {report}"
    );
}
