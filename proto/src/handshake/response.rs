//! The server's handshake response, RFC 6455 §4.1 (client requirements) and §4.2.2.
//!
//! [`parse_response`] is bounded: it looks at no more than [`ResponseLimits::max_bytes`] and
//! accepts no more than [`ResponseLimits::max_headers`] headers, so a hostile server cannot make
//! the harness buffer or allocate without limit.

use super::extensions::{Extension, HeaderSyntaxError, parse_extensions, parse_subprotocols};

/// Limits on the response head.
#[derive(Debug, Clone, Copy)]
pub struct ResponseLimits {
    /// The most bytes the status line and headers may take, including the blank line.
    pub max_bytes: usize,
    /// The most headers accepted.
    pub max_headers: usize,
}

impl Default for ResponseLimits {
    fn default() -> Self {
        Self {
            max_bytes: 16 * 1024,
            max_headers: 64,
        }
    }
}

/// A parsed response head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// The HTTP minor version (1 for HTTP/1.1).
    pub minor_version: u8,
    /// The status code.
    pub status: u16,
    /// The reason phrase.
    pub reason: String,
    /// The headers in order, names as sent.
    pub headers: Vec<(String, Vec<u8>)>,
}

impl Response {
    /// Every value of `name`, ignoring case, in order.
    pub fn header_values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a [u8]> + 'a {
        self.headers
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_slice())
    }

    /// The first value of `name`, ignoring case.
    pub fn header(&self, name: &str) -> Option<&[u8]> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_slice())
    }
}

/// Why a response head could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResponseError {
    /// The head did not end within the size limit.
    #[error("response head exceeds {limit} bytes")]
    TooLarge {
        /// The limit.
        limit: usize,
    },
    /// More headers than the limit.
    #[error("response has more than {limit} headers")]
    TooManyHeaders {
        /// The limit.
        limit: usize,
    },
    /// Not an HTTP/1.x response.
    #[error("malformed HTTP response: {0}")]
    Malformed(String),
}

/// Parses a response head from the start of `buf`.
///
/// Returns `Ok(None)` while the head is incomplete, or the response and the number of bytes
/// it took; bytes after it (frames sent right behind the 101) belong to the caller.
pub fn parse_response(
    buf: &[u8],
    limits: ResponseLimits,
) -> Result<Option<(Response, usize)>, ResponseError> {
    let window = &buf[..buf.len().min(limits.max_bytes)];
    let mut headers = vec![httparse::EMPTY_HEADER; limits.max_headers];
    let mut response = httparse::Response::new(&mut headers);
    match response.parse(window) {
        Ok(httparse::Status::Partial) if buf.len() >= limits.max_bytes => {
            Err(ResponseError::TooLarge {
                limit: limits.max_bytes,
            })
        }
        Ok(httparse::Status::Partial) => Ok(None),
        Ok(httparse::Status::Complete(len)) => {
            let parsed = Response {
                minor_version: response.version.unwrap_or(1),
                status: response.code.unwrap_or(0),
                reason: response.reason.unwrap_or("").to_owned(),
                headers: response
                    .headers
                    .iter()
                    .map(|h| (h.name.to_owned(), h.value.to_vec()))
                    .collect(),
            };
            Ok(Some((parsed, len)))
        }
        Err(httparse::Error::TooManyHeaders) => Err(ResponseError::TooManyHeaders {
            limit: limits.max_headers,
        }),
        Err(e) => Err(ResponseError::Malformed(e.to_string())),
    }
}

/// What the client offered, to check the response against.
#[derive(Debug, Clone, Default)]
pub struct Offer {
    /// The `Sec-WebSocket-Accept` value expected (`None` skips the check, for requests sent
    /// without a key on purpose).
    pub accept: Option<String>,
    /// Extension names offered.
    pub extensions: Vec<String>,
    /// Subprotocols offered.
    pub protocols: Vec<String>,
}

/// What a valid response agreed to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Negotiated {
    /// The extensions the server accepted.
    pub extensions: Vec<Extension>,
    /// The subprotocol the server selected.
    pub protocol: Option<String>,
}

/// A §4.1 rule the response breaks. The client "MUST _Fail the WebSocket Connection_" on each.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResponseProblem {
    /// "If the status code received from the server is not 101, the client handles the
    /// response per HTTP procedures."
    #[error("server answered {status} {reason}, not 101 Switching Protocols")]
    NotSwitchingProtocols {
        /// The status code.
        status: u16,
        /// The reason phrase.
        reason: String,
    },
    /// The response is not HTTP/1.1.
    #[error("response is HTTP/1.{0}, not HTTP/1.1")]
    NotHttp11(u8),
    /// "If the response lacks an |Upgrade| header field or the |Upgrade| header field
    /// contains a value that is not an ASCII case-insensitive match for the value
    /// "websocket", the client MUST _Fail the WebSocket Connection_."
    #[error("Upgrade header is {0:?}, not \"websocket\"")]
    BadUpgrade(Option<String>),
    /// "If the response lacks a |Connection| header field or the |Connection| header field
    /// doesn't contain a token that is an ASCII case-insensitive match for the value
    /// "Upgrade", the client MUST _Fail the WebSocket Connection_."
    #[error("Connection header is {0:?}, without the token \"Upgrade\"")]
    BadConnection(Option<String>),
    /// "If the response lacks a |Sec-WebSocket-Accept| header field or the
    /// |Sec-WebSocket-Accept| contains a value other than the base64-encoded SHA-1 of the
    /// concatenation of the |Sec-WebSocket-Key| (as a string, not base64-decoded) with the
    /// string "258EAFA5-E914-47DA-95CA-C5AB0DC85B11" [...] the client MUST _Fail_".
    #[error("Sec-WebSocket-Accept is {}, expected {expected:?}", show_values(got))]
    BadAccept {
        /// The expected value.
        expected: String,
        /// The values sent (none, one, or several).
        got: Vec<String>,
    },
    /// "If the response includes a |Sec-WebSocket-Extensions| header field and this header
    /// field indicates the use of an extension that was not present in the client's
    /// handshake [...] the client MUST _Fail the WebSocket Connection_."
    #[error("server accepted extension {0:?}, which was not offered")]
    ExtensionNotOffered(String),
    /// The extensions header does not follow the §9.1 grammar.
    #[error("Sec-WebSocket-Extensions is malformed: {0}")]
    MalformedExtensions(HeaderSyntaxError),
    /// "If the response includes a |Sec-WebSocket-Protocol| header field and this header
    /// field indicates the use of a subprotocol that was not present in the client's
    /// handshake [...] the client MUST _Fail the WebSocket Connection_." The server selects
    /// one protocol (§4.2.2), so more than one is also a failure.
    #[error("server selected subprotocol {0:?}, which was not offered or is not a single value")]
    BadSubprotocol(String),
}

impl ResponseProblem {
    /// One of each kind, for the table of codes.
    pub fn samples() -> Vec<ResponseProblem> {
        vec![
            Self::NotSwitchingProtocols {
                status: 200,
                reason: "OK".into(),
            },
            Self::NotHttp11(0),
            Self::BadUpgrade(None),
            Self::BadConnection(None),
            Self::BadAccept {
                expected: "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=".into(),
                got: Vec::new(),
            },
            Self::ExtensionNotOffered("x-unknown".into()),
            Self::MalformedExtensions(HeaderSyntaxError::NotAscii),
            Self::BadSubprotocol("x-unknown".into()),
        ]
    }

    /// The stable code, for reports.
    pub fn code(&self) -> &'static str {
        match self {
            Self::NotSwitchingProtocols { .. } => "status-not-101",
            Self::NotHttp11(_) => "response-not-http11",
            Self::BadUpgrade(_) => "upgrade-invalid",
            Self::BadConnection(_) => "connection-invalid",
            Self::BadAccept { .. } => "accept-mismatch",
            Self::ExtensionNotOffered(_) => "extension-not-offered",
            Self::MalformedExtensions(_) => "extensions-malformed",
            Self::BadSubprotocol(_) => "subprotocol-not-offered",
        }
    }

    /// The RFC section of the rule.
    pub fn rfc(&self) -> &'static str {
        match self {
            Self::MalformedExtensions(_) => "rfc6455#section-9.1",
            _ => "rfc6455#section-4.1",
        }
    }

    /// The rule in words, as a report cites it (`RFC 6455 §4.1 item 4`): the numbered
    /// item of the client's checks in §4.1.
    pub fn rule(&self) -> &'static str {
        match self {
            Self::NotSwitchingProtocols { .. } => "RFC 6455 §4.1 item 1",
            Self::NotHttp11(_) => "RFC 6455 §4.1 (an HTTP/1.1 response)",
            Self::BadUpgrade(_) => "RFC 6455 §4.1 item 2",
            Self::BadConnection(_) => "RFC 6455 §4.1 item 3",
            Self::BadAccept { .. } => "RFC 6455 §4.1 item 4",
            Self::ExtensionNotOffered(_) => "RFC 6455 §4.1 item 5",
            Self::MalformedExtensions(_) => "RFC 6455 §4.1 item 5, §9.1",
            Self::BadSubprotocol(_) => "RFC 6455 §4.1 item 6",
        }
    }
}

/// A header's values as a report shows them: `missing`, `"a"`, or `sent 2 times: "a", "b"`.
fn show_values(values: &[String]) -> String {
    match values {
        [] => "missing".into(),
        [one] => format!("{one:?}"),
        many => format!(
            "sent {} times: {}",
            many.len(),
            many.iter()
                .map(|v| format!("{v:?}"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// Checks a response against the client's §4.1 rules. Returns what was agreed, or every
/// problem found.
pub fn check_response(
    response: &Response,
    offer: &Offer,
) -> Result<Negotiated, Vec<ResponseProblem>> {
    let text = |v: &[u8]| String::from_utf8_lossy(v).into_owned();
    let mut problems = Vec::new();
    if response.status != 101 {
        problems.push(ResponseProblem::NotSwitchingProtocols {
            status: response.status,
            reason: response.reason.clone(),
        });
        return Err(problems);
    }
    if response.minor_version != 1 {
        problems.push(ResponseProblem::NotHttp11(response.minor_version));
    }
    // One field whose value is `websocket`: two fields combine to "websocket, websocket"
    // (RFC 9110 §5.3), which is not a match.
    let upgrades: Vec<&[u8]> = response.header_values("Upgrade").collect();
    if !matches!(&upgrades[..], [v] if v.trim_ascii().eq_ignore_ascii_case(b"websocket")) {
        let shown = (!upgrades.is_empty()).then(|| {
            upgrades
                .iter()
                .map(|v| text(v))
                .collect::<Vec<_>>()
                .join(", ")
        });
        problems.push(ResponseProblem::BadUpgrade(shown));
    }
    let connection = response.header("Connection");
    let has_upgrade_token = response.header_values("Connection").any(|v| {
        v.split(|b| *b == b',')
            .any(|t| t.trim_ascii().eq_ignore_ascii_case(b"upgrade"))
    });
    if !has_upgrade_token {
        problems.push(ResponseProblem::BadConnection(connection.map(text)));
    }
    if let Some(expected) = &offer.accept {
        let got: Vec<String> = response
            .header_values("Sec-WebSocket-Accept")
            .map(text)
            .collect();
        if got.len() != 1 || got[0].trim() != expected {
            problems.push(ResponseProblem::BadAccept {
                expected: expected.clone(),
                got,
            });
        }
    }
    let mut negotiated = Negotiated::default();
    match parse_extensions(response.header_values("Sec-WebSocket-Extensions")) {
        Ok(extensions) => {
            for ext in &extensions {
                if !offer
                    .extensions
                    .iter()
                    .any(|o| o.eq_ignore_ascii_case(&ext.name))
                {
                    problems.push(ResponseProblem::ExtensionNotOffered(ext.name.clone()));
                }
            }
            negotiated.extensions = extensions;
        }
        Err(e) => problems.push(ResponseProblem::MalformedExtensions(e)),
    }
    let protocol_values: Vec<&[u8]> = response.header_values("Sec-WebSocket-Protocol").collect();
    if !protocol_values.is_empty() {
        let joined = protocol_values
            .iter()
            .map(|v| text(v))
            .collect::<Vec<_>>()
            .join(", ");
        match parse_subprotocols(protocol_values) {
            Ok(list) if list.len() == 1 && offer.protocols.contains(&list[0]) => {
                negotiated.protocol = Some(list[0].clone());
            }
            _ => problems.push(ResponseProblem::BadSubprotocol(joined)),
        }
    }
    if problems.is_empty() {
        Ok(negotiated)
    } else {
        Err(problems)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::handshake::accept_key;

    const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";

    fn good() -> Vec<u8> {
        format!(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {}\r\n\r\n",
            accept_key(KEY.as_bytes())
        )
        .into_bytes()
        .into_iter()
        .chain(*b"\x81\x02hi")
        .collect()
    }

    fn offer() -> Offer {
        Offer {
            accept: Some(accept_key(KEY.as_bytes())),
            extensions: vec!["permessage-deflate".into()],
            protocols: vec!["chat".into()],
        }
    }

    #[test]
    fn parses_incrementally_and_leaves_trailing_frames() {
        let bytes = good();
        for cut in 0..bytes.len() - 4 {
            let partial = &bytes[..cut];
            if let Ok(Some((_, len))) = parse_response(partial, ResponseLimits::default()) {
                assert!(len <= cut);
            }
        }
        let (resp, len) = parse_response(&bytes, ResponseLimits::default())
            .expect("valid")
            .expect("complete");
        assert_eq!(&bytes[len..], b"\x81\x02hi");
        assert_eq!(resp.status, 101);
        assert_eq!(check_response(&resp, &offer()), Ok(Negotiated::default()));
    }

    #[test]
    fn limits_hold() {
        let limits = ResponseLimits {
            max_bytes: 64,
            max_headers: 2,
        };
        let huge = [b"HTTP/1.1 101 OK\r\nX: ".as_slice(), &[b'a'; 100]].concat();
        assert_eq!(
            parse_response(&huge, limits),
            Err(ResponseError::TooLarge { limit: 64 })
        );
        let many = b"HTTP/1.1 101 OK\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n";
        assert_eq!(
            parse_response(
                many,
                ResponseLimits {
                    max_bytes: 1024,
                    max_headers: 2
                }
            ),
            Err(ResponseError::TooManyHeaders { limit: 2 })
        );
        assert!(matches!(
            parse_response(b"SSH-2.0-OpenSSH\r\n\r\n", limits),
            Err(ResponseError::Malformed(_))
        ));
    }

    #[test]
    fn each_rule_is_checked() {
        let parse = |s: &str| {
            parse_response(s.as_bytes(), ResponseLimits::default())
                .unwrap()
                .unwrap()
                .0
        };
        let forbidden = parse("HTTP/1.1 403 Forbidden\r\n\r\n");
        assert!(matches!(
            check_response(&forbidden, &offer()).unwrap_err()[..],
            [ResponseProblem::NotSwitchingProtocols { status: 403, .. }]
        ));
        let bare = parse(
            "HTTP/1.0 101 X\r\nUpgrade: h2c\r\nSec-WebSocket-Accept: a\r\nSec-WebSocket-Accept: b\r\nSec-WebSocket-Extensions: x-unknown\r\nSec-WebSocket-Protocol: chat, other\r\n\r\n",
        );
        let problems = check_response(&bare, &offer()).unwrap_err();
        assert_eq!(problems.len(), 6, "{problems:?}");
        assert!(matches!(problems[0], ResponseProblem::NotHttp11(0)));
        assert!(matches!(problems[1], ResponseProblem::BadUpgrade(Some(_))));
        assert!(matches!(problems[2], ResponseProblem::BadConnection(None)));
        assert!(matches!(&problems[3], ResponseProblem::BadAccept { got, .. } if got.len() == 2));
        assert!(matches!(
            problems[4],
            ResponseProblem::ExtensionNotOffered(_)
        ));
        assert!(matches!(problems[5], ResponseProblem::BadSubprotocol(_)));
    }

    #[test]
    fn accepts_negotiated_values() {
        let text = format!(
            "HTTP/1.1 101 Switching Protocols\r\nupgrade: WebSocket\r\nconnection: keep-alive, upgrade\r\nsec-websocket-accept:  {} \r\nSec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover\r\nSec-WebSocket-Protocol: chat\r\n\r\n",
            accept_key(KEY.as_bytes())
        );
        let resp = parse_response(text.as_bytes(), ResponseLimits::default())
            .unwrap()
            .unwrap()
            .0;
        let agreed = check_response(&resp, &offer()).expect("valid");
        assert_eq!(agreed.protocol.as_deref(), Some("chat"));
        assert_eq!(
            agreed.extensions[0].params[0].name,
            "server_no_context_takeover"
        );
    }
}
