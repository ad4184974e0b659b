//! The proposal: what the extractor found, item by item, for an analyst to review.
//!
//! Serialised as one JSON object with exactly the keys `targets`, `areas`, `categories`,
//! `actors`, `harms`, `windows`, `indicators`. Every item has `id`, `text` (the words as written),
//! `span` ([start, end) **byte** offsets into the UTF-8 input), `confidence` (0–1), `value` (what
//! it means: an entity name, a place, a category label, an actor, a harm keyword, a window, a
//! refanged indicator), `decision` and kind-specific fields. `mentions` lists every span of the
//! same value; `span` is the strongest one.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use thiserror::Error;
use tocsin_core::{Category, Harm, Timestamp};

use crate::indicators::IndicatorKind;
use crate::when::Basis;

/// The analyst's decision on one item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    #[default]
    Pending,
    Accepted,
    /// Accepted after the analyst changed its value or details.
    Edited,
    Rejected,
}

impl Decision {
    pub fn is_accepted(&self) -> bool {
        matches!(self, Decision::Accepted | Decision::Edited)
    }
}

/// One proposed item, with the details of its kind flattened in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Item<D> {
    pub id: String,
    pub text: String,
    pub span: [usize; 2],
    pub confidence: f64,
    pub value: String,
    #[serde(default)]
    pub decision: Decision,
    /// Every occurrence of this value, in text order.
    #[serde(default)]
    pub mentions: Vec<[usize; 2]>,
    /// How the item was found when not verbatim: "reworded: …", "fuzzy: …".
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    #[serde(flatten)]
    pub detail: D,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TargetDetail {
    /// Registry ids of the entities this name or alias belongs to (empty for a named place the
    /// registry does not know: its notes say `not in registry`).
    pub entities: Vec<String>,
    /// For a place not in the registry: the category its head noun implies ("Hall" → a concert
    /// hall, "Cemetery" → `venue/cemetery`), for the analyst adding it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<Category>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Relation {
    /// "in Moscow": the area is the place.
    In,
    /// "near Moscow": the place and its surroundings.
    Near,
    /// Named without a preposition.
    Mention,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AreaDetail {
    /// The gazetteer's name of the place.
    pub place: String,
    pub relation: Relation,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CategoryDetail {
    pub paths: Vec<Category>,
    /// Minimum capacity or attendance ("large gatherings").
    #[serde(default)]
    pub min_size: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActorDetail {}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HarmDetail {
    pub harm: Harm,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WindowDetail {
    pub from: Timestamp,
    pub until: Timestamp,
    pub basis: Basis,
    /// The date the expression was read relative to.
    pub anchor: NaiveDate,
    /// The explicit date in the text it was anchored on, if any.
    #[serde(default)]
    pub anchor_span: Option<[usize; 2]>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IndicatorDetail {
    pub kind: IndicatorKind,
    pub defanged: bool,
}

/// What the extractor proposes.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Proposal {
    pub targets: Vec<Item<TargetDetail>>,
    pub areas: Vec<Item<AreaDetail>>,
    pub categories: Vec<Item<CategoryDetail>>,
    pub actors: Vec<Item<ActorDetail>>,
    pub harms: Vec<Item<HarmDetail>>,
    pub windows: Vec<Item<WindowDetail>>,
    pub indicators: Vec<Item<IndicatorDetail>>,
}

#[derive(Debug, Error, PartialEq)]
pub enum ReviewError {
    #[error("no item with id {0:?} in the proposal")]
    UnknownId(String),
    #[error("item {0:?} is both accepted and rejected")]
    Conflict(String),
}

/// An item's common fields, whatever its kind.
#[derive(Debug, Clone, Copy)]
pub struct ItemRef<'a> {
    pub id: &'a str,
    pub text: &'a str,
    pub span: [usize; 2],
    pub value: &'a str,
    pub decision: Decision,
}

macro_rules! each_list_mut {
    ($self:expr, $f:ident) => {{
        $f(&mut $self.targets);
        $f(&mut $self.areas);
        $f(&mut $self.categories);
        $f(&mut $self.actors);
        $f(&mut $self.harms);
        $f(&mut $self.windows);
        $f(&mut $self.indicators);
    }};
}

impl Proposal {
    /// Every item, in list order (targets, areas, categories, actors, harms, windows, indicators).
    pub fn items(&self) -> Vec<ItemRef<'_>> {
        fn push<'a, D>(v: &'a [Item<D>], out: &mut Vec<ItemRef<'a>>) {
            out.extend(v.iter().map(|i| ItemRef {
                id: &i.id,
                text: &i.text,
                span: i.span,
                value: &i.value,
                decision: i.decision,
            }));
        }
        let mut out = Vec::new();
        push(&self.targets, &mut out);
        push(&self.areas, &mut out);
        push(&self.categories, &mut out);
        push(&self.actors, &mut out);
        push(&self.harms, &mut out);
        push(&self.windows, &mut out);
        push(&self.indicators, &mut out);
        out
    }

    pub fn len(&self) -> usize {
        self.items().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Ids of the items still pending, in list order.
    pub fn pending(&self) -> Vec<String> {
        self.items()
            .into_iter()
            .filter(|i| i.decision == Decision::Pending)
            .map(|i| i.id.to_owned())
            .collect()
    }

    /// Apply review decisions: `accept_all` turns every pending item into accepted, then the
    /// listed ids are accepted or rejected (overriding what the file said). Unknown ids are an
    /// error, and so is an id in both lists.
    pub fn review(
        &mut self,
        accept: &[String],
        reject: &[String],
        accept_all: bool,
    ) -> Result<(), ReviewError> {
        if let Some(c) = accept.iter().find(|a| reject.contains(a)) {
            return Err(ReviewError::Conflict(c.clone()));
        }
        let known: Vec<String> = self.items().iter().map(|i| i.id.to_owned()).collect();
        if let Some(u) = accept.iter().chain(reject).find(|id| !known.contains(id)) {
            return Err(ReviewError::UnknownId(u.clone()));
        }
        let apply = |v: &mut dyn DecideAll| v.decide_all(accept, reject, accept_all);
        each_list_mut!(self, apply);
        Ok(())
    }
}

trait DecideAll {
    fn decide_all(&mut self, accept: &[String], reject: &[String], accept_all: bool);
}

impl<D> DecideAll for Vec<Item<D>> {
    fn decide_all(&mut self, accept: &[String], reject: &[String], accept_all: bool) {
        for i in self.iter_mut() {
            if accept_all && i.decision == Decision::Pending {
                i.decision = Decision::Accepted;
            }
            if accept.contains(&i.id) && !i.decision.is_accepted() {
                i.decision = Decision::Accepted;
            }
            if reject.contains(&i.id) {
                i.decision = Decision::Rejected;
            }
        }
    }
}
