//! The server side of the opening handshake, RFC 6455 §4.2.1 (reading the client's request)
//! and §4.2.2 (the server's answer). Sans-IO.
//!
//! [`parse_request`] reads a request head with limits on size and header count;
//! [`check_request`] applies the §4.2.1 checks in order and says either which 101 to send
//! ([`Accepted`]) or which HTTP error, and why ([`Refusal`], with a typed [`RequestProblem`]).
//! [`Accepted::response`] and [`Refusal::response`] write the answers.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use super::accept::accept_key;

/// Limits on the request head.
#[derive(Debug, Clone, Copy)]
pub struct RequestLimits {
    /// The most bytes the request line and headers may take, including the blank line.
    pub max_bytes: usize,
    /// The most header fields accepted.
    pub max_headers: usize,
}

impl Default for RequestLimits {
    fn default() -> Self {
        Self {
            max_bytes: 16 * 1024,
            max_headers: 100,
        }
    }
}

/// A parsed request head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestHead {
    /// The method.
    pub method: String,
    /// The request target, as sent.
    pub target: String,
    /// The HTTP minor version (1 for HTTP/1.1).
    pub minor_version: u8,
    /// The header fields in order, names as sent.
    pub headers: Vec<(String, Vec<u8>)>,
}

impl RequestHead {
    /// Every value of `name` (ignoring case), trimmed, in order.
    pub fn values(&self, name: &str) -> Vec<&[u8]> {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| trim(v))
            .collect()
    }
}

/// Why a request head could not be read. Each maps to the status a server answers with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    /// RFC 6585 §5: the head did not end within the size limit.
    #[error("request head exceeds {0} bytes")]
    TooLarge(usize),
    /// RFC 6585 §5: more header fields than the limit.
    #[error("request has more than {0} header fields")]
    TooManyHeaders(usize),
    /// RFC 9112 §2: not an HTTP/1.x request head.
    #[error("malformed HTTP request")]
    Malformed,
}

impl RequestError {
    /// The refusal a server answers with.
    pub fn refusal(self) -> Refusal {
        match self {
            Self::TooLarge(_) | Self::TooManyHeaders(_) => {
                Refusal::new(431, RequestProblem::HeadTooLarge)
            }
            Self::Malformed => Refusal::new(400, RequestProblem::Malformed),
        }
    }
}

/// Parses a request head from the start of `buf`: `Ok(None)` while it is incomplete, or the
/// head and the number of bytes it took (bytes after it are frames, or a pipelined request).
pub fn parse_request(
    buf: &[u8],
    limits: RequestLimits,
) -> Result<Option<(RequestHead, usize)>, RequestError> {
    let window = &buf[..buf.len().min(limits.max_bytes)];
    let mut headers = vec![httparse::EMPTY_HEADER; limits.max_headers];
    let mut request = httparse::Request::new(&mut headers);
    match request.parse(window) {
        Ok(httparse::Status::Partial) if buf.len() >= limits.max_bytes => {
            Err(RequestError::TooLarge(limits.max_bytes))
        }
        Ok(httparse::Status::Partial) => Ok(None),
        Ok(httparse::Status::Complete(len)) => Ok(Some((
            RequestHead {
                method: request.method.unwrap_or_default().to_owned(),
                target: request.path.unwrap_or_default().to_owned(),
                minor_version: request.version.unwrap_or(0),
                headers: request
                    .headers
                    .iter()
                    .map(|h| (h.name.to_owned(), h.value.to_vec()))
                    .collect(),
            },
            len,
        ))),
        Err(httparse::Error::TooManyHeaders) => {
            Err(RequestError::TooManyHeaders(limits.max_headers))
        }
        Err(_) => Err(RequestError::Malformed),
    }
}

/// What a server serves: the §4.2.1 checks that depend on the application.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// The resource names served (§4.2.2 /resource name/); others get 404. Empty: every
    /// resource is served (a test server that takes its instructions from the path).
    pub resources: Vec<String>,
    /// The subprotocols the server speaks, in its order of preference (§4.2.2 /subprotocol/).
    pub subprotocols: Vec<String>,
    /// Origins refused with 403 (§4.2.2 /origin/), compared ignoring ASCII case.
    pub forbidden_origins: Vec<String>,
    /// The protocol versions the server speaks (§4.4); the first is listed in a refusal.
    pub versions: Vec<String>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            resources: vec!["/".into()],
            subprotocols: Vec::new(),
            forbidden_origins: Vec::new(),
            versions: vec!["13".into()],
        }
    }
}

/// Which §4.2.1 rule a request broke, as a stable code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RequestProblem {
    /// RFC 9112 §2: not an HTTP/1.x request.
    #[error("not an HTTP/1.x request (RFC 9112 §2)")]
    Malformed,
    /// RFC 6585 §5: the head is too large.
    #[error("request head too large (RFC 6585 §5)")]
    HeadTooLarge,
    /// §4.2.1 item 1: "An HTTP/1.1 or higher GET request".
    #[error("method is not GET (RFC 6455 §4.2.1 item 1)")]
    NotGet,
    /// §4.2.1 item 1: HTTP/1.1 or higher.
    #[error("HTTP version below 1.1 (RFC 6455 §4.2.1 item 1)")]
    OldHttp,
    /// §4.2.1 item 1, §3: a request target that is not a resource name or an http(s) URI,
    /// or that carries a fragment.
    #[error("request target is not a resource name (RFC 6455 §3, §4.2.1 item 1)")]
    BadTarget,
    /// §4.2.2 /resource name/: not a resource this server serves.
    #[error("resource not served (RFC 6455 §4.2.2)")]
    NotFound,
    /// §4.2.1 item 2, RFC 9112 §3.2: exactly one valid Host.
    #[error("missing, repeated or invalid Host (RFC 6455 §4.2.1 item 2)")]
    BadHost,
    /// §4.2.1 item 3: no Upgrade header.
    #[error("no Upgrade header (RFC 6455 §4.2.1 item 3)")]
    NoUpgrade,
    /// §4.2.1 item 3: Upgrade does not list websocket.
    #[error("Upgrade does not list websocket (RFC 6455 §4.2.1 item 3)")]
    UpgradeNotWebsocket,
    /// §4.2.1 item 4: Connection does not include the token Upgrade.
    #[error("Connection does not include Upgrade (RFC 6455 §4.2.1 item 4)")]
    ConnectionNotUpgrade,
    /// §4.2.1 item 5: no Sec-WebSocket-Key.
    #[error("no Sec-WebSocket-Key (RFC 6455 §4.2.1 item 5)")]
    MissingKey,
    /// §4.2.1 item 5: a repeated key, or one that is not base64 of 16 bytes.
    #[error("Sec-WebSocket-Key repeated or not 16 bytes in base64 (RFC 6455 §4.2.1 item 5)")]
    BadKey,
    /// §4.2.1 item 6, §4.4: a version the server does not speak.
    #[error("unsupported Sec-WebSocket-Version (RFC 6455 §4.2.1 item 6, §4.4)")]
    UnsupportedVersion,
    /// §4.2.2 /origin/: the server does not accept this origin.
    #[error("origin refused (RFC 6455 §4.2.2)")]
    ForbiddenOrigin,
    /// §4.1 item 10, §11.3.4: subprotocols must be tokens.
    #[error("Sec-WebSocket-Protocol is not a list of tokens (RFC 6455 §11.3.4)")]
    BadSubprotocol,
}

impl RequestProblem {
    /// The stable code of the problem (for reports and baselines).
    pub fn code(self) -> &'static str {
        match self {
            Self::Malformed => "request-malformed",
            Self::HeadTooLarge => "request-head-too-large",
            Self::NotGet => "request-not-get",
            Self::OldHttp => "request-old-http",
            Self::BadTarget => "request-bad-target",
            Self::NotFound => "request-not-found",
            Self::BadHost => "request-bad-host",
            Self::NoUpgrade => "request-no-upgrade",
            Self::UpgradeNotWebsocket => "request-upgrade-not-websocket",
            Self::ConnectionNotUpgrade => "request-connection-not-upgrade",
            Self::MissingKey => "request-missing-key",
            Self::BadKey => "request-bad-key",
            Self::UnsupportedVersion => "request-unsupported-version",
            Self::ForbiddenOrigin => "request-forbidden-origin",
            Self::BadSubprotocol => "request-bad-subprotocol",
        }
    }
}

/// A refused handshake: the status, the rule broken, and extra header lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The HTTP status.
    pub status: u16,
    /// Why.
    pub problem: RequestProblem,
    /// Extra header fields, each as `(name, value)`.
    pub headers: Vec<(&'static str, String)>,
}

impl Refusal {
    fn new(status: u16, problem: RequestProblem) -> Self {
        Self {
            status,
            problem,
            headers: Vec::new(),
        }
    }

    fn with(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    /// The HTTP error response, which closes the connection. RFC 9110 §7.8: a response
    /// carrying Upgrade also lists "upgrade" in Connection.
    pub fn response(&self) -> Vec<u8> {
        let reason = match self.status {
            400 => "Bad Request",
            403 => "Forbidden",
            404 => "Not Found",
            405 => "Method Not Allowed",
            426 => "Upgrade Required",
            431 => "Request Header Fields Too Large",
            _ => "Error",
        };
        let mut head = format!("HTTP/1.1 {} {reason}\r\n", self.status);
        for (name, value) in &self.headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        let upgrade = self.headers.iter().any(|(n, _)| *n == "Upgrade");
        let connection = if upgrade { "Upgrade, close" } else { "close" };
        head.push_str(&format!(
            "Content-Length: 0\r\nConnection: {connection}\r\n\r\n"
        ));
        head.into_bytes()
    }
}

/// A valid request: what the 101 answers with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepted {
    /// The `Sec-WebSocket-Key` as sent (empty when a lenient server took a request without).
    pub key: Vec<u8>,
    /// The subprotocol selected, if any.
    pub subprotocol: Option<String>,
    /// The version the client asked for.
    pub version: String,
    /// The extension offers (raw header values); the server's extension layer answers them.
    pub extensions: Vec<Vec<u8>>,
}

impl Accepted {
    /// The `Sec-WebSocket-Accept` value (§4.2.2 item 5.4).
    pub fn accept(&self) -> String {
        accept_key(&self.key)
    }

    /// The 101 response (§4.2.2 item 5) with `accept` as `Sec-WebSocket-Accept` and the
    /// extensions answer `extensions`, if any.
    pub fn response(&self, accept: &str, extensions: Option<&str>) -> Vec<u8> {
        let mut head = format!(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n"
        );
        if let Some(p) = &self.subprotocol {
            head.push_str(&format!("Sec-WebSocket-Protocol: {p}\r\n"));
        }
        if let Some(e) = extensions {
            head.push_str(&format!("Sec-WebSocket-Extensions: {e}\r\n"));
        }
        head.push_str("\r\n");
        head.into_bytes()
    }
}

/// Applies the checks of RFC 6455 §4.2.1 and §4.2.2 to `request`, in order: the first rule
/// broken decides the refusal.
pub fn check_request(request: &RequestHead, config: &ServerConfig) -> Result<Accepted, Refusal> {
    use RequestProblem as P;
    let header = |name: &str| request.values(name);
    // RFC 6455 §4.2.1 item 1: "An HTTP/1.1 or higher GET request"; RFC 9110 §15.5.6: a 405
    // MUST carry an Allow header.
    if request.method != "GET" {
        return Err(Refusal::new(405, P::NotGet).with("Allow", "GET"));
    }
    if request.minor_version < 1 {
        return Err(Refusal::new(400, P::OldHttp));
    }
    // §4.2.1 item 1: a resource name or an absolute http/https URI containing it; §3: a
    // fragment "MUST NOT be used". §4.2.2 /resource name/: "If the requested service is not
    // available, the server MUST send an appropriate HTTP error code (such as 404)".
    let path = resource_path(&request.target).ok_or(Refusal::new(400, P::BadTarget))?;
    if !config.resources.is_empty() && !config.resources.iter().any(|r| r == path) {
        return Err(Refusal::new(404, P::NotFound));
    }
    // §4.2.1 item 2, RFC 9112 §3.2: exactly one Host header, with a valid value.
    match header("Host")[..] {
        [host] if valid_host(host) => {}
        _ => return Err(Refusal::new(400, P::BadHost)),
    }
    let version = config.versions.first().cloned().unwrap_or_default();
    // §4.2.1 item 3: an Upgrade header containing "websocket", case-insensitively; RFC 9110
    // §15.5.22: a 426 MUST send an Upgrade header.
    let upgrade = header("Upgrade");
    if upgrade.is_empty() {
        return Err(Refusal::new(426, P::NoUpgrade)
            .with("Upgrade", "websocket")
            .with("Sec-WebSocket-Version", version));
    }
    if !tokens(&upgrade).any(|t| t.eq_ignore_ascii_case(b"websocket")) {
        return Err(Refusal::new(400, P::UpgradeNotWebsocket));
    }
    // §4.2.1 item 4: a Connection header that "includes the token Upgrade",
    // case-insensitively, in any of the Connection headers' lists (RFC 9110 §5.3).
    if !tokens(&header("Connection")).any(|t| t.eq_ignore_ascii_case(b"upgrade")) {
        return Err(Refusal::new(400, P::ConnectionNotUpgrade));
    }
    // §4.2.1 item 5: one Sec-WebSocket-Key, base64 that decodes to 16 bytes.
    let key = match header("Sec-WebSocket-Key")[..] {
        [] => return Err(Refusal::new(400, P::MissingKey)),
        [key] if STANDARD.decode(key).is_ok_and(|k| k.len() == 16) => key.to_vec(),
        _ => return Err(Refusal::new(400, P::BadKey)),
    };
    // §4.2.1 item 6, §4.2.2 /version/ and §4.4: a version the server speaks, or 426 and
    // the versions it does.
    let asked = match header("Sec-WebSocket-Version")[..] {
        [v] if config.versions.iter().any(|s| s.as_bytes() == v) => {
            String::from_utf8_lossy(v).into_owned()
        }
        _ => {
            return Err(Refusal::new(426, P::UnsupportedVersion)
                .with("Sec-WebSocket-Version", config.versions.join(", ")));
        }
    };
    // §4.2.2 /origin/: "If the server does not wish to accept this connection, it MUST
    // return an appropriate HTTP error code (e.g., 403 Forbidden)".
    let forbidden = |o: &&[u8]| {
        config
            .forbidden_origins
            .iter()
            .any(|f| o.eq_ignore_ascii_case(f.as_bytes()))
    };
    if header("Origin").iter().any(forbidden) {
        return Err(Refusal::new(403, P::ForbiddenOrigin));
    }
    // §4.1 item 10 and §11.3.4: the offered subprotocols are a list of tokens (RFC 9110
    // §5.6.2); §4.2.2 /subprotocol/: the server selects one of them, or none.
    let offered: Vec<&[u8]> = tokens(&header("Sec-WebSocket-Protocol")).collect();
    if !offered.iter().all(|t| is_token(t)) {
        return Err(Refusal::new(400, P::BadSubprotocol));
    }
    let subprotocol = config
        .subprotocols
        .iter()
        .find(|p| offered.contains(&p.as_bytes()))
        .cloned();
    Ok(Accepted {
        key,
        subprotocol,
        version: asked,
        extensions: header("Sec-WebSocket-Extensions")
            .into_iter()
            .map(<[u8]>::to_vec)
            .collect(),
    })
}

/// The path of a request target, without its query: origin form, or absolute form with an
/// http or https scheme. `None` for any other form, or a target with a fragment.
fn resource_path(target: &str) -> Option<&str> {
    if target.contains('#') {
        return None;
    }
    let path = if target.starts_with('/') {
        target
    } else {
        let (scheme, rest) = target.split_once("://")?;
        if !(scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("https")) {
            return None;
        }
        // RFC 3986 §6.2.3: an empty path in an http(s) URI is "/".
        rest.find(['/', '?']).map_or("/", |i| &rest[i..])
    };
    let path = path.split('?').next().unwrap_or_default();
    Some(if path.is_empty() { "/" } else { path })
}

/// RFC 9112 §3.2: a non-empty Host value whose port, if any, is digits up to 65535.
fn valid_host(host: &[u8]) -> bool {
    let port = if host.starts_with(b"[") {
        // An IP literal (RFC 3986 §3.2.2), then an optional port.
        let Some(end) = host.iter().position(|&b| b == b']') else {
            return false;
        };
        match &host[end + 1..] {
            [] => None,
            [b':', port @ ..] => Some(port),
            _ => return false,
        }
    } else {
        host.iter().position(|&b| b == b':').map(|i| &host[i + 1..])
    };
    // RFC 3986 §3.2.3: port = *DIGIT.
    let port_ok = port.is_none_or(|port| {
        let value = port.iter().try_fold(0u32, |n, &b| {
            b.is_ascii_digit()
                .then(|| (n * 10 + u32::from(b - b'0')).min(65536))
        });
        value.is_some_and(|v| v <= 65535)
    });
    !host.is_empty() && port_ok
}

/// The elements of comma-separated list headers, trimmed (RFC 9110 §5.6.1), empty ones kept.
pub fn tokens<'a>(values: &[&'a [u8]]) -> impl Iterator<Item = &'a [u8]> {
    values
        .iter()
        .flat_map(|&v| v.split(|&b| b == b',').map(trim))
}

/// RFC 9110 §5.6.2: token = 1*tchar.
fn is_token(t: &[u8]) -> bool {
    !t.is_empty()
        && t.iter()
            .all(|&b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// Strips optional whitespace (spaces and tabs) from both ends.
fn trim(v: &[u8]) -> &[u8] {
    let ows = |b: &u8| *b == b' ' || *b == b'\t';
    let start = v.iter().position(|b| !ows(b)).unwrap_or(v.len());
    let end = v.iter().rposition(|b| !ows(b)).map_or(start, |i| i + 1);
    &v[start..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(text: &str) -> RequestHead {
        let (head, _) = parse_request(text.as_bytes(), RequestLimits::default())
            .expect("parses")
            .expect("complete");
        head
    }

    const GOOD: &str = "GET /chat HTTP/1.1\r\nHost: h:1\r\nUpgrade: websocket\r\nConnection: keep-alive, Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: x, chat\r\n\r\n";

    fn config() -> ServerConfig {
        ServerConfig {
            resources: vec!["/chat".into()],
            subprotocols: vec!["chat".into()],
            forbidden_origins: vec!["http://evil.example".into()],
            ..ServerConfig::default()
        }
    }

    #[test]
    fn a_valid_request_gets_the_rfc_example_accept_and_the_subprotocol() {
        let accepted = check_request(&head(GOOD), &config()).expect("valid");
        // RFC 6455 §1.3's example.
        assert_eq!(accepted.accept(), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
        assert_eq!(accepted.subprotocol.as_deref(), Some("chat"));
        let response = String::from_utf8(accepted.response(&accepted.accept(), None)).unwrap();
        assert!(response.starts_with("HTTP/1.1 101 "));
        assert!(response.contains("Sec-WebSocket-Protocol: chat\r\n"));
    }

    #[test]
    fn each_rule_refuses_with_its_status_and_problem() {
        let cases = [
            (GOOD.replace("GET", "POST"), 405, RequestProblem::NotGet),
            (
                GOOD.replace("HTTP/1.1", "HTTP/1.0"),
                400,
                RequestProblem::OldHttp,
            ),
            (
                GOOD.replace("/chat", "/chat#x"),
                400,
                RequestProblem::BadTarget,
            ),
            (
                GOOD.replace("/chat", "/other"),
                404,
                RequestProblem::NotFound,
            ),
            (
                GOOD.replace("Host: h:1", "Host: h:99999"),
                400,
                RequestProblem::BadHost,
            ),
            (
                GOOD.replace("Upgrade: websocket\r\n", ""),
                426,
                RequestProblem::NoUpgrade,
            ),
            (
                GOOD.replace("Upgrade: websocket", "Upgrade: h2c"),
                400,
                RequestProblem::UpgradeNotWebsocket,
            ),
            (
                GOOD.replace("keep-alive, Upgrade", "keep-alive"),
                400,
                RequestProblem::ConnectionNotUpgrade,
            ),
            (
                GOOD.replace("Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n", ""),
                400,
                RequestProblem::MissingKey,
            ),
            (
                GOOD.replace("dGhlIHNhbXBsZSBub25jZQ==", "c2hvcnQ="),
                400,
                RequestProblem::BadKey,
            ),
            (
                GOOD.replace("Version: 13", "Version: 8"),
                426,
                RequestProblem::UnsupportedVersion,
            ),
            (
                GOOD.replace(
                    "Host: h:1\r\n",
                    "Host: h:1\r\nOrigin: http://EVIL.example\r\n",
                ),
                403,
                RequestProblem::ForbiddenOrigin,
            ),
            (
                GOOD.replace("x, chat", "x y"),
                400,
                RequestProblem::BadSubprotocol,
            ),
        ];
        for (text, status, problem) in cases {
            let refusal = check_request(&head(&text), &config()).expect_err(&text);
            assert_eq!(
                (refusal.status, refusal.problem),
                (status, problem),
                "{text}"
            );
        }
    }

    #[test]
    fn refusals_carry_the_headers_the_rfcs_require() {
        let no_upgrade = GOOD.replace("Upgrade: websocket\r\n", "");
        let r = check_request(&head(&no_upgrade), &config()).unwrap_err();
        let text = String::from_utf8(r.response()).unwrap();
        assert!(text.contains("Upgrade: websocket\r\n"), "{text}");
        assert!(text.contains("Connection: Upgrade, close\r\n"), "{text}");
        let post = GOOD.replace("GET", "POST");
        let r = check_request(&head(&post), &config()).unwrap_err();
        assert!(
            String::from_utf8(r.response())
                .unwrap()
                .contains("Allow: GET\r\n")
        );
    }

    #[test]
    fn the_request_head_is_bounded() {
        let limits = RequestLimits {
            max_bytes: 64,
            max_headers: 2,
        };
        let long = format!("GET / HTTP/1.1\r\nX: {}", "a".repeat(100));
        assert_eq!(
            parse_request(long.as_bytes(), limits),
            Err(RequestError::TooLarge(64))
        );
        assert_eq!(
            parse_request(b"GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n", limits),
            Err(RequestError::TooManyHeaders(2))
        );
        assert_eq!(parse_request(b"GET / HTTP/1.1\r\nA:", limits), Ok(None));
        assert_eq!(
            parse_request(b"\x00\x01garbage\r\n\r\n", limits),
            Err(RequestError::Malformed)
        );
    }
}
