//! The smoke exchange (`wsconform smoke`): handshake, echo a text and a binary message,
//! close — a quick check that a target is a working echo server before a full run.

use std::fmt::Write;
use std::time::Duration;

use tokio::time::Instant;

use crate::handshake::Response;
use crate::net::{ConnectError, Driver, Target, TlsOptions, WriteShape, connect};
use crate::session::{Closure, EventLog, HandshakeFailure, Masking, SessionEvent, render_trace};
use crate::wire::{CloseCode, OpCode, RawFrame, Violation, parse_close_payload};

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
    /// How frames are written.
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

/// A step of the exchange: an id, a title and the RFC section it checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseInfo {
    /// The id (`smoke.N`: the smoke steps are not cases, and stay apart from case ids).
    pub id: &'static str,
    /// One line.
    pub title: &'static str,
    /// The RFC anchor.
    pub rfc: &'static str,
}

impl CaseInfo {
    /// The RFC section as a link.
    pub fn rfc_url(&self) -> String {
        wsconform_reports::rfc_url(self.rfc)
    }
}

/// The four steps.
pub const STEPS: [CaseInfo; 4] = [
    CaseInfo {
        id: "smoke.1",
        title: "Opening handshake completes with 101 and a correct Sec-WebSocket-Accept",
        rfc: "rfc6455#section-4.2.2",
    },
    CaseInfo {
        id: "smoke.2",
        title: "A masked text message is echoed back unmasked and unchanged",
        rfc: "rfc6455#section-5.6",
    },
    CaseInfo {
        id: "smoke.3",
        title: "A masked binary message is echoed back unmasked and unchanged",
        rfc: "rfc6455#section-5.6",
    },
    CaseInfo {
        id: "smoke.4",
        title: "A close 1000 is answered with a close frame and the TCP connection ends",
        rfc: "rfc6455#section-5.5.1",
    },
];

/// One step's result.
#[derive(Debug, Clone)]
pub struct Step {
    /// The case it is.
    pub case: CaseInfo,
    /// Whether the server did what the case expects.
    pub passed: bool,
    /// What was seen, in one line.
    pub detail: String,
}

/// What the exchange saw.
#[derive(Debug, Clone)]
pub struct SmokeReport {
    /// The target.
    pub target: Target,
    /// The handshake response.
    pub response: Response,
    /// The steps, in order.
    pub steps: Vec<Step>,
    /// Every rule the server broke on the wire.
    pub violations: Vec<Violation>,
    /// The wire trace.
    pub log: EventLog,
}

impl SmokeReport {
    /// Whether every step passed and the server broke no rule.
    pub fn passed(&self) -> bool {
        self.violations.is_empty() && self.steps.iter().all(|s| s.passed)
    }

    /// The human-readable report: the steps, the violations, the trace.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "smoke exchange with {}", self.target.url);
        for step in &self.steps {
            let mark = if step.passed { "pass" } else { "FAIL" };
            let _ = writeln!(
                out,
                "  {mark}  {:<6} {}\n              {}  [{}]",
                step.case.id,
                step.case.title,
                step.detail,
                step.case.rfc_url()
            );
        }
        for v in &self.violations {
            let _ = writeln!(out, "  FAIL  server broke a rule: {v}");
        }
        let _ = writeln!(out, "wire trace:");
        out.push_str(&render_trace(&self.log, "  "));
        let verdict = if self.passed() { "passed" } else { "FAILED" };
        let _ = writeln!(
            out,
            "{verdict}: {}/{} steps passed, {} violation(s)",
            self.steps.iter().filter(|s| s.passed).count(),
            self.steps.len(),
            self.violations.len()
        );
        out
    }
}

/// Runs the exchange against `target`.
pub async fn run(target: &Target, opts: &SmokeOptions) -> Result<SmokeReport, SmokeError> {
    let case = |id: &str| {
        STEPS
            .iter()
            .find(|c| c.id == id)
            .cloned()
            .unwrap_or(STEPS[0].clone())
    };
    let stream = connect(target, &opts.tls, opts.connect_timeout).await?;
    let mut driver = Driver::for_target(stream, target, opts.handshake_timeout, opts.shape);
    let started = Instant::now();
    let (response, _) = driver.handshake().await.map_err(SmokeError::Handshake)?;
    let mut run = Exchange {
        driver,
        violations: Vec::new(),
        steps: Vec::new(),
    };
    run.steps.push(Step {
        case: case("smoke.1"),
        passed: true,
        detail: format!(
            "{} {} in {:.1} ms; Sec-WebSocket-Accept matches",
            response.status,
            response.reason,
            started.elapsed().as_secs_f64() * 1000.0
        ),
    });

    let text_step = run
        .echo(OpCode::TEXT, TEXT.as_bytes().to_vec(), opts.echo_timeout)
        .await;
    run.steps.push(Step {
        case: case("smoke.2"),
        passed: text_step.0,
        detail: text_step.1,
    });
    let binary: Vec<u8> = (0..=255u8).cycle().take(1024).collect();
    let binary_step = run.echo(OpCode::BINARY, binary, opts.echo_timeout).await;
    run.steps.push(Step {
        case: case("smoke.3"),
        passed: binary_step.0,
        detail: binary_step.1,
    });
    let close_step = run.close(opts.close_timeout).await;
    run.steps.push(Step {
        case: case("smoke.4"),
        passed: close_step.0,
        detail: close_step.1,
    });

    Ok(SmokeReport {
        target: target.clone(),
        response,
        steps: run.steps,
        violations: run.violations,
        log: run.driver.into_log(),
    })
}

/// The exchange in progress.
struct Exchange {
    driver: Driver,
    violations: Vec<Violation>,
    steps: Vec<Step>,
}

/// What waiting for a message ended with.
enum Awaited {
    Message(OpCode, Vec<u8>),
    Close(Vec<u8>),
    Closed(Closure),
    Timeout,
}

impl Exchange {
    /// Sends one masked message and checks that it comes back unchanged.
    async fn echo(&mut self, opcode: OpCode, payload: Vec<u8>, wait: Duration) -> (bool, String) {
        let frame = RawFrame::new(opcode, payload.clone());
        self.driver.session_mut().send(frame, Masking::BySide);
        if let Err(closure) = self.driver.flush().await {
            return (false, format!("could not send: {closure}"));
        }
        let kind = if opcode == OpCode::TEXT {
            "text"
        } else {
            "binary"
        };
        match self.next_message(Instant::now() + wait).await {
            Awaited::Message(op, data) if op == opcode && data == payload => (
                true,
                format!("{} {kind} bytes echoed unchanged", data.len()),
            ),
            Awaited::Message(op, data) => (
                false,
                format!(
                    "expected the {} {kind} bytes back; got {op} with {} bytes{}",
                    payload.len(),
                    data.len(),
                    if op == opcode { " that differ" } else { "" }
                ),
            ),
            Awaited::Close(p) => (
                false,
                format!("expected an echo; server closed: {}", close_text(&p)),
            ),
            Awaited::Closed(c) => (false, format!("expected an echo; {c}")),
            Awaited::Timeout => (false, format!("no echo within {wait:?}")),
        }
    }

    /// Sends close 1000 and checks that the server answers with a close frame and then closes
    /// TCP itself (RFC 6455 §7.1.1: the server should close the TCP connection first).
    async fn close(&mut self, wait: Duration) -> (bool, String) {
        let frame = RawFrame::close(CloseCode::NORMAL, "smoke done");
        self.driver.session_mut().send(frame, Masking::BySide);
        if let Err(closure) = self.driver.flush().await {
            return (false, format!("could not send the close: {closure}"));
        }
        let reply = loop {
            match self.next_message(Instant::now() + wait).await {
                Awaited::Close(p) => break p,
                // Messages still in flight before the close are fine.
                Awaited::Message(..) => {}
                Awaited::Closed(c) => return (false, format!("no close frame in reply; {c}")),
                Awaited::Timeout => {
                    self.driver.abort();
                    return (
                        false,
                        format!("no close frame within {wait:?}; harness aborted TCP"),
                    );
                }
            }
        };
        let code = match parse_close_payload(&reply) {
            Ok(p) => p.code,
            Err(_) => {
                return (
                    false,
                    format!("invalid close reply: {}", close_text(&reply)),
                );
            }
        };
        let code_ok = matches!(code, None | Some(CloseCode::NORMAL));
        match self.wait_closed(Instant::now() + wait).await {
            Some(closure @ Closure::PeerFin { .. }) => (
                code_ok,
                format!(
                    "server answered close {}, then {closure}",
                    close_text(&reply)
                ),
            ),
            Some(closure) => (
                false,
                format!(
                    "server answered close {}, then {closure}",
                    close_text(&reply)
                ),
            ),
            None => {
                self.driver.abort();
                (
                    false,
                    format!(
                        "server answered close {} but did not close TCP within {wait:?}; harness aborted",
                        close_text(&reply)
                    ),
                )
            }
        }
    }

    /// Reads until a whole data message, a close frame, the end, or the deadline. Pings are
    /// answered; violations are collected (the message layer withholds the frames that broke
    /// a rule).
    async fn next_message(&mut self, deadline: Instant) -> Awaited {
        loop {
            match self.driver.next_event(deadline).await {
                None => return Awaited::Timeout,
                Some(SessionEvent::Violation(v)) => self.violations.push(v),
                Some(SessionEvent::Closed(c)) => return Awaited::Closed(c),
                Some(
                    SessionEvent::Open { .. }
                    | SessionEvent::Request(_)
                    | SessionEvent::HandshakeFailed(_),
                ) => {}
                Some(SessionEvent::Message(m)) => return Awaited::Message(m.opcode, m.payload),
                Some(SessionEvent::Control(frame)) => match frame.opcode() {
                    OpCode::CLOSE => return Awaited::Close(frame.raw.payload),
                    OpCode::PING => {
                        let pong = RawFrame::pong(frame.raw.payload);
                        self.driver.session_mut().send(pong, Masking::BySide);
                        let _ = self.driver.flush().await;
                    }
                    _ => {}
                },
            }
        }
    }

    /// Waits for the transport to end.
    async fn wait_closed(&mut self, deadline: Instant) -> Option<Closure> {
        loop {
            match self.driver.next_event(deadline).await? {
                SessionEvent::Closed(c) => return Some(c),
                SessionEvent::Violation(v) => self.violations.push(v),
                _ => {}
            }
        }
    }
}

/// A close payload in one line: `1000 "reason"`, or `(empty)`.
fn close_text(payload: &[u8]) -> String {
    match payload {
        [] => "(empty)".into(),
        [hi, lo, reason @ ..] => format!(
            "{} {:?}",
            u16::from_be_bytes([*hi, *lo]),
            String::from_utf8_lossy(reason)
        ),
        _ => format!("{payload:02x?}"),
    }
}
