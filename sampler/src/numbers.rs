//! Numeric distributions (of a column, or of an edge's timings): quantiles and a signed
//! power-of-two histogram of the finite values, computed by the server; the small-cell rules
//! are in [`pgshape_core::pack::Numbers`].

use pgshape_core::pack::{NumberBin, Numbers, NUMBER_QUANTILES, NUMBER_SIGNIFICANT_DIGITS};
use pgshape_core::Result;
use postgres::GenericClient;

use crate::reads::{Reads, Row};

use crate::cells::significant;
use crate::dp::budget::Family;
use crate::metrics::Scan;
use crate::people::kept_quantiles;
use crate::sample::Sample;
use crate::unit::UnitSql;

/// The distribution of column `col` (quoted) of the `FROM` item `from` (alias `t`, with the
/// unit's joins), read as the float8 expression `x`, by the units of `unit`; with the fewest
/// units an exported bin or quantile rests on.
#[allow(clippy::too_many_arguments)]
pub fn numbers(
    reads: &mut Reads<'_, impl GenericClient>,
    from: &str,
    col: &str,
    x: &str,
    unit: &UnitSql,
    what: &str,
    scan: &Scan<'_>,
) -> Result<(Numbers, Option<u64>)> {
    let sources = [source(from, col, x, unit)];
    let sensitivities = [scan.sensitivity()];
    let of = column_sources(&sources, unit, what, &sensitivities);
    let mut d = distributions(reads, &of, scan)?;
    Ok(d.remove(0))
}

/// The values of a number column `col` (read as `x`) of the `FROM` item `from`.
fn source(from: &str, col: &str, x: &str, unit: &UnitSql) -> String {
    format!(
        "SELECT {x} AS x, {} AS u FROM {from} WHERE t.{col} IS NOT NULL",
        unit.column()
    )
}

/// The [`Sources`] of a number column's one source.
fn column_sources<'a>(
    sources: &'a [String],
    unit: &UnitSql,
    what: &'a str,
    sensitivities: &'a [u64],
) -> Sources<'a> {
    Sources {
        with: None,
        sources,
        by_unit: unit.expr.is_some(),
        points: NUMBER_QUANTILES,
        what,
        family: Family::Numbers,
        sensitivities,
    }
}

/// The statement of [`numbers`] (the one [`crate::metrics`] reads ahead).
pub fn numbers_sql(from: &str, col: &str, x: &str, unit: &UnitSql, scan: &Scan<'_>) -> String {
    let sources = [source(from, col, x, unit)];
    sql(&column_sources(&sources, unit, "", &[1]), scan.k)
}

/// What [`distributions`] reads: column `x` (float8) of each query of `sources`, in one
/// statement (`with` names common table expressions the sources may read), at the quantiles
/// `points`. Each source also has a column `u`, the row's privacy unit (`by_unit`; otherwise
/// each row is a unit). Under DP each source's histogram is one release of `family` of L1
/// sensitivity `sensitivities[i]`.
pub struct Sources<'a> {
    pub with: Option<&'a str>,
    pub sources: &'a [String],
    pub by_unit: bool,
    pub points: &'a [(&'a str, f64)],
    pub what: &'a str,
    pub family: Family,
    pub sensitivities: &'a [u64],
}

/// The distributions of [`Sources`]: every bin and quantile rests on at least `k` units (see
/// [`crate::people`]). Only finite values count: NULL, NaN and ±Infinity are left out. Under
/// DP the bins are a fixed set of signed powers of two (0 and ± 2^-20 … 2^62) and the
/// quantiles are read from them.
pub fn distributions(
    reads: &mut Reads<'_, impl GenericClient>,
    of: &Sources<'_>,
    scan: &Scan<'_>,
) -> Result<Vec<(Numbers, Option<u64>)>> {
    let probabilities: Vec<f64> = of.points.iter().map(|(_, p)| *p).collect();
    let row = reads.one(&sql(of, scan.k), format!("the distribution of {}", of.what))?;
    (0..of.sources.len())
        .map(|i| source_numbers(&row, i, of, scan, &probabilities))
        .collect()
}

/// The statement of [`distributions`].
pub fn sql(of: &Sources<'_>, k: u64) -> String {
    let probabilities: Vec<f64> = of.points.iter().map(|(_, p)| *p).collect();
    let probabilities = crate::reads::floats(&probabilities);
    // Per source one scan: the finite values once (materialized), then their quantiles and
    // their bins — the sign and the power of two below |x| (corrected where ln(2) rounds
    // across). NaN sorts above Infinity, so `x < 'Infinity'` leaves it out too.
    let mut ctes: Vec<String> = of.with.map(str::to_string).into_iter().collect();
    let mut selects = Vec::new();
    for (i, source) in of.sources.iter().enumerate() {
        ctes.push(format!(
            "v{i} AS MATERIALIZED (SELECT s.x, s.u FROM ({source}) s
                                    WHERE s.x > '-Infinity'::float8 AND s.x < 'Infinity'::float8),
             g{i} AS (SELECT sign(x)::int AS s, abs(x) AS m, u,
                             CASE WHEN x = 0 THEN 0 ELSE floor(ln(abs(x)) / ln(2::float8))::int END AS e FROM v{i}),
             b{i} AS (SELECT s, e + CASE WHEN s = 0 THEN 0
                                         WHEN m >= power(2::float8, e + 1) THEN 1
                                         WHEN m < power(2::float8, e) THEN -1 ELSE 0 END AS e,
                             count(*) AS n, {units} AS un
                        FROM g{i} GROUP BY 1, 2),
             {quantiles}",
            units = crate::people::units_agg(of.by_unit),
            quantiles = crate::people::quantile_ctes(&format!("v{i}"), i, &probabilities, of.by_unit, k),
        ));
        selects.push(format!(
            "{},
             (SELECT array_agg(s ORDER BY s, e) FROM b{i}),
             (SELECT array_agg(e ORDER BY s, e) FROM b{i}),
             (SELECT array_agg(n ORDER BY s, e) FROM b{i}),
             (SELECT array_agg(un ORDER BY s, e) FROM b{i})",
            crate::people::quantile_selects(i)
        ));
    }
    format!("WITH {} SELECT {}", ctes.join(",\n"), selects.join(",\n"))
}

/// The numbers of source `i` of `of` from the statement's row (seven columns a source).
fn source_numbers(
    row: &Row,
    i: usize,
    of: &Sources<'_>,
    scan: &Scan<'_>,
    probabilities: &[f64],
) -> Result<(Numbers, Option<u64>)> {
    let at = 7 * i;
    let mut values: Vec<Option<f64>> = row.get::<Option<Vec<Option<f64>>>>(at).unwrap_or_default();
    let cells: Vec<(i32, i32, u64, u64)> = {
        let signs = row.get::<Option<Vec<i32>>>(at + 3).unwrap_or_default();
        let exps = row.get::<Option<Vec<i32>>>(at + 4).unwrap_or_default();
        let counts = row.get::<Option<Vec<i64>>>(at + 5).unwrap_or_default();
        let units = row.get::<Option<Vec<i64>>>(at + 6).unwrap_or_default();
        signs
            .into_iter()
            .zip(exps)
            .zip(counts.into_iter().zip(units))
            .map(|((s, e), (c, u))| (s, e, c as u64, u as u64))
            .collect()
    };
    let side = |j: usize| -> Vec<Option<i64>> {
        row.get::<Option<Vec<Option<i64>>>>(j).unwrap_or_default()
    };
    let (mut below, mut above) = (side(at + 1), side(at + 2));
    let cells = if scan.noise.is_on() {
        let sensitivity = of.sensitivities.get(i).copied().unwrap_or(1);
        let (cells, qs) = noisy_bins(cells, probabilities, of.family, sensitivity, scan)?;
        values = qs;
        // The people on each side of a quantile, from the released bins (never the server's).
        let total: u64 = cells.iter().map(|c| c.2).sum();
        (below, above) = probabilities
            .iter()
            .map(|&q| crate::dp::people::sides(total, q, scan.sensitivity()))
            .unzip();
        cells
    } else {
        cells
    };
    let (kept, least) = kept_quantiles(of.points, &values, &below, &above, scan.k);
    let quantiles = kept
        .into_iter()
        .map(|(name, v)| (name, v.map(|v| significant(v, NUMBER_SIGNIFICANT_DIGITS))))
        .collect();
    let (histogram, bins_least) = histogram(cells, scan.k, &scan.sample);
    let least = match (least, bins_least) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    Ok((
        Numbers {
            quantiles,
            histogram,
        },
        least,
    ))
}

/// The smallest and largest power of two of the fixed bin set under DP: values beyond fall
/// in the end bins.
const EXPONENTS: std::ops::RangeInclusive<i32> = -20..=62;

/// Noisy bins under this many times the noise scale are taken as empty (post-processing):
/// of the 167 bins of the fixed set nearly all are empty, and their noise would otherwise
/// make bins of values no one has (at 5 scales about one histogram in two had one: a smallint
/// column got a p99 of 66,200). At 10 a bin of noise alone passes with probability
/// e^-10 / 2, about 0.004 spurious bins a histogram.
const EMPTY_BELOW_SCALES: f64 = 10.0;

/// Cells `(sign, exponent, rows, units)` → the fixed bin set (0, and ± every power of two
/// of [`EXPONENTS`]) with rows noised as one release, bins noised below
/// [`EMPTY_BELOW_SCALES`] set to 0 and then left out; and the quantiles at `qs` read from
/// the noisy bins (linear inside a bin). Each bin's units become the fewest people its noisy
/// rows can rest on ([`crate::dp::people`]), at most the table's clip of rows a person.
#[allow(clippy::type_complexity)]
fn noisy_bins(
    cells: Vec<(i32, i32, u64, u64)>,
    qs: &[f64],
    family: Family,
    sensitivity: u64,
    scan: &Scan<'_>,
) -> Result<(Vec<(i32, i32, u64, u64)>, Vec<Option<f64>>)> {
    let mut all: Vec<(i32, i32, u64, u64)> = EXPONENTS
        .rev()
        .map(|e| (-1, e, 0, 0))
        .chain(std::iter::once((0, 0, 0, 0)))
        .chain(EXPONENTS.map(|e| (1, e, 0, 0)))
        .collect();
    // The server's exact units are not carried over: under DP no k decision reads them.
    for (s, e, c, _) in cells {
        let e = if s == 0 {
            0
        } else {
            e.clamp(*EXPONENTS.start(), *EXPONENTS.end())
        };
        if let Some(slot) = all.iter_mut().find(|a| a.0 == s && a.1 == e) {
            slot.2 += c;
        }
    }
    let rows: Vec<u64> = all.iter().map(|c| c.2).collect();
    let noisy = scan.noisy(family, &rows, sensitivity)?;
    let per_person = scan.sensitivity();
    for (c, n) in all.iter_mut().zip(noisy.floored(EMPTY_BELOW_SCALES)) {
        c.2 = n;
        c.3 = crate::dp::people::behind(n, per_person);
    }
    let total: u64 = all.iter().map(|c| c.2).sum();
    let quantiles = qs
        .iter()
        .map(|&q| (total > 0).then(|| interpolate(&all, q * total as f64)))
        .collect();
    all.retain(|c| c.2 > 0);
    Ok((all, quantiles))
}

/// The value where the cumulative rows of the ordered bins reach `target`.
fn interpolate(bins: &[(i32, i32, u64, u64)], target: f64) -> f64 {
    let edges = |s: i32, e: i32| {
        let (a, b) = (libm::pow(2.0, e as f64), libm::pow(2.0, (e + 1) as f64));
        match s {
            0 => (0.0, 0.0),
            1 => (a, b),
            _ => (-b, -a),
        }
    };
    let mut below = 0.0;
    let mut last = 0.0;
    for &(s, e, c, _) in bins.iter().filter(|b| b.2 > 0) {
        let (lo, hi) = edges(s, e);
        let c = c as f64;
        if below + c >= target {
            return lo + ((target - below) / c).clamp(0.0, 1.0) * (hi - lo);
        }
        below += c;
        last = hi;
    }
    last
}

/// Bins from `(sign, exponent, count, units)` cells: ordered by value, merged until each
/// rests on at least `k` units (a merged bin's units counted as its largest part's, a lower
/// bound), the last bin open, the first widened to 0 or open, counts scaled back from the
/// sample.
fn histogram(
    cells: Vec<(i32, i32, u64, u64)>,
    k: u64,
    sample: &Sample,
) -> (Vec<NumberBin>, Option<u64>) {
    let bound = |s: i32, e: i32| -> (f64, f64) {
        let (a, b) = (libm::pow(2.0, e as f64), libm::pow(2.0, (e + 1) as f64));
        match s {
            0 => (0.0, 0.0),
            1 => (a, b),
            _ => (-b, -a),
        }
    };
    let mut bins: Vec<(f64, f64, u64, u64)> = cells
        .into_iter()
        .map(|(s, e, c, u)| {
            let (lo, hi) = bound(s, e);
            (lo, hi, c, u)
        })
        .collect();
    bins.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1)));
    // Merge sparse bins towards the middle: the lower half upwards, the upper half downwards.
    let mut i = 0;
    while bins.len() > 1 && i < bins.len() {
        if bins[i].3 >= k {
            i += 1;
            continue;
        }
        let j = if i + 1 < bins.len() && (i < bins.len() / 2 || i == 0) {
            i + 1
        } else {
            i - 1
        };
        let (a, b) = (bins[i], bins[j]);
        let merged = (a.0.min(b.0), a.1.max(b.1), a.2 + b.2, a.3.max(b.3));
        let keep = i.min(j);
        bins[keep] = merged;
        bins.remove(i.max(j));
        i = keep.saturating_sub(1);
    }
    if bins.iter().map(|b| b.3).max().unwrap_or(0) < k {
        return (Vec::new(), None);
    }
    let least = bins.iter().map(|b| b.3).min();
    let last = bins.len().saturating_sub(1);
    let out = bins
        .iter()
        .enumerate()
        .map(|(i, &(lo, hi, c, _))| NumberBin {
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
        .collect();
    (out, least)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_under_dp_interpolate_inside_signed_power_of_two_bins() {
        // 10 values in (-4, -2], 10 at 0, 20 in [8, 16).
        let bins = [(-1, 1, 10, 10), (0, 0, 10, 10), (1, 3, 20, 20)];
        assert_eq!(interpolate(&bins, 5.0), -3.0);
        assert_eq!(interpolate(&bins, 15.0), 0.0);
        assert_eq!(interpolate(&bins, 30.0), 12.0);
        assert_eq!(interpolate(&bins, 40.0), 16.0);
        assert_eq!(
            interpolate(&bins, 99.0),
            16.0,
            "past the end: the last edge"
        );
    }

    #[test]
    fn bins_merge_to_k_and_hide_the_ends() {
        // -5 (1 value), 0 (20), 1..2 (30), 2..4 (3), 4..8 (15), 1024.. (1)
        let cells = vec![
            (-1, 2, 1, 1),
            (0, 0, 20, 20),
            (1, 0, 30, 30),
            (1, 1, 3, 3),
            (1, 2, 15, 15),
            (1, 10, 1, 1),
        ];
        let (h, _) = histogram(cells, 10, &Sample::full());
        assert!(h.iter().all(|b| b.count >= 10), "{h:?}");
        assert_eq!(h.iter().map(|b| b.count).sum::<u64>(), 70);
        assert_eq!(h[0].lo, None, "a negative minimum is not shown: {h:?}");
        assert_eq!(h.last().unwrap().hi, None, "nor the maximum: {h:?}");
        assert!(h.iter().all(|b| b.lo != Some(1024.0)));
        // Non-negative values keep their lower edge 0 (a property of the column, not a row).
        let (h, _) = histogram(vec![(0, 0, 12, 12), (1, 3, 40, 40)], 10, &Sample::full());
        assert_eq!(h[0].lo, Some(0.0));
        // A positive first bin is widened down to 0: its own lower edge would bound the minimum.
        let (h, _) = histogram(vec![(1, 10, 20, 20), (1, 11, 30, 30)], 10, &Sample::full());
        assert_eq!((h[0].lo, h[0].hi), (Some(0.0), Some(2048.0)), "{h:?}");
        // Fewer than k values in all: no histogram at all.
        assert!(histogram(vec![(1, 3, 9, 9)], 10, &Sample::full())
            .0
            .is_empty());
        // 500 rows of 3 people: no bin, however many rows.
        assert!(
            histogram(vec![(1, 3, 300, 2), (1, 4, 200, 3)], 10, &Sample::full())
                .0
                .is_empty()
        );
    }
}
