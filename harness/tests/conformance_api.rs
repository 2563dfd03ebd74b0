//! The library API (`wsconform::conformance`) as a server crate's own `cargo test` uses it,
//! on the embedded tokio-tungstenite server served in process through `run_with`: it passes
//! Autobahn's core sections, its known handshake failures are pinned by a committed baseline,
//! and a failure's panic names the case, its reason and the re-run command.

use wsconform::conformance::Conformance;
use wsconform::echo::serve_connection;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokio_tungstenite_passes_the_core_sections() {
    let results = Conformance::new()
        .cases("1.*,2.*,3.*,4.*,5.*,6.*,7.*,10.*")
        .expect("patterns")
        .run_with(serve_connection)
        .await
        .expect("the server answered");
    assert!(results.records.len() > 240, "{}", results.records.len());
    results.assert_conforms();
}

/// The whole library but the slow sections, against a committed baseline: the cases
/// tokio-tungstenite fails today (section 0) are known; a new failure would be a regression.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokio_tungstenite_matches_its_baseline() {
    let results = Conformance::new()
        .exclude("9.*,12.*,13.*,16.*,18.*")
        .expect("patterns")
        .run_with(serve_connection)
        .await
        .expect("the server answered");
    assert!(results.failed().count() > 0, "section 0 has known failures");
    results.assert_baseline(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/baselines/tokio-tungstenite.json"
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failure_names_the_case_its_reason_and_the_rerun_command() {
    // 0.2.2 (Host twice): tokio-tungstenite answers 101 (RFC 9112 §3.2 asks for 400).
    let results = Conformance::new()
        .cases("0.2.2,1.1.1")
        .expect("patterns")
        .named("tokio-tungstenite")
        .run_with(serve_connection)
        .await
        .expect("the server answered");
    assert_eq!(results.failed().count(), 1);
    let panic = std::panic::catch_unwind(|| results.assert_conforms()).expect_err("it fails");
    let text = panic.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(
        text.contains("1 of 2 case(s) failed against tokio-tungstenite"),
        "{text}"
    );
    assert!(
        text.contains("0.2.2") && text.contains("RFC 9112"),
        "{text}"
    );
    assert!(text.contains("WSCONFORM_CASES=0.2.2 cargo test"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_refuses_is_an_error_not_a_verdict() {
    let error = Conformance::new()
        .cases("1.1.1")
        .expect("patterns")
        .run_with(|tcp| async move { drop(tcp) })
        .await
        .expect_err("no WebSocket");
    assert!(error.to_string().contains("did not answer"), "{error}");
    assert!(Conformance::new().cases("99.*").is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_case_that_newly_fails_is_a_regression() {
    let results = Conformance::new()
        .cases("0.2.2,1.1.1")
        .expect("patterns")
        .run_with(serve_connection)
        .await
        .expect("the server answered");
    // A baseline in which 0.2.2 passed: it fails now.
    let path = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("baseline-0.2.2.json");
    std::fs::write(
        &path,
        r#"{"server": {"0.2.2": {"behavior": "OK", "behaviorClose": "OK"}, "1.1.1": {"behavior": "OK", "behaviorClose": "OK"}}}"#,
    )
    .expect("write");
    let panic = std::panic::catch_unwind(|| results.assert_baseline(&path)).expect_err("regressed");
    let text = panic.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(text.starts_with("1 regression(s)"), "{text}");
    assert!(text.contains("0.2.2"), "{text}");
    // Blessed, the same run passes against it.
    results.write_baseline(&path).expect("bless");
    results.assert_baseline(&path);
}
