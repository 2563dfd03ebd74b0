//! `wsconform serve`: the harness plays the server for a client under test, speaking
//! Autobahn's fuzzingserver URL protocol ([`protocol`]), so that a client's existing Autobahn
//! driver works unchanged. Every request is a WebSocket connection: the edge reads its head
//! (bounded in size and time), routes it by its target, and either answers with one text
//! message (the case count, a case's info or status), runs a case on it with the harness as
//! the server ([`crate::runner::run_case_as_server`]: the same flow and machine as `run`, on
//! the server side), or writes the reports.
//!
//! The edge is async (tokio); what a request means is sans-IO ([`protocol::parse`]).

pub mod protocol;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant as StdInstant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::runner::respond::{RedirectHit, judge_redirect};
use wsconform_reports::{CaseRecord, Cause, Outcome};

use crate::cases::Case;
use crate::handshake::server::{ServerConfig, check_request};
use crate::net::Stream;
use crate::runner::masking::{self, MaskLedger};
use crate::runner::record::base_record;
use crate::runner::{RunOptions, run_case_as_server};
use crate::session::{Masking, Session, SessionConfig, SessionEvent};
use crate::wire::{CloseCode, RawFrame};
use protocol::Request;

/// The most a request head may take.
const MAX_HEAD: usize = 16 * 1024;

/// The most redirect follow-ups kept waiting for their case.
const MAX_REDIRECTS: usize = 1024;

/// Counts a case as running until dropped (however its task ends), and wakes the waiters.
struct Running<'a>(&'a Results);

impl<'a> Running<'a> {
    fn start(results: &'a Results) -> Self {
        results
            .running
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Running(results)
    }
}

impl Drop for Running<'_> {
    fn drop(&mut self) {
        self.0
            .running
            .fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
        self.0.changed.notify_waiters();
    }
}

/// What `/updateReports` calls with every record so far (the CLI writes the reports).
pub type OnUpdate = Box<dyn Fn(&[CaseRecord]) + Send + Sync>;

/// What is called with each case's record as it finishes (the CLI streams results.jsonl).
pub type OnRecord = Box<dyn Fn(&CaseRecord) + Send + Sync>;

/// What `serve` runs, and where it reports.
pub struct ServeConfig {
    /// The selection, sorted: `runCase?case=N` runs the N-th.
    pub cases: Vec<Case>,
    /// Timeouts, policy and params for the cases.
    pub options: RunOptions,
    /// Called by `/updateReports` with every record so far (the CLI writes the reports).
    pub on_update: OnUpdate,
    /// Called with each record as its case finishes.
    pub on_record: OnRecord,
    /// Agent pattern → case patterns not run for matching agents (a fuzzingserver spec's
    /// `exclude-agent-cases`; both anchored).
    pub agent_exclusions: BTreeMap<String, Vec<String>>,
    /// Serve over TLS (`wss://`) with this configuration.
    pub tls: Option<Arc<rustls::ServerConfig>>,
}

impl ServeConfig {
    /// Whether `case` is left out for `agent`.
    fn excluded(&self, agent: &str, case: &str) -> bool {
        self.agent_exclusions.iter().any(|(agents, cases)| {
            crate::cases::matches_anchored(agents, agent)
                && cases
                    .iter()
                    .any(|p| crate::cases::matches_anchored(p, case))
        })
    }
}

/// The results so far, shared by the connections.
#[derive(Default)]
pub struct Results {
    records: Mutex<BTreeMap<(String, usize), CaseRecord>>,
    /// Requests that were not the protocol's: the reason, for the CLI to show.
    refused: Mutex<Vec<String>>,
    /// Cases running now.
    running: std::sync::atomic::AtomicUsize,
    /// Connections accepted so far.
    connections: std::sync::atomic::AtomicUsize,
    /// Each agent's masking keys and nonces so far (the checks across connections).
    ledgers: Mutex<BTreeMap<String, MaskLedger>>,
    /// Follow-ups of redirect cases, by token.
    redirects: Mutex<BTreeMap<String, RedirectHit>>,
    /// Case runs so far (their redirect tokens).
    runs: std::sync::atomic::AtomicUsize,
    changed: tokio::sync::Notify,
}

impl Results {
    /// Every record so far, by agent, then in case order.
    pub fn records(&self) -> Vec<CaseRecord> {
        let records = self.records.lock().unwrap_or_else(|e| e.into_inner());
        records.values().cloned().collect()
    }

    /// How many connections the clients opened so far.
    pub fn connections(&self) -> usize {
        self.connections.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// The requests refused with 400, with why.
    pub fn refused(&self) -> Vec<String> {
        self.refused
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Waits, at most `bound`, until no case is running (a client's last case may still be
    /// closing when it asks for the reports).
    pub async fn settled(&self, bound: Duration) {
        let until = tokio::time::Instant::now() + bound;
        loop {
            let changed = self.changed.notified();
            if self.running.load(std::sync::atomic::Ordering::SeqCst) == 0 {
                return;
            }
            if tokio::time::timeout_at(until, changed).await.is_err() {
                return;
            }
        }
    }

    /// The follow-up of the redirect case run `token`, if it comes within `bound`.
    async fn redirect(&self, token: &str, bound: Duration) -> Option<RedirectHit> {
        let until = tokio::time::Instant::now() + bound;
        loop {
            let changed = self.changed.notified();
            if let Some(hit) = self
                .redirects
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .remove(token)
            {
                return Some(hit);
            }
            if tokio::time::timeout_at(until, changed).await.is_err() {
                return None;
            }
        }
    }

    fn get(&self, agent: &str, case: usize) -> Option<CaseRecord> {
        let records = self.records.lock().unwrap_or_else(|e| e.into_inner());
        records.get(&(agent.to_owned(), case)).cloned()
    }

    fn put(&self, agent: &str, case: usize, record: CaseRecord) {
        let mut records = self.records.lock().unwrap_or_else(|e| e.into_inner());
        records.insert((agent.to_owned(), case), record);
        drop(records);
        self.changed.notify_waiters();
    }
}

/// Accepts connections on `listener` until `stop` resolves; each is served on its own task.
pub async fn serve(
    listener: TcpListener,
    config: Arc<ServeConfig>,
    results: Arc<Results>,
    stop: impl std::future::Future<Output = ()>,
) {
    tokio::pin!(stop);
    loop {
        tokio::select! {
            () = &mut stop => return,
            accepted = listener.accept() => {
                let Ok((tcp, _)) = accepted else { continue };
                let _ = tcp.set_nodelay(true);
                results.connections.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let (config, results) = (config.clone(), results.clone());
                tokio::spawn(async move {
                    // Every connection is bounded, whatever the client does.
                    let limit = config.options.timeouts.case_limit + Duration::from_secs(30);
                    let _ = tokio::time::timeout(limit, async {
                        let Some((stream, plaintext)) = open(tcp, &config).await else {
                            return;
                        };
                        connection(stream, plaintext, &config, &results).await;
                    })
                    .await;
                });
            }
        }
    }
}

/// The stream of an accepted connection: TLS when the server speaks it and the client starts
/// a TLS handshake; else plain, and whether that is plain text sent to a TLS server (a client
/// that followed a redirect from wss to ws).
async fn open(tcp: TcpStream, config: &ServeConfig) -> Option<(Stream, bool)> {
    let Some(tls) = &config.tls else {
        return Some((Stream::Plain(tcp), false));
    };
    let bound = config.options.open_handshake_timeout;
    let mut first = [0u8; 1];
    let peeked = tokio::time::timeout(bound, tcp.peek(&mut first)).await;
    if !matches!(peeked, Ok(Ok(1))) {
        return None;
    }
    // A TLS record starts with its content type, 22 (handshake).
    if first[0] != 22 {
        return Some((Stream::Plain(tcp), true));
    }
    let acceptor = tokio_rustls::TlsAcceptor::from(tls.clone());
    let accepted = tokio::time::timeout(bound, acceptor.accept(tcp)).await;
    match accepted {
        Ok(Ok(stream)) => Some((Stream::TlsServer(Box::new(stream)), false)),
        _ => None,
    }
}

/// One connection: its head, then what it asks for.
async fn connection(mut tcp: Stream, plaintext: bool, config: &ServeConfig, results: &Results) {
    let Some(head) = read_head(&mut tcp, config.options.open_handshake_timeout).await else {
        return;
    };
    let target = request_target(&head);
    let request = match protocol::parse(&target) {
        Ok(request) => request,
        Err(e) => {
            refuse(&mut tcp, &e.to_string()).await;
            results
                .refused
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(format!("{target}: {e}"));
            return;
        }
    };
    let count = config.cases.len();
    let case_at = |n: usize| config.cases.get(n - 1);
    match request {
        Request::Redirected { token } => {
            let header = |name: &str| {
                let text = String::from_utf8_lossy(&head);
                text.lines()
                    .filter_map(|l| l.split_once(':'))
                    .find(|(n, _)| n.trim().eq_ignore_ascii_case(name))
                    .map(|(_, v)| v.trim().to_owned())
            };
            let hit = RedirectHit {
                plaintext,
                credentials: header("Authorization").is_some() || header("Cookie").is_some(),
                host: header("Host").unwrap_or_default(),
            };
            {
                let mut redirects = results.redirects.lock().unwrap_or_else(|e| e.into_inner());
                // Bounded, whatever a client asks for: tokens are read once and removed.
                if redirects.len() < MAX_REDIRECTS {
                    redirects.insert(token, hit);
                }
            }
            results.changed.notify_waiters();
            refuse(&mut tcp, "a case's redirect target: recorded").await;
        }
        Request::CaseCount => reply(tcp, &head, Some(count.to_string())).await,
        Request::CaseInfo { case } => match case_at(case) {
            Some(c) => {
                let info = serde_json::json!({"id": c.id, "description": c.title});
                reply(tcp, &head, Some(info.to_string())).await;
            }
            None => refuse(&mut tcp, &format!("no case {case}: there are {count}")).await,
        },
        Request::RunCase { case, agent } => match case_at(case) {
            Some(c) if config.excluded(&agent, &c.id) => {
                let mut record = base_record(&agent, c, std::time::SystemTime::now());
                record.outcome = Outcome::NotRun;
                record.causes = vec![Cause::NotRun];
                record.reason =
                    "not run: excluded for this agent (the spec's exclude-agent-cases)".into();
                (config.on_record)(&record);
                results.put(&agent, case, record);
                reply(tcp, &head, None).await;
            }
            // A downgrade needs the client on TLS in the first place.
            Some(c)
                if (config.tls.is_none() || plaintext)
                    && c.respond.as_ref().and_then(|r| r.redirect)
                        == Some(crate::cases::RedirectKind::Downgrade) =>
            {
                let mut record = base_record(&agent, c, std::time::SystemTime::now());
                record.outcome = Outcome::NotRun;
                record.causes = vec![Cause::NotRun];
                record.reason = "not run: a redirect from wss to ws needs the server and the client on TLS (wsconform serve --tls-cert FILE --tls-key FILE, and the client given the wss:// URL)".into();
                (config.on_record)(&record);
                results.put(&agent, case, record);
                reply(tcp, &head, None).await;
            }
            Some(c) => {
                use std::sync::atomic::Ordering;
                let running = Running::start(results);
                // What a redirect case's Location names: this run's token, the server's port.
                let token = format!("{}-{}", case, results.runs.fetch_add(1, Ordering::SeqCst));
                let mut options = config.options.clone();
                let port = tcp
                    .tcp()
                    .and_then(|t| t.local_addr().ok())
                    .map(|a| a.port());
                options
                    .params
                    .insert("redirect_token".into(), token.clone());
                options
                    .params
                    .insert("port".into(), port.unwrap_or(0).to_string());
                let tls = if config.tls.is_some() { "s" } else { "" };
                options.params.insert("tls_s".into(), tls.into());
                let run = run_case_as_server(&agent, c, &options, tcp, &head).await;
                let mut record = run.record;
                if let Some(kind) = c.respond.as_ref().and_then(|r| r.redirect)
                    && record.outcome != Outcome::NotRun
                {
                    let hit = results.redirect(&token, Duration::from_secs(2)).await;
                    let first = run.log.events().iter().find_map(|e| match &e.kind {
                        crate::session::EventKind::HandshakeRequest(h) => Some(h),
                        _ => None,
                    });
                    let sent = first.is_some_and(|h| {
                        !h.values("Authorization").is_empty() || !h.values("Cookie").is_empty()
                    });
                    let host = first
                        .and_then(|h| {
                            h.values("Host")
                                .first()
                                .map(|v| String::from_utf8_lossy(v).into_owned())
                        })
                        .unwrap_or_default();
                    judge_redirect(
                        &mut record,
                        kind,
                        (sent, &host),
                        hit.as_ref(),
                        config.options.policy,
                    );
                }
                let problems = {
                    let mut ledgers = results.ledgers.lock().unwrap_or_else(|e| e.into_inner());
                    ledgers.entry(agent.clone()).or_default().check(&run.log)
                };
                masking::apply(&mut record, &problems, c, config.options.policy);
                (config.on_record)(&record);
                results.put(&agent, case, record);
                drop(running);
            }
            None => refuse(&mut tcp, &format!("no case {case}: there are {count}")).await,
        },
        Request::CaseStatus { case, agent } => {
            // Waits until that case has a result (bounded by the case limit).
            let until = tokio::time::Instant::now() + config.options.timeouts.case_limit;
            let record = loop {
                let changed = results.changed.notified();
                if let Some(r) = results.get(&agent, case) {
                    break Some(r);
                }
                if tokio::time::timeout_at(until, changed).await.is_err() {
                    break None;
                }
            };
            let behavior = record
                .and_then(|r| r.behavior)
                .map_or("UNKNOWN", |b| b.as_str());
            let status = serde_json::json!({ "behavior": behavior });
            reply(tcp, &head, Some(status.to_string())).await;
        }
        Request::UpdateReports { .. } => {
            results.settled(config.options.timeouts.case_limit).await;
            (config.on_update)(&results.records());
            reply(tcp, &head, None).await;
        }
    }
}

/// Reads a request head: at most [`MAX_HEAD`] bytes within `timeout`.
async fn read_head(tcp: &mut Stream, timeout: Duration) -> Option<Vec<u8>> {
    let mut head = Vec::new();
    let mut buf = [0u8; 4096];
    let read = async {
        while !head.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = tcp.read(&mut buf).await.ok()?;
            if n == 0 || head.len() + n > MAX_HEAD {
                return None;
            }
            head.extend_from_slice(&buf[..n]);
        }
        Some(())
    };
    tokio::time::timeout(timeout, read).await.ok()??;
    Some(head)
}

/// The request line's target (`/runCase?case=1&agent=a`), or empty.
fn request_target(head: &[u8]) -> String {
    let line = head.split(|b| *b == b'\n').next().unwrap_or_default();
    String::from_utf8_lossy(line)
        .split_whitespace()
        .nth(1)
        .unwrap_or_default()
        .to_owned()
}

/// Answers a request that is not the protocol's with 400 and why.
async fn refuse(tcp: &mut Stream, why: &str) {
    let body = format!("{why}\n");
    let response = format!(
        "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = tokio::time::timeout(Duration::from_secs(5), tcp.write_all(response.as_bytes())).await;
}

/// Completes the opening handshake of `head` (a strict §4.2 check), sends `text` if any,
/// closes with 1000, and waits a moment for the client's close.
async fn reply(mut tcp: Stream, head: &[u8], text: Option<String>) {
    let now = StdInstant::now();
    let mut session = Session::server(SessionConfig::default(), now);
    session.handle_input(now, head);
    let request = std::iter::from_fn(|| session.poll_event()).find_map(|e| match e {
        SessionEvent::Request(r) => Some(r),
        _ => None,
    });
    let Some(request) = request else {
        // Unreadable: the session queued its error response.
        flush(&mut tcp, &mut session).await;
        return;
    };
    let config = ServerConfig {
        resources: Vec::new(),
        ..ServerConfig::default()
    };
    match check_request(&request, &config) {
        Ok(accepted) => {
            session.accept(now, accepted.response(&accepted.accept(), None));
            if let Some(text) = text {
                session.send(RawFrame::text(text), Masking::BySide);
            }
            session.send(RawFrame::close(CloseCode::NORMAL, ""), Masking::BySide);
        }
        Err(refusal) => session.refuse(refusal.response()),
    }
    flush(&mut tcp, &mut session).await;
    // The client's close, then ours: RFC 6455 §7.1.1, the server closes TCP first.
    let mut buf = [0u8; 1024];
    let _ = tokio::time::timeout(Duration::from_secs(2), tcp.read(&mut buf)).await;
    let _ = tcp.shutdown().await;
}

async fn flush(tcp: &mut Stream, session: &mut Session) {
    while let Some(bytes) = session.poll_transmit() {
        let write = tokio::time::timeout(Duration::from_secs(5), tcp.write_all(&bytes)).await;
        if !matches!(write, Ok(Ok(()))) {
            return;
        }
        session.on_sent(StdInstant::now(), &bytes);
    }
}
