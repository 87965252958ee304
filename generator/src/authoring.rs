//! Spec authoring: a distribution spec made from a metrics pack. Uses the engine only to
//! check that what it writes compiles.
//!
//! - [`init`]: a complete spec (and its DDL) derived from a pack alone, for any schema.
//! - [`calibrate`]: a spec's parameters fitted to a pack.
//! - [`fit`]: fitted parameters (a reference's Zipf exponent, numeric quantile functions).
//! - [`shapes`]: distributions read off pack figures (fan-outs, popularity, lengths, offsets).
//! - [`untruncate`](mod@untruncate): the window's cut of child offsets, undone.
//!
//! Arrows: `init` → `calibrate` → `untruncate`; `init`, `calibrate`, `fit` → `shapes` →
//! (`pgshape_core`); `init` → `crate::engine`.

pub mod calibrate;
pub mod fit;
pub mod init;
pub mod shapes;
pub mod untruncate;
