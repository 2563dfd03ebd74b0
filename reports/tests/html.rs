//! The HTML report over a fixed run (fixed times and durations, as in `renderers.rs`): an insta
//! snapshot of the page with its constant CSS and JS left out, structural checks, and checks
//! that a hostile server's strings only ever appear escaped.

mod common;

use common::{record, run_report};

use wsconform_reports::{
    Behavior, BehaviorClose, CaseRecord, CloseRecord, Outcome, RunReport, TraceEntry, html,
};

const SCRIPT: &str = "<script>alert(1)</script>";
const BREAKOUT: &str = "\"><img src=x onerror=alert(1)>";
const HOSTILE_TARGET: &str = "Hostile'<b>1.0</b>";

fn entry(
    at_us: u64,
    direction: Option<&str>,
    kind: &str,
    text: &str,
    hex: Option<&str>,
) -> TraceEntry {
    TraceEntry {
        at_us,
        direction: direction.map(Into::into),
        kind: kind.into(),
        text: text.into(),
        hex: hex.map(Into::into),
        len: hex.map(|h| h.len() / 2),
        digest: None,
    }
}

/// A server that puts markup everywhere it can: reason, close reason, observed payloads,
/// handshake headers, trace text and hex, findings; and a target name with markup.
fn hostile() -> CaseRecord {
    let mut r = record(HOSTILE_TARGET, "4.1.1", Outcome::Fail);
    r.behavior = Some(Behavior::Failed);
    r.behavior_close = Some(BehaviorClose::WrongCode);
    r.rfc = "rfc6455#section-5.2\"><script>alert(1)</script>".into();
    r.reason = format!("expected []; got [text(\"{SCRIPT}\")] | {BREAKOUT}");
    r.expected = vec!["ok: []".into()];
    r.observed = vec![
        format!("text(\"{SCRIPT}\")"),
        format!("text(\"{BREAKOUT}\")"),
    ];
    r.close.closed_by_harness = false;
    r.close.remote_code = Some(1002);
    r.close.remote_reason = Some(BREAKOUT.into());
    r.close.local_reason = Some(SCRIPT.into());
    r.findings = vec![common::masked_frame_finding(&format!(" {SCRIPT}"))];
    r.timing_dependent = Some(format!("note {BREAKOUT}"));
    r.http_request = Some("GET / HTTP/1.1\r\nHost: 127.0.0.1:9002\r\n\r\n".into());
    r.http_response = Some(format!(
        "HTTP/1.1 101 Switching Protocols\r\nX-Evil: {SCRIPT}\r\nX-Break: {BREAKOUT}\r\n"
    ));
    r.trace = vec![
        entry(
            120,
            Some("tx"),
            "bytes",
            ">>     14 bytes  81 88 …",
            Some("8188000000003c62"),
        ),
        entry(
            1_500,
            Some("rx"),
            "frame",
            &format!("<< frame     TEXT  fin \"{SCRIPT}\""),
            Some("3c7363726970743e"),
        ),
        entry(
            2_250,
            Some("rx"),
            "violation",
            &format!("<< violation {BREAKOUT}"),
            Some(BREAKOUT),
        ),
        entry(3_000, None, "closed", "peer closed TCP (FIN)", None),
    ];
    r
}

fn fixture() -> RunReport {
    let mut info = record(HOSTILE_TARGET, "7.13.1", Outcome::Info);
    info.behavior = Some(Behavior::Informational);
    info.behavior_close = Some(BehaviorClose::Informational);
    let mut gone = record(HOSTILE_TARGET, "9.1.1", Outcome::Unreachable);
    gone.behavior = None;
    gone.behavior_close = None;
    gone.reason = "target unreachable: connection refused by 127.0.0.1:9".into();
    gone.close = CloseRecord::default();
    let mut non_strict = record("Good Server", "6.4.3", Outcome::Pass);
    non_strict.behavior = Some(Behavior::NonStrict);
    non_strict.deviation = Some("waits 1 s, not 2".into());
    let mut ping = record("Good Server", "2.10", Outcome::Pass);
    ping.rfc = "rfc6455#section-5.5.2".into();
    run_report(
        &[
            ("Good Server", "ws://127.0.0.1:9001/"),
            (HOSTILE_TARGET, "ws://127.0.0.1:9002/?a=1&b='2'"),
        ],
        vec![
            record("Good Server", "1.1.1", ping.outcome),
            ping,
            non_strict,
            record(HOSTILE_TARGET, "1.1.1", Outcome::Pass),
            hostile(),
            info,
            gone,
        ],
    )
}

/// The page without its constant stylesheet and script (reviewed in their own files).
fn structure(page: &str) -> String {
    let cut = |page: &str, open: &str, close: &str| -> String {
        let start = page.find(open).expect("open tag") + open.len();
        let end = start + page[start..].find(close).expect("close tag");
        format!("{}…{}", &page[..start], &page[end..])
    };
    cut(&cut(page, "<style>", "</style>"), "<script>", "</script>")
}

#[test]
fn html_structure() {
    insta::assert_snapshot!("index.html", structure(&html::render(&fixture())));
}

#[test]
fn hostile_strings_only_appear_escaped() {
    let page = html::render(&fixture());
    for raw in [
        SCRIPT,
        BREAKOUT,
        HOSTILE_TARGET,
        "<img",
        "<b>",
        "onerror=alert(1)>",
    ] {
        assert!(!page.contains(raw), "{raw:?} appears unescaped");
    }
    // One script element: the report's own.
    assert_eq!(page.matches("<script").count(), 1);
    assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(page.contains("&quot;&gt;&lt;img src=x onerror=alert(1)&gt;"));
    assert!(page.contains("Hostile&#39;&lt;b&gt;1.0&lt;/b&gt;"));
    // No attribute value is ever left open: every `"` the renderer writes is paired within a tag.
    let body = &page[page.find("<body>").expect("body")..page.find("<script>").expect("script")];
    for tag in body.split('<').skip(1) {
        let tag = tag.split('>').next().unwrap_or("");
        assert_eq!(
            tag.matches('"').count() % 2,
            0,
            "unbalanced quotes in <{tag}>"
        );
    }
}

#[test]
fn matrix_rows_cells_and_panels_agree() {
    let run = fixture();
    let page = html::render(&run);
    assert!(page.contains("<table id=\"matrix\">"));
    for hook in [
        "id=\"filter-outcome\"",
        "id=\"filter-section\"",
        "id=\"filter-text\"",
    ] {
        assert!(page.contains(hook), "{hook} missing");
    }
    // One row per distinct id, in numeric order.
    let rows: Vec<&str> = page
        .split("<tr data-id=\"")
        .skip(1)
        .map(|s| s.split('"').next().unwrap_or(""))
        .collect();
    assert_eq!(rows, ["1.1.1", "2.10", "4.1.1", "6.4.3", "7.13.1", "9.1.1"]);
    // One panel per record, and every cell links to an existing panel.
    assert_eq!(
        page.matches("<section class=\"case ").count(),
        run.cases.len()
    );
    let links: Vec<&str> = page
        .split("<a href=\"#case-")
        .skip(1)
        .map(|s| s.split('"').next().unwrap_or(""))
        .collect();
    assert!(links.len() >= run.cases.len());
    for link in links {
        assert!(
            page.contains(&format!("id=\"case-{link}\"")),
            "no panel for {link}"
        );
    }
    // Cells: one per target and id, a cell without a record is "none".
    assert_eq!(page.matches("<td class=\"cell ").count(), 6 * 2);
    assert_eq!(page.matches("data-outcome=\"none\"").count(), 5);
    assert!(page.contains("class=\"cell o-pass lenient\" data-outcome=\"pass\""));
    assert!(page.contains("class=\"cell o-fail\" data-outcome=\"fail\""));
    // The re-run command, with the URL quoted for a shell.
    assert!(page.contains(
        "wsconform run &#39;ws://127.0.0.1:9002/?a=1&amp;b=&#39;\\&#39;&#39;2&#39;\\&#39;&#39;&#39; --cases &#39;4.1.1&#39;"
    ));
    assert!(page.contains("wsconform run ws://127.0.0.1:9001/ --cases &#39;6.4.3&#39;"));
    // The RFC link keeps its prefix: a hostile anchor cannot leave the attribute.
    assert!(page.contains("href=\"https://www.rfc-editor.org/rfc/rfc6455#section-5.5.2\""));
}

#[test]
fn long_traces_are_cut_in_the_middle() {
    let mut run = fixture();
    let r = &mut run.cases[0];
    r.trace = (0..400)
        .map(|i| {
            entry(
                i,
                Some("rx"),
                "frame",
                &format!("<< frame     TEXT n{i}"),
                None,
            )
        })
        .collect();
    r.trace_dropped = 7;
    let page = html::render(&run);
    // The first 60 and the last 30.
    for shown in [0, 59, 370, 399] {
        assert!(
            page.contains(&format!("TEXT n{shown}<")),
            "n{shown} missing"
        );
    }
    for cut in [60, 200, 369] {
        assert!(!page.contains(&format!("TEXT n{cut}<")), "n{cut} shown");
    }
    assert!(page.contains("… 310 entries left out here"));
    assert!(page.contains("… 7 entries in all were not kept"));
    assert!(page.contains("Wire trace (407 entries)"));
}
