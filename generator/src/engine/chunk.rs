//! One chunk generated: its groups walked in order (`visit_chunk`), encoded as binary COPY or
//! CSV and hashed (`generate_chunk`). A chunk's content hash is BLAKE3 over its rows in binary
//! COPY encoding, whatever the output format.

use pgshape_core::copy;
use pgshape_core::Result;

use super::group::{Ctx, Cursor, GroupGen};
use super::model::Model;
use super::plan::{Chunk, ROOT_BLOCK};
use super::tally::Tally;
use super::value::{encode_binary, encode_csv, Encoding, GroupBuf, RowCopy};
use super::Format;

/// A unit of work: one chunk of one table.
#[derive(Debug, Clone, Copy)]
pub struct Job {
    pub table: usize,
    pub chunk: Chunk,
}

/// Generates one chunk, handing encoded bytes to `sink` in pieces of about 1 MiB. Binary
/// output includes the COPY header and trailer. Returns (live rows, content hash).
pub(crate) fn generate_chunk(
    model: &Model,
    job: Job,
    format: Format,
    ctx: &mut Ctx,
    sink: &mut dyn FnMut(&[u8]) -> Result<()>,
) -> Result<(u64, String)> {
    let mut tally = Tally::for_table(&model.tables[job.table]);
    generate_chunk_tallied(model, job, format, ctx, sink, &mut tally)
}

/// [`generate_chunk`] that also counts what the chunk achieved into `tally`.
pub(crate) fn generate_chunk_tallied(
    model: &Model,
    job: Job,
    format: Format,
    ctx: &mut Ctx,
    sink: &mut dyn FnMut(&[u8]) -> Result<()>,
    tally: &mut Tally,
) -> Result<(u64, String)> {
    let t = &model.tables[job.table];
    let types = Encoding::of(&t.columns);
    // Rows are hashed in bulk (BLAKE3 is several times faster on megabytes than on rows):
    // `hashed` marks how much of the binary encoding has gone into the hasher.
    let mut hasher = blake3::Hasher::new();
    let mut out = std::mem::take(&mut ctx.out_buf);
    out.clear();
    out.reserve(1 << 21);
    let mut bin = Vec::with_capacity(if format == Format::Csv { 1 << 21 } else { 0 });
    if format == Format::Binary {
        copy::header(&mut out);
    }
    let mut hashed = out.len();
    let mut scratch = Vec::new();
    let mut rows = 0u64;
    let mut emit = |buf: &GroupBuf, out: &mut Vec<u8>| -> Result<()> {
        tally.add(t, buf);
        for r in buf.live_rows() {
            match format {
                Format::Binary => encode_binary(out, buf, r, &types),
                Format::Csv => {
                    encode_binary(&mut bin, buf, r, &types);
                    encode_csv(out, buf, r, &types, &mut scratch);
                }
            }
            rows += 1;
            // Flush by row, not by group: one group can hold 150,000 rows.
            if out.len() >= 1 << 20 {
                match format {
                    Format::Binary => hasher.update(&out[hashed..]),
                    Format::Csv => hasher.update(&bin),
                };
                bin.clear();
                sink(out)?;
                out.clear();
                hashed = 0;
            }
        }
        Ok(())
    };
    visit_chunk(model, job, ctx, &mut |buf| emit(buf, &mut out))?;
    match format {
        Format::Binary => {
            hasher.update(&out[hashed..]);
            copy::trailer(&mut out);
        }
        Format::Csv => {
            hasher.update(&bin);
        }
    }
    if !out.is_empty() {
        sink(&out)?;
    }
    ctx.out_buf = out;
    Ok((rows, hasher.finalize().to_hex().to_string()))
}

/// Generates the groups of one chunk in order and hands each to `visit`, a large group in
/// segments (see [`GroupBuf::ends_group`]; dropped rows are flagged in the buffer). The one place that walks a chunk: encoding, hashing and the
/// measurement of achieved distributions all go through it.
pub(crate) fn visit_chunk(
    model: &Model,
    job: Job,
    ctx: &mut Ctx,
    visit: &mut dyn FnMut(&GroupBuf) -> Result<()>,
) -> Result<()> {
    let mut buf = std::mem::take(&mut ctx.chunk_buf);
    let res = visit_groups(model, job, ctx, visit, &mut buf);
    ctx.chunk_buf = buf;
    res
}

/// [`visit_chunk`] with the group buffer it reuses.
fn visit_groups(
    model: &Model,
    job: Job,
    ctx: &mut Ctx,
    visit: &mut dyn FnMut(&GroupBuf) -> Result<()>,
    buf: &mut GroupBuf,
) -> Result<()> {
    let t = &model.tables[job.table];
    let chunk = job.chunk;
    // A group's segments in order.
    let mut group = |g: u64, first: u64, parent: Option<&RowCopy>, ctx: &mut Ctx| -> Result<u64> {
        let mut gen = GroupGen::start(model, job.table, g, first, parent, ctx, None, true)?;
        while gen.next(model, parent, ctx, buf)? {
            visit(buf)?;
        }
        Ok(gen.rows() as u64)
    };
    match t.parent {
        None => {
            for g in chunk.first_group..chunk.end_group {
                group(g, g * ROOT_BLOCK, None, ctx)?;
            }
        }
        Some(p) if chunk.end_group > chunk.first_group => {
            let all = vec![true; t.columns.len()];
            let mask = t.parent_mask(&all, &model.tables[p]);
            let mut parent = Cursor::new(model, p, chunk.first_group, mask, ctx)?;
            let mut row = RowCopy::default();
            let mut first = chunk.first_row;
            for g in chunk.first_group..chunk.end_group {
                let (pbuf, pos) = parent.current();
                row.fill(pbuf, pos);
                first += group(g, first, Some(&row), ctx)?;
                if g + 1 < chunk.end_group {
                    parent.advance(model, ctx)?;
                }
            }
        }
        Some(_) => {}
    }
    Ok(())
}
