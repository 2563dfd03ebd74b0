//! The smoke exchange (`wsconform smoke`): a quick check that a target is a working echo
//! server before a full run. It is the three built-in smoke cases ([`smoke_cases`]), run by
//! the same flow and machine as every case: a handshake and a close, a text echo, a binary
//! echo.

use std::fmt::Write;
use std::time::Duration;

use wsconform_reports::{CaseRecord, Finding, Outcome};

use crate::cases::Params;
use crate::handshake::Response;
use crate::net::{ConnectError, Target, TlsOptions, WriteShape};
use crate::runner::machine::Timeouts;
use crate::runner::{RunOptions, run_case};
use crate::session::{EventKind, EventLog, HandshakeFailure, render_trace};

pub use crate::cases::smoke::smoke_cases;

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
            // A smoke step passes only when the exchange happened: a refused handshake is
            // NON-STRICT as a case (a server may refuse), but no smoke.
            passed: run.record.outcome == Outcome::Pass && run.handshake.is_none(),
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
