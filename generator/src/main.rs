//! `pgshape-generator`: deterministic synthetic datasets from a distribution spec.

use std::io::IsTerminal;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand, ValueEnum};
use pgshape_core::artifact;
use pgshape_core::cli::{self, code, Exit};
use pgshape_core::pack::{Pack, PACK_VERSION};
use pgshape_core::spec::Spec;
use pgshape_generator::authoring::{calibrate, init};
use pgshape_generator::engine::{self, Engine, Format, Journal, Model, RunId, RunOptions, Shard};
use pgshape_generator::fidelity::compare::{self as fidelity, Thresholds};
use pgshape_generator::fidelity::{
    html,
    report::{self as fidelity_report, PackInfo},
};

/// Build deterministic, production-shaped synthetic datasets from a distribution spec.
///
/// The same spec, band and seed give byte-identical data whatever the thread or shard count.
#[derive(Parser)]
#[command(name = "pgshape-generator", version, propagate_version = true)]
struct Cli {
    #[command(flatten)]
    log: cli::Verbosity,
    #[command(flatten)]
    clock: cli::Clock,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Fit a spec's fan-outs, arrival profiles, null fractions and band proportions to a
    /// metrics pack; write the calibrated spec.
    Calibrate(CalibrateArgs),
    /// Derive a complete spec (and its DDL) for every table of a metrics pack's schema, without
    /// a hand-written spec: keys, fan-outs, references, column generators, bands; calibrated,
    /// so `calibrate` on the result changes nothing.
    ///
    /// Writes the spec to --output and its DDL beside it (`<stem>.schema.sql`, named by the
    /// spec's `ddl`). Tables are grouped under the parent their NOT NULL foreign key to a
    /// numbered key ties them to (the deepest such parent, then the one with the fewest rows);
    /// other foreign keys become Zipf-popular references fitted to the pack's fan-out. Integer
    /// keys, and text or uuid keys that foreign keys reference, are numbered (text keys written
    /// in base 36 with production's lengths, uuid keys as version-4 UUIDs). Bands:
    /// `ci` (about 200,000 rows in all), `dev` (a tenth of production), `staging` (production's
    /// size), `perf` (three times it), `scaled` with --scale, and one per --band. A column the
    /// generator cannot produce (say numeric, jsonb, arrays, composite foreign keys) is an
    /// error naming the table and column: nothing is written then. Timestamps follow the
    /// pack's hourly and weekday profiles over the window (see --after-parent); token
    /// categories become labels such as `k1`, `k2` with production's frequencies.
    ///
    /// Example: pgshape-generator init --pack shape-metrics-20261122.json --output
    /// specs/shop/spec.json --scale 0.1 --band perf=500000000
    Init(InitArgs),
    /// Generate a band into a directory of COPY chunk files plus its report.
    Generate(GenerateArgs),
    /// Print per-table content hashes of a band without writing any file (what CI compares).
    Hash(HashArgs),
    /// Compare a synthetic database's metrics pack with production's: fan-out quantiles,
    /// zero-child and null fractions, arrival profiles, text lengths, category frequencies,
    /// table proportions. Exit 1 when a figure is over its threshold.
    Compare(CompareArgs),
}

#[derive(clap::Args)]
struct Common {
    /// The distribution spec (JSON).
    #[arg(long)]
    spec: PathBuf,
    /// The band: a size named in the spec (ci, dev, staging, perf, ...).
    #[arg(long)]
    band: String,
    /// The seed string; archive it to regenerate the same data.
    #[arg(long)]
    seed: String,
    /// Worker threads (default: the number of cores). Never changes a byte.
    #[arg(long)]
    threads: Option<usize>,
    /// Make only shard k of N (every N-th chunk); the union of all shards equals one run.
    #[arg(long, default_value = "1/1")]
    shard: Shard,
    /// Only these tables (comma-separated); their rows are the same as in a full run.
    #[arg(long, value_delimiter = ',')]
    tables: Vec<String>,
}

#[derive(clap::Args)]
struct CalibrateArgs {
    /// The spec to calibrate.
    #[arg(long)]
    spec: PathBuf,
    /// The metrics pack (from pgshape-sampler extract).
    #[arg(long)]
    pack: PathBuf,
    /// The calibrated spec to write.
    #[arg(long)]
    output: PathBuf,
    /// Use a pack past its expires_at.
    #[arg(long)]
    allow_expired: bool,
}

#[derive(clap::Args)]
struct InitArgs {
    /// The metrics pack (from pgshape-sampler extract).
    #[arg(long)]
    pack: PathBuf,
    /// The spec to write; its DDL goes beside it as `<stem>.schema.sql`.
    #[arg(long)]
    output: PathBuf,
    /// Also make a band `scaled` with every root table at this fraction of production
    /// (0.1 = a tenth).
    #[arg(long)]
    scale: Option<f64>,
    /// A band NAME whose largest table gets ROWS rows, the others in production's
    /// proportions (repeatable; replaces a default band of the same name).
    #[arg(long = "band", value_name = "NAME=ROWS", value_parser = parse_band)]
    bands: Vec<(String, u64)>,
    /// The spec's name (default: the output file's stem).
    #[arg(long)]
    name: Option<String>,
    /// Put a child table's window timestamp after its parent's, by the pack's
    /// child-minus-parent offsets where it measured them (else lognormal, median one day).
    /// Off by default: times a day or more after their parent's skew the weekday and hourly
    /// profiles down chains of tables (docs/formats.md)
    #[arg(long)]
    after_parent: bool,
    /// Use a pack past its expires_at.
    #[arg(long)]
    allow_expired: bool,
}

fn parse_band(s: &str) -> std::result::Result<(String, u64), String> {
    let (name, rows) = s
        .split_once('=')
        .ok_or_else(|| format!("{s:?}: expected NAME=ROWS, e.g. dev=5000000"))?;
    let ok_name = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if !ok_name {
        return Err(format!("{name:?}: a band name is letters, digits, _ and -"));
    }
    let rows: u64 = rows
        .replace('_', "")
        .parse()
        .map_err(|_| format!("{rows:?}: ROWS is a whole number"))?;
    if rows == 0 {
        return Err("ROWS must be > 0".into());
    }
    Ok((name.to_string(), rows))
}

#[derive(clap::Args)]
struct GenerateArgs {
    #[command(flatten)]
    common: Common,
    /// The output directory: created, or empty, or holding an unfinished run of the same
    /// command (stopped by a signal, a full disk, ...), which is resumed: its finished chunks
    /// are checked against their hashes and kept, the rest generated.
    #[arg(long)]
    output: PathBuf,
    /// Chunk file encoding.
    #[arg(long, value_enum, default_value_t = FormatArg::Binary)]
    format: FormatArg,
    /// Skip the check that the dataset (estimated from each table's first chunk) fits in the
    /// output's free space.
    #[arg(long)]
    no_space_check: bool,
}

#[derive(clap::Args)]
struct HashArgs {
    #[command(flatten)]
    common: Common,
    /// Print JSON instead of `table rows hash` lines.
    #[arg(long)]
    json: bool,
}

#[derive(clap::Args)]
struct CompareArgs {
    /// Production's metrics pack.
    #[arg(long)]
    production: PathBuf,
    /// The pack pgshape-sampler extracted from the loaded synthetic database.
    #[arg(long)]
    synthetic: PathBuf,
    /// Also write a self-contained HTML page with overlaid plots.
    #[arg(long)]
    html: Option<PathBuf>,
    /// Also write the figures as JSON (docs/formats.md).
    #[arg(long)]
    json: Option<PathBuf>,
    /// Largest relative error of a fan-out quantile (p50 p90 p95 p99; one child off always
    /// passes) and of a table's share of rows.
    #[arg(long, default_value_t = 0.05)]
    max_error: f64,
    /// Largest total-variation distance of an hourly or weekday profile or of category
    /// frequencies.
    #[arg(long, default_value_t = 0.03)]
    max_tvd: f64,
    /// Largest Kolmogorov-Smirnov distance of a length histogram.
    #[arg(long, default_value_t = 0.05)]
    max_ks: f64,
    /// Largest difference of a null fraction or a zero-child fraction.
    #[arg(long, default_value_t = 0.02)]
    max_fraction_diff: f64,
    /// Use packs past their expires_at.
    #[arg(long)]
    allow_expired: bool,
}

#[derive(Clone, Copy, ValueEnum)]
enum FormatArg {
    Binary,
    Csv,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    cli.log.init();
    cli::finish(match cli.command {
        Command::Calibrate(a) => calibrate(a, cli.clock.now()),
        Command::Init(a) => init(a, cli.clock.now()),
        Command::Generate(a) => generate(a, cli.log.quiet),
        Command::Hash(a) => hash(a),
        Command::Compare(a) => compare(a, cli.clock.now()),
    })
}

struct Loaded {
    engine: Engine,
    tables: Option<Vec<usize>>,
    spec_sha256: String,
    plan_ms: u64,
    threads: usize,
}

fn load(c: &Common) -> Result<Loaded> {
    let started = Instant::now();
    let spec = Spec::read(&c.spec)?;
    let spec_sha256 = artifact::sha256_file(&c.spec)?;
    let only = (!c.tables.is_empty()).then_some(c.tables.as_slice());
    let engine = Engine::new_for(spec, &c.band, &c.seed, only)
        .with_context(|| format!("compiling {}", c.spec.display()))?;
    let threads = c
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let tables = if c.tables.is_empty() {
        None
    } else {
        let idx = c
            .tables
            .iter()
            .map(|t| {
                engine.model().table_index(t).ok_or_else(|| {
                    Exit::new(
                        code::BAD_INPUT,
                        format!("--tables: the spec has no table {t}"),
                    )
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Some(idx)
    };
    Ok(Loaded {
        engine,
        tables,
        spec_sha256,
        plan_ms: started.elapsed().as_millis() as u64,
        threads,
    })
}

fn progress(model: &Model, quiet: bool) -> Option<indicatif::ProgressBar> {
    if quiet || !std::io::stderr().is_terminal() {
        return None;
    }
    let total: u64 = model.tables.iter().map(|t| t.plan.rows).sum();
    let bar = indicatif::ProgressBar::new(total);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{bar:40} {human_pos}/{human_len} rows {per_sec} eta {eta}",
        )
        .expect("valid template"),
    );
    Some(bar)
}

fn generate(a: GenerateArgs, quiet: bool) -> Result<()> {
    pgshape_core::interrupt::install().context("installing the SIGTERM/SIGINT handlers")?;
    let l = load(&a.common)?;
    let format = match a.format {
        FormatArg::Binary => Format::Binary,
        FormatArg::Csv => Format::Csv,
    };
    let id = RunId {
        tool_version: pgshape_core::TOOL_VERSION.into(),
        spec_sha256: l.spec_sha256.clone(),
        band: a.common.band.clone(),
        seed: a.common.seed.clone(),
        format,
        shard: a.common.shard,
        tables: (!a.common.tables.is_empty()).then(|| a.common.tables.clone()),
    };
    let resuming = a.output.exists() && resumable(&a.output, &id)?;
    // Read the DDL first: an unreadable file must fail before hours of generation.
    let ddl = match &l.engine.model().spec.ddl {
        Some(ddl) => {
            let src = a
                .common
                .spec
                .parent()
                .unwrap_or(std::path::Path::new("."))
                .join(ddl);
            let read = std::fs::read(&src).map_err(|source| pgshape_core::Error::Io {
                path: src.clone(),
                source,
            });
            Some(read.with_context(|| {
                format!(
                    "{}: at $.ddl: the spec's DDL {} cannot be read",
                    a.common.spec.display(),
                    ddl.display()
                )
            })?)
        }
        None => None,
    };
    let jobs = engine::jobs_of(l.engine.model(), a.common.shard, l.tables.as_deref());
    let (journal, done) = if resuming {
        let (journal, done) = Journal::resume(&a.output, l.engine.model(), format, &jobs)?;
        tracing::info!(dir = %a.output.display(), done = done.chunks.len(), chunks = jobs.len(), "resuming an unfinished run");
        let left: Vec<_> = jobs
            .iter()
            .filter(|j| !done.chunks.contains_key(&(j.table, j.chunk.index)))
            .copied()
            .collect();
        if !a.no_space_check && !left.is_empty() {
            pgshape_generator::space::check_fits(&l.engine, &left, format, &a.output)?;
        }
        (journal, Some(done))
    } else {
        if !a.no_space_check {
            pgshape_generator::space::check_fits(&l.engine, &jobs, format, &a.output)?;
        }
        std::fs::create_dir_all(&a.output)
            .with_context(|| format!("creating {}", a.output.display()))?;
        (Journal::start(&a.output, &id)?, None)
    };
    let bar = progress(l.engine.model(), quiet);
    let on_chunk = |_: &str, rows: u64| {
        if let Some(b) = &bar {
            b.inc(rows);
        }
    };
    let opts = RunOptions {
        threads: l.threads,
        shard: a.common.shard,
        format,
        output: Some(&a.output),
        on_chunk: &on_chunk,
        tables: l.tables.as_deref(),
        journal: Some(&journal),
        done: done.as_ref(),
    };
    let mut report = l
        .engine
        .run(&l.spec_sha256, &opts, l.plan_ms)
        .with_context(|| {
            format!(
                "{}: generation stopped; the chunks finished are kept: run the same command again \
             to resume (once the cause below is fixed)",
                a.output.display()
            )
        })?;
    if let Some(bytes) = &ddl {
        artifact::write_atomic(&a.output.join("schema.sql"), bytes)?;
        report.ddl = Some("schema.sql".into());
    }
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    let path = report.save(&a.output)?;
    journal.finish(&a.output)?;
    for (name, t) in &report.tables {
        tracing::info!(table = %name, rows = t.rows, chunks = t.chunks.len(), "generated");
    }
    tracing::info!(report = %path.display(), ms = report.timings.generate_ms, "dataset complete");
    writeln!(std::io::stdout().lock(), "{}", path.display())?;
    Ok(())
}

/// Whether the existing output directory `dir` holds an unfinished run of `id` (resumed);
/// `false` when it is empty. Any other content is refused: a complete dataset, another run,
/// files that are not a run's.
fn resumable(dir: &Path, id: &RunId) -> Result<bool> {
    let refuse = |why: String| Exit::new(code::BAD_INPUT, format!("{}: {why}", dir.display()));
    let mut entries = std::fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .map(|e| e.map(|e| e.file_name().to_string_lossy().into_owned()))
        .collect::<std::io::Result<Vec<_>>>()
        .with_context(|| format!("reading {}", dir.display()))?;
    if entries.is_empty() {
        return Ok(false);
    }
    entries.sort();
    if let Some(r) = entries
        .iter()
        .find(|n| n.starts_with("report_") && n.ends_with(".json"))
    {
        return Err(refuse(format!(
            "holds a complete dataset ({r}): choose another directory, or remove this one"
        ))
        .into());
    }
    let Some(prev) = Journal::unfinished(dir)? else {
        return Err(refuse("the output directory is not empty".into()).into());
    };
    let differs = [
        ("tool version", prev.tool_version != id.tool_version),
        ("spec (sha256)", prev.spec_sha256 != id.spec_sha256),
        ("band", prev.band != id.band),
        ("seed", prev.seed != id.seed),
        ("format", prev.format != id.format),
        ("shard", prev.shard != id.shard),
        ("--tables", prev.tables != id.tables),
    ];
    let what: Vec<&str> = differs.iter().filter(|d| d.1).map(|d| d.0).collect();
    if !what.is_empty() {
        return Err(refuse(format!(
            "holds an unfinished run of another {}: run its own command again to resume \
             it, or remove the directory",
            what.join(", ")
        ))
        .into());
    }
    Ok(true)
}

/// Reads a pack, refusing an unknown format version and, unless allowed, an expired pack.
fn read_pack(path: &Path, allow_expired: bool, now: chrono::DateTime<chrono::Utc>) -> Result<Pack> {
    let pack: Pack = artifact::read_json(path)?;
    if pack.pack_version != PACK_VERSION {
        return Err(Exit::new(
            code::BAD_INPUT,
            format!(
                "{}: pack_version {} (this build reads {PACK_VERSION})",
                path.display(),
                pack.pack_version
            ),
        )
        .into());
    }
    if !allow_expired {
        calibrate::check_expiry(&pack, now)
            .map_err(|m| Exit::new(code::REFUSED, format!("{}: {m}", path.display())))?;
    }
    Ok(pack)
}

fn calibrate(a: CalibrateArgs, now: chrono::DateTime<chrono::Utc>) -> Result<()> {
    let spec = Spec::read(&a.spec)?;
    let pack = read_pack(&a.pack, a.allow_expired, now)?;
    let pack_sha256 = artifact::sha256_file(&a.pack)?;
    let (mut calibrated, notes) = calibrate::calibrate(&spec, &pack, &pack_sha256)?;
    // The DDL path stays valid from the output's directory.
    // A relative path is kept when it names the same file from there (spec and output in
    // one directory), so calibrating a calibrated spec again changes no byte.
    if let Some(ddl) = &calibrated.ddl {
        let dir = |p: &Path| p.parent().unwrap_or(Path::new(".")).to_path_buf();
        let abs = dir(&a.spec).join(ddl);
        let canonical = std::fs::canonicalize(&abs).unwrap_or(abs);
        let same = ddl.is_relative()
            && std::fs::canonicalize(dir(&a.output).join(ddl)).ok() == Some(canonical.clone());
        if !same {
            calibrated.ddl = Some(canonical);
        }
    }
    artifact::write_json(&a.output, &calibrated)?;
    for n in &notes {
        tracing::info!("calibrated {n}");
    }
    writeln!(std::io::stdout().lock(), "{}", a.output.display())?;
    Ok(())
}

fn init(a: InitArgs, now: chrono::DateTime<chrono::Utc>) -> Result<()> {
    if let Some(s) = a.scale {
        if !(s.is_finite() && s > 0.0) {
            return Err(Exit::new(code::BAD_INPUT, format!("--scale {s}: a fraction > 0")).into());
        }
    }
    let pack = read_pack(&a.pack, a.allow_expired, now)?;
    let pack_sha256 = artifact::sha256_file(&a.pack)?;
    let stem = a
        .output
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("spec")
        .to_string();
    let opts = init::Options {
        name: a.name.clone().unwrap_or_else(|| stem.clone()),
        ddl_file: format!("{stem}.schema.sql"),
        scale: a.scale,
        bands: a.bands.clone(),
        after_parent: a.after_parent,
    };
    let derived = init::init(&pack, &pack_sha256, &opts)
        .map_err(|e| Exit::new(code::BAD_INPUT, format!("{}: {e}", a.pack.display())))?;
    derived
        .spec
        .check(&a.output)
        .context("the derived spec does not check")?;
    let dir = a.output.parent().unwrap_or(Path::new("."));
    if !dir.as_os_str().is_empty() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    artifact::write_atomic_readable(&dir.join(&opts.ddl_file), derived.ddl.as_bytes())?;
    artifact::write_json(&a.output, &derived.spec)?;
    for n in &derived.notes {
        tracing::info!("init {n}");
    }
    writeln!(std::io::stdout().lock(), "{}", a.output.display())?;
    Ok(())
}

fn hash(a: HashArgs) -> Result<()> {
    let l = load(&a.common)?;
    let opts = RunOptions {
        threads: l.threads,
        shard: a.common.shard,
        format: Format::Binary,
        output: None,
        on_chunk: &|_, _| {},
        tables: l.tables.as_deref(),
        journal: None,
        done: None,
    };
    let report = l.engine.run(&l.spec_sha256, &opts, l.plan_ms)?;
    if a.json {
        writeln!(
            std::io::stdout().lock(),
            "{}",
            serde_json::to_string_pretty(&report.tables)?
        )?;
    } else {
        for name in &report.order {
            let t = &report.tables[name];
            let hash = t
                .content_hash
                .clone()
                .unwrap_or_else(|| engine::combine(&t.chunks) + " (partial)");
            writeln!(std::io::stdout().lock(), "{name} {} {hash}", t.rows)?;
        }
    }
    Ok(())
}

/// The comparison's thresholds from the flags, each a number >= 0.
fn thresholds(a: &CompareArgs) -> Result<Thresholds> {
    let limits = [
        ("--max-error", a.max_error),
        ("--max-tvd", a.max_tvd),
        ("--max-ks", a.max_ks),
        ("--max-fraction-diff", a.max_fraction_diff),
    ];
    for (flag, v) in limits {
        if !(v.is_finite() && v >= 0.0) {
            return Err(Exit::new(
                code::BAD_INPUT,
                format!("{flag} {v}: a threshold is a number >= 0"),
            )
            .into());
        }
    }
    Ok(Thresholds {
        max_error: a.max_error,
        max_tvd: a.max_tvd,
        max_ks: a.max_ks,
        max_fraction_diff: a.max_fraction_diff,
    })
}

fn compare(a: CompareArgs, now: chrono::DateTime<chrono::Utc>) -> Result<()> {
    let thresholds = thresholds(&a)?;
    let production = read_pack(&a.production, a.allow_expired, now)?;
    let synthetic = read_pack(&a.synthetic, a.allow_expired, now)?;
    let info = |path: &Path, pack: &Pack| -> Result<PackInfo> {
        Ok(PackInfo {
            file: path.display().to_string(),
            sha256: artifact::sha256_file(path)?,
            created_at: pack.created_at.clone(),
            expires_at: pack.expires_at.clone(),
        })
    };
    let (pinfo, sinfo) = (
        info(&a.production, &production)?,
        info(&a.synthetic, &synthetic)?,
    );
    let c = fidelity::compare(&production, &synthetic, thresholds);
    if c.tables.is_empty() {
        // Nothing compared is not a pass: most likely two packs of different schemas.
        return Err(Exit::new(
            code::BAD_INPUT,
            format!(
                "no table of {} matches a table of {} (by schema.table or by table name): packs of different schemas?",
                a.synthetic.display(),
                a.production.display()
            ),
        )
        .into());
    }
    if !c.only_in.is_empty() {
        tracing::warn!(
            count = c.only_in.len(),
            "tables, edges or columns in one pack only are not compared (listed in the report)"
        );
    }
    if let Some(path) = &a.json {
        let doc = fidelity_report::document(&c, &pinfo, &sinfo);
        let mut bytes = serde_json::to_vec_pretty(&doc)?;
        bytes.push(b'\n');
        artifact::write_atomic_readable(path, &bytes)?;
    }
    if let Some(path) = &a.html {
        let page = html::render(&c, &production, &synthetic, &pinfo, &sinfo);
        artifact::write_atomic_readable(path, page.as_bytes())?;
        tracing::info!(html = %path.display(), "report written");
    }
    write!(
        std::io::stdout().lock(),
        "{}",
        fidelity_report::text(&c, &pinfo, &sinfo)
    )?;
    if c.passed() {
        Ok(())
    } else {
        let n = c.failures().count();
        Err(Exit::new(
            code::FINDINGS,
            format!("{n} figure(s) over their thresholds"),
        )
        .into())
    }
}
