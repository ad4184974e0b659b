//! The composer: one sanitized warning per (threat, audience), then the leak gate.
//!
//! Architecture invariant: every composed text passes [`leak_gate`] before it leaves this module;
//! the gate blocks (returns an error naming the span and the rule), it never merely warns.
//!
//! Rules (documented for users in docs/formats.md, "Composing a warning"):
//! - **Selection.** Only portions, target specs and the actor whose marks are releasable to the
//!   audience ([`releasable_to`]) are used. No releasable target spec → [`ComposeError::NothingActionable`].
//! - **Tearlines.** A report is read as sections: each tearline closes a section made of the
//!   non-tearline portions since the previous tearline (or the start). For a *non-cleared*
//!   audience (clearance U: operators, the public, an uncleared agency) a releasable tearline
//!   *replaces* the releasable detail portions of its section — they are counted as
//!   `summarised_portions` and not copied. Cleared audiences (C and above) get the tearline first
//!   and then the releasable detail. Portions after the last tearline have no summary and are used
//!   as they are when releasable.
//! - **Specificity** is the best any releasable target spec reaches: a named target (or a network,
//!   ASN or domain), else a category (or sector) in an area, else area only (also for specs with
//!   only a category or only a time).
//! - **Leak gate**: see [`leak_gate`].

use crate::audience::{Audience, AudienceKind};
use crate::entity::Entity;
use crate::i18n::Catalogue;
use crate::marking::{banner, releasable_to, Classification, PortionMark, TlpLevel};
use crate::threat::{Portion, TargetSpec, Threat};
use crate::time::{ThreatWindow, Timestamp};
use crate::tracking::Specificity;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeSet, HashMap, HashSet};
use thiserror::Error;

/// What the composer needs beyond the threat and the audience.
#[derive(Debug, Clone)]
pub struct ComposeInput<'a> {
    pub threat: &'a Threat,
    pub audience: &'a Audience,
    /// For operators: their own entities that matched a target spec releasable to them.
    pub entities: &'a [&'a Entity],
    /// Restricted terms that apply to every report (source names, platforms, code words).
    pub global_restricted: &'a [String],
    pub now: Timestamp,
    pub posture_interval_hours: i64,
    /// Where recipients acknowledge and report posture (a signed link, or instructions).
    pub ack_instructions: &'a str,
    /// More language versions to write beside the audience's own: `(language, ack_instructions
    /// in that language)`. The engine asks for English when the audience's catalogue is another
    /// (CAP carries one `<info>` per language); a language equal to the audience's is skipped.
    pub translations: &'a [(&'a str, &'a str)],
}

#[derive(Debug, Clone, PartialEq, Eq, Error, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum ComposeError {
    #[error("nothing actionable is releasable to audience {audience}: none of the {targets} target spec(s) may be told to it ({withheld} of {portions} portions withheld); refusing to send a blank warning")]
    NothingActionable {
        audience: String,
        targets: usize,
        portions: usize,
        withheld: usize,
    },
    #[error(transparent)]
    Leak(#[from] LeakError),
}

impl ComposeError {
    /// A short, stable name of the reason: `nothing_actionable` or the leak rule's name.
    pub fn reason(&self) -> &'static str {
        match self {
            ComposeError::NothingActionable { .. } => "nothing_actionable",
            ComposeError::Leak(l) => l.rule.name(),
        }
    }
}

/// The catalogue key of a harm's name.
fn harm_key(h: &crate::threat::Harm) -> &'static str {
    use crate::threat::Harm;
    match h {
        Harm::Killing => "harm-killing",
        Harm::SeriousInjury => "harm-serious-injury",
        Harm::Kidnapping => "harm-kidnapping",
        Harm::HostageTaking => "harm-hostage-taking",
        Harm::ArsonBombing => "harm-arson-bombing",
        Harm::DestructiveAttack => "harm-destructive-attack",
        Harm::Ransomware => "harm-ransomware",
        Harm::DisruptionOfEssentialServices => "harm-disruption",
    }
}

/// The zone an audience's times are written in (`i18n::audience_zone`): `sites` are its own
/// matched sites, in order (the first with a zone decides when the audience sets none).
pub fn audience_zone(aud: &Audience, sites: &[&Entity]) -> crate::i18n::Tz {
    let sites: Vec<crate::i18n::Site<'_>> = sites
        .iter()
        .map(|e| crate::i18n::Site {
            location: e.location,
            city: e.city.as_deref(),
            country: e.country.as_ref().map(|c| c.as_str()),
        })
        .collect();
    crate::i18n::audience_zone(
        aud.timezone.as_deref(),
        aud.country.as_ref().map(|c| c.as_str()),
        &sites,
    )
}

/// The local emergency number named in operator warnings (112 works across Europe and Russia).
fn emergency_number(aud: &Audience, cat: &Catalogue) -> String {
    match aud.country.as_ref().map(|c| c.as_str()) {
        Some("USA") | Some("CAN") => "911".into(),
        Some("GBR") => cat.fmt(
            "operator-emergency-or",
            &[("first", "999"), ("second", "112")],
        ),
        Some("AUS") => "000".into(),
        None => cat.get("operator-emergency-local").into(),
        Some(_) => "112".into(),
    }
}

/// The body portions for an audience under the tearline rule (see the module docs): returns the
/// portions in the order they are written, and how many releasable ones a tearline summarised.
///
/// Language versions: in a run of consecutive tearlines, those tagged with the audience's language
/// (`TEARLINE (U) [ru]: …`) stand in for the untagged ones when at least one of them is usable;
/// otherwise the untagged ones are used. Tearlines tagged with another language are never used.
/// Every version passes the same `usable` test (releasable, no restricted term) before it can be
/// chosen, and the composed text then passes the gate whatever its language.
fn select_portions<'t>(
    threat: &'t Threat,
    aud: &Audience,
    usable: &dyn Fn(&Portion) -> bool,
) -> (Vec<&'t Portion>, usize) {
    let cleared = aud.clearance > Classification::U;
    let lang = crate::i18n::primary_language(&aud.language);
    let of_lang =
        |p: &Portion| p.lang.as_deref().map(crate::i18n::primary_language) == Some(lang.clone());
    let mut tearlines = Vec::new();
    let mut detail = Vec::new();
    let mut summarised = 0;
    let mut section: Vec<&Portion> = Vec::new();
    let ps = &threat.portions;
    let mut i = 0;
    while i < ps.len() {
        if !ps[i].tearline {
            section.push(&ps[i]);
            i += 1;
            continue;
        }
        let start = i;
        while i < ps.len() && ps[i].tearline {
            i += 1;
        }
        let run = &ps[start..i];
        let mine: Vec<&Portion> = run.iter().filter(|p| of_lang(p)).collect();
        let versions: Vec<&Portion> = if mine.iter().any(|p| usable(p)) {
            mine
        } else {
            run.iter().filter(|p| p.lang.is_none()).collect()
        };
        // Each tearline closes the section before it, as it always did.
        for p in versions {
            let rel_detail: Vec<&Portion> = section.drain(..).filter(|d| usable(d)).collect();
            if usable(p) {
                tearlines.push(p);
                if cleared {
                    detail.extend(rel_detail);
                } else {
                    summarised += rel_detail.len();
                }
            } else {
                detail.extend(rel_detail);
            }
        }
    }
    detail.extend(section.into_iter().filter(|d| usable(d)));
    tearlines.extend(detail);
    (tearlines, summarised)
}

/// Compose the warning for one audience and run the leak gate on every field of it.
pub fn compose(input: &ComposeInput<'_>) -> Result<Composed, ComposeError> {
    let threat = input.threat;
    let aud = input.audience;
    let is_rel = |m: &PortionMark| releasable_to(m, aud, threat.originator).is_ok();
    let targets: Vec<&TargetSpec> = threat.targets.iter().filter(|t| is_rel(&t.mark)).collect();
    // The audience's own sites were matched by a spec it may be told about, so their names are
    // not evidence of a leak even where a withheld portion also names them; nor are the audience's
    // own name and contact, which it knows ("Crocus Group security (Crocus City Hall)").
    let own_names: Vec<&str> = input
        .entities
        .iter()
        .flat_map(|e| std::iter::once(e.name.as_str()).chain(e.aliases.iter().map(String::as_str)))
        .chain(std::iter::once(aud.name.as_str()))
        .chain(aud.escalation_contact.as_deref())
        .collect();
    let gate = Gate::new(threat, aud, input.global_restricted, &own_names);
    // Sanitize first: a portion that names a restricted term is never copied, whatever its mark.
    let usable = |p: &Portion| is_rel(&p.mark) && !gate.has_restricted(&p.text);
    let withheld = threat.portions.iter().filter(|p| !usable(p)).count();
    let Some(spec) = targets
        .iter()
        .map(|t| crate::specificity::specificity(t))
        .max()
    else {
        return Err(ComposeError::NothingActionable {
            audience: aud.id.to_string(),
            targets: threat.targets.len(),
            portions: threat.portions.len(),
            withheld,
        });
    };
    let (body, summarised) = select_portions(threat, aud, &usable);
    let actor_ok = threat.actor.is_some() && is_rel(&threat.actor_mark);
    let cat = crate::i18n::catalogue(&aud.language);
    let zone = audience_zone(aud, input.entities);
    let actor_text = if actor_ok {
        threat.actor.clone().unwrap_or_default()
    } else {
        cat.get("actor-unknown").to_owned()
    };
    let harms: Vec<&str> = threat.harms.iter().map(|h| cat.get(harm_key(h))).collect();
    let harms_text = if harms.is_empty() {
        cat.get("harm-unknown").to_owned()
    } else {
        harms.join(", ")
    };

    let mut used_marks: Vec<&PortionMark> = body
        .iter()
        .map(|p| &p.mark)
        .chain(targets.iter().map(|t| &t.mark))
        .collect();
    if actor_ok && aud.kind != AudienceKind::Public && aud.kind != AudienceKind::Operator {
        used_marks.push(&threat.actor_mark);
    }
    let banner_text = banner(&used_marks).to_string();
    let used_tlp = used_marks.iter().filter_map(|m| m.tlp).max();
    // The warning's own TLP: the kind's usual level, never above what the audience accepts, and
    // never below the most restrictive TLP of what it carries (which releasability kept within
    // the ceiling).
    let default_tlp = match aud.kind {
        AudienceKind::Public => TlpLevel::Clear,
        AudienceKind::Operator => TlpLevel::Amber,
        AudienceKind::DomesticAgency => TlpLevel::AmberStrict,
        AudienceKind::PartnerService => TlpLevel::Red,
    };
    let tlp = default_tlp
        .min(aud.tlp_ceiling)
        .max(used_tlp.unwrap_or(TlpLevel::Clear));

    let valid = match aud.kind {
        AudienceKind::Public => ThreatWindow::imminent(input.now, threat.public_advice_hours),
        _ => threat.window,
    };
    // The public is told where and how long to stay away; protective measures are for those who
    // run the sites.
    let measures: Vec<String> = if aud.kind == AudienceKind::Public {
        Vec::new()
    } else {
        threat.measures.clone()
    };
    let labels: Vec<String> = targets.iter().map(|t| t.label.clone()).collect();
    let draft = Draft {
        input,
        cat,
        zone,
        targets,
        labels: &labels,
        body: &body,
        actor_text: &actor_text,
        harms_text: &harms_text,
        banner_text: &banner_text,
        tlp,
        measures: &measures,
    };
    let mut text = Lines::default();
    let headline = match aud.kind {
        AudienceKind::PartnerService | AudienceKind::DomesticAgency => {
            render_agency(&draft, &mut text)
        }
        AudienceKind::Operator => render_operator(&draft, &mut text),
        AudienceKind::Public => render_public(&draft, &mut text),
    };
    // Each other language is the same warning written for the same audience reading that
    // language (its tearlines, its catalogue); its own gate run is repeated by `gate.pass` below
    // on the text that is kept.
    let mut translations = Vec::new();
    for (lang, ack) in input.translations {
        let other = crate::i18n::catalogue(lang);
        if other.code == cat.code
            || translations
                .iter()
                .any(|t: &crate::tracking::Translation| t.language == other.code)
        {
            continue;
        }
        let mut reader = aud.clone();
        reader.language = other.code.to_owned();
        let version = compose(&ComposeInput {
            audience: &reader,
            ack_instructions: ack,
            translations: &[],
            ..input.clone()
        })?;
        translations.push(crate::tracking::Translation {
            language: other.code.to_owned(),
            headline: version.headline().to_owned(),
            text: version.text().to_owned(),
        });
    }
    let fields = WarningFields {
        tlp,
        banner: banner_text,
        specificity: spec,
        headline,
        text: text.0.trim_end().to_owned() + "\n",
        measures,
        valid,
        withheld_portions: withheld,
        summarised_portions: summarised,
        targets: labels,
        language: cat.code.to_owned(),
        translations,
    };
    Ok(gate.pass(fields)?)
}

/// What the templates may print for one audience: only what selection kept.
struct Draft<'a> {
    input: &'a ComposeInput<'a>,
    /// The audience's message catalogue and time zone: every fixed sentence and time.
    cat: &'static Catalogue,
    zone: crate::i18n::Tz,
    targets: Vec<&'a TargetSpec>,
    labels: &'a [String],
    body: &'a [&'a Portion],
    actor_text: &'a str,
    harms_text: &'a str,
    banner_text: &'a str,
    tlp: TlpLevel,
    measures: &'a [String],
}

impl Draft<'_> {
    /// A time as this audience reads it: local, with UTC beside it.
    fn time(&self, t: Timestamp) -> String {
        self.cat.local_time(t, self.zone)
    }
}

/// A warning text, written line by line.
#[derive(Default)]
struct Lines(String);

impl Lines {
    fn line(&mut self, s: &str) {
        self.0.push_str(s);
        self.0.push('\n');
    }
}

/// Partner services and domestic agencies: a numbered message under the banner. Returns the
/// headline.
fn render_agency(d: &Draft<'_>, out: &mut Lines) -> String {
    let (input, threat, cat) = (d.input, d.input.threat, d.cat);
    let targets = d.labels.join("; ");
    let headline = cat.fmt(
        "agency-headline",
        &[
            ("harms", d.harms_text),
            ("actor", d.actor_text),
            ("targets", &targets),
        ],
    );
    out.line(d.banner_text);
    out.line(&cat.fmt("warn-to", &[("name", &input.audience.name)]));
    out.line(&cat.fmt("warn-subject", &[("headline", &headline)]));
    out.line("");
    let credibility = match threat.credibility {
        crate::threat::Credibility::Possible => "credibility-possible",
        crate::threat::Credibility::Probable => "credibility-probable",
        crate::threat::Credibility::Confirmed => "credibility-confirmed",
    };
    out.line(&cat.fmt(
        "agency-threat",
        &[
            ("harms", d.harms_text),
            ("actor", d.actor_text),
            ("credibility", cat.get(credibility)),
        ],
    ));
    out.line(&cat.fmt(
        "agency-window",
        &[
            ("from", &d.time(threat.window.from)),
            ("until", &d.time(threat.window.until)),
        ],
    ));
    out.line(cat.get("agency-targets"));
    for t in &d.targets {
        match t.window {
            Some(w) => out.line(&format!(
                "   - {}",
                cat.fmt(
                    "agency-target-window",
                    &[
                        ("target", &t.label),
                        ("from", &d.time(w.from)),
                        ("until", &d.time(w.until)),
                    ]
                )
            )),
            None => out.line(&format!("   - {}", t.label)),
        }
    }
    if !d.body.is_empty() {
        out.line(cat.get("agency-detail"));
        for p in d.body {
            out.line(&format!("   {}", p.text));
        }
    }
    if !d.measures.is_empty() {
        out.line(cat.get("agency-measures"));
        for m in d.measures {
            out.line(&format!("   - {m}"));
        }
    }
    out.line(&cat.fmt(
        "agency-posture",
        &[
            ("hours", &input.posture_interval_hours.to_string()),
            ("until", &d.time(threat.window.until)),
            ("instructions", input.ack_instructions),
        ],
    ));
    out.line(d.banner_text);
    headline
}

/// Operators: what to check, where to take people and whom to call, under the TLP. Returns the
/// headline.
fn render_operator(d: &Draft<'_>, out: &mut Lines) -> String {
    let (input, threat, aud, cat) = (d.input, d.input.threat, d.input.audience, d.cat);
    let names: BTreeSet<&str> = input.entities.iter().map(|e| e.name.as_str()).collect();
    let names = names.into_iter().collect::<Vec<_>>().join(", ");
    let headline = cat.fmt(
        "operator-headline",
        &[
            (
                "sites",
                if names.is_empty() {
                    aud.name.as_str()
                } else {
                    names.as_str()
                },
            ),
            ("targets", &d.labels.join("; ")),
        ],
    );
    out.line(d.tlp.label());
    out.line(&cat.fmt("warn-to", &[("name", &aud.name)]));
    out.line(&cat.fmt("warn-subject", &[("headline", &headline)]));
    out.line("");
    for p in d.body {
        out.line(&p.text);
    }
    if !names.is_empty() {
        out.line(&cat.fmt(
            "operator-sites",
            &[("sites", &names), ("harms", d.harms_text)],
        ));
    } else {
        out.line(&cat.fmt("operator-harm", &[("harms", d.harms_text)]));
    }
    out.line(&cat.fmt(
        "operator-window",
        &[
            ("from", &d.time(threat.window.from)),
            ("until", &d.time(threat.window.until)),
        ],
    ));
    out.line(cat.get("operator-check"));
    if d.measures.is_empty() {
        out.line(&format!("  - {}", cat.get("operator-check-default")));
    }
    for m in d.measures {
        out.line(&format!("  - {m}"));
    }
    out.line(cat.get("operator-evacuate"));
    out.line(
        &cat.fmt(
            "operator-call",
            &[
                ("emergency", &emergency_number(aud, cat)),
                (
                    "contact",
                    aud.escalation_contact
                        .as_deref()
                        .unwrap_or(cat.get("operator-police")),
                ),
            ],
        ),
    );
    out.line(&cat.fmt(
        "operator-posture",
        &[
            ("hours", &input.posture_interval_hours.to_string()),
            ("instructions", input.ack_instructions),
        ],
    ));
    headline
}

/// The public: what to avoid and for how long, and where updates are. Returns the headline.
fn render_public(d: &Draft<'_>, out: &mut Lines) -> String {
    let (input, threat, cat) = (d.input, d.input.threat, d.cat);
    let avoid = d.labels.join("; ");
    let hours = threat.public_advice_hours.to_string();
    let headline = cat.fmt("public-headline", &[("avoid", &avoid), ("hours", &hours)]);
    out.line(d.tlp.label());
    out.line(&headline);
    out.line("");
    for p in d.body {
        out.line(&p.text);
    }
    let sep = if avoid.contains(',') { "," } else { "" };
    // No absolute end time in the text: the advisory is held until partners were warned,
    // and its 48 hours count from publication (the engine fixes `valid` at release; CAP
    // carries it as `expires`).
    out.line(&cat.fmt(
        "public-advice",
        &[("avoid", &format!("{avoid}{sep}")), ("hours", &hours)],
    ));
    out.line(&cat.fmt(
        "public-updates",
        &[("instructions", input.ack_instructions)],
    ));
    headline
}

/// Everything of a sendable [`Warning`](crate::tracking::Warning) that is not its text: whom it
/// is for, its version and state.
#[derive(Debug, Clone)]
pub struct WarningHead {
    pub id: crate::ids::WarningId,
    pub threat_id: crate::ids::ThreatId,
    pub audience_id: crate::ids::AudienceId,
    pub audience_kind: AudienceKind,
    pub version: u32,
    pub supersedes: Option<crate::ids::WarningId>,
    pub state: crate::lifecycle::WarningState,
    pub created_at: Timestamp,
}

impl crate::tracking::GatedWarning {
    /// The constructor of a warning to send: its text, marking and validity come from the gate's
    /// proof ([`Composed`]), which only [`compose`] and [`pass_gate`] make.
    pub fn from_composed(c: Composed, head: WarningHead) -> Self {
        let f = c.into_fields();
        Self(crate::tracking::Warning {
            id: head.id,
            threat_id: head.threat_id,
            audience_id: head.audience_id,
            audience_kind: head.audience_kind,
            version: head.version,
            supersedes: head.supersedes,
            tlp: f.tlp,
            banner: f.banner,
            specificity: f.specificity,
            headline: f.headline,
            text: f.text,
            measures: f.measures,
            valid: f.valid,
            state: head.state,
            created_at: head.created_at,
            language: f.language,
            translations: f.translations,
        })
    }

    /// Run the gate on a warning written whole elsewhere (a bench's synthetic warning, a test's
    /// fixture), against its own `threat` as read by its own `audience` (the ids must be the
    /// warning's: gating against another threat proves nothing): `Ok` only when every field
    /// passes, with the warning's own id, version, state and times kept.
    pub fn gate(
        w: crate::tracking::Warning,
        threat: &Threat,
        audience: &Audience,
        global_restricted: &[String],
    ) -> Result<Self, LeakError> {
        debug_assert_eq!(w.threat_id, threat.id, "gated against another threat");
        debug_assert_eq!(w.audience_id, audience.id, "gated for another audience");
        let fields = WarningFields {
            tlp: w.tlp,
            banner: w.banner,
            specificity: w.specificity,
            headline: w.headline,
            text: w.text,
            measures: w.measures,
            valid: w.valid,
            withheld_portions: 0,
            summarised_portions: 0,
            targets: Vec::new(),
            language: w.language,
            translations: w.translations,
        };
        let head = WarningHead {
            id: w.id,
            threat_id: w.threat_id,
            audience_id: w.audience_id,
            audience_kind: w.audience_kind,
            version: w.version,
            supersedes: w.supersedes,
            state: w.state,
            created_at: w.created_at,
        };
        Ok(Self::from_composed(
            pass_gate(fields, threat, audience, global_restricted, &[])?,
            head,
        ))
    }
}

mod gate;
pub use gate::*;

#[cfg(any(test, feature = "proof"))]
pub mod proof;

#[cfg(test)]
mod props;
#[cfg(test)]
mod tests;
