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

/// Fan-out quantile (`u`) above which [`Popularity::with_mean`] raises counts: past the
/// highest quantile a pack exports (p99.9), so the quantiles it judges keep their values.
const RAISED_FROM: f64 = 0.999;

/// Refitting steps of [`Popularity::compensate_distinct`].
const STEPS: usize = 30;

impl Popularity {
    /// The curve as the fan-out gives it, its counts scaled to the references drawn.
    pub fn new(fanout: &Dist, zero_fraction: f64) -> Popularity {
        Popularity::with_mean(fanout, zero_fraction, None)
    }

    /// The curve whose counts add up to `per_row` references per referenced row (all rows,
    /// the `z` never referred to included) — the referring rows over the referenced rows of
    /// the band — so a referenced row gets the fan-out's count itself rather than the count
    /// times `per_row / ((1 - z) · mean)`. The fan-out's own mean rarely is that: quantiles
    /// interpolated between exported points and a guessed tail, a band whose tables do not
    /// keep the pack's ratio. Too many counts: the most popular rows are capped at the count
    /// `c` for which `∫ min(Q, c) = per_row` (only the top of the curve moves; the fan-out's
    /// low quantiles and the zero fraction stay). Too few: counts past the fan-out's p99.9
    /// are raised by a factor rising linearly from 1 to `1 + a` at the top. `None`, or a
    /// curve without counts: counts scaled as they come.
    pub fn with_mean(fanout: &Dist, zero_fraction: f64, per_row: Option<f64>) -> Popularity {
        // Referring rows take stratified draws (see `column`), so a row expecting λ ≥ 1
        // referrers gets at least one: the zero fraction is the curve's own.
        let live = (1.0 - zero_fraction).clamp(1e-9, 1.0);
        let xs: Vec<f64> = (0..=K)
            .map(|i| libm::pow(i as f64 / K as f64, 3.0))
            .collect();
        // Per grid cell: its width, the fan-out's count at its middle, and where the raise
        // applies (0 below `RAISED_FROM`, 1 at the top).
        let cells: Vec<(f64, f64, f64)> = xs
            .windows(2)
            .map(|w| {
                let mid = (w[0] + w[1]) / 2.0;
                if mid < live {
                    let u = 1.0 - mid / live;
                    let t = ((u - RAISED_FROM) / (1.0 - RAISED_FROM)).max(0.0);
                    (w[1] - w[0], fanout.quantile(u).max(0.0), t)
                } else {
                    (w[1] - w[0], 0.0, 0.0)
                }
            })
            .collect();
        let total = |cap: f64| cells.iter().map(|(w, n, _)| n.min(cap) * w).sum::<f64>();
        let top = cells.iter().map(|c| c.1).fold(0.0, f64::max);
        let have = total(top);
        let mut cap = top;
        let mut raise = 0.0;
        match per_row.filter(|t| t.is_finite() && *t > 0.0) {
            Some(target) if have > target => {
                let (mut lo, mut hi) = (0.0, top);
                for _ in 0..60 {
                    let mid = (lo + hi) / 2.0;
                    if total(mid) < target {
                        lo = mid;
                    } else {
                        hi = mid;
                    }
                }
                cap = hi;
            }
            Some(target) if have < target => {
                let weight: f64 = cells.iter().map(|(w, n, t)| n * t * w).sum();
                if weight > 0.0 {
                    raise = (target - have) / weight;
                }
            }
            _ => {}
        }
        let mut cum = Vec::with_capacity(K + 1);
        cum.push(0.0);
        let mut acc = 0.0;
        for (w, n, t) in &cells {
            acc += n.min(cap) * (1.0 + raise * t) * w;
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

    /// Compensates a `distinct` reference for its collisions: a group of `n` rows holds a
    /// referenced row once at most, so a row whose share `p` of the draws is large keeps
    /// `1 - e^{-np}` of its `np` expected draws there, and the draws lost are redrawn by
    /// popularity among the rows the group has not used (`e^{-np}` of each) — references
    /// move from the popular rows to the others. `groups` are `(rows in a group, groups of
    /// that size)` covering the referring table, `referenced` the referenced table's rows.
    /// The shares are refitted (a fixed number of multiplicative steps) so that the expected
    /// counts after collisions and redraws are the curve's; a row wanting a draw in more
    /// than half the groups is left as it is, and so is the curve when a group (expected)
    /// has as many rows as the referenced table.
    pub fn compensate_distinct(&mut self, referenced: f64, groups: &[(f64, f64)]) {
        let cells = self.xs.len() - 1;
        let draws: f64 = groups.iter().map(|(n, g)| n * g).sum();
        // Groups as large as the referenced table must drop rows (a redraw gives up after 64
        // tries), which this does not describe: left as they come.
        let too_large: f64 = groups
            .iter()
            .filter(|(n, _)| *n >= referenced)
            .map(|(_, g)| g)
            .sum();
        if referenced < 1.0 || draws <= 0.0 || too_large >= 0.5 {
            return;
        }
        // Per cell: referenced rows in it, wanted count per row, share per row.
        let rows: Vec<f64> = self
            .xs
            .windows(2)
            .map(|w| (w[1] - w[0]) * referenced)
            .collect();
        let want: Vec<f64> = (0..cells)
            .map(|j| draws * (self.cum[j + 1] - self.cum[j]) / rows[j].max(1e-300))
            .collect();
        let mut share: Vec<f64> = want.iter().map(|w| w / draws).collect();
        // A row can be drawn once per group: one wanting more than half the groups is
        // left as it is (refitting it would only take from the others).
        let reach = 0.5 * groups.iter().map(|(_, g)| g).sum::<f64>();
        let mut got = vec![0.0; cells];
        let mut unused = vec![0.0; cells];
        for _ in 0..STEPS {
            got.iter_mut().for_each(|g| *g = 0.0);
            for &(n, count) in groups {
                if n <= 0.0 || count <= 0.0 {
                    continue;
                }
                let mut kept = 0.0;
                let mut free = 0.0;
                for j in 0..cells {
                    unused[j] = libm::exp(-n * share[j]);
                    kept += rows[j] * (1.0 - unused[j]);
                    free += rows[j] * share[j] * unused[j];
                }
                let lost = (n - kept).max(0.0);
                for j in 0..cells {
                    let gain = if free > 0.0 {
                        (lost * share[j] * unused[j] / free).min(unused[j])
                    } else {
                        0.0
                    };
                    got[j] += count * (1.0 - unused[j] + gain);
                }
            }
            let mut total = 0.0;
            for j in 0..cells {
                if got[j] > 0.0 && want[j] > 0.0 && want[j] < reach {
                    share[j] *= (want[j] / got[j]).clamp(0.5, 2.0);
                }
                total += rows[j] * share[j];
            }
            if total <= 0.0 {
                return;
            }
            share.iter_mut().for_each(|p| *p /= total);
        }
        let mut acc = 0.0;
        for j in 0..cells {
            acc += rows[j] * share[j];
            self.cum[j + 1] = acc;
        }
        if acc > 0.0 {
            self.cum.iter_mut().for_each(|c| *c /= acc);
        }
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

    /// Quantiles of the counts among referenced rows that have any, and the zero fraction.
    fn shape(mut c: Vec<u64>) -> (f64, [f64; 4]) {
        let zero = c.iter().filter(|&&n| n == 0).count() as f64 / c.len() as f64;
        c.retain(|&n| n > 0);
        c.sort_unstable();
        let at = |p: f64| c[((c.len() as f64 * p) as usize).min(c.len() - 1)] as f64;
        (zero, [at(0.5), at(0.9), at(0.95), at(0.99)])
    }

    /// The references drawn are rarely the fan-out's mean times the rows referred to (the
    /// fan-out's quantiles interpolated, its tail guessed, a band off the pack's ratio):
    /// fitted to the references per row, the counts keep the fan-out's quantiles and zero
    /// fraction either way; scaled, they were off by the ratio (10 % low at 0.9).
    #[test]
    fn counts_keep_the_fanout_whatever_the_references_per_row() {
        let fanout = Dist::Quantiles(vec![
            [0.0, 1.0],
            [0.5, 10.0],
            [0.9, 60.0],
            [0.95, 120.0],
            [0.99, 400.0],
            [0.999, 1500.0],
            [1.0, 3000.0],
        ]);
        let want = [10.0, 60.0, 120.0, 400.0];
        let rows = 20_000;
        for ratio in [0.93, 1.0, 1.08] {
            let draws = (rows as f64 * 0.8 * fanout.mean() * ratio) as usize;
            let per_row = draws as f64 / rows as f64;
            let p = Popularity::with_mean(&fanout, 0.2, Some(per_row));
            let (zero, q) = shape(counts(&p, rows, draws));
            assert!(
                (zero - 0.2).abs() < 0.005,
                "ratio {ratio}: zero fraction {zero}"
            );
            for (got, want) in q.iter().zip(want) {
                assert!(
                    (got - want).abs() / want < 0.03,
                    "ratio {ratio}: {q:?} against {want:?}"
                );
            }
        }
    }

    /// Counts per row of a `distinct` reference drawn as the generator draws it: stratified
    /// through a keyed permutation, a collision within its group redrawn by popularity.
    fn distinct_counts(p: &Popularity, rows: usize, groups: &[(usize, usize)]) -> Vec<u64> {
        use pgshape_core::rng::{Permutation, Seed};
        let key = Seed::new("distinct").key("t", "c");
        let n: usize = groups.iter().map(|(size, count)| size * count).sum();
        let perm = Permutation::new(&key, n as u64);
        let mut redraw = key.stream(0);
        let pick = |u: f64| ((p.rank(u) * rows as f64) as usize).min(rows - 1);
        let mut c = vec![0u64; rows];
        let mut i = 0u64;
        for &(size, count) in groups {
            for _ in 0..count {
                let mut used = std::collections::HashSet::new();
                for _ in 0..size {
                    let mut v = pick((perm.apply(i) as f64 + 0.5) / n as f64);
                    i += 1;
                    let mut tries = 0;
                    while used.contains(&v) && tries < 64 {
                        v = pick(redraw.unit());
                        tries += 1;
                    }
                    if used.insert(v) {
                        c[v] += 1;
                    }
                }
            }
        }
        c
    }

    /// Groups that cover much of the referenced table (here 30 groups of 600 rows over
    /// 2,000, a third of the draws) take references from the popular rows to the others
    /// when a collision is redrawn; compensated, the counts keep the fan-out's quantiles
    /// (measured 9, 40, 79, 159 against 8, 40, 83, 150; uncompensated 11, 43, 66, 107).
    #[test]
    fn distinct_references_keep_the_fanout_in_large_groups() {
        let fanout = Dist::Quantiles(vec![
            [0.0, 1.0],
            [0.5, 8.0],
            [0.9, 40.0],
            [0.99, 150.0],
            [1.0, 300.0],
        ]);
        let rows = 2_000;
        let total = (rows as f64 * 0.9 * fanout.mean()) as usize;
        let groups = [(2, (total - 600 * 30) / 2), (600, 30)];
        let draws: usize = groups.iter().map(|(s, c)| s * c).sum();
        let mut p = Popularity::with_mean(&fanout, 0.1, Some(draws as f64 / rows as f64));
        let classes: Vec<(f64, f64)> = groups.iter().map(|&(s, c)| (s as f64, c as f64)).collect();
        p.compensate_distinct(rows as f64, &classes);
        let (zero, q) = shape(distinct_counts(&p, rows, &groups));
        assert!((zero - 0.1).abs() < 0.02, "zero fraction {zero} {q:?}");
        let want = [
            fanout.quantile(0.5),
            fanout.quantile(0.9),
            fanout.quantile(0.95),
            fanout.quantile(0.99),
        ];
        let scale = draws as f64 / (rows as f64 * 0.9 * fanout.mean());
        for (got, want) in q.iter().zip(want) {
            let want = want * scale.min(1.0);
            assert!(
                (got - want).abs() < 1.01 || (got - want).abs() / want < 0.08,
                "{q:?} against {want} (scale {scale})"
            );
        }
    }

    #[test]
    fn no_counts_is_uniform() {
        let p = Popularity::new(&Dist::Quantiles(vec![[0.0, 0.0], [1.0, 0.0]]), 0.0);
        assert!((p.rank(0.25) - 0.25).abs() < 1e-9);
    }
}
