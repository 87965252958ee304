//! Teardown: removes exactly what a run created or loaded, then its records. Objects the
//! run's DDL created are dropped (the schema itself when the run created it); tables that
//! existed are emptied; the run's rows in `_pgshape` go, and `_pgshape` itself when no run is
//! left — the target's catalog is as it was before the load.

use pgshape_core::ident::{qualified, quote};
use pgshape_core::{Error, Result};
use postgres::Client;

use crate::ledger::{self, Run};

/// The statements a teardown runs, in order (shown by `--dry-run`).
pub fn plan(run: &Run) -> Vec<String> {
    let r = &run.record;
    let schema = run.target_schema.as_str();
    let mut sql = Vec::new();
    if r.schema_created {
        sql.push(format!("DROP SCHEMA {} CASCADE", quote(schema)));
    } else {
        let of = |kind: &str| -> Vec<String> {
            r.created
                .iter()
                .filter(|o| o.kind == kind)
                .map(|o| qualified(schema, &o.name))
                .collect()
        };
        let tables = of("table");
        let filled: Vec<String> = r
            .tables
            .iter()
            .filter(|t| !r.created.iter().any(|o| &o.name == *t))
            .map(|t| qualified(schema, t))
            .collect();
        if !filled.is_empty() {
            sql.push(format!("TRUNCATE {}", filled.join(", ")));
        }
        if !tables.is_empty() {
            sql.push(format!("DROP TABLE {} CASCADE", tables.join(", ")));
        }
        for s in of("sequence") {
            sql.push(format!("DROP SEQUENCE IF EXISTS {s}"));
        }
        for t in of("type") {
            sql.push(format!("DROP TYPE IF EXISTS {t} CASCADE"));
        }
    }
    sql.push(format!(
        "DELETE FROM _pgshape.runs WHERE run_id = '{}'",
        run.run_id.replace('\'', "''")
    ));
    sql
}

/// Runs the teardown of `run` in one transaction; drops `_pgshape` when no run is left.
pub fn run(client: &mut Client, run: &Run) -> Result<()> {
    let mut tx = client
        .transaction()
        .map_err(Error::db("starting the teardown"))?;
    for stmt in plan(run) {
        tx.batch_execute(&stmt)
            .map_err(Error::db(format!("teardown: {stmt}")))?;
    }
    let left: i64 = tx
        .query_one("SELECT count(*) FROM _pgshape.runs", &[])
        .map_err(Error::db("counting runs"))?
        .get(0);
    if left == 0 {
        tx.batch_execute("DROP SCHEMA _pgshape CASCADE")
            .map_err(Error::db("dropping _pgshape"))?;
    }
    tx.commit().map_err(Error::db("committing the teardown"))
}

/// The run to tear down: by id, or the newest.
pub fn find(client: &mut Client, id: Option<&str>) -> Result<Option<Run>> {
    ledger::run(client, id)
}
