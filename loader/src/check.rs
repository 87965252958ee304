//! The load's own checks, each at near-zero cost: per table the server's row count (from the
//! fused ANALYZE + row-hash scan) against the report's (COPY's counts summed over the ledger
//! when streaming), per foreign key that PostgreSQL validated it (a scan only for one the
//! schema declared `NOT VALID`), and per table the content hash recomputed from the ledger
//! (hashes of the bytes sent) against the report's, or the generator's when streaming.

use std::collections::BTreeMap;

use pgshape_core::run_record::{
    ContentCheck, Count, ForeignKeyCheck, Integrity, RunResult, TableHash, Timings,
};
use pgshape_core::Result;
use postgres::Client;

use crate::source::{Source, TablePlan};
use crate::{content, integrity, ledger};

/// Runs the checks after a load of `tables` by run `run_id`: the run's result, its timings
/// left for the caller.
pub fn after_load(
    client: &mut Client,
    source: &Source,
    tables: &[TablePlan],
    run_id: &str,
    schema: &str,
    hashes: Vec<(String, TableHash)>,
    sent: &content::Sent,
) -> Result<RunResult> {
    let hashes: BTreeMap<String, TableHash> = hashes.into_iter().collect();
    let in_ledger = ledger::chunks(client, run_id)?;
    let mut counts = BTreeMap::new();
    for t in tables {
        let loaded: u64 = in_ledger
            .get(&t.name)
            .map_or(0, |c| c.iter().map(|c| c.rows).sum());
        counts.insert(
            t.name.clone(),
            Count {
                expected: t.rows.unwrap_or(loaded) as i64,
                actual: hashes[&t.name].rows,
            },
        );
    }
    let names: Vec<String> = tables.iter().map(|t| t.name.clone()).collect();
    let foreign_keys = integrity::foreign_keys(client, schema, &names)?;
    let fk_checks = foreign_keys
        .iter()
        .map(|fk| integrity::check_foreign_key(client, schema, fk, false))
        .collect::<Result<Vec<ForeignKeyCheck>>>()?;
    let expected = content::expected(source, tables, sent)?;
    let content: Vec<ContentCheck> = tables
        .iter()
        .map(|t| {
            content::check(
                &t.name,
                in_ledger.get(&t.name).map_or(&[][..], Vec::as_slice),
                &expected[&t.name],
            )
        })
        .collect();
    let integrity = Integrity {
        counts_match: counts.values().all(|c| c.expected == c.actual),
        referential_integrity: fk_checks.iter().all(|f| f.present && f.orphans == 0),
        foreign_keys: fk_checks,
        content_hash_match: content.iter().all(|c| c.ok),
        content_mismatches: content.iter().filter(|c| !c.ok).cloned().collect(),
    };
    Ok(RunResult {
        counts,
        hashes,
        content_hashes: content
            .iter()
            .map(|c| (c.table.clone(), c.loaded.clone()))
            .collect(),
        expected_content_hashes: content.into_iter().map(|c| (c.table, c.expected)).collect(),
        foreign_keys,
        integrity,
        timings_ms: Timings::default(),
    })
}
