//! Chunks to bytes: COPY encoding, content hashes, parallel workers, files and the report.
//!
//! A chunk's content hash is BLAKE3 over its rows in binary COPY encoding (whatever the output
//! format); a table's hash is BLAKE3 over its chunk hashes in chunk order. Workers take chunks
//! from a shared counter, so threads and shards change who generates a chunk, never its bytes.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use pgshape_core::artifact::{self, AtomicFile};
use pgshape_core::copy;
use pgshape_core::spec::SqlType;
use pgshape_core::{Error, Result};
use serde::{Deserialize, Serialize};

use crate::engine::{Ctx, Cursor, GroupGen};
use crate::model::Model;
use crate::plan::Chunk;
use crate::summary::{Achieved, Tally};
use crate::value::{encode_binary, encode_csv, GroupBuf, RowCopy};

/// The report format version.
pub const REPORT_VERSION: u32 = 1;

/// Output encoding of chunk files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Binary,
    Csv,
}

/// `k/N`: this run makes every N-th chunk starting at k-1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Shard {
    pub index: u32,
    pub count: u32,
}

impl std::str::FromStr for Shard {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Shard, String> {
        let (k, n) = s.split_once('/').ok_or("expected k/N, e.g. 2/4")?;
        let index: u32 = k.parse().map_err(|_| "k is not a number")?;
        let count: u32 = n.parse().map_err(|_| "N is not a number")?;
        if count == 0 || index == 0 || index > count {
            return Err("need 1 <= k <= N".into());
        }
        Ok(Shard { index, count })
    }
}

/// One generated chunk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChunkReport {
    pub index: usize,
    /// Relative to the dataset directory; absent when nothing was written (`hash`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    pub rows: u64,
    pub hash: String,
}

/// One table of a report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TableReport {
    pub columns: Vec<String>,
    pub types: Vec<SqlType>,
    /// Rows written (a distinct pick may cut planned rows).
    pub rows: u64,
    pub planned_rows: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_rows: Option<u64>,
    pub chunk_count: usize,
    /// The parent this table's rows are grouped under (per-parent tables): what `achieved`
    /// fan-out figures are children of.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<ParentRef>,
    /// The distributions the generated rows achieved (this report's chunks).
    pub achieved: Achieved,
    /// BLAKE3 of the chunk hashes in order; present when every chunk is in this report.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_hash: Option<String>,
    pub chunks: Vec<ChunkReport>,
}

/// The grouping foreign key of a per-parent table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ParentRef {
    pub table: String,
    /// This table's columns holding the parent's key.
    pub columns: Vec<String>,
    /// The parent's key columns, in the same order.
    pub ref_columns: Vec<String>,
}

/// The generation report (`report_<band>_<timestamp>.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Report {
    pub report_version: u32,
    pub tool_version: String,
    pub created_at: String,
    pub spec_name: String,
    pub spec_sha256: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pack_sha256: Option<String>,
    pub band: String,
    pub seed: String,
    pub format: Format,
    pub shard: Shard,
    /// The DDL copied from the spec into the dataset (`schema.sql`), when the spec names one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ddl: Option<String>,
    /// Tables in load order (parents first).
    pub order: Vec<String>,
    pub tables: BTreeMap<String, TableReport>,
    pub timings: Timings,
}

/// Wall times in milliseconds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Timings {
    pub plan_ms: u64,
    pub generate_ms: u64,
    pub threads: usize,
}

/// A unit of work: one chunk of one table.
#[derive(Debug, Clone, Copy)]
pub struct Job {
    pub table: usize,
    pub chunk: Chunk,
}

/// All chunks of all tables in load order, then restricted to a shard.
pub fn jobs(model: &Model, shard: Shard) -> Vec<Job> {
    jobs_of(model, shard, None)
}

/// [`jobs`] for some tables only (the shard split stays that of all tables, so a table's
/// chunks go to the same shard whatever the filter).
pub fn jobs_of(model: &Model, shard: Shard, tables: Option<&[usize]>) -> Vec<Job> {
    model
        .order
        .iter()
        .flat_map(|&ti| {
            model.tables[ti]
                .plan
                .chunks
                .iter()
                .map(move |&chunk| Job { table: ti, chunk })
        })
        .enumerate()
        .filter(|(i, _)| *i as u32 % shard.count == shard.index - 1)
        .map(|(_, j)| j)
        .filter(|j| tables.is_none_or(|t| t.contains(&j.table)))
        .collect()
}

/// Generates one chunk, handing encoded bytes to `sink` in pieces of about 1 MiB. Binary
/// output includes the COPY header and trailer. Returns (live rows, content hash).
pub fn generate_chunk(
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
pub fn generate_chunk_tallied(
    model: &Model,
    job: Job,
    format: Format,
    ctx: &mut Ctx,
    sink: &mut dyn FnMut(&[u8]) -> Result<()>,
    tally: &mut Tally,
) -> Result<(u64, String)> {
    let t = &model.tables[job.table];
    let types = crate::value::Encoding::of(&t.columns);
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
pub fn visit_chunk(
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
                group(g, g * crate::model::ROOT_BLOCK, None, ctx)?;
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

/// Options of a generation run.
pub struct RunOptions<'a> {
    pub threads: usize,
    pub shard: Shard,
    pub format: Format,
    /// Where chunk files go; `None` hashes without writing.
    pub output: Option<&'a Path>,
    /// Called after each chunk with (table, rows) — progress bars.
    pub on_chunk: &'a (dyn Fn(&str, u64) + Sync),
    /// Only these tables (indexes into the model); `None` for all.
    pub tables: Option<&'a [usize]>,
}

/// Generates the shard's chunks with `threads` workers and returns the report (unsaved).
pub fn run(
    model: &Model,
    spec_sha256: &str,
    opts: &RunOptions<'_>,
    plan_ms: u64,
) -> Result<Report> {
    let started = Instant::now();
    let jobs = jobs_of(model, opts.shard, opts.tables);
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<ChunkReport>>> = Mutex::new(vec![None; jobs.len()]);
    // Achieved distributions, one running tally per table: a chunk's is merged (integer counts,
    // in any order) as soon as the chunk is done, so memory does not grow with the chunk count.
    let tallies: Mutex<Vec<Tally>> =
        Mutex::new(model.tables.iter().map(Tally::for_table).collect());
    let failure: Mutex<Option<Error>> = Mutex::new(None);
    let ext = match opts.format {
        Format::Binary => "bin",
        Format::Csv => "csv",
    };
    if let Some(dir) = opts.output {
        for &ti in &model.order {
            let d = dir.join(&model.tables[ti].name);
            std::fs::create_dir_all(&d).map_err(|source| Error::Io {
                path: d.clone(),
                source,
            })?;
        }
    }
    std::thread::scope(|s| {
        for _ in 0..opts.threads.max(1) {
            s.spawn(|| {
                let mut ctx = Ctx::new(model);
                loop {
                    if failure.lock().expect("lock").is_some() {
                        return;
                    }
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(&job) = jobs.get(i) else { return };
                    match run_job(model, job, opts, ext, &mut ctx) {
                        Ok((report, tally)) => {
                            results.lock().expect("lock")[i] = Some(report);
                            tallies.lock().expect("lock")[job.table].merge(&tally);
                        }
                        Err(e) => {
                            failure.lock().expect("lock").get_or_insert(e);
                            return;
                        }
                    }
                }
            });
        }
    });
    if let Some(e) = failure.into_inner().expect("lock") {
        return Err(e);
    }
    let results = results.into_inner().expect("lock");
    let mut tallies = tallies.into_inner().expect("lock");
    let mut tables = BTreeMap::new();
    let band = model.spec.band(&model.band)?;
    for &ti in model
        .order
        .iter()
        .filter(|ti| opts.tables.is_none_or(|t| t.contains(ti)))
    {
        let t = &model.tables[ti];
        let chunks: Vec<ChunkReport> = jobs
            .iter()
            .zip(&results)
            .filter(|(j, _)| j.table == ti)
            .map(|(_, r)| r.clone().expect("every job reported"))
            .collect();
        let tally = std::mem::take(&mut tallies[ti]);
        let complete = chunks.len() == t.plan.chunks.len();
        let content_hash = complete.then(|| combine(&chunks));
        tables.insert(
            t.name.clone(),
            TableReport {
                columns: t.columns.iter().map(|c| c.name.clone()).collect(),
                types: t.columns.iter().map(|c| c.sql_type).collect(),
                rows: chunks.iter().map(|c| c.rows).sum(),
                planned_rows: t.plan.rows,
                target_rows: band.rows.get(&t.name).copied(),
                chunk_count: t.plan.chunks.len(),
                parent: parent_ref(model, ti),
                achieved: tally.summary(t.parent.is_some()),
                content_hash,
                chunks,
            },
        );
    }
    Ok(Report {
        report_version: REPORT_VERSION,
        tool_version: pgshape_core::TOOL_VERSION.into(),
        created_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        spec_name: model.spec.name.clone(),
        spec_sha256: spec_sha256.into(),
        pack_sha256: model
            .spec
            .calibrated_from
            .as_ref()
            .map(|l| l.pack_sha256.clone()),
        band: model.band.clone(),
        seed: model.seed_text.clone(),
        format: opts.format,
        shard: opts.shard,
        ddl: None,
        order: model
            .order
            .iter()
            .filter(|ti| opts.tables.is_none_or(|t| t.contains(ti)))
            .map(|&i| model.tables[i].name.clone())
            .collect(),
        tables,
        timings: Timings {
            plan_ms,
            generate_ms: started.elapsed().as_millis() as u64,
            threads: opts.threads,
        },
    })
}

fn run_job(
    model: &Model,
    job: Job,
    opts: &RunOptions<'_>,
    ext: &str,
    ctx: &mut Ctx,
) -> Result<(ChunkReport, Tally)> {
    let t = &model.tables[job.table];
    let mut tally = Tally::for_table(t);
    let (rows, hash, file) = match opts.output {
        Some(dir) => {
            let rel = format!("{}/{:06}.{ext}", t.name, job.chunk.index);
            let path: PathBuf = dir.join(&rel);
            let mut f = AtomicFile::create(&path)?;
            let mut write = |b: &[u8]| {
                std::io::Write::write_all(&mut f, b).map_err(|source| Error::Io {
                    path: path.clone(),
                    source,
                })
            };
            let (rows, hash) =
                generate_chunk_tallied(model, job, opts.format, ctx, &mut write, &mut tally)?;
            f.commit()?;
            (rows, hash, Some(rel))
        }
        None => {
            let (rows, hash) =
                generate_chunk_tallied(model, job, opts.format, ctx, &mut |_| Ok(()), &mut tally)?;
            (rows, hash, None)
        }
    };
    (opts.on_chunk)(&t.name, rows);
    let report = ChunkReport {
        index: job.chunk.index,
        file,
        rows,
        hash,
    };
    Ok((report, tally))
}

fn parent_ref(model: &Model, ti: usize) -> Option<ParentRef> {
    let t = &model.tables[ti];
    let p = &model.tables[t.parent?];
    let (columns, ref_columns) = t
        .columns
        .iter()
        .filter_map(|c| match c.gen {
            crate::model::Gen::ParentKey { column } => {
                Some((c.name.clone(), p.columns[column].name.clone()))
            }
            _ => None,
        })
        .unzip();
    Some(ParentRef {
        table: p.name.clone(),
        columns,
        ref_columns,
    })
}

/// A table's content hash from its chunk hashes in order.
pub fn combine(chunks: &[ChunkReport]) -> String {
    let mut h = blake3::Hasher::new();
    for c in chunks {
        h.update(c.hash.as_bytes());
    }
    h.finalize().to_hex().to_string()
}

/// Writes the report into `dir` last (a dataset without a report is incomplete).
pub fn save_report(dir: &Path, report: &Report) -> Result<PathBuf> {
    let stamp = report.created_at.replace([':', '-'], "");
    let name = if report.shard.count > 1 {
        format!(
            "report_{}_{}_shard{}of{}.json",
            report.band, stamp, report.shard.index, report.shard.count
        )
    } else {
        format!("report_{}_{}.json", report.band, stamp)
    };
    let path = dir.join(name);
    artifact::write_json(&path, report)?;
    Ok(path)
}
