//! `wsconform fuzz`: live fuzzing of a server from the command line: the budget, the
//! progress bar, the repro files, the report and the summary. The loop is
//! [`wsconform::live::run`].

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use anyhow::{Context, anyhow};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use wsconform::cases::generate::CaseHead;
use wsconform::echo::EchoServer;
use wsconform::live::predicted::predicted_case;
use wsconform::live::run::{
    CONFIRMATIONS, Found, FuzzConfig, FuzzOutcome, FuzzTarget, Progress, Stop, fuzz, group_for,
};
use wsconform::net::Target;
use wsconform::runner::record::rfc3339;
use wsconform::runner::{Policy, ProbeError, RunOptions, Timeouts, probe, run_case};
use wsconform_reports::{CaseRecord, RunReport, TargetInfo};

use super::args::{TlsArgs, seconds};
use super::output::write_reports;
use super::{
    EXIT_FAILED, EXIT_UNREACHABLE, EXIT_USAGE, Failure, connect_exit_code, fail,
    handshake_exit_code,
};

/// `wsconform fuzz`.
#[derive(Debug, Args)]
pub struct FuzzArgs {
    /// The server's ws:// or wss:// URL (default: the embedded tokio-tungstenite echo
    /// server); with --differential, two or more.
    pub urls: Vec<String>,
    /// Fuzz two or more servers against each other instead of against the model: every
    /// sequence goes to each, and a difference in what they did (messages, close code, who
    /// closed, timing class, verdict) is shrunk and kept.
    #[arg(long)]
    pub differential: bool,
    /// Stop after this many sequences.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub runs: Option<u64>,
    /// Stop starting sequences after this long: `90s`, `2m`, `1h`, or seconds (default 60s
    /// when --runs is not given either). Shrinking what was found may take longer.
    #[arg(long, value_name = "DURATION", value_parser = duration)]
    pub time: Option<Duration>,
    /// The seed (default: from the clock; always printed). The same seed gives the same
    /// sequences.
    #[arg(long, value_name = "S")]
    pub seed: Option<u64>,
    /// Sequences in flight at once.
    #[arg(long, short = 'j', value_name = "N", default_value = "4", value_parser = clap::value_parser!(u16).range(1..=64))]
    pub jobs: u16,
    /// Where the repro case files and the report go (checked writable before any traffic).
    #[arg(long, value_name = "DIR", default_value = "wsconform-fuzz")]
    pub repro_dir: PathBuf,
    /// Also count what the RFC leaves open but is not the strict answer (another close code
    /// when failing, a refusal with 1008/1009): NON-STRICT differences.
    #[arg(long)]
    pub strict: bool,
    /// Candidates tried when shrinking one divergence.
    #[arg(long, value_name = "N", default_value = "200")]
    pub shrink_budget: usize,
    #[command(flatten)]
    pub tls: TlsArgs,
    /// Seconds allowed for DNS, TCP and TLS.
    #[arg(long, value_name = "SECS", default_value = "5", value_parser = seconds)]
    pub connect_timeout: Duration,
    /// Seconds from the harness's close to the peer's reply (longer than `run`'s 1 s: a
    /// busy machine must not look like a peer that never answers).
    #[arg(long, value_name = "SECS", default_value = "3", value_parser = seconds)]
    pub close_handshake_timeout: Duration,
}

/// Parses `90s`, `2m`, `1h`, `500ms` or a number of seconds.
pub fn duration(s: &str) -> Result<Duration, String> {
    let bad = || format!("{s:?} is not a duration like 60s, 2m, 1h or 500ms");
    let (number, scale) = if let Some(n) = s.strip_suffix("ms") {
        (n, 0.001)
    } else if let Some(n) = s.strip_suffix('s') {
        (n, 1.0)
    } else if let Some(n) = s.strip_suffix('m') {
        (n, 60.0)
    } else if let Some(n) = s.strip_suffix('h') {
        (n, 3600.0)
    } else {
        (s, 1.0)
    };
    let value: f64 = number.trim().parse().map_err(|_| bad())?;
    Duration::try_from_secs_f64(value * scale)
        .ok()
        .filter(|d| !d.is_zero())
        .ok_or_else(bad)
}

/// Fails unless files can be created in `dir` (created if missing).
fn check_writable(dir: &Path) -> Result<(), Failure> {
    let probe = dir.join(".wsconform-write-check");
    std::fs::create_dir_all(dir)
        .and_then(|()| std::fs::write(&probe, b""))
        .and_then(|()| std::fs::remove_file(&probe))
        .map_err(|e| {
            fail(
                EXIT_USAGE,
                anyhow!(
                    "the repro directory {} cannot be written: {e}",
                    dir.display()
                ),
            )
        })
}

pub fn fuzz_cmd(args: FuzzArgs) -> Result<u8, Failure> {
    let mut targets = Vec::new();
    for url in &args.urls {
        targets.push(Target::parse(url).map_err(|e| fail(EXIT_USAGE, e))?);
    }
    match (args.differential, targets.len()) {
        (true, n) if n < 2 => {
            return Err(fail(
                EXIT_USAGE,
                anyhow!("--differential compares two or more servers; {n} given"),
            ));
        }
        (false, n) if n > 1 => {
            return Err(fail(
                EXIT_USAGE,
                anyhow!(
                    "{n} URLs given: one is fuzzed against the model, several with --differential"
                ),
            ));
        }
        _ => {}
    }
    check_writable(&args.repro_dir)?;
    let seed = args.seed.unwrap_or_else(|| {
        SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(1)
            % 1_000_000
    });
    let time = match (args.time, args.runs) {
        (None, None) => Some(Duration::from_secs(60)),
        (time, _) => time,
    };
    let options = RunOptions {
        tls: args.tls.options(),
        connect_timeout: args.connect_timeout,
        timeouts: Timeouts {
            close_handshake: args.close_handshake_timeout,
            // A generated sequence waits at most a few seconds; this bounds one stuck on a
            // write the peer never reads.
            case_limit: Duration::from_secs(30),
            ..Timeouts::default()
        },
        policy: super::policy(args.strict),
        ..RunOptions::default()
    };
    let config = FuzzConfig {
        seed,
        runs: args.runs,
        time,
        jobs: usize::from(args.jobs),
        shrink_budget: args.shrink_budget,
        options,
    };
    let runtime = super::runtime()?;
    runtime.block_on(async move {
        let mut _server = None;
        if targets.is_empty() {
            let server = EchoServer::start()
                .await
                .context("cannot start the embedded echo server")?;
            targets.push(Target::parse(&server.url())?);
            _server = Some(server);
        }
        // Each target must accept a WebSocket before any sequence is sent.
        let mut named = Vec::new();
        for target in targets {
            let name = match probe(&target, &config.options).await {
                Ok(probed) => probed
                    .response
                    .header("Server")
                    .map(|s| String::from_utf8_lossy(s).into_owned())
                    .unwrap_or_else(|| target.url.clone()),
                Err(ProbeError::Connect(c)) => {
                    return Err(fail(connect_exit_code(&c), anyhow!("{}: {c}", target.url)));
                }
                Err(ProbeError::Handshake { failure, .. }) => {
                    return Err(fail(
                        handshake_exit_code(&failure),
                        anyhow!("{}: opening handshake failed: {failure}", target.url),
                    ));
                }
            };
            // Two targets with one Server header keep their URLs apart.
            let name = if named.iter().any(|t: &FuzzTarget| t.name == name) {
                format!("{name} ({})", target.url)
            } else {
                name
            };
            named.push(FuzzTarget { target, name });
        }
        let budget = match (config.runs, config.time) {
            (Some(n), Some(t)) => format!("--runs {n} --time {}s", t.as_secs_f64()),
            (Some(n), None) => format!("--runs {n}"),
            (None, Some(t)) => format!("--time {}s", t.as_secs_f64()),
            (None, None) => String::new(),
        };
        let what: Vec<String> = named
            .iter()
            .map(|t| {
                if t.name == t.target.url {
                    t.name.clone()
                } else {
                    format!("{} ({})", t.target.url, t.name)
                }
            })
            .collect();
        super::say(&format!(
            "fuzzing {}{} with seed {seed}, {budget}, {} in flight\n",
            what.join(" and "),
            if named.len() > 1 { " against each other" } else { " against the model" },
            config.jobs
        ));
        let started = SystemTime::now();
        let bar = bar(config.runs);
        let mut outcome = fuzz(&named, &config, |p| match p {
            Progress::Ran { runs, kinds } => {
                bar.set_position(runs);
                bar.set_message(format!("{kinds} kind(s) of divergence"));
            }
            Progress::Shrinking(group) => bar.set_message(format!("shrinking {group}")),
        })
        .await;
        bar.finish_and_clear();
        let records = write_repros(&args.repro_dir, &named, &config, &mut outcome).await?;
        let report_dir = args.repro_dir.join("report");
        std::fs::create_dir_all(&report_dir)
            .with_context(|| format!("cannot create {}", report_dir.display()))?;
        let names: Vec<String> = named.iter().map(|t| t.name.clone()).collect();
        let differential = (named.len() > 1)
            .then(|| wsconform_reports::differential::compute(&records, &names));
        let report = RunReport {
            schema: wsconform_reports::SCHEMA,
            tool: "wsconform".into(),
            tool_version: env!("CARGO_PKG_VERSION").into(),
            case_set: format!("fuzz-{}", outcome.found.len()),
            started: rfc3339(started),
            finished: rfc3339(SystemTime::now()),
            policy: if config.options.policy == Policy::Strict {
                "strict"
            } else {
                "default"
            }
            .into(),
            options: [
                ("seed".to_owned(), seed.to_string()),
                ("runs".to_owned(), outcome.runs.to_string()),
                ("jobs".to_owned(), config.jobs.to_string()),
                ("budget".to_owned(), budget.clone()),
            ]
            .into(),
            targets: named
                .iter()
                .map(|t| TargetInfo {
                    name: t.name.clone(),
                    url: t.target.url.clone(),
                })
                .collect(),
            cases: records,
            shard: None,
            differential,
        };
        write_reports(&report_dir, &report_dir.join("autobahn"), &report)?;
        super::say(&summary(&named, seed, &budget, &args.repro_dir, &outcome));
        super::say(&format!(
            "report: {} (index.html, report.json, junit.xml, summary.md)\n",
            report_dir.display()
        ));
        if let Stop::TargetDied { error, .. } = &outcome.stop {
            return Err(fail(
                EXIT_UNREACHABLE,
                anyhow!(
                    "a target stopped answering after {} sequence(s) ({error}); the sequences in flight are kept in {}",
                    outcome.runs,
                    args.repro_dir.display()
                ),
            ));
        }
        Ok(if outcome.found.iter().any(|f| !f.flaky) {
            EXIT_FAILED
        } else {
            0
        })
    })
}

/// A bar over the runs, or a spinner with the count when only time bounds the run.
fn bar(runs: Option<u64>) -> ProgressBar {
    match runs {
        Some(n) => {
            let bar = ProgressBar::new(n);
            bar.set_style(
                ProgressStyle::with_template("{bar:30} {pos}/{len} sequences, {elapsed} {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            bar
        }
        None => {
            let bar = ProgressBar::new_spinner();
            bar.set_style(
                ProgressStyle::with_template("{spinner} {pos} sequences, {elapsed} {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            bar.enable_steady_tick(Duration::from_millis(200));
            bar
        }
    }
}

/// The file a repro with `id` goes to.
fn repro_path(dir: &Path, id: &str) -> PathBuf {
    dir.join(format!("{}.toml", id.trim_start_matches("fuzz.")))
}

/// Writes one case file per kind of divergence (a confirmed one replayed once more under its
/// own id, for the report: if it no longer diverges the same way, it is not counted), and for
/// a target that died, one per sequence in flight. Returns the records, a record per target
/// for each kind.
async fn write_repros(
    dir: &Path,
    targets: &[FuzzTarget],
    config: &FuzzConfig,
    outcome: &mut FuzzOutcome,
) -> Result<Vec<CaseRecord>, Failure> {
    let mut records = Vec::new();
    let died = matches!(outcome.stop, Stop::TargetDied { .. });
    let urls: Vec<&str> = targets.iter().map(|t| t.target.url.as_str()).collect();
    for found in &mut outcome.found {
        let rfc = found
            .records
            .iter()
            .find_map(|r| r.findings.first().and_then(|f| f.rfc.clone()))
            .unwrap_or_else(|| "rfc6455#section-5".into());
        let title = format!("Fuzz repro: {}", found.group);
        // A confirmed repro runs once more under its own id (its records show the repro),
        // and must diverge the same way again to count.
        let mut replayed = None;
        if !died && !found.flaky {
            let id = found.id();
            let head = CaseHead {
                id: &id,
                title: &title,
                rfc: &rfc,
            };
            let (_, case) = predicted_case(&found.repro, &head);
            let mut these = Vec::new();
            for t in targets {
                these.push(
                    run_case(&t.name, &t.target, &case, &config.options)
                        .await
                        .record,
                );
            }
            if group_for(&these).as_ref() == Some(&found.group) {
                replayed = Some(these);
            } else {
                found.flaky = true;
            }
        }
        let id = found.id();
        let head = CaseHead {
            id: &id,
            title: &title,
            rfc: &rfc,
        };
        let (text, _) = predicted_case(&found.repro, &head);
        let these = replayed.unwrap_or_else(|| {
            found
                .records
                .iter()
                .map(|r| {
                    let mut r = r.clone();
                    r.id = id.clone();
                    r.title = title.clone();
                    r
                })
                .collect()
        });
        let header = repro_header(dir, &urls, config.seed, found, &these);
        write_file(&repro_path(dir, &id), &format!("{header}{text}"))?;
        records.extend(these);
    }
    if let Stop::TargetDied { in_flight, error } = &outcome.stop {
        for (index, seq) in in_flight {
            let id = format!("fuzz.died.{index}");
            let title = format!("In flight when the target stopped answering (sequence {index})");
            let head = CaseHead {
                id: &id,
                title: &title,
                rfc: "rfc6455#section-5",
            };
            let (text, _) = predicted_case(seq, &head);
            let header = format!(
                "# wsconform fuzz: sequence {index} of seed {} was in flight when a target stopped answering ({error}).\n# Replay: wsconform run {} --cases-dir {} --cases '{id}'\n",
                config.seed,
                urls.join(" "),
                dir.display()
            );
            write_file(&repro_path(dir, &id), &format!("{header}{text}"))?;
        }
    }
    Ok(records)
}

fn write_file(path: &Path, text: &str) -> Result<(), Failure> {
    std::fs::write(path, text)
        .with_context(|| format!("cannot write {}", path.display()))
        .map_err(|e| fail(EXIT_USAGE, e))
}

/// The comment lines at the top of a repro file: what diverged, where it came from, how to
/// replay it.
fn repro_header(
    dir: &Path,
    urls: &[&str],
    seed: u64,
    found: &Found,
    records: &[CaseRecord],
) -> String {
    let mut out = format!("# wsconform fuzz repro: {}\n", found.group);
    let _ = writeln!(
        out,
        "# Found on {} with seed {seed}, sequence {} ({} sequence(s) showed it).",
        urls.join(" and "),
        found.first,
        found.hits
    );
    if found.flaky {
        let _ = writeln!(
            out,
            "# It did not diverge the same way again (in {CONFIRMATIONS} more runs, or when replayed): timing? Kept, not counted."
        );
    } else {
        let _ = writeln!(
            out,
            "# Shrunk from {} step(s) to {} in {} tries.",
            found.original_steps,
            found.repro.steps.len(),
            found.tried
        );
    }
    for record in records {
        let who = if records.len() > 1 {
            format!("{}: ", record.target)
        } else {
            String::new()
        };
        for line in [&record.reason]
            .into_iter()
            .chain(&record.expected)
            .chain(record.observed.iter())
        {
            let _ = writeln!(out, "# {who}{line}");
        }
    }
    let differential = if urls.len() > 1 {
        "--differential "
    } else {
        ""
    };
    let _ = writeln!(
        out,
        "# Replay: wsconform run {differential}{} --cases-dir {} --cases '{}'",
        urls.join(" "),
        dir.display(),
        found.id()
    );
    out
}

/// The terminal summary: the run, then each kind of divergence, confirmed ones first.
fn summary(
    targets: &[FuzzTarget],
    seed: u64,
    budget: &str,
    dir: &Path,
    outcome: &FuzzOutcome,
) -> String {
    let confirmed = outcome.found.iter().filter(|f| !f.flaky).count();
    let urls: Vec<&str> = targets.iter().map(|t| t.target.url.as_str()).collect();
    let differential = if urls.len() > 1 {
        "--differential "
    } else {
        ""
    };
    let mut out = format!(
        "fuzzed {}: {} sequence(s) in {:.1} s (seed {seed}; again: wsconform fuzz {differential}{} --seed {seed} {budget}), {} diverged; {confirmed} kind(s) of divergence\n",
        urls.join(" and "),
        outcome.runs,
        outcome.elapsed.as_secs_f64(),
        urls.join(" "),
        outcome.diverged,
    );
    let (sure, unsure): (Vec<&Found>, Vec<&Found>) = outcome.found.iter().partition(|f| !f.flaky);
    for found in sure {
        let _ = writeln!(
            out,
            "  {}  x{}  (first: sequence {}; shrunk from {} to {} step(s)) -> {}\n      {}",
            found.group,
            found.hits,
            found.first,
            found.original_steps,
            found.repro.steps.len(),
            repro_path(dir, &found.id()).display(),
            found
                .records
                .iter()
                .map(|r| r.reason.as_str())
                .collect::<Vec<_>>()
                .join(" | ")
        );
    }
    for found in unsure {
        let _ = writeln!(
            out,
            "  not counted: {} seen in sequence {} but not again in {CONFIRMATIONS} more runs or the replay (timing?) -> {}",
            found.group,
            found.first,
            repro_path(dir, &found.id()).display(),
        );
    }
    if confirmed > 0 {
        let _ = writeln!(
            out,
            "replay: wsconform run {differential}{} --cases-dir {}",
            urls.join(" "),
            dir.display()
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::duration;
    use std::time::Duration;

    #[test]
    fn durations_read_as_people_write_them() {
        assert_eq!(duration("60s"), Ok(Duration::from_secs(60)));
        assert_eq!(duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(duration("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(duration("1.5"), Ok(Duration::from_millis(1500)));
        for bad in ["", "s", "ten", "-1s", "0s", "1d"] {
            assert!(duration(bad).is_err(), "{bad}");
        }
    }
}
