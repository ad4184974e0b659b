//! The streaming intake: rows → events → longest-prefix match → inhibitions and intervals →
//! per-organisation spill files. Memory is bounded by the read buffer, the spill buffers and the
//! per-organisation counters, whatever the file size.

use crate::constituency::{Constituency, InhibitionKind, Interval};
use crate::mapping::{Format, Mapping};
use crate::reader::{parse_asn, parse_ip, parse_ipv4, parse_uint, split_fields, Line, LineReader};
use crate::{FeedError, Result};
use serde::Serialize;
use std::collections::HashMap;
use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::net::IpAddr;
use tocsin_core::Timestamp;

/// The header of every CSV Tocsin writes for events (attachments, unmatched export).
pub const EVENT_CSV_HEADER: &str = "timestamp,ip,port,protocol,type,asn";

/// Spill buckets: matched events go to `org % BUCKETS`; composing reads one bucket at a time.
pub const BUCKETS: usize = 64;

/// A malformed row: where and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Malformed {
    pub line: u64,
    pub reason: String,
}

/// What a run saw. `events` = rows read (header excluded) = `matched + unmatched + malformed`;
/// of the matched, `inhibited + not_due + never + queued_events = matched`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RunCounts {
    pub events: u64,
    pub matched: u64,
    pub unmatched: u64,
    pub malformed: u64,
    /// The first `max_examples` malformed rows.
    pub malformed_examples: Vec<Malformed>,
    /// Suppressed by an inhibition (prefix, ASN, domain, event type or organisation).
    pub inhibited: u64,
    /// The organisation was notified less than its interval ago.
    pub not_due: u64,
    /// The organisation's interval is -1 (never notify).
    pub never: u64,
    /// Events that go into notifications.
    pub queued_events: u64,
    /// Matched events per organisation (index into the constituency), before inhibitions.
    #[serde(skip)]
    pub per_org_matched: Vec<u64>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Status {
    Due,
    NotDue,
    Never,
}

/// Matched, due, uninhibited events on disk, by organisation bucket.
pub struct Spill {
    pub(crate) dir: tempfile::TempDir,
    writers: Vec<BufWriter<File>>,
    /// Event types by id (the spill stores the id).
    pub types: Vec<String>,
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

/// One event's fields, borrowed from the row.
struct Ev<'a> {
    line: u64,
    ts: &'a [u8],
    ip: &'a [u8],
    port: &'a [u8],
    proto: &'a [u8],
    ty: &'a [u8],
    asn: &'a [u8],
    domain: &'a [u8],
}

pub struct Pipeline<'c> {
    c: &'c Constituency,
    status: Vec<Status>,
    counts: RunCounts,
    spill: Spill,
    unmatched: Option<Box<dyn Write + 'c>>,
    max_examples: usize,
    type_ids: HashMap<Vec<u8>, u16>,
    last_type: (Vec<u8>, u16),
    rec: Vec<u8>,
    default_type: Vec<u8>,
    default_proto: Vec<u8>,
}

impl<'c> Pipeline<'c> {
    /// A run at `now`: organisations notified less than their interval before `now` are not due.
    pub fn new(
        c: &'c Constituency,
        last_notified: &HashMap<String, Timestamp>,
        now: Timestamp,
    ) -> Result<Self> {
        let status = c
            .orgs
            .iter()
            .map(|o| match o.interval {
                Interval::Never => Status::Never,
                Interval::Every(secs) => match last_notified.get(&o.id) {
                    Some(t) if (now - *t).num_seconds() < secs as i64 => Status::NotDue,
                    _ => Status::Due,
                },
            })
            .collect();
        let counts = RunCounts {
            per_org_matched: vec![0; c.orgs.len()],
            ..RunCounts::default()
        };
        Ok(Self {
            c,
            status,
            counts,
            spill: Spill::new()?,
            unmatched: None,
            max_examples: 100,
            type_ids: HashMap::new(),
            last_type: (Vec::new(), u16::MAX),
            rec: Vec::with_capacity(256),
            default_type: b"unknown".to_vec(),
            default_proto: Vec::new(),
        })
    }

    /// Export unmatched events as CSV (`EVENT_CSV_HEADER`) to `out`.
    pub fn unmatched_to(&mut self, mut out: Box<dyn Write + 'c>) -> Result<()> {
        writeln!(out, "{EVENT_CSV_HEADER}").map_err(|e| FeedError::io("unmatched export", e))?;
        self.unmatched = Some(out);
        Ok(())
    }

    /// Keep the first `n` malformed rows as examples (default 100).
    pub fn max_examples(&mut self, n: usize) {
        self.max_examples = n;
    }

    /// Stream one feed file through. `progress(rows, bytes)` every 1,000,000 rows.
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
        match mapping.format {
            Format::Csv => {
                let delim = mapping.delimiter_byte()?;
                let mut f = Vec::with_capacity(32);
                let resolved = loop {
                    match lines.next().map_err(io)? {
                        None => return Ok(()),
                        Some(Line::TooLong(n)) => {
                            return Err(FeedError::Parse {
                                file: file.into(),
                                line: n,
                                reason: "header line too long".into(),
                            })
                        }
                        Some(Line::Ok(n, l)) => {
                            if l.trim_ascii().is_empty() || l.starts_with(b"#") {
                                continue;
                            }
                            split_fields(l, delim, &mut f).map_err(|r| FeedError::Parse {
                                file: file.into(),
                                line: n,
                                reason: format!("header: {r}"),
                            })?;
                            let names: Vec<String> = f
                                .iter()
                                .map(|&(s, e)| {
                                    String::from_utf8_lossy(&l[s as usize..e as usize]).into_owned()
                                })
                                .collect();
                            let refs: Vec<&str> = names.iter().map(String::as_str).collect();
                            break mapping.resolve(&refs)?;
                        }
                    }
                };
                let empty: &[u8] = b"";
                while let Some(line) = lines.next().map_err(io)? {
                    let (n, l) = match line {
                        Line::TooLong(n) => {
                            self.count_malformed_parts(n, "line longer than 1 MiB");
                            continue;
                        }
                        Line::Ok(n, l) => (n, l),
                    };
                    if l.is_empty() {
                        continue;
                    }
                    if let Err(r) = split_fields(l, delim, &mut f) {
                        Self::malformed(&mut self.counts, self.max_examples, n, r);
                        continue;
                    }
                    if f.len() <= resolved.needed {
                        let msg = format!(
                            "expected at least {} columns, found {}",
                            resolved.needed + 1,
                            f.len()
                        );
                        Self::malformed(&mut self.counts, self.max_examples, n, &msg);
                        continue;
                    }
                    let get = |c: Option<usize>| {
                        c.map(|i| &l[f[i].0 as usize..f[i].1 as usize])
                            .unwrap_or(empty)
                    };
                    let ev = Ev {
                        line: n,
                        ts: get(resolved.timestamp),
                        ip: get(Some(resolved.ip)),
                        port: get(resolved.port),
                        proto: get(resolved.protocol),
                        ty: get(resolved.event_type),
                        asn: get(resolved.asn),
                        domain: get(resolved.domain),
                    };
                    Self::event(
                        self.c,
                        &self.status,
                        &mut self.counts,
                        &mut self.spill,
                        &mut self.unmatched,
                        self.max_examples,
                        &mut self.type_ids,
                        &mut self.last_type,
                        &mut self.rec,
                        &self.default_type,
                        &self.default_proto,
                        ev,
                    )?;
                    if self.counts.events.is_multiple_of(1_000_000) {
                        progress(self.counts.events, lines.bytes_read());
                    }
                }
            }
            Format::Jsonl => {
                let cols = &mapping.columns;
                while let Some(line) = lines.next().map_err(io)? {
                    let (n, l) = match line {
                        Line::TooLong(n) => {
                            self.count_malformed_parts(n, "line longer than 1 MiB");
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
                                let msg = format!("not a JSON object: {e}");
                                Self::malformed(&mut self.counts, self.max_examples, n, &msg);
                                continue;
                            }
                        };
                    let get = |c: &Option<crate::mapping::Columns>| -> String {
                        c.as_ref()
                            .and_then(|c| c.names().into_iter().find_map(|k| obj.get(k)))
                            .map(|v| match v {
                                serde_json::Value::String(s) => s.clone(),
                                serde_json::Value::Null => String::new(),
                                other => other.to_string(),
                            })
                            .unwrap_or_default()
                    };
                    let (ts, ip, port, proto, ty, asn, domain) = (
                        get(&cols.timestamp),
                        get(&Some(cols.ip.clone())),
                        get(&cols.port),
                        get(&cols.protocol),
                        get(&cols.event_type),
                        get(&cols.asn),
                        get(&cols.domain),
                    );
                    let ev = Ev {
                        line: n,
                        ts: ts.as_bytes(),
                        ip: ip.as_bytes(),
                        port: port.as_bytes(),
                        proto: proto.as_bytes(),
                        ty: ty.as_bytes(),
                        asn: asn.as_bytes(),
                        domain: domain.as_bytes(),
                    };
                    Self::event(
                        self.c,
                        &self.status,
                        &mut self.counts,
                        &mut self.spill,
                        &mut self.unmatched,
                        self.max_examples,
                        &mut self.type_ids,
                        &mut self.last_type,
                        &mut self.rec,
                        &self.default_type,
                        &self.default_proto,
                        ev,
                    )?;
                }
            }
        }
        progress(self.counts.events, lines.bytes_read());
        Ok(())
    }

    fn count_malformed_parts(&mut self, line: u64, reason: &str) {
        Self::malformed(&mut self.counts, self.max_examples, line, reason);
    }

    fn malformed(counts: &mut RunCounts, max: usize, line: u64, reason: &str) {
        counts.events += 1;
        counts.malformed += 1;
        if counts.malformed_examples.len() < max {
            counts.malformed_examples.push(Malformed {
                line,
                reason: reason.to_owned(),
            });
        }
    }

    // One function over split borrows of the pipeline: the hot path, kept free of allocation.
    #[allow(clippy::too_many_arguments)]
    #[inline]
    fn event(
        c: &Constituency,
        status: &[Status],
        counts: &mut RunCounts,
        spill: &mut Spill,
        unmatched: &mut Option<Box<dyn Write + 'c>>,
        max: usize,
        type_ids: &mut HashMap<Vec<u8>, u16>,
        last_type: &mut (Vec<u8>, u16),
        rec: &mut Vec<u8>,
        default_type: &[u8],
        default_proto: &[u8],
        ev: Ev<'_>,
    ) -> Result<()> {
        let ip = ev.ip.trim_ascii();
        let v4 = parse_ipv4(ip);
        let addr = match v4 {
            Some(a) => IpAddr::V4(a.into()),
            None => match parse_ip(ip) {
                Some(a) => a,
                None => {
                    Self::malformed(counts, max, ev.line, "bad IP address");
                    return Ok(());
                }
            },
        };
        let port = ev.port.trim_ascii();
        if !port.is_empty() && parse_uint(port, 65_535).is_none() {
            Self::malformed(counts, max, ev.line, "bad port (expected 0-65535)");
            return Ok(());
        }
        let asn_text = ev.asn.trim_ascii();
        let asn = if asn_text.is_empty() {
            None
        } else {
            match parse_asn(asn_text) {
                Some(a) => Some(a),
                None => {
                    Self::malformed(counts, max, ev.line, "bad ASN");
                    return Ok(());
                }
            }
        };
        let ty = match ev.ty.trim_ascii() {
            b"" => default_type,
            t => t,
        };
        let proto = match ev.proto.trim_ascii() {
            b"" => default_proto,
            p => p,
        };
        counts.events += 1;
        let owner = match v4 {
            Some(a) => c.v4.lookup(a),
            None => c.table.longest_match(addr).map(|(_, &o)| o),
        };
        let org = match owner {
            Some(o) => o as usize,
            None => {
                counts.unmatched += 1;
                if let Some(w) = unmatched {
                    rec.clear();
                    write_event_csv(rec, ev.ts, ev.ip.trim_ascii(), port, proto, ty, asn);
                    w.write_all(rec)
                        .map_err(|e| FeedError::io("unmatched export", e))?;
                }
                return Ok(());
            }
        };
        counts.matched += 1;
        counts.per_org_matched[org] += 1;
        match status[org] {
            Status::Never => {
                counts.never += 1;
                return Ok(());
            }
            Status::NotDue => {
                counts.not_due += 1;
                return Ok(());
            }
            Status::Due => {}
        }
        let o = &c.orgs[org];
        if !o.inhibitions.is_empty() || !c.global_inhibitions.is_empty() {
            let hit = |i: &InhibitionKind| i.applies(addr, asn, ev.domain.trim_ascii(), ty);
            if o.inhibitions.iter().any(hit) || c.global_inhibitions.iter().any(hit) {
                counts.inhibited += 1;
                return Ok(());
            }
        }
        let type_id = if last_type.1 != u16::MAX && last_type.0 == ty {
            last_type.1
        } else {
            let id = match type_ids.get(ty) {
                Some(&id) => id,
                None => {
                    // More than 65,534 distinct types is not a feed but noise: fold the rest.
                    let id = u16::try_from(spill.types.len())
                        .ok()
                        .filter(|&i| i < u16::MAX - 1)
                        .unwrap_or(u16::MAX - 1);
                    if id < u16::MAX - 1 {
                        spill.types.push(String::from_utf8_lossy(ty).into_owned());
                        type_ids.insert(ty.to_vec(), id);
                    } else if spill.types.len() < id as usize + 1 {
                        spill.types.push("other".into());
                    }
                    id
                }
            };
            last_type.0.clear();
            last_type.0.extend_from_slice(ty);
            last_type.1 = id;
            id
        };
        rec.clear();
        rec.extend_from_slice(&(org as u32).to_le_bytes());
        rec.extend_from_slice(&type_id.to_le_bytes());
        rec.extend_from_slice(&[0, 0, 0, 0]);
        write_event_csv(rec, ev.ts, ev.ip.trim_ascii(), port, proto, ty, asn);
        let len = (rec.len() - 10) as u32;
        rec[6..10].copy_from_slice(&len.to_le_bytes());
        spill.writers[org % BUCKETS]
            .write_all(rec)
            .map_err(|e| FeedError::io("spill file", e))?;
        counts.queued_events += 1;
        Ok(())
    }

    /// End the intake: counts, and the spill for [`crate::notify`].
    pub fn finish(mut self) -> Result<(RunCounts, Spill)> {
        self.spill.flush()?;
        if let Some(w) = &mut self.unmatched {
            w.flush()
                .map_err(|e| FeedError::io("unmatched export", e))?;
        }
        Ok((self.counts, self.spill))
    }
}

fn csv_field(out: &mut Vec<u8>, v: &[u8]) {
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

/// One event as a CSV row of `EVENT_CSV_HEADER`, with `\n`.
fn write_event_csv(
    out: &mut Vec<u8>,
    ts: &[u8],
    ip: &[u8],
    port: &[u8],
    proto: &[u8],
    ty: &[u8],
    asn: Option<u32>,
) {
    csv_field(out, ts.trim_ascii());
    out.push(b',');
    out.extend_from_slice(ip);
    out.push(b',');
    out.extend_from_slice(port);
    out.push(b',');
    csv_field(out, proto);
    out.push(b',');
    csv_field(out, ty);
    out.push(b',');
    if let Some(a) = asn {
        let _ = write!(out, "{a}");
    }
    out.push(b'\n');
}
