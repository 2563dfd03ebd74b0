//! Autobahn's report format (`autobahn-cases.md` §3.7, §5.1, §5.2), so that scripts written for
//! Autobahn read wsconform's results unchanged: `index.json` and one `<agent>_case_<id>.json`
//! per case.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{Value, json};

use crate::{Behavior, BehaviorClose, CaseRecord, RunReport};

/// Autobahn's file-name form of an agent: lower-cased, every character other than `a–z 0–9`
/// turned into a space, ends trimmed, remaining spaces turned into `_`.
pub fn agent_file_name(agent: &str) -> String {
    let spaced: String = agent
        .to_lowercase()
        .chars()
        .map(|c| {
            if c.is_ascii_lowercase() || c.is_ascii_digit() {
                c
            } else {
                ' '
            }
        })
        .collect();
    spaced.trim().replace(' ', "_")
}

/// `<agent>_case_<id with dots as underscores>.json`.
pub fn case_file_name(agent: &str, id: &str) -> String {
    format!(
        "{}_case_{}.json",
        agent_file_name(agent),
        id.replace('.', "_")
    )
}

/// JSON with Autobahn's layout: keys sorted, an indent of 3 spaces.
fn to_autobahn_json(value: &Value) -> String {
    let mut out = Vec::new();
    let formatter = serde_json::ser::PrettyFormatter::with_indent(b"   ");
    let mut ser = serde_json::Serializer::with_formatter(&mut out, formatter);
    // serde_json's Map is a BTreeMap without the preserve_order feature: keys come sorted.
    value.serialize(&mut ser).expect("a JSON value serialises");
    String::from_utf8(out).expect("serde_json writes UTF-8")
}

fn name<T: Serialize>(v: &T) -> Value {
    serde_json::to_value(v).unwrap_or(Value::Null)
}

/// A case that did not run (unreachable, or not run for want of a `--param`) has no
/// verdicts; Autobahn shows such a case as missing, so it is left out of its files (a consumer
/// that counts UNIMPLEMENTED as a pass would otherwise pass it).
fn ran(record: &CaseRecord) -> bool {
    record.behavior.is_some()
}

/// `index.json`: agent → case id → the verdicts, the duration, the close code and the file.
pub fn index_json(run: &RunReport) -> String {
    let mut index: BTreeMap<String, BTreeMap<String, Value>> = BTreeMap::new();
    for r in run.cases.iter().filter(|r| ran(r)) {
        index.entry(r.target.clone()).or_default().insert(
            r.id.clone(),
            json!({
                "behavior": name(&r.behavior.unwrap_or(Behavior::Failed)),
                "behaviorClose": name(&r.behavior_close.unwrap_or(BehaviorClose::Failed)),
                "duration": r.duration_ms,
                "remoteCloseCode": r.close.remote_code,
                "reportfile": case_file_name(&r.target, &r.id),
            }),
        );
    }
    to_autobahn_json(&name(&index))
}

/// One case's `<agent>_case_<id>.json`, with Autobahn's field set. Fields wsconform has no
/// counterpart for carry Autobahn's empty values.
pub fn case_json(record: &CaseRecord, number: usize) -> String {
    let r = record;
    let c = &r.close;
    let value = json!({
        "agent": r.target,
        "behavior": name(&r.behavior.unwrap_or(Behavior::Failed)),
        "behaviorClose": name(&r.behavior_close.unwrap_or(BehaviorClose::Failed)),
        "case": number,
        "closedByMe": c.closed_by_harness,
        "createStats": false,
        "createWirelog": false,
        "description": r.title,
        "droppedByMe": c.dropped_by_harness,
        "duration": r.duration_ms,
        "expectation": r.expected.join("; "),
        "expected": r.expected,
        "expectedClose": {},
        "failedByMe": c.failed_by_harness,
        "httpRequest": r.http_request.as_deref().unwrap_or("?"),
        "httpResponse": r.http_response.as_deref().unwrap_or("?"),
        "id": r.id,
        "isServer": false,
        "localCloseCode": c.local_code,
        "localCloseReason": c.local_reason,
        "received": r.observed,
        "remoteCloseCode": c.remote_code,
        "remoteCloseReason": c.remote_reason,
        "reportCompressionRatio": false,
        "reportTime": r.id.starts_with("9."),
        "result": r.reason,
        "resultClose": r.reason,
        "rxFrameStats": {},
        "rxOctetStats": {},
        "started": r.started,
        "trafficStats": null,
        "txFrameStats": {},
        "txOctetStats": {},
        "wasClean": c.was_clean,
        "wasCloseHandshakeTimeout": c.close_handshake_timeout,
        "wasNotCleanReason": if c.was_clean { Value::Null } else { Value::String(c.transport.clone()) },
        "wasOpenHandshakeTimeout": false,
        "wasServerConnectionDropTimeout": c.server_drop_timeout,
        "wirelog": [],
    });
    to_autobahn_json(&value)
}

/// Every file of the Autobahn layout: (file name, contents), `index.json` first.
pub fn files(run: &RunReport) -> Vec<(String, String)> {
    let mut out = vec![("index.json".to_owned(), index_json(run))];
    for target in &run.targets {
        for (i, r) in run.cases_of(&target.name).filter(|r| ran(r)).enumerate() {
            out.push((case_file_name(&r.target, &r.id), case_json(r, i + 1)));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agent_file_names_follow_autobahn() {
        assert_eq!(
            agent_file_name("AutobahnPython/0.10.9"),
            "autobahnpython_0_10_9"
        );
        assert_eq!(
            case_file_name("AutobahnPython/0.10.9", "6.4.3"),
            "autobahnpython_0_10_9_case_6_4_3.json"
        );
        assert_eq!(agent_file_name("  Tungstenite  "), "tungstenite");
        assert_eq!(agent_file_name("a  b"), "a__b");
    }
}
