//! The scheduler of `tocsin serve` when several processes share one database: every process keeps
//! its match index in step with the registry, but only the leader of role "scheduler" runs the
//! rules (release of held warnings, the outbox, posture check-ins, SLA). Followers retry
//! leadership on every pass, so a dead leader is replaced (PostgreSQL: at the next pass; SQLite:
//! once its lease has run out). See `tocsin_store::coordination` for the contract.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tocsin_engine::Engine;
use tocsin_store::coordination::SCHEDULER_ROLE;

/// How long a registry watcher waits for a change before looking again (it also stops then).
const WATCH: Duration = Duration::from_secs(2);

/// This process's name in the `leaders` table: host, pid and a random part (a restarted process
/// with a recycled pid is a new holder).
pub fn holder_name() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .unwrap_or_else(|_| "localhost".into());
    format!("{host}:{}:{:08x}", std::process::id(), rand_u32())
}

fn rand_u32() -> u32 {
    use std::hash::{BuildHasher, Hasher};
    // RandomState is seeded from the OS per process: enough to tell two holders apart.
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
    );
    h.finish() as u32
}

/// The lease a leader takes: three passes, so one slow pass does not hand leadership over, and at
/// least five seconds.
pub fn lease_for(every_secs: u64) -> chrono::Duration {
    chrono::Duration::seconds((every_secs.saturating_mul(3)).max(5) as i64)
}

/// A running scheduler: resign leadership when the server stops.
pub struct Scheduler {
    engine: Arc<Engine>,
    holder: String,
    stop: Arc<AtomicBool>,
}

impl Scheduler {
    /// Stop the loops and give leadership up at once, so a follower takes over without waiting for
    /// the lease to run out.
    pub fn resign(&self) {
        self.stop.store(true, Ordering::SeqCst);
        match self.engine.store().resign(SCHEDULER_ROLE, &self.holder) {
            Ok(()) => tracing::info!(holder = %self.holder, "scheduler leadership given up"),
            Err(e) => {
                tracing::warn!(holder = %self.holder, error = %e, "could not give scheduler leadership up; it lapses with the lease")
            }
        }
    }
}

/// Start the scheduler loop (every `every` seconds) and the registry watcher. `clock` is the
/// domain clock the rules run on; leadership always uses the wall clock (all processes agree on it).
pub fn spawn(
    engine: Arc<Engine>,
    every: u64,
    clock: impl Fn() -> chrono::DateTime<chrono::Utc> + Send + 'static,
) -> Scheduler {
    let holder = holder_name();
    let lease = lease_for(every);
    let stop = Arc::new(AtomicBool::new(false));
    {
        let (engine, holder, stop) = (engine.clone(), holder.clone(), stop.clone());
        tokio::spawn(async move {
            let mut interval = tokio::time::interval(Duration::from_secs(every));
            interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut leading = false;
            loop {
                interval.tick().await;
                if stop.load(Ordering::SeqCst) {
                    break;
                }
                let (e, h) = (engine.clone(), holder.clone());
                let now = clock();
                let was = leading;
                let pass = tokio::task::spawn_blocking(move || pass(&e, &h, lease, was, now)).await;
                match pass {
                    Ok(lead) => leading = lead,
                    Err(err) => {
                        tracing::error!(error = %err, "scheduler pass panicked");
                        leading = false;
                    }
                }
            }
        });
    }
    {
        // Wakes on a registry change another process made (PostgreSQL: NOTIFY) so matching here
        // sees it before the next pass.
        let (engine, stop) = (engine.clone(), stop.clone());
        std::thread::Builder::new()
            .name("registry-watch".into())
            .spawn(move || {
                while !stop.load(Ordering::SeqCst) {
                    match engine.store().wait_registry_change(WATCH) {
                        Ok(true) => {
                            if let Err(e) = engine.sync_registry() {
                                tracing::warn!(error = %e, "registry sync failed");
                            }
                        }
                        Ok(false) => {}
                        Err(e) => {
                            tracing::warn!(error = %e, "waiting for registry changes failed; retrying");
                            std::thread::sleep(WATCH);
                        }
                    }
                }
            })
            .ok();
    }
    Scheduler {
        engine,
        holder,
        stop,
    }
}

/// One pass: sync the index, then run the rules if this process leads. Returns whether it leads.
fn pass(
    engine: &Engine,
    holder: &str,
    lease: chrono::Duration,
    was_leading: bool,
    now: chrono::DateTime<chrono::Utc>,
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
