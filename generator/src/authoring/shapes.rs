//! Distributions read off a pack's figures: an edge's fan-out (its tail set to the pack's
//! mean) and a reference's popularity, a text column's length, a child's offset after its
//! parent. Used by [`super::init`], [`super::fit`] and [`super::calibrate`].

use pgshape_core::dist::Dist;
use pgshape_core::pack::{
    EdgeMetrics, Numbers, Pack, Shape, EDGE_QUANTILES, LENGTH_QUANTILES, TIMING_QUANTILES,
};
use pgshape_core::spec::Popularity;

/// The fan-out quantile function of an edge, or `None` when the pack suppressed too much.
pub fn fanout_of(edge: &EdgeMetrics) -> Option<Dist> {
    let mut points = known_points(lowest_children(edge), &edge.quantiles, EDGE_QUANTILES)?;
    // Beyond the last exported quantile, the histogram's open bin (at least k parents with
    // `lo` children or more) pins the quantile function at 1 - its share; the maximum is
    // never exported, so the tail ends at 4x that (a power-law guess, documented).
    let with_children = edge.parents as f64 * (1.0 - edge.zero_fraction);
    if let Some(open) = edge
        .histogram
        .last()
        .filter(|b| b.lo > 0 && with_children > 0.0)
    {
        let p = 1.0 - open.count as f64 / with_children;
        let (lp, lv) = {
            let l = points.last().expect("non-empty");
            (l[0], l[1])
        };
        if p > lp && p < 1.0 && open.lo as f64 >= lv {
            points.push([p, open.lo as f64]);
        }
    }
    let last = points.last().expect("non-empty")[1];
    points.push([1.0, last * 4.0]);
    let d = Dist::Quantiles(points);
    d.validate().ok().map(|_| d)
}

/// The fewest children a parent with children has by the edge's histogram: the lower edge
/// of the first non-empty bin holding counts of 1 or more (at least 1). A bin merged down to
/// 0 (sparse bins join their neighbours) holds parents with children too, from 1 up: an
/// empty open bin past it says nothing.
fn lowest_children(edge: &EdgeMetrics) -> f64 {
    edge.histogram
        .iter()
        .find(|b| b.count > 0 && b.hi.is_none_or(|h| h > 0))
        .map_or(1.0, |b| b.lo.max(1) as f64)
}

/// [`fanout_of`] whose tail (the last point, which no pack exports) is set so the mean is
/// `mean` children per parent with children — the pack's child rows over its parents with
/// children — rather than guessed: a guessed tail makes the child table too small or too
/// large next to its parent. The tail never drops below the last exported point.
pub fn fanout_with_mean(edge: &EdgeMetrics, mean: Option<f64>) -> Option<Dist> {
    let d = fanout_of(edge)?;
    let (Some(target), Dist::Quantiles(points)) = (mean, &d) else {
        return Some(d);
    };
    Some(tail_for_mean(points, target))
}

/// [`fanout_with_mean`], or when the pack suppressed every quantile of the edge (fewer than
/// k parents beyond each), a fan-out from what is left: from the lowest non-empty bin's count
/// (1 when the histogram starts at 0) to a top set for the mean. For references, whose
/// zero fraction and mean are what a comparison can hold them to then.
pub fn fanout_or_mean(edge: &EdgeMetrics, mean: Option<f64>) -> Option<Dist> {
    if let Some(d) = fanout_with_mean(edge, mean) {
        return Some(d);
    }
    let target = mean.filter(|m| m.is_finite() && *m > 0.0)?;
    let lowest = lowest_children(edge);
    let d = tail_for_mean(&[[0.0, lowest], [1.0, lowest]], target);
    d.validate().ok().map(|_| d)
}

/// Quantile points whose last value is set so the mean is `target` (never below the point
/// before it).
fn tail_for_mean(points: &[[f64; 2]], target: f64) -> Dist {
    let n = points.len();
    let below = points[n - 2][1];
    let with_top = |top: f64| {
        let mut p = points.to_vec();
        p[n - 1][1] = top;
        Dist::Quantiles(p)
    };
    if !target.is_finite() || with_top(below).mean() >= target {
        return with_top(below);
    }
    let (mut lo, mut hi) = (below, below.max(1.0) * 1e4);
    if with_top(hi).mean() < target {
        return with_top(hi);
    }
    for _ in 0..40 {
        let mid = (lo + hi) / 2.0;
        if with_top(mid).mean() < target {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    with_top(hi.round().max(below))
}

/// Children per parent with children, from the pack: the child table's rows whose key is set,
/// over the edge's parents that have children. When the edge's own parent count is 0 (left out,
/// or noised away under differential privacy) the parent table's row count stands in.
pub fn children_per_parent(pack: &Pack, edge: &EdgeMetrics) -> Option<f64> {
    let child = pack.tables.get(&edge.child)?;
    let set = edge
        .columns
        .iter()
        .filter_map(|c| child.columns.get(c))
        .map(|c| 1.0 - c.null_fraction)
        .fold(1.0, f64::min);
    let parents = match edge.parents {
        0 => pack.tables.get(&edge.parent).map_or(0, |p| p.total_rows),
        n => n,
    };
    let with_children = parents as f64 * (1.0 - zero_fraction_of(edge));
    (with_children > 0.0).then(|| child.total_rows as f64 * set / with_children)
}

/// The edge's share of parents without children, read as 0 when the pack says 1: the child
/// table has rows under the key, so some parent has children (a noisy pack can say 1).
pub fn zero_fraction_of(edge: &EdgeMetrics) -> f64 {
    if edge.zero_fraction >= 1.0 {
        0.0
    } else {
        edge.zero_fraction
    }
}

/// The zero fraction of a fan-out `fanout` fitted to `edge`: the edge's, unless the fan-out's
/// mean is above `mean` (children per parent with children, from the pack's counts) — its
/// quantiles, noisy or read off coarse bins, can imply more children than the child table
/// has, and no tail brings the mean down then. The share of parents with children is then
/// scaled down so the child table keeps the pack's size (the table's count is what a
/// performance test is sized by; the zero fraction moves instead).
pub fn zero_fraction_for(edge: &EdgeMetrics, fanout: &Dist, mean: Option<f64>) -> f64 {
    let zero = zero_fraction_of(edge).min(0.999);
    let (Some(target), m) = (mean.filter(|m| m.is_finite() && *m > 0.0), fanout.mean()) else {
        return zero;
    };
    if m.is_nan() || m <= target * 1.01 {
        return zero;
    }
    (1.0 - (1.0 - zero) * target / m).clamp(zero, 0.999)
}

/// A reference's popularity from the pack's edge of that foreign key: its fan-out (tail set
/// to the pack's mean; from the mean alone when every quantile is suppressed) and zero
/// fraction.
pub fn popularity_of(pack: &Pack, edge: &EdgeMetrics) -> Option<Popularity> {
    Some(Popularity {
        fanout: fanout_or_mean(edge, children_per_parent(pack, edge))?,
        zero_fraction: zero_fraction_of(edge).min(0.999),
    })
}

/// A length distribution's quantile function from the pack's shape (values may be 0).
///
/// Lengths are integers and generators round `Q(u)`, so the histogram's closed bins are kept
/// exactly: a bin `[lo, hi]` ending at cumulative share `F` puts the point `(F, hi + 0.5)`,
/// the rounding boundary between `hi` and `hi + 1`. Without it, the line between two
/// quantiles (p10 = 7, p50 = 8, say) spreads a length that holds 45 % of the rows over a third
/// of that.
pub fn length_of(shape: &Shape) -> Option<Dist> {
    let first = shape.histogram.first().map_or(0.0, |b| b.lo as f64);
    let mut points = known_points(first, &shape.quantiles, LENGTH_QUANTILES)?;
    let total: u64 = shape.histogram.iter().map(|b| b.count).sum();
    if total > 0 {
        let mut cum = 0;
        for b in &shape.histogram {
            cum += b.count;
            let p = round6(cum as f64 / total as f64);
            if let (Some(hi), true) = (b.hi, p > 0.0 && p < 1.0) {
                points.push([p, hi as f64 + 0.5]);
            }
        }
        points.sort_by(|a, b| a[0].total_cmp(&b[0]).then(a[1].total_cmp(&b[1])));
        // One point per share (the largest value), values never falling.
        let mut merged: Vec<[f64; 2]> = Vec::with_capacity(points.len());
        for p in points {
            match merged.last_mut() {
                Some(l) if l[0] == p[0] => l[1] = l[1].max(p[1]),
                Some(l) => {
                    let v = p[1].max(l[1]);
                    merged.push([p[0], v]);
                }
                None => merged.push(p),
            }
        }
        points = merged;
    }
    let last = points.last().expect("non-empty")[1];
    let open = shape.histogram.last().map_or(last, |b| b.lo as f64);
    points.push([1.0, (last * 2.0).max(open).max(last)]);
    let d = Dist::Quantiles(points);
    d.validate().ok().map(|_| d)
}

/// A child-minus-parent offset's quantile function (seconds) from an edge's offsets, or `None`
/// when the pack suppressed every quantile. Negative values count as 0; below the lowest
/// exported quantile the function starts at 0, and beyond the highest (never the maximum) it
/// ends at twice that.
pub fn offset_of(offsets: &Numbers) -> Option<Dist> {
    let mut points = known_points(0.0, &offsets.quantiles, TIMING_QUANTILES)?;
    for p in points.iter_mut() {
        p[1] = p[1].max(0.0);
    }
    let last = points.last().expect("non-empty")[1];
    points.push([1.0, last * 2.0]);
    let d = Dist::Quantiles(points);
    d.validate().ok().map(|_| d)
}

/// `[0, first]` then `[p, value]` for every quantile the pack exported (made non-decreasing),
/// or `None` when it exported none.
fn known_points(
    first: f64,
    quantiles: &std::collections::BTreeMap<String, Option<f64>>,
    names: &[(&str, f64)],
) -> Option<Vec<[f64; 2]>> {
    let mut points = vec![[0.0, first]];
    for (name, p) in names {
        if let Some(Some(v)) = quantiles.get(*name) {
            let last = points.last().expect("starts with p = 0")[1];
            points.push([*p, v.max(last)]);
        }
    }
    (points.len() >= 2).then_some(points)
}

/// Rounds a fraction to 6 decimals (readable specs).
pub fn round6(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn a_fanout_starts_at_one_child_when_sparse_bins_were_merged_down_to_zero() {
        // A noisy pack: the bins of 0 to 255 children merged into one (each alone rested on
        // fewer than k people), then an empty open bin at 256. The quantiles are 3.
        let bin = |lo, hi, count| pgshape_core::pack::Bin { lo, hi, count };
        let edge = EdgeMetrics {
            foreign_key: "c_p_fkey".into(),
            child: "s.c".into(),
            columns: vec!["p".into()],
            parent: "s.p".into(),
            ref_columns: vec!["id".into()],
            parents: 4000,
            zero_fraction: 0.0,
            quantiles: EDGE_QUANTILES
                .iter()
                .map(|(k, _)| (k.to_string(), Some(3.0).filter(|_| *k != "p99.9")))
                .collect(),
            histogram: vec![bin(0, Some(255), 2448), bin(256, None, 0)],
            child_column: None,
            parent_column: None,
            offset_seconds: None,
            inter_arrival_seconds: None,
        };
        let Some(Dist::Quantiles(points)) = fanout_of(&edge) else {
            panic!("a fan-out");
        };
        assert_eq!(points[0], [0.0, 1.0], "{points:?}");
        assert!(points.iter().any(|p| p == &[0.5, 3.0]), "{points:?}");
    }

    #[test]
    fn a_fanout_above_the_counts_mean_lowers_the_share_of_parents_with_children() {
        let mut edge = EdgeMetrics {
            foreign_key: "c_p_fkey".into(),
            child: "s.c".into(),
            columns: vec!["p".into()],
            parent: "s.p".into(),
            ref_columns: vec!["id".into()],
            parents: 1000,
            zero_fraction: 0.4,
            quantiles: BTreeMap::new(),
            histogram: Vec::new(),
            child_column: None,
            parent_column: None,
            offset_seconds: None,
            inter_arrival_seconds: None,
        };
        // Three children each, but the counts say 1.5 per parent with children.
        let three = Dist::Quantiles(vec![[0.0, 3.0], [1.0, 3.0]]);
        let z = zero_fraction_for(&edge, &three, Some(1.5));
        assert!((z - 0.7).abs() < 1e-9, "{z}");
        // The child table's size is kept: parents × (1 - z) × mean = 1000 × 0.6 × 1.5.
        assert!((1000.0 * (1.0 - z) * three.mean() - 900.0).abs() < 1e-6);
        // A mean the fan-out can reach, or none: the edge's own.
        assert_eq!(zero_fraction_for(&edge, &three, Some(3.0)), 0.4);
        assert_eq!(zero_fraction_for(&edge, &three, None), 0.4);
        edge.zero_fraction = 1.0;
        assert_eq!(zero_fraction_for(&edge, &three, Some(3.0)), 0.0);
    }

    #[test]
    fn rounded_lengths_keep_the_histograms_closed_bins() {
        // A real model-name column: 49.5 % of lengths in [4, 7] (most are 7), p10 = 7,
        // p50 = 8. Interpolating the quantiles alone rounds only 30 % to 7 or less.
        let q = |v: [Option<f64>; 6]| {
            ["p1", "p10", "p50", "p90", "p95", "p99"]
                .iter()
                .zip(v)
                .map(|(k, v)| (k.to_string(), v))
                .collect()
        };
        let bin = |lo, hi, count| pgshape_core::pack::Bin { lo, hi, count };
        let shape = pgshape_core::pack::Shape {
            quantiles: q([
                Some(5.0),
                Some(7.0),
                Some(8.0),
                Some(11.0),
                Some(11.0),
                Some(15.0),
            ]),
            histogram: vec![
                bin(4, Some(7), 1643),
                bin(8, Some(15), 1650),
                bin(16, None, 24),
            ],
        };
        let d = length_of(&shape).unwrap();
        let n = 100_000;
        let lengths: Vec<f64> = (0..n)
            .map(|i| libm::round(d.quantile((i as f64 + 0.5) / n as f64)))
            .collect();
        let share = |max: f64| lengths.iter().filter(|l| **l <= max).count() as f64 / n as f64;
        assert!(
            (share(7.0) - 1643.0 / 3317.0).abs() < 1e-3,
            "{}",
            share(7.0)
        );
        assert!(
            (share(15.0) - 3293.0 / 3317.0).abs() < 1e-3,
            "{}",
            share(15.0)
        );
        // The quantiles still hold.
        let at = |p: f64| libm::round(d.quantile(p));
        assert_eq!((at(0.1), at(0.5), at(0.9)), (7.0, 8.0, 11.0));
    }

    /// Whole-number lengths: p50 3 and p90 4 leave open where 3 ends; the histogram's closed
    /// bin [2, 3] holding 99 of 120 says 82.5 % (interpolating the quantiles alone gave 71 %).
    #[test]
    fn lengths_follow_the_histograms_closed_bins() {
        let bin = |lo, hi, count| pgshape_core::pack::Bin { lo, hi, count };
        let shape = pgshape_core::pack::Shape {
            quantiles: [("p10", 3.0), ("p50", 3.0), ("p90", 4.0)]
                .into_iter()
                .map(|(n, v)| (n.to_string(), Some(v)))
                .collect(),
            histogram: vec![bin(2, Some(3), 99), bin(4, None, 21)],
        };
        let d = length_of(&shape).unwrap();
        const N: usize = 10_000;
        let short = (0..N)
            .filter(|i| libm::round(d.quantile((*i as f64 + 0.5) / N as f64)) <= 3.0)
            .count() as f64
            / N as f64;
        assert!((short - 0.825).abs() < 0.01, "{short}");
    }
}
