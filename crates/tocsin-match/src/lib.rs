//! Tocsin matching engine: finds every registry entity a threat may hit, says why, and ranks them.
//!
//! [`Registry`] keeps entities in memory with indexes over names, categories, locations, cities
//! and sizes, updated entity by entity ([`Registry::upsert`], [`Registry::remove`]).
//! [`reference_match`] is the same semantics as a plain loop, used to check the indexes.
//!
//! # Semantics
//! A [`Match`] is one (entity, target spec) pair where the entity satisfies **every** descriptor
//! the spec states (`Match::target` is the spec's index in `Threat::targets`):
//!
//! * **name** — the entity's name or one of its aliases. Both sides are [normalised](normalize)
//!   (case, accents via NFKD, Cyrillic transliterated: `Крокус Сити Холл` → `krokus siti holl`);
//!   equal normalised token sequences are an *exact* match. Otherwise tokens are folded into
//!   spelling-variant keys (`crocus` → `krokus`, `city` → `siti`) and assigned one-to-one (any
//!   word order) so that each pair is within `min(2, floor(len × max_edit_ratio))` edits
//!   (optimal string alignment distance; `len` of the shorter token). Names with different token
//!   counts never match — short forms belong in aliases.
//! * **categories** — the entity's category is within one of the listed ones
//!   ([`Category::is_within`](tocsin_core::Category::is_within)).
//! * **min_size** — `capacity >= min_size`; no capacity, no match.
//! * **area** — circle (haversine distance ≤ radius), polygon (ray casting in lon/lat), or a
//!   named place resolved by the [`Gazetteer`] (inside its shape, or the entity's city is one of
//!   the place's names; an unknown name is [`MatchError::UnknownPlace`]). An entity without a
//!   location or city of its own uses its venue's (`Entity::venue`, one level).
//! * **time** — always checked: the spec's window, else the threat's, must intersect the entity's
//!   span; entities without a span (venues) are always present.
//! * **networks** — an entity network (`Entity::footprint`) lies within a listed prefix or holds
//!   it (containment both ways; IPv4 and IPv6 apart).
//! * **asns** — the entity has one of the listed AS numbers.
//! * **domains** — an entity domain is a listed one or below it (label-wise), or a listed domain
//!   is below the entity's; the shorter of the two must not be a [public suffix](psl), so a
//!   target `co.uk` hits nobody.
//! * **sectors** — the entity has one of the listed sector tags (case-insensitive).
//!
//! A spec stating nothing is [`MatchError::EmptySpec`]. Every match lists one reason per
//! descriptor that held (name, category, size, area, network, asn, domain, sector, time), with
//! edit cost, distance, or the prefix or domain matched.
//!
//! # Score
//! `score = identity × min(area, network)`, in (0, 1]:
//!
//! * `identity` — with a name: 1.0 if exact, else `0.65 + 0.30 / (1 + cost + 0.5·reordered)`
//!   where `cost` is the summed token edit distance and `reordered` is 1 when the best token
//!   assignment is not in order (spelling variant 0.95, word order 0.85, one edit 0.80, two 0.75;
//!   always above 0.65); the best of name and aliases counts. Without a name: 0.5 when the spec
//!   lists categories, 0.45 otherwise.
//! * `area` — 1.0 when the spec states no area; else `1 − 0.2 · min(1, d / reach)`: `d` is the
//!   distance from the circle's (place's) centre with `reach` its radius, or from the polygon's
//!   vertex centroid with `reach` its farthest vertex. In [0.8, 1]; an entity inside a named place
//!   only by its city scores 0.8.
//! * `network` — 1.0 when the spec states no networks or domains; else the smaller of, for
//!   networks, `0.8 + 0.2 · len / width` of the entity's matched prefix (longest prefix first) and,
//!   for domains, `1 − 0.05 · labels apart` (at most four). In [0.8, 1].
//!
//! So a named target always outranks an unnamed one (> 0.52 vs ≤ 0.5), exact beats fuzzy, and
//! nearer beats farther. Results are sorted by score (descending), entity id, then target index.
//!
//! # Indexes
//! See [`Registry`] (the `registry` module docs) for storage and candidate selection, and
//! docs/matching.md for the benchmark figures.

pub mod fuzzy;
pub mod gazetteer;
pub mod geo;
pub mod names;
pub mod net;
pub mod normalize;
pub mod psl;
pub mod taxonomy;

mod eval;
mod postings;
mod record;
mod reference;
mod registry;

pub use eval::{
    AREA_EDGE_FACTOR, NETWORK_MIN_FACTOR, UNNAMED_CATEGORY_FACTOR, UNNAMED_OTHER_FACTOR,
};
pub use gazetteer::{Gazetteer, GazetteerError, Place, PlaceKind, PlaceShape};
pub use reference::reference_match;
pub use registry::Registry;

use serde::{Deserialize, Serialize};
use thiserror::Error;
use tocsin_core::{Match, ThreatWindow, Timestamp};

/// Matching parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct MatchConfig {
    /// "Large gathering": the `min_size` intake puts in a spec for "large gatherings" (1,000).
    pub large_gathering_min: u32,
    /// "Imminent": the default threat window in hours (48).
    pub imminent_hours: i64,
    /// Typo tolerance: a token of `len` characters allows `min(2, floor(len × ratio))` edits.
    /// 0.25: none up to 3 characters, 1 for 4–7, 2 from 8.
    pub max_edit_ratio: f64,
}

impl Default for MatchConfig {
    fn default() -> Self {
        Self {
            large_gathering_min: 1000,
            imminent_hours: tocsin_core::time::IMMINENT_HOURS,
            max_edit_ratio: 0.25,
        }
    }
}

impl MatchConfig {
    /// The default window of an imminent threat starting at `start`.
    pub fn imminent_window(&self, start: Timestamp) -> ThreatWindow {
        ThreatWindow::imminent(start, self.imminent_hours)
    }
}

/// Why a threat cannot be matched. Never an empty result in disguise.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum MatchError {
    #[error("target {target_index}: the spec states no descriptor (name, categories, min_size, area, window, networks, asns, domains or sectors)")]
    EmptySpec { target_index: usize },
    #[error("target {target_index}: unknown place {name:?}: not in the gazetteer")]
    UnknownPlace { name: String, target_index: usize },
    #[error("target {target_index}: name {name:?} has no letters or digits to match")]
    EmptyName { target_index: usize, name: String },
    #[error("target {target_index}: invalid area: {reason}")]
    InvalidArea { target_index: usize, reason: String },
}

/// Rank: score descending, then entity id, then target index.
pub(crate) fn sort_matches(m: &mut [Match]) {
    m.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then_with(|| a.entity_id.cmp(&b.entity_id))
            .then_with(|| a.target.cmp(&b.target))
    });
}
