//! The brute-force reference matcher: a plain loop over every entity and every target spec, with
//! the same semantics as [`crate::Registry::match_threat`] and no index. Used to check the indexes
//! (property tests, `bench --verify`) and fine for small registries.

use crate::eval::{effective_place, evaluate, prepare, EntityView};
use crate::gazetteer::Gazetteer;
use crate::normalize::place_key;
use crate::{sort_matches, MatchConfig, MatchError};
use std::collections::HashMap;
use tocsin_core::{Entity, EntityId, Match, Threat};

/// Match `threat` against `entities` by checking every pair. Entity ids are expected to be unique;
/// a venue reference resolves to the last entity with that id (as if upserted in order).
pub fn reference_match(
    entities: &[Entity],
    threat: &Threat,
    config: &MatchConfig,
    gaz: &Gazetteer,
) -> Result<Vec<Match>, MatchError> {
    let specs = prepare(threat, gaz)?;
    let by_id: HashMap<&EntityId, &Entity> = entities.iter().map(|e| (&e.id, e)).collect();
    let mut matches = Vec::new();
    for e in entities {
        let venue = e.venue.as_ref().and_then(|v| by_id.get(v).copied());
        let city_key = effective_place(e, venue).2.map(place_key);
        let view = EntityView::of(e, venue, city_key.as_deref());
        for spec in &specs {
            if let Some((score, reasons)) = evaluate(spec, &view, config) {
                matches.push(Match {
                    threat_id: threat.id.clone(),
                    entity_id: e.id.clone(),
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
