//! Where chunks come from: a dataset directory (chunk files + report), or the generator's
//! library streaming rows straight into COPY — no intermediate files, which is how a 300M-row
//! band loads without 60 GB of disk. Both give the same bytes for the same spec, band and seed.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use pgshape_core::dataset_report::{Fanout, Format, ParentRef, Report};
use pgshape_core::spec::Spec;
use pgshape_core::{artifact, copy};
use pgshape_core::{Error, Result};
use pgshape_generator::Engine;

/// One table to load.
#[derive(Debug, Clone)]
pub struct TablePlan {
    pub name: String,
    pub columns: Vec<String>,
    /// Chunk indexes in order.
    pub chunks: Vec<usize>,
    /// Rows expected (from the report); `None` when streaming (the COPY counts them).
    pub rows: Option<u64>,
    pub parent: Option<ParentRef>,
    /// What the generator says it achieved (fan-out quantiles), for verification.
    pub achieved: Option<Fanout>,
}

/// A dataset to load.
pub enum Source {
    Files {
        dir: PathBuf,
        report: Box<Report>,
        report_sha256: String,
    },
    /// The generator's engine: workers share it, each chunk generated with a context of the
    /// engine's (reused from chunk to chunk, never one per chunk).
    Stream {
        engine: Box<Engine>,
        identity: String,
    },
}

impl Source {
    /// Opens a dataset directory: its report must be there (a directory without one is an
    /// incomplete generation) and every chunk file it lists must exist.
    pub fn open_dir(dir: &Path) -> Result<Source> {
        let mut reports: Vec<PathBuf> = std::fs::read_dir(dir)
            .map_err(|source| Error::Io {
                path: dir.into(),
                source,
            })?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with("report_") && n.ends_with(".json"))
            })
            .collect();
        reports.sort();
        let path =
            match reports.as_slice() {
                [one] => one.clone(),
                [] => return Err(Error::Invalid {
                    path: dir.into(),
                    message:
                        "no report_*.json: the dataset is incomplete (generation did not finish)"
                            .into(),
                }),
                _ => {
                    return Err(Error::Invalid {
                        path: dir.into(),
                        message: "several reports: load each shard's directory on its own".into(),
                    })
                }
            };
        let report = Report::read(&path)?;
        let report_sha256 = artifact::sha256_file(&path)?;
        for t in report.tables.values() {
            for c in &t.chunks {
                let file = c.file.as_ref().map(|f| dir.join(f));
                if !file.as_ref().is_some_and(|f| f.exists()) {
                    return Err(Error::Invalid {
                        path: path.clone(),
                        message: format!(
                            "chunk {} of {} is missing",
                            c.index,
                            c.file.clone().unwrap_or_default()
                        ),
                    });
                }
            }
        }
        if report.format != Format::Binary {
            return Err(Error::Invalid {
                path,
                message: "the loader reads binary datasets (generate without --format csv)".into(),
            });
        }
        Ok(Source::Files {
            dir: dir.into(),
            report: Box::new(report),
            report_sha256,
        })
    }

    /// Streams from a spec: nothing is written to disk.
    pub fn stream(spec_path: &Path, band: &str, seed: &str) -> Result<Source> {
        let spec = Spec::read(spec_path)?;
        let spec_sha = artifact::sha256_file(spec_path)?;
        let engine = Engine::new(spec, band, seed)?;
        let identity =
            artifact::sha256_hex(format!("stream\n{spec_sha}\n{band}\n{seed}").as_bytes());
        Ok(Source::Stream {
            engine: Box::new(engine),
            identity,
        })
    }

    /// What identifies the data: the report's sha256, or a hash of (spec, band, seed).
    pub fn identity(&self) -> &str {
        match self {
            Source::Files { report_sha256, .. } => report_sha256,
            Source::Stream { identity, .. } => identity,
        }
    }

    /// The DDL to create the tables, when the dataset carries one.
    pub fn ddl(&self, spec_dir: Option<&Path>) -> Result<Option<String>> {
        let path = match self {
            Source::Files { dir, report, .. } => report.ddl.as_ref().map(|d| dir.join(d)),
            Source::Stream { engine, .. } => engine
                .model()
                .spec
                .ddl
                .as_ref()
                .map(|d| spec_dir.unwrap_or(Path::new(".")).join(d)),
        };
        path.map(|p| std::fs::read_to_string(&p).map_err(|source| Error::Io { path: p, source }))
            .transpose()
    }

    /// Tables in load order (parents first).
    pub fn tables(&self) -> Vec<TablePlan> {
        match self {
            Source::Files { report, .. } => report
                .order
                .iter()
                .map(|name| {
                    let t = &report.tables[name];
                    TablePlan {
                        name: name.clone(),
                        columns: t.columns.clone(),
                        chunks: t.chunks.iter().map(|c| c.index).collect(),
                        rows: Some(t.rows),
                        parent: t.parent.clone(),
                        achieved: t.achieved.fanout.clone(),
                    }
                })
                .collect(),
            Source::Stream { engine, .. } => engine
                .model()
                .order
                .iter()
                .map(|&ti| {
                    let t = &engine.model().tables[ti];
                    TablePlan {
                        name: t.name.clone(),
                        columns: t.columns.iter().map(|c| c.name.clone()).collect(),
                        chunks: (0..t.plan.chunks.len()).collect(),
                        rows: None,
                        parent: None,
                        achieved: None,
                    }
                })
                .collect(),
        }
    }

    /// Writes one chunk as a binary COPY stream into `out`; returns the rows written and the
    /// chunk's content hash, computed from the bytes written (the generator's definition:
    /// BLAKE3 over the rows, without the COPY header and trailer).
    pub fn write_chunk(
        &self,
        table: &str,
        chunk: usize,
        out: &mut dyn Write,
    ) -> Result<(u64, String)> {
        match self {
            Source::Files { dir, report, .. } => {
                let t = &report.tables[table];
                let c = t
                    .chunks
                    .iter()
                    .find(|c| c.index == chunk)
                    .expect("planned chunk");
                let path = dir.join(c.file.as_ref().expect("checked at open"));
                let hash = copy_hashing(&path, out)?;
                Ok((c.rows, hash))
            }
            Source::Stream { engine, .. } => {
                let job = engine.job(table, chunk).expect("planned chunk");
                engine.write_chunk(job, Format::Binary, &mut |b| {
                    out.write_all(b).map_err(|source| Error::Io {
                        path: PathBuf::from("<COPY stream>"),
                        source,
                    })
                })
            }
        }
    }
}

/// Copies a binary COPY chunk file into `out` and returns the BLAKE3 of its rows: the bytes
/// between the header (signature, flags and an empty header extension, as `copy::header`
/// writes it: 19 bytes) and the 2-byte trailer. A file with another header is refused, since
/// its rows would start elsewhere.
fn copy_hashing(path: &Path, out: &mut dyn Write) -> Result<String> {
    let io = |source| Error::Io {
        path: path.into(),
        source,
    };
    let (mut header, mut trailer) = (Vec::new(), Vec::new());
    copy::header(&mut header);
    copy::trailer(&mut trailer);
    let mut f = std::fs::File::open(path).map_err(io)?;
    let len = f.metadata().map_err(io)?.len();
    let (start, end) = (
        header.len() as u64,
        len.saturating_sub(trailer.len() as u64),
    );
    let mut hasher = blake3::Hasher::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut pos = 0u64;
    loop {
        let n = match f.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(io(e)),
        };
        let piece = &buf[..n];
        if pos < start {
            let seen = &piece[..piece.len().min((start - pos) as usize)];
            if seen != &header[pos as usize..pos as usize + seen.len()] {
                return Err(Error::Invalid {
                    path: path.into(),
                    message: "not a binary COPY chunk as pgshape writes it (header)".into(),
                });
            }
        }
        let (lo, hi) = (pos.max(start).min(pos + n as u64), end.min(pos + n as u64));
        if lo < hi {
            hasher.update(&piece[(lo - pos) as usize..(hi - pos) as usize]);
        }
        out.write_all(piece).map_err(|source| Error::Io {
            path: PathBuf::from("<COPY stream>"),
            source,
        })?;
        pos += n as u64;
    }
    if pos != len || len < start + trailer.len() as u64 {
        return Err(Error::Invalid {
            path: path.into(),
            message: format!(
                "a chunk file of {len} bytes gave {pos} (changed while read, or truncated)"
            ),
        });
    }
    Ok(hasher.finalize().to_hex().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_files_hash_is_the_generators_hash_of_its_rows() {
        let mut rows = Vec::new();
        copy::row(&mut rows, 2);
        copy::int8(&mut rows, 42);
        copy::bytes(&mut rows, b"hello");
        let mut file = Vec::new();
        copy::header(&mut file);
        file.extend_from_slice(&rows);
        copy::trailer(&mut file);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("000000.bin");
        std::fs::write(&path, &file).unwrap();
        let mut sent = Vec::new();
        let hash = copy_hashing(&path, &mut sent).unwrap();
        assert_eq!(sent, file, "the bytes go out unchanged");
        assert_eq!(hash, blake3::hash(&rows).to_hex().to_string());

        std::fs::write(&path, b"PGCOPY\n\xff\r\n\0\0\0\0\0\0\0\0\x04abcd\xff\xff").unwrap();
        assert!(
            copy_hashing(&path, &mut Vec::new()).is_err(),
            "header extension"
        );
    }
}
