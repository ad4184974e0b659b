//! Several Tocsin processes on one database.
//!
//! * `tocsin migrate` moves a replayed case from SQLite to PostgreSQL and back; the chain head
//!   stays the same and the copy keeps working.
//! * Two `tocsin serve` processes share one store over a posture reminder's due window: one leads
//!   the scheduler, each reminder is sent once, and the follower takes over when the leader is
//!   killed (runs on the backend `TOCSIN_TEST_BACKEND` selects).
//! * Three `tocsin worker` processes on PostgreSQL deliver one warning to 20,000 webhook
//!   recipients while one of them is killed with SIGKILL: everyone is served, and the only
//!   duplicates are what the killed worker had in flight.

use crate::common::{bin, examples_dir, run_ok, TestDb};
use crate::delivery::{sigterm, wait_for, worker_with, MAX_IN_FLIGHT};
use chrono::Utc;
use serde_json::Value;
use std::collections::{HashMap, HashSet};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};
use tocsin_core::tracking::{DeliveryStatus, NoticeKind};
use tocsin_core::{ChannelKind, ChannelSpec, Timestamp};
use tocsin_deliver::receiver::Receiver;
use tocsin_deliver::{synthetic, WebhookSecret};
use tocsin_engine::{Engine, EngineConfig};
use tocsin_store::coordination::SCHEDULER_ROLE;
use tocsin_store::{AuditCtx, Store};

fn t(day: u32, hour: u32, min: u32) -> Timestamp {
    tocsin_testkit::march_at(day, hour, min)
}

/// `tocsin --db DB verify`'s head hash (a separate process reading the store from scratch).
fn verified_head(db: &str) -> String {
    let out = run_ok(bin().args(["--db", db, "verify"]));
    let s = String::from_utf8_lossy(&out.stdout).into_owned();
    s.split("head ")
        .nth(1)
        .unwrap_or_else(|| panic!("no head in {s:?}"))
        .trim()
        .to_owned()
}

#[test]
fn migrate_moves_a_replayed_case_to_postgres_and_back_with_the_same_chain_head() {
    let dir = tempfile::tempdir().unwrap();
    let case = dir.path().join("case.db");
    let case_s = case.to_str().unwrap();
    run_ok(bin().args(["demo", "--store", case_s]));
    let head = verified_head(case_s);

    let pg = TestDb::postgres();
    let out = run_ok(bin().args([
        "migrate",
        "--from",
        &format!("sqlite:{case_s}"),
        "--to",
        pg.arg(),
        "--json",
    ]));
    let v: Value =
        serde_json::from_slice(&out.stdout).expect("migrate --json prints one JSON object");
    assert_eq!(v["chain_head"], head.as_str(), "{v}");
    assert_eq!(v["chain_verified"], true);
    let tables = v["tables"].as_array().unwrap();
    let rows = |name: &str| {
        tables
            .iter()
            .find(|t| t["table"] == name)
            .unwrap_or_else(|| panic!("no table {name} in {v}"))["target_rows"]
            .as_u64()
            .unwrap()
    };
    for t in tables {
        assert_eq!(t["source_rows"], t["target_rows"], "{t}");
    }
    assert!(
        rows("audit_events") > 50
            && rows("entities") > 30
            && rows("deliveries") > 0
            && rows("timeline") > 0,
        "{v}"
    );

    // A separate process re-verifies the chain on PostgreSQL, and the records read the same.
    assert_eq!(verified_head(pg.arg()), head);
    let (a, b) = (TestDb::sqlite(&case).open(), pg.open());
    let as_json = |x: &dyn Store| {
        serde_json::json!({
            "warnings": x.warnings(None).unwrap(),
            "deliveries": x.deliveries(None).unwrap(),
            "timeline": x.timeline(None).unwrap(),
            "entities": x.entities().unwrap(),
            "tracks": x.posture_tracks().unwrap(),
        })
    };
    assert_eq!(
        as_json(a.as_ref()),
        as_json(b.as_ref()),
        "the records differ after the copy"
    );
    drop((a, b));

    // A second copy into the same (now non-empty) database is refused, and nothing is written.
    let again = bin()
        .args([
            "migrate",
            "--from",
            &format!("sqlite:{case_s}"),
            "--to",
            pg.arg(),
        ])
        .output()
        .unwrap();
    assert!(!again.status.success());
    let err = String::from_utf8_lossy(&again.stderr);
    assert!(
        err.contains("not empty") && err.contains("migrate copies only into an empty database"),
        "{err}"
    );
    assert_eq!(verified_head(pg.arg()), head);

    // The copy is a working store: new writes continue its keys and its chain (registry changes,
    // timeline and audit rows get keys after the copied ones).
    run_ok(bin().args(["--db", pg.arg(), "import"]).arg(examples_dir()));
    let grown = verified_head(pg.arg());
    assert_ne!(grown, head, "the import appended to the chain");

    // And back to a new SQLite file: the same head as PostgreSQL now has.
    let back = dir.path().join("back.db");
    let back_s = back.to_str().unwrap();
    let human = run_ok(bin().args([
        "migrate",
        "--from",
        pg.arg(),
        "--to",
        &format!("sqlite:{back_s}"),
    ]));
    let text = String::from_utf8_lossy(&human.stdout);
    assert!(
        text.contains("counts verified") && text.contains(&grown),
        "{text}"
    );
    assert_eq!(verified_head(back_s), grown);

    // Bad locations are named.
    let bad = bin()
        .args([
            "migrate",
            "--from",
            "sqlite:/nonexistent/x.db",
            "--to",
            back_s,
        ])
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("/nonexistent/x.db"),
        "{}",
        String::from_utf8_lossy(&bad.stderr)
    );
}

const TOKEN: &str = "tcn_cluster_admin_token_0123456789";

/// A `tocsin serve` on `db` whose clock starts at 7 March 2024 12:00 (a posture check-in of the
/// reference case is 2 hours overdue), with a scheduler pass every second; logs go to `log`.
fn serve(db: &TestDb, outbox: &Path, log: &Path) -> (Child, String) {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = bin()
        .args([
            "--db",
            db.arg(),
            "--outbox",
            outbox.to_str().unwrap(),
            "serve",
            "--listen",
            &format!("127.0.0.1:{port}"),
        ])
        .args(["--tick-secs", "1", "--clock-start", "2024-03-07T12:00:00Z"])
        .env("TOCSIN_ADMIN_TOKEN", TOKEN)
        .env("TOCSIN_LOG", "info,tocsin_engine::scheduler=debug")
        .stdout(Stdio::null())
        .stderr(Stdio::from(std::fs::File::create(log).unwrap()))
        .spawn()
        .expect("start tocsin serve");
    let base = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        match reqwest::blocking::get(format!("{base}/health")) {
            Ok(r) if r.status() == 200 => break,
            _ if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(100)),
            other => panic!(
                "serve did not come up: {other:?}\n{}",
                std::fs::read_to_string(log).unwrap_or_default()
            ),
        }
    }
    (child, base)
}

/// The pid in a leader's holder name (`host:pid:random`).
fn holder_pid(holder: &str) -> u32 {
    holder
        .split(':')
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("holder {holder:?} has no pid"))
}

fn until(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(
            start.elapsed() < limit,
            "timed out after {limit:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

struct Killed(Vec<Child>);

impl Drop for Killed {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

#[test]
fn two_serve_processes_send_each_posture_reminder_once_and_the_follower_takes_over() {
    let dir = tempfile::tempdir().unwrap();
    let db = TestDb::new(dir.path());
    let outbox = dir.path().join("outbox");

    // The reference case up to its first deliveries (6 March 10:00), written by this process.
    let store = db.open();
    {
        let engine = Engine::open(store.clone(), EngineConfig::new(&outbox)).unwrap();
        engine
            .import_registry(examples_dir(), &AuditCtx::new("admin:import", t(6, 7, 0)))
            .unwrap();
        let threat = Engine::parse_report_file(&examples_dir().join("report.txt")).unwrap();
        engine
            .ingest_threat(&threat, &AuditCtx::new("analyst:a", t(6, 8, 0)))
            .unwrap();
        engine
            .compute_matches(&threat.id, &AuditCtx::new("analyst:a", t(6, 8, 5)))
            .unwrap();
        engine
            .propose_determination(&threat.id, "analyst:a", t(6, 8, 30))
            .unwrap();
        engine
            .approve_determination(&threat.id, "approver:b", t(6, 9, 0))
            .unwrap();
        for w in engine
            .compose_warnings(&threat.id, "analyst:a", t(6, 9, 5))
            .unwrap()
        {
            engine
                .approve_warning(&w.id, "approver:b", t(6, 9, 10))
                .unwrap();
        }
        engine.tick(t(6, 10, 0)).unwrap();
    }
    let tracked: Vec<_> = store
        .posture_tracks()
        .unwrap()
        .into_iter()
        .map(|(w, _)| w)
        .collect();
    assert!(
        tracked.len() >= 2,
        "the partner and the operator are tracked: {tracked:?}"
    );
    let reminders = |s: &dyn Store| -> Vec<String> {
        s.deliveries(None)
            .unwrap()
            .into_iter()
            .filter(|d| {
                d.notice
                    .as_ref()
                    .is_some_and(|n| n.kind == NoticeKind::Reminder)
            })
            .map(|d| d.idempotency_key)
            .collect()
    };
    assert!(reminders(store.as_ref()).is_empty());

    // Two servers; the second starts once the first is up (each stores the admin token if absent).
    let (log_a, log_b) = (
        dir.path().join("serve-a.log"),
        dir.path().join("serve-b.log"),
    );
    let (a, base_a) = serve(&db, &outbox, &log_a);
    let mut procs = Killed(vec![a]);
    let (b, base_b) = serve(&db, &outbox, &log_b);
    procs.0.push(b);

    // Every missed check-in gets its reminder, queued by the leader.
    until(
        "a reminder per tracked warning",
        Duration::from_secs(30),
        || reminders(store.as_ref()).len() >= tracked.len(),
    );
    // Both keep passing the scheduler for a while: nothing is sent again.
    std::thread::sleep(Duration::from_secs(4));
    let sent = reminders(store.as_ref());
    assert_eq!(
        sent.len(),
        tracked.len(),
        "one reminder per tracked warning (one channel each): {sent:?}"
    );
    assert_eq!(sent.iter().collect::<HashSet<_>>().len(), sent.len());
    let timeline = store.timeline(None).unwrap();
    assert_eq!(
        timeline
            .iter()
            .filter(|e| e.event == "posture_reminder")
            .count(),
        tracked.len(),
        "one reminder entry per warning"
    );
    // Each track written twice only: started on delivery, then the reminder (a second scheduler
    // would have written it again).
    for w in &tracked {
        let subject = format!("warning:{w}");
        let writes = store
            .audit_events()
            .unwrap()
            .iter()
            .filter(|e| e.action == tocsin_store::actions::POSTURE_TRACK && e.subject == subject)
            .count();
        assert_eq!(writes, 2, "posture track of {w} written {writes} times");
    }

    // Exactly one of the two leads; the follower still serves the API.
    let leader = store
        .leader(SCHEDULER_ROLE, Utc::now())
        .unwrap()
        .expect("a scheduler leader");
    let pids: Vec<u32> = procs.0.iter().map(Child::id).collect();
    let lead_pid = holder_pid(&leader);
    let lead_ix = pids
        .iter()
        .position(|p| *p == lead_pid)
        .unwrap_or_else(|| panic!("leader {leader} is neither of {pids:?}"));
    let (lead_log, follow_log) = if lead_ix == 0 {
        (&log_a, &log_b)
    } else {
        (&log_b, &log_a)
    };
    let logs = |p: &Path| std::fs::read_to_string(p).unwrap();
    assert!(
        logs(lead_log).contains("scheduler leadership taken"),
        "{}",
        logs(lead_log)
    );
    assert!(
        !logs(follow_log).contains("scheduler leadership taken"),
        "the follower never led:\n{}",
        logs(follow_log)
    );
    assert!(
        logs(lead_log).contains("scheduler pass"),
        "{}",
        logs(lead_log)
    );
    assert!(
        !logs(follow_log).contains("scheduler pass"),
        "the follower ran the scheduler:\n{}",
        logs(follow_log)
    );
    for l in [&log_a, &log_b] {
        assert!(!logs(l).contains("scheduler pass failed"), "{}", logs(l));
    }
    let follower_base = if lead_ix == 0 { &base_b } else { &base_a };
    let r = reqwest::blocking::Client::new()
        .get(format!("{follower_base}/api/v1/threats"))
        .bearer_auth(TOKEN)
        .send()
        .unwrap();
    assert_eq!(r.status(), 200, "the follower serves the API");

    // The leader dies: the follower takes over and runs the scheduler (it delivers the outbox).
    let mut dead = procs.0.remove(lead_ix);
    dead.kill().unwrap();
    dead.wait().unwrap();
    let follower_pid = procs.0[0].id();
    until("the follower to lead", Duration::from_secs(20), || {
        store
            .leader(SCHEDULER_ROLE, Utc::now())
            .unwrap()
            .is_some_and(|h| holder_pid(&h) == follower_pid)
    });
    let channels: Vec<ChannelSpec> = (0..3)
        .map(|i| ChannelSpec {
            kind: ChannelKind::File,
            address: format!("failover/{i}"),
        })
        .collect();
    synthetic::queue_fanout(store.as_ref(), &channels, t(7, 12, 0)).unwrap();
    until(
        "the new leader to deliver the outbox",
        Duration::from_secs(20),
        || {
            store
                .deliveries(Some(&"W-SYNTH".into()))
                .unwrap()
                .iter()
                .all(|d| d.status == DeliveryStatus::Delivered)
        },
    );
    assert!(logs(follow_log).contains("scheduler leadership taken"));
    assert_eq!(
        reminders(store.as_ref()).len(),
        tracked.len(),
        "the new leader sent no reminder again"
    );
    assert!(store.verify_audit().unwrap().is_ok());
}

const RECIPIENTS: usize = 20_000;
const WORKERS: usize = 3;
/// Long enough that a live worker on a busy 2-core machine renews its leases in time (a lease
/// lost by a live worker is a legitimate re-send, but not the one this test bounds); the killed
/// worker's deliveries come back after it.
const LEASE_SECS: u32 = 5;

#[test]
fn three_workers_on_postgres_deliver_to_20000_recipients_through_a_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let db = TestDb::postgres();
    let secret = WebhookSecret::generate();
    let rx = Receiver::start(vec![secret.clone()]).unwrap();
    let keys = dir.path().join("webhook-keys.toml");
    std::fs::write(&keys, format!("default = [\"{}\"]\n", secret.expose())).unwrap();
    let keys_arg = ["--webhook-keys", keys.to_str().unwrap()];

    let store = db.open();
    let channels: Vec<ChannelSpec> = (0..RECIPIENTS)
        .map(|i| ChannelSpec {
            kind: ChannelKind::Webhook,
            address: rx.url(&format!("/r/{i}")),
        })
        .collect();
    let expected: HashSet<String> = synthetic::queue_fanout(store.as_ref(), &channels, Utc::now())
        .unwrap()
        .into_iter()
        .map(|d| d.idempotency_key)
        .collect();
    assert_eq!(expected.len(), RECIPIENTS);

    let started = Instant::now();
    let log = |i: usize| {
        Stdio::from(std::fs::File::create(dir.path().join(format!("worker-{i}.log"))).unwrap())
    };
    let mut workers: Vec<Child> = (0..WORKERS)
        .map(|i| worker_with(db.arg(), LEASE_SECS, log(i), &keys_arg))
        .collect();
    // Kill one worker at about 30 % (moved by a random offset each run), once all three work.
    let jitter = (std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos() as usize)
        % 1000;
    let point = (RECIPIENTS * 3 / 10 + jitter) as u64;
    // The checks sleep: the test process must not take the CPU the workers need.
    wait_for(
        &format!("{point} webhooks"),
        Duration::from_secs(120),
        &mut workers[0],
        || {
            std::thread::sleep(Duration::from_millis(20));
            rx.verified() >= point
        },
    );
    let mut victim = workers.remove(0);
    victim.kill().expect("SIGKILL a worker");
    victim.wait().unwrap();
    // Requests the dead worker had on the wire are finished or reset by now.
    std::thread::sleep(Duration::from_millis(50));
    let at_kill: HashMap<String, u32> = rx.received().ids;

    let unique = || rx.received().ids.len();
    wait_for(
        "every recipient",
        Duration::from_secs(180),
        &mut workers[0],
        || {
            std::thread::sleep(Duration::from_millis(200));
            rx.verified() >= RECIPIENTS as u64 && unique() >= RECIPIENTS
        },
    );
    wait_for(
        "every delivery recorded",
        Duration::from_secs(60),
        &mut workers[0],
        || {
            std::thread::sleep(Duration::from_millis(200));
            store
                .deliveries(None)
                .unwrap()
                .iter()
                .all(|d| d.status == DeliveryStatus::Delivered)
        },
    );
    let elapsed = started.elapsed();
    for w in &workers {
        sigterm(w);
    }
    for mut w in workers {
        assert!(
            w.wait().unwrap().success(),
            "a surviving worker stops cleanly on SIGTERM"
        );
    }

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
    // Duplicates: only re-sends of what the killed worker had sent but not recorded (its claim is
    // at most --max-in-flight), and only of keys received before the kill.
    let dup: Vec<(&String, &u32)> = got.ids.iter().filter(|(_, n)| **n > 1).collect();
    assert!(
        dup.len() <= MAX_IN_FLIGHT,
        "{} keys received more than once, more than the killed worker's claim of {MAX_IN_FLIGHT}",
        dup.len()
    );
    for (id, n) in &dup {
        assert_eq!(**n, 2, "{id} received {n} times");
        assert!(
            at_kill.contains_key(*id),
            "{id} was received twice but was not in flight at the kill"
        );
    }
    assert_eq!(got.duplicates(), dup.len() as u64);
    assert_eq!(store.deliveries(None).unwrap().len(), RECIPIENTS);
    assert!(
        store.verify_audit().unwrap().is_ok(),
        "audit chain intact after the kill"
    );
    eprintln!(
        "cluster kill test: {RECIPIENTS} recipients, {WORKERS} workers, kill at {point}, {} requests, {} duplicates, {:.1} s ({:.0} deliveries/s)",
        got.requests,
        got.duplicates(),
        elapsed.as_secs_f64(),
        RECIPIENTS as f64 / elapsed.as_secs_f64()
    );
}
