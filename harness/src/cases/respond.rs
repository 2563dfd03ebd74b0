//! The crafted-response part of the case format (section 20, `wsconform serve`): the harness
//! plays the server and answers the client's opening handshake with a response that breaks,
//! or stretches, what RFC 6455 §4.1 lets a client accept. Documented for users in
//! `cases/README.md`.

use serde::Deserialize;

use crate::handshake::accept_key;

/// `respond`: the response to the client's request, and what the client must do with it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResponseSpec {
    /// The status (default 101).
    #[serde(default = "switching")]
    pub status: u16,
    /// The reason phrase (default `Switching Protocols`).
    #[serde(default)]
    pub reason: Option<String>,
    /// A whole status line instead (`HTTP/1.1 101`, garbage…).
    #[serde(default)]
    pub status_line: Option<String>,
    /// `Sec-WebSocket-Accept`: how it is wrong, if it is.
    #[serde(default)]
    pub accept: AcceptSpec,
    /// Headers removed from the valid response (`Upgrade`, `Connection`).
    #[serde(default)]
    pub remove: Vec<String>,
    /// Headers set: `[name, value]`, in place of the valid response's.
    #[serde(default)]
    pub set: Vec<(String, String)>,
    /// Headers appended, even if the name is already there.
    #[serde(default)]
    pub append: Vec<(String, String)>,
    /// Raw header lines appended as they are (an obs-fold continuation, a blank-looking line).
    #[serde(default)]
    pub lines: Vec<String>,
    /// A filler header of this many bytes (a response head over a client's limit).
    #[serde(default)]
    pub pad: Option<usize>,
    /// A whole response sent before this one (an interim `100 Continue`).
    #[serde(default)]
    pub before: Option<String>,
    /// The harness's first message goes in the same TCP write as the head.
    #[serde(default)]
    pub frame_with_head: bool,
    /// The response is written this many bytes at a time (a head that arrives in pieces).
    #[serde(default)]
    pub chop: Option<usize>,
    /// What a conforming client does with it.
    pub expect: ResponseExpect,
    /// The requirement a wrong reaction breaks, quoted in the reason.
    pub rule: String,
    /// The rule is a SHOULD, or no sentence makes it a MUST: the wrong reaction (accepting for
    /// `reject`, refusing for `accept`) is NON-STRICT rather than FAILED.
    #[serde(default)]
    pub should: bool,
    /// Seconds to wait for the client's reaction (default 3).
    #[serde(default)]
    pub within: Option<f64>,
    /// A redirect case: what following its `Location` (`/redirected/{token}` on this server)
    /// means. The values of `set` and `append` may use `{token}` (this case run's), `{port}`
    /// (the server's) and `{s}` (`s` when the server speaks TLS).
    #[serde(default)]
    pub redirect: Option<RedirectKind>,
}

/// What a redirect case checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RedirectKind {
    /// Whether the client follows: INFORMATIONAL either way (clients are not required to).
    Follow,
    /// From wss to ws: following is FAILED (needs the server on TLS).
    Downgrade,
    /// To another origin: carrying the credentials of the first request there is FAILED.
    CrossOrigin,
}

fn switching() -> u16 {
    101
}

/// How the `Sec-WebSocket-Accept` header is wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AcceptSpec {
    /// The right value.
    #[default]
    Valid,
    /// The accept of another key.
    Wrong,
    /// No header.
    Missing,
    /// The right value, in two header fields.
    Twice,
    /// The right value with its letters' case swapped (base64 is case-sensitive).
    CaseSwapped,
    /// The right value followed by `:junk`.
    Junk,
}

/// What a conforming client does with the response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResponseExpect {
    /// Fail the WebSocket connection (§4.1): close TCP, never use the connection.
    Reject,
    /// Use the connection: echo the harness's message.
    Accept,
    /// The RFC leaves it open: INFORMATIONAL, recording what the client did.
    Record,
}

/// The message the harness sends once its response is out (a client driver echoes it).
pub const PROBE_MESSAGE: &str = "Hello from wsconform";

/// The most filler bytes a response may carry.
const MAX_RESPONSE_PAD: usize = 1 << 20;

impl ResponseSpec {
    /// The response to a request with `key` (its `Sec-WebSocket-Key`, as sent), with the
    /// placeholders of header values filled from `vars` (`token`, `port`, `s`).
    pub fn build(&self, key: &[u8], vars: &[(&str, &str)]) -> Vec<u8> {
        let fill = |value: &str| {
            vars.iter().fold(value.to_owned(), |v, (name, with)| {
                v.replace(&format!("{{{name}}}"), with)
            })
        };
        let accept = accept_key(key);
        let mut headers: Vec<(String, String)> = vec![
            ("Upgrade".into(), "websocket".into()),
            ("Connection".into(), "Upgrade".into()),
        ];
        match self.accept {
            AcceptSpec::Valid => headers.push(("Sec-WebSocket-Accept".into(), accept)),
            AcceptSpec::Wrong => headers.push((
                "Sec-WebSocket-Accept".into(),
                accept_key(b"dGhlIHNhbXBsZSBub25jZQ=="),
            )),
            AcceptSpec::Missing => {}
            AcceptSpec::Twice => {
                headers.push(("Sec-WebSocket-Accept".into(), accept.clone()));
                headers.push(("Sec-WebSocket-Accept".into(), accept));
            }
            AcceptSpec::CaseSwapped => {
                let swapped: String = accept
                    .chars()
                    .map(|c| {
                        if c.is_ascii_lowercase() {
                            c.to_ascii_uppercase()
                        } else {
                            c.to_ascii_lowercase()
                        }
                    })
                    .collect();
                headers.push(("Sec-WebSocket-Accept".into(), swapped));
            }
            AcceptSpec::Junk => {
                headers.push(("Sec-WebSocket-Accept".into(), format!("{accept}:junk")))
            }
        }
        headers.retain(|(n, _)| !self.remove.iter().any(|r| r.eq_ignore_ascii_case(n)));
        for (name, value) in &self.set {
            let value = fill(value);
            match headers
                .iter_mut()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
            {
                Some(h) => h.1 = value,
                None => headers.push((name.clone(), value)),
            }
        }
        headers.extend(self.append.iter().map(|(n, v)| (n.clone(), fill(v))));
        let mut out = Vec::new();
        if let Some(before) = &self.before {
            out.extend_from_slice(before.as_bytes());
        }
        let line = self.status_line.clone().unwrap_or_else(|| {
            let reason = self.reason.as_deref().unwrap_or(match self.status {
                101 => "Switching Protocols",
                200 => "OK",
                _ => "Status",
            });
            format!("HTTP/1.1 {} {reason}", self.status)
        });
        out.extend_from_slice(line.as_bytes());
        out.extend_from_slice(b"\r\n");
        for (name, value) in &headers {
            out.extend_from_slice(format!("{name}: {value}\r\n").as_bytes());
        }
        for line in &self.lines {
            out.extend_from_slice(line.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        if let Some(n) = self.pad {
            out.extend_from_slice(b"X-Padding: ");
            out.resize(out.len() + n.min(MAX_RESPONSE_PAD), b'a');
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b"\r\n");
        out
    }

    /// What a conforming client does, in words (the record's `expected`).
    pub fn describe(&self) -> String {
        match self.expect {
            ResponseExpect::Reject => {
                "the client fails the connection: closes TCP without using it".into()
            }
            ResponseExpect::Accept => "the client accepts the response and echoes".into(),
            ResponseExpect::Record => "any reaction (informational)".into(),
        }
    }

    /// Checks that need more than the types.
    pub fn validate(&self) -> Result<(), String> {
        if self.pad.is_some_and(|n| n > MAX_RESPONSE_PAD) {
            return Err(format!("respond.pad is over {MAX_RESPONSE_PAD} bytes"));
        }
        if self.chop == Some(0) {
            return Err("respond.chop must be at least 1 byte".into());
        }
        if self.within.is_some_and(|s| !(0.1..=60.0).contains(&s)) {
            return Err("respond.within must be 0.1–60 seconds".into());
        }
        let line_ok = |s: &str| !s.contains(['\r', '\n']);
        let fields = self
            .set
            .iter()
            .chain(&self.append)
            .all(|(n, v)| line_ok(n) && line_ok(v));
        if !fields || !self.lines.iter().all(|l| line_ok(l)) {
            return Err("respond headers and lines are single lines (no CR or LF)".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(toml: &str) -> ResponseSpec {
        toml::from_str(toml).expect("spec")
    }

    #[test]
    fn the_valid_response_is_the_rfc_example() {
        let r = spec("expect = 'accept'\nrule = 'x'").build(b"dGhlIHNhbXBsZSBub25jZQ==", &[]);
        let text = String::from_utf8(r).expect("text");
        assert_eq!(
            text,
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n"
        );
    }

    #[test]
    fn each_accept_variant_breaks_the_value() {
        let key = b"x3JJHMbDL1EzLkh9GBhXDw==";
        let good = accept_key(key);
        let text = |accept: &str| {
            let s = spec(&format!(
                "expect = 'reject'\nrule = 'x'\naccept = '{accept}'"
            ));
            String::from_utf8(s.build(key, &[])).expect("text")
        };
        assert!(!text("wrong").contains(&good));
        assert!(!text("missing").contains("Sec-WebSocket-Accept"));
        assert_eq!(text("twice").matches(&good).count(), 2);
        assert!(!text("case_swapped").contains(&good));
        assert!(text("junk").contains(&format!("{good}:junk")));
    }

    #[test]
    fn headers_are_removed_set_and_appended() {
        let s = spec(
            "expect = 'reject'\nrule = 'x'\nremove = ['Upgrade']\nset = [['Connection', 'keep-alive']]\nappend = [['Sec-WebSocket-Protocol', 'chat']]\nlines = [' folded']\nbefore = \"HTTP/1.1 100 Continue\\r\\n\\r\\n\"",
        );
        let text = String::from_utf8(s.build(b"k", &[])).expect("text");
        assert!(text.starts_with("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 101"));
        assert!(!text.contains("Upgrade: websocket"));
        assert!(text.contains("Connection: keep-alive\r\n"));
        assert!(text.contains("Sec-WebSocket-Protocol: chat\r\n folded\r\n\r\n"));
    }
}
