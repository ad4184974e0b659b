//! Feeds end to end, as a CERT runs them: `tocsin feed import-constituency`, then two
//! consecutive days of two Shadowserver reports each (`scan_rdp`, `event4_sinkhole`) through
//! `tocsin feed ingest`, then `tocsin worker` sends every notification to a real SMTP server
//! (aiosmtpd), whose messages Python's standard `email` parser reads. Every report reaches its
//! owner on both days (an ASN-only organisation too), the same file is refused, run ids never
//! clash, the subject, Message-ID and CSV attachment are right, and the scheduler opens no
//! posture task for any of it.

use crate::common::{bin, run_ok, SmtpServer, TestDb};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const CONSTITUENCY: &str = "org_id,name,prefixes,asns,domains,emails,webhooks,interval,tlp,inhibit,timezone
stadtwerke,Stadtwerke Beispiel,192.0.2.0/24;2001:db8:1::/48,,stadtwerke.example,cert@stadtwerke.example,,daily,AMBER,type:cve-2019-0708,
klinik,Klinikum Beispiel,198.51.100.0/24,,,it-security@klinik.example;noc@klinik.example,,daily,RED,,
isp,Beispiel ISP,192.0.0.0/16,,,abuse@isp.example,,daily;event4_sinkhole=-1,GREEN,,
asnonly,Nur-ASN GmbH,,AS64510,,soc@nur-asn.example,,,AMBER,,
stumm,Stumm AG,203.0.113.0/24,,,,,,AMBER,,
*,,,,,,,daily,,asn:64511,Europe/Berlin
";

const RDP_HEADER: &str = "\"timestamp\",\"ip\",\"protocol\",\"port\",\"hostname\",\"tag\",\"asn\",\"geo\",\"region\",\"city\",\"sector\",\"rdp_protocol\"";

/// A day's `scan_rdp` report: 11 rows (one malformed, two matching nobody, one inhibited).
fn scan_rdp(day: &str) -> String {
    let rows = [
        r#""{d} 00:01:02","192.0.2.10","tcp","3389","","rdp","64500","DE","HESSEN","KASSEL ""NORD""","Energy","RDP""#,
        r#""{d} 00:01:03","192.0.2.11","tcp","3389","","rdp;cve-2019-0708","64500","DE","HESSEN","KASSEL","Energy","RDP""#,
        r#""{d} 00:02:00","198.51.100.7","tcp","3389","","rdp","64501","DE","HESSEN","KASSEL","Health","CredSSP""#,
        r#""{d} 00:02:01","198.51.100.8","tcp","3389","","rdp","64501","DE","HESSEN","KASSEL","Health","RDP""#,
        r#""{d} 00:03:00","192.0.77.1","tcp","3389","","rdp","64502","DE","","","","RDP""#,
        r#""{d} 00:04:00","100.64.0.1","tcp","3389","","rdp","64510","DE","BAYERN","MÜNCHEN","Retail","RDP""#,
        r#""{d} 00:04:01","100.64.0.2","tcp","3389","","rdp","AS64510","DE","BAYERN","MÜNCHEN","Retail","RDP""#,
        r#""{d} 00:05:00","203.0.113.5","tcp","3389","","rdp","64503","DE","","","","RDP""#,
        r#""{d} 00:06:00","100.99.0.1","tcp","3389","","rdp","64599","FR","","","","RDP""#,
        r#""{d} 00:06:01","100.99.0.2","tcp","3389","","rdp","64511","FR","","","","RDP""#,
        r#""{d} 00:07:00","not-an-ip","tcp","3389","","rdp","64599","FR","","","","RDP""#,
    ];
    let mut s = format!("{RDP_HEADER}\n");
    for r in rows {
        s.push_str(&r.replace("{d}", day));
        s.push('\n');
    }
    s
}

/// A day's `event4_sinkhole` report: 4 rows (the ISP never hears about sinkhole events).
fn sinkhole(day: &str) -> String {
    let mut s = String::from("\"timestamp\",\"protocol\",\"src_ip\",\"src_port\",\"src_asn\",\"src_geo\",\"src_hostname\",\"infection\",\"family\",\"dst_ip\",\"dst_port\",\"dst_asn\"\n");
    for r in [
        r#""{d} 01:00:00","tcp","198.51.100.20","49152","64501","DE","","andromeda","andromeda","192.0.2.200","80","64999""#,
        r#""{d} 01:00:01","tcp","100.64.0.9","49153","64510","DE","","avalanche-andromeda","andromeda","192.0.2.200","80","64999""#,
        r#""{d} 01:00:02","tcp","192.0.2.50","49154","64500","DE","","necurs","necurs","192.0.2.201","443","64999""#,
        r#""{d} 01:00:03","tcp","192.0.66.1","49155","64502","DE","","necurs","necurs","192.0.2.201","443","64999""#,
    ] {
        s.push_str(&r.replace("{d}", day));
        s.push('\n');
    }
    s
}

fn ingest(dbs: &str, file: &Path, at: &str, extra: &[&str]) -> serde_json::Value {
    let out = run_ok(
        bin()
            .args([
                "--db",
                dbs,
                "feed",
                "ingest",
                "--mapping",
                "shadowserver",
                "--json",
                "--at",
                at,
            ])
            .args(extra)
            .arg(file),
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn two_days_of_two_reports_reach_every_owner_by_email_and_ask_for_no_posture() {
    let dir = tempfile::tempdir().unwrap();
    let db = TestDb::new(dir.path());
    let dbs = db.arg();
    let p = |name: &str| dir.path().join(name);
    std::fs::write(p("constituency.csv"), CONSTITUENCY).unwrap();
    let out = run_ok(
        bin()
            .args(["--db", dbs, "feed", "import-constituency"])
            .arg(p("constituency.csv")),
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("warning:") && stderr.contains("\"stumm\" has no contact"),
        "{stderr}"
    );

    // A misspelt column is refused, naming it; the stored constituency stays.
    std::fs::write(p("bad.csv"), "org_id,email\nx,a@x.example\n").unwrap();
    let bad = bin()
        .args(["--db", dbs, "feed", "import-constituency"])
        .arg(p("bad.csv"))
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("unknown column \"email\""),
        "{}",
        String::from_utf8_lossy(&bad.stderr)
    );

    // Two consecutive days in Berlin, both in the past (deliveries are due at the run's time):
    // day 1 at 01:30, day 2 at 01:00 — 23.5 hours later, so a rolling 24 h would still hold
    // day 2 back; `daily` is the calendar day.
    let tz = tocsin_feed::constituency::parse_timezone(Some("Europe/Berlin")).unwrap();
    let d2 = (chrono::Utc::now() - chrono::Duration::hours(2))
        .with_timezone(&tz)
        .date_naive();
    let d1 = d2.pred_opt().unwrap();
    let local = |d: chrono::NaiveDate, h: u32, m: u32, s: u32| {
        d.and_hms_opt(h, m, s)
            .unwrap()
            .and_local_timezone(tz)
            .single()
            .unwrap()
            .with_timezone(&chrono::Utc)
    };
    let text_time =
        |t: chrono::DateTime<chrono::Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let (day1, day2) = (d1.to_string(), d2.to_string());
    let days = [
        (
            day1.as_str(),
            text_time(local(d1, 1, 30, 0)),
            text_time(local(d1, 1, 30, 5)),
        ),
        (
            day2.as_str(),
            text_time(local(d2, 1, 0, 0)),
            text_time(local(d2, 1, 0, 5)),
        ),
    ];
    let mut runs: BTreeMap<(String, String), String> = BTreeMap::new();
    for (day, at_rdp, at_sink) in &days {
        let (day, at_rdp, at_sink) = (*day, at_rdp.as_str(), at_sink.as_str());
        let rdp = p(&format!("{day}-scan_rdp-de-geo.csv"));
        let sink = p(&format!("{day}-event4_sinkhole-de-geo.csv"));
        std::fs::write(&rdp, scan_rdp(day)).unwrap();
        std::fs::write(&sink, sinkhole(day)).unwrap();
        let (unmatched, inhibited) = (
            p(&format!("{day}-unmatched.csv")),
            p(&format!("{day}-inhibited.csv")),
        );
        let r = ingest(
            dbs,
            &rdp,
            at_rdp,
            &[
                "--unmatched",
                unmatched.to_str().unwrap(),
                "--inhibited",
                inhibited.to_str().unwrap(),
            ],
        );
        assert_eq!(r["report_type"], "scan_rdp", "{r}");
        let counts = [
            "events",
            "matched",
            "matched_by_prefix",
            "matched_by_asn",
            "unmatched",
            "malformed",
            "inhibited",
            "not_due",
            "never",
            "no_contact",
            "notifications",
            "deliveries",
        ]
        .map(|k| r[k].as_u64().unwrap());
        assert_eq!(
            counts,
            [11, 8, 6, 2, 2, 1, 1, 0, 0, 1, 4, 5],
            "{day} scan_rdp: {r}"
        );
        assert_eq!(
            r["malformed_examples"][0]["reason"], "bad IP address \"not-an-ip\"",
            "{r}"
        );
        let orgs: BTreeMap<&str, &serde_json::Value> = r["organisations"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| (o["org_id"].as_str().unwrap(), o))
            .collect();
        assert_eq!(orgs["stumm"]["status"], "no_contact");
        assert_eq!(orgs["stadtwerke"]["inhibited_by"]["type:cve-2019-0708"], 1);
        let un = std::fs::read_to_string(&unmatched).unwrap();
        assert_eq!(un.lines().count(), 3, "header and two rows: {un}");
        assert!(un.starts_with(
            "timestamp,ip,protocol,port,hostname,tag,asn,geo,region,city,sector,rdp_protocol\n"
        ));
        let inh = std::fs::read_to_string(&inhibited).unwrap();
        assert!(
            inh.lines()
                .nth(1)
                .unwrap()
                .ends_with(",stadtwerke,type:cve-2019-0708"),
            "{inh}"
        );
        runs.insert(
            (day.into(), "scan_rdp".into()),
            r["run_id"].as_str().unwrap().into(),
        );

        let r = ingest(dbs, &sink, at_sink, &[]);
        let counts = [
            "events",
            "matched",
            "matched_by_asn",
            "never",
            "not_due",
            "notifications",
            "deliveries",
        ]
        .map(|k| r[k].as_u64().unwrap());
        assert_eq!(
            counts,
            [4, 4, 1, 1, 0, 3, 4],
            "{day}: the second report of the day goes out too: {r}"
        );
        runs.insert(
            (day.into(), "event4_sinkhole".into()),
            r["run_id"].as_str().unwrap().into(),
        );

        // The same file again: recognised and refused, nothing queued.
        let again = bin()
            .args([
                "--db",
                dbs,
                "feed",
                "ingest",
                "--mapping",
                "shadowserver",
                "--at",
                at_sink,
            ])
            .arg(&rdp)
            .output()
            .unwrap();
        assert!(!again.status.success());
        let e = String::from_utf8_lossy(&again.stderr);
        assert!(
            e.contains("was already ingested as run")
                && e.contains(&runs[&(day.into(), "scan_rdp".into())]),
            "{e}"
        );
    }
    let ids: BTreeSet<&String> = runs.values().collect();
    assert_eq!(ids.len(), 4, "four runs, four ids: {runs:?}");

    let smtp = SmtpServer::start(dir.path(), None);
    let (port, inbox) = (smtp.port.clone(), smtp.inbox.clone());
    let mut worker = bin()
        .args([
            "--db",
            dbs,
            "worker",
            "--smtp-host",
            "127.0.0.1",
            "--smtp-port",
            &port,
            "--smtp-tls",
            "none",
            "--smtp-from",
            "CERT <cert@cert.example>",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let want = 18;
    let start = Instant::now();
    while smtp.count() < want {
        if let Ok(Some(status)) = worker.try_wait() {
            panic!("worker exited early: {status}");
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "timed out waiting for {want} e-mails, got {}",
            smtp.count()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // The worker records each delivery just after the server accepted it.
    let store = db.open();
    while store
        .deliveries(None)
        .unwrap()
        .iter()
        .any(|d| d.status != tocsin_core::tracking::DeliveryStatus::Delivered)
    {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "deliveries not all recorded"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = Command::new("kill")
        .args(["-TERM", &worker.id().to_string()])
        .status();
    let _ = worker.wait();
    drop(smtp);

    // (recipient, day, report type) → (subject, text, attachment)
    let mut got: BTreeMap<(String, String, String), (String, String, String)> = BTreeMap::new();
    for e in std::fs::read_dir(&inbox).unwrap() {
        let m: serde_json::Value =
            serde_json::from_slice(&std::fs::read(e.unwrap().path()).unwrap()).unwrap();
        assert_eq!(m["defects"], serde_json::json!([]), "{m}");
        assert_eq!(
            m["header_defects"],
            serde_json::json!({}),
            "the standard parser finds every header well-formed: {m}"
        );
        let mid = m["headers"]["message-id"].as_str().unwrap();
        assert_eq!(mid.matches('@').count(), 1, "{mid}");
        assert_eq!(m["content_type"], "multipart/mixed", "{m}");
        let subject = m["subject"].as_str().unwrap().to_owned();
        assert!(!subject.contains("TLP:TLP:"), "{subject}");
        let parts = m["parts"].as_array().unwrap();
        let text = parts.iter().find(|p| p["type"] == "text/plain").unwrap()["text"]
            .as_str()
            .unwrap()
            .to_owned();
        assert!(!text.contains("UNCLASSIFIED"), "{text}");
        assert!(
            !text.contains("BEGIN ATTACHMENT"),
            "the CSV is not inline: {text}"
        );
        let csv: Vec<&serde_json::Value> =
            parts.iter().filter(|p| p["type"] == "text/csv").collect();
        assert_eq!(csv.len(), 1, "one CSV attachment: {m}");
        assert_eq!(csv[0]["disposition"], "attachment");
        let file = csv[0]["filename"].as_str().unwrap();
        let (day, report) = (&file[..10], file[11..].strip_suffix(".csv").unwrap());
        assert!(
            text.contains(&format!("the attached file {file}")),
            "{text}"
        );
        let rcpt = m["rcpt_tos"][0].as_str().unwrap().to_owned();
        let att = csv[0]["text"].as_str().unwrap().replace("\r\n", "\n");
        let prev = got.insert(
            (rcpt.clone(), day.to_owned(), report.to_owned()),
            (subject, text, att),
        );
        assert!(
            prev.is_none(),
            "one message per recipient and report: {rcpt} {file}"
        );
    }
    let mut want_keys = BTreeSet::new();
    for day in [&day1, &day2] {
        for rcpt in [
            "cert@stadtwerke.example",
            "it-security@klinik.example",
            "noc@klinik.example",
            "abuse@isp.example",
            "soc@nur-asn.example",
        ] {
            want_keys.insert((rcpt.to_owned(), day.to_owned(), "scan_rdp".to_owned()));
            if rcpt != "abuse@isp.example" {
                want_keys.insert((
                    rcpt.to_owned(),
                    day.to_owned(),
                    "event4_sinkhole".to_owned(),
                ));
            }
        }
    }
    assert_eq!(
        got.keys().cloned().collect::<BTreeSet<_>>(),
        want_keys,
        "every report reaches its owner on both days"
    );

    let first =
        |rcpt: &str, report: &str| &got[&(rcpt.to_owned(), day1.clone(), report.to_owned())];
    let rdp1 = &runs[&(day1.clone(), "scan_rdp".to_owned())];
    let (subject, text, att) = first("it-security@klinik.example", "scan_rdp");
    assert_eq!(
        subject,
        &format!(
            "[TLP:RED] 2 security events in your networks (scan_rdp) (ref W-FEED-{rdp1}-klinik)"
        )
    );
    let from = local(d1, 1, 30, 0);
    let valid = format!(
        "Valid {} to {}.",
        text_time(from),
        text_time(from + chrono::Duration::days(7))
    );
    assert!(
        text.contains(&valid),
        "times to the second: {valid} in {text}"
    );
    let mut r = csv::Reader::from_reader(att.as_bytes());
    let header: Vec<String> = r.headers().unwrap().iter().map(str::to_owned).collect();
    assert_eq!(
        header.join(","),
        "timestamp,ip,protocol,port,hostname,tag,asn,geo,region,city,sector,rdp_protocol,matched_by",
        "every column of the report"
    );
    let rows: Vec<csv::StringRecord> = r.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 2);
    assert_eq!(&rows[0][11], "CredSSP");
    assert_eq!(&rows[0][12], "prefix:198.51.100.0/24");

    let (subject, _, att) = first("cert@stadtwerke.example", "scan_rdp");
    assert!(
        subject.starts_with("[TLP:AMBER] 1 security events"),
        "{subject}"
    );
    assert!(
        att.contains("\"KASSEL \"\"NORD\"\"\"") && !att.contains("192.0.2.11"),
        "quotes kept, the inhibited event left out: {att}"
    );
    let row = csv::Reader::from_reader(att.as_bytes())
        .records()
        .next()
        .unwrap()
        .unwrap();
    assert_eq!(&row[9], "KASSEL \"NORD\"");

    let (subject, _, att) = first("soc@nur-asn.example", "scan_rdp");
    assert!(
        subject.starts_with("[TLP:AMBER] 2 security events"),
        "{subject}"
    );
    assert_eq!(att.matches(",asn:64510\n").count(), 2, "{att}");
    let (_, _, att) = first("soc@nur-asn.example", "event4_sinkhole");
    assert!(
        att.starts_with("timestamp,protocol,src_ip,src_port,src_asn,src_geo,src_hostname,infection,family,dst_ip,dst_port,dst_asn,matched_by\n")
            && att.contains("avalanche-andromeda"),
        "{att}"
    );
    let (subject, _, att) = first("abuse@isp.example", "scan_rdp");
    assert!(
        subject.starts_with("[TLP:GREEN] 1 security events"),
        "{subject}"
    );
    assert!(
        att.contains(",prefix:192.0.0.0/16\n") && !att.contains("192.0.2.10"),
        "{att}"
    );

    // The scheduler (what `serve` runs) moves the notifications to delivered and, days later,
    // has opened no posture check-in, reminder or escalation for any of them.
    let engine = tocsin_engine::Engine::open(
        store.clone(),
        tocsin_engine::EngineConfig::new(dir.path().join("outbox")),
    )
    .unwrap();
    let now = chrono::Utc::now();
    for h in [0, 24, 48, 72] {
        engine.tick(now + chrono::Duration::hours(h)).unwrap();
    }
    let feed_warnings = store.warnings(None).unwrap();
    assert_eq!(feed_warnings.len(), 14);
    assert!(feed_warnings.iter().all(|w| w.state
        == tocsin_core::lifecycle::WarningState::Delivered
        && w.is_feed_notification()));
    assert!(store.posture_tracks().unwrap().is_empty());
    assert_eq!(
        store.tasks(false).unwrap().len(),
        0,
        "no posture_escalation task"
    );
    assert!(!store
        .timeline(None)
        .unwrap()
        .iter()
        .any(|e| e.event.starts_with("posture")));

    let out = run_ok(bin().args(["--db", dbs, "verify"]));
    assert!(String::from_utf8_lossy(&out.stdout).contains("verified"));
}
