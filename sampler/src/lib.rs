//! `pgshape-sampler` as a library: what runs on the production side.
//!
//! - [`session`]: the production-safe database session (read-only snapshot, timeouts, name).
//! - [`roles`]: what each column is (key, timestamp, number, category, text, PII) and so what
//!   may be exported of it.
//! - [`extract`]: catalog + SQL aggregates → metrics pack and mapping manifest.
//! - [`metrics`]: the aggregates: null fractions, arrival profiles, fan-out per foreign key.
//! - [`validate`]: the PII scan and structural checks of a pack.
//! - [`report`]: the extraction compliance report.
//!
//! It depends on `pgshape-core` only: no generation or loading code runs in production.

pub mod extract;
pub mod metrics;
pub mod report;
pub mod roles;
pub mod session;
pub mod validate;
