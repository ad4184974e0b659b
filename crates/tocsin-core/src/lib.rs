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
pub mod fold;
pub mod followup;
pub mod i18n;
pub mod ids;
pub mod lifecycle;
pub mod links;
pub mod marking;
pub mod matching;
pub mod posture;
pub mod seeded;
pub mod specificity;
pub mod threat;
pub mod time;
pub mod tracking;

pub use audience::{Audience, AudienceKind, ChannelKind, ChannelSpec};
pub use country::CountryCode;
pub use entity::{Category, Entity, EntityKind, GeoPoint};
pub use ids::{AudienceId, EntityId, ThreatId, WarningId};
pub use marking::{Classification, PortionMark, TlpLevel};
pub use matching::{Match, MatchReason, MatchReview, ReviewDecision};
pub use threat::{Area, Credibility, Harm, Portion, TargetSpec, Threat};
pub use time::{ThreatWindow, Timestamp};

/// Types serialised as one validated string (`try_from = "String"`): their schema is a string.
#[cfg(feature = "openapi")]
mod openapi_strings {
    use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
    use utoipa::openapi::RefOr;

    macro_rules! string_schema {
        ($($t:ty => $desc:literal, $pattern:expr),* $(,)?) => {$(
            impl utoipa::PartialSchema for $t {
                fn schema() -> RefOr<Schema> {
                    ObjectBuilder::new().schema_type(Type::String).description(Some($desc)).pattern($pattern).into()
                }
            }
            impl utoipa::ToSchema for $t {}
        )*};
    }

    string_schema! {
        crate::country::CountryCode => "ISO 3166-1 alpha-3 country code, e.g. `FRA`", Some("^[A-Z]{3}$"),
        crate::entity::Category => "A category path from the taxonomy, e.g. `venue/entertainment/concert_hall`", Some("^[a-z0-9_]+(/[a-z0-9_]+)*$"),
        crate::entity::IpNet => "An IPv4 or IPv6 network in CIDR notation", Some("^[0-9a-fA-F:.]+/[0-9]{1,3}$"),
        crate::entity::DomainName => "A DNS domain name", Some("^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$"),
    }
}
