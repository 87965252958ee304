//! Key generators: a sequence, a reference to another table's key (by popularity, Zipf or
//! uniform), an `earlier` row of the same group (recent rows likelier, or a forest).

use pgshape_core::rng::Stream;

use super::tree::TREE_BLOCK;
use super::{Cell, Col, ColState};
use crate::engine::model::Gen;
use crate::engine::popularity::Popularity;
use crate::engine::value::{GroupBuf, Value};

/// A referenced row's key. Popularity: row i takes the stratum (π(i) + ½) / N of the curve,
/// so the table's N rows split over the referenced rows exactly in the curve's proportions
/// (no Poisson noise: a referenced row expecting λ referrers gets ⌊λ⌋ or ⌈λ⌉, never 0 when
/// λ ≥ 1). Redraws (distinct) are random.
pub(super) fn reference(c: &Col<'_>, r: usize, out: &mut GroupBuf, st: &mut ColState) -> Cell {
    let Gen::Reference {
        table,
        start,
        step,
        zipf,
        popularity,
        strata,
        distinct,
    } = &c.col.gen
    else {
        unreachable!("called for references")
    };
    let s = &mut st.s;
    let rows = c.model.tables[*table].plan.rows;
    let by_rank = |p: &Popularity, u: f64| {
        let rank = ((p.rank(u) * rows as f64) as u64).min(rows.max(1) - 1);
        start + step * spread(rank, rows) as i64
    };
    let mut v = match (popularity, strata) {
        (Some(p), Some(perm)) => {
            let n = c.t.plan.rows.max(1);
            let i = (out.first_row + r as u64).min(n - 1);
            by_rank(p, (perm.apply(i) as f64 + 0.5) / n as f64)
        }
        (Some(p), None) => by_rank(p, s.unit()),
        (None, _) => start + step * popular_index(s, rows, *zipf) as i64,
    };
    let mut pick = || match popularity {
        Some(p) => by_rank(p, s.unit()),
        None => start + step * popular_index(s, rows, *zipf) as i64,
    };
    if *distinct {
        let used = &mut st.used;
        let mut tries = 0;
        while used.contains(&v) && tries < 64 {
            v = pick();
            tries += 1;
        }
        if used.contains(&v) {
            return Cell::Dropped;
        }
        used.push(v);
    }
    Cell::Value(Value::Int(v))
}

/// An earlier row of the same group in a breadth-first forest per block of the group (see
/// `TreeCursor`). A target that was dropped (distinct columns) leaves the row a root.
pub(super) fn earlier_tree(c: &Col<'_>, r: usize, out: &GroupBuf, st: &mut ColState) -> Cell {
    let Gen::Earlier {
        start,
        step,
        tree: Some((fanout, zero)),
    } = &c.col.gen
    else {
        unreachable!("called for earlier trees")
    };
    let tree = &mut st.tree;
    let rg = out.base + r;
    if rg == 0 || rg >= tree.start + tree.len {
        let len = TREE_BLOCK.min(out.group_rows - rg);
        tree.start(&mut st.s, rg, len, fanout, *zero);
    }
    let Some(p) = tree.parent_of(rg - tree.start) else {
        return Cell::Null;
    };
    earlier_key(*start, *step, out, tree.start + p)
}

/// An earlier row of the same group, recent rows likelier: j = r-1-floor(r·u³).
pub(super) fn earlier(start: i64, step: i64, r: usize, out: &GroupBuf, s: &mut Stream) -> Cell {
    // Row and target as indexes in the group (the buffer may be a segment of it).
    let rg = out.base + r;
    if rg == 0 {
        return Cell::Null;
    }
    let u = s.unit();
    let j = rg - 1 - ((rg as f64) * u * u * u) as usize;
    earlier_key(start, step, out, j)
}

/// The key of group row `j`, NULL when a distinct column dropped it. Only groups that cannot
/// drop rows are segmented: a target before the segment is live.
fn earlier_key(start: i64, step: i64, out: &GroupBuf, j: usize) -> Cell {
    if j >= out.base && out.is_dropped(j - out.base) {
        return Cell::Null;
    }
    Cell::Value(Value::Int(
        start + step * (out.first_row - out.base as u64 + j as u64) as i64,
    ))
}

/// A row index in [0, rows) with Zipf-like popularity (exponent `zipf`, 0 = uniform); the
/// popular ranks are spread over the key range by a fixed affine permutation.
pub(super) fn popular_index(s: &mut Stream, rows: u64, zipf: f64) -> u64 {
    if rows <= 1 {
        return 0;
    }
    let u = s.unit();
    let rank = if zipf <= 0.0 {
        (u * rows as f64) as u64
    } else {
        let n = rows as f64;
        let x = if (zipf - 1.0).abs() < 1e-9 {
            libm::pow(n, u)
        } else {
            let a = 1.0 - zipf;
            libm::pow((libm::pow(n, a) - 1.0) * u + 1.0, 1.0 / a)
        };
        (x as u64).saturating_sub(1)
    }
    .min(rows - 1);
    spread(rank, rows)
}

/// Popularity rank `rank` (0 = most popular) to a row index: an affine map with a multiplier
/// coprime to `rows` is a bijection of [0, rows) that spreads hot rows over the key range.
fn spread(rank: u64, rows: u64) -> u64 {
    if rows <= 1 {
        return 0;
    }
    let mut mult = 0x9E37_79B9_7F4A_7C15u64 % rows;
    while gcd(mult, rows) != 1 {
        mult += 1;
    }
    ((rank as u128 * mult as u128 + (rows / 3) as u128) % rows as u128) as u64
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}
