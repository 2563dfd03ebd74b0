//! `wsconform serve`: the harness plays the server for a client under test, over Autobahn's
//! fuzzingserver URL protocol; with `--exec`, it starts the client itself and exits with the
//! same policy and codes as `run`.

use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime};

use anyhow::{Context, anyhow};
use clap::Args;
use wsconform::cases::{self, Case, Selection};
use wsconform::runner::record::{base_record, rfc3339};
use wsconform::runner::{RunOptions, Timeouts};
use wsconform::serve::{OnRecord, OnUpdate, Results, ServeConfig, serve};
use wsconform::spec::ServerSpec;
use wsconform_reports::{CaseRecord, Cause, Outcome, RunReport, TargetInfo};

use super::args::seconds;
use super::output::{JsonLines, summary, write_reports};
use super::{EXIT_FAILED, EXIT_UNREACHABLE, EXIT_USAGE, Failure, fail};

/// Autobahn's client-mode sections (what a fuzzingserver runs), and wsconform's client
/// handshake (20) and masking (21) sections.
const CLIENT_SECTIONS: &str = "1.*,2.*,3.*,4.*,5.*,6.*,7.*,9.*,10.*,20.*,21.*";

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Where to listen (port 0: a free port, printed). Default: the spec's `url`, else
    /// 127.0.0.1:9001.
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<String>,
    /// Autobahn's fuzzingserver spec file, as it is: `url` (where to listen), `outdir` (for
    /// Autobahn's index.json), `cases`, `exclude-cases`, `exclude-agent-cases`.
    #[arg(long, value_name = "FILE")]
    pub spec: Option<PathBuf>,
    /// Case patterns, comma-separated (default: Autobahn's client-mode sections 1-7, 9, 10,
    /// and the client handshake and masking sections 20, 21).
    #[arg(long, value_name = "PATTERNS")]
    pub cases: Option<String>,
    /// Case patterns to leave out.
    #[arg(long, value_name = "PATTERNS")]
    pub exclude: Option<String>,
    /// Start the client under test: a shell command, `{url}` replaced by the server's URL
    /// (`ws://127.0.0.1:PORT`). The reports are written when it exits; cases it did not run
    /// are reported as not run.
    #[arg(long, value_name = "CMD")]
    pub exec: Option<String>,
    /// The output directory.
    #[arg(long, value_name = "DIR", default_value = "wsconform-report")]
    pub out: PathBuf,
    /// Also fail on NON-STRICT, WRONG CODE, UNCLEAN and FAILED BY CLIENT.
    #[arg(long)]
    pub strict: bool,
    /// Seconds allowed for a client's opening handshake.
    #[arg(long, value_name = "SECS", default_value = "5", value_parser = seconds)]
    pub open_handshake_timeout: Duration,
    /// Seconds from the harness's close to the client's reply.
    #[arg(long, value_name = "SECS", default_value = "1", value_parser = seconds)]
    pub close_handshake_timeout: Duration,
    /// A ceiling on any one case; with --exec, the client gets this much per case.
    #[arg(long, value_name = "SECS", default_value = "60", value_parser = seconds)]
    pub case_timeout: Duration,
    /// With --exec: seconds the client has to open its first connection; past it the run
    /// ends (exit 3), the cases reported as not run.
    #[arg(long, value_name = "SECS", default_value = "10", value_parser = seconds)]
    pub connect_timeout: Duration,
    /// Serve wss:// with this certificate chain (PEM); needs --tls-key. The redirect case from
    /// wss to ws (20.8.1) runs only then.
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The private key of --tls-cert (PEM).
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// With --exec: give the client a URL with these credentials (`user:password`), so that
    /// the cross-origin redirect case (20.8.2) sees whether it carries them elsewhere.
    #[arg(long, value_name = "USER:PASSWORD")]
    pub credentials: Option<String>,
}

pub fn serve_cmd(args: ServeArgs) -> Result<u8, Failure> {
    let all = cases::builtin().map_err(|e| fail(EXIT_USAGE, e))?;
    let spec = match &args.spec {
        Some(path) => Some(ServerSpec::load(path).map_err(|e| fail(EXIT_USAGE, e))?),
        None => None,
    };
    // Flags first, else the spec's (whose wildcards select Autobahn's sections only).
    let selection = match (&args.cases, &args.exclude, &spec) {
        (None, None, Some(spec)) => Selection {
            cases: spec.cases.clone(),
            exclude: spec.exclude_cases.clone(),
            autobahn_only: true,
        },
        _ => Selection::from_lists(
            Some(args.cases.as_deref().unwrap_or(CLIENT_SECTIONS)),
            args.exclude.as_deref(),
        ),
    };
    let listen = match (&args.listen, &spec) {
        (Some(addr), _) => addr.clone(),
        (None, Some(spec)) => spec
            .listen_addr()
            .map_err(|e| fail(EXIT_USAGE, anyhow!(e)))?,
        (None, None) => "127.0.0.1:9001".to_owned(),
    };
    let autobahn_dir = spec
        .as_ref()
        .map_or_else(|| args.out.join("autobahn"), |s| PathBuf::from(&s.outdir));
    let agent_exclusions = spec
        .as_ref()
        .map(|s| s.exclude_agent_cases.clone())
        .unwrap_or_default();
    let selected = super::run::select(all, &selection)?;
    // The TLS files are read before anything listens: a bad one is one line, exit 2.
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => {
            Some(wsconform::net::tls_server_config(cert, key).map_err(|e| fail(EXIT_USAGE, e))?)
        }
        _ => None,
    };
    let options = RunOptions {
        open_handshake_timeout: args.open_handshake_timeout,
        timeouts: Timeouts {
            close_handshake: args.close_handshake_timeout,
            case_limit: args.case_timeout,
            ..Timeouts::default()
        },
        policy: super::policy(args.strict),
        ..RunOptions::default()
    };
    let runtime = super::runtime()?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(&listen)
            .await
            .map_err(|e| fail(EXIT_USAGE, anyhow!("cannot listen on {listen}: {e}")))?;
        let addr = listener.local_addr().context("the listening address")?;
        let scheme = if tls.is_some() { "wss" } else { "ws" };
        let url = format!("{scheme}://{addr}");
        let started = SystemTime::now();
        let all_cases = selected.clone();
        let out = args.out.clone();
        let strict = args.strict;
        let url_for_reports = url.clone();
        let autobahn = autobahn_dir.clone();
        let on_update: OnUpdate = Box::new(move |records| {
            // results.jsonl stays the streamed file here (it has every record so far).
            if let Err(e) =
                write(&out, &autobahn, &url_for_reports, started, strict, records, false)
            {
                eprintln!("wsconform serve: {e:#}");
            }
        });
        let count = selected.len();
        // Each record as its case finishes: a run cut short keeps what it did (the file is
        // written whole, with the cases not run, at the end).
        let lines = std::sync::Mutex::new(JsonLines::create(&args.out).map_err(|e| fail(EXIT_USAGE, e))?);
        let on_record: OnRecord = Box::new(move |record| {
            let mut lines = lines.lock().unwrap_or_else(|e| e.into_inner());
            if let Err(e) = lines.write(record) {
                eprintln!("wsconform serve: {e:#}");
            }
        });
        let config = Arc::new(ServeConfig {
            cases: selected,
            options,
            on_update,
            on_record,
            agent_exclusions,
            tls,
        });
        let results = Arc::new(Results::default());
        super::say(&format!(
            "wsconform serve: listening on {url} ({count} cases; a client driver starts with {url}/getCaseCount)\n"
        ));
        let Some(cmd) = &args.exec else {
            // Until killed; the reports are written on each /updateReports, as Autobahn's
            // fuzzingserver does.
            serve(listener, config, results, std::future::pending()).await;
            return Ok(0);
        };
        let client_url = match &args.credentials {
            Some(userinfo) => format!("{scheme}://{userinfo}@{addr}"),
            None => url.clone(),
        };
        let command = cmd.replace("{url}", &client_url);
        // Its own process group, so that the whole client (a shell and what it started) is
        // stopped at the end, not only the shell.
        let child = std::process::Command::new("sh")
            .arg("-c")
            .arg(&command)
            .process_group(0)
            .spawn()
            .map_err(|e| fail(EXIT_USAGE, anyhow!("cannot start {command:?}: {e}")))?;
        // The client gets --case-timeout per case, then it is killed; and --connect-timeout
        // to open its first connection.
        let bound = args.case_timeout.saturating_mul(count.max(1) as u32);
        let abort = Arc::new(AtomicBool::new(false));
        let kill = abort.clone();
        let exited = tokio::task::spawn_blocking(move || wait_bounded(child, bound, &kill));
        let never_connected = {
            let results = results.clone();
            let wait = args.connect_timeout;
            async move {
                tokio::time::sleep(wait).await;
                if results.connections() > 0 {
                    std::future::pending::<()>().await;
                }
            }
        };
        let mut silent = false;
        serve(listener, config.clone(), results.clone(), async {
            tokio::select! {
                _ = exited => {}
                () = never_connected => silent = true,
            }
        })
        .await;
        if silent {
            abort.store(true, Ordering::SeqCst);
        }
        // A case may still be closing when the client exits.
        results.settled(args.case_timeout).await;
        let records = complete(results.records(), &all_cases);
        write(&args.out, &autobahn_dir, &url, started, args.strict, &records, true)?;
        super::say(&summary(&records));
        super::say(&format!(
            "results: {} (index.html, report.json, junit.xml, summary.md; Autobahn's index.json in {})\n",
            args.out.display(),
            autobahn_dir.display()
        ));
        for refused in results.refused().iter().take(10) {
            eprintln!("wsconform serve: refused with 400: {refused}");
        }
        if silent {
            return Err(fail(
                EXIT_UNREACHABLE,
                anyhow!(
                    "the client ({command}) opened no connection within {} s (--connect-timeout); the report says so",
                    args.connect_timeout.as_secs_f64()
                ),
            ));
        }
        if results.records().is_empty() {
            return Err(fail(
                EXIT_UNREACHABLE,
                anyhow!("the client ({command}) ran no case; the report says so"),
            ));
        }
        Ok(exit_code(&records))
    })
}

/// Waits for `child` at most `bound` (or until `abort` is set), then kills it.
fn wait_bounded(mut child: std::process::Child, bound: Duration, abort: &AtomicBool) {
    let until = std::time::Instant::now() + bound;
    loop {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        if std::time::Instant::now() >= until || abort.load(Ordering::SeqCst) {
            if let Ok(group) = i32::try_from(child.id()) {
                // SAFETY: kill(2) on the process group the child leads (`process_group(0)`);
                // it touches no memory of ours.
                unsafe {
                    libc::kill(-group, libc::SIGKILL);
                }
            }
            let _ = child.kill();
            let _ = child.wait();
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The records, with a not-run record for every selected case an agent did not run (and,
/// without any agent, for every case), so that a client that stops early never passes.
fn complete(mut records: Vec<CaseRecord>, cases: &[Case]) -> Vec<CaseRecord> {
    let mut agents: Vec<String> = records.iter().map(|r| r.target.clone()).collect();
    agents.dedup();
    if agents.is_empty() {
        agents.push("client".into());
    }
    for agent in &agents {
        for case in cases {
            if records
                .iter()
                .any(|r| &r.target == agent && r.id == case.id)
            {
                continue;
            }
            let mut record = base_record(agent, case, SystemTime::now());
            record.outcome = Outcome::NotRun;
            record.causes = vec![Cause::NotRun];
            record.reason = "not run by the client".into();
            records.push(record);
        }
    }
    records.sort_by(|a, b| {
        a.target
            .cmp(&b.target)
            .then_with(|| cases::compare_ids(&a.id, &b.id))
    });
    records
}

fn exit_code(records: &[CaseRecord]) -> u8 {
    if records.iter().any(|r| r.outcome == Outcome::Fail) {
        EXIT_FAILED
    } else {
        0
    }
}

/// Writes every report for `records` (the clients as targets).
fn write(
    out: &std::path::Path,
    autobahn_dir: &std::path::Path,
    url: &str,
    started: SystemTime,
    strict: bool,
    records: &[CaseRecord],
    jsonl: bool,
) -> anyhow::Result<()> {
    std::fs::create_dir_all(out)
        .with_context(|| format!("cannot create the output directory {}", out.display()))?;
    let mut names: Vec<String> = records.iter().map(|r| r.target.clone()).collect();
    names.dedup();
    let report = RunReport {
        schema: wsconform_reports::SCHEMA,
        tool: "wsconform".into(),
        tool_version: env!("CARGO_PKG_VERSION").into(),
        case_set: format!("serve-{}", records.len()),
        started: rfc3339(started),
        finished: rfc3339(SystemTime::now()),
        policy: if strict { "strict" } else { "default" }.into(),
        options: std::collections::BTreeMap::from([(
            "role".to_owned(),
            "harness as the server, testing clients".to_owned(),
        )]),
        targets: names
            .into_iter()
            .map(|name| TargetInfo {
                name,
                url: url.to_owned(),
            })
            .collect(),
        cases: records.to_vec(),
        shard: None,
        differential: None,
    };
    if jsonl {
        let mut lines = String::new();
        for r in records {
            lines.push_str(&serde_json::to_string(r)?);
            lines.push('\n');
        }
        // The end of an --exec run: written aside, then renamed over the streamed file, so a
        // case that still finishes now writes into the old file, never into this one.
        let jsonl = out.join("results.jsonl");
        let partial = out.join("results.jsonl.partial");
        std::fs::write(&partial, lines)
            .and_then(|()| std::fs::rename(&partial, &jsonl))
            .with_context(|| format!("cannot write {}", jsonl.display()))?;
    }
    write_reports(out, autobahn_dir, &report)
}
