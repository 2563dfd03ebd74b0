//! Running many cases in parallel, each on its own connection.
//!
//! Cases run `jobs` at a time per target, in id order; cases marked `alone` (section 9, whose
//! timings are the point) run afterwards, one at a time, with nothing else in flight. Cases
//! with a `series` step (1000 round trips each, sections 12 and 13) run at most
//! [`SERIES_JOBS`] at a time among the others: a server is often single-threaded, and a series
//! that waits behind thirty others would miss Autobahn's deadline for it (60 s for 1000 small
//! messages) for no fault of the server's. When a
//! target stops accepting connections, the cases left are marked unreachable instead of
//! failed, and results already delivered stay delivered.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::sync::{Semaphore, mpsc};

use super::exec::{CaseRun, RunOptions, run_case};
use crate::cases::{Case, Step};
use crate::net::Target;

/// One target of a run.
#[derive(Debug, Clone)]
pub struct TargetSpec {
    /// Its name in reports (Autobahn's agent).
    pub name: String,
    /// Where it is.
    pub target: Target,
    /// Case ids not run against it (Autobahn's exclude-agent-cases).
    pub skip: Vec<String>,
    /// How cases run against it.
    pub options: RunOptions,
}

/// What to run.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The targets, in order.
    pub targets: Vec<TargetSpec>,
    /// The cases, in id order.
    pub cases: Vec<Case>,
    /// Cases in flight at once per target.
    pub jobs: usize,
}

/// The default `--jobs`: enough connections to keep a fast server busy while one case waits
/// on its timers, without flooding a small one.
pub fn default_jobs() -> usize {
    32
}

/// Cases with a `series` step in flight at once per target (see the module docs).
pub const SERIES_JOBS: usize = 4;

/// How often a refused connection is retried before the target counts as gone.
const CONNECT_ATTEMPTS: u32 = 3;

/// Runs `plan`, calling `on_result` with each case as it finishes.
pub async fn run_plan<F: FnMut(&TargetSpec, CaseRun)>(plan: &Plan, mut on_result: F) {
    for spec in &plan.targets {
        let options = Arc::new(spec.options.clone());
        let target = Arc::new(spec.target.clone());
        let dead = Arc::new(AtomicBool::new(false));
        let cases: Vec<Arc<Case>> = plan
            .cases
            .iter()
            .filter(|c| !spec.skip.contains(&c.id))
            .cloned()
            .map(Arc::new)
            .collect();
        let (parallel, alone): (Vec<_>, Vec<_>) = cases.into_iter().partition(|c| !c.alone);
        let (tx, mut rx) = mpsc::unbounded_channel();
        let permits = Arc::new(Semaphore::new(plan.jobs.max(1)));
        let series_permits = Arc::new(Semaphore::new(SERIES_JOBS.min(plan.jobs.max(1))));
        for case in parallel {
            let (tx, permits, series_permits, target, options, dead) = (
                tx.clone(),
                permits.clone(),
                series_permits.clone(),
                target.clone(),
                options.clone(),
                dead.clone(),
            );
            let name = spec.name.clone();
            let series = case.steps.iter().any(|s| matches!(s, Step::Series(_)));
            tokio::spawn(async move {
                // The series lane first, so that a waiting series holds no general slot.
                let _series = if series {
                    match series_permits.acquire_owned().await {
                        Ok(p) => Some(p),
                        Err(_) => return,
                    }
                } else {
                    None
                };
                let Ok(_permit) = permits.acquire_owned().await else {
                    return;
                };
                let run = attempt(&name, &target, &case, &options, &dead).await;
                let _ = tx.send(run);
            });
        }
        drop(tx);
        while let Some(run) = rx.recv().await {
            on_result(spec, run);
        }
        for case in alone {
            let run = attempt(&spec.name, &target, &case, &options, &dead).await;
            on_result(spec, run);
        }
    }
}

/// Runs one case, retrying a refused connection a few times (a busy server's backlog can
/// overflow); once the target is gone, later cases are marked unreachable without trying.
async fn attempt(
    name: &str,
    target: &Target,
    case: &Case,
    options: &RunOptions,
    dead: &AtomicBool,
) -> CaseRun {
    let mut tries = 0;
    loop {
        if dead.load(Ordering::Relaxed) {
            let mut run = run_case(name, target, case, &unreachable_options(options)).await;
            run.record.reason = "target unreachable: an earlier case could not connect".into();
            return run;
        }
        let run = run_case(name, target, case, options).await;
        if run.unreachable.is_none() {
            return run;
        }
        tries += 1;
        if tries >= CONNECT_ATTEMPTS {
            dead.store(true, Ordering::Relaxed);
            return run;
        }
        tokio::time::sleep(Duration::from_millis(100 * u64::from(tries))).await;
    }
}

/// Options that make a case against a dead target fail fast.
fn unreachable_options(options: &RunOptions) -> RunOptions {
    RunOptions {
        connect_timeout: Duration::ZERO,
        ..options.clone()
    }
}
