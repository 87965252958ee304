//! References whose popularity follows a fan-out: referenced rows ranked from most to least
//! popular, rank `x` (a fraction of the rows) referred to by `Q(1 - x / (1 - z))` rows — the
//! fan-out's quantile function over the `1 - z` of rows that are referred to at all, none for
//! the last `z`. A reference draws a rank with probability proportional to that count by
//! inverting the cumulative count (a Lorenz curve) tabulated once: constant memory whatever
//! the number of rows. Ranks are spread over the key range by the same permutation as Zipf
//! references. The generator draws `u` stratified — row `i` of the referring table takes
//! `(π(i) + ½) / N` for a keyed permutation π of its N rows — so the referenced rows get
//! exactly the curve's counts (rounded), with no Poisson noise widening the tail or adding
//! zeros.

use pgshape_core::dist::Dist;

/// Grid points of the cumulative count, denser at the popular end (`x = (i / K)^3`).
const K: usize = 4096;

/// The tabulated cumulative count over rank fractions.
#[derive(Debug, Clone)]
pub struct Popularity {
    xs: Vec<f64>,
    cum: Vec<f64>,
}

impl Popularity {
    pub fn new(fanout: &Dist, zero_fraction: f64) -> Popularity {
        // Referring rows take stratified draws (see `column`), so a row expecting λ ≥ 1
        // referrers gets at least one: the zero fraction is the curve's own.
        let live = (1.0 - zero_fraction).clamp(1e-9, 1.0);
        let xs: Vec<f64> = (0..=K)
            .map(|i| libm::pow(i as f64 / K as f64, 3.0))
            .collect();
        let mut cum = Vec::with_capacity(K + 1);
        cum.push(0.0);
        let mut acc = 0.0;
        for w in xs.windows(2) {
            let mid = (w[0] + w[1]) / 2.0;
            let count = if mid < live {
                fanout.quantile(1.0 - mid / live).max(0.0)
            } else {
                0.0
            };
            acc += count * (w[1] - w[0]);
            cum.push(acc);
        }
        if acc > 0.0 {
            cum.iter_mut().for_each(|c| *c /= acc);
        } else {
            // No counts at all: uniform.
            cum = xs.clone();
        }
        Popularity { xs, cum }
    }

    /// A rank fraction in [0, 1), drawn with probability proportional to its count.
    pub fn rank(&self, u: f64) -> f64 {
        let j = self.cum.partition_point(|&c| c <= u).clamp(1, K);
        let (c0, c1) = (self.cum[j - 1], self.cum[j]);
        let f = if c1 > c0 { (u - c0) / (c1 - c0) } else { 0.0 };
        (self.xs[j - 1] + f * (self.xs[j] - self.xs[j - 1])).clamp(0.0, 1.0 - 1e-12)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Counts per rank of `draws` references to `rows` rows.
    fn counts(p: &Popularity, rows: usize, draws: usize) -> Vec<u64> {
        let mut c = vec![0u64; rows];
        for i in 0..draws {
            let u = (i as f64 + 0.5) / draws as f64;
            c[(p.rank(u) * rows as f64) as usize] += 1;
        }
        c
    }

    #[test]
    fn referrers_per_row_follow_the_fanout() {
        // 20 % of rows never referred to; the others 1..=100 referrers, median 10.
        let fanout = Dist::Quantiles(vec![[0.0, 1.0], [0.5, 10.0], [1.0, 100.0]]);
        let p = Popularity::new(&fanout, 0.2);
        let rows = 10_000;
        let draws = (rows as f64 * 0.8 * fanout.mean()) as usize;
        let mut c = counts(&p, rows, draws);
        // Stratified draws (as the generator makes them): no Poisson zeros, the zero
        // fraction is the curve's.
        let zero = c.iter().filter(|&&n| n == 0).count() as f64 / rows as f64;
        assert!((zero - 0.2).abs() < 0.005, "zero fraction {zero}");
        c.retain(|&n| n > 0);
        c.sort_unstable();
        let median = c[c.len() / 2] as f64;
        assert!((median - 10.0).abs() <= 1.0, "median {median}");
        let p90 = c[c.len() * 9 / 10] as f64;
        let want = fanout.quantile(0.9);
        assert!((p90 - want).abs() / want < 0.1, "p90 {p90} vs {want}");
    }

    #[test]
    fn no_counts_is_uniform() {
        let p = Popularity::new(&Dist::Quantiles(vec![[0.0, 0.0], [1.0, 0.0]]), 0.0);
        assert!((p.rank(0.25) - 0.25).abs() < 1e-9);
    }
}
