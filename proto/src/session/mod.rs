//! The sans-IO client session: opening handshake, frame decoding and the event log.
//!
//! A [`ClientSession`] is a pure function of the bytes and instants it is given — the quinn
//! `Connection` shape. The driver (in the harness, `net`) is the only code that touches sockets or
//! clocks; it moves bytes and time in and out in this order:
//!
//! 1. [`ClientSession::poll_transmit`] for bytes to write; the driver reports each piece it
//!    actually wrote with [`ClientSession::on_sent`] (so chopped writes are logged as they go);
//! 2. [`ClientSession::handle_input`] with every read, and [`ClientSession::handle_closed`]
//!    when the transport ends;
//! 3. [`ClientSession::handle_timeout`] when [`ClientSession::poll_timeout`] passes;
//! 4. [`ClientSession::poll_event`] until it returns `None`.

mod client;
mod event;
mod reader;
mod sent;
mod trace;

pub use client::{ClientSession, HandshakeFailure, SessionConfig, SessionEvent, SessionState};
pub use event::{
    Closure, DIGEST_OVER, Direction, Event, EventKind, EventLog, FrameRecord, MAX_EVENTS,
    TRACE_BYTES,
};
pub use reader::{Inbound, Reader};
pub use trace::{render_event, render_trace};
