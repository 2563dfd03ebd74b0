//! Running one case against a target: connect, handshake, drive the [`CaseMachine`] with the
//! [`Driver`], and judge. The only async code of the runner besides the pool.

use std::time::{Duration, SystemTime};

use tokio::time::Instant;
use wsconform_reports::{Behavior, BehaviorClose, CaseRecord, Cause, Outcome};

use super::machine::{Action, CaseMachine};
use super::open;
pub use super::options::RunOptions;
use super::record::{attach_trace, base_record, died, judge};
use super::verdict::{self, CloseFacts};
use crate::cases::Case;
use crate::net::{ConnectError, Driver, Target, WriteShape, connect};
use crate::session::{Closure, EventLog, SessionEvent};

/// A case's result, and whether the target could be reached at all.
#[derive(Debug)]
pub struct CaseRun {
    /// The record.
    pub record: CaseRecord,
    /// The connection could not be opened.
    pub unreachable: Option<ConnectError>,
    /// The wire trace.
    pub log: EventLog,
}

/// Runs `case` against `target` (named `name` in the record).
pub async fn run_case(name: &str, target: &Target, case: &Case, opts: &RunOptions) -> CaseRun {
    let started = SystemTime::now();
    let missing: Vec<&str> = case
        .needs
        .iter()
        .map(String::as_str)
        .filter(|n| !opts.params.contains_key(*n))
        .collect();
    let max_message: Option<usize> = opts.params.get("max_message").and_then(|v| v.parse().ok());
    let too_big = case.steps.iter().find_map(|s| match s {
        crate::cases::Step::ProbeLimit(p) if p.known_limit => {
            max_message.filter(|m| *m >= p.max).map(|m| (m, p.max))
        }
        _ => None,
    });
    if !missing.is_empty() || too_big.is_some() {
        let mut record = base_record(name, case, started);
        // No verdicts: the case did not run (left out of Autobahn's files, skipped in JUnit).
        record.outcome = Outcome::NotRun;
        record.causes = vec![Cause::NotRun];
        record.reason = match too_big {
            Some((limit, max)) => format!(
                "not run: --param max_message={limit} is at or above the {max} bytes this case may send"
            ),
            None => format!(
                "not run: needs {}",
                missing
                    .iter()
                    .map(|n| format!("--param {n}=… ({})", crate::cases::param_help(n)))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
        return CaseRun {
            record,
            unreachable: None,
            log: EventLog::default(),
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
            };
        }
    };
    // Connections a case keeps open beside its own (dropped when the case ends).
    let mut held = Vec::new();
    let mut accepted = None;
    let mut driver = if let Some(spec) = &case.handshake {
        match open::crafted(stream, target, case, spec, opts, &mut held).await {
            Ok(c) if c.judgement.proceed => {
                accepted = Some((c.judgement, c.request));
                c.driver
            }
            Ok(c) => {
                let mut record = base_record(name, case, started);
                let behavior = c.judgement.behavior;
                let close = match behavior {
                    Behavior::Informational => BehaviorClose::Informational,
                    Behavior::Failed => BehaviorClose::Failed,
                    _ => BehaviorClose::Ok,
                };
                record.behavior = Some(behavior);
                record.behavior_close = Some(close);
                record.outcome = verdict::outcome(opts.policy, behavior, close);
                record.reason = c.judgement.reason;
                record.causes = vec![Cause::Handshake];
                record.observed = vec![c.answer.describe()];
                record.http_request = Some(c.request);
                drop(held);
                check_alive(&mut record, case, target, opts).await;
                record.duration_ms = clock.elapsed().as_millis() as u64;
                let log = c.driver.into_log();
                attach_trace(&mut record, &log);
                return CaseRun {
                    record,
                    unreachable: None,
                    log,
                };
            }
            Err(e) => {
                let mut record = base_record(name, case, started);
                record.behavior = Some(Behavior::Failed);
                record.behavior_close = Some(BehaviorClose::Failed);
                record.reason = format!("the case cannot build its request: {e}");
                record.causes = vec![Cause::BadCase];
                return CaseRun {
                    record,
                    unreachable: None,
                    log: EventLog::default(),
                };
            }
        }
    } else {
        Driver::for_target(
            stream,
            target,
            opts.open_handshake_timeout,
            WriteShape::default(),
        )
    };
    if case.handshake.is_none()
        && let Err(failure) = driver.handshake().await
    {
        let mut record = base_record(name, case, started);
        let facts = CloseFacts::default();
        let (behavior, close) = verdict::tie(
            &case.close,
            case.informational,
            &facts,
            Behavior::Failed,
            BehaviorClose::Failed,
        );
        record.behavior = Some(behavior);
        record.behavior_close = Some(close);
        record.outcome = verdict::outcome(opts.policy, behavior, close);
        record.reason = format!("opening handshake failed: {failure}");
        record.causes = vec![Cause::Handshake];
        record.duration_ms = clock.elapsed().as_millis() as u64;
        let log = driver.into_log();
        attach_trace(&mut record, &log);
        return CaseRun {
            record,
            unreachable: None,
            log,
        };
    }

    let mut machine =
        CaseMachine::with_limit(case, opts.timeouts, max_message, Instant::now().into_std());
    loop {
        while let Some(action) = machine.poll_action() {
            match action {
                Action::Write { pieces, chop } => {
                    driver.set_shape(WriteShape {
                        chop,
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
                Action::Abort => driver.abort(),
                Action::Shutdown => driver.shutdown().await,
                Action::CheckAlive => {
                    let alive = open::alive(target, opts).await;
                    machine.handle_alive(Instant::now().into_std(), alive);
                }
            }
        }
        if machine.is_done() {
            break;
        }
        if let Some(until) = machine.reading_paused(Instant::now().into_std()) {
            // Back-pressure: the peer's bytes stay in the kernel until the pause ends.
            let wake = machine.poll_timeout().unwrap_or(until).min(until);
            tokio::time::sleep_until(Instant::from_std(wake)).await;
            machine.handle_timeout(Instant::now().into_std());
            continue;
        }
        let deadline = machine
            .poll_timeout()
            .map(Instant::from_std)
            .unwrap_or_else(|| Instant::now() + Duration::from_secs(1));
        let event = driver.next_event(deadline).await;
        let now = Instant::now().into_std();
        match event {
            Some(SessionEvent::Message(message)) => machine.handle_message(now, message),
            Some(SessionEvent::Control(frame)) => machine.handle_control(now, frame),
            Some(SessionEvent::Violation(v)) => machine.handle_violation(now, v),
            Some(SessionEvent::Closed(c)) => machine.handle_closed(now, c),
            Some(
                SessionEvent::Open { .. }
                | SessionEvent::Request(_)
                | SessionEvent::HandshakeFailed(_),
            ) => {}
            None if !driver.is_connected() => machine.handle_closed(now, Closure::TransportError),
            None => machine.handle_timeout(now),
        }
    }
    let result = machine.finish();
    let mut record = judge(name, case, &result, opts.policy, started, clock.elapsed());
    if let Some((first, request)) = accepted {
        record.http_request = Some(request);
        if first.behavior == Behavior::Informational {
            record.behavior = Some(Behavior::Informational);
            record.behavior_close = Some(BehaviorClose::Informational);
            record.outcome = Outcome::Info;
        }
        record.reason = format!("{}; then {}", first.reason, record.reason);
        if first.behavior != Behavior::Ok {
            record.causes.insert(0, Cause::Handshake);
        }
    }
    if let Some(e) = &result.dead {
        died(
            &mut record,
            &format!("a second connection was not served during the case: {e}"),
        );
    }
    drop(held);
    check_alive(&mut record, case, target, opts).await;
    let log = driver.into_log();
    attach_trace(&mut record, &log);
    CaseRun {
        record,
        unreachable: None,
        log,
    }
}

/// Runs the alive check of a `check_alive` case: a server that no longer answers a fresh
/// connection fails the case, whatever else it saw.
async fn check_alive(record: &mut CaseRecord, case: &Case, target: &Target, opts: &RunOptions) {
    if !case.check_alive {
        return;
    }
    match open::alive(target, opts).await {
        Ok(()) => record
            .reason
            .push_str("; alive afterwards (a new connection echoed)"),
        Err(e) => died(record, &format!("the server did not survive: {e}")),
    }
}

/// Why a target failed the preflight.
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    /// No connection.
    #[error(transparent)]
    Connect(#[from] ConnectError),
    /// No WebSocket.
    #[error("opening handshake failed: {0}")]
    Handshake(crate::session::HandshakeFailure),
}

/// Checks that `target` accepts a WebSocket connection (connect and handshake, then abort);
/// returns the response head, whose `Server` header names the agent when nothing else does.
pub async fn probe(
    target: &Target,
    opts: &RunOptions,
) -> Result<crate::handshake::Response, ProbeError> {
    let stream = connect(target, &opts.tls, opts.connect_timeout).await?;
    let mut driver = Driver::for_target(
        stream,
        target,
        opts.open_handshake_timeout,
        WriteShape::default(),
    );
    let result = driver.handshake().await;
    if let Ok((response, _)) = &result {
        driver.leave().await;
        return Ok(response.clone());
    }
    result.map(|(r, _)| r).map_err(ProbeError::Handshake)
}
