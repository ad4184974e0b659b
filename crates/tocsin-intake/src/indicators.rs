//! Network indicators: IPv4/IPv6 addresses, CIDR blocks, domains and URLs, including the defanged
//! forms analysts write so nobody clicks them (`hxxp://`, `hxxps[:]//`, `example[.]com`,
//! `1.2.3[.]4`, `example(.)com`, `example[dot]com`). The value is refanged; the span covers the
//! text as written.

use regex::Regex;
use std::net::{Ipv4Addr, Ipv6Addr};

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IndicatorKind {
    Ipv4,
    Ipv6,
    Cidr,
    Domain,
    Url,
}

#[derive(Debug, Clone, PartialEq)]
pub struct FoundIndicator {
    pub start: usize,
    pub end: usize,
    pub kind: IndicatorKind,
    /// Refanged: `hxxp://example[.]com` → `http://example.com`.
    pub value: String,
    pub defanged: bool,
    pub confidence: f64,
}

pub(crate) struct IndicatorRules {
    url: Regex,
    ipv4: Regex,
    ipv6: Regex,
    domain: Regex,
}

/// Top-level domains accepted for bare domains (a URL needs none): the generic ones and the
/// country codes that show up in threat reporting. A bare "word.word" with any other ending is
/// more often prose ("U.S.", "e.g.") than a domain.
const TLDS: &[&str] = &[
    "com", "net", "org", "info", "biz", "io", "co", "me", "xyz", "top", "online", "site", "club",
    "shop", "app", "dev", "cloud", "live", "pro", "onion", "gov", "edu", "mil", "int", "ru", "su",
    "ua", "by", "kz", "uz", "tj", "kg", "am", "az", "ge", "md", "ir", "iq", "sy", "af", "pk", "tr",
    "il", "ps", "lb", "sa", "ae", "qa", "eg", "uk", "de", "fr", "nl", "be", "ch", "at", "it", "es",
    "pt", "pl", "cz", "sk", "hu", "ro", "bg", "gr", "se", "no", "fi", "dk", "ee", "lv", "lt", "us",
    "ca", "mx", "br", "ar", "cn", "hk", "tw", "jp", "kr", "kp", "in", "id", "my", "sg", "th", "vn",
    "ph", "au", "nz", "za", "ng", "ke", "tk", "ml", "ga", "cf", "gq", "cc", "tv", "ws", "to", "is",
    "ly", "su", "eu", "asia", "tech", "space", "website", "store", "icu", "buzz", "link", "click",
    "work", "zip", "mov", // RFC 2606: the names documentation and exercises use
    "example", "test",
];

const DOT: &str = r"(?:\.|\[\.\]|\(\.\)|\{\.\}|\[dot\]|\(dot\))";

fn refang(s: &str) -> String {
    let mut v = s.to_owned();
    for (a, b) in [
        ("[.]", "."),
        ("(.)", "."),
        ("{.}", "."),
        ("[dot]", "."),
        ("(dot)", "."),
        ("[:]", ":"),
        ("[://]", "://"),
    ] {
        if v.contains(a) {
            v = v.replace(a, b);
        }
    }
    let lower = v.get(..5).map(str::to_ascii_lowercase);
    if let Some(l) = lower {
        if l.starts_with("hxxp") || l.starts_with("hxxps") {
            v.replace_range(..4, "http");
        } else if l.starts_with("fxp") {
            v.replace_range(..3, "ftp");
        }
    }
    v
}

fn is_defanged(s: &str) -> bool {
    s.contains('[')
        || s.contains("(.)")
        || s.contains("{.}")
        || s.contains("(dot)")
        || s.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("hxxp"))
        || s.get(..3).is_some_and(|p| p.eq_ignore_ascii_case("fxp"))
}

impl IndicatorRules {
    pub fn new() -> Self {
        let url = r"(?i)(?-u:\b)(?:h(?:tt|xx)ps?|fxp|ftp)(?:\[:\]|:)(?://|\[://\]|\[/\]\[/\])[^\s<>'\x22\)\]\}\[]*(?:\[[^\s\]]{1,4}\][^\s<>'\x22\)\]\}\[]*)*".to_owned();
        let ipv4 = format!(r"(?-u:\b)(?:\d{{1,3}}{DOT}){{3}}\d{{1,3}}(?:/\d{{1,2}})?(?-u:\b)");
        let ipv6 =
            r"(?i)(?:^|[^0-9a-z:.])([0-9a-f]{0,4}(?::[0-9a-f]{0,4}){2,7}(?:/\d{1,3})?)".to_owned();
        let domain = format!(
            r"(?i)(?-u:\b)(?:[a-z0-9](?:[a-z0-9-]{{0,61}}[a-z0-9])?{DOT})+[a-z]{{2,24}}(?-u:\b)"
        );
        Self {
            url: Regex::new(&url).expect("url pattern compiles"),
            ipv4: Regex::new(&ipv4).expect("ipv4 pattern compiles"),
            ipv6: Regex::new(&ipv6).expect("ipv6 pattern compiles"),
            domain: Regex::new(&domain).expect("domain pattern compiles"),
        }
    }

    pub fn find(&self, text: &str) -> Vec<FoundIndicator> {
        let mut out: Vec<FoundIndicator> = Vec::new();
        let taken = |out: &[FoundIndicator], s: usize, e: usize| {
            out.iter().any(|f| s < f.end && f.start < e)
        };
        for m in self.url.find_iter(text) {
            // Trailing sentence punctuation is not part of a URL.
            let raw = m.as_str().trim_end_matches(['.', ',', ';', ':', '!', '?']);
            let value = refang(raw);
            let defanged = is_defanged(raw);
            out.push(FoundIndicator {
                start: m.start(),
                end: m.start() + raw.len(),
                kind: IndicatorKind::Url,
                value,
                defanged,
                confidence: if defanged { 0.95 } else { 0.85 },
            });
        }
        // Cheap prefilters: most text has no digits-dot-digits or colons-between-hex.
        let has_dotted_digit = text
            .as_bytes()
            .windows(2)
            .any(|w| w[0].is_ascii_digit() && matches!(w[1], b'.' | b'['));
        if has_dotted_digit {
            for m in self.ipv4.find_iter(text) {
                if taken(&out, m.start(), m.end()) {
                    continue;
                }
                let raw = m.as_str();
                let value = refang(raw);
                let (addr, prefix) = match value.split_once('/') {
                    Some((a, p)) => (a, Some(p)),
                    None => (value.as_str(), None),
                };
                if addr.parse::<Ipv4Addr>().is_err()
                    || prefix.is_some_and(|p| p.parse::<u8>().map_or(true, |p| p > 32))
                {
                    continue;
                }
                let defanged = is_defanged(raw);
                out.push(FoundIndicator {
                    start: m.start(),
                    end: m.end(),
                    kind: if prefix.is_some() {
                        IndicatorKind::Cidr
                    } else {
                        IndicatorKind::Ipv4
                    },
                    value,
                    defanged,
                    confidence: if defanged { 0.95 } else { 0.85 },
                });
            }
        }
        if memchr_colons(text) {
            for c in self.ipv6.captures_iter(text) {
                let Some(m) = c.get(1) else { continue };
                if taken(&out, m.start(), m.end()) {
                    continue;
                }
                let raw = m.as_str();
                let (addr, prefix) = match raw.split_once('/') {
                    Some((a, p)) => (a, Some(p)),
                    None => (raw, None),
                };
                if addr.parse::<Ipv6Addr>().is_err()
                    || prefix.is_some_and(|p| p.parse::<u8>().map_or(true, |p| p > 128))
                {
                    continue;
                }
                // Prose like "a::b" parses too; an address worth reporting has a digit.
                if !addr.bytes().any(|b| b.is_ascii_digit()) {
                    continue;
                }
                out.push(FoundIndicator {
                    start: m.start(),
                    end: m.end(),
                    kind: if prefix.is_some() {
                        IndicatorKind::Cidr
                    } else {
                        IndicatorKind::Ipv6
                    },
                    value: raw.to_ascii_lowercase(),
                    defanged: false,
                    confidence: 0.85,
                });
            }
        }
        for m in self.domain.find_iter(text) {
            if taken(&out, m.start(), m.end()) {
                continue;
            }
            let raw = m.as_str();
            let value = refang(raw).to_ascii_lowercase();
            let Some(tld) = value.rsplit('.').next() else {
                continue;
            };
            // A defanged name is a domain whatever its ending: defanging says it is an
            // indicator ("vpn.hospital[.]example").
            let known_tld = TLDS.contains(&tld)
                || (is_defanged(raw)
                    && tld.len() >= 2
                    && tld.chars().all(|c| c.is_ascii_alphabetic()));
            if !known_tld || value.split('.').count() < 2 || value.parse::<Ipv4Addr>().is_ok() {
                continue;
            }
            // An e-mail address's domain is not an indicator of its own here.
            if text[..m.start()].ends_with('@') {
                continue;
            }
            let defanged = is_defanged(raw);
            out.push(FoundIndicator {
                start: m.start(),
                end: m.end(),
                kind: IndicatorKind::Domain,
                value,
                defanged,
                confidence: if defanged { 0.9 } else { 0.7 },
            });
        }
        out.sort_by_key(|f| (f.start, f.end));
        out
    }
}

fn memchr_colons(text: &str) -> bool {
    text.as_bytes()
        .windows(2)
        .any(|w| w[0] == b':' && (w[1].is_ascii_hexdigit() || w[1] == b':'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn find(t: &str) -> Vec<(IndicatorKind, String, bool, String)> {
        IndicatorRules::new()
            .find(t)
            .into_iter()
            .map(|f| (f.kind, f.value, f.defanged, t[f.start..f.end].to_owned()))
            .collect()
    }

    #[test]
    fn plain_indicators() {
        let f = find("C2 at 203.0.113.7 and 198.51.100.0/24, see https://evil.example.com/a?b=1. Also bad-host.ru and 2001:db8::1.");
        assert_eq!(
            f[0],
            (
                IndicatorKind::Ipv4,
                "203.0.113.7".into(),
                false,
                "203.0.113.7".into()
            )
        );
        assert_eq!(
            f[1],
            (
                IndicatorKind::Cidr,
                "198.51.100.0/24".into(),
                false,
                "198.51.100.0/24".into()
            )
        );
        assert_eq!(
            f[2],
            (
                IndicatorKind::Url,
                "https://evil.example.com/a?b=1".into(),
                false,
                "https://evil.example.com/a?b=1".into()
            )
        );
        assert_eq!(f[3].0, IndicatorKind::Domain);
        assert_eq!(f[3].1, "bad-host.ru");
        assert_eq!(
            f[4],
            (
                IndicatorKind::Ipv6,
                "2001:db8::1".into(),
                false,
                "2001:db8::1".into()
            )
        );
        assert_eq!(f.len(), 5, "{f:?}");
    }

    #[test]
    fn defanged_indicators_are_refanged() {
        let f = find("Beacons to hxxp://update-check[.]example[.]com/p.php and hxxps[:]//cdn.evil[.]org, 1.2.3[.]4, 10[.]0[.]0[.]0/8 and example(.)net.");
        assert_eq!(f[0].0, IndicatorKind::Url);
        assert_eq!(f[0].1, "http://update-check.example.com/p.php");
        assert!(f[0].2);
        assert_eq!(f[1].1, "https://cdn.evil.org");
        assert_eq!(f[1].3, "hxxps[:]//cdn.evil[.]org");
        assert_eq!(
            (f[2].0, f[2].1.as_str(), f[2].2),
            (IndicatorKind::Ipv4, "1.2.3.4", true)
        );
        assert_eq!(
            (f[3].0, f[3].1.as_str()),
            (IndicatorKind::Cidr, "10.0.0.0/8")
        );
        assert_eq!(
            (f[4].0, f[4].1.as_str(), f[4].2),
            (IndicatorKind::Domain, "example.net", true)
        );
        assert_eq!(f.len(), 5, "{f:?}");
    }

    #[test]
    fn a_defanged_domain_is_a_domain_whatever_its_ending() {
        let f = find("It authenticated to vpn.ous-hospital[.]example and files-share[.]lan, not to notes.txt or end.Then");
        let got: Vec<(IndicatorKind, &str, bool)> =
            f.iter().map(|x| (x.0, x.1.as_str(), x.2)).collect();
        assert_eq!(
            got,
            [
                (IndicatorKind::Domain, "vpn.ous-hospital.example", true),
                (IndicatorKind::Domain, "files-share.lan", true),
            ]
        );
        // RFC 2606 documentation names, plain.
        let f = find("Beacons to cdn-sync.example.");
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(f[0].1, "cdn-sync.example");
    }

    #[test]
    fn prose_is_not_an_indicator() {
        assert!(find("The U.S. Embassy, e.g. at 10:30, in St. Petersburg; version 1.2.3; 999.1.1.1; Mr.Smith").is_empty());
    }
}
