//! The smoke cases: three built-in cases that check a target is a working echo server
//! (`wsconform smoke`, the probe before a run, and the alive check of a case). Data like any
//! case, run by the same flow and machine.

use std::time::Duration;

use super::{Case, parse_case_file};

/// The text message echoed: ASCII and multi-byte UTF-8.
pub const TEXT: &str = "Hello, wsconform! κόσμε ✓ 🦀";

/// The smoke cases, with `echo` as the wait for each echo (their kill timer). Ids `smoke.N`:
/// they are not in the library, and stay apart from its ids.
pub fn smoke_cases(echo: Duration) -> Vec<Case> {
    let binary: String = (0..=255u8).map(|b| format!("{b:02x}")).collect();
    let text = format!(
        r#"
[[case]]
id = "smoke.1"
title = "Opening handshake completes with 101 and a correct Sec-WebSocket-Accept; a close 1000 is answered and the server closes TCP"
rfc = "rfc6455#section-4.2.2"
steps = [ {{ close = {{ code = 1000, reason = "smoke done" }} }} ]

[[case]]
id = "smoke.2"
title = "A masked text message is echoed back unmasked and unchanged"
rfc = "rfc6455#section-5.6"
kill = {echo}
steps = [ {{ send = {{ frames = [ {{ opcode = "text", payload = "{TEXT}" }} ] }} }} ]
expect.ok = [ {{ message = {{ opcode = "text", payload = "{TEXT}" }} }} ]

[[case]]
id = "smoke.3"
title = "A masked binary message is echoed back unmasked and unchanged"
rfc = "rfc6455#section-5.6"
kill = {echo}
steps = [ {{ send = {{ frames = [ {{ opcode = "binary", payload = {{ repeat_hex = "{binary}", len = 1024 }} }} ] }} }} ]
expect.ok = [ {{ message = {{ opcode = "binary", payload = {{ repeat_hex = "{binary}", len = 1024 }} }} }} ]
"#,
        echo = echo.as_secs_f64().clamp(0.001, 3600.0),
    );
    // A constant text with one number in it (bounded above): it parses, as a test checks.
    parse_case_file("smoke.toml", &text).expect("the smoke cases parse")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_smoke_cases_parse() {
        let cases = smoke_cases(Duration::from_millis(300));
        let ids: Vec<&str> = cases.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(ids, ["smoke.1", "smoke.2", "smoke.3"]);
        assert_eq!(cases[1].kill, Some(0.3));
        // Bounded: a case file's seconds are at most 3600.
        assert_eq!(
            smoke_cases(Duration::from_secs(1 << 40))[2].kill,
            Some(3600.0)
        );
    }
}
