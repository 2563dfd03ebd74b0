//! The reference server on a simulated clock, fed by proto's client session.

use super::*;
use crate::handshake::Request;
use crate::session::SessionState;

/// A client session and a server, with the client's request delivered and the answer read.
fn connect(faults: Faults) -> (Instant, Session, ReferenceServer) {
    let t0 = Instant::now();
    let request = Request::new("h:1", "/");
    let mut client = Session::client_for(&request, SessionConfig::default(), t0);
    let mut server = ReferenceServer::new(faults, t0);
    pump(t0, &mut client, &mut server);
    (t0, client, server)
}

/// Moves every queued byte both ways until neither side has more to say.
fn pump(now: Instant, client: &mut Session, server: &mut ReferenceServer) {
    for _ in 0..16 {
        let mut moved = false;
        while let Some(bytes) = client.poll_transmit() {
            client.on_sent(now, &bytes);
            server.handle_input(now, &bytes);
            moved = true;
        }
        while let Some(bytes) = server.poll_transmit() {
            server.on_sent(now, &bytes);
            client.handle_input(now, &bytes);
            moved = true;
        }
        if !moved {
            return;
        }
    }
    panic!("the two sides kept talking");
}

fn events(client: &mut Session) -> Vec<SessionEvent> {
    std::iter::from_fn(|| client.poll_event()).collect()
}

#[test]
fn handshake_echo_ping_and_close_then_the_server_closes_first() {
    let (t0, mut client, mut server) = connect(Faults::default());
    assert!(matches!(
        events(&mut client)[..],
        [SessionEvent::Open { .. }]
    ));
    client.send(RawFrame::text("Hello"), Masking::BySide);
    client.send(RawFrame::ping("p"), Masking::BySide);
    pump(t0, &mut client, &mut server);
    let got = events(&mut client);
    assert!(matches!(&got[0], SessionEvent::Message(m) if m.payload == b"Hello"));
    assert!(
        matches!(&got[1], SessionEvent::Control(f) if f.opcode() == OpCode::PONG && f.payload() == b"p")
    );
    assert_eq!(server.poll_action(), None);
    client.send(
        RawFrame::close(CloseCode::GOING_AWAY, "bye"),
        Masking::BySide,
    );
    pump(t0, &mut client, &mut server);
    match &events(&mut client)[..] {
        [SessionEvent::Control(f)] => assert_eq!(f.payload(), [0x03, 0xe9], "same code back"),
        other => panic!("{other:?}"),
    }
    assert_eq!(server.poll_action(), Some(PeerAction::Shutdown));
}

#[test]
fn violations_fail_the_connection_with_their_code() {
    let (t0, mut client, mut server) = connect(Faults::default());
    events(&mut client);
    client.send(RawFrame::text(*b"\xff"), Masking::BySide);
    pump(t0, &mut client, &mut server);
    match &events(&mut client)[..] {
        [SessionEvent::Control(f)] => assert_eq!(f.payload(), [0x03, 0xef], "1007"),
        other => panic!("{other:?}"),
    }
    assert_eq!(server.poll_action(), Some(PeerAction::Shutdown));

    let (t0, mut client, mut server) = connect(Faults::default());
    events(&mut client);
    client.send(RawFrame::text("x"), Masking::Unmasked);
    pump(t0, &mut client, &mut server);
    match &events(&mut client)[..] {
        [SessionEvent::Control(f)] => assert_eq!(f.payload(), [0x03, 0xea], "1002"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn each_fault_breaks_its_rule() {
    let (t0, mut client, mut server) = connect(Faults {
        accept_unmasked: true,
        mask_own_frames: true,
        no_pong: true,
        ..Faults::default()
    });
    events(&mut client);
    client.send(RawFrame::text("x"), Masking::Unmasked);
    client.send(RawFrame::ping("p"), Masking::BySide);
    pump(t0, &mut client, &mut server);
    let got = events(&mut client);
    // The echo of the unmasked frame comes back masked (a violation, so withheld), and no
    // pong comes at all.
    assert!(
        matches!(
            &got[..],
            [SessionEvent::Violation(v)] if v.kind == ViolationKind::MaskedFrameFromServer
        ),
        "{got:?}"
    );

    let (_, mut client, _) = connect(Faults {
        wrong_accept: true,
        ..Faults::default()
    });
    assert!(matches!(
        &events(&mut client)[..],
        [SessionEvent::HandshakeFailed(_)]
    ));
    assert_eq!(client.state(), SessionState::Done);
}

#[test]
fn a_request_that_never_ends_is_dropped_at_the_handshake_timeout() {
    let t0 = Instant::now();
    let mut server = ReferenceServer::new(Faults::default(), t0);
    server.handle_input(t0, b"GET / HTTP/1.1\r\n");
    let deadline = server.poll_timeout().expect("deadline");
    server.handle_timeout(deadline);
    assert_eq!(server.poll_action(), Some(PeerAction::Shutdown));
}

#[test]
fn deflate_faults_show_on_the_wire() {
    use crate::cases::builtin;
    let cases = builtin().expect("cases");
    let case = |id: &str| cases.iter().find(|c| c.id == id).expect(id).clone();
    let t0 = Instant::now();
    let clean = pair::run_pair(&case("18.9.4"), Faults::default(), 1, t0);
    assert_eq!(
        clean.record.behavior,
        Some(wsconform_reports::Behavior::Ok),
        "{}",
        clean.record.reason
    );
    let faulty = pair::run_pair(
        &case("18.9.4"),
        Faults {
            deflate_ignore_no_takeover: true,
            ..Faults::default()
        },
        1,
        t0,
    );
    assert_eq!(
        faulty.record.behavior,
        Some(wsconform_reports::Behavior::Failed),
        "{} / {:?}",
        faulty.record.reason,
        faulty.record.http_response
    );
}
