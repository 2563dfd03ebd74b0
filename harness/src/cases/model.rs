//! The case format: what a case file says, as types.
//!
//! A case is an id, a title, the RFC section it enforces, the steps it performs and what it
//! expects. The format is documented for users in `cases/README.md`; this module is its
//! definition. Every field a file can hold is here, and unknown fields are errors.

use serde::Deserialize;

use super::frame::{FrameSpec, OpcodeSpec, Payload, yes};
use super::handshake::HandshakeSpec;
use super::respond::ResponseSpec;

/// One case.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Case {
    /// The id, Autobahn's where the case is one of Autobahn's (`1.1.1`).
    pub id: String,
    /// One line.
    pub title: String,
    /// The RFC anchor it enforces: `rfc6455#section-5.2`.
    pub rfc: String,
    /// What the case does and why, in a sentence or two (optional).
    #[serde(default)]
    pub description: Option<String>,
    /// Where and why this case deliberately differs from Autobahn's.
    #[serde(default)]
    pub deviation: Option<String>,
    /// The Autobahn cases this one judges by the letter of the RFC where Autobahn's verdict
    /// is lenient (a strict companion, section 19): their ids.
    #[serde(default)]
    pub tightens: Vec<String>,
    /// Why the verdict depends on timing, when it does (left out of snapshot tests).
    #[serde(default)]
    pub timing_dependent: Option<String>,
    /// Run with no other case in flight (timings are the point).
    #[serde(default)]
    pub alone: bool,
    /// Seconds after the handshake at which the harness fails the connection if it is still
    /// open (Autobahn's `kill`): close 1001 "Going Away", or dropping TCP if already closing.
    #[serde(default)]
    pub kill: Option<f64>,
    /// Seconds after the handshake at which the harness sends an empty close if still open
    /// (Autobahn's `close` timer).
    #[serde(default)]
    pub close_after: Option<f64>,
    /// Send close 1000 as soon as the events seen equal every expected list (Autobahn's
    /// auto-close). Only when the harness is expected to close first.
    #[serde(default = "yes")]
    pub auto_close: bool,
    /// Both verdicts are INFORMATIONAL whatever happens.
    #[serde(default)]
    pub informational: bool,
    /// The `--param` values the case needs (without them it is reported as not run).
    #[serde(default)]
    pub needs: Vec<String>,
    /// A crafted opening handshake and the answer expected (section 0). Without it the
    /// harness sends a valid request and the case starts after the 101.
    #[serde(default)]
    pub handshake: Option<HandshakeSpec>,
    /// A crafted opening-handshake response, and what the client must do with it (section
    /// 20): the case tests clients, under `wsconform serve`.
    #[serde(default)]
    pub respond: Option<ResponseSpec>,
    /// The implementation the case tests, when only one: `"client"` (run by `wsconform
    /// serve` only) or `"server"`. Without it, both (Autobahn's sections 1-7, 9, 10).
    #[serde(default)]
    pub peer: Option<PeerRole>,
    /// The client's masking (RFC 6455 §5.3, §4.1: checked on every case) decides the
    /// verdict: a key problem on this connection fails the case (section 21).
    #[serde(default)]
    pub judge_masking: bool,
    /// permessage-deflate (RFC 7692): the harness offers it in its request, and uses it when
    /// the server accepts.
    #[serde(default)]
    pub deflate: Option<DeflateSpec>,
    /// After the case, the server must still complete a handshake and echo a message on a
    /// fresh connection (it survived); otherwise the case fails whatever else it saw.
    #[serde(default)]
    pub check_alive: bool,
    /// The verdict is the model's (live fuzzing's repro files): the same steps run in
    /// process against the reference server, once for each choice the RFC leaves to a server,
    /// and the peer must behave as one of those runs does (messages, pongs, how it closes;
    /// `harness/src/runner/predict.rs`). The harness closes once the script is done and
    /// the `expect.ok` events have come; `close` is not used.
    #[serde(default)]
    pub predict: bool,
    /// What the harness does after the opening handshake.
    #[serde(default)]
    pub steps: Vec<Step>,
    /// The events expected.
    #[serde(default)]
    pub expect: Expect,
    /// How the connection must close (default `"ok"`).
    #[serde(default = "CloseExpect::harness_closes")]
    pub close: CloseExpect,
}

/// The implementation a case tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PeerRole {
    /// A client (the harness plays the server).
    Client,
    /// A server (the harness plays the client).
    Server,
}

impl Case {
    /// Whether the case can test an implementation in `role`.
    pub fn tests(&self, role: PeerRole) -> bool {
        self.peer.is_none_or(|p| p == role)
    }
}

/// One thing the harness does.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Step {
    /// Send frames.
    Send(SendStep),
    /// Send one message, fragmented into frames of at most `fragment` bytes.
    SendMessage(MessageStep),
    /// Write a frame header that declares `len` payload bytes; the payload follows in
    /// `frame_data` steps (so a frame can arrive in pieces with pauses in between).
    BeginFrame(BeginFrameStep),
    /// Payload bytes of the frame begun by `begin_frame`, masked with its key.
    FrameData(Payload),
    /// Start the closing handshake: send a close frame and wait for the reply.
    Close(CloseStep),
    /// Pause. With a tag, record `timeout(tag)` when the pause ends with the connection open.
    Wait(WaitStep),
    /// Arm a timer now rather than at the start.
    Arm(ArmStep),
    /// Wait for the first data message: it must have this type and length (content is not
    /// compared, as in Autobahn's 9.1–9.6). Then close 1000.
    ExpectFirstMessage(FirstMessageStep),
    /// Send `count` messages one at a time, each after the echo of the one before.
    Roundtrip(RoundtripStep),
    /// Send `count` pings in one write and judge the pongs (RFC 6455 §5.5.3).
    PingFlood(PingFloodStep),
    /// Stop reading for `secs` seconds while the script goes on (back-pressure).
    PauseReading(WaitStep),
    /// Find the server's message size limit (`--param max_message`, or an upward probe).
    ProbeLimit(ProbeLimitStep),
    /// Right now, while this connection is busy, a second connection must get a handshake and
    /// an echo (within the connect and handshake timeouts and 5 s); otherwise the case fails.
    Alive(AliveStep),
    /// Autobahn's 12.x/13.x script: `count` messages cut from a data set, each sent after
    /// the echo of the one before, compressed when permessage-deflate was agreed; every echo
    /// must equal what was sent.
    Series(SeriesStep),
}

/// The offer a case without its own makes: Autobahn's default (sections 12 and 13.1).
pub const DEFAULT_DEFLATE_OFFER: &str =
    "permessage-deflate; client_no_context_takeover; client_max_window_bits";

/// `[deflate]`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeflateSpec {
    /// The `Sec-WebSocket-Extensions` value of the request (default
    /// [`DEFAULT_DEFLATE_OFFER`]).
    #[serde(default = "default_offer")]
    pub offer: String,
    /// Without permessage-deflate agreed the case is UNIMPLEMENTED and closes at once
    /// (Autobahn's rule for 12.x and 13.x); `false` runs it anyway.
    #[serde(default = "yes")]
    pub required: bool,
    /// The largest message the harness inflates, in bytes (default
    /// [`DEFAULT_INFLATE_LIMIT`]; a case that sizes its messages from `--param max_message`
    /// gets at least that + 1). A bigger one fails the connection with 1009, so a bomb never
    /// grows the harness past this bound, however small its compressed form.
    #[serde(default)]
    pub inflate_limit: Option<usize>,
}

/// The inflate limit of a deflate case that sets none: 4 MiB, thirty times the largest
/// message of sections 12 and 13 (128 KiB), so that bombs from a hostile server in every case
/// in flight stay within a few hundred megabytes.
pub const DEFAULT_INFLATE_LIMIT: usize = 4 << 20;

fn default_offer() -> String {
    DEFAULT_DEFLATE_OFFER.to_owned()
}

/// `series`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeriesStep {
    /// The data set (`json`, `bitmap`, `faust`, `html`, `pdf`); text sets go as TEXT, cut in
    /// code points.
    pub data: String,
    /// Each message's length: code points for text, bytes for binary. Message i is the next
    /// `len` of the data set, taken cyclically.
    pub len: usize,
    /// How many messages.
    pub count: usize,
    /// Frames of at most this many (compressed) bytes; 0 sends each message in one frame.
    #[serde(default)]
    pub fragment: usize,
    /// Seconds the whole series may take.
    pub within: f64,
}

/// `alive` (no fields: `{ alive = {} }`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AliveStep {}

/// `probe_limit`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProbeLimitStep {
    /// The largest message the step sends (at most 256 MiB in a case file; an upward probe's
    /// `--param probe_ceiling` may raise it to 4 GiB).
    pub max: usize,
    /// Send one message a byte over `--param max_message` instead of probing upward (the
    /// case then `needs` the param).
    #[serde(default)]
    pub known_limit: bool,
    /// With `known_limit`: send a message of exactly the limit, which must be echoed.
    #[serde(default)]
    pub at_limit: bool,
    /// Send the messages compressed with the agreed permessage-deflate (a repeated byte: each
    /// is a small bomb), so that the limit found is the one on inflated messages.
    #[serde(default)]
    pub compress: bool,
    /// Seconds to wait for each echo or close.
    pub within: f64,
}

/// `ping_flood`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PingFloodStep {
    /// How many pings (payloads `0`, `1`, … as text).
    pub count: usize,
    /// Seconds to wait for the pong of the last ping.
    pub within: f64,
}

/// `send`: frames and how to write them.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SendStep {
    /// The frames, in order.
    pub frames: Vec<FrameSpec>,
    /// How they go on the wire.
    #[serde(default)]
    pub write: WriteMode,
    /// Send the frames this many times (each time with fresh masking keys).
    #[serde(default)]
    pub repeat: Option<usize>,
}

/// How bytes go on the wire (Autobahn's three write modes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WriteMode {
    /// All frames of the step in one write.
    #[default]
    Plain,
    /// One write per frame.
    Sync,
    /// Each frame cut into writes of this many bytes.
    Chop(usize),
}

impl<'de> Deserialize<'de> for WriteMode {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        match s.as_str() {
            "plain" => Ok(WriteMode::Plain),
            "sync" => Ok(WriteMode::Sync),
            other => other
                .strip_prefix("chop:")
                .and_then(|n| n.parse::<usize>().ok())
                .filter(|n| *n > 0)
                .map(WriteMode::Chop)
                .ok_or_else(|| {
                    serde::de::Error::custom(format!(
                        "write mode {other:?} is not \"plain\", \"sync\" or \"chop:N\" (N > 0)"
                    ))
                }),
        }
    }
}

/// `send_message`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MessageStep {
    /// `text` or `binary`.
    pub opcode: OpcodeSpec,
    /// The whole message.
    pub payload: Payload,
    /// The largest fragment. The payload is cut into fragments of this size; the last one
    /// carries FIN, with no extra empty frame after it.
    pub fragment: usize,
    /// How the frames go on the wire.
    #[serde(default)]
    pub write: WriteMode,
    /// Compress the message with the agreed permessage-deflate first (RSV1 on the first
    /// frame); the fragments are then cut from the compressed bytes.
    #[serde(default)]
    pub compress: bool,
    /// RSV bits on the first frame (Autobahn's notation: 4 = RSV1), for a payload that is
    /// compressed already (`{ deflate_zeros = N }`).
    #[serde(default)]
    pub rsv: u8,
}

/// `begin_frame`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BeginFrameStep {
    /// The opcode.
    pub opcode: OpcodeSpec,
    /// FIN.
    #[serde(default = "yes")]
    pub fin: bool,
    /// The payload length the header declares.
    pub len: u64,
}

/// `close`.
#[derive(Debug, Clone, PartialEq, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct CloseStep {
    /// The code (none: an empty close payload).
    #[serde(default)]
    pub code: Option<u16>,
    /// The reason text.
    #[serde(default)]
    pub reason: Option<String>,
    /// The reason in hex, for invalid UTF-8.
    #[serde(default)]
    pub reason_hex: Option<String>,
    /// A raw payload, for payloads that are not code + reason (1 byte, 126 bytes…).
    #[serde(default)]
    pub payload: Option<Payload>,
}

/// `wait`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WaitStep {
    /// Seconds.
    pub secs: f64,
    /// Recorded as `timeout(tag)` if the connection is still open afterwards.
    #[serde(default)]
    pub tag: Option<String>,
}

/// `arm`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArmStep {
    /// Arms the kill timer, this many seconds from now.
    #[serde(default)]
    pub kill: Option<f64>,
    /// Arms the close timer, this many seconds from now.
    #[serde(default)]
    pub close_after: Option<f64>,
}

/// `expect_first_message`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FirstMessageStep {
    /// The type expected.
    pub opcode: OpcodeSpec,
    /// The length expected.
    pub len: usize,
    /// Seconds to wait for it.
    pub within: f64,
}

/// `roundtrip`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoundtripStep {
    /// How many messages.
    pub count: usize,
    /// Their type.
    pub opcode: OpcodeSpec,
    /// Each message's payload.
    pub payload: Payload,
    /// Seconds the whole series may take.
    pub within: f64,
}

/// The expected event lists.
#[derive(Debug, Clone, PartialEq, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    /// The events of a conformant peer, in order.
    #[serde(default)]
    pub ok: Vec<EventSpec>,
    /// Events the RFC also allows (Autobahn's NON-STRICT), if any.
    #[serde(default)]
    pub non_strict: Option<Vec<EventSpec>>,
    /// The pongs of `ok` but some earlier ones, the last one kept, are NON-STRICT, not
    /// FAILED: §5.5.3 lets a server answer only the most recent of several pending pings.
    #[serde(default)]
    pub pongs_may_skip: bool,
}

/// An expected event.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum EventSpec {
    /// A whole data message.
    Message(MessageSpec),
    /// A pong with this payload.
    Pong(Payload),
    /// A tagged wait ended with the connection open.
    Timeout(String),
}

/// An expected message.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MessageSpec {
    /// `text` or `binary`.
    pub opcode: OpcodeSpec,
    /// The payload.
    #[serde(default)]
    pub payload: Payload,
}

/// How the connection must close.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloseExpect {
    /// Who must send the first close: the harness (`true`) or the peer.
    pub closed_by_harness: bool,
    /// The close codes the peer may send (sending none is always accepted).
    pub codes: Vec<u16>,
    /// The closing handshake must be clean.
    pub clean: bool,
    /// If the wrong endpoint closes first, the main verdict fails too (bad UTF-8 cases).
    pub wrong_endpoint_fatal: bool,
    /// A close code outside `codes` fails the main verdict too (the 7.x cases).
    pub wrong_code_fatal: bool,
    /// The harness having to drop TCP after the closing handshake fails the main verdict
    /// (RFC 6455 §5.5.1: "The server MUST close the underlying TCP connection immediately").
    pub drop_fatal: bool,
    /// Close codes that are allowed but not the strict answer; with any, a server that fails
    /// the connection with one of them, or drops TCP without a close frame, is NON-STRICT
    /// (`codes` lists the strict ones).
    pub non_strict_codes: Vec<u16>,
    /// A close frame without a status code, or TCP ended with no close frame at all, where
    /// the case expects a code, is NON-STRICT (`no_code = "non_strict"`; RFC 6455 §7.1.7 and
    /// §10.7: the code is a SHOULD). Otherwise (`"ok"`, Autobahn's "X or empty") it is fine.
    pub no_code_non_strict: bool,
    /// An UNCLEAN close fails the main verdict too: where the harness sends a valid close,
    /// no reply or a reply that breaks a rule breaks a MUST (§5.5.1).
    pub unclean_fatal: bool,
    /// Codes with which the peer may refuse what the case sends, closing first where the
    /// harness was to close: a server protecting itself (RFC 6455 §10.4; 1009 "too big", 1008
    /// "policy") breaks no MUST. NON-STRICT instead of the wrong endpoint's FAILED.
    pub refusal_codes: Vec<u16>,
}

impl CloseExpect {
    /// `"ok"`: the harness closes first; the peer answers 1000 (or no code), cleanly.
    pub fn harness_closes() -> Self {
        Self {
            closed_by_harness: true,
            codes: vec![1000],
            clean: true,
            wrong_endpoint_fatal: false,
            wrong_code_fatal: false,
            drop_fatal: false,
            non_strict_codes: Vec::new(),
            no_code_non_strict: false,
            unclean_fatal: false,
            refusal_codes: Vec::new(),
        }
    }

    /// `"fail"`: the peer fails the connection first, with 1002 or by dropping TCP.
    pub fn peer_fails() -> Self {
        Self {
            closed_by_harness: false,
            codes: vec![1002],
            clean: false,
            ..Self::harness_closes()
        }
    }
}

impl<'de> Deserialize<'de> for CloseExpect {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Full {
            by: String,
            #[serde(default)]
            codes: Option<Vec<u16>>,
            #[serde(default)]
            clean: Option<bool>,
            #[serde(default)]
            wrong_endpoint_fatal: bool,
            #[serde(default)]
            wrong_code_fatal: bool,
            #[serde(default)]
            drop_fatal: bool,
            #[serde(default)]
            non_strict_codes: Vec<u16>,
            #[serde(default)]
            no_code: Option<String>,
            #[serde(default)]
            unclean_fatal: bool,
            #[serde(default)]
            refusal_codes: Vec<u16>,
        }
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Short(String),
            Full(Full),
        }
        let full = match Raw::deserialize(d)? {
            Raw::Short(s) if s == "ok" => return Ok(CloseExpect::harness_closes()),
            Raw::Short(s) if s == "fail" => return Ok(CloseExpect::peer_fails()),
            Raw::Short(s) => {
                return Err(serde::de::Error::custom(format!(
                    "close {s:?} is not \"ok\", \"fail\" or a table with `by`"
                )));
            }
            Raw::Full(full) => full,
        };
        let closed_by_harness = match full.by.as_str() {
            "harness" => true,
            "peer" => false,
            other => {
                return Err(serde::de::Error::custom(format!(
                    "close.by {other:?} is not \"harness\" or \"peer\""
                )));
            }
        };
        let no_code_non_strict = match full.no_code.as_deref() {
            None | Some("ok") => false,
            Some("non_strict") => true,
            Some(other) => {
                return Err(serde::de::Error::custom(format!(
                    "close.no_code {other:?} is not \"ok\" or \"non_strict\""
                )));
            }
        };
        Ok(CloseExpect {
            closed_by_harness,
            no_code_non_strict,
            unclean_fatal: full.unclean_fatal,
            refusal_codes: full.refusal_codes,
            codes: full
                .codes
                .unwrap_or_else(|| vec![if closed_by_harness { 1000 } else { 1002 }]),
            clean: full.clean.unwrap_or(closed_by_harness),
            wrong_endpoint_fatal: full.wrong_endpoint_fatal,
            wrong_code_fatal: full.wrong_code_fatal,
            drop_fatal: full.drop_fatal,
            non_strict_codes: full.non_strict_codes,
        })
    }
}
