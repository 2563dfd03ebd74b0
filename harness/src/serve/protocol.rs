//! Autobahn's fuzzingserver URL protocol, sans-IO: what a client driver asks for, from the
//! request target of its opening handshake (every request is a WebSocket connection).
//!
//! The drivers of tungstenite, ws, Python websockets, aiohttp and others call, in order:
//! `/getCaseCount` (a text message with the number of cases), then for each case N (1-based)
//! `/runCase?case=N&agent=A` (the case runs on that connection) and maybe
//! `/getCaseInfo?case=N` and `/getCaseStatus?case=N&agent=A`, and finally
//! `/updateReports?agent=A` (the reports are written, then the server closes).

/// One request of the protocol.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// `/getCaseCount`: the number of cases in the selection.
    CaseCount,
    /// `/getCaseInfo?case=N`: the case's id and description, as JSON.
    CaseInfo {
        /// 1-based, in the sorted selection.
        case: usize,
    },
    /// `/runCase?case=N&agent=A`: run the case on this connection.
    RunCase {
        /// 1-based, in the sorted selection.
        case: usize,
        /// The client's name, percent-decoded.
        agent: String,
    },
    /// `/getCaseStatus?case=N&agent=A`: the case's verdict, once it has one.
    CaseStatus {
        /// 1-based.
        case: usize,
        /// The client's name.
        agent: String,
    },
    /// `/updateReports?agent=A`: write the reports (the agent is informative only).
    UpdateReports {
        /// The client's name, if given.
        agent: Option<String>,
    },
    /// `/redirected/TOKEN`: a client that followed a case's redirect (section 20); the token
    /// names the case run.
    Redirected {
        /// The case run's token.
        token: String,
    },
}

/// Why a request target is not one of the protocol's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProtocolError {
    /// An unknown path.
    #[error(
        "unknown path {0:?} (expected /getCaseCount, /getCaseInfo, /runCase, /getCaseStatus or /updateReports)"
    )]
    UnknownPath(String),
    /// A required query parameter is missing.
    #[error("{path} needs the query parameter {name:?}")]
    Missing {
        /// The path.
        path: &'static str,
        /// The parameter.
        name: &'static str,
    },
    /// `case` is not a positive number.
    #[error("case={0:?} is not a case number (1, 2, ...)")]
    BadCase(String),
    /// A query value is not valid UTF-8 once decoded.
    #[error("query parameter {0:?} is not UTF-8 once percent-decoded")]
    NotUtf8(String),
}

/// Parses a request target (`/runCase?case=3&agent=tungstenite`; an absolute-form target's
/// path and query count the same).
pub fn parse(target: &str) -> Result<Request, ProtocolError> {
    // RFC 9112 §3.2.2: absolute-form; the path starts at the first '/' after the authority.
    let origin = match target.split_once("://") {
        Some((_, rest)) => rest.find('/').map_or("/", |i| &rest[i..]),
        None => target,
    };
    let (path, query) = origin.split_once('?').unwrap_or((origin, ""));
    let params = query_params(query)?;
    let get = |name: &'static str| {
        params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    let case = |path: &'static str| -> Result<usize, ProtocolError> {
        let value = get("case").ok_or(ProtocolError::Missing { path, name: "case" })?;
        value
            .parse::<usize>()
            .ok()
            .filter(|n| *n >= 1)
            .ok_or(ProtocolError::BadCase(value))
    };
    let agent = |path: &'static str| {
        get("agent").ok_or(ProtocolError::Missing {
            path,
            name: "agent",
        })
    };
    if let Some(token) = path.strip_prefix("/redirected/") {
        return Ok(Request::Redirected {
            token: token.to_owned(),
        });
    }
    match path.trim_end_matches('/') {
        "/getCaseCount" => Ok(Request::CaseCount),
        "/getCaseInfo" => Ok(Request::CaseInfo {
            case: case("/getCaseInfo")?,
        }),
        "/runCase" => Ok(Request::RunCase {
            case: case("/runCase")?,
            agent: agent("/runCase")?,
        }),
        "/getCaseStatus" => Ok(Request::CaseStatus {
            case: case("/getCaseStatus")?,
            agent: agent("/getCaseStatus")?,
        }),
        "/updateReports" => Ok(Request::UpdateReports {
            agent: get("agent"),
        }),
        _ => Err(ProtocolError::UnknownPath(path.to_owned())),
    }
}

/// `a=1&b=x%20y` as decoded pairs (`+` is a space, as form encoding writes it).
fn query_params(query: &str) -> Result<Vec<(String, String)>, ProtocolError> {
    let mut out = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let decode = |s: &str| {
            String::from_utf8(percent_decode(s)).map_err(|_| ProtocolError::NotUtf8(k.to_owned()))
        };
        out.push((decode(k)?, decode(v)?));
    }
    Ok(out)
}

/// `%XX` escapes and `+` decoded; a `%` without two hex digits stays as it is.
fn percent_decode(s: &str) -> Vec<u8> {
    let bytes = s.as_bytes();
    let hex = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push(h << 4 | l);
                    i += 3;
                    continue;
                }
                _ => out.push(b'%'),
            },
            b'+' => out.push(b' '),
            b => out.push(b),
        }
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_drivers_requests_parse() {
        assert_eq!(parse("/getCaseCount"), Ok(Request::CaseCount));
        assert_eq!(
            parse("/runCase?case=3&agent=Tungstenite"),
            Ok(Request::RunCase {
                case: 3,
                agent: "Tungstenite".into()
            })
        );
        // Agent names are percent-decoded (websockets sends its version with a slash).
        assert_eq!(
            parse("/runCase?agent=websockets%2F17.4&case=12"),
            Ok(Request::RunCase {
                case: 12,
                agent: "websockets/17.4".into()
            })
        );
        assert_eq!(
            parse("/getCaseStatus?case=1&agent=a+b"),
            Ok(Request::CaseStatus {
                case: 1,
                agent: "a b".into()
            })
        );
        assert_eq!(
            parse("/getCaseInfo?case=7"),
            Ok(Request::CaseInfo { case: 7 })
        );
        assert_eq!(
            parse("/updateReports?agent=ws"),
            Ok(Request::UpdateReports {
                agent: Some("ws".into())
            })
        );
        assert_eq!(
            parse("ws://127.0.0.1:9001/getCaseCount"),
            Ok(Request::CaseCount)
        );
    }

    #[test]
    fn bad_requests_say_why() {
        assert!(matches!(parse("/"), Err(ProtocolError::UnknownPath(_))));
        assert!(matches!(
            parse("/runCase?case=1"),
            Err(ProtocolError::Missing { name: "agent", .. })
        ));
        assert_eq!(
            parse("/runCase?case=0&agent=a"),
            Err(ProtocolError::BadCase("0".into()))
        );
        assert_eq!(
            parse("/runCase?case=x&agent=a"),
            Err(ProtocolError::BadCase("x".into()))
        );
        assert!(matches!(
            parse("/runCase?case=1&agent=%FF"),
            Err(ProtocolError::NotUtf8(_))
        ));
    }
}
