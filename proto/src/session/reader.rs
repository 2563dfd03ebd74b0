//! The receiving half of a connection: bytes to frames (the [`Decoder`]) to messages (the
//! [`Assembler`]), in one pass. Every endpoint built on proto reads through it: the client
//! session, the reference server, the interpreter's tests and the fuzz properties.

use std::collections::VecDeque;

use super::event::FrameRecord;
use crate::message::{Assembler, Delivery, Extension, Message, MessageConfig};
use crate::wire::{Decoder, DecoderConfig, Frame, Item, Violation, ViolationKind};

/// What the reader yields, in stream order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Inbound {
    /// A frame was read (for the log; whether it is delivered is said by what follows).
    Frame(FrameRecord),
    /// A rule the peer broke, before the frame it concerns is delivered (or not).
    Violation(Violation),
    /// A control frame, delivered where it arrived.
    Control(Frame),
    /// A complete data message.
    Message(Message),
}

/// Bytes in, frames and messages out. See the module docs.
#[derive(Debug)]
pub struct Reader {
    decoder: Decoder,
    assembler: Assembler,
    /// The frame the decoder last reported a violation for: not delivered.
    rejected: Option<u64>,
    /// Violations that are reported but do not withhold their frame (a lenient peer).
    excused: fn(&ViolationKind) -> bool,
    out: VecDeque<Inbound>,
}

impl Reader {
    /// A reader at the start of a stream.
    pub fn new(decoder: DecoderConfig, messages: MessageConfig) -> Self {
        Self {
            decoder: Decoder::new(decoder),
            assembler: Assembler::new(messages),
            rejected: None,
            excused: |_| false,
            out: VecDeque::new(),
        }
    }

    /// Puts a negotiated extension behind the message layer; the decoder then allows the bits
    /// it claims on the first frame of a data message.
    pub fn set_extension(&mut self, extension: Box<dyn Extension>) {
        self.assembler.set_extension(extension);
        let mut config = self.decoder.config().clone();
        config.message_rsv = self.assembler.message_rsv();
        self.decoder.set_config(config);
    }

    /// Makes the violations `excused` accepts harmless: still reported, but their frame is
    /// delivered as read. For peers that break a rule on purpose (the reference peer's
    /// faults); a conforming endpoint excuses nothing.
    pub fn excuse(&mut self, excused: fn(&ViolationKind) -> bool) {
        self.excused = excused;
    }

    /// Whether a fragmented data message is under way.
    pub fn in_message(&self) -> bool {
        self.assembler.in_message()
    }

    /// Stream bytes consumed so far.
    pub fn consumed(&self) -> u64 {
        self.decoder.consumed()
    }

    /// Appends received bytes.
    pub fn feed(&mut self, data: &[u8]) {
        self.decoder.feed(data);
    }

    /// The next thing read, or `None` when more bytes are needed.
    pub fn poll(&mut self) -> Option<Inbound> {
        while self.out.is_empty() {
            match self.decoder.poll() {
                Some(item) => self.handle(item),
                None => {
                    self.peek();
                    break;
                }
            }
        }
        self.out.pop_front()
    }

    /// Fail-fast: the first bytes of a text frame still arriving may already be invalid
    /// UTF-8 (see [`Assembler::peek`]).
    fn peek(&mut self) {
        let Some((header, start, index, masked)) = self.decoder.arriving() else {
            return;
        };
        if self.rejected == Some(start) {
            return;
        }
        if self.assembler.peek(start, index, &header, masked) {
            self.rejected = Some(start);
            self.drain_assembler();
        }
    }

    /// Reports what the end of the stream leaves unfinished (a partial frame, a fragmented
    /// message). Call once after the peer closed the connection, then drain with `poll`.
    pub fn finish(&mut self) {
        let end = self.decoder.consumed() + self.decoder.buffered() as u64;
        self.decoder.finish();
        while let Some(item) = self.decoder.poll() {
            self.handle(item);
        }
        self.assembler.finish(end);
        self.drain_assembler();
    }

    fn handle(&mut self, item: Item) {
        match item {
            Item::Violation(v) => {
                if v.frame.is_some() && !(self.excused)(&v.kind) {
                    self.rejected = v.frame;
                }
                self.out.push_back(Inbound::Violation(v));
            }
            Item::Frame(frame) => {
                let record = FrameRecord::of(&frame);
                let rejected = self.rejected == Some(frame.offset);
                if rejected {
                    self.rejected = None;
                }
                self.assembler.handle_frame(frame, rejected);
                // A frame's violations come before its record, whether they were found
                // while it arrived or once it was complete: the same order in any chunking.
                let mut deliveries = Vec::new();
                while let Some(d) = self.assembler.poll() {
                    deliveries.push(d);
                }
                let (faults, rest): (Vec<_>, Vec<_>) = deliveries
                    .into_iter()
                    .partition(|d| matches!(d, Delivery::Violation(_)));
                for d in faults {
                    self.push_delivery(d);
                }
                self.out.push_back(Inbound::Frame(record));
                for d in rest {
                    self.push_delivery(d);
                }
            }
        }
    }

    fn drain_assembler(&mut self) {
        while let Some(delivery) = self.assembler.poll() {
            self.push_delivery(delivery);
        }
    }

    fn push_delivery(&mut self, delivery: Delivery) {
        self.out.push_back(match delivery {
            Delivery::Control(frame) => Inbound::Control(frame),
            Delivery::Message(message) => Inbound::Message(message),
            Delivery::Violation(v) => Inbound::Violation(v),
        });
    }
}
