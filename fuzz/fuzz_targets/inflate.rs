//! The strict permessage-deflate inflater against zlib-rs over a series of messages: compressed
//! by a real sender or raw bytes, bits flipped, any window and limit, context takeover on or
//! off (see `wsconform_proto::fuzzing::inflate`; the bytes are read by
//! `wsconform::fuzzing::inflate_input`, which the regression tests replay).

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    wsconform::fuzzing::inflate_input(data);
});
