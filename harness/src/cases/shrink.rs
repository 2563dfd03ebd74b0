//! Shrinking a generated [`Sequence`]: the smaller sequences to try, one simplification each,
//! boldest first (a step gone, then a frame gone, then a field made plain). A live fuzzer
//! keeps the first candidate that still shows the same divergence and starts over from it,
//! until no candidate does or its budget runs out; what is left is the repro.

use super::generate::{GenPayload, GenStep, Sequence, Write_};

/// Every one-step simplification of `seq`, boldest first.
pub fn candidates(seq: &Sequence) -> Vec<Sequence> {
    let mut out = Vec::new();
    let with = |i: usize, step: GenStep| {
        let mut s = seq.clone();
        s.steps[i] = step;
        s
    };
    // Whole steps.
    if seq.steps.len() > 1 {
        for i in 0..seq.steps.len() {
            let mut s = seq.clone();
            s.steps.remove(i);
            out.push(s);
        }
    }
    // Whole frames.
    for (i, step) in seq.steps.iter().enumerate() {
        if let GenStep::Send { frames, write } = step
            && frames.len() > 1
        {
            for j in 0..frames.len() {
                let mut frames = frames.clone();
                frames.remove(j);
                out.push(with(
                    i,
                    GenStep::Send {
                        frames,
                        write: *write,
                    },
                ));
            }
        }
    }
    // Fields.
    for (i, step) in seq.steps.iter().enumerate() {
        for simpler in simpler_steps(step) {
            out.push(with(i, simpler));
        }
    }
    out
}

/// The simplifications of one step's fields.
fn simpler_steps(step: &GenStep) -> Vec<GenStep> {
    let mut out = Vec::new();
    match step {
        GenStep::Send { frames, write } => {
            if *write != Write_::Plain {
                out.push(GenStep::Send {
                    frames: frames.clone(),
                    write: Write_::Plain,
                });
            }
            for (j, frame) in frames.iter().enumerate() {
                let mut variants = Vec::new();
                for payload in simpler_payloads(&frame.payload) {
                    let mut f = frame.clone();
                    f.payload = payload;
                    variants.push(f);
                }
                let mut plain = |change: &dyn Fn(&mut super::generate::GenFrame)| {
                    let mut f = frame.clone();
                    change(&mut f);
                    if f != *frame {
                        variants.push(f);
                    }
                };
                plain(&|f| f.declared_len = None);
                plain(&|f| f.length_bits = None);
                plain(&|f| f.mask = 0);
                plain(&|f| f.rsv = 0);
                plain(&|f| f.unfinished = false);
                plain(&|f| f.raw = false);
                for f in variants {
                    let mut frames = frames.clone();
                    frames[j] = f;
                    out.push(GenStep::Send {
                        frames,
                        write: *write,
                    });
                }
            }
        }
        GenStep::Message {
            text,
            payload,
            fragment,
            write,
        } => {
            if *write != Write_::Plain {
                out.push(GenStep::Message {
                    text: *text,
                    payload: payload.clone(),
                    fragment: *fragment,
                    write: Write_::Plain,
                });
            }
            for p in simpler_payloads(payload) {
                out.push(GenStep::Message {
                    text: *text,
                    payload: p,
                    fragment: *fragment,
                    write: *write,
                });
            }
        }
        GenStep::Close(Some((code, reason))) => {
            out.push(GenStep::Close(None));
            if !reason.is_empty() {
                out.push(GenStep::Close(Some((*code, Vec::new()))));
            }
        }
        GenStep::Close(None) => {}
        GenStep::Wait { centis, tag } => {
            if *tag {
                out.push(GenStep::Wait {
                    centis: *centis,
                    tag: false,
                });
            }
        }
        GenStep::PingFlood(n) if *n > 1 => {
            out.push(GenStep::PingFlood(1));
            out.push(GenStep::PingFlood(n / 2));
        }
        GenStep::PingFlood(_) => {}
        GenStep::PauseReading(c) if *c > 0 => out.push(GenStep::PauseReading(0)),
        GenStep::PauseReading(_) => {}
    }
    out
}

/// Shorter payloads: empty, then the first half (a long run: 125 bytes, then half).
fn simpler_payloads(payload: &GenPayload) -> Vec<GenPayload> {
    match payload {
        GenPayload::Bytes(b) if b.is_empty() => Vec::new(),
        GenPayload::Bytes(b) if b.len() == 1 => vec![GenPayload::Bytes(Vec::new())],
        GenPayload::Bytes(b) => vec![
            GenPayload::Bytes(Vec::new()),
            GenPayload::Bytes(b[..b.len() / 2].to_vec()),
            GenPayload::Bytes(b[1..].to_vec()),
        ],
        GenPayload::Repeat(n) if *n > 125 => vec![
            GenPayload::Bytes(Vec::new()),
            GenPayload::Repeat(125),
            GenPayload::Repeat(n / 2),
        ],
        GenPayload::Repeat(_) => vec![GenPayload::Bytes(Vec::new())],
    }
}

/// A greedy shrinker, sans-IO: ask it for the next candidate, run it, and tell it whether the
/// candidate still fails. It keeps the first failing candidate and starts over from it (one
/// simplification at a time, boldest first), until no candidate fails or `budget` candidates
/// were tried.
#[derive(Debug)]
pub struct Shrinker {
    best: Sequence,
    queue: std::vec::IntoIter<Sequence>,
    pending: Option<Sequence>,
    tried: usize,
    budget: usize,
}

impl Shrinker {
    /// Starts from `seq`, which fails.
    pub fn new(seq: Sequence, budget: usize) -> Self {
        let queue = candidates(&seq).into_iter();
        Shrinker {
            best: seq,
            queue,
            pending: None,
            tried: 0,
            budget,
        }
    }

    /// The next candidate to try, or none when done.
    pub fn next_candidate(&mut self) -> Option<&Sequence> {
        if self.tried >= self.budget {
            return None;
        }
        self.pending = self.queue.next();
        self.tried += usize::from(self.pending.is_some());
        self.pending.as_ref()
    }

    /// Whether the candidate last given still fails.
    pub fn report(&mut self, still_fails: bool) {
        if let Some(candidate) = self.pending.take()
            && still_fails
        {
            self.queue = candidates(&candidate).into_iter();
            self.best = candidate;
        }
    }

    /// The smallest failing sequence so far.
    pub fn best(&self) -> &Sequence {
        &self.best
    }

    /// How many candidates were tried.
    pub fn tried(&self) -> usize {
        self.tried
    }
}

/// Shrinks `seq` while `still_fails` holds, trying at most `budget` candidates (see
/// [`Shrinker`]). Returns the smallest sequence found and how many candidates were tried.
/// (The live fuzzer drives a [`Shrinker`] itself: its test runs are async.)
#[cfg(test)]
fn shrink(
    seq: &Sequence,
    budget: usize,
    mut still_fails: impl FnMut(&Sequence) -> bool,
) -> (Sequence, usize) {
    let mut shrinker = Shrinker::new(seq.clone(), budget);
    while let Some(candidate) = shrinker.next_candidate() {
        let fails = still_fails(candidate);
        shrinker.report(fails);
    }
    (shrinker.best().clone(), shrinker.tried())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cases::generate::GenFrame;

    fn frame(opcode: &'static str, payload: &[u8]) -> GenFrame {
        GenFrame::plain(opcode, true, payload)
    }

    #[test]
    fn shrinking_keeps_only_what_the_property_needs() {
        // The "bug": a ping frame whose payload holds an 'x'.
        let seq = Sequence {
            steps: vec![
                GenStep::Wait {
                    centis: 10,
                    tag: true,
                },
                GenStep::Send {
                    frames: vec![
                        frame("\"text\"", b"hello"),
                        frame("\"ping\"", b"abxyz"),
                        frame("\"binary\"", b"zz"),
                    ],
                    write: Write_::Chop(2),
                },
                GenStep::PingFlood(9),
            ],
        };
        let bad = |s: &Sequence| {
            s.steps.iter().any(|st| match st {
                GenStep::Send { frames, .. } => frames.iter().any(|f| {
                    f.opcode == "\"ping\""
                        && matches!(&f.payload, GenPayload::Bytes(b) if b.contains(&b'x'))
                }),
                _ => false,
            })
        };
        let (small, tried) = shrink(&seq, 1000, bad);
        assert!(tried < 1000);
        assert_eq!(
            small,
            Sequence {
                steps: vec![GenStep::Send {
                    frames: vec![frame("\"ping\"", b"x")],
                    write: Write_::Plain,
                }]
            }
        );
    }

    #[test]
    fn the_budget_bounds_the_tries() {
        let seq = Sequence {
            steps: vec![GenStep::PingFlood(20), GenStep::PingFlood(20)],
        };
        let mut calls = 0;
        // Six candidates, none failing: the budget stops it at three.
        let (_, tried) = shrink(&seq, 3, |_| {
            calls += 1;
            false
        });
        assert_eq!((tried, calls), (3, 3));
    }
}
