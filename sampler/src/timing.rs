//! An edge's timings, computed by the server: each child's time after its parent's (the
//! offset) and the gap between consecutive children of one parent (the inter-arrival), in
//! seconds, with the small-cell rules of numeric columns (see [`pgshape_core::pack::Numbers`]).
//!
//! The times are the tables' window columns (chosen by the policy or detected). Like the
//! fan-out, under `--sample-percent` the *parents* are sampled and each sampled parent's
//! children are read in full: a sampled parent keeps every one of its gaps, where sampling
//! children would stretch each gap by about 1/P.

use pgshape_core::catalog::{Column, ForeignKey, Schema, Table};
use pgshape_core::ident::quote;
use pgshape_core::pack::{Numbers, TIMING_QUANTILES};
use pgshape_core::Result;
use postgres::GenericClient;

use crate::reads::Reads;

use crate::dp::budget::Family;
use crate::metrics::Scan;
use crate::policy::Policy;
use crate::unit::UnitSql;

/// The time columns of an edge: the child's window column (none: the edge has no timings)
/// and, when the child has one, the parent's (none: no offsets). A parent outside the
/// extracted schemas has none.
pub fn columns<'a>(
    policy: &'a Policy,
    schema: &'a Schema,
    child: &'a Table,
    fk: &ForeignKey,
) -> Option<(&'a Column, Option<&'a Column>)> {
    let child_time = policy.window_column(child).and_then(|w| child.column(w))?;
    let parent_time = schema
        .tables
        .iter()
        .find(|p| p.schema == fk.ref_schema && p.name == fk.ref_table)
        .and_then(|p| policy.window_column(p).and_then(|w| p.column(w)));
    Some((child_time, parent_time))
}

/// The timings of one edge.
#[derive(Debug, Clone, PartialEq)]
pub struct Timings {
    /// Child minus parent, when the parent has a time column.
    pub offset_seconds: Option<Numbers>,
    pub inter_arrival_seconds: Numbers,
    /// The fewest units an exported bin or quantile of either rests on.
    pub people: Option<u64>,
}

/// Seconds since the epoch of column `c` under alias `alias` as float8 (a timestamp without
/// time zone, or a date at midnight, read as UTC).
fn epoch(alias: &str, c: &Column) -> String {
    let col = format!("{alias}.{}", quote(&c.name));
    // date_part is float8 all through; extract() goes through numeric, twice as slow here.
    if c.effective_type() == "date" {
        format!("date_part('epoch', {col}::timestamp)")
    } else {
        format!("date_part('epoch', {col})")
    }
}

/// The timings of `fk` of table `child` on the child's time column `child_time`, and the
/// offsets after the parent's time column `parent_time` when there is one. One statement: the
/// sampled parents' children once (with each child's privacy unit, `unit`), then both
/// distributions. Gaps are ordered by the column
/// itself, so an index on (foreign key, time) can serve the window.
#[allow(clippy::too_many_arguments)]
pub fn timings(
    reads: &mut Reads<'_, impl GenericClient>,
    child: &Table,
    child_time: &Column,
    fk: &ForeignKey,
    parent_time: Option<&Column>,
    unit: &UnitSql,
    scan: &Scan<'_>,
) -> Result<Timings> {
    let with = with(child, child_time, fk, parent_time, unit, scan);
    // Under DP at most `clip` children of one unit: a unit's row moves its own gap and the
    // next child's (3 votes: one gap out, two in) and its own offset.
    let c = scan.sensitivity();
    let sources = sources(parent_time, scan);
    let mut sensitivities = vec![3 * c];
    if parent_time.is_some() {
        sensitivities.push(c);
    }
    let what = format!("the timings of {}", fk.name);
    let of = of(&with, &sources, unit, &what, &sensitivities);
    let mut d = crate::numbers::distributions(reads, &of, scan)?;
    let offset = (d.len() == 2).then(|| d.remove(1));
    let (inter_arrival_seconds, gaps_people) = d.remove(0);
    let people = [gaps_people, offset.as_ref().and_then(|o| o.1)]
        .into_iter()
        .flatten()
        .min();
    Ok(Timings {
        offset_seconds: offset.map(|o| o.0),
        inter_arrival_seconds,
        people,
    })
}

/// The statement of [`timings`] with DP off (the one an exact extraction reads ahead).
pub fn timings_sql(
    child: &Table,
    child_time: &Column,
    fk: &ForeignKey,
    parent_time: Option<&Column>,
    unit: &UnitSql,
    scan: &Scan<'_>,
) -> String {
    let with = with(child, child_time, fk, parent_time, unit, scan);
    let sources = sources(parent_time, scan);
    crate::numbers::sql(&of(&with, &sources, unit, "", &[]), scan.k)
}

/// The sampled parents' children once (with each child's privacy unit, `unit`), each with
/// its gap after the previous child of its parent and its offset after the parent (`j`).
fn with(
    child: &Table,
    child_time: &Column,
    fk: &ForeignKey,
    parent_time: Option<&Column>,
    unit: &UnitSql,
    scan: &Scan<'_>,
) -> String {
    let t = quote(&child_time.name);
    let keys: Vec<String> = fk
        .columns
        .iter()
        .enumerate()
        .map(|(i, c)| format!("t.{} AS k{i}", quote(c)))
        .collect();
    let partition: Vec<String> = (0..fk.columns.len()).map(|i| format!("k{i}")).collect();
    let parent_epoch = parent_time.map_or("NULL::float8".to_string(), |p| epoch("p", p));
    format!(
        "e AS (SELECT t.{t} AS ts, {child_epoch} AS t, {parent_epoch} AS pt, {keys}, {u} AS u
                 FROM {parent} JOIN {child_rel} t ON {join} {joins}
                WHERE t.{t} IS NOT NULL AND t.{t} > '-infinity' AND t.{t} < 'infinity'),
         j AS MATERIALIZED (SELECT t - pt AS o, t - lag(t) OVER (PARTITION BY {partition} ORDER BY ts) AS g, u FROM e)",
        child_epoch = epoch("t", child_time),
        u = unit.column(),
        joins = unit.joins,
        keys = keys.join(", "),
        parent = scan.from_item(&fk.ref_schema, &fk.ref_table, "p"),
        child_rel = scan.relation(&child.schema, &child.name),
        join = fk.join_sql("t", "p"),
        partition = partition.join(", "),
    )
}

/// The gaps, and the offsets where the parent has a time column, as sources of numbers.
fn sources(parent_time: Option<&Column>, scan: &Scan<'_>) -> Vec<String> {
    let j = crate::clip::relation("j", scan.clip.get().filter(|_| scan.noise.is_on()));
    let mut sources = vec![format!("SELECT g AS x, u FROM {j} jc")];
    if parent_time.is_some() {
        sources.push(format!("SELECT o AS x, u FROM {j} jc"));
    }
    sources
}

/// What [`crate::numbers`] reads of an edge's timings.
fn of<'a>(
    with: &'a str,
    sources: &'a [String],
    unit: &UnitSql,
    what: &'a str,
    sensitivities: &'a [u64],
) -> crate::numbers::Sources<'a> {
    crate::numbers::Sources {
        with: Some(with),
        sources,
        by_unit: unit.expr.is_some(),
        points: TIMING_QUANTILES,
        what,
        family: Family::Timings,
        sensitivities,
    }
}
