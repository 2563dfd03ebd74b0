//! wsconform: a WebSocket conformance harness and fuzzer.
//!
//! The protocol itself — the wire codec, the opening handshake and the session — is the
//! sans-IO crate [`wsconform_proto`], re-exported here as [`wire`], [`deflate`], [`handshake`],
//! [`message`] and [`session`]. This crate holds what runs cases on top of it:
//!
//! - [`cases`]: the case library as data — loading, families, selection.
//! - [`runner`]: the sans-IO case interpreter and the verdict rules, and (with the `net`
//!   feature) the async edge that runs a case over the driver, and the parallel pool.
//! - [`peer`]: the reference peer — a strict echo server on proto's server session, with
//!   switchable faults; sans-IO.
//! - [`net`]: the thin tokio driver at the edge — TCP, TLS, chopped and delayed writes,
//!   bounded reads, FIN told apart from RST.
//! - [`echo`]: the embedded tokio-tungstenite echo server used by the demo and the tests.
//! - [`smoke`]: the quick smoke exchange (`wsconform smoke`).
//! - [`serve`]: the harness as the server for a client under test, over Autobahn's
//!   fuzzingserver URL protocol (`wsconform serve`).
//! - [`spec`]: Autobahn's fuzzingclient spec files.
//! - [`conformance`]: the library API for a server's own `cargo test`.
//!
//! Features: `net` brings the tokio edge and the library API; `cli` (on by default) adds the
//! command line's crates. Without either the crate compiles no async runtime, which is how the
//! fuzz targets build on the interpreter.
//!
//! Every protocol violation is a typed value; nothing here panics on input a peer controls.

#![deny(missing_docs)]
#![warn(unreachable_pub)]

pub use wsconform_proto::{Side, deflate, handshake, message, session, wire};

pub mod cases;
#[cfg(feature = "net")]
pub mod conformance;
#[cfg(feature = "net")]
pub mod echo;
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
pub mod live;
#[cfg(feature = "net")]
pub mod net;
pub mod peer;
pub mod runner;
#[cfg(feature = "net")]
pub mod serve;
#[cfg(feature = "net")]
pub mod smoke;
pub mod spec;
