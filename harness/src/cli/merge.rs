//! `wsconform merge DIR…`: the parts of a sharded run (`run --shard I/N`) as one report.
//!
//! Each part's report.json says what it is: the tool version, the case set, the targets and,
//! for a shard, the whole selection it is a part of. Parts that disagree on any of these are
//! refused with one line (exit 2), and so is a case recorded by two parts. The merged report
//! is what one unsharded run writes; cases of the selection no part ran are listed, the report
//! is written anyway, and the exit code is 1.

use std::collections::BTreeSet;
use std::path::Path;

use anyhow::{Context, anyhow};
use wsconform::cases::compare_ids;
use wsconform_reports::{CaseRecord, Outcome, RunReport};

use super::args::MergeArgs;
use super::output::{JsonLines, summary, write_reports};
use super::{EXIT_FAILED, EXIT_USAGE, Failure, fail};

fn load(dir: &Path) -> Result<RunReport, Failure> {
    let path = dir.join("report.json");
    let text = std::fs::read_to_string(&path)
        .map_err(|e| fail(EXIT_USAGE, anyhow!("cannot read {}: {e}", path.display())))?;
    serde_json::from_str(&text).map_err(|e| {
        fail(
            EXIT_USAGE,
            anyhow!("{} is not a wsconform report.json: {e}", path.display()),
        )
    })
}

pub fn merge(args: MergeArgs) -> Result<u8, Failure> {
    let mut parts = Vec::new();
    for dir in &args.dirs {
        parts.push((dir, load(dir)?));
    }
    let Some((first_dir, first)) = parts.first() else {
        return Err(fail(
            EXIT_USAGE,
            anyhow!("merge needs at least one directory"),
        ));
    };
    let selection = first.shard.as_ref().map(|s| s.selection.clone());
    let mut indices = BTreeSet::new();
    for (dir, part) in &parts {
        let differs = |what: &str, a: &str, b: &str| {
            fail(
                EXIT_USAGE,
                anyhow!(
                    "{} and {} are parts of different runs: {what} {a:?} and {b:?}",
                    first_dir.display(),
                    dir.display()
                ),
            )
        };
        if part.tool_version != first.tool_version {
            return Err(differs(
                "wsconform versions",
                &first.tool_version,
                &part.tool_version,
            ));
        }
        if part.case_set != first.case_set {
            return Err(differs("case sets", &first.case_set, &part.case_set));
        }
        let names = |r: &RunReport| {
            r.targets
                .iter()
                .map(|t| format!("{}={}", t.name, t.url))
                .collect::<Vec<_>>()
                .join(" ")
        };
        if names(part) != names(first) {
            return Err(differs("targets", &names(first), &names(part)));
        }
        if part.shard.as_ref().map(|s| &s.selection) != selection.as_ref() {
            let what = |r: &RunReport| match &r.shard {
                Some(s) => format!("{} parts of {} cases", s.count, s.selection.len()),
                None => "not sharded".to_owned(),
            };
            return Err(differs("selections", &what(first), &what(part)));
        }
        if let Some(s) = &part.shard
            && !indices.insert((s.index, s.count))
        {
            return Err(fail(
                EXIT_USAGE,
                anyhow!(
                    "{} is shard {}/{} again; give each part once",
                    dir.display(),
                    s.index,
                    s.count
                ),
            ));
        }
    }
    let mut records: Vec<CaseRecord> = Vec::new();
    for (dir, part) in &parts {
        for record in &part.cases {
            if records
                .iter()
                .any(|r| r.target == record.target && r.id == record.id)
            {
                return Err(fail(
                    EXIT_USAGE,
                    anyhow!(
                        "{} records case {} of {} again: the parts overlap",
                        dir.display(),
                        record.id,
                        record.target
                    ),
                ));
            }
            records.push(record.clone());
        }
    }
    let order: Vec<String> = first.targets.iter().map(|t| t.name.clone()).collect();
    let rank = |name: &str| order.iter().position(|n| n == name).unwrap_or(usize::MAX);
    records.sort_by(|a, b| {
        rank(&a.target)
            .cmp(&rank(&b.target))
            .then_with(|| compare_ids(&a.id, &b.id))
    });
    // What no part ran: every selected case, for every target.
    let mut missing = Vec::new();
    let excluded = first
        .shard
        .as_ref()
        .map(|s| s.excluded.clone())
        .unwrap_or_default();
    if let Some(selection) = &selection {
        for target in &order {
            let left_out = excluded.get(target).map(Vec::as_slice).unwrap_or_default();
            for id in selection {
                if left_out
                    .iter()
                    .any(|p| wsconform::cases::matches_anchored(p, id))
                {
                    continue;
                }
                if !records.iter().any(|r| &r.target == target && &r.id == id) {
                    missing.push(format!("{target} {id}"));
                }
            }
        }
    }
    let mut options = first.options.clone();
    options.insert(
        "merged_from".into(),
        args.dirs
            .iter()
            .map(|d| d.display().to_string())
            .collect::<Vec<_>>()
            .join(" "),
    );
    let report = RunReport {
        started: parts
            .iter()
            .map(|(_, p)| p.started.clone())
            .min()
            .unwrap_or_default(),
        finished: parts
            .iter()
            .map(|(_, p)| p.finished.clone())
            .max()
            .unwrap_or_default(),
        options,
        cases: records.clone(),
        shard: None,
        // A differential run's parts: compared again over the whole.
        differential: first
            .differential
            .as_ref()
            .map(|_| wsconform_reports::differential::compute(&records, &order)),
        ..first.clone()
    };
    let mut jsonl = JsonLines::create(&args.out)?;
    for record in &records {
        jsonl.write(record)?;
    }
    let autobahn_dir = args.out.join("autobahn");
    write_reports(&args.out, &autobahn_dir, &report)
        .with_context(|| format!("cannot write the merged report in {}", args.out.display()))?;
    super::say(&summary(&records));
    super::say(&format!(
        "merged {} part(s) into {} (index.html, report.json, results.jsonl, junit.xml, summary.md; Autobahn's index.json in {})\n",
        parts.len(),
        args.out.display(),
        autobahn_dir.display()
    ));
    if !missing.is_empty() {
        let shown: Vec<&str> = missing.iter().take(20).map(String::as_str).collect();
        eprintln!(
            "wsconform merge: {} case(s) of the selection are in no part: {}{}",
            missing.len(),
            shown.join(", "),
            if missing.len() > shown.len() {
                ", …"
            } else {
                ""
            }
        );
        return Ok(EXIT_FAILED);
    }
    Ok(if records.iter().any(|r| r.outcome == Outcome::Fail) {
        EXIT_FAILED
    } else {
        0
    })
}
