//! Case scripts from arbitrary bytes: the stateful step generator. A fuzzer's bytes (or, for
//! live fuzzing, a seeded generator's) become a [`Sequence`] of steps — valid and invalid
//! frames, fragments, control frames in the middle of messages, chopped writes, pauses and
//! closes — and then a case file in the ordinary format, so that what it finds replays with
//! `wsconform run --cases-dir`. A sequence is data, so that a live fuzzer can shrink it
//! ([`super::shrink`]).
//!
//! Every generated file parses (a property the fuzz target checks), and every case is
//! bounded: at most [`MAX_STEPS`] steps, small payloads (one in a while 70 000 bytes, past
//! the 16-bit length form), waits of at most half a second, and a kill timer.

use std::fmt::Write;

use arbitrary::{Result, Unstructured};

/// The most steps in a generated case.
pub const MAX_STEPS: usize = 8;

/// The opcodes a generated frame may have (data, control, continuation, and two reserved).
const OPCODES: [&str; 9] = [
    "\"text\"",
    "\"text\"",
    "\"binary\"",
    "\"continuation\"",
    "\"ping\"",
    "\"pong\"",
    "\"close\"",
    "3",
    "11",
];

/// Invalid and tricky UTF-8 (a valid Greek word, code points past U+10FFFF, a surrogate, an
/// overlong slash, a lone 0xFF, a truncated sequence).
const UTF8_SAMPLES: [&str; 6] = [
    "cebae1bdb9cf83cebcceb5",
    "f4908080",
    "eda080",
    "c0af",
    "ff",
    "e282",
];

/// A generated sequence of steps.
#[derive(Debug, Clone, PartialEq)]
pub struct Sequence {
    /// The steps, in order.
    pub steps: Vec<GenStep>,
}

/// One generated step.
#[derive(Debug, Clone, PartialEq)]
pub enum GenStep {
    /// `send`: frames, written as `write` says.
    Send {
        /// The frames.
        frames: Vec<GenFrame>,
        /// How they go on the wire.
        write: Write_,
    },
    /// `send_message`: a message cut into fragments.
    Message {
        /// `text` or `binary`.
        text: bool,
        /// The payload.
        payload: GenPayload,
        /// The largest fragment.
        fragment: u8,
        /// How the frames go on the wire.
        write: Write_,
    },
    /// `close`: an empty one, or a code and a reason.
    Close(Option<(u16, Vec<u8>)>),
    /// `wait`, in hundredths of a second, tagged or not.
    Wait {
        /// Hundredths of a second.
        centis: u8,
        /// Record `timeout(T)` if the connection is still open after it.
        tag: bool,
    },
    /// `ping_flood`: this many pings in one write.
    PingFlood(u8),
    /// `pause_reading`, in hundredths of a second.
    PauseReading(u8),
}

/// A write mode (`plain`, `sync`, `chop:N`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Write_ {
    /// All frames in one write.
    Plain,
    /// One write per frame.
    Sync,
    /// Writes of this many bytes.
    Chop(u8),
}

/// A generated frame: mostly well-formed, with every field sometimes wrong.
#[derive(Debug, Clone, PartialEq)]
pub struct GenFrame {
    /// The opcode as the case file writes it (`"text"`, `3`).
    pub opcode: &'static str,
    /// FIN clear.
    pub unfinished: bool,
    /// RSV bits (0: none).
    pub rsv: u8,
    /// A close frame's payload as it is (not code + reason).
    pub raw: bool,
    /// The payload.
    pub payload: GenPayload,
    /// 0: masked with a fresh key; 1: unmasked; 2: masked with the key 0.
    pub mask: u8,
    /// A longer length form than needed (16 or 64), if any.
    pub length_bits: Option<u8>,
    /// A length that lies, if any.
    pub declared_len: Option<u16>,
}

/// A generated payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GenPayload {
    /// These bytes.
    Bytes(Vec<u8>),
    /// `*` this many times.
    Repeat(u32),
}

impl Sequence {
    /// A sequence read from `u`.
    pub fn arbitrary(u: &mut Unstructured<'_>) -> Result<Self> {
        let mut steps = Vec::new();
        for _ in 0..u.int_in_range(1..=MAX_STEPS)? {
            steps.push(step(u)?);
        }
        Ok(Sequence { steps })
    }

    /// The case file text: one `[[case]]` named by `head`, with a kill timer `kill` seconds
    /// after the opening handshake; or, for a live fuzzer's case (`expect` given),
    /// `predict = true`, the events the harness waits for, and the kill timer armed `kill`
    /// seconds after the last step (writing the steps takes real time on a real
    /// connection, none in the model).
    pub fn case_text(&self, head: &CaseHead<'_>, kill: f64, expect: Option<&[String]>) -> String {
        let CaseHead { id, title, rfc } = head;
        let mut out = format!("[[case]]\nid = \"{id}\"\ntitle = \"{title}\"\nrfc = \"{rfc}\"\n");
        if expect.is_some() {
            out.push_str("peer = \"server\"\npredict = true\n");
        } else {
            let _ = writeln!(out, "kill = {kill}");
        }
        out.push_str("steps = [\n");
        for s in &self.steps {
            let _ = writeln!(out, "  {},", s.to_toml());
        }
        if expect.is_some() {
            let _ = writeln!(out, "  {{ arm = {{ kill = {kill} }} }},");
        }
        out.push_str("]\n");
        match expect {
            Some(events) => {
                out.push_str("expect.ok = [\n");
                for e in events {
                    let _ = writeln!(out, "  {e},");
                }
                out.push_str("]\n");
            }
            None => out.push_str("close = \"ok\"\n"),
        }
        out
    }
}

/// The id, title and RFC anchor of a generated case (the title and anchor are written as
/// they are: no quotes or backslashes).
#[derive(Debug, Clone, Copy)]
pub struct CaseHead<'a> {
    /// The id.
    pub id: &'a str,
    /// One line.
    pub title: &'a str,
    /// The RFC anchor.
    pub rfc: &'a str,
}

impl CaseHead<'static> {
    /// What the stateful fuzz target names its case.
    pub const GENERATED: CaseHead<'static> = CaseHead {
        id: "99.1",
        title: "A generated sequence",
        rfc: "rfc6455#section-5",
    };
}

impl Sequence {
    /// The same steps without the frame-level rule breaks: no RSV bits, no reserved opcodes
    /// (text or binary instead), masked as a client must, in the minimal length form, no
    /// length that lies, raw closes sent as closes. What is left is the structure:
    /// fragments, control frames between them, chops, pauses and closes, so that a bug in
    /// the gaps is not hidden behind the first broken frame. (A continuation without a start,
    /// invalid UTF-8 or a bad close code can remain.)
    pub fn tidy(mut self) -> Self {
        for step in &mut self.steps {
            let GenStep::Send { frames, .. } = step else {
                continue;
            };
            for f in frames {
                f.rsv = 0;
                f.mask = 0;
                f.length_bits = None;
                f.declared_len = None;
                f.raw = false;
                f.opcode = match f.opcode {
                    "3" => "\"text\"",
                    "11" => "\"binary\"",
                    other => other,
                };
                let control = matches!(f.opcode, "\"ping\"" | "\"pong\"" | "\"close\"");
                if control {
                    f.unfinished = false;
                    if f.payload.len() > 125 {
                        f.payload = GenPayload::Bytes(b"ping".to_vec());
                    }
                }
            }
        }
        self
    }
}

/// One case, as the text of a case file (`[[case]]` with id `99.1` and a 2-second kill
/// timer): what the stateful fuzz target runs.
pub fn arbitrary_case(u: &mut Unstructured<'_>) -> Result<String> {
    Ok(Sequence::arbitrary(u)?.case_text(&CaseHead::GENERATED, 2.0, None))
}

impl GenStep {
    /// The step as a case file writes it (an inline table).
    pub fn to_toml(&self) -> String {
        match self {
            GenStep::Send { frames, write } => format!(
                "{{ send = {{ frames = [ {} ], write = \"{}\" }} }}",
                frames
                    .iter()
                    .map(GenFrame::to_toml)
                    .collect::<Vec<_>>()
                    .join(", "),
                write.to_toml()
            ),
            GenStep::Message {
                text,
                payload,
                fragment,
                write,
            } => format!(
                "{{ send_message = {{ opcode = \"{}\", payload = {}, fragment = {fragment}, write = \"{}\" }} }}",
                if *text { "text" } else { "binary" },
                payload.to_toml(),
                write.to_toml()
            ),
            GenStep::Close(None) => "{ close = {} }".to_owned(),
            GenStep::Close(Some((code, reason))) => format!(
                "{{ close = {{ code = {code}, reason_hex = \"{}\" }} }}",
                to_hex(reason)
            ),
            GenStep::Wait { centis, tag } => {
                let secs = f64::from(*centis) / 100.0;
                if *tag {
                    format!("{{ wait = {{ secs = {secs}, tag = \"T\" }} }}")
                } else {
                    format!("{{ wait = {{ secs = {secs} }} }}")
                }
            }
            GenStep::PingFlood(count) => {
                format!("{{ ping_flood = {{ count = {count}, within = 1 }} }}")
            }
            GenStep::PauseReading(centis) => format!(
                "{{ pause_reading = {{ secs = {} }} }}",
                f64::from(*centis) / 100.0
            ),
        }
    }
}

impl Write_ {
    fn to_toml(self) -> String {
        match self {
            Write_::Plain => "plain".to_owned(),
            Write_::Sync => "sync".to_owned(),
            Write_::Chop(n) => format!("chop:{n}"),
        }
    }
}

impl GenFrame {
    /// A well-formed frame: masked with a fresh key, minimal length, no RSV bits.
    pub fn plain(opcode: &'static str, fin: bool, payload: &[u8]) -> Self {
        GenFrame {
            opcode,
            unfinished: !fin,
            rsv: 0,
            raw: false,
            payload: GenPayload::Bytes(payload.to_vec()),
            mask: 0,
            length_bits: None,
            declared_len: None,
        }
    }

    fn to_toml(&self) -> String {
        let mut fields = vec![format!("opcode = {}", self.opcode)];
        if self.unfinished {
            fields.push("fin = false".into());
        }
        if self.rsv != 0 {
            fields.push(format!("rsv = {}", self.rsv));
        }
        if self.raw {
            fields.push("raw = true".into());
        }
        fields.push(format!("payload = {}", self.payload.to_toml()));
        match self.mask {
            1 => fields.push("masked = false".into()),
            2 => fields.push("mask_key = \"00000000\"".into()),
            _ => {}
        }
        if let Some(bits) = self.length_bits {
            fields.push(format!("length_bits = {bits}"));
        }
        if let Some(len) = self.declared_len {
            fields.push(format!("declared_len = {len}"));
        }
        format!("{{ {} }}", fields.join(", "))
    }
}

impl GenPayload {
    fn to_toml(&self) -> String {
        match self {
            GenPayload::Bytes(b) => format!("{{ hex = \"{}\" }}", to_hex(b)),
            GenPayload::Repeat(len) => format!("{{ repeat = \"*\", len = {len} }}"),
        }
    }

    /// How many bytes it holds.
    pub fn len(&self) -> usize {
        match self {
            GenPayload::Bytes(b) => b.len(),
            GenPayload::Repeat(n) => *n as usize,
        }
    }

    /// Whether it is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

fn step(u: &mut Unstructured<'_>) -> Result<GenStep> {
    Ok(match u.int_in_range(0..=9)? {
        0..=4 => {
            let mut frames = Vec::new();
            for _ in 0..u.int_in_range(1..=4)? {
                frames.push(frame(u)?);
            }
            GenStep::Send {
                frames,
                write: write_mode(u)?,
            }
        }
        5 => GenStep::Message {
            text: *u.choose(&[true, false])?,
            payload: payload(u)?,
            fragment: u.int_in_range(1..=5)?,
            write: write_mode(u)?,
        },
        6 => {
            let code = *u.choose(&[1000u16, 1001, 1002, 1007, 3000, 4999, 999, 1005, 5000])?;
            if u.ratio(1, 4)? {
                GenStep::Close(None)
            } else {
                GenStep::Close(Some((code, bytes(u, 8)?)))
            }
        }
        7 => GenStep::Wait {
            centis: u.int_in_range(0..=50u8)?,
            tag: u.arbitrary()?,
        },
        8 => GenStep::PingFlood(u.int_in_range(1..=20)?),
        _ => GenStep::PauseReading(u.int_in_range(0..=30u8)?),
    })
}

fn write_mode(u: &mut Unstructured<'_>) -> Result<Write_> {
    Ok(match u.int_in_range(0..=3)? {
        0 | 1 => Write_::Plain,
        2 => Write_::Sync,
        _ => Write_::Chop(u.int_in_range(1..=7)?),
    })
}

fn frame(u: &mut Unstructured<'_>) -> Result<GenFrame> {
    let opcode = *u.choose(&OPCODES)?;
    let unfinished = u.ratio(1, 4)?;
    let rsv = if u.ratio(1, 8)? {
        u.int_in_range(1..=7)?
    } else {
        0
    };
    let raw = opcode == "\"close\"" && u.arbitrary()?;
    let payload = payload(u)?;
    let mask = match u.int_in_range(0..=15)? {
        0 => 1,
        1 => 2,
        _ => 0,
    };
    let length_bits = if u.ratio(1, 10)? {
        Some(*u.choose(&[16, 64])?)
    } else {
        None
    };
    // A length that lies: the peer reads the next frames as this one's payload, or waits.
    let declared_len = if u.ratio(1, 30)? {
        Some(u.int_in_range(0..=200u16)?)
    } else {
        None
    };
    Ok(GenFrame {
        opcode,
        unfinished,
        rsv,
        raw,
        payload,
        mask,
        length_bits,
        declared_len,
    })
}

/// A payload: short bytes (often text, sometimes invalid UTF-8), rarely a long run.
fn payload(u: &mut Unstructured<'_>) -> Result<GenPayload> {
    Ok(match u.int_in_range(0..=9)? {
        0 => GenPayload::Repeat(*u.choose(&[125, 126, 65_535, 70_000])?),
        1 => GenPayload::Bytes(bytes(u, 130)?),
        2 => GenPayload::Bytes(from_hex(u.choose(&UTF8_SAMPLES)?)),
        _ => {
            let len = u.int_in_range(0..=12)?;
            let text: Vec<u8> = (0..len)
                .map(|_| u.choose(b"abz 0").copied())
                .collect::<Result<_>>()?;
            GenPayload::Bytes(text)
        }
    })
}

fn bytes(u: &mut Unstructured<'_>, max: usize) -> Result<Vec<u8>> {
    let len = u.int_in_range(0..=max)?;
    (0..len).map(|_| u.arbitrary()).collect()
}

fn from_hex(hex: &str) -> Vec<u8> {
    (0..hex.len() / 2)
        .filter_map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok())
        .collect()
}

/// Bytes as lowercase hex.
pub fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cases::parse_case_file;

    #[test]
    fn every_generated_case_parses_whatever_the_bytes() {
        let mut rng = fastrand::Rng::with_seed(7);
        for _ in 0..300 {
            let data: Vec<u8> = (0..rng.usize(0..600)).map(|_| rng.u8(..)).collect();
            let Ok(text) = arbitrary_case(&mut Unstructured::new(&data)) else {
                continue;
            };
            let cases =
                parse_case_file("generated.toml", &text).unwrap_or_else(|e| panic!("{e}\n{text}"));
            assert_eq!(cases.len(), 1);
            assert!(cases[0].steps.len() <= MAX_STEPS);
        }
    }

    #[test]
    fn the_text_of_a_sequence_is_what_the_stateful_target_always_read() {
        // The layout of the text the stateful fuzz target has always run (committed
        // regression inputs keep meaning the same sequences).
        let seq = Sequence {
            steps: vec![
                GenStep::Send {
                    frames: vec![GenFrame {
                        opcode: "\"text\"",
                        unfinished: true,
                        rsv: 0,
                        raw: false,
                        payload: GenPayload::Bytes(b"ab".to_vec()),
                        mask: 2,
                        length_bits: Some(16),
                        declared_len: None,
                    }],
                    write: Write_::Chop(3),
                },
                GenStep::Wait {
                    centis: 25,
                    tag: true,
                },
                GenStep::Close(Some((1000, vec![0xff]))),
            ],
        };
        assert_eq!(
            seq.case_text(&CaseHead::GENERATED, 2.0, None),
            "[[case]]\nid = \"99.1\"\ntitle = \"A generated sequence\"\nrfc = \"rfc6455#section-5\"\nkill = 2\nsteps = [\n  { send = { frames = [ { opcode = \"text\", fin = false, payload = { hex = \"6162\" }, mask_key = \"00000000\", length_bits = 16 } ], write = \"chop:3\" } },\n  { wait = { secs = 0.25, tag = \"T\" } },\n  { close = { code = 1000, reason_hex = \"ff\" } },\n]\nclose = \"ok\"\n"
        );
    }
}
