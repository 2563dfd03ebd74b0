//! `junit.xml`: one testsuite per target, one testcase per case. A failure carries the reason
//! as its message and the expected and observed events as its text.

use std::time::Duration;

use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};

use crate::{Outcome, RunReport};

/// Renders the run as JUnit XML.
pub fn render(run: &RunReport) -> String {
    let mut report = Report::new("wsconform");
    for target in &run.targets {
        let mut suite = TestSuite::new(target.name.as_str());
        for r in run.cases_of(&target.name) {
            let details = format!(
                "{}\nexpected: {}\nobserved: [{}]\nclose: {}\nfindings: {}",
                r.reason,
                r.expected.join("; "),
                r.observed.join(", "),
                r.close.transport,
                if r.findings.is_empty() {
                    "none".into()
                } else {
                    r.findings
                        .iter()
                        .map(|f| format!("[{}] {}", f.code, f.message))
                        .collect::<Vec<_>>()
                        .join("; ")
                }
            );
            let status = match r.outcome {
                Outcome::Pass | Outcome::Info => TestCaseStatus::success(),
                Outcome::Fail => {
                    let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
                    s.set_message(r.reason.as_str());
                    s.set_type("conformance");
                    s.set_description(details.as_str());
                    s
                }
                Outcome::NotRun => {
                    let mut s = TestCaseStatus::skipped();
                    s.set_message(r.reason.as_str());
                    s
                }
                Outcome::Unreachable => {
                    let mut s = TestCaseStatus::non_success(NonSuccessKind::Error);
                    s.set_message(r.reason.as_str());
                    s.set_type("unreachable");
                    s
                }
            };
            let mut case = TestCase::new(format!("{} {}", r.id, r.title), status);
            let section = r.id.split('.').next().unwrap_or_default();
            case.set_classname(format!("wsconform.section{section}"));
            case.set_time(Duration::from_millis(r.duration_ms));
            if r.outcome == Outcome::Info {
                case.set_system_out(format!("informational: {}", r.reason));
            }
            suite.add_test_case(case);
        }
        report.add_test_suite(suite);
    }
    report.to_string().unwrap_or_default()
}
