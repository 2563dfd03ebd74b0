//! `Sec-WebSocket-Extensions` and `Sec-WebSocket-Protocol` values, RFC 6455 §9.1 and §11.3.4.
//!
//! ```text
//! Sec-WebSocket-Extensions = extension-list
//! extension-list = 1#extension
//! extension = extension-token *( ";" extension-param )
//! extension-param = token [ "=" (token | quoted-string) ]
//! ```

/// One extension offered or accepted, with its parameters in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Extension {
    /// The extension token, such as `permessage-deflate`.
    pub name: String,
    /// The parameters.
    pub params: Vec<ExtensionParam>,
}

/// One `name[=value]` extension parameter; a quoted value is unquoted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtensionParam {
    /// The parameter name.
    pub name: String,
    /// The value, if one was given.
    pub value: Option<String>,
}

/// Why a header value does not follow the grammar.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HeaderSyntaxError {
    /// An empty element where a token was required.
    #[error("empty element in {0:?}")]
    Empty(String),
    /// A character outside the token alphabet of RFC 2616 §2.2.
    #[error("{0:?} is not a token")]
    NotAToken(String),
    /// A quoted-string with no closing quote.
    #[error("unterminated quoted-string in {0:?}")]
    UnterminatedQuote(String),
    /// The header is not UTF-8 (header values are ASCII by the grammar).
    #[error("header value is not ASCII")]
    NotAscii,
}

/// RFC 2616 §2.2 `token`: 1*<any CHAR except CTLs or separators>.
pub(crate) fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_graphic() && !b"()<>@,;:\\\"/[]?={}".contains(&b))
}

/// Splits `s` at `sep` outside quoted-strings.
fn split_outside_quotes(s: &str, sep: u8) -> Result<Vec<&str>, HeaderSyntaxError> {
    let mut parts = Vec::new();
    let (mut start, mut quoted, mut escaped) = (0, false, false);
    for (i, b) in s.bytes().enumerate() {
        if escaped {
            escaped = false;
        } else if quoted && b == b'\\' {
            escaped = true;
        } else if b == b'"' {
            quoted = !quoted;
        } else if b == sep && !quoted {
            parts.push(&s[start..i]);
            start = i + 1;
        }
    }
    if quoted {
        return Err(HeaderSyntaxError::UnterminatedQuote(s.to_owned()));
    }
    parts.push(&s[start..]);
    Ok(parts)
}

fn unquote(value: &str) -> Result<String, HeaderSyntaxError> {
    match value.strip_prefix('"') {
        Some(inner) => {
            let inner = inner
                .strip_suffix('"')
                .ok_or_else(|| HeaderSyntaxError::UnterminatedQuote(value.to_owned()))?;
            let mut out = String::new();
            let mut chars = inner.chars();
            while let Some(c) = chars.next() {
                out.push(if c == '\\' {
                    chars.next().unwrap_or('\\')
                } else {
                    c
                });
            }
            Ok(out)
        }
        None if is_token(value) => Ok(value.to_owned()),
        None => Err(HeaderSyntaxError::NotAToken(value.to_owned())),
    }
}

/// Parses every `Sec-WebSocket-Extensions` value (the header may be repeated) into one list.
pub fn parse_extensions<'a>(
    values: impl IntoIterator<Item = &'a [u8]>,
) -> Result<Vec<Extension>, HeaderSyntaxError> {
    let mut out = Vec::new();
    for value in values {
        let value = std::str::from_utf8(value).map_err(|_| HeaderSyntaxError::NotAscii)?;
        for item in split_outside_quotes(value, b',')? {
            let item = item.trim();
            if item.is_empty() {
                // RFC 2616 §2.1 `#rule`: empty list elements are allowed and ignored.
                continue;
            }
            let mut pieces = split_outside_quotes(item, b';')?.into_iter();
            let name = pieces.next().unwrap_or_default().trim();
            if !is_token(name) {
                return Err(HeaderSyntaxError::NotAToken(name.to_owned()));
            }
            let mut params = Vec::new();
            for piece in pieces {
                let piece = piece.trim();
                if piece.is_empty() {
                    return Err(HeaderSyntaxError::Empty(item.to_owned()));
                }
                let (pname, value) = match piece.split_once('=') {
                    Some((n, v)) => (n.trim(), Some(unquote(v.trim())?)),
                    None => (piece, None),
                };
                if !is_token(pname) {
                    return Err(HeaderSyntaxError::NotAToken(pname.to_owned()));
                }
                params.push(ExtensionParam {
                    name: pname.to_owned(),
                    value,
                });
            }
            out.push(Extension {
                name: name.to_owned(),
                params,
            });
        }
    }
    Ok(out)
}

/// Parses `Sec-WebSocket-Protocol` values: a comma-separated list of tokens (§11.3.4).
pub fn parse_subprotocols<'a>(
    values: impl IntoIterator<Item = &'a [u8]>,
) -> Result<Vec<String>, HeaderSyntaxError> {
    let mut out = Vec::new();
    for value in values {
        let value = std::str::from_utf8(value).map_err(|_| HeaderSyntaxError::NotAscii)?;
        for item in value.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            if !is_token(item) {
                return Err(HeaderSyntaxError::NotAToken(item.to_owned()));
            }
            out.push(item.to_owned());
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_rfc7692_offers() {
        let exts = parse_extensions([
            &b"permessage-deflate; client_max_window_bits, permessage-deflate; server_max_window_bits=\"10\""[..],
            b"x-foo",
        ])
        .expect("valid");
        assert_eq!(exts.len(), 3);
        assert_eq!(exts[0].name, "permessage-deflate");
        assert_eq!(exts[0].params[0].name, "client_max_window_bits");
        assert_eq!(exts[0].params[0].value, None);
        assert_eq!(exts[1].params[0].value.as_deref(), Some("10"));
        assert_eq!(exts[2].name, "x-foo");
    }

    #[test]
    fn rejects_bad_syntax() {
        assert!(matches!(
            parse_extensions([&b"a b"[..]]),
            Err(HeaderSyntaxError::NotAToken(_))
        ));
        assert!(matches!(
            parse_extensions([&b"a; p=\"x"[..]]),
            Err(HeaderSyntaxError::UnterminatedQuote(_))
        ));
        assert!(matches!(
            parse_extensions([&b"a;;"[..]]),
            Err(HeaderSyntaxError::Empty(_))
        ));
        assert!(matches!(
            parse_extensions([&b"\xff"[..]]),
            Err(HeaderSyntaxError::NotAscii)
        ));
    }

    #[test]
    fn subprotocols() {
        assert_eq!(
            parse_subprotocols([&b"chat, superchat"[..], b"v2"]).expect("valid"),
            ["chat", "superchat", "v2"]
        );
        assert!(parse_subprotocols([&b"a/b"[..]]).is_err());
    }
}
