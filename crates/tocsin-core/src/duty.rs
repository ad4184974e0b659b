//! The duty to warn (docs/domain.md, "When a warning is owed", modelled on ICD 191): is a warning owed? Policy is data: the
//! threshold and the allowed waiver justifications come from a policy file an organisation adapts.

use crate::audience::AudienceKind;
use crate::ids::ThreatId;
use crate::threat::{Credibility, Threat};
use crate::time::Timestamp;
use chrono::Duration;
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// An allowed reason not to warn. The built-in set is ICD 191's; a policy may replace it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct WaiverJustification {
    /// Stable code, e.g. `already_aware`, `unduly_endanger_sources`.
    pub code: String,
    pub description: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct DutyPolicy {
    pub name: String,
    /// Lowest credibility that meets the threshold.
    pub min_credibility: Credibility,
    /// Whether network harms (ransomware, disruption…) count, as in a CERT's policy.
    #[serde(default)]
    pub network_harms_count: bool,
    /// "Without delay": hours from determination to delivery before the case escalates.
    pub delivery_sla_hours: i64,
    /// Hours the public advisory is held after the partners' warnings were delivered, so partners
    /// hear first and can act before a public announcement.
    pub public_hold_hours: i64,
    /// Default posture check-in interval for operators and partners.
    pub posture_interval_hours: i64,
    pub waivers: Vec<WaiverJustification>,
    /// Per audience kind: whether releasing a warning needs a second person — the approver may
    /// not be whoever composed or edited the draft (the determination's two-person rule, applied
    /// to releases). Default: partner services and the public.
    #[serde(default)]
    pub release_requires_second_person: SecondPerson,
}

/// [`DutyPolicy::release_requires_second_person`]: one flag per audience kind. In a policy file
/// a kind left out is `false`; without the table the default holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SecondPerson {
    #[serde(default)]
    pub partner_service: bool,
    #[serde(default)]
    pub domestic_agency: bool,
    #[serde(default)]
    pub operator: bool,
    #[serde(default)]
    pub public: bool,
}

impl Default for SecondPerson {
    fn default() -> Self {
        Self {
            partner_service: true,
            domestic_agency: false,
            operator: false,
            public: true,
        }
    }
}

impl SecondPerson {
    pub fn requires(&self, kind: AudienceKind) -> bool {
        match kind {
            AudienceKind::PartnerService => self.partner_service,
            AudienceKind::DomesticAgency => self.domestic_agency,
            AudienceKind::Operator => self.operator,
            AudienceKind::Public => self.public,
        }
    }
}

/// Check that `approver` may release a warning to an audience of `kind` whose draft `authors`
/// composed or edited: under the policy's two-person rule for that kind, none of them.
pub fn check_release(
    policy: &DutyPolicy,
    kind: AudienceKind,
    authors: &[String],
    approver: &str,
) -> Result<(), DutyError> {
    if policy.release_requires_second_person.requires(kind) && authors.iter().any(|a| a == approver)
    {
        return Err(DutyError::SelfRelease {
            who: approver.into(),
            kind: kind.as_str().into(),
        });
    }
    Ok(())
}

impl DutyPolicy {
    /// The policy modelled on ICD 191 (the default when no policy file is given).
    pub fn icd191() -> Self {
        let w = |code: &str, d: &str| WaiverJustification {
            code: code.into(),
            description: d.into(),
        };
        Self {
            name: "ICD 191 duty to warn".into(),
            min_credibility: Credibility::Probable,
            network_harms_count: false,
            delivery_sla_hours: 24,
            public_hold_hours: 24,
            posture_interval_hours: 24,
            waivers: vec![
                w("already_aware", "The intended victim, or those responsible for protecting them, already knows of the specific threat."),
                w("own_armed_conflict", "The victim is at risk only through their own part in an insurgency, insurrection or armed conflict."),
                w("victim_is_violent_actor", "There is a reasonable basis to believe the victim is a terrorist, a direct supporter of terrorists, an assassin, a drug trafficker, or involved in violent crime."),
                w("unduly_endanger_sources", "Any attempt to warn would unduly endanger personnel, sources, methods, intelligence operations or defence operations."),
                w("no_reasonable_way", "There is no reasonable way to warn the victim."),
                w("liaison_partner_endangered", "The information came from a foreign liaison partner and warning would unduly endanger that partner's personnel, sources, methods or operations."),
            ],
            release_requires_second_person: SecondPerson::default(),
        }
    }

    pub fn waiver(&self, code: &str) -> Option<&WaiverJustification> {
        self.waivers.iter().find(|w| w.code == code)
    }
}

/// One threshold criterion, evaluated with its reason.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Criterion {
    pub name: String,
    pub held: bool,
    pub why: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "decision", rename_all = "snake_case")]
pub enum Decision {
    Warn,
    Waive {
        justification: String,
        rationale: String,
    },
    NotApplicable,
}

impl Decision {
    pub fn label(&self) -> &'static str {
        match self {
            Decision::Warn => "warn",
            Decision::Waive { .. } => "waive",
            Decision::NotApplicable => "not_applicable",
        }
    }
}

/// A recorded determination. New information produces a new determination; old ones are kept.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Determination {
    pub threat_id: ThreatId,
    /// Flattened: `"decision": "waive"` sits beside `"justification"` and `"rationale"`.
    #[serde(flatten)]
    pub decision: Decision,
    pub criteria: Vec<Criterion>,
    /// Concerns weighed without changing the decision, e.g. how sources and methods are protected.
    pub considerations: Vec<String>,
    pub proposer: String,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub proposed_at: Timestamp,
    #[serde(default)]
    pub approver: Option<String>,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub approved_at: Option<Timestamp>,
    /// Warnings must be delivered by then ("without delay").
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub deadline: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DutyError {
    #[error("waiver justification {0:?} is not in the policy (allowed: {1})")]
    UnknownWaiver(String, String),
    #[error("a waiver needs a written rationale")]
    EmptyRationale,
    #[error("{who} proposed this determination and cannot also approve it (two-person rule)")]
    SelfApproval { who: String },
    #[error("{who} composed or edited this draft and cannot also release it to a {kind} audience (two-person rule, policy release_requires_second_person)")]
    SelfRelease { who: String, kind: String },
    #[error("the determination is already approved by {0}")]
    AlreadyApproved(String),
    #[error("the threshold is not met, so a warning cannot be owed: {0}")]
    ThresholdNotMet(String),
}

/// Evaluate the threshold: credible and specific information of an impending threat of
/// intentional killing, serious bodily injury or kidnapping directed at a person or group.
pub fn evaluate(
    threat: &Threat,
    matched_entities: usize,
    policy: &DutyPolicy,
    now: Timestamp,
) -> Vec<Criterion> {
    let harms: Vec<&str> = threat.harms.iter().map(|h| h.label()).collect();
    let qualifying = threat
        .harms
        .iter()
        .any(|h| h.is_bodily() || policy.network_harms_count);
    let specific = threat.targets.iter().any(crate::specificity::is_specific);
    vec![
        Criterion {
            name: "intentional_harm".into(),
            held: qualifying,
            why: if harms.is_empty() {
                "no harm stated".into()
            } else {
                format!("harms: {}", harms.join(", "))
            },
        },
        Criterion {
            name: "credible".into(),
            held: threat.credibility >= policy.min_credibility,
            why: format!(
                "credibility {:?}, policy minimum {:?}",
                threat.credibility, policy.min_credibility
            ),
        },
        Criterion {
            name: "specific".into(),
            held: specific,
            why: format!(
                "{} target spec(s); {}",
                threat.targets.len(),
                if specific {
                    "at least one names a target (a name, network, ASN or domain) or a category or sector in an area"
                } else {
                    "none names a target (a name, network, ASN or domain) or a category or sector in an area"
                }
            ),
        },
        Criterion {
            name: "impending".into(),
            held: threat.window.until > now,
            why: format!(
                "threat window {} to {}",
                threat.window.from.to_rfc3339(),
                threat.window.until.to_rfc3339()
            ),
        },
        Criterion {
            name: "identifiable_victims".into(),
            held: matched_entities > 0,
            why: format!("{matched_entities} registry entities match the target specs"),
        },
    ]
}

/// Propose a determination: warn when every criterion holds, otherwise not applicable.
pub fn propose(
    threat: &Threat,
    criteria: Vec<Criterion>,
    considerations: Vec<String>,
    proposer: &str,
    policy: &DutyPolicy,
    now: Timestamp,
) -> Determination {
    let decision = if criteria.iter().all(|c| c.held) {
        Decision::Warn
    } else {
        Decision::NotApplicable
    };
    Determination {
        threat_id: threat.id.clone(),
        decision,
        criteria,
        considerations,
        proposer: proposer.into(),
        proposed_at: now,
        approver: None,
        approved_at: None,
        deadline: now + Duration::hours(policy.delivery_sla_hours),
    }
}

/// Turn a proposal into a waiver. Only policy justifications, with a rationale, and only when the
/// threshold was met (otherwise there is no duty to waive).
pub fn waive(
    mut d: Determination,
    code: &str,
    rationale: &str,
    policy: &DutyPolicy,
) -> Result<Determination, DutyError> {
    if policy.waiver(code).is_none() {
        let allowed: Vec<&str> = policy.waivers.iter().map(|w| w.code.as_str()).collect();
        return Err(DutyError::UnknownWaiver(code.into(), allowed.join(", ")));
    }
    if rationale.trim().is_empty() {
        return Err(DutyError::EmptyRationale);
    }
    if let Some(c) = d.criteria.iter().find(|c| !c.held) {
        return Err(DutyError::ThresholdNotMet(format!(
            "{} ({})",
            c.name, c.why
        )));
    }
    d.decision = Decision::Waive {
        justification: code.into(),
        rationale: rationale.into(),
    };
    Ok(d)
}

/// Approve a determination: a second person, never the proposer.
pub fn approve(
    mut d: Determination,
    approver: &str,
    now: Timestamp,
) -> Result<Determination, DutyError> {
    if let Some(a) = &d.approver {
        return Err(DutyError::AlreadyApproved(a.clone()));
    }
    if approver == d.proposer {
        return Err(DutyError::SelfApproval {
            who: approver.into(),
        });
    }
    d.approver = Some(approver.into());
    d.approved_at = Some(now);
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entity::{DomainName, Footprint, IpNet};
    use crate::threat::{Harm, TargetSpec};
    use crate::{CountryCode, PortionMark, ThreatWindow};
    use chrono::TimeZone;

    fn threat(footprint: Footprint) -> Threat {
        let at = chrono::Utc.with_ymd_and_hms(2024, 5, 1, 8, 0, 0).unwrap();
        Threat {
            id: "pre-ransomware".into(),
            title: "Pre-ransomware activity".into(),
            originator: CountryCode::parse("USA").unwrap(),
            received: at,
            actor: None,
            actor_mark: PortionMark::unclassified(),
            harms: vec![Harm::Ransomware],
            credibility: Credibility::Probable,
            window: ThreatWindow::imminent(at, 72),
            public_advice_hours: 72,
            targets: vec![TargetSpec {
                label: "networks".into(),
                mark: PortionMark::unclassified(),
                name: None,
                categories: vec![],
                min_size: None,
                area: None,
                window: None,
                footprint,
            }],
            portions: vec![],
            restricted_terms: vec![],
            tlp: None,
            measures: vec![],
        }
    }

    #[test]
    fn a_release_needs_a_second_person_for_partners_and_the_public_by_default() {
        let p = DutyPolicy::icd191();
        let authors = vec!["analyst:a".to_string(), "analyst:c".to_string()];
        for kind in [AudienceKind::PartnerService, AudienceKind::Public] {
            for who in &authors {
                let e = check_release(&p, kind, &authors, who).unwrap_err();
                assert!(e.to_string().contains(who.as_str()), "{e}");
            }
            assert!(check_release(&p, kind, &authors, "approver:b").is_ok());
        }
        for kind in [AudienceKind::Operator, AudienceKind::DomesticAgency] {
            assert!(check_release(&p, kind, &authors, "analyst:a").is_ok());
        }
        let strict = DutyPolicy {
            release_requires_second_person: SecondPerson {
                operator: true,
                ..SecondPerson::default()
            },
            ..DutyPolicy::icd191()
        };
        assert!(check_release(&strict, AudienceKind::Operator, &authors, "analyst:a").is_err());
    }

    #[test]
    fn networks_and_a_domain_are_specific() {
        let mut fp = Footprint::EMPTY;
        fp.networks.push(IpNet::parse("203.0.113.7/32").unwrap());
        fp.domains
            .push(DomainName::parse("st-example-hospital.org").unwrap());
        let t = threat(fp);
        let policy = DutyPolicy {
            network_harms_count: true,
            ..DutyPolicy::icd191()
        };
        let c = evaluate(&t, 1, &policy, t.received);
        let specific = c.iter().find(|c| c.name == "specific").unwrap();
        assert!(specific.held, "{}", specific.why);
        assert!(c.iter().all(|c| c.held), "{c:?}");

        let bare = threat(Footprint::EMPTY);
        let c = evaluate(&bare, 1, &policy, bare.received);
        assert!(!c.iter().find(|c| c.name == "specific").unwrap().held);
    }
}
