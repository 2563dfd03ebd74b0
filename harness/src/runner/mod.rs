//! The runner: interprets cases against targets and judges them.
//!
//! - [`machine`]: the sans-IO case interpreter (timers, close machinery, events);
//! - [`verdict`]: Autobahn's verdict rules and wsconform's outcome and reason, as pure
//!   functions;
//! - [`observed`]: the recorded events and the expected lists;
//! - [`handshake`]: the verdict on a crafted opening handshake (section 0), as pure
//!   functions;
//! - [`exec`]: one case over the tokio driver;
//! - [`pool`]: many cases in parallel.

pub mod exec;
pub mod handshake;
pub mod limit;
pub mod machine;
pub mod observed;
mod open;
pub mod pool;
pub mod verdict;

pub use exec::{CaseRun, ProbeError, RunOptions, judge, probe, run_case};
pub use machine::{Action, CaseMachine, MachineResult, Timeouts};
pub use pool::{Plan, TargetSpec, default_jobs, run_plan};
pub use verdict::Policy;
