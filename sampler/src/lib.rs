//! `pgshape-sampler` as a library: what runs on the production side.
//!
//! - [`session`]: the production-safe database session (read-only snapshot, timeouts, name).
//! - [`roles`]: what each column is (key, timestamp, number, category, text, PII) and so what
//!   may be exported of it.
//! - [`extract`]: catalog + SQL aggregates → metrics pack and mapping manifest.
//! - [`metrics`]: per-column aggregates: null fractions, distinct ratios, lengths.
//! - [`categories`]: category frequencies, and which labels may appear at all.
//! - [`numbers`]: numeric quantiles and histograms; [`profile`]: hourly, weekday and daily
//!   profiles; [`fanout`]: children per parent of each foreign key; [`timing`]: each edge's
//!   child-minus-parent offsets and inter-arrival times.
//! - [`metadata`]: catalog names, labels and expressions through the PII detectors.
//! - [`unit`](mod@unit): the privacy unit of each table (the person k counts); [`clip`]: at
//!   most so many rows of one person under DP; [`volume`]: a clipped table's row count;
//!   [`consistent`]: a noisy pack's counts made to agree.
//! - [`cells`]: the small-cell rules every metric shares; [`sample`]: `--sample-percent`.
//! - [`detect`]: PII detection from a small in-memory sample of a column's values.
//! - [`policy`]: the policy file's per-table and per-column overrides (roles, window
//!   columns, allow-listed labels).
//! - [`validate`]: the PII scan and structural checks of a pack; [`structure`]: the check
//!   against the published JSON Schema (unknown keys at any depth, with their paths).
//! - [`handover`]: the pack's sha256 against its manifest's.
//! - [`report`]: the extraction compliance report.
//! - [`dp`]: differential-privacy mechanisms (OpenDP), post-processing and the ε split;
//!   [`ledger`]: the ε spent per database across extractions; [`audit`]: the hash-chained
//!   log of extractions; [`books`]: both around one extraction; [`identity`]: the
//!   database they key on.
//!
//! It depends on `pgshape-core` (and OpenDP for its noise) only: no generation or loading code
//! runs in production.

pub mod audit;
pub mod books;
pub mod categories;
pub mod cells;
pub mod clip;
pub mod consistent;
pub mod detect;
pub mod dp;
pub mod extract;
pub mod fanout;
pub mod handover;
pub mod identity;
pub mod ledger;
pub mod metadata;
pub mod metrics;
pub mod numbers;
pub mod people;
pub mod plan;
pub mod policy;
pub mod profile;
pub mod reads;
pub mod report;
pub mod roles;
pub mod sample;
pub mod session;
pub mod shape;
pub mod structure;
pub mod timing;
pub mod unit;
pub mod validate;
pub mod volume;
