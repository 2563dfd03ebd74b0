//! A case's panel: what was expected and observed, the close handshake, the handshake texts,
//! the annotated wire trace and the command that re-runs the case.

use std::fmt::Write;

use super::{Target, classes, escape, panel_id, section_of, slug, verdicts};
use crate::{CaseRecord, Outcome, RunReport, TraceEntry};

/// The trace rows a panel shows: the first ones and the last ones (`report.json` has them all,
/// up to its own cap).
const TRACE_HEAD: usize = 60;
const TRACE_TAIL: usize = 30;
/// The bytes of hex a trace row shows.
const HEX_BYTES: usize = 256;

/// The name `wsconform run` gives the embedded echo server, which a re-run starts afresh.
const EMBEDDED: &str = "tokio-tungstenite-embedded";

/// Quotes a word for a POSIX shell.
fn sh_quote(word: &str, always: bool) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "_./:@%+=,-".contains(c);
    if !always && !word.is_empty() && word.chars().all(plain) {
        word.into()
    } else {
        format!("'{}'", word.replace('\'', "'\\''"))
    }
}

fn list(out: &mut String, items: &[String], empty: &str) {
    if items.is_empty() {
        let _ = writeln!(out, "<p class=\"meta\">{empty}</p>");
        return;
    }
    let _ = writeln!(out, "<ul>");
    for item in items {
        let _ = writeln!(out, "<li><code>{}</code></li>", escape(item));
    }
    let _ = writeln!(out, "</ul>");
}

pub(super) fn panel(out: &mut String, run: &RunReport, t: &Target, r: &CaseRecord) {
    let _ = writeln!(
        out,
        "<section class=\"case {}\" id=\"{}\" data-id=\"{}\" data-section=\"{}\" data-target=\"{}\" data-outcome=\"{}\" data-title=\"{}\" data-reason=\"{}\">",
        classes(r),
        panel_id(t, &r.id),
        escape(&r.id),
        escape(section_of(&r.id)),
        escape(&t.name),
        r.outcome.as_str(),
        escape(&r.title),
        escape(&r.reason)
    );
    let _ = writeln!(
        out,
        "<h3><a href=\"#{}\">{}</a> on {} <span class=\"badge {}\">{}</span> <span class=\"verdicts\">{}</span></h3>",
        panel_id(t, &r.id),
        escape(&r.id),
        escape(&t.name),
        classes(r),
        r.outcome.as_str(),
        escape(&verdicts(r))
    );
    let (doc, anchor) = r.rfc.split_once('#').unwrap_or((&r.rfc, ""));
    let label = match (doc.strip_prefix("rfc"), anchor.strip_prefix("section-")) {
        (Some(n), Some(s)) => format!("RFC {n} §{s}"),
        _ => r.rfc.clone(),
    };
    let _ = writeln!(
        out,
        "<p class=\"title\">{}</p>\n<p class=\"rfc\"><a href=\"{}\">{}</a></p>",
        escape(&r.title),
        escape(&crate::rfc_url(&r.rfc)),
        escape(&label)
    );
    let _ = writeln!(
        out,
        "<p class=\"reason\">{}</p>\n<div class=\"side\">\n<div class=\"expected\"><h4>Expected</h4>",
        escape(&r.reason)
    );
    list(out, &r.expected, "nothing recorded");
    let _ = writeln!(out, "</div>\n<div class=\"observed\"><h4>Observed</h4>");
    list(out, &r.observed, "no events");
    let _ = writeln!(out, "</div>\n</div>");
    // No table when nothing is known of a close: the case did not run, or the connection
    // never became a WebSocket (a refused handshake).
    if r.outcome != Outcome::Unreachable && r.close != crate::CloseRecord::default() {
        close(out, r);
    }
    if !r.findings.is_empty() {
        let _ = writeln!(out, "<h4>Findings</h4>\n<div class=\"findings\">");
        let lines: Vec<String> = r
            .findings
            .iter()
            .map(|f| format!("[{}] {}", f.code, f.message))
            .collect();
        list(out, &lines, "");
        let _ = writeln!(out, "</div>");
    }
    let tightens = (!r.tightens.is_empty()).then(|| {
        format!(
            "the RFC's own requirement, where Autobahn's {} {} lenient",
            r.tightens.join(", "),
            if r.tightens.len() == 1 { "is" } else { "are" }
        )
    });
    for (label, note) in [
        ("Timing-dependent", &r.timing_dependent),
        ("Deviation from Autobahn", &r.deviation),
        ("Strict companion", &tightens),
    ] {
        if let Some(note) = note {
            let _ = writeln!(
                out,
                "<p class=\"note\"><strong>{label}:</strong> {}</p>",
                escape(note)
            );
        }
    }
    if r.http_request.is_some() || r.http_response.is_some() {
        let _ = writeln!(
            out,
            "<details class=\"handshake\"><summary>Opening handshake</summary>\n<div class=\"side\">"
        );
        for (label, text) in [("request", &r.http_request), ("response", &r.http_response)] {
            let _ = writeln!(
                out,
                "<div><h4>{label}</h4><pre>{}</pre></div>",
                escape(text.as_deref().unwrap_or("(none)"))
            );
        }
        let _ = writeln!(out, "</div>\n</details>");
    }
    trace(out, r);
    let url = t.url.as_deref().filter(|_| t.name != EMBEDDED);
    let mut command = String::from("wsconform run");
    if let Some(url) = url {
        let _ = write!(command, " {}", sh_quote(url, false));
    }
    let _ = write!(command, " --cases {}", sh_quote(&r.id, true));
    // The facts the case may need (`--param`), as the run had them.
    for (key, value) in &run.options {
        if let Some(name) = key.strip_prefix("param.") {
            let _ = write!(
                command,
                " --param {}",
                sh_quote(&format!("{name}={value}"), false)
            );
        }
    }
    if run.policy == "strict" {
        command.push_str(" --strict");
    }
    let _ = writeln!(
        out,
        "<p class=\"rerun\">Re-run: <code>{}</code></p>\n<p class=\"meta\">started {}, {} ms</p>\n</section>",
        escape(&command),
        escape(&r.started),
        r.duration_ms
    );
}

fn close(out: &mut String, r: &CaseRecord) {
    let c = &r.close;
    let who = if c.failed_by_harness {
        "the harness (it failed the connection)"
    } else if c.closed_by_harness {
        "the harness"
    } else if c.remote_code.is_some() || c.remote_reason.is_some() || c.was_clean {
        "the server"
    } else {
        "nobody sent a close frame"
    };
    let sent = |code: Option<u16>, reason: &Option<String>| match (code, reason) {
        (Some(code), Some(reason)) => format!("{code} \u{201c}{reason}\u{201d}"),
        (Some(code), None) => code.to_string(),
        (None, _) => "no code".into(),
    };
    let _ = writeln!(out, "<h4>Close handshake</h4>\n<table class=\"close\">");
    let mut row = |k: &str, v: &str| {
        let _ = writeln!(out, "<tr><th>{k}</th><td>{}</td></tr>", escape(v));
    };
    row("first close by", who);
    row("harness sent", &sent(c.local_code, &c.local_reason));
    row("server sent", &sent(c.remote_code, &c.remote_reason));
    row("clean", if c.was_clean { "yes" } else { "no" });
    row("transport", &c.transport);
    let flags = [
        (c.dropped_by_harness, "the harness closed TCP"),
        (
            c.close_handshake_timeout,
            "no close reply within the close timeout",
        ),
        (
            c.server_drop_timeout,
            "the server did not close TCP within the drop timeout",
        ),
    ];
    let notes: Vec<&str> = flags.iter().filter(|f| f.0).map(|f| f.1).collect();
    if !notes.is_empty() {
        row("notes", &notes.join("; "));
    }
    let _ = writeln!(out, "</table>");
}

/// The decoded column: the entry's line without its direction arrows and kind.
fn decoded(e: &TraceEntry) -> String {
    let text = e.text.trim_start_matches(['>', '<', '-']).trim_start();
    if e.kind == "bytes"
        && let Some(n) = e.len
    {
        return format!("{n} bytes");
    }
    text.strip_prefix(e.kind.as_str())
        .unwrap_or(text)
        .trim()
        .to_owned()
}

/// Hex as spaced byte pairs, at most [`HEX_BYTES`] of them.
fn hex(e: &TraceEntry) -> String {
    let Some(hex) = &e.hex else {
        return String::new();
    };
    let chars: Vec<char> = hex.chars().collect();
    let shown: Vec<String> = chars
        .chunks(2)
        .take(HEX_BYTES)
        .map(|pair| pair.iter().collect())
        .collect();
    let mut out = shown.join(" ");
    let total = e.len.unwrap_or(chars.len() / 2);
    if total > shown.len() {
        let _ = write!(out, " … ({} of {total} bytes)", shown.len());
    }
    if let Some(digest) = &e.digest {
        let _ = write!(out, " [{digest}]");
    }
    out
}

fn trace(out: &mut String, r: &CaseRecord) {
    if r.trace.is_empty() {
        return;
    }
    let open = if r.outcome == Outcome::Fail {
        " open"
    } else {
        ""
    };
    let _ = writeln!(
        out,
        "<details class=\"trace\"{open}><summary>Wire trace ({} entries)</summary>\n<table class=\"trace\">\n<tr><th>ms</th><th>dir</th><th>kind</th><th>decoded</th><th>hex</th></tr>",
        r.trace.len() + r.trace_dropped
    );
    let n = r.trace.len();
    let skipped = n.saturating_sub(TRACE_HEAD + TRACE_TAIL);
    for (i, e) in r.trace.iter().enumerate() {
        if skipped > 0 && i == TRACE_HEAD {
            let _ = writeln!(
                out,
                "<tr class=\"gap\"><td colspan=\"5\">… {skipped} entries left out here (report.json has them)</td></tr>"
            );
        }
        if skipped > 0 && (TRACE_HEAD..n - TRACE_TAIL).contains(&i) {
            continue;
        }
        let (class, arrow) = match e.direction.as_deref() {
            Some("tx") => ("tx", "→ tx"),
            Some("rx") => ("rx", "← rx"),
            _ => ("note", ""),
        };
        let _ = writeln!(
            out,
            "<tr class=\"{} k-{}\"><td>{}.{:03}</td><td>{arrow}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            class,
            slug(&e.kind),
            e.at_us / 1000,
            e.at_us % 1000,
            escape(&e.kind),
            escape(&decoded(e)),
            escape(&hex(e))
        );
    }
    if r.trace_dropped > 0 {
        let _ = writeln!(
            out,
            "<tr class=\"gap\"><td colspan=\"5\">… {} entries in all were not kept</td></tr>",
            r.trace_dropped
        );
    }
    let _ = writeln!(out, "</table>\n</details>");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_quoting() {
        assert_eq!(
            sh_quote("ws://127.0.0.1:9001/", false),
            "ws://127.0.0.1:9001/"
        );
        assert_eq!(sh_quote("ws://h/?a=b&c", false), "'ws://h/?a=b&c'");
        assert_eq!(sh_quote("it's", true), "'it'\\''s'");
        assert_eq!(sh_quote("7.1.5", true), "'7.1.5'");
    }
}
