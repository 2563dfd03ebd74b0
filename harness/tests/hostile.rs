//! The harness survives hostile servers: every wait is bounded, no more than 1 MiB is
//! allocated from a length the peer only declared, and the case still ends with a verdict. Each test scripts a
//! tiny server that completes a real handshake and then misbehaves in one way; the harness runs
//! one case against it (the smoke exchange's text echo, with 300 ms timers).

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use wsconform::handshake::accept_key;
use wsconform::net::Target;
use wsconform::runner::machine::Timeouts;
use wsconform::runner::{CaseRun, RunOptions, run_case};
use wsconform::smoke;
use wsconform::wire::RawFrame;
use wsconform_reports::{Cause, Outcome};

/// Reads the request head and answers a valid 101.
async fn accept_handshake(tcp: &mut TcpStream) {
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = tcp.read(&mut buf).await.expect("read request");
        assert!(n > 0 && head.len() < 16 * 1024, "bad request");
        head.extend_from_slice(&buf[..n]);
    }
    let text = String::from_utf8_lossy(&head);
    let key = text
        .lines()
        .find_map(|l| l.strip_prefix("Sec-WebSocket-Key: "))
        .expect("key header");
    let response = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {}\r\n\r\n",
        accept_key(key.as_bytes())
    );
    tcp.write_all(response.as_bytes()).await.expect("write 101");
}

/// Starts a one-connection server running `behave` after the handshake.
async fn hostile<F, Fut>(behave: F) -> String
where
    F: FnOnce(TcpStream) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("ws://{}/", listener.local_addr().expect("addr"));
    tokio::spawn(async move {
        let (mut tcp, _) = listener.accept().await.expect("accept");
        accept_handshake(&mut tcp).await;
        // Bounded: the server gives up after 10 s whatever happens.
        let _ = tokio::time::timeout(Duration::from_secs(10), behave(tcp)).await;
    });
    url
}

/// The smoke exchange's text echo (one connection, one case) with 300 ms timers: the hostile
/// servers serve one connection each.
async fn echo_case(url: &str) -> CaseRun {
    let case = smoke::smoke_cases(Duration::from_millis(300))
        .into_iter()
        .nth(1)
        .expect("the text echo case");
    let opts = RunOptions {
        timeouts: Timeouts {
            close_handshake: Duration::from_millis(300),
            server_drop: Duration::from_millis(300),
            ..Timeouts::default()
        },
        ..RunOptions::default()
    };
    run_case("hostile", &Target::parse(url).expect("url"), &case, &opts).await
}

fn has_code(run: &CaseRun, code: &str) -> bool {
    run.record.findings.iter().any(|f| f.code == code)
}

#[tokio::test]
async fn masked_echo_is_reported_as_a_violation() {
    let url = hostile(|mut tcp| async move {
        let mut buf = vec![0u8; 4096];
        // Answer every read with a masked text frame: servers must not mask.
        while let Ok(n) = tcp.read(&mut buf).await {
            if n == 0 {
                break;
            }
            let frame = RawFrame::text("masked!").masked([1, 2, 3, 4]).to_bytes();
            if tcp.write_all(&frame).await.is_err() {
                break;
            }
        }
    })
    .await;
    let run = echo_case(&url).await;
    assert_eq!(run.record.outcome, Outcome::Fail, "{}", run.record.reason);
    assert!(
        has_code(&run, "masked-server-frame"),
        "{:?}",
        run.record.findings
    );
    assert!(run.record.causes.contains(&Cause::BrokeRule));
}

#[tokio::test]
async fn a_huge_declared_length_and_a_flood_end_in_bounded_time() {
    let url = hostile(|mut tcp| async move {
        // Declare 2^63-1 bytes, then stream garbage as fast as the client takes it.
        let header = RawFrame::binary(Vec::new())
            .declared_len(u64::MAX >> 1)
            .to_bytes();
        let _ = tcp.write_all(&header).await;
        let junk = vec![0x55u8; 64 * 1024];
        while tcp.write_all(&junk).await.is_ok() {}
    })
    .await;
    let started = Instant::now();
    let run = echo_case(&url).await;
    // The echo wait and the close timers, 300 ms each, plus slack: the flood cannot keep the
    // case alive.
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );
    assert_eq!(run.record.outcome, Outcome::Fail);
    let declared = (u64::MAX >> 1).to_string();
    assert!(
        run.record
            .findings
            .iter()
            .any(|f| f.code == "frame-over-cap" && f.message.contains(&declared)),
        "{:?}",
        run.record.findings
    );
}

#[tokio::test]
async fn a_server_that_never_closes_is_aborted_after_the_close_timeout() {
    let url = hostile(|mut tcp| async move {
        // Echo nothing, answer nothing, keep the connection open.
        let mut buf = vec![0u8; 4096];
        while let Ok(n) = tcp.read(&mut buf).await {
            if n == 0 {
                break;
            }
        }
    })
    .await;
    let started = Instant::now();
    let run = echo_case(&url).await;
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );
    let r = &run.record;
    // No echo within the kill timer (300 ms): the harness fails the connection; no close
    // reply within the close timeout (300 ms): it aborts TCP.
    assert_eq!(r.causes[0], Cause::EventsDiffer, "{}", r.reason);
    assert!(r.causes.contains(&Cause::CloseTimeout), "{}", r.reason);
    assert!(r.close.failed_by_harness && r.close.dropped_by_harness);
    assert!(
        r.reason.contains("no close reply within the close timeout"),
        "{}",
        r.reason
    );
}

#[tokio::test]
async fn a_server_that_resets_is_told_apart_from_one_that_closes() {
    let url = hostile(|tcp| async move {
        let mut tcp = tcp;
        let mut buf = [0u8; 64];
        let _ = tcp.read(&mut buf).await;
        // Abort with RST: SO_LINGER 0, then close.
        let _ = tcp.set_zero_linger();
        drop(tcp);
    })
    .await;
    let run = echo_case(&url).await;
    assert_eq!(
        run.record.close.transport_code, "peer-reset",
        "{}",
        run.record.reason
    );
}

#[tokio::test]
async fn a_flood_of_frames_cannot_hold_a_wait_past_its_deadline() {
    let url = hostile(|mut tcp| async move {
        // Unsolicited pongs are legal; send them without pause.
        let pongs: Vec<u8> = (0..4096)
            .flat_map(|_| RawFrame::pong("x").to_bytes())
            .collect();
        while tcp.write_all(&pongs).await.is_ok() {}
    })
    .await;
    let started = Instant::now();
    let run = echo_case(&url).await;
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );
    assert_eq!(run.record.outcome, Outcome::Fail, "{}", run.record.reason);
}

#[tokio::test]
async fn the_event_log_stays_bounded_under_a_flood() {
    let url = hostile(|mut tcp| async move {
        let pongs: Vec<u8> = (0..4096)
            .flat_map(|_| RawFrame::pong("x").to_bytes())
            .collect();
        while tcp.write_all(&pongs).await.is_ok() {}
    })
    .await;
    let run = echo_case(&url).await;
    let log = &run.log;
    assert!(
        log.events().len() <= wsconform::session::MAX_EVENTS + 16,
        "{}",
        log.events().len()
    );
    assert!(
        log.dropped() > 0,
        "the flood should have overflowed the log"
    );
    // The end of the session is still there.
    assert!(
        log.events()
            .iter()
            .any(|e| matches!(e.kind, wsconform::session::EventKind::Closed(_)))
    );
}

/// A server for crafted handshakes: reads what comes (bounded) and answers with `answer`
/// bytes, repeated `times` times (an endless header when large), then holds the connection
/// for up to 10 s. Serves up to `conns` connections.
async fn answering(answer: &'static [u8], times: usize, conns: usize) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("ws://{}/", listener.local_addr().expect("addr"));
    tokio::spawn(async move {
        for _ in 0..conns {
            let Ok((mut tcp, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(async move {
                let _ = tokio::time::timeout(Duration::from_secs(10), async {
                    let mut buf = [0u8; 4096];
                    let _ = tcp.read(&mut buf).await;
                    for _ in 0..times {
                        if tcp.write_all(answer).await.is_err() {
                            return;
                        }
                    }
                    let _ = tcp.read(&mut buf).await;
                })
                .await;
            });
        }
    });
    url
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crafted_handshakes_end_in_bounded_time_against_silent_endless_and_garbage_answers() {
    use wsconform::cases::builtin;
    use wsconform_reports::Behavior;

    let opts = RunOptions {
        open_handshake_timeout: Duration::from_millis(500),
        ..RunOptions::default()
    };
    let cases = builtin().expect("cases");
    let case = |id: &str| cases.iter().find(|c| c.id == id).expect("case").clone();
    // A reject case (0.6.3), an accept case (0.3.2) and a survival case (0.10.9, check_alive).
    for (answer, times, what) in [
        (&b""[..], 0, "silent"),
        (
            &b"X-Endless: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n"[..],
            2000,
            "endless header",
        ),
        (&b"\x00\xffnot http at all\r\n\r\n"[..], 1, "garbage"),
    ] {
        let url = answering(answer, times, 4).await;
        let target = Target::parse(&url).expect("url");
        for id in ["0.6.3", "0.3.2", "0.10.9"] {
            let started = Instant::now();
            let run = run_case("hostile", &target, &case(id), &opts).await;
            let r = &run.record;
            // The answer wait (0.5 s) plus, for 0.10.9, the alive check's bounded waits.
            assert!(
                started.elapsed() < Duration::from_secs(8),
                "{what} {id}: {:?}",
                started.elapsed()
            );
            assert!(!r.reason.is_empty(), "{what} {id}");
            match id {
                // Neither a refusal nor a 101: the reject case fails (§4.2.1: it MUST return
                // an HTTP response).
                "0.6.3" => assert_eq!(
                    r.behavior,
                    Some(Behavior::Failed),
                    "{what} {id}: {}",
                    r.reason
                ),
                // The accept case: silence breaks no MUST (a server may refuse, §4.2.2), but
                // an answer that is not HTTP does.
                "0.3.2" => assert_eq!(
                    r.behavior,
                    Some(if what == "silent" {
                        Behavior::NonStrict
                    } else {
                        Behavior::Failed
                    }),
                    "{what} {id}: {}",
                    r.reason
                ),
                // The record case records; the server is up (it answers connections) but
                // never echoes, so the alive check fails it.
                _ => {
                    assert_eq!(
                        r.behavior,
                        Some(Behavior::Failed),
                        "{what} {id}: {}",
                        r.reason
                    );
                    assert!(
                        r.reason.contains("did not survive"),
                        "{what} {id}: {}",
                        r.reason
                    );
                }
            }
        }
    }
}
