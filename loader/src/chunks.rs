//! The copy step: every chunk's `COPY ... FROM STDIN (FORMAT binary)` and its ledger row,
//! over the `--jobs` connections, skipping what the ledger has (resume).
//!
//! The pgbench recipe: a table none of whose chunks is in yet is loaded whole in one
//! transaction, TRUNCATE then `COPY ... (FREEZE)` of each of its chunks with their ledger rows,
//! so that every row is written frozen and every page all-visible. The rebuild that follows
//! then reads pages that need no hint bits set (no page written again), and the planner
//! validates foreign keys with index-only scans of the parent's key instead of hashing its
//! heap. Tables go side by side over the connections, the largest first. A stopped load keeps
//! the tables committed whole and redoes the one under way (its chunks roll back with it), so
//! resuming stays exact; a table that cannot be truncated (a foreign key from outside the run
//! points at it, or it is partitioned) or that has chunks in already is loaded chunk by chunk,
//! a transaction each.

use std::sync::Mutex;

use pgshape_core::conn::Target;
use pgshape_core::ident::{qualified, quote};
use pgshape_core::{Error, Result};
use postgres::{Client, GenericClient, Transaction};

use crate::options::Options;
use crate::source::{Source, TablePlan};
use crate::{content, ledger, parallel};

/// What one connection copies in one go: a whole table frozen in one transaction, or one
/// chunk in its own.
enum Work<'a> {
    Whole(&'a TablePlan),
    Chunk(&'a TablePlan, usize),
}

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
    let (mut whole, mut single): (Vec<Work<'_>>, Vec<Work<'_>>) = (Vec::new(), Vec::new());
    for t in tables {
        let begun = done.iter().any(|(name, _)| *name == t.name);
        if !begun && !t.chunks.is_empty() && freezable.contains(&t.name) {
            whole.push(Work::Whole(t));
            continue;
        }
        for &c in &t.chunks {
            if !done.contains(&(t.name.clone(), c as i32)) {
                single.push(Work::Chunk(t, c));
            }
        }
    }
    // The largest tables first, so that the others fill the connections beside them.
    whole.sort_by_key(|w| match w {
        Work::Whole(t) => std::cmp::Reverse((t.rows, t.chunks.len())),
        Work::Chunk(..) => unreachable!("whole tables only"),
    });
    let frozen = whole.len();
    let chunks: usize = tables.iter().map(|t| t.chunks.len()).sum::<usize>() - done.len();
    whole.append(&mut single);
    tracing::info!(run = %run_id, chunks, skipped = done.len(), frozen_tables = frozen, jobs, "loading");
    let sent = Mutex::new(content::Sent::new());
    let note = |table: &TablePlan, chunk: usize, rows: u64, hash: String| {
        sent.lock()
            .expect("lock")
            .insert((table.name.clone(), chunk), hash);
        on_rows(&table.name, rows);
    };
    parallel::on_target(target, jobs, &whole, |c, work| match *work {
        Work::Whole(table) => {
            let what = format!("loading {}", table.name);
            let mut tx = c.transaction().map_err(Error::db(what.clone()))?;
            // Empty by construction (the run refused or truncated foreign rows and has no
            // chunk of this table yet); TRUNCATE is what lets COPY write the rows frozen.
            tx.batch_execute(&format!("TRUNCATE {}", qualified(schema, &table.name)))
                .map_err(Error::db(what.clone()))?;
            let mut copied = Vec::with_capacity(table.chunks.len());
            for &chunk in &table.chunks {
                pgshape_core::interrupt::check()?;
                let (rows, hash) = copy_in(&mut tx, source, schema, run_id, table, chunk, true)?;
                copied.push((chunk, rows, hash));
            }
            tx.commit().map_err(Error::db(what))?;
            for (chunk, rows, hash) in copied {
                note(table, chunk, rows, hash);
            }
            Ok(())
        }
        Work::Chunk(table, chunk) => {
            let what = format!("loading chunk {chunk} of {}", table.name);
            let mut tx = c.transaction().map_err(Error::db(what.clone()))?;
            let (rows, hash) = copy_in(&mut tx, source, schema, run_id, table, chunk, false)?;
            tx.commit().map_err(Error::db(what))?;
            note(table, chunk, rows, hash);
            Ok(())
        }
    })?;
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

/// One chunk's COPY and its ledger row inside `tx`; `freeze` writes the rows frozen (the table
/// was truncated in `tx`).
fn copy_in(
    tx: &mut Transaction<'_>,
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
    let mut writer = tx.copy_in(&sql).map_err(Error::db(what.clone()))?;
    let (expected, hash) = source.write_chunk(&table.name, chunk, &mut writer)?;
    let rows = writer.finish().map_err(Error::db(what))?;
    if rows != expected {
        return Err(Error::Invalid {
            path: table.name.clone().into(),
            message: format!(
                "chunk {chunk}: the server took {rows} rows, the dataset says {expected}"
            ),
        });
    }
    ledger::record_chunk(tx, run_id, &table.name, chunk as i32, rows as i64, &hash)?;
    Ok((rows, hash))
}
