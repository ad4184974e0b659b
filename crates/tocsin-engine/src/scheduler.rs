//! The scheduler when several processes share one database: every process keeps its match index
//! in step with the registry, but only the leader of role `scheduler` runs the rules of
//! [`Engine::tick`] (release of held warnings, the outbox, posture check-ins, SLA). Followers retry
//! leadership on every pass, so a dead leader is replaced (PostgreSQL: at the next pass; SQLite:
//! once its lease has run out). See `tocsin_store::coordination` for the store's side.
//!
//! It runs on two plain threads of its own (the passes and the registry watcher), so any caller —
//! an async server or a command-line loop — can start it.

use crate::Engine;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use tocsin_core::Timestamp;
use tocsin_store::coordination::SCHEDULER_ROLE;

/// How the scheduler runs; every field is explicit so a caller (and a test) decides them all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchedulerSettings {
    /// Time between the starts of two passes.
    pub every: Duration,
    /// This process's name in the store's leadership records (see [`holder_name`]).
    pub holder: String,
    /// How long a leadership lease lasts where the store uses leases (SQLite); see [`lease_for`].
    pub lease: chrono::Duration,
    /// How long the registry watcher waits for a change before looking again (and checking
    /// whether it should stop).
    pub watch: Duration,
}

impl SchedulerSettings {
    /// A pass every `every` (at least one second), under a fresh [`holder_name`], with the
    /// [`lease_for`] that period and a two-second watch.
    pub fn every(every: Duration) -> Self {
        let every = every.max(Duration::from_secs(1));
        Self {
            every,
            holder: holder_name(),
            lease: lease_for(every),
            watch: Duration::from_secs(2),
        }
    }
}

/// This process's name among leaders: host, pid and a random part (a restarted process with a
/// recycled pid is a new holder).
pub fn holder_name() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .unwrap_or_else(|_| "localhost".into());
    format!(
        "{host}:{}:{:08x}",
        std::process::id(),
        rand::random::<u32>()
    )
}

/// The lease a leader takes: three passes, so one slow pass does not hand leadership over, and at
/// least five seconds.
pub fn lease_for(every: Duration) -> chrono::Duration {
    chrono::Duration::seconds(every.as_secs().saturating_mul(3).max(5) as i64)
}

/// A running scheduler. [`Scheduler::resign`] stops it and gives leadership up.
pub struct Scheduler {
    engine: Arc<Engine>,
    holder: String,
    stop: Arc<AtomicBool>,
    wake: mpsc::Sender<()>,
    passes: Option<JoinHandle<()>>,
}

impl Scheduler {
    /// This process's name among leaders.
    pub fn holder(&self) -> &str {
        &self.holder
    }

    /// Stop the passes (waiting for one in progress to finish, so it cannot take leadership back)
    /// and give leadership up at once, so a follower takes over without waiting for the lease.
    /// Blocks for at most the length of one pass.
    pub fn resign(mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = self.wake.send(());
        if let Some(t) = self.passes.take() {
            if t.join().is_err() {
                tracing::error!("the scheduler thread panicked");
            }
        }
        match self.engine.store().resign(SCHEDULER_ROLE, &self.holder) {
            Ok(()) => tracing::info!(holder = %self.holder, "scheduler leadership given up"),
            Err(e) => {
                tracing::warn!(holder = %self.holder, error = %e, "could not give scheduler leadership up; it lapses with the lease")
            }
        }
    }
}

/// Start the passes (the first at once, then every `settings.every`) and the registry watcher.
/// `clock` is the domain clock the rules run on; leadership always uses the wall clock, which all
/// processes agree on.
pub fn spawn(
    engine: Arc<Engine>,
    settings: SchedulerSettings,
    clock: impl Fn() -> Timestamp + Send + 'static,
) -> std::io::Result<Scheduler> {
    let stop = Arc::new(AtomicBool::new(false));
    let (wake, woken) = mpsc::channel::<()>();
    let passes = {
        let (engine, stop, settings) = (engine.clone(), stop.clone(), settings.clone());
        std::thread::Builder::new()
            .name("scheduler".into())
            .spawn(move || {
                let mut leading = false;
                let mut next = Instant::now();
                while !stop.load(Ordering::SeqCst) {
                    let now = clock();
                    let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        pass(&engine, &settings.holder, settings.lease, leading, now)
                    }));
                    leading = match run {
                        Ok(lead) => lead,
                        Err(_) => {
                            tracing::error!("scheduler pass panicked");
                            false
                        }
                    };
                    // A fixed period between starts; a pass longer than it delays the next one
                    // rather than queueing passes up.
                    next += settings.every;
                    let wait = next.saturating_duration_since(Instant::now());
                    if wait.is_zero() {
                        next = Instant::now();
                    }
                    match woken.recv_timeout(wait) {
                        Err(RecvTimeoutError::Timeout) => {}
                        Ok(()) | Err(RecvTimeoutError::Disconnected) => break,
                    }
                }
            })?
    };
    {
        // Wakes on a registry change another process made (PostgreSQL: NOTIFY) so matching here
        // sees it before the next pass.
        let (engine, stop, watch) = (engine.clone(), stop.clone(), settings.watch);
        std::thread::Builder::new()
            .name("registry-watch".into())
            .spawn(move || {
                while !stop.load(Ordering::SeqCst) {
                    match engine.store().wait_registry_change(watch) {
                        Ok(true) => {
                            if let Err(e) = engine.sync_registry() {
                                tracing::warn!(error = %e, "registry sync failed");
                            }
                        }
                        Ok(false) => {}
                        Err(e) => {
                            tracing::warn!(error = %e, "waiting for registry changes failed; retrying");
                            std::thread::sleep(watch);
                        }
                    }
                }
            })?;
    }
    Ok(Scheduler {
        engine,
        holder: settings.holder,
        stop,
        wake,
        passes: Some(passes),
    })
}

/// One pass: sync the index, then run the rules at `now` if `holder` leads. Returns whether it
/// leads; `was_leading` only decides what is logged.
pub fn pass(
    engine: &Engine,
    holder: &str,
    lease: chrono::Duration,
    was_leading: bool,
    now: Timestamp,
) -> bool {
    if let Err(e) = engine.sync_registry() {
        tracing::warn!(error = %e, "registry sync failed");
    }
    let leading = match engine
        .store()
        .try_lead(SCHEDULER_ROLE, holder, lease, chrono::Utc::now())
    {
        Ok(l) => l,
        // Not knowing is not leading: two schedulers at once is the failure to avoid.
        Err(e) => {
            tracing::warn!(error = %e, "could not check scheduler leadership; skipping this pass");
            false
        }
    };
    match (was_leading, leading) {
        (false, true) => {
            tracing::info!(holder, "scheduler leadership taken: running the scheduler")
        }
        (true, false) => tracing::warn!(holder, "scheduler leadership lost: following"),
        _ => {}
    }
    if leading {
        tracing::debug!(holder, at = %now, "scheduler pass");
        if let Err(err) = engine.tick(now) {
            tracing::error!(error = %err, "scheduler pass failed");
        }
    }
    leading
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lease_is_three_passes_and_at_least_five_seconds() {
        assert_eq!(
            lease_for(Duration::from_secs(1)),
            chrono::Duration::seconds(5)
        );
        assert_eq!(
            lease_for(Duration::from_secs(30)),
            chrono::Duration::seconds(90)
        );
        let s = SchedulerSettings::every(Duration::ZERO);
        assert_eq!(s.every, Duration::from_secs(1), "never a busy loop");
        assert_eq!(s.lease, chrono::Duration::seconds(5));
    }

    #[test]
    fn holders_are_told_apart() {
        let (a, b) = (holder_name(), holder_name());
        assert_ne!(a, b);
        assert!(a.contains(&format!(":{}:", std::process::id())), "{a}");
    }
}
