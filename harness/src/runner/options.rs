//! How cases run against a target: TLS, timeouts, the verdict policy and the server's
//! facts. Shared by the async edge (`exec`, `open`, the pool) and the CLI.

use std::time::Duration;

use super::machine::Timeouts;
use super::verdict::Policy;
use crate::net::TlsOptions;

/// How cases run.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// TLS for `wss://`.
    pub tls: TlsOptions,
    /// DNS, TCP and TLS together.
    pub connect_timeout: Duration,
    /// The opening handshake (Autobahn's openHandshakeTimeout, 5 s).
    pub open_handshake_timeout: Duration,
    /// The harness's close timers.
    pub timeouts: Timeouts,
    /// Which verdicts fail.
    pub policy: Policy,
    /// Server-specific facts for the cases that need them (`--param name=value`).
    pub params: crate::cases::Params,
    /// Write everything in chops of this many bytes this far apart (`wsconform smoke --chop`).
    pub chop: Option<(usize, Duration)>,
    /// Masking keys from this seed and the case id instead of fresh random ones, so that
    /// every target gets the same bytes (`run --differential`).
    pub mask_seed: Option<u64>,
}

impl Default for RunOptions {
    fn default() -> Self {
        Self {
            tls: TlsOptions::default(),
            connect_timeout: Duration::from_secs(5),
            open_handshake_timeout: Duration::from_secs(5),
            timeouts: Timeouts::default(),
            policy: Policy::Default,
            params: crate::cases::Params::new(),
            chop: None,
            mask_seed: None,
        }
    }
}
