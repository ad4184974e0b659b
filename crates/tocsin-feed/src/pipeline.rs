//! The streaming intake: rows → events → owner (most specific prefix, then domain, then ASN) →
//! intervals and inhibitions → per-organisation spill files. Memory is bounded by the read
//! buffer, the spill buffers and the per-organisation counters, whatever the file size.

use crate::constituency::{Constituency, Due, InhibitionKind};
use crate::mapping::{Format, Mapping};
use crate::reader::{
    parse_asn, parse_ip, parse_ipv4, parse_uint, split_fields, valid_timestamp, Line, LineReader,
};
use crate::vocabulary::ReportType;
use crate::{FeedError, Result};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::net::IpAddr;

/// Rows between two calls of an ingest's progress callback: often enough for a progress bar,
/// rarely enough to cost nothing.
pub const PROGRESS_EVERY: u64 = 10_000;
use tocsin_core::Timestamp;

/// The header of the CSV Tocsin writes for events read from JSON lines (CSV feeds keep their
/// own columns).
pub const EVENT_CSV_HEADER: &str = "timestamp,ip,port,protocol,type,asn";

/// Spill buckets: matched events go to `org % BUCKETS`; composing reads one bucket at a time.
pub const BUCKETS: usize = 64;

/// Why an event went to its organisation (spill record byte; the attachment's `matched_by`).
pub(crate) const BY_PREFIX: u8 = 0;
pub(crate) const BY_DOMAIN: u8 = 1;
pub(crate) const BY_ASN: u8 = 2;

/// A malformed row: where and why (the reason quotes the offending value).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Malformed {
    pub line: u64,
    pub reason: String,
}

/// One organisation's part of a run, for review: what was matched, and what happened to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OrgRun {
    pub org_id: String,
    /// `queued` (a notification went out), `not_due` (interval), `never`, `no_contact`, or
    /// `inhibited` (every event was).
    pub status: &'static str,
    pub matched: u64,
    pub queued: u64,
    pub inhibited: u64,
    /// With `not_due`: when the interval lets the next notification go.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_due: Option<String>,
    /// Inhibited events by rule (`type:scan_ntp`, `*:asn:64511` for the `*` row's).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub inhibited_by: BTreeMap<String, u64>,
}

/// What a run saw. `events` = rows read (header excluded) = `matched + unmatched + malformed`;
/// `matched = matched_by_prefix + matched_by_domain + matched_by_asn`
/// `= inhibited + not_due + never + no_contact + queued_events`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RunCounts {
    pub report_type: String,
    pub events: u64,
    pub matched: u64,
    pub matched_by_prefix: u64,
    pub matched_by_domain: u64,
    pub matched_by_asn: u64,
    pub unmatched: u64,
    pub malformed: u64,
    /// The first `max_examples` malformed rows.
    pub malformed_examples: Vec<Malformed>,
    /// Suppressed by an inhibition (prefix, ASN, domain, event type or organisation).
    pub inhibited: u64,
    /// The organisation was notified about this report type less than its interval ago.
    pub not_due: u64,
    /// The organisation's interval is -1 (never notify).
    pub never: u64,
    /// The organisation has no e-mail or webhook contact.
    pub no_contact: u64,
    /// Events that go into notifications.
    pub queued_events: u64,
    /// Every organisation with matched events.
    pub organisations: Vec<OrgRun>,
    /// Matched events per organisation (index into the constituency), before inhibitions.
    #[serde(skip)]
    pub per_org_matched: Vec<u64>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Status {
    Due,
    NotDue(Timestamp),
    Never,
    NoContact,
}

/// The key under which the store keeps when an organisation was last notified about a report
/// type (report types never contain `:`).
pub fn interval_key(report_type: &str, org_id: &str) -> String {
    format!("{report_type}:{org_id}")
}

/// Matched, due, uninhibited events on disk, by organisation bucket.
pub struct Spill {
    pub(crate) dir: tempfile::TempDir,
    writers: Vec<BufWriter<File>>,
    /// Event types by id (the spill stores the id).
    pub types: Vec<String>,
    /// The header of the events CSV (the source's columns, then `matched_by`).
    pub header: String,
}

impl Spill {
    fn new() -> Result<Self> {
        let dir = tempfile::Builder::new()
            .prefix("tocsin-feed-")
            .tempdir()
            .map_err(|e| FeedError::io("temporary spill directory", e))?;
        let writers = (0..BUCKETS)
            .map(|b| {
                let p = dir.path().join(format!("bucket-{b}"));
                File::create(&p)
                    .map(|f| BufWriter::with_capacity(64 << 10, f))
                    .map_err(|e| FeedError::io(p.display(), e))
            })
            .collect::<Result<_>>()?;
        Ok(Self {
            dir,
            writers,
            types: Vec::new(),
            header: String::new(),
        })
    }

    pub(crate) fn bucket_path(&self, b: usize) -> std::path::PathBuf {
        self.dir.path().join(format!("bucket-{b}"))
    }

    fn flush(&mut self) -> Result<()> {
        for w in &mut self.writers {
            w.flush().map_err(|e| FeedError::io("spill file", e))?;
        }
        Ok(())
    }
}

/// One event's fields, borrowed from the row, and the row as CSV.
struct Ev<'a> {
    line: u64,
    ts: &'a [u8],
    ip: &'a [u8],
    port: &'a [u8],
    ty: &'a [u8],
    asn: &'a [u8],
    domain: &'a [u8],
    row: &'a [u8],
}

/// The state `event` updates, split from the pipeline's borrowed parts.
struct Acc<'c> {
    counts: RunCounts,
    spill: Spill,
    unmatched: Option<Box<dyn Write + 'c>>,
    inhibited: Option<Box<dyn Write + 'c>>,
    max_examples: usize,
    type_ids: HashMap<Vec<u8>, u16>,
    last_type: (Vec<u8>, u16),
    rec: Vec<u8>,
    per_org_inhibited: Vec<u64>,
    per_org_queued: Vec<u64>,
    /// (organisation, global rule?, rule index) → events.
    inhibited_by: HashMap<(u32, bool, u16), u64>,
}

pub struct Pipeline<'c> {
    c: &'c Constituency,
    report: ReportType,
    status: Vec<Status>,
    acc: Acc<'c>,
    default_type: Vec<u8>,
    default_proto: Vec<u8>,
    row: Vec<u8>,
    json_fields: [String; 7],
}

/// A value quoted for a malformed-row reason: at most 80 characters, escapes visible.
fn shown(v: &[u8]) -> String {
    let s = String::from_utf8_lossy(v);
    let mut t: String = s.chars().take(80).collect();
    if s.chars().count() > 80 {
        t.push('…');
    }
    format!("{t:?}")
}

impl<'c> Pipeline<'c> {
    /// A run of `report_type` at `now`: organisations notified about it less than their interval
    /// before `now` (`last_notified`, by [`interval_key`]) are not due.
    pub fn new(
        c: &'c Constituency,
        last_notified: &HashMap<String, Timestamp>,
        now: Timestamp,
        report_type: &str,
    ) -> Result<Self> {
        let report = ReportType::new(report_type);
        let status = c
            .orgs
            .iter()
            .map(|o| {
                let last = last_notified
                    .get(&interval_key(&report.name, &o.id))
                    .copied();
                match c.interval(o, &report.name).due(last, now, c.timezone) {
                    Due::Never => Status::Never,
                    Due::NotBefore(t) => Status::NotDue(t),
                    Due::Now if !o.has_contact() => Status::NoContact,
                    Due::Now => Status::Due,
                }
            })
            .collect();
        let counts = RunCounts {
            report_type: report.name.clone(),
            per_org_matched: vec![0; c.orgs.len()],
            ..RunCounts::default()
        };
        Ok(Self {
            c,
            report,
            status,
            acc: Acc {
                counts,
                spill: Spill::new()?,
                unmatched: None,
                inhibited: None,
                max_examples: 100,
                type_ids: HashMap::new(),
                last_type: (Vec::new(), u16::MAX),
                rec: Vec::with_capacity(256),
                per_org_inhibited: vec![0; c.orgs.len()],
                per_org_queued: vec![0; c.orgs.len()],
                inhibited_by: HashMap::new(),
            },
            default_type: b"unknown".to_vec(),
            default_proto: Vec::new(),
            row: Vec::with_capacity(256),
            json_fields: Default::default(),
        })
    }

    /// Export unmatched events as CSV (the feed's columns) to `out`.
    pub fn unmatched_to(&mut self, out: Box<dyn Write + 'c>) -> Result<()> {
        self.acc.unmatched = Some(out);
        Ok(())
    }

    /// Export inhibited events as CSV (the feed's columns, then `org_id` and `inhibited_by`).
    pub fn inhibited_to(&mut self, out: Box<dyn Write + 'c>) -> Result<()> {
        self.acc.inhibited = Some(out);
        Ok(())
    }

    /// Keep the first `n` malformed rows as examples (default 100).
    pub fn max_examples(&mut self, n: usize) {
        self.acc.max_examples = n;
    }

    /// Write the exports' headers once the feed's columns are known.
    fn start_exports(&mut self, header: &str) -> Result<()> {
        self.acc.spill.header = format!("{header},matched_by");
        if let Some(w) = &mut self.acc.unmatched {
            writeln!(w, "{header}").map_err(|e| FeedError::io("unmatched export", e))?;
        }
        if let Some(w) = &mut self.acc.inhibited {
            writeln!(w, "{header},org_id,inhibited_by")
                .map_err(|e| FeedError::io("inhibited export", e))?;
        }
        Ok(())
    }

    /// Stream one feed file through. `progress(rows, bytes)` every [`PROGRESS_EVERY`] rows and at the end. An empty
    /// file, or (with a guessed mapping) a header that is not the `simple` layout, is an error.
    pub fn ingest<R: Read>(
        &mut self,
        input: R,
        mapping: &Mapping,
        file: &str,
        mut progress: impl FnMut(u64, u64),
    ) -> Result<()> {
        self.default_type = mapping
            .defaults
            .event_type
            .clone()
            .unwrap_or_else(|| "unknown".into())
            .into_bytes();
        self.default_proto = mapping
            .defaults
            .protocol
            .clone()
            .unwrap_or_default()
            .into_bytes();
        let mut lines = LineReader::new(input);
        let io = |e| FeedError::io(file, e);
        let perr = |line: u64, reason: String| FeedError::Parse {
            file: file.into(),
            line,
            reason,
        };
        match mapping.format {
            Format::Csv => {
                let delim = mapping.delimiter_byte()?;
                let mut f = Vec::with_capacity(32);
                let resolved = loop {
                    match lines.next().map_err(io)? {
                        None => return Err(perr(0, "empty feed file (no header, no rows)".into())),
                        Some(Line::TooLong(n)) => {
                            return Err(perr(n, "header line too long".into()))
                        }
                        Some(Line::Ok(n, l)) => {
                            if l.trim_ascii().is_empty() || l.starts_with(b"#") {
                                continue;
                            }
                            split_fields(l, delim, &mut f)
                                .map_err(|r| perr(n, format!("header: {r}")))?;
                            let names: Vec<String> = f
                                .iter()
                                .map(|&(s, e)| {
                                    String::from_utf8_lossy(&l[s as usize..e as usize])
                                        .trim()
                                        .to_owned()
                                })
                                .collect();
                            let refs: Vec<&str> = names.iter().map(String::as_str).collect();
                            mapping.check_guess(&refs)?;
                            let mut header = Vec::new();
                            for (i, n) in names.iter().enumerate() {
                                if i > 0 {
                                    header.push(b',');
                                }
                                csv_field(&mut header, n.as_bytes());
                            }
                            self.start_exports(&String::from_utf8_lossy(&header))?;
                            break mapping.resolve(&refs)?;
                        }
                    }
                };
                let empty: &[u8] = b"";
                while let Some(line) = lines.next().map_err(io)? {
                    let (n, l) = match line {
                        Line::TooLong(n) => {
                            self.acc.malformed(n, "line longer than 1 MiB".into());
                            continue;
                        }
                        Line::Ok(n, l) => (n, l),
                    };
                    if l.is_empty() {
                        continue;
                    }
                    if let Err(r) = split_fields(l, delim, &mut f) {
                        self.acc.malformed(n, r.into());
                        continue;
                    }
                    if f.len() <= resolved.needed {
                        let msg = format!(
                            "expected at least {} columns, found {}",
                            resolved.needed + 1,
                            f.len()
                        );
                        self.acc.malformed(n, msg);
                        continue;
                    }
                    let get = |c: Option<usize>| {
                        c.map(|i| &l[f[i].0 as usize..f[i].1 as usize])
                            .unwrap_or(empty)
                    };
                    // The row as CSV: the line itself, or re-quoted from another delimiter.
                    let row: &[u8] = if delim == b',' {
                        l
                    } else {
                        self.row.clear();
                        for (i, &(s, e)) in f.iter().enumerate() {
                            if i > 0 {
                                self.row.push(b',');
                            }
                            csv_field_unquoted(&mut self.row, &l[s as usize..e as usize]);
                        }
                        &self.row
                    };
                    let ev = Ev {
                        line: n,
                        ts: get(resolved.timestamp),
                        ip: get(Some(resolved.ip)),
                        port: get(resolved.port),
                        ty: get(resolved.event_type),
                        asn: get(resolved.asn),
                        domain: get(resolved.domain),
                        row,
                    };
                    Self::event(
                        self.c,
                        &self.report,
                        &self.status,
                        &mut self.acc,
                        &self.default_type,
                        ev,
                    )?;
                    if self.acc.counts.events.is_multiple_of(PROGRESS_EVERY) {
                        progress(self.acc.counts.events, lines.bytes_read());
                    }
                }
            }
            Format::Jsonl => {
                self.start_exports(EVENT_CSV_HEADER)?;
                let cols = &mapping.columns;
                let keys: [Option<crate::mapping::Columns>; 7] = [
                    cols.timestamp.clone(),
                    Some(cols.ip.clone()),
                    cols.port.clone(),
                    cols.protocol.clone(),
                    cols.event_type.clone(),
                    cols.asn.clone(),
                    cols.domain.clone(),
                ];
                while let Some(line) = lines.next().map_err(io)? {
                    let (n, l) = match line {
                        Line::TooLong(n) => {
                            self.acc.malformed(n, "line longer than 1 MiB".into());
                            continue;
                        }
                        Line::Ok(n, l) => (n, l),
                    };
                    if l.trim_ascii().is_empty() {
                        continue;
                    }
                    let obj: serde_json::Map<String, serde_json::Value> =
                        match serde_json::from_slice(l) {
                            Ok(o) => o,
                            Err(e) => {
                                self.acc.malformed(n, format!("not a JSON object: {e}"));
                                continue;
                            }
                        };
                    for (slot, key) in self.json_fields.iter_mut().zip(&keys) {
                        slot.clear();
                        if let Some(v) = key
                            .as_ref()
                            .and_then(|c| c.names().into_iter().find_map(|k| obj.get(k)))
                        {
                            match v {
                                serde_json::Value::String(s) => slot.push_str(s),
                                serde_json::Value::Null => {}
                                other => slot.push_str(&other.to_string()),
                            }
                        }
                    }
                    let [ts, ip, port, proto, ty, asn, domain] = &self.json_fields;
                    let proto = match proto.as_bytes() {
                        b"" => &self.default_proto[..],
                        p => p,
                    };
                    let ty_or_default = match ty.as_bytes() {
                        b"" => &self.default_type[..],
                        t => t,
                    };
                    self.row.clear();
                    for (i, v) in [
                        ts.as_bytes(),
                        ip.as_bytes(),
                        port.as_bytes(),
                        proto,
                        ty_or_default,
                        asn.as_bytes(),
                    ]
                    .into_iter()
                    .enumerate()
                    {
                        if i > 0 {
                            self.row.push(b',');
                        }
                        csv_field(&mut self.row, v);
                    }
                    let ev = Ev {
                        line: n,
                        ts: ts.as_bytes(),
                        ip: ip.as_bytes(),
                        port: port.as_bytes(),
                        ty: ty.as_bytes(),
                        asn: asn.as_bytes(),
                        domain: domain.as_bytes(),
                        row: &self.row,
                    };
                    Self::event(
                        self.c,
                        &self.report,
                        &self.status,
                        &mut self.acc,
                        &self.default_type,
                        ev,
                    )?;
                    if self.acc.counts.events.is_multiple_of(PROGRESS_EVERY) {
                        progress(self.acc.counts.events, lines.bytes_read());
                    }
                }
            }
        }
        if self.acc.counts.events == 0 {
            return Err(perr(
                lines.line_no(),
                "no event rows: the feed file is empty".into(),
            ));
        }
        progress(self.acc.counts.events, lines.bytes_read());
        Ok(())
    }

    // One function over split borrows of the pipeline: the hot path, kept free of allocation.
    #[inline]
    fn event(
        c: &Constituency,
        report: &ReportType,
        status: &[Status],
        acc: &mut Acc<'c>,
        default_type: &[u8],
        ev: Ev<'_>,
    ) -> Result<()> {
        let ip = ev.ip.trim_ascii();
        let v4 = parse_ipv4(ip);
        let addr = match v4 {
            Some(a) => IpAddr::V4(a.into()),
            None => match parse_ip(ip) {
                Some(a) => a,
                None => {
                    acc.malformed(ev.line, format!("bad IP address {}", shown(ip)));
                    return Ok(());
                }
            },
        };
        let port = ev.port.trim_ascii();
        if !port.is_empty() && parse_uint(port, 65_535).is_none() {
            acc.malformed(
                ev.line,
                format!("bad port {} (expected 0-65535)", shown(port)),
            );
            return Ok(());
        }
        let asn_text = ev.asn.trim_ascii();
        let asn = if asn_text.is_empty() {
            None
        } else {
            match parse_asn(asn_text) {
                Some(a) => Some(a),
                None => {
                    acc.malformed(ev.line, format!("bad ASN {}", shown(asn_text)));
                    return Ok(());
                }
            }
        };
        let ts = ev.ts.trim_ascii();
        if !ts.is_empty() && !valid_timestamp(ts) {
            acc.malformed(
                ev.line,
                format!(
                    "bad timestamp {} (expected YYYY-MM-DD HH:MM:SS or RFC 3339)",
                    shown(ts)
                ),
            );
            return Ok(());
        }
        let ty = match ev.ty.trim_ascii() {
            b"" => default_type,
            t => t,
        };
        let domain = ev.domain.trim_ascii();
        acc.counts.events += 1;
        let by_prefix = match v4 {
            Some(a) => c.v4.lookup(a),
            None => c.table.longest_match(addr).map(|(_, &o)| o),
        };
        // `skip`: with a domain match, where the listed domain starts in the host name.
        let (org, by, skip) = match by_prefix {
            Some(o) => (o as usize, BY_PREFIX, 0),
            None => match c
                .domain_owner(domain)
                .map(|(o, skip)| (o as usize, BY_DOMAIN, skip))
                .or_else(|| {
                    asn.and_then(|a| c.asns.get(&a))
                        .map(|&o| (o as usize, BY_ASN, 0))
                }) {
                Some(m) => m,
                None => {
                    acc.counts.unmatched += 1;
                    if let Some(w) = &mut acc.unmatched {
                        w.write_all(ev.row)
                            .and_then(|_| w.write_all(b"\n"))
                            .map_err(|e| FeedError::io("unmatched export", e))?;
                    }
                    return Ok(());
                }
            },
        };
        let counts = &mut acc.counts;
        counts.matched += 1;
        match by {
            BY_PREFIX => counts.matched_by_prefix += 1,
            BY_DOMAIN => counts.matched_by_domain += 1,
            _ => counts.matched_by_asn += 1,
        }
        counts.per_org_matched[org] += 1;
        match status[org] {
            Status::Never => {
                counts.never += 1;
                return Ok(());
            }
            Status::NotDue(_) => {
                counts.not_due += 1;
                return Ok(());
            }
            Status::NoContact => {
                counts.no_contact += 1;
                return Ok(());
            }
            Status::Due => {}
        }
        let o = &c.orgs[org];
        if !o.inhibitions.is_empty() || !c.global_inhibitions.is_empty() {
            let hit = |i: &InhibitionKind| i.applies(addr, asn, domain, ty, report);
            let rule = match o.inhibitions.iter().position(hit) {
                Some(i) => Some((false, i)),
                None => c.global_inhibitions.iter().position(hit).map(|i| (true, i)),
            };
            if let Some((global, i)) = rule {
                counts.inhibited += 1;
                acc.per_org_inhibited[org] += 1;
                *acc.inhibited_by
                    .entry((org as u32, global, i.min(u16::MAX as usize) as u16))
                    .or_default() += 1;
                if let Some(w) = &mut acc.inhibited {
                    let list = if global {
                        &c.global_inhibitions
                    } else {
                        &o.inhibitions
                    };
                    acc.rec.clear();
                    acc.rec.extend_from_slice(ev.row);
                    acc.rec.push(b',');
                    csv_field(&mut acc.rec, o.id.as_bytes());
                    acc.rec.push(b',');
                    csv_field(&mut acc.rec, rule_text(global, &list[i]).as_bytes());
                    acc.rec.push(b'\n');
                    w.write_all(&acc.rec)
                        .map_err(|e| FeedError::io("inhibited export", e))?;
                }
                return Ok(());
            }
        }
        let type_id = if acc.last_type.1 != u16::MAX && acc.last_type.0 == ty {
            acc.last_type.1
        } else {
            let spill = &mut acc.spill;
            let id = match acc.type_ids.get(ty) {
                Some(&id) => id,
                None => {
                    // More than 65,534 distinct types is not a feed but noise: fold the rest.
                    let id = u16::try_from(spill.types.len())
                        .ok()
                        .filter(|&i| i < u16::MAX - 1)
                        .unwrap_or(u16::MAX - 1);
                    if id < u16::MAX - 1 {
                        // Control characters never reach a summary or a subject line.
                        let name: String = String::from_utf8_lossy(ty)
                            .chars()
                            .map(|ch| if ch.is_control() { ' ' } else { ch })
                            .collect();
                        spill.types.push(name);
                        acc.type_ids.insert(ty.to_vec(), id);
                    } else if spill.types.len() < id as usize + 1 {
                        spill.types.push("other".into());
                    }
                    id
                }
            };
            acc.last_type.0.clear();
            acc.last_type.0.extend_from_slice(ty);
            acc.last_type.1 = id;
            id
        };
        // Record: org u32, type u16, why u8, length u32; then the match's detail (the address
        // for a prefix, `AS…` or the domain), a NUL, and the row.
        let rec = &mut acc.rec;
        rec.clear();
        rec.extend_from_slice(&(org as u32).to_le_bytes());
        rec.extend_from_slice(&type_id.to_le_bytes());
        rec.push(by);
        rec.extend_from_slice(&[0, 0, 0, 0]);
        match by {
            BY_PREFIX => rec.extend_from_slice(ip),
            BY_DOMAIN => {
                let d = domain.strip_suffix(b".").unwrap_or(domain);
                rec.extend_from_slice(&d[skip.min(d.len())..].to_ascii_lowercase());
            }
            _ => {
                let _ = write!(rec, "AS{}", asn.unwrap_or(0));
            }
        }
        rec.push(0);
        rec.extend_from_slice(ev.row);
        let len = (rec.len() - 11) as u32;
        rec[7..11].copy_from_slice(&len.to_le_bytes());
        acc.spill.writers[org % BUCKETS]
            .write_all(rec)
            .map_err(|e| FeedError::io("spill file", e))?;
        acc.counts.queued_events += 1;
        acc.per_org_queued[org] += 1;
        Ok(())
    }

    /// End the intake: counts with the review of each organisation, and the spill for
    /// [`crate::notify`].
    pub fn finish(self) -> Result<(RunCounts, Spill)> {
        let Pipeline {
            c, status, mut acc, ..
        } = self;
        acc.spill.flush()?;
        for (w, what) in [
            (&mut acc.unmatched, "unmatched export"),
            (&mut acc.inhibited, "inhibited export"),
        ] {
            if let Some(w) = w {
                w.flush().map_err(|e| FeedError::io(what, e))?;
            }
        }
        let mut by_rule: HashMap<u32, BTreeMap<String, u64>> = HashMap::new();
        for (&(org, global, i), &n) in &acc.inhibited_by {
            let list = if global {
                &c.global_inhibitions
            } else {
                &c.orgs[org as usize].inhibitions
            };
            if let Some(rule) = list.get(i as usize) {
                *by_rule
                    .entry(org)
                    .or_default()
                    .entry(rule_text(global, rule))
                    .or_default() += n;
            }
        }
        for (i, o) in c.orgs.iter().enumerate() {
            let matched = acc.counts.per_org_matched[i];
            if matched == 0 {
                continue;
            }
            let (status, next_due) = match status[i] {
                Status::Never => ("never", None),
                Status::NoContact => ("no_contact", None),
                Status::NotDue(t) => (
                    "not_due",
                    Some(t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
                ),
                Status::Due if acc.per_org_queued[i] > 0 => ("queued", None),
                Status::Due => ("inhibited", None),
            };
            acc.counts.organisations.push(OrgRun {
                org_id: o.id.clone(),
                status,
                matched,
                queued: acc.per_org_queued[i],
                inhibited: acc.per_org_inhibited[i],
                next_due,
                inhibited_by: by_rule.remove(&(i as u32)).unwrap_or_default(),
            });
        }
        Ok((acc.counts, acc.spill))
    }
}

impl Acc<'_> {
    fn malformed(&mut self, line: u64, reason: String) {
        self.counts.events += 1;
        self.counts.malformed += 1;
        if self.counts.malformed_examples.len() < self.max_examples {
            self.counts
                .malformed_examples
                .push(Malformed { line, reason });
        }
    }
}

/// An inhibition as the review names it: as written in the constituency, `*:` for the `*` row.
fn rule_text(global: bool, i: &InhibitionKind) -> String {
    let r = match i {
        InhibitionKind::Prefix(n) => format!("prefix:{n}"),
        InhibitionKind::Asn(a) => format!("asn:{a}"),
        InhibitionKind::Domain(d) => format!("domain:{d}"),
        InhibitionKind::EventType(t) => format!("type:{t}"),
        InhibitionKind::Organisation => "org".into(),
    };
    if global {
        format!("*:{r}")
    } else {
        r
    }
}

/// One CSV field, quoted when it must be (`"` doubled inside). Line breaks become blanks: an
/// event is one line.
pub(crate) fn csv_field(out: &mut Vec<u8>, v: &[u8]) {
    if v.iter().any(|&c| matches!(c, b',' | b'"' | b'\n' | b'\r')) {
        out.push(b'"');
        for &c in v {
            if c == b'"' {
                out.push(b'"');
            }
            out.push(if c == b'\n' || c == b'\r' { b' ' } else { c });
        }
        out.push(b'"');
    } else {
        out.extend_from_slice(v);
    }
}

/// A field as `split_fields` returns it (a quoted field's `""` still doubled), written as CSV.
fn csv_field_unquoted(out: &mut Vec<u8>, v: &[u8]) {
    if v.windows(2).any(|w| w == b"\"\"") {
        let mut plain = Vec::with_capacity(v.len());
        let mut i = 0;
        while i < v.len() {
            plain.push(v[i]);
            i += if v[i] == b'"' && v.get(i + 1) == Some(&b'"') {
                2
            } else {
                1
            };
        }
        csv_field(out, &plain);
    } else {
        csv_field(out, v);
    }
}
