//! Numeric distributions (of a column, or of an edge's timings): quantiles and a signed
//! power-of-two histogram of the finite values, computed by the server; the small-cell rules
//! are in [`pgshape_core::pack::Numbers`].

use pgshape_core::pack::{NumberBin, Numbers, NUMBER_QUANTILES, NUMBER_SIGNIFICANT_DIGITS};
use pgshape_core::{Error, Result};
use postgres::GenericClient;

use crate::cells::{rank, rank_is_safe, significant};
use crate::sample::Sample;

/// The distribution of column `col` (quoted) of the `FROM` item `from` (alias `t`), read as
/// the float8 expression `x`.
pub fn numbers(
    client: &mut impl GenericClient,
    from: &str,
    col: &str,
    x: &str,
    what: &str,
    k: u64,
    sample: &Sample,
) -> Result<Numbers> {
    let source = format!("SELECT {x} AS x FROM {from} WHERE t.{col} IS NOT NULL");
    let mut d = distributions(client, None, &[source], NUMBER_QUANTILES, what, k, sample)?;
    Ok(d.remove(0))
}

/// The distributions of column `x` (float8) of each query of `sources`, in one statement
/// (`with` names common table expressions the sources may read), at the quantiles `points`.
/// Only finite values count: NULL, NaN and ±Infinity are left out.
pub fn distributions(
    client: &mut impl GenericClient,
    with: Option<&str>,
    sources: &[String],
    points: &[(&str, f64)],
    what: &str,
    k: u64,
    sample: &Sample,
) -> Result<Vec<Numbers>> {
    let probabilities: Vec<f64> = points.iter().map(|(_, p)| *p).collect();
    // Per source one scan: the finite values once (materialized), then their quantiles and
    // their bins — the sign and the power of two below |x| (corrected where ln(2) rounds
    // across). NaN sorts above Infinity, so `x < 'Infinity'` leaves it out too.
    let mut ctes: Vec<String> = with.map(str::to_string).into_iter().collect();
    let mut selects = Vec::new();
    for (i, source) in sources.iter().enumerate() {
        ctes.push(format!(
            "v{i} AS MATERIALIZED (SELECT s.x FROM ({source}) s
                                    WHERE s.x > '-Infinity'::float8 AND s.x < 'Infinity'::float8),
             g{i} AS (SELECT sign(x)::int AS s, abs(x) AS m,
                             CASE WHEN x = 0 THEN 0 ELSE floor(ln(abs(x)) / ln(2::float8))::int END AS e FROM v{i}),
             b{i} AS (SELECT s, e + CASE WHEN s = 0 THEN 0
                                         WHEN m >= power(2::float8, e + 1) THEN 1
                                         WHEN m < power(2::float8, e) THEN -1 ELSE 0 END AS e,
                             count(*) AS n
                        FROM g{i} GROUP BY 1, 2)"
        ));
        selects.push(format!(
            "(SELECT count(*) FROM v{i}),
             (SELECT percentile_disc($1::float8[]) WITHIN GROUP (ORDER BY x) FROM v{i}),
             (SELECT array_agg(s ORDER BY s, e) FROM b{i}),
             (SELECT array_agg(e ORDER BY s, e) FROM b{i}),
             (SELECT array_agg(n ORDER BY s, e) FROM b{i})"
        ));
    }
    let sql = format!("WITH {} SELECT {}", ctes.join(",\n"), selects.join(",\n"));
    let row = client
        .query_one(&sql, &[&probabilities])
        .map_err(Error::db(format!("the distribution of {what}")))?;
    Ok((0..sources.len())
        .map(|i| {
            let at = 5 * i;
            let n = row.get::<_, i64>(at) as u64;
            let values: Vec<Option<f64>> = row
                .get::<_, Option<Vec<Option<f64>>>>(at + 1)
                .unwrap_or_default();
            let quantiles = points
                .iter()
                .enumerate()
                .map(|(j, (name, p))| {
                    let v = values
                        .get(j)
                        .copied()
                        .flatten()
                        .filter(|_| rank_is_safe(rank(*p, n), n, k))
                        .map(|v| significant(v, NUMBER_SIGNIFICANT_DIGITS));
                    (name.to_string(), v)
                })
                .collect();
            let (signs, exps, counts): (Vec<i32>, Vec<i32>, Vec<i64>) = (
                row.get::<_, Option<Vec<i32>>>(at + 2).unwrap_or_default(),
                row.get::<_, Option<Vec<i32>>>(at + 3).unwrap_or_default(),
                row.get::<_, Option<Vec<i64>>>(at + 4).unwrap_or_default(),
            );
            let cells: Vec<(i32, i32, u64)> = signs
                .into_iter()
                .zip(exps)
                .zip(counts)
                .map(|((s, e), c)| (s, e, c as u64))
                .collect();
            Numbers {
                quantiles,
                histogram: histogram(cells, k, sample),
            }
        })
        .collect())
}

/// Bins from `(sign, exponent, count)` cells: ordered by value, merged until each holds at
/// least `k` observed values, the last bin open, the first widened to 0 or open, counts
/// scaled back from the sample.
fn histogram(cells: Vec<(i32, i32, u64)>, k: u64, sample: &Sample) -> Vec<NumberBin> {
    let bound = |s: i32, e: i32| -> (f64, f64) {
        let (a, b) = (libm::pow(2.0, e as f64), libm::pow(2.0, (e + 1) as f64));
        match s {
            0 => (0.0, 0.0),
            1 => (a, b),
            _ => (-b, -a),
        }
    };
    let mut bins: Vec<(f64, f64, u64)> = cells
        .into_iter()
        .map(|(s, e, c)| {
            let (lo, hi) = bound(s, e);
            (lo, hi, c)
        })
        .collect();
    bins.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1)));
    // Merge sparse bins towards the middle: the lower half upwards, the upper half downwards.
    let mut i = 0;
    while bins.len() > 1 && i < bins.len() {
        if bins[i].2 >= k {
            i += 1;
            continue;
        }
        let j = if i + 1 < bins.len() && (i < bins.len() / 2 || i == 0) {
            i + 1
        } else {
            i - 1
        };
        let (a, b) = (bins[i], bins[j]);
        let merged = (a.0.min(b.0), a.1.max(b.1), a.2 + b.2);
        let keep = i.min(j);
        bins[keep] = merged;
        bins.remove(i.max(j));
        i = keep.saturating_sub(1);
    }
    if bins.iter().map(|b| b.2).sum::<u64>() < k {
        return Vec::new();
    }
    let last = bins.len().saturating_sub(1);
    bins.iter()
        .enumerate()
        .map(|(i, &(lo, hi, c))| NumberBin {
            // The first bin: widened down to 0 when no value is negative (still true, and says
            // the column is non-negative), else open; either way the minimum's bin is hidden.
            lo: if i == 0 {
                (lo >= 0.0).then_some(0.0)
            } else {
                Some(lo)
            },
            hi: (i != last).then_some(hi),
            count: sample.scale(c),
        })
        .filter(|b| b.count > 0)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bins_merge_to_k_and_hide_the_ends() {
        // -5 (1 value), 0 (20), 1..2 (30), 2..4 (3), 4..8 (15), 1024.. (1)
        let cells = vec![
            (-1, 2, 1),
            (0, 0, 20),
            (1, 0, 30),
            (1, 1, 3),
            (1, 2, 15),
            (1, 10, 1),
        ];
        let h = histogram(cells, 10, &Sample::full());
        assert!(h.iter().all(|b| b.count >= 10), "{h:?}");
        assert_eq!(h.iter().map(|b| b.count).sum::<u64>(), 70);
        assert_eq!(h[0].lo, None, "a negative minimum is not shown: {h:?}");
        assert_eq!(h.last().unwrap().hi, None, "nor the maximum: {h:?}");
        assert!(h.iter().all(|b| b.lo != Some(1024.0)));
        // Non-negative values keep their lower edge 0 (a property of the column, not a row).
        let h = histogram(vec![(0, 0, 12), (1, 3, 40)], 10, &Sample::full());
        assert_eq!(h[0].lo, Some(0.0));
        // A positive first bin is widened down to 0: its own lower edge would bound the minimum.
        let h = histogram(vec![(1, 10, 20), (1, 11, 30)], 10, &Sample::full());
        assert_eq!((h[0].lo, h[0].hi), (Some(0.0), Some(2048.0)), "{h:?}");
        // Fewer than k values in all: no histogram at all.
        assert!(histogram(vec![(1, 3, 9)], 10, &Sample::full()).is_empty());
    }
}
