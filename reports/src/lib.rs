//! The wsconform results model.
//!
//! Renderers (HTML, JSON, JUnit, Markdown, Autobahn's format) build on these types. The
//! verdict vocabulary is serialised with Autobahn's exact spellings, so existing `index.json`
//! consumers read it unchanged. [`CaseRecord`] is one line of `results.jsonl`.

#![deny(missing_docs)]

pub mod autobahn;
pub mod baseline;
pub mod differential;
pub mod html;
pub mod junit;
pub mod markdown;
mod run;

use serde::{Deserialize, Serialize};

pub use run::{RunReport, SCHEMA, ShardInfo, TargetInfo};

/// Autobahn's main verdict (`behavior`) for a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Behavior {
    /// The target did what the case expects.
    #[serde(rename = "OK")]
    Ok,
    /// A deviation the RFC allows, such as failing the connection before echoing the valid
    /// message that preceded the bad frame.
    #[serde(rename = "NON-STRICT")]
    NonStrict,
    /// The case only records what happened.
    #[serde(rename = "INFORMATIONAL")]
    Informational,
    /// The target does not implement the feature (for example permessage-deflate).
    #[serde(rename = "UNIMPLEMENTED")]
    Unimplemented,
    /// The target violated the RFC.
    #[serde(rename = "FAILED")]
    Failed,
}

/// Autobahn's close verdict (`behaviorClose`) for a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum BehaviorClose {
    /// The connection closed as the case expects.
    #[serde(rename = "OK")]
    Ok,
    /// The wrong endpoint closed first, or the handshake never completed.
    #[serde(rename = "FAILED")]
    Failed,
    /// The closing handshake was required to be clean and was not.
    #[serde(rename = "UNCLEAN")]
    Unclean,
    /// The peer sent a close code the case does not allow.
    #[serde(rename = "WRONG CODE")]
    WrongCode,
    /// The harness had to close the TCP connection (the server should).
    #[serde(rename = "FAILED BY CLIENT")]
    FailedByClient,
    /// Recorded only.
    #[serde(rename = "INFORMATIONAL")]
    Informational,
}

/// The one combined outcome wsconform reports on top of Autobahn's two verdicts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// Conformant.
    Pass,
    /// A conformance failure.
    Fail,
    /// Recorded only, never fails a run.
    Info,
    /// The case could not run: the target was unreachable.
    Unreachable,
    /// The case was not run: it needs a `--param` that was not given.
    #[serde(rename = "not-run")]
    NotRun,
}

impl Outcome {
    /// Every outcome, in report order.
    pub const ALL: [Outcome; 5] = [
        Outcome::Pass,
        Outcome::Fail,
        Outcome::Info,
        Outcome::NotRun,
        Outcome::Unreachable,
    ];

    /// The spelling used in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Pass => "pass",
            Outcome::Fail => "fail",
            Outcome::Info => "info",
            Outcome::Unreachable => "unreachable",
            Outcome::NotRun => "not-run",
        }
    }
}

/// How the connection of a case ended.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CloseRecord {
    /// The harness sent the first close frame.
    pub closed_by_harness: bool,
    /// The harness failed the connection (a protocol violation, or a kill timer).
    pub failed_by_harness: bool,
    /// The harness closed the TCP connection.
    pub dropped_by_harness: bool,
    /// Both close frames were exchanged before TCP closed.
    pub was_clean: bool,
    /// The code the harness sent.
    pub local_code: Option<u16>,
    /// The reason the harness sent.
    pub local_reason: Option<String>,
    /// The code the peer sent (none for an empty close, or no close at all).
    pub remote_code: Option<u16>,
    /// The reason the peer sent.
    pub remote_reason: Option<String>,
    /// How TCP ended, in words ("peer closed TCP (FIN)").
    pub transport: String,
    /// How TCP ended, as a stable code (`peer-fin`, `peer-reset`, `harness-abort`, …; `open`
    /// when it had not ended).
    #[serde(default)]
    pub transport_code: String,
    /// No close reply within the close timeout.
    pub close_handshake_timeout: bool,
    /// The server did not close TCP after the closing handshake within the drop timeout.
    pub server_drop_timeout: bool,
}

/// One case's result against one target: a line of `results.jsonl`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaseRecord {
    /// The target's name.
    pub target: String,
    /// The case id.
    pub id: String,
    /// The case title.
    pub title: String,
    /// The RFC anchor the case enforces.
    pub rfc: String,
    /// The combined outcome under the run's policy.
    pub outcome: Outcome,
    /// One line: why.
    pub reason: String,
    /// Why, as stable codes: the parts of the reason, most important first.
    #[serde(default)]
    pub causes: Vec<Cause>,
    /// Autobahn's main verdict (absent when the case could not run).
    pub behavior: Option<Behavior>,
    /// Autobahn's close verdict (absent when the case could not run).
    pub behavior_close: Option<BehaviorClose>,
    /// The expected event lists, as text (`ok: [pong("")]`).
    pub expected: Vec<String>,
    /// The events observed, as text.
    pub observed: Vec<String>,
    /// The close details.
    pub close: CloseRecord,
    /// Rules the peer broke, each with its stable code, RFC section and place. (Schema 1
    /// wrote them as text; such files still load, with no code.)
    #[serde(deserialize_with = "findings_any_schema")]
    pub findings: Vec<Finding>,
    /// When the case started (RFC 3339, UTC).
    pub started: String,
    /// How long it took, in milliseconds.
    pub duration_ms: u64,
    /// Why the verdict depends on timing, if it does.
    pub timing_dependent: Option<String>,
    /// How the case deliberately differs from Autobahn's, if it does.
    pub deviation: Option<String>,
    /// The Autobahn cases this strict companion judges by the letter of the RFC (section 19).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tightens: Vec<String>,
    /// The opening handshake request as sent (text), if any.
    #[serde(default)]
    pub http_request: Option<String>,
    /// The server's handshake response head (text), if any.
    #[serde(default)]
    pub http_response: Option<String>,
    /// The wire trace, in order (at most [`MAX_TRACE`] entries).
    #[serde(default)]
    pub trace: Vec<TraceEntry>,
    /// Trace entries not kept: beyond [`MAX_TRACE`], or from the middle of the trace of a case
    /// that did not fail (a `note` entry marks the place).
    #[serde(default)]
    pub trace_dropped: usize,
}

/// A rule the peer broke, as data: what baselines compare and a user's CI matches on. The
/// codes are listed in `docs/codes.md`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// The stable code (`masked-server-frame`, `utf8-invalid`, …).
    pub code: String,
    /// The RFC section of the rule (`rfc6455#section-5.1`); absent for a local limit.
    pub rfc: Option<String>,
    /// Stream offset of the offending byte (bytes from the peer after the handshake).
    pub offset: Option<u64>,
    /// Stream offset of the frame it concerns.
    pub frame: Option<u64>,
    /// That frame's place in the stream, from 0.
    #[serde(default)]
    pub frame_index: Option<u64>,
    /// The finding in words, for people.
    pub message: String,
    /// For a live fuzzer's divergence around a failure, the rule the model failed the
    /// connection on (`reserved-opcode`): with the code, what groups divergences.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cause: Option<String>,
}

impl Finding {
    /// Whether the finding came from a schema-1 file, which had text and no code.
    pub fn is_untyped(&self) -> bool {
        self.code.is_empty()
    }
}

/// Findings as schema 2 writes them, or as schema 1 did (text only: no code, no place).
fn findings_any_schema<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<Finding>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum AnySchema {
        Typed(Finding),
        Text(String),
    }
    let items: Vec<AnySchema> = Vec::deserialize(d)?;
    Ok(items
        .into_iter()
        .map(|item| match item {
            AnySchema::Typed(f) => f,
            AnySchema::Text(message) => Finding {
                code: String::new(),
                rfc: None,
                offset: None,
                frame: None,
                frame_index: None,
                message,
                cause: None,
            },
        })
        .collect())
}

/// Why a case got its verdicts, as a stable code (one per part of the reason).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Cause {
    /// The events and the close were as expected.
    AsExpected,
    /// An informational case: what the peer did is recorded.
    Recorded,
    /// The events differ from every expected list.
    EventsDiffer,
    /// The events match only the NON-STRICT list.
    NonStrictEvents,
    /// The server failed the connection in an allowed way that is not the strict one (a
    /// close code the case lists as non-strict, or dropping TCP without a close).
    NonStrictClose,
    /// A step judged the case itself (timing, the size probe, a ping flood).
    StepVerdict,
    /// The opening handshake never completed (or was judged, in section 0).
    Handshake,
    /// The wrong endpoint started the closing handshake.
    WrongCloser,
    /// The closing handshake was not clean.
    UncleanClose,
    /// No close reply within the close timeout.
    CloseTimeout,
    /// A close code the case does not allow.
    WrongCloseCode,
    /// The server did not close TCP after the closing handshake.
    ServerKeptTcpOpen,
    /// The peer broke a rule on the wire (see the findings).
    BrokeRule,
    /// The server stopped serving (a second connection failed).
    ServerDied,
    /// The case did not run (a `--param` it needs is missing).
    NotRun,
    /// The target could not be reached.
    Unreachable,
    /// The case could not build what it sends.
    BadCase,
    /// The peer did not behave as the model (the reference server, in every choice the RFC
    /// leaves open) does with the same bytes: live fuzzing's verdict (see the findings).
    Diverged,
}

impl Cause {
    /// Every cause.
    pub const ALL: [Cause; 18] = [
        Cause::AsExpected,
        Cause::Recorded,
        Cause::EventsDiffer,
        Cause::NonStrictEvents,
        Cause::NonStrictClose,
        Cause::StepVerdict,
        Cause::Handshake,
        Cause::WrongCloser,
        Cause::UncleanClose,
        Cause::CloseTimeout,
        Cause::WrongCloseCode,
        Cause::ServerKeptTcpOpen,
        Cause::BrokeRule,
        Cause::ServerDied,
        Cause::NotRun,
        Cause::Unreachable,
        Cause::BadCase,
        Cause::Diverged,
    ];

    /// What the cause means, in words (for the table of codes).
    pub fn meaning(self) -> &'static str {
        match self {
            Cause::AsExpected => "the events and the close were as expected",
            Cause::Recorded => "an informational case: what the peer did is recorded",
            Cause::EventsDiffer => "the events differ from every expected list",
            Cause::NonStrictEvents => "the events match only the NON-STRICT list",
            Cause::NonStrictClose => {
                "the server failed the connection with a non-strict code, or dropped TCP"
            }
            Cause::StepVerdict => "a step judged the case (timing, the size probe, a ping flood)",
            Cause::Handshake => "the opening handshake failed, or was what the case judged",
            Cause::WrongCloser => "the wrong endpoint started the closing handshake",
            Cause::UncleanClose => "the closing handshake was not clean",
            Cause::CloseTimeout => "no close reply within the close timeout",
            Cause::WrongCloseCode => "a close code the case does not allow",
            Cause::ServerKeptTcpOpen => "the server did not close TCP after the closing handshake",
            Cause::BrokeRule => "the peer broke a rule on the wire (see the findings)",
            Cause::ServerDied => "the server stopped serving new connections",
            Cause::NotRun => {
                "the case did not run: a --param it needs is missing, or max_message is beyond what it may send"
            }
            Cause::Unreachable => "the target could not be reached",
            Cause::BadCase => "the case could not build what it sends",
            Cause::Diverged => {
                "the peer did not behave as the model (the reference server, in each allowed choice) does with the same bytes"
            }
        }
    }

    /// The code, as serialised.
    pub fn code(self) -> &'static str {
        match self {
            Cause::AsExpected => "as-expected",
            Cause::Recorded => "recorded",
            Cause::EventsDiffer => "events-differ",
            Cause::NonStrictEvents => "non-strict-events",
            Cause::NonStrictClose => "non-strict-close",
            Cause::StepVerdict => "step-verdict",
            Cause::Handshake => "handshake",
            Cause::WrongCloser => "wrong-closer",
            Cause::UncleanClose => "unclean-close",
            Cause::CloseTimeout => "close-timeout",
            Cause::WrongCloseCode => "wrong-close-code",
            Cause::ServerKeptTcpOpen => "server-kept-tcp-open",
            Cause::BrokeRule => "broke-rule",
            Cause::ServerDied => "server-died",
            Cause::NotRun => "not-run",
            Cause::Unreachable => "unreachable",
            Cause::BadCase => "bad-case",
            Cause::Diverged => "diverged",
        }
    }
}

/// The most trace entries a record keeps.
pub const MAX_TRACE: usize = 300;

/// One line of the wire trace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TraceEntry {
    /// Microseconds since the connection started.
    pub at_us: u64,
    /// `tx` (harness to server), `rx` (server to harness), or absent for notes.
    pub direction: Option<String>,
    /// `bytes`, `frame`, `handshake`, `violation`, `closed` or `note`.
    pub kind: String,
    /// One line: the decoded frame, the violation, the closure, the note.
    pub text: String,
    /// The first bytes (or the first bytes of a frame's unmasked payload) in hex: at most 64.
    pub hex: Option<String>,
    /// How many bytes there were (the payload length of a frame).
    pub len: Option<usize>,
    /// For a received frame whose payload is longer than the hex shown: `xxh3-64:<16 hex>` of
    /// the whole payload, so it can be compared with what a replay receives. A sent frame's
    /// payload is defined by its case.
    #[serde(default)]
    pub digest: Option<String>,
}

impl Behavior {
    /// Autobahn's spelling, as in `index.json`: `NON-STRICT`.
    pub fn as_str(self) -> &'static str {
        self.names().0
    }

    /// The short form the HTML matrix shows: `NS`.
    pub fn abbrev(self) -> &'static str {
        self.names().1
    }

    fn names(self) -> (&'static str, &'static str) {
        match self {
            Behavior::Ok => ("OK", "OK"),
            Behavior::NonStrict => ("NON-STRICT", "NS"),
            Behavior::Informational => ("INFORMATIONAL", "I"),
            Behavior::Unimplemented => ("UNIMPLEMENTED", "U"),
            Behavior::Failed => ("FAILED", "F"),
        }
    }
}

impl BehaviorClose {
    /// Autobahn's spelling, as in `index.json`: `WRONG CODE`.
    pub fn as_str(self) -> &'static str {
        self.names().0
    }

    /// The short form the HTML matrix shows: `WC`.
    pub fn abbrev(self) -> &'static str {
        self.names().1
    }

    fn names(self) -> (&'static str, &'static str) {
        match self {
            BehaviorClose::Ok => ("OK", "OK"),
            BehaviorClose::Failed => ("FAILED", "F"),
            BehaviorClose::Unclean => ("UNCLEAN", "UC"),
            BehaviorClose::WrongCode => ("WRONG CODE", "WC"),
            BehaviorClose::FailedByClient => ("FAILED BY CLIENT", "FC"),
            BehaviorClose::Informational => ("INFORMATIONAL", "I"),
        }
    }
}

/// The link for an RFC anchor such as `rfc6455#section-5.2`.
pub fn rfc_url(anchor: &str) -> String {
    match anchor.split_once('#') {
        Some((rfc, section)) => format!("https://www.rfc-editor.org/rfc/{rfc}#{section}"),
        None => format!("https://www.rfc-editor.org/rfc/{anchor}"),
    }
}

/// Which verdicts fail a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Policy {
    /// FAILED in either verdict fails.
    #[default]
    Default,
    /// Anything but OK, INFORMATIONAL or UNIMPLEMENTED fails: NON-STRICT, WRONG CODE,
    /// UNCLEAN and FAILED BY CLIENT too.
    Strict,
}

/// The combined outcome of a case's two verdicts under `policy`.
pub fn outcome(policy: Policy, behavior: Behavior, close: BehaviorClose) -> Outcome {
    if behavior == Behavior::Informational && close == BehaviorClose::Informational {
        return Outcome::Info;
    }
    if behavior == Behavior::Unimplemented {
        return Outcome::Info;
    }
    let failed = behavior == Behavior::Failed || close == BehaviorClose::Failed;
    let strict_failed = behavior == Behavior::NonStrict
        || matches!(
            close,
            BehaviorClose::WrongCode | BehaviorClose::Unclean | BehaviorClose::FailedByClient
        );
    if failed || (policy == Policy::Strict && strict_failed) {
        Outcome::Fail
    } else {
        Outcome::Pass
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn behavior_uses_autobahn_spellings() {
        let json = serde_json::to_string(&[Behavior::Ok, Behavior::NonStrict, Behavior::Failed])
            .expect("serialise");
        assert_eq!(json, r#"["OK","NON-STRICT","FAILED"]"#);
        let back: Behavior = serde_json::from_str(r#""UNIMPLEMENTED""#).expect("parse");
        assert_eq!(back, Behavior::Unimplemented);
    }

    #[test]
    fn names_equal_the_serde_spellings() {
        use BehaviorClose as C;
        for b in [
            Behavior::Ok,
            Behavior::NonStrict,
            Behavior::Informational,
            Behavior::Unimplemented,
            Behavior::Failed,
        ] {
            assert_eq!(serde_json::to_value(b).unwrap(), b.as_str());
        }
        for c in [
            C::Ok,
            C::Failed,
            C::Unclean,
            C::WrongCode,
            C::FailedByClient,
            C::Informational,
        ] {
            assert_eq!(serde_json::to_value(c).unwrap(), c.as_str());
        }
        assert_eq!(
            rfc_url("rfc6455#section-5.2"),
            "https://www.rfc-editor.org/rfc/rfc6455#section-5.2"
        );
        assert_eq!(rfc_url("rfc7692"), "https://www.rfc-editor.org/rfc/rfc7692");
    }

    #[test]
    fn outcome_of_each_behavior() {
        let o = |b| outcome(Policy::Default, b, BehaviorClose::Ok);
        assert_eq!(o(Behavior::Failed), Outcome::Fail);
        assert_eq!(o(Behavior::NonStrict), Outcome::Pass);
        assert_eq!(o(Behavior::Unimplemented), Outcome::Info);
    }
}
