//! The session on a simulated clock, both sides.

use super::*;
use crate::handshake::accept_key;
use crate::session::{Direction, EventKind};
use crate::wire::OpCode;

/// A session for `host` with the default settings, started now.
fn start(host: &str) -> (Instant, Request, Session) {
    let t0 = Instant::now();
    let request = Request::new(host, "/");
    let session = Session::client_for(&request, SessionConfig::default(), t0);
    (t0, request, session)
}

fn response_for(request: &Request) -> Vec<u8> {
    let key = request.header("Sec-WebSocket-Key").expect("key");
    format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {}\r\n\r\n",
        accept_key(key)
    )
    .into_bytes()
}

#[test]
fn handshake_then_frames_in_the_same_read_on_a_simulated_clock() {
    let (t0, request, mut s) = start("localhost:1");
    let sent = s.poll_transmit().expect("request");
    assert_eq!(sent, request.to_bytes());
    s.on_sent(t0, &sent);
    let mut input = response_for(&request);
    input.extend(RawFrame::text("hi").to_bytes());
    // Split the input anywhere: the session must not care.
    let (a, b) = input.split_at(17);
    s.handle_input(t0 + Duration::from_millis(1), a);
    assert_eq!(s.poll_event(), None);
    s.handle_input(t0 + Duration::from_millis(2), b);
    assert!(matches!(s.poll_event(), Some(SessionEvent::Open { .. })));
    match s.poll_event() {
        Some(SessionEvent::Message(m)) => {
            assert_eq!((m.opcode, &m.payload[..]), (OpCode::TEXT, &b"hi"[..]))
        }
        other => panic!("expected a message, got {other:?}"),
    }
    s.handle_closed(
        t0 + Duration::from_millis(3),
        Closure::PeerFin {
            tls_close_notify: None,
        },
    );
    assert_eq!(
        s.poll_event(),
        Some(SessionEvent::Closed(Closure::PeerFin {
            tls_close_notify: None
        }))
    );
    assert_eq!(s.state(), SessionState::Done);
    assert_eq!(s.log().events()[0].at, Duration::ZERO);
}

#[test]
fn received_frames_longer_than_their_shown_head_carry_a_digest() {
    let (t0, request, mut s) = start("h");
    let mut input = response_for(&request);
    let long = vec![b'*'; 5000];
    input.extend(RawFrame::binary(long.clone()).to_bytes());
    input.extend(RawFrame::text("short").to_bytes());
    s.handle_input(t0, &input);
    let frames: Vec<&crate::session::FrameRecord> = s
        .log()
        .events()
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::Frame { frame, .. } => Some(frame),
            _ => None,
        })
        .collect();
    assert_eq!(frames[0].digest, Some(xxhash_rust::xxh3::xxh3_64(&long)));
    assert_eq!(frames[0].head.len(), crate::session::TRACE_BYTES);
    assert_eq!(frames[1].digest, None, "a short payload is shown whole");
}

#[test]
fn handshake_timeout_fires_only_after_the_deadline() {
    let (t0, _, mut s) = start("h");
    let deadline = s.poll_timeout().expect("deadline");
    assert_eq!(deadline, t0 + Duration::from_secs(5));
    s.handle_timeout(t0 + Duration::from_secs(4));
    assert_eq!(s.poll_event(), None);
    s.handle_timeout(deadline);
    assert!(matches!(
        s.poll_event(),
        Some(SessionEvent::HandshakeFailed(HandshakeFailure::Timeout(_)))
    ));
    assert_eq!(s.poll_timeout(), None);
}

#[test]
fn non_101_reports_the_status() {
    let (t0, _, mut s) = start("h");
    s.handle_input(t0, b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
    match s.poll_event() {
        Some(SessionEvent::HandshakeFailed(f)) => assert_eq!(f.status(), Some(404)),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_flood_of_header_bytes_is_bounded() {
    let (t0, _, mut s) = start("h");
    s.handle_input(t0, b"HTTP/1.1 101 OK\r\n");
    let chunk = [b'a'; 4096];
    for _ in 0..8 {
        s.handle_input(t0, &chunk);
    }
    assert!(matches!(
        s.poll_event(),
        Some(SessionEvent::HandshakeFailed(HandshakeFailure::Unreadable(
            ResponseError::TooLarge { .. }
        )))
    ));
    assert_eq!(s.state(), SessionState::Done);
}

/// A server session and a valid request for `/`.
fn server() -> (Instant, Request, Session) {
    let t0 = Instant::now();
    (
        t0,
        Request::new("h:1", "/"),
        Session::server(SessionConfig::default(), t0),
    )
}

#[test]
fn a_server_reads_the_request_answers_it_and_reads_frames_sent_behind_it() {
    use crate::handshake::server::{ServerConfig, check_request};
    use crate::session::Masking;
    let (t0, request, mut s) = server();
    assert_eq!(s.side(), crate::Side::Server);
    let mut input = request.to_bytes();
    input.extend(RawFrame::text("hi").masked([1, 2, 3, 4]).to_bytes());
    let (a, b) = input.split_at(20);
    s.handle_input(t0, a);
    assert_eq!(s.poll_event(), None);
    s.handle_input(t0, b);
    let head = match s.poll_event() {
        Some(SessionEvent::Request(head)) => head,
        other => panic!("{other:?}"),
    };
    assert_eq!(
        s.poll_timeout(),
        None,
        "the answer is the user's, not a timer's"
    );
    let accepted = check_request(&head, &ServerConfig::default()).expect("valid");
    let response = accepted.response(&accepted.accept(), None);
    s.accept(t0, response.clone());
    assert_eq!(s.state(), SessionState::Open);
    assert_eq!(s.poll_transmit(), Some(response.clone()));
    match s.poll_event() {
        Some(SessionEvent::Message(m)) => assert_eq!(m.payload, b"hi"),
        other => panic!("expected the message sent behind the request, got {other:?}"),
    }
    // Its own frames go out unmasked (RFC 6455 §5.1), unless a step says otherwise.
    s.send(RawFrame::text("yo"), Masking::BySide);
    let bytes = s.poll_transmit().expect("frame");
    assert_eq!(bytes[1] & 0x80, 0, "a server does not mask");
    s.on_sent(t0, &response);
    s.on_sent(t0, &bytes);
    let sent_frames = s.log().frames(Direction::Sent).count();
    assert_eq!(sent_frames, 1, "the response is not read as frames");
}

#[test]
fn a_server_flags_unmasked_client_frames_and_refuses_bad_requests() {
    let (t0, request, mut s) = server();
    s.handle_input(t0, &request.to_bytes());
    assert!(matches!(s.poll_event(), Some(SessionEvent::Request(_))));
    s.accept(t0, b"HTTP/1.1 101 Switching Protocols\r\n\r\n".to_vec());
    s.handle_input(t0, &RawFrame::text("x").to_bytes());
    assert!(matches!(
        s.poll_event(),
        Some(SessionEvent::Violation(v)) if v.kind == crate::wire::ViolationKind::UnmaskedFrameFromClient
    ));
    assert_eq!(s.poll_event(), None, "the unmasked frame is withheld");

    let (t0, _, mut s) = server();
    s.handle_input(t0, b"GET / HTTP/1.1\r\nHost: h\r\n\r\n");
    assert!(matches!(s.poll_event(), Some(SessionEvent::Request(_))));
    s.refuse(b"HTTP/1.1 400 Bad Request\r\n\r\n".to_vec());
    assert!(matches!(
        s.poll_event(),
        Some(SessionEvent::HandshakeFailed(HandshakeFailure::Refused))
    ));
    assert_eq!(s.state(), SessionState::Done);
    assert!(s.poll_transmit().is_some(), "the refusal is still written");

    let (t0, _, mut s) = server();
    s.handle_input(t0, b"\x16\x03\x01 not http\r\n\r\n");
    assert!(matches!(
        s.poll_event(),
        Some(SessionEvent::HandshakeFailed(HandshakeFailure::BadRequest(
            _
        )))
    ));
    let answer = s
        .poll_transmit()
        .expect("an answer to an unreadable request");
    assert!(answer.starts_with(b"HTTP/1.1 400 "), "{answer:?}");
}

#[test]
fn a_server_waits_for_the_request_only_until_the_handshake_timeout() {
    let (t0, _, mut s) = server();
    s.handle_input(t0, b"GET / HTTP/1.1\r\n");
    let deadline = s.poll_timeout().expect("deadline");
    s.handle_timeout(deadline);
    assert!(matches!(
        s.poll_event(),
        Some(SessionEvent::HandshakeFailed(HandshakeFailure::Timeout(_)))
    ));
}

#[test]
fn a_server_bounds_what_it_keeps_before_it_answers() {
    let (t0, request, mut s) = server();
    s.handle_input(t0, &request.to_bytes());
    assert!(matches!(s.poll_event(), Some(SessionEvent::Request(_))));
    // Not answered yet; the client floods.
    for _ in 0..8 {
        s.handle_input(t0, &[0u8; 4096]);
    }
    assert!(matches!(
        s.poll_event(),
        Some(SessionEvent::HandshakeFailed(HandshakeFailure::BadRequest(
            RequestError::TooLarge(_)
        )))
    ));
    assert_eq!(s.state(), SessionState::Done);
}
