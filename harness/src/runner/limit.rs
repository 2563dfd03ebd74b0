//! Limits, sans-IO: the message-size limit probe of the `probe_limit` step (RFC 6455 §10.4,
//! §7.4.1 code 1009), and the verdict on a `ping_flood` (§5.5.3).
//!
//! With the server's limit known (`--param max_message=N`), one message of N+1 bytes is sent:
//! RFC 6455 §7.4.1 gives 1009 "message that is too big for it to process", so a close is
//! expected and an echo fails. Without it, messages grow by 4× from 64 KiB up to 16 MiB, then
//! by 2× up to a ceiling (256 MiB unless `--param probe_ceiling` says), and the case records
//! where (and how) the server stopped echoing; a server that echoes even the ceiling has no
//! limit worth the name (§10.4: it "MUST protect" itself): NON-STRICT.

use wsconform_reports::Behavior;

/// The first size of an upward probe.
const START: usize = 64 * 1024;

/// Up to this size an upward probe grows by 4×, then by 2× (a finer answer where limits are
/// usually set: 32, 64, 100 MiB).
const FAST_UP_TO: usize = 16 << 20;

/// The ceiling of the upward probe unless the user sets one (`--param probe_ceiling`).
pub const DEFAULT_CEILING: usize = 256 << 20;

/// The largest ceiling a user may set.
pub const MAX_CEILING: usize = 4 << 30;

/// One probe in progress.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LimitProbe {
    /// The server's limit, when the user gave it.
    pub limit: Option<usize>,
    /// The largest size an upward probe sends.
    pub max: usize,
    /// The size in flight.
    pub size: usize,
    /// The largest size echoed so far.
    pub echoed: Option<usize>,
    /// The message in flight is exactly the known limit (it must be echoed).
    pub at_limit: bool,
    /// The messages go compressed (permessage-deflate): the limit probed is the inflated one.
    pub compressed: bool,
}

/// What to do after an echo.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Next {
    /// Send a message of this size.
    Send(usize),
    /// The probe is over: the script's verdict.
    Done(Behavior, String),
}

fn size(n: usize) -> String {
    match n {
        n if n >= 1 << 20 && n.is_multiple_of(1 << 20) => format!("{} MiB", n >> 20),
        n if n >= 1 << 10 && n.is_multiple_of(1 << 10) => format!("{} KiB", n >> 10),
        n => format!("{n} bytes"),
    }
}

impl LimitProbe {
    /// A probe; the first message to send is `self.size`.
    pub fn new(limit: Option<usize>, max: usize) -> Self {
        // Never more than `max` bytes, whatever the limit (the runner reports a limit at or
        // above `max` as not run before it gets here).
        let first = match limit {
            Some(limit) => limit.saturating_add(1).min(max),
            None => START.min(max),
        };
        Self {
            limit,
            max,
            size: first,
            echoed: None,
            at_limit: false,
            compressed: false,
        }
    }

    /// A probe that sends one message of exactly the known `limit`, which must be echoed
    /// (the boundary: a server that refuses it is off by one).
    pub fn at(limit: usize, max: usize) -> Self {
        Self {
            size: limit.min(max),
            at_limit: true,
            ..Self::new(Some(limit), max)
        }
    }

    /// An echo of `len` bytes arrived.
    pub fn on_echo(&mut self, len: usize) -> Next {
        if len != self.size {
            return Next::Done(
                Behavior::Failed,
                format!(
                    "sent {} and got back a message of {len} bytes",
                    size(self.size)
                ),
            );
        }
        if self.at_limit {
            return Next::Done(
                Behavior::Ok,
                format!("echoed a message of exactly its {len}-byte limit"),
            );
        }
        if let Some(limit) = self.limit {
            return Next::Done(
                Behavior::Failed,
                format!(
                    "echoed a message of {} bytes, over its {limit}-byte limit (expected close 1009, §7.4.1, §10.4)",
                    self.size
                ),
            );
        }
        self.echoed = Some(self.size);
        let factor = if self.size < FAST_UP_TO { 4 } else { 2 };
        let next = self.size.saturating_mul(factor).min(self.max);
        if next > self.size {
            self.size = next;
            return Next::Send(next);
        }
        // Below the default ceiling (a user's lower one), echoing everything says nothing
        // about a limit: recorded.
        if self.max < DEFAULT_CEILING {
            return Next::Done(
                Behavior::Informational,
                format!(
                    "no limit found below the ceiling: echoed every size up to {}",
                    size(self.size)
                ),
            );
        }
        Next::Done(
            Behavior::NonStrict,
            format!(
                "non-strict: no message size limit found up to {} (RFC 6455 §10.4: a server MUST protect itself against exceeding its limits, and one without any limit has none it protects)",
                size(self.size)
            ),
        )
    }

    /// The server ended the probe: a close with `code`, or TCP dropped (`None` and
    /// `dropped`).
    pub fn on_close(&self, code: Option<u16>, dropped: bool) -> (Behavior, String) {
        let how = match (code, dropped) {
            (Some(c), _) => format!("closed with {c}"),
            (None, true) => "dropped TCP".to_owned(),
            (None, false) => "closed with an empty close".to_owned(),
        };
        let echoed = match self.echoed {
            Some(e) => format!(" (it echoed {})", size(e)),
            None => String::new(),
        };
        match self.limit {
            Some(limit) if self.at_limit => (
                Behavior::Failed,
                format!(
                    "{how} on a message of exactly its {limit}-byte limit, which it must accept"
                ),
            ),
            Some(_) => (
                Behavior::Ok,
                format!("{how} on a message of {} bytes{echoed}", self.size),
            ),
            None => (
                Behavior::Informational,
                format!(
                    "limit between {} and {}: {how}{echoed}",
                    self.echoed.map_or("0".into(), size),
                    size(self.size)
                ),
            ),
        }
    }

    /// The harness gave up on the connection mid-probe (its write blocked: the server stopped
    /// reading without closing).
    pub fn on_stall(&self) -> (Behavior, String) {
        self.unanswered(format!(
            "the server stopped reading a message of {} without closing; the harness gave up",
            size(self.size)
        ))
    }

    /// Nothing came back within the step's time.
    pub fn on_timeout(&self, within: f64) -> (Behavior, String) {
        self.unanswered(format!(
            "neither an echo nor a close within {within} s of sending {}",
            size(self.size)
        ))
    }

    /// A message neither echoed nor refused: a failure when the limit is known (a close was
    /// due), a record otherwise.
    fn unanswered(&self, text: String) -> (Behavior, String) {
        match self.limit {
            Some(_) => (Behavior::Failed, text),
            None => (Behavior::Informational, text),
        }
    }
}

/// How a server ended a ping flood before the last pong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FloodStop {
    /// A close frame, with its code.
    Close(Option<u16>),
    /// TCP ended without a close frame (how).
    Dropped(String),
    /// The server stopped reading without closing; the harness gave up.
    Stalled,
}

/// The pongs of a ping flood, tallied in constant space. RFC 6455 §5.5.3: "If an endpoint
/// receives a Ping frame and has not yet sent Pong frame(s) in response to previous Ping
/// frame(s), the endpoint MAY elect to send a Pong frame for only the most recently processed
/// Ping frame." So the pongs must answer pings in the order sent, may skip some, and must
/// answer the last one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FloodTally {
    /// Pings sent (payloads `0` … `count - 1`).
    pub count: usize,
    /// Pongs that answered a ping.
    pub answered: usize,
    /// The ping the latest pong answered.
    pub last: Option<usize>,
    /// The first pong that came after a later ping's pong: (earlier ping, later ping).
    pub disorder: Option<(usize, usize)>,
    /// Pongs whose payload is no ping's.
    pub stray: usize,
}

impl FloodTally {
    /// A tally for `count` pings.
    pub fn new(count: usize) -> Self {
        Self {
            count,
            ..Self::default()
        }
    }

    /// A pong with `payload` arrived. Returns whether it answered the last ping.
    pub fn pong(&mut self, payload: &[u8]) -> bool {
        // The payload must be a ping's exactly (`5`, not `05` or `+5`).
        let index = std::str::from_utf8(payload)
            .ok()
            .and_then(|t| t.parse::<usize>().ok().filter(|i| i.to_string() == t))
            .filter(|i| *i < self.count);
        let Some(i) = index else {
            self.stray += 1;
            return false;
        };
        if let Some(last) = self.last
            && i <= last
        {
            // A repeat (i == last) or a step back: either way not one pong per ping, in order.
            self.disorder.get_or_insert((i, last));
        }
        self.answered += 1;
        self.last = Some(i);
        i + 1 == self.count
    }

    /// The verdict when the server ended the flood before the last pong. A server may
    /// protect itself (§10.4, and §10.7: it "MAY drop the TCP connection"), so stopping a
    /// flood is no failure, but the pongs it sent must still be right (in order, each its
    /// ping's payload). A close frame with 1008 (policy) or 1009 (too big) says why: OK.
    /// Another code, TCP dropped without a close frame (§7.1.7: the endpoint SHOULD send one
    /// first), or no longer reading (§5.5.2's pong is due "Upon receipt") is NON-STRICT.
    pub fn verdict_on_stop(&self, stop: &FloodStop) -> (Behavior, String) {
        let answered_last = self.last.is_some_and(|l| l + 1 == self.count);
        if answered_last || self.stray > 0 || self.disorder.is_some() {
            // Complete, or wrong whatever the ending: the pongs decide.
            return self.verdict(0.0);
        }
        let pongs = format!("{} pongs for {} pings, in order", self.answered, self.count);
        match stop {
            FloodStop::Close(Some(code @ (1008 | 1009))) => (
                Behavior::Ok,
                format!(
                    "{pongs}, then close {code}: the server stopped the flood (§10.4 lets it protect itself)"
                ),
            ),
            FloodStop::Close(code) => (
                Behavior::NonStrict,
                format!(
                    "non-strict: {pongs}, then {}: stopping a flood is allowed (§10.4), but 1008 or 1009 says why (§7.4.1)",
                    code.map_or("an empty close".to_owned(), |c| format!("close {c}"))
                ),
            ),
            FloodStop::Dropped(how) => (
                Behavior::NonStrict,
                format!(
                    "non-strict: {pongs}, then the server dropped TCP without a close frame ({how}): stopping a flood is allowed (§10.4), but it SHOULD send a Close frame first (§7.1.7)"
                ),
            ),
            // §5.5.2's pong is due "Upon receipt": a server that stopped reading may not
            // have received the last ping, and holding back its reads protects it.
            FloodStop::Stalled => (
                Behavior::NonStrict,
                format!(
                    "non-strict: {pongs}, then the server stopped reading without closing; the harness gave up (a Close frame would say why, §7.1.7)"
                ),
            ),
        }
    }

    /// The verdict, once the last pong came or `within` seconds passed.
    pub fn verdict(&self, within: f64) -> (Behavior, String) {
        let answered = format!("{} pongs for {} pings", self.answered, self.count);
        if self.stray > 0 {
            return (
                Behavior::Failed,
                format!(
                    "{answered}, and {} pongs whose payload matches no ping (§5.5.3: a pong carries its ping's payload)",
                    self.stray
                ),
            );
        }
        if let Some((early, late)) = self.disorder {
            return (
                Behavior::Failed,
                if early == late {
                    format!("{answered}: ping {early} was answered twice")
                } else {
                    format!(
                        "{answered}: the pong of ping {early} came after the pong of ping {late} (pings are answered in order)"
                    )
                },
            );
        }
        if self.last.is_none_or(|l| l + 1 != self.count) {
            return (
                Behavior::Failed,
                format!("{answered}: no pong for the last ping within {within} s (§5.5.2, §5.5.3)"),
            );
        }
        (
            Behavior::Ok,
            format!(
                "{answered}, in order, the last one answered (§5.5.3 allows skipping earlier ones)"
            ),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upward_probe_grows_by_four_and_stops_at_the_bound() {
        let mut p = LimitProbe::new(None, 1 << 20);
        assert_eq!(p.size, 64 * 1024);
        assert_eq!(p.on_echo(64 * 1024), Next::Send(256 * 1024));
        assert_eq!(p.on_echo(256 * 1024), Next::Send(1 << 20));
        // A ceiling below the default (a user's): echoing everything is recorded only.
        match p.on_echo(1 << 20) {
            Next::Done(Behavior::Informational, text) => {
                assert!(text.contains("no limit found below the ceiling"), "{text}");
            }
            other => panic!("{other:?}"),
        }
        // Past 16 MiB by doubling, up to the ceiling exactly; echoing 256 MiB is NON-STRICT.
        let mut p = LimitProbe::new(None, DEFAULT_CEILING);
        let mut sent = vec![p.size];
        let done = loop {
            match p.on_echo(p.size) {
                Next::Send(n) => sent.push(n),
                Next::Done(b, text) => break (b, text),
            }
            assert!(sent.len() < 20, "bounded");
        };
        assert_eq!(done.0, Behavior::NonStrict);
        assert!(
            done.1
                .contains("no message size limit found up to 256 MiB (RFC 6455 §10.4"),
            "{}",
            done.1
        );
        let mib: Vec<usize> = sent.iter().map(|s| s >> 10).collect();
        assert_eq!(
            mib,
            [64, 256, 1024, 4096, 16384, 32768, 65536, 131072, 262144],
            "KiB"
        );
        // Node ws's default limit (100 MiB) lies between two sizes; a ceiling that is no
        // power of two is reached exactly.
        let mut p = LimitProbe::new(None, 100 << 20);
        while let Next::Send(_) = p.on_echo(p.size) {}
        assert_eq!(p.size, 100 << 20);
        let mut q = LimitProbe::new(None, 16 << 20);
        q.on_echo(64 * 1024);
        let (b, text) = q.on_close(Some(1009), false);
        assert_eq!(b, Behavior::Informational);
        assert_eq!(
            text,
            "limit between 64 KiB and 256 KiB: closed with 1009 (it echoed 64 KiB)"
        );
    }

    /// A flood of 1000 pings answered with pongs 0..n in order.
    fn answered(n: usize) -> FloodTally {
        let mut t = FloodTally::new(1000);
        for i in 0..n {
            t.pong(i.to_string().as_bytes());
        }
        t
    }

    #[test]
    fn a_server_may_stop_a_ping_flood() {
        // Node ws 8.23: 60 pongs, then TCP closed without a close frame.
        let (b, text) = answered(60).verdict_on_stop(&FloodStop::Dropped("peer closed".into()));
        assert_eq!(b, Behavior::NonStrict, "{text}");
        assert!(
            text.contains("60 pongs for 1000 pings") && text.contains("§7.1.7"),
            "{text}"
        );
        for code in [1008, 1009] {
            let (b, text) = answered(60).verdict_on_stop(&FloodStop::Close(Some(code)));
            assert_eq!(b, Behavior::Ok, "{text}");
        }
        assert_eq!(
            answered(60)
                .verdict_on_stop(&FloodStop::Close(Some(1002)))
                .0,
            Behavior::NonStrict
        );
        assert_eq!(
            answered(60).verdict_on_stop(&FloodStop::Close(None)).0,
            Behavior::NonStrict
        );
        // Stopped reading without closing: the pong is due only "Upon receipt" (§5.5.2).
        assert_eq!(
            answered(60).verdict_on_stop(&FloodStop::Stalled).0,
            Behavior::NonStrict
        );
        // Wrong pongs fail however the flood ended.
        let mut t = answered(3);
        t.pong(b"1");
        assert_eq!(
            t.verdict_on_stop(&FloodStop::Close(Some(1008))).0,
            Behavior::Failed
        );
        let mut t = answered(3);
        t.pong(b"x");
        assert_eq!(
            t.verdict_on_stop(&FloodStop::Dropped("reset".into())).0,
            Behavior::Failed
        );
        // Every ping answered: OK, whatever came after.
        assert_eq!(
            answered(1000)
                .verdict_on_stop(&FloodStop::Close(Some(1000)))
                .0,
            Behavior::Ok
        );
        // Still open, and no pong for the last ping in time: FAILED.
        assert_eq!(answered(60).verdict(10.0).0, Behavior::Failed);
    }

    #[test]
    fn a_known_limit_must_be_enforced() {
        let mut p = LimitProbe::new(Some(1000), 16 << 20);
        assert_eq!(p.size, 1001);
        assert!(matches!(p.on_echo(1001), Next::Done(Behavior::Failed, _)));
        assert_eq!(p.on_close(Some(1009), false).0, Behavior::Ok);
        assert_eq!(p.on_timeout(5.0).0, Behavior::Failed);
    }
}
