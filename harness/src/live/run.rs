//! The live fuzzing loop: sequences from a seed, run against the target a few at a time, each
//! judged against the model; a new kind of divergence is confirmed, shrunk, and kept as a
//! repro. The only async code of live fuzzing; the rules are in [`crate::runner::predict`].

use std::collections::VecDeque;
use std::time::Duration;

use arbitrary::Unstructured;
use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use tokio::time::Instant;
use wsconform_reports::{CaseRecord, Cause, Outcome};

use super::predicted::predicted_case;
use crate::cases::generate::{CaseHead, Sequence};
use crate::cases::shrink::Shrinker;
use crate::net::{Target, connect};
use crate::runner::{RunOptions, run_case};

/// How a fuzzing run is bounded and shaped.
#[derive(Debug, Clone)]
pub struct FuzzConfig {
    /// The seed of every sequence (sequence `i` depends only on the seed and `i`).
    pub seed: u64,
    /// Stop after this many sequences.
    pub runs: Option<u64>,
    /// Stop starting sequences after this long (shrinking what was found may take longer).
    pub time: Option<Duration>,
    /// Sequences in flight at once.
    pub jobs: usize,
    /// Candidates tried when shrinking one divergence.
    pub shrink_budget: usize,
    /// Connection and close timeouts.
    pub options: RunOptions,
}

/// A kind of divergence found, with its smallest repro.
#[derive(Debug, Clone)]
pub struct Found {
    /// What groups it: the first divergence's code, and the rule behind a failure.
    pub group: String,
    /// The lowest-numbered sequence that showed it (the repro was shrunk from the one
    /// that finished first).
    pub first: u64,
    /// How many sequences showed it.
    pub hits: u64,
    /// The steps of the first sequence.
    pub original_steps: usize,
    /// The repro.
    pub repro: Sequence,
    /// Shrinking candidates tried.
    pub tried: usize,
    /// The first sequence did not diverge the same way in [`CONFIRMATIONS`] more runs: most
    /// likely the timing of this machine, not the peer. Kept as found (not shrunk), and not
    /// counted as a divergence.
    pub flaky: bool,
    /// The repro's last run: a record per target.
    pub records: Vec<CaseRecord>,
}

impl Found {
    /// The repro's case id (and file stem): `fuzz.<group>`, or `fuzz.unconfirmed.<group>`.
    pub fn id(&self) -> String {
        let id = repro_id(&self.group);
        if self.flaky {
            id.replacen("fuzz.", "fuzz.unconfirmed.", 1)
        } else {
            id
        }
    }
}

/// How many more runs a divergence gets to show itself again before it counts.
pub const CONFIRMATIONS: usize = 2;

/// Why a run stopped.
#[derive(Debug, Clone)]
pub enum Stop {
    /// The runs or the time ran out.
    Budget,
    /// The target stopped accepting connections; the sequences in flight then (and the last
    /// ones that reached it).
    TargetDied {
        /// Why a connection failed.
        error: String,
        /// The sequences, by number.
        in_flight: Vec<(u64, Sequence)>,
    },
}

/// What a fuzzing run did.
#[derive(Debug, Clone)]
pub struct FuzzOutcome {
    /// Sequences run.
    pub runs: u64,
    /// Sequences that diverged.
    pub diverged: u64,
    /// One per kind of divergence, in the order found.
    pub found: Vec<Found>,
    /// Why it stopped.
    pub stop: Stop,
    /// How long it took.
    pub elapsed: Duration,
}

/// Progress, for a bar.
#[derive(Debug, Clone)]
pub enum Progress {
    /// A sequence ran.
    Ran {
        /// Sequences run so far.
        runs: u64,
        /// Kinds of divergence so far.
        kinds: usize,
    },
    /// A new kind of divergence: shrinking it.
    Shrinking(String),
}

/// Sequence `index` of `seed`: the same pair always gives the same steps. Every other one is
/// tidied ([`Sequence::tidy`]): without broken frames, so that more sequences get past their
/// first frames to the gaps between them.
pub fn sequence(seed: u64, index: u64) -> Sequence {
    let mut rng = fastrand::Rng::with_seed(seed ^ index.wrapping_mul(0x9E37_79B9_7F4A_7C15));
    let data: Vec<u8> = (0..512).map(|_| rng.u8(..)).collect();
    let seq = Sequence::arbitrary(&mut Unstructured::new(&data))
        .unwrap_or(Sequence { steps: Vec::new() });
    if index % 2 == 1 { seq.tidy() } else { seq }
}

/// The id and file stem of a repro for `group` (`diverge-not-failed (reserved-opcode)` gives
/// `fuzz.diverge-not-failed.reserved-opcode`; `differ: messages, close code` gives
/// `fuzz.differ-messages-close-code`).
pub fn repro_id(group: &str) -> String {
    let mut slug = String::new();
    for part in group.split(" (") {
        if !slug.is_empty() {
            slug.push('.');
        }
        let words: Vec<String> = part
            .split(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
            .filter(|w| !w.is_empty())
            .map(str::to_owned)
            .collect();
        slug.push_str(&words.join("-"));
    }
    format!("fuzz.{slug}")
}

/// The group of a `predict` case's record, if it diverged so that the run's policy fails it
/// (NON-STRICT differences only under `--strict`): the first finding's code, and for a missed
/// or mismatched failure the rule the model failed on.
pub fn group_of(record: &CaseRecord) -> Option<String> {
    if !record.causes.contains(&Cause::Diverged) || record.outcome != Outcome::Fail {
        return None;
    }
    let first = record.findings.first()?;
    Some(crate::runner::predict::group(
        &first.code,
        first.cause.as_deref(),
    ))
}

/// A target of a fuzzing run, and its name in the records.
#[derive(Debug, Clone)]
pub struct FuzzTarget {
    /// Where.
    pub target: Target,
    /// Its name.
    pub name: String,
}

/// The group of one run of a sequence against every target: with one target, how it
/// diverged from the model ([`group_of`]); with several (a differential run), the aspects in
/// which their behaviour differs (`differ: close code, closed by`).
pub fn group_for(records: &[CaseRecord]) -> Option<String> {
    if let [record] = records {
        return group_of(record);
    }
    let names: Vec<String> = records.iter().map(|r| r.target.clone()).collect();
    let d = wsconform_reports::differential::compute(records, &names);
    d.cases.first().map(|c| format!("differ: {}", c.names()))
}

/// Runs sequence `seq` as a case named `head` against every target, one after the other;
/// the records, and which target could not be reached, if one could not.
async fn run_one(
    targets: &[FuzzTarget],
    seq: &Sequence,
    head: &CaseHead<'_>,
    options: &RunOptions,
) -> (Vec<CaseRecord>, Option<usize>) {
    let (_, case) = predicted_case(seq, head);
    let mut records = Vec::new();
    let mut unreachable = None;
    for (i, t) in targets.iter().enumerate() {
        let run = run_case(&t.name, &t.target, &case, options).await;
        if (run.unreachable.is_some() || run.record.outcome == Outcome::Unreachable)
            && unreachable.is_none()
        {
            unreachable = Some(i);
        }
        records.push(run.record);
    }
    (records, unreachable)
}

/// The head of a working case (the repro's is given when it is written).
const WORKING: CaseHead<'static> = CaseHead {
    id: "fuzz.run",
    title: "A generated sequence",
    rfc: "rfc6455#section-5",
};

/// How many times a kind of divergence seen but not confirmed gets another chance, from a
/// later sequence that shows it.
const RECONFIRMATIONS: u64 = 3;

/// One finished run of a sequence: its number, the sequence, the records (one per target),
/// and which target could not be reached, if one could not.
type Finished = (u64, Sequence, Vec<CaseRecord>, Option<usize>);

/// Fuzzes `targets` as `config` says, reporting progress: against the model with one target,
/// against each other with several.
pub async fn fuzz(
    targets: &[FuzzTarget],
    config: &FuzzConfig,
    mut progress: impl FnMut(Progress),
) -> FuzzOutcome {
    let start = Instant::now();
    let deadline = config.time.map(|t| start + t);
    let mut outcome = FuzzOutcome {
        runs: 0,
        diverged: 0,
        found: Vec::new(),
        stop: Stop::Budget,
        elapsed: Duration::ZERO,
    };
    let mut next: u64 = 0;
    let mut in_flight = FuturesUnordered::new();
    // Runs that finished while a divergence was shrunk, judged after it.
    let mut finished: VecDeque<Finished> = VecDeque::new();
    // Sequences to run again: the target was unreachable for a moment.
    let mut retry: VecDeque<(u64, Sequence)> = VecDeque::new();
    // The last sequences that reached the targets: a crash may be theirs.
    let mut recent: VecDeque<(u64, Sequence)> = VecDeque::new();
    let launch = |index: u64, seq: Sequence| async move {
        let (records, unreachable) = run_one(targets, &seq, &WORKING, &config.options).await;
        (index, seq, records, unreachable)
    };
    loop {
        let budget_left =
            config.runs.is_none_or(|n| next < n) && deadline.is_none_or(|d| Instant::now() < d);
        while in_flight.len() < config.jobs.max(1) {
            if let Some((index, seq)) = retry.pop_front() {
                in_flight.push(launch(index, seq));
            } else if budget_left {
                let index = next;
                next += 1;
                in_flight.push(launch(index, sequence(config.seed, index)));
            } else {
                break;
            }
        }
        let done = match finished.pop_front() {
            Some(done) => Some(done),
            None => in_flight.next().await,
        };
        let Some((index, seq, records, unreachable)) = done else {
            break;
        };
        if let Some(i) = unreachable {
            // One more try before calling the target dead (a full accept queue, say).
            let t = &targets[i];
            if let Err(e) = connect(
                &t.target,
                &config.options.tls,
                config.options.connect_timeout,
            )
            .await
            {
                let mut kept: Vec<(u64, Sequence)> = recent.into_iter().collect();
                // The others in flight reached the target, or will find it gone.
                while let Some((i, s, _, gone)) = in_flight.next().await {
                    if gone.is_none() {
                        kept.push((i, s));
                    }
                }
                kept.sort_by_key(|(i, _)| *i);
                outcome.stop = Stop::TargetDied {
                    error: format!("{}: {e}", t.target.url),
                    in_flight: kept,
                };
                break;
            }
            // It answers again: the sequence runs again.
            retry.push_back((index, seq));
            continue;
        }
        outcome.runs += 1;
        recent.push_back((index, seq.clone()));
        if recent.len() > config.jobs.max(1) {
            recent.pop_front();
        }
        if let Some(group) = group_for(&records) {
            outcome.diverged += 1;
            let known = outcome.found.iter().position(|f| f.group == group);
            let retry_flaky = known.is_some_and(|i| {
                let f = &outcome.found[i];
                f.flaky && f.hits <= RECONFIRMATIONS
            });
            if let Some(i) = known {
                let f = &mut outcome.found[i];
                f.hits += 1;
                f.first = f.first.min(index);
            }
            if known.is_none() || retry_flaky {
                progress(Progress::Shrinking(group.clone()));
                // Nothing else is in flight while a divergence is shrunk: a connection left
                // unread would look like a peer that stopped answering.
                while let Some(done) = in_flight.next().await {
                    finished.push_back(done);
                }
                let found = shrink(targets, config, index, seq, group, records).await;
                match known {
                    Some(i) if !found.flaky => {
                        let hits = outcome.found[i].hits;
                        let first = outcome.found[i].first;
                        outcome.found[i] = Found {
                            hits,
                            first,
                            ..found
                        };
                    }
                    Some(_) => {}
                    None => outcome.found.push(found),
                }
            }
        }
        progress(Progress::Ran {
            runs: outcome.runs,
            kinds: outcome.found.len(),
        });
    }
    outcome.elapsed = start.elapsed();
    outcome
}

/// Confirms a divergence of sequence `index` and shrinks it to the smallest sequence that
/// still diverges in the same group. A target that cannot be reached ends the shrinking (the
/// main loop then finds it gone).
async fn shrink(
    targets: &[FuzzTarget],
    config: &FuzzConfig,
    index: u64,
    seq: Sequence,
    group: String,
    records: Vec<CaseRecord>,
) -> Found {
    let original_steps = seq.steps.len();
    let diverges = |records: &[CaseRecord]| group_for(records).as_ref() == Some(&group);
    let mut again = None;
    for _ in 0..CONFIRMATIONS {
        let (run, unreachable) = run_one(targets, &seq, &WORKING, &config.options).await;
        if unreachable.is_some() {
            break;
        }
        if diverges(&run) {
            again = Some(run);
            break;
        }
    }
    let Some(again) = again else {
        return Found {
            group,
            first: index,
            hits: 1,
            original_steps,
            repro: seq,
            tried: 0,
            flaky: true,
            records,
        };
    };
    let mut last = again;
    let mut shrinker = Shrinker::new(seq, config.shrink_budget);
    while let Some(candidate) = shrinker.next_candidate().cloned() {
        let (run, unreachable) = run_one(targets, &candidate, &WORKING, &config.options).await;
        if unreachable.is_some() {
            break;
        }
        let fails = diverges(&run);
        if fails {
            last = run;
        }
        shrinker.report(fails);
    }
    Found {
        group,
        first: index,
        hits: 1,
        original_steps,
        repro: shrinker.best().clone(),
        tried: shrinker.tried(),
        flaky: false,
        records: last,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repro_ids_are_case_ids() {
        assert_eq!(
            repro_id("diverge-not-failed (reserved-opcode)"),
            "fuzz.diverge-not-failed.reserved-opcode"
        );
        assert_eq!(
            repro_id("differ: messages, close code"),
            "fuzz.differ-messages-close-code"
        );
        assert_eq!(
            repro_id("diverge-missing-pong"),
            "fuzz.diverge-missing-pong"
        );
    }

    #[test]
    fn a_seed_and_an_index_always_give_the_same_sequence() {
        assert_eq!(sequence(42, 7), sequence(42, 7));
        assert_ne!(sequence(42, 7), sequence(42, 8));
        assert_ne!(sequence(42, 7), sequence(43, 7));
    }
}
