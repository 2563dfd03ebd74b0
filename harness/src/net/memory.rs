//! Targets served inside this process, over in-memory pipes instead of sockets: the
//! reference peer in tests, and (next) the live fuzzer's model. Everything above the stream —
//! the driver, the session, the machine, the pool — runs unchanged.

use std::fmt;
use std::sync::Arc;

use tokio::io::DuplexStream;

/// How many bytes a pipe holds before a writer waits (as a socket buffer would).
const PIPE_BYTES: usize = 256 * 1024;

/// A server in this process: it is handed the server end of each new connection.
#[derive(Clone)]
pub struct InProcess(Arc<dyn Fn(DuplexStream) + Send + Sync>);

impl InProcess {
    /// A target whose connections go to `accept` (which spawns whatever serves them).
    pub fn new(accept: impl Fn(DuplexStream) + Send + Sync + 'static) -> Self {
        Self(Arc::new(accept))
    }

    /// Opens a connection: the client end, with the server end handed to the server.
    pub(crate) fn connect(&self) -> DuplexStream {
        let (client, server) = tokio::io::duplex(PIPE_BYTES);
        (self.0)(server);
        client
    }
}

impl fmt::Debug for InProcess {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("InProcess")
    }
}

impl PartialEq for InProcess {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for InProcess {}
