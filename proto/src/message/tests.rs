//! Unit tests for the message layer, one per rule, through the [`Reader`] (decoder and
//! assembler together, as every endpoint reads).

use super::*;
use crate::session::{Inbound, Reader};
use crate::wire::{DecoderConfig, RawFrame};

fn read(bytes: &[u8], reader: &mut Reader) -> Vec<Inbound> {
    reader.feed(bytes);
    std::iter::from_fn(|| reader.poll())
        .filter(|i| !matches!(i, Inbound::Frame(_)))
        .collect()
}

fn reader() -> Reader {
    Reader::new(DecoderConfig::default(), MessageConfig::default())
}

fn violations(bytes: &[u8]) -> Vec<(u64, ViolationKind)> {
    read(bytes, &mut reader())
        .into_iter()
        .filter_map(|i| match i {
            Inbound::Violation(v) => Some((v.offset, v.kind)),
            _ => None,
        })
        .collect()
}

fn messages(inbound: &[Inbound]) -> Vec<(OpCode, Vec<u8>)> {
    inbound
        .iter()
        .filter_map(|i| match i {
            Inbound::Message(m) => Some((m.opcode, m.payload.clone())),
            _ => None,
        })
        .collect()
}

#[test]
fn fragments_assemble_and_control_frames_in_the_middle_arrive_in_place() {
    let bytes = [
        RawFrame::text("Hel").fin(false).to_bytes(),
        RawFrame::ping("p").to_bytes(),
        RawFrame::continuation("lo").to_bytes(),
    ]
    .concat();
    let inbound = read(&bytes, &mut reader());
    assert!(matches!(&inbound[0], Inbound::Control(f) if f.opcode() == OpCode::PING));
    match &inbound[1] {
        Inbound::Message(m) => {
            assert_eq!((m.opcode, &m.payload[..]), (OpCode::TEXT, &b"Hello"[..]));
            assert_eq!((m.frames, m.offset, m.decoded), (2, 0, false));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(inbound.len(), 2);
}

#[test]
fn fragmentation_rules() {
    let cont = RawFrame::continuation("x").to_bytes();
    assert_eq!(
        violations(&cont),
        [(0, ViolationKind::ContinuationWithoutStart)]
    );
    let bytes = [
        RawFrame::text("a").fin(false).to_bytes(),
        RawFrame::ping("p").to_bytes(),
        RawFrame::binary("b").to_bytes(),
    ]
    .concat();
    assert_eq!(
        violations(&bytes),
        [(
            6,
            ViolationKind::DataFrameInFragmentedMessage(OpCode::BINARY)
        )]
    );
    // Neither the interrupted message nor the interloper is delivered.
    assert!(messages(&read(&bytes, &mut reader())).is_empty());
}

#[test]
fn invalid_utf8_in_text_points_at_the_bad_byte_across_frames() {
    let bytes = [
        RawFrame::text("ab").fin(false).to_bytes(),
        RawFrame::continuation(*b"c\xed").fin(false).to_bytes(),
        RawFrame::continuation(*b"\xa0\x80").to_bytes(),
    ]
    .concat();
    // The surrogate starts at message byte 3, inside the second frame (stream byte 7), and is
    // detected in the third.
    assert_eq!(
        violations(&bytes),
        [(7, ViolationKind::InvalidUtf8InText { message_offset: 3 })]
    );
    // A character cut off by the end of the message is invalid too.
    let cut = RawFrame::text(*b"x\xe2\x82").to_bytes();
    assert_eq!(
        violations(&cut),
        [(3, ViolationKind::InvalidUtf8InText { message_offset: 1 })]
    );
    // Binary payloads are not checked.
    assert_eq!(violations(&RawFrame::binary(*b"\xff").to_bytes()), []);
}

#[test]
fn invalid_utf8_is_reported_at_the_first_bad_frame_and_once() {
    // Fail-fast (Autobahn 6.4.x): the fault is reported with the frame that holds it, before
    // the message is complete; the rest of the message is neither reported nor delivered.
    let mut r = reader();
    let first = read(&RawFrame::text(*b"a\xff").fin(false).to_bytes(), &mut r);
    assert!(matches!(
        &first[..],
        [Inbound::Violation(Violation {
            kind: ViolationKind::InvalidUtf8InText { message_offset: 1 },
            ..
        })]
    ));
    let rest = read(&RawFrame::continuation(*b"\xfe").to_bytes(), &mut r);
    assert!(rest.is_empty(), "{rest:?}");
    // The §5.4 state followed the dropped message: the next message is fine.
    let next = read(&RawFrame::text("ok").to_bytes(), &mut r);
    assert_eq!(messages(&next), [(OpCode::TEXT, b"ok".to_vec())]);
}

#[test]
fn a_frame_the_decoder_rejected_is_not_delivered_and_drops_its_message() {
    // RSV2 with no extension (§5.2) on the second fragment.
    let bytes = [
        RawFrame::binary("a").fin(false).to_bytes(),
        RawFrame::continuation("b")
            .fin(false)
            .rsv(Rsv::RSV2)
            .to_bytes(),
        RawFrame::continuation("c").to_bytes(),
        RawFrame::pong("x").rsv(Rsv::RSV3).to_bytes(),
    ]
    .concat();
    let inbound = read(&bytes, &mut reader());
    let kinds: Vec<_> = inbound
        .iter()
        .map(|i| match i {
            Inbound::Violation(v) => format!("{:?}", v.kind),
            Inbound::Message(_) => "message".into(),
            Inbound::Control(_) => "control".into(),
            Inbound::Frame(_) => "frame".into(),
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "ReservedBitsSet { rsv: RSV2 }",
            "ReservedBitsSet { rsv: RSV3 }"
        ]
    );
}

#[test]
fn the_end_of_the_stream_inside_a_message_is_reported() {
    let mut r = reader();
    read(&RawFrame::text("a").fin(false).to_bytes(), &mut r);
    r.finish();
    let end: Vec<_> = std::iter::from_fn(|| r.poll()).collect();
    assert_eq!(
        end,
        [Inbound::Violation(Violation {
            offset: 3,
            frame: None,
            frame_index: None,
            kind: ViolationKind::UnfinishedMessage(OpCode::TEXT),
        })]
    );
}

#[test]
fn a_message_over_the_cap_is_reported_once_and_dropped() {
    let mut r = Reader::new(
        DecoderConfig::default(),
        MessageConfig {
            max_message: 10,
            ..MessageConfig::default()
        },
    );
    let bytes = [
        RawFrame::binary(vec![1; 6]).fin(false).to_bytes(),
        RawFrame::continuation(vec![2; 6]).fin(false).to_bytes(),
        RawFrame::continuation(vec![3; 6]).to_bytes(),
    ]
    .concat();
    let inbound = read(&bytes, &mut r);
    assert_eq!(
        inbound,
        [Inbound::Violation(Violation {
            offset: 8,
            frame: Some(8),
            frame_index: Some(1),
            kind: ViolationKind::MessageTooLarge { cap: 10 },
        })]
    );
    assert_eq!(
        ViolationKind::MessageTooLarge { cap: 10 }.close_code(),
        crate::wire::CloseCode::MESSAGE_TOO_BIG
    );
}

/// An extension that claims RSV2 and "decodes" by reversing the bytes; it refuses `!`.
#[derive(Debug)]
struct Reverse;

impl Extension for Reverse {
    fn name(&self) -> &'static str {
        "x-reverse"
    }

    fn rsv(&self) -> Rsv {
        Rsv::RSV2
    }

    fn decode_message(
        &mut self,
        _rsv: Rsv,
        payload: &[u8],
        limit: usize,
    ) -> Result<Vec<u8>, ExtensionError> {
        if payload.contains(&b'!') {
            return Err(ExtensionError::Invalid("a bang".into()));
        }
        if payload.len() > limit {
            return Err(ExtensionError::TooLarge { limit });
        }
        Ok(payload.iter().rev().copied().collect())
    }

    fn encode_message(
        &mut self,
        _opcode: OpCode,
        payload: &[u8],
    ) -> Result<(Rsv, Vec<u8>), ExtensionError> {
        Ok((Rsv::RSV2, payload.iter().rev().copied().collect()))
    }
}

#[test]
fn the_extension_decodes_messages_that_carry_its_bits_and_utf8_is_checked_after() {
    let mut r = reader();
    r.set_extension(Box::new(Reverse));
    let (rsv, encoded) = Reverse.encode_message(OpCode::TEXT, b"abc").unwrap();
    let bytes = [
        // Fragmented: the bits are on the first frame only (a continuation with them breaks
        // §5.2, as RFC 7692 §6 says for RSV1).
        RawFrame::text(encoded[..1].to_vec())
            .rsv(rsv)
            .fin(false)
            .to_bytes(),
        RawFrame::continuation(encoded[1..].to_vec()).to_bytes(),
        // Without the bits: not decoded.
        RawFrame::text("xy").to_bytes(),
    ]
    .concat();
    let inbound = read(&bytes, &mut r);
    assert_eq!(
        messages(&inbound),
        [
            (OpCode::TEXT, b"abc".to_vec()),
            (OpCode::TEXT, b"xy".to_vec())
        ]
    );
    assert!(matches!(&inbound[0], Inbound::Message(m) if m.decoded));
    // Invalid UTF-8 only after decoding: "\x80a" reversed is "a\x80".
    let bad = RawFrame::text(*b"\x80a").rsv(Rsv::RSV2).to_bytes();
    assert!(matches!(
        &read(&bad, &mut r)[..],
        [Inbound::Violation(Violation {
            kind: ViolationKind::InvalidUtf8InText { message_offset: 1 },
            ..
        })]
    ));
    // The extension's own failure is typed, with its name.
    let refused = RawFrame::binary("!").rsv(Rsv::RSV2).to_bytes();
    assert!(matches!(
        &read(&refused, &mut r)[..],
        [Inbound::Violation(Violation {
            kind: ViolationKind::ExtensionFailed {
                extension: "x-reverse",
                ..
            },
            ..
        })]
    ));
    // A continuation carrying the bits breaks §5.2.
    let cont = [
        RawFrame::binary("a").fin(false).to_bytes(),
        RawFrame::continuation("b").rsv(Rsv::RSV2).to_bytes(),
    ]
    .concat();
    assert!(matches!(
        &read(&cont, &mut r)[..],
        [Inbound::Violation(Violation {
            kind: ViolationKind::ReservedBitsSet { .. },
            ..
        })]
    ));
}

#[test]
fn invalid_utf8_is_reported_while_the_frame_still_arrives() {
    // Autobahn 6.4.3: one text frame in three chops, the invalid byte in the second; a
    // fail-fast endpoint knows at the second chop. Masked, as a server reads it.
    let bytes = RawFrame::text(*b"abc\xffdef")
        .masked([1, 2, 3, 4])
        .to_bytes();
    let mut r = Reader::new(
        DecoderConfig {
            side: crate::Side::Server,
            ..DecoderConfig::default()
        },
        MessageConfig::default(),
    );
    let (head, rest) = bytes.split_at(6 + 2);
    assert!(read(head, &mut r).is_empty(), "\"ab\" is fine so far");
    let (middle, last) = rest.split_at(3);
    assert_eq!(
        read(middle, &mut r),
        [Inbound::Violation(Violation {
            offset: 6 + 3,
            frame: Some(0),
            frame_index: Some(0),
            kind: ViolationKind::InvalidUtf8InText { message_offset: 3 },
        })]
    );
    // The rest of the frame: withheld, and not reported again.
    r.feed(last);
    let end: Vec<_> = std::iter::from_fn(|| r.poll()).collect();
    assert!(matches!(&end[..], [Inbound::Frame(_)]), "{end:?}");
}
