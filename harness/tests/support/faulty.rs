//! A deliberately non-conforming echo server of our own, with switchable faults.
//!
//! Without faults it is a conforming RFC 6455 echo server built on wsconform's own sans-IO
//! codec (server role): it fails the connection on every violation the decoder reports (1002,
//! or 1007 for bad UTF-8), answers pings, echoes messages, and answers a close with the same
//! code. Each fault breaks one rule, so a test can check that exactly the cases enforcing that
//! rule fail.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::time::Duration;

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

    pub fn url(&self) -> String {
        format!("ws://{}/", self.addr)
    }
}

impl Drop for FaultyServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn handshake(tcp: &mut TcpStream) -> Option<Vec<u8>> {
    let mut head = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = tcp.read(&mut buf).await.ok()?;
        if n == 0 || head.len() > 16 * 1024 {
            return None;
        }
        head.extend_from_slice(&buf[..n]);
        if let Some(end) = head.windows(4).position(|w| w == b"\r\n\r\n") {
            let text = String::from_utf8_lossy(&head[..end]).into_owned();
            let key = text.lines().find_map(|l| {
                let (name, value) = l.split_once(':')?;
                name.trim()
                    .eq_ignore_ascii_case("sec-websocket-key")
                    .then(|| value.trim().to_owned())
            })?;
            let response = format!(
                "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {}\r\n\r\n",
                accept_key(key.as_bytes())
            );
            tcp.write_all(response.as_bytes()).await.ok()?;
            return Some(head[end + 4..].to_vec());
        }
    }
}

/// Sends a close, closes our side, and lets the client's reply drain (bounded).
async fn close_with(tcp: &mut TcpStream, payload: Vec<u8>) {
    let _ = tcp
        .write_all(&RawFrame::new(OpCode::CLOSE, payload).to_bytes())
        .await;
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
    let Some(rest) = handshake(&mut tcp).await else {
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
                    // RFC 6455 §7.1.7: fail the connection with the code for this violation.
                    let code = v.kind.close_code();
                    close_with(&mut tcp, code.0.to_be_bytes().to_vec()).await;
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
                                && tcp
                                    .write_all(&RawFrame::pong(payload).to_bytes())
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
                            close_with(&mut tcp, reply).await;
                            return;
                        }
                        _ => continue,
                    }
                    if fin
                        && let Some((op, data)) = message.take()
                        && tcp
                            .write_all(&RawFrame::new(op, data).to_bytes())
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
