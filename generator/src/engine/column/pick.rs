//! A `pick`: a value of a related group (a message's sender among its conversation's
//! participants), read from that group regenerated into the thread's cache.

use pgshape_core::{Error, Result};

use super::{apply, read_ref, Cell, Cells, Col, ColState, Groups};
use crate::engine::model::Gen;
use crate::engine::value::{GroupBuf, Value};

/// The picks of a column's rows (`cells`). Consecutive rows under the same key read the same
/// group, which is looked up in the thread's cache once for them, not once per row.
pub(super) fn pick_cells(
    c: &Col<'_>,
    cells: &mut Cells<'_>,
    out: &mut GroupBuf,
    st: &mut ColState,
    groups: &mut dyn Groups,
) -> Result<()> {
    let Gen::Pick {
        table,
        via,
        via_start,
        via_step,
        ..
    } = &c.col.gen
    else {
        unreachable!("called for picks")
    };
    let mut src: Option<(u64, &GroupBuf)> = None;
    while let Some(r) = cells.next(out) {
        let key = match read_ref(*via, r, out, c.parent) {
            Value::Int(k) => k,
            _ => continue, // NULL
        };
        let g = ((key - via_start) / via_step) as u64;
        let group = match src {
            Some((at, group)) if at == g => group,
            _ => {
                let group = groups.group(c.model, *table, g)?;
                src = Some((g, group));
                group
            }
        };
        let cell = pick(c, r, out, st, group, g)?;
        apply(out, r, c.ci, cell);
    }
    Ok(())
}

/// Row `r`'s pick from `src` (group `g` of the pick's table): up to 16 random draws among
/// the group's live rows, then one among those left that are allowed (not excluded, not used
/// by a distinct pick).
fn pick(
    c: &Col<'_>,
    r: usize,
    out: &mut GroupBuf,
    st: &mut ColState,
    src: &GroupBuf,
    g: u64,
) -> Result<Cell> {
    let Gen::Pick {
        table,
        column,
        exclude,
        distinct,
        ..
    } = &c.col.gen
    else {
        unreachable!("called for picks")
    };
    let (s, used) = (&mut st.s, &mut st.used);
    let ok = |v: Value| -> bool {
        let taken = *distinct && matches!(v, Value::Int(i) if used.contains(&i));
        let excluded = exclude.iter().any(|e| read_ref(*e, r, out, c.parent) == v);
        !(excluded || taken)
    };
    // Most picks exclude nothing and may repeat: every value is allowed, with no test.
    let any = !*distinct && exclude.is_empty();
    let live = src.live_count();
    let mut chosen = None;
    if live > 0 {
        for _ in 0..16 {
            let v = src.get(src.nth_live(s.below(live as u64) as usize), *column);
            if any || ok(v) {
                chosen = Some(v);
                break;
            }
        }
        if chosen.is_none() {
            let left: Vec<Value> = src
                .live_rows()
                .map(|i| src.get(i, *column))
                .filter(|v| ok(*v))
                .collect();
            if !left.is_empty() {
                chosen = Some(left[s.below(left.len() as u64) as usize]);
            }
        }
    }
    match chosen {
        Some(v) => {
            if let Value::Int(i) = v {
                if *distinct {
                    used.push(i);
                }
            }
            Ok(Cell::Value(src.copy_into(*column, v, out)))
        }
        None if *distinct => Ok(Cell::Dropped),
        // A nullable pick with nothing to pick from is NULL.
        None if c.nulls => Ok(Cell::Null),
        None => Err(Error::Unsupported(format!(
            "table {}, column {}: group {} of {} has nothing to pick from; give {} a fan-out of at least one row per parent",
            c.t.name, c.col.name, g, c.model.tables[*table].name, c.model.tables[*table].name
        ))),
    }
}
