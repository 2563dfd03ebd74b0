//! Chunked decoding equals whole decoding, under a fuzzer-chosen decoder configuration.
//!
//! Input layout, as `arbitrary` 1.x reads it: one byte each for `server`, `cap` (two bytes,
//! little-endian), `permessage_deflate`, `rsv`, `validate_utf8`; then the cut list, each cut a
//! "more" byte with its low bit set followed by two bytes, ended by a byte with the low bit
//! clear; then every remaining byte is the stream. A seed is therefore seven bytes of prefix
//! (`00 00 10 00 00 01 00`: client, 4096-byte cap, no extensions, UTF-8 checked, no cuts) and
//! then real frame bytes.

#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use wsconform_proto::message::MessageConfig;
use wsconform_proto::wire::{DecoderConfig, Side, Rsv};

#[derive(Arbitrary, Debug)]
struct Input<'a> {
    /// `true`: we are the server (frames must be masked); `false`: the client.
    server: bool,
    /// The frame cap, kept small so oversized-frame skipping is reached often.
    cap: u16,
    /// A message extension claims RSV1 on first frames (as permessage-deflate does).
    message_rsv1: bool,
    /// Extension RSV bits (only the low three are used).
    rsv: u8,
    validate_utf8: bool,
    /// Piece lengths (0 means 1); the rest is fed whole once they run out.
    cuts: Vec<u16>,
    /// The stream: every byte after the cut list.
    data: &'a [u8],
}

fuzz_target!(|input: Input<'_>| {
    let config = DecoderConfig {
        side: if input.server {
            Side::Server
        } else {
            Side::Client
        },
        max_frame_len: u64::from(input.cap),
        message_rsv: if input.message_rsv1 {
            Rsv::RSV1
        } else {
            Rsv::NONE
        },
        extension_rsv: Rsv::from_bits(input.rsv),
    };
    let messages = MessageConfig {
        validate_utf8: input.validate_utf8,
        // Small, so the message cap is reached often.
        max_message: usize::from(input.cap) * 2,
    };
    wsconform_proto::fuzzing::frame_decode(input.data, &input.cuts, config, messages);
});
