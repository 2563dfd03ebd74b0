//! The reference peer (`wsconform::peer`, a strict RFC 6455 echo server built on proto's
//! server session) with switchable faults, served over loopback TCP or in process.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use wsconform::net::{InProcess, Target, serve_reference};
pub use wsconform::peer::Faults;
use wsconform::peer::ReferenceServer;

/// Every connection is bounded in time, whatever the client does.
const CONNECTION_LIMIT: Duration = Duration::from_secs(120);

/// A running server on 127.0.0.1; stops when dropped.
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
                let server = ReferenceServer::new(faults, Instant::now());
                tokio::spawn(serve_reference(tcp, server, CONNECTION_LIMIT));
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

/// The reference server with `faults`, served in this process over in-memory pipes (call
/// from inside a tokio runtime: each connection is a task).
pub fn in_process(faults: Faults) -> Target {
    let server = InProcess::new(move |stream| {
        let server = ReferenceServer::new(faults, Instant::now());
        tokio::spawn(serve_reference(stream, server, CONNECTION_LIMIT));
    });
    Target::in_process("ws://reference.invalid/", server).expect("url")
}
