//! The reference server's permessage-deflate faults, each caught by the cases that enforce the
//! rule it breaks and by no other. The cases run here: sections 3 (reserved bits), 12 and 13
//! (Autobahn's deflate sections, their series cut to 10 messages) and 18 (deflate beyond
//! Autobahn), over loopback TCP, with `--param max_message` at the reference server's limit.
//! The expected sets are computed from the case data, not listed by hand.

mod support;

use std::collections::BTreeSet;

use support::faulty::{Faults, FaultyServer};
use support::{SERVER_PARAMS, failed_ids, run_cases_with, short_series};
use wsconform::cases::{Case, EventSpec, Step, builtin};
use wsconform::peer::MAX_MESSAGE;
use wsconform_reports::{Behavior, CaseRecord, Outcome};

fn chosen(c: &Case) -> bool {
    ["3", "12", "13", "18"].contains(&c.section())
}

fn cases() -> Vec<Case> {
    short_series(builtin().expect("cases"), 10)
        .into_iter()
        .filter(chosen)
        .collect()
}

async fn run(faults: Faults) -> Vec<CaseRecord> {
    let server = FaultyServer::start(faults).await;
    let limit = MAX_MESSAGE.to_string();
    let mut params = SERVER_PARAMS.to_vec();
    params.push(("max_message", &limit));
    let cases = cases();
    let n = cases.len();
    let records = run_cases_with("faulty", &server.url(), cases, &params).await;
    assert_eq!(records.len(), n);
    assert!(records.iter().all(|r| r.outcome != Outcome::NotRun));
    records
}

fn ids(filter: impl Fn(&Case) -> bool) -> BTreeSet<String> {
    cases()
        .into_iter()
        .filter(|c| c.timing_dependent.is_none() && !c.informational && filter(c))
        .map(|c| c.id)
        .collect()
}

/// The offer's text, when the case offers permessage-deflate.
fn offer(c: &Case) -> Option<&str> {
    c.deflate.as_ref().map(|d| d.offer.as_str())
}

/// The window the server is asked to keep to, from the first offer (the reference server
/// accepts the first valid one).
fn asked_window(c: &Case) -> Option<u8> {
    let first = offer(c)?.split(',').next()?;
    first
        .split(';')
        .find_map(|p| p.trim().strip_prefix("server_max_window_bits="))
        .and_then(|v| v.parse().ok())
}

fn asked_no_takeover(c: &Case) -> bool {
    offer(c)
        .and_then(|o| o.split(',').next())
        .is_some_and(|first| first.contains("server_no_context_takeover"))
}

/// The server sends a compressed message of two bytes or more in this case.
fn gets_compressed_echo(c: &Case) -> bool {
    c.deflate.is_some()
        && (c.steps.iter().any(|s| match s {
            Step::Series(_) => true,
            // A compressed message at the limit comes back compressed.
            Step::ProbeLimit(p) => p.compress && p.at_limit,
            _ => false,
        }) || c.expect.ok.iter().any(|e| match e {
            EventSpec::Message(m) => m.payload.len().is_ok_and(|n| n > 0),
            _ => false,
        }))
}

fn check_subset(what: &str, got: &BTreeSet<String>, allowed: &BTreeSet<String>) {
    let extra: Vec<_> = got.difference(allowed).collect();
    assert!(extra.is_empty(), "{what}: unexpected failures {extra:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deflate_faults_fail_exactly_their_cases() {
    // Without faults: nothing fails, and every deflate case ran compressed.
    let clean = run(Faults::default()).await;
    assert_eq!(failed_ids(&clean), BTreeSet::new());
    assert!(
        clean
            .iter()
            .all(|r| r.behavior != Some(Behavior::Unimplemented)),
        "the reference server accepts every valid offer"
    );

    // Every offer declined: the deflate cases are UNIMPLEMENTED (Autobahn's rule), which is
    // not a failure; the one case that does not require deflate still passes.
    let records = run(Faults {
        deflate_decline: true,
        ..Faults::default()
    })
    .await;
    assert_eq!(failed_ids(&records), BTreeSet::new());
    let unimplemented: BTreeSet<String> = records
        .iter()
        .filter(|r| r.behavior == Some(Behavior::Unimplemented))
        .map(|r| r.id.clone())
        .collect();
    let required: BTreeSet<String> = cases()
        .into_iter()
        .filter(|c| c.deflate.as_ref().is_some_and(|d| d.required))
        .map(|c| c.id)
        .collect();
    assert_eq!(unimplemented, required);

    // A wider window than agreed: only cases that asked for a smaller one can catch it, and
    // the one built to (a text that repeats 1000 bytes back and nowhere nearer) does. Others
    // may: it depends on how far back the compressor finds its matches in their data.
    let records = run(Faults {
        deflate_wider_window: true,
        ..Faults::default()
    })
    .await;
    let small_window = ids(|c| asked_window(c).is_some_and(|n| n < 15));
    let fails = failed_ids(&records);
    check_subset("wider window", &fails, &small_window);
    assert!(fails.contains("18.9.2"), "{fails:?}");
    let r = records.iter().find(|r| r.id == "18.9.2").expect("18.9.2");
    assert!(
        r.findings.iter().any(|f| f.message.contains("distance")),
        "{:?}",
        r.findings
    );

    // Context takeover kept after agreeing to server_no_context_takeover: only cases that
    // asked for it, and the one built to.
    let records = run(Faults {
        deflate_ignore_no_takeover: true,
        ..Faults::default()
    })
    .await;
    let no_takeover = ids(asked_no_takeover);
    let fails = failed_ids(&records);
    check_subset("no takeover", &fails, &no_takeover);
    assert!(fails.contains("18.9.4"), "{fails:?}");
    assert!(fails.iter().any(|id| id.starts_with("13.2.")), "{fails:?}");

    // RSV1 on continuation frames: every case where the server sends a compressed message.
    let records = run(Faults {
        deflate_rsv1_on_continuations: true,
        ..Faults::default()
    })
    .await;
    assert_eq!(failed_ids(&records), ids(gets_compressed_echo));
    let r = records.iter().find(|r| r.id == "12.1.1").expect("12.1.1");
    assert!(
        r.findings.iter().any(|f| f.code == "reserved-bits"),
        "{:?}",
        r.findings
    );

    // RSV1 taken without negotiation: exactly the cases that send RSV1 alone with no offer.
    let records = run(Faults {
        deflate_rsv1_unnegotiated: true,
        ..Faults::default()
    })
    .await;
    let rsv1_alone = ids(|c| {
        c.deflate.is_none()
            && c.steps.iter().any(|s| match s {
                Step::Send(send) => send.frames.iter().any(|f| f.rsv == 4),
                _ => false,
            })
    });
    assert!(rsv1_alone.contains("18.3.6"), "{rsv1_alone:?}");
    assert_eq!(failed_ids(&records), rsv1_alone);

    // No inflate limit: the case that sends a message inflating a byte over the limit.
    let records = run(Faults {
        deflate_no_limit: true,
        ..Faults::default()
    })
    .await;
    let over_limit = ids(|c| {
        c.deflate.is_some()
            && c.steps.iter().any(|s| match s {
                Step::ProbeLimit(p) => p.known_limit && !p.at_limit && p.compress,
                _ => false,
            })
    });
    assert_eq!(over_limit.len(), 1, "{over_limit:?}");
    assert_eq!(failed_ids(&records), over_limit);
    // The bomb (256 MiB + 1 zeros) goes through such a server and comes back compressed: the
    // harness inflates no more than the case's 1 MiB, fails the connection with 1009 and says
    // so; the case is informational (the limit is the server's choice).
    for id in ["18.1.2", "18.1.3"] {
        let r = records.iter().find(|r| r.id == id).expect(id);
        assert!(
            r.findings.iter().any(|f| f.code == "message-over-cap"),
            "{id}: {:?} / {}",
            r.findings,
            r.reason
        );
        assert_eq!(r.close.local_code, Some(1009), "{id}: {}", r.reason);
    }
}
