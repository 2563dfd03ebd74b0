//! Unit tests for the decoder, one per rule.

use super::*;

fn decode_all(bytes: &[u8], config: DecoderConfig) -> Vec<Item> {
    let mut d = Decoder::new(config);
    d.feed(bytes);
    let mut items = Vec::new();
    while let Some(item) = d.poll() {
        items.push(item);
    }
    items
}

fn violations(bytes: &[u8]) -> Vec<(u64, ViolationKind)> {
    decode_all(bytes, DecoderConfig::default())
        .into_iter()
        .filter_map(|i| match i {
            Item::Violation(v) => Some((v.offset, v.kind)),
            Item::Frame(_) => None,
        })
        .collect()
}

fn frames(bytes: &[u8]) -> Vec<Frame> {
    decode_all(bytes, DecoderConfig::default())
        .into_iter()
        .filter_map(|i| match i {
            Item::Frame(f) => Some(f),
            Item::Violation(_) => None,
        })
        .collect()
}

#[test]
fn decodes_rfc_examples_without_violations() {
    let bytes = [
        &b"\x81\x05Hello"[..],
        b"\x01\x03Hel\x80\x02lo",
        b"\x89\x05Hello",
        b"\x8a\x05Hello",
    ]
    .concat();
    assert_eq!(violations(&bytes), []);
    let f = frames(&bytes);
    assert_eq!(f.len(), 5);
    assert_eq!(f[0].payload(), b"Hello");
    assert_eq!(f[2].offset, 12);
    assert_eq!(f[4].opcode(), OpCode::PONG);
}

#[test]
fn masked_frame_from_server() {
    let bytes = RawFrame::text("Hello").masked([1, 2, 3, 4]).to_bytes();
    assert_eq!(
        violations(&bytes),
        [(0, ViolationKind::MaskedFrameFromServer)]
    );
    assert_eq!(frames(&bytes)[0].payload(), b"Hello", "payload is unmasked");
}

#[test]
fn unmasked_frame_from_client() {
    let bytes = RawFrame::text("Hi").to_bytes();
    let config = DecoderConfig {
        side: Side::Server,
        ..DecoderConfig::default()
    };
    let items = decode_all(&bytes, config);
    assert!(items.contains(&Item::Violation(Violation {
        offset: 0,
        frame: Some(0),
        frame_index: Some(0),
        kind: ViolationKind::UnmaskedFrameFromClient
    })));
}

#[test]
fn reserved_bits_without_extension() {
    let bytes = [
        RawFrame::text("a").to_bytes(),
        RawFrame::text("b").rsv(Rsv::RSV2).to_bytes(),
    ]
    .concat();
    assert_eq!(
        violations(&bytes),
        [(3, ViolationKind::ReservedBitsSet { rsv: Rsv::RSV2 })]
    );
}

#[test]
fn rsv1_only_on_first_data_frame_with_deflate() {
    let config = DecoderConfig {
        message_rsv: Rsv::RSV1,
        ..DecoderConfig::default()
    };
    let ok = RawFrame::binary("x").rsv(Rsv::RSV1).fin(false).to_bytes();
    let cont = RawFrame::continuation("y").rsv(Rsv::RSV1).to_bytes();
    let ping = RawFrame::ping("").rsv(Rsv::RSV1).to_bytes();
    let items = decode_all(&[ok, cont, ping].concat(), config);
    let kinds: Vec<_> = items
        .iter()
        .filter_map(|i| match i {
            Item::Violation(v) => Some(v.offset),
            _ => None,
        })
        .collect();
    assert_eq!(
        kinds,
        [3, 6],
        "continuation and ping are flagged, the first frame is not"
    );
}

#[test]
fn reserved_opcodes() {
    for op in [3, 4, 5, 6, 7, 0xB, 0xC, 0xD, 0xE, 0xF] {
        let bytes = RawFrame::new(OpCode::new(op), "").to_bytes();
        assert_eq!(
            violations(&bytes),
            [(0, ViolationKind::ReservedOpcode(OpCode::new(op)))],
            "opcode {op}"
        );
    }
}

#[test]
fn control_frame_rules() {
    let frag = RawFrame::ping("x").fin(false).to_bytes();
    assert_eq!(
        violations(&frag),
        [(0, ViolationKind::FragmentedControlFrame(OpCode::PING))]
    );
    let long = RawFrame::pong(vec![b'a'; 126]).to_bytes();
    assert_eq!(
        violations(&long),
        [(
            0,
            ViolationKind::ControlFrameTooLong {
                opcode: OpCode::PONG,
                len: 126
            }
        )]
    );
    let max = RawFrame::ping(vec![b'a'; 125]).to_bytes();
    assert_eq!(violations(&max), []);
}

#[test]
fn non_minimal_lengths_and_top_bit() {
    let b16 = RawFrame::binary("ab")
        .length_form(LengthForm::Bits16)
        .to_bytes();
    assert_eq!(
        violations(&b16),
        [(
            0,
            ViolationKind::NonMinimalLength {
                len: 2,
                form: LengthForm::Bits16
            }
        )]
    );
    let b64 = RawFrame::binary(vec![0; 300])
        .length_form(LengthForm::Bits64)
        .to_bytes();
    assert_eq!(
        violations(&b64),
        [(
            0,
            ViolationKind::NonMinimalLength {
                len: 300,
                form: LengthForm::Bits64
            }
        )]
    );
    let top = RawFrame::binary("x").declared_len(1 << 63).to_bytes();
    let v = violations(&top);
    assert_eq!(v[0], (0, ViolationKind::LengthTopBitSet(1 << 63)));
    assert!(matches!(v[1].1, ViolationKind::FrameTooLarge { .. }));
}

#[test]
fn close_payload_rules() {
    assert_eq!(
        violations(&RawFrame::new(OpCode::CLOSE, [0x03]).to_bytes()),
        [(0, ViolationKind::CloseOneBytePayload)]
    );
    assert_eq!(
        violations(&RawFrame::close(CloseCode(999), "").to_bytes()),
        [(
            0,
            ViolationKind::InvalidCloseCode {
                code: CloseCode(999),
                class: CloseCodeClass::Invalid
            }
        )]
    );
    let bad_reason = RawFrame::new(OpCode::CLOSE, *b"\x03\xe8ab\xff").to_bytes();
    assert_eq!(
        violations(&bad_reason),
        [(6, ViolationKind::InvalidUtf8InCloseReason)]
    );
    assert_eq!(
        violations(&RawFrame::close(CloseCode::NORMAL, "bye").to_bytes()),
        []
    );
    assert_eq!(violations(&RawFrame::close_empty().to_bytes()), []);
}

#[test]
fn oversized_frame_is_reported_and_skipped_without_buffering() {
    let config = DecoderConfig {
        max_frame_len: 10,
        ..DecoderConfig::default()
    };
    let big = RawFrame::binary(vec![7; 100]).to_bytes();
    let after = RawFrame::text("ok").to_bytes();
    let mut d = Decoder::new(config);
    // Feed the big frame in pieces; the decoder must not hold on to its payload.
    for chunk in big.chunks(9) {
        d.feed(chunk);
        while d.poll().is_some() {}
        assert!(d.buffered() < 20, "buffered {}", d.buffered());
    }
    d.feed(&after);
    let item = d.poll();
    assert!(
        matches!(item, Some(Item::Frame(ref f)) if f.payload() == b"ok" && f.offset == 102),
        "{item:?}"
    );
}

#[test]
fn finish_reports_truncation() {
    let mut d = Decoder::new(DecoderConfig::default());
    d.feed(&RawFrame::text("a").fin(false).to_bytes());
    d.feed(&RawFrame::continuation("hello").declared_len(10).to_bytes());
    d.finish();
    let items: Vec<_> = std::iter::from_fn(|| d.poll()).collect();
    assert!(matches!(items[0], Item::Frame(_)));
    assert_eq!(
        items[1..],
        [Item::Violation(Violation {
            offset: 3,
            frame: None,
            frame_index: None,
            kind: ViolationKind::TruncatedFrame { have: 7, need: 12 }
        })]
    );
}

#[test]
fn close_codes_map_to_the_rfc_close_code() {
    assert_eq!(
        ViolationKind::ReservedOpcode(OpCode::new(3)).close_code(),
        CloseCode::PROTOCOL_ERROR
    );
    assert_eq!(
        ViolationKind::InvalidUtf8InText { message_offset: 0 }.close_code(),
        CloseCode::INVALID_PAYLOAD
    );
    assert_eq!(
        ViolationKind::FrameTooLarge {
            declared: 2,
            cap: 1,
            fin: true,
            header_len: 2,
        }
        .close_code(),
        CloseCode::MESSAGE_TOO_BIG
    );
}

#[test]
fn large_frames_stream_their_payload_and_decode_the_same_in_any_chunking() {
    let payload: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    let bytes = [
        RawFrame::binary(payload.clone())
            .masked([9, 8, 7, 6])
            .to_bytes(),
        RawFrame::text("after").masked([1, 1, 1, 1]).to_bytes(),
    ]
    .concat();
    let config = DecoderConfig {
        side: Side::Server,
        ..DecoderConfig::default()
    };
    let whole = decode_all(&bytes, config.clone());
    for chunk in [1000, 4096, 65_536, 99_999] {
        let mut d = Decoder::new(config.clone());
        let mut items = Vec::new();
        for piece in bytes.chunks(chunk) {
            d.feed(piece);
            // The large payload does not pile up in the read buffer.
            assert!(
                d.buffered() <= chunk,
                "buffered {} with chunk {chunk}",
                d.buffered()
            );
            items.extend(std::iter::from_fn(|| d.poll()));
        }
        assert_eq!(items, whole, "chunk {chunk}");
    }
    match &whole[0] {
        Item::Frame(f) => assert_eq!(f.payload(), payload.as_slice()),
        other => panic!("{other:?}"),
    }
    // Cut short: the truncation is reported with what came and what was promised.
    let mut d = Decoder::new(config);
    d.feed(&bytes[..100_000]);
    d.finish();
    let items: Vec<_> = std::iter::from_fn(|| d.poll()).collect();
    assert_eq!(
        items,
        [Item::Violation(Violation {
            offset: 0,
            frame: None,
            frame_index: None,
            kind: ViolationKind::TruncatedFrame {
                have: 100_000,
                need: 14 + 200_000
            }
        })]
    );
}

#[test]
fn a_declared_length_alone_reserves_at_most_the_bound() {
    for declared in [16 << 20, 64 << 20] {
        // 64-bit length form: a 10-byte header, then 10 of the declared bytes, then the end.
        let bytes = RawFrame::binary(vec![1; 10])
            .declared_len(declared)
            .to_bytes();
        let mut d = Decoder::new(DecoderConfig::default());
        d.feed(&bytes);
        assert_eq!(d.poll(), None);
        let (len, capacity) = d.partial_buffer().expect("the frame streams");
        assert_eq!(len, 10);
        assert!(capacity <= RESERVE_BOUND, "capacity {capacity}");
        d.finish();
        assert_eq!(
            d.poll(),
            Some(Item::Violation(Violation {
                offset: 0,
                frame: None,
                frame_index: None,
                kind: ViolationKind::TruncatedFrame {
                    have: 20,
                    need: 10 + declared
                }
            }))
        );
    }
}

#[test]
fn a_streamed_payload_grows_geometrically_and_ends_at_the_declared_length() {
    let len = 5 << 20;
    let payload: Vec<u8> = (0..len as u32).map(|i| (i % 253) as u8).collect();
    let bytes = RawFrame::binary(payload.clone()).to_bytes();
    // Pieces of uneven sizes, one of them over the bound.
    let sizes = [1, 4096, 65_536, 3 << 20, 10_000];
    let mut d = Decoder::new(DecoderConfig::default());
    let (mut rest, mut growths, mut last_capacity) = (&bytes[..], 0, 0);
    let mut items = Vec::new();
    for size in sizes.iter().cycle() {
        if rest.is_empty() {
            break;
        }
        let (piece, tail) = rest.split_at((*size).min(rest.len()));
        rest = tail;
        d.feed(piece);
        items.extend(std::iter::from_fn(|| d.poll()));
        if let Some((have, capacity)) = d.partial_buffer() {
            // Memory follows the bytes that came, never the declared length alone.
            assert!(
                capacity <= RESERVE_BOUND.max(2 * have) && capacity <= len,
                "capacity {capacity} with {have} bytes"
            );
            growths += usize::from(capacity != last_capacity);
            last_capacity = capacity;
        }
    }
    assert!(growths <= 4, "{growths} growths");
    match &items[..] {
        [Item::Frame(f)] => {
            assert_eq!(f.payload(), payload.as_slice());
            assert_eq!(f.raw.payload.capacity(), len, "no overshoot, no copy out");
        }
        other => panic!("{} items", other.len()),
    }
}

#[test]
fn a_streamed_payload_under_the_bound_is_reserved_once() {
    let bytes = RawFrame::binary(vec![3; 100_000]).to_bytes();
    let mut d = Decoder::new(DecoderConfig::default());
    let mut frames = Vec::new();
    for piece in bytes.chunks(1000) {
        d.feed(piece);
        frames.extend(std::iter::from_fn(|| d.poll()));
        if let Some((_, capacity)) = d.partial_buffer() {
            assert_eq!(capacity, 100_000);
        }
    }
    match &frames[..] {
        [Item::Frame(f)] => assert_eq!(f.raw.payload.capacity(), 100_000),
        other => panic!("{other:?}"),
    }
}

#[test]
fn header_faults_are_reported_before_the_payload_arrives_and_only_once() {
    // RSV1 and a reserved opcode, declaring 69 payload bytes of which only 5 come: the
    // header's faults are known, and reported, at once (the bytes "GE" of an HTTP request
    // read as a frame header).
    let bytes = b"GET / HT";
    let mut d = Decoder::new(DecoderConfig::default());
    d.feed(bytes);
    let first: Vec<_> = std::iter::from_fn(|| d.poll()).collect();
    let kinds: Vec<_> = first
        .iter()
        .map(|i| match i {
            Item::Violation(v) => (v.offset, v.frame, v.kind.clone()),
            Item::Frame(f) => panic!("no frame yet: {f:?}"),
        })
        .collect();
    assert_eq!(
        kinds,
        [
            (
                0,
                Some(0),
                ViolationKind::ReservedBitsSet { rsv: Rsv::RSV1 }
            ),
            (0, Some(0), ViolationKind::ReservedOpcode(OpCode::new(7))),
        ]
    );
    // The rest of the frame: the frame comes, its header faults are not repeated.
    d.feed(&[b'x'; 64]);
    let rest: Vec<_> = std::iter::from_fn(|| d.poll()).collect();
    assert!(
        matches!(&rest[..], [Item::Frame(f)] if f.raw.payload.len() == 69),
        "{rest:?}"
    );
}
