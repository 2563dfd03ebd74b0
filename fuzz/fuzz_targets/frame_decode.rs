//! Chunked decoding equals whole decoding, under a fuzzer-chosen decoder configuration.
//!
//! Input layout (as `arbitrary` reads it): the configuration fields, then the cut list, then
//! every remaining byte is the stream fed to the decoder.

#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use wsconform::wire::{DecoderConfig, Role, Rsv};

#[derive(Arbitrary, Debug)]
struct Input {
    /// `true`: we are the server (frames must be masked); `false`: the client.
    server: bool,
    /// The frame cap, kept small so oversized-frame skipping is reached often.
    cap: u16,
    permessage_deflate: bool,
    /// Extension RSV bits (only the low three are used).
    rsv: u8,
    validate_utf8: bool,
    /// Piece lengths (0 means 1); the rest is fed whole once they run out.
    cuts: Vec<u16>,
    data: Vec<u8>,
}

fuzz_target!(|input: Input| {
    let config = DecoderConfig {
        role: if input.server { Role::Server } else { Role::Client },
        max_frame_len: u64::from(input.cap),
        permessage_deflate: input.permessage_deflate,
        extension_rsv: Rsv::from_bits(input.rsv),
        validate_utf8: input.validate_utf8,
    };
    wsconform::fuzzing::frame_decode(&input.data, &input.cuts, config);
});
