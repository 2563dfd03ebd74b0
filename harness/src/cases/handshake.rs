//! The handshake part of the case format: a crafted opening-handshake request and what the
//! server must answer (section 0, RFC 6455 §4.2.1, §4.2.2). Documented for users in
//! `cases/README.md`.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::frame::{FrameSpec, Payload};
use crate::Side;
use crate::handshake::{Offer, Request, accept_key, generate_key, parse_extensions};
use crate::session::Writer;

/// Values a case may need from the user (`--param name=value`): a path that must give 404, a
/// forbidden Origin, a subprotocol the server supports, its message size limit…
pub type Params = BTreeMap<String, String>;

/// `handshake`: the request to send and the answer expected.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HandshakeSpec {
    /// How the request differs from a valid one.
    #[serde(default)]
    pub request: RequestSpec,
    /// What a conforming server does with it.
    pub expect: HandshakeExpect,
    /// For `reject`: the statuses the RFC names (default 400); another error status is
    /// NON-STRICT, and a 101 fails. For `accept`: refusals the RFC tolerates as policy
    /// (NON-STRICT rather than FAILED).
    #[serde(default)]
    pub status: Vec<u16>,
    /// For `reject`: a 101 is NON-STRICT rather than FAILED (the RFC allows it to a server
    /// configured for it, such as one that still speaks a draft version).
    #[serde(default)]
    pub allow_101: bool,
    /// For `reject`: closing the connection without an answer is as good as a named status.
    /// For `accept`: closing without an answer is tolerated (NON-STRICT, not FAILED).
    #[serde(default)]
    pub close_ok: bool,
    /// The requirement a wrong answer breaks, quoted in the reason (`§4.2.1 item 5: the key
    /// must decode to 16 bytes`).
    #[serde(default)]
    pub rule: Option<String>,
    /// Checks on the response's headers.
    #[serde(default)]
    pub headers: Vec<HeaderCheck>,
    /// Check the permessage-deflate answer against the offers (RFC 7692 §7).
    #[serde(default)]
    pub pmd: bool,
    /// Seconds to wait for the answer (default: the opening-handshake timeout), counted from
    /// the end of the request.
    #[serde(default)]
    pub within: Option<f64>,
}

/// What a conforming server does with the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HandshakeExpect {
    /// 101, a valid response; then the case's steps run.
    Accept,
    /// An HTTP error; never 101.
    Reject,
    /// The RFC leaves the answer open: INFORMATIONAL, recording what the server did.
    Record,
}

/// A check on a response header.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HeaderCheck {
    /// The header name (any case).
    pub name: String,
    /// The header's comma-separated values (all its fields together) include this token.
    #[serde(default)]
    pub contains: Option<String>,
    /// The header appears exactly once, with exactly this value.
    #[serde(default)]
    pub equals: Option<String>,
    /// The header must not appear.
    #[serde(default)]
    pub absent: bool,
    /// Check only a response with this status (a 426 must carry `Upgrade`).
    #[serde(default)]
    pub when_status: Option<u16>,
    /// The requirement the check enforces, quoted when it fails.
    #[serde(default)]
    pub rule: Option<String>,
    /// The check is a MUST only once the user has told wsconform this fact about the server
    /// (`--param NAME`); without it, a failure is NON-STRICT (0.8.2: the server may speak the
    /// subprotocols it picked).
    #[serde(default)]
    pub strict_with: Option<String>,
    /// The check rests on a SHOULD or on a reading of intent, not a MUST: a failure is
    /// NON-STRICT.
    #[serde(default)]
    pub non_strict: bool,
    /// For `equals`: the header left out is NON-STRICT, not FAILED (0.8.1: a server may agree
    /// to no subprotocol at all, §4.2.2).
    #[serde(default)]
    pub absence_non_strict: bool,
}

impl HeaderCheck {
    /// What the check wants, in words: `Sec-WebSocket-Version listing 13`.
    pub fn describe(&self) -> String {
        let text = match (&self.contains, &self.equals) {
            (Some(token), _) => format!("{} listing {token}", self.name),
            (_, Some(value)) => format!("exactly one {}: {value}", self.name),
            _ => format!("no {}", self.name),
        };
        match self.when_status {
            Some(status) => format!("{text} if {status}"),
            None => text,
        }
    }
}

impl HandshakeSpec {
    /// What a conforming server answers, in words (the record's `expected`).
    pub fn describe(&self) -> String {
        let mut text = match self.expect {
            HandshakeExpect::Accept => "101 Switching Protocols".to_owned(),
            HandshakeExpect::Reject => {
                let named = if self.status.is_empty() {
                    vec![400]
                } else {
                    self.status.clone()
                };
                let named: Vec<String> = named.iter().map(ToString::to_string).collect();
                format!(
                    "rejected with {}{} ({})",
                    named.join(" or "),
                    if self.close_ok {
                        ", or the connection closed"
                    } else {
                        ""
                    },
                    if self.allow_101 {
                        "a 101 is NON-STRICT"
                    } else {
                        "never 101"
                    }
                )
            }
            HandshakeExpect::Record => "any answer (informational)".to_owned(),
        };
        let mut with: Vec<String> = self.headers.iter().map(HeaderCheck::describe).collect();
        if self.pmd {
            with.push("permessage-deflate declined or answered as one valid offer".into());
        }
        if !with.is_empty() {
            text.push_str(&format!(", with {}", with.join(", ")));
        }
        format!("handshake: {text}")
    }
}

/// How the request differs from the valid RFC 6455 §4.1 request the harness normally sends.
/// Strings may use `{host}` (the `Host` value), `{path}` (the target's resource), `{key}` (a
/// fresh valid key) and `{NAME}` for a `--param NAME=...`.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestSpec {
    /// The method (default GET).
    #[serde(default)]
    pub method: Option<String>,
    /// The request target (default `{path}`).
    #[serde(default)]
    pub target: Option<String>,
    /// The version (default `HTTP/1.1`).
    #[serde(default)]
    pub version: Option<String>,
    /// Headers removed (every field of that name, any case).
    #[serde(default)]
    pub remove: Vec<String>,
    /// Headers set: `[name, value]`; the first field of that name keeps its place.
    #[serde(default)]
    pub set: Vec<(String, String)>,
    /// Headers appended, even if the name is already there: `[name, value]`.
    #[serde(default)]
    pub append: Vec<(String, String)>,
    /// Raw header lines appended as they are (`"Host : x"`, an obs-fold continuation…).
    #[serde(default)]
    pub lines: Vec<String>,
    /// `"lf"` ends every line with a bare LF instead of CRLF.
    #[serde(default)]
    pub line_ending: Option<String>,
    /// Many or large filler headers.
    #[serde(default)]
    pub pad: Option<Pad>,
    /// Bytes sent right after the head, in the same write.
    #[serde(default)]
    pub body: Option<Payload>,
    /// Frames sent right after the head, in the same write (before the 101 arrives).
    #[serde(default)]
    pub frames: Vec<FrameSpec>,
    /// Write the request a few bytes at a time, with pauses (slowloris).
    #[serde(default)]
    pub trickle: Option<Trickle>,
    /// Send only this many bytes of the request, then wait (a request that never ends).
    #[serde(default)]
    pub stop_after: Option<usize>,
    /// Before the request, open this many other connections that each send half a request
    /// and stay open until the case ends.
    #[serde(default)]
    pub hold: Option<usize>,
}

/// `pad`: `count` filler headers `NAME-i: xxx…` of `len` bytes of value each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pad {
    /// How many.
    pub count: usize,
    /// The bytes of each value.
    pub len: usize,
}

/// `trickle`: `bytes` bytes a write, `every` seconds apart.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Trickle {
    /// Bytes a write.
    pub bytes: usize,
    /// Seconds between writes.
    pub every: f64,
}

/// The most filler bytes a case may ask for (a bound on the harness, not the server).
const MAX_PAD: usize = 64 * 1024 * 1024;

/// A request built from a [`RequestSpec`].
#[derive(Debug, Clone)]
pub struct BuiltRequest {
    /// The structured request (its headers give the offer).
    pub request: Request,
    /// The bytes of the head, as sent.
    pub head: Vec<u8>,
    /// Bytes sent after the head in the same write (a body, early frames).
    pub after: Vec<u8>,
}

impl BuiltRequest {
    /// What the client offered, to check a 101 against: the accept of the first key (trimmed,
    /// RFC 6455 §4.2.2 step 5.4), and the extension and subprotocol names offered.
    pub fn offer(&self) -> Offer {
        let r = &self.request;
        let values = |name: &str| -> Vec<Vec<u8>> {
            r.headers()
                .iter()
                .filter(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.clone())
                .collect()
        };
        let extensions =
            parse_extensions(values("Sec-WebSocket-Extensions").iter().map(|v| &v[..]))
                .map(|list| list.into_iter().map(|e| e.name).collect())
                .unwrap_or_default();
        let protocols = values("Sec-WebSocket-Protocol")
            .iter()
            .flat_map(|v| {
                String::from_utf8_lossy(v)
                    .split(',')
                    .map(|t| t.trim().to_owned())
                    .filter(|t| !t.is_empty())
                    .collect::<Vec<_>>()
            })
            .collect();
        Offer {
            accept: r.header("Sec-WebSocket-Key").map(accept_key),
            extensions,
            protocols,
        }
    }
}

/// Replaces `{host}`, `{path}`, `{key}` and `{NAME}` for every param.
pub fn fill(text: &str, host: &str, path: &str, key: &str, params: &Params) -> String {
    let mut out = text
        .replace("{host}", host)
        .replace("{path}", path)
        .replace("{key}", key);
    for (name, value) in params {
        out = out.replace(&format!("{{{name}}}"), value);
    }
    out
}

impl RequestSpec {
    /// Checks what loading can check.
    pub fn validate(&self) -> Result<(), String> {
        if let Some(ending) = &self.line_ending
            && ending != "lf"
            && ending != "crlf"
        {
            return Err(format!("line_ending {ending:?} is not \"lf\" or \"crlf\""));
        }
        if let Some(pad) = self.pad
            && pad.count.saturating_mul(pad.len + 16) > MAX_PAD
        {
            return Err(format!("pad asks for more than {MAX_PAD} bytes"));
        }
        if self.trickle.is_some_and(|t| t.bytes == 0) {
            return Err("trickle.bytes must be at least 1".into());
        }
        if self.hold.is_some_and(|n| n > 256) {
            return Err("hold is at most 256 connections".into());
        }
        if let Some(body) = &self.body {
            body.validate()?;
        }
        self.frames.iter().try_for_each(FrameSpec::validate)
    }

    /// The request for a target whose `Host` value is `host` and resource `path`.
    pub fn build(&self, host: &str, path: &str, params: &Params) -> Result<BuiltRequest, String> {
        let key = generate_key();
        let f = |s: &str| fill(s, host, path, &key, params);
        let mut request = Request::new(host, path);
        request.set("Sec-WebSocket-Key", key.clone());
        if let Some(m) = &self.method {
            request.method = f(m);
        }
        if let Some(t) = &self.target {
            request.target = f(t);
        }
        if let Some(v) = &self.version {
            request.version = f(v);
        }
        for name in &self.remove {
            request.remove(name);
        }
        for (name, value) in &self.set {
            request.set(name, f(value));
        }
        for (name, value) in &self.append {
            request.append(name, f(value));
        }
        let mut head = request.to_bytes();
        // Raw lines and filler go before the blank line that ends the head.
        head.truncate(head.len() - 2);
        for line in &self.lines {
            head.extend_from_slice(f(line).as_bytes());
            head.extend_from_slice(b"\r\n");
        }
        if let Some(pad) = self.pad {
            for i in 0..pad.count {
                head.extend_from_slice(format!("X-Wsconform-Pad-{i}: ").as_bytes());
                head.extend(std::iter::repeat_n(b'a', pad.len));
                head.extend_from_slice(b"\r\n");
            }
        }
        head.extend_from_slice(b"\r\n");
        if self.line_ending.as_deref() == Some("lf") {
            head = String::from_utf8_lossy(&head)
                .replace("\r\n", "\n")
                .into_bytes();
        }
        let mut after = match &self.body {
            Some(body) => f_bytes(body, &f)?,
            None => Vec::new(),
        };
        // Frames sent behind the request come from the client: masked unless a frame says.
        let mut writer = Writer::new(Side::Client);
        for frame in &self.frames {
            writer
                .mask(frame.to_raw()?, frame.masking()?)
                .encode(&mut after);
        }
        request.raw(head.clone());
        Ok(BuiltRequest {
            request,
            head,
            after,
        })
    }
}

/// A body's bytes, with placeholders filled when it is text.
fn f_bytes(body: &Payload, f: &dyn Fn(&str) -> String) -> Result<Vec<u8>, String> {
    Ok(match body {
        Payload::Text(text) => f(text).into_bytes(),
        other => other.bytes()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(toml_text: &str) -> RequestSpec {
        toml::from_str(toml_text).expect("spec")
    }

    #[test]
    fn bends_the_request() {
        let s = spec(
            r#"
            method = "POST"
            target = "http://{host}{path}"
            remove = ["Upgrade"]
            set = [["Connection", "keep-alive, Upgrade"]]
            append = [["Sec-WebSocket-Protocol", "{subprotocol}"]]
            lines = ["X-Space : yes"]
            body = "GET / HTTP/1.1\r\n\r\n"
            "#,
        );
        let params = Params::from([("subprotocol".to_owned(), "chat".to_owned())]);
        let built = s.build("h:1", "/p", &params).expect("build");
        let head = String::from_utf8(built.head.clone()).expect("ascii");
        assert!(
            head.starts_with("POST http://h:1/p HTTP/1.1\r\nHost: h:1\r\n"),
            "{head}"
        );
        assert!(!head.contains("Upgrade: websocket"));
        assert!(head.contains("Connection: keep-alive, Upgrade\r\n"));
        assert!(head.contains("Sec-WebSocket-Protocol: chat\r\n"));
        assert!(head.ends_with("X-Space : yes\r\n\r\n"), "{head}");
        assert_eq!(built.after, b"GET / HTTP/1.1\r\n\r\n");
        assert_eq!(built.offer().protocols, vec!["chat".to_owned()]);
        assert!(built.offer().accept.is_some());
    }

    #[test]
    fn trimmed_key_and_bare_lf() {
        let s = spec(
            r#"
            set = [["Sec-WebSocket-Key", "  {key}  "]]
            line_ending = "lf"
            pad = { count = 3, len = 4 }
            "#,
        );
        let built = s.build("h", "/", &Params::new()).expect("build");
        let head = String::from_utf8(built.head.clone()).expect("ascii");
        assert!(!head.contains('\r'));
        assert!(head.contains("X-Wsconform-Pad-2: aaaa\n\n"), "{head}");
        let key = built.request.header("sec-websocket-key").expect("key");
        assert_eq!(built.offer().accept, Some(accept_key(key.trim_ascii())));
    }

    #[test]
    fn rejects_bad_specs() {
        assert!(spec(r#"line_ending = "cr""#).validate().is_err());
        assert!(
            spec("pad = { count = 100000000, len = 10 }")
                .validate()
                .is_err()
        );
        assert!(
            spec("trickle = { bytes = 0, every = 1.0 }")
                .validate()
                .is_err()
        );
    }
}
