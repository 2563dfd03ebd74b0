//! Building a case's record, sans-IO: its identity, the verdicts of a finished case with
//! the reason, and the wire trace and handshake texts from the event log. The async edge
//! ([`super::exec`]) gathers what happened; this module turns it into a [`CaseRecord`].

use std::time::{Duration, SystemTime};

use wsconform_reports::{Behavior, BehaviorClose, CaseRecord, Cause, CloseRecord, Outcome};

use super::finding::Finding;
use super::machine::MachineResult;
use super::observed::{Observed, expected_lists, show_list};
use super::verdict::{self, Policy, ReasonInput};
use crate::cases::Case;
use crate::session::EventLog;

/// Fails `record` because the server stopped serving (even an informational case).
pub fn died(record: &mut CaseRecord, why: &str) {
    record.behavior = Some(Behavior::Failed);
    record.outcome = Outcome::Fail;
    record.reason = format!("{why}; {}", record.reason);
    record.causes.insert(0, Cause::ServerDied);
}

/// A record with the case's identity and nothing judged yet.
pub fn base_record(name: &str, case: &Case, started: SystemTime) -> CaseRecord {
    let (ok, non_strict) = expected_lists(case);
    record_of(name, case, started, &ok, non_strict.as_deref())
}

/// As [`base_record`], with the expected lists already built (a 16 MiB message is built once).
fn record_of(
    name: &str,
    case: &Case,
    started: SystemTime,
    ok: &[Observed],
    non_strict: Option<&[Observed]>,
) -> CaseRecord {
    let mut expected = Vec::new();
    if let Some(h) = &case.handshake {
        expected.push(h.describe());
    }
    if let Some(r) = &case.respond {
        expected.push(r.describe());
    } else if case.handshake.is_none() || !case.steps.is_empty() {
        expected.push(format!("ok: {}", show_list(ok)));
    }
    if let Some(ns) = non_strict {
        expected.push(format!("non-strict: {}", show_list(ns)));
    }
    CaseRecord {
        target: name.to_owned(),
        id: case.id.clone(),
        title: case.title.clone(),
        rfc: case.rfc.clone(),
        outcome: Outcome::Fail,
        reason: String::new(),
        causes: Vec::new(),
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
        tightens: case.tightens.clone(),
    }
}

/// Bytes of each trace entry kept in hex in a record (the log itself keeps 4 KiB).
const TRACE_HEX: usize = 64;

/// The wire trace of `log` as report entries (at most [`wsconform_reports::MAX_TRACE`], each
/// with at most [`TRACE_HEX`] bytes), and the handshake texts.
pub fn attach_trace(record: &mut CaseRecord, log: &EventLog) {
    use crate::session::{Direction, EventKind, render_event};
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
            EventKind::HandshakeResponse(_) | EventKind::HandshakeRequest(_) => {
                (Some("rx".to_owned()), "handshake", None, None)
            }
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
    // A case that did not fail keeps the start and the end of its trace: 1000 round trips
    // (sections 12, 13) would otherwise keep 300 entries of the same two frames, for each of
    // hundreds of cases, in every report.
    if record.outcome != Outcome::Fail && record.trace.len() > PASSED_HEAD + PASSED_TAIL {
        let cut = record.trace.len() - PASSED_HEAD - PASSED_TAIL;
        let at_us = record.trace[PASSED_HEAD].at_us;
        record.trace.drain(PASSED_HEAD..PASSED_HEAD + cut);
        record.trace.insert(
            PASSED_HEAD,
            wsconform_reports::TraceEntry {
                at_us,
                direction: None,
                kind: "note".to_owned(),
                text: format!("… {cut} entries left out here (the case did not fail)"),
                hex: None,
                len: None,
                digest: None,
            },
        );
        record.trace_dropped += cut;
    }
}

/// The trace entries a case that did not fail keeps from its start and from its end.
const PASSED_HEAD: usize = 60;
const PASSED_TAIL: usize = 20;

/// Both verdicts, the outcome and the reason for a finished case.
pub fn judge(
    name: &str,
    case: &Case,
    result: &MachineResult,
    policy: Policy,
    started: SystemTime,
    duration: Duration,
) -> CaseRecord {
    let skipped = case.expect.pongs_may_skip && skips_earlier_pongs(&result.observed, &result.ok);
    let ok = &result.ok;
    let non_strict = if skipped {
        Some(result.observed.as_slice())
    } else {
        result.non_strict.as_deref()
    };
    let (behavior, _) = match &result.script_verdict {
        Some((b, text)) => (*b, text.clone()),
        None => verdict::behavior(&result.observed, ok, non_strict),
    };
    let (close, _) = if result.script_judged_close {
        // The script's verdict covers the close: a recorded one is recorded whole.
        let close = if behavior == Behavior::Informational {
            BehaviorClose::Informational
        } else {
            BehaviorClose::Ok
        };
        (close, String::new())
    } else {
        verdict::behavior_close(&case.close, &result.facts)
    };
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
    let reason = verdict::explain(&ReasonInput {
        behavior,
        close,
        script_reason: result.script_verdict.as_ref().map(|(_, t)| t.as_str()),
        observed: &result.observed,
        ok,
        non_strict,
        expect: &case.close,
        facts: &result.facts,
        transport: &transport,
        findings: &result.findings,
        peer: verdict::peer_noun(result.side),
    });
    let mut record = record_of(name, case, started, ok, non_strict);
    record.behavior = Some(behavior);
    record.behavior_close = Some(close);
    record.outcome = verdict::outcome(policy, behavior, close);
    record.reason = reason.text;
    record.causes = reason.causes;
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
    record.findings = result.findings.iter().map(Finding::to_record).collect();
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
        transport_code: result.transport.map_or("open", |c| c.code()).to_owned(),
        close_handshake_timeout: f.close_handshake_timeout,
        server_drop_timeout: f.server_drop_timeout,
    };
    record
}

/// Whether `observed` is `ok` with some pongs left out, but not the last one: what RFC 6455
/// §5.5.3 allows ("MAY elect to send a Pong frame for only the most recently processed Ping
/// frame").
fn skips_earlier_pongs(observed: &[Observed], ok: &[Observed]) -> bool {
    let is_pong = |o: &Observed| matches!(o, Observed::Pong(_));
    let last_pong = ok.iter().rposition(is_pong);
    if observed.len() >= ok.len() || last_pong.is_none() {
        return false;
    }
    let mut rest = observed.iter().peekable();
    for (i, want) in ok.iter().enumerate() {
        if rest.peek() == Some(&want) {
            rest.next();
        } else if !is_pong(want) || Some(i) == last_pong {
            return false;
        }
    }
    rest.next().is_none()
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

    #[test]
    fn skipping_earlier_pongs_is_what_5_5_3_allows() {
        let pong = |i: u8| Observed::Pong(vec![b'0' + i]);
        let ok: Vec<Observed> = (0..4).map(pong).collect();
        // Only the last, or some earlier ones left out: allowed.
        assert!(skips_earlier_pongs(&[pong(3)], &ok));
        assert!(skips_earlier_pongs(&[pong(0), pong(2), pong(3)], &ok));
        // All of them is simply OK; the last one missing, a reorder or a stranger is not.
        assert!(!skips_earlier_pongs(&ok, &ok));
        assert!(!skips_earlier_pongs(&[pong(0), pong(1), pong(2)], &ok));
        assert!(!skips_earlier_pongs(&[pong(1), pong(0), pong(3)], &ok));
        assert!(!skips_earlier_pongs(&[pong(7), pong(3)], &ok));
        assert!(!skips_earlier_pongs(&[], &ok));
        // A message is never skipped.
        let text = Observed::Message {
            opcode: crate::wire::OpCode::TEXT,
            payload: b"m".to_vec(),
        };
        let with_message = [pong(0), text.clone(), pong(1)];
        assert!(skips_earlier_pongs(&[text.clone(), pong(1)], &with_message));
        assert!(!skips_earlier_pongs(&[pong(0), pong(1)], &with_message));
    }
}
