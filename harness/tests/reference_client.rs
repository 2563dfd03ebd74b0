//! The client role's test double: the reference client (a strict echo client on proto's client
//! session, in the shape of an Autobahn client driver) passes every case `wsconform serve` runs
//! by default, in memory on a simulated clock, with the masking checks applied across its
//! connections as `serve` applies them. Each of its faults fails exactly its cases.

mod support;

use std::collections::BTreeSet;
use std::time::Instant;

use support::short_series;
use wsconform::cases::{Case, PeerRole, builtin};
use wsconform::peer::client::ClientFaults;
use wsconform::peer::client_pair::run_client_pair;
use wsconform::runner::Policy;
use wsconform::runner::masking::{self, MaskLedger};
use wsconform_reports::{Behavior, BehaviorClose, CaseRecord, Outcome};

/// `wsconform serve`'s default selection: Autobahn's client-mode sections and 20, 21.
fn client_cases() -> Vec<Case> {
    let sections = ["1", "2", "3", "4", "5", "6", "7", "9", "10", "20", "21"];
    short_series(builtin().expect("cases"), 10)
        .into_iter()
        .filter(|c| {
            let section = c.id.split('.').next().unwrap_or_default();
            sections.contains(&section) && c.tests(PeerRole::Client)
        })
        .collect()
}

/// Every client case against the reference client with `faults`, one connection each, in
/// order, the masking ledger shared as in one `serve` run.
fn run(faults: ClientFaults) -> Vec<CaseRecord> {
    let start = Instant::now();
    let mut ledger = MaskLedger::default();
    client_cases()
        .iter()
        .enumerate()
        .map(|(i, case)| {
            let run = run_client_pair(case, faults, 1000 + i as u64, start);
            let mut record = run.record;
            let problems = ledger.check(&run.server);
            masking::apply(&mut record, &problems, case, Policy::Default);
            record
        })
        .collect()
}

fn failed(records: &[CaseRecord]) -> BTreeSet<String> {
    records
        .iter()
        .filter(|r| r.outcome == Outcome::Fail)
        .map(|r| r.id.clone())
        .collect()
}

fn ids(list: &[&str]) -> BTreeSet<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

#[test]
fn the_reference_client_passes_every_client_case() {
    let records = run(ClientFaults::default());
    assert!(records.len() > 300, "{}", records.len());
    let strict_misses: Vec<String> = records
        .iter()
        .filter(|r| {
            let ok = r
                .behavior
                .is_some_and(|b| matches!(b, Behavior::Ok | Behavior::Informational));
            let close_ok = r
                .behavior_close
                .is_some_and(|c| matches!(c, BehaviorClose::Ok | BehaviorClose::Informational));
            !(ok && close_ok)
        })
        .map(|r| {
            format!(
                "{} {:?}/{:?} ({})",
                r.id, r.behavior, r.behavior_close, r.reason
            )
        })
        .collect();
    assert!(strict_misses.is_empty(), "{strict_misses:#?}");
    // No masking finding on any case: its keys come from a seeded generator, fresh per frame.
    let findings: Vec<String> = records
        .iter()
        .flat_map(|r| {
            r.findings
                .iter()
                .map(move |f| format!("{}: {}", r.id, f.code))
        })
        .collect();
    assert!(findings.is_empty(), "{findings:#?}");
}

#[test]
fn each_client_fault_fails_exactly_its_cases() {
    let handshake = |accept: &[&str]| ids(accept);
    let cases: Vec<(&str, ClientFaults, BTreeSet<String>)> = vec![
        (
            "accept_wrong_accept",
            ClientFaults {
                accept_wrong_accept: true,
                ..ClientFaults::default()
            },
            handshake(&["20.1.1", "20.1.2", "20.1.3", "20.1.4", "20.1.5"]),
        ),
        (
            "accept_unoffered_extension",
            ClientFaults {
                accept_unoffered_extension: true,
                ..ClientFaults::default()
            },
            // The reference client offers no extension: every permessage-deflate answer is
            // one it did not offer.
            handshake(&["20.6.1", "20.6.2", "20.6.3", "20.6.4"]),
        ),
        (
            "unmasked_empty_control",
            ClientFaults {
                unmasked_empty_control: true,
                ..ClientFaults::default()
            },
            ids(&["2.1", "21.1.1", "21.1.2"]),
        ),
        (
            "fixed_mask_key",
            ClientFaults {
                fixed_mask_key: true,
                ..ClientFaults::default()
            },
            // One frame alone (21.1.2's close reply) cannot show a reused key.
            ids(&["21.1.1", "21.1.3", "21.1.4", "21.1.5"]),
        ),
        (
            "accept_masked_frames",
            ClientFaults {
                accept_masked_frames: true,
                ..ClientFaults::default()
            },
            ids(&["21.2.1"]),
        ),
        (
            "no_close_reply",
            ClientFaults {
                no_close_reply: true,
                ..ClientFaults::default()
            },
            ids(&["21.1.2"]),
        ),
    ];
    let mut wrong = Vec::new();
    for (name, faults, expected) in cases {
        let got = failed(&run(faults));
        if got != expected {
            wrong.push(format!("{name}: expected {expected:?}, got {got:?}"));
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}
