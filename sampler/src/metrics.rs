//! Shape metrics computed by the server: per-column null fractions and arrival profiles, and
//! per-foreign-key children-per-parent distributions. Only aggregates cross the wire, and
//! small cells are suppressed: a cell describing fewer than `k` entities is `null`.

use std::collections::BTreeMap;

use pgshape_core::catalog::{ForeignKey, Table};
use pgshape_core::ident::{qualified, quote};
use pgshape_core::pack::{
    Bin, Categories, ColumnMetrics, EdgeMetrics, Namespace, Shape, EDGE_QUANTILES, LENGTH_QUANTILES,
};
use pgshape_core::token::Salt;
use pgshape_core::{Error, Result};
use postgres::GenericClient;

use crate::roles::{role, Role};

/// Null fractions of every column, hourly / weekday profiles of timestamp columns, length
/// distributions of text and PII columns, and category frequencies (tokens, or enum labels).
/// Returns the token namespaces used, for the manifest.
pub fn columns(
    client: &mut impl GenericClient,
    t: &Table,
    k: u64,
    salt: &Salt,
) -> Result<(BTreeMap<String, ColumnMetrics>, Vec<Namespace>)> {
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
    let mut namespaces = Vec::new();
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
            length: None,
            categories: None,
        };
        let col = quote(&c.name);
        if matches!(r, Role::Text | Role::Pii) {
            // Lengths are computed by the server: content never crosses the wire.
            let dist: Vec<(u64, u64)> = client
                .query(
                    &format!("SELECT length({col}::text)::bigint, count(*) FROM {rel} WHERE {col} IS NOT NULL GROUP BY 1 ORDER BY 1"),
                    &[],
                )
                .map_err(Error::db(format!("lengths of {}.{}", t.qualified(), c.name)))?
                .iter()
                .map(|r| (r.get::<_, i64>(0) as u64, r.get::<_, i64>(1) as u64))
                .collect();
            m.length = Some(Shape {
                quantiles: quantiles(&dist, LENGTH_QUANTILES, k),
                histogram: histogram(&dist, k),
            });
        }
        if r == Role::Category {
            // Labels stay inside the sampler: they are tokenized before anything is written.
            let rows = client
                .query(&format!("SELECT {col}::text, count(*) FROM {rel} WHERE {col} IS NOT NULL GROUP BY 1"), &[])
                .map_err(Error::db(format!("categories of {}.{}", t.qualified(), c.name)))?;
            let enum_labels = c.type_kind == pgshape_core::catalog::TypeKind::Enum;
            let ns_name = format!("{}.{}", t.qualified(), c.name);
            let tokenizer = salt.namespace(&ns_name);
            let mut cats = Categories {
                labels: enum_labels,
                counts: BTreeMap::new(),
                suppressed_rows: 0,
                suppressed_categories: 0,
            };
            for row in rows {
                let (label, n): (String, i64) = (row.get(0), row.get(1));
                if (n as u64) < k {
                    cats.suppressed_rows += n as u64;
                    cats.suppressed_categories += 1;
                    continue;
                }
                let key = if enum_labels {
                    label
                } else {
                    tokenizer.token(label.as_bytes())
                };
                cats.counts.insert(key, n as u64);
            }
            if !enum_labels {
                namespaces.push(Namespace {
                    name: ns_name.clone(),
                    columns: vec![ns_name],
                    tokens: cats.counts.len() as u64,
                });
            }
            m.categories = Some(cats);
        }
        if r == Role::Timestamp {
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
    Ok((out, namespaces))
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
    let nonzero: Vec<(u64, u64)> = dist.iter().copied().filter(|(n, _)| *n > 0).collect();
    let quantiles = quantiles(&nonzero, EDGE_QUANTILES, k);
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

/// Nearest-rank quantiles of a value distribution `(value, count)` sorted by value, each
/// `None` when fewer than `k` values lie at or beyond it.
pub fn quantiles(
    dist: &[(u64, u64)],
    points: &[(&str, f64)],
    k: u64,
) -> BTreeMap<String, Option<f64>> {
    let n: u64 = dist.iter().map(|(_, c)| c).sum();
    points
        .iter()
        .map(|(name, p)| {
            let rank = ((p * n as f64).ceil() as u64).max(1);
            let beyond = (n.saturating_sub(rank) + 1).min(rank);
            let value = if n == 0 || beyond < k {
                None
            } else {
                let mut seen = 0;
                dist.iter().find_map(|(v, c)| {
                    seen += c;
                    (seen >= rank).then_some(*v as f64)
                })
            };
            (name.to_string(), value)
        })
        .collect()
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
