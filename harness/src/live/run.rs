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
use crate::cases::Case;
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
pub fn group_of(record: &CaseRecord, case: &Case) -> Option<String> {
    if !record.causes.contains(&Cause::Diverged) || record.outcome != Outcome::Fail {
        return None;
    }
    let code = record.findings.first()?.code.clone();
    if code == "diverge-not-failed" || code == "diverge-failure-code" {
        let cause = crate::peer::pair::model(case)
            .iter()
            .find_map(|run| run.failure)
            .unwrap_or("?");
        return Some(format!("{code} ({cause})"));
    }
    Some(code)
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
fn group_for(records: &[CaseRecord], case: &Case) -> Option<String> {
    if let [record] = records {
        return group_of(record, case);
    }
    let names: Vec<String> = records.iter().map(|r| r.target.clone()).collect();
    let d = wsconform_reports::differential::compute(records, &names);
    d.cases.first().map(|c| format!("differ: {}", c.names()))
}

/// Runs sequence `seq` as a case named `head` against every target, one after the other;
/// the records, and the first connection error.
async fn run_one(
    targets: &[FuzzTarget],
    seq: &Sequence,
    head: &CaseHead<'_>,
    options: &RunOptions,
) -> (Case, Vec<CaseRecord>, Option<usize>) {
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
    (case, records, unreachable)
}

/// The head of a working case (the repro's is given when it is written).
const WORKING: CaseHead<'static> = CaseHead {
    id: "fuzz.run",
    title: "A generated sequence",
    rfc: "rfc6455#section-5",
};

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
    // The last sequences that reached the targets: a crash may be theirs.
    let mut recent: VecDeque<(u64, Sequence)> = VecDeque::new();
    let budget_left = |next: u64| {
        config.runs.is_none_or(|n| next < n) && deadline.is_none_or(|d| Instant::now() < d)
    };
    loop {
        while in_flight.len() < config.jobs.max(1) && budget_left(next) {
            let index = next;
            next += 1;
            let seq = sequence(config.seed, index);
            in_flight.push(async move {
                let (case, records, unreachable) =
                    run_one(targets, &seq, &WORKING, &config.options).await;
                (index, seq, case, records, unreachable)
            });
        }
        let Some((index, seq, case, records, unreachable)) = in_flight.next().await else {
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
                while let Some((i, s, _, _, gone)) = in_flight.next().await {
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
            // It answers again: the sequence runs once more later, under a new number.
            continue;
        }
        outcome.runs += 1;
        recent.push_back((index, seq.clone()));
        if recent.len() > config.jobs.max(1) {
            recent.pop_front();
        }
        if let Some(group) = group_for(&records, &case) {
            outcome.diverged += 1;
            if let Some(found) = outcome.found.iter_mut().find(|f| f.group == group) {
                found.hits += 1;
                found.first = found.first.min(index);
            } else {
                progress(Progress::Shrinking(group.clone()));
                let found = shrink(targets, config, index, seq, group, records).await;
                outcome.found.push(found);
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
/// still diverges in the same group.
async fn shrink(
    targets: &[FuzzTarget],
    config: &FuzzConfig,
    index: u64,
    seq: Sequence,
    group: String,
    records: Vec<CaseRecord>,
) -> Found {
    let original_steps = seq.steps.len();
    let diverges =
        |records: &[CaseRecord], case: &Case| group_for(records, case).as_ref() == Some(&group);
    let mut again = None;
    for _ in 0..CONFIRMATIONS {
        let (case, run, _) = run_one(targets, &seq, &WORKING, &config.options).await;
        if diverges(&run, &case) {
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
        let (case, run, _) = run_one(targets, &candidate, &WORKING, &config.options).await;
        let fails = diverges(&run, &case);
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
