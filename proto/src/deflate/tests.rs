use super::*;
use crate::handshake::parse_extensions;

fn params(s: &str) -> DeflateParams {
    DeflateParams::parse(&parse_extensions([s.as_bytes()]).expect("parse")[0], false)
        .expect("valid")
}

#[test]
fn agreed_windows_by_side() {
    let answer = params(
        "permessage-deflate; server_max_window_bits=9; client_no_context_takeover; client_max_window_bits=12",
    );
    let client = DeflateConfig::agreed(Side::Client, &answer);
    assert_eq!((client.inflate_bits, client.inflate_takeover), (9, true));
    assert_eq!((client.deflate_bits, client.deflate_takeover), (12, false));
    let server = DeflateConfig::agreed(Side::Server, &answer);
    assert_eq!((server.inflate_bits, server.inflate_takeover), (12, false));
    assert_eq!((server.deflate_bits, server.deflate_takeover), (9, true));
}

#[test]
fn both_sides_round_trip() {
    let answer = params("permessage-deflate; server_no_context_takeover; server_max_window_bits=8");
    let mut client = PerMessageDeflate::new(DeflateConfig::agreed(Side::Client, &answer));
    let mut server = PerMessageDeflate::new(DeflateConfig::agreed(Side::Server, &answer));
    let mut rng = fastrand::Rng::with_seed(3);
    for i in 0..50 {
        let n = rng.usize(..3000);
        let text: Vec<u8> = (0..n).map(|_| b"ab cd"[rng.usize(..5)]).collect();
        let (rsv, wire) = server.encode_message(OpCode::TEXT, &text).expect("encode");
        assert_eq!(rsv, Rsv::RSV1);
        assert!(!wire.ends_with(&TAIL) || wire.len() < 4, "tail stripped");
        let back = client
            .decode_message(rsv, &wire, usize::MAX)
            .expect("decode");
        assert_eq!(back, text, "message {i}");
        let (rsv, wire) = client
            .encode_message(OpCode::BINARY, &text)
            .expect("encode");
        assert_eq!(server.decode_message(rsv, &wire, usize::MAX), Ok(text));
    }
    // RFC 7692 §7.2.3.6: an empty message is `00`.
    assert_eq!(
        server.encode_message(OpCode::TEXT, b"").map(|(_, w)| w),
        Ok(vec![0x00])
    );
}
