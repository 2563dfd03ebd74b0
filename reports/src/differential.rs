//! Differential runs (`wsconform run --differential`): the same bytes sent to several
//! targets, and, case by case, where their observable behaviour differs: the messages and
//! pongs they sent, their close code, who closed first, the timing class, and the verdict.
//! Computed from the records alone, so `report.json` carries it and every renderer can show
//! it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::CaseRecord;

/// One observable aspect of a case's run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Aspect {
    /// The messages and pongs the target sent, in order.
    Messages,
    /// The close code it sent (or that it sent an empty close, or none).
    CloseCode,
    /// Who sent the first close frame (or that the connection just ended).
    ClosedBy,
    /// The timing class: prompt, no close reply in time, TCP kept open, or ended by the
    /// harness's kill timer.
    Timing,
    /// The case's outcome.
    Outcome,
}

impl Aspect {
    /// Every aspect, in the order reports show them.
    pub const ALL: [Aspect; 5] = [
        Aspect::Messages,
        Aspect::CloseCode,
        Aspect::ClosedBy,
        Aspect::Timing,
        Aspect::Outcome,
    ];

    /// The name reports show (`close code`).
    pub fn name(self) -> &'static str {
        match self {
            Aspect::Messages => "messages",
            Aspect::CloseCode => "close code",
            Aspect::ClosedBy => "closed by",
            Aspect::Timing => "timing",
            Aspect::Outcome => "outcome",
        }
    }
}

/// What one target did in one case, aspect by aspect, as text.
pub fn behaviour(r: &CaseRecord) -> BTreeMap<Aspect, String> {
    let c = &r.close;
    let close_code = match (c.remote_code, &c.remote_reason) {
        (Some(code), _) => code.to_string(),
        (None, Some(_)) => "empty close".to_owned(),
        (None, None) => "no close frame".to_owned(),
    };
    let peer_closed = c.remote_code.is_some() || c.remote_reason.is_some();
    let closed_by = if c.closed_by_harness {
        "harness"
    } else if peer_closed {
        "target"
    } else if c.transport_code.starts_with("peer") {
        "target (TCP only)"
    } else {
        "nobody"
    };
    let killed = c.failed_by_harness && c.local_code == Some(1001);
    let timing = if c.close_handshake_timeout {
        "no close reply in time"
    } else if c.server_drop_timeout {
        "TCP kept open"
    } else if killed {
        "ended by the kill timer"
    } else {
        "prompt"
    };
    BTreeMap::from([
        (Aspect::Messages, without_durations(&r.observed.join("; "))),
        (Aspect::CloseCode, close_code),
        (Aspect::ClosedBy, closed_by.to_owned()),
        (Aspect::Timing, timing.to_owned()),
        (Aspect::Outcome, r.outcome.as_str().to_owned()),
    ])
}

/// `text` without the durations a handshake case's observation carries (`answered 400 Bad
/// Request after 0.02 s`): they vary from run to run, not from target to target.
fn without_durations(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find(" after ") {
        out.push_str(&rest[..i]);
        let tail = &rest[i + " after ".len()..];
        let number = tail
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(tail.len());
        if number > 0 && tail[number..].starts_with(" s") {
            rest = &tail[number + 2..];
        } else {
            out.push_str(" after ");
            rest = tail;
        }
    }
    out.push_str(rest);
    out
}

/// Where the targets of a differential run differ.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Differential {
    /// The targets compared, in order (each value list follows it).
    pub targets: Vec<String>,
    /// How many cases every target ran.
    pub compared: usize,
    /// The cases left out: some target did not run them (not run, unreachable, missing).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub not_compared: Vec<String>,
    /// The cases whose behaviour differs, in case order.
    pub cases: Vec<CaseDiff>,
}

/// One case whose targets behaved differently.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseDiff {
    /// The case id.
    pub id: String,
    /// The aspects that differ.
    pub aspects: Vec<AspectDiff>,
}

/// One aspect that differs, with each target's value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AspectDiff {
    /// Which.
    pub aspect: Aspect,
    /// Each target's value, in [`Differential::targets`] order.
    pub values: Vec<String>,
}

impl CaseDiff {
    /// The aspects, by name: `messages, close code`.
    pub fn names(&self) -> String {
        self.aspects
            .iter()
            .map(|a| a.aspect.name())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Compares `records` of `targets` case by case. A case that some target did not run (not
/// run, unreachable, or missing) is left out: nothing was observed to compare.
pub fn compute(records: &[CaseRecord], targets: &[String]) -> Differential {
    let mut by_id: BTreeMap<&str, Vec<Option<&CaseRecord>>> = BTreeMap::new();
    for r in records {
        let Some(i) = targets.iter().position(|t| *t == r.target) else {
            continue;
        };
        by_id
            .entry(&r.id)
            .or_insert_with(|| vec![None; targets.len()])[i] = Some(r);
    }
    let mut ids: Vec<&str> = by_id.keys().copied().collect();
    ids.sort_by(|a, b| crate::html::compare_ids(a, b));
    let mut compared = 0;
    let mut not_compared = Vec::new();
    let mut cases = Vec::new();
    for id in ids {
        let ran: Option<Vec<&CaseRecord>> = by_id[id]
            .iter()
            .map(|r| r.filter(|r| r.behavior.is_some()))
            .collect();
        let Some(ran) = ran else {
            not_compared.push(id.to_owned());
            continue;
        };
        compared += 1;
        let seen: Vec<BTreeMap<Aspect, String>> = ran.iter().map(|r| behaviour(r)).collect();
        let aspects: Vec<AspectDiff> = Aspect::ALL
            .iter()
            .filter_map(|a| {
                let values: Vec<String> = seen.iter().map(|s| s[a].clone()).collect();
                values
                    .iter()
                    .any(|v| *v != values[0])
                    .then_some(AspectDiff { aspect: *a, values })
            })
            .collect();
        if !aspects.is_empty() {
            cases.push(CaseDiff {
                id: id.to_owned(),
                aspects,
            });
        }
    }
    Differential {
        targets: targets.to_vec(),
        compared,
        not_compared,
        cases,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_do_not_count_as_a_difference() {
        assert_eq!(
            without_durations("answered 400 Bad Request after 0.02 s; after all"),
            "answered 400 Bad Request; after all"
        );
        assert_eq!(without_durations("text(\"a\")"), "text(\"a\")");
    }
}
