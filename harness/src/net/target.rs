//! Parsing the target URL, RFC 6455 §3.

use url::Url;

use super::memory::InProcess;

/// A parsed `ws://` or `wss://` target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The URL as given.
    pub url: String,
    /// `wss://`.
    pub secure: bool,
    /// The host, without brackets for IPv6.
    pub host: String,
    /// The port (the scheme's default when none was given).
    pub port: u16,
    /// The resource name: path and query (§3: "/" when the path is empty).
    pub resource: String,
    /// Served in this process: connections are in-memory pipes, not sockets.
    pub in_process: Option<InProcess>,
}

/// Why a URL is not a usable target.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    /// Not a URL at all.
    #[error("invalid URL {url:?}: {reason}")]
    Invalid {
        /// The input.
        url: String,
        /// The parser's complaint.
        reason: String,
    },
    /// A scheme other than ws or wss.
    #[error("unsupported scheme {scheme:?} in {url:?}: use ws:// or wss://")]
    Scheme {
        /// The input.
        url: String,
        /// The scheme.
        scheme: String,
    },
    /// No host.
    #[error("URL {0:?} has no host")]
    NoHost(String),
    /// §3: "Fragment identifiers are meaningless in the context of WebSocket URIs and MUST
    /// NOT be used on these URIs."
    #[error("URL {0:?} has a fragment, which WebSocket URIs must not have (RFC 6455 §3)")]
    Fragment(String),
}

impl Target {
    /// Parses `url`.
    pub fn parse(url: &str) -> Result<Self, TargetError> {
        let parsed = Url::parse(url).map_err(|e| TargetError::Invalid {
            url: url.to_owned(),
            reason: e.to_string(),
        })?;
        let secure = match parsed.scheme() {
            "ws" => false,
            "wss" => true,
            other => {
                return Err(TargetError::Scheme {
                    url: url.to_owned(),
                    scheme: other.to_owned(),
                });
            }
        };
        if parsed.fragment().is_some() {
            return Err(TargetError::Fragment(url.to_owned()));
        }
        let host = match parsed.host() {
            Some(url::Host::Ipv6(ip)) => ip.to_string(),
            Some(host) => host.to_string(),
            None => return Err(TargetError::NoHost(url.to_owned())),
        };
        if host.is_empty() {
            return Err(TargetError::NoHost(url.to_owned()));
        }
        let port = parsed
            .port_or_known_default()
            .unwrap_or(if secure { 443 } else { 80 });
        let mut resource = parsed.path().to_owned();
        if resource.is_empty() {
            resource.push('/');
        }
        if let Some(query) = parsed.query() {
            resource.push('?');
            resource.push_str(query);
        }
        Ok(Self {
            url: url.to_owned(),
            secure,
            host,
            port,
            resource,
            in_process: None,
        })
    }

    /// A target served in this process by `server`, named by `url` (for the Host header and
    /// the resource name; nothing is resolved or connected).
    pub fn in_process(url: &str, server: InProcess) -> Result<Self, TargetError> {
        let mut target = Self::parse(url)?;
        target.in_process = Some(server);
        Ok(target)
    }

    /// The `Host` header value (§4.1 item 4): the host, bracketed if IPv6, with the port when
    /// it is not the scheme's default.
    pub fn host_header(&self) -> String {
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        let default = if self.secure { 443 } else { 80 };
        if self.port == default {
            host
        } else {
            format!("{host}:{}", self.port)
        }
    }

    /// `host:port` for connecting.
    pub fn authority(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_targets() {
        let t = Target::parse("ws://127.0.0.1:9001").expect("valid");
        assert_eq!((t.secure, t.port, t.resource.as_str()), (false, 9001, "/"));
        assert_eq!(t.host_header(), "127.0.0.1:9001");
        let t = Target::parse("wss://Example.com/chat?room=1").expect("valid");
        assert_eq!(
            (t.secure, t.port, t.host.as_str()),
            (true, 443, "example.com")
        );
        assert_eq!(t.resource, "/chat?room=1");
        assert_eq!(t.host_header(), "example.com");
        let t = Target::parse("ws://[::1]:8080/x").expect("valid");
        assert_eq!(t.authority(), "[::1]:8080");
        assert_eq!(t.host_header(), "[::1]:8080");
    }

    #[test]
    fn rejects_bad_urls() {
        assert!(matches!(
            Target::parse("not a url"),
            Err(TargetError::Invalid { .. })
        ));
        assert!(matches!(
            Target::parse("http://x/"),
            Err(TargetError::Scheme { .. })
        ));
        assert!(matches!(
            Target::parse("ws://x/#frag"),
            Err(TargetError::Fragment(_))
        ));
        assert!(Target::parse("ws://").is_err());
        assert!(Target::parse("ws://:80/").is_err());
    }
}
