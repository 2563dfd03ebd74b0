//! `summary.md`: a short Markdown summary, fit for a CI step summary.

use std::fmt::Write;

use crate::{Outcome, RunReport};

/// Escapes text for a Markdown table cell.
fn cell(text: &str) -> String {
    text.replace('|', "\\|")
        .replace('\n', " ")
        .replace('<', "&lt;")
}

/// Renders the summary.
pub fn render(run: &RunReport) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# wsconform {}: {}", run.tool_version, run.case_set);
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "| target | cases | pass | fail | info | not run | unreachable |"
    );
    let _ = writeln!(out, "|---|---:|---:|---:|---:|---:|---:|");
    for t in &run.targets {
        let count = |o: Outcome| run.cases_of(&t.name).filter(|r| r.outcome == o).count();
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} |",
            cell(&t.name),
            run.cases_of(&t.name).count(),
            count(Outcome::Pass),
            count(Outcome::Fail),
            count(Outcome::Info),
            count(Outcome::NotRun),
            count(Outcome::Unreachable),
        );
    }
    let failures: Vec<_> = run
        .cases
        .iter()
        .filter(|r| r.outcome == Outcome::Fail)
        .collect();
    let _ = writeln!(out);
    if failures.is_empty() {
        let _ = writeln!(out, "No conformance failures (policy: {}).", run.policy);
    } else {
        let _ = writeln!(out, "## Failures (policy: {})", run.policy);
        let _ = writeln!(out);
        let _ = writeln!(out, "| target | case | RFC | reason |");
        let _ = writeln!(out, "|---|---|---|---|");
        for r in failures {
            let _ = writeln!(
                out,
                "| {} | {} | [{}]({}) | {} |",
                cell(&r.target),
                cell(&r.id),
                cell(&r.rfc),
                crate::rfc_url(&r.rfc),
                cell(&r.reason)
            );
        }
    }
    out
}
