//! Runs that scale across CI jobs and survive being killed: `run --shard I/N` and `wsconform
//! merge`, and `run --resume`. Against the embedded echo server in its own process (`wsconform
//! echo`), through the real CLI.

mod support;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Output;
use std::time::Duration;

use wsconform_reports::{CaseRecord, Outcome, RunReport};

/// Enough cases to split four ways, quick against the echo server.
const CASES: &str = "1.*,2.*,3.*,4.*,5.*,7.1.*";

fn run(args: &[&str]) -> Output {
    support::wsconform()
        .args(args)
        .output()
        .expect("run wsconform")
}

fn report(dir: &Path) -> RunReport {
    let text = std::fs::read_to_string(dir.join("report.json")).expect("report.json");
    serde_json::from_str(&text).expect("a report")
}

/// Each case's verdicts, by id (timing-dependent cases left out: they may differ by run).
fn verdicts(records: &[CaseRecord]) -> BTreeMap<String, String> {
    records
        .iter()
        .filter(|r| r.timing_dependent.is_none())
        .map(|r| {
            (
                r.id.clone(),
                format!("{:?} {:?} {:?}", r.behavior, r.behavior_close, r.outcome),
            )
        })
        .collect()
}

/// One uninterrupted, unsharded run of [`CASES`] into `dir`: its report.
fn one_run(url: &str, dir: &Path) -> RunReport {
    run(&[
        "run",
        url,
        "--cases",
        CASES,
        "--out",
        dir.to_str().expect("utf-8"),
    ]);
    report(dir)
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn four_shards_merged_give_the_verdicts_of_one_run() {
    let echo = support::Echo::start();
    let url = echo.url();
    let base = support::out_dir("shards");
    let whole = one_run(&url, &base.join("whole"));
    let mut dirs = Vec::new();
    let mut sizes = Vec::new();
    for i in 1..=4 {
        let dir = base.join(format!("part-{i}"));
        let out = run(&[
            "run",
            &url,
            "--cases",
            CASES,
            "--shard",
            &format!("{i}/4"),
            "--out",
            dir.to_str().expect("utf-8"),
        ]);
        assert!(
            out.status.code().is_some_and(|c| c <= 1),
            "{}",
            stderr(&out)
        );
        sizes.push(report(&dir).cases.len());
        dirs.push(dir);
    }
    // Every case in exactly one part (the merge refuses overlaps); the parts are balanced by
    // expected time, not count (the unit test of cases::shard checks the balance).
    assert_eq!(sizes.iter().sum::<usize>(), whole.cases.len());
    assert!(sizes.iter().all(|s| *s > 0), "{sizes:?}");
    let merged = base.join("merged");
    let mut args = vec!["merge".to_owned()];
    args.extend(dirs.iter().map(|d| d.display().to_string()));
    args.extend(["--out".to_owned(), merged.display().to_string()]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = run(&args);
    let failed = whole.cases.iter().any(|r| r.outcome == Outcome::Fail);
    assert_eq!(
        out.status.code(),
        Some(i32::from(failed)),
        "{}",
        stderr(&out)
    );
    let joined = report(&merged);
    assert_eq!(verdicts(&joined.cases), verdicts(&whole.cases));
    assert_eq!(joined.case_set, whole.case_set);
    assert!(joined.shard.is_none());
    for file in [
        "index.html",
        "results.jsonl",
        "junit.xml",
        "summary.md",
        "autobahn/index.json",
    ] {
        assert!(merged.join(file).is_file(), "{file}");
    }

    // Three parts of four: the missing cases are listed, the report written, exit 1.
    let partial = base.join("partial");
    let out = run(&[
        "merge",
        dirs[0].to_str().expect("utf-8"),
        dirs[1].to_str().expect("utf-8"),
        dirs[2].to_str().expect("utf-8"),
        "--out",
        partial.to_str().expect("utf-8"),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains(&format!(
            "{} case(s) of the selection are in no part",
            sizes[3]
        )),
        "{}",
        stderr(&out)
    );
    assert_eq!(report(&partial).cases.len(), whole.cases.len() - sizes[3]);

    // A part given twice, and a part of another run: one line, exit 2.
    for args in [
        vec![
            dirs[0].to_str().expect("utf-8"),
            dirs[0].to_str().expect("utf-8"),
        ],
        vec![
            dirs[0].to_str().expect("utf-8"),
            base.join("whole").to_str().expect("utf-8"),
        ],
    ] {
        let out = run(&[
            &["merge"],
            &args[..],
            &["--out", partial.to_str().expect("utf-8")],
        ]
        .concat());
        assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
        assert_eq!(
            stderr(&out).trim_end().lines().count(),
            1,
            "{}",
            stderr(&out)
        );
    }
    // Shard specs that are not I/N with 1 <= I <= N: usage errors.
    for bad in ["3/2", "0/0", "x"] {
        let out = run(&["run", &url, "--shard", bad]);
        assert_eq!(out.status.code(), Some(2), "{bad}: {}", stderr(&out));
    }
}

#[test]
fn a_killed_run_resumed_gives_the_report_of_one_run() {
    let echo = support::Echo::start();
    let url = echo.url();
    let base = support::out_dir("resume");
    let whole = one_run(&url, &base.join("whole"));

    // kill -9 once some cases are written (bounded: at most 10 s of polling).
    let dir = base.join("killed");
    let mut child = support::wsconform()
        .args(["run", &url, "--cases", CASES, "--jobs", "1", "--out"])
        .arg(&dir)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start wsconform");
    let jsonl = dir.join("results.jsonl");
    for _ in 0..200 {
        let lines = std::fs::read_to_string(&jsonl).map_or(0, |t| t.lines().count());
        if lines >= 20 {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.kill().expect("SIGKILL");
    let _ = child.wait();
    // What a kill in the middle of a write leaves: half a line at the end.
    let mut text = std::fs::read_to_string(&jsonl).expect("results.jsonl");
    let kept = text.lines().count();
    assert!(kept >= 20 && kept < whole.cases.len(), "{kept} lines");
    text.push_str("{\"target\":\"half a li");
    std::fs::write(&jsonl, text).expect("write");
    let out = run(&[
        "run",
        &url,
        "--cases",
        CASES,
        "--resume",
        "--out",
        dir.to_str().expect("utf-8"),
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(&format!("resuming: {kept} case(s) already done")),
        "{stdout}"
    );
    let resumed = report(&dir);
    assert_eq!(resumed.cases.len(), whole.cases.len());
    assert_eq!(verdicts(&resumed.cases), verdicts(&whole.cases));
    let lines = std::fs::read_to_string(&jsonl).expect("results.jsonl");
    assert_eq!(
        lines.lines().count(),
        whole.cases.len(),
        "one line a case, no half line"
    );

    // A server that now answers 404: the run stops at its preflight (exit 5), and the results
    // kept for a later resume are left as they were.
    let before = std::fs::read(&jsonl).expect("results.jsonl");
    let http = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let not_found = format!("ws://{}/", http.local_addr().expect("addr"));
    let answering = std::thread::spawn(move || {
        use std::io::{Read, Write};
        // One connection: the preflight's.
        if let Ok((mut tcp, _)) = http.accept() {
            let mut buf = [0u8; 4096];
            let _ = tcp.set_read_timeout(Some(Duration::from_secs(5)));
            let _ = tcp.read(&mut buf);
            let _ = tcp.write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
        }
    });
    let other = format!("{}={not_found}", resumed.targets[0].name);
    let out = run(&[
        "run",
        "--target",
        &other,
        "--cases",
        CASES,
        "--resume",
        "--out",
        dir.to_str().expect("utf-8"),
    ]);
    let _ = answering.join();
    assert_eq!(out.status.code(), Some(5), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("kept for a later --resume"),
        "{}",
        stderr(&out)
    );
    assert_eq!(std::fs::read(&jsonl).expect("results.jsonl"), before);

    // Another selection, or another target, is refused with one line.
    let other = format!("other={url}");
    for args in [
        vec!["run", &url, "--cases", "1.*", "--resume"],
        vec!["run", "--target", &other, "--cases", CASES, "--resume"],
    ] {
        let out = run(&[&args[..], &["--out", dir.to_str().expect("utf-8")]].concat());
        assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
        assert_eq!(
            stderr(&out).trim_end().lines().count(),
            1,
            "{}",
            stderr(&out)
        );
    }
}

/// A spec file's `exclude-agent-cases` leaves cases out of every part: the merge does not
/// count them as missing.
#[test]
fn cases_a_spec_leaves_out_are_not_missing_from_the_merge() {
    let echo = support::Echo::start();
    let base = support::out_dir("shards-spec");
    std::fs::create_dir_all(&base).expect("dir");
    let spec = serde_json::json!({
        "outdir": base.join("autobahn"),
        "servers": [{"agent": "echo", "url": echo.url()}],
        "cases": ["1.1.*", "2.*"],
        "exclude-cases": [],
        "exclude-agent-cases": {"echo": ["2.1*"]},
    });
    let spec_path = base.join("fuzzingclient.json");
    std::fs::write(&spec_path, spec.to_string()).expect("spec");
    let mut parts = Vec::new();
    for i in 1..=2 {
        let dir = base.join(format!("part-{i}"));
        let out = run(&[
            "run",
            "--spec",
            spec_path.to_str().expect("utf-8"),
            "--shard",
            &format!("{i}/2"),
            "--out",
            dir.to_str().expect("utf-8"),
        ]);
        assert!(
            out.status.code().is_some_and(|c| c <= 1),
            "{}",
            stderr(&out)
        );
        parts.push(dir);
    }
    let merged = base.join("merged");
    let out = run(&[
        "merge",
        parts[0].to_str().expect("utf-8"),
        parts[1].to_str().expect("utf-8"),
        "--out",
        merged.to_str().expect("utf-8"),
    ]);
    assert!(!stderr(&out).contains("in no part"), "{}", stderr(&out));
    let joined = report(&merged);
    assert!(joined.cases.iter().all(|r| !r.id.starts_with("2.1")));
    assert!(joined.cases.iter().any(|r| r.id == "2.2"));
    let failed = joined.cases.iter().any(|r| r.outcome == Outcome::Fail);
    assert_eq!(
        out.status.code(),
        Some(i32::from(failed)),
        "{}",
        stderr(&out)
    );
}
