//! The session state machine, for either side. See the module docs for the call order.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use super::event::{Closure, Direction, EventKind, EventLog};
use super::reader::{Inbound, Reader};
use super::sent::SentFrames;
use super::writer::{Masking, Writer};
use crate::Side;
use crate::handshake::server::{RequestError, RequestHead, RequestLimits, parse_request};
use crate::handshake::{
    Negotiated, Offer, Request, Response, ResponseError, ResponseLimits, ResponseProblem,
    check_response, parse_response,
};
use crate::message::{Extension, Message, MessageConfig};
use crate::wire::{DecoderConfig, Frame, RawFrame, Violation, ViolationKind};

/// Settings of a session.
#[derive(Debug, Clone)]
pub struct SessionConfig {
    /// How long the opening handshake may take, from the session's start (Autobahn: 5 s).
    pub handshake_timeout: Duration,
    /// Limits on the response head (client side).
    pub response_limits: ResponseLimits,
    /// Limits on the request head (server side).
    pub request_limits: RequestLimits,
    /// The decoder's settings (its side is the session's).
    pub decoder: DecoderConfig,
    /// The message layer's settings.
    pub messages: MessageConfig,
}

impl Default for SessionConfig {
    fn default() -> Self {
        Self {
            handshake_timeout: Duration::from_secs(5),
            response_limits: ResponseLimits::default(),
            request_limits: RequestLimits::default(),
            decoder: DecoderConfig::default(),
            messages: MessageConfig::default(),
        }
    }
}

/// Where the session is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionState {
    /// The opening handshake is under way (a client waits for the 101; a server for the
    /// request, then for its user to answer it).
    Handshaking,
    /// The handshake succeeded; frames flow.
    Open,
    /// The handshake failed, or the transport ended.
    Done,
}

/// Why the opening handshake did not complete.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HandshakeFailure {
    /// No complete response (or request) within the handshake timeout.
    #[error("no handshake response within {0:?}")]
    Timeout(Duration),
    /// The response could not be read.
    #[error("unreadable handshake response: {0}")]
    Unreadable(ResponseError),
    /// The request could not be read (server side); the error response is queued.
    #[error("unreadable handshake request: {0}")]
    BadRequest(RequestError),
    /// The response breaks §4.1 (including a status other than 101).
    #[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    Rejected(Vec<ResponseProblem>),
    /// The server refused the request (server side: its user answered with an error).
    #[error("the request was refused")]
    Refused,
    /// The transport ended before a complete response.
    #[error("connection closed during the handshake: {0}")]
    Closed(Closure),
}

impl HandshakeFailure {
    /// The status code, when the server answered with something other than 101.
    pub fn status(&self) -> Option<u16> {
        match self {
            HandshakeFailure::Rejected(problems) => problems.iter().find_map(|p| match p {
                ResponseProblem::NotSwitchingProtocols { status, .. } => Some(*status),
                _ => None,
            }),
            _ => None,
        }
    }
}

/// What the session tells its user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionEvent {
    /// Client side: the handshake completed.
    Open {
        /// The response head.
        response: Response,
        /// What was agreed.
        negotiated: Negotiated,
    },
    /// Server side: a complete request head; answer it with [`Session::accept`] or
    /// [`Session::refuse`].
    Request(RequestHead),
    /// The handshake failed; the session is done.
    HandshakeFailed(HandshakeFailure),
    /// A control frame from the peer (ping, pong, close), where it arrived.
    Control(Frame),
    /// A complete data message from the peer.
    Message(Message),
    /// A rule the peer broke.
    Violation(Violation),
    /// The transport ended.
    Closed(Closure),
}

/// The side-specific half of the opening handshake.
#[derive(Debug)]
enum Opening {
    /// Client: the offer to check the response against.
    Client { offer: Offer },
    /// Server: whether the request was read and waits for an answer.
    Server { answered: bool },
}

/// A WebSocket session, sans-IO, for either [`Side`].
#[derive(Debug)]
pub struct Session {
    start: Instant,
    config: SessionConfig,
    state: SessionState,
    opening: Opening,
    /// The handshake bytes received so far (then the bytes after the head, server side,
    /// until the request is answered).
    head: Vec<u8>,
    /// The response head, once complete (client side).
    response: Option<Response>,
    /// The request head, once complete (server side).
    request: Option<RequestHead>,
    reader: Reader,
    writer: Writer,
    /// Follows what we send, for the trace only.
    sent: SentFrames,
    /// Bytes of the handshake still to be written (they are not frames).
    preamble_left: usize,
    transmit: VecDeque<Vec<u8>>,
    events: VecDeque<SessionEvent>,
    log: EventLog,
    /// Response problems taken as harmless (client side; a peer that breaks §4.1 on purpose).
    excused_response: Option<fn(&ResponseProblem) -> bool>,
}

impl Session {
    fn new(side: Side, opening: Opening, config: SessionConfig, now: Instant) -> Self {
        let mut decoder_config = config.decoder.clone();
        decoder_config.side = side;
        Self {
            start: now,
            reader: Reader::new(decoder_config, config.messages),
            writer: Writer::new(side),
            sent: SentFrames::default(),
            preamble_left: 0,
            config,
            state: SessionState::Handshaking,
            opening,
            head: Vec::new(),
            response: None,
            request: None,
            transmit: VecDeque::new(),
            events: VecDeque::new(),
            log: EventLog::default(),
            excused_response: None,
        }
    }

    /// A client session that will send `request`, started at `now`.
    pub fn client(request: &Request, offer: Offer, config: SessionConfig, now: Instant) -> Self {
        let mut session = Self::new(Side::Client, Opening::Client { offer }, config, now);
        session.send_preamble(request.to_bytes());
        session
    }

    /// A client session that will send the standard `request` and checks the 101 against
    /// what it offered (its accept key, [`Session::offer_for`]).
    pub fn client_for(request: &Request, config: SessionConfig, now: Instant) -> Self {
        Self::client(request, Self::offer_for(request), config, now)
    }

    /// A server session waiting for a request, started at `now`.
    pub fn server(config: SessionConfig, now: Instant) -> Self {
        Self::new(
            Side::Server,
            Opening::Server { answered: false },
            config,
            now,
        )
    }

    /// An offer that checks only the accept key of `request`.
    pub fn offer_for(request: &Request) -> Offer {
        Offer {
            accept: request.expected_accept(),
            ..Offer::default()
        }
    }

    /// The side.
    pub fn side(&self) -> Side {
        self.writer.side()
    }

    /// The state.
    pub fn state(&self) -> SessionState {
        self.state
    }

    /// The handshake response head, once one was read (whatever its status; client side).
    pub fn response(&self) -> Option<&Response> {
        self.response.as_ref()
    }

    /// The handshake request head, once one was read (server side).
    pub fn request(&self) -> Option<&RequestHead> {
        self.request.as_ref()
    }

    /// The log so far.
    pub fn log(&self) -> &EventLog {
        &self.log
    }

    /// Consumes the session, keeping the log.
    pub fn into_log(self) -> EventLog {
        self.log
    }

    /// Time since the start.
    pub fn elapsed(&self, now: Instant) -> Duration {
        now.saturating_duration_since(self.start)
    }

    /// Events waiting for [`Session::poll_event`] (a caller that reads ahead, while it
    /// writes, stops at a bound).
    pub fn pending_events(&self) -> usize {
        self.events.len()
    }

    /// The peer's bytes read past the handshake so far (decoded, or skipped over a cap).
    pub fn consumed(&self) -> u64 {
        self.reader.consumed()
    }

    /// Whether the peer's fragmented data message is under way: its first frame was read,
    /// its last not yet (RFC 6455 §5.4: control frames may come in between).
    pub fn in_message(&self) -> bool {
        self.reader.in_message()
    }

    /// Changes the handshake timeout (counted from the session's start), for a request that
    /// takes its time to send.
    pub fn set_handshake_timeout(&mut self, timeout: Duration) {
        self.config.handshake_timeout = timeout;
    }

    /// Makes the violations `excused` accepts harmless: still reported, but their frame is
    /// delivered (see [`Reader::excuse`]; for peers that break a rule on purpose).
    pub fn excuse(&mut self, excused: fn(&ViolationKind) -> bool) {
        self.reader.excuse(excused);
    }

    /// Client side: a response whose every §4.1 problem `excused` accepts opens the
    /// connection as if it were valid (nothing negotiated), for peers that skip a check on
    /// purpose (the reference client's faults).
    pub fn excuse_response(&mut self, excused: fn(&ResponseProblem) -> bool) {
        self.excused_response = Some(excused);
    }

    /// Puts a negotiated extension (permessage-deflate) behind the message layer: the
    /// decoder then allows its RSV bits on first frames, and messages are decoded by it.
    pub fn set_extension(&mut self, extension: Box<dyn Extension>) {
        self.reader.set_extension(extension);
    }

    /// Queues a frame to send, masked as the side requires (or as `masking` overrides).
    pub fn send(&mut self, frame: RawFrame, masking: Masking) {
        let bytes = self.writer.encode(frame, masking);
        self.transmit.push_back(bytes);
    }

    /// Queues raw bytes to send.
    pub fn send_raw(&mut self, bytes: Vec<u8>) {
        self.transmit.push_back(bytes);
    }

    /// Server side: answers the request with `response` (a 101) and opens the session;
    /// frames that came behind the request are read now.
    pub fn accept(&mut self, now: Instant, response: Vec<u8>) {
        if !self.awaits_answer() {
            return;
        }
        self.opening = Opening::Server { answered: true };
        self.send_preamble(response);
        self.state = SessionState::Open;
        let rest = std::mem::take(&mut self.head);
        let at = self.elapsed(now);
        self.decode(at, &rest);
    }

    /// Server side: answers the request with `response` (an HTTP error); the session is
    /// done once it is written, and the caller closes the transport.
    pub fn refuse(&mut self, response: Vec<u8>) {
        if !self.awaits_answer() {
            return;
        }
        self.opening = Opening::Server { answered: true };
        self.send_preamble(response);
        self.head.clear();
        self.fail(HandshakeFailure::Refused);
    }

    fn awaits_answer(&self) -> bool {
        matches!(self.opening, Opening::Server { answered: false })
            && self.request.is_some()
            && self.state == SessionState::Handshaking
    }

    fn send_preamble(&mut self, bytes: Vec<u8>) {
        self.preamble_left += bytes.len();
        self.transmit.push_back(bytes);
    }

    /// The next bytes to write.
    pub fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        self.transmit.pop_front()
    }

    /// Records bytes the driver wrote at `now`.
    pub fn on_sent(&mut self, now: Instant, bytes: &[u8]) {
        let at = self.elapsed(now);
        self.log.bytes(at, Direction::Sent, bytes);
        let skip = self.preamble_left.min(bytes.len());
        self.preamble_left -= skip;
        for frame in self.sent.feed(&bytes[skip..]) {
            self.log.push(
                at,
                EventKind::Frame {
                    direction: Direction::Sent,
                    frame,
                },
            );
        }
    }

    /// Adds a note to the log.
    pub fn note(&mut self, now: Instant, text: impl Into<String>) {
        let at = self.elapsed(now);
        self.log.push(at, EventKind::Note(text.into()));
    }

    /// The instant at which [`Session::handle_timeout`] must be called, if any.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let waiting = self.state == SessionState::Handshaking
            && !matches!(self.opening, Opening::Server { .. } if self.request.is_some());
        waiting.then(|| self.start + self.config.handshake_timeout)
    }

    /// Handles the passing of the deadline from [`Session::poll_timeout`].
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.poll_timeout().is_some_and(|t| now >= t) {
            let failure = HandshakeFailure::Timeout(self.config.handshake_timeout);
            self.note(now, failure.to_string());
            self.fail(failure);
        }
    }

    /// Handles bytes read at `now`.
    pub fn handle_input(&mut self, now: Instant, data: &[u8]) {
        let at = self.elapsed(now);
        self.log.bytes(at, Direction::Received, data);
        match (self.state, &self.opening) {
            (SessionState::Handshaking, Opening::Client { .. }) => self.read_response(at, data),
            (SessionState::Handshaking, Opening::Server { .. }) => self.read_request(at, data),
            (SessionState::Open, _) => self.decode(at, data),
            (SessionState::Done, _) => {}
        }
    }

    fn read_response(&mut self, at: Duration, data: &[u8]) {
        self.head.extend_from_slice(data);
        match parse_response(&self.head, self.config.response_limits) {
            Ok(None) => {}
            Ok(Some((response, len))) => {
                self.log
                    .push(at, EventKind::HandshakeResponse(response.clone()));
                self.response = Some(response.clone());
                let Opening::Client { offer } = &self.opening else {
                    return;
                };
                let checked = match (check_response(&response, offer), self.excused_response) {
                    (Err(problems), Some(excused))
                        if response.status == 101 && problems.iter().all(excused) =>
                    {
                        Ok(Negotiated::default())
                    }
                    (checked, _) => checked,
                };
                match checked {
                    Ok(negotiated) => {
                        self.state = SessionState::Open;
                        self.events.push_back(SessionEvent::Open {
                            response,
                            negotiated,
                        });
                        let rest = self.head.split_off(len);
                        self.head = Vec::new();
                        self.decode(at, &rest);
                    }
                    Err(problems) => self.fail(HandshakeFailure::Rejected(problems)),
                }
            }
            Err(e) => self.fail(HandshakeFailure::Unreadable(e)),
        }
    }

    fn read_request(&mut self, at: Duration, data: &[u8]) {
        if self.request.is_some() {
            // Read, not answered yet: what follows waits for the answer, up to a bound (a
            // client that floods before the 101 is refused, RFC 6585 §5).
            if self.head.len() + data.len() > self.config.request_limits.max_bytes {
                let e = RequestError::TooLarge(self.config.request_limits.max_bytes);
                self.head.clear();
                self.fail(HandshakeFailure::BadRequest(e));
            } else {
                self.head.extend_from_slice(data);
            }
            return;
        }
        self.head.extend_from_slice(data);
        match parse_request(&self.head, self.config.request_limits) {
            Ok(None) => {}
            Ok(Some((request, len))) => {
                self.log
                    .push(at, EventKind::HandshakeRequest(request.clone()));
                self.request = Some(request.clone());
                self.head.drain(..len);
                self.events.push_back(SessionEvent::Request(request));
            }
            Err(e) => {
                // RFC 6455 §4.2.1: a request that does not match "MUST" get "an HTTP
                // response with an appropriate error code (such as 400 Bad Request)"; one
                // that cannot be read is answered here (431 for one too large, RFC 6585 §5).
                self.send_preamble(e.refusal().response());
                self.head.clear();
                self.fail(HandshakeFailure::BadRequest(e));
            }
        }
    }

    /// Handles the end of the transport at `now`.
    pub fn handle_closed(&mut self, now: Instant, closure: Closure) {
        let at = self.elapsed(now);
        match self.state {
            SessionState::Handshaking => {
                self.fail(HandshakeFailure::Closed(closure));
            }
            SessionState::Open => {
                self.reader.finish();
                self.drain_reader(at);
                self.state = SessionState::Done;
            }
            SessionState::Done => {}
        }
        self.log.push(at, EventKind::Closed(closure));
        self.events.push_back(SessionEvent::Closed(closure));
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<SessionEvent> {
        self.events.pop_front()
    }

    fn fail(&mut self, failure: HandshakeFailure) {
        self.state = SessionState::Done;
        self.events
            .push_back(SessionEvent::HandshakeFailed(failure));
    }

    fn decode(&mut self, at: Duration, data: &[u8]) {
        self.reader.feed(data);
        self.drain_reader(at);
    }

    fn drain_reader(&mut self, at: Duration) {
        while let Some(inbound) = self.reader.poll() {
            match inbound {
                Inbound::Frame(frame) => self.log.push(
                    at,
                    EventKind::Frame {
                        direction: Direction::Received,
                        frame,
                    },
                ),
                Inbound::Violation(v) => {
                    self.log.push(at, EventKind::Violation(v.clone()));
                    self.events.push_back(SessionEvent::Violation(v));
                }
                Inbound::Control(frame) => self.events.push_back(SessionEvent::Control(frame)),
                Inbound::Message(message) => self.events.push_back(SessionEvent::Message(message)),
            }
        }
    }
}

#[cfg(test)]
mod tests;
