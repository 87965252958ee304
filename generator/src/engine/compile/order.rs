//! Evaluation order of a table's columns and load order of the tables.

use pgshape_core::{Error, Result};

use crate::engine::model::{refs, ColumnModel, Gen, TableModel, ValueRef};

/// Columns ordered so that each comes after the own columns it reads; `earlier` goes last so
/// it only points at rows that survived distinct picks.
pub(super) fn eval_order(table: &str, columns: &[ColumnModel]) -> Result<Vec<usize>> {
    let deps = |c: &ColumnModel| -> Vec<usize> {
        refs(&c.gen)
            .into_iter()
            .filter_map(|r| match r {
                ValueRef::Own(i) => Some(i),
                ValueRef::Parent(_) => None,
            })
            .collect()
    };
    let mut order: Vec<usize> = Vec::new();
    let mut placed = vec![false; columns.len()];
    let is_last = |c: &ColumnModel| matches!(c.gen, Gen::Earlier { .. });
    for pass in 0..2 {
        loop {
            let next = (0..columns.len()).find(|&i| {
                !placed[i]
                    && (pass == 1 || !is_last(&columns[i]))
                    && deps(&columns[i]).iter().all(|&d| placed[d])
            });
            match next {
                Some(i) => {
                    placed[i] = true;
                    order.push(i);
                }
                None => break,
            }
        }
    }
    if order.len() != columns.len() {
        return Err(Error::Unsupported(format!(
            "table {table}: columns read each other in a cycle"
        )));
    }
    Ok(order)
}

/// The tables a table reads: its parent, reference targets and pick sources.
pub(super) fn table_deps(t: &TableModel) -> Vec<usize> {
    let mut d: Vec<usize> = t.parent.into_iter().collect();
    for c in &t.columns {
        match c.gen {
            Gen::Reference { table, .. } | Gen::Pick { table, .. } => d.push(table),
            _ => {}
        }
    }
    d
}

/// Tables ordered so parents, reference targets and pick sources come first. A cycle through
/// references (a foreign-key cycle) is broken at a reference: a reference reads only the
/// target's row count, never its rows, so its target may come later (the loader adds foreign
/// keys after the rows). Parents and pick sources cannot.
pub(super) fn table_order(tables: &[TableModel]) -> Result<Vec<usize>> {
    let deps = table_deps;
    let hard = |t: &TableModel| -> Vec<usize> {
        let mut d: Vec<usize> = t.parent.into_iter().collect();
        for c in &t.columns {
            if let Gen::Pick { table, .. } = c.gen {
                d.push(table);
            }
        }
        d
    };
    let mut order = Vec::new();
    let mut placed = vec![false; tables.len()];
    while order.len() < tables.len() {
        let ready = |i: usize, d: Vec<usize>| !placed[i] && d.iter().all(|&d| placed[d] || d == i);
        let next = (0..tables.len())
            .find(|&i| ready(i, deps(&tables[i])))
            .or_else(|| (0..tables.len()).find(|&i| ready(i, hard(&tables[i]))));
        match next {
            Some(i) => {
                placed[i] = true;
                order.push(i);
            }
            None => {
                let left: Vec<&str> = (0..tables.len())
                    .filter(|&i| !placed[i])
                    .map(|i| tables[i].name.as_str())
                    .collect();
                return Err(Error::Unsupported(format!(
                    "tables {} depend on each other in a cycle of parents and picks; break it with a reference",
                    left.join(", ")
                )));
            }
        }
    }
    Ok(order)
}
