//! wsconform-proto: the sans-IO WebSocket core of wsconform.
//!
//! Everything here is a pure function of the bytes and the instants the caller passes in: no
//! sockets, no clock, no async runtime (the quinn-proto shape). The harness's tokio edge moves
//! bytes; the fuzz targets and a library API depend on this crate alone.
//!
//! - [`wire`]: the RFC 6455 wire format — frame encoder (any bit pattern) and incremental
//!   decoder (typed violations with byte offsets), masking, streaming UTF-8, close codes.
//! - [`handshake`]: the opening handshake (RFC 6455 §4) — a request builder that can write any
//!   request, a bounded response parser and the client's checks of §4.1, the server's checks
//!   of §4.2.1 with typed refusals; permessage-deflate negotiation rules (RFC 7692 §7).
//! - [`message`]: the one message layer — frames to messages, control frames in the middle of
//!   a message, §5.4 order, UTF-8 on the message as the application sees it, and the
//!   [`message::Extension`] hook.
//! - [`deflate`]: permessage-deflate (RFC 7692) — a strict inflater with an exact window
//!   and bounded output, compression on zlib-rs, the extension for either side.
//! - [`session`]: the session for either [`Side`] that ties them together: the opening
//!   handshake, the reader (decoder and message layer), masking by side, the timestamped
//!   event log.
//!
//! Every protocol violation is a typed value; nothing here panics on input a peer controls.

#![deny(missing_docs)]
#![warn(unreachable_pub)]

/// Which endpoint of a WebSocket connection we are (RFC 6455 §1.2). The side decides which
/// frames must be masked (§5.1: a client masks every frame, a server none), which half of the
/// opening handshake runs, and who closes TCP first (§7.1.1: the server).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Side {
    /// The client: it masks its frames; the server's must not be masked.
    Client,
    /// The server: its frames are not masked; the client's must be.
    Server,
}

impl Side {
    /// The other endpoint.
    pub fn peer(self) -> Side {
        match self {
            Side::Client => Side::Server,
            Side::Server => Side::Client,
        }
    }
}

pub mod deflate;
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
pub mod handshake;
pub mod message;
pub mod session;
pub mod wire;
