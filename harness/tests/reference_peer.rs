//! The property that holds the design together: the reference peer (a strict echo server on
//! proto's server session) passes every case in the library, driven in process over
//! in-memory pipes through the real machine, driver and pool. Each of its faults fails exactly
//! its cases (tests/faults.rs, over loopback TCP).

mod support;

use std::collections::BTreeSet;

use support::faulty::{Faults, in_process};
use support::{SERVER_PARAMS, run_cases_on, short_series};
use wsconform_reports::{Behavior, BehaviorClose, Outcome};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reference_server_passes_every_case() {
    let cases = short_series(support::server_cases(), 10);
    let n = cases.len();
    let records = run_cases_on(
        "reference",
        in_process(Faults::default()),
        cases,
        SERVER_PARAMS,
    )
    .await;
    assert_eq!(records.len(), n);
    let by = |outcome: Outcome| -> BTreeSet<String> {
        records
            .iter()
            .filter(|r| r.outcome == outcome)
            .map(|r| format!("{} ({})", r.id, r.reason))
            .collect()
    };
    // Timing-dependent cases too: in process, nothing races a reset.
    assert_eq!(by(Outcome::Fail), BTreeSet::new());
    assert_eq!(by(Outcome::Unreachable), BTreeSet::new());
    // Only the cases that need a size limit the reference server does not declare.
    let not_run: BTreeSet<String> = records
        .iter()
        .filter(|r| r.outcome == Outcome::NotRun)
        .map(|r| r.id.clone())
        .collect();
    let needs_limit: BTreeSet<String> = support::server_cases()
        .into_iter()
        .filter(|c| c.needs.iter().any(|n| n == "max_message"))
        .map(|c| c.id)
        .collect();
    assert_eq!(not_run, needs_limit);
    // Not even NON-STRICT (which passes by default): every verdict is OK or INFORMATIONAL.
    let lenient: BTreeSet<String> = records
        .iter()
        .filter(|r| {
            let ok = |b: Option<Behavior>| {
                b.is_none_or(|b| matches!(b, Behavior::Ok | Behavior::Informational))
            };
            let close_ok = r
                .behavior_close
                .is_none_or(|c| matches!(c, BehaviorClose::Ok | BehaviorClose::Informational));
            !(ok(r.behavior) && close_ok)
        })
        .map(|r| {
            format!(
                "{} {:?}/{:?} ({})",
                r.id, r.behavior, r.behavior_close, r.reason
            )
        })
        .collect();
    assert!(lenient.is_empty(), "{lenient:#?}");
}
