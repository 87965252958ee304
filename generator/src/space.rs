//! Whether a dataset fits on its output's file system: the chunk files' bytes estimated from
//! the first chunk of each table (generated and counted, not written), against the free space
//! `statvfs` reports. A band that does not fit is refused before anything is written.

use std::collections::BTreeMap;
use std::path::Path;

use pgshape_core::{Error, Result};

use crate::engine::{Engine, Format, Job};

/// Headroom kept free beyond the estimate (the report, the DDL, the file system's own).
const MARGIN: u64 = 16 << 20;

/// Estimated bytes of the chunk files of `jobs`: per table, the bytes per planned row of its
/// first chunk among them, times its planned rows.
pub fn estimate(engine: &Engine, jobs: &[Job], format: Format) -> Result<u64> {
    let mut rows: BTreeMap<usize, (u64, Job)> = BTreeMap::new();
    for job in jobs {
        let e = rows.entry(job.table).or_insert((0, *job));
        e.0 = e.0.saturating_add(job.chunk.rows());
    }
    let mut total = 0u64;
    for (planned, first) in rows.values() {
        let mut bytes = 0u64;
        engine.write_chunk(*first, format, &mut |b| {
            bytes += b.len() as u64;
            Ok(())
        })?;
        let per_row = bytes as f64 / first.chunk.rows().max(1) as f64;
        total = total.saturating_add((per_row * *planned as f64) as u64 + bytes);
    }
    Ok(total)
}

/// Free bytes for an unprivileged writer on the file system holding `dir` (or, when `dir`
/// does not exist yet, its nearest existing ancestor).
pub fn free_bytes(dir: &Path) -> Result<u64> {
    let mut at = dir;
    while !at.exists() {
        at = match at.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
    }
    let st = rustix::fs::statvfs(at).map_err(|e| Error::Io {
        path: at.into(),
        source: e.into(),
    })?;
    Ok(st.f_bavail.saturating_mul(st.f_frsize))
}

/// Refuses (exit 2) a dataset whose estimate does not fit in `dir`'s free space.
pub fn check_fits(engine: &Engine, jobs: &[Job], format: Format, dir: &Path) -> Result<()> {
    let need = estimate(engine, jobs, format)?;
    let free = free_bytes(dir)?;
    tracing::debug!(need, free, "space for the chunk files");
    if need.saturating_add(MARGIN) > free {
        return Err(Error::Invalid {
            path: dir.into(),
            message: format!(
                "the dataset needs about {} MiB (estimated from each table's first chunk, with {} MiB \
                 to spare) and the file system has {} MiB free: free space, choose another --output, \
                 or pass --no-space-check if the estimate is wrong",
                need >> 20,
                MARGIN >> 20,
                free >> 20
            ),
        });
    }
    Ok(())
}
