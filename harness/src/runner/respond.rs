//! The verdict on a client's reaction to a crafted opening-handshake response (section 20,
//! `wsconform serve`), sans-IO.
//!
//! The harness answers the client's request with the case's response, then sends one text
//! message ([`PROBE_MESSAGE`]); a client driver echoes every message it gets. RFC 6455 §4.1:
//! a client that finds the response wrong "MUST _Fail the WebSocket Connection_", which,
//! before the connection is established, means closing TCP without using it (§7.1.7). So:
//! - `reject`: the client closing TCP (with or without a close frame) without echoing is OK;
//!   an echo, or any data frame, is FAILED (it used a connection it had to fail); keeping the
//!   connection open without using it until the deadline is NON-STRICT (it was not closed).
//! - `accept`: the echo is OK (then the harness closes with 1000, as the server: it closes
//!   TCP first, §7.1.1); anything else is FAILED.
//! - `record`: INFORMATIONAL, with what the client did.

use std::collections::VecDeque;
use std::time::{Duration, Instant, SystemTime};

use wsconform_reports::{Behavior, CaseRecord, Cause};

use super::machine::Action;
use super::record::base_record;
use super::verdict::{self, Policy};
use crate::Side;
use crate::cases::{Case, PROBE_MESSAGE, RedirectKind, ResponseExpect, ResponseSpec};
use crate::session::{Closure, Masking, SessionEvent, Writer};
use crate::wire::{CloseCode, OpCode, RawFrame, parse_close_payload};

/// How long the client has to react, by default.
const DEFAULT_WITHIN: Duration = Duration::from_secs(3);
/// How long the harness waits for the client's reply to its close after an echo.
const CLOSE_WAIT: Duration = Duration::from_secs(2);

/// What the client did with the response.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
struct Reaction {
    /// It echoed the harness's message (what came back).
    echoed: Option<String>,
    /// It sent a close frame (its code), before any echo.
    closed_with: Option<Option<u16>>,
    /// It sent a frame the harness's decoder refused (what rule).
    broke: Option<String>,
    /// TCP ended (how), before the deadline.
    ended: Option<Closure>,
    /// Its reply to the harness's close (after an echo).
    close_reply: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Waiting for the client's reaction, until then.
    Waiting(Instant),
    /// After the echo of an `accept` case: the harness's close is out, until then.
    Closing(Instant),
    Done,
}

/// One crafted response in progress.
#[derive(Debug)]
pub struct Responder {
    spec: ResponseSpec,
    within: Duration,
    phase: Phase,
    reaction: Reaction,
    actions: VecDeque<Action>,
    writer: Writer,
}

impl Responder {
    /// The response is out at `now`; the harness's message too unless `frame_sent` (it went
    /// with the head), else it is queued here.
    pub fn start(spec: &ResponseSpec, now: Instant, frame_sent: bool) -> Self {
        let within = spec
            .within
            .map(Duration::from_secs_f64)
            .unwrap_or(DEFAULT_WITHIN);
        let mut r = Responder {
            spec: spec.clone(),
            within,
            phase: Phase::Waiting(now + within),
            reaction: Reaction::default(),
            actions: VecDeque::new(),
            writer: Writer::new(Side::Server),
        };
        if !frame_sent {
            let frame = r
                .writer
                .encode(RawFrame::text(PROBE_MESSAGE), Masking::BySide);
            r.write(frame);
        }
        r
    }

    /// The harness's message as a frame (for a case that sends it with the head).
    pub fn probe_frame() -> Vec<u8> {
        Writer::new(Side::Server).encode(RawFrame::text(PROBE_MESSAGE), Masking::BySide)
    }

    fn write(&mut self, bytes: Vec<u8>) {
        self.actions.push_back(Action::Write {
            pieces: vec![bytes],
            chop: None,
        });
    }

    /// The next thing to do.
    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    /// When [`Responder::handle`] must be called with no event, at the latest.
    pub fn poll_timeout(&self) -> Option<Instant> {
        match self.phase {
            Phase::Waiting(t) | Phase::Closing(t) => Some(t),
            Phase::Done => None,
        }
    }

    /// Whether the verdict is in and nothing is left to do.
    pub fn is_done(&self) -> bool {
        self.phase == Phase::Done && self.actions.is_empty()
    }

    fn end(&mut self, action: Action) {
        self.actions.push_back(action);
        self.phase = Phase::Done;
    }

    /// What the session said at `now` (`None`: a deadline passed, or with `connected` false,
    /// the transport is gone).
    pub fn handle(&mut self, now: Instant, event: Option<SessionEvent>, connected: bool) {
        if self.phase == Phase::Done {
            return;
        }
        match event {
            Some(SessionEvent::Message(m)) => {
                if self.reaction.echoed.is_none() {
                    self.reaction.echoed = Some(String::from_utf8_lossy(&m.payload).into_owned());
                }
                if matches!(self.phase, Phase::Waiting(_)) {
                    if self.spec.expect == ResponseExpect::Reject {
                        // The verdict is in: it used the connection.
                        self.end(Action::Abort);
                    } else {
                        let close = self
                            .writer
                            .encode(RawFrame::close(CloseCode::NORMAL, ""), Masking::BySide);
                        self.write(close);
                        self.phase = Phase::Closing(now + CLOSE_WAIT);
                    }
                }
            }
            Some(SessionEvent::Control(frame)) if frame.raw.opcode == OpCode::CLOSE => {
                if matches!(self.phase, Phase::Closing(_)) {
                    self.reaction.close_reply = true;
                    self.end(Action::Shutdown);
                    return;
                }
                let code = parse_close_payload(&frame.raw.payload)
                    .ok()
                    .and_then(|p| p.code)
                    .map(|c| c.0);
                self.reaction.closed_with = Some(code);
                // The server answers a close, then closes TCP (§5.5.1, §7.1.1).
                let reply = self.writer.encode(
                    RawFrame::new(
                        OpCode::CLOSE,
                        code.map(|c| c.to_be_bytes().to_vec()).unwrap_or_default(),
                    ),
                    Masking::BySide,
                );
                self.write(reply);
                self.end(Action::Shutdown);
            }
            Some(SessionEvent::Control(_)) => {}
            Some(SessionEvent::Violation(v)) if v.frame.is_some() => {
                self.reaction.broke = Some(v.kind.to_string());
                self.end(Action::Abort);
            }
            Some(SessionEvent::Closed(closure)) => {
                // The harness's own abort (a write that never drained) is not the client's
                // doing.
                if closure != Closure::HarnessAbort {
                    self.reaction.ended = Some(closure);
                }
                self.phase = Phase::Done;
            }
            Some(_) => {}
            None if !connected => {
                self.reaction.ended = Some(Closure::TransportError);
                self.phase = Phase::Done;
            }
            None => match self.phase {
                Phase::Waiting(t) | Phase::Closing(t) if now >= t => self.end(Action::Abort),
                _ => {}
            },
        }
    }

    /// The record: both verdicts, the outcome and the reason.
    pub fn record(
        &self,
        name: &str,
        case: &Case,
        policy: Policy,
        started: SystemTime,
    ) -> CaseRecord {
        let mut record = base_record(name, case, started);
        let r = &self.reaction;
        let rule = &self.spec.rule;
        let did = self.describe();
        let (behavior, cause, reason) = match self.spec.expect {
            ResponseExpect::Reject => {
                if (r.echoed.is_some() || r.broke.is_some()) && self.spec.should {
                    (
                        Behavior::NonStrict,
                        Cause::NonStrictEvents,
                        format!("non-strict: the client accepted the response: {did} ({rule})"),
                    )
                } else if r.echoed.is_some() || r.broke.is_some() {
                    (
                        Behavior::Failed,
                        Cause::Handshake,
                        format!(
                            "the client accepted the response: {did} ({rule}: the client MUST fail the connection)"
                        ),
                    )
                } else if r.closed_with.is_some() || r.ended.is_some() {
                    (
                        Behavior::Ok,
                        Cause::AsExpected,
                        format!("the client failed the connection: {did}"),
                    )
                } else {
                    (
                        Behavior::NonStrict,
                        Cause::NonStrictEvents,
                        format!(
                            "non-strict: {did}: it did not use the connection, but did not close it either (failing the connection closes it, RFC 6455 §7.1.7; {rule})"
                        ),
                    )
                }
            }
            ResponseExpect::Accept if r.echoed.is_some() => (
                Behavior::Ok,
                Cause::AsExpected,
                format!("the client accepted the response: {did}"),
            ),
            ResponseExpect::Accept if self.spec.should => (
                Behavior::NonStrict,
                Cause::NonStrictEvents,
                format!("non-strict: the client refused a valid response: {did} ({rule})"),
            ),
            ResponseExpect::Accept => (
                Behavior::Failed,
                Cause::Handshake,
                format!("the client refused a valid response: {did} ({rule})"),
            ),
            ResponseExpect::Record => (
                Behavior::Informational,
                Cause::Recorded,
                format!("recorded: {did}"),
            ),
        };
        verdict::decide(&mut record, behavior, cause, policy);
        record.reason = reason;
        record.observed = vec![did];
        record
    }

    /// What the client did, in words.
    fn describe(&self) -> String {
        let r = &self.reaction;
        let mut parts = Vec::new();
        if let Some(text) = &r.echoed {
            let shown: String = text.chars().take(60).collect();
            parts.push(format!("echoed {shown:?}"));
        }
        if let Some(rule) = &r.broke {
            parts.push(format!("sent a frame that broke a rule: {rule}"));
        }
        match r.closed_with {
            Some(Some(code)) => parts.push(format!("sent close {code}")),
            Some(None) => parts.push("sent an empty close".into()),
            None => {}
        }
        if r.echoed.is_some() && self.spec.expect != ResponseExpect::Reject {
            parts.push(if r.close_reply {
                "answered the harness's close".into()
            } else {
                "did not answer the harness's close".into()
            });
        }
        match r.ended {
            Some(closure) => parts.push(format!("closed the connection ({closure})")),
            None if parts.is_empty() => parts.push(format!(
                "no frame and no close within {:.1} s",
                self.within.as_secs_f64()
            )),
            None => {}
        }
        parts.join(", ")
    }
}

/// A request for a case's redirect target (`/redirected/TOKEN`), as the serve edge saw it: the
/// client followed the case's `Location`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedirectHit {
    /// It came in plain text to a TLS listener: the client went from wss to ws.
    pub plaintext: bool,
    /// It carried credentials (an `Authorization` or `Cookie` header).
    pub credentials: bool,
    /// Its `Host` header.
    pub host: String,
}

/// Amends the record of a redirect case with what followed it: `first` is the case's own
/// request (whether it carried credentials, and its Host), `hit` the follow-up request, if one
/// came.
pub fn judge_redirect(
    record: &mut CaseRecord,
    kind: RedirectKind,
    first: (bool, &str),
    hit: Option<&RedirectHit>,
    policy: Policy,
) {
    let (sent_credentials, first_host) = first;
    let followed = match hit {
        Some(h) => format!("followed the redirect (a new request, Host {})", h.host),
        None => "did not follow the redirect".to_owned(),
    };
    let (behavior, cause, text) = match (kind, hit) {
        (RedirectKind::Follow, _) => (Behavior::Informational, Cause::Recorded, followed),
        (RedirectKind::Downgrade, Some(h)) if h.plaintext => (
            Behavior::Failed,
            Cause::Handshake,
            format!(
                "{followed} from wss:// to ws://, without TLS (RFC 6455 §4.1: \"If /secure/ is true, the client MUST perform a TLS handshake over the connection\")"
            ),
        ),
        (RedirectKind::Downgrade, _) => (
            Behavior::Ok,
            Cause::AsExpected,
            format!("{followed}; not to ws://"),
        ),
        (RedirectKind::CrossOrigin, Some(h)) if h.host.eq_ignore_ascii_case(first_host) => (
            Behavior::Informational,
            Cause::Recorded,
            format!("{followed}; it stayed on the first request's origin (Host {first_host})"),
        ),
        (RedirectKind::CrossOrigin, _) if !sent_credentials => (
            Behavior::Informational,
            Cause::Recorded,
            format!(
                "{followed}; the client sent no credentials to carry (give it a URL with user:password@: wsconform serve --credentials)"
            ),
        ),
        (RedirectKind::CrossOrigin, Some(h)) if h.credentials => (
            Behavior::Failed,
            Cause::Handshake,
            format!(
                "{followed} to another origin, carrying the credentials of the first (WHATWG Fetch, HTTP-redirect fetch: a redirect to another origin must remove Authorization)"
            ),
        ),
        (RedirectKind::CrossOrigin, _) => (
            Behavior::Ok,
            Cause::AsExpected,
            format!("{followed}; no credentials went to the other origin"),
        ),
    };
    // The worse verdict stands: a case that failed on its own connection (the client used a
    // 302 as a WebSocket) stays failed, and one that was NON-STRICT (the connection left open)
    // stays so unless the redirect fails it.
    let keep = match record.behavior {
        Some(Behavior::Failed) => true,
        Some(Behavior::NonStrict) => behavior != Behavior::Failed,
        _ => false,
    };
    if !keep {
        verdict::decide(record, behavior, cause, policy);
    }
    record.reason = format!("{}; {text}", record.reason);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(behavior: Behavior) -> CaseRecord {
        let case: Case = toml::from_str(
            "id = '20.8.1'\ntitle = 't'\nrfc = 'rfc6455#section-4.1'\npeer = 'client'\nrespond = { status = 302, expect = 'reject', rule = 'r' }",
        )
        .expect("case");
        let mut r = base_record("c", &case, SystemTime::UNIX_EPOCH);
        r.behavior = Some(behavior);
        r.reason = "the client failed the connection".into();
        r
    }

    #[test]
    fn what_following_a_redirect_means() {
        use RedirectKind::*;
        let hit = |plaintext, credentials| RedirectHit {
            plaintext,
            credentials,
            host: "localhost:1".into(),
        };
        let judged = |kind, sent, hit: Option<RedirectHit>| {
            let mut r = record(Behavior::Ok);
            judge_redirect(
                &mut r,
                kind,
                (sent, "127.0.0.1:1"),
                hit.as_ref(),
                Policy::Default,
            );
            (r.behavior, r.reason)
        };
        assert_eq!(
            judged(Downgrade, false, Some(hit(true, false))).0,
            Some(Behavior::Failed)
        );
        assert_eq!(
            judged(Downgrade, false, Some(hit(false, false))).0,
            Some(Behavior::Ok)
        );
        assert_eq!(judged(Downgrade, false, None).0, Some(Behavior::Ok));
        let (b, why) = judged(CrossOrigin, true, Some(hit(false, true)));
        assert_eq!(b, Some(Behavior::Failed));
        assert!(why.contains("carrying the credentials"), "{why}");
        assert_eq!(
            judged(CrossOrigin, true, Some(hit(false, false))).0,
            Some(Behavior::Ok)
        );
        assert_eq!(
            judged(CrossOrigin, false, Some(hit(false, false))).0,
            Some(Behavior::Informational)
        );
        assert_eq!(judged(Follow, false, None).0, Some(Behavior::Informational));
        // A case that failed on its own connection stays failed.
        let mut failed = record(Behavior::Failed);
        judge_redirect(&mut failed, Downgrade, (false, "h"), None, Policy::Default);
        assert_eq!(failed.behavior, Some(Behavior::Failed));
        // A NON-STRICT one stays so unless the redirect fails it.
        let mut open = record(Behavior::NonStrict);
        judge_redirect(&mut open, Downgrade, (false, "h"), None, Policy::Default);
        assert_eq!(open.behavior, Some(Behavior::NonStrict));
        // Credentials to the same origin are no finding.
        let mut same = record(Behavior::Ok);
        let host = RedirectHit {
            plaintext: false,
            credentials: true,
            host: "127.0.0.1:1".into(),
        };
        judge_redirect(
            &mut same,
            CrossOrigin,
            (true, "127.0.0.1:1"),
            Some(&host),
            Policy::Default,
        );
        assert_eq!(same.behavior, Some(Behavior::Informational));
    }
}
