//! The pipeline: intake → registry & matching → duty → compose → deliver → track, over a store.
//!
//! Each operation takes the time it happens at (an injected clock) and the acting person, writes
//! through the store (which audits every write) and appends a human timeline entry. The scheduler
//! rules (public hold, outbox, posture check-ins, expiry) run in [`Engine::tick`].
//!
//! Architecture invariant: the engine holds no state that is not derivable from the store, except
//! the in-memory match index, which is rebuilt from the store at open and kept in step on import
//! and, for changes other processes make, from the store's registry change log
//! ([`Engine::sync_registry`], run on every scheduler pass and before matching).

mod api;
pub mod demo;
mod follow;
mod import;
pub mod scheduler;

pub use api::{leak_verdict, leak_verdicts, LeakVerdict};
pub use follow::{LinkOutcome, LinkRefusal, LinkStatus, LinkView, LINK_REPLAY_MINUTES};

pub use import::ImportSummary;

use chrono::Duration;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use tocsin_core::compose::{compose, ComposeError, ComposeInput, WarningHead};
use tocsin_core::duty::{self, Decision, Determination, DutyError, DutyPolicy};
use tocsin_core::lifecycle::{transition, TransitionError, WarningEvent, WarningState};
use tocsin_core::marking::releasable_to;
use tocsin_core::posture::{PostureAction, PostureTrack};
use tocsin_core::tracking::{
    Acknowledgement, GatedWarning, Measure, Outcome, OutcomeKind, PostureReport, TimelineEntry,
    Warning,
};
use tocsin_core::{
    Audience, AudienceKind, Entity, EntityId, Match, Threat, ThreatId, Timestamp, WarningId,
};
use tocsin_deliver::{OutboxWorker, WorkerError};
use tocsin_match::{MatchConfig, MatchError, Registry};
use tocsin_store::{AuditCtx, NewDelivery, Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("matching failed: {0}")]
    Match(#[from] MatchError),
    #[error(transparent)]
    Duty(#[from] DutyError),
    /// Boxed: a leak error carries spans and excerpts, and every `Result` here would pay its size.
    #[error(transparent)]
    Compose(Box<ComposeError>),
    #[error(transparent)]
    Transition(#[from] TransitionError),
    #[error(transparent)]
    Worker(#[from] WorkerError),
    #[error("{kind} {id:?} not found")]
    NotFound { kind: &'static str, id: String },
    #[error("{0}")]
    Precondition(String),
    #[error("{path}: {message}")]
    Input { path: String, message: String },
}

pub type Result<T> = std::result::Result<T, EngineError>;

impl From<ComposeError> for EngineError {
    fn from(e: ComposeError) -> Self {
        EngineError::Compose(Box::new(e))
    }
}

#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Root directory of the `file` channel (each audience's address is a folder below it).
    pub outbox_root: PathBuf,
    pub policy: DutyPolicy,
    pub match_config: MatchConfig,
    /// Restricted terms for every report (source names, platforms, code words).
    pub global_restricted: Vec<String>,
    /// Base URL recipients reach this server at (for signed one-time links in warnings).
    pub public_url: String,
    /// Channels (webhook keys, SMTP) and the outbox worker's settings (leases, limits, retries).
    pub delivery: tocsin_deliver::DeliveryConfig,
    /// The known categories (`data/taxonomy.toml` plus a deployment's own): an unknown one in a
    /// registry row or a target spec is a note.
    pub taxonomy: tocsin_formats::taxonomy::Taxonomy,
}

impl EngineConfig {
    pub fn new(outbox_root: impl Into<PathBuf>) -> Self {
        Self {
            outbox_root: outbox_root.into(),
            policy: DutyPolicy::icd191(),
            match_config: MatchConfig::default(),
            global_restricted: Vec::new(),
            public_url: "http://127.0.0.1:8080".into(),
            delivery: tocsin_deliver::DeliveryConfig::default(),
            taxonomy: tocsin_formats::taxonomy::Taxonomy::builtin(),
        }
    }
}

pub struct Engine {
    store: Arc<dyn Store>,
    registry: RwLock<Registry>,
    /// The registry change log position the match index reflects (see `sync_registry`).
    registry_seq: std::sync::Mutex<i64>,
    worker: OutboxWorker,
    /// The recipient-link signing key, read from the store once (see `follow::link_secret`).
    link_key: std::sync::OnceLock<Vec<u8>>,
    pub config: EngineConfig,
}

fn not_found(kind: &'static str, id: impl ToString) -> EngineError {
    EngineError::NotFound {
        kind,
        id: id.to_string(),
    }
}

/// One named target a warning's audience may not be told: why the warning says less than the
/// threat knows. The label and name are the withheld facts; readers below `mark` must not get them
/// (the server withholds them as it withholds any target description).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct WithheldTarget {
    /// 1-based position of the target in the threat.
    pub target: usize,
    pub label: String,
    pub name: String,
    pub mark: tocsin_core::PortionMark,
    /// The mark as written, e.g. `(C//REL TO FRA, USA)`.
    pub marking: String,
    /// The releasability rule that withholds it from this audience.
    pub denial: String,
}

impl WithheldTarget {
    /// One clause for the timeline and the task: `target 1 names "…" but is marked (…) (why)`.
    pub fn sentence(&self) -> String {
        format!(
            "target {} names {:?} but is marked {} ({})",
            self.target, self.name, self.marking, self.denial
        )
    }
}

/// Why a warning of `specificity` to `aud` says less than the threat: every named target whose
/// mark the audience may not read (public advisories never name a target, so none for them).
fn withheld_targets(
    threat: &Threat,
    aud: &Audience,
    specificity: tocsin_core::tracking::Specificity,
) -> Vec<WithheldTarget> {
    if specificity == tocsin_core::tracking::Specificity::NamedTarget
        || aud.kind == AudienceKind::Public
    {
        return Vec::new();
    }
    threat
        .targets
        .iter()
        .enumerate()
        .filter_map(|(i, t)| {
            let name = t.name.as_ref()?;
            let denial =
                tocsin_core::marking::releasable_to(&t.mark, aud, threat.originator).err()?;
            Some(WithheldTarget {
                target: i + 1,
                label: t.label.clone(),
                name: name.clone(),
                mark: t.mark.clone(),
                marking: t.mark.to_string(),
                denial: denial.to_string(),
            })
        })
        .collect()
}

fn specificity_advice(
    threat: &Threat,
    aud: &Audience,
    specificity: tocsin_core::tracking::Specificity,
) -> Vec<String> {
    withheld_targets(threat, aud, specificity)
        .iter()
        .map(WithheldTarget::sentence)
        .collect()
}

/// Stable idempotency key for one (warning, audience, channel).
fn idempotency_key(w: &WarningId, a: &Audience, kind: &str, address: &str) -> String {
    audience_key(w, &a.id, kind, address)
}

/// [`idempotency_key`] by audience id (a cancel notice goes to where a delivery went, even if the
/// audience has since left the registry).
fn audience_key(
    w: &WarningId,
    audience: &tocsin_core::AudienceId,
    kind: &str,
    address: &str,
) -> String {
    let mut h = Sha256::new();
    for part in [w.as_str(), audience.as_str(), kind, address] {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part.as_bytes());
    }
    hex::encode(&h.finalize()[..16])
}

impl Engine {
    /// Open the engine over a store; the match index is built from the stored registry.
    pub fn open(store: Arc<dyn Store>, config: EngineConfig) -> Result<Self> {
        let mut registry = Registry::new(
            config.match_config.clone(),
            tocsin_match::Gazetteer::builtin(),
        );
        // The log position first: a change committed while the entities load is applied again at
        // the next sync (idempotent), never lost.
        let seq = store.registry_change_head()?;
        registry.extend(store.entities()?);
        let worker = config
            .delivery
            .worker(config.outbox_root.clone())
            .map_err(|e| EngineError::Precondition(format!("delivery channels: {e}")))?;
        Ok(Self {
            store,
            registry: RwLock::new(registry),
            registry_seq: std::sync::Mutex::new(seq),
            worker,
            link_key: std::sync::OnceLock::new(),
            config,
        })
    }

    /// Entities in the match index (the registry as matching sees it), without reading the store.
    pub fn registry_len(&self) -> usize {
        self.registry
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .len()
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    fn timeline(
        &self,
        threat: &ThreatId,
        at: Timestamp,
        event: &str,
        detail: String,
    ) -> Result<()> {
        self.store.append_timeline(&TimelineEntry {
            at,
            event: event.into(),
            detail,
            threat_id: threat.clone(),
        })?;
        Ok(())
    }

    fn threat(&self, id: &ThreatId) -> Result<Threat> {
        self.store
            .threat(id)?
            .ok_or_else(|| not_found("threat", id))
    }

    fn warning(&self, id: &WarningId) -> Result<Warning> {
        self.store
            .warning(id)?
            .ok_or_else(|| not_found("warning", id))
    }

    fn advance(&self, w: &Warning, event: WarningEvent, ctx: &AuditCtx) -> Result<WarningState> {
        Ok(self.store.advance_warning(&w.id, event, ctx)?)
    }

    /// Add or replace registry entities, in the store and in the match index.
    pub fn upsert_entities(&self, entities: &[Entity], ctx: &AuditCtx) -> Result<()> {
        for (i, e) in entities.iter().enumerate() {
            e.id.check().map_err(|err| EngineError::Input {
                path: if entities.len() == 1 {
                    "/id".into()
                } else {
                    format!("/{i}/id")
                },
                message: err.to_string(),
            })?;
        }
        self.store.upsert_entities(entities, ctx)?;
        self.registry
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .extend(entities.iter().cloned());
        Ok(())
    }

    /// Bring the match index in step with registry changes committed since the last sync, by this
    /// or any other process sharing the store: changed entities are re-read and upserted, deleted
    /// ones removed. Returns the number of entities applied. Cheap when nothing changed (one
    /// indexed read of the change log).
    pub fn sync_registry(&self) -> Result<usize> {
        // Held throughout: two syncs at once would apply the same changes twice and could move the
        // position backwards.
        let mut seq = self.registry_seq.lock().unwrap_or_else(|p| p.into_inner());
        let (high, ids) = self.store.registry_changes_since(*seq)?;
        if ids.is_empty() {
            *seq = high;
            return Ok(0);
        }
        // A large change (an import elsewhere) is one scan of the registry rather than a read per id.
        const SCAN_ABOVE: usize = 512;
        let fresh: Vec<(EntityId, Option<Entity>)> = if ids.len() > SCAN_ABOVE {
            let mut all: std::collections::HashMap<EntityId, Entity> = self
                .store
                .entities()?
                .into_iter()
                .map(|e| (e.id.clone(), e))
                .collect();
            ids.into_iter()
                .map(|id| {
                    let e = all.remove(&id);
                    (id, e)
                })
                .collect()
        } else {
            ids.into_iter()
                .map(|id| self.store.entity(&id).map(|e| (id, e)))
                .collect::<std::result::Result<_, _>>()?
        };
        let n = fresh.len();
        let mut registry = self.registry.write().unwrap_or_else(|p| p.into_inner());
        let (present, gone): (Vec<_>, Vec<_>) = fresh.into_iter().partition(|(_, e)| e.is_some());
        for (id, _) in gone {
            registry.remove(&id);
        }
        registry.extend(present.into_iter().filter_map(|(_, e)| e));
        *seq = high;
        Ok(n)
    }

    // ---- intake ----

    pub fn ingest_threat(&self, threat: &Threat, ctx: &AuditCtx) -> Result<()> {
        threat.id.check().map_err(|e| EngineError::Input {
            path: "/id".into(),
            message: e.to_string(),
        })?;
        self.store.insert_threat(threat, ctx)?;
        let marks: Vec<String> = threat
            .portions
            .iter()
            .map(|p| tocsin_core::marking::format_mark(&p.mark))
            .collect();
        self.timeline(
            &threat.id,
            ctx.at,
            "report_received",
            format!(
                "{} ({} portions: {}; {} target specs)",
                threat.title,
                threat.portions.len(),
                marks.join(" "),
                threat.targets.len()
            ),
        )
    }

    // ---- registry & matching ----

    pub fn compute_matches(&self, threat_id: &ThreatId, ctx: &AuditCtx) -> Result<Vec<Match>> {
        let threat = self.threat(threat_id)?;
        // Another process may have changed the registry since the last scheduler pass.
        self.sync_registry()?;
        let matches = self
            .registry
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .match_threat(&threat)?;
        self.store.replace_matches(threat_id, &matches, ctx)?;
        let entities: BTreeSet<&EntityId> = matches.iter().map(|m| &m.entity_id).collect();
        let per_spec: Vec<String> = threat
            .targets
            .iter()
            .enumerate()
            .map(|(i, t)| {
                format!(
                    "{}: {}",
                    t.label,
                    matches.iter().filter(|m| m.target == i).count()
                )
            })
            .collect();
        self.timeline(
            threat_id,
            ctx.at,
            "matches_computed",
            format!(
                "{} entities of {} in the registry match ({})",
                entities.len(),
                self.registry_len(),
                per_spec.join("; ")
            ),
        )?;
        Ok(matches)
    }

    // ---- duty ----

    /// Propose a determination (the threshold evaluated, sources-and-methods handling recorded).
    pub fn propose_determination(
        &self,
        threat_id: &ThreatId,
        proposer: &str,
        at: Timestamp,
    ) -> Result<Determination> {
        let threat = self.threat(threat_id)?;
        let matches = self.store.matches(threat_id)?;
        let matched: BTreeSet<&EntityId> = matches.iter().map(|m| &m.entity_id).collect();
        let criteria = duty::evaluate(&threat, matched.len(), &self.config.policy, at);
        let restricted = threat
            .portions
            .iter()
            .filter(|p| !p.mark.is_public())
            .count();
        let considerations = vec![format!(
            "Sources and methods: {restricted} of {} portions are classified or controlled and {} restricted terms are listed; each audience receives only the portions releasable to it and every text passes the leak gate, so sanitizing protects them and no waiver is needed.",
            threat.portions.len(),
            threat.restricted_terms.len() + self.config.global_restricted.len()
        )];
        let d = duty::propose(
            &threat,
            criteria,
            considerations,
            proposer,
            &self.config.policy,
            at,
        );
        self.store
            .insert_determination(&d, &AuditCtx::new(proposer, at))?;
        let held: Vec<String> = d
            .criteria
            .iter()
            .map(|c| format!("{}={}", c.name, if c.held { "yes" } else { "no" }))
            .collect();
        self.timeline(
            threat_id,
            at,
            "determination_proposed",
            format!(
                "{} proposes {}: {}",
                proposer,
                d.decision.label(),
                held.join(", ")
            ),
        )?;
        Ok(d)
    }

    fn current_determination(&self, threat_id: &ThreatId) -> Result<Determination> {
        self.store.determinations(threat_id)?.pop().ok_or_else(|| {
            EngineError::Precondition(format!("threat {threat_id} has no determination yet"))
        })
    }

    /// Waive the current proposal with a policy justification (still needs approval).
    pub fn waive(
        &self,
        threat_id: &ThreatId,
        code: &str,
        rationale: &str,
        proposer: &str,
        at: Timestamp,
    ) -> Result<Determination> {
        let mut d = duty::waive(
            self.current_determination(threat_id)?,
            code,
            rationale,
            &self.config.policy,
        )?;
        d.proposer = proposer.into();
        d.proposed_at = at;
        self.store
            .insert_determination(&d, &AuditCtx::new(proposer, at))?;
        self.timeline(
            threat_id,
            at,
            "determination_proposed",
            format!("{proposer} proposes waiver {code}: {rationale}"),
        )?;
        Ok(d)
    }

    /// Approve the current determination (two-person rule); the history keeps both rows.
    pub fn approve_determination(
        &self,
        threat_id: &ThreatId,
        approver: &str,
        at: Timestamp,
    ) -> Result<Determination> {
        let d = duty::approve(self.current_determination(threat_id)?, approver, at)?;
        self.store
            .insert_determination(&d, &AuditCtx::new(approver, at))?;
        self.timeline(
            threat_id,
            at,
            "determination_approved",
            format!(
                "{approver} approves {} proposed by {}; deliver by {}",
                d.decision.label(),
                d.proposer,
                d.deadline.to_rfc3339()
            ),
        )?;
        Ok(d)
    }

    // ---- compose ----

    /// Compose one draft warning per audience the approved "warn" determination reaches.
    pub fn compose_warnings(
        &self,
        threat_id: &ThreatId,
        actor: &str,
        at: Timestamp,
    ) -> Result<Vec<Warning>> {
        self.compose_for(threat_id, None, actor, at)
    }

    /// Compose drafts for every routed audience, or only for `only`.
    fn compose_for(
        &self,
        threat_id: &ThreatId,
        only: Option<&tocsin_core::AudienceId>,
        actor: &str,
        at: Timestamp,
    ) -> Result<Vec<Warning>> {
        let threat = self.threat(threat_id)?;
        let d = self.current_determination(threat_id)?;
        if d.decision != Decision::Warn || d.approver.is_none() {
            return Err(EngineError::Precondition(format!(
                "threat {threat_id}: warnings need an approved 'warn' determination (current: {}, {})",
                d.decision.label(),
                if d.approver.is_some() { "approved" } else { "not approved" }
            )));
        }
        let matches = self.store.matches(threat_id)?;
        let mut entities: BTreeMap<EntityId, Entity> = BTreeMap::new();
        for m in &matches {
            if let Some(e) = self.store.entity(&m.entity_id)? {
                entities.insert(e.id.clone(), e);
            }
        }
        let countries: BTreeSet<_> = entities.values().filter_map(|e| e.country).collect();
        let audiences = self.store.audiences()?;
        let existing = self.store.warnings(Some(threat_id))?;
        let ctx = AuditCtx::new(actor, at);
        let mut drafts = Vec::new();
        for aud in audiences.iter().filter(|a| only.is_none_or(|o| &a.id == o)) {
            // Entities of this audience matched by a spec the audience may be told about.
            let own: Vec<&Entity> = {
                let ids: BTreeSet<&EntityId> = matches
                    .iter()
                    .filter(|m| {
                        releasable_to(&threat.targets[m.target].mark, aud, threat.originator)
                            .is_ok()
                    })
                    .map(|m| &m.entity_id)
                    .collect();
                ids.into_iter()
                    .filter_map(|id| entities.get(id))
                    .filter(|e| e.audiences.contains(&aud.id))
                    .collect()
            };
            let routed = match aud.kind {
                AudienceKind::Operator => !own.is_empty(),
                AudienceKind::PartnerService | AudienceKind::DomesticAgency => {
                    aud.country.is_some_and(|c| countries.contains(&c))
                }
                AudienceKind::Public => aud.country.is_none_or(|c| countries.contains(&c)),
            };
            if !routed {
                if aud.kind == AudienceKind::Operator {
                    let withheld: Vec<&str> = matches
                        .iter()
                        .filter_map(|m| entities.get(&m.entity_id))
                        .filter(|e| e.audiences.contains(&aud.id))
                        .map(|e| e.name.as_str())
                        .collect::<BTreeSet<_>>()
                        .into_iter()
                        .collect();
                    if !withheld.is_empty() {
                        // Telling this operator would itself reveal a withheld target: the
                        // partner or agency warned above is responsible; an analyst must see it.
                        self.timeline(
                            threat_id,
                            at,
                            "operator_not_warned",
                            format!(
                                "{}: {} matched only target specs not releasable to it; protection relies on the partner/agency warnings",
                                aud.id,
                                withheld.join(", ")
                            ),
                        )?;
                    }
                }
                continue;
            }
            let version = existing.iter().filter(|w| w.audience_id == aud.id).count() as u32 + 1;
            let id = WarningId::new(format!("{}.{}.v{}", threat.id, aud.id, version));
            let cat = tocsin_core::i18n::catalogue(&aud.language);
            // The one-time links are minted once: every language version carries the same ones.
            let links = match aud.kind {
                AudienceKind::Public => None,
                _ => Some((
                    self.recipient_link(
                        &id,
                        threat.window.until,
                        tocsin_core::links::LinkPurpose::Acknowledge,
                        at,
                    )?,
                    self.recipient_link(
                        &id,
                        threat.window.until,
                        tocsin_core::links::LinkPurpose::Feedback,
                        at,
                    )?,
                )),
            };
            let ack_in = |cat: &tocsin_core::i18n::Catalogue| match &links {
                None => cat.fmt("links-public", &[("id", id.as_str())]),
                Some((ack, feedback)) => cat.fmt(
                    "links-recipient",
                    &[("id", id.as_str()), ("ack", ack), ("feedback", feedback)],
                ),
            };
            let ack = ack_in(cat);
            // An audience reading another language gets English beside it (CAP's second
            // `<info>`; docs/formats.md, "CAP alerts").
            let english = tocsin_core::i18n::catalogue("en");
            let ack_en = ack_in(english);
            let translations: &[(&str, &str)] = if cat.code == english.code {
                &[]
            } else {
                &[("en", ack_en.as_str())]
            };
            let interval = aud
                .posture_interval_hours
                .map(i64::from)
                .unwrap_or(self.config.policy.posture_interval_hours);
            let composed = compose(&ComposeInput {
                threat: &threat,
                audience: aud,
                entities: &own,
                global_restricted: &self.config.global_restricted,
                now: at,
                posture_interval_hours: interval,
                ack_instructions: &ack,
                translations,
            });
            let c = match composed {
                Ok(c) => c,
                Err(e) => {
                    self.timeline(threat_id, at, "compose_refused", format!("{}: {e}", aud.id))?;
                    continue;
                }
            };
            let withheld_portions = c.withheld_portions();
            let w = GatedWarning::from_composed(
                c,
                WarningHead {
                    id,
                    threat_id: threat_id.clone(),
                    audience_id: aud.id.clone(),
                    audience_kind: aud.kind,
                    version,
                    supersedes: existing
                        .iter()
                        .rfind(|w| w.audience_id == aud.id)
                        .map(|w| w.id.clone()),
                    state: WarningState::Draft,
                    created_at: at,
                },
            );
            self.store.insert_warning(&w, &ctx)?;
            let advice = specificity_advice(&threat, aud, w.specificity);
            if !advice.is_empty() {
                self.timeline(
                    threat_id,
                    at,
                    "specificity_advice",
                    format!(
                        "{} ({}): the warning is {} although the threat knows more: {}. A release request (task release_request) asks {} for a tearline or a REL TO for this audience",
                        w.id,
                        aud.id,
                        w.specificity.as_str(),
                        advice.join("; "),
                        threat.originator
                    ),
                )?;
            }
            self.timeline(
                threat_id,
                at,
                "warning_composed",
                format!(
                    "{} ({}, {}, {}, {} portions withheld): {}",
                    aud.id,
                    aud.kind.as_str(),
                    w.tlp,
                    w.specificity.as_str(),
                    withheld_portions,
                    w.headline
                ),
            )?;
            drafts.push(w.into_warning());
        }
        // Nobody to tell is a gap an analyst must see, not a silent omission.
        let unrouted: BTreeSet<String> = entities
            .values()
            .flat_map(|e| e.audiences.iter().map(move |a| (a, e)))
            .filter(|(a, _)| !audiences.iter().any(|x| &x.id == *a))
            .map(|(a, e)| format!("{} ({})", e.name, a))
            .collect();
        if !unrouted.is_empty() {
            self.timeline(
                threat_id,
                at,
                "no_route",
                format!(
                    "{} matched entities have no registered operator audience: {}",
                    unrouted.len(),
                    unrouted.into_iter().collect::<Vec<_>>().join(", ")
                ),
            )?;
        }
        Ok(drafts)
    }

    /// Approve a draft warning for release.
    ///
    /// Under the policy's `release_requires_second_person` for the audience's kind, the approver
    /// may not be anyone who composed or edited the draft (read from the audit chain).
    pub fn approve_warning(&self, id: &WarningId, approver: &str, at: Timestamp) -> Result<()> {
        let w = self.warning(id)?;
        let authors = self.draft_authors(id)?;
        duty::check_release(&self.config.policy, w.audience_kind, &authors, approver)?;
        self.advance(&w, WarningEvent::Approve, &AuditCtx::new(approver, at))?;
        self.timeline(
            &w.threat_id,
            at,
            "warning_approved",
            format!(
                "{} ({}, version {}): approved for release by {approver} (drafted by {})",
                w.audience_id,
                w.audience_kind.as_str(),
                w.version,
                authors.join(", ")
            ),
        )?;
        Ok(())
    }

    /// Why a draft is less specific than the threat: per named target the audience may not
    /// read, its label, mark and the rule that withholds it (empty when nothing is withheld).
    pub fn specificity_advice(&self, id: &WarningId) -> Result<Vec<String>> {
        Ok(self
            .withheld_targets(id)?
            .iter()
            .map(WithheldTarget::sentence)
            .collect())
    }

    /// [`Engine::specificity_advice`] as records: each named target withheld from the warning's
    /// audience, with its mark and the rule that withholds it.
    pub fn withheld_targets(&self, id: &WarningId) -> Result<Vec<WithheldTarget>> {
        let w = self.warning(id)?;
        let threat = self.threat(&w.threat_id)?;
        let aud = self
            .store
            .audience(&w.audience_id)?
            .ok_or_else(|| not_found("audience", &w.audience_id))?;
        Ok(withheld_targets(&threat, &aud, w.specificity))
    }

    /// Record a *release request*: the analyst asks the originator for a tearline or a REL TO so
    /// that this warning's audience can be told what the threat names. Opens a
    /// `release_request` task with the advice; refused when nothing is withheld.
    pub fn request_release(&self, id: &WarningId, actor: &str, at: Timestamp) -> Result<i64> {
        let w = self.warning(id)?;
        let advice = self.specificity_advice(id)?;
        if advice.is_empty() {
            return Err(EngineError::Precondition(format!(
                "warning {id} withholds no named target from its audience: nothing to request"
            )));
        }
        let threat = self.threat(&w.threat_id)?;
        let detail = format!(
            "Ask {} for a tearline or a REL TO for audience {} ({}) so that warning {id} ({}) can name its target: {}",
            threat.originator,
            w.audience_id,
            w.audience_kind.as_str(),
            w.specificity.as_str(),
            advice.join("; ")
        );
        let ctx = AuditCtx::new(actor, at);
        let task = self.store.open_task(
            tocsin_core::followup::TaskKind::ReleaseRequest,
            &w.threat_id,
            Some(id),
            &detail,
            &ctx,
        )?;
        self.timeline(
            &w.threat_id,
            at,
            "release_requested",
            format!("by {actor}: {detail}"),
        )?;
        Ok(task)
    }

    /// Notes for the categories of a threat's target specs that are not in the taxonomy (a
    /// misspelt category matches nothing, silently otherwise).
    pub fn category_notes(&self, threat: &Threat) -> Vec<String> {
        threat
            .targets
            .iter()
            .enumerate()
            .flat_map(|(i, t)| {
                t.categories.iter().filter_map(move |c| {
                    self.config
                        .taxonomy
                        .note(c, &format!("target {} ({})", i + 1, t.label))
                })
            })
            .collect()
    }

    /// Who composed or edited a warning's draft: the actors of its `warning.create` and
    /// `warning.edit` audit events.
    pub fn draft_authors(&self, id: &WarningId) -> Result<Vec<String>> {
        let mut authors: Vec<String> = self
            .store
            .audit_events_about(&format!("warning:{id}"))?
            .into_iter()
            .filter(|e| {
                e.action == tocsin_store::actions::WARNING_CREATE
                    || e.action == tocsin_store::review::review_actions::WARNING_EDIT
            })
            .map(|e| e.actor)
            .collect();
        authors.dedup();
        Ok(authors)
    }

    fn queue(&self, w: &Warning, ctx: &AuditCtx) -> Result<()> {
        let aud = self
            .store
            .audience(&w.audience_id)?
            .ok_or_else(|| not_found("audience", &w.audience_id))?;
        transition(w.state, WarningEvent::Queue)?;
        let deliveries: Vec<NewDelivery> = aud
            .channels
            .iter()
            .map(|c| NewDelivery {
                audience_id: aud.id.clone(),
                channel: c.clone(),
                idempotency_key: idempotency_key(&w.id, &aud, c.kind.as_str(), &c.address),
            })
            .collect();
        if deliveries.is_empty() {
            return Err(EngineError::Precondition(format!(
                "audience {} has no channel: warning {} cannot be queued",
                aud.id, w.id
            )));
        }
        let created = self.store.queue_warning(&w.id, &deliveries, ctx)?;
        // A new version replaces the one the recipient holds: that one is superseded now.
        if let Some(old) = w
            .supersedes
            .as_ref()
            .map(|id| self.warning(id))
            .transpose()?
        {
            if !old.state.is_terminal() {
                self.advance(&old, WarningEvent::Supersede, ctx)?;
                self.timeline(
                    &w.threat_id,
                    ctx.at,
                    "warning_superseded",
                    format!("{} superseded by {}", old.id, w.id),
                )?;
            }
        }
        self.timeline(
            &w.threat_id,
            ctx.at,
            "warning_queued",
            format!("{} to {} via {} channel(s)", w.id, aud.id, created.len()),
        )
    }

    // ---- scheduler rules ----

    /// Queue approved warnings whose release rule allows it. Partners, agencies and operators go
    /// at once; the public advisory waits until every partner/agency warning of the threat was
    /// delivered and the policy's hold has passed, so partners hear first.
    pub fn release_due(&self, at: Timestamp) -> Result<usize> {
        let ctx = AuditCtx::new("scheduler", at);
        let all = self.store.warnings(None)?;
        let mut queued = 0;
        for w in all.iter().filter(|w| w.state == WarningState::Approved) {
            if w.audience_kind == AudienceKind::Public {
                let partners: Vec<&Warning> = all
                    .iter()
                    .filter(|p| {
                        p.threat_id == w.threat_id
                            && matches!(
                                p.audience_kind,
                                AudienceKind::PartnerService | AudienceKind::DomesticAgency
                            )
                    })
                    .filter(|p| p.state != WarningState::Superseded)
                    .collect();
                let mut last_delivered: Option<Timestamp> = None;
                let mut all_delivered = true;
                for p in &partners {
                    let ds = self.store.deliveries(Some(&p.id))?;
                    match ds.iter().filter_map(|d| d.delivered_at).max() {
                        Some(t) if ds.iter().all(|d| d.delivered_at.is_some()) => {
                            last_delivered = last_delivered.max(Some(t))
                        }
                        _ => all_delivered = false,
                    }
                }
                let hold_until = last_delivered
                    .map(|t| t + Duration::hours(self.config.policy.public_hold_hours));
                if !all_delivered || hold_until.is_some_and(|h| at < h) {
                    continue;
                }
                // "Over the next 48 hours" counts from publication, not from drafting.
                let hours = (w.valid.until - w.valid.from).num_hours();
                self.store.set_warning_validity(
                    &w.id,
                    tocsin_core::ThreatWindow::imminent(at, hours),
                    &ctx,
                )?;
            }
            self.queue(w, &ctx)?;
            queued += 1;
        }
        Ok(queued)
    }

    /// Run the outbox once and move delivered warnings along their lifecycle.
    pub fn deliver_due(&self, at: Timestamp) -> Result<usize> {
        let report = self.worker.run_once(self.store.as_ref(), at, 1000)?;
        if !report.retrying.is_empty() || !report.dead.is_empty() {
            let deliveries = self.store.deliveries(None)?;
            for id in report.retrying.iter().chain(&report.dead) {
                let Some(d) = deliveries.iter().find(|d| d.id == *id) else {
                    continue;
                };
                let w = self.warning(&d.warning_id)?;
                let event = if report.dead.contains(id) {
                    "delivery_dead"
                } else {
                    "delivery_retrying"
                };
                self.timeline(
                    &w.threat_id,
                    at,
                    event,
                    format!(
                        "{} to {}: {}",
                        w.id,
                        d.audience_id,
                        d.last_error.clone().unwrap_or_default()
                    ),
                )?;
            }
        }
        self.advance_delivered(at)?;
        Ok(report.delivered.len())
    }

    /// Move queued warnings whose deliveries arrived to `delivered` and start their posture
    /// clocks. Driven by the store, not by this process's worker, so deliveries made by a
    /// standalone `tocsin worker` move the lifecycle too.
    fn advance_delivered(&self, at: Timestamp) -> Result<()> {
        let ctx = AuditCtx::new("scheduler", at);
        for w in self
            .store
            .warnings(None)?
            .into_iter()
            .filter(|w| w.state == WarningState::Queued)
        {
            let ds = self.store.deliveries(Some(&w.id))?;
            let delivered: Vec<_> = ds
                .iter()
                .filter(|d| d.status == tocsin_core::tracking::DeliveryStatus::Delivered)
                .collect();
            let Some(first) = delivered.iter().filter_map(|d| d.delivered_at).min() else {
                continue;
            };
            self.advance(&w, WarningEvent::Deliver, &ctx)?;
            // Feed notifications ask for no posture: never tracked, reminded or escalated.
            if !w.is_feed_notification()
                && matches!(
                    w.audience_kind,
                    AudienceKind::Operator
                        | AudienceKind::PartnerService
                        | AudienceKind::DomesticAgency
                )
            {
                let aud = self.store.audience(&w.audience_id)?;
                let interval = aud
                    .and_then(|a| a.posture_interval_hours)
                    .map(i64::from)
                    .unwrap_or(self.config.policy.posture_interval_hours);
                self.store.upsert_posture_track(
                    &w.id,
                    &PostureTrack::new(first, interval, w.valid.until),
                    &ctx,
                )?;
            }
            for d in delivered {
                self.timeline(
                    &w.threat_id,
                    d.delivered_at.unwrap_or(at),
                    "warning_delivered",
                    format!(
                        "{} delivered to {} via {} ({})",
                        w.id,
                        d.audience_id,
                        d.channel.kind.as_str(),
                        d.channel.address
                    ),
                )?;
            }
        }
        Ok(())
    }

    /// Posture check-ins (remind, then escalate) and expiry of warnings whose window closed.
    pub fn check_posture(&self, at: Timestamp) -> Result<()> {
        let ctx = AuditCtx::new("scheduler", at);
        for w in self.store.warnings(None)? {
            if !w.state.is_terminal()
                && w.state != WarningState::Draft
                && w.state != WarningState::Approved
                && at >= w.valid.until
            {
                self.advance(&w, WarningEvent::Expire, &ctx)?;
                self.timeline(
                    &w.threat_id,
                    at,
                    "warning_expired",
                    format!("{}: validity ended {}", w.id, w.valid.until.to_rfc3339()),
                )?;
            }
        }
        for (wid, mut track) in self.store.posture_tracks()? {
            let w = self.warning(&wid)?;
            if w.state.is_terminal() || w.is_feed_notification() {
                continue;
            }
            while let Some(action) = track.due(at) {
                track.record(action, at);
                self.store.upsert_posture_track(&wid, &track, &ctx)?;
                let aud = self.store.audience(&w.audience_id)?;
                let contact = aud.as_ref().and_then(|a| a.escalation_contact.clone());
                let sent = self.send_notice(&w, aud.as_ref(), action, contact.as_deref(), &ctx)?;
                match action {
                    PostureAction::Remind { due } => self.timeline(
                        &w.threat_id,
                        at,
                        "posture_reminder",
                        format!(
                            "{} missed the posture check-in due {}: reminder queued via {sent} channel(s) (threat window open until {})",
                            w.audience_id,
                            due.to_rfc3339(),
                            w.valid.until.to_rfc3339()
                        ),
                    )?,
                    PostureAction::Escalate { due } => {
                        // Say what was done: a notice to the same channels and a task for a
                        // person. Nobody has been phoned until an analyst closes the task.
                        let (kind, detail) = match &contact {
                            Some(c) => (
                                tocsin_core::followup::TaskKind::CallContact,
                                format!(
                                    "{} missed a second check-in (due {}): telephone the escalation contact {c}; escalation notice queued via {sent} channel(s) (the warning's own)",
                                    w.audience_id,
                                    due.to_rfc3339(),
                                ),
                            ),
                            None => (
                                tocsin_core::followup::TaskKind::PostureEscalation,
                                format!(
                                    "{} missed a second check-in (due {}): no escalation contact on file, find another way to reach it; escalation notice queued via {sent} channel(s) (the warning's own)",
                                    w.audience_id,
                                    due.to_rfc3339(),
                                ),
                            ),
                        };
                        self.store.open_task(kind, &w.threat_id, Some(&w.id), &detail, &ctx)?;
                        self.timeline(&w.threat_id, at, "posture_escalated", detail)?
                    }
                }
            }
        }
        Ok(())
    }

    /// Queue a reminder or escalation notice to the recipient's channels through the outbox. The
    /// text adds only ids, times and a fresh posture link to the (already gated) warning text.
    fn send_notice(
        &self,
        w: &Warning,
        aud: Option<&Audience>,
        action: PostureAction,
        contact: Option<&str>,
        ctx: &AuditCtx,
    ) -> Result<usize> {
        use tocsin_core::tracking::{Notice, NoticeKind};
        let Some(aud) = aud.filter(|a| !a.channels.is_empty()) else {
            return Ok(0);
        };
        let (kind, due) = match action {
            PostureAction::Remind { due } => (NoticeKind::Reminder, due),
            PostureAction::Escalate { due } => (NoticeKind::Escalation, due),
        };
        let link = self.recipient_link(
            &w.id,
            w.valid.until,
            tocsin_core::links::LinkPurpose::Posture,
            ctx.at,
        )?;
        // In the audience's language and zone (docs/recipients.md).
        let cat = tocsin_core::i18n::catalogue(&aud.language);
        let zone = self.audience_zone(aud, w)?;
        let due_text = cat.local_time(due, zone);
        let (headline, opening) = match action {
            PostureAction::Remind { .. } => (
                cat.fmt("reminder-headline", &[("headline", &w.headline)]),
                cat.fmt(
                    "reminder-opening",
                    &[("id", w.id.as_str()), ("due", &due_text)],
                ),
            ),
            PostureAction::Escalate { .. } => (
                cat.fmt("escalation-headline", &[("headline", &w.headline)]),
                // What was done, not more: the same channels got this notice, and a person is
                // asked to call (a call_contact task) — nobody has been reached yet.
                match contact {
                    Some(c) => cat.fmt(
                        "escalation-opening-call",
                        &[("id", w.id.as_str()), ("due", &due_text), ("contact", c)],
                    ),
                    None => cat.fmt(
                        "escalation-opening-other",
                        &[("id", w.id.as_str()), ("due", &due_text)],
                    ),
                },
            ),
        };
        let text = format!(
            "{opening}\n{}\n{}\n\n{}\n{}",
            cat.fmt(
                "notice-window",
                &[("until", &cat.local_time(w.valid.until, zone))]
            ),
            cat.fmt("notice-report", &[("link", &link)]),
            cat.get("notice-warning"),
            w.text
        );
        let tag = format!("{}:{}", kind.as_str(), due.to_rfc3339());
        let deliveries: Vec<NewDelivery> = aud
            .channels
            .iter()
            .map(|c| NewDelivery {
                audience_id: aud.id.clone(),
                channel: c.clone(),
                idempotency_key: idempotency_key(
                    &w.id,
                    aud,
                    &format!("{}:{tag}", c.kind.as_str()),
                    &c.address,
                ),
            })
            .collect();
        let ids = self.store.enqueue_notice(
            &w.id,
            &deliveries,
            &Notice {
                kind,
                headline,
                text,
                posture_url: Some(link),
            },
            ctx,
        )?;
        Ok(ids.len())
    }

    /// One scheduler step: release, deliver, then follow through.
    pub fn tick(&self, at: Timestamp) -> Result<()> {
        self.sync_registry()?;
        self.release_due(at)?;
        self.deliver_due(at)?;
        self.check_posture(at)?;
        self.check_sla(at)
    }

    // ---- follow-through ----

    pub fn acknowledge(&self, id: &WarningId, by: &str, at: Timestamp) -> Result<()> {
        let w = self.warning(id)?;
        let ctx = AuditCtx::new(by, at);
        self.advance(&w, WarningEvent::Acknowledge, &ctx)?;
        self.store.insert_acknowledgement(
            &Acknowledgement {
                warning_id: id.clone(),
                at,
                by: by.into(),
            },
            &ctx,
        )?;
        self.timeline(
            &w.threat_id,
            at,
            "acknowledged",
            format!("{} acknowledged {} ({})", w.audience_id, id, by),
        )
    }

    pub fn report_posture(
        &self,
        id: &WarningId,
        by: &str,
        measures: Vec<Measure>,
        note: &str,
        at: Timestamp,
    ) -> Result<()> {
        let w = self.warning(id)?;
        let ctx = AuditCtx::new(by, at);
        self.advance(&w, WarningEvent::ConfirmPosture, &ctx)?;
        let list: Vec<String> = measures.iter().map(Measure::label).collect();
        self.store.insert_posture_report(
            &PostureReport {
                warning_id: id.clone(),
                at,
                by: by.into(),
                measures,
                note: note.into(),
            },
            &ctx,
        )?;
        if let Some((_, mut track)) = self
            .store
            .posture_tracks()?
            .into_iter()
            .find(|(t, _)| t == id)
        {
            track.confirm(at);
            self.store.upsert_posture_track(id, &track, &ctx)?;
        }
        self.timeline(
            &w.threat_id,
            at,
            "posture_confirmed",
            format!(
                "{} reports posture: {}; {}",
                w.audience_id,
                list.join(", "),
                note
            ),
        )
    }

    pub fn record_outcome(
        &self,
        threat_id: &ThreatId,
        kind: OutcomeKind,
        references: Vec<String>,
        note: &str,
        by: &str,
        at: Timestamp,
    ) -> Result<()> {
        let ctx = AuditCtx::new(by, at);
        self.store.insert_outcome(
            &Outcome {
                threat_id: threat_id.clone(),
                kind,
                at,
                references,
                note: note.into(),
            },
            &ctx,
        )?;
        for w in self.store.warnings(Some(threat_id))? {
            if transition(w.state, WarningEvent::RecordOutcome).is_ok() {
                self.advance(&w, WarningEvent::RecordOutcome, &ctx)?;
            }
        }
        // Who was on guard at that moment is what the after-action review needs first.
        let mut lapsed = Vec::new();
        for (wid, track) in self.store.posture_tracks()? {
            if track.is_lapsed(at) {
                lapsed.push(format!(
                    "{} (last confirmed {})",
                    wid,
                    track.last_confirmed_at.to_rfc3339()
                ));
            }
        }
        let posture = if lapsed.is_empty() {
            "all tracked recipients had confirmed posture".to_owned()
        } else {
            format!("posture lapsed at: {}", lapsed.join("; "))
        };
        self.timeline(
            threat_id,
            at,
            "outcome_recorded",
            format!("{kind:?}: {note}; {posture}"),
        )
    }
}
