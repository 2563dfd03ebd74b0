//! The client side of the opening handshake, RFC 6455 §4.1 and §4.2.2. Sans-IO.
//!
//! [`Request`] builds any request a test needs — every header can be set, removed, repeated
//! or reordered, and a raw-bytes override writes requests that are not HTTP at all.
//! [`parse_response`] reads the server's answer with limits on size and header count, and
//! [`check_response`] applies the client's checks of §4.1, returning typed problems.

mod accept;
mod extensions;
pub mod pmd;
mod request;
mod response;

pub use accept::{WEBSOCKET_GUID, accept_key, generate_key};
pub use extensions::{
    Extension, ExtensionParam, HeaderSyntaxError, parse_extensions, parse_subprotocols,
};
pub use request::Request;
pub use response::{
    Negotiated, Offer, Response, ResponseError, ResponseLimits, ResponseProblem, check_response,
    parse_response,
};
