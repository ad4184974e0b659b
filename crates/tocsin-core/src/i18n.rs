//! Message catalogues: every fixed sentence Tocsin shows a recipient, per language.
//!
//! One catalogue per language under `crates/tocsin-core/i18n/<code>.ftl`, embedded at compile
//! time (`include_str!`: no file is read at run time). The format is a subset of Project Fluent:
//! `key = text` on one line, `#` comments, placeables `{ $name }`. `en` is the reference: every
//! other catalogue has exactly its keys and the same placeables in each message (the tests check
//! this, so a missing or extra key fails the build's tests). Report text is never translated.
//!
//! Also here: local times for an audience (`22 March 2024, 20:00 MSK (17:00 UTC)`).

use crate::time::Timestamp;
use std::collections::BTreeMap;
use std::sync::OnceLock;
use thiserror::Error;

pub use chrono_tz::Tz;

/// The languages with a complete catalogue, by code (ISO 639-1), and their sources.
const SOURCES: &[(&str, &str)] = &[
    ("en", include_str!("../i18n/en.ftl")),
    ("ru", include_str!("../i18n/ru.ftl")),
    ("de", include_str!("../i18n/de.ftl")),
    ("fr", include_str!("../i18n/fr.ftl")),
    ("es", include_str!("../i18n/es.ftl")),
    ("ar", include_str!("../i18n/ar.ftl")),
    ("fa", include_str!("../i18n/fa.ftl")),
    ("uk", include_str!("../i18n/uk.ftl")),
];

/// Languages written right to left.
const RTL: &[&str] = &["ar", "fa", "he", "ur"];

/// A line of a catalogue that is not a message, a comment or blank.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CatalogueError {
    #[error("{lang}.ftl line {line}: expected `key = text`")]
    NotAMessage { lang: String, line: usize },
    #[error("{lang}.ftl line {line}: key {key:?} may hold only a-z, 0-9 and '-', starting with a letter")]
    BadKey {
        lang: String,
        line: usize,
        key: String,
    },
    #[error("{lang}.ftl line {line}: key {key:?} appears twice")]
    Duplicate {
        lang: String,
        line: usize,
        key: String,
    },
}

/// One language's messages.
#[derive(Debug, Clone)]
pub struct Catalogue {
    pub code: &'static str,
    messages: BTreeMap<String, String>,
}

/// Parse a catalogue's source.
pub fn parse(lang: &str, src: &str) -> Result<BTreeMap<String, String>, CatalogueError> {
    let mut out = BTreeMap::new();
    for (i, raw) in src.lines().enumerate() {
        let line = i + 1;
        let l = raw.trim();
        if l.is_empty() || l.starts_with('#') {
            continue;
        }
        let (k, v) = l
            .split_once('=')
            .ok_or_else(|| CatalogueError::NotAMessage {
                lang: lang.into(),
                line,
            })?;
        let (k, v) = (k.trim(), v.trim());
        let key_ok = k.starts_with(|c: char| c.is_ascii_lowercase())
            && k.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if !key_ok {
            return Err(CatalogueError::BadKey {
                lang: lang.into(),
                line,
                key: k.into(),
            });
        }
        if v.is_empty() {
            return Err(CatalogueError::NotAMessage {
                lang: lang.into(),
                line,
            });
        }
        if out.insert(k.to_owned(), v.to_owned()).is_some() {
            return Err(CatalogueError::Duplicate {
                lang: lang.into(),
                line,
                key: k.into(),
            });
        }
    }
    Ok(out)
}

/// The names of the placeables (`{ $name }`) in a message, in order.
pub fn placeables(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("{ $") {
        let after = &rest[start + 3..];
        match after.find(" }") {
            Some(end) => {
                out.push(&after[..end]);
                rest = &after[end + 2..];
            }
            None => break,
        }
    }
    out
}

fn all() -> &'static Vec<Catalogue> {
    static ALL: OnceLock<Vec<Catalogue>> = OnceLock::new();
    ALL.get_or_init(|| {
        SOURCES
            .iter()
            .map(|(code, src)| Catalogue {
                code,
                // A malformed catalogue is caught by the tests; at run time it reads as empty
                // and every lookup falls back to English.
                messages: parse(code, src).unwrap_or_default(),
            })
            .collect()
    })
}

/// The codes of every language with a catalogue.
pub fn languages() -> impl Iterator<Item = &'static str> {
    SOURCES.iter().map(|(c, _)| *c)
}

/// The sources, for the completeness tests.
pub fn sources() -> &'static [(&'static str, &'static str)] {
    SOURCES
}

/// The primary subtag of a language tag, lower-cased (`pt-BR` → `pt`).
pub fn primary_language(lang: &str) -> String {
    lang.split(['-', '_'])
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

/// The catalogue for a language tag (`ru`, `ru-RU`, `RU`); English when there is none.
pub fn catalogue(lang: &str) -> &'static Catalogue {
    let primary = primary_language(lang);
    let cats = all();
    cats.iter().find(|c| c.code == primary).unwrap_or(&cats[0])
}

impl Catalogue {
    /// `true` for a right-to-left script (the page's `dir="rtl"`).
    pub fn rtl(&self) -> bool {
        RTL.contains(&self.code)
    }

    /// `rtl` or `ltr`.
    pub fn dir(&self) -> &'static str {
        if self.rtl() {
            "rtl"
        } else {
            "ltr"
        }
    }

    /// A message without placeables; English, then the key itself, when it is missing.
    pub fn get<'a>(&'a self, key: &'a str) -> &'a str {
        self.messages
            .get(key)
            .or_else(|| all()[0].messages.get(key))
            .map(String::as_str)
            .unwrap_or(key)
    }

    /// A message with its placeables filled from `args` (`("name", value)`); a placeable not in
    /// `args` is left as it is.
    pub fn fmt(&self, key: &str, args: &[(&str, &str)]) -> String {
        let mut s = self.get(key).to_owned();
        for (name, value) in args {
            s = s.replace(&format!("{{ ${name} }}"), value);
        }
        s
    }

    /// The keys this catalogue holds.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.messages.keys().map(String::as_str)
    }

    /// `22 March 2024, 20:00 MSK (17:00 UTC)`: `t` in `zone`, with UTC beside it (alone when
    /// the zone is UTC itself).
    pub fn local_time(&self, t: Timestamp, zone: chrono_tz::Tz) -> String {
        use chrono::{Datelike, Offset, TimeZone};
        let local = zone.from_utc_datetime(&t.naive_utc());
        let month = self.get(&format!("month-{}", local.month())).to_owned();
        let date = |day: String, hm: String| {
            self.fmt(
                "date-time",
                &[
                    ("day", &day),
                    ("month", &month),
                    ("year", &local.year().to_string()),
                    ("time", &hm),
                ],
            )
        };
        let utc_hm = t.format("%H:%M").to_string();
        if zone == chrono_tz::UTC || zone == chrono_tz::Etc::UTC {
            return format!("{} UTC", date(local.day().to_string(), utc_hm));
        }
        let abbr = local.format("%Z").to_string();
        let abbr = if abbr.starts_with(['+', '-']) {
            // No abbreviation in the zone data: name the offset instead (`UTC+05`).
            let secs = local.offset().fix().local_minus_utc();
            format!(
                "UTC{}{:02}",
                if secs < 0 { '-' } else { '+' },
                secs.abs() / 3600
            )
        } else {
            abbr
        };
        let utc = if local.date_naive() == t.date_naive() {
            format!("{utc_hm} UTC")
        } else {
            // The UTC time falls on another day: say which.
            format!("{} UTC", date_of(self, t))
        };
        format!(
            "{} {abbr} ({utc})",
            date(local.day().to_string(), local.format("%H:%M").to_string())
        )
    }
}

fn date_of(cat: &Catalogue, t: Timestamp) -> String {
    use chrono::Datelike;
    cat.fmt(
        "date-time",
        &[
            ("day", &t.day().to_string()),
            ("month", cat.get(&format!("month-{}", t.month()))),
            ("year", &t.year().to_string()),
            ("time", &t.format("%H:%M").to_string()),
        ],
    )
}

/// Countries (ISO 3166-1 alpha-3) that keep one time zone, and that zone. Countries with several
/// zones (RUS, USA, CAN, AUS, BRA, MEX, IDN, KAZ, …) are absent: their audiences need `timezone`
/// or a matched site's zone, else times are shown in UTC.
const COUNTRY_ZONES: &[(&str, chrono_tz::Tz)] = {
    use chrono_tz::*;
    &[
        ("ARE", Asia::Dubai),
        ("AUT", Europe::Vienna),
        ("BEL", Europe::Brussels),
        ("BGR", Europe::Sofia),
        ("BLR", Europe::Minsk),
        ("CHE", Europe::Zurich),
        ("CZE", Europe::Prague),
        ("DEU", Europe::Berlin),
        ("DNK", Europe::Copenhagen),
        ("EGY", Africa::Cairo),
        ("EST", Europe::Tallinn),
        ("FIN", Europe::Helsinki),
        ("FRA", Europe::Paris),
        ("GBR", Europe::London),
        ("GRC", Europe::Athens),
        ("HRV", Europe::Zagreb),
        ("HUN", Europe::Budapest),
        ("IRL", Europe::Dublin),
        ("IRN", Asia::Tehran),
        ("IRQ", Asia::Baghdad),
        ("ISR", Asia::Jerusalem),
        ("ITA", Europe::Rome),
        ("JOR", Asia::Amman),
        ("JPN", Asia::Tokyo),
        ("KOR", Asia::Seoul),
        ("LBN", Asia::Beirut),
        ("LTU", Europe::Vilnius),
        ("LVA", Europe::Riga),
        ("MAR", Africa::Casablanca),
        ("NLD", Europe::Amsterdam),
        ("NOR", Europe::Oslo),
        ("POL", Europe::Warsaw),
        ("ROU", Europe::Bucharest),
        ("SAU", Asia::Riyadh),
        ("SRB", Europe::Belgrade),
        ("SVK", Europe::Bratislava),
        ("SVN", Europe::Ljubljana),
        ("SWE", Europe::Stockholm),
        ("SYR", Asia::Damascus),
        ("TJK", Asia::Dushanbe),
        ("TUR", Europe::Istanbul),
        ("UKR", Europe::Kyiv),
    ]
};

/// The zone to show an audience's times in: its own `timezone` (an IANA name), else its
/// country's when the country has one zone, else the matched site's zone, else UTC.
pub fn audience_zone(
    timezone: Option<&str>,
    country: Option<&str>,
    site_zone: Option<chrono_tz::Tz>,
) -> chrono_tz::Tz {
    timezone
        .and_then(|z| z.parse::<chrono_tz::Tz>().ok())
        .or_else(|| {
            country.and_then(|c| {
                COUNTRY_ZONES
                    .iter()
                    .find(|(code, _)| *code == c)
                    .map(|(_, z)| *z)
            })
        })
        .or(site_zone)
        .unwrap_or(chrono_tz::UTC)
}

/// Check an IANA zone name (for the registry and the API: the error names it).
pub fn parse_zone(name: &str) -> Result<chrono_tz::Tz, String> {
    name.parse::<chrono_tz::Tz>()
        .map_err(|_| format!("{name:?} is not an IANA time zone name (such as Europe/Moscow)"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};
    use std::collections::BTreeSet;

    fn keys_of(src_lang: &str) -> BTreeMap<String, String> {
        let (code, src) = SOURCES.iter().find(|(c, _)| *c == src_lang).unwrap();
        parse(code, src).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn every_catalogue_has_exactly_the_english_keys_and_placeables() {
        let en = keys_of("en");
        assert!(en.len() > 40, "the English catalogue looks truncated");
        for (code, src) in SOURCES {
            let cat = parse(code, src).unwrap_or_else(|e| panic!("{e}"));
            let missing: BTreeSet<_> = en.keys().filter(|k| !cat.contains_key(*k)).collect();
            let extra: BTreeSet<_> = cat.keys().filter(|k| !en.contains_key(*k)).collect();
            assert!(missing.is_empty(), "{code}.ftl misses {missing:?}");
            assert!(
                extra.is_empty(),
                "{code}.ftl has keys English lacks: {extra:?}"
            );
            for (k, v) in &cat {
                let mut want = placeables(&en[k]);
                let mut got = placeables(v);
                want.sort();
                got.sort();
                assert_eq!(got, want, "{code}.ftl {k}: placeables differ from English");
            }
        }
    }

    #[test]
    fn all_eight_languages_are_there() {
        let codes: Vec<&str> = languages().collect();
        for want in ["en", "ru", "de", "fr", "es", "ar", "fa", "uk"] {
            assert!(codes.contains(&want), "{want} missing");
        }
    }

    #[test]
    fn a_missing_key_or_a_stray_line_is_reported_with_its_line() {
        let e = parse("xx", "# c\n\nok = fine\nno equals sign here\n").unwrap_err();
        assert_eq!(
            e,
            CatalogueError::NotAMessage {
                lang: "xx".into(),
                line: 4
            }
        );
        let e = parse("xx", "a = 1\na = 2\n").unwrap_err();
        assert!(
            matches!(e, CatalogueError::Duplicate { line: 2, .. }),
            "{e}"
        );
        let e = parse("xx", "Bad_Key = 1\n").unwrap_err();
        assert!(e.to_string().contains("line 1"), "{e}");
    }

    #[test]
    fn lookups_fall_back_to_english_and_subtags_resolve() {
        assert_eq!(catalogue("ru-RU").code, "ru");
        assert_eq!(catalogue("zz").code, "en");
        assert_eq!(catalogue("ar").dir(), "rtl");
        assert_eq!(catalogue("fa").dir(), "rtl");
        assert_eq!(catalogue("de").dir(), "ltr");
        assert_eq!(
            catalogue("ru").get("form-acknowledge"),
            "Подтвердить получение"
        );
        assert_eq!(catalogue("ru").get("no-such-key"), "no-such-key");
        assert_eq!(
            catalogue("en").fmt("done-next", &[("due", "tomorrow")]),
            "Next posture check-in due tomorrow."
        );
    }

    #[test]
    fn local_times_show_the_zone_and_utc() {
        let t = Utc.with_ymd_and_hms(2024, 3, 22, 17, 0, 0).unwrap();
        let msk = chrono_tz::Europe::Moscow;
        assert_eq!(
            catalogue("en").local_time(t, msk),
            "22 March 2024, 20:00 MSK (17:00 UTC)"
        );
        assert_eq!(
            catalogue("ru").local_time(t, msk),
            "22 марта 2024, 20:00 MSK (17:00 UTC)"
        );
        assert_eq!(
            catalogue("de").local_time(t, chrono_tz::Europe::Berlin),
            "22. März 2024, 18:00 CET (17:00 UTC)"
        );
        assert_eq!(
            catalogue("en").local_time(t, chrono_tz::UTC),
            "22 March 2024, 17:00 UTC"
        );
        // Across midnight the UTC side names its own date.
        let late = Utc.with_ymd_and_hms(2024, 3, 22, 22, 30, 0).unwrap();
        assert_eq!(
            catalogue("en").local_time(late, msk),
            "23 March 2024, 01:30 MSK (22 March 2024, 22:30 UTC)"
        );
        // Zones without an abbreviation name their offset.
        assert_eq!(
            catalogue("en").local_time(t, chrono_tz::Asia::Dubai),
            "22 March 2024, 21:00 UTC+04 (17:00 UTC)"
        );
    }

    #[test]
    fn zones_come_from_the_audience_then_country_then_site() {
        use chrono_tz::*;
        assert_eq!(
            audience_zone(Some("Europe/Moscow"), Some("DEU"), None),
            Europe::Moscow
        );
        assert_eq!(audience_zone(None, Some("DEU"), None), Europe::Berlin);
        // Russia has eleven zones: the site's, else UTC.
        assert_eq!(
            audience_zone(None, Some("RUS"), Some(Europe::Moscow)),
            Europe::Moscow
        );
        assert_eq!(audience_zone(None, Some("RUS"), None), UTC);
        assert_eq!(audience_zone(Some("Mars/Olympus"), None, None), UTC);
        assert!(parse_zone("Mars/Olympus")
            .unwrap_err()
            .contains("Mars/Olympus"));
    }
}
