//! A stopped `generate` resumed: the run's identity and a journal of the chunks it finished,
//! kept in `.pgshape-generate/` of the output directory until the report is written.
//!
//! A chunk's line is appended to `journal.jsonl` only after its file was committed (written,
//! synced and renamed into place), so a line names a complete file. A resumed run takes a
//! chunk from the journal only when its file is there with the size recorded and its bytes
//! hash to the chunk's content hash (binary: the COPY rows between header and trailer; CSV:
//! the file's BLAKE3, recorded beside); anything else (a torn last line, a file missing or
//! changed) is generated again. Since a chunk's bytes are a function of (seed, spec, band,
//! table, chunk), the resumed dataset has the content hashes of a run that never stopped.

use std::collections::HashMap;
use std::io::{BufRead, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use pgshape_core::artifact;
use pgshape_core::dataset_report::{ChunkReport, Format, Shard};
use pgshape_core::{Error, Result};
use serde::{Deserialize, Serialize};

use super::chunk::Job;
use super::model::Model;
use super::tally::Tally;

/// The state directory inside the output directory.
pub const STATE_DIR: &str = ".pgshape-generate";
/// No journal line is longer (a chunk's tally is a few KiB): longer is damage.
const MAX_LINE_BYTES: u64 = 1 << 20;

/// What a run makes: a resumed run must be the same one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunId {
    pub tool_version: String,
    pub spec_sha256: String,
    pub band: String,
    pub seed: String,
    pub format: Format,
    pub shard: Shard,
    /// `--tables`, when given.
    pub tables: Option<Vec<String>>,
}

/// A journal line: an entry and the BLAKE3 of its JSON (as this code writes it), so that a
/// line changed but still well-formed is not taken.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Line {
    entry: Entry,
    check: String,
}

/// One chunk finished.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    table: String,
    chunk: usize,
    rows: u64,
    hash: String,
    bytes: u64,
    /// BLAKE3 of a CSV file's bytes (a binary file is checked by its content hash).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    file_hash: Option<String>,
    tally: Tally,
}

/// The chunks a resumed run takes as done: their reports, by (table, chunk index), and
/// their tallies merged per table.
pub struct Done {
    pub chunks: HashMap<(usize, usize), ChunkReport>,
    pub(crate) tallies: Vec<Tally>,
}

/// An open journal that finished chunks are appended to.
pub struct Journal {
    path: PathBuf,
    file: Mutex<std::fs::File>,
}

impl Journal {
    /// Starts the state of a new run in `dir` (which holds nothing of another run).
    pub fn start(dir: &Path, id: &RunId) -> Result<Journal> {
        let state = dir.join(STATE_DIR);
        std::fs::create_dir_all(&state).map_err(|source| Error::Io {
            path: state.clone(),
            source,
        })?;
        artifact::write_json(&state.join("run.json"), id)?;
        Journal::append_to(&state.join("journal.jsonl"))
    }

    /// The identity of the unfinished run in `dir`, if there is one.
    pub fn unfinished(dir: &Path) -> Result<Option<RunId>> {
        let path = dir.join(STATE_DIR).join("run.json");
        if !path.exists() {
            return Ok(None);
        }
        artifact::read_json_max(&path, 1 << 20).map(Some)
    }

    /// Opens the journal of the unfinished run in `dir` (its identity checked by the caller,
    /// see [`Journal::unfinished`]) and returns what it proves done among `jobs`, checking
    /// every such chunk's file.
    pub fn resume(
        dir: &Path,
        model: &Model,
        format: Format,
        jobs: &[Job],
    ) -> Result<(Journal, Done)> {
        let wanted: std::collections::HashSet<(usize, usize)> =
            jobs.iter().map(|j| (j.table, j.chunk.index)).collect();
        let path = dir.join(STATE_DIR).join("journal.jsonl");
        let mut done = Done {
            chunks: HashMap::new(),
            tallies: model.tables.iter().map(Tally::for_table).collect(),
        };
        if path.exists() {
            let complete = read_entries(&path, &mut |line_no, e| {
                let Some(ti) = model
                    .table_index(&e.table)
                    .filter(|&ti| wanted.contains(&(ti, e.chunk)))
                else {
                    return Ok(());
                };
                match accept(dir, model, ti, format, &e) {
                    Ok(Some(report)) => {
                        if done.chunks.insert((ti, e.chunk), report).is_none() {
                            done.tallies[ti].merge(&e.tally);
                        }
                    }
                    Ok(None) => tracing::warn!(
                        journal = %path.display(), line = line_no, table = %e.table, chunk = e.chunk,
                        "a chunk of the journal does not match its file: generated again"
                    ),
                    Err(err) => return Err(err),
                }
                Ok(())
            })?;
            let cut = std::fs::OpenOptions::new()
                .write(true)
                .open(&path)
                .and_then(|f| f.set_len(complete));
            cut.map_err(|source| Error::Io {
                path: path.clone(),
                source,
            })?;
        }
        // Temp files of chunks being written when the run stopped.
        for t in &model.tables {
            remove_temp_files(&dir.join(&t.name))?;
        }
        Ok((Journal::append_to(&path)?, done))
    }

    fn append_to(path: &Path) -> Result<Journal> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|source| Error::Io {
                path: path.to_path_buf(),
                source,
            })?;
        Ok(Journal {
            path: path.to_path_buf(),
            file: Mutex::new(file),
        })
    }

    /// Records a committed chunk of `table`.
    pub fn record(
        &self,
        table: &str,
        report: &ChunkReport,
        bytes: u64,
        file_hash: Option<String>,
        tally: &Tally,
    ) -> Result<()> {
        let entry = Entry {
            table: table.into(),
            chunk: report.index,
            rows: report.rows,
            hash: report.hash.clone(),
            bytes,
            file_hash,
            tally: tally.clone(),
        };
        let check = checksum(&entry);
        let mut line = serde_json::to_vec(&Line { entry, check }).expect("a line serializes");
        line.push(b'\n');
        let mut f = self.file.lock().expect("lock");
        f.write_all(&line).map_err(|source| Error::Io {
            path: self.path.clone(),
            source,
        })
    }

    /// Removes the state once the run's report is written.
    pub fn finish(self, dir: &Path) -> Result<()> {
        drop(self.file);
        let state = dir.join(STATE_DIR);
        std::fs::remove_dir_all(&state).map_err(|source| Error::Io {
            path: state,
            source,
        })
    }
}

/// Calls `each` with every well-formed line (1-based number, entry); a line that is not an
/// entry (torn by the stop, damaged) is skipped with a warning. Returns the bytes of the
/// complete lines (a torn last line is cut off there, so that new lines start their own).
fn read_entries(path: &Path, each: &mut dyn FnMut(usize, Entry) -> Result<()>) -> Result<u64> {
    let io = |source| Error::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut r = std::io::BufReader::new(std::fs::File::open(path).map_err(io)?);
    let mut line = Vec::new();
    let mut complete = 0u64;
    for line_no in 1.. {
        line.clear();
        let n = (&mut r)
            .take(MAX_LINE_BYTES)
            .read_until(b'\n', &mut line)
            .map_err(io)?;
        if n == 0 {
            return Ok(complete);
        }
        if line.last() != Some(&b'\n') {
            if n as u64 == MAX_LINE_BYTES {
                return Err(Error::Invalid {
                    path: path.to_path_buf(),
                    message: format!(
                        "line {line_no} is over {MAX_LINE_BYTES} bytes: not a journal of pgshape's"
                    ),
                });
            }
            tracing::warn!(journal = %path.display(), line = line_no, "a torn last line (the run stopped while writing it): its chunk is generated again");
            return Ok(complete);
        }
        complete += n as u64;
        match serde_json::from_slice::<Line>(&line) {
            Ok(l) if checksum(&l.entry) == l.check => each(line_no, l.entry)?,
            Ok(_) => {
                tracing::warn!(journal = %path.display(), line = line_no, "a line whose checksum does not match: its chunk is generated again")
            }
            Err(e) => {
                tracing::warn!(journal = %path.display(), line = line_no, error = %e, "a damaged line: its chunk is generated again")
            }
        }
    }
    Ok(complete)
}

/// BLAKE3 of an entry's JSON.
fn checksum(e: &Entry) -> String {
    let json = serde_json::to_vec(e).expect("an entry serializes");
    blake3::hash(&json).to_hex().to_string()
}

/// The report of entry `e` (of table `ti`) when its file is the chunk it claims to be.
fn accept(
    dir: &Path,
    model: &Model,
    ti: usize,
    format: Format,
    e: &Entry,
) -> Result<Option<ChunkReport>> {
    let t = &model.tables[ti];
    if e.chunk >= t.plan.chunks.len() || !e.tally.fits(t) {
        return Ok(None);
    }
    // The path is the run's own, never the journal's.
    let rel = format!("{}/{:06}.{}", t.name, e.chunk, format.extension());
    let path = dir.join(&rel);
    let Ok(meta) = std::fs::metadata(&path) else {
        return Ok(None);
    };
    if meta.len() != e.bytes {
        return Ok(None);
    }
    let ok = file_matches(&path, format, e).map_err(|source| Error::Io {
        path: path.clone(),
        source,
    })?;
    Ok(ok.then(|| ChunkReport {
        index: e.chunk,
        file: Some(rel),
        rows: e.rows,
        hash: e.hash.clone(),
    }))
}

/// Whether the file at `path` hashes to what `e` recorded, read in constant memory.
fn file_matches(path: &Path, format: Format, e: &Entry) -> std::io::Result<bool> {
    let mut f = std::io::BufReader::with_capacity(1 << 20, std::fs::File::open(path)?);
    let mut hasher = blake3::Hasher::new();
    match format {
        Format::Binary => {
            let mut want = Vec::new();
            pgshape_core::copy::header(&mut want);
            let (head, tail) = (want.len() as u64, 2);
            if e.bytes < head + tail {
                return Ok(false);
            }
            let mut got = vec![0; want.len()];
            f.read_exact(&mut got)?;
            if got != want {
                return Ok(false);
            }
            std::io::copy(&mut (&mut f).take(e.bytes - head - tail), &mut hasher)?;
            let mut trailer = [0; 2];
            f.read_exact(&mut trailer)?;
            Ok(trailer == (-1i16).to_be_bytes() && hasher.finalize().to_hex().as_str() == e.hash)
        }
        Format::Csv => {
            std::io::copy(&mut f, &mut hasher)?;
            Ok(e.file_hash.as_deref() == Some(hasher.finalize().to_hex().as_str()))
        }
    }
}

/// Removes the temp files (`.NAME.*.tmp`) a stopped run left in `dir`.
fn remove_temp_files(dir: &Path) -> Result<()> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(());
    };
    for e in entries.flatten() {
        let name = e.file_name();
        let name = name.to_string_lossy();
        if name.starts_with('.') && name.ends_with(".tmp") {
            std::fs::remove_file(e.path()).map_err(|source| Error::Io {
                path: e.path(),
                source,
            })?;
        }
    }
    Ok(())
}
