//! `wsconform run` and `wsconform cases`: from arguments to a plan (ripgrep's `hiargs`), the
//! run, and its outputs.

use std::time::Duration;

use anyhow::{Context, anyhow};
use wsconform::cases::{self, Case, PeerRole, Selection};
use wsconform::echo::EchoServer;
use wsconform::net::Target;
use wsconform::runner::record::rfc3339;
use wsconform::runner::{
    Plan, ProbeError, RunOptions, TargetSpec, Timeouts, default_jobs, probe, run_plan,
};
use wsconform::spec::Spec;
use wsconform_reports::baseline::{Baseline, ChangeKind, compare};
use wsconform_reports::{
    CaseRecord, Outcome, Policy as ReportPolicy, RunReport, ShardInfo, TargetInfo,
};

use super::args::{CasesArgs, DiffArgs, RunArgs};
use super::output::{JsonLines, progress, summary, write_reports};
use super::{
    EXIT_FAILED, EXIT_UNREACHABLE, EXIT_USAGE, Failure, connect_exit_code, fail,
    handshake_exit_code,
};

/// The library: built-in, or a user's directory.
fn load_cases(dir: Option<&std::path::Path>) -> Result<Vec<Case>, Failure> {
    let cases = match dir {
        Some(dir) => cases::load_dir(dir),
        None => cases::builtin(),
    };
    cases.map_err(|e| fail(EXIT_USAGE, e))
}

/// Applies a selection; a pattern that matches nothing is a usage error.
pub(super) fn select(all: Vec<Case>, selection: &Selection) -> Result<Vec<Case>, Failure> {
    let ids: Vec<&str> = all.iter().map(|c| c.id.as_str()).collect();
    let chosen: Vec<String> = selection
        .apply(&ids)
        .map_err(|e| fail(EXIT_USAGE, anyhow!(e)))?
        .into_iter()
        .map(str::to_owned)
        .collect();
    Ok(all.into_iter().filter(|c| chosen.contains(&c.id)).collect())
}

pub fn list_cases(args: CasesArgs) -> Result<u8, Failure> {
    let all = load_cases(args.cases_dir.as_deref())?;
    let selected = select(all, &Selection::from_lists(args.pattern.as_deref(), None))?;
    for case in selected {
        let needs = if case.needs.is_empty() {
            String::new()
        } else {
            let params: Vec<String> = case
                .needs
                .iter()
                .map(|n| format!("--param {n}=…"))
                .collect();
            format!(" [needs {}]", params.join(" "))
        };
        let tightens = if case.tightens.is_empty() {
            String::new()
        } else {
            format!(" [tightens Autobahn's {}]", case.tightens.join(", "))
        };
        let tightens = if case.tests(PeerRole::Server) {
            tightens
        } else {
            format!("{tightens} [clients: wsconform serve]")
        };
        super::say(&format!(
            "{}\t{}\t{}{needs}{tightens}\n",
            case.id,
            case.rfc_short(),
            case.title
        ));
    }
    Ok(0)
}

/// A target before the preflight: its name (if given) and URL.
struct Wanted {
    name: Option<String>,
    target: Target,
    options: RunOptions,
    skip_patterns: Vec<String>,
}

/// Reads a results file of any supported kind.
fn load_baseline(path: &std::path::Path) -> Result<Baseline, Failure> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| fail(EXIT_USAGE, anyhow!("{}: {e}", path.display())))?;
    Baseline::parse(&text).map_err(|e| fail(EXIT_USAGE, anyhow!("{}: {e}", path.display())))
}

pub fn diff(args: DiffArgs) -> Result<u8, Failure> {
    let old = load_baseline(&args.old)?;
    let new = load_baseline(&args.new)?;
    let policy = if args.strict {
        ReportPolicy::Strict
    } else {
        ReportPolicy::Default
    };
    let changes = compare(&old, &new, policy);
    for change in &changes {
        super::say(&format!("{change}\n"));
    }
    let regressions = changes
        .iter()
        .filter(|c| c.kind == ChangeKind::Regression)
        .count();
    super::say(&format!(
        "{} case(s) differ, {regressions} regression(s)\n",
        changes.len()
    ));
    Ok(if regressions > 0 { EXIT_FAILED } else { 0 })
}

pub fn run(args: RunArgs) -> Result<u8, Failure> {
    // Bad URLs and files first: they are the cheapest mistakes to report.
    for url in &args.urls {
        Target::parse(url).map_err(|e| fail(EXIT_USAGE, e))?;
    }
    let baseline = match &args.baseline {
        Some(path) => Some(load_baseline(path)?),
        None => None,
    };
    let all = load_cases(args.cases_dir.as_deref())?;
    let spec = match &args.spec {
        Some(path) => Some(Spec::load(path).map_err(|e| fail(EXIT_USAGE, e))?),
        None => None,
    };
    let mut params = cases::Params::new();
    for (name, value) in &args.params {
        if params.insert(name.clone(), value.clone()).is_some() {
            return Err(fail(
                EXIT_USAGE,
                anyhow::anyhow!("--param {name} is given twice"),
            ));
        }
    }
    if let Some(v) = params.get("probe_ceiling") {
        use wsconform::runner::limit::MAX_CEILING;
        match v.parse::<usize>() {
            Ok(n) if (64 << 10..=MAX_CEILING).contains(&n) => {}
            _ => {
                return Err(fail(
                    EXIT_USAGE,
                    anyhow::anyhow!(
                        "--param probe_ceiling={v:?} is not a number of bytes from 65536 to {MAX_CEILING}"
                    ),
                ));
            }
        }
    }
    if let Some(v) = params.get("max_message")
        && v.parse::<usize>().is_err()
    {
        return Err(fail(
            EXIT_USAGE,
            anyhow::anyhow!("--param max_message={v:?} is not a number of bytes"),
        ));
    }
    let options = RunOptions {
        tls: args.tls.options(),
        connect_timeout: args.connect_timeout,
        open_handshake_timeout: args.open_handshake_timeout,
        timeouts: Timeouts {
            close_handshake: args.close_handshake_timeout,
            server_drop: args.server_drop_timeout,
            case_limit: args.case_timeout,
        },
        policy: super::policy(args.strict),
        params,
        chop: None,
        // Any fixed seed: the targets get the same keys.
        mask_seed: args
            .differential
            .then_some(wsconform::runner::predict::MASK_SEED),
    };
    // The selection: flags first, else the spec's.
    let selection = match (&args.cases, &args.exclude, &spec) {
        (None, None, Some(spec)) => Selection {
            cases: spec.cases.clone(),
            exclude: spec.exclude_cases.clone(),
            autobahn_only: true,
        },
        _ => Selection::from_lists(args.cases.as_deref(), args.exclude.as_deref()),
    };
    // Cases that test clients (sections 20, 21) run under `wsconform serve`.
    let clients_only = all.iter().any(|c| !c.tests(PeerRole::Server));
    let for_servers: Vec<Case> = all
        .into_iter()
        .filter(|c| c.tests(PeerRole::Server))
        .collect();
    let selected = select(for_servers, &selection).map_err(|e| {
        if clients_only && args.cases.is_some() {
            fail(
                EXIT_USAGE,
                anyhow!(
                    "{}; cases that test clients (sections 20, 21) run under `wsconform serve`",
                    e.error
                ),
            )
        } else {
            e
        }
    })?;
    // One part of the selection, with the whole selection kept for `wsconform merge`.
    let mut shard = args.shard.map(|s| ShardInfo {
        index: s.index,
        count: s.count,
        selection: selected.iter().map(|c| c.id.clone()).collect(),
        excluded: Default::default(),
    });
    let selection_size = selected.len();
    let cases = match args.shard {
        Some(s) => cases::shard::split(selected, s),
        None => selected,
    };

    let mut wanted = Vec::new();
    for url in &args.urls {
        let target = Target::parse(url).map_err(|e| fail(EXIT_USAGE, e))?;
        wanted.push(Wanted {
            name: None,
            target,
            options: options.clone(),
            skip_patterns: Vec::new(),
        });
    }
    for named in &args.targets {
        let (name, url) = named
            .split_once('=')
            .filter(|(n, _)| !n.is_empty())
            .ok_or_else(|| fail(EXIT_USAGE, anyhow!("--target {named:?} is not NAME=URL")))?;
        let target = Target::parse(url).map_err(|e| fail(EXIT_USAGE, e))?;
        wanted.push(Wanted {
            name: Some(name.to_owned()),
            target,
            options: options.clone(),
            skip_patterns: Vec::new(),
        });
    }
    if let Some(spec) = &spec {
        for server in &spec.servers {
            let target = Target::parse(&server.url).map_err(|e| {
                fail(
                    EXIT_USAGE,
                    anyhow!(
                        "{}: {e}",
                        args.spec
                            .as_ref()
                            .map(|p| p.display().to_string())
                            .unwrap_or_default()
                    ),
                )
            })?;
            let mut opts = options.clone();
            let secs = |key: &str, default: Duration| {
                spec.timeout(server, key)
                    .and_then(|s| Duration::try_from_secs_f64(s).ok())
                    .unwrap_or(default)
            };
            opts.open_handshake_timeout = secs("openHandshakeTimeout", opts.open_handshake_timeout);
            opts.timeouts.close_handshake =
                secs("closeHandshakeTimeout", opts.timeouts.close_handshake);
            opts.timeouts.server_drop =
                secs("serverConnectionDropTimeout", opts.timeouts.server_drop);
            // Autobahn verifies TLS only when the server names a hostname (then also SNI).
            match &server.hostname {
                Some(host) => opts.tls.sni = Some(host.clone()),
                None if target.secure && opts.tls.ca_file.is_none() => opts.tls.insecure = true,
                None => {}
            }
            wanted.push(Wanted {
                name: server.agent.clone(),
                target,
                options: opts,
                skip_patterns: Vec::new(),
            });
        }
    }
    if args.differential && wanted.len() < 2 {
        return Err(fail(
            EXIT_USAGE,
            anyhow!(
                "--differential compares two or more targets; {} given",
                wanted.len()
            ),
        ));
    }
    let jobs = args.jobs.map(usize::from).unwrap_or_else(default_jobs);

    let runtime = super::runtime()?;
    runtime.block_on(async move {
        // Without a target, the embedded echo server is the target; it lives until we return.
        let mut _server = None;
        if wanted.is_empty() {
            let server = EchoServer::start()
                .await
                .context("cannot start the embedded echo server")?;
            super::say(&format!(
                "no URL given: testing the embedded tokio-tungstenite echo server at {}\n",
                server.url()
            ));
            wanted.push(Wanted {
                name: Some("tokio-tungstenite-embedded".into()),
                target: Target::parse(&server.url())?,
                options: options.clone(),
                skip_patterns: Vec::new(),
            });
            _server = Some(server);
        }
        // Preflight: each target must accept a WebSocket before 300 cases are thrown at it.
        // A 101 that breaks §4.1 is the server's failure, which the cases report; anything
        // else most likely means a wrong URL, and the run ends with the probe's record.
        let started = std::time::SystemTime::now();
        let mut targets = Vec::new();
        for w in wanted {
            let response = match probe(&w.target, &w.options).await {
                Ok(probed) => {
                    if !probed.broken.is_empty() {
                        eprintln!(
                            "warning: {} answered 101 but breaks RFC 6455 §4.1 ({}); every case whose handshake gets this answer fails",
                            w.target.url,
                            probed.broken.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")
                        );
                    }
                    probed.response
                }
                Err(ProbeError::Connect(c)) => {
                    return Err(fail(connect_exit_code(&c), anyhow!("{}: {c}", w.target.url)));
                }
                Err(ProbeError::Handshake { failure, .. }) if args.resume => {
                    // The stopped run's results stay as they are, for a later --resume.
                    return Err(fail(
                        handshake_exit_code(&failure),
                        anyhow!(
                            "{}: opening handshake failed: {failure}; {} is kept for a later --resume",
                            w.target.url,
                            args.out.join("results.jsonl").display()
                        ),
                    ));
                }
                Err(ProbeError::Handshake { failure, mut record }) => {
                    let name = w.name.clone().unwrap_or_else(|| w.target.url.clone());
                    record.target = name.clone();
                    let mut jsonl = JsonLines::create(&args.out)?;
                    jsonl.write(&record)?;
                    let info = TargetInfo { name, url: w.target.url.clone() };
                    let dir = write_run(&args, spec.as_ref(), selection_size, started, vec![info], vec![*record], None)?;
                    super::say(&format!(
                        "results: the preflight's record in {} (index.html, report.json, junit.xml, summary.md in {}; Autobahn's index.json in {})\n",
                        jsonl.path().display(),
                        args.out.display(),
                        dir.display()
                    ));
                    return Err(fail(
                        handshake_exit_code(&failure),
                        anyhow!("{}: opening handshake failed: {failure}", w.target.url),
                    ));
                }
            };
            let name = w.name.unwrap_or_else(|| {
                response
                    .header("Server")
                    .map(|s| String::from_utf8_lossy(s).into_owned())
                    .unwrap_or_else(|| w.target.url.clone())
            });
            let mut skip_patterns = w.skip_patterns;
            if let Some(spec) = &spec {
                skip_patterns.extend(spec.excluded_for(&name));
            }
            let skip = cases
                .iter()
                .filter(|c| skip_patterns.iter().any(|p| cases::matches_anchored(p, &c.id)))
                .map(|c| c.id.clone())
                .collect();
            // A merge must not count what the spec leaves out for this target as missing.
            if let Some(s) = shard.as_mut()
                && !skip_patterns.is_empty()
            {
                s.excluded.insert(name.clone(), skip_patterns.clone());
            }
            targets.push(TargetSpec {
                name,
                target: w.target,
                skip,
                options: w.options,
            });
        }
        let total: usize = targets
            .iter()
            .map(|t| cases.iter().filter(|c| !t.skip.contains(&c.id)).count())
            .sum();
        // A resumed run keeps what the stopped one finished, and runs the rest.
        let done = if args.resume {
            let names: Vec<String> = targets.iter().map(|t| t.name.clone()).collect();
            super::resume::load(&args.out, &cases, &names)?
        } else {
            Vec::new()
        };
        if args.resume {
            super::say(&format!(
                "resuming: {} case(s) already done, {} to run\n",
                done.len(),
                total.saturating_sub(done.len())
            ));
        }
        for t in &mut targets {
            t.skip
                .extend(done.iter().filter(|r| r.target == t.name).map(|r| r.id.clone()));
        }
        let total = total.saturating_sub(done.len());
        let mut jsonl = if args.resume {
            JsonLines::resume(&args.out, &done)?
        } else {
            JsonLines::create(&args.out)?
        };
        let target_infos: Vec<TargetInfo> = targets
            .iter()
            .map(|t| TargetInfo {
                name: t.name.clone(),
                url: t.target.url.clone(),
            })
            .collect();
        let case_count = selection_size;
        let target_names: Vec<String> = target_infos.iter().map(|t| t.name.clone()).collect();
        let plan = Plan {
            targets,
            cases,
            jobs,
        };
        let bar = progress(total);
        let mut records: Vec<CaseRecord> = done;
        let mut write_error = None;
        run_plan(&plan, |target, run| {
            bar.inc(1);
            bar.set_message(format!("{} {}", target.name, run.record.id));
            if let Err(e) = jsonl.write(&run.record)
                && write_error.is_none()
            {
                write_error = Some(e);
            }
            records.push(run.record);
        })
        .await;
        bar.finish_and_clear();
        if let Some(e) = write_error {
            return Err(e.into());
        }
        records.sort_by(|a, b| {
            (a.target.as_str(), 0)
                .cmp(&(b.target.as_str(), 0))
                .then_with(|| cases::compare_ids(&a.id, &b.id))
        });
        let autobahn_dir = write_run(&args, spec.as_ref(), case_count, started, target_infos, records.clone(), shard)?;
        let mut text = summary(&records);
        if args.differential {
            text.push_str(&differential_summary(&wsconform_reports::differential::compute(&records, &target_names)));
        }
        if args.quiet {
            for line in text.lines().filter(|l| !l.starts_with(' ')) {
                super::say(&format!("{line}\n"));
            }
        } else {
            super::say(&text);
        }
        super::say(&format!(
            "results: {} (index.html, report.json, junit.xml, summary.md in {}; Autobahn's index.json in {})\n",
            jsonl.path().display(),
            args.out.display(),
            autobahn_dir.display()
        ));
        let unreachable = records.iter().filter(|r| r.outcome == Outcome::Unreachable).count();
        if unreachable > 0 {
            return Err(fail(
                EXIT_UNREACHABLE,
                anyhow!(
                    "a target became unreachable mid-run: {unreachable} case(s) not run; the results so far are in {}",
                    jsonl.path().display()
                ),
            ));
        }
        if let Some(baseline) = &baseline {
            let policy = if args.strict { ReportPolicy::Strict } else { ReportPolicy::Default };
            let changes = compare(baseline, &Baseline::from_records(&records), policy);
            let regressions = changes.iter().filter(|c| c.kind == ChangeKind::Regression).count();
            for change in &changes {
                super::say(&format!("  {change}\n"));
            }
            super::say(&format!(
                "baseline: {} case(s) differ, {regressions} regression(s)\n",
                changes.len()
            ));
            return Ok(if regressions > 0 { EXIT_FAILED } else { 0 });
        }
        Ok(if records.iter().any(|r| r.outcome == Outcome::Fail) {
            EXIT_FAILED
        } else {
            0
        })
    })
}

/// The terminal lines of a differential run: how many cases differ, and each one's aspects.
fn differential_summary(d: &wsconform_reports::differential::Differential) -> String {
    use std::fmt::Write as _;
    let mut out = format!(
        "differential: {} of {} cases compared behave differently across {}\n",
        d.cases.len(),
        d.compared,
        d.targets.join(", ")
    );
    // The values are in the reports; the terminal names the aspects.
    const SHOWN: usize = 30;
    for case in d.cases.iter().take(SHOWN) {
        let _ = writeln!(out, "  {}  {}", case.id, case.names());
    }
    if d.cases.len() > SHOWN {
        let _ = writeln!(
            out,
            "  … {} more (each target's values: the Differences table of index.html, or report.json's differential)",
            d.cases.len() - SHOWN
        );
    }
    out
}

/// Writes the files made from the whole run (HTML, report.json, JUnit, Markdown, and
/// Autobahn's index.json where a spec file says, or under the output directory); returns
/// where Autobahn's files went.
fn write_run(
    args: &RunArgs,
    spec: Option<&Spec>,
    case_count: usize,
    started: std::time::SystemTime,
    targets: Vec<TargetInfo>,
    records: Vec<CaseRecord>,
    shard: Option<ShardInfo>,
) -> Result<std::path::PathBuf, Failure> {
    let autobahn_dir = match spec {
        Some(spec) => std::path::PathBuf::from(&spec.outdir),
        None => args.out.join("autobahn"),
    };
    let jobs = args.jobs.map(usize::from).unwrap_or_else(default_jobs);
    let differential = args.differential.then(|| {
        let names: Vec<String> = targets.iter().map(|t| t.name.clone()).collect();
        wsconform_reports::differential::compute(&records, &names)
    });
    let report = RunReport {
        schema: wsconform_reports::SCHEMA,
        tool: "wsconform".into(),
        tool_version: env!("CARGO_PKG_VERSION").into(),
        case_set: if args.cases_dir.is_some() {
            format!("custom-{case_count}")
        } else {
            format!("core-{case_count}")
        },
        started: rfc3339(started),
        finished: rfc3339(std::time::SystemTime::now()),
        policy: if args.strict { "strict" } else { "default" }.into(),
        options: run_options(args, jobs),
        targets,
        cases: records,
        shard,
        differential,
    };
    write_reports(&args.out, &autobahn_dir, &report)?;
    Ok(autobahn_dir)
}

/// The options that shape verdicts, for the report.
fn run_options(args: &RunArgs, jobs: usize) -> std::collections::BTreeMap<String, String> {
    let secs = |d: Duration| format!("{}s", d.as_secs_f64());
    let params = args
        .params
        .iter()
        .map(|(name, value)| (format!("param.{name}"), value.clone()));
    let mut options = std::collections::BTreeMap::from([
        ("jobs".to_owned(), jobs.to_string()),
        ("connect_timeout".to_owned(), secs(args.connect_timeout)),
        (
            "open_handshake_timeout".to_owned(),
            secs(args.open_handshake_timeout),
        ),
        (
            "close_handshake_timeout".to_owned(),
            secs(args.close_handshake_timeout),
        ),
        (
            "server_drop_timeout".to_owned(),
            secs(args.server_drop_timeout),
        ),
        ("case_timeout".to_owned(), secs(args.case_timeout)),
    ]);
    options.extend(params);
    options
}
