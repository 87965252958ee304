//! The audit log (`--audit-log PATH`): one JSON line per extraction, each carrying the hash of
//! the line before it, so that an edited, removed or reordered record breaks the chain.
//! `pgshape-sampler audit verify LOG` walks it and names the first bad line.
//!
//! A record's `hash` is the sha256 of the record serialised with `hash` empty; the first
//! record's `prev` is 64 zeros. A line must also be exactly the canonical serialisation of
//! what it parses to, so a change that keeps the content (spaces, key order, escapes) is
//! caught too. Dropping the last records leaves a valid shorter chain: compare the count and
//! head `verify` prints with those kept elsewhere (the ledger's last entry, a ticket).

use std::io::Write;
use std::path::Path;

use serde::{Deserialize, Serialize};

use pgshape_core::artifact;
use pgshape_core::{Error, Result};

use crate::identity::DbIdentity;

/// `prev` of the first record.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// One extraction, as the log records it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Record {
    /// 1, 2, ... in order.
    pub seq: u64,
    /// RFC 3339 (`--now` when given).
    pub at: String,
    /// `--operator`, else `$USER`.
    pub operator: String,
    pub database: DbIdentity,
    pub schemas: Vec<String>,
    pub pack_sha256: String,
    /// ε charged (`null` with `--no-dp`).
    pub epsilon: Option<f64>,
    /// Whether the figures were noised (`false` until the metrics are wired to the
    /// mechanisms, issue 12).
    pub noise_applied: bool,
    pub k_min: u64,
    /// sha256 of the policy file, when one was used.
    pub policy_sha256: Option<String>,
    /// The previous record's `hash`.
    pub prev: String,
    pub hash: String,
}

impl Record {
    /// The sha256 of this record with `hash` empty.
    pub fn digest(&self) -> String {
        let body = Record {
            hash: String::new(),
            ..self.clone()
        };
        artifact::sha256_hex(&serde_json::to_vec(&body).expect("a record serialises"))
    }
}

/// The end of an intact log.
#[derive(Debug, Clone, PartialEq)]
pub struct Head {
    pub records: u64,
    /// The last record's hash ([`GENESIS`] for an empty log).
    pub hash: String,
}

/// The first bad line of a log and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Broken {
    /// 1-based.
    pub line: usize,
    pub reason: String,
}

/// Walks the log: its head when every record is intact, else the first bad line. A
/// missing file is an empty log.
pub fn verify(path: &Path) -> Result<std::result::Result<Head, Broken>> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(source) => {
            return Err(Error::Io {
                path: path.into(),
                source,
            })
        }
    };
    Ok(walk(&bytes))
}

fn walk(bytes: &[u8]) -> std::result::Result<Head, Broken> {
    let mut head = Head {
        records: 0,
        hash: GENESIS.into(),
    };
    if bytes.is_empty() {
        return Ok(head);
    }
    let lines: Vec<&[u8]> = bytes.split(|&b| b == b'\n').collect();
    let (last, complete) = lines.split_last().expect("split gives one piece at least");
    for (i, line) in complete.iter().enumerate() {
        let bad = |reason: String| Broken {
            line: i + 1,
            reason,
        };
        let record: Record =
            serde_json::from_slice(line).map_err(|e| bad(format!("not an audit record: {e}")))?;
        if serde_json::to_vec(&record).ok().as_deref() != Some(*line) {
            return Err(bad("not in the form the sampler writes (edited)".into()));
        }
        if record.seq != head.records + 1 {
            return Err(bad(format!(
                "seq {} where {} was expected (a record removed or reordered)",
                record.seq,
                head.records + 1
            )));
        }
        if record.prev != head.hash {
            return Err(bad(
                "prev is not the previous record's hash (a record removed, reordered or edited)"
                    .into(),
            ));
        }
        if record.digest() != record.hash {
            return Err(bad("hash does not match the record (edited)".into()));
        }
        head = Head {
            records: record.seq,
            hash: record.hash,
        };
    }
    if !last.is_empty() {
        return Err(Broken {
            line: complete.len() + 1,
            reason: "the last line is incomplete (no newline)".into(),
        });
    }
    Ok(head)
}

/// Appends `record` after `head` (from [`verify`] before the extraction): sets its `seq`,
/// `prev` and `hash`, writes one line and fsyncs. Refuses when the log moved since `head`.
pub fn append(path: &Path, head: &Head, mut record: Record) -> Result<Record> {
    let invalid = |message: String| Error::Invalid {
        path: path.into(),
        message,
    };
    match verify(path)? {
        Ok(now) if now == *head => {}
        Ok(_) => {
            return Err(invalid(
                "the audit log changed during the extraction".into(),
            ))
        }
        Err(b) => return Err(invalid(format!("line {}: {}", b.line, b.reason))),
    }
    record.seq = head.records + 1;
    record.prev = head.hash.clone();
    record.hash = record.digest();
    let mut line = serde_json::to_vec(&record).expect("a record serialises");
    line.push(b'\n');
    let io = |source| Error::Io {
        path: path.into(),
        source,
    };
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(io)?;
    file.write_all(&line).map_err(io)?;
    file.sync_all().map_err(io)?;
    Ok(record)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(n: u64) -> Record {
        Record {
            seq: 0,
            at: format!("2026-12-0{n}T12:00:00Z"),
            operator: "privacy-engineer".into(),
            database: DbIdentity {
                system_identifier: Some("7715086975692058210".into()),
                database: "app".into(),
                database_oid: 16384,
                salt_fingerprint: "f00d".into(),
            },
            schemas: vec!["public".into()],
            pack_sha256: format!("{n:064}"),
            epsilon: Some(1.0),
            noise_applied: false,
            k_min: 10,
            policy_sha256: None,
            prev: String::new(),
            hash: String::new(),
        }
    }

    /// A log of three records, and its bytes.
    fn log(dir: &Path) -> (std::path::PathBuf, Vec<u8>) {
        let path = dir.join("audit.jsonl");
        for n in 1..=3 {
            let head = verify(&path).unwrap().unwrap();
            append(&path, &head, record(n)).unwrap();
        }
        let bytes = std::fs::read(&path).unwrap();
        (path, bytes)
    }

    fn lines(bytes: &[u8]) -> Vec<Vec<u8>> {
        bytes
            .split(|&b| b == b'\n')
            .filter(|l| !l.is_empty())
            .map(<[u8]>::to_vec)
            .collect()
    }

    fn join(lines: &[Vec<u8>]) -> Vec<u8> {
        lines
            .iter()
            .flat_map(|l| l.iter().copied().chain([b'\n']))
            .collect()
    }

    #[test]
    fn an_intact_log_verifies_to_its_head() {
        let dir = tempfile::tempdir().unwrap();
        let (path, bytes) = log(dir.path());
        let head = verify(&path).unwrap().unwrap();
        assert_eq!(head.records, 3);
        let last: Record = serde_json::from_slice(&lines(&bytes)[2]).unwrap();
        assert_eq!(head.hash, last.hash);
        assert_eq!(
            verify(&dir.path().join("none")).unwrap().unwrap().hash,
            GENESIS
        );
    }

    #[test]
    fn every_flipped_byte_is_caught_at_its_line() {
        let dir = tempfile::tempdir().unwrap();
        let (_, bytes) = log(dir.path());
        let first_len = lines(&bytes)[0].len() + 1;
        for i in 0..bytes.len() {
            let mut b = bytes.clone();
            b[i] ^= 0x01;
            let broken = walk(&b).expect_err(&format!("byte {i} flipped went unnoticed"));
            if i < first_len - 1 {
                assert_eq!(broken.line, 1, "byte {i}: {broken:?}");
            }
        }
    }

    #[test]
    fn removed_reordered_and_edited_records_are_caught() {
        let dir = tempfile::tempdir().unwrap();
        let (_, bytes) = log(dir.path());
        let l = lines(&bytes);
        let removed = walk(&join(&[l[0].clone(), l[2].clone()])).unwrap_err();
        assert_eq!(removed.line, 2, "{removed:?}");
        let swapped = walk(&join(&[l[1].clone(), l[0].clone(), l[2].clone()])).unwrap_err();
        assert_eq!(swapped.line, 1, "{swapped:?}");
        // An edit that recomputes the record's own hash still breaks the next record's prev.
        let mut r: Record = serde_json::from_slice(&l[1]).unwrap();
        r.epsilon = Some(0.1);
        r.hash = r.digest();
        let edited = walk(&join(&[
            l[0].clone(),
            serde_json::to_vec(&r).unwrap(),
            l[2].clone(),
        ]));
        assert_eq!(edited.unwrap_err().line, 3);
        // Same content, other spacing: not the sampler's form.
        let spaced = String::from_utf8(l[0].clone())
            .unwrap()
            .replacen(":", ": ", 1);
        assert_eq!(walk(&join(&[spaced.into_bytes()])).unwrap_err().line, 1);
        // A torn last write.
        let torn = &bytes[..bytes.len() - 5];
        assert_eq!(walk(torn).unwrap_err().line, 3);
    }

    #[test]
    fn an_append_after_the_log_moved_or_broke_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let (path, bytes) = log(dir.path());
        let stale = Head {
            records: 2,
            hash: GENESIS.into(),
        };
        assert!(append(&path, &stale, record(4)).is_err());
        let mut b = bytes.clone();
        b[10] ^= 1;
        std::fs::write(&path, &b).unwrap();
        let head = Head {
            records: 3,
            hash: String::new(),
        };
        let e = append(&path, &head, record(4)).unwrap_err().to_string();
        assert!(e.contains("line 1"), "{e}");
    }
}
