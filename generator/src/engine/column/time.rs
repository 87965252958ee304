//! Timestamps: after a base time by an offset (or uniform in the window), thinned by the
//! hourly and weekday profiles. An offset under a day keeps the base's hour and weekday: the
//! profiles shape the day and hour of times a day or more after their base, and of times
//! without one.

use pgshape_core::rng::Stream;

use super::{is_null, read_ref, Cell, Col, ColState};
use crate::engine::ascending::Ascending;
use pgshape_core::dist::Compiled;

use crate::engine::model::{Gen, Model, ValueRef};
use crate::engine::value::{GroupBuf, Value};

const US_PER_SEC: f64 = 1_000_000.0;

/// The share of an offset distribution that stays inside the window after a base time: rows
/// of a group share their base, so it is computed once per base.
#[derive(Default)]
pub(super) struct Room {
    base: Option<i64>,
    u_max: Option<f64>,
}

/// A timestamp after `base` by `offset` seconds (or uniform in the window), thinned by the
/// hourly and weekday profiles. Offsets are drawn from the part of their distribution that
/// ends inside the window (inverse transform on [0, F(end - base))), so nothing piles up at
/// the window's end.
pub(super) fn timestamp(
    s: &mut Stream,
    model: &Model,
    base: Option<i64>,
    offset: Option<&pgshape_core::dist::Compiled>,
    hourly: Option<&[f64; 24]>,
    weekly: Option<&[f64; 7]>,
    room: &mut Room,
) -> i64 {
    let (start, end) = (model.window_start, model.window_end);
    if room.base != base {
        room.base = base;
        room.u_max = None;
    }
    let mut candidate = 0;
    for _ in 0..64 {
        candidate = match (base, offset) {
            (Some(b), Some(d)) => {
                let u = s.unit() * room.u_max.unwrap_or(1.0);
                let c = b + (d.quantile(u) * US_PER_SEC) as i64;
                if c > end && b < end && room.u_max.is_none() {
                    // Only for bases near the window's end: find the share that fits, redraw.
                    let fit = d.cdf((end - b) as f64 / US_PER_SEC);
                    room.u_max = Some(if fit > 0.0 { fit } else { 1.0 });
                    continue;
                }
                if c - b < DAY_US {
                    // Within a day of its base the time is the base's plus the offset: its
                    // hour and weekday are the base's (as a read follows its message), not
                    // drawn again from the profile (which would put it at an hour the base's
                    // day has not reached yet, or thin its weekday twice).
                    return c;
                }
                c
            }
            _ => start + (s.unit() * (end - start) as f64) as i64,
        };
        let day = candidate.div_euclid(DAY_US);
        if let Some(h) = hourly {
            // The offset (or the window) chooses the day; the profile chooses the hour, so the
            // hour mix follows the profile whatever the offsets' shape.
            let hour = pick_weighted(h, s.unit());
            candidate =
                day * DAY_US + hour as i64 * 3_600_000_000 + (s.unit() * 3_600_000_000.0) as i64;
            if base.is_some_and(|b| candidate < b)
                || (base.is_none() && candidate < start)
                || (candidate > end && base.is_none_or(|b| b <= end))
            {
                continue;
            }
        }
        let dow = (day + 3).rem_euclid(7) as usize; // 1970-01-01 was a Thursday; Monday = 0
        if weekly.is_none_or(|w| w[dow] >= 1.0 || s.unit() < w[dow]) {
            return candidate;
        }
    }
    match base {
        Some(b) => candidate.clamp(b, end.max(b)),
        None => candidate.clamp(start, end),
    }
}

const DAY_US: i64 = 86_400_000_000;

/// The index whose cumulative weight first exceeds `u` times the total.
fn pick_weighted(w: &[f64], u: f64) -> usize {
    let total: f64 = w.iter().sum();
    let mut acc = 0.0;
    for (i, x) in w.iter().enumerate() {
        acc += x;
        if u * total < acc {
            return i;
        }
    }
    w.len() - 1
}

/// A timestamp generator's parameters.
struct Profile<'a> {
    after: Option<ValueRef>,
    offset: Option<&'a Compiled>,
    hourly: Option<&'a [f64; 24]>,
    weekly: Option<&'a [f64; 7]>,
}

impl Profile<'_> {
    fn of(gen: &Gen) -> Profile<'_> {
        let Gen::Timestamp {
            after,
            offset,
            hourly,
            weekly,
            ..
        } = gen
        else {
            unreachable!("called for timestamps")
        };
        Profile {
            after: *after,
            offset: offset.as_ref(),
            hourly: hourly.as_deref(),
            weekly: weekly.as_ref(),
        }
    }
}

/// An ascending timestamp column drawn in order (see `ascending`): every row draws its value,
/// NULL or not, so the group's values are its size's order statistics whatever the NULLs.
pub(super) fn ascending_in_order(c: &Col<'_>, out: &mut GroupBuf, st: &mut ColState) {
    let p = Profile::of(&c.col.gen);
    let after = p.after;
    for r in 0..out.rows {
        let null = c.nulls && is_null(c.col, out.first_row + r as u64, out);
        let asc = st.ascending.get_or_insert_with(|| {
            let base = after.map(|a| match read_ref(a, r, out, c.parent) {
                Value::Ts(us) => Some(us),
                _ => None,
            });
            Ascending::new(
                out.group_rows as u64,
                base.flatten(),
                (c.model.window_start, c.model.window_end),
                p.offset,
                p.hourly,
                p.weekly,
            )
        });
        let v = asc.next(&mut st.s);
        let parent_null =
            after.is_some_and(|a| !matches!(read_ref(a, r, out, c.parent), Value::Ts(_)));
        if !null && !parent_null {
            out.set(r, c.ci, Value::Ts(v));
        }
    }
}

/// Row `r`'s timestamp: after the time it reads (NULL when that is NULL) or in the window.
pub(super) fn timestamp_cell(c: &Col<'_>, r: usize, out: &GroupBuf, st: &mut ColState) -> Cell {
    let p = Profile::of(&c.col.gen);
    let base = match p.after {
        Some(a) => match read_ref(a, r, out, c.parent) {
            Value::Ts(us) => Some(us),
            _ => return Cell::Null,
        },
        None => None,
    };
    Cell::Value(Value::Ts(timestamp(
        &mut st.s,
        c.model,
        base,
        p.offset,
        p.hourly,
        p.weekly,
        &mut st.room,
    )))
}

/// Sorts column `ci`'s timestamps over the whole group, NULLs left in place.
pub(super) fn sort_group(out: &mut GroupBuf, ci: usize) {
    assert!(
        out.base == 0 && out.ends_group(),
        "an ascending timestamp column is generated for its whole group"
    );
    let mut ts: Vec<i64> = (0..out.rows)
        .filter_map(|r| match out.get(r, ci) {
            Value::Ts(v) => Some(v),
            _ => None,
        })
        .collect();
    ts.sort_unstable();
    let mut it = ts.into_iter();
    for r in 0..out.rows {
        if let Value::Ts(_) = out.get(r, ci) {
            out.set(r, ci, Value::Ts(it.next().expect("same count")));
        }
    }
}
