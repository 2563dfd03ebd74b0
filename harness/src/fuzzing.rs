//! The properties the fuzz targets check that need the case library or the interpreter, as
//! plain functions; the codec's own properties are in [`wsconform_proto::fuzzing`], re-exported
//! here. Compiled only with the `fuzzing` feature (the fuzz crate and the tests turn it on),
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
/// client wrote (a prefix: a side stops reading once it fails or closes), and the other way.
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
    log.events()
        .iter()
        .filter_map(|e| match &e.kind {
            crate::session::EventKind::Frame { direction, frame } if *direction == which => {
                Some(crate::session::FrameRecord {
                    digest: None,
                    ..frame.clone()
                })
            }
            _ => None,
        })
        .collect()
}
