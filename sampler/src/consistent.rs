//! Post-processing of a noisy pack's counts so they agree with each other (free under DP: it
//! reads released figures only).
//!
//! Under DP a parent table's count, each of its edges' parent counts and zero fractions, and
//! the child tables' counts and null fractions are separate noisy releases, and they
//! disagree: an edge with parents but a parent table of 0 rows, a zero fraction of 1 under a
//! child table of 25,000 rows. A generator fed that builds the wrong sizes. So:
//!
//! 1. A parent table whose children exist (a child table with rows whose key is set) has at
//!    least one row: at least its edges' largest parent count.
//! 2. Every edge's parent count is its parent table's count (the table's own release reads
//!    every person's rows up to a clip chosen for it, [`crate::volume`]; the edge's is a sum
//!    of noisy bins).
//! 3. An edge's parents with children are at least 1 and at most its child rows whose key is
//!    set (each has a child); a zero fraction the noise pushed past either bound is set at it.
//!    A zero fraction of 1 under children (every non-zero bin under the noise floor) becomes
//!    the smallest the counts allow: one child per parent with children.

use std::collections::BTreeMap;

use pgshape_core::pack::{EdgeMetrics, TableMetrics};

use crate::cells::round6;

/// Child rows whose key is set, from the child's count and its key columns' null fractions.
fn children_set(tables: &BTreeMap<String, TableMetrics>, e: &EdgeMetrics) -> Option<f64> {
    let child = tables.get(&e.child).filter(|t| t.count_method != "band")?;
    let set = e
        .columns
        .iter()
        .filter_map(|c| child.columns.get(c))
        .map(|c| 1.0 - c.null_fraction)
        .fold(1.0, f64::min);
    Some(child.total_rows as f64 * set)
}

/// Makes the counts of `tables` and `edges` agree (see the module).
pub fn counts(tables: &mut BTreeMap<String, TableMetrics>, edges: &mut [EdgeMetrics]) {
    // 1. Parents of existing children exist.
    for e in edges.iter() {
        let has_children = children_set(tables, e).is_some_and(|n| n >= 1.0);
        if let Some(p) = tables
            .get_mut(&e.parent)
            .filter(|p| p.count_method != "band")
        {
            if has_children && p.total_rows == 0 {
                p.total_rows = e.parents.max(1);
            }
        }
    }
    for e in edges.iter_mut() {
        // 2. One parent count.
        if let Some(p) = tables.get(&e.parent).filter(|p| p.count_method != "band") {
            e.parents = p.total_rows;
        }
        // 3. Parents with children between 1 and the children.
        let Some(children) = children_set(tables, e) else {
            continue;
        };
        if e.parents == 0 || children < 1.0 {
            continue;
        }
        let parents = e.parents as f64;
        let most = children.min(parents);
        let lowest = 1.0 - most / parents;
        let highest = 1.0 - 1.0 / parents;
        if e.zero_fraction >= 1.0 || e.zero_fraction < lowest {
            e.zero_fraction = round6(lowest);
        } else if e.zero_fraction > highest {
            e.zero_fraction = round6(highest);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pgshape_core::pack::ColumnMetrics;

    fn table(rows: u64, key_nulls: Option<(&str, f64)>) -> TableMetrics {
        let mut columns = BTreeMap::new();
        if let Some((c, nf)) = key_nulls {
            columns.insert(c.to_string(), ColumnMetrics::bare("key".into(), nf));
        }
        TableMetrics {
            total_rows: rows,
            count_method: "noisy".into(),
            window_column: None,
            window_rows: None,
            columns,
            privacy_unit: None,
            min_people: None,
            count_clip: None,
        }
    }

    fn edge(parents: u64, zero_fraction: f64) -> EdgeMetrics {
        EdgeMetrics {
            foreign_key: "c_p_fkey".into(),
            child: "s.c".into(),
            columns: vec!["p".into()],
            parent: "s.p".into(),
            ref_columns: vec!["id".into()],
            parents,
            zero_fraction,
            quantiles: BTreeMap::new(),
            histogram: Vec::new(),
            child_column: None,
            parent_column: None,
            offset_seconds: None,
            inter_arrival_seconds: None,
        }
    }

    fn run(parent_rows: u64, child_rows: u64, nulls: f64, e: EdgeMetrics) -> (u64, EdgeMetrics) {
        let mut tables: BTreeMap<String, TableMetrics> = [
            ("s.p".to_string(), table(parent_rows, None)),
            ("s.c".to_string(), table(child_rows, Some(("p", nulls)))),
        ]
        .into();
        let mut edges = vec![e];
        counts(&mut tables, &mut edges);
        (tables["s.p"].total_rows, edges.pop().unwrap())
    }

    #[test]
    fn a_parent_of_children_is_never_counted_empty_and_edges_take_its_count() {
        let (p, e) = run(0, 500, 0.0, edge(0, 0.0));
        assert_eq!((p, e.parents), (1, 1));
        let (p, e) = run(0, 500, 0.0, edge(40, 0.5));
        assert_eq!((p, e.parents), (40, 40));
        // No children (all keys NULL): a parent table of 0 rows stays so.
        let (p, _) = run(0, 500, 1.0, edge(0, 0.0));
        assert_eq!(p, 0);
        let (p, e) = run(1000, 500, 0.0, edge(700, 0.3));
        assert_eq!((p, e.parents, e.zero_fraction), (1000, 1000, 0.5));
    }

    #[test]
    fn zero_fractions_stay_within_what_the_counts_allow() {
        // Noise hid every parent with children: one child each.
        let (_, e) = run(1000, 250, 0.2, edge(900, 1.0));
        assert_eq!(e.zero_fraction, 0.8);
        // More parents with children than children: at most one each.
        let (_, e) = run(1000, 100, 0.0, edge(1000, 0.1));
        assert_eq!(e.zero_fraction, 0.9);
        // Below 1 parent with children: at least one.
        let (_, e) = run(1000, 5000, 0.0, edge(1000, 0.9999));
        assert_eq!(e.zero_fraction, 0.999);
        // Within the bounds: kept.
        let (_, e) = run(1000, 5000, 0.0, edge(1000, 0.25));
        assert_eq!(e.zero_fraction, 0.25);
    }
}
