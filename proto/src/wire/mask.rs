//! Client-to-server masking, RFC 6455 §5.3.
//!
//! "Octet i of the transformed data ("transformed-octet-i") is the XOR of octet i of the
//! original data ("original-octet-i") with octet at index i modulo 4 of the masking key
//! ("masking-key-octet-j")." Masking is its own inverse.
//!
//! The hot path works a 64-bit word at a time (the compiler widens it further); only the
//! short tail goes byte by byte.

/// Masks or unmasks `data` in place with `key`, as if `data` started at payload offset 0.
pub fn apply_mask(data: &mut [u8], key: [u8; 4]) {
    apply_mask_offset(data, key, 0);
}

/// Masks or unmasks `data` in place, where `data[0]` is payload octet number `offset`.
///
/// This lets a payload be unmasked in pieces as it arrives.
pub fn apply_mask_offset(data: &mut [u8], key: [u8; 4], offset: usize) {
    // Rotate the key so that index 0 lines up with `data[0]`.
    let mut key = key;
    key.rotate_left(offset % 4);

    // Fixed-size chunks, which the optimiser turns into wide loads and stores; no `unsafe`.
    let word = u64::from_ne_bytes([
        key[0], key[1], key[2], key[3], key[0], key[1], key[2], key[3],
    ]);
    let mut chunks = data.chunks_exact_mut(32);
    for chunk in &mut chunks {
        for lane in chunk.chunks_exact_mut(8) {
            let lane: &mut [u8; 8] = lane.try_into().expect("chunks_exact_mut(8) yields 8 bytes");
            *lane = (u64::from_ne_bytes(*lane) ^ word).to_ne_bytes();
        }
    }
    let tail = chunks.into_remainder();
    let mut lanes = tail.chunks_exact_mut(8);
    for lane in &mut lanes {
        let lane: &mut [u8; 8] = lane.try_into().expect("chunks_exact_mut(8) yields 8 bytes");
        *lane = (u64::from_ne_bytes(*lane) ^ word).to_ne_bytes();
    }
    // Every chunk so far was a multiple of 8 bytes long, so the key phase is unchanged here.
    for (i, byte) in lanes.into_remainder().iter_mut().enumerate() {
        *byte ^= key[i % 4];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(data: &mut [u8], key: [u8; 4], offset: usize) {
        for (i, b) in data.iter_mut().enumerate() {
            *b ^= key[(offset + i) % 4];
        }
    }

    #[test]
    fn matches_the_rfc_definition_for_every_length_and_offset() {
        let key = [0x37, 0xfa, 0x21, 0x3d];
        for len in 0..80 {
            for offset in 0..8 {
                let original: Vec<u8> = (0..len as u8).map(|b| b.wrapping_mul(31)).collect();
                let mut fast = original.clone();
                let mut slow = original.clone();
                apply_mask_offset(&mut fast, key, offset);
                naive(&mut slow, key, offset);
                assert_eq!(fast, slow, "len {len} offset {offset}");
            }
        }
    }

    #[test]
    fn rfc_example_hello() {
        // RFC 6455 §5.7: "A single-frame masked text message".
        let mut payload = *b"Hello";
        apply_mask(&mut payload, [0x37, 0xfa, 0x21, 0x3d]);
        assert_eq!(payload, [0x7f, 0x9f, 0x4d, 0x51, 0x58]);
    }

    #[test]
    fn pieces_unmask_like_the_whole() {
        let key = [1, 2, 3, 4];
        let mut whole: Vec<u8> = (0..100).collect();
        let mut pieces = whole.clone();
        apply_mask(&mut whole, key);
        let (a, b) = pieces.split_at_mut(13);
        apply_mask_offset(a, key, 0);
        apply_mask_offset(b, key, 13);
        assert_eq!(whole, pieces);
    }
}
