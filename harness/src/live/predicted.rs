//! A generated sequence as a `predict` case: the steps, the kill timer, and the events the
//! model sends with time to spare, which the harness waits for before it closes. Sans-IO.

use crate::cases::generate::{CaseHead, Sequence, to_hex};
use crate::cases::{Case, parse_case_file};
use crate::peer::pair::default_model;
use crate::runner::observed::Observed;
use crate::wire::OpCode;

/// Seconds from the last step to the kill timer: a peer that has not closed by then is
/// failed by the harness (a frame that declares more than is sent keeps a conformant server
/// waiting that long).
pub const KILL_AFTER: f64 = 2.0;

/// `seq` as a `predict` case named by `head`: its text (what a repro file holds) and the
/// case.
pub fn predicted_case(seq: &Sequence, head: &CaseHead<'_>) -> (String, Case) {
    let kill = KILL_AFTER;
    // First without expected events, to learn what the model sends.
    // The draft's harness never closes on its own (its close would cross the replies): the
    // model's replies are then due unless a close the script sends, or the model's failure,
    // came less than a grace period after them.
    let mut draft = parse(&seq.case_text(head, kill, Some(&[])));
    draft.auto_close = false;
    let events = default_model(&draft).seen.must_send();
    let listed: Vec<String> = events.iter().map(event_toml).collect();
    let text = seq.case_text(head, kill, Some(&listed));
    let case = parse(&text);
    (text, case)
}

/// A generated case's text parses (the generator's property, checked by its tests and the
/// stateful fuzz target).
fn parse(text: &str) -> Case {
    parse_case_file("generated.toml", text)
        .ok()
        .and_then(|mut cases| cases.pop())
        .unwrap_or_else(|| panic!("a generated case must parse:\n{text}"))
}

/// An expected event as a case file writes it.
fn event_toml(event: &Observed) -> String {
    match event {
        Observed::Message { opcode, payload } => format!(
            "{{ message = {{ opcode = \"{}\", payload = {} }} }}",
            if *opcode == OpCode::TEXT {
                "text"
            } else {
                "binary"
            },
            payload_toml(payload)
        ),
        Observed::Pong(payload) => format!("{{ pong = {} }}", payload_toml(payload)),
        Observed::Timeout(tag) => format!("{{ timeout = \"{tag}\" }}"),
    }
}

/// A payload: a run of one byte as `repeat_hex`, anything else in hex.
fn payload_toml(payload: &[u8]) -> String {
    match payload.first() {
        Some(&b) if payload.len() > 16 && payload.iter().all(|x| *x == b) => {
            format!("{{ repeat_hex = \"{b:02x}\", len = {} }}", payload.len())
        }
        _ => format!("{{ hex = \"{}\" }}", to_hex(payload)),
    }
}
