//! What `init` is asked for, and the error it gives for a column it cannot generate.

use pgshape_core::Error;

/// Rows in all of the `ci` band.
pub const CI_TOTAL_ROWS: f64 = 200_000.0;

/// What `init` is asked for.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// The spec's name.
    pub name: String,
    /// The DDL file name written beside the spec.
    pub ddl_file: String,
    /// A band `scaled` at this fraction of production.
    pub scale: Option<f64>,
    /// Bands whose largest table gets this many rows.
    pub bands: Vec<(String, u64)>,
    /// A child table's window column `after` its parent's (off by default, see
    /// `columns`).
    pub after_parent: bool,
}

/// The error for a column `init` cannot generate, naming its table and column.
pub(crate) fn unsupported(table: &str, column: &str, m: impl std::fmt::Display) -> Error {
    Error::Unsupported(format!("table {table}, column {column}: {m}"))
}
