//! Distributions of non-negative integers (text lengths, children per parent) by people: one
//! statement computes the log2 bins with their rows and distinct units, and the nearest-rank
//! quantiles with the units on each side of them (see [`crate::people`]); then the bins are
//! merged until each rests on `k` units and the quantiles kept only where `k` units lie at or
//! below and at or above them.

use std::collections::BTreeMap;

use pgshape_core::pack::{Bin, Shape};
use pgshape_core::Result;
use postgres::GenericClient;

use crate::reads::Reads;

use crate::dp::budget::Family;
use crate::metrics::Scan;
use crate::people::{quantile_ctes, quantile_selects, units_agg};

/// A shape and the exact totals of its observed values (before any merging).
pub struct Measured {
    pub shape: Shape,
    /// Observed values (rows, or parents), not scaled.
    pub total: u64,
    /// Observed zeros.
    pub zeros: u64,
    /// The units of the zeros (as counted by the server).
    pub zero_units: u64,
    /// The fewest units any exported bin or quantile rests on (`None`: nothing exported).
    pub min_units: Option<u64>,
}

/// What [`measure`] reads: the shape of `x` (bigint ≥ 0) of relation `hist` (columns `x`,
/// `u`), its quantiles over relation `quantile` (the same columns, e.g. the non-zero values),
/// both defined by the common table expressions `with`.
pub struct Of<'a> {
    pub with: &'a str,
    pub hist: &'a str,
    pub quantile: &'a str,
    pub by_unit: bool,
    pub points: &'a [(&'a str, f64)],
    pub what: &'a str,
}

/// How a shape is noised under DP: its family, the L1 sensitivity of its histogram, the
/// bound `x` is clipped at (the bins are then fixed: 0, 1, 2–3, … up to the bound's) and the
/// most values one person puts into one bin (the k rule's divisor, [`crate::dp::people`]).
pub struct ShapeDp {
    pub family: Family,
    pub sensitivity: u64,
    pub bound: u64,
    pub per_person: u64,
}

/// Noisy bins under this many times the noise scale are taken as empty (post-processing:
/// without it the noise of the empty bins of a fixed bin set would pile up in the merges, and
/// a spurious top bin makes values nobody has: at 3 scales a 17-bin length histogram had one
/// about every third release, and an email column got lengths past 8 KiB). At 8 scales a
/// bin of noise alone passes with probability e^-8 / 2 (1.7e-4).
const EMPTY_BELOW_SCALES: f64 = 8.0;

/// A log2 bin as read: its lowest and highest value, rows and units.
type BinCell = (u64, u64, u64, u64);

/// What the server returns for a shape: the bins, and per quantile point its value and the
/// units at or below and at or above it.
struct Read {
    cells: Vec<BinCell>,
    values: Vec<Option<f64>>,
    below: Vec<Option<i64>>,
    above: Vec<Option<i64>>,
}

/// The shape of `of`, noised as `dp` says when the scan's noise is on.
pub fn measure(
    reads: &mut Reads<'_, impl GenericClient>,
    of: &Of<'_>,
    scan: &Scan<'_>,
    dp: &ShapeDp,
) -> Result<Measured> {
    let probabilities: Vec<f64> = of.points.iter().map(|(_, p)| *p).collect();
    let on = scan.noise.is_on();
    let mut read = read(reads, of, on.then_some(dp.bound), &probabilities, scan.k)?;
    // Under DP the total and the zeros are the noisy bins' signed sums: the bins under the
    // empty-bin floor are shown as 0, but counting them as 0 would drop every parent of a
    // table whose bins all fall under it (and a sum of non-negative noise would add some).
    let mut signed: Option<(u64, u64)> = None;
    if on {
        let (cells, raw) = noisy_cells(&read.cells, dp, scan)?;
        read.cells = cells;
        let sum: i64 = raw.iter().sum();
        signed = Some((
            sum.max(0) as u64,
            raw.first().copied().unwrap_or(0).max(0) as u64,
        ));
        // Quantiles from the noisy bins (no value of a row leaves), over the non-zero values
        // where the quantile relation leaves zeros out.
        let skip_zero = of.hist != of.quantile;
        read.values = noisy_quantiles(&read.cells, &probabilities, skip_zero);
        // The people on each side of a quantile, from the released bins (never the server's).
        let total: u64 = read
            .cells
            .iter()
            .filter(|c| !(skip_zero && c.1 == 0))
            .map(|c| c.2)
            .sum();
        (read.below, read.above) = probabilities
            .iter()
            .map(|&q| crate::dp::people::sides(total, q, dp.per_person))
            .unzip();
    }
    let (quantiles, mut min_units) = kept_quantiles(of, &read, scan.k);
    let cells = read.cells;
    let (total, zeros) = signed.unwrap_or_else(|| {
        let zeros = cells
            .iter()
            .find(|c| c.0 == 0 && c.1 == 0)
            .map_or(0, |c| c.2);
        (cells.iter().map(|c| c.2).sum(), zeros)
    });
    let zeros = zeros.min(total);
    let zero_units = cells.iter().find(|c| c.1 == 0).map_or(0, |c| c.3);
    let merged = merge(cells, scan.k);
    for b in &merged {
        min_units = Some(min_units.map_or(b.3, |m| m.min(b.3)));
    }
    let histogram = merged
        .into_iter()
        .map(|(lo, hi, n, _)| Bin {
            lo,
            hi,
            count: scan.sample.scale(n),
        })
        .filter(|b| !on || b.count > 0 || b.hi.is_none())
        .collect();
    Ok(Measured {
        shape: Shape {
            quantiles,
            histogram,
        },
        total,
        zeros,
        zero_units,
        min_units,
    })
}

/// The statement of [`measure`]: the bins of `of` (with `x` clipped at `clip`, under DP)
/// with their rows and units, and the quantiles at `probabilities` (values `k` units share or
/// bracket, see [`crate::people`]) with the units on each side.
pub fn sql(of: &Of<'_>, clip: Option<u64>, probabilities: &[f64], k: u64) -> String {
    let hist = match clip {
        Some(bound) => format!("(SELECT least(x, {bound}) AS x, u FROM {}) h", of.hist),
        None => of.hist.to_string(),
    };
    format!(
        "WITH {with},
              b AS (SELECT {bin} AS e,
                           count(*) AS n, {units} AS un
                      FROM {hist} GROUP BY 1),
              qx AS MATERIALIZED (SELECT x::float8 AS x, u FROM {quantile}),
              {qctes}
         SELECT (SELECT array_agg(e ORDER BY e) FROM b), (SELECT array_agg(n ORDER BY e) FROM b),
                (SELECT array_agg(un ORDER BY e) FROM b), {qselects}",
        with = of.with,
        bin = bin_sql(clip.is_some()),
        quantile = of.quantile,
        units = units_agg(of.by_unit),
        qctes = quantile_ctes("qx", 0, &crate::reads::floats(probabilities), of.by_unit, k),
        qselects = quantile_selects(0),
    )
}

/// Runs [`sql`] and reads its row.
fn read(
    reads: &mut Reads<'_, impl GenericClient>,
    of: &Of<'_>,
    clip: Option<u64>,
    probabilities: &[f64],
    k: u64,
) -> Result<Read> {
    let row = reads.one(
        &sql(of, clip, probabilities, k),
        format!("the distribution of {}", of.what),
    )?;
    let get = |i: usize| row.get::<Option<Vec<i64>>>(i).unwrap_or_default();
    let es = row.get::<Option<Vec<i32>>>(0).unwrap_or_default();
    let (ns, us) = (get(1), get(2));
    let sides = |i: usize| row.get::<Option<Vec<Option<i64>>>>(i).unwrap_or_default();
    let cells = es
        .iter()
        .zip(ns.iter().zip(&us))
        .map(|(&e, (&n, &u))| {
            let (lo, hi) = bin_edges(e as u32, clip.is_some());
            (lo, hi, n as u64, u as u64)
        })
        .collect();
    Ok(Read {
        cells,
        values: row.get::<Option<Vec<Option<f64>>>>(3).unwrap_or_default(),
        below: sides(4),
        above: sides(5),
    })
}

/// The quantiles of `of`'s points, each kept only where `k` units lie at or below and at or
/// above it, and the fewest units a kept one rests on.
fn kept_quantiles(
    of: &Of<'_>,
    read: &Read,
    k: u64,
) -> (BTreeMap<String, Option<f64>>, Option<u64>) {
    let (kept, least) =
        crate::people::kept_quantiles(of.points, &read.values, &read.below, &read.above, k);
    (kept.into_iter().collect(), least)
}

/// The bin index of `x` in SQL: log2 bins (`0`, `1`, `2–3`, `4–7`, …), or under DP (`fine`)
/// finer ones: one per value below 8, then half-octaves (`8–11`, `12–15`, `16–23`, …).
/// Under DP the quantiles are read from the bins, interpolated inside one: a bin spanning a
/// factor 2 put a fan-out's p50 of 13 at 15; half-octaves halve that error, and the small
/// values, where most parents and short texts are, are exact.
fn bin_sql(fine: bool) -> String {
    // The bins' lower edges as thresholds of `width_bucket` (the count of edges at or below
    // `x`: bin 0 holds 0): integer comparisons only. The logarithm written in SQL before
    // (`log(2::numeric, x::numeric)`) took 10.5 s over the 1.1 M message lengths of the
    // fixture at scale 1, this 0.4 s, for the same bins.
    let edges: Vec<String> = (1..=last_bin(fine))
        .map(|e| bin_edges(e, fine).0.to_string())
        .collect();
    format!(
        "width_bucket(x::bigint, '{{{}}}'::bigint[])",
        edges.join(",")
    )
}

/// The last bin whose values a `bigint` holds: the bin of the largest one.
fn last_bin(fine: bool) -> u32 {
    bin_index(i64::MAX as u64, fine)
}

/// The index of the bin of `x` ([`bin_sql`]).
fn bin_index(x: u64, fine: bool) -> u32 {
    let m = 63 - x.max(1).leading_zeros();
    match (fine, x) {
        (false, 0) => 0,
        (false, _) => m + 1,
        (true, 0..=7) => x as u32,
        (true, _) => 8 + 2 * (m - 3) + u32::from(x >= 3u64 << (m - 1)),
    }
}

/// The values of bin `e` ([`bin_sql`]): log2, `0` for 0, else `2^(e-1) ..= 2^e - 1`; or fine.
fn bin_edges(e: u32, fine: bool) -> (u64, u64) {
    match (fine, e) {
        (false, 0) => (0, 0),
        (false, _) => (1u64 << (e - 1), (1u64 << e) - 1),
        (true, 0..=7) => (e as u64, e as u64),
        (true, _) => {
            let m = 3 + (e - 8) / 2;
            let half = 1u64 << (m - 1);
            let lo = (1u64 << m) + u64::from((e - 8) % 2) * half;
            (lo, lo + half - 1)
        }
    }
}

/// Every bin of the fixed set up to `dp.bound` (empty ones too), rows noised, units the
/// fewest people the noisy rows can rest on ([`crate::dp::people`]; the server's exact units
/// are not carried over). Also the noisy rows before the floor and the clamp at 0.
fn noisy_cells(
    cells: &[(u64, u64, u64, u64)],
    dp: &ShapeDp,
    scan: &Scan<'_>,
) -> Result<(Vec<BinCell>, Vec<i64>)> {
    let top = bin_index(dp.bound.max(1), true);
    let mut all: Vec<(u64, u64, u64, u64)> = (0..=top)
        .map(|e| {
            let (lo, hi) = bin_edges(e, true);
            (lo, hi, 0, 0)
        })
        .collect();
    for c in cells {
        if let Some(slot) = all.iter_mut().find(|a| a.0 == c.0) {
            slot.2 = c.2;
        }
    }
    let rows: Vec<u64> = all.iter().map(|c| c.2).collect();
    let noisy = scan.noisy(dp.family, &rows, dp.sensitivity)?;
    for (c, n) in all.iter_mut().zip(noisy.floored(EMPTY_BELOW_SCALES)) {
        c.2 = n;
        c.3 = crate::dp::people::behind(n, dp.per_person);
    }
    Ok((all, noisy.signed))
}

/// Quantiles read from noisy log2 bins (linear inside a bin, `[lo, hi + 1)`), whole numbers.
fn noisy_quantiles(
    cells: &[(u64, u64, u64, u64)],
    qs: &[f64],
    skip_zero: bool,
) -> Vec<Option<f64>> {
    let mut edges: Vec<f64> = cells.iter().map(|c| c.0 as f64).collect();
    edges.push(cells.last().map_or(1.0, |c| c.1 as f64 + 1.0));
    let counts: Vec<u64> = cells
        .iter()
        .map(|c| if skip_zero && c.1 == 0 { 0 } else { c.2 })
        .collect();
    let total = counts.iter().sum::<u64>();
    qs.iter()
        .map(|&q| {
            crate::dp::histogram::quantile(&edges, &counts, q)
                .filter(|_| total > 0)
                .map(libm::floor)
        })
        .collect()
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
    fn quantiles_under_dp_are_read_from_the_fixed_log2_bins() {
        // 0: 10 values, 1: 10, 2-3: 20; the quantile relation with or without the zeros.
        let cells = [(0, 0, 10, 5), (1, 1, 10, 5), (2, 3, 20, 5)];
        let all = noisy_quantiles(&cells, &[0.1, 0.5, 0.75], false);
        assert_eq!(all, vec![Some(0.0), Some(2.0), Some(3.0)]);
        let nonzero = noisy_quantiles(&cells, &[0.1, 0.5], true);
        assert_eq!(nonzero, vec![Some(1.0), Some(2.0)]);
        assert_eq!(noisy_quantiles(&[(0, 0, 0, 0)], &[0.5], false), vec![None]);
    }

    #[test]
    fn the_sql_thresholds_give_each_value_its_bin() {
        for fine in [false, true] {
            let sql = bin_sql(fine);
            let list = sql.split('{').nth(1).unwrap().split('}').next().unwrap();
            let edges: Vec<u64> = list.split(',').map(|e| e.parse().unwrap()).collect();
            assert!(edges.windows(2).all(|w| w[0] < w[1]), "sorted: {fine}");
            assert!(*edges.last().unwrap() <= i64::MAX as u64);
            let mut xs: Vec<u64> = (0..5000).collect();
            for m in 2..63 {
                let p = 1u64 << m;
                xs.extend([p - 1, p, p + 1, p + p / 2 - 1, p + p / 2]);
            }
            xs.push(i64::MAX as u64);
            for x in xs {
                // What the server's width_bucket returns: the edges at or below x.
                let bucket = edges.iter().filter(|&&e| e <= x).count() as u32;
                assert_eq!(bucket, bin_index(x, fine), "x = {x}, fine = {fine}");
            }
        }
    }

    #[test]
    fn bins_tile_the_values_without_gaps_log2_or_fine() {
        for fine in [false, true] {
            let mut next = 0u64;
            for e in 0..=bin_index(1 << 20, fine) {
                let (lo, hi) = bin_edges(e, fine);
                assert_eq!(
                    lo, next,
                    "bin {e} (fine: {fine}) starts where the last ended"
                );
                assert!(hi >= lo);
                for x in [lo, hi, (lo + hi) / 2] {
                    assert_eq!(bin_index(x, fine), e, "{x} in bin {e} (fine: {fine})");
                }
                next = hi + 1;
            }
        }
        assert_eq!(bin_edges(8, true), (8, 11));
        assert_eq!(bin_edges(11, true), (24, 31));
        assert_eq!(bin_index(1024, true), 22);
    }

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
