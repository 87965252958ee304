//! Parameters fitted from pack figures: a reference's Zipf exponent from its edge, a numeric
//! column's quantile function, and band sizes from production counts.

use pgshape_core::dist::Dist;
use pgshape_core::pack::{EdgeMetrics, Numbers, NUMBER_QUANTILES};

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
            score += (q50.max(1.0) / p.max(1.0)).ln().abs();
        }
        if let Some(p) = p90 {
            score += (q90.max(1.0) / p.max(1.0)).ln().abs();
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
            x.ln() / (nf + 1.0).ln()
        } else {
            let a = 1.0 - s;
            (x.powf(a) - 1.0) / ((nf + 1.0).powf(a) - 1.0)
        }
    };
    let mut cells: Vec<(f64, f64)> = Vec::with_capacity(points as usize); // (lambda, weight)
    let mut zero = 0.0;
    for i in 0..points {
        let lo = 1.0 + i as f64 * stride;
        let hi = lo + stride;
        let lambda = m * (cdf(hi) - cdf(lo)) / stride;
        let p0 = (-lambda).exp();
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
    d.validate().ok().map(|_| d)
}

/// Rounds a fraction to 6 decimals (readable specs).
pub fn round6(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
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
