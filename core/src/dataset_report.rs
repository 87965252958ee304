//! The generation report (`report_<band>_<timestamp>.json`): what a generation run made, as
//! the generator writes it and the loader reads it. Published as
//! `docs/schemas/report.schema.json` (closed, versioned like the pack's).
//!
//! A table's `content_hash` is BLAKE3 over its chunk hashes in chunk order, each chunk hash
//! BLAKE3 over its rows in binary COPY encoding (computed by the generator's engine).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::spec::SqlType;
use crate::{artifact, Result};

/// The report format version.
pub const REPORT_VERSION: u32 = 1;

/// Output encoding of chunk files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Binary,
    Csv,
}

impl Format {
    /// The chunk files' extension.
    pub fn extension(self) -> &'static str {
        match self {
            Format::Binary => "bin",
            Format::Csv => "csv",
        }
    }
}

/// `k/N`: a run that makes every N-th chunk starting at k-1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Shard {
    pub index: u32,
    pub count: u32,
}

impl Shard {
    /// The whole dataset: shard 1 of 1.
    pub const ALL: Shard = Shard { index: 1, count: 1 };
}

impl std::str::FromStr for Shard {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Shard, String> {
        let (k, n) = s.split_once('/').ok_or("expected k/N, e.g. 2/4")?;
        let index: u32 = k.parse().map_err(|_| "k is not a number")?;
        let count: u32 = n.parse().map_err(|_| "N is not a number")?;
        if count == 0 || index == 0 || index > count {
            return Err("need 1 <= k <= N".into());
        }
        Ok(Shard { index, count })
    }
}

/// One generated chunk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ChunkReport {
    pub index: usize,
    /// Relative to the dataset directory; absent when nothing was written (`hash`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    pub rows: u64,
    /// BLAKE3 of the chunk's rows in binary COPY encoding (hex).
    pub hash: String,
}

/// One table of a report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TableReport {
    pub columns: Vec<String>,
    pub types: Vec<SqlType>,
    /// Rows written (a distinct pick may cut planned rows).
    pub rows: u64,
    pub planned_rows: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_rows: Option<u64>,
    pub chunk_count: usize,
    /// The parent this table's rows are grouped under (per-parent tables): what `achieved`
    /// fan-out figures are children of.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<ParentRef>,
    /// The distributions the generated rows achieved (this report's chunks).
    pub achieved: Achieved,
    /// BLAKE3 of the chunk hashes in order; present when every chunk is in this report.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_hash: Option<String>,
    pub chunks: Vec<ChunkReport>,
}

/// The grouping foreign key of a per-parent table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ParentRef {
    pub table: String,
    /// This table's columns holding the parent's key.
    pub columns: Vec<String>,
    /// The parent's key columns, in the same order.
    pub ref_columns: Vec<String>,
}

/// A table's achieved distributions.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Achieved {
    /// Children per parent row (per-parent tables only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fanout: Option<Fanout>,
    /// Share of each UTC hour, per timestamp column.
    #[serde(default)]
    pub hourly: BTreeMap<String, Vec<f64>>,
}

/// Children-per-parent figures (quantiles over parents with at least one child).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Fanout {
    pub parents: u64,
    pub zero_fraction: f64,
    pub p50: f64,
    pub p90: f64,
    pub p95: f64,
    pub p99: f64,
    pub p999: f64,
    pub max: u64,
}

/// Wall times in milliseconds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Timings {
    pub plan_ms: u64,
    pub generate_ms: u64,
    pub threads: usize,
}

/// The generation report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Report {
    pub report_version: u32,
    pub tool_version: String,
    pub created_at: String,
    pub spec_name: String,
    pub spec_sha256: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pack_sha256: Option<String>,
    pub band: String,
    pub seed: String,
    pub format: Format,
    pub shard: Shard,
    /// The DDL copied from the spec into the dataset (`schema.sql`), when the spec names one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ddl: Option<String>,
    /// Tables in load order (parents first).
    pub order: Vec<String>,
    pub tables: BTreeMap<String, TableReport>,
    pub timings: Timings,
}

impl Report {
    /// The JSON Schema of the report (published as `docs/schemas/report.schema.json`).
    pub fn json_schema() -> serde_json::Value {
        let mut s =
            serde_json::to_value(schemars::schema_for!(Report)).expect("a schema serialises");
        crate::pack::versioned(&mut s, "report", "report_version", REPORT_VERSION);
        s
    }

    /// Reads a report (unknown keys and other versions refused, file and JSON path in errors).
    pub fn read(path: &Path) -> Result<Report> {
        let report: Report = artifact::read_json(path)?;
        if report.report_version != REPORT_VERSION {
            return Err(crate::Error::Invalid {
                path: path.into(),
                message: format!(
                    "report_version {} (this tool reads {REPORT_VERSION})",
                    report.report_version
                ),
            });
        }
        Ok(report)
    }

    /// The file name this report is saved under in its dataset directory.
    pub fn file_name(&self) -> String {
        let stamp = self.created_at.replace([':', '-'], "");
        if self.shard.count > 1 {
            format!(
                "report_{}_{}_shard{}of{}.json",
                self.band, stamp, self.shard.index, self.shard.count
            )
        } else {
            format!("report_{}_{}.json", self.band, stamp)
        }
    }

    /// Writes the report into `dir` atomically (a dataset without a report is incomplete, so
    /// it is written last).
    pub fn save(&self, dir: &Path) -> Result<PathBuf> {
        let path = dir.join(self.file_name());
        artifact::write_json(&path, self)?;
        Ok(path)
    }
}
