//! The client session state machine. See the module docs for the call order.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use super::event::{Closure, Direction, EventKind, EventLog};
use super::reader::{Inbound, Reader};
use super::sent::SentFrames;
use crate::handshake::{
    Negotiated, Offer, Request, Response, ResponseError, ResponseLimits, ResponseProblem,
    check_response, parse_response,
};
use crate::message::{Message, MessageConfig};
use crate::wire::{DecoderConfig, Frame, RawFrame, Side, Violation};

/// Settings of a session.
#[derive(Debug, Clone)]
pub struct SessionConfig {
    /// How long the opening handshake may take, from the session's start (Autobahn: 5 s).
    pub handshake_timeout: Duration,
    /// Limits on the response head.
    pub response_limits: ResponseLimits,
    /// The decoder's settings (the role is forced to client).
    pub decoder: DecoderConfig,
    /// The message layer's settings.
    pub messages: MessageConfig,
}

impl Default for SessionConfig {
    fn default() -> Self {
        Self {
            handshake_timeout: Duration::from_secs(5),
            response_limits: ResponseLimits::default(),
            decoder: DecoderConfig::default(),
            messages: MessageConfig::default(),
        }
    }
}

/// Where the session is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionState {
    /// Waiting for the 101.
    Handshaking,
    /// The handshake succeeded; frames flow.
    Open,
    /// The handshake failed, or the transport ended.
    Done,
}

/// Why the opening handshake did not complete.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HandshakeFailure {
    /// No complete response within the handshake timeout.
    #[error("no handshake response within {0:?}")]
    Timeout(Duration),
    /// The response could not be read.
    #[error("unreadable handshake response: {0}")]
    Unreadable(ResponseError),
    /// The response breaks §4.1 (including a status other than 101).
    #[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    Rejected(Vec<ResponseProblem>),
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
    /// The handshake completed.
    Open {
        /// The response head.
        response: Response,
        /// What was agreed.
        negotiated: Negotiated,
    },
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

/// A client-side WebSocket session, sans-IO.
#[derive(Debug)]
pub struct ClientSession {
    start: Instant,
    config: SessionConfig,
    state: SessionState,
    offer: Offer,
    head: Vec<u8>,
    /// The response head, once complete.
    response: Option<Response>,
    reader: Reader,
    /// Follows what we send, for the trace only.
    sent: SentFrames,
    /// Bytes of the request still to be written (they are not frames).
    request_left: usize,
    transmit: VecDeque<Vec<u8>>,
    events: VecDeque<SessionEvent>,
    log: EventLog,
}

impl ClientSession {
    /// A session that will send `request`, started at `now`.
    pub fn new(request: &Request, offer: Offer, config: SessionConfig, now: Instant) -> Self {
        let mut decoder_config = config.decoder.clone();
        decoder_config.side = Side::Client;
        let mut transmit = VecDeque::new();
        let request = request.to_bytes();
        let request_left = request.len();
        transmit.push_back(request);
        Self {
            start: now,
            reader: Reader::new(decoder_config, config.messages),
            sent: SentFrames::default(),
            request_left,
            config,
            state: SessionState::Handshaking,
            offer,
            head: Vec::new(),
            response: None,
            transmit,
            events: VecDeque::new(),
            log: EventLog::default(),
        }
    }

    /// An offer that checks only the accept key of `request`.
    pub fn offer_for(request: &Request) -> Offer {
        Offer {
            accept: request.expected_accept(),
            ..Offer::default()
        }
    }

    /// The state.
    pub fn state(&self) -> SessionState {
        self.state
    }

    /// The handshake response head, once one was read (whatever its status).
    pub fn response(&self) -> Option<&Response> {
        self.response.as_ref()
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

    /// Changes the handshake timeout (counted from the session's start), for a request that
    /// takes its time to send.
    pub fn set_handshake_timeout(&mut self, timeout: Duration) {
        self.config.handshake_timeout = timeout;
    }

    /// Queues a frame to send.
    pub fn send_frame(&mut self, frame: &RawFrame) {
        self.transmit.push_back(frame.to_bytes());
    }

    /// Queues raw bytes to send.
    pub fn send_raw(&mut self, bytes: Vec<u8>) {
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
        let skip = self.request_left.min(bytes.len());
        self.request_left -= skip;
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

    /// The instant at which [`ClientSession::handle_timeout`] must be called, if any.
    pub fn poll_timeout(&self) -> Option<Instant> {
        (self.state == SessionState::Handshaking)
            .then(|| self.start + self.config.handshake_timeout)
    }

    /// Handles the passing of the deadline from [`ClientSession::poll_timeout`].
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
        match self.state {
            SessionState::Handshaking => {
                self.head.extend_from_slice(data);
                match parse_response(&self.head, self.config.response_limits) {
                    Ok(None) => {}
                    Ok(Some((response, len))) => {
                        self.log
                            .push(at, EventKind::HandshakeResponse(response.clone()));
                        self.response = Some(response.clone());
                        match check_response(&response, &self.offer) {
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
            SessionState::Open => self.decode(at, data),
            SessionState::Done => {}
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
mod tests {
    use super::*;
    use crate::handshake::accept_key;
    use crate::wire::OpCode;

    /// A session for `host` with the default settings, started now.
    fn start(host: &str) -> (Instant, Request, ClientSession) {
        let t0 = Instant::now();
        let request = Request::new(host, "/");
        let session = ClientSession::new(
            &request,
            ClientSession::offer_for(&request),
            SessionConfig::default(),
            t0,
        );
        (t0, request, session)
    }

    fn response_for(request: &Request) -> Vec<u8> {
        let key = request.header("Sec-WebSocket-Key").expect("key");
        format!(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {}\r\n\r\n",
            accept_key(key)
        )
        .into_bytes()
    }

    #[test]
    fn handshake_then_frames_in_the_same_read_on_a_simulated_clock() {
        let (t0, request, mut s) = start("localhost:1");
        let sent = s.poll_transmit().expect("request");
        assert_eq!(sent, request.to_bytes());
        s.on_sent(t0, &sent);
        let mut input = response_for(&request);
        input.extend(RawFrame::text("hi").to_bytes());
        // Split the input anywhere: the session must not care.
        let (a, b) = input.split_at(17);
        s.handle_input(t0 + Duration::from_millis(1), a);
        assert_eq!(s.poll_event(), None);
        s.handle_input(t0 + Duration::from_millis(2), b);
        assert!(matches!(s.poll_event(), Some(SessionEvent::Open { .. })));
        match s.poll_event() {
            Some(SessionEvent::Message(m)) => {
                assert_eq!((m.opcode, &m.payload[..]), (OpCode::TEXT, &b"hi"[..]))
            }
            other => panic!("expected a message, got {other:?}"),
        }
        s.handle_closed(
            t0 + Duration::from_millis(3),
            Closure::PeerFin {
                tls_close_notify: None,
            },
        );
        assert_eq!(
            s.poll_event(),
            Some(SessionEvent::Closed(Closure::PeerFin {
                tls_close_notify: None
            }))
        );
        assert_eq!(s.state(), SessionState::Done);
        assert_eq!(s.log().events()[0].at, Duration::ZERO);
    }

    #[test]
    fn received_frames_longer_than_their_shown_head_carry_a_digest() {
        let (t0, request, mut s) = start("h");
        let mut input = response_for(&request);
        let long = vec![b'*'; 5000];
        input.extend(RawFrame::binary(long.clone()).to_bytes());
        input.extend(RawFrame::text("short").to_bytes());
        s.handle_input(t0, &input);
        let frames: Vec<&crate::session::FrameRecord> = s
            .log()
            .events()
            .iter()
            .filter_map(|e| match &e.kind {
                EventKind::Frame { frame, .. } => Some(frame),
                _ => None,
            })
            .collect();
        assert_eq!(frames[0].digest, Some(xxhash_rust::xxh3::xxh3_64(&long)));
        assert_eq!(frames[0].head.len(), crate::session::TRACE_BYTES);
        assert_eq!(frames[1].digest, None, "a short payload is shown whole");
    }

    #[test]
    fn handshake_timeout_fires_only_after_the_deadline() {
        let (t0, _, mut s) = start("h");
        let deadline = s.poll_timeout().expect("deadline");
        assert_eq!(deadline, t0 + Duration::from_secs(5));
        s.handle_timeout(t0 + Duration::from_secs(4));
        assert_eq!(s.poll_event(), None);
        s.handle_timeout(deadline);
        assert!(matches!(
            s.poll_event(),
            Some(SessionEvent::HandshakeFailed(HandshakeFailure::Timeout(_)))
        ));
        assert_eq!(s.poll_timeout(), None);
    }

    #[test]
    fn non_101_reports_the_status() {
        let (t0, _, mut s) = start("h");
        s.handle_input(t0, b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
        match s.poll_event() {
            Some(SessionEvent::HandshakeFailed(f)) => assert_eq!(f.status(), Some(404)),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_flood_of_header_bytes_is_bounded() {
        let (t0, _, mut s) = start("h");
        s.handle_input(t0, b"HTTP/1.1 101 OK\r\n");
        let chunk = [b'a'; 4096];
        for _ in 0..8 {
            s.handle_input(t0, &chunk);
        }
        assert!(matches!(
            s.poll_event(),
            Some(SessionEvent::HandshakeFailed(HandshakeFailure::Unreadable(
                ResponseError::TooLarge { .. }
            )))
        ));
        assert_eq!(s.state(), SessionState::Done);
    }
}
