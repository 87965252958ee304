//! Group generation, the per-thread caches picks read from, and cursors. What each generator
//! does for one column lives in `column`.
//!
//! A group (a root block, or the children of one parent row) is generated column by column;
//! each column draws from its own stream `(seed, table, column)` at stream number = group, so a
//! column's values never depend on another column's draws, on chunking or on threads. A large
//! group is generated in segments ([`GroupGen`]) with the same values.

use pgshape_core::{Error, Result};

use super::column::{gen_column, sorts_whole, ColState, Groups};
use super::model::{Gen, Model, TableModel, ROOT_BLOCK};
use super::value::{GroupBuf, RowCopy};

/// Per-thread caches for random access: the last group generated of each table.
pub(crate) struct Ctx {
    slots: Vec<Option<GroupBuf>>,
    scratch_parent: Vec<RowCopy>,
    /// A chunk's group buffer and output buffer, kept from one chunk to the next: allocating
    /// them per chunk left the allocator's heap fragmented, and peak memory crept up with the
    /// number of chunks.
    pub(crate) chunk_buf: GroupBuf,
    pub(crate) out_buf: Vec<u8>,
}

impl Ctx {
    pub(crate) fn new(model: &Model) -> Ctx {
        Ctx {
            slots: vec![None; model.tables.len()],
            scratch_parent: vec![RowCopy::default(); model.tables.len()],
            chunk_buf: GroupBuf::default(),
            out_buf: Vec::new(),
        }
    }

    /// Makes sure the cache of table `ti` holds group `g`.
    fn ensure_group(&mut self, model: &Model, ti: usize, g: u64) -> Result<()> {
        if self.slots[ti]
            .as_ref()
            .is_some_and(|b| b.group == g && b.cols() > 0)
        {
            return Ok(());
        }
        let t = &model.tables[ti];
        let mut buf = self.slots[ti].take().unwrap_or_default();
        let parent = match t.parent {
            None => None,
            Some(p) => {
                if model.tables[p].parent.is_some() {
                    return Err(Error::Unsupported(format!(
                        "table {}: picks read it by group, which needs its parent {} to be a root table",
                        t.name, model.tables[p].name
                    )));
                }
                self.ensure_group(model, p, g / ROOT_BLOCK)?;
                let mut row = std::mem::take(&mut self.scratch_parent[ti]);
                row.fill(
                    self.slots[p].as_ref().expect("ensured"),
                    (g % ROOT_BLOCK) as usize,
                );
                Some(row)
            }
        };
        let first_row = if t.needs_first_row() {
            t.plan.group_first_row(g)
        } else {
            0
        };
        let res = generate_group(model, ti, g, first_row, parent.as_ref(), self, &mut buf);
        if let Some(row) = parent {
            self.scratch_parent[ti] = row;
        }
        self.slots[ti] = Some(buf);
        res
    }
}

impl Groups for Ctx {
    fn group(&mut self, model: &Model, table: usize, g: u64) -> Result<&GroupBuf> {
        self.ensure_group(model, table, g)?;
        Ok(self.slots[table].as_ref().expect("ensured"))
    }
}

impl TableModel {
    /// Whether generation reads the group's first row index (sequences, earlier references,
    /// unique text, references stratified by popularity, null fractions: a table of such
    /// columns read by a pick pays a scan of its chunk's counts per group it regenerates).
    pub fn needs_first_row(&self) -> bool {
        self.columns.iter().any(|c| {
            c.null_fraction > 0.0
                || matches!(
                    c.gen,
                    Gen::Sequence { .. }
                        | Gen::Earlier { .. }
                        | Gen::Text { unique: true, .. }
                        | Gen::Reference {
                            strata: Some(_),
                            ..
                        }
                )
        })
    }
}

/// Generates group `g` of table `ti` into `out`, whole (random access: a pick's source).
/// `parent` is the parent row for child tables.
fn generate_group(
    model: &Model,
    ti: usize,
    g: u64,
    first_row: u64,
    parent: Option<&RowCopy>,
    ctx: &mut Ctx,
    out: &mut GroupBuf,
) -> Result<()> {
    let mut gen = GroupGen::start(model, ti, g, first_row, parent, ctx, None, false)?;
    gen.next(model, parent, ctx, out)?;
    Ok(())
}

/// One group generated segment by segment: a group of more than `model.segment_rows` rows is
/// handed out in segments of that many, each column carrying its stream from one segment to
/// the next (`column::ColState`), so the rows are exactly those of the whole group and memory is
/// bounded by the segment, not by the group (the chat spec's largest conversation has 150,000
/// messages). Columns that need the whole group — ascending timestamps after a time of their
/// own row, sorted over it, and what they read — are generated whole once and copied out
/// segment by segment (other ascending timestamps are drawn in order: see `ascending`). Groups whose
/// rows may be dropped (distinct picks) are never segmented: a later row reads which earlier
/// ones were dropped.
pub struct GroupGen {
    ti: usize,
    g: u64,
    first_row: u64,
    rows: usize,
    next: usize,
    done: bool,
    segment: usize,
    mask: Option<Vec<bool>>,
    states: Vec<Option<ColState>>,
    whole: Option<GroupBuf>,
    whole_mask: Vec<bool>,
}

impl GroupGen {
    /// Starts group `g` of table `ti`; `segmented` allows segments (random access needs whole
    /// groups).
    #[allow(clippy::too_many_arguments)]
    pub fn start(
        model: &Model,
        ti: usize,
        g: u64,
        first_row: u64,
        parent: Option<&RowCopy>,
        ctx: &mut Ctx,
        mask: Option<&[bool]>,
        segmented: bool,
    ) -> Result<GroupGen> {
        let t = &model.tables[ti];
        let rows = t.plan.group_rows(g) as usize;
        let segmented = segmented && !t.may_drop && rows > model.segment_rows;
        let wanted = |ci: usize| mask.is_none_or(|m| m[ci]);
        let mut whole_mask = vec![false; t.columns.len()];
        let mut whole = None;
        if segmented {
            for (ci, c) in t.columns.iter().enumerate() {
                if wanted(ci) && sorts_whole(&c.gen) {
                    whole_mask[ci] = true;
                }
            }
            t.close_mask(&mut whole_mask);
            if whole_mask.iter().any(|&w| w) {
                let mut buf = GroupBuf::default();
                buf.reset(g, first_row, rows, &t.corpora, Some(&whole_mask));
                for &ci in &t.eval_order {
                    if whole_mask[ci] {
                        let mut st = ColState::new(&t.columns[ci], g);
                        gen_column(model, t, ci, parent, ctx, &mut buf, &mut st)?;
                    }
                }
                whole = Some(buf);
            }
        }
        let states = t
            .columns
            .iter()
            .enumerate()
            .map(|(ci, c)| (wanted(ci) && !whole_mask[ci]).then(|| ColState::new(c, g)))
            .collect();
        Ok(GroupGen {
            ti,
            g,
            first_row,
            rows,
            next: 0,
            done: false,
            segment: if segmented { model.segment_rows } else { rows },
            mask: mask.map(<[bool]>::to_vec),
            states,
            whole,
            whole_mask,
        })
    }

    /// The group's rows.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Generates the next segment into `out` (a group of no rows has one, empty); false when
    /// the group is done. `parent` is the same parent row as at the start.
    pub fn next(
        &mut self,
        model: &Model,
        parent: Option<&RowCopy>,
        ctx: &mut Ctx,
        out: &mut GroupBuf,
    ) -> Result<bool> {
        if self.done {
            return Ok(false);
        }
        let t = &model.tables[self.ti];
        let base = self.next;
        let rows = (self.rows - base).min(self.segment);
        out.reset(
            self.g,
            self.first_row + base as u64,
            rows,
            &t.corpora,
            self.mask.as_deref(),
        );
        out.base = base;
        out.group_rows = self.rows;
        for &ci in &t.eval_order {
            if self.whole_mask[ci] {
                let whole = self.whole.as_ref().expect("generated at the start");
                for r in 0..rows {
                    let v = whole.copy_into(ci, whole.get(base + r, ci), out);
                    out.set(r, ci, v);
                }
            } else if let Some(st) = &mut self.states[ci] {
                gen_column(model, t, ci, parent, ctx, out, st)?;
            }
        }
        self.next += rows;
        self.done = self.next >= self.rows;
        Ok(true)
    }
}

/// Walks the rows of a table from any row, generating groups (segment by segment) as it goes,
/// and its parent's, recursively. Used to feed children with their parent rows in order.
pub struct Cursor {
    ti: usize,
    mask: Vec<bool>,
    group: u64,
    pos: usize,
    buf: GroupBuf,
    gen: Option<GroupGen>,
    next_first_row: u64,
    parent: Option<Box<Cursor>>,
    parent_row: RowCopy,
}

impl Cursor {
    /// A cursor at row `row` of table `ti` (which must have at least that many rows) that
    /// generates the columns in `mask` (and, for the parent, what those read).
    pub fn new(
        model: &Model,
        ti: usize,
        row: u64,
        mask: Vec<bool>,
        ctx: &mut Ctx,
    ) -> Result<Cursor> {
        let t = &model.tables[ti];
        let (group, offset) = t.plan.locate_row(row);
        let first_row = row - offset;
        let parent = match t.parent {
            Some(p) => {
                let pmask = t.parent_mask(&mask, &model.tables[p]);
                Some(Box::new(Cursor::new(model, p, group, pmask, ctx)?))
            }
            None => None,
        };
        let mut c = Cursor {
            ti,
            mask,
            group,
            pos: 0,
            buf: GroupBuf::default(),
            gen: None,
            next_first_row: first_row,
            parent,
            parent_row: RowCopy::default(),
        };
        c.load(model, ctx)?;
        // Segments come in order: walk to the one holding the row.
        let mut offset = offset as usize;
        while offset >= c.buf.rows {
            offset -= c.buf.rows;
            if !c.next_segment(model, ctx)? {
                break;
            }
        }
        c.pos = offset;
        Ok(c)
    }

    /// Starts the cursor's group and generates its first segment.
    fn load(&mut self, model: &Model, ctx: &mut Ctx) -> Result<()> {
        let parent = match &self.parent {
            Some(p) => {
                self.parent_row.fill(&p.buf, p.pos);
                Some(&self.parent_row)
            }
            None => None,
        };
        let mut gen = GroupGen::start(
            model,
            self.ti,
            self.group,
            self.next_first_row,
            parent,
            ctx,
            Some(&self.mask),
            true,
        )?;
        gen.next(model, parent, ctx, &mut self.buf)?;
        self.next_first_row += gen.rows() as u64;
        self.gen = Some(gen);
        Ok(())
    }

    /// Generates the group's next segment; false when the group has no more.
    fn next_segment(&mut self, model: &Model, ctx: &mut Ctx) -> Result<bool> {
        let parent = self.parent.is_some().then_some(&self.parent_row);
        let gen = self.gen.as_mut().expect("loaded");
        gen.next(model, parent, ctx, &mut self.buf)
    }

    /// The current row: its buffer (a group or a segment of one) and position in it.
    pub fn current(&self) -> (&GroupBuf, usize) {
        (&self.buf, self.pos)
    }

    /// Moves to the next row.
    pub fn advance(&mut self, model: &Model, ctx: &mut Ctx) -> Result<()> {
        self.pos += 1;
        while self.pos >= self.buf.rows {
            self.pos = 0;
            if self.next_segment(model, ctx)? {
                continue;
            }
            self.group += 1;
            if let Some(p) = &mut self.parent {
                p.advance(model, ctx)?;
            }
            self.load(model, ctx)?;
        }
        Ok(())
    }
}
