//! The stateful target: arbitrary sequences of steps (frames valid and invalid, fragments,
//! pings, closes, chopped writes, pauses) run through the client-side case machine against
//! the reference server, in memory on a simulated clock. No panic, bounded rounds, time and
//! logs, and the two sides' logs agree on what was sent and received.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    wsconform::fuzzing::stateful(data);
});
