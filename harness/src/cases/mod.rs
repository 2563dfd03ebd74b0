//! The case library: loading case files, expanding families, selecting cases.
//!
//! A case file holds `[[case]]` tables (one case each) and `[[family]]` tables: a `params`
//! list and a `case` template in which `"{name}"` is replaced by each row's value (keeping its
//! type when the whole string is the placeholder, as in `len = "{len}"`). The built-in files
//! come from the `wsconform-cases` crate; `--cases-dir` loads a user's own. Every error names
//! the file, the line and the problem.

mod frame;
pub mod generate;
mod handshake;
mod model;
mod respond;
mod select;
pub mod shard;
pub mod shrink;
pub mod smoke;

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;
use toml::Spanned;

pub use frame::{DeclaredLen, FrameSpec, MAX_PAYLOAD, OpcodeSpec, Payload, PayloadSpec, parse_hex};
pub use handshake::fill;
pub use handshake::{
    BuiltRequest, HandshakeExpect, HandshakeSpec, HeaderCheck, Pad, Params, RequestSpec, Trickle,
};
pub use model::{
    AliveStep, ArmStep, BeginFrameStep, Case, CloseExpect, CloseStep, DEFAULT_DEFLATE_OFFER,
    DEFAULT_INFLATE_LIMIT, DeflateSpec, EventSpec, Expect, FirstMessageStep, MessageSpec,
    MessageStep, PeerRole, PingFloodStep, ProbeLimitStep, RoundtripStep, SendStep, SeriesStep,
    Step, WaitStep, WriteMode,
};
pub use respond::{AcceptSpec, PROBE_MESSAGE, RedirectKind, ResponseExpect, ResponseSpec};
pub use select::{Selection, beyond_autobahn, compare_ids, matches, matches_anchored};
pub use shard::Shard;

/// The `--param` names the built-in cases use, and what each must be.
pub const PARAMS: &[(&str, &str)] = &[
    (
        "not_found_path",
        "a path on the server that gives 404, such as /no-such-path",
    ),
    (
        "forbidden_origin",
        "an Origin the server refuses, such as http://evil.example",
    ),
    (
        "subprotocol",
        "a subprotocol the server supports, such as chat",
    ),
    ("max_message", "the server's message size limit in bytes"),
];

/// What `--param name` must be, for messages.
pub fn param_help(name: &str) -> &'static str {
    PARAMS
        .iter()
        .find(|(n, _)| *n == name)
        .map_or("a value this case needs", |(_, help)| help)
}

/// A case file that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}: {message}")]
pub struct CaseFileError {
    /// The file.
    pub file: String,
    /// The 1-based line.
    pub line: usize,
    /// The problem.
    pub message: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileData {
    #[serde(default)]
    case: Vec<Spanned<toml::Table>>,
    #[serde(default)]
    family: Vec<Spanned<FamilyData>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FamilyData {
    params: Vec<toml::Table>,
    case: toml::Table,
}

/// The 1-based line of byte `offset` in `source`.
fn line_of(source: &str, offset: usize) -> usize {
    source[..offset.min(source.len())].matches('\n').count() + 1
}

/// Parses one case file: its cases and the expansion of its families, in file order.
pub fn parse_case_file(name: &str, source: &str) -> Result<Vec<Case>, CaseFileError> {
    let error = |line: usize, message: String| CaseFileError {
        file: name.to_owned(),
        line,
        message,
    };
    let data: FileData = toml::from_str(source).map_err(|e| {
        let line = e.span().map(|s| line_of(source, s.start)).unwrap_or(1);
        error(line, e.message().to_owned())
    })?;
    let mut entries: Vec<(usize, Vec<Case>)> = Vec::new();
    for table in data.case {
        let line = line_of(source, table.span().start);
        let case = to_case(table.into_inner()).map_err(|m| error(line, m))?;
        entries.push((line, vec![case]));
    }
    for family in data.family {
        let line = line_of(source, family.span().start);
        let family = family.into_inner();
        if family.params.is_empty() {
            return Err(error(
                line,
                "a family needs at least one row in `params`".into(),
            ));
        }
        let mut cases = Vec::new();
        for (i, row) in family.params.iter().enumerate() {
            let mut value = toml::Value::Table(family.case.clone());
            substitute(&mut value, row);
            let case = to_case_value(value).map_err(|m| {
                error(
                    line,
                    format!("family row {} ({}): {m}", i + 1, describe_row(row)),
                )
            })?;
            cases.push(case);
        }
        entries.push((line, cases));
    }
    entries.sort_by_key(|(line, _)| *line);
    Ok(entries.into_iter().flat_map(|(_, cases)| cases).collect())
}

fn describe_row(row: &toml::Table) -> String {
    row.iter()
        .take(3)
        .map(|(k, v)| format!("{k} = {v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn to_case(table: toml::Table) -> Result<Case, String> {
    to_case_value(toml::Value::Table(table))
}

fn to_case_value(value: toml::Value) -> Result<Case, String> {
    let id = value.get("id").and_then(|v| v.as_str()).map(str::to_owned);
    let mut case: Case = value.try_into().map_err(|e: toml::de::Error| {
        let message = e.message().trim().to_owned();
        match &id {
            Some(id) => format!("case {id}: {message}"),
            None => message,
        }
    })?;
    // An empty note (a family row with nothing to say) is no note.
    for note in [
        &mut case.description,
        &mut case.deviation,
        &mut case.timing_dependent,
    ] {
        if note.as_deref().is_some_and(|n| n.trim().is_empty()) {
            *note = None;
        }
    }
    validate(&case).map_err(|m| format!("case {}: {m}", case.id))?;
    Ok(case)
}

/// Checks that need more than the types: payloads that must parse, ids that must be ids.
fn validate(case: &Case) -> Result<(), String> {
    if case.id.is_empty()
        || !case.id.split('.').all(|p| {
            !p.is_empty()
                && p.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
    {
        return Err(format!(
            "id {:?} is not dot-separated parts like 1.2.3",
            case.id
        ));
    }
    if !case.rfc.starts_with("rfc") {
        return Err(format!(
            "rfc {:?} is not an anchor like rfc6455#section-5.2",
            case.rfc
        ));
    }
    if let Some(r) = &case.respond {
        r.validate()?;
        if case.peer != Some(PeerRole::Client) {
            return Err("a case with `respond` tests clients: it needs peer = \"client\"".into());
        }
        if case.handshake.is_some() || !case.steps.is_empty() {
            return Err("`respond` takes neither `handshake` nor steps".into());
        }
    }
    if case.predict
        && (case.peer != Some(PeerRole::Server)
            || case.handshake.is_some()
            || case.respond.is_some()
            || case.deflate.is_some()
            || case.check_alive)
    {
        return Err("`predict` judges a server's frames against the reference server: it needs peer = \"server\", and takes no `handshake`, `respond`, `deflate` or `check_alive`".into());
    }
    if case.handshake.is_some() && case.peer == Some(PeerRole::Client) {
        return Err("a crafted request (`handshake`) tests servers, not peer = \"client\"".into());
    }
    for (name, secs) in seconds_of(case) {
        if !(0.0..=MAX_SECONDS).contains(&secs) {
            return Err(format!(
                "{name} = {secs} is not a number of seconds from 0 to {MAX_SECONDS}"
            ));
        }
    }
    for step in &case.steps {
        match step {
            Step::Send(s) if s.repeat.is_some_and(|n| n == 0 || n > 1_000_000) => {
                return Err("send.repeat must be 1–1000000".into());
            }
            Step::Send(s) => {
                let mut bytes = 0usize;
                for f in &s.frames {
                    f.validate()?;
                    bytes = bytes.saturating_add(f.payload.len()?);
                }
                let frames = s.frames.len().saturating_mul(s.repeat.unwrap_or(1));
                if frames > MAX_FRAMES {
                    return Err(format!(
                        "a send step of {frames} frames is over the {MAX_FRAMES}-frame bound"
                    ));
                }
                let total = bytes.saturating_mul(s.repeat.unwrap_or(1));
                if total > MAX_PAYLOAD {
                    return Err(format!(
                        "a send step of {total} payload bytes is over the {}-byte bound",
                        MAX_PAYLOAD
                    ));
                }
            }
            Step::SendMessage(m) if m.compress && case.deflate.is_none() => {
                return Err("send_message.compress needs a [deflate] table".into());
            }
            Step::SendMessage(m) if m.rsv > 7 => {
                return Err(format!("send_message.rsv must be 0–7, not {}", m.rsv));
            }
            Step::SendMessage(m) => {
                m.payload.validate()?;
                if m.fragment == 0 {
                    return Err("send_message.fragment must be at least 1".into());
                }
                if m.payload.len()?.div_ceil(m.fragment) > MAX_FRAMES {
                    return Err(format!(
                        "send_message makes more than {MAX_FRAMES} fragments"
                    ));
                }
            }
            Step::FrameData(p) => p.validate()?,
            Step::Close(c) => {
                if let Some(h) = &c.reason_hex {
                    parse_hex(h)?;
                }
                if let Some(p) = &c.payload {
                    p.validate()?;
                }
            }
            Step::Roundtrip(r) => r.payload.validate()?,
            Step::ProbeLimit(p) if p.max == 0 || p.max > 256 << 20 => {
                return Err("probe_limit.max must be 1 byte to 256 MiB".into());
            }
            Step::PingFlood(p) if p.count == 0 || p.count > 100_000 => {
                return Err("ping_flood.count must be 1–100000".into());
            }
            Step::Series(s) => {
                if wsconform_cases::data::get(&s.data).is_none() {
                    return Err(format!(
                        "series.data {:?} is not one of {}",
                        s.data,
                        wsconform_cases::data::NAMES.join(", ")
                    ));
                }
                if s.len == 0 || s.len > 16 << 20 || s.count == 0 || s.count > 100_000 {
                    return Err("series.len must be 1 to 16 MiB and series.count 1–100000".into());
                }
            }
            _ => {}
        }
    }
    if let Some(h) = &case.handshake {
        h.request.validate()?;
        for check in &h.headers {
            let forms = usize::from(check.contains.is_some())
                + usize::from(check.equals.is_some())
                + usize::from(check.absent);
            if forms != 1 {
                return Err(format!(
                    "header check on {}: give exactly one of contains, equals, absent",
                    check.name
                ));
            }
        }
    } else if case.steps.is_empty() && case.respond.is_none() {
        return Err("a case needs steps (or a handshake, or a response)".into());
    }
    let lists = std::iter::once(&case.expect.ok).chain(case.expect.non_strict.iter());
    let mut expected = 0usize;
    for list in lists {
        for event in list {
            expected = expected.saturating_add(match event {
                EventSpec::Message(m) => m.payload.len()?,
                EventSpec::Pong(p) => p.len()?,
                EventSpec::Timeout(_) => 0,
            });
        }
    }
    // The expected events are built when the case runs: bounded like what it sends.
    if expected > MAX_PAYLOAD {
        return Err(format!(
            "the expected events hold {expected} bytes, over the {MAX_PAYLOAD}-byte bound"
        ));
    }
    Ok(())
}

/// The most frames one step may send (100 000 one-byte fragments is the largest flood).
const MAX_FRAMES: usize = 1_000_000;

/// The longest a case's timer or wait may be: a bound on the harness, whatever a file says.
const MAX_SECONDS: f64 = 3600.0;

/// Every number of seconds a case holds, with its name (all must be 0..=[`MAX_SECONDS`]).
fn seconds_of(case: &Case) -> Vec<(&'static str, f64)> {
    let mut out = Vec::new();
    out.extend(case.kill.map(|s| ("kill", s)));
    out.extend(case.close_after.map(|s| ("close_after", s)));
    if let Some(h) = &case.handshake {
        out.extend(h.within.map(|s| ("handshake.within", s)));
        out.extend(h.request.trickle.map(|t| ("trickle.every", t.every)));
    }
    for step in &case.steps {
        match step {
            Step::Wait(w) => out.push(("wait.secs", w.secs)),
            Step::PauseReading(w) => out.push(("pause_reading.secs", w.secs)),
            Step::Arm(a) => {
                out.extend(a.kill.map(|s| ("arm.kill", s)));
                out.extend(a.close_after.map(|s| ("arm.close_after", s)));
            }
            Step::ExpectFirstMessage(f) => out.push(("expect_first_message.within", f.within)),
            Step::Roundtrip(r) => out.push(("roundtrip.within", r.within)),
            Step::PingFlood(p) => out.push(("ping_flood.within", p.within)),
            Step::ProbeLimit(p) => out.push(("probe_limit.within", p.within)),
            Step::Series(s) => out.push(("series.within", s.within)),
            _ => {}
        }
    }
    out
}

/// Replaces `{name}` placeholders in every string of `value` with the row's values.
fn substitute(value: &mut toml::Value, row: &toml::Table) {
    match value {
        toml::Value::String(s) => {
            if let Some(name) = s.strip_prefix('{').and_then(|r| r.strip_suffix('}'))
                && let Some(v) = row.get(name)
            {
                *value = v.clone();
                return;
            }
            if s.contains('{') {
                for (name, v) in row {
                    let text = match v {
                        toml::Value::String(t) => t.clone(),
                        other => other.to_string(),
                    };
                    *s = s.replace(&format!("{{{name}}}"), &text);
                }
            }
        }
        toml::Value::Array(items) => items.iter_mut().for_each(|v| substitute(v, row)),
        toml::Value::Table(table) => table.iter_mut().for_each(|(_, v)| substitute(v, row)),
        _ => {}
    }
}

/// The built-in library, in Autobahn's order (numeric id tuples).
pub fn builtin() -> Result<Vec<Case>, CaseFileError> {
    let mut all = Vec::new();
    for file in wsconform_cases::BUILTIN {
        all.extend(parse_case_file(file.name, file.source)?);
    }
    finish(all)
}

/// Every `*.toml` file in `dir` (a user's own library), sorted the same way.
pub fn load_dir(dir: &Path) -> Result<Vec<Case>, CaseFileError> {
    let io_error = |e: std::io::Error| CaseFileError {
        file: dir.display().to_string(),
        line: 1,
        message: e.to_string(),
    };
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .map_err(io_error)?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(CaseFileError {
            file: dir.display().to_string(),
            line: 1,
            message: "no *.toml case files in this directory".into(),
        });
    }
    let mut all = Vec::new();
    for path in files {
        let source = std::fs::read_to_string(&path).map_err(|e| CaseFileError {
            file: path.display().to_string(),
            line: 1,
            message: e.to_string(),
        })?;
        all.extend(parse_case_file(&path.display().to_string(), &source)?);
    }
    finish(all)
}

/// Sorts by id and rejects duplicates.
fn finish(mut all: Vec<Case>) -> Result<Vec<Case>, CaseFileError> {
    all.sort_by(|a, b| compare_ids(&a.id, &b.id));
    let mut seen = BTreeMap::new();
    for case in &all {
        if seen.insert(case.id.clone(), ()).is_some() {
            return Err(CaseFileError {
                file: "(library)".into(),
                line: 1,
                message: format!("case id {} is defined twice", case.id),
            });
        }
    }
    Ok(all)
}

impl Case {
    /// The RFC section as a link.
    pub fn rfc_url(&self) -> String {
        wsconform_reports::rfc_url(&self.rfc)
    }

    /// The RFC section, short: `RFC 6455 §5.2` for `rfc6455#section-5.2`.
    pub fn rfc_short(&self) -> String {
        let (doc, anchor) = self.rfc.split_once('#').unwrap_or((&self.rfc, ""));
        let number = doc.trim_start_matches("rfc");
        match anchor.strip_prefix("section-") {
            Some(section) => format!("RFC {number} §{section}"),
            None => format!("RFC {number}"),
        }
    }

    /// The section, the id's first part (`6` for `6.4.3`).
    pub fn section(&self) -> &str {
        self.id.split('.').next().unwrap_or("")
    }
}

#[cfg(test)]
mod tests;
