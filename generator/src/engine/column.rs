//! One column of a group: what each generator of the spec does. Every generator draws from
//! the column's own stream, so a column never depends on another column's draws; the columns
//! it reads (a pick's `via`, a timestamp's `after`) are generated before it (see
//! `model::eval_order`).

mod keys;
mod own;
mod pick;
mod time;
mod tree;

use pgshape_core::rng::Stream;
use pgshape_core::Result;

use super::ascending::Ascending;
use super::model::{ColumnModel, Gen, Model, TableModel, ValueRef};
use super::nulls::{low_bits, NullStrata};
use super::value::{GroupBuf, RowCopy, Value};
use time::Room;
use tree::TreeCursor;

/// The groups of other tables a pick reads, regenerated on demand: implemented by the
/// engine's per-thread context (`group::Ctx`), which generates groups with this module, so
/// the arrow stays one way.
pub(crate) trait Groups {
    /// Group `g` of table `table`, generated whole.
    fn group(&mut self, model: &Model, table: usize, g: u64) -> Result<&GroupBuf>;
}

fn read_ref(r: ValueRef, row: usize, out: &GroupBuf, parent: Option<&RowCopy>) -> Value {
    match r {
        ValueRef::Own(c) => out.get(row, c),
        ValueRef::Parent(c) => parent.map_or(Value::Null, |p| p.values[c]),
    }
}

/// What one column carries from a segment of its group to the next: its stream, the values a
/// distinct generator has used, its timestamp room. A column generated segment by segment
/// therefore draws exactly what it would have drawn for the whole group at once.
pub(crate) struct ColState {
    s: Stream,
    used: Vec<i64>,
    room: Room,
    text_buf: String,
    ascending: Option<Ascending>,
    tree: TreeCursor,
}

impl ColState {
    pub(crate) fn new(col: &ColumnModel, group: u64) -> ColState {
        ColState {
            s: col.key.stream(group),
            used: Vec::new(),
            room: Room::default(),
            text_buf: String::new(),
            ascending: None,
            tree: TreeCursor::default(),
        }
    }
}

/// Whether row `row` of the table is NULL in `col`: stratified by blocks of rows (see
/// `nulls`), so the table holds `null_fraction · N` NULLs (rounded) whatever its size or its
/// groups' sizes, rather than a binomial count (a table of 1,300 rows at 0.56 would miss by
/// 0.014 on average). `out` keeps the column's current block.
fn is_null(col: &ColumnModel, row: u64, out: &mut GroupBuf) -> bool {
    match &col.null_strata {
        Some(strata) => strata.is_null(row, &mut out.null_cache),
        None => false,
    }
}

/// The rows of a buffer a column fills, in order: every row, or the rows its stratified NULLs
/// leave (a block's NULL bits read once, not a lookup per row). Each yields `is_null`'s
/// answer for its rows, so the column draws for the same rows in the same order.
struct Cells<'a> {
    strata: Option<&'a NullStrata>,
    rows: usize,
    /// The first row not yet looked at.
    next: usize,
    /// Rows `base + i` for the bits `i` of `live` still to yield.
    base: usize,
    live: u64,
}

impl<'a> Cells<'a> {
    fn new(c: &Col<'a>, out: &GroupBuf) -> Cells<'a> {
        Cells {
            strata: if c.nulls {
                c.col.null_strata.as_ref()
            } else {
                None
            },
            rows: out.rows,
            next: 0,
            base: 0,
            live: 0,
        }
    }

    /// The next row to fill.
    #[inline(always)]
    fn next(&mut self, out: &mut GroupBuf) -> Option<usize> {
        let Some(strata) = self.strata else {
            let r = self.next;
            self.next += 1;
            return (r < self.rows).then_some(r);
        };
        loop {
            if self.live != 0 {
                let i = self.live.trailing_zeros() as usize;
                self.live &= self.live - 1;
                return Some(self.base + i);
            }
            if self.next >= self.rows {
                return None;
            }
            let (nulls, n) =
                strata.nulls_from(out.first_row + self.next as u64, &mut out.null_cache);
            let n = (n as usize).min(self.rows - self.next);
            self.base = self.next;
            self.live = !nulls & low_bits(n as u64);
            self.next += n;
        }
    }
}

/// Row `r` of column `ci` set to what its cell came to.
#[inline]
fn apply(out: &mut GroupBuf, r: usize, ci: usize, cell: Cell) {
    match cell {
        Cell::Value(v) => out.set(r, ci, v),
        Cell::Null => {}
        Cell::Dropped => out.drop_row(r),
    }
}

/// Whether a column's values are sorted over the whole group after they are drawn: ascending
/// timestamps after a time of their own row (each row has its own base, so they cannot be
/// drawn in order). Other ascending timestamps are drawn in order, segment by segment.
pub(crate) fn sorts_whole(gen: &Gen) -> bool {
    matches!(
        gen,
        Gen::Timestamp {
            ascending: true,
            after: Some(ValueRef::Own(_)),
            ..
        }
    )
}

/// What one row's cell comes to.
enum Cell {
    Value(Value),
    /// Left NULL (a NULL it reads, no earlier row, nothing to pick from).
    Null,
    /// The row is dropped (a distinct pick or reference ran out of values).
    Dropped,
}

/// The column being generated and what it reads.
struct Col<'a> {
    model: &'a Model,
    t: &'a TableModel,
    col: &'a ColumnModel,
    ci: usize,
    parent: Option<&'a RowCopy>,
    /// Whether the column's NULLs are drawn (a tree's roots are not: see `gen_column`).
    nulls: bool,
}

/// Generates column `ci` for the rows of `out` (a whole group, or the next segment of one),
/// continuing `st`. An ascending timestamp column is sorted over the group, so it is only ever
/// generated for a whole group.
pub(crate) fn gen_column(
    model: &Model,
    t: &TableModel,
    ci: usize,
    parent: Option<&RowCopy>,
    groups: &mut dyn Groups,
    out: &mut GroupBuf,
    st: &mut ColState,
) -> Result<()> {
    let col: &ColumnModel = &t.columns[ci];
    // A tree's roots are the rows no earlier row has room for: its nulls are not drawn.
    let nulls = col.null_fraction > 0.0 && !matches!(col.gen, Gen::Earlier { tree: Some(_), .. });
    let c = Col {
        model,
        t,
        col,
        ci,
        parent,
        nulls,
    };
    if matches!(
        col.gen,
        Gen::Timestamp {
            ascending: true,
            ..
        }
    ) && !sorts_whole(&col.gen)
    {
        time::ascending_in_order(&c, out, st);
        return Ok(());
    }
    if let Some(length) = &col.array {
        own::array(&c, length, out, st);
        return Ok(());
    }
    // NULL rows are skipped (already Null). The common generators get a loop of their own
    // rather than a dispatch per cell.
    let mut cells = Cells::new(&c, out);
    match &col.gen {
        Gen::Sequence { start, step } => {
            while let Some(r) = cells.next(out) {
                let v = start + step * (out.first_row + r as u64) as i64;
                out.set(r, ci, Value::Int(v));
            }
        }
        Gen::ParentKey { column } => {
            let v = parent.map_or(Value::Null, |p| p.values[*column]);
            while let Some(r) = cells.next(out) {
                out.set(r, ci, v);
            }
        }
        Gen::Pick { .. } => pick::pick_cells(&c, &mut cells, out, st, groups)?,
        Gen::Text {
            corpus: Some(corpus),
            length,
            ..
        } => {
            while let Some(r) = cells.next(out) {
                let v = own::corpus_text(corpus, length, &mut st.s, out);
                out.set(r, ci, v);
            }
        }
        _ => {
            while let Some(r) = cells.next(out) {
                let cell = cell(&c, r, out, st)?;
                apply(out, r, ci, cell);
            }
        }
    }
    if sorts_whole(&col.gen) {
        time::sort_group(out, ci);
    }
    Ok(())
}

/// Row `r`'s cell, by generator kind.
fn cell(c: &Col<'_>, r: usize, out: &mut GroupBuf, st: &mut ColState) -> Result<Cell> {
    Ok(match &c.col.gen {
        Gen::Sequence { .. } | Gen::ParentKey { .. } | Gen::Pick { .. } => {
            unreachable!("generated by gen_column's own loops")
        }
        Gen::Reference { .. } => keys::reference(c, r, out, st),
        Gen::Earlier { tree: Some(_), .. } => keys::earlier_tree(c, r, out, st),
        Gen::Earlier { start, step, .. } => keys::earlier(*start, *step, r, out, &mut st.s),
        Gen::Timestamp { .. } => time::timestamp_cell(c, r, out, st),
        Gen::Number { .. }
        | Gen::Category { .. }
        | Gen::Text { .. }
        | Gen::Boolean { .. }
        | Gen::Uuid
        | Gen::Bytes { .. }
        | Gen::Inet { .. }
        | Gen::Json { .. } => Cell::Value(own::own_value(
            c.col,
            &mut st.s,
            c.model,
            out,
            &mut st.text_buf,
            &mut st.room,
            Some(out.first_row + r as u64),
        )),
    })
}

#[cfg(test)]
mod tests {
    use super::own::json_object;
    use super::tree::TreeCursor;
    use pgshape_core::dist::Compiled;
    use pgshape_core::dist::Dist;
    use pgshape_core::rng::Seed;

    #[test]
    fn a_json_object_has_the_drawn_length_and_reads_as_json() {
        let mut s = Seed::new("t").key("t", "c").stream(0);
        for len in [0, 5, 10, 11, 12, 15, 16, 30, 57, 120, 400, 3000] {
            let mut out = String::new();
            json_object(&mut out, &mut s, len);
            let v: serde_json::Value = serde_json::from_str(&out).expect("valid JSON");
            assert!(v.is_object(), "{out}");
            if len >= 11 {
                assert_eq!(out.len(), len, "{out}");
            } else {
                assert_eq!(out, "{}");
            }
        }
    }

    /// Blocks of every size are valid forests (each parent before its child, at least one
    /// root, every place filled) whose children per row follow the fan-out: the childless
    /// share and the roots come out of the stratified counts, not out of luck.
    #[test]
    fn tree_blocks_are_forests_with_the_fanouts_counts() {
        let fanout = Dist::Quantiles(vec![[0.0, 1.0], [0.5, 4.0], [1.0, 32.0]]);
        let compiled = Compiled::new(&fanout);
        let zero = 0.9;
        let key = Seed::new("tree").key("t", "c");
        for (g, len) in (1..40).chain([500, 1024]).enumerate() {
            let mut s = key.stream(g as u64);
            let mut t = TreeCursor::default();
            t.start(&mut s, 0, len, &compiled, zero);
            let mut children = vec![0u32; len];
            let mut roots = 0;
            for i in 0..len {
                match t.parent_of(i) {
                    Some(p) => {
                        assert!(p < i, "block {len}: row {i} under {p}");
                        children[p] += 1;
                    }
                    None => roots += 1,
                }
            }
            assert!(roots >= 1, "block {len}: no root");
            assert_eq!(t.left, 0, "block {len}: places left");
            assert_eq!(children, t.counts, "block {len}: counts kept");
            if len >= 500 {
                let childless = children.iter().filter(|&&c| c == 0).count() as f64;
                assert!((childless / len as f64 - zero).abs() < 0.002, "{childless}");
                // Roots: 1 - (1 - z) * mean fan-out, up to the rounding draws.
                let want = 1.0 - (1.0 - zero) * fanout.mean();
                let got = roots as f64 / len as f64;
                assert!((got - want).abs() < 0.02, "roots {got} vs {want}");
                let mut with: Vec<u32> = children.into_iter().filter(|&c| c > 0).collect();
                with.sort_unstable();
                let median = with[with.len() / 2] as f64;
                assert!((median - 4.0).abs() <= 1.0, "median {median}");
            }
        }
    }
}
