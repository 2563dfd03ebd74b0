//! The embedded reference target: a tokio-tungstenite echo server on 127.0.0.1.
//!
//! `wsconform run` with no URL tests it, so the demo needs nothing else, and the tests use it
//! as a known-good peer. It echoes every text and binary message, answers pings (tungstenite
//! does that itself) and completes the closing handshake.

use std::io;
use std::net::SocketAddr;

use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

/// A running echo server. Dropping it stops the accept loop.
#[derive(Debug)]
pub struct EchoServer {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
}

impl EchoServer {
    /// Starts the server on a free port of 127.0.0.1, on the current tokio runtime.
    pub async fn start() -> io::Result<Self> {
        Self::start_on(0).await
    }

    /// Starts the server on `port` of 127.0.0.1 (0: a free port).
    pub async fn start_on(port: u16) -> io::Result<Self> {
        let listener = TcpListener::bind(("127.0.0.1", port)).await?;
        let addr = listener.local_addr()?;
        let (stop, mut stopped) = oneshot::channel();
        let task = tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = &mut stopped => break,
                    accepted = listener.accept() => {
                        if let Ok((tcp, _)) = accepted {
                            let _ = tcp.set_nodelay(true);
                            tokio::spawn(serve_connection(tcp));
                        }
                    }
                }
            }
        });
        Ok(Self {
            addr,
            stop: Some(stop),
            task,
        })
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Its `ws://` URL.
    pub fn url(&self) -> String {
        format!("ws://{}/", self.addr)
    }
}

impl Drop for EchoServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.task.abort();
    }
}

/// The tungstenite settings: its defaults, which take Autobahn's 16 MiB messages.
fn config() -> WebSocketConfig {
    WebSocketConfig::default()
}

/// Serves one WebSocket connection over any transport (plain TCP, or TLS in the tests):
/// accepts the handshake and echoes until the peer closes.
pub async fn serve_connection<S>(stream: S)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let Ok(mut ws) = tokio_tungstenite::accept_async_with_config(stream, Some(config())).await
    else {
        return;
    };
    while let Some(Ok(message)) = ws.next().await {
        let echo = match message {
            Message::Text(_) | Message::Binary(_) => message,
            // tungstenite queues the pong and the close reply itself; they go out on the
            // next read or flush.
            Message::Ping(_) | Message::Pong(_) | Message::Close(_) | Message::Frame(_) => {
                continue;
            }
        };
        if ws.send(echo).await.is_err() {
            break;
        }
    }
}
