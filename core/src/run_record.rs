//! The load run record: what `pgshape-loader load` writes to `_pgshape.runs.record` and to
//! `docs/perf-data/run_<run id>.json`, and what `verify`, `status` and `teardown` read back.
//! One struct for writing and reading, so a field cannot be written under one name and read
//! under another; its JSON Schema is published as `docs/schemas/run.schema.json`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::catalog::ForeignKey;

/// Where a run stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum RunStatus {
    /// Recorded, chunks being copied (or stopped: the same command resumes it).
    Loading,
    /// Loaded, and every load-time check passed.
    Done,
    /// Loaded, but a count, a content hash or a foreign key check failed.
    FailedIntegrity,
}

impl RunStatus {
    /// The status as written in `_pgshape.runs.status`.
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Loading => "loading",
            RunStatus::Done => "done",
            RunStatus::FailedIntegrity => "failed-integrity",
        }
    }

    /// Parses `_pgshape.runs.status`.
    pub fn parse(s: &str) -> Option<RunStatus> {
        [
            RunStatus::Loading,
            RunStatus::Done,
            RunStatus::FailedIntegrity,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }
}

/// Where the rows came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DatasetKind {
    /// A dataset directory (chunk files and report).
    Files,
    /// Streamed from a spec, band and seed.
    Stream,
}

/// A load run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RunRecord {
    pub run_id: String,
    /// RFC 3339, UTC.
    pub started_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<String>,
    pub status: RunStatus,
    pub tool_version: String,
    pub environment: String,
    /// `user@host:port/db`, never a password.
    pub target: String,
    pub schema: String,
    /// The dataset report's sha256, or a hash of (spec, band, seed) when streaming.
    pub dataset: String,
    pub dataset_kind: DatasetKind,
    /// The run created the schema (teardown drops it).
    pub schema_created: bool,
    /// Objects the run's DDL created (teardown drops them).
    pub created: Vec<CreatedObject>,
    /// Tables emptied by `--truncate` before the load.
    pub truncated: Vec<String>,
    /// The loaded tables, in load order.
    pub tables: Vec<String>,
    /// Keys, indexes and foreign keys dropped before the copy and rebuilt after it.
    pub set_aside: SetAside,
    pub jobs: usize,
    /// What the generator reports it achieved per grouping foreign key (for `verify --deep`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub expected_fanout: Vec<ExpectedFanout>,
    /// The results, once the chunks are in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<RunResult>,
}

/// An object a run's DDL created.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CreatedObject {
    /// `table`, `sequence`, `view` or `type`.
    pub kind: String,
    pub name: String,
}

/// What the run set aside before the copy.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SetAside {
    pub schema: String,
    /// Foreign keys first, then primary and unique keys, as dropped.
    pub constraints: Vec<SavedConstraint>,
    /// Secondary indexes (not backing a constraint).
    pub indexes: Vec<SavedIndex>,
}

/// A constraint as dropped: `pg_get_constraintdef`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SavedConstraint {
    /// `f` (foreign key), `p` (primary key) or `u` (unique).
    pub kind: String,
    pub table: String,
    pub name: String,
    pub definition: String,
}

impl SavedConstraint {
    /// A foreign key.
    pub fn is_foreign_key(&self) -> bool {
        self.kind == "f"
    }
}

/// An index as dropped: `pg_get_indexdef`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SavedIndex {
    pub name: String,
    pub definition: String,
}

/// A grouping foreign key's fan-out as the generator reports it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExpectedFanout {
    /// The child table.
    pub table: String,
    pub parent_table: String,
    /// The child's columns holding the parent's key.
    pub columns: Vec<String>,
    /// The parent's key columns, in the same order.
    pub ref_columns: Vec<String>,
    /// p50, p95, p99 of children per parent with children.
    pub quantiles: [f64; 3],
    pub zero_fraction: f64,
}

/// What the load measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RunResult {
    /// Per table: rows the report expects and rows the server took (COPY's counts, summed
    /// over the ledger).
    pub counts: BTreeMap<String, Count>,
    /// Per table: rows and the row hash, computed by the server in one scan.
    pub hashes: BTreeMap<String, TableHash>,
    /// Per table, the content hash recomputed from the ledger's chunk hashes (`null` when a
    /// chunk was loaded by an older loader, without a hash).
    pub content_hashes: BTreeMap<String, Option<String>>,
    /// Per table, the dataset report's content hash, or the generator's when streaming.
    pub expected_content_hashes: BTreeMap<String, String>,
    /// Every foreign key of the loaded tables, as the catalog had it after the rebuild.
    pub foreign_keys: Vec<TableForeignKey>,
    pub integrity: Integrity,
    pub timings_ms: Timings,
}

/// Expected and actual rows of a table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Count {
    pub expected: i64,
    pub actual: i64,
}

/// A table's rows and row hash as the server computes them (see `pgshape-loader`'s
/// `integrity` module for the definition).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TableHash {
    pub rows: i64,
    /// The sum modulo 2^64 of a 64-bit hash of every row, as a decimal string.
    pub rows_hash: String,
    pub method: RowHashMethod,
}

/// How a row's 64-bit hash is computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RowHashMethod {
    /// `hash_record_extended(ROW(columns), 0)`: the row's values hashed in their binary form
    /// (user-defined types as text; PostgreSQL 14 and later, every column type hashable).
    Record,
    /// The first 64 bits of `md5(row::text)` under fixed output settings (a column type
    /// without a hash function, or an older server).
    Text,
}

/// A foreign key of a loaded table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TableForeignKey {
    pub table: String,
    pub foreign_key: ForeignKey,
}

/// The load-time checks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Integrity {
    pub counts_match: bool,
    /// Per foreign key: validated by PostgreSQL, or its orphans counted.
    pub foreign_keys: Vec<ForeignKeyCheck>,
    pub referential_integrity: bool,
    pub content_hash_match: bool,
    pub content_mismatches: Vec<ContentCheck>,
}

impl Integrity {
    /// Every check passed: counts, referential integrity, content hashes.
    pub fn ok(&self) -> bool {
        self.counts_match && self.referential_integrity && self.content_hash_match
    }
}

/// One foreign key's check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ForeignKeyCheck {
    pub table: String,
    pub foreign_key: String,
    /// The constraint exists.
    pub present: bool,
    /// PostgreSQL validated the constraint (and its triggers are enabled): no orphan can exist.
    pub validated: bool,
    /// Orphan rows counted by a scan (0 without a scan when validated).
    pub orphans: i64,
}

/// One table's content check: the ledger's hash against the expected one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ContentCheck {
    pub table: String,
    /// From the ledger; `None` when a chunk has no hash.
    pub loaded: Option<String>,
    pub expected: String,
    pub ok: bool,
    /// Chunk indexes whose ledger hash differs from the expected one, or that are missing
    /// from either side.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub chunks_differing: Vec<usize>,
}

/// Wall time of each step, in milliseconds.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(deny_unknown_fields)]
pub struct Timings {
    /// DDL, set-aside, the run row.
    pub prepare: u64,
    /// Every chunk's COPY with its ledger row.
    pub copy: u64,
    /// Keys, indexes, foreign keys (added, then validated), sequences.
    pub rebuild: u64,
    /// ANALYZE fused with the row-hash scan, per table.
    pub analyze: u64,
    pub prewarm: u64,
    /// Foreign keys' state, counts and content hashes against the report.
    pub checks: u64,
    pub total: u64,
}

impl RunRecord {
    /// The JSON Schema of the run record (published as `docs/schemas/run.schema.json`),
    /// closed and versioned by `$id`.
    pub fn json_schema() -> serde_json::Value {
        let mut s =
            serde_json::to_value(schemars::schema_for!(RunRecord)).expect("a schema serialises");
        let obj = s.as_object_mut().expect("a schema is an object");
        let mut out = serde_json::Map::new();
        for (k, v) in std::mem::take(obj) {
            out.insert(k.clone(), v);
            if k == "$schema" {
                out.insert("$id".into(), "urn:pgshape:schema:run:v1".into());
            }
        }
        *obj = out;
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_round_trips_through_its_column_text() {
        for s in [
            RunStatus::Loading,
            RunStatus::Done,
            RunStatus::FailedIntegrity,
        ] {
            assert_eq!(RunStatus::parse(s.as_str()), Some(s));
            assert_eq!(
                serde_json::to_value(s).unwrap(),
                serde_json::Value::from(s.as_str())
            );
        }
        assert_eq!(RunStatus::parse("torn-down"), None);
    }
}
