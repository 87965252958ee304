//! `pgshape-sampler`: aggregate shape metrics from a production PostgreSQL; nothing row-level.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use pgshape_core::catalog;
use pgshape_core::cli::{self, code, Exit};
use pgshape_core::pack::K_FLOOR;
use pgshape_core::token::Salt;
use pgshape_sampler::books::{self, Opened, Request};
use pgshape_sampler::extract::{self, Options};
use pgshape_sampler::policy::Policy;
use pgshape_sampler::roles::Role;
use pgshape_sampler::sample::{Method, Sample};
use pgshape_sampler::session::{self, Limits};
use pgshape_sampler::{audit, report, validate};

/// Compute aggregate shape metrics of a production PostgreSQL database, on the server, and
/// write a metrics pack and mapping manifest. No row, no content, no PII leaves.
///
/// Connection: --database-url, else DATABASE_URL, else libpq's PGHOST, PGPORT, PGUSER,
/// PGPASSWORD, PGDATABASE, PGSSLMODE. Use a read-only role.
#[derive(Parser)]
#[command(name = "pgshape-sampler", version, propagate_version = true)]
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
    /// Extract the metrics pack and its mapping manifest (needs ANONYMIZATION_SALT, >= 32 bytes).
    Extract(Box<ExtractArgs>),
    /// Scan packs and manifests for PII; exit 1 with one line per finding (path and detector).
    Validate {
        /// Files to check.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Print the extraction compliance report (markdown) of a pack.
    Report {
        /// The pack.
        file: PathBuf,
    },
    /// Show each table and column with its role and what would be exported; exports nothing.
    /// Reads a small sample of text-like values in memory to detect PII (never shown).
    Inspect(DbArgs),
    /// The audit log of extractions (`--audit-log`).
    #[command(subcommand)]
    Audit(AuditCommand),
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Check the hash chain: exit 0 when every record is intact (prints the count and the
    /// head hash), 1 naming the first edited, removed, reordered or torn line.
    Verify {
        /// The log (JSON lines).
        log: PathBuf,
    },
}

#[derive(clap::Args)]
struct DbArgs {
    #[command(flatten)]
    connection: cli::Connection,
    /// Schemas to read (repeatable). Default: every schema but the system's (pg_catalog,
    /// information_schema, pg_toast, pg_temp_*) and the loader's own (_pgshape), listed in
    /// the log.
    #[arg(long = "schema")]
    schemas: Vec<String>,
    /// statement_timeout of the session.
    #[arg(long, default_value = "5min")]
    statement_timeout: String,
    /// lock_timeout of the session.
    #[arg(long, default_value = "5s")]
    lock_timeout: String,
    /// Policy file (strict JSON): per table and column, the role (key, timestamp, number,
    /// category, text, pii, other, skip), the window column and allow-listed category labels.
    #[arg(long, value_name = "FILE")]
    policy: Option<PathBuf>,
}

impl DbArgs {
    /// The policy file, or none (detection only).
    fn policy(&self) -> Result<Policy> {
        Ok(match &self.policy {
            Some(path) => Policy::read(path)?,
            None => Policy::default(),
        })
    }
}

#[derive(clap::Args)]
struct ExtractArgs {
    #[command(flatten)]
    db: DbArgs,
    /// The pack to write, e.g. shape-metrics-20261122.json; the manifest goes beside it.
    #[arg(long)]
    output: PathBuf,
    /// Days of the extraction window (counts inside it are reported per table).
    #[arg(long, default_value_t = 30)]
    window_days: u32,
    /// Minimum people (distinct privacy units) behind every exported figure; smaller cells
    /// are merged or suppressed. Below 5 only with --unsafe-k.
    #[arg(long, default_value_t = 10)]
    k_min: u64,
    /// Accept --k-min below 5 (tests of tiny data only: such a pack fails `validate`).
    #[arg(long)]
    unsafe_k: bool,
    /// Read only P % of the rows (TABLESAMPLE, 0 < P <= 100) and scale counts back. Each
    /// foreign key's fan-out samples the parents and counts their children in full.
    #[arg(long, value_name = "P")]
    sample_percent: Option<f64>,
    /// How --sample-percent samples: bernoulli keeps rows independently (unbiased, reads every
    /// page); system keeps whole pages (reads only P % of the table, wider error).
    #[arg(
        long,
        value_enum,
        default_value = "bernoulli",
        requires = "sample_percent"
    )]
    sample_method: Method,
    /// An exact extract (--no-dp, no --sample-percent) runs every figure on its own instead
    /// of reading each table once in one statement: no statement longer than one figure's
    /// and no table copied to the server's temporary files, at the cost of many more scans.
    #[arg(long)]
    no_read_ahead: bool,
    /// statement_timeout of an exact extract's read-ahead (e.g. 30min; default: the
    /// session's --statement-timeout times the figures it reads). When the server stops it
    /// (this timeout, temp_file_limit, disk, memory) the figures run one by one in the same
    /// snapshot, with a warning: same pack, more scans.
    #[arg(long, value_name = "DURATION", conflicts_with = "no_read_ahead")]
    read_ahead_timeout: Option<String>,
    #[command(flatten)]
    books: BooksArgs,
}

/// Differential privacy, the budget ledger and the audit log (see docs/privacy.md).
#[derive(clap::Args)]
struct BooksArgs {
    /// Differential-privacy epsilon of this pack, per privacy unit (discrete Laplace noise on
    /// every figure, split across figure families: docs/privacy.md); what --budget-ledger is
    /// charged.
    #[arg(long, default_value_t = 1.0)]
    epsilon: f64,
    /// No differential privacy: exact figures under k-suppression only. `validate` reports
    /// such a pack as a finding and `report` marks it; refused with --budget-ledger.
    #[arg(long, conflicts_with_all = ["max_rows_per_unit", "max_children_per_parent", "max_length", "max_categories_per_unit", "delta"])]
    no_dp: bool,
    /// Rows of one privacy unit a table's figures read under DP (the rest are left out, so
    /// the noise covers one unit); 1 for tables whose rows are their own units.
    #[arg(long, value_name = "N", default_value_t = pgshape_sampler::dp::noise::DEFAULT_MAX_ROWS_PER_UNIT)]
    max_rows_per_unit: u64,
    /// Children per parent counted in a fan-out histogram under DP.
    #[arg(long, value_name = "N", default_value_t = pgshape_sampler::dp::noise::DEFAULT_MAX_CHILDREN_PER_PARENT)]
    max_children_per_parent: u64,
    /// Text length counted under DP (longer values fall in the last bin).
    #[arg(long, value_name = "N", default_value_t = pgshape_sampler::dp::noise::DEFAULT_MAX_LENGTH)]
    max_length: u64,
    /// Labels of one privacy unit counted under DP when deciding which of a column's labels
    /// appear at all (those of N of its rows, drawn at random).
    #[arg(long, value_name = "N", default_value_t = pgshape_sampler::dp::noise::DEFAULT_MAX_CATEGORIES_PER_UNIT)]
    max_categories_per_unit: u64,
    /// δ under DP: the chance, over all category columns, that a label only one person
    /// holds appears in the pack (every other figure is pure ε-DP).
    #[arg(long, value_name = "DELTA", default_value_t = pgshape_sampler::dp::noise::DEFAULT_DELTA)]
    delta: f64,
    /// The budget ledger (JSON, created when missing): adds up epsilon per database and
    /// salt; an extraction past --budget-total is refused (exit 4) before anything is read.
    #[arg(long, value_name = "PATH")]
    budget_ledger: Option<PathBuf>,
    /// Epsilon a database may spend in all, over every extraction in the ledger.
    #[arg(long, default_value_t = pgshape_sampler::ledger::DEFAULT_TOTAL)]
    budget_total: f64,
    /// Append a hash-chained record of this extraction to this log (JSON lines).
    #[arg(long, value_name = "PATH")]
    audit_log: Option<PathBuf>,
    /// Who runs the extraction, for the audit log (default: $USER).
    #[arg(long)]
    operator: Option<String>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    cli.log.init();
    cli::finish(match cli.command {
        Command::Extract(a) => run_extract(*a, cli.clock.now, cli.log.quiet),
        Command::Validate { files } => run_validate(&files),
        Command::Report { file } => run_report(&file),
        Command::Inspect(a) => run_inspect(a),
        Command::Audit(AuditCommand::Verify { log }) => run_audit_verify(&log),
    })
}

fn limits(db: &DbArgs) -> Limits {
    Limits {
        statement_timeout: db.statement_timeout.clone(),
        lock_timeout: db.lock_timeout.clone(),
    }
}

/// A bar over the tables on a terminal (rows/s of the last one measured); none otherwise.
fn progress(quiet: bool) -> Option<indicatif::ProgressBar> {
    use std::io::IsTerminal;
    if quiet || !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = indicatif::ProgressBar::new(0);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} tables, {elapsed} {msg}")
            .expect("valid template"),
    );
    Some(bar)
}

/// What the bar shows of a step.
fn show(bar: &indicatif::ProgressBar, step: extract::Step) {
    match step {
        extract::Step::Tables(t) => bar.set_length(t.len() as u64),
        extract::Step::ReadingAhead { figures } => {
            bar.set_message(format!("reading every table once ({figures} figures)"))
        }
        extract::Step::Measured {
            table,
            rows,
            elapsed,
        } => {
            let secs = elapsed.as_secs_f64().max(1e-3);
            bar.set_message(format!(
                "{table}: {rows} rows in {secs:.1} s ({:.0} rows/s)",
                rows as f64 / secs
            ));
            bar.inc(1);
        }
    }
}

fn run_extract(
    a: ExtractArgs,
    now: Option<chrono::DateTime<chrono::Utc>>,
    quiet: bool,
) -> Result<()> {
    // The salt first: without it nothing is read and nothing is written.
    if a.k_min < K_FLOOR && !a.unsafe_k {
        return Err(Exit::new(
            code::BAD_INPUT,
            format!("--k-min {} is below the floor of {K_FLOOR}: a figure resting on fewer people can single one out (--unsafe-k to force it, for tests only)", a.k_min),
        )
        .into());
    }
    let salt = Salt::from_env().map_err(|e| Exit::new(code::BAD_INPUT, e.to_string()))?;
    let target = a.db.connection.target()?;
    let schemas = session::schemas(&target, &limits(&a.db), &a.db.schemas)?;
    let opts = Options {
        output: a.output.clone(),
        window_days: a.window_days,
        now,
        schemas: schemas.clone(),
        k_min: a.k_min,
        limits: limits(&a.db),
        policy: a.db.policy()?,
        dp: (!a.books.no_dp).then_some(extract::DpOptions {
            epsilon: a.books.epsilon,
            delta: a.books.delta,
            bounds: pgshape_core::pack::ContributionBounds {
                max_rows_per_unit: a.books.max_rows_per_unit,
                max_children_per_parent: a.books.max_children_per_parent,
                max_length: a.books.max_length,
                max_categories_per_unit: Some(a.books.max_categories_per_unit),
                table_max_rows_per_unit: Default::default(),
            },
        }),
        read_ahead: pgshape_sampler::reads::ReadAhead {
            off: a.no_read_ahead,
            timeout: a.read_ahead_timeout.clone(),
        },
        sample: match a.sample_percent {
            None => Sample::full(),
            Some(p) => {
                Sample::new(a.sample_method, p).map_err(|e| Exit::new(code::BAD_INPUT, e))?
            }
        },
    };
    let books = match books::open(
        books_request(&a, &schemas, now)?,
        &target,
        &salt,
        &opts.limits,
    )? {
        Opened::Refused(msg) => return Err(Exit::new(code::REFUSED, msg).into()),
        Opened::None => None,
        Opened::Ready(b) => Some(b),
    };
    let bar = progress(quiet);
    let written = extract::extract_observed(&target, &salt, &opts, &|step| {
        if let Some(b) = &bar {
            show(b, step);
        }
    })
    .with_context(|| format!("extracting from {}", target.describe()))?;
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    if let Some(b) = books {
        if let Err(e) = b.record(&written.pack_sha256) {
            // A pack the books do not account for must not leave.
            let _ = std::fs::remove_file(&written.pack);
            let _ = std::fs::remove_file(&written.manifest);
            return Err(e).context("recording the extraction; the pack was removed");
        }
    }
    tracing::info!(pack = %written.pack.display(), manifest = %written.manifest.display(), sha256 = %written.pack_sha256, "written");
    writeln!(std::io::stdout().lock(), "{}", written.pack.display())?;
    writeln!(std::io::stdout().lock(), "{}", written.manifest.display())?;
    Ok(())
}

fn books_request(
    a: &ExtractArgs,
    schemas: &[String],
    now: Option<chrono::DateTime<chrono::Utc>>,
) -> Result<Request> {
    let b = &a.books;
    let valid = b.epsilon.is_finite()
        && b.epsilon > 0.0
        && b.budget_total.is_finite()
        && b.budget_total >= 0.0;
    if !valid {
        return Err(Exit::new(
            code::BAD_INPUT,
            "--epsilon must be a finite number > 0 and --budget-total >= 0",
        )
        .into());
    }
    Ok(Request {
        ledger: b.budget_ledger.clone(),
        total: b.budget_total,
        audit_log: b.audit_log.clone(),
        epsilon: (!b.no_dp).then_some(b.epsilon),
        operator: b
            .operator
            .clone()
            .or_else(|| std::env::var("USER").ok())
            .unwrap_or_else(|| "unknown".into()),
        schemas: schemas.to_vec(),
        k_min: a.k_min,
        policy: a.db.policy.clone(),
        now: now.unwrap_or_else(chrono::Utc::now),
    })
}

fn run_audit_verify(log: &std::path::Path) -> Result<()> {
    match audit::verify(log)? {
        Ok(head) => {
            writeln!(
                std::io::stdout().lock(),
                "{}: {} record(s) intact, head {}",
                log.display(),
                head.records,
                head.hash
            )?;
            Ok(())
        }
        Err(b) => Err(Exit::new(
            code::FINDINGS,
            format!("{}: line {}: {}", log.display(), b.line, b.reason),
        )
        .into()),
    }
}

fn run_validate(files: &[PathBuf]) -> Result<()> {
    let mut total = 0;
    for f in files {
        let findings =
            validate::validate_file(f).with_context(|| format!("reading {}", f.display()))?;
        for finding in &findings {
            writeln!(
                std::io::stdout().lock(),
                "{}: {}: {}",
                f.display(),
                finding.json_path,
                finding.what
            )?;
        }
        total += findings.len();
    }
    if total > 0 {
        return Err(Exit::new(
            code::FINDINGS,
            format!("{total} finding(s): do not let these files leave production"),
        )
        .into());
    }
    for line in validate::clean_summary() {
        writeln!(std::io::stdout().lock(), "{line}")?;
    }
    Ok(())
}

fn run_report(file: &std::path::Path) -> Result<()> {
    let operator = std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_else(|_| "unknown".into());
    write!(
        std::io::stdout().lock(),
        "{}",
        report::render(file, &operator)?
    )?;
    Ok(())
}

/// What `inspect` found of each table's columns: their roles and which columns PII
/// detection reclassified from a sample of their values.
struct Classified {
    roles: BTreeMap<String, Vec<Role>>,
    detected: BTreeMap<String, Vec<(String, pgshape_core::pii::Detector)>>,
}

fn run_inspect(a: DbArgs) -> Result<()> {
    let policy = a.policy()?;
    let target = a.connection.target()?;
    let schemas = session::schemas(&target, &limits(&a), &a.schemas)?;
    let mut client = session::connect(&target, &limits(&a))?;
    let mut tx = session::snapshot(&mut client)?;
    let schema = catalog::read(&mut tx, &schemas)?;
    policy.check(&schema)?;
    let mut out = std::io::stdout().lock();
    let mut found = Classified {
        roles: BTreeMap::new(),
        detected: BTreeMap::new(),
    };
    for t in &schema.tables {
        let mut roles = policy.roles(t);
        let detected = pgshape_sampler::detect::reclassify(&mut tx, t, &mut roles, &policy)?;
        found.roles.insert(t.qualified(), roles);
        found.detected.insert(t.qualified(), detected);
    }
    let units = pgshape_sampler::unit::units(&schema, &found.roles, &policy)?;
    writeln!(out, "| table | privacy unit (k counts these) |")?;
    writeln!(out, "|---|---|")?;
    for t in &schema.tables {
        let unit = &units[&t.qualified()];
        writeln!(out, "| {} | {unit} |", t.qualified())?;
    }
    writeln!(out)?;
    inspect_columns(&mut out, &schema, &found, &policy)?;
    writeln!(out)?;
    inspect_edges(&mut out, &schema, &policy)?;
    Ok(())
}

/// The `inspect` table of columns: type, role (and why), and what of it a pack exports.
fn inspect_columns(
    out: &mut impl Write,
    schema: &catalog::Schema,
    found: &Classified,
    policy: &Policy,
) -> Result<()> {
    writeln!(out, "| table | column | type | role | exported |")?;
    writeln!(out, "|---|---|---|---|---|")?;
    for t in &schema.tables {
        let window = policy.window_column(t);
        let roles = found.roles[&t.qualified()].clone();
        let detected = &found.detected[&t.qualified()];
        for (c, r) in t.columns.iter().zip(roles) {
            let identifier = pgshape_sampler::roles::identifier_like(c, r);
            let r = if identifier { Role::Other } else { r };
            let mut role = r.to_string();
            if identifier {
                role.push_str(" (identifier-like name)");
            }
            if let Some((_, d)) = detected.iter().find(|(name, _)| name == &c.name) {
                role.push_str(&format!(" (values look like {})", d.name()));
            }
            if window == Some(c.name.as_str()) {
                role.push_str(" (window)");
            }
            let mut exported = r.exported().to_string();
            let labels = policy.labels(t, &c.name);
            if !labels.is_empty() {
                exported.push_str(&format!(
                    "; {} allow-listed label(s) in plain",
                    labels.len()
                ));
            }
            writeln!(
                out,
                "| {} | {} | {} | {role} | {exported} |",
                t.qualified(),
                c.name,
                c.data_type
            )?;
        }
    }
    Ok(())
}

/// The `inspect` table of foreign keys: what a pack exports of each edge.
fn inspect_edges(out: &mut impl Write, schema: &catalog::Schema, policy: &Policy) -> Result<()> {
    writeln!(out, "| foreign key | child | parent | exported |")?;
    writeln!(out, "|---|---|---|---|")?;
    for t in &schema.tables {
        for fk in &t.foreign_keys {
            let mut exported = "children per parent".to_string();
            if let Some((c, p)) = pgshape_sampler::timing::columns(policy, schema, t, fk) {
                exported.push_str(&format!(
                    "; seconds between consecutive {} of one parent",
                    c.name
                ));
                if let Some(p) = p {
                    exported.push_str(&format!("; {} minus parent {} in seconds", c.name, p.name));
                }
            }
            writeln!(
                out,
                "| {} | {}({}) | {}.{} | {exported} |",
                fk.name,
                t.qualified(),
                fk.columns.join(", "),
                fk.ref_schema,
                fk.ref_table
            )?;
        }
    }
    Ok(())
}
