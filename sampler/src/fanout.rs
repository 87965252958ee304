//! Children per parent of one foreign key, computed by the server.
//!
//! Under `--sample-percent` the *parents* are sampled and each sampled parent's children are
//! counted in full (through the foreign key's index where there is one): the fan-out is a
//! distribution over parents, and a random sample of parents estimates its quantiles without
//! bias. Sampling the children instead would thin every count (a parent with n children keeps
//! about n·P % of them, small parents fall to zero), which skews every quantile.

use pgshape_core::catalog::{ForeignKey, Table};
use pgshape_core::ident::{qualified, quote};
use pgshape_core::pack::{EdgeMetrics, EDGE_QUANTILES};
use pgshape_core::{Error, Result};
use postgres::GenericClient;

use crate::cells::{histogram, quantiles, round6};
use crate::sample::Sample;

/// Children per parent of `fk` of table `child`.
pub fn edge(
    client: &mut impl GenericClient,
    child: &Table,
    fk: &ForeignKey,
    k: u64,
    sample: &Sample,
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
        "WITH f AS (SELECT count(c.{counted}) AS n FROM {parent} LEFT JOIN {child} c ON {join} GROUP BY {group})
         SELECT n, count(*) FROM f GROUP BY n ORDER BY n",
        parent = sample.from(&qualified(&fk.ref_schema, &fk.ref_table), "p"),
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
    let mut histogram = histogram(&dist, k);
    for b in &mut histogram {
        b.count = sample.scale(b.count);
    }
    Ok(EdgeMetrics {
        foreign_key: fk.name.clone(),
        child: child.qualified(),
        columns: fk.columns.clone(),
        parent: format!("{}.{}", fk.ref_schema, fk.ref_table),
        ref_columns: fk.ref_columns.clone(),
        parents: sample.scale(parents),
        zero_fraction: if parents == 0 {
            0.0
        } else {
            round6(zero as f64 / parents as f64)
        },
        quantiles: quantiles(&nonzero, EDGE_QUANTILES, k),
        histogram,
        child_column: None,
        parent_column: None,
        offset_seconds: None,
        inter_arrival_seconds: None,
    })
}
