//! The properties the fuzz targets check, as plain functions.
//!
//! Each `fuzz/fuzz_targets/*.rs` is a one-liner over one of these (the rustls
//! `internal::fuzzing` shape). They are ordinary code, so the crash inputs the fuzzers find are
//! replayed by `cargo test` (harness/tests/fuzz_regressions.rs) without a fuzz build. Each
//! function panics when its property fails; that is how libFuzzer learns of a finding.

#![allow(missing_docs)]

use crate::handshake::{
    Offer, Response, ResponseError, ResponseLimits, check_response, parse_extensions,
    parse_response, pmd,
};
use crate::message::MessageConfig;
use crate::session::{Inbound, Reader};
use crate::wire::{
    Decoder, DecoderConfig, Item, LengthForm, OpCode, RawFrame, Rsv, Side, Utf8Status,
    Utf8Validator,
};

/// Decodes `data` whole and in the pieces `cuts` gives, frames alone and through the message
/// layer ([`Reader`]), and checks that chunking changes nothing, that nothing is consumed past
/// what was given, and that what the message layer delivers keeps its promises: no message
/// over the cap, and only valid UTF-8 in text messages when UTF-8 is checked.
pub fn frame_decode(data: &[u8], cuts: &[u16], config: DecoderConfig, messages: MessageConfig) {
    let whole = decode_chunks(data, &[], config.clone());
    let chunked = decode_chunks(data, cuts, config.clone());
    assert_eq!(whole, chunked, "chunking changed what was decoded");
    let whole = read_chunks(data, &[], config.clone(), messages);
    let chunked = read_chunks(data, cuts, config, messages);
    assert_eq!(
        whole, chunked,
        "chunking changed what the message layer delivered"
    );
    for inbound in &whole {
        if let Inbound::Message(m) = inbound {
            assert!(
                m.payload.len() <= messages.max_message,
                "message over the cap"
            );
            if messages.validate_utf8 && m.opcode == OpCode::TEXT {
                assert!(
                    std::str::from_utf8(&m.payload).is_ok(),
                    "invalid text delivered"
                );
            }
        }
    }
}

/// Reads `data` through a [`Reader`] fed in pieces (as [`decode_chunks`]); returns everything
/// it yielded, after `finish`.
pub fn read_chunks(
    data: &[u8],
    cuts: &[u16],
    config: DecoderConfig,
    messages: MessageConfig,
) -> Vec<Inbound> {
    let mut reader = Reader::new(config, messages);
    let mut out = Vec::new();
    for piece in pieces(data, cuts) {
        reader.feed(piece);
        out.extend(std::iter::from_fn(|| reader.poll()));
    }
    assert!(
        reader.consumed() <= data.len() as u64,
        "consumed more than given"
    );
    reader.finish();
    out.extend(std::iter::from_fn(|| reader.poll()));
    out
}

/// `data` cut in pieces: each cut is a piece length (0 means 1); the rest comes whole once the
/// cuts run out.
pub fn pieces<'a>(data: &'a [u8], cuts: &'a [u16]) -> impl Iterator<Item = &'a [u8]> + 'a {
    let mut rest = data;
    let mut cuts = cuts.iter();
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let n = cuts
            .next()
            .map_or(rest.len(), |c| usize::from(*c).max(1))
            .min(rest.len());
        let (piece, after) = rest.split_at(n);
        rest = after;
        Some(piece)
    })
}

/// Decodes `data` fed in pieces: each cut is a piece length (0 means 1). Returns every item
/// and the consumed count, after `finish`.
pub fn decode_chunks(data: &[u8], cuts: &[u16], config: DecoderConfig) -> (Vec<Item>, u64) {
    let mut decoder = Decoder::new(config);
    let mut items = Vec::new();
    for piece in pieces(data, cuts) {
        decoder.feed(piece);
        items.extend(std::iter::from_fn(|| decoder.poll()));
    }
    assert!(
        decoder.consumed() <= data.len() as u64,
        "consumed more than given"
    );
    decoder.finish();
    while let Some(item) = decoder.poll() {
        items.push(item);
    }
    (items, decoder.consumed())
}

/// A frame built from fuzzer-chosen fields.
#[derive(Debug, Clone)]
pub struct FrameSpec {
    pub fin: bool,
    pub rsv: u8,
    pub opcode: u8,
    pub mask: Option<[u8; 4]>,
    pub form: u8,
    pub payload: Vec<u8>,
}

impl FrameSpec {
    pub fn to_raw(&self) -> RawFrame {
        let form = match self.form % 4 {
            0 => LengthForm::Minimal,
            1 => LengthForm::Bits7,
            2 => LengthForm::Bits16,
            _ => LengthForm::Bits64,
        };
        RawFrame {
            fin: self.fin,
            rsv: Rsv::from_bits(self.rsv),
            opcode: OpCode::new(self.opcode),
            mask: self.mask,
            length_form: form,
            declared_len: None,
            payload: self.payload.clone(),
        }
    }
}

/// Encodes frames, decodes the bytes, and checks each frame comes back equal: same header
/// fields, same payload, the length in the form it was written.
pub fn frame_roundtrip(frames: &[FrameSpec]) {
    let mut bytes = Vec::new();
    let raws: Vec<RawFrame> = frames.iter().map(FrameSpec::to_raw).collect();
    let mut offsets = Vec::new();
    for raw in &raws {
        offsets.push(bytes.len() as u64);
        raw.encode(&mut bytes);
    }
    for side in [Side::Client, Side::Server] {
        let config = DecoderConfig {
            side,
            ..DecoderConfig::default()
        };
        let (items, consumed) = decode_chunks(&bytes, &[], config);
        assert_eq!(consumed, bytes.len() as u64);
        let decoded: Vec<_> = items
            .into_iter()
            .filter_map(|i| match i {
                Item::Frame(f) => Some(f),
                Item::Violation(_) => None,
            })
            .collect();
        assert_eq!(decoded.len(), raws.len());
        for ((frame, raw), offset) in decoded.iter().zip(&raws).zip(&offsets) {
            let mut expected = raw.clone();
            expected.length_form = raw.length_form.resolve(raw.payload.len() as u64);
            assert_eq!(frame.raw, expected);
            assert_eq!(frame.offset, *offset);
        }
    }
}

/// Feeds `data` to the streaming validator in the pieces `cuts` gives and checks the verdict
/// against `std::str::from_utf8`, and that no intermediate answer contradicts it.
pub fn utf8_stream(data: &[u8], cuts: &[u16]) {
    let expected = match std::str::from_utf8(data) {
        Ok(_) => Utf8Status::Valid,
        Err(e) => Utf8Status::Invalid {
            offset: e.valid_up_to(),
        },
    };
    let mut validator = Utf8Validator::new();
    let mut fed = 0usize;
    for piece in pieces(data, cuts) {
        let status = validator.feed(piece);
        fed += piece.len();
        // Fail-fast: as soon as the prefix fed cannot be completed, we say so at std's offset.
        let prefix_verdict = std::str::from_utf8(&data[..fed]);
        match (status, prefix_verdict) {
            (Utf8Status::Valid, Ok(_)) => {}
            (Utf8Status::Incomplete { offset }, Err(e)) => {
                assert!(
                    e.error_len().is_none(),
                    "said incomplete where std says invalid"
                );
                assert_eq!(offset, e.valid_up_to());
            }
            (Utf8Status::Invalid { offset }, Err(e)) => {
                assert!(
                    e.error_len().is_some(),
                    "said invalid where std says incomplete"
                );
                assert_eq!(offset, e.valid_up_to());
            }
            (status, verdict) => {
                panic!("streaming {status:?} vs std {verdict:?} after {fed} bytes")
            }
        }
    }
    assert_eq!(validator.finish(), expected);
}

/// Parses `data` as a handshake response under small limits: no panic, and the limits hold.
/// A complete head also goes through the client's §4.1 checks and the permessage-deflate
/// answer rules against `offers`; it is returned for the caller's own checks.
pub fn handshake_head(
    data: &[u8],
    max_bytes: u16,
    max_headers: u8,
    offers: &[crate::handshake::Extension],
) -> Option<Response> {
    let limits = ResponseLimits {
        max_bytes: usize::from(max_bytes).max(16),
        max_headers: usize::from(max_headers).min(64),
    };
    match parse_response(data, limits) {
        Ok(Some((response, len))) => {
            assert!(
                len <= data.len() && len <= limits.max_bytes,
                "consumed past the limit"
            );
            assert!(response.headers.len() <= limits.max_headers);
            let _ = check_response(
                &response,
                &Offer {
                    accept: Some("x".into()),
                    ..Offer::default()
                },
            );
            if let Ok(answer) = parse_extensions(response.header_values("Sec-WebSocket-Extensions"))
            {
                let _ = pmd::check_answer(offers, &answer);
            }
            return Some(response);
        }
        Ok(None) => assert!(
            data.len() < limits.max_bytes,
            "incomplete past the size limit"
        ),
        Err(ResponseError::TooLarge { limit }) => assert_eq!(limit, limits.max_bytes),
        Err(ResponseError::TooManyHeaders { limit }) => assert_eq!(limit, limits.max_headers),
        Err(ResponseError::Malformed(_)) => {}
    }
    None
}

/// [`handshake_request`] under the limits and piece sizes the fuzz target derives from the
/// input's length, so that the size and header-count boundaries are hit exactly (the target
/// and the replay of its inputs both call this).
pub fn handshake_request_derived(data: &[u8]) {
    let len = u16::try_from(data.len()).unwrap_or(u16::MAX);
    for (max_bytes, max_headers, cut) in [
        (16_384, 100, 255),
        (len, 8, 1),
        (len.saturating_sub(1), 2, 7),
        (64, 0, 3),
    ] {
        handshake_request(data, max_bytes, max_headers, cut);
    }
}

/// The server side of the opening handshake on arbitrary bytes: the bounded request parser
/// under small limits (no panic, the limits hold), the §4.2.1 checks on every complete head
/// (an answer: a 101 or a refusal with an error status), and a server session fed the bytes in
/// pieces of `cut` (no panic; it either asks for an answer, fails with a bounded error, or
/// waits — and never keeps more than its limit).
pub fn handshake_request(data: &[u8], max_bytes: u16, max_headers: u8, cut: u8) {
    use crate::handshake::server::{
        RequestError, RequestLimits, ServerConfig, check_request, parse_request,
    };
    use crate::session::{Session, SessionConfig, SessionEvent};

    let limits = RequestLimits {
        max_bytes: usize::from(max_bytes).max(16),
        max_headers: usize::from(max_headers).min(64),
    };
    match parse_request(data, limits) {
        Ok(Some((head, len))) => {
            assert!(
                len <= data.len() && len <= limits.max_bytes,
                "consumed past the limit"
            );
            assert!(head.headers.len() <= limits.max_headers);
            let config = ServerConfig {
                subprotocols: vec!["chat".into()],
                forbidden_origins: vec!["http://evil.example".into()],
                ..ServerConfig::default()
            };
            match check_request(&head, &config) {
                Ok(accepted) => {
                    let response = accepted.response(&accepted.accept(), None);
                    assert!(response.starts_with(b"HTTP/1.1 101 "));
                }
                Err(refusal) => {
                    assert!((400..500).contains(&refusal.status));
                    assert!(refusal.response().ends_with(b"\r\n\r\n"));
                }
            }
        }
        Ok(None) => assert!(data.len() < limits.max_bytes, "incomplete past the limit"),
        Err(RequestError::TooLarge(limit)) => assert_eq!(limit, limits.max_bytes),
        Err(RequestError::TooManyHeaders(limit)) => assert_eq!(limit, limits.max_headers),
        Err(RequestError::Malformed) => {}
    }
    // A server session, fed in pieces, as a transport would.
    let t0 = std::time::Instant::now();
    let mut session = Session::server(
        SessionConfig {
            request_limits: limits,
            ..SessionConfig::default()
        },
        t0,
    );
    for piece in data.chunks(usize::from(cut).max(1)) {
        session.handle_input(t0, piece);
        while let Some(event) = session.poll_event() {
            if let SessionEvent::Request(head) = event {
                match check_request(&head, &ServerConfig::default()) {
                    Ok(a) => session.accept(t0, a.response(&a.accept(), None)),
                    Err(r) => session.refuse(r.response()),
                }
            }
        }
    }
    while session.poll_transmit().is_some() {}
}

/// One message of the `inflate` property: bytes as sent, or a text compressed by a real
/// sender first (so that the fuzzer reaches deep into valid streams), then optionally one bit
/// flipped.
#[derive(Debug, Clone)]
pub struct InflateMessage {
    /// Compress `data` with zlib-rs (the sender's window and takeover, level 6) first.
    pub compress: bool,
    /// The bytes.
    pub data: Vec<u8>,
    /// Flip bit `.1 % 8` of byte `.0` (modulo the payload length) of the payload.
    pub flip: Option<(u16, u8)>,
}

/// The strict inflater against zlib-rs (the reference inflater) over a series of messages
/// with the window `bits` (clamped to 8..=15), context takeover on or off, and an output
/// limit: no panic; an `Ok` is never over the limit; where ours accepts, zlib accepts with the
/// same bytes; where zlib refuses, ours refuses; where ours refuses and zlib accepts, the
/// reason is one zlib does not check (a window under 15 bits, data that ends inside a block,
/// bytes after the final block) or the limit (and zlib then produced more than it).
pub fn inflate(messages: &[InflateMessage], bits: u8, takeover: bool, limit: u32) {
    use crate::deflate::{CorruptionKind, Deflater, InflateError, Inflater, TAIL};
    use flate2::{Decompress, FlushDecompress, Status};

    let bits = bits.clamp(8, 15);
    let limit = limit as usize % (1 << 20);
    let mut ours = Inflater::new(bits, takeover);
    let mut sender = Deflater::new(bits, takeover, 6);
    let mut reference = Decompress::new(false);
    // The reference's inputs since its last reset (to replay into a probe).
    let mut history: Vec<Vec<u8>> = Vec::new();
    for m in messages {
        let mut payload = if m.compress {
            sender.compress(&m.data)
        } else {
            m.data.clone()
        };
        if let Some((at, bit)) = m.flip
            && !payload.is_empty()
        {
            let i = at as usize % payload.len();
            payload[i] ^= 1 << (bit % 8);
        }
        let got = ours.inflate(&payload, limit);
        if let Ok(out) = &got {
            assert!(
                out.len() <= limit,
                "{} bytes over the {limit} limit",
                out.len()
            );
        }
        if !takeover {
            reference.reset(false);
            history.clear();
        }
        // The reference, bounded: at most limit + 1 bytes of output.
        let mut input = payload.clone();
        input.extend_from_slice(&TAIL);
        let mut out = Vec::with_capacity(limit + 1);
        let before_in = reference.total_in();
        let theirs = reference.decompress_vec(&input, &mut out, FlushDecompress::Sync);
        let consumed = (reference.total_in() - before_in) as usize;
        let ended = matches!(theirs, Ok(Status::StreamEnd));
        let refused = theirs.is_err();
        match &got {
            Ok(bytes) => {
                assert!(
                    !refused,
                    "zlib refused {payload:02x?}: {theirs:?}; ours gave {} bytes",
                    bytes.len()
                );
                assert_eq!(&out, bytes, "different output for {payload:02x?}");
            }
            Err(InflateError::TooLarge { .. }) => {
                assert!(
                    refused || out.len() > limit || consumed < input.len(),
                    "ours hit the {limit} limit, zlib gave {} bytes",
                    out.len()
                );
            }
            Err(InflateError::Corrupt(c)) => match c.kind {
                CorruptionKind::DistanceTooFar { .. } if bits < 15 => {}
                CorruptionKind::Truncated | CorruptionKind::DataAfterFinal(_) => {}
                ref kind if !refused => {
                    // zlib streams: it may simply not have read far enough to see the fault
                    // (an empty code-length code, say, reads as lengths of 0 until the input
                    // runs out). Then it is not at a block boundary: a final empty block
                    // appended does not end its stream.
                    let mut probe = Decompress::new(false);
                    let mut sink = Vec::with_capacity(limit + 64);
                    for earlier in &history {
                        sink.clear();
                        let _ = probe.decompress_vec(earlier, &mut sink, FlushDecompress::Sync);
                    }
                    let mut ended_input = input.clone();
                    ended_input.extend_from_slice(&[0x01, 0x00, 0x00, 0xff, 0xff]);
                    sink.clear();
                    let at_boundary = matches!(
                        probe.decompress_vec(&ended_input, &mut sink, FlushDecompress::Finish),
                        Ok(Status::StreamEnd)
                    );
                    assert!(
                        !at_boundary,
                        "ours refused ({kind}), zlib accepted {payload:02x?} ({} bytes) and ends a block there",
                        out.len()
                    );
                }
                _ => {}
            },
        }
        if got.is_err() || ours.ended_in_cut_header() {
            // The connection would be failed, or (an unstripped tail) the two inflaters part
            // ways by design: the rest of the series compares nothing.
            return;
        }
        history.push(input);
        if ended {
            // A final block ended the stream; both start afresh.
            reference.reset(false);
            history.clear();
        }
    }
}
