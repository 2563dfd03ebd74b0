//! The `Sec-WebSocket-Key` / `Sec-WebSocket-Accept` pair, RFC 6455 §4.2.2 and §4.1.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use sha1::{Digest, Sha1};

/// The GUID RFC 6455 §1.3 concatenates with the key.
pub const WEBSOCKET_GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// A fresh `Sec-WebSocket-Key`: "a randomly selected 16-byte value that has been
/// base64-encoded" (RFC 6455 §4.1).
pub fn generate_key() -> String {
    let mut nonce = [0u8; 16];
    fastrand::fill(&mut nonce);
    STANDARD.encode(nonce)
}

/// The 16 bytes of a `Sec-WebSocket-Key` (as sent, trimmed), if it is base64 of 16 bytes
/// (RFC 6455 §4.2.1 item 5).
pub fn decode_key(key: &[u8]) -> Option<[u8; 16]> {
    STANDARD.decode(key.trim_ascii()).ok()?.try_into().ok()
}

/// The `Sec-WebSocket-Accept` value a server must answer `key` with: the base64 of the SHA-1
/// of the key (as sent, trimmed) concatenated with the GUID (RFC 6455 §4.2.2, step 5.4).
pub fn accept_key(key: &[u8]) -> String {
    let mut sha = Sha1::new();
    sha.update(key.trim_ascii());
    sha.update(WEBSOCKET_GUID.as_bytes());
    STANDARD.encode(sha.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_example() {
        // RFC 6455 §1.3.
        assert_eq!(
            accept_key(b"dGhlIHNhbXBsZSBub25jZQ=="),
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
    }

    #[test]
    fn generated_keys_are_16_bytes_base64() {
        let key = generate_key();
        assert_eq!(key.len(), 24);
        assert!(key.ends_with("=="));
        assert_eq!(STANDARD.decode(&key).expect("base64").len(), 16);
        assert_ne!(key, generate_key());
    }
}
