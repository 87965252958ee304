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
use pgshape_core::Result;
use postgres::GenericClient;

use crate::cells::round6;
use crate::sample::Sample;
use crate::unit::UnitSql;

/// Children per parent of `fk` of table `child`, each parent counted as its privacy unit
/// (`parent_unit`, over the parent's alias `t`): every bin and quantile rests on `k` units.
/// Also returns the fewest units an exported figure rests on.
pub fn edge(
    client: &mut impl GenericClient,
    child: &Table,
    fk: &ForeignKey,
    parent_unit: &UnitSql,
    k: u64,
    sample: &Sample,
) -> Result<(EdgeMetrics, Option<u64>)> {
    let join = fk.join_sql("c", "t");
    let group = fk
        .ref_columns
        .iter()
        .map(|p| format!("t.{}", quote(p)))
        .collect::<Vec<_>>()
        .join(", ");
    let counted = quote(&fk.columns[0]);
    // One pass: the per-parent counts with the parent's unit, then their distribution.
    let with = format!(
        "f AS MATERIALIZED (SELECT count(c.{counted}) AS x, {u} AS u
                              FROM {parent} {joins} LEFT JOIN {child} c ON {join} GROUP BY {group}, 2),
         nz AS (SELECT x, u FROM f WHERE x > 0)",
        u = parent_unit.column(),
        joins = parent_unit.joins,
        parent = sample.from(&qualified(&fk.ref_schema, &fk.ref_table), "t"),
        child = qualified(&child.schema, &child.name),
    );
    let m = crate::shape::measure(
        client,
        &with,
        "f",
        "nz",
        parent_unit.expr.is_some(),
        EDGE_QUANTILES,
        k,
        sample,
        &format!("the fan-out of {}", fk.name),
    )?;
    let (parents, zero) = (m.total, m.zeros);
    Ok((
        EdgeMetrics {
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
            quantiles: m.shape.quantiles,
            histogram: m.shape.histogram,
            child_column: None,
            parent_column: None,
            offset_seconds: None,
            inter_arrival_seconds: None,
        },
        m.min_units,
    ))
}
