//! Frame opcodes, RFC 6455 §5.2 and §11.8.
//!
//! An opcode is a newtype over the 4-bit wire value, so the encoder can write any of the
//! sixteen values and the decoder can name any value it sees.

use std::fmt;

/// A frame opcode: any 4-bit value, with names for the ones RFC 6455 defines.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OpCode(u8);

impl OpCode {
    /// `%x0` denotes a continuation frame.
    pub const CONTINUATION: Self = Self(0x0);
    /// `%x1` denotes a text frame.
    pub const TEXT: Self = Self(0x1);
    /// `%x2` denotes a binary frame.
    pub const BINARY: Self = Self(0x2);
    /// `%x8` denotes a connection close.
    pub const CLOSE: Self = Self(0x8);
    /// `%x9` denotes a ping.
    pub const PING: Self = Self(0x9);
    /// `%xA` denotes a pong.
    pub const PONG: Self = Self(0xA);

    /// The opcode for a 4-bit value; the upper four bits of `value` are ignored.
    pub const fn new(value: u8) -> Self {
        Self(value & 0x0F)
    }

    /// The 4-bit wire value.
    pub const fn value(self) -> u8 {
        self.0
    }

    /// RFC 6455 §5.5: "Control frames are identified by opcodes where the most significant bit
    /// of the opcode is 1." That includes the reserved values 0xB–0xF.
    pub const fn is_control(self) -> bool {
        self.0 & 0x08 != 0
    }

    /// RFC 6455 §5.2: `%x3-7` are reserved for further non-control frames and `%xB-F` for
    /// further control frames.
    pub const fn is_reserved(self) -> bool {
        matches!(self.0, 0x3..=0x7 | 0xB..=0xF)
    }

    /// The name RFC 6455 gives this opcode, or `None` for a reserved value.
    pub const fn name(self) -> Option<&'static str> {
        Some(match self.0 {
            0x0 => "CONTINUATION",
            0x1 => "TEXT",
            0x2 => "BINARY",
            0x8 => "CLOSE",
            0x9 => "PING",
            0xA => "PONG",
            _ => return None,
        })
    }
}

impl fmt::Debug for OpCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => f.write_str(name),
            None => write!(f, "RESERVED(0x{:X})", self.0),
        }
    }
}

impl fmt::Display for OpCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_all_sixteen_values() {
        let reserved: Vec<u8> = (0..16).filter(|v| OpCode::new(*v).is_reserved()).collect();
        assert_eq!(reserved, [3, 4, 5, 6, 7, 0xB, 0xC, 0xD, 0xE, 0xF]);
        let control: Vec<u8> = (0..16).filter(|v| OpCode::new(*v).is_control()).collect();
        assert_eq!(control, [8, 9, 0xA, 0xB, 0xC, 0xD, 0xE, 0xF]);
    }

    #[test]
    fn debug_names_or_hex() {
        assert_eq!(format!("{:?}", OpCode::PING), "PING");
        assert_eq!(format!("{:?}", OpCode::new(0xB)), "RESERVED(0xB)");
        assert_eq!(OpCode::new(0xF3).value(), 0x3);
    }
}
