//! Autobahn's `fuzzingclient` spec file, taken as it is (`autobahn-cases.md` §4.2).
//!
//! ```json
//! {
//!   "outdir": "./reports/servers",
//!   "options": {"failByDrop": false},
//!   "servers": [{"agent": "MyServer/1.0", "url": "ws://127.0.0.1:9001"}],
//!   "cases": ["*"],
//!   "exclude-cases": ["9.*", "12.*", "13.*"],
//!   "exclude-agent-cases": {"MyServer*": ["6.4.*"]}
//! }
//! ```
//!
//! `servers[].options` and the global `options` may set Autobahn's timeouts
//! (`openHandshakeTimeout`, `closeHandshakeTimeout`, `serverConnectionDropTimeout`, in
//! seconds); the other engine options are accepted and have no effect. A `wss://` server is
//! verified only when it has a `hostname`, as in Autobahn, which then also sends it as SNI.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

/// A parsed spec file.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Spec {
    /// Where Autobahn writes its reports.
    #[serde(default = "default_outdir")]
    pub outdir: String,
    /// Engine options for every server.
    #[serde(default)]
    pub options: BTreeMap<String, serde_json::Value>,
    /// The servers, in order.
    pub servers: Vec<SpecServer>,
    /// Case patterns.
    #[serde(default = "all_cases")]
    pub cases: Vec<String>,
    /// Patterns left out.
    #[serde(default, rename = "exclude-cases")]
    pub exclude_cases: Vec<String>,
    /// Agent pattern → case patterns not run for matching agents (both anchored).
    #[serde(default, rename = "exclude-agent-cases")]
    pub exclude_agent_cases: BTreeMap<String, Vec<String>>,
}

fn default_outdir() -> String {
    "./reports/servers".into()
}

fn all_cases() -> Vec<String> {
    vec!["*".into()]
}

/// One server of a spec.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct SpecServer {
    /// The report name; Autobahn defaults to the `Server` header.
    #[serde(default)]
    pub agent: Option<String>,
    /// `ws://` or `wss://`.
    pub url: String,
    /// Engine options overriding the global ones.
    #[serde(default)]
    pub options: BTreeMap<String, serde_json::Value>,
    /// An `Origin` header to send.
    #[serde(default)]
    pub origin: Option<String>,
    /// Subprotocols to offer.
    #[serde(default)]
    pub protocols: Vec<String>,
    /// For `wss://`: the name to verify and send as SNI.
    #[serde(default)]
    pub hostname: Option<String>,
}

/// A spec file that could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}: {message}")]
pub struct SpecError {
    /// The file.
    pub file: String,
    /// What is wrong.
    pub message: String,
}

impl Spec {
    /// Reads and parses a spec file.
    pub fn load(path: &Path) -> Result<Self, SpecError> {
        let (file, text) = read(path)?;
        Self::parse(&file, &text)
    }

    /// Parses spec text.
    pub fn parse(file: &str, text: &str) -> Result<Self, SpecError> {
        let spec: Spec = serde_json::from_str(text).map_err(|e| SpecError {
            file: file.to_owned(),
            message: e.to_string(),
        })?;
        if spec.servers.is_empty() {
            return Err(SpecError {
                file: file.to_owned(),
                message: "`servers` is empty: name at least one server to test".into(),
            });
        }
        for (i, server) in spec.servers.iter().enumerate() {
            for (key, value) in spec.options.iter().chain(&server.options) {
                if TIMEOUTS.contains(&key.as_str()) && !value.is_number() {
                    return Err(SpecError {
                        file: file.to_owned(),
                        message: format!(
                            "servers[{i}]: option {key} must be a number of seconds, not {value}"
                        ),
                    });
                }
            }
        }
        Ok(spec)
    }

    /// A timeout option for `server`, in seconds: the server's own, else the global one.
    pub fn timeout(&self, server: &SpecServer, key: &str) -> Option<f64> {
        server
            .options
            .get(key)
            .or_else(|| self.options.get(key))
            .and_then(|v| v.as_f64())
    }

    /// The case patterns not run for `agent`.
    pub fn excluded_for(&self, agent: &str) -> Vec<String> {
        excluded_for(&self.exclude_agent_cases, agent)
    }
}

/// Autobahn's `fuzzingserver` spec file, taken as it is (`wsconform serve --spec`):
///
/// ```json
/// {
///   "url": "ws://127.0.0.1:9001",
///   "outdir": "./reports/clients",
///   "cases": ["*"],
///   "exclude-cases": ["9.*"],
///   "exclude-agent-cases": {"MyClient*": ["6.4.*"]}
/// }
/// ```
///
/// `url` is where to listen; `options` and other fields are accepted and have no effect.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ServerSpec {
    /// The URL clients connect to: its host and port are where to listen.
    #[serde(default = "default_server_url")]
    pub url: String,
    /// Where Autobahn writes its reports (its `index.json`).
    #[serde(default = "default_client_outdir")]
    pub outdir: String,
    /// Case patterns.
    #[serde(default = "all_cases")]
    pub cases: Vec<String>,
    /// Patterns left out.
    #[serde(default, rename = "exclude-cases")]
    pub exclude_cases: Vec<String>,
    /// Agent pattern → case patterns not run for matching agents (both anchored).
    #[serde(default, rename = "exclude-agent-cases")]
    pub exclude_agent_cases: BTreeMap<String, Vec<String>>,
}

fn default_server_url() -> String {
    "ws://127.0.0.1:9001".into()
}

fn default_client_outdir() -> String {
    "./reports/clients".into()
}

impl ServerSpec {
    /// Reads and parses a fuzzingserver spec file.
    pub fn load(path: &Path) -> Result<Self, SpecError> {
        let (file, text) = read(path)?;
        Self::parse(&file, &text)
    }

    /// Parses spec text; `url` must be a plain `ws://host:port`.
    pub fn parse(file: &str, text: &str) -> Result<Self, SpecError> {
        let spec: ServerSpec = serde_json::from_str(text).map_err(|e| SpecError {
            file: file.to_owned(),
            message: e.to_string(),
        })?;
        spec.listen_addr().map_err(|message| SpecError {
            file: file.to_owned(),
            message,
        })?;
        Ok(spec)
    }

    /// Where to listen: the host and port of `url`.
    pub fn listen_addr(&self) -> Result<String, String> {
        let url = url::Url::parse(&self.url).map_err(|e| format!("url {:?}: {e}", self.url))?;
        if url.scheme() != "ws" {
            return Err(format!(
                "url {:?}: wsconform serve listens for ws:// (no TLS)",
                self.url
            ));
        }
        let host = url
            .host_str()
            .ok_or_else(|| format!("url {:?} has no host", self.url))?;
        Ok(format!("{host}:{}", url.port().unwrap_or(80)))
    }

    /// The case patterns not run for `agent`.
    pub fn excluded_for(&self, agent: &str) -> Vec<String> {
        excluded_for(&self.exclude_agent_cases, agent)
    }
}

/// A spec file's name and text.
fn read(path: &Path) -> Result<(String, String), SpecError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| SpecError {
        file: file.clone(),
        message: e.to_string(),
    })?;
    Ok((file, text))
}

/// The case patterns of `exclusions` (agent pattern → case patterns) for `agent`.
fn excluded_for(exclusions: &BTreeMap<String, Vec<String>>, agent: &str) -> Vec<String> {
    exclusions
        .iter()
        .filter(|(pattern, _)| crate::cases::matches_anchored(pattern, agent))
        .flat_map(|(_, cases)| cases.iter().cloned())
        .collect()
}

/// The timeout options a spec may set.
pub const TIMEOUTS: [&str; 3] = [
    "openHandshakeTimeout",
    "closeHandshakeTimeout",
    "serverConnectionDropTimeout",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_autobahns_example() {
        let spec = Spec::parse(
            "fuzzingclient.json",
            r#"{
              "outdir": "./reports/servers",
              "options": {"failByDrop": false, "closeHandshakeTimeout": 2},
              "servers": [
                {"agent": "MyServer/1.0", "url": "ws://127.0.0.1:9001",
                 "options": {"version": 18}, "origin": "http://example.com",
                 "protocols": ["chat"], "hostname": "sni.example.com"}
              ],
              "cases": ["*"],
              "exclude-cases": ["9.*", "12.*", "13.*"],
              "exclude-agent-cases": {"MyServer*": ["6.4.*"]}
            }"#,
        )
        .expect("valid");
        let server = &spec.servers[0];
        assert_eq!(server.agent.as_deref(), Some("MyServer/1.0"));
        assert_eq!(spec.timeout(server, "closeHandshakeTimeout"), Some(2.0));
        assert_eq!(spec.excluded_for("MyServer/1.0"), ["6.4.*"]);
        assert!(spec.excluded_for("Other").is_empty());
        assert_eq!(spec.exclude_cases, ["9.*", "12.*", "13.*"]);
    }

    #[test]
    fn parses_a_fuzzingserver_spec() {
        let spec = ServerSpec::parse(
            "fuzzingserver.json",
            r#"{"url": "ws://127.0.0.1:9001", "outdir": "./reports/clients",
                "options": {"failByDrop": false}, "webport": 8080,
                "cases": ["1.*"], "exclude-cases": ["1.1.8"],
                "exclude-agent-cases": {"Tung*": ["1.2.*"]}}"#,
        )
        .expect("valid");
        assert_eq!(spec.listen_addr(), Ok("127.0.0.1:9001".into()));
        assert_eq!(spec.excluded_for("Tungstenite/0.30"), ["1.2.*"]);
        assert!(spec.excluded_for("ws").is_empty());
        let defaults = ServerSpec::parse("s.json", "{}").expect("defaults");
        assert_eq!(defaults.cases, ["*"]);
        assert_eq!(defaults.outdir, "./reports/clients");
        let err = ServerSpec::parse("s.json", r#"{"url": "wss://127.0.0.1:9001"}"#).unwrap_err();
        assert!(err.to_string().starts_with("s.json: url"), "{err}");
        assert!(ServerSpec::parse("s.json", r#"{"url": "not a url"}"#).is_err());
    }

    #[test]
    fn errors_name_the_file_and_the_problem() {
        let err = Spec::parse("s.json", r#"{"servers": [{"agent": "x"}]}"#).unwrap_err();
        assert!(
            err.to_string().starts_with("s.json: missing field `url`"),
            "{err}"
        );
        let err = Spec::parse("s.json", r#"{"servers": []}"#).unwrap_err();
        assert!(err.message.contains("`servers` is empty"), "{err}");
        let err = Spec::parse("s.json", "{ not json").unwrap_err();
        assert!(err.message.contains("line 1"), "{err}");
        let err = Spec::parse(
            "s.json",
            r#"{"servers": [{"url": "ws://x"}], "options": {"openHandshakeTimeout": "5"}}"#,
        )
        .unwrap_err();
        assert!(err.message.contains("openHandshakeTimeout"), "{err}");
    }
}
