//! Grouping parents: for each table, the NOT NULL foreign key (single-column to a numbered
//! key, or composite over integer columns the parent carries) it is generated under, with
//! that edge's fan-out; the parent deepest in the hierarchy wins, then the one with the
//! fewest production rows, then the key name. An edge whose every fan-out quantile the pack
//! left out (suppressed, or drowned in differential privacy's noise) groups only when no edge
//! has quantiles, with a fan-out from its mean children per parent (`fanout_or_mean`): a
//! table under a composite key of its foreign keys needs a grouping key to stay unique.

use std::collections::{BTreeMap, BTreeSet};

use pgshape_core::catalog::{ForeignKey, Table};
use pgshape_core::dist::Dist;
use pgshape_core::pack::Pack;

use super::keys::{is_integer, is_sequence_key};
use crate::authoring::shapes::{
    children_per_parent, fanout_or_mean, fanout_with_mean, zero_fraction_for,
};

/// A table's grouping key, its fan-out and its zero-child fraction.
pub type Grouping<'a> = (&'a ForeignKey, Dist, f64);

/// The grouping parent of each table that has one (`tables` in load order, parents first,
/// so depths are known).
pub fn parents<'a>(
    pack: &Pack,
    tables: &[&'a Table],
    deferred: &BTreeSet<(String, String)>,
    notes: &mut Vec<String>,
) -> BTreeMap<String, Grouping<'a>> {
    let mut grouping = BTreeMap::new();
    let mut depth: BTreeMap<String, usize> = BTreeMap::new();
    for t in tables {
        let best = best_parent(pack, t, deferred, &depth, false)
            .or_else(|| best_parent(pack, t, deferred, &depth, true));
        match best {
            Some((d, fk, fanout, zero)) => {
                depth.insert(t.name.clone(), d + 1);
                notes.push(format!(
                    "{}: rows per {} row ({})",
                    t.name, fk.ref_table, fk.name
                ));
                grouping.insert(t.name.clone(), (fk, fanout, zero));
            }
            None => {
                depth.insert(t.name.clone(), 0);
            }
        }
    }
    grouping
}

/// Whether `fk` can group `t`: NOT NULL, not deferred, not a self-reference, and a
/// single-column key to a numbered key or a composite key over the parent's integers.
fn can_group(
    pack: &Pack,
    t: &Table,
    fk: &ForeignKey,
    deferred: &BTreeSet<(String, String)>,
) -> bool {
    let schema = &pack.schema;
    let parent = schema.table(&format!("{}.{}", fk.ref_schema, fk.ref_table));
    fk.ref_table != t.name
        && !deferred.contains(&(t.qualified(), fk.name.clone()))
        && fk
            .columns
            .iter()
            .all(|c| t.column(c).is_some_and(|c| c.not_null))
        && parent.is_some_and(|p| {
            if fk.columns.len() == 1 {
                is_sequence_key(schema, p, &fk.ref_columns[0])
            } else {
                fk.ref_columns.iter().all(|c| is_integer(p, c))
            }
        })
}

/// The best grouping key of `t` with its parent's depth, fan-out and zero fraction; with
/// `from_mean`, edges without quantiles count too, their fan-out made from the mean.
fn best_parent<'a>(
    pack: &Pack,
    t: &'a Table,
    deferred: &BTreeSet<(String, String)>,
    depth: &BTreeMap<String, usize>,
    from_mean: bool,
) -> Option<(usize, &'a ForeignKey, Dist, f64)> {
    let total = |name: &str| {
        pack.schema
            .table(name)
            .and_then(|t| pack.tables.get(&t.qualified()))
            .map_or(0, |m| m.total_rows)
    };
    let mut best: Option<(usize, u64, &ForeignKey, Dist, f64)> = None;
    for fk in &t.foreign_keys {
        if !can_group(pack, t, fk, deferred) {
            continue;
        }
        let Some(edge) = pack
            .edges
            .iter()
            .find(|e| e.child == t.qualified() && e.foreign_key == fk.name)
        else {
            continue;
        };
        let mean = children_per_parent(pack, edge);
        let fanout = if from_mean {
            fanout_or_mean(edge, mean)
        } else {
            fanout_with_mean(edge, mean)
        };
        let Some(fanout) = fanout else {
            continue;
        };
        let d = depth.get(&fk.ref_table).copied().unwrap_or(0);
        let n = total(&format!("{}.{}", fk.ref_schema, fk.ref_table));
        let better = best.as_ref().is_none_or(|(bd, bn, bfk, _, _)| {
            (d, std::cmp::Reverse(n), std::cmp::Reverse(&fk.name))
                > (*bd, std::cmp::Reverse(*bn), std::cmp::Reverse(&bfk.name))
        });
        if better {
            let zero = zero_fraction_for(edge, &fanout, mean);
            best = Some((d, n, fk, fanout, zero));
        }
    }
    best.map(|(d, _, fk, fanout, zero)| (d, fk, fanout, zero))
}
