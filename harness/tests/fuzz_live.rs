//! `wsconform fuzz` as a user runs it: a planted fault in the reference server found, shrunk
//! to a case file and replayed by `run --cases-dir`; fixed budgets on the real servers with no
//! false divergence; bad input; a target that dies mid-run; differential runs.

mod support;

use std::path::Path;
use std::process::Output;
use std::time::{Duration, Instant};

use support::faulty::{Faults, FaultyServer};
use support::{Echo, Kind, RealServer, out_dir, records_in, wsconform};
use wsconform_reports::RunReport;

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn fuzz(args: &[&str], dir: &Path) -> Output {
    wsconform()
        .arg("fuzz")
        .args(args)
        .arg("--repro-dir")
        .arg(dir)
        .output()
        .expect("run wsconform fuzz")
}

fn report(dir: &Path) -> RunReport {
    let text = std::fs::read_to_string(dir.join("report/report.json")).expect("report.json");
    serde_json::from_str(&text).expect("a report")
}

/// The repros of confirmed divergences in `dir`, by case id.
fn confirmed(dir: &Path) -> Vec<String> {
    let mut ids: Vec<String> = report(dir)
        .cases
        .into_iter()
        .map(|r| r.id)
        .filter(|id| !id.starts_with("fuzz.unconfirmed."))
        .collect();
    ids.sort();
    ids.dedup();
    ids
}

/// The steps of a repro file, not counting the kill timer armed after them.
fn steps(file: &Path) -> usize {
    let text = std::fs::read_to_string(file).expect("repro file");
    text.lines()
        .filter(|l| l.starts_with("  { ") && !l.contains("arm = {"))
        .count()
}

#[test]
fn a_planted_fault_is_found_shrunk_and_replayed_to_the_same_failure() {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    // The reference server, but a ping between two fragments of a message goes unanswered.
    let faulty = runtime.block_on(FaultyServer::start(Faults {
        no_pong_mid_message: true,
        ..Faults::default()
    }));
    let clean = runtime.block_on(FaultyServer::start(Faults::default()));
    let dir = out_dir("fuzz-planted");
    let out = fuzz(
        &[&faulty.url(), "--runs", "300", "--seed", "5", "-j", "2"],
        &dir,
    );
    let said = text(&out);
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(said.contains("with seed 5"), "the seed is printed: {said}");
    assert!(said.contains("diverge-missing-pong"), "{said}");
    assert_eq!(confirmed(&dir), ["fuzz.diverge-missing-pong"], "{said}");
    let repro = dir.join("diverge-missing-pong.toml");
    let n = steps(&repro);
    assert!((1..=3).contains(&n), "shrunk to a few steps, not {n}");
    let file = std::fs::read_to_string(&repro).expect("repro");
    assert!(file.contains("opcode = \"ping\""), "{file}");
    assert!(file.contains("fin = false"), "{file}");
    assert!(file.contains("# Replay: wsconform run"), "{file}");
    // The HTML report has the repro, with its trace.
    let html = std::fs::read_to_string(dir.join("report/index.html")).expect("index.html");
    assert!(html.contains("fuzz.diverge-missing-pong"));
    assert!(html.contains("class=\"trace\"") || html.contains("trace"));

    // `run --cases-dir` replays it to the same failure; the clean reference passes it.
    let replay = |url: &str, name: &str| {
        let out_dir = out_dir(name);
        let out = wsconform()
            .args(["run", url, "--cases-dir"])
            .arg(&dir)
            .args(["--cases", "fuzz.diverge-missing-pong", "--out"])
            .arg(&out_dir)
            .output()
            .expect("run");
        (out, records_in(&out_dir))
    };
    let (out, records) = replay(&faulty.url(), "fuzz-planted-replay");
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].findings[0].code, "diverge-missing-pong");
    let (out, records) = replay(&clean.url(), "fuzz-planted-clean");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        records[0].reason.starts_with("as the model"),
        "{}",
        records[0].reason
    );

    // The same seed gives the same sequences: the same divergence again.
    let again = fuzz(
        &[&faulty.url(), "--runs", "300", "--seed", "5", "-j", "2"],
        &out_dir("fuzz-planted-again"),
    );
    assert!(
        text(&again).contains("diverge-missing-pong  x"),
        "{}",
        text(&again)
    );
    drop((faulty, clean, runtime));
}

/// Runs a fixed budget against `url`; returns the confirmed repros.
fn budget_run(url: &str, name: &str) -> (Vec<String>, String) {
    let dir = out_dir(name);
    let out = fuzz(&[url, "--runs", "200", "--seed", "2026", "-j", "2"], &dir);
    let said = text(&out);
    assert!(matches!(out.status.code(), Some(0 | 1)), "{said}");
    let ids = confirmed(&dir);
    assert_eq!(out.status.code() == Some(1), !ids.is_empty(), "{said}");
    (ids, said)
}

#[test]
fn conformant_servers_give_no_false_divergence_on_a_fixed_budget() {
    // tokio-tungstenite (the embedded echo server) and Node ws: none.
    let echo = Echo::start();
    let (ids, said) = budget_run(&echo.url(), "fuzz-budget-tungstenite");
    assert!(ids.is_empty(), "{said}");
    let ws = RealServer::start(Kind::NodeWs);
    let (ids, said) = budget_run(&ws.url(), "fuzz-budget-ws");
    assert!(ids.is_empty(), "{said}");
    // Python websockets: one real finding, and only it. It answers a close that comes in the
    // middle of a fragmented message with 1002 (websockets/protocol.py: "incomplete
    // fragmented message"); RFC 6455 §5.4 lets control frames come between fragments, and
    // §5.5.1 wants the close answered.
    let py = RealServer::start(Kind::PythonWebsockets);
    let dir = out_dir("fuzz-budget-websockets");
    let (ids, said) = budget_run(&py.url(), "fuzz-budget-websockets");
    assert!(
        ids.iter().all(|id| id == "fuzz.diverge-failed"),
        "only the known finding: {said}"
    );
    if !ids.is_empty() {
        let file = std::fs::read_to_string(dir.join("diverge-failed.toml")).expect("repro");
        assert!(file.contains("fin = false"), "{file}");
        assert!(file.contains("close 1002"), "{file}");
    }
}

#[test]
fn bad_budgets_and_an_unwritable_repro_dir_are_usage_errors_before_any_traffic() {
    let dir = out_dir("fuzz-bad");
    // Nothing listens on port 9: a fuzz that got as far as connecting would exit 3.
    let url = "ws://127.0.0.1:9/";
    for args in [
        vec![url, "--time", "soon"],
        vec![url, "--time", "0s"],
        vec![url, "--runs", "0"],
        vec![url, "--runs", "many"],
        vec![url, "ws://127.0.0.1:10/"],
        vec!["--differential", url],
        vec!["not a url"],
    ] {
        let out = fuzz(&args, &dir);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", text(&out));
    }
    let file = out_dir("fuzz-bad-file");
    std::fs::write(&file, b"a file, not a directory").expect("write");
    let out = fuzz(&[url, "--runs", "1"], &file.join("repros"));
    let said = text(&out);
    assert_eq!(out.status.code(), Some(2), "{said}");
    assert!(said.contains("cannot be written"), "{said}");
    assert_eq!(said.lines().count(), 1, "one line: {said}");
}

#[test]
fn a_target_that_dies_ends_the_run_with_exit_3_and_keeps_what_was_in_flight() {
    let mut echo = Echo::start();
    let dir = out_dir("fuzz-dies");
    let mut child = wsconform()
        .args([
            "fuzz",
            &echo.url(),
            "--time",
            "60s",
            "--seed",
            "9",
            "--repro-dir",
        ])
        .arg(&dir)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start fuzz");
    std::thread::sleep(Duration::from_secs(2));
    drop(std::mem::replace(&mut echo, Echo::start()));
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the fuzz run did not notice the target died"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    let out = child.wait_with_output().expect("output");
    let said = text(&Output { status, ..out });
    assert_eq!(status.code(), Some(3), "{said}");
    assert!(said.contains("stopped answering"), "{said}");
    let kept: Vec<String> = std::fs::read_dir(&dir)
        .expect("repro dir")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("died."))
        .collect();
    assert!(!kept.is_empty(), "the sequences in flight are kept: {said}");
    // Each is a case file that loads.
    let cases = wsconform::cases::load_dir(&dir).expect("the repros load");
    assert!(cases.iter().any(|c| c.id.starts_with("fuzz.died.")));
    // Everything found so far is written: the report.
    assert!(dir.join("report/index.html").exists());
}

#[test]
fn differential_runs_show_where_real_servers_differ() {
    let echo = Echo::start();
    let py = RealServer::start(Kind::PythonWebsockets);
    let ws = RealServer::start(Kind::NodeWs);
    let dir = out_dir("differential-run");
    let out = wsconform()
        .args(["run", "--differential"])
        .args(["--target", &format!("tungstenite={}", echo.url())])
        .args(["--target", &format!("websockets={}", py.url())])
        .args(["--target", &format!("ws={}", ws.url())])
        .args(["--cases", "1.1.1,4.2.3,5.1,6.6.8", "--out"])
        .arg(&dir)
        .output()
        .expect("run");
    let said = text(&out);
    assert!(said.contains("differential: "), "{said}");
    let run: RunReport = serde_json::from_str(
        &std::fs::read_to_string(dir.join("report.json")).expect("report.json"),
    )
    .expect("report");
    let d = run.differential.expect("a differential section");
    assert_eq!(d.targets, ["tungstenite", "websockets", "ws"]);
    assert_eq!(d.compared, 4);
    let differs: Vec<&str> = d.cases.iter().map(|c| c.id.as_str()).collect();
    // 1.1.1 (an empty text echo) is the same everywhere; the embedded tungstenite server
    // drops TCP without a close frame where the others fail with a code.
    assert!(!differs.contains(&"1.1.1"), "{said}");
    let case = d
        .cases
        .iter()
        .find(|c| c.id == "6.6.8")
        .expect("6.6.8 differs");
    let close = case
        .aspects
        .iter()
        .find(|a| a.aspect == wsconform_reports::differential::Aspect::CloseCode)
        .expect("close code differs");
    assert_eq!(close.values, ["no close frame", "1007", "1007"]);
    let html = std::fs::read_to_string(dir.join("index.html")).expect("index.html");
    assert!(html.contains("id=\"diff-table\""));
    assert!(html.contains("<th class=\"diff\">diff</th>"));

    // `fuzz --differential`: the same sequences to each; what differs is shrunk and kept.
    let fdir = out_dir("differential-fuzz");
    let out = fuzz(
        &[
            "--differential",
            &echo.url(),
            &py.url(),
            "--runs",
            "40",
            "--seed",
            "3",
        ],
        &fdir,
    );
    let said = text(&out);
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(said.contains("against each other"), "{said}");
    assert!(
        report(&fdir)
            .differential
            .is_some_and(|d| !d.cases.is_empty())
    );
    assert!(
        confirmed(&fdir)
            .iter()
            .any(|id| id.starts_with("fuzz.differ-")),
        "{said}"
    );
}
