//! The wire trace as text: one line an event, with the time, the direction, and the bytes in
//! hex or the decoded frame.

use std::fmt::Write;

use super::event::{Direction, Event, EventKind, EventLog, FrameRecord, MAX_EVENTS};
use crate::wire::{LengthForm, OpCode};

/// How many bytes of a payload or a read a trace line shows.
const SHOWN: usize = 24;

/// Renders `log`, one line an event, each indented by `indent`.
pub fn render_trace(log: &EventLog, indent: &str) -> String {
    let mut out = String::new();
    for event in log.events() {
        let ms = event.at.as_secs_f64() * 1000.0;
        let line = render_event(event);
        let _ = writeln!(out, "{indent}+{ms:>9.3} ms  {line}");
    }
    if log.dropped() > 0 {
        let _ = writeln!(
            out,
            "{indent}({} more events not kept: the log holds {MAX_EVENTS})",
            log.dropped()
        );
    }
    out
}

/// One event as a line, without its time: `<< frame     PONG fin …`.
pub fn render_event(event: &Event) -> String {
    {
        match &event.kind {
            EventKind::Bytes {
                direction,
                head,
                len,
            } => format!("{} {len:>6} bytes  {}", arrow(*direction), hex(head)),
            EventKind::HandshakeResponse(r) => {
                format!(
                    "<< handshake     HTTP/1.{} {} {}",
                    r.minor_version, r.status, r.reason
                )
            }
            EventKind::HandshakeRequest(r) => {
                format!(
                    "<< handshake     {} {} HTTP/1.{}",
                    r.method, r.target, r.minor_version
                )
            }
            EventKind::Frame { direction, frame } => {
                format!("{} frame     {}", arrow(*direction), describe(frame))
            }
            EventKind::Violation(v) => format!("!! violation {v}"),
            EventKind::Closed(c) => format!("-- closed    {c}"),
            EventKind::Note(n) => format!("-- note      {n}"),
        }
    }
}

fn arrow(direction: Direction) -> &'static str {
    match direction {
        Direction::Sent => ">>",
        Direction::Received => "<<",
    }
}

/// The first bytes in hex, then an ellipsis if there is more.
fn hex(bytes: &[u8]) -> String {
    let mut s: Vec<String> = bytes
        .iter()
        .take(SHOWN)
        .map(|b| format!("{b:02x}"))
        .collect();
    if bytes.len() > SHOWN {
        s.push("…".into());
    }
    s.join(" ")
}

/// `TEXT fin rsv=- mask=37fa213d len=5 (7-bit) "Hello"`
fn describe(frame: &FrameRecord) -> String {
    let mut s = format!(
        "{:<12} {} rsv={:?} ",
        frame.opcode.to_string(),
        if frame.fin { "fin " } else { "more" },
        frame.rsv
    );
    match frame.mask {
        Some(k) => {
            let _ = write!(s, "mask={:02x}{:02x}{:02x}{:02x} ", k[0], k[1], k[2], k[3]);
        }
        None => s.push_str("unmasked "),
    }
    let form = match frame.length_form {
        LengthForm::Minimal | LengthForm::Bits7 => "7-bit",
        LengthForm::Bits16 => "16-bit",
        LengthForm::Bits64 => "64-bit",
    };
    let _ = write!(s, "len={} ({form})", frame.len);
    if frame.opcode == OpCode::CLOSE && frame.head.len() >= 2 {
        let code = u16::from_be_bytes([frame.head[0], frame.head[1]]);
        let reason = String::from_utf8_lossy(&frame.head[2..]);
        let _ = write!(s, " code={code} reason={reason:?}");
    } else if frame.len > 0 {
        let shown = &frame.head[..frame.head.len().min(SHOWN)];
        let more = if frame.len > SHOWN { "…" } else { "" };
        // Show text up to the last whole character that fits.
        let text = match std::str::from_utf8(shown) {
            Ok(text) => Some(text),
            Err(e) if e.error_len().is_none() && e.valid_up_to() > 0 => {
                std::str::from_utf8(&shown[..e.valid_up_to()]).ok()
            }
            Err(_) => None,
        };
        match text.filter(|t| !t.chars().any(char::is_control)) {
            Some(text) => {
                let _ = write!(s, " {text:?}{more}");
            }
            None => {
                let _ = write!(s, " [{}]{more}", hex(shown));
            }
        }
    }
    s
}
