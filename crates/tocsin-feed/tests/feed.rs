//! The feed path against references: per-organisation counts equal a brute-force longest-prefix
//! loop; inhibitions and intervals suppress what they say and nothing else; malformed rows are
//! counted with their line numbers.

use std::collections::HashMap;
use tocsin_core::entity::IpNet;
use tocsin_core::TlpLevel;
use tocsin_feed::notify::{NotifyOptions, CSV_BEGIN, CSV_END};
use tocsin_feed::{gen, run_feed, Constituency, InhibitionKind, Interval, Mapping, Org};
use tocsin_store::{Feeds, SqliteStore, Store};

fn opts(run: &str, now: &str) -> NotifyOptions {
    NotifyOptions {
        run_id: run.into(),
        source: "test.csv".into(),
        now: chrono::DateTime::parse_from_rfc3339(now)
            .unwrap()
            .with_timezone(&chrono::Utc),
        attach_limit: 10_000,
        originator: "DEU".into(),
        actor: "test".into(),
    }
}

#[test]
fn per_org_counts_equal_a_brute_force_longest_prefix_loop() {
    let prefixes = gen::prefixes(300, 2_000, 42);
    assert!(
        prefixes.iter().any(|p| prefixes
            .iter()
            .any(|q| q.len < p.len && (p.bits & (u32::MAX << (32 - q.len))) == q.bits)),
        "nested prefixes present"
    );
    let (mut orgs, mut pfx, mut events) = (Vec::new(), Vec::new(), Vec::new());
    gen::write_orgs(&mut orgs, 300).unwrap();
    gen::write_prefixes(&mut pfx, &prefixes).unwrap();
    gen::write_events(&mut events, &prefixes, 30_000, 42).unwrap();
    let (c, conflicts) = Constituency::from_simple_csv(&orgs[..], &pfx[..]).unwrap();
    assert!(conflicts.is_empty());
    let store = SqliteStore::open_in_memory().unwrap();
    let r = run_feed(
        &store,
        &c,
        &events[..],
        &Mapping::simple(),
        &opts("r1", "2026-11-27T06:00:00Z"),
        None,
        |_, _| {},
    )
    .unwrap();

    let mut want: HashMap<String, u64> = HashMap::new();
    let mut unmatched = 0;
    for line in std::str::from_utf8(&events).unwrap().lines().skip(1) {
        let ip: std::net::Ipv4Addr = line.split(',').nth(1).unwrap().parse().unwrap();
        match gen::brute_force_owner(&prefixes, u32::from(ip)) {
            Some(o) => *want.entry(gen::org_id(o)).or_default() += 1,
            None => unmatched += 1,
        }
    }
    let got: HashMap<String, u64> = c
        .orgs
        .iter()
        .zip(&r.counts.per_org_matched)
        .filter(|(_, n)| **n > 0)
        .map(|(o, n)| (o.id.clone(), *n))
        .collect();
    assert_eq!(got, want);
    assert_eq!(r.counts.unmatched, unmatched);
    assert_eq!(r.counts.events, 30_000);
    // Every organisation with events got exactly one notification carrying all its events.
    assert_eq!(r.queued.notifications as usize, want.len());
    assert_eq!(
        r.queued
            .per_org
            .iter()
            .map(|(k, v)| (k.clone(), *v))
            .collect::<HashMap<_, _>>(),
        want
    );
    let warnings = store.warnings(None).unwrap();
    assert_eq!(warnings.len(), want.len());
    let w = &warnings[0];
    let csv =
        &w.text[w.text.find(CSV_BEGIN).unwrap() + CSV_BEGIN.len()..w.text.find(CSV_END).unwrap()];
    let org = w.audience_id.as_str().strip_prefix("feed-org:").unwrap();
    assert_eq!(
        csv.trim().lines().count() as u64 - 1,
        want[org],
        "the CSV attaches every event of {org}"
    );
    assert!(store.verify_audit().unwrap().is_ok());
    assert_eq!(
        store.feed_runs().unwrap()[0].summary["notifications"],
        want.len() as u64
    );
}

fn org(id: &str, nets: &[&str], interval: Interval, inhibitions: Vec<InhibitionKind>) -> Org {
    Org {
        id: id.into(),
        name: format!("Org {id}"),
        networks: nets.iter().map(|n| IpNet::parse(n).unwrap()).collect(),
        asns: vec![],
        domains: vec![],
        emails: vec![format!("abuse@{id}.example")],
        webhooks: vec![],
        interval,
        inhibitions,
        tlp: TlpLevel::Green,
    }
}

const EVENTS: &str = "timestamp,ip,port,protocol,type,asn,domain
2026-11-27T01:00:00Z,10.0.0.1,22,tcp,scan_ssh,64500,
2026-11-27T01:00:01Z,10.0.0.2,3389,tcp,scan_rdp,64500,
2026-11-27T01:00:02Z,10.9.0.1,22,tcp,scan_ssh,64501,
2026-11-27T01:00:03Z,10.0.1.5,80,tcp,botnet_drone,64500,mail.quiet.example
2026-11-27T01:00:04Z,20.0.0.1,53,udp,open_resolver,64502,
2026-11-27T01:00:05Z,30.0.0.1,53,udp,open_resolver,64503,
2026-11-27T01:00:06Z,40.0.0.1,53,udp,open_resolver,64504,
2026-11-27T01:00:07Z,50.0.0.1,53,udp,open_resolver,64511,
";

#[test]
fn inhibitions_suppress_by_prefix_asn_domain_type_and_organisation() {
    let orgs = vec![
        org(
            "a",
            &["10.0.0.0/8"],
            Interval::Every(0),
            vec![
                InhibitionKind::EventType("scan_rdp".into()),
                InhibitionKind::Prefix(IpNet::parse("10.9.0.0/16").unwrap()),
                InhibitionKind::Domain("quiet.example".into()),
            ],
        ),
        org(
            "b",
            &["20.0.0.0/8"],
            Interval::Every(0),
            vec![InhibitionKind::Organisation],
        ),
        org(
            "c",
            &["30.0.0.0/8"],
            Interval::Every(0),
            vec![InhibitionKind::Asn(64599)],
        ),
        org(
            "d",
            &["40.0.0.0/8", "50.0.0.0/8"],
            Interval::Every(0),
            vec![],
        ),
    ];
    let (c, _) = Constituency::new(orgs, vec![InhibitionKind::Asn(64511)]);
    let store = SqliteStore::open_in_memory().unwrap();
    let r = run_feed(
        &store,
        &c,
        EVENTS.as_bytes(),
        &Mapping::simple(),
        &opts("i1", "2026-11-27T06:00:00Z"),
        None,
        |_, _| {},
    )
    .unwrap();
    assert_eq!(
        (r.counts.matched, r.counts.unmatched, r.counts.malformed),
        (8, 0, 0)
    );
    // a: scan_rdp (type), 10.9.0.1 (prefix), mail.quiet.example (domain) inhibited; 10.0.0.1 kept.
    // b: whole organisation. c: other ASN, kept. d: 50.0.0.1 has the globally inhibited ASN.
    assert_eq!(r.counts.inhibited, 5);
    let per: Vec<(String, u64)> = r.queued.per_org.into_iter().collect();
    assert_eq!(per, [("a".into(), 1), ("c".into(), 1), ("d".into(), 1)]);
    let w = store.warnings(None).unwrap();
    let a = w
        .iter()
        .find(|w| w.audience_id.as_str() == "feed-org:a")
        .unwrap();
    assert!(
        a.text.contains("10.0.0.1") && !a.text.contains("10.0.0.2") && !a.text.contains("10.9.0.1"),
        "{}",
        a.text
    );
    assert_eq!(a.tlp, TlpLevel::Green, "the organisation's TLP");
}

#[test]
fn intervals_allow_one_notification_per_interval_and_never_means_never() {
    let orgs = vec![
        org("a", &["10.0.0.0/8"], Interval::Every(86_400), vec![]),
        org("b", &["20.0.0.0/8"], Interval::Every(3_600), vec![]),
        org("c", &["30.0.0.0/8"], Interval::Never, vec![]),
    ];
    let (c, _) = Constituency::new(orgs, vec![]);
    let store = SqliteStore::open_in_memory().unwrap();
    let run = |id: &str, at: &str| {
        run_feed(
            &store,
            &c,
            EVENTS.as_bytes(),
            &Mapping::simple(),
            &opts(id, at),
            None,
            |_, _| {},
        )
        .unwrap()
    };
    let r1 = run("d1", "2026-11-27T06:00:00Z");
    assert_eq!(r1.queued.per_org.keys().collect::<Vec<_>>(), ["a", "b"]);
    assert_eq!(r1.counts.never, 1);
    // Two hours later: b (hourly) is due again, a (daily) is not.
    let r2 = run("d2", "2026-11-27T08:00:00Z");
    assert_eq!(r2.queued.per_org.keys().collect::<Vec<_>>(), ["b"]);
    assert_eq!(
        r2.counts.not_due, 4,
        "a's four events wait for its interval"
    );
    // A day after the first run both are due.
    let r3 = run("d3", "2026-11-28T06:00:00Z");
    assert_eq!(r3.queued.per_org.keys().collect::<Vec<_>>(), ["a", "b"]);
    assert_eq!(store.warnings(None).unwrap().len(), 5);
    assert_eq!(store.feed_runs().unwrap().len(), 3);
}

#[test]
fn malformed_rows_are_counted_with_line_numbers_and_unmatched_exported() {
    let (c, _) = Constituency::new(
        vec![org("a", &["10.0.0.0/8"], Interval::Every(0), vec![])],
        vec![],
    );
    let input = "timestamp,ip,port,protocol,type\n\
                 t,10.0.0.1,22,tcp,scan\n\
                 t,10.0.0.999,22,tcp,scan\n\
                 t,10.0.0.2,99999,tcp,scan\n\
                 t,\"10.0.0.3\n\
                 t\n\
                 t,192.0.2.1,80,tcp,scan\n\
                 t,2001:db8::1,80,tcp,scan\n";
    let store = SqliteStore::open_in_memory().unwrap();
    let mut unmatched = Vec::new();
    let r = run_feed(
        &store,
        &c,
        input.as_bytes(),
        &Mapping::simple(),
        &opts("m1", "2026-11-27T06:00:00Z"),
        Some(Box::new(&mut unmatched)),
        |_, _| {},
    )
    .unwrap();
    let k = &r.counts;
    assert_eq!(
        (k.events, k.matched, k.unmatched, k.malformed),
        (7, 1, 2, 4)
    );
    let lines: Vec<u64> = k.malformed_examples.iter().map(|m| m.line).collect();
    assert_eq!(lines, [3, 4, 5, 6]);
    assert!(
        k.malformed_examples[0].reason.contains("IP"),
        "{:?}",
        k.malformed_examples
    );
    let un = String::from_utf8(unmatched).unwrap();
    assert_eq!(un, "timestamp,ip,port,protocol,type,asn\nt,192.0.2.1,80,tcp,scan,\nt,2001:db8::1,80,tcp,scan,\n");
}

#[test]
fn shadowserver_layout_and_jsonl_feed_the_same_pipeline() {
    let (c, _) = Constituency::new(
        vec![org(
            "a",
            &["10.0.0.0/8", "2001:db8::/32"],
            Interval::Every(0),
            vec![],
        )],
        vec![],
    );
    let ss = "\"timestamp\",\"ip\",\"protocol\",\"port\",\"hostname\",\"tag\",\"asn\",\"geo\",\"region\",\"city\"\n\
              \"2026-11-27 00:01:02\",\"10.1.2.3\",\"tcp\",\"445\",\"h.example\",\"smb\",\"64500\",\"DE\",\"BERLIN\",\"BERLIN\"\n";
    let store = SqliteStore::open_in_memory().unwrap();
    let r = run_feed(
        &store,
        &c,
        ss.as_bytes(),
        &Mapping::shadowserver(),
        &opts("s1", "2026-11-27T06:00:00Z"),
        None,
        |_, _| {},
    )
    .unwrap();
    assert_eq!((r.counts.matched, r.queued.notifications), (1, 1));
    assert!(store.warnings(None).unwrap()[0]
        .text
        .contains("2026-11-27 00:01:02,10.1.2.3,445,tcp,smb,64500"));
    let jl = "{\"timestamp\":\"t\",\"ip\":\"2001:db8::7\",\"port\":22,\"protocol\":\"tcp\",\"type\":\"scan_ssh\",\"asn\":64500}\nnot json\n";
    let r = run_feed(
        &store,
        &c,
        jl.as_bytes(),
        &Mapping::jsonl(),
        &opts("j1", "2026-11-27T07:00:00Z"),
        None,
        |_, _| {},
    )
    .unwrap();
    assert_eq!(
        (
            r.counts.matched,
            r.counts.malformed,
            r.counts.malformed_examples[0].line
        ),
        (1, 1, 2)
    );
}
