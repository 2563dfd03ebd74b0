//! The events a case records from the peer, and the expected lists they are compared with.
//!
//! As in Autobahn (`autobahn-cases.md` §2.0): each whole data message and each pong is an
//! event, plus `timeout(tag)` markers from tagged waits. Pings and close frames are not.

use std::fmt;
use std::time::{Duration, Instant};

use crate::cases::{Case, EventSpec};
use crate::wire::OpCode;

/// One recorded event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Observed {
    /// A whole data message.
    Message {
        /// `TEXT` or `BINARY`.
        opcode: OpCode,
        /// The reassembled payload.
        payload: Vec<u8>,
    },
    /// A pong.
    Pong(Vec<u8>),
    /// A tagged wait ended with the connection open.
    Timeout(String),
}

/// When things happened in a case, from the opening handshake.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Timeline {
    /// When each recorded event came (parallel to the recorded list).
    pub observed_at: Vec<Duration>,
    /// When the first close frame went either way.
    pub first_close: Option<Duration>,
    /// The script sent frames after a close frame went either way (RFC 6455 §5.5.1 forbids
    /// data after the harness's own close).
    pub sent_after_close: bool,
}

impl Timeline {
    /// A close frame went either way at `now`.
    pub fn closing(&mut self, now: Instant, started: Instant) {
        self.first_close
            .get_or_insert(now.saturating_duration_since(started));
    }
}

/// How many payload bytes an event shows in text.
const SHOWN: usize = 48;

fn show(payload: &[u8]) -> String {
    let shown = &payload[..payload.len().min(SHOWN)];
    let more = if payload.len() > SHOWN {
        format!("… ({} bytes)", payload.len())
    } else {
        String::new()
    };
    match std::str::from_utf8(shown) {
        Ok(text) if !text.chars().any(char::is_control) => format!("{text:?}{more}"),
        _ => {
            let hex: String = shown.iter().map(|b| format!("{b:02x}")).collect();
            format!("0x{hex}{more}")
        }
    }
}

impl fmt::Display for Observed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Observed::Message { opcode, payload } => {
                let kind = if *opcode == OpCode::TEXT {
                    "text"
                } else {
                    "binary"
                };
                write!(f, "{kind}({})", show(payload))
            }
            Observed::Pong(p) => write!(f, "pong({})", show(p)),
            Observed::Timeout(tag) => write!(f, "timeout({tag})"),
        }
    }
}

/// Formats a list: `[text("Hello"), pong("")]`.
/// A long list shows its first and last few events and how many it left out.
pub fn show_list(events: &[Observed]) -> String {
    const EDGE: usize = 4;
    if events.len() > 3 * EDGE {
        let head: Vec<String> = events[..EDGE].iter().map(ToString::to_string).collect();
        let tail: Vec<String> = events[events.len() - EDGE..]
            .iter()
            .map(ToString::to_string)
            .collect();
        return format!(
            "[{}, … {} more …, {}] ({} events)",
            head.join(", "),
            events.len() - 2 * EDGE,
            tail.join(", "),
            events.len()
        );
    }
    let items: Vec<String> = events.iter().map(ToString::to_string).collect();
    format!("[{}]", items.join(", "))
}

/// The expected lists of a case, as events: the OK list and, if any, the NON-STRICT one.
pub fn expected_lists(case: &Case) -> (Vec<Observed>, Option<Vec<Observed>>) {
    let convert = |list: &[EventSpec]| -> Vec<Observed> {
        list.iter()
            .map(|e| match e {
                EventSpec::Message(m) => Observed::Message {
                    opcode: m.opcode.0,
                    // Validated when the case was loaded.
                    payload: m.payload.bytes().unwrap_or_default(),
                },
                EventSpec::Pong(p) => Observed::Pong(p.bytes().unwrap_or_default()),
                EventSpec::Timeout(tag) => Observed::Timeout(tag.clone()),
            })
            .collect()
    };
    (
        convert(&case.expect.ok),
        case.expect.non_strict.as_deref().map(convert),
    )
}
