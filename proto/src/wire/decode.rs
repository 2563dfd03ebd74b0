//! The incremental frame decoder, RFC 6455 §5: frames, not messages.
//!
//! The decoder is fed bytes in arbitrary pieces with [`Decoder::feed`] and yields [`Item`]s
//! with [`Decoder::poll`]: frames, and typed [`Violation`]s of the RFC with the stream offset
//! at which they occur. It follows the tokio-util `Decoder` contract's last rule: input that is
//! ill-formed but can be stepped over is reported as an item, and decoding goes on, because a
//! conformance harness must *observe* a peer's violations rather than abort on the first one.
//!
//! It never panics on any input, and a length the peer only declared never costs more than
//! `RESERVE_BOUND` (1 MiB): beyond it, a payload buffer grows with the bytes that arrive
//! (at most twice them). A frame whose declared length exceeds
//! [`DecoderConfig::max_frame_len`] is reported and its payload skipped as it streams past.
//!
//! It checks what one frame decides: masking, RSV bits, opcodes, length encodings, control
//! frame rules, close payloads. The rules of messages (§5.4 fragmentation, §8.1 UTF-8) are the
//! message layer's, [`crate::message::Assembler`].

use std::collections::VecDeque;
use std::fmt;

use super::close::{CloseCode, CloseCodeClass, ClosePayloadError, parse_close_payload};
use super::frame::{LengthForm, RawFrame, Rsv};
use super::mask::apply_mask;
use super::opcode::OpCode;
use crate::Side;

/// What the decoder accepts.
#[derive(Debug, Clone)]
pub struct DecoderConfig {
    /// Which endpoint we are; the decoder reads what the other side sends.
    pub side: Side,
    /// The largest payload buffered for one frame. Larger frames are reported as
    /// [`ViolationKind::FrameTooLarge`] and skipped.
    pub max_frame_len: u64,
    /// RSV bits a negotiated message extension claims on the first frame of a data message
    /// (RFC 7692 §6: RSV1 for permessage-deflate); see
    /// [`crate::message::Assembler::message_rsv`].
    pub message_rsv: Rsv,
    /// RSV bits an unnamed extension negotiated; allowed on every frame.
    pub extension_rsv: Rsv,
}

impl Default for DecoderConfig {
    fn default() -> Self {
        Self {
            side: Side::Client,
            max_frame_len: 64 << 20,
            message_rsv: Rsv::NONE,
            extension_rsv: Rsv::NONE,
        }
    }
}

/// A frame as it was read off the wire.
#[derive(Clone, PartialEq, Eq)]
pub struct Frame {
    /// Stream offset of the frame's first header byte.
    pub offset: u64,
    /// The frame's place in the stream, from 0 (frames skipped over the cap count too).
    pub index: u64,
    /// The header fields and the unmasked payload. `length_form` is the concrete form seen on
    /// the wire (never `Minimal`), and `declared_len` is `None`.
    pub raw: RawFrame,
}

impl Frame {
    /// The opcode.
    pub fn opcode(&self) -> OpCode {
        self.raw.opcode
    }

    /// The unmasked payload.
    pub fn payload(&self) -> &[u8] {
        &self.raw.payload
    }
}

impl fmt::Debug for Frame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}@{} {:?}", self.index, self.offset, self.raw)
    }
}

/// One thing the decoder saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    /// A complete frame.
    Frame(Frame),
    /// A violation of RFC 6455 (or of a local limit), reported just before the frame it
    /// concerns (see [`Violation::frame`]).
    Violation(Violation),
}

/// A rule the peer broke, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// Stream offset of the offending byte: the frame's first byte for header faults, the
    /// first invalid byte for UTF-8 faults.
    pub offset: u64,
    /// Stream offset of the frame the violation concerns; the decoder reports a frame's
    /// violations just before the frame itself. `None` for the end of the stream.
    pub frame: Option<u64>,
    /// The place in the stream of that frame, from 0 ([`Frame::index`]).
    pub frame_index: Option<u64>,
    /// What was wrong.
    pub kind: ViolationKind,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (byte {})", self.kind, self.offset)
    }
}

/// Every §5 rule the decoder checks, named after the rule broken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ViolationKind {
    /// §5.1: "A server MUST NOT mask any frames that it sends to the client."
    #[error("masked frame from a server (RFC 6455 §5.1)")]
    MaskedFrameFromServer,
    /// §5.1: "a client MUST mask all frames that it sends to the server".
    #[error("unmasked frame from a client (RFC 6455 §5.1)")]
    UnmaskedFrameFromClient,
    /// §5.2: RSV1–3 "MUST be 0 unless an extension is negotiated that defines meanings".
    #[error("reserved bits {rsv:?} set with no extension that defines them (RFC 6455 §5.2)")]
    ReservedBitsSet {
        /// The bits that were not allowed.
        rsv: Rsv,
    },
    /// §5.2: "If an unknown opcode is received, the receiving endpoint MUST _Fail the
    /// WebSocket Connection_."
    #[error("reserved opcode 0x{:X} (RFC 6455 §5.2)", .0.value())]
    ReservedOpcode(OpCode),
    /// §5.5: "All control frames MUST have a payload length of 125 bytes or less and MUST NOT
    /// be fragmented."
    #[error("fragmented control frame {0} (RFC 6455 §5.5)")]
    FragmentedControlFrame(OpCode),
    /// §5.5: control frame payload over 125 bytes.
    #[error("control frame {opcode} with a {len}-byte payload, over 125 (RFC 6455 §5.5)")]
    ControlFrameTooLong {
        /// The control opcode.
        opcode: OpCode,
        /// The declared payload length.
        len: u64,
    },
    /// §5.2: "the minimal number of bytes MUST be used to encode the length".
    #[error("length {len} written in the non-minimal {form:?} form (RFC 6455 §5.2)")]
    NonMinimalLength {
        /// The declared length.
        len: u64,
        /// The form used.
        form: LengthForm,
    },
    /// §5.2: in the 64-bit form "the most significant bit MUST be 0".
    #[error("64-bit length 0x{0:016X} has its most significant bit set (RFC 6455 §5.2)")]
    LengthTopBitSet(u64),
    /// §5.4: a continuation frame with no fragmented message to continue (the message
    /// layer's rule).
    #[error("continuation frame with no message in progress (RFC 6455 §5.4)")]
    ContinuationWithoutStart,
    /// §5.4: "fragments of one message MUST NOT be interleaved between the fragments of
    /// another message".
    #[error("new {0} frame inside a fragmented message (RFC 6455 §5.4)")]
    DataFrameInFragmentedMessage(OpCode),
    /// §5.5.1: a close body must start with a 2-byte code, so a 1-byte body is invalid.
    #[error("close frame with a 1-byte payload (RFC 6455 §5.5.1)")]
    CloseOneBytePayload,
    /// §7.4: a close code that may not appear on the wire.
    #[error("close code {code} is not allowed on the wire: {class:?} (RFC 6455 §7.4)")]
    InvalidCloseCode {
        /// The code sent.
        code: CloseCode,
        /// Its class.
        class: CloseCodeClass,
    },
    /// §5.5.1: the close reason is not UTF-8.
    #[error("close reason is not valid UTF-8 (RFC 6455 §5.5.1)")]
    InvalidUtf8InCloseReason,
    /// §8.1: a text message that is not valid UTF-8. `message_offset` is the offset of the
    /// first invalid byte within the message.
    #[error("text message is not valid UTF-8 at message byte {message_offset} (RFC 6455 §8.1)")]
    InvalidUtf8InText {
        /// Offset within the message payload.
        message_offset: usize,
    },
    /// A local limit, not an RFC rule: the frame declared more than we buffer.
    #[error("frame declares {declared} payload bytes, over the {cap}-byte cap; skipped")]
    FrameTooLarge {
        /// The declared length.
        declared: u64,
        /// The configured cap.
        cap: u64,
        /// The frame's FIN bit (a skipped frame may be one fragment of several).
        fin: bool,
        /// The frame's header length: the payload ends `header_len + declared` bytes after
        /// the frame's offset.
        header_len: u8,
    },
    /// The stream ended inside a frame: the header promised more bytes than came.
    #[error("stream ended inside a frame: {have} of {need} bytes")]
    TruncatedFrame {
        /// Bytes of the frame received (header and payload).
        have: u64,
        /// Bytes the header declared (header and payload).
        need: u64,
    },
    /// The stream ended inside a fragmented message.
    #[error("stream ended inside a fragmented {0} message")]
    UnfinishedMessage(OpCode),
    /// A local limit, not an RFC rule: the message grew past what we buffer; dropped.
    #[error("message over the {cap}-byte cap; dropped")]
    MessageTooLarge {
        /// The configured cap.
        cap: usize,
    },
    /// The negotiated extension could not decode a message (RFC 6455 §9).
    #[error("{extension} could not decode a message: {detail}")]
    ExtensionFailed {
        /// The extension's name.
        extension: &'static str,
        /// What was wrong.
        detail: String,
    },
}

impl ViolationKind {
    /// Every kind, with sample fields: for the table of codes.
    pub fn samples() -> Vec<ViolationKind> {
        use crate::wire::CloseCode;
        vec![
            Self::MaskedFrameFromServer,
            Self::UnmaskedFrameFromClient,
            Self::ReservedBitsSet { rsv: Rsv::RSV2 },
            Self::ReservedOpcode(OpCode::new(3)),
            Self::FragmentedControlFrame(OpCode::PING),
            Self::ControlFrameTooLong {
                opcode: OpCode::PING,
                len: 126,
            },
            Self::NonMinimalLength {
                len: 5,
                form: LengthForm::Bits16,
            },
            Self::LengthTopBitSet(1 << 63),
            Self::ContinuationWithoutStart,
            Self::DataFrameInFragmentedMessage(OpCode::TEXT),
            Self::CloseOneBytePayload,
            Self::InvalidCloseCode {
                code: CloseCode(1005),
                class: CloseCodeClass::Reserved,
            },
            Self::InvalidUtf8InCloseReason,
            Self::InvalidUtf8InText { message_offset: 0 },
            Self::FrameTooLarge {
                declared: 1 << 40,
                cap: 64 << 20,
                fin: true,
                header_len: 10,
            },
            Self::TruncatedFrame { have: 1, need: 2 },
            Self::UnfinishedMessage(OpCode::TEXT),
            Self::MessageTooLarge { cap: 256 << 20 },
            Self::ExtensionFailed {
                extension: "permessage-deflate",
                detail: "invalid deflate data".into(),
            },
        ]
    }

    /// The kind's stable code, for reports, baselines and a user's CI to match on. Codes
    /// never change meaning; a new rule gets a new code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::MaskedFrameFromServer => "masked-server-frame",
            Self::UnmaskedFrameFromClient => "unmasked-client-frame",
            Self::ReservedBitsSet { .. } => "reserved-bits",
            Self::ReservedOpcode(_) => "reserved-opcode",
            Self::FragmentedControlFrame(_) => "fragmented-control-frame",
            Self::ControlFrameTooLong { .. } => "control-frame-too-long",
            Self::NonMinimalLength { .. } => "non-minimal-length",
            Self::LengthTopBitSet(_) => "length-top-bit",
            Self::ContinuationWithoutStart => "continuation-without-start",
            Self::DataFrameInFragmentedMessage(_) => "interleaved-data-frame",
            Self::CloseOneBytePayload => "close-one-byte",
            Self::InvalidCloseCode { .. } => "close-code-invalid",
            Self::InvalidUtf8InCloseReason => "close-reason-utf8-invalid",
            Self::InvalidUtf8InText { .. } => "utf8-invalid",
            Self::FrameTooLarge { .. } => "frame-over-cap",
            Self::TruncatedFrame { .. } => "truncated-frame",
            Self::UnfinishedMessage(_) => "unfinished-message",
            Self::MessageTooLarge { .. } => "message-over-cap",
            Self::ExtensionFailed { .. } => "extension-failed",
        }
    }

    /// The RFC section the rule is in (`rfc6455#section-5.1`), or `None` for a local limit or
    /// the end of the stream.
    pub fn rfc(&self) -> Option<&'static str> {
        Some(match self {
            Self::MaskedFrameFromServer | Self::UnmaskedFrameFromClient => "rfc6455#section-5.1",
            Self::ReservedBitsSet { .. }
            | Self::ReservedOpcode(_)
            | Self::NonMinimalLength { .. }
            | Self::LengthTopBitSet(_) => "rfc6455#section-5.2",
            Self::ContinuationWithoutStart | Self::DataFrameInFragmentedMessage(_) => {
                "rfc6455#section-5.4"
            }
            Self::FragmentedControlFrame(_) | Self::ControlFrameTooLong { .. } => {
                "rfc6455#section-5.5"
            }
            Self::CloseOneBytePayload | Self::InvalidUtf8InCloseReason => "rfc6455#section-5.5.1",
            Self::InvalidCloseCode { .. } => "rfc6455#section-7.4",
            Self::InvalidUtf8InText { .. } => "rfc6455#section-8.1",
            Self::ExtensionFailed { .. } => "rfc6455#section-9",
            Self::FrameTooLarge { .. }
            | Self::TruncatedFrame { .. }
            | Self::UnfinishedMessage(_)
            | Self::MessageTooLarge { .. } => return None,
        })
    }

    /// The close code an endpoint sends when it fails the connection for this reason
    /// (RFC 6455 §7.4.1): 1007 for bad UTF-8 and for data the extension cannot decode
    /// (corrupt deflate data, as ws sends), 1009 for an oversized frame or message, 1002
    /// otherwise.
    pub fn close_code(&self) -> CloseCode {
        match self {
            Self::InvalidUtf8InText { .. }
            | Self::InvalidUtf8InCloseReason
            | Self::ExtensionFailed { .. } => CloseCode::INVALID_PAYLOAD,
            Self::FrameTooLarge { .. } | Self::MessageTooLarge { .. } => CloseCode::MESSAGE_TOO_BIG,
            _ => CloseCode::PROTOCOL_ERROR,
        }
    }
}

/// A frame header as read off the wire, before any rule is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameHeader {
    /// FIN.
    pub fin: bool,
    /// The reserved bits.
    pub rsv: Rsv,
    /// The opcode.
    pub opcode: OpCode,
    /// The masking key, if the MASK bit is set.
    pub mask: Option<[u8; 4]>,
    /// The length form used.
    pub form: LengthForm,
    /// The declared payload length.
    pub len: u64,
    /// The header's size in bytes.
    pub header_len: usize,
}

/// Parses the frame header at the start of `bytes`; `None` until all of it is there.
/// Pure, total, and allocation-free.
pub fn parse_header(bytes: &[u8]) -> Option<FrameHeader> {
    let [b0, b1, ..] = *bytes else {
        return None;
    };
    let masked = b1 & 0x80 != 0;
    let (form, ext) = match b1 & 0x7F {
        126 => (LengthForm::Bits16, 2),
        127 => (LengthForm::Bits64, 8),
        _ => (LengthForm::Bits7, 0),
    };
    let header_len = 2 + ext + if masked { 4 } else { 0 };
    let header = bytes.get(..header_len)?;
    let len = match form {
        LengthForm::Bits16 => u64::from(u16::from_be_bytes([header[2], header[3]])),
        LengthForm::Bits64 => {
            let mut be = [0u8; 8];
            be.copy_from_slice(&header[2..10]);
            u64::from_be_bytes(be)
        }
        _ => u64::from(b1 & 0x7F),
    };
    let mask = masked.then(|| {
        let k = &header[2 + ext..2 + ext + 4];
        [k[0], k[1], k[2], k[3]]
    });
    Some(FrameHeader {
        fin: b0 & 0x80 != 0,
        rsv: Rsv::from_bits(b0 >> 4),
        opcode: OpCode::new(b0),
        mask,
        form,
        len,
        header_len,
    })
}

/// Frames at least this large stream their payload into its own buffer as it arrives.
const STREAM_THRESHOLD: u64 = 64 * 1024;

/// The most a streamed payload buffer reserves on the strength of the declared length alone.
///
/// The buffer first reserves `min(declared, RESERVE_BOUND)`; when full it grows to twice the
/// bytes it holds, never past the declared length. Its capacity is thus at most
/// `max(min(declared, RESERVE_BOUND), 2 × received)` (or `received`, when one piece brings
/// more): a peer that only declares 64 MiB and sends 10 bytes costs 1 MiB, not 64. Why not
/// `Vec`'s own doubling: from a 64 KiB first piece it ends a 16 MiB payload in a 32 MiB
/// buffer, measured at a page fault per 4 KiB of payload on every frame (README,
/// Benchmarks). Here 16 MiB takes five allocations and the buffer ends exactly full.
const RESERVE_BOUND: usize = 1 << 20;

/// A large frame whose header is read and whose payload is still arriving.
#[derive(Debug, Clone)]
struct Partial {
    header: FrameHeader,
    start: u64,
    /// Masked payload bytes received so far; its capacity follows [`RESERVE_BOUND`].
    payload: Vec<u8>,
}

impl Partial {
    /// Payload bytes still to come.
    fn remaining(&self) -> u64 {
        self.header.len - self.payload.len() as u64
    }

    /// Appends payload bytes, at most [`Partial::remaining`], growing the buffer as
    /// [`RESERVE_BOUND`] says.
    fn append(&mut self, bytes: &[u8]) {
        let need = self.payload.len() + bytes.len();
        if need > self.payload.capacity() {
            let declared = usize::try_from(self.header.len).unwrap_or(usize::MAX);
            let target = (self.payload.len().saturating_mul(2))
                .max(RESERVE_BOUND)
                .min(declared)
                .max(need);
            // Exact: `Vec`'s own doubling would overshoot the declared length.
            self.payload.reserve_exact(target - self.payload.len());
        }
        self.payload.extend_from_slice(bytes);
    }
}

/// The incremental decoder. See the module docs.
#[derive(Debug, Clone)]
pub struct Decoder {
    config: DecoderConfig,
    buf: Vec<u8>,
    /// Read position in `buf`.
    pos: usize,
    /// Stream offset of `buf[pos]`.
    offset: u64,
    /// Payload bytes still to skip after an oversized frame.
    skip: u64,
    /// A large frame whose payload is arriving: bytes go straight into its payload buffer,
    /// copied once, instead of through `buf`.
    partial: Option<Partial>,
    /// The frame (by stream offset) whose header rules were already reported, before its
    /// payload was all there.
    header_reported: Option<u64>,
    /// Frames completed or skipped so far: the index of the frame being read.
    frames: u64,
    items: VecDeque<Item>,
}

impl Decoder {
    /// A decoder at the start of a stream.
    pub fn new(config: DecoderConfig) -> Self {
        Self {
            config,
            buf: Vec::new(),
            pos: 0,
            offset: 0,
            skip: 0,
            partial: None,
            header_reported: None,
            frames: 0,
            items: VecDeque::new(),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &DecoderConfig {
        &self.config
    }

    /// Changes the configuration, for example once an extension is negotiated.
    pub fn set_config(&mut self, config: DecoderConfig) {
        self.config = config;
    }

    /// Stream bytes consumed so far (decoded into items or skipped).
    pub fn consumed(&self) -> u64 {
        self.offset
    }

    /// Bytes received but not yet decoded.
    pub fn buffered(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// The frame whose payload is still arriving, if any: its header, its stream offset, its
    /// index, and the payload bytes received so far, masked as sent. For the message layer's fail-fast
    /// checks (a text frame whose first bytes are already invalid UTF-8).
    pub fn arriving(&self) -> Option<(FrameHeader, u64, u64, &[u8])> {
        if let Some(p) = &self.partial {
            return Some((p.header, p.start, self.frames, &p.payload));
        }
        if self.skip > 0 {
            return None;
        }
        let h = self.parse_header()?;
        let have = &self.buf[self.pos + h.header_len..];
        (h.len <= self.config.max_frame_len && (have.len() as u64) < h.len).then_some((
            h,
            self.offset,
            self.frames,
            have,
        ))
    }

    /// The streamed payload buffer's length and capacity, while a large frame is arriving.
    #[cfg(test)]
    fn partial_buffer(&self) -> Option<(usize, usize)> {
        self.partial
            .as_ref()
            .map(|p| (p.payload.len(), p.payload.capacity()))
    }

    /// Appends received bytes.
    pub fn feed(&mut self, mut data: &[u8]) {
        if self.skip > 0 {
            let n = self.skip.min(data.len() as u64);
            self.skip -= n;
            self.offset += n;
            data = &data[n as usize..];
        }
        if let Some(partial) = self.partial.as_mut() {
            let n = partial.remaining().min(data.len() as u64) as usize;
            partial.append(&data[..n]);
            self.offset += n as u64;
            data = &data[n..];
            if partial.remaining() == 0
                && let Some(p) = self.partial.take()
            {
                self.complete_frame(p.header, p.start, p.payload);
            }
        }
        if self.pos == self.buf.len() {
            self.buf.clear();
            self.pos = 0;
        } else if self.pos > 64 * 1024 && self.pos * 2 > self.buf.len() {
            self.buf.drain(..self.pos);
            self.pos = 0;
        }
        self.buf.extend_from_slice(data);
    }

    /// The next item, or `None` when more bytes are needed.
    pub fn poll(&mut self) -> Option<Item> {
        if self.items.is_empty() {
            self.decode_next();
        }
        self.items.pop_front()
    }

    /// Reports what the end of the stream leaves unfinished: a partial frame. Call once after
    /// the peer closed the connection, then drain with `poll`.
    pub fn finish(&mut self) {
        while self.decode_next() {}
        if let Some(p) = self.partial.take() {
            let header_len = p.header.header_len as u64;
            let have = header_len + p.payload.len() as u64;
            let need = header_len + p.header.len;
            self.push(p.start, None, ViolationKind::TruncatedFrame { have, need });
        }
        let rest = self.buffered() as u64;
        if self.skip > 0 || rest > 0 {
            let (have, need) = match self.parse_header() {
                Some(h) => (rest, h.header_len as u64 + h.len),
                None if self.skip > 0 => (0, self.skip),
                None => (rest, rest + 1),
            };
            self.push(
                self.offset,
                None,
                ViolationKind::TruncatedFrame { have, need },
            );
        }
    }

    /// Queues a violation of the frame being read (the `frames`-th), or of the stream.
    fn push(&mut self, offset: u64, frame: Option<u64>, kind: ViolationKind) {
        self.items.push_back(Item::Violation(Violation {
            offset,
            frame,
            frame_index: frame.map(|_| self.frames),
            kind,
        }));
    }

    /// Parses the header at `pos`, if enough bytes are there. Pure: consumes nothing.
    fn parse_header(&self) -> Option<FrameHeader> {
        parse_header(&self.buf[self.pos..])
    }

    /// Decodes one frame if its bytes are all here. Returns whether anything was consumed.
    fn decode_next(&mut self) -> bool {
        if self.partial.is_some() {
            return false;
        }
        let Some(h) = self.parse_header() else {
            return false;
        };
        let start = self.offset;
        if h.len > self.config.max_frame_len {
            // The checks that need the header only, in header order, then the cap.
            for kind in self.check_header(&h) {
                self.push(start, Some(start), kind);
            }
            self.push(
                start,
                Some(start),
                ViolationKind::FrameTooLarge {
                    declared: h.len,
                    cap: self.config.max_frame_len,
                    fin: h.fin,
                    header_len: h.header_len as u8,
                },
            );
            // Skip the header and whatever payload is buffered; the rest is skipped in `feed`.
            let available = (self.buf.len() - self.pos - h.header_len) as u64;
            let take = available.min(h.len);
            self.pos += h.header_len + take as usize;
            self.offset += h.header_len as u64 + take;
            self.skip = h.len - take;
            self.frames += 1;
            return true;
        }
        // `len <= max_frame_len`. A small frame is copied out once all of it is buffered; a
        // large one reserves at most `RESERVE_BOUND` before its bytes arrive.
        let total = h.header_len as u64 + h.len;
        let payload_start = self.pos + h.header_len;
        if ((self.buf.len() - self.pos) as u64) < total {
            // What the header alone decides is reported now, not when (if ever) the payload
            // is all there: an endpoint fails the connection on a bad header at once, and a
            // peer that never sends the rest must not hide the fault.
            if self.header_reported != Some(start) {
                self.header_reported = Some(start);
                for kind in self.check_header(&h) {
                    self.push(start, Some(start), kind);
                }
            }
            if h.len >= STREAM_THRESHOLD {
                // Take the header and the payload bytes buffered so far; the rest of the
                // payload is appended in `feed` as it arrives.
                let mut partial = Partial {
                    header: h,
                    start,
                    payload: Vec::new(),
                };
                partial.append(&self.buf[payload_start..]);
                self.offset += (self.buf.len() - self.pos) as u64;
                self.pos = self.buf.len();
                self.partial = Some(partial);
            }
            return false;
        }
        let payload = self.buf[payload_start..payload_start + h.len as usize].to_vec();
        self.pos += total as usize;
        self.offset += total;
        self.complete_frame(h, start, payload);
        true
    }

    /// Unmasks a complete frame's payload, checks the payload rules, and queues the frame
    /// and its violations.
    fn complete_frame(&mut self, h: FrameHeader, start: u64, mut payload: Vec<u8>) {
        if let Some(key) = h.mask {
            apply_mask(&mut payload, key);
        }
        let header_faults = if self.header_reported == Some(start) {
            self.header_reported = None;
            Vec::new()
        } else {
            self.check_header(&h)
        };
        let payload_offset = start + h.header_len as u64;
        let frame = Frame {
            offset: start,
            index: self.frames,
            raw: RawFrame {
                fin: h.fin,
                rsv: h.rsv,
                opcode: h.opcode,
                mask: h.mask,
                length_form: h.form,
                declared_len: None,
                payload,
            },
        };
        let mut faults: Vec<(u64, ViolationKind)> =
            header_faults.into_iter().map(|k| (start, k)).collect();
        self.check_payload(&frame, payload_offset, &mut faults);
        for (offset, kind) in faults {
            self.push(offset, Some(start), kind);
        }
        self.items.push_back(Item::Frame(frame));
        self.frames += 1;
    }

    /// The §5 rules that the header alone decides.
    fn check_header(&self, h: &FrameHeader) -> Vec<ViolationKind> {
        let mut faults = Vec::new();
        match (self.config.side, h.mask.is_some()) {
            // RFC 6455 §5.1: "A server MUST NOT mask any frames that it sends to the client.
            // A client MUST close a connection if it detects a masked frame."
            (Side::Client, true) => faults.push(ViolationKind::MaskedFrameFromServer),
            // RFC 6455 §5.1: "The server MUST close the connection upon receiving a frame that
            // is not masked."
            (Side::Server, false) => faults.push(ViolationKind::UnmaskedFrameFromClient),
            _ => {}
        }
        // RFC 6455 §5.2: "MUST be 0 unless an extension is negotiated that defines meanings
        // for non-zero values." RFC 7692 §6: RSV1 marks the first frame of a compressed
        // message; it is not allowed on control or continuation frames.
        let mut allowed = self.config.extension_rsv;
        if matches!(h.opcode, OpCode::TEXT | OpCode::BINARY) {
            allowed = allowed | self.config.message_rsv;
        }
        let bad = h.rsv.without(allowed);
        if !bad.is_empty() {
            faults.push(ViolationKind::ReservedBitsSet { rsv: bad });
        }
        // RFC 6455 §5.2: "If an unknown opcode is received, the receiving endpoint MUST _Fail
        // the WebSocket Connection_."
        if h.opcode.is_reserved() {
            faults.push(ViolationKind::ReservedOpcode(h.opcode));
        }
        // RFC 6455 §5.2: "in all cases, the minimal number of bytes MUST be used to encode the
        // length"; and for the 64-bit form "the most significant bit MUST be 0".
        if h.form == LengthForm::Bits64 && h.len >> 63 == 1 {
            faults.push(ViolationKind::LengthTopBitSet(h.len));
        } else if h.form != LengthForm::minimal_for(h.len) {
            faults.push(ViolationKind::NonMinimalLength {
                len: h.len,
                form: h.form,
            });
        }
        if h.opcode.is_control() {
            // RFC 6455 §5.5: "All control frames MUST have a payload length of 125 bytes or
            // less and MUST NOT be fragmented."
            if !h.fin {
                faults.push(ViolationKind::FragmentedControlFrame(h.opcode));
            }
            if h.len > 125 {
                faults.push(ViolationKind::ControlFrameTooLong {
                    opcode: h.opcode,
                    len: h.len,
                });
            }
        }
        faults
    }

    /// The rules that need the payload: the close frame's body.
    fn check_payload(
        &mut self,
        frame: &Frame,
        payload_offset: u64,
        faults: &mut Vec<(u64, ViolationKind)>,
    ) {
        if frame.raw.opcode != OpCode::CLOSE {
            return;
        }
        // RFC 6455 §5.5.1, §7.4: the body, if any, is a valid code then UTF-8 text.
        match parse_close_payload(&frame.raw.payload) {
            Ok(_) => {}
            Err(ClosePayloadError::OneByte) => {
                faults.push((frame.offset, ViolationKind::CloseOneBytePayload));
            }
            Err(ClosePayloadError::InvalidCode(code, class)) => faults.push((
                frame.offset,
                ViolationKind::InvalidCloseCode { code, class },
            )),
            Err(ClosePayloadError::InvalidUtf8 { offset, .. }) => faults.push((
                payload_offset + 2 + offset as u64,
                ViolationKind::InvalidUtf8InCloseReason,
            )),
        }
    }
}

#[cfg(test)]
mod tests;
