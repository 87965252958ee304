//! `pgshape-loader`: binary COPY of synthetic datasets into non-production PostgreSQL.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use pgshape_core::cli::{self, code, Exit};
use pgshape_core::conn::Target;
use pgshape_core::run_record::{DatasetKind, RunRecord, RunStatus};
use pgshape_loader::load::{self, LoadError, Options};
use pgshape_loader::source::Source;
use pgshape_loader::{guard, ledger, session, teardown, verify};

/// Load a synthetic dataset into a non-production PostgreSQL with binary COPY in foreign-key
/// order, check it, record the run, verify it and tear it down again.
///
/// Connection: --database-url, else DATABASE_URL, else the PG* variables. Writes only when
/// --environment or PGSHAPE_ENV is one of dev, staging, perf, ci, test.
#[derive(Parser)]
#[command(name = "pgshape-loader", version, propagate_version = true)]
struct Cli {
    #[command(flatten)]
    log: cli::Verbosity,
    #[command(flatten)]
    connection: cli::Connection,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Load a dataset directory, or stream a band straight from a spec (no files).
    Load(LoadArgs),
    /// Re-check a run: per table rows against the report, the ledger's content hash against
    /// the report's (the generator's when streamed) and the server-side row hash against the
    /// one at load time; per foreign key that it exists and is validated (orphans counted where
    /// not). Exits 1 on any mismatch.
    Verify {
        /// The run (default: the newest).
        #[arg(long)]
        run: Option<String>,
        /// Also count every foreign key's orphans by a scan (even validated ones) and compare
        /// each grouping foreign key's fan-out with the generator's.
        #[arg(long)]
        deep: bool,
        /// Connections to check tables over.
        #[arg(long, default_value_t = 2)]
        jobs: usize,
    },
    /// Remove exactly what a run created or loaded, and its records.
    Teardown(TeardownArgs),
    /// List runs, their state and chunk progress.
    Status,
}

#[derive(clap::Args)]
struct LoadArgs {
    /// A dataset directory made by `pgshape-generator generate`.
    #[arg(long, conflicts_with_all = ["spec", "band", "seed"], required_unless_present = "spec")]
    dataset: Option<PathBuf>,
    /// Stream from this spec instead (with --band and --seed).
    #[arg(long, requires_all = ["band", "seed"])]
    spec: Option<PathBuf>,
    #[arg(long)]
    band: Option<String>,
    #[arg(long)]
    seed: Option<String>,
    /// The target schema.
    #[arg(long, default_value = "public")]
    schema: String,
    /// Parallel COPY connections.
    #[arg(long, default_value_t = 2)]
    jobs: usize,
    /// dev, staging, perf, ci or test (default: PGSHAPE_ENV). Production is refused.
    #[arg(long, env = "PGSHAPE_ENV")]
    environment: Option<String>,
    /// Create the schema and run the dataset's DDL when its tables do not exist.
    #[arg(long)]
    create_schema: bool,
    /// Empty target tables that hold rows this loader did not load (refused otherwise).
    #[arg(long)]
    truncate: bool,
    /// Make the tables UNLOGGED before loading (faster; they stay unlogged).
    #[arg(long)]
    unlogged: bool,
    /// pg_prewarm every table after ANALYZE.
    #[arg(long)]
    prewarm: bool,
    /// Where the run record JSON goes.
    #[arg(long, default_value = "docs/perf-data")]
    metadata_dir: PathBuf,
    /// Only these tables (comma-separated), e.g. for benchmarks; the others are not touched.
    #[arg(long, value_delimiter = ',')]
    tables: Vec<String>,
}

#[derive(clap::Args)]
struct TeardownArgs {
    /// The run (default: the newest).
    #[arg(long)]
    run: Option<String>,
    /// Print what would be removed, remove nothing.
    #[arg(long)]
    dry_run: bool,
    /// Tear down even a run that did not finish or whose tables changed since.
    #[arg(long)]
    force: bool,
    /// Do not ask for confirmation on a terminal.
    #[arg(long)]
    no_confirm: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    cli.log.init();
    let target = cli.connection.target();
    cli::finish(
        target
            .map_err(anyhow::Error::from)
            .and_then(|target| match cli.command {
                Command::Load(a) => run_load(&target, a, cli.log.quiet),
                Command::Verify { run, deep, jobs } => {
                    run_verify(&target, run.as_deref(), deep, jobs)
                }
                Command::Teardown(a) => run_teardown(&target, a),
                Command::Status => run_status(&target),
            }),
    )
}

fn run_load(target: &Target, a: LoadArgs, quiet: bool) -> Result<()> {
    pgshape_core::interrupt::install().context("installing the SIGTERM/SIGINT handlers")?;
    let environment =
        guard::check(a.environment.as_deref()).map_err(|m| Exit::new(code::REFUSED, m))?;
    let (source, spec_dir) = match (&a.dataset, &a.spec) {
        (Some(dir), _) => (Source::open_dir(dir)?, None),
        (None, Some(spec)) => (
            Source::stream(
                spec,
                a.band.as_deref().unwrap_or_default(),
                a.seed.as_deref().unwrap_or_default(),
            )?,
            spec.parent().map(PathBuf::from),
        ),
        (None, None) => unreachable!("clap requires one"),
    };
    let opts = Options {
        schema: a.schema,
        create_schema: a.create_schema,
        jobs: a.jobs,
        environment,
        truncate: a.truncate,
        prewarm: a.prewarm,
        unlogged: a.unlogged,
        metadata_dir: a.metadata_dir,
        spec_dir,
        only: a.tables,
    };
    // One bar per table (rows/s, ETA) on a terminal; nothing otherwise.
    let bars = (!quiet && std::io::stderr().is_terminal()).then(|| {
        let multi = indicatif::MultiProgress::new();
        let style = indicatif::ProgressStyle::with_template(
            "{prefix:>20} {bar:30} {human_pos:>12}/{human_len:<12} {per_sec:>14} ETA {eta}",
        )
        .expect("template");
        let bars: std::collections::BTreeMap<String, indicatif::ProgressBar> = source
            .tables()
            .into_iter()
            .filter(|t| opts.only.is_empty() || opts.only.contains(&t.name))
            .map(|t| {
                let b = multi.add(indicatif::ProgressBar::new(t.rows.unwrap_or(0)));
                b.set_style(style.clone());
                b.set_prefix(t.name.clone());
                (t.name, b)
            })
            .collect();
        (multi, bars)
    });
    let on_rows = |table: &str, rows: u64| {
        if let Some(b) = bars.as_ref().and_then(|(_, bars)| bars.get(table)) {
            b.inc(rows);
        }
    };
    let outcome = load::load(target, &source, &opts, &on_rows).map_err(|e| match e {
        LoadError::Refused(r) => Exit::new(code::REFUSED, r.0).into(),
        LoadError::Core(e) => anyhow::Error::from(e),
        e @ LoadError::Stopped { .. } => anyhow::Error::from(e),
    })?;
    if let Some((multi, bars)) = bars {
        bars.values().for_each(|b| b.finish_and_clear());
        let _ = multi.clear();
    }
    print_load(&outcome.record, &target.describe(), &outcome.run_file)?;
    if !outcome.ok {
        return Err(Exit::new(
            code::FINDINGS,
            format!(
                "run {} failed its integrity checks ({}): {}",
                outcome.run_id,
                outcome.record.status.as_str(),
                failures(&outcome.record).join(", ")
            ),
        )
        .into());
    }
    Ok(())
}

/// The load's summary on stdout.
fn print_load(r: &RunRecord, target: &str, run_file: &std::path::Path) -> Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "[Load] run {} into {target} (schema {})",
        r.run_id, r.schema
    )?;
    let Some(res) = &r.result else {
        return Ok(());
    };
    writeln!(out, "[Count] Row counts:")?;
    for (t, c) in &res.counts {
        writeln!(out, "  {t}: {} (expected {})", c.actual, c.expected)?;
    }
    let i = &res.integrity;
    if i.referential_integrity {
        writeln!(out, "[Integrity] ✓ All referential integrity constraints satisfied ({} foreign keys validated by PostgreSQL)", i.foreign_keys.iter().filter(|f| f.validated).count())?;
    } else {
        for f in i
            .foreign_keys
            .iter()
            .filter(|f| f.orphans != 0 || !f.present)
        {
            writeln!(
                out,
                "[Integrity] ✗ {}: {} orphan rows ({})",
                f.table, f.orphans, f.foreign_key
            )?;
        }
    }
    let against = match r.dataset_kind {
        DatasetKind::Stream => "the generator's",
        DatasetKind::Files => "the report's",
    };
    for (t, h) in &res.content_hashes {
        match i.content_mismatches.iter().find(|c| &c.table == t) {
            None => writeln!(
                out,
                "[Content] ✓ {t}: {} (from the ledger) = {against}",
                h.as_deref().unwrap_or("?")
            )?,
            Some(c) => writeln!(
                out,
                "[Content] ✗ {t}: {} (from the ledger) differs from {against} {}{}",
                c.loaded.as_deref().unwrap_or("(chunks without a hash)"),
                c.expected,
                if c.chunks_differing.is_empty() {
                    String::new()
                } else {
                    format!("; chunks {:?}", c.chunks_differing)
                }
            )?,
        }
    }
    let done = if r.status == RunStatus::Done {
        "✓ Load completed"
    } else {
        "✗ Load finished with errors"
    };
    writeln!(out, "[Load] {done} in {} ms", res.timings_ms.total)?;
    writeln!(out, "[Metadata] ✓ Saved to {}", run_file.display())?;
    Ok(())
}

/// What failed, for the error message.
fn failures(r: &RunRecord) -> Vec<String> {
    let Some(res) = &r.result else {
        return Vec::new();
    };
    let mut failed: Vec<String> = res
        .counts
        .iter()
        .filter(|(_, c)| c.expected != c.actual)
        .map(|(t, _)| format!("row count of {t}"))
        .collect();
    for f in res
        .integrity
        .foreign_keys
        .iter()
        .filter(|f| f.orphans != 0 || !f.present)
    {
        failed.push(format!("orphans in {} ({})", f.table, f.foreign_key));
    }
    for c in &res.integrity.content_mismatches {
        failed.push(format!("content hash of {}", c.table));
    }
    failed
}

fn run_verify(target: &Target, run_id: Option<&str>, deep: bool, jobs: usize) -> Result<()> {
    let v = verify::verify(target, run_id, deep, jobs)?
        .ok_or_else(|| Exit::new(code::BAD_INPUT, "no such run"))?;
    let mut out = std::io::stdout().lock();
    for l in &v.lines {
        writeln!(out, "{l}")?;
    }
    if !v.problems.is_empty() {
        return Err(Exit::new(
            code::FINDINGS,
            format!(
                "{} check(s) differ from run {}: {}",
                v.problems.len(),
                v.run_id,
                v.problems.join(", ")
            ),
        )
        .into());
    }
    writeln!(
        out,
        "✓ run {}: rows, content hashes, server-side hashes and {} foreign keys verified{}",
        v.run_id,
        v.foreign_keys,
        if deep {
            " (deep: every foreign key's orphans counted, fan-out against the generator's)"
        } else {
            ""
        }
    )?;
    Ok(())
}

fn run_teardown(target: &Target, a: TeardownArgs) -> Result<()> {
    let mut client = session::connect(target)?;
    let run = teardown::find(&mut client, a.run.as_deref())?
        .ok_or_else(|| Exit::new(code::BAD_INPUT, "no run to tear down"))?;
    if run.record.status != RunStatus::Done && !a.force {
        return Err(Exit::new(
            code::REFUSED,
            format!(
                "run {} is {}; pass --force to tear it down anyway",
                run.run_id,
                run.record.status.as_str()
            ),
        )
        .into());
    }
    let plan = teardown::plan(&run);
    if a.dry_run {
        let mut out = std::io::stdout().lock();
        for stmt in &plan {
            writeln!(out, "{stmt};")?;
        }
        return Ok(());
    }
    if !a.no_confirm && std::io::stdin().is_terminal() {
        eprintln!(
            "This removes run {} from {}:",
            run.run_id,
            target.describe()
        );
        for stmt in &plan {
            eprintln!("  {stmt};");
        }
        eprint!("Type the schema name ({}) to confirm: ", run.target_schema);
        let mut answer = String::new();
        std::io::stdin().read_line(&mut answer)?;
        if answer.trim() != run.target_schema {
            return Err(Exit::new(code::REFUSED, "not confirmed: nothing removed").into());
        }
    }
    teardown::run(&mut client, &run)?;
    writeln!(std::io::stdout().lock(), "✓ run {} torn down", run.run_id)?;
    Ok(())
}

fn run_status(target: &Target) -> Result<()> {
    let mut client = session::connect(target)?;
    let runs = ledger::runs(&mut client)?;
    let mut out = std::io::stdout().lock();
    if runs.is_empty() {
        writeln!(out, "no runs")?;
    }
    for r in runs {
        let loaded: i64 = client
            .query_one(
                "SELECT count(*) FROM _pgshape.chunks WHERE run_id = $1",
                &[&r.run_id],
            )
            .context("reading the ledger")?
            .get(0);
        writeln!(
            out,
            "{}  {}  schema {}  {} chunks loaded  started {}",
            r.run_id,
            r.record.status.as_str(),
            r.target_schema,
            loaded,
            r.record.started_at
        )?;
    }
    Ok(())
}
