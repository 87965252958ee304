//! Distributions of non-negative integers (text lengths, children per parent) by people: one
//! statement computes the log2 bins with their rows and distinct units, and the nearest-rank
//! quantiles with the units on each side of them (see [`crate::people`]); then the bins are
//! merged until each rests on `k` units and the quantiles kept only where `k` units lie at or
//! below and at or above them.

use pgshape_core::pack::{Bin, Shape};
use pgshape_core::{Error, Result};
use postgres::GenericClient;

use crate::people::{bracketed, quantile_ctes, quantile_selects, units_agg};
use crate::sample::Sample;

/// A shape and the exact totals of its observed values (before any merging).
pub struct Measured {
    pub shape: Shape,
    /// Observed values (rows, or parents), not scaled.
    pub total: u64,
    /// Observed zeros.
    pub zeros: u64,
    /// The fewest units any exported bin or quantile rests on (`None`: nothing exported).
    pub min_units: Option<u64>,
}

/// The shape of `x` (bigint ≥ 0) of relation `hist` (columns `x`, `u`), its quantiles over
/// relation `quantile` (the same columns, e.g. the non-zero values), both defined by the
/// common table expressions `with`.
#[allow(clippy::too_many_arguments)]
pub fn measure(
    client: &mut impl GenericClient,
    with: &str,
    hist: &str,
    quantile: &str,
    by_unit: bool,
    points: &[(&str, f64)],
    k: u64,
    sample: &Sample,
    what: &str,
) -> Result<Measured> {
    let probabilities: Vec<f64> = points.iter().map(|(_, p)| *p).collect();
    let sql = format!(
        "WITH {with},
              b AS (SELECT CASE WHEN x = 0 THEN 0 ELSE floor(log(2::numeric, x::numeric))::int + 1 END AS e,
                           count(*) AS n, {units} AS un
                      FROM {hist} GROUP BY 1),
              qx AS MATERIALIZED (SELECT x::float8 AS x, u FROM {quantile}),
              {qctes}
         SELECT (SELECT array_agg(e ORDER BY e) FROM b), (SELECT array_agg(n ORDER BY e) FROM b),
                (SELECT array_agg(un ORDER BY e) FROM b), {qselects}",
        units = units_agg(by_unit),
        qctes = quantile_ctes("qx", 0, "$1::float8[]", by_unit),
        qselects = quantile_selects(0),
    );
    let row = client
        .query_one(&sql, &[&probabilities])
        .map_err(Error::db(format!("the distribution of {what}")))?;
    let get = |i: usize| row.get::<_, Option<Vec<i64>>>(i).unwrap_or_default();
    let (es, ns, us) = (
        row.get::<_, Option<Vec<i32>>>(0).unwrap_or_default(),
        get(1),
        get(2),
    );
    let values: Vec<Option<f64>> = row
        .get::<_, Option<Vec<Option<f64>>>>(3)
        .unwrap_or_default();
    let below: Vec<Option<i64>> = row
        .get::<_, Option<Vec<Option<i64>>>>(4)
        .unwrap_or_default();
    let above: Vec<Option<i64>> = row
        .get::<_, Option<Vec<Option<i64>>>>(5)
        .unwrap_or_default();
    let mut min_units: Option<u64> = None;
    let mut rests = |n: u64| min_units = Some(min_units.map_or(n, |m| m.min(n)));
    let quantiles = points
        .iter()
        .enumerate()
        .map(|(j, (name, _))| {
            let (b, a) = (
                below.get(j).copied().flatten(),
                above.get(j).copied().flatten(),
            );
            let v = values
                .get(j)
                .copied()
                .flatten()
                .filter(|_| bracketed(b, a, k));
            if v.is_some() {
                rests(b.unwrap_or(0).min(a.unwrap_or(0)) as u64);
            }
            (name.to_string(), v)
        })
        .collect();
    let cells: Vec<(u64, u64, u64, u64)> = es
        .iter()
        .zip(ns.iter().zip(&us))
        .map(|(&e, (&n, &u))| {
            let (lo, hi) = if e == 0 {
                (0, 0)
            } else {
                (1u64 << (e - 1), (1u64 << e) - 1)
            };
            (lo, hi, n as u64, u as u64)
        })
        .collect();
    let total = cells.iter().map(|c| c.2).sum();
    let zeros = cells
        .iter()
        .find(|c| c.0 == 0 && c.1 == 0)
        .map_or(0, |c| c.2);
    let merged = merge(cells, k);
    for b in &merged {
        rests(b.3);
    }
    let histogram = merged
        .into_iter()
        .map(|(lo, hi, n, _)| Bin {
            lo,
            hi,
            count: sample.scale(n),
        })
        .collect();
    Ok(Measured {
        shape: Shape {
            quantiles,
            histogram,
        },
        total,
        zeros,
        min_units,
    })
}

/// Merges bins `(lo, hi, rows, units)` (ordered) until each rests on `k` units: the sparse top
/// into an open last bin, then any sparse bin into its upper neighbour, so no bin is dropped
/// (a dropped bin could be recovered by subtracting the others from a total). A merged bin's
/// units are its largest part's (a lower bound). Nothing when all of them rest on fewer.
pub fn merge(mut bins: Vec<(u64, u64, u64, u64)>, k: u64) -> Vec<(u64, Option<u64>, u64, u64)> {
    let join = |a: (u64, u64, u64, u64), b: (u64, u64, u64, u64)| {
        (a.0.min(b.0), a.1.max(b.1), a.2 + b.2, a.3.max(b.3))
    };
    while bins.len() > 1 && bins.last().is_some_and(|b| b.3 < k) {
        let last = bins.pop().expect("len > 1");
        let prev = bins.pop().expect("len > 0");
        bins.push(join(prev, last));
    }
    let mut i = 0;
    while i + 1 < bins.len() {
        if bins[i].3 < k {
            let a = bins.remove(i);
            bins[i] = join(a, bins[i]);
        } else {
            i += 1;
        }
    }
    if bins.iter().all(|b| b.3 < k) {
        return Vec::new();
    }
    let last = bins.len() - 1;
    bins.into_iter()
        .enumerate()
        .map(|(i, (lo, hi, n, u))| (lo, (i != last).then_some(hi), n, u))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sparse_bins_merge_by_units_and_none_is_dropped() {
        // (lo, hi, rows, units): 59 rows of 5 people in the second bin.
        let bins = vec![
            (0, 0, 50, 40),
            (1, 1, 59, 5),
            (2, 3, 30, 12),
            (4, 7, 12, 3),
            (8, 15, 1, 1),
        ];
        let m = merge(bins, 10);
        assert!(m.iter().all(|b| b.3 >= 10), "{m:?}");
        assert_eq!(m.iter().map(|b| b.2).sum::<u64>(), 152, "no row dropped");
        assert_eq!(m.last().unwrap().1, None, "the last bin is open");
        assert!(merge(vec![(1, 1, 500, 3)], 10).is_empty());
    }
}
