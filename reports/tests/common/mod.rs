//! The fixtures the renderer tests share: fixed times and durations, so snapshots are stable.

#![allow(dead_code)]

use std::collections::BTreeMap;

use wsconform_reports::{
    Behavior, BehaviorClose, CaseRecord, CloseRecord, Outcome, RunReport, TargetInfo,
};

/// A run of `targets` (name, URL) with `cases`, at a fixed time, default policy, 32 jobs.
pub fn run_report(targets: &[(&str, &str)], cases: Vec<CaseRecord>) -> RunReport {
    RunReport {
        schema: wsconform_reports::SCHEMA,
        tool: "wsconform".into(),
        tool_version: "0.1.0".into(),
        case_set: "core-301".into(),
        started: "2026-11-25T12:00:00.000Z".into(),
        finished: "2026-11-25T12:00:04.000Z".into(),
        policy: "default".into(),
        options: BTreeMap::from([("jobs".into(), "32".into())]),
        targets: targets
            .iter()
            .map(|(name, url)| TargetInfo {
                name: (*name).into(),
                url: (*url).into(),
            })
            .collect(),
        cases,
        shard: None,
        differential: None,
    }
}

/// A passing case of `target`, with a text echo and a clean close 1000.
pub fn record(target: &str, id: &str, outcome: Outcome) -> CaseRecord {
    CaseRecord {
        target: target.into(),
        id: id.into(),
        title: format!("Case {id}"),
        rfc: "rfc6455#section-5.2".into(),
        outcome,
        reason: "[text(\"Hello\")] as expected; server answered close 1000".into(),
        causes: vec![wsconform_reports::Cause::AsExpected],
        behavior: Some(Behavior::Ok),
        behavior_close: Some(BehaviorClose::Ok),
        expected: vec!["ok: [text(\"Hello\")]".into()],
        observed: vec!["text(\"Hello\")".into()],
        close: CloseRecord {
            closed_by_harness: true,
            was_clean: true,
            local_code: Some(1000),
            local_reason: Some(String::new()),
            remote_code: Some(1000),
            remote_reason: Some(String::new()),
            transport: "peer closed TCP (FIN)".into(),
            ..CloseRecord::default()
        },
        findings: Vec::new(),
        started: "2026-11-25T12:00:00.000Z".into(),
        duration_ms: 3,
        timing_dependent: None,
        deviation: None,
        http_request: None,
        http_response: None,
        trace: Vec::new(),
        trace_dropped: 0,
        tightens: Vec::new(),
    }
}

/// A masked-frame finding on the first frame, its message followed by `tail`.
pub fn masked_frame_finding(tail: &str) -> wsconform_reports::Finding {
    wsconform_reports::Finding {
        code: "masked-server-frame".into(),
        rfc: Some("rfc6455#section-5.1".into()),
        offset: Some(0),
        frame: Some(0),
        frame_index: Some(0),
        message: format!("masked frame from a server (RFC 6455 §5.1) (byte 0){tail}"),
        cause: None,
    }
}
