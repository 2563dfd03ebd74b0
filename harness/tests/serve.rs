//! `wsconform serve`: the harness as the server for a real client, tokio-tungstenite's, driven
//! the way tungstenite's own autobahn-client example drives Autobahn's fuzzingserver
//! (`/getCaseCount`, then `/runCase?case=N&agent=A` echoing every message, then
//! `/updateReports`). In process: the serve edge on 127.0.0.1, the client in the same runtime.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::tungstenite::Message;
use wsconform::cases::builtin;
use wsconform::runner::{RunOptions, Timeouts};
use wsconform::serve::{Results, ServeConfig, serve};
use wsconform_reports::{CaseRecord, Outcome};

/// The serve edge on a free port of 127.0.0.1, in this runtime, until stopped.
struct Serving {
    addr: std::net::SocketAddr,
    results: Arc<Results>,
    stop: tokio::sync::oneshot::Sender<()>,
    server: tokio::task::JoinHandle<()>,
}

impl Serving {
    async fn start(
        cases: Vec<wsconform::cases::Case>,
        case_limit: Duration,
        on_update: wsconform::serve::OnUpdate,
    ) -> Self {
        let config = Arc::new(ServeConfig {
            cases,
            options: RunOptions {
                timeouts: Timeouts {
                    case_limit,
                    ..Timeouts::default()
                },
                ..RunOptions::default()
            },
            on_update,
            on_record: Box::new(|_| {}),
            agent_exclusions: Default::default(),
            tls: None,
        });
        let results = Arc::new(Results::default());
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(serve(listener, config, results.clone(), async {
            let _ = stopped.await;
        }));
        Serving {
            addr,
            results,
            stop,
            server,
        }
    }

    async fn stop(self) {
        let _ = self.stop.send(());
        self.server.await.expect("server");
    }
}

/// Opens `path` on the server as a WebSocket client.
async fn open(
    addr: std::net::SocketAddr,
    path: &str,
) -> tokio_tungstenite::WebSocketStream<TcpStream> {
    let tcp = TcpStream::connect(addr).await.expect("connect");
    let (ws, _) = tokio_tungstenite::client_async(format!("ws://{addr}{path}"), tcp)
        .await
        .expect("handshake");
    ws
}

/// The first text message of `path`.
async fn text_of(addr: std::net::SocketAddr, path: &str) -> String {
    let mut ws = open(addr, path).await;
    loop {
        match ws.next().await {
            Some(Ok(Message::Text(t))) => return t.to_string(),
            Some(Ok(_)) => continue,
            other => panic!("{path}: {other:?}"),
        }
    }
}

/// tungstenite's autobahn-client example, in short.
async fn client(addr: std::net::SocketAddr, agent: &str) {
    let count: usize = text_of(addr, "/getCaseCount")
        .await
        .parse()
        .expect("a number");
    for case in 1..=count {
        let Ok(tcp) = TcpStream::connect(addr).await else {
            continue;
        };
        let url = format!("ws://{addr}/runCase?case={case}&agent={agent}");
        let Ok((mut ws, _)) = tokio_tungstenite::client_async(url, tcp).await else {
            continue;
        };
        while let Some(Ok(msg)) = ws.next().await {
            if (msg.is_text() || msg.is_binary()) && ws.send(msg).await.is_err() {
                break;
            }
        }
    }
    let mut ws = open(addr, &format!("/updateReports?agent={agent}")).await;
    while let Some(Ok(_)) = ws.next().await {}
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tungstenite_client_runs_the_cases_and_gets_reports() {
    let ids = [
        "1.1.1", "1.1.8", "1.2.2", "2.1", "2.3", "3.1", "4.1.1", "5.3", "5.8", "6.2.3", "7.1.1",
    ];
    let cases: Vec<_> = builtin()
        .expect("cases")
        .into_iter()
        .filter(|c| ids.contains(&c.id.as_str()))
        .collect();
    assert_eq!(cases.len(), ids.len());
    let updated: Arc<Mutex<Vec<CaseRecord>>> = Arc::default();
    let sink = updated.clone();
    let serving = Serving::start(
        cases,
        Duration::from_secs(20),
        Box::new(move |records| {
            *sink.lock().expect("lock") = records.to_vec();
        }),
    )
    .await;
    let (addr, results) = (serving.addr, serving.results.clone());

    // Case info and an unknown path first.
    let info = text_of(addr, "/getCaseInfo?case=1").await;
    assert!(info.contains("\"id\":\"1.1.1\""), "{info}");
    let tcp = TcpStream::connect(addr).await.expect("connect");
    let refused = tokio_tungstenite::client_async(format!("ws://{addr}/nothing"), tcp).await;
    assert!(refused.is_err(), "an unknown path gets 400");

    tokio::time::timeout(Duration::from_secs(120), client(addr, "Tungstenite%2F0.30"))
        .await
        .expect("the client finishes");
    let status = text_of(addr, "/getCaseStatus?case=1&agent=Tungstenite%2F0.30").await;
    assert_eq!(status, r#"{"behavior":"OK"}"#);
    serving.stop().await;

    // Every case ran once, under the decoded agent name, and the reports got them all.
    let records = results.records();
    assert_eq!(records.len(), ids.len());
    assert!(records.iter().all(|r| r.target == "Tungstenite/0.30"));
    assert_eq!(updated.lock().expect("lock").len(), ids.len());
    assert_eq!(results.refused().len(), 1, "{:?}", results.refused());
    // tungstenite's client echoes, answers pings, masks, and fails on bad frames.
    for r in &records {
        assert_ne!(r.outcome, Outcome::Fail, "{}: {}", r.id, r.reason);
    }
}

/// Clients that misbehave still get a verdict, within bounded waits: one sends garbage after its
/// handshake, one hangs up mid-case; a malformed query gets 400 and is recorded.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_and_hang_ups_get_verdicts_and_bad_queries_a_400() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let cases: Vec<_> = builtin()
        .expect("cases")
        .into_iter()
        .filter(|c| c.id == "1.1.1" || c.id == "1.1.2")
        .collect();
    let serving = Serving::start(cases, Duration::from_secs(10), Box::new(|_| {})).await;
    let (addr, results) = (serving.addr, serving.results.clone());
    // A valid handshake by hand, then what the test says.
    let handshake = |case: u32, agent: &str| {
        format!(
            "GET /runCase?case={case}&agent={agent} HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: x3JJHMbDL1EzLkh9GBhXDw==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        )
    };
    let read_head = |mut tcp: TcpStream| async move {
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") && head.len() < 4096 {
            if tcp.read(&mut byte).await.expect("read") == 0 {
                break;
            }
            head.push(byte[0]);
        }
        assert!(head.starts_with(b"HTTP/1.1 101"), "{head:?}");
        tcp
    };
    let tcp = TcpStream::connect(addr).await.expect("connect");
    let mut tcp = {
        let mut tcp = tcp;
        tcp.write_all(handshake(1, "garbage").as_bytes())
            .await
            .expect("write");
        read_head(tcp).await
    };
    let _ = tcp.write_all(&[0xff; 4096]).await;
    let tcp2 = TcpStream::connect(addr).await.expect("connect");
    let tcp2 = {
        let mut tcp2 = tcp2;
        tcp2.write_all(handshake(2, "gone").as_bytes())
            .await
            .expect("write");
        read_head(tcp2).await
    };
    drop(tcp2);
    let mut bad = TcpStream::connect(addr).await.expect("connect");
    bad.write_all(handshake(0, "x").replace("case=0", "case=x").as_bytes())
        .await
        .expect("write");
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), bad.read_to_end(&mut answer)).await;
    assert!(answer.starts_with(b"HTTP/1.1 400"), "{answer:?}");
    // Both cases get their record, each within the case's bounds.
    let until = tokio::time::Instant::now() + Duration::from_secs(20);
    while results.records().len() < 2 && tokio::time::Instant::now() < until {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    drop(tcp);
    serving.stop().await;
    let records = results.records();
    assert_eq!(records.len(), 2, "{records:?}");
    for r in &records {
        assert_eq!(r.outcome, Outcome::Fail, "{}: {}", r.target, r.reason);
        assert!(!r.reason.is_empty());
    }
    let garbage = records
        .iter()
        .find(|r| r.target == "garbage")
        .expect("garbage");
    assert!(
        garbage.findings.iter().any(|f| f.rfc.is_some()),
        "a rule on the wire: {:?}",
        garbage.findings
    );
    let refused = results.refused();
    assert!(
        refused.len() == 1 && refused[0].contains("case=x"),
        "{refused:?}"
    );
}

mod support;

/// The `--exec` command of Python websockets' client.
fn websockets_client(root: &std::path::Path) -> String {
    format!(
        "PYTHONPATH={} python3 {} {{url}}",
        root.join(".deps/python").display(),
        root.join("tools/test-clients/websockets_client.py")
            .display()
    )
}

/// `wsconform serve --exec` with Python websockets' client, written as its own compliance
/// client is: the report, the agent name, and the exit code of a run.
#[test]
fn serve_exec_tests_the_python_websockets_client() {
    support::install();
    let root = support::repo_root();
    let out = support::out_dir("serve-websockets");
    let client = websockets_client(&root);
    let output = support::wsconform()
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--exec",
            &client,
            "--cases",
            "1.1.1,1.1.8,2.1,2.3,3.1,4.1.1,5.3,5.8,6.2.3,7.1.1",
            "--case-timeout",
            "20",
            "--out",
            out.to_str().expect("utf-8"),
        ])
        .output()
        .expect("run wsconform");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("listening on ws://127.0.0.1:"), "{stdout}");
    let records = support::records_in(&out);
    assert_eq!(records.len(), 10);
    for r in &records {
        assert_eq!(r.target, "websockets");
        assert_eq!(r.outcome, Outcome::Pass, "{}: {}", r.id, r.reason);
    }
    for file in [
        "index.html",
        "report.json",
        "junit.xml",
        "summary.md",
        "autobahn/index.json",
    ] {
        assert!(out.join(file).is_file(), "{file}");
    }
}

/// A client that runs nothing: every case is reported as not run by it, exit 3; a port in use
/// is one line and exit 2.
#[test]
fn serve_reports_what_the_client_did_not_run_and_refuses_a_busy_port() {
    let out = support::out_dir("serve-silent");
    let output = support::wsconform()
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--exec",
            "true",
            "--cases",
            "1.1.1,2.1",
            "--out",
            out.to_str().expect("utf-8"),
        ])
        .output()
        .expect("run wsconform");
    assert_eq!(output.status.code(), Some(3));
    let records = support::records_in(&out);
    assert_eq!(records.len(), 2);
    assert!(
        records
            .iter()
            .all(|r| r.outcome == Outcome::NotRun && r.reason == "not run by the client")
    );

    // A client that never connects: the run ends after --connect-timeout, exit 3, the
    // cases reported as not run.
    let started = std::time::Instant::now();
    let output = support::wsconform()
        .args(["serve", "--listen", "127.0.0.1:0", "--exec", "sleep 30"])
        .args(["--connect-timeout", "1", "--cases", "1.1.1,2.1", "--out"])
        .arg(&out)
        .output()
        .expect("run wsconform");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains("opened no connection within 1 s"),
        "{stderr}"
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(20));
    let records = support::records_in(&out);
    assert_eq!(records.len(), 2);
    assert!(records.iter().all(|r| r.outcome == Outcome::NotRun));

    let busy = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = busy.local_addr().expect("addr").to_string();
    let output = support::wsconform()
        .args(["serve", "--listen", &addr, "--exec", "true"])
        .output()
        .expect("run wsconform");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains(&format!("cannot listen on {addr}")),
        "{stderr}"
    );
}

/// Autobahn's fuzzingserver.json as it is: where to listen, the cases, an agent's exclusions,
/// and Autobahn's index.json in its outdir.
#[test]
fn serve_takes_a_fuzzingserver_spec() {
    support::install();
    let root = support::repo_root();
    let out = support::out_dir("serve-spec");
    std::fs::create_dir_all(&out).expect("out dir");
    let port = {
        let free = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        free.local_addr().expect("addr").port()
    };
    let outdir = out.join("reports/clients");
    let spec = serde_json::json!({
        "url": format!("ws://127.0.0.1:{port}"),
        "outdir": outdir,
        "options": {"failByDrop": false},
        "cases": ["1.1.1", "2.1", "3.1"],
        "exclude-cases": [],
        "exclude-agent-cases": {"websock*": ["2.1"]},
    });
    let spec_path = out.join("fuzzingserver.json");
    std::fs::write(&spec_path, spec.to_string()).expect("spec");
    let client = websockets_client(&root);
    let output = support::wsconform()
        .args([
            "serve",
            "--spec",
            spec_path.to_str().expect("utf-8"),
            "--exec",
            &client,
        ])
        .args([
            "--out",
            out.to_str().expect("utf-8"),
            "--case-timeout",
            "20",
        ])
        .output()
        .expect("run wsconform");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains(&format!("listening on ws://127.0.0.1:{port}")),
        "{stdout}"
    );
    let records = support::records_in(&out);
    let outcome = |id: &str| records.iter().find(|r| r.id == id).map(|r| r.outcome);
    assert_eq!(records.len(), 3);
    assert_eq!(outcome("1.1.1"), Some(Outcome::Pass));
    assert_eq!(outcome("3.1"), Some(Outcome::Pass));
    assert_eq!(
        outcome("2.1"),
        Some(Outcome::NotRun),
        "excluded for websockets"
    );
    let index = std::fs::read_to_string(outdir.join("index.json")).expect("Autobahn's index.json");
    assert!(
        index.contains("\"websockets\"") && index.contains("\"1.1.1\""),
        "{index}"
    );
}

/// The redirect cases with the server on TLS and the client given credentials: Python
/// websockets' client over wss:// (trusting a test CA), as a user runs it.
#[test]
fn redirects_over_tls_with_credentials() {
    support::install();
    let root = support::repo_root();
    let out = support::out_dir("serve-redirects");
    std::fs::create_dir_all(&out).expect("dir");
    // A CA, and a leaf for both names the cases use (127.0.0.1, and localhost as the other
    // origin).
    let (ca, leaf, leaf_key) = support::test_pki(&["localhost", "127.0.0.1"]);
    let (ca_pem, cert, key) = (
        out.join("ca.pem"),
        out.join("cert.pem"),
        out.join("key.pem"),
    );
    std::fs::write(&ca_pem, ca).expect("ca");
    std::fs::write(&cert, leaf.pem()).expect("cert");
    std::fs::write(&key, leaf_key.serialize_pem()).expect("key");
    let client = format!(
        "SSL_CERT_FILE={} PYTHONPATH={} python3 {} {{url}}",
        ca_pem.display(),
        root.join(".deps/python").display(),
        root.join("tools/test-clients/websockets_client.py")
            .display()
    );
    let output = support::wsconform()
        .args(["serve", "--listen", "127.0.0.1:0", "--exec", &client])
        .args([
            "--cases",
            "1.1.1,20.3.2,20.8.1,20.8.2",
            "--credentials",
            "user:secret",
        ])
        .arg("--tls-cert")
        .arg(&cert)
        .arg("--tls-key")
        .arg(&key)
        .arg("--out")
        .arg(&out)
        .output()
        .expect("run wsconform");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("listening on wss://127.0.0.1:"), "{stdout}");
    let records = support::records_in(&out);
    let record = |id: &str| {
        records
            .iter()
            .find(|r| r.id == id)
            .unwrap_or_else(|| panic!("{id}: {stdout}"))
    };
    // The echo ran over TLS.
    assert_eq!(
        record("1.1.1").outcome,
        Outcome::Pass,
        "{}",
        record("1.1.1").reason
    );
    // Each redirect case ran and says what the client did with the Location.
    for id in ["20.3.2", "20.8.1", "20.8.2"] {
        let r = record(id);
        assert_ne!(r.outcome, Outcome::NotRun, "{id}: {}", r.reason);
        assert!(r.reason.contains("follow"), "{id}: {}", r.reason);
    }
    // websockets refuses to follow wss to ws; and it had credentials to carry (the URL's).
    assert_eq!(
        record("20.8.1").outcome,
        Outcome::Pass,
        "{}",
        record("20.8.1").reason
    );
    assert!(
        !record("20.8.2").reason.contains("sent no credentials"),
        "{}",
        record("20.8.2").reason
    );
    // websockets 17.4 follows a redirect within the server, and to another origin without the
    // credentials.
    assert!(
        record("20.3.2").reason.contains("followed the redirect"),
        "{}",
        record("20.3.2").reason
    );
    assert_eq!(
        record("20.8.2").outcome,
        Outcome::Pass,
        "{}",
        record("20.8.2").reason
    );
    assert!(
        record("20.8.2")
            .reason
            .contains("no credentials went to the other origin"),
        "{}",
        record("20.8.2").reason
    );
}
