//! Frames as the encoder writes them, RFC 6455 §5.2.
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-------+-+-------------+-------------------------------+
//! |F|R|R|R| opcode|M| Payload len |    Extended payload length    |
//! |I|S|S|S|  (4)  |A|     (7)     |             (16/64)           |
//! |N|V|V|V|       |S|             |   (if payload len==126/127)   |
//! | |1|2|3|       |K|             |                               |
//! +-+-+-+-+-------+-+-------------+ - - - - - - - - - - - - - - - +
//! ```
//!
//! A [`RawFrame`] leaves every header field free, so a test can write any byte pattern:
//! reserved opcodes, RSV bits, a mask or none, a length in a longer form than needed, a
//! 64-bit length with its top bit set, or a header that declares more bytes than follow.

use std::fmt;

use super::close::CloseCode;
use super::mask::apply_mask;
use super::opcode::OpCode;

/// The three reserved bits, RSV1 (0b100), RSV2 (0b010) and RSV3 (0b001).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Rsv(u8);

impl Rsv {
    /// No bit set.
    pub const NONE: Self = Self(0);
    /// RSV1, used by permessage-deflate (RFC 7692 §6).
    pub const RSV1: Self = Self(0b100);
    /// RSV2.
    pub const RSV2: Self = Self(0b010);
    /// RSV3.
    pub const RSV3: Self = Self(0b001);

    /// The bits from a 3-bit value (RSV1 is the most significant); upper bits are ignored.
    pub const fn from_bits(bits: u8) -> Self {
        Self(bits & 0b111)
    }

    /// The 3-bit value.
    pub const fn bits(self) -> u8 {
        self.0
    }

    /// Whether no bit is set.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// Bits set in `self` but not in `allowed`.
    pub const fn without(self, allowed: Rsv) -> Rsv {
        Self(self.0 & !allowed.0)
    }
}

impl fmt::Debug for Rsv {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0 == 0 {
            return f.write_str("-");
        }
        let names = ["RSV1", "RSV2", "RSV3"];
        let set: Vec<&str> = (0..3)
            .filter(|i| self.0 & (0b100 >> i) != 0)
            .map(|i| names[i])
            .collect();
        f.write_str(&set.join("|"))
    }
}

impl std::ops::BitOr for Rsv {
    type Output = Rsv;
    fn bitor(self, rhs: Rsv) -> Rsv {
        Rsv(self.0 | rhs.0)
    }
}

/// How the payload length is written in the header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum LengthForm {
    /// The shortest form that holds the length, as RFC 6455 §5.2 requires.
    #[default]
    Minimal,
    /// The 7-bit field alone (only for lengths up to 125).
    Bits7,
    /// 126 followed by a 16-bit length (non-minimal below 126).
    Bits16,
    /// 127 followed by a 64-bit length (non-minimal below 65536).
    Bits64,
}

impl LengthForm {
    /// The shortest form that holds `len`.
    pub const fn minimal_for(len: u64) -> Self {
        if len <= 125 {
            Self::Bits7
        } else if len <= 0xFFFF {
            Self::Bits16
        } else {
            Self::Bits64
        }
    }

    /// The concrete form written for `len`: `Minimal` becomes the shortest form, and a form
    /// too small for `len` is widened to the shortest one that holds it.
    pub const fn resolve(self, len: u64) -> Self {
        let minimal = Self::minimal_for(len);
        match (self, minimal) {
            (Self::Minimal, m) => m,
            (Self::Bits7, m) => m,
            (Self::Bits16, Self::Bits64) => Self::Bits64,
            (Self::Bits16, _) => Self::Bits16,
            (Self::Bits64, _) => Self::Bits64,
        }
    }

    /// Bytes this form adds after the second header byte.
    pub const fn extended_len(self) -> usize {
        match self {
            Self::Minimal | Self::Bits7 => 0,
            Self::Bits16 => 2,
            Self::Bits64 => 8,
        }
    }
}

/// The header length for a frame of `len` bytes in `form`, masked or not.
pub const fn header_len(form: LengthForm, len: u64, masked: bool) -> usize {
    2 + form.resolve(len).extended_len() + if masked { 4 } else { 0 }
}

/// A frame with every header field under the caller's control.
///
/// The payload is held unmasked; [`RawFrame::encode`] masks it on the way out.
#[derive(Clone, PartialEq, Eq)]
pub struct RawFrame {
    /// FIN: this is the final fragment of a message.
    pub fin: bool,
    /// The reserved bits.
    pub rsv: Rsv,
    /// The opcode, any of the 16 values.
    pub opcode: OpCode,
    /// The masking key, or `None` to send the payload unmasked (MASK bit 0).
    pub mask: Option<[u8; 4]>,
    /// How the length is written.
    pub length_form: LengthForm,
    /// A length to declare instead of the payload's real length: larger to write a header
    /// that promises bytes that never come, or with the top bit set. `None` declares the truth.
    pub declared_len: Option<u64>,
    /// The payload, unmasked.
    pub payload: Vec<u8>,
}

impl RawFrame {
    /// A final, unmasked frame with `opcode` and `payload`, minimal length form.
    pub fn new(opcode: OpCode, payload: impl Into<Vec<u8>>) -> Self {
        Self {
            fin: true,
            rsv: Rsv::NONE,
            opcode,
            mask: None,
            length_form: LengthForm::Minimal,
            declared_len: None,
            payload: payload.into(),
        }
    }

    /// A final text frame.
    pub fn text(payload: impl Into<Vec<u8>>) -> Self {
        Self::new(OpCode::TEXT, payload)
    }

    /// A final binary frame.
    pub fn binary(payload: impl Into<Vec<u8>>) -> Self {
        Self::new(OpCode::BINARY, payload)
    }

    /// A continuation frame (final unless changed with [`RawFrame::fin`]).
    pub fn continuation(payload: impl Into<Vec<u8>>) -> Self {
        Self::new(OpCode::CONTINUATION, payload)
    }

    /// A ping.
    pub fn ping(payload: impl Into<Vec<u8>>) -> Self {
        Self::new(OpCode::PING, payload)
    }

    /// A pong.
    pub fn pong(payload: impl Into<Vec<u8>>) -> Self {
        Self::new(OpCode::PONG, payload)
    }

    /// A close frame with a code and a reason (RFC 6455 §5.5.1).
    pub fn close(code: CloseCode, reason: &str) -> Self {
        let mut payload = code.0.to_be_bytes().to_vec();
        payload.extend_from_slice(reason.as_bytes());
        Self::new(OpCode::CLOSE, payload)
    }

    /// A close frame with an empty payload.
    pub fn close_empty() -> Self {
        Self::new(OpCode::CLOSE, Vec::new())
    }

    /// Sets FIN.
    pub fn fin(mut self, fin: bool) -> Self {
        self.fin = fin;
        self
    }

    /// Sets the reserved bits.
    pub fn rsv(mut self, rsv: Rsv) -> Self {
        self.rsv = rsv;
        self
    }

    /// Masks the payload with `key`.
    pub fn masked(mut self, key: [u8; 4]) -> Self {
        self.mask = Some(key);
        self
    }

    /// Masks the payload with a fresh random key, as a client must (RFC 6455 §5.3).
    pub fn masked_random(self) -> Self {
        let key = fastrand::u32(..).to_ne_bytes();
        self.masked(key)
    }

    /// Sends the payload unmasked.
    pub fn unmasked(mut self) -> Self {
        self.mask = None;
        self
    }

    /// Writes the length in `form`.
    pub fn length_form(mut self, form: LengthForm) -> Self {
        self.length_form = form;
        self
    }

    /// Declares `len` in the header, whatever the payload's real length.
    pub fn declared_len(mut self, len: u64) -> Self {
        self.declared_len = Some(len);
        self
    }

    /// The length the header declares.
    pub fn wire_len(&self) -> u64 {
        self.declared_len.unwrap_or(self.payload.len() as u64)
    }

    /// The header length of this frame on the wire.
    pub fn header_len(&self) -> usize {
        header_len(self.length_form, self.wire_len(), self.mask.is_some())
    }

    /// Appends the header alone to `out`.
    pub fn encode_header(&self, out: &mut Vec<u8>) {
        let len = self.wire_len();
        let form = self.length_form.resolve(len);
        out.push((u8::from(self.fin) << 7) | (self.rsv.bits() << 4) | self.opcode.value());
        let mask_bit = u8::from(self.mask.is_some()) << 7;
        match form {
            LengthForm::Minimal | LengthForm::Bits7 => out.push(mask_bit | len as u8),
            LengthForm::Bits16 => {
                out.push(mask_bit | 126);
                out.extend_from_slice(&(len as u16).to_be_bytes());
            }
            LengthForm::Bits64 => {
                out.push(mask_bit | 127);
                out.extend_from_slice(&len.to_be_bytes());
            }
        }
        if let Some(key) = self.mask {
            out.extend_from_slice(&key);
        }
    }

    /// Appends the whole frame to `out`, masking the payload if a key is set.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.reserve(self.header_len() + self.payload.len());
        self.encode_header(out);
        let start = out.len();
        out.extend_from_slice(&self.payload);
        if let Some(key) = self.mask {
            apply_mask(&mut out[start..], key);
        }
    }

    /// The whole frame as bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode(&mut out);
        out
    }
}

impl fmt::Debug for RawFrame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RawFrame")
            .field("fin", &self.fin)
            .field("rsv", &self.rsv)
            .field("opcode", &self.opcode)
            .field(
                "mask",
                &self
                    .mask
                    .map(|k| format!("{:02x}{:02x}{:02x}{:02x}", k[0], k[1], k[2], k[3])),
            )
            .field("length_form", &self.length_form)
            .field("declared_len", &self.declared_len)
            .field("payload_len", &self.payload.len())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_examples() {
        // RFC 6455 §5.7: a single-frame unmasked text message.
        assert_eq!(RawFrame::text("Hello").to_bytes(), b"\x81\x05Hello");
        // A single-frame masked text message.
        assert_eq!(
            RawFrame::text("Hello")
                .masked([0x37, 0xfa, 0x21, 0x3d])
                .to_bytes(),
            [
                0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58
            ]
        );
        // A fragmented unmasked text message.
        assert_eq!(RawFrame::text("Hel").fin(false).to_bytes(), b"\x01\x03Hel");
        assert_eq!(RawFrame::continuation("lo").to_bytes(), b"\x80\x02lo");
        // 256 bytes binary message in a single unmasked frame.
        let frame = RawFrame::binary(vec![0; 256]).to_bytes();
        assert_eq!(&frame[..4], [0x82, 0x7E, 0x01, 0x00]);
        // 64KiB binary message in a single unmasked frame.
        let frame = RawFrame::binary(vec![0; 65536]).to_bytes();
        assert_eq!(&frame[..10], [0x82, 0x7F, 0, 0, 0, 0, 0, 1, 0, 0]);
    }

    #[test]
    fn writes_invalid_forms_on_request() {
        let bits = RawFrame::new(OpCode::new(0xB), "x")
            .fin(false)
            .rsv(Rsv::RSV2 | Rsv::RSV3)
            .length_form(LengthForm::Bits64)
            .to_bytes();
        assert_eq!(bits, [0x3B, 127, 0, 0, 0, 0, 0, 0, 0, 1, b'x']);
        let short16 = RawFrame::ping("")
            .length_form(LengthForm::Bits16)
            .to_bytes();
        assert_eq!(short16, [0x89, 126, 0, 0]);
        let lie = RawFrame::binary("abc").declared_len(1 << 63).to_bytes();
        assert_eq!(
            lie,
            [0x82, 127, 0x80, 0, 0, 0, 0, 0, 0, 0, b'a', b'b', b'c']
        );
        let promise = RawFrame::binary("ab").declared_len(10).to_bytes();
        assert_eq!(promise, [0x82, 10, b'a', b'b']);
    }

    #[test]
    fn length_form_resolution_widens_only() {
        assert_eq!(LengthForm::Bits7.resolve(200), LengthForm::Bits16);
        assert_eq!(LengthForm::Bits16.resolve(70_000), LengthForm::Bits64);
        assert_eq!(LengthForm::Bits64.resolve(1), LengthForm::Bits64);
        assert_eq!(LengthForm::Minimal.resolve(125), LengthForm::Bits7);
        assert_eq!(LengthForm::Minimal.resolve(126), LengthForm::Bits16);
        assert_eq!(LengthForm::Minimal.resolve(65_536), LengthForm::Bits64);
    }
}
