//! The metrics pack: the only artifact that leaves production. Aggregates only; every string
//! in it is a catalog identifier, a fixed vocabulary word, an allow-listed label or a token.
//! See `docs/formats.md` and design invariant 1.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::catalog::Schema;

/// The quantiles of [`EdgeMetrics::quantiles`]: name in the pack → cumulative probability.
pub const EDGE_QUANTILES: &[(&str, f64)] = &[
    ("p50", 0.5),
    ("p90", 0.9),
    ("p95", 0.95),
    ("p99", 0.99),
    ("p99.9", 0.999),
];

/// The quantiles of [`Shape::quantiles`] (value lengths): name → cumulative probability.
pub const LENGTH_QUANTILES: &[(&str, f64)] = &[
    ("p1", 0.01),
    ("p10", 0.1),
    ("p50", 0.5),
    ("p90", 0.9),
    ("p95", 0.95),
    ("p99", 0.99),
];

/// The quantiles of [`Numbers::quantiles`] (numeric columns): the same names as lengths.
pub const NUMBER_QUANTILES: &[(&str, f64)] = LENGTH_QUANTILES;

/// The quantiles of an edge's timings ([`EdgeMetrics::offset_seconds`] and
/// [`EdgeMetrics::inter_arrival_seconds`]): name → cumulative probability. The same rules as
/// [`Numbers`] (3 significant digits, `null` unless `k_min` values lie on each side).
pub const TIMING_QUANTILES: &[(&str, f64)] = &[
    ("p1", 0.01),
    ("p10", 0.1),
    ("p25", 0.25),
    ("p50", 0.5),
    ("p75", 0.75),
    ("p90", 0.9),
    ("p95", 0.95),
    ("p99", 0.99),
    ("p99.9", 0.999),
];

/// Significant digits kept of an exported numeric quantile (see [`Numbers`]).
pub const NUMBER_SIGNIFICANT_DIGITS: i32 = 3;

/// Decimal places of [`ColumnMetrics::distinct_ratio`].
pub const DISTINCT_RATIO_DECIMALS: i32 = 3;

/// The smallest `k_min` a pack may be made with (and `validate` accepts); below it the sampler
/// refuses unless told `--unsafe-k`.
pub const K_FLOOR: u64 = 5;

/// The pack format version this build reads and writes.
pub const PACK_VERSION: u32 = 1;

/// A metrics pack (`shape-metrics-YYYYMMDD.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Pack {
    pub pack_version: u32,
    /// RFC 3339 UTC.
    pub created_at: String,
    /// RFC 3339 UTC; consumers refuse an expired pack unless told otherwise.
    pub expires_at: String,
    pub tool_version: String,
    pub window: PackWindow,
    pub sampling: Sampling,
    pub privacy: Privacy,
    /// HMAC of a fixed label under the salt: tells packs made with the same salt apart, reveals
    /// nothing of it.
    pub salt_fingerprint: String,
    pub schema: Schema,
    /// Per table (qualified name `schema.table`).
    pub tables: BTreeMap<String, TableMetrics>,
    /// Per foreign key: children per parent.
    #[serde(default)]
    pub edges: Vec<EdgeMetrics>,
}

/// Children per parent of one foreign key, computed by the server. Quantiles are over parents
/// with at least one child; a quantile is `null` when fewer than `k_min` parents lie above it
/// (the tail would describe too few entities), and the histogram's sparse tail is merged.
///
/// Where the child table has a timestamp column (its window column, chosen by the policy or
/// detected), the edge also carries the time between consecutive children of one parent, and
/// where the parent has one too, each child's time after its parent's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EdgeMetrics {
    /// The foreign key's name.
    pub foreign_key: String,
    /// `schema.table` of the child.
    pub child: String,
    pub columns: Vec<String>,
    /// `schema.table` of the parent.
    pub parent: String,
    pub ref_columns: Vec<String>,
    pub parents: u64,
    pub zero_fraction: f64,
    /// `p50`, `p90`, `p95`, `p99`, `p99.9` → children per parent (nearest rank).
    pub quantiles: BTreeMap<String, Option<f64>>,
    /// Log-binned: parents with `lo ..= hi` children; the last bin is open (`hi` null).
    pub histogram: Vec<Bin>,
    /// The child's timestamp column the timings are measured on (its window column).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub child_column: Option<String>,
    /// The parent's timestamp column (its window column), when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_column: Option<String>,
    /// Child minus parent time in seconds, one value per child row with both times (negative
    /// when a child predates its parent). Quantiles are [`TIMING_QUANTILES`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offset_seconds: Option<Numbers>,
    /// Seconds between consecutive children of the same parent, ordered by the child's time:
    /// one value per child after its parent's first. Quantiles are [`TIMING_QUANTILES`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inter_arrival_seconds: Option<Numbers>,
}

/// A histogram bin.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Bin {
    pub lo: u64,
    #[serde(default)]
    pub hi: Option<u64>,
    pub count: u64,
}

impl ColumnMetrics {
    /// A column of which only the role and null fraction are exported.
    pub fn bare(role: String, null_fraction: f64) -> ColumnMetrics {
        ColumnMetrics {
            role,
            null_fraction,
            distinct_ratio: None,
            hourly: None,
            weekday: None,
            daily: None,
            daily_days: None,
            length: None,
            categories: None,
            number: None,
        }
    }
}

/// Per-column figures (by role; never a value).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ColumnMetrics {
    /// `key`, `timestamp`, `number`, `category`, `text`, `pii`, `other`.
    pub role: String,
    pub null_fraction: f64,
    /// Distinct non-null values / non-null values, rounded to 3 decimals; `null` when fewer
    /// than `k_min` values are non-null.
    #[serde(default)]
    pub distinct_ratio: Option<f64>,
    /// Rows per UTC hour (24); a cell under `k_min` is `null`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hourly: Option<Vec<Option<u64>>>,
    /// Rows per ISO weekday, Monday first (7); a cell under `k_min` is `null`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weekday: Option<Vec<Option<u64>>>,
    /// Rows per UTC calendar day inside the window: entry `i` is the day `i` days after the
    /// window's start date (`window.days + 1` entries, the first and last days partial); a
    /// cell under `k_min` is `null`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub daily: Option<Vec<Option<u64>>>,
    /// Days per cell of `daily` when it was coarsened (7: weeks, 30: 30-day periods from the
    /// window's start date) so that every non-empty cell rests on `k_min` people; absent for
    /// days.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub daily_days: Option<u32>,
    /// Text and PII columns: the distribution of value lengths in characters (never content).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub length: Option<Shape>,
    /// Category columns: rows per category. Keys are HMAC tokens (namespace
    /// `schema.table.column`, see the manifest), the labels of an enum type, or labels the
    /// policy file allow-lists.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub categories: Option<Categories>,
    /// Numeric columns: quantiles and a histogram of the values (no raw minimum or maximum).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub number: Option<Numbers>,
}

/// The distribution of a numeric column's finite values (or of an edge's timings in seconds),
/// computed by the server.
///
/// Quantiles (nearest rank; [`NUMBER_QUANTILES`] for columns, [`TIMING_QUANTILES`] for
/// edges) are `null` unless at least `k_min` values lie at or below *and* at or above the
/// rank, so the extremes (and with them the minimum and maximum) never leave; the others are
/// rounded to 3 significant digits, so no stored value leaves exactly. The histogram has
/// signed power-of-two bins (`lo ≤ x < hi`, a bin `0..0` of exact zeros); bins under `k_min`
/// are merged into their neighbour towards the middle, the last bin is open (`hi` null) and
/// the first starts at 0 when no value is negative, else is open (`lo` null).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Numbers {
    pub quantiles: BTreeMap<String, Option<f64>>,
    pub histogram: Vec<NumberBin>,
}

/// A bin of a numeric histogram: values `lo ≤ x < hi` (exact zeros when `lo = hi = 0`; a
/// bin whose `hi` is 0 holds the zeros too).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NumberBin {
    pub lo: Option<f64>,
    pub hi: Option<f64>,
    pub count: u64,
}

/// A distribution of non-negative integers (lengths, counts): k-suppressed quantiles and a
/// log-binned histogram whose sparse tail is merged.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Shape {
    /// `p1`, `p10`, `p50`, `p90`, `p95`, `p99` → value (nearest rank); `null` when fewer than
    /// `k_min` values lie beyond it.
    pub quantiles: BTreeMap<String, Option<f64>>,
    pub histogram: Vec<Bin>,
}

/// Category frequencies.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Categories {
    /// True when every key is a label (an enum's, or allow-listed by the policy); false when
    /// the keys are tokens (bar any allow-listed labels).
    pub labels: bool,
    /// Category → rows, for categories with at least `k_min` rows.
    pub counts: BTreeMap<String, u64>,
    /// Rows in categories not listed (under `k_min` people, and the smallest listed one with
    /// them when those alone rest on fewer than `k_min`), to two significant digits.
    pub suppressed_rows: u64,
    /// How many categories were not listed, rounded up to a multiple of `k_min` (a band).
    pub suppressed_categories: u64,
}

/// The extraction window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PackWindow {
    pub days: u32,
    pub start: String,
    pub end: String,
}

/// How rows were read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Sampling {
    /// `full` or `tablesample_system`/`tablesample_bernoulli`.
    pub method: String,
    /// Fraction of rows read, 1.0 for full scans.
    pub fraction: f64,
}

/// Privacy parameters the pack was made under.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Privacy {
    /// Minimum entities per exported bin or category.
    pub k_min: u64,
    /// Differential-privacy epsilon when noise was added.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub epsilon: Option<f64>,
    /// How the figures were noised, when they were (absent: no noise; packs before issue 13).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dp: Option<DpRecord>,
}

/// The differential-privacy parameters a pack's figures were noised under: enough for a
/// reviewer to read what ε means for this pack (see `docs/privacy.md`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DpRecord {
    /// `discrete_laplace` (OpenDP's exact sampler on integers, pure ε-DP).
    pub mechanism: String,
    /// ε of the whole pack, per privacy unit (sequential composition of every release).
    pub epsilon: f64,
    /// δ: the chance, summed over the pack's category columns, that a label only one person
    /// holds appears (labels are kept by a noisy count of their people against a threshold;
    /// every other figure is pure ε-DP). 0 when the pack has no category column.
    pub delta: f64,
    /// ε per figure family (`counts`, `null_fractions`, `distinct_ratios`, `numbers`,
    /// `profiles`, `lengths`, `categories`, `fanout`, `timings`), summing to `epsilon`.
    pub split: BTreeMap<String, f64>,
    /// The contribution bounds the sensitivities were computed under.
    pub bounds: ContributionBounds,
}

/// How much one privacy unit may contribute to a figure; contributions past a bound are
/// clipped in SQL before noise is added, so the noise scale covers them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ContributionBounds {
    /// Rows of one unit a table's figures read (counts, null fractions, distinct ratios,
    /// lengths, numbers, categories, profiles, timings); a unit's further rows are left out.
    /// The L1 sensitivity of a histogram over those rows. A table whose rows are their own
    /// units (or that is itself the unit table) has one row per unit: sensitivity 1.
    pub max_rows_per_unit: u64,
    /// Children counted per parent in a fan-out histogram (larger counts fall in the last
    /// bin, at this value); a parent table's rows per unit are clipped at `max_rows_per_unit`.
    pub max_children_per_parent: u64,
    /// Text lengths counted up to this value (longer ones fall in the last bin).
    pub max_length: u64,
    /// Category labels of one unit counted when deciding which labels appear at all (those
    /// of this many of its rows, drawn at random); see `delta` in [`DpRecord`]. Absent from packs made
    /// before labels were selected this way.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_categories_per_unit: Option<u64>,
    /// Per table (qualified name), rows per unit where the policy sets another bound than
    /// `max_rows_per_unit`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub table_max_rows_per_unit: BTreeMap<String, u64>,
}

impl ContributionBounds {
    /// The L1 sensitivity of a histogram of the rows of a table with at most `rows_per_unit`
    /// rows per unit: one unit's rows move at most that many votes.
    pub fn histogram_sensitivity(&self, rows_per_unit: u64) -> u64 {
        rows_per_unit.clamp(1, self.max_rows_per_unit.max(1))
    }
}

/// Per-table figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TableMetrics {
    pub total_rows: u64,
    /// `exact` (count(*)), `sampled` (a `TABLESAMPLE` count scaled back), `estimated`
    /// (catalog estimate) or `band` (one significant digit: the rows of fewer than `k_min`
    /// people, of which nothing else is exported).
    pub count_method: String,
    /// The timestamp column the window applies to (policy or detection), when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window_column: Option<String>,
    /// Rows whose window column falls in the window, when the table has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window_rows: Option<u64>,
    /// Per column.
    #[serde(default)]
    pub columns: BTreeMap<String, ColumnMetrics>,
    /// Who the rows describe: `schema.table via fk → fk`, `schema.table (itself)` or `rows`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub privacy_unit: Option<String>,
    /// The fewest people (distinct privacy units) any exported figure of this table rests on;
    /// absent when only the schema and a row-count band are exported (`count_method`
    /// `band`: the table's rows belong to fewer than `k_min` people).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_people: Option<u64>,
    /// Under differential privacy, for a table whose people have several rows each: the rows
    /// per person its count read, chosen from a noisy histogram of rows per person (rows past
    /// it of the heaviest people are not counted). Its other figures read at most the smaller
    /// of this and `privacy.dp.bounds.max_rows_per_unit`. Absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count_clip: Option<u64>,
}

/// The mapping manifest (`..._mapping.json`): how tokens were made, never a value and never a
/// reversible mapping.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub manifest_version: u32,
    pub created_at: String,
    /// The pack's file name and sha256 (the pack is written first).
    pub pack_file: String,
    pub pack_sha256: String,
    /// `HMAC-SHA256`.
    pub algorithm: String,
    /// `HKDF-SHA256(salt, info = namespace)`.
    pub key_derivation: String,
    /// Hex characters kept of each MAC (16 = 64 bits).
    pub truncation_hex: u32,
    pub salt_fingerprint: String,
    /// Token namespaces: the columns that share one keep joins consistent.
    pub namespaces: Vec<Namespace>,
}

/// One token namespace.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Namespace {
    pub name: String,
    /// `schema.table.column`
    pub columns: Vec<String>,
    /// Distinct tokens exported in the pack.
    pub tokens: u64,
}

/// The manifest format version.
pub const MANIFEST_VERSION: u32 = 1;

impl Pack {
    /// The JSON Schema of the pack format (published as `docs/schemas/pack.schema.json`):
    /// closed (`additionalProperties: false` on every object), versioned by `$id` and a
    /// constant `pack_version`.
    pub fn json_schema() -> serde_json::Value {
        let mut s = serde_json::to_value(schemars::schema_for!(Pack)).expect("a schema serialises");
        versioned(&mut s, "pack", "pack_version", PACK_VERSION);
        s
    }
}

impl Manifest {
    /// The JSON Schema of the mapping manifest (`docs/schemas/manifest.schema.json`).
    pub fn json_schema() -> serde_json::Value {
        let mut s =
            serde_json::to_value(schemars::schema_for!(Manifest)).expect("a schema serialises");
        versioned(&mut s, "manifest", "manifest_version", MANIFEST_VERSION);
        s
    }
}

/// Pins a schema to one format version: an `$id` naming it and `const` on the version field.
pub(crate) fn versioned(schema: &mut serde_json::Value, name: &str, field: &str, version: u32) {
    let obj = schema.as_object_mut().expect("a schema is an object");
    let mut out = serde_json::Map::new();
    for (k, v) in std::mem::take(obj) {
        out.insert(k.clone(), v);
        if k == "$schema" {
            out.insert(
                "$id".into(),
                format!("urn:pgshape:schema:{name}:v{version}").into(),
            );
        }
    }
    out["properties"][field] = serde_json::json!({"const": version});
    *obj = out;
}
