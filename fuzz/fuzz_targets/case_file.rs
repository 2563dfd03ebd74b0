//! The case-file loader, on arbitrary text: a user's `--cases-dir` file is input too, and a
//! bad one must give one error line, never a panic.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    wsconform::fuzzing::case_file(data);
});
