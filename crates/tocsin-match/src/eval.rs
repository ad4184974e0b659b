//! The semantics: one entity against one prepared target spec. Shared by the indexed registry and
//! the brute-force reference matcher, so they can only differ in which entities they look at.

use crate::fuzzy::{compare_names, NameComparison};
use crate::gazetteer::{Gazetteer, Place, PlaceShape};
use crate::geo::{point_in_ring, ring_centre, BBox};
use crate::normalize::{place_key, NameKey};
use crate::psl::PublicSuffixList;
use crate::{MatchConfig, MatchError};
use std::borrow::Cow;
use std::collections::HashSet;
use tocsin_core::entity::{DomainName, Footprint, IpNet};
use tocsin_core::{
    Area, Category, Entity, EntityKind, GeoPoint, MatchReason, TargetSpec, Threat, ThreatWindow,
};

/// Identity factor of an event matched through the name of the venue it is held at.
pub const HELD_AT_FACTOR: f64 = 0.9;

/// The best-scoring of `names` (index, comparison), each name also read as its parenthesised
/// alternates ([`crate::normalize::name_variants`]).
fn best_name<'n>(
    key: &NameKey,
    names: impl Iterator<Item = &'n str>,
    config: &MatchConfig,
) -> Option<(usize, NameComparison)> {
    let mut best: Option<(usize, NameComparison)> = None;
    for (i, cand) in names.enumerate() {
        for v in crate::normalize::name_variants(cand) {
            if let Some(c) = compare_names(key, &NameKey::new(&v), config.max_edit_ratio) {
                let better = match &best {
                    None => true,
                    Some((_, b)) => b.score() < c.score(),
                };
                if better {
                    best = Some((i, c));
                }
            }
        }
    }
    best
}

/// Identity factor when the spec states no name but states categories.
pub const UNNAMED_CATEGORY_FACTOR: f64 = 0.5;
/// Identity factor when the spec states neither name nor categories (size, area, time only).
pub const UNNAMED_OTHER_FACTOR: f64 = 0.45;
/// Lowest area factor: at the edge of the area, or inside it only by the entity's city.
pub const AREA_EDGE_FACTOR: f64 = 0.8;
/// Lowest network factor: a /0 prefix, or a domain four or more labels away from the target's.
pub const NETWORK_MIN_FACTOR: f64 = 0.8;

/// An area ready for testing.
#[derive(Debug, Clone)]
pub(crate) enum PreparedArea<'g> {
    Circle {
        center: GeoPoint,
        radius_km: f64,
    },
    Polygon {
        ring: Vec<GeoPoint>,
        centre: GeoPoint,
        reach_km: f64,
    },
    Named {
        asked: String,
        place: &'g Place,
        city_keys: HashSet<String>,
    },
}

impl PreparedArea<'_> {
    pub(crate) fn bbox(&self) -> BBox {
        match self {
            PreparedArea::Circle { center, radius_km } => BBox::around_circle(center, *radius_km),
            PreparedArea::Polygon { ring, .. } => BBox::around_ring(ring),
            PreparedArea::Named { place, .. } => place.shape.bbox(),
        }
    }
}

/// A target spec, validated, its name normalised and its area resolved.
#[derive(Debug, Clone)]
pub(crate) struct PreparedSpec<'t, 'g> {
    pub index: usize,
    pub name: Option<(&'t str, NameKey)>,
    pub categories: &'t [Category],
    pub min_size: Option<u32>,
    pub area: Option<PreparedArea<'g>>,
    pub window: ThreatWindow,
    pub window_from_spec: bool,
    pub networks: &'t [IpNet],
    pub asns: &'t [u32],
    /// Each stated domain and whether it is a public suffix (which covers nothing by itself).
    pub domains: Vec<(&'t DomainName, bool)>,
    /// Stated sector tags, trimmed and lower-cased.
    pub sectors: Vec<String>,
}

fn valid_point(p: &GeoPoint) -> bool {
    GeoPoint::new(p.lat, p.lon).is_ok()
}

fn invalid(target_index: usize, reason: impl Into<String>) -> MatchError {
    MatchError::InvalidArea {
        target_index,
        reason: reason.into(),
    }
}

fn prepare_spec<'t, 'g>(
    index: usize,
    spec: &'t TargetSpec,
    threat: &Threat,
    gaz: &'g Gazetteer,
) -> Result<PreparedSpec<'t, 'g>, MatchError> {
    if spec.name.is_none()
        && spec.categories.is_empty()
        && spec.min_size.is_none()
        && spec.area.is_none()
        && spec.window.is_none()
        && spec.footprint.is_empty()
    {
        return Err(MatchError::EmptySpec {
            target_index: index,
        });
    }
    let name = match &spec.name {
        None => None,
        Some(n) => {
            let key = NameKey::new(n);
            if key.is_empty() {
                return Err(MatchError::EmptyName {
                    target_index: index,
                    name: n.clone(),
                });
            }
            Some((n.as_str(), key))
        }
    };
    let area = match &spec.area {
        None => None,
        Some(Area::Circle { center, radius_km }) => {
            if !valid_point(center) {
                return Err(invalid(
                    index,
                    format!(
                        "circle centre {}, {} is out of range",
                        center.lat, center.lon
                    ),
                ));
            }
            if !(radius_km.is_finite() && *radius_km >= 0.0) {
                return Err(invalid(
                    index,
                    format!("circle radius {radius_km} km is not a non-negative number"),
                ));
            }
            Some(PreparedArea::Circle {
                center: *center,
                radius_km: *radius_km,
            })
        }
        Some(Area::Polygon { ring }) => {
            if let Some(p) = ring.iter().find(|p| !valid_point(p)) {
                return Err(invalid(
                    index,
                    format!("polygon vertex {}, {} is out of range", p.lat, p.lon),
                ));
            }
            if crate::geo::open_ring(ring).len() < 3 {
                return Err(invalid(
                    index,
                    format!(
                        "a polygon needs at least 3 distinct vertices, found {}",
                        ring.len()
                    ),
                ));
            }
            let (centre, reach_km) = ring_centre(ring);
            Some(PreparedArea::Polygon {
                ring: ring.clone(),
                centre,
                reach_km,
            })
        }
        Some(Area::Named { name }) => {
            let place = gaz.resolve(name).ok_or_else(|| MatchError::UnknownPlace {
                name: name.clone(),
                target_index: index,
            })?;
            let mut city_keys: HashSet<String> = place.all_names().map(place_key).collect();
            city_keys.insert(place_key(name));
            city_keys.remove("");
            Some(PreparedArea::Named {
                asked: name.clone(),
                place,
                city_keys,
            })
        }
    };
    Ok(PreparedSpec {
        index,
        name,
        categories: &spec.categories,
        min_size: spec.min_size,
        area,
        window: spec.window.unwrap_or(threat.window),
        window_from_spec: spec.window.is_some(),
        networks: &spec.footprint.networks,
        asns: &spec.footprint.asns,
        domains: spec
            .footprint
            .domains
            .iter()
            .map(|d| (d, PublicSuffixList::builtin().is_public_suffix(d)))
            .collect(),
        sectors: spec
            .footprint
            .sectors
            .iter()
            .map(|s| sector_key(s))
            .collect(),
    })
}

/// Validate every spec of the threat (in order; the first error wins) and prepare them.
pub(crate) fn prepare<'t, 'g>(
    threat: &'t Threat,
    gaz: &'g Gazetteer,
) -> Result<Vec<PreparedSpec<'t, 'g>>, MatchError> {
    threat
        .targets
        .iter()
        .enumerate()
        .map(|(i, s)| prepare_spec(i, s, threat, gaz))
        .collect()
}

/// Sector tags compare trimmed and lower-cased.
pub(crate) fn sector_key(s: &str) -> String {
    s.trim().to_lowercase()
}

/// What the matcher knows of one entity, with the venue fallbacks already applied. Built from an
/// [`Entity`] by the reference matcher and from the registry's compact columns by the registry.
pub(crate) struct EntityView<'a> {
    pub id: &'a str,
    pub kind: EntityKind,
    pub name: &'a str,
    pub aliases: Vec<&'a str>,
    pub category: &'a Category,
    pub capacity: Option<u32>,
    pub span: Option<ThreatWindow>,
    /// Own location, else the venue's.
    pub location: Option<GeoPoint>,
    /// The venue id, when the location is the venue's.
    pub location_from: Option<&'a str>,
    /// For an event, its venue's name and aliases (an event held at a named venue is a target of
    /// that name too).
    pub venue_names: Vec<&'a str>,
    /// Own city, else the venue's, and its place key.
    pub city: Option<(&'a str, &'a str)>,
    pub footprint: Cow<'a, Footprint>,
}

impl<'a> EntityView<'a> {
    /// The view of `e`, whose venue (if any) is `venue`; `city_key` is the place key of the
    /// effective city (see [`effective_place`]).
    pub fn of(e: &'a Entity, venue: Option<&'a Entity>, city_key: Option<&'a str>) -> Self {
        let (location, location_from, city) = effective_place(e, venue);
        EntityView {
            id: e.id.as_str(),
            kind: e.kind,
            name: &e.name,
            aliases: e.aliases.iter().map(String::as_str).collect(),
            category: &e.category,
            capacity: e.capacity,
            span: e.span,
            location,
            location_from: location_from.map(|v| v.as_str()),
            venue_names: match venue {
                Some(v) if e.kind == EntityKind::Event => std::iter::once(v.name.as_str())
                    .chain(v.aliases.iter().map(String::as_str))
                    .collect(),
                _ => Vec::new(),
            },
            city: city.zip(city_key).filter(|(_, k)| !k.is_empty()),
            footprint: Cow::Borrowed(&e.footprint),
        }
    }
}

/// The effective location and city of `e`, falling back to its venue (one level).
pub(crate) fn effective_place<'a>(
    e: &'a Entity,
    venue: Option<&'a Entity>,
) -> (
    Option<GeoPoint>,
    Option<&'a tocsin_core::EntityId>,
    Option<&'a str>,
) {
    let (location, from) = match (e.location, venue.and_then(|v| v.location)) {
        (Some(p), _) => (Some(p), None),
        (None, Some(p)) => (Some(p), e.venue.as_ref()),
        (None, None) => (None, None),
    };
    let city = e
        .city
        .as_deref()
        .or_else(|| venue.and_then(|v| v.city.as_deref()));
    (location, from, city)
}

fn reason(descriptor: &str, detail: String) -> MatchReason {
    MatchReason {
        descriptor: descriptor.to_owned(),
        detail,
    }
}

/// `2024-03-22 17:00` — written by hand: chrono's `format` parses its pattern on every call, and
/// this runs once or twice per match.
fn fmt_minute(out: &mut String, t: &tocsin_core::Timestamp) {
    use chrono::{Datelike, Timelike};
    use std::fmt::Write;
    let _ = write!(
        out,
        "{:04}-{:02}-{:02} {:02}:{:02}",
        t.year(),
        t.month(),
        t.day(),
        t.hour(),
        t.minute()
    );
}

fn fmt_window(w: &ThreatWindow) -> String {
    let mut s = String::with_capacity(40);
    fmt_minute(&mut s, &w.from);
    s.push_str(" – ");
    fmt_minute(&mut s, &w.until);
    s.push_str(" UTC");
    s
}

fn proximity(d_km: f64, reach_km: f64) -> f64 {
    if reach_km > 0.0 {
        1.0 - (1.0 - AREA_EDGE_FACTOR) * (d_km / reach_km).clamp(0.0, 1.0)
    } else {
        1.0
    }
}

fn via_venue(view: &EntityView) -> String {
    match view.location_from {
        Some(v) => format!(" (location of venue {v})"),
        None => String::new(),
    }
}

/// A distance for people: one decimal, none when it is whole (`40`, `15.1`, not
/// `15.063442782757551`).
fn km(x: f64) -> String {
    let r = (x * 10.0).round() / 10.0;
    if r.fract() == 0.0 {
        format!("{r:.0}")
    } else {
        format!("{r:.1}")
    }
}

/// Geometric test of a point against a shape: `Some((factor, detail))` when inside.
fn in_shape(p: &GeoPoint, shape: &PlaceShape) -> Option<(f64, String)> {
    match shape {
        PlaceShape::Circle { center, radius_km } => {
            let d = p.distance_km(center);
            (d <= *radius_km).then(|| {
                (
                    proximity(d, *radius_km),
                    format!(
                        "{d:.1} km from its centre (centroid + radius {} km)",
                        km(*radius_km)
                    ),
                )
            })
        }
        PlaceShape::Polygon { ring } => {
            if !point_in_ring(p, ring) {
                return None;
            }
            let (c, reach) = ring_centre(ring);
            let d = p.distance_km(&c);
            Some((
                proximity(d, reach),
                format!("inside its polygon, {d:.1} km from its centre"),
            ))
        }
    }
}

fn check_area(area: &PreparedArea, view: &EntityView) -> Option<(f64, String)> {
    match area {
        PreparedArea::Circle { center, radius_km } => {
            let p = view.location?;
            let d = p.distance_km(center);
            (d <= *radius_km).then(|| {
                (
                    proximity(d, *radius_km),
                    format!(
                        "{d:.1} km from {:.4}, {:.4} (radius {} km){}",
                        center.lat,
                        center.lon,
                        km(*radius_km),
                        via_venue(view)
                    ),
                )
            })
        }
        PreparedArea::Polygon {
            ring,
            centre,
            reach_km,
        } => {
            let p = view.location?;
            if !point_in_ring(&p, ring) {
                return None;
            }
            let d = p.distance_km(centre);
            Some((
                proximity(d, *reach_km),
                format!(
                    "inside the polygon, {d:.1} km from its centre{}",
                    via_venue(view)
                ),
            ))
        }
        PreparedArea::Named {
            asked,
            place,
            city_keys,
        } => {
            let what = if place.name == *asked {
                place.name.clone()
            } else {
                format!("{asked} ({})", place.name)
            };
            if let Some(p) = view.location {
                if let Some((f, detail)) = in_shape(&p, &place.shape) {
                    return Some((f, format!("in {what}: {detail}{}", via_venue(view))));
                }
            }
            let (city, key) = view.city?;
            city_keys
                .contains(key)
                .then(|| (AREA_EDGE_FACTOR, format!("city \"{city}\" is {what}")))
        }
    }
}

/// The best overlapping (target network, entity network) pair: its factor and reason.
fn best_network(targets: &[IpNet], owned: &[IpNet]) -> Option<(f64, String)> {
    let mut best: Option<(f64, &IpNet, &IpNet)> = None;
    for t in targets {
        for e in owned {
            if !t.overlaps(e) {
                continue;
            }
            // Longest prefix first: the more specific the entity's network, the surer the owner.
            let f = NETWORK_MIN_FACTOR
                + (1.0 - NETWORK_MIN_FACTOR) * f64::from(e.prefix_len()) / f64::from(e.width());
            if !matches!(best, Some((b, _, _)) if b >= f) {
                best = Some((f, t, e));
            }
        }
    }
    let (f, t, e) = best?;
    let what = |n: &IpNet| {
        if n.is_host() {
            format!("address {n}")
        } else {
            format!("network {n}")
        }
    };
    let detail = if t == e {
        format!("{} is the targeted one", what(e))
    } else if t.contains(e) {
        format!("{} lies within the targeted {t}", what(e))
    } else {
        format!("the targeted {} lies within {e}", what(t))
    };
    Some((f, detail))
}

/// The best (target domain, entity domain) pair where one is the other or a subdomain of it and
/// the shorter one is not a public suffix: its factor and reason.
fn best_domain(targets: &[(&DomainName, bool)], owned: &[DomainName]) -> Option<(f64, String)> {
    let psl = PublicSuffixList::builtin();
    let mut best: Option<(f64, &DomainName, &DomainName)> = None;
    for &(t, t_public) in targets {
        for e in owned {
            let ok = if e.is_within(t) {
                !t_public
            } else if t.is_within(e) {
                !psl.is_public_suffix(e)
            } else {
                false
            };
            if !ok {
                continue;
            }
            let apart = t.label_count().abs_diff(e.label_count()).min(4) as f64;
            let f = 1.0 - (1.0 - NETWORK_MIN_FACTOR) * apart / 4.0;
            if !matches!(best, Some((b, _, _)) if b >= f) {
                best = Some((f, t, e));
            }
        }
    }
    let (f, t, e) = best?;
    let detail = if t == e {
        format!("domain {e} is the targeted one")
    } else if e.is_within(t) {
        format!("domain {e} lies within the targeted {t}")
    } else {
        format!("the targeted domain {t} lies within {e}")
    };
    Some((f, detail))
}

/// Does `view` satisfy every descriptor of `spec`? If so, its score and one reason per descriptor
/// (name, category, size, area, network, asn, domain, sector, time — in that order).
///
/// A named spec matches an event held at a venue of that name (reason `held at "…"`) when the
/// event's own names do not match; its time check keeps it to events inside the window.
pub(crate) fn evaluate(
    spec: &PreparedSpec,
    view: &EntityView,
    config: &MatchConfig,
) -> Option<(f64, Vec<MatchReason>)> {
    let mut reasons = Vec::with_capacity(5);

    let identity = if let Some((asked, key)) = &spec.name {
        let own = std::iter::once(view.name).chain(view.aliases.iter().copied());
        let (held_at, (i, c)) = match best_name(key, own, config) {
            Some(b) => (false, b),
            None => {
                let venue = view.venue_names.iter().copied();
                (true, best_name(key, venue, config)?)
            }
        };
        let names: &[&str] = if held_at { &view.venue_names } else { &[] };
        let (label, matched) = match (held_at, i) {
            (true, 0) => (String::new(), names[0]),
            (true, _) => ("alias ".to_owned(), names[i]),
            (false, 0) => (String::new(), view.name),
            (false, _) => ("alias ".to_owned(), view.aliases[i - 1]),
        };
        let op = if c.exact { "=" } else { "~" };
        let detail = format!(
            "name \"{asked}\" {op} {label}\"{matched}\" ({})",
            c.describe()
        );
        reasons.push(reason(
            "name",
            if held_at {
                format!("held at \"{}\": {detail}", view.venue_names[0])
            } else {
                detail
            },
        ));
        // An event at the named venue is a target through the venue: a little less sure.
        c.score() * if held_at { HELD_AT_FACTOR } else { 1.0 }
    } else if !spec.categories.is_empty() {
        UNNAMED_CATEGORY_FACTOR
    } else {
        UNNAMED_OTHER_FACTOR
    };

    if !spec.categories.is_empty() {
        let c = spec
            .categories
            .iter()
            .find(|c| view.category.is_within(c))?;
        let detail = if view.category == c {
            format!("category {c}")
        } else {
            format!("category {} is within {c}", view.category)
        };
        reasons.push(reason("category", detail));
    }

    if let Some(min) = spec.min_size {
        let cap = view.capacity?;
        if cap < min {
            return None;
        }
        let what = if view.kind == EntityKind::Event {
            "expected attendance"
        } else {
            "capacity"
        };
        reasons.push(reason("size", format!("{what} {cap} >= {min}")));
    }

    let area_factor = match &spec.area {
        None => 1.0,
        Some(a) => {
            let (f, detail) = check_area(a, view)?;
            reasons.push(reason("area", detail));
            f
        }
    };

    let mut net_factor: f64 = 1.0;
    let fp = &view.footprint;
    if !spec.networks.is_empty() {
        let (f, detail) = best_network(spec.networks, &fp.networks)?;
        reasons.push(reason("network", detail));
        net_factor = net_factor.min(f);
    }
    if !spec.asns.is_empty() {
        let a = fp.asns.iter().find(|a| spec.asns.contains(a))?;
        reasons.push(reason("asn", format!("AS{a} is a targeted AS")));
    }
    if !spec.domains.is_empty() {
        let (f, detail) = best_domain(&spec.domains, &fp.domains)?;
        reasons.push(reason("domain", detail));
        net_factor = net_factor.min(f);
    }
    if !spec.sectors.is_empty() {
        let s = fp
            .sectors
            .iter()
            .find(|s| spec.sectors.contains(&sector_key(s)))?;
        reasons.push(reason("sector", format!("sector {}", s.trim())));
    }

    let whose = if spec.window_from_spec {
        "target window"
    } else {
        "threat window"
    };
    let detail = match &view.span {
        Some(span) => {
            if !span.intersects(&spec.window) {
                return None;
            }
            format!(
                "span {} intersects the {whose} {}",
                fmt_window(span),
                fmt_window(&spec.window)
            )
        }
        None => format!(
            "always present (no time span) during the {whose} {}",
            fmt_window(&spec.window)
        ),
    };
    reasons.push(reason("time", detail));

    Some((identity * area_factor.min(net_factor), reasons))
}

#[cfg(test)]
mod tests {
    use super::km;

    #[test]
    fn radii_read_as_people_write_them() {
        assert_eq!(km(40.0), "40");
        assert_eq!(km(15.063442782757551), "15.1");
        assert_eq!(km(0.04), "0");
    }
}
