//! `pgshape-sampler`: aggregate shape metrics from a production PostgreSQL; nothing row-level.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use pgshape_core::catalog;
use pgshape_core::cli::{self, code, Exit};
use pgshape_core::conn::Target;
use pgshape_core::token::Salt;
use pgshape_sampler::extract::{self, Options};
use pgshape_sampler::policy::Policy;
use pgshape_sampler::sample::{Method, Sample};
use pgshape_sampler::session::{self, Limits};
use pgshape_sampler::{report, validate};

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
    Extract(ExtractArgs),
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
}

#[derive(clap::Args)]
struct DbArgs {
    /// PostgreSQL URL (default: DATABASE_URL, then the PG* variables).
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    database_url: Option<String>,
    /// Schemas to read (repeatable).
    #[arg(long = "schema", default_value = "public")]
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
    /// Minimum entities per exported bin or category; smaller cells are merged or suppressed.
    #[arg(long, default_value_t = 10)]
    k_min: u64,
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
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    cli.log.init();
    cli::finish(match cli.command {
        Command::Extract(a) => run_extract(a, cli.clock.now),
        Command::Validate { files } => run_validate(&files),
        Command::Report { file } => run_report(&file),
        Command::Inspect(a) => run_inspect(a),
    })
}

fn limits(db: &DbArgs) -> Limits {
    Limits {
        statement_timeout: db.statement_timeout.clone(),
        lock_timeout: db.lock_timeout.clone(),
    }
}

fn run_extract(a: ExtractArgs, now: Option<chrono::DateTime<chrono::Utc>>) -> Result<()> {
    // The salt first: without it nothing is read and nothing is written.
    let salt = Salt::from_env().map_err(|e| Exit::new(code::BAD_INPUT, e.to_string()))?;
    let target = Target::resolve(a.db.database_url.as_deref())?;
    let opts = Options {
        output: a.output.clone(),
        window_days: a.window_days,
        now,
        schemas: a.db.schemas.clone(),
        k_min: a.k_min,
        limits: limits(&a.db),
        policy: a.db.policy()?,
        sample: match a.sample_percent {
            None => Sample::full(),
            Some(p) => {
                Sample::new(a.sample_method, p).map_err(|e| Exit::new(code::BAD_INPUT, e))?
            }
        },
    };
    let written = extract::extract(&target, &salt, &opts)
        .with_context(|| format!("extracting from {}", target.describe()))?;
    tracing::info!(pack = %written.pack.display(), manifest = %written.manifest.display(), sha256 = %written.pack_sha256, "written");
    writeln!(std::io::stdout().lock(), "{}", written.pack.display())?;
    writeln!(std::io::stdout().lock(), "{}", written.manifest.display())?;
    Ok(())
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

fn run_inspect(a: DbArgs) -> Result<()> {
    let policy = a.policy()?;
    let target = Target::resolve(a.database_url.as_deref())?;
    let mut client = session::connect(&target, &limits(&a))?;
    let mut tx = session::snapshot(&mut client)?;
    let schema = catalog::read(&mut tx, &a.schemas)?;
    policy.check(&schema)?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "| table | column | type | role | exported |")?;
    writeln!(out, "|---|---|---|---|---|")?;
    for t in &schema.tables {
        let window = policy.window_column(t);
        let mut roles = policy.roles(t);
        let detected = pgshape_sampler::detect::reclassify(&mut tx, t, &mut roles, &policy)?;
        for (c, r) in t.columns.iter().zip(roles) {
            let mut role = r.to_string();
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
    writeln!(out)?;
    writeln!(out, "| foreign key | child | parent | exported |")?;
    writeln!(out, "|---|---|---|---|")?;
    for t in &schema.tables {
        for fk in &t.foreign_keys {
            let mut exported = "children per parent".to_string();
            if let Some((c, p)) = pgshape_sampler::timing::columns(&policy, &schema, t, fk) {
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
