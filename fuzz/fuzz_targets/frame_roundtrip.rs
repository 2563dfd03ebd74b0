//! Encoding then decoding any sequence of frames gives the same frames back.

#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use wsconform_proto::fuzzing::FrameSpec;

/// The largest payload built: above 65 535, so the minimal form can be the 64-bit one.
const MAX_PAYLOAD: usize = 70_000;
/// The most frames encoded in one input.
const MAX_FRAMES: usize = 8;

/// Mirrors [`FrameSpec`], plus a way to reach long payloads from a short input.
#[derive(Arbitrary, Debug)]
struct Spec<'a> {
    fin: bool,
    rsv: u8,
    opcode: u8,
    mask: Option<[u8; 4]>,
    /// 0 minimal, 1 7-bit, 2 16-bit, 3 64-bit (modulo 4).
    form: u8,
    /// When set, the payload is repeated (or zero-filled if empty) up to this length, modulo
    /// `MAX_PAYLOAD + 1`.
    grow_to: Option<u32>,
    /// Its length is read from the end of the input (`arbitrary`'s rule for collections).
    payload: &'a [u8],
}

impl Spec<'_> {
    fn to_spec(&self) -> FrameSpec {
        let mut payload = self.payload.to_vec();
        payload.truncate(MAX_PAYLOAD);
        if let Some(n) = self.grow_to {
            let n = n as usize % (MAX_PAYLOAD + 1);
            if payload.is_empty() {
                payload.resize(n, 0);
            } else {
                payload = payload
                    .iter()
                    .copied()
                    .cycle()
                    .take(n.max(payload.len()))
                    .collect();
            }
        }
        FrameSpec {
            fin: self.fin,
            rsv: self.rsv,
            opcode: self.opcode,
            mask: self.mask,
            form: self.form,
            payload,
        }
    }
}

fuzz_target!(|frames: Vec<Spec<'_>>| {
    let specs: Vec<FrameSpec> = frames.iter().take(MAX_FRAMES).map(Spec::to_spec).collect();
    wsconform_proto::fuzzing::frame_roundtrip(&specs);
});
