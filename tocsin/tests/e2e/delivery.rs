//! Delivery that loses nothing: `tocsin worker` killed with SIGKILL mid fan-out and restarted,
//! against a receiver that verifies every signature; and e-mail through a real SMTP server.

use crate::common::{bin, SmtpServer, TestDb};
use std::collections::{HashMap, HashSet};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tocsin_core::tracking::DeliveryStatus;
use tocsin_core::{ChannelKind, ChannelSpec};
use tocsin_deliver::receiver::Receiver;
use tocsin_deliver::{synthetic, WebhookSecret};

const RECIPIENTS: usize = 5_000;
/// The worker's `--max-in-flight` here: the most deliveries one kill may duplicate.
pub(crate) const MAX_IN_FLIGHT: usize = 32;

/// `tocsin worker` on `db` with 1 s leases and at most [`MAX_IN_FLIGHT`] deliveries in flight.
fn worker(db: &str, extra: &[&str]) -> Child {
    worker_with(db, 1, Stdio::piped(), extra)
}

/// `tocsin worker` on `db` with `lease_secs` leases, at most [`MAX_IN_FLIGHT`] deliveries in
/// flight, and its log to `stderr`.
pub(crate) fn worker_with(db: &str, lease_secs: u32, stderr: Stdio, extra: &[&str]) -> Child {
    bin()
        .args([
            "--db",
            db,
            "worker",
            "--lease-secs",
            &lease_secs.to_string(),
            "--max-in-flight",
            &MAX_IN_FLIGHT.to_string(),
        ])
        .args(["--webhook-concurrency", &MAX_IN_FLIGHT.to_string()])
        // The test receivers listen on 127.0.0.1 (docs/delivery.md, "Webhook destinations").
        .arg("--allow-private-webhooks")
        .args(extra)
        .stdout(Stdio::null())
        .stderr(stderr)
        .spawn()
        .expect("start tocsin worker")
}

/// Wait until `done()` or fail after `limit`, saying what was awaited.
pub(crate) fn wait_for(
    what: &str,
    limit: Duration,
    child: &mut Child,
    mut done: impl FnMut() -> bool,
) {
    let start = Instant::now();
    while !done() {
        if let Ok(Some(status)) = child.try_wait() {
            let mut err = String::new();
            if let Some(mut e) = child.stderr.take() {
                let _ = std::io::Read::read_to_string(&mut e, &mut err);
            }
            panic!("worker exited ({status}) while waiting for {what}: {err}");
        }
        assert!(
            start.elapsed() < limit,
            "timed out after {limit:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
}

pub(crate) fn sigterm(child: &Child) {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("run kill");
    assert!(status.success());
}

#[test]
fn kill_9_at_several_points_loses_nothing_and_duplicates_only_what_was_in_flight() {
    let dir = tempfile::tempdir().unwrap();
    let db = TestDb::new(dir.path());
    // Rotation: the worker signs with the new and the old secret; the receiver knows only the old.
    let (old, new) = (WebhookSecret::generate(), WebhookSecret::generate());
    let rx = Receiver::start(vec![old.clone()]).unwrap();
    let keys = dir.path().join("webhook-keys.toml");
    std::fs::write(
        &keys,
        format!("default = [\"{}\", \"{}\"]\n", new.expose(), old.expose()),
    )
    .unwrap();
    let keys_arg = ["--webhook-keys", keys.to_str().unwrap()];

    let expected: HashSet<String> = {
        let store = db.open();
        let channels: Vec<ChannelSpec> = (0..RECIPIENTS)
            .map(|i| ChannelSpec {
                kind: ChannelKind::Webhook,
                address: rx.url(&format!("/r/{i}")),
            })
            .collect();
        synthetic::queue_fanout(store.as_ref(), &channels, chrono::Utc::now())
            .unwrap()
            .into_iter()
            .map(|d| d.idempotency_key)
            .collect()
    };
    assert_eq!(expected.len(), RECIPIENTS);

    // Kill points: about 10 %, 50 % and 90 % received, moved by a random offset each run.
    let jitter = (std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos() as usize)
        % 200;
    let points = [
        RECIPIENTS / 10 + jitter,
        RECIPIENTS / 2 + jitter,
        RECIPIENTS * 9 / 10 + jitter,
    ];
    let mut before: HashMap<String, u32> = HashMap::new();
    // Re-sends of already received deliveries so far. A kill's in-flight deliveries are re-sent
    // once their lease has expired, which may fall in the round after the next kill: the bound
    // holds cumulatively, `kills so far × max in flight`.
    let mut duplicates = 0u32;
    for (k, point) in points.iter().enumerate() {
        let mut child = worker(db.arg(), &keys_arg);
        wait_for(
            &format!("{point} webhooks (kill {k})"),
            Duration::from_secs(40),
            &mut child,
            || rx.verified() >= *point as u64,
        );
        child.kill().expect("SIGKILL the worker"); // std's kill is SIGKILL on Unix
        child.wait().unwrap();
        // Requests the dead worker had on the wire are finished or reset by now.
        std::thread::sleep(Duration::from_millis(50));
        let now = rx.received().ids;
        duplicates += before
            .iter()
            .map(|(id, n)| now.get(id).copied().unwrap_or(0) - n)
            .sum::<u32>();
        assert!(
            duplicates as usize <= k * MAX_IN_FLIGHT,
            "after {k} kills the restarts re-sent {duplicates} deliveries already received, more than {k} × {MAX_IN_FLIGHT} (in flight per kill)"
        );
        before = now;
    }

    // The last run finishes the fan-out; SIGTERM then stops it cleanly.
    let mut child = worker(db.arg(), &keys_arg);
    let unique = || rx.received().ids.len();
    wait_for(
        "every recipient",
        Duration::from_secs(40),
        &mut child,
        || unique() >= RECIPIENTS,
    );
    let store = db.open();
    wait_for(
        "every delivery recorded",
        Duration::from_secs(20),
        &mut child,
        || {
            store
                .deliveries(None)
                .unwrap()
                .iter()
                .all(|d| d.status == DeliveryStatus::Delivered)
        },
    );
    sigterm(&child);
    let status = child.wait().unwrap();
    assert!(
        status.success(),
        "worker stops cleanly on SIGTERM: {status}"
    );

    let got = rx.received();
    assert!(
        got.invalid.is_empty(),
        "every signature verifies: {:?}",
        &got.invalid[..got.invalid.len().min(5)]
    );
    let ids: HashSet<String> = got.ids.keys().cloned().collect();
    assert_eq!(
        ids, expected,
        "every recipient got the warning, under its idempotency key"
    );
    assert_eq!(
        got.paths.len(),
        RECIPIENTS,
        "each recipient's own URL was called"
    );
    duplicates += before.iter().map(|(id, n)| got.ids[id] - n).sum::<u32>();
    assert_eq!(
        u64::from(duplicates),
        got.duplicates(),
        "every duplicate is a re-send after a kill"
    );
    assert!(
        got.duplicates() as usize <= points.len() * MAX_IN_FLIGHT,
        "{} duplicates after {} kills",
        got.duplicates(),
        points.len()
    );
    let deliveries = store.deliveries(None).unwrap();
    assert_eq!(deliveries.len(), RECIPIENTS);
    assert!(
        store.verify_audit().unwrap().is_ok(),
        "audit chain intact after three SIGKILLs"
    );
    eprintln!(
        "crash test: kill points {points:?}, {} requests, {} duplicates",
        got.requests,
        got.duplicates()
    );
}

#[test]
fn email_reaches_a_real_smtp_server_with_auth_both_parts_and_the_reference() {
    let dir = tempfile::tempdir().unwrap();
    let smtp = SmtpServer::start(dir.path(), Some("tocsin:s3cret-pw"));
    let (port, inbox) = (smtp.port.clone(), smtp.inbox.clone());

    let db = TestDb::new(dir.path());
    let to = [
        "security@crocus.example",
        "duty@fsb.example",
        "ops@venue.example",
    ];
    let keys: Vec<String> = {
        let store = db.open();
        let channels: Vec<ChannelSpec> = to
            .iter()
            .map(|a| ChannelSpec {
                kind: ChannelKind::Email,
                address: (*a).into(),
            })
            .collect();
        synthetic::queue_fanout(store.as_ref(), &channels, chrono::Utc::now())
            .unwrap()
            .into_iter()
            .map(|d| d.idempotency_key)
            .collect()
    };

    let mut child = bin()
        .args([
            "--db",
            db.arg(),
            "worker",
            "--smtp-host",
            "127.0.0.1",
            "--smtp-port",
            &port,
            "--smtp-tls",
            "none",
        ])
        .args([
            "--smtp-user",
            "tocsin",
            "--smtp-from",
            "Tocsin warnings <warnings@agency.example>",
        ])
        .args([
            "--ack-url",
            "https://tocsin.agency.example/ack/{warning}?k={key}",
        ])
        .env("TOCSIN_SMTP_PASSWORD", "s3cret-pw")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for("three e-mails", Duration::from_secs(30), &mut child, || {
        smtp.count() >= 3
    });
    let store = db.open();
    wait_for(
        "deliveries recorded",
        Duration::from_secs(10),
        &mut child,
        || {
            store
                .deliveries(None)
                .unwrap()
                .iter()
                .all(|d| d.status == DeliveryStatus::Delivered)
        },
    );
    sigterm(&child);
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains("s3cret-pw"),
        "the SMTP password is never logged"
    );
    drop(smtp);

    let mut seen = Vec::new();
    for entry in std::fs::read_dir(&inbox).unwrap() {
        let path = entry.unwrap().path();
        let m: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        assert_eq!(
            m["auth"], "PLAIN",
            "the worker authenticated (AUTH PLAIN): {m}"
        );
        assert_eq!(m["mail_from"], "warnings@agency.example");
        let rcpt = m["rcpt_tos"][0].as_str().unwrap().to_owned();
        let i = to
            .iter()
            .position(|a| *a == rcpt)
            .unwrap_or_else(|| panic!("unexpected recipient {rcpt}"));
        let h = &m["headers"];
        assert_eq!(
            h["message-id"],
            tocsin_deliver::email::message_id(&keys[i], "agency.example"),
            "Message-ID from the idempotency key"
        );
        assert_eq!(h["to"], rcpt);
        let subject = h["subject"].as_str().unwrap();
        assert!(
            subject.contains("TLP:AMBER") && subject.contains("W-SYNTH"),
            "{subject}"
        );
        assert_eq!(m["content_type"], "multipart/alternative");
        let parts = m["parts"].as_array().unwrap();
        let part = |ty: &str| {
            parts
                .iter()
                .find(|p| p["type"] == ty)
                .unwrap_or_else(|| panic!("no {ty} part in {m}"))["text"]
                .as_str()
                .unwrap()
                .to_owned()
        };
        let (text, html) = (part("text/plain"), part("text/html"));
        let link = format!("https://tocsin.agency.example/ack/W-SYNTH?k={}", keys[i]);
        for body in [&text, &html] {
            assert!(
                body.contains("Reference") && body.contains("W-SYNTH"),
                "reference in both parts: {body}"
            );
            assert!(body.contains("Imminent threat to large gatherings"));
            assert!(body.contains("UNCLASSIFIED"));
        }
        assert!(text.contains(&format!("Acknowledge: {link}")), "{text}");
        assert!(
            html.contains(&format!("<a href=\"{}\">", link.replace('&', "&amp;"))),
            "{html}"
        );
        seen.push(rcpt);
    }
    seen.sort();
    let mut want: Vec<String> = to.iter().map(|s| s.to_string()).collect();
    want.sort();
    assert_eq!(seen, want, "each recipient exactly once");
}
