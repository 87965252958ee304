//! Parameters fitted from pack figures: a reference's Zipf exponent from its edge, a numeric
//! column's quantile function, and band sizes from production counts.

use pgshape_core::dist::Dist;
use pgshape_core::pack::{EdgeMetrics, Numbers, Shape, LENGTH_QUANTILES, NUMBER_QUANTILES};
use pgshape_core::spec::SqlType;

/// The Zipf exponent (0 to 2, step 0.05) whose expected children-per-parent best matches the
/// edge: `children` draws over `parents` rows with popularity `rank^-s` (the generator's
/// `reference`). The fit compares the zero-child fraction and the p50 and p90 of the counts of
/// parents with children, under a Poisson approximation.
pub fn zipf_of(edge: &EdgeMetrics, children: u64, parents: u64) -> f64 {
    if parents < 2 || children == 0 {
        return 0.0;
    }
    let want = |q: &str| edge.quantiles.get(q).copied().flatten();
    let (p50, p90) = (want("p50"), want("p90"));
    let mut best = (f64::INFINITY, 0.0);
    for step in 0..=40 {
        let s = step as f64 / 20.0;
        let (zero, q50, q90) = expected(s, children as f64, parents);
        let mut score = (zero - edge.zero_fraction).abs() * 4.0;
        if let Some(p) = p50 {
            score += libm::log(q50.max(1.0) / p.max(1.0)).abs();
        }
        if let Some(p) = p90 {
            score += libm::log(q90.max(1.0) / p.max(1.0)).abs();
        }
        if score < best.0 - 1e-12 {
            best = (score, s);
        }
    }
    best.1
}

/// Zero-child fraction and p50, p90 of the nonzero counts under Zipf exponent `s`.
fn expected(s: f64, m: f64, n: u64) -> (f64, f64, f64) {
    // Representative ranks: at most 4,096 points, each standing for `stride` parents.
    let points = n.min(4096);
    let stride = n as f64 / points as f64;
    let nf = n as f64;
    // P(rank <= x) of the generator's continuous inverse transform on [1, n + 1).
    let cdf = |x: f64| -> f64 {
        if s <= 0.0 {
            (x - 1.0) / nf
        } else if (s - 1.0).abs() < 1e-9 {
            libm::log(x) / libm::log(nf + 1.0)
        } else {
            let a = 1.0 - s;
            (libm::pow(x, a) - 1.0) / (libm::pow(nf + 1.0, a) - 1.0)
        }
    };
    let mut cells: Vec<(f64, f64)> = Vec::with_capacity(points as usize); // (lambda, weight)
    let mut zero = 0.0;
    for i in 0..points {
        let lo = 1.0 + i as f64 * stride;
        let hi = lo + stride;
        let lambda = m * (cdf(hi) - cdf(lo)) / stride;
        let p0 = libm::exp(-lambda);
        zero += p0 * stride;
        cells.push((lambda.max(1.0), (1.0 - p0) * stride));
    }
    cells.sort_by(|a, b| a.0.total_cmp(&b.0));
    let total: f64 = cells.iter().map(|c| c.1).sum();
    let quantile = |p: f64| {
        let mut acc = 0.0;
        for (v, w) in &cells {
            acc += w;
            if acc >= p * total {
                return *v;
            }
        }
        cells.last().map_or(1.0, |c| c.0)
    };
    (zero / nf, quantile(0.5), quantile(0.9))
}

/// A numeric column's quantile function from the pack's quantiles, its ends from the
/// histogram's outer bins (an open end extends the nearest quantile by the spread of the
/// exported ones), or `None` when the pack exported no quantile.
pub fn number_of(n: &Numbers) -> Option<Dist> {
    let known: Vec<[f64; 2]> = NUMBER_QUANTILES
        .iter()
        .filter_map(|(name, p)| n.quantiles.get(*name).copied().flatten().map(|v| [*p, v]))
        .collect();
    let (first, last) = (known.first()?[1], known.last()?[1]);
    let spread = (last - first).abs().max(first.abs().max(last.abs()) * 0.1);
    let lo = match n.histogram.first() {
        Some(b) => b.lo.unwrap_or(first - spread).min(first),
        None => first,
    };
    let hi = match n.histogram.last() {
        Some(b) => b.hi.unwrap_or(last + spread).max(last),
        None => last,
    };
    let mut points = vec![[0.0, lo]];
    for [p, v] in known {
        let prev = points.last().expect("non-empty")[1];
        points.push([p, v.max(prev)]);
    }
    let prev = points.last().expect("non-empty")[1];
    points.push([1.0, hi.max(prev)]);
    let d = Dist::Quantiles(points);
    d.validate_values(true).ok().map(|_| d)
}

/// A length distribution (generated lengths are rounded) that keeps the pack's histogram:
/// each closed bin `[lo, hi]` spans its cumulative share with values that round into it
/// (`lo − 0.49` to `hi + 0.49`, so a one-value bin such as `0..0` is a step of exactly its
/// share), the exported quantiles refine it (`p99` tightens the open last bin), and the open
/// bin ends at twice its start or just past the last quantile, whichever is larger. Used for
/// bytea, jsonb and array lengths, whose small discrete values interpolated quantiles alone
/// smear (bytea lengths KS 0.23, array lengths 0.15 on the types test before).
pub fn length_of_bins(shape: &Shape) -> Option<Dist> {
    let total: u64 = shape.histogram.iter().map(|b| b.count).sum();
    if total == 0 {
        return super::shapes::length_of(shape);
    }
    let known: Vec<[f64; 2]> = LENGTH_QUANTILES
        .iter()
        .filter_map(|(name, p)| {
            shape
                .quantiles
                .get(*name)
                .copied()
                .flatten()
                .map(|v| [*p, v])
        })
        .collect();
    let last_q = known.last().map_or(0.0, |q| q[1]);
    let mut points: Vec<[f64; 2]> = Vec::new();
    let mut acc = 0u64;
    for b in &shape.histogram {
        let f0 = acc as f64 / total as f64;
        acc += b.count;
        let f1 = acc as f64 / total as f64;
        let hi = match b.hi {
            Some(h) => h as f64 + 0.49,
            None => (2.0 * b.lo as f64)
                .max(last_q + 0.49)
                .max(b.lo as f64 + 0.49),
        };
        points.push([f0, (b.lo as f64 - 0.49).max(0.0)]);
        points.push([f1, hi]);
    }
    points.extend(known.iter().filter(|q| q[0] > 0.0 && q[0] < 1.0));
    points.sort_by(|a, b| a[0].total_cmp(&b[0]));
    // Strictly rising probabilities (a bin's start nudged past the previous bin's end), never
    // falling values, ending at p = 1.
    let top = points.last().map_or(0.0, |p| p[1]);
    let mut out: Vec<[f64; 2]> = Vec::with_capacity(points.len());
    for [p, v] in points {
        let (p, v) = match out.last() {
            Some(&[lp, lv]) => (if p <= lp { lp + 1e-9 } else { p }, v.max(lv)),
            None => (p, v),
        };
        if p < 1.0 {
            out.push([p, v]);
        }
    }
    let last = out.last().map_or(top, |p| p[1]);
    out.push([1.0, top.max(last)]);
    let d = Dist::Quantiles(out);
    match d.validate() {
        Ok(()) => Some(d),
        Err(_) => super::shapes::length_of(shape),
    }
}

/// The range a number column's values must stay in: the type's (integer widths, a
/// `numeric(p,s)`'s ±(10^(p-s) − 10^-s)) narrowed by what the pack reveals of a check
/// constraint: an integer column with no more distinct values than integers between its p1
/// and p99 keeps to [p1, p99] (a range such as `BETWEEN 1 AND 5`), and a column whose values
/// are all non-negative without a bin of exact zeros keeps above zero (`> 0`).
pub fn number_range(
    t: SqlType,
    numeric: Option<(u32, u32)>,
    n: Option<&Numbers>,
    distinct_ratio: Option<f64>,
    non_null: Option<f64>,
) -> (f64, f64) {
    let (mut lo, mut hi) = match t {
        SqlType::Smallint => (i16::MIN as f64, i16::MAX as f64),
        SqlType::Integer => (i32::MIN as f64, i32::MAX as f64),
        SqlType::Bigint => (-9.0e18, 9.0e18),
        SqlType::Numeric => match numeric {
            Some((p, s)) => {
                let top = libm::pow(10.0, p as f64 - s as f64) - libm::pow(10.0, -(s as f64));
                (-top, top)
            }
            None => (-1e15, 1e15),
        },
        _ => (f64::MIN, f64::MAX),
    };
    let Some(n) = n else {
        return (lo, hi);
    };
    let q = |name: &str| n.quantiles.get(name).copied().flatten();
    let step = match (t, numeric) {
        (t, _) if t.is_integer() => 1.0,
        (SqlType::Numeric, Some((_, s))) => libm::pow(10.0, -(s as f64)),
        _ => 0.0,
    };
    if let (Some(p1), Some(p99), Some(ratio), Some(rows)) =
        (q("p1"), q("p99"), distinct_ratio, non_null)
    {
        // The ratio has 3 decimals: up to 0.0005 of the rows more than there are.
        let distinct = ratio * rows - 0.0005 * rows;
        if t.is_integer() && distinct <= p99 - p1 + 1.0 {
            lo = lo.max(p1);
            hi = hi.min(p99);
        }
    }
    let non_negative = n.histogram.first().is_some_and(|b| b.lo == Some(0.0));
    let zeros = n
        .histogram
        .iter()
        .any(|b| b.lo == Some(0.0) && b.hi == Some(0.0));
    if non_negative && !zeros && q("p1").is_some_and(|p| p > 0.0) && step > 0.0 {
        lo = lo.max(step);
    } else if non_negative {
        lo = lo.max(0.0);
    }
    (lo, hi.max(lo))
}

/// Keeps a distribution's values within `[lo, hi]`.
pub fn clamp(d: &mut Dist, lo: f64, hi: f64) {
    match d {
        Dist::Quantiles(points) => {
            for p in points.iter_mut() {
                p[1] = p[1].clamp(lo, hi);
            }
        }
        Dist::Uniform { min, max } => {
            *min = min.clamp(lo, hi);
            *max = max.clamp(lo, hi);
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pgshape_core::pack::NumberBin;
    use std::collections::BTreeMap;

    fn edge(zero: f64, p50: f64, p90: f64) -> EdgeMetrics {
        EdgeMetrics {
            foreign_key: "fk".into(),
            child: "s.c".into(),
            columns: vec!["p".into()],
            parent: "s.p".into(),
            ref_columns: vec!["id".into()],
            parents: 1000,
            zero_fraction: zero,
            quantiles: [("p50", p50), ("p90", p90)]
                .into_iter()
                .map(|(k, v)| (k.to_string(), Some(v)))
                .collect(),
            histogram: vec![],
            child_column: None,
            parent_column: None,
            offset_seconds: None,
            inter_arrival_seconds: None,
        }
    }

    #[test]
    fn zipf_fit_tells_flat_from_skewed() {
        // 20 children per parent, uniform: few zeros, p50 ~ p90.
        assert!(zipf_of(&edge(0.0, 20.0, 26.0), 20_000, 1000) <= 0.2);
        // A heavy head: many childless parents, p90 far above p50.
        assert!(zipf_of(&edge(0.3, 3.0, 60.0), 20_000, 1000) >= 0.8);
        assert_eq!(zipf_of(&edge(0.0, 1.0, 1.0), 0, 1000), 0.0);
    }

    fn numbers(q: &[(&str, f64)], bins: &[(Option<f64>, Option<f64>)]) -> Numbers {
        Numbers {
            quantiles: q.iter().map(|(k, v)| (k.to_string(), Some(*v))).collect(),
            histogram: bins
                .iter()
                .map(|&(lo, hi)| NumberBin { lo, hi, count: 10 })
                .collect(),
        }
    }

    #[test]
    fn lengths_keep_the_histogram_bins() {
        use pgshape_core::pack::Bin;
        // 0, 1, 2, 3 elements a quarter each: bins 0..0, 1..1, 2.. (open); p99 = 3.
        let shape = Shape {
            quantiles: [
                ("p1", 0.0),
                ("p10", 0.0),
                ("p50", 1.0),
                ("p90", 3.0),
                ("p99", 3.0),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), Some(v)))
            .collect(),
            histogram: vec![
                Bin {
                    lo: 0,
                    hi: Some(0),
                    count: 250,
                },
                Bin {
                    lo: 1,
                    hi: Some(1),
                    count: 250,
                },
                Bin {
                    lo: 2,
                    hi: None,
                    count: 500,
                },
            ],
        };
        let d = length_of_bins(&shape).unwrap();
        let share = |f: &dyn Fn(f64) -> bool| {
            (0..10_000)
                .filter(|i| f(d.quantile((*i as f64 + 0.5) / 10_000.0).round()))
                .count() as f64
                / 10_000.0
        };
        assert!((share(&|x| x == 0.0) - 0.25).abs() < 0.002);
        assert!((share(&|x| x == 1.0) - 0.25).abs() < 0.002);
        assert!((share(&|x| (2.0..=3.0).contains(&x)) - 0.49).abs() < 0.02);
        assert!(share(&|x| x > 4.0) == 0.0);
    }

    #[test]
    fn the_range_a_pack_reveals() {
        // Five distinct values among 2000 rows, p1 = 1 and p99 = 5: BETWEEN 1 AND 5.
        let n = numbers(
            &[("p1", 1.0), ("p50", 3.0), ("p99", 5.0)],
            &[(Some(0.0), Some(2.0)), (Some(4.0), None)],
        );
        let r = number_range(SqlType::Smallint, None, Some(&n), Some(0.003), Some(2000.0));
        assert_eq!(r, (1.0, 5.0));
        // Many distinct values: only "above zero" (no zero bin, p1 > 0).
        let r = number_range(SqlType::Integer, None, Some(&n), Some(0.5), Some(2000.0));
        assert_eq!(r, (1.0, i32::MAX as f64));
        // A numeric(8,1) with exact zeros keeps >= 0; its precision bounds the top.
        let z = numbers(
            &[("p1", 0.0), ("p99", 50.0)],
            &[(Some(0.0), Some(0.0)), (Some(1.0), None)],
        );
        let r = number_range(
            SqlType::Numeric,
            Some((8, 1)),
            Some(&z),
            Some(0.5),
            Some(2000.0),
        );
        assert_eq!(r, (0.0, 9_999_999.9));
        // Negative values: the type's range.
        let neg = numbers(
            &[("p1", -3.0), ("p99", 2.0)],
            &[(None, Some(-2.0)), (Some(0.0), None)],
        );
        let r = number_range(SqlType::Smallint, None, Some(&neg), Some(0.5), Some(2000.0));
        assert_eq!(r, (i16::MIN as f64, i16::MAX as f64));
        // A negative quantile function is a valid number distribution.
        assert!(number_of(&neg).is_some_and(|d| d.quantile(0.0) < -3.0));
    }

    #[test]
    fn number_quantile_function_from_quantiles_and_histogram() {
        let n = Numbers {
            quantiles: BTreeMap::from([
                ("p1".to_string(), None),
                ("p10".to_string(), Some(10.0)),
                ("p50".to_string(), Some(50.0)),
                ("p90".to_string(), Some(90.0)),
            ]),
            histogram: vec![
                NumberBin {
                    lo: Some(0.0),
                    hi: Some(16.0),
                    count: 10,
                },
                NumberBin {
                    lo: Some(64.0),
                    hi: None,
                    count: 10,
                },
            ],
        };
        let d = number_of(&n).unwrap();
        assert_eq!(d.quantile(0.0), 0.0);
        assert!((d.quantile(0.5) - 50.0).abs() < 1e-9);
        // The open last bin: p90 extended by the spread of the quantiles (80).
        assert!((d.quantile(1.0) - 170.0).abs() < 1e-9);
        let none = Numbers {
            quantiles: BTreeMap::new(),
            histogram: vec![],
        };
        assert!(number_of(&none).is_none());
    }
}
