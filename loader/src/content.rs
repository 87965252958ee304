//! The content-hash chain "report → bytes sent → what the server holds".
//!
//! Every chunk's content hash is computed from the bytes as they are sent (the generator's
//! definition: BLAKE3 over the chunk's rows in binary COPY encoding, without header and
//! trailer) and stored in the chunk's ledger row, committed with the chunk. A table's content
//! hash is then recomputed from the ledger alone, with the generator's own
//! [`combine`], and compared with what the data should hash to: the dataset report's
//! `content_hash`, or, when streaming, the hashes the generator computed for the chunks (what
//! `pgshape-generator hash` prints for the same spec, band and seed).

use std::collections::BTreeMap;

use pgshape_core::dataset_report::ChunkReport;
pub use pgshape_core::run_record::ContentCheck;
use pgshape_core::Result;
use pgshape_generator::engine::combine;

use crate::ledger::LedgerChunk;
use crate::source::{Source, TablePlan};

/// Chunk hashes computed while sending: (table, chunk index) → hash.
pub type Sent = BTreeMap<(String, usize), String>;

/// What one table should hash to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expected {
    /// The table's content hash (the report's, or combined from the generator's chunk hashes).
    pub content_hash: String,
    /// Per chunk index, its hash: tells which chunk differs.
    pub chunks: BTreeMap<usize, String>,
}

/// A table's content hash from its ledger rows (in chunk order), with the generator's
/// function; `None` when a chunk was loaded without a hash (by an older loader).
pub fn ledger_hash(chunks: &[LedgerChunk]) -> Option<String> {
    let reports: Option<Vec<ChunkReport>> = chunks
        .iter()
        .map(|c| {
            c.hash.as_ref().map(|h| ChunkReport {
                index: c.index,
                file: None,
                rows: c.rows,
                hash: h.clone(),
            })
        })
        .collect();
    reports.map(|r| combine(&r))
}

/// The expected hashes of `tables`. From a dataset: the report's (its `content_hash`, or the
/// combination of its chunk hashes for a shard's report, which holds only some chunks). When
/// streaming: the hashes the generator returned while the chunks were sent (`sent`), and for
/// chunks an earlier, interrupted process sent, the generator's hashes computed again (no
/// output: encoding and hashing only).
pub fn expected(
    source: &Source,
    tables: &[TablePlan],
    sent: &Sent,
) -> Result<BTreeMap<String, Expected>> {
    let mut out = BTreeMap::new();
    for t in tables {
        let e = match source {
            Source::Files { report, .. } => {
                let r = &report.tables[&t.name];
                Expected {
                    content_hash: r.content_hash.clone().unwrap_or_else(|| combine(&r.chunks)),
                    chunks: r.chunks.iter().map(|c| (c.index, c.hash.clone())).collect(),
                }
            }
            Source::Stream { .. } => {
                let mut chunks = Vec::with_capacity(t.chunks.len());
                for &c in &t.chunks {
                    let hash = match sent.get(&(t.name.clone(), c)) {
                        Some(h) => h.clone(),
                        None => source.write_chunk(&t.name, c, &mut std::io::sink())?.1,
                    };
                    chunks.push(ChunkReport {
                        index: c,
                        file: None,
                        rows: 0,
                        hash,
                    });
                }
                Expected {
                    content_hash: combine(&chunks),
                    chunks: chunks.into_iter().map(|c| (c.index, c.hash)).collect(),
                }
            }
        };
        out.insert(t.name.clone(), e);
    }
    Ok(out)
}

/// Compares a table's ledger with what it should hash to.
pub fn check(table: &str, ledger: &[LedgerChunk], expected: &Expected) -> ContentCheck {
    let loaded = ledger_hash(ledger);
    let in_ledger: BTreeMap<usize, Option<&String>> =
        ledger.iter().map(|c| (c.index, c.hash.as_ref())).collect();
    let mut chunks_differing: Vec<usize> = expected
        .chunks
        .iter()
        .filter(|(i, h)| in_ledger.get(i) != Some(&Some(*h)))
        .map(|(i, _)| *i)
        .chain(
            in_ledger
                .keys()
                .filter(|i| !expected.chunks.contains_key(i))
                .copied(),
        )
        .collect();
    chunks_differing.sort_unstable();
    ContentCheck {
        table: table.into(),
        ok: loaded.as_deref() == Some(expected.content_hash.as_str()),
        loaded,
        expected: expected.content_hash.clone(),
        chunks_differing,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunk(index: usize, hash: &str) -> LedgerChunk {
        LedgerChunk {
            index,
            rows: 1,
            hash: Some(hash.into()),
        }
    }

    #[test]
    fn the_ledger_hash_is_the_generators_combination() {
        let ledger = [chunk(0, "aa"), chunk(1, "bb")];
        let reports: Vec<ChunkReport> = ledger
            .iter()
            .map(|c| ChunkReport {
                index: c.index,
                file: Some("x".into()),
                rows: 7,
                hash: c.hash.clone().unwrap(),
            })
            .collect();
        assert_eq!(ledger_hash(&ledger), Some(combine(&reports)));
        let old = [
            chunk(0, "aa"),
            LedgerChunk {
                hash: None,
                ..chunk(1, "")
            },
        ];
        assert_eq!(ledger_hash(&old), None);
    }

    #[test]
    fn a_differing_or_missing_chunk_is_named() {
        let expected = Expected {
            content_hash: ledger_hash(&[chunk(0, "aa"), chunk(1, "bb"), chunk(2, "cc")]).unwrap(),
            chunks: [(0, "aa"), (1, "bb"), (2, "cc")]
                .into_iter()
                .map(|(i, h)| (i, h.to_string()))
                .collect(),
        };
        let good = check(
            "t",
            &[chunk(0, "aa"), chunk(1, "bb"), chunk(2, "cc")],
            &expected,
        );
        assert!(good.ok && good.chunks_differing.is_empty());
        let bad = check("t", &[chunk(0, "aa"), chunk(1, "bx")], &expected);
        assert!(!bad.ok);
        assert_eq!(bad.chunks_differing, vec![1, 2]);
    }
}
