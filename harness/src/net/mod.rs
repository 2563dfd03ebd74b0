//! The tokio driver: the only part of the harness that touches sockets and clocks.
//!
//! [`Target`] parses a `ws://` or `wss://` URL; [`connect`] opens TCP (with `TCP_NODELAY`)
//! and, for `wss://`, TLS with rustls; [`Driver`] moves bytes between the socket and a
//! [`crate::session::Session`], writing in chops with delays between them, bounding every
//! read by a deadline, and telling an orderly close (FIN) from a reset (RST). A target can
//! also be served in this process ([`InProcess`], over in-memory pipes).

mod connect;
mod driver;
mod memory;
mod serve;
mod target;
mod tls;

pub use connect::{ConnectError, Stream, connect};
pub use driver::{Driver, ReadOutcome, WriteShape};
pub use memory::InProcess;
pub use serve::serve_reference;
pub use target::{Target, TargetError};
pub use tls::{TlsError, TlsOptions, server_config as tls_server_config};
