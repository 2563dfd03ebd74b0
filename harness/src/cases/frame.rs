//! The data a case sends, as a case file writes it: frames with every header field settable
//! ([`FrameSpec`]), opcodes, declared lengths and payloads. Shared by the steps
//! ([`super::model`]) and the crafted handshakes ([`super::handshake`]).

use serde::Deserialize;

use crate::deflate::Deflater;
use crate::session::Masking;
use crate::wire::{CloseCode, LengthForm, OpCode, RawFrame, Rsv};

/// The default of the case format's `true` flags (`fin`, `auto_close`).
pub(super) fn yes() -> bool {
    true
}

/// A frame to send. Every header field can be set; the defaults make a valid final frame.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FrameSpec {
    /// `text`, `binary`, `continuation`, `close`, `ping`, `pong`, or a number 0–15.
    pub opcode: OpcodeSpec,
    /// FIN (default true).
    #[serde(default = "yes")]
    pub fin: bool,
    /// The RSV field as a 3-bit number: 4 = RSV1, 2 = RSV2, 1 = RSV3 (Autobahn's notation).
    #[serde(default)]
    pub rsv: u8,
    /// The payload (default empty).
    #[serde(default)]
    pub payload: Payload,
    /// The mask bit. By default as the harness's side requires (RFC 6455 §5.1: a client
    /// masks every frame, a server none); `false` or `true` breaks the rule on purpose.
    #[serde(default)]
    pub masked: Option<bool>,
    /// The length form: 7, 16 or 64 bits (default: the minimal one).
    #[serde(default)]
    pub length_bits: Option<u8>,
    /// A length to declare instead of the payload's: a number, or a string in hex
    /// (`"0x8000000000000005"`) for lengths beyond TOML's integers (the top bit set).
    #[serde(default)]
    pub declared_len: Option<DeclaredLen>,
    /// The masking key in hex (`"00000000"`), instead of a fresh random key for each frame.
    #[serde(default)]
    pub mask_key: Option<String>,
    /// For close frames: send as raw bytes, without starting the harness's closing handshake
    /// (Autobahn's raw close in 3.7 and 7.1.2).
    #[serde(default)]
    pub raw: bool,
}

impl FrameSpec {
    /// The header fields that need checking: the length form and the RSV bits.
    fn header(&self) -> Result<(LengthForm, Rsv), String> {
        let form = match self.length_bits {
            None => LengthForm::Minimal,
            Some(7) => LengthForm::Bits7,
            Some(16) => LengthForm::Bits16,
            Some(64) => LengthForm::Bits64,
            Some(n) => return Err(format!("length_bits must be 7, 16 or 64, not {n}")),
        };
        if self.rsv > 7 {
            return Err(format!("rsv must be 0–7, not {}", self.rsv));
        }
        self.key()?;
        Ok((form, Rsv::from_bits(self.rsv)))
    }

    /// The fixed masking key, if the frame names one.
    fn key(&self) -> Result<Option<[u8; 4]>, String> {
        self.mask_key
            .as_deref()
            .map(|hex| {
                parse_hex(hex)?
                    .try_into()
                    .map_err(|_| format!("mask_key {hex:?} is not 4 bytes of hex"))
            })
            .transpose()
    }

    /// Checks the fields without building the payload.
    pub fn validate(&self) -> Result<(), String> {
        self.header()?;
        self.payload.validate()
    }

    /// How the frame is masked: a named key, the bit forced on or off, or as the side
    /// requires.
    pub fn masking(&self) -> Result<Masking, String> {
        Ok(match (self.key()?, self.masked) {
            (_, Some(false)) => Masking::Unmasked,
            (Some(key), _) => Masking::Key(key),
            (None, Some(true)) => Masking::Masked,
            (None, None) => Masking::BySide,
        })
    }

    /// The frame, unmasked; [`FrameSpec::masking`] says how to mask it.
    pub fn to_raw(&self) -> Result<RawFrame, String> {
        let (form, rsv) = self.header()?;
        let mut frame = RawFrame::new(self.opcode.0, self.payload.bytes()?)
            .fin(self.fin)
            .rsv(rsv)
            .length_form(form);
        if let Some(len) = self.declared_len {
            frame = frame.declared_len(len.0);
        }
        Ok(frame)
    }
}

/// A declared frame length: a TOML integer, or a hex string for the top half of u64.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeclaredLen(pub u64);

impl<'de> Deserialize<'de> for DeclaredLen {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Number(u64),
            Text(String),
        }
        match Raw::deserialize(d)? {
            Raw::Number(n) => Ok(DeclaredLen(n)),
            Raw::Text(t) => t
                .strip_prefix("0x")
                .and_then(|h| u64::from_str_radix(h, 16).ok())
                .map(DeclaredLen)
                .ok_or_else(|| {
                    serde::de::Error::custom(format!(
                        "declared_len {t:?} is not a number or a hex string like \"0x8000000000000005\""
                    ))
                }),
        }
    }
}

/// An opcode by name or number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpcodeSpec(pub OpCode);

impl<'de> Deserialize<'de> for OpcodeSpec {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Name(String),
            Number(i64),
        }
        let op = match Raw::deserialize(d)? {
            Raw::Number(n @ 0..=15) => OpCode::new(n as u8),
            Raw::Number(n) => {
                return Err(serde::de::Error::custom(format!("opcode {n} is not 0–15")));
            }
            Raw::Name(name) => match name.as_str() {
                "text" => OpCode::TEXT,
                "binary" => OpCode::BINARY,
                "continuation" => OpCode::CONTINUATION,
                "close" => OpCode::CLOSE,
                "ping" => OpCode::PING,
                "pong" => OpCode::PONG,
                other => {
                    return Err(serde::de::Error::custom(format!(
                        "opcode {other:?} is not text, binary, continuation, close, ping, pong or 0–15"
                    )));
                }
            },
        };
        Ok(OpcodeSpec(op))
    }
}

/// Payload bytes, written the most readable way.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum Payload {
    /// UTF-8 text: `payload = "Hello, world!"`.
    Text(String),
    /// Structured forms.
    Spec(PayloadSpec),
}

impl Default for Payload {
    fn default() -> Self {
        Payload::Text(String::new())
    }
}

/// The structured payload forms; exactly one of `hex`, `repeat`, `repeat_hex`, `code`,
/// `deflate`, `deflate_zeros`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct PayloadSpec {
    /// Bytes in hex: `{ hex = "cebae1bdb9" }`.
    #[serde(default)]
    pub hex: Option<String>,
    /// A text pattern repeated and cut to `len` bytes: `{ repeat = "*", len = 125 }`.
    #[serde(default)]
    pub repeat: Option<String>,
    /// A byte pattern in hex repeated and cut to `len` bytes: `{ repeat_hex = "fe", len = 125 }`.
    #[serde(default)]
    pub repeat_hex: Option<String>,
    /// The length for `repeat` and `repeat_hex`.
    #[serde(default)]
    pub len: Option<usize>,
    /// A close payload: the code, then `reason` (text) or `reason_hex`.
    #[serde(default)]
    pub code: Option<u16>,
    /// The close reason text.
    #[serde(default)]
    pub reason: Option<String>,
    /// The close reason in hex (for invalid UTF-8).
    #[serde(default)]
    pub reason_hex: Option<String>,
    /// This text compressed as one permessage-deflate message on its own (RFC 7692 §7.2.1:
    /// raw DEFLATE, sync-flushed, tail removed; no reference to earlier messages), for frames
    /// sent with `rsv = 4`: `{ deflate = "Hello" }`.
    #[serde(default)]
    pub deflate: Option<String>,
    /// This many zero bytes compressed the same way: a decompression bomb (about 1000:1),
    /// built without holding the zeros: `{ deflate_zeros = 268435457 }`.
    #[serde(default)]
    pub deflate_zeros: Option<usize>,
}

/// The largest payload a case may build (16 MiB is Autobahn's largest; 9.x and the limit
/// probes stay below this): a bound on the harness's memory, whatever a file says.
pub const MAX_PAYLOAD: usize = 256 << 20;

/// Parses hex, ignoring spaces.
pub fn parse_hex(hex: &str) -> Result<Vec<u8>, String> {
    let digits: Vec<u8> = hex.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    if !digits.len().is_multiple_of(2) {
        return Err(format!("hex {hex:?} has an odd number of digits"));
    }
    digits
        .chunks(2)
        .map(|pair| {
            std::str::from_utf8(pair)
                .ok()
                .and_then(|s| u8::from_str_radix(s, 16).ok())
                .ok_or_else(|| format!("{hex:?} is not hex"))
        })
        .collect()
}

/// A payload's form, checked: the one place that decides which fields go together.
enum Form<'a> {
    Bytes(Vec<u8>),
    Zeros(usize),
    Repeat { pattern: Vec<u8>, len: usize },
    Close { code: u16, reason: Vec<u8> },
    Text(&'a str),
}

impl Payload {
    /// The form, with every hex field parsed; cheap (repeats are not expanded).
    fn form(&self) -> Result<Form<'_>, String> {
        let spec = match self {
            Payload::Text(text) => return Ok(Form::Text(text)),
            Payload::Spec(spec) => spec,
        };
        let repeat = |pattern: Vec<u8>| -> Result<Form<'_>, String> {
            let len = spec.len.ok_or("a repeated payload needs `len`")?;
            if len > MAX_PAYLOAD {
                return Err(format!(
                    "a repeated payload of {len} bytes is over the {MAX_PAYLOAD}-byte bound"
                ));
            }
            if pattern.is_empty() {
                return Err("a repeated pattern cannot be empty".into());
            }
            Ok(Form::Repeat { pattern, len })
        };
        match (&spec.deflate, spec.deflate_zeros) {
            (Some(_), Some(_)) => return Err("give `deflate` or `deflate_zeros`, not both".into()),
            (Some(text), None) => {
                return Ok(Form::Bytes(
                    Deflater::new(15, false, 6).compress(text.as_bytes()),
                ));
            }
            (None, Some(n)) if n > 4 << 30 => {
                return Err(format!("deflate_zeros = {n} is over the 4 GiB bound"));
            }
            (None, Some(n)) => return Ok(Form::Zeros(n)),
            (None, None) => {}
        }
        match (&spec.hex, &spec.repeat, &spec.repeat_hex, spec.code) {
            (Some(hex), None, None, None) => parse_hex(hex).map(Form::Bytes),
            (None, Some(text), None, None) => repeat(text.as_bytes().to_vec()),
            (None, None, Some(hex), None) => repeat(parse_hex(hex)?),
            (None, None, None, Some(code)) => {
                let reason = match (&spec.reason, &spec.reason_hex) {
                    (Some(text), None) => text.as_bytes().to_vec(),
                    (None, Some(hex)) => parse_hex(hex)?,
                    (None, None) => Vec::new(),
                    _ => return Err("give `reason` or `reason_hex`, not both".into()),
                };
                Ok(Form::Close { code, reason })
            }
            _ => Err("a payload is a string, or a table with exactly one of hex, repeat, repeat_hex, code".into()),
        }
    }

    /// Checks the payload is well-formed without building it (a 16 MiB payload is built only
    /// when the case runs).
    pub fn validate(&self) -> Result<(), String> {
        self.form().map(drop)
    }

    /// The length in bytes, without building the payload.
    pub fn len(&self) -> Result<usize, String> {
        Ok(match self.form()? {
            Form::Text(text) => text.len(),
            Form::Bytes(bytes) => bytes.len(),
            Form::Repeat { len, .. } => len,
            Form::Close { reason, .. } => 2 + reason.len(),
            // An upper bound (zlib packs zeros at about 1030:1), not built to be measured.
            Form::Zeros(n) => n / 256 + 64,
        })
    }

    /// Whether the payload is empty.
    pub fn is_empty(&self) -> Result<bool, String> {
        self.len().map(|n| n == 0)
    }

    /// The bytes.
    pub fn bytes(&self) -> Result<Vec<u8>, String> {
        Ok(match self.form()? {
            Form::Text(text) => text.as_bytes().to_vec(),
            Form::Bytes(bytes) => bytes,
            Form::Repeat { pattern, len } => {
                // Doubling copies: a 16 MiB payload in 24 memcpys, not 16 million pushes.
                let mut out = Vec::with_capacity(len);
                out.extend_from_slice(&pattern[..pattern.len().min(len)]);
                while out.len() < len {
                    let n = out.len().min(len - out.len());
                    out.extend_from_within(..n);
                }
                out
            }
            Form::Close { code, reason } => {
                let mut out = CloseCode(code).0.to_be_bytes().to_vec();
                out.extend(reason);
                out
            }
            Form::Zeros(n) => Deflater::new(15, false, 6).compress_repeated(0, n),
        })
    }
}
