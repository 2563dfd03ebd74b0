//! The sending half's one rule: masking by side, RFC 6455 §5.1 and §5.3.
//!
//! "A client MUST mask all frames that it sends to the server"; "A server MUST NOT mask any
//! frames that it sends to the client"; the key is "a new masking key ... chosen randomly"
//! for each frame (§5.3). A [`Writer`] applies that rule for its [`Side`]; a test step may
//! override it on purpose with another [`Masking`].

use crate::Side;
use crate::wire::RawFrame;

/// How one frame is masked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Masking {
    /// As the side requires: a client masks with a fresh random key, a server does not mask.
    #[default]
    BySide,
    /// Masked with a fresh random key, whatever the side (a server breaking §5.1).
    Masked,
    /// Masked with this key (the all-zero key, a reused key).
    Key([u8; 4]),
    /// Not masked, whatever the side (a client breaking §5.1).
    Unmasked,
}

/// Masks outgoing frames for one side, with its own key generator.
#[derive(Debug, Clone)]
pub struct Writer {
    side: Side,
    rng: fastrand::Rng,
}

impl Writer {
    /// A writer for `side` with a random seed.
    pub fn new(side: Side) -> Self {
        Self {
            side,
            rng: fastrand::Rng::new(),
        }
    }

    /// A writer whose keys follow `seed` (deterministic tests and replays).
    pub fn with_seed(side: Side, seed: u64) -> Self {
        Self {
            side,
            rng: fastrand::Rng::with_seed(seed),
        }
    }

    /// The side.
    pub fn side(&self) -> Side {
        self.side
    }

    /// A fresh masking key (RFC 6455 §5.3: "derived from a strong source of entropy" for a
    /// real client; a test harness needs it unpredictable only to the peer).
    pub fn key(&mut self) -> [u8; 4] {
        self.rng.u32(..).to_ne_bytes()
    }

    /// The key `masking` gives for the next frame, if the frame is to be masked.
    pub fn key_for(&mut self, masking: Masking) -> Option<[u8; 4]> {
        match masking {
            Masking::BySide if self.side == Side::Client => Some(self.key()),
            Masking::BySide | Masking::Unmasked => None,
            Masking::Masked => Some(self.key()),
            Masking::Key(key) => Some(key),
        }
    }

    /// `frame` masked as `masking` says.
    pub fn mask(&mut self, frame: RawFrame, masking: Masking) -> RawFrame {
        match self.key_for(masking) {
            Some(key) => frame.masked(key),
            None => frame.unmasked(),
        }
    }

    /// The wire bytes of `frame`, masked as `masking` says.
    pub fn encode(&mut self, frame: RawFrame, masking: Masking) -> Vec<u8> {
        self.mask(frame, masking).to_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_side_decides_unless_the_step_overrides() {
        let mut client = Writer::with_seed(Side::Client, 7);
        let mut server = Writer::with_seed(Side::Server, 7);
        let frame = RawFrame::text("x");
        let a = client.mask(frame.clone(), Masking::BySide).mask;
        let b = client.mask(frame.clone(), Masking::BySide).mask;
        assert!(a.is_some() && a != b, "a fresh key for each frame");
        assert_eq!(server.mask(frame.clone(), Masking::BySide).mask, None);
        assert!(server.mask(frame.clone(), Masking::Masked).mask.is_some());
        assert_eq!(client.mask(frame.clone(), Masking::Unmasked).mask, None);
        let zero = client.mask(frame, Masking::Key([0; 4]));
        assert_eq!(zero.mask, Some([0; 4]));
    }
}
