//! The in-memory registry: entities in compact columns, and the indexes over them, kept up to date
//! entity by entity.
//!
//! # Storage
//! Every entity lives in a *slot* (a dense `u32`). Fixed-size fields are columns indexed by slot
//! (flags, kind, interned category, capacity, effective location as two `f64`, span start and end
//! in whole seconds, interned effective city); everything of variable length (id, name, aliases,
//! venue, country, audiences, sub-second span parts, footprint) is one byte record in an
//! append-only arena ([`crate::record`]), compacted when more than half of it is garbage.
//! `by_id` is a hash table of slots keyed by the hash of the id stored in the record. Every index
//! holds sorted posting lists of slots (`Vec<u32>`); slots are allocated in increasing order, so a
//! bulk load appends to postings without sorting.
//!
//! # Answering a spec
//! Candidates come from the most selective index the spec allows (the name index, intersected
//! over the query's tokens; else the smallest of: the geo grid and city index for an area, the
//! category index, the category index restricted to span-less entities plus the time index, the
//! prefix table, the ASN, domain and sector indexes; else the size index; else every slot). Each
//! candidate then passes a cheap check on the columns (category, size, span, circle) and, if it
//! holds, the full semantics ([`crate::eval::evaluate`]), which alone decides — so the registry
//! can only differ from [`crate::reference_match`] by missing a candidate, which the property
//! tests rule out.

use crate::eval::{evaluate, prepare, sector_key, EntityView, PreparedArea, PreparedSpec};
use crate::gazetteer::Gazetteer;
use crate::geo::GeoGrid;
use crate::names::{distinct_tokens, NameIndex};
use crate::net::{IntBuildHasher, IntHasher, PrefixTable};
use crate::normalize::{place_key, NameKey};
use crate::postings;
use crate::record::{self, Rec};
use crate::{sort_matches, MatchConfig, MatchError};
use chrono::DateTime;
use hashbrown::HashTable;
use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::hash::{Hash, Hasher};
use tocsin_core::entity::{Footprint, IpNet};
use tocsin_core::{
    AudienceId, Category, CountryCode, Entity, EntityId, EntityKind, GeoPoint, Match, Threat,
    ThreatWindow,
};

/// Grid cell edge in degrees (≈ 11 km north–south).
const GRID_CELL_DEG: f64 = 0.1;
const DAY: i64 = 86_400;
/// Time index tiers by span length (seconds): a window looks back by its tier's length only.
const TIERS: [i64; 3] = [DAY, 8 * DAY, 64 * DAY];
const NONE: u32 = u32::MAX;
static EMPTY_FOOTPRINT: Footprint = Footprint::EMPTY;

const LIVE: u8 = 1;
const HAS_LOC: u8 = 2;
const LOC_FROM_VENUE: u8 = 4;
const HAS_CAP: u8 = 8;
const HAS_SPAN: u8 = 16;
const CITY_FROM_VENUE: u8 = 32;
const HAS_FOOTPRINT: u8 = 64;

const KINDS: [EntityKind; 6] = [
    EntityKind::Venue,
    EntityKind::Event,
    EntityKind::Organisation,
    EntityKind::Person,
    EntityKind::NetworkAsset,
    EntityKind::Population,
];

fn kind_code(k: EntityKind) -> u8 {
    KINDS
        .iter()
        .position(|x| *x == k)
        .expect("every kind is listed") as u8
}

/// Hash of an id string (ids come from the registry's own files, so a fast non-keyed hash will do;
/// collisions cost time only, as every look-up compares the id).
fn hash_str(s: &str) -> u64 {
    let mut h = IntHasher::default();
    s.hash(&mut h);
    h.finish()
}

/// Domain index key: labels right to left, `mail.example.com` → `com.example.mail`.
fn domain_key(d: &str) -> String {
    d.rsplit('.').collect::<Vec<_>>().join(".")
}

/// Fixed-size per-slot fields.
#[derive(Debug, Clone, Default)]
struct Columns {
    flags: Vec<u8>,
    kind: Vec<u8>,
    cat: Vec<u32>,
    cap: Vec<u32>,
    lat: Vec<f64>,
    lon: Vec<f64>,
    /// Span start and end, whole seconds (floor); sub-second parts are in the record.
    from: Vec<i64>,
    until: Vec<i64>,
    /// Interned effective city as written (own, else the venue's), or `NONE`.
    city: Vec<u32>,
    rec: Vec<u64>,
    rec_len: Vec<u32>,
    /// Next slot naming the same venue (intrusive list from `dep_head`), or `NONE`.
    dep_next: Vec<u32>,
}

impl Columns {
    fn push_empty(&mut self) {
        self.flags.push(0);
        self.kind.push(0);
        self.cat.push(0);
        self.cap.push(0);
        self.lat.push(0.0);
        self.lon.push(0.0);
        self.from.push(0);
        self.until.push(0);
        self.city.push(NONE);
        self.rec.push(0);
        self.rec_len.push(0);
        self.dep_next.push(NONE);
    }

    fn reserve(&mut self, n: usize) {
        self.flags.reserve(n);
        self.kind.reserve(n);
        self.cat.reserve(n);
        self.cap.reserve(n);
        self.lat.reserve(n);
        self.lon.reserve(n);
        self.from.reserve(n);
        self.until.reserve(n);
        self.city.reserve(n);
        self.rec.reserve(n);
        self.rec_len.reserve(n);
        self.dep_next.reserve(n);
    }

    fn len(&self) -> usize {
        self.flags.len()
    }
}

/// Entities with a span, by span length tier (≤ 1 day, ≤ 8 days, ≤ 64 days) and start day;
/// longer spans apart. A span of tier length `L` intersecting `[a, b)` starts in `[a − L, b)`.
#[derive(Debug, Clone, Default)]
struct TimeIndex {
    tiers: [HashMap<i64, Vec<u32>, IntBuildHasher>; 3],
    long: Vec<u32>,
}

impl TimeIndex {
    fn tier(from: i64, until: i64) -> Option<usize> {
        TIERS.iter().position(|&t| until - from <= t)
    }

    fn insert(&mut self, from: i64, until: i64, s: u32) {
        match Self::tier(from, until) {
            Some(t) => postings::insert(self.tiers[t].entry(from.div_euclid(DAY)).or_default(), s),
            None => postings::insert(&mut self.long, s),
        }
    }

    fn remove(&mut self, from: i64, until: i64, s: u32) {
        match Self::tier(from, until) {
            Some(t) => {
                let day = from.div_euclid(DAY);
                if let Some(l) = self.tiers[t].get_mut(&day) {
                    postings::remove(l, s);
                    if l.is_empty() {
                        self.tiers[t].remove(&day);
                    }
                }
            }
            None => {
                postings::remove(&mut self.long, s);
            }
        }
    }

    /// Visit the lists that may hold a span intersecting `[from, until)` (whole seconds, floors
    /// of the true times: spans are compared by their floors too, so one second of slack).
    fn for_each<'a>(&'a self, from: i64, until: i64, mut f: impl FnMut(&'a [u32])) {
        for (days, len) in self.tiers.iter().zip(TIERS) {
            let (d0, d1) = ((from - len - 1).div_euclid(DAY), until.div_euclid(DAY));
            if (d1 - d0 + 1) as usize > days.len() {
                for (d, l) in days {
                    if (d0..=d1).contains(d) {
                        f(l);
                    }
                }
            } else {
                for d in d0..=d1 {
                    if let Some(l) = days.get(&d) {
                        f(l);
                    }
                }
            }
        }
        f(&self.long);
    }
}

/// Interned strings with a dense id.
#[derive(Debug, Clone, Default)]
struct Interner {
    strings: Vec<Box<str>>,
    ids: HashMap<Box<str>, u32>,
}

impl Interner {
    fn id(&mut self, s: &str) -> u32 {
        if let Some(&i) = self.ids.get(s) {
            return i;
        }
        let i = self.strings.len() as u32;
        self.strings.push(Box::from(s));
        self.ids.insert(Box::from(s), i);
        i
    }

    fn get(&self, s: &str) -> Option<u32> {
        self.ids.get(s).copied()
    }
}

/// What an entity needs computed before it is stored (done on a second thread by
/// [`Registry::extend`]): its distinct folded name tokens, its encoded record, its id's hash.
struct Prepared {
    tokens: Vec<String>,
    rec: Vec<u8>,
    id_hash: u64,
}

impl Prepared {
    fn of(e: &Entity) -> Self {
        let keys: Vec<NameKey> = std::iter::once(&e.name)
            .chain(e.aliases.iter())
            .map(|n| NameKey::new(n))
            .collect();
        let nanos = e
            .span
            .map(|w| {
                (
                    w.from.timestamp_subsec_nanos(),
                    w.until.timestamp_subsec_nanos(),
                )
            })
            .filter(|&n| n != (0, 0));
        let country = e.country.as_ref().map(|c| c.as_str().to_owned());
        let rec = Rec {
            id: e.id.as_str(),
            name: &e.name,
            aliases: e.aliases.iter().map(String::as_str).collect(),
            venue: e.venue.as_ref().map(EntityId::as_str),
            country: country.as_deref(),
            audiences: e.audiences.iter().map(AudienceId::as_str).collect(),
            nanos,
            footprint: None,
        };
        let mut bytes = Vec::with_capacity(64);
        record::encode(&mut bytes, &rec, &e.footprint);
        Self {
            tokens: distinct_tokens(&keys)
                .into_iter()
                .map(str::to_owned)
                .collect(),
            rec: bytes,
            id_hash: hash_str(e.id.as_str()),
        }
    }
}

/// Something that visits posting lists (used to size a candidate source before choosing it).
type ListVisitor<'v> = dyn Fn(&mut dyn FnMut(&[u32])) + 'v;

/// Per-spec cheap checks on the columns: they only reject what `evaluate` would reject.
struct Quick {
    cat_ok: Option<Vec<bool>>,
    min_size: Option<u32>,
    from: i64,
    until: i64,
    circle: Option<(GeoPoint, f64)>,
    needs_footprint: bool,
}

/// Registry of entities with indexes over names, categories, locations, cities, sizes, times,
/// networks, ASNs, domains and sectors. See the module docs for the layout.
///
/// `upsert` and `remove` update the indexes of the one entity (and of the events whose location
/// or city comes from it as their venue); nothing is ever rebuilt. [`Registry::extend`] is the
/// bulk path (same result as upserting in order, with name normalisation on two threads).
#[derive(Debug, Clone)]
pub struct Registry {
    config: MatchConfig,
    gazetteer: Gazetteer,
    cols: Columns,
    arena: Vec<u8>,
    garbage: usize,
    free: Vec<u32>,
    live: usize,
    by_id: HashTable<u32>,
    cats: Vec<Category>,
    cat_ids: HashMap<Category, u32>,
    /// City as written → id; `city_key_of[id]` is the id of its place key in `city_keys`.
    city_written: Interner,
    city_key_of: Vec<u32>,
    city_keys: Interner,
    names: NameIndex,
    /// Per category id: [slots without a span, slots with one].
    by_cat: Vec<[Vec<u32>; 2]>,
    geo: GeoGrid,
    /// Per city key id.
    by_city: Vec<Vec<u32>>,
    by_size: BTreeMap<u32, Vec<u32>>,
    time: TimeIndex,
    nets: PrefixTable<Vec<u32>>,
    by_asn: HashMap<u32, Vec<u32>, IntBuildHasher>,
    by_domain: BTreeMap<String, Vec<u32>>,
    by_sector: HashMap<String, Vec<u32>>,
    /// Hash of a venue id → first slot naming it as venue (list continues in `cols.dep_next`).
    dep_head: HashMap<u64, u32, IntBuildHasher>,
}

impl Registry {
    pub fn new(config: MatchConfig, gazetteer: Gazetteer) -> Self {
        Self {
            names: NameIndex::new(config.max_edit_ratio),
            config,
            gazetteer,
            cols: Columns::default(),
            arena: Vec::new(),
            garbage: 0,
            free: Vec::new(),
            live: 0,
            by_id: HashTable::new(),
            cats: Vec::new(),
            cat_ids: HashMap::new(),
            city_written: Interner::default(),
            city_key_of: Vec::new(),
            city_keys: Interner::default(),
            by_cat: Vec::new(),
            geo: GeoGrid::new(GRID_CELL_DEG),
            by_city: Vec::new(),
            by_size: BTreeMap::new(),
            time: TimeIndex::default(),
            nets: PrefixTable::new(),
            by_asn: HashMap::default(),
            by_domain: BTreeMap::new(),
            by_sector: HashMap::new(),
            dep_head: HashMap::default(),
        }
    }

    pub fn config(&self) -> &MatchConfig {
        &self.config
    }

    pub fn gazetteer(&self) -> &Gazetteer {
        &self.gazetteer
    }

    pub fn len(&self) -> usize {
        self.live
    }

    pub fn is_empty(&self) -> bool {
        self.live == 0
    }

    /// Make room for `additional` more entities (columns and id table).
    pub fn reserve(&mut self, additional: usize) {
        self.cols.reserve(additional);
        let (arena, rec) = (&self.arena, &self.cols.rec);
        self.by_id.reserve(additional, |&s| {
            hash_str(record::id_of(&arena[rec[s as usize] as usize..]))
        });
    }

    fn rec_bytes(&self, s: u32) -> &[u8] {
        let at = self.cols.rec[s as usize] as usize;
        &self.arena[at..at + self.cols.rec_len[s as usize] as usize]
    }

    fn find(&self, id: &str) -> Option<u32> {
        self.find_hashed(hash_str(id), id)
    }

    fn find_hashed(&self, h: u64, id: &str) -> Option<u32> {
        self.by_id
            .find(h, |&s| record::id_of(self.rec_bytes(s)) == id)
            .copied()
    }

    /// The entity with this id (rebuilt from the compact storage).
    pub fn get(&self, id: &EntityId) -> Option<Entity> {
        self.find(id.as_str()).map(|s| self.entity(s))
    }

    pub fn contains(&self, id: &EntityId) -> bool {
        self.find(id.as_str()).is_some()
    }

    /// Every entity, in slot order.
    pub fn iter(&self) -> impl Iterator<Item = Entity> + '_ {
        (0..self.cols.len() as u32)
            .filter(|&s| self.cols.flags[s as usize] & LIVE != 0)
            .map(|s| self.entity(s))
    }

    fn span_of(&self, s: u32, nanos: Option<(u32, u32)>) -> Option<ThreatWindow> {
        let i = s as usize;
        if self.cols.flags[i] & HAS_SPAN == 0 {
            return None;
        }
        let (a, b) = nanos.unwrap_or((0, 0));
        let from =
            DateTime::from_timestamp(self.cols.from[i], a).expect("stored from a valid time");
        let until =
            DateTime::from_timestamp(self.cols.until[i], b).expect("stored from a valid time");
        Some(ThreatWindow { from, until })
    }

    /// Rebuild the entity stored in slot `s`.
    fn entity(&self, s: u32) -> Entity {
        let i = s as usize;
        let f = self.cols.flags[i];
        let r = record::decode_full(self.rec_bytes(s));
        let own_city = (self.cols.city[i] != NONE && f & CITY_FROM_VENUE == 0)
            .then(|| self.city_written.strings[self.cols.city[i] as usize].to_string());
        Entity {
            id: EntityId::new(r.id),
            kind: KINDS[self.cols.kind[i] as usize],
            name: r.name.to_owned(),
            aliases: r.aliases.iter().map(|a| (*a).to_owned()).collect(),
            category: self.cats[self.cols.cat[i] as usize].clone(),
            location: (f & HAS_LOC != 0 && f & LOC_FROM_VENUE == 0).then(|| GeoPoint {
                lat: self.cols.lat[i],
                lon: self.cols.lon[i],
            }),
            capacity: (f & HAS_CAP != 0).then(|| self.cols.cap[i]),
            span: self.span_of(s, r.nanos),
            venue: r.venue.map(EntityId::new),
            city: own_city,
            country: r
                .country
                .map(|c| CountryCode::parse(c).expect("stored from a valid code")),
            audiences: r.audiences.iter().map(|a| AudienceId::new(*a)).collect(),
            footprint: r.footprint.unwrap_or_default(),
        }
    }

    /// What `evaluate` sees of slot `s`; the footprint is decoded only when asked for.
    fn view(&self, s: u32, with_footprint: bool) -> EntityView<'_> {
        let i = s as usize;
        let f = self.cols.flags[i];
        let bytes = self.rec_bytes(s);
        let r = if with_footprint && f & HAS_FOOTPRINT != 0 {
            record::decode_full(bytes)
        } else {
            record::decode(bytes)
        };
        let city = (self.cols.city[i] != NONE)
            .then(|| {
                let w = self.cols.city[i] as usize;
                (
                    &*self.city_written.strings[w],
                    &*self.city_keys.strings[self.city_key_of[w] as usize],
                )
            })
            .filter(|(_, k)| !k.is_empty());
        let kind = KINDS[self.cols.kind[i] as usize];
        let venue_names = match r.venue {
            Some(v) if kind == tocsin_core::EntityKind::Event => match self.find(v) {
                Some(vs) => {
                    let vr = record::decode(self.rec_bytes(vs));
                    std::iter::once(vr.name).chain(vr.aliases).collect()
                }
                None => Vec::new(),
            },
            _ => Vec::new(),
        };
        EntityView {
            id: r.id,
            kind,
            venue_names,
            name: r.name,
            category: &self.cats[self.cols.cat[i] as usize],
            capacity: (f & HAS_CAP != 0).then(|| self.cols.cap[i]),
            span: self.span_of(s, r.nanos),
            location: (f & HAS_LOC != 0).then(|| GeoPoint {
                lat: self.cols.lat[i],
                lon: self.cols.lon[i],
            }),
            location_from: if f & LOC_FROM_VENUE != 0 {
                r.venue
            } else {
                None
            },
            city,
            footprint: match r.footprint {
                Some(fp) => Cow::Owned(fp),
                None => Cow::Borrowed(&EMPTY_FOOTPRINT),
            },
            aliases: r.aliases,
        }
    }

    /// Insert `e`, or replace the entity with the same id.
    pub fn upsert(&mut self, e: Entity) {
        let p = Prepared::of(&e);
        self.upsert_prepared(&e, p);
    }

    /// Insert or replace many entities: the same result as [`Registry::upsert`] on each in order,
    /// faster. A pipeline of two threads: while this thread pulls a chunk from `entities` and
    /// stores the previous one, a second thread normalises the names of the chunk in between.
    pub fn extend<I: IntoIterator<Item = Entity>>(&mut self, entities: I) {
        use std::sync::mpsc::sync_channel;
        const CHUNK: usize = 16_384;
        let mut it = entities.into_iter();
        std::thread::scope(|sc| {
            let (to_worker, raw) = sync_channel::<Vec<Entity>>(1);
            let (done, prepared) = sync_channel::<(Vec<Entity>, Vec<Prepared>)>(1);
            sc.spawn(move || {
                for chunk in raw {
                    let p = chunk.iter().map(Prepared::of).collect();
                    if done.send((chunk, p)).is_err() {
                        return;
                    }
                }
            });
            let mut in_flight = 0usize;
            let mut to_worker = Some(to_worker);
            loop {
                let chunk: Vec<Entity> = it.by_ref().take(CHUNK).collect();
                let exhausted = chunk.is_empty();
                if !exhausted {
                    to_worker
                        .as_ref()
                        .expect("open until exhausted")
                        .send(chunk)
                        .expect("the worker runs until the channel closes");
                    in_flight += 1;
                } else {
                    to_worker = None;
                }
                if in_flight >= 2 || (exhausted && in_flight > 0) {
                    let (chunk, ps) = prepared.recv().expect("the worker answers every chunk");
                    in_flight -= 1;
                    self.reserve(chunk.len());
                    for (e, p) in chunk.iter().zip(ps) {
                        self.upsert_prepared(e, p);
                    }
                }
                if exhausted && in_flight == 0 {
                    break;
                }
            }
            drop(to_worker);
        });
    }

    fn cat_id(&mut self, c: &Category) -> u32 {
        if let Some(&i) = self.cat_ids.get(c) {
            return i;
        }
        let i = self.cats.len() as u32;
        self.cats.push(c.clone());
        self.cat_ids.insert(c.clone(), i);
        self.by_cat.push([Vec::new(), Vec::new()]);
        i
    }

    fn city_id(&mut self, written: &str) -> u32 {
        if let Some(i) = self.city_written.get(written) {
            return i;
        }
        let i = self.city_written.id(written);
        let k = self.city_keys.id(&place_key(written));
        if self.by_city.len() <= k as usize {
            self.by_city.resize_with(k as usize + 1, Vec::new);
        }
        self.city_key_of.push(k);
        i
    }

    fn upsert_prepared(&mut self, e: &Entity, p: Prepared) {
        let s = match self.find_hashed(p.id_hash, e.id.as_str()) {
            Some(s) => {
                self.unindex(s);
                self.unlink_dependent(s);
                self.garbage += self.cols.rec_len[s as usize] as usize;
                s
            }
            None => {
                let s = match self.free.pop() {
                    Some(s) => s,
                    None => {
                        self.cols.push_empty();
                        (self.cols.len() - 1) as u32
                    }
                };
                let (arena, rec) = (&self.arena, &self.cols.rec);
                // The new slot's record is written below; rehashing only ever looks at others.
                self.by_id.insert_unique(p.id_hash, s, |&x| {
                    hash_str(record::id_of(&arena[rec[x as usize] as usize..]))
                });
                self.live += 1;
                s
            }
        };
        let i = s as usize;
        let at = self.arena.len();
        self.arena.extend_from_slice(&p.rec);
        self.cols.rec[i] = at as u64;
        self.cols.rec_len[i] = (self.arena.len() - at) as u32;
        let mut f = LIVE;
        if let Some(pt) = e.location {
            f |= HAS_LOC;
            self.cols.lat[i] = pt.lat;
            self.cols.lon[i] = pt.lon;
        }
        if let Some(c) = e.capacity {
            f |= HAS_CAP;
            self.cols.cap[i] = c;
        }
        if let Some(w) = e.span {
            f |= HAS_SPAN;
            self.cols.from[i] = w.from.timestamp();
            self.cols.until[i] = w.until.timestamp();
        }
        if !e.footprint.is_empty() {
            f |= HAS_FOOTPRINT;
        }
        self.cols.flags[i] = f;
        self.cols.kind[i] = kind_code(e.kind);
        self.cols.cat[i] = self.cat_id(&e.category);
        self.cols.city[i] = match &e.city {
            Some(c) => self.city_id(c),
            None => NONE,
        };
        if let Some(v) = &e.venue {
            let h = hash_str(v.as_str());
            self.cols.dep_next[i] = self.dep_head.insert(h, s).unwrap_or(NONE);
        }
        self.apply_venue(s);
        self.index(s, &p.tokens, &e.footprint);
        self.refresh_dependents(e.id.as_str());
    }

    /// Remove the entity with this id, returning it.
    pub fn remove(&mut self, id: &EntityId) -> Option<Entity> {
        let s = self.find(id.as_str())?;
        let e = self.entity(s);
        self.unindex(s);
        self.unlink_dependent(s);
        if let Ok(entry) = self.by_id.find_entry(hash_str(id.as_str()), |&x| x == s) {
            entry.remove();
        }
        self.cols.flags[s as usize] = 0;
        self.garbage += self.cols.rec_len[s as usize] as usize;
        self.free.push(s);
        self.live -= 1;
        self.refresh_dependents(id.as_str());
        self.maybe_compact();
        Some(e)
    }

    /// Rewrite the arena without garbage once garbage is the larger part.
    fn maybe_compact(&mut self) {
        if self.garbage < (1 << 20) || self.garbage * 2 < self.arena.len() {
            return;
        }
        let mut arena = Vec::with_capacity(self.arena.len() - self.garbage);
        for s in 0..self.cols.len() {
            if self.cols.flags[s] & LIVE == 0 {
                continue;
            }
            let at = arena.len();
            arena.extend_from_slice(self.rec_bytes(s as u32));
            self.cols.rec[s] = at as u64;
        }
        self.arena = arena;
        self.garbage = 0;
    }

    /// Take `s` out of the dependents list of its venue.
    fn unlink_dependent(&mut self, s: u32) {
        let Some(v) = record::decode(self.rec_bytes(s)).venue else {
            return;
        };
        let h = hash_str(v);
        let next = self.cols.dep_next[s as usize];
        self.cols.dep_next[s as usize] = NONE;
        match self.dep_head.get(&h).copied() {
            Some(head) if head == s => {
                if next == NONE {
                    self.dep_head.remove(&h);
                } else {
                    self.dep_head.insert(h, next);
                }
            }
            Some(mut cur) => {
                while cur != NONE {
                    let n = self.cols.dep_next[cur as usize];
                    if n == s {
                        self.cols.dep_next[cur as usize] = next;
                        break;
                    }
                    cur = n;
                }
            }
            None => {}
        }
    }

    /// Fill in the venue's location and city where `s` has none of its own (one level).
    fn apply_venue(&mut self, s: u32) {
        let i = s as usize;
        let f = self.cols.flags[i];
        let needs_loc = f & HAS_LOC == 0;
        let needs_city = self.cols.city[i] == NONE;
        if !needs_loc && !needs_city {
            return;
        }
        let Some(v) = record::decode(self.rec_bytes(s)).venue else {
            return;
        };
        let Some(vs) = self.find(v) else { return };
        let (vi, vf) = (vs as usize, self.cols.flags[vs as usize]);
        if needs_loc && vf & HAS_LOC != 0 && vf & LOC_FROM_VENUE == 0 {
            self.cols.lat[i] = self.cols.lat[vi];
            self.cols.lon[i] = self.cols.lon[vi];
            self.cols.flags[i] |= HAS_LOC | LOC_FROM_VENUE;
        }
        if needs_city && self.cols.city[vi] != NONE && vf & CITY_FROM_VENUE == 0 {
            self.cols.city[i] = self.cols.city[vi];
            self.cols.flags[i] |= CITY_FROM_VENUE;
        }
    }

    /// Drop what `s` took from its venue.
    fn clear_venue_place(&mut self, s: u32) {
        let i = s as usize;
        if self.cols.flags[i] & LOC_FROM_VENUE != 0 {
            self.cols.flags[i] &= !(HAS_LOC | LOC_FROM_VENUE);
        }
        if self.cols.flags[i] & CITY_FROM_VENUE != 0 {
            self.cols.city[i] = NONE;
            self.cols.flags[i] &= !CITY_FROM_VENUE;
        }
    }

    /// Re-derive the place of every entity that names `venue` as its venue.
    fn refresh_dependents(&mut self, venue: &str) {
        let mut cur = self.dep_head.get(&hash_str(venue)).copied().unwrap_or(NONE);
        let mut deps = Vec::new();
        while cur != NONE {
            deps.push(cur);
            cur = self.cols.dep_next[cur as usize];
        }
        for d in deps {
            // Hash collisions put other venues' dependents in the list: leave them alone.
            if record::decode(self.rec_bytes(d)).venue != Some(venue) {
                continue;
            }
            self.unindex_place(d);
            self.clear_venue_place(d);
            self.apply_venue(d);
            self.index_place(d);
        }
    }

    fn city_key_id(&self, s: u32) -> Option<u32> {
        let c = self.cols.city[s as usize];
        (c != NONE)
            .then(|| self.city_key_of[c as usize])
            .filter(|&k| !self.city_keys.strings[k as usize].is_empty())
    }

    fn index_place(&mut self, s: u32) {
        let i = s as usize;
        if self.cols.flags[i] & HAS_LOC != 0 {
            self.geo.insert(
                &GeoPoint {
                    lat: self.cols.lat[i],
                    lon: self.cols.lon[i],
                },
                s,
            );
        }
        if let Some(k) = self.city_key_id(s) {
            postings::insert(&mut self.by_city[k as usize], s);
        }
    }

    fn unindex_place(&mut self, s: u32) {
        let i = s as usize;
        if self.cols.flags[i] & HAS_LOC != 0 {
            self.geo.remove(
                &GeoPoint {
                    lat: self.cols.lat[i],
                    lon: self.cols.lon[i],
                },
                s,
            );
        }
        if let Some(k) = self.city_key_id(s) {
            postings::remove(&mut self.by_city[k as usize], s);
        }
    }

    fn footprint_of(&self, s: u32) -> Option<Footprint> {
        (self.cols.flags[s as usize] & HAS_FOOTPRINT != 0)
            .then(|| record::decode_full(self.rec_bytes(s)).footprint)
            .flatten()
    }

    fn index(&mut self, s: u32, tokens: &[String], fp: &Footprint) {
        let i = s as usize;
        let f = self.cols.flags[i];
        self.names.insert(tokens, s);
        let spanned = usize::from(f & HAS_SPAN != 0);
        postings::insert(&mut self.by_cat[self.cols.cat[i] as usize][spanned], s);
        if f & HAS_CAP != 0 {
            postings::insert(self.by_size.entry(self.cols.cap[i]).or_default(), s);
        }
        if f & HAS_SPAN != 0 {
            self.time.insert(self.cols.from[i], self.cols.until[i], s);
        }
        {
            for n in &fp.networks {
                postings::insert(self.nets.get_or_insert_with(*n, Vec::new), s);
            }
            for a in &fp.asns {
                postings::insert(self.by_asn.entry(*a).or_default(), s);
            }
            for d in &fp.domains {
                postings::insert(self.by_domain.entry(domain_key(d.as_str())).or_default(), s);
            }
            for sec in &fp.sectors {
                postings::insert(self.by_sector.entry(sector_key(sec)).or_default(), s);
            }
        }
        self.index_place(s);
    }

    fn unindex(&mut self, s: u32) {
        self.unindex_place(s);
        let i = s as usize;
        let f = self.cols.flags[i];
        let r = record::decode(self.rec_bytes(s));
        let keys: Vec<NameKey> = std::iter::once(r.name)
            .chain(r.aliases.iter().copied())
            .map(NameKey::new)
            .collect();
        let tokens = distinct_tokens(&keys);
        self.names.remove(&tokens, s);
        let spanned = usize::from(f & HAS_SPAN != 0);
        postings::remove(&mut self.by_cat[self.cols.cat[i] as usize][spanned], s);
        if f & HAS_CAP != 0 {
            let cap = self.cols.cap[i];
            if let Some(l) = self.by_size.get_mut(&cap) {
                postings::remove(l, s);
                if l.is_empty() {
                    self.by_size.remove(&cap);
                }
            }
        }
        if f & HAS_SPAN != 0 {
            self.time.remove(self.cols.from[i], self.cols.until[i], s);
        }
        if let Some(fp) = self.footprint_of(s) {
            for n in &fp.networks {
                if let Some(l) = self.nets.get_mut(n) {
                    postings::remove(l, s);
                    if l.is_empty() {
                        self.nets.remove(n);
                    }
                }
            }
            for a in &fp.asns {
                if let Some(l) = self.by_asn.get_mut(a) {
                    postings::remove(l, s);
                    if l.is_empty() {
                        self.by_asn.remove(a);
                    }
                }
            }
            for d in &fp.domains {
                let k = domain_key(d.as_str());
                if let Some(l) = self.by_domain.get_mut(&k) {
                    postings::remove(l, s);
                    if l.is_empty() {
                        self.by_domain.remove(&k);
                    }
                }
            }
            for sec in &fp.sectors {
                let k = sector_key(sec);
                if let Some(l) = self.by_sector.get_mut(&k) {
                    postings::remove(l, s);
                    if l.is_empty() {
                        self.by_sector.remove(&k);
                    }
                }
            }
        }
    }

    // -----------------------------------------------------------------------------------------
    // Queries
    // -----------------------------------------------------------------------------------------

    fn quick(&self, spec: &PreparedSpec) -> Quick {
        let cat_ok = (!spec.categories.is_empty()).then(|| {
            self.cats
                .iter()
                .map(|c| spec.categories.iter().any(|a| c.is_within(a)))
                .collect()
        });
        let circle = match &spec.area {
            Some(PreparedArea::Circle { center, radius_km }) => Some((*center, *radius_km)),
            _ => None,
        };
        Quick {
            cat_ok,
            min_size: spec.min_size,
            from: spec.window.from.timestamp(),
            until: spec.window.until.timestamp(),
            circle,
            needs_footprint: !(spec.networks.is_empty()
                && spec.asns.is_empty()
                && spec.domains.is_empty()
                && spec.sectors.is_empty()),
        }
    }

    /// Cheap checks on the columns; `false` only where `evaluate` would reject too.
    fn quick_ok(&self, q: &Quick, s: u32) -> bool {
        let i = s as usize;
        let f = self.cols.flags[i];
        if f & LIVE == 0 {
            return false;
        }
        if let Some(ok) = &q.cat_ok {
            if !ok[self.cols.cat[i] as usize] {
                return false;
            }
        }
        if let Some(min) = q.min_size {
            if f & HAS_CAP == 0 || self.cols.cap[i] < min {
                return false;
            }
        }
        // Whole seconds are floors of the true times, so these only reject true misses.
        if f & HAS_SPAN != 0 && (self.cols.from[i] > q.until || q.from > self.cols.until[i]) {
            return false;
        }
        if let Some((c, r)) = q.circle {
            if f & HAS_LOC == 0
                || (GeoPoint {
                    lat: self.cols.lat[i],
                    lon: self.cols.lon[i],
                })
                .distance_km(&c)
                    > r
            {
                return false;
            }
        }
        !(q.needs_footprint && f & HAS_FOOTPRINT == 0)
    }

    fn cat_ids_within(&self, cats: &[Category]) -> Vec<usize> {
        (0..self.cats.len())
            .filter(|&i| cats.iter().any(|a| self.cats[i].is_within(a)))
            .collect()
    }

    fn area_lists<'a>(&'a self, area: &PreparedArea, mut f: impl FnMut(&'a [u32])) {
        self.geo.for_each_cell(&area.bbox(), &mut f);
        if let PreparedArea::Named { city_keys, .. } = area {
            for k in city_keys {
                if let Some(id) = self.city_keys.get(k) {
                    f(&self.by_city[id as usize]);
                }
            }
        }
    }

    fn domain_lists<'a>(&'a self, spec: &PreparedSpec, mut f: impl FnMut(&'a [u32])) {
        for &(d, public) in &spec.domains {
            if public {
                // A public suffix covers nobody; its ancestors are public suffixes too.
                continue;
            }
            let k = domain_key(d.as_str());
            let below = format!("{k}.");
            let end = format!("{k}/");
            for (_, l) in self.by_domain.range(below..end) {
                f(l);
            }
            // The domain itself and its ancestors (owners of a parent domain).
            let mut rest = d.as_str();
            loop {
                if let Some(l) = self.by_domain.get(&domain_key(rest)) {
                    f(l);
                }
                match rest.split_once('.') {
                    Some((_, parent)) => rest = parent,
                    None => break,
                }
            }
        }
    }

    fn net_lists<'a>(&'a self, nets: &[IpNet], mut f: impl FnMut(&'a [u32])) {
        for n in nets {
            for (_, l) in self.nets.overlapping(n) {
                f(l);
            }
        }
    }

    /// Candidate slots for `spec` (may hold duplicates and dead or non-matching slots).
    fn candidates(&self, spec: &PreparedSpec, out: &mut Vec<u32>) {
        if let Some((_, key)) = &spec.name {
            let start = out.len();
            self.names.candidates(key, out);
            // Events held at a venue of that name are candidates too.
            let named: Vec<u32> = out[start..].to_vec();
            for s in named {
                let id = record::id_of(self.rec_bytes(s));
                let mut cur = self.dep_head.get(&hash_str(id)).copied().unwrap_or(NONE);
                while cur != NONE {
                    out.push(cur);
                    cur = self.cols.dep_next[cur as usize];
                }
            }
            return;
        }
        let count = |visit: &ListVisitor| {
            let mut n = 0usize;
            visit(&mut |l: &[u32]| n += l.len());
            n
        };
        // (estimate, source id); sources: 0 area, 1 categories, 2 categories without span + time,
        // 3 networks, 4 asns, 5 domains, 6 sectors.
        let mut best: Option<(usize, u8)> = None;
        let mut consider = |n: usize, src: u8| {
            if !matches!(best, Some((b, _)) if b <= n) {
                best = Some((n, src));
            }
        };
        let cat_ids = (!spec.categories.is_empty()).then(|| self.cat_ids_within(spec.categories));
        if let Some(a) = &spec.area {
            consider(count(&|f| self.area_lists(a, f)), 0);
        }
        if let Some(ids) = &cat_ids {
            let all: usize = ids
                .iter()
                .map(|&c| self.by_cat[c][0].len() + self.by_cat[c][1].len())
                .sum();
            consider(all, 1);
            let unspanned: usize = ids.iter().map(|&c| self.by_cat[c][0].len()).sum();
            let (from, until) = (spec.window.from.timestamp(), spec.window.until.timestamp());
            consider(
                unspanned + count(&|f| self.time.for_each(from, until, f)),
                2,
            );
        }
        if !spec.networks.is_empty() {
            consider(count(&|f| self.net_lists(spec.networks, f)), 3);
        }
        if !spec.asns.is_empty() {
            consider(
                spec.asns
                    .iter()
                    .filter_map(|a| self.by_asn.get(a))
                    .map(Vec::len)
                    .sum(),
                4,
            );
        }
        if !spec.domains.is_empty() {
            consider(count(&|f| self.domain_lists(spec, f)), 5);
        }
        if !spec.sectors.is_empty() {
            consider(
                spec.sectors
                    .iter()
                    .filter_map(|s| self.by_sector.get(s))
                    .map(Vec::len)
                    .sum(),
                6,
            );
        }
        let mut push = |l: &[u32]| out.extend_from_slice(l);
        match best.map(|(_, src)| src) {
            Some(0) => self.area_lists(spec.area.as_ref().expect("area stated"), &mut push),
            Some(1) => {
                for c in cat_ids.expect("categories stated") {
                    push(&self.by_cat[c][0]);
                    push(&self.by_cat[c][1]);
                }
            }
            Some(2) => {
                for c in cat_ids.expect("categories stated") {
                    push(&self.by_cat[c][0]);
                }
                self.time.for_each(
                    spec.window.from.timestamp(),
                    spec.window.until.timestamp(),
                    &mut push,
                );
            }
            Some(3) => self.net_lists(spec.networks, &mut push),
            Some(4) => {
                for l in spec.asns.iter().filter_map(|a| self.by_asn.get(a)) {
                    push(l);
                }
            }
            Some(5) => self.domain_lists(spec, &mut push),
            Some(6) => {
                for l in spec.sectors.iter().filter_map(|s| self.by_sector.get(s)) {
                    push(l);
                }
            }
            _ => match spec.min_size {
                Some(min) => {
                    for (_, l) in self.by_size.range(min..) {
                        push(l);
                    }
                }
                None => out.extend(
                    (0..self.cols.len() as u32)
                        .filter(|&s| self.cols.flags[s as usize] & LIVE != 0),
                ),
            },
        }
    }

    /// Every (entity, target spec) pair of the threat that holds, ranked by score (descending),
    /// then entity id, then target index. Errors (empty spec, unknown place, invalid area) are
    /// checked for all specs before any matching.
    pub fn match_threat(&self, threat: &Threat) -> Result<Vec<Match>, MatchError> {
        let specs = prepare(threat, &self.gazetteer)?;
        let mut matches = Vec::new();
        let mut cands = Vec::new();
        for spec in &specs {
            cands.clear();
            self.candidates(spec, &mut cands);
            cands.sort_unstable();
            cands.dedup();
            let quick = self.quick(spec);
            for &s in &cands {
                if !self.quick_ok(&quick, s) {
                    continue;
                }
                let view = self.view(s, quick.needs_footprint);
                if let Some((score, reasons)) = evaluate(spec, &view, &self.config) {
                    matches.push(Match {
                        threat_id: threat.id.clone(),
                        entity_id: EntityId::new(view.id),
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

    /// Approximate heap bytes held by the registry's own structures (columns, arena, postings;
    /// hash-table overheads estimated), for the benchmark's report.
    pub fn heap_estimate(&self) -> usize {
        let c = &self.cols;
        let cols = c.flags.capacity()
            + c.kind.capacity()
            + 4 * (c.cat.capacity()
                + c.cap.capacity()
                + c.city.capacity()
                + c.rec_len.capacity()
                + c.dep_next.capacity())
            + 8 * (c.lat.capacity()
                + c.lon.capacity()
                + c.from.capacity()
                + c.until.capacity()
                + c.rec.capacity());
        cols + self.arena.capacity() + self.by_id.capacity() * 5
    }
}
