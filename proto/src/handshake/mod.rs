//! The opening handshake, RFC 6455 §4, both sides. Sans-IO.
//!
//! The client side (§4.1, §4.2.2 as the client checks it):
//! [`Request`] builds any request a test needs — every header can be set, removed, repeated
//! or reordered, and a raw-bytes override writes requests that are not HTTP at all.
//! [`parse_response`] reads the server's answer with limits on size and header count, and
//! [`check_response`] applies the client's checks of §4.1, returning typed problems.
//!
//! The server side ([`server`], §4.2.1 and §4.2.2): a bounded request parser, the server's
//! checks in order with typed refusals, and the 101 and error responses.

mod accept;
mod extensions;
pub mod pmd;
mod request;
mod response;
pub mod server;

pub use accept::{WEBSOCKET_GUID, accept_key, decode_key, generate_key};
pub use extensions::{
    Extension, ExtensionParam, HeaderSyntaxError, parse_extensions, parse_subprotocols,
};
pub use request::Request;
pub use response::{
    Negotiated, Offer, Response, ResponseError, ResponseLimits, ResponseProblem, check_response,
    parse_response,
};
