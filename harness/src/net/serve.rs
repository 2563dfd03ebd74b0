//! Serving the reference peer ([`crate::peer::ReferenceServer`]) over a stream: the same thin
//! loop as the driver's, on the server side. Every wait is bounded.

use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::time::Instant;

use crate::peer::{PeerAction, ReferenceServer};
use crate::session::Closure;

/// The longest one write may block (a client that stops reading cannot hang the server).
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);

/// Serves one connection with `server` until it is done, and at most `limit` in all.
pub async fn serve_reference<S>(mut stream: S, mut server: ReferenceServer, limit: Duration)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let _ = tokio::time::timeout(limit, run(&mut stream, &mut server)).await;
}

async fn run<S>(stream: &mut S, server: &mut ReferenceServer)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        while let Some(bytes) = server.poll_transmit() {
            let write = stream.write_all(&bytes);
            if !matches!(tokio::time::timeout(WRITE_TIMEOUT, write).await, Ok(Ok(()))) {
                return;
            }
            server.on_sent(Instant::now().into_std(), &bytes);
        }
        if server.poll_action() == Some(PeerAction::Shutdown) {
            // RFC 6455 §7.1.1: the server closes TCP first; then what the client still sends
            // is read and dropped (bounded), so that what we sent is not lost to a reset.
            let _ = stream.flush().await;
            let _ = stream.shutdown().await;
            let linger = Instant::now() + server.linger();
            while let Ok(Ok(n)) = tokio::time::timeout_at(linger, stream.read(&mut buf)).await {
                if n == 0 {
                    break;
                }
            }
            return;
        }
        let deadline = server
            .poll_timeout()
            .map(Instant::from_std)
            .unwrap_or_else(|| Instant::now() + Duration::from_secs(3600));
        let read = tokio::time::timeout_at(deadline, stream.read(&mut buf)).await;
        let now = Instant::now().into_std();
        match read {
            Err(_) => server.handle_timeout(now),
            Ok(Ok(0)) => {
                let closure = Closure::PeerFin {
                    tls_close_notify: None,
                };
                server.handle_closed(now, closure);
                return;
            }
            Ok(Ok(n)) => server.handle_input(now, &buf[..n]),
            Ok(Err(_)) => {
                server.handle_closed(now, Closure::PeerReset);
                return;
            }
        }
    }
}
