//! The strict permessage-deflate inflater against zlib-rs over a series of messages: compressed
//! by a real sender or raw bytes, bits flipped, any window and limit, context takeover on or
//! off (see `wsconform_proto::fuzzing::inflate`).

#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use wsconform_proto::fuzzing::InflateMessage;

#[derive(Arbitrary, Debug)]
struct Message {
    compress: bool,
    flip: Option<(u16, u8)>,
    data: Vec<u8>,
}

#[derive(Arbitrary, Debug)]
struct Input {
    bits: u8,
    takeover: bool,
    limit: u32,
    messages: Vec<Message>,
}

fuzz_target!(|input: Input| {
    let messages: Vec<InflateMessage> = input
        .messages
        .into_iter()
        .take(8)
        .map(|m| InflateMessage {
            compress: m.compress,
            data: m.data,
            flip: m.flip,
        })
        .collect();
    wsconform_proto::fuzzing::inflate(&messages, input.bits, input.takeover, input.limit);
});
