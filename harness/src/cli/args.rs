//! The arguments, as close to the flags as possible (ripgrep's `lowargs`): parsing and
//! validation only. `run.rs` builds the runner from them.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

const EXIT_CODES: &str = "\
Exit codes:
  0  every case passed the policy
  1  conformance failures (a 101 that breaks RFC 6455 §4.1 included)
  2  usage or configuration error (bad URL, flag, spec file, case file or pattern)
  3  target unreachable (unresolvable host, refused port, connect timeout)
  4  TLS failure
  5  opening handshake rejected (a status other than 101: the reports hold the answer)
  6  opening handshake timed out";

/// A WebSocket conformance harness and fuzzer (RFC 6455).
#[derive(Debug, Parser)]
#[command(name = "wsconform", version, after_help = EXIT_CODES)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Drive WebSocket servers through the cases and judge each one.
    #[command(after_help = RUN_HELP)]
    Run(RunArgs),
    /// List the cases, one per line: id, then title.
    #[command(
        after_help = "Examples:\n  wsconform cases\n  wsconform cases '5.*'\n  wsconform cases '2.1*,7.7.*'\n  wsconform cases --cases-dir my-cases/"
    )]
    Cases(CasesArgs),
    /// Compare two results files case by case (report.json, results.jsonl or Autobahn's
    /// index.json, in any mix); durations are ignored. Exits 1 when any case regressed.
    #[command(
        after_help = "Examples:\n  wsconform diff expected/index.json wsconform-report/report.json\n  wsconform diff old/results.jsonl new/results.jsonl --strict"
    )]
    Diff(DiffArgs),
    /// Print the stable codes of findings and of causes (the table in docs/codes.md), as
    /// they appear in report.json and results.jsonl.
    Codes,
    /// Print the verdict rules: what fails a case (FAILED rests on a MUST) and what is
    /// NON-STRICT, each with its RFC sentence (the table in cases/README.md).
    Rules,
    /// Serve the embedded tokio-tungstenite echo server on 127.0.0.1 until killed (for
    /// benchmarks and for trying a client); prints "LISTENING <port>".
    Echo(EchoArgs),
    /// Play the server for a WebSocket client under test, over Autobahn's fuzzingserver URL
    /// protocol (/getCaseCount, /runCase?case=N&agent=A, /getCaseInfo, /getCaseStatus,
    /// /updateReports); with --exec, start the client too and exit as `run` does.
    #[command(
        after_help = "Examples:\n  wsconform serve --listen 127.0.0.1:9001\n  wsconform serve --listen 127.0.0.1:0 --exec 'python3 client.py {url}'"
    )]
    Serve(super::serve::ServeArgs),
    /// Merge the output directories of a sharded run (`run --shard I/N`) into one report:
    /// HTML, report.json, results.jsonl, JUnit, Markdown and Autobahn's index.json. Parts of
    /// different case sets, versions or targets are refused; missing cases are listed, the
    /// merged report is written, and the exit code is 1.
    #[command(after_help = "Examples:
  wsconform run ws://127.0.0.1:9001/ --shard 1/4 --out part-1   # … 4/4 --out part-4
  wsconform merge part-1 part-2 part-3 part-4 --out wsconform-report")]
    Merge(MergeArgs),
    /// Fuzz a live server: generated sequences of frames (valid and invalid, fragments,
    /// control frames between them, chopped writes, pauses, closes), each judged against the
    /// reference server's model of what the RFC allows; each kind of divergence is confirmed,
    /// shrunk to a case file that `wsconform run --cases-dir` replays. Exits 1 on a confirmed
    /// divergence, 3 if the target stops answering.
    #[command(after_help = FUZZ_HELP)]
    Fuzz(super::fuzz::FuzzArgs),
    /// A quick smoke exchange: three built-in cases (handshake and close, a text echo, a
    /// binary echo), each on its own connection, each with its verdict and wire trace.
    #[command(
        after_help = "Examples:\n  wsconform smoke\n  wsconform smoke ws://127.0.0.1:9001/ --chop 1"
    )]
    Smoke(SmokeArgs),
}

const FUZZ_HELP: &str = "\
Examples:
  wsconform fuzz                                 # the embedded tokio-tungstenite echo server
  wsconform fuzz ws://127.0.0.1:9001/ --time 60s
  wsconform fuzz ws://127.0.0.1:9001/ --runs 500 --seed 42
  wsconform run ws://127.0.0.1:9001/ --cases-dir wsconform-fuzz   # replay the repros
  wsconform fuzz --differential ws://127.0.0.1:9001/ ws://127.0.0.1:9002/

The seed is always printed; the same seed gives the same sequences. Each sequence is
judged against the model: the reference server run in process on the same bytes, in
each combination of the choices the RFC leaves to a server (UTF-8 checked as it arrives,
at the end of the message, or when a lagging application takes it; non-minimal lengths
refused, taken, or taken on data frames only). Within a run, failing with the model's
code, an empty close or a drop is the same; another code or a refusal with 1008/1009 is
NON-STRICT (counted with --strict); when TCP closes is the server's affair; a reply a
close overtook may be missing; a pong may be skipped for a later pending ping.
Divergences are grouped by their typed finding; each group's first sequence must diverge
the same way again (it is run up to twice more, and its repro once more at the end), then
it is shrunk and written to --repro-dir as a case file, with a report in
--repro-dir/report. One seen only once is listed as not counted.

Exit codes:
  0  no divergence counted          1  divergences found
  2  usage or config error (a --time or --runs that does not parse, a repro directory
     that cannot be written: both before any traffic)
  3  target unreachable, or it stopped answering (the sequences in flight are kept)
  4  TLS failure                    5  handshake rejected   6  handshake timed out";

const RUN_HELP: &str = "\
Examples:
  wsconform run                                  # the embedded tokio-tungstenite echo server
  wsconform run ws://127.0.0.1:9001/             # your server: every case
  wsconform run ws://127.0.0.1:9001/ --cases '1.*,2.1' --exclude '9.*'
  wsconform run ws://127.0.0.1:9001/ --cases '0.*' --param subprotocol=chat
  wsconform run --target mine=ws://127.0.0.1:9001 --target theirs=ws://127.0.0.1:9002
  wsconform run --spec fuzzingclient.json        # Autobahn's spec file, as it is
  wsconform run wss://localhost:8443/ --ca ca.pem

Each case runs on its own connection, --jobs at a time; the cases marked `alone`
(section 9, the floods of section 16) run one at a time afterwards. Results go to
OUT/results.jsonl (one JSON object per case, written the moment the case finishes),
and a summary to the terminal.

Sections: 0 the opening handshake; 1-10 Autobahn's core suite; 14 masking; 15 length
encodings; 16 limits and slow peers; 17 closes the server starts (`wsconform cases`
lists them). Cases that need a fact about the server (--param) are reported as not
run without it.

Verdicts: `behavior` is Autobahn's main verdict (OK, NON-STRICT, INFORMATIONAL,
UNIMPLEMENTED, FAILED) and `behaviorClose` its close verdict (OK, FAILED, UNCLEAN,
WRONG CODE, FAILED BY CLIENT, INFORMATIONAL). On top, each case gets one outcome
(pass, fail, info, not-run, unreachable) with a one-line reason.

Policy: by default a case fails when either verdict is FAILED. With --strict it also
fails on NON-STRICT, WRONG CODE, UNCLEAN and FAILED BY CLIENT.

Patterns follow Autobahn: an id without `*` is literal; with `*` it matches from the
start of the id (`2.1*` selects 2.1, 2.10, 2.11). A pattern that matches nothing is an
error.

Exit codes:
  0  every case passed the policy   1  conformance failures (a 101 that breaks RFC 6455 §4.1 included)
  2  usage or config error          3  target unreachable
  4  TLS failure                    5  handshake rejected (non-101)
  6  handshake timed out";

/// Parses `NAME=VALUE`.
pub fn param(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((name, value)) if !name.is_empty() => Ok((name.to_owned(), value.to_owned())),
        _ => Err(format!("{s:?} is not NAME=VALUE")),
    }
}

/// Parses a non-negative number of seconds.
pub fn seconds(s: &str) -> Result<Duration, String> {
    let secs: f64 = s
        .parse()
        .map_err(|_| format!("{s:?} is not a number of seconds"))?;
    Duration::try_from_secs_f64(secs).map_err(|_| format!("{s:?} is not a valid duration"))
}

/// TLS flags.
#[derive(Debug, Clone, Args)]
pub struct TlsArgs {
    /// A PEM file of CA certificates to trust for wss://, besides the system roots.
    #[arg(long, value_name = "FILE")]
    pub ca: Option<PathBuf>,
    /// Accept any TLS certificate (self-signed test servers).
    #[arg(long)]
    pub insecure: bool,
    /// The TLS server name (SNI) to send and verify, instead of the URL's host.
    #[arg(long, value_name = "NAME")]
    pub sni: Option<String>,
}

impl TlsArgs {
    /// The TLS options these flags give.
    pub fn options(&self) -> wsconform::net::TlsOptions {
        wsconform::net::TlsOptions {
            ca_file: self.ca.clone(),
            insecure: self.insecure,
            sni: self.sni.clone(),
        }
    }
}

/// `--shard I/N`.
fn shard(s: &str) -> Result<wsconform::cases::Shard, String> {
    s.parse()
}

/// `wsconform merge`.
#[derive(Debug, Args)]
pub struct MergeArgs {
    /// The output directories of the parts (`run --shard I/N --out DIR`).
    #[arg(required = true, value_name = "DIR")]
    pub dirs: Vec<PathBuf>,
    /// Where the merged reports go.
    #[arg(long, value_name = "DIR", default_value = "wsconform-report")]
    pub out: PathBuf,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Servers' ws:// or wss:// URLs. Without any (and without --target or --spec), an
    /// embedded tokio-tungstenite echo server is started on 127.0.0.1 and tested.
    pub urls: Vec<String>,
    /// Run part I of N of the selection (split deterministically, balanced by the cases'
    /// expected time); `wsconform merge` joins the parts' output directories.
    #[arg(long, value_name = "I/N", value_parser = shard)]
    pub shard: Option<wsconform::cases::Shard>,
    /// Continue a run that was stopped (even by kill -9): run only the cases without a
    /// record in the output directory's results.jsonl, then write every report as one
    /// uninterrupted run would. A results.jsonl of another selection or target is refused.
    #[arg(long)]
    pub resume: bool,
    /// A named target, NAME=URL; repeat for several.
    #[arg(long = "target", value_name = "NAME=URL")]
    pub targets: Vec<String>,
    /// Compare the targets (two or more): each case sends the same bytes to every target
    /// (the same masking keys), and the report lists, case by case, where their behaviour
    /// differs: messages, close code, who closed, timing class, outcome (report.json's
    /// `differential`, the HTML report's diff column and Differences table).
    #[arg(long)]
    pub differential: bool,
    /// Autobahn's fuzzingclient spec file: servers, agent, url, options, cases,
    /// exclude-cases and exclude-agent-cases.
    #[arg(long, value_name = "FILE")]
    pub spec: Option<PathBuf>,
    /// Case patterns to run, comma-separated (default: all).
    #[arg(long, value_name = "PATTERNS")]
    pub cases: Option<String>,
    /// Case patterns to leave out, comma-separated.
    #[arg(long, value_name = "PATTERNS")]
    pub exclude: Option<String>,
    /// Load the cases from this directory's *.toml files instead of the built-in library.
    #[arg(long, value_name = "DIR")]
    pub cases_dir: Option<PathBuf>,
    /// Cases in flight at once per target.
    #[arg(long, short = 'j', value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub jobs: Option<u16>,
    /// The output directory.
    #[arg(long, value_name = "DIR", default_value = "wsconform-report")]
    pub out: PathBuf,
    /// Also fail on NON-STRICT, WRONG CODE, UNCLEAN and FAILED BY CLIENT.
    #[arg(long)]
    pub strict: bool,
    /// A fact about the server that some cases need, NAME=VALUE; repeat for several.
    /// not_found_path (a path that gives 404), forbidden_origin (an Origin it refuses),
    /// subprotocol (one it supports), max_message (its message size limit in bytes). A case
    /// whose facts are not given is reported as not run.
    #[arg(long = "param", value_name = "NAME=VALUE", value_parser = param)]
    pub params: Vec<(String, String)>,
    /// Expected results (report.json, results.jsonl, or Autobahn's index.json): the run
    /// fails only on regressions against them. Durations are ignored.
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,
    #[command(flatten)]
    pub tls: TlsArgs,
    /// Seconds allowed for DNS, TCP and TLS.
    #[arg(long, value_name = "SECS", default_value = "5", value_parser = seconds)]
    pub connect_timeout: Duration,
    /// Seconds allowed for the opening handshake (Autobahn's openHandshakeTimeout).
    #[arg(long, alias = "handshake-timeout", value_name = "SECS", default_value = "5", value_parser = seconds)]
    pub open_handshake_timeout: Duration,
    /// Seconds from the harness's close to the peer's reply (closeHandshakeTimeout).
    #[arg(long, value_name = "SECS", default_value = "1", value_parser = seconds)]
    pub close_handshake_timeout: Duration,
    /// Seconds from the closing handshake to the server closing TCP
    /// (serverConnectionDropTimeout).
    #[arg(long, value_name = "SECS", default_value = "1", value_parser = seconds)]
    pub server_drop_timeout: Duration,
    /// A ceiling on any one case, whatever its own timers say.
    #[arg(long, value_name = "SECS", default_value = "1200", value_parser = seconds)]
    pub case_timeout: Duration,
    /// Print only the summary line per target.
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

#[derive(Debug, Args)]
pub struct CasesArgs {
    /// Case patterns, comma-separated (Autobahn's rules).
    pub pattern: Option<String>,
    /// List the cases in this directory instead of the built-in library.
    #[arg(long, value_name = "DIR")]
    pub cases_dir: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct SmokeArgs {
    /// The server's ws:// or wss:// URL (default: the embedded echo server).
    pub url: Option<String>,
    #[command(flatten)]
    pub tls: TlsArgs,
    /// Seconds allowed for DNS, TCP and TLS.
    #[arg(long, value_name = "SECS", default_value = "5", value_parser = seconds)]
    pub connect_timeout: Duration,
    /// Seconds allowed for the opening handshake.
    #[arg(long, alias = "open-handshake-timeout", value_name = "SECS", default_value = "5", value_parser = seconds)]
    pub handshake_timeout: Duration,
    /// Seconds to wait for each echo.
    #[arg(long, value_name = "SECS", default_value = "5", value_parser = seconds)]
    pub echo_timeout: Duration,
    /// Seconds to wait for the close reply, then for the server to close TCP.
    #[arg(long, value_name = "SECS", default_value = "1", value_parser = seconds)]
    pub close_timeout: Duration,
    /// Write at most this many bytes at a time.
    #[arg(long, value_name = "BYTES", value_parser = clap::value_parser!(u64).range(1..))]
    pub chop: Option<u64>,
    /// Milliseconds to pause between chops.
    #[arg(long, value_name = "MS", default_value = "0")]
    pub chop_delay: u64,
    /// Leave the wire trace out of the output.
    #[arg(long)]
    pub no_trace: bool,
}

#[derive(Debug, Args)]
pub struct EchoArgs {
    /// The port (0: a free one).
    #[arg(long, default_value = "0")]
    pub port: u16,
}

#[derive(Debug, Args)]
pub struct DiffArgs {
    /// The old results.
    pub old: PathBuf,
    /// The new results.
    pub new: PathBuf,
    /// Judge failing by the strict policy.
    #[arg(long)]
    pub strict: bool,
}
