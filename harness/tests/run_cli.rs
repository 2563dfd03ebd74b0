//! `wsconform run` end to end through the binary: selection, several targets, spec files,
//! results.jsonl, exit codes, a target that dies mid-run, and servers that go silent or flood.

mod support;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::thread;
use std::time::{Duration, Instant};

use support::{Echo, wsconform};
use wsconform::handshake::accept_key;
use wsconform::wire::RawFrame;
use wsconform_reports::{CaseRecord, Outcome};

/// A fresh output directory under the target dir.
fn out_dir(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("run-cli-{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn records(dir: &Path) -> Vec<CaseRecord> {
    let text = std::fs::read_to_string(dir.join("results.jsonl")).expect("results.jsonl");
    text.lines()
        .map(|l| serde_json::from_str(l).expect("each line is a record"))
        .collect()
}

fn run(args: &[&str]) -> Output {
    wsconform().args(args).output().expect("run wsconform")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn selection_and_named_targets_write_one_record_per_case() {
    let echo = Echo::start();
    let out = out_dir("selection");
    let target = format!("a={}", echo.url());
    let o = run(&[
        "run",
        "--target",
        &target,
        "--cases",
        "1.1.*,2.1*",
        "--exclude",
        "1.1.8",
        "--out",
        out.to_str().expect("utf-8"),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let mut ids: Vec<String> = records(&out).iter().map(|r| r.id.clone()).collect();
    ids.sort_by(|a, b| wsconform::cases::compare_ids(a, b));
    assert_eq!(
        ids,
        [
            "1.1.1", "1.1.2", "1.1.3", "1.1.4", "1.1.5", "1.1.6", "1.1.7", "2.1", "2.10", "2.11"
        ]
    );
    let recs = records(&out);
    assert!(
        recs.iter()
            .all(|r| r.target == "a" && r.outcome == Outcome::Pass)
    );
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(stdout.contains("a: 10 cases — 10 pass, 0 fail"), "{stdout}");
}

#[test]
fn two_targets_in_one_run() {
    let (one, two) = (Echo::start(), Echo::start());
    let out = out_dir("two");
    let o = run(&[
        "run",
        &one.url(),
        "--target",
        &format!("second={}", two.url()),
        "--cases",
        "5.3,5.4",
        "--out",
        out.to_str().expect("utf-8"),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let recs = records(&out);
    assert_eq!(recs.len(), 4);
    // A plain URL is named by the server's `Server` header, else by its URL.
    assert!(recs.iter().any(|r| r.target == one.url()));
    assert_eq!(recs.iter().filter(|r| r.target == "second").count(), 2);
}

#[test]
fn autobahn_spec_file_as_it_is() {
    let (one, two) = (Echo::start(), Echo::start());
    let out = out_dir("spec");
    std::fs::create_dir_all(&out).expect("mkdir");
    let spec = out.join("fuzzingclient.json");
    std::fs::write(
        &spec,
        format!(
            r#"{{
  "outdir": "./reports/servers",
  "options": {{"failByDrop": false}},
  "servers": [
    {{"agent": "First/1.0", "url": "{}", "options": {{"version": 18}}}},
    {{"agent": "Second/2.0", "url": "{}"}}
  ],
  "cases": ["1.2.*", "7.7.1"],
  "exclude-cases": ["1.2.8"],
  "exclude-agent-cases": {{"Second*": ["1.2.*"]}}
}}"#,
            one.url(),
            two.url()
        ),
    )
    .expect("write spec");
    // Autobahn resolves `outdir` against the current directory: run from `out`.
    let o = wsconform()
        .current_dir(&out)
        .args(["run", "--spec"])
        .arg(&spec)
        .arg("--out")
        .arg(&out)
        .output()
        .expect("run wsconform");
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let recs = records(&out);
    let first: Vec<&str> = recs
        .iter()
        .filter(|r| r.target == "First/1.0")
        .map(|r| r.id.as_str())
        .collect();
    let second: Vec<&str> = recs
        .iter()
        .filter(|r| r.target == "Second/2.0")
        .map(|r| r.id.as_str())
        .collect();
    assert_eq!(first.len(), 8, "{first:?}");
    assert_eq!(second, ["7.7.1"]);
    // Autobahn's files went where Autobahn would write them.
    let index = out.join("reports/servers/index.json");
    assert!(index.exists(), "{}", index.display());
    assert!(
        out.join("reports/servers/second_2_0_case_7_7_1.json")
            .exists()
    );
    assert!(!out.join("autobahn").exists());
}

#[test]
fn bad_spec_file_pattern_and_case_dir_exit_2_with_one_line() {
    let out = out_dir("bad");
    std::fs::create_dir_all(&out).expect("mkdir");
    let spec = out.join("broken.json");
    std::fs::write(&spec, r#"{"servers": [{"agent": "x"}]}"#).expect("write");
    let o = run(&["run", "--spec", spec.to_str().expect("utf-8")]);
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert_eq!(e.lines().count(), 1, "{e}");
    assert!(e.contains("broken.json: missing field `url`"), "{e}");

    let o = run(&["run", "ws://127.0.0.1:1/", "--cases", "42.*"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("no case matches pattern \"42.*\""),
        "{}",
        stderr(&o)
    );

    let dir = out.join("cases");
    std::fs::create_dir_all(&dir).expect("mkdir");
    std::fs::write(
        dir.join("mine.toml"),
        "[[case]]\nid = \"x.1\"\ntitle = \"t\"\nrfc = \"rfc6455#section-5.2\"\nsteps = []\nclose = \"sometimes\"\n",
    )
    .expect("write");
    let o = run(&["cases", "--cases-dir", dir.to_str().expect("utf-8")]);
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert!(
        e.contains("mine.toml:1:") && e.contains("close \"sometimes\""),
        "{e}"
    );
    assert_eq!(e.lines().count(), 1, "{e}");
}

#[test]
fn a_users_case_directory_runs() {
    let echo = Echo::start();
    let out = out_dir("user-cases");
    let dir = out.join("cases");
    std::fs::create_dir_all(&dir).expect("mkdir");
    std::fs::write(
        dir.join("mine.toml"),
        r#"
[[case]]
id = "100.1"
title = "My own: a ping with a payload"
rfc = "rfc6455#section-5.5.2"
close_after = 1
steps = [ { send = { frames = [ { opcode = "ping", payload = "mine" } ] } } ]
expect.ok = [ { pong = "mine" } ]
close = "ok"
"#,
    )
    .expect("write");
    let o = run(&[
        "run",
        &echo.url(),
        "--cases-dir",
        dir.to_str().expect("utf-8"),
        "--out",
        out.to_str().expect("utf-8"),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let recs = records(&out);
    assert_eq!(recs.len(), 1);
    assert_eq!(
        (recs[0].id.as_str(), recs[0].outcome),
        ("100.1", Outcome::Pass)
    );
}

/// A WebSocket server that accepts `limit` connections (handshake, then echo nothing but
/// close replies), then stops listening: the target dies mid-run.
fn dying_server(limit: usize) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    thread::spawn(move || {
        for _ in 0..limit {
            let Ok((mut tcp, _)) = listener.accept() else {
                return;
            };
            thread::spawn(move || {
                let _ = tcp.set_read_timeout(Some(Duration::from_secs(5)));
                if !answer_handshake(&mut tcp) {
                    return;
                }
                // Answer the harness's close, whatever comes first, then close.
                let mut buf = [0u8; 4096];
                while let Ok(n) = tcp.read(&mut buf) {
                    if n == 0 || buf[..n].contains(&0x88) {
                        let _ = tcp.write_all(
                            &RawFrame::close(wsconform::wire::CloseCode::NORMAL, "").to_bytes(),
                        );
                        break;
                    }
                }
            });
        }
        // Dropping the listener: later connections are refused.
    });
    port
}

fn answer_handshake(tcp: &mut std::net::TcpStream) -> bool {
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match tcp.read(&mut buf) {
            Ok(0) | Err(_) => return false,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
        if head.len() > 16 * 1024 {
            return false;
        }
    }
    let text = String::from_utf8_lossy(&head).into_owned();
    let Some(key) = text
        .lines()
        .find_map(|l| l.strip_prefix("Sec-WebSocket-Key: "))
    else {
        return false;
    };
    let response = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {}\r\n\r\n",
        accept_key(key.as_bytes())
    );
    tcp.write_all(response.as_bytes()).is_ok()
}

#[test]
fn a_target_that_dies_mid_run_marks_the_rest_unreachable_and_keeps_results() {
    // The probe takes one connection, then three cases run, then the port closes.
    let port = dying_server(4);
    let out = out_dir("dies");
    let url = format!("ws://127.0.0.1:{port}/");
    let o = run(&[
        "run",
        &url,
        "--cases",
        "7.7.*",
        "--jobs",
        "1",
        "--out",
        out.to_str().expect("utf-8"),
    ]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    let e = stderr(&o);
    assert!(
        e.contains("became unreachable mid-run: 10 case(s) not run"),
        "{e}"
    );
    let recs = records(&out);
    assert_eq!(recs.len(), 13, "every case has a record");
    let unreachable = recs
        .iter()
        .filter(|r| r.outcome == Outcome::Unreachable)
        .count();
    assert_eq!(unreachable, 10);
    assert!(
        recs.iter()
            .filter(|r| r.outcome == Outcome::Unreachable)
            .all(|r| r.behavior.is_none())
    );
}

/// A server that completes the handshake and then, per `mode`, says nothing or floods pongs.
fn misbehaving_server(flood: bool) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    thread::spawn(move || {
        for _ in 0..3 {
            let Ok((mut tcp, _)) = listener.accept() else {
                return;
            };
            thread::spawn(move || {
                if !answer_handshake(&mut tcp) {
                    return;
                }
                let started = Instant::now();
                let pongs: Vec<u8> = (0..512)
                    .flat_map(|_| RawFrame::pong("x").to_bytes())
                    .collect();
                // Bounded: at most 10 s, whatever the harness does.
                while started.elapsed() < Duration::from_secs(10) {
                    if flood {
                        if tcp.write_all(&pongs).is_err() {
                            return;
                        }
                    } else {
                        thread::sleep(Duration::from_millis(50));
                    }
                }
            });
        }
    });
    port
}

#[test]
fn silent_and_flooding_servers_still_get_verdicts_in_bounded_time() {
    for flood in [false, true] {
        let port = misbehaving_server(flood);
        let out = out_dir(if flood { "flood" } else { "silent" });
        let started = Instant::now();
        let o = run(&[
            "run",
            &format!("ws://127.0.0.1:{port}/"),
            "--cases",
            "1.1.1",
            "--out",
            out.to_str().expect("utf-8"),
        ]);
        // kill(1), then the 1 s close timeout: about 2 s, never more than a few.
        assert!(
            started.elapsed() < Duration::from_secs(8),
            "flood={flood}: {:?}",
            started.elapsed()
        );
        assert_eq!(o.status.code(), Some(1), "flood={flood}: {}", stderr(&o));
        let recs = records(&out);
        assert_eq!(recs.len(), 1);
        assert_eq!(recs[0].outcome, Outcome::Fail);
        assert!(recs[0].close.close_handshake_timeout, "{:?}", recs[0].close);
    }
}

#[test]
fn strict_policy_fails_non_strict_verdicts() {
    // tungstenite detects the invalid UTF-8 of 6.4.3 only at the end of the frame: NON-STRICT.
    let echo = Echo::start();
    let out = out_dir("strict");
    let dir = out.to_str().expect("utf-8");
    let o = run(&["run", &echo.url(), "--cases", "6.4.3", "--out", dir]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let recs = records(&out);
    assert_eq!(
        recs[0].behavior,
        Some(wsconform_reports::Behavior::NonStrict)
    );
    let o = run(&[
        "run",
        &echo.url(),
        "--cases",
        "6.4.3",
        "--out",
        dir,
        "--strict",
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert_eq!(records(&out)[0].outcome, Outcome::Fail);
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(stdout.contains("FAIL 6.4.3"), "{stdout}");
}

#[test]
fn cases_that_need_params_are_not_run_until_given() {
    let echo = Echo::start();
    let url = echo.url();
    // Without --param subprotocol, 0.8.1 is not run: reported, never passed, never failing.
    let out = out_dir("params-none");
    let o = run(&[
        "run",
        &url,
        "--cases",
        "0.8.1,0.7.2",
        "--out",
        out.to_str().expect("utf-8"),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        stdout.contains("1 pass, 0 fail, 0 info, 1 not run"),
        "{stdout}"
    );
    assert!(stdout.contains("NOT RUN 0.8.1"), "{stdout}");
    let recs = records(&out);
    let skipped = recs.iter().find(|r| r.id == "0.8.1").expect("0.8.1");
    assert_eq!(skipped.outcome, Outcome::NotRun);
    assert!(
        skipped.reason.contains("--param subprotocol="),
        "{}",
        skipped.reason
    );
    let junit = std::fs::read_to_string(out.join("junit.xml")).expect("junit.xml");
    assert!(junit.contains("<skipped"), "{junit}");
    // Autobahn's files leave it out, as Autobahn shows a case that did not run: a consumer
    // that counts UNIMPLEMENTED as a pass must not pass it.
    let index = std::fs::read_to_string(out.join("autobahn/index.json")).expect("index.json");
    assert!(
        index.contains("\"0.7.2\"") && !index.contains("\"0.8.1\""),
        "{index}"
    );

    // With it, the case runs: tokio-tungstenite's echo server speaks no subprotocol, so its
    // 101 selects none of those offered, which §4.2.2 allows: NON-STRICT, a failure only
    // under --strict.
    let out = out_dir("params-given");
    let o = run(&[
        "run",
        &url,
        "--cases",
        "0.8.1",
        "--param",
        "subprotocol=chat",
        "--strict",
        "--out",
        out.to_str().expect("utf-8"),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let rec = &records(&out)[0];
    assert_eq!(rec.outcome, Outcome::Fail);
    assert_eq!(rec.behavior, Some(wsconform_reports::Behavior::NonStrict));
    assert!(
        rec.reason.contains("has no Sec-WebSocket-Protocol"),
        "{}",
        rec.reason
    );
    let html = std::fs::read_to_string(out.join("index.html")).expect("index.html");
    assert!(
        html.contains("--param subprotocol=chat"),
        "the re-run command keeps the param"
    );

    // A bad value, or a param given twice, is a usage error.
    for args in [
        &["--param", "max_message=lots"][..],
        &["--param", "max_message=5", "--param", "max_message=x"][..],
    ] {
        let o = run(&[&["run", url.as_str()][..], args].concat());
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        assert_eq!(stderr(&o).lines().count(), 1, "{}", stderr(&o));
    }
}

#[test]
fn a_spec_files_wildcards_select_only_autobahns_sections() {
    let echo = Echo::start();
    let out = out_dir("spec-wildcards");
    std::fs::create_dir_all(&out).expect("mkdir");
    let spec = out.join("fuzzingclient.json");
    std::fs::write(
        &spec,
        format!(
            r#"{{"outdir": "{}", "servers": [{{"agent": "E", "url": "{}"}}], "cases": ["1*", "0.7.2"]}}"#,
            out.join("ab").display(),
            echo.url()
        ),
    )
    .expect("write spec");
    let o = run(&[
        "run",
        "--spec",
        spec.to_str().expect("utf-8"),
        "--out",
        out.to_str().expect("utf-8"),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let ids: Vec<String> = records(&out).into_iter().map(|r| r.id).collect();
    // "1*" is 1.x, 10.x, 12.x and 13.x as in Autobahn (the deflate cases UNIMPLEMENTED on
    // this server, which passes), not 14.x-18.x; "0.7.2" names section 0 itself.
    assert_eq!(ids.len(), 16 + 1 + 216 + 1, "{ids:?}");
    assert!(ids.iter().any(|i| i == "0.7.2") && ids.iter().any(|i| i == "10.1.1"));
    assert!(ids.iter().any(|i| i == "12.1.1") && ids.iter().any(|i| i == "13.7.18"));
    assert!(
        !ids.iter()
            .any(|i| ["14.", "17.", "18."].iter().any(|s| i.starts_with(s)))
    );
}
