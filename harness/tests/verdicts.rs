//! The verdict table of each real server, pinned as an insta snapshot: the whole built-in
//! library (Autobahn's 301 core cases and 216 permessage-deflate cases, section 0 and sections
//! 14-19) against the embedded tokio-tungstenite target, Python `websockets` 17.4 and Node `ws`
//! 8.23.0 (the releases users install, pinned, both with permessage-deflate on, see
//! tools/test-servers). Node `ws` runs a sample of sections 12 and 13 (their first five rows:
//! messages up to 4 KiB) to keep CI under its budget; Python `websockets` runs them whole. Any
//! verdict change shows as a diff, and Autobahn's cases agree with Autobahn's own verdicts on
//! the same servers, but for the deliberate deviations. The Python and Node servers get the
//! `--param` facts of tools/test-servers (so every case runs); the embedded target gets none
//! (so the cases that need them show as not run).
//!
//! Durations are left out. Cases whose verdict depends on timing say so in their file
//! (`timing_dependent`) and are listed, without a verdict, at the end of the table.
//!
//! The servers run one at a time, so that one does not slow another's timing windows.

mod support;

use tokio::sync::Mutex;

use support::{Kind, RealServer, SERVER_PARAMS, run_cases_with};
use wsconform::cases::builtin;
use wsconform::echo::EchoServer;
use wsconform_reports::{CaseRecord, Outcome};

static ONE_AT_A_TIME: Mutex<()> = Mutex::const_new(());

async fn run_all(name: &str, url: &str, params: &[(&str, &str)]) -> Vec<CaseRecord> {
    let cases = builtin().expect("built-in cases");
    assert_eq!(cases.len(), CASES);
    run_cases_with(name, url, cases, params).await
}

/// The library with sections 12 and 13 cut to their first five rows (1000 messages of 16 to
/// 4096 bytes).
async fn run_sample(name: &str, url: &str, params: &[(&str, &str)]) -> Vec<CaseRecord> {
    let cases: Vec<_> = builtin()
        .expect("built-in cases")
        .into_iter()
        .filter(|c| !matches!(c.section(), "12" | "13") || sampled(&c.id))
        .collect();
    assert_eq!(cases.len(), CASES - 216 + 12 * 5);
    run_cases_with(name, url, cases, params).await
}

/// Rows 1-5 of a 12.x or 13.x subsection.
fn sampled(id: &str) -> bool {
    id.rsplit('.')
        .next()
        .and_then(|row| row.parse::<u32>().ok())
        .is_some_and(|row| row <= 5)
}

/// The size of the built-in library.
const CASES: usize = 301 + 216 + 124 + 45 + 20;

/// `id  behavior  behaviorClose  outcome`, one line a case.
fn table(records: &[CaseRecord]) -> String {
    let mut out = String::new();
    let mut timing = Vec::new();
    for r in records {
        if r.timing_dependent.is_some() {
            timing.push(r.id.clone());
            continue;
        }
        out.push_str(&format!(
            "{:<8} {:<13} {:<16} {}\n",
            r.id,
            r.behavior.map_or("-", |b| b.as_str()),
            r.behavior_close.map_or("-", |c| c.as_str()),
            r.outcome.as_str()
        ));
    }
    out.push_str(&format!(
        "timing-dependent, not pinned: {}\n",
        timing.join(" ")
    ));
    out
}

fn check(records: &[CaseRecord]) {
    assert!(
        records.iter().all(|r| r.outcome != Outcome::Unreachable),
        "the server went away mid-run"
    );
    for r in records {
        assert!(!r.reason.is_empty(), "{} has no reason", r.id);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_tokio_tungstenite() {
    let _one = ONE_AT_A_TIME.lock().await;
    let server = EchoServer::start().await.expect("echo server");
    let records = run_all("tokio-tungstenite", &server.url(), &[]).await;
    assert_eq!(records.len(), CASES);
    let not_run = records
        .iter()
        .filter(|r| r.outcome == Outcome::NotRun)
        .count();
    assert_eq!(not_run, 7, "the cases that need --param");
    check(&records);
    insta::assert_snapshot!("tokio-tungstenite-0.30", table(&records));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_websockets() {
    let _one = ONE_AT_A_TIME.lock().await;
    let server = RealServer::start(Kind::PythonWebsockets);
    // max_size=2**25 in tools/test-servers/echo_websockets.py.
    let params = [SERVER_PARAMS, &[("max_message", "33554432")]].concat();
    let records = run_all("python-websockets", &server.url(), &params).await;
    assert_eq!(records.len(), CASES);
    check(&records);
    insta::assert_snapshot!("python-websockets-17.4", table(&records));
    agrees_with_autobahn(
        &records,
        &[
            "python-websockets-17.4.json",
            "python-websockets-17.4-deflate.json",
        ],
        301 + 216,
    );
}

/// Our verdicts equal Autobahn's on the same server, case by case, except for the cases that
/// say their verdict depends on timing: every Autobahn case in `records` is in one of `files`
/// and agrees, and at least `at_least` (less the timing-dependent ones) were compared. The
/// reference files were produced by Autobahn itself (tools/autobahn-compare/README.md says
/// how).
fn agrees_with_autobahn(records: &[CaseRecord], files: &[&str], at_least: usize) {
    let mut autobahn = serde_json::Map::new();
    for file in files {
        let path = support::repo_root()
            .join("tools/autobahn-compare")
            .join(file);
        let text = std::fs::read_to_string(&path).expect("reference verdicts");
        let serde_json::Value::Object(map) = serde_json::from_str(&text).expect("json") else {
            panic!("{file} is not an object");
        };
        autobahn.extend(map);
    }
    let timing = records
        .iter()
        .filter(|r| r.timing_dependent.is_some())
        .count();
    let mut compared = 0;
    let mut deviations = Vec::new();
    for r in records.iter().filter(|r| r.timing_dependent.is_none()) {
        let Some(theirs) = autobahn.get(&r.id) else {
            // Not one of Autobahn's cases (section 0, 14-18).
            assert!(
                wsconform::cases::beyond_autobahn(&r.id),
                "{} missing from {files:?}",
                r.id
            );
            continue;
        };
        let ours = (
            serde_json::to_value(r.behavior).expect("json"),
            serde_json::to_value(r.behavior_close).expect("json"),
        );
        compared += 1;
        if (&ours.0, &ours.1) == (&theirs["behavior"], &theirs["behaviorClose"]) {
            continue;
        }
        // The deliberate differences, each said in its case (cases/README.md, "Where these
        // cases differ"): FAILED in Autobahn where no MUST is broken (a wrong close code, a
        // message refused with 1008/1009) is NON-STRICT here; and where our frames differ on
        // purpose (9.3.x/9.4.x: no extra empty final fragment, so one fragment fewer than a
        // server's fragment limit), a server may accept what it refused from Autobahn.
        assert!(
            theirs["behavior"] == "FAILED"
                && r.deviation.is_some()
                && (ours.0 == "NON-STRICT" && r.reason.contains("Autobahn: FAILED")
                    || ours == ("OK".into(), "OK".into())
                        && ["9.3.2", "9.3.3", "9.4.2", "9.4.3"].contains(&r.id.as_str())),
            "case {} differs from Autobahn ({} {} there): {}",
            r.id,
            theirs["behavior"],
            theirs["behaviorClose"],
            r.reason
        );
        deviations.push(r.id.clone());
    }
    assert!(
        compared >= at_least - timing,
        "only {compared} cases compared"
    );
    // Few, and each one explained: not a way around the comparison.
    assert!(deviations.len() <= 8, "{deviations:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_ws() {
    let _one = ONE_AT_A_TIME.lock().await;
    let server = RealServer::start(Kind::NodeWs);
    // maxPayload: 64 MiB in tools/test-servers/echo_ws.js.
    let params = [SERVER_PARAMS, &[("max_message", "67108864")]].concat();
    let records = run_sample("node-ws", &server.url(), &params).await;
    check(&records);
    insta::assert_snapshot!("node-ws-8.23.0", table(&records));
    agrees_with_autobahn(
        &records,
        &["node-ws-8.23.0.json", "node-ws-8.23.0-deflate.json"],
        301 + 12 * 5,
    );
}
