//! Tocsin's domain core: the vocabulary of the duty-to-warn chain and its pure rules.
//!
//! Architecture invariant: nothing in this crate performs I/O or reads the system clock. Time is
//! always passed in (`now: Timestamp`), so the whole March 2024 case replays in milliseconds.

pub mod audience;
pub mod audit;
pub mod compose;
pub mod country;
pub mod duty;
pub mod effectiveness;
pub mod entity;
pub mod followup;
pub mod ids;
pub mod lifecycle;
pub mod links;
pub mod marking;
pub mod matching;
pub mod posture;
pub mod seeded;
pub mod threat;
pub mod time;
pub mod tracking;

pub use audience::{Audience, AudienceKind, ChannelKind, ChannelSpec};
pub use country::CountryCode;
pub use entity::{Category, Entity, EntityKind, GeoPoint};
pub use ids::{AudienceId, EntityId, ThreatId, WarningId};
pub use marking::{Classification, PortionMark, TlpLevel};
pub use matching::{Match, MatchReason};
pub use threat::{Area, Credibility, Harm, Portion, TargetSpec, Threat};
pub use time::{ThreatWindow, Timestamp};
