//! The edges of a case that need connections of their own: the connections a case holds
//! open beside its own (section 0's held requests), and the check that the server is still
//! alive. Async; every wait is bounded.

use std::time::Duration;

use super::options::RunOptions;
use crate::net::{Stream, Target, connect};
use crate::smoke::{self, SmokeOptions};

/// Opens `n` connections that each send `partial` (half a request) and stay open in
/// CONNECTING until the case ends (they are dropped with `held`).
pub(super) async fn hold(
    target: &Target,
    opts: &RunOptions,
    partial: &[u8],
    n: usize,
    held: &mut Vec<Stream>,
) {
    // One deadline for them all: a server that stops accepting cannot stretch the case.
    let opening = async {
        for _ in 0..n {
            let Ok(mut stream) = connect(target, &opts.tls, opts.connect_timeout).await else {
                break;
            };
            if stream.write_within(partial, Duration::from_secs(1)).await {
                held.push(stream);
            }
        }
    };
    let _ = tokio::time::timeout(opts.connect_timeout + Duration::from_secs(5), opening).await;
}

/// Whether the server is still up: on a fresh connection the smoke exchange's text echo
/// ([`smoke::alive`]), within the run's connect and handshake timeouts and 5 s for the echo.
pub(super) async fn alive(target: &Target, opts: &RunOptions) -> Result<(), String> {
    let smoke_opts = SmokeOptions {
        tls: opts.tls.clone(),
        connect_timeout: opts.connect_timeout,
        handshake_timeout: opts.open_handshake_timeout,
        ..SmokeOptions::default()
    };
    smoke::alive(target, &smoke_opts)
        .await
        .map_err(|e| format!("on a new connection: {e}"))
}
