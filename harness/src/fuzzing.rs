//! The properties the fuzz targets check, as plain functions.
//!
//! Each `fuzz/fuzz_targets/*.rs` is a one-liner over one of these (the rustls
//! `internal::fuzzing` shape). They are ordinary code, so the crash inputs the fuzzers find are
//! replayed by `cargo test` (harness/tests/fuzz_regressions.rs) without a fuzz build. Each
//! function panics when its property fails; that is how libFuzzer learns of a finding.

#![allow(missing_docs)]

use std::io::Cursor;

use std::sync::OnceLock;
use std::time::Duration;

use crate::cases::{HandshakeSpec, Params, parse_case_file};
use crate::handshake::{
    Extension, Offer, ResponseError, ResponseLimits, check_response, parse_extensions,
    parse_response, pmd,
};
use crate::runner::handshake::{Answer, judge};
use crate::wire::{
    Decoder, DecoderConfig, Item, LengthForm, OpCode, RawFrame, Role, Rsv, Utf8Status,
    Utf8Validator, parse_header,
};

/// Decodes `data` whole and in the pieces `cuts` gives, and checks that both see the same
/// items and never consume more than they were given.
pub fn frame_decode(data: &[u8], cuts: &[u16], config: DecoderConfig) {
    let whole = decode_chunks(data, &[], config.clone());
    let chunked = decode_chunks(data, cuts, config);
    assert_eq!(whole, chunked, "chunking changed what was decoded");
}

/// Decodes `data` fed in pieces: each cut is a piece length (0 means 1). Returns every item
/// and the consumed count, after `finish`.
pub fn decode_chunks(data: &[u8], cuts: &[u16], config: DecoderConfig) -> (Vec<Item>, u64) {
    let mut decoder = Decoder::new(config);
    let mut items = Vec::new();
    let mut rest = data;
    let mut cuts = cuts.iter();
    while !rest.is_empty() {
        let n = cuts
            .next()
            .map_or(rest.len(), |c| usize::from(*c).max(1))
            .min(rest.len());
        decoder.feed(&rest[..n]);
        rest = &rest[n..];
        while let Some(item) = decoder.poll() {
            items.push(item);
        }
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
    for role in [Role::Client, Role::Server] {
        let config = DecoderConfig {
            role,
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

/// What a header decodes to, in the fields both decoders report.
#[derive(Debug, PartialEq, Eq)]
struct HeaderView {
    fin: bool,
    rsv: [bool; 3],
    opcode: u8,
    mask: Option<[u8; 4]>,
    len: u64,
    header_len: u64,
}

/// Differential check of our header decoding against tungstenite's `FrameHeader::parse`.
///
/// Where both accept a complete header, every field agrees. tungstenite is deliberately looser
/// in documented ways, which this function tolerates and `tests/differential.rs` pins:
///
/// 1. it reports "incomplete" before it checks the opcode, so for a reserved opcode with a
///    partial header it says `Ok(None)` where we say "need more bytes" too (we report the
///    opcode only once the header is complete — both wait);
/// 2. it rejects reserved opcodes with an error, where we decode the frame and report
///    [`crate::wire::ViolationKind::ReservedOpcode`];
/// 3. it accepts non-minimal lengths and a 64-bit length with the top bit set, which we
///    decode and report as violations.
pub fn frame_differential(data: &[u8]) {
    use tungstenite::protocol::frame::FrameHeader;

    let ours = our_header(data);
    let mut cursor = Cursor::new(data);
    let theirs = FrameHeader::parse(&mut cursor);
    match (ours, theirs) {
        (Some(ours), Ok(Some((h, len)))) => {
            let view = HeaderView {
                fin: h.is_final,
                rsv: [h.rsv1, h.rsv2, h.rsv3],
                opcode: u8::from(h.opcode),
                mask: h.mask,
                len,
                header_len: cursor.position(),
            };
            assert_eq!(ours, view, "header fields disagree");
        }
        (None, Ok(None)) => {}
        // Looseness 2: tungstenite errors on reserved opcodes; we decode them.
        (Some(ours), Err(_)) => {
            assert!(
                OpCode::new(ours.opcode).is_reserved(),
                "tungstenite rejected a header we accept: {ours:?}"
            );
        }
        (None, Err(_)) => {
            // tungstenite rejected a partial header: it only does so for reserved opcodes
            // once the length bytes are there; we wait for the whole header.
            let opcode = data.first().map(|b| b & 0x0F).unwrap_or(0);
            assert!(
                OpCode::new(opcode).is_reserved(),
                "tungstenite rejected a partial header"
            );
        }
        (Some(ours), Ok(None)) => {
            panic!("tungstenite wants more bytes for a header we decoded: {ours:?}")
        }
        (None, Ok(Some(h))) => panic!("tungstenite decoded a header we consider incomplete: {h:?}"),
    }
}

/// Our header decoding: the decoder's own header parser.
fn our_header(data: &[u8]) -> Option<HeaderView> {
    let h = parse_header(data)?;
    let rsv = h.rsv.bits();
    Some(HeaderView {
        fin: h.fin,
        rsv: [rsv & 0b100 != 0, rsv & 0b010 != 0, rsv & 0b001 != 0],
        opcode: h.opcode.value(),
        mask: h.mask,
        len: h.len,
        header_len: h.header_len as u64,
    })
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
    let mut rest = data;
    let mut fed = 0usize;
    let mut cuts = cuts.iter();
    while !rest.is_empty() {
        let n = cuts
            .next()
            .map_or(rest.len(), |c| usize::from(*c).max(1))
            .min(rest.len());
        let status = validator.feed(&rest[..n]);
        fed += n;
        rest = &rest[n..];
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
pub fn handshake_response(data: &[u8], max_bytes: u16, max_headers: u8) {
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
            // The section 0 verdicts and the permessage-deflate rules read the same heads.
            let (specs, offers) = handshake_fixtures();
            if let Ok(answer) = parse_extensions(response.header_values("Sec-WebSocket-Extensions"))
            {
                let _ = pmd::check_answer(offers, &answer);
            }
            let answer = Answer::Response {
                response,
                problems: Vec::new(),
                after: Duration::ZERO,
            };
            for spec in specs {
                let j = judge(spec, "fuzz", &answer, offers, &|s: &str| s.to_owned());
                assert!(!j.reason.is_empty());
            }
        }
        Ok(None) => assert!(
            data.len() < limits.max_bytes,
            "incomplete past the size limit"
        ),
        Err(ResponseError::TooLarge { limit }) => assert_eq!(limit, limits.max_bytes),
        Err(ResponseError::TooManyHeaders { limit }) => assert_eq!(limit, limits.max_headers),
        Err(ResponseError::Malformed(_)) => {}
    }
}

/// Handshake specs of each kind (reject with header checks, accept with pmd, record) and the
/// permessage-deflate offers they are judged against, built once.
fn handshake_fixtures() -> &'static (Vec<HandshakeSpec>, Vec<Extension>) {
    static FIXTURES: OnceLock<(Vec<HandshakeSpec>, Vec<Extension>)> = OnceLock::new();
    FIXTURES.get_or_init(|| {
        let specs = [
            r#"expect = "reject"
status = [426, 400]
headers = [{ name = "Sec-WebSocket-Version", contains = "13" }, { name = "Upgrade", contains = "websocket", when_status = 426 }]"#,
            r#"expect = "accept"
pmd = true
headers = [{ name = "Sec-WebSocket-Protocol", equals = "chat" }, { name = "X", absent = true }]"#,
            r#"expect = "record""#,
        ]
        .iter()
        .map(|text| toml::from_str(text).expect("fixture spec"))
        .collect();
        let offers = parse_extensions([&b"permessage-deflate; server_max_window_bits=10; client_max_window_bits, permessage-deflate"[..]])
            .expect("fixture offers");
        (specs, offers)
    })
}

/// A case file from arbitrary text: one error or a library, never a panic; every case loaded
/// builds its request without a panic (bounded: filler headers are capped at load).
pub fn case_file(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match parse_case_file("fuzz.toml", text) {
        Err(e) => {
            assert!(
                e.line >= 1 && !e.message.is_empty(),
                "an error names a line and a problem"
            );
            assert!(!e.to_string().contains('\n') || e.message.contains('\n'));
        }
        Ok(cases) => {
            for case in cases {
                if let Some(h) = &case.handshake
                    && h.request
                        .pad
                        .is_none_or(|p| p.count.saturating_mul(p.len) <= 1 << 16)
                {
                    let _ = h.request.build("h:1", "/", &Params::new());
                }
            }
        }
    }
}
