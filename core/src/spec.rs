//! The distribution spec: a declarative, schema-generic description of a synthetic dataset.
//!
//! A spec names tables (in any order), how many rows each has — a band count, or a fan-out per
//! row of a parent table — and a generator per column. It holds data only: the chat reference
//! schema is one file in `specs/`, not code. The JSON is strict: unknown keys are rejected and
//! every error names the file and the JSON path. See `docs/formats.md`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

mod check;

use crate::dist::Dist;
use crate::{artifact, Error, Result};

/// The spec format version this build reads and writes.
pub const SPEC_VERSION: u32 = 1;

/// A distribution spec.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Spec {
    pub spec_version: u32,
    /// A short name, e.g. `chat`.
    pub name: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// The DDL that creates the tables, relative to the spec file (used by `--create-schema`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ddl: Option<PathBuf>,
    /// The time window every timestamp falls in.
    pub window: Window,
    /// Lineage: set by `calibrate` to the pack this spec was fitted to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calibrated_from: Option<Lineage>,
    /// Named sizes, e.g. `ci`, `dev`, `staging`, `perf`.
    pub bands: IndexMap<String, Band>,
    /// Tables by name (unqualified; the loader's `--schema` places them).
    pub tables: IndexMap<String, TableSpec>,
}

/// The window timestamps fall in: `days` days before `end`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Window {
    /// RFC 3339, e.g. `2026-11-01T00:00:00Z`: fixed, never "now", so data is reproducible.
    pub end: String,
    pub days: u32,
}

/// Where a calibrated spec came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Lineage {
    pub pack_sha256: String,
    pub pack_created_at: String,
}

/// A band: target row counts and the chunk size.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Band {
    /// Target rows per table. Root tables must be listed; a per-parent table listed here has its
    /// fan-out scaled so the target is met; one not listed keeps its fan-out as specified.
    pub rows: IndexMap<String, u64>,
    /// Rows per output chunk (a unit of parallelism, resume and hashing). Part of the data's
    /// identity: the same spec, band and seed always chunk the same way.
    #[serde(default = "default_chunk_rows")]
    pub chunk_rows: u64,
}

fn default_chunk_rows() -> u64 {
    262_144
}

/// One table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TableSpec {
    pub rows: Rows,
    /// Column generators in COPY column order. Columns not listed are left to their defaults.
    pub columns: IndexMap<String, ColumnSpec>,
}

/// How many rows a table has.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Rows {
    /// As many as the band says.
    Band,
    /// A number per row of a parent table; rows are grouped by parent.
    PerParent(PerParent),
}

/// A fan-out from a parent table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PerParent {
    pub parent: String,
    /// Children per parent among parents that have children.
    pub fanout: Dist,
    /// The fraction of parents with no child at all.
    #[serde(default)]
    pub zero_fraction: f64,
}

/// A column's generator; exactly one of the generator fields is set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ColumnSpec {
    /// The column's SQL type, which fixes its COPY encoding.
    #[serde(rename = "type")]
    pub sql_type: SqlType,
    /// The fraction of NULLs (the column must be nullable).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub null_fraction: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sequence: Option<Sequence>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<ParentKey>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<Reference>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pick: Option<Pick>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub earlier: Option<Earlier>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub number: Option<Number>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<Category>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<Text>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub boolean: Option<Boolean>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uuid: Option<UuidGen>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes: Option<BytesGen>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inet: Option<InetGen>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub json: Option<JsonGen>,
    /// The column is a one-dimensional array of `type`: each value holds a drawn number of
    /// elements, each made by the column's generator.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub array: Option<ArrayOf>,
}

/// The SQL types the generator can encode. Enum and varchar columns are `text` on the wire;
/// `varchar` differs from `text` only as an array's element type (its type id is in the
/// binary array header).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum SqlType {
    #[serde(alias = "int8")]
    Bigint,
    #[serde(alias = "int4", alias = "int")]
    Integer,
    #[serde(alias = "int2")]
    Smallint,
    #[serde(alias = "float8", alias = "double precision")]
    Double,
    #[serde(alias = "float4")]
    Real,
    #[serde(alias = "bool")]
    Boolean,
    #[serde(alias = "enum")]
    Text,
    Varchar,
    #[serde(alias = "timestamp with time zone")]
    Timestamptz,
    #[serde(alias = "timestamp without time zone")]
    Timestamp,
    Date,
    Uuid,
    /// `numeric(p,s)`: from a `number` generator, written in decimal (the column's scale rounds).
    Numeric,
    /// From a `number` generator in seconds.
    Interval,
    Bytea,
    Inet,
    Jsonb,
}

impl SqlType {
    /// True for the integer types.
    pub fn is_integer(self) -> bool {
        matches!(self, SqlType::Bigint | SqlType::Integer | SqlType::Smallint)
    }
    /// True for the types a `number` generator fills.
    pub fn is_number(self) -> bool {
        self.is_integer()
            || matches!(
                self,
                SqlType::Double | SqlType::Real | SqlType::Numeric | SqlType::Interval
            )
    }
    /// True for the character types (`text`, `varchar`; enums and `char(n)` are `text`).
    pub fn is_text(self) -> bool {
        matches!(self, SqlType::Text | SqlType::Varchar)
    }
    /// PostgreSQL's type id (the element type of a binary array).
    pub fn oid(self) -> u32 {
        match self {
            SqlType::Bigint => 20,
            SqlType::Integer => 23,
            SqlType::Smallint => 21,
            SqlType::Double => 701,
            SqlType::Real => 700,
            SqlType::Boolean => 16,
            SqlType::Text => 25,
            SqlType::Varchar => 1043,
            SqlType::Timestamptz => 1184,
            SqlType::Timestamp => 1114,
            SqlType::Date => 1082,
            SqlType::Uuid => 2950,
            SqlType::Numeric => 1700,
            SqlType::Interval => 1186,
            SqlType::Bytea => 17,
            SqlType::Inet => 869,
            SqlType::Jsonb => 3802,
        }
    }
    /// True for the timestamp and date types.
    pub fn is_temporal(self) -> bool {
        matches!(
            self,
            SqlType::Timestamptz | SqlType::Timestamp | SqlType::Date
        )
    }
}

fn is_zero(x: &f64) -> bool {
    *x == 0.0
}

/// `start + step * row_index`: keys. The key number is written as an integer, or rendered as
/// text or a UUID (`format`); columns that refer to the key (`parent`, `reference`, `pick`,
/// `earlier`) carry the same number and are written the same way, so foreign keys hold
/// without lookups.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Sequence {
    #[serde(default = "one")]
    pub start: i64,
    #[serde(default = "one")]
    pub step: i64,
    /// How the key number is written (default `integer`).
    #[serde(default, skip_serializing_if = "KeyFormat::is_integer")]
    pub format: KeyFormat,
}

/// How a `sequence` writes its key number. Every rendering is injective and a pure function of
/// (seed, table, column, key number).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum KeyFormat {
    /// The number itself (integer columns).
    #[default]
    Integer,
    /// Upper-case base-36 (`0-9A-Z`) of a keyed permutation of the number, left-padded with
    /// `0` to a length drawn per key from `length` (longer when the number needs more digits).
    Text(KeyText),
    /// A version-4-shaped UUID: 63 bits of a keyed permutation of the number, the other bits
    /// keyed noise.
    Uuid,
}

impl KeyFormat {
    /// True for the default, plain integer rendering.
    pub fn is_integer(&self) -> bool {
        matches!(self, KeyFormat::Integer)
    }
}

/// A text key's length distribution (characters).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct KeyText {
    pub length: Dist,
}

fn one() -> i64 {
    1
}

/// The value of a column of the parent row (the foreign key that groups this table).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ParentKey {
    /// The parent's column; its generator must be a `sequence`.
    pub column: String,
}

/// A row of another table, chosen with a popularity skew (hot rows spread over the key range).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Reference {
    pub table: String,
    /// The referenced column; its generator must be a `sequence`.
    pub column: String,
    /// Zipf exponent of popularity (0 = uniform); ignored when `popularity` is given.
    #[serde(default)]
    pub zipf: f64,
    /// Popularity as a fan-out: how many rows refer to each referenced row (the quantile
    /// function over referenced rows that have any) and the fraction that have none — what a
    /// pack's edge measures. Overrides `zipf`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub popularity: Option<Popularity>,
    /// Distinct within the parent group (for composite keys such as (group, user)).
    #[serde(default)]
    pub distinct: bool,
}

/// Referring rows per referenced row: `fanout` among referenced rows that have any, and the
/// fraction that have none.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Popularity {
    pub fanout: Dist,
    #[serde(default)]
    pub zero_fraction: f64,
}

/// A value from a related set: the `column` of the rows of `table` grouped under the parent
/// whose key is `via` (e.g. a message's sender among its conversation's participants).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Pick {
    pub table: String,
    pub column: String,
    /// A value reference: `col` (this row) or `parent.col` (the parent row).
    pub via: String,
    /// Value references whose values may not be picked (e.g. `parent.sender_id`).
    #[serde(default)]
    pub exclude: Vec<String>,
    /// Distinct within this row's group; the group is cut short when the set runs out.
    #[serde(default)]
    pub distinct: bool,
}

/// A reference to an earlier row of the same group of this table (a reply, a tree edge).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Earlier {
    /// This table's key column (a `sequence`).
    pub column: String,
    /// Children per row of the tree the references make within a group — `fanout` among rows
    /// that have children, `zero_fraction` childless — what a pack's self-referencing edge
    /// measures. Rows are laid out breadth first: each row in turn takes its count of the
    /// following rows as children, and a row no earlier row has room for is a root (NULL), so
    /// `null_fraction` is not drawn. Absent: a recent earlier row, roots by `null_fraction`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tree: Option<Popularity>,
}

/// A timestamp shaped by hourly and weekday profiles, after another timestamp or in the window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Timestamp {
    /// A value reference this timestamp follows (`parent.created_at`, `created_at`); absent:
    /// uniform over the window before profiles.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<String>,
    /// Seconds after `after` (required with `after`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offset_seconds: Option<Dist>,
    /// Relative weight of each UTC hour (24 values).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hourly: Option<Vec<f64>>,
    /// Relative weight of each weekday, Monday first (7 values).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weekly: Option<Vec<f64>>,
    /// Sort the values ascending within the group (arrival order matches row order).
    #[serde(default)]
    pub ascending: bool,
}

/// A number from a distribution; rounded to an integer for integer columns, to `decimals`
/// places when given (a `numeric(p,s)` column's `s`). An `interval` column reads it as seconds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Number {
    pub dist: Dist,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decimals: Option<u32>,
}

/// One of a fixed set of labels with weights.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Category {
    /// Label → relative weight.
    pub weights: IndexMap<String, f64>,
}

/// Gibberish text with a length distribution. Never shaped like PII: no `@` (except the
/// `email` style's reserved `example.invalid` domain), no digit runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Text {
    /// Length in characters.
    pub length: Dist,
    #[serde(default)]
    pub style: TextStyle,
    /// Make every value unique (a row-derived suffix is appended).
    #[serde(default)]
    pub unique: bool,
}

/// The shape of generated text.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum TextStyle {
    /// Pronounceable gibberish words separated by spaces, sentence-cased.
    #[default]
    Words,
    /// One lowercase word.
    Word,
    /// Two capitalised words.
    Name,
    /// `word.word@example.invalid`.
    Email,
    /// Uppercase letters and digits.
    Code,
}

/// True with probability `p`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Boolean {
    pub p: f64,
}

/// A random (version 4) UUID.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UuidGen {}

/// Random bytes (`bytea`) of a length drawn from `length`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BytesGen {
    pub length: Dist,
}

/// An address in the documentation ranges only (192.0.2.0/24, 198.51.100.0/24,
/// 203.0.113.0/24, 2001:db8::/32): never a real-looking host.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct InetGen {
    /// The fraction of IPv6 addresses.
    #[serde(default)]
    pub ipv6: f64,
}

/// A flat JSON object of generated keys (`k1`, `k2`, ...) and gibberish string, number and
/// boolean values whose text (as PostgreSQL prints `jsonb`) has a length drawn from `length`.
/// Nesting, arrays and key names are not modelled.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct JsonGen {
    pub length: Dist,
}

/// A one-dimensional array: elements per value (never NULL elements).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ArrayOf {
    pub length: Dist,
}

impl ColumnSpec {
    /// The name of the generator in use, or an error when none or several are set.
    pub fn kind(&self) -> std::result::Result<&'static str, String> {
        self.generator().map(|g| g.name())
    }

    /// The column's one generator, typed.
    pub fn generator(&self) -> std::result::Result<Generator<'_>, String> {
        use Generator as G;
        let set: Vec<Generator<'_>> = [
            self.sequence.as_ref().map(G::Sequence),
            self.parent.as_ref().map(G::Parent),
            self.reference.as_ref().map(G::Reference),
            self.pick.as_ref().map(G::Pick),
            self.earlier.as_ref().map(G::Earlier),
            self.timestamp.as_ref().map(G::Timestamp),
            self.number.as_ref().map(G::Number),
            self.category.as_ref().map(G::Category),
            self.text.as_ref().map(G::Text),
            self.boolean.as_ref().map(G::Boolean),
            self.uuid.as_ref().map(G::Uuid),
            self.bytes.as_ref().map(G::Bytes),
            self.inet.as_ref().map(G::Inet),
            self.json.as_ref().map(G::Json),
        ]
        .into_iter()
        .flatten()
        .collect();
        match set.as_slice() {
            [one] => Ok(*one),
            [] => Err("no generator given (sequence, parent, reference, pick, earlier, timestamp, number, category, text, boolean, uuid, bytes, inet or json)".into()),
            many => Err(format!(
                "several generators given: {}",
                many.iter().map(|g| g.name()).collect::<Vec<_>>().join(", ")
            )),
        }
    }
}

/// A column's generator: exactly one of [`ColumnSpec`]'s generator keys.
#[derive(Debug, Clone, Copy)]
pub enum Generator<'a> {
    Sequence(&'a Sequence),
    Parent(&'a ParentKey),
    Reference(&'a Reference),
    Pick(&'a Pick),
    Earlier(&'a Earlier),
    Timestamp(&'a Timestamp),
    Number(&'a Number),
    Category(&'a Category),
    Text(&'a Text),
    Boolean(&'a Boolean),
    Uuid(&'a UuidGen),
    Bytes(&'a BytesGen),
    Inet(&'a InetGen),
    Json(&'a JsonGen),
}

impl Generator<'_> {
    /// The generator's key in the spec.
    pub fn name(&self) -> &'static str {
        match self {
            Generator::Sequence(_) => "sequence",
            Generator::Parent(_) => "parent",
            Generator::Reference(_) => "reference",
            Generator::Pick(_) => "pick",
            Generator::Earlier(_) => "earlier",
            Generator::Timestamp(_) => "timestamp",
            Generator::Number(_) => "number",
            Generator::Category(_) => "category",
            Generator::Text(_) => "text",
            Generator::Boolean(_) => "boolean",
            Generator::Uuid(_) => "uuid",
            Generator::Bytes(_) => "bytes",
            Generator::Inet(_) => "inet",
            Generator::Json(_) => "json",
        }
    }
}

/// The most rows a band may ask of one table (the perf band is 3·10^8): sizes read from a
/// file are bounded before anything is planned or allocated from them.
pub const MAX_TABLE_ROWS: u64 = 1_000_000_000_000;

/// The largest spec file read (a spec is written by hand or by `init`: kilobytes).
pub const MAX_SPEC_BYTES: u64 = 16 << 20;

/// The most rows of one chunk (a chunk's rows are generated, encoded and hashed in memory).
pub const MAX_CHUNK_ROWS: u64 = 1 << 24;

/// The most chunks of one table (the plan keeps one small entry per chunk).
pub const MAX_CHUNKS: u64 = 1 << 20;

impl Spec {
    /// The JSON Schema of the spec format (published as `docs/schemas/spec.schema.json`).
    pub fn json_schema() -> serde_json::Value {
        serde_json::to_value(schemars::schema_for!(Spec)).expect("a schema serialises")
    }

    /// Reads and checks a spec file.
    pub fn read(path: &Path) -> Result<Spec> {
        let spec: Spec = artifact::read_json_max(path, MAX_SPEC_BYTES)?;
        spec.check(path)?;
        Ok(spec)
    }

    /// The band named `name`, or an error listing the bands there are.
    pub fn band(&self, name: &str) -> Result<&Band> {
        self.bands.get(name).ok_or_else(|| {
            Error::Unsupported(format!(
                "spec {} has no band {name:?} (it has: {})",
                self.name,
                self.bands.keys().cloned().collect::<Vec<_>>().join(", ")
            ))
        })
    }

    /// Row targets per table of a band, for reports.
    pub fn targets(&self, band: &str) -> Result<BTreeMap<String, u64>> {
        Ok(self
            .band(band)?
            .rows
            .iter()
            .map(|(k, v)| (k.clone(), *v))
            .collect())
    }
}
