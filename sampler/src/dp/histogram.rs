//! A noisy histogram over a fixed bin set, and what post-processing makes of it.
//!
//! The bins must be fixed before the data is read (24 hours, 7 weekdays, the power-of-two
//! bins of a length or fan-out histogram up to a contribution bound): every bin is released,
//! empty ones too, so which bins exist says nothing. Post-processing costs no ε: negative
//! noisy counts become 0, the total is the sum of the released bins (or the bins are
//! rescaled to a separately released total), so the CDF is monotone and ends at 1, and
//! quantiles are read from it by linear interpolation inside a bin.

use super::mechanism::{self, Release};
use super::DpError;

/// Released bin counts: non-negative, one per fixed bin.
#[derive(Debug, Clone, PartialEq)]
pub struct NoisyHistogram {
    pub counts: Vec<u64>,
    /// The same noisy counts before negatives became 0: their sums are unbiased (the sum of
    /// non-negative ones over many empty bins is not), for totals read off the bins.
    pub signed: Vec<i64>,
    /// ε spent (OpenDP's map).
    pub epsilon: f64,
    /// The discrete Laplace scale used.
    pub scale: f64,
}

/// Releases `counts` (one per fixed bin) under ε for a histogram where one privacy unit
/// changes the bins by at most `sensitivity` in L1 (e.g. one vote in each of at most m
/// cells: m).
pub fn release(counts: &[u64], sensitivity: u64, epsilon: f64) -> Result<NoisyHistogram, DpError> {
    let raw: Vec<i64> = counts
        .iter()
        .map(|&c| i64::try_from(c).unwrap_or(i64::MAX))
        .collect();
    let Release {
        values,
        epsilon,
        scale,
    } = mechanism::noisy_counts(&raw, sensitivity, epsilon)?;
    Ok(NoisyHistogram {
        counts: values.iter().map(|&v| v.max(0) as u64).collect(),
        signed: values,
        epsilon,
        scale,
    })
}

impl NoisyHistogram {
    /// The total consistent with the bins: their sum.
    pub fn total(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// The CDF at each bin's upper edge: monotone, the last 1 (all 0 when every bin is 0).
    pub fn cdf(&self) -> Vec<f64> {
        cdf(&self.counts)
    }
}

/// The cumulative shares of `counts` at each bin's upper edge.
pub fn cdf(counts: &[u64]) -> Vec<f64> {
    let total: u64 = counts.iter().sum();
    let mut acc = 0u64;
    counts
        .iter()
        .map(|&c| {
            acc += c;
            if total == 0 {
                0.0
            } else {
                acc as f64 / total as f64
            }
        })
        .collect()
}

/// Scales non-negative `counts` to sum to exactly `total` (largest remainders, ties to the
/// lower bin): for bins that must agree with a total released on its own.
pub fn rescale_to_total(counts: &[u64], total: u64) -> Vec<u64> {
    let sum: u64 = counts.iter().sum();
    if sum == 0 {
        let mut out = vec![0; counts.len()];
        if let Some(first) = out.first_mut() {
            *first = total; // nothing to share by: all in the first bin
        }
        return out;
    }
    let exact: Vec<f64> = counts
        .iter()
        .map(|&c| c as f64 * total as f64 / sum as f64)
        .collect();
    let mut out: Vec<u64> = exact.iter().map(|e| e.floor() as u64).collect();
    let short = total.saturating_sub(out.iter().sum());
    let mut order: Vec<usize> = (0..counts.len()).collect();
    order.sort_by(|&a, &b| {
        let (ra, rb) = (exact[a] - exact[a].floor(), exact[b] - exact[b].floor());
        rb.total_cmp(&ra).then(a.cmp(&b))
    });
    for &i in order.iter().cycle().take(short as usize) {
        out[i] += 1;
    }
    out
}

/// The `q`-quantile (0 ≤ q ≤ 1) of a histogram with bin edges `edges` (one more than the
/// bins, ascending), interpolated linearly inside the bin where the CDF crosses `q`. `None`
/// when the histogram is empty or the shapes disagree.
pub fn quantile(edges: &[f64], counts: &[u64], q: f64) -> Option<f64> {
    let total: u64 = counts.iter().sum();
    if edges.len() != counts.len() + 1 || total == 0 || !(0.0..=1.0).contains(&q) {
        return None;
    }
    let target = q * total as f64;
    let mut below = 0.0;
    for (i, &c) in counts.iter().enumerate() {
        let c = c as f64;
        if c > 0.0 && below + c >= target {
            let within = ((target - below) / c).clamp(0.0, 1.0);
            return Some(edges[i] + within * (edges[i + 1] - edges[i]));
        }
        below += c;
    }
    edges.last().copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn released_bins_are_non_negative_with_a_monotone_cdf_ending_at_one() {
        // Mostly empty bins: noise alone would go negative about half the time.
        let counts = [0, 0, 3, 0, 500, 20, 0, 0, 1, 0, 0, 0];
        for _ in 0..200 {
            let h = release(&counts, 1, 0.5).unwrap();
            assert_eq!(h.counts.len(), counts.len());
            assert_eq!(h.total(), h.counts.iter().sum::<u64>());
            let c = h.cdf();
            assert!(c.windows(2).all(|w| w[0] <= w[1]), "{c:?}");
            assert!((c.last().unwrap() - 1.0).abs() < 1e-12);
        }
    }

    #[test]
    fn rescaled_bins_sum_to_the_released_total() {
        for (counts, total) in [
            (vec![1, 1, 1], 10),
            (vec![5, 0, 7, 2], 3),
            (vec![0, 0], 4),
            (vec![10, 20, 30], 60),
            (vec![1, 2, 3, 4, 5, 6, 7], 1_000_003),
        ] {
            let r = rescale_to_total(&counts, total);
            assert_eq!(r.iter().sum::<u64>(), total, "{counts:?}");
            // Proportions kept to within one per bin.
            let sum: u64 = counts.iter().sum();
            if sum > 0 {
                for (c, x) in counts.iter().zip(&r) {
                    let exact = *c as f64 * total as f64 / sum as f64;
                    assert!((*x as f64 - exact).abs() < 1.0 + 1e-9, "{counts:?} {r:?}");
                }
            }
        }
        assert_eq!(rescale_to_total(&[10, 20, 30], 60), vec![10, 20, 30]);
    }

    #[test]
    fn quantiles_interpolate_inside_the_crossing_bin() {
        let edges = [0.0, 10.0, 20.0, 40.0];
        let counts = [10, 0, 30];
        assert_eq!(quantile(&edges, &counts, 0.0), Some(0.0));
        assert_eq!(quantile(&edges, &counts, 0.125), Some(5.0));
        assert_eq!(quantile(&edges, &counts, 0.25), Some(10.0));
        assert_eq!(quantile(&edges, &counts, 0.625), Some(30.0));
        assert_eq!(quantile(&edges, &counts, 1.0), Some(40.0));
        assert_eq!(quantile(&edges, &[0, 0, 0], 0.5), None);
        assert_eq!(quantile(&edges[..3], &counts, 0.5), None);
    }

    #[test]
    fn quantiles_from_a_noisy_histogram_are_monotone_and_close() {
        // 1, 2, 4, ... 1024: a fan-out histogram of 10,000 parents per bin.
        let edges: Vec<f64> = (0..=10).map(|i| f64::from(1u32 << i)).collect();
        let counts = [10_000u64; 10];
        let qs = [0.01, 0.1, 0.5, 0.9, 0.95, 0.99];
        let truth: Vec<f64> = qs
            .iter()
            .map(|&q| quantile(&edges, &counts, q).unwrap())
            .collect();
        for _ in 0..50 {
            let h = release(&counts, 1, 1.0).unwrap();
            let noisy: Vec<f64> = qs
                .iter()
                .map(|&q| quantile(&edges, &h.counts, q).unwrap())
                .collect();
            assert!(noisy.windows(2).all(|w| w[0] <= w[1]), "{noisy:?}");
            for (n, t) in noisy.iter().zip(&truth) {
                assert!((n / t - 1.0).abs() < 0.01, "{noisy:?} vs {truth:?}");
            }
        }
    }
}
