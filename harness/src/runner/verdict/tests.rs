//! One test per verdict rule.

use super::*;
use crate::wire::OpCode;
use wsconform_reports::Outcome;

fn ok_close() -> CloseExpect {
    CloseExpect::harness_closes()
}

fn fail_close() -> CloseExpect {
    CloseExpect::peer_fails()
}

fn text(s: &str) -> Observed {
    Observed::Message {
        opcode: OpCode::TEXT,
        payload: s.as_bytes().to_vec(),
    }
}

fn clean_harness_close() -> CloseFacts {
    CloseFacts {
        opened: true,
        closed_by_me: true,
        was_clean: true,
        remote_code: Some(1000),
        remote_closed: true,
        ..CloseFacts::default()
    }
}

#[test]
fn behavior_exact_match_ok_then_non_strict_else_failed() {
    let ok = [text("Hello")];
    let ns: [Observed; 0] = [];
    assert_eq!(behavior(&[text("Hello")], &ok, Some(&ns)).0, Behavior::Ok);
    assert_eq!(behavior(&[], &ok, Some(&ns)).0, Behavior::NonStrict);
    assert_eq!(behavior(&[], &ok, None).0, Behavior::Failed);
    // Extra events fail: exact comparison, nothing extra, nothing missing.
    assert_eq!(
        behavior(&[text("Hello"), Observed::Pong(vec![])], &ok, None).0,
        Behavior::Failed
    );
    // Same bytes but another type fails.
    let binary = Observed::Message {
        opcode: OpCode::BINARY,
        payload: b"Hello".to_vec(),
    };
    assert_eq!(behavior(&[binary], &ok, None).0, Behavior::Failed);
}

#[test]
fn close_handshake_never_completed() {
    let facts = CloseFacts::default();
    assert_eq!(behavior_close(&ok_close(), &facts).0, BehaviorClose::Failed);
}

#[test]
fn close_wrong_endpoint() {
    let mut facts = clean_harness_close();
    assert_eq!(
        behavior_close(&fail_close(), &facts).0,
        BehaviorClose::Failed
    );
    facts.closed_by_me = false;
    assert_eq!(behavior_close(&ok_close(), &facts).0, BehaviorClose::Failed);
}

#[test]
fn close_unclean_only_when_clean_is_required() {
    let facts = CloseFacts {
        was_clean: false,
        ..clean_harness_close()
    };
    assert_eq!(
        behavior_close(&ok_close(), &facts).0,
        BehaviorClose::Unclean
    );
    let not_required = CloseExpect {
        clean: false,
        ..ok_close()
    };
    assert_eq!(behavior_close(&not_required, &facts).0, BehaviorClose::Ok);
}

#[test]
fn close_wrong_code_but_no_code_is_always_fine() {
    let mut facts = clean_harness_close();
    facts.remote_code = Some(1001);
    let (verdict, text) = behavior_close(&ok_close(), &facts);
    assert_eq!(verdict, BehaviorClose::WrongCode);
    assert_eq!(text, "The close code should have been 1000 or empty");
    facts.remote_code = None;
    assert_eq!(behavior_close(&ok_close(), &facts).0, BehaviorClose::Ok);
}

#[test]
fn close_failed_by_client_when_the_harness_dropped_tcp() {
    let facts = CloseFacts {
        dropped_by_me: true,
        ..clean_harness_close()
    };
    assert_eq!(
        behavior_close(&ok_close(), &facts).0,
        BehaviorClose::FailedByClient
    );
}

#[test]
fn peer_fails_with_drop_and_no_code() {
    let facts = CloseFacts {
        opened: true,
        ..CloseFacts::default()
    };
    assert_eq!(behavior_close(&fail_close(), &facts).0, BehaviorClose::Ok);
}

#[test]
fn tie_wrong_endpoint_fatal() {
    let expect = CloseExpect {
        wrong_endpoint_fatal: true,
        codes: vec![1007],
        ..fail_close()
    };
    let facts = clean_harness_close();
    let (b, c) = tie(&expect, false, &facts, Behavior::Ok, BehaviorClose::Failed);
    assert_eq!((b, c), (Behavior::Failed, BehaviorClose::Failed));
    // Without the flag the main verdict stands.
    let (b, _) = tie(
        &fail_close(),
        false,
        &facts,
        Behavior::Ok,
        BehaviorClose::Failed,
    );
    assert_eq!(b, Behavior::Ok);
}

/// websockets 17.4 answers 7.1.5's close with 1002: a wrong code, but the code is a SHOULD
/// (§7.1.7) or a MAY (§7.4.1), so the main verdict is NON-STRICT, not Autobahn's FAILED.
#[test]
fn tie_wrong_code_fatal() {
    let expect = CloseExpect {
        wrong_code_fatal: true,
        drop_fatal: false,
        ..ok_close()
    };
    let facts = clean_harness_close();
    let (b, _) = tie(
        &expect,
        false,
        &facts,
        Behavior::Ok,
        BehaviorClose::WrongCode,
    );
    assert_eq!(b, Behavior::NonStrict);
    // Failed for its events stays failed.
    let (b, _) = tie(
        &expect,
        false,
        &facts,
        Behavior::Failed,
        BehaviorClose::WrongCode,
    );
    assert_eq!(b, Behavior::Failed);
    let (b, _) = tie(&expect, false, &facts, Behavior::Ok, BehaviorClose::Unclean);
    assert_eq!(b, Behavior::Ok);
}

#[test]
fn tie_informational_overrides_everything() {
    let facts = CloseFacts::default();
    let (b, c) = tie(
        &ok_close(),
        true,
        &facts,
        Behavior::Failed,
        BehaviorClose::Failed,
    );
    assert_eq!(
        (b, c),
        (Behavior::Informational, BehaviorClose::Informational)
    );
}

#[test]
fn outcome_default_and_strict_policies() {
    use Behavior as B;
    use BehaviorClose as C;
    assert_eq!(outcome(Policy::Default, B::Ok, C::Ok), Outcome::Pass);
    assert_eq!(outcome(Policy::Default, B::Failed, C::Ok), Outcome::Fail);
    assert_eq!(outcome(Policy::Default, B::Ok, C::Failed), Outcome::Fail);
    assert_eq!(
        outcome(Policy::Default, B::NonStrict, C::WrongCode),
        Outcome::Pass
    );
    assert_eq!(outcome(Policy::Strict, B::NonStrict, C::Ok), Outcome::Fail);
    assert_eq!(outcome(Policy::Strict, B::Ok, C::WrongCode), Outcome::Fail);
    assert_eq!(outcome(Policy::Strict, B::Ok, C::Unclean), Outcome::Fail);
    assert_eq!(
        outcome(Policy::Strict, B::Ok, C::FailedByClient),
        Outcome::Fail
    );
    assert_eq!(
        outcome(Policy::Strict, B::Informational, C::Informational),
        Outcome::Info
    );
    assert_eq!(
        outcome(Policy::Strict, B::Unimplemented, C::Ok),
        Outcome::Info
    );
}

#[test]
fn reason_lines() {
    let observed = [text("Hello, world!")];
    let facts = CloseFacts {
        opened: true,
        closed_by_me: true,
        was_clean: true,
        remote_code: Some(1000),
        remote_closed: true,
        ..CloseFacts::default()
    };
    let line = explain(&ReasonInput {
        behavior: Behavior::Failed,
        close: BehaviorClose::Failed,
        script_reason: None,
        observed: &observed,
        ok: &[],
        non_strict: None,
        expect: &fail_close(),
        facts: &facts,
        transport: "peer closed TCP (FIN)",
        findings: &[],
        peer: "server",
    })
    .text;
    assert_eq!(
        line,
        "expected []; got [text(\"Hello, world!\")]; expected the server to close first (close 1002); the harness did"
    );
    let masked = crate::runner::finding::Finding::from(crate::wire::Violation {
        offset: 0,
        frame: Some(0),
        frame_index: Some(0),
        kind: crate::wire::ViolationKind::MaskedFrameFromServer,
    });
    let why = explain(&ReasonInput {
        behavior: Behavior::Ok,
        close: BehaviorClose::Ok,
        script_reason: None,
        observed: &observed,
        ok: &observed,
        non_strict: None,
        expect: &ok_close(),
        facts: &facts,
        transport: "peer closed TCP (FIN)",
        findings: &[masked],
        peer: "server",
    });
    assert_eq!(
        why.text,
        "[text(\"Hello, world!\")] as expected; server answered close 1000; server broke a rule: masked frame from a server (RFC 6455 §5.1) (byte 0)"
    );
    // One cause per part of the line, as stable codes.
    assert_eq!(why.causes, [Cause::AsExpected, Cause::BrokeRule]);
    assert_eq!(Cause::BrokeRule.code(), "broke-rule");
}

/// The strict companions' close rules (section 19).
#[test]
fn no_code_is_non_strict_and_unclean_can_be_fatal() {
    let mut expect = CloseExpect::peer_fails();
    expect.no_code_non_strict = true;
    // The server failed the connection with an empty close: the code is a SHOULD.
    let empty = CloseFacts {
        opened: true,
        remote_closed: true,
        ..CloseFacts::default()
    };
    let (close, _) = behavior_close(&expect, &empty);
    assert_eq!(
        tie(&expect, false, &empty, Behavior::Ok, close).0,
        Behavior::NonStrict
    );
    // A bare TCP drop: the same.
    let dropped = CloseFacts {
        opened: true,
        ..CloseFacts::default()
    };
    let (close, _) = behavior_close(&expect, &dropped);
    assert_eq!(
        tie(&expect, false, &dropped, Behavior::Ok, close).0,
        Behavior::NonStrict
    );
    // With the code: OK. Without the option (Autobahn's "X or empty"): OK.
    let coded = CloseFacts {
        remote_code: Some(1002),
        ..empty.clone()
    };
    let (close, _) = behavior_close(&expect, &coded);
    assert_eq!(
        tie(&expect, false, &coded, Behavior::Ok, close).0,
        Behavior::Ok
    );
    let lenient = CloseExpect::peer_fails();
    let (close, _) = behavior_close(&lenient, &empty);
    assert_eq!(
        tie(&lenient, false, &empty, Behavior::Ok, close).0,
        Behavior::Ok
    );
    // The reason says which SHOULD.
    let reason = explain(&ReasonInput {
        behavior: Behavior::NonStrict,
        close: BehaviorClose::Ok,
        script_reason: None,
        observed: &[],
        ok: &[],
        non_strict: None,
        expect: &expect,
        facts: &empty,
        transport: "peer closed TCP (FIN)",
        findings: &[],
        peer: "server",
    });
    assert!(
        reason
            .text
            .contains("sent a close frame without a status code")
            && reason.text.contains("§7.1.7"),
        "{}",
        reason.text
    );

    // unclean_fatal: no reply to a valid close (§5.5.1 MUST) fails the main verdict.
    let mut expect = CloseExpect::harness_closes();
    expect.unclean_fatal = true;
    let no_reply = CloseFacts {
        opened: true,
        closed_by_me: true,
        close_handshake_timeout: true,
        dropped_by_me: true,
        ..CloseFacts::default()
    };
    let (close, _) = behavior_close(&expect, &no_reply);
    assert_eq!(close, BehaviorClose::Unclean);
    assert_eq!(
        tie(&expect, false, &no_reply, Behavior::Ok, close).0,
        Behavior::Failed
    );
}

/// websockets 17.4 closes 9.3.1's 4 MiB message in 64-byte fragments with 1009 "too many
/// fragments": the server protects itself (§10.4), NON-STRICT, not the wrong endpoint's FAILED.
#[test]
fn a_refusal_code_is_non_strict() {
    let mut expect = ok_close();
    expect.refusal_codes = vec![1008, 1009];
    let facts = CloseFacts {
        opened: true,
        remote_closed: true,
        remote_code: Some(1009),
        was_clean: true,
        ..CloseFacts::default()
    };
    let (close, _) = behavior_close(&expect, &facts);
    assert_eq!(close, BehaviorClose::Ok);
    assert_eq!(
        tie(&expect, false, &facts, Behavior::Ok, close).0,
        Behavior::NonStrict
    );
    // Another code is still the wrong endpoint.
    let other = CloseFacts {
        remote_code: Some(1002),
        ..facts.clone()
    };
    assert_eq!(behavior_close(&expect, &other).0, BehaviorClose::Failed);
    // Without refusal codes, as in Autobahn: FAILED.
    assert_eq!(behavior_close(&ok_close(), &facts).0, BehaviorClose::Failed);
    // A refusal still owes the TCP close (§5.5.1): kept open, the harness had to drop it.
    let kept_open = CloseFacts {
        dropped_by_me: true,
        server_drop_timeout: true,
        ..facts.clone()
    };
    assert_eq!(
        behavior_close(&expect, &kept_open).0,
        BehaviorClose::FailedByClient
    );
}
