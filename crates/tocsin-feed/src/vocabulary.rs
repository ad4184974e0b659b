//! The event-type vocabulary: report types (one per feed file, e.g. Shadowserver's `scan_rdp`),
//! their normalised names (`accessible-rdp`), and the event types rows carry (`rdp;cve-2019-0708`,
//! a `;`-separated list of tags). Inhibitions may name any of them (`docs/feeds.md`).

/// The report type of a run: its name and, for known report families, a normalised name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportType {
    pub name: String,
    pub normalised: Option<String>,
}

impl ReportType {
    pub fn new(name: &str) -> Self {
        let name = report_type_name(name);
        let normalised = normalised_name(&name);
        Self { name, normalised }
    }

    /// Whether `t` names this report type (its name or its normalised name).
    pub fn names(&self, t: &str) -> bool {
        self.name.eq_ignore_ascii_case(t)
            || self
                .normalised
                .as_deref()
                .is_some_and(|n| n.eq_ignore_ascii_case(t))
    }
}

/// A report type as Tocsin keys it: lower case, only `a-z 0-9 _ - .` (anything else becomes
/// `_`), so it is safe in file names, mail headers and interval keys.
pub fn report_type_name(s: &str) -> String {
    s.trim()
        .chars()
        .map(|c| {
            let c = c.to_ascii_lowercase();
            if c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// The report type a file name stands for. Shadowserver names its files
/// `YYYY-MM-DD-<report>-<scope>.csv` (e.g. `2026-11-27-scan_rdp-de-geo.csv`): the date is dropped
/// and the report is the next `-`-separated part. Any other name: the stem without its extension.
pub fn report_type_from_file_name(file_name: &str) -> String {
    let stem = file_name
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or(file_name)
        .split('.')
        .next()
        .unwrap_or("");
    let b = stem.as_bytes();
    let dated = b.len() > 11
        && b[..10].iter().enumerate().all(|(i, c)| {
            if i == 4 || i == 7 {
                *c == b'-'
            } else {
                c.is_ascii_digit()
            }
        })
        && b[10] == b'-';
    let name = if dated {
        stem[11..].split('-').next().unwrap_or("")
    } else {
        stem
    };
    let name = report_type_name(name);
    if name.is_empty() {
        "feed".into()
    } else {
        name
    }
}

/// The normalised name of a report type: scans of a service `accessible-<service>`, sinkhole and
/// drone reports `infected-system`; `None` for others.
pub fn normalised_name(report_type: &str) -> Option<String> {
    let rt = report_type.to_ascii_lowercase();
    for p in ["scan6_", "scan_"] {
        if let Some(svc) = rt.strip_prefix(p) {
            if !svc.is_empty() {
                return Some(format!("accessible-{}", svc.replace('_', "-")));
            }
        }
    }
    if rt.contains("sinkhole") || rt.contains("drone") {
        return Some("infected-system".into());
    }
    None
}

/// Whether `want` names the event type `ty`: the whole value or one of its `;`/`,`-separated
/// tags, ignoring case.
pub fn type_names(ty: &[u8], want: &[u8]) -> bool {
    ty.eq_ignore_ascii_case(want)
        || ty
            .split(|&c| c == b';' || c == b',')
            .any(|t| t.trim_ascii().eq_ignore_ascii_case(want))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_types_from_file_names() {
        assert_eq!(
            report_type_from_file_name("2026-11-27-scan_rdp-de-geo.csv"),
            "scan_rdp"
        );
        assert_eq!(
            report_type_from_file_name("/srv/2026-11-27-event4_sinkhole-de-geo.csv"),
            "event4_sinkhole"
        );
        assert_eq!(
            report_type_from_file_name("partner feed.csv"),
            "partner_feed"
        );
        assert_eq!(report_type_from_file_name(".csv"), "feed");
    }

    #[test]
    fn inhibitions_name_tags_report_types_and_normalised_names() {
        let r = ReportType::new("scan_rdp");
        assert_eq!(r.normalised.as_deref(), Some("accessible-rdp"));
        assert!(r.names("accessible-rdp") && r.names("SCAN_RDP") && !r.names("rdp"));
        assert!(type_names(b"rdp;cve-2019-0708", b"cve-2019-0708"));
        assert!(type_names(b"rdp;cve-2019-0708", b"rdp;cve-2019-0708"));
        assert!(!type_names(b"rdp;cve-2019-0708", b"cve-2019"));
        assert_eq!(
            ReportType::new("event4_sinkhole").normalised.as_deref(),
            Some("infected-system")
        );
    }
}
