//! The `_pgshape` schema on the target: one row per run and one per loaded chunk. A chunk's
//! COPY and its ledger row commit in the same transaction, so after a crash the ledger says
//! exactly which chunks are in the tables, and with which content: a chunk's row holds the
//! content hash of the bytes sent (BLAKE3 over its rows in binary COPY encoding, the
//! generator's definition), so a table's content hash can be recomputed from the ledger alone.

use std::path::PathBuf;

use pgshape_core::run_record::RunRecord;
use pgshape_core::{artifact, Error, Result};
use postgres::GenericClient;

/// The ledger schema.
pub const SCHEMA: &str = "_pgshape";

/// Creates the ledger tables if needed.
pub fn ensure(client: &mut impl GenericClient) -> Result<()> {
    client
        .batch_execute(
            "SET client_min_messages = warning;
             CREATE SCHEMA IF NOT EXISTS _pgshape;
             CREATE TABLE IF NOT EXISTS _pgshape.runs (
                 run_id          text PRIMARY KEY,
                 started_at      timestamptz NOT NULL DEFAULT now(),
                 finished_at     timestamptz,
                 status          text NOT NULL,
                 target_schema   text NOT NULL,
                 report_sha256   text NOT NULL,
                 record          jsonb NOT NULL
             );
             CREATE TABLE IF NOT EXISTS _pgshape.chunks (
                 run_id       text NOT NULL REFERENCES _pgshape.runs ON DELETE CASCADE,
                 table_name   text NOT NULL,
                 chunk_index  integer NOT NULL,
                 rows         bigint NOT NULL,
                 loaded_at    timestamptz NOT NULL DEFAULT clock_timestamp(),
                 hash         text,
                 PRIMARY KEY (run_id, table_name, chunk_index)
             );
             -- A ledger made by an older loader gets the column (its rows stay NULL).
             ALTER TABLE _pgshape.chunks ADD COLUMN IF NOT EXISTS hash text;
             RESET client_min_messages;",
        )
        .map_err(Error::db("creating the _pgshape ledger"))
}

/// Whether the ledger exists.
pub fn exists(client: &mut impl GenericClient) -> Result<bool> {
    Ok(client
        .query_one("SELECT to_regclass('_pgshape.runs') IS NOT NULL", &[])
        .map_err(Error::db("looking for the _pgshape ledger"))?
        .get(0))
}

/// A run as recorded: the columns of `_pgshape.runs` the loader selects on, and the record
/// (whose `status` the `status` column repeats, for SQL readers).
#[derive(Debug, Clone)]
pub struct Run {
    pub run_id: String,
    pub target_schema: String,
    pub report_sha256: String,
    pub record: RunRecord,
}

fn run_of(r: &postgres::Row) -> Result<Run> {
    let run_id: String = r.get(0);
    let where_ = || PathBuf::from(format!("_pgshape.runs (run {run_id}) record"));
    let text: String = r.get(4);
    let record: RunRecord = artifact::parse_json(&where_(), text.as_bytes())?;
    Ok(Run {
        run_id,
        target_schema: r.get(2),
        report_sha256: r.get(3),
        record,
    })
}

/// All runs, newest first.
pub fn runs(client: &mut impl GenericClient) -> Result<Vec<Run>> {
    if !exists(client)? {
        return Ok(Vec::new());
    }
    client
        .query(
            "SELECT run_id, status, target_schema, report_sha256, record::text FROM _pgshape.runs ORDER BY started_at DESC, run_id DESC",
            &[],
        )
        .map_err(Error::db("reading _pgshape.runs"))?
        .iter()
        .map(run_of)
        .collect::<Result<Vec<Run>>>()
}

/// One run by id, or the newest when `id` is `None`.
pub fn run(client: &mut impl GenericClient, id: Option<&str>) -> Result<Option<Run>> {
    let all = runs(client)?;
    Ok(match id {
        Some(id) => all.into_iter().find(|r| r.run_id == id),
        None => all.into_iter().next(),
    })
}

fn record_json(run: &Run) -> serde_json::Value {
    serde_json::to_value(&run.record).expect("a run record serialises")
}

/// Records a new run.
pub fn insert_run(client: &mut impl GenericClient, run: &Run) -> Result<()> {
    client
        .execute(
            "INSERT INTO _pgshape.runs (run_id, status, target_schema, report_sha256, record) VALUES ($1, $2, $3, $4, $5)",
            &[&run.run_id, &run.record.status.as_str(), &run.target_schema, &run.report_sha256, &record_json(run)],
        )
        .map_err(Error::db("recording the run"))?;
    Ok(())
}

/// Updates a run's status and record.
pub fn update_run(client: &mut impl GenericClient, run: &Run, finished: bool) -> Result<()> {
    client
        .execute(
            "UPDATE _pgshape.runs SET status = $2, record = $3, finished_at = CASE WHEN $4 THEN clock_timestamp() END WHERE run_id = $1",
            &[&run.run_id, &run.record.status.as_str(), &record_json(run), &finished],
        )
        .map_err(Error::db("updating the run"))?;
    Ok(())
}

/// Chunks of a run already loaded: (table, chunk index).
pub fn loaded_chunks(
    client: &mut impl GenericClient,
    run_id: &str,
) -> Result<std::collections::BTreeSet<(String, i32)>> {
    Ok(client
        .query(
            "SELECT table_name, chunk_index FROM _pgshape.chunks WHERE run_id = $1",
            &[&run_id],
        )
        .map_err(Error::db("reading the chunk ledger"))?
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect())
}

/// Records a loaded chunk and the content hash of the bytes sent (inside the chunk's COPY
/// transaction).
pub fn record_chunk(
    client: &mut impl GenericClient,
    run_id: &str,
    table: &str,
    chunk: i32,
    rows: i64,
    hash: &str,
) -> Result<()> {
    client
        .execute(
            "INSERT INTO _pgshape.chunks (run_id, table_name, chunk_index, rows, hash) VALUES ($1, $2, $3, $4, $5)",
            &[&run_id, &table, &chunk, &rows, &hash],
        )
        .map_err(Error::db("recording a chunk"))?;
    Ok(())
}

/// A chunk as the ledger holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerChunk {
    pub index: usize,
    pub rows: u64,
    /// `None` for a chunk loaded by a loader older than the `hash` column.
    pub hash: Option<String>,
}

/// A run's chunks per table, in chunk order.
pub fn chunks(
    client: &mut impl GenericClient,
    run_id: &str,
) -> Result<std::collections::BTreeMap<String, Vec<LedgerChunk>>> {
    let mut out: std::collections::BTreeMap<String, Vec<LedgerChunk>> = Default::default();
    for r in client
        .query(
            "SELECT table_name, chunk_index, rows, hash FROM _pgshape.chunks WHERE run_id = $1 ORDER BY table_name, chunk_index",
            &[&run_id],
        )
        .map_err(Error::db("reading the chunk ledger"))?
    {
        out.entry(r.get(0)).or_default().push(LedgerChunk {
            index: r.get::<_, i32>(1) as usize,
            rows: r.get::<_, i64>(2) as u64,
            hash: r.get(3),
        });
    }
    Ok(out)
}
