//! One delivery model and one clock, across processes: `serve --clock-start` replays the
//! reference case without webhook keys, so it leaves the operator's webhook alone (no attempt, no
//! error); a separate `tocsin worker` with the keys sends it, on the replayed clock.

use crate::common::{bin, examples_dir, free_port, run_ok, wait, Proc, TestDb};
use chrono::{DateTime, Utc};
use std::process::Stdio;
use std::time::Duration;
use tocsin_core::tracking::DeliveryStatus;
use tocsin_core::ChannelKind;
use tocsin_deliver::receiver::Receiver;
use tocsin_deliver::WebhookSecret;
use tocsin_engine::{Engine, EngineConfig};

fn copy_case(to: &std::path::Path, webhook: &str) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(examples_dir()).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_file() {
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
    // The venue operator takes the warning by webhook as well as in its folder.
    let aud = std::fs::read_to_string(to.join("audiences.toml")).unwrap();
    let aud = aud.replace(
        r#"channels = [{ kind = "file", address = "operators/crocus" }]"#,
        &format!(
            r#"channels = [{{ kind = "file", address = "operators/crocus" }}, {{ kind = "webhook", address = "{webhook}" }}]"#
        ),
    );
    assert!(aud.contains(webhook));
    std::fs::write(to.join("audiences.toml"), aud).unwrap();
}

#[test]
fn a_worker_process_delivers_what_serve_cannot_on_the_replayed_clock() {
    let dir = tempfile::tempdir().unwrap();
    let db = TestDb::new(dir.path());
    let secret = WebhookSecret::generate();
    let rx = Receiver::start(vec![secret.clone()]).unwrap();
    rx.keep_bodies(true);
    let hook = rx.url("/crocus");
    let case = dir.path().join("case");
    copy_case(&case, &hook);
    let keys = dir.path().join("keys.toml");
    std::fs::write(&keys, format!("default = [\"{}\"]\n", secret.expose())).unwrap();
    let outbox = dir.path().join("outbox");
    let outbox_arg = outbox.to_str().unwrap();

    // serve on the replayed clock, without webhook keys or SMTP.
    let start: DateTime<Utc> = "2024-03-06T08:30:00Z".parse().unwrap();
    let port = free_port();
    let log = std::fs::File::create(dir.path().join("serve.log")).unwrap();
    let _serve = Proc(
        bin()
            .args(["--db", db.arg(), "--outbox", outbox_arg, "serve"])
            .args(["--listen", &format!("127.0.0.1:{port}"), "--tick-secs", "1"])
            .args(["--clock-start", "2024-03-06T08:30:00Z"])
            .env_remove("TOCSIN_WEBHOOK_KEYS")
            .env_remove("TOCSIN_SMTP_HOST")
            .env("TOCSIN_ADMIN_TOKEN", "tcn_test_admin_token_0123456789")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap(),
    );
    let client = reqwest::blocking::Client::new();
    wait("serve's /health", Duration::from_secs(60), || {
        client
            .get(format!("http://127.0.0.1:{port}/health"))
            .send()
            .is_ok_and(|r| r.status() == 200)
    });
    let serve_log = std::fs::read_to_string(dir.path().join("serve.log")).unwrap();
    assert!(
        serve_log.contains("webhook: NOT configured")
            && serve_log.contains("email: NOT configured"),
        "serve says which channels it lacks:\n{serve_log}"
    );

    // The CLI runs on the recorded clock: the import is dated in March 2024.
    run_ok(bin().args(["--db", db.arg(), "import", case.to_str().unwrap()]));
    let store = db.open();
    let anchor = store
        .deployment_clock()
        .unwrap()
        .expect("serve recorded its clock");
    let now = || anchor.at(Utc::now());
    assert!(now() - start < chrono::Duration::minutes(10), "{}", now());
    let tid = tocsin_core::ThreatId::new("moscow-2024-03");
    assert!(store.threat(&tid).unwrap().is_some());
    let audit = store.audit_events().unwrap();
    let import = audit
        .iter()
        .rev()
        .find(|e| e.actor == "cli:import")
        .unwrap();
    assert!(
        import.at >= start && import.at < start + chrono::Duration::hours(1),
        "the CLI wrote at {} (replayed clock expected)",
        import.at
    );

    // Two people decide and approve; serve's scheduler queues and delivers what it can.
    let engine = Engine::open(store.clone(), EngineConfig::new(&outbox)).unwrap();
    engine
        .propose_determination(&tid, "analyst:a", now())
        .unwrap();
    engine
        .approve_determination(&tid, "approver:b", now())
        .unwrap();
    for w in engine.compose_warnings(&tid, "analyst:a", now()).unwrap() {
        engine.approve_warning(&w.id, "approver:b", now()).unwrap();
    }
    let crocus = tocsin_core::WarningId::new("moscow-2024-03.op-crocus.v1");
    let of_kind = |kind: ChannelKind| {
        store
            .deliveries(Some(&crocus))
            .unwrap()
            .into_iter()
            .find(|d| d.channel.kind == kind && d.notice.is_none())
    };
    wait(
        "serve delivers the file channel",
        Duration::from_secs(60),
        || of_kind(ChannelKind::File).is_some_and(|d| d.status == DeliveryStatus::Delivered),
    );
    // Several scheduler passes later the webhook is untouched: serve cannot sign it.
    std::thread::sleep(Duration::from_secs(3));
    let hook_d = of_kind(ChannelKind::Webhook).expect("a webhook delivery was queued");
    assert_eq!(hook_d.status, DeliveryStatus::Pending, "{hook_d:?}");
    assert_eq!(hook_d.attempts, 0, "no attempt spent by serve");
    assert!(hook_d.last_error.is_none(), "{:?}", hook_d.last_error);
    assert_eq!(rx.received().requests, 0);

    // doctor says the same, and how many deliveries wait for another process.
    let out = run_ok(bin().args(["--db", db.arg(), "doctor"]));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("clock: replayed"), "{text}");
    assert!(text.contains("webhook: NOT configured"), "{text}");
    assert!(
        text.contains("NOT sendable with these settings: webhook: 1"),
        "{text}"
    );
    let out = run_ok(bin().args([
        "--db",
        db.arg(),
        "doctor",
        "--webhook-keys",
        keys.to_str().unwrap(),
    ]));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("webhook: configured"), "{text}");
    assert!(text.contains("all sendable"), "{text}");

    // A worker with the keys sends it, once, signed, on the replayed clock.
    let _worker = Proc(
        bin()
            .args(["--db", db.arg(), "--outbox", outbox_arg, "worker"])
            .args(["--webhook-keys", keys.to_str().unwrap()])
            // The receiver listens on 127.0.0.1 (docs/delivery.md, "Webhook destinations").
            .arg("--allow-private-webhooks")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    wait(
        "the worker delivers the webhook",
        Duration::from_secs(60),
        || of_kind(ChannelKind::Webhook).is_some_and(|d| d.status == DeliveryStatus::Delivered),
    );
    let d = of_kind(ChannelKind::Webhook).unwrap();
    assert_eq!(d.attempts, 1, "delivered on its first attempt");
    assert!(d.last_error.is_none());
    let at = d.delivered_at.unwrap();
    assert!(
        at >= start && at < start + chrono::Duration::hours(1),
        "delivered_at {at} is on the replayed clock"
    );
    let got = rx.received();
    assert_eq!((got.requests, got.verified), (1, 1), "{:?}", got.invalid);
    let body: serde_json::Value =
        serde_json::from_slice(got.last_body.values().next().unwrap()).unwrap();
    assert_eq!(body["type"], "warning.issued");
    assert_eq!(body["data"]["reference"], crocus.as_str());
    // The signed one-time links are fields, not only inside the text.
    for field in ["ack_url", "feedback_url"] {
        let url = body["data"][field]
            .as_str()
            .unwrap_or_else(|| panic!("{field}: {body}"));
        assert!(url.contains("/r/"), "{field}: {url}");
        assert!(body["data"]["text"].as_str().unwrap().contains(url));
    }
    // The effectiveness report on the replayed month counts the operator's warning as delivered.
    let out = run_ok(bin().args([
        "--db",
        db.arg(),
        "report",
        "effectiveness",
        "--from",
        "2024-03-01",
        "--to",
        "2024-03-31",
        "--json",
    ]));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let max = report["intake_to_delivery_minutes"]["max"].as_f64();
    assert!(
        max.is_some_and(|m| m < 60.0),
        "intake to delivery within the replay, not years: {report}"
    );
}

/// `serve` with SMTP settings (here from a `--channels` file) sends e-mail itself: no worker.
#[test]
fn serve_with_smtp_settings_sends_email_without_a_worker() {
    use crate::common::SmtpServer;
    use tocsin_core::ChannelSpec;
    let dir = tempfile::tempdir().unwrap();
    let db = TestDb::new(dir.path());
    let smtp = SmtpServer::start(dir.path(), None);
    let channels = dir.path().join("channels.toml");
    std::fs::write(
        &channels,
        format!(
            "[smtp]\nhost = \"127.0.0.1\"\nport = {}\ntls = \"none\"\nfrom = \"CERT <cert@cert.example>\"\n",
            smtp.port
        ),
    )
    .unwrap();
    let store = db.open();
    let queued = tocsin_deliver::synthetic::queue_fanout(
        store.as_ref(),
        &[ChannelSpec {
            kind: ChannelKind::Email,
            address: "it-security@klinikum.example".into(),
        }],
        Utc::now(),
    )
    .unwrap();
    let port = free_port();
    let _serve = Proc(
        bin()
            .args(["--db", db.arg(), "serve"])
            .args(["--listen", &format!("127.0.0.1:{port}"), "--tick-secs", "1"])
            .args(["--channels", channels.to_str().unwrap()])
            .env_remove("TOCSIN_SMTP_HOST")
            .env("TOCSIN_ADMIN_TOKEN", "tcn_test_admin_token_0123456789")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    wait("serve sends the e-mail", Duration::from_secs(60), || {
        smtp.count() == 1
    });
    let d = store
        .deliveries(None)
        .unwrap()
        .into_iter()
        .find(|d| d.id == queued[0].id)
        .unwrap();
    wait("the delivery is recorded", Duration::from_secs(30), || {
        store
            .deliveries(None)
            .unwrap()
            .iter()
            .any(|x| x.id == d.id && x.status == DeliveryStatus::Delivered)
    });
    let d = store
        .deliveries(None)
        .unwrap()
        .into_iter()
        .find(|x| x.id == d.id)
        .unwrap();
    assert_eq!(d.attempts, 1, "sent on the first attempt");
    assert!(d.last_error.is_none());
}
