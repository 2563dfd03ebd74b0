//! Our frame-header parser against tungstenite's `FrameHeader::parse`, on raw bytes.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    wsconform::fuzzing::frame_differential(data);
});
