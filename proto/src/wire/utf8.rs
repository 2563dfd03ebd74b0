//! Streaming UTF-8 validation for text messages, RFC 6455 §5.6 and §8.1.
//!
//! A text message may be split anywhere: across frames, and across TCP reads. The validator is
//! fed the pieces in order and answers after each one whether the bytes so far are valid,
//! valid but ending inside a character, or invalid at a byte offset. It fails as early as the
//! bytes allow — a sequence is reported invalid as soon as no continuation could complete it —
//! which is what the fail-fast cases need. Its verdict on any input, split any way, equals
//! `std::str::from_utf8` on the whole input (checked by a property test and a fuzz target).

/// What the validator knows after the bytes fed so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Utf8Status {
    /// Every byte so far belongs to a complete, valid character.
    Valid,
    /// Valid so far, but the last bytes are the start of a character that is not complete yet.
    /// `offset` is where that character starts.
    Incomplete {
        /// Offset of the first byte of the unfinished character.
        offset: usize,
    },
    /// Invalid: no continuation can make the input valid. `offset` is the length of the valid
    /// prefix, the same as `Utf8Error::valid_up_to`.
    Invalid {
        /// Offset of the first byte of the invalid sequence.
        offset: usize,
    },
}

/// An incremental UTF-8 validator.
#[derive(Debug, Clone, Default)]
pub struct Utf8Validator {
    /// Bytes of an unfinished character carried over from the previous piece (at most 3).
    pending: [u8; 4],
    pending_len: usize,
    /// Number of bytes that form complete, valid characters.
    complete: usize,
    /// Set once the input is known to be invalid; the validator then stays invalid.
    invalid_at: Option<usize>,
}

impl Utf8Validator {
    /// A validator at the start of a message.
    pub fn new() -> Self {
        Self::default()
    }

    /// Forgets everything, for the next message.
    pub fn reset(&mut self) {
        *self = Self::default();
    }

    /// The status after everything fed so far.
    pub fn status(&self) -> Utf8Status {
        if let Some(offset) = self.invalid_at {
            Utf8Status::Invalid { offset }
        } else if self.pending_len > 0 {
            Utf8Status::Incomplete {
                offset: self.complete,
            }
        } else {
            Utf8Status::Valid
        }
    }

    /// Feeds the next piece of the message and returns the status after it.
    pub fn feed(&mut self, mut data: &[u8]) -> Utf8Status {
        if self.invalid_at.is_some() {
            return self.status();
        }
        if self.pending_len > 0 {
            // Complete the character carried over from the previous piece first.
            let width = sequence_width(self.pending[0]);
            let take = (width - self.pending_len).min(data.len());
            let mut buf = self.pending;
            buf[self.pending_len..self.pending_len + take].copy_from_slice(&data[..take]);
            let len = self.pending_len + take;
            match std::str::from_utf8(&buf[..len]) {
                Ok(_) => {
                    self.complete += len;
                    self.pending_len = 0;
                    data = &data[take..];
                }
                Err(e) if e.error_len().is_some() => {
                    self.invalid_at = Some(self.complete);
                    return self.status();
                }
                Err(_) => {
                    // Still a valid prefix, and `data` is used up.
                    self.pending = buf;
                    self.pending_len = len;
                    return self.status();
                }
            }
        }
        match std::str::from_utf8(data) {
            Ok(_) => self.complete += data.len(),
            Err(e) => {
                let valid = e.valid_up_to();
                if e.error_len().is_some() {
                    self.invalid_at = Some(self.complete + valid);
                } else {
                    let rest = &data[valid..];
                    self.complete += valid;
                    self.pending[..rest.len()].copy_from_slice(rest);
                    self.pending_len = rest.len();
                }
            }
        }
        self.status()
    }

    /// The verdict at the end of the message: a character left unfinished is invalid.
    pub fn finish(&self) -> Utf8Status {
        match self.status() {
            Utf8Status::Incomplete { offset } => Utf8Status::Invalid { offset },
            other => other,
        }
    }

    /// Total bytes fed so far that belong to complete characters.
    pub fn complete_len(&self) -> usize {
        self.complete
    }
}

/// The length of the sequence a valid lead byte starts (only called on valid lead bytes).
fn sequence_width(lead: u8) -> usize {
    match lead {
        0xC2..=0xDF => 2,
        0xE0..=0xEF => 3,
        _ => 4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn std_verdict(bytes: &[u8]) -> Utf8Status {
        match std::str::from_utf8(bytes) {
            Ok(_) => Utf8Status::Valid,
            Err(e) => Utf8Status::Invalid {
                offset: e.valid_up_to(),
            },
        }
    }

    #[test]
    fn byte_by_byte_matches_std_on_kuhn_style_vectors() {
        let vectors: &[&[u8]] = &[
            b"Hello-\xc2\xb5@\xc3\x9f\xc3\xb6\xc3\xa4\xc3\xbc\xc3\xa0\xc3\xa1-UTF-8!!",
            b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80edited",
            b"\xf4\x90\x80\x80",
            b"\xf0\x90\x80",
            b"\xc0\xaf",
            b"\xed\x9f\xbf",
            b"\xef\xbf\xbf",
            b"\x80",
            b"\xfe",
        ];
        for v in vectors {
            let mut val = Utf8Validator::new();
            for b in v.iter() {
                val.feed(std::slice::from_ref(b));
            }
            assert_eq!(val.finish(), std_verdict(v), "{v:x?}");
        }
    }

    #[test]
    fn fails_fast_on_the_first_impossible_byte() {
        // 0xF4 0x90 can never start a valid character (> U+10FFFF): invalid before the end.
        let mut val = Utf8Validator::new();
        assert_eq!(val.feed(b"ab\xf4"), Utf8Status::Incomplete { offset: 2 });
        assert_eq!(val.feed(b"\x90"), Utf8Status::Invalid { offset: 2 });
        // It stays invalid.
        assert_eq!(val.feed(b"ok"), Utf8Status::Invalid { offset: 2 });
    }

    #[test]
    fn surrogate_is_rejected_at_its_second_byte() {
        let mut val = Utf8Validator::new();
        assert_eq!(val.feed(b"\xed"), Utf8Status::Incomplete { offset: 0 });
        assert_eq!(val.feed(b"\xa0"), Utf8Status::Invalid { offset: 0 });
    }

    #[test]
    fn unfinished_character_is_invalid_at_finish() {
        let mut val = Utf8Validator::new();
        assert_eq!(val.feed(b"x\xe2\x82"), Utf8Status::Incomplete { offset: 1 });
        assert_eq!(val.finish(), Utf8Status::Invalid { offset: 1 });
        val.feed(b"\xac");
        assert_eq!(val.finish(), Utf8Status::Valid);
        assert_eq!(val.complete_len(), 4);
    }
}
