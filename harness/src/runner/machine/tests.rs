//! The interpreter on a simulated clock: no sockets, no sleeping.

use super::*;
use crate::cases::parse_case_file;
use crate::message::{Assembler, Delivery, MessageConfig};
use crate::runner::limit::FloodTally;
use crate::session::{Inbound, Reader};
use crate::wire::{Decoder, DecoderConfig, Item, Side};

fn case(toml: &str) -> Case {
    let cases = parse_case_file("test.toml", toml).expect("valid case");
    cases.into_iter().next().expect("one case")
}

/// Decodes what the machine wrote, as a server would (masked frames expected).
fn written(m: &mut CaseMachine) -> (Vec<Frame>, bool) {
    let mut decoder = Decoder::new(DecoderConfig {
        side: Side::Server,
        ..DecoderConfig::default()
    });
    let mut aborted = false;
    while let Some(action) = m.poll_action() {
        match action {
            Action::Write { pieces, .. } => pieces.iter().for_each(|p| decoder.feed(p)),
            Action::WriteRepeated { head, chunk, len } => {
                decoder.feed(&head);
                repeated(&chunk, len).for_each(|p| decoder.feed(p));
            }
            Action::Abort => aborted = true,
            Action::CheckAlive | Action::Shutdown => {}
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
    Frame {
        offset,
        index: 0,
        raw,
    }
}

/// Hands the machine what the session reads from `bytes`: through proto's message layer, as
/// in a real run (a frame that breaks a rule is reported and withheld).
fn receive_bytes(m: &mut CaseMachine, now: Instant, bytes: &[u8]) {
    let mut reader = Reader::new(DecoderConfig::default(), MessageConfig::default());
    reader.feed(bytes);
    while let Some(inbound) = reader.poll() {
        match inbound {
            Inbound::Frame(_) => {}
            Inbound::Violation(v) => m.handle_violation(now, v),
            Inbound::Control(f) => m.handle_control(now, f),
            Inbound::Message(msg) => m.handle_message(now, msg),
        }
    }
}

/// One frame from the server, through the message layer.
fn receive(m: &mut CaseMachine, now: Instant, frame: Frame) {
    let mut assembler = Assembler::new(MessageConfig::default());
    assembler.handle_frame(frame, false);
    while let Some(delivery) = assembler.poll() {
        match delivery {
            Delivery::Violation(v) => m.handle_violation(now, v),
            Delivery::Control(f) => m.handle_control(now, f),
            Delivery::Message(msg) => m.handle_message(now, msg),
        }
    }
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
    receive(&mut m, t0, server_frame(0, RawFrame::text("Hello")));
    let (sent, _) = written(&mut m);
    assert_eq!(sent[0].opcode(), OpCode::CLOSE);
    assert_eq!(sent[0].payload(), [0x03, 0xe8]);
    // The server answers and closes TCP.
    receive(
        &mut m,
        t0,
        server_frame(7, RawFrame::close(CloseCode::NORMAL, "")),
    );
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
    receive_bytes(
        &mut m,
        t0,
        &RawFrame::text("Hello").masked([1, 2, 3, 4]).to_bytes(),
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
    receive(
        &mut m,
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
    receive(
        &mut m,
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
            Action::WriteRepeated { .. }
            | Action::Abort
            | Action::CheckAlive
            | Action::Shutdown => (0, None),
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
    receive(&mut m, t0, server_frame(0, RawFrame::text(vec![b'x'; 100])));
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
        receive(&mut m, t0, server_frame(0, RawFrame::binary(vec![0xfe; 4])));
    }
    let (sent, _) = written(&mut m);
    assert_eq!(sent[0].opcode(), OpCode::CLOSE);
}

#[test]
fn a_flood_of_pongs_is_recorded_only_up_to_the_cap() {
    let pings = MAX_OBSERVED + 500;
    let src = format!(
        r#"
[[case]]
id = "x.1"
title = "t"
rfc = "rfc6455#section-5.5.2"
steps = [ {{ send = {{ frames = [ {{ opcode = "ping", payload = "x" }} ], repeat = {pings} }} }} ]
"#
    );
    let t0 = Instant::now();
    let mut m = CaseMachine::new(&case(&src), Timeouts::default(), t0);
    written(&mut m);
    for i in 0..pings as u64 {
        receive(&mut m, t0, server_frame(i * 3, RawFrame::pong("x")));
    }
    m.handle_closed(
        t0,
        Closure::PeerFin {
            tls_close_notify: None,
        },
    );
    assert_eq!(m.finish().observed.len(), MAX_OBSERVED);
}

#[test]
fn an_unsolicited_pong_is_no_event() {
    let src = r#"
[[case]]
id = "x.1"
title = "t"
rfc = "rfc6455#section-5.5.3"
steps = [ { send = { frames = [ { opcode = "ping", payload = "a" } ] } } ]
expect.ok = [ { pong = "a" } ]
"#;
    let t0 = Instant::now();
    let mut m = CaseMachine::new(&case(src), Timeouts::default(), t0);
    written(&mut m);
    // §5.5.3: "A Pong frame MAY be sent unsolicited." Then the answer; then the same answer
    // again, which answers nothing left.
    receive(&mut m, t0, server_frame(0, RawFrame::pong("b")));
    receive(&mut m, t0, server_frame(3, RawFrame::pong("a")));
    receive(&mut m, t0, server_frame(6, RawFrame::pong("a")));
    m.handle_closed(t0, Closure::PeerReset);
    assert_eq!(m.finish().observed, [Observed::Pong(b"a".to_vec())]);
}

const FLOOD: &str = r#"
[[case]]
id = "16.3.1"
title = "t"
rfc = "rfc6455#section-5.5.3"
steps = [ { ping_flood = { count = 5, within = 2.0 } } ]
"#;

#[test]
fn ping_flood_accepts_skipped_pongs_but_not_a_missing_last_one() {
    let t0 = Instant::now();
    let mut m = CaseMachine::new(&case(FLOOD), Timeouts::default(), t0);
    let (sent, _) = written(&mut m);
    assert_eq!(sent.len(), 5);
    assert!(sent.iter().all(|f| f.opcode() == OpCode::PING));
    assert_eq!(sent[4].payload(), b"4");
    // §5.5.3: pongs for 1 and 4 only; the last one ends the flood with a close, and the
    // pongs are not recorded as events.
    receive(&mut m, t0, server_frame(0, RawFrame::pong("1")));
    receive(&mut m, t0, server_frame(3, RawFrame::pong("4")));
    let (sent, _) = written(&mut m);
    assert_eq!(sent[0].opcode(), OpCode::CLOSE);
    m.handle_closed(t0, Closure::PeerReset);
    let r = m.finish();
    assert!(r.observed.is_empty());
    let (behavior, text) = r.script_verdict.expect("verdict");
    assert_eq!(behavior, Behavior::Ok, "{text}");

    // No pong for the last ping within the time: FAILED.
    let mut m = CaseMachine::new(&case(FLOOD), Timeouts::default(), t0);
    written(&mut m);
    receive(&mut m, t0, server_frame(0, RawFrame::pong("3")));
    let deadline = m.poll_timeout().expect("deadline");
    assert_eq!(deadline, t0 + Duration::from_secs(2));
    m.handle_timeout(deadline);
    let (sent, _) = written(&mut m);
    assert_eq!(sent[0].opcode(), OpCode::CLOSE);
    m.handle_closed(deadline, Closure::PeerReset);
    let (behavior, text) = m.finish().script_verdict.expect("verdict");
    assert_eq!(behavior, Behavior::Failed);
    assert!(text.contains("no pong for the last ping"), "{text}");
}

#[test]
fn flood_tally_rules() {
    let tally = |pongs: &[&str]| {
        let mut t = FloodTally::new(3);
        for p in pongs {
            t.pong(p.as_bytes());
        }
        t.verdict(1.0)
    };
    assert_eq!(tally(&["0", "1", "2"]).0, Behavior::Ok);
    assert_eq!(tally(&["2"]).0, Behavior::Ok);
    let (b, text) = tally(&["1", "0", "2"]);
    assert_eq!(b, Behavior::Failed);
    assert!(text.contains("in order"), "{text}");
    let (b, text) = tally(&["2", "x"]);
    assert_eq!(b, Behavior::Failed);
    assert!(text.contains("matches no ping"), "{text}");
    assert_eq!(tally(&[]).0, Behavior::Failed);
    assert!(
        FloodTally::new(3).pong(b"2"),
        "the last ping's pong ends the flood"
    );
}

#[test]
fn pause_reading_is_a_deadline_that_does_not_block_the_script() {
    let src = r#"
[[case]]
id = "16.5.1"
title = "t"
rfc = "rfc6455#section-10.4"
close_after = 5
steps = [ { pause_reading = { secs = 3 } }, { send = { frames = [ { opcode = "binary", payload = "x" } ], repeat = 4 } } ]
"#;
    let t0 = Instant::now();
    let mut m = CaseMachine::new(&case(src), Timeouts::default(), t0);
    let (sent, _) = written(&mut m);
    assert_eq!(sent.len(), 4, "the writes go on while reading pauses");
    assert_ne!(sent[0].raw.mask, sent[1].raw.mask, "a fresh key each time");
    assert_eq!(m.reading_paused(t0), Some(t0 + Duration::from_secs(3)));
    assert_eq!(m.poll_timeout(), Some(t0 + Duration::from_secs(3)));
    m.handle_timeout(t0 + Duration::from_secs(3));
    assert_eq!(m.reading_paused(t0 + Duration::from_secs(3)), None);
    assert_eq!(m.poll_timeout(), Some(t0 + Duration::from_secs(5)));
}

#[test]
fn a_server_that_keeps_tcp_open_after_its_own_close_is_a_finding() {
    let src = r#"
[[case]]
id = "17.1.1"
title = "t"
rfc = "rfc6455#section-5.5.1"
kill = 3
steps = [ { send = { frames = [ { opcode = 3 } ] } } ]
close = { by = "peer", codes = [1002], clean = true, drop_fatal = true }
"#;
    let t0 = Instant::now();
    let mut m = CaseMachine::new(&case(src), Timeouts::default(), t0);
    written(&mut m);
    let payload = CloseCode::PROTOCOL_ERROR.0.to_be_bytes().to_vec();
    receive(
        &mut m,
        t0,
        server_frame(0, RawFrame::new(OpCode::CLOSE, payload)),
    );
    let (sent, _) = written(&mut m);
    assert_eq!(sent[0].opcode(), OpCode::CLOSE, "the close is answered");
    // The kill timer (3 s) bounds the wait for the server to close TCP.
    let deadline = m.poll_timeout().expect("deadline");
    m.handle_timeout(deadline);
    let (_, aborted) = written(&mut m);
    assert!(aborted);
    m.handle_closed(deadline, Closure::HarnessAbort);
    let r = m.finish();
    assert!(
        r.findings
            .iter()
            .any(|f| f.kind == crate::runner::finding::FindingKind::ServerKeptTcpOpen),
        "{:?}",
        r.findings
    );
    assert!(r.facts.dropped_by_me && !r.facts.closed_by_me);
}

#[test]
fn limit_probe_grows_then_records_the_close() {
    let src = r#"
[[case]]
id = "16.1.1"
title = "t"
rfc = "rfc6455#section-10.4"
informational = true
steps = [ { probe_limit = { max = 1048576, within = 5.0 } } ]
"#;
    let t0 = Instant::now();
    let mut m = CaseMachine::new(&case(src), Timeouts::default(), t0);
    let (sent, _) = written(&mut m);
    assert_eq!(sent[0].payload().len(), 64 * 1024);
    receive(
        &mut m,
        t0,
        server_frame(0, RawFrame::binary(vec![b'*'; 64 * 1024])),
    );
    let (sent, _) = written(&mut m);
    assert_eq!(sent[0].payload().len(), 256 * 1024);
    let payload = CloseCode(1009).0.to_be_bytes().to_vec();
    receive(
        &mut m,
        t0,
        server_frame(1, RawFrame::new(OpCode::CLOSE, payload)),
    );
    m.handle_closed(t0, Closure::PeerReset);
    let (b, text) = m.finish().script_verdict.expect("verdict");
    assert_eq!(b, Behavior::Informational);
    assert!(text.contains("closed with 1009"), "{text}");

    // With the limit known, one message a byte over it; an echo fails.
    let src = src.replace("within = 5.0", "within = 5.0, known_limit = true");
    let mut m = CaseMachine::with_limit(&case(&src), Timeouts::default(), Some(1000), t0);
    let (sent, _) = written(&mut m);
    assert_eq!(sent[0].payload().len(), 1001);
    receive(
        &mut m,
        t0,
        server_frame(0, RawFrame::binary(vec![b'*'; 1001])),
    );
    m.handle_closed(t0, Closure::PeerReset);
    assert_eq!(
        m.finish().script_verdict.expect("verdict").0,
        Behavior::Failed
    );
}

#[test]
fn alive_step_blocks_the_script_until_the_driver_answers() {
    let src = r#"
[[case]]
id = "16.2.1"
title = "t"
rfc = "rfc6455#section-10.4"
informational = true
kill = 10
steps = [ { send = { frames = [ { opcode = "text", payload = "a" } ] } }, { alive = {} }, { send = { frames = [ { opcode = "text", payload = "b" } ] } } ]
"#;
    let t0 = Instant::now();
    let mut m = CaseMachine::new(&case(src), Timeouts::default(), t0);
    assert!(matches!(m.poll_action(), Some(Action::Write { .. })));
    assert_eq!(m.poll_action(), Some(Action::CheckAlive));
    assert_eq!(m.poll_action(), None, "the script waits for the answer");
    m.handle_alive(t0, Err("no echo on a new connection within 5 s".into()));
    let (sent, _) = written(&mut m);
    assert_eq!(sent[0].payload(), b"b", "then it goes on");
    m.handle_closed(t0 + Duration::from_millis(1500), Closure::PeerReset);
    let r = m.finish();
    assert_eq!(
        r.dead.as_deref(),
        Some("no echo on a new connection within 5 s")
    );
    assert_eq!(r.ended_after, Some(Duration::from_millis(1500)));
}

#[test]
fn a_large_probe_message_is_streamed_and_its_echo_measured_not_kept() {
    let src = r#"
[[case]]
id = "16.1.1"
title = "t"
rfc = "rfc6455#section-10.4"
steps = [ { probe_limit = { max = 8388608, within = 5.0 } } ]
close = "ok"
"#;
    let t0 = Instant::now();
    let mut m = CaseMachine::new(&case(src), Timeouts::default(), t0);
    written(&mut m);
    // 64 KiB and 256 KiB go whole; 1 MiB + 3 bytes' worth of repeats would not: the sizes
    // here are 1 MiB and 4 MiB, streamed as a header and 1 MiB chunks.
    receive(
        &mut m,
        t0,
        server_frame(0, RawFrame::binary(vec![b'*'; 64 << 10])),
    );
    written(&mut m);
    receive(
        &mut m,
        t0,
        server_frame(1, RawFrame::binary(vec![b'*'; 256 << 10])),
    );
    written(&mut m);
    receive(
        &mut m,
        t0,
        server_frame(2, RawFrame::binary(vec![b'*'; 1 << 20])),
    );
    let actions: Vec<Action> = std::iter::from_fn(|| m.poll_action()).collect();
    let [Action::WriteRepeated { head, chunk, len }] = &actions[..] else {
        panic!("{actions:?}");
    };
    assert_eq!((chunk.len(), *len), (1 << 20, 4 << 20));
    // What goes out is one masked frame of 4 MiB of '*'.
    let mut decoder = Decoder::new(DecoderConfig {
        side: Side::Server,
        ..DecoderConfig::default()
    });
    decoder.feed(head);
    repeated(chunk, *len).for_each(|p| decoder.feed(p));
    let Some(Item::Frame(f)) = decoder.poll() else {
        panic!("one frame");
    };
    assert!(f.raw.fin && f.raw.mask.is_some());
    assert_eq!(f.raw.payload.len(), 4 << 20);
    assert!(f.raw.payload.iter().all(|b| *b == b'*'));
    // Its echo, past the harness's buffer, arrives as a frame it skips: the length is the
    // echo, and no rule was broken.
    m.handle_violation(
        t0,
        Violation {
            offset: 3,
            frame: Some(3),
            frame_index: Some(3),
            kind: ViolationKind::FrameTooLarge {
                declared: 4 << 20,
                cap: 1 << 20,
                fin: true,
                header_len: 10,
            },
        },
    );
    // Nothing is sent until the echo's payload has streamed past (both sides writing at
    // once, neither reading, would stall); the machine asks to be woken meanwhile.
    assert_eq!(m.poll_action(), None);
    assert!(
        m.poll_timeout()
            .is_some_and(|t| t <= t0 + Duration::from_millis(10))
    );
    m.handle_progress(t0, 3 + 10 + (4 << 20) - 1);
    assert_eq!(m.poll_action(), None);
    m.handle_progress(t0, 3 + 10 + (4 << 20));
    let actions: Vec<Action> = std::iter::from_fn(|| m.poll_action()).collect();
    assert!(
        matches!(&actions[..], [Action::WriteRepeated { len, .. }] if *len == 8 << 20),
        "{actions:?}"
    );
    let result = m.finish();
    assert!(result.findings.is_empty(), "{:?}", result.findings);
    // A cut-short last chunk.
    let pieces: Vec<usize> = repeated(&[0; 4], 10).map(<[u8]>::len).collect();
    assert_eq!(pieces, [4, 4, 2]);
}

/// A violation on frame `at` of the server's stream.
fn violation_at(at: u64, kind: ViolationKind) -> Violation {
    Violation {
        offset: at,
        frame: Some(at),
        frame_index: Some(0),
        kind,
    }
}

#[test]
fn a_probe_echo_fragmented_past_the_buffer_is_recorded_or_fails_a_declared_limit() {
    let upward = r#"
[[case]]
id = "16.1.1"
title = "t"
rfc = "rfc6455#section-10.4"
steps = [ { probe_limit = { max = 8388608, within = 5.0 } } ]
close = "ok"
"#;
    let fragment = ViolationKind::FrameTooLarge {
        declared: 5 << 20,
        cap: 4 << 20,
        fin: false,
        header_len: 10,
    };
    let t0 = Instant::now();
    let mut m = CaseMachine::new(&case(upward), Timeouts::default(), t0);
    written(&mut m);
    m.handle_violation(t0, violation_at(0, fragment.clone()));
    // The rest of that echo (a small continuation the assembler cannot place) is no finding.
    m.handle_violation(
        t0,
        violation_at(5 << 20, ViolationKind::ContinuationWithoutStart),
    );
    let result = m.finish();
    let (b, text) = result.script_verdict.expect("verdict");
    assert_eq!(b, Behavior::Informational, "{text}");
    assert!(text.contains("its size was not checked"), "{text}");
    assert!(result.findings.is_empty(), "{:?}", result.findings);

    // With the limit declared, any echo of the message over it fails.
    let known = r#"
[[case]]
id = "16.1.2"
title = "t"
rfc = "rfc6455#section-7.4.1"
steps = [ { probe_limit = { max = 134217728, within = 5.0, known_limit = true } } ]
close = { by = "peer", codes = [1009] }
"#;
    let mut m = CaseMachine::with_limit(&case(known), Timeouts::default(), Some(5 << 20), t0);
    written(&mut m);
    m.handle_violation(t0, violation_at(0, fragment));
    let (b, text) = m.finish().script_verdict.expect("verdict");
    assert_eq!(b, Behavior::Failed, "{text}");
    assert!(text.contains("over its 5242880-byte limit"), "{text}");
}

#[test]
fn a_probe_or_flood_cut_short_keeps_its_own_verdict() {
    // The limit known: the server stops reading the big message and the harness gives up.
    let src = r#"
[[case]]
id = "16.1.2"
title = "t"
rfc = "rfc6455#section-7.4.1"
steps = [ { probe_limit = { max = 1048576, within = 5.0, known_limit = true } } ]
close = { by = "peer", codes = [1009] }
"#;
    let t0 = Instant::now();
    let mut m = CaseMachine::with_limit(&case(src), Timeouts::default(), Some(1000), t0);
    written(&mut m);
    m.handle_closed(t0, Closure::HarnessAbort);
    let (b, text) = m.finish().script_verdict.expect("verdict");
    assert_eq!(b, Behavior::Failed);
    assert!(text.contains("stopped reading"), "{text}");

    // A flood the server ends with 1008 after two pongs.
    let t0 = Instant::now();
    let mut m = CaseMachine::new(&case(FLOOD), Timeouts::default(), t0);
    written(&mut m);
    receive(&mut m, t0, server_frame(0, RawFrame::pong("0")));
    receive(&mut m, t0, server_frame(3, RawFrame::pong("1")));
    let payload = CloseCode(1008).0.to_be_bytes().to_vec();
    receive(
        &mut m,
        t0,
        server_frame(6, RawFrame::new(OpCode::CLOSE, payload)),
    );
    m.handle_closed(t0, Closure::PeerReset);
    let result = m.finish();
    let (b, text) = result.script_verdict.expect("verdict");
    // §10.4: a server may stop a flood; 1008 says why.
    assert_eq!(b, Behavior::Ok);
    assert!(
        text.contains("2 pongs for 5 pings, in order, then close 1008"),
        "{text}"
    );
    assert!(
        result.script_judged_close,
        "the flood's verdict judged the close"
    );

    // A pong whose payload only looks like a ping's (`01`) is not one; a repeat is named.
    let mut t = FloodTally::new(3);
    t.pong(b"01");
    assert_eq!(t.stray, 1);
    let mut t = FloodTally::new(3);
    t.pong(b"1");
    t.pong(b"1");
    t.pong(b"2");
    assert!(t.verdict(1.0).1.contains("ping 1 was answered twice"));
}

#[test]
fn as_the_server_the_harness_does_not_mask_and_closes_tcp_first() {
    // The same script, the side flipped (Autobahn's fuzzingserver mode): our frames go out
    // unmasked (RFC 6455 §5.1), and once the closing handshake is done we close TCP first
    // (§7.1.1) instead of waiting for the peer to.
    let t0 = Instant::now();
    let mut m = CaseMachine::for_side(Side::Server, &case(ECHO), Timeouts::default(), None, t0);
    assert_eq!(m.side(), Side::Server);
    let mut frames = Vec::new();
    while let Some(action) = m.poll_action() {
        if let Action::Write { pieces, .. } = action {
            frames.extend(pieces);
        }
    }
    assert_eq!(frames.len(), 1);
    assert_eq!(frames[0][1] & 0x80, 0, "a server does not mask");
    // The client's echo, masked as it must be, then auto-close 1000 from us, unmasked.
    receive(
        &mut m,
        t0,
        server_frame(0, RawFrame::text("Hello").masked([9, 9, 9, 9])),
    );
    let close = match m.poll_action() {
        Some(Action::Write { pieces, .. }) => pieces.concat(),
        other => panic!("{other:?}"),
    };
    assert_eq!(close[0] & 0x0F, 0x8);
    assert_eq!(close[1] & 0x80, 0, "our close is not masked either");
    receive(
        &mut m,
        t0,
        server_frame(
            13,
            RawFrame::close(CloseCode::NORMAL, "").masked([1, 1, 1, 1]),
        ),
    );
    assert_eq!(
        m.poll_action(),
        Some(Action::Shutdown),
        "the server closes TCP first"
    );
    // The client never closes its side: no finding, we drop it at the deadline.
    let deadline = m.poll_timeout().expect("drop deadline");
    m.handle_timeout(deadline);
    assert_eq!(m.poll_action(), Some(Action::Abort));
    m.handle_closed(deadline, Closure::HarnessAbort);
    let r = m.finish();
    assert!(r.findings.is_empty(), "{:?}", r.findings);
    assert!(r.facts.closed_by_me && r.facts.was_clean);
    assert!(!r.facts.server_drop_timeout);
    assert_eq!(r.observed.len(), 1);
}

#[test]
fn a_step_overrides_the_sides_masking() {
    let src = r#"
[[case]]
id = "14.9.9"
title = "t"
rfc = "rfc6455#section-5.1"
steps = [ { send = { frames = [
  { opcode = "text", payload = "a" },
  { opcode = "text", payload = "b", masked = true },
  { opcode = "text", payload = "c", mask_key = "00000000" },
  { opcode = "text", payload = "d", masked = false },
] } } ]
close = "ok"
"#;
    let masks = |side| {
        let mut m =
            CaseMachine::for_side(side, &case(src), Timeouts::default(), None, Instant::now());
        let mut bytes = Vec::new();
        while let Some(action) = m.poll_action() {
            if let Action::Write { pieces, .. } = action {
                bytes.extend(pieces.concat());
            }
        }
        let mut decoder = Decoder::new(DecoderConfig::default());
        decoder.feed(&bytes);
        std::iter::from_fn(|| decoder.poll())
            .filter_map(|i| match i {
                Item::Frame(f) => Some(f.raw.mask.map(|k| k == [0; 4])),
                Item::Violation(_) => None,
            })
            .collect::<Vec<_>>()
    };
    // Some(false): masked with a random key; Some(true): with the zero key; None: unmasked.
    assert_eq!(
        masks(Side::Client),
        [Some(false), Some(false), Some(true), None]
    );
    assert_eq!(masks(Side::Server), [None, Some(false), Some(true), None]);
}

#[test]
fn a_series_cuts_text_in_code_points_cyclically() {
    let text = "aé日😀b";
    let chars: Vec<char> = text.chars().collect();
    for len in [1usize, 2, 3, 7, 11] {
        let mut cursor = 0;
        for i in 0..9 {
            let got = super::script::cut(text.as_bytes(), &mut cursor, len, true);
            let got = String::from_utf8(got).expect("whole characters");
            let want: String = (0..len)
                .map(|k| chars[(i * len + k) % chars.len()])
                .collect();
            assert_eq!(got, want, "len {len}, message {i}");
        }
    }
    let mut cursor = 3;
    assert_eq!(
        super::script::cut(b"abcdef", &mut cursor, 5, false),
        b"defab"
    );
    assert_eq!(cursor, 2);
}

const SERIES: &str = r#"
[[case]]
id = "12.1.1"
title = "t"
rfc = "rfc7692#section-7.2"
deflate = {}
steps = [ { series = { data = "json", len = 16, count = 3, within = 60 } } ]
close = "ok"
"#;

#[test]
fn without_deflate_agreed_a_deflate_case_is_unimplemented_and_closes() {
    let t0 = Instant::now();
    let mut m = CaseMachine::new(&case(SERIES), Timeouts::default(), t0);
    let (sent, _) = written(&mut m);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].opcode(), OpCode::CLOSE);
    assert_eq!(sent[0].raw.payload, 1000u16.to_be_bytes());
    let verdict = m.finish().script_verdict.expect("a verdict");
    assert_eq!(verdict.0, Behavior::Unimplemented);
}

#[test]
fn a_series_sends_compressed_one_at_a_time_and_checks_each_echo() {
    use crate::deflate::{Deflater, Inflater};
    let t0 = Instant::now();
    let build = || {
        CaseMachine::build(
            Writer::with_seed(Side::Client, 1),
            &case(SERIES),
            Timeouts::default(),
            None,
            Some(Deflater::new(15, true, 1)),
            t0,
        )
    };
    // The server inflates what came (takeover on, as the harness compresses) and echoes it.
    let mut m = build();
    let mut inflater = Inflater::new(15, true);
    let mut sent_texts = Vec::new();
    for i in 0..3 {
        let (sent, _) = written(&mut m);
        assert_eq!(sent.len(), 1, "message {i} alone");
        assert_eq!(sent[0].raw.rsv, crate::wire::Rsv::RSV1, "compressed");
        let text = inflater
            .inflate(&sent[0].raw.payload, 1000)
            .expect("inflates");
        assert_eq!(text.len(), 16);
        sent_texts.push(text.clone());
        receive(&mut m, t0, server_frame(0, RawFrame::text(text)));
    }
    // Message i is the next 16 bytes of the data set.
    assert_eq!(
        sent_texts.concat(),
        &wsconform_cases::data::get("json").expect("json").bytes[..48]
    );
    let (sent, _) = written(&mut m);
    assert_eq!(sent[0].opcode(), OpCode::CLOSE);
    let verdict = m.finish().script_verdict.expect("a verdict");
    assert_eq!(verdict.0, Behavior::Ok, "{}", verdict.1);
    // An echo that differs fails at once, naming which echo and how.
    let mut m = build();
    let _ = written(&mut m);
    receive(
        &mut m,
        t0,
        server_frame(0, RawFrame::text("0123456789abcdef")),
    );
    let (sent, _) = written(&mut m);
    assert_eq!(sent[0].opcode(), OpCode::CLOSE);
    let verdict = m.finish().script_verdict.expect("a verdict");
    assert_eq!(verdict.0, Behavior::Failed);
    assert!(verdict.1.starts_with("echo 1 of 3"), "{}", verdict.1);
    assert!(
        verdict.1.contains("first difference at byte 0"),
        "{}",
        verdict.1
    );
}
