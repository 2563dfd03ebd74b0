//! Test support: real servers nobody here wrote, installed and started on 127.0.0.1.
//!
//! `RealServer::start` runs tools/test-servers/install.sh (pinned Python websockets and Node
//! ws, into the ignored .deps/ folder), starts the server on a free port, waits a bounded time
//! for its "LISTENING <port>" line, and kills it when dropped. If pip or npm is missing, the
//! test fails with the installer's message; it never passes silently.

#![allow(dead_code)]

pub mod faulty;

use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// How long a server may take to print its port.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// The built-in cases that test servers (`wsconform run`'s library: sections 20 and 21 test
/// clients).
pub fn server_cases() -> Vec<wsconform::cases::Case> {
    wsconform::cases::builtin()
        .expect("built-in cases")
        .into_iter()
        .filter(|c| c.tests(wsconform::cases::PeerRole::Server))
        .collect()
}

/// A test CA, and a certificate for `names` signed by it, as a real deployment has: the CA's
/// PEM, the leaf, and the leaf's key. (Distinct names: OpenSSL takes a leaf whose issuer is its
/// own subject for self-signed.)
pub fn test_pki(names: &[&str]) -> (String, rcgen::Certificate, rcgen::KeyPair) {
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("ca params");
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "wsconform test CA");
    let ca =
        rcgen::CertifiedIssuer::self_signed(ca_params, rcgen::KeyPair::generate().expect("key"))
            .expect("ca");
    let leaf_key = rcgen::KeyPair::generate().expect("key");
    let mut leaf_params =
        rcgen::CertificateParams::new(names.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>())
            .expect("leaf params");
    leaf_params.distinguished_name.push(
        rcgen::DnType::CommonName,
        names.first().copied().unwrap_or("localhost"),
    );
    let leaf = leaf_params.signed_by(&leaf_key, &ca).expect("leaf");
    (ca.pem(), leaf, leaf_key)
}

/// The repository root.
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("harness/ has a parent")
        .to_path_buf()
}

/// The real servers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Python `websockets` (tools/test-servers/requirements.txt).
    PythonWebsockets,
    /// Node `ws` (tools/test-servers/package.json).
    NodeWs,
}

/// A running real server; killed on drop.
pub struct RealServer {
    child: Child,
    pub port: u16,
    pub kind: Kind,
}

impl RealServer {
    pub fn start(kind: Kind) -> Self {
        install();
        let root = repo_root();
        let servers = root.join("tools/test-servers");
        let deps = root.join(".deps");
        let mut command = match kind {
            Kind::PythonWebsockets => {
                let mut c = Command::new("python3");
                c.arg(servers.join("echo_websockets.py"))
                    .env("PYTHONPATH", deps.join("python"));
                c
            }
            Kind::NodeWs => {
                let mut c = Command::new("node");
                c.arg(servers.join("echo_ws.js"))
                    .env("WS_NODE_MODULES", deps.join("node/node_modules"));
                c
            }
        };
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start the {kind:?} test server: {e}"));
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = match rx.recv_timeout(START_TIMEOUT) {
            Ok(line) => line,
            Err(_) => {
                let _ = child.kill();
                panic!("the {kind:?} test server did not print its port within {START_TIMEOUT:?}");
            }
        };
        let port = line
            .trim()
            .strip_prefix("LISTENING ")
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| {
                let _ = child.kill();
                panic!("the {kind:?} test server printed {line:?}, not \"LISTENING <port>\"")
            });
        RealServer { child, port, kind }
    }

    pub fn url(&self) -> String {
        format!("ws://127.0.0.1:{}/", self.port)
    }
}

impl Drop for RealServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs the installer once per test process (it is idempotent and locked across processes).
pub fn install() {
    static ONCE: std::sync::OnceLock<Result<(), String>> = std::sync::OnceLock::new();
    let result = ONCE.get_or_init(|| {
        let script = repo_root().join("tools/test-servers/install.sh");
        let output = Command::new("bash")
            .arg(&script)
            .output()
            .map_err(|e| format!("cannot run {}: {e}", script.display()))?;
        if output.status.success() {
            Ok(())
        } else {
            Err(format!(
                "installing the real test servers failed ({}): {}",
                output.status,
                String::from_utf8_lossy(&output.stderr).trim()
            ))
        }
    });
    if let Err(message) = result {
        panic!("{message}");
    }
}

/// The `wsconform` binary built for this test run.
pub fn wsconform() -> Command {
    Command::new(env!("CARGO_BIN_EXE_wsconform"))
}

/// The embedded echo server in its own process (`wsconform echo`), killed on drop.
pub struct Echo {
    child: std::process::Child,
    pub port: u16,
}

impl Echo {
    pub fn start() -> Self {
        let mut child = wsconform()
            .args(["echo"])
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("start wsconform echo");
        let mut stdout = child.stdout.take().expect("stdout");
        let mut line = Vec::new();
        let mut byte = [0u8; 1];
        while stdout.read(&mut byte).map(|n| n == 1).unwrap_or(false) && byte[0] != b'\n' {
            line.push(byte[0]);
            assert!(line.len() < 64, "unexpected output from wsconform echo");
        }
        let line = String::from_utf8_lossy(&line).into_owned();
        let port = line
            .strip_prefix("LISTENING ")
            .and_then(|p| p.trim().parse().ok())
            .unwrap_or_else(|| panic!("wsconform echo printed {line:?}"));
        Echo { child, port }
    }

    pub fn url(&self) -> String {
        format!("ws://127.0.0.1:{}/", self.port)
    }
}

impl Drop for Echo {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `cases` through the library against one target named `name` at `url`, with the
/// default options; the records come back in id order.
pub async fn run_cases(
    name: &str,
    url: &str,
    cases: Vec<wsconform::cases::Case>,
) -> Vec<wsconform_reports::CaseRecord> {
    run_cases_with(name, url, cases, &[]).await
}

/// The facts about the test servers (tools/test-servers and support/faulty.rs) that the
/// section 0 cases take from `--param`: they serve only `/`, refuse this Origin and speak
/// the subprotocol `chat`.
pub const SERVER_PARAMS: &[(&str, &str)] = &[
    ("not_found_path", "/no-such-path"),
    ("forbidden_origin", "http://forbidden.example"),
    ("subprotocol", "chat"),
];

/// As [`run_cases`], with `--param` values.
pub async fn run_cases_with(
    name: &str,
    url: &str,
    cases: Vec<wsconform::cases::Case>,
    params: &[(&str, &str)],
) -> Vec<wsconform_reports::CaseRecord> {
    let target = wsconform::net::Target::parse(url).expect("url");
    run_cases_on(name, target, cases, params).await
}

/// As [`run_cases_with`], against a parsed target (a socket or one in this process).
pub async fn run_cases_on(
    name: &str,
    target: wsconform::net::Target,
    cases: Vec<wsconform::cases::Case>,
    params: &[(&str, &str)],
) -> Vec<wsconform_reports::CaseRecord> {
    use wsconform::runner::{Plan, RunOptions, TargetSpec, default_jobs, run_plan};
    let options = RunOptions {
        params: params
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
        ..RunOptions::default()
    };
    let plan = Plan {
        targets: vec![TargetSpec {
            name: name.into(),
            target,
            skip: Vec::new(),
            options,
        }],
        cases,
        jobs: default_jobs(),
    };
    let mut records = Vec::new();
    run_plan(&plan, |_, run| records.push(run.record)).await;
    records.sort_by(|a, b| wsconform::cases::compare_ids(&a.id, &b.id));
    records
}

/// `cases` with every `series` step cut to at most `count` messages: sections 12 and 13 send
/// 1000 each, and against a server in this process both ends' codecs would run over
/// gigabytes. The real servers' snapshot tests run them whole.
pub fn short_series(
    mut cases: Vec<wsconform::cases::Case>,
    count: usize,
) -> Vec<wsconform::cases::Case> {
    for case in &mut cases {
        for step in &mut case.steps {
            if let wsconform::cases::Step::Series(s) = step {
                s.count = s.count.min(count);
            }
        }
    }
    cases
}

/// The ids of the records that failed, leaving out timing-dependent cases (the fault tests).
pub fn failed_ids(records: &[wsconform_reports::CaseRecord]) -> std::collections::BTreeSet<String> {
    records
        .iter()
        .filter(|r| r.timing_dependent.is_none() && r.outcome == wsconform_reports::Outcome::Fail)
        .map(|r| r.id.clone())
        .collect()
}

/// A fresh output directory under the target dir, `name` telling the test.
pub fn out_dir(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// The records of `dir/results.jsonl`.
pub fn records_in(dir: &std::path::Path) -> Vec<wsconform_reports::CaseRecord> {
    let text = std::fs::read_to_string(dir.join("results.jsonl")).expect("results.jsonl");
    text.lines()
        .map(|l| serde_json::from_str(l).expect("each line is a record"))
        .collect()
}

/// `id  behavior  behaviorClose  outcome`, one line a case.
pub fn table(records: &[wsconform_reports::CaseRecord]) -> String {
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

/// Our verdicts equal Autobahn's on the same server, case by case, except for the cases that
/// say their verdict depends on timing: every Autobahn case in `records` is in one of `files`
/// and agrees, and at least `at_least` (less the timing-dependent ones) were compared. The
/// reference files were produced by Autobahn itself (tools/autobahn-compare/README.md says
/// how).
pub fn agrees_with_autobahn(
    records: &[wsconform_reports::CaseRecord],
    files: &[&str],
    at_least: usize,
) {
    let mut autobahn = serde_json::Map::new();
    for file in files {
        let path = repo_root().join("tools/autobahn-compare").join(file);
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
