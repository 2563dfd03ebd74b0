//! Opening the transport: DNS, TCP with `TCP_NODELAY`, and TLS for `wss://`.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, DuplexStream, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

use super::target::Target;
use super::tls::{TlsError, TlsOptions};

/// Why the transport could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// The host name did not resolve.
    #[error("cannot resolve host {host:?}: {reason}")]
    Resolve {
        /// The host.
        host: String,
        /// The resolver's answer.
        reason: String,
    },
    /// The port refused the connection.
    #[error("connection refused by {0}")]
    Refused(String),
    /// The TCP connection failed otherwise.
    #[error("cannot connect to {addr}: {reason}")]
    Unreachable {
        /// The address.
        addr: String,
        /// The error.
        reason: String,
    },
    /// No TCP connection within the timeout.
    #[error("no TCP connection to {addr} within {timeout:?}")]
    Timeout {
        /// The address.
        addr: String,
        /// The timeout.
        timeout: Duration,
    },
    /// TLS could not be configured.
    #[error(transparent)]
    TlsSetup(#[from] TlsError),
    /// The TLS handshake failed (certificate, protocol, or the peer is not TLS).
    #[error("TLS handshake with {addr} failed: {reason}")]
    Tls {
        /// The address.
        addr: String,
        /// rustls's reason.
        reason: String,
    },
}

impl ConnectError {
    /// Whether this is a TLS failure rather than an unreachable target.
    pub fn is_tls(&self) -> bool {
        matches!(self, Self::Tls { .. } | Self::TlsSetup(_))
    }
}

/// A connected transport, plain or TLS.
#[derive(Debug)]
pub enum Stream {
    /// `ws://`.
    Plain(TcpStream),
    /// `wss://`.
    Tls(Box<TlsStream<TcpStream>>),
    /// `wss://`, accepted (`wsconform serve --tls-cert`).
    TlsServer(Box<tokio_rustls::server::TlsStream<TcpStream>>),
    /// A target in this process ([`super::InProcess`]).
    Memory(DuplexStream),
}

impl Stream {
    /// The TCP socket under it (none for an in-memory pipe).
    pub fn tcp(&self) -> Option<&TcpStream> {
        match self {
            Stream::Plain(tcp) => Some(tcp),
            Stream::Tls(tls) => Some(tls.get_ref().0),
            Stream::TlsServer(tls) => Some(tls.get_ref().0),
            Stream::Memory(_) => None,
        }
    }

    /// Writes `bytes` outside any session (a connection a case only holds open), within
    /// `timeout`. Whether every byte went out.
    pub async fn write_within(&mut self, bytes: &[u8], timeout: Duration) -> bool {
        use tokio::io::AsyncWriteExt;
        matches!(
            tokio::time::timeout(timeout, self.write_all(bytes)).await,
            Ok(Ok(()))
        )
    }
}

/// Connects to `target` within `timeout` (DNS, TCP and TLS together).
pub async fn connect(
    target: &Target,
    tls: &TlsOptions,
    timeout: Duration,
) -> Result<Stream, ConnectError> {
    if let Some(server) = &target.in_process {
        return Ok(Stream::Memory(server.connect()));
    }
    let tls_config = if target.secure {
        Some((tls.client_config()?, tls.server_name(&target.host)?))
    } else {
        None
    };
    let authority = target.authority();
    let deadline = tokio::time::Instant::now() + timeout;
    let timed_out = || ConnectError::Timeout {
        addr: authority.clone(),
        timeout,
    };
    let addrs: Vec<_> = tokio::time::timeout_at(deadline, tokio::net::lookup_host(&authority))
        .await
        .map_err(|_| timed_out())?
        .map_err(|e| ConnectError::Resolve {
            host: target.host.clone(),
            reason: e.to_string(),
        })?
        .collect();
    if addrs.is_empty() {
        return Err(ConnectError::Resolve {
            host: target.host.clone(),
            reason: "no addresses".into(),
        });
    }
    let mut last = None;
    let mut tcp = None;
    for addr in addrs {
        match tokio::time::timeout_at(deadline, TcpStream::connect(addr)).await {
            Err(_) => return Err(timed_out()),
            Ok(Ok(stream)) => {
                tcp = Some(stream);
                break;
            }
            Ok(Err(e)) if e.kind() == io::ErrorKind::ConnectionRefused => {
                last = Some(ConnectError::Refused(addr.to_string()));
            }
            Ok(Err(e)) => {
                last = Some(ConnectError::Unreachable {
                    addr: addr.to_string(),
                    reason: e.to_string(),
                });
            }
        }
    }
    let Some(tcp) = tcp else {
        return Err(last.unwrap_or_else(timed_out));
    };
    // Frames must leave as they are written, chop by chop.
    tcp.set_nodelay(true)
        .map_err(|e| ConnectError::Unreachable {
            addr: authority.clone(),
            reason: e.to_string(),
        })?;
    let Some((config, name)) = tls_config else {
        return Ok(Stream::Plain(tcp));
    };
    let connector = TlsConnector::from(config);
    match tokio::time::timeout_at(deadline, connector.connect(name, tcp)).await {
        Err(_) => Err(timed_out()),
        Ok(Ok(stream)) => Ok(Stream::Tls(Box::new(stream))),
        Ok(Err(e)) => Err(ConnectError::Tls {
            addr: authority,
            reason: e.to_string(),
        }),
    }
}

impl AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
            Stream::TlsServer(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
            Stream::Memory(s) => Pin::new(s).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
            Stream::TlsServer(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
            Stream::Memory(s) => Pin::new(s).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_flush(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
            Stream::TlsServer(s) => Pin::new(s.as_mut()).poll_flush(cx),
            Stream::Memory(s) => Pin::new(s).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
            Stream::TlsServer(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
            Stream::Memory(s) => Pin::new(s).poll_shutdown(cx),
        }
    }
}
