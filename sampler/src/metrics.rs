//! The metrics of one table, computed by the server: counts, null fractions and distinct
//! ratios in one pass over the table, then per column by role length distributions, category
//! frequencies, numeric distributions and arrival profiles. Only aggregates cross the wire.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use pgshape_core::catalog::{Table, TypeKind};
use pgshape_core::ident::{qualified, quote};
use pgshape_core::pack::{
    Categories, ColumnMetrics, Namespace, Shape, TableMetrics, DISTINCT_RATIO_DECIMALS,
    LENGTH_QUANTILES,
};
use pgshape_core::token::Salt;
use pgshape_core::{Error, Result};
use postgres::GenericClient;

use crate::cells::{histogram, quantiles, round6, round_decimals};
use crate::policy::Policy;
use crate::roles::Role;
use crate::sample::Sample;

/// What every metric of one extraction shares.
pub struct Scan<'a> {
    pub k: u64,
    pub sample: Sample,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub salt: &'a Salt,
    pub policy: &'a Policy,
}

/// The metrics of table `t` and of every column (`roles[i]` is the role of `t.columns[i]`;
/// `skip` columns are not read): its total and in-window counts, null fractions and distinct
/// ratios in one pass, then per column what its role exports. Returns the token namespaces
/// used, for the manifest.
pub fn table(
    client: &mut impl GenericClient,
    t: &Table,
    roles: &[Role],
    window: Option<&str>,
    scan: &Scan<'_>,
) -> Result<(TableMetrics, Vec<Namespace>)> {
    let from = scan.sample.from(&qualified(&t.schema, &t.name), "t");
    let read: Vec<usize> = (0..t.columns.len())
        .filter(|&i| roles[i] != Role::Skip)
        .collect();
    let mut select = vec!["count(*)".to_string()];
    if let Some(w) = window {
        let w = quote(w);
        select.push(format!(
            "count(*) FILTER (WHERE t.{w} >= $1::timestamptz AND t.{w} < $2::timestamptz)"
        ));
    }
    let first_column = select.len();
    for &i in &read {
        let c = quote(&t.columns[i].name);
        select.push(format!("count(t.{c}), count(DISTINCT t.{c}::text)"));
    }
    let sql = format!("SELECT {} FROM {from}", select.join(", "));
    let row = match window {
        Some(_) => client.query_one(&sql, &[&scan.start, &scan.end]),
        None => client.query_one(&sql, &[]),
    }
    .map_err(Error::db(format!(
        "counts, null fractions and distinct ratios of {}",
        t.qualified()
    )))?;
    let total = row.get::<_, i64>(0) as u64;
    let mut metrics = TableMetrics {
        total_rows: scan.sample.scale(total),
        count_method: if scan.sample.is_sampled() {
            "sampled".into()
        } else {
            "exact".into()
        },
        window_column: window.map(str::to_string),
        window_rows: window.map(|_| scan.sample.scale(row.get::<_, i64>(1) as u64)),
        columns: BTreeMap::new(),
    };
    let mut namespaces = Vec::new();
    let out = &mut metrics.columns;
    for (j, &i) in read.iter().enumerate() {
        let (c, r) = (&t.columns[i], roles[i]);
        let non_null = row.get::<_, i64>(first_column + 2 * j) as u64;
        let distinct = row.get::<_, i64>(first_column + 1 + 2 * j) as u64;
        let what = format!("{}.{}", t.qualified(), c.name);
        let col = quote(&c.name);
        let mut m = ColumnMetrics {
            role: r.to_string(),
            null_fraction: if total == 0 {
                0.0
            } else {
                round6((total - non_null) as f64 / total as f64)
            },
            distinct_ratio: (non_null >= scan.k).then(|| {
                round_decimals(distinct as f64 / non_null as f64, DISTINCT_RATIO_DECIMALS)
            }),
            hourly: None,
            weekday: None,
            daily: None,
            length: None,
            categories: None,
            number: None,
        };
        // A text key's lengths are exported too (never its values): a generator writes
        // synthetic keys of the same lengths.
        let text_key = r == Role::Key && is_text_type(c);
        match r {
            _ if text_key || matches!(r, Role::Text | Role::Pii) => {
                // Lengths are computed by the server: content never crosses the wire.
                let dist: Vec<(u64, u64)> = client
                    .query(
                        &format!("SELECT {}::bigint, count(*) FROM {from} WHERE t.{col} IS NOT NULL GROUP BY 1 ORDER BY 1", crate::roles::length_sql(c, &col)),
                        &[],
                    )
                    .map_err(Error::db(format!("lengths of {what}")))?
                    .iter()
                    .map(|r| (r.get::<_, i64>(0) as u64, r.get::<_, i64>(1) as u64))
                    .collect();
                let mut histogram = histogram(&dist, scan.k);
                for b in &mut histogram {
                    b.count = scan.sample.scale(b.count);
                }
                m.length = Some(Shape {
                    quantiles: quantiles(&dist, LENGTH_QUANTILES, scan.k),
                    histogram,
                });
            }
            Role::Category => {
                let (cats, ns) = categories(client, t, i, &from, scan)?;
                namespaces.extend(ns);
                m.categories = Some(cats);
            }
            Role::Number => {
                m.number = Some(crate::numbers::numbers(
                    client,
                    &from,
                    &col,
                    &crate::roles::number_sql(c, &col),
                    &what,
                    scan.k,
                    &scan.sample,
                )?);
            }
            Role::Timestamp => {
                let p = crate::profile::profiles(
                    client,
                    &from,
                    c,
                    &what,
                    scan.start,
                    scan.end,
                    scan.k,
                    &scan.sample,
                )?;
                m.hourly = p.hourly;
                m.weekday = Some(p.weekday);
                m.daily = Some(p.daily);
            }
            Role::Text | Role::Pii | Role::Key | Role::Other | Role::Skip => {}
        }
        out.insert(c.name.clone(), m);
    }
    Ok((metrics, namespaces))
}

/// Rows per category: enum labels and labels the policy allow-lists plain, other labels as
/// HMAC tokens under the column's namespace. Labels stay inside the sampler: they are
/// tokenized before anything is written.
fn categories(
    client: &mut impl GenericClient,
    t: &Table,
    i: usize,
    from: &str,
    scan: &Scan<'_>,
) -> Result<(Categories, Option<Namespace>)> {
    let c = &t.columns[i];
    let col = quote(&c.name);
    let rows = client
        .query(
            &format!(
                "SELECT t.{col}::text, count(*) FROM {from} WHERE t.{col} IS NOT NULL GROUP BY 1"
            ),
            &[],
        )
        .map_err(Error::db(format!(
            "categories of {}.{}",
            t.qualified(),
            c.name
        )))?;
    let enum_labels = c.type_kind == TypeKind::Enum;
    let allowed = scan.policy.labels(t, &c.name);
    let mut tokens = 0u64;
    let ns_name = format!("{}.{}", t.qualified(), c.name);
    let tokenizer = scan.salt.namespace(&ns_name);
    let mut cats = Categories {
        labels: enum_labels,
        counts: BTreeMap::new(),
        suppressed_rows: 0,
        suppressed_categories: 0,
    };
    for row in rows {
        let (label, n): (String, i64) = (row.get(0), row.get(1));
        let n = n as u64;
        if n < scan.k {
            cats.suppressed_rows += scan.sample.scale(n);
            cats.suppressed_categories += 1;
            continue;
        }
        let key = if enum_labels || allowed.contains(&label) {
            label
        } else {
            tokens += 1;
            tokenizer.token(label.as_bytes())
        };
        cats.counts.insert(key, scan.sample.scale(n));
    }
    // Every key a label (enum, or all allow-listed): consumers may use them as such.
    cats.labels = enum_labels || (tokens == 0 && !allowed.is_empty());
    let ns = (!enum_labels).then(|| Namespace {
        name: ns_name.clone(),
        columns: vec![ns_name],
        tokens,
    });
    Ok((cats, ns))
}

/// Text, varchar and char columns (and domains over them).
fn is_text_type(c: &pgshape_core::catalog::Column) -> bool {
    let t = c.effective_type();
    let base = t.split('(').next().unwrap_or(t).trim();
    c.type_kind != pgshape_core::catalog::TypeKind::Enum
        && matches!(base, "text" | "character varying" | "character")
}
