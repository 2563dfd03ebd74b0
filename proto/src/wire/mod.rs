//! The RFC 6455 wire format, sans-IO: frames, masking, UTF-8 and close codes.
//!
//! Nothing in this module does I/O or reads a clock. The encoder can write *any* frame,
//! including every invalid form a test needs ([`RawFrame`]); the [`Decoder`] reads anything a
//! peer sends, reports each violation of [RFC 6455 §5] as a typed [`Violation`] with its byte
//! offset, and never allocates more than `min(declared, 1 MiB)` from a length the peer merely
//! declared (beyond that, memory follows the bytes that came).
//!
//! [RFC 6455 §5]: https://www.rfc-editor.org/rfc/rfc6455#section-5

mod close;
mod decode;
mod frame;
mod mask;
mod opcode;
mod utf8;

pub use close::{CloseCode, CloseCodeClass, ClosePayload, ClosePayloadError, parse_close_payload};
pub use decode::{
    Decoder, DecoderConfig, Frame, FrameHeader, Item, Violation, ViolationKind, parse_header,
};
pub use frame::{LengthForm, RawFrame, Rsv, header_len};
pub use mask::{apply_mask, apply_mask_offset};
pub use opcode::OpCode;
pub use utf8::{Utf8Status, Utf8Validator};

pub use crate::Side;
