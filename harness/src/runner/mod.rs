//! The runner: interprets cases against targets and judges them.
//!
//! Sans-IO (pure functions of events and instants, unit-tested on a simulated clock):
//! - [`flow`]: one case from its first byte to its record — the opening handshake (standard or
//!   crafted, judged by section 0's rules), the machine, the record;
//! - [`machine`]: the case interpreter (timers, close machinery, events, the script's steps);
//! - [`verdict`]: Autobahn's verdict rules and wsconform's outcome and reason;
//! - [`handshake`]: the verdict on a crafted opening handshake (section 0);
//! - [`respond`]: the verdict on a client's reaction to a crafted response (section 20);
//! - [`limit`]: the message-size probe and the ping-flood tally;
//! - [`observed`]: the recorded events and the expected lists;
//! - [`masking`]: the client masking checks, within and across connections;
//! - [`finding`]: what the peer did wrong, typed, with stable codes;
//! - [`record`]: a case's record, its reason and its wire trace;
//! - [`rules`]: the verdict rules and the RFC sentences they rest on.
//!
//! The async edge, over the tokio driver of `crate::net` (the `net` feature):
//! - [`options`]: how cases run (TLS, timeouts, policy, params);
//! - [`exec`]: one case (connect, then move bytes and time for its flow), the alive check and
//!   the probe (the smoke cases, run the same way);
//! - `open`: held connections;
//! - [`pool`]: many cases in parallel.

#[cfg(feature = "net")]
pub mod exec;
pub mod finding;
pub mod flow;
pub mod handshake;
pub mod limit;
pub mod machine;
pub mod masking;
pub mod observed;
#[cfg(feature = "net")]
mod open;
#[cfg(feature = "net")]
pub mod options;
#[cfg(feature = "net")]
pub mod pool;
pub mod predict;
pub mod record;
pub mod respond;
pub mod rules;
pub mod verdict;

#[cfg(feature = "net")]
pub use exec::{
    CaseRun, PROBE_ID, ProbeError, Probed, RunOptions, alive, probe, run_case, run_case_as_server,
};
pub use machine::{Action, CaseMachine, MachineResult, Timeouts};
#[cfg(feature = "net")]
pub use pool::{Plan, TargetSpec, default_jobs, run_plan};
pub use record::judge;
pub use verdict::Policy;
