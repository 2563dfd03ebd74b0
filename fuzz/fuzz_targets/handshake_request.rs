//! The server side of the opening handshake, on raw bytes: the bounded request parser, the
//! §4.2.1 checks, and a server session fed in pieces. The seeds are plain HTTP requests; the
//! limits and the piece size are derived from the input's length, as in handshake_response.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    wsconform_proto::fuzzing::handshake_request_derived(data);
});
