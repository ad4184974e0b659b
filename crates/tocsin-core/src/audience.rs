//! Audiences: who may receive a warning, what they may read, and how to reach them.

use crate::country::CountryCode;
use crate::ids::AudienceId;
use crate::marking::{Classification, TlpLevel};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum AudienceKind {
    /// A foreign liaison partner (an intelligence or security service of another country).
    PartnerService,
    /// An agency of the originator's own government.
    DomesticAgency,
    /// Those responsible for a venue, event, organisation or network.
    Operator,
    /// Everyone: advisories published openly.
    Public,
}

impl AudienceKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            AudienceKind::PartnerService => "partner_service",
            AudienceKind::DomesticAgency => "domestic_agency",
            AudienceKind::Operator => "operator",
            AudienceKind::Public => "public",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ChannelKind {
    /// Writes the warning to a file in a directory (also the audit-friendly "outbox" channel).
    File,
    Webhook,
    Email,
}

impl ChannelKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            ChannelKind::File => "file",
            ChannelKind::Webhook => "webhook",
            ChannelKind::Email => "email",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChannelSpec {
    pub kind: ChannelKind,
    /// A directory for `file`, a URL for `webhook`, an address for `email`.
    pub address: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Audience {
    pub id: AudienceId,
    pub name: String,
    pub kind: AudienceKind,
    /// The audience's country; `None` only for a public audience with no national scope.
    pub country: Option<CountryCode>,
    /// The highest classification this audience is cleared for (`U` for operators and the public).
    pub clearance: Classification,
    /// The most restrictive TLP this audience accepts (the public: CLEAR).
    pub tlp_ceiling: TlpLevel,
    /// Originators whose ORCON material this audience has approval to receive.
    #[serde(default)]
    pub orcon_approved: bool,
    #[serde(default)]
    pub channels: Vec<ChannelSpec>,
    #[serde(default)]
    pub escalation_contact: Option<String>,
    #[serde(default = "default_language")]
    pub language: String,
    /// Hours between posture check-ins while a threat window is open (operators and partners).
    #[serde(default)]
    pub posture_interval_hours: Option<u32>,
    /// The IANA time zone its times are shown in (`Europe/Moscow`); without it, the zone of its
    /// matched site, else the country's when the country keeps one zone, else UTC
    /// (`i18n::audience_zone`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
}

fn default_language() -> String {
    "en".to_owned()
}
