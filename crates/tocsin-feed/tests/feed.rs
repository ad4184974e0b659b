//! The feed path against references: per-organisation counts equal a brute-force longest-prefix
//! loop; inhibitions and intervals suppress what they say and nothing else; malformed rows are
//! counted with their line numbers.

use std::collections::HashMap;
use tocsin_core::entity::IpNet;
use tocsin_core::TlpLevel;
use tocsin_feed::notify::{NotifyOptions, CSV_BEGIN, CSV_END};
use tocsin_feed::{
    gen, run_feed, Constituency, Exports, InhibitionKind, Interval, Mapping, Org, Settings,
};
use tocsin_store::{Feeds, Store};
use tocsin_store_sqlite::SqliteStore;

fn opts(run: &str, now: &str) -> NotifyOptions {
    NotifyOptions {
        run_id: Some(run.into()),
        report_type: "scan_test".into(),
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
        Exports::default(),
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
    let csv = &w.text[w.text.find(CSV_BEGIN).unwrap()..w.text.find(CSV_END).unwrap()];
    let org = w.audience_id.as_str().strip_prefix("feed-org:").unwrap();
    assert_eq!(
        csv.trim().lines().count() as u64 - 2,
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
        interval: Some(interval),
        interval_by_type: Default::default(),
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
        Exports::default(),
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
fn intervals_are_kept_per_organisation_and_report_type() {
    let mut a = org("a", &["10.0.0.0/8"], Interval::Every(86_400), vec![]);
    a.interval_by_type
        .insert("scan_ntp".into(), Interval::Every(0));
    let orgs = vec![
        a,
        org("b", &["20.0.0.0/8"], Interval::Every(3_600), vec![]),
        org("c", &["30.0.0.0/8"], Interval::Never, vec![]),
    ];
    let (c, _) = Constituency::new(orgs, vec![]);
    let store = SqliteStore::open_in_memory().unwrap();
    let mut n = 0;
    let mut run = |id: &str, report: &str, at: &str| {
        // Each run reads a different file (a blank line more): the same file would be refused.
        n += 1;
        let input = format!("{EVENTS}{}", "\n".repeat(n));
        let o = NotifyOptions {
            report_type: report.into(),
            ..opts(id, at)
        };
        run_feed(
            &store,
            &c,
            input.as_bytes(),
            &Mapping::simple(),
            &o,
            Exports::default(),
            |_, _| {},
        )
        .unwrap()
    };
    let r1 = run("d1", "scan_rdp", "2026-11-27T06:00:00Z");
    assert_eq!(r1.queued.per_org.keys().collect::<Vec<_>>(), ["a", "b"]);
    assert_eq!(r1.counts.never, 1);
    // A second report type the same morning goes out to everyone due for it.
    let r2 = run("d1b", "event4_sinkhole", "2026-11-27T06:05:00Z");
    assert_eq!(r2.queued.per_org.keys().collect::<Vec<_>>(), ["a", "b"]);
    assert_eq!(r2.counts.not_due, 0);
    // Two hours later: b (hourly) is due again, a (daily) is not — except for scan_ntp, its
    // own interval for that type being every run.
    let r3 = run("d2", "scan_rdp", "2026-11-27T08:00:00Z");
    assert_eq!(r3.queued.per_org.keys().collect::<Vec<_>>(), ["b"]);
    assert_eq!(
        r3.counts.not_due, 4,
        "a's four events wait for its interval"
    );
    let held = r3
        .counts
        .organisations
        .iter()
        .find(|o| o.org_id == "a")
        .unwrap();
    assert_eq!(
        (held.status, held.next_due.as_deref()),
        ("not_due", Some("2026-11-28T06:00:00Z"))
    );
    let r4 = run("d2b", "scan_ntp", "2026-11-27T08:01:00Z");
    assert_eq!(r4.queued.per_org.keys().collect::<Vec<_>>(), ["a", "b"]);
    // A day after the first run both are due.
    let r5 = run("d3", "scan_rdp", "2026-11-28T06:00:00Z");
    assert_eq!(r5.queued.per_org.keys().collect::<Vec<_>>(), ["a", "b"]);
    assert_eq!(store.warnings(None).unwrap().len(), 9);
    assert_eq!(store.feed_runs().unwrap().len(), 5);
}

#[test]
fn daily_means_once_per_calendar_day_in_the_cert_s_time_zone() {
    let orgs = vec![org("a", &["10.0.0.0/8"], Interval::CalendarDay, vec![])];
    let settings = Settings {
        timezone: Some("Europe/Berlin".into()),
        ..Settings::default()
    };
    let (c, _) = Constituency::with_settings(orgs, settings).unwrap();
    let store = SqliteStore::open_in_memory().unwrap();
    let mut n = 0;
    let mut run = |id: &str, at: &str| {
        n += 1;
        let input = format!("{EVENTS}{}", "\n".repeat(n));
        run_feed(
            &store,
            &c,
            input.as_bytes(),
            &Mapping::simple(),
            &opts(id, at),
            Exports::default(),
            |_, _| {},
        )
        .unwrap()
        .queued
        .notifications
    };
    assert_eq!(run("x1", "2026-11-27T06:00:00Z"), 1);
    assert_eq!(
        run("x2", "2026-11-27T22:00:00Z"),
        0,
        "23:00 in Berlin, same day"
    );
    // 23:30 UTC is 00:30 on the 28th in Berlin: a new day, though not 24 hours later.
    assert_eq!(run("x3", "2026-11-27T23:30:00Z"), 1);
}

#[test]
fn malformed_rows_are_counted_with_their_values_and_unmatched_exported() {
    let (c, _) = Constituency::new(
        vec![org("a", &["10.0.0.0/8"], Interval::Every(0), vec![])],
        vec![],
    );
    let t = "2026-11-27 01:00:00";
    let input = format!(
        "timestamp,ip,port,protocol,type\n\
         {t},10.0.0.1,22,tcp,scan\n\
         {t},10.0.0.999,22,tcp,scan\n\
         {t},10.0.0.2,99999,tcp,scan\n\
         {t},\"10.0.0.3\n\
         2026-02-30 01:00:00,10.0.0.4,22,tcp,scan\n\
         {t},192.0.2.1,80,tcp,\"say \"\"hi\"\"\"\n\
         {t},2001:db8::1,80,tcp,scan\n\
         {t},10.0.0.5,22,tcp,scan\n\
         {t},10.0.0.6,22,tcp,scan\n"
    );
    let store = SqliteStore::open_in_memory().unwrap();
    let mut unmatched = Vec::new();
    let r = run_feed(
        &store,
        &c,
        input.as_bytes(),
        &Mapping::simple(),
        &opts("m1", "2026-11-27T06:00:00Z"),
        Exports {
            unmatched: Some(Box::new(&mut unmatched)),
            inhibited: None,
        },
        |_, _| {},
    )
    .unwrap();
    let k = &r.counts;
    assert_eq!(
        (k.events, k.matched, k.unmatched, k.malformed),
        (9, 3, 2, 4)
    );
    let got: Vec<(u64, &str)> = k
        .malformed_examples
        .iter()
        .map(|m| (m.line, m.reason.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            (3, "bad IP address \"10.0.0.999\""),
            (4, "bad port \"99999\" (expected 0-65535)"),
            (5, "unterminated quoted field"),
            (
                6,
                "bad timestamp \"2026-02-30 01:00:00\" (expected YYYY-MM-DD HH:MM:SS or RFC 3339)"
            ),
        ]
    );
    let un = String::from_utf8(unmatched).unwrap();
    assert_eq!(
        un,
        format!("timestamp,ip,port,protocol,type\n{t},192.0.2.1,80,tcp,\"say \"\"hi\"\"\"\n{t},2001:db8::1,80,tcp,scan\n"),
        "rows as the feed wrote them, quotes and all"
    );
}

#[test]
fn empty_broken_and_misread_files_are_refused() {
    let (c, _) = Constituency::new(
        vec![org("a", &["10.0.0.0/8"], Interval::Every(0), vec![])],
        vec![],
    );
    let store = SqliteStore::open_in_memory().unwrap();
    let err = |input: &str, mapping: &Mapping| {
        run_feed(
            &store,
            &c,
            input.as_bytes(),
            mapping,
            &opts("e1", "2026-11-27T06:00:00Z"),
            Exports::default(),
            |_, _| {},
        )
        .err()
        .map(|e| e.to_string())
        .unwrap_or_else(|| "accepted".into())
    };
    let e = err("", &Mapping::simple());
    assert!(e.contains("empty feed file"), "{e}");
    let e = err("timestamp,ip,port,protocol,type\n\n", &Mapping::simple());
    assert!(e.contains("no event rows"), "{e}");
    let e = err(
        "timestamp,ip,port,protocol,type\nx,10.0.0.1,22,tcp,scan\nx,10.0.0.2,22,tcp,scan\n2026-11-27 01:00:00,10.0.0.3,22,tcp,scan\n",
        &Mapping::simple(),
    );
    assert!(
        e.contains("2 of 3 rows are malformed") && e.contains("bad timestamp \"x\""),
        "{e}"
    );
    let mut guessed = Mapping::simple();
    guessed.guessed = true;
    let ss = "\"timestamp\",\"ip\",\"protocol\",\"port\",\"hostname\",\"tag\",\"asn\"\n\"2026-11-27 00:01:02\",\"10.1.2.3\",\"tcp\",\"445\",\"\",\"smb\",\"64500\"\n";
    let e = err(ss, &guessed);
    assert!(e.contains("--mapping shadowserver"), "{e}");
    assert!(store.warnings(None).unwrap().is_empty());
    assert!(store.feed_runs().unwrap().is_empty());
}

#[test]
fn run_ids_are_unique_and_the_same_file_is_refused() {
    let (c, _) = Constituency::new(
        vec![org("a", &["10.0.0.0/8"], Interval::Every(0), vec![])],
        vec![],
    );
    let store = SqliteStore::open_in_memory().unwrap();
    let run = |input: &str, run_id: Option<&str>| {
        let o = NotifyOptions {
            run_id: run_id.map(str::to_owned),
            ..opts("unused", "2026-11-27T06:00:00Z")
        };
        run_feed(
            &store,
            &c,
            input.as_bytes(),
            &Mapping::simple(),
            &o,
            Exports::default(),
            |_, _| {},
        )
    };
    // Two files in the same second (same `now`): different ids, both runs stored.
    let one = EVENTS.to_owned();
    let two = format!("{EVENTS}\n");
    let r1 = run(&one, None).unwrap();
    let r2 = run(&two, None).unwrap();
    assert_ne!(r1.run_id, r2.run_id);
    assert!(
        r1.run_id.starts_with("20261127T060000.000000Z-") && r1.run_id.ends_with(&r1.sha256[..12]),
        "{}",
        r1.run_id
    );
    let e = run(&one, None).err().unwrap().to_string();
    assert!(
        e.contains(&format!("already ingested as run {}", r1.run_id)),
        "{e}"
    );
    let e = run(&format!("{EVENTS}\n\n"), Some(&r2.run_id))
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("already exists"), "{e}");
    assert_eq!(store.feed_runs().unwrap().len(), 2);
}

#[test]
fn asn_and_domain_match_what_no_prefix_holds_and_say_so() {
    let mut isp = org("isp", &["10.0.0.0/8"], Interval::Every(0), vec![]);
    isp.asns = vec![64500];
    let mut asn_only = org("asnonly", &[], Interval::Every(0), vec![]);
    asn_only.asns = vec![64501];
    let mut by_name = org("named", &[], Interval::Every(0), vec![]);
    by_name.domains = vec!["klinik.example".into()];
    let (c, _) = Constituency::new(vec![isp, asn_only, by_name], vec![]);
    let input = "timestamp,ip,port,protocol,type,asn,domain\n\
                 2026-11-27T01:00:00Z,10.0.0.1,22,tcp,ssh,64501,www.klinik.example\n\
                 2026-11-27T01:00:01Z,20.0.0.1,22,tcp,ssh,64501,\n\
                 2026-11-27T01:00:02Z,20.0.0.2,22,tcp,ssh,64501,Mail.Klinik.Example.\n\
                 2026-11-27T01:00:03Z,20.0.0.3,22,tcp,ssh,64599,other.example\n";
    let store = SqliteStore::open_in_memory().unwrap();
    let r = run_feed(
        &store,
        &c,
        input.as_bytes(),
        &Mapping::simple(),
        &opts("a1", "2026-11-27T06:00:00Z"),
        Exports::default(),
        |_, _| {},
    )
    .unwrap();
    let k = &r.counts;
    assert_eq!(
        (
            k.matched_by_prefix,
            k.matched_by_domain,
            k.matched_by_asn,
            k.unmatched
        ),
        (1, 1, 1, 1)
    );
    let text = |org: &str| {
        store
            .warnings(None)
            .unwrap()
            .into_iter()
            .find(|w| w.audience_id.as_str() == format!("feed-org:{org}"))
            .unwrap()
            .text
    };
    assert!(
        text("isp").contains("2026-11-27T01:00:00Z,10.0.0.1,22,tcp,ssh,64501,www.klinik.example,prefix:10.0.0.0/8\r\n"),
        "the most specific prefix wins over domain and ASN: {}",
        text("isp")
    );
    assert!(text("asnonly").contains(",20.0.0.1,22,tcp,ssh,64501,,asn:64501\r\n"));
    assert!(text("named")
        .contains(",20.0.0.2,22,tcp,ssh,64501,Mail.Klinik.Example.,domain:klinik.example\r\n"));
    assert!(text("named").contains("timestamp,ip,port,protocol,type,asn,domain,matched_by\r\n"));
}

#[test]
fn organisations_without_a_contact_are_counted_not_notified() {
    let mut silent = org("silent", &["20.0.0.0/8"], Interval::Every(0), vec![]);
    silent.emails.clear();
    let (c, _) = Constituency::new(
        vec![
            org("a", &["10.0.0.0/8"], Interval::Every(0), vec![]),
            silent,
        ],
        vec![],
    );
    let store = SqliteStore::open_in_memory().unwrap();
    let r = run_feed(
        &store,
        &c,
        EVENTS.as_bytes(),
        &Mapping::simple(),
        &opts("n1", "2026-11-27T06:00:00Z"),
        Exports::default(),
        |_, _| {},
    )
    .unwrap();
    assert_eq!((r.counts.no_contact, r.queued.notifications), (1, 1));
    let s = r
        .counts
        .organisations
        .iter()
        .find(|o| o.org_id == "silent")
        .unwrap();
    assert_eq!((s.status, s.matched, s.queued), ("no_contact", 1, 0));
}

#[test]
fn shadowserver_layout_and_jsonl_feed_the_same_pipeline() {
    let (c, _) = Constituency::new(
        vec![org(
            "a",
            &["10.0.0.0/8", "2001:db8::/32"],
            Interval::Every(0),
            vec![InhibitionKind::EventType("accessible-smb".into())],
        )],
        vec![],
    );
    let ss = "\"timestamp\",\"ip\",\"protocol\",\"port\",\"hostname\",\"tag\",\"asn\",\"geo\",\"region\",\"city\"\n\
              \"2026-11-27 00:01:02\",\"10.1.2.3\",\"tcp\",\"445\",\"h.example\",\"smb\",\"64500\",\"DE\",\"BERLIN\",\"BERLIN\"\n\
              \"2026-11-27 00:01:03\",\"10.1.2.4\",\"tcp\",\"3389\",\"\",\"rdp;cve-2019-0708\",\"64500\",\"DE\",\"BERLIN\",\"BERLIN\"\n";
    let store = SqliteStore::open_in_memory().unwrap();
    let mut inhibited = Vec::new();
    // The same rows as two reports: the smb scan is inhibited by its normalised name.
    for (id, report) in [("s1", "scan_rdp"), ("s2", "scan_smb")] {
        let input = if id == "s1" {
            ss.to_owned()
        } else {
            format!("{ss}\n")
        };
        let o = NotifyOptions {
            report_type: report.into(),
            ..opts(id, "2026-11-27T06:00:00Z")
        };
        let exports = Exports {
            unmatched: None,
            inhibited: if id == "s2" {
                Some(Box::new(&mut inhibited))
            } else {
                None
            },
        };
        let r = run_feed(
            &store,
            &c,
            input.as_bytes(),
            &Mapping::shadowserver(),
            &o,
            exports,
            |_, _| {},
        )
        .unwrap();
        if id == "s1" {
            assert_eq!((r.counts.matched, r.queued.notifications), (2, 1));
        } else {
            assert_eq!((r.counts.inhibited, r.queued.notifications), (2, 0));
            assert_eq!(
                r.counts.organisations[0].inhibited_by,
                [("type:accessible-smb".to_owned(), 2)].into()
            );
        }
    }
    let w = &store.warnings(None).unwrap()[0];
    assert!(
        w.text.contains("\"2026-11-27 00:01:02\",\"10.1.2.3\",\"tcp\",\"445\",\"h.example\",\"smb\",\"64500\",\"DE\",\"BERLIN\",\"BERLIN\",prefix:10.0.0.0/8"),
        "every column of the report: {}",
        w.text
    );
    assert!(w.text.contains("rdp;cve-2019-0708: 1"), "{}", w.text);
    let inh = String::from_utf8(inhibited).unwrap();
    assert_eq!(inh.lines().count(), 3, "{inh}");
    assert!(inh.starts_with(
        "timestamp,ip,protocol,port,hostname,tag,asn,geo,region,city,org_id,inhibited_by\n"
    ));
    assert!(inh.contains(",a,type:accessible-smb\n"), "{inh}");
    let jl = "{\"timestamp\":\"2026-11-27T01:00:00Z\",\"ip\":\"2001:db8::7\",\"port\":22,\"protocol\":\"tcp\",\"type\":\"scan_ssh\",\"asn\":64500}\n{\"timestamp\":\"2026-11-27T01:00:00Z\",\"ip\":\"2001:db8::8\"}\nnot json\n";
    let r = run_feed(
        &store,
        &c,
        jl.as_bytes(),
        &Mapping::jsonl(),
        &opts("j1", "2026-11-27T07:00:00Z"),
        Exports::default(),
        |_, _| {},
    )
    .unwrap();
    assert_eq!(
        (
            r.counts.matched,
            r.counts.malformed,
            r.counts.malformed_examples[0].line
        ),
        (2, 1, 3)
    );
}
