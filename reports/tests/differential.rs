//! Differential runs: where targets that got the same bytes behaved differently, in
//! report.json and in the HTML report.

mod common;

use common::{record, run_report};
use wsconform_reports::Outcome;
use wsconform_reports::differential::{Aspect, compute};

#[test]
fn the_aspects_that_differ_are_listed_with_each_targets_value() {
    let mut b1 = record("b", "1.1", Outcome::Pass);
    b1.close.remote_code = Some(1002);
    b1.close.closed_by_harness = false;
    b1.observed = vec!["".into()];
    let mut b3 = record("b", "3.1", Outcome::NotRun);
    b3.behavior = None;
    let records = vec![
        record("a", "1.1", Outcome::Pass),
        b1,
        record("a", "2.1", Outcome::Pass),
        record("b", "2.1", Outcome::Pass),
        record("a", "3.1", Outcome::Pass),
        b3,
    ];
    let d = compute(&records, &["a".into(), "b".into()]);
    // 3.1 did not run on b: nothing to compare.
    assert_eq!(d.compared, 2);
    assert_eq!(d.not_compared, ["3.1"]);
    assert_eq!(d.cases.len(), 1);
    let case = &d.cases[0];
    assert_eq!(case.id, "1.1");
    let aspects: Vec<Aspect> = case.aspects.iter().map(|a| a.aspect).collect();
    assert_eq!(
        aspects,
        [Aspect::Messages, Aspect::CloseCode, Aspect::ClosedBy]
    );
    assert_eq!(case.aspects[1].values, ["1000", "1002"]);
    assert_eq!(case.aspects[2].values, ["harness", "target"]);
    assert_eq!(case.names(), "messages, close code, closed by");

    // In report.json, and in the HTML report: a diff column and a Differences table.
    let mut run = run_report(&[("a", "ws://a/"), ("b", "ws://b/")], records);
    run.differential = Some(d);
    let json = serde_json::to_value(&run).unwrap();
    assert_eq!(
        json["differential"]["cases"][0]["aspects"][1]["aspect"],
        "close-code"
    );
    let html = wsconform_reports::html::render(&run);
    assert!(html.contains("<th class=\"diff\">diff</th>"), "{html}");
    assert!(html.contains("data-diff=\"messages, close code, closed by\""));
    assert!(html.contains("<td class=\"diff same\" data-diff=\"\">same</td>"));
    assert!(html.contains("id=\"diff-table\""));
    assert!(html.contains("<td class=\"mono\">1002</td>"));
    assert!(html.contains("not run by every target: not compared"));
    // Without a differential, no diff column.
    run.differential = None;
    assert!(!wsconform_reports::html::render(&run).contains("class=\"diff"));
}
