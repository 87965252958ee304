//! `pgshape-generator` as a library, in three places with arrows only downward:
//!
//! - [`authoring`]: specs from metrics packs (`init`, `calibrate`, fits). May use the engine.
//! - [`engine`]: a spec compiled for a band and seed into rows, chunks, COPY bytes and
//!   content hashes. Uses `pgshape_core` only; the loader streams through its public API.
//! - [`fidelity`]: two packs compared figure by figure (`compare`, text, JSON and HTML
//!   reports). Uses `pgshape_core` only.
//!
//! Row r of table T is a pure function of (seed, spec, band, T, r): see `docs/architecture.md`.

pub mod authoring;
pub mod engine;
pub mod fidelity;
pub mod space;

pub use engine::{Engine, Model};
