//! What a run writes: `results.jsonl` as each case finishes, the progress bar, and the
//! terminal summary.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use wsconform_reports::{CaseRecord, Outcome};

/// Appends one JSON line per case and flushes it at once, so results survive a crash.
pub struct JsonLines {
    path: PathBuf,
    out: BufWriter<File>,
}

impl JsonLines {
    /// Creates (truncates) `dir/results.jsonl`, creating `dir`.
    pub fn create(dir: &Path) -> anyhow::Result<Self> {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create the output directory {}", dir.display()))?;
        let path = dir.join("results.jsonl");
        let file =
            File::create(&path).with_context(|| format!("cannot write {}", path.display()))?;
        Ok(Self {
            path,
            out: BufWriter::new(file),
        })
    }

    /// `dir/results.jsonl` holding exactly `records` (a resumed run's), then appended to. The
    /// records are written aside and renamed over the file, so a kill at any moment leaves
    /// either the old file or the new one, never less.
    pub fn resume(dir: &Path, records: &[CaseRecord]) -> anyhow::Result<Self> {
        let path = dir.join("results.jsonl");
        let partial = dir.join("results.jsonl.partial");
        let mut text = Vec::new();
        for record in records {
            serde_json::to_writer(&mut text, record)?;
            text.push(b'\n');
        }
        std::fs::write(&partial, text)
            .and_then(|()| std::fs::rename(&partial, &path))
            .with_context(|| format!("cannot write {}", path.display()))?;
        let file = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .with_context(|| format!("cannot write {}", path.display()))?;
        Ok(Self {
            path,
            out: BufWriter::new(file),
        })
    }

    /// Writes one record.
    pub fn write(&mut self, record: &CaseRecord) -> anyhow::Result<()> {
        serde_json::to_writer(&mut self.out, record)?;
        self.out.write_all(b"\n")?;
        self.out
            .flush()
            .with_context(|| format!("cannot write {}", self.path.display()))
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// A progress bar on stderr: hidden when stderr is not a terminal.
pub fn progress(total: usize) -> ProgressBar {
    let bar = ProgressBar::new(total as u64);
    bar.set_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar
}

/// Counts per verdict and every failure with its reason.
pub fn summary(records: &[CaseRecord]) -> String {
    let mut out = String::new();
    let mut by_target: BTreeMap<&str, Vec<&CaseRecord>> = BTreeMap::new();
    for r in records {
        by_target.entry(&r.target).or_default().push(r);
    }
    for (target, recs) in by_target {
        let count = |o: Outcome| recs.iter().filter(|r| r.outcome == o).count();
        out.push_str(&format!(
            "{target}: {} cases — {} pass, {} fail, {} info, {} not run, {} unreachable\n",
            recs.len(),
            count(Outcome::Pass),
            count(Outcome::Fail),
            count(Outcome::Info),
            count(Outcome::NotRun),
            count(Outcome::Unreachable),
        ));
        let mut behaviors: BTreeMap<&str, usize> = BTreeMap::new();
        let mut closes: BTreeMap<&str, usize> = BTreeMap::new();
        for r in &recs {
            if let Some(b) = r.behavior {
                *behaviors.entry(b.as_str()).or_default() += 1;
            }
            if let Some(c) = r.behavior_close {
                *closes.entry(c.as_str()).or_default() += 1;
            }
        }
        let join = |m: &BTreeMap<&str, usize>| {
            m.iter()
                .map(|(k, v)| format!("{k} {v}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        out.push_str(&format!("  behavior:      {}\n", join(&behaviors)));
        out.push_str(&format!("  behaviorClose: {}\n", join(&closes)));
        let mut failures: Vec<&&CaseRecord> =
            recs.iter().filter(|r| r.outcome == Outcome::Fail).collect();
        failures.sort_by(|a, b| wsconform::cases::compare_ids(&a.id, &b.id));
        for r in failures {
            out.push_str(&format!("  FAIL {:<8} {}\n", r.id, r.reason));
        }
        let not_run: Vec<&str> = recs
            .iter()
            .filter(|r| r.outcome == Outcome::NotRun)
            .map(|r| r.id.as_str())
            .collect();
        if !not_run.is_empty() {
            out.push_str(&format!(
                "  NOT RUN {}: see their reasons (most need a --param; `wsconform cases` shows which)\n",
                not_run.join(" ")
            ));
        }
        let unreachable = recs
            .iter()
            .filter(|r| r.outcome == Outcome::Unreachable)
            .count();
        if unreachable > 0 {
            out.push_str(&format!(
                "  {unreachable} case(s) not run: the target became unreachable\n"
            ));
        }
    }
    out
}

/// Writes the files made from the whole run: `index.html`, `report.json`, `junit.xml`,
/// `summary.md`, and the Autobahn layout (`index.json` and one file per case) in
/// `autobahn_dir`.
pub fn write_reports(
    dir: &Path,
    autobahn_dir: &Path,
    run: &wsconform_reports::RunReport,
) -> anyhow::Result<()> {
    let write = |path: PathBuf, text: &str| -> anyhow::Result<()> {
        std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))
    };
    let json = serde_json::to_string_pretty(run)?;
    write(dir.join("report.json"), &json)?;
    write(
        dir.join("junit.xml"),
        &wsconform_reports::junit::render(run),
    )?;
    write(
        dir.join("summary.md"),
        &wsconform_reports::markdown::render(run),
    )?;
    write(
        dir.join("index.html"),
        &wsconform_reports::html::render(run),
    )?;
    std::fs::create_dir_all(autobahn_dir)
        .with_context(|| format!("cannot create {}", autobahn_dir.display()))?;
    for (name, text) in wsconform_reports::autobahn::files(run) {
        write(autobahn_dir.join(name), &text)?;
    }
    Ok(())
}
