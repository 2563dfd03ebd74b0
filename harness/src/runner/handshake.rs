//! Judging a crafted opening handshake (section 0): what came back, turned into a verdict and
//! a reason. Pure functions, tested rule by rule.
//!
//! RFC 6455 §4.2.1: "If the server, while reading the handshake, finds that the client did not
//! send a handshake that matches the description below [...], the server MUST stop processing
//! the client's handshake and return an HTTP response with an appropriate error code (such as
//! 400 Bad Request)." So a 101 to a request that breaks a rule always fails, and the reason
//! names the rule.

use std::time::Duration;

use wsconform_reports::Behavior;

use crate::cases::{HandshakeExpect, HandshakeSpec, HeaderCheck};
use crate::handshake::{Extension, Response, ResponseProblem, parse_extensions, pmd};
use crate::session::Closure;

/// What the server did with the request.
#[derive(Debug, Clone)]
pub enum Answer {
    /// A complete response head, and the §4.1 problems of a 101.
    Response {
        /// The head.
        response: Response,
        /// What a client must fail a 101 for (empty for other statuses).
        problems: Vec<ResponseProblem>,
        /// Time from the start of the request.
        after: Duration,
    },
    /// The connection ended before a complete response.
    Closed {
        /// How.
        closure: Closure,
        /// Time from the start of the request.
        after: Duration,
    },
    /// The response could not be parsed.
    Unreadable {
        /// Why.
        error: String,
        /// Time from the start of the request.
        after: Duration,
    },
    /// Nothing came back in time.
    Silent {
        /// How long the harness waited.
        waited: Duration,
    },
}

/// A verdict on the handshake.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Judgement {
    /// The main verdict (for an accepted handshake, the steps may still change it).
    pub behavior: Behavior,
    /// One line.
    pub reason: String,
    /// The handshake succeeded and the case's steps run next.
    pub proceed: bool,
}

fn secs(d: Duration) -> String {
    format!("{:.2} s", d.as_secs_f64())
}

impl Answer {
    /// One line: what the server did.
    pub fn describe(&self) -> String {
        match self {
            Answer::Response {
                response, after, ..
            } => format!(
                "answered {} {} after {}",
                response.status,
                response.reason,
                secs(*after)
            ),
            Answer::Closed { closure, after } => {
                format!(
                    "closed the connection without an answer after {} ({closure})",
                    secs(*after)
                )
            }
            Answer::Unreadable { error, after } => {
                format!("sent an unreadable answer after {}: {error}", secs(*after))
            }
            Answer::Silent { waited } => format!("no answer within {}", secs(*waited)),
        }
    }
}

/// The problems of `response` against the case's header checks (`fill` expands
/// placeholders such as `{subprotocol}`).
pub fn check_headers(
    checks: &[HeaderCheck],
    response: &Response,
    fill: &dyn Fn(&str) -> String,
) -> Vec<String> {
    check_headers_split(checks, response, fill).0
}

/// As [`check_headers`], split into the problems that fail the case and those that are
/// NON-STRICT because the fact that makes them a MUST was not given (`strict_with`).
pub fn check_headers_split(
    checks: &[HeaderCheck],
    response: &Response,
    fill: &dyn Fn(&str) -> String,
) -> (Vec<String>, Vec<String>) {
    let mut lenient = Vec::new();
    let mut problems = Vec::new();
    for check in checks {
        if check.when_status.is_some_and(|s| s != response.status) {
            continue;
        }
        let before = problems.len();
        let values: Vec<String> = response
            .header_values(&check.name)
            .map(|v| String::from_utf8_lossy(v).trim().to_owned())
            .collect();
        if check.absent && !values.is_empty() {
            problems.push(format!(
                "the response has {}: {} and must not",
                check.name,
                values.join(", ")
            ));
        }
        if let Some(token) = &check.contains {
            let token = fill(token);
            let found = values
                .iter()
                .flat_map(|v| v.split(','))
                .any(|t| t.trim().eq_ignore_ascii_case(&token));
            if !found {
                problems.push(format!(
                    "the response's {} ({}) does not list {token}",
                    check.name,
                    if values.is_empty() {
                        "absent".to_owned()
                    } else {
                        values.join(", ")
                    }
                ));
            }
        }
        if let Some(want) = &check.equals {
            let want = fill(want);
            if values.is_empty() && check.absence_non_strict {
                let mut problem = format!("the response has no {}", check.name);
                if let Some(rule) = &check.rule {
                    problem.push_str(&format!(" (allowed, but the RFC prefers: {rule})"));
                }
                lenient.push(problem);
            } else if values.len() != 1 || values[0] != want {
                problems.push(format!(
                    "the response must carry exactly one {}: {want}; it has {}",
                    check.name,
                    if values.is_empty() {
                        "none".to_owned()
                    } else {
                        values.join(" / ")
                    }
                ));
            }
        }
        if let Some(rule) = &check.rule {
            for problem in &mut problems[before..] {
                problem.push_str(&format!(" ({rule})"));
            }
        }
        if check.non_strict {
            lenient.extend(problems.drain(before..));
        } else if let Some(param) = &check.strict_with {
            let placeholder = format!("{{{param}}}");
            if fill(&placeholder) == placeholder {
                for problem in problems.drain(before..) {
                    lenient.push(format!(
                        "{problem}; without --param {param}=… the server's choice cannot be judged (it most likely agrees to any offer)"
                    ));
                }
            }
        }
    }
    (problems, lenient)
}

/// The verdict on `answer` for a case whose handshake is `spec`. `offers` are the request's
/// extension elements (for `pmd`).
#[allow(clippy::too_many_lines)]
pub fn judge(
    spec: &HandshakeSpec,
    title: &str,
    answer: &Answer,
    offers: &[Extension],
    fill: &dyn Fn(&str) -> String,
) -> Judgement {
    let rule = spec.rule.as_deref().unwrap_or(title);
    let what = answer.describe();
    let verdict = |behavior, reason: String, proceed| Judgement {
        behavior,
        reason,
        proceed,
    };
    let mut problems = Vec::new();
    let mut lenient = Vec::new();
    if let Answer::Response {
        response,
        problems: p,
        ..
    } = answer
    {
        problems.extend(p.iter().map(|p| format!("{p} ({})", p.rule())));
        // A reject case's header checks are about the refusal; a 101 is judged on its own.
        if !(spec.expect == HandshakeExpect::Reject && response.status == 101) {
            let (hard, soft) = check_headers_split(&spec.headers, response, fill);
            problems.extend(hard);
            lenient.extend(soft);
        }
        if spec.pmd && response.status == 101 {
            let answer = parse_extensions(response.header_values("Sec-WebSocket-Extensions"))
                .unwrap_or_default();
            if let Err(e) = pmd::check_answer(offers, &answer) {
                problems.push(e);
            }
        }
    }
    let status = match answer {
        Answer::Response { response, .. } => Some(response.status),
        _ => None,
    };
    match spec.expect {
        HandshakeExpect::Record => {
            let mut reason = format!("recorded: {what}");
            if !problems.is_empty() {
                reason.push_str(&format!("; {}", problems.join("; ")));
            }
            let proceed = status == Some(101) && problems.is_empty();
            verdict(Behavior::Informational, reason, proceed)
        }
        HandshakeExpect::Accept => match status {
            Some(101) if problems.is_empty() && !lenient.is_empty() => verdict(
                Behavior::NonStrict,
                format!("non-strict: accepted, but {}", lenient.join("; ")),
                true,
            ),
            Some(101) if problems.is_empty() => {
                verdict(Behavior::Ok, "accepted (101) as required".into(), true)
            }
            Some(101) => verdict(
                Behavior::Failed,
                format!("accepted, but {}", problems.join("; ")),
                false,
            ),
            // No RFC sentence makes a server accept a valid request: RFC 6455 §4.2.2 "If the
            // server chooses to accept the incoming connection, it MUST reply [...]". Refusing
            // it, hanging up or staying silent breaks no MUST: NON-STRICT, with the rule the
            // case checks.
            Some(_) | None if !matches!(answer, Answer::Unreadable { .. }) => verdict(
                Behavior::NonStrict,
                format!(
                    "non-strict: {what}: a server may refuse (RFC 6455 §4.2.2: 'If the server chooses to accept'), but this request is valid and the RFC asks to accept it ({rule})"
                ),
                false,
            ),
            _ => verdict(
                Behavior::Failed,
                format!("{what}: not a readable HTTP response (RFC 9112 §4): {rule}"),
                false,
            ),
        },
        HandshakeExpect::Reject => {
            let named = if spec.status.is_empty() {
                vec![400]
            } else {
                spec.status.clone()
            };
            let named_text = named
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(" or ");
            match (status, answer) {
                (Some(101), _) if spec.allow_101 && problems.is_empty() => verdict(
                    Behavior::NonStrict,
                    format!("answered 101, which only a server configured for it may do: {rule}"),
                    false,
                ),
                (Some(101), _) => verdict(
                    Behavior::Failed,
                    format!("answered 101 to a request it must reject: {rule}"),
                    false,
                ),
                (Some(_), _) if !problems.is_empty() => verdict(
                    Behavior::Failed,
                    format!("{what}, but {}", problems.join("; ")),
                    false,
                ),
                (Some(s), _) if named.contains(&s) && !lenient.is_empty() => verdict(
                    Behavior::NonStrict,
                    format!("non-strict: rejected: {what}, but {}", lenient.join("; ")),
                    false,
                ),
                (Some(s), _) if named.contains(&s) => {
                    verdict(Behavior::Ok, format!("rejected: {what}"), false)
                }
                (Some(s), _) if s >= 400 => verdict(
                    Behavior::NonStrict,
                    format!("rejected with {s} where the RFC names {named_text}: {what}"),
                    false,
                ),
                (Some(_), _) => verdict(
                    Behavior::NonStrict,
                    format!(
                        "{what}: not an upgrade, but not the HTTP error ({named_text}) the RFC asks for"
                    ),
                    false,
                ),
                (None, Answer::Closed { .. }) if spec.close_ok => {
                    verdict(Behavior::Ok, format!("rejected: {what}"), false)
                }
                (None, Answer::Closed { .. }) => verdict(
                    Behavior::NonStrict,
                    format!("{what}; the RFC asks for an HTTP error ({named_text})"),
                    false,
                ),
                (None, _) => verdict(
                    Behavior::Failed,
                    format!("{what} to a request it must reject with {named_text}: {rule}"),
                    false,
                ),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::handshake::parse_response;

    fn response(text: &str) -> Response {
        parse_response(text.as_bytes(), Default::default())
            .expect("parse")
            .expect("complete")
            .0
    }

    fn spec(toml_text: &str) -> HandshakeSpec {
        toml::from_str(toml_text).expect("spec")
    }

    fn answer(text: &str) -> Answer {
        Answer::Response {
            response: response(text),
            problems: Vec::new(),
            after: Duration::from_millis(3),
        }
    }

    fn run(spec: &HandshakeSpec, answer: &Answer) -> Judgement {
        judge(spec, "title", answer, &[], &|s: &str| {
            s.replace("{p}", "chat")
        })
    }

    const OK_101: &str = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n";

    #[test]
    fn reject_rules() {
        let s = spec(
            "expect = \"reject\"\nstatus = [426]\nrule = \"version 13 only\"\nheaders = [{ name = \"Sec-WebSocket-Version\", contains = \"13\" }]",
        );
        let j = run(&s, &answer(OK_101));
        assert_eq!((j.behavior, j.proceed), (Behavior::Failed, false));
        assert!(j.reason.contains("version 13 only"), "{}", j.reason);
        let j = run(
            &s,
            &answer("HTTP/1.1 426 Upgrade Required\r\nSec-WebSocket-Version: 8, 13\r\n\r\n"),
        );
        assert_eq!(j.behavior, Behavior::Ok, "{}", j.reason);
        let j = run(&s, &answer("HTTP/1.1 426 Upgrade Required\r\n\r\n"));
        assert_eq!(j.behavior, Behavior::Failed);
        assert!(j.reason.contains("does not list 13"), "{}", j.reason);
        let j = run(
            &s,
            &answer("HTTP/1.1 400 Bad Request\r\nSec-WebSocket-Version: 13\r\n\r\n"),
        );
        assert_eq!(j.behavior, Behavior::NonStrict, "{}", j.reason);
        let closed = Answer::Closed {
            closure: Closure::PeerReset,
            after: Duration::ZERO,
        };
        assert_eq!(run(&s, &closed).behavior, Behavior::NonStrict);
        let silent = Answer::Silent {
            waited: Duration::from_secs(5),
        };
        assert_eq!(run(&s, &silent).behavior, Behavior::Failed);
        let close_ok = spec("expect = \"reject\"\nclose_ok = true");
        assert_eq!(run(&close_ok, &closed).behavior, Behavior::Ok);
    }

    /// The handshake spec of a built-in case.
    fn library_spec(id: &str) -> HandshakeSpec {
        crate::cases::builtin()
            .expect("cases")
            .into_iter()
            .find(|c| c.id == id)
            .and_then(|c| c.handshake)
            .expect("a handshake case")
    }

    fn judge_with(
        spec: &HandshakeSpec,
        answer: &Answer,
        offers: &str,
        param: Option<&str>,
    ) -> Judgement {
        let offers = crate::handshake::parse_extensions([offers.as_bytes()]).unwrap_or_default();
        judge(spec, "title", answer, &offers, &|s: &str| match param {
            Some(p) => s.replace("{subprotocol}", p),
            None => s.to_owned(),
        })
    }

    #[test]
    fn an_invalid_deflate_offer_refused_with_400_is_non_strict() {
        // Node ws 8.23 answers 0.9.4-0.9.12 with 400: it did not accept the offer (RFC 7692 §7
        // asks only that), and RFC 6455 §4.2.1 lets a server refuse a handshake.
        let offer = "permessage-deflate; x_wsconform=1";
        let spec = library_spec("0.9.4");
        let refused = answer("HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n");
        let j = judge_with(&spec, &refused, offer, None);
        assert_eq!(j.behavior, Behavior::NonStrict, "{}", j.reason);
        assert!(j.reason.contains("a server may refuse"), "{}", j.reason);
        // Declined in a 101: OK. Accepted in a 101: the MUST broken, FAILED.
        let declined = judge_with(&spec, &answer(OK_101), offer, None);
        assert_eq!(declined.behavior, Behavior::Ok, "{}", declined.reason);
        let accepted = answer(
            "HTTP/1.1 101 Switching Protocols\r\nSec-WebSocket-Extensions: permessage-deflate\r\n\r\n",
        );
        let j = judge_with(&spec, &accepted, offer, None);
        assert_eq!(j.behavior, Behavior::Failed, "{}", j.reason);
        // A server error breaks no MUST either.
        let crashed = answer("HTTP/1.1 500 Internal Server Error\r\n\r\n");
        assert_eq!(
            judge_with(&spec, &crashed, offer, None).behavior,
            Behavior::NonStrict
        );
    }

    #[test]
    fn an_offered_subprotocol_selected_is_non_strict_unless_the_user_said_what_the_server_speaks() {
        // Node ws without handleProtocols agrees to the first subprotocol offered.
        let spec = library_spec("0.8.2");
        let picked = Answer::Response {
            response: response(
                "HTTP/1.1 101 Switching Protocols\r\nSec-WebSocket-Protocol: x-wsconform-a\r\n\r\n",
            ),
            problems: Vec::new(),
            after: Duration::from_millis(3),
        };
        let j = judge_with(&spec, &picked, "", None);
        assert_eq!(
            (j.behavior, j.proceed),
            (Behavior::NonStrict, true),
            "{}",
            j.reason
        );
        assert!(j.reason.contains("agrees to any offer"), "{}", j.reason);
        // With --param subprotocol=chat the server speaks chat only: picking another is FAILED.
        let j = judge_with(&spec, &picked, "", Some("chat"));
        assert_eq!(j.behavior, Behavior::Failed, "{}", j.reason);
        // One never offered fails always (§4.1 item 6), param or not.
        let unoffered = Answer::Response {
            response: response(
                "HTTP/1.1 101 Switching Protocols\r\nSec-WebSocket-Protocol: x-other\r\n\r\n",
            ),
            problems: vec![ResponseProblem::BadSubprotocol("x-other".into())],
            after: Duration::from_millis(3),
        };
        let j = judge_with(&spec, &unoffered, "", None);
        assert_eq!(j.behavior, Behavior::Failed, "{}", j.reason);
        assert!(j.reason.contains("§4.1 item 6"), "{}", j.reason);
        assert_eq!(
            judge_with(&spec, &answer(OK_101), "", None).behavior,
            Behavior::Ok
        );
    }

    #[test]
    fn selecting_no_subprotocol_is_allowed_selecting_another_is_not() {
        // 0.8.1 with --param subprotocol=chat: §4.2.2 lets a server agree to none.
        let spec = library_spec("0.8.1");
        let offers = "";
        let none = judge_with(&spec, &answer(OK_101), offers, Some("chat"));
        assert_eq!(none.behavior, Behavior::NonStrict, "{}", none.reason);
        assert!(
            none.reason.contains("has no Sec-WebSocket-Protocol"),
            "{}",
            none.reason
        );
        let chat = Answer::Response {
            response: response(
                "HTTP/1.1 101 Switching Protocols\r\nSec-WebSocket-Protocol: chat\r\n\r\n",
            ),
            problems: Vec::new(),
            after: Duration::from_millis(3),
        };
        assert_eq!(
            judge_with(&spec, &chat, offers, Some("chat")).behavior,
            Behavior::Ok
        );
        let other = Answer::Response {
            response: response(
                "HTTP/1.1 101 Switching Protocols\r\nSec-WebSocket-Protocol: x-wsconform-unknown\r\n\r\n",
            ),
            problems: Vec::new(),
            after: Duration::from_millis(3),
        };
        assert_eq!(
            judge_with(&spec, &other, offers, Some("chat")).behavior,
            Behavior::Failed
        );
    }

    #[test]
    fn a_non_strict_header_check_on_a_refusal_is_non_strict() {
        // 0.6.1: no version was sent, so §4.4's MUST ("the requested version") does not apply
        // to a 426 without Sec-WebSocket-Version.
        let spec = library_spec("0.6.1");
        let j = run(
            &spec,
            &answer("HTTP/1.1 426 Upgrade Required\r\nUpgrade: websocket\r\n\r\n"),
        );
        assert_eq!(j.behavior, Behavior::NonStrict, "{}", j.reason);
        assert!(j.reason.contains("Sec-WebSocket-Version"), "{}", j.reason);
        let listed = answer(
            "HTTP/1.1 426 Upgrade Required\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n\r\n",
        );
        assert_eq!(run(&spec, &listed).behavior, Behavior::Ok);
        assert_eq!(
            run(&spec, &answer("HTTP/1.1 400 Bad Request\r\n\r\n")).behavior,
            Behavior::Ok
        );
    }

    #[test]
    fn accept_and_record_rules() {
        let s = spec(
            "expect = \"accept\"\nheaders = [{ name = \"Sec-WebSocket-Protocol\", equals = \"{p}\" }]",
        );
        let j = run(
            &s,
            &answer("HTTP/1.1 101 Switching Protocols\r\nSec-WebSocket-Protocol: chat\r\n\r\n"),
        );
        assert_eq!((j.behavior, j.proceed), (Behavior::Ok, true));
        let j = run(&s, &answer(OK_101));
        assert_eq!((j.behavior, j.proceed), (Behavior::Failed, false));
        // Refusing a valid request breaks no MUST (§4.2.2: "If the server chooses to accept").
        let j = run(&s, &answer("HTTP/1.1 400 Bad Request\r\n\r\n"));
        assert_eq!(j.behavior, Behavior::NonStrict);
        assert!(j.reason.contains("a server may refuse"), "{}", j.reason);
        let silent = Answer::Silent {
            waited: Duration::from_secs(5),
        };
        assert_eq!(run(&s, &silent).behavior, Behavior::NonStrict);
        let garbage = Answer::Unreadable {
            error: "not HTTP".into(),
            after: Duration::ZERO,
        };
        assert_eq!(run(&s, &garbage).behavior, Behavior::Failed);
        let r = spec("expect = \"record\"");
        let j = run(&r, &answer("HTTP/1.1 400 Bad Request\r\n\r\n"));
        assert_eq!((j.behavior, j.proceed), (Behavior::Informational, false));
        assert!(
            j.reason.starts_with("recorded: answered 400"),
            "{}",
            j.reason
        );
        assert!(run(&r, &answer(OK_101)).proceed);
    }

    #[test]
    fn allow_101_when_status_close_ok_and_unreadable() {
        let v8 = spec(
            "expect = \"reject\"\nstatus = [426, 400]\nallow_101 = true\nheaders = [{ name = \"Sec-WebSocket-Version\", contains = \"13\" }]",
        );
        assert_eq!(run(&v8, &answer(OK_101)).behavior, Behavior::NonStrict);
        let bad_101 = Answer::Response {
            response: response(OK_101),
            problems: vec![ResponseProblem::BadUpgrade(None)],
            after: Duration::ZERO,
        };
        assert_eq!(
            run(&v8, &bad_101).behavior,
            Behavior::Failed,
            "a broken 101 is no excuse"
        );

        let upgrade = spec(
            "expect = \"reject\"\nstatus = [426, 400]\nheaders = [{ name = \"Upgrade\", contains = \"websocket\", when_status = 426, rule = \"RFC 9110\" }]",
        );
        assert_eq!(
            run(&upgrade, &answer("HTTP/1.1 400 Bad Request\r\n\r\n")).behavior,
            Behavior::Ok
        );
        let j = run(&upgrade, &answer("HTTP/1.1 426 Upgrade Required\r\n\r\n"));
        assert_eq!(j.behavior, Behavior::Failed);
        assert!(j.reason.contains("(RFC 9110)"), "{}", j.reason);

        let pipelined = spec("expect = \"accept\"\nclose_ok = true\nstatus = [400]");
        let closed = Answer::Closed {
            closure: Closure::PeerFin {
                tls_close_notify: None,
            },
            after: Duration::ZERO,
        };
        assert_eq!(run(&pipelined, &closed).behavior, Behavior::NonStrict);
        assert_eq!(
            run(&pipelined, &answer("HTTP/1.1 400 Bad Request\r\n\r\n")).behavior,
            Behavior::NonStrict
        );
        assert_eq!(
            run(&pipelined, &answer("HTTP/1.1 500 Oops\r\n\r\n")).behavior,
            Behavior::NonStrict
        );

        let unreadable = Answer::Unreadable {
            error: "not HTTP".into(),
            after: Duration::ZERO,
        };
        assert_eq!(run(&upgrade, &unreadable).behavior, Behavior::Failed);
        assert_eq!(run(&pipelined, &unreadable).behavior, Behavior::Failed);
        let record = spec("expect = \"record\"");
        assert_eq!(run(&record, &unreadable).behavior, Behavior::Informational);
    }

    #[test]
    fn pmd_answers_are_checked() {
        let s = spec("expect = \"accept\"\npmd = true");
        let offers = parse_extensions([&b"permessage-deflate; server_max_window_bits=7"[..]])
            .expect("offers");
        let a = answer(
            "HTTP/1.1 101 Switching Protocols\r\nSec-WebSocket-Extensions: permessage-deflate\r\n\r\n",
        );
        let j = judge(&s, "t", &a, &offers, &|s: &str| s.to_owned());
        assert_eq!(j.behavior, Behavior::Failed);
        assert!(j.reason.contains("RFC 7692 §7"), "{}", j.reason);
    }
}
