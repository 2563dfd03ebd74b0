//! The opening handshake request, RFC 6455 §4.1.
//!
//! The builder starts from a valid request and lets a test bend it any way: set, remove,
//! repeat or reorder headers, change the request line, or replace the whole thing with raw
//! bytes. Header names keep the case they were given, so case-sensitivity tests are possible.

use super::accept::{accept_key, generate_key};

/// A client handshake request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// The method, `GET` for a valid request.
    pub method: String,
    /// The request target: the resource name, such as `/chat?x=1`.
    pub target: String,
    /// The HTTP version, `HTTP/1.1` for a valid request.
    pub version: String,
    headers: Vec<(String, Vec<u8>)>,
    raw: Option<Vec<u8>>,
}

impl Request {
    /// A valid RFC 6455 §4.1 request for `target` on `host` (the `Host` header value,
    /// with the port when it is not the scheme's default), with a fresh random key.
    pub fn new(host: &str, target: &str) -> Self {
        let mut request = Self {
            method: "GET".into(),
            target: target.into(),
            version: "HTTP/1.1".into(),
            headers: Vec::new(),
            raw: None,
        };
        request
            .append("Host", host)
            .append("Upgrade", "websocket")
            .append("Connection", "Upgrade")
            .append("Sec-WebSocket-Key", generate_key())
            .append("Sec-WebSocket-Version", "13")
            .append(
                "User-Agent",
                concat!("wsconform/", env!("CARGO_PKG_VERSION")),
            );
        request
    }

    /// Sets `name` to `value`: the first header of that name (ignoring case) keeps its place
    /// and takes the value, any others are removed; with none, the header is appended.
    pub fn set(&mut self, name: &str, value: impl Into<Vec<u8>>) -> &mut Self {
        let value = value.into();
        match self.position(name) {
            Some(i) => {
                self.headers[i].1 = value;
                let mut seen = 0;
                self.headers.retain(|(n, _)| {
                    let same = n.eq_ignore_ascii_case(name);
                    seen += usize::from(same);
                    !same || seen == 1
                });
            }
            None => self.headers.push((name.into(), value)),
        }
        self
    }

    /// Appends a header, even if one of that name is present (a repeated header).
    pub fn append(&mut self, name: &str, value: impl Into<Vec<u8>>) -> &mut Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Inserts a header at `index` (clamped to the end).
    pub fn insert(&mut self, index: usize, name: &str, value: impl Into<Vec<u8>>) -> &mut Self {
        let index = index.min(self.headers.len());
        self.headers.insert(index, (name.into(), value.into()));
        self
    }

    /// Removes every header called `name`, ignoring case.
    pub fn remove(&mut self, name: &str) -> &mut Self {
        self.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        self
    }

    /// Moves every header called `name` to position `index`, keeping their order.
    pub fn move_to(&mut self, name: &str, index: usize) -> &mut Self {
        let (moved, mut rest): (Vec<_>, Vec<_>) = self
            .headers
            .drain(..)
            .partition(|(n, _)| n.eq_ignore_ascii_case(name));
        let index = index.min(rest.len());
        rest.splice(index..index, moved);
        self.headers = rest;
        self
    }

    /// Replaces the whole request with `bytes`, sent as they are.
    pub fn raw(&mut self, bytes: impl Into<Vec<u8>>) -> &mut Self {
        self.raw = Some(bytes.into());
        self
    }

    /// The headers, in order, for any change the helpers do not cover.
    pub fn headers_mut(&mut self) -> &mut Vec<(String, Vec<u8>)> {
        &mut self.headers
    }

    /// The headers, in order.
    pub fn headers(&self) -> &[(String, Vec<u8>)] {
        &self.headers
    }

    /// The first value of `name`, ignoring case.
    pub fn header(&self, name: &str) -> Option<&[u8]> {
        self.position(name).map(|i| self.headers[i].1.as_slice())
    }

    /// The `Sec-WebSocket-Accept` a conforming server answers this request with, computed from
    /// the first `Sec-WebSocket-Key` (none if the key was removed).
    pub fn expected_accept(&self) -> Option<String> {
        self.header("Sec-WebSocket-Key").map(accept_key)
    }

    /// The bytes on the wire.
    pub fn to_bytes(&self) -> Vec<u8> {
        if let Some(raw) = &self.raw {
            return raw.clone();
        }
        let mut out = Vec::with_capacity(256);
        out.extend_from_slice(
            format!("{} {} {}\r\n", self.method, self.target, self.version).as_bytes(),
        );
        for (name, value) in &self.headers {
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(b": ");
            out.extend_from_slice(value);
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b"\r\n");
        out
    }

    fn position(&self, name: &str) -> Option<usize> {
        self.headers
            .iter()
            .position(|(n, _)| n.eq_ignore_ascii_case(name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(r: &Request) -> String {
        String::from_utf8(r.to_bytes()).expect("ascii")
    }

    #[test]
    fn default_request_is_rfc_shaped() {
        let r = Request::new("example.com:9001", "/chat?x=1");
        let t = text(&r);
        assert!(
            t.starts_with("GET /chat?x=1 HTTP/1.1\r\nHost: example.com:9001\r\n"),
            "{t}"
        );
        assert!(t.contains("\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"));
        assert!(t.contains("\r\nSec-WebSocket-Version: 13\r\n"));
        assert!(t.ends_with("\r\n\r\n"));
        assert_eq!(
            r.expected_accept(),
            Some(accept_key(r.header("sec-websocket-key").expect("key")))
        );
    }

    #[test]
    fn set_remove_repeat_reorder() {
        let mut r = Request::new("h", "/");
        r.append("X-A", "1").append("x-a", "2").set("X-A", "3");
        assert_eq!(
            r.headers()
                .iter()
                .filter(|(n, _)| n.eq_ignore_ascii_case("x-a"))
                .count(),
            1
        );
        assert_eq!(r.header("x-a"), Some(&b"3"[..]));
        r.remove("Sec-WebSocket-Key");
        assert_eq!(r.expected_accept(), None);
        r.append("Sec-WebSocket-Version", "8")
            .move_to("sec-websocket-version", 0);
        assert_eq!(r.headers()[0].1, b"13");
        assert_eq!(r.headers()[1].1, b"8");
        r.insert(100, "Last", "x");
        assert_eq!(r.headers().last().expect("header").0, "Last");
        r.method = "POST".into();
        assert!(text(&r).starts_with("POST / HTTP/1.1\r\nSec-WebSocket-Version: 13\r\n"));
        r.raw(b"garbage\n".to_vec());
        assert_eq!(r.to_bytes(), b"garbage\n");
    }
}
