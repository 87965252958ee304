//! The binaries' shared edge: logging to stderr through `tracing`, and the documented exit
//! codes (see `docs/runbook.md`).
//!
//! | code | meaning |
//! |---|---|
//! | 0 | success (also when stdout is a closed pipe) |
//! | 1 | the command ran and found a problem: PII findings, verification mismatch, threshold exceeded |
//! | 2 | bad input: flags, files, formats, missing settings such as `ANONYMIZATION_SALT`, an output that cannot be written (no space, read-only) |
//! | 3 | database error: connection, statement, timeout |
//! | 4 | refused for safety: production target, foreign rows, expired pack |
//! | 5 | an internal error (a bug: please report it) |
//! | 130, 143 | stopped cleanly by SIGINT or SIGTERM (`generate` and `load`): run the same command again to resume |

use std::process::ExitCode;

use crate::Error;

/// Exit codes.
pub mod code {
    pub const OK: u8 = 0;
    pub const FINDINGS: u8 = 1;
    pub const BAD_INPUT: u8 = 2;
    pub const DATABASE: u8 = 3;
    pub const REFUSED: u8 = 4;
    pub const INTERNAL: u8 = 5;

    /// Stopped by a signal (SIGINT 130, SIGTERM 143): what a shell reports for a command the
    /// signal killed, but after a clean stop.
    pub fn interrupted(signal: i32) -> u8 {
        (128 + signal.clamp(1, 127)) as u8
    }
}

/// An error that carries its own exit code (raised at the binaries' edge).
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct Exit {
    pub code: u8,
    pub message: String,
}

impl Exit {
    pub fn new(code: u8, message: impl Into<String>) -> Exit {
        Exit {
            code,
            message: message.into(),
        }
    }
}

/// "Now" for the commands that need it (a pack's expiry, the extraction window): the clock,
/// unless `--now` (or `PGSHAPE_NOW`) names the instant. Tests pass it, so that what they
/// produce does not depend on the day they run; data never reads the clock at all.
#[derive(clap::Args, Debug, Clone, Copy, Default)]
pub struct Clock {
    /// Take this instant as "now" instead of the clock (RFC 3339, e.g. 2026-12-02T12:00:00Z):
    /// for tests and reproducible runs.
    #[arg(long, global = true, env = "PGSHAPE_NOW", value_name = "RFC3339", value_parser = parse_instant)]
    pub now: Option<chrono::DateTime<chrono::Utc>>,
}

impl Clock {
    /// The instant given, or the clock's.
    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.now.unwrap_or_else(chrono::Utc::now)
    }
}

/// An RFC 3339 instant, e.g. `2026-12-02T12:00:00Z` or `2026-12-02T13:00:00+01:00`.
pub fn parse_instant(s: &str) -> std::result::Result<chrono::DateTime<chrono::Utc>, String> {
    chrono::DateTime::parse_from_rfc3339(s)
        .map(|t| t.to_utc())
        .map_err(|e| format!("{e}: expected an RFC 3339 instant such as 2026-12-02T12:00:00Z"))
}

/// The connection flag of the binaries that talk to PostgreSQL (the sampler's and the
/// loader's; flatten it into their parsers): `--database-url`, else `DATABASE_URL`, else
/// libpq's `PG*` variables ([`crate::conn::Target::resolve`]). The value is never shown in
/// `--help`.
#[cfg(feature = "db")]
#[derive(clap::Args, Debug, Clone, Default)]
pub struct Connection {
    /// PostgreSQL URL (default: DATABASE_URL, then the PG* variables).
    #[arg(long, global = true, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
}

#[cfg(feature = "db")]
impl Connection {
    /// The target these settings name.
    pub fn target(&self) -> crate::Result<crate::conn::Target> {
        crate::conn::Target::resolve(self.database_url.as_deref())
    }
}

/// The logging flags every binary takes (flatten it into the top-level parser).
#[derive(clap::Args, Debug, Clone, Copy)]
pub struct Verbosity {
    /// More logging (-v debug, -vv trace).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Warnings and errors only.
    #[arg(short, long, global = true)]
    pub quiet: bool,
}

impl Verbosity {
    /// Starts logging at this verbosity.
    pub fn init(&self) {
        init_logging(self.verbose, self.quiet);
    }
}

/// Logs to stderr: `-q` warnings only, default info, `-v` debug, `-vv` trace; `RUST_LOG`
/// overrides. No colour when `NO_COLOR` is set or stderr is not a terminal.
pub fn init_logging(verbose: u8, quiet: bool) {
    use std::io::IsTerminal;
    let level = match (quiet, verbose) {
        (true, _) => "warn",
        (false, 0) => "info",
        (false, 1) => "debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    let color = std::env::var_os("NO_COLOR").is_none() && std::io::stderr().is_terminal();
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(color)
        .with_target(false)
        .try_init();
}

/// Runs a binary's main and maps its error to an exit code, printing the error chain.
pub fn finish(result: anyhow::Result<()>) -> ExitCode {
    let Err(err) = result else {
        return ExitCode::SUCCESS;
    };
    if err.chain().any(|e| {
        e.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    }) {
        return ExitCode::SUCCESS;
    }
    let code = exit_code(&err);
    eprintln!("{}", render(&err));
    ExitCode::from(code)
}

/// The error chain, one cause per line, with what the server said reduced to what cannot
/// quote a row (see [`server_message`]); the driver's bare "db error" link is left out.
pub fn render(err: &anyhow::Error) -> String {
    let mut lines = Vec::new();
    for cause in err.chain() {
        #[cfg(feature = "db")]
        if let Some(db) = cause.downcast_ref::<postgres::error::DbError>() {
            lines.push(server_message(db));
            continue;
        } else if cause
            .downcast_ref::<postgres::Error>()
            .is_some_and(|e| e.as_db_error().is_some())
        {
            continue;
        }
        lines.push(cause.to_string());
    }
    let mut msg = format!("error: {}", lines.first().map_or("", String::as_str));
    for line in lines.iter().skip(1) {
        msg.push_str(&format!("\n  caused by: {line}"));
    }
    msg
}

/// What the server said, without what may quote row values: never DETAIL (unique, foreign
/// key and check violations put the offending row there), and for data exceptions (SQLSTATE
/// class 22, e.g. "invalid input syntax for type integer: \"...\"") and integrity violations
/// (class 23) only the condition's code.
#[cfg(feature = "db")]
pub fn server_message(db: &postgres::error::DbError) -> String {
    let code = db.code().code();
    match &code[..2] {
        "22" => format!("{}: data exception (SQLSTATE {code})", db.severity()),
        "23" => format!(
            "{}: integrity constraint violation (SQLSTATE {code}){}",
            db.severity(),
            db.constraint()
                .map(|c| format!(" on constraint {c}"))
                .unwrap_or_default()
        ),
        _ => format!("{}: {} (SQLSTATE {code})", db.severity(), db.message()),
    }
}

fn exit_code(err: &anyhow::Error) -> u8 {
    for e in err.chain() {
        if let Some(exit) = e.downcast_ref::<Exit>() {
            return exit.code;
        }
        if let Some(e) = e.downcast_ref::<Error>() {
            return match e {
                Error::Io { .. }
                | Error::Format { .. }
                | Error::Invalid { .. }
                | Error::Config(_)
                | Error::Unsupported(_) => code::BAD_INPUT,
                #[cfg(feature = "db")]
                Error::Db { .. } => code::DATABASE,
                Error::Refused(_) => code::REFUSED,
                Error::Interrupted { signal } => code::interrupted(*signal),
            };
        }
        #[cfg(feature = "db")]
        if e.downcast_ref::<postgres::Error>().is_some() {
            return code::DATABASE;
        }
    }
    code::INTERNAL
}
