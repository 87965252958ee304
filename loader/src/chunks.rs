//! The copy step: every chunk's `COPY ... FROM STDIN (FORMAT binary)` and its ledger row in one
//! transaction, over the `--jobs` connections, skipping what the ledger has (resume).
//!
//! The pgbench recipe: a table none of whose chunks is in yet gets its first chunk with
//! TRUNCATE + COPY FREEZE in one transaction (rows written frozen, no later hint-bit or
//! anti-wraparound rewrite). The other chunks of that table wait for it: a TRUNCATE must not
//! empty a chunk another connection has committed.

use std::collections::BTreeSet;
use std::sync::Mutex;

use pgshape_core::conn::Target;
use pgshape_core::ident::{qualified, quote};
use pgshape_core::{Error, Result};
use postgres::{Client, GenericClient};

use crate::options::Options;
use crate::source::{Source, TablePlan};
use crate::{content, ledger, parallel};

/// One chunk to copy; `freeze` empties its table first and writes it frozen.
type Work<'a> = (&'a TablePlan, usize, bool);

/// Copies every chunk of `tables` the ledger of `run_id` lacks; returns the content hashes of
/// the chunks sent.
pub fn copy_all(
    client: &mut Client,
    target: &Target,
    source: &Source,
    opts: &Options,
    run_id: &str,
    tables: &[TablePlan],
    on_rows: &(dyn Fn(&str, u64) + Sync),
) -> Result<content::Sent> {
    let (schema, jobs) = (opts.schema.as_str(), opts.jobs);
    let done = ledger::loaded_chunks(client, run_id)?;
    let names: Vec<String> = tables.iter().map(|t| t.name.clone()).collect();
    let freezable = freezable(client, schema, &names)?;
    let mut begun: BTreeSet<&str> = done.iter().map(|(t, _)| t.as_str()).collect();
    let (mut first, mut rest): (Vec<Work<'_>>, Vec<Work<'_>>) = (Vec::new(), Vec::new());
    for t in tables {
        for &c in &t.chunks {
            if done.contains(&(t.name.clone(), c as i32)) {
                continue;
            }
            if freezable.contains(&t.name) && begun.insert(&t.name) {
                first.push((t, c, true));
            } else {
                rest.push((t, c, false));
            }
        }
    }
    tracing::info!(run = %run_id, chunks = first.len() + rest.len(), skipped = done.len(), frozen = first.len(), jobs, "loading");
    let sent = Mutex::new(content::Sent::new());
    for phase in [&first, &rest] {
        parallel::on_target(target, jobs, phase, |c, &(table, chunk, freeze)| {
            let (rows, hash) = copy_one(c, source, schema, run_id, table, chunk, freeze)?;
            sent.lock()
                .expect("lock")
                .insert((table.name.clone(), chunk), hash);
            on_rows(&table.name, rows);
            Ok(())
        })?;
    }
    Ok(sent.into_inner().expect("lock"))
}

/// Tables that may be loaded with TRUNCATE + COPY FREEZE: plain tables no remaining foreign
/// key points at (the loader set aside those among its own tables; one from elsewhere would
/// make TRUNCATE fail).
fn freezable(
    client: &mut impl GenericClient,
    schema: &str,
    names: &[String],
) -> Result<Vec<String>> {
    Ok(client
        .query(
            "SELECT c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
              WHERE n.nspname = $1 AND c.relname = ANY($2) AND c.relkind = 'r'
                AND NOT EXISTS (SELECT 1 FROM pg_constraint f WHERE f.contype = 'f' AND f.confrelid = c.oid)",
            &[&schema, &names],
        )
        .map_err(Error::db("looking for tables to load frozen"))?
        .iter()
        .map(|r| r.get(0))
        .collect())
}

fn copy_one(
    client: &mut Client,
    source: &Source,
    schema: &str,
    run_id: &str,
    table: &TablePlan,
    chunk: usize,
    freeze: bool,
) -> Result<(u64, String)> {
    let rel = qualified(schema, &table.name);
    let cols: Vec<String> = table.columns.iter().map(|c| quote(c)).collect();
    let sql = format!(
        "COPY {rel} ({}) FROM STDIN (FORMAT binary{})",
        cols.join(", "),
        if freeze { ", FREEZE" } else { "" }
    );
    let what = format!("loading chunk {chunk} of {}", table.name);
    let mut tx = client.transaction().map_err(Error::db(what.clone()))?;
    if freeze {
        // Empty by construction (the run refused or truncated foreign rows and has no chunk
        // of this table yet); TRUNCATE is what lets COPY write the rows frozen.
        tx.batch_execute(&format!("TRUNCATE {rel}"))
            .map_err(Error::db(what.clone()))?;
    }
    let mut writer = tx.copy_in(&sql).map_err(Error::db(what.clone()))?;
    let (expected, hash) = source.write_chunk(&table.name, chunk, &mut writer)?;
    let rows = writer.finish().map_err(Error::db(what.clone()))?;
    if rows != expected {
        return Err(Error::Invalid {
            path: table.name.clone().into(),
            message: format!(
                "chunk {chunk}: the server took {rows} rows, the dataset says {expected}"
            ),
        });
    }
    ledger::record_chunk(
        &mut tx,
        run_id,
        &table.name,
        chunk as i32,
        rows as i64,
        &hash,
    )?;
    tx.commit().map_err(Error::db(what))?;
    Ok((rows, hash))
}
