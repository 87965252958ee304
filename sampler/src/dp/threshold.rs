//! Which keys of a data-dependent domain (a column's category labels) may appear at all:
//! OpenDP's Laplace threshold mechanism over the people behind each key, (ε, δ)-DP.
//!
//! A key held by one person only exists in the pack when that person is in the database, so
//! releasing every key present (even with noisy counts) singles them out; no fixed-domain
//! noise fixes it. Instead each person votes for at most `max_keys` of their keys (l0 =
//! l1 = `max_keys`, l∞ = 1), each key's votes get discrete Laplace noise of scale
//! `max_keys / ε`, and only keys whose noisy votes reach the threshold are kept. The
//! threshold is the smallest at or above k for which OpenDP's privacy map gives a δ no
//! larger than the one asked: the chance that a key of one person's alone survives. The
//! labels themselves never reach this module: keys are their positions.

use std::collections::HashMap;

use opendp::domains::{AtomDomain, MapDomain};
use opendp::measurements::make_laplace_threshold;
use opendp::measures::{Approximate, MaxDivergence};
use opendp::metrics::{AbsoluteDistance, L01InfDistance};

use super::DpError;

/// The keys kept and what keeping them cost.
#[derive(Debug, Clone, PartialEq)]
pub struct Selection {
    /// Per input key, its noisy vote count when kept (at or above `threshold`).
    pub kept: Vec<Option<i64>>,
    /// ε spent (OpenDP's map, ≤ the ε asked).
    pub epsilon: f64,
    /// δ spent (OpenDP's map, ≤ the δ asked).
    pub delta: f64,
    /// The threshold a key's noisy votes had to reach.
    pub threshold: i64,
    /// The discrete Laplace scale.
    pub scale: f64,
}

type Meas = opendp::core::Measurement<
    MapDomain<AtomDomain<u32>, AtomDomain<i64>>,
    L01InfDistance<AbsoluteDistance<i64>>,
    Approximate<MaxDivergence>,
    HashMap<u32, i64>,
>;

fn opendp(e: opendp::error::Error) -> DpError {
    DpError::OpenDp(e.to_string())
}

fn measurement(scale: f64, threshold: i64) -> Result<Meas, DpError> {
    make_laplace_threshold(
        MapDomain::new(AtomDomain::<u32>::default(), AtomDomain::<i64>::default()),
        L01InfDistance::default(),
        scale,
        threshold,
        None,
    )
    .map_err(opendp)
}

/// (ε, δ) of the mechanism at `scale` and `threshold` for a person voting for `max_keys`.
fn cost(scale: f64, threshold: i64, max_keys: u32) -> Result<(f64, f64), DpError> {
    let m = measurement(scale, threshold)?;
    m.map(&(max_keys, i64::from(max_keys), 1)).map_err(opendp)
}

/// The smallest threshold at or above `floor` (and 1) whose δ at `scale` is at most `delta`.
pub fn threshold_for(scale: f64, max_keys: u32, delta: f64, floor: i64) -> Result<i64, DpError> {
    let lo0 = floor.max(1);
    if cost(scale, lo0, max_keys)?.1 <= delta {
        return Ok(lo0);
    }
    // δ falls as the threshold rises: double up to a bound that meets it, then bisect.
    let (mut lo, mut hi) = (lo0, lo0.saturating_mul(2).max(2));
    while cost(scale, hi, max_keys)?.1 > delta {
        if hi >= 1 << 50 {
            return Err(DpError::Parameter(format!(
                "no threshold meets delta {delta} at scale {scale}"
            )));
        }
        lo = hi;
        hi = hi.saturating_mul(2);
    }
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if cost(scale, mid, max_keys)?.1 <= delta {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    Ok(hi)
}

/// Keeps the keys whose noisy `votes` reach the threshold (never a key with no vote), at `epsilon` and `delta`, each
/// person having voted for at most `max_keys` keys, never below `floor` (k).
pub fn select(
    votes: &[u64],
    max_keys: u32,
    epsilon: f64,
    delta: f64,
    floor: u64,
) -> Result<Selection, DpError> {
    super::mechanism::check(epsilon, u64::from(max_keys))?;
    if !(delta > 0.0 && delta < 1.0) {
        return Err(DpError::Parameter(format!(
            "delta must be in (0, 1), got {delta}"
        )));
    }
    let floor = i64::try_from(floor).unwrap_or(i64::MAX);
    let mut scale = f64::from(max_keys) / epsilon;
    for _ in 0..8 {
        let threshold = threshold_for(scale, max_keys, delta, floor)?;
        let (eps, del) = cost(scale, threshold, max_keys)?;
        if eps > epsilon {
            scale = scale.next_up();
            continue;
        }
        // A key nobody voted for is absent, as it is from a database without its holders
        // (OpenDP would noise a present 0, and a label held only in rows nobody voted with
        // would then appear without anyone's vote being accounted for).
        let input: HashMap<u32, i64> = votes
            .iter()
            .enumerate()
            .filter(|(_, &v)| v > 0)
            .map(|(i, &v)| (i as u32, i64::try_from(v).unwrap_or(i64::MAX)))
            .collect();
        let out = measurement(scale, threshold)?
            .invoke(&input)
            .map_err(opendp)?;
        let kept = (0..votes.len() as u32)
            .map(|i| out.get(&i).copied())
            .collect();
        return Ok(Selection {
            kept,
            epsilon: eps,
            delta: del,
            threshold,
            scale,
        });
    }
    Err(DpError::Parameter(format!(
        "no scale meets epsilon {epsilon} for {max_keys} key(s) per person"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_threshold_meets_delta_and_is_the_smallest_that_does() {
        for (scale, m, delta) in [(10.0, 1, 1e-8), (100.0, 4, 1e-9), (1.0, 1, 1e-3)] {
            let t = threshold_for(scale, m, delta, 10).unwrap();
            assert!(cost(scale, t, m).unwrap().1 <= delta);
            if t > 10 {
                assert!(cost(scale, t - 1, m).unwrap().1 > delta, "{scale} {m}");
            }
            // About scale · ln(m / δ) above l∞ (the tail of the discrete Laplace).
            let approx = scale * libm::log(f64::from(m) / delta);
            assert!((t as f64) < 10.0 + 1.5 * approx, "{t} vs {approx}");
        }
        // k is a floor even when the noise alone would allow less.
        assert_eq!(threshold_for(0.01, 1, 1e-3, 10).unwrap(), 10);
    }

    #[test]
    fn a_key_of_one_person_is_kept_about_as_often_as_delta_and_common_keys_always() {
        let (eps, delta) = (1.0, 1e-3);
        let mut kept_rare = 0;
        for _ in 0..2_000 {
            let s = select(&[1, 100_000, 0], 1, eps, delta, 5).unwrap();
            assert!(s.kept[1].is_some() && s.kept[2].is_none(), "{s:?}");
            assert!(s.epsilon <= eps && s.delta <= delta);
            kept_rare += usize::from(s.kept[0].is_some());
        }
        // δ = 1e-3: about 2 of 2,000; 20 would be ten times the mechanism's bound.
        assert!(kept_rare < 20, "{kept_rare}");
        let e = select(&[1], 1, 1.0, 0.0, 5).unwrap_err().to_string();
        assert!(e.contains("delta"), "{e}");
    }
}
