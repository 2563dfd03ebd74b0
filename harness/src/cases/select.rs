//! Case selection with Autobahn's wildcard rules, and id ordering.
//!
//! Autobahn (`autobahn-cases.md` §4.1): a pattern without `*` is a literal id; a pattern with
//! `*` is matched from the start of the id only — `*` matches any run of characters and the end
//! is not anchored, so `2.1*` selects 2.1, 2.10 and 2.11, and `1*` selects 1.x, 10.x, 12.x and
//! 13.x. `exclude-agent-cases` patterns are anchored at both ends.

use std::cmp::Ordering;

/// Compares ids as tuples of numbers (`2.9` < `2.10`), falling back to text.
pub fn compare_ids(a: &str, b: &str) -> Ordering {
    let parts = |s: &str| -> Vec<(u64, String)> {
        s.split('.')
            .map(|p| (p.parse::<u64>().unwrap_or(u64::MAX), p.to_owned()))
            .collect()
    };
    parts(a).cmp(&parts(b))
}

/// Glob with `*` only, anchored at both ends.
fn glob(p: &[u8], s: &[u8]) -> bool {
    match p.split_first() {
        None => s.is_empty(),
        Some((b'*', rest)) => (0..=s.len()).any(|i| glob(rest, &s[i..])),
        Some((c, rest)) => s.first() == Some(c) && glob(rest, &s[1..]),
    }
}

/// Autobahn's `cases` / `exclude-cases` rule: literal without `*`; otherwise matched from the
/// start, not anchored at the end.
pub fn matches(pattern: &str, id: &str) -> bool {
    if pattern.contains('*') {
        glob(format!("{pattern}*").as_bytes(), id.as_bytes())
    } else {
        pattern == id
    }
}

/// Autobahn's `exclude-agent-cases` rule: `*` wildcards, anchored at both ends.
pub fn matches_anchored(pattern: &str, text: &str) -> bool {
    glob(pattern.as_bytes(), text.as_bytes())
}

/// Whether `id` is one of wsconform's own cases rather than Autobahn's: section 0 (the
/// opening handshake, which Autobahn reserved and left empty) and sections 14 and up.
pub fn beyond_autobahn(id: &str) -> bool {
    let section = id.split('.').next().unwrap_or("");
    section.parse::<u32>().is_ok_and(|s| s == 0 || s >= 14)
}

/// Whether `pattern` names `id`'s section literally (`0.*`, `14.2.1`), not by a wildcard.
fn names_section(pattern: &str, id: &str) -> bool {
    let section = |s: &str| s.split('.').next().unwrap_or("").to_owned();
    let first = section(pattern);
    !first.contains('*') && first == section(id) && pattern.contains('.')
}

/// A selection: patterns to include and to exclude.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// Included patterns (empty: every case).
    pub cases: Vec<String>,
    /// Excluded patterns.
    pub exclude: Vec<String>,
    /// Autobahn's spec-file meaning: wildcards select only Autobahn's own sections (1-13), so
    /// that an existing spec with `"*"` runs exactly Autobahn's cases; a pattern that names a
    /// section of wsconform's own (`"0.*"`, `"14.*"`) selects it.
    pub autobahn_only: bool,
}

impl Selection {
    /// Parses comma-separated pattern lists.
    pub fn from_lists(cases: Option<&str>, exclude: Option<&str>) -> Self {
        let split = |s: Option<&str>| -> Vec<String> {
            s.map(|s| {
                s.split(',')
                    .map(str::trim)
                    .filter(|p| !p.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default()
        };
        Selection {
            cases: split(cases),
            exclude: split(exclude),
            autobahn_only: false,
        }
    }

    /// The ids selected, in order. A pattern that matches no case is an error naming it.
    pub fn apply<'a>(&self, ids: &[&'a str]) -> Result<Vec<&'a str>, String> {
        for pattern in self.cases.iter().chain(&self.exclude) {
            if !ids.iter().any(|id| matches(pattern, id)) {
                return Err(format!("no case matches pattern {pattern:?}"));
            }
        }
        Ok(ids
            .iter()
            .copied()
            .filter(|id| {
                let chosen = |p: &String| {
                    matches(p, id)
                        && (!self.autobahn_only || !beyond_autobahn(id) || names_section(p, id))
                };
                if self.cases.is_empty() {
                    !self.autobahn_only || !beyond_autobahn(id)
                } else {
                    self.cases.iter().any(chosen)
                }
            })
            .filter(|id| !self.exclude.iter().any(|p| matches(p, id)))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn autobahn_wildcards() {
        assert!(matches("2.1*", "2.1"));
        assert!(matches("2.1*", "2.10"));
        assert!(matches("2.1*", "2.11"));
        assert!(matches("1*", "12.1.1"));
        assert!(matches("9.*", "9.7.6"));
        assert!(matches("*", "13.7.18"));
        // Not anchored at the end once there is a `*`.
        assert!(matches("*.1", "6.12.8"));
        // A literal is exact.
        assert!(matches("1.1.1", "1.1.1"));
        assert!(!matches("1.1", "1.1.1"));
        assert!(!matches("2.*", "1.2.1"));
        assert!(matches_anchored("6.4.*", "6.4.3"));
        assert!(!matches_anchored("*.1", "6.12.8"));
        assert!(matches_anchored("MyServer*", "MyServer/1.0"));
    }

    #[test]
    fn numeric_order() {
        let mut ids = vec!["2.10", "10.1.1", "2.9", "1.1.8", "9.1.1", "2.1"];
        ids.sort_by(|a, b| compare_ids(a, b));
        assert_eq!(ids, ["1.1.8", "2.1", "2.9", "2.10", "9.1.1", "10.1.1"]);
    }

    #[test]
    fn selection() {
        let ids = ["1.1.1", "1.1.2", "2.1", "9.1.1"];
        let s = Selection::from_lists(Some("1.*, 2.1"), Some("1.1.2"));
        assert_eq!(s.apply(&ids).unwrap(), ["1.1.1", "2.1"]);
        assert_eq!(Selection::default().apply(&ids).unwrap().len(), 4);
        let spec = |cases: &[&str]| Selection {
            cases: cases.iter().map(|c| (*c).to_owned()).collect(),
            exclude: Vec::new(),
            autobahn_only: true,
        };
        let ids = ["0.1.1", "1.1.1", "13.1.1", "14.1.1", "16.2.1"];
        assert_eq!(spec(&["*"]).apply(&ids).unwrap(), ["1.1.1", "13.1.1"]);
        assert_eq!(spec(&["1*"]).apply(&ids).unwrap(), ["1.1.1", "13.1.1"]);
        assert_eq!(
            spec(&["0.*", "14.1.1", "1*"]).apply(&ids).unwrap(),
            ["0.1.1", "1.1.1", "13.1.1", "14.1.1"]
        );
        assert_eq!(spec(&[]).apply(&ids).unwrap(), ["1.1.1", "13.1.1"]);
        assert!(beyond_autobahn("0.1.1") && beyond_autobahn("17.2.1"));
        assert!(!beyond_autobahn("1.1.1") && !beyond_autobahn("13.7.18"));
        let bad = Selection::from_lists(Some("42.*"), None);
        assert_eq!(
            bad.apply(&ids).unwrap_err(),
            "no case matches pattern \"42.*\""
        );
    }
}
