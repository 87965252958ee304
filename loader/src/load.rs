//! A load run, as steps: record the run (or find the unfinished one to resume), copy the
//! chunks ([`chunks`]), rebuild what was set aside ([`rebuild`]), ANALYZE each table fused with
//! its row-hash scan, check ([`check`]: counts, foreign keys, content hashes against the
//! dataset's), and record the result on the target and in `docs/perf-data/`.
//!
//! The checks a load makes are those that catch real faults at near-zero cost; the scans that
//! re-prove what PostgreSQL guarantees (orphans of a validated foreign key) or that compare
//! against the generator's figures (fan-out) are `verify`'s ([`crate::verify`]).

use std::path::PathBuf;
use std::time::Instant;

use pgshape_core::conn::Target;
use pgshape_core::ident::qualified;
use pgshape_core::run_record::{RunRecord, RunResult, RunStatus, TableHash, Timings};
use pgshape_core::{artifact, Error, Result};
use postgres::Client;

use crate::ledger::{self, Run};
pub use crate::options::{LoadError, Options, Refused};
use crate::source::{Source, TablePlan};
use crate::{check, chunks, integrity, parallel, prepare, rebuild, session};

/// The end of a run.
#[derive(Debug)]
pub struct Outcome {
    pub run_id: String,
    pub record: RunRecord,
    /// Every load-time check passed.
    pub ok: bool,
    pub run_file: PathBuf,
}

fn ms(since: Instant) -> u64 {
    since.elapsed().as_millis() as u64
}

/// Loads `source` into `target`, resuming an unfinished run of the same data and schema.
pub fn load(
    target: &Target,
    source: &Source,
    opts: &Options,
    on_rows: &(dyn Fn(&str, u64) + Sync),
) -> Result<Outcome, LoadError> {
    let started = Instant::now();
    let mut client = session::connect(target)?;
    ledger::ensure(&mut client)?;
    let tables: Vec<TablePlan> = source
        .tables()
        .into_iter()
        .filter(|t| opts.only.is_empty() || opts.only.contains(&t.name))
        .collect();
    let mut run = find_or_start(&mut client, target, source, opts, &tables)?;
    // From here on the run is recorded: whatever stops it, running the same command again
    // resumes it (chunks in the ledger are kept; rebuild, ANALYZE and checks are idempotent).
    let run_id = run.run_id.clone();
    let mut go = || -> Result<Outcome> {
        let mut timings = Timings {
            prepare: ms(started),
            ..Timings::default()
        };
        let t = Instant::now();
        let sent = chunks::copy_all(
            &mut client,
            target,
            source,
            opts,
            &run.run_id,
            &tables,
            on_rows,
        )?;
        timings.copy = ms(t);
        let t = Instant::now();
        rebuild::restore(&mut client, target, opts.jobs, &run.record.set_aside)?;
        rebuild::advance_sequences(&mut client, &opts.schema, &run.record.tables)?;
        timings.rebuild = ms(t);
        let t = Instant::now();
        let hashes = analyze_and_hash(target, opts, &run.record.tables)?;
        timings.analyze = ms(t);
        let t = Instant::now();
        prewarm(&mut client, opts, &run.record.tables)?;
        timings.prewarm = ms(t);
        let t = Instant::now();
        let checked = check::after_load(
            &mut client,
            source,
            &tables,
            &run.run_id,
            &opts.schema,
            hashes,
            &sent,
        )?;
        timings.checks = ms(t);
        timings.total = ms(started);
        record(&mut client, opts, &mut run, checked, timings)
    };
    go().map_err(|source| LoadError::Stopped { run_id, source })
}

/// The unfinished run of the same data into the same schema (resumed), or a new one; a
/// finished one is refused.
fn find_or_start(
    client: &mut Client,
    target: &Target,
    source: &Source,
    opts: &Options,
    tables: &[TablePlan],
) -> Result<Run, LoadError> {
    let existing = ledger::runs(client)?
        .into_iter()
        .find(|r| r.report_sha256 == source.identity() && r.target_schema == opts.schema);
    match existing {
        Some(r) if r.record.status == RunStatus::Done => Err(Refused(format!(
            "run {} already loaded this dataset into schema {}; tear it down first (pgshape-loader teardown --run {})",
            r.run_id, opts.schema, r.run_id
        ))
        .into()),
        Some(r) => {
            tracing::info!(run = %r.run_id, "resuming an unfinished run");
            Ok(r)
        }
        None => prepare::new_run(client, target, source, opts, tables),
    }
}

/// ANALYZE each table and, on the same connection right after it, its rows and row hash in
/// one scan; tables side by side over the `--jobs` connections.
fn analyze_and_hash(
    target: &Target,
    opts: &Options,
    names: &[String],
) -> Result<Vec<(String, TableHash)>> {
    parallel::on_target(target, opts.jobs, names, |c, t| {
        c.batch_execute(&format!("ANALYZE {}", qualified(&opts.schema, t)))
            .map_err(Error::db(format!("ANALYZE {t}")))?;
        Ok((t.clone(), integrity::table_hash(c, &opts.schema, t)?))
    })
}

/// `pg_prewarm` of every table, with `--prewarm`.
fn prewarm(client: &mut Client, opts: &Options, names: &[String]) -> Result<()> {
    if !opts.prewarm {
        return Ok(());
    }
    client
        .batch_execute("CREATE EXTENSION IF NOT EXISTS pg_prewarm")
        .map_err(Error::db("installing pg_prewarm"))?;
    for t in names {
        client
            .query_one(
                "SELECT pg_prewarm($1::regclass)",
                &[&qualified(&opts.schema, t)],
            )
            .map_err(Error::db(format!("pg_prewarm {t}")))?;
    }
    Ok(())
}

/// Writes the result into the run record, on the target and as `run_<id>.json`.
fn record(
    client: &mut Client,
    opts: &Options,
    run: &mut Run,
    mut result: RunResult,
    timings: Timings,
) -> Result<Outcome> {
    let ok = result.integrity.ok();
    let rec = &mut run.record;
    rec.status = if ok {
        RunStatus::Done
    } else {
        RunStatus::FailedIntegrity
    };
    rec.finished_at = Some(chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
    result.timings_ms = timings;
    rec.result = Some(result);
    ledger::update_run(client, run, true)?;
    std::fs::create_dir_all(&opts.metadata_dir).map_err(|source| Error::Io {
        path: opts.metadata_dir.clone(),
        source,
    })?;
    let run_file = opts.metadata_dir.join(format!("run_{}.json", run.run_id));
    artifact::write_json(&run_file, &run.record)?;
    Ok(Outcome {
        run_id: run.run_id.clone(),
        record: run.record.clone(),
        ok,
        run_file,
    })
}
