//! The `wsconform` command line.
//!
//! Exit codes, the contract CI scripts rely on:
//!
//! | code | meaning |
//! |---|---|
//! | 0 | every case passed the policy |
//! | 1 | conformance failures |
//! | 2 | usage or configuration error (bad URL, flag, spec file, case file or pattern) |
//! | 3 | target unreachable (unresolvable host, refused port, connect timeout) |
//! | 4 | TLS failure |
//! | 5 | the preflight's opening handshake was rejected (a status other than 101, a hang-up) |
//! | 6 | the opening handshake timed out |

mod cli;

use std::process::ExitCode;

use clap::Parser;

use cli::args::{Cli, Command};

fn main() -> ExitCode {
    // Nothing here should panic; if something does, say so in one line, not a backtrace.
    std::panic::set_hook(Box::new(|info| {
        eprintln!("wsconform: internal error (please report): {info}");
    }));
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { cli::EXIT_USAGE } else { 0 });
        }
    };
    let result = match cli.command {
        Command::Run(args) => cli::run::run(args),
        Command::Cases(args) => cli::run::list_cases(args),
        Command::Smoke(args) => cli::smoke::smoke(args),
        Command::Fuzz(args) => cli::fuzz::fuzz_cmd(args),
        Command::Serve(args) => cli::serve::serve_cmd(args),
        Command::Echo(args) => cli::smoke::echo(args),
        Command::Diff(args) => cli::run::diff(args),
        Command::Merge(args) => cli::merge::merge(args),
        Command::Codes => {
            print!("{}", wsconform::runner::finding::codes_doc());
            Ok(0)
        }
        Command::Rules => {
            print!("{}", wsconform::runner::rules::table());
            Ok(0)
        }
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(cli::Failure { code, error }) => {
            // One line: the chain of causes joined.
            eprintln!("wsconform: error: {error:#}");
            ExitCode::from(code)
        }
    }
}
