//! A generation run: the shard's chunks spread over worker threads (each with its own
//! generation context), written to files or only hashed, and the report assembled. Workers
//! take chunks from a shared counter, so threads and shards change who generates a chunk,
//! never its bytes. A table's content hash is BLAKE3 over its chunk hashes in chunk order.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use pgshape_core::artifact::AtomicFile;
use pgshape_core::dataset_report::{
    ChunkReport, Format, ParentRef, Report, Shard, TableReport, Timings, REPORT_VERSION,
};
use pgshape_core::{Error, Result};

use super::chunk::{generate_chunk_tallied, Job};
use super::group::Ctx;
use super::model::{Gen, Model};
use super::resume::{Done, Journal};
use super::tally::Tally;
use super::Engine;

/// All chunks of the tables in `tables` (all when `None`) in load order, restricted to
/// `shard`. The shard split is that of all tables, so a table's chunks go to the same shard
/// whatever the filter.
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
    /// Where finished chunks are recorded, so that a stopped run resumes (with `output`).
    pub journal: Option<&'a Journal>,
    /// Chunks a resumed run takes as done (from the journal), not generated again.
    pub done: Option<&'a Done>,
}

/// What the workers made: per job its chunk report, per table its merged tally.
struct Made {
    chunks: Vec<ChunkReport>,
    tallies: Vec<Tally>,
}

/// Generates the shard's chunks with `threads` workers and returns the report (unsaved).
pub(crate) fn run(
    engine: &Engine,
    spec_sha256: &str,
    opts: &RunOptions<'_>,
    plan_ms: u64,
) -> Result<Report> {
    let model = engine.model();
    let started = Instant::now();
    let jobs = jobs_of(model, opts.shard, opts.tables);
    if let Some(dir) = opts.output {
        make_dirs(model, dir)?;
    }
    let made = work(engine, &jobs, opts)?;
    report(model, spec_sha256, opts, &jobs, made, plan_ms, started)
}

/// One directory per table.
fn make_dirs(model: &Model, dir: &Path) -> Result<()> {
    for &ti in &model.order {
        let d = dir.join(&model.tables[ti].name);
        std::fs::create_dir_all(&d).map_err(|source| Error::Io {
            path: d.clone(),
            source,
        })?;
    }
    Ok(())
}

/// Runs `jobs` (but those `opts.done` holds) on `opts.threads` workers, each with a
/// generation context of the engine's, taking jobs from a shared counter; the first error,
/// or a stop asked by a signal ([`pgshape_core::interrupt`]), stops every worker after its
/// current chunk (a chunk being written is abandoned: its temp file is removed).
fn work(engine: &Engine, jobs: &[Job], opts: &RunOptions<'_>) -> Result<Made> {
    let model = engine.model();
    let next = AtomicUsize::new(0);
    let done: Vec<Option<ChunkReport>> = jobs
        .iter()
        .map(|j| {
            let d = opts.done?.chunks.get(&(j.table, j.chunk.index))?;
            (opts.on_chunk)(&model.tables[j.table].name, d.rows);
            Some(d.clone())
        })
        .collect();
    let todo: Vec<usize> = (0..jobs.len()).filter(|&i| done[i].is_none()).collect();
    let results: Mutex<Vec<Option<ChunkReport>>> = Mutex::new(done);
    // Achieved distributions, one running tally per table: a chunk's is merged (integer counts,
    // in any order) as soon as the chunk is done, so memory does not grow with the chunk count.
    let tallies: Mutex<Vec<Tally>> = Mutex::new(match opts.done {
        Some(d) => d.tallies.clone(),
        None => model.tables.iter().map(Tally::for_table).collect(),
    });
    let failure: Mutex<Option<Error>> = Mutex::new(None);
    let worker = || {
        engine.with_ctx(|ctx| loop {
            if failure.lock().expect("lock").is_some() {
                return;
            }
            if let Err(e) = pgshape_core::interrupt::check() {
                failure.lock().expect("lock").get_or_insert(e);
                return;
            }
            let k = next.fetch_add(1, Ordering::Relaxed);
            let Some(&i) = todo.get(k) else { return };
            let job = jobs[i];
            match run_job(model, job, opts, ctx) {
                Ok((report, tally)) => {
                    results.lock().expect("lock")[i] = Some(report);
                    tallies.lock().expect("lock")[job.table].merge(&tally);
                }
                Err(e) => {
                    failure.lock().expect("lock").get_or_insert(e);
                    return;
                }
            }
        })
    };
    std::thread::scope(|s| {
        for _ in 0..opts.threads.max(1) {
            s.spawn(worker);
        }
    });
    if let Some(e) = failure.into_inner().expect("lock") {
        return Err(e);
    }
    let chunks = results.into_inner().expect("lock");
    Ok(Made {
        chunks: chunks
            .into_iter()
            .map(|r| r.expect("every job reported"))
            .collect(),
        tallies: tallies.into_inner().expect("lock"),
    })
}

/// The report of a run from what its workers made.
fn report(
    model: &Model,
    spec_sha256: &str,
    opts: &RunOptions<'_>,
    jobs: &[Job],
    mut made: Made,
    plan_ms: u64,
    started: Instant,
) -> Result<Report> {
    let band = model.spec.band(&model.band)?;
    let order: Vec<usize> = model
        .order
        .iter()
        .copied()
        .filter(|ti| opts.tables.is_none_or(|t| t.contains(ti)))
        .collect();
    let mut tables = BTreeMap::new();
    for &ti in &order {
        let t = &model.tables[ti];
        let chunks: Vec<ChunkReport> = jobs
            .iter()
            .zip(&made.chunks)
            .filter(|(j, _)| j.table == ti)
            .map(|(_, r)| r.clone())
            .collect();
        let tally = std::mem::take(&mut made.tallies[ti]);
        let complete = chunks.len() == t.plan.chunks.len();
        let table = TableReport {
            columns: t.columns.iter().map(|c| c.name.clone()).collect(),
            types: t.columns.iter().map(|c| c.sql_type).collect(),
            rows: chunks.iter().map(|c| c.rows).sum(),
            planned_rows: t.plan.rows,
            target_rows: band.rows.get(&t.name).copied(),
            chunk_count: t.plan.chunks.len(),
            parent: parent_ref(model, ti),
            achieved: tally.summary(t.parent.is_some()),
            content_hash: complete.then(|| combine(&chunks)),
            chunks,
        };
        tables.insert(t.name.clone(), table);
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
        order: order
            .iter()
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
    ctx: &mut Ctx,
) -> Result<(ChunkReport, Tally)> {
    let t = &model.tables[job.table];
    let mut tally = Tally::for_table(t);
    let (rows, hash, file) = match opts.output {
        Some(dir) => {
            let ext = opts.format.extension();
            let rel = format!("{}/{:06}.{ext}", t.name, job.chunk.index);
            let path: PathBuf = dir.join(&rel);
            let mut f = AtomicFile::create(&path)?;
            // A CSV file is checked on resume by its own hash (a binary one by its rows').
            let mut file_hash =
                (opts.journal.is_some() && opts.format == Format::Csv).then(blake3::Hasher::new);
            let mut bytes = 0u64;
            let mut write = |b: &[u8]| {
                // A stop abandons the chunk being written (about every MiB).
                pgshape_core::interrupt::check()?;
                bytes += b.len() as u64;
                if let Some(h) = &mut file_hash {
                    h.update(b);
                }
                std::io::Write::write_all(&mut f, b).map_err(|source| Error::Io {
                    path: path.clone(),
                    source,
                })
            };
            let (rows, hash) =
                generate_chunk_tallied(model, job, opts.format, ctx, &mut write, &mut tally)?;
            f.commit()?;
            if let Some(j) = opts.journal {
                let report = ChunkReport {
                    index: job.chunk.index,
                    file: Some(rel.clone()),
                    rows,
                    hash: hash.clone(),
                };
                let file_hash = file_hash.map(|h| h.finalize().to_hex().to_string());
                j.record(&t.name, &report, bytes, file_hash, &tally)?;
            }
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
            Gen::ParentKey { column } => Some((c.name.clone(), p.columns[column].name.clone())),
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
