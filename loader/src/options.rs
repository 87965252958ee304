//! What a load is asked to do, and how it can end without an outcome: refused, failed, or
//! stopped (to resume).

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

/// How a load ends without an outcome: refused for safety before it started, an error
/// before the run was recorded, or a recorded run that stopped (and resumes when the same
/// command runs again). The inner error stays the source, so the exit code is still chosen
/// from it (`pgshape_core::cli`).
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// Refused for safety (exit code 4).
    #[error(transparent)]
    Refused(#[from] Refused),
    /// Failed before the run was recorded.
    #[error(transparent)]
    Core(#[from] pgshape_core::Error),
    /// A recorded run stopped: what it loaded is kept.
    #[error("run {run_id} stopped; what it loaded is kept: run the same command again to resume (`pgshape-loader status` shows progress)")]
    Stopped {
        run_id: String,
        #[source]
        source: pgshape_core::Error,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The exit code is chosen by finding core's error in the chain: a stopped run must keep
    /// it as its direct source, not wrapped in another `LoadError`.
    #[test]
    fn a_stopped_run_keeps_the_core_error_as_its_source() {
        let e = LoadError::Stopped {
            run_id: "r1".into(),
            source: pgshape_core::Error::Config("no host".into()),
        };
        assert!(e
            .to_string()
            .starts_with("run r1 stopped; what it loaded is kept"));
        let source = std::error::Error::source(&e).expect("a source");
        assert!(matches!(
            source.downcast_ref::<pgshape_core::Error>(),
            Some(pgshape_core::Error::Config(m)) if m == "no host"
        ));
    }
}
