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

/// Cities of the countries that keep several zones, with the zone each keeps: `(country
/// alpha-3, zone, city, latitude, longitude)`. A site in such a country takes the zone of the
/// nearest of its country's cities here (or of the city it names), so a site near a zone
/// border may get its neighbour's: set the audience's `timezone` to be exact.
const ZONE_CITIES: &[(&str, &str, &str, f64, f64)] = &[
    // Russia
    ("RUS", "Europe/Kaliningrad", "Kaliningrad", 54.71, 20.51),
    ("RUS", "Europe/Moscow", "Moscow", 55.76, 37.62),
    ("RUS", "Europe/Moscow", "Saint Petersburg", 59.94, 30.31),
    ("RUS", "Europe/Moscow", "Krasnogorsk", 55.82, 37.33),
    ("RUS", "Europe/Moscow", "Kazan", 55.79, 49.12),
    ("RUS", "Europe/Moscow", "Nizhny Novgorod", 56.33, 44.00),
    ("RUS", "Europe/Moscow", "Rostov-on-Don", 47.24, 39.71),
    ("RUS", "Europe/Moscow", "Krasnodar", 45.04, 38.98),
    ("RUS", "Europe/Moscow", "Voronezh", 51.67, 39.18),
    ("RUS", "Europe/Moscow", "Murmansk", 68.97, 33.07),
    ("RUS", "Europe/Moscow", "Arkhangelsk", 64.54, 40.54),
    ("RUS", "Europe/Moscow", "Syktyvkar", 61.67, 50.84),
    ("RUS", "Europe/Volgograd", "Volgograd", 48.71, 44.51),
    ("RUS", "Europe/Kirov", "Kirov", 58.60, 49.66),
    ("RUS", "Europe/Samara", "Samara", 53.20, 50.15),
    ("RUS", "Europe/Samara", "Izhevsk", 56.85, 53.20),
    ("RUS", "Europe/Ulyanovsk", "Ulyanovsk", 54.32, 48.40),
    ("RUS", "Europe/Saratov", "Saratov", 51.53, 46.03),
    ("RUS", "Europe/Astrakhan", "Astrakhan", 46.35, 48.04),
    ("RUS", "Asia/Yekaterinburg", "Yekaterinburg", 56.84, 60.61),
    ("RUS", "Asia/Yekaterinburg", "Perm", 58.01, 56.25),
    ("RUS", "Asia/Yekaterinburg", "Ufa", 54.73, 55.96),
    ("RUS", "Asia/Yekaterinburg", "Chelyabinsk", 55.16, 61.40),
    ("RUS", "Asia/Yekaterinburg", "Orenburg", 51.77, 55.10),
    ("RUS", "Asia/Yekaterinburg", "Tyumen", 57.15, 65.53),
    ("RUS", "Asia/Omsk", "Omsk", 54.99, 73.37),
    ("RUS", "Asia/Novosibirsk", "Novosibirsk", 55.03, 82.92),
    ("RUS", "Asia/Barnaul", "Barnaul", 53.35, 83.78),
    ("RUS", "Asia/Tomsk", "Tomsk", 56.49, 84.95),
    ("RUS", "Asia/Novokuznetsk", "Novokuznetsk", 53.76, 87.11),
    ("RUS", "Asia/Krasnoyarsk", "Krasnoyarsk", 56.01, 92.87),
    ("RUS", "Asia/Krasnoyarsk", "Norilsk", 69.35, 88.20),
    ("RUS", "Asia/Irkutsk", "Irkutsk", 52.29, 104.28),
    ("RUS", "Asia/Irkutsk", "Ulan-Ude", 51.83, 107.58),
    ("RUS", "Asia/Chita", "Chita", 52.03, 113.50),
    ("RUS", "Asia/Yakutsk", "Yakutsk", 62.03, 129.73),
    ("RUS", "Asia/Vladivostok", "Vladivostok", 43.12, 131.89),
    ("RUS", "Asia/Vladivostok", "Khabarovsk", 48.48, 135.08),
    ("RUS", "Asia/Sakhalin", "Yuzhno-Sakhalinsk", 46.96, 142.73),
    ("RUS", "Asia/Magadan", "Magadan", 59.56, 150.80),
    ("RUS", "Asia/Srednekolymsk", "Srednekolymsk", 67.46, 153.71),
    (
        "RUS",
        "Asia/Kamchatka",
        "Petropavlovsk-Kamchatsky",
        53.02,
        158.65,
    ),
    ("RUS", "Asia/Anadyr", "Anadyr", 64.73, 177.51),
    // United States
    ("USA", "America/New_York", "New York", 40.71, -74.01),
    ("USA", "America/New_York", "Boston", 42.36, -71.06),
    ("USA", "America/New_York", "Washington", 38.91, -77.04),
    ("USA", "America/New_York", "Atlanta", 33.75, -84.39),
    ("USA", "America/New_York", "Miami", 25.76, -80.19),
    ("USA", "America/New_York", "Pittsburgh", 40.44, -80.00),
    ("USA", "America/Detroit", "Detroit", 42.33, -83.05),
    (
        "USA",
        "America/Indiana/Indianapolis",
        "Indianapolis",
        39.77,
        -86.16,
    ),
    ("USA", "America/Chicago", "Chicago", 41.88, -87.63),
    ("USA", "America/Chicago", "Houston", 29.76, -95.37),
    ("USA", "America/Chicago", "Dallas", 32.78, -96.80),
    ("USA", "America/Chicago", "Minneapolis", 44.98, -93.27),
    ("USA", "America/Chicago", "New Orleans", 29.95, -90.07),
    ("USA", "America/Chicago", "Kansas City", 39.10, -94.58),
    ("USA", "America/Chicago", "Nashville", 36.16, -86.78),
    ("USA", "America/Chicago", "Oklahoma City", 35.47, -97.52),
    ("USA", "America/Denver", "Denver", 39.74, -104.99),
    ("USA", "America/Denver", "Albuquerque", 35.08, -106.65),
    ("USA", "America/Denver", "El Paso", 31.76, -106.49),
    ("USA", "America/Denver", "Salt Lake City", 40.76, -111.89),
    ("USA", "America/Denver", "Billings", 45.78, -108.50),
    ("USA", "America/Boise", "Boise", 43.62, -116.20),
    ("USA", "America/Phoenix", "Phoenix", 33.45, -112.07),
    ("USA", "America/Phoenix", "Tucson", 32.22, -110.97),
    ("USA", "America/Los_Angeles", "Los Angeles", 34.05, -118.24),
    (
        "USA",
        "America/Los_Angeles",
        "San Francisco",
        37.77,
        -122.42,
    ),
    ("USA", "America/Los_Angeles", "Las Vegas", 36.17, -115.14),
    ("USA", "America/Los_Angeles", "Portland", 45.52, -122.68),
    ("USA", "America/Los_Angeles", "Seattle", 47.61, -122.33),
    ("USA", "America/Anchorage", "Anchorage", 61.22, -149.90),
    ("USA", "America/Juneau", "Juneau", 58.30, -134.42),
    ("USA", "Pacific/Honolulu", "Honolulu", 21.31, -157.86),
    // Canada
    ("CAN", "America/St_Johns", "St. John's", 47.56, -52.71),
    ("CAN", "America/Halifax", "Halifax", 44.65, -63.57),
    ("CAN", "America/Moncton", "Moncton", 46.09, -64.78),
    ("CAN", "America/Toronto", "Toronto", 43.65, -79.38),
    ("CAN", "America/Toronto", "Montreal", 45.50, -73.57),
    ("CAN", "America/Toronto", "Ottawa", 45.42, -75.70),
    ("CAN", "America/Winnipeg", "Winnipeg", 49.90, -97.14),
    ("CAN", "America/Regina", "Regina", 50.45, -104.62),
    ("CAN", "America/Edmonton", "Edmonton", 53.55, -113.49),
    ("CAN", "America/Edmonton", "Calgary", 51.05, -114.07),
    ("CAN", "America/Vancouver", "Vancouver", 49.28, -123.12),
    // Australia
    ("AUS", "Australia/Sydney", "Sydney", -33.87, 151.21),
    ("AUS", "Australia/Sydney", "Canberra", -35.28, 149.13),
    ("AUS", "Australia/Melbourne", "Melbourne", -37.81, 144.96),
    ("AUS", "Australia/Brisbane", "Brisbane", -27.47, 153.03),
    ("AUS", "Australia/Adelaide", "Adelaide", -34.93, 138.60),
    ("AUS", "Australia/Perth", "Perth", -31.95, 115.86),
    ("AUS", "Australia/Darwin", "Darwin", -12.46, 130.84),
    ("AUS", "Australia/Hobart", "Hobart", -42.88, 147.33),
    // Brazil
    ("BRA", "America/Sao_Paulo", "São Paulo", -23.55, -46.63),
    ("BRA", "America/Sao_Paulo", "Rio de Janeiro", -22.91, -43.17),
    ("BRA", "America/Sao_Paulo", "Brasília", -15.79, -47.88),
    ("BRA", "America/Sao_Paulo", "Porto Alegre", -30.03, -51.23),
    ("BRA", "America/Bahia", "Salvador", -12.97, -38.50),
    ("BRA", "America/Recife", "Recife", -8.05, -34.88),
    ("BRA", "America/Fortaleza", "Fortaleza", -3.73, -38.52),
    ("BRA", "America/Belem", "Belém", -1.46, -48.50),
    (
        "BRA",
        "America/Noronha",
        "Fernando de Noronha",
        -3.85,
        -32.42,
    ),
    ("BRA", "America/Cuiaba", "Cuiabá", -15.60, -56.10),
    (
        "BRA",
        "America/Campo_Grande",
        "Campo Grande",
        -20.47,
        -54.62,
    ),
    ("BRA", "America/Manaus", "Manaus", -3.12, -60.02),
    ("BRA", "America/Boa_Vista", "Boa Vista", 2.82, -60.67),
    ("BRA", "America/Porto_Velho", "Porto Velho", -8.76, -63.90),
    ("BRA", "America/Rio_Branco", "Rio Branco", -9.97, -67.81),
    // Mexico
    ("MEX", "America/Mexico_City", "Mexico City", 19.43, -99.13),
    ("MEX", "America/Mexico_City", "Guadalajara", 20.67, -103.35),
    ("MEX", "America/Monterrey", "Monterrey", 25.69, -100.32),
    ("MEX", "America/Cancun", "Cancún", 21.16, -86.85),
    ("MEX", "America/Chihuahua", "Chihuahua", 28.63, -106.07),
    ("MEX", "America/Mazatlan", "Mazatlán", 23.25, -106.41),
    ("MEX", "America/Hermosillo", "Hermosillo", 29.07, -110.96),
    ("MEX", "America/Tijuana", "Tijuana", 32.51, -117.04),
    // Kazakhstan
    ("KAZ", "Asia/Almaty", "Almaty", 43.24, 76.89),
    ("KAZ", "Asia/Almaty", "Astana", 51.17, 71.43),
    ("KAZ", "Asia/Qyzylorda", "Kyzylorda", 44.85, 65.51),
    ("KAZ", "Asia/Aqtobe", "Aktobe", 50.28, 57.17),
    ("KAZ", "Asia/Aqtau", "Aktau", 43.65, 51.17),
    ("KAZ", "Asia/Atyrau", "Atyrau", 47.11, 51.92),
    ("KAZ", "Asia/Oral", "Oral", 51.23, 51.37),
    // Indonesia
    ("IDN", "Asia/Jakarta", "Jakarta", -6.21, 106.85),
    ("IDN", "Asia/Jakarta", "Surabaya", -7.25, 112.75),
    ("IDN", "Asia/Pontianak", "Pontianak", -0.03, 109.33),
    ("IDN", "Asia/Makassar", "Makassar", -5.15, 119.43),
    ("IDN", "Asia/Makassar", "Denpasar", -8.65, 115.22),
    ("IDN", "Asia/Jayapura", "Jayapura", -2.53, 140.72),
];

/// A matched site as far as its zone goes: where it is and what it says of itself.
#[derive(Debug, Clone, Copy, Default)]
pub struct Site<'a> {
    pub location: Option<crate::GeoPoint>,
    pub city: Option<&'a str>,
    pub country: Option<&'a str>,
}

/// A city name compared without case, accents, script or punctuation (`São Paulo` = `sao paulo`).
fn city_key(name: &str) -> String {
    crate::fold::fold_str(name, crate::fold::Key::Spelling)
        .chars()
        .filter(|c| c.is_alphanumeric())
        .collect()
}

/// The zone of a single-zone country (alpha-3).
fn country_zone(country: &str) -> Option<chrono_tz::Tz> {
    COUNTRY_ZONES
        .iter()
        .find(|(code, _)| *code == country)
        .map(|(_, z)| *z)
}

/// The zone a site keeps: its country's when that has one zone; in a country of several, the
/// zone of the city the site names, else of its country's nearest city in [`ZONE_CITIES`];
/// without a country, the zone of the city it names when only one country's table knows it.
pub fn site_zone(site: &Site<'_>) -> Option<chrono_tz::Tz> {
    if let Some(z) = site.country.and_then(country_zone) {
        return Some(z);
    }
    let in_country = |c: &&(&str, &str, &str, f64, f64)| site.country.is_none_or(|k| c.0 == k);
    let named = site.city.map(city_key).and_then(|city| {
        let mut hits = ZONE_CITIES
            .iter()
            .filter(in_country)
            .filter(move |c| city_key(c.2) == city);
        let first = hits.next()?;
        hits.all(|c| c.1 == first.1).then_some(first.1)
    });
    let nearest = || {
        // A point alone says nothing of its country: a Polish site is nearest to Kaliningrad.
        site.country?;
        let p = site.location?;
        ZONE_CITIES
            .iter()
            .filter(in_country)
            .map(|c| (p.distance_km(&crate::GeoPoint { lat: c.3, lon: c.4 }), c.1))
            .min_by(|a, b| a.0.total_cmp(&b.0))
            .map(|(_, z)| z)
    };
    named.or_else(nearest).and_then(|z| z.parse().ok())
}

/// The zone to show an audience's times in: its own `timezone` (an IANA name), else the zone of
/// the first of its matched sites that has one ([`site_zone`]), else its country's when the
/// country has one zone, else UTC.
pub fn audience_zone(
    timezone: Option<&str>,
    country: Option<&str>,
    sites: &[Site<'_>],
) -> chrono_tz::Tz {
    timezone
        .and_then(|z| z.parse::<chrono_tz::Tz>().ok())
        .or_else(|| sites.iter().find_map(site_zone))
        .or_else(|| country.and_then(country_zone))
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

    fn at(lat: f64, lon: f64, country: &str) -> Site<'_> {
        Site {
            location: Some(crate::GeoPoint { lat, lon }),
            city: None,
            country: Some(country),
        }
    }

    #[test]
    fn zones_come_from_the_audience_then_the_site_then_the_country() {
        use chrono_tz::*;
        let novosibirsk = at(55.0, 82.9, "RUS");
        assert_eq!(
            audience_zone(Some("Europe/Moscow"), Some("RUS"), &[novosibirsk]),
            Europe::Moscow
        );
        // The site decides before the country: a German audience's site in Vladivostok.
        assert_eq!(
            audience_zone(None, Some("DEU"), &[at(43.1, 131.9, "RUS")]),
            Asia::Vladivostok
        );
        assert_eq!(audience_zone(None, Some("DEU"), &[]), Europe::Berlin);
        // Russia has eleven zones: the site's, else UTC.
        assert_eq!(
            audience_zone(None, Some("RUS"), &[novosibirsk]),
            Asia::Novosibirsk
        );
        assert_eq!(audience_zone(None, Some("RUS"), &[]), UTC);
        assert_eq!(audience_zone(Some("Mars/Olympus"), None, &[]), UTC);
        // A site that names no zone is passed over for the next one.
        let nowhere = Site::default();
        assert_eq!(
            audience_zone(None, None, &[nowhere, at(-31.95, 115.86, "AUS")]),
            Australia::Perth
        );
        assert!(parse_zone("Mars/Olympus")
            .unwrap_err()
            .contains("Mars/Olympus"));
    }

    #[test]
    fn a_site_in_a_country_of_several_zones_takes_its_own() {
        use chrono_tz::*;
        let zone = |lat, lon, c| site_zone(&at(lat, lon, c));
        // Crocus City Hall (Krasnogorsk) and a hall in Yekaterinburg: both Russia, two zones.
        assert_eq!(zone(55.826, 37.389, "RUS"), Some(Europe::Moscow));
        assert_eq!(zone(56.83, 60.60, "RUS"), Some(Asia::Yekaterinburg));
        assert_eq!(zone(40.75, -73.99, "USA"), Some(America::New_York));
        assert_eq!(zone(39.75, -105.0, "USA"), Some(America::Denver));
        assert_eq!(zone(34.04, -118.27, "USA"), Some(America::Los_Angeles));
        assert_eq!(zone(-22.95, -43.2, "BRA"), Some(America::Sao_Paulo));
        assert_eq!(zone(-3.1, -60.0, "BRA"), Some(America::Manaus));
        assert_eq!(zone(-33.86, 151.2, "AUS"), Some(Australia::Sydney));
        assert_eq!(zone(-31.95, 115.86, "AUS"), Some(Australia::Perth));
        // A point alone (no country) is not trusted: it could be across a border.
        let mut bare = at(54.7, 20.5, "RUS");
        bare.country = None;
        assert_eq!(site_zone(&bare), None);
        // A site with a city and no coordinates: the city decides, in any script or accent.
        let named = |city, country| Site {
            location: None,
            city: Some(city),
            country,
        };
        assert_eq!(
            site_zone(&named("Sao Paulo", Some("BRA"))),
            Some(America::Sao_Paulo)
        );
        assert_eq!(site_zone(&named("Denver", None)), Some(America::Denver));
        assert_eq!(site_zone(&named("Atlantis", Some("USA"))), None);
        // A single-zone country needs nothing else.
        assert_eq!(
            site_zone(&named("Atlantis", Some("FRA"))),
            Some(Europe::Paris)
        );
    }

    #[test]
    fn every_zone_city_names_a_known_zone_in_a_country_of_several() {
        for (country, zone, city, lat, lon) in ZONE_CITIES {
            assert!(zone.parse::<chrono_tz::Tz>().is_ok(), "{city}: {zone}");
            assert!(
                country_zone(country).is_none(),
                "{city}: {country} keeps one zone"
            );
            assert!(crate::GeoPoint::new(*lat, *lon).is_ok(), "{city}");
        }
    }
}
