//! A strict raw-DEFLATE inflater (RFC 1951) for permessage-deflate (RFC 7692 §7.2.2).
//!
//! Why not zlib: zlib (and zlib-rs behind flate2) checks a back-reference only against the
//! bytes it still holds, and the output of the current call counts as held; so an inflater
//! set to a 9-bit window accepts a distance of 1000 inside one message (the test
//! `zlib_does_not_enforce_the_window` shows it), and flate2 refuses an 8-bit window outright.
//! RFC 7692 §7.1.2.1 lets a client limit the server's window to `2^N` bytes; checking that the
//! server keeps to it needs an inflater that knows exactly how far back it may reach. This one
//! does, for every window from 8 to 15 bits, and it never trusts a length: the output is
//! bounded by the caller's limit (it stops there, it never inflates first and measures after),
//! and a stored block's LEN only copies bytes that are present.
//!
//! One message at a time: [`Inflater::inflate`] takes a message's payload, appends the
//! `00 00 ff ff` tail (§7.2.2) and inflates it, keeping the last `2^N` bytes as history for
//! the next message under context takeover. A message that ends with a BFINAL block ends the
//! stream: the next one starts a fresh one (§7.2.3.3).

use std::fmt;
use std::sync::OnceLock;

/// What made a message's compressed payload unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InflateError {
    /// The inflated message would exceed the limit; inflating stopped there.
    #[error("inflates past {limit} bytes")]
    TooLarge {
        /// The limit.
        limit: usize,
    },
    /// The data is not a DEFLATE stream that RFC 7692 allows.
    #[error("{0}")]
    Corrupt(Corruption),
}

/// A broken rule of RFC 1951, or of RFC 7692's use of it, with where it was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Corruption {
    /// The rule.
    pub kind: CorruptionKind,
    /// The offset in the compressed payload (the appended tail counts past its end).
    pub at: usize,
}

impl fmt::Display for Corruption {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} at byte {} of the compressed payload",
            self.kind, self.at
        )
    }
}

/// The rules, each with a stable code ([`CorruptionKind::code`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CorruptionKind {
    /// BTYPE=11 (RFC 1951 §3.2.3: "reserved (error)").
    #[error("block type 11 (reserved)")]
    ReservedBlockType,
    /// A stored block whose NLEN is not the one's complement of LEN (RFC 1951 §3.2.4).
    #[error("stored block LEN {len:#06x} does not match NLEN {nlen:#06x}")]
    StoredLength {
        /// LEN.
        len: u16,
        /// NLEN.
        nlen: u16,
    },
    /// A dynamic block's code lengths do not form a usable prefix code (RFC 1951 §3.2.7).
    #[error("invalid Huffman code lengths: {0}")]
    BadCodeLengths(&'static str),
    /// A code that is not in the block's code (or a literal/length 286-287, distance 30-31).
    #[error("invalid {0} code")]
    BadCode(&'static str),
    /// A back-reference further back than the window agreed (RFC 7692 §7.1.2) or than the
    /// data so far.
    #[error("distance {distance} reaches before {reach} (window {window} bytes)")]
    DistanceTooFar {
        /// The distance.
        distance: usize,
        /// How far back the inflater may reach here: the window, or less at the stream's start.
        reach: usize,
        /// The window, `2^N`.
        window: usize,
    },
    /// The message ends inside a block (after the appended tail).
    #[error("the data ends inside a block")]
    Truncated,
    /// Bytes follow the final (BFINAL=1) block within the message.
    #[error("{0} bytes follow the final block")]
    DataAfterFinal(usize),
}

impl CorruptionKind {
    /// A stable code for reports.
    pub fn code(&self) -> &'static str {
        match self {
            Self::ReservedBlockType => "deflate-reserved-btype",
            Self::StoredLength { .. } => "deflate-stored-length",
            Self::BadCodeLengths(_) => "deflate-bad-code-lengths",
            Self::BadCode(_) => "deflate-bad-code",
            Self::DistanceTooFar { .. } => "deflate-distance-too-far",
            Self::Truncated => "deflate-truncated",
            Self::DataAfterFinal(_) => "deflate-data-after-final",
        }
    }
}

/// RFC 7692 §7.2.2: "Append 4 octets of 0x00 0x00 0xff 0xff to the tail end of the payload".
pub const TAIL: [u8; 4] = [0x00, 0x00, 0xff, 0xff];

/// Inflates the messages of one direction. See the module docs.
#[derive(Debug, Clone)]
pub struct Inflater {
    window: usize,
    takeover: bool,
    /// The last `window` bytes of earlier messages (context takeover).
    history: Vec<u8>,
    /// The last message ended inside a stored block's header.
    cut: bool,
}

impl Inflater {
    /// An inflater for a `2^bits`-byte window (8 to 15; other values are clamped), keeping
    /// history across messages when `takeover` is on.
    pub fn new(bits: u8, takeover: bool) -> Self {
        Self {
            window: 1 << bits.clamp(8, 15),
            takeover,
            history: Vec::new(),
            cut: false,
        }
    }

    /// Whether the last message ended inside a stored block's header: the shape of a message
    /// whose sender left the `00 00 ff ff` tail on (the appended tail then begins a block it
    /// cannot finish). This inflater starts the next message afresh at a block boundary; a
    /// streaming inflater (zlib) reads the next message's first bytes as that header's rest.
    pub fn ended_in_cut_header(&self) -> bool {
        self.cut
    }

    /// The window in bytes.
    pub fn window(&self) -> usize {
        self.window
    }

    /// Inflates one message's `payload` (the tail is appended here), producing at most `limit`
    /// bytes. On an error the history is left as it was (the connection is failed anyway).
    pub fn inflate(&mut self, payload: &[u8], limit: usize) -> Result<Vec<u8>, InflateError> {
        let mut input = Vec::with_capacity(payload.len() + TAIL.len());
        input.extend_from_slice(payload);
        input.extend_from_slice(&TAIL);
        let history = if self.takeover {
            std::mem::take(&mut self.history)
        } else {
            Vec::new()
        };
        let keep = history.len();
        let mut run = Run {
            bits: Bits::new(&input),
            out: history,
            start: keep,
            limit,
            window: self.window,
            cut: false,
        };
        let result = run.stream();
        self.cut = run.cut;
        let mut out = run.out;
        match result {
            Ok(fin) => {
                if self.takeover && !fin {
                    let from = out.len().saturating_sub(self.window);
                    self.history = out[from..].to_vec();
                }
                out.drain(..keep);
                Ok(out)
            }
            Err(e) => {
                if self.takeover {
                    out.truncate(keep);
                    self.history = out;
                }
                Err(e)
            }
        }
    }
}

/// LSB-first bit reader over a message's input (RFC 1951 §3.1.1).
struct Bits<'a> {
    input: &'a [u8],
    pos: usize,
    buf: u64,
    count: u32,
}

/// The input ran out.
struct OutOfInput;

impl<'a> Bits<'a> {
    fn new(input: &'a [u8]) -> Self {
        Self {
            input,
            pos: 0,
            buf: 0,
            count: 0,
        }
    }

    /// Fills the buffer to at least 56 bits, or with what is left.
    #[inline]
    fn refill(&mut self) {
        if self.pos + 8 <= self.input.len() {
            let mut word = [0u8; 8];
            word.copy_from_slice(&self.input[self.pos..self.pos + 8]);
            let word = u64::from_le_bytes(word);
            self.buf |= word << self.count;
            let taken = (63 - self.count) / 8;
            self.pos += taken as usize;
            self.count += taken * 8;
        } else {
            while self.count <= 56 && self.pos < self.input.len() {
                self.buf |= (self.input[self.pos] as u64) << self.count;
                self.pos += 1;
                self.count += 8;
            }
        }
    }

    #[inline]
    fn need(&mut self, n: u32) -> Result<(), OutOfInput> {
        if self.count < n {
            self.refill();
            if self.count < n {
                return Err(OutOfInput);
            }
        }
        Ok(())
    }

    #[inline]
    fn take(&mut self, n: u32) -> Result<u32, OutOfInput> {
        if n == 0 {
            return Ok(0);
        }
        self.need(n)?;
        let v = (self.buf & ((1u64 << n) - 1)) as u32;
        self.buf >>= n;
        self.count -= n;
        Ok(v)
    }

    /// Drops the bits up to the next byte boundary.
    fn align(&mut self) {
        let drop = self.count % 8;
        self.buf >>= drop;
        self.count -= drop;
    }

    /// The byte offset of the next unread bit (for error positions).
    fn offset(&self) -> usize {
        self.pos - (self.count / 8) as usize
    }

    /// Whole bytes not yet read.
    fn bytes_left(&self) -> usize {
        self.input.len() - self.pos + (self.count / 8) as usize
    }
}

/// Bits looked up at once; longer codes take the slow path.
const FAST_BITS: u32 = 10;

/// A canonical Huffman code (RFC 1951 §3.2.2): a lookup table for codes of up to
/// [`FAST_BITS`] bits and the counts and symbols for the rest.
struct Huffman {
    /// Indexed by the next `FAST_BITS` bits: `symbol << 4 | length`, or 0 for a longer code
    /// (or none).
    fast: Vec<u16>,
    counts: [u16; 16],
    symbols: Vec<u16>,
}

impl Huffman {
    /// Builds the code for `lengths`. `what` names it in errors. RFC 1951 leaves incomplete
    /// codes undefined; as zlib does, one is accepted only when it has a single code of one
    /// bit (a block with one distance), and a code with no symbols at all fails only when used.
    fn new(lengths: &[u8], what: &'static str) -> Result<Self, CorruptionKind> {
        let mut counts = [0u16; 16];
        for &l in lengths {
            counts[l as usize] += 1;
        }
        counts[0] = 0;
        let mut left: i32 = 1;
        for &count in &counts[1..] {
            left = (left << 1) - count as i32;
            if left < 0 {
                return Err(CorruptionKind::BadCodeLengths(match what {
                    "literal/length" => "literal/length code over-subscribed",
                    "distance" => "distance code over-subscribed",
                    _ => "code-length code over-subscribed",
                }));
            }
        }
        let max = (1..16).rev().find(|&l| counts[l] > 0).unwrap_or(0);
        // The code-length code must be complete (zlib's rule too).
        if left > 0 && (max > 1 || what == "code-length") && max > 0 {
            return Err(CorruptionKind::BadCodeLengths(match what {
                "literal/length" => "literal/length code incomplete",
                "distance" => "distance code incomplete",
                _ => "code-length code incomplete",
            }));
        }
        let mut offsets = [0u16; 16];
        for l in 1..15 {
            offsets[l + 1] = offsets[l] + counts[l];
        }
        let mut symbols = vec![0u16; lengths.len()];
        for (sym, &l) in lengths.iter().enumerate() {
            if l > 0 {
                symbols[offsets[l as usize] as usize] = sym as u16;
                offsets[l as usize] += 1;
            }
        }
        // The fast table: canonical codes in order, bit-reversed (Huffman codes are sent
        // most significant bit first, RFC 1951 §3.1.1).
        let mut fast = vec![0u16; 1 << FAST_BITS];
        let mut code: u32 = 0;
        let mut index = 0usize;
        for len in 1..=15u32 {
            for _ in 0..counts[len as usize] {
                if len <= FAST_BITS {
                    let sym = symbols[index];
                    let rev = code.reverse_bits() >> (32 - len);
                    let mut i = rev as usize;
                    while i < fast.len() {
                        fast[i] = (sym << 4) | len as u16;
                        i += 1 << len;
                    }
                }
                code += 1;
                index += 1;
            }
            code <<= 1;
        }
        Ok(Self {
            fast,
            counts,
            symbols,
        })
    }

    /// The next symbol.
    #[inline]
    fn decode(&self, bits: &mut Bits<'_>, what: &'static str) -> Result<u16, Step> {
        if bits.count < 15 {
            bits.refill();
        }
        let entry = self.fast[(bits.buf & ((1 << FAST_BITS) - 1)) as usize];
        if entry != 0 {
            let len = (entry & 15) as u32;
            if len <= bits.count {
                bits.buf >>= len;
                bits.count -= len;
                return Ok(entry >> 4);
            }
            return Err(Step::Out);
        }
        self.slow(bits, what)
    }

    /// Bit by bit, for codes longer than the table (puff's canonical decoding).
    fn slow(&self, bits: &mut Bits<'_>, what: &'static str) -> Result<u16, Step> {
        let (mut code, mut first, mut index) = (0i32, 0i32, 0i32);
        for len in 1..16 {
            if len > bits.count {
                return Err(Step::Out);
            }
            code |= ((bits.buf >> (len - 1)) & 1) as i32;
            let count = self.counts[len as usize] as i32;
            if code - count < first {
                bits.buf >>= len;
                bits.count -= len;
                return Ok(self.symbols[(index + code - first) as usize]);
            }
            index += count;
            first += count;
            first <<= 1;
            code <<= 1;
        }
        Err(Step::Bad(CorruptionKind::BadCode(what)))
    }
}

/// How decoding a block stopped early.
enum Step {
    /// The input ran out.
    Out,
    /// A rule was broken.
    Bad(CorruptionKind),
    /// The output limit.
    Full,
}

impl From<OutOfInput> for Step {
    fn from(_: OutOfInput) -> Self {
        Step::Out
    }
}

impl From<CorruptionKind> for Step {
    fn from(k: CorruptionKind) -> Self {
        Step::Bad(k)
    }
}

const LENGTH_BASE: [u16; 29] = [
    3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131,
    163, 195, 227, 258,
];
const LENGTH_EXTRA: [u8; 29] = [
    0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0,
];
const DIST_BASE: [u16; 30] = [
    1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537,
    2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577,
];
const DIST_EXTRA: [u8; 30] = [
    0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13,
    13,
];
/// The order of the code-length code lengths (RFC 1951 §3.2.7).
const CLEN_ORDER: [usize; 19] = [
    16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15,
];

/// The fixed codes of RFC 1951 §3.2.6, built once.
fn fixed_codes() -> &'static (Huffman, Huffman) {
    static FIXED: OnceLock<(Huffman, Huffman)> = OnceLock::new();
    FIXED.get_or_init(build_fixed)
}

fn build_fixed() -> (Huffman, Huffman) {
    let mut lengths = [0u8; 288];
    lengths[..144].fill(8);
    lengths[144..256].fill(9);
    lengths[256..280].fill(7);
    lengths[280..].fill(8);
    let lit = Huffman::new(&lengths, "literal/length").expect("the fixed code is complete");
    let dist = Huffman::new(&[5u8; 32], "distance").expect("the fixed distance code is valid");
    (lit, dist)
}

/// One message being inflated.
struct Run<'a> {
    bits: Bits<'a>,
    /// History (before `start`) and this message's output.
    out: Vec<u8>,
    start: usize,
    limit: usize,
    window: usize,
    /// The input ended inside a stored block's header.
    cut: bool,
}

impl Run<'_> {
    /// Inflates blocks until the input ends; returns whether a final block ended the stream.
    fn stream(&mut self) -> Result<bool, InflateError> {
        loop {
            // A message ends where the appended tail's empty stored block ends, on a byte
            // boundary. Bits left over there are the start of another block's header: the
            // tail was read inside a block, so the data was cut short.
            if self.bits.bytes_left() == 0 {
                if self.bits.count == 0 {
                    return Ok(false);
                }
                return Err(self.corrupt(CorruptionKind::Truncated));
            }
            let at = self.bits.offset();
            let header = match self.bits.take(3) {
                Ok(h) => h,
                Err(OutOfInput) => return Err(self.corrupt(CorruptionKind::Truncated)),
            };
            let result = match header >> 1 {
                0 => self.stored(),
                1 => {
                    let (lit, dist) = fixed_codes();
                    self.codes(lit, dist)
                }
                2 => self.dynamic(),
                _ => Err(Step::Bad(CorruptionKind::ReservedBlockType)),
            };
            match result {
                Ok(()) => {}
                // A stored block header cut short is how a message whose sender did not
                // strip the tail ends (the appended tail starts another empty stored block):
                // a streaming inflater waits for more, which is harmless (python-websockets#188).
                Err(Step::Out) if header >> 1 == 0 && self.stored_header_cut(at) => {
                    self.cut = true;
                    return Ok(false);
                }
                Err(Step::Out) => return Err(self.corrupt(CorruptionKind::Truncated)),
                Err(Step::Bad(kind)) => return Err(self.corrupt_at(kind, at)),
                Err(Step::Full) => return Err(InflateError::TooLarge { limit: self.limit }),
            }
            if header & 1 == 1 {
                self.bits.align();
                let left = self.bits.bytes_left();
                // After the final block, only the appended tail may remain (and its bytes only
                // as far as they were not part of the stream).
                let tail_left = left.min(TAIL.len());
                let extra = left - tail_left;
                if extra > 0 {
                    return Err(self.corrupt(CorruptionKind::DataAfterFinal(extra)));
                }
                return Ok(true);
            }
        }
    }

    /// Whether the stored block begun at `at` was cut short within its LEN/NLEN header.
    fn stored_header_cut(&self, at: usize) -> bool {
        self.bits.input.len() - at <= 5
    }

    fn corrupt(&self, kind: CorruptionKind) -> InflateError {
        InflateError::Corrupt(Corruption {
            kind,
            at: self.bits.offset(),
        })
    }

    fn corrupt_at(&self, kind: CorruptionKind, at: usize) -> InflateError {
        let at = match kind {
            CorruptionKind::ReservedBlockType | CorruptionKind::StoredLength { .. } => at,
            _ => self.bits.offset(),
        };
        InflateError::Corrupt(Corruption { kind, at })
    }

    fn room(&self, n: usize) -> Result<(), Step> {
        if self.out.len() - self.start + n > self.limit {
            return Err(Step::Full);
        }
        Ok(())
    }

    fn stored(&mut self) -> Result<(), Step> {
        self.bits.align();
        let len = self.bits.take(16)? as u16;
        let nlen = self.bits.take(16)? as u16;
        if len != !nlen {
            return Err(CorruptionKind::StoredLength { len, nlen }.into());
        }
        // The bit buffer holds whole bytes now; give them back to the input.
        let back = (self.bits.count / 8) as usize;
        self.bits.pos -= back;
        self.bits.buf = 0;
        self.bits.count = 0;
        let len = len as usize;
        let available = self.bits.input.len() - self.bits.pos;
        let n = len.min(available);
        self.room(n)?;
        let from = self.bits.pos;
        self.out.extend_from_slice(&self.bits.input[from..from + n]);
        self.bits.pos += n;
        if n < len {
            return Err(Step::Out);
        }
        Ok(())
    }

    fn dynamic(&mut self) -> Result<(), Step> {
        let hlit = self.bits.take(5)? as usize + 257;
        let hdist = self.bits.take(5)? as usize + 1;
        let hclen = self.bits.take(4)? as usize + 4;
        if hlit > 286 || hdist > 30 {
            return Err(
                CorruptionKind::BadCodeLengths("too many length or distance symbols").into(),
            );
        }
        let mut clens = [0u8; 19];
        for &i in &CLEN_ORDER[..hclen] {
            clens[i] = self.bits.take(3)? as u8;
        }
        let clen = Huffman::new(&clens, "code-length")?;
        let mut lengths = [0u8; 286 + 30];
        let mut i = 0;
        while i < hlit + hdist {
            let sym = clen.decode(&mut self.bits, "code-length")?;
            let (value, repeat) = match sym {
                0..=15 => (sym as u8, 1),
                16 => {
                    if i == 0 {
                        return Err(CorruptionKind::BadCodeLengths(
                            "repeat with no previous length",
                        )
                        .into());
                    }
                    (lengths[i - 1], 3 + self.bits.take(2)? as usize)
                }
                17 => (0, 3 + self.bits.take(3)? as usize),
                _ => (0, 11 + self.bits.take(7)? as usize),
            };
            if i + repeat > hlit + hdist {
                return Err(
                    CorruptionKind::BadCodeLengths("code lengths overrun the symbols").into(),
                );
            }
            lengths[i..i + repeat].fill(value);
            i += repeat;
        }
        if lengths[256] == 0 {
            return Err(CorruptionKind::BadCodeLengths("no end-of-block code").into());
        }
        let lit = Huffman::new(&lengths[..hlit], "literal/length")?;
        let dist = Huffman::new(&lengths[hlit..hlit + hdist], "distance")?;
        self.codes(&lit, &dist)
    }

    /// A block's compressed data (RFC 1951 §3.2.5), up to its end-of-block code.
    fn codes(&mut self, lit: &Huffman, dist: &Huffman) -> Result<(), Step> {
        loop {
            let sym = lit.decode(&mut self.bits, "literal/length")? as usize;
            if sym < 256 {
                self.room(1)?;
                self.out.push(sym as u8);
                continue;
            }
            if sym == 256 {
                return Ok(());
            }
            let sym = sym - 257;
            if sym >= 29 {
                return Err(CorruptionKind::BadCode("literal/length").into());
            }
            let len =
                LENGTH_BASE[sym] as usize + self.bits.take(LENGTH_EXTRA[sym] as u32)? as usize;
            let dsym = dist.decode(&mut self.bits, "distance")? as usize;
            if dsym >= 30 {
                return Err(CorruptionKind::BadCode("distance").into());
            }
            let distance =
                DIST_BASE[dsym] as usize + self.bits.take(DIST_EXTRA[dsym] as u32)? as usize;
            let reach = self.window.min(self.out.len());
            if distance > reach {
                return Err(CorruptionKind::DistanceTooFar {
                    distance,
                    reach,
                    window: self.window,
                }
                .into());
            }
            self.room(len)?;
            let from = self.out.len() - distance;
            if distance >= len {
                self.out.extend_from_within(from..from + len);
            } else {
                for k in 0..len {
                    let b = self.out[from + k];
                    self.out.push(b);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;
