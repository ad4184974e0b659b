//! Feeds end to end: `tocsin feed import-constituency`, `tocsin feed ingest` (malformed rows,
//! unmatched export, inhibitions), then `tocsin worker` delivers one e-mail per organisation to a
//! real SMTP server (aiosmtpd) with the summary and the events CSV.

use crate::common::{bin, run_ok, SmtpServer, TestDb};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const CONSTITUENCY: &str = "org_id,name,prefixes,asns,domains,emails,webhooks,interval,tlp,inhibit
stadtwerke,Stadtwerke Beispiel,192.0.2.0/24;2001:db8:1::/48,AS64500,stadtwerke.example,cert@stadtwerke.example,,daily,AMBER,type:scan_ntp
klinik,Klinikum Beispiel,198.51.100.0/24,,,it-security@klinik.example;noc@klinik.example,,24h,RED,
isp,Beispiel ISP,192.0.0.0/16,,,abuse@isp.example,,daily,GREEN,
quiet,Quiet GmbH,203.0.113.0/24,,,abuse@quiet.example,,-1,AMBER,
";

const FEED: &str = "\"timestamp\",\"ip\",\"protocol\",\"port\",\"hostname\",\"tag\",\"asn\",\"geo\",\"region\",\"city\"
\"2026-11-27 00:01:02\",\"192.0.2.10\",\"tcp\",\"3389\",\"\",\"rdp\",\"64500\",\"DE\",\"BERLIN\",\"BERLIN\"
\"2026-11-27 00:01:03\",\"192.0.2.11\",\"udp\",\"123\",\"\",\"scan_ntp\",\"64500\",\"DE\",\"BERLIN\",\"BERLIN\"
\"2026-11-27 00:02:00\",\"198.51.100.7\",\"tcp\",\"445\",\"\",\"smb\",\"64501\",\"DE\",\"HESSEN\",\"KASSEL\"
\"2026-11-27 00:02:01\",\"198.51.100.8\",\"tcp\",\"445\",\"\",\"smb\",\"64501\",\"DE\",\"HESSEN\",\"KASSEL\"
\"2026-11-27 00:02:02\",\"198.51.100.9\",\"tcp\",\"3389\",\"\",\"rdp\",\"64501\",\"DE\",\"HESSEN\",\"KASSEL\"
\"2026-11-27 00:03:00\",\"192.0.77.1\",\"tcp\",\"22\",\"\",\"ssh\",\"64502\",\"DE\",\"\",\"\"
\"2026-11-27 00:04:00\",\"203.0.113.5\",\"tcp\",\"22\",\"\",\"ssh\",\"64503\",\"DE\",\"\",\"\"
\"2026-11-27 00:05:00\",\"100.64.0.1\",\"tcp\",\"22\",\"\",\"ssh\",\"64510\",\"FR\",\"\",\"\"
\"2026-11-27 00:06:00\",\"not-an-ip\",\"tcp\",\"22\",\"\",\"ssh\",\"64510\",\"FR\",\"\",\"\"
\"2026-11-27 00:07:00\",\"192.0.2.12\",\"tcp\",\"99999\",\"\",\"ssh\",\"64500\",\"DE\",\"\",\"\"
";

#[test]
fn a_daily_feed_reaches_each_organisation_by_email_with_its_events_csv() {
    let dir = tempfile::tempdir().unwrap();
    let db = TestDb::new(dir.path());
    let dbs = db.arg();
    std::fs::write(dir.path().join("constituency.csv"), CONSTITUENCY).unwrap();
    std::fs::write(dir.path().join("shadowserver.csv"), FEED).unwrap();
    run_ok(
        bin()
            .args(["--db", dbs, "feed", "import-constituency"])
            .arg(dir.path().join("constituency.csv")),
    );
    let unmatched = dir.path().join("unmatched.csv");
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
                "--run-id",
                "day1",
                "--unmatched",
            ])
            .arg(&unmatched)
            .arg(dir.path().join("shadowserver.csv")),
    );
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["events"], 10);
    assert_eq!(r["malformed"], 2, "{r}");
    assert_eq!(r["malformed_examples"][0]["line"], 10);
    assert_eq!(r["malformed_examples"][1]["line"], 11);
    assert_eq!(r["unmatched"], 1);
    assert_eq!(r["inhibited"], 1, "stadtwerke inhibits scan_ntp");
    assert_eq!(r["never"], 1, "quiet has interval -1");
    assert_eq!(r["notifications"], 3);
    assert_eq!(r["deliveries"], 4);
    let un = std::fs::read_to_string(&unmatched).unwrap();
    assert_eq!(
        un.lines().collect::<Vec<_>>(),
        [
            "timestamp,ip,port,protocol,type,asn",
            "2026-11-27 00:05:00,100.64.0.1,22,tcp,ssh,64510"
        ]
    );

    // A second run the same day: every organisation is within its interval.
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
                "--run-id",
                "day1b",
            ])
            .arg(dir.path().join("shadowserver.csv")),
    );
    let r2: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (r2["notifications"].as_u64(), r2["not_due"].as_u64()),
        (Some(0), Some(6)),
        "{r2}"
    );

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
    let start = Instant::now();
    let count = || smtp.count();
    while count() < 4 {
        if let Ok(Some(status)) = worker.try_wait() {
            panic!("worker exited early: {status}");
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "timed out waiting for 4 e-mails, got {}",
            count()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = Command::new("kill")
        .args(["-TERM", &worker.id().to_string()])
        .status();
    let _ = worker.wait();
    drop(smtp);

    let mut by_rcpt = std::collections::BTreeMap::new();
    for e in std::fs::read_dir(&inbox).unwrap() {
        let m: serde_json::Value =
            serde_json::from_slice(&std::fs::read(e.unwrap().path()).unwrap()).unwrap();
        let rcpt = m["rcpt_tos"][0].as_str().unwrap().to_owned();
        let text = m["parts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["type"] == "text/plain")
            .unwrap()["text"]
            .as_str()
            .unwrap()
            .to_owned();
        by_rcpt.insert(rcpt, (m["subject"].as_str().unwrap().to_owned(), text));
    }
    assert_eq!(
        by_rcpt.keys().collect::<Vec<_>>(),
        [
            "abuse@isp.example",
            "cert@stadtwerke.example",
            "it-security@klinik.example",
            "noc@klinik.example"
        ]
    );
    let (subject, text) = &by_rcpt["it-security@klinik.example"];
    assert!(
        subject.contains("TLP:RED") && subject.contains("3 security events"),
        "{subject}"
    );
    assert!(
        text.contains("smb: 2") && text.contains("rdp: 1"),
        "summary by event type: {text}"
    );
    let csv = &text[text.find("-----BEGIN EVENTS CSV-----").unwrap()
        ..text.find("-----END EVENTS CSV-----").unwrap()];
    assert!(csv.contains("timestamp,ip,port,protocol,type,asn"));
    assert!(
        csv.contains("2026-11-27 00:02:00,198.51.100.7,445,tcp,smb,64501"),
        "{csv}"
    );
    assert_eq!(
        csv.lines().count(),
        5,
        "marker, header and three events: {csv}"
    );
    let (subject, text) = &by_rcpt["cert@stadtwerke.example"];
    assert!(subject.contains("TLP:AMBER"));
    assert!(
        text.contains("192.0.2.10") && !text.contains("192.0.2.11"),
        "the inhibited scan_ntp event is not sent: {text}"
    );
    let (subject, text) = &by_rcpt["abuse@isp.example"];
    assert!(
        subject.contains("TLP:GREEN")
            && text.contains("192.0.77.1")
            && !text.contains("192.0.2.10"),
        "longest prefix: 192.0.2.0/24 is stadtwerke's, not the ISP's: {text}"
    );

    let out = run_ok(bin().args(["--db", dbs, "verify"]));
    assert!(String::from_utf8_lossy(&out.stdout).contains("verified"));
}
