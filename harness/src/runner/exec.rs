//! Running one case against a target: connect, then move bytes and time between the
//! [`Driver`] and the case's sans-IO [`CaseFlow`] (handshake, machine, record), carrying out
//! what it asks (held connections, alive checks). The only async code of the runner besides
//! `open` and the pool.

use std::time::{Duration, SystemTime};

use tokio::time::Instant;
use wsconform_reports::{CaseRecord, Cause, Outcome};

use super::flow::{CaseFlow, FlowAction, FlowConfig, Start, not_run};
use super::machine::{Action, repeated};
use super::open;
pub use super::options::RunOptions;
use super::record::base_record;
use crate::Side;
use crate::cases::Case;
use crate::cases::smoke::smoke_cases;
use crate::handshake::{Response, ResponseProblem};
use crate::net::{ConnectError, Driver, Stream, Target, WriteShape, connect};
use crate::session::{Closure, Direction, EventKind, EventLog, HandshakeFailure};

/// A case's result, and whether the target could be reached at all.
#[derive(Debug)]
pub struct CaseRun {
    /// The record.
    pub record: CaseRecord,
    /// The connection could not be opened.
    pub unreachable: Option<ConnectError>,
    /// The wire trace.
    pub log: EventLog,
    /// Why the standard opening handshake failed, if it did.
    pub handshake: Option<HandshakeFailure>,
}

/// The part of the run's options a case's flow needs, for the harness playing `side`.
fn flow_config(opts: &RunOptions, side: Side) -> FlowConfig {
    FlowConfig {
        open_handshake_timeout: opts.open_handshake_timeout,
        timeouts: opts.timeouts,
        policy: opts.policy,
        params: opts.params.clone(),
        chop: opts.chop,
        side,
        seed: None,
    }
}

impl CaseRun {
    /// A case whose flow ran to its end over `driver`: its record, log and handshake failure.
    fn finished(
        flow: CaseFlow,
        driver: Driver,
        elapsed: Duration,
        alive: Option<Result<(), String>>,
    ) -> Self {
        let log = driver.into_log();
        let handshake = flow.handshake_failure().cloned();
        let record = flow.finish(&log, elapsed, alive);
        CaseRun {
            record,
            unreachable: None,
            log,
            handshake,
        }
    }

    /// A case that ended before any byte went to the peer (not run, or a bad case).
    fn ended(record: CaseRecord) -> Self {
        CaseRun {
            record,
            unreachable: None,
            log: EventLog::default(),
            handshake: None,
        }
    }
}

/// Runs `case` against `target` (named `name` in the record): connects, then moves bytes and
/// time between the transport and the case's [`CaseFlow`], and carries out what it asks.
pub async fn run_case(name: &str, target: &Target, case: &Case, opts: &RunOptions) -> CaseRun {
    let started = SystemTime::now();
    let mut config = flow_config(opts, Side::Client);
    // The same keys for a case whatever the target (FNV-1a of the id).
    config.seed = opts.mask_seed.map(|seed| {
        case.id.bytes().fold(seed ^ 0xcbf2_9ce4_8422_2325, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        })
    });
    if let Some(record) = not_run(name, case, &opts.params, started) {
        // Nothing is sent to the target.
        return CaseRun {
            record,
            unreachable: None,
            log: EventLog::default(),
            handshake: None,
        };
    }
    let clock = Instant::now();
    let stream = match connect(target, &opts.tls, opts.connect_timeout).await {
        Ok(stream) => stream,
        Err(e) => {
            let mut record = base_record(name, case, started);
            record.outcome = Outcome::Unreachable;
            record.causes = vec![Cause::Unreachable];
            record.reason = format!("target unreachable: {e}");
            return CaseRun {
                record,
                unreachable: Some(e),
                log: EventLog::default(),
                handshake: None,
            };
        }
    };
    let host = target.host_header();
    let now = Instant::now().into_std();
    let (mut flow, session) =
        match CaseFlow::start(name, case, &config, &host, &target.resource, now, started) {
            Start::Run(flow, session) => (flow, session),
            Start::Done(record) => return CaseRun::ended(*record),
        };
    let mut driver = Driver::new(stream, *session, WriteShape::default());
    // Connections a case keeps open beside its own (dropped when the case ends).
    let mut held = Vec::new();
    drive(&mut flow, &mut driver, Some(target), opts, &mut held).await;
    let elapsed = clock.elapsed();
    drop(held);
    let alive = if case.check_alive {
        Some(alive(target, opts).await)
    } else {
        None
    };
    CaseRun::finished(*flow, driver, elapsed, alive)
}

/// Runs `case` with the harness as the server, on a connection the client under test opened
/// (named `name` in the record): `head` is what was already read of its request (the edge
/// read it to route the connection). The alive check and held connections do not apply.
pub async fn run_case_as_server(
    name: &str,
    case: &Case,
    opts: &RunOptions,
    stream: Stream,
    head: &[u8],
) -> CaseRun {
    let started = SystemTime::now();
    let config = flow_config(opts, Side::Server);
    let clock = Instant::now();
    let now = clock.into_std();
    let (mut flow, session) = match CaseFlow::start(name, case, &config, "", "/", now, started) {
        Start::Run(flow, session) => (flow, session),
        Start::Done(record) => return CaseRun::ended(*record),
    };
    let mut driver = Driver::new(stream, *session, WriteShape::default());
    driver.session_mut().handle_input(now, head);
    drive(&mut flow, &mut driver, None, opts, &mut Vec::new()).await;
    CaseRun::finished(*flow, driver, clock.elapsed(), None)
}

/// Moves bytes and time between `driver` and `flow` until the case is over, carrying out what
/// the flow asks. `target` is where held connections and alive checks go; without one (the
/// harness plays the server), there are none.
async fn drive(
    flow: &mut CaseFlow,
    driver: &mut Driver,
    target: Option<&Target>,
    opts: &RunOptions,
    held: &mut Vec<Stream>,
) {
    loop {
        // A case that pauses its reading (back-pressure) does not read while it writes either.
        let paused = flow.reading_paused(Instant::now().into_std()).is_some();
        driver.set_read_while_writing(!paused);
        while let Some(action) = flow.poll_action() {
            match action {
                FlowAction::Hold { count, partial } => {
                    if let Some(target) = target {
                        open::hold(target, opts, &partial, count, held).await;
                    }
                }
                FlowAction::SendRequest { chop, delay, bound } => {
                    flow.request_begins(Instant::now().into_std());
                    // A server may answer or hang up while a request trickles in.
                    driver.set_shape(WriteShape {
                        chop,
                        delay,
                        ..WriteShape::default()
                    });
                    if tokio::time::timeout(bound, driver.flush()).await.is_err() {
                        driver.abort();
                    }
                    driver.set_shape(WriteShape::default());
                    flow.request_written(Instant::now().into_std(), driver.session_mut());
                }
                FlowAction::SendResponse { chop } => {
                    driver.set_shape(WriteShape {
                        chop,
                        ..WriteShape::default()
                    });
                    let _ = driver.flush().await;
                    driver.set_shape(WriteShape::default());
                }
                FlowAction::Machine(Action::Write { pieces, chop }) => {
                    let (chop, delay) = match opts.chop {
                        Some((n, delay)) => (Some(n), delay),
                        None => (chop, Duration::ZERO),
                    };
                    driver.set_shape(WriteShape {
                        chop,
                        delay,
                        ..WriteShape::default()
                    });
                    for piece in pieces {
                        driver.session_mut().send_raw(piece);
                        if driver.flush().await.is_err() {
                            break;
                        }
                        if chop.is_some() {
                            tokio::task::yield_now().await;
                        }
                    }
                }
                FlowAction::Machine(Action::WriteRepeated { head, chunk, len }) => {
                    driver.set_shape(WriteShape::default());
                    driver.session_mut().send_raw(head);
                    if driver.flush().await.is_ok() {
                        for piece in repeated(&chunk, len) {
                            driver.session_mut().send_raw(piece.to_vec());
                            if driver.flush().await.is_err() {
                                break;
                            }
                        }
                    }
                }
                FlowAction::Machine(Action::Abort) => driver.abort(),
                FlowAction::Machine(Action::Shutdown) => driver.shutdown().await,
                FlowAction::Machine(Action::CheckAlive) => {
                    let alive = match target {
                        Some(target) => alive(target, opts).await,
                        None => Ok(()),
                    };
                    flow.handle_alive(Instant::now().into_std(), alive);
                }
            }
        }
        if flow.is_done() {
            break;
        }
        if let Some(until) = flow.reading_paused(Instant::now().into_std()) {
            // Back-pressure: the peer's bytes stay in the kernel until the pause ends.
            let wake = flow.poll_timeout().unwrap_or(until).min(until);
            tokio::time::sleep_until(Instant::from_std(wake)).await;
            flow.handle(Instant::now().into_std(), None, driver.session_mut(), true);
            continue;
        }
        let deadline = flow
            .poll_timeout()
            .map(Instant::from_std)
            .unwrap_or_else(|| Instant::now() + Duration::from_secs(1));
        let event = driver.next_event(deadline).await;
        let connected = driver.is_connected();
        flow.handle(
            Instant::now().into_std(),
            event,
            driver.session_mut(),
            connected,
        );
    }
}

/// Whether the server at `target` still serves a new connection: the smoke text-echo case
/// (a handshake, an echo, a clean close), with the run's connect and handshake timeouts and
/// 5 s for the echo. A refused handshake counts as up (the server answered; the cases judge
/// answers), and so does an echo that broke a frame rule (the server is serving; the cases'
/// own checks catch the rule). A connection that ends or stalls does not.
pub async fn alive(target: &Target, opts: &RunOptions) -> Result<(), String> {
    let Some(case) = smoke_cases(Duration::from_secs(5)).into_iter().nth(1) else {
        return Err("no alive case".into());
    };
    let opts = RunOptions {
        params: Default::default(),
        chop: None,
        ..opts.clone()
    };
    // Boxed: a case's alive step runs a case.
    let run = Box::pin(run_case("alive", target, &case, &opts)).await;
    if let Some(e) = run.unreachable {
        return Err(format!("on a new connection: {e}"));
    }
    // A refusal is an answer; silence, a hang-up or garbage is not (whatever verdict the
    // case itself gives them).
    let served = match &run.handshake {
        Some(HandshakeFailure::Rejected(_)) => true,
        Some(_) => false,
        None => {
            run.record.outcome != Outcome::Fail
                || run.record.findings.iter().any(|f| f.frame.is_some())
        }
    };
    if served {
        Ok(())
    } else {
        Err(format!("on a new connection: {}", run.record.reason))
    }
}

/// Why a target failed the preflight.
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    /// No connection.
    #[error(transparent)]
    Connect(#[from] ConnectError),
    /// No WebSocket: a status other than 101, no answer, or an unreadable one. The record
    /// shows what answered (status line, headers and the start of the body), for the reports.
    #[error("opening handshake failed: {failure}")]
    Handshake {
        /// Why.
        failure: HandshakeFailure,
        /// The preflight as a case record (id `probe`).
        record: Box<CaseRecord>,
    },
}

/// A target that answered the preflight with a 101.
#[derive(Debug)]
pub struct Probed {
    /// The response head, whose `Server` header names the agent when nothing else does.
    pub response: Response,
    /// How the 101 breaks RFC 6455 §4.1, if it does: the run goes on, and every case whose
    /// handshake gets such a 101 fails with these rules in its reason.
    pub broken: Vec<ResponseProblem>,
}

/// The id of the preflight's record in the reports of a run that ends at the preflight.
pub const PROBE_ID: &str = "probe";

/// Most bytes of a refusal's body shown in the probe record.
const PROBE_BODY: usize = 4096;

/// Checks that `target` answers a plain opening handshake with a 101 (the smoke
/// handshake-and-close case). A 101 that breaks §4.1 still counts: the cases judge it.
pub async fn probe(target: &Target, opts: &RunOptions) -> Result<Probed, ProbeError> {
    let Some(case) = smoke_cases(Duration::from_secs(5)).into_iter().next() else {
        unreachable!("the smoke cases are built in and parsed by a test")
    };
    let opts = RunOptions {
        params: Default::default(),
        ..opts.clone()
    };
    let run = run_case("probe", target, &case, &opts).await;
    if let Some(e) = run.unreachable {
        return Err(ProbeError::Connect(e));
    }
    let response = run.log.events().iter().find_map(|e| match &e.kind {
        EventKind::HandshakeResponse(r) => Some(r.clone()),
        _ => None,
    });
    match (run.handshake, response) {
        (None, Some(response)) => Ok(Probed {
            response,
            broken: Vec::new(),
        }),
        (Some(HandshakeFailure::Rejected(problems)), Some(response)) if response.status == 101 => {
            Ok(Probed {
                response,
                broken: problems,
            })
        }
        (failure, _) => {
            let failure = failure.unwrap_or(HandshakeFailure::Closed(Closure::TransportError));
            let record = probe_record(run.record, &run.log, &failure);
            Err(ProbeError::Handshake {
                failure,
                record: Box::new(record),
            })
        }
    }
}

/// The preflight's record: what answered, with the body that came with the head.
fn probe_record(mut record: CaseRecord, log: &EventLog, failure: &HandshakeFailure) -> CaseRecord {
    record.id = PROBE_ID.into();
    record.title = "Preflight: a plain opening handshake, before any case".into();
    record.rfc = "rfc6455#section-4.1".into();
    record.outcome = Outcome::Fail;
    record.behavior = Some(wsconform_reports::Behavior::Failed);
    record.behavior_close = Some(wsconform_reports::BehaviorClose::Failed);
    record.causes = vec![Cause::Handshake];
    record.reason = match failure.status() {
        Some(_) => format!(
            "{failure}: no case was run (a status other than 101 most likely means a wrong URL or path)"
        ),
        None => format!("{failure}: no case was run"),
    };
    if let Some(body) = body_after_head(log)
        && let Some(head) = &mut record.http_response
    {
        head.push_str("\r\n");
        head.push_str(&body);
    }
    record
}

/// The bytes the server sent after its response head, as far as the log kept them (the reads
/// before the preflight ended, each kept up to its first 4 KiB), at most [`PROBE_BODY`], as
/// lossy UTF-8, with the count of bytes not shown.
fn body_after_head(log: &EventLog) -> Option<String> {
    let mut kept = Vec::new();
    let mut total = 0usize;
    let mut whole = true;
    for event in log.events() {
        if let EventKind::Bytes {
            direction: Direction::Received,
            head,
            len,
        } = &event.kind
        {
            total = total.saturating_add(*len);
            // Once a read was cut short in the log, what follows would not join it.
            if whole && kept.len() < 4 * PROBE_BODY {
                kept.extend_from_slice(head);
            }
            whole &= *len == head.len();
        }
    }
    let end = kept.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    let body = &kept[end..];
    if body.is_empty() {
        return None;
    }
    let shown = &body[..body.len().min(PROBE_BODY)];
    let mut text = String::from_utf8_lossy(shown).into_owned();
    let left_out = total.saturating_sub(end + shown.len());
    if left_out > 0 {
        text.push_str(&format!("\n[… {left_out} more bytes not shown]"));
    }
    Some(text)
}
