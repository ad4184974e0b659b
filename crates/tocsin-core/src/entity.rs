//! Registry entities: what may be hit.

use crate::country::CountryCode;
use crate::ids::{AudienceId, EntityId};
use crate::time::ThreatWindow;
use serde::{Deserialize, Serialize};
use std::fmt;
use thiserror::Error;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntityKind {
    Venue,
    Event,
    Organisation,
    Person,
    NetworkAsset,
    Population,
}

impl EntityKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            EntityKind::Venue => "venue",
            EntityKind::Event => "event",
            EntityKind::Organisation => "organisation",
            EntityKind::Person => "person",
            EntityKind::NetworkAsset => "network_asset",
            EntityKind::Population => "population",
        }
    }
}

/// A category in the taxonomy, as a slash path: `venue/entertainment/concert_hall`.
/// Parents are the prefixes: `venue/entertainment` contains `venue/entertainment/concert_hall`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Category(String);

#[derive(Debug, Error, PartialEq, Eq)]
#[error("invalid category {0:?}: expected a lower-case slash path such as venue/entertainment/concert_hall")]
pub struct CategoryError(pub String);

impl Category {
    pub fn parse(s: &str) -> Result<Self, CategoryError> {
        let s = s.trim().trim_matches('/');
        let ok = !s.is_empty()
            && s.split('/').all(|seg| {
                !seg.is_empty()
                    && seg.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            });
        if ok {
            Ok(Self(s.to_owned()))
        } else {
            Err(CategoryError(s.to_owned()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// True when `self` is `ancestor` or lies below it.
    pub fn is_within(&self, ancestor: &Category) -> bool {
        self.0 == ancestor.0
            || (self.0.starts_with(&ancestor.0) && self.0.as_bytes().get(ancestor.0.len()) == Some(&b'/'))
    }

    /// The last segment, human-readable: `concert_hall` -> `concert hall`.
    pub fn leaf_label(&self) -> String {
        self.0.rsplit('/').next().unwrap_or(&self.0).replace('_', " ")
    }
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for Category {
    type Error = CategoryError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<Category> for String {
    fn from(c: Category) -> String {
        c.0
    }
}

/// WGS84 point in decimal degrees.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct GeoPoint {
    pub lat: f64,
    pub lon: f64,
}

#[derive(Debug, Error, PartialEq)]
#[error("coordinates out of range: lat {lat} must be in [-90, 90] and lon {lon} in [-180, 180]")]
pub struct GeoError {
    pub lat: f64,
    pub lon: f64,
}

impl GeoPoint {
    pub fn new(lat: f64, lon: f64) -> Result<Self, GeoError> {
        if (-90.0..=90.0).contains(&lat) && (-180.0..=180.0).contains(&lon) {
            Ok(Self { lat, lon })
        } else {
            Err(GeoError { lat, lon })
        }
    }

    /// Great-circle distance in kilometres (haversine, mean Earth radius).
    pub fn distance_km(&self, other: &GeoPoint) -> f64 {
        let (p1, p2) = (self.lat.to_radians(), other.lat.to_radians());
        let dp = p2 - p1;
        let dl = (other.lon - self.lon).to_radians();
        let a = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
        2.0 * 6371.0088 * a.sqrt().min(1.0).asin()
    }
}

/// A registry entry: venue, event, organisation, protected person, network asset, population.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entity {
    pub id: EntityId,
    pub kind: EntityKind,
    pub name: String,
    #[serde(default)]
    pub aliases: Vec<String>,
    pub category: Category,
    #[serde(default)]
    pub location: Option<GeoPoint>,
    /// Seats or standing capacity (venues) or expected attendance (events).
    #[serde(default)]
    pub capacity: Option<u32>,
    /// When the entity exists/operates; `None` = always (a venue).
    #[serde(default)]
    pub span: Option<ThreatWindow>,
    /// For an event: the venue it takes place at.
    #[serde(default)]
    pub venue: Option<EntityId>,
    #[serde(default)]
    pub city: Option<String>,
    #[serde(default)]
    pub country: Option<CountryCode>,
    /// Audiences responsible for protecting this entity (operator, security contact, liaison).
    #[serde(default)]
    pub audiences: Vec<AudienceId>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn category_parents() {
        let hall = Category::parse("venue/entertainment/concert_hall").unwrap();
        assert!(hall.is_within(&Category::parse("venue/entertainment").unwrap()));
        assert!(hall.is_within(&Category::parse("venue").unwrap()));
        assert!(!hall.is_within(&Category::parse("venue/enter").unwrap()));
        assert!(!hall.is_within(&Category::parse("place_of_worship").unwrap()));
        assert!(Category::parse("Venue/Hall").is_err());
        assert!(Category::parse("a//b").is_err());
    }

    #[test]
    fn distance_moscow_crocus() {
        let kremlin = GeoPoint::new(55.7520, 37.6175).unwrap();
        let crocus = GeoPoint::new(55.826, 37.390).unwrap();
        let d = kremlin.distance_km(&crocus);
        assert!((15.0..17.5).contains(&d), "{d}");
        assert!(GeoPoint::new(91.0, 0.0).is_err());
    }
}
