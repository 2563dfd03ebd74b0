//! The reference client: a strict RFC 6455 echo client built on proto's client [`Session`],
//! in the shape of the client drivers that run Autobahn's fuzzingserver (it echoes every
//! message), with switchable faults. Sans-IO, like the reference server.
//!
//! Without faults it is what every client case expects: it checks the 101 by §4.1 and fails
//! the connection (closes TCP) on any problem; it masks every frame with a fresh key from its
//! own seeded generator (§5.3); it fails the connection with 1002 (1007 for bad UTF-8) on
//! every violation the session reports, a masked frame from the server included (§5.1);
//! it answers pings, echoes messages, answers a close with the same code, and then waits for
//! the server to close TCP (§7.1.1), closing it itself only after [`CLOSE_LINGER`].

use std::time::{Duration, Instant};

use crate::handshake::{Request, ResponseProblem};
use crate::message::Message;
use crate::session::{Closure, Masking, Session, SessionConfig, SessionEvent};
use crate::wire::{CloseCode, Frame, OpCode, RawFrame, ViolationKind, parse_close_payload};

/// The faults that can be switched on; each breaks one rule.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ClientFaults {
    /// Accept any `Sec-WebSocket-Accept` (§4.1 item 4: the client MUST fail the connection).
    pub accept_wrong_accept: bool,
    /// Accept an extension the client did not offer (§4.1 item 5).
    pub accept_unoffered_extension: bool,
    /// Send empty control frames (a pong to an empty ping, an empty close) unmasked (§5.1:
    /// every frame is masked).
    pub unmasked_empty_control: bool,
    /// Mask every frame with one fixed key (§5.3: a fresh key for each frame).
    pub fixed_mask_key: bool,
    /// Take masked frames from the server as if they were not (§5.1: the client MUST close
    /// the connection).
    pub accept_masked_frames: bool,
    /// Never answer a close (§5.5.1: the endpoint MUST send a Close frame in response).
    pub no_close_reply: bool,
}

/// How long the client waits for the server to close TCP after the closing handshake.
pub const CLOSE_LINGER: Duration = Duration::from_secs(2);

/// The key of the `fixed_mask_key` fault.
const FIXED_KEY: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

/// The reference client on one connection. See the module docs.
#[derive(Debug)]
pub struct ReferenceClient {
    session: Session,
    faults: ClientFaults,
    rng: fastrand::Rng,
    /// It closes TCP at this instant (after a close exchange, or at once on a failure).
    close_at: Option<Instant>,
    /// Our close went out (a reply or our own).
    closing: bool,
    /// The server's close came.
    close_received: bool,
}

impl ReferenceClient {
    /// A client that sends its request for `resource` at `now`, with masking keys from `seed`.
    pub fn new(faults: ClientFaults, resource: &str, seed: u64, now: Instant) -> Self {
        let request = Request::new("reference.invalid", resource);
        let mut session = Session::client_for(&request, SessionConfig::default(), now);
        match (
            faults.accept_wrong_accept,
            faults.accept_unoffered_extension,
        ) {
            (true, true) => session.excuse_response(|p| {
                matches!(
                    p,
                    ResponseProblem::BadAccept { .. } | ResponseProblem::ExtensionNotOffered(_)
                )
            }),
            (true, false) => {
                session.excuse_response(|p| matches!(p, ResponseProblem::BadAccept { .. }))
            }
            (false, true) => {
                session.excuse_response(|p| matches!(p, ResponseProblem::ExtensionNotOffered(_)))
            }
            (false, false) => {}
        }
        if faults.accept_masked_frames {
            session.excuse(|kind| *kind == ViolationKind::MaskedFrameFromServer);
        }
        Self {
            session,
            faults,
            rng: fastrand::Rng::with_seed(seed),
            close_at: None,
            closing: false,
            close_received: false,
        }
    }

    /// The session under it.
    pub fn session(&self) -> &Session {
        &self.session
    }

    /// Bytes read at `now`.
    pub fn handle_input(&mut self, now: Instant, data: &[u8]) {
        self.session.handle_input(now, data);
        self.process(now);
    }

    /// The transport ended at `now`.
    pub fn handle_closed(&mut self, now: Instant, closure: Closure) {
        self.session.handle_closed(now, closure);
        self.process(now);
    }

    /// When [`ReferenceClient::handle_timeout`] must be called.
    pub fn poll_timeout(&self) -> Option<Instant> {
        [self.session.poll_timeout(), self.close_at]
            .into_iter()
            .flatten()
            .min()
    }

    /// Time passed.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.session.handle_timeout(now);
        self.process(now);
    }

    /// The next bytes to write.
    pub fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        self.session.poll_transmit()
    }

    /// Records bytes the transport wrote.
    pub fn on_sent(&mut self, now: Instant, bytes: &[u8]) {
        self.session.on_sent(now, bytes);
    }

    /// Whether the client closes TCP now (everything queued is written first).
    pub fn wants_close(&self, now: Instant) -> bool {
        self.close_at.is_some_and(|t| now >= t)
    }

    fn process(&mut self, now: Instant) {
        while let Some(event) = self.session.poll_event() {
            match event {
                // §4.1: a response that fails a check fails the connection: TCP closes.
                SessionEvent::HandshakeFailed(_) => self.close_at = Some(now),
                // An excused violation is still reported: its frame comes as usual.
                SessionEvent::Violation(v)
                    if self.faults.accept_masked_frames
                        && v.kind == ViolationKind::MaskedFrameFromServer => {}
                SessionEvent::Violation(v) if v.frame.is_some() => {
                    self.fail(now, v.kind.close_code());
                }
                SessionEvent::Message(message) => self.echo(message),
                SessionEvent::Control(frame) => self.control(now, frame),
                SessionEvent::Closed(_) => self.close_at = Some(now),
                _ => {}
            }
        }
    }

    fn send(&mut self, frame: RawFrame) {
        let empty_control = frame.opcode.is_control() && frame.payload.is_empty();
        let masking = if self.faults.unmasked_empty_control && empty_control {
            Masking::Unmasked
        } else if self.faults.fixed_mask_key {
            Masking::Key(FIXED_KEY)
        } else {
            Masking::Key(self.rng.u32(..).to_be_bytes())
        };
        self.session.send(frame, masking);
    }

    fn echo(&mut self, message: Message) {
        // Nothing after a close, sent or received (§5.5.1).
        if !self.closing && !self.close_received {
            self.send(RawFrame::new(message.opcode, message.payload));
        }
    }

    fn control(&mut self, now: Instant, frame: Frame) {
        match frame.opcode() {
            OpCode::PING if !self.closing => self.send(RawFrame::pong(frame.raw.payload)),
            OpCode::CLOSE => {
                self.close_received = true;
                if self.closing {
                    // The reply to our close: the server closes TCP next.
                    self.close_at = Some(now + CLOSE_LINGER);
                    return;
                }
                if self.faults.no_close_reply {
                    return;
                }
                let reply = match parse_close_payload(&frame.raw.payload) {
                    Ok(p) => p
                        .code
                        .map(|c| c.0.to_be_bytes().to_vec())
                        .unwrap_or_default(),
                    Err(_) => CloseCode::PROTOCOL_ERROR.0.to_be_bytes().to_vec(),
                };
                self.send(RawFrame::new(OpCode::CLOSE, reply));
                self.closing = true;
                self.close_at = Some(now + CLOSE_LINGER);
            }
            _ => {}
        }
    }

    /// §7.1.7: fail the connection with `code`, then wait (bounded) for the server's close.
    fn fail(&mut self, now: Instant, code: CloseCode) {
        if self.closing {
            self.close_at = Some(now);
            return;
        }
        self.send(RawFrame::close(code, ""));
        self.closing = true;
        self.close_at = Some(now + CLOSE_LINGER);
    }
}
