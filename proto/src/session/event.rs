//! The timestamped event log: every byte sent and received, and what the decoder made of it.

use std::fmt;
use std::time::Duration;

use crate::handshake::Response;
use crate::handshake::server::RequestHead;
use crate::wire::{Frame, LengthForm, OpCode, Rsv, Violation};

/// How many bytes of each read or write the log keeps verbatim; longer ones keep their head
/// and their length, so a 16 MiB exchange does not double the memory it takes.
pub const TRACE_BYTES: usize = 4096;

/// Received payloads longer than this carry a digest in their frame record (reports show
/// 64 bytes of a payload).
pub const DIGEST_OVER: usize = 64;

/// Which way bytes went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// From the harness to the peer.
    Sent,
    /// From the peer to the harness.
    Received,
}

/// How the transport ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Closure {
    /// The peer closed its side in order (TCP FIN; for TLS, with or without close_notify).
    PeerFin {
        /// For TLS: whether the peer sent close_notify first.
        tls_close_notify: Option<bool>,
    },
    /// The peer reset the connection (TCP RST).
    PeerReset,
    /// The harness closed its side in order (FIN).
    HarnessFin,
    /// The harness aborted the connection (RST), for example when a wait ran out.
    HarnessAbort,
    /// A transport error other than a reset.
    TransportError,
}

impl Closure {
    /// Every closure, for the table of codes.
    pub const ALL: [Closure; 6] = [
        Closure::PeerFin {
            tls_close_notify: None,
        },
        Closure::PeerFin {
            tls_close_notify: Some(false),
        },
        Closure::PeerReset,
        Closure::HarnessFin,
        Closure::HarnessAbort,
        Closure::TransportError,
    ];

    /// The stable code (`close.transport_code` in reports).
    pub fn code(self) -> &'static str {
        match self {
            Closure::PeerFin {
                tls_close_notify: Some(false),
            } => "peer-fin-no-close-notify",
            Closure::PeerFin { .. } => "peer-fin",
            Closure::PeerReset => "peer-reset",
            Closure::HarnessFin => "harness-fin",
            Closure::HarnessAbort => "harness-abort",
            Closure::TransportError => "transport-error",
        }
    }
}

impl fmt::Display for Closure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Closure::PeerFin {
                tls_close_notify: Some(false),
            } => "peer closed TCP (FIN, no TLS close_notify)",
            Closure::PeerFin { .. } => "peer closed TCP (FIN)",
            Closure::PeerReset => "peer reset TCP (RST)",
            Closure::HarnessFin => "harness closed TCP (FIN)",
            Closure::HarnessAbort => "harness aborted TCP (RST)",
            Closure::TransportError => "transport error",
        })
    }
}

/// What happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventKind {
    /// Bytes went over the wire: the first [`TRACE_BYTES`] of them, and how many there were.
    Bytes {
        /// Which way.
        direction: Direction,
        /// The first bytes.
        head: Vec<u8>,
        /// The full count.
        len: usize,
    },
    /// The handshake response was read (client side).
    HandshakeResponse(Response),
    /// The handshake request was read (server side).
    HandshakeRequest(RequestHead),
    /// A frame went over the wire (decoded from the bytes, both ways).
    Frame {
        /// Which way.
        direction: Direction,
        /// What it was.
        frame: FrameRecord,
    },
    /// The peer broke a rule.
    Violation(Violation),
    /// The transport ended.
    Closed(Closure),
    /// A free-form note from the driver or the case.
    Note(String),
}

/// A frame as the log keeps it: every header field, and the head of the payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrameRecord {
    /// Stream offset of the frame's first byte (in its direction, after the handshake).
    pub offset: u64,
    /// FIN.
    pub fin: bool,
    /// The reserved bits.
    pub rsv: Rsv,
    /// The opcode.
    pub opcode: OpCode,
    /// The masking key.
    pub mask: Option<[u8; 4]>,
    /// The length form seen.
    pub length_form: LengthForm,
    /// The payload length.
    pub len: usize,
    /// The first [`TRACE_BYTES`] of the unmasked payload.
    pub head: Vec<u8>,
    /// For a received frame longer than its head: the XXH3-64 of the whole unmasked payload,
    /// so what the server sent is identified even when only its head is kept. (A sent
    /// frame's payload is defined by its case.)
    pub digest: Option<u64>,
}

impl FrameRecord {
    /// The record of `frame`.
    pub fn of(frame: &Frame) -> Self {
        let raw = &frame.raw;
        Self {
            offset: frame.offset,
            fin: raw.fin,
            rsv: raw.rsv,
            opcode: raw.opcode,
            mask: raw.mask,
            length_form: raw.length_form,
            len: raw.payload.len(),
            head: raw.payload[..raw.payload.len().min(TRACE_BYTES)].to_vec(),
            digest: (raw.payload.len() > DIGEST_OVER)
                .then(|| xxhash_rust::xxh3::xxh3_64(&raw.payload)),
        }
    }
}

/// One entry of the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// Time since the session started.
    pub at: Duration,
    /// What happened.
    pub kind: EventKind,
}

/// The most events a log keeps. A peer that floods small frames would otherwise grow the log
/// without bound; past the cap, bytes and frames are only counted. Closures and notes are
/// always kept, so the end of a session is never lost.
pub const MAX_EVENTS: usize = 4_000;

/// The bytes of heads (of reads, writes and frames) a log keeps in full; past it, each head
/// keeps [`DIGEST_OVER`] bytes (what a report shows), so that a long exchange (1000 large
/// messages) costs kilobytes, not megabytes.
pub(crate) const HEAD_BUDGET: usize = 256 << 10;

/// The log of one session, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventLog {
    events: Vec<Event>,
    dropped: usize,
    /// Head bytes kept so far.
    kept: usize,
}

impl EventLog {
    /// Appends an event (see [`MAX_EVENTS`]).
    pub fn push(&mut self, at: Duration, mut kind: EventKind) {
        let always = matches!(kind, EventKind::Closed(_) | EventKind::Note(_));
        if let EventKind::Bytes { head, .. }
        | EventKind::Frame {
            frame: FrameRecord { head, .. },
            ..
        } = &mut kind
        {
            if self.kept >= HEAD_BUDGET {
                head.truncate(DIGEST_OVER);
                head.shrink_to_fit();
            }
            self.kept += head.len();
        }
        if self.events.len() < MAX_EVENTS || always {
            self.events.push(Event { at, kind });
        } else {
            self.dropped += 1;
        }
    }

    /// Events left out because the log was full.
    pub fn dropped(&self) -> usize {
        self.dropped
    }

    /// Records bytes, keeping the head.
    pub fn bytes(&mut self, at: Duration, direction: Direction, bytes: &[u8]) {
        if self.events.len() >= MAX_EVENTS {
            self.dropped += 1;
            return;
        }
        let head = bytes[..bytes.len().min(TRACE_BYTES)].to_vec();
        self.push(
            at,
            EventKind::Bytes {
                direction,
                head,
                len: bytes.len(),
            },
        );
    }

    /// The events.
    pub fn events(&self) -> &[Event] {
        &self.events
    }

    /// The frames kept that went `direction`, in order.
    pub fn frames(&self, direction: Direction) -> impl Iterator<Item = &FrameRecord> + '_ {
        self.events.iter().filter_map(move |e| match &e.kind {
            EventKind::Frame {
                direction: d,
                frame,
            } if *d == direction => Some(frame),
            _ => None,
        })
    }

    /// Total bytes in one direction.
    pub fn total(&self, which: Direction) -> usize {
        self.events
            .iter()
            .filter_map(|e| match &e.kind {
                EventKind::Bytes { direction, len, .. } if *direction == which => Some(*len),
                _ => None,
            })
            .sum()
    }
}
