//! The verdict rules, as data: every rule through which a case can be FAILED, and the rules
//! that give NON-STRICT instead, each with the RFC sentence it rests on. A FAILED rests on a
//! MUST or MUST NOT (RFC 6455, RFC 7692, or RFC 9110/9112 for the opening handshake); a
//! SHOULD, a MAY or a reading of intent gives NON-STRICT or INFORMATIONAL at most.
//!
//! [`failing_rules`] derives from a case's data the rules through which it can fail, so a test
//! checks that every case of the library fails only on rules listed here as MUST-based, and
//! [`table`] is the table in `cases/README.md` (a test checks it is the generated one:
//! `wsconform rules`).

use crate::cases::{Case, EventSpec, HandshakeExpect, Step};

/// How strong the RFC's wording is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// MUST or MUST NOT.
    Must,
    /// SHOULD or SHOULD NOT.
    Should,
    /// MAY, or no requirement at all.
    May,
}

impl Level {
    fn as_str(self) -> &'static str {
        match self {
            Level::Must => "MUST",
            Level::Should => "SHOULD",
            Level::May => "MAY / none",
        }
    }
}

/// One verdict rule.
#[derive(Debug, Clone, Copy)]
pub struct Rule {
    /// A stable name.
    pub id: &'static str,
    /// What the server must (or should) do, in words.
    pub rule: &'static str,
    /// The verdict when the server does not.
    pub verdict: &'static str,
    /// The strength of the RFC's wording.
    pub level: Level,
    /// The RFC section(s).
    pub rfc: &'static str,
    /// The sentence, quoted.
    pub sentence: &'static str,
}

/// The verdict of a rule that fails a case.
pub const FAILED: &str = "FAILED";

/// Every rule. Those whose verdict is [`FAILED`] rest on a MUST.
pub const RULES: &[Rule] = &[
    Rule {
        id: "fail-on-invalid-input",
        rule: "the server fails the connection on a frame or message the RFC forbids (reserved bits or opcodes, an unmasked frame, invalid UTF-8, bad fragmentation, an oversized control frame, RSV1 where deflate forbids it): the server, not the harness, closes first (`close = \"fail\"`)",
        verdict: FAILED,
        level: Level::Must,
        rfc: "RFC 6455 §5.1, §5.2, §6.2, §8.1; RFC 7692 §6.1",
        sentence: "§5.2: \"If an unknown opcode is received, the receiving endpoint MUST _Fail the WebSocket Connection_.\" §5.1: \"The server MUST close the connection upon receiving a frame that is not masked.\" §8.1: \"that endpoint MUST _Fail the WebSocket Connection_.\" For the rules whose MUST binds the sender (§5.4, §5.5), §6.2: \"Incoming data MUST be parsed as WebSocket frames as defined in Section 5.2.\"",
    },
    Rule {
        id: "behave-as-the-model",
        rule: "a fuzz repro (`predict = true`, written by `wsconform fuzz`): the server does what the reference server does with the same bytes in one of the choices the RFC leaves open (UTF-8 checked as it arrives, at the end of the message or by a lagging application; non-minimal lengths refused, taken, or taken on data frames only): the echoes and pongs it had time to send, failing where it fails (with its code, an empty close or a drop), answering a close it answers",
        verdict: FAILED,
        level: Level::Must,
        rfc: "RFC 6455 §5.4, §5.5.1, §5.5.2, §7.1.7",
        sentence: "§5.5.2: \"an endpoint MUST send a Pong frame in response\". §5.5.1: \"the endpoint MUST send a Close frame in response\". §5.4: \"An endpoint MUST be capable of handling control frames in the middle of a fragmented message.\" And the rules of `fail-on-invalid-input`.",
    },
    Rule {
        id: "receive-messages",
        rule: "a valid message is received whole and echoed unchanged (the echo server is what the cases test), fragmented or not, with control frames between its fragments",
        verdict: FAILED,
        level: Level::Must,
        rfc: "RFC 6455 §5.4, §6.2; RFC 7692 §7.2.2",
        sentence: "§5.4: \"Clients and servers MUST support receiving both fragmented and unfragmented messages.\" \"An endpoint MUST be capable of handling control frames in the middle of a fragmented message.\"",
    },
    Rule {
        id: "answer-pings",
        rule: "a ping is answered with a pong carrying its payload",
        verdict: FAILED,
        level: Level::Must,
        rfc: "RFC 6455 §5.5.2, §5.5.3",
        sentence: "§5.5.2: \"Upon receipt of a Ping frame, an endpoint MUST send a Pong frame in response, unless it already received a Close frame.\" §5.5.3: \"A Pong frame sent in response to a Ping frame must have identical \"Application data\" as found in the message body of the Ping frame being replied to.\"",
    },
    Rule {
        id: "flood-pongs",
        rule: "in a ping flood the server keeps open, the pongs carry their pings' payloads, in order, and the last ping is answered (§5.5.3 lets it skip earlier ones); stopping the flood is OK with 1008/1009 and NON-STRICT otherwise",
        verdict: FAILED,
        level: Level::Must,
        rfc: "RFC 6455 §5.5.2, §5.5.3",
        sentence: "§5.5.2: \"Upon receipt of a Ping frame, an endpoint MUST send a Pong frame in response\". §5.5.3: \"If an endpoint receives a Ping frame and has not yet sent Pong frame(s) in response to previous Ping frame(s), the endpoint MAY elect to send a Pong frame for only the most recently processed Ping frame.\"",
    },
    Rule {
        id: "valid-server-frames",
        rule: "the server's own frames follow §5: unmasked, no reserved bits or opcodes, minimal lengths, valid close payloads (a rule broken makes the harness fail the connection, so the events or the closer differ)",
        verdict: FAILED,
        level: Level::Must,
        rfc: "RFC 6455 §5.1, §5.2, §5.5.1, §7.4.1",
        sentence: "§5.1: \"A server MUST NOT mask any frames that it sends to the client.\" §7.4.1: 1005, 1006 and 1015 \"MUST NOT be set as a status code in a Close control frame by an endpoint.\"",
    },
    Rule {
        id: "answer-close",
        rule: "a valid close is answered with a close (`unclean_fatal`)",
        verdict: FAILED,
        level: Level::Must,
        rfc: "RFC 6455 §5.5.1",
        sentence: "\"If an endpoint receives a Close frame and did not previously send a Close frame, the endpoint MUST send a Close frame in response.\"",
    },
    Rule {
        id: "server-closes-tcp",
        rule: "after the closing handshake the server closes TCP itself (`drop_fatal`)",
        verdict: FAILED,
        level: Level::Must,
        rfc: "RFC 6455 §5.5.1",
        sentence: "\"The server MUST close the underlying TCP connection immediately\"",
    },
    Rule {
        id: "valid-101",
        rule: "a 101 is valid: Upgrade, Connection, the right Sec-WebSocket-Accept, no subprotocol or extension that was not offered",
        verdict: FAILED,
        level: Level::Must,
        rfc: "RFC 6455 §4.1 items 2-6, §4.2.2",
        sentence: "§4.1: \"If the response lacks a |Sec-WebSocket-Accept| header field or the |Sec-WebSocket-Accept| contains a value other than the base64-encoded SHA-1 of [...] the client MUST _Fail the WebSocket Connection_.\" (items 2, 3, 5 and 6 alike)",
    },
    Rule {
        id: "agreed-values",
        rule: "a 101 selects only what the request offered and the server is willing to use: the subprotocol the user named (`--param subprotocol`), none when none was offered",
        verdict: FAILED,
        level: Level::Must,
        rfc: "RFC 6455 §4.2.2",
        sentence: "/subprotocol/: \"The value chosen MUST be derived from the client's handshake, specifically by selecting one of the values from the |Sec-WebSocket-Protocol| field that the server is willing to use for this connection (if any).\" \"the only acceptable value is null [...] it MUST NOT send back a |Sec-WebSocket-Protocol| header field\"",
    },
    Rule {
        id: "valid-deflate-answer",
        rule: "a permessage-deflate answer describes one of the offers, validly; an invalid offer is declined",
        verdict: FAILED,
        level: Level::Must,
        rfc: "RFC 7692 §5, §7",
        sentence: "§7: \"A server MUST decline an extension negotiation offer for this extension if any of the following conditions are met\"; \"A client MUST _Fail the WebSocket Connection_ if the peer server accepted an extension negotiation offer for this extension with an extension negotiation response meeting any of the following conditions\"",
    },
    Rule {
        id: "reject-invalid-handshake",
        rule: "an invalid opening handshake (section 0's reject cases) gets an HTTP error, not a 101",
        verdict: FAILED,
        level: Level::Must,
        rfc: "RFC 6455 §4.2.1, §4.2.2; RFC 9112 §3.2",
        sentence: "§4.2.1: \"the server MUST stop processing the client's handshake and return an HTTP response with an appropriate error code (such as 400 Bad Request).\" RFC 9112 §3.2: \"A server MUST respond with a 400 (Bad Request) status code to any HTTP/1.1 request message that lacks a Host header field\"",
    },
    Rule {
        id: "refusal-headers",
        rule: "a refusal carries the headers the RFC requires (Sec-WebSocket-Version for a version it does not speak; Upgrade in a 426)",
        verdict: FAILED,
        level: Level::Must,
        rfc: "RFC 6455 §4.2.2, §4.4; RFC 9110 §15.5.22",
        sentence: "§4.2.2: \"the server MUST abort the WebSocket handshake described in this section and instead send an appropriate HTTP error code (such as 426 Upgrade Required) and a |Sec-WebSocket-Version| header field indicating the version(s) the server is capable of understanding.\" RFC 9110 §15.5.22: \"The server MUST send an Upgrade header field in a 426 response\"",
    },
    Rule {
        id: "http-response",
        rule: "the answer to an opening handshake is a readable HTTP response",
        verdict: FAILED,
        level: Level::Must,
        rfc: "RFC 6455 §4.2.1, §4.2.2",
        sentence: "§4.2.1: the server \"MUST [...] return an HTTP response\"; §4.2.2: \"If the server chooses to accept the incoming connection, it MUST reply with a valid HTTP response\"",
    },
    Rule {
        id: "protect-limits",
        rule: "the server survives what the case sends and serves a new connection during and after it (`check_alive`, `alive`), and does not go silent or hang up on a case's opening handshake that the preflight saw accepted; a message over the limit the user declared (`--param max_message`) is refused, and one at it is accepted",
        verdict: FAILED,
        level: Level::Must,
        rfc: "RFC 6455 §10.4",
        sentence: "\"Implementations that have implementation- and/or platform-specific limitations regarding the frame size or total message size after reassembly from multiple frames MUST protect themselves against exceeding those limits.\"",
    },
    Rule {
        id: "close-code",
        rule: "a close carries the code the case expects (`wrong_code_fatal`: 7.x, 19.1.1-19.1.8; a code outside `codes` elsewhere is WRONG CODE in the close column)",
        verdict: "NON-STRICT (Autobahn: FAILED)",
        level: Level::Should,
        rfc: "RFC 6455 §7.1.7, §7.4.1",
        sentence: "§7.1.7: \"the endpoint SHOULD send a Close frame with an appropriate status code (Section 7.4)\". §7.4.1: \"Endpoints MAY use the following pre-defined status codes when sending a Close frame.\"",
    },
    Rule {
        id: "close-has-code",
        rule: "failing the connection with a status code, not an empty close or a bare TCP drop (`no_code = \"non_strict\"`: section 19)",
        verdict: "NON-STRICT",
        level: Level::Should,
        rfc: "RFC 6455 §7.1.7, §10.7",
        sentence: "§7.1.7: \"the endpoint SHOULD send a Close frame with an appropriate status code (Section 7.4) before proceeding to _Close the WebSocket Connection_.\"",
    },
    Rule {
        id: "pong-promptly",
        rule: "a ping inside a fragmented message is answered before the message completes (19.4.x)",
        verdict: "NON-STRICT",
        level: Level::Should,
        rfc: "RFC 6455 §5.5.2",
        sentence: "\"It SHOULD respond with Pong frame as soon as is practical.\"",
    },
    Rule {
        id: "client-not-closed",
        rule: "a client that fails the connection on a bad response (section 20) also closes it: one that neither uses nor closes it within the case's wait is NON-STRICT; so is a client that accepts what only a SHOULD or no sentence forbids (a 1 MiB header, 20.4.2) or refuses what no MUST makes it read (a head in 1-byte writes, 20.7.2)",
        verdict: "NON-STRICT",
        level: Level::May,
        rfc: "RFC 6455 §7.1.7, §10.4",
        sentence: "§7.1.7: \"To _Fail the WebSocket Connection_, an endpoint MUST _Close the WebSocket Connection_\": whether a connection left open was failed cannot be seen.",
    },
    Rule {
        id: "accept-valid-handshake",
        rule: "a valid opening handshake is accepted (section 0's accept cases, 0.9.4-0.9.12, and every case's own request)",
        verdict: "NON-STRICT",
        level: Level::May,
        rfc: "RFC 6455 §4.2.2",
        sentence: "\"If the server chooses to accept the incoming connection, it MUST reply with a valid HTTP response\": accepting is the server's choice.",
    },
    Rule {
        id: "subprotocol-choice",
        rule: "no subprotocol is selected that the server does not speak (0.8.2: FAILED only with `--param subprotocol`, which says what it speaks), and the one it speaks is selected (0.8.1, 0.8.3: selecting none is allowed)",
        verdict: "NON-STRICT",
        level: Level::May,
        rfc: "RFC 6455 §4.2.2",
        sentence: "\"If the server does not wish to agree to one of the suggested subprotocols, it MUST NOT send back a |Sec-WebSocket-Protocol| header field in its response.\" Whether it wishes to cannot be seen.",
    },
    Rule {
        id: "refuse-large",
        rule: "a large message, many fragments or a flood may be refused with 1008 or 1009 (section 9, 16.1.1, 16.3.1); a server with no size limit up to the probe's default ceiling (256 MiB) is NON-STRICT",
        verdict: "NON-STRICT or INFORMATIONAL",
        level: Level::May,
        rfc: "RFC 6455 §10.4, §7.4.1",
        sentence: "§7.4.1: \"1009 indicates that an endpoint is terminating the connection because it has received a message that is too big for it to process.\"",
    },
    Rule {
        id: "pongs-skipped",
        rule: "every ping is answered: a server may answer only the latest of pending pings (2.10, 2.11: `pongs_may_skip`), and answer or not a ping sent after the harness's close (7.1.3); a pong that answers no ping sent is no event at all (§5.5.3: \"A Pong frame MAY be sent unsolicited.\")",
        verdict: "NON-STRICT (Autobahn: FAILED)",
        level: Level::May,
        rfc: "RFC 6455 §5.5.2, §5.5.3",
        sentence: "§5.5.3: \"the endpoint MAY elect to send a Pong frame for only the most recently processed Ping frame.\" §5.5.2: \"an endpoint MUST send a Pong frame in response, unless it already received a Close frame.\"",
    },
    Rule {
        id: "model-close-code",
        rule: "a fuzz repro (`predict = true`) fails the connection with the model's code, and refuses nothing the model takes: another code where both fail (a frame that breaks two rules has two right codes), or a refusal with 1008 or 1009, is NON-STRICT",
        verdict: "NON-STRICT",
        level: Level::Should,
        rfc: "RFC 6455 §7.1.7, §7.4.1, §10.4",
        sentence: "§7.1.7: \"the endpoint SHOULD send a Close frame with an appropriate status code (Section 7.4)\"",
    },
    Rule {
        id: "autobahn-non-strict",
        rule: "Autobahn's NON-STRICT lists (`expect.non_strict`, `non_strict_codes`): failing before echoing an earlier valid message, failing late on invalid UTF-8, 1002 where 1007 is apt",
        verdict: "NON-STRICT",
        level: Level::Should,
        rfc: "RFC 6455 §7.1.7, §8.1",
        sentence: "§7.1.7: \"the endpoint SHOULD send a Close frame with an appropriate status code\"",
    },
];

/// The client's rules (`wsconform serve`: sections 20, 21, and every case's own 101).
const CLIENT_RULES: &[Rule] = &[
    Rule {
        id: "client-fails-bad-response",
        rule: "a client fails the connection on a response that breaks RFC 6455 §4.1 or RFC 7692 §7 (section 20's reject cases): it closes TCP without using the connection",
        verdict: FAILED,
        level: Level::Must,
        rfc: "RFC 6455 §4.1; RFC 7692 §7",
        sentence: "§4.1: \"If the response lacks a |Sec-WebSocket-Accept| header field or [...] the client MUST _Fail the WebSocket Connection_.\" (items 2-6 alike). RFC 7692 §7: \"A client MUST _Fail the WebSocket Connection_ if the peer server accepted an extension negotiation offer for this extension with an extension negotiation response meeting any of the following conditions\"",
    },
    Rule {
        id: "client-validates-as-specified",
        rule: "a client accepts a response that passes §4.1's checks (section 20's accept cases: `Connection: Upgrade, Keep-Alive`, `Upgrade: WebSocket`, any reason phrase, a frame in the same write as the head)",
        verdict: FAILED,
        level: Level::Must,
        rfc: "RFC 6455 §4.1",
        sentence: "\"The client MUST validate the server's response as follows\" [...] \"If the server's response is validated as provided for above, it is said that _The WebSocket Connection is Established_\"",
    },
    Rule {
        id: "client-masking",
        rule: "a client masks every frame with a fresh, unpredictable key (no all-zero key, no key repeated within or across connections beyond chance, no counter), and sends a fresh random Sec-WebSocket-Key on each connection (section 21: `judge_masking`)",
        verdict: FAILED,
        level: Level::Must,
        rfc: "RFC 6455 §5.1, §5.3, §4.1",
        sentence: "§5.3: \"the client MUST pick a fresh masking key from the set of allowed 32-bit values. The masking key needs to be unpredictable; thus, the masking key MUST be derived from a strong source of entropy\". §4.1: \"The nonce MUST be selected randomly for each connection.\"",
    },
];

/// The client's redirect rules (20.8.x).
const REDIRECT_RULES: &[Rule] = &[
    Rule {
        id: "client-no-downgrade",
        rule: "a client asked for wss:// does not follow a redirect to ws:// (20.8.1, with `serve --tls-cert`)",
        verdict: FAILED,
        level: Level::Must,
        rfc: "RFC 6455 §4.1",
        sentence: "\"If /secure/ is true, the client MUST perform a TLS handshake over the connection after opening the connection and before sending the handshake data\"",
    },
    Rule {
        id: "client-no-credentials-across-origins",
        rule: "a client that follows a redirect to another origin does not carry the Authorization or Cookie of the first request (20.8.2, with `serve --credentials`)",
        verdict: FAILED,
        level: Level::Must,
        rfc: "WHATWG Fetch, HTTP-redirect fetch",
        sentence: "\"If request's current URL's origin is not same origin with locationURL's origin, then for each headerName of CORS non-wildcard request-header name, delete headerName from request's header list.\" (normative; Fetch's key words, MUST among them, are RFC 2119's; Authorization is that header name)",
    },
];

/// Every rule, the server's and the client's.
pub fn all_rules() -> impl Iterator<Item = &'static Rule> {
    RULES.iter().chain(CLIENT_RULES).chain(REDIRECT_RULES)
}

/// The rule named `id`.
pub fn rule(id: &str) -> Option<&'static Rule> {
    all_rules().find(|r| r.id == id)
}

/// The rules through which `case` can be FAILED, from its data.
pub fn failing_rules(case: &Case) -> Vec<&'static str> {
    let mut out = vec!["http-response"];
    if let Some(r) = &case.respond {
        use crate::cases::ResponseExpect;
        match r.redirect {
            Some(crate::cases::RedirectKind::Downgrade) => out.push("client-no-downgrade"),
            Some(crate::cases::RedirectKind::CrossOrigin) => {
                out.push("client-no-credentials-across-origins");
            }
            _ => {}
        }
        match r.expect {
            ResponseExpect::Reject if !r.should => out.push("client-fails-bad-response"),
            ResponseExpect::Accept if !r.should => out.push("client-validates-as-specified"),
            _ => {}
        }
        return dedup(out);
    }
    if case.predict {
        out.push("behave-as-the-model");
        return dedup(out);
    }
    if case.judge_masking {
        out.push("client-masking");
    }
    match &case.handshake {
        Some(h) => match h.expect {
            HandshakeExpect::Reject => {
                out.push("reject-invalid-handshake");
                if h.headers.iter().any(|c| !c.non_strict) {
                    out.push("refusal-headers");
                }
            }
            HandshakeExpect::Accept => {
                out.push("valid-101");
                // A header check that can fail (with its param, for `strict_with`).
                if h.headers.iter().any(|c| !c.non_strict) {
                    out.push("agreed-values");
                }
                if h.pmd {
                    out.push("valid-deflate-answer");
                }
            }
            HandshakeExpect::Record => {}
        },
        None => {
            out.push("valid-101");
            // Silence or a hang-up where the preflight's request was accepted.
            out.push("protect-limits");
            if case.deflate.is_some() {
                out.push("valid-deflate-answer");
            }
        }
    }
    if case.check_alive || case.steps.iter().any(|s| matches!(s, Step::Alive(_))) {
        out.push("protect-limits");
    }
    if case.informational || !runs_frames(case) {
        return dedup(out);
    }
    out.push("valid-server-frames");
    if case.close.closed_by_harness {
        // The server closing first where nothing invalid was sent: it did not receive.
        out.push("receive-messages");
    } else {
        out.push("fail-on-invalid-input");
    }
    if case.close.wrong_endpoint_fatal {
        out.push("fail-on-invalid-input");
    }
    if case.close.drop_fatal {
        out.push("server-closes-tcp");
    }
    if case.close.unclean_fatal {
        out.push("answer-close");
    }
    for e in &case.expect.ok {
        match e {
            EventSpec::Pong(_) => out.push("answer-pings"),
            _ => out.push("receive-messages"),
        }
    }
    for step in &case.steps {
        match step {
            Step::Series(_) | Step::ExpectFirstMessage(_) | Step::Roundtrip(_) => {
                out.push("receive-messages");
            }
            Step::PingFlood(_) => out.push("flood-pongs"),
            Step::ProbeLimit(p) if p.known_limit => out.push("protect-limits"),
            _ => {}
        }
    }
    dedup(out)
}

/// Whether the case goes on past its opening handshake (its close expectation applies).
fn runs_frames(case: &Case) -> bool {
    // A crafted response's case (section 20) has its own verdict, not the close machinery.
    case.respond.is_none()
        && case
            .handshake
            .as_ref()
            .is_none_or(|h| h.expect == HandshakeExpect::Accept || !case.steps.is_empty())
}

fn dedup(mut ids: Vec<&'static str>) -> Vec<&'static str> {
    let mut seen = Vec::new();
    ids.retain(|id| {
        let new = !seen.contains(id);
        seen.push(id);
        new
    });
    ids
}

/// The table in `cases/README.md`, in Markdown.
pub fn table() -> String {
    let mut out = String::from(
        "| rule | verdict when broken | RFC | level | the sentence |\n|---|---|---|---|---|\n",
    );
    for r in all_rules() {
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} |\n",
            r.rule.replace('|', "\\|"),
            r.verdict,
            r.rfc,
            r.level.as_str(),
            r.sentence.replace('|', "\\|")
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_case_fails_only_on_rules_that_rest_on_a_must() {
        let mut cases = crate::cases::builtin().expect("cases");
        // And a fuzz repro, as `wsconform fuzz` writes them.
        let seq = crate::cases::generate::Sequence {
            steps: vec![crate::cases::generate::GenStep::PingFlood(2)],
        };
        let head = crate::cases::generate::CaseHead::GENERATED;
        cases.push(crate::live::predicted::predicted_case(&seq, &head).1);
        let mut used = std::collections::BTreeSet::new();
        for case in &cases {
            for id in failing_rules(case) {
                let r = rule(id).unwrap_or_else(|| panic!("{}: no rule {id}", case.id));
                assert_eq!(r.verdict, FAILED, "{}: {id}", case.id);
                assert_eq!(r.level, Level::Must, "{}: {id}", case.id);
                assert!(r.sentence.contains("MUST"), "{id}");
                used.insert(id);
            }
        }
        // No FAILED rule is dead, and no other rule claims FAILED.
        for r in all_rules() {
            assert_eq!(
                r.verdict == FAILED,
                used.contains(r.id),
                "{}: listed as {}, used by a case: {}",
                r.id,
                r.verdict,
                used.contains(r.id)
            );
            assert!(r.verdict != FAILED || r.level == Level::Must, "{}", r.id);
        }
    }

    #[test]
    fn the_readme_table_is_the_generated_one() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../cases/README.md");
        let readme = std::fs::read_to_string(path).expect("cases/README.md");
        let begin = "<!-- verdict rules: generated by `wsconform rules` -->\n";
        let start = readme.find(begin).expect("the table's marker") + begin.len();
        let end = readme[start..]
            .find("<!-- end of verdict rules -->")
            .expect("end marker");
        assert!(
            readme[start..start + end] == table(),
            "cases/README.md's verdict rules are out of date: paste the output of `wsconform rules`"
        );
    }

    /// The close rules as the verdict code applies them: over a grid of ways a connection can
    /// end, every FAILED a case's close expectation produces is one of the case's MUST rules
    /// (a demoted rule that became FAILED again would have none).
    #[test]
    fn every_failed_close_verdict_maps_to_a_rule_of_its_case() {
        use crate::runner::verdict::{CloseFacts, behavior_close, tie};
        use wsconform_reports::{Behavior, BehaviorClose};
        let cases = crate::cases::builtin().expect("cases");
        let mut checked = 0;
        for case in cases.iter().filter(|c| !c.informational && runs_frames(c)) {
            let rules = failing_rules(case);
            let expect = &case.close;
            for bits in 0..32u8 {
                for remote in [
                    None,
                    Some(1000),
                    Some(1002),
                    Some(1007),
                    Some(1009),
                    Some(3000),
                ] {
                    let facts = CloseFacts {
                        opened: true,
                        closed_by_me: bits & 1 != 0,
                        was_clean: bits & 2 != 0,
                        dropped_by_me: bits & 4 != 0,
                        close_handshake_timeout: bits & 8 != 0,
                        remote_closed: remote.is_some() || bits & 16 != 0,
                        remote_code: remote,
                        ..CloseFacts::default()
                    };
                    let (close, _) = behavior_close(expect, &facts);
                    let (behavior, close) = tie(expect, false, &facts, Behavior::Ok, close);
                    if close == BehaviorClose::Failed {
                        let id = if expect.closed_by_harness {
                            "receive-messages"
                        } else {
                            "fail-on-invalid-input"
                        };
                        assert!(rules.contains(&id), "{}: {facts:?}", case.id);
                    }
                    if behavior == Behavior::Failed {
                        let because = [
                            (expect.wrong_endpoint_fatal, "fail-on-invalid-input"),
                            (
                                expect.drop_fatal && close == BehaviorClose::FailedByClient,
                                "server-closes-tcp",
                            ),
                            (
                                expect.unclean_fatal && close == BehaviorClose::Unclean,
                                "answer-close",
                            ),
                        ];
                        assert!(
                            because.iter().any(|(on, id)| *on && rules.contains(id)),
                            "{}: FAILED ({close:?}) on no MUST rule of the case: {facts:?}",
                            case.id
                        );
                    }
                    checked += 1;
                }
            }
        }
        assert!(checked > 10_000, "{checked}");
    }
}
