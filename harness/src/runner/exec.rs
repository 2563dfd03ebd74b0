//! Running one case against a target: connect, handshake, drive the [`CaseMachine`] with the
//! [`Driver`], and judge. The only async code of the runner besides the pool.

use std::time::{Duration, SystemTime};

use tokio::time::Instant;
use wsconform_reports::{Behavior, BehaviorClose, CaseRecord, CloseRecord, Outcome};

use super::machine::{Action, CaseMachine, MachineResult, Timeouts};
use super::observed::{expected_lists, show_list};
use super::open;
use super::verdict::{self, CloseFacts, Policy, ReasonInput};
use crate::cases::Case;
use crate::net::{ConnectError, Driver, Target, TlsOptions, WriteShape, connect};
use crate::proto::{Closure, EventLog, SessionEvent};

/// How cases run.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// TLS for `wss://`.
    pub tls: TlsOptions,
    /// DNS, TCP and TLS together.
    pub connect_timeout: Duration,
    /// The opening handshake (Autobahn's openHandshakeTimeout, 5 s).
    pub open_handshake_timeout: Duration,
    /// The harness's close timers.
    pub timeouts: Timeouts,
    /// Which verdicts fail.
    pub policy: Policy,
    /// Server-specific facts for the cases that need them (`--param name=value`).
    pub params: crate::cases::Params,
}

impl Default for RunOptions {
    fn default() -> Self {
        Self {
            tls: TlsOptions::default(),
            connect_timeout: Duration::from_secs(5),
            open_handshake_timeout: Duration::from_secs(5),
            timeouts: Timeouts::default(),
            policy: Policy::Default,
            params: crate::cases::Params::new(),
        }
    }
}

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
        record.outcome = Outcome::NotRun;
        record.behavior = Some(Behavior::Unimplemented);
        record.behavior_close = Some(BehaviorClose::Informational);
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
                record.reason = format!("the case cannot build its request: {e}");
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
            Some(SessionEvent::Frame(frame)) => machine.handle_frame(now, frame),
            Some(SessionEvent::Violation(v)) => machine.handle_violation(now, v),
            Some(SessionEvent::Closed(c)) => machine.handle_closed(now, c),
            Some(SessionEvent::Open { .. } | SessionEvent::HandshakeFailed(_)) => {}
            None if !driver.is_connected() => machine.handle_closed(now, Closure::TransportError),
            None => machine.handle_timeout(now),
        }
    }
    let result = machine.finish();
    let mut record = judge(name, case, &result, opts.policy, started, clock.elapsed());
    if let Some(e) = &result.dead {
        died(
            &mut record,
            &format!("a second connection was not served during the case: {e}"),
        );
    }
    if let Some((first, request)) = accepted {
        record.http_request = Some(request);
        if first.behavior == Behavior::Informational {
            record.behavior = Some(Behavior::Informational);
            record.behavior_close = Some(BehaviorClose::Informational);
            record.outcome = Outcome::Info;
        }
        record.reason = format!("{}; then {}", first.reason, record.reason);
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

/// Fails `record` because the server stopped serving (even an informational case).
fn died(record: &mut CaseRecord, why: &str) {
    record.behavior = Some(Behavior::Failed);
    record.outcome = Outcome::Fail;
    record.reason = format!("{why}; {}", record.reason);
}

/// Why a target failed the preflight.
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    /// No connection.
    #[error(transparent)]
    Connect(#[from] ConnectError),
    /// No WebSocket.
    #[error("opening handshake failed: {0}")]
    Handshake(crate::proto::HandshakeFailure),
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
        // Leave politely: a close 1000, then drop.
        let close =
            crate::wire::RawFrame::close(crate::wire::CloseCode::NORMAL, "").masked_random();
        driver.session_mut().send_frame(&close);
        let _ = driver.flush().await;
        let _ = driver
            .next_event(Instant::now() + Duration::from_millis(200))
            .await;
        driver.abort();
        return Ok(response.clone());
    }
    result.map(|(r, _)| r).map_err(ProbeError::Handshake)
}

/// A record with the case's identity and nothing judged yet.
fn base_record(name: &str, case: &Case, started: SystemTime) -> CaseRecord {
    let (ok, non_strict) = expected_lists(case);
    let mut expected = Vec::new();
    if let Some(h) = &case.handshake {
        expected.push(h.describe());
    }
    if case.handshake.is_none() || !case.steps.is_empty() {
        expected.push(format!("ok: {}", show_list(&ok)));
    }
    if let Some(ns) = &non_strict {
        expected.push(format!("non-strict: {}", show_list(ns)));
    }
    CaseRecord {
        target: name.to_owned(),
        id: case.id.clone(),
        title: case.title.clone(),
        rfc: case.rfc.clone(),
        outcome: Outcome::Fail,
        reason: String::new(),
        behavior: None,
        behavior_close: None,
        expected,
        observed: Vec::new(),
        close: CloseRecord::default(),
        findings: Vec::new(),
        started: rfc3339(started),
        duration_ms: 0,
        timing_dependent: case.timing_dependent.clone(),
        deviation: case.deviation.clone(),
        http_request: None,
        http_response: None,
        trace: Vec::new(),
        trace_dropped: 0,
    }
}

/// Bytes of each trace entry kept in hex in a record (the log itself keeps 4 KiB).
const TRACE_HEX: usize = 64;

/// The wire trace of `log` as report entries (at most [`wsconform_reports::MAX_TRACE`], each
/// with at most [`TRACE_HEX`] bytes), and the handshake texts.
fn attach_trace(record: &mut CaseRecord, log: &EventLog) {
    use crate::proto::{Direction, EventKind, render_event};
    let hex = |bytes: &[u8]| {
        bytes[..bytes.len().min(TRACE_HEX)]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    };
    let dir = |d: Direction| Some(if d == Direction::Sent { "tx" } else { "rx" }.to_owned());
    for event in log.events() {
        match &event.kind {
            EventKind::Bytes {
                direction: Direction::Sent,
                head,
                ..
            } if record.http_request.is_none() => {
                record.http_request = Some(String::from_utf8_lossy(head).into_owned());
            }
            EventKind::HandshakeResponse(r) => {
                let mut head = format!("HTTP/1.{} {} {}\r\n", r.minor_version, r.status, r.reason);
                for (name, value) in &r.headers {
                    head.push_str(&format!("{name}: {}\r\n", String::from_utf8_lossy(value)));
                }
                record.http_response = Some(head);
            }
            _ => {}
        }
        if record.trace.len() >= wsconform_reports::MAX_TRACE {
            record.trace_dropped += 1;
            continue;
        }
        let digest = match &event.kind {
            EventKind::Frame { frame, .. } => frame.digest.map(|d| format!("xxh3-64:{d:016x}")),
            _ => None,
        };
        let (direction, kind, hex_text, len) = match &event.kind {
            EventKind::Bytes {
                direction,
                head,
                len,
            } => (dir(*direction), "bytes", Some(hex(head)), Some(*len)),
            EventKind::Frame { direction, frame } => (
                dir(*direction),
                "frame",
                Some(hex(&frame.head)),
                Some(frame.len),
            ),
            EventKind::HandshakeResponse(_) => (Some("rx".to_owned()), "handshake", None, None),
            EventKind::Violation(_) => (Some("rx".to_owned()), "violation", None, None),
            EventKind::Closed(_) => (None, "closed", None, None),
            EventKind::Note(_) => (None, "note", None, None),
        };
        record.trace.push(wsconform_reports::TraceEntry {
            at_us: event.at.as_micros() as u64,
            direction,
            kind: kind.to_owned(),
            text: render_event(event),
            hex: hex_text,
            len,
            digest,
        });
    }
    record.trace_dropped += log.dropped();
}

/// Both verdicts, the outcome and the reason for a finished case.
pub fn judge(
    name: &str,
    case: &Case,
    result: &MachineResult,
    policy: Policy,
    started: SystemTime,
    duration: Duration,
) -> CaseRecord {
    let (ok, non_strict) = expected_lists(case);
    let (behavior, _) = match &result.script_verdict {
        Some((b, text)) => (*b, text.clone()),
        None => verdict::behavior(&result.observed, &ok, non_strict.as_deref()),
    };
    let (close, _) = verdict::behavior_close(&case.close, &result.facts);
    let (behavior, close) = verdict::tie(
        &case.close,
        case.informational,
        &result.facts,
        behavior,
        close,
    );
    let transport = result
        .transport
        .map(|c| c.to_string())
        .unwrap_or_else(|| "open".into());
    let reason = verdict::reason(&ReasonInput {
        behavior,
        close,
        script_reason: result.script_verdict.as_ref().map(|(_, t)| t.as_str()),
        observed: &result.observed,
        ok: &ok,
        non_strict: non_strict.as_deref(),
        expect: &case.close,
        facts: &result.facts,
        transport: &transport,
        findings: &result.findings,
    });
    let mut record = base_record(name, case, started);
    record.behavior = Some(behavior);
    record.behavior_close = Some(close);
    record.outcome = verdict::outcome(policy, behavior, close);
    record.reason = reason;
    if behavior == Behavior::Informational
        && let Some(after) = result.ended_after
    {
        // What an informational case records includes when the connection ended.
        record.reason.push_str(&format!(
            "; the connection ended after {:.2} s",
            after.as_secs_f64()
        ));
    }
    record.observed = result.observed.iter().map(ToString::to_string).collect();
    record.findings = result.findings.clone();
    record.duration_ms = duration.as_millis() as u64;
    let f = &result.facts;
    record.close = CloseRecord {
        closed_by_harness: f.closed_by_me,
        failed_by_harness: f.failed_by_me,
        dropped_by_harness: f.dropped_by_me,
        was_clean: f.was_clean,
        local_code: result.local_close.as_ref().and_then(|c| c.0),
        local_reason: result.local_close.as_ref().map(|c| c.1.clone()),
        remote_code: result.remote_close.as_ref().and_then(|c| c.0),
        remote_reason: result.remote_close.as_ref().map(|c| c.1.clone()),
        transport,
        close_handshake_timeout: f.close_handshake_timeout,
        server_drop_timeout: f.server_drop_timeout,
    };
    record
}

/// `2026-11-25T15:40:00.123Z`.
pub fn rfc3339(t: SystemTime) -> String {
    let since = t.duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default();
    let secs = since.as_secs();
    let (days, rest) = (secs / 86_400, secs % 86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60,
        since.subsec_millis()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_dates() {
        assert_eq!(rfc3339(SystemTime::UNIX_EPOCH), "1970-01-01T00:00:00.000Z");
        let t = SystemTime::UNIX_EPOCH + Duration::from_millis(1_795_621_200_123);
        assert_eq!(rfc3339(t), "2026-11-25T15:40:00.123Z");
        let leap = SystemTime::UNIX_EPOCH + Duration::from_secs(951_782_400);
        assert_eq!(rfc3339(leap), "2000-02-29T00:00:00.000Z");
    }
}
