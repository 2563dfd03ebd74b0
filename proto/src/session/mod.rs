//! The sans-IO session, for either side: opening handshake, frames and messages, masking by
//! side, and the event log.
//!
//! A [`Session`] ([`Session::client`] or [`Session::server`]) is a pure function of the bytes and instants it is given — the quinn
//! `Connection` shape. The driver (in the harness, `net`) is the only code that touches sockets or
//! clocks; it moves bytes and time in and out in this order:
//!
//! 1. [`Session::poll_transmit`] for bytes to write; the driver reports each piece it
//!    actually wrote with [`Session::on_sent`] (so chopped writes are logged as they go);
//! 2. [`Session::handle_input`] with every read, and [`Session::handle_closed`]
//!    when the transport ends;
//! 3. [`Session::handle_timeout`] when [`Session::poll_timeout`] passes;
//! 4. [`Session::poll_event`] until it returns `None`; a server answers the
//!    [`SessionEvent::Request`] with [`Session::accept`] or [`Session::refuse`].
//!
//! What it reads goes through the [`Reader`] (the frame decoder and proto's one message
//! layer); what it writes is masked by the [`Writer`] as its side requires.

mod endpoint;
mod event;
mod reader;
mod sent;
mod trace;
mod writer;

pub use endpoint::{HandshakeFailure, Session, SessionConfig, SessionEvent, SessionState};
pub use event::{
    Closure, DIGEST_OVER, Direction, Event, EventKind, EventLog, FrameRecord, MAX_EVENTS,
    TRACE_BYTES,
};
pub use reader::{Inbound, Reader};
pub use trace::{render_event, render_trace};
pub use writer::{Masking, Writer};
