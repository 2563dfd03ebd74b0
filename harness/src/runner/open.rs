//! The connections a case holds open beside its own (section 0's held requests). Async;
//! every wait is bounded.

use std::time::Duration;

use super::options::RunOptions;
use crate::net::{Stream, Target, connect};

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
