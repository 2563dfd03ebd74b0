//! The reference peer: a strict RFC 6455 echo server built on proto's server [`Session`],
//! with switchable faults. Sans-IO: the caller moves bytes and time, as for any session.
//!
//! Without faults it is what every case in the library expects of a server: a strict
//! §4.2.1/§4.2.2 handshake (serving `/`, the subprotocol `chat`, refusing the origin
//! `http://forbidden.example`, accepting the first valid permessage-deflate offer as it asks),
//! failing the connection on every violation the session reports (1002, 1007 for bad UTF-8
//! or corrupt deflate data, 1009 for a message over 64 MiB, inflated or not), answering pings,
//! echoing messages, answering a close with the same code and then closing TCP first
//! (§7.1.1). Each fault breaks one rule, so that a test can check that exactly the cases
//! enforcing that rule fail. It is the test double of the harness, and the model a live
//! fuzzer compares real servers with.

use std::time::{Duration, Instant};

use crate::Side;
use crate::deflate::{DeflateConfig, Deflater, PerMessageDeflate};
use crate::handshake::parse_extensions;
use crate::handshake::pmd::{self, DeflateParams};
use crate::handshake::server::{
    Accepted, Refusal, RequestHead, RequestProblem, ServerConfig, check_request,
};
use crate::message::{Extension, ExtensionError, Message, MessageConfig};
use crate::session::{Closure, Masking, Session, SessionConfig, SessionEvent};
use crate::wire::DecoderConfig;
use crate::wire::{
    CloseCode, Frame, LengthForm, OpCode, RawFrame, Rsv, ViolationKind, parse_close_payload,
};

/// The faults that can be switched on; each breaks one rule.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Faults {
    /// Never answer a ping (RFC 6455 §5.5.2: a pong MUST be sent).
    pub no_pong: bool,
    /// Silently skip frames with reserved opcodes instead of failing (§5.2).
    pub ignore_reserved_opcodes: bool,
    /// Do not validate the UTF-8 of text messages; echo them as they are (§8.1).
    pub no_utf8_check: bool,
    /// Answer 101 to `Sec-WebSocket-Version: 8` (§4.4: a version the server does not speak
    /// gets 426 and the versions it does). Other versions still get 426.
    pub accept_version_8: bool,
    /// Answer 101 when `Sec-WebSocket-Key` is absent, with the accept of an empty key
    /// (§4.2.1 item 5). A repeated or malformed key is still refused.
    pub accept_missing_key: bool,
    /// Compare the whole `Connection` value with `upgrade` instead of looking for the token,
    /// refusing `keep-alive, Upgrade` or several `Connection` headers (§4.2.1 item 4: the
    /// header "includes the token").
    pub reject_keep_alive_upgrade: bool,
    /// Accept unmasked frames from the client as if they were masked (§5.1: the server MUST
    /// close the connection upon receiving a frame that is not masked).
    pub accept_unmasked: bool,
    /// Mask every frame sent, with a random key (§5.1: a server MUST NOT mask).
    pub mask_own_frames: bool,
    /// Send a wrong `Sec-WebSocket-Accept` (§4.2.2 item 5.4, checked by the client in §4.1).
    pub wrong_accept: bool,
    /// Decline every permessage-deflate offer (legal: the deflate cases are UNIMPLEMENTED).
    pub deflate_decline: bool,
    /// Agree to the window the client asks for (`server_max_window_bits=N`) but compress
    /// with 15 bits (RFC 7692 §7.1.2.1; deflate-and-client-bugs.md 1.5).
    pub deflate_wider_window: bool,
    /// Agree to `server_no_context_takeover` but keep the window across messages (§7.1.1.1).
    pub deflate_ignore_no_takeover: bool,
    /// Send compressed echoes in two frames with RSV1 on both (§6.1: RSV1 on the first frame
    /// only).
    pub deflate_rsv1_on_continuations: bool,
    /// Take a frame with RSV1 set when no extension was agreed, as if the bit were clear
    /// (RFC 6455 §5.2: MUST fail).
    pub deflate_rsv1_unnegotiated: bool,
    /// Inflate messages with no bound (a decompression bomb goes through: RFC 6455 §10.4).
    pub deflate_no_limit: bool,
    /// Select the subprotocol `x-unoffered` in every 101, offered or not (§4.1 item 6: the
    /// client MUST fail the connection).
    pub unoffered_subprotocol: bool,
    /// Accept the extension `x-unoffered` in every 101 (§4.1 item 5).
    pub unoffered_extension: bool,
    /// Answer a close frame with a 1-byte payload with an empty close instead of failing the
    /// connection with 1002 (§5.5.1: the payload is invalid; Autobahn's 7.3.2 allows it).
    pub empty_close_for_one_byte: bool,
    /// Hold the pong for a ping that comes in the middle of a fragmented message until the
    /// message completes (§5.4, §5.5.2; Autobahn's 5.19/5.20 cannot see it).
    pub late_pong_mid_message: bool,
    /// No message size limit at all (§10.4: a server MUST protect itself).
    pub no_size_limit: bool,
    /// Never answer a ping that comes in the middle of a fragmented message (§5.5.2, §5.4:
    /// control frames MAY be injected between fragments, and each ping MUST get a pong).
    pub no_pong_mid_message: bool,
    /// Not a fault: check the UTF-8 of a text message only once it is complete, instead of
    /// failing as soon as the bytes cannot be valid (RFC 6455 §8.1 allows both). The live
    /// fuzzer's model runs this choice beside the default one.
    pub utf8_at_message_end: bool,
    /// Not a fault: take a frame whose length is not in the minimal form (RFC 6455 §5.2
    /// binds the sender; what a receiver does is left open, as case 15.1 records). The live
    /// fuzzer's model runs this choice beside the default one.
    pub non_minimal_lengths_accepted: bool,
    /// Not a fault: with `non_minimal_lengths_accepted`, still fail a control frame whose
    /// length is not in the minimal form (its 7-bit field then reads 126 or 127, over the
    /// 125 allowed: Node ws).
    pub non_minimal_control_refused: bool,
    /// Not a fault: the application (the echo, and the UTF-8 check of text) takes a message
    /// only once the protocol has handled everything that arrived at the same moment, as in an
    /// async server (Python websockets): a close or a protocol error right behind a message is
    /// handled first, and the message is then dropped. The live fuzzer's model runs this
    /// choice beside the others.
    pub application_lags: bool,
}

/// The reference server's message limit, inflated or not (64 MiB, as ws's order of
/// magnitude; section 9's largest message is 16 MiB).
pub const MAX_MESSAGE: usize = 64 << 20;

/// What the transport under the peer must do besides writing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PeerAction {
    /// Close our side in order (FIN) once everything queued is written, then read what the
    /// client still sends until it closes (bounded by the caller) and drop the connection.
    Shutdown,
}

/// The reference server on one connection. See the module docs.
#[derive(Debug)]
pub struct ReferenceServer {
    session: Session,
    faults: Faults,
    config: ServerConfig,
    shutdown: bool,
    /// Compresses the echoes once permessage-deflate is agreed.
    deflater: Option<Deflater>,
    /// Pongs held until the message under way completes (the `late_pong_mid_message` fault).
    held_pongs: Vec<Vec<u8>>,
    /// Why the server failed the connection, if it did: the stable code of the rule broken.
    failure: Option<&'static str>,
    /// Messages the application has yet to take (the `application_lags` choice), and since
    /// when.
    lagging: Vec<Message>,
    lag_since: Option<Instant>,
    /// Messages the application never took: the connection closed first.
    overtaken: Vec<Message>,
}

impl ReferenceServer {
    /// A server on a fresh connection accepted at `now`.
    pub fn new(faults: Faults, now: Instant) -> Self {
        let mut config = ServerConfig {
            subprotocols: vec!["chat".into()],
            forbidden_origins: vec!["http://forbidden.example".into()],
            ..ServerConfig::default()
        };
        if faults.accept_version_8 {
            config.versions.push("8".into());
        }
        let mut session = Session::server(
            SessionConfig {
                messages: MessageConfig {
                    validate_utf8: !faults.no_utf8_check
                        && !faults.utf8_at_message_end
                        && !faults.application_lags,
                    max_message: if faults.no_size_limit {
                        usize::MAX
                    } else {
                        MAX_MESSAGE
                    },
                },
                decoder: DecoderConfig {
                    side: Side::Server,
                    max_frame_len: if faults.no_size_limit {
                        u64::MAX
                    } else {
                        MAX_MESSAGE as u64
                    },
                    ..DecoderConfig::default()
                },
                ..SessionConfig::default()
            },
            now,
        );
        if faults.accept_unmasked {
            // An unmasked frame's payload is as sent: delivered, it is handled as if masked.
            session.excuse(|kind| *kind == ViolationKind::UnmaskedFrameFromClient);
        }
        if faults.deflate_rsv1_unnegotiated {
            session.excuse(rsv1_alone);
        }
        if faults.non_minimal_lengths_accepted {
            session.excuse(|kind| matches!(kind, ViolationKind::NonMinimalLength { .. }));
        }
        Self {
            session,
            faults,
            config,
            shutdown: false,
            deflater: None,
            held_pongs: Vec::new(),
            failure: None,
            lagging: Vec::new(),
            lag_since: None,
            overtaken: Vec::new(),
        }
    }

    /// The messages a lagging application never took because the connection closed first
    /// (the `application_lags` choice): a quicker one might have echoed them.
    pub fn overtaken(&self) -> &[Message] {
        &self.overtaken
    }

    /// Why the server failed the connection (RFC 6455 §7.1.7), if it did: the stable code of
    /// the rule the client broke (`reserved-opcode`, `utf8-invalid`, …).
    pub fn failure(&self) -> Option<&'static str> {
        self.failure
    }

    /// The server's handshake settings (what it serves), for the caller to adjust before
    /// the first byte arrives.
    pub fn config_mut(&mut self) -> &mut ServerConfig {
        &mut self.config
    }

    /// The session under it (its log, its state).
    pub fn session(&self) -> &Session {
        &self.session
    }

    /// Consumes the server, keeping its session.
    pub fn into_session(self) -> Session {
        self.session
    }

    /// Bytes read at `now`.
    pub fn handle_input(&mut self, now: Instant, data: &[u8]) {
        if self.shutdown {
            // Draining after our close: the client's bytes are read and dropped.
            return;
        }
        self.session.handle_input(now, data);
        self.process(now);
    }

    /// The transport ended at `now`.
    pub fn handle_closed(&mut self, now: Instant, closure: Closure) {
        self.session.handle_closed(now, closure);
        self.process(now);
    }

    /// When [`ReferenceServer::handle_timeout`] must be called (the handshake deadline).
    pub fn poll_timeout(&self) -> Option<Instant> {
        let lag = self.lag_since.filter(|_| !self.shutdown);
        match (self.session.poll_timeout(), lag) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Time passed (or, with messages waiting for the application, the protocol is idle).
    pub fn handle_timeout(&mut self, now: Instant) {
        self.lag_since = None;
        for message in std::mem::take(&mut self.lagging) {
            if !self.shutdown {
                self.echo(message);
            }
        }
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

    /// What to do besides writing, once everything queued is written.
    pub fn poll_action(&self) -> Option<PeerAction> {
        self.shutdown.then_some(PeerAction::Shutdown)
    }

    /// How long the caller lets the client close its side after our shutdown.
    pub fn linger(&self) -> Duration {
        Duration::from_secs(2)
    }

    fn process(&mut self, now: Instant) {
        while !self.shutdown
            && let Some(event) = self.session.poll_event()
        {
            match event {
                SessionEvent::Request(head) => self.answer(now, &head),
                // A refusal, an unreadable or a late request: the answer (if any) is queued.
                SessionEvent::HandshakeFailed(_) => self.shutdown = true,
                SessionEvent::Violation(v) => self.violation(v.frame.is_some(), &v.kind),
                SessionEvent::Message(message) if self.faults.application_lags => {
                    self.lagging.push(message);
                    self.lag_since.get_or_insert(now);
                }
                SessionEvent::Message(message) => self.echo(message),
                SessionEvent::Control(frame) => self.control(frame),
                SessionEvent::Closed(_) => self.shutdown = true,
                SessionEvent::Open { .. } => {}
            }
        }
        if self.shutdown && !self.lagging.is_empty() {
            self.overtaken.append(&mut self.lagging);
            self.lag_since = None;
        }
    }

    /// RFC 6455 §4.2.1, §4.2.2: the strict checks, with the handshake faults applied.
    fn answer(&mut self, now: Instant, head: &RequestHead) {
        if self.faults.reject_keep_alive_upgrade
            && !matches!(head.values("Connection")[..], [v] if v.eq_ignore_ascii_case(b"upgrade"))
        {
            let refusal = Refusal {
                status: 400,
                problem: RequestProblem::ConnectionNotUpgrade,
                headers: Vec::new(),
            };
            self.session.refuse(refusal.response());
            return;
        }
        let keyless = self.faults.accept_missing_key && head.values("Sec-WebSocket-Key").is_empty();
        let checked = if keyless {
            // Checked as if it had a key; answered with the accept of an empty key.
            let mut with_key = head.clone();
            with_key.headers.push((
                "Sec-WebSocket-Key".into(),
                b"dGhlIHNhbXBsZSBub25jZQ==".to_vec(),
            ));
            check_request(&with_key, &self.config).map(|a| Accepted {
                key: Vec::new(),
                ..a
            })
        } else {
            check_request(head, &self.config)
        };
        match checked {
            Ok(accepted) => {
                let mut accept = accepted.accept();
                if self.faults.wrong_accept {
                    let wrong = if accept.starts_with('A') { "B" } else { "A" };
                    accept.replace_range(..1, wrong);
                }
                // permessage-deflate (RFC 7692 §7): the first valid offer, as it asks.
                let offers =
                    parse_extensions(head.values("Sec-WebSocket-Extensions")).unwrap_or_default();
                let deflate = pmd::accept_first(&offers).filter(|_| !self.faults.deflate_decline);
                let header = deflate.as_ref().map(DeflateParams::to_header);
                // Before the answer: frames that came behind the request are read at once.
                if let Some(answer) = &deflate {
                    self.start_deflate(answer);
                }
                let mut response = accepted.response(&accept, header.as_deref());
                if self.faults.unoffered_subprotocol || self.faults.unoffered_extension {
                    // Before the blank line that ends the head.
                    response.truncate(response.len() - 2);
                    if self.faults.unoffered_subprotocol {
                        response.extend_from_slice(b"Sec-WebSocket-Protocol: x-unoffered\r\n");
                    }
                    if self.faults.unoffered_extension {
                        response.extend_from_slice(b"Sec-WebSocket-Extensions: x-unoffered\r\n");
                    }
                    response.extend_from_slice(b"\r\n");
                }
                self.session.accept(now, response);
                self.process(now);
            }
            Err(refusal) => self.session.refuse(refusal.response()),
        }
    }

    /// The inflater behind the session and the compressor for echoes, as agreed (or as a
    /// fault bends it).
    fn start_deflate(&mut self, answer: &DeflateParams) {
        if self.faults.deflate_rsv1_unnegotiated {
            // RSV1 now has a meaning: the fault is about connections without it.
            self.session.excuse(|_| false);
        }
        let mut config = DeflateConfig::agreed(Side::Server, answer);
        config.level = 6;
        let extension = PerMessageDeflate::new(config);
        if self.faults.deflate_no_limit {
            self.session.set_extension(Box::new(Unbounded(extension)));
        } else {
            self.session.set_extension(Box::new(extension));
        }
        let bits = if self.faults.deflate_wider_window {
            15
        } else {
            config.deflate_bits
        };
        let takeover = config.deflate_takeover || self.faults.deflate_ignore_no_takeover;
        self.deflater = Some(Deflater::new(bits, takeover, config.level));
    }

    fn send(&mut self, frame: RawFrame) {
        // RFC 6455 §5.1: "A server MUST NOT mask any frames that it sends to the client."
        let masking = if self.faults.mask_own_frames {
            Masking::Masked
        } else {
            Masking::BySide
        };
        self.session.send(frame, masking);
    }

    /// RFC 6455 §7.1.7: fail the connection with the code for the violation, unless a fault
    /// passes over it.
    fn violation(&mut self, concerns_frame: bool, kind: &ViolationKind) {
        if !concerns_frame {
            return;
        }
        let excused = (self.faults.ignore_reserved_opcodes
            && matches!(kind, ViolationKind::ReservedOpcode(_)))
            || (self.faults.accept_unmasked && *kind == ViolationKind::UnmaskedFrameFromClient)
            || (self.faults.non_minimal_lengths_accepted
                && matches!(kind, ViolationKind::NonMinimalLength { .. }))
            || (self.faults.deflate_rsv1_unnegotiated
                && self.deflater.is_none()
                && rsv1_alone(kind));
        if excused {
            return;
        }
        if self.faults.empty_close_for_one_byte && *kind == ViolationKind::CloseOneBytePayload {
            self.close(Vec::new());
            return;
        }
        self.failure = Some(kind.code());
        self.close(kind.close_code().0.to_be_bytes().to_vec());
    }

    /// Echoes a message; compressed (RSV1 on its first frame) once deflate is agreed.
    fn echo(&mut self, message: Message) {
        if (self.faults.utf8_at_message_end || self.faults.application_lags)
            && message.opcode == OpCode::TEXT
            && std::str::from_utf8(&message.payload).is_err()
        {
            // RFC 6455 §8.1: "MUST Fail the WebSocket Connection" with 1007 (§7.4.1).
            self.failure = Some(ViolationKind::InvalidUtf8InText { message_offset: 0 }.code());
            self.close(CloseCode::INVALID_PAYLOAD.0.to_be_bytes().to_vec());
            return;
        }
        for payload in std::mem::take(&mut self.held_pongs) {
            self.send(RawFrame::pong(payload));
        }
        let Some(deflater) = self.deflater.as_mut() else {
            self.send(RawFrame::new(message.opcode, message.payload));
            return;
        };
        let packed = deflater.compress(&message.payload);
        if self.faults.deflate_rsv1_on_continuations && packed.len() >= 2 {
            let (a, b) = packed.split_at(packed.len() / 2);
            self.send(
                RawFrame::new(message.opcode, a.to_vec())
                    .fin(false)
                    .rsv(Rsv::RSV1),
            );
            self.send(RawFrame::new(OpCode::CONTINUATION, b.to_vec()).rsv(Rsv::RSV1));
            return;
        }
        self.send(RawFrame::new(message.opcode, packed).rsv(Rsv::RSV1));
    }

    fn control(&mut self, frame: Frame) {
        if self.faults.non_minimal_control_refused
            && !matches!(
                frame.raw.length_form,
                LengthForm::Bits7 | LengthForm::Minimal
            )
        {
            let kind = ViolationKind::NonMinimalLength {
                len: frame.raw.payload.len() as u64,
                form: frame.raw.length_form,
            };
            self.failure = Some(kind.code());
            self.close(kind.close_code().0.to_be_bytes().to_vec());
            return;
        }
        match frame.opcode() {
            // (Later pings wait behind held ones, so that the pongs keep their order.)
            OpCode::PING
                if self.faults.late_pong_mid_message
                    && (self.session.in_message() || !self.held_pongs.is_empty()) =>
            {
                self.held_pongs.push(frame.raw.payload);
            }
            OpCode::PING if self.faults.no_pong_mid_message && self.session.in_message() => {}
            OpCode::PING if !self.faults.no_pong => self.send(RawFrame::pong(frame.raw.payload)),
            OpCode::CLOSE => {
                // RFC 6455 §5.5.1: answer with a close; the same code (valid: the decoder
                // checked it), or none.
                let reply = match parse_close_payload(&frame.raw.payload) {
                    Ok(p) => p
                        .code
                        .map(|c| c.0.to_be_bytes().to_vec())
                        .unwrap_or_default(),
                    Err(_) => CloseCode::PROTOCOL_ERROR.0.to_be_bytes().to_vec(),
                };
                self.close(reply);
            }
            _ => {}
        }
    }

    /// Sends a close and closes TCP first (RFC 6455 §7.1.1).
    fn close(&mut self, payload: Vec<u8>) {
        self.send(RawFrame::new(OpCode::CLOSE, payload));
        self.shutdown = true;
    }
}

/// RSV1 alone on a frame where no extension allows it (what the `deflate_rsv1_unnegotiated`
/// fault lets through).
fn rsv1_alone(kind: &ViolationKind) -> bool {
    matches!(kind, ViolationKind::ReservedBitsSet { rsv } if *rsv == Rsv::RSV1)
}

/// permessage-deflate that ignores the message limit (the `deflate_no_limit` fault).
#[derive(Debug)]
struct Unbounded(PerMessageDeflate);

impl Extension for Unbounded {
    fn name(&self) -> &'static str {
        self.0.name()
    }

    fn rsv(&self) -> Rsv {
        self.0.rsv()
    }

    fn decode_message(
        &mut self,
        rsv: Rsv,
        payload: &[u8],
        _limit: usize,
    ) -> Result<Vec<u8>, ExtensionError> {
        self.0.decode_message(rsv, payload, usize::MAX)
    }

    fn encode_message(
        &mut self,
        opcode: OpCode,
        payload: &[u8],
    ) -> Result<(Rsv, Vec<u8>), ExtensionError> {
        self.0.encode_message(opcode, payload)
    }
}

pub mod client;
pub mod client_pair;
pub mod pair;

#[cfg(test)]
mod tests;
