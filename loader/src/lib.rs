//! `pgshape-loader` as a library.
//!
//! - [`guard`]: the environment check that keeps it off production.
//! - [`source`]: where chunks come from: a dataset directory, or the generator streaming.
//! - [`ledger`]: the `_pgshape` schema on the target: runs and the per-chunk ledger.
//! - [`content`]: the content-hash chain: report → bytes sent → ledger.
//! - [`load`]: DDL, constraint handling, binary COPY in foreign-key order, resume.
//! - [`parallel`]: work spread over the `--jobs` connections.
//! - [`integrity`]: row counts, orphans per foreign key, server-side hashes.
//! - [`teardown`]: removing exactly what a run created or loaded.

pub mod content;
pub mod guard;
pub mod integrity;
pub mod ledger;
pub mod load;
pub mod parallel;
pub mod source;
pub mod teardown;
