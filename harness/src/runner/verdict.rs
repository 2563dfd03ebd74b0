//! The verdict rules: Autobahn's two verdicts (`autobahn-cases.md` §3.4), and wsconform's
//! combined outcome and one-line reason on top of them. Pure functions, tested rule by rule.

use wsconform_reports::{Behavior, BehaviorClose, CaseRecord, Cause};
/// The policy and the outcome rule live with the results model, so that baselines judge old
/// verdicts the same way.
pub use wsconform_reports::{Policy, outcome};

use super::finding::Finding;
use super::observed::{Observed, show_list};
use crate::cases::CloseExpect;

/// What is known about how the connection closed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CloseFacts {
    /// The opening handshake completed.
    pub opened: bool,
    /// The harness sent the first close.
    pub closed_by_me: bool,
    /// The harness failed the connection.
    pub failed_by_me: bool,
    /// The harness closed TCP.
    pub dropped_by_me: bool,
    /// Both close frames were exchanged before TCP closed.
    pub was_clean: bool,
    /// The code the peer sent.
    pub remote_code: Option<u16>,
    /// The peer sent a close frame at all.
    pub remote_closed: bool,
    /// No close reply within the close timeout.
    pub close_handshake_timeout: bool,
    /// The server did not close TCP in time after the closing handshake.
    pub server_drop_timeout: bool,
    /// The harness plays the server (`wsconform serve`): closing TCP is its job (RFC 6455
    /// §7.1.1), so its drop is no FAILED BY CLIENT (nor is it in Autobahn's fuzzingserver).
    pub harness_is_server: bool,
}

/// Sets a record's verdicts where one judgement covers the whole case (a crafted handshake,
/// a client's reaction to a crafted response, a redirect): the close verdict follows the main
/// one (FAILED, INFORMATIONAL, else OK), and the outcome follows `policy`.
pub fn decide(record: &mut CaseRecord, behavior: Behavior, cause: Cause, policy: Policy) {
    let close = match behavior {
        Behavior::Failed => BehaviorClose::Failed,
        Behavior::Informational => BehaviorClose::Informational,
        _ => BehaviorClose::Ok,
    };
    record.behavior = Some(behavior);
    record.behavior_close = Some(close);
    record.outcome = outcome(policy, behavior, close);
    record.causes = vec![cause];
}

/// The main verdict from the events (§3.4, item 2): an exact match with the OK list, else
/// with the NON-STRICT list, else FAILED. Returns the verdict and Autobahn's result text.
pub fn behavior(
    observed: &[Observed],
    ok: &[Observed],
    non_strict: Option<&[Observed]>,
) -> (Behavior, String) {
    if observed == ok {
        (
            Behavior::Ok,
            "Actual events match at least one expected.".into(),
        )
    } else if non_strict.is_some_and(|ns| observed == ns) {
        (
            Behavior::NonStrict,
            "Actual events match at least one expected.".into(),
        )
    } else {
        (
            Behavior::Failed,
            "Actual events differ from any expected.".into(),
        )
    }
}

/// The close verdict (§3.4), checks in Autobahn's order.
pub fn behavior_close(expect: &CloseExpect, facts: &CloseFacts) -> (BehaviorClose, String) {
    if !facts.opened {
        return (
            BehaviorClose::Failed,
            "The WebSocket opening handshake was never completed!".into(),
        );
    }
    // A refusal (`refusal_codes`) is the right endpoint closing with an allowed code; the
    // clean and TCP checks still apply.
    let refused = refused(expect, facts);
    if facts.closed_by_me != expect.closed_by_harness && !refused {
        return (
            BehaviorClose::Failed,
            "The connection was failed by the wrong endpoint".into(),
        );
    }
    if expect.clean && !facts.was_clean {
        return (
            BehaviorClose::Unclean,
            "The spec requires the connection to be failed cleanly here".into(),
        );
    }
    if let Some(code) = facts.remote_code
        && !expect.codes.contains(&code)
        && !expect.non_strict_codes.contains(&code)
        && !refused
    {
        return (
            BehaviorClose::WrongCode,
            format!(
                "The close code should have been {} or empty",
                expect
                    .codes
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        );
    }
    if facts.dropped_by_me && !facts.harness_is_server {
        return (
            BehaviorClose::FailedByClient,
            "It is preferred that the server close the TCP connection".into(),
        );
    }
    (BehaviorClose::Ok, "Connection was properly closed".into())
}

/// Post-processing that ties the verdicts together (§3.4): the wrong endpoint is fatal in the
/// UTF-8 cases, WRONG CODE is fatal in the 7.x cases, and informational cases are
/// INFORMATIONAL whatever happened.
pub fn tie(
    expect: &CloseExpect,
    informational: bool,
    facts: &CloseFacts,
    behavior: Behavior,
    close: BehaviorClose,
) -> (Behavior, BehaviorClose) {
    // An informational case still says when it could not run what it is about.
    if informational && behavior != Behavior::Unimplemented {
        return (Behavior::Informational, BehaviorClose::Informational);
    }
    let mut behavior = behavior;
    if refused(expect, facts) && behavior == Behavior::Ok {
        behavior = Behavior::NonStrict;
    }
    if expect.wrong_endpoint_fatal && facts.opened && facts.closed_by_me != expect.closed_by_harness
    {
        behavior = Behavior::Failed;
    }
    // The code of a close is a SHOULD (RFC 6455 §7.1.7, §10.7) or a MAY (§7.4.1), never a
    // MUST: a wrong one makes the main verdict NON-STRICT, where Autobahn says FAILED.
    if expect.wrong_code_fatal && close == BehaviorClose::WrongCode && behavior == Behavior::Ok {
        behavior = Behavior::NonStrict;
    }
    if expect.drop_fatal && close == BehaviorClose::FailedByClient {
        behavior = Behavior::Failed;
    }
    if expect.unclean_fatal && close == BehaviorClose::Unclean {
        behavior = Behavior::Failed;
    }
    if non_strict_close(expect, facts) && behavior == Behavior::Ok {
        behavior = Behavior::NonStrict;
    }
    (behavior, close)
}

/// The server closed first, where the harness was to, with a code the case lets it refuse
/// with (`refusal_codes`).
fn refused(expect: &CloseExpect, facts: &CloseFacts) -> bool {
    facts.opened
        && expect.closed_by_harness
        && !facts.closed_by_me
        && facts
            .remote_code
            .is_some_and(|c| expect.refusal_codes.contains(&c))
}

/// The server failed the connection as the case expects, but with a code listed as
/// non-strict, or by dropping TCP without a close frame.
fn non_strict_close(expect: &CloseExpect, facts: &CloseFacts) -> bool {
    // A close without a code (or no close frame at all) from the endpoint that was to close
    // as the case expects, where the case wants a code.
    let no_code = expect.no_code_non_strict
        && facts.opened
        && facts.closed_by_me == expect.closed_by_harness
        && !facts.dropped_by_me
        && facts.remote_code.is_none();
    no_code
        || !expect.non_strict_codes.is_empty()
            && facts.opened
            && !facts.closed_by_me
            && !expect.closed_by_harness
            && match facts.remote_code {
                Some(code) => expect.non_strict_codes.contains(&code),
                None => !facts.remote_closed,
            }
}

/// Everything the reason line is made from.
#[derive(Debug)]
pub struct ReasonInput<'a> {
    /// The main verdict.
    pub behavior: Behavior,
    /// The close verdict.
    pub close: BehaviorClose,
    /// A reason the script gave (the 9.x steps), if any.
    pub script_reason: Option<&'a str>,
    /// The events seen.
    pub observed: &'a [Observed],
    /// The OK list.
    pub ok: &'a [Observed],
    /// The NON-STRICT list.
    pub non_strict: Option<&'a [Observed]>,
    /// The close expectation.
    pub expect: &'a CloseExpect,
    /// The close facts.
    pub facts: &'a CloseFacts,
    /// What ended TCP, in words.
    pub transport: &'a str,
    /// Rules the peer broke.
    pub findings: &'a [Finding],
    /// What the peer under test is: "server" (`wsconform run`) or "client" (`serve`).
    pub peer: &'static str,
}

/// What the implementation under test is, when the harness plays `side`.
pub fn peer_noun(side: crate::Side) -> &'static str {
    match side {
        crate::Side::Client => "server",
        crate::Side::Server => "client",
    }
}

fn who(by_harness: bool, peer: &str) -> String {
    if by_harness {
        "the harness".to_owned()
    } else {
        format!("the {peer}")
    }
}

fn code_list(codes: &[u16]) -> String {
    codes
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(" or ")
}

/// Why, as stable codes and as one line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reason {
    /// The causes, most important first (one per part of the text).
    pub causes: Vec<Cause>,
    /// One line.
    pub text: String,
}

/// The causes and the line that say why, most important first: the events, then the close.
pub fn explain(r: &ReasonInput<'_>) -> Reason {
    let mut parts: Vec<(Cause, String)> = Vec::new();
    let events_ok = r.observed == r.ok;
    if let Some(script) = r.script_reason {
        parts.push((Cause::StepVerdict, script.to_owned()));
    } else {
        match r.behavior {
            // Failed for its events (not only because a close rule is fatal here).
            Behavior::Failed if !events_ok => {
                let mut expected = show_list(r.ok);
                if let Some(ns) = r.non_strict {
                    expected.push_str(&format!(" (or, non-strict, {})", show_list(ns)));
                }
                parts.push((
                    Cause::EventsDiffer,
                    format!("expected {expected}; got {}", show_list(r.observed)),
                ));
            }
            Behavior::NonStrict if events_ok && non_strict_close(r.expect, r.facts) => {
                parts.push((
                    Cause::NonStrictClose,
                    format!(
                        "non-strict: the {peer} {} where a strict {peer} closes with {}{}",
                        match (r.facts.remote_code, r.facts.remote_closed) {
                            (Some(c), _) => format!("closed with {c}"),
                            (None, true) => "sent a close frame without a status code".into(),
                            (None, false) => "dropped TCP without a close frame".into(),
                        },
                        code_list(&r.expect.codes),
                        if r.facts.remote_code.is_none() {
                            " (RFC 6455 §7.1.7, §10.7: the status code is a SHOULD)"
                        } else {
                            ""
                        },
                        peer = r.peer,
                    ),
                ))
            }
            Behavior::NonStrict if events_ok && refused(r.expect, r.facts) => parts.push((
                Cause::NonStrictClose,
                format!(
                    "non-strict: the {} refused with {} (RFC 6455 §10.4: it protects itself against exceeding its limits; Autobahn: FAILED)",
                    r.peer,
                    r.facts.remote_code.unwrap_or_default()
                ),
            )),
            Behavior::NonStrict if events_ok && r.close == BehaviorClose::WrongCode => {
                parts.push((
                    Cause::NonStrictClose,
                    "non-strict: the close code is a SHOULD (RFC 6455 §7.1.7) or a MAY (§7.4.1), never a MUST (Autobahn: FAILED)".into(),
                ))
            }
            Behavior::NonStrict => parts.push((
                Cause::NonStrictEvents,
                format!(
                    "non-strict: got {} where a strict {} gives {}",
                    show_list(r.observed),
                    r.peer,
                    show_list(r.ok)
                ),
            )),
            _ => {}
        }
    }
    let f = r.facts;
    match r.close {
        BehaviorClose::Failed if !f.opened => {
            parts.push((Cause::Handshake, "opening handshake never completed".into()))
        }
        BehaviorClose::Failed => {
            let mut text = format!(
                "expected {} to close first",
                who(r.expect.closed_by_harness, r.peer)
            );
            if !r.expect.closed_by_harness {
                text.push_str(&format!(" (close {})", code_list(&r.expect.codes)));
            }
            text.push_str(&format!("; {} did", who(f.closed_by_me, r.peer)));
            parts.push((Cause::WrongCloser, text));
        }
        BehaviorClose::Unclean => {
            let (cause, why) = if f.close_handshake_timeout {
                (
                    Cause::CloseTimeout,
                    "no close reply within the close timeout".to_owned(),
                )
            } else if !f.remote_closed {
                (
                    Cause::UncleanClose,
                    format!("no close frame from the {}; {}", r.peer, r.transport),
                )
            } else {
                (Cause::UncleanClose, r.transport.to_owned())
            };
            parts.push((cause, format!("closing handshake not clean: {why}")));
        }
        BehaviorClose::WrongCode => parts.push((
            Cause::WrongCloseCode,
            format!(
                "expected close {} or none; {} sent {}",
                code_list(&r.expect.codes),
                r.peer,
                f.remote_code.map_or("none".into(), |c| c.to_string())
            ),
        )),
        BehaviorClose::FailedByClient => parts.push((
            Cause::ServerKeptTcpOpen,
            "the server did not close TCP after the closing handshake; the harness had to".into(),
        )),
        BehaviorClose::Ok | BehaviorClose::Informational => {}
    }
    if parts.is_empty() {
        let events = if r.observed.is_empty() {
            "no events".to_owned()
        } else {
            show_list(r.observed)
        };
        let close = match (f.closed_by_me, f.remote_code) {
            (true, Some(c)) => format!("{} answered close {c}", r.peer),
            (true, None) if f.remote_closed => format!("{} answered with an empty close", r.peer),
            (false, Some(c)) => format!("{} closed with {c}", r.peer),
            (false, None) if f.remote_closed => format!("{} closed with an empty close", r.peer),
            (false, None) => format!("{} dropped TCP", r.peer),
            (true, None) => r.transport.to_owned(),
        };
        if r.behavior == Behavior::Informational {
            parts.push((Cause::Recorded, format!("recorded {events}; {close}")));
        } else {
            parts.push((Cause::AsExpected, format!("{events} as expected; {close}")));
        }
    }
    if let Some(first) = r.findings.first() {
        let more = if r.findings.len() > 1 {
            format!(" (+{} more)", r.findings.len() - 1)
        } else {
            String::new()
        };
        parts.push((
            Cause::BrokeRule,
            format!(
                "{} broke a rule: {}{more}",
                r.peer,
                first.to_record().message
            ),
        ));
    }
    let (causes, texts): (Vec<Cause>, Vec<String>) = parts.into_iter().unzip();
    Reason {
        causes,
        text: texts.join("; "),
    }
}

#[cfg(test)]
mod tests;
