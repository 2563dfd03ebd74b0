//! permessage-deflate negotiation, RFC 7692 §7: which offers a server may accept, and
//! whether its answer describes one of them. Sans-IO; the offers and the answer are parsed
//! `Sec-WebSocket-Extensions` elements.

use super::extensions::{Extension, ExtensionParam};

/// The extension token.
pub const PERMESSAGE_DEFLATE: &str = "permessage-deflate";

const SERVER_NO_CONTEXT_TAKEOVER: &str = "server_no_context_takeover";
const CLIENT_NO_CONTEXT_TAKEOVER: &str = "client_no_context_takeover";
const SERVER_MAX_WINDOW_BITS: &str = "server_max_window_bits";
const CLIENT_MAX_WINDOW_BITS: &str = "client_max_window_bits";

/// The parameters of one permessage-deflate element, checked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeflateParams {
    /// `server_no_context_takeover`.
    pub server_no_context_takeover: bool,
    /// `client_no_context_takeover`.
    pub client_no_context_takeover: bool,
    /// `server_max_window_bits=N`.
    pub server_max_window_bits: Option<u8>,
    /// `client_max_window_bits` (with `Some(None)` for the bare form of an offer).
    pub client_max_window_bits: Option<Option<u8>>,
}

/// RFC 7692 §7.1.2.1: "The value MUST be an integer in the range 8 to 15 inclusive" with no
/// leading zeros (`1*DIGIT` read as a decimal without padding).
fn window_bits(value: &str) -> Option<u8> {
    let ok = !value.starts_with('0') && value.bytes().all(|b| b.is_ascii_digit());
    let bits: u8 = value.parse().ok().filter(|_| ok)?;
    (8..=15).contains(&bits).then_some(bits)
}

impl DeflateParams {
    /// Reads `ext`'s parameters. RFC 7692 §7: an element with "an extension parameter not
    /// defined for use in an offer/response", "an extension parameter with an invalid value"
    /// or "multiple extension parameters with the same name" is invalid. `offer` says whether
    /// the element is a client's offer (where `client_max_window_bits` may have no value).
    pub fn parse(ext: &Extension, offer: bool) -> Result<Self, String> {
        let mut out = Self::default();
        let mut seen: Vec<&str> = Vec::new();
        for ExtensionParam { name, value } in &ext.params {
            let name = name.as_str();
            if seen.iter().any(|s| s.eq_ignore_ascii_case(name)) {
                return Err(format!("parameter {name} appears twice"));
            }
            seen.push(name);
            let flag = |v: &Option<String>| match v {
                None => Ok(true),
                Some(v) => Err(format!("{name} takes no value, got {v:?}")),
            };
            let bits = |v: &Option<String>| match v.as_deref().map(|v| (v, window_bits(v))) {
                Some((_, Some(bits))) => Ok(bits),
                Some((v, None)) => Err(format!("{name}={v} is not 8-15")),
                None => Err(format!("{name} needs a value")),
            };
            match name.to_ascii_lowercase().as_str() {
                SERVER_NO_CONTEXT_TAKEOVER => out.server_no_context_takeover = flag(value)?,
                CLIENT_NO_CONTEXT_TAKEOVER => out.client_no_context_takeover = flag(value)?,
                SERVER_MAX_WINDOW_BITS => out.server_max_window_bits = Some(bits(value)?),
                CLIENT_MAX_WINDOW_BITS if offer && value.is_none() => {
                    out.client_max_window_bits = Some(None);
                }
                CLIENT_MAX_WINDOW_BITS => out.client_max_window_bits = Some(Some(bits(value)?)),
                _ => return Err(format!("unknown parameter {name}")),
            }
        }
        Ok(out)
    }

    /// Whether a response with these parameters accepts `offer` (RFC 7692 §7.1.1.1,
    /// §7.1.2.1, §7.1.2.2); the first rule it breaks otherwise.
    pub fn answers(&self, offer: &DeflateParams) -> Result<(), String> {
        if offer.server_no_context_takeover && !self.server_no_context_takeover {
            // §7.1.1.1: a server accepting an offer with server_no_context_takeover "MUST
            // include the server_no_context_takeover extension parameter in the response".
            return Err("the offer has server_no_context_takeover; the answer does not".into());
        }
        if let Some(n) = offer.server_max_window_bits {
            // §7.1.2.1: a server accepting the offer "MUST include the
            // server_max_window_bits extension parameter in the response with the same or
            // smaller value as the offer".
            match self.server_max_window_bits {
                Some(m) if m <= n => {}
                Some(m) => {
                    return Err(format!(
                        "server_max_window_bits={m} exceeds the {n} offered"
                    ));
                }
                None => {
                    return Err(format!(
                        "the offer has server_max_window_bits={n}; the answer does not"
                    ));
                }
            }
        }
        if let Some(bits) = self.client_max_window_bits {
            // §7.1.2.2: "If a received extension negotiation offer doesn't have the
            // client_max_window_bits extension parameter, the corresponding extension
            // negotiation response to the offer MUST NOT include the client_max_window_bits".
            match offer.client_max_window_bits {
                None => return Err("client_max_window_bits in the answer, not in the offer".into()),
                Some(Some(limit)) if bits.unwrap_or(15) > limit => {
                    return Err(format!(
                        "client_max_window_bits={} exceeds the {limit} offered",
                        bits.unwrap_or(15)
                    ));
                }
                Some(_) => {}
            }
        }
        Ok(())
    }
}

impl DeflateParams {
    /// The element as a `Sec-WebSocket-Extensions` value.
    pub fn to_header(&self) -> String {
        let mut out = PERMESSAGE_DEFLATE.to_owned();
        if self.server_no_context_takeover {
            out.push_str("; server_no_context_takeover");
        }
        if self.client_no_context_takeover {
            out.push_str("; client_no_context_takeover");
        }
        if let Some(n) = self.server_max_window_bits {
            out.push_str(&format!("; server_max_window_bits={n}"));
        }
        match self.client_max_window_bits {
            Some(Some(n)) => out.push_str(&format!("; client_max_window_bits={n}")),
            Some(None) => out.push_str("; client_max_window_bits"),
            None => {}
        }
        out
    }
}

/// A server's answer (RFC 7692 §7): the first valid permessage-deflate offer among `offers`,
/// accepted as it asks (its `server_no_context_takeover` and `server_max_window_bits`
/// granted), asking nothing of the client; `None` declines them all (invalid offers are
/// declined, §7: "a server MUST decline an extension negotiation offer" it cannot accept).
pub fn accept_first(offers: &[Extension]) -> Option<DeflateParams> {
    offers
        .iter()
        .filter(|e| e.name.eq_ignore_ascii_case(PERMESSAGE_DEFLATE))
        .find_map(|e| DeflateParams::parse(e, true).ok())
        .map(|offer| DeflateParams {
            server_no_context_takeover: offer.server_no_context_takeover,
            server_max_window_bits: offer.server_max_window_bits,
            ..DeflateParams::default()
        })
}

/// Autobahn's server-side accept rules for sections 12 and 13 (`autobahn-cases.md` §2.10):
/// how a harness playing the server answers a client's offers. Each grants what the offer asks
/// of the server (`server_no_context_takeover`, `server_max_window_bits`) and adds its own
/// request of the client. One deliberate difference: Autobahn answers an invalid offer (an
/// unknown parameter, a value out of range, a repeated parameter) with HTTP 400; RFC 7692 §7
/// says to decline it, which these rules do (the next offer is considered).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AcceptRule {
    /// 12.x and 13.1: the first offer, asking nothing of the client.
    First,
    /// 13.2: the first offer, asking `client_no_context_takeover`.
    ClientNoTakeover,
    /// 13.3 (9) and 13.4 (15): the first offer that has `client_max_window_bits`, asking for
    /// that window (no more than the offer allows, §7.1.2.2).
    ClientWindow(u8),
    /// 13.5 (9) and 13.6 (15): as [`AcceptRule::ClientWindow`], also asking
    /// `client_no_context_takeover`.
    ClientNoTakeoverWindow(u8),
    /// 13.7: [`AcceptRule::ClientNoTakeoverWindow`] with 9 bits, else
    /// [`AcceptRule::ClientNoTakeover`], else [`AcceptRule::First`].
    Chain,
}

impl AcceptRule {
    /// The rule of an Autobahn case id (`12.3.4`, `13.5.1`), if it is a 12.x or 13.x case.
    pub fn for_case(id: &str) -> Option<Self> {
        let mut parts = id.split('.');
        let (section, sub) = (parts.next()?, parts.next()?);
        Some(match (section, sub) {
            ("12", _) | ("13", "1") => Self::First,
            ("13", "2") => Self::ClientNoTakeover,
            ("13", "3") => Self::ClientWindow(9),
            ("13", "4") => Self::ClientWindow(15),
            ("13", "5") => Self::ClientNoTakeoverWindow(9),
            ("13", "6") => Self::ClientNoTakeoverWindow(15),
            ("13", "7") => Self::Chain,
            _ => return None,
        })
    }

    /// The answer to `offers` (the request's extension elements, in order), or `None` to
    /// decline (the case is then UNIMPLEMENTED).
    pub fn accept(self, offers: &[Extension]) -> Option<DeflateParams> {
        let valid: Vec<DeflateParams> = offers
            .iter()
            .filter(|e| e.name.eq_ignore_ascii_case(PERMESSAGE_DEFLATE))
            .filter_map(|e| DeflateParams::parse(e, true).ok())
            .collect();
        let granted = |offer: &DeflateParams| DeflateParams {
            server_no_context_takeover: offer.server_no_context_takeover,
            server_max_window_bits: offer.server_max_window_bits,
            ..DeflateParams::default()
        };
        let windowed = |bits: u8, no_takeover: bool| {
            valid.iter().find_map(|offer| {
                let limit = offer.client_max_window_bits?;
                Some(DeflateParams {
                    client_no_context_takeover: no_takeover,
                    client_max_window_bits: Some(Some(limit.map_or(bits, |l| bits.min(l)))),
                    ..granted(offer)
                })
            })
        };
        let first = valid.first();
        match self {
            Self::First => first.map(granted),
            Self::ClientNoTakeover => first.map(|o| DeflateParams {
                client_no_context_takeover: true,
                ..granted(o)
            }),
            Self::ClientWindow(bits) => windowed(bits, false),
            Self::ClientNoTakeoverWindow(bits) => windowed(bits, true),
            Self::Chain => Self::ClientNoTakeoverWindow(9)
                .accept(offers)
                .or_else(|| Self::ClientNoTakeover.accept(offers)),
        }
    }
}

/// Checks a server's permessage-deflate answer (`answer`, the response's extension elements)
/// against the client's `offers` (the request's elements, in order). Returns the rule broken.
pub fn check_answer(offers: &[Extension], answer: &[Extension]) -> Result<(), String> {
    let is_pmd = |e: &&Extension| e.name.eq_ignore_ascii_case(PERMESSAGE_DEFLATE);
    let accepted: Vec<&Extension> = answer.iter().filter(is_pmd).collect();
    let Some(first) = accepted.first() else {
        return Ok(());
    };
    if accepted.len() > 1 {
        // RFC 7692 §5: the offers are alternatives; the response describes one configuration.
        return Err(format!(
            "the response accepts permessage-deflate {} times; it must describe one configuration (RFC 7692 §5)",
            accepted.len()
        ));
    }
    let params = DeflateParams::parse(first, false)
        .map_err(|e| format!("the accepted permessage-deflate is malformed: {e} (RFC 7692 §7)"))?;
    let valid: Vec<DeflateParams> = offers
        .iter()
        .filter(is_pmd)
        .filter_map(|o| DeflateParams::parse(o, true).ok())
        .collect();
    if valid.is_empty() {
        return Err(
            "the server accepted permessage-deflate, but every offer was invalid and RFC 7692 §7 requires declining it"
                .into(),
        );
    }
    let mut first_problem = None;
    for offer in &valid {
        match params.answers(offer) {
            Ok(()) => return Ok(()),
            Err(e) => {
                first_problem.get_or_insert(e);
            }
        }
    }
    Err(format!(
        "the answer matches no valid offer: {} (RFC 7692 §7.1)",
        first_problem.unwrap_or_default()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::handshake::parse_extensions;

    fn exts(s: &str) -> Vec<Extension> {
        parse_extensions([s.as_bytes()]).expect("parse")
    }

    #[test]
    fn offer_validity() {
        let ok = |s: &str| DeflateParams::parse(&exts(s)[0], true).is_ok();
        assert!(ok("permessage-deflate"));
        assert!(ok("permessage-deflate; client_max_window_bits"));
        assert!(ok("permessage-deflate; server_max_window_bits=\"10\""));
        assert!(!ok("permessage-deflate; server_max_window_bits=7"));
        assert!(!ok("permessage-deflate; server_max_window_bits=16"));
        assert!(!ok("permessage-deflate; server_max_window_bits=08"));
        assert!(!ok("permessage-deflate; server_max_window_bits"));
        assert!(!ok("permessage-deflate; x_foo=1"));
        assert!(!ok("permessage-deflate; server_no_context_takeover=1"));
        assert!(!ok(
            "permessage-deflate; server_no_context_takeover; server_no_context_takeover"
        ));
    }

    #[test]
    fn autobahns_accept_rules_answer_as_its_table_says() {
        // autobahn-cases.md §2.10, "Server-mode response details": each offer and the answer
        // of 12.x/13.1, 13.2, 13.3, 13.5 and 13.7.
        let rows: [(&str, [Option<&str>; 5]); 4] = [
            (
                "permessage-deflate",
                [
                    Some("permessage-deflate"),
                    Some("permessage-deflate; client_no_context_takeover"),
                    None,
                    None,
                    Some("permessage-deflate; client_no_context_takeover"),
                ],
            ),
            (
                "permessage-deflate; client_max_window_bits",
                [
                    Some("permessage-deflate"),
                    Some("permessage-deflate; client_no_context_takeover"),
                    Some("permessage-deflate; client_max_window_bits=9"),
                    Some(
                        "permessage-deflate; client_no_context_takeover; client_max_window_bits=9",
                    ),
                    Some(
                        "permessage-deflate; client_no_context_takeover; client_max_window_bits=9",
                    ),
                ],
            ),
            (
                "permessage-deflate; server_no_context_takeover; client_max_window_bits",
                [
                    Some("permessage-deflate; server_no_context_takeover"),
                    Some(
                        "permessage-deflate; server_no_context_takeover; client_no_context_takeover",
                    ),
                    Some(
                        "permessage-deflate; server_no_context_takeover; client_max_window_bits=9",
                    ),
                    Some(
                        "permessage-deflate; server_no_context_takeover; client_no_context_takeover; client_max_window_bits=9",
                    ),
                    Some(
                        "permessage-deflate; server_no_context_takeover; client_no_context_takeover; client_max_window_bits=9",
                    ),
                ],
            ),
            (
                "permessage-deflate; server_max_window_bits=10",
                [
                    Some("permessage-deflate; server_max_window_bits=10"),
                    Some(
                        "permessage-deflate; server_max_window_bits=10; client_no_context_takeover",
                    ),
                    None,
                    None,
                    Some(
                        "permessage-deflate; server_max_window_bits=10; client_no_context_takeover",
                    ),
                ],
            ),
        ];
        let rules = ["12.1.1", "13.2.1", "13.3.1", "13.5.1", "13.7.1"]
            .map(|id| AcceptRule::for_case(id).expect(id));
        for (offer, answers) in rows {
            for (rule, answer) in rules.iter().zip(answers) {
                let want = answer.map(|a| DeflateParams::parse(&exts(a)[0], false).expect(a));
                let got = rule.accept(&exts(offer));
                assert_eq!(got, want, "{rule:?} on {offer}");
                if let Some(got) = got {
                    assert!(check_answer(&exts(offer), &exts(&got.to_header())).is_ok());
                }
            }
        }
        // 13.4 and 13.6 ask for 15 bits, but never more than the client offered.
        let capped = AcceptRule::ClientWindow(15)
            .accept(&exts("permessage-deflate; client_max_window_bits=10"))
            .expect("accepted");
        assert_eq!(capped.client_max_window_bits, Some(Some(10)));
        // An invalid offer is declined, and the next one answered (Autobahn: 400).
        let two = exts("permessage-deflate; x_foo=1, permessage-deflate; client_max_window_bits");
        assert!(AcceptRule::ClientWindow(9).accept(&two).is_some());
        assert_eq!(AcceptRule::for_case("9.1.1"), None);
        assert_eq!(
            AcceptRule::for_case("13.6.18"),
            Some(AcceptRule::ClientNoTakeoverWindow(15))
        );
    }

    #[test]
    fn the_first_valid_offer_is_accepted_as_asked() {
        let offers = exts(
            "permessage-deflate; x=1, permessage-deflate; server_no_context_takeover; server_max_window_bits=9; client_max_window_bits",
        );
        let answer = accept_first(&offers).expect("accepted");
        assert_eq!(
            answer.to_header(),
            "permessage-deflate; server_no_context_takeover; server_max_window_bits=9"
        );
        assert!(check_answer(&offers, &exts(&answer.to_header())).is_ok());
        assert_eq!(accept_first(&exts("permessage-deflate; x=1")), None);
    }

    #[test]
    fn answers() {
        let offers = exts("permessage-deflate; server_max_window_bits=10");
        assert!(
            check_answer(
                &offers,
                &exts("permessage-deflate; server_max_window_bits=9")
            )
            .is_ok()
        );
        assert!(check_answer(&offers, &exts("permessage-deflate")).is_err());
        assert!(check_answer(&offers, &[]).is_ok());
        let bare = exts("permessage-deflate");
        assert!(
            check_answer(
                &bare,
                &exts("permessage-deflate; client_max_window_bits=15")
            )
            .is_err()
        );
        let bad = exts("permessage-deflate; server_max_window_bits=7");
        assert!(check_answer(&bad, &exts("permessage-deflate")).is_err());
        let two = exts("permessage-deflate; x=1, permessage-deflate");
        assert!(check_answer(&two, &exts("permessage-deflate")).is_ok());
        assert!(check_answer(&two, &exts("permessage-deflate, permessage-deflate")).is_err());
    }
}
