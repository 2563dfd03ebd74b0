//! Handshake and echo against real servers: the embedded tokio-tungstenite target, Python
//! `websockets` and Node `ws`, through the library and through the CLI.

mod support;

use support::{Kind, RealServer, wsconform};
use wsconform::echo::EchoServer;
use wsconform::net::Target;
use wsconform::smoke::{self, SmokeOptions};

async fn smoke_passes(url: &str) {
    let target = Target::parse(url).expect("valid URL");
    let report = smoke::run(&target, &SmokeOptions::default())
        .await
        .unwrap_or_else(|e| panic!("{url}: {e}"));
    assert_eq!(report.response.status, 101);
    assert_eq!(report.steps.len(), 3);
    for step in &report.steps {
        assert!(
            step.passed,
            "{url}: step {} failed: {}",
            step.record.id, step.detail
        );
    }
    assert!(report.findings.is_empty(), "{url}: {:?}", report.findings);
    assert!(report.passed());
    let rendered = report.render();
    assert!(
        rendered.contains("<< handshake     HTTP/1.1 101"),
        "{rendered}"
    );
    assert!(rendered.contains("passed: 3/3 steps"), "{rendered}");
}

#[tokio::test]
async fn embedded_tungstenite_target() {
    let server = EchoServer::start().await.expect("echo server");
    smoke_passes(&server.url()).await;
}

#[tokio::test]
async fn python_websockets() {
    let server = RealServer::start(Kind::PythonWebsockets);
    smoke_passes(&server.url()).await;
}

#[tokio::test]
async fn node_ws() {
    let server = RealServer::start(Kind::NodeWs);
    smoke_passes(&server.url()).await;
}

#[tokio::test]
async fn chopped_one_byte_writes_still_echo() {
    let server = RealServer::start(Kind::NodeWs);
    let target = Target::parse(&server.url()).expect("valid URL");
    let mut opts = SmokeOptions::default();
    opts.shape.chop = Some(1);
    let report = smoke::run(&target, &opts).await.expect("smoke");
    assert!(report.passed(), "{}", report.render());
    // Every chop was written and logged on its own: at least one event a byte of the frames.
    let sent_byte_events = report
        .steps
        .iter()
        .flat_map(|s| s.log.events())
        .filter(|e| {
            matches!(
                e.kind,
                wsconform::session::EventKind::Bytes {
                    direction: wsconform::session::Direction::Sent,
                    len: 1,
                    ..
                }
            )
        })
        .count();
    assert!(
        sent_byte_events > 1000,
        "only {sent_byte_events} one-byte writes"
    );
}

#[test]
fn cli_smoke_exchange_against_each_real_server() {
    for kind in [Kind::PythonWebsockets, Kind::NodeWs] {
        let server = RealServer::start(kind);
        let output = wsconform()
            .args(["smoke", &server.url()])
            .output()
            .expect("run wsconform");
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert_eq!(
            output.status.code(),
            Some(0),
            "{kind:?}: {stdout}\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(
            stdout.contains("passed: 3/3 steps passed, 0 violation(s)"),
            "{stdout}"
        );
        assert!(stdout.contains("<< frame     CLOSE"), "{stdout}");
    }
}

#[test]
fn cli_smoke_without_url_tests_the_embedded_target() {
    let output = wsconform()
        .args(["smoke", "--no-trace"])
        .output()
        .expect("run wsconform");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.starts_with(
            "no URL given: testing the embedded tokio-tungstenite echo server at ws://127.0.0.1:"
        ),
        "{stdout}"
    );
    assert!(!stdout.contains("wire trace"), "{stdout}");
    assert!(stdout.contains("passed: 3/3"), "{stdout}");
}
