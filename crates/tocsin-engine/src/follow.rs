//! Follow-through: signed one-time links for recipients, feedback and the analysts'
//! queue, the delivery SLA, new information that reopens a determination, window extension and
//! re-warning, and the effectiveness report.

use crate::{Engine, EngineError, Result};
use chrono::Duration;
use rand::RngCore;
use tocsin_core::duty::Decision;
use tocsin_core::effectiveness::{self, EffectivenessReport, ReportInput};
use tocsin_core::followup::{Feedback, FeedbackKind, Resolution, Task, TaskKind};
use tocsin_core::lifecycle::{transition, WarningEvent, WarningState};
use tocsin_core::links::{self, LinkClaims, LinkPurpose};
use tocsin_core::tracking::{Measure, Warning};
use tocsin_core::{AudienceKind, ThreatId, ThreatWindow, Timestamp, WarningId};
use tocsin_store::AuditCtx;

/// Links stay valid this long after the threat window closes (late acknowledgements still count).
const LINK_GRACE_DAYS: i64 = 7;

/// A used link answers the same request again, with the same answer and next link, this long
/// after its use (a client that timed out retries without losing the next link).
pub const LINK_REPLAY_MINUTES: i64 = 15;

/// Whether a link can still be used (`GET /r/{token}`).
#[derive(Debug, Clone, serde::Serialize)]
pub struct LinkStatus {
    pub purpose: LinkPurpose,
    /// `valid`, `spent` or `expired`.
    pub state: &'static str,
    pub expires_at: Option<Timestamp>,
    /// When it was used (spent links).
    pub used_at: Option<Timestamp>,
    /// Until when the same request is answered again (spent links within the grace period).
    pub replay_until: Option<Timestamp>,
}

/// A link spent now, or the answer it gave to the same request within the grace period.
enum Spend {
    Fresh(LinkClaims),
    Replay(LinkOutcome),
}

fn recorded_name(s: &str) -> Option<&'static str> {
    ["acknowledgement", "posture_report", "feedback"]
        .into_iter()
        .find(|r| *r == s)
}

fn request_digest(parts: &[&str]) -> String {
    use sha2::Digest;
    let mut h = sha2::Sha256::new();
    for p in parts {
        h.update((p.len() as u64).to_be_bytes());
        h.update(p.as_bytes());
    }
    hex::encode(h.finalize())
}

/// What a recipient gets back after using a link: the next one-time link to use.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct LinkOutcome {
    pub warning_id: WarningId,
    pub recorded: &'static str,
    /// The next check-in link (posture), when the window is still open.
    pub next_posture_link: Option<String>,
    /// When the next posture check-in falls due (the link above is for it), if one does.
    pub next_posture_due: Option<Timestamp>,
}

/// Why a recipient link is refused before anything is shown or recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkRefusal {
    /// Not a link this server signed (malformed or a bad signature).
    Forged,
    /// Signed here, but past its expiry.
    Expired(Timestamp),
    /// Signed and in time, but already used once.
    Spent,
}

/// What a recipient's page shows for a link, without spending it: the link's claims and the
/// warning exactly as its audience received it (nothing else of the threat), the audience's
/// language, and whether the link can still be used.
#[derive(Debug, Clone)]
pub struct LinkView {
    pub purpose: LinkPurpose,
    pub expires: Timestamp,
    pub warning: Warning,
    /// The audience's `language` (`en` when the audience is no longer in the registry).
    pub language: String,
    /// The zone the audience's times are shown in (`tocsin_core::i18n::audience_zone`).
    pub zone: tocsin_core::i18n::Tz,
    /// `None` when the link is usable now; otherwise why not.
    pub refused: Option<LinkRefusal>,
}

impl Engine {
    /// The link-signing key: created in the store on first use, then kept in memory (signing
    /// and verifying links must not cost a store transaction each).
    fn link_secret(&self, at: Timestamp) -> Result<&[u8]> {
        if let Some(k) = self.link_key.get() {
            return Ok(k);
        }
        let gen = || {
            let mut k = vec![0u8; 32];
            rand::thread_rng().fill_bytes(&mut k);
            k
        };
        let key = self
            .store
            .secret("link-signing-key", &gen, &AuditCtx::new("system", at))?;
        Ok(self.link_key.get_or_init(|| key))
    }

    /// A fresh signed one-time link for `purpose` on warning `w`.
    pub fn recipient_link(
        &self,
        w: &WarningId,
        until: Timestamp,
        purpose: LinkPurpose,
        at: Timestamp,
    ) -> Result<String> {
        let mut nonce = [0u8; 16];
        rand::thread_rng().fill_bytes(&mut nonce);
        let claims = LinkClaims {
            warning_id: w.clone(),
            purpose,
            expires: (until + Duration::days(LINK_GRACE_DAYS)).timestamp(),
            nonce: hex::encode(nonce),
        };
        let token = links::sign(&claims, self.link_secret(at)?);
        Ok(format!(
            "{}/r/{}",
            self.config.public_url.trim_end_matches('/'),
            token
        ))
    }

    /// Verify a link token, check that what it asks for is allowed now, then spend it (single
    /// use). A refused action leaves the link usable. A spent link asked the same request
    /// (`digest`) again within [`LINK_REPLAY_MINUTES`] gives back the answer it gave.
    fn spend_link(
        &self,
        token: &str,
        purpose: LinkPurpose,
        digest: &str,
        at: Timestamp,
    ) -> Result<Spend> {
        let claims = links::verify(token, self.link_secret(at)?, purpose, at)
            .map_err(|e| EngineError::Precondition(format!("recipient link refused: {e}")))?;
        if let Some(u) = self.store.link_use(&claims.nonce)? {
            return self.replay(&claims, &u, digest, at).map(Spend::Replay);
        }
        let w = self.warning(&claims.warning_id)?;
        let event = match purpose {
            LinkPurpose::Acknowledge => Some(WarningEvent::Acknowledge),
            LinkPurpose::Posture => Some(WarningEvent::ConfirmPosture),
            LinkPurpose::Feedback => None,
        };
        if let Some(ev) = event {
            transition(w.state, ev)?;
        }
        let fresh = self.store.use_link_nonce(
            &claims.nonce,
            &claims.warning_id,
            &format!("{purpose:?}").to_lowercase(),
            &AuditCtx::new("recipient-link", at),
        )?;
        if !fresh {
            // Used by a concurrent request meanwhile: answer as that one did, if it is the same.
            if let Some(u) = self.store.link_use(&claims.nonce)? {
                return self.replay(&claims, &u, digest, at).map(Spend::Replay);
            }
            return Err(EngineError::Precondition(
                "recipient link refused: it was already used".into(),
            ));
        }
        Ok(Spend::Fresh(claims))
    }

    /// The stored answer of a used link, for the same request within the grace period.
    fn replay(
        &self,
        claims: &LinkClaims,
        u: &tocsin_store::followup::LinkUse,
        digest: &str,
        at: Timestamp,
    ) -> Result<LinkOutcome> {
        let until = u.used_at + Duration::minutes(LINK_REPLAY_MINUTES);
        let spent = |why: &str| {
            EngineError::Precondition(format!(
                "recipient link refused: it was already used at {}{why}",
                u.used_at.to_rfc3339()
            ))
        };
        if at > until {
            return Err(spent(""));
        }
        if u.request_digest.as_deref() != Some(digest) {
            return Err(spent(" for another request"));
        }
        let answer: serde_json::Value = u
            .answer
            .as_deref()
            .and_then(|a| serde_json::from_str(a).ok())
            .ok_or_else(|| spent(" and its answer is not kept"))?;
        Ok(LinkOutcome {
            warning_id: claims.warning_id.clone(),
            recorded: answer["recorded"]
                .as_str()
                .and_then(recorded_name)
                .ok_or_else(|| spent(" and its answer is not kept"))?,
            next_posture_link: answer["next_posture_link"].as_str().map(str::to_owned),
            next_posture_due: answer["next_posture_due"]
                .as_str()
                .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
                .map(|t| t.with_timezone(&chrono::Utc)),
        })
    }

    /// Keep what a fresh use answered, for a repeat of the same request.
    fn keep_answer(
        &self,
        claims: &LinkClaims,
        digest: &str,
        out: &LinkOutcome,
        at: Timestamp,
    ) -> Result<()> {
        let answer = serde_json::json!({
            "recorded": out.recorded,
            "next_posture_link": out.next_posture_link,
            "next_posture_due": out.next_posture_due,
        });
        self.store.record_link_answer(
            &claims.nonce,
            digest,
            &answer.to_string(),
            &AuditCtx::new("recipient-link", at),
        )?;
        Ok(())
    }

    /// Whether a link is valid, spent or expired (does not use it). A link whose signature does
    /// not verify is refused.
    pub fn link_status(&self, token: &str, at: Timestamp) -> Result<LinkStatus> {
        let claims = links::verify_signature(token, self.link_secret(at)?)
            .map_err(|e| EngineError::Precondition(format!("recipient link refused: {e}")))?;
        let expires_at = links::expires_at(&claims);
        let used = self.store.link_use(&claims.nonce)?;
        let (state, used_at, replay_until) = match &used {
            Some(u) => {
                let until = u.used_at + Duration::minutes(LINK_REPLAY_MINUTES);
                ("spent", Some(u.used_at), (at <= until).then_some(until))
            }
            None if at.timestamp() > claims.expires => ("expired", None, None),
            None => ("valid", None, None),
        };
        Ok(LinkStatus {
            purpose: claims.purpose,
            state,
            expires_at,
            used_at,
            replay_until,
        })
    }

    /// Which purpose a token was issued for (without spending it), so one URL can serve all.
    pub fn link_purpose(&self, token: &str, at: Timestamp) -> Result<LinkPurpose> {
        links::verify_any(token, self.link_secret(at)?, at)
            .map(|c| c.purpose)
            .map_err(|e| EngineError::Precondition(format!("recipient link refused: {e}")))
    }

    /// What a link is for and the warning it concerns, for the recipient's page (nothing is
    /// spent). A forged link (`Err(Forged)`) names no warning; an expired or spent one is a view
    /// with `refused` set, whose page shows only why, in the audience's language.
    pub fn link_view(
        &self,
        token: &str,
        at: Timestamp,
    ) -> Result<std::result::Result<LinkView, LinkRefusal>> {
        let Ok(claims) = links::verify_signature(token, self.link_secret(at)?) else {
            return Ok(Err(LinkRefusal::Forged));
        };
        let expires = chrono::DateTime::from_timestamp(claims.expires, 0).unwrap_or(at);
        let warning = self.warning(&claims.warning_id)?;
        let aud = self.store.audience(&warning.audience_id)?;
        let (language, zone) = match &aud {
            Some(a) => (a.language.clone(), self.audience_zone(a, &warning)?),
            None => ("en".to_owned(), tocsin_core::i18n::Tz::UTC),
        };
        let refused = if at.timestamp() > claims.expires {
            Some(LinkRefusal::Expired(expires))
        } else if self.store.link_nonce_used(&claims.nonce)? {
            Some(LinkRefusal::Spent)
        } else {
            None
        };
        Ok(Ok(LinkView {
            purpose: claims.purpose,
            expires,
            warning,
            language,
            zone,
            refused,
        }))
    }

    /// The zone an audience's times about warning `w` are shown in: its own, else that of its
    /// sites the warning's threat matched (by a spec the audience may be told about, as the
    /// composer chose them), else its country's (single-zone countries), else UTC.
    pub fn audience_zone(
        &self,
        a: &tocsin_core::Audience,
        w: &Warning,
    ) -> Result<tocsin_core::i18n::Tz> {
        if a.timezone.is_some() {
            return Ok(tocsin_core::compose::audience_zone(a, &[]));
        }
        let Some(threat) = self.store.threat(&w.threat_id)? else {
            return Ok(tocsin_core::compose::audience_zone(a, &[]));
        };
        let ids: std::collections::BTreeSet<tocsin_core::EntityId> = self
            .store
            .matches(&threat.id)?
            .into_iter()
            .filter(|m| {
                threat.targets.get(m.target).is_some_and(|t| {
                    tocsin_core::marking::releasable_to(&t.mark, a, threat.originator).is_ok()
                })
            })
            .map(|m| m.entity_id)
            .collect();
        let mut sites = Vec::new();
        for id in ids {
            if let Some(e) = self.store.entity(&id)? {
                if e.audiences.contains(&a.id) {
                    sites.push(e);
                }
            }
        }
        let sites: Vec<&tocsin_core::Entity> = sites.iter().collect();
        Ok(tocsin_core::compose::audience_zone(a, &sites))
    }

    /// When the warning's next posture check-in falls due, if one does before the window closes.
    fn next_posture_due(&self, w: &Warning) -> Result<Option<Timestamp>> {
        Ok(self
            .store
            .posture_tracks()?
            .into_iter()
            .find(|(t, _)| *t == w.id)
            .and_then(|(_, track)| {
                let due = track.last_confirmed_at + Duration::hours(track.interval_hours);
                (due < track.window_until).then_some(due)
            }))
    }

    fn next_posture_link(&self, w: &Warning, at: Timestamp) -> Result<Option<String>> {
        if at >= w.valid.until || w.audience_kind == AudienceKind::Public {
            return Ok(None);
        }
        Ok(Some(self.recipient_link(
            &w.id,
            w.valid.until,
            LinkPurpose::Posture,
            at,
        )?))
    }

    pub fn acknowledge_via_link(&self, token: &str, at: Timestamp) -> Result<LinkOutcome> {
        let digest = request_digest(&["acknowledge"]);
        let c = match self.spend_link(token, LinkPurpose::Acknowledge, &digest, at)? {
            Spend::Replay(out) => return Ok(out),
            Spend::Fresh(c) => c,
        };
        self.acknowledge(&c.warning_id, &format!("link:{}", c.warning_id), at)?;
        let w = self.warning(&c.warning_id)?;
        let out = LinkOutcome {
            warning_id: c.warning_id.clone(),
            recorded: "acknowledgement",
            next_posture_link: self.next_posture_link(&w, at)?,
            next_posture_due: self.next_posture_due(&w)?,
        };
        self.keep_answer(&c, &digest, &out, at)?;
        Ok(out)
    }

    pub fn posture_via_link(
        &self,
        token: &str,
        measures: Vec<Measure>,
        note: &str,
        at: Timestamp,
    ) -> Result<LinkOutcome> {
        let listed = serde_json::to_string(&measures).unwrap_or_default();
        let digest = request_digest(&["posture", &listed, note]);
        let c = match self.spend_link(token, LinkPurpose::Posture, &digest, at)? {
            Spend::Replay(out) => return Ok(out),
            Spend::Fresh(c) => c,
        };
        self.report_posture(
            &c.warning_id,
            &format!("link:{}", c.warning_id),
            measures,
            note,
            at,
        )?;
        let w = self.warning(&c.warning_id)?;
        let out = LinkOutcome {
            warning_id: c.warning_id.clone(),
            recorded: "posture_report",
            next_posture_link: self.next_posture_link(&w, at)?,
            next_posture_due: self.next_posture_due(&w)?,
        };
        self.keep_answer(&c, &digest, &out, at)?;
        Ok(out)
    }

    pub fn feedback_via_link(
        &self,
        token: &str,
        kind: FeedbackKind,
        text: &str,
        at: Timestamp,
    ) -> Result<LinkOutcome> {
        let kind_name = serde_json::to_string(&kind).unwrap_or_default();
        let digest = request_digest(&["feedback", &kind_name, text]);
        let c = match self.spend_link(token, LinkPurpose::Feedback, &digest, at)? {
            Spend::Replay(out) => return Ok(out),
            Spend::Fresh(c) => c,
        };
        self.feedback(
            &c.warning_id,
            &format!("link:{}", c.warning_id),
            kind,
            text,
            at,
        )?;
        let out = LinkOutcome {
            warning_id: c.warning_id.clone(),
            recorded: "feedback",
            next_posture_link: None,
            next_posture_due: None,
        };
        self.keep_answer(&c, &digest, &out, at)?;
        Ok(out)
    }

    /// A recipient's feedback. "Too general" opens a follow-up for the analysts.
    pub fn feedback(
        &self,
        id: &WarningId,
        by: &str,
        kind: FeedbackKind,
        text: &str,
        at: Timestamp,
    ) -> Result<Option<i64>> {
        let w = self.warning(id)?;
        let ctx = AuditCtx::new(by, at);
        self.store.insert_feedback(
            &Feedback {
                warning_id: id.clone(),
                at,
                by: by.into(),
                kind,
                text: text.into(),
            },
            &ctx,
        )?;
        let mut task = None;
        if kind == FeedbackKind::TooGeneral {
            let detail = format!("{} says the warning is too general: {text}. Release more specific detail through the composer, or record why not.", w.audience_id);
            task = Some(self.store.open_task(
                TaskKind::FeedbackFollowUp,
                &w.threat_id,
                Some(id),
                &detail,
                &ctx,
            )?);
        }
        self.timeline(
            &w.threat_id,
            at,
            "feedback",
            format!("{} on {}: {:?} — {}", w.audience_id, id, kind, text),
        )?;
        Ok(task)
    }

    /// Close an item in the analysts' queue.
    pub fn resolve_task(
        &self,
        task_id: i64,
        resolution: Resolution,
        by: &str,
        at: Timestamp,
    ) -> Result<Task> {
        if let Resolution::ReleasedMore { warning_id } = &resolution {
            self.warning(warning_id)?;
        }
        let t = self
            .store
            .close_task(task_id, &resolution, &AuditCtx::new(by, at))?;
        self.timeline(
            &t.threat_id,
            at,
            "task_closed",
            format!(
                "task {} ({}) closed by {by}: {:?}",
                t.id,
                t.kind.as_str(),
                resolution
            ),
        )?;
        Ok(t)
    }

    /// Compose a new version of one audience's warning (after new information or feedback); it
    /// supersedes the previous version when queued.
    pub fn recompose(
        &self,
        threat_id: &ThreatId,
        audience: &tocsin_core::AudienceId,
        actor: &str,
        at: Timestamp,
    ) -> Result<Warning> {
        let drafts = self.compose_for(threat_id, Some(audience), actor, at)?;
        drafts.into_iter().next().ok_or_else(|| {
            EngineError::Precondition(format!(
                "no warning could be composed for {audience} (see the timeline)"
            ))
        })
    }

    /// "Without delay": a warn determination whose deadline passed while routed warnings were not
    /// yet delivered escalates once to the analysts' queue.
    pub fn check_sla(&self, at: Timestamp) -> Result<()> {
        let open = self.store.tasks(false)?;
        for threat in self.store.threats()? {
            let Some(d) = self.store.determinations(&threat.id)?.pop() else {
                continue;
            };
            if d.decision != Decision::Warn || at < d.deadline {
                continue;
            }
            if open.iter().any(|t| {
                t.kind == TaskKind::SlaBreach
                    && t.threat_id == threat.id
                    && t.opened_at >= d.proposed_at
            }) {
                continue;
            }
            let late: Vec<String> = self
                .store
                .warnings(Some(&threat.id))?
                .into_iter()
                .filter(|w| {
                    w.audience_kind != AudienceKind::Public
                        && matches!(
                            w.state,
                            WarningState::Draft | WarningState::Approved | WarningState::Queued
                        )
                })
                .map(|w| format!("{} ({})", w.id, w.state))
                .collect();
            let undecided = d.approver.is_none();
            if late.is_empty() && !undecided {
                continue;
            }
            let detail = if undecided {
                format!(
                    "determination proposed by {} is still unapproved past its deadline {}",
                    d.proposer,
                    d.deadline.to_rfc3339()
                )
            } else {
                format!(
                    "not delivered by the deadline {}: {}",
                    d.deadline.to_rfc3339(),
                    late.join(", ")
                )
            };
            self.store.open_task(
                TaskKind::SlaBreach,
                &threat.id,
                None,
                &detail,
                &AuditCtx::new("scheduler", at),
            )?;
            self.timeline(&threat.id, at, "sla_escalated", detail)?;
        }
        Ok(())
    }

    /// New information about a threat: store it, recompute matches, and reopen the determination
    /// (the history keeps every earlier one).
    pub fn update_threat(
        &self,
        threat: &tocsin_core::Threat,
        what: &str,
        actor: &str,
        at: Timestamp,
    ) -> Result<()> {
        let ctx = AuditCtx::new(actor, at);
        self.store.update_threat(threat, &ctx)?;
        self.compute_matches(&threat.id, &ctx)?;
        let detail = format!("new information ({what}): the determination must be made again");
        self.store
            .open_task(TaskKind::Redetermine, &threat.id, None, &detail, &ctx)?;
        self.timeline(&threat.id, at, "determination_reopened", detail)
    }

    /// Extend a threat's window (a re-confirmed threat): posture tracking follows the new end, and
    /// the reopened determination leads to new warning versions that re-warn every recipient.
    pub fn extend_window(
        &self,
        threat_id: &ThreatId,
        until: Timestamp,
        actor: &str,
        at: Timestamp,
    ) -> Result<()> {
        let mut threat = self.threat(threat_id)?;
        let old = threat.window.until;
        threat.window = ThreatWindow::new(threat.window.from, until)
            .map_err(|e| EngineError::Precondition(e.to_string()))?;
        self.update_threat(
            &threat,
            &format!(
                "window extended from {} to {}",
                old.to_rfc3339(),
                until.to_rfc3339()
            ),
            actor,
            at,
        )?;
        let ctx = AuditCtx::new(actor, at);
        for (wid, mut track) in self.store.posture_tracks()? {
            let w = self.warning(&wid)?;
            if &w.threat_id == threat_id && !w.state.is_terminal() {
                track.window_until = until;
                self.store.upsert_posture_track(&wid, &track, &ctx)?;
            }
        }
        Ok(())
    }

    pub fn tasks(&self, open_only: bool) -> Result<Vec<Task>> {
        Ok(self.store.tasks(open_only)?)
    }

    /// The effectiveness report for `[from, until)`.
    pub fn effectiveness(&self, from: Timestamp, until: Timestamp) -> Result<EffectivenessReport> {
        let s = &self.store;
        let (threats, warnings, deliveries, acks, tracks, outcomes) = (
            s.threats()?,
            s.warnings(None)?,
            s.deliveries(None)?,
            s.acknowledgements(None)?,
            s.posture_tracks()?,
            s.outcomes(None)?,
        );
        Ok(effectiveness::report(
            &ReportInput {
                threats: &threats,
                warnings: &warnings,
                deliveries: &deliveries,
                acknowledgements: &acks,
                posture_tracks: &tracks,
                outcomes: &outcomes,
            },
            from,
            until,
        ))
    }
}
