//! Spec authoring: a distribution spec made from a metrics pack. Uses the engine only to
//! check that what it writes compiles.
//!
//! - [`init`]: a complete spec (and its DDL) derived from a pack alone, for any schema.
//! - [`calibrate`]: a spec's parameters fitted to a pack.
//! - [`fit`]: fitted parameters (a reference's Zipf exponent, numeric quantile functions).
//!
//! Arrows: `init` → `fit` → `calibrate` → (`pgshape_core`); `init` → `crate::engine`.

pub mod calibrate;
pub mod fit;
pub mod init;
