//! The `wsconform` command line.
//!
//! Exit codes, the contract CI scripts rely on:
//!
//! | code | meaning |
//! |---|---|
//! | 0 | every case passed the policy |
//! | 1 | conformance failures |
//! | 2 | usage or configuration error (bad URL, bad flag, bad case file or pattern) |
//! | 3 | target unreachable (unresolvable host, refused port, connect timeout) |
//! | 4 | TLS failure |
//! | 5 | the opening handshake was rejected (a status other than 101, an invalid response) |
//! | 6 | the opening handshake timed out |

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use wsconform::cases::{self, CaseInfo};
use wsconform::echo::EchoServer;
use wsconform::net::{ConnectError, Target, TlsOptions, WriteShape};
use wsconform::proto::HandshakeFailure;
use wsconform::smoke::{self, SmokeError, SmokeOptions};

const EXIT_FAILED: u8 = 1;
const EXIT_USAGE: u8 = 2;
const EXIT_UNREACHABLE: u8 = 3;
const EXIT_TLS: u8 = 4;
const EXIT_HANDSHAKE_REJECTED: u8 = 5;
const EXIT_HANDSHAKE_TIMEOUT: u8 = 6;

const EXIT_CODES: &str = "\
Exit codes:
  0  every case passed
  1  conformance failures
  2  usage or configuration error (bad URL, flag, case file or pattern)
  3  target unreachable (unresolvable host, refused port, connect timeout)
  4  TLS failure
  5  opening handshake rejected (status other than 101, invalid response)
  6  opening handshake timed out";

/// A WebSocket conformance harness and fuzzer (RFC 6455).
#[derive(Debug, Parser)]
#[command(name = "wsconform", version, after_help = EXIT_CODES)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Drive a WebSocket server through the cases and report what it did.
    #[command(after_help = concat!(
        "Examples:\n",
        "  wsconform run                                # the embedded tokio-tungstenite echo server\n",
        "  wsconform run ws://127.0.0.1:9001/           # your server\n",
        "  wsconform run wss://localhost:8443/ --ca ca.pem\n",
        "  wsconform run wss://10.0.0.5/ --insecure --sni echo.test\n",
        "  wsconform run ws://127.0.0.1:9001/ --chop 1 --chop-delay 2   # one byte at a time\n",
        "\n",
        "Until the case runner lands, `run` performs the smoke exchange (cases 0.1.*): the\n",
        "opening handshake, a text and a binary message echoed, and the closing handshake.\n",
        "It prints each step, every rule the server broke, and the timestamped wire trace.\n",
        "\n",
        "Exit codes:\n",
        "  0  every case passed          1  conformance failures\n",
        "  2  usage or config error      3  target unreachable\n",
        "  4  TLS failure                5  handshake rejected (non-101)\n",
        "  6  handshake timed out"
    ))]
    Run(RunArgs),
    /// List the cases, one per line: id, then title.
    #[command(
        after_help = "Examples:\n  wsconform cases\n  wsconform cases '0.1.*'\n  wsconform cases '0.1.1,0.1.4'"
    )]
    Cases {
        /// Comma-separated case ids; `*` matches any run of characters (Autobahn's rules).
        pattern: Option<String>,
    },
}

#[derive(Debug, Args)]
struct RunArgs {
    /// The server's ws:// or wss:// URL. Without one, an embedded tokio-tungstenite echo
    /// server is started on 127.0.0.1 and tested.
    url: Option<String>,
    /// A PEM file of CA certificates to trust for wss://, besides the system roots.
    #[arg(long, value_name = "FILE")]
    ca: Option<PathBuf>,
    /// Accept any TLS certificate (self-signed test servers).
    #[arg(long)]
    insecure: bool,
    /// The TLS server name (SNI) to send and verify, instead of the URL's host.
    #[arg(long, value_name = "NAME")]
    sni: Option<String>,
    /// Seconds allowed for DNS, TCP and TLS.
    #[arg(long, value_name = "SECS", default_value = "5", value_parser = seconds)]
    connect_timeout: Duration,
    /// Seconds allowed for the opening handshake (Autobahn's openHandshakeTimeout).
    #[arg(long, value_name = "SECS", default_value = "5", value_parser = seconds)]
    handshake_timeout: Duration,
    /// Seconds to wait for each echo.
    #[arg(long, value_name = "SECS", default_value = "5", value_parser = seconds)]
    echo_timeout: Duration,
    /// Seconds to wait for the close reply, then for the server to close TCP
    /// (Autobahn's closeHandshakeTimeout).
    #[arg(long, value_name = "SECS", default_value = "1", value_parser = seconds)]
    close_timeout: Duration,
    /// Write at most this many bytes at a time.
    #[arg(long, value_name = "BYTES", value_parser = clap::value_parser!(u64).range(1..))]
    chop: Option<u64>,
    /// Milliseconds to pause between chops.
    #[arg(long, value_name = "MS", default_value = "0")]
    chop_delay: u64,
    /// Leave the wire trace out of the output.
    #[arg(long)]
    no_trace: bool,
}

/// Parses a non-negative number of seconds.
fn seconds(s: &str) -> Result<Duration, String> {
    let secs: f64 = s
        .parse()
        .map_err(|_| format!("{s:?} is not a number of seconds"))?;
    Duration::try_from_secs_f64(secs).map_err(|_| format!("{s:?} is not a valid duration"))
}

/// An error with the exit code it maps to.
struct Failure {
    code: u8,
    error: anyhow::Error,
}

impl<E: Into<anyhow::Error>> From<E> for Failure {
    fn from(error: E) -> Self {
        Failure {
            code: EXIT_USAGE,
            error: error.into(),
        }
    }
}

fn fail(code: u8, error: impl Into<anyhow::Error>) -> Failure {
    Failure {
        code,
        error: error.into(),
    }
}

fn main() -> ExitCode {
    // Nothing here should panic; if something does, say so in one line, not a backtrace.
    std::panic::set_hook(Box::new(|info| {
        eprintln!("wsconform: internal error (please report): {info}");
    }));
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { EXIT_USAGE } else { 0 });
        }
    };
    let result = match cli.command {
        Command::Run(args) => run(args),
        Command::Cases { pattern } => list_cases(pattern.as_deref()),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(Failure { code, error }) => {
            // One line: the chain of causes joined.
            eprintln!("wsconform: error: {error:#}");
            ExitCode::from(code)
        }
    }
}

fn list_cases(pattern: Option<&str>) -> Result<u8, Failure> {
    let all = cases::builtin()?;
    let selected: Vec<&CaseInfo> = match pattern {
        None => all.iter().collect(),
        Some(pattern) => {
            let patterns: Vec<&str> = pattern.split(',').map(str::trim).collect();
            for p in &patterns {
                if !all.iter().any(|c| cases::matches(p, &c.id)) {
                    return Err(fail(
                        EXIT_USAGE,
                        anyhow::anyhow!("no case matches pattern {p:?}"),
                    ));
                }
            }
            all.iter()
                .filter(|c| patterns.iter().any(|p| cases::matches(p, &c.id)))
                .collect()
        }
    };
    for case in selected {
        println!("{}\t{}", case.id, case.title);
    }
    Ok(0)
}

fn run(args: RunArgs) -> Result<u8, Failure> {
    let target = match &args.url {
        Some(url) => Some(Target::parse(url).map_err(|e| fail(EXIT_USAGE, e))?),
        None => None,
    };
    let opts = SmokeOptions {
        tls: TlsOptions {
            ca_file: args.ca.clone(),
            insecure: args.insecure,
            sni: args.sni.clone(),
        },
        connect_timeout: args.connect_timeout,
        handshake_timeout: args.handshake_timeout,
        echo_timeout: args.echo_timeout,
        close_timeout: args.close_timeout,
        shape: WriteShape {
            chop: args.chop.map(|c| usize::try_from(c).unwrap_or(usize::MAX)),
            delay: Duration::from_millis(args.chop_delay),
            ..WriteShape::default()
        },
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the tokio runtime")?;
    runtime.block_on(async move {
        // Without a URL, the embedded echo server is the target; it lives until we return.
        let (target, _server) = match target {
            Some(target) => (target, None),
            None => {
                let server = EchoServer::start()
                    .await
                    .context("cannot start the embedded echo server")?;
                let target = Target::parse(&server.url())?;
                println!(
                    "no URL given: testing the embedded tokio-tungstenite echo server at {}",
                    server.url()
                );
                (target, Some(server))
            }
        };
        let report = smoke::run(&target, &opts).await.map_err(|e| {
            let code = match &e {
                SmokeError::Connect(c) if c.is_tls() => EXIT_TLS,
                SmokeError::Connect(ConnectError::TlsSetup(_)) => EXIT_TLS,
                SmokeError::Connect(_) => EXIT_UNREACHABLE,
                SmokeError::Handshake(HandshakeFailure::Timeout(_)) => EXIT_HANDSHAKE_TIMEOUT,
                SmokeError::Handshake(_) => EXIT_HANDSHAKE_REJECTED,
            };
            fail(code, anyhow::anyhow!("{}: {e}", target.url))
        })?;
        let mut text = report.render();
        if args.no_trace {
            text = text
                .split_once("wire trace:\n")
                .map(|(head, rest)| {
                    let last = rest.lines().last().unwrap_or_default();
                    format!("{head}{last}\n")
                })
                .unwrap_or(text);
        }
        print!("{text}");
        Ok(if report.passed() { 0 } else { EXIT_FAILED })
    })
}
