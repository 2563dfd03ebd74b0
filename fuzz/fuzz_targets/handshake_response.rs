//! The bounded handshake-response parser, on raw bytes, under several limits.
//!
//! The input is the raw response, so the seeds are plain HTTP text. The limits are derived
//! from the input's length so the size and header-count boundaries are hit exactly; the same
//! pairs are replayed by harness/tests/fuzz_regressions.rs.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let len = u16::try_from(data.len()).unwrap_or(u16::MAX);
    for (max_bytes, max_headers) in [
        (16_384, 64),
        (len, 8),
        (len.saturating_sub(1), 2),
        (len.saturating_add(1), 1),
        (64, 0),
    ] {
        wsconform::fuzzing::handshake_response(data, max_bytes, max_headers);
    }
});
