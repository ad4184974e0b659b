//! Threats: what is known, about whom, until when — each fact carrying its marking.

use crate::country::CountryCode;
use crate::entity::{Category, Footprint, GeoPoint};
use crate::ids::ThreatId;
use crate::marking::{PortionMark, TlpLevel};
use crate::time::{ThreatWindow, Timestamp};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Harm {
    Killing,
    SeriousInjury,
    Kidnapping,
    HostageTaking,
    ArsonBombing,
    DestructiveAttack,
    Ransomware,
    DisruptionOfEssentialServices,
}

impl Harm {
    /// Harms that meet the duty-to-warn threshold of ICD 191 (intentional killing, serious bodily
    /// injury, kidnapping). Network harms are handled by a CERT policy.
    pub fn is_bodily(&self) -> bool {
        matches!(
            self,
            Harm::Killing
                | Harm::SeriousInjury
                | Harm::Kidnapping
                | Harm::HostageTaking
                | Harm::ArsonBombing
        )
    }

    pub fn label(&self) -> &'static str {
        match self {
            Harm::Killing => "killing",
            Harm::SeriousInjury => "serious injury",
            Harm::Kidnapping => "kidnapping",
            Harm::HostageTaking => "hostage-taking",
            Harm::ArsonBombing => "arson or bombing",
            Harm::DestructiveAttack => "destructive attack",
            Harm::Ransomware => "ransomware",
            Harm::DisruptionOfEssentialServices => "disruption of essential services",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Credibility {
    Possible,
    Probable,
    Confirmed,
}

/// Where a threat may strike.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Area {
    /// Point and radius in kilometres.
    Circle { center: GeoPoint, radius_km: f64 },
    /// A simple polygon: one outer ring of points (GeoJSON order is lon,lat; here named fields).
    Polygon { ring: Vec<GeoPoint> },
    /// A named city or region, resolved by the gazetteer.
    Named { name: String },
}

impl Area {
    pub fn describe(&self) -> String {
        match self {
            Area::Circle { center, radius_km } => {
                format!(
                    "within {radius_km} km of {:.4}, {:.4}",
                    center.lat, center.lon
                )
            }
            Area::Polygon { ring } => format!("inside a polygon of {} points", ring.len()),
            Area::Named { name } => name.clone(),
        }
    }
}

/// One description of what may be hit. Every descriptor stated must hold for a match.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TargetSpec {
    /// Human label, e.g. "large gatherings in Moscow, including concerts".
    pub label: String,
    /// The marking of the knowledge that this is a target: a named venue may be secret while
    /// "large gatherings in Moscow" is unclassified.
    pub mark: PortionMark,
    /// Named target (matched against names and aliases).
    #[serde(default)]
    pub name: Option<String>,
    /// Any of these categories (or below them in the taxonomy).
    #[serde(default)]
    pub categories: Vec<Category>,
    /// Minimum capacity or expected attendance ("large gathering").
    #[serde(default)]
    pub min_size: Option<u32>,
    #[serde(default)]
    pub area: Option<Area>,
    /// Overrides the threat's window for this target.
    #[serde(default)]
    pub window: Option<ThreatWindow>,
    /// Networks (contained in or containing an entity's), ASNs, domains (label-suffix, public-
    /// suffix aware) and sector tags the target must have. Serialised flat, omitted when empty.
    #[serde(flatten)]
    pub footprint: Footprint,
}

/// A portion of the report: marked text, possibly a tearline written for release.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Portion {
    pub mark: PortionMark,
    pub text: String,
    /// True for tearline text: the substance without sources or methods, written for release.
    #[serde(default)]
    pub tearline: bool,
    /// A tearline's language (`TEARLINE (U) [ru]: …`, ISO 639-1): the composer prefers it for
    /// audiences of that language. `None`: the report's own language, for everyone else.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lang: Option<String>,
    /// 1-based line in the report file where the portion starts.
    #[serde(default)]
    pub line: usize,
}

/// A threat: what is known, with each piece marked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Threat {
    pub id: ThreatId,
    pub title: String,
    /// Country of the originating service (for REL TO and ORCON decisions).
    pub originator: CountryCode,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub received: Timestamp,
    pub actor: Option<String>,
    /// The marking of the actor's identity.
    pub actor_mark: PortionMark,
    pub harms: Vec<Harm>,
    pub credibility: Credibility,
    pub window: ThreatWindow,
    /// How long the public is told to stay away, in hours ("avoid … over the next 48 hours").
    pub public_advice_hours: i64,
    pub targets: Vec<TargetSpec>,
    pub portions: Vec<Portion>,
    /// Source names, methods, platforms and code words: never in any warning.
    pub restricted_terms: Vec<String>,
    /// TLP of the report itself when shared with non-government audiences (if set).
    #[serde(default)]
    pub tlp: Option<TlpLevel>,
    /// Recommended protective measures (unclassified, for operators and partners).
    #[serde(default)]
    pub measures: Vec<String>,
}
