//! wsconform: a WebSocket conformance harness and fuzzer.
//!
//! The crate is layered like h2 and quinn:
//!
//! - [`wire`]: the RFC 6455 wire format — frame encoder and incremental decoder, masking,
//!   streaming UTF-8, close codes. Sans-IO: a pure function of bytes.
//! - [`handshake`]: the client side of the opening handshake (RFC 6455 §4.1, §4.2.2) — a
//!   request builder that can write any request, and a bounded response parser.
//! - [`proto`]: a sans-IO client session that ties the two together and keeps the timestamped
//!   event log; the caller supplies bytes and time.
//! - [`net`]: the thin tokio driver at the edge — TCP, TLS, chopped and delayed writes,
//!   bounded reads, FIN told apart from RST.
//! - [`echo`]: the embedded tokio-tungstenite echo server used by the demo and the tests.
//! - [`cases`]: the case library as data — loading, families, selection.
//! - [`runner`]: the sans-IO case interpreter, the verdict rules, and the parallel runner.
//! - [`smoke`]: the quick smoke exchange (`wsconform smoke`).
//!
//! Every protocol violation is a typed value; nothing here panics on input a peer controls.

#![deny(missing_docs)]
#![warn(unreachable_pub)]

pub mod cases;
pub mod echo;
pub mod fuzzing;
pub mod handshake;
pub mod net;
pub mod proto;
pub mod runner;
pub mod smoke;
pub mod spec;
pub mod wire;
