//! Children per parent of one foreign key, computed by the server.
//!
//! Under `--sample-percent` the *parents* are sampled and each sampled parent's children are
//! counted in full (through the foreign key's index where there is one): the fan-out is a
//! distribution over parents, and a random sample of parents estimates its quantiles without
//! bias. Sampling the children instead would thin every count (a parent with n children keeps
//! about n·P % of them, small parents fall to zero), which skews every quantile.

use pgshape_core::catalog::{ForeignKey, Table};
use pgshape_core::ident::quote;
use pgshape_core::pack::{EdgeMetrics, EDGE_QUANTILES};
use pgshape_core::Result;
use postgres::GenericClient;

use crate::reads::Reads;

use crate::cells::round6;
use crate::dp::budget::Family;
use crate::metrics::Scan;
use crate::shape::{Of, ShapeDp};
use crate::unit::{Unit, UnitSql};

/// How far one person of the child table reaches into other people's parents under DP.
#[derive(Debug, Clone, PartialEq)]
pub enum Spread {
    /// The child's unit is the parent's, reached through this key: a person's children are
    /// all under their own parents (bounded by the parent's clip).
    Own,
    /// Each child row is a person (rows as units, or the unit table itself): one parent.
    One,
    /// A person's children lie under any parents: only those under `m` of them (drawn at
    /// random by the server) are counted.
    Clipped { unit: UnitSql, m: u64 },
}

impl Spread {
    /// The spread of `fk` of a child of unit `child`, whose parent's unit is `parent`; `m`:
    /// the child table's clip of rows a person.
    pub fn of(fk: &ForeignKey, child: &Unit, parent: Option<&Unit>, m: u64) -> Spread {
        match child {
            Unit::Rows => Spread::One,
            Unit::Table { path, .. } if path.is_empty() => Spread::One,
            Unit::Table { table, path, .. } => {
                let own = path[0] == *fk
                    && matches!(parent, Some(Unit::Table { table: pt, path: pp, .. })
                        if pt == table && pp[..] == path[1..]);
                if own {
                    Spread::Own
                } else {
                    Spread::Clipped {
                        unit: child.sql(),
                        m: m.max(1),
                    }
                }
            }
        }
    }

    /// The parents whose bins one person of the child table moves (each by at most 2 in L1).
    fn parents(&self) -> u64 {
        match self {
            Spread::Own => 0,
            Spread::One => 1,
            Spread::Clipped { m, .. } => *m,
        }
    }
}

/// The child rows of table `rel` (qualified) a fan-out counts (a relation to alias): all of them, or under DP
/// those a [`Spread::Clipped`] person has under at most `m` parents (drawn at random once a
/// statement: every row of theirs under one parent is kept or none).
pub fn children(rel: &str, fk: &ForeignKey, spread: Option<&Spread>) -> String {
    let Some(Spread::Clipped { unit, m }) = spread else {
        return rel.to_string();
    };
    let key: Vec<String> = fk
        .columns
        .iter()
        .map(|c| format!("t.{}", quote(c)))
        .collect();
    format!(
        "(SELECT * FROM (SELECT t.*, dense_rank() OVER (PARTITION BY {u} \
         ORDER BY md5(ROW({key})::text || (SELECT random())::text)) AS pgshape_parent_rank \
         FROM {rel} t {joins} WHERE {not_null}) pc WHERE pgshape_parent_rank <= {m})",
        u = unit.column(),
        key = key.join(", "),
        joins = unit.joins,
        not_null = key
            .iter()
            .map(|k| format!("{k} IS NOT NULL"))
            .collect::<Vec<_>>()
            .join(" AND "),
    )
}

/// Children per parent of `fk` of table `child`, each parent counted as its privacy unit
/// (`parent_unit`, over the parent's alias `t`): every bin and quantile rests on `k` units.
/// Under DP at most `parent_clip` parents of one unit are read (none: one parent per unit),
/// a child's person counts under at most the parents `spread` says, children are counted up
/// to the bound, and the histogram is noised at L1 sensitivity `parent_clip + 2 m` (a person
/// removes their parents and moves the bins of `m` others'). Also returns the fewest units an
/// exported figure rests on.
pub fn edge(
    reads: &mut Reads<'_, impl GenericClient>,
    child: &Table,
    fk: &ForeignKey,
    parent_unit: &UnitSql,
    parent_clip: Option<u64>,
    spread: &Spread,
    scan: &Scan<'_>,
) -> Result<(EdgeMetrics, Option<u64>)> {
    let sample = &scan.sample;
    let with = with(child, fk, parent_unit, parent_clip, spread, scan);
    let bounds = scan.noise.bounds();
    let dp = ShapeDp {
        family: Family::Fanout,
        sensitivity: parent_clip.unwrap_or(1) + 2 * spread.parents(),
        per_person: parent_clip.unwrap_or(1),
        bound: bounds.map_or(u64::MAX, |b| b.max_children_per_parent),
    };
    let what = format!("the fan-out of {}", fk.name);
    let of = of(&with, parent_unit, &what);
    let m = crate::shape::measure(reads, &of, scan, &dp)?;
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

/// The per-parent counts of `fk` with the parent's unit (`f`, the non-zero ones `nz`), as
/// common table expressions: one pass over the parent and its children.
fn with(
    child: &Table,
    fk: &ForeignKey,
    parent_unit: &UnitSql,
    parent_clip: Option<u64>,
    spread: &Spread,
    scan: &Scan<'_>,
) -> String {
    let join = fk.join_sql("c", "t");
    let group = fk
        .ref_columns
        .iter()
        .map(|p| format!("t.{}", quote(p)))
        .collect::<Vec<_>>()
        .join(", ");
    let counted = quote(&fk.columns[0]);
    let on = scan.noise.is_on();
    format!(
        "f0 AS (SELECT count(c.{counted}) AS x, {u} AS u
                  FROM {parent} {joins} LEFT JOIN {child} c ON {join} GROUP BY {group}, 2),
         f AS MATERIALIZED (SELECT x, u FROM {clipped} fc),
         nz AS (SELECT x, u FROM f WHERE x > 0)",
        u = parent_unit.column(),
        joins = parent_unit.joins,
        parent = scan.from_item(&fk.ref_schema, &fk.ref_table, "t"),
        child = children(
            &scan.relation(&child.schema, &child.name),
            fk,
            on.then_some(spread)
        ),
        clipped = crate::clip::relation("f0", parent_clip.filter(|_| on)),
    )
}

/// What [`crate::shape`] reads of an edge's counts.
fn of<'a>(with: &'a str, parent_unit: &UnitSql, what: &'a str) -> Of<'a> {
    Of {
        with,
        hist: "f",
        quantile: "nz",
        by_unit: parent_unit.expr.is_some(),
        points: EDGE_QUANTILES,
        what,
    }
}

/// The statement of [`edge`] with DP off (the one an exact extraction reads ahead).
pub fn edge_sql(child: &Table, fk: &ForeignKey, parent_unit: &UnitSql, scan: &Scan<'_>) -> String {
    let with = with(child, fk, parent_unit, None, &Spread::One, scan);
    let probabilities: Vec<f64> = EDGE_QUANTILES.iter().map(|(_, p)| *p).collect();
    crate::shape::sql(&of(&with, parent_unit, ""), None, &probabilities, scan.k)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fk(name: &str, column: &str, parent: &str) -> ForeignKey {
        ForeignKey {
            name: name.into(),
            columns: vec![column.into()],
            ref_schema: "s".into(),
            ref_table: parent.into(),
            ref_columns: vec!["id".into()],
            deferrable: false,
        }
    }

    fn person(path: Vec<ForeignKey>) -> Unit {
        Unit::Table {
            table: "s.person".into(),
            key: vec!["id".into()],
            path,
            nullable: false,
        }
    }

    #[test]
    fn a_childs_person_is_clipped_unless_the_key_leads_to_the_parents_own_person() {
        // child --by_parent--> parent --owner--> person; child --by_person--> person.
        let (by_parent, owner) = (fk("by_parent", "p", "parent"), fk("owner", "o", "person"));
        let by_person = fk("by_person", "w", "person");
        let parent = person(vec![owner.clone()]);
        // The child's person is the parent's, through this key: its own parents only.
        let via = person(vec![by_parent.clone(), owner.clone()]);
        assert_eq!(Spread::of(&by_parent, &via, Some(&parent), 8), Spread::Own);
        assert_eq!(Spread::of(&by_parent, &via, Some(&parent), 8).parents(), 0);
        // The child's person is another key's: their rows under anyone's parents, m of them.
        let other = person(vec![by_person.clone()]);
        let spread = Spread::of(&by_parent, &other, Some(&parent), 8);
        assert!(matches!(spread, Spread::Clipped { m: 8, .. }), "{spread:?}");
        assert_eq!(spread.parents(), 8);
        // The same path but a parent counted by another unit (a policy's choice): clipped.
        let parent_rows = Unit::Rows;
        assert!(matches!(
            Spread::of(&by_parent, &via, Some(&parent_rows), 8),
            Spread::Clipped { .. }
        ));
        // A child whose rows are people moves one parent.
        assert_eq!(
            Spread::of(&by_parent, &Unit::Rows, Some(&parent), 8).parents(),
            1
        );
        assert_eq!(
            Spread::of(&by_parent, &person(vec![]), None, 8).parents(),
            1
        );
    }

    #[test]
    fn only_a_clipped_spread_changes_the_children_read() {
        let t = "s.child";
        let key = fk("by_parent", "p", "parent");
        assert_eq!(children(t, &key, None), "s.child");
        assert_eq!(children(t, &key, Some(&Spread::One)), "s.child");
        let clipped = Spread::Clipped {
            unit: person(vec![fk("by_person", "w", "person")]).sql(),
            m: 3,
        };
        let sql = children(t, &key, Some(&clipped));
        assert!(sql.contains(r#"PARTITION BY t."w""#), "{sql}");
        assert!(sql.contains("pgshape_parent_rank <= 3"), "{sql}");
    }
}
