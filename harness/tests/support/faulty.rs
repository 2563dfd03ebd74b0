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

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use wsconform::handshake::server::{
    self, RequestHead, RequestLimits, ServerConfig, check_request, parse_request,
};
use wsconform::message::MessageConfig;
use wsconform::session::{Inbound, Reader};
use wsconform::wire::{
    CloseCode, DecoderConfig, OpCode, RawFrame, Side, ViolationKind, parse_close_payload,
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

/// Reads and checks the opening handshake with proto's server side (RFC 6455 §4.2.1,
/// §4.2.2); on success answers 101 and returns the bytes received after the head (frame
/// data), otherwise answers with an HTTP error and closes.
async fn handshake(tcp: &mut TcpStream, faults: Faults) -> Option<Vec<u8>> {
    let mut head = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = tcp.read(&mut buf).await.ok()?;
        if n == 0 {
            return None;
        }
        head.extend_from_slice(&buf[..n]);
        let answer = match parse_request(&head, RequestLimits::default()) {
            Ok(None) => continue,
            Ok(Some((request, len))) => respond(&request, faults).map(|response| (response, len)),
            Err(e) => Err(e.refusal().response()),
        };
        return match answer {
            Ok((response, len)) => {
                tcp.write_all(&response).await.ok()?;
                Some(head[len..].to_vec())
            }
            Err(refusal) => {
                let _ = tcp.write_all(&refusal).await;
                linger(tcp).await;
                None
            }
        };
    }
}

/// The 101 response to a valid request, or the refusal, with the handshake faults applied.
fn respond(request: &RequestHead, faults: Faults) -> Result<Vec<u8>, Vec<u8>> {
    let mut config = ServerConfig {
        subprotocols: vec!["chat".into()],
        forbidden_origins: vec!["http://forbidden.example".into()],
        ..ServerConfig::default()
    };
    if faults.accept_version_8 {
        config.versions.push("8".into());
    }
    if faults.reject_keep_alive_upgrade
        && !matches!(request.values("Connection")[..], [v] if v.eq_ignore_ascii_case(b"upgrade"))
    {
        return Err(server::Refusal {
            status: 400,
            problem: server::RequestProblem::ConnectionNotUpgrade,
            headers: Vec::new(),
        }
        .response());
    }
    let mut checked = request.clone();
    let keyless = faults.accept_missing_key && request.values("Sec-WebSocket-Key").is_empty();
    if keyless {
        // Checked as if it had a key; answered with the accept of an empty key.
        checked.headers.push((
            "Sec-WebSocket-Key".into(),
            b"dGhlIHNhbXBsZSBub25jZQ==".to_vec(),
        ));
    }
    let mut accepted = check_request(&checked, &config).map_err(|r| r.response())?;
    if keyless {
        accepted.key.clear();
    }
    // We support no extensions, so we never send Sec-WebSocket-Extensions (§4.2.2 item 5.6).
    let mut accept = accepted.accept();
    if faults.wrong_accept {
        let wrong = if accept.starts_with('A') { "B" } else { "A" };
        accept.replace_range(..1, wrong);
    }
    Ok(accepted.response(&accept, None))
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
    let mut reader = Reader::new(
        DecoderConfig {
            side: Side::Server,
            ..DecoderConfig::default()
        },
        MessageConfig {
            validate_utf8: !faults.no_utf8_check,
            ..MessageConfig::default()
        },
    );
    if faults.accept_unmasked {
        // An unmasked frame's payload is as sent: delivered, it is handled as if masked.
        reader.excuse(|kind| *kind == ViolationKind::UnmaskedFrameFromClient);
    }
    reader.feed(&rest);
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        while let Some(inbound) = reader.poll() {
            match inbound {
                Inbound::Frame(_) => {}
                Inbound::Violation(v) => {
                    if v.frame.is_none() {
                        continue;
                    }
                    if faults.ignore_reserved_opcodes
                        && matches!(v.kind, ViolationKind::ReservedOpcode(_))
                    {
                        continue;
                    }
                    if faults.accept_unmasked && v.kind == ViolationKind::UnmaskedFrameFromClient {
                        continue;
                    }
                    // RFC 6455 §7.1.7: fail the connection with the code for this violation.
                    let code = v.kind.close_code();
                    close_with(&mut tcp, code.0.to_be_bytes().to_vec(), faults).await;
                    return;
                }
                Inbound::Message(message) => {
                    let echo = RawFrame::new(message.opcode, message.payload);
                    if send(&mut tcp, echo, faults).await.is_err() {
                        return;
                    }
                }
                Inbound::Control(frame) => match frame.opcode() {
                    OpCode::PING if !faults.no_pong => {
                        let pong = RawFrame::pong(frame.raw.payload);
                        if send(&mut tcp, pong, faults).await.is_err() {
                            return;
                        }
                    }
                    OpCode::CLOSE => {
                        // Answer with the same code (a valid one, the decoder checked).
                        let reply = match parse_close_payload(&frame.raw.payload) {
                            Ok(p) => p
                                .code
                                .map(|c| c.0.to_be_bytes().to_vec())
                                .unwrap_or_default(),
                            Err(_) => CloseCode::PROTOCOL_ERROR.0.to_be_bytes().to_vec(),
                        };
                        close_with(&mut tcp, reply, faults).await;
                        return;
                    }
                    _ => {}
                },
            }
        }
        match tcp.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => reader.feed(&buf[..n]),
        }
    }
}
