//! Whole cases, the opening handshake included, on a simulated clock: section 0 judged with no
//! socket and no sleeping.

use super::*;
use crate::cases::builtin;

fn case(id: &str) -> Case {
    builtin()
        .expect("cases")
        .into_iter()
        .find(|c| c.id == id)
        .expect("case")
}

fn config() -> FlowConfig {
    FlowConfig {
        open_handshake_timeout: Duration::from_secs(5),
        timeouts: Timeouts::default(),
        policy: Policy::Default,
        params: [
            ("subprotocol", "chat"),
            ("forbidden_origin", "http://evil.example"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect(),
        chop: None,
        side: crate::Side::Client,
        seed: None,
    }
}

fn start(c: &Case, t0: Instant) -> (Box<CaseFlow>, Box<Session>) {
    start_with(c, &config(), t0)
}

fn start_with(c: &Case, config: &FlowConfig, t0: Instant) -> (Box<CaseFlow>, Box<Session>) {
    match CaseFlow::start("sim", c, config, "h:1", "/", t0, SystemTime::UNIX_EPOCH) {
        Start::Run(flow, session) => (flow, session),
        Start::Done(record) => panic!("did not run: {}", record.reason),
    }
}

/// Carries out the flow's actions as an edge would, with the request "written" at `now`;
/// returns the bytes the session sent.
fn act(flow: &mut CaseFlow, session: &mut Session, now: Instant) -> Vec<u8> {
    let mut sent = Vec::new();
    while let Some(action) = flow.poll_action() {
        match action {
            FlowAction::SendRequest { .. } => {
                flow.request_begins(now);
                while let Some(bytes) = session.poll_transmit() {
                    session.on_sent(now, &bytes);
                    sent.extend(bytes);
                }
                flow.request_written(now, session);
            }
            FlowAction::Machine(Action::Write { pieces, .. }) => sent.extend(pieces.concat()),
            FlowAction::Machine(Action::Abort) => session.handle_closed(now, Closure::HarnessAbort),
            FlowAction::SendResponse { .. } => {
                while let Some(bytes) = session.poll_transmit() {
                    session.on_sent(now, &bytes);
                    sent.extend(bytes);
                }
            }
            FlowAction::Machine(_) | FlowAction::Hold { .. } => {}
        }
    }
    sent
}

/// The peer ends TCP (FIN); the case must be over, clean, with OK verdicts.
fn fin_and_finish(mut flow: Box<CaseFlow>, session: &mut Session, now: Instant) -> CaseRecord {
    let fin = Closure::PeerFin {
        tls_close_notify: None,
    };
    session.handle_closed(now, fin);
    events(&mut flow, session, now);
    assert!(flow.is_done());
    let log = session.log().clone();
    let record = flow.finish(&log, Duration::ZERO, None);
    assert_eq!(
        (record.behavior, record.behavior_close),
        (Some(Behavior::Ok), Some(BehaviorClose::Ok)),
        "{}",
        record.reason
    );
    record
}

/// Hands every session event to the flow.
fn events(flow: &mut CaseFlow, session: &mut Session, now: Instant) {
    while let Some(event) = session.poll_event() {
        flow.handle(now, Some(event), session, true);
    }
}

#[test]
fn a_refused_crafted_request_is_judged_by_its_rule() {
    // 0.6.3: Sec-WebSocket-Version 12 must be refused with 426 (or 400) listing 13.
    let t0 = Instant::now();
    let c = case("0.6.3");
    let (mut flow, mut session) = start(&c, t0);
    let request = act(&mut flow, &mut session, t0);
    assert!(String::from_utf8_lossy(&request).contains("Sec-WebSocket-Version: 12\r\n"));
    let t1 = t0 + Duration::from_millis(20);
    session.handle_input(
        t1,
        b"HTTP/1.1 426 Upgrade Required\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nContent-Length: 0\r\n\r\n",
    );
    events(&mut flow, &mut session, t1);
    assert!(flow.is_done());
    let log = session.log().clone();
    let record = flow.finish(&log, Duration::from_millis(20), None);
    assert_eq!(record.behavior, Some(Behavior::Ok), "{}", record.reason);
    assert_eq!(record.causes, [Cause::Handshake]);
    assert!(record.observed[0].contains("426"), "{:?}", record.observed);
    assert!(record.http_request.is_some());
}

#[test]
fn a_silent_server_fails_at_the_deadline_counted_from_the_requests_last_byte() {
    let t0 = Instant::now();
    let c = case("0.6.3");
    let (mut flow, mut session) = start(&c, t0);
    // The request takes 3 s to write (a trickle, say): the deadline runs from its end, the
    // time in the reason from its start.
    assert!(matches!(
        flow.poll_action(),
        Some(FlowAction::SendRequest { .. })
    ));
    flow.request_begins(t0);
    while let Some(bytes) = session.poll_transmit() {
        session.on_sent(t0, &bytes);
    }
    flow.request_written(t0 + Duration::from_secs(3), &mut session);
    let deadline = session.poll_timeout().expect("deadline");
    assert_eq!(deadline, t0 + Duration::from_secs(3 + 5));
    session.handle_timeout(deadline - Duration::from_millis(1));
    events(&mut flow, &mut session, deadline);
    assert!(!flow.is_done(), "not before the deadline");
    session.handle_timeout(deadline);
    events(&mut flow, &mut session, deadline);
    assert!(flow.is_done());
    let log = session.log().clone();
    let record = flow.finish(&log, Duration::from_secs(8), None);
    assert_eq!(record.behavior, Some(Behavior::Failed), "{}", record.reason);
    assert!(
        record.observed[0].starts_with("no answer within 8.00 s"),
        "{:?}",
        record.observed
    );
}

#[test]
fn an_accepted_crafted_request_runs_the_case_machine_and_the_handshake_verdict_leads() {
    // 0.4.4: Connection "keep-alive, Upgrade" must be accepted; then the harness closes.
    let t0 = Instant::now();
    let c = case("0.4.4");
    let (mut flow, mut session) = start(&c, t0);
    let request = act(&mut flow, &mut session, t0);
    let text = String::from_utf8_lossy(&request).into_owned();
    let key = text
        .lines()
        .find_map(|l| l.strip_prefix("Sec-WebSocket-Key: "))
        .expect("key");
    let response = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {}\r\n\r\n",
        crate::handshake::accept_key(key.as_bytes())
    );
    session.handle_input(t0, response.as_bytes());
    events(&mut flow, &mut session, t0);
    assert!(!flow.is_done(), "the machine runs now");
    // It closes at once (no steps), masked as a client.
    let close = act(&mut flow, &mut session, t0);
    assert_eq!(close[0], 0x88);
    assert_ne!(close[1] & 0x80, 0);
    session.handle_input(
        t0,
        &crate::wire::RawFrame::close(crate::wire::CloseCode::NORMAL, "").to_bytes(),
    );
    let record = fin_and_finish(flow, &mut session, t0);
    assert!(
        record.reason.starts_with("accepted (101)"),
        "{}",
        record.reason
    );
}

#[test]
fn a_standard_handshake_refused_ends_the_case_with_its_reason() {
    let t0 = Instant::now();
    let c = case("1.1.1");
    let (mut flow, mut session) = start(&c, t0);
    act(&mut flow, &mut session, t0);
    session.handle_input(t0, b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
    events(&mut flow, &mut session, t0);
    assert!(flow.is_done());
    assert_eq!(flow.poll_action(), Some(FlowAction::Machine(Action::Abort)));
    let log = session.log().clone();
    let record = flow.finish(&log, Duration::ZERO, None);
    // Refusing breaks no MUST (RFC 6455 §4.2.2): NON-STRICT, and nothing ran.
    assert_eq!(record.behavior, Some(Behavior::NonStrict));
    assert!(
        record
            .reason
            .starts_with("non-strict: opening handshake failed")
            && record.reason.contains("nothing of the case ran"),
        "{}",
        record.reason
    );
    assert!(record.http_response.is_some_and(|r| r.contains("404")));
}

#[test]
fn a_case_missing_a_param_does_not_start() {
    let c = case("0.1.9");
    let no_params = FlowConfig {
        params: Params::new(),
        ..config()
    };
    let start = CaseFlow::start(
        "sim",
        &c,
        &no_params,
        "h:1",
        "/",
        Instant::now(),
        SystemTime::UNIX_EPOCH,
    );
    match start {
        Start::Done(record) => assert_eq!(record.outcome, Outcome::NotRun),
        Start::Run(..) => panic!("a case that needs a param ran without it"),
    }
}

#[test]
fn a_101_that_breaks_section_4_1_is_a_finding_with_its_code() {
    let t0 = Instant::now();
    let c = case("1.1.1");
    let (mut flow, mut session) = start(&c, t0);
    act(&mut flow, &mut session, t0);
    session.handle_input(
        t0,
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: bm90IHRoZSByaWdodCBrZXk=\r\n\r\n",
    );
    events(&mut flow, &mut session, t0);
    assert!(flow.is_done());
    let log = session.log().clone();
    let record = flow.finish(&log, Duration::ZERO, None);
    assert_eq!(record.behavior, Some(Behavior::Failed));
    let codes: Vec<&str> = record.findings.iter().map(|f| f.code.as_str()).collect();
    assert_eq!(codes, ["accept-mismatch"]);
    assert_eq!(
        record.findings[0].rfc.as_deref(),
        Some("rfc6455#section-4.1")
    );
}

#[test]
fn as_the_server_the_flow_checks_the_request_and_runs_the_case_unmasked() {
    // 1.1.2's script as the server (Autobahn's fuzzingserver mode): our text goes out
    // unmasked, the client under test echoes it masked, we close and close TCP first.
    let t0 = Instant::now();
    let c = case("1.1.2");
    let server_config = FlowConfig {
        side: crate::Side::Server,
        ..config()
    };
    let (mut flow, mut server) = start_with(&c, &server_config, t0);
    assert_eq!(flow.poll_action(), None, "a server sends nothing first");
    // The client under test: proto's client session, echoing by hand.
    let request = Request::new("h:1", "/runCase?case=2&agent=x");
    let mut client = Session::client_for(&request, SessionConfig::default(), t0);
    let mut to_server = Vec::new();
    while let Some(bytes) = client.poll_transmit() {
        to_server.extend(bytes);
    }
    server.handle_input(t0, &to_server);
    events(&mut flow, &mut server, t0);
    assert!(!flow.is_done(), "the request is valid: the case runs");
    // What the server sent: the 101, then the case's frame, unmasked.
    let mut to_client = Vec::new();
    while let Some(bytes) = server.poll_transmit() {
        to_client.extend(bytes);
    }
    to_client.extend(act(&mut flow, &mut server, t0));
    client.handle_input(t0, &to_client);
    let message = std::iter::from_fn(|| client.poll_event())
        .find_map(|e| match e {
            SessionEvent::Message(m) => Some(m),
            _ => None,
        })
        .expect("the case's message reached the client");
    let payload_len = message.payload.len();
    // The client echoes it (masked, as a client must).
    client.send(
        crate::wire::RawFrame::new(message.opcode, message.payload),
        crate::session::Masking::BySide,
    );
    let echo = client.poll_transmit().expect("echo");
    assert_ne!(echo[1] & 0x80, 0, "the client masks");
    server.handle_input(t0, &echo);
    events(&mut flow, &mut server, t0);
    // Auto-close: our close, unmasked.
    let close = act(&mut flow, &mut server, t0);
    assert_eq!((close[0], close[1] & 0x80), (0x88, 0), "an unmasked close");
    server.handle_input(
        t0,
        &crate::wire::RawFrame::close(crate::wire::CloseCode::NORMAL, "")
            .masked([1, 2, 3, 4])
            .to_bytes(),
    );
    events(&mut flow, &mut server, t0);
    assert_eq!(
        flow.poll_action(),
        Some(FlowAction::Machine(Action::Shutdown))
    );
    fin_and_finish(flow, &mut server, t0);
    assert!(payload_len > 0);
}

#[test]
fn as_the_server_a_bad_request_fails_the_client() {
    let t0 = Instant::now();
    let server_config = FlowConfig {
        side: crate::Side::Server,
        ..config()
    };
    let (mut flow, mut server) = start_with(&case("1.1.1"), &server_config, t0);
    // No Sec-WebSocket-Key: RFC 6455 §4.2.1 item 5.
    server.handle_input(
        t0,
        b"GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\r\n",
    );
    events(&mut flow, &mut server, t0);
    assert!(flow.is_done());
    let refusal = server.poll_transmit().expect("a refusal is written");
    assert!(refusal.starts_with(b"HTTP/1.1 400 "));
    let log = server.log().clone();
    let record = flow.finish(&log, Duration::ZERO, None);
    assert_eq!(record.behavior, Some(Behavior::Failed));
    assert!(
        record.reason.contains("Sec-WebSocket-Key"),
        "{}",
        record.reason
    );
}

#[test]
fn a_deflate_answer_that_breaks_rfc7692_fails_the_case_with_its_rule() {
    // 13.3.1 offers server_max_window_bits=9; a server that answers 12 breaks §7.1.2.1.
    let t0 = Instant::now();
    let c = case("13.3.1");
    let (mut flow, mut session) = start(&c, t0);
    let request = String::from_utf8(act(&mut flow, &mut session, t0)).expect("text");
    assert!(
        request.contains("Sec-WebSocket-Extensions: permessage-deflate;"),
        "{request}"
    );
    let key = request
        .lines()
        .find_map(|l| l.strip_prefix("Sec-WebSocket-Key: "))
        .expect("a key");
    let accept = crate::handshake::accept_key(key.trim().as_bytes());
    session.handle_input(
        t0,
        format!(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\nSec-WebSocket-Extensions: permessage-deflate; server_max_window_bits=12\r\n\r\n"
        )
        .as_bytes(),
    );
    events(&mut flow, &mut session, t0);
    assert!(flow.is_done());
    assert_eq!(
        flow.handshake_failure(),
        None,
        "the handshake itself succeeded"
    );
    let log = session.log().clone();
    let record = flow.finish(&log, Duration::ZERO, None);
    assert_eq!(record.behavior, Some(Behavior::Failed));
    let codes: Vec<&str> = record.findings.iter().map(|f| f.code.as_str()).collect();
    assert_eq!(codes, ["pmd-bad-answer"]);
    assert_eq!(record.findings[0].rfc.as_deref(), Some("rfc7692#section-7"));
    assert!(
        record.reason.contains("exceeds the 9 offered"),
        "{}",
        record.reason
    );
}
