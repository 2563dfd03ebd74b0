//! The smoke exchange (`wsconform smoke`): a quick check that a target is a working echo
//! server before a full run. It is three built-in cases ([`smoke_cases`]), run by the same
//! flow and machine as every case: a handshake and a close, a text echo, a binary echo.

use std::fmt::Write;
use std::time::Duration;

use wsconform_reports::{CaseRecord, Finding, Outcome};

use crate::cases::{Case, Params, parse_case_file};
use crate::handshake::Response;
use crate::net::{ConnectError, Target, TlsOptions, WriteShape};
use crate::runner::machine::Timeouts;
use crate::runner::{RunOptions, run_case};
use crate::session::{EventKind, EventLog, HandshakeFailure, render_trace};

/// The text message echoed: ASCII and multi-byte UTF-8.
pub const TEXT: &str = "Hello, wsconform! κόσμε ✓ 🦀";

/// Settings for the exchange.
#[derive(Debug, Clone)]
pub struct SmokeOptions {
    /// TLS settings for `wss://`.
    pub tls: TlsOptions,
    /// DNS, TCP and TLS together.
    pub connect_timeout: Duration,
    /// The opening handshake (Autobahn: 5 s).
    pub handshake_timeout: Duration,
    /// How long to wait for each echo.
    pub echo_timeout: Duration,
    /// How long to wait for the server's close frame, then for it to close TCP (Autobahn: 1 s).
    pub close_timeout: Duration,
    /// How frames are written (`chop` and `delay` apply to every write, the request's too).
    pub shape: WriteShape,
}

impl Default for SmokeOptions {
    fn default() -> Self {
        Self {
            tls: TlsOptions::default(),
            connect_timeout: Duration::from_secs(5),
            handshake_timeout: Duration::from_secs(5),
            echo_timeout: Duration::from_secs(5),
            close_timeout: Duration::from_secs(1),
            shape: WriteShape::default(),
        }
    }
}

/// Why the exchange could not start.
#[derive(Debug, thiserror::Error)]
pub enum SmokeError {
    /// The transport could not be opened.
    #[error(transparent)]
    Connect(#[from] ConnectError),
    /// The opening handshake failed.
    #[error("opening handshake failed: {0}")]
    Handshake(HandshakeFailure),
}

/// The smoke cases, with `echo` as the wait for each echo (their kill timer). Ids `smoke.N`:
/// they are not in the library, and stay apart from its ids.
pub fn smoke_cases(echo: Duration) -> Vec<Case> {
    let binary: String = (0..=255u8).map(|b| format!("{b:02x}")).collect();
    let text = format!(
        r#"
[[case]]
id = "smoke.1"
title = "Opening handshake completes with 101 and a correct Sec-WebSocket-Accept; a close 1000 is answered and the server closes TCP"
rfc = "rfc6455#section-4.2.2"
steps = [ {{ close = {{ code = 1000, reason = "smoke done" }} }} ]

[[case]]
id = "smoke.2"
title = "A masked text message is echoed back unmasked and unchanged"
rfc = "rfc6455#section-5.6"
kill = {echo}
steps = [ {{ send = {{ frames = [ {{ opcode = "text", payload = "{TEXT}" }} ] }} }} ]
expect.ok = [ {{ message = {{ opcode = "text", payload = "{TEXT}" }} }} ]

[[case]]
id = "smoke.3"
title = "A masked binary message is echoed back unmasked and unchanged"
rfc = "rfc6455#section-5.6"
kill = {echo}
steps = [ {{ send = {{ frames = [ {{ opcode = "binary", payload = {{ repeat_hex = "{binary}", len = 1024 }} }} ] }} }} ]
expect.ok = [ {{ message = {{ opcode = "binary", payload = {{ repeat_hex = "{binary}", len = 1024 }} }} }} ]
"#,
        echo = echo.as_secs_f64().clamp(0.001, 3600.0),
    );
    // A constant text with one number in it: it parses, or the tests say so.
    parse_case_file("smoke.toml", &text).unwrap_or_default()
}

/// One case's result.
#[derive(Debug, Clone)]
pub struct Step {
    /// The case's record (id, title, RFC section, verdicts, reason, findings).
    pub record: CaseRecord,
    /// Whether the server did what the case expects.
    pub passed: bool,
    /// Why, in one line.
    pub detail: String,
    /// The wire trace of its connection.
    pub log: EventLog,
}

/// What the exchange saw.
#[derive(Debug, Clone)]
pub struct SmokeReport {
    /// The target.
    pub target: Target,
    /// The handshake response (of the first case).
    pub response: Response,
    /// The cases, in order.
    pub steps: Vec<Step>,
    /// Every rule the server broke on the wire.
    pub findings: Vec<Finding>,
}

impl SmokeReport {
    /// Whether every case passed and the server broke no rule.
    pub fn passed(&self) -> bool {
        self.findings.is_empty() && self.steps.iter().all(|s| s.passed)
    }

    /// The human-readable report: the cases, the findings, each connection's trace.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "smoke exchange with {}", self.target.url);
        for step in &self.steps {
            let mark = if step.passed { "pass" } else { "FAIL" };
            let r = &step.record;
            let _ = writeln!(
                out,
                "  {mark}  {:<8} {}\n                {}  [{}]",
                r.id,
                r.title,
                step.detail,
                wsconform_reports::rfc_url(&r.rfc)
            );
        }
        for f in &self.findings {
            let _ = writeln!(
                out,
                "  FAIL  server broke a rule: [{}] {}",
                f.code, f.message
            );
        }
        let _ = writeln!(out, "wire trace:");
        for step in &self.steps {
            let _ = writeln!(out, "  {}:", step.record.id);
            out.push_str(&render_trace(&step.log, "    "));
        }
        let verdict = if self.passed() { "passed" } else { "FAILED" };
        let _ = writeln!(
            out,
            "{verdict}: {}/{} steps passed, {} violation(s)",
            self.steps.iter().filter(|s| s.passed).count(),
            self.steps.len(),
            self.findings.len()
        );
        out
    }
}

/// The run options the smoke cases use.
fn run_options(opts: &SmokeOptions) -> RunOptions {
    RunOptions {
        tls: opts.tls.clone(),
        connect_timeout: opts.connect_timeout,
        open_handshake_timeout: opts.handshake_timeout,
        timeouts: Timeouts {
            close_handshake: opts.close_timeout,
            server_drop: opts.close_timeout,
            ..Timeouts::default()
        },
        params: Params::new(),
        chop: opts.shape.chop.map(|n| (n, opts.shape.delay)),
        ..RunOptions::default()
    }
}

/// Runs the exchange against `target`.
pub async fn run(target: &Target, opts: &SmokeOptions) -> Result<SmokeReport, SmokeError> {
    let run_opts = run_options(opts);
    let mut steps = Vec::new();
    let mut response = None;
    for case in smoke_cases(opts.echo_timeout) {
        let run = run_case("smoke", target, &case, &run_opts).await;
        if let Some(e) = run.unreachable {
            return Err(SmokeError::Connect(e));
        }
        if steps.is_empty()
            && let Some(failure) = run.handshake
        {
            return Err(SmokeError::Handshake(failure));
        }
        if response.is_none() {
            response = run.log.events().iter().find_map(|e| match &e.kind {
                EventKind::HandshakeResponse(r) => Some(r.clone()),
                _ => None,
            });
        }
        steps.push(Step {
            passed: run.record.outcome == Outcome::Pass,
            detail: run.record.reason.clone(),
            record: run.record,
            log: run.log,
        });
    }
    let findings = steps
        .iter()
        .flat_map(|s| s.record.findings.iter().cloned())
        .collect();
    let response = response.ok_or(SmokeError::Handshake(HandshakeFailure::Closed(
        crate::session::Closure::TransportError,
    )))?;
    Ok(SmokeReport {
        target: target.clone(),
        response,
        steps,
        findings,
    })
}

/// Whether the server at `target` still serves a new connection: the text echo of the smoke
/// exchange, judged as any case. A refused handshake counts as up (the server answered; the
/// cases judge answers), and so does an answer that broke a frame rule (the server is
/// serving; the cases' own checks catch the rule).
pub async fn alive(target: &Target, opts: &SmokeOptions) -> Result<(), String> {
    let Some(case) = smoke_cases(opts.echo_timeout).into_iter().nth(1) else {
        return Err("no alive case".into());
    };
    let run = Box::pin(run_case("alive", target, &case, &run_options(opts))).await;
    if let Some(e) = run.unreachable {
        return Err(e.to_string());
    }
    let served = run.record.outcome != Outcome::Fail
        || !run.record.findings.is_empty()
        || matches!(run.handshake, Some(HandshakeFailure::Rejected(_)));
    if served {
        Ok(())
    } else {
        Err(run.record.reason)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_smoke_cases_parse() {
        let cases = smoke_cases(Duration::from_millis(300));
        let ids: Vec<&str> = cases.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(ids, ["smoke.1", "smoke.2", "smoke.3"]);
        assert_eq!(cases[1].kill, Some(0.3));
    }
}
