//! The streaming UTF-8 validator, fed in fuzzer-chosen pieces, agrees with `std`.

#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;

#[derive(Arbitrary, Debug)]
struct Input {
    /// Piece lengths (0 means 1). `u8` rather than `u16`: characters are at most four bytes
    /// long, so short pieces are the interesting ones.
    cuts: Vec<u8>,
    data: Vec<u8>,
}

fuzz_target!(|input: Input| {
    let cuts: Vec<u16> = input.cuts.iter().map(|&c| u16::from(c)).collect();
    wsconform::fuzzing::utf8_stream(&input.data, &cuts);
});
