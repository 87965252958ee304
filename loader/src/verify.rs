//! `verify`: re-checks a finished run from the target alone.
//!
//! - `verify`, per table: the server's row count against the report's, the content hash
//!   recomputed from the ledger against the report's (the generator's when streamed), the row
//!   hash (rows and row hash in one scan, see [`crate::integrity`]) against the one computed at
//!   load time — any `UPDATE`, `DELETE` or `INSERT` since shows here; per foreign key the run
//!   recorded: that it still exists and PostgreSQL still guarantees it (validated, triggers
//!   enabled), its orphans counted by a scan where it does not.
//! - `verify --deep` besides: every foreign key's orphans counted by a scan even when
//!   PostgreSQL guarantees it (rows written with triggers bypassed, e.g. under
//!   `session_replication_role = replica`), and each grouping foreign key's fan-out against
//!   the generator's.

use pgshape_core::conn::Target;
use pgshape_core::run_record::{DatasetKind, ForeignKeyCheck, RunRecord, RunResult, TableHash};
use pgshape_core::{Error, Result};

use crate::{content, integrity, ledger, parallel, session};

/// What verify found: the lines to print and the problems (empty: verified).
#[derive(Debug, Default)]
pub struct Verdict {
    pub run_id: String,
    pub lines: Vec<String>,
    pub problems: Vec<String>,
    pub foreign_keys: usize,
}

impl Verdict {
    fn say(&mut self, ok: bool, line: String, problem: impl FnOnce() -> String) {
        self.lines
            .push(format!("{} {line}", if ok { "✓" } else { "✗" }));
        if !ok {
            self.problems.push(problem());
        }
    }
}

/// Verifies run `run_id` (the newest when `None`; `Ok(None)` when there is no such run) over
/// `jobs` connections.
pub fn verify(
    target: &Target,
    run_id: Option<&str>,
    deep: bool,
    jobs: usize,
) -> Result<Option<Verdict>> {
    let mut client = session::connect(target)?;
    let Some(run) = ledger::run(&mut client, run_id)? else {
        return Ok(None);
    };
    let rec = &run.record;
    let result = rec.result.as_ref().ok_or_else(|| Error::Invalid {
        path: format!("run {}", run.run_id).into(),
        message: "the run has not finished: run the same load command again to resume it".into(),
    })?;
    let mut v = Verdict {
        run_id: run.run_id.clone(),
        ..Verdict::default()
    };
    let schema = run.target_schema.as_str();
    let now = parallel::on_target(target, jobs, &rec.tables, |c, t| {
        integrity::table_hash(c, schema, t)
    })?;
    let in_ledger = ledger::chunks(&mut client, &run.run_id)?;
    for (t, now) in rec.tables.iter().zip(&now) {
        let expected = result.counts.get(t).map(|c| c.expected);
        v.say(
            expected == Some(now.rows),
            format!(
                "{t}: rows {} (report: {})",
                now.rows,
                expected.map_or("?".into(), |r| r.to_string())
            ),
            || format!("rows of {t}"),
        );
        content_line(&mut v, rec, result, t, &in_ledger);
        hash_line(&mut v, result, t, now);
    }
    let fks = parallel::on_target(target, jobs, &result.foreign_keys, |c, fk| {
        integrity::check_foreign_key(c, schema, fk, deep)
    })?;
    for f in &fks {
        foreign_key_line(&mut v, f, deep);
    }
    v.foreign_keys = fks.len();
    if deep {
        fanout_lines(&mut v, target, jobs, schema, rec)?;
    }
    Ok(Some(v))
}

/// The row hash now against the one the load computed.
fn hash_line(v: &mut Verdict, result: &RunResult, t: &str, now: &TableHash) {
    let then = result.hashes.get(t);
    let fmt = |h: &TableHash| format!("rows {}, row hash {}", h.rows, h.rows_hash);
    match then {
        Some(then) if then == now => v.say(
            true,
            format!("{t}: server hashes as at load time ({})", fmt(now)),
            String::new,
        ),
        _ => v.say(
            false,
            format!(
                "{t}: server hashes changed since the load: now {}; at load {}",
                fmt(now),
                then.map_or("not recorded".into(), fmt)
            ),
            || format!("server hashes of {t}"),
        ),
    }
}

/// A foreign key the run recorded: present, guaranteed or counted.
fn foreign_key_line(v: &mut Verdict, f: &ForeignKeyCheck, deep: bool) {
    if !f.present {
        v.say(
            false,
            format!("{}: foreign key {} is missing", f.table, f.foreign_key),
            || format!("foreign key {} of {}", f.foreign_key, f.table),
        );
    }
    if f.orphans != 0 {
        v.say(
            false,
            format!("{}: {} orphan rows ({})", f.table, f.orphans, f.foreign_key),
            || format!("orphans in {} ({})", f.table, f.foreign_key),
        );
    } else if f.present {
        let how = if f.validated && !deep {
            "validated by PostgreSQL"
        } else {
            "no orphans (counted)"
        };
        v.say(
            true,
            format!("{}: foreign key {} {how}", f.table, f.foreign_key),
            String::new,
        );
    }
}

/// The content hash recomputed from the ledger against the one the run expected.
fn content_line(
    v: &mut Verdict,
    rec: &RunRecord,
    result: &RunResult,
    t: &str,
    in_ledger: &std::collections::BTreeMap<String, Vec<ledger::LedgerChunk>>,
) {
    let against = match rec.dataset_kind {
        DatasetKind::Stream => "the generator's",
        DatasetKind::Files => "the report's",
    };
    let loaded = content::ledger_hash(in_ledger.get(t).map_or(&[][..], Vec::as_slice));
    let Some(expected) = result.expected_content_hashes.get(t) else {
        v.lines.push(format!("- {t}: content hash not recorded"));
        return;
    };
    if loaded.as_deref() == Some(expected.as_str()) {
        v.say(
            true,
            format!("{t}: content hash {expected} (ledger) = {against}"),
            String::new,
        );
    } else {
        v.say(
            false,
            format!(
                "{t}: content hash {} (ledger) differs from {against} {expected}",
                loaded.as_deref().unwrap_or("(chunks without a hash)")
            ),
            || format!("content hash of {t}"),
        );
    }
}

/// `--deep`: each grouping foreign key's fan-out against the generator's.
fn fanout_lines(
    v: &mut Verdict,
    target: &Target,
    jobs: usize,
    schema: &str,
    rec: &RunRecord,
) -> Result<()> {
    let checks = parallel::on_target(target, jobs, &rec.expected_fanout, |c, e| {
        integrity::check_fanout(c, schema, e)
    })?;
    for f in checks {
        let t = f.expected.table.clone();
        v.say(
            f.ok,
            format!(
                "{t}: fan-out over {} parents p50/p95/p99 {:?}, zero {:.4} (generator: {:?}, {:.4})",
                f.parents, f.quantiles, f.zero_fraction, f.expected.quantiles, f.expected.zero_fraction
            ),
            || format!("fan-out of {t}"),
        );
    }
    Ok(())
}
