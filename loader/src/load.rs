//! A load run: DDL (recording exactly what it created), constraints and secondary indexes set
//! aside, binary COPY of every chunk with its ledger row in the same transaction (so a killed
//! load resumes where it stopped), constraints and indexes rebuilt (foreign keys validated),
//! ANALYZE, integrity checks (counts, orphans, fan-out, server-side hashes, and the content
//! hashes of the ledger against the dataset's), and the run record on the target and in
//! `docs/perf-data/`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Instant;

use anyhow::Context as _;
use pgshape_core::conn::{Session, Target};
use pgshape_core::ident::{qualified, quote};
use pgshape_core::{artifact, Error, Result};
use postgres::{Client, GenericClient, Transaction};
use serde_json::{json, Value};

use crate::ledger::{self, Run};
use crate::source::{Source, TablePlan};
use crate::{content, integrity, parallel};

/// How to load.
#[derive(Debug, Clone)]
pub struct Options {
    pub schema: String,
    pub create_schema: bool,
    pub jobs: usize,
    pub environment: String,
    /// Empty tables that hold rows this loader did not load (otherwise refused).
    pub truncate: bool,
    pub prewarm: bool,
    pub unlogged: bool,
    pub metadata_dir: PathBuf,
    /// Where a streamed spec's DDL path is relative to.
    pub spec_dir: Option<PathBuf>,
    /// Only these tables (empty: all).
    pub only: Vec<String>,
}

/// The end of a run.
#[derive(Debug)]
pub struct Outcome {
    pub run_id: String,
    pub record: Value,
    /// Counts as expected and no orphans.
    pub ok: bool,
    pub run_file: PathBuf,
}

/// Why a load was refused for safety (exit code 4).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Refused(pub String);

/// The loader's session: `synchronous_commit = off` is safe here, since a chunk and its ledger
/// row are kept or lost together, so a crash can only send a resume back over whole chunks.
pub(crate) fn session() -> Session {
    Session {
        application_name: "pgshape-loader".into(),
        settings: vec![("synchronous_commit".into(), "off".into())],
    }
}

/// Loads `source` into `target`, resuming an unfinished run of the same data and schema.
pub fn load(
    target: &Target,
    source: &Source,
    opts: &Options,
    on_rows: &(dyn Fn(&str, u64) + Sync),
) -> anyhow::Result<Outcome> {
    let started = Instant::now();
    let mut client = target.connect(&session())?;
    ledger::ensure(&mut client)?;
    let tables: Vec<TablePlan> = source
        .tables()
        .into_iter()
        .filter(|t| opts.only.is_empty() || opts.only.contains(&t.name))
        .collect();
    let names: Vec<String> = tables.iter().map(|t| t.name.clone()).collect();

    let existing = ledger::runs(&mut client)?.into_iter().find(|r| {
        r.report_sha256 == source.identity()
            && r.target_schema == opts.schema
            && r.status != "torn-down"
    });
    let mut run = match existing {
        Some(r) if r.status == "done" => {
            return Err(Refused(format!(
                "run {} already loaded this dataset into schema {}; tear it down first (pgshape-loader teardown --run {})",
                r.run_id, opts.schema, r.run_id
            ))
            .into())
        }
        Some(r) => {
            tracing::info!(run = %r.run_id, "resuming an unfinished run");
            r
        }
        None => prepare(&mut client, target, source, opts, &names)?,
    };
    // From here on the run is recorded: whatever stops it, running the same command again
    // resumes it (chunks in the ledger are kept; rebuild, ANALYZE and checks are idempotent).
    let run_id = run.run_id.clone();
    let go = || -> anyhow::Result<Outcome> {
        // Chunks, all tables, in load order; skipping what the ledger has.
        let done = ledger::loaded_chunks(&mut client, &run.run_id)?;
        let work: Vec<(&TablePlan, usize)> = tables
            .iter()
            .flat_map(|t| t.chunks.iter().map(move |&c| (t, c)))
            .filter(|(t, c)| !done.contains(&(t.name.clone(), *c as i32)))
            .collect();
        // The pgbench recipe: a table none of whose chunks is in yet gets its first chunk with
        // TRUNCATE + COPY FREEZE in one transaction (rows written frozen, no later hint-bit or
        // anti-wraparound rewrite). The other chunks of that table wait for it: a TRUNCATE
        // must not empty a chunk another connection has committed.
        let freezable = freezable(&mut client, &opts.schema, &names)?;
        let mut begun: BTreeSet<&str> = done.iter().map(|(t, _)| t.as_str()).collect();
        let (mut first, mut rest) = (Vec::new(), Vec::new());
        for &(t, c) in &work {
            if freezable.contains(&t.name) && begun.insert(&t.name) {
                first.push((t, c, true));
            } else {
                rest.push((t, c, false));
            }
        }
        tracing::info!(run = %run.run_id, chunks = work.len(), skipped = done.len(), frozen = first.len(), jobs = opts.jobs, "loading");
        let copy_started = Instant::now();
        let prepare_ms = (copy_started - started).as_millis() as u64;
        let sent = Mutex::new(content::Sent::new());
        for phase in [&first, &rest] {
            copy_chunks(target, source, opts, &run.run_id, phase, &sent, on_rows)?;
        }
        let copy_ms = copy_started.elapsed().as_millis() as u64;

        // Rebuild what was set aside, validate, analyse.
        let rebuild_started = Instant::now();
        restore_parallel(&mut client, target, opts.jobs, &run.record)?;
        advance_sequences(&mut client, &opts.schema, &names)?;
        let rebuild_ms = rebuild_started.elapsed().as_millis() as u64;
        let analyze_started = Instant::now();
        parallel::on_target(target, opts.jobs, &names, |c, t| {
            c.batch_execute(&format!("ANALYZE {}", qualified(&opts.schema, t)))
                .map_err(Error::db(format!("ANALYZE {t}")))
        })?;
        let analyze_ms = analyze_started.elapsed().as_millis() as u64;
        let prewarm_started = Instant::now();
        if opts.prewarm {
            client
                .batch_execute("CREATE EXTENSION IF NOT EXISTS pg_prewarm")
                .map_err(Error::db("installing pg_prewarm"))?;
            for t in &names {
                client
                    .query_one(
                        "SELECT pg_prewarm($1::regclass)",
                        &[&qualified(&opts.schema, t)],
                    )
                    .map_err(Error::db(format!("pg_prewarm {t}")))?;
            }
        }

        let prewarm_ms = prewarm_started.elapsed().as_millis() as u64;

        // Integrity.
        let integrity_started = Instant::now();
        let checks = integrity::check_tables_on(target, opts.jobs, &opts.schema, &names)?;
        let orphans = integrity::orphans(&mut client, &opts.schema, &names)?;
        let fanouts = integrity::check_fanouts_on(target, opts.jobs, &opts.schema, &tables)?;
        let fanouts_ok = fanouts.iter().all(|f| f.ok);
        let loaded: BTreeMap<String, i64> = client
            .query("SELECT table_name, sum(rows)::bigint FROM _pgshape.chunks WHERE run_id = $1 GROUP BY 1", &[&run.run_id])
            .map_err(Error::db("summing the ledger"))?
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect();
        let mut counts_ok = true;
        let mut counts = serde_json::Map::new();
        for t in &tables {
            let actual = checks[&t.name].rows;
            let expected = t
                .rows
                .map(|r| r as i64)
                .unwrap_or_else(|| loaded.get(&t.name).copied().unwrap_or(0));
            counts_ok &= actual == expected;
            counts.insert(
                t.name.clone(),
                json!({"expected": expected, "actual": actual}),
            );
        }
        let orphans_total: i64 = orphans.iter().map(|o| o.orphans).sum();

        // Content: the ledger's chunk hashes (of the bytes sent) against the report's, or the
        // generator's when streaming.
        let content_started = Instant::now();
        let integrity_ms = (content_started - integrity_started).as_millis() as u64;
        let expected = content::expected(source, &tables, &sent.into_inner().expect("lock"))?;
        let in_ledger = ledger::chunks(&mut client, &run.run_id)?;
        let content: Vec<content::ContentCheck> = tables
            .iter()
            .map(|t| {
                content::check(
                    &t.name,
                    in_ledger.get(&t.name).map_or(&[][..], Vec::as_slice),
                    &expected[&t.name],
                )
            })
            .collect();
        let content_ms = content_started.elapsed().as_millis() as u64;
        let content_ok = content.iter().all(|c| c.ok);
        let ok = counts_ok && orphans_total == 0 && fanouts_ok && content_ok;

        let rec = run
            .record
            .as_object_mut()
            .expect("a run record is an object");
        rec.insert("counts".into(), Value::Object(counts));
        let mismatches: Vec<&content::ContentCheck> = content.iter().filter(|c| !c.ok).collect();
        rec.insert("integrity".into(), json!({"counts_match": counts_ok, "orphans": orphans, "referential_integrity": orphans_total == 0, "fanout_match": fanouts_ok, "content_hash_match": content_ok, "content_mismatches": mismatches}));
        rec.insert("hashes".into(), serde_json::to_value(&checks)?);
        rec.insert(
            "content_hashes".into(),
            content
                .iter()
                .map(|c| (c.table.clone(), json!(c.loaded)))
                .collect(),
        );
        rec.insert(
            "expected_content_hashes".into(),
            content
                .iter()
                .map(|c| (c.table.clone(), json!(c.expected)))
                .collect(),
        );
        rec.insert("fanout".into(), serde_json::to_value(&fanouts)?);
        rec.insert(
            "timings_ms".into(),
            json!({
                "prepare": prepare_ms,
                "copy": copy_ms,
                "rebuild": rebuild_ms,
                "analyze": analyze_ms,
                "prewarm": prewarm_ms,
                "integrity": integrity_ms,
                "content": content_ms,
                "total": started.elapsed().as_millis() as u64,
            }),
        );
        rec.insert(
            "finished_at".into(),
            json!(chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
        );
        run.status = if ok {
            "done".into()
        } else {
            "failed-integrity".into()
        };
        rec.insert("status".into(), json!(run.status));
        ledger::update_run(&mut client, &run, true)?;

        std::fs::create_dir_all(&opts.metadata_dir).map_err(|source| Error::Io {
            path: opts.metadata_dir.clone(),
            source,
        })?;
        let run_file = opts.metadata_dir.join(format!("run_{}.json", run.run_id));
        artifact::write_json(&run_file, &run.record)?;
        Ok(Outcome {
            run_id: run.run_id,
            record: run.record,
            ok,
            run_file,
        })
    };
    go().with_context(|| {
        format!("run {run_id} stopped; what it loaded is kept: run the same command again to resume (`pgshape-loader status` shows progress)")
    })
}

/// A new run: schema and DDL (recording what they created), refusal of foreign rows,
/// constraints and secondary indexes set aside, the run row — all in one transaction, so a
/// run is recorded exactly when its DDL took effect.
fn prepare(
    client: &mut Client,
    target: &Target,
    source: &Source,
    opts: &Options,
    names: &[String],
) -> anyhow::Result<Run> {
    let mut tx = client
        .transaction()
        .map_err(Error::db("starting the run"))?;
    let run = prepare_in(&mut tx, target, source, opts, names)?;
    tx.commit().map_err(Error::db("recording the run"))?;
    Ok(run)
}

fn prepare_in(
    client: &mut Transaction<'_>,
    target: &Target,
    source: &Source,
    opts: &Options,
    names: &[String],
) -> anyhow::Result<Run> {
    let s = &opts.schema;
    let schema_existed: bool = client
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)",
            &[s],
        )
        .map_err(Error::db("looking up the schema"))?
        .get(0);
    let before = objects(client, s)?;
    let missing: Vec<&String> = names
        .iter()
        .filter(|n| !before.iter().any(|(k, o)| k == "table" && o == *n))
        .collect();
    if !missing.is_empty() {
        if !opts.create_schema {
            return Err(Error::Invalid {
                path: s.into(),
                message: format!("tables {:?} do not exist in schema {s}; pass --create-schema to run the dataset's DDL", missing),
            }
            .into());
        }
        let ddl = source
            .ddl(opts.spec_dir.as_deref())?
            .ok_or_else(|| Error::Invalid {
                path: s.into(),
                message: "the dataset has no DDL to create its tables from".into(),
            })?;
        client
            .batch_execute(&format!(
                "CREATE SCHEMA IF NOT EXISTS {}; SET LOCAL search_path = {};",
                quote(s),
                quote(s)
            ))
            .map_err(Error::db("creating the schema"))?;
        client
            .batch_execute(&ddl)
            .map_err(Error::db("running the dataset's DDL"))?;
        client
            .batch_execute("RESET search_path")
            .map_err(Error::db("resetting search_path"))?;
    }
    let after = objects(client, s)?;
    let created: Vec<Value> = after
        .iter()
        .filter(|o| !before.contains(o))
        .map(|(kind, name)| json!({"kind": kind, "name": name}))
        .collect();

    // Refuse rows this loader did not put there.
    let mut foreign = Vec::new();
    for t in names {
        let has_rows: bool = client
            .query_one(
                &format!("SELECT EXISTS (SELECT 1 FROM {})", qualified(s, t)),
                &[],
            )
            .map_err(Error::db(format!("looking into {t}")))?
            .get(0);
        if has_rows {
            foreign.push(t.clone());
        }
    }
    if !foreign.is_empty() {
        if !opts.truncate {
            return Err(Refused(format!(
                "tables {} of schema {s} already hold rows pgshape did not load; pass --truncate to empty them first",
                foreign.join(", ")
            ))
            .into());
        }
        let list: Vec<String> = foreign.iter().map(|t| qualified(s, t)).collect();
        client
            .batch_execute(&format!("TRUNCATE {}", list.join(", ")))
            .map_err(Error::db("truncating"))?;
    }
    if opts.unlogged {
        for t in names {
            client
                .batch_execute(&format!("ALTER TABLE {} SET UNLOGGED", qualified(s, t)))
                .map_err(Error::db(format!("SET UNLOGGED {t}")))?;
        }
    }

    let set_aside = set_aside(client, s, names)?;
    let run_id = format!(
        "{}-{:04x}",
        chrono::Utc::now().format("%Y%m%dT%H%M%SZ"),
        std::process::id() & 0xffff
    );
    let record = json!({
        "run_id": run_id,
        "started_at": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "tool_version": pgshape_core::TOOL_VERSION,
        "environment": opts.environment,
        "target": target.describe(),
        "schema": s,
        "dataset": source.identity(),
        "dataset_kind": match source { Source::Files { .. } => "files", Source::Stream { .. } => "stream" },
        "schema_created": !schema_existed,
        "created": created,
        "truncated": foreign,
        "tables": names,
        "set_aside": set_aside,
        "jobs": opts.jobs,
    });
    let run = Run {
        run_id,
        status: "loading".into(),
        target_schema: s.clone(),
        report_sha256: source.identity().to_string(),
        record,
    };
    ledger::insert_run(client, &run)?;
    Ok(run)
}

/// Tables, sequences and user types of a schema: (kind, name).
fn objects(client: &mut impl GenericClient, schema: &str) -> Result<Vec<(String, String)>> {
    Ok(client
        .query(
            "SELECT CASE c.relkind WHEN 'S' THEN 'sequence' WHEN 'v' THEN 'view' WHEN 'm' THEN 'view' ELSE 'table' END, c.relname::text
               FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
              WHERE n.nspname = $1 AND c.relkind IN ('r', 'p', 'S', 'v', 'm')
             UNION ALL
             SELECT 'type', t.typname::text
               FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
              WHERE n.nspname = $1 AND t.typtype IN ('e', 'd') 
             ORDER BY 1, 2",
            &[&schema],
        )
        .map_err(Error::db("listing the schema's objects"))?
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect())
}

/// Drops foreign keys, primary and unique constraints and secondary indexes of the tables,
/// returning what is needed to rebuild them (the pgbench recipe: load bare tables, then keys,
/// then foreign keys).
fn set_aside(client: &mut impl GenericClient, schema: &str, names: &[String]) -> Result<Value> {
    let constraints = client
        .query(
            "SELECT c.contype::text, rel.relname::text, c.conname::text, pg_get_constraintdef(c.oid)
               FROM pg_constraint c JOIN pg_class rel ON rel.oid = c.conrelid JOIN pg_namespace n ON n.oid = rel.relnamespace
              WHERE n.nspname = $1 AND rel.relname = ANY($2) AND c.contype IN ('f', 'p', 'u')
              ORDER BY CASE c.contype WHEN 'f' THEN 0 ELSE 1 END, rel.relname, c.conname",
            &[&schema, &names],
        )
        .map_err(Error::db("reading constraints"))?;
    let indexes = client
        .query(
            "SELECT ic.relname::text, pg_get_indexdef(i.indexrelid)
               FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid JOIN pg_class rel ON rel.oid = i.indrelid
               JOIN pg_namespace n ON n.oid = rel.relnamespace
              WHERE n.nspname = $1 AND rel.relname = ANY($2)
                AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)
              ORDER BY 1",
            &[&schema, &names],
        )
        .map_err(Error::db("reading indexes"))?;
    let tx = client;
    let mut saved_constraints = Vec::new();
    for r in &constraints {
        let (kind, table, name, def): (String, String, String, String) =
            (r.get(0), r.get(1), r.get(2), r.get(3));
        tx.batch_execute(&format!(
            "ALTER TABLE {} DROP CONSTRAINT {}",
            qualified(schema, &table),
            quote(&name)
        ))
        .map_err(Error::db(format!("dropping constraint {name}")))?;
        saved_constraints
            .push(json!({"kind": kind, "table": table, "name": name, "definition": def}));
    }
    let mut saved_indexes = Vec::new();
    for r in &indexes {
        let (name, def): (String, String) = (r.get(0), r.get(1));
        tx.batch_execute(&format!("DROP INDEX {}", qualified(schema, &name)))
            .map_err(Error::db(format!("dropping index {name}")))?;
        saved_indexes.push(json!({"name": name, "definition": def}));
    }
    Ok(json!({"schema": schema, "constraints": saved_constraints, "indexes": saved_indexes}))
}

/// Rebuilds what `set_aside` dropped: keys, then indexes, then foreign keys (validated).
/// Idempotent, so a resumed run can call it again.
pub fn restore(client: &mut Client, record: &Value) -> Result<()> {
    let (schema, constraints, indexes) = set_aside_of(record);
    for c in constraints.iter().filter(|c| c["kind"] != "f") {
        restore_constraint(client, schema, c)?;
    }
    for i in &indexes {
        restore_index(client, i)?;
    }
    for c in constraints.iter().filter(|c| c["kind"] == "f") {
        restore_constraint(client, schema, c)?;
    }
    Ok(())
}

/// [`restore`] with the keys, then the indexes, built over `jobs` connections (statements on
/// one table wait for each other's lock; none takes two tables' locks, so none deadlocks),
/// then the foreign keys on `client`, one at a time (two of them may lock the same two tables
/// in opposite orders).
fn restore_parallel(
    client: &mut Client,
    target: &Target,
    jobs: usize,
    record: &Value,
) -> Result<()> {
    let (schema, constraints, indexes) = set_aside_of(record);
    let keys: Vec<&Value> = constraints
        .iter()
        .copied()
        .filter(|c| c["kind"] != "f")
        .collect();
    parallel::on_target(target, jobs, &keys, |c, k| restore_constraint(c, schema, k))?;
    parallel::on_target(target, jobs, &indexes, |c, i| restore_index(c, i))?;
    for c in constraints.iter().filter(|c| c["kind"] == "f") {
        restore_constraint(client, schema, c)?;
    }
    Ok(())
}

/// The schema, constraints and indexes a run record says were set aside.
fn set_aside_of(record: &Value) -> (&str, Vec<&Value>, Vec<&Value>) {
    let aside = &record["set_aside"];
    let list = |key: &str| -> Vec<&Value> {
        aside[key]
            .as_array()
            .map(|a| a.iter().collect())
            .unwrap_or_default()
    };
    (
        aside["schema"].as_str().unwrap_or("public"),
        list("constraints"),
        list("indexes"),
    )
}

/// Re-creates one set-aside index unless it exists.
fn restore_index(client: &mut Client, i: &Value) -> Result<()> {
    let def = i["definition"].as_str().unwrap_or_default();
    let def = def
        .replacen("CREATE INDEX ", "CREATE INDEX IF NOT EXISTS ", 1)
        .replacen(
            "CREATE UNIQUE INDEX ",
            "CREATE UNIQUE INDEX IF NOT EXISTS ",
            1,
        );
    client
        .batch_execute(&def)
        .map_err(Error::db(format!("rebuilding index {}", i["name"])))
}

/// Re-adds one set-aside constraint unless it exists (a foreign key is validated as added).
fn restore_constraint(client: &mut Client, schema: &str, c: &Value) -> Result<()> {
    let (table, name, def) = (
        c["table"].as_str().unwrap_or_default(),
        c["name"].as_str().unwrap_or_default(),
        c["definition"].as_str().unwrap_or_default(),
    );
    let exists: bool = client
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM pg_constraint c JOIN pg_class r ON r.oid = c.conrelid
                             JOIN pg_namespace n ON n.oid = r.relnamespace
                            WHERE n.nspname = $1 AND r.relname = $2 AND c.conname = $3)",
            &[&schema, &table, &name],
        )
        .map_err(Error::db("looking up a constraint"))?
        .get(0);
    if exists {
        return Ok(());
    }
    client
        .batch_execute(&format!(
            "ALTER TABLE {} ADD CONSTRAINT {} {def}",
            qualified(schema, table),
            quote(name)
        ))
        .map_err(Error::db(format!("restoring constraint {name} on {table}")))
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

/// COPYs the chunks with `opts.jobs` connections; each chunk and its ledger row commit
/// together. A chunk marked `freeze` empties its table first and is written frozen.
fn copy_chunks(
    target: &Target,
    source: &Source,
    opts: &Options,
    run_id: &str,
    work: &[(&TablePlan, usize, bool)],
    sent: &Mutex<content::Sent>,
    on_rows: &(dyn Fn(&str, u64) + Sync),
) -> Result<()> {
    parallel::on_target(
        target,
        opts.jobs,
        work,
        |client, &(table, chunk, freeze)| {
            let (rows, hash) =
                copy_one(client, source, &opts.schema, run_id, table, chunk, freeze)?;
            sent.lock()
                .expect("lock")
                .insert((table.name.clone(), chunk), hash);
            on_rows(&table.name, rows);
            Ok(())
        },
    )?;
    Ok(())
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

/// Moves every sequence a loaded column owns (identity and serial columns, whose values COPY
/// wrote explicitly, `GENERATED ALWAYS` included) past the column's largest value, so the
/// next `INSERT` does not collide. Idempotent.
fn advance_sequences(client: &mut Client, schema: &str, names: &[String]) -> Result<()> {
    for t in names {
        let rel = qualified(schema, t);
        let owned = client
            .query(
                "SELECT a.attname::text, pg_get_serial_sequence($1, a.attname::text)
                   FROM pg_attribute a
                  WHERE a.attrelid = $1::regclass AND a.attnum > 0 AND NOT a.attisdropped
                    AND pg_get_serial_sequence($1, a.attname::text) IS NOT NULL",
                &[&rel],
            )
            .map_err(Error::db(format!("sequences of {t}")))?;
        for r in owned {
            let (col, seq): (String, String) = (r.get(0), r.get(1));
            client
                .execute(
                    &format!(
                        "SELECT setval($1::text::regclass, m) FROM (SELECT max({}) AS m FROM {rel}) x WHERE m IS NOT NULL",
                        quote(&col)
                    ),
                    &[&seq],
                )
                .map_err(Error::db(format!("advancing the sequence of {t}.{col}")))?;
        }
    }
    Ok(())
}

/// A client as the loader connects.
pub fn connect(target: &Target) -> Result<Client> {
    target.connect(&session())
}
