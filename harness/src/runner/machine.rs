//! The case interpreter, sans-IO: runs one case's script against the events of an open
//! session, with Autobahn's timers and close machinery (`autobahn-cases.md` §2.0, §3.3).
//!
//! The driver feeds it the session's events ([`CaseMachine::handle_message`],
//! [`CaseMachine::handle_control`], [`CaseMachine::handle_violation`],
//! [`CaseMachine::handle_closed`]): messages come assembled by proto's one message layer,
//! which also withholds every frame that broke a rule (so the machine never sees it) and the passing of time
//! ([`CaseMachine::handle_timeout`] at [`CaseMachine::poll_timeout`]), and carries out what
//! [`CaseMachine::poll_action`] asks: writes, aborting TCP, or an alive check. Nothing here
//! touches a socket or reads a clock, so every rule is unit-tested on a simulated clock. The
//! inputs, the close machinery and the outputs are here; running the steps, in `script.rs`.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use wsconform_reports::Behavior;

use super::finding::{Finding, FindingKind};
use super::limit::{FloodStop, FloodTally, LimitProbe};
use super::observed::{Observed, Timeline, expected_lists};
use super::verdict::CloseFacts;
use crate::Side;
use crate::cases::{Case, Payload, WriteMode};
use crate::deflate::Deflater;
use crate::message::Message;
use crate::session::{Closure, Masking, Writer};
use crate::wire::{CloseCode, Frame, OpCode, RawFrame, Violation, ViolationKind};

/// The harness's own timeouts (Autobahn's defaults; every one can be set from the CLI).
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    /// From the harness's close frame to the peer's reply (closeHandshakeTimeout, 1 s).
    pub close_handshake: Duration,
    /// From the completed closing handshake to the server closing TCP
    /// (serverConnectionDropTimeout, 1 s).
    pub server_drop: Duration,
    /// A ceiling on the whole case, whatever its timers say.
    pub case_limit: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            close_handshake: Duration::from_secs(1),
            server_drop: Duration::from_secs(1),
            case_limit: Duration::from_secs(600),
        }
    }
}

/// The most events a case records; a flood beyond it is not kept.
pub const MAX_OBSERVED: usize = 1000;

/// What the driver must do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Write each piece with its own write call, in order; with `chop`, cut each piece into
    /// writes of at most that many bytes.
    Write {
        /// The pieces.
        pieces: Vec<Vec<u8>>,
        /// The chop size.
        chop: Option<usize>,
    },
    /// Write `head`, then `len` bytes of `chunk` repeated (the last copy cut short), each
    /// chunk with its own write call: a large message streamed in bounded memory.
    WriteRepeated {
        /// The bytes before (a frame header).
        head: Vec<u8>,
        /// The bytes repeated.
        chunk: Vec<u8>,
        /// How many bytes of repeats.
        len: usize,
    },
    /// Abort the TCP connection.
    Abort,
    /// Check that a second connection is served now; report with
    /// [`CaseMachine::handle_alive`].
    CheckAlive,
    /// Close our side of TCP in order (FIN): the server closes first (RFC 6455 §7.1.1), so a
    /// harness playing the server does it once the closing handshake is done.
    Shutdown,
}

/// The pieces of an [`Action::WriteRepeated`]: `len` bytes of `chunk` repeated, the last copy
/// cut short.
pub fn repeated(chunk: &[u8], len: usize) -> impl Iterator<Item = &[u8]> + '_ {
    let full = len.checked_div(chunk.len()).unwrap_or(0);
    let rest = if chunk.is_empty() {
        0
    } else {
        len % chunk.len()
    };
    std::iter::repeat_n(chunk, full).chain((rest > 0).then(|| &chunk[..rest]))
}

/// Pings remembered for their pongs.
const MAX_PINGS: usize = 1024;

/// How often the machine looks at the progress of a skipped echo.
const SKIP_POLL: Duration = Duration::from_millis(10);

/// The WebSocket closing state, as the harness sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ws {
    Open,
    /// The harness sent a close and waits for the reply until the deadline.
    Closing(Instant),
    /// Both closes were exchanged; the server should close TCP by the deadline.
    Closed(Instant),
    /// TCP is gone.
    Gone,
}

/// What the script is waiting for.
#[derive(Debug, Clone)]
enum Block {
    None,
    Wait {
        until: Instant,
        tag: Option<String>,
    },
    FirstMessage {
        until: Instant,
        opcode: OpCode,
        len: usize,
        within: f64,
    },
    Roundtrip {
        until: Instant,
        remaining: usize,
        opcode: OpCode,
        payload: Vec<u8>,
        within: f64,
    },
    Limit {
        until: Instant,
        probe: LimitProbe,
        within: f64,
    },
    /// Waiting for the driver's answer to [`Action::CheckAlive`] (the driver bounds it).
    Alive,
    PingFlood {
        until: Instant,
        tally: FloodTally,
        within: f64,
    },
    Series(Box<Series>),
}

/// A `series` step in progress (Autobahn's 12.x/13.x script).
#[derive(Debug, Clone)]
struct Series {
    until: Instant,
    within: f64,
    data: &'static [u8],
    /// The data set is ASCII: code points are bytes.
    ascii: bool,
    opcode: OpCode,
    /// Code points (text) or bytes (binary) a message.
    len: usize,
    fragment: usize,
    /// Where the next message starts in the data set.
    cursor: usize,
    /// Messages sent so far, and how many in all.
    sent: usize,
    count: usize,
    /// The message whose echo is awaited.
    pending: Vec<u8>,
}

/// What a finished case saw.
#[derive(Debug, Clone)]
pub struct MachineResult {
    /// The events recorded.
    pub observed: Vec<Observed>,
    /// The events expected (the case's lists, built once, when the machine started).
    pub ok: Vec<Observed>,
    /// The NON-STRICT list, if the case has one.
    pub non_strict: Option<Vec<Observed>>,
    /// How it closed.
    pub facts: CloseFacts,
    /// A verdict the script set itself (9.x), with its text.
    pub script_verdict: Option<(Behavior, String)>,
    /// The script's verdict judged how the peer ended the connection too (a flood the server
    /// stopped): the close verdict has nothing more to say.
    pub script_judged_close: bool,
    /// Rules the peer broke.
    pub findings: Vec<Finding>,
    /// The close the harness sent.
    pub local_close: Option<(Option<u16>, String)>,
    /// The close the peer sent.
    pub remote_close: Option<(Option<u16>, String)>,
    /// How TCP ended.
    pub transport: Option<Closure>,
    /// When TCP ended, from the case's start.
    pub ended_after: Option<Duration>,
    /// Why a second connection was not served during the case (an `alive` step).
    pub dead: Option<String>,
    /// The side the harness played.
    pub side: Side,
    /// When the events came and the connection began to close (what live fuzzing's judge
    /// needs to tell a reply the peer had time to send from one a close overtook).
    pub timeline: Timeline,
}

/// One case in progress. See the module docs.
#[derive(Debug)]
pub struct CaseMachine {
    case: Case,
    timeouts: Timeouts,
    /// Masks what the harness sends as its side requires (or as a step overrides).
    writer: Writer,
    pc: usize,
    block: Block,
    ws: Ws,
    facts: CloseFacts,
    ok: Vec<Observed>,
    non_strict: Option<Vec<Observed>>,
    observed: Vec<Observed>,
    kill_at: Option<Instant>,
    close_at: Option<Instant>,
    limit: Instant,
    frame_key: Option<([u8; 4], usize)>,
    actions: VecDeque<Action>,
    script_verdict: Option<(Behavior, String)>,
    script_judged_close: bool,
    /// A limit probe's echo whose payload the decoder skips: where it ends, its length, when
    /// to look again (skipping yields no event, so the machine asks to be woken), and the
    /// stream offset seen last.
    skipped_echo: Option<(u64, usize, Instant, u64)>,
    /// A probe's echo came in fragments past the buffer and was judged: the rest of it is
    /// skipped without findings.
    probe_fragments_skipped: bool,
    /// Payloads of the pings sent and not answered yet (a pong that answers none is
    /// unsolicited, which §5.5.3 allows, and is no event).
    pings: Vec<Vec<u8>>,
    /// More pings were sent than [`MAX_PINGS`]: every pong is taken as an answer.
    pings_overflowed: bool,
    findings: Vec<Finding>,
    local_close: Option<(Option<u16>, String)>,
    remote_close: Option<(Option<u16>, String)>,
    transport: Option<Closure>,
    paused_until: Option<Instant>,
    max_message: Option<usize>,
    started: Instant,
    ended_after: Option<Duration>,
    dead: Option<String>,
    /// The harness's compressor, when permessage-deflate was agreed.
    deflate: Option<Deflater>,
    timeline: Timeline,
}

impl CaseMachine {
    /// Starts `case` at `now`, right after the opening handshake: arms its timers and runs its
    /// script up to the first wait.
    pub fn new(case: &Case, timeouts: Timeouts, now: Instant) -> Self {
        Self::with_limit(case, timeouts, None, now)
    }

    /// As [`CaseMachine::with_limit`], for the harness playing `side`: the side decides
    /// masking and who closes TCP first.
    pub fn for_side(
        side: Side,
        case: &Case,
        timeouts: Timeouts,
        max_message: Option<usize>,
        now: Instant,
    ) -> Self {
        Self::build(Writer::new(side), case, timeouts, max_message, None, now)
    }

    /// As [`CaseMachine::new`], with the server's message size limit for `probe_limit`
    /// steps (`--param max_message`).
    pub fn with_limit(
        case: &Case,
        timeouts: Timeouts,
        max_message: Option<usize>,
        now: Instant,
    ) -> Self {
        Self::for_side(Side::Client, case, timeouts, max_message, now)
    }

    /// As [`CaseMachine::for_side`], with `writer`'s keys (seeded in tests), and `deflate`,
    /// the compressor of an agreed permessage-deflate (RFC 7692). A case that requires
    /// deflate ends at once without it: UNIMPLEMENTED, close 1000 (Autobahn's 12/13 rule).
    pub fn build(
        writer: Writer,
        case: &Case,
        timeouts: Timeouts,
        max_message: Option<usize>,
        deflate: Option<Deflater>,
        now: Instant,
    ) -> Self {
        let (ok, non_strict) = expected_lists(case);
        let harness_is_server = writer.side() == Side::Server;
        let after = |secs: Option<f64>| secs.map(|s| now + Duration::from_secs_f64(s.max(0.0)));
        let mut machine = Self {
            kill_at: after(case.kill),
            close_at: after(case.close_after),
            case: case.clone(),
            timeouts,
            writer,
            pc: 0,
            block: Block::None,
            ws: Ws::Open,
            facts: CloseFacts {
                opened: true,
                harness_is_server,
                ..CloseFacts::default()
            },
            ok,
            non_strict,
            observed: Vec::new(),
            limit: now + timeouts.case_limit,
            frame_key: None,
            actions: VecDeque::new(),
            script_verdict: None,
            script_judged_close: false,
            skipped_echo: None,
            probe_fragments_skipped: false,
            pings: Vec::new(),
            pings_overflowed: false,
            findings: Vec::new(),
            local_close: None,
            remote_close: None,
            transport: None,
            paused_until: None,
            max_message,
            started: now,
            ended_after: None,
            dead: None,
            deflate,
            timeline: Timeline::default(),
        };
        if case.deflate.as_ref().is_some_and(|d| d.required) && machine.deflate.is_none() {
            machine.script_verdict = Some((
                Behavior::Unimplemented,
                if harness_is_server {
                    "permessage-deflate was not agreed: the client offered none that the case's rule accepts (Autobahn's fuzzingserver rule; RFC 7692 §5)".into()
                } else {
                    "permessage-deflate was not agreed: the server's 101 accepted none of the offers (RFC 7692 §5)".into()
                },
            ));
            machine.pc = case.steps.len();
            machine.start_close(now, CloseCode::NORMAL.0.to_be_bytes().to_vec());
            return machine;
        }
        machine.advance(now);
        // A handshake case with nothing to do after the 101 closes at once (its expected
        // lists are already met, as Autobahn's auto-close would find).
        if case.steps.is_empty()
            && machine.ok.is_empty()
            && case.auto_close
            && case.close.closed_by_harness
        {
            machine.start_close(now, CloseCode::NORMAL.0.to_be_bytes().to_vec());
        }
        machine
    }

    /// Until when the driver must not read (a `pause_reading` step), if now is in a pause.
    pub fn reading_paused(&self, now: Instant) -> Option<Instant> {
        self.paused_until.filter(|t| *t > now)
    }

    /// Uses a seeded generator for masking keys from now on (deterministic tests).
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.writer = Writer::with_seed(self.writer.side(), seed);
        self
    }

    /// The side the harness plays.
    pub fn side(&self) -> Side {
        self.writer.side()
    }

    /// The next thing to do.
    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    /// When [`CaseMachine::handle_timeout`] must be called next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.is_done() {
            return None;
        }
        let ws = match self.ws {
            Ws::Closing(t) | Ws::Closed(t) => Some(t),
            Ws::Open | Ws::Gone => None,
        };
        let block = match &self.block {
            Block::None | Block::Alive => None,
            Block::Wait { until, .. }
            | Block::FirstMessage { until, .. }
            | Block::Roundtrip { until, .. }
            | Block::PingFlood { until, .. }
            | Block::Limit { until, .. } => Some(*until),
            Block::Series(s) => Some(s.until),
        };
        [
            ws,
            block,
            self.skipped_echo.map(|(_, _, at, _)| at),
            self.kill_at,
            self.close_at,
            self.paused_until,
            Some(self.limit),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// Whether the case is over (TCP is gone).
    pub fn is_done(&self) -> bool {
        self.transport.is_some()
    }

    /// What the case saw; call once it is done.
    pub fn finish(self) -> MachineResult {
        let side = self.side();
        MachineResult {
            observed: self.observed,
            ok: self.ok,
            non_strict: self.non_strict,
            facts: self.facts,
            script_verdict: self.script_verdict,
            script_judged_close: self.script_judged_close,
            findings: self.findings,
            local_close: self.local_close,
            remote_close: self.remote_close,
            transport: self.transport,
            ended_after: self.ended_after,
            side,
            dead: self.dead,
            timeline: self.timeline,
        }
    }

    // ---------------------------------------------------------------- inputs

    /// A complete data message from the peer.
    pub fn handle_message(&mut self, now: Instant, message: Message) {
        self.on_message(now, message.opcode, message.payload);
    }

    /// A control frame from the peer, where it arrived (even in the middle of a message).
    pub fn handle_control(&mut self, now: Instant, frame: Frame) {
        let payload = frame.raw.payload;
        match frame.raw.opcode {
            // RFC 6455 §5.5.2: "Upon receipt of a Ping frame, an endpoint MUST send a Pong
            // frame in response". Not recorded as an event.
            OpCode::PING if self.ws == Ws::Open => {
                let pong = self.writer.encode(RawFrame::pong(payload), Masking::BySide);
                self.write(vec![pong], None);
            }
            OpCode::PONG => {
                if let Block::PingFlood { .. } = self.block {
                    self.flood_pong(now, &payload);
                } else if self.solicited(&payload) {
                    self.record(now, Observed::Pong(payload));
                }
                // Else an unsolicited pong (§5.5.3: "A Pong frame MAY be sent unsolicited"):
                // in the trace, not an event.
            }
            OpCode::CLOSE => self.peer_close(now, &payload),
            _ => {}
        }
    }

    /// A rule the peer broke. As in Autobahn, the harness fails the connection: close 1002
    /// (1007 for invalid UTF-8) while open, or TCP closed if already closing.
    pub fn handle_violation(&mut self, now: Instant, violation: Violation) {
        // A limit probe's echo past the harness's own buffer: no rule broken, and its length
        // is what the probe needs.
        if self.probe_fragments_skipped
            && matches!(
                violation.kind,
                ViolationKind::FrameTooLarge { .. }
                    | ViolationKind::MessageTooLarge { .. }
                    | ViolationKind::ContinuationWithoutStart
            )
        {
            // The rest of an echo already judged: its fragments are not the server's fault.
            return;
        }
        if matches!(self.block, Block::Limit { .. }) && violation.frame.is_some() {
            match violation.kind {
                ViolationKind::FrameTooLarge {
                    declared,
                    fin: true,
                    header_len,
                    ..
                } => {
                    // Counted once its payload has streamed past (see `handle_progress`):
                    // sending the next size while the server still writes this echo would
                    // leave both sides writing, neither reading.
                    let start = violation.frame.unwrap_or(violation.offset);
                    let end = start
                        .saturating_add(u64::from(header_len))
                        .saturating_add(declared);
                    let len = usize::try_from(declared).unwrap_or(usize::MAX);
                    self.skipped_echo = Some((end, len, now + SKIP_POLL, start));
                    return;
                }
                ViolationKind::FrameTooLarge { cap, .. } if !self.limit_compressed() => {
                    self.probe_past_buffer(now, cap);
                    return;
                }
                ViolationKind::MessageTooLarge { cap } if !self.limit_compressed() => {
                    self.probe_past_buffer(now, cap as u64);
                    return;
                }
                _ => {}
            }
        }
        self.findings.push(Finding::from(violation.clone()));
        // A script step waiting for the peer's messages judges the case itself: a rule broken
        // on the way fails it (the events alone would show nothing missing).
        let during = match &self.block {
            Block::Series(s) => Some(format!("echo {} of {}", s.sent, s.count)),
            Block::Roundtrip { remaining, .. } => {
                Some(format!("the series ({remaining} echoes to go)"))
            }
            Block::FirstMessage { .. } => Some("the first message".to_owned()),
            _ => None,
        };
        if let Some(during) = during
            && self.script_verdict.is_none()
            && violation.frame.is_some()
        {
            self.script_verdict = Some((
                Behavior::Failed,
                format!(
                    "{during}: the {} broke a rule: {}",
                    super::verdict::peer_noun(self.side()),
                    violation.kind
                ),
            ));
            self.block = Block::None;
        }
        if violation.frame.is_none() {
            // End-of-stream findings: the connection is already gone.
            return;
        }
        match self.ws {
            Ws::Open => {
                let code = violation.kind.close_code();
                let reason = violation.kind.to_string();
                self.fail(now, code, &reason);
            }
            Ws::Closing(_) | Ws::Closed(_) => self.abort(),
            Ws::Gone => {}
        }
    }

    /// TCP ended.
    /// The answer to [`Action::CheckAlive`]: `Err` says why the second connection failed.
    pub fn handle_alive(&mut self, now: Instant, result: Result<(), String>) {
        if let Err(e) = result {
            self.dead.get_or_insert(e);
        }
        if matches!(self.block, Block::Alive) {
            self.block = Block::None;
        }
        self.advance(now);
    }

    /// TCP ended.
    pub fn handle_closed(&mut self, now: Instant, closure: Closure) {
        self.ended_after = Some(now.saturating_duration_since(self.started));
        let aborted = matches!(closure, Closure::HarnessAbort);
        if aborted {
            self.facts.dropped_by_me = true;
        }
        // A probe or a flood cut short still gets its own verdict.
        match &self.block {
            Block::Limit { probe, .. } if aborted => self.script_verdict = Some(probe.on_stall()),
            Block::Limit { probe, .. } => {
                self.script_verdict = Some(probe.on_close(None, true));
                self.script_judged_close = probe.limit.is_none();
            }
            Block::PingFlood { tally, .. } => {
                let stop = if aborted {
                    FloodStop::Stalled
                } else {
                    FloodStop::Dropped(closure.to_string())
                };
                self.script_judged_close = true;
                self.script_verdict = Some(tally.verdict_on_stop(&stop));
            }
            _ => {}
        }
        self.transport = Some(closure);
        self.ws = Ws::Gone;
        self.block = Block::None;
    }

    /// Time passed: fire every deadline at or before `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.is_done() {
            return;
        }
        if now >= self.limit {
            self.abort();
            return;
        }
        match self.ws {
            Ws::Closing(t) if now >= t => {
                // No close reply in time: drop TCP (§3.3, "peer did not respond in closing
                // handshake").
                self.facts.close_handshake_timeout = true;
                self.facts.was_clean = false;
                self.abort();
                return;
            }
            Ws::Closed(t) if now >= t && self.side() == Side::Server => {
                // We closed our side at once; the client has not closed its own since. It
                // MAY keep it open a while (RFC 6455 §7.1.1), so this is no finding: drop it.
                self.abort();
                return;
            }
            Ws::Closed(t) if now >= t => {
                // The server should have closed TCP (RFC 6455 §7.1.1); we do it instead.
                if self.facts.closed_by_me {
                    self.facts.server_drop_timeout = true;
                    self.facts.was_clean = false;
                } else {
                    // RFC 6455 §5.5.1: "After both sending and receiving a Close message
                    // [...] The server MUST close the underlying TCP connection immediately".
                    self.findings
                        .push(Finding::of(FindingKind::ServerKeptTcpOpen));
                }
                self.abort();
                return;
            }
            _ => {}
        }
        if self.kill_at.is_some_and(|t| now >= t) {
            self.kill_at = None;
            match self.ws {
                Ws::Open => self.fail(now, CloseCode::GOING_AWAY, "Going Away"),
                Ws::Closing(_) | Ws::Closed(_) => self.abort(),
                Ws::Gone => {}
            }
        }
        if self.close_at.is_some_and(|t| now >= t) {
            self.close_at = None;
            self.start_close(now, Vec::new());
        }
        if self.paused_until.is_some_and(|t| now >= t) {
            self.paused_until = None;
        }
        self.block_timeout(now);
        self.advance(now);
    }

    /// Records an event; then Autobahn's auto-close: once the events equal every expected
    /// list, the harness closes with 1000.
    fn record(&mut self, now: Instant, event: Observed) {
        // A flooding peer must not grow the list (or the comparisons below) without bound;
        // past the cap the events still differ from every expected list.
        if self.observed.len() >= MAX_OBSERVED {
            return;
        }
        self.observed.push(event);
        self.timeline
            .observed_at
            .push(now.saturating_duration_since(self.started));
        if self.case.predict {
            self.predicted_close(now);
            return;
        }
        let matches_all = self.observed.len() == self.ok.len()
            && self.observed == self.ok
            && self
                .non_strict
                .as_ref()
                .is_none_or(|ns| self.observed == *ns);
        if self.case.auto_close && self.case.close.closed_by_harness && matches_all {
            self.start_close(now, CloseCode::NORMAL.0.to_be_bytes().to_vec());
        }
    }

    /// A `predict` case's auto-close: once the script is done and the events cover the
    /// expected list (as live fuzzing's judge reads it: messages in order, the pongs listed
    /// among those that came), the harness closes with 1000.
    pub(super) fn predicted_close(&mut self, now: Instant) {
        let done = self.pc >= self.case.steps.len() && matches!(self.block, Block::None);
        if done
            && self.ws == Ws::Open
            && self.case.auto_close
            && self.case.close.closed_by_harness
            && super::predict::covers(&self.observed, &self.ok)
        {
            self.start_close(now, CloseCode::NORMAL.0.to_be_bytes().to_vec());
        }
    }

    fn peer_close(&mut self, now: Instant, payload: &[u8]) {
        let code = (payload.len() >= 2).then(|| u16::from_be_bytes([payload[0], payload[1]]));
        let reason = String::from_utf8_lossy(payload.get(2..).unwrap_or_default()).into_owned();
        if self.ws == Ws::Open {
            match &self.block {
                Block::Limit { probe, .. } => {
                    self.script_verdict = Some(probe.on_close(code, false));
                    // An upward probe judges the server's close itself: finding the limit is
                    // what the case is for.
                    self.script_judged_close = probe.limit.is_none();
                    self.block = Block::None;
                }
                Block::PingFlood { tally, .. } => {
                    self.script_verdict = Some(tally.verdict_on_stop(&FloodStop::Close(code)));
                    self.script_judged_close = true;
                    self.block = Block::None;
                }
                _ => {}
            }
        }
        match self.ws {
            Ws::Open => {
                // RFC 6455 §5.5.1: "If an endpoint receives a Close frame and did not previously
                // send a Close frame, the endpoint MUST send a Close frame in response." Answer
                // 1000 without a reason (Autobahn does not echo the peer's code), then wait for
                // the server to close TCP (§7.1.1: the server closes it first).
                self.remote_close = Some((code, reason));
                self.facts.remote_closed = true;
                self.facts.remote_code = code;
                self.timeline.closing(now, self.started);
                let reply = CloseCode::NORMAL.0.to_be_bytes().to_vec();
                self.local_close = Some((Some(CloseCode::NORMAL.0), String::new()));
                let frame = RawFrame::new(OpCode::CLOSE, reply);
                let bytes = self.writer.encode(frame, Masking::BySide);
                self.write(vec![bytes], None);
                self.facts.was_clean = true;
                self.ws = Ws::Closed(now + self.timeouts.server_drop.max(self.kill_left(now)));
                self.closed_handshake();
            }
            Ws::Closing(_) => {
                self.remote_close = Some((code, reason));
                self.facts.remote_closed = true;
                self.facts.remote_code = code;
                self.facts.was_clean = true;
                self.ws = Ws::Closed(now + self.timeouts.server_drop);
                self.closed_handshake();
            }
            Ws::Closed(_) | Ws::Gone => {}
        }
    }

    /// Autobahn waits for the server to drop TCP after a peer-initiated close until the kill
    /// timer fires; the drop timeout is the floor.
    fn kill_left(&self, now: Instant) -> Duration {
        self.kill_at
            .map(|t| t.saturating_duration_since(now))
            .unwrap_or_default()
    }

    // ---------------------------------------------------------------- outputs

    /// Both closes were exchanged. RFC 6455 §7.1.1: "the server SHOULD close the underlying
    /// TCP connection" first; a harness playing the server does so at once and waits for
    /// the client to close its side (until the drop timeout).
    fn closed_handshake(&mut self) {
        if self.side() == Side::Server {
            self.actions.push_back(Action::Shutdown);
        }
    }

    fn write(&mut self, pieces: Vec<Vec<u8>>, chop: Option<usize>) {
        if self.ws != Ws::Gone && !pieces.is_empty() {
            self.actions.push_back(Action::Write { pieces, chop });
        }
    }

    /// The peer's bytes consumed so far (stream offset after the handshake): completes a
    /// limit probe's echo whose payload was being skipped.
    pub fn handle_progress(&mut self, now: Instant, consumed: u64) {
        let Some((end, len, _, seen)) = self.skipped_echo else {
            return;
        };
        if consumed < end {
            if consumed > seen
                && let Block::Limit { until, within, .. } = &mut self.block
            {
                // The echo is arriving: its deadline runs from its latest bytes.
                *until = now + Duration::from_secs_f64(within.max(0.0));
            }
            self.skipped_echo = Some((end, len, now + SKIP_POLL, consumed.max(seen)));
            return;
        }
        self.skipped_echo = None;
        if let Block::Limit { probe, within, .. } = std::mem::replace(&mut self.block, Block::None)
        {
            self.limit_echo(now, probe, within, len);
        }
    }

    /// A limit probe's echo came in fragments past the harness's buffer: its size cannot be
    /// checked. Any echo of a message over a declared limit fails; otherwise it is recorded.
    fn probe_past_buffer(&mut self, now: Instant, cap: u64) {
        self.probe_fragments_skipped = true;
        let Block::Limit { probe, .. } = std::mem::replace(&mut self.block, Block::None) else {
            return;
        };
        self.script_verdict = Some(match probe.limit {
            Some(limit) if !probe.at_limit => (
                Behavior::Failed,
                format!(
                    "echoed (in fragments) a message of {} bytes, over its {limit}-byte limit (expected close 1009, §7.4.1, §10.4)",
                    probe.size
                ),
            ),
            _ => (
                Behavior::Informational,
                format!(
                    "the echo of {} bytes came in fragments past the harness's {cap}-byte buffer: its size was not checked",
                    probe.size
                ),
            ),
        });
        self.start_close(now, CloseCode::NORMAL.0.to_be_bytes().to_vec());
    }

    /// Remembers a ping sent, for the pong that answers it (at most [`MAX_PINGS`] kept).
    pub(super) fn ping_sent(&mut self, payload: &[u8]) {
        if self.pings.len() < MAX_PINGS {
            self.pings.push(payload.to_vec());
        } else {
            self.pings_overflowed = true;
        }
    }

    /// Whether a pong answers a ping sent (and not answered yet); past [`MAX_PINGS`] every
    /// pong counts as an answer.
    fn solicited(&mut self, payload: &[u8]) -> bool {
        match self.pings.iter().position(|p| p == payload) {
            Some(i) => {
                self.pings.remove(i);
                true
            }
            None => self.pings_overflowed,
        }
    }

    /// The limit probe in flight sends compressed messages (its cap is on the inflated size,
    /// and a message over it is the server's doing).
    fn limit_compressed(&self) -> bool {
        matches!(&self.block, Block::Limit { probe, .. } if probe.compressed)
    }

    fn write_repeated(&mut self, head: Vec<u8>, chunk: Vec<u8>, len: usize) {
        if self.ws != Ws::Gone && !chunk.is_empty() {
            self.actions
                .push_back(Action::WriteRepeated { head, chunk, len });
        }
    }

    fn write_mode(&mut self, frames: Vec<Vec<u8>>, mode: WriteMode) {
        match mode {
            WriteMode::Plain => self.write(vec![frames.concat()], None),
            WriteMode::Sync => self.write(frames, None),
            WriteMode::Chop(n) => self.write(frames, Some(n)),
        }
    }

    fn send_message(&mut self, opcode: OpCode, payload: Vec<u8>) {
        let bytes = self
            .writer
            .encode(RawFrame::new(opcode, payload), Masking::BySide);
        self.write(vec![bytes], None);
    }

    fn note_local_close(&mut self, now: Instant, payload: &[u8]) {
        let code = (payload.len() >= 2).then(|| u16::from_be_bytes([payload[0], payload[1]]));
        let reason = String::from_utf8_lossy(payload.get(2..).unwrap_or_default()).into_owned();
        self.local_close = Some((code, reason));
        self.facts.closed_by_me = true;
        self.timeline.closing(now, self.started);
        self.ws = Ws::Closing(now + self.timeouts.close_handshake);
    }

    /// Starts the closing handshake with `payload`, if the connection is open.
    fn start_close(&mut self, now: Instant, payload: Vec<u8>) {
        if self.ws != Ws::Open {
            return;
        }
        self.note_local_close(now, &payload);
        let frame = RawFrame::new(OpCode::CLOSE, payload);
        let bytes = self.writer.encode(frame, Masking::BySide);
        self.write(vec![bytes], None);
    }

    /// Fails the connection (RFC 6455 §7.1.7): a close with `code`, as the harness's own.
    fn fail(&mut self, now: Instant, code: CloseCode, reason: &str) {
        if self.ws != Ws::Open {
            return;
        }
        self.facts.failed_by_me = true;
        // A close reason must fit a control frame: 123 bytes after the code.
        let mut reason = reason.to_owned();
        while reason.len() > 123 {
            reason.pop();
        }
        let mut payload = code.0.to_be_bytes().to_vec();
        payload.extend_from_slice(reason.as_bytes());
        self.start_close(now, payload);
    }

    fn abort(&mut self) {
        if self.ws == Ws::Gone {
            return;
        }
        self.facts.dropped_by_me = true;
        self.actions.push_back(Action::Abort);
        self.ws = Ws::Gone;
    }
}

fn kind(opcode: OpCode) -> &'static str {
    match opcode {
        OpCode::TEXT => "text",
        OpCode::BINARY => "binary",
        _ => "non-data",
    }
}

/// Payload helper for tests and steps.
pub fn payload_bytes(p: &Payload) -> Vec<u8> {
    p.bytes().unwrap_or_default()
}

mod script;
#[cfg(test)]
mod tests;
