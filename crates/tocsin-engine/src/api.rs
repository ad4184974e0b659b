//! Operations the full HTTP API adds to the pipeline: threats created from a structured
//! form or a parsed document, registry deletes, match reviews, and the warning lifecycle steps an
//! analyst drives by hand (edit a draft, queue now, update, cancel). Each writes through the store
//! (audited) and leaves a timeline entry like the other stages.

use crate::{not_found, Engine, EngineError, Result};
use tocsin_core::compose::leak_gate;
use tocsin_core::lifecycle::{transition, WarningEvent, WarningState};
use tocsin_core::tracking::{DeliveryStatus, Notice, NoticeKind, Warning};
use tocsin_core::{EntityId, Match, MatchReview, Threat, Timestamp, WarningId};
use tocsin_store::review::{Cancellation, DraftEdit};
use tocsin_store::AuditCtx;
use tocsin_store::NewDelivery;

impl Engine {
    /// Store a new threat and match it against the registry. A threat with the same id is a
    /// conflict (new information about a stored threat goes through `update_threat`).
    pub fn create_threat(&self, threat: &Threat, actor: &str, at: Timestamp) -> Result<Vec<Match>> {
        if threat.id.as_str().trim().is_empty() {
            return Err(EngineError::Input {
                path: "/id".into(),
                message: "a threat needs a non-empty id".into(),
            });
        }
        for (i, t) in threat.targets.iter().enumerate() {
            if t.label.trim().is_empty() {
                return Err(EngineError::Input {
                    path: format!("/targets/{i}/label"),
                    message: "a target spec needs a label".into(),
                });
            }
        }
        if self.store.threat(&threat.id)?.is_some() {
            return Err(tocsin_store::StoreError::Conflict {
                kind: "threat",
                id: threat.id.to_string(),
            }
            .into());
        }
        let ctx = AuditCtx::new(actor, at);
        self.ingest_threat(threat, &ctx)?;
        self.compute_matches(&threat.id, &ctx)
    }

    /// Remove an entity from the registry and the match index (its stored matches go too).
    pub fn delete_entity(&self, id: &EntityId, actor: &str, at: Timestamp) -> Result<()> {
        self.store.delete_entity(id, &AuditCtx::new(actor, at))?;
        self.registry
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .remove(id);
        Ok(())
    }

    /// Accept (a confirmed target) or reject (a false positive) one stored match; `review.by`
    /// and `review.at` are who reviews and when.
    pub fn review_match(&self, review: &MatchReview) -> Result<()> {
        let threat = self.threat(&review.threat_id)?;
        self.store
            .review_match(review, &AuditCtx::new(&review.by, review.at))?;
        let label = threat
            .targets
            .get(review.target)
            .map(|t| t.label.as_str())
            .unwrap_or("?");
        let detail = format!(
            "{} {}s {} for {label}: {}",
            review.by,
            review.decision.as_str(),
            review.entity_id,
            review.note
        );
        self.timeline(&review.threat_id, review.at, "match_reviewed", detail)
    }

    /// Replace a draft's headline, text and measures. The leak gate runs on every edited field
    /// exactly as on composed text; a leaking edit is refused with the field it is in
    /// ([`EngineError::Input`] with a JSON Pointer: `/text`, `/headline`, `/measures/2`).
    pub fn edit_draft(
        &self,
        id: &WarningId,
        edit: &DraftEdit,
        actor: &str,
        at: Timestamp,
    ) -> Result<Warning> {
        let w = self.warning(id)?;
        if w.state != WarningState::Draft {
            return Err(EngineError::Precondition(format!(
                "warning {id} is {}: only a draft can be edited (compose a new version instead)",
                w.state
            )));
        }
        if edit.headline.trim().is_empty() {
            return Err(EngineError::Input {
                path: "/headline".into(),
                message: "the headline must not be empty".into(),
            });
        }
        if edit.text.trim().is_empty() {
            return Err(EngineError::Input {
                path: "/text".into(),
                message: "the text must not be empty".into(),
            });
        }
        let threat = self.threat(&w.threat_id)?;
        let aud = self
            .store
            .audience(&w.audience_id)?
            .ok_or_else(|| not_found("audience", &w.audience_id))?;
        let own = own_names(self.store.as_ref(), &threat, &aud)?;
        let allowed: Vec<&str> = own.iter().map(String::as_str).collect();
        let fields = std::iter::once(("/headline".to_owned(), edit.headline.as_str()))
            .chain(std::iter::once(("/text".to_owned(), edit.text.as_str())))
            .chain(
                edit.measures
                    .iter()
                    .enumerate()
                    .map(|(i, m)| (format!("/measures/{i}"), m.as_str())),
            );
        for (path, text) in fields {
            if let Err(leak) = leak_gate(
                text,
                &threat,
                &aud,
                &self.config.global_restricted,
                &allowed,
            ) {
                // The excerpt is what the analyst typed; the rule names what kind of fact leaked.
                return Err(EngineError::Input {
                    path,
                    message: format!(
                        "the leak gate refuses this text: {} at bytes {}..{}",
                        leak.rule, leak.start, leak.end
                    ),
                });
            }
        }
        let stored = self
            .store
            .edit_draft_warning(id, edit, &AuditCtx::new(actor, at))?;
        self.timeline(
            &w.threat_id,
            at,
            "warning_edited",
            format!("{actor} edited draft {id}: {}", stored.headline),
        )?;
        Ok(stored)
    }

    /// Queue an approved warning now (its deliveries go to the outbox in the same transaction),
    /// without waiting for the scheduler's release rule (an analyst's decision, audited as theirs).
    pub fn queue_now(&self, id: &WarningId, actor: &str, at: Timestamp) -> Result<Warning> {
        let w = self.warning(id)?;
        transition(w.state, WarningEvent::Queue)?;
        self.queue(&w, &AuditCtx::new(actor, at))?;
        self.warning(id)
    }

    /// A new draft version of a warning's (threat, audience) from the current threat; it
    /// supersedes the given version once queued.
    pub fn update_warning(&self, id: &WarningId, actor: &str, at: Timestamp) -> Result<Warning> {
        let w = self.warning(id)?;
        if w.state.is_terminal() {
            return Err(EngineError::Precondition(format!(
                "warning {id} is {}: update the latest version instead",
                w.state
            )));
        }
        self.recompose(&w.threat_id, &w.audience_id, actor, at)
    }

    /// Withdraw a warning: recorded as a cancellation (a CAP `msgType` Cancel) and moved to
    /// `superseded`. Refused once the lifecycle has ended (expired, superseded, closed). Every
    /// recipient channel that received the warning gets a cancel notice through the outbox; the
    /// reason travels in that notice, so it passes the leak gate first (`/reason` when it leaks).
    pub fn cancel_warning(
        &self,
        id: &WarningId,
        reason: &str,
        actor: &str,
        at: Timestamp,
    ) -> Result<Cancellation> {
        let w = self.warning(id)?;
        transition(w.state, WarningEvent::Supersede)?;
        let received = self.received_by(&w)?;
        let notice = if received.is_empty() {
            None
        } else {
            Some(self.cancel_notice(&w, reason, at)?)
        };
        let ctx = AuditCtx::new(actor, at);
        let c = Cancellation {
            warning_id: id.clone(),
            at,
            by: actor.into(),
            reason: reason.into(),
        };
        self.store.insert_cancellation(&c, &ctx)?;
        self.advance(&w, WarningEvent::Supersede, &ctx)?;
        let sent = match notice {
            Some(n) => self.store.enqueue_notice(id, &received, &n, &ctx)?.len(),
            None => 0,
        };
        self.timeline(
            &w.threat_id,
            at,
            "warning_cancelled",
            format!(
                "{actor} cancelled {id} ({}): {reason}; cancel notice queued via {sent} channel(s)",
                w.state
            ),
        )?;
        Ok(c)
    }

    /// One cancel delivery per (audience, channel) a delivery of `w` itself reached.
    fn received_by(&self, w: &Warning) -> Result<Vec<NewDelivery>> {
        let mut seen = std::collections::BTreeSet::new();
        let mut out = Vec::new();
        for d in self.store.deliveries(Some(&w.id))? {
            if d.notice.is_some() || d.status != DeliveryStatus::Delivered {
                continue;
            }
            if seen.insert((
                d.audience_id.clone(),
                d.channel.kind.as_str(),
                d.channel.address.clone(),
            )) {
                let key = crate::audience_key(
                    &w.id,
                    &d.audience_id,
                    &format!("{}:cancel", d.channel.kind.as_str()),
                    &d.channel.address,
                );
                out.push(NewDelivery {
                    audience_id: d.audience_id.clone(),
                    channel: d.channel.clone(),
                    idempotency_key: key,
                });
            }
        }
        Ok(out)
    }

    /// The cancel notice of `w`: ids, times and the analyst's reason, which must pass the gate.
    fn cancel_notice(&self, w: &Warning, reason: &str, at: Timestamp) -> Result<Notice> {
        let reason = reason.trim();
        if !reason.is_empty() {
            let threat = self.threat(&w.threat_id)?;
            if let Some(aud) = self.store.audience(&w.audience_id)? {
                let own = own_names(self.store.as_ref(), &threat, &aud)?;
                let allowed: Vec<&str> = own.iter().map(String::as_str).collect();
                if let Err(leak) = leak_gate(
                    reason,
                    &threat,
                    &aud,
                    &self.config.global_restricted,
                    &allowed,
                ) {
                    return Err(EngineError::Input {
                        path: "/reason".into(),
                        message: format!("the reason goes to the recipients and the leak gate refuses it: {} at bytes {}..{}", leak.rule, leak.start, leak.end),
                    });
                }
            }
        }
        // In the audience's language and zone (docs/recipients.md).
        let aud = self.store.audience(&w.audience_id)?;
        let cat = tocsin_core::i18n::catalogue(aud.as_ref().map_or("en", |a| a.language.as_str()));
        let zone = match &aud {
            Some(a) => self.audience_zone(a, w)?,
            None => tocsin_core::i18n::Tz::UTC,
        };
        let why = if reason.is_empty() {
            String::new()
        } else {
            format!("\n{}", cat.fmt("cancel-reason", &[("reason", reason)]))
        };
        let text = format!(
            "{}{why}\n{}\n\n{}\n{}",
            cat.fmt(
                "cancel-opening",
                &[
                    ("id", w.id.as_str()),
                    ("version", &w.version.to_string()),
                    ("issued", &cat.local_time(w.created_at, zone)),
                    ("at", &cat.local_time(at, zone)),
                ],
            ),
            cat.get("cancel-other"),
            cat.get("cancel-warning"),
            w.text
        );
        Ok(Notice {
            kind: NoticeKind::Cancel,
            headline: cat.fmt("cancel-headline", &[("headline", &w.headline)]),
            text,
            posture_url: None,
        })
    }
}

/// What the audience may read although a withheld portion may name it: its own sites' names, its
/// name and its contact (as `compose` passes them to the gate).
fn own_names(
    store: &dyn tocsin_store::Store,
    threat: &Threat,
    aud: &tocsin_core::Audience,
) -> Result<Vec<String>> {
    let mut own: Vec<String> = vec![aud.name.clone()];
    own.extend(aud.escalation_contact.clone());
    for m in store.matches(&threat.id)? {
        if let Some(e) = store
            .entity(&m.entity_id)?
            .filter(|e| e.audiences.contains(&aud.id))
        {
            own.push(e.name.clone());
            own.extend(e.aliases.iter().cloned());
        }
    }
    Ok(own)
}

/// The leak gate's verdict on a stored warning, re-run at read time against the threat as it is
/// now (its restricted terms and withheld portions) — not a flag remembered from composing.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct LeakVerdict {
    pub passed: bool,
    /// Restricted terms the gate looked for: the threat's own plus the global list.
    pub checked_terms: usize,
    /// Portions of the threat withheld from this audience (checked verbatim and by n-gram).
    pub withheld_portions: usize,
    /// Fields checked: headline, text and each measure.
    pub checked_fields: usize,
    /// The first block, when it did not pass: rule, field (`/text`, `/measures/1`) and span.
    pub blocked: Option<tocsin_core::compose::LeakError>,
}

/// Run the real gate over every field of `w`. `None` when its threat or audience is gone.
pub fn leak_verdict(
    store: &dyn tocsin_store::Store,
    w: &Warning,
    global_restricted: &[String],
) -> Result<Option<LeakVerdict>> {
    Ok(
        leak_verdicts(store, std::slice::from_ref(w), global_restricted)?
            .pop()
            .flatten(),
    )
}

/// [`leak_verdict`] of each of `ws`, in order, loading each (threat, audience) and its allowed
/// names once for the whole list rather than once per warning.
pub fn leak_verdicts(
    store: &dyn tocsin_store::Store,
    ws: &[Warning],
    global_restricted: &[String],
) -> Result<Vec<Option<LeakVerdict>>> {
    type Ctx = Option<(Threat, tocsin_core::Audience, Vec<String>)>;
    let mut cache: std::collections::HashMap<(String, String), Ctx> =
        std::collections::HashMap::new();
    let mut out = Vec::with_capacity(ws.len());
    for w in ws {
        let key = (w.threat_id.to_string(), w.audience_id.to_string());
        if !cache.contains_key(&key) {
            let ctx = match (store.threat(&w.threat_id)?, store.audience(&w.audience_id)?) {
                (Some(t), Some(a)) => {
                    let own = own_names(store, &t, &a)?;
                    Some((t, a, own))
                }
                _ => None,
            };
            cache.insert(key.clone(), ctx);
        }
        out.push(
            cache
                .get(&key)
                .and_then(Option::as_ref)
                .map(|(threat, aud, own)| verdict_of(w, threat, aud, own, global_restricted)),
        );
    }
    Ok(out)
}

fn verdict_of(
    w: &Warning,
    threat: &Threat,
    aud: &tocsin_core::Audience,
    own: &[String],
    global_restricted: &[String],
) -> LeakVerdict {
    let allowed: Vec<&str> = own.iter().map(String::as_str).collect();
    let fields = std::iter::once(("/headline".to_owned(), w.headline.as_str()))
        .chain(std::iter::once(("/text".to_owned(), w.text.as_str())))
        .chain(
            w.measures
                .iter()
                .enumerate()
                .map(|(i, m)| (format!("/measures/{i}"), m.as_str())),
        );
    let mut blocked = None;
    let mut checked_fields = 0;
    for (path, text) in fields {
        checked_fields += 1;
        if let Err(mut leak) = leak_gate(text, threat, aud, global_restricted, &allowed) {
            leak.field = path;
            blocked.get_or_insert(leak);
        }
    }
    let withheld_portions = threat
        .portions
        .iter()
        .filter(|p| tocsin_core::marking::releasable_to(&p.mark, aud, threat.originator).is_err())
        .count();
    LeakVerdict {
        passed: blocked.is_none(),
        checked_terms: threat.restricted_terms.len() + global_restricted.len(),
        withheld_portions,
        checked_fields,
        blocked,
    }
}

impl Engine {
    /// [`leak_verdict`] with this engine's global restricted terms.
    pub fn leak_verdict(&self, w: &Warning) -> Result<Option<LeakVerdict>> {
        leak_verdict(self.store.as_ref(), w, &self.config.global_restricted)
    }
}
