//! The streaming UTF-8 validator, fed in fuzzer-chosen pieces, agrees with `std`.
//!
//! Input layout, as `arbitrary` 1.x reads it: the cut list, each cut a "more" byte with its
//! low bit set followed by the cut, ended by a byte with the low bit clear; then every
//! remaining byte is the text. A seed is `00` followed by the text (fed whole), or e.g.
//! `01 01 01 03 00` then the text (pieces of 1 and 3 bytes, then the rest).

#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;

#[derive(Arbitrary, Debug)]
struct Input<'a> {
    /// Piece lengths (0 means 1). `u8` rather than `u16`: characters are at most four bytes
    /// long, so short pieces are the interesting ones.
    cuts: Vec<u8>,
    /// The text: every byte after the cut list.
    data: &'a [u8],
}

fuzz_target!(|input: Input<'_>| {
    let cuts: Vec<u16> = input.cuts.iter().map(|&c| u16::from(c)).collect();
    wsconform_proto::fuzzing::utf8_stream(input.data, &cuts);
});
