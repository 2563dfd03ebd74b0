//! Pins every documented way tungstenite 0.30's `FrameHeader::parse` is looser than, or
//! differs from, our header parsing and decoder (see the doc comment of
//! `wsconform::fuzzing::frame_differential` and the toolchain notes, §3).
//!
//! Each test asserts tungstenite's actual behaviour, so it fails if tungstenite changes (and
//! the tolerances in `frame_differential` must be revisited), then ours, then that
//! `frame_differential` accepts the input: it tolerates exactly these differences.
//!
//! 1. tungstenite says "incomplete" (`Ok(None)`) for a partial header before it looks at the
//!    opcode; we wait for the whole header too, then report the opcode.
//! 2. tungstenite errors on a reserved opcode; we decode the frame and report
//!    `ViolationKind::ReservedOpcode`.
//! 3. tungstenite accepts a non-minimal length and a 64-bit length with the top bit set; we
//!    report `NonMinimalLength` / `LengthTopBitSet`.
//! 4. tungstenite's header parser does not check RSV bits, control-frame length or FIN on
//!    control frames (its `WebSocket::read` does); both parsers agree on the fields, and our
//!    decoder reports the violations.

use std::io::Cursor;

use tungstenite::error::{Error, ProtocolError};
use tungstenite::protocol::frame::FrameHeader;
use tungstenite::protocol::frame::coding::{Control, Data, OpCode as TOpCode};
use wsconform::fuzzing::{decode_chunks, frame_differential};
use wsconform::wire::{
    DecoderConfig, Item, LengthForm, OpCode, Rsv, Side, Violation, ViolationKind, parse_header,
};

/// tungstenite's verdict on `bytes` and where its cursor ended.
fn theirs(bytes: &[u8]) -> (tungstenite::Result<Option<(FrameHeader, u64)>>, u64) {
    let mut cursor = Cursor::new(bytes);
    let result = FrameHeader::parse(&mut cursor);
    (result, cursor.position())
}

/// What our decoder reports for `bytes` as a client (unmasked frames expected), after the
/// end of the stream.
fn our_items(bytes: &[u8]) -> Vec<Item> {
    decode_chunks(bytes, &[], DecoderConfig::default()).0
}

fn violations(items: &[Item]) -> Vec<ViolationKind> {
    items
        .iter()
        .filter_map(|i| match i {
            Item::Violation(Violation { kind, .. }) => Some(kind.clone()),
            Item::Frame(_) => None,
        })
        .collect()
}

fn frame_opcodes(items: &[Item]) -> Vec<u8> {
    items
        .iter()
        .filter_map(|i| match i {
            Item::Frame(f) => Some(f.opcode().value()),
            Item::Violation(_) => None,
        })
        .collect()
}

const RESERVED: [u8; 10] = [0x3, 0x4, 0x5, 0x6, 0x7, 0xB, 0xC, 0xD, 0xE, 0xF];

/// 1. A partial header with a reserved opcode: tungstenite says "incomplete" (and rewinds);
///    it only rejects the opcode once the header is complete.
#[test]
fn partial_header_is_incomplete_before_the_opcode_is_checked() {
    let cases: [&[u8]; 4] = [
        &[0x8C],                         // one byte
        &[0x8C, 0x7E, 0x00],             // 16-bit length, one of its two bytes
        &[0x83, 0xFF, 0, 0, 0, 0, 0],    // 64-bit length, cut short
        &[0x83, 0x85, 0x37, 0xFA, 0x21], // masking key cut short
    ];
    for bytes in cases {
        let (result, position) = theirs(bytes);
        assert!(
            matches!(result, Ok(None)),
            "tungstenite on {bytes:02X?}: {result:?}"
        );
        assert_eq!(position, 0, "tungstenite rewinds on incomplete input");
        // Ours: no header yet, nothing decoded; at the end of the stream, a truncated frame
        // and no opcode verdict.
        assert_eq!(parse_header(bytes), None);
        let kinds = violations(&our_items(bytes));
        assert!(
            matches!(kinds.as_slice(), [ViolationKind::TruncatedFrame { .. }]),
            "{bytes:02X?}: {kinds:?}"
        );
        frame_differential(bytes);
    }
    // Completing the header turns tungstenite's answer into the opcode error.
    let (result, _) = theirs(&[0x8C, 0x7E, 0x00, 0x00]);
    assert!(matches!(
        result,
        Err(Error::Protocol(ProtocolError::InvalidOpcode(0xC)))
    ));
}

/// 2. A complete header with a reserved opcode: tungstenite errors, we decode the frame and
///    report the opcode.
#[test]
fn reserved_opcodes_are_errors_there_and_violations_here() {
    for op in RESERVED {
        let bytes = [0x80 | op, 0x00];
        let (result, _) = theirs(&bytes);
        match result {
            Err(Error::Protocol(ProtocolError::InvalidOpcode(n))) => assert_eq!(n, op),
            other => panic!("tungstenite on opcode 0x{op:X}: {other:?}"),
        }
        let header = parse_header(&bytes).expect("a complete header");
        assert_eq!(header.opcode.value(), op);
        assert!(header.opcode.is_reserved());
        let items = our_items(&bytes);
        assert_eq!(frame_opcodes(&items), [op], "the frame is decoded");
        assert_eq!(
            violations(&items),
            [ViolationKind::ReservedOpcode(OpCode::new(op))]
        );
        frame_differential(&bytes);
    }
    // The defined opcodes parse in both.
    for op in [0x0, 0x1, 0x2, 0x8, 0x9, 0xA] {
        let (result, _) = theirs(&[0x80 | op, 0x00]);
        let (header, len) = result.expect("no error").expect("complete");
        assert_eq!((u8::from(header.opcode), len), (op, 0));
        frame_differential(&[0x80 | op, 0x00]);
    }
}

/// 3a. A length written in a longer form than needed: tungstenite accepts it silently.
#[test]
fn non_minimal_lengths_are_accepted_there_and_reported_here() {
    let mut bits16 = vec![0x82, 0x7E, 0x00, 0x05];
    bits16.extend_from_slice(b"Hello");
    let mut bits64 = vec![0x82, 0x7F, 0, 0, 0, 0, 0, 0, 0, 0x05];
    bits64.extend_from_slice(b"Hello");
    // 126 is the smallest 16-bit length; 65535 in the 64-bit form is non-minimal too.
    // (Our decoder reports header faults with the frame, so the payload is included.)
    let mut bits64_65535 = vec![0x82, 0x7F, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF];
    bits64_65535.extend(std::iter::repeat_n(b'x', 65_535));
    for (bytes, len, form, header_len) in [
        (&bits16, 5u64, LengthForm::Bits16, 4u64),
        (&bits64, 5, LengthForm::Bits64, 10),
        (&bits64_65535, 65_535, LengthForm::Bits64, 10),
    ] {
        let (result, position) = theirs(bytes);
        let (header, their_len) = result.expect("no error").expect("complete");
        assert_eq!(header.opcode, TOpCode::Data(Data::Binary));
        assert_eq!((their_len, position), (len, header_len));

        let ours = parse_header(bytes).expect("complete");
        assert_eq!(
            (ours.len, ours.form, ours.header_len as u64),
            (len, form, header_len)
        );
        let kinds = violations(&our_items(bytes));
        assert_eq!(
            kinds.first(),
            Some(&ViolationKind::NonMinimalLength { len, form }),
            "{kinds:?}"
        );
        frame_differential(bytes);
    }
}

/// 3b. A 64-bit length with its most significant bit set: tungstenite returns it as is.
#[test]
fn top_bit_of_64_bit_length_is_accepted_there_and_reported_here() {
    for (bytes, len) in [
        (vec![0x82, 0x7F, 0x80, 0, 0, 0, 0, 0, 0, 0], 1u64 << 63),
        (
            vec![0x82, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF],
            u64::MAX,
        ),
    ] {
        let (result, position) = theirs(&bytes);
        let (_, their_len) = result.expect("no error").expect("complete");
        assert_eq!((their_len, position), (len, 10));

        let ours = parse_header(&bytes).expect("complete");
        assert_eq!((ours.len, ours.form), (len, LengthForm::Bits64));
        let items = our_items(&bytes);
        assert!(
            frame_opcodes(&items).is_empty(),
            "nothing is buffered for it"
        );
        assert_eq!(
            violations(&items)[..2],
            [
                ViolationKind::LengthTopBitSet(len),
                ViolationKind::FrameTooLarge {
                    declared: len,
                    cap: DecoderConfig::default().max_frame_len,
                    fin: true,
                    header_len: 10,
                },
            ]
        );
        frame_differential(&bytes);
    }
}

/// 4. The header parser leaves RSV bits, control-frame length and FIN on control frames to
///    `WebSocket::read`: it reports the fields as they are, the same as ours, and our decoder
///    reports the violations.
#[test]
fn rsv_and_control_frame_rules_are_not_checked_by_the_header_parser() {
    // A non-final ping with RSV1|RSV3 and a 126-byte payload, masked.
    let mut bytes = vec![0x59, 0xFE, 0x00, 0x7E, 1, 2, 3, 4];
    bytes.extend(std::iter::repeat_n(0u8, 126));
    let (result, position) = theirs(&bytes);
    let (header, len) = result.expect("no error").expect("complete");
    assert!(!header.is_final);
    assert_eq!((header.rsv1, header.rsv2, header.rsv3), (true, false, true));
    assert_eq!(header.opcode, TOpCode::Control(Control::Ping));
    assert_eq!(header.mask, Some([1, 2, 3, 4]));
    assert_eq!((len, position), (126, 8));

    let config = DecoderConfig {
        side: Side::Server,
        ..DecoderConfig::default()
    };
    let items = decode_chunks(&bytes, &[], config).0;
    assert_eq!(frame_opcodes(&items), [0x9]);
    assert_eq!(
        violations(&items),
        [
            ViolationKind::ReservedBitsSet {
                rsv: Rsv::RSV1 | Rsv::RSV3
            },
            ViolationKind::FragmentedControlFrame(OpCode::PING),
            ViolationKind::ControlFrameTooLong {
                opcode: OpCode::PING,
                len: 126
            },
        ]
    );
    frame_differential(&bytes);
}
