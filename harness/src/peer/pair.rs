//! A case run entirely in memory on a simulated clock: the case machine on proto's client
//! session against the reference server, bytes handed across by hand (the quinn-proto `Pair`
//! shape). No sockets, no runtime, no sleeping: what the stateful fuzz target runs, and what
//! a live fuzzer asks for a prediction.

use std::time::{Duration, Instant};

use super::{Faults, PeerAction, ReferenceServer};
use crate::Side;
use crate::cases::Case;
use crate::handshake::Request;
use crate::runner::machine::{Action, CaseMachine, MachineResult, Timeouts};
use crate::session::{Closure, EventLog, Session, SessionConfig, SessionEvent, Writer};

/// The most rounds a pair runs (each moves every queued byte both ways or advances the clock):
/// a bound on any script, however it loops.
const MAX_ROUNDS: usize = 100_000;

/// What a pair run saw.
#[derive(Debug)]
pub struct PairRun {
    /// The client side's log (what the harness sent and received).
    pub client: EventLog,
    /// The server side's log.
    pub server: EventLog,
    /// The case machine's result, if the opening handshake succeeded.
    pub result: Option<MachineResult>,
    /// Simulated time from the start to the end.
    pub elapsed: Duration,
}

/// Runs `case` (its steps, after a standard handshake) against the reference server with
/// `faults`, with masking keys from `seed`, starting at `start` on a simulated clock.
pub fn run_pair(case: &Case, faults: Faults, seed: u64, start: Instant) -> PairRun {
    let mut now = start;
    let request = Request::new("reference.invalid", "/");
    let mut client = Session::client(
        &request,
        Session::offer_for(&request),
        SessionConfig::default(),
        now,
    );
    let mut server = ReferenceServer::new(faults, now);
    let mut machine: Option<CaseMachine> = None;
    let mut server_gone = false;
    let mut client_gone = false;
    let timeouts = Timeouts {
        case_limit: Duration::from_secs(60),
        ..Timeouts::default()
    };
    for _ in 0..MAX_ROUNDS {
        let mut moved = false;
        // The machine's writes go out through the client session.
        if let Some(m) = machine.as_mut() {
            while let Some(action) = m.poll_action() {
                match action {
                    Action::Write { pieces, chop } => {
                        for piece in pieces {
                            match chop {
                                Some(n) => piece
                                    .chunks(n.max(1))
                                    .for_each(|c| client.send_raw(c.to_vec())),
                                None => client.send_raw(piece),
                            }
                        }
                    }
                    Action::Abort | Action::Shutdown => {
                        client_gone = true;
                        client.handle_closed(now, Closure::HarnessAbort);
                        if !server_gone {
                            server.handle_closed(now, Closure::PeerReset);
                            server_gone = true;
                        }
                    }
                    Action::CheckAlive => m.handle_alive(now, Ok(())),
                }
                moved = true;
            }
        }
        while let Some(bytes) = client.poll_transmit() {
            client.on_sent(now, &bytes);
            if !server_gone {
                server.handle_input(now, &bytes);
            }
            moved = true;
        }
        while let Some(bytes) = server.poll_transmit() {
            server.on_sent(now, &bytes);
            if !client_gone {
                client.handle_input(now, &bytes);
            }
            moved = true;
        }
        if server.poll_action() == Some(PeerAction::Shutdown) && !server_gone {
            // The server closed TCP first: the client reads the end of the stream.
            server_gone = true;
            if !client_gone {
                client_gone = true;
                let fin = Closure::PeerFin {
                    tls_close_notify: None,
                };
                client.handle_closed(now, fin);
            }
            moved = true;
        }
        while let Some(event) = client.poll_event() {
            moved = true;
            match (event, machine.as_mut()) {
                (SessionEvent::Open { .. }, None) => {
                    let writer = Writer::with_seed(Side::Client, seed);
                    machine = Some(CaseMachine::build(writer, case, timeouts, None, now));
                }
                (SessionEvent::HandshakeFailed(_), None) => {
                    return finish(client, server, None, now - start);
                }
                (SessionEvent::Message(msg), Some(m)) => m.handle_message(now, msg),
                (SessionEvent::Control(frame), Some(m)) => m.handle_control(now, frame),
                (SessionEvent::Violation(v), Some(m)) => m.handle_violation(now, v),
                (SessionEvent::Closed(c), Some(m)) => m.handle_closed(now, c),
                (SessionEvent::Closed(_), None) => {
                    return finish(client, server, None, now - start);
                }
                _ => {}
            }
        }
        if machine.as_ref().is_some_and(CaseMachine::is_done) {
            let result = machine.map(CaseMachine::finish);
            return finish(client, server, result, now - start);
        }
        if moved {
            continue;
        }
        // Nothing to move: the clock jumps to the next deadline of either side.
        let next = [
            machine.as_ref().and_then(CaseMachine::poll_timeout),
            client.poll_timeout(),
            (!server_gone).then(|| server.poll_timeout()).flatten(),
        ]
        .into_iter()
        .flatten()
        .min();
        let Some(next) = next else {
            break;
        };
        now = now.max(next);
        if let Some(m) = machine.as_mut() {
            m.handle_timeout(now);
        }
        client.handle_timeout(now);
        if !server_gone {
            server.handle_timeout(now);
        }
    }
    let result = machine.map(CaseMachine::finish);
    finish(client, server, result, now - start)
}

fn finish(
    client: Session,
    server: ReferenceServer,
    result: Option<MachineResult>,
    elapsed: Duration,
) -> PairRun {
    PairRun {
        client: client.into_log(),
        server: server.into_session().into_log(),
        result,
        elapsed,
    }
}
