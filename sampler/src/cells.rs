//! Small-cell rules shared by every metric: a cell that describes fewer than `k` entities is
//! never exported as such (it is `null`, merged into a neighbour, or left out).

use std::collections::BTreeMap;

use pgshape_core::pack::Bin;

/// Cells under `k` become `null`.
pub fn suppress(cells: &[u64], k: u64) -> Vec<Option<u64>> {
    cells.iter().map(|&n| (n >= k).then_some(n)).collect()
}

/// `x` rounded to 6 decimals (fractions).
pub fn round6(x: f64) -> f64 {
    round_decimals(x, 6)
}

/// `x` rounded to `d` decimals.
pub fn round_decimals(x: f64, d: i32) -> f64 {
    let f = libm::pow(10.0, d as f64);
    (x * f).round() / f
}

/// `x` rounded to `digits` significant digits (0 stays 0), half to even on its exact
/// decimal expansion.
pub fn significant(x: f64, digits: i32) -> f64 {
    if x == 0.0 || !x.is_finite() {
        return x;
    }
    format!("{x:.*e}", (digits - 1).max(0) as usize)
        .parse()
        .unwrap_or(x)
}

/// The nearest rank (1-based) of probability `p` among `n` values.
pub fn rank(p: f64, n: u64) -> u64 {
    ((p * n as f64).ceil() as u64).clamp(1, n.max(1))
}

/// Whether the value at `rank` of `n` has at least `k` values at or below and at or above it
/// (so it is neither an extreme nor in a tail of fewer than `k` entities).
pub fn rank_is_safe(rank: u64, n: u64, k: u64) -> bool {
    n > 0 && rank.min(n.saturating_sub(rank) + 1) >= k
}

/// Nearest-rank quantiles of a value distribution `(value, count)` sorted by value, each
/// `None` unless [`rank_is_safe`].
pub fn quantiles(
    dist: &[(u64, u64)],
    points: &[(&str, f64)],
    k: u64,
) -> BTreeMap<String, Option<f64>> {
    let n: u64 = dist.iter().map(|(_, c)| c).sum();
    points
        .iter()
        .map(|(name, p)| {
            let rank = rank(*p, n);
            let value = if !rank_is_safe(rank, n, k) {
                None
            } else {
                let mut seen = 0;
                dist.iter().find_map(|(v, c)| {
                    seen += c;
                    (seen >= rank).then_some(*v as f64)
                })
            };
            (name.to_string(), value)
        })
        .collect()
}

/// Log2 bins (0, 1, 2-3, 4-7, ...); from the top, bins with fewer than k entities are merged
/// downwards into an open last bin, so no bin describes fewer than k (nor shows the max).
pub fn histogram(dist: &[(u64, u64)], k: u64) -> Vec<Bin> {
    let mut bins: Vec<Bin> = Vec::new();
    for &(n, c) in dist {
        let (lo, hi) = if n == 0 {
            (0, 0)
        } else {
            let b = 63 - n.leading_zeros();
            (1u64 << b, (1u64 << (b + 1)) - 1)
        };
        match bins.last_mut() {
            Some(last) if last.lo == lo => last.count += c,
            _ => bins.push(Bin {
                lo,
                hi: Some(hi),
                count: c,
            }),
        }
    }
    // Merge the sparse tail into an open bin.
    while bins.len() > 1 && bins.last().is_some_and(|b| b.count < k) {
        let last = bins.pop().expect("len > 1");
        bins.last_mut().expect("len > 0").count += last.count;
    }
    if let Some(last) = bins.last_mut() {
        last.hi = None;
    }
    bins.retain(|b| b.count >= k || b.hi.is_none());
    bins
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_merges_the_sparse_tail_and_never_shows_the_max() {
        let dist = vec![(0, 50), (1, 100), (2, 40), (3, 30), (9, 12), (700, 1)];
        let h = histogram(&dist, 10);
        assert_eq!(h.last().unwrap().hi, None);
        assert!(h.iter().all(|b| b.count >= 10), "{h:?}");
        assert_eq!(h.iter().map(|b| b.count).sum::<u64>(), 233);
        assert!(h.iter().all(|b| b.lo != 700));
    }

    #[test]
    fn significant_digits() {
        assert_eq!(significant(123456.0, 3), 123000.0);
        assert_eq!(significant(-0.012346, 3), -0.0123);
        assert_eq!(significant(0.1 + 0.2, 3), 0.3);
        assert_eq!(significant(7.0, 3), 7.0);
    }

    #[test]
    fn extremes_are_never_safe() {
        // 100 values, k = 10: p1 (rank 1) and p99 (rank 99) are extremes; p10 and p90 are not.
        assert!(!rank_is_safe(rank(0.01, 100), 100, 10));
        assert!(!rank_is_safe(rank(0.99, 100), 100, 10));
        assert!(rank_is_safe(rank(0.1, 100), 100, 10));
        assert!(rank_is_safe(rank(0.9, 100), 100, 10));
        assert!(!rank_is_safe(1, 5, 10));
    }
}
