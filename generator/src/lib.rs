//! `pgshape-generator` as a library: turn a distribution spec into rows, deterministically.
//!
//! - [`calibrate`]: a spec's parameters fitted to a metrics pack.
//! - [`compare`](mod@compare): a synthetic database's pack against production's, figure by figure.
//! - [`distance`]: relative error, total-variation and Kolmogorov–Smirnov distances.
//! - [`html`]: the comparison as one self-contained page with inline SVG plots.
//! - [`report`]: the comparison as a plain-text table and as the `--json` document.
//! - [`init`]: a complete spec (and its DDL) derived from a metrics pack alone.
//! - [`key`]: sequence key numbers written as text or UUIDs.
//! - [`model`]: a spec and a band compiled into tables with resolved generators.
//! - [`popularity`]: references whose popularity follows a fan-out.
//! - [`plan`]: row counts per parent (fan-out) and chunk boundaries, from integer prefix sums.
//! - [`engine`]: group generation and the cursors that walk a table from any row.
//! - [`column`](mod@column): what each generator does for one column of a group.
//! - `alignment`: hour and weekday weights fitted to the window's calendar, so the profiles are
//!   met whatever day the window ends.
//! - `ascending`: a group's ascending timestamps drawn in order, in constant memory.
//! - [`value`]: the in-memory value of a cell and its COPY encodings.
//! - [`text`]: gibberish text.
//! - [`dataset`]: chunks to files or to any sink, content hashes, the generation report.
//! - [`summary`]: the distributions a run achieved (fan-out quantiles, hourly profiles).
//!
//! Row r of table T is a pure function of (seed, spec, band, T, r): see `docs/architecture.md`.

mod alignment;
mod ascending;
pub mod calibrate;
pub mod column;
pub mod compare;
pub mod dataset;
pub mod distance;
pub mod engine;
pub mod html;
pub mod init;
pub mod key;
pub mod model;
pub mod plan;
pub mod popularity;
pub mod report;
pub mod summary;
pub mod text;
pub mod value;

pub use model::Model;
