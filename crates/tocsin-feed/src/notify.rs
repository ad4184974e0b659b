//! Aggregation and queueing: one notification per due organisation with its events as CSV and a
//! summary by event type, composed with the organisation's TLP and queued through the outbox
//! (`Feeds::queue_feed_notifications`: each warning with its deliveries in one transaction).
//!
//! The notification is a Warning of a Threat that stands for the run (`feed-<run>`, harm
//! `destructive_attack`, marked `(TLP:AMBER)`), audience `feed-org:<org_id>`, kind `operator`.
//! The e-mail channel sends the warning text, so the CSV travels inside it between
//! `-----BEGIN EVENTS CSV-----` and `-----END EVENTS CSV-----`.

use crate::constituency::Constituency;
use crate::pipeline::{Spill, EVENT_CSV_HEADER};
use crate::{FeedError, Result};
use chrono::Duration;
use std::collections::BTreeMap;
use std::io::{BufReader, Read};
use tocsin_core::lifecycle::WarningState;
use tocsin_core::marking::parse_mark;
use tocsin_core::tracking::{Specificity, Warning};
use tocsin_core::{
    AudienceId, AudienceKind, ChannelKind, ChannelSpec, CountryCode, Credibility, Harm, Portion,
    Threat, ThreatId, ThreatWindow, Timestamp, TlpLevel, WarningId,
};
use tocsin_store::feeds::FeedNotification;
use tocsin_store::{AuditCtx, NewDelivery, Store};

pub const CSV_BEGIN: &str = "-----BEGIN EVENTS CSV-----";
pub const CSV_END: &str = "-----END EVENTS CSV-----";

/// How notifications are composed.
#[derive(Debug, Clone)]
pub struct NotifyOptions {
    /// The run id (the threat is `feed-<run>`).
    pub run_id: String,
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
) -> Result<Queued> {
    let mut out = Queued::default();
    let mut threat_pending = Some(run_threat(opts)?);
    let ctx = AuditCtx::new(opts.actor.clone(), opts.now);
    std::thread::scope(|scope| -> Result<()> {
        let (tx, rx) = std::sync::mpsc::sync_channel::<Result<Vec<(FeedNotification, u64)>>>(1);
        scope.spawn(move || {
            for b in 0..crate::pipeline::BUCKETS {
                let batch = compose_bucket(c, spill, opts, b);
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
            for (n, events) in &batch {
                out.deliveries += n.deliveries.len() as u64;
                out.per_org.insert(n.org_id.clone(), *events);
            }
            let notes: Vec<FeedNotification> = batch.into_iter().map(|(n, _)| n).collect();
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
    b: usize,
) -> Result<Vec<(FeedNotification, u64)>> {
    let path = spill.bucket_path(b);
    let f = std::fs::File::open(&path).map_err(|e| FeedError::io(path.display(), e))?;
    let mut r = BufReader::with_capacity(256 << 10, f);
    let mut aggs: BTreeMap<u32, Agg> = BTreeMap::new();
    let mut head = [0u8; 10];
    let mut line = Vec::new();
    loop {
        match r.read_exact(&mut head) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => break,
            Err(e) => return Err(FeedError::io(path.display(), e)),
        }
        let org = u32::from_le_bytes(head[0..4].try_into().expect("4 bytes"));
        let ty = u16::from_le_bytes(head[4..6].try_into().expect("2 bytes"));
        let len = u32::from_le_bytes(head[6..10].try_into().expect("4 bytes")) as usize;
        line.resize(len, 0);
        r.read_exact(&mut line)
            .map_err(|e| FeedError::io(path.display(), e))?;
        let a = aggs.entry(org).or_insert_with(|| Agg {
            events: 0,
            by_type: BTreeMap::new(),
            csv: Vec::new(),
            attached: 0,
        });
        a.events += 1;
        *a.by_type.entry(ty).or_default() += 1;
        if a.attached < opts.attach_limit {
            a.csv.extend_from_slice(&line);
            a.attached += 1;
        }
    }
    aggs.into_iter()
        .map(|(org, a)| Ok((compose(&c.orgs[org as usize], &a, spill, opts)?, a.events)))
        .collect()
}

fn run_threat(opts: &NotifyOptions) -> Result<Threat> {
    let mark = parse_mark("(TLP:AMBER)").map_err(|e| FeedError::Mapping {
        name: "marking".into(),
        reason: e.to_string(),
    })?;
    Ok(Threat {
        id: ThreatId::new(format!("feed-{}", opts.run_id)),
        title: format!("Feed run {} ({})", opts.run_id, opts.source),
        originator: CountryCode::parse(&opts.originator).map_err(|e| FeedError::Mapping {
            name: "originator".into(),
            reason: e.to_string(),
        })?,
        received: opts.now,
        actor: None,
        actor_mark: mark.clone(),
        harms: vec![Harm::DestructiveAttack, Harm::Ransomware],
        credibility: Credibility::Confirmed,
        window: ThreatWindow::imminent(opts.now, 24),
        public_advice_hours: 0,
        targets: vec![],
        portions: vec![Portion {
            mark,
            text: format!(
                "Compromised or exposed hosts reported by {} in run {}.",
                opts.source, opts.run_id
            ),
            tearline: true,
            line: 1,
        }],
        restricted_terms: vec![],
        tlp: Some(TlpLevel::Amber),
        measures: vec![],
    })
}

fn compose(
    o: &crate::Org,
    a: &Agg,
    spill: &Spill,
    opts: &NotifyOptions,
) -> Result<FeedNotification> {
    use std::fmt::Write;
    let mut text = String::with_capacity(a.csv.len() + 512);
    let _ = writeln!(
        text,
        "{} events concerning networks of {} were reported by {} (run {}).",
        a.events, o.name, opts.source, opts.run_id
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
            "\nEvents (CSV): the first {} of {} are attached; ask us for the rest.",
            a.attached, a.events
        );
    } else {
        let _ = writeln!(text, "\nEvents (CSV, {} rows):", a.events);
    }
    let _ = writeln!(text, "{CSV_BEGIN}\n{EVENT_CSV_HEADER}");
    text.push_str(&String::from_utf8_lossy(&a.csv));
    let _ = writeln!(text, "{CSV_END}");
    let audience = AudienceId::new(format!("feed-org:{}", o.id));
    let wid = WarningId::new(format!("W-FEED-{}-{}", opts.run_id, o.id));
    let warning = Warning {
        id: wid.clone(),
        threat_id: ThreatId::new(format!("feed-{}", opts.run_id)),
        audience_id: audience.clone(),
        audience_kind: AudienceKind::Operator,
        version: 1,
        supersedes: None,
        tlp: o.tlp,
        banner: "UNCLASSIFIED".into(),
        specificity: Specificity::NamedTarget,
        headline: format!(
            "{} security events in your networks ({})",
            a.events,
            types.first().map(|t| t.0).unwrap_or("events")
        ),
        text,
        measures: vec![
            "Check the listed hosts and clean or patch them".into(),
            "Block the exposed services at your border where they are not needed".into(),
        ],
        valid: ThreatWindow::imminent(opts.now, 24 * 7),
        state: WarningState::Approved,
        created_at: opts.now - Duration::seconds(1),
    };
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
            idempotency_key: format!("feed:{}:{}:{}:{}", opts.run_id, o.id, kind.as_str(), addr),
        })
        .collect();
    Ok(FeedNotification::new(o.id.clone(), warning, deliveries)?)
}
