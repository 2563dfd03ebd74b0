//! Baselines: comparing a run's verdicts with expected results, case by case, durations
//! ignored.
//!
//! An expected-results file may be wsconform's own `report.json` or `results.jsonl`, or
//! Autobahn's `index.json` (so a project's existing golden file works as it is). A
//! **regression** is a case that fails now (under the run's policy) and did not fail in the
//! baseline, or fails now and is absent from it. A case that changed without failing is a
//! change, reported but not failing. Where both sides are wsconform's, the findings' codes are
//! compared too: the same verdicts with other codes is a change. Prose never is.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde_json::Value;

use crate::{Behavior, BehaviorClose, CaseRecord, Finding, Outcome, Policy, RunReport, outcome};

/// A case's two verdicts.
pub type Verdicts = (Option<Behavior>, Option<BehaviorClose>);

/// Expected verdicts: target → case id → verdicts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Baseline {
    /// The verdicts by target and case.
    pub targets: BTreeMap<String, BTreeMap<String, Verdicts>>,
    /// The findings' codes by target and case (wsconform's files only; Autobahn's have none).
    pub codes: BTreeMap<String, BTreeMap<String, BTreeSet<String>>>,
}

/// Why a baseline file could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BaselineError(pub String);

impl fmt::Display for BaselineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for BaselineError {}

fn verdict<T: serde::de::DeserializeOwned>(v: &Value) -> Option<T> {
    serde_json::from_value(v.clone()).ok()
}

impl Baseline {
    /// Parses any supported format, recognised by its shape.
    pub fn parse(text: &str) -> Result<Self, BaselineError> {
        let trimmed = text.trim_start();
        // results.jsonl: one record per line.
        if trimmed.starts_with('{') && trimmed.lines().count() > 1 {
            let first: Option<Value> = trimmed
                .lines()
                .next()
                .and_then(|l| serde_json::from_str(l).ok());
            if first
                .as_ref()
                .is_some_and(|v| v.get("id").is_some() && v.get("target").is_some())
            {
                let mut records = Vec::new();
                for (i, line) in trimmed
                    .lines()
                    .enumerate()
                    .filter(|(_, l)| !l.trim().is_empty())
                {
                    let r: CaseRecord = serde_json::from_str(line)
                        .map_err(|e| BaselineError(format!("line {}: {e}", i + 1)))?;
                    records.push(r);
                }
                return Ok(Self::from_records(&records));
            }
        }
        let value: Value = serde_json::from_str(text).map_err(|e| BaselineError(e.to_string()))?;
        if value.get("schema").is_some() && value.get("cases").is_some() {
            let run: RunReport = serde_json::from_value(value)
                .map_err(|e| BaselineError(format!("report.json: {e}")))?;
            return Ok(Self::from_records(&run.cases));
        }
        // Autobahn's index.json: agent → case id → {behavior, behaviorClose, …}.
        let agents = value.as_object().ok_or_else(|| {
            BaselineError("not a report.json, results.jsonl or Autobahn index.json".into())
        })?;
        let mut targets = BTreeMap::new();
        for (agent, cases) in agents {
            let cases = cases.as_object().ok_or_else(|| {
                BaselineError(format!(
                    "agent {agent:?}: expected an object of cases (Autobahn index.json)"
                ))
            })?;
            let mut map = BTreeMap::new();
            for (id, v) in cases {
                let b = verdict::<Behavior>(&v["behavior"]);
                let c = verdict::<BehaviorClose>(&v["behaviorClose"]);
                if b.is_none() {
                    return Err(BaselineError(format!("{agent} {id}: no valid `behavior`")));
                }
                map.insert(id.clone(), (b, c));
            }
            targets.insert(agent.clone(), map);
        }
        Ok(Baseline {
            targets,
            codes: BTreeMap::new(),
        })
    }

    /// The verdicts of `records`. A case that did not run (not run, unreachable) has none and
    /// is left out, so that against a baseline it shows as missing, never as fixed.
    pub fn from_records(records: &[CaseRecord]) -> Self {
        let mut targets: BTreeMap<String, BTreeMap<String, Verdicts>> = BTreeMap::new();
        let mut codes: BTreeMap<String, BTreeMap<String, BTreeSet<String>>> = BTreeMap::new();
        for r in records.iter().filter(|r| r.behavior.is_some()) {
            targets
                .entry(r.target.clone())
                .or_default()
                .insert(r.id.clone(), (r.behavior, r.behavior_close));
            // A schema-1 file's findings have no codes: nothing to compare.
            if !r.findings.iter().any(Finding::is_untyped) {
                codes.entry(r.target.clone()).or_default().insert(
                    r.id.clone(),
                    r.findings.iter().map(|f| f.code.clone()).collect(),
                );
            }
        }
        Baseline { targets, codes }
    }

    /// The findings' codes for `target`, matched as [`Baseline::for_target`] matches.
    fn codes_for(
        &self,
        target: &str,
        targets_in_run: usize,
    ) -> Option<&BTreeMap<String, BTreeSet<String>>> {
        self.codes.get(target).or_else(|| {
            (self.codes.len() == 1 && targets_in_run == 1)
                .then(|| self.codes.values().next())
                .flatten()
        })
    }

    /// The expected verdicts for `target`: its own, or, when both sides have a single target
    /// under different names (a golden file recorded under another agent name), that one.
    fn for_target(
        &self,
        target: &str,
        targets_in_run: usize,
    ) -> Option<&BTreeMap<String, Verdicts>> {
        self.targets.get(target).or_else(|| {
            (self.targets.len() == 1 && targets_in_run == 1)
                .then(|| self.targets.values().next())
                .flatten()
        })
    }
}

/// What happened to one case between the baseline and now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeKind {
    /// It fails now and did not fail before (or is new and fails).
    Regression,
    /// It failed before and does not now.
    Fixed,
    /// Its verdicts changed, without a change in failing.
    Changed,
    /// It is in the baseline but did not run.
    Missing,
}

/// One case that differs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// The target.
    pub target: String,
    /// The case id.
    pub id: String,
    /// The verdicts before (none: not in the baseline).
    pub before: Option<Verdicts>,
    /// The verdicts now (none: did not run).
    pub after: Option<Verdicts>,
    /// The kind of change.
    pub kind: ChangeKind,
    /// The findings' codes before and now, when they differ (both sides wsconform's).
    pub codes: Option<(BTreeSet<String>, BTreeSet<String>)>,
}

fn show(v: &Option<Verdicts>) -> String {
    match v {
        None => "absent".into(),
        Some((b, c)) => format!(
            "{}/{}",
            b.map_or("-", Behavior::as_str),
            c.map_or("-", BehaviorClose::as_str)
        ),
    }
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.kind {
            ChangeKind::Regression => "REGRESSION",
            ChangeKind::Fixed => "fixed",
            ChangeKind::Changed => "changed",
            ChangeKind::Missing => "missing",
        };
        write!(
            f,
            "{:<10} {} {}: {} -> {}",
            kind,
            self.target,
            self.id,
            show(&self.before),
            show(&self.after)
        )?;
        if let Some((before, after)) = &self.codes {
            let list = |s: &BTreeSet<String>| {
                if s.is_empty() {
                    "none".to_owned()
                } else {
                    s.iter().cloned().collect::<Vec<_>>().join(",")
                }
            };
            write!(f, " (findings {} -> {})", list(before), list(after))?;
        }
        Ok(())
    }
}

fn fails(policy: Policy, v: &Verdicts) -> bool {
    match v {
        (Some(b), Some(c)) => outcome(policy, *b, *c) == Outcome::Fail,
        (Some(b), None) => outcome(policy, *b, BehaviorClose::Ok) == Outcome::Fail,
        _ => false,
    }
}

/// Compares `now` with `baseline`, case by case; durations play no part.
pub fn compare(baseline: &Baseline, now: &Baseline, policy: Policy) -> Vec<Change> {
    let mut changes = Vec::new();
    let runs = now.targets.len();
    for (target, cases) in &now.targets {
        let before_cases = baseline.for_target(target, runs);
        let before_codes = baseline.codes_for(target, runs);
        for (id, after) in cases {
            let before = before_cases.and_then(|m| m.get(id)).copied();
            let codes = match (
                before_codes.and_then(|m| m.get(id)),
                now.codes.get(target).and_then(|m| m.get(id)),
            ) {
                (Some(b), Some(a)) if a != b => Some((b.clone(), a.clone())),
                _ => None,
            };
            if before == Some(*after) && codes.is_none() {
                continue;
            }
            let kind = match (before.map(|b| fails(policy, &b)), fails(policy, after)) {
                (None, true) | (Some(false), true) => ChangeKind::Regression,
                (Some(true), false) => ChangeKind::Fixed,
                _ => ChangeKind::Changed,
            };
            changes.push(Change {
                target: target.clone(),
                id: id.clone(),
                before,
                after: Some(*after),
                kind,
                codes,
            });
        }
        if let Some(before_cases) = before_cases {
            for (id, before) in before_cases {
                if !cases.contains_key(id) {
                    changes.push(Change {
                        target: target.clone(),
                        id: id.clone(),
                        before: Some(*before),
                        after: None,
                        kind: ChangeKind::Missing,
                        codes: None,
                    });
                }
            }
        }
    }
    changes
}

#[cfg(test)]
mod tests {
    use super::*;

    const INDEX: &str = r#"{
   "Tungstenite": {
      "1.1.1": {"behavior": "OK", "behaviorClose": "OK", "duration": 2, "remoteCloseCode": 1000, "reportfile": "x"},
      "2.10": {"behavior": "FAILED", "behaviorClose": "OK", "duration": 9, "remoteCloseCode": 1000, "reportfile": "y"},
      "6.4.3": {"behavior": "NON-STRICT", "behaviorClose": "OK", "duration": 2000, "remoteCloseCode": 1007, "reportfile": "z"}
   }
}"#;

    fn now(entries: &[(&str, Behavior, BehaviorClose)]) -> Baseline {
        let mut map = BTreeMap::new();
        for (id, b, c) in entries {
            map.insert((*id).to_owned(), (Some(*b), Some(*c)));
        }
        Baseline {
            targets: BTreeMap::from([("mine".to_owned(), map)]),
            codes: BTreeMap::new(),
        }
    }

    #[test]
    fn same_verdicts_with_other_finding_codes_is_a_change_and_prose_is_not() {
        let record = |code: Option<&str>, message: &str| {
            let mut r: CaseRecord = serde_json::from_str(RECORD).expect("record");
            r.reason = message.to_owned();
            r.findings = code
                .into_iter()
                .map(|c| crate::Finding {
                    code: c.to_owned(),
                    rfc: None,
                    offset: Some(0),
                    frame: Some(0),
                    frame_index: Some(0),
                    message: message.to_owned(),
                    cause: None,
                })
                .collect();
            r
        };
        let base = Baseline::from_records(&[record(Some("reserved-bits"), "old words")]);
        let reworded = Baseline::from_records(&[record(Some("reserved-bits"), "new words")]);
        assert_eq!(compare(&base, &reworded, Policy::Default), []);
        let other = Baseline::from_records(&[record(Some("masked-server-frame"), "old words")]);
        let changes = compare(&base, &other, Policy::Default);
        assert_eq!(changes.len(), 1);
        assert_eq!(changes[0].kind, ChangeKind::Changed);
        assert!(
            changes[0]
                .to_string()
                .ends_with("(findings reserved-bits -> masked-server-frame)"),
            "{}",
            changes[0]
        );
        // Against Autobahn's index.json there are no codes to compare.
        let index = Baseline::parse(INDEX).expect("valid");
        assert!(index.codes.is_empty());
        // A schema-1 line (findings as text) still loads, with verdicts and no codes.
        let old = RECORD
            .replace(
                r#""findings": []"#,
                r#""findings": ["masked frame from a server (RFC 6455 §5.1) (byte 0)"]"#,
            )
            .replace('\n', " ");
        let base = Baseline::parse(&format!("{old}\n{old}")).expect("a schema-1 baseline loads");
        assert_eq!(base.targets["mine"].len(), 1);
        assert!(base.codes.is_empty());
        assert_eq!(compare(&base, &other, Policy::Default), []);
    }

    const RECORD: &str = r#"{"target": "mine", "id": "1.1.1", "title": "t", "rfc": "r",
        "outcome": "pass", "reason": "", "behavior": "OK", "behavior_close": "OK",
        "expected": [], "observed": [], "close": {"closed_by_harness": true,
        "failed_by_harness": false, "dropped_by_harness": false, "was_clean": true,
        "local_code": 1000, "local_reason": "", "remote_code": 1000, "remote_reason": "",
        "transport": "x", "close_handshake_timeout": false, "server_drop_timeout": false},
        "findings": [], "started": "s", "duration_ms": 1, "timing_dependent": null,
        "deviation": null}"#;

    #[test]
    fn reads_autobahn_index_json_and_ignores_durations() {
        let base = Baseline::parse(INDEX).expect("valid");
        let same = now(&[
            ("1.1.1", Behavior::Ok, BehaviorClose::Ok),
            ("2.10", Behavior::Failed, BehaviorClose::Ok),
            ("6.4.3", Behavior::NonStrict, BehaviorClose::Ok),
        ]);
        // One target on each side, different names: matched anyway.
        assert_eq!(compare(&base, &same, Policy::Default), []);
    }

    #[test]
    fn regressions_fixes_changes_and_missing_cases() {
        let base = Baseline::parse(INDEX).expect("valid");
        let after = now(&[
            ("1.1.1", Behavior::Failed, BehaviorClose::Ok),
            ("2.10", Behavior::Ok, BehaviorClose::Ok),
            ("9.1.1", Behavior::Failed, BehaviorClose::Ok),
        ]);
        let changes = compare(&base, &after, Policy::Default);
        let kinds: Vec<(&str, ChangeKind)> =
            changes.iter().map(|c| (c.id.as_str(), c.kind)).collect();
        assert_eq!(
            kinds,
            [
                ("1.1.1", ChangeKind::Regression),
                ("2.10", ChangeKind::Fixed),
                ("9.1.1", ChangeKind::Regression),
                ("6.4.3", ChangeKind::Missing),
            ]
        );
        assert_eq!(
            changes[0].to_string(),
            "REGRESSION mine 1.1.1: OK/OK -> FAILED/OK"
        );
        // A known failure that stays failing is no regression.
        let still = now(&[("2.10", Behavior::Failed, BehaviorClose::Ok)]);
        assert!(
            compare(&base, &still, Policy::Default)
                .iter()
                .all(|c| c.kind != ChangeKind::Regression)
        );
        // Under the strict policy NON-STRICT fails: a new NON-STRICT is a regression.
        let ns = now(&[("1.1.1", Behavior::NonStrict, BehaviorClose::Ok)]);
        assert_eq!(
            compare(&base, &ns, Policy::Strict)[0].kind,
            ChangeKind::Regression
        );
        assert_eq!(
            compare(&base, &ns, Policy::Default)[0].kind,
            ChangeKind::Changed
        );
    }

    #[test]
    fn rejects_other_json() {
        assert!(Baseline::parse("[1, 2]").is_err());
        assert!(Baseline::parse(r#"{"a": {"1.1.1": {"behavior": "MAYBE"}}}"#).is_err());
        assert!(Baseline::parse("not json").is_err());
    }
}
