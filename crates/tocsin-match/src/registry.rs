//! The in-memory registry and its indexes, kept up to date entity by entity.

use crate::eval::{effective_place, evaluate, name_keys, prepare, EntityView, PreparedArea, PreparedSpec};
use crate::gazetteer::Gazetteer;
use crate::geo::GeoGrid;
use crate::names::NameIndex;
use crate::normalize::{place_key, NameKey};
use crate::taxonomy::CategoryIndex;
use crate::{sort_matches, MatchConfig, MatchError};
use std::collections::{BTreeMap, HashMap, HashSet};
use tocsin_core::{Entity, EntityId, GeoPoint, Match, Threat};

/// Grid cell edge in degrees (≈ 11 km north–south).
const GRID_CELL_DEG: f64 = 0.1;

#[derive(Debug, Clone)]
struct Slot {
    entity: Entity,
    names: Vec<NameKey>,
    location: Option<GeoPoint>,
    /// The location is the venue's (`entity.venue`).
    location_from_venue: bool,
    /// (city as written, place key), own or the venue's.
    city: Option<(String, String)>,
}

impl Slot {
    fn view(&self) -> EntityView<'_> {
        EntityView {
            entity: &self.entity,
            names: &self.names,
            location: self.location,
            location_from: if self.location_from_venue { self.entity.venue.as_ref() } else { None },
            city: self.city.as_ref().map(|(c, k)| (c.as_str(), k.as_str())),
        }
    }
}

/// Registry of entities with indexes over names, categories, locations, cities and sizes.
///
/// Entities live in slots addressed by a dense `u32`; every index holds slot numbers. `upsert` and
/// `remove` update the indexes of the one entity (and of the events whose location comes from it
/// as their venue); nothing is ever rebuilt.
#[derive(Debug, Clone)]
pub struct Registry {
    config: MatchConfig,
    gazetteer: Gazetteer,
    slots: Vec<Option<Slot>>,
    free: Vec<u32>,
    by_id: HashMap<EntityId, u32>,
    /// Venue id → slots of the entities naming it as their venue (the venue may not exist yet).
    dependents: HashMap<EntityId, HashSet<u32>>,
    names: NameIndex,
    categories: CategoryIndex,
    geo: GeoGrid,
    cities: HashMap<String, HashSet<u32>>,
    sizes: BTreeMap<u32, HashSet<u32>>,
}

impl Registry {
    pub fn new(config: MatchConfig, gazetteer: Gazetteer) -> Self {
        Self {
            names: NameIndex::new(config.max_edit_ratio),
            config,
            gazetteer,
            slots: Vec::new(),
            free: Vec::new(),
            by_id: HashMap::new(),
            dependents: HashMap::new(),
            categories: CategoryIndex::default(),
            geo: GeoGrid::new(GRID_CELL_DEG),
            cities: HashMap::new(),
            sizes: BTreeMap::new(),
        }
    }

    pub fn config(&self) -> &MatchConfig {
        &self.config
    }

    pub fn gazetteer(&self) -> &Gazetteer {
        &self.gazetteer
    }

    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }

    pub fn get(&self, id: &EntityId) -> Option<&Entity> {
        self.by_id.get(id).and_then(|&s| self.slots[s as usize].as_ref()).map(|s| &s.entity)
    }

    pub fn contains(&self, id: &EntityId) -> bool {
        self.by_id.contains_key(id)
    }

    /// Every entity, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = &Entity> {
        self.slots.iter().flatten().map(|s| &s.entity)
    }

    /// Insert `e`, or replace the entity with the same id.
    pub fn upsert(&mut self, e: Entity) {
        let id = e.id.clone();
        let idx = match self.by_id.get(&id) {
            Some(&idx) => {
                self.unindex(idx);
                idx
            }
            None => {
                let idx = match self.free.pop() {
                    Some(i) => i,
                    None => {
                        self.slots.push(None);
                        (self.slots.len() - 1) as u32
                    }
                };
                self.by_id.insert(id.clone(), idx);
                idx
            }
        };
        let names = name_keys(&e);
        self.slots[idx as usize] = Some(Slot { entity: e, names, location: None, location_from_venue: false, city: None });
        self.index(idx);
        self.refresh_dependents(&id);
    }

    /// Remove the entity with this id, returning it.
    pub fn remove(&mut self, id: &EntityId) -> Option<Entity> {
        let idx = self.by_id.remove(id)?;
        self.unindex(idx);
        let slot = self.slots[idx as usize].take()?;
        self.free.push(idx);
        self.refresh_dependents(id);
        Some(slot.entity)
    }

    /// Index the slot: entity-only indexes, its venue link, and its (effective) place.
    fn index(&mut self, idx: u32) {
        let Some(slot) = self.slots[idx as usize].as_ref() else { return };
        self.names.insert(&slot.names, idx);
        self.categories.insert(&slot.entity.category, idx);
        if let Some(c) = slot.entity.capacity {
            self.sizes.entry(c).or_default().insert(idx);
        }
        if let Some(v) = slot.entity.venue.clone() {
            self.dependents.entry(v).or_default().insert(idx);
        }
        self.index_place(idx);
    }

    fn unindex(&mut self, idx: u32) {
        self.unindex_place(idx);
        let Some(slot) = self.slots[idx as usize].as_ref() else { return };
        self.names.remove(&slot.names, idx);
        self.categories.remove(&slot.entity.category, idx);
        if let Some(c) = slot.entity.capacity {
            if let Some(set) = self.sizes.get_mut(&c) {
                set.remove(&idx);
                if set.is_empty() {
                    self.sizes.remove(&c);
                }
            }
        }
        if let Some(v) = &slot.entity.venue {
            if let Some(set) = self.dependents.get_mut(v) {
                set.remove(&idx);
                if set.is_empty() {
                    self.dependents.remove(v);
                }
            }
        }
    }

    /// Compute the effective location and city (own, else the venue's) and index them.
    fn index_place(&mut self, idx: u32) {
        let Some(slot) = self.slots[idx as usize].as_ref() else { return };
        let venue = slot.entity.venue.as_ref().and_then(|v| self.by_id.get(v)).and_then(|&vi| self.slots[vi as usize].as_ref()).map(|s| &s.entity);
        let (location, from, city) = effective_place(&slot.entity, venue);
        let city = city.map(|c| (c.to_owned(), place_key(c))).filter(|(_, k)| !k.is_empty());
        let location_from_venue = from.is_some();
        if let Some(p) = &location {
            self.geo.insert(p, idx);
        }
        if let Some((_, k)) = &city {
            self.cities.entry(k.clone()).or_default().insert(idx);
        }
        if let Some(slot) = self.slots[idx as usize].as_mut() {
            slot.location = location;
            slot.location_from_venue = location_from_venue;
            slot.city = city;
        }
    }

    fn unindex_place(&mut self, idx: u32) {
        let Some(slot) = self.slots[idx as usize].as_mut() else { return };
        let (location, city) = (slot.location.take(), slot.city.take());
        slot.location_from_venue = false;
        if let Some(p) = location {
            self.geo.remove(&p, idx);
        }
        if let Some((_, k)) = city {
            if let Some(set) = self.cities.get_mut(&k) {
                set.remove(&idx);
                if set.is_empty() {
                    self.cities.remove(&k);
                }
            }
        }
    }

    /// Re-derive the place of every entity that names `venue` as its venue.
    fn refresh_dependents(&mut self, venue: &EntityId) {
        let Some(deps) = self.dependents.get(venue) else { return };
        let deps: Vec<u32> = deps.iter().copied().collect();
        for d in deps {
            self.unindex_place(d);
            self.index_place(d);
        }
    }

    /// Slots that may satisfy `spec`: from the most selective index the spec allows.
    fn candidates(&self, spec: &PreparedSpec) -> Vec<u32> {
        let mut out = Vec::new();
        if let Some((_, key)) = &spec.name {
            self.names.candidates(key, &mut out);
        } else {
            let area_est = spec.area.as_ref().map(|a| {
                let mut n = self.geo.estimate(&a.bbox());
                if let PreparedArea::Named { city_keys, .. } = a {
                    n += city_keys.iter().filter_map(|k| self.cities.get(k)).map(HashSet::len).sum::<usize>();
                }
                n
            });
            let cat_est = (!spec.categories.is_empty()).then(|| self.categories.estimate(spec.categories));
            match (area_est, cat_est) {
                (Some(a), Some(c)) if c < a => self.categories.candidates(spec.categories, &mut out),
                (Some(_), _) => self.area_candidates(spec.area.as_ref().expect("area stated"), &mut out),
                (None, Some(_)) => self.categories.candidates(spec.categories, &mut out),
                (None, None) => match spec.min_size {
                    Some(min) => {
                        for set in self.sizes.range(min..).map(|(_, s)| s) {
                            out.extend(set.iter().copied());
                        }
                    }
                    // Only a time window: every entity is a candidate.
                    None => out.extend(self.by_id.values().copied()),
                },
            }
        }
        out.sort_unstable();
        out.dedup();
        out
    }

    fn area_candidates(&self, area: &PreparedArea, out: &mut Vec<u32>) {
        self.geo.candidates(&area.bbox(), out);
        if let PreparedArea::Named { city_keys, .. } = area {
            for set in city_keys.iter().filter_map(|k| self.cities.get(k)) {
                out.extend(set.iter().copied());
            }
        }
    }

    /// Every (entity, target spec) pair of the threat that holds, ranked by score (descending),
    /// then entity id, then target index. Errors (empty spec, unknown place, invalid area) are
    /// checked for all specs before any matching.
    pub fn match_threat(&self, threat: &Threat) -> Result<Vec<Match>, MatchError> {
        let specs = prepare(threat, &self.gazetteer)?;
        let mut matches = Vec::new();
        for spec in &specs {
            for idx in self.candidates(spec) {
                let Some(slot) = self.slots[idx as usize].as_ref() else { continue };
                if let Some((score, reasons)) = evaluate(spec, &slot.view(), &self.config) {
                    matches.push(Match {
                        threat_id: threat.id.clone(),
                        entity_id: slot.entity.id.clone(),
                        target: spec.index,
                        score,
                        reasons,
                    });
                }
            }
        }
        sort_matches(&mut matches);
        Ok(matches)
    }
}
