//! Live fuzzing of a server (`wsconform fuzz`): generated sequences of steps run against the
//! target, each judged against the model ([`crate::runner::predict`]); a divergence is shrunk
//! to a small `predict` case and written as a case file that `wsconform run --cases-dir`
//! replays.

pub mod predicted;
#[cfg(feature = "net")]
pub mod run;
