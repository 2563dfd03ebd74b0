//! The verdict table of each real server, pinned as an insta snapshot: the whole built-in
//! library (Autobahn's 301 core cases, section 0 and sections 14-17) against the embedded
//! tokio-tungstenite target, Python `websockets` and Node `ws` (pinned versions, see
//! tools/test-servers). Any verdict change shows as a diff. The Python and Node servers get the
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

/// The size of the built-in library.
const CASES: usize = 301 + 124;

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
    assert_eq!(records.len(), CASES);
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
    let not_run = records
        .iter()
        .filter(|r| r.outcome == Outcome::NotRun)
        .count();
    assert_eq!(not_run, 5, "the cases that need --param");
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
    check(&records);
    insta::assert_snapshot!("python-websockets-16.0", table(&records));
    agrees_with_autobahn(&records, "python-websockets-16.0.json");
}

/// Our verdicts equal Autobahn's on the same server, case by case, except for the cases that
/// say their verdict depends on timing. The reference file was produced by Autobahn itself
/// (tools/autobahn-compare/README.md says how).
fn agrees_with_autobahn(records: &[CaseRecord], file: &str) {
    let path = support::repo_root()
        .join("tools/autobahn-compare")
        .join(file);
    let text = std::fs::read_to_string(&path).expect("reference verdicts");
    let autobahn: serde_json::Value = serde_json::from_str(&text).expect("json");
    let mut compared = 0;
    for r in records.iter().filter(|r| r.timing_dependent.is_none()) {
        let theirs = &autobahn[&r.id];
        if theirs.is_null() {
            // Not one of Autobahn's cases (section 0, 14-17).
            assert!(
                wsconform::cases::beyond_autobahn(&r.id),
                "{} missing from {file}",
                r.id
            );
            continue;
        }
        let ours = (
            serde_json::to_value(r.behavior).expect("json"),
            serde_json::to_value(r.behavior_close).expect("json"),
        );
        assert_eq!(
            (&ours.0, &ours.1),
            (&theirs["behavior"], &theirs["behaviorClose"]),
            "case {} differs from Autobahn: {}",
            r.id,
            r.reason
        );
        compared += 1;
    }
    assert!(compared > 280, "only {compared} cases compared");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_ws() {
    let _one = ONE_AT_A_TIME.lock().await;
    let server = RealServer::start(Kind::NodeWs);
    // maxPayload: 64 MiB in tools/test-servers/echo_ws.js.
    let params = [SERVER_PARAMS, &[("max_message", "67108864")]].concat();
    let records = run_all("node-ws", &server.url(), &params).await;
    check(&records);
    insta::assert_snapshot!("node-ws-8.18.3", table(&records));
}
