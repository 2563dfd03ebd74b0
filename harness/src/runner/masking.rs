//! The client masking checks (RFC 6455 §5.3, §10.3), on every frame a client under test sent,
//! within a connection and across the connections of one run: no all-zero key, no key
//! repeated, no counter-like sequence of keys, and a `Sec-WebSocket-Key` that is a fresh
//! random nonce. (An unmasked frame is the decoder's finding already: `unmasked-client-frame`,
//! §5.1.)
//!
//! §5.3: "The masking key is a 32-bit value chosen at random by the client. When preparing a
//! masked frame, the client MUST pick a fresh masking key from the set of allowed 32-bit
//! values. The masking key needs to be unpredictable; thus, the masking key MUST be derived
//! from a strong source of entropy, and the masking key for a given frame MUST NOT make it
//! simple for a server or proxy to predict the masking key for a subsequent frame."
//! §4.1: the key "MUST be a nonce consisting of a randomly selected 16-byte value [...] The
//! nonce MUST be selected randomly for each connection."
//!
//! Random 32-bit keys do collide by chance (a run of 10^5 frames expects about one pair), so a
//! repeat is a finding only past what chance explains: more than one repeat within a
//! connection, or three or more keys of one connection already seen on earlier ones. Chance
//! gives either with a probability far below one in a million per run.
//!
//! Sans-IO: [`MaskLedger::check`] reads a case's log; the ledger outlives the connections of
//! one `wsconform serve` run.

use std::collections::HashSet;
use std::fmt;

use wsconform_reports::{Behavior, BehaviorClose, CaseRecord, Cause};

use super::finding::{Finding, FindingKind};
use super::verdict::{self, Policy};
use crate::cases::Case;
use crate::session::{Direction, EventKind, EventLog};

/// How a client's masking breaks §5.3 or §4.1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MaskProblem {
    /// A frame masked with `00 00 00 00` (a mask that masks nothing).
    ZeroKey {
        /// That frame's place among the client's frames on the connection, from 0.
        frame_index: u64,
    },
    /// Keys repeated within one connection (`repeats` frames reused an earlier key).
    RepeatedKey {
        /// The frames that reused a key.
        repeats: usize,
        /// The frames on the connection.
        frames: usize,
    },
    /// Keys of this connection already used on earlier connections of the run.
    KeySeenBefore {
        /// How many.
        hits: usize,
        /// The frames on the connection.
        frames: usize,
    },
    /// Consecutive keys differ by a constant (a counter, or a generator that steps by one).
    CounterKeys {
        /// The constant difference, as 32-bit integers (big-endian).
        step: u32,
        /// How many keys in a row follow it.
        run: usize,
    },
    /// The `Sec-WebSocket-Key` was already used on an earlier connection of the run.
    HandshakeKeyReused,
    /// The `Sec-WebSocket-Key` is not a random nonce: `why`.
    HandshakeKeyWeak {
        /// What gives it away.
        why: &'static str,
    },
}

impl MaskProblem {
    /// Every kind, with sample fields.
    pub fn samples() -> Vec<MaskProblem> {
        vec![
            MaskProblem::ZeroKey { frame_index: 0 },
            MaskProblem::RepeatedKey {
                repeats: 9,
                frames: 10,
            },
            MaskProblem::KeySeenBefore {
                hits: 10,
                frames: 10,
            },
            MaskProblem::CounterKeys { step: 1, run: 10 },
            MaskProblem::HandshakeKeyReused,
            MaskProblem::HandshakeKeyWeak {
                why: "it is the RFC's sample nonce",
            },
        ]
    }

    /// The stable code.
    pub fn code(&self) -> &'static str {
        match self {
            MaskProblem::ZeroKey { .. } => "mask-zero-key",
            MaskProblem::RepeatedKey { .. } => "mask-key-repeated",
            MaskProblem::KeySeenBefore { .. } => "mask-key-reused-across-connections",
            MaskProblem::CounterKeys { .. } => "mask-key-counter",
            MaskProblem::HandshakeKeyReused => "handshake-key-reused",
            MaskProblem::HandshakeKeyWeak { .. } => "handshake-key-not-random",
        }
    }

    /// The RFC section of the rule.
    pub fn rfc(&self) -> &'static str {
        match self {
            MaskProblem::HandshakeKeyReused | MaskProblem::HandshakeKeyWeak { .. } => {
                "rfc6455#section-4.1"
            }
            _ => "rfc6455#section-5.3",
        }
    }
}

impl fmt::Display for MaskProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const FRESH: &str = "RFC 6455 §5.3: the client MUST pick a fresh, unpredictable masking key for each frame; §10.3";
        match self {
            MaskProblem::ZeroKey { frame_index } => write!(
                f,
                "frame {frame_index} is masked with the all-zero key, which masks nothing ({FRESH})"
            ),
            MaskProblem::RepeatedKey { repeats, frames } => write!(
                f,
                "{repeats} of {frames} frames reused a masking key of the same connection ({FRESH})"
            ),
            MaskProblem::KeySeenBefore { hits, frames } => write!(
                f,
                "{hits} of {frames} frames used masking keys seen on earlier connections ({FRESH})"
            ),
            MaskProblem::CounterKeys { step, run } => write!(
                f,
                "{run} masking keys in a row each differ from the last by {step:#x}: predictable ({FRESH})"
            ),
            MaskProblem::HandshakeKeyReused => f.write_str(
                "Sec-WebSocket-Key repeats one of an earlier connection (RFC 6455 §4.1: the nonce MUST be selected randomly for each connection)",
            ),
            MaskProblem::HandshakeKeyWeak { why } => write!(
                f,
                "Sec-WebSocket-Key is not a random nonce: {why} (RFC 6455 §4.1: a randomly selected 16-byte value)"
            ),
        }
    }
}

/// Most keys the ledger remembers across connections (16 MiB at most).
const MAX_KEYS: usize = 1 << 20;
/// Most handshake keys it remembers.
const MAX_NONCES: usize = 1 << 16;
/// Keys in a row with one constant difference that make a counter.
const COUNTER_RUN: usize = 4;
/// Frames with keys of earlier connections that chance does not explain (or every frame,
/// when there are two or more).
const CROSS_HITS: usize = 3;

/// The keys seen so far in one run (the client under test's, all connections).
#[derive(Debug, Default)]
pub struct MaskLedger {
    keys: HashSet<[u8; 4]>,
    nonces: HashSet<Vec<u8>>,
}

impl MaskLedger {
    /// The masking problems of the client's frames and request in `log` (one connection),
    /// which are then remembered for the connections after it.
    pub fn check(&mut self, log: &EventLog) -> Vec<MaskProblem> {
        let mut problems = Vec::new();
        let mut keys = Vec::new();
        let mut nonce = None;
        for event in log.events() {
            match &event.kind {
                EventKind::Frame {
                    direction: Direction::Received,
                    frame,
                } => {
                    if let Some(key) = frame.mask {
                        keys.push(key);
                    }
                }
                EventKind::HandshakeRequest(head) => {
                    nonce = head.values("Sec-WebSocket-Key").first().map(|v| v.to_vec());
                }
                _ => {}
            }
        }
        if let Some(index) = keys.iter().position(|k| *k == [0; 4]) {
            problems.push(MaskProblem::ZeroKey {
                frame_index: index as u64,
            });
        }
        let mut seen = HashSet::new();
        let repeats = keys.iter().filter(|k| !seen.insert(**k)).count();
        if repeats > 1 {
            problems.push(MaskProblem::RepeatedKey {
                repeats,
                frames: keys.len(),
            });
        }
        // Frames whose key an earlier connection used: three, or every frame of two or more.
        let hits = keys.iter().filter(|k| self.keys.contains(*k)).count();
        if hits >= CROSS_HITS || (hits >= 2 && hits == keys.len()) {
            problems.push(MaskProblem::KeySeenBefore {
                hits,
                frames: keys.len(),
            });
        }
        if let Some((step, run)) = counter(&keys) {
            problems.push(MaskProblem::CounterKeys { step, run });
        }
        if let Some(nonce) = nonce {
            if let Some(why) = weak_nonce(&nonce) {
                problems.push(MaskProblem::HandshakeKeyWeak { why });
            }
            if self.nonces.contains(&nonce) {
                problems.push(MaskProblem::HandshakeKeyReused);
            } else if self.nonces.len() < MAX_NONCES {
                self.nonces.insert(nonce);
            }
        }
        for key in seen {
            if self.keys.len() >= MAX_KEYS {
                break;
            }
            self.keys.insert(key);
        }
        problems
    }
}

/// Puts the masking `problems` of a case's connection on its `record` as findings; a case
/// that `judge_masking` fails on any of them (section 21).
pub fn apply(record: &mut CaseRecord, problems: &[MaskProblem], case: &Case, policy: Policy) {
    record.findings.extend(
        problems
            .iter()
            .map(|p| Finding::of(FindingKind::Masking(p.clone())).to_record()),
    );
    if !case.judge_masking || record.behavior.is_none() {
        return;
    }
    // An unmasked frame (§5.1) is the decoder's finding, on the record already.
    let unmasked = record
        .findings
        .iter()
        .find(|f| f.code == "unmasked-client-frame")
        .map(|f| f.message.clone());
    let first = problems.first().map(ToString::to_string).or(unmasked);
    let Some(first) = first else {
        if record.behavior == Some(Behavior::Ok) {
            record.reason.push_str("; masking keys and nonce fresh");
        }
        return;
    };
    let close = record.behavior_close.unwrap_or(BehaviorClose::Ok);
    record.behavior = Some(Behavior::Failed);
    record.outcome = verdict::outcome(policy, Behavior::Failed, close);
    record.reason = format!("{first}; then {}", record.reason);
    record.causes.insert(0, Cause::BrokeRule);
}

/// The longest run of keys (at least [`COUNTER_RUN`]) whose differences, as big- or
/// little-endian integers, are one constant other than zero (a zero step is a repeat).
fn counter(keys: &[[u8; 4]]) -> Option<(u32, usize)> {
    let mut best: Option<(u32, usize)> = None;
    for read in [u32::from_be_bytes, u32::from_le_bytes] {
        let values: Vec<u32> = keys.iter().map(|k| read(*k)).collect();
        let steps: Vec<u32> = values.windows(2).map(|w| w[1].wrapping_sub(w[0])).collect();
        let mut i = 0;
        while i < steps.len() {
            let mut j = i;
            while j < steps.len() && steps[j] == steps[i] {
                j += 1;
            }
            let run = j - i + 1;
            // The longest run; of equal runs, the smaller step (a little-endian counter
            // read big-endian steps by 2^24 until it carries).
            let better = best.is_none_or(|(s, r)| run > r || (run == r && steps[i] < s));
            if steps[i] != 0 && run >= COUNTER_RUN && better {
                best = Some((steps[i], run));
            }
            i = j;
        }
    }
    best
}

/// What gives away a `Sec-WebSocket-Key` that is not random, if anything (its length and
/// base64 are checked by the server's request check, §4.2.1 item 5).
fn weak_nonce(value: &[u8]) -> Option<&'static str> {
    if value == b"dGhlIHNhbXBsZSBub25jZQ==" {
        return Some("it is the RFC's sample nonce (\"the sample nonce\", §1.3)");
    }
    let decoded = crate::handshake::decode_key(value)?;
    let distinct: HashSet<u8> = decoded.iter().copied().collect();
    (distinct.len() <= 2).then_some("its 16 bytes take at most two values")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::{Frame, RawFrame};
    use std::time::Duration;

    fn log_of(keys: &[[u8; 4]]) -> EventLog {
        let mut log = EventLog::default();
        for (i, key) in keys.iter().enumerate() {
            let frame = Frame {
                offset: i as u64 * 10,
                index: i as u64,
                raw: RawFrame::text("x").masked(*key),
            };
            log.push(
                Duration::ZERO,
                EventKind::Frame {
                    direction: Direction::Received,
                    frame: crate::session::FrameRecord::of(&frame),
                },
            );
        }
        log
    }

    fn random_keys(n: usize, seed: u64) -> Vec<[u8; 4]> {
        let mut x = seed;
        (0..n)
            .map(|_| {
                // xorshift: good enough to stand for a random source here.
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x as u32).to_be_bytes()
            })
            .collect()
    }

    #[test]
    fn random_keys_raise_nothing_within_or_across_connections() {
        let mut ledger = MaskLedger::default();
        for c in 0..20 {
            let problems = ledger.check(&log_of(&random_keys(500, 1 + c)));
            assert!(problems.is_empty(), "{problems:?}");
        }
    }

    #[test]
    fn each_pattern_is_its_finding() {
        let mut ledger = MaskLedger::default();
        let zero = ledger.check(&log_of(&[[1, 2, 3, 4], [0; 4], [5, 6, 7, 8]]));
        assert_eq!(zero, vec![MaskProblem::ZeroKey { frame_index: 1 }]);
        // One key for every frame: repeated within, and (next connection) across.
        let fixed = vec![[9, 9, 9, 1]; 5];
        let first = ledger.check(&log_of(&fixed));
        assert_eq!(
            first,
            vec![MaskProblem::RepeatedKey {
                repeats: 4,
                frames: 5
            }]
        );
        let keys = random_keys(8, 7);
        ledger.check(&log_of(&keys));
        let again = ledger.check(&log_of(&keys));
        assert_eq!(
            again,
            vec![MaskProblem::KeySeenBefore { hits: 8, frames: 8 }]
        );
        // One repeat is what chance can do: not a finding.
        let mut once = random_keys(6, 99);
        once.push(once[0]);
        assert!(MaskLedger::default().check(&log_of(&once)).is_empty());
        let counting: Vec<[u8; 4]> = (100u32..106).map(u32::to_le_bytes).collect();
        assert_eq!(
            MaskLedger::default().check(&log_of(&counting)),
            vec![MaskProblem::CounterKeys { step: 1, run: 6 }]
        );
    }

    #[test]
    fn weak_and_reused_nonces() {
        assert!(weak_nonce(b"dGhlIHNhbXBsZSBub25jZQ==").is_some());
        assert!(weak_nonce(b"AAAAAAAAAAAAAAAAAAAAAA==").is_some());
        assert!(weak_nonce(b"x3JJHMbDL1EzLkh9GBhXDw==").is_none());
    }
}
