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
use crate::dp::budget::Family;
use crate::metrics::Scan;
use crate::shape::{Of, ShapeDp};
use crate::unit::UnitSql;

/// Children per parent of `fk` of table `child`, each parent counted as its privacy unit
/// (`parent_unit`, over the parent's alias `t`): every bin and quantile rests on `k` units.
/// Under DP at most `parent_clip` parents of one unit are read (none: one parent per unit),
/// children are counted up to the bound, and the histogram is noised. Also returns the
/// fewest units an exported figure rests on.
pub fn edge(
    client: &mut impl GenericClient,
    child: &Table,
    fk: &ForeignKey,
    parent_unit: &UnitSql,
    parent_clip: Option<u64>,
    scan: &Scan<'_>,
) -> Result<(EdgeMetrics, Option<u64>)> {
    let sample = &scan.sample;
    let join = fk.join_sql("c", "t");
    let group = fk
        .ref_columns
        .iter()
        .map(|p| format!("t.{}", quote(p)))
        .collect::<Vec<_>>()
        .join(", ");
    let counted = quote(&fk.columns[0]);
    let on = scan.noise.is_on();
    // One pass: the per-parent counts with the parent's unit, then their distribution.
    let with = format!(
        "f0 AS (SELECT count(c.{counted}) AS x, {u} AS u
                  FROM {parent} {joins} LEFT JOIN {child} c ON {join} GROUP BY {group}, 2),
         f AS MATERIALIZED (SELECT x, u FROM {clipped} fc),
         nz AS (SELECT x, u FROM f WHERE x > 0)",
        u = parent_unit.column(),
        joins = parent_unit.joins,
        parent = sample.from(&qualified(&fk.ref_schema, &fk.ref_table), "t"),
        child = qualified(&child.schema, &child.name),
        clipped = crate::clip::relation("f0", parent_clip.filter(|_| on)),
    );
    let bounds = scan.noise.bounds();
    let dp = ShapeDp {
        family: Family::Fanout,
        sensitivity: parent_clip.unwrap_or(1),
        bound: bounds.map_or(u64::MAX, |b| b.max_children_per_parent),
    };
    let what = format!("the fan-out of {}", fk.name);
    let of = Of {
        with: &with,
        hist: "f",
        quantile: "nz",
        by_unit: parent_unit.expr.is_some(),
        points: EDGE_QUANTILES,
        what: &what,
    };
    let m = crate::shape::measure(client, &of, scan, &dp)?;
    let (parents, zero) = (m.total, m.zeros);
    Ok((
        EdgeMetrics {
            foreign_key: fk.name.clone(),
            child: child.qualified(),
            columns: fk.columns.clone(),
            parent: format!("{}.{}", fk.ref_schema, fk.ref_table),
            ref_columns: fk.ref_columns.clone(),
            parents: sample.scale(parents),
            // Like a null fraction: parents without children who are fewer than k people
            // are said as none (the fraction would count them).
            zero_fraction: if parents == 0 || m.zero_units < scan.k {
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
