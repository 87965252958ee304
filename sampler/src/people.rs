//! k by people in SQL: the pieces every metric's statement shares to count distinct privacy
//! units (see [`crate::unit`]) per cell, and to test a quantile against the units on each side
//! of it, in the statement that computes the cell or the quantile.
//!
//! A derived relation of the metric carries `x` (the value, float8) and `u` (the row's unit).
//! Per unit its smallest and largest value (`lo`, `hi`) are taken once: the units at or below
//! a quantile `q` are those with `lo <= q`, at or above it those with `hi >= q`, exactly. A
//! quantile's value is one that `k` units share, or the mean of `k` units' nearest values
//! ([`quantile_ctes`]).

/// The aggregate of the units in a group of a relation with a unit column `u` (rows as
/// units: `count(*)`).
pub fn units_agg(by_unit: bool) -> &'static str {
    if by_unit {
        "count(DISTINCT u)"
    } else {
        "count(*)"
    }
}

/// Common table expressions over relation `v` (columns `x`, `u`) named with suffix `i`:
/// `pu{i}` (per unit `lo`, `hi`) and `q{i}` (the quantiles at the float8[] parameter `param`,
/// each a value at least `k` units share or bracket).
///
/// A nearest-rank quantile is one row's value: in a sparse tail, one person's exact count
/// (a fan-out's p95 of 521 is the one user with 521 ratings). So the value is kept only where
/// at least `k` units hold it or have values on both sides of it (`lo <= q <= hi`; for rows
/// as units: `k` rows equal to it). Otherwise it is replaced by the mean, over the `k` units
/// nearest to it, of each one's value nearest to it (its `lo` or `hi`, or the quantile where
/// it brackets it; ties by the smaller value): an aggregate of `k` people — microaggregation.
/// Both read the per-unit
/// relation only, the mean through a top-`k` sort.
pub fn quantile_ctes(v: &str, i: usize, param: &str, by_unit: bool, k: u64) -> String {
    let pu = if by_unit {
        format!("SELECT min(x) AS lo, max(x) AS hi FROM {v} WHERE u IS NOT NULL GROUP BY u")
    } else {
        format!("SELECT x AS lo, x AS hi FROM {v}")
    };
    format!(
        "pu{i} AS MATERIALIZED ({pu}),
         q{i}r AS (SELECT percentile_disc({param}) WITHIN GROUP (ORDER BY x) AS qs FROM {v}),
         q{i} AS (SELECT array_agg(CASE
                    WHEN (SELECT count(*) FROM pu{i} WHERE lo <= a.q AND hi >= a.q) >= {k} THEN a.q
                    ELSE (SELECT round(avg(n.nx)::numeric, 6)::float8 FROM (
                            SELECT CASE WHEN hi < a.q THEN hi WHEN lo > a.q THEN lo ELSE a.q END AS nx
                              FROM pu{i} ORDER BY greatest(lo - a.q, a.q - hi, 0), 1 LIMIT {k}) n)
                    END ORDER BY o) AS qs
                    FROM q{i}r, unnest(q{i}r.qs) WITH ORDINALITY a(q, o))"
    )
}

/// Three select items over [`quantile_ctes`] `i`: the quantiles (float8[]), and per quantile
/// the units at or below it and at or above it (bigint[]).
pub fn quantile_selects(i: usize) -> String {
    let side = |cond: &str| {
        format!(
            "(SELECT array_agg((SELECT count(*) FROM pu{i} WHERE {cond}) ORDER BY o)
                FROM q{i}, unnest(q{i}.qs) WITH ORDINALITY a(q, o))"
        )
    };
    format!(
        "(SELECT qs FROM q{i}), {}, {}",
        side("lo <= a.q"),
        side("hi >= a.q")
    )
}

/// Whether a quantile with `below` units at or below it and `above` at or above may leave.
pub fn bracketed(below: Option<i64>, above: Option<i64>, k: u64) -> bool {
    below.zip(above).is_some_and(|(b, a)| b.min(a) >= k as i64)
}

/// The quantiles at `points` (name, probability): `values[j]`, kept only where `k` units lie
/// at or below (`below[j]`) and at or above (`above[j]`) it, and the fewest units a kept one
/// rests on.
pub fn kept_quantiles(
    points: &[(&str, f64)],
    values: &[Option<f64>],
    below: &[Option<i64>],
    above: &[Option<i64>],
    k: u64,
) -> (Vec<(String, Option<f64>)>, Option<u64>) {
    let mut least: Option<u64> = None;
    let kept = points
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
                let n = b.unwrap_or(0).min(a.unwrap_or(0)) as u64;
                least = Some(least.map_or(n, |m| m.min(n)));
            }
            (name.to_string(), v)
        })
        .collect();
    (kept, least)
}
