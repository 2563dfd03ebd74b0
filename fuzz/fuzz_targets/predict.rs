//! The live fuzzer's model: arbitrary sequences of steps (as `wsconform fuzz` generates them)
//! become `predict` cases, run in memory against the reference server in each choice the
//! model allows. No panic, and no divergence: predictor = reference.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    wsconform::fuzzing::predict(data);
});
