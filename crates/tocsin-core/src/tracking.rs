//! Records of what was sent and what came back: warnings, deliveries, acknowledgements, posture
//! reports, outcomes, and the human timeline.

use crate::audience::{AudienceKind, ChannelSpec};
use crate::ids::{AudienceId, ThreatId, WarningId};
use crate::lifecycle::WarningState;
use crate::marking::TlpLevel;
use crate::time::{ThreatWindow, Timestamp};
use serde::{Deserialize, Serialize};

/// How precisely a warning lets the recipient act, best first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Specificity {
    AreaOnly,
    CategoryAndArea,
    NamedTarget,
}

impl Specificity {
    pub fn as_str(&self) -> &'static str {
        match self {
            Specificity::AreaOnly => "area_only",
            Specificity::CategoryAndArea => "category_and_area",
            Specificity::NamedTarget => "named_target",
        }
    }
}

/// One composed warning for one (threat, audience); updates and cancels are new versions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Warning {
    pub id: WarningId,
    pub threat_id: ThreatId,
    pub audience_id: AudienceId,
    pub audience_kind: AudienceKind,
    pub version: u32,
    #[serde(default)]
    pub supersedes: Option<WarningId>,
    pub tlp: TlpLevel,
    /// The banner marking of the released text, e.g. `SECRET//REL TO USA, RUS` or `UNCLASSIFIED`.
    pub banner: String,
    pub specificity: Specificity,
    pub headline: String,
    pub text: String,
    pub measures: Vec<String>,
    /// When the warning's advice applies (the public: 48 hours; others: the threat window).
    pub valid: ThreatWindow,
    pub state: WarningState,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub created_at: Timestamp,
    /// The language `headline` and `text` are written in: the code of the message catalogue the
    /// composer used for the audience (`ru`; `en` for an audience whose language has none).
    /// Absent from records written before languages were recorded, which were English.
    #[serde(default = "english", skip_serializing_if = "is_english")]
    pub language: String,
    /// The same warning in other languages, each passed the leak gate with the rest: English
    /// beside the text of an audience with another language, for CAP's one `<info>` per
    /// language. Editing a draft's text drops them (they would no longer say the same).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub translations: Vec<Translation>,
}

/// One more language version of a warning: its headline and text as that language's catalogue
/// writes them (report text and measures stay as the report wrote them).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Translation {
    /// A catalogue code (`en`), an RFC 3066 primary tag.
    pub language: String,
    pub headline: String,
    pub text: String,
}

/// The language of records that name none.
pub fn english() -> String {
    "en".to_owned()
}

/// Whether a language is the default one (and so not written out).
pub fn is_english(lang: &String) -> bool {
    lang == "en"
}

/// A new warning that came out of the leak gate: the only thing `Store::insert_warning` accepts.
/// The field is private and there is no `Deserialize`; it is made only from the gate's proof
/// ([`GatedWarning::from_composed`]) or by running the gate on a whole warning
/// ([`GatedWarning::gate`]). A stored warning read back is a plain [`Warning`]; writing it again
/// as new means gating it again.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(transparent)]
pub struct GatedWarning(pub(crate) Warning);

impl GatedWarning {
    pub fn warning(&self) -> &Warning {
        &self.0
    }
    pub fn into_warning(self) -> Warning {
        self.0
    }
}

impl PartialEq<GatedWarning> for Warning {
    fn eq(&self, other: &GatedWarning) -> bool {
        *self == other.0
    }
}

impl std::ops::Deref for GatedWarning {
    type Target = Warning;
    fn deref(&self) -> &Warning {
        &self.0
    }
}

/// Audiences of feed notifications (a CERT's scan and sinkhole reports to its constituency) are
/// `feed-org:<org_id>`. Such notifications are their own kind: delivered, retried and audited like
/// any warning, but they ask for no posture, so they are never posture-tracked, reminded or
/// escalated, and the effectiveness report counts them apart.
pub const FEED_AUDIENCE_PREFIX: &str = "feed-org:";

/// An attachment carried at the end of a warning's text: a line
/// `-----BEGIN ATTACHMENT <content type> <file name>-----`, the content, and
/// `-----END ATTACHMENT-----`. The e-mail channel sends it as a MIME attachment; other channels
/// pass the text on as it is.
pub const ATTACHMENT_BEGIN: &str = "-----BEGIN ATTACHMENT ";
pub const ATTACHMENT_END: &str = "-----END ATTACHMENT-----";

/// One attachment split from a warning's text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    pub content_type: String,
    pub file_name: String,
    pub content: String,
}

impl Warning {
    /// Whether this is a feed notification ([`FEED_AUDIENCE_PREFIX`]).
    pub fn is_feed_notification(&self) -> bool {
        self.audience_id.as_str().starts_with(FEED_AUDIENCE_PREFIX)
    }
}

/// Split the attachment blocks from a text: the text without them, and the attachments. A block
/// whose header is not `<type>/<subtype> <file name>` or that is never closed stays in the text.
pub fn split_attachments(text: &str) -> (String, Vec<Attachment>) {
    let mut rest = text;
    let mut out = String::with_capacity(text.len());
    let mut atts = Vec::new();
    while let Some(i) = rest.find(ATTACHMENT_BEGIN) {
        let after = &rest[i + ATTACHMENT_BEGIN.len()..];
        let parsed = after.split_once('\n').and_then(|(head, body)| {
            let head = head.trim_end_matches('\r').strip_suffix("-----")?;
            let (ct, name) = head.split_once(' ')?;
            let name = name.trim();
            let ok_name = !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "._-+".contains(c));
            if !ct.contains('/') || !ok_name {
                return None;
            }
            let end = body.find(ATTACHMENT_END)?;
            Some((ct, name, &body[..end], &body[end + ATTACHMENT_END.len()..]))
        });
        match parsed {
            Some((ct, name, content, tail)) => {
                out.push_str(&rest[..i]);
                atts.push(Attachment {
                    content_type: ct.to_owned(),
                    file_name: name.to_owned(),
                    content: content.to_owned(),
                });
                rest = tail
                    .strip_prefix("\r\n")
                    .or_else(|| tail.strip_prefix('\n'))
                    .unwrap_or(tail);
            }
            None => {
                out.push_str(&rest[..i + ATTACHMENT_BEGIN.len()]);
                rest = after;
            }
        }
    }
    out.push_str(rest);
    (out, atts)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    Pending,
    Delivered,
    /// Failed this attempt; will be retried at `next_attempt_at`.
    Retrying,
    /// Gave up after the configured number of attempts; analysts must act.
    Dead,
}

impl DeliveryStatus {
    pub fn as_str(&self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::Delivered => "delivered",
            DeliveryStatus::Retrying => "retrying",
            DeliveryStatus::Dead => "dead",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "pending" => DeliveryStatus::Pending,
            "delivered" => DeliveryStatus::Delivered,
            "retrying" => DeliveryStatus::Retrying,
            "dead" => DeliveryStatus::Dead,
            _ => return None,
        })
    }
}

/// A follow-up message about a warning the recipient already holds: its posture check-in, or its
/// withdrawal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Notice {
    pub kind: NoticeKind,
    pub headline: String,
    pub text: String,
    /// The fresh one-time posture link a reminder or escalation carries (also in `text`), for
    /// channels that give links as fields (the webhook's `data.posture_url`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub posture_url: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum NoticeKind {
    /// The first missed posture check-in.
    Reminder,
    /// The second: sent again, while the escalation contact and the analysts are alerted.
    Escalation,
    /// The warning was withdrawn (CAP `msgType` Cancel): its advice no longer applies.
    Cancel,
}

impl NoticeKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            NoticeKind::Reminder => "reminder",
            NoticeKind::Escalation => "escalation",
            NoticeKind::Cancel => "cancel",
        }
    }
}

/// One (warning, recipient, channel) send, written in the same transaction as the warning.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Delivery {
    pub id: i64,
    pub warning_id: WarningId,
    pub audience_id: AudienceId,
    pub channel: ChannelSpec,
    /// Stable per (warning, audience, channel): receivers drop duplicates by it.
    pub idempotency_key: String,
    pub status: DeliveryStatus,
    pub attempts: u32,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub next_attempt_at: Timestamp,
    #[serde(default)]
    pub last_error: Option<String>,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub delivered_at: Option<Timestamp>,
    /// `None` for the warning itself; `Some` for a reminder or escalation about it, which channels
    /// send in place of the warning's headline and text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notice: Option<Notice>,
}

impl Delivery {
    /// The warning as this delivery presents it: the notice's headline and text when it is one.
    /// A cancel notice carries no measures: asking for them again would contradict the withdrawal.
    pub fn render(&self, w: &Warning) -> Warning {
        let mut w = w.clone();
        if let Some(n) = &self.notice {
            w.headline = n.headline.clone();
            w.text = n.text.clone();
            // The other language versions are the warning's, not this notice's.
            w.translations.clear();
            if n.kind == NoticeKind::Cancel {
                w.measures.clear();
            }
        }
        w
    }

    /// Whether this delivery withdraws its warning (a cancel notice).
    pub fn is_cancel(&self) -> bool {
        self.notice
            .as_ref()
            .is_some_and(|n| n.kind == NoticeKind::Cancel)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Acknowledgement {
    pub warning_id: WarningId,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub at: Timestamp,
    pub by: String,
}

/// Protective measures a recipient reports (structured, plus free text in the report).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Measure {
    ExtraScreening,
    DetectionDogs,
    StaffBriefed,
    EvacuationRoutes,
    ArmedGuards,
    AccessControl,
    PoliceLiaison,
    EventCancelled,
    Other(String),
}

impl Measure {
    pub fn label(&self) -> String {
        match self {
            Measure::ExtraScreening => "extra screening".into(),
            Measure::DetectionDogs => "detection dogs".into(),
            Measure::StaffBriefed => "staff briefed".into(),
            Measure::EvacuationRoutes => "evacuation routes".into(),
            Measure::ArmedGuards => "armed guards".into(),
            Measure::AccessControl => "access control".into(),
            Measure::PoliceLiaison => "police liaison".into(),
            Measure::EventCancelled => "event cancelled".into(),
            Measure::Other(s) => s.clone(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PostureReport {
    pub warning_id: WarningId,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub at: Timestamp,
    pub by: String,
    pub measures: Vec<Measure>,
    #[serde(default)]
    pub note: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum OutcomeKind {
    Disrupted,
    AttackOccurred,
    NoIncident,
    Unknown,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Outcome {
    pub threat_id: ThreatId,
    pub kind: OutcomeKind,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub at: Timestamp,
    #[serde(default)]
    pub references: Vec<String>,
    #[serde(default)]
    pub note: String,
}

/// A line of the human-readable timeline of a case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TimelineEntry {
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub at: Timestamp,
    /// A stable, machine-readable event name: `report_received`, `warning_delivered`, `posture_lapsed`…
    pub event: String,
    pub detail: String,
    pub threat_id: ThreatId,
}

#[cfg(test)]
mod attachment_tests {
    use super::*;

    #[test]
    fn attachments_are_split_from_the_text() {
        let text = "Hello.\n-----BEGIN ATTACHMENT text/csv 2026-12-03-scan_rdp.csv-----\na,b\r\n1,\"x\"\"y\"\r\n-----END ATTACHMENT-----\nBye.\n";
        let (body, atts) = split_attachments(text);
        assert_eq!(body, "Hello.\nBye.\n");
        assert_eq!(
            atts,
            [Attachment {
                content_type: "text/csv".into(),
                file_name: "2026-12-03-scan_rdp.csv".into(),
                content: "a,b\r\n1,\"x\"\"y\"\r\n".into(),
            }]
        );
        let unclosed = "x\n-----BEGIN ATTACHMENT text/csv a.csv-----\nrow\n";
        assert_eq!(split_attachments(unclosed), (unclosed.to_owned(), vec![]));
        let bad_name =
            "-----BEGIN ATTACHMENT text/csv a b.csv-----\nrow\n-----END ATTACHMENT-----\n";
        assert!(split_attachments(bad_name).1.is_empty());
    }
}
