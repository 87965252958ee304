//! Distances between two aggregate distributions as a metrics pack exports them: relative
//! error of a quantile, total-variation distance of two profiles, Kolmogorov–Smirnov distance
//! of two binned histograms. Pure functions; `compare` decides what is compared with what.

use pgshape_core::pack::{Bin, Categories};

/// `|synthetic - production| / production`; `None` when the production value is 0 (no
/// relative error is defined; callers compare such figures absolutely).
pub fn relative_error(production: f64, synthetic: f64) -> Option<f64> {
    (production != 0.0).then(|| (synthetic - production).abs() / production.abs())
}

/// Total-variation distance of two count profiles (hourly, weekday): each normalised to
/// shares, then `½ Σ |p_i - q_i|`, in [0, 1]. A suppressed cell (`None`, fewer than `k_min`
/// rows) counts as 0. `None` when the lengths differ or either profile has no rows.
pub fn tvd(production: &[Option<u64>], synthetic: &[Option<u64>]) -> Option<f64> {
    if production.len() != synthetic.len() {
        return None;
    }
    let p = shares(production)?;
    let q = shares(synthetic)?;
    Some(0.5 * p.iter().zip(&q).map(|(a, b)| (a - b).abs()).sum::<f64>())
}

/// The total-variation distance two samples of `n1` and `n2` rows drawn from the same
/// distribution `p` show from sampling alone, on average: each share differs by a normal
/// amount of variance `p(1 - p)(1/n1 + 1/n2)`, whose mean absolute value is `σ √(2/π)`; half
/// the sum over cells. A 7-cell weekday profile of 400 rows shows about 0.05 by chance.
pub fn tvd_noise(p: &[f64], n1: f64, n2: f64) -> f64 {
    if n1 <= 0.0 || n2 <= 0.0 {
        return 0.0;
    }
    let scale = (2.0 / std::f64::consts::PI * (1.0 / n1 + 1.0 / n2)).sqrt();
    0.5 * p
        .iter()
        .map(|x| (x * (1.0 - x)).max(0.0).sqrt())
        .sum::<f64>()
        * scale
}

/// The Kolmogorov–Smirnov distance two samples of `n1` and `n2` values from the same
/// continuous distribution show on average: about `0.87 √(1/n1 + 1/n2)` (the mean of the
/// Kolmogorov distribution, √(π/2) ln 2).
pub fn ks_noise(n1: f64, n2: f64) -> f64 {
    if n1 <= 0.0 || n2 <= 0.0 {
        return 0.0;
    }
    (std::f64::consts::PI / 2.0).sqrt() * std::f64::consts::LN_2 * (1.0 / n1 + 1.0 / n2).sqrt()
}

/// Total-variation distance of two share vectors of the same length: `½ Σ |p_i - q_i|`.
pub fn tvd_shares(p: &[f64], q: &[f64]) -> f64 {
    0.5 * p.iter().zip(q).map(|(a, b)| (a - b).abs()).sum::<f64>()
}

/// Two category frequency tables on common cells, as shares of each one's rows: `(labels,
/// production, synthetic)`. Enum labels (both packs `labels: true`) are matched by label, in
/// production's order of frequency. Tokens are salted per namespace (`schema.table.column`),
/// so the two packs' tokens never match: their categories are matched by *rank* instead
/// (`#1` the most frequent of each), which compares the shape of the frequency distribution.
/// Rows of suppressed categories form a last cell, `other`. `None` when either has no rows.
pub fn category_shares(
    production: &Categories,
    synthetic: &Categories,
) -> Option<(Vec<String>, Vec<f64>, Vec<f64>)> {
    let total = |c: &Categories| c.counts.values().sum::<u64>() + c.suppressed_rows;
    let (tp, ts) = (total(production), total(synthetic));
    if tp == 0 || ts == 0 {
        return None;
    }
    let (pv, sv) = (by_count(production), by_count(synthetic));
    let (mut labels, mut p, mut q): (Vec<String>, Vec<f64>, Vec<f64>) =
        if production.labels && synthetic.labels {
            let mut labels: Vec<String> = pv.iter().map(|(k, _)| k.to_string()).collect();
            labels.extend(
                sv.iter()
                    .filter(|(k, _)| !production.counts.contains_key(*k))
                    .map(|(k, _)| k.to_string()),
            );
            let share = |c: &Categories, t: u64| {
                labels
                    .iter()
                    .map(|l| c.counts.get(l).copied().unwrap_or(0) as f64 / t as f64)
                    .collect::<Vec<f64>>()
            };
            let (p, q) = (share(production, tp), share(synthetic, ts));
            (labels, p, q)
        } else {
            let n = pv.len().max(sv.len());
            let share = |v: &[(&String, u64)], t: u64| {
                (0..n)
                    .map(|i| v.get(i).map_or(0.0, |(_, c)| *c as f64 / t as f64))
                    .collect::<Vec<f64>>()
            };
            (
                (1..=n).map(|i| format!("#{i}")).collect(),
                share(&pv, tp),
                share(&sv, ts),
            )
        };
    if production.suppressed_rows + synthetic.suppressed_rows > 0 {
        labels.push("other".into());
        p.push(production.suppressed_rows as f64 / tp as f64);
        q.push(synthetic.suppressed_rows as f64 / ts as f64);
    }
    Some((labels, p, q))
}

/// A category table's entries, most frequent first (ties by key).
fn by_count(c: &Categories) -> Vec<(&String, u64)> {
    let mut v: Vec<(&String, u64)> = c.counts.iter().map(|(k, n)| (k, *n)).collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
    v
}

/// A count profile as shares of its total (suppressed cells as 0); `None` when it is empty.
pub fn shares(cells: &[Option<u64>]) -> Option<Vec<f64>> {
    let total: u64 = cells.iter().map(|c| c.unwrap_or(0)).sum();
    (total > 0).then(|| {
        cells
            .iter()
            .map(|c| c.unwrap_or(0) as f64 / total as f64)
            .collect()
    })
}

/// The cumulative share of a histogram at or below `x`, when the histogram determines it:
/// `None` when `x` falls strictly inside a bin (lo ≤ x < hi) or in the open last bin.
/// Shares are of the exported bins' total (bins the sampler suppressed are not known, so the
/// cumulative share is flat across a gap).
fn cdf_at(bins: &[Bin], total: u64, x: u64) -> Option<f64> {
    let mut below = 0u64;
    for b in bins {
        match b.hi {
            Some(hi) if hi <= x => below += b.count,
            Some(_) if b.lo > x => {}
            None if b.lo > x => {}
            _ => return None,
        }
    }
    Some(below as f64 / total as f64)
}

/// Kolmogorov–Smirnov distance of two binned histograms (the pack's log-binned lengths or
/// fan-outs): the largest difference of the two cumulative shares over the points where
/// both histograms determine them (every bin's upper edge, and the value below every bin's
/// lower edge). Within a bin the cumulative shares are unknown, so this is the KS distance of
/// the binned distributions — a lower bound of the exact one, exact when the bins are single
/// values. `None` when either histogram is empty.
pub fn ks_binned(production: &[Bin], synthetic: &[Bin]) -> Option<f64> {
    let tp: u64 = production.iter().map(|b| b.count).sum();
    let ts: u64 = synthetic.iter().map(|b| b.count).sum();
    if tp == 0 || ts == 0 {
        return None;
    }
    let mut points: Vec<u64> = production
        .iter()
        .chain(synthetic)
        .flat_map(|b| [b.hi, b.lo.checked_sub(1)])
        .flatten()
        .collect();
    points.sort_unstable();
    points.dedup();
    let mut d: f64 = 0.0;
    for x in points {
        if let (Some(a), Some(b)) = (cdf_at(production, tp, x), cdf_at(synthetic, ts, x)) {
            d = d.max((a - b).abs());
        }
    }
    Some(d)
}

/// The complementary cumulative distribution of a count histogram at each bin's lower edge:
/// `(lo, share of all entities with at least lo)`, for bins with `lo ≥ 1` (for log-log plots).
pub fn ccdf_points(bins: &[Bin]) -> Vec<(f64, f64)> {
    let total: u64 = bins.iter().map(|b| b.count).sum();
    if total == 0 {
        return Vec::new();
    }
    let mut at_least = total;
    let mut out = Vec::new();
    for b in bins {
        if b.lo >= 1 {
            out.push((b.lo as f64, at_least as f64 / total as f64));
        }
        at_least -= b.count;
    }
    out
}

#[cfg(test)]
mod noise_tests {
    use super::*;

    #[test]
    fn sampling_noise_matches_simulation() {
        // Two samples of 400 from a uniform 7-cell distribution, 2000 times: the mean TVD is
        // what tvd_noise says, within 10 %.
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 11) as f64 / (1u64 << 53) as f64
        };
        let mut sum = 0.0;
        for _ in 0..2000 {
            let mut a = [Some(0u64); 7];
            let mut b = [Some(0u64); 7];
            for _ in 0..400 {
                let i = (next() * 7.0) as usize;
                a[i] = a[i].map(|x| x + 1);
                let j = (next() * 7.0) as usize;
                b[j] = b[j].map(|x| x + 1);
            }
            sum += tvd(&a, &b).unwrap();
        }
        let simulated = sum / 2000.0;
        let predicted = tvd_noise(&[1.0 / 7.0; 7], 400.0, 400.0);
        assert!(
            (simulated - predicted).abs() / predicted < 0.1,
            "simulated {simulated}, predicted {predicted}"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bin(lo: u64, hi: Option<u64>, count: u64) -> Bin {
        Bin { lo, hi, count }
    }

    #[test]
    fn relative_error_by_hand() {
        assert_eq!(relative_error(100.0, 105.0), Some(0.05));
        assert_eq!(relative_error(100.0, 80.0), Some(0.2));
        assert_eq!(relative_error(0.0, 3.0), None);
        assert_eq!(relative_error(4.0, 4.0), Some(0.0));
    }

    #[test]
    fn tvd_by_hand() {
        // p = (0.5, 0.5, 0), q = (0.25, 0.25, 0.5): ½ (0.25 + 0.25 + 0.5) = 0.5.
        let p = [Some(10), Some(10), Some(0)];
        let q = [Some(5), Some(5), Some(10)];
        assert_eq!(tvd(&p, &q), Some(0.5));
        assert_eq!(tvd(&p, &p), Some(0.0));
        // Scale does not matter, only shares.
        assert_eq!(tvd(&[Some(1), Some(3)], &[Some(100), Some(300)]), Some(0.0));
        // Disjoint supports: 1.
        assert_eq!(tvd(&[Some(7), None], &[None, Some(9)]), Some(1.0));
        // Suppressed cells count as 0: (20, 0, 20) vs (1, 0, 3) → ½ (0.25 + 0.25) = 0.25.
        assert_eq!(
            tvd(&[Some(20), None, Some(20)], &[Some(1), None, Some(3)]),
            Some(0.25)
        );
        assert_eq!(tvd(&[Some(1)], &[Some(1), Some(2)]), None);
        assert_eq!(tvd(&[None, None], &[Some(1), Some(2)]), None);
    }

    #[test]
    fn ks_of_identical_histograms_is_zero() {
        let h = [bin(0, Some(0), 10), bin(1, Some(1), 20), bin(2, None, 30)];
        assert_eq!(ks_binned(&h, &h), Some(0.0));
    }

    #[test]
    fn ks_by_hand() {
        // Production: 0 → 0.5, 1 → 0.5. Synthetic: 0 → 0.25, 1 → 0.25, 2-3 → 0.5.
        // Cumulative at 0: 0.5 vs 0.25; at 1: 1.0 vs 0.5; at 3: 1.0 vs 1.0 → KS 0.5.
        let p = [bin(0, Some(0), 50), bin(1, Some(1), 50)];
        let s = [bin(0, Some(0), 1), bin(1, Some(1), 1), bin(2, Some(3), 2)];
        assert_eq!(ks_binned(&p, &s), Some(0.5));
        assert_eq!(ks_binned(&s, &p), Some(0.5));
    }

    #[test]
    fn ks_skips_points_inside_a_bin_or_the_open_tail() {
        // Production's open bin starts at 4: its cumulative share at 7 is unknown, so the
        // synthetic bin 4-7 cannot be compared inside; at 3 both are known: 0.4 vs 0.7.
        let p = [bin(1, Some(1), 20), bin(2, Some(3), 20), bin(4, None, 60)];
        let s = [
            bin(1, Some(1), 30),
            bin(2, Some(3), 40),
            bin(4, Some(7), 20),
            bin(8, None, 10),
        ];
        let d = ks_binned(&p, &s).unwrap();
        assert!((d - 0.3).abs() < 1e-12, "{d}");
        assert_eq!(ks_binned(&p, &[]), None);
    }

    #[test]
    fn ks_treats_a_suppressed_gap_as_flat() {
        // The bin 2-3 was suppressed in production: its cumulative share stays 0.5 across it.
        let p = [bin(1, Some(1), 50), bin(4, None, 50)];
        let s = [bin(1, Some(1), 50), bin(2, Some(3), 25), bin(4, None, 25)];
        // At 1: 0.5 vs 0.5; at 3: 0.5 vs 0.75.
        assert_eq!(ks_binned(&p, &s), Some(0.25));
    }

    fn cats(labels: bool, counts: &[(&str, u64)], suppressed: u64) -> Categories {
        Categories {
            labels,
            counts: counts.iter().map(|(k, n)| (k.to_string(), *n)).collect(),
            suppressed_rows: suppressed,
            suppressed_categories: u64::from(suppressed > 0),
        }
    }

    #[test]
    fn enum_labels_match_by_label() {
        // (a 60, b 40) vs (a 20, b 60, c 20): ½ (0.4 + 0.2 + 0.2) = 0.4.
        let p = cats(true, &[("a", 60), ("b", 40)], 0);
        let s = cats(true, &[("a", 20), ("b", 60), ("c", 20)], 0);
        let (labels, a, b) = category_shares(&p, &s).unwrap();
        assert_eq!(labels, ["a", "b", "c"]);
        assert_eq!(
            (a.clone(), b.clone()),
            (vec![0.6, 0.4, 0.0], vec![0.2, 0.6, 0.2])
        );
        assert!((tvd_shares(&a, &b) - 0.4).abs() < 1e-12);
    }

    #[test]
    fn tokens_match_by_rank_with_suppressed_rows_last() {
        // Different tokens, the same shape: 0. Then 50/30/20 vs 40/40 + 20 suppressed.
        let p = cats(false, &[("t1", 50), ("t2", 30), ("t3", 20)], 0);
        let s = cats(false, &[("x9", 500), ("x8", 300), ("x7", 200)], 0);
        let (labels, a, b) = category_shares(&p, &s).unwrap();
        assert_eq!(labels, ["#1", "#2", "#3"]);
        assert_eq!(tvd_shares(&a, &b), 0.0);
        let s = cats(false, &[("x1", 40), ("x2", 40)], 20);
        let (labels, a, b) = category_shares(&p, &s).unwrap();
        assert_eq!(labels, ["#1", "#2", "#3", "other"]);
        // |0.5-0.4| + |0.3-0.4| + |0.2-0| + |0-0.2| = 0.6 → 0.3.
        assert!((tvd_shares(&a, &b) - 0.3).abs() < 1e-12);
        assert!(category_shares(&p, &cats(false, &[], 0)).is_none());
    }

    #[test]
    fn ccdf_by_hand() {
        let h = [
            bin(0, Some(0), 25),
            bin(1, Some(1), 25),
            bin(2, Some(3), 25),
            bin(4, None, 25),
        ];
        assert_eq!(ccdf_points(&h), vec![(1.0, 0.75), (2.0, 0.5), (4.0, 0.25)]);
        assert!(ccdf_points(&[]).is_empty());
    }
}
