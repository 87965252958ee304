//! What a load is asked to do, and the refusal a load can end with.

use std::path::PathBuf;

/// How to load.
#[derive(Debug, Clone)]
pub struct Options {
    pub schema: String,
    pub create_schema: bool,
    pub jobs: usize,
    pub environment: String,
    /// Empty tables that hold rows this loader did not load (otherwise refused).
    pub truncate: bool,
    pub prewarm: bool,
    pub unlogged: bool,
    pub metadata_dir: PathBuf,
    /// Where a streamed spec's DDL path is relative to.
    pub spec_dir: Option<PathBuf>,
    /// Only these tables (empty: all).
    pub only: Vec<String>,
}

/// Why a load was refused for safety (exit code 4).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Refused(pub String);
