use std::time::Duration;

use arbitrary::Unstructured;
use wsconform_reports::{Cause, Outcome};

use super::*;
use crate::cases::generate::{CaseHead, GenFrame, GenStep, Sequence, Write_};
use crate::live::predicted::predicted_case;
use crate::peer::Faults;
use crate::peer::pair::{allowed_choices, run_pair};

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn seen(messages: &[&str], pongs: &[&str], end: PeerEnd) -> Observation {
    Observation {
        messages: messages.iter().map(|m| (text(m), ms(0))).collect(),
        pongs: pongs
            .iter()
            .map(|p| (p.as_bytes().to_vec(), ms(0)))
            .collect(),
        end,
        harness_close: Some(Some(1000)),
        first_close: Some(ms(500)),
        grace: GRACE,
        broke: Vec::new(),
    }
}

fn failing(code: u16) -> ModelRun {
    ModelRun {
        choice: ["test", "test"],
        seen: Observation {
            harness_close: None,
            ..seen(&["a"], &["p"], PeerEnd::Close(Some(code)))
        },
        failure: Some("reserved-opcode"),
        listed: Vec::new(),
        lying_length: false,
        sent_after_close: false,
        failure_overtakable: false,
        may_echo: Vec::new(),
    }
}

#[test]
fn a_failure_may_be_the_models_code_an_empty_close_or_a_drop() {
    let model = failing(1002);
    for end in [
        PeerEnd::Close(Some(1002)),
        PeerEnd::Close(None),
        PeerEnd::Dropped,
    ] {
        assert_eq!(compare(&model, &seen(&["a"], &["p"], end)), vec![], "{end}");
    }
    let codes = |end| {
        compare(&model, &seen(&["a"], &["p"], end))
            .iter()
            .map(Divergence::code)
            .collect::<Vec<_>>()
    };
    assert_eq!(codes(PeerEnd::Close(Some(1007))), ["diverge-failure-code"]);
    assert_eq!(codes(PeerEnd::Close(Some(1009))), ["diverge-refused"]);
    assert_eq!(codes(PeerEnd::Close(Some(1000))), ["diverge-not-failed"]);
    // Another code, or a refusal, is NON-STRICT; not failing is FAILED.
    for (end, strict_only) in [
        (PeerEnd::Close(Some(1007)), true),
        (PeerEnd::Close(Some(1009)), true),
        (PeerEnd::Close(Some(1000)), false),
    ] {
        let d = compare(&model, &seen(&["a"], &["p"], end));
        assert_eq!(d[0].strict_only(), strict_only, "{end}");
    }
    assert_eq!(codes(PeerEnd::Silent), ["diverge-not-failed"]);
    assert_eq!(
        Divergence::NotFailed {
            cause: "reserved-opcode",
            code: Some(1002),
            got: PeerEnd::Silent
        }
        .group(),
        "diverge-not-failed (reserved-opcode)"
    );
}

#[test]
fn a_close_reply_may_echo_or_say_1000_or_nothing() {
    let model = ModelRun {
        choice: ["test", "test"],
        seen: seen(&[], &[], PeerEnd::Close(Some(3000))),
        failure: None,
        listed: Vec::new(),
        lying_length: false,
        sent_after_close: false,
        failure_overtakable: false,
        may_echo: Vec::new(),
    };
    let with = |sent: u16, end| {
        let mut s = seen(&[], &[], end);
        s.harness_close = Some(Some(sent));
        compare(&model, &s)
            .iter()
            .map(Divergence::code)
            .collect::<Vec<_>>()
    };
    assert!(with(3000, PeerEnd::Close(Some(3000))).is_empty());
    assert!(with(3000, PeerEnd::Close(Some(1000))).is_empty());
    assert!(with(3000, PeerEnd::Close(None)).is_empty());
    assert_eq!(with(3000, PeerEnd::Close(Some(1002))), ["diverge-failed"]);
    assert_eq!(with(3000, PeerEnd::Close(Some(1009))), ["diverge-refused"]);
    assert_eq!(with(3000, PeerEnd::Silent), ["diverge-no-close-reply"]);
    assert_eq!(with(3000, PeerEnd::Dropped), ["diverge-failed"]);
}

#[test]
fn replies_a_close_overtook_may_be_missing_and_others_may_not() {
    let mut model = ModelRun {
        choice: ["test", "test"],
        seen: seen(&["a", "b"], &[], PeerEnd::Close(Some(1000))),
        failure: None,
        listed: Vec::new(),
        lying_length: false,
        sent_after_close: false,
        failure_overtakable: false,
        may_echo: Vec::new(),
    };
    // "a" came 300 ms before the close, "b" 100 ms before.
    model.seen.messages[0].1 = ms(200);
    model.seen.messages[1].1 = ms(400);
    let codes = |model: &ModelRun, got: &[&str]| {
        compare(model, &seen(got, &[], PeerEnd::Close(Some(1000))))
            .iter()
            .map(Divergence::code)
            .collect::<Vec<_>>()
    };
    let codes_now = |got: &[&str]| codes(&model, got);
    assert!(codes_now(&["a", "b"]).is_empty());
    assert!(codes_now(&["a"]).is_empty());
    assert_eq!(codes_now(&[]), ["diverge-missing-message"]);
    assert_eq!(codes_now(&["b"]), ["diverge-wrong-message"]);
    assert_eq!(codes_now(&["a", "b", "c"]), ["diverge-extra-message"]);
    // Once the harness waited for an event (the case lists it), it is due.
    model.listed = vec![text("a"), text("b")];
    assert_eq!(codes(&model, &["a"]), ["diverge-missing-message"]);
}

#[test]
fn only_the_last_of_close_pings_needs_a_pong_and_extra_pongs_are_allowed() {
    let mut model = ModelRun {
        choice: ["test", "test"],
        seen: seen(&[], &["1", "2", "3"], PeerEnd::Close(Some(1000))),
        failure: None,
        listed: Vec::new(),
        lying_length: false,
        sent_after_close: false,
        failure_overtakable: false,
        may_echo: Vec::new(),
    };
    model.seen.first_close = None;
    // 1 and 2 together, 3 half a second later.
    model.seen.pongs[2].1 = ms(500);
    let codes = |got: &[&str]| {
        compare(&model, &seen(&[], got, PeerEnd::Close(Some(1000))))
            .iter()
            .map(Divergence::code)
            .collect::<Vec<_>>()
    };
    assert!(codes(&["2", "3"]).is_empty());
    assert!(codes(&["x", "1", "2", "3"]).is_empty());
    assert_eq!(codes(&["1", "3"]), ["diverge-missing-pong"]);
    assert_eq!(codes(&["2"]), ["diverge-missing-pong"]);
}

/// Sequences from a seeded generator, as `wsconform fuzz` makes them.
fn sequences(seed: u64, count: usize) -> Vec<Sequence> {
    let mut rng = fastrand::Rng::with_seed(seed);
    (0..count)
        .filter_map(|_| {
            let data: Vec<u8> = (0..512).map(|_| rng.u8(..)).collect();
            Sequence::arbitrary(&mut Unstructured::new(&data)).ok()
        })
        .collect()
}

#[test]
fn the_reference_server_in_each_allowed_choice_never_diverges_from_the_model() {
    for (i, seq) in sequences(13, 150).iter().enumerate() {
        let (text, case) = predicted_case(seq, &CaseHead::GENERATED);
        for (_, faults) in allowed_choices() {
            let run = run_pair(&case, faults, i as u64, std::time::Instant::now());
            assert_eq!(
                run.record.outcome,
                Outcome::Pass,
                "{faults:?}: {}\n{text}",
                run.record.reason
            );
        }
    }
}

fn frame(opcode: &'static str, fin: bool, payload: &[u8]) -> GenFrame {
    GenFrame::plain(opcode, fin, payload)
}

#[test]
fn a_planted_fault_diverges_with_its_own_code() {
    // A ping between two fragments of a text message.
    let seq = Sequence {
        steps: vec![GenStep::Send {
            frames: vec![
                frame("\"text\"", false, b"ab"),
                frame("\"ping\"", true, b"p"),
                frame("\"continuation\"", true, b"c"),
            ],
            // One write per frame: the server reads the ping while the message is open.
            write: Write_::Sync,
        }],
    };
    let (text, case) = predicted_case(&seq, &CaseHead::GENERATED);
    assert!(text.contains("{ pong = { hex = \"70\" } }"), "{text}");
    let faults = Faults {
        no_pong_mid_message: true,
        ..Faults::default()
    };
    let run = run_pair(&case, faults, 1, std::time::Instant::now());
    assert_eq!(run.record.outcome, Outcome::Fail, "{}", run.record.reason);
    assert_eq!(run.record.causes, vec![Cause::Diverged]);
    let codes: Vec<&str> = run
        .record
        .findings
        .iter()
        .map(|f| f.code.as_str())
        .collect();
    assert_eq!(codes, ["diverge-missing-pong"], "{}", run.record.reason);
    // A server that skips reserved-opcode checks is caught too, by another code.
    let seq = Sequence {
        steps: vec![GenStep::Send {
            frames: vec![frame("3", true, b"")],
            write: Write_::Plain,
        }],
    };
    let (_, case) = predicted_case(&seq, &CaseHead::GENERATED);
    let faults = Faults {
        ignore_reserved_opcodes: true,
        ..Faults::default()
    };
    let run = run_pair(&case, faults, 1, std::time::Instant::now());
    assert_eq!(
        run.record.findings[0].code, "diverge-not-failed",
        "{}",
        run.record.reason
    );
}
