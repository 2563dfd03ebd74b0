//! Loading case files: the built-in library (crate `wsconform-cases`) and a user's own.
//!
//! For now a case file holds `[[case]]` tables with an `id`, a `title` and the `rfc` anchor it
//! enforces; the runner issue adds the steps and expectations. Parse errors name the file, the
//! line and the problem.

use serde::Deserialize;

/// One case's description.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaseInfo {
    /// The case id, such as `1.1.1`.
    pub id: String,
    /// A one-line title.
    pub title: String,
    /// The RFC anchor it enforces, such as `rfc6455#section-5.2`.
    pub rfc: String,
}

impl CaseInfo {
    /// The RFC section as a link.
    pub fn rfc_url(&self) -> String {
        match self.rfc.split_once('#') {
            Some((rfc, anchor)) => format!("https://www.rfc-editor.org/rfc/{rfc}#{anchor}"),
            None => format!("https://www.rfc-editor.org/rfc/{}", self.rfc),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CaseFileData {
    #[serde(default)]
    case: Vec<CaseInfo>,
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

/// Parses one case file.
pub fn parse_case_file(name: &str, source: &str) -> Result<Vec<CaseInfo>, CaseFileError> {
    toml::from_str::<CaseFileData>(source)
        .map(|data| data.case)
        .map_err(|e| {
            let line = e
                .span()
                .map(|span| source[..span.start.min(source.len())].matches('\n').count() + 1)
                .unwrap_or(1);
            CaseFileError {
                file: name.to_owned(),
                line,
                message: e.message().to_owned(),
            }
        })
}

/// Every built-in case, in order.
pub fn builtin() -> Result<Vec<CaseInfo>, CaseFileError> {
    let mut out = Vec::new();
    for file in wsconform_cases::BUILTIN {
        out.extend(parse_case_file(file.name, file.source)?);
    }
    Ok(out)
}

/// The cases whose id matches `pattern`: Autobahn's wildcard rules, where `*` matches any run
/// of characters and everything else is literal.
pub fn matches(pattern: &str, id: &str) -> bool {
    fn go(p: &[u8], s: &[u8]) -> bool {
        match p.split_first() {
            None => s.is_empty(),
            Some((b'*', rest)) => (0..=s.len()).any(|i| go(rest, &s[i..])),
            Some((c, rest)) => s.first() == Some(c) && go(rest, &s[1..]),
        }
    }
    go(pattern.as_bytes(), id.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_cases_parse() {
        let cases = builtin().expect("built-in cases parse");
        assert!(cases.iter().any(|c| c.id == "0.1.1"));
        assert!(cases.iter().all(|c| c.rfc.starts_with("rfc6455#section-")));
    }

    #[test]
    fn errors_name_file_and_line() {
        let err = parse_case_file("x.toml", "[[case]]\nid = \"1\"\ntitle = \"t\"\nrfc = 5\n")
            .expect_err("rfc must be a string");
        assert_eq!((err.file.as_str(), err.line), ("x.toml", 4), "{err}");
        let err = parse_case_file("y.toml", "[[case]]\nid = \"1\"\nbogus = true\n")
            .expect_err("unknown key");
        assert_eq!(err.line, 3, "{err}");
    }

    #[test]
    fn wildcards() {
        assert!(matches("1.*", "1.1.1"));
        assert!(matches("*", "9.7.6"));
        assert!(matches("6.*.1", "6.12.1"));
        assert!(!matches("1.1", "1.1.1"));
        assert!(!matches("2.*", "1.2.1"));
    }
}
