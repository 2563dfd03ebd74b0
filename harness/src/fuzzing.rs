//! The properties the fuzz targets check that need the case library, the interpreter or
//! tungstenite (the differential oracle), as plain functions; the codec's own properties are in
//! [`wsconform_proto::fuzzing`], re-exported here. Compiled only with the `fuzzing` feature (the fuzz crate and the tests turn it on),
//! never into the shipped binary.
//!
//! Each `fuzz/fuzz_targets/*.rs` is a one-liner over one of these (the rustls
//! `internal::fuzzing` shape), so the crash inputs the fuzzers find are replayed by
//! `cargo test` (harness/tests/fuzz_regressions.rs) without a fuzz build. Each function panics
//! when its property fails; that is how libFuzzer learns of a finding.

#![allow(missing_docs)]

use std::sync::OnceLock;
use std::time::Duration;

pub use wsconform_proto::fuzzing::*;

use crate::wire::{OpCode, parse_header};

use crate::cases::{HandshakeSpec, Params, parse_case_file};
use crate::handshake::{Extension, parse_extensions};
use crate::runner::handshake::{Answer, judge};

/// Parses `data` as a handshake response under small limits (see
/// [`wsconform_proto::fuzzing::handshake_head`]), then judges every complete head with the
/// section 0 verdicts of each kind: no panic, and every verdict has a reason.
pub fn handshake_response(data: &[u8], max_bytes: u16, max_headers: u8) {
    let (specs, offers) = handshake_fixtures();
    let Some(response) = handshake_head(data, max_bytes, max_headers, offers) else {
        return;
    };
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

/// The stateful property: a case generated from `data` (frames valid and invalid,
/// fragments, pings, closes, chops, pauses) runs through the client-side case machine against
/// the reference server, in memory on a simulated clock. No panic; bounded in rounds, time and
/// log size; and the two sides' logs agree: the frames the server read are the frames the
/// client wrote (a prefix: a side stops reading once it fails or closes), and the other way
/// (when neither log overflowed its bound).
pub fn stateful(data: &[u8]) {
    use std::time::Instant;

    use crate::cases::generate::arbitrary_case;
    use crate::peer::Faults;
    use crate::peer::pair::run_pair;

    let mut u = arbitrary::Unstructured::new(data);
    let Ok(text) = arbitrary_case(&mut u) else {
        return;
    };
    let cases = parse_case_file("generated.toml", &text)
        .unwrap_or_else(|e| panic!("a generated case must parse: {e}\n{text}"));
    let seed = u.arbitrary::<u64>().unwrap_or_default();
    let run = run_pair(&cases[0], Faults::default(), seed, Instant::now());
    // The kill timer (2 s) and the close timers bound every case; 60 s is the pair's own cap.
    assert!(run.elapsed <= Duration::from_secs(61), "{:?}", run.elapsed);
    for log in [&run.client, &run.server] {
        assert!(log.events().len() <= crate::session::MAX_EVENTS + 64);
    }
    // A log that overflowed keeps its end but not every frame (a flood of frames the peer
    // read out of a lying length, say): the sides' lists can only be compared when both kept
    // all of them.
    if run.client.dropped() > 0 || run.server.dropped() > 0 {
        return;
    }
    let sent = frames(&run.client, crate::session::Direction::Sent);
    let read = frames(&run.server, crate::session::Direction::Received);
    assert!(
        sent.starts_with(&read),
        "the server read frames the client never wrote\n{text}"
    );
    let sent = frames(&run.server, crate::session::Direction::Sent);
    let read = frames(&run.client, crate::session::Direction::Received);
    assert!(
        sent.starts_with(&read),
        "the client read frames the server never wrote\n{text}"
    );
}

/// The frames of `log` in one direction, without the digest (only a receiver computes it).
fn frames(
    log: &crate::session::EventLog,
    which: crate::session::Direction,
) -> Vec<crate::session::FrameRecord> {
    log.frames(which)
        .map(|frame| crate::session::FrameRecord {
            digest: None,
            ..frame.clone()
        })
        .collect()
}

/// The live fuzzer's model against the reference server: a sequence generated from `data`
/// (as `wsconform fuzz` generates them) becomes a `predict` case, and the reference server
/// in each choice the model allows runs it in memory. No panic, and no divergence: the
/// model and the reference peer cannot drift apart.
pub fn predict(data: &[u8]) {
    use std::time::Instant;

    use crate::cases::generate::Sequence;
    use crate::live::predicted::predicted_case;
    use crate::peer::pair::{allowed_choices, run_pair};
    use wsconform_reports::Outcome;

    let Ok(seq) = Sequence::arbitrary(&mut arbitrary::Unstructured::new(data)) else {
        return;
    };
    let (text, case) = predicted_case(&seq, &crate::cases::generate::CaseHead::GENERATED);
    for (_, faults) in allowed_choices() {
        let run = run_pair(&case, faults, 0, Instant::now());
        assert_eq!(
            run.record.outcome,
            Outcome::Pass,
            "the reference ({faults:?}) diverges from the model: {}\n{text}",
            run.record.reason
        );
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
    let mut cursor = std::io::Cursor::new(data);
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

/// One message of [`inflate_input`], as `arbitrary` reads it.
#[derive(arbitrary::Arbitrary, Debug)]
struct InflateMessageInput {
    compress: bool,
    flip: Option<(u16, u8)>,
    data: Vec<u8>,
}

/// The input of the `inflate` fuzz target, as `arbitrary` reads it.
#[derive(arbitrary::Arbitrary, Debug)]
struct InflateInput {
    bits: u8,
    takeover: bool,
    limit: u32,
    messages: Vec<InflateMessageInput>,
}

/// The `inflate` fuzz target's bytes, read through `arbitrary` (at most 8 messages) and
/// checked by [`inflate`]; the regression tests replay crash files through this same path.
pub fn inflate_input(data: &[u8]) {
    use arbitrary::Arbitrary;
    let Ok(input) = InflateInput::arbitrary_take_rest(arbitrary::Unstructured::new(data)) else {
        return;
    };
    let messages: Vec<InflateMessage> = input
        .messages
        .into_iter()
        .take(8)
        .map(|m| InflateMessage {
            compress: m.compress,
            data: m.data,
            flip: m.flip,
        })
        .collect();
    inflate(&messages, input.bits, input.takeover, input.limit);
}
