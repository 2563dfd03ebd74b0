//! The driver loop around a [`Session`]: the quinn `ConnectionDriver` shape.

use std::io;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::Instant;

use super::connect::Stream;
use crate::session::{Closure, EventLog, Session, SessionEvent};

/// The most written at once without chops, between looks at what the peer sent.
const IO_CHUNK: usize = 64 * 1024;

/// Events a write may read ahead before it stops reading.
const MAX_READ_AHEAD: usize = 64;

/// The size of one read. Reads never grow from a peer-declared length.
const READ_CHUNK: usize = 64 * 1024;

/// How bytes are put on the wire.
#[derive(Debug, Clone, Copy)]
pub struct WriteShape {
    /// Write at most this many bytes at a time (`None`: each transmit in one write).
    pub chop: Option<usize>,
    /// Pause between two chops of the same transmit.
    pub delay: Duration,
    /// The longest a single write may block (a peer that stops reading cannot hang us).
    pub write_timeout: Duration,
}

impl Default for WriteShape {
    fn default() -> Self {
        Self {
            chop: None,
            delay: Duration::ZERO,
            write_timeout: Duration::from_secs(10),
        }
    }
}

/// The result of one bounded read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadOutcome {
    /// Bytes were read and handed to the session.
    Data(usize),
    /// The transport ended.
    Closed(Closure),
    /// The deadline passed first.
    Timeout,
}

/// Moves bytes between a [`Stream`] and a [`Session`].
#[derive(Debug)]
pub struct Driver {
    stream: Option<Stream>,
    session: Session,
    shape: WriteShape,
    buf: Vec<u8>,
    read_while_writing: bool,
}

impl Driver {
    /// A driver for `session` over `stream`.
    pub fn new(stream: Stream, session: Session, shape: WriteShape) -> Self {
        Self {
            stream: Some(stream),
            session,
            shape,
            buf: vec![0; READ_CHUNK],
            read_while_writing: true,
        }
    }

    /// The session.
    pub fn session(&self) -> &Session {
        &self.session
    }

    /// The session, to queue frames.
    pub fn session_mut(&mut self) -> &mut Session {
        &mut self.session
    }

    /// Changes how bytes are written from now on.
    pub fn set_shape(&mut self, shape: WriteShape) {
        self.shape = shape;
    }

    /// Whether the transport is still there.
    pub fn is_connected(&self) -> bool {
        self.stream.is_some()
    }

    /// Consumes the driver, keeping the log.
    pub fn into_log(self) -> EventLog {
        self.session.into_log()
    }

    /// Writes everything the session has queued, chop by chop. On a write failure the
    /// transport is gone; the closure is recorded and returned.
    pub async fn flush(&mut self) -> Result<(), Closure> {
        while let Some(bytes) = self.session.poll_transmit() {
            // Without chops, a large write still goes in pieces of IO_CHUNK (the peer sees one
            // stream either way), so that what the peer sends meanwhile is read.
            let (chop, every) = match self.shape.chop {
                Some(n) => (n.max(1), 16),
                None => (IO_CHUNK, 1),
            };
            let mut chunks = bytes.chunks(chop).peekable();
            let mut unread = 0usize;
            while let Some(chunk) = chunks.next() {
                self.write_chunk(chunk).await?;
                unread += 1;
                if chunks.peek().is_some() {
                    if !self.shape.delay.is_zero() {
                        tokio::time::sleep(self.shape.delay).await;
                    }
                    // Take in what the peer sent meanwhile (every 16 chops: a syscall each).
                    // A peer that answers (an echo, or a close refusing what we send) and then
                    // closes while our bytes still arrive makes its kernel send a RST, and a
                    // RST discards whatever we had not read yet.
                    if unread >= every && (self.shape.chop.is_some() || self.reads_ahead()) {
                        unread = 0;
                        self.read_ready();
                    }
                }
            }
        }
        Ok(())
    }

    async fn write_chunk(&mut self, chunk: &[u8]) -> Result<(), Closure> {
        let plain = matches!(self.stream, Some(Stream::Plain(_)));
        let result = if plain {
            tokio::time::timeout(self.shape.write_timeout, self.write_reading(chunk)).await
        } else {
            let Some(stream) = self.stream.as_mut() else {
                return Err(Closure::TransportError);
            };
            let write = async {
                stream.write_all(chunk).await?;
                stream.flush().await
            };
            tokio::time::timeout(self.shape.write_timeout, write).await
        };
        match result {
            Ok(Ok(())) => {
                // (Plain TCP records each write as it goes.)
                if !plain {
                    self.session.on_sent(Instant::now().into_std(), chunk);
                }
                Ok(())
            }
            Ok(Err(e)) => {
                // The peer is gone, but what it sent before going may still be unread.
                while self.stream.is_some() && self.read_ready() {}
                let closure = closure_of(&e);
                self.ended(closure);
                Err(closure)
            }
            Err(_) => {
                self.session.note(
                    Instant::now().into_std(),
                    format!("write blocked for {:?}; aborting", self.shape.write_timeout),
                );
                self.abort();
                Err(Closure::HarnessAbort)
            }
        }
    }

    /// Writes `chunk` to plain TCP, reading whatever the peer sends while the write waits:
    /// a peer that refuses what we send (a close 1009) and hangs up would otherwise have its
    /// close discarded by the RST our next bytes provoke.
    async fn write_reading(&mut self, chunk: &[u8]) -> io::Result<()> {
        enum Ready {
            Read,
            Write,
        }
        let mut pos = 0;
        while pos < chunk.len() {
            let Some(Stream::Plain(tcp)) = self.stream.as_ref() else {
                return Err(io::ErrorKind::NotConnected.into());
            };
            let read = self.reads_ahead();
            let ready = tokio::select! {
                r = tcp.readable(), if read => r.map(|()| Ready::Read),
                w = tcp.writable() => w.map(|()| Ready::Write),
            }?;
            match ready {
                Ready::Read => {
                    self.read_ready();
                }
                Ready::Write => match tcp.try_write(&chunk[pos..]) {
                    Ok(n) => {
                        // Recorded as written, so that the trace has what went out even if
                        // the peer hangs up before the rest.
                        self.session
                            .on_sent(Instant::now().into_std(), &chunk[pos..pos + n]);
                        pos += n;
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                    Err(e) => return Err(e),
                },
            }
        }
        Ok(())
    }

    /// Whether a write may read what the peer sends meanwhile: not during a pause, and not
    /// past a bound of events nobody has taken yet (a peer that floods while we write is
    /// then held back by the kernel's buffers, not by our memory).
    fn reads_ahead(&self) -> bool {
        self.read_while_writing && self.session.pending_events() < MAX_READ_AHEAD
    }

    /// Whether writes also read what the peer sends meanwhile (not while a case pauses its
    /// reading: back-pressure is the point there).
    pub fn set_read_while_writing(&mut self, on: bool) {
        self.read_while_writing = on;
    }

    /// Reads whatever is already waiting, without blocking (plain TCP only). Returns whether
    /// bytes were read.
    fn read_ready(&mut self) -> bool {
        let Some(Stream::Plain(tcp)) = self.stream.as_ref() else {
            return false;
        };
        match tcp.try_read(&mut self.buf) {
            Ok(0) => {
                self.ended(Closure::PeerFin {
                    tls_close_notify: None,
                });
                false
            }
            Ok(n) => {
                let now = Instant::now().into_std();
                self.session.handle_input(now, &self.buf[..n]);
                true
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => false,
            Err(e) => {
                self.ended(closure_of(&e));
                false
            }
        }
    }

    /// One read, bounded by `deadline`.
    pub async fn read(&mut self, deadline: Instant) -> ReadOutcome {
        let Some(stream) = self.stream.as_mut() else {
            return ReadOutcome::Closed(Closure::TransportError);
        };
        let secure = matches!(stream, Stream::Tls(_) | Stream::TlsServer(_));
        match tokio::time::timeout_at(deadline, stream.read(&mut self.buf)).await {
            Err(_) => ReadOutcome::Timeout,
            Ok(Ok(0)) => {
                let closure = Closure::PeerFin {
                    tls_close_notify: secure.then_some(true),
                };
                self.ended(closure);
                ReadOutcome::Closed(closure)
            }
            Ok(Ok(n)) => {
                let now = Instant::now().into_std();
                self.session.handle_input(now, &self.buf[..n]);
                ReadOutcome::Data(n)
            }
            Ok(Err(e)) => {
                let closure = if secure && e.kind() == io::ErrorKind::UnexpectedEof {
                    Closure::PeerFin {
                        tls_close_notify: Some(false),
                    }
                } else {
                    closure_of(&e)
                };
                self.ended(closure);
                ReadOutcome::Closed(closure)
            }
        }
    }

    /// The next session event, reading as needed until `deadline`. `None` when the deadline
    /// passed or the transport is gone and every event was taken.
    pub async fn next_event(&mut self, deadline: Instant) -> Option<SessionEvent> {
        loop {
            if let Some(event) = self.session.poll_event() {
                return Some(event);
            }
            self.stream.as_ref()?;
            // A peer that never stops sending must not keep us past the deadline: a read that
            // always has data ready would otherwise never let the timer fire.
            if Instant::now() >= deadline {
                return None;
            }
            if let Some(t) = self.session.poll_timeout() {
                let t = Instant::from_std(t);
                if Instant::now() >= t {
                    self.session.handle_timeout(Instant::now().into_std());
                    continue;
                }
                if t < deadline {
                    if self.read(t).await == ReadOutcome::Timeout {
                        self.session.handle_timeout(Instant::now().into_std());
                    }
                    continue;
                }
            }
            if self.read(deadline).await == ReadOutcome::Timeout {
                return self.session.poll_event();
            }
        }
    }

    /// Closes our side in order (TCP FIN; TLS close_notify first).
    pub async fn shutdown(&mut self) {
        if let Some(stream) = self.stream.as_mut() {
            let _ = tokio::time::timeout(self.shape.write_timeout, stream.shutdown()).await;
            self.session
                .note(Instant::now().into_std(), Closure::HarnessFin.to_string());
        }
    }

    /// Aborts the connection with a TCP RST (SO_LINGER 0, then close).
    pub fn abort(&mut self) {
        if let Some(stream) = self.stream.take() {
            if let Some(tcp) = stream.tcp() {
                let _ = tcp.set_zero_linger();
            }
            drop(stream);
            let now = Instant::now().into_std();
            self.session.handle_closed(now, Closure::HarnessAbort);
        }
    }

    fn ended(&mut self, closure: Closure) {
        if self.stream.take().is_some() {
            self.session
                .handle_closed(Instant::now().into_std(), closure);
        }
    }
}

/// Which closure an I/O error means.
fn closure_of(e: &io::Error) -> Closure {
    match e.kind() {
        io::ErrorKind::ConnectionReset
        | io::ErrorKind::ConnectionAborted
        | io::ErrorKind::BrokenPipe => Closure::PeerReset,
        _ => Closure::TransportError,
    }
}
