//! Property tests of the sans-IO codec (proptest).
//!
//! - encode then decode gives back the same frame, for arbitrary frames, valid and invalid;
//! - the same bytes decoded in any chunking give the same frames and observations;
//! - the streaming UTF-8 validator agrees with `std::str::from_utf8`, split arbitrarily;
//! - masking twice is the identity.

use proptest::collection::vec;
use proptest::prelude::*;
use wsconform::fuzzing::{
    FrameSpec, decode_chunks, frame_decode, frame_roundtrip, read_chunks, utf8_stream,
};
use wsconform::message::MessageConfig;
use wsconform::wire::{DecoderConfig, Item, Rsv, Side, apply_mask, apply_mask_offset};

fn frame_spec() -> impl Strategy<Value = FrameSpec> {
    let payload = prop_oneof![
        8 => vec(any::<u8>(), 0..200),
        1 => vec(any::<u8>(), 60_000..70_000),
    ];
    (
        any::<bool>(),
        0u8..8,
        0u8..16,
        proptest::option::of(any::<[u8; 4]>()),
        0u8..4,
        payload,
    )
        .prop_map(|(fin, rsv, opcode, mask, form, payload)| FrameSpec {
            fin,
            rsv,
            opcode,
            mask,
            form,
            payload,
        })
}

fn decoder_config() -> impl Strategy<Value = DecoderConfig> {
    (
        any::<bool>(),
        prop_oneof![Just(64u64 << 20), 0u64..300],
        any::<bool>(),
        0u8..8,
    )
        .prop_map(|(server, cap, deflate, rsv)| DecoderConfig {
            side: if server { Side::Server } else { Side::Client },
            max_frame_len: cap,
            message_rsv: if deflate { Rsv::RSV1 } else { Rsv::NONE },
            extension_rsv: Rsv::from_bits(rsv),
        })
}

fn message_config() -> impl Strategy<Value = MessageConfig> {
    (
        any::<bool>(),
        prop_oneof![Just(256usize << 20), 0usize..600],
    )
        .prop_map(|(validate_utf8, max_message)| MessageConfig {
            validate_utf8,
            max_message,
        })
}

/// Bytes that are mostly well-formed frames, sometimes cut or corrupted, so chunking is
/// exercised on real structure as well as on noise.
fn stream_bytes() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        vec(any::<u8>(), 0..600),
        (vec(frame_spec(), 0..6), any::<usize>(), any::<u8>()).prop_map(|(frames, at, xor)| {
            let mut bytes = Vec::new();
            for f in &frames {
                f.to_raw().encode(&mut bytes);
            }
            if !bytes.is_empty() {
                let i = at % bytes.len();
                bytes[i] ^= xor;
            }
            bytes
        }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn encode_then_decode_is_identity(frames in vec(frame_spec(), 1..5)) {
        frame_roundtrip(&frames);
    }

    #[test]
    fn any_chunking_decodes_the_same(
        bytes in stream_bytes(),
        cuts in vec(0u16..40, 0..64),
        config in decoder_config(),
        messages in message_config(),
    ) {
        frame_decode(&bytes, &cuts, config.clone(), messages);
        // And one byte at a time, the most extreme chunking, through the message layer too.
        let ones = vec![1u16; bytes.len()];
        let (a, _) = decode_chunks(&bytes, &ones, config.clone());
        let (b, _) = decode_chunks(&bytes, &[], config.clone());
        prop_assert_eq!(a, b);
        let a = read_chunks(&bytes, &ones, config.clone(), messages);
        let b = read_chunks(&bytes, &[], config, messages);
        prop_assert_eq!(a, b);
    }

    #[test]
    fn decoding_never_consumes_more_than_it_was_given(bytes in stream_bytes(), config in decoder_config()) {
        let (items, consumed) = decode_chunks(&bytes, &[], config);
        prop_assert!(consumed <= bytes.len() as u64);
        for item in items {
            let offset = match item {
                Item::Frame(f) => f.offset,
                Item::Violation(v) => v.offset,
            };
            prop_assert!(offset <= bytes.len() as u64);
        }
    }

    #[test]
    fn utf8_validator_agrees_with_std_on_arbitrary_bytes(bytes in vec(any::<u8>(), 0..300), cuts in vec(0u16..8, 0..64)) {
        utf8_stream(&bytes, &cuts);
    }

    #[test]
    fn utf8_validator_agrees_with_std_on_nearly_valid_text(
        text in "\\PC{0,80}",
        at in any::<usize>(),
        byte in any::<u8>(),
        cuts in vec(0u16..6, 0..64),
    ) {
        let mut bytes = text.into_bytes();
        if !bytes.is_empty() {
            let i = at % bytes.len();
            bytes[i] = byte;
        }
        utf8_stream(&bytes, &cuts);
    }

    #[test]
    fn masking_twice_is_the_identity(data in vec(any::<u8>(), 0..1000), key in any::<[u8; 4]>(), offset in 0usize..8) {
        let mut masked = data.clone();
        apply_mask_offset(&mut masked, key, offset);
        apply_mask_offset(&mut masked, key, offset);
        prop_assert_eq!(&masked, &data);
        let mut whole = data.clone();
        apply_mask(&mut whole, key);
        if key != [0; 4] && !data.is_empty() {
            // Masking with a non-zero key changes at least one byte of a non-empty payload
            // whose length reaches a non-zero key byte.
            let reaches = key.iter().take(data.len()).any(|k| *k != 0);
            prop_assert_eq!(whole != data, reaches);
        }
    }
}
