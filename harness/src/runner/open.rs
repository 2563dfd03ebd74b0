//! The edges of a case around the frames: a crafted opening handshake (section 0), the
//! connections a case holds open beside its own, and the check that the server is still
//! alive afterwards. Async; every wait is bounded.

use std::time::Duration;

use tokio::time::Instant;

use super::handshake::{self, Answer, Judgement};
use super::options::RunOptions;
use crate::cases::{Case, HandshakeSpec, fill};
use crate::handshake::{ResponseProblem, parse_extensions};
use crate::net::{Driver, Stream, Target, WriteShape, connect};
use crate::session::{HandshakeFailure, Session, SessionConfig};
use crate::smoke::{self, SmokeError, SmokeOptions};

/// A crafted handshake's outcome: the driver (open if the server accepted), what the server
/// did, and the verdict on it.
pub(super) struct Crafted {
    pub driver: Driver,
    /// The request as sent, for the record (at most [`SHOWN_REQUEST`] bytes of it).
    pub request: String,
    pub answer: Answer,
    pub judgement: Judgement,
}

/// Sends the request `spec` describes over `stream` and judges the answer.
pub(super) async fn crafted(
    stream: Stream,
    target: &Target,
    case: &Case,
    spec: &HandshakeSpec,
    opts: &RunOptions,
    held: &mut Vec<Stream>,
) -> Result<Crafted, String> {
    let host = target.host_header();
    let built = spec.request.build(&host, &target.resource, &opts.params)?;
    if let Some(n) = spec.request.hold {
        hold(target, opts, &built.head[..built.head.len() / 2], n, held).await;
    }
    let mut wire = built.head.clone();
    wire.extend_from_slice(&built.after);
    if let Some(n) = spec.request.stop_after {
        wire.truncate(n);
    }
    let mut request = built.request.clone();
    request.raw(wire.clone());
    let within = spec
        .within
        .map(Duration::from_secs_f64)
        .unwrap_or(opts.open_handshake_timeout);
    let mut shape = WriteShape::default();
    if let Some(t) = spec.request.trickle {
        shape.chop = Some(t.bytes);
        shape.delay = Duration::from_secs_f64(t.every);
    }
    // The handshake deadline is armed once the request is out (below).
    let session = Session::client(
        &request,
        built.offer(),
        SessionConfig {
            handshake_timeout: opts.timeouts.case_limit,
            ..SessionConfig::default()
        },
        Instant::now().into_std(),
    );
    let mut driver = Driver::new(stream, session, shape);
    // The request first (a server may answer or hang up while it trickles in; the whole
    // write is bounded by the case limit), then the wait for the answer, `within` from the
    // request's last byte. Times in the reason count from the request's first byte.
    let sent = Instant::now();
    if tokio::time::timeout(opts.timeouts.case_limit, driver.flush())
        .await
        .is_err()
    {
        driver.abort();
    }
    let written = driver.session().elapsed(Instant::now().into_std());
    driver.session_mut().set_handshake_timeout(written + within);
    let result = driver.handshake().await;
    driver.set_shape(WriteShape::default());
    let after = sent.elapsed();
    let answer = match result {
        Ok((response, _)) => Answer::Response {
            response,
            problems: Vec::new(),
            after,
        },
        Err(HandshakeFailure::Rejected(problems)) => match driver.session().response() {
            Some(response) => Answer::Response {
                response: response.clone(),
                problems: problems
                    .into_iter()
                    .filter(|p| !matches!(p, ResponseProblem::NotSwitchingProtocols { .. }))
                    .collect(),
                after,
            },
            None => Answer::Unreadable {
                error: "no response head".into(),
                after,
            },
        },
        Err(e @ (HandshakeFailure::BadRequest(_) | HandshakeFailure::Refused)) => {
            // Server-side failures: a client session never reports them.
            Answer::Unreadable {
                error: e.to_string(),
                after,
            }
        }
        Err(HandshakeFailure::Unreadable(e)) => Answer::Unreadable {
            error: e.to_string(),
            after,
        },
        Err(HandshakeFailure::Closed(closure)) => Answer::Closed { closure, after },
        Err(HandshakeFailure::Timeout(_)) => Answer::Silent { waited: after },
    };
    let offers = parse_extensions(
        built
            .request
            .headers()
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case("Sec-WebSocket-Extensions"))
            .map(|(_, v)| &v[..]),
    )
    .unwrap_or_default();
    let fill = |s: &str| fill(s, &host, &target.resource, "", &opts.params);
    let judgement = handshake::judge(spec, &case.title, &answer, &offers, &fill);
    Ok(Crafted {
        driver,
        request: shown_request(&wire),
        answer,
        judgement,
    })
}

/// The most bytes of a crafted request kept in the record (a case may send 100 KiB of headers).
const SHOWN_REQUEST: usize = 4096;

fn shown_request(wire: &[u8]) -> String {
    let mut text = String::from_utf8_lossy(&wire[..wire.len().min(SHOWN_REQUEST)]).into_owned();
    if wire.len() > SHOWN_REQUEST {
        text.push_str(&format!("\n… ({} bytes in all)", wire.len()));
    }
    text
}

/// Opens `n` connections that each send `partial` (half a request) and stay open in
/// CONNECTING until the case ends (they are dropped with `held`).
async fn hold(
    target: &Target,
    opts: &RunOptions,
    partial: &[u8],
    n: usize,
    held: &mut Vec<Stream>,
) {
    // One deadline for them all: a server that stops accepting cannot stretch the case.
    let opening = async {
        for _ in 0..n {
            let Ok(mut stream) = connect(target, &opts.tls, opts.connect_timeout).await else {
                break;
            };
            if stream.write_within(partial, Duration::from_secs(1)).await {
                held.push(stream);
            }
        }
    };
    let _ = tokio::time::timeout(opts.connect_timeout + Duration::from_secs(5), opening).await;
}

/// Whether the server is still up: on a fresh connection the smoke exchange (handshake, a
/// text and a binary echo, a close), within the run's connect and handshake timeouts and 5 s
/// for each echo. A refused handshake counts as up: the server answered, and the cases judge
/// answers. So does an answer that broke a frame rule (a masked echo, say): the message layer
/// withholds it, but the server is serving; the cases' own checks catch the rule.
pub(super) async fn alive(target: &Target, opts: &RunOptions) -> Result<(), String> {
    let smoke_opts = SmokeOptions {
        tls: opts.tls.clone(),
        connect_timeout: opts.connect_timeout,
        handshake_timeout: opts.open_handshake_timeout,
        ..SmokeOptions::default()
    };
    match smoke::run(target, &smoke_opts).await {
        Ok(report) => match report.steps.iter().find(|s| !s.passed) {
            Some(step) if report.violations.is_empty() => {
                Err(format!("on a new connection: {}", step.detail))
            }
            _ => Ok(()),
        },
        Err(SmokeError::Handshake(HandshakeFailure::Rejected(_))) => Ok(()),
        Err(e) => Err(format!("on a new connection: {e}")),
    }
}
