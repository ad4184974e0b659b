//! The deployment's clock, as every process reads it: the store records it (`serve --clock-start`
//! sets it, `serve --wall-clock` clears it), and `serve`, `worker` and the CLI commands compute
//! their time from it, so a replay of a past case is one clock for all of them (docs/cli.md).

use anyhow::Result;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tocsin_core::Timestamp;
use tocsin_deliver::Clock;
use tocsin_store::{ClockAnchor, Store};

/// How often a long-running process re-reads the recorded clock (a `serve` restarted with another
/// `--clock-start` moves every worker's clock within this).
const REFRESH: Duration = Duration::from_secs(5);

/// The deployment's clock as recorded when it was loaded.
#[derive(Debug, Clone, Copy)]
pub struct DeploymentClock {
    anchor: Option<ClockAnchor>,
}

impl DeploymentClock {
    pub fn load(store: &dyn Store) -> Result<Self> {
        Ok(Self {
            anchor: store.deployment_clock()?,
        })
    }

    /// The deployment's time now.
    pub fn now(&self) -> Timestamp {
        at(self.anchor.as_ref(), chrono::Utc::now())
    }

    /// One line for `doctor` and logs.
    pub fn describe(&self) -> String {
        match &self.anchor {
            None => "the wall clock".into(),
            Some(a) => format!(
                "replayed: {} now (it read {} at wall time {}; set by serve --clock-start)",
                self.now()
                    .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                a.clock.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                a.wall.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            ),
        }
    }

    /// A clock for a long-running process: the recorded clock, re-read every few seconds (a
    /// failed read keeps the last one and says so).
    pub fn live(store: Arc<dyn Store>) -> Result<Clock> {
        let first = Self::load(store.as_ref())?.anchor;
        let cached = Mutex::new((Instant::now(), first));
        Ok(Arc::new(move || {
            let mut c = cached.lock().unwrap_or_else(|p| p.into_inner());
            if c.0.elapsed() >= REFRESH {
                match store.deployment_clock() {
                    Ok(a) => c.1 = a,
                    Err(e) => tracing::warn!("reading the deployment clock: {e}; keeping the last"),
                }
                c.0 = Instant::now();
            }
            at(c.1.as_ref(), chrono::Utc::now())
        }))
    }
}

fn at(anchor: Option<&ClockAnchor>, wall: Timestamp) -> Timestamp {
    anchor.map_or(wall, |a| a.at(wall))
}

/// The deployment's time now, read from the store once (for one-shot CLI commands).
pub fn now(store: &dyn Store) -> Result<Timestamp> {
    Ok(DeploymentClock::load(store)?.now())
}
