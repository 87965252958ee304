//! The library's error type. Messages never carry row values, passwords or the salt.

use std::path::PathBuf;

/// Errors raised by `pgshape-core`.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A JSON artifact did not match its format; `json_path` locates the offending value.
    #[error("{path}: at {json_path}: {message}")]
    Format {
        path: PathBuf,
        json_path: String,
        message: String,
    },
    /// An artifact parsed but is not acceptable (wrong version, inconsistent, expired, ...).
    #[error("{path}: {message}")]
    Invalid { path: PathBuf, message: String },
    /// Connection settings are missing or malformed.
    #[error("connection settings: {0}")]
    Config(String),
    /// The database refused or failed a statement.
    #[cfg(feature = "db")]
    #[error("{context}")]
    Db {
        context: String,
        #[source]
        source: postgres::Error,
    },
    /// A spec asks for something the generator cannot do; names the table and column.
    #[error("{0}")]
    Unsupported(String),
    /// Refused for safety (e.g. catalog metadata that looks like PII); exit code 4.
    #[error("{0}")]
    Refused(String),
    /// Stopped by SIGTERM or SIGINT between two units of work ([`crate::interrupt`]);
    /// exit code 128 + the signal's number.
    #[error("stopped by {}", crate::interrupt::name(*signal))]
    Interrupted { signal: i32 },
}

/// Shorthand for results in this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(feature = "db")]
impl Error {
    /// Wraps a database error with what was being done (never with the SQL's parameters).
    pub fn db(context: impl Into<String>) -> impl FnOnce(postgres::Error) -> Error {
        let context = context.into();
        move |source| Error::Db { context, source }
    }
}
