//! Following the frames the harness sends, for the trace: headers parsed, payloads skipped.
//!
//! The harness knows what it meant to send, but a trace must show what actually went out,
//! chop by chop. This tracker reads the outgoing byte stream like a decoder but never copies a
//! payload beyond the head the log keeps, so a 16 MiB message costs nothing extra.

use super::event::{FrameRecord, TRACE_BYTES};
use crate::wire::{apply_mask_offset, parse_header};

/// The outgoing stream's frame boundaries.
#[derive(Debug, Default)]
pub(crate) struct SentFrames {
    /// Bytes of a header not complete yet (at most 14).
    header: Vec<u8>,
    /// The frame whose payload is passing, and how much of it is left.
    current: Option<(FrameRecord, u64)>,
    /// Stream offset of the next byte.
    offset: u64,
}

impl SentFrames {
    /// Follows `bytes`; returns the frames whose last byte was in them.
    pub(crate) fn feed(&mut self, mut bytes: &[u8]) -> Vec<FrameRecord> {
        let mut done = Vec::new();
        while !bytes.is_empty() {
            if let Some((record, left)) = self.current.as_mut() {
                let n = (*left).min(bytes.len() as u64) as usize;
                let room = TRACE_BYTES.saturating_sub(record.head.len()).min(n);
                if room > 0 {
                    let start = record.head.len();
                    record.head.extend_from_slice(&bytes[..room]);
                    if let Some(key) = record.mask {
                        apply_mask_offset(&mut record.head[start..], key, start);
                    }
                }
                *left -= n as u64;
                self.offset += n as u64;
                bytes = &bytes[n..];
                if *left == 0
                    && let Some((record, _)) = self.current.take()
                {
                    done.push(record);
                }
                continue;
            }
            // Collect header bytes one at a time until the header parses.
            self.header.push(bytes[0]);
            bytes = &bytes[1..];
            if let Some(h) = parse_header(&self.header) {
                let record = FrameRecord {
                    offset: self.offset,
                    fin: h.fin,
                    rsv: h.rsv,
                    opcode: h.opcode,
                    mask: h.mask,
                    length_form: h.form,
                    len: usize::try_from(h.len).unwrap_or(usize::MAX),
                    head: Vec::new(),
                    digest: None,
                };
                self.offset += h.header_len as u64;
                self.header.clear();
                if h.len == 0 {
                    done.push(record);
                } else {
                    self.current = Some((record, h.len));
                }
            }
        }
        done
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::{OpCode, RawFrame};

    #[test]
    fn follows_frames_split_anywhere_and_keeps_unmasked_heads() {
        let bytes = [
            RawFrame::text("Hello").masked([1, 2, 3, 4]).to_bytes(),
            RawFrame::binary(vec![7; 70_000])
                .masked([9, 9, 9, 9])
                .to_bytes(),
            RawFrame::ping("").masked([5, 6, 7, 8]).to_bytes(),
        ]
        .concat();
        for chunk in [1, 3, 1000, bytes.len()] {
            let mut sent = SentFrames::default();
            let frames: Vec<FrameRecord> = bytes.chunks(chunk).flat_map(|c| sent.feed(c)).collect();
            assert_eq!(frames.len(), 3, "chunk {chunk}");
            assert_eq!(frames[0].head, b"Hello");
            assert_eq!(frames[1].len, 70_000);
            assert_eq!(frames[1].head.len(), TRACE_BYTES);
            assert!(frames[1].head.iter().all(|b| *b == 7));
            assert_eq!(frames[2].opcode, OpCode::PING);
            assert_eq!(frames[2].offset, 11 + 14 + 70_000);
        }
    }
}
