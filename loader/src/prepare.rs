//! A new run: schema and DDL (recording exactly what they created), refusal of rows this
//! loader did not load, constraints and secondary indexes set aside, the run row — all in one
//! transaction, so a run is recorded exactly when its DDL took effect.

use pgshape_core::conn::Target;
use pgshape_core::ident::{qualified, quote};
use pgshape_core::run_record::{
    CreatedObject, DatasetKind, ExpectedFanout, RunRecord, RunStatus, SavedConstraint, SavedIndex,
    SetAside,
};
use pgshape_core::{Error, Result};
use postgres::{Client, GenericClient, Transaction};

use crate::ledger::{self, Run};
use crate::options::{LoadError, Options, Refused};
use crate::source::{Source, TablePlan};

/// Records a new run of `tables` from `source`, in one transaction.
pub fn new_run(
    client: &mut Client,
    target: &Target,
    source: &Source,
    opts: &Options,
    tables: &[TablePlan],
) -> Result<Run, LoadError> {
    let mut tx = client
        .transaction()
        .map_err(Error::db("starting the run"))?;
    let run = prepare_in(&mut tx, target, source, opts, tables)?;
    tx.commit().map_err(Error::db("recording the run"))?;
    Ok(run)
}

fn prepare_in(
    tx: &mut Transaction<'_>,
    target: &Target,
    source: &Source,
    opts: &Options,
    tables: &[TablePlan],
) -> Result<Run, LoadError> {
    let s = &opts.schema;
    let names: Vec<String> = tables.iter().map(|t| t.name.clone()).collect();
    let schema_existed: bool = tx
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)",
            &[s],
        )
        .map_err(Error::db("looking up the schema"))?
        .get(0);
    let before = objects(tx, s)?;
    create_tables(tx, source, opts, &names, &before)?;
    let created: Vec<CreatedObject> = objects(tx, s)?
        .into_iter()
        .filter(|o| !before.contains(o))
        .map(|(kind, name)| CreatedObject { kind, name })
        .collect();
    let truncated = refuse_foreign_rows(tx, opts, &names)?;
    if opts.unlogged {
        for t in &names {
            tx.batch_execute(&format!("ALTER TABLE {} SET UNLOGGED", qualified(s, t)))
                .map_err(Error::db(format!("SET UNLOGGED {t}")))?;
        }
    }
    let set_aside = set_aside(tx, s, &names)?;
    let now = chrono::Utc::now();
    let run_id = format!(
        "{}-{:04x}",
        now.format("%Y%m%dT%H%M%SZ"),
        std::process::id() & 0xffff
    );
    let record = RunRecord {
        run_id: run_id.clone(),
        started_at: now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        finished_at: None,
        status: RunStatus::Loading,
        tool_version: pgshape_core::TOOL_VERSION.into(),
        environment: opts.environment.clone(),
        target: target.describe(),
        schema: s.clone(),
        dataset: source.identity().into(),
        dataset_kind: match source {
            Source::Files { .. } => DatasetKind::Files,
            Source::Stream { .. } => DatasetKind::Stream,
        },
        schema_created: !schema_existed,
        created,
        truncated,
        tables: names,
        set_aside,
        jobs: opts.jobs,
        expected_fanout: expected_fanout(tables),
        result: None,
    };
    let run = Run {
        run_id,
        target_schema: s.clone(),
        report_sha256: source.identity().to_string(),
        record,
    };
    ledger::insert_run(tx, &run)?;
    Ok(run)
}

/// Runs the dataset's DDL when a table is missing (with `--create-schema`).
fn create_tables(
    tx: &mut Transaction<'_>,
    source: &Source,
    opts: &Options,
    names: &[String],
    before: &[(String, String)],
) -> Result<()> {
    let s = &opts.schema;
    let missing: Vec<&String> = names
        .iter()
        .filter(|n| !before.iter().any(|(k, o)| k == "table" && o == *n))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    if !opts.create_schema {
        return Err(Error::Invalid {
            path: s.into(),
            message: format!("tables {missing:?} do not exist in schema {s}; pass --create-schema to run the dataset's DDL"),
        });
    }
    let ddl = source
        .ddl(opts.spec_dir.as_deref())?
        .ok_or_else(|| Error::Invalid {
            path: s.into(),
            message: "the dataset has no DDL to create its tables from".into(),
        })?;
    tx.batch_execute(&format!(
        "CREATE SCHEMA IF NOT EXISTS {}; SET LOCAL search_path = {};",
        quote(s),
        quote(s)
    ))
    .map_err(Error::db("creating the schema"))?;
    tx.batch_execute(&ddl)
        .map_err(Error::db("running the dataset's DDL"))?;
    tx.batch_execute("RESET search_path")
        .map_err(Error::db("resetting search_path"))
}

/// Tables that hold rows this loader did not put there: refused, or emptied with `--truncate`
/// (returned, for the record).
fn refuse_foreign_rows(
    tx: &mut Transaction<'_>,
    opts: &Options,
    names: &[String],
) -> Result<Vec<String>, LoadError> {
    let s = &opts.schema;
    let mut foreign = Vec::new();
    for t in names {
        let has_rows: bool = tx
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
    if foreign.is_empty() {
        return Ok(foreign);
    }
    if !opts.truncate {
        return Err(Refused(format!(
            "tables {} of schema {s} already hold rows pgshape did not load; pass --truncate to empty them first",
            foreign.join(", ")
        ))
        .into());
    }
    let list: Vec<String> = foreign.iter().map(|t| qualified(s, t)).collect();
    tx.batch_execute(&format!("TRUNCATE {}", list.join(", ")))
        .map_err(Error::db("truncating"))?;
    Ok(foreign)
}

/// What the generator's report says it achieved per grouping foreign key.
fn expected_fanout(tables: &[TablePlan]) -> Vec<ExpectedFanout> {
    tables
        .iter()
        .filter_map(|t| match (&t.parent, &t.achieved) {
            (Some(p), Some(a)) => Some(ExpectedFanout {
                table: t.name.clone(),
                parent_table: p.table.clone(),
                columns: p.columns.clone(),
                ref_columns: p.ref_columns.clone(),
                quantiles: [a.p50, a.p95, a.p99],
                zero_fraction: a.zero_fraction,
            }),
            _ => None,
        })
        .collect()
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
fn set_aside(client: &mut impl GenericClient, schema: &str, names: &[String]) -> Result<SetAside> {
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
    let mut aside = SetAside {
        schema: schema.into(),
        ..SetAside::default()
    };
    for r in &constraints {
        let c = SavedConstraint {
            kind: r.get(0),
            table: r.get(1),
            name: r.get(2),
            definition: r.get(3),
        };
        client
            .batch_execute(&format!(
                "ALTER TABLE {} DROP CONSTRAINT {}",
                qualified(schema, &c.table),
                quote(&c.name)
            ))
            .map_err(Error::db(format!("dropping constraint {}", c.name)))?;
        aside.constraints.push(c);
    }
    for r in &indexes {
        let i = SavedIndex {
            name: r.get(0),
            definition: r.get(1),
        };
        client
            .batch_execute(&format!("DROP INDEX {}", qualified(schema, &i.name)))
            .map_err(Error::db(format!("dropping index {}", i.name)))?;
        aside.indexes.push(i);
    }
    Ok(aside)
}
