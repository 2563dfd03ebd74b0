//! A deliberately non-conforming echo server of our own, with switchable faults.
//!
//! Without faults it is a conforming RFC 6455 echo server built on wsconform's own sans-IO
//! codec (server role): its opening handshake is a strict §4.2.1/§4.2.2 server that serves
//! the resource `/` and the subprotocol `chat`, with no extensions, and refuses a bad request
//! with an HTTP error response; it fails the connection on every violation the decoder
//! reports (1002, or 1007 for bad UTF-8), answers pings, echoes messages, and answers a close
//! with the same code. Each fault breaks one rule, so a test can check that exactly the cases
//! enforcing that rule fail.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use wsconform::handshake::accept_key;
use wsconform::wire::{
    CloseCode, Decoder, DecoderConfig, Item, OpCode, RawFrame, Role, ViolationKind,
    parse_close_payload,
};

/// The faults that can be switched on.
#[derive(Debug, Clone, Copy, Default)]
pub struct Faults {
    /// Never answer a ping (RFC 6455 §5.5.2: a pong MUST be sent).
    pub no_pong: bool,
    /// Silently skip frames with reserved opcodes instead of failing (§5.2).
    pub ignore_reserved_opcodes: bool,
    /// Do not validate the UTF-8 of text messages; echo them as they are (§8.1).
    pub no_utf8_check: bool,
    /// Answer 101 to `Sec-WebSocket-Version: 8` (§4.2.2 /version/, §4.4: a version the
    /// server does not speak gets 426 and the versions it does). Other versions still get 426.
    pub accept_version_8: bool,
    /// Answer 101 when `Sec-WebSocket-Key` is absent, with the accept of an empty key
    /// (§4.2.1 item 5). A repeated or malformed key is still refused.
    pub accept_missing_key: bool,
    /// Compare the whole `Connection` value with `upgrade` instead of looking for the token,
    /// refusing `keep-alive, Upgrade` or several `Connection` headers (§4.2.1 item 4: the
    /// header "includes the token").
    pub reject_keep_alive_upgrade: bool,
    /// Accept unmasked frames from the client as if they were masked (§5.1: the server MUST
    /// close the connection upon receiving a frame that is not masked).
    pub accept_unmasked: bool,
    /// Mask every frame sent, with a random key (§5.1: a server MUST NOT mask).
    pub mask_own_frames: bool,
    /// Send a wrong `Sec-WebSocket-Accept` (§4.2.2 item 5.4, checked by the client in §4.1).
    pub wrong_accept: bool,
}

/// A running server; stops when dropped.
pub struct FaultyServer {
    addr: SocketAddr,
    task: JoinHandle<()>,
}

impl FaultyServer {
    pub async fn start(faults: Faults) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let task = tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let _ = tcp.set_nodelay(true);
                tokio::spawn(async move {
                    // Every connection is bounded in time, whatever the client does.
                    let _ =
                        tokio::time::timeout(Duration::from_secs(120), serve(tcp, faults)).await;
                });
            }
        });
        FaultyServer { addr, task }
    }

    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn url(&self) -> String {
        format!("ws://{}/", self.addr)
    }
}

impl Drop for FaultyServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The largest request head read, and the most header fields in it.
const MAX_HEAD: usize = 16 * 1024;
const MAX_HEADERS: usize = 100;

/// A refused handshake: the status code and extra header lines, each ending in CRLF.
type Refusal = (u16, &'static str);

const BAD_REQUEST: Refusal = (400, "");
const BAD_VERSION: Refusal = (426, "Sec-WebSocket-Version: 13\r\n");

/// Reads and checks the opening handshake; on success answers 101 and returns the bytes
/// received after the head (frame data), otherwise answers with an HTTP error and closes.
async fn handshake(tcp: &mut TcpStream, faults: Faults) -> Option<Vec<u8>> {
    let mut head = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = tcp.read(&mut buf).await.ok()?;
        if n == 0 {
            return None;
        }
        head.extend_from_slice(&buf[..n]);
        let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
        let mut request = httparse::Request::new(&mut headers);
        let answer = match request.parse(&head) {
            Ok(httparse::Status::Partial) if head.len() <= MAX_HEAD => continue,
            Ok(httparse::Status::Complete(len)) if len <= MAX_HEAD => {
                check_request(&request, faults).map(|response| (response, len))
            }
            // RFC 6585 §5: a head that is too large, or has too many fields.
            Ok(_) | Err(httparse::Error::TooManyHeaders) => Err((431, "")),
            // RFC 7230 §3: not an HTTP/1.x request head.
            Err(_) => Err(BAD_REQUEST),
        };
        return match answer {
            Ok((response, len)) => {
                tcp.write_all(response.as_bytes()).await.ok()?;
                Some(head[len..].to_vec())
            }
            Err(refusal) => {
                let _ = tcp.write_all(refusal_response(refusal).as_bytes()).await;
                linger(tcp).await;
                None
            }
        };
    }
}

/// The 101 response to a valid request, or why it is refused. The checks run in order.
fn check_request(request: &httparse::Request, faults: Faults) -> Result<String, Refusal> {
    let header = |name: &str| header_values(request, name);
    // RFC 6455 §4.2.1 item 1: "An HTTP/1.1 or higher GET request"; RFC 7231 §6.5.5: a 405
    // MUST carry an Allow header.
    if request.method != Some("GET") {
        return Err((405, "Allow: GET\r\n"));
    }
    if request.version != Some(1) {
        return Err(BAD_REQUEST);
    }
    // RFC 6455 §4.2.1 item 1: a resource name or an absolute http/https URI containing it;
    // §3: a fragment "MUST NOT be used". §4.2.2 /resource name/: "If the requested service is
    // not available, the server MUST send an appropriate HTTP error code (such as 404)".
    let path = resource_path(request.path.unwrap_or_default()).ok_or(BAD_REQUEST)?;
    if path != "/" {
        return Err((404, ""));
    }
    // RFC 6455 §4.2.1 item 2, RFC 7230 §5.4: exactly one Host header, with a valid value.
    match header("Host")[..] {
        [host] if valid_host(host) => {}
        _ => return Err(BAD_REQUEST),
    }
    // RFC 6455 §4.2.1 item 3: an Upgrade header containing "websocket", case-insensitively;
    // RFC 7230 §6.7: a 426 says which protocol to upgrade to.
    let upgrade = header("Upgrade");
    if upgrade.is_empty() {
        return Err((426, "Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"));
    }
    if !tokens(&upgrade).any(|t| t.eq_ignore_ascii_case(b"websocket")) {
        return Err(BAD_REQUEST);
    }
    // RFC 6455 §4.2.1 item 4: a Connection header that "includes the token Upgrade",
    // case-insensitively, in any of the Connection headers' lists (RFC 7230 §3.2.2).
    let connection = header("Connection");
    let upgrade_token = if faults.reject_keep_alive_upgrade {
        matches!(connection[..], [value] if value.eq_ignore_ascii_case(b"upgrade"))
    } else {
        tokens(&connection).any(|t| t.eq_ignore_ascii_case(b"upgrade"))
    };
    if !upgrade_token {
        return Err(BAD_REQUEST);
    }
    // RFC 6455 §4.2.1 item 5: one Sec-WebSocket-Key, base64 that decodes to 16 bytes.
    let key: &[u8] = match header("Sec-WebSocket-Key")[..] {
        [] if faults.accept_missing_key => b"",
        [key] if STANDARD.decode(key).is_ok_and(|k| k.len() == 16) => key,
        _ => return Err(BAD_REQUEST),
    };
    // RFC 6455 §4.2.1 item 6, §4.2.2 /version/ and §4.4: version 13, or 426 and the
    // versions the server speaks.
    match header("Sec-WebSocket-Version")[..] {
        [b"13"] => {}
        [b"8"] if faults.accept_version_8 => {}
        _ => return Err(BAD_VERSION),
    }
    // RFC 6455 §4.2.2 /origin/: "If the server does not wish to accept this connection, it
    // MUST return an appropriate HTTP error code (e.g., 403 Forbidden)".
    let forbidden = |o: &&[u8]| o.eq_ignore_ascii_case(b"http://forbidden.example");
    if header("Origin").iter().any(forbidden) {
        return Err((403, ""));
    }
    // RFC 6455 §4.1 item 10 and §11.3.4: the offered subprotocols are a list of tokens
    // (RFC 7230 §3.2.6); §4.2.2 /subprotocol/: the server selects one of them, or none.
    let offered: Vec<&[u8]> = tokens(&header("Sec-WebSocket-Protocol")).collect();
    if !offered.iter().all(|t| is_token(t)) {
        return Err(BAD_REQUEST);
    }
    let chat = offered.contains(&&b"chat"[..]);
    // RFC 6455 §4.2.2 item 5: the 101 response. We support no extensions, so we never send
    // Sec-WebSocket-Extensions (item 5.6), whatever the client offered.
    let mut accept = accept_key(key);
    if faults.wrong_accept {
        let wrong = if accept.starts_with('A') { "B" } else { "A" };
        accept.replace_range(..1, wrong);
    }
    let protocol = if chat {
        "Sec-WebSocket-Protocol: chat\r\n"
    } else {
        ""
    };
    Ok(format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n{protocol}\r\n"
    ))
}

/// The values of every header called `name` (ignoring case), trimmed.
fn header_values<'b>(request: &httparse::Request<'_, 'b>, name: &str) -> Vec<&'b [u8]> {
    let named = request
        .headers
        .iter()
        .filter(|h| h.name.eq_ignore_ascii_case(name));
    named.map(|h| trim(h.value)).collect()
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

/// RFC 7230 §5.4: a non-empty Host value whose port, if any, is digits up to 65535.
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

/// The elements of comma-separated list headers, trimmed (RFC 7230 §7), empty ones kept.
fn tokens<'a>(values: &[&'a [u8]]) -> impl Iterator<Item = &'a [u8]> {
    values
        .iter()
        .flat_map(|&v| v.split(|&b| b == b',').map(trim))
}

/// RFC 7230 §3.2.6: token = 1*tchar.
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

/// An HTTP error response that closes the connection. RFC 7230 §6.7: a response carrying
/// Upgrade also lists "upgrade" in Connection.
fn refusal_response((code, extra): Refusal) -> String {
    let reason = match code {
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        426 => "Upgrade Required",
        431 => "Request Header Fields Too Large",
        _ => "Error",
    };
    let connection = if extra.starts_with("Upgrade:") {
        "Upgrade, close"
    } else {
        "close"
    };
    format!(
        "HTTP/1.1 {code} {reason}\r\n{extra}Content-Length: 0\r\nConnection: {connection}\r\n\r\n"
    )
}

/// Sends a frame, masked if the fault says so.
async fn send(tcp: &mut TcpStream, frame: RawFrame, faults: Faults) -> std::io::Result<()> {
    // RFC 6455 §5.1: "A server MUST NOT mask any frames that it sends to the client."
    let frame = if faults.mask_own_frames {
        frame.masked_random()
    } else {
        frame
    };
    tcp.write_all(&frame.to_bytes()).await
}

/// Sends a close, closes our side, and lets the client's reply drain (bounded).
async fn close_with(tcp: &mut TcpStream, payload: Vec<u8>, faults: Faults) {
    let _ = send(tcp, RawFrame::new(OpCode::CLOSE, payload), faults).await;
    linger(tcp).await;
}

/// Closes our side and drains what the client still sends (bounded), so that what we sent
/// is not lost to a reset.
async fn linger(tcp: &mut TcpStream) {
    let _ = tcp.shutdown().await;
    let mut buf = [0u8; 4096];
    let _ = tokio::time::timeout(Duration::from_secs(2), async {
        while let Ok(n) = tcp.read(&mut buf).await {
            if n == 0 {
                break;
            }
        }
    })
    .await;
}

async fn serve(mut tcp: TcpStream, faults: Faults) {
    let Some(rest) = handshake(&mut tcp, faults).await else {
        return;
    };
    let mut decoder = Decoder::new(DecoderConfig {
        role: Role::Server,
        validate_utf8: !faults.no_utf8_check,
        ..DecoderConfig::default()
    });
    decoder.feed(&rest);
    let mut message: Option<(OpCode, Vec<u8>)> = None;
    let mut skip_frame = None;
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        while let Some(item) = decoder.poll() {
            match item {
                Item::Violation(v) => {
                    if v.frame.is_none() {
                        continue;
                    }
                    if faults.ignore_reserved_opcodes
                        && matches!(v.kind, ViolationKind::ReservedOpcode(_))
                    {
                        skip_frame = v.frame;
                        continue;
                    }
                    // The decoder still delivers an unmasked frame (its payload as sent), so
                    // passing over the violation handles the frame as if it were masked.
                    if faults.accept_unmasked && v.kind == ViolationKind::UnmaskedFrameFromClient {
                        continue;
                    }
                    // RFC 6455 §7.1.7: fail the connection with the code for this violation.
                    let code = v.kind.close_code();
                    close_with(&mut tcp, code.0.to_be_bytes().to_vec(), faults).await;
                    return;
                }
                Item::Frame(frame) => {
                    if skip_frame == Some(frame.offset) {
                        skip_frame = None;
                        continue;
                    }
                    let fin = frame.raw.fin;
                    let opcode = frame.opcode();
                    let payload = frame.raw.payload;
                    match opcode {
                        OpCode::TEXT | OpCode::BINARY => message = Some((opcode, payload)),
                        OpCode::CONTINUATION => {
                            if let Some((_, data)) = message.as_mut() {
                                data.extend_from_slice(&payload);
                            }
                        }
                        OpCode::PING => {
                            if !faults.no_pong
                                && send(&mut tcp, RawFrame::pong(payload), faults)
                                    .await
                                    .is_err()
                            {
                                return;
                            }
                            continue;
                        }
                        OpCode::CLOSE => {
                            // Answer with the same code (a valid one, the decoder checked).
                            let reply = match parse_close_payload(&payload) {
                                Ok(p) => p
                                    .code
                                    .map(|c| c.0.to_be_bytes().to_vec())
                                    .unwrap_or_default(),
                                Err(_) => CloseCode::PROTOCOL_ERROR.0.to_be_bytes().to_vec(),
                            };
                            close_with(&mut tcp, reply, faults).await;
                            return;
                        }
                        _ => continue,
                    }
                    if fin
                        && let Some((op, data)) = message.take()
                        && send(&mut tcp, RawFrame::new(op, data), faults)
                            .await
                            .is_err()
                    {
                        return;
                    }
                }
            }
        }
        match tcp.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => decoder.feed(&buf[..n]),
        }
    }
}
