//! Replays committed fuzz inputs through the properties in [`wsconform::fuzzing`], on stable,
//! with no fuzz build.
//!
//! Every file under `harness/tests/fuzz-regressions/<target>/` (crash inputs the fuzzers found;
//! the rule is in that directory's README.md) and under `fuzz/seeds/<target>/` (the seed
//! corpus) is replayed through the property its target checks. Names starting with `.` and
//! `*.md` files are skipped. Each test asserts it replayed at least one file, so it cannot
//! pass vacuously, and reports every failing file, not just the first.
//!
//! The fuzz targets `frame_decode`, `frame_roundtrip` and `utf8_stream` read their bytes
//! through `arbitrary` structs that live in the fuzz crate. So the replay reads every file by
//! the simple, fixed rule below, the same for seeds and crash inputs; a crash whose structured
//! fields matter (a cut list, a decoder option) is committed as the bytes this rule needs, or
//! pinned as a named test at the end of this file (see the README).
//!
//! | target | how a file is replayed |
//! |---|---|
//! | `frame_decode` | the bytes are the stream, through the decoder and through the message layer; for each side, with the default config and with a 16-byte cap + permessage-deflate + RSV2 + no UTF-8 check, whole vs pieces of 1, 2, 3, 7 bytes and the cycle 1, 2, 3, 7 |
//! | `frame_roundtrip` | the frames the bytes decode to (client side, at most 8) round-tripped in their wire forms; then the whole file as the payload of one frame in each of the four length forms, masked and not, with FIN/RSV/opcode from the first byte |
//! | `frame_differential` | the bytes, and each prefix of up to 14 bytes (every partial header) |
//! | `utf8_stream` | the bytes whole, in 1-byte pieces and in 3-byte pieces |
//! | `handshake_response` | the bytes with `max_bytes` 16384 and `max_headers` 64, then the limit pairs the fuzz target derives from the length |
//! | `handshake_request` | the bytes with the limit and piece-size triples the fuzz target derives from the length |
//! | `stateful` | the bytes as they are (the target reads them through `arbitrary` itself) |
//! | `predict` | the bytes as they are (read through `arbitrary` by the generator, as the target does) |
//! | `inflate` | the bytes as they are (read through `arbitrary` by `inflate_input`, as the target does) |

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

use wsconform::fuzzing::{
    FrameSpec, case_file, decode_chunks, frame_decode, frame_differential, frame_roundtrip,
    handshake_request_derived, handshake_response, inflate_input, predict, stateful, utf8_stream,
};
use wsconform::message::MessageConfig;
use wsconform::wire::{DecoderConfig, Item, LengthForm, Rsv, Side};

/// The directories replayed for `target`: committed crash inputs, then the seeds.
fn input_dirs(target: &str) -> [PathBuf; 2] {
    let harness = Path::new(env!("CARGO_MANIFEST_DIR"));
    [
        harness.join("tests/fuzz-regressions").join(target),
        harness.join("../fuzz/seeds").join(target),
    ]
}

/// Runs `property` on every input file of `target`; fails listing each file that panicked.
fn replay(target: &str, property: impl Fn(&[u8])) {
    let mut files = Vec::new();
    for dir in input_dirs(target) {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries {
            let path = entry.expect("readable directory entry").path();
            let name = path.file_name().unwrap_or_default().to_string_lossy();
            if path.is_file() && !name.starts_with('.') && !name.ends_with(".md") {
                files.push(path);
            }
        }
    }
    files.sort();
    assert!(
        !files.is_empty(),
        "no input files for {target}: expected at least fuzz/seeds/{target}/"
    );
    let mut failures = Vec::new();
    for path in &files {
        let data = std::fs::read(path).expect("readable input file");
        if catch_unwind(AssertUnwindSafe(|| property(&data))).is_err() {
            failures.push(path.display().to_string());
        }
    }
    assert!(
        failures.is_empty(),
        "{target}: {} of {} inputs failed (panic messages above):\n  {}",
        failures.len(),
        files.len(),
        failures.join("\n  ")
    );
    eprintln!("{target}: replayed {} inputs", files.len());
}

/// `len` bytes cut in pieces of `n`.
fn every(n: u16, len: usize) -> Vec<u16> {
    vec![n; len / usize::from(n) + 1]
}

#[test]
fn frame_decode_inputs() {
    replay("frame_decode", |data| {
        for side in [Side::Client, Side::Server] {
            let configs = [
                (
                    DecoderConfig {
                        side,
                        ..DecoderConfig::default()
                    },
                    MessageConfig::default(),
                ),
                (
                    DecoderConfig {
                        side,
                        max_frame_len: 16,
                        message_rsv: Rsv::RSV1,
                        extension_rsv: Rsv::from_bits(0b010),
                    },
                    MessageConfig {
                        validate_utf8: false,
                        max_message: 32,
                    },
                ),
            ];
            for (config, messages) in configs {
                let cycle: Vec<u16> = [1, 2, 3, 7].into_iter().cycle().take(data.len()).collect();
                for cuts in [
                    every(1, data.len()),
                    every(2, data.len()),
                    every(3, data.len()),
                    every(7, data.len()),
                    cycle,
                ] {
                    frame_decode(data, &cuts, config.clone(), messages);
                }
            }
        }
    });
}

/// The [`FrameSpec::form`] value that writes `form`.
fn form_index(form: LengthForm) -> u8 {
    match form {
        LengthForm::Minimal => 0,
        LengthForm::Bits7 => 1,
        LengthForm::Bits16 => 2,
        LengthForm::Bits64 => 3,
    }
}

#[test]
fn frame_roundtrip_inputs() {
    replay("frame_roundtrip", |data| {
        // The frames the bytes hold, in the forms they were written in.
        let (items, _) = decode_chunks(data, &[], DecoderConfig::default());
        let decoded: Vec<FrameSpec> = items
            .into_iter()
            .filter_map(|item| match item {
                Item::Frame(f) => Some(FrameSpec {
                    fin: f.raw.fin,
                    rsv: f.raw.rsv.bits(),
                    opcode: f.raw.opcode.value(),
                    mask: f.raw.mask,
                    form: form_index(f.raw.length_form),
                    payload: f.raw.payload,
                }),
                Item::Violation(_) => None,
            })
            .take(8)
            .collect();
        frame_roundtrip(&decoded);

        // The whole file as one payload, in every length form, masked and not.
        let b0 = data.first().copied().unwrap_or(0x82);
        for form in 0..4 {
            for mask in [None, Some([1, 2, 3, 4])] {
                frame_roundtrip(&[FrameSpec {
                    fin: b0 & 0x80 != 0,
                    rsv: (b0 >> 4) & 0b111,
                    opcode: b0 & 0x0F,
                    mask,
                    form,
                    payload: data.to_vec(),
                }]);
            }
        }
    });
}

#[test]
fn frame_differential_inputs() {
    replay("frame_differential", |data| {
        for end in 0..=data.len().min(14) {
            frame_differential(&data[..end]);
        }
        frame_differential(data);
    });
}

#[test]
fn utf8_stream_inputs() {
    replay("utf8_stream", |data| {
        utf8_stream(data, &[]);
        utf8_stream(data, &every(1, data.len()));
        utf8_stream(data, &every(3, data.len()));
    });
}

#[test]
fn handshake_response_inputs() {
    replay("handshake_response", |data| {
        // The same pairs as fuzz/fuzz_targets/handshake_response.rs.
        let len = u16::try_from(data.len()).unwrap_or(u16::MAX);
        for (max_bytes, max_headers) in [
            (16_384, 64),
            (len, 8),
            (len.saturating_sub(1), 2),
            (len.saturating_add(1), 1),
            (64, 0),
        ] {
            handshake_response(data, max_bytes, max_headers);
        }
    });
}

// Crashes whose structured fields matter are pinned below as named tests, one per finding,
// with the exact values the fuzzer's `Debug` output showed. None so far.

#[test]
fn case_file_inputs() {
    replay("case_file", case_file);
}

#[test]
fn stateful_inputs() {
    replay("stateful", stateful);
}

#[test]
fn inflate_inputs() {
    replay("inflate", inflate_input);
}

/// The stateful property on inputs no fuzzer chose: 300 of them, from a fixed seed, each a
/// whole case run in memory on a simulated clock (no sleeping).
#[test]
fn stateful_on_random_inputs() {
    let mut rng = fastrand::Rng::with_seed(2026);
    for _ in 0..300 {
        let data: Vec<u8> = (0..rng.usize(0..800)).map(|_| rng.u8(..)).collect();
        stateful(&data);
    }
}

#[test]
fn predict_inputs() {
    replay("predict", predict);
}

/// Predictor = reference on inputs no fuzzer chose: 300 sequences from a fixed seed, each run
/// in memory against the reference server in each allowed choice.
#[test]
fn predict_on_random_inputs() {
    let mut rng = fastrand::Rng::with_seed(6455);
    for _ in 0..300 {
        let data: Vec<u8> = (0..rng.usize(0..800)).map(|_| rng.u8(..)).collect();
        predict(&data);
    }
}

#[test]
fn handshake_request_inputs() {
    replay("handshake_request", handshake_request_derived);
}
