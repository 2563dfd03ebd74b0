//! A non-conforming server of our own with switchable faults: without faults it passes every
//! case; each fault makes exactly the cases that enforce the broken rule fail, and no other.
//! The intended cases are computed from the case data, not listed by hand.

mod support;

use std::collections::BTreeSet;

use support::faulty::{Faults, FaultyServer};
use support::{SERVER_PARAMS, failed_ids, run_cases_with};
use wsconform::cases::{Case, EventSpec, HandshakeExpect, Step, builtin};
use wsconform_reports::{Behavior, BehaviorClose, CaseRecord, Outcome, Policy, outcome};

/// The cases run here: all but section 9 and the slow limit and timing cases (0.11, 16),
/// whose large payloads and long waits add nothing to these faults, and the permessage-deflate
/// sections (12, 13, 18), whose faults are tests/deflate_faults.rs's.
fn chosen(c: &Case) -> bool {
    !["9", "12", "13", "16", "18"].contains(&c.section()) && !c.id.starts_with("0.11.")
}

/// Runs the chosen cases against a server with `faults`.
async fn run(faults: Faults) -> Vec<CaseRecord> {
    let server = FaultyServer::start(faults).await;
    let cases: Vec<Case> = support::server_cases().into_iter().filter(chosen).collect();
    let n = cases.len();
    let records = run_cases_with("faulty", &server.url(), cases, SERVER_PARAMS).await;
    assert_eq!(records.len(), n);
    assert!(n > 350, "{n}");
    assert!(
        records.iter().all(|r| r.outcome != Outcome::NotRun),
        "every case gets its params"
    );
    records
}

fn ids(filter: impl Fn(&Case) -> bool) -> BTreeSet<String> {
    support::server_cases()
        .into_iter()
        .filter(|c| chosen(c) && c.timing_dependent.is_none() && filter(c))
        .map(|c| c.id)
        .collect()
}

/// The ids whose verdicts differ between two runs of the same cases.
fn changed(before: &[CaseRecord], after: &[CaseRecord]) -> BTreeSet<String> {
    before
        .iter()
        .zip(after)
        .filter(|(a, b)| {
            assert_eq!(a.id, b.id);
            a.timing_dependent.is_none()
                && (a.behavior, a.behavior_close) != (b.behavior, b.behavior_close)
        })
        .map(|(a, _)| a.id.clone())
        .collect()
}

/// The value a handshake case gives `name` in its request (set or appended), if any.
fn request_values(c: &Case, name: &str) -> Vec<String> {
    c.handshake
        .iter()
        .flat_map(|h| h.request.set.iter().chain(&h.request.append))
        .filter(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.clone())
        .collect()
}

/// Whether the server must answer the case's request with 101.
fn expects_101(c: &Case) -> bool {
    c.handshake
        .as_ref()
        .is_none_or(|h| h.expect == HandshakeExpect::Accept)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_fail_exactly_their_cases() {
    // Without faults: a conforming server, nothing fails.
    let clean = run(Faults::default()).await;
    assert_eq!(
        failed_ids(&clean),
        BTreeSet::new(),
        "the server without faults should pass"
    );

    // No pongs: exactly the cases that expect a pong.
    let records = run(Faults {
        no_pong: true,
        ..Faults::default()
    })
    .await;
    let expect_pong =
        ids(|c| !c.informational && c.expect.ok.iter().any(|e| matches!(e, EventSpec::Pong(_))));
    assert_eq!(expect_pong.len(), 16, "{expect_pong:?}");
    assert_eq!(failed_ids(&records), expect_pong);

    // Reserved opcodes ignored: exactly section 4.
    let records = run(Faults {
        ignore_reserved_opcodes: true,
        ..Faults::default()
    })
    .await;
    // Section 4, and the server-close case that provokes a close with a reserved opcode.
    let reserved = ids(|c| {
        c.steps.iter().any(|s| match s {
            Step::Send(send) => send.frames.iter().any(|f| f.opcode.0.is_reserved()),
            _ => false,
        })
    });
    assert!(
        reserved.contains("4.1.1") && reserved.contains("17.1.1"),
        "{reserved:?}"
    );
    assert_eq!(failed_ids(&records), reserved);
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
    assert_eq!(failed_ids(&records), utf8);
    let one = records.iter().find(|r| r.id == "6.3.1").expect("6.3.1");
    assert!(
        one.findings.iter().any(|f| f.code == "utf8-invalid"),
        "{:?}",
        one.findings
    );

    // Version 8 answered with 101: exactly the case that sends version 8.
    let records = run(Faults {
        accept_version_8: true,
        ..Faults::default()
    })
    .await;
    // (A request with 13 and 8 breaks another rule first: one version header.)
    let v8 = ids(|c| {
        c.handshake.as_ref().is_some_and(|h| {
            h.request.set == [("Sec-WebSocket-Version".to_owned(), "8".to_owned())]
                && h.request.append.is_empty()
        })
    });
    assert_eq!(v8.len(), 1, "{v8:?}");
    // §4.4 lets a server speak a draft version too, so the 101 is NON-STRICT (a failure with
    // --strict), and that case's verdict is the only one that moves.
    assert_eq!(changed(&clean, &records), v8);
    let r = records.iter().find(|r| v8.contains(&r.id)).expect("case");
    assert_eq!(r.behavior, Some(Behavior::NonStrict), "{}", r.reason);
    assert!(r.reason.contains("version 8 is a draft"), "{}", r.reason);
    let close = r.behavior_close.expect("close verdict");
    assert_eq!(
        outcome(Policy::Strict, Behavior::NonStrict, close),
        Outcome::Fail
    );

    // A missing key accepted: exactly the case that removes the key.
    let records = run(Faults {
        accept_missing_key: true,
        ..Faults::default()
    })
    .await;
    let no_key = ids(|c| {
        c.handshake.as_ref().is_some_and(|h| {
            h.request
                .remove
                .iter()
                .any(|n| n.eq_ignore_ascii_case("Sec-WebSocket-Key"))
        })
    });
    assert_eq!(no_key.len(), 1, "{no_key:?}");
    assert_eq!(failed_ids(&records), no_key);

    // `Connection: keep-alive, Upgrade` refused: exactly the valid requests whose Connection
    // is more than the single token.
    let records = run(Faults {
        reject_keep_alive_upgrade: true,
        ..Faults::default()
    })
    .await;
    let lists = ids(|c| {
        let values = request_values(c, "Connection");
        expects_101(c) && (values.len() > 1 || values.iter().any(|v| v.contains(',')))
    });
    assert_eq!(lists.len(), 2, "{lists:?}");
    // Refusing a valid request breaks no MUST (§4.2.2: "If the server chooses to accept"):
    // NON-STRICT, a failure with --strict.
    assert_eq!(changed(&clean, &records), lists);
    for r in records.iter().filter(|r| lists.contains(&r.id)) {
        assert_eq!(r.behavior, Some(Behavior::NonStrict), "{}", r.reason);
    }

    // Unmasked client frames accepted: exactly the cases that send one.
    let records = run(Faults {
        accept_unmasked: true,
        ..Faults::default()
    })
    .await;
    let unmasked_frames = |c: &Case| -> Vec<bool> {
        // For each unmasked frame sent: whether it is a raw close.
        c.steps
            .iter()
            .flat_map(|s| match s {
                Step::Send(send) => send.frames.clone(),
                _ => Vec::new(),
            })
            .filter(|f| f.masked == Some(false))
            .map(|f| f.raw && f.opcode.0 == wsconform::wire::OpCode::CLOSE)
            .collect()
    };
    let unmasked = ids(|c| unmasked_frames(c).contains(&false));
    assert!(unmasked.len() >= 6, "{unmasked:?}");
    assert_eq!(failed_ids(&records), unmasked);
    // An unmasked close answered with 1000 closes the connection as §5.1 asks, but shows the
    // frame was taken as valid: WRONG CODE rather than 1002.
    let close_only = ids(|c| unmasked_frames(c) == [true]);
    assert_eq!(close_only.len(), 1, "{close_only:?}");
    for r in records.iter().filter(|r| close_only.contains(&r.id)) {
        assert_eq!(
            r.behavior_close,
            Some(BehaviorClose::WrongCode),
            "{}",
            r.reason
        );
    }

    // Masked frames from the server: caught on every case where it sends a frame, by the
    // §5.1 check of every received frame, and nowhere else.
    let records = run(Faults {
        mask_own_frames: true,
        ..Faults::default()
    })
    .await;
    let masked: BTreeSet<String> = records
        .iter()
        .filter(|r| r.findings.iter().any(|f| f.code == "masked-server-frame"))
        .map(|r| r.id.clone())
        .collect();
    assert!(masked.contains("14.4.1"), "{masked:?}");
    assert!(masked.len() > 200, "{}", masked.len());
    let fails = failed_ids(&records);
    assert!(
        fails.is_subset(&masked),
        "{:?}",
        fails.difference(&masked).collect::<Vec<_>>()
    );
    assert!(
        fails.contains("14.4.1") && fails.contains("1.1.1"),
        "{fails:?}"
    );

    // A wrong Sec-WebSocket-Accept: every case that needs a 101 fails on it; the rejections
    // still pass.
    let records = run(Faults {
        wrong_accept: true,
        ..Faults::default()
    })
    .await;
    let need_101 = ids(|c| !c.informational && expects_101(c));
    assert_eq!(failed_ids(&records), need_101);
    for r in records.iter().filter(|r| need_101.contains(&r.id)) {
        assert!(
            r.reason.contains("Sec-WebSocket-Accept") && r.reason.contains("§4.1 item 4"),
            "{}: {}",
            r.id,
            r.reason
        );
    }

    // A 1-byte close answered with an empty close: Autobahn's 7.3.2 takes it, its strict
    // companion does not (NON-STRICT: the code is a SHOULD), and nothing else moves.
    let records = run(Faults {
        empty_close_for_one_byte: true,
        ..Faults::default()
    })
    .await;
    assert_eq!(
        changed(&clean, &records),
        BTreeSet::from(["19.1.1".to_owned()])
    );
    let r = records.iter().find(|r| r.id == "19.1.1").expect("19.1.1");
    assert_eq!(r.behavior, Some(Behavior::NonStrict), "{}", r.reason);
    assert!(r.reason.contains("without a status code"), "{}", r.reason);

    // Pongs held until the fragmented message completes: only the strict companions of 5.19
    // and 5.20 see it (the pong comes after the pause: NON-STRICT, §5.5.2's SHOULD).
    let records = run(Faults {
        late_pong_mid_message: true,
        ..Faults::default()
    })
    .await;
    let companions = ids(|c| c.tightens.iter().any(|t| t == "5.19" || t == "5.20"));
    assert_eq!(companions.len(), 2, "{companions:?}");
    assert_eq!(changed(&clean, &records), companions);
    for r in records.iter().filter(|r| companions.contains(&r.id)) {
        assert_eq!(r.behavior, Some(Behavior::NonStrict), "{}", r.reason);
    }

    // A subprotocol or an extension never offered, in every 101: the same cases fail, each
    // on its rule (§4.1 items 6 and 5).
    for (faults, code, item) in [
        (
            Faults {
                unoffered_subprotocol: true,
                ..Faults::default()
            },
            "subprotocol-not-offered",
            "§4.1 item 6",
        ),
        (
            Faults {
                unoffered_extension: true,
                ..Faults::default()
            },
            "extension-not-offered",
            "§4.1 item 5",
        ),
    ] {
        let records = run(faults).await;
        assert_eq!(failed_ids(&records), need_101, "{code}");
        for r in records.iter().filter(|r| need_101.contains(&r.id)) {
            assert!(
                r.reason.contains(item) && r.findings.iter().any(|f| f.code == code),
                "{}: {}",
                r.id,
                r.reason
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_without_a_size_limit_is_found() {
    let cases: Vec<Case> = builtin()
        .expect("cases")
        .into_iter()
        .filter(|c| c.id == "16.1.1" || c.id == "16.1.2")
        .collect();
    // The default ceiling, 256 MiB: the reference server's limit is 64 MiB.
    let params = [SERVER_PARAMS, &[("max_message", "67108864")]].concat();
    let clean = FaultyServer::start(Faults::default()).await;
    let records = run_cases_with("faulty", &clean.url(), cases.clone(), &params).await;
    let probe = &records[0];
    assert_eq!(probe.id, "16.1.1");
    assert_eq!(probe.outcome, Outcome::Info, "{}", probe.reason);
    assert!(
        probe
            .reason
            .contains("limit between 64 MiB and 128 MiB: closed with 1009"),
        "{}",
        probe.reason
    );
    assert_eq!(records[1].outcome, Outcome::Pass, "{}", records[1].reason);

    let unbounded = FaultyServer::start(Faults {
        no_size_limit: true,
        ..Faults::default()
    })
    .await;
    let records = run_cases_with("faulty", &unbounded.url(), cases, &params).await;
    let probe = &records[0];
    assert_eq!(
        probe.behavior,
        Some(Behavior::NonStrict),
        "{}",
        probe.reason
    );
    assert!(
        probe
            .reason
            .contains("no message size limit found up to 256 MiB (RFC 6455 §10.4"),
        "{}",
        probe.reason
    );
    // With the limit declared, the message one byte over it is echoed: FAILED.
    assert_eq!(
        records[1].behavior,
        Some(Behavior::Failed),
        "{}",
        records[1].reason
    );
}
