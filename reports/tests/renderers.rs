//! Snapshot tests of every renderer, over a fixed run: fixed times and durations, so the
//! snapshots are stable. The fixture covers each outcome and a hostile server's strings.

mod common;

use common::{record, run_report};

use wsconform_reports::{Behavior, BehaviorClose, Outcome, RunReport, autobahn, junit, markdown};

fn fixture() -> RunReport {
    let mut fail = record("Hostile/1.0", "4.1.1", Outcome::Fail);
    fail.behavior = Some(Behavior::Ok);
    fail.behavior_close = Some(BehaviorClose::Failed);
    fail.reason = "expected the server to close first (close 1002); the harness did | <script>alert(1)</script>".into();
    fail.observed = vec![];
    fail.expected = vec!["ok: []".into()];
    fail.close.remote_reason = Some("<img src=x onerror=alert(1)>".into());
    fail.findings = vec![common::masked_frame_finding("")];
    fail.causes = vec![
        wsconform_reports::Cause::WrongCloser,
        wsconform_reports::Cause::BrokeRule,
    ];
    let mut info = record("Hostile/1.0", "7.13.1", Outcome::Info);
    info.behavior = Some(Behavior::Informational);
    info.behavior_close = Some(BehaviorClose::Informational);
    let mut gone = record("Hostile/1.0", "9.1.1", Outcome::Unreachable);
    gone.behavior = None;
    gone.behavior_close = None;
    gone.reason = "target unreachable: connection refused by 127.0.0.1:9".into();
    let mut non_strict = record("Good Server", "6.4.3", Outcome::Pass);
    non_strict.behavior = Some(Behavior::NonStrict);
    run_report(
        &[
            ("Good Server", "ws://127.0.0.1:9001/"),
            ("Hostile/1.0", "ws://127.0.0.1:9002/"),
        ],
        vec![
            record("Good Server", "1.1.1", Outcome::Pass),
            non_strict,
            record("Hostile/1.0", "1.1.1", Outcome::Pass),
            fail,
            info,
            gone,
        ],
    )
}

#[test]
fn report_json() {
    let run = fixture();
    let text = serde_json::to_string_pretty(&run).expect("json");
    insta::assert_snapshot!("report.json", text);
    let back: RunReport = serde_json::from_str(&text).expect("round trip");
    assert_eq!(back, run);
}

#[test]
fn junit_xml() {
    insta::assert_snapshot!("junit.xml", junit::render(&fixture()));
}

#[test]
fn summary_md() {
    insta::assert_snapshot!("summary.md", markdown::render(&fixture()));
}

#[test]
fn autobahn_index_and_case_files() {
    let files = autobahn::files(&fixture());
    let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
    // The unreachable case is absent, as a missing case is in Autobahn's files.
    assert_eq!(
        names,
        [
            "index.json",
            "good_server_case_1_1_1.json",
            "good_server_case_6_4_3.json",
            "hostile_1_0_case_1_1_1.json",
            "hostile_1_0_case_4_1_1.json",
            "hostile_1_0_case_7_13_1.json",
        ]
    );
    insta::assert_snapshot!("autobahn-index.json", &files[0].1);
    insta::assert_snapshot!("autobahn-case.json", &files[4].1);
}
