//! One case from its first byte to its record, sans-IO: the opening handshake (the standard
//! request, or a crafted one judged by section 0's rules against its deadline), then the case
//! machine, then the record. The async edge ([`super::exec`]) only moves bytes and time
//! between the session and the transport and carries out the [`FlowAction`]s; so section 0
//! runs on a simulated clock in tests, like every other section.

use std::collections::VecDeque;
use std::time::{Duration, Instant, SystemTime};

use wsconform_reports::{Behavior, BehaviorClose, CaseRecord, Cause, Outcome};

use super::finding::{Finding, FindingKind};
use super::handshake::{self as judging, Answer, Judgement};
use super::machine::{Action, CaseMachine, MachineResult, Timeouts};
use super::record::{attach_trace, base_record, died, judge};
use super::respond::Responder;
use super::verdict::{self, CloseFacts, Policy};
use crate::Side;
use crate::cases::{Case, DEFAULT_INFLATE_LIMIT, HandshakeSpec, Params, Step, fill};
use crate::deflate::{DeflateConfig, Deflater, PerMessageDeflate};
use crate::handshake::pmd::{self, DeflateParams, PERMESSAGE_DEFLATE};
use crate::handshake::server::{RequestHead, ServerConfig, check_request};
use crate::handshake::{Extension, Request, ResponseProblem, parse_extensions};
use crate::session::{
    Closure, EventLog, HandshakeFailure, Session, SessionConfig, SessionEvent, Writer,
};

/// The settings a case runs with (the part of the run's options the flow needs).
#[derive(Debug, Clone)]
pub struct FlowConfig {
    /// The opening handshake's deadline for the standard request.
    pub open_handshake_timeout: Duration,
    /// The harness's close timers and the case's ceiling.
    pub timeouts: Timeouts,
    /// Which verdicts fail.
    pub policy: Policy,
    /// The server's facts (`--param`).
    pub params: Params,
    /// Write everything, the request included, in chops of this many bytes this far apart
    /// (`wsconform smoke --chop`), whatever the case says.
    pub chop: Option<(usize, Duration)>,
    /// The side the harness plays: the client (`wsconform run`), or the server, accepting a
    /// client under test (RFC 6455 §4.2: a strict check of its request, then the case as the
    /// server: unmasked frames, TCP closed first).
    pub side: Side,
    /// Masking keys from this seed (reproducible runs: the fuzzers), or fresh random ones.
    pub seed: Option<u64>,
}

/// The most of a size probe's echo the harness buffers (see [`CaseFlow::start`]).
const PROBE_BUFFER: usize = 4 << 20;

/// What the edge must do besides moving bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FlowAction {
    /// Open `count` connections that each send `partial` (half a request) and stay open in
    /// CONNECTING until the case ends.
    Hold {
        /// How many.
        count: usize,
        /// What each sends.
        partial: Vec<u8>,
    },
    /// Write the request the session has queued, in writes of `chop` bytes `delay` apart,
    /// within `bound`; call [`CaseFlow::request_begins`] before and
    /// [`CaseFlow::request_written`] after.
    SendRequest {
        /// The chop size (a trickled request), if any.
        chop: Option<usize>,
        /// The pause between chops.
        delay: Duration,
        /// The longest the whole request may take to write.
        bound: Duration,
    },
    /// Server side: write the response the session has queued before anything else: whole
    /// (never chopped as a case's frames may be), or in writes of `chop` bytes when a case
    /// trickles it.
    SendResponse {
        /// The chop size, if any.
        chop: Option<usize>,
    },
    /// What the case machine asked.
    Machine(Action),
}

/// How a flow starts.
#[derive(Debug)]
pub enum Start {
    /// The case runs: the flow, and the session to put on the transport.
    Run(Box<CaseFlow>, Box<Session>),
    /// The case does not run, or cannot: its record is final.
    Done(Box<CaseRecord>),
}

/// A crafted opening handshake (section 0).
#[derive(Debug)]
struct Crafted {
    spec: HandshakeSpec,
    /// The request as the record shows it.
    shown: String,
    /// The extension offers of the request (for the permessage-deflate rules).
    offers: Vec<Extension>,
    host: String,
    resource: String,
    /// The deadline for the answer, counted from the request's last byte.
    within: Duration,
}

#[derive(Debug)]
enum Phase {
    Opening,
    Running(Box<CaseMachine>),
    /// A crafted response is out (section 20): the client's reaction is judged.
    Responding(Box<Responder>),
    Done,
}

/// One case in progress. See the module docs.
#[derive(Debug)]
pub struct CaseFlow {
    name: String,
    case: Case,
    config: FlowConfig,
    started: SystemTime,
    /// When the request's first byte went out (times in the handshake reason count from it).
    start: Instant,
    max_message: Option<usize>,
    crafted: Option<Crafted>,
    phase: Phase,
    /// A crafted handshake the server accepted, and the request shown.
    accepted: Option<(Judgement, String)>,
    /// Why the standard opening handshake failed, if it did.
    failure: Option<HandshakeFailure>,
    /// The record of a case that ended in its handshake.
    record: Option<CaseRecord>,
    actions: VecDeque<FlowAction>,
    /// The extension offers of the standard request (a case's `[deflate]` offer).
    offers: Vec<Extension>,
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

impl CaseFlow {
    /// Starts `case` (named `name` in its record) against the server at `host` (the Host
    /// header) and `resource`, at `now`.
    pub fn start(
        name: &str,
        case: &Case,
        config: &FlowConfig,
        host: &str,
        resource: &str,
        now: Instant,
        started: SystemTime,
    ) -> Start {
        if let Some(record) = not_run(name, case, &config.params, started) {
            return Start::Done(Box::new(record));
        }
        let max_message = config
            .params
            .get("max_message")
            .and_then(|v| v.parse().ok());
        let mut case = case.clone();
        if let Some(ceiling) = config
            .params
            .get("probe_ceiling")
            .and_then(|v| v.parse::<usize>().ok())
        {
            // The user's ceiling for an upward size probe (the CLI checked its range).
            for step in &mut case.steps {
                if let Step::ProbeLimit(p) = step
                    && !p.known_limit
                    && !p.compress
                {
                    p.max = ceiling;
                }
            }
        }
        let probes_size = case
            .steps
            .iter()
            .any(|s| matches!(s, Step::ProbeLimit(p) if !p.compress));
        let mut flow = CaseFlow {
            name: name.to_owned(),
            case: case.clone(),
            config: config.clone(),
            started,
            start: now,
            max_message,
            crafted: None,
            phase: Phase::Opening,
            accepted: None,
            failure: None,
            record: None,
            actions: VecDeque::new(),
            offers: Vec::new(),
        };
        let session = match &case.handshake {
            None if config.side == Side::Server => {
                let mut session_config = SessionConfig {
                    handshake_timeout: config.open_handshake_timeout,
                    ..SessionConfig::default()
                };
                if let Some(d) = &case.deflate {
                    // A bomb from the client stops at the case's bound, as from a server.
                    session_config.messages.max_message =
                        d.inflate_limit.unwrap_or(DEFAULT_INFLATE_LIMIT);
                }
                Session::server(session_config, now)
            }
            // A crafted response is the server's: section 20 tests clients.
            None if case.respond.is_some() => {
                let mut record = base_record(name, &case, started);
                record.outcome = Outcome::NotRun;
                record.causes = vec![Cause::NotRun];
                record.reason =
                    "not run: a crafted opening response is for testing clients (wsconform serve)"
                        .to_owned();
                return Start::Done(Box::new(record));
            }
            None => {
                let mut request = Request::new(host, resource);
                let mut offer = Session::offer_for(&request);
                let mut session_config = SessionConfig {
                    handshake_timeout: config.open_handshake_timeout,
                    ..SessionConfig::default()
                };
                if let Some(d) = &case.deflate {
                    // RFC 7692 §5: the offer goes in Sec-WebSocket-Extensions.
                    request.set("Sec-WebSocket-Extensions", d.offer.clone());
                    offer.extensions.push(PERMESSAGE_DEFLATE.to_owned());
                    flow.offers = parse_extensions([d.offer.as_bytes()]).unwrap_or_default();
                    let mut limit = d.inflate_limit.unwrap_or(DEFAULT_INFLATE_LIMIT);
                    if case.needs.iter().any(|n| n == "max_message")
                        && let Some(m) = max_message
                    {
                        // The server's limit, and the echo of a message one byte over it.
                        limit = limit.max(m.saturating_add(1));
                    }
                    session_config.messages.max_message = limit;
                }
                if probes_size {
                    // A size probe's echoes are measured, not kept: past this the harness
                    // reads a frame's length and skips its payload, so a 256 MiB echo costs
                    // no memory.
                    session_config.decoder.max_frame_len = PROBE_BUFFER as u64;
                    session_config.messages.max_message = PROBE_BUFFER;
                }
                flow.actions.push_back(FlowAction::SendRequest {
                    chop: config.chop.map(|(n, _)| n),
                    delay: config.chop.map_or(Duration::ZERO, |(_, d)| d),
                    bound: config.timeouts.case_limit,
                });
                Session::client(&request, offer, session_config, now)
            }
            // A crafted request is the client's: section 0 tests servers.
            Some(_) if config.side == Side::Server => {
                let mut record = base_record(name, &case, started);
                record.outcome = Outcome::NotRun;
                record.causes = vec![Cause::NotRun];
                record.reason =
                    "not run: a crafted opening request is for testing servers".to_owned();
                return Start::Done(Box::new(record));
            }
            Some(spec) => match flow.craft(spec, host, resource, now) {
                Ok(session) => session,
                Err(e) => {
                    let mut record = base_record(name, &case, started);
                    record.behavior = Some(Behavior::Failed);
                    record.behavior_close = Some(BehaviorClose::Failed);
                    record.reason = format!("the case cannot build its request: {e}");
                    record.causes = vec![Cause::BadCase];
                    return Start::Done(Box::new(record));
                }
            },
        };
        Start::Run(Box::new(flow), Box::new(session))
    }

    /// The session for a crafted request; queues the held connections and the request.
    fn craft(
        &mut self,
        spec: &HandshakeSpec,
        host: &str,
        resource: &str,
        now: Instant,
    ) -> Result<Session, String> {
        let built = spec.request.build(host, resource, &self.config.params)?;
        if let Some(count) = spec.request.hold {
            let partial = built.head[..built.head.len() / 2].to_vec();
            self.actions.push_back(FlowAction::Hold { count, partial });
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
            .unwrap_or(self.config.open_handshake_timeout);
        let (chop, delay) = match spec.request.trickle {
            Some(t) => (Some(t.bytes), Duration::from_secs_f64(t.every)),
            None => (None, Duration::ZERO),
        };
        // The deadline for the answer is armed once the request is out
        // (`request_written`); until then, the case's ceiling bounds it.
        let session = Session::client(
            &request,
            built.offer(),
            SessionConfig {
                handshake_timeout: self.config.timeouts.case_limit,
                ..SessionConfig::default()
            },
            now,
        );
        self.actions.push_back(FlowAction::SendRequest {
            chop,
            delay,
            bound: self.config.timeouts.case_limit,
        });
        let offers = parse_extensions(
            built
                .request
                .headers()
                .iter()
                .filter(|(n, _)| n.eq_ignore_ascii_case("Sec-WebSocket-Extensions"))
                .map(|(_, v)| &v[..]),
        )
        .unwrap_or_default();
        self.crafted = Some(Crafted {
            spec: spec.clone(),
            shown: shown_request(&wire),
            offers,
            host: host.to_owned(),
            resource: resource.to_owned(),
            within,
        });
        Ok(session)
    }

    /// The request's first byte goes out now (after any held connections were opened): the
    /// times in a handshake reason count from here.
    pub fn request_begins(&mut self, now: Instant) {
        self.start = now;
    }

    /// The request is written (all of it, or as much as went before the bound): a crafted
    /// request's deadline runs from now, from its last byte.
    pub fn request_written(&mut self, now: Instant, session: &mut Session) {
        if let Some(c) = &self.crafted {
            let written = session.elapsed(now);
            session.set_handshake_timeout(written + c.within);
        }
    }

    /// Why the standard opening handshake failed, once it did (the CLI's exit code).
    pub fn handshake_failure(&self) -> Option<&HandshakeFailure> {
        self.failure.as_ref()
    }

    /// The next thing to do.
    pub fn poll_action(&mut self) -> Option<FlowAction> {
        if let Some(action) = self.actions.pop_front() {
            return Some(action);
        }
        match &mut self.phase {
            Phase::Running(m) => m.poll_action().map(FlowAction::Machine),
            Phase::Responding(r) => r.poll_action().map(FlowAction::Machine),
            _ => None,
        }
    }

    /// When [`CaseFlow::handle`] must be called with no event, at the latest.
    pub fn poll_timeout(&self) -> Option<Instant> {
        match &self.phase {
            Phase::Running(m) => m.poll_timeout(),
            Phase::Responding(r) => r.poll_timeout(),
            _ => None,
        }
    }

    /// Until when the edge must not read (a `pause_reading` step), if now is in a pause.
    pub fn reading_paused(&self, now: Instant) -> Option<Instant> {
        match &self.phase {
            Phase::Running(m) => m.reading_paused(now),
            _ => None,
        }
    }

    /// Whether the case is over.
    pub fn is_done(&self) -> bool {
        match &self.phase {
            Phase::Done => true,
            Phase::Running(m) => m.is_done(),
            Phase::Responding(r) => r.is_done(),
            Phase::Opening => false,
        }
    }

    /// The answer to an alive check the machine asked for.
    pub fn handle_alive(&mut self, now: Instant, result: Result<(), String>) {
        if let Phase::Running(m) = &mut self.phase {
            m.handle_alive(now, result);
        }
    }

    /// What the session said at `now` (`None`: a deadline passed, or, when `connected` is
    /// false, the transport is gone).
    pub fn handle(
        &mut self,
        now: Instant,
        event: Option<SessionEvent>,
        session: &mut Session,
        connected: bool,
    ) {
        match &mut self.phase {
            Phase::Running(m) => {
                // A skipped echo that ended in the bytes just read counts before whatever
                // else they held (a close that follows it).
                m.handle_progress(now, session.consumed());
                match event {
                    Some(SessionEvent::Message(message)) => m.handle_message(now, message),
                    Some(SessionEvent::Control(frame)) => m.handle_control(now, frame),
                    Some(SessionEvent::Violation(v)) => m.handle_violation(now, v),
                    Some(SessionEvent::Closed(c)) => m.handle_closed(now, c),
                    Some(
                        SessionEvent::Open { .. }
                        | SessionEvent::Request(_)
                        | SessionEvent::HandshakeFailed(_),
                    ) => {}
                    None if !connected => m.handle_closed(now, Closure::TransportError),
                    None => m.handle_timeout(now),
                }
                m.handle_progress(now, session.consumed());
            }
            Phase::Responding(r) => r.handle(now, event, connected),
            Phase::Opening => match event {
                Some(SessionEvent::Open { .. }) => self.opened(now, Ok(()), session),
                Some(SessionEvent::Request(head)) => self.answer(now, &head, session),
                Some(SessionEvent::HandshakeFailed(f)) => {
                    self.actions.push_back(FlowAction::Machine(Action::Abort));
                    self.opened(now, Err(f), session);
                }
                None if !connected => {
                    let closed = HandshakeFailure::Closed(Closure::TransportError);
                    self.opened(now, Err(closed), session);
                }
                _ => {}
            },
            Phase::Done => {}
        }
    }

    /// Server side: the client's request, checked strictly (RFC 6455 §4.2.1) and answered; a
    /// valid one opens the session and starts the case, a bad one fails it.
    fn answer(&mut self, now: Instant, head: &RequestHead, session: &mut Session) {
        let config = ServerConfig {
            resources: Vec::new(),
            ..ServerConfig::default()
        };
        match check_request(head, &config) {
            Ok(accepted) => match &self.case.respond {
                Some(spec) => {
                    let param =
                        |name: &str| self.config.params.get(name).cloned().unwrap_or_default();
                    let (token, port, s) = (param("redirect_token"), param("port"), param("tls_s"));
                    let vars = [
                        ("token", token.as_str()),
                        ("port", port.as_str()),
                        ("s", s.as_str()),
                    ];
                    let mut response = spec.build(&accepted.key, &vars);
                    if spec.frame_with_head {
                        response.extend_from_slice(&Responder::probe_frame());
                    }
                    session.accept(now, response);
                    self.actions
                        .push_back(FlowAction::SendResponse { chop: spec.chop });
                    let responder = Responder::start(spec, now, spec.frame_with_head);
                    self.phase = Phase::Responding(Box::new(responder));
                }
                None => {
                    let deflate = self.case.deflate.as_ref().and_then(|_| {
                        // Autobahn's fuzzingserver rule for this case (RFC 7692 §7: an
                        // invalid offer is declined, the next one considered).
                        let offers = parse_extensions(head.values("Sec-WebSocket-Extensions"))
                            .unwrap_or_default();
                        pmd::AcceptRule::for_case(&self.case.id)
                            .unwrap_or(pmd::AcceptRule::First)
                            .accept(&offers)
                    });
                    let header = deflate.as_ref().map(DeflateParams::to_header);
                    // The inflater goes in before the answer: frames that came right behind
                    // the request are read at once.
                    let deflater = deflate.as_ref().map(|params| {
                        let config = DeflateConfig::agreed(Side::Server, params);
                        session.set_extension(Box::new(PerMessageDeflate::new(config)));
                        Deflater::new(config.deflate_bits, config.deflate_takeover, config.level)
                    });
                    session.accept(
                        now,
                        accepted.response(&accepted.accept(), header.as_deref()),
                    );
                    self.actions
                        .push_back(FlowAction::SendResponse { chop: None });
                    self.run_machine(now, deflater);
                }
            },
            Err(refusal) => {
                session.refuse(refusal.response());
                let failure = format!("the client's request was refused: {}", refusal.problem);
                self.handshake_failed_with(failure, Some(HandshakeFailure::Refused), Vec::new());
            }
        }
    }

    /// The opening handshake ended, at `now`.
    fn opened(
        &mut self,
        now: Instant,
        result: Result<(), HandshakeFailure>,
        session: &mut Session,
    ) {
        let Some(crafted) = &self.crafted else {
            match result {
                Ok(()) => match agree_deflate(&self.offers, session) {
                    Ok(deflate) => self.run_machine(now, deflate),
                    Err(rule) => {
                        self.actions.push_back(FlowAction::Machine(Action::Abort));
                        // The 101 came, but its answer breaks RFC 7692 §7: the case fails on
                        // it (the handshake itself did not, so no handshake failure).
                        let finding = Finding::of(FindingKind::DeflateAnswer(rule));
                        let reason = finding.kind.to_string();
                        self.handshake_failed_with(reason, None, vec![finding.to_record()]);
                    }
                },
                Err(failure) => self.handshake_failed(&failure),
            }
            return;
        };
        let after = now.saturating_duration_since(self.start);
        let answer = match result {
            Ok(()) => match session.response() {
                Some(response) => Answer::Response {
                    response: response.clone(),
                    problems: Vec::new(),
                    after,
                },
                None => Answer::Unreadable {
                    error: "no response head".into(),
                    after,
                },
            },
            Err(HandshakeFailure::Rejected(problems)) => match session.response() {
                Some(response) => Answer::Response {
                    response: response.clone(),
                    problems: broken_101(&problems).cloned().collect(),
                    after,
                },
                None => Answer::Unreadable {
                    error: "no response head".into(),
                    after,
                },
            },
            Err(HandshakeFailure::Closed(closure)) => Answer::Closed { closure, after },
            Err(HandshakeFailure::Timeout(_)) => Answer::Silent { waited: after },
            // Unreadable, and the server side's failures (a client never reports them).
            Err(e) => Answer::Unreadable {
                error: match e {
                    HandshakeFailure::Unreadable(e) => e.to_string(),
                    other => other.to_string(),
                },
                after,
            },
        };
        let (host, resource, params) = (&crafted.host, &crafted.resource, &self.config.params);
        let fill = |s: &str| fill(s, host, resource, "", params);
        let judgement = judging::judge(
            &crafted.spec,
            &self.case.title,
            &answer,
            &crafted.offers,
            &fill,
        );
        // A 101 that breaks §4.1 is a finding, whatever the case expected of the request.
        let findings = match &answer {
            Answer::Response { problems, .. } => handshake_findings(problems),
            _ => Vec::new(),
        };
        let shown = crafted.shown.clone();
        if judgement.proceed {
            // The judge checked a permessage-deflate answer already; a valid one is used.
            let deflate = agree_deflate(&crafted.offers, session).unwrap_or(None);
            self.accepted = Some((judgement, shown));
            self.run_machine(now, deflate);
            return;
        }
        let mut record = base_record(&self.name, &self.case, self.started);
        verdict::decide(
            &mut record,
            judgement.behavior,
            Cause::Handshake,
            self.config.policy,
        );
        record.reason = judgement.reason;
        record.observed = vec![answer.describe()];
        record.http_request = Some(shown);
        record.findings = findings;
        self.record = Some(record);
        self.phase = Phase::Done;
    }

    fn handshake_failed(&mut self, failure: &HandshakeFailure) {
        let findings = match failure {
            HandshakeFailure::Rejected(problems) => handshake_findings(problems),
            _ => Vec::new(),
        };
        // A 101 that breaks §4.1: the reason is the rules it breaks, with their items.
        if failure.status().is_none() && !findings.is_empty() {
            let rules: Vec<&str> = findings.iter().map(|f| f.message.as_str()).collect();
            let reason = format!("invalid 101: {}", rules.join("; "));
            self.handshake_failed_with(reason, Some(failure.clone()), findings);
            return;
        }
        if let HandshakeFailure::Unreadable(_) = failure {
            let reason = format!("opening handshake failed: {failure}");
            self.handshake_failed_with(reason, Some(failure.clone()), findings);
            return;
        }
        // Silent or hung up on the request the preflight saw accepted (or on this case's own
        // offer): the server stopped serving, which fails any case (§10.4: it MUST protect
        // itself). An HTTP refusal is an answer: no RFC sentence makes a server accept (RFC
        // 6455 §4.2.2: "If the server chooses to accept"), so nothing ran, and the case says so.
        if failure.status().is_none() {
            let mut record = base_record(&self.name, &self.case, self.started);
            record.behavior = Some(Behavior::Failed);
            record.behavior_close = Some(BehaviorClose::Failed);
            record.outcome = Outcome::Fail;
            record.reason = format!(
                "the server stopped serving: opening handshake failed: {failure} (the preflight's request was accepted; RFC 6455 §10.4)"
            );
            record.causes = vec![Cause::ServerDied, Cause::Handshake];
            self.record = Some(record);
            self.failure = Some(failure.clone());
            self.phase = Phase::Done;
            return;
        }
        let mut record = base_record(&self.name, &self.case, self.started);
        let (behavior, close) = if self.case.informational {
            (Behavior::Informational, BehaviorClose::Informational)
        } else {
            (Behavior::NonStrict, BehaviorClose::Ok)
        };
        record.behavior = Some(behavior);
        record.behavior_close = Some(close);
        record.outcome = verdict::outcome(self.config.policy, behavior, close);
        record.reason = format!(
            "non-strict: opening handshake failed: {failure}; nothing of the case ran (a server may refuse, RFC 6455 §4.2.2: 'If the server chooses to accept')"
        );
        record.causes = vec![Cause::Handshake];
        self.record = Some(record);
        self.failure = Some(failure.clone());
        self.phase = Phase::Done;
    }

    /// The case ends in its opening handshake: FAILED with `reason` and `findings`; `failure`
    /// is what the CLI's exit code reads, when the handshake itself failed.
    fn handshake_failed_with(
        &mut self,
        reason: String,
        failure: Option<HandshakeFailure>,
        findings: Vec<wsconform_reports::Finding>,
    ) {
        let mut record = base_record(&self.name, &self.case, self.started);
        let (behavior, close) = verdict::tie(
            &self.case.close,
            self.case.informational,
            &CloseFacts::default(),
            Behavior::Failed,
            BehaviorClose::Failed,
        );
        record.behavior = Some(behavior);
        record.behavior_close = Some(close);
        record.outcome = verdict::outcome(self.config.policy, behavior, close);
        record.reason = reason;
        record.causes = vec![Cause::Handshake];
        record.findings = findings;
        self.record = Some(record);
        self.failure = failure;
        self.phase = Phase::Done;
    }

    fn run_machine(&mut self, now: Instant, deflate: Option<Deflater>) {
        let side = self.config.side;
        // A `predict` case masks with fixed keys: the model must read the same bytes as the
        // peer (a frame that declares more than it holds swallows the next frames' masked
        // bytes).
        let seed = if self.case.predict {
            Some(super::predict::MASK_SEED)
        } else {
            self.config.seed
        };
        let writer = match seed {
            Some(seed) => Writer::with_seed(side, seed),
            None => Writer::new(side),
        };
        let machine = CaseMachine::build(
            writer,
            &self.case,
            self.config.timeouts,
            self.max_message,
            deflate,
            now,
        );
        self.phase = Phase::Running(Box::new(machine));
    }

    /// The record, with the wire trace of `log`; `elapsed` is the case's duration, and
    /// `alive` the result of the check after a `check_alive` case (a fresh connection served).
    pub fn finish(
        self,
        log: &EventLog,
        elapsed: Duration,
        alive: Option<Result<(), String>>,
    ) -> CaseRecord {
        self.finish_with(log, elapsed, alive, true).0
    }

    /// As [`CaseFlow::finish`] with no alive check, for the model's own runs: a `predict` case
    /// is judged by its lists (not by the model again), and the machine's result is returned
    /// with the record.
    pub fn finish_for_model(
        self,
        log: &EventLog,
        elapsed: Duration,
    ) -> (CaseRecord, Option<MachineResult>) {
        self.finish_with(log, elapsed, None, false)
    }

    fn finish_with(
        self,
        log: &EventLog,
        elapsed: Duration,
        alive: Option<Result<(), String>>,
        judge_by_model: bool,
    ) -> (CaseRecord, Option<MachineResult>) {
        let mut kept = None;
        let CaseFlow {
            name,
            case,
            config,
            started,
            phase,
            accepted,
            record,
            ..
        } = self;
        let mut record = match (record, phase) {
            (Some(record), _) => record,
            (None, Phase::Running(m)) => {
                let result = m.finish();
                let mut record = if judge_by_model && case.predict {
                    super::predict::judge(&name, &case, &result, config.policy, started, elapsed)
                } else {
                    judge(&name, &case, &result, config.policy, started, elapsed)
                };
                if let Some((first, request)) = accepted {
                    record.http_request = Some(request);
                    if first.behavior == Behavior::Informational {
                        record.behavior = Some(Behavior::Informational);
                        record.behavior_close = Some(BehaviorClose::Informational);
                        record.outcome = Outcome::Info;
                    }
                    // A 101 the case takes as non-strict stays so, however well the rest went.
                    if first.behavior == Behavior::NonStrict
                        && record.behavior == Some(Behavior::Ok)
                    {
                        record.behavior = Some(Behavior::NonStrict);
                        record.outcome = verdict::outcome(
                            config.policy,
                            Behavior::NonStrict,
                            record.behavior_close.unwrap_or(BehaviorClose::Ok),
                        );
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
                kept = Some(result);
                record
            }
            (None, Phase::Responding(r)) => r.record(&name, &case, config.policy, started),
            // Not reached: a flow without a record is still running.
            (None, _) => base_record(&name, &case, started),
        };
        // A server that no longer answers a fresh connection fails the case, whatever else
        // it saw.
        match alive {
            Some(Ok(())) => record
                .reason
                .push_str("; alive afterwards (a new connection echoed)"),
            Some(Err(e)) => died(&mut record, &format!("the server did not survive: {e}")),
            None => {}
        }
        record.duration_ms = elapsed.as_millis() as u64;
        attach_trace(&mut record, log);
        (record, kept)
    }
}

/// permessage-deflate after a 101 (RFC 7692 §5, §7): when the server accepted it, the
/// answer is checked against `offers` (the rule broken, if any); a valid one puts the
/// inflater behind `session`'s message layer, with exactly the window and takeover the
/// server agreed to, and gives the harness's compressor.
fn agree_deflate(offers: &[Extension], session: &mut Session) -> Result<Option<Deflater>, String> {
    let Some(response) = session.response() else {
        return Ok(None);
    };
    let answer =
        parse_extensions(response.header_values("Sec-WebSocket-Extensions")).unwrap_or_default();
    let Some(accepted) = answer
        .iter()
        .find(|e| e.name.eq_ignore_ascii_case(PERMESSAGE_DEFLATE))
    else {
        return Ok(None);
    };
    pmd::check_answer(offers, &answer)?;
    let params = DeflateParams::parse(accepted, false).map_err(|e| format!("{e} (RFC 7692 §7)"))?;
    let config = DeflateConfig::agreed(Side::Client, &params);
    session.set_extension(Box::new(PerMessageDeflate::new(config)));
    Ok(Some(Deflater::new(
        config.deflate_bits,
        config.deflate_takeover,
        config.level,
    )))
}

/// The problems of a 101 among `problems`: a status other than 101 is an answer (the server
/// refused), not a rule it broke.
fn broken_101(problems: &[ResponseProblem]) -> impl Iterator<Item = &ResponseProblem> {
    problems
        .iter()
        .filter(|p| !matches!(p, ResponseProblem::NotSwitchingProtocols { .. }))
}

/// RFC 6455 §4.1: the problems of a 101 as findings, with their codes.
fn handshake_findings(problems: &[ResponseProblem]) -> Vec<wsconform_reports::Finding> {
    broken_101(problems)
        .map(|p| Finding::of(FindingKind::Handshake(p.clone())).to_record())
        .collect()
}

/// The record of a case that cannot run against this target: a `--param` it needs is
/// missing, or the declared size limit is beyond what it may send.
pub fn not_run(
    name: &str,
    case: &Case,
    params: &Params,
    started: SystemTime,
) -> Option<CaseRecord> {
    let missing: Vec<&str> = case
        .needs
        .iter()
        .map(String::as_str)
        .filter(|n| !params.contains_key(*n))
        .collect();
    let max_message: Option<usize> = params.get("max_message").and_then(|v| v.parse().ok());
    let too_big = case.steps.iter().find_map(|s| match s {
        Step::ProbeLimit(p) if p.known_limit => {
            max_message.filter(|m| *m >= p.max).map(|m| (m, p.max))
        }
        _ => None,
    });
    if missing.is_empty() && too_big.is_none() {
        return None;
    }
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
    Some(record)
}

#[cfg(test)]
mod tests;
