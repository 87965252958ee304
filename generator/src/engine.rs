//! Group generation, the per-thread caches picks read from, and cursors. What each generator
//! does for one column lives in [`crate::column`](mod@crate::column).
//!
//! A group (a root block, or the children of one parent row) is generated column by column;
//! each column draws from its own stream `(seed, table, column)` at stream number = group, so a
//! column's values never depend on another column's draws, on chunking or on threads.

use pgshape_core::{Error, Result};

use crate::column::gen_column;
use crate::model::{Gen, Model, TableModel, ROOT_BLOCK};
use crate::value::{GroupBuf, RowCopy};

/// Per-thread caches for random access: the last group generated of each table.
pub struct Ctx {
    slots: Vec<Option<GroupBuf>>,
    scratch_parent: Vec<RowCopy>,
}

impl Ctx {
    pub fn new(model: &Model) -> Ctx {
        Ctx {
            slots: vec![None; model.tables.len()],
            scratch_parent: vec![RowCopy::default(); model.tables.len()],
        }
    }

    /// Makes sure the cache of table `ti` holds group `g`.
    pub(crate) fn ensure_group(&mut self, model: &Model, ti: usize, g: u64) -> Result<()> {
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

    pub(crate) fn slot(&self, ti: usize) -> &GroupBuf {
        self.slots[ti].as_ref().expect("ensured")
    }
}

impl TableModel {
    /// Whether generation reads the group's first row index (sequences, earlier references,
    /// unique text).
    pub fn needs_first_row(&self) -> bool {
        self.columns.iter().any(|c| {
            matches!(
                c.gen,
                Gen::Sequence { .. } | Gen::Earlier { .. } | Gen::Text { unique: true, .. }
            )
        })
    }
}

/// Generates group `g` of table `ti` into `out`. `parent` is the parent row for child tables.
pub fn generate_group(
    model: &Model,
    ti: usize,
    g: u64,
    first_row: u64,
    parent: Option<&RowCopy>,
    ctx: &mut Ctx,
    out: &mut GroupBuf,
) -> Result<()> {
    generate_group_masked(model, ti, g, first_row, parent, ctx, out, None)
}

/// [`generate_group`] for the columns in `mask` only (the others stay NULL). Columns have
/// their own streams, so skipping one never changes another.
#[allow(clippy::too_many_arguments)]
pub fn generate_group_masked(
    model: &Model,
    ti: usize,
    g: u64,
    first_row: u64,
    parent: Option<&RowCopy>,
    ctx: &mut Ctx,
    out: &mut GroupBuf,
    mask: Option<&[bool]>,
) -> Result<()> {
    let t = &model.tables[ti];
    let n = t.plan.group_rows(g) as usize;
    out.reset(g, first_row, n, &t.corpora, mask);
    if n == 0 {
        return Ok(());
    }
    for &ci in &t.eval_order {
        if mask.is_none_or(|m| m[ci]) {
            gen_column(model, t, ci, parent, ctx, out)?;
        }
    }
    Ok(())
}

/// Walks the rows of a table from any row, generating groups as it goes (and its parent's,
/// recursively). Used to feed children with their parent rows in order.
pub struct Cursor {
    ti: usize,
    mask: Vec<bool>,
    group: u64,
    pos: usize,
    buf: GroupBuf,
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
            pos: offset as usize,
            buf: GroupBuf::default(),
            next_first_row: first_row,
            parent,
            parent_row: RowCopy::default(),
        };
        c.load(model, ctx)?;
        Ok(c)
    }

    fn load(&mut self, model: &Model, ctx: &mut Ctx) -> Result<()> {
        let parent = match &self.parent {
            Some(p) => {
                self.parent_row.fill(&p.buf, p.pos);
                Some(&self.parent_row)
            }
            None => None,
        };
        generate_group_masked(
            model,
            self.ti,
            self.group,
            self.next_first_row,
            parent,
            ctx,
            &mut self.buf,
            Some(&self.mask),
        )?;
        self.next_first_row += self.buf.rows as u64;
        Ok(())
    }

    /// The current row: its group buffer and position.
    pub fn current(&self) -> (&GroupBuf, usize) {
        (&self.buf, self.pos)
    }

    /// Moves to the next row.
    pub fn advance(&mut self, model: &Model, ctx: &mut Ctx) -> Result<()> {
        self.pos += 1;
        while self.pos >= self.buf.rows {
            self.group += 1;
            self.pos = 0;
            if let Some(p) = &mut self.parent {
                p.advance(model, ctx)?;
            }
            self.load(model, ctx)?;
        }
        Ok(())
    }
}
