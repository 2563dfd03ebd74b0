//! wsconform's Autobahn-format output works with the scripts projects already run on
//! Autobahn's: tungstenite's jq golden diff and the fastwebsockets / uWebSockets verdict check
//! (tools/autobahn-consumers). With `--spec`, the files go to the spec's `outdir`, as
//! Autobahn's would.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use support::faulty::{Faults, FaultyServer};
use support::{Echo, repo_root, wsconform};

fn tmp(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("consumers-{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("mkdir");
    dir
}

/// Runs wsconform with a fuzzingclient spec for one agent; returns the spec's outdir.
fn run_spec(dir: &Path, agent: &str, url: &str, cases: &str) -> PathBuf {
    let outdir = dir.join("reports/servers");
    let spec = dir.join("fuzzingclient.json");
    std::fs::write(
        &spec,
        format!(
            r#"{{"outdir": "{}", "servers": [{{"agent": "{agent}", "url": "{url}"}}], "cases": [{cases}], "exclude-cases": ["5.15"]}}"#,
            outdir.display()
        ),
    )
    .expect("spec");
    let out = wsconform()
        .args(["run", "--spec"])
        .arg(&spec)
        .arg("--out")
        .arg(dir.join("wsconform"))
        .output()
        .expect("run");
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    outdir
}

fn tool(name: &str) -> PathBuf {
    repo_root().join("tools/autobahn-consumers").join(name)
}

#[test]
fn tungstenite_golden_diff_with_jq() {
    assert!(
        Command::new("jq").arg("--version").output().is_ok(),
        "jq is required for this test (apt-get install jq)"
    );
    let echo = Echo::start();
    let dir = tmp("golden");
    let outdir = run_spec(
        &dir,
        "Tungstenite",
        &echo.url(),
        r#""1.*", "2.*", "5.*", "7.7.*""#,
    );
    let index = outdir.join("index.json");
    assert!(outdir.join("tungstenite_case_1_1_1.json").exists());
    let diff = |index: &Path| {
        Command::new("bash")
            .arg(tool("golden-diff.sh"))
            .arg("Tungstenite")
            .arg(index)
            .arg(tool("tungstenite-expected.json"))
            .output()
            .expect("golden-diff.sh")
    };
    let same = diff(&index);
    assert_eq!(
        same.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&same.stdout)
    );
    // A changed verdict is caught (exit 64), durations are not.
    let text = std::fs::read_to_string(&index).expect("index");
    let changed = text.replacen("\"behavior\": \"OK\"", "\"behavior\": \"FAILED\"", 1);
    let changed_path = dir.join("changed.json");
    std::fs::write(&changed_path, changed).expect("write");
    assert_eq!(diff(&changed_path).status.code(), Some(64));
}

#[test]
fn fastwebsockets_and_uwebsockets_verdict_check() {
    let check = |index: &Path, close: bool| {
        let mut cmd = Command::new("node");
        cmd.arg(tool("server-test.js")).arg(index);
        if close {
            cmd.arg("--close");
        }
        cmd.output().expect("node server-test.js")
    };
    let echo = Echo::start();
    let dir = tmp("check-good");
    let index = run_spec(
        &dir,
        "tungstenite",
        &echo.url(),
        r#""1.*", "2.*", "3.*", "6.1.*""#,
    )
    .join("index.json");
    for close in [false, true] {
        let out = check(&index, close);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stdout)
        );
    }

    // A server that never answers pings fails the check, on the ping cases.
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let server = runtime.block_on(FaultyServer::start(Faults {
        no_pong: true,
        ..Faults::default()
    }));
    let dir = tmp("check-bad");
    let index = run_spec(&dir, "faulty", &server.url(), r#""2.*""#).join("index.json");
    let out = check(&index, false);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("faulty 2.2: FAILED"), "{stdout}");
    drop(server);
}

#[test]
fn baselines_fail_only_on_regressions_and_diff_shows_them() {
    let echo = Echo::start();
    let good_dir = tmp("baseline-good");
    let good = run_spec(&good_dir, "server", &echo.url(), r#""2.*""#).join("index.json");
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let faulty = runtime.block_on(FaultyServer::start(Faults {
        no_pong: true,
        ..Faults::default()
    }));
    let bad_dir = tmp("baseline-bad");
    let bad = run_spec(&bad_dir, "server", &faulty.url(), r#""2.*""#).join("index.json");

    let run_with = |baseline: &Path| {
        wsconform()
            .args(["run", &faulty.url(), "--cases", "2.*", "--baseline"])
            .arg(baseline)
            .arg("--out")
            .arg(tmp("baseline-run"))
            .output()
            .expect("run")
    };
    // Against its own known failures (an Autobahn index.json): nothing regressed.
    let out = run_with(&bad);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.contains("baseline: 0 case(s) differ, 0 regression(s)"),
        "{stdout}"
    );
    // Against the conforming server's results: the ping cases regressed.
    let out = run_with(&good);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("REGRESSION") && stdout.contains(" 2.2: OK/OK -> FAILED/OK"),
        "{stdout}"
    );

    // `wsconform diff`, across formats: Autobahn's index.json against our results.jsonl.
    let ours = bad_dir.join("wsconform/results.jsonl");
    let out = wsconform()
        .arg("diff")
        .arg(&good)
        .arg(&ours)
        .output()
        .expect("diff");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("regression(s)") && stdout.contains("2.10"),
        "{stdout}"
    );
    let out = wsconform()
        .arg("diff")
        .arg(&bad)
        .arg(&ours)
        .output()
        .expect("diff");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    // A file that is none of the formats: one line, exit 2.
    let junk = good_dir.join("junk.json");
    std::fs::write(&junk, "[1, 2, 3]").expect("write");
    let out = wsconform()
        .arg("diff")
        .arg(&junk)
        .arg(&ours)
        .output()
        .expect("diff");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("junk.json: not a report.json"));
    drop(faulty);
}
