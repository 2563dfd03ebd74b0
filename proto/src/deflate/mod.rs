//! permessage-deflate (RFC 7692), the first [`Extension`] of the message layer.
//!
//! - [`Inflater`]: a strict raw-DEFLATE inflater with an exact window (see its module for why
//!   not zlib), bounded output and typed corruptions.
//! - [`Deflater`]: compression with flate2 on the zlib-rs backend, `Z_SYNC_FLUSH` with the
//!   `00 00 ff ff` tail removed (§7.2.1), context takeover on or off.
//! - [`PerMessageDeflate`]: both, for one side of a connection, set up from what the opening
//!   handshake agreed ([`DeflateConfig::agreed`]); the negotiation rules themselves are in
//!   [`crate::handshake::pmd`].

mod inflate;

pub use inflate::{Corruption, CorruptionKind, InflateError, Inflater, TAIL};

use flate2::{Compress, Compression, FlushCompress};

use crate::Side;
use crate::handshake::pmd::{DeflateParams, PERMESSAGE_DEFLATE};
use crate::message::{Extension, ExtensionError};
use crate::wire::{OpCode, Rsv};

/// How one side compresses and inflates, as agreed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeflateConfig {
    /// The window the peer agreed to compress with (`2^N` bytes): the inflater reaches no
    /// further back.
    pub inflate_bits: u8,
    /// The peer keeps its LZ77 window across messages: inflate with history.
    pub inflate_takeover: bool,
    /// The window we compress with.
    pub deflate_bits: u8,
    /// We keep our window across messages.
    pub deflate_takeover: bool,
    /// The zlib level we compress with (1: fast; the peer only has to inflate it).
    pub level: u32,
}

impl Default for DeflateConfig {
    fn default() -> Self {
        Self {
            inflate_bits: 15,
            inflate_takeover: true,
            deflate_bits: 15,
            deflate_takeover: true,
            level: 1,
        }
    }
}

impl DeflateConfig {
    /// What `side` uses when the server's response accepted permessage-deflate with
    /// `answer` (RFC 7692 §7.1.1, §7.1.2): the server compresses within
    /// `server_max_window_bits` (15 when absent) and resets per message under
    /// `server_no_context_takeover`; the client likewise with the `client_` parameters.
    pub fn agreed(side: Side, answer: &DeflateParams) -> Self {
        let server = (
            answer.server_max_window_bits.unwrap_or(15),
            !answer.server_no_context_takeover,
        );
        let client = (
            answer.client_max_window_bits.flatten().unwrap_or(15),
            !answer.client_no_context_takeover,
        );
        let (ours, theirs) = match side {
            Side::Client => (client, server),
            Side::Server => (server, client),
        };
        Self {
            inflate_bits: theirs.0,
            inflate_takeover: theirs.1,
            deflate_bits: ours.0,
            deflate_takeover: ours.1,
            level: 1,
        }
    }
}

/// Compresses the messages of one direction (RFC 7692 §7.2.1).
#[derive(Debug)]
pub struct Deflater {
    compress: Compress,
    takeover: bool,
}

impl Deflater {
    /// A compressor for a `2^bits` window at `level`. zlib cannot compress with an 8-bit
    /// window and uses 9 instead; that is still within 8 bits on the wire, because it never
    /// emits a distance beyond `512 - 262 = 250` bytes at 9 bits (see
    /// `deflate-and-client-bugs.md` 1.5, and the test `nine_bit_window_fits_eight`).
    pub fn new(bits: u8, takeover: bool, level: u32) -> Self {
        Self {
            compress: Compress::new_with_window_bits(
                Compression::new(level.min(9)),
                false,
                bits.clamp(9, 15),
            ),
            takeover,
        }
    }

    /// One message compressed: `Z_SYNC_FLUSH`, the `00 00 ff ff` tail removed.
    pub fn compress(&mut self, payload: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(payload.len() / 2 + 64);
        self.feed(payload, &mut out, FlushCompress::Sync);
        self.finish_message(out)
    }

    /// One message of `len` copies of `byte`, compressed without ever holding it: a
    /// decompression bomb of about 1000:1 for a repeated byte, in bounded memory.
    pub fn compress_repeated(&mut self, byte: u8, len: usize) -> Vec<u8> {
        let chunk = vec![byte; len.min(64 << 10)];
        let mut out = Vec::with_capacity(len / 512 + 64);
        let mut left = len;
        while left > 0 {
            let n = left.min(chunk.len());
            self.feed(&chunk[..n], &mut out, FlushCompress::None);
            left -= n;
        }
        self.feed(&[], &mut out, FlushCompress::Sync);
        self.finish_message(out)
    }

    /// Compresses all of `input` into `out` with `flush`.
    fn feed(&mut self, input: &[u8], out: &mut Vec<u8>, flush: FlushCompress) {
        let start = self.compress.total_in();
        loop {
            let consumed = (self.compress.total_in() - start) as usize;
            if out.capacity() - out.len() < 64 {
                out.reserve(out.capacity().max(256));
            }
            // Compressing into a Vec's spare room cannot fail with valid state.
            if self
                .compress
                .compress_vec(&input[consumed..], out, flush)
                .is_err()
            {
                break;
            }
            let consumed = (self.compress.total_in() - start) as usize;
            // Done once the input is in and the output has room left (a flush is complete).
            if consumed == input.len() && out.len() < out.capacity() {
                break;
            }
        }
    }

    /// RFC 7692 §7.2.1: the tail removed; the window reset without context takeover.
    fn finish_message(&mut self, mut out: Vec<u8>) -> Vec<u8> {
        if out.ends_with(&TAIL) {
            out.truncate(out.len() - TAIL.len());
        }
        if !self.takeover {
            self.compress.reset();
        }
        out
    }
}

/// permessage-deflate for one side of a connection. See the module docs.
#[derive(Debug)]
pub struct PerMessageDeflate {
    config: DeflateConfig,
    inflater: Inflater,
    /// Made on the first message encoded (a reader never needs one: zlib's compressor state
    /// is a few hundred kilobytes).
    deflater: Option<Deflater>,
}

impl PerMessageDeflate {
    /// The extension as `config` says.
    pub fn new(config: DeflateConfig) -> Self {
        Self {
            config,
            inflater: Inflater::new(config.inflate_bits, config.inflate_takeover),
            deflater: None,
        }
    }

    /// The configuration.
    pub fn config(&self) -> DeflateConfig {
        self.config
    }
}

impl Extension for PerMessageDeflate {
    fn name(&self) -> &'static str {
        PERMESSAGE_DEFLATE
    }

    /// RFC 7692 §6: "the "Per-Message Compressed" bit" is RSV1, on the first frame only.
    fn rsv(&self) -> Rsv {
        Rsv::RSV1
    }

    fn decode_message(
        &mut self,
        _rsv: Rsv,
        payload: &[u8],
        limit: usize,
    ) -> Result<Vec<u8>, ExtensionError> {
        self.inflater.inflate(payload, limit).map_err(|e| match e {
            InflateError::TooLarge { limit } => ExtensionError::TooLarge { limit },
            InflateError::Corrupt(c) => ExtensionError::Invalid(c.to_string()),
        })
    }

    fn encode_message(
        &mut self,
        _opcode: OpCode,
        payload: &[u8],
    ) -> Result<(Rsv, Vec<u8>), ExtensionError> {
        let config = self.config;
        let deflater = self.deflater.get_or_insert_with(|| {
            Deflater::new(config.deflate_bits, config.deflate_takeover, config.level)
        });
        Ok((Rsv::RSV1, deflater.compress(payload)))
    }
}

#[cfg(test)]
mod tests;
