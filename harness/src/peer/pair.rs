//! A case run entirely in memory on a simulated clock: the case's flow (the same
//! [`CaseFlow`] `wsconform run` uses, handshake and machine included) on proto's client session
//! against the reference server, bytes handed across by hand (the quinn-proto `Pair` shape).
//! No sockets, no runtime, no sleeping: what the stateful fuzz target runs, and what a live
//! fuzzer asks for a prediction. Only the transport is modelled here; every rule is the flow's.

use std::time::{Duration, Instant, SystemTime};

use wsconform_reports::CaseRecord;

use super::{Faults, PeerAction, ReferenceServer};
use crate::Side;
use crate::cases::{Case, Params, Step};
use crate::runner::flow::{CaseFlow, FlowAction, FlowConfig, Start};
use crate::runner::machine::{Action, MachineResult, Timeouts, repeated};
use crate::runner::observed::{Observed, expected_lists};
use crate::runner::predict::{GRACE, GRACE_PER_FRAME, ModelRun, Observation};
use crate::runner::verdict::Policy;
use crate::session::{Closure, Direction, EventLog, Session};

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
    /// The case's record, as `wsconform run` would write it.
    pub record: CaseRecord,
    /// Simulated time from the start to the end.
    pub elapsed: Duration,
    /// What the case's machine saw (none when the case ended before it started).
    pub result: Option<MachineResult>,
    /// Why the reference server failed the connection, if it did (its finding code).
    pub failure: Option<&'static str>,
    /// The messages a lagging application never took: the connection closed first.
    pub overtaken: Vec<crate::message::Message>,
}

/// Runs `case` against the reference server with `faults`, with masking keys from `seed` (a
/// `predict` case always masks with [`crate::runner::predict::MASK_SEED`]), starting at
/// `start` on a simulated clock.
pub fn run_pair(case: &Case, faults: Faults, seed: u64, start: Instant) -> PairRun {
    run(case, faults, seed, start, true)
}

/// The model a `predict` case is judged against (live fuzzing): `case` run against the
/// reference server once for each choice the RFC leaves to a server that a client can tell
/// apart (see [`crate::runner::predict`]). Deterministic: fixed masking keys, a simulated
/// clock.
pub fn model(case: &Case) -> Vec<ModelRun> {
    model_with(case, allowed_choices())
}

/// The model's run in the reference server's own choices only (the first of
/// [`allowed_choices`]): what a generated case lists as the events the harness waits for.
pub fn default_model(case: &Case) -> ModelRun {
    let mut first = allowed_choices();
    first.truncate(1);
    model_with(case, first).remove(0)
}

fn model_with(case: &Case, choices: Vec<([&'static str; 2], Faults)>) -> Vec<ModelRun> {
    let start = Instant::now();
    let lying_length = lies_about_a_length(case);
    let (listed, _) = expected_lists(case);
    choices
        .into_iter()
        .map(|(choice, faults)| {
            let run = run(case, faults, 0, start, false);
            let sent_after_close = run
                .result
                .as_ref()
                .is_some_and(|r| r.timeline.sent_after_close);
            let mut seen = run.result.as_ref().map(Observation::of).unwrap_or_default();
            let frames = run.client.frames(Direction::Sent).count() + run.client.dropped();
            seen.grace = GRACE + GRACE_PER_FRAME * u32::try_from(frames).unwrap_or(u32::MAX);
            ModelRun {
                choice,
                listed: listed.clone(),
                seen,
                failure: run.failure,
                // A quicker application would have echoed these, up to a bad one.
                may_echo: run
                    .overtaken
                    .iter()
                    .take_while(|m| {
                        m.opcode != crate::wire::OpCode::TEXT
                            || std::str::from_utf8(&m.payload).is_ok()
                    })
                    .map(|m| Observed::Message {
                        opcode: m.opcode,
                        payload: m.payload.clone(),
                    })
                    .collect(),
                // An application that takes messages late may not get to the bad one before
                // the protocol answers a close behind it.
                failure_overtakable: faults.application_lags
                    && run.failure
                        == Some(
                            crate::wire::ViolationKind::InvalidUtf8InText { message_offset: 0 }
                                .code(),
                        ),
                lying_length,
                sent_after_close,
            }
        })
        .collect()
}

/// The reference server in each combination of the choices the RFC leaves to a server that
/// a client can tell apart: when invalid UTF-8 fails the connection (§8.1: as it arrives, at
/// the end of the message, or when the application takes the message, after the protocol
/// handled what came with it), and whether a length not in the minimal form is taken, on
/// every frame or on data frames only (§5.2 binds only the sender). In words, and as the faults that make them (none is a fault).
pub fn allowed_choices() -> Vec<([&'static str; 2], Faults)> {
    let mut choices = Vec::new();
    for (utf8, at_end, lags) in [
        ("UTF-8 checked as it arrives", false, false),
        ("UTF-8 checked at the end of each message", true, false),
        (
            "messages (and their UTF-8) taken by the application after the read",
            false,
            true,
        ),
    ] {
        for (lengths, accepted, control_refused) in [
            ("non-minimal lengths refused", false, false),
            ("non-minimal lengths taken", true, false),
            ("non-minimal lengths taken on data frames only", true, true),
        ] {
            let faults = Faults {
                utf8_at_message_end: at_end,
                application_lags: lags,
                non_minimal_lengths_accepted: accepted,
                non_minimal_control_refused: control_refused,
                ..Faults::default()
            };
            choices.push(([utf8, lengths], faults));
        }
    }
    choices
}

/// Whether a frame of `case` declares a length other than its payload's: the stream then
/// holds a frame (this one, or one made of the surplus bytes) whose payload never fully
/// comes, and a server may wait for it before it checks the frame.
fn lies_about_a_length(case: &Case) -> bool {
    case.steps.iter().any(|step| match step {
        Step::Send(send) => send.frames.iter().any(|f| {
            f.declared_len
                .is_some_and(|len| f.payload.bytes().is_ok_and(|p| len.0 != p.len() as u64))
        }),
        Step::BeginFrame(_) => true,
        _ => false,
    })
}

/// [`run_pair`]; with `judge_by_model` false, a `predict` case is judged by its lists (the
/// model's own runs).
fn run(case: &Case, faults: Faults, seed: u64, start: Instant, judge_by_model: bool) -> PairRun {
    let config = FlowConfig {
        open_handshake_timeout: Duration::from_secs(5),
        timeouts: Timeouts {
            case_limit: Duration::from_secs(60),
            ..Timeouts::default()
        },
        policy: Policy::Default,
        params: Params::new(),
        chop: None,
        side: Side::Client,
        seed: Some(seed),
    };
    let host = "reference.invalid";
    let (mut flow, mut client) = match CaseFlow::start(
        "pair",
        case,
        &config,
        host,
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
    let mut server = ReferenceServer::new(faults, start);
    let mut now = start;
    // Bytes for the client that wait out a `pause_reading` step (a socket's buffer).
    let mut unread: Vec<u8> = Vec::new();
    let (mut client_gone, mut server_gone) = (false, false);
    for _ in 0..MAX_ROUNDS {
        if flow.is_done() {
            break;
        }
        let mut moved = false;
        while let Some(action) = flow.poll_action() {
            moved = true;
            match action {
                FlowAction::SendRequest { .. } => {
                    flow.request_begins(now);
                    send(now, &mut client, &mut server, server_gone);
                    flow.request_written(now, &mut client);
                }
                FlowAction::Machine(Action::Write { pieces, chop }) => {
                    for piece in pieces {
                        match chop {
                            Some(n) => piece
                                .chunks(n.max(1))
                                .for_each(|c| client.send_raw(c.to_vec())),
                            None => client.send_raw(piece),
                        }
                    }
                }
                FlowAction::Machine(Action::WriteRepeated { head, chunk, len }) => {
                    client.send_raw(head);
                    for piece in repeated(&chunk, len) {
                        client.send_raw(piece.to_vec());
                    }
                }
                // The client's abort: both ends see the connection go.
                FlowAction::Machine(Action::Abort | Action::Shutdown) => {
                    if !client_gone {
                        client_gone = true;
                        client.handle_closed(now, Closure::HarnessAbort);
                    }
                    if !server_gone {
                        server_gone = true;
                        server.handle_closed(now, Closure::PeerReset);
                    }
                }
                // A second connection to the reference server is always served.
                FlowAction::Machine(Action::CheckAlive) => flow.handle_alive(now, Ok(())),
                FlowAction::Hold { .. } | FlowAction::SendResponse { .. } => {}
            }
        }
        moved |= send(now, &mut client, &mut server, server_gone);
        while let Some(bytes) = server.poll_transmit() {
            server.on_sent(now, &bytes);
            unread.extend_from_slice(&bytes);
            moved = true;
        }
        if !unread.is_empty() && flow.reading_paused(now).is_none() {
            if !client_gone {
                client.handle_input(now, &unread);
            }
            unread.clear();
            moved = true;
        }
        if server.poll_action() == Some(PeerAction::Shutdown) && !server_gone {
            // The server closed TCP first: once its last bytes are read, the client reads the
            // end of the stream.
            server_gone = true;
            moved = true;
        }
        if server_gone && !client_gone && unread.is_empty() {
            client_gone = true;
            let fin = Closure::PeerFin {
                tls_close_notify: None,
            };
            client.handle_closed(now, fin);
            moved = true;
        }
        while let Some(event) = client.poll_event() {
            moved = true;
            flow.handle(now, Some(event), &mut client, !client_gone);
        }
        if moved {
            continue;
        }
        // Nothing to move: the clock jumps to the next deadline of either side.
        let next = [
            flow.poll_timeout(),
            flow.reading_paused(now),
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
        client.handle_timeout(now);
        if !server_gone {
            server.handle_timeout(now);
        }
        flow.handle(now, None, &mut client, !client_gone);
    }
    let elapsed = now - start;
    let (record, result) = if judge_by_model {
        (flow.finish(client.log(), elapsed, None), None)
    } else {
        flow.finish_for_model(client.log(), elapsed)
    };
    let failure = server.failure();
    let overtaken = server.overtaken().to_vec();
    PairRun {
        client: client.into_log(),
        server: server.into_session().into_log(),
        record,
        elapsed,
        result,
        failure,
        overtaken,
    }
}

/// Hands everything the client queued to the server (if it is still there). Whether anything
/// moved.
fn send(now: Instant, client: &mut Session, server: &mut ReferenceServer, gone: bool) -> bool {
    let mut moved = false;
    while let Some(bytes) = client.poll_transmit() {
        client.on_sent(now, &bytes);
        if !gone {
            server.handle_input(now, &bytes);
        }
        moved = true;
    }
    moved
}
