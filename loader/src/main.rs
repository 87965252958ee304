//! `pgshape-loader`: binary COPY of synthetic datasets into non-production PostgreSQL.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use pgshape_core::cli::{self, code, Exit};
use pgshape_core::conn::Target;
use pgshape_loader::load::{self, Options, Refused};
use pgshape_loader::source::Source;
use pgshape_loader::{content, guard, integrity, ledger, teardown};

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
    /// PostgreSQL URL (default: DATABASE_URL, then the PG* variables).
    #[arg(long, global = true, env = "DATABASE_URL", hide_env_values = true)]
    database_url: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Load a dataset directory, or stream a band straight from a spec (no files).
    Load(LoadArgs),
    /// Re-check a run: per table rows against the report, the ledger's content hash against
    /// the report's (the generator's when streamed) and the server-side hashes against those at
    /// load time; orphans per foreign key and fan-out. Exits 1 on any mismatch.
    Verify {
        /// The run (default: the newest).
        #[arg(long)]
        run: Option<String>,
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
    let target = Target::resolve(cli.database_url.as_deref());
    cli::finish(
        target
            .map_err(anyhow::Error::from)
            .and_then(|target| match cli.command {
                Command::Load(a) => run_load(&target, a, cli.log.quiet),
                Command::Verify { run } => run_verify(&target, run.as_deref()),
                Command::Teardown(a) => run_teardown(&target, a),
                Command::Status => run_status(&target),
            }),
    )
}

fn run_load(target: &Target, a: LoadArgs, quiet: bool) -> Result<()> {
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
    let outcome = load::load(target, &source, &opts, &on_rows).map_err(|e| {
        match e.downcast::<Refused>() {
            Ok(r) => Exit::new(code::REFUSED, r.0).into(),
            Err(e) => e,
        }
    })?;
    if let Some((multi, bars)) = bars {
        bars.values().for_each(|b| b.finish_and_clear());
        let _ = multi.clear();
    }
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "[Load] run {} into {} (schema {})",
        outcome.run_id,
        target.describe(),
        opts.schema
    )?;
    writeln!(out, "[Count] Row counts:")?;
    if let Some(counts) = outcome.record["counts"].as_object() {
        for (t, c) in counts {
            writeln!(out, "  {t}: {} (expected {})", c["actual"], c["expected"])?;
        }
    }
    let integrity = &outcome.record["integrity"];
    if integrity["referential_integrity"] == true {
        writeln!(
            out,
            "[Integrity] ✓ All referential integrity constraints satisfied"
        )?;
    } else {
        writeln!(out, "[Integrity] ✗ orphan rows: {}", integrity["orphans"])?;
    }
    for f in outcome.record["fanout"].as_array().into_iter().flatten() {
        writeln!(
            out,
            "[Fan-out] {} {}: p50/p95/p99 {} (generator {}), zero-child {}",
            if f["ok"] == true { "✓" } else { "✗" },
            f["table"].as_str().unwrap_or("?"),
            f["quantiles"],
            f["expected"],
            f["zero_fraction"]
        )?;
    }
    let against = if outcome.record["dataset_kind"] == "stream" {
        "the generator's"
    } else {
        "the report's"
    };
    let content: Vec<content::ContentCheck> =
        serde_json::from_value(outcome.record["integrity"]["content_mismatches"].clone())
            .unwrap_or_default();
    for (t, h) in outcome.record["content_hashes"]
        .as_object()
        .into_iter()
        .flatten()
    {
        match content.iter().find(|c| &c.table == t) {
            None => writeln!(
                out,
                "[Content] ✓ {t}: {} (from the ledger) = {against}",
                h.as_str().unwrap_or("?")
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
    writeln!(
        out,
        "[Load] {} in {} ms",
        if outcome.ok {
            "✓ Load completed"
        } else {
            "✗ Load finished with errors"
        },
        outcome.record["timings_ms"]["total"]
    )?;
    writeln!(out, "[Metadata] ✓ Saved to {}", outcome.run_file.display())?;
    if !outcome.ok {
        let r = &outcome.record;
        let mut failed: Vec<String> = Vec::new();
        for (t, c) in r["counts"].as_object().into_iter().flatten() {
            if c["expected"] != c["actual"] {
                failed.push(format!("row count of {t}"));
            }
        }
        for o in r["integrity"]["orphans"].as_array().into_iter().flatten() {
            if o["orphans"].as_i64() != Some(0) {
                failed.push(format!("orphans in {} ({})", o["table"], o["foreign_key"]));
            }
        }
        for f in r["fanout"].as_array().into_iter().flatten() {
            if f["ok"] != true {
                failed.push(format!("fan-out of {}", f["table"].as_str().unwrap_or("?")));
            }
        }
        for c in &content {
            failed.push(format!("content hash of {}", c.table));
        }
        return Err(Exit::new(
            code::FINDINGS,
            format!(
                "run {} failed its integrity checks ({}): {}",
                outcome.run_id,
                r["status"].as_str().unwrap_or("failed-integrity"),
                failed.join(", ")
            ),
        )
        .into());
    }
    Ok(())
}

fn run_verify(target: &Target, run_id: Option<&str>) -> Result<()> {
    let mut client = load::connect(target)?;
    let run = ledger::run(&mut client, run_id)?
        .ok_or_else(|| Exit::new(code::BAD_INPUT, "no such run"))?;
    let tables: Vec<String> = run.record["tables"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|t| t.as_str().map(String::from))
        .collect();
    let checks = integrity::check_tables(&mut client, &run.target_schema, &tables)?;
    let orphans = integrity::orphans(&mut client, &run.target_schema, &tables)?;
    let recorded: std::collections::BTreeMap<String, integrity::TableCheck> =
        serde_json::from_value(run.record["hashes"].clone())
            .context("the run recorded no hashes: did the load finish?")?;
    let in_ledger = ledger::chunks(&mut client, &run.run_id)?;
    let against = if run.record["dataset_kind"] == "stream" {
        "the generator's"
    } else {
        "the report's"
    };
    let mut out = std::io::stdout().lock();
    let mut problems: Vec<String> = Vec::new();
    let mark = |ok: bool| if ok { "✓" } else { "✗" };
    for t in &tables {
        let (now, then) = (&checks[t], recorded.get(t));
        // Rows: the server's count against the report's (the generator's count when streaming).
        let expected_rows = run.record["counts"][t]["expected"].as_i64();
        let rows_ok = expected_rows == Some(now.rows);
        writeln!(
            out,
            "{} {t}: rows {} (report: {})",
            mark(rows_ok),
            now.rows,
            expected_rows.map_or("?".into(), |r| r.to_string())
        )?;
        if !rows_ok {
            problems.push(format!("rows of {t}"));
        }
        // Content: the ledger's chunk hashes (of the bytes sent) against the dataset's.
        let loaded = content::ledger_hash(in_ledger.get(t).map_or(&[][..], Vec::as_slice));
        match run.record["expected_content_hashes"][t].as_str() {
            Some(expected) => {
                let ok = loaded.as_deref() == Some(expected);
                if ok {
                    writeln!(out, "✓ {t}: content hash {expected} (ledger) = {against}")?;
                } else {
                    writeln!(
                        out,
                        "✗ {t}: content hash {} (ledger) differs from {against} {expected}",
                        loaded.as_deref().unwrap_or("(chunks without a hash)")
                    )?;
                    problems.push(format!("content hash of {t}"));
                }
            }
            None => writeln!(
                out,
                "- {t}: content hash not recorded (loaded by an older pgshape-loader)"
            )?,
        }
        // Server-side hashes now against those computed at load time.
        let same = then == Some(now);
        let fmt = |c: &integrity::TableCheck| {
            format!(
                "rows {}, key md5 {}, rows sum {}",
                c.rows,
                c.key_md5.as_deref().unwrap_or("-"),
                c.rows_sum
            )
        };
        if same {
            writeln!(out, "✓ {t}: server hashes as at load time ({})", fmt(now))?;
        } else {
            writeln!(
                out,
                "✗ {t}: server hashes changed since the load: now {}; at load {}",
                fmt(now),
                then.map_or("not recorded".into(), fmt)
            )?;
            problems.push(format!("server hashes of {t}"));
        }
    }
    let recorded: Vec<integrity::FanoutCheck> =
        serde_json::from_value(run.record["fanout"].clone()).unwrap_or_default();
    for r in recorded {
        let f = integrity::FanoutCheck::measure(
            &mut client,
            &run.target_schema,
            &r.table,
            &r.parent,
            r.expected,
            r.expected_zero_fraction,
        )?;
        if !f.ok {
            problems.push(format!("fan-out of {}", f.table));
        }
        writeln!(
            out,
            "{} {}: fan-out over {} parents p50/p95/p99 {:?}, zero {:.4} (generator: {:?}, {:.4})",
            if f.ok { "✓" } else { "✗" },
            f.table,
            f.parents,
            f.quantiles,
            f.zero_fraction,
            f.expected,
            f.expected_zero_fraction
        )?;
    }
    for o in &orphans {
        if o.orphans != 0 {
            problems.push(format!("orphans in {} ({})", o.table, o.foreign_key));
            writeln!(
                out,
                "✗ {}: {} orphan rows ({})",
                o.table, o.orphans, o.foreign_key
            )?;
        }
    }
    if !problems.is_empty() {
        return Err(Exit::new(
            code::FINDINGS,
            format!(
                "{} check(s) differ from run {}: {}",
                problems.len(),
                run.run_id,
                problems.join(", ")
            ),
        )
        .into());
    }
    writeln!(
        out,
        "✓ run {}: rows, content hashes, server-side hashes and {} foreign keys verified",
        run.run_id,
        orphans.len()
    )?;
    Ok(())
}

fn run_teardown(target: &Target, a: TeardownArgs) -> Result<()> {
    let mut client = load::connect(target)?;
    let run = teardown::find(&mut client, a.run.as_deref())?
        .ok_or_else(|| Exit::new(code::BAD_INPUT, "no run to tear down"))?;
    if run.status != "done" && !a.force {
        return Err(Exit::new(
            code::REFUSED,
            format!(
                "run {} is {}; pass --force to tear it down anyway",
                run.run_id, run.status
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
    let mut client = load::connect(target)?;
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
            r.status,
            r.target_schema,
            loaded,
            r.record["started_at"].as_str().unwrap_or("?")
        )?;
    }
    Ok(())
}
