//! Bad input gets one clear line on stderr and a distinct exit code; never a panic or a
//! backtrace. One test per kind of bad input, each against a real (if tiny) peer.

mod support;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use support::wsconform;

/// Runs wsconform with `args`; returns the exit code and stderr, after checking stderr is a
/// single line with no panic or backtrace in it.
fn run_err(args: &[&str]) -> (i32, String) {
    let output = wsconform().args(args).output().expect("run wsconform");
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(
        stderr.trim_end().lines().count(),
        1,
        "stderr is not one line: {stderr:?}"
    );
    assert!(
        !stderr.contains("panicked") && !stderr.contains("backtrace"),
        "{stderr}"
    );
    assert!(stderr.starts_with("wsconform: error: "), "{stderr}");
    (output.status.code().expect("exit code"), stderr)
}

#[test]
fn unparseable_url_exits_2() {
    let (code, stderr) = run_err(&["run", "not a url"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("invalid URL \"not a url\""), "{stderr}");
}

#[test]
fn a_size_param_that_is_not_a_number_exits_2() {
    // The deflate bomb and limit cases size their messages from it.
    let (code, stderr) = run_err(&["run", "--param", "max_message=1MiB", "--cases", "18.1.4"]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("max_message=\"1MiB\" is not a number of bytes"),
        "{stderr}"
    );
}

#[test]
fn a_probe_ceiling_out_of_range_exits_2() {
    for value in ["12", "1GiB", "8589934592"] {
        let (code, stderr) = run_err(&[
            "run",
            "--param",
            &format!("probe_ceiling={value}"),
            "--cases",
            "16.1.1",
        ]);
        assert_eq!(code, 2, "{value}");
        assert!(
            stderr.contains("probe_ceiling") && stderr.contains("from 65536"),
            "{stderr}"
        );
    }
}

#[test]
fn unsupported_scheme_exits_2() {
    let (code, stderr) = run_err(&["run", "http://127.0.0.1:9/"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("unsupported scheme \"http\""), "{stderr}");
}

#[test]
fn unresolvable_host_exits_3() {
    // .invalid is reserved never to resolve (RFC 2606).
    let (code, stderr) = run_err(&[
        "run",
        "ws://no-such-host.invalid/",
        "--connect-timeout",
        "10",
    ]);
    assert_eq!(code, 3);
    assert!(
        stderr.contains("cannot resolve host \"no-such-host.invalid\""),
        "{stderr}"
    );
}

#[test]
fn refused_port_exits_3() {
    let port = {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("addr").port()
    };
    let url = format!("ws://127.0.0.1:{port}/");
    let (code, stderr) = run_err(&["run", &url]);
    assert_eq!(code, 3);
    assert!(
        stderr.contains(&format!("connection refused by 127.0.0.1:{port}")),
        "{stderr}"
    );
}

/// A one-connection HTTP server that answers the request with `response`.
fn answer_once(response: &'static [u8]) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    thread::spawn(move || {
        if let Ok((mut stream, _)) = listener.accept() {
            let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
            let mut buf = [0u8; 4096];
            let _ = stream.read(&mut buf);
            let _ = stream.write_all(response);
            thread::sleep(Duration::from_millis(200));
        }
    });
    port
}

#[test]
fn non_101_answer_exits_5_shows_the_status_and_writes_the_probe_record() {
    // Markup in a header and in the body: the reports keep it as text.
    let port = answer_once(
        b"HTTP/1.1 403 Forbidden\r\nX-Evil: <img src=x onerror=alert(1)>\r\nContent-Length: 36\r\n\r\n<script>alert('owned')</script>body!",
    );
    let out = support::out_dir("cli-errors-non-101");
    let (code, stderr) = run_err(&[
        "run",
        &format!("ws://127.0.0.1:{port}/"),
        "--out",
        out.to_str().expect("utf-8 path"),
    ]);
    assert_eq!(code, 5);
    assert!(
        stderr.contains("server answered 403 Forbidden, not 101 Switching Protocols"),
        "{stderr}"
    );
    // The reports exist, with one record: the preflight, and what answered it.
    let records = support::records_in(&out);
    assert_eq!(records.len(), 1);
    let probe = &records[0];
    assert_eq!(probe.id, "probe");
    assert_eq!(probe.outcome, wsconform_reports::Outcome::Fail);
    assert_eq!(probe.behavior, Some(wsconform_reports::Behavior::Failed));
    assert_eq!(
        probe.behavior_close,
        Some(wsconform_reports::BehaviorClose::Failed)
    );
    assert!(probe.reason.contains("wrong URL"), "{}", probe.reason);
    let response = probe.http_response.as_deref().expect("the response");
    assert!(
        response.starts_with("HTTP/1.1 403 Forbidden\r\n"),
        "{response}"
    );
    assert!(
        response.contains("X-Evil: <img src=x onerror=alert(1)>"),
        "{response}"
    );
    assert!(
        response.ends_with("<script>alert('owned')</script>body!"),
        "{response}"
    );
    for file in [
        "index.html",
        "report.json",
        "junit.xml",
        "summary.md",
        "autobahn/index.json",
    ] {
        assert!(out.join(file).is_file(), "{file}");
    }
    let html = std::fs::read_to_string(out.join("index.html")).expect("html");
    assert!(
        !html.contains("<script>alert('owned')"),
        "the body is escaped"
    );
    assert!(!html.contains("<img src=x"), "the header is escaped");
}

#[test]
fn a_long_refusal_body_is_cut_and_says_how_much_was_left_out() {
    // One write of the head and a 6000-byte body: the record shows the first bytes and counts
    // the rest.
    static RESPONSE: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    let response = RESPONSE.get_or_init(|| {
        let mut r = b"HTTP/1.1 404 Not Found\r\nContent-Length: 6000\r\n\r\n".to_vec();
        r.extend(std::iter::repeat_n(b'x', 6000));
        r
    });
    let port = answer_once(response);
    let out = support::out_dir("cli-errors-long-body");
    let (code, _) = run_err(&[
        "run",
        &format!("ws://127.0.0.1:{port}/"),
        "--out",
        out.to_str().expect("utf-8 path"),
    ]);
    assert_eq!(code, 5);
    let response = support::records_in(&out)[0]
        .http_response
        .clone()
        .expect("the response");
    let body = response.split("\r\n\r\n").nth(1).expect("a body");
    let shown = body.chars().take_while(|c| *c == 'x').count();
    assert!(shown > 1000 && shown < 6000, "{shown}");
    assert!(
        body.ends_with(&format!("[… {} more bytes not shown]", 6000 - shown)),
        "{}",
        &body[shown..]
    );
}

/// A server that answers every request with a 101 whose Sec-WebSocket-Accept is wrong, then
/// waits for the client to close (at most 5 s a connection).
fn wrong_accept_server() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    thread::spawn(move || {
        for stream in listener.incoming().take(200) {
            let Ok(mut stream) = stream else { break };
            thread::spawn(move || {
                let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
                let mut buf = [0u8; 4096];
                let _ = stream.read(&mut buf);
                let _ = stream.write_all(
                    b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: bm90IHRoZSByaWdodCBrZXk=\r\n\r\n",
                );
                let _ = stream.read(&mut buf);
            });
        }
    });
    port
}

#[test]
fn invalid_101_runs_every_case_fails_each_on_the_rule_and_exits_1() {
    let port = wrong_accept_server();
    let out = support::out_dir("cli-errors-invalid-101");
    let output = wsconform()
        .args([
            "run",
            &format!("ws://127.0.0.1:{port}/"),
            "--cases",
            "1.1.1,2.1,7.1.1,0.1.6",
            "--out",
            out.to_str().expect("utf-8 path"),
        ])
        .output()
        .expect("run wsconform");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(
        stderr.contains("answered 101 but breaks RFC 6455 §4.1"),
        "{stderr}"
    );
    let records = support::records_in(&out);
    assert_eq!(records.len(), 4);
    for r in &records {
        assert_eq!(
            r.outcome,
            wsconform_reports::Outcome::Fail,
            "{}: {}",
            r.id,
            r.reason
        );
        assert!(
            r.reason
                .contains("Sec-WebSocket-Accept is \"bm90IHRoZSByaWdodCBrZXk=\", expected \"")
                && r.reason.contains("(RFC 6455 §4.1 item 4"),
            "{}: {}",
            r.id,
            r.reason
        );
        assert!(
            r.findings.iter().any(|f| f.code == "accept-mismatch"),
            "{}",
            r.id
        );
    }
    assert!(out.join("index.html").is_file() && out.join("junit.xml").is_file());
}

#[test]
fn handshake_timeout_exits_6() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    thread::spawn(move || {
        // Accept, read, and say nothing until the client gives up (bounded).
        if let Ok((mut stream, _)) = listener.accept() {
            let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
            let mut buf = [0u8; 4096];
            while let Ok(n) = stream.read(&mut buf) {
                if n == 0 {
                    break;
                }
            }
        }
    });
    let (code, stderr) = run_err(&[
        "run",
        &format!("ws://127.0.0.1:{port}/"),
        "--handshake-timeout",
        "0.3",
    ]);
    assert_eq!(code, 6);
    assert!(
        stderr.contains("no handshake response within 300ms"),
        "{stderr}"
    );
}

#[test]
fn pattern_matching_no_case_exits_2() {
    let (code, stderr) = run_err(&["cases", "42.*"]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("no case matches pattern \"42.*\""),
        "{stderr}"
    );
}

#[test]
fn bad_flag_value_exits_2() {
    let output = wsconform()
        .args(["smoke", "--chop", "0"])
        .output()
        .expect("run");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("--chop"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

// --- TLS: a real rustls server with a self-signed certificate, echoing over tungstenite. ---

struct TlsServer {
    port: u16,
    ca_pem: tempfile_path::TempPath,
    _runtime: tokio::runtime::Runtime,
}

mod tempfile_path {
    use std::path::{Path, PathBuf};

    /// A file removed on drop.
    pub struct TempPath(pub PathBuf);

    impl TempPath {
        pub fn new(name: &str, contents: &str) -> Self {
            static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
            let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let path =
                std::env::temp_dir().join(format!("wsconform-{}-{n}-{name}", std::process::id()));
            std::fs::write(&path, contents).expect("write temp file");
            TempPath(path)
        }

        pub fn path(&self) -> &Path {
            &self.0
        }
    }

    impl Drop for TempPath {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }
}

fn start_tls_echo() -> TlsServer {
    // A test CA, and a certificate for "localhost" signed by it, as a real deployment has.
    let (ca, leaf, leaf_key) = support::test_pki(&["localhost"]);
    let ca_pem = tempfile_path::TempPath::new("ca.pem", &ca);
    let key = rustls::pki_types::PrivateKeyDer::try_from(leaf_key.serialize_der()).expect("key");
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_no_client_auth()
        .with_single_cert(vec![leaf.der().clone()], key)
        .expect("server config");
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    runtime.spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                break;
            };
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                if let Ok(tls) = acceptor.accept(tcp).await {
                    wsconform::echo::serve_connection(tls).await;
                }
            });
        }
    });
    TlsServer {
        port,
        ca_pem,
        _runtime: runtime,
    }
}

#[test]
fn tls_with_an_unknown_ca_exits_4() {
    let server = start_tls_echo();
    let (code, stderr) = run_err(&["run", &format!("wss://localhost:{}/", server.port)]);
    assert_eq!(code, 4);
    assert!(stderr.contains("TLS handshake with localhost:"), "{stderr}");
    assert!(stderr.contains("UnknownIssuer"), "{stderr}");
}

#[test]
fn tls_to_a_plain_server_exits_4() {
    let port = answer_once(b"HTTP/1.1 400 Bad Request\r\n\r\n");
    let (code, stderr) = run_err(&["run", &format!("wss://127.0.0.1:{port}/"), "--insecure"]);
    assert_eq!(code, 4);
    assert!(stderr.contains("TLS handshake with 127.0.0.1:"), "{stderr}");
}

#[test]
fn missing_ca_file_exits_4_with_its_path() {
    let (code, stderr) = run_err(&["run", "wss://localhost:1/", "--ca", "/nonexistent/ca.pem"]);
    assert_eq!(code, 4);
    assert!(
        stderr.contains("cannot use CA file /nonexistent/ca.pem"),
        "{stderr}"
    );
}

#[test]
fn tls_succeeds_with_the_ca_with_sni_and_with_insecure() {
    let server = start_tls_echo();
    let ca = server
        .ca_pem
        .path()
        .to_str()
        .expect("utf-8 path")
        .to_owned();
    let localhost = format!("wss://localhost:{}/", server.port);
    let by_ip = format!("wss://127.0.0.1:{}/", server.port);
    for args in [
        vec![
            "smoke",
            "--no-trace",
            localhost.as_str(),
            "--ca",
            ca.as_str(),
        ],
        // By IP, verified against the name in the certificate via SNI.
        vec![
            "smoke",
            "--no-trace",
            by_ip.as_str(),
            "--ca",
            ca.as_str(),
            "--sni",
            "localhost",
        ],
        vec!["smoke", "--no-trace", by_ip.as_str(), "--insecure"],
    ] {
        let output = wsconform().args(&args).output().expect("run");
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert_eq!(
            output.status.code(),
            Some(0),
            "{args:?}: {stdout}{}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(stdout.contains("passed: 3/3"), "{stdout}");
    }
    // By IP without SNI, the certificate (for "localhost") does not match: a TLS failure.
    let (code, stderr) = run_err(&["run", &by_ip, "--ca", &ca]);
    assert_eq!(code, 4, "{stderr}");
}
