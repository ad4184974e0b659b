//! Time expressions → threat windows, relative to the text's date.
//!
//! Explicit dates ("on 8 March", "March 7", "7 March 2024", "2024-03-07", "8 марта") become that
//! whole day (UTC). Relative expressions ("imminent", "over the next 48 hours", "this weekend",
//! "tomorrow", "in the coming days", "next week") are anchored on the nearest explicit date that
//! precedes them in the same paragraph — so a news report dated 2 April that quotes "On March 7,
//! the Embassy … over the next 48 hours" yields 7–9 March — and otherwise on the text's date.
//! A day-and-month date without a year takes the year that puts it closest to the text's date.

use chrono::{Datelike, Duration, NaiveDate, TimeZone, Utc};
use regex::Regex;
use tocsin_core::Timestamp;

/// What the window was read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Basis {
    Date,
    Imminent,
    NextHours,
    NextDays,
    ComingDays,
    ComingWeeks,
    Weekend,
    Today,
    Tonight,
    Tomorrow,
    NextWeek,
    ThisWeek,
}

/// One window found in the text.
#[derive(Debug, Clone, PartialEq)]
pub struct FoundWindow {
    pub start: usize,
    pub end: usize,
    pub from: Timestamp,
    pub until: Timestamp,
    pub basis: Basis,
    pub anchor: NaiveDate,
    /// The explicit date the window was anchored on, when not the text's date.
    pub anchor_span: Option<[usize; 2]>,
    pub confidence: f64,
}

pub(crate) struct TimeRules {
    dates: Regex,
    relative: Regex,
    imminent_hours: i64,
}

const MONTHS: &str = r"january|february|march|april|may|june|july|august|september|october|november|december|jan|feb|mar|apr|jun|jul|aug|sept|sep|oct|nov|dec|января|февраля|марта|апреля|мая|июня|июля|августа|сентября|октября|ноября|декабря";

const NUMBER_WORDS: &[(&str, i64)] = &[
    ("one", 1),
    ("two", 2),
    ("three", 3),
    ("four", 4),
    ("five", 5),
    ("six", 6),
    ("seven", 7),
    ("ten", 10),
    ("twelve", 12),
    ("fourteen", 14),
    ("twenty-four", 24),
    ("thirty-six", 36),
    ("forty-eight", 48),
    ("seventy-two", 72),
];

fn month_number(m: &str) -> Option<u32> {
    let m = m.to_lowercase();
    let en = [
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ];
    if let Some(i) = en.iter().position(|p| m.starts_with(p)) {
        return Some(i as u32 + 1);
    }
    let ru = [
        "январ",
        "феврал",
        "март",
        "апрел",
        "ма",
        "июн",
        "июл",
        "август",
        "сентябр",
        "октябр",
        "ноябр",
        "декабр",
    ];
    // "мая" must not be taken for "марта": test the longer stems first.
    let order = [0, 1, 2, 3, 5, 6, 7, 8, 9, 10, 11, 4];
    order
        .iter()
        .find(|&&i| m.starts_with(ru[i]))
        .map(|&i| i as u32 + 1)
}

fn parse_count(s: &str) -> Option<i64> {
    let s = s.trim().to_lowercase();
    if let Ok(n) = s.parse::<i64>() {
        return Some(n);
    }
    let s = s.replace(' ', "-");
    NUMBER_WORDS.iter().find(|(w, _)| *w == s).map(|(_, n)| *n)
}

fn midnight(d: NaiveDate) -> Timestamp {
    Utc.from_utc_datetime(&d.and_hms_opt(0, 0, 0).unwrap_or_default())
}

/// The year for a day and month that puts the date closest to `near`.
fn closest_year(day: u32, month: u32, near: NaiveDate) -> Option<NaiveDate> {
    [near.year() - 1, near.year(), near.year() + 1]
        .iter()
        .filter_map(|&y| NaiveDate::from_ymd_opt(y, month, day))
        .min_by_key(|d| (*d - near).num_days().abs())
}

impl TimeRules {
    pub fn new(imminent_hours: i64) -> Self {
        let num = r"\d{1,3}|one|two|three|four|five|six|seven|ten|twelve|fourteen|twenty[- ]four|thirty[- ]six|forty[- ]eight|seventy[- ]two";
        let dates = format!(
            r"(?i)(?-u:\b)(?:on\s+)?(?:(?P<d1>\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?(?P<m1>{MONTHS})\.?(?:,?\s+(?P<y1>\d{{4}}))?|(?P<m2>{MONTHS})\.?\s+(?P<d2>\d{{1,2}})(?:st|nd|rd|th)?(?-u:\b)(?:,?\s+(?P<y2>\d{{4}}))?|(?P<iy>\d{{4}})-(?P<im>\d{{2}})-(?P<id>\d{{2}}))"
        );
        let relative = format!(
            r"(?i)(?-u:\b)(?:(?P<imm>imminent(?:ly)?|impending|at any moment)|(?:(?:over|in|within|inside|during|throughout|for)\s+)?the\s+(?:next|coming|following|subsequent|upcoming)\s+(?P<n>{num})[\s-]*(?P<unit>hours?|hrs?|days?|weeks?)|(?:(?:in|over|within)\s+)?the\s+(?:coming|next|following)\s+(?P<cd>days|weeks)|(?P<wk>this|next|the coming|this coming|over the)\s+weekend|(?P<day>today|tonight|tomorrow)|(?P<nw>next|this)\s+week)(?-u:\b)"
        );
        // ASCII word boundaries only: a Unicode `\b` keeps the regex engine off its fast DFA on
        // text with any non-ASCII character.
        Self {
            dates: Regex::new(&dates).expect("date pattern compiles"),
            relative: Regex::new(&relative).expect("relative time pattern compiles"),
            imminent_hours,
        }
    }

    pub fn find(&self, text: &str, date: NaiveDate) -> Vec<FoundWindow> {
        let mut out = Vec::new();
        let mut explicit: Vec<(usize, usize, NaiveDate)> = Vec::new();
        for c in self.dates.captures_iter(text) {
            let m = c.get(0).expect("group 0");
            // The pattern has no final word boundary (an ASCII one would not end a Cyrillic month
            // name, a Unicode one would slow the whole scan down): check the next character here.
            if text[m.end()..]
                .chars()
                .next()
                .is_some_and(char::is_alphanumeric)
            {
                continue;
            }
            let d = if let (Some(y), Some(mo), Some(d)) = (c.name("iy"), c.name("im"), c.name("id"))
            {
                match (y.as_str().parse(), mo.as_str().parse(), d.as_str().parse()) {
                    (Ok(y), Ok(mo), Ok(d)) => NaiveDate::from_ymd_opt(y, mo, d),
                    _ => None,
                }
            } else {
                let (d, mo, y) = match (c.name("d1"), c.name("m1")) {
                    (Some(d), Some(mo)) => (d, mo, c.name("y1")),
                    _ => match (c.name("d2"), c.name("m2")) {
                        (Some(d), Some(mo)) => (d, mo, c.name("y2")),
                        _ => continue,
                    },
                };
                match (d.as_str().parse::<u32>().ok(), month_number(mo.as_str())) {
                    (Some(d), Some(mo)) => match y.and_then(|y| y.as_str().parse::<i32>().ok()) {
                        Some(y) => NaiveDate::from_ymd_opt(y, mo, d),
                        None => closest_year(d, mo, date),
                    },
                    _ => None,
                }
            };
            let Some(d) = d else { continue };
            // "8 March." ends a sentence; "8 Mar." is an abbreviation: keep the dot only there.
            let mut end = m.end();
            if let Some(mo) = c.name("m1").or(c.name("m2")) {
                if mo.end() + 1 == end
                    && text[..end].ends_with('.')
                    && mo.as_str().chars().count() > 4
                {
                    end -= 1;
                }
            }
            explicit.push((m.start(), end, d));
            out.push(FoundWindow {
                start: m.start(),
                end,
                from: midnight(d),
                until: midnight(d + Duration::days(1)),
                basis: Basis::Date,
                anchor: d,
                anchor_span: None,
                confidence: 0.6,
            });
        }
        for c in self.relative.captures_iter(text) {
            let m = c.get(0).expect("group 0");
            // The nearest explicit date before the expression, in the same paragraph.
            let anchor = explicit
                .iter()
                .rev()
                .find(|(_, e, _)| *e <= m.start() && !text[*e..m.start()].contains('\n'));
            let (a, anchor_span) = match anchor {
                Some((s, e, d)) => (*d, Some([*s, *e])),
                None => (date, None),
            };
            let day0 = midnight(a);
            let (from, until, basis, conf) = if c.name("imm").is_some() {
                (
                    day0,
                    day0 + Duration::hours(self.imminent_hours.max(1)),
                    Basis::Imminent,
                    0.8,
                )
            } else if let (Some(n), Some(u)) = (c.name("n"), c.name("unit")) {
                let Some(n) = parse_count(n.as_str()).filter(|n| (1..=365 * 24).contains(n)) else {
                    continue;
                };
                let u = u.as_str().to_lowercase();
                if u.starts_with('h') {
                    (day0, day0 + Duration::hours(n), Basis::NextHours, 0.9)
                } else if u.starts_with('d') {
                    (day0, day0 + Duration::days(n), Basis::NextDays, 0.85)
                } else {
                    (day0, day0 + Duration::weeks(n), Basis::NextDays, 0.8)
                }
            } else if let Some(cd) = c.name("cd") {
                if cd.as_str().eq_ignore_ascii_case("days") {
                    (day0, day0 + Duration::days(7), Basis::ComingDays, 0.6)
                } else {
                    (day0, day0 + Duration::days(28), Basis::ComingWeeks, 0.5)
                }
            } else if let Some(wk) = c.name("wk") {
                // Saturday 00:00 to Monday 00:00; "this weekend" on a Saturday or Sunday is the
                // current one, "next weekend" the one after.
                let wd = a.weekday().num_days_from_monday() as i64; // Mon 0 … Sun 6
                let mut sat = a + Duration::days((5 - wd).rem_euclid(7));
                if wd == 6 {
                    sat = a - Duration::days(1);
                }
                if wk.as_str().eq_ignore_ascii_case("next") {
                    sat += Duration::days(7);
                }
                (
                    midnight(sat),
                    midnight(sat + Duration::days(2)),
                    Basis::Weekend,
                    0.8,
                )
            } else if let Some(day) = c.name("day") {
                match day.as_str().to_lowercase().as_str() {
                    "today" => (day0, day0 + Duration::days(1), Basis::Today, 0.5),
                    "tonight" => (
                        day0 + Duration::hours(18),
                        day0 + Duration::hours(30),
                        Basis::Tonight,
                        0.6,
                    ),
                    _ => (
                        day0 + Duration::days(1),
                        day0 + Duration::days(2),
                        Basis::Tomorrow,
                        0.6,
                    ),
                }
            } else if let Some(nw) = c.name("nw") {
                let monday = a - Duration::days(a.weekday().num_days_from_monday() as i64);
                let start = if nw.as_str().eq_ignore_ascii_case("next") {
                    monday + Duration::days(7)
                } else {
                    a
                };
                let end = if nw.as_str().eq_ignore_ascii_case("next") {
                    monday + Duration::days(14)
                } else {
                    monday + Duration::days(7)
                };
                let basis = if nw.as_str().eq_ignore_ascii_case("next") {
                    Basis::NextWeek
                } else {
                    Basis::ThisWeek
                };
                (midnight(start), midnight(end), basis, 0.6)
            } else {
                continue;
            };
            out.push(FoundWindow {
                start: m.start(),
                end: m.end(),
                from,
                until,
                basis,
                anchor: a,
                anchor_span,
                confidence: conf,
            });
        }
        out.sort_by_key(|w| (w.start, w.end));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn t(m: u32, day: u32, h: u32) -> Timestamp {
        Utc.with_ymd_and_hms(2024, m, day, h, 0, 0).unwrap()
    }

    fn find(text: &str, date: NaiveDate) -> Vec<FoundWindow> {
        TimeRules::new(48).find(text, date)
    }

    #[test]
    fn next_48_hours_relative_to_the_text_date() {
        let w = find(
            "Avoid large gatherings over the next 48 hours.",
            d(2024, 3, 7),
        );
        assert_eq!(w.len(), 1);
        assert_eq!(
            (w[0].from, w[0].until, w[0].basis),
            (t(3, 7, 0), t(3, 9, 0), Basis::NextHours)
        );
        assert_eq!(
            &"Avoid large gatherings over the next 48 hours."[w[0].start..w[0].end],
            "over the next 48 hours"
        );
        let w = find("within the next forty-eight hours", d(2024, 3, 7));
        assert_eq!(w[0].until, t(3, 9, 0));
    }

    #[test]
    fn explicit_dates_and_years() {
        let w = find("They plan to strike on 8 March.", d(2024, 3, 6));
        assert_eq!(
            (w[0].from, w[0].until, w[0].basis),
            (t(3, 8, 0), t(3, 9, 0), Basis::Date)
        );
        assert_eq!(
            &"They plan to strike on 8 March."[w[0].start..w[0].end],
            "on 8 March"
        );
        let w = find(
            "On March 22, 2024 and 2024-03-07 and 8 марта",
            d(2025, 1, 1),
        );
        assert_eq!(
            w.iter().map(|w| w.anchor).collect::<Vec<_>>(),
            [d(2024, 3, 22), d(2024, 3, 7), d(2025, 3, 8)]
        );
        // Closest year: "December 30" in a text of 2 January is last year's.
        let w = find("since December 30", d(2024, 1, 2));
        assert_eq!(w[0].anchor, d(2023, 12, 30));
        assert!(find("on 31 February", d(2024, 1, 2)).is_empty());
    }

    #[test]
    fn relative_expressions_anchor_on_a_preceding_date_in_the_paragraph() {
        let text = "On March 7, the Embassy said extremists have imminent plans, and advised to avoid large gatherings over the next 48 hours.\nLater text: imminent.";
        let w = find(text, d(2024, 4, 2));
        let next = w.iter().find(|w| w.basis == Basis::NextHours).unwrap();
        assert_eq!((next.from, next.until), (t(3, 7, 0), t(3, 9, 0)));
        assert_eq!(
            next.anchor_span.map(|[s, e]| &text[s..e]),
            Some("On March 7")
        );
        let imm: Vec<_> = w.iter().filter(|w| w.basis == Basis::Imminent).collect();
        assert_eq!(imm[0].until, t(3, 9, 0));
        // The second paragraph has no date of its own: the text's date.
        assert_eq!((imm[1].from, imm[1].anchor_span), (t(4, 2, 0), None));
    }

    #[test]
    fn weekends_days_weeks() {
        // 6 March 2024 is a Wednesday.
        let w = find("this weekend", d(2024, 3, 6));
        assert_eq!((w[0].from, w[0].until), (t(3, 9, 0), t(3, 11, 0)));
        let w = find("next weekend", d(2024, 3, 6));
        assert_eq!(w[0].from, t(3, 16, 0));
        let w = find("this weekend", d(2024, 3, 10)); // a Sunday: the current weekend
        assert_eq!(w[0].from, t(3, 9, 0));
        let w = find("tomorrow, and in the coming days", d(2024, 3, 6));
        assert_eq!((w[0].from, w[0].basis), (t(3, 7, 0), Basis::Tomorrow));
        assert_eq!((w[1].until, w[1].basis), (t(3, 13, 0), Basis::ComingDays));
        let w = find("next week", d(2024, 3, 6));
        assert_eq!((w[0].from, w[0].until), (t(3, 11, 0), t(3, 18, 0)));
    }
}
