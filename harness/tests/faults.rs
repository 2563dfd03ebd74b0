//! A non-conforming server of our own with switchable faults: without faults it passes every
//! case; each fault makes exactly the cases that enforce the broken rule fail, and no other.
//! The intended cases are computed from the case data, not listed by hand.

mod support;

use std::collections::BTreeSet;

use support::faulty::{Faults, FaultyServer};
use support::run_cases;
use wsconform::cases::{Case, EventSpec, builtin};
use wsconform_reports::{CaseRecord, Outcome};

/// Runs every case but section 9 (its large payloads add nothing here) against a server.
async fn run(faults: Faults) -> Vec<CaseRecord> {
    let server = FaultyServer::start(faults).await;
    let cases: Vec<Case> = builtin()
        .expect("cases")
        .into_iter()
        .filter(|c| c.section() != "9")
        .collect();
    let records = run_cases("faulty", &server.url(), cases).await;
    assert_eq!(records.len(), 247);
    records
}

/// The ids that failed, leaving out timing-dependent cases.
fn failed(records: &[CaseRecord]) -> BTreeSet<String> {
    records
        .iter()
        .filter(|r| r.timing_dependent.is_none() && r.outcome == Outcome::Fail)
        .map(|r| r.id.clone())
        .collect()
}

fn ids(filter: impl Fn(&Case) -> bool) -> BTreeSet<String> {
    builtin()
        .expect("cases")
        .into_iter()
        .filter(|c| c.section() != "9" && c.timing_dependent.is_none() && filter(c))
        .map(|c| c.id)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_fail_exactly_their_cases() {
    // Without faults: a conforming server, nothing fails.
    let records = run(Faults::default()).await;
    assert_eq!(
        failed(&records),
        BTreeSet::new(),
        "the server without faults should pass"
    );

    // No pongs: exactly the cases that expect a pong.
    let records = run(Faults {
        no_pong: true,
        ..Faults::default()
    })
    .await;
    let expect_pong = ids(|c| c.expect.ok.iter().any(|e| matches!(e, EventSpec::Pong(_))));
    assert_eq!(expect_pong.len(), 13, "{expect_pong:?}");
    assert_eq!(failed(&records), expect_pong);

    // Reserved opcodes ignored: exactly section 4.
    let records = run(Faults {
        ignore_reserved_opcodes: true,
        ..Faults::default()
    })
    .await;
    assert_eq!(failed(&records), ids(|c| c.id.starts_with("4.")));
    for r in records.iter().filter(|r| r.id == "4.1.1") {
        assert!(
            r.reason.contains("expected the server to close first"),
            "{}",
            r.reason
        );
    }

    // No UTF-8 validation: exactly the cases that expect a 1007.
    let records = run(Faults {
        no_utf8_check: true,
        ..Faults::default()
    })
    .await;
    let utf8 = ids(|c| c.close.codes == [1007]);
    assert!(utf8.len() >= 70, "{}", utf8.len());
    assert_eq!(failed(&records), utf8);
    let one = records.iter().find(|r| r.id == "6.3.1").expect("6.3.1");
    assert!(
        one.findings.iter().any(|f| f.contains("not valid UTF-8")),
        "{:?}",
        one.findings
    );
}
