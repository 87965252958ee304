//! `pgshape-loader` as a library.
//!
//! - [`guard`]: the environment check that keeps it off production.
//! - [`options`]: what a load is asked to do, and how it can end without an outcome
//!   ([`options::LoadError`]).
//! - [`session`]: how the loader connects.
//! - [`source`]: where chunks come from: a dataset directory, or the generator streaming.
//! - [`ledger`]: the `_pgshape` schema on the target: runs and the per-chunk ledger.
//! - [`content`]: the content-hash chain: report → bytes sent → ledger.
//! - [`parallel`]: work spread over the `--jobs` connections.
//! - [`load`]: a run as steps: [`prepare`] (a new run: DDL, set-aside, the run row),
//!   [`chunks`] (COPY with the ledger, resume), [`rebuild`] (keys, indexes, foreign keys,
//!   sequences), ANALYZE with the row hash, [`check`], the run record.
//! - [`integrity`]: what the server computes: row hashes, foreign keys' state and orphans,
//!   fan-out.
//! - [`verify`]: re-checking a finished run (`verify`, `verify --deep`).
//! - [`teardown`]: removing exactly what a run created or loaded.
//!
//! Imports go one way: `load` → `prepare`, `chunks`, `rebuild`, `check` → `integrity`,
//! `content`, `ledger` → `parallel` → `session`; `verify` uses `integrity`, `content`,
//! `ledger`, `parallel`; nothing imports `load` or `verify`.

pub mod check;
pub mod chunks;
pub mod content;
pub mod guard;
pub mod integrity;
pub mod ledger;
pub mod load;
pub mod options;
pub mod parallel;
pub mod prepare;
pub mod rebuild;
pub mod session;
pub mod source;
pub mod teardown;
pub mod verify;
