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
use wsconform::echo::EchoServer;
use wsconform_reports::{CaseRecord, Outcome};

static ONE_AT_A_TIME: Mutex<()> = Mutex::const_new(());

async fn run_all(name: &str, url: &str, params: &[(&str, &str)]) -> Vec<CaseRecord> {
    let cases = support::server_cases();
    assert_eq!(cases.len(), CASES);
    run_cases_with(name, url, cases, params).await
}

/// The library with sections 12 and 13 cut to their first five rows (1000 messages of 16 to
/// 4096 bytes).
async fn run_sample(name: &str, url: &str, params: &[(&str, &str)]) -> Vec<CaseRecord> {
    let cases: Vec<_> = support::server_cases()
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
    insta::assert_snapshot!("tokio-tungstenite-0.30", support::table(&records));
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
    insta::assert_snapshot!("python-websockets-17.4", support::table(&records));
    support::agrees_with_autobahn(
        &records,
        &[
            "python-websockets-17.4.json",
            "python-websockets-17.4-deflate.json",
        ],
        301 + 216,
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_ws() {
    let _one = ONE_AT_A_TIME.lock().await;
    let server = RealServer::start(Kind::NodeWs);
    // maxPayload: 64 MiB in tools/test-servers/echo_ws.js.
    let params = [SERVER_PARAMS, &[("max_message", "67108864")]].concat();
    let records = run_sample("node-ws", &server.url(), &params).await;
    check(&records);
    insta::assert_snapshot!("node-ws-8.23.0", support::table(&records));
    support::agrees_with_autobahn(
        &records,
        &["node-ws-8.23.0.json", "node-ws-8.23.0-deflate.json"],
        301 + 12 * 5,
    );
}
