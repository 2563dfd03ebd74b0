//! `--shard i/n`: one deterministic part of a selection, for CI jobs that each run a part.
//!
//! The parts are balanced by each case's expected time ([`expected_secs`], from its data: its
//! waits, timers, message series and probes), by the longest-first rule: the cases, longest
//! first (ties in id order), each go to the part with the least time so far (ties to the lowest
//! part). The same selection and `n` always give the same parts, on any machine, and every
//! case is in exactly one part. A case marked `alone` keeps its flag: it runs alone within its
//! part's run.

use std::fmt;
use std::str::FromStr;

use super::{Case, Step, compare_ids};

/// Part `index` of `count` (1-based).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// Which part, from 1.
    pub index: usize,
    /// How many parts.
    pub count: usize,
}

impl FromStr for Shard {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("shard {s:?} is not i/n with 1 <= i <= n, such as 2/4");
        let (i, n) = s.split_once('/').ok_or_else(bad)?;
        let index: usize = i.trim().parse().map_err(|_| bad())?;
        let count: usize = n.trim().parse().map_err(|_| bad())?;
        if index == 0 || count == 0 || index > count || count > 1000 {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// The seconds a case is expected to take against a prompt server: a small base, plus what
/// its data makes it wait for or send (an estimate for balancing, not a bound).
pub fn expected_secs(case: &Case) -> f64 {
    let mut secs = 0.05;
    for step in &case.steps {
        secs += match step {
            Step::Wait(w) => w.secs,
            Step::Series(s) => s.count as f64 * (0.002 + s.len as f64 / 50e6),
            Step::Roundtrip(r) => r.count as f64 * 0.002,
            Step::ProbeLimit(p) => 1.0 + p.max as f64 / 200e6,
            Step::PingFlood(p) => p.count as f64 * 1e-4,
            _ => 0.0,
        };
    }
    if let Some(h) = &case.handshake
        && let Some(t) = h.request.trickle
    {
        // A slow request: its bytes, a few every `every` seconds (a bound of 60 s).
        secs += (20.0 * t.every).min(60.0);
    }
    if case.alone {
        // Runs with nothing beside it: its time is the whole run's.
        secs += 1.0;
    }
    secs
}

/// The cases of `shard` among `cases`, in their order.
pub fn split(cases: Vec<Case>, shard: Shard) -> Vec<Case> {
    let mut order: Vec<(usize, f64)> = cases
        .iter()
        .enumerate()
        .map(|(i, c)| (i, expected_secs(c)))
        .collect();
    order.sort_by(|a, b| {
        b.1.total_cmp(&a.1)
            .then_with(|| compare_ids(&cases[a.0].id, &cases[b.0].id))
    });
    let mut load = vec![0.0f64; shard.count];
    let mut part = vec![0usize; cases.len()];
    for (i, secs) in order {
        let least = (0..shard.count)
            .min_by(|a, b| load[*a].total_cmp(&load[*b]).then(a.cmp(b)))
            .unwrap_or(0);
        load[least] += secs;
        part[i] = least + 1;
    }
    cases
        .into_iter()
        .enumerate()
        .filter(|(i, _)| part[*i] == shard.index)
        .map(|(_, c)| c)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_i_of_n_and_refuses_the_rest() {
        assert_eq!("2/4".parse(), Ok(Shard { index: 2, count: 4 }));
        for bad in ["3/2", "0/0", "0/3", "x", "1/", "/2", "1/2/3", "-1/2"] {
            assert!(bad.parse::<Shard>().is_err(), "{bad}");
        }
    }

    #[test]
    fn the_parts_cover_the_selection_once_and_balance_it() {
        let all = super::super::builtin().expect("cases");
        let ids: Vec<String> = all.iter().map(|c| c.id.clone()).collect();
        let mut seen = Vec::new();
        let mut times = Vec::new();
        for index in 1..=4 {
            let part = split(all.clone(), Shard { index, count: 4 });
            // The same input gives the same part.
            let again = split(all.clone(), Shard { index, count: 4 });
            assert_eq!(
                part.iter().map(|c| &c.id).collect::<Vec<_>>(),
                again.iter().map(|c| &c.id).collect::<Vec<_>>()
            );
            times.push(part.iter().map(expected_secs).sum::<f64>());
            seen.extend(part.into_iter().map(|c| c.id));
        }
        seen.sort_by(|a, b| compare_ids(a, b));
        let mut want = ids;
        want.sort_by(|a, b| compare_ids(a, b));
        assert_eq!(seen, want, "every case in exactly one part");
        let (min, max) = times
            .iter()
            .fold((f64::MAX, 0.0f64), |(lo, hi), t| (lo.min(*t), hi.max(*t)));
        assert!(max - min <= max * 0.25, "balanced: {times:?}");
    }
}
