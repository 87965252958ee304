//! Shape metrics computed by the server: per-column null fractions and arrival profiles, and
//! per-foreign-key children-per-parent distributions. Only aggregates cross the wire, and
//! small cells are suppressed: a cell describing fewer than `k` entities is `null`.

use std::collections::BTreeMap;

use pgshape_core::catalog::{ForeignKey, Table};
use pgshape_core::ident::{qualified, quote};
use pgshape_core::pack::{Bin, ColumnMetrics, EdgeMetrics};
use pgshape_core::{Error, Result};
use postgres::GenericClient;

use crate::roles::{role, Role};

/// The quantiles exported per foreign key.
pub const QUANTILES: &[(&str, f64)] = &[
    ("p50", 0.5),
    ("p90", 0.9),
    ("p95", 0.95),
    ("p99", 0.99),
    ("p99.9", 0.999),
];

/// Null fractions of every column and hourly / weekday profiles of timestamp columns.
pub fn columns(
    client: &mut impl GenericClient,
    t: &Table,
    k: u64,
) -> Result<BTreeMap<String, ColumnMetrics>> {
    let rel = qualified(&t.schema, &t.name);
    let nulls: Vec<String> = t
        .columns
        .iter()
        .map(|c| format!("count(*) FILTER (WHERE {} IS NULL)", quote(&c.name)))
        .collect();
    let row = client
        .query_one(
            &format!("SELECT count(*), {} FROM {rel}", nulls.join(", ")),
            &[],
        )
        .map_err(Error::db(format!("null fractions of {}", t.qualified())))?;
    let total: i64 = row.get(0);
    let mut out = BTreeMap::new();
    for (i, c) in t.columns.iter().enumerate() {
        let r = role(t, c);
        let null: i64 = row.get(i + 1);
        let mut m = ColumnMetrics {
            role: r.to_string(),
            null_fraction: if total == 0 {
                0.0
            } else {
                round6(null as f64 / total as f64)
            },
            hourly: None,
            weekday: None,
        };
        if r == Role::Timestamp {
            let col = quote(&c.name);
            let is_date = c.data_type == "date";
            let zone = if c.data_type.ends_with("with time zone") {
                " AT TIME ZONE 'UTC'"
            } else if is_date {
                "::timestamp"
            } else {
                ""
            };
            let rows = client
                .query(
                    &format!(
                        "SELECT extract(hour FROM {col}{zone})::int, extract(isodow FROM {col}{zone})::int, count(*)
                           FROM {rel} WHERE {col} IS NOT NULL GROUP BY 1, 2"
                    ),
                    &[],
                )
                .map_err(Error::db(format!("arrival profile of {}.{}", t.qualified(), c.name)))?;
            let (mut hourly, mut weekday) = ([0u64; 24], [0u64; 7]);
            for r in rows {
                let (h, d, n): (i32, i32, i64) = (r.get(0), r.get(1), r.get(2));
                hourly[h as usize] += n as u64;
                weekday[(d - 1) as usize] += n as u64;
            }
            // A date has no hour: only its weekday profile means something.
            m.hourly = (!is_date).then(|| suppress(&hourly, k));
            m.weekday = Some(suppress(&weekday, k));
        }
        out.insert(c.name.clone(), m);
    }
    Ok(out)
}

fn suppress(cells: &[u64], k: u64) -> Vec<Option<u64>> {
    cells.iter().map(|&n| (n >= k).then_some(n)).collect()
}

fn round6(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}

/// Children per parent of one foreign key.
pub fn edge(
    client: &mut impl GenericClient,
    child: &Table,
    fk: &ForeignKey,
    k: u64,
) -> Result<EdgeMetrics> {
    let join = fk.join_sql("c", "p");
    let group = fk
        .ref_columns
        .iter()
        .map(|p| format!("p.{}", quote(p)))
        .collect::<Vec<_>>()
        .join(", ");
    let counted = quote(&fk.columns[0]);
    // One pass: the per-parent counts, then their distribution, all on the server.
    let sql = format!(
        "WITH f AS (SELECT count(c.{counted}) AS n FROM {parent} p LEFT JOIN {child} c ON {join} GROUP BY {group})
         SELECT n, count(*) FROM f GROUP BY n ORDER BY n",
        parent = qualified(&fk.ref_schema, &fk.ref_table),
        child = qualified(&child.schema, &child.name),
    );
    let dist: Vec<(u64, u64)> = client
        .query(&sql, &[])
        .map_err(Error::db(format!("fan-out of {}", fk.name)))?
        .iter()
        .map(|r| (r.get::<_, i64>(0) as u64, r.get::<_, i64>(1) as u64))
        .collect();
    let parents: u64 = dist.iter().map(|(_, c)| c).sum();
    let zero = dist.iter().find(|(n, _)| *n == 0).map_or(0, |(_, c)| *c);
    let with_children = parents - zero;
    let mut quantiles = BTreeMap::new();
    for (name, p) in QUANTILES {
        // Nearest rank among parents with children; suppressed when fewer than k parents
        // lie at or above it.
        let rank = ((p * with_children as f64).ceil() as u64).max(1);
        let above = with_children.saturating_sub(rank) + 1;
        let value = if with_children == 0 || above < k {
            None
        } else {
            let mut seen = 0;
            dist.iter().filter(|(n, _)| *n > 0).find_map(|(n, c)| {
                seen += c;
                (seen >= rank).then_some(*n as f64)
            })
        };
        quantiles.insert(name.to_string(), value);
    }
    Ok(EdgeMetrics {
        foreign_key: fk.name.clone(),
        child: child.qualified(),
        columns: fk.columns.clone(),
        parent: format!("{}.{}", fk.ref_schema, fk.ref_table),
        ref_columns: fk.ref_columns.clone(),
        parents,
        zero_fraction: if parents == 0 {
            0.0
        } else {
            round6(zero as f64 / parents as f64)
        },
        quantiles,
        histogram: histogram(&dist, k),
    })
}

/// Log2 bins (0, 1, 2-3, 4-7, ...); from the top, bins with fewer than k parents are merged
/// downwards into an open last bin, so no bin describes fewer than k parents (nor the max).
fn histogram(dist: &[(u64, u64)], k: u64) -> Vec<Bin> {
    let mut bins: Vec<Bin> = Vec::new();
    for &(n, c) in dist {
        let (lo, hi) = if n == 0 {
            (0, 0)
        } else {
            let b = 63 - n.leading_zeros();
            (1u64 << b, (1u64 << (b + 1)) - 1)
        };
        match bins.last_mut() {
            Some(last) if last.lo == lo => last.count += c,
            _ => bins.push(Bin {
                lo,
                hi: Some(hi),
                count: c,
            }),
        }
    }
    // Merge the sparse tail into an open bin.
    while bins.len() > 1 && bins.last().is_some_and(|b| b.count < k) {
        let last = bins.pop().expect("len > 1");
        bins.last_mut().expect("len > 0").count += last.count;
    }
    if let Some(last) = bins.last_mut() {
        last.hi = None;
    }
    bins.retain(|b| b.count >= k || b.hi.is_none());
    bins
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_merges_the_sparse_tail_and_never_shows_the_max() {
        let dist = vec![(0, 50), (1, 100), (2, 40), (3, 30), (9, 12), (700, 1)];
        let h = histogram(&dist, 10);
        assert_eq!(h.last().unwrap().hi, None);
        assert!(h.iter().all(|b| b.count >= 10), "{h:?}");
        assert_eq!(h.iter().map(|b| b.count).sum::<u64>(), 233);
        assert!(h.iter().all(|b| b.lo != 700));
    }
}
