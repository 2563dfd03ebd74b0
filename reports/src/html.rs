//! `index.html`: the conformance report people read. One self-contained file — inline CSS and
//! JS, no network — that works from `file://`.
//!
//! - The header: the run (tool, case set, times, policy, options, targets), counts per outcome
//!   and verdict for each target, and counts per section.
//! - The matrix (`#matrix`): a row per case id (`data-id`, `data-section`, `data-title`), a
//!   column per target; each cell (`td.cell`, `data-outcome`, `data-reason`) is coloured by
//!   outcome, shows the two verdicts abbreviated and links to the case's panel.
//! - Filters (`#filter-outcome`, `#filter-section`, `#filter-text`), in `html/report.js`; they
//!   toggle `hidden` on rows and panels, and can be preset from the URL
//!   (`index.html?outcome=fail&section=7&q=1002`).
//! - A panel per target and case (`section.case#case-<target>-<id>`): title, RFC section,
//!   expected and observed, reason, close handshake, findings, notes, the handshake texts, the
//!   annotated wire trace and the command that re-runs just that case.
//!
//! Every string from the run goes through [`escape`], in text and in attributes alike; the
//! script reads only the DOM. As a second line of defence, a Content-Security-Policy allows no
//! script but the report's own (by its hash), no network and no inline event handlers.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt::Write;

use crate::{Behavior, BehaviorClose, CaseRecord, Outcome, RunReport};

mod panel;

const CSS: &str = include_str!("html/report.css");
const JS: &str = include_str!("html/report.js");

/// The SHA-256 of `html/report.js`, base64, for the Content-Security-Policy. After editing the
/// script: `openssl dgst -sha256 -binary reports/src/html/report.js | base64`. A stale value
/// stops the script (the browser test `harness/tests/browser.rs` catches it).
pub const SCRIPT_SHA256: &str = "SGAXfeGr8hm57RWXTJNZyR8maVHoxDzYsteM/brUy0U=";

/// Escapes text for HTML text and (quoted) attribute values alike.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The name of a section of the core library.
pub fn section_name(section: &str) -> String {
    let name = match section {
        "1" => "Framing",
        "2" => "Pings/Pongs",
        "3" => "Reserved Bits",
        "4" => "Opcodes",
        "5" => "Fragmentation",
        "6" => "UTF-8 Handling",
        "7" => "Close Handling",
        "9" => "Limits/Performance",
        "10" => "Misc",
        "12" | "13" => "WebSocket Compression",
        "0" => "Opening Handshake",
        "14" => "Masking",
        "15" => "Length Encodings",
        "16" => "Limits and Slow Peers",
        "17" => "Server-Started Closes",
        _ => "Other",
    };
    format!("{section} {name}")
}

/// A case's section: the first number of its id.
fn section_of(id: &str) -> &str {
    id.split('.').next().unwrap_or(id)
}

/// Orders case ids numerically, part by part (`2.2` before `2.10`).
pub(crate) fn compare_ids(a: &str, b: &str) -> std::cmp::Ordering {
    let key = |id: &str| -> Vec<(u64, String)> {
        id.split('.')
            .map(|p| (p.parse().unwrap_or(u64::MAX), p.to_owned()))
            .collect()
    };
    key(a).cmp(&key(b))
}

/// Lowercase letters, digits and dashes: safe in an id and a URL fragment.
fn slug(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    let out = out.trim_matches('-');
    if out.is_empty() {
        "target".into()
    } else {
        out.into()
    }
}

/// A pass that only the default policy lets through: the NON-STRICT shade.
fn lenient(r: &CaseRecord) -> bool {
    r.outcome == Outcome::Pass
        && (r.behavior == Some(Behavior::NonStrict)
            || matches!(
                r.behavior_close,
                Some(
                    BehaviorClose::WrongCode
                        | BehaviorClose::Unclean
                        | BehaviorClose::FailedByClient
                )
            ))
}

/// The CSS classes of an outcome.
fn classes(r: &CaseRecord) -> String {
    let mut c = format!("o-{}", r.outcome.as_str());
    if lenient(r) {
        c.push_str(" lenient");
    }
    c
}

/// `FAILED / WRONG CODE`, or `not run`.
fn verdicts(r: &CaseRecord) -> String {
    match (r.behavior, r.behavior_close) {
        (Some(b), Some(c)) => format!("{} / {}", b.as_str(), c.as_str()),
        _ => "not run".into(),
    }
}

struct Target {
    name: String,
    url: Option<String>,
    slug: String,
}

/// The run's targets, plus any a record names that the run does not list; slugs made unique.
fn targets(run: &RunReport) -> Vec<Target> {
    let mut out: Vec<Target> = Vec::new();
    let mut add = |name: &str, url: Option<&str>| {
        if out.iter().any(|t| t.name == name) {
            return;
        }
        let base = slug(name);
        let mut s = base.clone();
        for n in 2.. {
            if !out.iter().any(|t| t.slug == s) {
                break;
            }
            s = format!("{base}-{n}");
        }
        out.push(Target {
            name: name.into(),
            url: url.map(Into::into),
            slug: s,
        });
    };
    for t in &run.targets {
        add(&t.name, Some(&t.url));
    }
    for r in &run.cases {
        add(&r.target, None);
    }
    out
}

fn panel_id(target: &Target, id: &str) -> String {
    format!("case-{}-{}", target.slug, slug(id))
}

/// Renders the whole report.
pub fn render(run: &RunReport) -> String {
    let targets = targets(run);
    let mut by_key: HashMap<(&str, &str), &CaseRecord> = HashMap::new();
    let mut ids: Vec<(&str, &str)> = Vec::new();
    let mut seen = HashSet::new();
    for r in &run.cases {
        if by_key.insert((&r.target, &r.id), r).is_none() && seen.insert(r.id.as_str()) {
            ids.push((&r.id, &r.title));
        }
    }
    ids.sort_by(|a, b| compare_ids(a.0, b.0));
    let mut sections: Vec<&str> = ids.iter().map(|(id, _)| section_of(id)).collect();
    sections.dedup();

    let mut out = String::new();
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; \
         script-src 'sha256-{SCRIPT_SHA256}'; style-src 'unsafe-inline'; base-uri 'none'; \
         form-action 'none'\">\n<meta name=\"referrer\" content=\"no-referrer\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>wsconform report: {}</title>\n<style>{CSS}</style>\n</head>\n<body>\n",
        escape(&run.case_set)
    );
    header(&mut out, run, &targets, &sections);
    if let Some(d) = &run.differential {
        differences(&mut out, d);
    }
    filters(&mut out, run, &sections);
    matrix(&mut out, &targets, &ids, &by_key, run.differential.as_ref());
    let _ = writeln!(out, "<h2 id=\"cases\">Cases</h2>");
    for (id, _) in &ids {
        for t in &targets {
            if let Some(r) = by_key.get(&(t.name.as_str(), *id)) {
                panel::panel(&mut out, run, t, r);
            }
        }
    }
    let _ = write!(out, "<script>{JS}</script>\n</body>\n</html>\n");
    out
}

fn header(out: &mut String, run: &RunReport, targets: &[Target], sections: &[&str]) {
    let _ = writeln!(
        out,
        "<h1>{} {}: conformance report</h1>",
        escape(&run.tool),
        escape(&run.tool_version)
    );
    let _ = writeln!(out, "<dl class=\"run\">");
    let field = |out: &mut String, k: &str, v: &str| {
        let _ = writeln!(out, "<dt>{k}</dt><dd>{}</dd>", escape(v));
    };
    field(out, "case set", &run.case_set);
    field(out, "started", &run.started);
    field(out, "finished", &run.finished);
    field(out, "policy", &run.policy);
    let options: Vec<String> = run
        .options
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    field(out, "options", &options.join(", "));
    for t in targets {
        field(
            out,
            "target",
            &format!("{} {}", t.name, t.url.as_deref().unwrap_or("")),
        );
    }
    let _ = writeln!(out, "</dl>");

    let _ = writeln!(
        out,
        "<div class=\"summary\">\n<div>\n<h2>Counts</h2>\n<table class=\"counts\" id=\"counts\">"
    );
    let _ = writeln!(
        out,
        "<tr><th>target</th><th>cases</th><th class=\"o-pass\">pass</th><th class=\"o-fail\">fail</th>\
         <th class=\"o-info\">info</th><th class=\"o-not-run\">not run</th><th class=\"o-unreachable\">unreachable</th>\
         <th>behavior</th><th>behaviorClose</th></tr>"
    );
    for t in targets {
        let records: Vec<&CaseRecord> = run.cases_of(&t.name).collect();
        let mut row = format!(
            "<tr data-target=\"{}\"><td>{}</td><td class=\"n\">{}</td>",
            escape(&t.name),
            escape(&t.name),
            records.len()
        );
        for o in Outcome::ALL {
            let n = records.iter().filter(|r| r.outcome == o).count();
            let _ = write!(
                row,
                "<td class=\"n\" data-outcome=\"{}\">{n}</td>",
                o.as_str()
            );
        }
        let mut behaviors: BTreeMap<&str, usize> = BTreeMap::new();
        let mut closes: BTreeMap<&str, usize> = BTreeMap::new();
        for r in &records {
            *behaviors
                .entry(r.behavior.map_or("not run", |b| b.as_str()))
                .or_default() += 1;
            *closes
                .entry(r.behavior_close.map_or("not run", |c| c.as_str()))
                .or_default() += 1;
        }
        let list = |m: &BTreeMap<&str, usize>| {
            m.iter()
                .map(|(k, n)| format!("{k} {n}"))
                .collect::<Vec<_>>()
                .join("<br>")
        };
        let _ = writeln!(
            out,
            "{row}<td>{}</td><td>{}</td></tr>",
            list(&behaviors),
            list(&closes)
        );
    }
    let _ = writeln!(out, "</table>");

    let _ = write!(
        out,
        "</div>\n<div>\n<h2>Sections</h2>\n<table class=\"counts\" id=\"sections\">\n<tr><th>section</th>"
    );
    for t in targets {
        let _ = write!(out, "<th>{}</th>", escape(&t.name));
    }
    let _ = writeln!(out, "</tr>");
    for s in sections {
        let _ = write!(
            out,
            "<tr data-section=\"{}\"><td>{}</td>",
            escape(s),
            escape(&section_name(s))
        );
        for t in targets {
            let mut parts = Vec::new();
            for o in Outcome::ALL {
                let n = run
                    .cases_of(&t.name)
                    .filter(|r| section_of(&r.id) == *s && r.outcome == o)
                    .count();
                if n > 0 {
                    parts.push(format!("<span class=\"o-{0}\">{n} {0}</span>", o.as_str()));
                }
            }
            let _ = write!(out, "<td>{}</td>", parts.join(" "));
        }
        let _ = writeln!(out, "</tr>");
    }
    let _ = writeln!(out, "</table>\n</div>\n</div>");
}

fn filters(out: &mut String, run: &RunReport, sections: &[&str]) {
    let _ = writeln!(
        out,
        "<h2>Matrix</h2>\n<p class=\"legend\"><span class=\"o-pass\">pass</span><span class=\"o-pass lenient\">pass, NON-STRICT / WRONG CODE / UNCLEAN / FAILED BY CLIENT (fails with --strict)</span><span class=\"o-fail\">fail</span><span class=\"o-info\">info</span><span class=\"o-not-run\">not run</span><span class=\"o-unreachable\">unreachable</span> \
         Cells show behavior / behaviorClose: OK, NS = NON-STRICT, F = FAILED, I = INFORMATIONAL, U = UNIMPLEMENTED, UC = UNCLEAN, WC = WRONG CODE, FC = FAILED BY CLIENT.</p>"
    );
    let _ = writeln!(
        out,
        "<form id=\"filters\">\n<fieldset id=\"filter-outcome\"><legend hidden>outcome</legend>"
    );
    for o in Outcome::ALL {
        let n = run.cases.iter().filter(|r| r.outcome == o).count();
        let _ = writeln!(
            out,
            "<label class=\"o-{0}\"><input type=\"checkbox\" name=\"outcome\" value=\"{0}\" checked> {0} ({n})</label>",
            o.as_str()
        );
    }
    let _ = writeln!(
        out,
        "</fieldset>\n<select id=\"filter-section\" aria-label=\"section\">\n<option value=\"\">all sections</option>"
    );
    for s in sections {
        let _ = writeln!(
            out,
            "<option value=\"{}\">{}</option>",
            escape(s),
            escape(&section_name(s))
        );
    }
    let _ = writeln!(
        out,
        "</select>\n<input id=\"filter-text\" type=\"search\" placeholder=\"id, title or reason\" aria-label=\"text\">\n\
         <span id=\"filter-count\"></span>\n</form>"
    );
}

/// A differential run's differences: a row per case and aspect, a column per target.
fn differences(out: &mut String, d: &crate::differential::Differential) {
    let _ = writeln!(
        out,
        "<h2 id=\"differences\">Differences</h2>\n<p>The same bytes went to every target; {} of {} cases compared behaved differently.</p>",
        d.cases.len(),
        d.compared
    );
    if d.cases.is_empty() {
        return;
    }
    let _ = write!(
        out,
        "<table class=\"counts\" id=\"diff-table\">\n<tr><th>case</th><th>aspect</th>"
    );
    for t in &d.targets {
        let _ = write!(out, "<th>{}</th>", escape(t));
    }
    let _ = writeln!(out, "</tr>");
    for case in &d.cases {
        for (i, a) in case.aspects.iter().enumerate() {
            let id = if i == 0 {
                format!(
                    "<td class=\"mono\" rowspan=\"{}\">{}</td>",
                    case.aspects.len(),
                    escape(&case.id)
                )
            } else {
                String::new()
            };
            let _ = write!(
                out,
                "<tr data-diff-id=\"{}\">{id}<td>{}</td>",
                escape(&case.id),
                a.aspect.name()
            );
            for v in &a.values {
                let _ = write!(out, "<td class=\"mono\">{}</td>", escape(v));
            }
            let _ = writeln!(out, "</tr>");
        }
    }
    let _ = writeln!(out, "</table>");
}

fn matrix(
    out: &mut String,
    targets: &[Target],
    ids: &[(&str, &str)],
    by_key: &HashMap<(&str, &str), &CaseRecord>,
    differential: Option<&crate::differential::Differential>,
) {
    let _ = write!(
        out,
        "<table id=\"matrix\">\n<thead><tr><th>case</th><th>title</th>"
    );
    for t in targets {
        let _ = write!(
            out,
            "<th data-target=\"{}\">{}</th>",
            escape(&t.name),
            escape(&t.name)
        );
    }
    let diffs: HashMap<&str, &crate::differential::CaseDiff> = differential
        .map(|d| d.cases.iter().map(|c| (c.id.as_str(), c)).collect())
        .unwrap_or_default();
    if differential.is_some() {
        let _ = write!(out, "<th class=\"diff\">diff</th>");
    }
    let _ = writeln!(out, "</tr></thead>\n<tbody>");
    let mut last_section = None;
    for (id, title) in ids {
        let section = section_of(id);
        if last_section != Some(section) {
            let _ = writeln!(
                out,
                "<tr class=\"section-head\" data-section=\"{}\"><th colspan=\"{}\">{}</th></tr>",
                escape(section),
                targets.len() + 2 + usize::from(differential.is_some()),
                escape(&section_name(section))
            );
            last_section = Some(section);
        }
        let _ = write!(
            out,
            "<tr data-id=\"{0}\" data-section=\"{1}\" data-title=\"{2}\"><td class=\"mono\">{0}</td><td class=\"title\" title=\"{2}\">{2}</td>",
            escape(id),
            escape(section),
            escape(title)
        );
        for t in targets {
            match by_key.get(&(t.name.as_str(), *id)) {
                Some(r) => {
                    let abbrev = match (r.behavior, r.behavior_close) {
                        (Some(b), Some(c)) => format!("{}/{}", b.abbrev(), c.abbrev()),
                        _ => "—".into(),
                    };
                    let _ = write!(
                        out,
                        "<td class=\"cell {}\" data-outcome=\"{}\" data-reason=\"{}\" title=\"{}: {}\"><a href=\"#{}\">{abbrev}</a></td>",
                        classes(r),
                        r.outcome.as_str(),
                        escape(&r.reason),
                        escape(&verdicts(r)),
                        escape(&r.reason),
                        panel_id(t, id)
                    );
                }
                None => {
                    let _ = write!(out, "<td class=\"cell o-none\" data-outcome=\"none\"></td>");
                }
            }
        }
        if differential.is_some() {
            match diffs.get(id) {
                Some(d) => {
                    let detail: Vec<String> = d
                        .aspects
                        .iter()
                        .map(|a| format!("{}: {}", a.aspect.name(), a.values.join(" | ")))
                        .collect();
                    let _ = write!(
                        out,
                        "<td class=\"diff differs\" data-diff=\"{}\" title=\"{}\">{}</td>",
                        escape(&d.names()),
                        escape(&detail.join("\n")),
                        escape(&d.names())
                    );
                }
                None if differential.is_some_and(|d| d.not_compared.iter().any(|n| n == id)) => {
                    let _ = write!(
                        out,
                        "<td class=\"diff\" title=\"not run by every target: not compared\">—</td>"
                    );
                }
                None => {
                    let _ = write!(out, "<td class=\"diff same\" data-diff=\"\">same</td>");
                }
            }
        }
        let _ = writeln!(out, "</tr>");
    }
    let _ = writeln!(out, "</tbody>\n</table>");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_covers_the_five_characters() {
        assert_eq!(
            escape(r#"<a href="x" b='y'>&</a>"#),
            "&lt;a href=&quot;x&quot; b=&#39;y&#39;&gt;&amp;&lt;/a&gt;"
        );
    }

    #[test]
    fn slugs_are_safe_and_ids_sort_numerically() {
        assert_eq!(slug("Hostile/1.0 \"<x>\""), "hostile-1-0-x");
        assert_eq!(slug("<>"), "target");
        let run = RunReport {
            schema: crate::SCHEMA,
            tool: String::new(),
            tool_version: String::new(),
            case_set: String::new(),
            started: String::new(),
            finished: String::new(),
            policy: String::new(),
            options: BTreeMap::new(),
            targets: ["a b", "A-B", "a-b-2"]
                .map(|name| crate::TargetInfo {
                    name: name.into(),
                    url: String::new(),
                })
                .into(),
            cases: Vec::new(),
            shard: None,
            differential: None,
        };
        let slugs: Vec<String> = targets(&run).into_iter().map(|t| t.slug).collect();
        assert_eq!(slugs, ["a-b", "a-b-2", "a-b-2-2"]);
        let mut ids = vec!["2.10", "10.1.1", "2.2", "1.1.1"];
        ids.sort_by(|a, b| compare_ids(a, b));
        assert_eq!(ids, ["1.1.1", "2.2", "2.10", "10.1.1"]);
    }
}
