//! The verdict table of each real client, pinned as an insta snapshot: `wsconform serve
//! --exec` runs its default selection (Autobahn's client-mode sections 1-7, 9, 10, and the
//! client handshake and masking sections 20, 21) on three client drivers nobody here wrote the
//! library of, each written in the shape of its project's own Autobahn client driver:
//! - Python `websockets` 17.4 (tools/test-clients/websockets_client.py);
//! - Node `ws` 8.23.0 (tools/test-clients/ws_client.js);
//! - tungstenite 0.30's blocking client (harness/examples/autobahn_client.rs, the shape of
//!   tungstenite's examples/autobahn-client.rs).
//!
//! Autobahn's cases agree with Autobahn's own fuzzingserver on the same clients (files in
//! tools/autobahn-compare), but for the deliberate deviations each case states.
//!
//! Durations are left out; timing-dependent cases are listed without a verdict. The clients run
//! one at a time.

mod support;

use std::path::PathBuf;
use std::sync::Mutex;

use wsconform_reports::{CaseRecord, Outcome};

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// The cases of `wsconform serve`'s default selection.
const CASES: usize = 301 + 32 + 6;

/// `wsconform serve --exec COMMAND` on the default selection; the records and the exit code.
fn serve(name: &str, command: &str) -> (Vec<CaseRecord>, Option<i32>) {
    serve_cases(name, command, None, CASES)
}

/// As [`serve`], on `cases` (patterns) if given, expecting `count` records.
fn serve_cases(
    name: &str,
    command: &str,
    cases: Option<&str>,
    count: usize,
) -> (Vec<CaseRecord>, Option<i32>) {
    let out = support::out_dir(&format!("client-verdicts-{name}"));
    let mut serve = support::wsconform();
    serve
        .args(["serve", "--listen", "127.0.0.1:0", "--exec", command])
        .args([
            "--case-timeout",
            "30",
            "--out",
            out.to_str().expect("utf-8"),
        ]);
    if let Some(cases) = cases {
        serve.args(["--cases", cases]);
    }
    let output = serve.output().expect("run wsconform serve");
    let records = support::records_in(&out);
    assert_eq!(
        records.len(),
        count,
        "{}",
        String::from_utf8_lossy(&output.stdout)
    );
    // Every case ran but 20.8.1, which needs the server on TLS (tests/serve.rs runs it).
    assert!(
        records
            .iter()
            .all(|r| (r.outcome == Outcome::NotRun) == (r.id == "20.8.1")),
        "the client ran every case: {}",
        String::from_utf8_lossy(&output.stdout)
    );
    for r in &records {
        assert!(!r.reason.is_empty(), "{} has no reason", r.id);
    }
    (records, output.status.code())
}

/// The exit code follows the verdicts: 1 with a failure, 0 without.
fn exit_follows(records: &[CaseRecord], code: Option<i32>) {
    let failed = records.iter().any(|r| r.outcome == Outcome::Fail);
    assert_eq!(code, Some(if failed { 1 } else { 0 }));
}

/// The `--exec` command of Python websockets' client driver.
fn websockets_command() -> String {
    support::install();
    let root = support::repo_root();
    format!(
        "PYTHONPATH={} python3 {} {{url}}",
        root.join(".deps/python").display(),
        root.join("tools/test-clients/websockets_client.py")
            .display()
    )
}

#[test]
fn python_websockets_client() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let (records, code) = serve("websockets", &websockets_command());
    exit_follows(&records, code);
    assert!(records.iter().all(|r| r.target == "websockets"));
    insta::assert_snapshot!("client-python-websockets-17.4", support::table(&records));
    support::agrees_with_autobahn(&records, &["client-python-websockets-17.4.json"], 301);
}

/// permessage-deflate in the server role: Autobahn's 12.x and 13.x against the websockets
/// client (which offers `permessage-deflate; client_max_window_bits`), the harness accepting
/// by Autobahn's fuzzingserver rule of each case; rows 1-5 of each subsection (messages up to
/// 4 KiB), to keep CI in its budget.
#[test]
fn python_websockets_client_deflate() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let mut rows = Vec::new();
    for (section, subsections) in [(12, 5), (13, 7)] {
        for sub in 1..=subsections {
            for row in 1..=5 {
                rows.push(format!("{section}.{sub}.{row}"));
            }
        }
    }
    let (records, code) = serve_cases(
        "websockets-deflate",
        &websockets_command(),
        Some(&rows.join(",")),
        rows.len(),
    );
    assert_eq!(code, Some(0));
    // Deflate was agreed on every case (none UNIMPLEMENTED) and every echo came back.
    for r in &records {
        assert_eq!(r.outcome, Outcome::Pass, "{}: {}", r.id, r.reason);
        assert!(r.reason.contains("(compressed)"), "{}: {}", r.id, r.reason);
    }
    support::agrees_with_autobahn(
        &records,
        &["client-python-websockets-17.4-deflate.json"],
        rows.len(),
    );
}

#[test]
fn node_ws_client() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    support::install();
    let root = support::repo_root();
    let command = format!(
        "WS_NODE_MODULES={} node {} {{url}}",
        root.join(".deps/node/node_modules").display(),
        root.join("tools/test-clients/ws_client.js").display()
    );
    let (records, code) = serve("ws", &command);
    exit_follows(&records, code);
    assert!(records.iter().all(|r| r.target == "ws"));
    insta::assert_snapshot!("client-node-ws-8.23.0", support::table(&records));
    support::agrees_with_autobahn(&records, &["client-node-ws-8.23.0.json"], 301);
}

/// tungstenite's client fails a few handshake cases: the table pins which (each reason cites
/// its §4.1 item).
#[test]
fn tungstenite_client() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    // Built by `cargo test` with the other examples: target/<profile>/examples/.
    let exe = std::env::current_exe().expect("test binary");
    let example: PathBuf = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target/<profile>")
        .join("examples/autobahn_client");
    assert!(example.is_file(), "{} is built", example.display());
    let (records, code) = serve("tungstenite", &format!("{} {{url}}", example.display()));
    exit_follows(&records, code);
    assert!(records.iter().all(|r| r.target == "Tungstenite"));
    insta::assert_snapshot!("client-tungstenite-0.30", support::table(&records));
    support::agrees_with_autobahn(&records, &["client-tungstenite-0.30.json"], 301);
}
