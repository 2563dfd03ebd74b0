//! A client case run entirely in memory on a simulated clock: the case's flow with the
//! harness as the server (the same [`CaseFlow`] `wsconform serve` runs) against the reference
//! client, bytes handed across by hand, as [`super::pair`] does for servers. Only the
//! transport is modelled here; every rule is the flow's.

use std::time::{Duration, Instant, SystemTime};

use super::client::{ClientFaults, ReferenceClient};
use super::pair::PairRun;
use crate::Side;
use crate::cases::{Case, Params};
use crate::runner::flow::{CaseFlow, FlowAction, FlowConfig, Start};
use crate::runner::machine::{Action, Timeouts, repeated};
use crate::runner::verdict::Policy;
use crate::session::{Closure, EventLog, Session};

/// The most rounds a pair runs (a bound on any script, however it loops).
const MAX_ROUNDS: usize = 100_000;

/// Runs client `case` against the reference client with `faults` (its masking keys from
/// `seed`), starting at `start` on a simulated clock. The record's `target` is `reference`.
pub fn run_client_pair(case: &Case, faults: ClientFaults, seed: u64, start: Instant) -> PairRun {
    let config = FlowConfig {
        open_handshake_timeout: Duration::from_secs(5),
        timeouts: Timeouts {
            case_limit: Duration::from_secs(60),
            ..Timeouts::default()
        },
        policy: Policy::Default,
        params: Params::new(),
        chop: None,
        side: Side::Server,
        seed: Some(seed),
    };
    let (mut flow, mut server) = match CaseFlow::start(
        "reference",
        case,
        &config,
        "",
        "/",
        start,
        SystemTime::UNIX_EPOCH,
    ) {
        Start::Run(flow, session) => (flow, *session),
        Start::Done(record) => {
            return PairRun {
                client: EventLog::default(),
                server: EventLog::default(),
                record: *record,
                elapsed: Duration::ZERO,
                result: None,
                failure: None,
                overtaken: Vec::new(),
            };
        }
    };
    let mut client = ReferenceClient::new(faults, "/runCase?case=1&agent=reference", seed, start);
    let mut now = start;
    let (mut client_gone, mut server_gone) = (false, false);
    // Bytes for the server that wait out a `pause_reading` step.
    let mut unread: Vec<u8> = Vec::new();
    for _ in 0..MAX_ROUNDS {
        if flow.is_done() {
            break;
        }
        let mut moved = false;
        while let Some(action) = flow.poll_action() {
            moved = true;
            match action {
                FlowAction::Machine(Action::Write { pieces, .. }) => {
                    pieces.into_iter().for_each(|p| server.send_raw(p));
                }
                FlowAction::Machine(Action::WriteRepeated { head, chunk, len }) => {
                    server.send_raw(head);
                    for piece in repeated(&chunk, len) {
                        server.send_raw(piece.to_vec());
                    }
                }
                FlowAction::Machine(Action::Abort) => {
                    if !server_gone {
                        server_gone = true;
                        server.handle_closed(now, Closure::HarnessAbort);
                    }
                    if !client_gone {
                        client_gone = true;
                        client.handle_closed(now, Closure::PeerReset);
                    }
                }
                FlowAction::Machine(Action::Shutdown) => {
                    // Our FIN: once the client has read what we sent, it sees the end.
                    moved |= send_to_client(now, &mut server, &mut client, client_gone);
                    if !client_gone {
                        let fin = Closure::PeerFin {
                            tls_close_notify: None,
                        };
                        client.handle_closed(now, fin);
                        client_gone = true;
                    }
                }
                FlowAction::Machine(Action::CheckAlive) => flow.handle_alive(now, Ok(())),
                // Every round moves whatever is queued, the response included.
                FlowAction::Hold { .. }
                | FlowAction::SendRequest { .. }
                | FlowAction::SendResponse { .. } => {}
            }
        }
        moved |= send_to_client(now, &mut server, &mut client, client_gone);
        while let Some(bytes) = client.poll_transmit() {
            client.on_sent(now, &bytes);
            if !server_gone {
                unread.extend_from_slice(&bytes);
            }
            moved = true;
        }
        if !unread.is_empty() && flow.reading_paused(now).is_none() {
            server.handle_input(now, &unread);
            unread.clear();
            moved = true;
        }
        if client.wants_close(now) && !client_gone {
            // The client closes TCP: the server reads the end once its bytes are read.
            client_gone = true;
            moved = true;
        }
        if client_gone && !server_gone && unread.is_empty() {
            server_gone = true;
            let fin = Closure::PeerFin {
                tls_close_notify: None,
            };
            server.handle_closed(now, fin);
            moved = true;
        }
        while let Some(event) = server.poll_event() {
            moved = true;
            flow.handle(now, Some(event), &mut server, !server_gone);
        }
        if moved {
            continue;
        }
        let next = [
            flow.poll_timeout(),
            flow.reading_paused(now),
            server.poll_timeout(),
            (!client_gone).then(|| client.poll_timeout()).flatten(),
        ]
        .into_iter()
        .flatten()
        .min();
        let Some(next) = next else {
            break;
        };
        now = now.max(next);
        server.handle_timeout(now);
        if !client_gone {
            client.handle_timeout(now);
        }
        flow.handle(now, None, &mut server, !server_gone);
    }
    let elapsed = now - start;
    let record = flow.finish(server.log(), elapsed, None);
    PairRun {
        client: client.session().log().clone(),
        server: server.into_log(),
        record,
        elapsed,
        result: None,
        failure: None,
        overtaken: Vec::new(),
    }
}

/// Hands everything the server queued to the client (if it is still there).
fn send_to_client(
    now: Instant,
    server: &mut Session,
    client: &mut ReferenceClient,
    gone: bool,
) -> bool {
    let mut moved = false;
    while let Some(bytes) = server.poll_transmit() {
        server.on_sent(now, &bytes);
        if !gone {
            client.handle_input(now, &bytes);
        }
        moved = true;
    }
    moved
}
