//! The generation engine: a spec compiled for a band and seed into rows, chunks, COPY bytes
//! and content hashes. Pure and synchronous (no database, no clock in the data); row `r` of
//! table `T` is a function of (seed, spec, band, T, r) only: see `docs/architecture.md`.
//!
//! The public surface is small: [`Engine`] (compile, list the chunks, write or visit one, run
//! a whole generation), [`Model`] (the compiled spec, to read), [`Job`], [`RunOptions`],
//! [`combine`] (a table's hash from its chunk hashes) and the values a visit hands out
//! ([`value::Value`], [`value::GroupBuf`]). The per-thread generation context (the caches picks
//! read from, the group and output buffers reused from chunk to chunk) lives inside the
//! engine: each caller thread borrows one for a chunk and gives it back, so buffers are reused
//! across chunks whoever drives the engine, and a context never meets another model.
//!
//! Inside, arrows point down only: `dataset` → (`resume`, `chunk`) → `group` → `column` → (`ascending`,
//! `text`, `value`, `popularity`) → `model` → (`plan`, `key`).

mod alignment;
mod ascending;
mod chunk;
mod column;
mod compile;
mod dataset;
mod group;
mod key;
pub mod model;
mod nulls;
mod plan;
mod popularity;
mod resume;
mod tally;
mod text;
pub mod value;

use std::sync::Mutex;

use pgshape_core::dataset_report::Report;
use pgshape_core::spec::Spec;
use pgshape_core::Result;

pub use chunk::Job;
pub use dataset::{combine, jobs_of, RunOptions};
pub use key::digits36;
pub use model::Model;
pub use pgshape_core::dataset_report::{Format, Shard};
pub use plan::{Chunk, ROOT_BLOCK};
pub use resume::{Done, Journal, RunId, STATE_DIR};

use group::Ctx;
use value::GroupBuf;

/// A compiled spec and the generation contexts of the threads that use it.
pub struct Engine {
    model: Model,
    /// Contexts not in use; a thread takes one for a chunk (or a run) and puts it back.
    idle: Mutex<Vec<Ctx>>,
}

impl From<Model> for Engine {
    fn from(model: Model) -> Engine {
        Engine {
            model,
            idle: Mutex::new(Vec::new()),
        }
    }
}

impl Engine {
    /// Compiles `spec` for `band` and `seed` (see [`Model::new`]).
    pub fn new(spec: Spec, band: &str, seed: &str) -> Result<Engine> {
        Model::new(spec, band, seed).map(Engine::from)
    }

    /// Compiles `spec` planning only the tables in `only` and what they read
    /// (see [`Model::new_for`]).
    pub fn new_for(spec: Spec, band: &str, seed: &str, only: Option<&[String]>) -> Result<Engine> {
        Model::new_for(spec, band, seed, only).map(Engine::from)
    }

    /// The compiled spec.
    pub fn model(&self) -> &Model {
        &self.model
    }

    /// All chunks of all tables in load order, restricted to `shard`.
    pub fn jobs(&self, shard: Shard) -> Vec<Job> {
        jobs_of(&self.model, shard, None)
    }

    /// Chunk `chunk` of table `table`, when both exist.
    pub fn job(&self, table: &str, chunk: usize) -> Option<Job> {
        let ti = self.model.table_index(table)?;
        let chunk = *self.model.tables[ti].plan.chunks.get(chunk)?;
        Some(Job { table: ti, chunk })
    }

    /// Generates one chunk, handing encoded bytes to `sink` in pieces of about 1 MiB (binary
    /// output with the COPY header and trailer). Returns (rows, content hash).
    pub fn write_chunk(
        &self,
        job: Job,
        format: Format,
        sink: &mut dyn FnMut(&[u8]) -> Result<()>,
    ) -> Result<(u64, String)> {
        self.with_ctx(|ctx| chunk::generate_chunk(&self.model, job, format, ctx, sink))
    }

    /// Generates one chunk's groups in order and hands each (or each segment of a large one)
    /// to `visit`; rows a distinct pick dropped are flagged in the buffer.
    pub fn visit_chunk(
        &self,
        job: Job,
        visit: &mut dyn FnMut(&GroupBuf) -> Result<()>,
    ) -> Result<()> {
        self.with_ctx(|ctx| chunk::visit_chunk(&self.model, job, ctx, visit))
    }

    /// Generates the shard's chunks on `opts.threads` threads and returns the report (unsaved).
    pub fn run(&self, spec_sha256: &str, opts: &RunOptions<'_>, plan_ms: u64) -> Result<Report> {
        dataset::run(self, spec_sha256, opts, plan_ms)
    }

    /// Runs `f` with a context of this engine's: an idle one, or a new one when every context
    /// is in use (so there are never more than the threads using the engine at once).
    pub(crate) fn with_ctx<R>(&self, f: impl FnOnce(&mut Ctx) -> R) -> R {
        let idle = self.idle.lock().expect("lock").pop();
        let mut ctx = idle.unwrap_or_else(|| Ctx::new(&self.model));
        let r = f(&mut ctx);
        self.idle.lock().expect("lock").push(ctx);
        r
    }
}
