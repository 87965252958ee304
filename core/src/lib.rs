//! `pgshape-core`: what the three pgshape binaries share.
//!
//! Everything here is synchronous and, except `conn` and `catalog::read`, testable without
//! a database. Those two (and `Error::Db`) are behind the `db` feature, the binaries' shared
//! edge (`cli`) behind the `cli` feature; with neither, nothing here links a database driver,
//! TLS, `anyhow` or `clap`. One module per concept:
//!
//! - [`artifact`]: strict JSON reading (file and JSON path in every error), atomic writes, sha256.
//! - `conn` (feature `db`): connection settings from flags, `DATABASE_URL` or libpq's `PG*` variables, redacted.
//! - [`catalog`]: the schema model read from `pg_catalog`, and the foreign-key graph.
//! - [`copy`]: PostgreSQL binary (and CSV) COPY encoding.
//! - [`rng`]: named, seekable random streams derived from (seed, table, column, group).
//! - [`dist`]: the distributions a spec can name (quantile functions, Zipf, lognormal, ...).
//! - [`spec`]: the distribution spec format.
//! - [`pack`]: the metrics pack format.
//! - [`run_record`]: the load run record (`_pgshape.runs`, `docs/perf-data/run_<id>.json`).
//! - [`dataset_report`]: the generation report a dataset carries.
//! - [`token`]: HMAC tokens under per-namespace keys derived from the salt; the salt fingerprint.
//! - [`entropy`]: a conservative entropy estimate of a secret (weak salts are refused).
//! - [`pii`]: PII detectors (email, phone, SSN, card with Luhn, IP, IBAN with mod-97, names).
//! - [`ident`]: SQL identifier quoting.
//! - `cli` (feature `cli`): what the binaries share at their edge: logging, exit codes.

pub mod artifact;
pub mod catalog;
#[cfg(feature = "cli")]
pub mod cli;
#[cfg(feature = "db")]
pub mod conn;
pub mod copy;
pub mod dataset_report;
pub mod dist;
pub mod entropy;
pub mod error;
pub mod ident;
pub mod interrupt;
pub mod pack;
pub mod pii;
pub mod rng;
pub mod run_record;
pub mod spec;
pub mod token;

pub use error::{Error, Result};

/// The version of the pgshape tools, recorded in every artifact.
pub const TOOL_VERSION: &str = env!("CARGO_PKG_VERSION");
