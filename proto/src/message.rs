//! The message layer, RFC 6455 §5.4–§5.6 and §8.1: the one place where frames become
//! messages.
//!
//! The [`Assembler`] takes the frames the decoder read, in order, and yields what an
//! application sees: control frames in place (even in the middle of a fragmented message,
//! §5.4), complete data messages, and the violations of the message rules — a continuation
//! with nothing to continue, a data frame inside a fragmented message, text that is not UTF-8
//! (checked on the message as the application sees it, after the extension has decoded it).
//!
//! Behind it sits the [`Extension`] hook (RFC 6455 §9): the RSV bits an extension claims on
//! the first frame of a data message, and its per-message decode and encode.
//! permessage-deflate (RFC 7692) is meant to be its first implementation.
//!
//! A frame that broke a rule is never delivered, and the message it belongs to is dropped:
//! the endpoint fails the connection (§7.1.7), so the data is not processed further. The
//! §5.4 state still follows such frames, so that one fault is reported once.

use std::collections::VecDeque;
use std::fmt;

use crate::wire::{
    Frame, FrameHeader, OpCode, Rsv, Utf8Status, Utf8Validator, Violation, ViolationKind,
    apply_mask_offset,
};

/// Why an extension could not decode or encode a message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExtensionError {
    /// The decoded message would exceed the limit (a decompression bomb, say); decoding
    /// stopped there.
    #[error("decoded message exceeds {limit} bytes")]
    TooLarge {
        /// The limit.
        limit: usize,
    },
    /// The payload is not valid for the extension.
    #[error("{0}")]
    Invalid(String),
}

/// An extension of the message layer (RFC 6455 §9), negotiated in the opening handshake.
pub trait Extension: fmt::Debug + Send {
    /// The extension's registered name, such as `permessage-deflate`.
    fn name(&self) -> &'static str;

    /// The RSV bits the extension may set on the first frame of a data message (RFC 6455
    /// §5.2: "MUST be 0 unless an extension is negotiated that defines meanings").
    fn rsv(&self) -> Rsv;

    /// Decodes a whole message whose first frame carried `rsv`, producing at most `limit`
    /// bytes: past it, the extension stops and answers [`ExtensionError::TooLarge`] (it never
    /// produces the whole output first and measures after).
    fn decode_message(
        &mut self,
        rsv: Rsv,
        payload: &[u8],
        limit: usize,
    ) -> Result<Vec<u8>, ExtensionError>;

    /// Encodes a whole message: the RSV bits to set on its first frame, and the payload.
    fn encode_message(
        &mut self,
        opcode: OpCode,
        payload: &[u8],
    ) -> Result<(Rsv, Vec<u8>), ExtensionError>;
}

/// What the assembler accepts.
#[derive(Debug, Clone, Copy)]
pub struct MessageConfig {
    /// Validate the UTF-8 of text messages (RFC 6455 §8.1).
    pub validate_utf8: bool,
    /// The largest message buffered (a local limit, not an RFC rule); a larger one is
    /// reported as [`ViolationKind::MessageTooLarge`] and dropped.
    pub max_message: usize,
}

impl Default for MessageConfig {
    fn default() -> Self {
        Self {
            validate_utf8: true,
            max_message: 256 << 20,
        }
    }
}

/// A complete data message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// TEXT or BINARY.
    pub opcode: OpCode,
    /// The payload as the application sees it (decoded by the extension, if one applied).
    pub payload: Vec<u8>,
    /// The frames it came in.
    pub frames: usize,
    /// Stream offset of its first frame.
    pub offset: u64,
    /// The extension decoded it (its first frame carried the extension's RSV bits).
    pub decoded: bool,
}

/// What the assembler yields, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    /// A control frame (ping, pong, close), delivered where it arrived.
    Control(Frame),
    /// A complete data message.
    Message(Message),
    /// A message rule the peer broke, reported before anything else about its frame.
    Violation(Violation),
}

/// A fragmented message in progress.
#[derive(Debug)]
struct Partial {
    opcode: OpCode,
    /// The extension's bits on the first frame.
    rsv: Rsv,
    /// The payload so far; `None` once the message is dropped (a frame of it broke a rule,
    /// or it grew past the limit).
    data: Option<Vec<u8>>,
    /// Bytes of the message seen so far (kept when the data is dropped).
    len: usize,
    frames: usize,
    offset: u64,
    /// Stream offset where an unfinished UTF-8 character began, when it began in an earlier
    /// frame than the one being read.
    pending_char_at: u64,
}

/// Frames in, messages out. See the module docs.
#[derive(Debug)]
pub struct Assembler {
    config: MessageConfig,
    extension: Option<Box<dyn Extension>>,
    current: Option<Partial>,
    utf8: Utf8Validator,
    /// The stream offset just past the last frame seen (for end-of-stream reports).
    end: u64,
    /// The text frame still arriving that [`Assembler::peek`] validates: its offset, the
    /// validator's state after the bytes seen, and how many it saw.
    lookahead: Option<(u64, Utf8Validator, usize)>,
    out: VecDeque<Delivery>,
}

impl Assembler {
    /// An assembler with no extension.
    pub fn new(config: MessageConfig) -> Self {
        Self {
            config,
            extension: None,
            current: None,
            utf8: Utf8Validator::new(),
            end: 0,
            lookahead: None,
            out: VecDeque::new(),
        }
    }

    /// Puts `extension` behind the assembler (once negotiated).
    pub fn set_extension(&mut self, extension: Box<dyn Extension>) {
        self.extension = Some(extension);
    }

    /// The RSV bits the extension claims on the first frame of a data message (none without
    /// an extension): what the frame decoder must allow there.
    pub fn message_rsv(&self) -> Rsv {
        self.extension.as_ref().map_or(Rsv::NONE, |e| e.rsv())
    }

    /// Whether a fragmented data message is under way (its first frame read, not its last).
    pub fn in_message(&self) -> bool {
        self.current.is_some()
    }

    /// The configuration.
    pub fn config(&self) -> MessageConfig {
        self.config
    }

    /// The next delivery, or `None` until another frame is handled.
    pub fn poll(&mut self) -> Option<Delivery> {
        self.out.pop_front()
    }

    /// Fail-fast on a text frame that is still arriving (RFC 6455 §8.1; Autobahn 6.4.x):
    /// validates `masked`, the first payload bytes (as sent) of the frame at `start` (the
    /// `index`-th) with `header`, and reports invalid UTF-8 as soon as they show it, before the frame is
    /// complete. Returns whether it reported (the caller then withholds the frame, as for any
    /// violation). Bytes already validated are not looked at again.
    pub fn peek(&mut self, start: u64, index: u64, header: &FrameHeader, masked: &[u8]) -> bool {
        if !self.config.validate_utf8 {
            return false;
        }
        let (opcode, header_len) = (header.opcode, header.header_len);
        let plain = header.rsv.bits() & self.message_rsv().bits() == 0;
        // The message this frame belongs to, and where it stands.
        let (before, carried) = match (opcode, &self.current) {
            (OpCode::TEXT, None) if plain => (0, start + header_len as u64),
            (OpCode::CONTINUATION, Some(m))
                if m.opcode == OpCode::TEXT && m.rsv.is_empty() && m.data.is_some() =>
            {
                (m.len, m.pending_char_at)
            }
            _ => return false,
        };
        let (validator, seen) = match self.lookahead.take() {
            Some((at, v, seen)) if at == start => (v, seen),
            _ if opcode == OpCode::TEXT => (Utf8Validator::new(), 0),
            _ => (self.utf8.clone(), 0),
        };
        let mut validator = validator;
        let mut new = masked[seen.min(masked.len())..].to_vec();
        if let Some(key) = header.mask {
            apply_mask_offset(&mut new, key, seen);
        }
        let was_invalid = matches!(validator.status(), Utf8Status::Invalid { .. });
        let status = validator.feed(&new);
        let seen = seen + new.len();
        if let Utf8Status::Invalid { offset } = status
            && !was_invalid
        {
            let payload_offset = start + header_len as u64;
            let at = if offset >= before {
                payload_offset + (offset - before) as u64
            } else {
                carried
            };
            self.violation(
                at,
                (start, index),
                ViolationKind::InvalidUtf8InText {
                    message_offset: offset,
                },
            );
            return true;
        }
        self.lookahead = Some((start, validator, seen));
        false
    }

    /// Handles the next frame. `rejected` says the frame already broke a frame-level rule
    /// (the decoder reported it): it is not delivered, and its message is dropped.
    pub fn handle_frame(&mut self, frame: Frame, rejected: bool) {
        self.lookahead = None;
        let payload_offset = frame.offset + frame.raw.header_len() as u64;
        self.end = payload_offset + frame.raw.payload.len() as u64;
        let opcode = frame.opcode();
        if opcode.is_control() || opcode.is_reserved() {
            if !rejected && opcode.is_control() {
                self.out.push_back(Delivery::Control(frame));
            }
            return;
        }
        let mut rejected = rejected;
        if opcode == OpCode::CONTINUATION {
            // RFC 6455 §5.4: a continuation continues a message started by a non-final TEXT
            // or BINARY frame.
            if self.current.is_none() {
                self.violation(
                    frame.offset,
                    (frame.offset, frame.index),
                    ViolationKind::ContinuationWithoutStart,
                );
                return;
            }
        } else {
            // RFC 6455 §5.4: "fragments of one message MUST NOT be interleaved between the
            // fragments of another message unless an extension has been negotiated that can
            // interpret the interleaving".
            if self.current.is_some() {
                self.violation(
                    frame.offset,
                    (frame.offset, frame.index),
                    ViolationKind::DataFrameInFragmentedMessage(opcode),
                );
                rejected = true;
            }
            let claimed = frame.raw.rsv.bits() & self.message_rsv().bits();
            self.current = Some(Partial {
                opcode,
                rsv: Rsv::from_bits(claimed),
                data: Some(Vec::new()),
                len: 0,
                frames: 0,
                offset: frame.offset,
                pending_char_at: payload_offset,
            });
            self.utf8.reset();
        }
        self.data(frame, payload_offset, rejected);
    }

    /// Reports what the end of the stream leaves unfinished: a fragmented message. Call once
    /// after the peer closed the connection, then drain with [`Assembler::poll`].
    pub fn finish(&mut self, end: u64) {
        if let Some(message) = self.current.take() {
            self.push(Violation {
                offset: end.max(self.end),
                frame: None,
                frame_index: None,
                kind: ViolationKind::UnfinishedMessage(message.opcode),
            });
        }
    }

    fn push(&mut self, violation: Violation) {
        self.out.push_back(Delivery::Violation(violation));
    }

    fn violation(&mut self, offset: u64, frame: (u64, u64), kind: ViolationKind) {
        self.push(Violation {
            offset,
            frame: Some(frame.0),
            frame_index: Some(frame.1),
            kind,
        });
    }

    /// Adds a data frame's payload to the message in progress, validating plain text as it
    /// goes (fail-fast), and delivers the message on its last frame.
    fn data(&mut self, frame: Frame, payload_offset: u64, rejected: bool) {
        let Some(mut message) = self.current.take() else {
            return;
        };
        let raw = frame.raw;
        let before = message.len;
        message.len += raw.payload.len();
        message.frames += 1;
        let mut faults = Vec::new();
        // A message already dropped (a frame of it broke a rule) is not checked further: the
        // connection is being failed, and one fault is reported once.
        let plain_text = message.opcode == OpCode::TEXT
            && message.rsv.is_empty()
            && message.data.is_some()
            && !rejected;
        if self.config.validate_utf8 && plain_text {
            let was_invalid = matches!(self.utf8.status(), Utf8Status::Invalid { .. });
            let mut status = self.utf8.feed(&raw.payload);
            if raw.fin {
                status = self.utf8.finish();
            }
            // Map a message offset to the stream: in this frame, or where the unfinished
            // character carried over from an earlier frame began.
            let stream_at = |offset: usize, carried: u64| {
                if offset >= before {
                    payload_offset + (offset - before) as u64
                } else {
                    carried
                }
            };
            match status {
                Utf8Status::Invalid { offset } if !was_invalid => {
                    let at = stream_at(offset, message.pending_char_at);
                    faults.push((
                        at,
                        ViolationKind::InvalidUtf8InText {
                            message_offset: offset,
                        },
                    ));
                }
                Utf8Status::Incomplete { offset } => {
                    message.pending_char_at = stream_at(offset, message.pending_char_at);
                }
                _ => {}
            }
        }
        // One fault a frame: the cap is checked only where the frame broke nothing else, so
        // that what is reported does not depend on when the bytes came (a fail-fast UTF-8
        // fault found while the frame arrived withholds it before the cap is looked at).
        if message.len > self.config.max_message
            && message.data.is_some()
            && !rejected
            && faults.is_empty()
        {
            faults.push((
                frame.offset,
                ViolationKind::MessageTooLarge {
                    cap: self.config.max_message,
                },
            ));
        }
        let dropped = rejected || !faults.is_empty();
        for (offset, kind) in faults {
            self.violation(offset, (frame.offset, frame.index), kind);
        }
        if dropped {
            message.data = None;
        } else if let Some(data) = message.data.as_mut() {
            data.extend_from_slice(&raw.payload);
        }
        if !raw.fin {
            self.current = Some(message);
            return;
        }
        let Some(payload) = message.data else {
            return;
        };
        self.deliver(
            message.opcode,
            message.rsv,
            payload,
            message.frames,
            message.offset,
            (frame.offset, frame.index),
        );
    }

    /// Hands a complete message to the application, through the extension if its first frame
    /// carried the extension's bits.
    fn deliver(
        &mut self,
        opcode: OpCode,
        rsv: Rsv,
        payload: Vec<u8>,
        frames: usize,
        offset: u64,
        last: (u64, u64),
    ) {
        let decoded = !rsv.is_empty();
        let payload = match self.extension.as_mut() {
            Some(ext) if decoded => {
                let name = ext.name();
                match ext.decode_message(rsv, &payload, self.config.max_message) {
                    Ok(p) => p,
                    Err(ExtensionError::TooLarge { limit }) => {
                        self.violation(last.0, last, ViolationKind::MessageTooLarge { cap: limit });
                        return;
                    }
                    Err(ExtensionError::Invalid(detail)) => {
                        self.violation(
                            last.0,
                            last,
                            ViolationKind::ExtensionFailed {
                                extension: name,
                                detail,
                            },
                        );
                        return;
                    }
                }
            }
            _ => payload,
        };
        // RFC 6455 §8.1 on the message as the application sees it: a decoded text message is
        // checked whole (plain text was checked frame by frame above).
        if decoded
            && opcode == OpCode::TEXT
            && self.config.validate_utf8
            && let Err(e) = std::str::from_utf8(&payload)
        {
            self.violation(
                last.0,
                last,
                ViolationKind::InvalidUtf8InText {
                    message_offset: e.valid_up_to(),
                },
            );
            return;
        }
        self.out.push_back(Delivery::Message(Message {
            opcode,
            payload,
            frames,
            offset,
            decoded,
        }));
    }
}

#[cfg(test)]
mod tests;
