//! The interpreter on a simulated clock: no sockets, no sleeping.

use super::*;
use crate::cases::parse_case_file;
use crate::wire::{Decoder, DecoderConfig, Item, Role, ViolationKind};

fn case(toml: &str) -> Case {
    let cases = parse_case_file("test.toml", toml).expect("valid case");
    cases.into_iter().next().expect("one case")
}

/// Decodes what the machine wrote, as a server would (masked frames expected).
fn written(m: &mut CaseMachine) -> (Vec<Frame>, bool) {
    let mut decoder = Decoder::new(DecoderConfig {
        role: Role::Server,
        validate_utf8: false,
        ..DecoderConfig::default()
    });
    let mut aborted = false;
    while let Some(action) = m.poll_action() {
        match action {
            Action::Write { pieces, .. } => pieces.iter().for_each(|p| decoder.feed(p)),
            Action::Abort => aborted = true,
        }
    }
    let frames = std::iter::from_fn(|| decoder.poll())
        .filter_map(|i| match i {
            Item::Frame(f) => Some(f),
            Item::Violation(_) => None,
        })
        .collect();
    (frames, aborted)
}

fn server_frame(offset: u64, raw: RawFrame) -> Frame {
    Frame { offset, raw }
}

const ECHO: &str = r#"
[[case]]
id = "1.1.2"
title = "t"
rfc = "rfc6455#section-5.6"
kill = 1
steps = [ { send = { frames = [ { opcode = "text", payload = "Hello" } ] } } ]
expect.ok = [ { message = { opcode = "text", payload = "Hello" } } ]
close = "ok"
"#;

#[test]
fn echo_then_auto_close_then_clean_close() {
    let t0 = Instant::now();
    let mut m = CaseMachine::new(&case(ECHO), Timeouts::default(), t0).with_seed(1);
    let (sent, _) = written(&mut m);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].payload(), b"Hello");
    assert!(sent[0].raw.mask.is_some(), "client frames are masked");
    // The echo arrives: auto-close 1000.
    m.handle_frame(t0, server_frame(0, RawFrame::text("Hello")));
    let (sent, _) = written(&mut m);
    assert_eq!(sent[0].opcode(), OpCode::CLOSE);
    assert_eq!(sent[0].payload(), [0x03, 0xe8]);
    // The server answers and closes TCP.
    m.handle_frame(t0, server_frame(7, RawFrame::close(CloseCode::NORMAL, "")));
    m.handle_closed(
        t0,
        Closure::PeerFin {
            tls_close_notify: None,
        },
    );
    assert!(m.is_done());
    let r = m.finish();
    assert_eq!(r.observed.len(), 1);
    assert!(r.facts.closed_by_me && r.facts.was_clean && !r.facts.dropped_by_me);
    assert_eq!(r.facts.remote_code, Some(1000));
}

#[test]
fn kill_timer_sends_going_away_then_drops_after_the_close_timeout() {
    let t0 = Instant::now();
    let mut m = CaseMachine::new(&case(ECHO), Timeouts::default(), t0);
    written(&mut m);
    assert_eq!(m.poll_timeout(), Some(t0 + Duration::from_secs(1)));
    m.handle_timeout(t0 + Duration::from_millis(999));
    assert!(written(&mut m).0.is_empty(), "nothing before the deadline");
    m.handle_timeout(t0 + Duration::from_secs(1));
    let (sent, _) = written(&mut m);
    assert_eq!(sent[0].payload()[..2], [0x03, 0xe9], "1001 Going Away");
    // No reply within the close-handshake timeout: abort.
    let t2 = t0 + Duration::from_secs(2);
    m.handle_timeout(t2);
    let (_, aborted) = written(&mut m);
    assert!(aborted);
    m.handle_closed(t2, Closure::HarnessAbort);
    let r = m.finish();
    assert!(r.facts.failed_by_me && r.facts.close_handshake_timeout && r.facts.dropped_by_me);
    assert!(!r.facts.was_clean);
}

#[test]
fn a_violation_fails_the_connection_and_the_frame_is_not_recorded() {
    let t0 = Instant::now();
    let mut m = CaseMachine::new(&case(ECHO), Timeouts::default(), t0);
    written(&mut m);
    m.handle_violation(
        t0,
        Violation {
            offset: 0,
            frame: Some(0),
            kind: ViolationKind::MaskedFrameFromServer,
        },
    );
    m.handle_frame(
        t0,
        server_frame(0, RawFrame::text("Hello").masked([1, 2, 3, 4])),
    );
    let (sent, _) = written(&mut m);
    assert_eq!(sent[0].opcode(), OpCode::CLOSE);
    assert_eq!(sent[0].payload()[..2], [0x03, 0xea], "1002");
    m.handle_closed(
        t0,
        Closure::PeerFin {
            tls_close_notify: None,
        },
    );
    let r = m.finish();
    assert!(r.observed.is_empty(), "{:?}", r.observed);
    assert_eq!(r.findings.len(), 1);
    assert!(r.facts.failed_by_me && r.facts.closed_by_me);
}

#[test]
fn peer_close_first_is_answered_with_1000() {
    let src = ECHO.replace("close = \"ok\"", "close = \"fail\"");
    let t0 = Instant::now();
    let mut m = CaseMachine::new(&case(&src), Timeouts::default(), t0);
    written(&mut m);
    m.handle_frame(
        t0,
        server_frame(0, RawFrame::close(CloseCode::PROTOCOL_ERROR, "bad")),
    );
    let (sent, _) = written(&mut m);
    assert_eq!(sent[0].payload(), [0x03, 0xe8]);
    m.handle_closed(
        t0,
        Closure::PeerFin {
            tls_close_notify: None,
        },
    );
    let r = m.finish();
    assert!(!r.facts.closed_by_me && r.facts.was_clean);
    assert_eq!(r.remote_close, Some((Some(1002), "bad".into())));
}

#[test]
fn tagged_waits_record_timeouts_only_while_open() {
    let src = r#"
[[case]]
id = "6.4.1"
title = "t"
rfc = "rfc6455#section-8.1"
steps = [
  { send = { frames = [ { opcode = "text", fin = false, payload = "a" } ] } },
  { wait = { secs = 1, tag = "A" } },
  { send = { frames = [ { opcode = "continuation", fin = false, payload = { hex = "f4908080" } } ] } },
  { wait = { secs = 1, tag = "B" } },
  { send = { frames = [ { opcode = "continuation", payload = "z" } ] } },
]
expect.ok = [ { timeout = "A" } ]
expect.non_strict = [ { timeout = "A" }, { timeout = "B" } ]
close = { by = "peer", codes = [1007], wrong_endpoint_fatal = true }
"#;
    let t0 = Instant::now();
    let mut m = CaseMachine::new(&case(src), Timeouts::default(), t0);
    assert_eq!(written(&mut m).0.len(), 1);
    m.handle_timeout(t0 + Duration::from_secs(1));
    assert_eq!(
        written(&mut m).0.len(),
        1,
        "part 2 goes out after the first wait"
    );
    // The server fails fast: close 1007 before the second wait ends.
    m.handle_frame(
        t0,
        server_frame(0, RawFrame::close(CloseCode::INVALID_PAYLOAD, "")),
    );
    written(&mut m);
    m.handle_timeout(t0 + Duration::from_secs(2));
    assert!(written(&mut m).0.is_empty(), "no part 3 once closed");
    m.handle_closed(
        t0,
        Closure::PeerFin {
            tls_close_notify: None,
        },
    );
    let r = m.finish();
    assert_eq!(r.observed, [Observed::Timeout("A".into())]);
}

#[test]
fn chop_and_sync_write_modes() {
    let src = r#"
[[case]]
id = "2.6"
title = "t"
rfc = "rfc6455#section-5.5.2"
steps = [
  { send = { frames = [ { opcode = "ping", payload = "x" } ], write = "chop:1" } },
  { send = { frames = [ { opcode = "ping" }, { opcode = "ping" } ], write = "sync" } },
  { send = { frames = [ { opcode = "ping" }, { opcode = "ping" } ] } },
]
close = "ok"
"#;
    let mut m = CaseMachine::new(&case(src), Timeouts::default(), Instant::now());
    let actions: Vec<Action> = std::iter::from_fn(|| m.poll_action()).collect();
    let shapes: Vec<(usize, Option<usize>)> = actions
        .iter()
        .map(|a| match a {
            Action::Write { pieces, chop } => (pieces.len(), *chop),
            Action::Abort => (0, None),
        })
        .collect();
    assert_eq!(shapes, [(1, Some(1)), (2, None), (1, None)]);
}

#[test]
fn first_message_step_judges_type_and_length_only() {
    let src = r#"
[[case]]
id = "9.1.1"
title = "t"
rfc = "rfc6455#section-5.6"
steps = [
  { send = { frames = [ { opcode = "text", payload = { repeat = "BAsd7&jh23", len = 100 } } ] } },
  { expect_first_message = { opcode = "text", len = 100, within = 10 } },
]
close = "ok"
"#;
    let t0 = Instant::now();
    let mut m = CaseMachine::new(&case(src), Timeouts::default(), t0);
    written(&mut m);
    m.handle_frame(t0, server_frame(0, RawFrame::text(vec![b'x'; 100])));
    let (sent, _) = written(&mut m);
    assert_eq!(sent[0].opcode(), OpCode::CLOSE);
    m.handle_closed(
        t0,
        Closure::PeerFin {
            tls_close_notify: None,
        },
    );
    let r = m.finish();
    assert_eq!(r.script_verdict.map(|v| v.0), Some(Behavior::Ok));
    assert!(r.observed.is_empty());
}

#[test]
fn roundtrip_sends_one_at_a_time() {
    let src = r#"
[[case]]
id = "9.7.1"
title = "t"
rfc = "rfc6455#section-5.6"
steps = [ { roundtrip = { count = 3, opcode = "binary", payload = { repeat_hex = "fe", len = 4 }, within = 60 } } ]
close = "ok"
"#;
    let t0 = Instant::now();
    let mut m = CaseMachine::new(&case(src), Timeouts::default(), t0);
    for i in 0..3 {
        let (sent, _) = written(&mut m);
        assert_eq!(sent.len(), 1, "message {i} alone");
        assert_eq!(sent[0].opcode(), OpCode::BINARY);
        m.handle_frame(t0, server_frame(0, RawFrame::binary(vec![0xfe; 4])));
    }
    let (sent, _) = written(&mut m);
    assert_eq!(sent[0].opcode(), OpCode::CLOSE);
}

#[test]
fn a_flood_of_pongs_is_recorded_only_up_to_the_cap() {
    let t0 = Instant::now();
    let mut m = CaseMachine::new(&case(ECHO), Timeouts::default(), t0);
    written(&mut m);
    for i in 0..(MAX_OBSERVED as u64 + 500) {
        m.handle_frame(t0, server_frame(i * 3, RawFrame::pong("x")));
    }
    m.handle_closed(
        t0,
        Closure::PeerFin {
            tls_close_notify: None,
        },
    );
    assert_eq!(m.finish().observed.len(), MAX_OBSERVED);
}
