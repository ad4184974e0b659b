//! Time expressions → threat windows, relative to the text's date.
//!
//! Explicit dates ("on 8 March", "March 7", "7 March 2024", "2024-03-07", "8 марта") become that
//! whole day (UTC). Relative expressions ("imminent", "over the next 48 hours", "this weekend",
//! "tomorrow", "in the coming days", "next week") are anchored on the nearest explicit date that
//! precedes them in the same paragraph — so a news report dated 2 April that quotes "On March 7,
//! the Embassy … over the next 48 hours" yields 7–9 March — and otherwise on the text's date.
//! A day-and-month date without a year takes the year that puts it closest to the text's date.
//! Russian relative expressions ("в ближайшие дни", "в течение 48 часов", "завтра", "на этой
//! неделе", "в эти выходные", "в любой момент") are read the same way as their English forms.

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
    relative_ru: Regex,
    imminent_hours: i64,
}

/// A relative expression, whatever its language, before it is anchored on a date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Relative {
    Imminent,
    /// "the next N hours/days/weeks".
    Next(i64, Unit),
    /// "the coming days" (`false`) or "the coming weeks" (`true`).
    Coming {
        weeks: bool,
    },
    Weekend {
        next: bool,
    },
    Today,
    Tonight,
    Tomorrow,
    Week {
        next: bool,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Unit {
    Hours,
    Days,
    Weeks,
}

/// Russian number words as they follow "в ближайшие"/"в течение" (genitive or collective).
const RU_NUMBER_WORDS: &[(&str, i64)] = &[
    ("одних", 1),
    ("двух", 2),
    ("двое", 2),
    ("трех", 3),
    ("трёх", 3),
    ("трое", 3),
    ("четырех", 4),
    ("четырёх", 4),
    ("пяти", 5),
    ("семи", 7),
    ("десяти", 10),
];

fn ru_unit(u: &str) -> Unit {
    let u = u.to_lowercase();
    if u.starts_with("час") {
        Unit::Hours
    } else if u.starts_with("недел") {
        Unit::Weeks
    } else {
        // дней, дня, день, суток, сутки: a day either way.
        Unit::Days
    }
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
        let ru_num = r"\d{1,3}|одних|двух|двое|трех|трёх|трое|четырех|четырёх|пяти|семи|десяти";
        let ru_unit = r"час(?:а|ов)?|суток|сутки|дн(?:я|ей)|день|недел(?:и|ь|ю)";
        let ru_within = r"в\s+ближайшие|в\s+следующие|в\s+течение(?:\s+(?:ближайших|следующих))?|на\s+протяжении(?:\s+(?:ближайших|следующих))?";
        // Word boundaries are checked by hand in `find` (an ASCII `\b` does not end a Cyrillic word).
        let relative_ru = format!(
            r"(?i)(?:(?P<imm>неминуем\w*|в\s+любой\s+момент|в\s+любую\s+минуту)|(?:{ru_within})\s+(?P<n>{ru_num})\s+(?P<unit>{ru_unit})|в\s+течение\s+(?P<one>суток|дня|недели)|(?:в\s+ближайшие|в\s+предстоящие|в\s+течение\s+ближайших|в\s+ближайшее)\s+(?P<cd>дни|дней|недели|недель|время)|(?P<wk>в\s+эти|в\s+ближайшие|на\s+этих|на\s+ближайших|на\s+следующих|в\s+следующие)\s+выходн(?:ые|ых)|(?P<day>сегодня\s+(?:вечером|ночью)|сегодня|завтра)|(?P<nw>на\s+этой|на\s+следующей|на\s+будущей)\s+неделе)"
        );
        let relative = format!(
            r"(?i)(?-u:\b)(?:(?P<imm>imminent(?:ly)?|impending|at any moment)|(?:(?:over|in|within|inside|during|throughout|for)\s+)?the\s+(?:next|coming|following|subsequent|upcoming)\s+(?P<n>{num})[\s-]*(?P<unit>hours?|hrs?|days?|weeks?)|(?:(?:in|over|within)\s+)?the\s+(?:coming|next|following)\s+(?P<cd>days|weeks)|(?P<wk>this|next|the coming|this coming|over the)\s+weekend|(?P<day>today|tonight|tomorrow)|(?P<nw>next|this)\s+week)(?-u:\b)"
        );
        // ASCII word boundaries only: a Unicode `\b` keeps the regex engine off its fast DFA on
        // text with any non-ASCII character.
        Self {
            dates: Regex::new(&dates).expect("date pattern compiles"),
            relative: Regex::new(&relative).expect("relative time pattern compiles"),
            relative_ru: Regex::new(&relative_ru).expect("Russian relative time pattern compiles"),
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
        let mut relative: Vec<(usize, usize, Relative)> = Vec::new();
        for c in self.relative.captures_iter(text) {
            let m = c.get(0).expect("group 0");
            if let Some(r) = english_relative(&c) {
                relative.push((m.start(), m.end(), r));
            }
        }
        for c in self.relative_ru.captures_iter(text) {
            let m = c.get(0).expect("group 0");
            let before = text[..m.start()].chars().next_back();
            let after = text[m.end()..].chars().next();
            if before.is_some_and(char::is_alphanumeric) || after.is_some_and(char::is_alphanumeric)
            {
                continue;
            }
            if let Some(r) = russian_relative(&c) {
                relative.push((m.start(), m.end(), r));
            }
        }
        for (start, end, r) in relative {
            // The nearest explicit date before the expression, in the same paragraph.
            let anchor = explicit
                .iter()
                .rev()
                .find(|(_, e, _)| *e <= start && !text[*e..start].contains('\n'));
            let (a, anchor_span) = match anchor {
                Some((s, e, d)) => (*d, Some([*s, *e])),
                None => (date, None),
            };
            let (from, until, basis, confidence) = self.window(r, a);
            out.push(FoundWindow {
                start,
                end,
                from,
                until,
                basis,
                anchor: a,
                anchor_span,
                confidence,
            });
        }
        out.sort_by_key(|w| (w.start, w.end));
        out
    }

    /// The window a relative expression means, anchored on day `a`: (from, until, basis,
    /// confidence).
    fn window(&self, r: Relative, a: NaiveDate) -> (Timestamp, Timestamp, Basis, f64) {
        let day0 = midnight(a);
        match r {
            Relative::Imminent => (
                day0,
                day0 + Duration::hours(self.imminent_hours.max(1)),
                Basis::Imminent,
                0.8,
            ),
            Relative::Next(n, Unit::Hours) => {
                (day0, day0 + Duration::hours(n), Basis::NextHours, 0.9)
            }
            Relative::Next(n, Unit::Days) => {
                (day0, day0 + Duration::days(n), Basis::NextDays, 0.85)
            }
            Relative::Next(n, Unit::Weeks) => {
                (day0, day0 + Duration::weeks(n), Basis::NextDays, 0.8)
            }
            Relative::Coming { weeks: false } => {
                (day0, day0 + Duration::days(7), Basis::ComingDays, 0.6)
            }
            Relative::Coming { weeks: true } => {
                (day0, day0 + Duration::days(28), Basis::ComingWeeks, 0.5)
            }
            Relative::Weekend { next } => {
                // Saturday 00:00 to Monday 00:00; "this weekend" on a Saturday or Sunday is the
                // current one, "next weekend" the one after.
                let wd = a.weekday().num_days_from_monday() as i64; // Mon 0 … Sun 6
                let mut sat = a + Duration::days((5 - wd).rem_euclid(7));
                if wd == 6 {
                    sat = a - Duration::days(1);
                }
                if next {
                    sat += Duration::days(7);
                }
                (
                    midnight(sat),
                    midnight(sat + Duration::days(2)),
                    Basis::Weekend,
                    0.8,
                )
            }
            Relative::Today => (day0, day0 + Duration::days(1), Basis::Today, 0.5),
            Relative::Tonight => (
                day0 + Duration::hours(18),
                day0 + Duration::hours(30),
                Basis::Tonight,
                0.6,
            ),
            Relative::Tomorrow => (
                day0 + Duration::days(1),
                day0 + Duration::days(2),
                Basis::Tomorrow,
                0.6,
            ),
            Relative::Week { next } => {
                let monday = a - Duration::days(a.weekday().num_days_from_monday() as i64);
                if next {
                    (
                        midnight(monday + Duration::days(7)),
                        midnight(monday + Duration::days(14)),
                        Basis::NextWeek,
                        0.6,
                    )
                } else {
                    (
                        midnight(a),
                        midnight(monday + Duration::days(7)),
                        Basis::ThisWeek,
                        0.6,
                    )
                }
            }
        }
    }
}

/// A count of hours, days or weeks worth a window (1 hour to a year).
fn plausible(n: i64) -> Option<i64> {
    Some(n).filter(|n| (1..=365 * 24).contains(n))
}

fn english_relative(c: &regex::Captures<'_>) -> Option<Relative> {
    if c.name("imm").is_some() {
        return Some(Relative::Imminent);
    }
    if let (Some(n), Some(u)) = (c.name("n"), c.name("unit")) {
        let n = plausible(parse_count(n.as_str())?)?;
        let u = u.as_str().to_lowercase();
        let unit = if u.starts_with('h') {
            Unit::Hours
        } else if u.starts_with('d') {
            Unit::Days
        } else {
            Unit::Weeks
        };
        return Some(Relative::Next(n, unit));
    }
    if let Some(cd) = c.name("cd") {
        return Some(Relative::Coming {
            weeks: !cd.as_str().eq_ignore_ascii_case("days"),
        });
    }
    if let Some(wk) = c.name("wk") {
        return Some(Relative::Weekend {
            next: wk.as_str().eq_ignore_ascii_case("next"),
        });
    }
    if let Some(day) = c.name("day") {
        return Some(match day.as_str().to_lowercase().as_str() {
            "today" => Relative::Today,
            "tonight" => Relative::Tonight,
            _ => Relative::Tomorrow,
        });
    }
    c.name("nw").map(|nw| Relative::Week {
        next: nw.as_str().eq_ignore_ascii_case("next"),
    })
}

fn russian_relative(c: &regex::Captures<'_>) -> Option<Relative> {
    if c.name("imm").is_some() {
        return Some(Relative::Imminent);
    }
    if let (Some(n), Some(u)) = (c.name("n"), c.name("unit")) {
        let word = n.as_str().to_lowercase();
        let n = match word.parse::<i64>() {
            Ok(n) => n,
            Err(_) => RU_NUMBER_WORDS.iter().find(|(w, _)| *w == word)?.1,
        };
        return Some(Relative::Next(plausible(n)?, ru_unit(u.as_str())));
    }
    if let Some(one) = c.name("one") {
        return Some(Relative::Next(1, ru_unit(one.as_str())));
    }
    if let Some(cd) = c.name("cd") {
        // "в ближайшее время" (soon) reads as the coming days.
        return Some(Relative::Coming {
            weeks: cd.as_str().to_lowercase().starts_with("недел"),
        });
    }
    if let Some(wk) = c.name("wk") {
        return Some(Relative::Weekend {
            next: wk.as_str().to_lowercase().contains("следующ"),
        });
    }
    if let Some(day) = c.name("day") {
        let day = day.as_str().to_lowercase();
        return Some(if day.starts_with("завтра") {
            Relative::Tomorrow
        } else if day.contains("вечером") || day.contains("ночью") {
            Relative::Tonight
        } else {
            Relative::Today
        });
    }
    c.name("nw").map(|nw| {
        let nw = nw.as_str().to_lowercase();
        Relative::Week {
            next: nw.contains("следующ") || nw.contains("будущ"),
        }
    })
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

    #[test]
    fn russian_relative_expressions() {
        let text = "В ближайшие дни в Стамбуле возможны нападения.";
        let w = find(text, d(2024, 3, 6));
        assert_eq!(w.len(), 1);
        assert_eq!(
            (w[0].from, w[0].until, w[0].basis),
            (t(3, 6, 0), t(3, 13, 0), Basis::ComingDays)
        );
        assert_eq!(&text[w[0].start..w[0].end], "В ближайшие дни");
        let w = find(
            "Избегать массовых мероприятий в течение 48 часов.",
            d(2024, 3, 7),
        );
        assert_eq!((w[0].until, w[0].basis), (t(3, 9, 0), Basis::NextHours));
        let w = find("в ближайшие двое суток", d(2024, 3, 7));
        assert_eq!((w[0].until, w[0].basis), (t(3, 9, 0), Basis::NextDays));
        let w = find("в течение недели", d(2024, 3, 6));
        assert_eq!(w[0].until, t(3, 13, 0));
        // Anchored on a preceding Russian date in the same paragraph.
        let w = find("7 марта посольство: в течение 48 часов", d(2024, 4, 2));
        let next = w.iter().find(|w| w.basis == Basis::NextHours).unwrap();
        assert_eq!((next.from, next.until), (t(3, 7, 0), t(3, 9, 0)));
        let w = find("завтра и на следующей неделе", d(2024, 3, 6));
        assert_eq!((w[0].from, w[0].basis), (t(3, 7, 0), Basis::Tomorrow));
        assert_eq!((w[1].from, w[1].until), (t(3, 11, 0), t(3, 18, 0)));
        let w = find("в эти выходные", d(2024, 3, 6));
        assert_eq!((w[0].from, w[0].until), (t(3, 9, 0), t(3, 11, 0)));
        let w = find("сегодня вечером", d(2024, 3, 6));
        assert_eq!((w[0].from, w[0].basis), (t(3, 6, 18), Basis::Tonight));
        let w = find("Нападение может произойти в любой момент", d(2024, 3, 6));
        assert_eq!(w[0].basis, Basis::Imminent);
        // Inside a longer word, or a count of nothing, is no window.
        assert!(find("позавтракать", d(2024, 3, 6)).is_empty());
        assert!(find("в ближайшие 0 часов", d(2024, 3, 6)).is_empty());
    }
}
