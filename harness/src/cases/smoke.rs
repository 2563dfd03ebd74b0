//! The smoke cases (`cases/smoke.toml`): three built-in cases that check a target is a
//! working echo server — `wsconform smoke`, the probe before a run, and the alive check of a
//! case. Data like any case, run by the same flow and machine.

use std::time::Duration;

use super::{Case, parse_case_file};

/// The smoke cases, with `echo` as the wait for each echo (the kill timer of the cases that
/// have one), at most an hour as for any case.
pub fn smoke_cases(echo: Duration) -> Vec<Case> {
    let file = wsconform_cases::SMOKE;
    // An embedded file, parsed by a test: an error here is a bug in the build, not input.
    let mut cases = parse_case_file(file.name, file.source).expect("the smoke cases parse");
    for case in &mut cases {
        if case.kill.is_some() {
            case.kill = Some(echo.as_secs_f64().clamp(0.0, 3600.0));
        }
    }
    cases
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_smoke_cases_parse_and_take_the_echo_wait() {
        let cases = smoke_cases(Duration::from_millis(300));
        let ids: Vec<&str> = cases.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(ids, ["smoke.1", "smoke.2", "smoke.3"]);
        assert_eq!(cases[0].kill, None);
        assert_eq!(cases[1].kill, Some(0.3));
        // Bounded: a case's seconds are at most 3600.
        assert_eq!(
            smoke_cases(Duration::from_secs(1 << 40))[2].kill,
            Some(3600.0)
        );
    }
}
