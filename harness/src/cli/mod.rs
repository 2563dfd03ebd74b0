//! The command line: arguments, the `run`, `cases`, `serve` and `smoke` commands, and their
//! output.

pub mod args;
pub mod fuzz;
pub mod merge;
pub mod output;
pub mod resume;
pub mod run;
pub mod serve;
pub mod smoke;

/// Conformance failures.
pub const EXIT_FAILED: u8 = 1;
/// Usage or configuration error.
pub const EXIT_USAGE: u8 = 2;
/// Target unreachable.
pub const EXIT_UNREACHABLE: u8 = 3;
/// TLS failure.
pub const EXIT_TLS: u8 = 4;
/// Opening handshake rejected.
pub const EXIT_HANDSHAKE_REJECTED: u8 = 5;
/// Opening handshake timed out.
pub const EXIT_HANDSHAKE_TIMEOUT: u8 = 6;

/// An error with the exit code it maps to.
pub struct Failure {
    pub code: u8,
    pub error: anyhow::Error,
}

impl<E: Into<anyhow::Error>> From<E> for Failure {
    fn from(error: E) -> Self {
        Failure {
            code: EXIT_USAGE,
            error: error.into(),
        }
    }
}

/// A failure with `code`.
pub fn fail(code: u8, error: impl Into<anyhow::Error>) -> Failure {
    Failure {
        code,
        error: error.into(),
    }
}

/// The runtime every command runs on. One thread: the harness's work per case is small, and
/// cross-thread wake-ups cost more kernel time than they save (scripts/bench-run.sh: about
/// 20% less CPU, same wall time).
pub fn runtime() -> Result<tokio::runtime::Runtime, Failure> {
    use anyhow::Context;
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the tokio runtime")?)
}

/// The verdict policy `--strict` asks for.
pub fn policy(strict: bool) -> wsconform::runner::Policy {
    if strict {
        wsconform::runner::Policy::Strict
    } else {
        wsconform::runner::Policy::Default
    }
}

/// The exit code for a connection error.
pub fn connect_exit_code(e: &wsconform::net::ConnectError) -> u8 {
    if e.is_tls() {
        EXIT_TLS
    } else {
        EXIT_UNREACHABLE
    }
}

/// The exit code for a failed handshake.
pub fn handshake_exit_code(f: &wsconform::session::HandshakeFailure) -> u8 {
    match f {
        wsconform::session::HandshakeFailure::Timeout(_) => EXIT_HANDSHAKE_TIMEOUT,
        _ => EXIT_HANDSHAKE_REJECTED,
    }
}

/// Prints to stdout; a closed pipe (`wsconform cases | head`) ends the program quietly, as
/// ripgrep does, instead of panicking.
pub fn say(text: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_all(text.as_bytes()).and_then(|()| out.flush())
        && e.kind() == std::io::ErrorKind::BrokenPipe
    {
        std::process::exit(0);
    }
}
