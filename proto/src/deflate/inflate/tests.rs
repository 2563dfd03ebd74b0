use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress};

use super::*;

/// Raw deflate of `data` by zlib-rs, sync-flushed, tail stripped.
fn zlib(data: &[u8], bits: u8, level: u32) -> Vec<u8> {
    let mut c = Compress::new_with_window_bits(Compression::new(level), false, bits);
    let mut out = Vec::with_capacity(data.len() * 2 + 64);
    c.compress_vec(data, &mut out, FlushCompress::Sync)
        .expect("compress");
    assert!(out.ends_with(&TAIL));
    out.truncate(out.len() - 4);
    out
}

/// Bytes with structure at a distance: a random block, then a copy of it `gap` bytes later.
fn repeat_at(gap: usize) -> Vec<u8> {
    let mut rng = fastrand::Rng::with_seed(gap as u64);
    let mut data: Vec<u8> = (0..gap).map(|_| rng.u8(..)).collect();
    let copy = data[..gap.min(300)].to_vec();
    data.extend_from_slice(&copy);
    data
}

fn corruption(r: Result<Vec<u8>, InflateError>) -> CorruptionKind {
    match r {
        Err(InflateError::Corrupt(c)) => c.kind,
        other => panic!("expected a corruption, got {other:?}"),
    }
}

#[test]
fn inflates_what_zlib_compresses() {
    let mut rng = fastrand::Rng::with_seed(5);
    for size in [0usize, 1, 15, 300, 5000, 70_000] {
        let text: Vec<u8> = (0..size).map(|_| b"abc de\n"[rng.usize(..7)]).collect();
        for level in [0, 1, 6, 9] {
            let packed = zlib(&text, 15, level);
            let out = Inflater::new(15, true)
                .inflate(&packed, usize::MAX)
                .expect("inflate");
            assert_eq!(out, text, "size {size} level {level}");
        }
    }
}

#[test]
fn zlib_does_not_enforce_the_window() {
    // A back-reference 1000 bytes back, in one message.
    let data = repeat_at(1000);
    let packed = zlib(&data, 15, 6);
    // zlib-rs set to a 9-bit (512-byte) window accepts it: the output of the call counts as
    // held history.
    let mut d = Decompress::new_with_window_bits(false, 9);
    let mut out = Vec::with_capacity(4096);
    let mut input = packed.clone();
    input.extend_from_slice(&TAIL);
    d.decompress_vec(&input, &mut out, FlushDecompress::Sync)
        .expect("zlib accepts it");
    assert_eq!(out, data);
    // Ours does not.
    let kind = corruption(Inflater::new(9, true).inflate(&packed, usize::MAX));
    assert!(
        matches!(
            kind,
            CorruptionKind::DistanceTooFar {
                distance: 1000,
                window: 512,
                ..
            }
        ),
        "{kind:?}"
    );
    assert_eq!(
        Inflater::new(10, true)
            .inflate(&packed, usize::MAX)
            .expect("10 bits"),
        data
    );
}

#[test]
fn nine_bit_window_fits_eight() {
    // zlib turns an 8-bit window into 9, yet stays within 250 bytes: a strict 8-bit inflater
    // takes all of it (deflate-and-client-bugs.md 1.5).
    for seed in 0..40u64 {
        let mut rng = fastrand::Rng::with_seed(seed);
        let alphabet = 2 + rng.usize(..30);
        let data: Vec<u8> = (0..4000)
            .map(|_| b'a' + rng.usize(..alphabet) as u8)
            .collect();
        let packed = zlib(&data, 9, 1 + (seed % 9) as u32);
        let out = Inflater::new(8, true).inflate(&packed, usize::MAX);
        assert_eq!(out.expect("within 8 bits"), data, "seed {seed}");
    }
}

#[test]
fn the_limit_stops_inflating() {
    let zeros = vec![0u8; 10 << 20];
    let packed = zlib(&zeros, 15, 9);
    assert!(packed.len() < 20_000, "a bomb: {} bytes", packed.len());
    let r = Inflater::new(15, true).inflate(&packed, 1 << 20);
    assert_eq!(r, Err(InflateError::TooLarge { limit: 1 << 20 }));
    // The exact size passes; one byte less does not.
    let small = zlib(&zeros[..4096], 15, 9);
    assert_eq!(
        Inflater::new(15, true)
            .inflate(&small, 4096)
            .map(|v| v.len()),
        Ok(4096)
    );
    assert_eq!(
        Inflater::new(15, true).inflate(&small, 4095),
        Err(InflateError::TooLarge { limit: 4095 })
    );
}

#[test]
fn empty_messages() {
    // RFC 7692 §7.2.3.6: an empty message compresses to `00`; `02 00` (an empty fixed block)
    // and no bytes at all are empty too.
    for payload in [&[0x00u8][..], &[0x02, 0x00], &[]] {
        assert_eq!(
            Inflater::new(15, true).inflate(payload, 10),
            Ok(Vec::new()),
            "{payload:02x?}"
        );
    }
}

#[test]
fn stream_shapes() {
    let text = b"Hello, Hello, Hello!".to_vec();
    let packed = zlib(&text, 15, 6);
    // A tail left on: the appended one starts another stored block that is cut short.
    let mut unstripped = packed.clone();
    unstripped.extend_from_slice(&TAIL);
    assert_eq!(
        Inflater::new(15, true).inflate(&unstripped, 100),
        Ok(text.clone())
    );
    // A final block (Z_FINISH), then the next message starts a fresh stream.
    let mut c = Compress::new_with_window_bits(Compression::new(6), false, 15);
    let mut fin = Vec::with_capacity(256);
    c.compress_vec(&text, &mut fin, FlushCompress::Finish)
        .expect("finish");
    let mut inflater = Inflater::new(15, true);
    assert_eq!(inflater.inflate(&fin, 100), Ok(text.clone()));
    assert_eq!(inflater.inflate(&packed, 100), Ok(text.clone()));
    // Data after the final block.
    let mut after = fin.clone();
    after.extend_from_slice(&packed);
    assert!(matches!(
        corruption(Inflater::new(15, true).inflate(&after, 100)),
        CorruptionKind::DataAfterFinal(_)
    ));
    // Stored, fixed and dynamic blocks in one message.
    // Sync-flushed pieces end on a byte boundary, so they concatenate into one stream.
    let long: Vec<u8> = (0..3000).map(|i| b"dynamic huffman"[i % 15]).collect();
    let mut mixed = zlib(b"stored ", 15, 0);
    mixed.extend_from_slice(&TAIL);
    mixed.extend(zlib(&text, 15, 6));
    mixed.extend_from_slice(&TAIL);
    mixed.extend(zlib(&long, 15, 6));
    let mut want = b"stored ".to_vec();
    want.extend_from_slice(&text);
    want.extend_from_slice(&long);
    assert_eq!(
        Inflater::new(15, true).inflate(&mixed, usize::MAX),
        Ok(want)
    );
}

#[test]
fn corrupt_streams() {
    let inflate = |p: &[u8]| corruption(Inflater::new(15, true).inflate(p, 1000));
    // BTYPE=11: bits 1, 11 → 0b111.
    assert_eq!(inflate(&[0x07]), CorruptionKind::ReservedBlockType);
    assert_eq!(inflate(&[0x06]), CorruptionKind::ReservedBlockType);
    // Stored, LEN 5 with a wrong NLEN.
    assert!(matches!(
        inflate(&[0x00, 0x05, 0x00, 0x00, 0x00, b'h']),
        CorruptionKind::StoredLength { len: 5, nlen: 0 }
    ));
    // A fixed block whose first code is a distance of 10 with nothing before it.
    let packed = zlib(b"aaaaaaaaaaaaaaaaaaaaaaaaa", 15, 6);
    let mut far = Vec::new();
    // Fixed block, then length code 257 (3 bytes: 7 bits 0000001) and distance code 6 (9-12).
    let mut bits = BitsOut::default();
    bits.put(0b1, 1); // BFINAL
    bits.put(0b01, 2); // fixed
    bits.put_rev(0b0000001, 7); // length 3
    bits.put_rev(6, 5); // distance code 6: 9 + 1 extra bit
    bits.put(0, 1);
    bits.put_rev(0, 7); // end of block
    far.extend(bits.finish());
    assert!(matches!(
        inflate(&far),
        CorruptionKind::DistanceTooFar {
            distance: 9,
            reach: 0,
            ..
        }
    ));
    // Truncated: a stored block of 100 bytes with 10 present (the appended tail does not
    // complete it). Cut Huffman data is not reliably detectable: the tail's bits decode as
    // codes, as in any streaming inflater.
    let mut cut = vec![0x00, 100, 0, !100u8, 0xff];
    cut.extend_from_slice(&[b'x'; 10]);
    assert_eq!(inflate(&cut), CorruptionKind::Truncated);
    assert!(!packed.is_empty());
}

#[test]
fn takeover_keeps_history_and_no_takeover_does_not() {
    let mut c = Compress::new_with_window_bits(Compression::new(6), false, 15);
    let first = b"the quick brown fox jumps over the lazy dog".to_vec();
    let mut a = Vec::with_capacity(256);
    c.compress_vec(&first, &mut a, FlushCompress::Sync)
        .expect("a");
    a.truncate(a.len() - 4);
    let mut b = Vec::with_capacity(256);
    c.compress_vec(&first, &mut b, FlushCompress::Sync)
        .expect("b");
    b.truncate(b.len() - 4);
    assert!(b.len() < a.len(), "the second refers back to the first");
    let mut on = Inflater::new(15, true);
    assert_eq!(on.inflate(&a, 100), Ok(first.clone()));
    assert_eq!(on.inflate(&b, 100), Ok(first.clone()));
    let mut off = Inflater::new(15, false);
    assert_eq!(off.inflate(&a, 100), Ok(first.clone()));
    assert!(matches!(
        corruption(off.inflate(&b, 100)),
        CorruptionKind::DistanceTooFar { .. }
    ));
}

/// Writes bits LSB-first, for hand-built streams.
#[derive(Default)]
struct BitsOut {
    bytes: Vec<u8>,
    acc: u32,
    n: u32,
}

impl BitsOut {
    fn put(&mut self, value: u32, n: u32) {
        for i in 0..n {
            self.acc |= ((value >> i) & 1) << self.n;
            self.n += 1;
            if self.n == 8 {
                self.bytes.push(self.acc as u8);
                self.acc = 0;
                self.n = 0;
            }
        }
    }

    /// A Huffman code, most significant bit first.
    fn put_rev(&mut self, code: u32, n: u32) {
        for i in (0..n).rev() {
            self.put((code >> i) & 1, 1);
        }
    }

    fn finish(mut self) -> Vec<u8> {
        if self.n > 0 {
            self.bytes.push(self.acc as u8);
        }
        self.bytes
    }
}

#[test]
fn a_message_ends_on_a_byte_boundary() {
    // A fixed block holding "a" and its end code ends mid-byte; what follows in that byte and
    // the appended tail is read as another block. Its header bits 11 (reserved) are corrupt,
    // zlib's "invalid block type"; bits that leave a header unfinished at the end are a cut.
    let mut bits = BitsOut::default();
    bits.put(0, 1);
    bits.put(1, 2);
    bits.put_rev(0x30 + b'a' as u32, 8);
    bits.put_rev(0, 7);
    bits.put(0b110, 3); // BFINAL 0, BTYPE 11
    let payload = bits.finish();
    assert_eq!(
        corruption(Inflater::new(15, true).inflate(&payload, 100)),
        CorruptionKind::ReservedBlockType
    );
    // The same block, then the sync flush's stored header (000) and nothing cut: valid.
    let mut bits = BitsOut::default();
    bits.put(0, 1);
    bits.put(1, 2);
    bits.put_rev(0x30 + b'a' as u32, 8);
    bits.put_rev(0, 7);
    bits.put(0, 3);
    assert_eq!(
        Inflater::new(15, true).inflate(&bits.finish(), 100),
        Ok(b"a".to_vec())
    );
}

#[test]
fn an_unstripped_tail_is_reported_as_a_cut_header() {
    let packed = zlib(b"hello hello", 15, 6);
    let mut inflater = Inflater::new(15, true);
    assert!(inflater.inflate(&packed, 100).is_ok());
    assert!(!inflater.ended_in_cut_header());
    let mut unstripped = packed;
    unstripped.extend_from_slice(&TAIL);
    assert!(inflater.inflate(&unstripped, 100).is_ok());
    assert!(inflater.ended_in_cut_header());
}
