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
    }
}

fn start(c: &Case, t0: Instant) -> (Box<CaseFlow>, Box<Session>) {
    match CaseFlow::start("sim", c, &config(), "h:1", "/", t0, SystemTime::UNIX_EPOCH) {
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
            FlowAction::Machine(_) | FlowAction::Hold { .. } => {}
        }
    }
    sent
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
    session.handle_closed(
        t0,
        Closure::PeerFin {
            tls_close_notify: None,
        },
    );
    events(&mut flow, &mut session, t0);
    assert!(flow.is_done());
    let log = session.log().clone();
    let record = flow.finish(&log, Duration::ZERO, None);
    assert_eq!(
        (record.behavior, record.behavior_close),
        (Some(Behavior::Ok), Some(BehaviorClose::Ok)),
        "{}",
        record.reason
    );
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
    assert_eq!(record.behavior, Some(Behavior::Failed));
    assert!(
        record.reason.starts_with("opening handshake failed"),
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
