//! The script of a case: running its steps, the blocks that wait for the peer (tagged waits,
//! the 9.x first message and round trips, ping floods, the limit probe, the alive check), and
//! what a whole message means to the block in force. Part of the sans-IO interpreter.

use std::time::{Duration, Instant};

use wsconform_reports::Behavior;

use super::{Action, Block, CaseMachine, Series, Ws, kind};
use crate::cases::Step;
use crate::runner::limit::{FloodTally, LimitProbe, Next};
use crate::runner::observed::Observed;
use crate::session::Masking;
use crate::wire::{CloseCode, OpCode, RawFrame, Rsv, apply_mask_offset};

/// A probe message larger than this is streamed in chunks of this size (the harness holds one
/// chunk, not the message: a 256 MiB probe costs 1 MiB).
pub(super) const STREAM_CHUNK: usize = 1 << 20;

impl CaseMachine {
    pub(super) fn block_timeout(&mut self, now: Instant) {
        match std::mem::replace(&mut self.block, Block::None) {
            Block::Wait { until, tag } if now >= until => {
                match tag {
                    // Autobahn's tagged waits (6.4.x) go on only while the connection is open.
                    Some(tag) if self.ws == Ws::Open => self.record(now, Observed::Timeout(tag)),
                    Some(_) => self.pc = self.case.steps.len(),
                    None if self.ws == Ws::Gone => self.pc = self.case.steps.len(),
                    None => {}
                }
            }
            Block::FirstMessage { until, within, .. } if now >= until => {
                self.script_verdict = Some((
                    Behavior::Failed,
                    format!("did not receive a message within {within} seconds"),
                ));
                self.start_close(now, Vec::new());
            }
            Block::Roundtrip {
                until,
                remaining,
                within,
                ..
            } if now >= until => {
                self.script_verdict = Some((
                    Behavior::Failed,
                    format!("{remaining} echoes still missing after {within} seconds"),
                ));
                self.start_close(now, Vec::new());
            }
            Block::Limit {
                until,
                probe,
                within,
            } if now >= until => {
                self.script_verdict = Some(probe.on_timeout(within));
                self.start_close(now, CloseCode::NORMAL.0.to_be_bytes().to_vec());
            }
            Block::Series(s) if now >= s.until => {
                self.script_verdict = Some((
                    Behavior::Failed,
                    format!(
                        "the series did not finish within {} seconds ({} of {} echoes)",
                        s.within,
                        s.sent - 1,
                        s.count
                    ),
                ));
                self.start_close(now, CloseCode::NORMAL.0.to_be_bytes().to_vec());
            }
            Block::PingFlood {
                until,
                tally,
                within,
            } if now >= until => {
                self.script_verdict = Some(tally.verdict(within));
                self.start_close(now, CloseCode::NORMAL.0.to_be_bytes().to_vec());
            }
            other => self.block = other,
        }
    }

    /// Runs steps until one blocks or the script ends.
    pub(super) fn advance(&mut self, now: Instant) {
        while self.pc < self.case.steps.len()
            && matches!(self.block, Block::None)
            && self.ws != Ws::Gone
        {
            let step = self.case.steps[self.pc].clone();
            self.pc += 1;
            self.step(now, step);
        }
        if self.case.predict {
            self.predicted_close(now);
        }
    }

    pub(super) fn step(&mut self, now: Instant, step: Step) {
        let secs = |s: f64| Duration::from_secs_f64(s.max(0.0));
        let sends = matches!(
            step,
            Step::SendMessage(_)
                | Step::PingFlood(_)
                | Step::BeginFrame(_)
                | Step::FrameData(_)
                | Step::Roundtrip(_)
                | Step::Series(_)
                | Step::ProbeLimit(_)
        );
        if sends && self.timeline.first_close.is_some() {
            self.timeline.sent_after_close = true;
        }
        match step {
            Step::Send(send) => {
                let mut frames = Vec::new();
                let times = send.repeat.unwrap_or(1);
                for spec in send.frames.iter().cycle().take(send.frames.len() * times) {
                    if self.timeline.first_close.is_some() {
                        self.timeline.sent_after_close = true;
                    }
                    // Validated when the case was loaded.
                    let (Ok(raw), Ok(masking)) = (spec.to_raw(), spec.masking()) else {
                        continue;
                    };
                    let raw = self.writer.mask(raw, masking);
                    if raw.opcode == OpCode::PING {
                        self.ping_sent(&raw.payload);
                    }
                    if raw.opcode == OpCode::CLOSE && !spec.raw {
                        if self.ws != Ws::Open {
                            continue;
                        }
                        self.note_local_close(now, &raw.payload);
                    } else if raw.opcode == OpCode::CLOSE {
                        // A raw close is a close on the wire all the same.
                        self.timeline.closing(now, self.started);
                    }
                    frames.push(raw.to_bytes());
                }
                self.write_mode(frames, send.write);
            }
            Step::SendMessage(m) => {
                let payload = m.payload.bytes().unwrap_or_default();
                let rsv = Rsv::from_bits(m.rsv & 7);
                let frames = self.fragments(m.opcode.0, &payload, m.fragment, m.compress, rsv);
                self.write_mode(frames, m.write);
            }
            Step::Series(s) => {
                let Some(set) = wsconform_cases::data::get(&s.data) else {
                    return;
                };
                let series = Series {
                    until: now + secs(s.within),
                    within: s.within,
                    data: set.bytes,
                    ascii: set.bytes.is_ascii(),
                    opcode: if set.text {
                        OpCode::TEXT
                    } else {
                        OpCode::BINARY
                    },
                    len: s.len,
                    fragment: s.fragment,
                    cursor: 0,
                    sent: 0,
                    count: s.count,
                    pending: Vec::new(),
                };
                self.series_next(Box::new(series));
            }
            Step::BeginFrame(b) => {
                let header = RawFrame::new(b.opcode.0, Vec::new())
                    .fin(b.fin)
                    .declared_len(b.len);
                let header = self.writer.mask(header, Masking::BySide);
                let mut bytes = Vec::new();
                header.encode_header(&mut bytes);
                self.frame_key = header.mask.map(|key| (key, 0));
                self.write(vec![bytes], None);
            }
            Step::FrameData(payload) => {
                let mut bytes = payload.bytes().unwrap_or_default();
                if let Some((key, offset)) = self.frame_key.as_mut() {
                    apply_mask_offset(&mut bytes, *key, *offset);
                    *offset += bytes.len();
                }
                self.write(vec![bytes], None);
            }
            Step::Close(c) => {
                let payload = match (&c.payload, c.code) {
                    (Some(p), _) => p.bytes().unwrap_or_default(),
                    (None, Some(code)) => {
                        let mut out = code.to_be_bytes().to_vec();
                        if let Some(reason) = &c.reason {
                            out.extend_from_slice(reason.as_bytes());
                        }
                        if let Some(hex) = &c.reason_hex {
                            out.extend(crate::cases::parse_hex(hex).unwrap_or_default());
                        }
                        out
                    }
                    (None, None) => Vec::new(),
                };
                self.start_close(now, payload);
            }
            Step::Wait(w) => {
                self.block = Block::Wait {
                    until: now + secs(w.secs),
                    tag: w.tag,
                };
            }
            Step::Arm(a) => {
                if let Some(k) = a.kill {
                    self.kill_at = Some(now + secs(k));
                }
                if let Some(c) = a.close_after {
                    self.close_at = Some(now + secs(c));
                }
            }
            Step::ExpectFirstMessage(f) => {
                self.block = Block::FirstMessage {
                    until: now + secs(f.within),
                    opcode: f.opcode.0,
                    len: f.len,
                    within: f.within,
                };
            }
            Step::PingFlood(p) => {
                let mut bytes = Vec::new();
                for i in 0..p.count {
                    self.writer
                        .mask(RawFrame::ping(i.to_string()), Masking::BySide)
                        .encode(&mut bytes);
                }
                self.write(vec![bytes], None);
                self.block = Block::PingFlood {
                    until: now + secs(p.within),
                    tally: FloodTally::new(p.count),
                    within: p.within,
                };
            }
            Step::ProbeLimit(p) => {
                let limit = self.max_message.filter(|_| p.known_limit);
                let mut probe = match limit {
                    Some(limit) if p.at_limit => LimitProbe::at(limit, p.max),
                    _ => LimitProbe::new(limit, p.max),
                };
                probe.compressed = p.compress;
                self.send_probe(probe.size, probe.compressed);
                self.block = Block::Limit {
                    until: now + secs(p.within),
                    probe,
                    within: p.within,
                };
            }
            Step::Alive(_) => {
                self.actions.push_back(Action::CheckAlive);
                self.block = Block::Alive;
            }
            Step::PauseReading(w) => {
                self.paused_until = Some(now + secs(w.secs));
            }
            Step::Roundtrip(r) => {
                let payload = r.payload.bytes().unwrap_or_default();
                if r.count == 0 {
                    self.script_verdict = Some((Behavior::Ok, "0 messages to send".into()));
                    return;
                }
                self.send_message(r.opcode.0, payload.clone());
                self.block = Block::Roundtrip {
                    until: now + secs(r.within),
                    remaining: r.count,
                    opcode: r.opcode.0,
                    payload,
                    within: r.within,
                };
            }
        }
    }

    /// The frames of one message: compressed first when asked and agreed (RSV1 on the first
    /// frame, RFC 7692 §6; otherwise `rsv` there, for a payload compressed already), cut into
    /// fragments of at most `fragment` bytes (0: one frame).
    fn fragments(
        &mut self,
        opcode: OpCode,
        payload: &[u8],
        fragment: usize,
        compress: bool,
        rsv: Rsv,
    ) -> Vec<Vec<u8>> {
        let (rsv, body) = match self.deflate.as_mut() {
            Some(d) if compress => (Rsv::RSV1, d.compress(payload)),
            _ => (rsv, payload.to_vec()),
        };
        let size = if fragment == 0 {
            body.len().max(1)
        } else {
            fragment
        };
        let mut chunks: Vec<&[u8]> = body.chunks(size).collect();
        if chunks.is_empty() {
            chunks.push(&[]);
        }
        let last = chunks.len() - 1;
        let mut frames = Vec::with_capacity(chunks.len());
        for (i, chunk) in chunks.into_iter().enumerate() {
            let frame = if i == 0 {
                RawFrame::new(opcode, chunk.to_vec()).rsv(rsv)
            } else {
                RawFrame::new(OpCode::CONTINUATION, chunk.to_vec())
            };
            frames.push(self.writer.encode(frame.fin(i == last), Masking::BySide));
        }
        frames
    }

    /// The echo of a limit probe's message came, `len` bytes long: the next size, or the
    /// probe's verdict.
    pub(super) fn limit_echo(
        &mut self,
        now: Instant,
        mut probe: LimitProbe,
        within: f64,
        len: usize,
    ) {
        match probe.on_echo(len) {
            Next::Send(size) => {
                self.send_probe(size, probe.compressed);
                self.block = Block::Limit {
                    until: now + Duration::from_secs_f64(within.max(0.0)),
                    probe,
                    within,
                };
            }
            Next::Done(behavior, text) => {
                self.script_verdict = Some((behavior, text));
                self.start_close(now, CloseCode::NORMAL.0.to_be_bytes().to_vec());
            }
        }
    }

    /// One message of a limit probe: `size` bytes of `*`, compressed as one bomb when the
    /// step says so, streamed when large; either way built without holding the bytes.
    fn send_probe(&mut self, size: usize, compressed: bool) {
        let frame = match self.deflate.as_mut() {
            Some(d) if compressed => {
                RawFrame::new(OpCode::BINARY, d.compress_repeated(b'*', size)).rsv(Rsv::RSV1)
            }
            _ if size > STREAM_CHUNK => {
                // The header, then the masked payload: `*` masked with one key repeats every
                // 4 bytes, so one masked chunk (a multiple of 4 long) serves the whole message.
                let header = self
                    .writer
                    .mask(RawFrame::new(OpCode::BINARY, Vec::new()), Masking::BySide)
                    .declared_len(size as u64);
                let mut head = Vec::new();
                header.encode_header(&mut head);
                let mut chunk = vec![b'*'; STREAM_CHUNK];
                if let Some(key) = header.mask {
                    crate::wire::apply_mask(&mut chunk, key);
                }
                self.write_repeated(head, chunk, size);
                return;
            }
            _ => RawFrame::new(OpCode::BINARY, vec![b'*'; size]),
        };
        let bytes = self.writer.encode(frame, Masking::BySide);
        self.write(vec![bytes], None);
    }

    /// Sends the series' next message (cut from the data set at its cursor) and waits for
    /// its echo.
    fn series_next(&mut self, mut s: Box<Series>) {
        let message = cut(
            s.data,
            &mut s.cursor,
            s.len,
            s.opcode == OpCode::TEXT && !s.ascii,
        );
        s.sent += 1;
        let frames = self.fragments(s.opcode, &message, s.fragment, true, Rsv::NONE);
        self.write(vec![frames.concat()], None);
        s.pending = message;
        self.block = Block::Series(s);
    }

    pub(super) fn on_message(&mut self, now: Instant, opcode: OpCode, data: Vec<u8>) {
        match std::mem::replace(&mut self.block, Block::None) {
            Block::Series(s) => {
                // Autobahn checks the type, the length and the SHA-1 of each echo; comparing
                // the bytes is the same check.
                let mismatch = if opcode != s.opcode {
                    Some(format!("a {} message", kind(opcode)))
                } else if data.len() != s.pending.len() {
                    Some(format!("{} bytes", data.len()))
                } else if data != s.pending {
                    let at = data.iter().zip(&s.pending).position(|(a, b)| a != b);
                    Some(format!(
                        "other bytes (first difference at byte {})",
                        at.unwrap_or(0)
                    ))
                } else {
                    None
                };
                if let Some(got) = mismatch {
                    self.script_verdict = Some((
                        Behavior::Failed,
                        format!(
                            "echo {} of {}: expected the {} message of {} bytes that was sent; got {got}",
                            s.sent,
                            s.count,
                            kind(s.opcode),
                            s.pending.len()
                        ),
                    ));
                    self.start_close(now, CloseCode::NORMAL.0.to_be_bytes().to_vec());
                } else if s.sent == s.count {
                    let how = if self.deflate.is_some() {
                        "compressed"
                    } else {
                        "uncompressed"
                    };
                    self.script_verdict = Some((
                        Behavior::Ok,
                        format!("all {} echoes equal what was sent ({how})", s.count),
                    ));
                    self.start_close(now, CloseCode::NORMAL.0.to_be_bytes().to_vec());
                } else {
                    self.series_next(s);
                }
            }
            Block::FirstMessage {
                opcode: want, len, ..
            } => {
                let verdict = if opcode == want && data.len() == len {
                    (
                        Behavior::Ok,
                        format!("received a {} message of length {len}", kind(opcode)),
                    )
                } else {
                    (
                        Behavior::Failed,
                        format!(
                            "expected a {} message of length {len}; got a {} message of length {}",
                            kind(want),
                            kind(opcode),
                            data.len()
                        ),
                    )
                };
                self.script_verdict = Some(verdict);
                self.start_close(now, CloseCode::NORMAL.0.to_be_bytes().to_vec());
            }
            Block::Roundtrip {
                until,
                remaining,
                opcode: want,
                payload,
                within,
            } => {
                if opcode != want || data.len() != payload.len() {
                    self.script_verdict = Some((
                        Behavior::Failed,
                        format!(
                            "echo {} of the series: expected a {} message of length {}; got a {} message of length {}",
                            remaining,
                            kind(want),
                            payload.len(),
                            kind(opcode),
                            data.len()
                        ),
                    ));
                    self.start_close(now, CloseCode::NORMAL.0.to_be_bytes().to_vec());
                } else if remaining == 1 {
                    self.script_verdict =
                        Some((Behavior::Ok, "every echo arrived, in order".into()));
                    self.start_close(now, CloseCode::NORMAL.0.to_be_bytes().to_vec());
                } else {
                    self.send_message(want, payload.clone());
                    self.block = Block::Roundtrip {
                        until,
                        remaining: remaining - 1,
                        opcode: want,
                        payload,
                        within,
                    };
                }
            }
            Block::Limit { probe, within, .. } => self.limit_echo(now, probe, within, data.len()),
            other => {
                self.block = other;
                self.record(
                    now,
                    Observed::Message {
                        opcode,
                        payload: data,
                    },
                );
            }
        }
        self.advance(now);
    }

    /// A pong during a ping flood: the flood ends with the pong of the last ping.
    pub(super) fn flood_pong(&mut self, now: Instant, payload: &[u8]) {
        let Block::PingFlood { tally, within, .. } = &mut self.block else {
            return;
        };
        if tally.pong(payload) {
            let verdict = tally.verdict(*within);
            self.block = Block::None;
            self.script_verdict = Some(verdict);
            self.start_close(now, CloseCode::NORMAL.0.to_be_bytes().to_vec());
            self.advance(now);
        }
    }
}

/// The next `len` code points (text) or bytes (binary) of `data` from `cursor`, taken
/// cyclically; the cursor moves on (Autobahn cuts text files in code points, so a text
/// message is valid UTF-8 and may be longer than `len` bytes).
pub(super) fn cut(data: &[u8], cursor: &mut usize, len: usize, text: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(len);
    if data.is_empty() {
        return out;
    }
    if !text {
        while out.len() < len {
            let n = (len - out.len()).min(data.len() - *cursor);
            out.extend_from_slice(&data[*cursor..*cursor + n]);
            *cursor = (*cursor + n) % data.len();
        }
        return out;
    }
    // Whole runs of bytes at a time: `need` bytes hold at most `need` characters; extend to a
    // character boundary, count the characters taken (bytes that are not continuation bytes),
    // and go on for the rest.
    let mut need = len;
    while need > 0 {
        let rest = &data[*cursor..];
        let mut take = need.min(rest.len());
        while take < rest.len() && rest[take] & 0xc0 == 0x80 {
            take += 1;
        }
        let chars = rest[..take].iter().filter(|&&b| b & 0xc0 != 0x80).count();
        out.extend_from_slice(&rest[..take]);
        need = need.saturating_sub(chars.max(1));
        *cursor = (*cursor + take) % data.len();
    }
    out
}
