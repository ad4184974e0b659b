//! The hot path's byte-level readers: lines from a large reusable buffer, CSV fields as byte
//! ranges (no allocation per row), IPv4 parsed by hand.

use std::io::{self, Read};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Longest line accepted; a longer one is skipped and reported as malformed (bounded memory).
pub const MAX_LINE: usize = 1 << 20;

/// One line as read: its 1-based number and bytes (without `\n` / `\r\n`), or a line that was too
/// long (its bytes are dropped).
pub enum Line<'a> {
    Ok(u64, &'a [u8]),
    TooLong(u64),
}

pub struct LineReader<R> {
    inner: R,
    buf: Vec<u8>,
    start: usize,
    end: usize,
    eof: bool,
    line_no: u64,
    bytes: u64,
}

impl<R: Read> LineReader<R> {
    pub fn new(inner: R) -> Self {
        Self {
            inner,
            buf: vec![0; 1 << 20],
            start: 0,
            end: 0,
            eof: false,
            line_no: 0,
            bytes: 0,
        }
    }

    /// Lines read so far.
    pub fn line_no(&self) -> u64 {
        self.line_no
    }

    /// Bytes consumed so far (for progress).
    pub fn bytes_read(&self) -> u64 {
        self.bytes
    }

    fn fill(&mut self) -> io::Result<()> {
        if self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        if self.end == self.buf.len() {
            let grown = (self.buf.len() * 2).min(MAX_LINE + 2);
            self.buf.resize(grown, 0);
        }
        let n = loop {
            match self.inner.read(&mut self.buf[self.end..]) {
                Ok(n) => break n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        };
        if n == 0 {
            self.eof = true;
        }
        self.end += n;
        self.bytes += n as u64;
        Ok(())
    }

    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> io::Result<Option<Line<'_>>> {
        let mut scanned = self.start;
        loop {
            if let Some(p) = memchr(b'\n', &self.buf[scanned..self.end]) {
                let nl = scanned + p;
                let s = self.start;
                self.start = nl + 1;
                self.line_no += 1;
                let mut line = &self.buf[s..nl];
                if let [rest @ .., b'\r'] = line {
                    line = rest;
                }
                return Ok(Some(Line::Ok(self.line_no, line)));
            }
            if self.eof {
                if self.start == self.end {
                    return Ok(None);
                }
                let s = self.start;
                self.start = self.end;
                self.line_no += 1;
                let mut line = &self.buf[s..self.end];
                if let [rest @ .., b'\r'] = line {
                    line = rest;
                }
                return Ok(Some(Line::Ok(self.line_no, line)));
            }
            if self.end - self.start > MAX_LINE {
                // Skip to the end of this line without keeping it.
                self.line_no += 1;
                let no = self.line_no;
                loop {
                    if let Some(p) = memchr(b'\n', &self.buf[self.start..self.end]) {
                        self.start += p + 1;
                        return Ok(Some(Line::TooLong(no)));
                    }
                    self.start = self.end;
                    self.fill()?;
                    if self.eof && self.start == self.end {
                        return Ok(Some(Line::TooLong(no)));
                    }
                }
            }
            let offset = self.end - self.start;
            self.fill()?;
            scanned = self.start + offset;
        }
    }
}

/// Position of `b` in `hay` (word-at-a-time would be faster; this loop auto-vectorises well).
#[inline]
pub fn memchr(b: u8, hay: &[u8]) -> Option<usize> {
    hay.iter().position(|&c| c == b)
}

/// Split a CSV line into field ranges (quotes stripped; `""` inside a quoted field is left
/// doubled — the fields Tocsin reads never contain quotes). `Err` names what is wrong.
#[inline]
pub fn split_fields(line: &[u8], delim: u8, out: &mut Vec<(u32, u32)>) -> Result<(), &'static str> {
    out.clear();
    let n = line.len();
    let mut i = 0;
    loop {
        if i < n && line[i] == b'"' {
            let s = i + 1;
            let mut j = s;
            loop {
                match line[j..].iter().position(|&c| c == b'"') {
                    None => return Err("unterminated quoted field"),
                    Some(p) => {
                        j += p;
                        if j + 1 < n && line[j + 1] == b'"' {
                            j += 2;
                            continue;
                        }
                        break;
                    }
                }
            }
            out.push((s as u32, j as u32));
            i = j + 1;
            if i == n {
                return Ok(());
            }
            if line[i] != delim {
                return Err("text after a closing quote");
            }
            i += 1;
        } else {
            let s = i;
            match line[i..].iter().position(|&c| c == delim) {
                Some(p) => {
                    out.push((s as u32, (i + p) as u32));
                    i += p + 1;
                }
                None => {
                    out.push((s as u32, n as u32));
                    return Ok(());
                }
            }
        }
    }
}

/// Dotted-quad IPv4 by hand (no leading `+`, each part 0–255, at most 3 digits).
#[inline]
pub fn parse_ipv4(s: &[u8]) -> Option<u32> {
    let mut out: u32 = 0;
    let mut part: u32 = 0;
    let mut digits = 0;
    let mut dots = 0;
    for &c in s {
        if c.is_ascii_digit() {
            part = part * 10 + u32::from(c - b'0');
            digits += 1;
            if digits > 3 || part > 255 {
                return None;
            }
        } else if c == b'.' {
            if digits == 0 || dots == 3 {
                return None;
            }
            out = out << 8 | part;
            part = 0;
            digits = 0;
            dots += 1;
        } else {
            return None;
        }
    }
    if dots != 3 || digits == 0 {
        return None;
    }
    Some(out << 8 | part)
}

/// An IPv4 or IPv6 address from bytes (surrounding blanks ignored).
#[inline]
pub fn parse_ip(s: &[u8]) -> Option<IpAddr> {
    let s = s.trim_ascii();
    if let Some(v4) = parse_ipv4(s) {
        return Some(IpAddr::V4(Ipv4Addr::from(v4)));
    }
    if s.contains(&b':') {
        return std::str::from_utf8(s)
            .ok()?
            .parse::<Ipv6Addr>()
            .ok()
            .map(IpAddr::V6);
    }
    None
}

/// A decimal number up to `max` (no sign, no blanks).
#[inline]
pub fn parse_uint(s: &[u8], max: u64) -> Option<u64> {
    if s.is_empty() || s.len() > 20 {
        return None;
    }
    let mut v: u64 = 0;
    for &c in s {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add(u64::from(c - b'0'))?;
    }
    (v <= max).then_some(v)
}

/// A timestamp as feeds write them: `YYYY-MM-DD HH:MM:SS` or `YYYY-MM-DDTHH:MM:SS`, optionally
/// with a fraction and `Z`, ` UTC` or an offset (`+01`, `+0100`, `+01:00`); or Unix seconds.
/// The date must exist (no 31 April) and the time be valid.
pub fn valid_timestamp(s: &[u8]) -> bool {
    let s = s.trim_ascii();
    if (9..=11).contains(&s.len()) && s.iter().all(u8::is_ascii_digit) {
        return true;
    }
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        let b = s.get(r)?;
        b.iter()
            .all(u8::is_ascii_digit)
            .then(|| b.iter().fold(0u32, |v, &c| v * 10 + u32::from(c - b'0')))
    };
    let sep = |i: usize, c: &[u8]| s.get(i).is_some_and(|x| c.contains(x));
    let (Some(y), Some(mo), Some(d), Some(h), Some(mi), Some(sec)) = (
        num(0..4),
        num(5..7),
        num(8..10),
        num(11..13),
        num(14..16),
        num(17..19),
    ) else {
        return false;
    };
    if !(sep(4, b"-") && sep(7, b"-") && sep(10, b" T") && sep(13, b":") && sep(16, b":")) {
        return false;
    }
    if chrono::NaiveDate::from_ymd_opt(y as i32, mo, d).is_none() || h > 23 || mi > 59 || sec > 60 {
        return false;
    }
    let mut rest = &s[19..];
    if let [b'.', tail @ ..] = rest {
        let n = tail.iter().take_while(|c| c.is_ascii_digit()).count();
        if n == 0 {
            return false;
        }
        rest = &tail[n..];
    }
    match rest {
        b"" | b"Z" | b"z" | b" UTC" | b" utc" => true,
        [b'+' | b'-', off @ ..] => {
            let digits: Vec<u8> = off.iter().copied().filter(|&c| c != b':').collect();
            (digits.len() == 2 || digits.len() == 4)
                && digits.iter().all(u8::is_ascii_digit)
                && off.iter().filter(|&&c| c == b':').count() <= 1
        }
        _ => false,
    }
}

/// An ASN: `64500` or `AS64500`.
#[inline]
pub fn parse_asn(s: &[u8]) -> Option<u32> {
    let s = s.trim_ascii();
    let s = if s.len() > 2 && s[..2].eq_ignore_ascii_case(b"AS") {
        &s[2..]
    } else {
        s
    };
    parse_uint(s, u64::from(u32::MAX)).map(|v| v as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv4_by_hand_agrees_with_std() {
        for s in ["0.0.0.0", "255.255.255.255", "10.1.2.3", "1.2.3.4"] {
            assert_eq!(
                parse_ipv4(s.as_bytes()),
                Some(u32::from(s.parse::<Ipv4Addr>().unwrap())),
                "{s}"
            );
        }
        for s in [
            "",
            "1.2.3",
            "1.2.3.4.5",
            "256.1.1.1",
            "1..2.3",
            "1.2.3.",
            "a.b.c.d",
            "1.2.3.4 ",
            "0001.2.3.4",
        ] {
            assert_eq!(parse_ipv4(s.as_bytes()), None, "{s:?}");
        }
        assert_eq!(
            parse_ip(b"2001:db8::1"),
            Some("2001:db8::1".parse().unwrap())
        );
        assert_eq!(parse_ip(b"2001:db8::g"), None);
    }

    #[test]
    fn timestamps_are_validated() {
        for ok in [
            "2026-11-27 00:01:02",
            "2026-11-27T00:01:02Z",
            "2026-11-27T00:01:02.123456+01:00",
            "2026-11-27 00:01:02+00",
            "2026-11-27 00:01:02 UTC",
            "1764201662",
        ] {
            assert!(valid_timestamp(ok.as_bytes()), "{ok}");
        }
        for bad in [
            "t",
            "2026-11-31 00:01:02",
            "2026-11-27 24:00:00",
            "2026-11-27",
            "2026/11/27 00:01:02",
            "2026-11-27 00:01:02 CET",
            "2026-11-27T00:01:02.Z",
        ] {
            assert!(!valid_timestamp(bad.as_bytes()), "{bad}");
        }
    }

    #[test]
    fn fields_split_with_quotes() {
        let mut f = Vec::new();
        let line = br#"a,"b,c",,"d""e""#;
        split_fields(line, b',', &mut f).unwrap();
        let got: Vec<&[u8]> = f
            .iter()
            .map(|&(s, e)| &line[s as usize..e as usize])
            .collect();
        assert_eq!(got, [&b"a"[..], b"b,c", b"", br#"d""e"#]);
        assert!(split_fields(br#"a,"b"#, b',', &mut f).is_err());
        assert!(split_fields(br#""a"x,b"#, b',', &mut f).is_err());
        split_fields(b"x,", b',', &mut f).unwrap();
        assert_eq!(f.len(), 2);
    }

    #[test]
    fn lines_are_numbered_and_overlong_lines_skipped() {
        let mut text = b"a\r\nb\n".to_vec();
        text.extend(std::iter::repeat_n(b'x', MAX_LINE + 10));
        text.extend(b"\nc");
        let mut r = LineReader::new(&text[..]);
        let mut seen = Vec::new();
        while let Some(l) = r.next().unwrap() {
            seen.push(match l {
                Line::Ok(n, b) => format!("{n}:{}", String::from_utf8_lossy(b)),
                Line::TooLong(n) => format!("{n}:too long"),
            });
        }
        assert_eq!(seen, ["1:a", "2:b", "3:too long", "4:c"]);
    }
}
