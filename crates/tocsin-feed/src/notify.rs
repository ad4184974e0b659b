//! Aggregation and queueing: one notification per due organisation with its events as CSV and a
//! summary by event type, composed with the organisation's TLP and queued through the outbox
//! (`Feeds::queue_feed_notifications`: each warning with its deliveries in one transaction).
//!
//! The notification is a Warning of a Threat that stands for the run (`feed-<run>`, harm
//! `destructive_attack`, marked `(TLP:AMBER)`), audience `feed-org:<org_id>` (which makes it a
//! feed notification: delivered and audited, never posture-tracked), kind `operator`. The events
//! CSV travels at the end of the text between `-----BEGIN ATTACHMENT text/csv <file>-----` and
//! `-----END ATTACHMENT-----`: the e-mail channel sends it as a real attachment, a webhook
//! receives the text as it is.

use crate::constituency::Constituency;
use crate::pipeline::Spill;
use crate::{FeedError, Result};
use chrono::Duration;
use std::collections::BTreeMap;
use std::io::{BufReader, Read};
use tocsin_core::compose::{pass_gate_with_attachment, WarningFields, WarningHead};
use tocsin_core::lifecycle::WarningState;
use tocsin_core::marking::parse_mark;
use tocsin_core::tracking::{GatedWarning, Specificity};
use tocsin_core::{
    Audience, AudienceId, AudienceKind, ChannelKind, ChannelSpec, Classification, CountryCode,
    Credibility, Harm, Portion, Threat, ThreatId, ThreatWindow, Timestamp, TlpLevel, WarningId,
};
use tocsin_store::feeds::FeedNotification;
use tocsin_store::{AuditCtx, NewDelivery, Store};

/// Start of the attachment block (followed by `text/csv <file name>-----`).
pub const CSV_BEGIN: &str = tocsin_core::tracking::ATTACHMENT_BEGIN;
pub const CSV_END: &str = tocsin_core::tracking::ATTACHMENT_END;

/// How notifications are composed.
#[derive(Debug, Clone, Default)]
pub struct NotifyOptions {
    /// The run id (the threat is `feed-<run>`); `None`: the time to the microsecond and the
    /// file's SHA-256, unique by construction.
    pub run_id: Option<String>,
    /// The report type (e.g. `scan_rdp`): intervals are kept per organisation and report type.
    pub report_type: String,
    /// The feed's name as recipients read it (e.g. the file name).
    pub source: String,
    pub now: Timestamp,
    /// Most events attached per notification (all are counted in the summary).
    pub attach_limit: usize,
    /// The CERT's country (ISO 3166-1 alpha-3), the originator of the run's threat.
    pub originator: String,
    pub actor: String,
}

/// What was queued.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Queued {
    pub notifications: u64,
    pub deliveries: u64,
    /// Events per notified organisation (org id → events).
    pub per_org: BTreeMap<String, u64>,
}

struct Agg {
    org: u32,
    events: u64,
    by_type: BTreeMap<u16, u64>,
    csv: Vec<u8>,
    attached: usize,
}

/// Compose and queue the notifications of a run from its spill, one bucket at a time. A second
/// thread composes bucket b+1 while this one writes bucket b to the store (on two cores the
/// composing — reading the spill, building the texts — hides behind the store's writes).
pub fn queue(
    store: &dyn Store,
    c: &Constituency,
    spill: &Spill,
    opts: &NotifyOptions,
    run_id: &str,
) -> Result<Queued> {
    let mut out = Queued::default();
    let run = run_threat(opts, run_id)?;
    let mut threat_pending = Some(run.clone());
    let ctx = AuditCtx::new(opts.actor.clone(), opts.now);
    std::thread::scope(|scope| -> Result<()> {
        type Batch = Vec<(FeedNotification, String, u64)>;
        let (tx, rx) = std::sync::mpsc::sync_channel::<Result<Batch>>(1);
        scope.spawn(move || {
            for b in 0..crate::pipeline::BUCKETS {
                let batch = compose_bucket(c, spill, opts, run_id, &run, b);
                let failed = batch.is_err();
                if tx.send(batch).is_err() || failed {
                    return;
                }
            }
        });
        for batch in rx {
            let batch = batch?;
            if batch.is_empty() {
                continue;
            }
            for (n, org, events) in &batch {
                out.deliveries += n.deliveries.len() as u64;
                out.per_org.insert(org.clone(), *events);
            }
            let notes: Vec<FeedNotification> = batch.into_iter().map(|(n, _, _)| n).collect();
            out.notifications +=
                store.queue_feed_notifications(threat_pending.as_ref(), &notes, &ctx)? as u64;
            threat_pending = None;
        }
        Ok(())
    })?;
    Ok(out)
}

/// The notifications of one spill bucket, with each organisation's event count.
fn compose_bucket(
    c: &Constituency,
    spill: &Spill,
    opts: &NotifyOptions,
    run_id: &str,
    run: &Threat,
    b: usize,
) -> Result<Vec<(FeedNotification, String, u64)>> {
    let path = spill.bucket_path(b);
    let f = std::fs::File::open(&path).map_err(|e| FeedError::io(path.display(), e))?;
    let mut r = BufReader::with_capacity(256 << 10, f);
    let mut aggs: BTreeMap<u32, Agg> = BTreeMap::new();
    let mut head = [0u8; 11];
    let mut line = Vec::new();
    loop {
        match r.read_exact(&mut head) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => break,
            Err(e) => return Err(FeedError::io(path.display(), e)),
        }
        let org = u32::from_le_bytes(head[0..4].try_into().expect("4 bytes"));
        let ty = u16::from_le_bytes(head[4..6].try_into().expect("2 bytes"));
        let by = head[6];
        let len = u32::from_le_bytes(head[7..11].try_into().expect("4 bytes")) as usize;
        line.resize(len, 0);
        r.read_exact(&mut line)
            .map_err(|e| FeedError::io(path.display(), e))?;
        let a = aggs.entry(org).or_insert_with(|| Agg {
            org,
            events: 0,
            by_type: BTreeMap::new(),
            csv: Vec::new(),
            attached: 0,
        });
        a.events += 1;
        *a.by_type.entry(ty).or_default() += 1;
        if a.attached < opts.attach_limit {
            let nul = line.iter().position(|&x| x == 0).unwrap_or(0);
            let (detail, row) = (&line[..nul], &line[(nul + 1).min(line.len())..]);
            a.csv.extend_from_slice(row);
            a.csv.push(b',');
            let why = matched_by(c, by, detail);
            crate::pipeline::csv_field(&mut a.csv, why.as_bytes());
            a.csv.extend_from_slice(b"\r\n");
            a.attached += 1;
        }
    }
    aggs.into_values()
        .map(|a| {
            let o = &c.orgs[a.org as usize];
            Ok((
                compose(c, o, &a, spill, opts, run_id, run)?,
                o.id.clone(),
                a.events,
            ))
        })
        .collect()
}

/// The `matched_by` column: `prefix:192.0.2.0/24`, `domain:example.org` or `asn:64500`.
fn matched_by(c: &Constituency, by: u8, detail: &[u8]) -> String {
    let d = String::from_utf8_lossy(detail);
    match by {
        // IPv4 through the flat index (a look-up per attached event: the table would probe
        // every prefix length), IPv6 through the table.
        crate::pipeline::BY_PREFIX => match crate::reader::parse_ipv4(detail) {
            Some(a) => c.v4.lookup_net(a).map(|(net, _)| format!("prefix:{net}")),
            None => crate::reader::parse_ip(detail)
                .and_then(|ip| c.table.longest_match(ip))
                .map(|(net, _)| format!("prefix:{net}")),
        }
        .unwrap_or_else(|| "prefix".into()),
        crate::pipeline::BY_DOMAIN => format!("domain:{d}"),
        _ => format!("asn:{}", d.trim_start_matches("AS")),
    }
}

fn run_threat(opts: &NotifyOptions, run_id: &str) -> Result<Threat> {
    let now = seconds(opts.now);
    let mark = parse_mark("(TLP:AMBER)").map_err(|e| FeedError::Mapping {
        name: "marking".into(),
        reason: e.to_string(),
    })?;
    Ok(Threat {
        id: ThreatId::new(format!("feed-{run_id}")),
        title: format!("Feed run {run_id} ({})", opts.source),
        originator: CountryCode::parse(&opts.originator).map_err(|e| FeedError::Mapping {
            name: "originator".into(),
            reason: e.to_string(),
        })?,
        received: now,
        actor: None,
        actor_mark: mark.clone(),
        harms: vec![Harm::DestructiveAttack, Harm::Ransomware],
        credibility: Credibility::Confirmed,
        window: ThreatWindow::imminent(now, 24),
        public_advice_hours: 0,
        targets: vec![],
        portions: vec![Portion {
            mark,
            text: format!(
                "Compromised or exposed hosts reported by {} in run {run_id}.",
                opts.source
            ),
            tearline: true,
            lang: None,
            line: 1,
        }],
        restricted_terms: vec![],
        tlp: Some(TlpLevel::Amber),
        measures: vec![],
    })
}

/// A time to the whole second: what recipients read never carries nanoseconds.
fn seconds(t: Timestamp) -> Timestamp {
    use chrono::SubsecRound;
    t.trunc_subsecs(0)
}

/// One organisation's notification: the warning (text with the summary and the attachment
/// block) and one delivery per contact. Everything recipients read of it is built here.
fn compose(
    c: &Constituency,
    o: &crate::Org,
    a: &Agg,
    spill: &Spill,
    opts: &NotifyOptions,
    run_id: &str,
    run: &Threat,
) -> Result<FeedNotification> {
    use std::fmt::Write;
    let now = seconds(opts.now);
    let report = &opts.report_type;
    let date = now.with_timezone(&c.timezone).format("%Y-%m-%d");
    let file_name = format!("{date}-{report}.csv");
    let mut text = String::with_capacity(a.csv.len() + 512);
    let _ = writeln!(
        text,
        "{} security events concerning networks of {} were reported to us in the {report} report {} (run {run_id}).",
        a.events, o.name, opts.source
    );
    let _ = writeln!(text, "\nSummary by event type:");
    let mut types: Vec<(&str, u64)> = a
        .by_type
        .iter()
        .map(|(t, n)| {
            (
                spill
                    .types
                    .get(*t as usize)
                    .map(String::as_str)
                    .unwrap_or("other"),
                *n,
            )
        })
        .collect();
    types.sort_by(|x, y| y.1.cmp(&x.1).then(x.0.cmp(y.0)));
    for (t, n) in &types {
        let _ = writeln!(text, "  {t}: {n}");
    }
    if a.attached < a.events as usize {
        let _ = writeln!(
            text,
            "\nThe first {} of the {} events are in the attached file {file_name}; ask us for the rest.",
            a.attached, a.events
        );
    } else {
        let _ = writeln!(
            text,
            "\nThe {} events are in the attached file {file_name}.",
            a.events
        );
    }
    let _ = writeln!(
        text,
        "It keeps every column of the report; the last, matched_by, says why an event is yours (prefix, domain or asn)."
    );
    // The events are the organisation's own data: they travel as an attachment the gate does
    // not read (docs/feeds.md); everything said about them passes the gate.
    let mut csv = String::with_capacity(a.csv.len() + 256);
    let _ = write!(
        csv,
        "{CSV_BEGIN}text/csv {file_name}-----\n{}\r\n",
        spill.header
    );
    csv.push_str(&String::from_utf8_lossy(&a.csv));
    let _ = writeln!(csv, "{CSV_END}");
    let audience = AudienceId::new(format!(
        "{}{}",
        tocsin_core::tracking::FEED_AUDIENCE_PREFIX,
        o.id
    ));
    let wid = WarningId::new(format!("W-FEED-{run_id}-{}", o.id));
    // The headline reaches a mail Subject: nothing in it may break a header line.
    let headline: String = format!("{} security events in your networks ({report})", a.events)
        .chars()
        .map(|ch| if ch.is_control() { ' ' } else { ch })
        .collect();
    let fields = WarningFields {
        tlp: o.tlp,
        // A CERT's notice carries a TLP marking, not a classification banner.
        banner: o.tlp.label().into(),
        specificity: Specificity::NamedTarget,
        headline,
        text,
        measures: vec![
            "Check the listed hosts and clean or patch them".into(),
            "Block the exposed services at your border where they are not needed".into(),
        ],
        valid: ThreatWindow::imminent(now, 24 * 7),
        withheld_portions: 0,
        summarised_portions: 0,
        targets: vec![],
        language: tocsin_core::tracking::english(),
        translations: Vec::new(),
    };
    let recipient = Audience {
        id: audience.clone(),
        name: o.name.clone(),
        kind: AudienceKind::Operator,
        country: None,
        clearance: Classification::U,
        tlp_ceiling: o.tlp,
        orcon_approved: false,
        channels: vec![],
        escalation_contact: None,
        language: "en".into(),
        posture_interval_hours: None,
        timezone: None,
    };
    // The run's one portion is what every notification of the run reports, to each recipient
    // at its own TLP: a source, not a withheld fact.
    let allowed: Vec<&str> = run.portions.iter().map(|p| p.text.as_str()).collect();
    let passed =
        pass_gate_with_attachment(fields, &csv, run, &recipient, &[], &allowed).map_err(|e| {
            FeedError::Mapping {
                name: format!("notification for {}", o.id),
                reason: e.to_string(),
            }
        })?;
    let warning = GatedWarning::from_composed(
        passed,
        WarningHead {
            id: wid.clone(),
            threat_id: run.id.clone(),
            audience_id: audience.clone(),
            audience_kind: AudienceKind::Operator,
            version: 1,
            supersedes: None,
            state: WarningState::Approved,
            created_at: now - Duration::seconds(1),
        },
    );
    let channels = o
        .emails
        .iter()
        .map(|e| (ChannelKind::Email, e))
        .chain(o.webhooks.iter().map(|w| (ChannelKind::Webhook, w)));
    let deliveries = channels
        .map(|(kind, addr)| NewDelivery {
            audience_id: audience.clone(),
            channel: ChannelSpec {
                kind,
                address: addr.clone(),
            },
            idempotency_key: format!("feed:{run_id}:{}:{}:{}", o.id, kind.as_str(), addr),
        })
        .collect();
    Ok(FeedNotification::new(
        crate::pipeline::interval_key(report, &o.id),
        warning,
        deliveries,
    )?)
}
