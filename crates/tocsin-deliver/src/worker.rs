//! The outbox worker: claim with a lease, send concurrently within per-channel limits, record the
//! outcomes in batches, retry with backoff and jitter, dead-letter.
//!
//! One coordinator thread talks to the store; a pool of sender threads talks to the receivers.
//! A sender slot is freed only once its outcome is committed, so at any moment at most
//! `max_in_flight` deliveries have been (or are being) sent without a durable record: a crash
//! re-sends at most that many (after their lease expires), and receivers drop those duplicates by
//! the idempotency key. Claimed deliveries not yet handed to a sender are not sent at all; a crash
//! only delays them until their lease expires.

use crate::{Channel, Disposition, RetryPolicy, SendError};
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};
use tocsin_core::tracking::{Delivery, Warning};
use tocsin_core::{ChannelKind, Timestamp, WarningId};
use tocsin_store::{AuditCtx, ClaimScope, Store, StoreError};

/// Limits for one channel kind.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ChannelLimits {
    /// Sends of this kind at once (the worker's `max_in_flight` caps the total).
    pub concurrency: usize,
    /// Sends of this kind per second (token bucket with a one-second burst); `None`: unlimited.
    pub per_second: Option<f64>,
}

#[derive(Debug, Clone)]
pub struct WorkerConfig {
    /// Names this worker in leases and the audit chain; unique per process.
    pub worker_id: String,
    /// How long a claim holds. Renewed while the worker lives; longer than any send's timeout.
    pub lease: chrono::Duration,
    /// Deliveries sent but not yet recorded, at most (the duplicates one crash can cause).
    pub max_in_flight: usize,
    /// Deliveries claimed per claim (one transaction), at least `max_in_flight`. Claimed but not
    /// yet sent, a delivery is only leased: a crash delays it until the lease expires, it never
    /// sends it twice, so a large claim costs no safety and saves transactions.
    pub claim_batch: usize,
    /// Outcomes recorded per transaction, at most; fewer when the senders have nothing else in
    /// flight or the oldest outcome has waited [`RECORD_WAIT`]. A sender's slot is freed only
    /// once its outcome is recorded.
    pub record_batch: usize,
    pub limits: HashMap<ChannelKind, ChannelLimits>,
    pub retry: RetryPolicy,
    /// How long an idle worker waits before asking the store again.
    pub idle_poll: Duration,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        let limits = HashMap::from([
            (
                ChannelKind::File,
                ChannelLimits {
                    concurrency: 4,
                    per_second: None,
                },
            ),
            (
                ChannelKind::Webhook,
                ChannelLimits {
                    concurrency: 64,
                    per_second: None,
                },
            ),
            (
                ChannelKind::Email,
                ChannelLimits {
                    concurrency: 4,
                    per_second: None,
                },
            ),
        ]);
        Self {
            worker_id: format!(
                "worker-{}-{:08x}",
                std::process::id(),
                rand::random::<u32>()
            ),
            lease: chrono::Duration::seconds(60),
            max_in_flight: 64,
            claim_batch: 512,
            record_batch: 16,
            limits,
            retry: RetryPolicy::default(),
            idle_poll: Duration::from_millis(200),
        }
    }
}

/// How long a finished send waits for others to share its record's transaction.
pub const RECORD_WAIT: Duration = Duration::from_millis(2);

/// What the worker did (ids of deliveries).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct WorkReport {
    pub delivered: Vec<i64>,
    pub retrying: Vec<i64>,
    /// Dead-lettered, including every delivery an unsubscribe ended.
    pub dead: Vec<i64>,
    /// Sent, but the outcome was not ours to record: another worker took the lease over (or an
    /// analyst changed the delivery) meanwhile.
    pub lost: Vec<i64>,
}

impl WorkReport {
    fn absorb(&mut self, other: WorkReport) {
        self.delivered.extend(other.delivered);
        self.retrying.extend(other.retrying);
        self.dead.extend(other.dead);
        self.lost.extend(other.lost);
    }
}

#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    #[error(transparent)]
    Store(#[from] StoreError),
}

struct Job {
    delivery: Delivery,
    warning: Arc<Warning>,
    channel: Arc<dyn Channel>,
}

struct Done {
    delivery: Delivery,
    result: Result<(), SendError>,
    /// Handed to a sender (holds an in-flight slot), as opposed to failed before sending.
    sent: bool,
}

/// The clock a running worker reads: the deployment's clock (wall time, or a replay of a past
/// case shifted by the offset the store records), never a process-local one.
pub type Clock = Arc<dyn Fn() -> Timestamp + Send + Sync>;

#[derive(Clone, Copy)]
enum Mode<'a> {
    /// At a fixed (possibly simulated) time, at most `limit` deliveries, until none is due.
    Once { now: Timestamp, limit: usize },
    /// On the worker's clock until `stop` is set.
    Until(&'a AtomicBool, &'a Clock),
}

impl Mode<'_> {
    fn now(&self) -> Timestamp {
        match self {
            Mode::Once { now, .. } => *now,
            Mode::Until(_, clock) => clock(),
        }
    }
    fn stopping(&self) -> bool {
        matches!(self, Mode::Until(stop, _) if stop.load(Ordering::SeqCst))
    }
}

/// Token bucket for a per-second rate.
struct Bucket {
    rate: f64,
    tokens: f64,
    last: Instant,
}

impl Bucket {
    fn new(rate: f64) -> Self {
        Self {
            rate,
            tokens: rate.max(1.0),
            last: Instant::now(),
        }
    }
    fn take(&mut self) -> Result<(), Duration> {
        let now = Instant::now();
        self.tokens = (self.tokens + now.duration_since(self.last).as_secs_f64() * self.rate)
            .min(self.rate.max(1.0));
        self.last = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64(
                ((1.0 - self.tokens) / self.rate).max(0.0005),
            ))
        }
    }
}

/// Drains due deliveries through the configured channels.
pub struct OutboxWorker {
    channels: HashMap<ChannelKind, Arc<dyn Channel>>,
    pub config: WorkerConfig,
    /// The actor of the audit events this worker writes.
    pub actor: String,
    /// What this worker claims: the deliveries its channels can send.
    scope: ClaimScope,
    /// The clock of [`OutboxWorker::run`] (default: wall time).
    clock: Clock,
}

impl OutboxWorker {
    pub fn new(channels: Vec<Box<dyn Channel>>) -> Self {
        Self::with_config(channels, WorkerConfig::default())
    }

    pub fn with_config(channels: Vec<Box<dyn Channel>>, config: WorkerConfig) -> Self {
        let channels: HashMap<ChannelKind, Arc<dyn Channel>> = channels
            .into_iter()
            .map(|c| (c.kind(), Arc::from(c)))
            .collect();
        let mut scope = ClaimScope {
            channels: channels.iter().map(|(k, c)| (*k, c.addresses())).collect(),
        };
        scope.channels.sort_by_key(|(k, _)| k.as_str());
        Self {
            channels,
            actor: format!("worker:{}", config.worker_id),
            config,
            scope,
            clock: Arc::new(chrono::Utc::now),
        }
    }

    /// Run on `clock` (the deployment's clock) instead of wall time.
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// The deliveries this worker claims: per channel kind, the addresses it can send to.
    pub fn scope(&self) -> &ClaimScope {
        &self.scope
    }

    fn limits(&self, kind: ChannelKind) -> ChannelLimits {
        self.config
            .limits
            .get(&kind)
            .copied()
            .unwrap_or(ChannelLimits {
                concurrency: self.config.max_in_flight,
                per_second: None,
            })
    }

    /// Send every delivery due at `now` (at most `limit`), wait for all of them, record them.
    /// `now` may be a simulated clock (the demo): leases, retry times and audit times use it.
    pub fn run_once(
        &self,
        store: &dyn Store,
        now: Timestamp,
        limit: usize,
    ) -> Result<WorkReport, WorkerError> {
        let mut report = WorkReport::default();
        self.pump(store, Mode::Once { now, limit }, &mut |r| report.absorb(r))?;
        Ok(report)
    }

    /// Work on the real clock until `stop` is set; then finish and record what is in flight,
    /// release the leases of what was claimed but not sent, and return. `on_batch` sees each
    /// recorded batch (for logs and counters).
    pub fn run(
        &self,
        store: &dyn Store,
        stop: &AtomicBool,
        on_batch: &mut dyn FnMut(&WorkReport),
    ) -> Result<(), WorkerError> {
        self.pump(store, Mode::Until(stop, &self.clock), &mut |r| on_batch(&r))
    }

    fn pump(
        &self,
        store: &dyn Store,
        mode: Mode<'_>,
        sink: &mut dyn FnMut(WorkReport),
    ) -> Result<(), WorkerError> {
        let max = self.config.max_in_flight.max(1);
        let once_limit = match mode {
            Mode::Once { limit, .. } => Some(limit),
            Mode::Until(..) => None,
        };
        let batch = self.config.claim_batch.max(max);
        let record_at = self.config.record_batch.clamp(1, max);
        let first_want = once_limit.map_or(batch, |l| l.min(batch));
        let first = self.claim(store, mode.now(), first_want)?;
        if first.is_empty() && once_limit.is_some() {
            return Ok(());
        }
        let mut queue: VecDeque<Delivery> = first.into();
        let mut claimed_total = queue.len();
        let mut held: HashSet<i64> = queue.iter().map(|d| d.id).collect();
        let threads = once_limit.map_or(max, |l| l.min(max)).max(1);

        std::thread::scope(|scope| {
            let (job_tx, job_rx) = mpsc::channel::<Job>();
            let job_rx = Arc::new(Mutex::new(job_rx));
            let (done_tx, done_rx) = mpsc::channel::<Done>();
            for _ in 0..threads {
                let rx = Arc::clone(&job_rx);
                let tx = done_tx.clone();
                scope.spawn(move || loop {
                    let job = { rx.lock().unwrap_or_else(|p| p.into_inner()).recv() };
                    let Ok(job) = job else { break };
                    // A panicking channel must not take the worker (and its slot) down with it.
                    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        job.channel.send(&job.delivery, &job.warning)
                    }))
                    .unwrap_or_else(|_| {
                        Err(SendError::Transport {
                            channel: job.channel.kind().as_str(),
                            address: job.delivery.channel.address.clone(),
                            reason: "channel panicked".into(),
                        })
                    });
                    if tx
                        .send(Done {
                            delivery: job.delivery,
                            result,
                            sent: true,
                        })
                        .is_err()
                    {
                        break;
                    }
                });
            }
            drop(done_tx);

            let outcome = (|| -> Result<(), WorkerError> {
                let mut in_flight = 0usize;
                let mut per_kind: HashMap<ChannelKind, usize> = HashMap::new();
                let mut buckets: HashMap<ChannelKind, Bucket> = HashMap::new();
                let mut warnings: HashMap<WarningId, Arc<Warning>> = HashMap::new();
                let mut exhausted = false;
                let mut last_empty_claim: Option<Instant> = None;
                let mut last_renew = Instant::now();
                // Finished (or failed before sending), not yet recorded; since when.
                let mut done: Vec<Done> = Vec::new();
                let mut done_since: Option<Instant> = None;
                let renew_every = (self.config.lease / 3)
                    .to_std()
                    .unwrap_or(Duration::from_secs(10));
                loop {
                    let stopping = mode.stopping();
                    // Claim a batch once fewer are queued than the senders could take at once.
                    let polled =
                        last_empty_claim.is_none_or(|t| t.elapsed() >= self.config.idle_poll);
                    if !stopping && !exhausted && queue.len() < max && polled {
                        let want = once_limit.map_or(batch, |l| batch.min(l - claimed_total));
                        let got = if want == 0 {
                            Vec::new()
                        } else {
                            self.claim(store, mode.now(), want)?
                        };
                        if got.is_empty() {
                            if once_limit.is_some() {
                                exhausted = true;
                            } else {
                                last_empty_claim = Some(Instant::now());
                            }
                        } else {
                            last_empty_claim = None;
                            claimed_total += got.len();
                            held.extend(got.iter().map(|d| d.id));
                            queue.extend(got);
                        }
                    }

                    // Dispatch within the limits.
                    let mut wait: Option<Duration> = None;
                    let mut i = 0;
                    while !stopping && i < queue.len() && in_flight < max {
                        let kind = queue[i].channel.kind;
                        let lim = self.limits(kind);
                        if per_kind.get(&kind).copied().unwrap_or(0) >= lim.concurrency.max(1) {
                            i += 1;
                            continue;
                        }
                        if let Some(rate) = lim.per_second {
                            if let Err(w) = buckets
                                .entry(kind)
                                .or_insert_with(|| Bucket::new(rate))
                                .take()
                            {
                                wait = Some(wait.map_or(w, |x: Duration| x.min(w)));
                                i += 1;
                                continue;
                            }
                        }
                        let Some(d) = queue.remove(i) else { break };
                        let warning = match warnings.get(&d.warning_id) {
                            Some(w) => Arc::clone(w),
                            None => match store.warning(&d.warning_id)? {
                                Some(w) => {
                                    let w = Arc::new(w);
                                    warnings.insert(d.warning_id.clone(), Arc::clone(&w));
                                    w
                                }
                                None => {
                                    let reason =
                                        format!("warning {} is not in the store", d.warning_id);
                                    let address = d.channel.address.clone();
                                    done.push(Done {
                                        delivery: d,
                                        result: Err(SendError::Permanent {
                                            channel: kind.as_str(),
                                            address,
                                            reason,
                                        }),
                                        sent: false,
                                    });
                                    continue;
                                }
                            },
                        };
                        // A reminder or escalation travels as the warning with the notice's text.
                        let warning = if d.notice.is_some() {
                            Arc::new(d.render(&warning))
                        } else {
                            warning
                        };
                        match self.channels.get(&kind) {
                            Some(ch) => {
                                in_flight += 1;
                                *per_kind.entry(kind).or_default() += 1;
                                // The receivers are alive while the scope is; a send error here
                                // means every sender died, which catch_unwind rules out.
                                let _ = job_tx.send(Job {
                                    delivery: d,
                                    warning,
                                    channel: Arc::clone(ch),
                                });
                            }
                            None => done.push(Done {
                                delivery: d,
                                result: Err(SendError::Unsupported(kind.as_str())),
                                sent: false,
                            }),
                        }
                    }

                    // Collect finished sends. `sending`: handed to a sender, outcome not back yet.
                    let sending = in_flight - done.iter().filter(|d| d.sent).count();
                    if sending > 0 {
                        let mut timeout = wait
                            .unwrap_or(Duration::from_millis(50))
                            .min(Duration::from_millis(50));
                        if let Some(t) = done_since {
                            timeout = timeout.min(RECORD_WAIT.saturating_sub(t.elapsed()));
                        }
                        if let Ok(x) = done_rx.recv_timeout(timeout) {
                            done.push(x);
                        }
                        while let Ok(x) = done_rx.try_recv() {
                            done.push(x);
                        }
                    } else if done.is_empty() {
                        if queue.is_empty() && (exhausted || stopping) {
                            break;
                        }
                        if stopping {
                            break;
                        }
                        let nap = if queue.is_empty() {
                            self.config.idle_poll.min(Duration::from_millis(50))
                        } else {
                            wait.unwrap_or(Duration::from_millis(1))
                        };
                        std::thread::sleep(nap.min(Duration::from_millis(50)));
                    }

                    // Record, then free the slots: in one transaction for several outcomes, unless
                    // that would keep the senders waiting.
                    if !done.is_empty() && done_since.is_none() {
                        done_since = Some(Instant::now());
                    }
                    let sending = in_flight - done.iter().filter(|d| d.sent).count();
                    if !done.is_empty()
                        && (done.len() >= record_at
                            || sending == 0
                            || stopping
                            || done_since.is_some_and(|t| t.elapsed() >= RECORD_WAIT))
                    {
                        let done = std::mem::take(&mut done);
                        done_since = None;
                        let freed: Vec<ChannelKind> = done
                            .iter()
                            .filter(|d| d.sent)
                            .map(|d| d.delivery.channel.kind)
                            .collect();
                        for d in &done {
                            held.remove(&d.delivery.id);
                        }
                        let report = self.record(store, mode.now(), done)?;
                        sink(report);
                        in_flight -= freed.len();
                        for k in freed {
                            if let Some(n) = per_kind.get_mut(&k) {
                                *n = n.saturating_sub(1);
                            }
                        }
                    }

                    if !held.is_empty() && last_renew.elapsed() >= renew_every {
                        let ids: Vec<i64> = held.iter().copied().collect();
                        let now = mode.now();
                        store.renew_leases(
                            &ids,
                            &self.config.worker_id,
                            now + self.config.lease,
                            &AuditCtx::new(self.actor.clone(), now),
                        )?;
                        last_renew = Instant::now();
                    }
                }
                // Stopped: hand back what was claimed but never sent (claimable at once).
                if !queue.is_empty() {
                    let ids: Vec<i64> = queue.iter().map(|d| d.id).collect();
                    let now = mode.now();
                    store.renew_leases(
                        &ids,
                        &self.config.worker_id,
                        now,
                        &AuditCtx::new(self.actor.clone(), now),
                    )?;
                }
                Ok(())
            })();
            drop(job_tx);
            outcome
        })
    }

    fn claim(
        &self,
        store: &dyn Store,
        now: Timestamp,
        want: usize,
    ) -> Result<Vec<Delivery>, WorkerError> {
        Ok(store.claim_deliveries_within(
            now,
            &self.config.worker_id,
            self.config.lease,
            want,
            &self.scope,
            &AuditCtx::new(self.actor.clone(), now),
        )?)
    }

    fn record(
        &self,
        store: &dyn Store,
        now: Timestamp,
        done: Vec<Done>,
    ) -> Result<WorkReport, WorkerError> {
        let ctx = AuditCtx::new(self.actor.clone(), now);
        let mut report = WorkReport::default();
        let ok: Vec<i64> = done
            .iter()
            .filter(|d| d.result.is_ok())
            .map(|d| d.delivery.id)
            .collect();
        let marked = store.mark_delivered_batch(&ok, &ctx)?;
        if marked.len() != ok.len() {
            let m: HashSet<i64> = marked.iter().copied().collect();
            report.lost.extend(ok.iter().filter(|id| !m.contains(id)));
        }
        report.delivered = marked;
        for Done {
            delivery: d,
            result,
            ..
        } in done
        {
            let Err(e) = result else { continue };
            let error = e.to_string();
            match e.disposition() {
                Disposition::Unsubscribe => {
                    tracing::warn!(delivery = d.id, "{error}: channel disabled");
                    report
                        .dead
                        .extend(store.unsubscribe_channel(d.id, &error, &ctx)?);
                }
                disp => {
                    let retry_at = match disp {
                        Disposition::Retry { after } => self.config.retry.next_attempt(
                            d.attempts + 1,
                            now,
                            &d.idempotency_key,
                            after,
                        ),
                        _ => None,
                    };
                    tracing::warn!(delivery = d.id, attempt = d.attempts + 1, retry_at = ?retry_at, "{error}");
                    if store.fail_claimed(d.id, &self.config.worker_id, &error, retry_at, &ctx)? {
                        if retry_at.is_some() {
                            report.retrying.push(d.id);
                        } else {
                            report.dead.push(d.id);
                        }
                    } else {
                        report.lost.push(d.id);
                    }
                }
            }
        }
        Ok(report)
    }
}
