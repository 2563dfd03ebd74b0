//! `run --resume`: the records a stopped run left in its results.jsonl, checked against the
//! run that continues it.
//!
//! results.jsonl gets one line per case as the case finishes, flushed, so a run killed even
//! with SIGKILL leaves every finished case and at most one partial last line (a write cut
//! short), which is dropped. A case that was in flight has no line, and runs again; so does a
//! case recorded as unreachable (it never ran).

use std::collections::BTreeSet;
use std::path::Path;

use anyhow::anyhow;
use wsconform::cases::Case;
use wsconform_reports::{CaseRecord, Outcome};

use super::{EXIT_USAGE, Failure, fail};

/// The finished records in `dir/results.jsonl`, for a run of `cases` against `targets` (their
/// names); none if there is no file. Records of another case or target refuse the resume.
pub fn load(dir: &Path, cases: &[Case], targets: &[String]) -> Result<Vec<CaseRecord>, Failure> {
    let path = dir.join("results.jsonl");
    let text = match std::fs::read(&path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => {
            return Err(fail(
                EXIT_USAGE,
                anyhow!("--resume: cannot read {}: {e}", path.display()),
            ));
        }
    };
    // Only complete lines: a kill can cut the last one short.
    let complete = text
        .iter()
        .rposition(|b| *b == b'\n')
        .map_or(&text[..0], |end| &text[..end]);
    let ids: BTreeSet<&str> = cases.iter().map(|c| c.id.as_str()).collect();
    let mut records: Vec<CaseRecord> = Vec::new();
    for (n, line) in complete.split(|b| *b == b'\n').enumerate() {
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let record: CaseRecord = serde_json::from_slice(line).map_err(|e| {
            fail(
                EXIT_USAGE,
                anyhow!(
                    "--resume: {} line {} is not a case record ({e})",
                    path.display(),
                    n + 1
                ),
            )
        })?;
        // The preflight's record (a run that ended there) and unreachable cases run again.
        if record.id == wsconform::runner::PROBE_ID || record.outcome == Outcome::Unreachable {
            continue;
        }
        if !targets.contains(&record.target) {
            return Err(fail(
                EXIT_USAGE,
                anyhow!(
                    "--resume: {} is from another target ({:?}, not {}); resume the same run, or use another --out",
                    path.display(),
                    record.target,
                    targets.join(", ")
                ),
            ));
        }
        if !ids.contains(record.id.as_str()) {
            return Err(fail(
                EXIT_USAGE,
                anyhow!(
                    "--resume: {} is from another selection (case {} is not selected); resume with the same cases, or use another --out",
                    path.display(),
                    record.id
                ),
            ));
        }
        // A case recorded twice keeps its last record.
        records.retain(|r| !(r.target == record.target && r.id == record.id));
        records.push(record);
    }
    Ok(records)
}
