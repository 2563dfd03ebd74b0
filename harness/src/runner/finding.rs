//! What the peer did wrong, as data: a [`Finding`] has a kind with a stable code and the RFC
//! section of the rule, and where it happened. Text is made only when a report renders it
//! ([`Finding::to_record`]); baselines, the library API and a user's CI match on the codes.

use std::fmt;

use super::masking::MaskProblem;
use super::predict::Divergence;
use crate::handshake::ResponseProblem;
use crate::wire::{Violation, ViolationKind};

/// The kinds of findings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FindingKind {
    /// A frame or message rule (proto's decoder and message layer).
    Wire(ViolationKind),
    /// A 101 that breaks the client's checks of RFC 6455 §4.1 (a wrong accept, an
    /// extension or subprotocol never offered, …).
    Handshake(ResponseProblem),
    /// RFC 6455 §5.5.1, §7.1.1: the server started the closing handshake, got the reply,
    /// and did not close TCP.
    ServerKeptTcpOpen,
    /// RFC 7692 §7: the 101 accepts permessage-deflate with parameters that no offer allows
    /// (the rule broken).
    DeflateAnswer(String),
    /// RFC 6455 §5.3, §4.1: a client's masking keys or handshake nonce are predictable.
    Masking(MaskProblem),
    /// Live fuzzing: the peer did not behave as the model does with the same bytes.
    Divergence(Box<Divergence>),
}

impl FindingKind {
    /// Every kind, with sample fields: the rows of the table of codes.
    pub fn samples() -> Vec<FindingKind> {
        let mut all: Vec<FindingKind> = ViolationKind::samples()
            .into_iter()
            .map(FindingKind::Wire)
            .collect();
        all.push(FindingKind::ServerKeptTcpOpen);
        all.push(FindingKind::DeflateAnswer(
            "server_max_window_bits=12 exceeds the 10 offered".into(),
        ));
        all.extend(
            ResponseProblem::samples()
                .into_iter()
                .filter(|p| !matches!(p, ResponseProblem::NotSwitchingProtocols { .. }))
                .map(FindingKind::Handshake),
        );
        all.extend(MaskProblem::samples().into_iter().map(FindingKind::Masking));
        all.extend(
            Divergence::samples()
                .into_iter()
                .map(|d| FindingKind::Divergence(Box::new(d))),
        );
        all
    }

    /// The stable code.
    pub fn code(&self) -> &'static str {
        match self {
            FindingKind::Wire(kind) => kind.code(),
            FindingKind::Handshake(problem) => problem.code(),
            FindingKind::ServerKeptTcpOpen => "server-kept-tcp-open",
            FindingKind::DeflateAnswer(_) => "pmd-bad-answer",
            FindingKind::Masking(problem) => problem.code(),
            FindingKind::Divergence(d) => d.code(),
        }
    }

    /// The RFC section of the rule (`rfc6455#section-5.1`), if the rule is the RFC's.
    pub fn rfc(&self) -> Option<&'static str> {
        match self {
            FindingKind::Wire(kind) => kind.rfc(),
            FindingKind::Handshake(problem) => Some(problem.rfc()),
            FindingKind::ServerKeptTcpOpen => Some("rfc6455#section-7.1.1"),
            FindingKind::DeflateAnswer(_) => Some("rfc7692#section-7"),
            FindingKind::Masking(problem) => Some(problem.rfc()),
            FindingKind::Divergence(d) => d.rfc(),
        }
    }
}

impl fmt::Display for FindingKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FindingKind::Wire(kind) => kind.fmt(f),
            FindingKind::Handshake(problem) => {
                write!(
                    f,
                    "{problem} ({}: the client MUST fail the connection)",
                    problem.rule()
                )
            }
            FindingKind::ServerKeptTcpOpen => f.write_str(
                "the server started the closing handshake, got the reply, and did not close TCP (RFC 6455 §5.5.1, §7.1.1)",
            ),
            FindingKind::DeflateAnswer(rule) => write!(
                f,
                "the permessage-deflate answer breaks RFC 7692 §7: {rule} (the client MUST fail the connection)"
            ),
            FindingKind::Masking(problem) => problem.fmt(f),
            FindingKind::Divergence(d) => d.fmt(f),
        }
    }
}

/// One finding and where it happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// What.
    pub kind: FindingKind,
    /// Stream offset of the offending byte (bytes from the peer after the handshake).
    pub offset: Option<u64>,
    /// Stream offset of the frame it concerns.
    pub frame: Option<u64>,
    /// That frame's place in the stream, from 0.
    pub frame_index: Option<u64>,
}

impl Finding {
    /// A finding with no place on the wire.
    pub fn of(kind: FindingKind) -> Self {
        Self {
            kind,
            offset: None,
            frame: None,
            frame_index: None,
        }
    }

    /// The report's form: the code, the RFC section, the place, and the text rendered once.
    pub fn to_record(&self) -> wsconform_reports::Finding {
        let mut message = self.kind.to_string();
        if let Some(offset) = self.offset {
            message.push_str(&format!(" (byte {offset})"));
        }
        wsconform_reports::Finding {
            code: self.kind.code().to_owned(),
            rfc: self.kind.rfc().map(str::to_owned),
            offset: self.offset,
            frame: self.frame,
            frame_index: self.frame_index,
            message,
            cause: match &self.kind {
                FindingKind::Divergence(d) => d.cause().map(str::to_owned),
                _ => None,
            },
        }
    }
}

impl From<Violation> for Finding {
    fn from(v: Violation) -> Self {
        Self {
            kind: FindingKind::Wire(v.kind),
            offset: Some(v.offset),
            frame: v.frame,
            frame_index: v.frame_index,
        }
    }
}

/// The whole of docs/codes.md: the findings' table and the causes' list, generated.
pub fn codes_doc() -> String {
    let mut out = String::from(
        "# Codes\n\nStable codes in `report.json` and `results.jsonl` (schema 2): match on these, never on\nthe text. Generated by `wsconform codes`; a test checks that this file is its output.\n\n## Findings (`findings[].code`)\n\nA rule the peer broke, with the RFC section (`findings[].rfc`), the stream offset of the\noffending byte (`offset`) and of the frame (`frame`), and the frame's place in the stream\n(`frame_index`, from 0).\n\n",
    );
    out.push_str(&codes_table());
    out.push_str("\n## Causes (`causes[]`)\n\nWhy a case got its verdicts, one code per part of the reason, most important first.\n\n");
    for cause in wsconform_reports::Cause::ALL {
        out.push_str(&format!("- `{}`: {}\n", cause.code(), cause.meaning()));
    }
    out.push_str("\n## How TCP ended (`close.transport_code`)\n\n- `open`: it had not ended when the case did\n");
    for closure in crate::session::Closure::ALL {
        out.push_str(&format!("- `{}`: {closure}\n", closure.code()));
    }
    out
}

/// The table of codes in Markdown, generated from the kinds (docs/codes.md is this, checked
/// by a test; `wsconform codes` prints it).
pub fn codes_table() -> String {
    let mut out = String::from("| code | RFC | the rule (a sample) |\n|---|---|---|\n");
    for kind in FindingKind::samples() {
        let rfc = kind.rfc().map_or(
            "(a local limit, or the end of the stream)".to_owned(),
            |r| format!("[{r}](https://www.rfc-editor.org/rfc/{r})"),
        );
        out.push_str(&format!("| `{}` | {rfc} | {kind} |\n", kind.code()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_and_every_kind_has_a_sample() {
        let samples = FindingKind::samples();
        let codes: std::collections::BTreeSet<&str> = samples.iter().map(|k| k.code()).collect();
        assert_eq!(codes.len(), samples.len(), "a code for each kind");
        // Exhaustive by construction: a new variant does not compile here until it is
        // numbered, and the numbers must all appear among the samples.
        let number = |k: &FindingKind| match k {
            FindingKind::ServerKeptTcpOpen => 0,
            FindingKind::DeflateAnswer(_) => 27,
            FindingKind::Masking(m) => match m {
                MaskProblem::ZeroKey { .. } => 28,
                MaskProblem::RepeatedKey { .. } => 29,
                MaskProblem::KeySeenBefore { .. } => 30,
                MaskProblem::CounterKeys { .. } => 31,
                MaskProblem::HandshakeKeyReused => 32,
                MaskProblem::HandshakeKeyWeak { .. } => 33,
            },
            FindingKind::Handshake(p) => match p {
                ResponseProblem::NotSwitchingProtocols { .. } => 99,
                ResponseProblem::NotHttp11(_) => 20,
                ResponseProblem::BadUpgrade(_) => 21,
                ResponseProblem::BadConnection(_) => 22,
                ResponseProblem::BadAccept { .. } => 23,
                ResponseProblem::ExtensionNotOffered(_) => 24,
                ResponseProblem::MalformedExtensions(_) => 25,
                ResponseProblem::BadSubprotocol(_) => 26,
            },
            FindingKind::Wire(w) => match w {
                ViolationKind::MaskedFrameFromServer => 1,
                ViolationKind::UnmaskedFrameFromClient => 2,
                ViolationKind::ReservedBitsSet { .. } => 3,
                ViolationKind::ReservedOpcode(_) => 4,
                ViolationKind::FragmentedControlFrame(_) => 5,
                ViolationKind::ControlFrameTooLong { .. } => 6,
                ViolationKind::NonMinimalLength { .. } => 7,
                ViolationKind::LengthTopBitSet(_) => 8,
                ViolationKind::ContinuationWithoutStart => 9,
                ViolationKind::DataFrameInFragmentedMessage(_) => 10,
                ViolationKind::CloseOneBytePayload => 11,
                ViolationKind::InvalidCloseCode { .. } => 12,
                ViolationKind::InvalidUtf8InCloseReason => 13,
                ViolationKind::InvalidUtf8InText { .. } => 14,
                ViolationKind::FrameTooLarge { .. } => 15,
                ViolationKind::TruncatedFrame { .. } => 16,
                ViolationKind::UnfinishedMessage(_) => 17,
                ViolationKind::MessageTooLarge { .. } => 18,
                ViolationKind::ExtensionFailed { .. } => 19,
            },
            FindingKind::Divergence(d) => match **d {
                // The peer's own finding, under its own code.
                Divergence::Broke(_) => 99,
                Divergence::ExtraMessage { .. } => 34,
                Divergence::WrongMessage { .. } => 35,
                Divergence::MissingMessage { .. } => 36,
                Divergence::MissingPong { .. } => 37,
                Divergence::NotFailed { .. } => 38,
                Divergence::FailureCode { .. } => 39,
                Divergence::Failed { .. } => 40,
                Divergence::NoCloseReply => 41,
                Divergence::Refused { .. } => 42,
            },
        };
        let numbers: std::collections::BTreeSet<u32> = samples.iter().map(number).collect();
        // Every kind but the status of a refusal (an answer, not a finding).
        assert_eq!(numbers, (0..=42).collect());
        assert!(codes.iter().all(|c| {
            c.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        }));
    }

    #[test]
    fn the_record_keeps_the_code_the_section_and_the_place() {
        let f = Finding::from(Violation {
            offset: 7,
            frame: Some(5),
            frame_index: Some(1),
            kind: ViolationKind::MaskedFrameFromServer,
        });
        let r = f.to_record();
        assert_eq!(r.code, "masked-server-frame");
        assert_eq!(r.rfc.as_deref(), Some("rfc6455#section-5.1"));
        assert_eq!(
            (r.offset, r.frame, r.frame_index),
            (Some(7), Some(5), Some(1))
        );
        assert_eq!(
            r.message,
            "masked frame from a server (RFC 6455 §5.1) (byte 7)"
        );
    }

    #[test]
    fn docs_codes_md_is_the_generated_one() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/codes.md");
        let doc = std::fs::read_to_string(path).expect("docs/codes.md");
        assert!(
            doc == codes_doc(),
            "docs/codes.md is out of date; regenerate it: wsconform codes > docs/codes.md"
        );
    }
}
