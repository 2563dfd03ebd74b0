//! Close codes and close frame payloads, RFC 6455 §5.5.1 and §7.4.
//!
//! The classification follows §7.4.1, §7.4.2 and the IANA "WebSocket Close Code Number
//! Registry" (https://www.iana.org/assignments/websocket/websocket.xhtml#close-code-number).

use std::fmt;

use super::utf8::{Utf8Status, Utf8Validator};

/// A close status code: any 16-bit value, with names for the registered ones.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CloseCode(pub u16);

impl CloseCode {
    /// 1000: normal closure.
    pub const NORMAL: Self = Self(1000);
    /// 1001: the endpoint is going away.
    pub const GOING_AWAY: Self = Self(1001);
    /// 1002: protocol error.
    pub const PROTOCOL_ERROR: Self = Self(1002);
    /// 1003: a data type the endpoint cannot accept.
    pub const UNSUPPORTED_DATA: Self = Self(1003);
    /// 1004: reserved, no meaning defined.
    pub const RESERVED_1004: Self = Self(1004);
    /// 1005: no status code was present. Never sent on the wire.
    pub const NO_STATUS_RECEIVED: Self = Self(1005);
    /// 1006: the connection closed abnormally. Never sent on the wire.
    pub const ABNORMAL_CLOSURE: Self = Self(1006);
    /// 1007: data inconsistent with the message type (for example non-UTF-8 text).
    pub const INVALID_PAYLOAD: Self = Self(1007);
    /// 1008: a message violates the endpoint's policy.
    pub const POLICY_VIOLATION: Self = Self(1008);
    /// 1009: a message too big to process.
    pub const MESSAGE_TOO_BIG: Self = Self(1009);
    /// 1010: the client expected an extension the server did not negotiate.
    pub const MANDATORY_EXTENSION: Self = Self(1010);
    /// 1011: the server hit an unexpected condition.
    pub const INTERNAL_ERROR: Self = Self(1011);
    /// 1012: service restart (IANA, after RFC 6455).
    pub const SERVICE_RESTART: Self = Self(1012);
    /// 1013: try again later (IANA, after RFC 6455).
    pub const TRY_AGAIN_LATER: Self = Self(1013);
    /// 1014: bad gateway (IANA, after RFC 6455).
    pub const BAD_GATEWAY: Self = Self(1014);
    /// 1015: TLS handshake failure. Never sent on the wire.
    pub const TLS_HANDSHAKE: Self = Self(1015);

    /// The class this code falls in.
    pub const fn class(self) -> CloseCodeClass {
        match self.0 {
            0..=999 => CloseCodeClass::Invalid,
            1000..=1003 | 1007..=1011 => CloseCodeClass::Valid,
            1012..=1014 => CloseCodeClass::RegisteredLater,
            1004..=1006 | 1015 => CloseCodeClass::NeverOnWire,
            1016..=2999 => CloseCodeClass::Reserved,
            3000..=4999 => CloseCodeClass::Application,
            5000..=u16::MAX => CloseCodeClass::Invalid,
        }
    }

    /// Whether an endpoint may put this code in a close frame.
    ///
    /// RFC 6455 §7.4.1 lists 1004–1006 and 1015 as codes that "MUST NOT be set as a status
    /// code in a Close control frame by an endpoint"; §7.4.2 leaves 0–999 unused and 1000–2999
    /// to the RFC and its extensions. Codes the IANA registry added later (1012–1014) and the
    /// 3000–4999 range are allowed.
    pub const fn is_allowed_on_wire(self) -> bool {
        matches!(
            self.class(),
            CloseCodeClass::Valid | CloseCodeClass::RegisteredLater | CloseCodeClass::Application
        )
    }

    /// The registered name of the code, if it has one.
    pub const fn name(self) -> Option<&'static str> {
        Some(match self.0 {
            1000 => "NORMAL",
            1001 => "GOING_AWAY",
            1002 => "PROTOCOL_ERROR",
            1003 => "UNSUPPORTED_DATA",
            1004 => "RESERVED_1004",
            1005 => "NO_STATUS_RECEIVED",
            1006 => "ABNORMAL_CLOSURE",
            1007 => "INVALID_PAYLOAD",
            1008 => "POLICY_VIOLATION",
            1009 => "MESSAGE_TOO_BIG",
            1010 => "MANDATORY_EXTENSION",
            1011 => "INTERNAL_ERROR",
            1012 => "SERVICE_RESTART",
            1013 => "TRY_AGAIN_LATER",
            1014 => "BAD_GATEWAY",
            1015 => "TLS_HANDSHAKE",
            _ => return None,
        })
    }
}

impl fmt::Debug for CloseCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => write!(f, "{} ({name})", self.0),
            None => write!(f, "{}", self.0),
        }
    }
}

impl fmt::Display for CloseCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// The classes of close codes, by RFC 6455 §7.4 and the IANA registry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CloseCodeClass {
    /// 1000–1003 and 1007–1011: defined by RFC 6455 and valid on the wire.
    Valid,
    /// 1012–1014: registered with IANA after RFC 6455; valid on the wire.
    RegisteredLater,
    /// 1004–1006 and 1015: defined, but never sent in a close frame.
    NeverOnWire,
    /// 0–999 and 5000–65535: not used (§7.4.2).
    Invalid,
    /// 1016–2999: reserved for future revisions of the RFC and for extensions.
    Reserved,
    /// 3000–4999: for libraries, frameworks and applications.
    Application,
}

/// A parsed close frame payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClosePayload {
    /// The status code, absent when the payload was empty.
    pub code: Option<CloseCode>,
    /// The reason bytes after the code (valid UTF-8 when parsing succeeded).
    pub reason: Vec<u8>,
}

impl ClosePayload {
    /// The reason as text, lossily decoded.
    pub fn reason_text(&self) -> String {
        String::from_utf8_lossy(&self.reason).into_owned()
    }
}

/// Why a close payload is not acceptable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClosePayloadError {
    /// RFC 6455 §5.5.1: "If there is a body, the first two bytes of the body MUST be a 2-byte
    /// unsigned integer" — a 1-byte body cannot hold one.
    #[error("close payload of 1 byte cannot hold a status code")]
    OneByte,
    /// RFC 6455 §7.4: the code is not one an endpoint may send.
    #[error("close code {0} is not allowed on the wire ({1:?})")]
    InvalidCode(CloseCode, CloseCodeClass),
    /// RFC 6455 §5.5.1: the reason "is not guaranteed to be human readable" but MUST be UTF-8.
    #[error("close reason is not valid UTF-8 at reason byte {offset}")]
    InvalidUtf8 {
        /// Offset of the first bad byte within the reason.
        offset: usize,
        /// The code that came with the reason.
        code: CloseCode,
    },
}

/// Parses a close frame payload (already unmasked), RFC 6455 §5.5.1.
pub fn parse_close_payload(payload: &[u8]) -> Result<ClosePayload, ClosePayloadError> {
    match payload {
        [] => Ok(ClosePayload {
            code: None,
            reason: Vec::new(),
        }),
        [_] => Err(ClosePayloadError::OneByte),
        [hi, lo, reason @ ..] => {
            let code = CloseCode(u16::from_be_bytes([*hi, *lo]));
            if !code.is_allowed_on_wire() {
                return Err(ClosePayloadError::InvalidCode(code, code.class()));
            }
            let mut utf8 = Utf8Validator::new();
            utf8.feed(reason);
            match utf8.finish() {
                Utf8Status::Valid => Ok(ClosePayload {
                    code: Some(code),
                    reason: reason.to_vec(),
                }),
                Utf8Status::Invalid { offset } | Utf8Status::Incomplete { offset } => {
                    Err(ClosePayloadError::InvalidUtf8 { offset, code })
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_match_rfc_and_registry() {
        let class = |c| CloseCode(c).class();
        for c in [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011] {
            assert_eq!(class(c), CloseCodeClass::Valid, "{c}");
        }
        for c in [1012, 1013, 1014] {
            assert_eq!(class(c), CloseCodeClass::RegisteredLater, "{c}");
        }
        for c in [1004, 1005, 1006, 1015] {
            assert_eq!(class(c), CloseCodeClass::NeverOnWire, "{c}");
        }
        for c in [0, 999, 5000, 65535] {
            assert_eq!(class(c), CloseCodeClass::Invalid, "{c}");
        }
        for c in [1016, 1100, 2000, 2999] {
            assert_eq!(class(c), CloseCodeClass::Reserved, "{c}");
        }
        for c in [3000, 3999, 4000, 4999] {
            assert_eq!(class(c), CloseCodeClass::Application, "{c}");
        }
    }

    #[test]
    fn parses_payloads() {
        assert_eq!(parse_close_payload(&[]).unwrap().code, None);
        assert_eq!(
            parse_close_payload(&[0x03]),
            Err(ClosePayloadError::OneByte)
        );
        let ok = parse_close_payload(b"\x03\xe8bye").unwrap();
        assert_eq!(ok.code, Some(CloseCode::NORMAL));
        assert_eq!(ok.reason, b"bye");
        assert!(matches!(
            parse_close_payload(b"\x03\xed"),
            Err(ClosePayloadError::InvalidCode(
                CloseCode(1005),
                CloseCodeClass::NeverOnWire
            ))
        ));
        assert_eq!(
            parse_close_payload(
                b"\x03\xe8ok\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80"
            ),
            Err(ClosePayloadError::InvalidUtf8 {
                offset: 13,
                code: CloseCode::NORMAL
            })
        );
    }
}
