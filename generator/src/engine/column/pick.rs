//! A `pick`: a value of a related group (a message's sender among its conversation's
//! participants), read from that group regenerated into the thread's cache.

use pgshape_core::{Error, Result};

use super::{read_ref, Cell, Col, ColState, Groups};
use crate::engine::model::Gen;
use crate::engine::value::{GroupBuf, Value};

/// Row `r`'s pick: up to 16 random draws among the group's live rows, then one among those
/// left that are allowed (not excluded, not used by a distinct pick).
pub(super) fn pick(
    c: &Col<'_>,
    r: usize,
    out: &mut GroupBuf,
    st: &mut ColState,
    groups: &mut dyn Groups,
) -> Result<Cell> {
    let Gen::Pick {
        table,
        column,
        via,
        via_start,
        via_step,
        exclude,
        distinct,
    } = &c.col.gen
    else {
        unreachable!("called for picks")
    };
    let key = match read_ref(*via, r, out, c.parent) {
        Value::Int(k) => k,
        _ => return Ok(Cell::Null),
    };
    let g = ((key - via_start) / via_step) as u64;
    let src = groups.group(c.model, *table, g)?;
    let (s, used) = (&mut st.s, &mut st.used);
    let ok = |v: Value| -> bool {
        let taken = *distinct && matches!(v, Value::Int(i) if used.contains(&i));
        let excluded = exclude.iter().any(|e| read_ref(*e, r, out, c.parent) == v);
        !(excluded || taken)
    };
    let live = src.live_count();
    let mut chosen = None;
    if live > 0 {
        for _ in 0..16 {
            let v = src.get(src.nth_live(s.below(live as u64) as usize), *column);
            if ok(v) {
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
