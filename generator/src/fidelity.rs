//! Fidelity: a synthetic database's metrics pack against production's, figure by figure.
//! Reads packs only (never the engine).
//!
//! - [`compare`](mod@compare): table, edge and column matching, figures, thresholds, verdicts.
//! - [`distance`]: relative error, total-variation and Kolmogorov–Smirnov distances.
//! - [`report`]: the comparison as a plain-text table and as the `--json` document.
//! - [`html`]: the comparison as one self-contained page with inline SVG plots.
//!
//! Arrows: `html` → `report` → `compare` → `distance`.

pub mod compare;
pub mod distance;
pub mod html;
pub mod report;
