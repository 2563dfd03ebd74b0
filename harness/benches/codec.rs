//! Codec throughput: frame decoding (ours vs tungstenite), masking, and streaming UTF-8
//! validation.
//!
//! Run with `cargo bench -p wsconform --bench codec` or `scripts/bench.sh`, which also prints
//! a table of median throughputs. Every benchmark declares `Throughput::Bytes`, so criterion
//! reports bytes per second; ids are `<group>/<implementation>/<size>`.

use std::hint::black_box;
use std::io::{self, Read};
use std::time::Duration;

use criterion::{
    BenchmarkGroup, BenchmarkId, Criterion, SamplingMode, Throughput, criterion_group,
    criterion_main, measurement::WallTime,
};
use tungstenite::protocol::frame::FrameSocket;
use wsconform::wire::{
    Decoder, DecoderConfig, Item, RawFrame, Utf8Status, Utf8Validator, apply_mask,
};

/// The driver reads the socket into a 64 KiB buffer; both decoders get the bytes in pieces of
/// this size.
const READ_CHUNK: usize = 64 * 1024;

const KIB: usize = 1024;
const MIB: usize = 1024 * 1024;

/// The sizes measured, with their labels.
const SIZES: [(&str, usize); 3] = [("1KiB", KIB), ("64KiB", 64 * KIB), ("16MiB", 16 * MIB)];

/// Short runs for small inputs, few long samples for 16 MiB, so that the whole suite takes a
/// couple of minutes on a 2-core machine.
fn configure(group: &mut BenchmarkGroup<'_, WallTime>, len: usize) {
    group.warm_up_time(Duration::from_secs(1));
    if len >= MIB {
        group
            .sampling_mode(SamplingMode::Flat)
            .sample_size(20)
            .measurement_time(Duration::from_secs(3));
    } else {
        group
            .sampling_mode(SamplingMode::Auto)
            .sample_size(50)
            .measurement_time(Duration::from_secs(2));
    }
}

/// Deterministic, not all-equal payload bytes.
fn payload(len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (i.wrapping_mul(31) ^ (i >> 8)) as u8)
        .collect()
}

/// A `Read` that hands out at most `chunk` bytes per call, like a socket read into the
/// driver's buffer.
struct ChunkedReader<'a> {
    data: &'a [u8],
    chunk: usize,
}

impl Read for ChunkedReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = buf.len().min(self.chunk).min(self.data.len());
        let (head, rest) = self.data.split_at(n);
        buf[..n].copy_from_slice(head);
        self.data = rest;
        Ok(n)
    }
}

/// Decodes one unmasked frame with a fresh [`Decoder`], fed in `READ_CHUNK` pieces and polled
/// after each, as the driver does. Returns the payload length.
fn decode_wsconform(bytes: &[u8]) -> usize {
    let mut decoder = Decoder::new(DecoderConfig {
        max_frame_len: 64 << 20,
        ..Default::default()
    });
    let mut len = 0;
    for piece in bytes.chunks(READ_CHUNK) {
        decoder.feed(piece);
        while let Some(item) = decoder.poll() {
            match item {
                Item::Frame(frame) => len += black_box(frame.payload()).len(),
                Item::Violation(v) => panic!("unexpected violation: {v}"),
            }
        }
    }
    len
}

/// Decodes one frame with tungstenite's frame-level reader over the same bytes, also read in
/// `READ_CHUNK` pieces. Returns the payload length.
fn decode_tungstenite(bytes: &[u8]) -> usize {
    let reader = ChunkedReader {
        data: bytes,
        chunk: READ_CHUNK,
    };
    let frame = FrameSocket::new(reader)
        .read(None)
        .expect("tungstenite reads the frame")
        .expect("the frame is complete");
    black_box(frame.payload()).len()
}

fn bench_decode(c: &mut Criterion) {
    let mut group = c.benchmark_group("decode");
    for (label, len) in SIZES {
        // Unmasked binary frame, as a server sends it.
        let bytes = RawFrame::binary(payload(len)).to_bytes();
        assert_eq!(decode_wsconform(&bytes), len);
        assert_eq!(decode_tungstenite(&bytes), len);
        configure(&mut group, len);
        // Throughput counts the whole frame on the wire, header included.
        group.throughput(Throughput::Bytes(bytes.len() as u64));
        group.bench_with_input(BenchmarkId::new("wsconform", label), &bytes, |b, bytes| {
            b.iter(|| decode_wsconform(black_box(bytes)))
        });
        group.bench_with_input(
            BenchmarkId::new("tungstenite", label),
            &bytes,
            |b, bytes| b.iter(|| decode_tungstenite(black_box(bytes))),
        );
    }
    group.finish();
}

fn bench_mask(c: &mut Criterion) {
    let key = [0x37, 0xfa, 0x21, 0x3d];
    let mut group = c.benchmark_group("mask");
    for (label, len) in [("1KiB", KIB), ("16MiB", 16 * MIB)] {
        let mut data = payload(len);
        configure(&mut group, len);
        group.throughput(Throughput::Bytes(len as u64));
        // In place; masking twice restores the data, so every iteration does the same work.
        group.bench_function(BenchmarkId::new("wsconform", label), |b| {
            b.iter(|| apply_mask(black_box(&mut data), black_box(key)))
        });
    }
    group.finish();
}

/// About `len` bytes of mixed 1- to 4-byte UTF-8, cut at a character boundary.
fn mixed_text(len: usize) -> Vec<u8> {
    const PATTERN: &str = "Hello κόσμε ✓ 🦀 ";
    let mut text = PATTERN.repeat(len / PATTERN.len() + 1);
    let mut cut = len;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    text.truncate(cut);
    text.into_bytes()
}

/// Validates with a fresh [`Utf8Validator`], fed in `READ_CHUNK` pieces (which split
/// characters), then finished.
fn validate_wsconform(text: &[u8]) -> Utf8Status {
    let mut validator = Utf8Validator::new();
    for piece in text.chunks(READ_CHUNK) {
        black_box(validator.feed(piece));
    }
    validator.finish()
}

fn bench_utf8(c: &mut Criterion) {
    let mut group = c.benchmark_group("utf8");
    for (label, len) in [("1KiB", KIB), ("16MiB", 16 * MIB)] {
        let text = mixed_text(len);
        assert_eq!(validate_wsconform(&text), Utf8Status::Valid);
        assert!(std::str::from_utf8(&text).is_ok());
        configure(&mut group, len);
        group.throughput(Throughput::Bytes(text.len() as u64));
        group.bench_with_input(BenchmarkId::new("wsconform", label), &text, |b, text| {
            b.iter(|| validate_wsconform(black_box(text)))
        });
        group.bench_with_input(BenchmarkId::new("std", label), &text, |b, text| {
            b.iter(|| std::str::from_utf8(black_box(text)).is_ok())
        });
    }
    group.finish();
}

criterion_group!(benches, bench_decode, bench_mask, bench_utf8);
criterion_main!(benches);
