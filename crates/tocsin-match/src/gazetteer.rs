//! Gazetteer: named cities and regions resolved to a shape (circle or polygon).
//!
//! Names are looked up by [`place_key`] (case, accents, script and spelling variants folded), so
//! `Moscow`, `MOSCOW`, `Москва` and `Moskva` all find the same place. When several places share a
//! name (Moscow, Russia and Moscow, Idaho), the most populous wins.
//!
//! [`Gazetteer::builtin`] holds the hand-made places of the reference cases (with radii chosen to
//! cover their metropolitan venues: Moscow's 40 km reaches Krasnogorsk) and every city of the
//! world with at least 15,000 people from GeoNames (`data/gazetteer/cities15000.csv`, CC BY 4.0;
//! see `data/gazetteer/NOTICE`), each a circle whose radius follows from its population
//! ([`default_radius_km`]). A GeoNames city is left out when a hand-made place within 50 km
//! shares one of its names. Named regions (provinces, states) are not included yet: a region
//! name resolves only if a city has it (e.g. "Moscow" the city, not Moscow Oblast); give regions
//! as polygons in the threat, or add them with [`Gazetteer::add`] and [`Place::polygon`].

use crate::geo::{ring_centre, BBox};
use crate::normalize::place_key;
use std::collections::HashMap;
use std::io::Read;
use std::sync::{Arc, OnceLock};
use thiserror::Error;
use tocsin_core::GeoPoint;

/// The extent of a place.
#[derive(Debug, Clone, PartialEq)]
pub enum PlaceShape {
    Circle {
        center: GeoPoint,
        radius_km: f64,
    },
    /// Outer ring (first point may be repeated at the end).
    Polygon {
        ring: Vec<GeoPoint>,
    },
}

impl PlaceShape {
    pub fn bbox(&self) -> BBox {
        match self {
            PlaceShape::Circle { center, radius_km } => BBox::around_circle(center, *radius_km),
            PlaceShape::Polygon { ring } => BBox::around_ring(ring),
        }
    }
}

/// What a place is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PlaceKind {
    #[default]
    City,
    Country,
    /// A first-level division: a state, province or territory.
    Division,
    County,
}

impl PlaceKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            PlaceKind::City => "city",
            PlaceKind::Country => "country",
            PlaceKind::Division => "division",
            PlaceKind::County => "county",
        }
    }

    /// `city`, `country`, `division` (or `state`, `province`) or `county`.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s.trim().to_ascii_lowercase().as_str() {
            "" | "city" => PlaceKind::City,
            "country" => PlaceKind::Country,
            "division" | "state" | "province" => PlaceKind::Division,
            "county" => PlaceKind::County,
            _ => return None,
        })
    }
}

/// A named place.
#[derive(Debug, Clone, PartialEq)]
pub struct Place {
    pub name: String,
    pub alt_names: Vec<String>,
    pub center: GeoPoint,
    pub population: u64,
    pub shape: PlaceShape,
    /// Country code as the data set gives it (GeoNames: ISO 3166-1 alpha-2), if known.
    pub country: Option<String>,
    pub kind: PlaceKind,
    /// Exact codes (`ES`, `ESP`, `US-MI`, `FIPS 26163`, `SAME 026163`, `UGC MIC163`): found only
    /// when asked for as written (upper case), never as words of running text.
    pub codes: Vec<String>,
}

impl Place {
    /// A place covered by a circle around its centre.
    pub fn circle(
        name: &str,
        alt_names: &[&str],
        center: GeoPoint,
        population: u64,
        radius_km: f64,
    ) -> Self {
        Self {
            name: name.to_owned(),
            alt_names: alt_names.iter().map(|s| (*s).to_owned()).collect(),
            center,
            population,
            shape: PlaceShape::Circle { center, radius_km },
            country: None,
            kind: PlaceKind::City,
            codes: Vec::new(),
        }
    }

    /// A place covered by a polygon (a region); its centre is the vertex centroid.
    pub fn polygon(name: &str, alt_names: &[&str], ring: Vec<GeoPoint>, population: u64) -> Self {
        let (center, _) = ring_centre(&ring);
        Self {
            name: name.to_owned(),
            alt_names: alt_names.iter().map(|s| (*s).to_owned()).collect(),
            center,
            population,
            shape: PlaceShape::Polygon { ring },
            country: None,
            kind: PlaceKind::City,
            codes: Vec::new(),
        }
    }

    /// The name and every alternative name.
    pub fn all_names(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.name.as_str()).chain(self.alt_names.iter().map(String::as_str))
    }
}

/// Radius given to a city whose data has none: the radius of a disc holding its population at
/// 3,000 people per km², at least 3 km (Moscow, 13 M → 37 km; a town of 15,000 → 3 km).
pub fn default_radius_km(population: u64) -> f64 {
    (population as f64 / 3000.0 / std::f64::consts::PI)
        .sqrt()
        .max(3.0)
}

#[derive(Debug, Error, PartialEq)]
pub enum GazetteerError {
    #[error("gazetteer CSV, line {line}: {message}")]
    Csv { line: u64, message: String },
    #[error("gazetteer CSV, line {line}: bad {field} {value:?} (expected {expected})")]
    Field {
        line: u64,
        field: &'static str,
        value: String,
        expected: &'static str,
    },
}

#[derive(Debug, Clone, Default)]
struct Inner {
    places: Vec<Place>,
    by_key: HashMap<String, Vec<usize>>,
    by_code: HashMap<String, usize>,
}

/// The form a code is looked up in: upper case, single spaces.
fn code_key(s: &str) -> String {
    s.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_uppercase()
}

/// Places indexed by folded name. Cloning is cheap (the places are shared until one copy is
/// changed with [`Gazetteer::add`]).
#[derive(Debug, Clone, Default)]
pub struct Gazetteer {
    inner: Arc<Inner>,
}

const BUILTIN_CSV: &str = include_str!("../data/builtin_places.csv");
const WORLD_CITIES_CSV: &str = include_str!("../../../data/gazetteer/cities15000.csv");
const REGIONS_CSV: &str = include_str!("../../../data/gazetteer/regions.csv");

/// Hand-made places win over GeoNames cities sharing a name within this distance.
const SAME_PLACE_KM: f64 = 50.0;

impl Gazetteer {
    /// An empty gazetteer.
    pub fn new() -> Self {
        Self::default()
    }

    /// The shipped gazetteer: the hand-made places of the reference cases (Moscow 40 km covering
    /// Krasnogorsk, Saint Petersburg, Kazan, Krasnogorsk, Kaluga, Kerman, with Cyrillic and Latin
    /// variants) and the world's cities of 15,000 people or more (GeoNames, CC BY 4.0). Parsed
    /// once per process; later calls share it.
    pub fn builtin() -> Self {
        static BUILTIN: OnceLock<Gazetteer> = OnceLock::new();
        BUILTIN
            .get_or_init(|| {
                let mut g = Self::reference_places();
                let world = Self::from_csv(WORLD_CITIES_CSV.as_bytes())
                    .expect("the shipped world cities parse");
                g.merge_below(&world);
                for p in Self::regions().places() {
                    g.add(p.clone());
                }
                g
            })
            .clone()
    }

    /// The shipped countries, first-level divisions (US states, DC, Canadian provinces and
    /// territories) and US counties (`data/gazetteer/regions.csv`, generated by
    /// `scripts/make_gazetteer.py`), each a centroid and a radius, with their codes.
    pub fn regions() -> Self {
        Self::from_csv(REGIONS_CSV.as_bytes()).expect("the shipped regions parse")
    }

    /// Only the hand-made places of the reference cases (no world cities).
    pub fn reference_places() -> Self {
        Self::from_csv(BUILTIN_CSV.as_bytes()).expect("the built-in gazetteer parses")
    }

    /// Add the places of `other` except those that a place already here (within 50 km, sharing a
    /// name) stands for.
    pub fn merge_below(&mut self, other: &Gazetteer) {
        let mine = self.inner.clone();
        for p in other.places() {
            let shadowed = p.all_names().map(place_key).any(|k| {
                mine.by_key.get(&k).is_some_and(|ids| {
                    ids.iter()
                        .any(|&i| mine.places[i].center.distance_km(&p.center) <= SAME_PLACE_KM)
                })
            });
            if !shadowed {
                self.add(p.clone());
            }
        }
    }

    /// Load places from CSV: `name, alt_names, lat, lon, population, radius_km, country, kind,
    /// codes` where alt_names and codes are separated by `;`, radius_km may be empty or missing
    /// ([`default_radius_km`] then applies), country (optional) is kept as written, kind
    /// (optional) is [`PlaceKind::parse`]'s.
    /// A header line starting with `name` is skipped, `#` starts a comment line, fields are trimmed.
    /// Intended for a world-cities data set (e.g. GeoNames cities ≥ 15,000, CC BY 4.0).
    pub fn from_csv<R: Read>(reader: R) -> Result<Self, GazetteerError> {
        let mut rdr = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .comment(Some(b'#'))
            .trim(csv::Trim::All)
            .from_reader(reader);
        let mut g = Self::new();
        for (i, rec) in rdr.records().enumerate() {
            let rec = rec.map_err(|e| GazetteerError::Csv {
                line: e.position().map_or(0, |p| p.line()),
                message: e.to_string(),
            })?;
            let line = rec.position().map_or(i as u64 + 1, |p| p.line());
            let field = |k: usize| rec.get(k).unwrap_or("");
            if i == 0 && field(0).eq_ignore_ascii_case("name") && field(2).parse::<f64>().is_err() {
                continue;
            }
            if rec.len() < 5 {
                return Err(GazetteerError::Csv {
                    line,
                    message: format!("expected at least 5 fields (name, alt_names, lat, lon, population), found {}", rec.len()),
                });
            }
            let name = field(0);
            if name.is_empty() {
                return Err(GazetteerError::Field {
                    line,
                    field: "name",
                    value: String::new(),
                    expected: "a non-empty name",
                });
            }
            let alt: Vec<&str> = field(1)
                .split(';')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .collect();
            let num = |k: usize, fname: &'static str| -> Result<f64, GazetteerError> {
                field(k)
                    .parse::<f64>()
                    .ok()
                    .filter(|v| v.is_finite())
                    .ok_or_else(|| GazetteerError::Field {
                        line,
                        field: fname,
                        value: field(k).to_owned(),
                        expected: "a decimal number",
                    })
            };
            let (lat, lon) = (num(2, "lat")?, num(3, "lon")?);
            let center = GeoPoint::new(lat, lon).map_err(|_| GazetteerError::Field {
                line,
                field: "coordinates",
                value: format!("{lat}, {lon}"),
                expected: "lat in [-90, 90] and lon in [-180, 180]",
            })?;
            let population = if field(4).is_empty() {
                0
            } else {
                field(4).parse::<u64>().map_err(|_| GazetteerError::Field {
                    line,
                    field: "population",
                    value: field(4).to_owned(),
                    expected: "a whole number",
                })?
            };
            let radius_km = if field(5).is_empty() {
                default_radius_km(population)
            } else {
                let r = num(5, "radius_km")?;
                if r <= 0.0 {
                    return Err(GazetteerError::Field {
                        line,
                        field: "radius_km",
                        value: field(5).to_owned(),
                        expected: "a positive number of km",
                    });
                }
                r
            };
            let mut place = Place::circle(name, &alt, center, population, radius_km);
            place.country = Some(field(6).to_owned()).filter(|c| !c.is_empty());
            place.kind = PlaceKind::parse(field(7)).ok_or_else(|| GazetteerError::Field {
                line,
                field: "kind",
                value: field(7).to_owned(),
                expected: "city, country, division or county",
            })?;
            place.codes = field(8)
                .split(';')
                .map(code_key)
                .filter(|c| !c.is_empty())
                .collect();
            g.add(place);
        }
        Ok(g)
    }

    /// Add a place (its name and alternative names become look-up keys).
    pub fn add(&mut self, place: Place) {
        let inner = Arc::make_mut(&mut self.inner);
        let idx = inner.places.len();
        let mut keys: Vec<String> = place
            .all_names()
            .map(place_key)
            .filter(|k| !k.is_empty())
            .collect();
        keys.sort();
        keys.dedup();
        for k in keys {
            inner.by_key.entry(k).or_default().push(idx);
        }
        for c in &place.codes {
            inner.by_code.entry(code_key(c)).or_insert(idx);
        }
        inner.places.push(place);
    }

    /// The place called `name` (any of its names; case, accents and script insensitive), the most
    /// populous one if several share the name, the first added among equals.
    ///
    /// A name written without lower-case letters is first tried as a code (`ES`, `US-MI`,
    /// `SAME 006037`); codes are never matched in any other spelling.
    pub fn resolve(&self, name: &str) -> Option<&Place> {
        if !name.chars().any(char::is_lowercase) {
            if let Some(&i) = self.inner.by_code.get(&code_key(name)) {
                return Some(&self.inner.places[i]);
            }
        }
        let ids = self.inner.by_key.get(&place_key(name))?;
        let mut best: Option<&Place> = None;
        for &i in ids {
            let p = &self.inner.places[i];
            let better = match best {
                None => true,
                Some(b) => b.population < p.population,
            };
            if better {
                best = Some(p);
            }
        }
        best
    }

    pub fn places(&self) -> &[Place] {
        &self.inner.places
    }

    pub fn len(&self) -> usize {
        self.inner.places.len()
    }

    pub fn is_empty(&self) -> bool {
        self.inner.places.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn countries_divisions_and_counties_resolve_by_name_and_code() {
        let g = Gazetteer::builtin();
        for (asked, name, kind) in [
            ("Sri Lanka", "Sri Lanka", PlaceKind::Country),
            ("Uzbekistan", "Uzbekistan", PlaceKind::Country),
            ("Spain", "Spain", PlaceKind::Country),
            ("España", "Spain", PlaceKind::Country),
            ("Испания", "Spain", PlaceKind::Country),
            ("ES", "Spain", PlaceKind::Country),
            ("ESP", "Spain", PlaceKind::Country),
            ("ایران", "Iran", PlaceKind::Country),
            ("State of MI", "Michigan", PlaceKind::Division),
            ("US-MI", "Michigan", PlaceKind::Division),
            ("Ontario", "Ontario", PlaceKind::Division),
            (
                "Los Angeles County",
                "Los Angeles County",
                PlaceKind::County,
            ),
            ("SAME 006037", "Los Angeles County", PlaceKind::County),
            ("FIPS 06037", "Los Angeles County", PlaceKind::County),
            ("UGC CAC037", "Los Angeles County", PlaceKind::County),
            ("Clark County, NV", "Clark County, NV", PlaceKind::County),
        ] {
            let p = g
                .resolve(asked)
                .unwrap_or_else(|| panic!("{asked} not found"));
            assert_eq!((p.name.as_str(), p.kind), (name, kind), "{asked}");
        }
        // Codes only as written: "es" and "in" in running text are words, not Spain or Indiana.
        assert!(g.resolve("es").is_none_or(|p| p.name != "Spain"));
        assert!(g.resolve("In").is_none());
        // A county name several states share resolves only with its state.
        assert!(g.resolve("Clark County").is_none());
        let la = g.resolve("Los Angeles County").unwrap();
        assert!(
            la.center
                .distance_km(&GeoPoint::new(34.05, -118.24).unwrap())
                < 60.0
        );
    }

    #[test]
    fn builtin_resolves_latin_and_cyrillic() {
        let g = Gazetteer::builtin();
        let m = g.resolve("Moscow").unwrap();
        assert_eq!(m.name, "Moscow");
        assert_eq!(g.resolve("Москва").unwrap().name, "Moscow");
        assert_eq!(g.resolve("  MOSKVA ").unwrap().name, "Moscow");
        assert_eq!(
            g.resolve("Санкт-Петербург").unwrap().name,
            "Saint Petersburg"
        );
        assert_eq!(
            g.resolve("St. Petersburg").unwrap().name,
            "Saint Petersburg"
        );
        assert_eq!(g.resolve("Казань").unwrap().name, "Kazan");
        assert_eq!(g.resolve("Krasnogorsk").unwrap().name, "Krasnogorsk");
        assert_eq!(g.resolve("Kerman").unwrap().name, "Kerman");
        assert!(g.resolve("Lemuria").is_none());
        // Krasnogorsk (Crocus City Hall) lies within the Moscow circle.
        let PlaceShape::Circle { center, radius_km } = &m.shape else {
            panic!()
        };
        let crocus = GeoPoint::new(55.826, 37.390).unwrap();
        assert!(center.distance_km(&crocus) < *radius_km);
    }

    #[test]
    fn world_cities_are_shipped_and_hand_made_places_win() {
        let g = Gazetteer::builtin();
        assert!(g.len() > 30_000, "{}", g.len());
        let m = g.resolve("Moscow").unwrap();
        assert_eq!(
            (m.population, m.country.as_deref()),
            (13010112, None),
            "the hand-made Moscow (40 km) wins"
        );
        assert_eq!(g.resolve("Krasnogorsk").unwrap().population, 175000);
        for (name, country) in [
            ("Munich", "DE"),
            ("München", "DE"),
            ("Sydney", "AU"),
            ("Lagos", "NG"),
            ("Новосибирск", "RU"),
            ("Kharkiv", "UA"),
            ("São Paulo", "BR"),
        ] {
            let p = g.resolve(name).unwrap_or_else(|| panic!("{name}"));
            assert_eq!(p.country.as_deref(), Some(country), "{name}");
            assert!(p.population >= 15_000);
        }
        // Moscow, Idaho is still there, but never wins "Moscow".
        assert!(g
            .places()
            .iter()
            .any(|p| p.name == "Moscow" && p.country.as_deref() == Some("US")));
        // Only one Moscow near Moscow: the GeoNames one is shadowed by the hand-made one.
        assert_eq!(
            g.places()
                .iter()
                .filter(|p| p.name == "Moscow" && p.center.distance_km(&m.center) < 50.0)
                .count(),
            1
        );
    }

    #[test]
    fn csv_loading() {
        let csv = "name,alt_names,lat,lon,population,radius_km\n\
                   Moscow,,46.7324,-117.0002,25000,\n\
                   \"Washington, D.C.\",Washington;DC,38.9072,-77.0369,689545,12\n";
        let g = Gazetteer::from_csv(csv.as_bytes()).unwrap();
        assert_eq!(g.len(), 2);
        let idaho = g.resolve("moscow").unwrap();
        assert!((default_radius_km(25000) - 3.0).abs() < 1e-9);
        assert_eq!(
            idaho.shape,
            PlaceShape::Circle {
                center: idaho.center,
                radius_km: 3.0
            }
        );
        assert_eq!(g.resolve("DC").unwrap().name, "Washington, D.C.");

        // The more populous namesake wins.
        let mut both = Gazetteer::reference_places();
        both.add(idaho.clone());
        assert_eq!(both.resolve("Moscow").unwrap().population, 13010112);

        let bad = Gazetteer::from_csv("X,,95,0,1\n".as_bytes()).unwrap_err();
        assert!(
            matches!(
                bad,
                GazetteerError::Field {
                    line: 1,
                    field: "coordinates",
                    ..
                }
            ),
            "{bad}"
        );
        let short = Gazetteer::from_csv("X,,5\n".as_bytes()).unwrap_err();
        assert!(
            matches!(short, GazetteerError::Csv { line: 1, .. }),
            "{short}"
        );
    }
}
