//! Live fuzzing's judge: what a peer did with a sequence of steps, compared with what the
//! model does with the same bytes. Sans-IO.
//!
//! The model is the reference server ([`crate::peer::ReferenceServer`]), run in process on a
//! simulated clock ([`crate::peer::pair::model`]) once for each combination of the choices the
//! RFC leaves to a server that a client can tell apart ([`crate::peer::pair::allowed_choices`]):
//! when invalid UTF-8 fails the connection (§8.1: as the bytes arrive, at the end of the
//! message, or when an application that lags behind its protocol takes the message), and
//! whether a length not in the minimal form is taken (on every frame, on data frames only, or
//! none: §5.2 binds only the sender). The peer conforms when it behaves as one of those runs
//! does, judged with the slack the RFC gives every server:
//!
//! - **Messages** (the echoes) must be the model's, in order. An echo may be missing only when
//!   a close overtook it: the model sent it less than a grace ([`GRACE`], plus
//!   [`GRACE_PER_FRAME`] for each frame the harness sent) before the first close frame (a
//!   server's application may not get to send it; the harness waits for every other one
//!   before it closes).
//! - **Pongs** (§5.5.2, §5.5.3): each of the model's pongs must come, except one that another
//!   followed within the grace (a server MAY answer only the most recent pending ping) or that
//!   a close overtook. Extra pongs are allowed (an unsolicited pong is legal).
//! - **The close**: where the model fails the connection (§7.1.7), the peer must too, with
//!   the model's code, an empty close, or by dropping TCP (or, when a frame declares more
//!   than it carries, by waiting for the rest; or, when a lagging application's UTF-8 check
//!   fails, by answering a close that came behind the message first). Another code is NON-STRICT (a close code is a
//!   SHOULD, §7.4.1; a frame that breaks two rules has two right codes). Where the model
//!   answers the harness's close, the peer must answer with the harness's code, 1000, 1001,
//!   or no code (§5.5.1); if the harness sent frames after a close (after its own, §5.5.1
//!   forbids it), the peer may take them instead, and echo or fail on them. A refusal with
//!   1008 or 1009 is NON-STRICT (§10.4). When TCP
//!   closes, and who closes it, is the peer's choice; a truncated last frame is no
//!   divergence when the connection was being failed.
//! - **Frames** the peer sends must keep every rule the harness's decoder checks (unmasked,
//!   valid UTF-8 in text, …).
//!
//! What differs is a [`Divergence`], a typed finding with a stable code.

use std::fmt;
use std::time::{Duration, SystemTime};

use wsconform_reports::{Behavior, CaseRecord, Cause};

use super::finding::{Finding, FindingKind};
use super::machine::MachineResult;
use super::observed::{Observed, show_list};
use super::verdict::{self, Policy};
use crate::cases::Case;
use crate::session::Closure;
use crate::wire::ViolationKind;

/// How long before the first close a reply must have been due for its absence to count: less
/// than this, and the close may have overtaken it.
pub const GRACE: Duration = Duration::from_millis(200);

/// More grace for each frame the harness sent: a server takes real time to read thousands of
/// small fragments, which the model reads at once.
pub const GRACE_PER_FRAME: Duration = Duration::from_micros(100);

/// The finding code of a length not in the minimal form.
const NON_MINIMAL: &str = "non-minimal-length";

/// The seed of a `predict` case's masking keys, in the model's runs and the peer's alike.
pub const MASK_SEED: u64 = 6455;

/// How the peer ended its side of the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PeerEnd {
    /// It sent a close frame with this code (none: an empty close).
    Close(Option<u16>),
    /// It ended TCP without a close frame.
    Dropped,
    /// It did neither before the harness gave up.
    #[default]
    Silent,
}

impl fmt::Display for PeerEnd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PeerEnd::Close(Some(code)) => write!(f, "close {code}"),
            PeerEnd::Close(None) => f.write_str("an empty close"),
            PeerEnd::Dropped => f.write_str("TCP closed without a close frame"),
            PeerEnd::Silent => f.write_str("no close and no end of TCP"),
        }
    }
}

/// What a peer did in one run, as the judge compares it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Observation {
    /// The data messages, in order, each with when it came.
    pub messages: Vec<(Observed, Duration)>,
    /// The pongs, in order, each with when it came.
    pub pongs: Vec<(Vec<u8>, Duration)>,
    /// How the peer ended.
    pub end: PeerEnd,
    /// The close code the harness sent first, if it closed first (`Some(None)`: empty).
    pub harness_close: Option<Option<u16>>,
    /// When the first close frame went either way.
    pub first_close: Option<Duration>,
    /// How long before the first close a reply must have come to be due ([`GRACE`], and more
    /// for a long sequence: [`GRACE_PER_FRAME`]).
    pub grace: Duration,
    /// The rules the peer's own frames broke.
    pub broke: Vec<Finding>,
}

impl Observation {
    /// What `result` saw.
    pub fn of(result: &MachineResult) -> Self {
        let mut messages = Vec::new();
        let mut pongs = Vec::new();
        let at = &result.timeline.observed_at;
        for (i, event) in result.observed.iter().enumerate() {
            let when = at.get(i).copied().unwrap_or_default();
            match event {
                Observed::Message { .. } => messages.push((event.clone(), when)),
                Observed::Pong(p) => pongs.push((p.clone(), when)),
                Observed::Timeout(_) => {}
            }
        }
        let end = match (&result.remote_close, result.transport) {
            (Some((code, _)), _) => PeerEnd::Close(*code),
            (
                None,
                Some(Closure::PeerFin { .. } | Closure::PeerReset | Closure::TransportError),
            ) => PeerEnd::Dropped,
            (None, _) => PeerEnd::Silent,
        };
        // `closed_by_me` is set only when the harness's close went first.
        let harness_first = result.facts.closed_by_me;
        Observation {
            messages,
            pongs,
            end,
            harness_close: harness_first
                .then(|| result.local_close.as_ref().map(|(c, _)| *c))
                .flatten(),
            first_close: result.timeline.first_close,
            grace: GRACE,
            broke: result
                .findings
                .iter()
                .filter(|f| matches!(f.kind, FindingKind::Wire(_)))
                .cloned()
                .collect(),
        }
    }

    /// Whether a reply that came at `at` came at least the grace before the first close.
    fn early(&self, at: Duration) -> bool {
        self.first_close.is_none_or(|end| end >= at + self.grace)
    }

    /// Which of the messages must come: the first `listed` (the harness waited for them), and
    /// any that came early.
    fn messages_due(&self, listed: usize) -> Vec<bool> {
        self.messages
            .iter()
            .enumerate()
            .map(|(i, (_, at))| i < listed || self.early(*at))
            .collect()
    }

    /// Which of the pongs must come: those `listed` (the harness waited for them, matched in
    /// order), and any that came early and were not followed within the grace by another
    /// (§5.5.3: only the most recent of pending pings needs an answer).
    fn pongs_due(&self, listed: &[&Vec<u8>]) -> Vec<bool> {
        let mut listed = listed.iter().peekable();
        (0..self.pongs.len())
            .map(|i| {
                let (payload, at) = &self.pongs[i];
                if listed.peek().is_some_and(|l| **l == payload) {
                    listed.next();
                    return true;
                }
                let superseded = self
                    .pongs
                    .get(i + 1)
                    .is_some_and(|p| p.1 < *at + self.grace);
                !superseded && self.early(*at)
            })
            .collect()
    }

    /// The events a peer must send, in the model's order, for a run in which the harness never
    /// closed on its own: what a `predict` case lists in `expect.ok` (the harness waits for
    /// them before it closes).
    pub fn must_send(&self) -> Vec<Observed> {
        self.merged(&self.messages_due(0), &self.pongs_due(&[]))
    }

    /// Every message and pong, in the order they came.
    fn all_events(&self) -> Vec<Observed> {
        self.merged(
            &vec![true; self.messages.len()],
            &vec![true; self.pongs.len()],
        )
    }

    /// The messages and pongs kept (`true` at their place), merged in the order they came
    /// (stable: messages before pongs that came at the same moment).
    fn merged(&self, messages: &[bool], pongs: &[bool]) -> Vec<Observed> {
        let mut events: Vec<(Duration, Observed)> = self
            .messages
            .iter()
            .zip(messages)
            .filter(|(_, keep)| **keep)
            .map(|((m, at), _)| (*at, m.clone()))
            .collect();
        events.extend(
            self.pongs
                .iter()
                .zip(pongs)
                .filter(|(_, keep)| **keep)
                .map(|((p, at), _)| (*at, Observed::Pong(p.clone()))),
        );
        events.sort_by_key(|(at, _)| *at);
        events.into_iter().map(|(_, e)| e).collect()
    }
}

/// The messages of `list` and the payloads of its pongs, each in order.
fn split(list: &[Observed]) -> (Vec<&Observed>, Vec<&Vec<u8>>) {
    let mut messages = Vec::new();
    let mut pongs = Vec::new();
    for e in list {
        match e {
            Observed::Message { .. } => messages.push(e),
            Observed::Pong(p) => pongs.push(p),
            Observed::Timeout(_) => {}
        }
    }
    (messages, pongs)
}

/// Whether `observed` covers `expected` as the judge reads it: the expected messages are the
/// first messages observed, in order, and the expected pongs are among the pongs observed,
/// in order. (Tagged-wait events are not compared.)
pub fn covers(observed: &[Observed], expected: &[Observed]) -> bool {
    let (seen, seen_pongs) = split(observed);
    let (wanted, wanted_pongs) = split(expected);
    let mut pongs = seen_pongs.into_iter();
    seen.starts_with(&wanted)
        && wanted_pongs
            .into_iter()
            .all(|want| pongs.any(|p| p == want))
}

/// One run of the model: the choice it made, what the harness saw, and why the reference
/// server failed the connection, if it did.
#[derive(Debug, Clone)]
pub struct ModelRun {
    /// The choices, in words ("UTF-8 checked as it arrives").
    pub choice: [&'static str; 2],
    /// What the harness saw.
    pub seen: Observation,
    /// The stable code of the rule whose breach made the reference fail the connection.
    pub failure: Option<&'static str>,
    /// The events the case lists (`expect.ok`): the harness waited for them before it closed,
    /// so each that this run sends is due.
    pub listed: Vec<Observed>,
    /// Messages a lagging application never took because a close overtook them: a quicker
    /// one may have echoed them (in order), after the model's own.
    pub may_echo: Vec<Observed>,
    /// The failure comes from the application's check of a message it takes after the
    /// read (the lagging choice): a close the harness sent behind the message may be
    /// answered first, normally.
    pub failure_overtakable: bool,
    /// The harness sends frames after a close went either way (after its own, §5.5.1
    /// forbids it): the peer may take them (echo them, or fail the connection on them) or
    /// ignore them, as the reference does.
    pub sent_after_close: bool,
    /// A frame declares a length other than its payload's, so a frame's payload may never
    /// fully come: a server may wait for it before it checks the frame, and so neither fail
    /// nor close (the reference checks headers at once).
    pub lying_length: bool,
}

/// How a peer's run differs from a model run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Divergence {
    /// The peer broke a rule in its own frames.
    Broke(Box<Finding>),
    /// A message the model does not send (after a violation the model fails on, say).
    ExtraMessage {
        /// Its place among the messages, from 0.
        index: usize,
        /// The message.
        got: String,
    },
    /// A message other than the model's at the same place.
    WrongMessage {
        /// Its place among the messages, from 0.
        index: usize,
        /// The model's.
        expected: String,
        /// The peer's.
        got: String,
    },
    /// A message the model sends with time to spare never came.
    MissingMessage {
        /// Its place among the messages, from 0.
        index: usize,
        /// The model's.
        expected: String,
    },
    /// A pong the model sends with time to spare never came (§5.5.2).
    MissingPong {
        /// Its payload, shown.
        payload: String,
    },
    /// The model fails the connection; the peer did not.
    NotFailed {
        /// The rule broken (the reference server's finding code).
        cause: &'static str,
        /// The model's close code.
        code: Option<u16>,
        /// What the peer did.
        got: PeerEnd,
    },
    /// Both failed the connection, with different codes (§7.4.1).
    FailureCode {
        /// The rule broken.
        cause: &'static str,
        /// The model's code.
        expected: u16,
        /// The peer's.
        got: u16,
    },
    /// The peer failed or ended the connection where the model answers the harness's close.
    Failed {
        /// What the peer did.
        got: PeerEnd,
    },
    /// The peer never answered the harness's close (§5.5.1).
    NoCloseReply,
    /// The peer refused what it was sent with 1008 or 1009 where the model does not: a
    /// server protecting itself (RFC 6455 §10.4). NON-STRICT, not FAILED.
    Refused {
        /// The peer's code.
        got: u16,
    },
}

impl Divergence {
    /// Every kind, with sample fields: rows of the table of codes.
    pub fn samples() -> Vec<Divergence> {
        vec![
            Divergence::ExtraMessage {
                index: 0,
                got: "text(\"a\")".into(),
            },
            Divergence::WrongMessage {
                index: 0,
                expected: "text(\"a\")".into(),
                got: "text(\"b\")".into(),
            },
            Divergence::MissingMessage {
                index: 0,
                expected: "text(\"a\")".into(),
            },
            Divergence::MissingPong {
                payload: "\"\"".into(),
            },
            Divergence::NotFailed {
                cause: "reserved-opcode",
                code: Some(1002),
                got: PeerEnd::Close(Some(1000)),
            },
            Divergence::FailureCode {
                cause: "utf8-invalid",
                expected: 1007,
                got: 1002,
            },
            Divergence::Failed {
                got: PeerEnd::Close(Some(1002)),
            },
            Divergence::NoCloseReply,
            Divergence::Refused { got: 1009 },
        ]
    }

    /// The RFC leaves this open (a close code is a SHOULD, §7.4.1; refusing is a server's
    /// right, §10.4): NON-STRICT, not FAILED.
    pub fn strict_only(&self) -> bool {
        matches!(
            self,
            Divergence::FailureCode { .. } | Divergence::Refused { .. }
        )
    }

    /// The stable code.
    pub fn code(&self) -> &'static str {
        match self {
            Divergence::Broke(f) => f.kind.code(),
            Divergence::ExtraMessage { .. } => "diverge-extra-message",
            Divergence::WrongMessage { .. } => "diverge-wrong-message",
            Divergence::MissingMessage { .. } => "diverge-missing-message",
            Divergence::MissingPong { .. } => "diverge-missing-pong",
            Divergence::NotFailed { .. } => "diverge-not-failed",
            Divergence::FailureCode { .. } => "diverge-failure-code",
            Divergence::Failed { .. } => "diverge-failed",
            Divergence::NoCloseReply => "diverge-no-close-reply",
            Divergence::Refused { .. } => "diverge-refused",
        }
    }

    /// For a missed or mismatched failure, the rule the model failed the connection on.
    pub fn cause(&self) -> Option<&'static str> {
        match self {
            Divergence::NotFailed { cause, .. } | Divergence::FailureCode { cause, .. } => {
                Some(cause)
            }
            _ => None,
        }
    }

    /// What groups divergences in a fuzzing summary: the code, and for a failure the rule
    /// behind it (a missed reserved opcode and a missed bad UTF-8 are different bugs).
    pub fn group(&self) -> String {
        group(self.code(), self.cause())
    }

    /// The RFC section of the rule.
    pub fn rfc(&self) -> Option<&'static str> {
        Some(match self {
            Divergence::Broke(f) => return f.kind.rfc(),
            Divergence::ExtraMessage { .. }
            | Divergence::WrongMessage { .. }
            | Divergence::MissingMessage { .. } => "rfc6455#section-6.2",
            Divergence::MissingPong { .. } => "rfc6455#section-5.5.2",
            Divergence::NotFailed { .. } | Divergence::Failed { .. } => "rfc6455#section-7.1.7",
            Divergence::FailureCode { .. } => "rfc6455#section-7.4.1",
            Divergence::NoCloseReply => "rfc6455#section-5.5.1",
            Divergence::Refused { .. } => "rfc6455#section-10.4",
        })
    }
}

/// A divergence's group from its code and cause (`diverge-not-failed (reserved-opcode)`): as
/// [`Divergence::group`], from a record's finding as well.
pub fn group(code: &str, cause: Option<&str>) -> String {
    match cause {
        Some(cause) => format!("{code} ({cause})"),
        None => code.to_owned(),
    }
}

fn code_text(code: Option<u16>) -> String {
    code.map_or_else(|| "an empty close".into(), |c| format!("close {c}"))
}

impl fmt::Display for Divergence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Divergence::Broke(finding) => finding.kind.fmt(f),
            Divergence::ExtraMessage { index, got } => write!(
                f,
                "message {} ({got}) is one the model does not send",
                index + 1
            ),
            Divergence::WrongMessage {
                index,
                expected,
                got,
            } => write!(
                f,
                "message {} is {got} where the model sends {expected}",
                index + 1
            ),
            Divergence::MissingMessage { index, expected } => write!(
                f,
                "message {} ({expected}) never came, though the model sends it with time to spare",
                index + 1
            ),
            Divergence::MissingPong { payload } => write!(
                f,
                "no pong({payload}): the ping got no answer (RFC 6455 §5.5.2: a pong MUST be sent)"
            ),
            Divergence::NotFailed { cause, code, got } => write!(
                f,
                "the model fails the connection ({cause}, {}), the peer did not ({got}) (RFC 6455 §7.1.7)",
                code_text(*code)
            ),
            Divergence::FailureCode {
                cause,
                expected,
                got,
            } => write!(
                f,
                "failed with close {got} where the model fails with {expected} ({cause}; RFC 6455 §7.4.1)"
            ),
            Divergence::Failed { got } => write!(
                f,
                "the peer ended the connection ({got}) where the model answers the close normally"
            ),
            Divergence::NoCloseReply => f.write_str(
                "the harness's close got no reply (RFC 6455 §5.5.1: the endpoint MUST send a close in response)",
            ),
            Divergence::Refused { got } => write!(
                f,
                "the peer refused with close {got} where the model goes on (a server protecting itself, RFC 6455 §10.4: NON-STRICT)"
            ),
        }
    }
}

/// How `seen` differs from the model run `model`: nothing when the peer behaved as the model
/// does, within the slack the RFC gives (see the module docs).
pub fn compare(model: &ModelRun, seen: &Observation) -> Vec<Divergence> {
    let expected = &model.seen;
    // A peer that fails the connection (or may: on frames after the harness's close) may
    // drop TCP with its last frame half sent (a reset discards what the kernel still held):
    // a truncated frame is then no divergence.
    let may_fail = model.failure.is_some() || model.sent_after_close;
    let mut out: Vec<Divergence> = seen
        .broke
        .iter()
        .filter(|f| {
            !may_fail
                || !matches!(
                    f.kind,
                    FindingKind::Wire(ViolationKind::TruncatedFrame { .. })
                )
        })
        .map(|f| Divergence::Broke(Box::new(f.clone())))
        .collect();
    // Messages: a prefix of the model's, the ones due all there.
    for (i, (got, _)) in seen.messages.iter().enumerate() {
        match expected.messages.get(i) {
            // Frames after the harness's close may be echoed.
            None if model.sent_after_close => break,
            // So may what a close overtook in a lagging application.
            None if model.may_echo.get(i - expected.messages.len()) == Some(got) => {}
            None => {
                out.push(Divergence::ExtraMessage {
                    index: i,
                    got: got.to_string(),
                });
                break;
            }
            Some((want, _)) if want != got => {
                out.push(Divergence::WrongMessage {
                    index: i,
                    expected: want.to_string(),
                    got: got.to_string(),
                });
                break;
            }
            Some(_) => {}
        }
    }
    let (listed_messages, listed_pongs) = split(&model.listed);
    let listed_messages = listed_messages.len();
    let end = compare_end(model, seen);
    // What a peer refused (1008, 1009) it does not answer.
    let refused = matches!(end, Some(Divergence::Refused { .. }));
    if let Some((i, ((want, _), _))) = expected
        .messages
        .iter()
        .zip(expected.messages_due(listed_messages))
        .enumerate()
        .skip(seen.messages.len())
        .find(|(_, (_, due))| *due && !refused)
    {
        out.push(Divergence::MissingMessage {
            index: i,
            expected: want.to_string(),
        });
    }
    // Pongs: each one due among the peer's, in order; extra ones are allowed.
    let mut pongs = seen.pongs.iter().map(|(p, _)| p);
    for ((want, _), due) in expected.pongs.iter().zip(expected.pongs_due(&listed_pongs)) {
        if due && !refused && !pongs.any(|p| p == want) {
            out.push(Divergence::MissingPong {
                payload: Observed::Pong(want.clone())
                    .to_string()
                    .trim_start_matches("pong(")
                    .trim_end_matches(')')
                    .to_owned(),
            });
            break;
        }
    }
    // A peer that broke a frame rule was failed by the harness: its close says nothing more.
    if out.iter().all(|d| !matches!(d, Divergence::Broke(_))) {
        out.extend(end);
    }
    out
}

/// Codes with which a server refuses what it is sent (RFC 6455 §10.4, §7.4.1).
const REFUSALS: [u16; 2] = [1008, 1009];

/// The close: see the module docs.
fn compare_end(model: &ModelRun, seen: &Observation) -> Option<Divergence> {
    let expected = &model.seen;
    if let Some(cause) = model.failure {
        let code = match expected.end {
            PeerEnd::Close(code) => code,
            _ => None,
        };
        return match seen.end {
            PeerEnd::Dropped | PeerEnd::Close(None) => None,
            PeerEnd::Close(Some(got)) if Some(got) == code => None,
            PeerEnd::Close(Some(got))
                if model.failure_overtakable
                    && seen.harness_close.is_some()
                    && (got == 1000 || Some(Some(got)) == seen.harness_close) =>
            {
                None
            }
            // A code that would answer the harness's close: the peer did not fail.
            PeerEnd::Close(Some(got)) if got == 1000 || Some(Some(got)) == seen.harness_close => {
                Some(Divergence::NotFailed {
                    cause,
                    code,
                    got: seen.end,
                })
            }
            PeerEnd::Close(Some(got)) if REFUSALS.contains(&got) => {
                Some(Divergence::Refused { got })
            }
            PeerEnd::Close(Some(got)) => Some(match code {
                Some(expected) => Divergence::FailureCode {
                    cause,
                    expected,
                    got,
                },
                None => Divergence::NotFailed {
                    cause,
                    code,
                    got: seen.end,
                },
            }),
            // Waiting for the rest of a frame that never comes.
            PeerEnd::Silent if model.lying_length => None,
            PeerEnd::Silent => Some(Divergence::NotFailed {
                cause,
                code,
                got: seen.end,
            }),
        };
    }
    // The model answered the harness's close (or, waiting on a frame that never completes,
    // did nothing): the peer must answer it too, with its code, 1000, 1001 or none (§5.5.1:
    // "typically echos the status code it received").
    let PeerEnd::Close(_) = expected.end else {
        return None;
    };
    // Frames after the harness's close may make the peer fail instead of answering.
    if model.sent_after_close {
        return None;
    }
    match seen.end {
        PeerEnd::Close(Some(got)) if REFUSALS.contains(&got) => Some(Divergence::Refused { got }),
        PeerEnd::Close(Some(got))
            if got != 1000 && got != 1001 && Some(Some(got)) != seen.harness_close =>
        {
            Some(Divergence::Failed { got: seen.end })
        }
        PeerEnd::Close(_) => None,
        PeerEnd::Dropped => Some(Divergence::Failed { got: seen.end }),
        PeerEnd::Silent => Some(Divergence::NoCloseReply),
    }
}

/// The model's verdict on a `predict` case: `result` against every model run of `case`; the
/// closest run decides (none of its divergences: OK; else FAILED with them as findings).
pub fn judge(
    name: &str,
    case: &Case,
    result: &MachineResult,
    policy: Policy,
    started: SystemTime,
    elapsed: Duration,
) -> CaseRecord {
    let seen = Observation::of(result);
    let runs = crate::peer::pair::model(case);
    let (model, divergences) = runs
        .iter()
        .map(|run| (run, compare(run, &seen)))
        // The fewest FAILED divergences, then the fewest in all; on a tie, not the run that
        // blames a non-minimal length (another choice takes those).
        .min_by_key(|(run, d)| {
            (
                d.iter().filter(|d| !d.strict_only()).count(),
                d.len(),
                run.failure == Some(NON_MINIMAL),
            )
        })
        .expect("the model has at least one run");
    let mut record = super::record::judge(name, case, result, policy, started, elapsed);
    record.expected = vec![format!(
        "model ({}): {}; {}",
        model.choice.join(", "),
        show_list(&model.seen.all_events()),
        model.seen.end
    )];
    // The events only: how the peer ended is in the record's close details.
    record.observed = vec![show_list(&seen.all_events())];
    record.findings = divergences
        .iter()
        .map(|d| Finding::of(FindingKind::Divergence(Box::new(d.clone()))).to_record())
        .collect();
    match divergences.first() {
        None => {
            verdict::decide(&mut record, Behavior::Ok, Cause::AsExpected, policy);
            record.reason = format!(
                "as the model ({}): {} messages, {} pongs, {}",
                model.choice.join(", "),
                seen.messages.len(),
                seen.pongs.len(),
                seen.end
            );
        }
        Some(first) => {
            let behavior = if divergences.iter().all(Divergence::strict_only) {
                Behavior::NonStrict
            } else {
                Behavior::Failed
            };
            verdict::decide(&mut record, behavior, Cause::Diverged, policy);
            let more = match divergences.len() {
                1 => String::new(),
                n => format!(" (and {} more)", n - 1),
            };
            record.reason = format!(
                "diverges from the model ({}): {first}{more}",
                model.choice.join(", ")
            );
        }
    }
    record
}

/// A text message event (for the judge's tests).
#[cfg(test)]
fn text(payload: &str) -> Observed {
    Observed::Message {
        opcode: crate::wire::OpCode::TEXT,
        payload: payload.as_bytes().to_vec(),
    }
}

#[cfg(test)]
mod tests;
